#!/usr/bin/env bash
# A throwaway PostgreSQL server for the test suite, on a unix socket in its own folder.
#
#   scripts/pg_test_server.sh start DIR   initdb a cluster in DIR, start it, create a
#                                         database and print its DATABASE_URL
#   scripts/pg_test_server.sh pause DIR   stop the server at once, as a crash would
#   scripts/pg_test_server.sh resume DIR  start it again on the same data
#   scripts/pg_test_server.sh stop DIR    stop the server and remove DIR
#
# Nothing listens on TCP, so parallel runs cannot collide on a port. PostgreSQL refuses
# to run as root: as root (CI) the cluster belongs to the `postgres` user.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [[ -z "$cmd" || -z "$dir" ]]; then
  echo "usage: $0 start|pause|resume|stop DIR" >&2
  exit 2
fi

bindir=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [[ -z "$bindir" || ! -x "$bindir/initdb" ]]; then
  echo "PostgreSQL server binaries not found (install Debian's postgresql)" >&2
  exit 1
fi

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
owner=$([[ $(id -u) -eq 0 ]] && echo postgres || id -un)

run_server() {
  # Durability is irrelevant for a throwaway cluster: trade it for speed, unless
  # PG_DURABLE=1 (the fault tests crash the server and count on committed data).
  local speed="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [[ ${PG_DURABLE:-0} == 1 ]] && speed=""
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories='$dir' $speed -c max_connections=50" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    chmod 700 "$dir"
    as_owner "$bindir/initdb" -D "$dir/data" -U "$owner" --auth=trust \
      --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    run_server
    as_owner "$bindir/createdb" -h "$dir" -U "$owner" app
    echo "postgres://${owner}@$(python3 -c 'import sys, urllib.parse as u; print(u.quote(sys.argv[1], safe=""))' "$dir")/app"
    ;;
  pause)
    # Stop at once, like a crash (fault tests): open connections are cut.
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    ;;
  resume)
    run_server
    ;;
  stop)
    if [[ -f "$dir/data/postmaster.pid" ]]; then
      as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start|pause|resume|stop DIR" >&2
    exit 2
    ;;
esac
