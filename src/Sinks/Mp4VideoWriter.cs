using Vigil.FFmpeg;

namespace Vigil.Sinks;

/// <summary>Options of <see cref="Mp4VideoWriter"/>.</summary>
public sealed record Mp4WriterOptions
{
    /// <summary>libx264 constant rate factor (lower is better quality; 23 is x264's default).</summary>
    public int Crf { get; init; } = 23;
    /// <summary>libx264 preset.</summary>
    public string Preset { get; init; } = "veryfast";
    /// <summary>Where the one-time "no H.264 encoder" notice goes; null writes it to standard error.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>
/// Writes BGR24 frames (any pitch) to an MP4 file: H.264 with libx264 when the FFmpeg build has it, otherwise MPEG-4
/// Part 2 (<c>mpeg4</c>, for FFmpeg builds without an H.264 encoder, such as the one on the GPU machine); the fallback is
/// reported once through <see cref="Mp4WriterOptions.Log"/> and <see cref="Notice"/>. Constant frame rate: each frame's
/// pts is its timestamp in 1/fps units, kept strictly increasing. <see cref="Complete"/> or <see cref="Dispose"/> flushes
/// the encoder and writes the trailer; the file is playable only after that. Not thread-safe.
/// </summary>
public sealed class Mp4VideoWriter : IDisposable
{
    private readonly VideoFileEncoder _encoder;
    private readonly double _fps;

    public Mp4VideoWriter(string path, int width, int height, double framesPerSecond, Mp4WriterOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= new Mp4WriterOptions();
        Path = path;
        _fps = framesPerSecond;
        string? dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        _encoder = new VideoFileEncoder(path, "mp4", width, height, framesPerSecond,
            new VideoEncoderSettings { Crf = options.Crf, Preset = options.Preset, Encoders = ["libx264", "mpeg4"] });
        if (Encoder != "libx264")
        {
            Notice = $"{path}: this FFmpeg has no H.264 encoder (libx264); writing MPEG-4 Part 2 video ({Encoder}) instead";
            (options.Log ?? Console.Error.WriteLine)(Notice);
        }
    }

    public string Path { get; }
    /// <summary>The FFmpeg encoder in use: "libx264" or "mpeg4".</summary>
    public string Encoder => _encoder.EncoderName;
    /// <summary>Set when the writer had to fall back from H.264; null otherwise.</summary>
    public string? Notice { get; }
    public int Width => _encoder.Width;
    public int Height => _encoder.Height;
    public long FramesWritten => _encoder.FramesWritten;

    /// <summary>Writes the next frame at the constant rate (pts = number of frames written so far).</summary>
    public void Write(FrameBuffer frame) => _encoder.Write(frame, FramesWritten);

    /// <summary>Writes a frame at its presentation time since the start of the stream.</summary>
    public void Write(FrameBuffer frame, TimeSpan timestamp) =>
        _encoder.Write(frame, (long)Math.Round(timestamp.TotalSeconds * _fps));

    /// <summary>Flushes the encoder and finalises the file (idempotent).</summary>
    public void Complete() => _encoder.Complete();

    public void Dispose() => _encoder.Dispose();
}
