using System.Globalization;
using OpenCvSharp;

namespace Vigil.Osd;

public enum OsdColorBy
{
    /// <summary>One colour per track id (objects not yet tracked fall back to their class colour).</summary>
    TrackId,
    /// <summary>One colour per class.</summary>
    Class,
}

/// <summary>What the on-screen display draws.</summary>
public sealed record OsdOptions
{
    /// <summary>Box line thickness in pixels.</summary>
    public int Thickness { get; init; } = 2;
    /// <summary>Hershey simplex font scale for the caption.</summary>
    public double FontScale { get; init; } = 0.5;
    public bool ShowLabel { get; init; } = true;
    public bool ShowConfidence { get; init; } = true;
    public bool ShowTrackId { get; init; } = true;
    public bool DrawKeypoints { get; init; } = true;
    public int KeypointRadius { get; init; } = 2;
    public OsdColorBy ColorBy { get; init; } = OsdColorBy.TrackId;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Thickness is < 1 or > 20) errors.Add($"Thickness: must be 1..20, got {Thickness}");
        if (!(FontScale > 0 && FontScale <= 10)) errors.Add($"FontScale: must be in (0, 10], got {FontScale}");
        if (KeypointRadius is < 1 or > 20) errors.Add($"KeypointRadius: must be 1..20, got {KeypointRadius}");
        return errors;
    }
}

/// <summary>
/// Draws detections onto a host BGR24 frame in place (OpenCV drawing on a Mat that wraps the frame's own memory
/// and pitch — no copy): box, caption "label confidence #track", keypoints. Stateless apart from its options,
/// so one instance may serve several streams from one thread.
/// </summary>
public sealed class OsdRenderer
{
    private const HersheyFonts Font = HersheyFonts.HersheySimplex;

    public OsdRenderer(OsdOptions? options = null)
    {
        Options = options ?? new OsdOptions();
        var errors = Options.Validate();
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors), nameof(options));
    }

    public OsdOptions Options { get; }

    /// <summary>Draws the frame's objects onto its pixels.</summary>
    public void Draw(Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (frame.Buffer is not HostFrameBuffer host)
            throw new InvalidOperationException($"OSD draws on host frames; stream '{frame.Stream.Name}' frame {frame.FrameNumber} is in {frame.Buffer.Memory} memory.");
        Draw(host, frame.Objects);
    }

    /// <summary>Draws <paramref name="objects"/> (boxes in frame pixels) onto a BGR24 host buffer.</summary>
    public void Draw(HostFrameBuffer buffer, IReadOnlyList<ObjectMeta> objects)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentNullException.ThrowIfNull(objects);
        if (buffer.Format != PixelFormat.Bgr24)
            throw new ArgumentException($"OSD draws on BGR24 frames, got {buffer.Format}.", nameof(buffer));
        if (objects.Count == 0) return;
        using var mat = Mat.FromPixelData(buffer.Height, buffer.Width, MatType.CV_8UC3, buffer.Pointer, buffer.Pitch);
        foreach (var o in objects) DrawObject(mat, buffer.Width, buffer.Height, o);
    }

    /// <summary>The caption drawn above a box, e.g. "person 0.87 #12".</summary>
    public string Caption(ObjectMeta o)
    {
        var parts = new List<string>(3);
        if (Options.ShowLabel) parts.Add(o.Label);
        if (Options.ShowConfidence) parts.Add(o.Confidence.ToString("0.00", CultureInfo.InvariantCulture));
        if (Options.ShowTrackId && o.TrackId >= 0) parts.Add("#" + o.TrackId.ToString(CultureInfo.InvariantCulture));
        return string.Join(' ', parts);
    }

    /// <summary>The colour an object is drawn in (B, G, R): stable per track id or class.</summary>
    public Scalar ColorOf(ObjectMeta o)
    {
        long key = Options.ColorBy == OsdColorBy.TrackId && o.TrackId >= 0 ? o.TrackId : -1 - o.ClassId;
        return Palette(key);
    }

    /// <summary>Well-separated saturated colours: hue steps by the golden ratio.</summary>
    private static Scalar Palette(long key)
    {
        double h = (Math.Abs(key) * 0.618033988749895 + (key < 0 ? 0.31 : 0.0)) % 1.0 * 6.0;
        int i = (int)h;
        double f = h - i;
        double v = 255, p = 255 * 0.25, q = 255 * (1 - 0.75 * f), t = 255 * (0.25 + 0.75 * f);
        var (r, g, b) = i switch
        {
            0 => (v, t, p),
            1 => (q, v, p),
            2 => (p, v, t),
            3 => (p, q, v),
            4 => (t, p, v),
            _ => (v, p, q),
        };
        return new Scalar(b, g, r);
    }

    private void DrawObject(Mat mat, int width, int height, ObjectMeta o)
    {
        var box = o.Box.Clip(width, height);
        if (box.Area <= 0) return;
        var color = ColorOf(o);
        var p1 = new Point((int)MathF.Round(box.X), (int)MathF.Round(box.Y));
        var p2 = new Point((int)MathF.Round(box.Right) - 1, (int)MathF.Round(box.Bottom) - 1);
        Cv2.Rectangle(mat, p1, p2, color, Options.Thickness, LineTypes.Link8);

        string caption = Caption(o);
        if (caption.Length > 0)
        {
            var size = Cv2.GetTextSize(caption, Font, Options.FontScale, 1, out int baseline);
            int th = size.Height + baseline + 2;
            // Above the box when there is room, otherwise just inside its top edge.
            int top = p1.Y - th >= 0 ? p1.Y - th : p1.Y;
            int left = Math.Clamp(p1.X, 0, Math.Max(0, width - size.Width - 2));
            var bg = new Rect(left, top, Math.Min(size.Width + 2, width - left), Math.Min(th, height - top));
            Cv2.Rectangle(mat, bg, color, -1, LineTypes.Link8);
            double luma = 0.114 * color.Val0 + 0.587 * color.Val1 + 0.299 * color.Val2;
            var ink = luma > 128 ? Scalar.Black : Scalar.White;
            Cv2.PutText(mat, caption, new Point(left + 1, top + size.Height + 1), Font, Options.FontScale, ink, 1, LineTypes.AntiAlias);
        }

        if (Options.DrawKeypoints && o.Keypoints is { } kps)
            foreach (var (x, y) in kps)
                Cv2.Circle(mat, new Point((int)MathF.Round(x), (int)MathF.Round(y)), Options.KeypointRadius, color, -1, LineTypes.AntiAlias);
    }
}
