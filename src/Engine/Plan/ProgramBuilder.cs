using Vigil.Engine.Graph;
using Vigil.Engine.Optimizer;

namespace Vigil.Engine.Plan;

/// <summary>
/// Lowers an optimized graph to a <see cref="LayerProgram"/>: one layer per compute node; Reshape-like nodes and
/// channel slices become zero-copy views; concat inputs produced by layers are written straight into their slice of
/// the concat output (concat elimination); activation buffers are placed in one arena, sharing memory between
/// buffers whose lifetimes do not overlap.
///
/// Parameter layouts (I = integer parameters, F = float parameters; shapes are per image):
/// <list type="bullet">
/// <item>Conv: I = [Cin,H,W,Cout,OH,OW,KH,KW,SH,SW,PT,PL,DH,DW,Group, epilogueRegsIn, instr...]; F = epilogue params.
/// Inputs: x, weights, bias, residuals. Epilogue register 0 = conv+bias, 1.. = residuals.</item>
/// <item>Gemm: I = [R,K,M,act]; inputs x (R x K per image), weights M x K, bias M.</item>
/// <item>Pool: I = [kind(0 max,1 avg),C,H,W,OH,OW,KH,KW,SH,SW,PT,PL,countIncludePad].</item>
/// <item>Pointwise: I = [rank, outShape(rank), per input strides(rank), instr...]; F = params.</item>
/// <item>Reduce: I = [kind(0 mean,1 sum,2 max), outer, reduced, inner].</item>
/// <item>Transpose: I = [rank, inShape(rank), perm(rank)].</item>
/// <item>Slice: I = [rank, inShape(rank), starts(rank), steps(rank), outShape(rank)].</item>
/// <item>Copy: I = [outer, rowLength, srcRowStride, dstRowStride, dstOffset].</item>
/// <item>Resize: I = [C,H,W,OH,OW,mode(0 nearest,1 linear),coord,nearestMode]; F = [scaleH, scaleW].</item>
/// <item>Softmax: I = [outer, length, inner].</item>
/// </list>
/// </summary>
public static class ProgramBuilder
{
    private const int Align = 64; // elements: 256 bytes in FP32

    private sealed record PRef(string? Tensor, int Const, int[] Shape);
    private sealed record PLayer(string Name, LayerKind Kind, PRef[] Inputs, PRef[] Outputs, long[] I, float[] F);
    private abstract record Placement;
    private sealed record Root(int Id, long Size) : Placement;
    private sealed record Alias(string Parent, long Offset) : Placement;

    public static LayerProgram Build(ModelGraph g, OptimizerOptions options)
    {
        var full = ShapeInference.Run(g, 1);
        var prog = new LayerProgram();
        var constIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var place = new Dictionary<string, Placement>(StringComparer.Ordinal);
        var roots = new List<long>();
        var layers = new List<PLayer>();

        int[] SampleShape(string t) => full[t][1..];
        PRef Const(string name)
        {
            if (!constIndex.TryGetValue(name, out int k))
            {
                k = prog.Constants.Count;
                prog.Constants.Add(g.Constants[name]);
                prog.ConstantNames.Add(name);
                constIndex[name] = k;
            }
            return new PRef(null, k, g.Constants[name].Shape);
        }
        int AddConst(string name, ConstTensor t) { g.Constants[name] = t; return Const(name).Const; }
        PRef Ref(string t) => g.Constants.ContainsKey(t) ? Const(t) : new PRef(t, -1, SampleShape(t));
        void NewRoot(string t)
        {
            roots.Add(RoundUp(Shapes.Count(SampleShape(t))));
            place[t] = new Root(roots.Count - 1, roots[^1]);
        }

        foreach (var input in g.Inputs) NewRoot(input.Name);

        // Concat elimination decisions: input tensor -> (concat output, element offset inside the image).
        var concatSlot = new Dictionary<string, (string Output, long Offset)>(StringComparer.Ordinal);
        if (options.EliminateConcat)
        {
            var producers = g.Producers();
            var consumers = g.Consumers();
            foreach (var n in g.Nodes.Where(n => n.OpType == "Concat"))
            {
                var outShape = SampleShape(n.Outputs[0]);
                int axis = ShapeInference.Axis(n, n.Int("axis", 0), outShape.Length + 1) - 1;
                if (axis < 0 || Shapes.Count(outShape.AsSpan(0, axis)) != 1) continue;
                long inner = Shapes.Count(outShape.AsSpan(axis + 1)), off = 0;
                foreach (var x in n.Inputs)
                {
                    long len = g.Constants.TryGetValue(x, out var c) ? c.Shape[axis + 1] * inner : SampleShape(x)[axis] * inner;
                    bool ok = !g.Constants.ContainsKey(x) && producers.TryGetValue(x, out var p) && (IsComputeNode(p) || IsCopyingSlice(g, p, full))
                        && !g.IsGraphOutput(x) && n.Inputs.Count(y => y == x) == 1 && !concatSlot.ContainsKey(x)
                        && consumers[x].All(u => u.OpType != "Concat" || u == n);
                    if (ok) concatSlot[x] = (n.Outputs[0], off);
                    off += len;
                }
            }
        }

        void Define(string t)
        {
            if (concatSlot.TryGetValue(t, out var slot)) place[t] = new Alias(slot.Output, slot.Offset);
            else NewRoot(t);
        }

        foreach (var n in g.Nodes)
        {
            string Fail(string why) => throw new EngineException($"{n.Describe()}: {why}");
            switch (n.OpType)
            {
                case "Reshape" or "Flatten" or "Squeeze" or "Unsqueeze":
                    place[n.Outputs[0]] = new Alias(n.Inputs[0], 0);
                    continue;
                case "Slice" or "Split":
                {
                    var xs = SampleShape(n.Inputs[0]);
                    var outs = n.OpType == "Split" ? SplitSlices(n, full[n.Inputs[0]], n.Inputs.Count > 1 && g.Constants.TryGetValue(n.Inputs[1], out var sc) ? sc.AsLongs() : null) : [ShapeInference.SliceSpec(n, full[n.Inputs[0]], i => i < n.Inputs.Count && g.Constants.TryGetValue(n.Inputs[i], out var c) ? c : null, g.OpsetVersion)];
                    for (int k = 0; k < n.Outputs.Count; k++)
                    {
                        var sp = outs[k];
                        if (sp.Starts[0] != 0 || sp.Steps[0] != 1 || sp.OutShape[0] != full[n.Inputs[0]][0]) Fail("slicing the batch dimension is not supported");
                        var st = sp.Starts[1..]; var steps = sp.Steps[1..]; var os = sp.OutShape[1..];
                        bool view = steps.All(s => s == 1) && Enumerable.Range(1, xs.Length - 1).All(d => st[d] == 0 && os[d] == xs[d]);
                        if (view)
                        {
                            place[n.Outputs[k]] = new Alias(n.Inputs[0], st[0] * Shapes.Count(xs.AsSpan(1)));
                            continue;
                        }
                        Define(n.Outputs[k]);
                        layers.Add(new PLayer(n.Name, LayerKind.Slice, [Ref(n.Inputs[0])], [Ref(n.Outputs[k])],
                            [xs.Length, .. xs.Select(v => (long)v), .. st, .. steps, .. os.Select(v => (long)v)], []));
                    }
                    continue;
                }
            }
            string y = n.Outputs[0];
            Define(y);
            switch (n.OpType)
            {
                case "Conv":
                {
                    var x = full[n.Inputs[0]];
                    var w = g.Constants[n.Inputs[1]];
                    var geo = ConvGeometry.From(n, x, w.Shape[2], w.Shape[3]);
                    string bias = n.Inputs.Count > 2 && n.Inputs[2].Length > 0 ? n.Inputs[2] : "";
                    if (bias.Length == 0) { bias = g.NewName(n.Name + "_zero_bias"); AddConst(bias, new ConstTensor([w.Shape[0]], new float[w.Shape[0]])); }
                    int convInputs = (int)n.Int("vigil_conv_inputs", n.Inputs.Count);
                    var extras = n.Inputs.Skip(convInputs).ToList();
                    var epi = n.Ints("vigil_epilogue") ?? [];
                    var epiF = n.Floats("vigil_epilogue_params") ?? [];
                    layers.Add(new PLayer(n.Name, LayerKind.Conv, [Ref(n.Inputs[0]), Const(n.Inputs[1]), Const(bias), .. extras.Select(Ref)], [Ref(y)],
                        [x[1], x[2], x[3], w.Shape[0], geo.OutH, geo.OutW, geo.KH, geo.KW, geo.SH, geo.SW, geo.PadTop, geo.PadLeft, geo.DH, geo.DW, n.Int("group", 1), 1 + extras.Count, .. epi], epiF));
                    break;
                }
                case Ops.Pointwise:
                {
                    var outFull = full[y];
                    int r = outFull.Length - 1;
                    var I = new List<long> { r };
                    I.AddRange(outFull[1..].Select(v => (long)v));
                    var refs = new List<PRef>();
                    foreach (var inp in n.Inputs)
                    {
                        int[] s = g.Constants.TryGetValue(inp, out var c) ? c.Shape : full[inp];
                        bool isConst = c is not null;
                        if (s.Length > outFull.Length) Fail($"input '{inp}' has higher rank than the output");
                        var aligned = Enumerable.Repeat(1, outFull.Length - s.Length).Concat(s).ToArray();
                        if (!isConst && s.Length != outFull.Length) Fail($"input '{inp}' {Shapes.Format(s)} does not carry the batch dimension");
                        if (isConst && aligned[0] != 1) Fail($"constant '{inp}' {Shapes.Format(s)} varies along the batch dimension");
                        var sample = aligned[1..];
                        var strides = Shapes.Strides(sample);
                        for (int d = 0; d < r; d++) I.Add(sample[d] == 1 && outFull[d + 1] != 1 ? 0 : strides[d]);
                        refs.Add(isConst ? Const(inp) : Ref(inp));
                    }
                    I.AddRange(n.Ints("program")!);
                    layers.Add(new PLayer(n.Name, LayerKind.Pointwise, [.. refs], [Ref(y)], [.. I], n.Floats("params")!));
                    break;
                }
                case "MaxPool" or "AveragePool" or "GlobalAveragePool" or "GlobalMaxPool":
                {
                    var x = full[n.Inputs[0]];
                    var o = full[y];
                    long kind = n.OpType is "MaxPool" or "GlobalMaxPool" ? 0 : 1;
                    if (n.OpType.StartsWith("Global", StringComparison.Ordinal))
                        layers.Add(new PLayer(n.Name, LayerKind.Pool, [Ref(n.Inputs[0])], [Ref(y)], [kind, x[1], x[2], x[3], 1, 1, x[2], x[3], 1, 1, 0, 0, 1], []));
                    else
                    {
                        var k = n.Ints("kernel_shape")!;
                        var geo = ConvGeometry.From(n, x, (int)k[0], (int)k[1]);
                        if (geo.DH != 1 || geo.DW != 1) Fail("dilated pooling is not supported");
                        layers.Add(new PLayer(n.Name, LayerKind.Pool, [Ref(n.Inputs[0])], [Ref(y)],
                            [kind, x[1], x[2], x[3], o[2], o[3], geo.KH, geo.KW, geo.SH, geo.SW, geo.PadTop, geo.PadLeft, n.Int("count_include_pad", 0)], []));
                    }
                    break;
                }
                case "Gemm" or "MatMul":
                {
                    var a = full[n.Inputs[0]];
                    var b = g.Constants[n.Inputs[1]];
                    int k = a[^1];
                    long rows = Shapes.Count(a.AsSpan(1, a.Length - 2));
                    bool tb = n.OpType == "Gemm" && n.Int("transB", 0) != 0;
                    int m = tb ? b.Shape[0] : b.Shape[1];
                    float alpha = n.OpType == "Gemm" ? n.Float("alpha", 1f) : 1f, beta = n.OpType == "Gemm" ? n.Float("beta", 1f) : 1f;
                    var bw = b.AsFloats();
                    var wt = new float[m * k];
                    for (int i = 0; i < m; i++) for (int j = 0; j < k; j++) wt[i * k + j] = alpha * (tb ? bw[i * k + j] : bw[j * m + i]);
                    var bias = new float[m];
                    if (n.OpType == "Gemm" && n.Inputs.Count > 2 && n.Inputs[2].Length > 0)
                    {
                        var c = g.Constants.TryGetValue(n.Inputs[2], out var ct) ? ct : throw new EngineException($"{n.Describe()}: C must be a constant");
                        var cf = c.AsFloats();
                        if (cf.Length != 1 && cf.Length != m) Fail($"C {Shapes.Format(c.Shape)} must broadcast per output column");
                        for (int i = 0; i < m; i++) bias[i] = beta * cf[cf.Length == 1 ? 0 : i];
                    }
                    int wi = AddConst(g.NewName(n.Name + "_w"), new ConstTensor([m, k], wt));
                    int bi = AddConst(g.NewName(n.Name + "_b"), new ConstTensor([m], bias));
                    layers.Add(new PLayer(n.Name, LayerKind.Gemm, [Ref(n.Inputs[0]), new PRef(null, wi, [m, k]), new PRef(null, bi, [m])], [Ref(y)], [rows, k, m, 0], []));
                    break;
                }
                case "ReduceMean" or "ReduceSum" or "ReduceMax":
                {
                    var x = full[n.Inputs[0]];
                    var axes = ShapeInference.ReduceAxes(n, x.Length, i => i < n.Inputs.Count && g.Constants.TryGetValue(n.Inputs[i], out var c) ? c : null, g.OpsetVersion);
                    if (axes.Contains(0)) Fail("reducing over the batch dimension is not supported");
                    if (axes.Length == 0) Fail("empty reduction");
                    if (axes[^1] - axes[0] + 1 != axes.Length) Fail("only a contiguous range of axes can be reduced");
                    long outer = Shapes.Count(x.AsSpan(1, axes[0] - 1));
                    long red = Shapes.Count(x.AsSpan(axes[0], axes.Length));
                    long inner = Shapes.Count(x.AsSpan(axes[^1] + 1));
                    long kind = n.OpType switch { "ReduceMean" => 0, "ReduceSum" => 1, _ => 2 };
                    layers.Add(new PLayer(n.Name, LayerKind.Reduce, [Ref(n.Inputs[0])], [Ref(y)], [kind, outer, red, inner], []));
                    break;
                }
                case "Transpose":
                {
                    var x = full[n.Inputs[0]];
                    long[] perm = n.Ints("perm") ?? Enumerable.Range(0, x.Length).Reverse().Select(i => (long)i).ToArray();
                    if (perm[0] != 0) Fail("a transpose that moves the batch dimension is not supported");
                    layers.Add(new PLayer(n.Name, LayerKind.Transpose, [Ref(n.Inputs[0])], [Ref(y)],
                        [x.Length - 1, .. x[1..].Select(v => (long)v), .. perm[1..].Select(p => p - 1)], []));
                    break;
                }
                case "Concat":
                {
                    var outShape = SampleShape(y);
                    int axis = ShapeInference.Axis(n, n.Int("axis", 0), outShape.Length + 1) - 1;
                    if (axis < 0) Fail("concatenating along the batch dimension is not supported");
                    long outer = Shapes.Count(outShape.AsSpan(0, axis));
                    long dstRow = Shapes.Count(outShape.AsSpan(axis));
                    long off = 0;
                    foreach (var x in n.Inputs)
                    {
                        bool isConst = g.Constants.TryGetValue(x, out var c);
                        int[] xs = isConst ? c!.Shape[1..] : SampleShape(x);
                        long row = Shapes.Count(xs.AsSpan(axis));
                        if (!concatSlot.TryGetValue(x, out var slot) || slot.Output != y)
                            layers.Add(new PLayer(n.Name + "/" + x, LayerKind.Copy, [isConst ? Const(x) : Ref(x)], [Ref(y)], [outer, row, row, dstRow, off], []));
                        off += row;
                    }
                    break;
                }
                case "Resize" or "Upsample":
                {
                    var x = full[n.Inputs[0]];
                    var o = full[y];
                    if (x.Length != 4 || x[0] != o[0] || x[1] != o[1]) Fail("only spatial resizing of 4-D tensors is supported");
                    var (scales, _) = ShapeInference.ResizeParams(n, x, i => i < n.Inputs.Count && n.Inputs[i].Length > 0 && g.Constants.TryGetValue(n.Inputs[i], out var c) ? c : null);
                    string mode = n.Str("mode", "nearest");
                    long m = mode switch { "nearest" => 0, "linear" or "bilinear" => 1, _ => throw new EngineException($"{n.Describe()}: resize mode '{mode}' is not supported") };
                    string ct = n.OpType == "Upsample" ? "asymmetric" : n.Str("coordinate_transformation_mode", "half_pixel");
                    long coord = ct switch
                    {
                        "half_pixel" => 0, "asymmetric" => 1, "align_corners" => 2, "pytorch_half_pixel" => 3, "tf_half_pixel_for_nearest" => 4,
                        _ => throw new EngineException($"{n.Describe()}: coordinate_transformation_mode '{ct}' is not supported"),
                    };
                    string nm = n.OpType == "Upsample" ? "floor" : n.Str("nearest_mode", "round_prefer_floor");
                    long nearest = nm switch
                    {
                        "round_prefer_floor" => 0, "round_prefer_ceil" => 1, "floor" => 2, "ceil" => 3,
                        _ => throw new EngineException($"{n.Describe()}: nearest_mode '{nm}' is not supported"),
                    };
                    float sh = scales is not null ? scales[2] : (float)o[2] / x[2];
                    float sw = scales is not null ? scales[3] : (float)o[3] / x[3];
                    layers.Add(new PLayer(n.Name, LayerKind.Resize, [Ref(n.Inputs[0])], [Ref(y)], [x[1], x[2], x[3], o[2], o[3], m, coord, nearest], [sh, sw]));
                    break;
                }
                case "Softmax":
                {
                    var x = full[n.Inputs[0]];
                    int axis = ShapeInference.Axis(n, n.Int("axis", g.OpsetVersion >= 13 ? -1 : 1), x.Length);
                    if (axis == 0) Fail("softmax over the batch dimension is not supported");
                    long outer = Shapes.Count(x.AsSpan(1, axis - 1));
                    long len = g.OpsetVersion >= 13 ? x[axis] : Shapes.Count(x.AsSpan(axis));
                    long inner = g.OpsetVersion >= 13 ? Shapes.Count(x.AsSpan(axis + 1)) : 1;
                    layers.Add(new PLayer(n.Name, LayerKind.Softmax, [Ref(n.Inputs[0])], [Ref(y)], [outer, len, inner], []));
                    break;
                }
                default:
                    Fail("operator not supported by Vigil's engine");
                    break;
            }
        }

        // Graph outputs must be dense buffers of their own: copy views out.
        (int Root, long Offset) Resolve(string t)
        {
            long off = 0;
            while (true)
            {
                switch (place[t])
                {
                    case Root r: return (r.Id, off);
                    case Alias a: off += a.Offset; t = a.Parent; break;
                }
            }
        }
        foreach (var o in g.Outputs)
        {
            var (root, off) = Resolve(o.Name);
            bool dense = off == 0 && roots[root] == RoundUp(Shapes.Count(SampleShape(o.Name)));
            if (!dense || g.Inputs.Any(i => i.Name == o.Name))
            {
                string copy = o.Name + "__out";
                full[copy] = full[o.Name];
                NewRoot(copy);
                long len = Shapes.Count(SampleShape(o.Name));
                layers.Add(new PLayer("output " + o.Name, LayerKind.Copy, [Ref(o.Name)], [Ref(copy)], [1, len, len, len, 0], []));
                place[o.Name + "__final"] = place[copy];
            }
        }

        // Resolve references and lifetimes.
        TensorRef Resolved(PRef r)
        {
            if (r.Tensor is null) return TensorRef.ForConst(r.Const, r.Shape);
            var (root, off) = Resolve(r.Tensor);
            return new TensorRef(root, off, r.Shape);
        }
        var first = Enumerable.Repeat(int.MaxValue, roots.Count).ToArray();
        var last = Enumerable.Repeat(-1, roots.Count).ToArray();
        for (int i = 0; i < layers.Count; i++)
        {
            var l = layers[i];
            var layer = new Layer { Name = l.Name, Kind = l.Kind, Inputs = l.Inputs.Select(Resolved).ToArray(), Outputs = l.Outputs.Select(Resolved).ToArray(), I = l.I, F = l.F };
            foreach (var r in layer.Inputs.Concat(layer.Outputs).Where(r => !r.IsConst))
            {
                first[r.Buffer] = Math.Min(first[r.Buffer], i);
                last[r.Buffer] = Math.Max(last[r.Buffer], i);
            }
            prog.Layers.Add(layer);
        }
        foreach (var input in g.Inputs)
        {
            var (root, _) = Resolve(input.Name);
            first[root] = -1;
            prog.Inputs.Add(new ProgramIO(input.Name, new TensorRef(root, 0, SampleShape(input.Name))));
        }
        foreach (var o in g.Outputs)
        {
            string t = place.ContainsKey(o.Name + "__final") ? o.Name + "__out" : o.Name;
            var (root, off) = Resolve(t);
            last[root] = int.MaxValue;
            prog.Outputs.Add(new ProgramIO(o.Name, new TensorRef(root, off, SampleShape(o.Name))));
        }

        // Memory planning: largest first, lowest offset that overlaps no live buffer.
        var offsets = new long[roots.Count];
        var order = Enumerable.Range(0, roots.Count).Where(b => last[b] >= 0).OrderByDescending(b => roots[b]).ToList();
        var placed = new List<int>();
        long arena = 0;
        foreach (int b in order)
        {
            long off = 0;
            if (options.ReuseMemory)
            {
                var busy = placed.Where(p => first[p] <= last[b] && first[b] <= last[p]).Select(p => (offsets[p], offsets[p] + roots[p])).OrderBy(x => x.Item1).ToList();
                foreach (var (s, e) in busy)
                {
                    if (off + roots[b] <= s) break;
                    off = Math.Max(off, e);
                }
            }
            else off = arena;
            offsets[b] = off;
            placed.Add(b);
            arena = Math.Max(arena, off + roots[b]);
        }
        for (int b = 0; b < roots.Count; b++) prog.Buffers.Add(new BufferInfo(roots[b], offsets[b]));
        prog.ArenaPerSample = arena;
        return prog;
    }

    private static bool IsComputeNode(Node n) => n.OpType is not ("Reshape" or "Flatten" or "Squeeze" or "Unsqueeze" or "Slice" or "Split");

    /// <summary>A Slice that lowers to a real copy (not a zero-copy view), so it can write into a concat's slice.</summary>
    private static bool IsCopyingSlice(ModelGraph g, Node n, Dictionary<string, int[]> full)
    {
        if (n.OpType != "Slice") return false;
        var x = full[n.Inputs[0]];
        var sp = ShapeInference.SliceSpec(n, x, i => i < n.Inputs.Count && g.Constants.TryGetValue(n.Inputs[i], out var c) ? c : null, g.OpsetVersion);
        var st = sp.Starts[1..]; var steps = sp.Steps[1..]; var os = sp.OutShape[1..]; var xs = x[1..];
        bool view = steps.All(s => s == 1) && Enumerable.Range(1, xs.Length - 1).All(d => st[d] == 0 && os[d] == xs[d]);
        return !view;
    }

    private static long RoundUp(long v) => (v + Align - 1) / Align * Align;

    private static SliceInfo[] SplitSlices(Node n, int[] x, long[]? splitInput)
    {
        int axis = ShapeInference.Axis(n, n.Int("axis", 0), x.Length);
        long[] split = n.Ints("split") ?? splitInput ?? Enumerable.Repeat((long)(x[axis] / n.Outputs.Count), n.Outputs.Count).ToArray();
        var res = new SliceInfo[n.Outputs.Count];
        long start = 0;
        for (int k = 0; k < res.Length; k++)
        {
            var st = new long[x.Length]; st[axis] = start;
            var os = (int[])x.Clone(); os[axis] = (int)split[k];
            res[k] = new SliceInfo(st, Enumerable.Repeat(1L, x.Length).ToArray(), os);
            start += split[k];
        }
        return res;
    }
}
