#!/usr/bin/env bash
# Builds the Debian package strongroom_<version>_amd64.deb (SPEC 14) with CPack's DEB
# generator (cmake/Packaging.cmake; maintainer scripts and files in ops/packaging/).
#   bash ops/package.sh                   build Release (ops/build.sh --release), then package
#   bash ops/package.sh --build-dir DIR   package an already built tree as it is (no build)
# Prints the .deb's path as its last line (in the build tree's folder).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR=""

while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) [[ $# -ge 2 ]] || { echo "package: --build-dir needs a value" >&2; exit 2; }
      BUILD_DIR="$(cd "$2" && pwd)"; shift 2 ;;
    -h | --help) sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "package: unknown argument: $1" >&2; exit 2 ;;
  esac
done

for tool in cpack dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || {
    echo "package: $tool not found (bash ops/install-deps.sh installs it)" >&2
    exit 1
  }
done

if [[ -z "$BUILD_DIR" ]]; then
  BUILD_DIR="$ROOT/build-release"
  bash "$ROOT/ops/build.sh" --release >&2
fi
[[ -f "$BUILD_DIR/CPackConfig.cmake" ]] || {
  echo "package: $BUILD_DIR is not a configured Strongroom build tree" >&2
  exit 1
}

# The Debian changelog's newest entry must be this version (Debian policy; lintian).
version="$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$BUILD_DIR/CPackConfig.cmake")"
changelog_version="$(sed -n '1s/^strongroom (\([^)]*\)).*/\1/p' "$ROOT/ops/packaging/changelog")"
if [[ "$version" != "$changelog_version" ]]; then
  echo "package: ops/packaging/changelog's newest entry is $changelog_version, the project is" \
    "$version: add a changelog entry" >&2
  exit 1
fi

# The generated docs (gzip'ed changelog and man page) are part of the ALL target.
cmake --build "$BUILD_DIR" --target strongroom strongroom_package_docs >&2
rm -f "$BUILD_DIR/strongroom_${version}_amd64.deb"
(cd "$BUILD_DIR" && cpack --config CPackConfig.cmake -G DEB >&2)
deb="$BUILD_DIR/strongroom_${version}_amd64.deb"
[[ -f "$deb" ]] || { echo "package: cpack did not produce $deb" >&2; exit 1; }
echo "$deb"
