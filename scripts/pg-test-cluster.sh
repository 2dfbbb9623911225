#!/usr/bin/env bash
# Throwaway PostgreSQL 15 cluster for the tests: initdb as the postgres user in a temporary
# folder, listening only on 127.0.0.1 on a free port, trust auth for loopback.
#   source scripts/pg-test-cluster.sh; pg_test_start   -> exports REKEY_TEST_PG
#   pg_test_stop                                        (idempotent; call it from a trap)
#   pg_test_ensure    start one unless REKEY_TEST_PG already names a server; stop it on exit
# Installs PostgreSQL 15 with apt-get when it is missing (CI machines start bare).

pg_test_bin() {
  local dir
  for dir in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  return 1
}

pg_test_start() {
  local bin
  if ! bin=$(pg_test_bin); then
    echo "pg-test-cluster: PostgreSQL not found; installing postgresql-15" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >&2 || return 1
    bin=$(pg_test_bin) || { echo "pg-test-cluster: PostgreSQL is still missing after apt-get" >&2; return 1; }
  fi
  id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql postgres

  PG_TEST_DIR=$(mktemp -d /tmp/rekey-pg.XXXXXX)
  chown postgres:postgres "$PG_TEST_DIR"
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  runuser -u postgres -- "$bin/initdb" -D "$PG_TEST_DIR/data" -U postgres -A trust --no-sync -E UTF8 >"$PG_TEST_DIR/initdb.log" 2>&1 \
    || { cat "$PG_TEST_DIR/initdb.log" >&2; return 1; }
  # fsync off: a throwaway cluster trades durability for speed; Rekey's own code does not rely on it.
  runuser -u postgres -- "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$PG_TEST_DIR -c fsync=off -c max_connections=300" >/dev/null \
    || { cat "$PG_TEST_DIR/server.log" >&2; return 1; }
  PG_TEST_BIN=$bin
  export PG_TEST_DIR PG_TEST_BIN
  export REKEY_TEST_PG="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
  echo "pg-test-cluster: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($PG_TEST_DIR)" >&2
}

pg_test_stop() {
  if [ -n "${PG_TEST_DIR:-}" ] && [ -d "$PG_TEST_DIR/data" ]; then
    runuser -u postgres -- "$PG_TEST_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_TEST_DIR"
  fi
  PG_TEST_DIR=
}

pg_test_ensure() {
  if [ -z "${REKEY_TEST_PG:-}" ]; then
    trap pg_test_stop EXIT
    pg_test_start
  fi
}
