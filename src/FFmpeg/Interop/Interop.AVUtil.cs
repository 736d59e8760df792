using System.Runtime.InteropServices;

namespace Vigil.FFmpeg;

internal static partial class Interop
{
    /// <summary>libavutil: errors, frames, dictionaries, AVOptions.</summary>
    internal static unsafe partial class AVUtil
    {
        [LibraryImport(Libraries.AVUtil, EntryPoint = "avutil_version")]
        internal static partial uint avutil_version();

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_strerror")]
        private static partial int av_strerror(int errnum, byte* errbuf, nuint errbufSize);

        internal static string ErrorString(int code)
        {
            byte* buf = stackalloc byte[256];
            if (av_strerror(code, buf, 256) < 0) return $"error {code}";
            return Marshal.PtrToStringUTF8((nint)buf) ?? $"error {code}";
        }

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_log_set_level")]
        internal static partial void av_log_set_level(int level);

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_frame_alloc")]
        private static partial nint av_frame_alloc();

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_frame_free")]
        private static partial void av_frame_free(ref nint frame);

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_frame_unref")]
        internal static partial void av_frame_unref(SafeAVFrameHandle frame);

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_frame_get_buffer")]
        private static partial int av_frame_get_buffer(SafeAVFrameHandle frame, int align);

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_frame_make_writable")]
        private static partial int av_frame_make_writable(SafeAVFrameHandle frame);

        internal static SafeAVFrameHandle FrameAlloc()
        {
            var h = new SafeAVFrameHandle();
            nint p = av_frame_alloc();
            if (p == 0) throw new OutOfMemoryException("av_frame_alloc failed.");
            h.Attach(p);
            return h;
        }

        internal static void FrameFree(nint frame) => av_frame_free(ref frame);

        internal static void FrameGetBuffer(SafeAVFrameHandle frame, int align) =>
            FFmpegError.ThrowIfFailed(av_frame_get_buffer(frame, align), "av_frame_get_buffer");

        internal static void FrameMakeWritable(SafeAVFrameHandle frame) =>
            FFmpegError.ThrowIfFailed(av_frame_make_writable(frame), "av_frame_make_writable");

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_dict_set", StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int av_dict_set(ref nint dict, string key, string? value, int flags);

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_dict_free")]
        internal static partial void av_dict_free(ref nint dict);

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_dict_count")]
        internal static partial int av_dict_count(nint dict);

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_dict_get", StringMarshalling = StringMarshalling.Utf8)]
        internal static partial nint av_dict_get(nint dict, string key, nint prev, int flags);

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_opt_set", StringMarshalling = StringMarshalling.Utf8)]
        private static partial int av_opt_set(nint obj, string name, string value, int searchFlags);

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_opt_set_int", StringMarshalling = StringMarshalling.Utf8)]
        private static partial int av_opt_set_int(nint obj, string name, long value, int searchFlags);

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_opt_set_q", StringMarshalling = StringMarshalling.Utf8)]
        private static partial int av_opt_set_q(nint obj, string name, AVRational value, int searchFlags);

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_opt_set_image_size", StringMarshalling = StringMarshalling.Utf8)]
        private static partial int av_opt_set_image_size(nint obj, string name, int w, int h, int searchFlags);

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_opt_set_pixel_fmt", StringMarshalling = StringMarshalling.Utf8)]
        private static partial int av_opt_set_pixel_fmt(nint obj, string name, int fmt, int searchFlags);

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_opt_get_int", StringMarshalling = StringMarshalling.Utf8)]
        private static partial int av_opt_get_int(nint obj, string name, int searchFlags, out long value);

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_opt_get_image_size", StringMarshalling = StringMarshalling.Utf8)]
        private static partial int av_opt_get_image_size(nint obj, string name, int searchFlags, out int w, out int h);

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_opt_get_pixel_fmt", StringMarshalling = StringMarshalling.Utf8)]
        private static partial int av_opt_get_pixel_fmt(nint obj, string name, int searchFlags, out int fmt);

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_opt_get_q", StringMarshalling = StringMarshalling.Utf8)]
        private static partial int av_opt_get_q(nint obj, string name, int searchFlags, out AVRational value);

        // AVOptions: the version-independent way to set and read AVCodecContext fields (no struct offsets).
        internal static void OptSet(nint obj, string name, string value) =>
            FFmpegError.ThrowIfFailed(av_opt_set(obj, name, value, AV_OPT_SEARCH_CHILDREN), $"av_opt_set({name}={value})");
        internal static void OptSetInt(nint obj, string name, long value) =>
            FFmpegError.ThrowIfFailed(av_opt_set_int(obj, name, value, 0), $"av_opt_set_int({name})");
        internal static void OptSetQ(nint obj, string name, AVRational value) =>
            FFmpegError.ThrowIfFailed(av_opt_set_q(obj, name, value, 0), $"av_opt_set_q({name})");
        internal static void OptSetImageSize(nint obj, string name, int w, int h) =>
            FFmpegError.ThrowIfFailed(av_opt_set_image_size(obj, name, w, h, 0), $"av_opt_set_image_size({name})");
        internal static void OptSetPixelFormat(nint obj, string name, int fmt) =>
            FFmpegError.ThrowIfFailed(av_opt_set_pixel_fmt(obj, name, fmt, 0), $"av_opt_set_pixel_fmt({name})");

        internal static long OptGetInt(nint obj, string name)
        {
            FFmpegError.ThrowIfFailed(av_opt_get_int(obj, name, 0, out long v), $"av_opt_get_int({name})");
            return v;
        }

        internal static (int Width, int Height) OptGetImageSize(nint obj, string name)
        {
            FFmpegError.ThrowIfFailed(av_opt_get_image_size(obj, name, 0, out int w, out int h), $"av_opt_get_image_size({name})");
            return (w, h);
        }

        internal static int OptGetPixelFormat(nint obj, string name)
        {
            FFmpegError.ThrowIfFailed(av_opt_get_pixel_fmt(obj, name, 0, out int f), $"av_opt_get_pixel_fmt({name})");
            return f;
        }

        internal static AVRational OptGetQ(nint obj, string name)
        {
            FFmpegError.ThrowIfFailed(av_opt_get_q(obj, name, 0, out AVRational v), $"av_opt_get_q({name})");
            return v;
        }

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_get_pix_fmt_name")]
        private static partial nint av_get_pix_fmt_name(int fmt);

        internal static string PixelFormatName(int fmt) => Marshal.PtrToStringUTF8(av_get_pix_fmt_name(fmt)) ?? $"pix_fmt {fmt}";

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_d2q")]
        internal static partial AVRational av_d2q(double d, int max);

        [LibraryImport(Libraries.AVUtil, EntryPoint = "av_rescale_q")]
        internal static partial long av_rescale_q(long a, AVRational bq, AVRational cq);
    }
}
