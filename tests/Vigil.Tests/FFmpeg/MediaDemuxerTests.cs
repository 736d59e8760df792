using Vigil.FFmpeg;

namespace Vigil.Tests.FFmpeg;

public class MediaDemuxerTests
{
    private static bool StartsWithStartCode(ReadOnlySpan<byte> d) =>
        d.StartsWith((ReadOnlySpan<byte>)[0, 0, 0, 1]) || d.StartsWith((ReadOnlySpan<byte>)[0, 0, 1]);

    [Fact]
    public void Read_Vtest_ReturnsEveryPacketWithTimestamps()
    {
        using var demuxer = MediaDemuxer.Open(MediaFiles.Vtest);
        using var packet = new DemuxedPacket();
        Assert.Equal("h264", demuxer.Video.Codec);
        Assert.Equal((768, 576), (demuxer.Video.Width, demuxer.Video.Height));
        Assert.Equal("yuv420p", demuxer.Video.PixelFormat);
        Assert.Equal(1, demuxer.Extradata[0]); // avcC configurationVersion: MP4 keeps length-prefixed NAL units

        int count = 0, keys = 0;
        long maxDts = long.MinValue;
        while (demuxer.Read(packet) == DemuxStatus.Packet)
        {
            if (count == 0) Assert.True(packet.IsKeyFrame);
            Assert.True(packet.Size > 0);
            Assert.False(StartsWithStartCode(packet.Data));
            Assert.True(packet.Dts > maxDts, $"dts not increasing at packet {count}");
            maxDts = packet.Dts;
            Assert.NotEqual(long.MinValue, packet.Pts);
            if (packet.IsKeyFrame) keys++;
            count++;
        }
        Assert.Equal(MediaFiles.VtestFrames, count);
        Assert.InRange(keys, 2, 100);
        Assert.Equal(DemuxStatus.EndOfStream, demuxer.Read(packet));
    }

    [Fact]
    public void Read_AnnexBOption_PacketsCarryStartCodes()
    {
        using var demuxer = MediaDemuxer.Open(MediaFiles.Vtest, new DemuxerOptions { AnnexB = true });
        using var packet = new DemuxedPacket();
        Assert.Equal("h264_mp4toannexb", demuxer.BitstreamFilter);
        Assert.Equal(1, demuxer.Extradata[0]); // the container's avcC stays available

        int count = 0;
        while (demuxer.Read(packet) == DemuxStatus.Packet)
        {
            Assert.True(StartsWithStartCode(packet.Data), $"packet {count} has no start code");
            if (count == 0)
            {
                // The first keyframe carries SPS (NAL type 7) and PPS (8) in-band after conversion.
                var nalTypes = new List<int>();
                var d = packet.Data;
                for (int i = 0; i + 3 < d.Length; i++)
                    if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1) nalTypes.Add(d[i + 3] & 0x1f);
                Assert.Contains(7, nalTypes);
                Assert.Contains(8, nalTypes);
                Assert.Contains(5, nalTypes);
            }
            count++;
        }
        Assert.Equal(MediaFiles.VtestFrames, count);
    }

    [Fact]
    public void Handles_DisposedProperly_NoLeaksCounted()
    {
        long before = FFmpegSafeHandle.LeakCount;
        for (int i = 0; i < 3; i++)
        {
            using var demuxer = MediaDemuxer.Open(MediaFiles.Vtest, new DemuxerOptions { AnnexB = true });
            using var packet = new DemuxedPacket();
            Assert.Equal(DemuxStatus.Packet, demuxer.Read(packet));
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(before, FFmpegSafeHandle.LeakCount);
    }
}
