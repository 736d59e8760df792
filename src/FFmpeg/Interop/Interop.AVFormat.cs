using System.Runtime.InteropServices;

namespace Vigil.FFmpeg;

internal static partial class Interop
{
    /// <summary>libavformat: demuxing, muxing, I/O.</summary>
    internal static unsafe partial class AVFormat
    {
        internal const int AVERROR_STREAM_NOT_FOUND = -0x525453F8; // FFERRTAG(0xF8,'S','T','R')
        internal const int AVERROR_DECODER_NOT_FOUND = -0x434544f8; // FFERRTAG(0xF8,'D','E','C')

        [LibraryImport(Libraries.AVFormat, EntryPoint = "avformat_version")]
        internal static partial uint avformat_version();

        [LibraryImport(Libraries.AVFormat, EntryPoint = "avformat_network_init")]
        internal static partial int avformat_network_init();

        [LibraryImport(Libraries.AVFormat, EntryPoint = "avformat_open_input", StringMarshalling = StringMarshalling.Utf8)]
        private static partial int avformat_open_input(ref nint ctx, string url, nint format, ref nint options);

        [LibraryImport(Libraries.AVFormat, EntryPoint = "avformat_close_input")]
        private static partial void avformat_close_input(ref nint ctx);

        /// <summary>Opens an input; returns the raw status (callers turn it into a user-facing message).</summary>
        internal static int OpenInput(string url, ref nint options, out SafeAVFormatContextHandle handle)
        {
            handle = new SafeAVFormatContextHandle(output: false);
            nint ctx = 0;
            int rc = avformat_open_input(ref ctx, url, 0, ref options);
            if (rc >= 0) handle.Attach(ctx);
            return rc;
        }

        internal static void CloseInput(nint ctx) => avformat_close_input(ref ctx);

        [LibraryImport(Libraries.AVFormat, EntryPoint = "avformat_find_stream_info")]
        internal static partial int avformat_find_stream_info(SafeAVFormatContextHandle ctx, nint options);

        [LibraryImport(Libraries.AVFormat, EntryPoint = "av_find_best_stream")]
        internal static partial int av_find_best_stream(SafeAVFormatContextHandle ctx, int type, int wanted, int related, nint decoderRet, int flags);

        [LibraryImport(Libraries.AVFormat, EntryPoint = "av_read_frame")]
        internal static partial int av_read_frame(SafeAVFormatContextHandle ctx, SafeAVPacketHandle packet);

        // ---- muxing ----
        [LibraryImport(Libraries.AVFormat, EntryPoint = "avformat_alloc_output_context2", StringMarshalling = StringMarshalling.Utf8)]
        private static partial int avformat_alloc_output_context2(out nint ctx, nint oformat, string? formatName, string fileName);

        [LibraryImport(Libraries.AVFormat, EntryPoint = "avformat_free_context")]
        private static partial void avformat_free_context(nint ctx);

        [LibraryImport(Libraries.AVFormat, EntryPoint = "avio_closep")]
        private static partial int avio_closep(nint pbField);

        internal static SafeAVFormatContextHandle AllocOutput(string formatName, string fileName)
        {
            var h = new SafeAVFormatContextHandle(output: true);
            FFmpegError.ThrowIfFailed(avformat_alloc_output_context2(out nint ctx, 0, formatName, fileName), "avformat_alloc_output_context2");
            h.Attach(ctx);
            return h;
        }

        /// <summary>Closes the output's I/O context (if open) and frees the muxer context.</summary>
        internal static void FreeOutput(nint ctx)
        {
            avio_closep(ctx + FFmpegLibrary.Layout.FormatContext_pb);
            avformat_free_context(ctx);
        }

        [LibraryImport(Libraries.AVFormat, EntryPoint = "avio_open", StringMarshalling = StringMarshalling.Utf8)]
        private static partial int avio_open(nint pbField, string url, int flags);

        internal static void OpenOutputFile(SafeAVFormatContextHandle ctx, string path)
        {
            bool added = false;
            ctx.DangerousAddRef(ref added);
            try
            {
                nint pb = ctx.DangerousGetHandle() + FFmpegLibrary.Layout.FormatContext_pb;
                FFmpegError.ThrowIfFailed(avio_open(pb, path, AVIO_FLAG_WRITE), $"avio_open({path})");
            }
            finally { if (added) ctx.DangerousRelease(); }
        }

        internal static void CloseOutputFile(SafeAVFormatContextHandle ctx)
        {
            bool added = false;
            ctx.DangerousAddRef(ref added);
            try
            {
                FFmpegError.ThrowIfFailed(avio_closep(ctx.DangerousGetHandle() + FFmpegLibrary.Layout.FormatContext_pb), "avio_closep");
            }
            finally { if (added) ctx.DangerousRelease(); }
        }

        [LibraryImport(Libraries.AVFormat, EntryPoint = "avformat_new_stream")]
        internal static partial nint avformat_new_stream(SafeAVFormatContextHandle ctx, nint codec);

        [LibraryImport(Libraries.AVFormat, EntryPoint = "avformat_write_header")]
        internal static partial int avformat_write_header(SafeAVFormatContextHandle ctx, ref nint options);

        [LibraryImport(Libraries.AVFormat, EntryPoint = "av_interleaved_write_frame")]
        internal static partial int av_interleaved_write_frame(SafeAVFormatContextHandle ctx, SafeAVPacketHandle packet);

        [LibraryImport(Libraries.AVFormat, EntryPoint = "av_write_trailer")]
        internal static partial int av_write_trailer(SafeAVFormatContextHandle ctx);
    }
}
