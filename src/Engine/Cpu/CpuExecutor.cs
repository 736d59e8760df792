using Vigil.Engine.Graph;
using Vigil.Engine.Optimizer;
using Vigil.Engine.Plan;

namespace Vigil.Engine.Cpu;

/// <summary>
/// The reference executor: runs a <see cref="LayerProgram"/> on the CPU with plain float loops over the same
/// arena layout the GPU runtime uses (views, concat slices, reused buffers), so the optimizer's passes and the
/// memory plan are checked against ONNX Runtime without a GPU.
/// </summary>
public sealed class CpuExecutor
{
    private readonly LayerProgram _program;
    private readonly float[][] _consts;

    public CpuExecutor(LayerProgram program)
    {
        _program = program;
        _consts = program.Constants.Select(c => c.AsFloats()).ToArray();
    }

    /// <summary>Runs a batch. Each input is dense, batch * per-image elements; returns each output likewise.</summary>
    public float[][] Run(IReadOnlyList<float[]> inputs, int batch) => Run(inputs, batch, null);

    /// <summary>
    /// Runs a batch and returns, per arena buffer, the largest magnitude any layer wrote into it (inputs included):
    /// the build uses it to keep buffers in FP32 where FP16 (largest finite value 65504) would overflow.
    /// </summary>
    public float[] ActivationRanges(IReadOnlyList<float[]> inputs, int batch)
    {
        var max = new float[_program.Buffers.Count];
        Run(inputs, batch, max);
        return max;
    }

    private float[][] Run(IReadOnlyList<float[]> inputs, int batch, float[]? ranges)
    {
        if (inputs.Count != _program.Inputs.Count) throw new ArgumentException($"the program has {_program.Inputs.Count} inputs, {inputs.Count} given");
        var arena = new float[_program.ArenaPerSample * batch];
        // Poison the arena so a read of memory no layer wrote shows up as NaN.
        Array.Fill(arena, float.NaN);
        for (int i = 0; i < inputs.Count; i++)
        {
            var r = _program.Inputs[i].Ref;
            long per = r.Count;
            if (inputs[i].Length != per * batch) throw new ArgumentException($"input '{_program.Inputs[i].Name}' needs {per * batch} values, got {inputs[i].Length}");
            for (int n = 0; n < batch; n++) Array.Copy(inputs[i], n * per, arena, _program.Address(r, batch, n), per);
        }
        if (ranges is not null)
            foreach (var io in _program.Inputs) Track(io.Ref, arena, batch, ranges);
        foreach (var layer in _program.Layers)
        {
            RunLayer(layer, arena, batch);
            if (ranges is not null)
                foreach (var o in layer.Outputs) Track(o, arena, batch, ranges);
        }
        var outs = new float[_program.Outputs.Count][];
        for (int i = 0; i < outs.Length; i++)
        {
            var r = _program.Outputs[i].Ref;
            long per = r.Count;
            outs[i] = new float[per * batch];
            for (int n = 0; n < batch; n++) Array.Copy(arena, _program.Address(r, batch, n), outs[i], n * per, per);
        }
        return outs;
    }

    private void Track(TensorRef r, float[] arena, int batch, float[] ranges)
    {
        if (r.IsConst) return;
        float m = ranges[r.Buffer];
        for (int n = 0; n < batch; n++)
            foreach (float v in arena.AsSpan((int)_program.Address(r, batch, n), (int)r.Count))
            {
                float a = MathF.Abs(v);
                if (a > m) m = a;
            }
        ranges[r.Buffer] = m;
    }

    private (float[] Data, long Base, long Stride) Src(TensorRef r, float[] arena, int batch) =>
        r.IsConst ? (_consts[r.Const], 0, 0) : (arena, _program.Address(r, batch, 0), _program.SampleStride(r));

    private void RunLayer(Layer l, float[] arena, int batch)
    {
        var (_, yBase, yStride) = Src(l.Outputs[0], arena, batch);
        var I = l.I;
        switch (l.Kind)
        {
            case LayerKind.Conv: Conv(l, arena, batch, yBase, yStride); break;
            case LayerKind.Pointwise:
            {
                int r = (int)I[0];
                var shape = I.AsSpan(1, r).ToArray();
                int nin = l.Inputs.Length;
                var strides = new long[nin][];
                for (int k = 0; k < nin; k++) strides[k] = I.AsSpan(1 + r + k * r, r).ToArray();
                var prog = PwProgram.Decode(nin, I[(1 + r + nin * r)..], l.F);
                var srcs = l.Inputs.Select(x => Src(x, arena, batch)).ToArray();
                long count = Shapes.Count(shape.Select(v => (int)v).ToArray());
                Parallel.For(0, batch, n =>
                {
                    Span<float> vals = stackalloc float[nin];
                    Span<float> regs = stackalloc float[nin + prog.Code.Count];
                    for (long p = 0; p < count; p++)
                    {
                        for (int k = 0; k < nin; k++)
                        {
                            long rem = p, off = 0;
                            for (int d = r - 1; d >= 0; d--) { long c = rem % shape[d]; rem /= shape[d]; off += c * strides[k][d]; }
                            var s = srcs[k];
                            vals[k] = s.Data[s.Base + n * s.Stride + off];
                        }
                        arena[yBase + n * yStride + p] = prog.Eval(vals, regs);
                    }
                });
                break;
            }
            case LayerKind.Pool:
            {
                var (x, xb, xs) = Src(l.Inputs[0], arena, batch);
                long kind = I[0]; int C = (int)I[1], H = (int)I[2], W = (int)I[3], OH = (int)I[4], OW = (int)I[5], KH = (int)I[6], KW = (int)I[7];
                int SH = (int)I[8], SW = (int)I[9], PT = (int)I[10], PL = (int)I[11]; bool incl = I[12] != 0;
                Parallel.For(0, batch * C, nc =>
                {
                    int n = nc / C, c = nc % C;
                    long ib = xb + n * xs + (long)c * H * W, ob = yBase + n * yStride + (long)c * OH * OW;
                    for (int oy = 0; oy < OH; oy++)
                        for (int ox = 0; ox < OW; ox++)
                        {
                            float acc = kind == 0 ? float.NegativeInfinity : 0; int cnt = 0;
                            for (int ky = 0; ky < KH; ky++)
                                for (int kx = 0; kx < KW; kx++)
                                {
                                    int iy = oy * SH - PT + ky, ix = ox * SW - PL + kx;
                                    if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                    {
                                        if (incl && iy < H + PT && ix < W + PL) cnt++;
                                        continue;
                                    }
                                    float v = x[ib + iy * W + ix];
                                    if (kind == 0) acc = MathF.Max(acc, v); else { acc += v; cnt++; }
                                }
                            arena[ob + oy * OW + ox] = kind == 0 ? acc : acc / cnt;
                        }
                });
                break;
            }
            case LayerKind.Gemm:
            {
                var (x, xb, xs) = Src(l.Inputs[0], arena, batch);
                var w = _consts[l.Inputs[1].Const]; var b = _consts[l.Inputs[2].Const];
                int R = (int)I[0], K = (int)I[1], M = (int)I[2];
                Parallel.For(0, batch * R, nr =>
                {
                    int n = nr / R, row = nr % R;
                    for (int m = 0; m < M; m++)
                    {
                        double acc = b[m];
                        for (int k = 0; k < K; k++) acc += x[xb + n * xs + (long)row * K + k] * w[(long)m * K + k];
                        arena[yBase + n * yStride + (long)row * M + m] = (float)acc;
                    }
                });
                break;
            }
            case LayerKind.Reduce:
            {
                var (x, xb, xs) = Src(l.Inputs[0], arena, batch);
                long kind = I[0], outer = I[1], red = I[2], inner = I[3];
                for (int n = 0; n < batch; n++)
                    for (long o = 0; o < outer; o++)
                        for (long i = 0; i < inner; i++)
                        {
                            double acc = kind == 2 ? double.NegativeInfinity : 0;
                            for (long k = 0; k < red; k++)
                            {
                                float v = x[xb + n * xs + (o * red + k) * inner + i];
                                acc = kind == 2 ? Math.Max(acc, v) : acc + v;
                            }
                            arena[yBase + n * yStride + o * inner + i] = (float)(kind == 0 ? acc / red : acc);
                        }
                break;
            }
            case LayerKind.Transpose:
            {
                var (x, xb, xs) = Src(l.Inputs[0], arena, batch);
                int r = (int)I[0];
                var ins = I.AsSpan(1, r).ToArray(); var perm = I.AsSpan(1 + r, r).ToArray();
                var inStr = Shapes.Strides(ins.Select(v => (int)v).ToArray());
                var outShape = perm.Select(p => ins[p]).ToArray();
                long count = Shapes.Count(ins.Select(v => (int)v).ToArray());
                for (int n = 0; n < batch; n++)
                    for (long p = 0; p < count; p++)
                    {
                        long rem = p, s = 0;
                        for (int d = r - 1; d >= 0; d--) { long c = rem % outShape[d]; rem /= outShape[d]; s += c * inStr[perm[d]]; }
                        arena[yBase + n * yStride + p] = x[xb + n * xs + s];
                    }
                break;
            }
            case LayerKind.Slice:
            {
                var (x, xb, xs) = Src(l.Inputs[0], arena, batch);
                int r = (int)I[0];
                var ins = I.AsSpan(1, r).ToArray().Select(v => (int)v).ToArray();
                var st = I.AsSpan(1 + r, r).ToArray(); var sp = I.AsSpan(1 + 2 * r, r).ToArray(); var os = I.AsSpan(1 + 3 * r, r).ToArray();
                var inStr = Shapes.Strides(ins);
                long count = Shapes.Count(os.Select(v => (int)v).ToArray());
                for (int n = 0; n < batch; n++)
                    for (long p = 0; p < count; p++)
                    {
                        long rem = p, s = 0;
                        for (int d = r - 1; d >= 0; d--) { long c = rem % os[d]; rem /= os[d]; s += (st[d] + c * sp[d]) * inStr[d]; }
                        arena[yBase + n * yStride + p] = x[xb + n * xs + s];
                    }
                break;
            }
            case LayerKind.Copy:
            {
                var (x, xb, xs) = Src(l.Inputs[0], arena, batch);
                long outer = I[0], len = I[1], srow = I[2], drow = I[3], doff = I[4];
                for (int n = 0; n < batch; n++)
                    for (long o = 0; o < outer; o++)
                        Array.Copy(x, xb + n * xs + o * srow, arena, yBase + n * yStride + doff + o * drow, len);
                break;
            }
            case LayerKind.Resize:
            {
                var (x, xb, xs) = Src(l.Inputs[0], arena, batch);
                int C = (int)I[0], H = (int)I[1], W = (int)I[2], OH = (int)I[3], OW = (int)I[4];
                for (int n = 0; n < batch; n++)
                    for (int c = 0; c < C; c++)
                        for (int oy = 0; oy < OH; oy++)
                            for (int ox = 0; ox < OW; ox++)
                            {
                                long ib = xb + n * xs + (long)c * H * W;
                                float v;
                                if (I[5] == 0)
                                {
                                    int iy = Nearest(SourceCoord(oy, l.F[0], H, OH, I[6]), I[7], H);
                                    int ix = Nearest(SourceCoord(ox, l.F[1], W, OW, I[6]), I[7], W);
                                    v = x[ib + iy * W + ix];
                                }
                                else
                                {
                                    float sy = Math.Clamp(SourceCoord(oy, l.F[0], H, OH, I[6]), 0, H - 1), sx = Math.Clamp(SourceCoord(ox, l.F[1], W, OW, I[6]), 0, W - 1);
                                    int y0 = (int)sy, x0 = (int)sx, y1 = Math.Min(y0 + 1, H - 1), x1 = Math.Min(x0 + 1, W - 1);
                                    float fy = sy - y0, fx = sx - x0;
                                    v = (1 - fy) * ((1 - fx) * x[ib + y0 * W + x0] + fx * x[ib + y0 * W + x1]) + fy * ((1 - fx) * x[ib + y1 * W + x0] + fx * x[ib + y1 * W + x1]);
                                }
                                arena[yBase + n * yStride + ((long)c * OH + oy) * OW + ox] = v;
                            }
                break;
            }
            case LayerKind.Softmax:
            {
                var (x, xb, xs) = Src(l.Inputs[0], arena, batch);
                long outer = I[0], len = I[1], inner = I[2];
                for (int n = 0; n < batch; n++)
                    for (long o = 0; o < outer; o++)
                        for (long i = 0; i < inner; i++)
                        {
                            float max = float.NegativeInfinity;
                            for (long k = 0; k < len; k++) max = MathF.Max(max, x[xb + n * xs + (o * len + k) * inner + i]);
                            double sum = 0;
                            for (long k = 0; k < len; k++) sum += MathF.Exp(x[xb + n * xs + (o * len + k) * inner + i] - max);
                            for (long k = 0; k < len; k++)
                                arena[yBase + n * yStride + (o * len + k) * inner + i] = (float)(MathF.Exp(x[xb + n * xs + (o * len + k) * inner + i] - max) / sum);
                        }
                break;
            }
            default:
                throw new InvalidOperationException($"layer kind {l.Kind}");
        }
    }

    /// <summary>ONNX Resize: output coordinate to input coordinate.</summary>
    internal static float SourceCoord(int o, float scale, int inLen, int outLen, long mode) => mode switch
    {
        0 => (o + 0.5f) / scale - 0.5f,
        1 => o / scale,
        2 => outLen == 1 ? 0 : o * (inLen - 1) / (float)(outLen - 1),
        3 => outLen > 1 ? (o + 0.5f) / scale - 0.5f : 0,
        _ => (o + 0.5f) / scale,
    };

    internal static int Nearest(float s, long mode, int len)
    {
        int i = mode switch
        {
            0 => (s - MathF.Floor(s)) == 0.5f ? (int)MathF.Floor(s) : (int)MathF.Round(s),
            1 => (s - MathF.Floor(s)) == 0.5f ? (int)MathF.Ceiling(s) : (int)MathF.Round(s),
            2 => (int)MathF.Floor(s),
            _ => (int)MathF.Ceiling(s),
        };
        return Math.Clamp(i, 0, len - 1);
    }

    private void Conv(Layer l, float[] arena, int batch, long yBase, long yStride)
    {
        var I = l.I;
        var (x, xb, xs) = Src(l.Inputs[0], arena, batch);
        var w = _consts[l.Inputs[1].Const];
        var bias = _consts[l.Inputs[2].Const];
        int Cin = (int)I[0], H = (int)I[1], W = (int)I[2], Cout = (int)I[3], OH = (int)I[4], OW = (int)I[5];
        int KH = (int)I[6], KW = (int)I[7], SH = (int)I[8], SW = (int)I[9], PT = (int)I[10], PL = (int)I[11], DH = (int)I[12], DW = (int)I[13], G = (int)I[14];
        int regsIn = (int)I[15];
        var epi = I.Length > 16 ? PwProgram.Decode(regsIn, I[16..], l.F) : null;
        var extras = l.Inputs.Skip(3).Select(r => Src(r, arena, batch)).ToArray();
        int cinG = Cin / G, coutG = Cout / G;
        Parallel.For(0, batch * Cout, noc =>
        {
            int n = noc / Cout, oc = noc % Cout, g = oc / coutG;
            var acc = new float[OH * OW];
            Array.Fill(acc, bias[oc]);
            for (int ic = 0; ic < cinG; ic++)
            {
                long ib = xb + n * xs + (long)(g * cinG + ic) * H * W;
                for (int ky = 0; ky < KH; ky++)
                    for (int kx = 0; kx < KW; kx++)
                    {
                        float wv = w[(((long)oc * cinG + ic) * KH + ky) * KW + kx];
                        for (int oy = 0; oy < OH; oy++)
                        {
                            int iy = oy * SH - PT + ky * DH;
                            if (iy < 0 || iy >= H) continue;
                            long row = ib + (long)iy * W;
                            int ao = oy * OW;
                            for (int ox = 0; ox < OW; ox++)
                            {
                                int ix = ox * SW - PL + kx * DW;
                                if ((uint)ix < (uint)W) acc[ao + ox] += wv * x[row + ix];
                            }
                        }
                    }
            }
            long ob = yBase + n * yStride + (long)oc * OH * OW;
            if (epi is null)
            {
                Array.Copy(acc, 0, arena, ob, acc.Length);
                return;
            }
            Span<float> vals = stackalloc float[regsIn];
            Span<float> regs = stackalloc float[regsIn + epi.Code.Count];
            for (int p = 0; p < acc.Length; p++)
            {
                vals[0] = acc[p];
                for (int k = 0; k < extras.Length; k++)
                    vals[1 + k] = extras[k].Data[extras[k].Base + n * extras[k].Stride + (long)oc * OH * OW + p];
                arena[ob + p] = epi.Eval(vals, regs);
            }
        });
    }
}
