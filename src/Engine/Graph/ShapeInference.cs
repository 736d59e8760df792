namespace Vigil.Engine.Graph;

/// <summary>Normalised slice: per-dimension start and step over the whole input, and the output shape.</summary>
internal sealed record SliceInfo(long[] Starts, long[] Steps, int[] OutShape);

/// <summary>
/// Shape inference through the whole graph for a given batch size, folding constant subgraphs on the way.
/// Every failure names the node, its operator and the reason.
/// </summary>
public static class ShapeInference
{
    /// <summary>The operators the engine implements (after constant folding).</summary>
    public static readonly HashSet<string> Supported = new(StringComparer.Ordinal)
    {
        "Conv", "BatchNormalization", "Relu", "Sigmoid", "Tanh", "LeakyRelu", "Clip", "HardSigmoid", "HardSwish", "Exp", "Neg",
        "Sqrt", "Abs", "Reciprocal", "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "MaxPool", "AveragePool",
        "GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "ReduceSum", "ReduceMax", "Gemm", "MatMul", "Flatten", "Reshape",
        "Squeeze", "Unsqueeze", "Identity", "Dropout", "Transpose", "Concat", "Split", "Slice", "Resize", "Upsample",
        "Softmax", "Constant", "ConstantOfShape", "Shape", "Gather", "Cast", "Range", "Elu", "Softplus", "Mish",
        // Vigil's own fused operators, produced by the optimizer.
        Optimizer.Ops.Pointwise,
    };

    /// <summary>
    /// Infers every tensor's shape at the given batch (graph inputs' first dimension replaced by it). When
    /// <paramref name="fold"/> is set, nodes whose inputs are all constants are evaluated and removed from the graph
    /// (constant folding); otherwise they are evaluated transiently.
    /// </summary>
    public static Dictionary<string, int[]> Run(ModelGraph g, int batch, bool fold = false)
    {
        var shapes = new Dictionary<string, int[]>(StringComparer.Ordinal);
        var consts = new Dictionary<string, ConstTensor>(g.Constants, StringComparer.Ordinal);
        foreach (var input in g.Inputs)
        {
            if (input.Shape.Length == 0)
                throw new EngineException($"graph input '{input.Name}' has no declared shape");
            var s = (int[])input.Shape.Clone();
            s[0] = batch;
            for (int d = 1; d < s.Length; d++)
                if (s[d] <= 0)
                    throw new EngineException($"graph input '{input.Name}' has a dynamic dimension {d} ({Shapes.Format(input.Shape)}); only the batch dimension may vary");
            shapes[input.Name] = s;
        }
        var kept = new List<Node>();
        foreach (var node in g.Nodes)
        {
            if (!Supported.Contains(node.OpType))
                throw new EngineException($"{node.Describe()}: operator not supported by Vigil's engine");
            foreach (var i in node.Inputs)
                if (i.Length > 0 && !consts.ContainsKey(i) && !shapes.ContainsKey(i))
                    throw new EngineException($"{node.Describe()}: input '{i}' is produced by no node, initializer or graph input");

            bool allConst = node.Inputs.All(i => i.Length == 0 || consts.ContainsKey(i));
            ConstTensor[]? folded = null;
            if (node.OpType == "Constant")
                folded = [ConstantValue(node)];
            else if (node.OpType == "Shape" && node.Inputs.Count > 0 && shapes.TryGetValue(node.Inputs[0], out var ss))
                folded = [new ConstTensor([ss.Length], ss.Select(v => (long)v).ToArray())];
            else if (allConst && DenseOps.Foldable.Contains(node.OpType))
            {
                try { folded = DenseOps.Evaluate(node, node.Inputs.Select(i => i.Length == 0 ? null : consts[i]).ToArray(), g.OpsetVersion); }
                catch (EngineException) { throw; }
                catch (Exception ex) when (ex is IndexOutOfRangeException or ArgumentException or InvalidDataException or OverflowException)
                {
                    throw new EngineException($"{node.Describe()}: constant folding failed: {ex.Message}", ex);
                }
            }
            if (folded is not null)
            {
                for (int k = 0; k < node.Outputs.Count && k < folded.Length; k++)
                {
                    consts[node.Outputs[k]] = folded[k];
                    if (fold) g.Constants[node.Outputs[k]] = folded[k];
                }
                if (!fold) kept.Add(node);
                continue;
            }
            if (allConst)
                throw new EngineException($"{node.Describe()}: all inputs are constants but the operator cannot be folded on the host");

            int[] S(int i) => i < node.Inputs.Count && node.Inputs[i].Length > 0
                ? (shapes.TryGetValue(node.Inputs[i], out var s) ? s : consts[node.Inputs[i]].Shape)
                : throw new EngineException($"{node.Describe()}: input {i} is missing");
            ConstTensor? C(int i) => i < node.Inputs.Count && node.Inputs[i].Length > 0 && consts.TryGetValue(node.Inputs[i], out var c) ? c : null;
            bool IsConst(int i) => i < node.Inputs.Count && node.Inputs[i].Length > 0 && consts.ContainsKey(node.Inputs[i]);

            int[][] outs;
            try
            {
                outs = InferNode(node, S, C, IsConst, g.OpsetVersion);
            }
            catch (EngineException) { throw; }
            catch (Exception ex) when (ex is IndexOutOfRangeException or ArgumentException or OverflowException or KeyNotFoundException)
            {
                throw new EngineException($"{node.Describe()}: shape cannot be inferred: {ex.Message}", ex);
            }
            for (int k = 0; k < node.Outputs.Count && k < outs.Length; k++)
            {
                if (node.Outputs[k].Length == 0) continue;
                foreach (int d in outs[k])
                    if (d < 0) throw new EngineException($"{node.Describe()}: shape cannot be inferred: output '{node.Outputs[k]}' would have shape {Shapes.Format(outs[k])}");
                shapes[node.Outputs[k]] = outs[k];
            }
            kept.Add(node);
        }
        if (fold) g.Nodes = kept;
        foreach (var o in g.Outputs)
            if (!shapes.ContainsKey(o.Name))
                throw new EngineException(consts.ContainsKey(o.Name)
                    ? $"graph output '{o.Name}' is a constant; the engine needs outputs computed from the input"
                    : $"graph output '{o.Name}' is produced by no node");
        return shapes;
    }

    private static ConstTensor ConstantValue(Node node)
    {
        if (node.Attributes.TryGetValue("value", out var a) && a.Tensor is { } t) return t;
        if (node.Attributes.TryGetValue("value_float", out a) && a.F is float f) return new ConstTensor([], new[] { f });
        if (node.Attributes.TryGetValue("value_int", out a) && a.I is long i) return new ConstTensor([], new[] { i });
        if (node.Attributes.TryGetValue("value_floats", out a) && a.Floats is { } fs) return new ConstTensor([fs.Length], fs);
        if (node.Attributes.TryGetValue("value_ints", out a) && a.Ints is { } ints) return new ConstTensor([ints.Length], ints);
        throw new EngineException($"{node.Describe()}: constant without a supported value attribute");
    }

    internal static int Axis(Node node, long axis, int rank)
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new EngineException($"{node.Describe()}: axis {axis} is out of range for rank {rank}");
        return (int)a;
    }

    private static int[][] InferNode(Node node, Func<int, int[]> S, Func<int, ConstTensor?> C, Func<int, bool> isConst, long opset)
    {
        string Fail(string why) => throw new EngineException($"{node.Describe()}: shape cannot be inferred: {why}");
        switch (node.OpType)
        {
            case "Conv":
            {
                int[] x = S(0), w = S(1);
                if (x.Length != 4 || w.Length != 4) Fail($"only 2-D convolutions are supported (input {Shapes.Format(x)}, weights {Shapes.Format(w)})");
                if (!isConst(1)) Fail("the weights must be a constant");
                int group = (int)node.Int("group", 1);
                if (x[1] != w[1] * group) Fail($"input has {x[1]} channels, weights {Shapes.Format(w)} with group {group} expect {w[1] * group}");
                if (w[0] % group != 0) Fail($"{w[0]} output channels are not divisible by group {group}");
                var p = ConvGeometry.From(node, x, w[2], w[3]);
                return [[x[0], w[0], p.OutH, p.OutW]];
            }
            case "MaxPool" or "AveragePool":
            {
                int[] x = S(0);
                if (x.Length != 4) Fail($"only 2-D pooling is supported (input {Shapes.Format(x)})");
                var k = node.Ints("kernel_shape") ?? throw new EngineException($"{node.Describe()}: kernel_shape is missing");
                var p = ConvGeometry.From(node, x, (int)k[0], (int)k[1]);
                return [[x[0], x[1], p.OutH, p.OutW]];
            }
            case "GlobalAveragePool" or "GlobalMaxPool":
            {
                int[] x = S(0);
                return [[x[0], x[1], .. Enumerable.Repeat(1, x.Length - 2)]];
            }
            case "Relu" or "Sigmoid" or "Tanh" or "LeakyRelu" or "HardSigmoid" or "HardSwish" or "Exp" or "Neg" or "Sqrt" or "Abs"
                or "Reciprocal" or "Identity" or "Dropout" or "Softmax" or "Elu" or "Softplus" or "Mish" or "Cast":
                return [S(0)];
            case "Clip":
                return [S(0)];
            case "BatchNormalization":
                for (int i = 1; i < 5; i++) if (!isConst(i)) Fail("scale, bias, mean and variance must be constants");
                return [S(0)];
            case "Add" or "Sub" or "Mul" or "Div" or "Pow" or "Max" or "Min" or Optimizer.Ops.Pointwise:
            {
                int[] s = S(0);
                for (int i = 1; i < node.Inputs.Count; i++)
                    s = Shapes.Broadcast(s, S(i)) ?? throw new EngineException($"{node.Describe()}: shape cannot be inferred: {Shapes.Format(s)} and {Shapes.Format(S(i))} do not broadcast");
                return [s];
            }
            case "Gemm":
            {
                int[] a = S(0), b = S(1);
                if (a.Length != 2 || b.Length != 2) Fail($"Gemm needs 2-D operands, got {Shapes.Format(a)} and {Shapes.Format(b)}");
                if (!isConst(1)) Fail("B must be a constant");
                bool ta = node.Int("transA", 0) != 0, tb = node.Int("transB", 0) != 0;
                if (ta) Fail("transA is not supported");
                int k = a[1], m = a[0];
                int kb = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
                if (k != kb) Fail($"inner dimensions differ ({Shapes.Format(a)} x {Shapes.Format(b)}{(tb ? " transposed" : "")})");
                return [[m, n]];
            }
            case "MatMul":
            {
                int[] a = S(0), b = S(1);
                if (!isConst(1) || b.Length != 2) Fail("only a constant 2-D right-hand operand is supported");
                if (a.Length < 2 || a[^1] != b[0]) Fail($"inner dimensions differ ({Shapes.Format(a)} x {Shapes.Format(b)})");
                return [[.. a[..^1], b[1]]];
            }
            case "Reshape" or "Flatten" or "Squeeze" or "Unsqueeze":
                return [ReshapeLike(node, S(0), C, opset)];
            case "Transpose":
            {
                int[] x = S(0);
                long[] perm = node.Ints("perm") ?? Enumerable.Range(0, x.Length).Reverse().Select(i => (long)i).ToArray();
                if (perm.Length != x.Length || perm.Distinct().Count() != x.Length || perm.Any(p => p < 0 || p >= x.Length))
                    Fail($"perm [{string.Join(",", perm)}] does not match rank {x.Length}");
                return [perm.Select(p => x[p]).ToArray()];
            }
            case "Concat":
            {
                var shapes = Enumerable.Range(0, node.Inputs.Count).Where(i => node.Inputs[i].Length > 0).Select(S).ToArray();
                // A constant whose leading dimension is 1 joins a batched tensor as if repeated per image (Vigil
                // generalises graphs exported at batch 1, such as zero padding built with ConstantOfShape).
                var batched = Enumerable.Range(0, node.Inputs.Count).Where(i => node.Inputs[i].Length > 0 && !isConst(i)).Select(S).FirstOrDefault();
                if (batched is not null)
                    for (int i = 0, j = 0; i < node.Inputs.Count; i++)
                    {
                        if (node.Inputs[i].Length == 0) continue;
                        if (isConst(i) && shapes[j].Length == batched.Length && shapes[j][0] == 1 && batched[0] != 1 && Axis(node, node.Int("axis", 0), batched.Length) != 0)
                            shapes[j] = [batched[0], .. shapes[j][1..]];
                        j++;
                    }
                return [ConcatShape(node, shapes)];
            }
            case "Split":
            {
                int[] x = S(0);
                int axis = Axis(node, node.Int("axis", 0), x.Length);
                long[]? split = node.Ints("split") ?? C(1)?.AsLongs();
                int n = node.Outputs.Count;
                split ??= x[axis] % n == 0 ? Enumerable.Repeat((long)(x[axis] / n), n).ToArray() : null;
                if (split is null || split.Length != n || split.Sum() != x[axis]) Fail($"cannot split dimension {x[axis]} into {n} outputs");
                return split!.Select(len => { var s = (int[])x.Clone(); s[axis] = (int)len; return s; }).ToArray();
            }
            case "Slice":
                return [SliceSpec(node, S(0), C, opset).OutShape];
            case "Resize" or "Upsample":
            {
                int[] x = S(0);
                var (scales, sizes) = ResizeParams(node, x, C);
                if (sizes is not null) return [sizes];
                return [x.Select((d, i) => (int)Math.Floor(d * scales![i])).ToArray()];
            }
            case "ReduceMean" or "ReduceSum" or "ReduceMax":
            {
                int[] x = S(0);
                var axes = ReduceAxes(node, x.Length, C, opset);
                bool keep = node.Int("keepdims", 1) != 0;
                var o = new List<int>();
                for (int d = 0; d < x.Length; d++)
                    if (!axes.Contains(d)) o.Add(x[d]);
                    else if (keep) o.Add(1);
                return [o.ToArray()];
            }
            case "Gather":
                Fail("Gather on a computed tensor is not supported (only on constants)");
                return [];
            default:
                Fail("no shape rule");
                return [];
        }
    }

    internal static int[] ReduceAxes(Node node, int rank, Func<int, ConstTensor?> C, long opset)
    {
        long[]? axes = node.Ints("axes") ?? (node.Inputs.Count > 1 ? C(1)?.AsLongs() : null);
        if (axes is null || axes.Length == 0)
            return node.Int("noop_with_empty_axes", 0) != 0 ? [] : Enumerable.Range(0, rank).ToArray();
        return axes.Select(a => Axis(node, a, rank)).Distinct().Order().ToArray();
    }

    internal static (float[]? Scales, int[]? Sizes) ResizeParams(Node node, int[] x, Func<int, ConstTensor?> C)
    {
        if (node.OpType == "Upsample")
        {
            var sc = node.Floats("scales") ?? C(1)?.AsFloats() ?? throw new EngineException($"{node.Describe()}: scales are missing");
            return (sc, null);
        }
        // opset 10: (X, scales); opset 11+: (X, roi, scales, sizes).
        if (node.Inputs.Count == 2) return (C(1)?.AsFloats() ?? throw new EngineException($"{node.Describe()}: scales must be a constant"), null);
        var scales = node.Inputs.Count > 2 && node.Inputs[2].Length > 0 ? C(2) : null;
        var sizes = node.Inputs.Count > 3 && node.Inputs[3].Length > 0 ? C(3) : null;
        if (scales is { Count: > 0 }) return (scales.AsFloats(), null);
        if (sizes is { Count: > 0 }) return (null, sizes.AsLongs().Select(v => (int)v).ToArray());
        throw new EngineException($"{node.Describe()}: shape cannot be inferred: constant scales or sizes are required");
    }

    internal static int[] ConcatShape(Node node, int[][] shapes)
    {
        if (shapes.Length == 0) throw new EngineException($"{node.Describe()}: no inputs");
        int rank = shapes[0].Length;
        int axis = Axis(node, node.Int("axis", 0), rank);
        var o = (int[])shapes[0].Clone();
        o[axis] = 0;
        foreach (var s in shapes)
        {
            if (s.Length != rank) throw new EngineException($"{node.Describe()}: shape cannot be inferred: inputs have ranks {shapes[0].Length} and {s.Length}");
            for (int d = 0; d < rank; d++)
                if (d != axis && s[d] != o[d])
                    throw new EngineException($"{node.Describe()}: shape cannot be inferred: inputs {Shapes.Format(shapes[0])} and {Shapes.Format(s)} differ outside axis {axis}");
            o[axis] += s[axis];
        }
        return o;
    }

    internal static int[] ReshapeLike(Node node, int[] x, Func<int, ConstTensor?> C, long opset)
    {
        long total = Shapes.Count(x);
        switch (node.OpType)
        {
            case "Flatten":
            {
                int axis = (int)node.Int("axis", 1);
                if (axis < 0) axis += x.Length;
                return [(int)Shapes.Count(x.AsSpan(0, axis)), (int)Shapes.Count(x.AsSpan(axis))];
            }
            case "Squeeze":
            {
                long[]? axes = node.Ints("axes") ?? (node.Inputs.Count > 1 ? C(1)?.AsLongs() : null);
                var set = axes?.Select(a => Axis(node, a, x.Length)).ToHashSet() ?? Enumerable.Range(0, x.Length).Where(d => x[d] == 1).ToHashSet();
                foreach (int d in set)
                    if (x[d] != 1) throw new EngineException($"{node.Describe()}: shape cannot be inferred: dimension {d} of {Shapes.Format(x)} is not 1");
                return Enumerable.Range(0, x.Length).Where(d => !set.Contains(d)).Select(d => x[d]).ToArray();
            }
            case "Unsqueeze":
            {
                long[] axes = node.Ints("axes") ?? C(1)?.AsLongs() ?? throw new EngineException($"{node.Describe()}: axes are missing");
                int r = x.Length + axes.Length;
                var set = axes.Select(a => Axis(node, a, r)).ToHashSet();
                var o = new int[r];
                for (int d = 0, j = 0; d < r; d++) o[d] = set.Contains(d) ? 1 : x[j++];
                return o;
            }
            default:
            {
                var shapeT = C(1) ?? throw new EngineException($"{node.Describe()}: shape cannot be inferred: the target shape is not a constant");
                long[] t = shapeT.AsLongs();
                bool allowZero = node.Int("allowzero", 0) != 0;
                var o = new int[t.Length];
                int infer = -1;
                long known = 1;
                for (int d = 0; d < t.Length; d++)
                {
                    if (t[d] == -1) { if (infer >= 0) throw new EngineException($"{node.Describe()}: shape cannot be inferred: two -1 in target [{string.Join(",", t)}]"); infer = d; continue; }
                    o[d] = t[d] == 0 && !allowZero ? (d < x.Length ? x[d] : throw new EngineException($"{node.Describe()}: shape cannot be inferred: 0 at dimension {d} beyond input rank")) : (int)t[d];
                    known *= o[d];
                }
                if (infer >= 0)
                {
                    if (known == 0 || total % known != 0) throw new EngineException($"{node.Describe()}: shape cannot be inferred: {Shapes.Format(x)} cannot be reshaped to [{string.Join(",", t)}]");
                    o[infer] = (int)(total / known);
                }
                if (Shapes.Count(o) != total)
                    throw new EngineException($"{node.Describe()}: shape cannot be inferred: {Shapes.Format(x)} ({total} values) cannot be reshaped to [{string.Join(",", t)}]");
                return o;
            }
        }
    }

    internal static SliceInfo SliceSpec(Node node, int[] x, Func<int, ConstTensor?> C, long opset)
    {
        long[] starts, ends;
        long[]? axes, steps;
        if (node.Attributes.ContainsKey("starts"))
        {
            starts = node.Ints("starts")!; ends = node.Ints("ends")!; axes = node.Ints("axes"); steps = null;
        }
        else
        {
            starts = C(1)?.AsLongs() ?? throw new EngineException($"{node.Describe()}: shape cannot be inferred: starts are not constant");
            ends = C(2)?.AsLongs() ?? throw new EngineException($"{node.Describe()}: shape cannot be inferred: ends are not constant");
            axes = node.Inputs.Count > 3 && node.Inputs[3].Length > 0 ? C(3)?.AsLongs() ?? throw new EngineException($"{node.Describe()}: axes are not constant") : null;
            steps = node.Inputs.Count > 4 && node.Inputs[4].Length > 0 ? C(4)?.AsLongs() ?? throw new EngineException($"{node.Describe()}: steps are not constant") : null;
        }
        axes ??= Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        var st = new long[x.Length];
        var sp = Enumerable.Repeat(1L, x.Length).ToArray();
        var outShape = (int[])x.Clone();
        for (int i = 0; i < axes.Length; i++)
        {
            int a = Axis(node, axes[i], x.Length);
            long dim = x[a];
            long step = steps?[i] ?? 1;
            if (step == 0) throw new EngineException($"{node.Describe()}: step 0");
            long s = starts[i], e = ends[i];
            if (s < 0) s += dim;
            if (e < 0) e += dim;
            if (step > 0) { s = Math.Clamp(s, 0, dim); e = Math.Clamp(e, 0, dim); }
            else { s = Math.Clamp(s, 0, dim - 1); e = Math.Clamp(e, -1, dim - 1); }
            long len = step > 0 ? Math.Max(0, (e - s + step - 1) / step) : Math.Max(0, (s - e + (-step) - 1) / (-step));
            st[a] = s; sp[a] = step; outShape[a] = (int)len;
        }
        return new SliceInfo(st, sp, outShape);
    }
}

/// <summary>2-D convolution/pooling geometry from ONNX attributes (pads resolved, auto_pad included).</summary>
internal readonly record struct ConvGeometry(int KH, int KW, int SH, int SW, int PadTop, int PadLeft, int PadBottom, int PadRight, int DH, int DW, int OutH, int OutW)
{
    public static ConvGeometry From(Node node, int[] x, int kh, int kw)
    {
        var st = node.Ints("strides") ?? [1, 1];
        var di = node.Ints("dilations") ?? [1, 1];
        var pads = node.Ints("pads") ?? [0, 0, 0, 0];
        string auto = node.Str("auto_pad", "NOTSET");
        bool ceil = node.Int("ceil_mode", 0) != 0;
        int h = x[2], w = x[3];
        int sh = (int)st[0], sw = (int)st[1], dh = (int)di[0], dw = (int)di[1];
        int pt = (int)pads[0], pl = (int)pads[1], pb = (int)pads[2], pr = (int)pads[3];
        int ekh = (kh - 1) * dh + 1, ekw = (kw - 1) * dw + 1;
        if (auto is "SAME_UPPER" or "SAME_LOWER")
        {
            int oh0 = (h + sh - 1) / sh, ow0 = (w + sw - 1) / sw;
            int ph = Math.Max(0, (oh0 - 1) * sh + ekh - h), pw = Math.Max(0, (ow0 - 1) * sw + ekw - w);
            pt = auto == "SAME_UPPER" ? ph / 2 : ph - ph / 2; pb = ph - pt;
            pl = auto == "SAME_UPPER" ? pw / 2 : pw - pw / 2; pr = pw - pl;
        }
        else if (auto == "VALID") { pt = pl = pb = pr = 0; }
        int oh = ceil ? (int)Math.Ceiling((h + pt + pb - ekh) / (double)sh) + 1 : (h + pt + pb - ekh) / sh + 1;
        int ow = ceil ? (int)Math.Ceiling((w + pl + pr - ekw) / (double)sw) + 1 : (w + pl + pr - ekw) / sw + 1;
        // ONNX/PyTorch: with ceil_mode the last window must start inside the input or left padding.
        if (ceil && (oh - 1) * sh >= h + pt) oh--;
        if (ceil && (ow - 1) * sw >= w + pl) ow--;
        if (oh <= 0 || ow <= 0)
            throw new EngineException($"{node.Describe()}: shape cannot be inferred: kernel {kh}x{kw} does not fit input {h}x{w} with the given pads");
        return new ConvGeometry(kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, oh, ow);
    }
}
