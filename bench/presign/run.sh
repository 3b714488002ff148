#!/usr/bin/env bash
# Presigned S3 GET URLs per second: byob's client against boto3's generate_presigned_url, same keys, same run.
# Usage: bench/presign/run.sh [N]   (needs scripts/servers.sh install for boto3; no server is contacted)
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-200000}"
TOOLS="${BYOB_TOOLS_DIR:-$HOME/.cache/byob/tools}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/byob/target}"
cargo build --release --quiet -p byob-bench-presign
# boto3's peer run uses fewer URLs (it is much slower); rates are per second either way.
PEER_N=$(( N / 10 ))
byob=$("$CARGO_TARGET_DIR/release/byob-bench-presign" "$N")
peer=$("$TOOLS/venv/bin/python" bench/presign/boto3_presign.py "$PEER_N")
printf 'tool\turls\tseconds\turls/s\turl bytes\n%s\n%s\n' "$byob" "$peer"
byob_rate=$(cut -f4 <<<"$byob"); peer_rate=$(cut -f4 <<<"$peer")
awk -v b="$byob_rate" -v p="$peer_rate" 'BEGIN { printf "ratio byob/boto3: %.1fx\n", b / p }'
