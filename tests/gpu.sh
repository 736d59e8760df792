#!/usr/bin/env bash
# Runs the GPU tests (tests/Vigil.Gpu.Tests) on a machine with an NVIDIA GPU, CUDA 13, cuDNN 9 and NVDEC.
#   tests/gpu.sh                 build, then run the tests here (needs the .NET SDK)
#   tests/gpu.sh --kit           build and pack them with the .NET runtime into .devkit/ for a GPU machine
#                                without .NET (then there: bash .devkit/run.sh dotnet .devkit/gpu-tests/Vigil.Gpu.Tests.dll)
# The GPU tests read the sample videos and models: sample-videos/fetch.sh and models/fetch.sh provide them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/out/gpu-tests"
dotnet publish "$root/tests/Vigil.Gpu.Tests/Vigil.Gpu.Tests.csproj" -c Release -o "$out" -v q --nologo
if [[ "${1:-}" == "--kit" ]]; then
  "$root/../shared/device/make-kit.sh" "$out"
  exit 0
fi
command -v nvidia-smi >/dev/null || { echo "tests/gpu.sh: no NVIDIA GPU here (nvidia-smi not found); use --kit for a GPU machine" >&2; exit 2; }
exec dotnet "$out/Vigil.Gpu.Tests.dll" "$@"
