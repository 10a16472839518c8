# Sourced by .ci/run: a throwaway PostgreSQL server for the ledger tests (tests/test_ledger_postgres.py).
# Installs the apt package when missing, starts a cluster in a temporary folder listening on a unix socket
# in that folder only (no TCP), creates a database, exports DTFUND_TEST_POSTGRES_URL, and stops the
# server and removes the folder when the shell exits.

start_test_postgres() {
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  fi
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  local run_as=()
  if [ "$(id -u)" = 0 ]; then run_as=(runuser -u postgres --); fi
  PG_TEST_DIR="$(mktemp -d /tmp/dtfund-pg.XXXXXX)"
  chmod 700 "$PG_TEST_DIR"
  [ "$(id -u)" = 0 ] && chown postgres "$PG_TEST_DIR"
  "${run_as[@]}" "$bin/initdb" -D "$PG_TEST_DIR/data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
  "${run_as[@]}" "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/log" -w \
    -o "-c listen_addresses='' -c unix_socket_directories='$PG_TEST_DIR' -c fsync=off" start >/dev/null
  trap stop_test_postgres EXIT
  "${run_as[@]}" "$bin/createdb" -h "$PG_TEST_DIR" -U postgres dtfund_test
  export DTFUND_TEST_POSTGRES_URL="postgresql://postgres@/dtfund_test?host=$PG_TEST_DIR"
  PG_TEST_BIN="$bin"
}

stop_test_postgres() {
  local run_as=()
  if [ "$(id -u)" = 0 ]; then run_as=(runuser -u postgres --); fi
  "${run_as[@]}" "$PG_TEST_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -m fast -w stop >/dev/null || true
  rm -rf "$PG_TEST_DIR"
}
