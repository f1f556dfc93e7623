#!/usr/bin/env bash
# A private PostgreSQL cluster on loopback for tests, benchmarks and the no-Docker topology of
# docs/operations.md, from Debian's postgresql package (installed by scripts/setup-system.sh
# when missing). It never touches the system cluster: own data directory, own port, own
# socket directory. As root it runs as the `postgres` user (PostgreSQL refuses to run as root).
#
#   scripts/postgres.sh start    initdb once, start, create role + database, print PG_URL=...
#   scripts/postgres.sh stop     fast shutdown (rolls back open transactions), immediate if stuck
#   scripts/postgres.sh restart  stop + start; data is kept
#   scripts/postgres.sh status   exit 0 when running, 3 otherwise
#   scripts/postgres.sh url      print the connection URL only (for `export PG_URL=$(...)`)
#   scripts/postgres.sh psql     open psql as the app role (extra args go to psql)
#   scripts/postgres.sh reset    stop and delete the cluster
#
# Settings (environment; defaults in brackets):
#   PG_HOST [127.0.0.1]  PG_PORT [5433]  PG_USER [sentiment]  PG_PASSWORD [sentiment]  PG_DB [sentiment]
#   PG_BIN [newest /usr/lib/postgresql/<ver>/bin]
#   PG_RUN_DIR [/var/tmp/sentiment-stream/pg-<port> as root (postgres must reach it; /root is
#              private), else ~/.cache/sentiment-stream/pg-<port>]   data/, sock/, postgres.log
#   PG_START_TIMEOUT [60]  PG_STOP_TIMEOUT [60]   seconds
# The password is for a loopback test cluster; deployments pass their own PG_URL.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
PG_HOST="${PG_HOST:-127.0.0.1}"
PG_PORT="${PG_PORT:-5433}"
PG_USER="${PG_USER:-sentiment}"
PG_PASSWORD="${PG_PASSWORD:-sentiment}"
PG_DB="${PG_DB:-sentiment}"
PG_START_TIMEOUT="${PG_START_TIMEOUT:-60}"
PG_STOP_TIMEOUT="${PG_STOP_TIMEOUT:-60}"
if [ "$(id -u)" -eq 0 ]; then
  PG_RUN_DIR="${PG_RUN_DIR:-/var/tmp/sentiment-stream/pg-$PG_PORT}"
else
  PG_RUN_DIR="${PG_RUN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sentiment-stream/pg-$PG_PORT}"
fi
data="$PG_RUN_DIR/data"
sock="$PG_RUN_DIR/sock"
log="$PG_RUN_DIR/postgres.log"

say() { echo "postgres.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

url() { echo "postgres://$PG_USER:$PG_PASSWORD@$PG_HOST:$PG_PORT/$PG_DB"; }

find_bin() {
  if [ -z "${PG_BIN:-}" ]; then
    local ver
    ver="$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -z "$ver" ] || [ ! -x "/usr/lib/postgresql/$ver/bin/initdb" ]; then
      say "PostgreSQL server binaries missing; installing with scripts/setup-system.sh"
      bash "$here/setup-system.sh"
      ver="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
    fi
    PG_BIN="/usr/lib/postgresql/$ver/bin"
  fi
  [ -x "$PG_BIN/pg_ctl" ] || die "no pg_ctl in $PG_BIN"
}

# run a command as the cluster's owner: `postgres` when we are root, ourselves otherwise
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

is_running() { [ -f "$data/PG_VERSION" ] && as_owner "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; }

port_open() { (exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT") 2>/dev/null; }

psql_admin() { as_owner "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$PG_PORT" -U postgres -d postgres "$@"; }

init_once() {
  [ -f "$data/PG_VERSION" ] && return 0
  mkdir -p "$PG_RUN_DIR" "$sock"
  if [ "$(id -u)" -eq 0 ]; then
    chmod 755 "$(dirname "$PG_RUN_DIR")" "$PG_RUN_DIR"
    chown postgres:postgres "$PG_RUN_DIR" "$sock"
  fi
  say "initdb $data"
  # local socket: trust (only the owner can reach sock/); TCP: passwords (scram-sha-256)
  as_owner "$PG_BIN/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$PG_RUN_DIR/initdb.log" 2>&1 \
    || { cat "$PG_RUN_DIR/initdb.log" >&2; die "initdb failed"; }
}

start() {
  find_bin
  if is_running; then
    say "already running on $PG_HOST:$PG_PORT ($data)"
    echo "PG_URL=$(url)"
    return 0
  fi
  port_open && die "$PG_HOST:$PG_PORT is taken by another process"
  local t0=$SECONDS
  init_once
  [ "$(id -u)" -eq 0 ] && { touch "$log"; chown postgres:postgres "$log"; }
  as_owner "$PG_BIN/pg_ctl" -D "$data" -l "$log" -w -t "$PG_START_TIMEOUT" \
    -o "-p $PG_PORT -c listen_addresses=$PG_HOST -c unix_socket_directories=$sock" start >/dev/null \
    || { tail -n 20 "$log" >&2; die "PostgreSQL did not start (log: $log)"; }
  # role and database: created once, password reset on every start so PG_PASSWORD changes apply
  psql_admin -v user="$PG_USER" -v pass="$PG_PASSWORD" -v db="$PG_DB" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB', :'user')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'user', :'pass') \gexec
-- DROP DATABASE ... WITH (FORCE) must be able to end an autovacuum worker that happens to be
-- in the database; without this grant PostgreSQL refuses with 42501 and the drop fails
SELECT format('GRANT pg_signal_backend TO %I', :'user') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user')
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
  say "PostgreSQL $("$PG_BIN/postgres" -V | awk '{print $3}') ready on $PG_HOST:$PG_PORT ($((SECONDS - t0)) s; log $log)"
  echo "PG_URL=$(url)"
}

stop() {
  find_bin
  if ! is_running; then
    say "not running on port $PG_PORT"
    return 0
  fi
  if ! as_owner "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t "$PG_STOP_TIMEOUT" stop >/dev/null; then
    say "fast shutdown timed out; immediate shutdown"
    as_owner "$PG_BIN/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null
  fi
  say "stopped ($data)"
}

status() {
  find_bin
  if is_running; then
    echo "running $(url) dir=$PG_RUN_DIR"
  else
    echo "not running (port $PG_PORT)"
    return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  url) url ;;
  psql) shift; find_bin; PGPASSWORD="$PG_PASSWORD" "$PG_BIN/psql" "$(url)" "$@" ;;
  reset) stop; rm -rf "$PG_RUN_DIR"; say "deleted $PG_RUN_DIR" ;;
  *) echo "usage: $0 start|stop|restart|status|url|psql|reset" >&2; exit 2 ;;
esac
