#!/usr/bin/env bash
# Strongroom key ceremony (SPEC 11): initialise a PKCS#11 token (SoftHSM2), create
# the RSA-3072 master key pair that `strongroom serve` opens (SPEC 7) -- or a new
# one for a master-key rotation -- and the ECDSA P-256 audit signing key (SPEC 12),
# verify what the token holds, and write a JSON transcript of it.
#
# PINs never appear on a command line: they are read from the environment and
# handed to pkcs11-tool as `--pin env:VAR` / `--so-pin env:VAR`, which makes
# pkcs11-tool read the variable itself (so they are not visible in `ps`).
# Nothing here prints a PIN or writes one to the transcript.
set -euo pipefail

MODULE="/usr/lib/softhsm/libsofthsm2.so"
TOKEN_LABEL="strongroom"
KEY_LABEL="strongroom-master"
AUDIT_KEY_LABEL="strongroom-audit"
AUDIT_KEY=1
NO_INIT=0
TRANSCRIPT=""
OPERATOR=""
WITNESSES=()

usage() {
  cat <<'USAGE'
Usage: key-ceremony.sh [--module PATH] [--token-label LABEL] [--key-label LABEL]
                       [--audit-key-label LABEL | --no-audit-key] [--no-init]
                       [--transcript FILE --operator NAME [--witness NAME]...]

Creates the Strongroom keys on a PKCS#11 token and verifies them:
  - the master key: an RSA-3072 key pair, usable for decrypt/unwrap (RSA-OAEP);
  - the audit signing key: an ECDSA P-256 key pair, usable for signing (audit
    checkpoints, [audit].signing_key_label).
Each private key is CKA_PRIVATE, CKA_SENSITIVE and not CKA_EXTRACTABLE. Idempotent:
an existing token or key is reused and verified, never overwritten.

Master-key rotation: make the new pair on the existing token with
  --key-label NEW-LABEL --no-init
then run `strongroom admin ... master-key rotate --new-label NEW-LABEL`.

Options:
  --module PATH            PKCS#11 module (default /usr/lib/softhsm/libsofthsm2.so)
  --token-label LABEL      token label, as [hsm].token_label (default strongroom)
  --key-label LABEL        master key label, as [hsm].master_key_label, or the new
                           label of a rotation (default strongroom-master)
  --audit-key-label LABEL  audit signing key label, as [audit].signing_key_label
                           (default strongroom-audit)
  --no-audit-key           do not create or check the audit signing key
  --no-init                do not initialise the token: for a real HSM, whose token and
                           user PIN are set up with the vendor's tooling, and for
                           rotation keys; the token must exist
  --transcript FILE        write the ceremony transcript (JSON) to FILE, which must not
                           exist yet: token label and serial; per key its label, CKA_ID,
                           type, the attributes verified, the SHA-256 fingerprint of its
                           public key (hex SHA-256 of the DER SubjectPublicKeyInfo); UTC
                           times; operator and witnesses. Never a PIN.
  --operator NAME          who ran the ceremony (required with --transcript)
  --witness NAME           a witness (repeat for each)
  -h, --help               this text

Environment:
  STRONGROOM_HSM_PIN     user PIN (required)
  STRONGROOM_HSM_SO_PIN  security officer PIN (required to initialise a new token)
  SOFTHSM2_CONF          SoftHSM2 configuration file (token directory), if not the default

Needs pkcs11-tool (Debian: opensc) and openssl.
Exit status: 0 on success, 2 on a usage error, 1 on any other failure.
USAGE
}

die() {
  echo "key-ceremony: $*" >&2
  exit 1
}
usage_error() {
  echo "key-ceremony: $*" >&2
  echo "Try 'key-ceremony.sh --help'." >&2
  exit 2
}
# A value for an option that takes one.
need_value() { [[ $1 -ge 2 ]] || usage_error "$2 needs a value"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --module) need_value $# "$1"; MODULE="$2"; shift 2 ;;
    --module=*) MODULE="${1#*=}"; shift ;;
    --token-label) need_value $# "$1"; TOKEN_LABEL="$2"; shift 2 ;;
    --token-label=*) TOKEN_LABEL="${1#*=}"; shift ;;
    --key-label) need_value $# "$1"; KEY_LABEL="$2"; shift 2 ;;
    --key-label=*) KEY_LABEL="${1#*=}"; shift ;;
    --audit-key-label) need_value $# "$1"; AUDIT_KEY_LABEL="$2"; shift 2 ;;
    --audit-key-label=*) AUDIT_KEY_LABEL="${1#*=}"; shift ;;
    --no-audit-key) AUDIT_KEY=0; shift ;;
    --no-init) NO_INIT=1; shift ;;
    --transcript) need_value $# "$1"; TRANSCRIPT="$2"; shift 2 ;;
    --transcript=*) TRANSCRIPT="${1#*=}"; shift ;;
    --operator) need_value $# "$1"; OPERATOR="$2"; shift 2 ;;
    --operator=*) OPERATOR="${1#*=}"; shift ;;
    --witness) need_value $# "$1"; WITNESSES+=("$2"); shift 2 ;;
    --witness=*) WITNESSES+=("${1#*=}"); shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unknown argument: $1" ;;
  esac
done

# Labels and names go into pkcs11-tool arguments and the JSON transcript: no
# control characters.
for value in "$TOKEN_LABEL" "$KEY_LABEL" "$AUDIT_KEY_LABEL" "$OPERATOR" "${WITNESSES[@]}"; do
  [[ ! "$value" =~ [[:cntrl:]] ]] || usage_error "labels and names must not hold control characters"
done
[[ -n "$TOKEN_LABEL" && ${#TOKEN_LABEL} -le 32 ]] || usage_error "token label must be 1-32 bytes"
[[ -n "$KEY_LABEL" ]] || usage_error "key label must not be empty"
if [[ $AUDIT_KEY -eq 1 ]]; then
  [[ -n "$AUDIT_KEY_LABEL" ]] || usage_error "audit key label must not be empty"
  [[ "$AUDIT_KEY_LABEL" != "$KEY_LABEL" ]] || usage_error "the audit key and the master key need different labels"
fi
if [[ -n "$TRANSCRIPT" ]]; then
  [[ -n "$OPERATOR" ]] || usage_error "--transcript needs --operator NAME"
  [[ ! -e "$TRANSCRIPT" ]] || die "transcript $TRANSCRIPT exists: not overwriting it"
else
  [[ -z "$OPERATOR" && ${#WITNESSES[@]} -eq 0 ]] || usage_error "--operator and --witness go with --transcript FILE"
fi
[[ -n "${STRONGROOM_HSM_PIN:-}" ]] || usage_error "STRONGROOM_HSM_PIN is not set"
[[ -r "$MODULE" ]] || die "PKCS#11 module not readable: $MODULE"
command -v pkcs11-tool >/dev/null || die "pkcs11-tool not found (Debian: apt-get install opensc)"
command -v openssl >/dev/null || die "openssl not found (Debian: apt-get install openssl)"
export STRONGROOM_HSM_PIN
if [[ -n "${SOFTHSM2_CONF:-}" ]]; then export SOFTHSM2_CONF; fi

WORK="$(mktemp -d)"  # exported public keys only: nothing secret
trap 'rm -rf "$WORK"' EXIT

utc_now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
STARTED_AT="$(utc_now)"

p11() { pkcs11-tool --module "$MODULE" "$@"; }
p11_user() { p11 --token-label "$TOKEN_LABEL" --login --pin env:STRONGROOM_HSM_PIN "$@"; }

# True if a slot holds an initialised token labelled $TOKEN_LABEL.
token_exists() {
  p11 --list-token-slots 2>/dev/null | WANT="$TOKEN_LABEL" awk '
    /token label/ { sub(/^[^:]*:[ \t]*/, ""); sub(/[ \t]+$/, ""); if ($0 == ENVIRON["WANT"]) found = 1 }
    END { exit found ? 0 : 1 }'
}

# The serial number of the token labelled $TOKEN_LABEL.
token_serial() {
  p11 --list-token-slots 2>/dev/null | WANT="$TOKEN_LABEL" awk '
    /^Slot / { mine = 0 }
    /token label/ { v = $0; sub(/^[^:]*:[ \t]*/, "", v); sub(/[ \t]+$/, "", v); mine = (v == ENVIRON["WANT"]) }
    /serial num/ && mine { v = $0; sub(/^[^:]*:[ \t]*/, "", v); sub(/[ \t]+$/, "", v); print v; exit }'
}

# The id (0x...) of the first slot whose token is not initialised.
free_slot() {
  p11 --list-slots 2>/dev/null | awk '
    /^Slot [0-9]+ \(0x[0-9a-fA-F]+\)/ { id = $3; gsub(/[():]/, "", id) }
    /token state:[ \t]*uninitialized/ { print id; exit }'
}

# The objects of type $1 (privkey, pubkey) labelled exactly $2, as listed by
# pkcs11-tool (needs login unless $3 is "nologin"). pkcs11-tool's --list-objects
# ignores --label, so the listing is filtered here, object by object.
listing() {
  local login=(--login --pin env:STRONGROOM_HSM_PIN)
  [[ "${3:-}" != nologin ]] || login=()
  p11 --token-label "$TOKEN_LABEL" "${login[@]}" --list-objects --type "$1" 2>/dev/null |
    WANT="$2" awk '
      function flush() { if (object != "" && label == ENVIRON["WANT"]) printf "%s", object; object = ""; label = "" }
      /^[^ \t]/ { flush() }
      { object = object $0 "\n" }
      /^[ \t]+label:/ { v = $0; sub(/^[^:]*:[ \t]*/, "", v); sub(/[ \t]+$/, "", v); label = v }
      END { flush() }'
}

# The value of the first "Name:" line ($1) of listing text $2.
field() { grep -m1 "^[[:space:]]*$1:" <<<"$2" | sed 's/^[^:]*:[[:space:]]*//' || true; }

# A JSON string (inputs hold no control characters: checked above).
json_str() {
  local s="${1//\\/\\\\}"
  printf '"%s"' "${s//\"/\\\"}"
}

echo "Module:      $MODULE"
echo "Token label: $TOKEN_LABEL"

# 1. Token.
TOKEN_INITIALISED=false
if token_exists; then
  echo "Token \"$TOKEN_LABEL\" already initialised: reusing it."
elif [[ $NO_INIT -eq 1 ]]; then
  echo "Skipping token initialisation (--no-init): the token and its user PIN are set up"
  echo "with the HSM vendor's tooling."
  die "no token labelled \"$TOKEN_LABEL\" in $MODULE"
else
  [[ -n "${STRONGROOM_HSM_SO_PIN:-}" ]] || usage_error "STRONGROOM_HSM_SO_PIN is not set (needed to initialise the token)"
  export STRONGROOM_HSM_SO_PIN
  slot="$(free_slot)"
  [[ -n "$slot" ]] || die "no uninitialised slot in $MODULE to create token \"$TOKEN_LABEL\""
  echo "Initialising token \"$TOKEN_LABEL\" on free slot $slot..."
  p11 --slot "$slot" --init-token --label "$TOKEN_LABEL" --so-pin env:STRONGROOM_HSM_SO_PIN >/dev/null ||
    die "token initialisation failed"
  # SoftHSM2 renumbers the slot after C_InitToken: address the token by label from here on.
  p11 --token-label "$TOKEN_LABEL" --login --login-type so --so-pin env:STRONGROOM_HSM_SO_PIN \
    --init-pin --pin env:STRONGROOM_HSM_PIN >/dev/null || die "setting the user PIN failed"
  echo "Token initialised; user PIN set."
  TOKEN_INITIALISED=true
fi
TOKEN_SERIAL="$(token_serial)"
[[ -n "$TOKEN_SERIAL" ]] || die "cannot read the serial number of token \"$TOKEN_LABEL\""
echo "Token serial: $TOKEN_SERIAL"

KEYS_JSON=()

# Makes (unless it exists) and verifies one key pair, and records it for the
# transcript. $1 = purpose (master, audit), $2 = label.
ensure_key() {
  local purpose="$1" label="$2" key_type gen_args usage_args created=false created_at=null
  if [[ "$purpose" == master ]]; then
    key_type="RSA-3072"
    gen_args=(--key-type rsa:3072)
    usage_args=(--usage-decrypt --usage-wrap)
  else
    key_type="ECDSA-P256"
    gen_args=(--key-type EC:prime256v1)
    usage_args=(--usage-sign)
  fi
  echo "Key \"$label\" ($purpose, $key_type):"

  # Make it, unless a private key of that label exists: never overwrite a key.
  local existing
  existing="$(listing privkey "$label")" || die "cannot list objects on token \"$TOKEN_LABEL\""
  if grep -q '^Private Key Object' <<<"$existing"; then
    echo "  already exists: not creating another."
  else
    local new_id
    new_id="$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
    echo "  generating on the token (id $new_id)..."
    created_at="\"$(utc_now)\""
    # --sensitive and --private set CKA_SENSITIVE/CKA_PRIVATE on the private key.
    # pkcs11-tool (opensc 0.23) has no flag that sets CKA_EXTRACTABLE=false; it
    # only sets it true with --extractable, so the token's default (false on
    # SoftHSM2) applies. The checks below verify the result rather than trusting that.
    p11_user --keypairgen "${gen_args[@]}" --label "$label" --id "$new_id" \
      "${usage_args[@]}" --sensitive --private >/dev/null || die "key pair generation failed for \"$label\""
    created=true
  fi

  # Verify what the token actually holds.
  local priv pub access key_id pub_id
  priv="$(listing privkey "$label")" || die "cannot list objects on token \"$TOKEN_LABEL\""
  [[ "$(grep -c '^Private Key Object' <<<"$priv")" -eq 1 ]] ||
    die "expected exactly one private key labelled \"$label\""
  pub="$(listing pubkey "$label")" || die "cannot list objects on token \"$TOKEN_LABEL\""
  [[ "$(grep -c '^Public Key Object' <<<"$pub")" -eq 1 ]] ||
    die "expected exactly one public key labelled \"$label\""
  access="$(field Access "$priv")"
  key_id="$(field ID "$priv")"
  pub_id="$(field ID "$pub")"
  [[ -n "$key_id" && "$key_id" == "$pub_id" ]] ||
    die "the private and public keys labelled \"$label\" do not share one CKA_ID"
  [[ ",${access// /}," == *",neverextractable,"* ]] ||
    die "private key \"$label\" is not marked never-extractable (Access: $access)"
  [[ ",${access// /}," == *",sensitive,"* ]] || die "private key \"$label\" is not CKA_SENSITIVE (Access: $access)"
  [[ ",${access// /}," != *",extractable,"* ]] || die "private key \"$label\" is CKA_EXTRACTABLE (Access: $access)"
  # CKA_PRIVATE: without a login the private key must not even be visible.
  existing="$(listing privkey "$label" nologin)" || die "cannot list objects on token \"$TOKEN_LABEL\""
  if grep -q '^Private Key Object' <<<"$existing"; then
    die "private key \"$label\" is visible without login (not CKA_PRIVATE)"
  fi

  # The public key as DER SubjectPublicKeyInfo; openssl parses it (checking
  # type and size) and re-encodes it canonically for the fingerprint.
  local der="$WORK/pub-$((${#KEYS_JSON[@]} + 1)).der" text fingerprint
  p11_user --read-object --type pubkey --label "$label" -o "$der" >/dev/null 2>&1 ||
    die "cannot export the public key \"$label\""
  text="$(openssl pkey -pubin -inform DER -in "$der" -noout -text 2>/dev/null)" ||
    die "the public key \"$label\" is not a DER SubjectPublicKeyInfo"
  if [[ "$purpose" == master ]]; then
    if ! grep -q '^Public-Key: (3072 bit)' <<<"$text" || ! grep -q '^Modulus:' <<<"$text"; then
      die "\"$label\" is not an RSA-3072 key pair"
    fi
  else
    grep -q 'ASN1 OID: prime256v1' <<<"$text" || die "\"$label\" is not an ECDSA P-256 key pair"
  fi
  fingerprint="$(openssl pkey -pubin -inform DER -in "$der" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)"
  [[ "$fingerprint" =~ ^[0-9a-f]{64}$ ]] || die "cannot fingerprint the public key \"$label\""

  echo "  id $key_id; private key sensitive, never extractable, private; verified."
  echo "  public key SHA-256: $fingerprint"
  KEYS_JSON+=("$(printf '{"purpose":"%s","label":%s,"ckaId":"%s","type":"%s","created":%s,"createdAt":%s,"verifiedAt":"%s","attributes":{"sensitive":true,"extractable":false,"neverExtractable":true,"private":true},"publicKeySha256":"%s"}' \
    "$purpose" "$(json_str "$label")" "$key_id" "$key_type" "$created" "$created_at" "$(utc_now)" "$fingerprint")")
}

# 2. Keys.
ensure_key master "$KEY_LABEL"
if [[ $AUDIT_KEY -eq 1 ]]; then ensure_key audit "$AUDIT_KEY_LABEL"; fi
echo "Master key ready: module $MODULE, token \"$TOKEN_LABEL\", label \"$KEY_LABEL\"."
if [[ $AUDIT_KEY -eq 1 ]]; then echo "Audit signing key ready: label \"$AUDIT_KEY_LABEL\"."; fi

# 3. Transcript.
if [[ -n "$TRANSCRIPT" ]]; then
  witnesses=""
  for w in "${WITNESSES[@]}"; do witnesses+="${witnesses:+,}$(json_str "$w")"; done
  keys="$(IFS=,; echo "${KEYS_JSON[*]}")"
  tmp="$TRANSCRIPT.tmp.$$"
  {
    printf '{"transcript":"strongroom-key-ceremony","version":1,'
    printf '"startedAt":"%s","finishedAt":"%s",' "$STARTED_AT" "$(utc_now)"
    printf '"operator":%s,"witnesses":[%s],' "$(json_str "$OPERATOR")" "$witnesses"
    printf '"module":%s,' "$(json_str "$MODULE")"
    printf '"token":{"label":%s,"serial":%s,"initialised":%s},' \
      "$(json_str "$TOKEN_LABEL")" "$(json_str "$TOKEN_SERIAL")" "$TOKEN_INITIALISED"
    printf '"keys":[%s]}\n' "$keys"
  } >"$tmp" || die "cannot write $tmp"
  # Not over a transcript that appeared meanwhile.
  mv -n "$tmp" "$TRANSCRIPT" || true
  if [[ -e "$tmp" ]]; then
    rm -f "$tmp"
    die "cannot write $TRANSCRIPT"
  fi
  echo "Transcript written to $TRANSCRIPT."
fi
