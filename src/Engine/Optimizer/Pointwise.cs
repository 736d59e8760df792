using Vigil.Engine.Graph;

namespace Vigil.Engine.Optimizer;

/// <summary>Names of Vigil's own fused operators in the graph.</summary>
public static class Ops
{
    /// <summary>An element-wise program over broadcast inputs (attributes <c>program</c>, <c>params</c>).</summary>
    public const string Pointwise = "VigilPointwise";
}

/// <summary>Element-wise operations a pointwise program (and a convolution epilogue) can hold.</summary>
public enum PwOp
{
    Add, Sub, Mul, Div, Pow, Max, Min,
    Relu, Sigmoid, Tanh, LeakyRelu, Clip, HardSigmoid, HardSwish, Exp, Neg, Sqrt, Abs, Reciprocal, Elu, Softplus, Mish, Silu,
}

/// <summary>One instruction: register = op(A, B) with parameters; registers 0..inputs-1 are the inputs.</summary>
public readonly record struct PwInstr(PwOp Op, int A, int B, float Alpha, float Beta);

/// <summary>
/// A fused element-wise program: a straight-line list of instructions over registers, the result is the last one.
/// Encoded in a node as ints (op, a, b per instruction) and floats (alpha, beta per instruction).
/// </summary>
public sealed class PwProgram
{
    public PwProgram(int inputs, IReadOnlyList<PwInstr> code) { Inputs = inputs; Code = code; }

    public int Inputs { get; }
    public IReadOnlyList<PwInstr> Code { get; }

    public static bool IsBinary(PwOp op) => op <= PwOp.Min;

    public long[] EncodeInts() => Code.SelectMany(c => new long[] { (long)c.Op, c.A, c.B }).ToArray();
    public float[] EncodeFloats() => Code.SelectMany(c => new[] { c.Alpha, c.Beta }).ToArray();

    public static PwProgram Decode(int inputs, long[] ints, float[] floats)
    {
        var code = new PwInstr[ints.Length / 3];
        for (int i = 0; i < code.Length; i++)
            code[i] = new PwInstr((PwOp)ints[3 * i], (int)ints[3 * i + 1], (int)ints[3 * i + 2], floats[2 * i], floats[2 * i + 1]);
        return new PwProgram(inputs, code);
    }

    public static PwProgram FromNode(Node n) => Decode(n.Inputs.Count, n.Ints("program")!, n.Floats("params")!);

    public void WriteTo(Node n)
    {
        n.Attributes["program"] = new NodeAttribute("program", Ints: EncodeInts());
        n.Attributes["params"] = new NodeAttribute("params", Floats: EncodeFloats());
    }

    /// <summary>Evaluates the program for one element (used by the CPU executor and constant folding).</summary>
    public float Eval(ReadOnlySpan<float> inputs, Span<float> regs)
    {
        for (int i = 0; i < inputs.Length; i++) regs[i] = inputs[i];
        int r = Inputs;
        foreach (var c in Code)
        {
            float a = regs[c.A], b = IsBinary(c.Op) ? regs[c.B] : 0f;
            regs[r++] = Apply(c.Op, a, b, c.Alpha, c.Beta);
        }
        return regs[r - 1];
    }

    public static float Apply(PwOp op, float a, float b, float alpha, float beta) => op switch
    {
        PwOp.Add => a + b,
        PwOp.Sub => a - b,
        PwOp.Mul => a * b,
        PwOp.Div => a / b,
        PwOp.Pow => MathF.Pow(a, b),
        PwOp.Max => MathF.Max(a, b),
        PwOp.Min => MathF.Min(a, b),
        PwOp.Relu => a > 0 ? a : 0,
        PwOp.Sigmoid => 1f / (1f + MathF.Exp(-a)),
        PwOp.Tanh => MathF.Tanh(a),
        PwOp.LeakyRelu => a >= 0 ? a : a * alpha,
        PwOp.Clip => MathF.Min(MathF.Max(a, alpha), beta),
        PwOp.HardSigmoid => MathF.Max(0, MathF.Min(1, alpha * a + beta)),
        PwOp.HardSwish => a * MathF.Max(0, MathF.Min(1, a / 6f + 0.5f)),
        PwOp.Exp => MathF.Exp(a),
        PwOp.Neg => -a,
        PwOp.Sqrt => MathF.Sqrt(a),
        PwOp.Abs => MathF.Abs(a),
        PwOp.Reciprocal => 1f / a,
        PwOp.Elu => a >= 0 ? a : alpha * (MathF.Exp(a) - 1),
        PwOp.Softplus => MathF.Log(1 + MathF.Exp(a)),
        PwOp.Mish => a * MathF.Tanh(MathF.Log(1 + MathF.Exp(a))),
        PwOp.Silu => a / (1f + MathF.Exp(-a)),
        _ => throw new InvalidOperationException($"pointwise op {op}"),
    };

    public override string ToString()
    {
        var parts = new List<string>();
        int r = Inputs;
        foreach (var c in Code)
            parts.Add(IsBinary(c.Op) ? $"r{r++}={c.Op}(r{c.A},r{c.B})" : $"r{r++}={c.Op}(r{c.A})");
        return string.Join("; ", parts);
    }

    /// <summary>The single-instruction program of an ONNX element-wise node, or null if the op is not element-wise.</summary>
    public static PwProgram? FromOnnx(Node n)
    {
        PwInstr U(PwOp op, float alpha = 0, float beta = 0) => new(op, 0, 0, alpha, beta);
        PwInstr? one = n.OpType switch
        {
            "Add" => new PwInstr(PwOp.Add, 0, 1, 0, 0),
            "Sub" => new PwInstr(PwOp.Sub, 0, 1, 0, 0),
            "Mul" => new PwInstr(PwOp.Mul, 0, 1, 0, 0),
            "Div" => new PwInstr(PwOp.Div, 0, 1, 0, 0),
            "Pow" => new PwInstr(PwOp.Pow, 0, 1, 0, 0),
            "Max" when n.Inputs.Count == 2 => new PwInstr(PwOp.Max, 0, 1, 0, 0),
            "Min" when n.Inputs.Count == 2 => new PwInstr(PwOp.Min, 0, 1, 0, 0),
            "Relu" => U(PwOp.Relu),
            "Sigmoid" => U(PwOp.Sigmoid),
            "Tanh" => U(PwOp.Tanh),
            "LeakyRelu" => U(PwOp.LeakyRelu, n.Float("alpha", 0.01f)),
            "HardSigmoid" => U(PwOp.HardSigmoid, n.Float("alpha", 0.2f), n.Float("beta", 0.5f)),
            "HardSwish" => U(PwOp.HardSwish),
            "Exp" => U(PwOp.Exp),
            "Neg" => U(PwOp.Neg),
            "Sqrt" => U(PwOp.Sqrt),
            "Abs" => U(PwOp.Abs),
            "Reciprocal" => U(PwOp.Reciprocal),
            "Elu" => U(PwOp.Elu, n.Float("alpha", 1f)),
            "Softplus" => U(PwOp.Softplus),
            "Mish" => U(PwOp.Mish),
            "Identity" or "Dropout" => null,
            _ => null,
        };
        return one is { } i ? new PwProgram(PwProgram.IsBinary(i.Op) ? 2 : 1, [i]) : null;
    }
}
