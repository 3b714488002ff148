#!/usr/bin/env bash
# Exporting a 7.5 M-row PostgreSQL table (10 mixed columns: integers, text with quotes and commas, NULLs,
# numerics, timestamps with zone, dates, booleans) into an s3s-fs bucket, in the same run:
#   byob: `byob export` as CSV, JSON Lines and Parquet (binary COPY out, encoded and uploaded in parts);
#   peer: `psql -c "COPY (…) TO STDOUT CSV HEADER" | rclone rcat` into the same bucket.
# Prints seconds, MB/s, rows/s, the CSV ratio (byob ÷ peer time, > 1 means byob is faster), and byob's peak RSS
# (VmHWM of the `byob serve` process).
# Usage: bench/export/run.sh [ROWS]   (needs the servers: eval "$(scripts/servers.sh start)", which also installs
# rclone, the peer)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS="${1:-7500000}"
: "${BYOB_TEST_S3S_ENDPOINT:?start the servers first: eval \"\$(scripts/servers.sh start)\"}"
: "${BYOB_TEST_POSTGRES_URL:?start the servers first}"
. bench/lib.sh
bench_build byob-cli
WORK=$(mktemp -d)
SERVER_PID=""
db="byob_export_bench_$$"
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  psql -q "$BYOB_TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  rm -rf "$WORK" "${BUCKET_DIR:-}"
}
trap cleanup EXIT

psql -q "$BYOB_TEST_POSTGRES_URL" -c "CREATE DATABASE $db" >/dev/null
pg_url="${BYOB_TEST_POSTGRES_URL%/*}/$db"
psql -q "$pg_url" <<SQL
CREATE TABLE bench AS
SELECT g AS id,
       'customer ' || (g % 100000) AS customer,
       md5(g::text) || '@example.com' AS email,
       round((g % 1000003)::numeric / 100, 2) AS amount,
       (g % 50)::integer AS qty,
       ((g % 99991) / 100.0)::numeric(12,2) AS price,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1.5 second' AS created_at,
       date '2020-01-01' + (g % 2000) AS day,
       g % 3 = 0 AS active,
       CASE WHEN g % 10 = 0 THEN NULL ELSE 'note, "quoted" ' || g END AS note
FROM generate_series(1, $ROWS) AS g;
VACUUM ANALYZE bench;
SQL
echo "table: $ROWS rows" >&2

bench_start_byob
bucket="export-bench-$$"
BUCKET_DIR="$BYOB_TEST_S3S_DIR/$bucket"
bench_s3s_integration "$bucket" byob exports
bench_pg_connection "$pg_url"
byob() { "$BIN/byob" "$@"; }

# byob's time: the run's own start and end, as the job records them.
export_run() { # format
  local run
  run=$(byob --json export pg --table bench --format "$1" --no-wait | python3 -c 'import json,sys; print(json.load(sys.stdin)["run"]["id"])')
  byob jobs wait "$run" >/dev/null
  bench_job_seconds "$run" bytes
}

peak() { awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status"; }
read -r csv_s csv_bytes < <(export_run csv)
echo "peak RSS after CSV: $(( $(peak) / 1024 )) MB" >&2
read -r jsonl_s jsonl_bytes < <(export_run jsonl)
echo "peak RSS after JSON Lines: $(( $(peak) / 1024 )) MB" >&2
read -r parquet_s parquet_bytes < <(export_run parquet)
echo "peak RSS after Parquet: $(( $(peak) / 1024 )) MB" >&2
rss_kb=$(peak)

# The peer: PostgreSQL formats the CSV itself, a streaming uploader sends it in parts.
copy="COPY (SELECT * FROM bench) TO STDOUT (FORMAT csv, HEADER true)"
now() { date +%s.%N; }
peer="psql COPY | rclone rcat"
export RCLONE_CONFIG_S3S_TYPE=s3 RCLONE_CONFIG_S3S_PROVIDER=Other RCLONE_CONFIG_S3S_ENDPOINT=$BYOB_TEST_S3S_ENDPOINT
export RCLONE_CONFIG_S3S_ACCESS_KEY_ID=$BYOB_TEST_S3S_ACCESS_KEY RCLONE_CONFIG_S3S_SECRET_ACCESS_KEY=$BYOB_TEST_S3S_SECRET_KEY
t0=$(now)
psql -q "$pg_url" -c "$copy" | env -u AWS_CA_BUNDLE rclone rcat --s3-chunk-size 8M "s3s:$bucket/peer/bench.csv"
t1=$(now)
peer_s=$(echo "$t1 - $t0" | bc -l)
peer_bytes=$(stat -c %s "$BUCKET_DIR/peer/bench.csv")

awk -v rows="$ROWS" -v cs="$csv_s" -v cb="$csv_bytes" -v js="$jsonl_s" -v jb="$jsonl_bytes" -v ps="$parquet_s" \
    -v pb="$parquet_bytes" -v qs="$peer_s" -v qb="$peer_bytes" -v rss="$rss_kb" -v peer="$peer" 'BEGIN {
  printf "%-32s %8s %10s %9s %12s\n", "export", "seconds", "MB", "MB/s", "rows/s"
  printf "%-32s %8.1f %10.1f %9.1f %12.0f\n", "byob  CSV", cs, cb / 1e6, cb / 1e6 / cs, rows / cs
  printf "%-32s %8.1f %10.1f %9.1f %12.0f\n", "byob  JSON Lines", js, jb / 1e6, jb / 1e6 / js, rows / js
  printf "%-32s %8.1f %10.1f %9.1f %12.0f\n", "byob  Parquet (snappy)", ps, pb / 1e6, pb / 1e6 / ps, rows / ps
  printf "%-32s %8.1f %10.1f %9.1f %12.0f\n", peer, qs, qb / 1e6, qb / 1e6 / qs, rows / qs
  printf "CSV ratio (peer time / byob time): %.2fx   byob peak RSS: %.1f MB\n", qs / cs, rss / 1024
}'
