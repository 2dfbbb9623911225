#!/usr/bin/env bash
# HTTP encrypt throughput measured by an independent client, autocannon, against the same
# benchmark server the C# HTTP benchmark starts (a fresh SQLite store, one key per surface, an
# application token): single calls and batches of 100 items of 256 bytes, through /v1 and the
# Transit surface, each after a warm-up. Client and server share this machine's cores.
#   bench/load/run.sh [seconds per run, default 10]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seconds="${1:-10}"
[[ -d "$here/node_modules/autocannon" ]] || (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
dotnet build "$root/bench/Rekey.Benchmarks" -c Release --nologo -v quiet >/dev/null
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
dotnet "$root/bench/Rekey.Benchmarks/bin/Release/net10.0/Rekey.Benchmarks.dll" http-server >"$work/server" &
server=$!
for _ in $(seq 1 100); do [[ -s "$work/server" ]] && break; sleep 0.1; done
read -r address token <"$work/server"

# The same bodies as the C# benchmark: /v1 items carry a context, Transit items a reference.
python3 - "$work" <<'PY'
import base64, json, sys
work = sys.argv[1]
plaintext = base64.b64encode(bytes(range(256))).decode()
bodies = {
    "v1-single": {"plaintext": plaintext, "context": "tenant=h42;id=17"},
    "v1-batch": {"items": [{"plaintext": plaintext, "context": f"tenant=h42;id={i}"} for i in range(100)]},
    "transit-single": {"plaintext": plaintext},
    "transit-batch": {"batch_input": [{"plaintext": plaintext, "reference": str(i)} for i in range(100)]},
}
for name, body in bodies.items():
    with open(f"{work}/{name}.json", "w") as out:
        json.dump(body, out)
PY

run() { # label, body, path, header, connections, items per request
  local args=(-c "$5" -m POST -H "$4" -H "Content-Type: application/json" -i "$work/$2.json" "${address}${3#/}")
  node "$here/node_modules/autocannon/autocannon.js" -d 3 "${args[@]}" >/dev/null 2>&1
  node "$here/node_modules/autocannon/autocannon.js" -d "$seconds" -j "${args[@]}" 2>/dev/null >"$work/$2.out"
  python3 - "$1" "$6" "$work/$2.out" <<'PY'
import json, sys
label, items, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
result = json.load(open(path))
rate = result["requests"]["average"]
bad = result["non2xx"] + result["errors"]
print(f"  {label:<16} {rate:>9,.0f} requests/s {rate * items:>10,.0f} items/s   p50 {result['latency']['p50']} ms   p99 {result['latency']['p99']} ms   non-2xx or errors {bad}")
PY
}

echo "autocannon against Rekey on loopback, $seconds s per run, $(nproc) cores shared by client and server"
run "single /v1" v1-single "/v1/encrypt/bench/http" "Authorization: Bearer $token" 64 1
run "single Transit" transit-single "/v1/transit/encrypt/bench-transit" "X-Vault-Token: $token" 64 1
run "batch /v1" v1-batch "/v1/encrypt/bench/http" "Authorization: Bearer $token" 16 100
run "batch Transit" transit-batch "/v1/transit/encrypt/bench-transit" "X-Vault-Token: $token" 16 100
