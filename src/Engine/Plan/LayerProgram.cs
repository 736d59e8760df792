using System.Text;
using Vigil.Engine.Graph;

namespace Vigil.Engine.Plan;

/// <summary>The kinds of layers in an optimized program (the unit a kernel runs).</summary>
public enum LayerKind
{
    /// <summary>2-D convolution + bias + fused element-wise epilogue (activation, residual).</summary>
    Conv = 1,
    /// <summary>Per image: R x K rows times a constant K x M (stored M x K) plus bias.</summary>
    Gemm = 2,
    /// <summary>Max or average pooling.</summary>
    Pool = 3,
    /// <summary>Fused element-wise program over broadcast inputs.</summary>
    Pointwise = 4,
    /// <summary>Mean/sum/max over a contiguous range of axes.</summary>
    Reduce = 5,
    Transpose = 6,
    /// <summary>Strided slice copy.</summary>
    Slice = 7,
    /// <summary>Row copy: one input of a concat that was not eliminated, or a graph output made dense.</summary>
    Copy = 8,
    Resize = 9,
    Softmax = 10,
}

/// <summary>
/// Where a tensor lives: a buffer of the activation arena (per-image stride = the buffer's sample size) at an element
/// offset inside each image, or a constant. <see cref="Shape"/> is the per-image shape (no batch dimension) for
/// activations, the full shape for constants.
/// </summary>
public sealed record TensorRef(int Buffer, long Offset, int[] Shape, int Const = -1)
{
    public bool IsConst => Const >= 0;
    public long Count => Shapes.Count(Shape);
    public static TensorRef ForConst(int index, int[] shape) => new(-1, 0, shape, index);
}

/// <summary>One layer: kind, operands, integer and float parameters (layout documented per kind in <see cref="ProgramBuilder"/>).</summary>
public sealed class Layer
{
    public required string Name { get; init; }
    public required LayerKind Kind { get; init; }
    public required TensorRef[] Inputs { get; init; }
    public required TensorRef[] Outputs { get; init; }
    public long[] I { get; init; } = [];
    public float[] F { get; init; } = [];
    /// <summary>The kernel chosen for this layer (set by the builder's tactic selection) and its measured time.</summary>
    public string Tactic { get; set; } = "";
    public float TacticMicroseconds { get; set; }
}

/// <summary>
/// A buffer of the activation arena: elements per image, and its per-image offset (arena address = batch * offset +
/// image * size), both in arena elements. <see cref="Fp32"/>: in an FP16 plan this buffer is stored in FP32 (each value
/// takes two arena elements; tensor offsets inside it count FP32 values) because FP16 would overflow there.
/// </summary>
public sealed record BufferInfo(long SampleSize, long Offset, bool Fp32 = false);

/// <summary>A named graph input or output bound to a dense buffer.</summary>
public sealed record ProgramIO(string Name, TensorRef Ref);

/// <summary>
/// The optimized layer program: what a plan stores and what both the CPU reference executor and the GPU runtime run.
/// Activations live in one arena of <see cref="ArenaPerSample"/> elements per image.
/// </summary>
public sealed class LayerProgram
{
    public List<Layer> Layers { get; } = [];
    public List<BufferInfo> Buffers { get; } = [];
    public List<ConstTensor> Constants { get; } = [];
    public List<string> ConstantNames { get; } = [];
    public List<ProgramIO> Inputs { get; } = [];
    public List<ProgramIO> Outputs { get; } = [];
    public long ArenaPerSample { get; set; }

    public long SampleStride(TensorRef r) => Buffers[r.Buffer].SampleSize;

    /// <summary>
    /// Stores the given buffers in FP32 inside an FP16 plan: each gets a fresh region of twice its size at the end of the
    /// arena (no sharing, so no lifetime analysis is needed). Tensor offsets inside the buffers are unchanged.
    /// </summary>
    public void KeepInFp32(IEnumerable<int> buffers)
    {
        foreach (int b in buffers.Distinct().Order())
        {
            var info = Buffers[b];
            if (info.Fp32) continue;
            long size = (info.SampleSize * 2 + 63) / 64 * 64;
            Buffers[b] = new BufferInfo(size, ArenaPerSample, true);
            ArenaPerSample += size;
        }
    }

    /// <summary>Element address of image <paramref name="n"/> of <paramref name="r"/> in an arena run at batch <paramref name="batch"/>.</summary>
    public long Address(TensorRef r, int batch, int n) => batch * Buffers[r.Buffer].Offset + n * Buffers[r.Buffer].SampleSize + r.Offset;

    public string Describe()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < Layers.Count; i++)
        {
            var l = Layers[i];
            string io(TensorRef r) => r.IsConst ? $"const#{r.Const}{Shapes.Format(r.Shape)}" : $"b{r.Buffer}+{r.Offset}{Shapes.Format(r.Shape)}";
            sb.Append($"  [{i,3}] {l.Kind,-10} {l.Name}: {string.Join(", ", l.Inputs.Select(io))} -> {string.Join(", ", l.Outputs.Select(io))}");
            if (l.Tactic.Length > 0) sb.Append($"  tactic {l.Tactic} {l.TacticMicroseconds:F1} us");
            sb.Append('\n');
        }
        return sb.ToString();
    }
}
