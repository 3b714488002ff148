#!/usr/bin/env bash
# Serving under load: two `byob serve` processes on one PostgreSQL catalog (and one data directory), and CLIENTS
# concurrent clients (default 200) for SECONDS (default 60), each cycling through a realistic mix one call after
# another — upload plans, part URL refreshes, downloads of a 64 KiB asset, upload lists, job polls, audit reads —
# with a token of its own (10 per org), half of them on each process. The default rate limits stay on.
# Prints requests/s, p50 / p99 / p99.9 per route, the errors (target 0: the run fails on any) and each process's
# peak RSS (VmHWM).
# Usage: bench/serve/run.sh [CLIENTS] [SECONDS]   (needs the servers: eval "$(scripts/servers.sh start)")
set -euo pipefail
cd "$(dirname "$0")/../.."
CLIENTS="${1:-200}"
SECONDS_TO_RUN="${2:-60}"
: "${BYOB_TEST_POSTGRES_URL:?start the servers first: eval \"\$(scripts/servers.sh start)\"}"
. bench/lib.sh
bench_build byob-cli byob-bench-serve
WORK=$(mktemp -d)
DB="bench_serve_$$"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$BYOB_TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
psql -q "$BYOB_TEST_POSTGRES_URL" -c "CREATE DATABASE $DB" >/dev/null
catalog=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$BYOB_TEST_POSTGRES_URL" "$DB")

export BYOB_DATA_DIR="$WORK/byob-data" BYOB_CATALOG__URL="$catalog" BYOB_MONITOR__ENABLED=false
export BYOB_OPERATOR_TOKEN=byob_bench-operator-token-0123456789
urls=()
for n in 1 2; do
  # One after the other: the first makes the catalog's tables and the master key both then share.
  "$BIN/byob" serve --listen 127.0.0.1:0 >"$WORK/serve-$n.out" 2>"$WORK/serve-$n.err" &
  PIDS+=($!)
  for _ in $(seq 300); do grep -q "listening on" "$WORK/serve-$n.out" && break; sleep 0.1; done
  url=$(sed -n 's/^byob listening on //p' "$WORK/serve-$n.out")
  [ -n "$url" ] || { cat "$WORK/serve-$n.err" >&2; exit 1; }
  urls+=("$url")
done
orgs=$(( (CLIENTS + 9) / 10 ))
echo "serve: 2 byob processes on one PostgreSQL catalog ($(psql --version)), $CLIENTS clients, ${SECONDS_TO_RUN} s"
status=0
"$BIN/byob-bench-serve" "$(IFS=,; echo "${urls[*]}")" "$BYOB_OPERATOR_TOKEN" "$CLIENTS" "$SECONDS_TO_RUN" "$orgs" || status=$?
for n in 0 1; do
  echo "process $(( n + 1 )) peak RSS: $(awk '/VmHWM/ {printf "%.0f MB", $2 / 1024}' "/proc/${PIDS[$n]}/status")"
done
exit "$status"
