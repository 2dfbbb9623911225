#!/usr/bin/env bash
# Soak: two Rekey servers on one PostgreSQL under a bounded load of encrypt, decrypt and rewrap
# from several clients on loopback, first without rotations, then with a rotation every 2 s and
# re-wrap jobs running over a table the clients write (tests/Rekey.Soak). Fails on any 5xx, on
# any ciphertext that no longer decrypts at the end, or on an audit log that does not verify;
# prints p50/p99 of both phases.
#   ./scripts/soak.sh [SECONDS (default 600)] [CLIENTS (8)] [RATE_PER_CLIENT (25)]
# Starts a throwaway PostgreSQL 15 unless REKEY_TEST_PG is set.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/pg-test-cluster.sh
source "$root/scripts/pg-test-cluster.sh"
pg_test_ensure

dotnet build tests/Rekey.Soak -c Release --nologo -v quiet >/dev/null
dotnet tests/Rekey.Soak/bin/Release/net10.0/Rekey.Soak.dll "${1:-600}" "${2:-8}" "${3:-25}"
