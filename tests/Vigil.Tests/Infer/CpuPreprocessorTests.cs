using Vigil.Infer;

namespace Vigil.Tests.Infer;

/// <summary>
/// CPU preprocessing against a straightforward per-sample reference written from the <see cref="PreprocessSpec"/>
/// text (sample positions in float as the spec fixes them, blending in double; tolerance 1e-3 in FP32, FP16 adds
/// half's rounding, 2^-11 relative).
/// </summary>
public class CpuPreprocessorTests
{
    /// <summary>Source colour of pixel (x, y) in B,G,R order (index 0..2).</summary>
    private delegate double Source(int x, int y, int bgr);

    /// <summary>The spec, evaluated literally: one output sample at a time.</summary>
    private static double[] Reference(PreprocessSpec spec, int srcW, int srcH, Source src)
    {
        var t = spec.TransformFor(srcW, srcH);
        var outp = new double[spec.ElementsPerImage];
        for (int oy = 0; oy < spec.Height; oy++)
        for (int ox = 0; ox < spec.Width; ox++)
        for (int c = 0; c < 3; c++)
        {
            int bgr = spec.Channels == ChannelOrder.Bgr ? c : 2 - c;
            double v;
            if (ox < t.OffsetX || ox >= t.OffsetX + t.ResizedWidth || oy < t.OffsetY || oy >= t.OffsetY + t.ResizedHeight)
            {
                v = spec.PadValue;
            }
            else
            {
                // The spec fixes the sample position in 32-bit float: on noise images (255 levels per pixel) a
                // double-precision position would differ by ~1e-2 in value, more than the comparison tolerance.
                float sxf = (ox - t.OffsetX + 0.5f) / t.ScaleX - 0.5f, syf = (oy - t.OffsetY + 0.5f) / t.ScaleY - 0.5f;
                double sx = Math.Clamp(sxf, 0f, srcW - 1), sy = Math.Clamp(syf, 0f, srcH - 1);
                int x0 = (int)Math.Floor(sx), y0 = (int)Math.Floor(sy);
                int x1 = Math.Min(x0 + 1, srcW - 1), y1 = Math.Min(y0 + 1, srcH - 1);
                double fx = sx - x0, fy = sy - y0;
                v = (1 - fy) * ((1 - fx) * src(x0, y0, bgr) + fx * src(x1, y0, bgr))
                    + fy * ((1 - fx) * src(x0, y1, bgr) + fx * src(x1, y1, bgr));
            }
            double o = (v - spec.Mean[c]) * spec.Scale[c];
            int index = spec.Layout == TensorLayout.Nchw
                ? (c * spec.Height + oy) * spec.Width + ox
                : (oy * spec.Width + ox) * 3 + c;
            outp[index] = o;
        }
        return outp;
    }

    private static HostFrameBuffer RandomBgr(int w, int h, int seed)
    {
        var rng = new Random(seed);
        var b = HostFrameBuffer.Allocate(w, h, PixelFormat.Bgr24);
        rng.NextBytes(b.Span);
        return b;
    }

    private static double MaxDiff(double[] expected, Func<int, double> actual)
    {
        double max = 0;
        for (int i = 0; i < expected.Length; i++) max = Math.Max(max, Math.Abs(expected[i] - actual(i)));
        return max;
    }

    public static TheoryData<int, int, int, int, ResizeMode, LetterboxAnchor, TensorLayout, ChannelOrder, bool> Cases => new()
    {
        // src w, h -> model w, h; resize; anchor; layout; channels; normalised (mean/scale)
        { 771, 433, 416, 416, ResizeMode.Letterbox, LetterboxAnchor.TopLeft, TensorLayout.Nchw, ChannelOrder.Bgr, false },
        { 771, 433, 416, 416, ResizeMode.Letterbox, LetterboxAnchor.Center, TensorLayout.Nhwc, ChannelOrder.Rgb, true },
        { 433, 771, 416, 416, ResizeMode.Letterbox, LetterboxAnchor.Center, TensorLayout.Nchw, ChannelOrder.Rgb, true },
        { 771, 433, 416, 416, ResizeMode.Stretch, LetterboxAnchor.TopLeft, TensorLayout.Nhwc, ChannelOrder.Bgr, false },
        { 97, 61, 128, 128, ResizeMode.Letterbox, LetterboxAnchor.Center, TensorLayout.Nhwc, ChannelOrder.Rgb, true }, // upscale
        { 1921, 1081, 320, 192, ResizeMode.Letterbox, LetterboxAnchor.TopLeft, TensorLayout.Nchw, ChannelOrder.Bgr, true },
    };

    private static PreprocessSpec Spec(int mw, int mh, ResizeMode resize, LetterboxAnchor anchor, TensorLayout layout, ChannelOrder ch, bool norm, TensorElementType type) => new()
    {
        Width = mw, Height = mh, Resize = resize, Anchor = anchor, Layout = layout, Channels = ch, ElementType = type,
        PadValue = norm ? 0f : 114f,
        Mean = norm ? [123.675f, 116.28f, 103.53f] : [0f, 0f, 0f],
        Scale = norm ? [1 / 58.395f, 1 / 57.12f, 1 / 57.375f] : [1f, 1f, 1f],
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Run_Float32_MatchesReference(int sw, int sh, int mw, int mh, ResizeMode resize, LetterboxAnchor anchor, TensorLayout layout, ChannelOrder ch, bool norm)
    {
        var spec = Spec(mw, mh, resize, anchor, layout, ch, norm, TensorElementType.Float32);
        var src = RandomBgr(sw, sh, sw * 31 + sh);
        try
        {
            var expected = Reference(spec, sw, sh, (x, y, c) => src.Row(y)[x * 3 + c]);
            var actual = new float[spec.ElementsPerImage + 5];
            actual.AsSpan().Fill(float.NaN);
            var t = new CpuPreprocessor(spec).Run(src, actual.AsSpan(0, spec.ElementsPerImage));
            Assert.Equal(spec.TransformFor(sw, sh), t);
            double max = MaxDiff(expected, i => actual[i]);
            TestContext.Current.TestOutputHelper?.WriteLine($"max abs diff {max:E2}");
            Assert.True(max <= 1e-3, $"max abs diff {max}");
            Assert.True(float.IsNaN(actual[spec.ElementsPerImage]), "wrote past the image slice");
        }
        finally
        {
            src.Release();
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Run_Float16_MatchesReferenceWithinHalfPrecision(int sw, int sh, int mw, int mh, ResizeMode resize, LetterboxAnchor anchor, TensorLayout layout, ChannelOrder ch, bool norm)
    {
        var spec = Spec(mw, mh, resize, anchor, layout, ch, norm, TensorElementType.Float16);
        var src = RandomBgr(sw, sh, sw * 17 + sh);
        try
        {
            var expected = Reference(spec, sw, sh, (x, y, c) => src.Row(y)[x * 3 + c]);
            var actual = new Half[spec.ElementsPerImage];
            new CpuPreprocessor(spec).Run(src, actual);
            for (int i = 0; i < expected.Length; i++)
            {
                double tol = 1e-3 + Math.Abs(expected[i]) / 2048.0;
                Assert.True(Math.Abs(expected[i] - (double)actual[i]) <= tol, $"element {i}: expected {expected[i]}, got {actual[i]}");
            }
        }
        finally
        {
            src.Release();
        }
    }

    [Fact]
    public void TransformFor_771x433To416_LetterboxGeometry()
    {
        var top = new PreprocessSpec { Width = 416, Height = 416 }.TransformFor(771, 433);
        Assert.Equal((0, 0, 416, 234), (top.OffsetX, top.OffsetY, top.ResizedWidth, top.ResizedHeight));
        var centre = new PreprocessSpec { Width = 416, Height = 416, Anchor = LetterboxAnchor.Center }.TransformFor(771, 433);
        Assert.Equal((0, 91, 416, 234), (centre.OffsetX, centre.OffsetY, centre.ResizedWidth, centre.ResizedHeight));
        // A box at the bottom-right corner of the resized region maps back to the source's corner.
        var back = centre.ToSource(BoxF.FromCorners(0, 91, 416, 91 + 234));
        Assert.Equal(771f, back.Right, 0.01f);
        Assert.Equal(433f, back.Bottom, 0.01f);
    }

    [Fact]
    public void Run_WrongDestinationType_Throws()
    {
        var spec = new PreprocessSpec { Width = 8, Height = 8, ElementType = TensorElementType.Float16 };
        var src = RandomBgr(10, 10, 1);
        try
        {
            Assert.Throws<ArgumentException>(() => new CpuPreprocessor(spec).Run(src, new float[spec.ElementsPerImage]));
            Assert.Throws<ArgumentException>(() => new CpuPreprocessor(spec).Run(src, new Half[spec.ElementsPerImage - 1]));
        }
        finally
        {
            src.Release();
        }
    }

    /// <summary>NV12 → B,G,R written independently from the <see cref="ColorMatrix"/> documentation.</summary>
    private static double Nv12Channel(int yv, int uv, int vv, ColorMatrix m, int bgr)
    {
        double y = 1.164383 * (yv - 16), u = uv - 128, v = vv - 128;
        double r, g, b;
        if (m == ColorMatrix.Bt601) { r = y + 1.596027 * v; g = y - 0.391762 * u - 0.812968 * v; b = y + 2.017232 * u; }
        else { r = y + 1.792741 * v; g = y - 0.213249 * u - 0.532909 * v; b = y + 2.112402 * u; }
        double value = bgr == 0 ? b : bgr == 1 ? g : r;
        return Math.Clamp(value, 0, 255);
    }

    [Theory]
    [InlineData(771, 433, ColorMatrix.Bt601, TensorLayout.Nchw, ChannelOrder.Bgr, LetterboxAnchor.TopLeft)]
    [InlineData(771, 433, ColorMatrix.Bt709, TensorLayout.Nhwc, ChannelOrder.Rgb, LetterboxAnchor.Center)]
    [InlineData(1920, 1080, ColorMatrix.Bt709, TensorLayout.Nchw, ChannelOrder.Rgb, LetterboxAnchor.Center)]
    public void RunNv12_MatchesFloatBgrThroughReference(int w, int h, ColorMatrix matrix, TensorLayout layout, ChannelOrder ch, LetterboxAnchor anchor)
    {
        int yPitch = w + 37, uvPitch = ((w + 1) / 2) * 2 + 11;
        var rng = new Random(w + h);
        var yPlane = new byte[yPitch * h];
        var uvPlane = new byte[uvPitch * ((h + 1) / 2)];
        rng.NextBytes(yPlane);
        rng.NextBytes(uvPlane);
        // Full-range random chroma drives many samples out of gamut, exercising the clamp.
        var bgr = new double[w * h * 3];
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        {
            int uvi = (y / 2) * uvPitch + (x / 2) * 2;
            for (int c = 0; c < 3; c++)
                bgr[(y * w + x) * 3 + c] = Nv12Channel(yPlane[y * yPitch + x], uvPlane[uvi], uvPlane[uvi + 1], matrix, c);
        }
        var spec = new PreprocessSpec { Width = 416, Height = 416, Layout = layout, Channels = ch, Anchor = anchor, Mean = [10f, 20f, 30f], Scale = [0.5f, 0.25f, 2f] };
        var expected = Reference(spec, w, h, (x, y, c) => bgr[(y * w + x) * 3 + c]);
        var actual = new float[spec.ElementsPerImage];
        new CpuPreprocessor(spec).RunNv12(yPlane, yPitch, uvPlane, uvPitch, w, h, matrix, actual);
        double max = MaxDiff(expected, i => actual[i]);
        TestContext.Current.TestOutputHelper?.WriteLine($"max abs diff {max:E2}");
        Assert.True(max <= 1e-3, $"max abs diff {max}");
    }

    [Fact]
    public void RunNv12_HostFrameBuffer_UsesPlaneAfterLuma()
    {
        const int w = 64, h = 48;
        var buf = HostFrameBuffer.Allocate(w, h, PixelFormat.Nv12);
        try
        {
            var all = buf.Span;
            all[..(buf.Pitch * h)].Fill(180);      // luma
            all[(buf.Pitch * h)..].Fill(128);      // neutral chroma -> grey
            var spec = new PreprocessSpec { Width = 32, Height = 24, Resize = ResizeMode.Stretch };
            var actual = new float[spec.ElementsPerImage];
            new CpuPreprocessor(spec).RunNv12(buf, ColorMatrix.Bt601, actual);
            float grey = (float)(1.164383 * (180 - 16));
            Assert.All(actual, v => Assert.Equal(grey, v, 1e-3f));
        }
        finally
        {
            buf.Release();
        }
    }
}
