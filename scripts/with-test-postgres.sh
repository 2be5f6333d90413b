#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL server: installs PostgreSQL from Debian's packages
# when it is missing, creates a cluster in a temporary directory (as the `postgres` user when run
# as root, since initdb refuses root), starts it on a free loopback port, exports
#   VISIONCRAFT_TEST_POSTGRES_URL  postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
#   VISIONCRAFT_TEST_POSTGRES_DATA the cluster's directory, and VISIONCRAFT_TEST_POSTGRES_BIN its
#                                  programs (tests stop and start the server under load)
#   VISIONCRAFT_TEST_POSTGRES_CA   the self-signed certificate (CN=localhost) the server offers TLS
#                                  with, for the sslmode tests
# runs the command, and stops and removes the server whatever the command's outcome.
set -euo pipefail

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [ -z "$(bin_dir)" ]; then
  echo "with-test-postgres: installing PostgreSQL (apt-get)" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
BIN=$(bin_dir)
DATA=$(mktemp -d /tmp/vc-test-postgres.XXXXXX)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" = 0 ]; then chown postgres "$DATA"; fi
chmod 700 "$DATA"
as_owner "$BIN/initdb" -D "$DATA/cluster" -U postgres -A trust --no-sync >/dev/null
openssl req -new -x509 -days 2 -nodes -subj /CN=localhost -addext subjectAltName=DNS:localhost \
  -keyout "$DATA/cluster/server.key" -out "$DATA/cluster/server.crt" >/dev/null 2>&1
chmod 600 "$DATA/cluster/server.key"
if [ "$(id -u)" = 0 ]; then chown postgres "$DATA/cluster/server.key" "$DATA/cluster/server.crt"; fi
cp "$DATA/cluster/server.crt" "$DATA/ca.crt"
cat >>"$DATA/cluster/postgresql.conf" <<CONF
ssl = on
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DATA'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
stop() {
  as_owner "$BIN/pg_ctl" -D "$DATA/cluster" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DATA"
}
trap stop EXIT
as_owner "$BIN/pg_ctl" -D "$DATA/cluster" -l "$DATA/server.log" -w start >/dev/null
export VISIONCRAFT_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable"
export VISIONCRAFT_TEST_POSTGRES_DATA="$DATA/cluster"
export VISIONCRAFT_TEST_POSTGRES_BIN="$BIN"
export VISIONCRAFT_TEST_POSTGRES_CA="$DATA/ca.crt"
"$@"
