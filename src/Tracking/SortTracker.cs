namespace Vigil.Tracking;

/// <summary>
/// SORT (Bewley et al., "Simple Online and Realtime Tracking", 2016), re-implemented from the paper and its
/// published parameters: per track a constant-velocity Kalman filter on (cx, cy, area, aspect); each frame the
/// predicted boxes are matched to detections by maximum total IoU (Hungarian), pairs below
/// <see cref="TrackerOptions.MinIou"/> are rejected; unmatched detections start tracks; tracks unmatched for more than
/// <see cref="TrackerOptions.MaxAge"/> frames are deleted. A track is reported in frames where it was matched,
/// once it has <see cref="TrackerOptions.MinHits"/> consecutive matches (or during the first MinHits frames).
/// The reported box is the Kalman estimate after the update.
/// </summary>
public sealed class SortTracker : TrackerBase
{
    private sealed class Track(KalmanBoxFilter filter, int classId, float score, float[]? embedding)
    {
        public KalmanBoxFilter Filter { get; } = filter;
        public int ClassId { get; } = classId;
        public float Score { get; set; } = score;
        public float[]? Embedding { get; set; } = embedding;
        public int HitStreak { get; set; }
        public int TimeSinceUpdate { get; set; }
        public long PublicId { get; set; } = -1;
        public int MatchedDetection { get; set; } = -1;
    }

    private readonly TrackerOptions _o;
    private readonly List<Track> _tracks = [];
    private readonly Association _association = new();
    private readonly List<Association.Candidate> _candidates = [];
    private readonly List<WeightedEdge> _edges = [];
    private readonly List<BoxF> _predicted = [];
    private readonly List<int> _classes = [];
    private readonly List<int> _detIndex = [];

    public SortTracker(TrackerOptions options) => _o = options;

    /// <summary>Tracks alive now (reported or tentative).</summary>
    public int LiveTracks => _tracks.Count;

    public override IReadOnlyList<TrackedBox> Step(IReadOnlyList<Detection> detections)
    {
        FrameCount++;
        _detIndex.Clear();
        for (int i = 0; i < detections.Count; i++)
            if (detections[i].Score >= _o.MinScore && detections[i].Box.Width > 0 && detections[i].Box.Height > 0) _detIndex.Add(i);

        // Predict; drop tracks whose state went invalid.
        for (int t = _tracks.Count - 1; t >= 0; t--)
        {
            var tr = _tracks[t];
            tr.Filter.Predict();
            if (tr.TimeSinceUpdate > 0) tr.HitStreak = 0;
            tr.TimeSinceUpdate++;
            tr.MatchedDetection = -1;
            if (!tr.Filter.IsValid) _tracks.RemoveAt(t);
        }
        _predicted.Clear(); _classes.Clear();
        foreach (var tr in _tracks) { _predicted.Add(tr.Filter.Box); _classes.Add(tr.ClassId); }

        // Maximum total IoU over overlapping pairs, then reject pairs under the threshold (SORT's order).
        _association.FindOverlaps(_predicted, _classes, detections, _detIndex, _candidates);
        _edges.Clear();
        float w = _o.AppearanceWeight;
        foreach (var c in _candidates)
        {
            double weight = c.Iou;
            if (w > 0) weight = (1 - w) * c.Iou + w * (1 - Association.CosineDistance(_tracks[c.Track].Embedding, detections[_detIndex[c.Detection]].Embedding) / 2);
            _edges.Add(new WeightedEdge(c.Track, c.Detection, weight));
        }
        var matches = LinearAssignment.MaxWeightMatching(_tracks.Count, _detIndex.Count, _edges);
        var detMatched = new bool[_detIndex.Count];
        foreach (var (t, k) in matches)
        {
            if (BoxF.IoU(_predicted[t], detections[_detIndex[k]].Box) < _o.MinIou) continue;
            var tr = _tracks[t];
            var d = detections[_detIndex[k]];
            tr.Filter.Update(d.Box);
            tr.TimeSinceUpdate = 0;
            tr.HitStreak++;
            tr.Score = d.Score;
            tr.Embedding = Association.Smooth(tr.Embedding, d.Embedding);
            tr.MatchedDetection = _detIndex[k];
            detMatched[k] = true;
        }
        for (int k = 0; k < _detIndex.Count; k++)
        {
            if (detMatched[k]) continue;
            var d = detections[_detIndex[k]];
            _tracks.Add(new Track(new KalmanBoxFilter(KalmanModel.Sort, d.Box), d.ClassId, d.Score, d.Embedding) { MatchedDetection = _detIndex[k] });
        }

        var output = new List<TrackedBox>();
        for (int t = _tracks.Count - 1; t >= 0; t--)
        {
            var tr = _tracks[t];
            if (tr.TimeSinceUpdate < 1 && (tr.HitStreak >= _o.MinHits || FrameCount <= _o.MinHits))
            {
                if (tr.PublicId < 0) tr.PublicId = NextPublicId();
                output.Add(new TrackedBox(tr.PublicId, tr.Filter.Box, tr.MatchedDetection, tr.Score, tr.ClassId));
            }
            if (tr.TimeSinceUpdate > _o.MaxAge) _tracks.RemoveAt(t);
        }
        output.Reverse();
        return output;
    }
}
