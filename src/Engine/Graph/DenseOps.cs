namespace Vigil.Engine.Graph;

/// <summary>
/// Evaluation of shape-computation operators on host constants, used by constant folding. Activations never go
/// through here (they run in the layer program); these are the small integer/float subgraphs exporters leave behind.
/// </summary>
internal static class DenseOps
{
    public static readonly HashSet<string> Foldable = new(StringComparer.Ordinal)
    {
        "Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Concat", "Gather", "Slice", "Cast", "ConstantOfShape",
        "Shape", "Add", "Sub", "Mul", "Div", "Neg", "Sqrt", "Transpose", "Range", "Dropout", "Reciprocal", "Exp", "Relu",
        "Sigmoid", "Pow", "Min", "Max", "Clip", "Tanh",
    };

    /// <summary>Evaluates <paramref name="node"/> whose inputs are all constants (omitted optional inputs are null).</summary>
    public static ConstTensor[] Evaluate(Node node, ConstTensor?[] inputs, long opset)
    {
        ConstTensor In(int i) => i < inputs.Length && inputs[i] is { } t ? t : throw new EngineException($"{node.Describe()}: input {i} is missing");
        switch (node.OpType)
        {
            case "Identity" or "Dropout":
                return [In(0)];
            case "Cast":
            {
                long to = node.Int("to", 1);
                var x = In(0);
                return to is 1 or 10 or 11 or 16 ? [new ConstTensor(x.Shape, x.AsFloats())] : [new ConstTensor(x.Shape, x.AsLongs())];
            }
            case "Reshape" or "Flatten" or "Squeeze" or "Unsqueeze":
            {
                var x = In(0);
                int[] shape = ShapeInference.ReshapeLike(node, x.Shape, i => i < inputs.Length ? inputs[i] : null, opset);
                return [x.Floats is not null ? new ConstTensor(shape, x.Floats) : new ConstTensor(shape, x.Longs!)];
            }
            case "ConstantOfShape":
            {
                int[] shape = In(0).AsLongs().Select(v => checked((int)v)).ToArray();
                var value = node.Attributes.TryGetValue("value", out var a) && a.Tensor is { } vt ? vt : new ConstTensor([1], new float[] { 0f });
                long n = Shapes.Count(shape);
                return value.Floats is not null
                    ? [new ConstTensor(shape, Enumerable.Repeat(value.Floats[0], (int)n).ToArray())]
                    : [new ConstTensor(shape, Enumerable.Repeat(value.Longs![0], (int)n).ToArray())];
            }
            case "Concat":
            {
                var parts = inputs.Where(t => t is not null).Select(t => t!).ToArray();
                int[] shape = ShapeInference.ConcatShape(node, parts.Select(p => p.Shape).ToArray());
                int axis = ShapeInference.Axis(node, node.Int("axis", 0), shape.Length);
                bool isFloat = parts.Any(p => p.Floats is not null);
                long outer = Shapes.Count(shape.AsSpan(0, axis));
                var f = isFloat ? new float[Shapes.Count(shape)] : null;
                var l = isFloat ? null : new long[Shapes.Count(shape)];
                long rowOut = Shapes.Count(shape.AsSpan(axis));
                long off = 0;
                foreach (var p in parts)
                {
                    long row = Shapes.Count(p.Shape.AsSpan(axis));
                    var pf = isFloat ? p.AsFloats() : null;
                    var pl = isFloat ? null : p.AsLongs();
                    for (long o = 0; o < outer; o++)
                        for (long k = 0; k < row; k++)
                            if (isFloat) f![o * rowOut + off + k] = pf![o * row + k];
                            else l![o * rowOut + off + k] = pl![o * row + k];
                    off += row;
                }
                return [isFloat ? new ConstTensor(shape, f!) : new ConstTensor(shape, l!)];
            }
            case "Gather":
            {
                var x = In(0);
                var idx = In(1);
                int axis = ShapeInference.Axis(node, node.Int("axis", 0), x.Shape.Length);
                int[] shape = [.. x.Shape[..axis], .. idx.Shape, .. x.Shape[(axis + 1)..]];
                long outer = Shapes.Count(x.Shape.AsSpan(0, axis)), inner = Shapes.Count(x.Shape.AsSpan(axis + 1));
                long dim = x.Shape[axis];
                var ix = idx.AsLongs();
                var src = x.AsFloats();
                var dst = new float[Shapes.Count(shape)];
                long p = 0;
                for (long o = 0; o < outer; o++)
                    foreach (long i0 in ix)
                    {
                        long i = i0 < 0 ? i0 + dim : i0;
                        if (i < 0 || i >= dim) throw new EngineException($"{node.Describe()}: index {i0} out of range for axis of size {dim}");
                        for (long k = 0; k < inner; k++) dst[p++] = src[(o * dim + i) * inner + k];
                    }
                return [x.Floats is not null ? new ConstTensor(shape, dst) : new ConstTensor(shape, dst.Select(v => (long)v).ToArray())];
            }
            case "Slice":
            {
                var x = In(0);
                var spec = ShapeInference.SliceSpec(node, x.Shape, i => i < inputs.Length ? inputs[i] : null, opset);
                var src = x.AsFloats();
                var dst = new float[Shapes.Count(spec.OutShape)];
                var inStr = Shapes.Strides(x.Shape);
                var idx = new int[x.Shape.Length];
                for (long p = 0; p < dst.Length; p++)
                {
                    long rem = p, s = 0;
                    for (int d = x.Shape.Length - 1; d >= 0; d--)
                    {
                        long c = rem % spec.OutShape[d]; rem /= spec.OutShape[d];
                        s += (spec.Starts[d] + c * spec.Steps[d]) * inStr[d];
                    }
                    dst[p] = src[s];
                }
                return [x.Floats is not null ? new ConstTensor(spec.OutShape, dst) : new ConstTensor(spec.OutShape, dst.Select(v => (long)v).ToArray())];
            }
            case "Transpose":
            {
                var x = In(0);
                int r = x.Shape.Length;
                long[] perm = node.Ints("perm") ?? Enumerable.Range(0, r).Reverse().Select(i => (long)i).ToArray();
                int[] shape = perm.Select(p => x.Shape[p]).ToArray();
                var inStr = Shapes.Strides(x.Shape);
                var src = x.AsFloats();
                var dst = new float[src.Length];
                for (long p = 0; p < dst.Length; p++)
                {
                    long rem = p, s = 0;
                    for (int d = r - 1; d >= 0; d--) { long c = rem % shape[d]; rem /= shape[d]; s += c * inStr[perm[d]]; }
                    dst[p] = src[s];
                }
                return [x.Floats is not null ? new ConstTensor(shape, dst) : new ConstTensor(shape, dst.Select(v => (long)v).ToArray())];
            }
            case "Range":
            {
                var s = In(0); var l = In(1); var d = In(2);
                if (s.Floats is null)
                {
                    long a = s.AsLongs()[0], b = l.AsLongs()[0], st = d.AsLongs()[0];
                    var v = new List<long>();
                    for (long x = a; st > 0 ? x < b : x > b; x += st) v.Add(x);
                    return [new ConstTensor([v.Count], v.ToArray())];
                }
                else
                {
                    float a = s.Floats[0], b = l.AsFloats()[0], st = d.AsFloats()[0];
                    int n = Math.Max(0, (int)MathF.Ceiling((b - a) / st));
                    return [new ConstTensor([n], Enumerable.Range(0, n).Select(i => a + i * st).ToArray())];
                }
            }
            default:
                return [Elementwise(node, inputs)];
        }
    }

    private static ConstTensor Elementwise(Node node, ConstTensor?[] inputs)
    {
        var present = inputs.Select(t => t).ToArray();
        var a = present[0] ?? throw new EngineException($"{node.Describe()}: input 0 is missing");
        int[] shape = a.Shape;
        foreach (var t in present.Skip(1))
            if (t is not null)
                shape = Shapes.Broadcast(shape, t.Shape) ?? throw new EngineException($"{node.Describe()}: shapes {Shapes.Format(a.Shape)} and {Shapes.Format(t.Shape)} do not broadcast");
        bool isLong = present.All(t => t is null || t.Floats is null);
        long n = Shapes.Count(shape);
        double Get(ConstTensor t, long p)
        {
            long rem = p, off = 0, stride = 1;
            for (int d = shape.Length - 1, e = t.Shape.Length - 1; d >= 0; d--, e--)
            {
                long c = rem % shape[d]; rem /= shape[d];
                if (e >= 0) { if (t.Shape[e] != 1) off += c * stride; stride *= t.Shape[e]; }
            }
            return t.Floats is not null ? t.Floats[off] : t.Longs![off];
        }
        var res = new double[n];
        for (long p = 0; p < n; p++)
        {
            double x = Get(a, p);
            double y = present.Length > 1 && present[1] is { } b ? Get(b, p) : 0;
            res[p] = node.OpType switch
            {
                "Add" => x + y,
                "Sub" => x - y,
                "Mul" => x * y,
                "Div" => isLong ? Math.Truncate(x / y) : x / y,
                "Neg" => -x,
                "Sqrt" => Math.Sqrt(x),
                "Reciprocal" => 1 / x,
                "Exp" => Math.Exp(x),
                "Relu" => Math.Max(0, x),
                "Sigmoid" => 1 / (1 + Math.Exp(-x)),
                "Tanh" => Math.Tanh(x),
                "Pow" => Math.Pow(x, y),
                "Min" => Math.Min(x, y),
                "Max" => Math.Max(x, y),
                "Clip" => Math.Min(Math.Max(x, present.Length > 1 && present[1] is not null ? y : node.Float("min", float.MinValue)),
                    present.Length > 2 && present[2] is { } hi ? Get(hi, p) : node.Float("max", float.MaxValue)),
                _ => throw new EngineException($"{node.Describe()}: operator cannot be folded on constants"),
            };
        }
        return isLong ? new ConstTensor(shape, res.Select(v => (long)v).ToArray()) : new ConstTensor(shape, res.Select(v => (float)v).ToArray());
    }
}
