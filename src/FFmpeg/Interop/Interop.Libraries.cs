namespace Vigil.FFmpeg;

internal static partial class Interop
{
    /// <summary>
    /// Logical library names used by the imports. <see cref="FFmpegLibrary"/> maps them at load time to the
    /// versioned files it found (system sonames or hashed names under FFMPEG_LIB_DIR).
    /// </summary>
    internal static class Libraries
    {
        internal const string AVUtil = "vigil-avutil";
        internal const string AVCodec = "vigil-avcodec";
        internal const string AVFormat = "vigil-avformat";
        internal const string SwScale = "vigil-swscale";
    }

    /// <summary>AVRational, passed by value (two ints, as in libavutil/rational.h).</summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    internal readonly record struct AVRational(int num, int den)
    {
        public double ToDouble() => den == 0 ? 0 : (double)num / den;
    }

    internal const long AV_NOPTS_VALUE = unchecked((long)0x8000000000000000UL);

    internal const int AVMEDIA_TYPE_VIDEO = 0;
    internal const int AV_PKT_FLAG_KEY = 0x0001;
    internal const int AV_PIX_FMT_YUV420P = 0;
    internal const int AV_PIX_FMT_BGR24 = 3;
    internal const int AV_CODEC_ID_H264 = 27;
    internal const int AV_CODEC_ID_HEVC = 173;
    internal const int AV_CODEC_ID_MPEG4 = 12;
    internal const int AVIO_FLAG_WRITE = 2;
    internal const int SWS_BICUBIC = 4;
    internal const int AV_OPT_SEARCH_CHILDREN = 1;
}
