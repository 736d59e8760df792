namespace Vigil.Tracking;

/// <summary>
/// IoU tracker (after Bochinski, Eiselein and Sikora, "High-Speed Tracking-by-Detection Without Using Image
/// Information", 2017), online form: each detection is matched to the last box of a live track by maximum total
/// IoU (Hungarian) among pairs with IoU &gt;= <see cref="TrackerOptions.MinIou"/>; no motion model. A track is
/// reported once it has been matched in <see cref="TrackerOptions.MinHits"/> frames (counting its first), and is
/// deleted after more than <see cref="TrackerOptions.MaxAge"/> frames without a match. The reported box is the detection.
/// </summary>
public sealed class IouTracker : TrackerBase
{
    private sealed class Track(BoxF box, int classId, float score)
    {
        public BoxF Box { get; set; } = box;
        public int ClassId { get; } = classId;
        public float Score { get; set; } = score;
        public int Hits { get; set; } = 1;
        public int Missed { get; set; }
        public long PublicId { get; set; } = -1;
    }

    private readonly TrackerOptions _o;
    private readonly List<Track> _tracks = [];
    private readonly Association _association = new();
    private readonly List<Association.Candidate> _candidates = [];
    private readonly List<WeightedEdge> _edges = [];
    private readonly List<BoxF> _boxes = [];
    private readonly List<int> _classes = [];
    private readonly List<int> _detIndex = [];

    public IouTracker(TrackerOptions options) => _o = options;

    public override IReadOnlyList<TrackedBox> Step(IReadOnlyList<Detection> detections)
    {
        FrameCount++;
        _detIndex.Clear();
        for (int i = 0; i < detections.Count; i++)
            if (detections[i].Score >= _o.MinScore && detections[i].Box.Width > 0 && detections[i].Box.Height > 0) _detIndex.Add(i);
        _boxes.Clear(); _classes.Clear();
        foreach (var tr in _tracks) { _boxes.Add(tr.Box); _classes.Add(tr.ClassId); }
        _association.FindOverlaps(_boxes, _classes, detections, _detIndex, _candidates);
        _edges.Clear();
        foreach (var c in _candidates)
            if (c.Iou >= _o.MinIou) _edges.Add(new WeightedEdge(c.Track, c.Detection, c.Iou));
        var matches = LinearAssignment.MaxWeightMatching(_tracks.Count, _detIndex.Count, _edges);

        var trackMatch = new int[_tracks.Count];
        Array.Fill(trackMatch, -1);
        var detMatched = new bool[_detIndex.Count];
        foreach (var (t, k) in matches) { trackMatch[t] = k; detMatched[k] = true; }

        var output = new List<TrackedBox>();
        var survivors = new List<Track>(_tracks.Count + _detIndex.Count);
        for (int t = 0; t < _tracks.Count; t++)
        {
            var tr = _tracks[t];
            if (trackMatch[t] >= 0)
            {
                var d = detections[_detIndex[trackMatch[t]]];
                tr.Box = d.Box; tr.Score = d.Score; tr.Hits++; tr.Missed = 0;
                Report(tr, _detIndex[trackMatch[t]], output);
                survivors.Add(tr);
            }
            else if (++tr.Missed <= _o.MaxAge) survivors.Add(tr);
        }
        for (int k = 0; k < _detIndex.Count; k++)
        {
            if (detMatched[k]) continue;
            var d = detections[_detIndex[k]];
            var tr = new Track(d.Box, d.ClassId, d.Score);
            Report(tr, _detIndex[k], output);
            survivors.Add(tr);
        }
        _tracks.Clear();
        _tracks.AddRange(survivors);
        return output;
    }

    private void Report(Track tr, int detection, List<TrackedBox> output)
    {
        if (tr.Hits < _o.MinHits) return;
        if (tr.PublicId < 0) tr.PublicId = NextPublicId();
        output.Add(new TrackedBox(tr.PublicId, tr.Box, detection, tr.Score, tr.ClassId));
    }
}
