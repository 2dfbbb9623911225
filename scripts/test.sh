#!/usr/bin/env bash
# Runs every test: builds the solution and runs each test project against real parts (SQLite
# files, a throwaway PostgreSQL 15 cluster, a SoftHSM2 token, the built CLI as a process, Vault's
# own clients against the Transit surface), then short runs of the
# fuzzing and soak campaigns. Prints 'N passed, N failed' after the tests; exits non-zero on any
# failure.
#   REKEY_TEST_PG="Host=...;Database=..."  use an existing PostgreSQL instead of starting one.
#   REKEY_FUZZ_SECONDS (15 per target), REKEY_SOAK_SECONDS (60)  the campaigns' lengths.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# shellcheck source=scripts/pg-test-cluster.sh
source "$root/scripts/pg-test-cluster.sh"
pg_test_ensure

# SoftHSM2, the PKCS#11 token the HSM root provider is tested against.
if [[ ! -e /usr/lib/softhsm/libsofthsm2.so ]] || ! command -v softhsm2-util >/dev/null; then
  echo "test.sh: SoftHSM2 not found; installing softhsm2" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq softhsm2) >&2 \
    || { echo "test.sh: could not install softhsm2" >&2; exit 1; }
fi

# promtool (Debian's prometheus package) tests the alerting rules shipped in deploy/prometheus.
if ! command -v promtool >/dev/null; then
  echo "test.sh: promtool not found; installing prometheus" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus) >&2 \
    || { echo "test.sh: could not install prometheus (promtool)" >&2; exit 1; }
fi

# The openssl command-line tool wraps key material for the bring-your-own-key tests, as a user would.
if ! command -v openssl >/dev/null; then
  echo "test.sh: openssl not found; installing openssl" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl) >&2 \
    || { echo "test.sh: could not install openssl" >&2; exit 1; }
fi

# The Vault clients the Transit surface is proven with: Debian's python3-hvac, and the npm
# package node-vault at the version package-lock.json pins.
if ! /usr/bin/python3 -c 'import hvac' 2>/dev/null; then
  echo "test.sh: python3-hvac not found; installing it" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-hvac) >&2 \
    || { echo "test.sh: could not install python3-hvac" >&2; exit 1; }
fi
if ! command -v npm >/dev/null; then
  echo "test.sh: npm not found; installing nodejs and npm" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm) >&2 \
    || { echo "test.sh: could not install npm" >&2; exit 1; }
fi
(cd "$root/tests/vault-clients/node" && npm ci --no-audit --no-fund --loglevel=error) >&2 \
  || { echo "test.sh: could not install node-vault (npm ci in tests/vault-clients/node)" >&2; exit 1; }

dotnet build Rekey.slnx -c Release --nologo -v quiet
log="$(mktemp)"
trap 'rm -f "$log"; declare -F pg_test_stop >/dev/null && pg_test_stop' EXIT
status=0
dotnet test Rekey.slnx -c Release --no-build --nologo 2>&1 | tee "$log" || status=$?

# dotnet test prints one summary line per test project; add them up into the plain closing line.
awk '/(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+/ {
       for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
     }
     END { gsub(",", "", p); printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
if ! grep -qE '(Passed|Failed)! +- Failed' "$log"; then
  echo "test.sh: no test summary found; the test run did not complete." >&2
  exit 1
fi

# The alerting rules: valid, and each fires on the series meant to fire it and on no other.
(cd "$root/deploy/prometheus" && promtool check rules rekey-rules.yml && promtool test rules rekey-rules.test.yml) || status=1

# Short campaigns (their scripts run longer by default): coverage-guided fuzzing of every target,
# and the soak of two servers on one PostgreSQL under load with rotations and a re-wrap job.
"$root/scripts/fuzz.sh" "${REKEY_FUZZ_SECONDS:-15}" || status=1
"$root/scripts/soak.sh" "${REKEY_SOAK_SECONDS:-60}" || status=1
exit "$status"
