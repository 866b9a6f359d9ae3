#!/usr/bin/env bash
# ctest ops_version_test: `strongroom version` (and --version) print
# "strongroom X.Y.Z (commit <short sha>)": the project's version, and a commit of this
# repository (or "unknown" when built without git).
# Usage: version_test.sh STRONGROOM_BIN SOURCE_DIR PROJECT_VERSION
set -euo pipefail
bin="$1" src="$2" version="$3"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

line="$("$bin" version)"
echo "strongroom version: $line"
[[ "$("$bin" --version)" == "$line" ]] || fail "--version differs from version"
pattern="^strongroom ${version//./\\.} \\(commit ([0-9a-f]{7,40}|unknown)\\)$"
[[ "$line" =~ $pattern ]] || fail "'$line' does not match '$pattern'"
commit="${BASH_REMATCH[1]}"
if [[ "$commit" != unknown ]] && git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  git -C "$src" cat-file -e "${commit}^{commit}" || fail "commit $commit is not in $src"
fi
rc=0
"$bin" version --bogus >/dev/null 2>&1 || rc=$?
[[ $rc -eq 2 ]] || fail "version --bogus: expected exit 2 (usage error), got $rc"
echo "PASS"
