#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang, ASan+UBSan) in build-fuzz/ and runs them.
#   bash ops/fuzz.sh [--time SECONDS] [--runs N] [--parallel N] [--no-build] [TARGET...]
# TARGET is a name from fuzz/ without "_fuzzer" (base32, otpauth, validation, config,
# api_key, http_request, mcp); default: all. Each target runs until SECONDS (default 60)
# or N executions, whichever comes first (--time 0: no time limit), --parallel at a time
# (default 2), on build-fuzz/corpus/TARGET (a working copy that starts as the committed
# seeds in fuzz/corpus/TARGET and keeps what libFuzzer adds), with fuzz/TARGET.dict when
# there is one. Logs: build-fuzz/logs/TARGET.log; a crashing input is written to
# build-fuzz/artifacts/TARGET/. Exits non-zero if any target crashed, leaked or failed.
# CI (ops/test.sh) runs every target for 60 s; long runs are by hand (fuzz/README.md).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$ROOT/build-fuzz"
ALL_TARGETS=(base32 otpauth validation config api_key http_request mcp)
TIME=60
RUNS=""
PARALLEL=2
BUILD=1
TARGETS=()

usage() {
  sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --time) TIME="${2:?}"; shift 2 ;;
    --runs) RUNS="${2:?}"; shift 2 ;;
    --parallel) PARALLEL="${2:?}"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; usage ;;
    *) TARGETS+=("$1"); shift ;;
  esac
done
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=("${ALL_TARGETS[@]}")
for target in "${TARGETS[@]}"; do
  [[ -d "$ROOT/fuzz/corpus/$target" ]] || { echo "fuzz.sh: unknown target $target" >&2; exit 2; }
done

if [[ $BUILD -eq 1 ]]; then
  command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (bash ops/install-deps.sh)" >&2; exit 1; }
  export CCACHE_DIR="${CCACHE_DIR:-$ROOT/build/.ccache}"
  mkdir -p "$CCACHE_DIR"
  # Only the libraries the fuzzers link are compiled: no tests, app or bench.
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSTRONGROOM_FUZZ=ON -DSTRONGROOM_TESTS=OFF -DSTRONGROOM_WERROR=ON >/dev/null
  build_targets=()
  for target in "${TARGETS[@]}"; do build_targets+=(--target "${target}_fuzzer"); done
  cmake --build "$BUILD_DIR" -j"$(nproc)" "${build_targets[@]}"
fi

# LeakSanitizer needs ptrace at exit, which some containers forbid; probe once (as
# ops/test.sh does for the test suite) and keep leak detection wherever it works.
detect_leaks=1
probe="$(printf '' | ASAN_OPTIONS=detect_leaks=1 "$BUILD_DIR/fuzz/${TARGETS[0]}_fuzzer" -runs=1 2>&1)" || true
if grep -q "LeakSanitizer has encountered a fatal error" <<<"$probe"; then
  detect_leaks=0
  echo "fuzz.sh: note: LeakSanitizer cannot run in this environment; detect_leaks=0"
fi

mkdir -p "$BUILD_DIR/logs"
# run TARGET: one fuzzing session; its exit status is libFuzzer's.
run() {
  local target="$1" work="$BUILD_DIR/corpus/$1" artifacts="$BUILD_DIR/artifacts/$1/"
  local args=(-max_total_time="$TIME" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1
              -detect_leaks="$detect_leaks" -artifact_prefix="$artifacts")
  [[ -n "$RUNS" ]] && args+=(-runs="$RUNS")
  [[ -f "$ROOT/fuzz/$target.dict" ]] && args+=(-dict="$ROOT/fuzz/$target.dict")
  mkdir -p "$work" "$artifacts"
  cp -n "$ROOT/fuzz/corpus/$target/"* "$work/" 2>/dev/null || true
  env ASAN_OPTIONS="detect_leaks=${detect_leaks}" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    "$BUILD_DIR/fuzz/${target}_fuzzer" "${args[@]}" "$work" >"$BUILD_DIR/logs/$target.log" 2>&1
}

# summary TARGET STATUS: one line from the log's final statistics.
summary() {
  local log="$BUILD_DIR/logs/$1.log"
  local done_line execs speed
  done_line="$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1 || true)"
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  printf '%-13s %-6s execs=%-10s exec/s=%-7s %s\n' "$1" "$2" "${execs:-?}" "${speed:-?}" \
    "$(grep -oE 'cov: [0-9]+ ft: [0-9]+' <<<"$done_line" || true)"
}

FAILED=()
pids=()
names=()
# wait_one: waits for the oldest running target and records its outcome.
wait_one() {
  local pid="${pids[0]}" name="${names[0]}"
  pids=("${pids[@]:1}")
  names=("${names[@]:1}")
  if wait "$pid"; then
    summary "$name" ok
  else
    summary "$name" FAILED
    FAILED+=("$name")
    grep -E 'ERROR: |SUMMARY: |invariant failed|Test unit written' "$BUILD_DIR/logs/$name.log" | head -5
  fi
}

for target in "${TARGETS[@]}"; do
  [[ ${#pids[@]} -lt $PARALLEL ]] || wait_one
  run "$target" &
  pids+=("$!")
  names+=("$target")
done
while [[ ${#pids[@]} -gt 0 ]]; do wait_one; done

if [[ ${#FAILED[@]} -gt 0 ]]; then
  echo "fuzz.sh: FAILED: ${FAILED[*]} (logs and crashing inputs in $BUILD_DIR)"
  exit 1
fi
echo "fuzz.sh: ${#TARGETS[@]} targets passed"
