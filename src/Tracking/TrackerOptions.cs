namespace Vigil.Tracking;

/// <summary>Which association algorithm a tracker uses.</summary>
public enum TrackerKind
{
    /// <summary>IoU tracker (Bochinski et al. 2017, online): optimal IoU matching of detections to the last box of each track.</summary>
    Iou,
    /// <summary>SORT (Bewley et al. 2016): Kalman constant-velocity prediction + Hungarian matching on IoU.</summary>
    Sort,
    /// <summary>ByteTrack (Zhang et al. 2022): SORT-like, plus a second association of low-score detections and lost-track recovery.</summary>
    ByteTrack,
}

/// <summary>
/// Tracker settings (one tracker per stream). Defaults follow each method's paper / reference code.
/// Which options apply to which kind is noted on each property.
/// </summary>
public sealed record TrackerOptions
{
    public TrackerKind Kind { get; init; } = TrackerKind.ByteTrack;

    /// <summary>All kinds: detections scoring below this are ignored entirely. Default 0.1 (ByteTrack's low threshold).</summary>
    public float MinScore { get; init; } = 0.1f;

    /// <summary>IOU and SORT: a detection and a track may be matched when their IoU is at least this. Default 0.3 (SORT).</summary>
    public float MinIou { get; init; } = 0.3f;

    /// <summary>IOU and SORT: a track is reported once it has been matched in this many consecutive frames
    /// (SORT's min_hits). Default 3. SORT also reports tracks during the first MinHits frames of a stream.</summary>
    public int MinHits { get; init; } = 3;

    /// <summary>IOU and SORT: a track that went unmatched for more than this many frames is deleted (SORT's max_age).
    /// Default 1 (SORT). A track is only reported in frames where it was matched.</summary>
    public int MaxAge { get; init; } = 1;

    /// <summary>ByteTrack: detections scoring above this take part in the first association (track_thresh). Default 0.5.</summary>
    public float HighScore { get; init; } = 0.5f;

    /// <summary>ByteTrack: detections scoring above this (and not above HighScore) take part in the second association. Default 0.1.</summary>
    public float LowScore { get; init; } = 0.1f;

    /// <summary>ByteTrack: an unmatched high-score detection starts a new track only when it scores above this (det_thresh). Default 0.6.</summary>
    public float NewTrackScore { get; init; } = 0.6f;

    /// <summary>ByteTrack: first-stage association accepts pairs whose distance 1 - IoU x score is below this (match_thresh). Default 0.8.</summary>
    public float MatchDistance { get; init; } = 0.8f;

    /// <summary>ByteTrack: second-stage (low-score) association distance limit, 1 - IoU. Default 0.5.</summary>
    public float SecondMatchDistance { get; init; } = 0.5f;

    /// <summary>ByteTrack: a new (unconfirmed) track is matched in its second frame when 1 - IoU x score is below this. Default 0.7.</summary>
    public float UnconfirmedMatchDistance { get; init; } = 0.7f;

    /// <summary>ByteTrack: frames a lost track is kept for recovery before removal (track_buffer at 30 fps). Default 30.</summary>
    public int TrackBuffer { get; init; } = 30;

    /// <summary>ByteTrack: a confirmed track is first reported once matched in this many consecutive frames (SORT's
    /// min_hits rule, including its exception for the first frames of a stream); once reported it stays reported.
    /// Default 1: report as soon as confirmed, as the ByteTrack paper does. Not part of ByteTrack; it trades a little
    /// recall for fewer false tracks.</summary>
    public int ByteTrackMinHits { get; init; } = 1;

    /// <summary>ByteTrack: multiply IoU by the detection score in the first and unconfirmed associations (fuse_score; off for MOT20 in the paper). Default true.</summary>
    public bool FuseScore { get; init; } = true;

    /// <summary>SORT and ByteTrack: weight of appearance in the association cost when detections carry
    /// <see cref="ObjectMeta.Embedding"/>: cost = (1 - w) x IoU cost + w x cosine distance. 0 (default) ignores embeddings.</summary>
    public float AppearanceWeight { get; init; }

    /// <summary>Checks every option; returns one message per bad option (empty when all are valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        void Unit(string name, float value, bool openLow = false)
        {
            if (!float.IsFinite(value) || value < 0 || value > 1 || (openLow && value == 0))
                errors.Add($"tracker option {name} = {value} must be in {(openLow ? "(0" : "[0")}, 1]");
        }
        if (!Enum.IsDefined(Kind)) errors.Add($"tracker option Kind = {(int)Kind} is not one of iou, sort, bytetrack");
        Unit(nameof(MinScore), MinScore);
        Unit(nameof(MinIou), MinIou, openLow: true);
        if (MinHits < 1) errors.Add($"tracker option {nameof(MinHits)} = {MinHits} must be >= 1");
        if (MaxAge < 0) errors.Add($"tracker option {nameof(MaxAge)} = {MaxAge} must be >= 0");
        Unit(nameof(HighScore), HighScore);
        Unit(nameof(LowScore), LowScore);
        Unit(nameof(NewTrackScore), NewTrackScore);
        Unit(nameof(MatchDistance), MatchDistance, openLow: true);
        Unit(nameof(SecondMatchDistance), SecondMatchDistance, openLow: true);
        Unit(nameof(UnconfirmedMatchDistance), UnconfirmedMatchDistance, openLow: true);
        if (LowScore > HighScore) errors.Add($"tracker option {nameof(LowScore)} = {LowScore} must not exceed {nameof(HighScore)} = {HighScore}");
        if (ByteTrackMinHits < 1) errors.Add($"tracker option {nameof(ByteTrackMinHits)} = {ByteTrackMinHits} must be >= 1");
        if (TrackBuffer < 0) errors.Add($"tracker option {nameof(TrackBuffer)} = {TrackBuffer} must be >= 0");
        Unit(nameof(AppearanceWeight), AppearanceWeight);
        return errors;
    }
}
