using System.Runtime.InteropServices;

namespace Vigil.FFmpeg;

internal static partial class Interop
{
    /// <summary>libavcodec: codecs, codec contexts, packets, bitstream filters.</summary>
    internal static unsafe partial class AVCodec
    {
        [LibraryImport(Libraries.AVCodec, EntryPoint = "avcodec_version")]
        internal static partial uint avcodec_version();

        [LibraryImport(Libraries.AVCodec, EntryPoint = "avcodec_find_decoder")]
        internal static partial nint avcodec_find_decoder(int codecId);

        [LibraryImport(Libraries.AVCodec, EntryPoint = "avcodec_find_encoder")]
        internal static partial nint avcodec_find_encoder(int codecId);

        [LibraryImport(Libraries.AVCodec, EntryPoint = "avcodec_find_encoder_by_name", StringMarshalling = StringMarshalling.Utf8)]
        internal static partial nint avcodec_find_encoder_by_name(string name);

        [LibraryImport(Libraries.AVCodec, EntryPoint = "avcodec_get_name")]
        private static partial nint avcodec_get_name(int codecId);

        internal static string CodecName(int codecId) => Marshal.PtrToStringUTF8(avcodec_get_name(codecId)) ?? $"codec {codecId}";

        // ---- AVCodecContext ----
        [LibraryImport(Libraries.AVCodec, EntryPoint = "avcodec_alloc_context3")]
        private static partial nint avcodec_alloc_context3(nint codec);

        [LibraryImport(Libraries.AVCodec, EntryPoint = "avcodec_free_context")]
        private static partial void avcodec_free_context(ref nint ctx);

        internal static SafeAVCodecContextHandle AllocContext(nint codec)
        {
            var h = new SafeAVCodecContextHandle();
            nint p = avcodec_alloc_context3(codec);
            if (p == 0) throw new OutOfMemoryException("avcodec_alloc_context3 failed.");
            h.Attach(p);
            return h;
        }

        internal static void FreeContext(nint ctx) => avcodec_free_context(ref ctx);

        [LibraryImport(Libraries.AVCodec, EntryPoint = "avcodec_parameters_to_context")]
        private static partial int avcodec_parameters_to_context(SafeAVCodecContextHandle ctx, nint par);

        [LibraryImport(Libraries.AVCodec, EntryPoint = "avcodec_parameters_from_context")]
        private static partial int avcodec_parameters_from_context(nint par, SafeAVCodecContextHandle ctx);

        [LibraryImport(Libraries.AVCodec, EntryPoint = "avcodec_parameters_copy")]
        private static partial int avcodec_parameters_copy(nint dst, nint src);

        internal static void ParametersToContext(SafeAVCodecContextHandle ctx, nint par) =>
            FFmpegError.ThrowIfFailed(avcodec_parameters_to_context(ctx, par), "avcodec_parameters_to_context");
        internal static void ParametersFromContext(nint par, SafeAVCodecContextHandle ctx) =>
            FFmpegError.ThrowIfFailed(avcodec_parameters_from_context(par, ctx), "avcodec_parameters_from_context");
        internal static void ParametersCopy(nint dst, nint src) =>
            FFmpegError.ThrowIfFailed(avcodec_parameters_copy(dst, src), "avcodec_parameters_copy");

        [LibraryImport(Libraries.AVCodec, EntryPoint = "avcodec_open2")]
        private static partial int avcodec_open2(SafeAVCodecContextHandle ctx, nint codec, ref nint options);

        /// <summary>Opens the codec; returns the raw status so callers can try another codec on failure.</summary>
        internal static int Open(SafeAVCodecContextHandle ctx, nint codec, ref nint options) => avcodec_open2(ctx, codec, ref options);

        [LibraryImport(Libraries.AVCodec, EntryPoint = "avcodec_send_packet")]
        internal static partial int avcodec_send_packet(SafeAVCodecContextHandle ctx, nint packet);

        [LibraryImport(Libraries.AVCodec, EntryPoint = "avcodec_receive_frame")]
        internal static partial int avcodec_receive_frame(SafeAVCodecContextHandle ctx, SafeAVFrameHandle frame);

        [LibraryImport(Libraries.AVCodec, EntryPoint = "avcodec_send_frame")]
        internal static partial int avcodec_send_frame(SafeAVCodecContextHandle ctx, nint frame);

        [LibraryImport(Libraries.AVCodec, EntryPoint = "avcodec_receive_packet")]
        internal static partial int avcodec_receive_packet(SafeAVCodecContextHandle ctx, SafeAVPacketHandle packet);

        // ---- AVPacket ----
        [LibraryImport(Libraries.AVCodec, EntryPoint = "av_packet_alloc")]
        private static partial nint av_packet_alloc();

        [LibraryImport(Libraries.AVCodec, EntryPoint = "av_packet_free")]
        private static partial void av_packet_free(ref nint packet);

        internal static SafeAVPacketHandle PacketAlloc()
        {
            var h = new SafeAVPacketHandle();
            nint p = av_packet_alloc();
            if (p == 0) throw new OutOfMemoryException("av_packet_alloc failed.");
            h.Attach(p);
            return h;
        }

        internal static void PacketFree(nint packet) => av_packet_free(ref packet);

        [LibraryImport(Libraries.AVCodec, EntryPoint = "av_packet_unref")]
        internal static partial void av_packet_unref(SafeAVPacketHandle packet);

        [LibraryImport(Libraries.AVCodec, EntryPoint = "av_packet_rescale_ts")]
        internal static partial void av_packet_rescale_ts(SafeAVPacketHandle packet, AVRational src, AVRational dst);

        // ---- Bitstream filters ----
        [LibraryImport(Libraries.AVCodec, EntryPoint = "av_bsf_get_by_name", StringMarshalling = StringMarshalling.Utf8)]
        internal static partial nint av_bsf_get_by_name(string name);

        [LibraryImport(Libraries.AVCodec, EntryPoint = "av_bsf_alloc")]
        private static partial int av_bsf_alloc(nint filter, out nint ctx);

        [LibraryImport(Libraries.AVCodec, EntryPoint = "av_bsf_free")]
        private static partial void av_bsf_free(ref nint ctx);

        internal static SafeAVBSFContextHandle BsfAlloc(nint filter)
        {
            var h = new SafeAVBSFContextHandle();
            FFmpegError.ThrowIfFailed(av_bsf_alloc(filter, out nint p), "av_bsf_alloc");
            h.Attach(p);
            return h;
        }

        internal static void BsfFree(nint ctx) => av_bsf_free(ref ctx);

        [LibraryImport(Libraries.AVCodec, EntryPoint = "av_bsf_init")]
        private static partial int av_bsf_init(SafeAVBSFContextHandle ctx);

        internal static void BsfInit(SafeAVBSFContextHandle ctx) => FFmpegError.ThrowIfFailed(av_bsf_init(ctx), "av_bsf_init");

        [LibraryImport(Libraries.AVCodec, EntryPoint = "av_bsf_send_packet")]
        internal static partial int av_bsf_send_packet(SafeAVBSFContextHandle ctx, nint packet);

        [LibraryImport(Libraries.AVCodec, EntryPoint = "av_bsf_receive_packet")]
        internal static partial int av_bsf_receive_packet(SafeAVBSFContextHandle ctx, SafeAVPacketHandle packet);
    }
}
