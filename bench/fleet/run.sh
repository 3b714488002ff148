#!/usr/bin/env bash
# Fleet scale: ORGS orgs with two integrations each (default 10,000 orgs, 20,000 integrations) in a PostgreSQL
# catalog, then one pass of each periodic worker — the health monitor, the janitor, the export and import
# schedulers, webhook delivery, the job queue — with nothing due. Prints each pass's catalog calls and wall time
# next to the same pass over one integration: the calls must be equal (each worker asks once for what is due; none
# walks the orgs) and the time grows only with the size of the due queries' scans. Then a monitor pass with five
# integrations due (a fixed few calls each). The figures come from the fleet test
# (crates/byob-api/tests/fleet_scale.rs, which asserts the call counts), run here at the size asked for.
# Usage: bench/fleet/run.sh [ORGS]   (needs the servers: eval "$(scripts/servers.sh start)")
set -euo pipefail
cd "$(dirname "$0")/../.."
ORGS="${1:-10000}"
: "${BYOB_TEST_POSTGRES_URL:?start the servers first: eval \"\$(scripts/servers.sh start)\"}"
profile=()
[ "${BYOB_BENCH_PROFILE:-release}" = dev ] || profile=(--release)
echo "fleet: $ORGS orgs, $(( ORGS * 2 )) integrations (PostgreSQL catalog, $(psql --version 2>/dev/null || echo psql))"
# `--workspace`: the features the test suite builds with, so its build is reused rather than redone.
BYOB_FLEET_ORGS="$ORGS" cargo test --quiet "${profile[@]}" --workspace --test fleet_scale -- --nocapture --test-threads 1 \
  2>&1 | grep -v '^\.*$' | grep -v '^running\|^test result\|^test a_pass'
