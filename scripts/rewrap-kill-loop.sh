#!/usr/bin/env bash
# More SIGKILL trials than the suite's 20: kills the re-wrap job's process N times at random
# moments (default 200), on SQLite and PostgreSQL, then checks that every row decrypts to its
# original plaintext under the target version. Needs REKEY_TEST_PG, or starts a throwaway cluster.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
trials="${1:-200}"
if [ -z "${REKEY_TEST_PG:-}" ]; then
  # shellcheck source=scripts/pg-test-cluster.sh
  source "$root/scripts/pg-test-cluster.sh"
  pg_test_start
  trap pg_test_stop EXIT
fi
REKEY_KILL_TRIALS="$trials" dotnet test "$root/tests/Rekey.Rewrap.Tests" -c Release --filter "FullyQualifiedName~KilledAtRandomMoments" --logger "console;verbosity=normal"
