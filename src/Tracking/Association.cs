namespace Vigil.Tracking;

/// <summary>Candidate pairs between track boxes and detections: only pairs of the same class whose boxes overlap
/// (IoU &gt; 0) are listed. A sweep over detections sorted by left edge keeps this near linear in the number of
/// boxes instead of computing a full tracks x detections IoU matrix.</summary>
internal sealed class Association
{
    private readonly List<int> _order = [];
    private readonly List<float> _sortedX = [];

    public readonly record struct Candidate(int Track, int Detection, float Iou);

    public void FindOverlaps(IReadOnlyList<BoxF> tracks, IReadOnlyList<int> trackClasses,
        IReadOnlyList<Detection> detections, IReadOnlyList<int> detectionIndices, List<Candidate> output)
    {
        output.Clear();
        _order.Clear();
        _sortedX.Clear();
        float maxWidth = 0;
        for (int k = 0; k < detectionIndices.Count; k++)
        {
            _order.Add(k);
            maxWidth = MathF.Max(maxWidth, detections[detectionIndices[k]].Box.Width);
        }
        _order.Sort((p, q) => detections[detectionIndices[p]].Box.X.CompareTo(detections[detectionIndices[q]].Box.X));
        foreach (int k in _order) _sortedX.Add(detections[detectionIndices[k]].Box.X);

        for (int t = 0; t < tracks.Count; t++)
        {
            var tb = tracks[t];
            if (!(tb.Width > 0) || !(tb.Height > 0)) continue;
            // First detection whose left edge could still reach this track: X > tb.X - maxWidth.
            int lo = LowerBound(_sortedX, tb.X - maxWidth);
            for (int s = lo; s < _sortedX.Count && _sortedX[s] < tb.Right; s++)
            {
                int k = _order[s];
                var d = detections[detectionIndices[k]];
                if (d.ClassId != trackClasses[t]) continue;
                float iou = BoxF.IoU(tb, d.Box);
                if (iou > 0) output.Add(new Candidate(t, k, iou));
            }
        }
    }

    /// <summary>Cosine distance in [0, 2] between two embeddings; 1 (neutral) when either is missing or their lengths differ.</summary>
    public static float CosineDistance(float[]? a, float[]? b)
    {
        if (a is null || b is null || a.Length != b.Length || a.Length == 0) return 1f;
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        if (na <= 0 || nb <= 0) return 1f;
        return (float)(1 - dot / Math.Sqrt(na * nb));
    }

    /// <summary>Exponential moving average of an appearance embedding (DeepSORT/BoT-SORT style smoothing).</summary>
    public static float[]? Smooth(float[]? previous, float[]? current, float momentum = 0.9f)
    {
        if (current is null) return previous;
        if (previous is null || previous.Length != current.Length) return (float[])current.Clone();
        var result = new float[current.Length];
        for (int i = 0; i < result.Length; i++) result[i] = momentum * previous[i] + (1 - momentum) * current[i];
        return result;
    }

    private static int LowerBound(List<float> sorted, float value)
    {
        int lo = 0, hi = sorted.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] <= value) lo = mid + 1; else hi = mid;
        }
        return lo;
    }
}
