using System.Globalization;
using Vigil.Cuda;
using Vigil.FFmpeg;

namespace Vigil.Decode.Nvdec;

/// <summary>Options of <see cref="NvdecVideoSource"/>.</summary>
public sealed record NvdecSourceOptions
{
    /// <summary>NV12 device surfaces this stream may have out in the pipeline at once (the source waits when all are out).</summary>
    public int SurfacePoolCapacity { get; init; } = 12;
    /// <summary>Pictures the NVDEC parser holds back before display (decode runs ahead; 2-4 recommended by NVIDIA).</summary>
    public int DisplayDelay { get; init; } = 2;
    /// <summary>Input options (RTSP transport, timeouts); Annex-B conversion is always switched on.</summary>
    public DemuxerOptions Demuxer { get; init; } = new();
}

/// <summary>
/// GPU decode: FFmpeg demuxes (with the mp4toannexb bitstream filter), NVDEC parses and decodes, and every frame is an
/// NV12 <see cref="DeviceFrameBuffer"/> from this stream's pool — no pixel is copied to the host. Damaged pictures give
/// <see cref="ReadStatus.CorruptData"/> and decoding goes on; a truncated file yields what it holds, then end of stream.
/// The colour matrix is the one the sequence header signals (matrix_coefficients 1 = BT.709, otherwise BT.601).
/// </summary>
public sealed class NvdecVideoSource : IVideoSource
{
    private readonly MediaDemuxer _demuxer;
    private readonly NvdecDecoder _decoder;
    private readonly DemuxedPacket _packet = new();
    private readonly (int Num, int Den) _timeBase;
    private readonly long _startPts;
    private long _frameNumber;
    private bool _flushed;
    private int _readFailures;

    private NvdecVideoSource(MediaDemuxer demuxer, NvdecDecoder decoder, StreamInfo info)
    {
        _demuxer = demuxer;
        _decoder = decoder;
        Info = info;
        _timeBase = demuxer.Video.TimeBase;
        _startPts = demuxer.Video.StartPts;
    }

    public StreamInfo Info { get; private set; }
    public NvdecDecoder Decoder => _decoder;

    /// <summary>Opens <paramref name="uri"/>; throws <see cref="VideoSourceException"/> with a one-line reason.</summary>
    public static NvdecVideoSource Open(CudaContext context, string uri, int streamIndex, string name, NvdecSourceOptions? options = null)
    {
        options ??= new NvdecSourceOptions();
        MediaDemuxer? demuxer = null;
        NvdecDecoder? decoder = null;
        try
        {
            demuxer = MediaDemuxer.Open(uri, options.Demuxer with { AnnexB = true });
            var v = demuxer.Video;
            var codec = NvdecDecoder.CodecFromName(v.Codec)
                ?? throw new VideoSourceException($"{uri}: NVDEC path decodes H.264 and HEVC; this stream is {v.Codec}.");
            decoder = new NvdecDecoder(context, codec, null, options.SurfacePoolCapacity, options.DisplayDelay);
            var info = new StreamInfo(streamIndex, name, uri, v.Width & ~1, v.Height & ~1, v.FramesPerSecond, v.Codec) { ColorMatrix = v.ColorMatrix };
            var source = new NvdecVideoSource(demuxer, decoder, info);
            demuxer = null;
            decoder = null;
            return source;
        }
        catch (Exception e) when (e is FFmpegException or InvalidDataException or VigilException or CudaException)
        {
            throw new VideoSourceException($"{uri}: {e.Message}", e);
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
            if (_decoder.TryDequeue(out var p)) return ToResult(p);
            if (_flushed) return ReadResult.Eos;

            await _decoder.WaitForSurfaceAsync(ct).ConfigureAwait(false);
            DemuxStatus status;
            try
            {
                status = _demuxer.Read(_packet);
            }
            catch (Exception e) when (e is FFmpegException or InvalidDataException)
            {
                // A damaged packet can fail the Annex-B filter; the demuxer has moved past it, so report and go on,
                // unless reading keeps failing (a dead input).
                _packet.Clear();
                if (++_readFailures > 100 || MediaDemuxer.IsUrl(Info.Uri) && e is FFmpegException && _readFailures > 3)
                    throw new VideoSourceException($"{Info.Name} ({Info.Uri}): read failed: {e.Message}", e);
                return new ReadResult(ReadStatus.CorruptData, Error: $"{Info.Name}: frame {_frameNumber}: unreadable packet ({e.Message})");
            }
            _readFailures = 0;
            try
            {
                if (status == DemuxStatus.EndOfStream)
                {
                    _decoder.Flush();
                    _flushed = true;
                    continue;
                }
                _decoder.Parse(_packet.Data, _packet.Pts);
            }
            catch (VigilException e)
            {
                throw new VideoSourceException($"{Info.Name} ({Info.Uri}): {e.Message}", e);
            }
            finally
            {
                _packet.Clear();
            }
            var fmt = _decoder.Format;
            if (fmt is not null && (fmt.Width != Info.Width || fmt.Height != Info.Height || fmt.ColorMatrix != Info.ColorMatrix))
                Info = Info with { Width = fmt.Width, Height = fmt.Height, ColorMatrix = fmt.ColorMatrix };
        }
    }

    private ReadResult ToResult(NvdecPicture p)
    {
        if (p.Error is not null) return new ReadResult(ReadStatus.CorruptData, Error: $"{Info.Name}: frame {_frameNumber}: {p.Error}");
        long pts = p.Pts;
        var ts = _timeBase.Den > 0
            ? TimeSpan.FromSeconds((double)(pts - _startPts) * _timeBase.Num / _timeBase.Den)
            : TimeSpan.Zero;
        return new ReadResult(ReadStatus.Frame, new Frame(Info, _frameNumber++, pts, ts < TimeSpan.Zero ? TimeSpan.Zero : ts, p.Buffer!));
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"NVDEC {Info.Codec} {Info.Width}x{Info.Height} '{Info.Uri}'");

    public void Dispose()
    {
        _decoder.Dispose();
        _packet.Dispose();
        _demuxer.Dispose();
    }
}
