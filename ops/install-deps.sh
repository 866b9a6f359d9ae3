#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and running Strongroom
# need. Does nothing (and needs no network) when all of them are installed
# already; otherwise runs `apt-get update` once and installs what is missing.
# Works as root, or through sudo when run as another user.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake pkg-config ccache clang-format
  # libFuzzer targets (fuzz/, ops/fuzz.sh): clang with its sanitizer and fuzzer runtimes,
  # llvm for llvm-symbolizer (readable crash stacks)
  clang libclang-rt-14-dev llvm
  # Debian package (ops/package.sh): dpkg-shlibdeps computes its dependencies; lintian checks it
  dpkg-dev lintian
  # libraries (SPEC 1)
  libpistache-dev libssl-dev libp11-dev libp11-kit-dev libmysqlcppconn-dev libsqlite3-dev
  nlohmann-json3-dev liboath-dev libcli11-dev libtomlplusplus-dev libspdlog-dev
  # metrics (SPEC 14): prometheus-cpp-core's Registry and TextSerializer
  prometheus-cpp-dev
  # HSM: SoftHSM2 for dev and tests; opensc's pkcs11-tool and openssl for key ceremonies
  softhsm2 opensc openssl
  # databases and their clients; Galera (ops/galera.sh: provider, rsync state transfer)
  mariadb-server mariadb-client sqlite3 galera-4 rsync
  # tests
  libgtest-dev libgmock-dev googletest libcurl4-openssl-dev curl oathtool nodejs npm wrk
  # tests of the Prometheus/Grafana sample files (tests/ops)
  python3-yaml
)

# A package also counts as present when the command it provides is already on
# PATH from elsewhere: NodeSource's nodejs bundles npm and conflicts with
# Debian's npm package, so asking apt for npm there would fail.
provided_command() {
  case "$1" in
    nodejs) echo node ;;
    npm) echo npm ;;
    *) echo "" ;;
  esac
}

missing=()
for package in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)"
  if [[ "$status" == "install ok installed" ]]; then
    continue
  fi
  command_name="$(provided_command "$package")"
  if [[ -n "$command_name" ]] && command -v "$command_name" >/dev/null 2>&1; then
    continue
  fi
  missing+=("$package")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} packages are installed"
  exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-deps: missing packages (${missing[*]}) and not root, and sudo is not available" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "${missing[@]}"
