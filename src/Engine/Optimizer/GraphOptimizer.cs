using System.Text;
using Vigil.Engine.Graph;

namespace Vigil.Engine.Optimizer;

/// <summary>Which optimizer passes run (all by default); tests switch them one at a time.</summary>
public sealed record OptimizerOptions
{
    public bool FoldBatchNorm { get; init; } = true;
    public bool MergePointwise { get; init; } = true;
    public bool FuseConvEpilogue { get; init; } = true;
    public bool MergeParallelConvs { get; init; } = true;
    public bool EliminateConcat { get; init; } = true;
    public bool ReuseMemory { get; init; } = true;
    public bool MergeSlices { get; init; } = true;
    public static OptimizerOptions All { get; } = new();
    public static OptimizerOptions None { get; } = new()
    {
        FoldBatchNorm = false, MergePointwise = false, FuseConvEpilogue = false, MergeParallelConvs = false,
        EliminateConcat = false, ReuseMemory = false, MergeSlices = false,
    };
}

/// <summary>
/// Graph-level passes. Constant folding and dead-layer removal always run (the layer program needs them);
/// the others follow <see cref="OptimizerOptions"/>. Convolution epilogues live on the Conv node as
/// attributes <c>vigil_epilogue</c> (program ints) and <c>vigil_epilogue_params</c>; extra epilogue inputs
/// (a residual) follow the Conv's own inputs, after attribute <c>vigil_conv_inputs</c> says how many those are.
/// </summary>
public static class GraphOptimizer
{
    public static ModelGraph Optimize(ModelGraph source, OptimizerOptions options, int maxBatch, TextWriter? log = null)
    {
        var g = source.Clone();
        ShapeInference.Run(g, 1, fold: true);
        GeneraliseBatch(g, maxBatch);
        RemoveDead(g);
        if (options.FoldBatchNorm) FoldBatchNorm(g);
        if (options.MergeSlices) MergeSlices(g);
        ToPointwise(g);
        if (options.MergePointwise) MergePointwise(g);
        if (options.FuseConvEpilogue) FuseConvEpilogues(g);
        if (options.MergeParallelConvs) MergeParallelConvs(g);
        RemoveDead(g);
        ShapeInference.Run(g, 1); // the result must still infer
        log?.WriteLine($"optimized graph: {g.Nodes.Count} nodes (from {source.Nodes.Count})");
        return g;
    }

    /// <summary>One line per node with shapes, as a verbose build prints it.</summary>
    public static string Describe(ModelGraph g, int batch = 1)
    {
        var shapes = ShapeInference.Run(g, batch);
        var sb = new StringBuilder();
        int i = 0;
        foreach (var n in g.Nodes)
        {
            string ins = string.Join(", ", n.Inputs.Where(x => x.Length > 0).Select(x => shapes.TryGetValue(x, out var s) ? Shapes.Format(s) : g.Constants.TryGetValue(x, out var c) ? "const" + Shapes.Format(c.Shape) : "?"));
            string outs = string.Join(", ", n.Outputs.Where(x => x.Length > 0 && shapes.ContainsKey(x)).Select(x => Shapes.Format(shapes[x])));
            string extra = n.OpType == Ops.Pointwise ? $" {{{PwProgram.FromNode(n)}}}"
                : n.Attributes.ContainsKey("vigil_epilogue") ? $" +epilogue {{{new PwProgram(1 + n.Inputs.Count - (int)n.Int("vigil_conv_inputs", n.Inputs.Count), PwProgram.Decode(0, n.Ints("vigil_epilogue")!, n.Floats("vigil_epilogue_params")!).Code)}}}" : "";
            sb.Append($"  [{i++,3}] {n.OpType,-18} {n.Name}: {ins} -> {outs}{extra}\n");
        }
        return sb.ToString();
    }

    /// <summary>
    /// Makes a graph exported at batch 1 run at any batch where its structure allows: Reshape targets whose leading 1
    /// is the batch become 0 (copy the input's batch), reductions over the batch axis become per-image. Verifies the
    /// result by inferring shapes at batch 2: every computed tensor must carry the batch in its first dimension.
    /// </summary>
    public static void GeneraliseBatch(ModelGraph g, int maxBatch)
    {
        var s1 = ShapeInference.Run(g, 1);
        foreach (var n in g.Nodes)
        {
            if (n.OpType == "Reshape" && n.Inputs.Count > 1 && g.Constants.TryGetValue(n.Inputs[1], out var target)
                && s1.TryGetValue(n.Inputs[0], out var xs) && xs.Length > 0 && xs[0] == 1 && n.Int("allowzero", 0) == 0)
            {
                var t = target.AsLongs();
                if (t.Length > 0 && t[0] == 1)
                {
                    var nt = (long[])t.Clone();
                    nt[0] = 0;
                    string name = g.NewName(n.Inputs[1]);
                    g.Constants[name] = new ConstTensor(target.Shape, nt);
                    n.Inputs[1] = name;
                }
            }
            else if (n.OpType is "ReduceMean" or "ReduceSum" or "ReduceMax" && s1.TryGetValue(n.Inputs[0], out var rs) && rs[0] == 1)
            {
                var axes = ShapeInference.ReduceAxes(n, rs.Length, i => i < n.Inputs.Count && g.Constants.TryGetValue(n.Inputs[i], out var c) ? c : null, g.OpsetVersion);
                if (axes.Contains(0) && n.Int("keepdims", 1) != 0)
                {
                    n.Attributes["axes"] = new NodeAttribute("axes", Ints: axes.Where(a => a != 0).Select(a => (long)a).ToArray());
                    if (n.Inputs.Count > 1) n.Inputs.RemoveRange(1, n.Inputs.Count - 1);
                }
            }
        }
        if (maxBatch <= 1) return;
        Dictionary<string, int[]> s2;
        try { s2 = ShapeInference.Run(g, 2); }
        catch (EngineException ex) { throw new EngineException($"the graph cannot run with batch > 1: {ex.Message}", ex); }
        var producers = g.Producers();
        foreach (var (name, shape) in s2)
        {
            var one = s1[name];
            bool ok = shape.Length == one.Length && shape.Length > 0 && one[0] == 1 && shape[0] == 2 && shape.AsSpan(1).SequenceEqual(one.AsSpan(1));
            if (!ok)
            {
                string who = producers.TryGetValue(name, out var p) ? p.Describe() : $"graph input '{name}'";
                throw new EngineException($"the graph cannot run with batch > 1: {who}: tensor '{name}' has shape {Shapes.Format(one)} at batch 1 and {Shapes.Format(shape)} at batch 2 (the batch is not its first dimension)");
            }
        }
    }

    /// <summary>Removes nodes none of whose outputs are used (repeatedly), and unused constants.</summary>
    public static void RemoveDead(ModelGraph g)
    {
        bool changed = true;
        while (changed)
        {
            var used = new HashSet<string>(g.Outputs.Select(o => o.Name), StringComparer.Ordinal);
            foreach (var n in g.Nodes) foreach (var i in n.Inputs) used.Add(i);
            int before = g.Nodes.Count;
            g.Nodes = g.Nodes.Where(n => n.Outputs.Any(used.Contains)).ToList();
            changed = g.Nodes.Count != before;
            if (!changed)
                foreach (var k in g.Constants.Keys.Where(k => !used.Contains(k)).ToList()) g.Constants.Remove(k);
        }
    }

    private static bool SingleUse(ModelGraph g, Dictionary<string, List<Node>> consumers, string tensor, out Node? user)
    {
        user = null;
        if (g.IsGraphOutput(tensor) || !consumers.TryGetValue(tensor, out var list)) return false;
        if (list.Distinct().Count() != 1) return false;
        user = list[0];
        return true;
    }

    /// <summary>Conv followed by BatchNormalization: scale the weights and shift the bias. Lone BN: a per-channel affine.</summary>
    public static void FoldBatchNorm(ModelGraph g)
    {
        var producers = g.Producers();
        var consumers = g.Consumers();
        var remove = new HashSet<Node>();
        foreach (var bn in g.Nodes.Where(n => n.OpType == "BatchNormalization").ToList())
        {
            float eps = bn.Float("epsilon", 1e-5f);
            var gamma = g.Constants[bn.Inputs[1]].AsFloats();
            var beta = g.Constants[bn.Inputs[2]].AsFloats();
            var mean = g.Constants[bn.Inputs[3]].AsFloats();
            var variance = g.Constants[bn.Inputs[4]].AsFloats();
            int c = gamma.Length;
            var scale = new float[c];
            var shift = new float[c];
            for (int i = 0; i < c; i++)
            {
                scale[i] = gamma[i] / MathF.Sqrt(variance[i] + eps);
                shift[i] = beta[i] - mean[i] * scale[i];
            }
            if (producers.TryGetValue(bn.Inputs[0], out var conv) && conv.OpType == "Conv" && !conv.Attributes.ContainsKey("vigil_epilogue")
                && SingleUse(g, consumers, bn.Inputs[0], out _))
            {
                var w = g.Constants[conv.Inputs[1]];
                var wf = (float[])w.AsFloats().Clone();
                long per = wf.Length / c;
                for (int o = 0; o < c; o++)
                    for (long k = 0; k < per; k++) wf[o * per + k] *= scale[o];
                var b = conv.Inputs.Count > 2 && conv.Inputs[2].Length > 0 ? g.Constants[conv.Inputs[2]].AsFloats() : new float[c];
                var nb = new float[c];
                for (int o = 0; o < c; o++) nb[o] = b[o] * scale[o] + shift[o];
                string wn = g.NewName(conv.Name + "_w_bn"), bnName = g.NewName(conv.Name + "_b_bn");
                g.Constants[wn] = new ConstTensor(w.Shape, wf);
                g.Constants[bnName] = new ConstTensor([c], nb);
                conv.Inputs[1] = wn;
                if (conv.Inputs.Count > 2) conv.Inputs[2] = bnName; else conv.Inputs.Add(bnName);
                conv.Outputs[0] = bn.Outputs[0];
                remove.Add(bn);
            }
            else
            {
                string sn = g.NewName(bn.Name + "_scale"), hn = g.NewName(bn.Name + "_shift");
                g.Constants[sn] = new ConstTensor([c, 1, 1], scale);
                g.Constants[hn] = new ConstTensor([c, 1, 1], shift);
                bn.OpType = Ops.Pointwise;
                bn.Inputs.RemoveRange(1, bn.Inputs.Count - 1);
                bn.Inputs.Add(sn);
                bn.Inputs.Add(hn);
                bn.Outputs.RemoveRange(1, bn.Outputs.Count - 1);
                bn.Attributes.Clear();
                new PwProgram(3, [new PwInstr(PwOp.Mul, 0, 1, 0, 0), new PwInstr(PwOp.Add, 3, 2, 0, 0)]).WriteTo(bn);
            }
        }
        g.Nodes = g.Nodes.Where(n => !remove.Contains(n)).ToList();
    }

    /// <summary>
    /// A Slice of a Slice (the intermediate used nowhere else) becomes one strided Slice: YOLOX's Focus stem slices rows
    /// then columns, four times; merged, each output pixel is read once.
    /// </summary>
    public static void MergeSlices(ModelGraph g)
    {
        bool changed = true;
        while (changed)
        {
            changed = false;
            var shapes = ShapeInference.Run(g, 1);
            var producers = g.Producers();
            var consumers = g.Consumers();
            foreach (var outer in g.Nodes.Where(n => n.OpType == "Slice"))
            {
                if (!producers.TryGetValue(outer.Inputs[0], out var inner) || inner.OpType != "Slice" || !SingleUse(g, consumers, outer.Inputs[0], out _)) continue;
                ConstTensor? C(Node n, int i) => i < n.Inputs.Count && n.Inputs[i].Length > 0 && g.Constants.TryGetValue(n.Inputs[i], out var c) ? c : null;
                var x = shapes[inner.Inputs[0]];
                var a = ShapeInference.SliceSpec(inner, x, i => C(inner, i), g.OpsetVersion);
                var b = ShapeInference.SliceSpec(outer, a.OutShape, i => C(outer, i), g.OpsetVersion);
                if (a.Steps.Any(s => s < 0) || b.Steps.Any(s => s < 0)) continue;
                // Only axes either slice touches are listed, so untouched axes (the batch) keep their full extent at any size.
                var starts = new List<long>(); var ends = new List<long>(); var steps = new List<long>(); var axes = new List<long>();
                for (int d = 0; d < x.Length; d++)
                {
                    long st = a.Starts[d] + b.Starts[d] * a.Steps[d], step = a.Steps[d] * b.Steps[d];
                    if (st == 0 && step == 1 && b.OutShape[d] == x[d]) continue;
                    if (d == 0) { starts.Clear(); break; }
                    axes.Add(d); starts.Add(st); steps.Add(step); ends.Add(st + (b.OutShape[d] - 1) * step + 1);
                }
                if (axes.Count == 0 || starts.Count == 0) continue;
                int r = axes.Count;
                string sn = g.NewName(outer.Name + "_starts"), en = g.NewName(outer.Name + "_ends"), an = g.NewName(outer.Name + "_axes"), pn = g.NewName(outer.Name + "_steps");
                g.Constants[sn] = new ConstTensor([r], starts.ToArray());
                g.Constants[en] = new ConstTensor([r], ends.ToArray());
                g.Constants[an] = new ConstTensor([r], axes.ToArray());
                g.Constants[pn] = new ConstTensor([r], steps.ToArray());
                outer.Inputs.Clear();
                outer.Inputs.AddRange([inner.Inputs[0], sn, en, an, pn]);
                outer.Attributes.Clear();
                g.Nodes.Remove(inner);
                changed = true;
                break;
            }
        }
    }

    /// <summary>Every element-wise ONNX node becomes a one-instruction pointwise node; identities disappear.</summary>
    public static void ToPointwise(ModelGraph g)
    {
        var rename = new Dictionary<string, string>(StringComparer.Ordinal);
        var kept = new List<Node>();
        foreach (var n in g.Nodes)
        {
            for (int i = 0; i < n.Inputs.Count; i++)
                if (rename.TryGetValue(n.Inputs[i], out var r)) n.Inputs[i] = r;
            if (n.OpType is "Identity" or "Dropout" && !g.IsGraphOutput(n.Outputs[0]))
            {
                rename[n.Outputs[0]] = n.Inputs[0];
                continue;
            }
            if (n.OpType == "Clip")
            {
                float lo = n.Inputs.Count > 1 && n.Inputs[1].Length > 0 ? g.Constants[n.Inputs[1]].AsFloats()[0] : n.Float("min", float.MinValue);
                float hi = n.Inputs.Count > 2 && n.Inputs[2].Length > 0 ? g.Constants[n.Inputs[2]].AsFloats()[0] : n.Float("max", float.MaxValue);
                n.Inputs.RemoveRange(1, n.Inputs.Count - 1);
                n.OpType = Ops.Pointwise;
                n.Attributes.Clear();
                new PwProgram(1, [new PwInstr(PwOp.Clip, 0, 0, lo, hi)]).WriteTo(n);
            }
            else if (PwProgram.FromOnnx(n) is { } p)
            {
                n.OpType = Ops.Pointwise;
                n.Attributes.Clear();
                p.WriteTo(n);
            }
            kept.Add(n);
        }
        g.Nodes = kept;
    }

    /// <summary>
    /// Inlines a pointwise producer into its pointwise consumer when the intermediate tensor has no other use
    /// (so x*sigmoid(x) becomes one SiLU-like kernel, Sub/Mul/Div chains one kernel).
    /// </summary>
    public static void MergePointwise(ModelGraph g)
    {
        bool changed = true;
        while (changed)
        {
            changed = false;
            var producers = g.Producers();
            var consumers = g.Consumers();
            foreach (var p in g.Nodes.Where(n => n.OpType == Ops.Pointwise))
            {
                for (int slot = 0; slot < p.Inputs.Count; slot++)
                {
                    string t = p.Inputs[slot];
                    if (!producers.TryGetValue(t, out var q) || q.OpType != Ops.Pointwise || !SingleUse(g, consumers, t, out _)) continue;
                    if (q.Outputs.Count != 1) continue;
                    Inline(p, q, t);
                    g.Nodes.Remove(q);
                    changed = true;
                    break;
                }
                if (changed) break;
            }
        }
    }

    /// <summary>Replaces every read of <paramref name="t"/> in consumer <paramref name="p"/> by producer <paramref name="q"/>'s program.</summary>
    private static void Inline(Node p, Node q, string t)
    {
        var qp = PwProgram.FromNode(q);
        var pp = PwProgram.FromNode(p);
        var inputs = new List<string>();
        int Input(string name) { int k = inputs.IndexOf(name); if (k < 0) { inputs.Add(name); k = inputs.Count - 1; } return k; }
        var qIn = q.Inputs.Select(Input).ToArray();
        var pIn = p.Inputs.Select(x => x == t ? -1 : Input(x)).ToArray();
        int nIn = inputs.Count;
        var code = new List<PwInstr>();
        // q's registers: inputs map to qIn, results to nIn + index.
        int QReg(int r) => r < qp.Inputs ? qIn[r] : nIn + (r - qp.Inputs);
        foreach (var c in qp.Code) code.Add(c with { A = QReg(c.A), B = PwProgram.IsBinary(c.Op) ? QReg(c.B) : 0 });
        int qResult = nIn + qp.Code.Count - 1;
        int offset = nIn + qp.Code.Count;
        int PReg(int r) => r < pp.Inputs ? (pIn[r] < 0 ? qResult : pIn[r]) : offset + (r - pp.Inputs);
        foreach (var c in pp.Code) code.Add(c with { A = PReg(c.A), B = PwProgram.IsBinary(c.Op) ? PReg(c.B) : 0 });
        p.Inputs.Clear();
        p.Inputs.AddRange(inputs);
        new PwProgram(nIn, code).WriteTo(p);
    }

    /// <summary>
    /// Moves a pointwise consumer into the convolution that feeds it when the pointwise node reads the convolution's
    /// output plus only tensors of exactly the output's shape (a residual), so activation and residual add run in the
    /// convolution's epilogue.
    /// </summary>
    public static void FuseConvEpilogues(ModelGraph g)
    {
        var producers = g.Producers();
        var consumers = g.Consumers();
        var shapes = ShapeInference.Run(g, 1);
        var remove = new HashSet<Node>();
        foreach (var conv in g.Nodes.Where(n => n.OpType == "Conv").ToList())
        {
            string t = conv.Outputs[0];
            if (!SingleUse(g, consumers, t, out var p) || p!.OpType != Ops.Pointwise) continue;
            var outShape = shapes[p.Outputs[0]];
            if (!outShape.SequenceEqual(shapes[t])) continue;
            var extras = p.Inputs.Where(x => x != t).Distinct().ToList();
            if (extras.Any(x => !shapes.TryGetValue(x, out var s) || !s.SequenceEqual(outShape))) continue;
            // A residual must be computed before the convolution runs (it is, in topological order, unless produced after it).
            int convIndex = g.Nodes.IndexOf(conv);
            if (extras.Any(x => producers.TryGetValue(x, out var pr) && g.Nodes.IndexOf(pr) > convIndex)) continue;
            // Registers: 0 = convolution result (with bias), 1.. = extras.
            var prog = PwProgram.FromNode(p);
            var map = p.Inputs.Select(x => x == t ? 0 : 1 + extras.IndexOf(x)).ToArray();
            var code = prog.Code.Select(c => c with
            {
                A = c.A < prog.Inputs ? map[c.A] : 1 + extras.Count + (c.A - prog.Inputs),
                B = PwProgram.IsBinary(c.Op) ? (c.B < prog.Inputs ? map[c.B] : 1 + extras.Count + (c.B - prog.Inputs)) : 0,
            }).ToList();
            var fused = new PwProgram(1 + extras.Count, code);
            while (conv.Inputs.Count < 3) conv.Inputs.Add("");
            conv.Attributes["vigil_conv_inputs"] = new NodeAttribute("vigil_conv_inputs", I: 3);
            conv.Attributes["vigil_epilogue"] = new NodeAttribute("vigil_epilogue", Ints: fused.EncodeInts());
            conv.Attributes["vigil_epilogue_params"] = new NodeAttribute("vigil_epilogue_params", Floats: fused.EncodeFloats());
            conv.Inputs.AddRange(extras);
            conv.Outputs[0] = p.Outputs[0];
            remove.Add(p);
            // Keep topological order: a residual produced between conv and p is excluded above, so the conv can stay.
        }
        g.Nodes = g.Nodes.Where(n => !remove.Contains(n)).ToList();
    }

    /// <summary>
    /// Parallel 1x1 convolutions reading the same tensor with the same epilogue become one convolution with the
    /// output channels stacked; each original output becomes a channel slice of the merged one (a zero-copy view).
    /// </summary>
    public static void MergeParallelConvs(ModelGraph g)
    {
        var groups = g.Nodes.Where(IsPlain1x1).GroupBy(n => (n.Inputs[0], Epilogue(n))).Where(gr => gr.Count() > 1).ToList();
        foreach (var group in groups)
        {
            var convs = group.ToList();
            var ws = convs.Select(c => g.Constants[c.Inputs[1]]).ToList();
            int cin = ws[0].Shape[1];
            int total = ws.Sum(w => w.Shape[0]);
            var wf = new float[total * cin];
            var bf = new float[total];
            int o = 0;
            foreach (var (c, w) in convs.Zip(ws))
            {
                Array.Copy(w.AsFloats(), 0, wf, o * cin, w.Shape[0] * cin);
                if (c.Inputs.Count > 2 && c.Inputs[2].Length > 0) Array.Copy(g.Constants[c.Inputs[2]].AsFloats(), 0, bf, o, w.Shape[0]);
                o += w.Shape[0];
            }
            var first = convs[0];
            string merged = g.NewName(first.Outputs[0] + "_merged");
            string wn = g.NewName(first.Name + "_w_merged"), bn = g.NewName(first.Name + "_b_merged");
            g.Constants[wn] = new ConstTensor([total, cin, 1, 1], wf);
            g.Constants[bn] = new ConstTensor([total], bf);
            var node = new Node
            {
                Name = string.Join("+", convs.Select(c => c.Name)), OpType = "Conv",
                Inputs = [first.Inputs[0], wn, bn], Outputs = [merged],
                Attributes = new Dictionary<string, NodeAttribute>(first.Attributes, StringComparer.Ordinal),
            };
            var slices = new List<Node>();
            o = 0;
            foreach (var (c, w) in convs.Zip(ws))
            {
                string s = g.NewName("slice"), e = g.NewName("slice"), a = g.NewName("slice");
                g.Constants[s] = new ConstTensor([1], new long[] { o });
                g.Constants[e] = new ConstTensor([1], new long[] { o + w.Shape[0] });
                g.Constants[a] = new ConstTensor([1], new long[] { 1 });
                slices.Add(new Node { Name = c.Name + "_slice", OpType = "Slice", Inputs = [merged, s, e, a], Outputs = [c.Outputs[0]] });
                o += w.Shape[0];
            }
            int at = convs.Min(c => g.Nodes.IndexOf(c));
            foreach (var c in convs) g.Nodes.Remove(c);
            g.Nodes.InsertRange(at, [node, .. slices]);
        }
    }

    private static bool IsPlain1x1(Node n) =>
        n.OpType == "Conv" && n.Int("group", 1) == 1 && n.Inputs.Count <= 3 + 0
        && (n.Ints("kernel_shape") ?? []).All(k => k == 1)
        && (n.Ints("strides") ?? []).All(k => k == 1)
        && (n.Ints("pads") ?? []).All(k => k == 0)
        && n.Str("auto_pad", "NOTSET") is "NOTSET" or "VALID";

    private static string Epilogue(Node n) =>
        n.Attributes.TryGetValue("vigil_epilogue", out var a)
            ? string.Join(",", a.Ints!) + "|" + string.Join(",", n.Floats("vigil_epilogue_params")!)
            : "";
}
