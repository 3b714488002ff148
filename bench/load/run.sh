#!/usr/bin/env bash
# Loading a ~1 GB CSV (10 mixed columns, quoted commas, NULLs) in the same run:
#   byob: the file in an s3s-fs bucket, streamed by byob into PostgreSQL (COPY FROM STDIN)
#         vs `psql \copy` of the same file from local disk into the same table;
#   byob: the same object into the embedded SQLite warehouse vs `sqlite3 .import` of the local file;
#   byob: the same object into MariaDB (LOAD DATA LOCAL INFILE fed by byob's stream)
#         vs `mariadb --local-infile` running LOAD DATA LOCAL INFILE of the local file.
# Prints MB/s, rows/s, the ratios, and byob's peak RSS during each load (VmHWM of the `byob serve` process, reset
# before each load through /proc/PID/clear_refs).
# Usage: bench/load/run.sh [BYTES]   (needs the servers: eval "$(scripts/servers.sh start)")
set -euo pipefail
cd "$(dirname "$0")/../.."
BYTES="${1:-1000000000}"
: "${BYOB_TEST_S3S_ENDPOINT:?start the servers first: eval \"\$(scripts/servers.sh start)\"}"
: "${BYOB_TEST_POSTGRES_URL:?start the servers first}"
: "${BYOB_TEST_MYSQL_URL:?start the servers first}"
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
# What byob's MariaDB table ends as: its types, decimals narrowed to the data's scale (docs/connections.md).
maria_columns='id BIGINT, customer LONGTEXT, email LONGTEXT, amount DECIMAL(37,2), qty BIGINT, price DECIMAL(39,4), created_at DATETIME(6), day DATE, active BOOLEAN, note LONGTEXT'
sqlite_columns='id INTEGER, customer TEXT, email TEXT, amount DECIMAL TEXT, qty INTEGER, price DECIMAL TEXT, created_at TIMESTAMPTZ, day DATE, active BOOLEAN, note TEXT'

# byob, on embedded defaults plus the bucket.
bench_start_byob
org=$BYOB_ORG
bench_s3s_integration "bench-$$" "" uploads
bench_pg_connection "$pg_url"
bench_mariadb "$BYOB_TEST_MYSQL_URL" -e "CREATE DATABASE $db CHARACTER SET utf8mb4"
maria_url="${BYOB_TEST_MYSQL_URL%/*}/$db"
bench_mysql_connection "$maria_url"
byob() { "$BIN/byob" "$@"; }

upload() { byob --json upload "$WORK/data.csv" | sed -n 's/.*"id": "\(upl_[^"]*\)".*/\1/p' | head -1; }
now() { date +%s.%N; }
# byob's peak RSS since the last call, in kB (the kernel's high-water mark, then reset).
peak_kb() {
  awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status"
  echo 5 > "/proc/$SERVER_PID/clear_refs" 2>/dev/null || true
}
# byob's load time: the job's own start and end (the upload to the bucket is not part of it).
load() { # upload target
  local job
  job=$(byob --json uploads load "$1" "$2" | sed -n 's/.*"id": "\(job_[^"]*\)".*/\1/p' | head -1)
  byob jobs wait "$job" >/dev/null
  bench_job_seconds "$job"
}

up1=$(upload); peak_kb >/dev/null; byob_pg=$(load "$up1" pg.bench_byob); rss_pg=$(peak_kb)
psql -q "$pg_url" -c "CREATE TABLE bench_psql ($columns)"
t0=$(now); psql -q "$pg_url" -c "\\copy bench_psql FROM '$WORK/data.csv' WITH (FORMAT csv, HEADER true)"; t1=$(now)
psql_s=$(echo "$t1 - $t0" | bc -l)
up2=$(upload); peak_kb >/dev/null; byob_sqlite=$(load "$up2" local.bench_byob); rss_sqlite=$(peak_kb)
sqlite3 "$WORK/peer.db" "CREATE TABLE bench_sqlite ($sqlite_columns)"
t0=$(now); sqlite3 "$WORK/peer.db" ".import --csv --skip 1 '$WORK/data.csv' bench_sqlite"; t1=$(now)
sqlite_s=$(echo "$t1 - $t0" | bc -l)
up3=$(upload); peak_kb >/dev/null; byob_maria=$(load "$up3" maria.bench_byob); rss_maria=$(peak_kb)
bench_mariadb "$maria_url" "$db" -e "CREATE TABLE bench_peer ($maria_columns) DEFAULT CHARSET = utf8mb4"
t0=$(now)
bench_mariadb "$maria_url" "$db" --local-infile=1 -e "LOAD DATA LOCAL INFILE '$WORK/data.csv' INTO TABLE bench_peer \
  CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n' \
  IGNORE 1 LINES (id, customer, email, @amount, qty, price, @created, day, @active, @note) \
  SET amount = NULLIF(@amount, ''), created_at = STR_TO_DATE(@created, '%Y-%m-%dT%H:%i:%sZ'), \
  active = (@active = 'true'), note = NULLIF(@note, '')"
t1=$(now)
maria_s=$(echo "$t1 - $t0" | bc -l)
grep -h "load committed" "$WORK/serve.out" "$WORK/serve.err" >&2 || true

check_pg=$(psql -tAq "$pg_url" -c "SELECT (SELECT count(*) FROM bench_byob) || ' ' || (SELECT count(*) FROM bench_psql)")
check_sqlite="$(sqlite3 "$BYOB_DATA_DIR/warehouse/$org.db" 'SELECT count(*) FROM bench_byob') $(sqlite3 "$WORK/peer.db" 'SELECT count(*) FROM bench_sqlite')"
check_maria=$(bench_mariadb "$maria_url" "$db" -N -e "SELECT (SELECT COUNT(*) FROM bench_byob), (SELECT COUNT(*) FROM bench_peer)" | tr '\t' ' ')
psql -q "$BYOB_TEST_POSTGRES_URL" -c "DROP DATABASE $db" >/dev/null || true
bench_mariadb "$maria_url" -e "DROP DATABASE $db" || true

awk -v size="$size" -v rows="$rows" -v bp="$byob_pg" -v pp="$psql_s" -v bs="$byob_sqlite" -v ps="$sqlite_s" \
    -v rpg="$rss_pg" -v rsq="$rss_sqlite" -v rma="$rss_maria" -v cpg="$check_pg" -v csq="$check_sqlite" -v bm="$byob_maria" -v pm="$maria_s" \
    -v cma="$check_maria" -v mver="$(mariadb --version)" 'BEGIN {
  mb = size / 1e6
  printf "%-34s %8s %9s %12s\n", "load", "seconds", "MB/s", "rows/s"
  printf "%-34s %8.1f %9.1f %12.0f\n", "byob  s3s-fs -> PostgreSQL", bp, mb / bp, rows / bp
  printf "%-34s %8.1f %9.1f %12.0f\n", "psql  \\copy local file", pp, mb / pp, rows / pp
  printf "%-34s %8.1f %9.1f %12.0f\n", "byob  s3s-fs -> SQLite warehouse", bs, mb / bs, rows / bs
  printf "%-34s %8.1f %9.1f %12.0f\n", "sqlite3 .import local file", ps, mb / ps, rows / ps
  printf "%-34s %8.1f %9.1f %12.0f\n", "byob  s3s-fs -> MariaDB", bm, mb / bm, rows / bm
  printf "%-34s %8.1f %9.1f %12.0f\n", "mariadb LOAD DATA LOCAL INFILE", pm, mb / pm, rows / pm
  printf "ratio byob/psql \\copy:      %.2fx\n", pp / bp
  printf "ratio byob/sqlite3 .import: %.2fx\n", ps / bs
  printf "ratio byob/mariadb LOAD DATA: %.2fx   (peer: %s)\n", pm / bm, mver
  printf "byob peak RSS during each load: PostgreSQL %.1f MB, SQLite %.1f MB, MariaDB %.1f MB\n", rpg / 1024, rsq / 1024, rma / 1024
  printf "rows loaded (byob, peer): PostgreSQL %s, SQLite %s, MariaDB %s\n", cpg, csq, cma
}'
