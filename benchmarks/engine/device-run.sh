#!/usr/bin/env bash
# One device call: engine GPU tests, engine benchmark, PyTorch baseline. Run from the repository root of the
# device copy with the payload in .gpu-engine/ (devkit/, models/ with vtest_416.bgr, torch_baseline.py).
# Payload, on the development machine (worktree root):
#   dotnet publish tests/Vigil.Gpu.Tests -c Release -r linux-x64 --self-contained false -o out/gpu-tests
#   dotnet publish benchmarks/Vigil.Benchmarks -c Release -r linux-x64 --self-contained false -o out/bench
#   rm out/bench/libOpenCvSharpExtern.so out/bench/libonnxruntime*.so     # keeps the carried tree under 64 MiB
#   ../shared/device/make-kit.sh out/gpu-tests out/bench; cp -r .devkit <main>/.gpu-engine/devkit
#   cp models/*.onnx <main>/.gpu-engine/models/; cp benchmarks/engine/{device-run.sh,torch_baseline.py} <main>/.gpu-engine/
#   ffmpeg -i sample-videos/vtest.mp4 -vf "select='eq(n\,0)+eq(n\,200)+eq(n\,400)+eq(n\,600)',scale=416:312:flags=bilinear,pad=416:416:0:0:color=0x727272" \
#          -vsync 0 -pix_fmt bgr24 -f rawvideo <main>/.gpu-engine/models/vtest_416.bgr
# then run with carry [".gpu-engine"]: bash .gpu-engine/device-run.sh
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
  timeout "${BENCH_TIMEOUT:-200}" bash $g/devkit/run.sh dotnet $g/devkit/bench/Vigil.Benchmarks.dll engine --model $g/models/yolox_nano_416x416.onnx --out "$OUT" ${BENCH_ARGS:-} > "$OUT/bench.log" 2>&1
  echo "bench exit $?"; tail -25 "$OUT/bench.log"
  [[ "${SKIP_TORCH:-0}" == 1 ]] || PYTHONUNBUFFERED=1 timeout "${TORCH_TIMEOUT:-100}" python3 $g/torch_baseline.py $g/models/yolox_nano_416x416.onnx > "$OUT/torch.log" 2>&1
  [[ "${SKIP_TORCH:-0}" == 1 ]] || { echo "torch exit $?"; tail -12 "$OUT/torch.log"; }
fi
cat "$OUT/report.txt" 2>/dev/null; cat "$OUT/gpu.txt"
