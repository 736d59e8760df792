namespace Vigil.Tracking;

/// <summary>
/// ByteTrack (Zhang et al., "ByteTrack: Multi-Object Tracking by Associating Every Detection Box", ECCV 2022),
/// re-implemented from the paper's algorithm and published defaults. Per frame:
/// (1) high-score detections (&gt; HighScore) are matched to tracked and lost tracks (Kalman-predicted, xyah model)
/// on 1 - IoU x score, accepting distances below MatchDistance; (2) low-score detections (LowScore, HighScore] are
/// matched to the still unmatched tracked tracks on 1 - IoU below SecondMatchDistance; tracks left over become lost;
/// (3) tentative tracks (born last frame) are matched to the remaining high-score detections or removed;
/// (4) remaining high-score detections above NewTrackScore start tentative tracks (confirmed at once in frame 1);
/// lost tracks older than TrackBuffer frames are removed, and duplicate tracked/lost pairs (IoU &gt; 0.85) keep the older.
/// Each association is a minimum-cost partial assignment (Hungarian) where leaving a pair unmatched costs the limit.
/// Confirmed tracks matched in this frame are reported with their Kalman-updated box.
/// </summary>
public sealed class ByteTracker : TrackerBase
{
    private enum State { Tracked, Lost, Removed }

    private sealed class Track
    {
        public required KalmanBoxFilter Filter { get; init; }
        public required int ClassId { get; init; }
        public float Score { get; set; }
        public float[]? Embedding { get; set; }
        public State State { get; set; } = State.Tracked;
        public bool IsActivated { get; set; }
        public long StartFrame { get; set; }
        /// <summary>Last frame this track was updated with a detection.</summary>
        public long FrameId { get; set; }
        public long PublicId { get; set; } = -1;
        public int MatchedDetection { get; set; } = -1;
        /// <summary>Consecutive frames matched up to now (1 at birth).</summary>
        public int HitStreak { get; set; } = 1;
    }

    private readonly TrackerOptions _o;
    private List<Track> _tracked = [];
    private List<Track> _lost = [];
    private readonly Association _association = new();
    private readonly List<Association.Candidate> _candidates = [];
    private readonly List<WeightedEdge> _edges = [];
    private readonly List<BoxF> _boxes = [];
    private readonly List<int> _classes = [];

    public ByteTracker(TrackerOptions options) => _o = options;

    public override IReadOnlyList<TrackedBox> Step(IReadOnlyList<Detection> detections)
    {
        FrameCount++;
        long frame = FrameCount;
        var high = new List<int>();
        var low = new List<int>();
        for (int i = 0; i < detections.Count; i++)
        {
            var d = detections[i];
            if (!(d.Box.Width > 0) || !(d.Box.Height > 0) || d.Score < _o.MinScore) continue;
            if (d.Score > _o.HighScore) high.Add(i);
            else if (d.Score > _o.LowScore) low.Add(i);
        }
        foreach (var t in _tracked) t.MatchedDetection = -1;
        foreach (var t in _lost) t.MatchedDetection = -1;

        var unconfirmed = new List<Track>();
        var confirmed = new List<Track>();
        foreach (var t in _tracked) (t.IsActivated ? confirmed : unconfirmed).Add(t);

        // Stage 1: high-score detections against tracked + lost tracks (all predicted).
        var pool = new List<Track>(confirmed.Count + _lost.Count);
        pool.AddRange(confirmed);
        pool.AddRange(_lost); // tracked and lost lists are disjoint
        foreach (var t in pool)
        {
            if (t.State != State.Tracked) t.Filter.FreezeSizeVelocity();
            t.Filter.Predict();
        }
        var matches = Match(pool, detections, high, _o.MatchDistance, _o.FuseScore);
        var poolMatched = new bool[pool.Count];
        var highMatched = new bool[high.Count];
        foreach (var (t, k) in matches)
        {
            Apply(pool[t], detections, high[k], frame);
            poolMatched[t] = true;
            highMatched[k] = true;
        }

        // Stage 2: low-score detections against tracks still unmatched that were being tracked.
        var remaining = new List<Track>();
        for (int t = 0; t < pool.Count; t++)
            if (!poolMatched[t] && pool[t].State == State.Tracked) remaining.Add(pool[t]);
        var matches2 = Match(remaining, detections, low, _o.SecondMatchDistance, fuse: false);
        var remainingMatched = new bool[remaining.Count];
        foreach (var (t, k) in matches2)
        {
            Apply(remaining[t], detections, low[k], frame);
            remainingMatched[t] = true;
        }
        for (int t = 0; t < remaining.Count; t++)
            if (!remainingMatched[t]) remaining[t].State = State.Lost;

        // Stage 3: tentative tracks against the high-score detections nobody took.
        var leftHigh = new List<int>();
        for (int k = 0; k < high.Count; k++) if (!highMatched[k]) leftHigh.Add(high[k]);
        var matches3 = Match(unconfirmed, detections, leftHigh, _o.UnconfirmedMatchDistance, _o.FuseScore);
        var unconfirmedMatched = new bool[unconfirmed.Count];
        var leftHighMatched = new bool[leftHigh.Count];
        foreach (var (t, k) in matches3)
        {
            Apply(unconfirmed[t], detections, leftHigh[k], frame);
            unconfirmedMatched[t] = true;
            leftHighMatched[k] = true;
        }
        for (int t = 0; t < unconfirmed.Count; t++)
            if (!unconfirmedMatched[t]) unconfirmed[t].State = State.Removed;

        // Stage 4: births.
        var born = new List<Track>();
        for (int k = 0; k < leftHigh.Count; k++)
        {
            if (leftHighMatched[k]) continue;
            var d = detections[leftHigh[k]];
            if (d.Score < _o.NewTrackScore) continue;
            born.Add(new Track
            {
                Filter = new KalmanBoxFilter(KalmanModel.ByteTrack, d.Box),
                ClassId = d.ClassId,
                Score = d.Score,
                Embedding = d.Embedding,
                IsActivated = frame == 1,
                StartFrame = frame,
                FrameId = frame,
                MatchedDetection = leftHigh[k],
            });
        }

        // Book-keeping: lost tracks past the buffer are removed; rebuild the tracked and lost lists.
        var newTracked = new List<Track>();
        var newLost = new List<Track>();
        foreach (var t in _tracked.Concat(_lost).Distinct())
        {
            if (t.State == State.Lost && frame - t.FrameId > _o.TrackBuffer) t.State = State.Removed;
            if (t.State == State.Tracked) newTracked.Add(t);
            else if (t.State == State.Lost) newLost.Add(t);
        }
        newTracked.AddRange(born);
        RemoveDuplicates(newTracked, newLost);
        _tracked = newTracked;
        _lost = newLost;

        var output = new List<TrackedBox>();
        foreach (var t in _tracked)
        {
            if (!t.IsActivated || t.FrameId != frame) continue;
            if (t.PublicId < 0 && t.HitStreak < _o.ByteTrackMinHits && frame > _o.ByteTrackMinHits) continue;
            if (t.PublicId < 0) t.PublicId = NextPublicId();
            output.Add(new TrackedBox(t.PublicId, t.Filter.Box, t.MatchedDetection, t.Score, t.ClassId));
        }
        return output;
    }

    private void Apply(Track t, IReadOnlyList<Detection> detections, int index, long frame)
    {
        var d = detections[index];
        t.Filter.Update(d.Box);
        t.HitStreak = t.FrameId == frame - 1 ? t.HitStreak + 1 : 1;
        t.State = State.Tracked;
        t.IsActivated = true;
        t.FrameId = frame;
        t.Score = d.Score;
        t.Embedding = Association.Smooth(t.Embedding, d.Embedding);
        t.MatchedDetection = index;
    }

    /// <summary>Minimum-cost partial assignment with cost 1 - IoU (x score when fused, blended with the appearance
    /// distance when enabled), pairs allowed only when cost &lt; limit; as a max-weight matching with weight limit - cost
    /// (leaving a track and a detection unmatched costs limit / 2 each, as in ByteTrack's lapjv call).</summary>
    private List<(int Row, int Col)> Match(List<Track> tracks, IReadOnlyList<Detection> detections, List<int> indices, float limit, bool fuse)
    {
        if (tracks.Count == 0 || indices.Count == 0) return [];
        _boxes.Clear(); _classes.Clear();
        foreach (var t in tracks) { _boxes.Add(t.Filter.Box); _classes.Add(t.ClassId); }
        _association.FindOverlaps(_boxes, _classes, detections, indices, _candidates);
        _edges.Clear();
        float w = _o.AppearanceWeight;
        foreach (var c in _candidates)
        {
            var d = detections[indices[c.Detection]];
            double cost = 1 - (fuse ? c.Iou * d.Score : c.Iou);
            if (w > 0) cost = (1 - w) * cost + w * Association.CosineDistance(tracks[c.Track].Embedding, d.Embedding) / 2;
            if (cost < limit) _edges.Add(new WeightedEdge(c.Track, c.Detection, limit - cost));
        }
        return LinearAssignment.MaxWeightMatching(tracks.Count, indices.Count, _edges);
    }

    /// <summary>A tracked and a lost track covering the same object (IoU &gt; 0.85): keep the one tracked longer.</summary>
    private void RemoveDuplicates(List<Track> tracked, List<Track> lost)
    {
        if (tracked.Count == 0 || lost.Count == 0) return;
        _boxes.Clear(); _classes.Clear();
        foreach (var t in tracked) { _boxes.Add(t.Filter.Box); _classes.Add(t.ClassId); }
        var lostDetections = lost.Select(t => new Detection(t.Filter.Box, 1f, t.ClassId)).ToList();
        var all = Enumerable.Range(0, lost.Count).ToList();
        _association.FindOverlaps(_boxes, _classes, lostDetections, all, _candidates);
        var dropTracked = new HashSet<Track>();
        var dropLost = new HashSet<Track>();
        foreach (var c in _candidates)
        {
            if (1 - c.Iou >= 0.15f) continue;
            var p = tracked[c.Track];
            var q = lost[c.Detection];
            if (p.FrameId - p.StartFrame > q.FrameId - q.StartFrame) dropLost.Add(q);
            else dropTracked.Add(p);
        }
        tracked.RemoveAll(dropTracked.Contains);
        lost.RemoveAll(dropLost.Contains);
    }
}
