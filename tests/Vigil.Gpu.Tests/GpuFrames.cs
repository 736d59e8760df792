using Vigil.Cuda;

namespace Vigil.Gpu.Tests;

public static class GpuFrames
{
    /// <summary>Downloads an NV12 surface into a tightly packed host array (Y rows then UV rows), for comparisons.</summary>
    public static unsafe byte[] DownloadNv12(DeviceFrameBuffer b, CudaStream s)
    {
        var host = new byte[b.Width * b.Height * 3 / 2];
        fixed (byte* p = host)
        {
            var c = new CUDA_MEMCPY2D
            {
                srcMemoryType = CUmemorytype.CU_MEMORYTYPE_DEVICE, srcDevice = b.DevicePointer, srcPitch = (nuint)b.Pitch,
                dstMemoryType = CUmemorytype.CU_MEMORYTYPE_HOST, dstHost = (nint)p, dstPitch = (nuint)b.Width,
                WidthInBytes = (nuint)b.Width, Height = (nuint)(b.Height * 3 / 2),
            };
            s.Copy2D(c);
            s.Synchronize();
        }
        return host;
    }

    /// <summary>Max abs difference of the luma and chroma planes of two packed NV12 images.</summary>
    public static (int Luma, int Chroma) MaxDiff(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, int width, int height)
    {
        int ySize = width * height, luma = 0, chroma = 0;
        for (int i = 0; i < ySize; i++) luma = Math.Max(luma, Math.Abs(a[i] - b[i]));
        for (int i = ySize; i < ySize + ySize / 2; i++) chroma = Math.Max(chroma, Math.Abs(a[i] - b[i]));
        return (luma, chroma);
    }
}
