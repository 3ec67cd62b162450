#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for the tests (issue 13): `start`, `stop`, `url`, `status`.
#
#   bash .ci/postgres.sh start   # initdb + start (or nothing, if it runs); prints the URL
#   bash .ci/postgres.sh url     # the URL of the running server
#   bash .ci/postgres.sh stop    # stop it and delete everything it wrote
#
# Everything lives in ${AURA_UPLINK_PG_DIR:-/tmp/aura-uplink-pg}: the cluster in data/, its log
# in postgres.log, and the unix socket in the directory itself. By default the server does not
# listen on TCP at all (nothing else on the machine can reach it); AURA_UPLINK_PG_TCP=1 makes it
# listen on 127.0.0.1 as well, on a free port, and the URL then names that port.
#
# Durability stays at PostgreSQL's defaults (fsync, synchronous_commit and full_page_writes on):
# the tests and the benchmark must measure the store as durable as SQLite's synchronous=FULL.
# Authentication is `trust` for the postgres role: the socket directory is the only way in.
set -euo pipefail

dir=${AURA_UPLINK_PG_DIR:-/tmp/aura-uplink-pg}
data="$dir/data"
log="$dir/postgres.log"
marker="$dir/.aura-uplink-pg" # only a directory carrying this file is ever deleted
port_file="$dir/port"
tcp_file="$dir/tcp"

die() {
  echo ".ci/postgres.sh: $1" >&2
  exit "${2:-1}"
}

case "$dir" in
  /*) ;;
  *) die "AURA_UPLINK_PG_DIR must be an absolute path (got '$dir')" 2 ;;
esac
[ "$dir" != "/" ] || die "AURA_UPLINK_PG_DIR must not be /" 2

# initdb and postgres refuse to run as root: as root, run them as the postgres user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    # cd /: the caller's working directory may be one the postgres user cannot enter.
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# A postmaster whose pid file names a live process (it may still be starting or stopping).
alive() {
  [ -d "$data" ] && as_pg pg_ctl status -D "$data" >/dev/null 2>&1
}

# Alive and accepting connections on the socket.
running() {
  alive && pg_isready -q -h "$dir" -p "$(cat "$port_file")" -U postgres -d postgres
}

url() {
  local port
  port=$(cat "$port_file")
  if [ -f "$tcp_file" ]; then
    echo "postgresql://postgres@127.0.0.1:$port/postgres"
  else
    # libpq (and so psycopg) takes a socket directory as host=; the port names the socket file.
    echo "postgresql://postgres@/postgres?host=$dir&port=$port"
  fi
}

free_port() {
  python3 - <<'EOF'
import socket

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
EOF
}

remove_dir() {
  [ -e "$dir" ] || return 0
  if [ ! -f "$marker" ] && [ -n "$(ls -A "$dir")" ]; then
    die "$dir exists and was not made by this script; not deleting it" 2
  fi
  rm -rf "$dir"
}

start() {
  if running; then
    url
    return 0
  fi
  # Left over from a run that never reached `stop` (a killed job): start from nothing.
  stop
  mkdir -p "$dir"
  touch "$marker"
  if [ "${AURA_UPLINK_PG_TCP:-}" = 1 ]; then
    free_port >"$port_file"
    touch "$tcp_file"
    listen="127.0.0.1"
  else
    echo 5432 >"$port_file"
    listen=""
  fi
  if [ "$(id -u)" = 0 ]; then
    chown -R postgres: "$dir"
  fi
  # Others may connect through the socket (a test run as another user); data/ stays 0700.
  chmod 755 "$dir"
  as_pg initdb -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    die "initdb failed"
  }
  # Appended last, so these win over initdb's defaults. '' quotes a ' inside a value.
  local socket_dir=${dir//\'/\'\'}
  as_pg tee -a "$data/postgresql.conf" >/dev/null <<EOF

# .ci/postgres.sh: a throwaway server for the tests
listen_addresses = '$listen'
port = $(cat "$port_file")
unix_socket_directories = '$socket_dir'
max_connections = 300
fsync = on
synchronous_commit = on
full_page_writes = on
EOF
  as_pg pg_ctl start -D "$data" -l "$log" -w -t 60 >/dev/null || {
    cat "$log" >&2 || true
    die "pg_ctl start failed (log above)"
  }
  local port tries=0
  port=$(cat "$port_file")
  until pg_isready -q -h "$dir" -p "$port" -U postgres -d postgres; do
    tries=$((tries + 1))
    [ "$tries" -lt 100 ] || die "the server did not become ready in 30 s (log: $log)"
    sleep 0.3
  done
  url
}

stop() {
  if alive; then
    as_pg pg_ctl stop -D "$data" -m fast -w -t 30 >/dev/null 2>&1 ||
      as_pg pg_ctl stop -D "$data" -m immediate -w -t 30 >/dev/null 2>&1 ||
      echo ".ci/postgres.sh: the server did not stop (log: $log)" >&2
  fi
  remove_dir
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url)
    running || die "no server runs in $dir (bash .ci/postgres.sh start)"
    url
    ;;
  status)
    if running; then
      echo "running: $(url)"
    else
      echo "not running"
      exit 1
    fi
    ;;
  *) die "usage: $0 start | stop | url | status" 2 ;;
esac
