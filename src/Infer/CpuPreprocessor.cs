namespace Vigil.Infer;

/// <summary>
/// The CPU implementation of <see cref="PreprocessSpec"/>: one frame becomes one image slice of the model input
/// tensor. It follows the spec literally in 32-bit float (the fused GPU kernel is tested against it), with the
/// per-column source offsets and weights precomputed once per source size and rows spread over cores.
/// Not thread-safe: one instance per inference stage.
/// </summary>
public sealed class CpuPreprocessor
{
    private readonly float[] _mean;
    private readonly float[] _scale;
    // Per-column tables for the last source width seen: source x0, x1 and the weight fx of x1.
    private int[] _x0 = [];
    private int[] _x1 = [];
    private float[] _fx = [];
    private int _tableSrcW = -1, _tableSrcH = -1;
    private LetterboxTransform _tableTransform;

    public CpuPreprocessor(PreprocessSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Width < 1 || spec.Height < 1) throw new ArgumentOutOfRangeException(nameof(spec), "Model input size must be positive.");
        if (spec.Mean.Length != 3 || spec.Scale.Length != 3) throw new ArgumentException("Mean and Scale need 3 values each.", nameof(spec));
        Spec = spec;
        _mean = (float[])spec.Mean.Clone();
        _scale = (float[])spec.Scale.Clone();
    }

    public PreprocessSpec Spec { get; }

    /// <summary>Preprocesses a BGR24 host frame (any pitch) into one float32 image slice of <see cref="PreprocessSpec.ElementsPerImage"/> elements.</summary>
    public unsafe LetterboxTransform Run(HostFrameBuffer frame, Span<float> destination)
    {
        RequireBgr(frame);
        RequireElementType(TensorElementType.Float32);
        fixed (float* d = destination)
            return RunBgr(frame.Pointer, frame.Pitch, frame.Width, frame.Height, new Dest(d, null, destination.Length));
    }

    /// <summary>Preprocesses a BGR24 host frame (any pitch) into one float16 image slice.</summary>
    public unsafe LetterboxTransform Run(HostFrameBuffer frame, Span<Half> destination)
    {
        RequireBgr(frame);
        RequireElementType(TensorElementType.Float16);
        fixed (Half* d = destination)
            return RunBgr(frame.Pointer, frame.Pitch, frame.Width, frame.Height, new Dest(null, d, destination.Length));
    }

    /// <summary>
    /// Preprocesses an NV12 image in host memory (luma plane plus interleaved half-resolution UV plane, each with
    /// its own pitch) into one float32 image slice. This is the reference for the GPU kernel, not a hot path.
    /// </summary>
    public unsafe LetterboxTransform RunNv12(ReadOnlySpan<byte> yPlane, int yPitch, ReadOnlySpan<byte> uvPlane, int uvPitch,
        int width, int height, ColorMatrix matrix, Span<float> destination)
    {
        RequireElementType(TensorElementType.Float32);
        fixed (float* d = destination)
            return RunNv12Core(yPlane, yPitch, uvPlane, uvPitch, width, height, matrix, new Dest(d, null, destination.Length));
    }

    /// <summary>NV12 to one float16 image slice; see the float32 overload.</summary>
    public unsafe LetterboxTransform RunNv12(ReadOnlySpan<byte> yPlane, int yPitch, ReadOnlySpan<byte> uvPlane, int uvPitch,
        int width, int height, ColorMatrix matrix, Span<Half> destination)
    {
        RequireElementType(TensorElementType.Float16);
        fixed (Half* d = destination)
            return RunNv12Core(yPlane, yPitch, uvPlane, uvPitch, width, height, matrix, new Dest(null, d, destination.Length));
    }

    /// <summary>NV12 host frame buffer (UV plane right after <c>Pitch * Height</c> luma bytes) to float32.</summary>
    public LetterboxTransform RunNv12(HostFrameBuffer frame, ColorMatrix matrix, Span<float> destination)
    {
        if (frame.Format != PixelFormat.Nv12) throw new ArgumentException($"Expected an NV12 frame, got {frame.Format}.", nameof(frame));
        var all = frame.Span;
        int ySize = frame.Pitch * frame.Height;
        return RunNv12(all[..ySize], frame.Pitch, all[ySize..], frame.Pitch, frame.Width, frame.Height, matrix, destination);
    }

    /// <summary>Converts one NV12 pixel to B, G, R exactly as the spec defines it (clamped, not rounded).</summary>
    public static (float B, float G, float R) Nv12ToBgr(byte y, byte u, byte v, ColorMatrix matrix)
    {
        float yy = (y - 16) * 1.164383f;
        float uu = u - 128;
        float vv = v - 128;
        float r, g, b;
        if (matrix == ColorMatrix.Bt709)
        {
            r = yy + 1.792741f * vv;
            g = yy - 0.213249f * uu - 0.532909f * vv;
            b = yy + 2.112402f * uu;
        }
        else
        {
            r = yy + 1.596027f * vv;
            g = yy - 0.391762f * uu - 0.812968f * vv;
            b = yy + 2.017232f * uu;
        }
        return (Math.Clamp(b, 0f, 255f), Math.Clamp(g, 0f, 255f), Math.Clamp(r, 0f, 255f));
    }

    private static void RequireBgr(HostFrameBuffer frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (frame.Format != PixelFormat.Bgr24) throw new ArgumentException($"Expected a BGR24 frame, got {frame.Format}.", nameof(frame));
    }

    private void RequireElementType(TensorElementType t)
    {
        if (Spec.ElementType != t)
            throw new ArgumentException($"The spec asks for {Spec.ElementType} output but a {t} destination was given.");
    }

    private void EnsureTables(int srcW, int srcH)
    {
        if (srcW == _tableSrcW && srcH == _tableSrcH) return;
        var t = Spec.TransformFor(srcW, srcH);
        int w = Spec.Width;
        _x0 = new int[w];
        _x1 = new int[w];
        _fx = new float[w];
        for (int ox = 0; ox < w; ox++)
        {
            if (ox < t.OffsetX || ox >= t.OffsetX + t.ResizedWidth) continue;
            Axis(ox, t.OffsetX, t.ScaleX, srcW, out _x0[ox], out _x1[ox], out _fx[ox]);
        }
        _tableSrcW = srcW;
        _tableSrcH = srcH;
        _tableTransform = t;
    }

    /// <summary>Source coordinate for model coordinate <paramref name="o"/> along one axis, per the spec.</summary>
    private static void Axis(int o, int offset, float scale, int srcSize, out int i0, out int i1, out float f)
    {
        float s = (o - offset + 0.5f) / scale - 0.5f;
        s = Math.Clamp(s, 0f, srcSize - 1);
        i0 = (int)MathF.Floor(s);
        i1 = Math.Min(i0 + 1, srcSize - 1);
        f = s - i0;
    }

    private unsafe LetterboxTransform RunBgr(nint src, int pitch, int srcW, int srcH, Dest dest)
    {
        if (dest.Length < Spec.ElementsPerImage)
            throw new ArgumentException($"Destination holds {dest.Length} elements; one image needs {Spec.ElementsPerImage}.");
        EnsureTables(srcW, srcH);
        var t = _tableTransform;
        int outW = Spec.Width, outH = Spec.Height;
        // Channel c of the output takes source channel map[c] (source is B,G,R).
        int c0 = Spec.Channels == ChannelOrder.Bgr ? 0 : 2, c2 = 2 - c0;
        var state = new RowState(this, dest, t, srcH, outW, outH, c0, c2);
        int need = outW * 3;
        // Rows are independent; each worker reuses one scratch row from the shared pool.
        Parallel.For(0, outH,
            () => System.Buffers.ArrayPool<float>.Shared.Rent(need),
            (oy, _, scratch) =>
            {
                var row = scratch.AsSpan(0, need);
                state.BgrRow((byte*)src, pitch, oy, row);
                state.Store(oy, row);
                return scratch;
            },
            scratch => System.Buffers.ArrayPool<float>.Shared.Return(scratch));
        return t;
    }

    private LetterboxTransform RunNv12Core(ReadOnlySpan<byte> yPlane, int yPitch, ReadOnlySpan<byte> uvPlane, int uvPitch,
        int srcW, int srcH, ColorMatrix matrix, Dest dest)
    {
        if (dest.Length < Spec.ElementsPerImage)
            throw new ArgumentException($"Destination holds {dest.Length} elements; one image needs {Spec.ElementsPerImage}.");
        if (yPlane.Length < (long)yPitch * (srcH - 1) + srcW) throw new ArgumentException("Luma plane too small.", nameof(yPlane));
        int uvRows = (srcH + 1) / 2;
        if (uvPlane.Length < (long)uvPitch * (uvRows - 1) + ((srcW + 1) / 2) * 2) throw new ArgumentException("Chroma plane too small.", nameof(uvPlane));
        EnsureTables(srcW, srcH);
        var t = _tableTransform;
        int outW = Spec.Width, outH = Spec.Height;
        int c0 = Spec.Channels == ChannelOrder.Bgr ? 0 : 2, c2 = 2 - c0;
        var state = new RowState(this, dest, t, srcH, outW, outH, c0, c2);
        var row = new float[outW * 3];
        for (int oy = 0; oy < outH; oy++)
        {
            state.Nv12Row(yPlane, yPitch, uvPlane, uvPitch, matrix, oy, row);
            state.Store(oy, row);
        }
        return t;
    }

    /// <summary>A destination slice of either element type (kept as a pointer so row workers can share it).</summary>
    private readonly unsafe struct Dest
    {
        public readonly float* F32;
        public readonly Half* F16;
        public readonly int Length;

        // The caller pins the destination for the duration of the (synchronous) Run call.
        public Dest(float* f32, Half* f16, int length)
        {
            F32 = f32;
            F16 = f16;
            Length = length;
        }
    }

    /// <summary>Everything one output row needs; computes the row's values in output channel order, then stores them.</summary>
    private readonly unsafe struct RowState(CpuPreprocessor p, Dest dest, LetterboxTransform t, int srcH, int outW, int outH, int c0, int c2)
    {
        private bool RowInside(int oy) => oy >= t.OffsetY && oy < t.OffsetY + t.ResizedHeight;
        private bool ColInside(int ox) => ox >= t.OffsetX && ox < t.OffsetX + t.ResizedWidth;

        /// <summary>Fills <paramref name="row"/> (outW*3, interleaved, output channel order) with blended source values or the pad value.</summary>
        public void BgrRow(byte* src, int pitch, int oy, Span<float> row)
        {
            float pad = p.Spec.PadValue;
            if (!RowInside(oy)) { row.Fill(pad); return; }
            Axis(oy, t.OffsetY, t.ScaleY, srcH, out int y0, out int y1, out float fy);
            byte* r0 = src + (long)y0 * pitch;
            byte* r1 = src + (long)y1 * pitch;
            int[] x0s = p._x0, x1s = p._x1;
            float[] fxs = p._fx;
            int xStart = t.OffsetX, xEnd = t.OffsetX + t.ResizedWidth;
            row[..(xStart * 3)].Fill(pad);
            row[(xEnd * 3)..].Fill(pad);
            float gy = 1f - fy;
            for (int ox = xStart; ox < xEnd; ox++)
            {
                int a = x0s[ox] * 3, b = x1s[ox] * 3;
                float fx = fxs[ox], gx = 1f - fx;
                int o = ox * 3;
                // c0 / 1 / c2 pick B or R first depending on the output order.
                row[o] = gy * (gx * r0[a + c0] + fx * r0[b + c0]) + fy * (gx * r1[a + c0] + fx * r1[b + c0]);
                row[o + 1] = gy * (gx * r0[a + 1] + fx * r0[b + 1]) + fy * (gx * r1[a + 1] + fx * r1[b + 1]);
                row[o + 2] = gy * (gx * r0[a + c2] + fx * r0[b + c2]) + fy * (gx * r1[a + c2] + fx * r1[b + c2]);
            }
        }

        public void Nv12Row(ReadOnlySpan<byte> yp, int yPitch, ReadOnlySpan<byte> uvp, int uvPitch, ColorMatrix m, int oy, Span<float> row)
        {
            float pad = p.Spec.PadValue;
            if (!RowInside(oy)) { row.Fill(pad); return; }
            Axis(oy, t.OffsetY, t.ScaleY, srcH, out int y0, out int y1, out float fy);
            for (int ox = 0; ox < outW; ox++)
            {
                int o = ox * 3;
                if (!ColInside(ox)) { row[o] = row[o + 1] = row[o + 2] = pad; continue; }
                int x0 = p._x0[ox], x1 = p._x1[ox];
                float fx = p._fx[ox];
                var p00 = Pixel(yp, yPitch, uvp, uvPitch, m, x0, y0);
                var p10 = Pixel(yp, yPitch, uvp, uvPitch, m, x1, y0);
                var p01 = Pixel(yp, yPitch, uvp, uvPitch, m, x0, y1);
                var p11 = Pixel(yp, yPitch, uvp, uvPitch, m, x1, y1);
                for (int c = 0; c < 3; c++)
                {
                    int sc = c == 0 ? c0 : c == 1 ? 1 : c2;
                    float v00 = Pick(p00, sc), v10 = Pick(p10, sc), v01 = Pick(p01, sc), v11 = Pick(p11, sc);
                    row[o + c] = (1f - fy) * ((1f - fx) * v00 + fx * v10) + fy * ((1f - fx) * v01 + fx * v11);
                }
            }
        }

        private static (float B, float G, float R) Pixel(ReadOnlySpan<byte> yp, int yPitch, ReadOnlySpan<byte> uvp, int uvPitch, ColorMatrix m, int x, int y)
        {
            int uvi = (y / 2) * uvPitch + (x / 2) * 2;
            return Nv12ToBgr(yp[y * yPitch + x], uvp[uvi], uvp[uvi + 1], m);
        }

        private static float Pick((float B, float G, float R) p, int sourceChannel) =>
            sourceChannel == 0 ? p.B : sourceChannel == 1 ? p.G : p.R;

        /// <summary>Applies mean/scale and writes the row in the spec's layout and element type.</summary>
        public void Store(int oy, ReadOnlySpan<float> row)
        {
            float m0 = p._mean[0], m1 = p._mean[1], m2 = p._mean[2];
            float s0 = p._scale[0], s1 = p._scale[1], s2 = p._scale[2];
            int plane = outW * outH;
            bool nchw = p.Spec.Layout == TensorLayout.Nchw;
            if (dest.F32 != null)
            {
                float* d = dest.F32;
                if (nchw)
                {
                    float* d0 = d + (long)oy * outW, d1 = d0 + plane, d2 = d1 + plane;
                    for (int x = 0; x < outW; x++)
                    {
                        d0[x] = (row[x * 3] - m0) * s0;
                        d1[x] = (row[x * 3 + 1] - m1) * s1;
                        d2[x] = (row[x * 3 + 2] - m2) * s2;
                    }
                }
                else
                {
                    float* r = d + (long)oy * outW * 3;
                    for (int x = 0; x < outW; x++)
                    {
                        r[x * 3] = (row[x * 3] - m0) * s0;
                        r[x * 3 + 1] = (row[x * 3 + 1] - m1) * s1;
                        r[x * 3 + 2] = (row[x * 3 + 2] - m2) * s2;
                    }
                }
            }
            else
            {
                Half* d = dest.F16;
                if (nchw)
                {
                    Half* d0 = d + (long)oy * outW, d1 = d0 + plane, d2 = d1 + plane;
                    for (int x = 0; x < outW; x++)
                    {
                        d0[x] = (Half)((row[x * 3] - m0) * s0);
                        d1[x] = (Half)((row[x * 3 + 1] - m1) * s1);
                        d2[x] = (Half)((row[x * 3 + 2] - m2) * s2);
                    }
                }
                else
                {
                    Half* r = d + (long)oy * outW * 3;
                    for (int x = 0; x < outW; x++)
                    {
                        r[x * 3] = (Half)((row[x * 3] - m0) * s0);
                        r[x * 3 + 1] = (Half)((row[x * 3 + 1] - m1) * s1);
                        r[x * 3 + 2] = (Half)((row[x * 3 + 2] - m2) * s2);
                    }
                }
            }
        }
    }
}
