#!/usr/bin/env bash
# One device call: engine GPU tests, engine benchmark, PyTorch baseline. Run from the repository root of the
# device copy with the payload in .gpu-engine/ (devkit/, models/ with vtest_416.bgr, torch_baseline.py).
set -o pipefail
g=.gpu-engine
export VIGIL_MODELS=$PWD/$g/models VIGIL_ENGINE_REPORT=$OUT/report.txt VIGIL_CACHE=/tmp/vigil-cache
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv > "$OUT/gpu.txt" 2>&1
nvcc --version 2>/dev/null | tail -2 >> "$OUT/gpu.txt"
if [[ "${SKIP_TESTS:-0}" != 1 ]]; then
  timeout "${TEST_TIMEOUT:-300}" bash $g/devkit/run.sh dotnet $g/devkit/gpu-tests/Vigil.Gpu.Tests.dll -namespace Vigil.Gpu.Tests.Engine ${TEST_ARGS:-} > "$OUT/tests.log" 2>&1
  echo "tests exit $?"; grep -E "^\s*(\[FAIL\]|Failed|Passed|Total|=== TEST)|FAIL|Error Message" -A3 "$OUT/tests.log" | head -60
fi
if [[ "${SKIP_BENCH:-0}" != 1 ]]; then
  timeout "${BENCH_TIMEOUT:-200}" bash $g/devkit/run.sh dotnet $g/devkit/bench/Vigil.Benchmarks.dll engine --model $g/models/yolox_nano_416x416.onnx --out "$OUT" > "$OUT/bench.log" 2>&1
  echo "bench exit $?"; tail -25 "$OUT/bench.log"
  PYTHONUNBUFFERED=1 timeout "${TORCH_TIMEOUT:-100}" python3 $g/torch_baseline.py $g/models/yolox_nano_416x416.onnx > "$OUT/torch.log" 2>&1
  echo "torch exit $?"; cat "$OUT/torch.log" | tail -12
fi
cat "$OUT/report.txt" 2>/dev/null; cat "$OUT/gpu.txt"
