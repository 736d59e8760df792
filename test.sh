#!/usr/bin/env bash
# Installs what the tests need (Debian packages incl. FFmpeg headers and gcc for the struct-layout tests,
# sample video, models) and runs the whole CPU test suite. GPU tests run on a GPU machine: see tests/gpu.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
"$root/scripts/setup.sh"
log=$(mktemp)
set +e
dotnet test "$root/tests/Vigil.Tests/Vigil.Tests.csproj" -c Release --nologo "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
summary=$(grep -E "(Passed|Failed)! +- +Failed: +[0-9]+, Passed: +[0-9]+" "$log" | tail -n 1)
if [[ -n "$summary" ]]; then
  failed=$(sed -E 's/.*Failed: +([0-9]+).*/\1/' <<<"$summary")
  passed=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$summary")
  skipped=$(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$summary")
  echo "GPU tests (tests/Vigil.Gpu.Tests): not run here: this machine has no NVIDIA GPU; run tests/gpu.sh on one"
  echo "$passed passed, $failed failed, $skipped skipped"
fi
rm -f "$log"
exit "$rc"
