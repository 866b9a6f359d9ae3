#!/usr/bin/env bash
# Master-key rotation benchmark (SPEC 11, issue 13): how long
# `strongroom admin master-key rotate` takes for --identities identity KEKs on
# SoftHSM2, and GET throughput while it runs against GET throughput idle.
# Targets: rotation <= 60 s for 10,000 identities; GET during >= 70% of idle.
#
#   bench/rotation.sh [--identities N] [--duration SECONDS] [--connections N]
#                     [--threads N] [--bin PATH] [--out FILE]
#
# Starts a throwaway dev-mode server (SQLite, SoftHSM2 token) in a temporary
# data dir, stores one credential, then seeds N identities straight into the
# database with KEKs wrapped under the master public key exactly as the
# server wraps them (RSA-OAEP, SHA-256, MGF1-SHA-256; python3-cryptography):
# creating 10,000 identities through the admin CLI would time the CLI, not the
# rotation. It makes the rotation key with pkcs11-tool as ops/key-ceremony.sh
# does (--key-label master-2 --no-init), measures GET idle with wrk for --duration seconds, then
# runs the rotation while wrk measures GET again for as long as the rotation
# runs, and checks the server's log for the switch. Writes a markdown table to
# --out (default bench/results/rotation.md) and stdout.
#
# The binary defaults to build/app/strongroom (RelWithDebInfo, -O2). The machine
# may be shared: run it under `nice` and read the figures as a lower bound.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/build/app/strongroom"
IDENTITIES=10000
DURATION=10
CONNECTIONS=16
THREADS=2
OUT="$ROOT/bench/results/rotation.md"
MODULE=/usr/lib/softhsm/libsofthsm2.so

while [[ $# -gt 0 ]]; do
  case "$1" in
    --identities) IDENTITIES="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --bin) BIN="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/rotation.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "bench/rotation.sh: wrk is not installed" >&2; exit 1; }
python3 -c 'import cryptography' 2>/dev/null ||
  { echo "bench/rotation.sh: python3-cryptography is not installed" >&2; exit 1; }
[[ -x "$BIN" ]] || { echo "bench/rotation.sh: no binary at $BIN (bash ops/build.sh)" >&2; exit 1; }

WORK="$(mktemp -d)"
DATA="$WORK/data"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$BIN" serve --dev --data-dir "$DATA" --listen "127.0.0.1:$PORT" --threads "$THREADS" \
  >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
KEY="$(head -n 1 "$DATA/dev-api-key")"
curl -fsS -X PUT -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"type":"API_KEY","data":{"key":"sk_bench"}}' "http://127.0.0.1:$PORT/v0/vault/bench" >/dev/null

export SOFTHSM2_CONF="$DATA/softhsm2.conf"
STRONGROOM_HSM_PIN="$(cat "$DATA/hsm-pin")"
export STRONGROOM_HSM_PIN
pkcs11-tool --module "$MODULE" --token-label strongroom-dev --read-object --type pubkey \
  --label strongroom-master -o "$WORK/master.der" >/dev/null 2>&1

echo "seeding $IDENTITIES identities ..." >&2
python3 - "$DATA/vault.db" "$WORK/master.der" "$IDENTITIES" <<'PY'
import os, sqlite3, sys, time
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
db, der, n = sys.argv[1], open(sys.argv[2], "rb").read(), int(sys.argv[3])
pub = serialization.load_der_public_key(der)  # SubjectPublicKeyInfo or PKCS#1
oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
now = int(time.time() * 1000)
rows = [("bench%05d" % i, pub.encrypt(os.urandom(32), oaep), 1, now, "strongroom-master")
        for i in range(n)]
con = sqlite3.connect(db, timeout=30)
con.executemany("INSERT INTO identities (name, wrapped_kek, kek_version, created_at,"
                " master_key_label) VALUES (?, ?, ?, ?, ?)", rows)
con.commit()
PY

# The rotation key, made as ops/key-ceremony.sh makes it (--key-label master-2
# --no-init); pkcs11-tool directly, so the benchmark does not depend on the
# ceremony's transcript and checks.
pkcs11-tool --module "$MODULE" --token-label strongroom-dev --login --pin env:STRONGROOM_HSM_PIN \
  --keypairgen --key-type rsa:3072 --label master-2 --id 0202 \
  --usage-decrypt --usage-wrap --sensitive --private >/dev/null

cat >"$WORK/get.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $KEY"
request = function() return wrk.format("GET", "/v0/vault/bench") end
LUA
rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
errors() { awk '/Non-2xx/ {print $NF}' "$1" | head -n 1; }

wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s "$WORK/get.lua" "http://127.0.0.1:$PORT" >"$WORK/idle.txt"
IDLE="$(rps "$WORK/idle.txt")"

# GET under rotation: wrk runs for at most 300 s and is stopped when the rotation ends.
wrk -t2 -c"$CONNECTIONS" -d300s -s "$WORK/get.lua" "http://127.0.0.1:$PORT" >"$WORK/during.txt" &
WRK_PID=$!
sleep 1
START="$(date +%s.%N)"
"$BIN" admin --data-dir "$DATA" master-key rotate --new-label master-2 \
  >"$WORK/rotate.out" 2>"$WORK/rotate.err" ||
  { grep -v '^rewrapped' "$WORK/rotate.err" >&2; exit 1; }
END="$(date +%s.%N)"
kill -INT "$WRK_PID" 2>/dev/null || true
wait "$WRK_PID" 2>/dev/null || true
DURING="$(rps "$WORK/during.txt")"
ROTATION_S="$(python3 -c "print(f'{$END - $START:.1f}')")"
RATIO="$(python3 -c "print(f'{100 * $DURING / $IDLE:.0f}')")"
SWITCHED=no
for _ in $(seq 1 100); do
  grep -q "master key master-2 is now active" "$WORK/server.err" && { SWITCHED=yes; break; }
  sleep 0.1
done
NON2XX="$(errors "$WORK/during.txt")"

{
  echo "## Master-key rotation ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
  echo
  echo "| identities | rotation wall time | GET idle (req/s) | GET during rotation (req/s) | during / idle | non-2xx during | server switched |"
  echo "|---:|---:|---:|---:|---:|---:|---|"
  echo "| $IDENTITIES | ${ROTATION_S} s | $IDLE | $DURING | ${RATIO}% | ${NON2XX:-0} | $SWITCHED |"
  echo
  echo "Summary line: $(tail -n 1 "$WORK/rotate.out")"
  echo "Command: bench/rotation.sh --identities $IDENTITIES --duration $DURATION --connections $CONNECTIONS --threads $THREADS"
} | tee "$OUT"
