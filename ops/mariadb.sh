#!/usr/bin/env bash
# A private, throwaway MariaDB for the MySQL tests (SPEC 10): mariadbd on a
# temporary datadir, a free loopback port and its own socket, as the current
# user. Never touches a system MariaDB (no systemd, no /etc/mysql: --no-defaults).
#
#   ops/mariadb.sh start    initialise, start, create the test user; write the env file
#   ops/mariadb.sh stop     kill the server, remove its datadir and the env file
#   ops/mariadb.sh status   exit 0 if the server answers
#   ops/mariadb.sh kill-server   stop mariadbd but keep datadir and port (outage tests)
#   ops/mariadb.sh start-server  start it again on the same datadir and port
#
# STATE_DIR (default: $STRONGROOM_MARIADB_STATE_DIR, else /tmp/strongroom-mariadb)
# holds mariadb.env, which tests source:
#   STRONGROOM_TEST_MYSQL_URL=tcp://127.0.0.1:PORT
#   STRONGROOM_TEST_MYSQL_USER=strongroom
#   STRONGROOM_TEST_MYSQL_PASSWORD=<random>
#   STRONGROOM_TEST_MYSQL_DATABASE=strongroom_test
#   MYSQL_ADMIN_SOCKET=<datadir>/mysqld.sock   (root, no password, socket only)
# The test user may create and drop databases named strongroom_test*, so each
# test can use a fresh database.
set -euo pipefail

STATE_DIR="${STATE_DIR:-${STRONGROOM_MARIADB_STATE_DIR:-/tmp/strongroom-mariadb}}"
ENV_FILE="$STATE_DIR/mariadb.env"
DATADIR_FILE="$STATE_DIR/datadir"
PORT_FILE="$STATE_DIR/port"

MARIADBD="$(command -v mariadbd || echo /usr/sbin/mariadbd)"
INSTALL_DB="$(command -v mariadb-install-db || command -v mysql_install_db || true)"

# shellcheck source=ops/db-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/db-lib.sh"

die() {
  echo "ops/mariadb.sh: $*" >&2
  exit 1
}

datadir() { cat "$DATADIR_FILE" 2>/dev/null || true; }

admin() { mariadb --no-defaults --protocol=socket --socket="$1/mysqld.sock" -uroot "${@:2}"; }

ping_server() {
  local dir="$1"
  mariadb-admin --no-defaults --protocol=socket --socket="$dir/mysqld.sock" -uroot \
    --connect-timeout=1 ping >/dev/null 2>&1
}

# start_server DATADIR PORT: runs mariadbd in the background and waits up to 60 s.
start_server() {
  local dir="$1" port="$2"
  local user_args=()
  if [[ "$(id -u)" -eq 0 ]]; then user_args=(--user=root); fi
  # setsid + all fds redirected: the server outlives this script and holds no
  # pipe of ctest's open.
  setsid "$MARIADBD" --no-defaults "${user_args[@]}" \
    --datadir="$dir" --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" \
    --port="$port" --bind-address=127.0.0.1 --skip-name-resolve \
    --log-error="$dir/error.log" --skip-log-bin --innodb-buffer-pool-size=64M \
    --innodb-log-file-size=16M --max-connections=500 --innodb-lock-wait-timeout=10 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_bin \
    </dev/null >>"$dir/stdout.log" 2>&1 &
  for _ in $(seq 1 600); do
    if ping_server "$dir"; then return 0; fi
    if [[ -f "$dir/mysqld.pid" ]] && ! kill -0 "$(cat "$dir/mysqld.pid")" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "ops/mariadb.sh: mariadbd did not come up; last lines of $dir/error.log:" >&2
  tail -n 20 "$dir/error.log" >&2 || true
  return 1
}

kill_server() {
  local dir="$1"
  [[ -n "$dir" && -f "$dir/mysqld.pid" ]] || return 0
  local pid
  pid="$(cat "$dir/mysqld.pid" 2>/dev/null || true)"
  [[ -n "$pid" ]] || return 0
  # Only a process that is our mariadbd on this datadir.
  if [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "--datadir=$dir"; then
    stop_pid "$pid" TERM 150
  fi
  rm -f "$dir/mysqld.pid"
}

cmd_start() {
  [[ -x "$MARIADBD" ]] || die "mariadbd not found (apt-get install mariadb-server)"
  [[ -n "$INSTALL_DB" ]] || die "mariadb-install-db not found (apt-get install mariadb-server)"
  if [[ -f "$ENV_FILE" ]] && [[ -n "$(datadir)" ]] && ping_server "$(datadir)"; then
    echo "ops/mariadb.sh: already running ($ENV_FILE)"
    return 0
  fi
  cmd_stop >/dev/null 2>&1 || true
  mkdir -p "$STATE_DIR"
  chmod 700 "$STATE_DIR"
  # Short path: a unix socket path must fit in 108 bytes.
  local dir
  dir="$(mktemp -d "${TMPDIR:-/tmp}/sr-mariadb-XXXXXX")"
  chmod 700 "$dir"
  echo "$dir" >"$DATADIR_FILE"
  local user_args=()
  if [[ "$(id -u)" -eq 0 ]]; then user_args=(--user=root); fi
  if ! "$INSTALL_DB" --no-defaults "${user_args[@]}" --datadir="$dir" \
    --auth-root-authentication-method=normal --skip-test-db >"$STATE_DIR/install.log" 2>&1; then
    cat "$STATE_DIR/install.log" >&2
    die "mariadb-install-db failed"
  fi

  local port started=0
  for _ in 1 2 3 4 5; do
    port="$(free_port)" || die "no free loopback port"
    if start_server "$dir" "$port"; then
      started=1
      break
    fi
    kill_server "$dir"
  done
  [[ $started -eq 1 ]] || die "could not start mariadbd"
  echo "$port" >"$PORT_FILE"

  local password
  password="$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')"
  # root stays passwordless on the private socket only (0700 datadir); every
  # other root and anonymous account goes.
  admin "$dir" <<SQL
DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost');
FLUSH PRIVILEGES;
CREATE DATABASE IF NOT EXISTS strongroom_test CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER 'strongroom'@'127.0.0.1' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON \`strongroom\_test%\`.* TO 'strongroom'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
  umask 077
  cat >"$ENV_FILE" <<ENV
STRONGROOM_TEST_MYSQL_URL=tcp://127.0.0.1:$port
STRONGROOM_TEST_MYSQL_USER=strongroom
STRONGROOM_TEST_MYSQL_PASSWORD=$password
STRONGROOM_TEST_MYSQL_DATABASE=strongroom_test
MYSQL_ADMIN_SOCKET=$dir/mysqld.sock
ENV
  echo "ops/mariadb.sh: MariaDB on 127.0.0.1:$port (datadir $dir); env in $ENV_FILE"
}

cmd_stop() {
  local dir
  dir="$(datadir)"
  if [[ -n "$dir" ]]; then
    kill_server "$dir"
    case "$dir" in
      */sr-mariadb-*) rm -rf "$dir" ;;
    esac
  fi
  rm -f "$ENV_FILE" "$DATADIR_FILE" "$PORT_FILE" "$STATE_DIR/install.log"
  rmdir "$STATE_DIR" 2>/dev/null || true
  echo "ops/mariadb.sh: stopped"
}

cmd_status() {
  local dir
  dir="$(datadir)"
  if [[ -n "$dir" ]] && ping_server "$dir"; then
    echo "ops/mariadb.sh: running on 127.0.0.1:$(cat "$PORT_FILE") (datadir $dir)"
    return 0
  fi
  echo "ops/mariadb.sh: not running"
  return 1
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  kill-server)
    [[ -n "$(datadir)" ]] || die "not started"
    kill_server "$(datadir)"
    ;;
  start-server)
    [[ -n "$(datadir)" && -f "$PORT_FILE" ]] || die "not started"
    start_server "$(datadir)" "$(cat "$PORT_FILE")"
    ;;
  *)
    echo "usage: ops/mariadb.sh start|stop|status|kill-server|start-server" >&2
    exit 2
    ;;
esac
