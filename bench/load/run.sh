#!/usr/bin/env bash
# Loading a ~1 GB CSV (10 mixed columns, quoted commas, NULLs) in the same run:
#   byob: the file in an s3s-fs bucket, streamed by byob into PostgreSQL (COPY FROM STDIN)
#         vs `psql \copy` of the same file from local disk into the same table;
#   byob: the same object into the embedded SQLite warehouse vs `sqlite3 .import` of the local file.
# Prints MB/s, rows/s, the ratios, and byob's peak RSS (VmHWM of the `byob serve` process).
# Usage: bench/load/run.sh [BYTES]   (needs the servers: eval "$(scripts/servers.sh start)")
set -euo pipefail
cd "$(dirname "$0")/../.."
BYTES="${1:-1000000000}"
: "${BYOB_TEST_S3S_ENDPOINT:?start the servers first: eval \"\$(scripts/servers.sh start)\"}"
: "${BYOB_TEST_POSTGRES_URL:?start the servers first}"
. bench/lib.sh
bench_build byob-cli byob-bench-load
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

rows=$("$BIN/byob-bench-load" "$WORK/data.csv" "$BYTES")
size=$(stat -c %s "$WORK/data.csv")
echo "file: $size bytes, $rows rows" >&2

# A database for this run, and the table schema byob creates (so the peers load into the same types).
db="byob_bench_$$"
psql -q "$BYOB_TEST_POSTGRES_URL" -c "CREATE DATABASE $db" >/dev/null
pg_url="${BYOB_TEST_POSTGRES_URL%/*}/$db"
columns='id BIGINT, customer TEXT, email TEXT, amount NUMERIC, qty BIGINT, price NUMERIC, created_at TIMESTAMPTZ, day DATE, active BOOLEAN, note TEXT'
sqlite_columns='id INTEGER, customer TEXT, email TEXT, amount DECIMAL TEXT, qty INTEGER, price DECIMAL TEXT, created_at TIMESTAMPTZ, day DATE, active BOOLEAN, note TEXT'

# byob, on embedded defaults plus the bucket.
bench_start_byob
org=$BYOB_ORG
bench_s3s_integration "bench-$$" "" uploads
bench_pg_connection "$pg_url"
byob() { "$BIN/byob" "$@"; }

upload() { byob --json upload "$WORK/data.csv" | sed -n 's/.*"id": "\(upl_[^"]*\)".*/\1/p' | head -1; }
now() { date +%s.%N; }
# byob's load time: the job's own start and end (the upload to the bucket is not part of it).
load() { # upload target
  local job
  job=$(byob --json uploads load "$1" "$2" | sed -n 's/.*"id": "\(job_[^"]*\)".*/\1/p' | head -1)
  byob jobs wait "$job" >/dev/null
  bench_job_seconds "$job"
}

up1=$(upload); byob_pg=$(load "$up1" pg.bench_byob)
psql -q "$pg_url" -c "CREATE TABLE bench_psql ($columns)"
t0=$(now); psql -q "$pg_url" -c "\\copy bench_psql FROM '$WORK/data.csv' WITH (FORMAT csv, HEADER true)"; t1=$(now)
psql_s=$(echo "$t1 - $t0" | bc -l)
up2=$(upload); byob_sqlite=$(load "$up2" local.bench_byob)
sqlite3 "$WORK/peer.db" "CREATE TABLE bench_sqlite ($sqlite_columns)"
t0=$(now); sqlite3 "$WORK/peer.db" ".import --csv --skip 1 '$WORK/data.csv' bench_sqlite"; t1=$(now)
sqlite_s=$(echo "$t1 - $t0" | bc -l)
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
grep -h "load committed" "$WORK/serve.out" "$WORK/serve.err" >&2 || true

check_pg=$(psql -tAq "$pg_url" -c "SELECT (SELECT count(*) FROM bench_byob) || ' ' || (SELECT count(*) FROM bench_psql)")
check_sqlite="$(sqlite3 "$BYOB_DATA_DIR/warehouse/$org.db" 'SELECT count(*) FROM bench_byob') $(sqlite3 "$WORK/peer.db" 'SELECT count(*) FROM bench_sqlite')"
psql -q "$BYOB_TEST_POSTGRES_URL" -c "DROP DATABASE $db" >/dev/null || true

awk -v size="$size" -v rows="$rows" -v bp="$byob_pg" -v pp="$psql_s" -v bs="$byob_sqlite" -v ps="$sqlite_s" \
    -v rss="$rss_kb" -v cpg="$check_pg" -v csq="$check_sqlite" 'BEGIN {
  mb = size / 1e6
  printf "%-34s %8s %9s %12s\n", "load", "seconds", "MB/s", "rows/s"
  printf "%-34s %8.1f %9.1f %12.0f\n", "byob  s3s-fs -> PostgreSQL", bp, mb / bp, rows / bp
  printf "%-34s %8.1f %9.1f %12.0f\n", "psql  \\copy local file", pp, mb / pp, rows / pp
  printf "%-34s %8.1f %9.1f %12.0f\n", "byob  s3s-fs -> SQLite warehouse", bs, mb / bs, rows / bs
  printf "%-34s %8.1f %9.1f %12.0f\n", "sqlite3 .import local file", ps, mb / ps, rows / ps
  printf "ratio byob/psql \\copy:      %.2fx\n", pp / bp
  printf "ratio byob/sqlite3 .import: %.2fx\n", ps / bs
  printf "byob peak RSS: %.1f MB\n", rss / 1024
  printf "rows loaded (byob, peer): PostgreSQL %s, SQLite %s\n", cpg, csq
}'
