#!/usr/bin/env bash
# Installs what Vigil needs on a Debian/Ubuntu machine with the .NET 10 SDK, then fetches the sample media
# and the models. Idempotent: a second run only checks. Used by vigil.sh and test.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pkgs=(ffmpeg libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libgtk-3-0 gcc libc6-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  if [[ $(id -u) -eq 0 ]]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v dotnet >/dev/null || { echo "setup: the .NET 10 SDK is required (dotnet not on PATH)" >&2; exit 1; }
"$root/sample-videos/fetch.sh" >/dev/null
"$root/models/fetch.sh" >/dev/null
