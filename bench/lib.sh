# Shared by the benchmarks: building, a release `byob serve` on embedded defaults, an org, an s3s-fs integration
# and a PostgreSQL connection. Source it from the repository's root, then call bench_build (it sets BIN); set
# WORK (a temporary directory) before bench_start_byob.

# bench_build PACKAGE...: builds the packages into the project's one target directory (the README's two commands
# share it) and sets BIN. BYOB_BENCH_PROFILE=dev reuses the test build (scripts/test.sh runs every benchmark at a
# tiny size that way, so none rots); its numbers mean nothing.
bench_build() {
  local target="${CARGO_TARGET_DIR:-$PWD/target}" args=() p
  for p in "$@"; do args+=(-p "$p"); done
  if [ "${BYOB_BENCH_PROFILE:-release}" = dev ]; then
    # The units `cargo test --workspace` built (the same features, dev-dependencies included), so nothing is
    # compiled again; building only the named packages would unify other features and rebuild dependencies.
    cargo build --quiet --workspace --all-targets
    BIN="$target/debug"
  else
    cargo build --release --quiet "${args[@]}"
    BIN="$target/release"
  fi
}

# Starts the server; sets SERVER_PID, BYOB_URL, BYOB_TOKEN, BYOB_ORG (a fresh org).
bench_start_byob() {
  export BYOB_DATA_DIR="$WORK/byob-data" BYOB_INTEGRATIONS__HTTP_ENDPOINTS=loopback BYOB_MONITOR__ENABLED=false
  # The benchmark's stores are emulators on loopback, which tenant-named endpoints may not reach by default.
  export BYOB_NETWORK__ALLOWED_PRIVATE_RANGES='["127.0.0.0/8"]'
  export BYOB_OPERATOR_TOKEN=byob_bench-operator-token-0123456789
  # BYOB_BENCH_WRAP (e.g. "perf record -g -o /tmp/byob.perf") runs the server under a profiler.
  ${BYOB_BENCH_WRAP:-} "$BIN/byob" serve --listen 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
  SERVER_PID=$!
  for _ in $(seq 100); do grep -q "listening on" "$WORK/serve.out" && break; sleep 0.1; done
  export BYOB_URL; BYOB_URL=$(sed -n 's/^byob listening on //p' "$WORK/serve.out")
  export BYOB_TOKEN=$BYOB_OPERATOR_TOKEN
  export BYOB_ORG
  BYOB_ORG=$("$BIN/byob" --json orgs create bench | sed -n 's/.*"id": "\(org_[^"]*\)".*/\1/p' | head -1)
}

# bench_s3s_integration BUCKET PREFIX FEATURE: an integration on s3s-fs serving FEATURE.
bench_s3s_integration() {
  mkdir -p "$BYOB_TEST_S3S_DIR/$1"
  curl -sf -X POST "$BYOB_URL/v1/orgs/$BYOB_ORG/integrations" -H "authorization: Bearer $BYOB_TOKEN" \
    -H 'content-type: application/json' -d @- >/dev/null <<JSON
{"name":"bench","provider":"s3","bucket":"$1","prefix":"$2","region":"us-east-1","endpoint":"$BYOB_TEST_S3S_ENDPOINT",
 "path_style":true,"features":["$3"],
 "credentials":{"mode":"s3_access_key","access_key_id":"$BYOB_TEST_S3S_ACCESS_KEY","secret_access_key":"$BYOB_TEST_S3S_SECRET_KEY"}}
JSON
}

# bench_pg_connection URL: the connection `pg` to the database at URL.
bench_pg_connection() {
  local host port user db
  host=$(sed -E 's#^postgres(ql)?://([^@]*@)?([^:/]+).*#\3#' <<<"$1")
  port=$(sed -E 's#^postgres(ql)?://[^/]*:([0-9]+)/.*#\2#' <<<"$1")
  user=$(sed -E 's#^postgres(ql)?://([^@:]+).*#\2#' <<<"$1")
  db=${1##*/}
  curl -sf -X POST "$BYOB_URL/v1/orgs/$BYOB_ORG/connections" -H "authorization: Bearer $BYOB_TOKEN" \
    -H 'content-type: application/json' >/dev/null \
    -d "{\"name\":\"pg\",\"platform\":\"postgres\",\"host\":\"$host\",\"port\":$port,\"database\":\"$db\",\"user\":\"$user\",\"tls\":\"disable\"}"
}

# bench_mysql_connection URL: the connection `maria` to the MySQL/MariaDB database at URL
# (mysql://user:password@host:port/database).
bench_mysql_connection() {
  local body
  body=$(python3 -c 'import json, sys, urllib.parse as u
p = u.urlparse(sys.argv[1])
print(json.dumps({"name": "maria", "platform": "mysql", "host": p.hostname, "port": p.port,
  "database": p.path.lstrip("/"), "user": p.username, "password": p.password, "tls": "disable"}))' "$1")
  curl -sf -X POST "$BYOB_URL/v1/orgs/$BYOB_ORG/connections" -H "authorization: Bearer $BYOB_TOKEN" \
    -H 'content-type: application/json' >/dev/null -d "$body"
}

# bench_mariadb URL ARGS...: the mariadb client on the server at URL (its database unless ARGS name another).
bench_mariadb() {
  local url=$1; shift
  local rest=${url#mysql://} creds host_port
  creds=${rest%%@*}; host_port=${rest#*@}; host_port=${host_port%%/*}
  mariadb --no-defaults -h "${host_port%:*}" -P "${host_port##*:}" -u "${creds%%:*}" -p"${creds#*:}" "$@"
}

# job_seconds JOB: the job's own start to end, then its result's FIELD (when given).
bench_job_seconds() {
  "$BIN/byob" --json jobs get "$1" | python3 -c 'import json,sys,datetime as d
j=json.load(sys.stdin); p=lambda s: d.datetime.fromisoformat(s.replace("Z","+00:00"))
assert j["state"] == "succeeded", j
extra = [str(j["result"][f]) for f in sys.argv[1:]]
print(" ".join([str((p(j["finished_at"])-p(j["started_at"])).total_seconds())] + extra))' "${@:2}"
}
