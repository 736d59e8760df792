#!/usr/bin/env bash
# Emulates the generated kernels of a model on the CPU. Usage: run.sh model.onnx fp32|fp16 direct|gemm batch
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
out=$(mktemp -d)
dotnet "$repo/benchmarks/Vigil.Benchmarks/bin/Debug/net10.0/Vigil.Benchmarks.dll" engine-emit "$1" "$2" "$3" "$4" "$out" >/dev/null
cd "$out"
g++ -std=c++20 -O2 -w -I"$out" "$here/emu.cpp" -o emu -lpthread
./emu
rm -rf "$out"
