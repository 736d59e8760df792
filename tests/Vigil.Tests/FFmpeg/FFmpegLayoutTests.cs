using Vigil.FFmpeg;

namespace Vigil.Tests.FFmpeg;

/// <summary>
/// Checks Vigil's struct-offset tables against the real FFmpeg headers: a small C program, compiled with gcc at test time
/// against the installed libav*-dev headers, prints offsetof/sizeof of every field Vigil touches. Extra header trees
/// (other FFmpeg majors) can be checked too by listing their include folders in VIGIL_FFMPEG_HEADER_DIRS (colon-separated).
/// </summary>
public class FFmpegLayoutTests
{
    private const string Probe = """
        #include <stddef.h>
        #include <stdio.h>
        #include <libavformat/avformat.h>
        #include <libavcodec/avcodec.h>
        #include <libavcodec/bsf.h>
        #include <libavutil/frame.h>
        #define F(s, f) printf(#s "." #f " %zu %zu\n", offsetof(s, f), sizeof(((s *)0)->f));
        int main(void) {
            printf("major %d %d %d\n", LIBAVFORMAT_VERSION_MAJOR, LIBAVCODEC_VERSION_MAJOR, LIBAVUTIL_VERSION_MAJOR);
            F(AVFormatContext, pb) F(AVFormatContext, nb_streams) F(AVFormatContext, streams)
            F(AVStream, index) F(AVStream, codecpar) F(AVStream, time_base) F(AVStream, start_time)
            F(AVStream, duration) F(AVStream, nb_frames) F(AVStream, avg_frame_rate)
            F(AVCodecParameters, codec_type) F(AVCodecParameters, codec_id)
            F(AVCodecParameters, extradata) F(AVCodecParameters, extradata_size)
            F(AVPacket, pts) F(AVPacket, dts) F(AVPacket, data) F(AVPacket, size) F(AVPacket, stream_index)
            F(AVPacket, flags) F(AVPacket, duration) F(AVPacket, pos)
            F(AVFrame, data) F(AVFrame, linesize) F(AVFrame, width) F(AVFrame, height) F(AVFrame, format)
            F(AVFrame, pts) F(AVFrame, pkt_dts) F(AVFrame, best_effort_timestamp)
            F(AVBSFContext, par_in) F(AVBSFContext, par_out) F(AVBSFContext, time_base_in) F(AVBSFContext, time_base_out)
            return 0;
        }
        """;

    /// <summary>The size Vigil's code assumes for each field (pointers, ints, int64, AVRational, arrays).</summary>
    private static readonly Dictionary<string, int> ExpectedSizes = new()
    {
        ["AVFormatContext.pb"] = 8, ["AVFormatContext.nb_streams"] = 4, ["AVFormatContext.streams"] = 8,
        ["AVStream.index"] = 4, ["AVStream.codecpar"] = 8, ["AVStream.time_base"] = 8, ["AVStream.start_time"] = 8,
        ["AVStream.duration"] = 8, ["AVStream.nb_frames"] = 8, ["AVStream.avg_frame_rate"] = 8,
        ["AVCodecParameters.codec_type"] = 4, ["AVCodecParameters.codec_id"] = 4,
        ["AVCodecParameters.extradata"] = 8, ["AVCodecParameters.extradata_size"] = 4,
        ["AVPacket.pts"] = 8, ["AVPacket.dts"] = 8, ["AVPacket.data"] = 8, ["AVPacket.size"] = 4,
        ["AVPacket.stream_index"] = 4, ["AVPacket.flags"] = 4, ["AVPacket.duration"] = 8, ["AVPacket.pos"] = 8,
        ["AVFrame.data"] = 64, ["AVFrame.linesize"] = 32, ["AVFrame.width"] = 4, ["AVFrame.height"] = 4,
        ["AVFrame.format"] = 4, ["AVFrame.pts"] = 8, ["AVFrame.pkt_dts"] = 8, ["AVFrame.best_effort_timestamp"] = 8,
        ["AVBSFContext.par_in"] = 8, ["AVBSFContext.par_out"] = 8, ["AVBSFContext.time_base_in"] = 8, ["AVBSFContext.time_base_out"] = 8,
    };

    public static TheoryData<string> HeaderDirs()
    {
        var data = new TheoryData<string> { "" }; // "" = the compiler's default include path (installed libav*-dev)
        foreach (var d in (Environment.GetEnvironmentVariable("VIGIL_FFMPEG_HEADER_DIRS") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            data.Add(d);
        return data;
    }

    [Theory]
    [MemberData(nameof(HeaderDirs))]
    public void LayoutTable_RealHeaders_MatchesOffsetsAndSizes(string includeDir)
    {
        using var dir = new MediaFiles.TempDir();
        string src = dir.File("layout.c"), exe = dir.File("layout");
        File.WriteAllText(src, Probe);
        var args = new List<string> { "-w", "-o", exe, src };
        if (includeDir.Length > 0) args.InsertRange(0, ["-I", includeDir]);
        MediaFiles.Run("gcc", [.. args]);
        string[] lines = MediaFiles.RunText(exe).Split('\n');

        int[] majors = lines[0].Split(' ')[1..].Select(int.Parse).ToArray();
        var table = FFmpegLayout.ForFormatMajor(majors[0]);
        Assert.True(table is not null, $"no layout table for libavformat {majors[0]} (headers in '{includeDir}')");
        var seen = new HashSet<string>();
        foreach (string line in lines[1..])
        {
            string[] p = line.Split(' ');
            string field = p[0];
            int offset = int.Parse(p[1]), size = int.Parse(p[2]);
            Assert.True(table.Offsets.TryGetValue(field, out int ours), $"{field} missing from the table");
            Assert.True(ours == offset, $"libavformat {majors[0]}: {field} is at {offset} in the headers, Vigil's table says {ours}");
            Assert.True(ExpectedSizes[field] == size, $"libavformat {majors[0]}: {field} has size {size}, Vigil assumes {ExpectedSizes[field]}");
            seen.Add(field);
        }
        Assert.Equal(table.Offsets.Keys.Order(), seen.Order());
    }

    [Fact]
    public void EnsureLoaded_InstalledFFmpeg_UsesTableOfItsMajor()
    {
        var info = FFmpegLibrary.EnsureLoaded();
        Assert.Contains(info.FormatMajor, FFmpegLayout.SupportedFormatMajors);
        Assert.Equal(info.FormatMajor, FFmpegLibrary.Layout.FormatMajor);
        // The installed headers (CI: libavformat-dev) and the loaded library must be the same major.
        string header = MediaFiles.RunText("sh", "-c", "echo LIBAVFORMAT_VERSION_MAJOR | cat /usr/include/*/libavformat/version_major.h - 2>/dev/null | gcc -E -P - 2>/dev/null | tail -1");
        Assert.Equal(info.FormatMajor.ToString(System.Globalization.CultureInfo.InvariantCulture), header.Trim());
    }
}
