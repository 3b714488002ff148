#!/usr/bin/env bash
# An asset of SIZE_MB megabytes written through byob into an s3s-fs bucket and read back, in the same run as:
#   openssl dgst -sha256 of the same file (the rate of hashing alone: byob hashes while it streams, target ≥ 0.9x),
#   a plain PUT of the same bytes to the store (rclone copyto, 8 MiB parts), and its plain download.
# byob's write is `curl -T` to PUT /v1/orgs/{org}/assets/{name}: the body streams through byob into a staging
# object while it is hashed, then is copied under its hash and its signed manifest written. Its read streams the
# content back through SHA-256. Prints seconds and MB/s of each, the ratios (other time / byob time: > 1 means byob
# is faster) and byob's peak RSS (VmHWM of `byob serve`: one part is held whatever the size).
# Usage: bench/assets/run.sh [SIZE_MB]   (needs the servers: eval "$(scripts/servers.sh start)", which also
# installs rclone)
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE_MB="${1:-1000}"
: "${BYOB_TEST_S3S_ENDPOINT:?start the servers first: eval \"\$(scripts/servers.sh start)\"}"
. bench/lib.sh
bench_build byob-cli
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK" "${BUCKET_DIR:-}"
}
trap cleanup EXIT

file="$WORK/model.bin"
head -c "$(( SIZE_MB * 1024 * 1024 ))" /dev/urandom > "$file"
bytes=$(stat -c %s "$file")

export BYOB_JOBS__POLL_MS=50
bench_start_byob
bucket="assets-bench-$$"
BUCKET_DIR="$BYOB_TEST_S3S_DIR/$bucket"
bench_s3s_integration "$bucket" byob assets
url="$BYOB_URL/v1/orgs/$BYOB_ORG/assets/bench%2Fmodel.bin"

now() { date +%s.%N; }
t0=$(now)
written=$(curl -sf -T "$file" -H "authorization: Bearer $BYOB_TOKEN" -H 'content-type: application/octet-stream' "$url")
t1=$(now)
curl -sf -H "authorization: Bearer $BYOB_TOKEN" "$url" -o "$WORK/byob-copy.bin"
t2=$(now)
cmp -s "$file" "$WORK/byob-copy.bin" || { echo "byob's read differs" >&2; exit 1; }
expected=$(sha256sum "$file" | cut -d' ' -f1)
grep -q "\"sha256\":\"$expected\"" <<<"$written" || { echo "byob recorded another hash: $written" >&2; exit 1; }
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")

t3=$(now)
openssl dgst -sha256 "$file" >/dev/null
t4=$(now)
export RCLONE_CONFIG_S3S_TYPE=s3 RCLONE_CONFIG_S3S_PROVIDER=Other RCLONE_CONFIG_S3S_ENDPOINT=$BYOB_TEST_S3S_ENDPOINT
export RCLONE_CONFIG_S3S_ACCESS_KEY_ID=$BYOB_TEST_S3S_ACCESS_KEY RCLONE_CONFIG_S3S_SECRET_ACCESS_KEY=$BYOB_TEST_S3S_SECRET_KEY
env -u AWS_CA_BUNDLE rclone copyto --s3-chunk-size 8M "$file" "s3s:$bucket/peer/model.bin"
t5=$(now)
env -u AWS_CA_BUNDLE rclone copyto "s3s:$bucket/peer/model.bin" "$WORK/peer-copy.bin"
t6=$(now)
cmp -s "$file" "$WORK/peer-copy.bin"

echo "openssl: $(openssl version)   rclone: $(rclone version 2>/dev/null | head -1)"
awk -v b="$bytes" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" -v t4="$t4" -v t5="$t5" -v t6="$t6" -v rss="$rss_kb" 'BEGIN {
  bw = t1 - t0; br = t2 - t1; h = t4 - t3; pw = t5 - t4; pr = t6 - t5
  printf "%-48s %8s %9s\n", "asset of " b / 1e6 " MB", "seconds", "MB/s"
  printf "%-48s %8.2f %9.1f\n", "byob  write (stream, hash, place, sign)", bw, b / 1e6 / bw
  printf "%-48s %8.2f %9.1f\n", "      openssl dgst -sha256 (hashing alone)", h, b / 1e6 / h
  printf "%-48s %8.2f %9.1f\n", "      plain PUT (rclone copyto)", pw, b / 1e6 / pw
  printf "%-48s %8.2f %9.1f\n", "byob  verified read", br, b / 1e6 / br
  printf "%-48s %8.2f %9.1f\n", "      plain GET (rclone copyto)", pr, b / 1e6 / pr
  printf "ratios: write vs openssl rate %.2fx (target >= 0.9), write vs plain PUT %.2fx, read vs plain GET %.2fx   byob peak RSS: %.1f MB\n", h / bw, pw / bw, pr / br, rss / 1024
}'
