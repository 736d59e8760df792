using System.Text;
using Vigil.Engine.Plan;

namespace Vigil.Engine.Gpu;

// Kernels that complete a library tactic (cuDNN convolution, cuBLAS GEMM): the library writes the raw product into
// the layer's output, and this kernel finishes it in place with the bias and the layer's fused epilogue.
public sealed partial class KernelGenerator
{
    /// <summary>Function name of layer <paramref name="index"/>'s library epilogue kernel.</summary>
    public static string LibraryEpilogueFunction(int index) => $"L{index}_libepi";

    /// <summary>
    /// The in-place epilogue after a library call for layer <paramref name="index"/>: Conv: y = epilogue(y + bias[c],
    /// residuals...); Gemm: y = y + bias[m]. The same arithmetic as the NVRTC kernels' epilogue, on the library's result
    /// read back in the storage precision. Launched as tiles of 256 threads per image (blockIdx.z = image, 32-bit
    /// indices); FP16 plans handle two neighbouring elements per thread with one 4-byte load and store when the output
    /// is 2-element aligned in every image.
    /// </summary>
    public KernelCandidate LibraryEpilogue(int index)
    {
        var l = _p.Layers[index];
        string fn = LibraryEpilogueFunction(index);
        var y = l.Outputs[0];
        var b = _p.Buffers[y.Buffer];
        long work, per;
        switch (l.Kind)
        {
            case LayerKind.Conv:
                per = l.I[4] * l.I[5];
                work = l.I[3] * per;
                break;
            case LayerKind.Gemm:
                per = l.I[2];
                work = l.I[0] * per;
                break;
            default:
                throw new EngineException($"layer '{l.Name}': {l.Kind} has no library tactic");
        }
        string Channel(string r) => l.Kind == LayerKind.Conv ? $"({r}) / {per}" : $"({r}) % {per}";
        string bias = ConstF(l.Inputs[2]);
        int vec = _half && work % 2 == 0 && b.Offset % 2 == 0 && b.SampleSize % 2 == 0 && y.Offset % 2 == 0 ? 2 : 1;
        var sb = new StringBuilder();
        sb.Append($$"""
            extern "C" __global__ void __launch_bounds__(256) {{fn}}(KARGS) {
              int r = (blockIdx.x * 256 + threadIdx.x) * {{vec}};
              if (r >= {{work}}) return;
              int n = blockIdx.z;
              T* y = A + {{Addr(y, "n")}};

            """);
        if (vec == 1)
        {
            sb.Append($"  float v = LD(y[r]) + {bias}[{Channel("r")}];\n");
            string res = l.Kind == LayerKind.Conv ? Epilogue(sb, l, "v", "n", "r") : "v";
            sb.Append($"  y[r] = ST({res});\n}}\n\n");
        }
        else
        {
            sb.Append("  unsigned int pair = *(const unsigned int*)(y + r);\n  float o0, o1;\n");
            for (int k = 0; k < 2; k++)
            {
                string rk = k == 0 ? "r" : "(r + 1)";
                sb.Append($"  {{\n  float v = LD((T)({(k == 0 ? "pair & 0xffffu" : "pair >> 16")})) + {bias}[{Channel(rk)}];\n");
                string res = l.Kind == LayerKind.Conv ? Epilogue(sb, l, "v", "n", rk) : "v";
                sb.Append($"  o{k} = {res};\n  }}\n");
            }
            sb.Append("  *(unsigned int*)(y + r) = (unsigned int)ST(o0) | ((unsigned int)ST(o1) << 16);\n}\n\n");
        }
        long threads = (work + vec - 1) / vec;
        return new KernelCandidate("library-epilogue", sb.ToString(), new KernelLaunch(fn, 0, (int)((threads + 255) / 256), 1));
    }
}
