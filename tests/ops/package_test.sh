#!/usr/bin/env bash
# ctest ops_package_test (SPEC 14): builds strongroom_<version>_amd64.deb from this build
# tree with ops/package.sh, checks its contents, control data, unit hardening and lintian,
# then installs, starts (after a key ceremony, as the strongroom user), removes and purges
# it ON THIS MACHINE, checking that only what README.Debian documents is left.
#
# It runs as root and changes the system, so it is careful: it skips (77) unless root,
# skips if any trace of a strongroom installation exists (package, user, group,
# /etc/strongroom, /var/lib/strongroom), and an EXIT trap removes everything it made,
# failed or not. Usage: package_test.sh SOURCE_DIR BUILD_DIR PROJECT_VERSION
set -euo pipefail
src="$1" build="$2" version="$3"

if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: needs root (dpkg -i)"
  exit 77
fi
if dpkg-query -W -f='${Status}' strongroom 2>/dev/null | grep -qv not-installed ||
  getent passwd strongroom >/dev/null || getent group strongroom >/dev/null ||
  [[ -e /etc/strongroom || -e /var/lib/strongroom ]]; then
  echo "SKIP: a strongroom installation (package, user or files) exists here; not touching it"
  exit 77
fi

work="$(mktemp -d /tmp/strongroom-package-test.XXXXXX)"
chmod 0755 "$work"
server_pid=""
wants=/etc/systemd/system/multi-user.target.wants
made_wants=0
[[ -d "$wants" ]] || made_wants=1

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  set +e
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  if dpkg-query -W -f='${Status}' strongroom 2>/dev/null | grep -qv not-installed; then
    STRONGROOM_PURGE_DATA=yes dpkg_retry --purge strongroom >/dev/null 2>&1
  fi
  # Nothing of this existed before the test (checked above).
  dpkg-statoverride --remove /etc/strongroom/strongroom.toml >/dev/null 2>&1
  rm -rf /etc/strongroom /var/lib/strongroom "$wants/strongroom.service"
  if [[ $made_wants -eq 1 ]]; then rmdir "$wants" 2>/dev/null; fi
  getent passwd strongroom >/dev/null && userdel strongroom
  getent group strongroom >/dev/null && groupdel strongroom
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "=== $* ($SECONDS s)"; }

# dpkg ARGS...: dpkg, waiting (up to 3 minutes) while apt or dpkg elsewhere holds its lock.
dpkg_retry() {
  local out rc
  for _ in $(seq 90); do
    rc=0
    out="$(dpkg "$@" 2>&1)" || rc=$?
    if [[ $rc -ne 0 ]] && grep -qi 'lock' <<<"$out"; then
      sleep 2
      continue
    fi
    printf '%s\n' "$out"
    return $rc
  done
  printf '%s\n' "$out"
  return 1
}

# expect_gone PATH...: fails naming the first PATH that exists.
expect_gone() {
  local path
  for path in "$@"; do
    [[ ! -e "$path" && ! -L "$path" ]] || fail "$path is left behind"
  done
}

expect_mode() {  # PATH MODE OWNER:GROUP
  local got
  got="$(stat -c '%a %U:%G' "$1")"
  [[ "$got" == "$2 $3" ]] || fail "$1 is '$got', expected '$2 $3'"
}

step "package"
deb="$(bash "$src/ops/package.sh" --build-dir "$build" 2>"$work/package.log" | tail -n 1)" ||
  { cat "$work/package.log" >&2; fail "ops/package.sh failed"; }
[[ "$deb" == */strongroom_${version}_amd64.deb && -f "$deb" ]] || fail "no package: '$deb'"
echo "$deb"

step "dpkg-deb -c"
dpkg-deb -c "$deb" | tee "$work/contents" | awk '{print $1, $2, $6}'
listing() { awk -v p="./$1" '$6 == p {print $1, $2}' "$work/contents"; }
[[ "$(listing usr/bin/strongroom)" == "-rwxr-xr-x root/root" ]] || fail "usr/bin/strongroom"
[[ "$(listing etc/strongroom/strongroom.toml)" == "-rw-r----- root/root" ]] ||
  fail "etc/strongroom/strongroom.toml must be 0640 (group set by postinst)"
for file in etc/strongroom/softhsm2.conf lib/systemd/system/strongroom.service \
  usr/share/doc/strongroom/copyright usr/share/doc/strongroom/changelog.gz \
  usr/share/doc/strongroom/README.Debian usr/share/man/man1/strongroom.1.gz \
  usr/share/lintian/overrides/strongroom usr/share/doc/strongroom/examples/prometheus.yml \
  usr/share/doc/strongroom/examples/strongroom-alerts.yml \
  usr/share/doc/strongroom/examples/strongroom-dashboard.json; do
  [[ "$(listing "$file")" == "-rw-r--r-- root/root" ]] || fail "$file missing or wrong mode"
done
[[ "$(listing usr/share/strongroom/key-ceremony.sh)" == "-rwxr-xr-x root/root" ]] ||
  fail "usr/share/strongroom/key-ceremony.sh"
# Nothing outside the package's own places (the state directory is made by postinst).
stray="$(awk '{print $6}' "$work/contents" | grep -Ev \
  '^\./($|etc/($|strongroom/)|lib/($|systemd/($|system/))|usr/($|bin/|share/($|doc/|man/|lintian/|strongroom/)))' || true)"
[[ -z "$stray" ]] || fail "unexpected paths in the package: $stray"
cmp <(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/strongroom/key-ceremony.sh) \
  "$src/ops/key-ceremony.sh" || fail "the packaged ceremony script differs from ops/"

step "dpkg-deb -I"
dpkg-deb -I "$deb"
field() { dpkg-deb -f "$deb" "$1"; }
[[ "$(field Package)" == strongroom && "$(field Version)" == "$version" &&
  "$(field Architecture)" == amd64 ]] || fail "Package/Version/Architecture"
for dep in adduser libc6 libssl3 libsqlite3-0 libpistache libmysqlcppconn liboath libspdlog; do
  field Depends | grep -q "$dep" || fail "Depends lacks $dep: $(field Depends)"
done
[[ "$(field Recommends)" == "softhsm2, opensc, openssl" ]] || fail "Recommends: $(field Recommends)"
mkdir "$work/control"
dpkg-deb -e "$deb" "$work/control"
diff <(sort "$work/control/conffiles") \
  <(printf '%s\n' /etc/strongroom/softhsm2.conf /etc/strongroom/strongroom.toml) ||
  fail "conffiles"
for script in postinst prerm postrm; do
  [[ -x "$work/control/$script" ]] || fail "$script missing or not executable"
  sh -n "$work/control/$script" || fail "$script: syntax error"
done

step "unit hardening"
unit="$work/strongroom.service"
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./lib/systemd/system/strongroom.service >"$unit"
for line in User=strongroom Group=strongroom NoNewPrivileges=yes ProtectSystem=strict \
  ReadWritePaths=/var/lib/strongroom PrivateTmp=yes ProtectHome=yes CapabilityBoundingSet= \
  LimitMEMLOCK=64M LimitNOFILE=65536 MemoryDenyWriteExecute=yes \
  SystemCallFilter=@system-service ProtectKernelTunables=yes LockPersonality=yes \
  'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
  EnvironmentFile=-/etc/strongroom/strongroom.env \
  'ExecStart=/usr/bin/strongroom serve --config /etc/strongroom/strongroom.toml'; do
  grep -qxF "$line" "$unit" || fail "unit lacks '$line'"
done

step "lintian"
lintian_rc=0
lintian --display-info "$deb" >"$work/lintian" 2>&1 || lintian_rc=$?
cat "$work/lintian"
if grep -q '^E: ' "$work/lintian"; then fail "lintian reports errors"; fi
[[ $lintian_rc -eq 0 || $lintian_rc -eq 2 ]] || fail "lintian failed to run (exit $lintian_rc)"

step "dpkg -i"
mkdir -p "$wants"  # a unit the admin enabled: purge must remove the link
ln -s /lib/systemd/system/strongroom.service "$wants/strongroom.service"
dpkg_retry -i "$deb"
getent passwd strongroom | grep -q ':/var/lib/strongroom:/usr/sbin/nologin$' ||
  fail "strongroom user: $(getent passwd strongroom)"
[[ "$(id -u strongroom)" -lt 1000 ]] || fail "strongroom is not a system user"
expect_mode /var/lib/strongroom 700 strongroom:strongroom
expect_mode /etc/strongroom/strongroom.toml 640 root:strongroom
pattern="^strongroom ${version//./\\.} \\(commit ([0-9a-f]{7,40}|unknown)\\)$"
[[ "$(/usr/bin/strongroom version)" =~ $pattern ]] ||
  fail "installed strongroom version: $(/usr/bin/strongroom version)"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify /lib/systemd/system/strongroom.service || fail "systemd-analyze verify"
fi

# as_strongroom CMD...: runs CMD as the unit does: user strongroom, no new privileges, the
# environment file and SoftHSM2's configuration. A script that execs, so that `$!` of a
# background call is the server's own pid.
cat >"$work/as-strongroom" <<'SCRIPT'
#!/usr/bin/env bash
set -euo pipefail
cd /
set -a
. /etc/strongroom/strongroom.env
set +a
export SOFTHSM2_CONF=/etc/strongroom/softhsm2.conf
exec setpriv --reuid strongroom --regid strongroom --init-groups --no-new-privs "$@"
SCRIPT
as_strongroom() { bash "$work/as-strongroom" "$@"; }

# start_and_check: the installed binary serves from the packaged config; /healthz is 200.
start_and_check() {
  : >"$work/serve.out"
  bash "$work/as-strongroom" /usr/bin/strongroom serve \
    --config /etc/strongroom/strongroom.toml --listen 127.0.0.1:0 \
    >"$work/serve.out" 2>"$work/serve.err" &
  server_pid=$!
  local url="" _
  for _ in $(seq 300); do
    url="$(sed -n 's/^strongroom: listening on \(http:[^ ]*\)$/\1/p' "$work/serve.out")"
    [[ -n "$url" ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.err" >&2; fail "server exited"; }
    sleep 0.1
  done
  [[ -n "$url" ]] || { cat "$work/serve.err" >&2; fail "server did not listen"; }
  [[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz")" == 200 ]] ||
    fail "$url/healthz is not 200"
  kill -TERM "$server_pid"
  wait "$server_pid" || fail "server exited $? on SIGTERM"
  server_pid=""
  echo "served $url/healthz: 200"
}

step "key ceremony and start, as strongroom"
install -m 0600 /dev/null /etc/strongroom/strongroom.env
printf 'STRONGROOM_HSM_PIN=%s\nSTRONGROOM_HSM_SO_PIN=%s\n' "pkg-test-$RANDOM$RANDOM" \
  "pkg-so-$RANDOM$RANDOM" >/etc/strongroom/strongroom.env
as_strongroom /usr/share/strongroom/key-ceremony.sh
start_and_check
expect_mode /var/lib/strongroom/vault.db 600 strongroom:strongroom

step "upgrade to a repacked newer version: admin's config change and modes kept, restart"
dpkg-deb -R "$deb" "$work/next"
sed -i "s/^Version: .*/Version: ${version}+next1/" "$work/next/DEBIAN/control"
dpkg-deb --root-owner-group -b "$work/next" "$work/next.deb" >/dev/null
sed -i 's/^threads = 2$/threads = 3/' /etc/strongroom/strongroom.toml
dpkg_retry -i "$work/next.deb"
[[ "$(dpkg-query -W -f='${Version}' strongroom)" == "${version}+next1" ]] || fail "upgrade"
grep -qx 'threads = 3' /etc/strongroom/strongroom.toml || fail "upgrade lost the admin's change"
expect_mode /etc/strongroom/strongroom.toml 640 root:strongroom
expect_mode /var/lib/strongroom 700 strongroom:strongroom
start_and_check

step "dpkg -r: configuration, state and user stay"
dpkg_retry -r strongroom
[[ "$(dpkg-query -W -f='${Status}' strongroom)" == "deinstall ok config-files" ]] ||
  fail "status after remove"
expect_gone /usr/bin/strongroom /lib/systemd/system/strongroom.service /usr/share/strongroom
[[ -f /etc/strongroom/strongroom.toml && -f /var/lib/strongroom/vault.db ]] ||
  fail "remove must keep the configuration and the state"
getent passwd strongroom >/dev/null || fail "remove must keep the user"

step "dpkg -P: the vault (state, PIN file, user) is kept, the rest goes"
dpkg_retry -P strongroom | tee "$work/purge.out"
grep -q "kept /var/lib/strongroom" "$work/purge.out" || fail "purge does not say what it kept"
expect_gone /etc/strongroom/strongroom.toml /etc/strongroom/softhsm2.conf "$wants/strongroom.service"
! dpkg-statoverride --list /etc/strongroom/strongroom.toml >/dev/null || fail "stat override left"
[[ -f /var/lib/strongroom/vault.db && -d /var/lib/strongroom/tokens &&
  -f /etc/strongroom/strongroom.env ]] || fail "purge must keep the vault and its PIN file"
[[ "$(ls -A /etc/strongroom)" == strongroom.env ]] || fail "/etc/strongroom: $(ls -A /etc/strongroom)"
getent passwd strongroom >/dev/null || fail "purge must keep the user of a kept vault"

step "reinstall over the kept vault, start, purge with STRONGROOM_PURGE_DATA=yes"
dpkg_retry -i "$deb"
start_and_check
STRONGROOM_PURGE_DATA=yes dpkg_retry -P strongroom
expect_gone /etc/strongroom /var/lib/strongroom
while read -r _ _ _ _ _ path _; do
  [[ "$path" == ./etc/ || "$path" == */ ]] || expect_gone "${path#.}"
done <"$work/contents"
! getent passwd strongroom >/dev/null || fail "purge left the strongroom user"
! getent group strongroom >/dev/null || fail "purge left the strongroom group"

step "install and purge without a vault: nothing is left"
dpkg_retry -i "$deb"
dpkg_retry -P strongroom
expect_gone /etc/strongroom /var/lib/strongroom
! getent passwd strongroom >/dev/null || fail "purge left the strongroom user"
! getent group strongroom >/dev/null || fail "purge left the strongroom group"
if dpkg-query -W -f='${Status}' strongroom 2>/dev/null | grep -qv not-installed; then
  fail "dpkg still knows the package after purge"
fi

echo "PASS ($SECONDS s)"
