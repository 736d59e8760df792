#!/usr/bin/env python3
"""PyTorch baseline for the engine benchmark: executes the same ONNX graph with torch ops on the GPU
(FP16, channels_last, cudnn.benchmark=True, eager) and prints images/s and latency per batch size.
Usage: torch_baseline.py model.onnx [batches, default 1,8,32,64]
Covers the operators of yolox_nano (Conv, Sigmoid, Mul, Add, Concat, Slice, MaxPool, Resize, Reshape, Transpose)."""
import sys, time
import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn.functional as F


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class OnnxTorch(torch.nn.Module):
    def __init__(self, model, dtype):
        super().__init__()
        self.graph = model.graph
        self.consts = {}
        for t in model.graph.initializer:
            a = numpy_helper.to_array(t)
            if a.dtype in (np.float32, np.float64):
                tt = torch.from_numpy(a.astype(np.float32)).cuda().to(dtype)
                if tt.dim() == 4:
                    tt = tt.contiguous(memory_format=torch.channels_last)
                self.consts[t.name] = tt
            else:
                self.consts[t.name] = a  # integer constants stay on the host (shapes, slice bounds)
        self.nodes = [(n, attrs(n)) for n in model.graph.node]

    def forward(self, x):
        v = dict(self.consts)
        v[self.graph.input[0].name] = x
        for n, a in self.nodes:
            i = [v[k] if k else None for k in n.input]
            op = n.op_type
            if op == "Conv":
                p = a.get("pads", [0, 0, 0, 0])
                y = F.conv2d(i[0], i[1], i[2] if len(i) > 2 else None, a.get("strides", [1, 1]), (p[0], p[1]), a.get("dilations", [1, 1]), a.get("group", 1))
            elif op == "Sigmoid": y = torch.sigmoid(i[0])
            elif op == "Relu": y = torch.relu(i[0])
            elif op == "Mul": y = i[0] * i[1]
            elif op == "Add": y = i[0] + i[1]
            elif op == "Sub": y = i[0] - i[1]
            elif op == "Div": y = i[0] / i[1]
            elif op == "Concat": y = torch.cat(i, dim=a["axis"])
            elif op == "MaxPool":
                p = a.get("pads", [0, 0, 0, 0])
                y = F.max_pool2d(i[0], a["kernel_shape"], a.get("strides", a["kernel_shape"]), (p[0], p[1]), ceil_mode=bool(a.get("ceil_mode", 0)))
            elif op == "Resize":
                scales = i[2] if len(i) > 2 and i[2] is not None and np.size(i[2]) else None
                y = F.interpolate(i[0], scale_factor=(float(scales[2]), float(scales[3])), mode="nearest")
            elif op == "Slice":
                starts, ends = list(i[1]), list(i[2])
                axes = list(i[3]) if len(i) > 3 and i[3] is not None else list(range(len(starts)))
                steps = list(i[4]) if len(i) > 4 and i[4] is not None else [1] * len(starts)
                sl = [slice(None)] * i[0].dim()
                for s, e, ax, st in zip(starts, ends, axes, steps):
                    sl[ax] = slice(int(s), int(min(e, 2**62)), int(st))
                y = i[0][tuple(sl)]
            elif op == "Reshape":
                shape = [int(d) for d in i[1]]
                if shape[0] == 1:
                    shape[0] = i[0].shape[0]  # the graph was exported at batch 1
                y = i[0].reshape(shape)
            elif op == "Transpose": y = i[0].permute(*a["perm"])
            else:
                raise NotImplementedError(op)
            v[n.output[0]] = y
        return v[self.graph.output[0].name]


def main():
    path = sys.argv[1]
    batches = [int(b) for b in (sys.argv[2] if len(sys.argv) > 2 else "1,8,32,64").split(",")]
    torch.backends.cudnn.benchmark = True
    model = onnx.load(path)
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    # Sanity: FP32 torch vs onnxruntime CPU on one image, so the baseline computes the same function.
    try:
        import onnxruntime as ort
        x = (np.random.RandomState(0).rand(*shape) * 255).astype(np.float32)
        ref = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {model.graph.input[0].name: x})[0]
        with torch.inference_mode():
            got = OnnxTorch(model, torch.float32)(torch.from_numpy(x).cuda()).float().cpu().numpy()
        print(f"torch fp32 vs onnxruntime: relative L2 {np.linalg.norm(got - ref) / np.linalg.norm(ref):.3e}")
    except Exception as e:  # the baseline still runs; the check is informative
        print(f"torch vs onnxruntime check skipped: {e}")
    net = OnnxTorch(model, torch.float16)
    print(f"PyTorch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}, {torch.cuda.get_device_name(0)}; FP16, channels_last, cudnn.benchmark=True, eager")
    print("| batch | images/s | p50 ms | p99 ms |")
    print("|---|---|---|---|")
    with torch.inference_mode():
        for b in batches:
            x = (torch.rand(b, *shape[1:], device="cuda") * 255).half().contiguous(memory_format=torch.channels_last)
            for _ in range(20):
                net(x)
            torch.cuda.synchronize()
            iters = max(20, 2000 // b)
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            for _ in range(iters):
                net(x)
            e.record(); e.synchronize()
            ips = b * iters / (s.elapsed_time(e) / 1000)
            lat = []
            for _ in range(100):
                s.record(); net(x); e.record(); e.synchronize()
                lat.append(s.elapsed_time(e))
            lat.sort()
            print(f"| {b} | {ips:.0f} | {lat[len(lat) // 2]:.3f} | {lat[int(len(lat) * 0.99)]:.3f} |")


if __name__ == "__main__":
    main()
