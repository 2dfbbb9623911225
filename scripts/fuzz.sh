#!/usr/bin/env bash
# Coverage-guided fuzzing of what attackers feed Rekey: binary and text envelopes, the JSON
# request readers, and connection-string handling (tests/Rekey.Fuzz). Runs afl-fuzz on each
# target for SECONDS (default 300) over copies of the Rekey assemblies instrumented by SharpFuzz,
# after replaying the kept corpus (tests/Rekey.Fuzz/corpus, past findings included) on a plain
# build. Prints each target's executions, corpus and crashes; exits 1 if any crash or hang was
# found (the inputs are copied to fuzz-findings/TARGET/).
#   ./scripts/fuzz.sh [SECONDS] [TARGET...]
# Installs afl++ with apt-get and the SharpFuzz command-line tool into .build/ when missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-300}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(envelope envelope-text json connection)

if ! command -v afl-fuzz >/dev/null; then
  echo "fuzz.sh: afl-fuzz not found; installing afl++" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++) >&2 \
    || { echo "fuzz.sh: could not install afl++" >&2; exit 1; }
fi

tools="$root/.build/tools"
if [ ! -x "$tools/sharpfuzz" ]; then
  dotnet tool install --tool-path "$tools" SharpFuzz.CommandLine --version 2.3.0 >/dev/null
fi

plain="$root/.build/fuzz/plain"
instrumented="$root/.build/fuzz/instrumented"
rm -rf "$plain" "$instrumented"
dotnet publish tests/Rekey.Fuzz -c Release -o "$plain" --nologo -v quiet >/dev/null
cp -r "$plain" "$instrumented"
for assembly in Rekey.Abstractions Rekey.Core Rekey.Api Rekey.Server Rekey.Storage.Sql Rekey.Storage.Postgres Rekey.Rewrap; do
  "$tools/sharpfuzz" "$instrumented/$assembly.dll" >/dev/null
done

export AFL_SKIP_BIN_CHECK=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
failed=0
for target in "${targets[@]}"; do
  dotnet "$plain/Rekey.Fuzz.dll" "$target" --replay "tests/Rekey.Fuzz/corpus/$target"
  out="$root/.build/fuzz/out-$target"
  rm -rf "$out"
  afl-fuzz -i "tests/Rekey.Fuzz/corpus/$target" -o "$out" -t 5000 -m none -V "$seconds" \
    -- dotnet "$instrumented/Rekey.Fuzz.dll" "$target" > "$root/.build/fuzz/afl-$target.log" 2>&1 \
    || { echo "fuzz.sh: afl-fuzz failed on $target; see .build/fuzz/afl-$target.log" >&2; tail -20 "$root/.build/fuzz/afl-$target.log" >&2; exit 1; }
  stats="$out/default/fuzzer_stats"
  value() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
  echo "fuzz $target: $(value execs_done) inputs run in ${seconds} s ($(value execs_per_sec)/s), corpus $(value corpus_count), crashes $(value saved_crashes), hangs $(value saved_hangs)"
  if [ "$(value saved_crashes)" != "0" ] || [ "$(value saved_hangs)" != "0" ]; then
    mkdir -p "fuzz-findings/$target"
    cp "$out"/default/crashes/id* "$out"/default/hangs/id* "fuzz-findings/$target/" 2>/dev/null || true
    echo "fuzz.sh: $target has findings in fuzz-findings/$target; replay one with: dotnet $plain/Rekey.Fuzz.dll $target --replay fuzz-findings/$target" >&2
    failed=1
  fi
done
exit "$failed"
