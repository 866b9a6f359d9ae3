# Shared by ops/mariadb.sh and ops/galera.sh (sourced, not run): loopback
# ports and stopping a server by pid.

# Ports handed out by pick_port in this run, so that two calls never return
# the same one before a server binds it.
USED_PORTS=" "
PORT=""

# Sets PORT to a TCP port on 127.0.0.1 that nothing listens on now and that
# this run has not handed out yet. Call it directly, not in $(...): a subshell
# would forget USED_PORTS.
pick_port() {
  local port
  for _ in $(seq 1 100); do
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null ||
      echo $((20000 + RANDOM % 40000)))"
    if [[ "$USED_PORTS" != *" $port "* ]] && ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      USED_PORTS+="$port "
      PORT="$port"
      return 0
    fi
  done
  return 1
}

# Prints a free port (see pick_port).
free_port() { pick_port && echo "$PORT"; }

# stop_pid PID SIGNAL TENTHS: sends SIGNAL, waits up to TENTHS/10 s for the
# process to exit, then SIGKILL and waits up to 5 s more.
stop_pid() {
  local pid="$1" signal="$2" tenths="$3"
  kill "-$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 1 "$tenths"); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
}
