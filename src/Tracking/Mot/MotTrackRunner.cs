namespace Vigil.Tracking.Mot;

/// <summary>Runs one of Vigil's trackers (the same classes the video pipeline uses) over a MOTChallenge detection
/// file and produces MOTChallenge tracker output.</summary>
public static class MotTrackRunner
{
    /// <summary>Tracks <paramref name="detections"/> frame by frame, from frame 1 to the last frame present (empty
    /// frames included, so motion models and track ages advance). Each reported track gives one output row with the
    /// tracker's box (Kalman estimate for SORT / ByteTrack) or, with <paramref name="detectionBoxes"/>, the matched detection's box.</summary>
    public static List<MotRow> Run(IReadOnlyList<MotRow> detections, TrackerOptions options, bool detectionBoxes = false)
    {
        var tracker = TrackerFactory.Create(options);
        var byFrame = detections.GroupBy(r => r.Frame).ToDictionary(g => g.Key, g => g.ToList());
        int last = detections.Count == 0 ? 0 : detections.Max(r => r.Frame);
        var output = new List<MotRow>();
        var input = new List<Detection>();
        for (int frame = 1; frame <= last; frame++)
        {
            input.Clear();
            var rows = byFrame.TryGetValue(frame, out var list) ? list : [];
            foreach (var r in rows) input.Add(new Detection(r.Box, (float)r.Confidence));
            foreach (var t in tracker.Step(input))
            {
                var box = detectionBoxes && t.DetectionIndex >= 0 ? rows[t.DetectionIndex].Box : t.Box;
                output.Add(new MotRow(frame, checked((int)t.TrackId), box.X, box.Y, box.Width, box.Height, 1));
            }
        }
        return output;
    }
}
