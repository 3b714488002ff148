#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs and starts the storage emulators and PostgreSQL
# (scripts/servers.sh), runs every benchmark at a tiny size (so none rots; the numbers mean nothing here), runs
# every test with cargo-nextest, and stops exactly what it started, pass or fail.
# Extra arguments go to `cargo nextest run` (e.g. a test name filter); the benchmarks are then skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

# The same target directory as `cargo run` (./target unless CARGO_TARGET_DIR says otherwise), so the README's two
# commands share one build.
# The servers' data and logs go to a directory of this run's own unless BYOB_SERVERS_DIR names one; a run that
# passes removes its own (a gigabyte of databases and buckets), a failed one keeps it for its logs.
own_servers_dir=
if [ -z "${BYOB_SERVERS_DIR:-}" ]; then
  BYOB_SERVERS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/byob-servers.XXXXXX")
  own_servers_dir=$BYOB_SERVERS_DIR
fi
export BYOB_SERVERS_DIR

finish() {
  local code=$?
  if [ -n "${build_pid:-}" ]; then kill "$build_pid" 2>/dev/null || true; fi
  scripts/servers.sh stop
  if [ -n "$own_servers_dir" ]; then
    if [ "$code" -eq 0 ]; then
      rm -rf "$own_servers_dir"
    else
      echo "[test] the servers' logs are in $own_servers_dir"
    fi
  fi
}
trap finish EXIT
# The build needs none of the servers, so it runs while they install: on a fresh machine that is mostly downloads,
# which leave the processors idle. `cargo nextest run` below then finds every test binary built (the same units
# as `cargo test --no-run`).
build_log=$(mktemp "${TMPDIR:-/tmp}/byob-build.XXXXXX")
cargo test --workspace --no-run >"$build_log" 2>&1 &
build_pid=$!
eval "$(scripts/servers.sh start)"
echo "[test] servers ready after ${SECONDS} s"
if ! wait "$build_pid"; then
  cat "$build_log" >&2
  echo "[test] the build failed" >&2
  exit 1
fi
rm -f "$build_log"
echo "[test] built after ${SECONDS} s"

bench_failed=()
if [ "$#" -eq 0 ]; then
  for size in "assets 2" "attachments 2" "export 2000" "migration 20" "load 200000" "presign 1000" "fleet 200" "serve 10 3"; do
    read -r name args <<<"$size"
    echo "[bench] bench/$name/run.sh $args (test build)"
    bench_started=$SECONDS
    # shellcheck disable=SC2086 # a size, or a size and a duration
    if ! BYOB_BENCH_PROFILE=dev "bench/$name/run.sh" $args; then
      bench_failed+=("bench/$name/run.sh")
    fi
    echo "[bench] bench/$name/run.sh took $((SECONDS - bench_started)) s"
  done
  for script in bench/*/run.sh; do
    case "$script" in bench/assets/*|bench/attachments/*|bench/migration/*|bench/export/*|bench/load/*|bench/presign/*|bench/fleet/*|bench/serve/*) ;; *) echo "[bench] $script has no smoke size in scripts/test.sh"; bench_failed+=("$script") ;; esac
  done
fi

echo "[test] benchmarks done after ${SECONDS} s"

status=0
cargo nextest run --workspace --no-fail-fast "$@" || status=$?
echo "[test] tests done after ${SECONDS} s"
if [ "${#bench_failed[@]}" -gt 0 ]; then
  echo "[bench] failed: ${bench_failed[*]}" >&2
  status=1
fi
exit "$status"
