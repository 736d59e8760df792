using Vigil.Cuda;
using Vigil.Osd.Gpu;

namespace Vigil.Gpu.Tests.Osd;

[Collection("Gpu")]
public sealed class GpuOsdTests(GpuFixture gpu)
{
    private DeviceFrameBuffer GreySurface(int w, int h, byte y, byte uv)
    {
        var f = DeviceFrameBuffer.Allocate(gpu.Context, w, h, PixelFormat.Nv12);
        gpu.Stream.Memset8(f.DevicePointer, y, (long)f.Pitch * h);
        gpu.Stream.Memset8(f.ChromaPointer, uv, (long)f.Pitch * h / 2);
        return f;
    }

    [Fact]
    public void Draw_OneBox_PaintsOutlineAndLabelBarOnly()
    {
        using var osd = new GpuOsd(gpu.Context, gpu.Compiler) { Thickness = 2, LabelBarHeight = 6 };
        var f = GreySurface(320, 240, 100, 128);
        try
        {
            var objs = new List<ObjectMeta> { new() { Box = new BoxF(40, 50, 100, 80), ClassId = 3, Label = "car", Confidence = 0.9f } };
            osd.Draw(f, objs, ColorMatrix.Bt601, gpu.Stream);
            var img = GpuFrames.DownloadNv12(f, gpu.Stream);
            var (r, g, b) = GpuOsd.Palette(3);
            var (cy, cu, cv) = GpuOsd.ToYuv(r, g, b, ColorMatrix.Bt601);
            byte Y(int x, int y) => img[y * 320 + x];
            (byte U, byte V) UV(int x, int y) { int i = 320 * 240 + (y / 2) * 320 + (x / 2) * 2; return (img[i], img[i + 1]); }
            Assert.Equal(cy, Y(40, 50));    // top-left corner
            Assert.Equal(cy, Y(139, 129));  // bottom-right corner (x1 = 140, y1 = 130 exclusive)
            Assert.Equal(cy, Y(41, 90));    // left edge
            Assert.Equal(cy, Y(40, 45));    // label bar above the box
            Assert.Equal((cu, cv), UV(40, 50));
            Assert.Equal(100, Y(90, 90));   // inside untouched
            Assert.Equal(100, Y(142, 90));  // outside untouched
            Assert.Equal(100, Y(40, 43));   // above the label bar
            Assert.Equal(((byte)128, (byte)128), UV(90, 90));
        }
        finally
        {
            f.Release();
        }
    }

    [Fact]
    public void DownloadBgr_Nv12Surface_MatchesCpuConversionWithinOneLevel()
    {
        using var osd = new GpuOsd(gpu.Context, gpu.Compiler);
        const int w = 202, h = 98;
        var f = DeviceFrameBuffer.Allocate(gpu.Context, w, h, PixelFormat.Nv12);
        var host = HostFrameBuffer.Allocate(w, h, PixelFormat.Bgr24);
        try
        {
            var src = new byte[f.Pitch * h * 3 / 2];
            new Random(5).NextBytes(src);
            unsafe { fixed (byte* p = src) gpu.Stream.CopyHostToDevice((nint)p, f.DevicePointer, src.Length); }
            long d2h = CudaCounters.DeviceToHostCopies;
            osd.DownloadBgr(f, ColorMatrix.Bt709, gpu.Stream, host);
            Assert.Equal(d2h + 1, CudaCounters.DeviceToHostCopies);
            int maxDiff = 0;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    float Y = src[y * f.Pitch + x] - 16f;
                    int c = f.Pitch * h + (y / 2) * f.Pitch + (x / 2) * 2;
                    float U = src[c] - 128f, V = src[c + 1] - 128f;
                    float[] bgr = [1.164383f * Y + 2.112402f * U, 1.164383f * Y - 0.213249f * U - 0.532909f * V, 1.164383f * Y + 1.792741f * V];
                    var row = host.Row(y);
                    for (int k = 0; k < 3; k++)
                        maxDiff = Math.Max(maxDiff, Math.Abs(row[x * 3 + k] - (int)Math.Clamp(MathF.Round(bgr[k]), 0, 255)));
                }
            Console.WriteLine($"[osd] NV12->BGR max diff vs CPU: {maxDiff}");
            Assert.True(maxDiff <= 1, $"max diff {maxDiff}");
        }
        finally
        {
            f.Release();
            host.Release();
        }
    }
}
