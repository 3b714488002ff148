#!/usr/bin/env bash
# A migration of about SIZE_MB megabytes between two s3s-fs buckets (two files of 40 % each, and 500 small files
# sharing the rest), in the same run as the peer: `rclone copy` of the same folder into a third bucket followed by
# `rclone check` of the two sides.
#   byob: `byob migrate --from A --to B --features uploads`: each object streamed through byob in 8 MiB parts
#         (several objects at once), hashed on the way, read back from the destination through SHA-256, then the
#         routing switched. Timed from the request to the migration's end.
# Prints seconds and MB/s of each, the ratio (peer time / byob time: > 1 means byob is faster) and byob's peak
# RSS (VmHWM of `byob serve`: bounded by the parts in flight, whatever the sizes).
# Usage: bench/migration/run.sh [SIZE_MB]   (needs the servers: eval "$(scripts/servers.sh start)", which also
# installs rclone)
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE_MB="${1:-2000}"
: "${BYOB_TEST_S3S_ENDPOINT:?start the servers first: eval \"\$(scripts/servers.sh start)\"}"
. bench/lib.sh
bench_build byob-cli
WORK=$(mktemp -d)
SERVER_PID=""
a="migration-a-$$"; b="migration-b-$$"; c="migration-c-$$"; d="migration-d-$$"
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK" "$BYOB_TEST_S3S_DIR/$a" "$BYOB_TEST_S3S_DIR/$b" "$BYOB_TEST_S3S_DIR/$c" "$BYOB_TEST_S3S_DIR/$d"
}
trap cleanup EXIT

# The files are made locally, then put into the source bucket through the S3 API (untimed), where byob's uploads
# folder has them. (Files dropped straight into s3s-fs's directory have no stored MD5, and s3s-fs then hashes the
# whole file to answer every request for it, ranges included.)
src="$WORK/src"
mkdir -p "$src" "$BYOB_TEST_S3S_DIR/$a" "$BYOB_TEST_S3S_DIR/$c" "$BYOB_TEST_S3S_DIR/$d"
big=$(( SIZE_MB * 1024 * 1024 * 4 / 10 ))
small=$(( SIZE_MB * 1024 * 1024 * 2 / 10 / 500 ))
head -c "$big" /dev/urandom > "$src/big-1.bin"
head -c "$big" /dev/urandom > "$src/big-2.bin"
head -c "$small" /dev/urandom > "$WORK/small"
for i in $(seq 1 500); do
  { cat "$WORK/small"; printf '%s' "$i"; } > "$src/small-$i.bin"
done
bytes=$(du -sb "$src" | cut -f1)
files=$(find "$src" -type f | wc -l)
export RCLONE_CONFIG_S3S_TYPE=s3 RCLONE_CONFIG_S3S_PROVIDER=Other RCLONE_CONFIG_S3S_ENDPOINT=$BYOB_TEST_S3S_ENDPOINT
export RCLONE_CONFIG_S3S_ACCESS_KEY_ID=$BYOB_TEST_S3S_ACCESS_KEY RCLONE_CONFIG_S3S_SECRET_ACCESS_KEY=$BYOB_TEST_S3S_SECRET_KEY
env -u AWS_CA_BUNDLE rclone copy --s3-chunk-size 8M "$src" "s3s:$a/byob/uploads/bench" 2>/dev/null

bench_start_byob
integration() {
  curl -sf -X POST "$BYOB_URL/v1/orgs/$BYOB_ORG/integrations" -H "authorization: Bearer $BYOB_TOKEN" \
    -H 'content-type: application/json' -d @- <<JSON | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
{"name":"$1","provider":"s3","bucket":"$1","prefix":"byob","region":"us-east-1","endpoint":"$BYOB_TEST_S3S_ENDPOINT",
 "path_style":true,"features":[],
 "credentials":{"mode":"s3_access_key","access_key_id":"$BYOB_TEST_S3S_ACCESS_KEY","secret_access_key":"$BYOB_TEST_S3S_SECRET_KEY"}}
JSON
}
mkdir -p "$BYOB_TEST_S3S_DIR/$b"
from=$(integration "$a")
to=$(integration "$b")

now() { date +%s.%N; }
t0=$(now)
"$BIN/byob" migrate --from "$from" --to "$to" --features uploads >"$WORK/migrate.out"
t1=$(now)
cat "$WORK/migrate.out"
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
cmp -s "$src/big-2.bin" "$BYOB_TEST_S3S_DIR/$b/byob/uploads/bench/big-2.bin" || { echo "byob's copy differs" >&2; exit 1; }

t2=$(now)
# Whole buckets: s3s-fs answers 500 to a HEAD of a folder, which rclone sends for a path inside a bucket and
# retries. The source bucket holds nothing but the files.
env -u AWS_CA_BUNDLE rclone copy --s3-chunk-size 8M "s3s:$a" "s3s:$c" 2>/dev/null
env -u AWS_CA_BUNDLE rclone check "s3s:$a" "s3s:$c" 2>/dev/null
t3=$(now)
# The same with the bytes through rclone (`--disable copy`), as between two providers or two accounts, where no
# server-side copy exists and byob's migration always streams.
env -u AWS_CA_BUNDLE rclone copy --disable copy --s3-chunk-size 8M "s3s:$a" "s3s:$d" 2>/dev/null
env -u AWS_CA_BUNDLE rclone check "s3s:$a" "s3s:$d" 2>/dev/null
t4=$(now)

echo "rclone: $(rclone version 2>/dev/null | head -1)"
awk -v b="$bytes" -v f="$files" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" -v t4="$t4" -v rss="$rss_kb" 'BEGIN {
  bm = t1 - t0; p = t3 - t2; q = t4 - t3
  printf "%-60s %8s %9s\n", "migration of " f " files, " b / 1e6 " MB", "seconds", "MB/s"
  printf "%-60s %8.2f %9.1f\n", "byob  migrate (streamed, verified on the destination, switch)", bm, b / 1e6 / bm
  printf "%-60s %8.2f %9.1f\n", "peer  rclone copy + rclone check (server-side copy)", p, b / 1e6 / p
  printf "%-60s %8.2f %9.1f\n", "peer  rclone copy --disable copy + rclone check (streamed)", q, b / 1e6 / q
  printf "ratios (peer time / byob time): %.2fx against the server-side copy, %.2fx against the streamed copy (target >= 1.0)   byob peak RSS: %.1f MB\n", p / bm, q / bm, rss / 1024
}'
