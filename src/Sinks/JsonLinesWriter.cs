using System.Text.Json;

namespace Vigil.Sinks;

/// <summary>
/// Writes one JSON object per frame (JSON Lines): stream, frame number, pts, timestamp and the objects with
/// box [x, y, width, height] in frame pixels, class, confidence and track id. Safe for one writer thread;
/// <see cref="Flush"/> makes everything written so far durable (called on shutdown and periodically).
/// </summary>
public sealed class JsonLinesWriter : IDisposable
{
    private readonly FileStream _file;
    private readonly Utf8JsonWriter _json;
    private static readonly byte[] NewLine = "\n"u8.ToArray();

    public JsonLinesWriter(string path)
    {
        Path = path;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        _file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
        _json = new Utf8JsonWriter(_file, new JsonWriterOptions { SkipValidation = false });
    }

    public string Path { get; }
    public long Records { get; private set; }

    public void Write(Frame frame)
    {
        _json.Reset(_file);
        _json.WriteStartObject();
        _json.WriteString("stream"u8, frame.Stream.Name);
        _json.WriteNumber("frame"u8, frame.FrameNumber);
        _json.WriteNumber("pts"u8, frame.Pts);
        _json.WriteNumber("timestamp"u8, Math.Round(frame.Timestamp.TotalSeconds, 6));
        _json.WriteNumber("width"u8, frame.Stream.Width);
        _json.WriteNumber("height"u8, frame.Stream.Height);
        _json.WriteStartArray("objects"u8);
        foreach (var o in frame.Objects)
        {
            _json.WriteStartObject();
            _json.WriteString("class"u8, o.Label);
            _json.WriteNumber("class_id"u8, o.ClassId);
            _json.WriteNumber("confidence"u8, Math.Round(o.Confidence, 4));
            if (o.TrackId >= 0) _json.WriteNumber("track_id"u8, o.TrackId);
            _json.WriteStartArray("box"u8);
            _json.WriteNumberValue(Math.Round(o.Box.X, 1));
            _json.WriteNumberValue(Math.Round(o.Box.Y, 1));
            _json.WriteNumberValue(Math.Round(o.Box.Width, 1));
            _json.WriteNumberValue(Math.Round(o.Box.Height, 1));
            _json.WriteEndArray();
            if (o.Classifications.Count > 0)
            {
                _json.WriteStartArray("labels"u8);
                foreach (var c in o.Classifications)
                {
                    _json.WriteStartObject();
                    _json.WriteString("classifier"u8, c.Classifier);
                    _json.WriteString("label"u8, c.Label);
                    _json.WriteNumber("confidence"u8, Math.Round(c.Confidence, 4));
                    _json.WriteEndObject();
                }
                _json.WriteEndArray();
            }
            _json.WriteEndObject();
        }
        _json.WriteEndArray();
        _json.WriteEndObject();
        _json.Flush();
        _file.Write(NewLine);
        Records++;
    }

    public void Flush() => _file.Flush(flushToDisk: false);

    public void Dispose()
    {
        _json.Dispose();
        _file.Dispose();
    }
}
