namespace Vigil.FFmpeg;

/// <summary>
/// Byte offsets of the few public FFmpeg struct fields Vigil reads or writes directly, per libavformat major version
/// (libavcodec and libavutil majors move in lockstep with it). Everything else goes through functions or AVOptions.
/// <para>
/// Sources: 59 = FFmpeg 5.1 headers (Debian 12 libav*-dev, checked by the gcc layout test on CI);
/// 61 = FFmpeg 7.1 headers (Debian 13 libav*-dev 7.1.5, compiled with gcc);
/// 60 = FFmpeg 6.x and 62 = FFmpeg 8.x, read from FFmpeg's public headers (AVStream gained av_class and moved codecpar
/// forward at lavf 60; the lavu 59/60 bumps removed deprecated AVFrame fields before best_effort_timestamp).
/// Every table is also checked at load time against the library itself (<see cref="FFmpegLibrary"/>: defaults of a fresh
/// AVFrame and AVPacket, stream indices and codec parameters of every opened input).
/// </para>
/// </summary>
public sealed class FFmpegLayout
{
    private readonly Dictionary<string, int> _offsets;

    private FFmpegLayout(int formatMajor, Dictionary<string, int> offsets)
    {
        FormatMajor = formatMajor;
        _offsets = offsets;
        FormatContext_pb = offsets["AVFormatContext.pb"];
        FormatContext_nb_streams = offsets["AVFormatContext.nb_streams"];
        FormatContext_streams = offsets["AVFormatContext.streams"];
        Stream_index = offsets["AVStream.index"];
        Stream_codecpar = offsets["AVStream.codecpar"];
        Stream_time_base = offsets["AVStream.time_base"];
        Stream_start_time = offsets["AVStream.start_time"];
        Stream_duration = offsets["AVStream.duration"];
        Stream_nb_frames = offsets["AVStream.nb_frames"];
        Stream_avg_frame_rate = offsets["AVStream.avg_frame_rate"];
        CodecPar_codec_type = offsets["AVCodecParameters.codec_type"];
        CodecPar_codec_id = offsets["AVCodecParameters.codec_id"];
        CodecPar_extradata = offsets["AVCodecParameters.extradata"];
        CodecPar_extradata_size = offsets["AVCodecParameters.extradata_size"];
        Packet_pts = offsets["AVPacket.pts"];
        Packet_dts = offsets["AVPacket.dts"];
        Packet_data = offsets["AVPacket.data"];
        Packet_size = offsets["AVPacket.size"];
        Packet_stream_index = offsets["AVPacket.stream_index"];
        Packet_flags = offsets["AVPacket.flags"];
        Packet_duration = offsets["AVPacket.duration"];
        Packet_pos = offsets["AVPacket.pos"];
        Frame_data = offsets["AVFrame.data"];
        Frame_linesize = offsets["AVFrame.linesize"];
        Frame_width = offsets["AVFrame.width"];
        Frame_height = offsets["AVFrame.height"];
        Frame_format = offsets["AVFrame.format"];
        Frame_pts = offsets["AVFrame.pts"];
        Frame_pkt_dts = offsets["AVFrame.pkt_dts"];
        Frame_best_effort_timestamp = offsets["AVFrame.best_effort_timestamp"];
        Bsf_par_in = offsets["AVBSFContext.par_in"];
        Bsf_par_out = offsets["AVBSFContext.par_out"];
        Bsf_time_base_in = offsets["AVBSFContext.time_base_in"];
        Bsf_time_base_out = offsets["AVBSFContext.time_base_out"];
    }

    public int FormatMajor { get; }

    /// <summary>All entries as "Struct.field" → byte offset (what the layout test compares with the C headers).</summary>
    public IReadOnlyDictionary<string, int> Offsets => _offsets;

    internal int FormatContext_pb { get; }
    internal int FormatContext_nb_streams { get; }
    internal int FormatContext_streams { get; }
    internal int Stream_index { get; }
    internal int Stream_codecpar { get; }
    internal int Stream_time_base { get; }
    internal int Stream_start_time { get; }
    internal int Stream_duration { get; }
    internal int Stream_nb_frames { get; }
    internal int Stream_avg_frame_rate { get; }
    internal int CodecPar_codec_type { get; }
    internal int CodecPar_codec_id { get; }
    internal int CodecPar_extradata { get; }
    internal int CodecPar_extradata_size { get; }
    internal int Packet_pts { get; }
    internal int Packet_dts { get; }
    internal int Packet_data { get; }
    internal int Packet_size { get; }
    internal int Packet_stream_index { get; }
    internal int Packet_flags { get; }
    internal int Packet_duration { get; }
    internal int Packet_pos { get; }
    internal int Frame_data { get; }
    internal int Frame_linesize { get; }
    internal int Frame_width { get; }
    internal int Frame_height { get; }
    internal int Frame_format { get; }
    internal int Frame_pts { get; }
    internal int Frame_pkt_dts { get; }
    internal int Frame_best_effort_timestamp { get; }
    internal int Bsf_par_in { get; }
    internal int Bsf_par_out { get; }
    internal int Bsf_time_base_in { get; }
    internal int Bsf_time_base_out { get; }

    /// <summary>The libavformat majors Vigil has tables for.</summary>
    public static IReadOnlyList<int> SupportedFormatMajors { get; } = [59, 60, 61, 62];

    /// <summary>The table for a libavformat major version, or null if Vigil has none.</summary>
    public static FFmpegLayout? ForFormatMajor(int major) => major switch
    {
        59 => V59.Value,
        60 => V60.Value,
        61 => V61.Value,
        62 => V62.Value,
        _ => null,
    };

    private static readonly Lazy<FFmpegLayout> V59 = new(() => Build(59, stream: (Index: 0, Codecpar: 208, TimeBase: 16), bestEffort: 344));
    private static readonly Lazy<FFmpegLayout> V60 = new(() => Build(60, stream: (Index: 8, Codecpar: 16, TimeBase: 32), bestEffort: 344));
    private static readonly Lazy<FFmpegLayout> V61 = new(() => Build(61, stream: (Index: 8, Codecpar: 16, TimeBase: 32), bestEffort: 320));
    private static readonly Lazy<FFmpegLayout> V62 = new(() => Build(62, stream: (Index: 8, Codecpar: 16, TimeBase: 32), bestEffort: 304));

    // The fields below did not move between FFmpeg 5.1 and 8.x; only AVStream (av_class added and codecpar moved up at
    // lavf 60) and AVFrame.best_effort_timestamp (deprecated fields before it removed at lavu 59 and 60) differ.
    private static FFmpegLayout Build(int major, (int Index, int Codecpar, int TimeBase) stream, int bestEffort)
    {
        int tb = stream.TimeBase;
        return new FFmpegLayout(major, new Dictionary<string, int>
        {
            ["AVFormatContext.pb"] = 32,
            ["AVFormatContext.nb_streams"] = 44,
            ["AVFormatContext.streams"] = 48,
            ["AVStream.index"] = stream.Index,
            ["AVStream.codecpar"] = stream.Codecpar,
            ["AVStream.time_base"] = tb,
            ["AVStream.start_time"] = tb + 8,
            ["AVStream.duration"] = tb + 16,
            ["AVStream.nb_frames"] = tb + 24,
            ["AVStream.avg_frame_rate"] = tb + 56,
            ["AVCodecParameters.codec_type"] = 0,
            ["AVCodecParameters.codec_id"] = 4,
            ["AVCodecParameters.extradata"] = 16,
            ["AVCodecParameters.extradata_size"] = 24,
            ["AVPacket.pts"] = 8,
            ["AVPacket.dts"] = 16,
            ["AVPacket.data"] = 24,
            ["AVPacket.size"] = 32,
            ["AVPacket.stream_index"] = 36,
            ["AVPacket.flags"] = 40,
            ["AVPacket.duration"] = 64,
            ["AVPacket.pos"] = 72,
            ["AVFrame.data"] = 0,
            ["AVFrame.linesize"] = 64,
            ["AVFrame.width"] = 104,
            ["AVFrame.height"] = 108,
            ["AVFrame.format"] = 116,
            ["AVFrame.pts"] = 136,
            ["AVFrame.pkt_dts"] = 144,
            ["AVFrame.best_effort_timestamp"] = bestEffort,
            ["AVBSFContext.par_in"] = 24,
            ["AVBSFContext.par_out"] = 32,
            ["AVBSFContext.time_base_in"] = 40,
            ["AVBSFContext.time_base_out"] = 48,
        });
    }
}
