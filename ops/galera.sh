#!/usr/bin/env bash
# A private, throwaway 3-node MariaDB Galera cluster on loopback (SPEC 13), for
# the Galera tests and for trying Strongroom on a cluster. No systemd, no
# /etc/mysql: every node has its own datadir and option file in a temporary
# folder, its own free ports (SQL, Galera replication "gcomm", IST, SST), and
# runs as the current user. State transfer is rsync (wsrep_sst_rsync).
#
#   ops/galera.sh start          initialise and start 3 nodes (node 1 with
#                                --wsrep-new-cluster, then the joiners), wait
#                                until all are Synced in a cluster of 3, create
#                                the test user; write the env file, print URLs
#   ops/galera.sh stop           stop every node (by pid), remove all state
#   ops/galera.sh status         exit 0 if all 3 nodes are Synced in a cluster of 3
#   ops/galera.sh urls           print the comma-separated URL list
#   ops/galera.sh kill-node N    kill -9 node N (1..3): a crash; its datadir stays
#   ops/galera.sh start-node N   start node N again: it rejoins (state transfer)
#                                and the command waits until it is Synced
#   ops/galera.sh wait-synced    wait until the cluster is back to 3 Synced nodes
#
# STATE_DIR (default: $STRONGROOM_GALERA_STATE_DIR, else /tmp/strongroom-galera)
# holds galera.env, which tests read:
#   STRONGROOM_TEST_GALERA_URLS=tcp://127.0.0.1:P1,tcp://127.0.0.1:P2,tcp://127.0.0.1:P3
#   STRONGROOM_TEST_GALERA_URL_1..3=tcp://127.0.0.1:Pn
#   STRONGROOM_TEST_MYSQL_USER / _PASSWORD / _DATABASE (as ops/mariadb.sh)
#   GALERA_ADMIN_SOCKET_1..3=<node dir>/mysqld.sock   (root, no password, socket only)
# The replication settings are tuned for a test on one machine (fast failure
# detection, small caches, relaxed redo-log flushing): not a production config.
set -euo pipefail

STATE_DIR="${STATE_DIR:-${STRONGROOM_GALERA_STATE_DIR:-/tmp/strongroom-galera}}"
ENV_FILE="$STATE_DIR/galera.env"
BASE_FILE="$STATE_DIR/base"
NODES=3

MARIADBD="$(command -v mariadbd || echo /usr/sbin/mariadbd)"
INSTALL_DB="$(command -v mariadb-install-db || command -v mysql_install_db || true)"
PROVIDER="${GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}"
# As root the nodes run as "mysql" (the package's user): the rsync daemon of a
# state transfer started by root would drop to "nobody" and could not write
# the joiner's datadir.
RUN_USER=""
if [[ "$(id -u)" -eq 0 ]]; then
  if id mysql >/dev/null 2>&1; then RUN_USER=mysql; else RUN_USER=root; fi
fi

# shellcheck source=ops/db-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/db-lib.sh"

die() {
  echo "ops/galera.sh: $*" >&2
  exit 1
}

base() { cat "$BASE_FILE" 2>/dev/null || true; }
node_dir() { echo "$(base)/node$1"; }
port_of() { sed -n "s/^$2=//p" "$(node_dir "$1")/ports"; }

admin() {
  local n="$1"
  shift
  mariadb --no-defaults --protocol=socket --socket="$(node_dir "$n")/mysqld.sock" -uroot \
    --connect-timeout=2 "$@"
}

# status_of N VARIABLE: a wsrep status value of node N ("" if it does not answer).
status_of() {
  admin "$1" -N -B -e "SHOW GLOBAL STATUS LIKE '$2'" 2>/dev/null | cut -f2 || true
}

synced() {
  [[ "$(status_of "$1" wsrep_local_state_comment)" == "Synced" &&
    "$(status_of "$1" wsrep_cluster_size)" == "$NODES" &&
    "$(status_of "$1" wsrep_ready)" == "ON" ]]
}

pid_of() { cat "$(node_dir "$1")/mysqld.pid" 2>/dev/null || true; }

# Our mariadbd on node N's datadir, if it runs: its pid.
live_pid() {
  local pid
  pid="$(pid_of "$1")"
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "--defaults-file=$(node_dir "$1")/my.cnf" || return 1
  echo "$pid"
}

write_config() {
  local n="$1" dir cluster="" i
  dir="$(node_dir "$n")"
  for i in $(seq 1 $NODES); do
    cluster+="${cluster:+,}127.0.0.1:$(port_of "$i" gcomm)"
  done
  local user_line=""
  if [[ -n "$RUN_USER" ]]; then user_line="user = $RUN_USER"; fi
  cat >"$dir/my.cnf" <<CNF
[mysqld]
$user_line
datadir = $dir/data
socket = $dir/mysqld.sock
pid-file = $dir/mysqld.pid
port = $(port_of "$n" sql)
bind-address = 127.0.0.1
skip-name-resolve
log-error = $dir/error.log
skip-log-bin
character-set-server = utf8mb4
collation-server = utf8mb4_bin
default-storage-engine = InnoDB
innodb-autoinc-lock-mode = 2
innodb-buffer-pool-size = 32M
innodb-log-file-size = 16M
innodb-flush-log-at-trx-commit = 2
max-connections = 300
binlog-format = ROW
wsrep-on = ON
wsrep-provider = $PROVIDER
wsrep-cluster-name = strongroom_test
wsrep-node-name = node$n
wsrep-node-address = 127.0.0.1:$(port_of "$n" gcomm)
wsrep-cluster-address = gcomm://$cluster
wsrep-provider-options = "gmcast.listen_addr=tcp://127.0.0.1:$(port_of "$n" gcomm);ist.recv_addr=127.0.0.1:$(port_of "$n" ist);gcache.size=32M;evs.keepalive_period=PT0.3S;evs.inactive_check_period=PT0.5S;evs.suspect_timeout=PT1.5S;evs.inactive_timeout=PT3S;evs.install_timeout=PT3S;pc.wait_prim_timeout=PT30S"
wsrep-sst-method = rsync
wsrep-sst-receive-address = 127.0.0.1:$(port_of "$n" sst)
wsrep-slave-threads = 2
CNF
}

# start_node N [--wsrep-new-cluster]: runs mariadbd and waits until the node is
# ready (joiners: after their state transfer).
start_node() {
  local n="$1" dir
  shift
  dir="$(node_dir "$n")"
  if live_pid "$n" >/dev/null; then return 0; fi
  rm -f "$dir/mysqld.pid"
  # setsid + all fds redirected: the server outlives this script and holds no
  # pipe of ctest's open.
  setsid "$MARIADBD" --defaults-file="$dir/my.cnf" "$@" </dev/null >>"$dir/stdout.log" 2>&1 &
  for _ in $(seq 1 1200); do
    if [[ "$(status_of "$n" wsrep_ready)" == "ON" &&
      "$(status_of "$n" wsrep_local_state_comment)" == "Synced" ]]; then
      return 0
    fi
    if [[ -f "$dir/mysqld.pid" ]] && ! live_pid "$n" >/dev/null; then break; fi
    sleep 0.1
  done
  echo "ops/galera.sh: node $n did not come up; last lines of $dir/error.log:" >&2
  tail -n 30 "$dir/error.log" >&2 || true
  return 1
}

kill_node() {
  local n="$1" signal="$2" pid
  pid="$(live_pid "$n")" || return 0
  stop_pid "$pid" "$signal" 300
  # A crashed SST may leave its rsync daemon behind.
  local rsync_pid
  for rsync_pid in $(pgrep -f "rsync --daemon.*$(node_dir "$n")/" 2>/dev/null || true); do
    kill -KILL "$rsync_pid" 2>/dev/null || true
  done
}

wait_synced() {
  local n all
  for _ in $(seq 1 1200); do
    all=1
    for n in $(seq 1 $NODES); do synced "$n" || all=0; done
    [[ $all -eq 1 ]] && return 0
    sleep 0.1
  done
  die "the cluster did not return to $NODES Synced nodes"
}

urls() {
  local n out=""
  for n in $(seq 1 $NODES); do out+="${out:+,}tcp://127.0.0.1:$(port_of "$n" sql)"; done
  echo "$out"
}

cmd_start() {
  [[ -x "$MARIADBD" ]] || die "mariadbd not found (apt-get install mariadb-server)"
  [[ -n "$INSTALL_DB" ]] || die "mariadb-install-db not found (apt-get install mariadb-server)"
  [[ -f "$PROVIDER" ]] || die "$PROVIDER not found (apt-get install galera-4)"
  command -v rsync >/dev/null || die "rsync not found (apt-get install rsync)"
  if [[ -f "$ENV_FILE" ]] && cmd_status >/dev/null 2>&1; then
    echo "ops/galera.sh: already running ($ENV_FILE)"
    urls
    return 0
  fi
  cmd_stop >/dev/null 2>&1 || true
  mkdir -p "$STATE_DIR"
  chmod 700 "$STATE_DIR"
  # Short path: a unix socket path must fit in 108 bytes.
  local root n
  root="$(mktemp -d "${TMPDIR:-/tmp}/sr-galera-XXXXXX")"
  chmod 700 "$root"
  echo "$root" >"$BASE_FILE"
  for n in $(seq 1 $NODES); do
    mkdir -p "$root/node$n/data"
    local kind
    for kind in sql gcomm ist sst; do
      pick_port || die "no free loopback port"
      echo "$kind=$PORT" >>"$root/node$n/ports"
    done
  done
  for n in $(seq 1 $NODES); do write_config "$n"; done
  # Only the first node is initialised; joiners receive its data by SST.
  local user_args=()
  if [[ -n "$RUN_USER" ]]; then
    user_args=(--user="$RUN_USER")
    chown -R "$RUN_USER" "$root"
  fi
  if ! "$INSTALL_DB" --no-defaults "${user_args[@]}" --datadir="$root/node1/data" \
    --auth-root-authentication-method=normal --skip-test-db >"$STATE_DIR/install.log" 2>&1; then
    cat "$STATE_DIR/install.log" >&2
    die "mariadb-install-db failed"
  fi
  start_node 1 --wsrep-new-cluster || die "could not bootstrap node 1"

  local password
  password="$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')"
  # Replicated to the joiners by their SST. root stays passwordless on each
  # node's private socket only (0700 folder).
  admin 1 <<SQL
DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost');
FLUSH PRIVILEGES;
CREATE DATABASE IF NOT EXISTS strongroom_test CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER 'strongroom'@'127.0.0.1' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON \`strongroom\_test%\`.* TO 'strongroom'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
  for n in $(seq 2 $NODES); do
    start_node "$n" || die "node $n could not join"
  done
  wait_synced

  umask 077
  {
    echo "STRONGROOM_TEST_GALERA_URLS=$(urls)"
    for n in $(seq 1 $NODES); do
      echo "STRONGROOM_TEST_GALERA_URL_$n=tcp://127.0.0.1:$(port_of "$n" sql)"
    done
    echo "STRONGROOM_TEST_MYSQL_USER=strongroom"
    echo "STRONGROOM_TEST_MYSQL_PASSWORD=$password"
    echo "STRONGROOM_TEST_MYSQL_DATABASE=strongroom_test"
    for n in $(seq 1 $NODES); do
      echo "GALERA_ADMIN_SOCKET_$n=$root/node$n/mysqld.sock"
    done
  } >"$ENV_FILE"
  echo "ops/galera.sh: $NODES-node Galera cluster Synced (folder $root); env in $ENV_FILE"
  urls
}

cmd_stop() {
  local root n
  root="$(base)"
  if [[ -n "$root" ]]; then
    # Joiners first, the bootstrap node last.
    for n in $(seq $NODES -1 1); do kill_node "$n" TERM; done
    case "$root" in
      */sr-galera-*) rm -rf "$root" ;;
    esac
  fi
  rm -f "$ENV_FILE" "$BASE_FILE" "$STATE_DIR/install.log"
  rmdir "$STATE_DIR" 2>/dev/null || true
  echo "ops/galera.sh: stopped"
}

cmd_status() {
  [[ -n "$(base)" ]] || {
    echo "ops/galera.sh: not running"
    return 1
  }
  local n ok=0
  for n in $(seq 1 $NODES); do
    echo "node $n: 127.0.0.1:$(port_of "$n" sql) state=$(status_of "$n" wsrep_local_state_comment)" \
      "cluster_size=$(status_of "$n" wsrep_cluster_size)"
    synced "$n" || ok=1
  done
  return $ok
}

node_arg() {
  [[ -n "$(base)" ]] || die "not started"
  [[ "${1:-}" =~ ^[1-9]$ && "$1" -le $NODES ]] || die "node must be 1..$NODES"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  urls)
    [[ -n "$(base)" ]] || die "not started"
    urls
    ;;
  kill-node)
    node_arg "${2:-}"
    kill_node "$2" KILL
    echo "ops/galera.sh: node $2 killed"
    ;;
  start-node)
    node_arg "${2:-}"
    start_node "$2" || die "node $2 could not rejoin"
    echo "ops/galera.sh: node $2 rejoined"
    ;;
  wait-synced)
    [[ -n "$(base)" ]] || die "not started"
    wait_synced
    ;;
  *)
    echo "usage: ops/galera.sh start|stop|status|urls|kill-node N|start-node N|wait-synced" >&2
    exit 2
    ;;
esac
