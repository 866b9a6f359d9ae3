#!/usr/bin/env bash
# Strongroom key ceremony: initialise a PKCS#11 token (SoftHSM2) and create the
# RSA-3072 master key pair that `strongroom serve` opens (SPEC 7).
#
# PINs never appear on a command line: they are read from the environment and
# handed to pkcs11-tool as `--pin env:VAR` / `--so-pin env:VAR`, which makes
# pkcs11-tool read the variable itself (so they are not visible in `ps`).
# Nothing here prints a PIN.
set -euo pipefail

MODULE="/usr/lib/softhsm/libsofthsm2.so"
TOKEN_LABEL="strongroom"
KEY_LABEL="strongroom-master"
NO_INIT=0

usage() {
  cat <<'USAGE'
Usage: key-ceremony.sh [--module PATH] [--token-label LABEL] [--key-label LABEL] [--no-init]

Creates the Strongroom master key: an RSA-3072 key pair on a PKCS#11 token, the
private key CKA_PRIVATE, CKA_SENSITIVE and not CKA_EXTRACTABLE, usable for
decrypt/unwrap (RSA-OAEP). Idempotent: an existing token or key is reused, never
overwritten.

Options:
  --module PATH        PKCS#11 module (default /usr/lib/softhsm/libsofthsm2.so)
  --token-label LABEL  token label, as [hsm].token_label (default strongroom)
  --key-label LABEL    key label, as [hsm].master_key_label (default strongroom-master)
  --no-init            do not initialise the token: for a real HSM, whose token and
                       user PIN are set up with the vendor's tooling; the token must exist
  -h, --help           this text

Environment:
  STRONGROOM_HSM_PIN     user PIN (required)
  STRONGROOM_HSM_SO_PIN  security officer PIN (required to initialise a new token)
  SOFTHSM2_CONF          SoftHSM2 configuration file (token directory), if not the default

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

while [[ $# -gt 0 ]]; do
  case "$1" in
    --module) [[ $# -ge 2 ]] || usage_error "--module needs a value"; MODULE="$2"; shift 2 ;;
    --module=*) MODULE="${1#*=}"; shift ;;
    --token-label) [[ $# -ge 2 ]] || usage_error "--token-label needs a value"; TOKEN_LABEL="$2"; shift 2 ;;
    --token-label=*) TOKEN_LABEL="${1#*=}"; shift ;;
    --key-label) [[ $# -ge 2 ]] || usage_error "--key-label needs a value"; KEY_LABEL="$2"; shift 2 ;;
    --key-label=*) KEY_LABEL="${1#*=}"; shift ;;
    --no-init) NO_INIT=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unknown argument: $1" ;;
  esac
done

[[ -n "$TOKEN_LABEL" && ${#TOKEN_LABEL} -le 32 ]] || usage_error "token label must be 1-32 bytes"
[[ -n "$KEY_LABEL" ]] || usage_error "key label must not be empty"
[[ -n "${STRONGROOM_HSM_PIN:-}" ]] || usage_error "STRONGROOM_HSM_PIN is not set"
[[ -r "$MODULE" ]] || die "PKCS#11 module not readable: $MODULE"
command -v pkcs11-tool >/dev/null || die "pkcs11-tool not found (Debian: apt-get install opensc)"
export STRONGROOM_HSM_PIN
if [[ -n "${SOFTHSM2_CONF:-}" ]]; then export SOFTHSM2_CONF; fi

p11() { pkcs11-tool --module "$MODULE" "$@"; }

# True if a slot holds an initialised token labelled $TOKEN_LABEL.
token_exists() {
  p11 --list-token-slots 2>/dev/null | awk -v want="$TOKEN_LABEL" '
    /token label/ { sub(/^[^:]*:[ \t]*/, ""); sub(/[ \t]+$/, ""); if ($0 == want) found = 1 }
    END { exit found ? 0 : 1 }'
}

# The id (0x...) of the first slot whose token is not initialised.
free_slot() {
  p11 --list-slots 2>/dev/null | awk '
    /^Slot [0-9]+ \(0x[0-9a-fA-F]+\)/ { id = $3; gsub(/[():]/, "", id) }
    /token state:[ \t]*uninitialized/ { print id; exit }'
}

# Private-key listing for $KEY_LABEL (needs login).
private_key_listing() {
  p11 --token-label "$TOKEN_LABEL" --login --pin env:STRONGROOM_HSM_PIN \
    --list-objects --type privkey --label "$KEY_LABEL" 2>/dev/null
}

echo "Module:      $MODULE"
echo "Token label: $TOKEN_LABEL"
echo "Key label:   $KEY_LABEL"

# 1. Token.
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
fi

# 2. Master key pair.
if private_key_listing | grep -q '^Private Key Object'; then
  echo "Master key \"$KEY_LABEL\" already exists: not creating another."
else
  key_id="$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
  echo "Generating RSA-3072 master key pair \"$KEY_LABEL\" (id $key_id) on the token..."
  # --sensitive and --private set CKA_SENSITIVE/CKA_PRIVATE on the private key.
  # pkcs11-tool (opensc 0.23) has no flag that sets CKA_EXTRACTABLE=false; it
  # only sets it true with --extractable, so the token's default (false on
  # SoftHSM2) applies. Step 3 checks the result rather than trusting that.
  p11 --token-label "$TOKEN_LABEL" --login --pin env:STRONGROOM_HSM_PIN \
    --keypairgen --key-type rsa:3072 --label "$KEY_LABEL" --id "$key_id" \
    --usage-decrypt --usage-wrap --sensitive --private >/dev/null ||
    die "key pair generation failed"
fi

# 3. Verify what the token actually holds.
listing="$(private_key_listing)" || die "cannot list objects on token \"$TOKEN_LABEL\""
[[ "$(grep -c '^Private Key Object' <<<"$listing")" -eq 1 ]] ||
  die "expected exactly one private key labelled \"$KEY_LABEL\""
access="$(grep -m1 'Access:' <<<"$listing" | sed 's/^[^:]*:[[:space:]]*//')"
key_id="$(grep -m1 'ID:' <<<"$listing" | sed 's/^[^:]*:[[:space:]]*//')"
[[ ",$access," == *", never extractable,"* || ",${access// /}," == *",neverextractable,"* ]] ||
  die "private key is not marked never-extractable (Access: $access)"
[[ " $access" == *" sensitive"* ]] || die "private key is not CKA_SENSITIVE (Access: $access)"
if tr ',' '\n' <<<"$access" | sed 's/^[[:space:]]*//' | grep -qx 'extractable'; then
  die "private key is CKA_EXTRACTABLE (Access: $access)"
fi
# CKA_PRIVATE: without a login the private key must not even be visible.
if p11 --token-label "$TOKEN_LABEL" --list-objects --type privkey --label "$KEY_LABEL" 2>/dev/null |
  grep -q '^Private Key Object'; then
  die "private key is visible without login (not CKA_PRIVATE)"
fi
# (pkcs11-tool's --private marks the public key private too, hence the login.)
p11 --token-label "$TOKEN_LABEL" --login --pin env:STRONGROOM_HSM_PIN \
  --list-objects --type pubkey --label "$KEY_LABEL" 2>/dev/null |
  grep -q '^Public Key Object; RSA 3072 bits' || die "no RSA-3072 public key labelled \"$KEY_LABEL\""

echo "Verified: private key sensitive, never extractable, private; public key RSA 3072 bits."
echo "Master key ready: module $MODULE, token \"$TOKEN_LABEL\", label \"$KEY_LABEL\", id $key_id."
