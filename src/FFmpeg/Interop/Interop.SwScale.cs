using System.Runtime.InteropServices;

namespace Vigil.FFmpeg;

internal static partial class Interop
{
    /// <summary>libswscale: pixel format conversion and scaling.</summary>
    internal static unsafe partial class SwScale
    {
        [LibraryImport(Libraries.SwScale, EntryPoint = "swscale_version")]
        internal static partial uint swscale_version();

        [LibraryImport(Libraries.SwScale, EntryPoint = "sws_getContext")]
        private static partial nint sws_getContext(int srcW, int srcH, int srcFormat, int dstW, int dstH, int dstFormat,
            int flags, nint srcFilter, nint dstFilter, nint param);

        [LibraryImport(Libraries.SwScale, EntryPoint = "sws_freeContext")]
        private static partial void sws_freeContext(nint ctx);

        internal static SafeSwsContextHandle GetContext(int srcW, int srcH, int srcFormat, int dstW, int dstH, int dstFormat, int flags)
        {
            var h = new SafeSwsContextHandle();
            nint p = sws_getContext(srcW, srcH, srcFormat, dstW, dstH, dstFormat, flags, 0, 0, 0);
            if (p == 0)
                throw new FFmpegException(-22, $"sws_getContext: cannot convert {AVUtil.PixelFormatName(srcFormat)} {srcW}x{srcH} to {AVUtil.PixelFormatName(dstFormat)} {dstW}x{dstH}");
            h.Attach(p);
            return h;
        }

        internal static void FreeContext(nint ctx) => sws_freeContext(ctx);

        [LibraryImport(Libraries.SwScale, EntryPoint = "sws_scale")]
        private static partial int sws_scale(SafeSwsContextHandle ctx, byte** srcSlice, int* srcStride, int srcSliceY, int srcSliceH,
            byte** dst, int* dstStride);

        internal static void Scale(SafeSwsContextHandle ctx, byte** src, int* srcStride, int height, byte** dst, int* dstStride)
        {
            int rc = sws_scale(ctx, src, srcStride, 0, height, dst, dstStride);
            FFmpegError.ThrowIfFailed(rc, "sws_scale");
        }
    }
}
