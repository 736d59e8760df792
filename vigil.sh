#!/usr/bin/env bash
# Sets everything up (Debian packages, sample video, models, build) and runs the vigil command line:
#   ./vigil.sh run configs/people.yaml
#   ./vigil.sh validate configs/people.yaml
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
"$root/scripts/setup.sh"
out="$root/out/vigil"
if [[ ! -x "$out/vigil" || -n "$(find "$root/src" -newer "$out/vigil" -name '*.cs' -o -newer "$out/vigil" -name '*.csproj' -o -newer "$out/vigil" -name '*.cu' | head -n 1)" ]]; then
  dotnet publish "$root/src/App/Vigil.App.csproj" -c Release -o "$out" -v q --nologo >&2
fi
exec "$out/vigil" "$@"
