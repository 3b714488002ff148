#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs and starts the storage emulators and PostgreSQL
# (scripts/servers.sh), runs every test with cargo-nextest, and stops exactly what it started, pass or fail.
# Extra arguments go to `cargo nextest run` (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/byob/target}"
export BYOB_SERVERS_DIR="${BYOB_SERVERS_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/byob-servers.XXXXXX")}"

trap 'scripts/servers.sh stop' EXIT
eval "$(scripts/servers.sh start)"
cargo nextest run --workspace --no-fail-fast "$@"
