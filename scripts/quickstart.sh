#!/usr/bin/env bash
# The README's quickstart, scripted: start `rekey server --dev` on a free loopback port, then
# create a key, encrypt, rotate, decrypt the old ciphertext and re-wrap it, first with curl and
# then with the CLI talking to the same server; sign and verify the audit log. Stops the server.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rekey="${REKEY_BIN:-$root/rekey}"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

"$rekey" --help >/dev/null   # builds the CLI on first use, before the clock below starts
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
step "rekey server --dev --listen http://127.0.0.1:$port &"
"$rekey" server --dev --listen "http://127.0.0.1:$port" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 300); do
  grep -q 'export REKEY_TOKEN=' "$log" && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; echo "the dev server did not start" >&2; exit 1; }
  sleep 0.1
done
cat "$log"
eval "$(grep -E '^ *export REKEY_(ADDR|TOKEN)=' "$log")"
auth="Authorization: Bearer $REKEY_TOKEN"

step "curl -X POST \$REKEY_ADDR/v1/keys/tenants/h42/patients"
curl -sS --fail-with-body -X POST "$REKEY_ADDR/v1/keys/tenants/h42/patients" -H "$auth" -d '{"reason":"onboarding"}'; echo
step "curl -X POST \$REKEY_ADDR/v1/encrypt/tenants/h42/patients -d '{\"plaintext\":\"SmFuZSBEb2U=\",\"context\":\"tenant=h42;id=17\"}'"
old=$(curl -sS --fail-with-body -X POST "$REKEY_ADDR/v1/encrypt/tenants/h42/patients" -H "$auth" \
  -d '{"plaintext":"SmFuZSBEb2U=","context":"tenant=h42;id=17"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["ciphertext"])')
echo "$old"
step "curl -X POST \$REKEY_ADDR/v1/rotate/tenants/h42/patients -d '{\"reason\":\"quarterly rotation\"}'"
curl -sS --fail-with-body -X POST "$REKEY_ADDR/v1/rotate/tenants/h42/patients" -H "$auth" -d '{"reason":"quarterly rotation"}'; echo
step "curl -X POST \$REKEY_ADDR/v1/decrypt/tenants/h42/patients -d '{\"ciphertext\":\"\$old\",\"context\":\"tenant=h42;id=17\"}'"
curl -sS --fail-with-body -X POST "$REKEY_ADDR/v1/decrypt/tenants/h42/patients" -H "$auth" -d "{\"ciphertext\":\"$old\",\"context\":\"tenant=h42;id=17\"}"; echo
step "curl -X POST \$REKEY_ADDR/v1/rewrap/tenants/h42/patients -d '{\"ciphertext\":\"\$old\"}'"
curl -sS --fail-with-body -X POST "$REKEY_ADDR/v1/rewrap/tenants/h42/patients" -H "$auth" -d "{\"ciphertext\":\"$old\"}"; echo

step "printf 'Jane Doe' | rekey encrypt --key tenants/h42/patients --context 'tenant=h42;id=18'"
cli=$(printf 'Jane Doe' | "$rekey" encrypt --key tenants/h42/patients --context 'tenant=h42;id=18')
echo "$cli"
step "rekey key rotate tenants/h42/patients --reason 'after an incident'"
"$rekey" key rotate tenants/h42/patients --reason 'after an incident'
step "echo \"\$cli\" | rekey decrypt --context 'tenant=h42;id=18'"
echo "$cli" | "$rekey" decrypt --context 'tenant=h42;id=18'; echo
step "echo \"\$old\" | rekey rewrap"
echo "$old" | "$rekey" rewrap
step "rekey key disable tenants/h42/patients 1"
"$rekey" key disable tenants/h42/patients 1
step "rekey key show tenants/h42/patients"
"$rekey" key show tenants/h42/patients
step "rekey audit checkpoint"
"$rekey" audit checkpoint
step "rekey audit verify"
"$rekey" audit verify
step "rekey token create --name billing --role application --pattern 'tenants/h42/*' --ttl 30d"
"$rekey" token create --name billing --role application --pattern 'tenants/h42/*' --ttl 30d
