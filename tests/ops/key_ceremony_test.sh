#!/usr/bin/env bash
# ctest ops_key_ceremony_test: ops/key-ceremony.sh (SPEC 11) on a throwaway SoftHSM2
# token. A first ceremony makes the token, the RSA-3072 master key and the ECDSA P-256
# audit signing key and writes a transcript; a second one adds a rotation key with
# --no-init and never touches the existing keys. Each transcript's fields are checked,
# and each fingerprint against openssl's SHA-256 of the public key exported with
# pkcs11-tool. No PIN in any output or transcript.
# Usage: key_ceremony_test.sh SOURCE_DIR
set -euo pipefail
src="$1"
script="$src/ops/key-ceremony.sh"
module=/usr/lib/softhsm/libsofthsm2.so

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "== $*"; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
  "$work" >"$work/softhsm2.conf"
export SOFTHSM2_CONF="$work/softhsm2.conf"
export STRONGROOM_HSM_PIN="user-pin-$RANDOM$RANDOM" STRONGROOM_HSM_SO_PIN="so-pin-$RANDOM$RANDOM"
token="ceremony-test"

# Runs the ceremony with "$@", output in $work/out.N; returns its exit status.
runs=0
ceremony() {
  runs=$((runs + 1))
  local rc=0
  bash "$script" --module "$module" --token-label "$token" "$@" >"$work/out.$runs" 2>&1 || rc=$?
  cat "$work/out.$runs"
  return $rc
}
no_pin() {
  ! grep -qF -e "$STRONGROOM_HSM_PIN" -e "$STRONGROOM_HSM_SO_PIN" "$@" || fail "a PIN in $*"
}
# openssl's SHA-256 of the DER SubjectPublicKeyInfo of public key $1, exported by pkcs11-tool.
fingerprint() {
  pkcs11-tool --module "$module" --token-label "$token" --login --pin env:STRONGROOM_HSM_PIN \
    --read-object --type pubkey --label "$1" -o "$work/pub.der" >/dev/null 2>&1 ||
    fail "cannot export public key $1"
  openssl pkey -pubin -inform DER -in "$work/pub.der" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1
}
serial="" # of the token, once it exists

# Checks transcript $1 with python3: the fields of SPEC 11, and the keys given as
# "purpose:label:type:created" arguments after it, with their fingerprints.
check_transcript() {
  local file="$1"
  shift
  local expected=()
  for key in "$@"; do
    IFS=: read -r purpose label type created <<<"$key"
    expected+=("$purpose:$label:$type:$created:$(fingerprint "$label")")
  done
  python3 - "$file" "$token" "$serial" "${expected[@]}" <<'PY' || fail "transcript $file"
import json, re, sys
from datetime import datetime, timezone

path, token, serial, *expected = sys.argv[1:]
doc = json.load(open(path))

def utc(text):
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text), text
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)

started, finished = utc(doc["startedAt"]), utc(doc["finishedAt"])
assert started <= finished <= datetime.now(timezone.utc), (started, finished)
assert doc["token"]["label"] == token, doc["token"]
assert doc["token"]["serial"] == serial, (doc["token"], serial)
assert isinstance(doc["operator"], str) and doc["operator"], doc
assert isinstance(doc["witnesses"], list), doc
assert len(doc["keys"]) == len(expected), doc["keys"]
for key, want in zip(doc["keys"], expected):
    purpose, label, type_, created, fp = want.split(":")
    assert key["purpose"] == purpose and key["label"] == label and key["type"] == type_, key
    assert key["created"] is (created == "true"), key
    assert re.fullmatch(r"[0-9a-f]+", key["ckaId"]), key
    assert key["attributes"] == {"sensitive": True, "extractable": False,
                                 "neverExtractable": True, "private": True}, key
    assert re.fullmatch(r"[0-9a-f]{64}", key["publicKeySha256"]), key
    assert key["publicKeySha256"] == fp, (key, fp)
    verified = utc(key["verifiedAt"])
    assert started <= verified <= finished, key
    if key["created"]:
        assert started <= utc(key["createdAt"]) <= verified, key
    else:
        assert key["createdAt"] is None, key
print(json.dumps({"operator": doc["operator"], "witnesses": doc["witnesses"]}))
PY
}

step "usage errors (exit 2)"
for args in "--witness W" "--operator O" "--transcript $work/x.json" "--key-label a --audit-key-label a" \
  "--bogus"; do
  rc=0
  # shellcheck disable=SC2086  # word splitting wanted
  bash "$script" $args >/dev/null 2>&1 || rc=$?
  [[ $rc -eq 2 ]] || fail "key-ceremony.sh $args: exit $rc, want 2"
done
[[ ! -e "$work/x.json" ]] || fail "a transcript after a usage error"
bash "$script" --help | grep -q -- '--audit-key-label' || fail "--help does not name --audit-key-label"
bash "$script" --help | grep -q -- '--transcript' || fail "--help does not name --transcript"

step "--no-init without a token fails"
rc=0
ceremony --no-init || rc=$?
[[ $rc -eq 1 ]] || fail "--no-init on a missing token: exit $rc, want 1"

step "first ceremony: token, master key, audit key, transcript"
ceremony --transcript "$work/first.json" --operator 'Ada "Op" Lovelace' \
  --witness 'Bob \ Witness' --witness 'Chloé' || fail "first ceremony"
serial="$(pkcs11-tool --module "$module" --list-token-slots 2>/dev/null |
  awk -v want="$token" '/token label/ { mine = ($NF == want) } /serial num/ && mine { print $NF; exit }')"
[[ -n "$serial" ]] || fail "no serial for token $token"
people="$(check_transcript "$work/first.json" master:strongroom-master:RSA-3072:true \
  audit:strongroom-audit:ECDSA-P256:true)"
[[ "$people" == '{"operator": "Ada \"Op\" Lovelace", "witnesses": ["Bob \\ Witness", "Chlo\u00e9"]}' ]] ||
  fail "operator and witnesses: $people"
grep -q '"initialised":true' "$work/first.json" || fail "token not recorded as initialised"
master_fp="$(fingerprint strongroom-master)"
audit_fp="$(fingerprint strongroom-audit)"
grep -q "public key SHA-256: $master_fp" "$work/out.$runs" || fail "fingerprint not printed"

step "rotation key on the existing token (--no-init): nothing overwritten"
ceremony --key-label strongroom-master-2 --no-init --transcript "$work/rotation.json" \
  --operator Ada --witness Bob || fail "rotation ceremony"
check_transcript "$work/rotation.json" master:strongroom-master-2:RSA-3072:true \
  audit:strongroom-audit:ECDSA-P256:false >/dev/null
grep -q '"initialised":false' "$work/rotation.json" || fail "token recorded as initialised"
[[ "$(fingerprint strongroom-master)" == "$master_fp" ]] || fail "the old master key changed"
[[ "$(fingerprint strongroom-audit)" == "$audit_fp" ]] || fail "the audit key changed"
[[ "$(fingerprint strongroom-master-2)" != "$master_fp" ]] || fail "the rotation key is the old key"

step "an existing label is reused, never overwritten"
ceremony --key-label strongroom-master --no-init --no-audit-key || fail "rerun"
grep -q 'already exists' "$work/out.$runs" || fail "rerun did not reuse the key"
[[ "$(fingerprint strongroom-master)" == "$master_fp" ]] || fail "the master key changed on rerun"
count="$(pkcs11-tool --module "$module" --token-label "$token" --login --pin env:STRONGROOM_HSM_PIN \
  --list-objects --type privkey 2>/dev/null | grep -c '^Private Key Object')"
[[ "$count" -eq 3 ]] || fail "$count private keys on the token, want 3"

step "a transcript is never overwritten"
cp "$work/first.json" "$work/first.copy"
rc=0
ceremony --no-init --transcript "$work/first.json" --operator Ada || rc=$?
[[ $rc -eq 1 ]] || fail "existing transcript: exit $rc, want 1"
cmp -s "$work/first.json" "$work/first.copy" || fail "the transcript changed"

step "no PIN anywhere"
no_pin "$work"/out.* "$work/first.json" "$work/rotation.json"
echo "PASS"
