#!/usr/bin/env bash
# The quickstart from README.md, scripted: a fresh embedded store in a temporary folder; create
# a key, encrypt, rotate, decrypt the old ciphertext, re-wrap it, sign and verify the audit log.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rekey="$root/rekey"
export REKEY_DIR="${REKEY_DIR:-$(mktemp -d)/store}"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step "rekey init"
"$rekey" init
step "rekey key create tenants/h42/patients"
"$rekey" key create tenants/h42/patients
step "printf 'Jane Doe, 1970-01-01' | rekey encrypt --key tenants/h42/patients --context 'tenant=h42;id=17'"
old=$(printf 'Jane Doe, 1970-01-01' | "$rekey" encrypt --key tenants/h42/patients --context 'tenant=h42;id=17')
echo "$old"
step "rekey key rotate tenants/h42/patients --reason 'quarterly rotation'"
"$rekey" key rotate tenants/h42/patients --reason 'quarterly rotation'
step "echo \"\$old\" | rekey decrypt --context 'tenant=h42;id=17'"
echo "$old" | "$rekey" decrypt --context 'tenant=h42;id=17'; echo
step "echo \"\$old\" | rekey rewrap"
new=$(echo "$old" | "$rekey" rewrap)
echo "$new"
step "echo \"\$new\" | rekey decrypt --context 'tenant=h42;id=17'"
echo "$new" | "$rekey" decrypt --context 'tenant=h42;id=17'; echo
step "rekey audit list"
"$rekey" audit list
step "rekey audit checkpoint"
"$rekey" audit checkpoint
step "rekey audit verify"
"$rekey" audit verify
printf '\nThe store is in %s (export REKEY_DIR=%s to keep using it).\n' "$REKEY_DIR" "$REKEY_DIR"
