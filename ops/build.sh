#!/usr/bin/env bash
# Configures and builds Strongroom.
#   bash ops/build.sh              -> build/        (RelWithDebInfo)
#   bash ops/build.sh --sanitize   -> build-asan/   (AddressSanitizer + UndefinedBehaviorSanitizer)
# Extra arguments after the options are passed to `cmake --build` (e.g. --target strongroom).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$ROOT/build"
CMAKE_ARGS=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)

if [[ "${1:-}" == "--sanitize" ]]; then
  BUILD_DIR="$ROOT/build-asan"
  CMAKE_ARGS+=(-DSTRONGROOM_SANITIZE=ON)
  shift
fi

# One compiler cache for both build trees, inside the repo's (git-ignored) build area
# unless the caller already chose one.
export CCACHE_DIR="${CCACHE_DIR:-$ROOT/build/.ccache}"
mkdir -p "$CCACHE_DIR"

JOBS="$(nproc)"
cmake -S "$ROOT" -B "$BUILD_DIR" "${CMAKE_ARGS[@]}"
cmake --build "$BUILD_DIR" -j"$JOBS" "$@"
