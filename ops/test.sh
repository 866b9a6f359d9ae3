#!/usr/bin/env bash
# From nothing to every test: installs what is missing, builds, runs the test
# suite, then builds and runs it again under AddressSanitizer + UndefinedBehaviorSanitizer;
# also runs every libFuzzer target for 60 s.
# Exits non-zero if any step failed (all steps run regardless, then a summary).
# Tests create their own SoftHSM2 tokens and servers in temporary folders on loopback.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
JOBS="$(nproc)"
FAILED=()
START=$SECONDS

# step NAME COMMAND...: runs COMMAND, records a failure under NAME.
step() {
  local name="$1"
  shift
  echo "=== ${name}"
  if "$@"; then
    echo "=== ${name}: ok ($((SECONDS - START))s elapsed)"
  else
    echo "=== ${name}: FAILED ($((SECONDS - START))s elapsed)"
    FAILED+=("$name")
    return 1
  fi
}

# MySQL/MariaDB tests run inside both ctest steps below: CTest fixture "mariadb"
# (tests/mysql/CMakeLists.txt) starts a throwaway MariaDB with ops/mariadb.sh on
# loopback in a temporary folder and stops it after the last MySQL test, failed
# or not. This trap only covers an interrupted run.
# shellcheck disable=SC2317  # invoked by the EXIT trap
stop_mariadb() {
  local dir
  for dir in build build-asan; do
    STATE_DIR="$ROOT/$dir/mariadb-state" bash "$ROOT/ops/mariadb.sh" stop >/dev/null 2>&1 || true
    STATE_DIR="$ROOT/$dir/galera-state" bash "$ROOT/ops/galera.sh" stop >/dev/null 2>&1 || true
  done
}
trap stop_mariadb EXIT

step "install dependencies" bash ops/install-deps.sh || true

# The MCP conformance tests (ctest "mcp_sdk_test") drive the server with the
# official MCP TypeScript SDK client, pinned by tests/mcp/package-lock.json.
if [[ -f tests/mcp/package-lock.json ]]; then
  step "npm ci (MCP SDK client)" env -C tests/mcp npm ci --no-audit --no-fund || true
fi

# 1. Plain build and tests (MySQL and MCP ones included).
if step "build" bash ops/build.sh; then
  step "tests" ctest --test-dir build --output-on-failure -j"$JOBS" || true
fi

# 2. What a packager builds: Release (-O3), no tests, still with warnings as errors here,
#    so an optimiser-only warning (GCC 12's -Wrestrict, say) is caught before a consumer,
#    whose build has no -Werror, ever sees it.
step "build (Release)" bash ops/build.sh --release || true

# 2b. Every libFuzzer target (fuzz/) for 60 s, two at a time, on a copy of its committed
#     seed corpus; any crash, leak, sanitizer report or failed invariant fails the step.
#     Built with clang in build-fuzz/ from only the libraries the fuzzers link.
#     Long runs are by hand: bash ops/fuzz.sh --time 0 --runs 10000000 (fuzz/README.md).
step "fuzz (60 s each)" bash ops/fuzz.sh --time 60 --parallel 2 || true

# 3. The same tests under ASan + UBSan, less the "ops" label (packaging the
#    sanitizer build and installing it with dpkg checks nothing the plain pass
#    did not, and costs CI minutes).
if step "build (ASan+UBSan)" bash ops/build.sh --sanitize; then
  # LeakSanitizer stops the process with ptrace at exit, which some containers
  # forbid (seccomp, no CAP_SYS_PTRACE); it then aborts every process with a
  # "LeakSanitizer has encountered a fatal error". Probe once with a real
  # binary and keep leak detection on wherever it can work.
  detect_leaks=1
  probe="$(ASAN_OPTIONS=detect_leaks=1 build-asan/app/strongroom --version 2>&1)" || detect_leaks=0
  if grep -q "LeakSanitizer" <<<"$probe"; then detect_leaks=0; fi
  if [[ $detect_leaks -eq 0 ]]; then
    echo "=== note: LeakSanitizer cannot run in this environment; running with detect_leaks=0"
  fi
  step "tests (ASan+UBSan, detect_leaks=${detect_leaks})" \
    env ASAN_OPTIONS="detect_leaks=${detect_leaks}" \
    LSAN_OPTIONS="suppressions=${ROOT}/ops/lsan-suppressions.txt" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    ctest --test-dir build-asan --output-on-failure -j"$JOBS" -LE '^ops$' || true
fi

echo
if [[ ${#FAILED[@]} -eq 0 ]]; then
  echo "ops/test.sh: all steps passed in $((SECONDS - START))s"
  exit 0
fi
echo "ops/test.sh: FAILED steps: ${FAILED[*]} ($((SECONDS - START))s)"
exit 1
