#!/usr/bin/env bash
# Strongroom on a 3-node MariaDB Galera cluster (issue 15, SPEC 13): GET, PUT and
# backup-code pop through one server and through three servers (each listing a
# different node first), on loopback, bounded in time (~3 minutes).
#
#   bench/galera.sh [--duration SECONDS] [--connections N] [--threads N]
#                   [--per N] [--no-build] [--out FILE]
#
# `bench/run.sh --backend galera` runs this script. It builds Release into
# build-bench/ (or $BUILD_DIR) when needed, starts a private cluster with
# ops/galera.sh (stopped again on exit), provisions a dev SoftHSM2 token with a
# first `serve --dev`, then runs every server in config mode on the cluster with
# store.galera = true. Through three servers the load is three wrk processes of
# connections/3 each, one per server, at the same time: req/s is their sum, p99
# the worst of the three. All of it shares this machine's cores with the three
# MariaDB nodes, so the figures say what the pair costs together, not what a
# cluster on its own hosts does.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION=10 CONNECTIONS=64 THREADS=8 PER=200 BUILD=1
OUT="$ROOT/bench/results/galera-latest.md"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --per) PER="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --out) OUT="$2"; shift 2 ;;
    --backend | --quiet-wait) shift 2 ;;  # passed through by bench/run.sh
    --skip-100k) shift ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/galera.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
log() { echo "galera-bench: $*" >&2; }
command -v wrk >/dev/null || { echo "bench/galera.sh: wrk is not installed (apt-get install wrk)" >&2; exit 1; }

BUILD_DIR="${BUILD_DIR:-$ROOT/build-bench}"
if [[ $BUILD == 1 ]]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DSTRONGROOM_TESTS=OFF >/dev/null
  cmake --build "$BUILD_DIR" --target strongroom -j"$(nproc)" >/dev/null
fi
STRONGROOM="$BUILD_DIR/app/strongroom"
[[ -x "$STRONGROOM" ]] || { echo "bench/galera.sh: $STRONGROOM not built" >&2; exit 1; }
SOFTHSM_MODULE="${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/strongroom-galera-bench.XXXXXX")"
DATA="$WORK/data"
export STATE_DIR="$WORK/galera"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
  "$ROOT/ops/galera.sh" stop >/dev/null 2>&1 || true
  [[ -n "${KEEP_WORK:-}" ]] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server NAME ARGS... : starts `strongroom serve ARGS`, sets URL_<NAME>.
start_server() {
  local name="$1" out="$WORK/$1.out"
  shift
  "$STRONGROOM" serve "$@" --listen 127.0.0.1:0 --threads "$THREADS" >"$out" 2>>"$WORK/$name.log" &
  PIDS+=($!)
  for _ in $(seq 1 2000); do
    grep -q '^strongroom: listening on ' "$out" && break
    kill -0 "${PIDS[-1]}" 2>/dev/null || { cat "$WORK/$name.log" >&2; exit 1; }
    sleep 0.01
  done
  local url; url="$(sed -n 's/^strongroom: listening on \(http:\/\/[^ ]*\).*/\1/p' "$out" | head -1)"
  printf -v "URL_$name" '%s' "$url"
}
stop_servers() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
  PIDS=()
}

log "provisioning a dev token and master key"
start_server dev --dev --data-dir "$DATA"
stop_servers
log "starting a 3-node Galera cluster (ops/galera.sh)"
"$ROOT/ops/galera.sh" start >/dev/null
# shellcheck disable=SC1091
source "$STATE_DIR/galera.env"
export STRONGROOM_TEST_MYSQL_PASSWORD SOFTHSM2_CONF="$DATA/softhsm2.conf"

# config N URLS : a config file for a server whose store.url lists URLS.
config() {
  cat >"$WORK/server$1.toml" <<EOF
[server]
listen = "127.0.0.1:0"
threads = $THREADS
[store]
backend = "mysql"
url = "$2"
user = "$STRONGROOM_TEST_MYSQL_USER"
password_env = "STRONGROOM_TEST_MYSQL_PASSWORD"
database = "$STRONGROOM_TEST_MYSQL_DATABASE"
galera = true
[hsm]
module = "$SOFTHSM_MODULE"
token_label = "strongroom-dev"
pin_file = "$DATA/hsm-pin"
master_key_label = "strongroom-master"
EOF
  echo "$WORK/server$1.toml"
}
U1="$STRONGROOM_TEST_GALERA_URL_1" U2="$STRONGROOM_TEST_GALERA_URL_2" U3="$STRONGROOM_TEST_GALERA_URL_3"
C1="$(config 1 "$U1,$U2,$U3")" C2="$(config 2 "$U2,$U3,$U1")" C3="$(config 3 "$U3,$U1,$U2")"

KEYS="$WORK/keys"
: >"$KEYS"
for ident in bench0 bench1 bench2 bench3 bench4 bench5 bench6 bench7 bench8 bench9 small totp; do
  "$STRONGROOM" admin --config "$C1" identity create "$ident" >/dev/null
  key="$("$STRONGROOM" admin --config "$C1" key create --identity "$ident" \
    --scope vault:read --scope vault:write | tail -1)"
  echo "$ident $key" >>"$KEYS"
done
chmod 600 "$KEYS"
start_server s1 --config "$C1"
log "seeding through server 1"
SEED="$(python3 "$ROOT/bench/seed.py" --url "$URL_s1" --keys "$KEYS" --per "$PER")"
log "$SEED"
export BENCH_KEYS="$KEYS" BENCH_LUA_DIR="$ROOT/bench/lua" BENCH_IDENTITIES=10 BENCH_PER_IDENTITY="$PER"
BENCH_SEED=1 wrk -t2 -c16 -d2s -s "$ROOT/bench/lua/get.lua" "$URL_s1" >/dev/null 2>&1 || true

ROWS=()
# run LABEL SCRIPT URL... : one wrk per URL at the same time, connections split evenly.
run() {
  local label="$1" script="$2"
  shift 2
  local n=$# c=$(( CONNECTIONS / $# )) i=0 wpids=()
  for url in "$@"; do
    i=$((i + 1))
    BENCH_SEED="$(date +%s)$i" wrk -t2 -c"$c" -d"${DURATION}s" --latency --timeout 10s \
      -s "$ROOT/bench/lua/$script" "$url" >"$WORK/wrk.$i" 2>&1 &
    wpids+=($!)
  done
  wait "${wpids[@]}" || true
  local rps=0 p99=0 non2xx=0
  for i in $(seq 1 "$n"); do
    rps="$(awk -v s="$rps" '/^Requests\/sec:/ {s += $2} END {printf "%.0f", s}' "$WORK/wrk.$i")"
    p99="$(awk -v m="$p99" '$1 == "99%" {v = $2; u = 1; if (v ~ /us$/) u = 0.001; else if (v ~ /ms$/) u = 1; else if (v ~ /s$/) u = 1000;
      sub(/[a-z]+$/, "", v); v *= u; if (v > m) m = v} END {printf "%.1f", m}' "$WORK/wrk.$i")"
    non2xx=$(( non2xx + $(awk -F': ' '/Non-2xx or 3xx responses/ {print $2} END {print 0}' "$WORK/wrk.$i" | head -1) ))
  done
  ROWS+=("| $label | $n | $rps | $p99 | $non2xx | $(cut -d' ' -f1 /proc/loadavg) |")
  log "$label through $n server(s): $rps req/s, p99 $p99 ms, non-2xx $non2xx"
}

run "GET /v0/vault/:name" get.lua "$URL_s1"
run "PUT /v0/vault/:name (new)" put_new.lua "$URL_s1"
BENCH_BACKUP_COUNT=1000 run "POST /v0/vault/:name/totp/backup" backup.lua "$URL_s1"
start_server s2 --config "$C2"
start_server s3 --config "$C3"
run "GET /v0/vault/:name" get.lua "$URL_s1" "$URL_s2" "$URL_s3"
run "PUT /v0/vault/:name (new)" put_new.lua "$URL_s1" "$URL_s2" "$URL_s3"
BENCH_BACKUP_COUNT=1000 run "POST /v0/vault/:name/totp/backup" backup.lua "$URL_s1" "$URL_s2" "$URL_s3"
stop_servers

mkdir -p "$(dirname "$OUT")"
{
  echo "# Strongroom on a 3-node Galera cluster (bench/galera.sh)"
  echo
  echo "- Date: $(date -u +%Y-%m-%dT%H:%M:%SZ); git: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "- Machine: $(nproc) cores; the 3 MariaDB nodes, the servers and wrk share them"
  echo "- Load: wrk -t2, $CONNECTIONS connections in all, ${DURATION}s; server --threads $THREADS; store.galera = true (wsrep_sync_wait = 1)"
  echo "- Seed: $SEED"
  echo
  echo "| path | servers | req/s | p99 ms (worst) | non-2xx | load avg at end |"
  echo "|---|---:|---:|---:|---:|---:|"
  printf '%s\n' "${ROWS[@]}"
} | tee "$OUT"
