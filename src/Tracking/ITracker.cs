namespace Vigil.Tracking;

/// <summary>A detection handed to a tracker: box in frame pixels, score, class (tracks never change class),
/// optional appearance embedding.</summary>
public readonly record struct Detection(BoxF Box, float Score, int ClassId = 0, float[]? Embedding = null);

/// <summary>A track reported for one frame: its id (1, 2, ...), the tracker's box estimate (Kalman-smoothed for
/// SORT and ByteTrack, the detection itself for the IOU tracker), and the index of the detection it was matched
/// to in this frame's input (-1 when reported without a detection).</summary>
public readonly record struct TrackedBox(long TrackId, BoxF Box, int DetectionIndex, float Score, int ClassId);

/// <summary>A multi-object tracker for ONE stream; call once per frame, in frame order, empty frames included.</summary>
public interface ITracker
{
    /// <summary>Associates this frame's detections with tracks and sets <see cref="ObjectMeta.TrackId"/> on every
    /// detection that belongs to a confirmed track (others keep -1). Boxes are not changed.</summary>
    void Update(IList<ObjectMeta> detections);

    /// <summary>Lower-level form: returns the tracks reported in this frame (confirmed and matched in this frame).</summary>
    IReadOnlyList<TrackedBox> Step(IReadOnlyList<Detection> detections);

    /// <summary>Frames seen so far.</summary>
    long FrameCount { get; }
}

/// <summary>Shared <see cref="ITracker.Update(IList{ObjectMeta})"/> on top of <see cref="ITracker.Step"/>.</summary>
public abstract class TrackerBase : ITracker
{
    private readonly List<Detection> _scratch = [];
    private long _nextPublicId = 1;

    public long FrameCount { get; protected set; }

    public void Update(IList<ObjectMeta> detections)
    {
        _scratch.Clear();
        foreach (var o in detections) _scratch.Add(new Detection(o.Box, o.Confidence, o.ClassId, o.Embedding));
        var tracks = Step(_scratch);
        foreach (var o in detections) o.TrackId = -1;
        foreach (var t in tracks)
            if (t.DetectionIndex >= 0) detections[t.DetectionIndex].TrackId = t.TrackId;
    }

    public abstract IReadOnlyList<TrackedBox> Step(IReadOnlyList<Detection> detections);

    /// <summary>Public ids are handed out when a track is first reported, so they run 1, 2, 3... without gaps
    /// left by tentative tracks that never got confirmed.</summary>
    protected long NextPublicId() => _nextPublicId++;
}

/// <summary>Creates trackers from validated options.</summary>
public static class TrackerFactory
{
    public static ITracker Create(TrackerOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        var errors = o.Validate();
        if (errors.Count > 0) throw new VigilException(string.Join("; ", errors));
        return o.Kind switch
        {
            TrackerKind.Iou => new IouTracker(o),
            TrackerKind.Sort => new SortTracker(o),
            TrackerKind.ByteTrack => new ByteTracker(o),
            _ => throw new VigilException($"unknown tracker kind {o.Kind}"),
        };
    }

    /// <summary>Parses a tracker name as written in YAML / on the command line (iou, sort, bytetrack).</summary>
    public static bool TryParseKind(string? name, out TrackerKind kind)
    {
        switch (name?.Trim().ToLowerInvariant())
        {
            case "iou": kind = TrackerKind.Iou; return true;
            case "sort": kind = TrackerKind.Sort; return true;
            case "bytetrack" or "byte": kind = TrackerKind.ByteTrack; return true;
            default: kind = default; return false;
        }
    }
}
