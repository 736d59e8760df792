using Vigil.FFmpeg;

namespace Vigil.Decode;

/// <summary>Options of <see cref="FFmpegVideoSource"/>.</summary>
public sealed record FFmpegSourceOptions
{
    /// <summary>How many decoded BGR frames may be out in the pipeline at once (the source waits when all are out).</summary>
    public int BufferPoolCapacity { get; init; } = 8;

    /// <summary>Decoder threads; 0 lets FFmpeg choose (one per core).</summary>
    public int DecoderThreads { get; init; }

    /// <summary>Input options (RTSP transport, network timeout, extra avformat options).</summary>
    public DemuxerOptions Demuxer { get; init; } = new();
}

/// <summary>
/// CPU decode with FFmpeg: demux, multithreaded software decode, and conversion to BGR24 with swscale straight into
/// pooled <see cref="HostFrameBuffer"/>s. Corrupt packets give <see cref="ReadStatus.CorruptData"/> and decoding goes
/// on; a truncated file yields the frames it holds, then <see cref="ReadStatus.EndOfStream"/>.
/// </summary>
public sealed class FFmpegVideoSource : IVideoSource
{
    private readonly MediaDemuxer _demuxer;
    private readonly SafeAVCodecContextHandle _decoder;
    private readonly SafeAVFrameHandle _frame;
    private readonly DemuxedPacket _packet;
    private readonly HostBufferPool _pool;
    private readonly (int Num, int Den) _timeBase;
    private readonly long _startPts;
    private readonly long _ticksPerFrame;
    private SafeSwsContextHandle? _sws;
    private (int W, int H, int Fmt) _swsSource;
    private long _frameNumber;
    private long _lastPts = long.MinValue;
    private bool _draining;
    private bool _ended;

    private FFmpegVideoSource(MediaDemuxer demuxer, SafeAVCodecContextHandle decoder, StreamInfo info, FFmpegSourceOptions options)
    {
        _demuxer = demuxer;
        _decoder = decoder;
        Info = info;
        _frame = FFmpegCodec.FrameAlloc();
        _packet = new DemuxedPacket();
        _pool = new HostBufferPool(info.Width, info.Height, PixelFormat.Bgr24, options.BufferPoolCapacity);
        _timeBase = demuxer.Video.TimeBase;
        _startPts = demuxer.Video.StartPts;
        double perFrame = _timeBase.Num > 0 ? _timeBase.Den / (_timeBase.Num * info.FramesPerSecond) : 1;
        _ticksPerFrame = Math.Max(1, (long)Math.Round(perFrame));
    }

    public StreamInfo Info { get; }

    /// <summary>The demuxed stream's properties (codec, time base, container frame count).</summary>
    public VideoStreamProperties Stream => _demuxer.Video;

    /// <summary>Opens <paramref name="uri"/> (file path or rtsp/http URL); throws <see cref="VideoSourceException"/> with a one-line reason.</summary>
    public static FFmpegVideoSource Open(string uri, int streamIndex, string name, FFmpegSourceOptions? options = null)
    {
        options ??= new FFmpegSourceOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BufferPoolCapacity, 1);
        var demuxer = MediaDemuxer.Open(uri, options.Demuxer);
        SafeAVCodecContextHandle? decoder = null;
        try
        {
            var v = demuxer.Video;
            decoder = FFmpegCodec.OpenDecoder(demuxer, options.DecoderThreads, out string? error);
            if (decoder is null) throw new VideoSourceException($"{uri}: {error}");
            var info = new StreamInfo(streamIndex, name, uri, v.Width, v.Height, v.FramesPerSecond, v.Codec) { ColorMatrix = v.ColorMatrix };
            var source = new FFmpegVideoSource(demuxer, decoder, info, options);
            decoder = null;
            demuxer = null!;
            return source;
        }
        finally
        {
            decoder?.Dispose();
            demuxer?.Dispose();
        }
    }

    public async ValueTask<ReadResult> ReadAsync(CancellationToken ct)
    {
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (_ended) return ReadResult.Eos;

            int rc = FFmpegCodec.ReceiveFrame(_decoder, _frame);
            if (rc >= 0) return new ReadResult(ReadStatus.Frame, await EmitAsync(ct).ConfigureAwait(false));
            if (rc == FFmpegCodec.AVERROR_EOF) { _ended = true; return ReadResult.Eos; }
            if (rc != FFmpegCodec.EAGAIN)
                return new ReadResult(ReadStatus.CorruptData, Error: $"{Info.Name}: frame {_frameNumber}: decode error ({FFmpegCodec.Message(rc)})");

            if (_draining) { _ended = true; return ReadResult.Eos; }
            DemuxStatus status;
            try { status = _demuxer.Read(_packet); }
            catch (Exception e) when (e is FFmpegException or InvalidDataException)
            {
                throw new VideoSourceException($"{Info.Name} ({Info.Uri}): read failed: {e.Message}", e);
            }
            if (status == DemuxStatus.EndOfStream)
            {
                _draining = true;
                FFmpegCodec.SendFlush(_decoder);
                continue;
            }
            long pts = _packet.Pts;
            rc = FFmpegCodec.SendPacket(_decoder, _packet);
            _packet.Clear();
            if (rc < 0 && rc != FFmpegCodec.EAGAIN)
                return new ReadResult(ReadStatus.CorruptData,
                    Error: $"{Info.Name}: corrupt packet at pts {(pts == long.MinValue ? "unknown" : pts.ToString(System.Globalization.CultureInfo.InvariantCulture))} ({FFmpegCodec.Message(rc)})");
        }
    }

    private async ValueTask<Frame> EmitAsync(CancellationToken ct)
    {
        HostFrameBuffer buffer;
        try
        {
            buffer = await _pool.RentAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            FFmpegCodec.FrameUnref(_frame);
            throw;
        }
        try
        {
            var f = FFmpegCodec.ReadFrame(_frame);
            if (_sws is null || _swsSource != (f.Width, f.Height, f.Format))
            {
                _sws?.Dispose();
                _sws = FFmpegCodec.CreateBgrConverter(f.Width, f.Height, f.Format, Info.Width, Info.Height);
                _swsSource = (f.Width, f.Height, f.Format);
            }
            FFmpegCodec.ConvertToBgr(_sws, _frame, f.Height, buffer);

            long pts = f.BestEffortTimestamp != long.MinValue ? f.BestEffortTimestamp : f.Pts;
            if (pts == long.MinValue) pts = _lastPts == long.MinValue ? _startPts : _lastPts + _ticksPerFrame;
            _lastPts = pts;
            var timestamp = TimeSpan.FromSeconds((double)(pts - _startPts) * _timeBase.Num / _timeBase.Den);
            return new Frame(Info, _frameNumber++, pts, timestamp, buffer);
        }
        catch
        {
            buffer.Release();
            throw;
        }
        finally
        {
            FFmpegCodec.FrameUnref(_frame);
        }
    }

    public void Dispose()
    {
        _sws?.Dispose();
        _packet.Dispose();
        _frame.Dispose();
        _decoder.Dispose();
        _demuxer.Dispose();
        _pool.Dispose();
    }
}
