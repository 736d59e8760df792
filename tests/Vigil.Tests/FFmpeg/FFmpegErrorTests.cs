using Vigil.FFmpeg;

namespace Vigil.Tests.FFmpeg;

public class FFmpegErrorTests
{
    [Fact]
    public void Create_InvalidData_IsInvalidDataException()
    {
        FFmpegLibrary.EnsureLoaded();
        var e = FFmpegError.Create(FFmpegError.AVERROR_INVALIDDATA, "avcodec_send_packet");
        Assert.IsType<InvalidDataException>(e);
        Assert.Equal("avcodec_send_packet: Invalid data found when processing input", e.Message);
    }

    [Fact]
    public void Create_OutOfMemory_IsOutOfMemoryException()
    {
        FFmpegLibrary.EnsureLoaded();
        Assert.IsType<OutOfMemoryException>(FFmpegError.Create(FFmpegError.ENOMEM, "x"));
    }

    [Fact]
    public void ThrowIfFailed_OtherCode_ThrowsFFmpegExceptionWithCodeAndMessage()
    {
        FFmpegLibrary.EnsureLoaded();
        var e = Assert.Throws<FFmpegException>(() => FFmpegError.ThrowIfFailed(FFmpegError.AVERROR_EOF, "av_read_frame"));
        Assert.Equal(FFmpegError.AVERROR_EOF, e.ErrorCode);
        Assert.Equal("av_read_frame: End of file", e.Message);
        Assert.Equal(7, FFmpegError.ThrowIfFailed(7, "ok"));
    }
}
