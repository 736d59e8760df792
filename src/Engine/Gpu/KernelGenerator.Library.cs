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
    /// residuals...); Gemm: y = y + bias[m]. One thread per output element, the same arithmetic as the NVRTC kernels'
    /// epilogue (the library's result is read back in the storage precision first).
    /// </summary>
    public KernelCandidate LibraryEpilogue(int index)
    {
        var l = _p.Layers[index];
        string fn = LibraryEpilogueFunction(index);
        var y = l.Outputs[0];
        var sb = new StringBuilder();
        long work;
        string channel;
        switch (l.Kind)
        {
            case LayerKind.Conv:
                long P = l.I[4] * l.I[5];
                work = l.I[3] * P;
                channel = $"(int)(r / {P}L)";
                break;
            case LayerKind.Gemm:
                long M = l.I[2];
                work = l.I[0] * M;
                channel = $"(int)(r % {M}L)";
                break;
            default:
                throw new EngineException($"layer '{l.Name}': {l.Kind} has no library tactic");
        }
        sb.Append($$"""
            extern "C" __global__ void __launch_bounds__(256) {{fn}}(KARGS) {
              long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
              if (idx >= (long)N * {{work}}L) return;
              int n = (int)(idx / {{work}}L);
              long r = idx - (long)n * {{work}}L;
              T* y = A + {{Addr(y, "n")}};
              float v = LD(y[r]) + {{ConstF(l.Inputs[2])}}[{{channel}}];

            """);
        string res = l.Kind == LayerKind.Conv ? Epilogue(sb, l, "v", "n", "r") : "v";
        sb.Append($"  y[r] = ST({res});\n}}\n\n");
        return new KernelCandidate("library-epilogue", sb.ToString(), new KernelLaunch(fn, work));
    }
}
