#!/usr/bin/env bash
# Runs the race tests (16 racing rotations with and without an expected version, rotations from
# separate processes, SIGKILL inside a rotation, cross-instance visibility, re-wrap jobs killed at
# random moments) N times in a row on both stores, stopping at the first failure.
#   ./scripts/race-loop.sh [N=20]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
runs="${1:-20}"
if [ -z "${REKEY_TEST_PG:-}" ]; then
  # shellcheck source=scripts/pg-test-cluster.sh
  source "$root/scripts/pg-test-cluster.sh"
  trap pg_test_stop EXIT
  pg_test_start
fi
dotnet build Rekey.slnx -c Release --nologo -v quiet
for i in $(seq 1 "$runs"); do
  for project in tests/Rekey.Storage.Sqlite.Tests tests/Rekey.Storage.Postgres.Tests tests/Rekey.Rewrap.Tests; do
    if ! out=$(dotnet test "$project" -c Release --no-build --nologo --filter "Category=Race" 2>&1); then
      printf '%s\n' "$out"
      echo "race-loop: run $i of $runs FAILED ($project)" >&2
      exit 1
    fi
  done
  echo "race-loop: run $i of $runs passed"
done
echo "race-loop: $runs runs passed in a row"
