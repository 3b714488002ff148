#!/usr/bin/env bash
# An attachment of SIZE_MB megabytes into an s3s-fs bucket, scanned by ClamAV, then downloaded, in the same run:
#   byob: `byob attachments put` (presigned PUT or parts, completion with the type check, the scan streamed from
#         the bucket to clamd by the server's job) until the attachment is available; `byob attachments get`.
#   peer: `rclone copyto` into the same bucket, then `clamdscan --stream` of the local file; `rclone copyto` back.
# Prints seconds and MB/s of each, the ratios (peer time / byob time, > 1 means byob is faster), and byob's peak RSS
# (VmHWM of `byob serve`: the scan streams, so it does not grow with the file).
# Usage: bench/attachments/run.sh [SIZE_MB]   (needs the servers: eval "$(scripts/servers.sh start)", which also
# installs ClamAV and rclone)
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE_MB="${1:-200}"
: "${BYOB_TEST_S3S_ENDPOINT:?start the servers first: eval \"\$(scripts/servers.sh start)\"}"
: "${BYOB_TEST_CLAMD_ADDRESS:?start the servers first}"
. bench/lib.sh
bench_build byob-cli
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK" "${BUCKET_DIR:-}"
}
trap cleanup EXIT

# A PDF header, then incompressible bytes: a file byob accepts as application/pdf and ClamAV reads in full.
file="$WORK/report.pdf"
{ printf '%%PDF-1.7\n'; head -c "$(( SIZE_MB * 1024 * 1024 ))" /dev/urandom; } > "$file"
bytes=$(stat -c %s "$file")

export BYOB_ATTACHMENTS__SCANNER=clamd BYOB_ATTACHMENTS__CLAMD_ADDRESS="$BYOB_TEST_CLAMD_ADDRESS" BYOB_JOBS__POLL_MS=50
bench_start_byob
bucket="attachments-bench-$$"
BUCKET_DIR="$BYOB_TEST_S3S_DIR/$bucket"
bench_s3s_integration "$bucket" byob attachments
byob() { "$BIN/byob" "$@"; }
byob attachments policy set --collection reports --field file --max-bytes $(( bytes + 1 )) --max-files 10 \
  --types application/pdf >/dev/null

now() { date +%s.%N; }
t0=$(now)
id=$(byob --json attachments put "$file" --collection reports --record 1 --field file \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
while :; do
  state=$(byob --json attachments show "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
  [ "$state" = scanning ] || break
  sleep 0.05
done
t1=$(now)
[ "$state" = available ] || { echo "the attachment ended $state" >&2; exit 1; }
byob attachments get "$id" -o "$WORK/byob-copy.pdf" 2>/dev/null
t2=$(now)
cmp -s "$file" "$WORK/byob-copy.pdf" || { echo "byob's download differs" >&2; exit 1; }
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")

export RCLONE_CONFIG_S3S_TYPE=s3 RCLONE_CONFIG_S3S_PROVIDER=Other RCLONE_CONFIG_S3S_ENDPOINT=$BYOB_TEST_S3S_ENDPOINT
export RCLONE_CONFIG_S3S_ACCESS_KEY_ID=$BYOB_TEST_S3S_ACCESS_KEY RCLONE_CONFIG_S3S_SECRET_ACCESS_KEY=$BYOB_TEST_S3S_SECRET_KEY
printf 'TCPSocket %s\nTCPAddr %s\n' "${BYOB_TEST_CLAMD_ADDRESS##*:}" "${BYOB_TEST_CLAMD_ADDRESS%:*}" > "$WORK/clamd.conf"
t3=$(now)
env -u AWS_CA_BUNDLE rclone copyto --s3-chunk-size 8M "$file" "s3s:$bucket/peer/report.pdf"
clamdscan --config-file="$WORK/clamd.conf" --stream --no-summary "$file" >/dev/null
t4=$(now)
env -u AWS_CA_BUNDLE rclone copyto "s3s:$bucket/peer/report.pdf" "$WORK/peer-copy.pdf"
t5=$(now)
cmp -s "$file" "$WORK/peer-copy.pdf"

awk -v b="$bytes" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" -v t4="$t4" -v t5="$t5" -v rss="$rss_kb" 'BEGIN {
  bu = t1 - t0; bd = t2 - t1; pu = t4 - t3; pd = t5 - t4
  printf "%-44s %8s %9s\n", "attachment of " b / 1e6 " MB", "seconds", "MB/s"
  printf "%-44s %8.2f %9.1f\n", "byob  put + type check + clamd scan", bu, b / 1e6 / bu
  printf "%-44s %8.2f %9.1f\n", "peer  rclone copyto + clamdscan --stream", pu, b / 1e6 / pu
  printf "%-44s %8.2f %9.1f\n", "byob  get (302 to a presigned GET)", bd, b / 1e6 / bd
  printf "%-44s %8.2f %9.1f\n", "peer  rclone copyto (download)", pd, b / 1e6 / pd
  printf "ratios (peer time / byob time): upload and scan %.2fx, download %.2fx   byob peak RSS: %.1f MB\n", pu / bu, pd / bd, rss / 1024
}'
