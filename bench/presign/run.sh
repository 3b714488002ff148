#!/usr/bin/env bash
# Presigned S3 GET URLs per second: byob's client against boto3's generate_presigned_url, same keys, same run.
# Usage: bench/presign/run.sh [N]   (boto3 comes with scripts/servers.sh install; no server is contacted)
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-200000}"
TOOLS="${BYOB_TOOLS_DIR:-$HOME/.cache/byob/tools}"
. bench/lib.sh
bench_build byob-bench-presign
# boto3's peer run uses fewer URLs (it is much slower); rates are per second either way.
PEER_N=$(( N / 10 > 0 ? N / 10 : 1 ))
byob=$("$BIN/byob-bench-presign" "$N")
peer=$("$TOOLS/venv/bin/python" bench/presign/boto3_presign.py "$PEER_N")
printf 'tool\turls\tseconds\turls/s\turl bytes\n%s\n%s\n' "$byob" "$peer"
byob_rate=$(cut -f4 <<<"$byob"); peer_rate=$(cut -f4 <<<"$peer")
awk -v b="$byob_rate" -v p="$peer_rate" 'BEGIN { printf "ratio byob/boto3: %.1fx\n", b / p }'
