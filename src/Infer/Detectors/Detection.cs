namespace Vigil.Infer;

/// <summary>
/// One candidate box from a detector's decoder, in model-input pixels (before the letterbox is undone).
/// <see cref="Keypoints"/> holds x,y pairs (also model-input pixels) for families that produce landmarks.
/// </summary>
public readonly record struct Detection(BoxF Box, int ClassId, float Score, float[]? Keypoints = null);

/// <summary>Thresholds a decoder applies to one image's raw outputs.</summary>
public sealed record DecodeSettings(float ScoreThreshold, float NmsIou, bool ClassAgnosticNms, IReadOnlySet<int>? KeepClasses, int MaxDetections)
{
    public bool Keeps(int classId) => KeepClasses is null || KeepClasses.Contains(classId);
}

/// <summary>Non-maximum suppression variants used by the decoders.</summary>
public static class Nms
{
    /// <summary>
    /// Greedy NMS: highest score first, a box is dropped when its IoU with an already kept box of the same class
    /// (any class when <paramref name="classAgnostic"/>) exceeds <paramref name="iouThreshold"/>.
    /// </summary>
    public static void Greedy(List<Detection> candidates, float iouThreshold, bool classAgnostic, int maxDetections, List<Detection> kept)
    {
        candidates.Sort(static (a, b) => b.Score.CompareTo(a.Score));
        int start = kept.Count;
        foreach (var c in candidates)
        {
            bool suppressed = false;
            for (int k = start; k < kept.Count; k++)
            {
                var other = kept[k];
                if (!classAgnostic && other.ClassId != c.ClassId) continue;
                if (BoxF.IoU(c.Box, other.Box) > iouThreshold) { suppressed = true; break; }
            }
            if (suppressed) continue;
            kept.Add(c);
            if (kept.Count - start >= maxDetections) break;
        }
    }

    /// <summary>
    /// Weighted NMS as in MediaPipe's face detection: take the best remaining box, gather every remaining box whose
    /// IoU with it exceeds <paramref name="iouThreshold"/> (itself included), and emit the score-weighted average of
    /// their boxes and keypoints with the best box's score; repeat on what is left.
    /// </summary>
    public static void Weighted(List<Detection> candidates, float iouThreshold, int maxDetections, List<Detection> kept)
    {
        candidates.Sort(static (a, b) => b.Score.CompareTo(a.Score));
        var remaining = new List<Detection>(candidates);
        var cluster = new List<Detection>();
        int emitted = 0;
        while (remaining.Count > 0 && emitted < maxDetections)
        {
            var top = remaining[0];
            cluster.Clear();
            int w = 0;
            for (int i = 0; i < remaining.Count; i++)
            {
                if (i == 0 || BoxF.IoU(top.Box, remaining[i].Box) > iouThreshold) cluster.Add(remaining[i]);
                else remaining[w++] = remaining[i];
            }
            remaining.RemoveRange(w, remaining.Count - w);

            float total = 0, x1 = 0, y1 = 0, x2 = 0, y2 = 0;
            float[]? kp = top.Keypoints is null ? null : new float[top.Keypoints.Length];
            foreach (var c in cluster)
            {
                total += c.Score;
                x1 += c.Box.X * c.Score;
                y1 += c.Box.Y * c.Score;
                x2 += c.Box.Right * c.Score;
                y2 += c.Box.Bottom * c.Score;
                if (kp is not null && c.Keypoints is not null)
                    for (int k = 0; k < kp.Length; k++) kp[k] += c.Keypoints[k] * c.Score;
            }
            if (kp is not null) for (int k = 0; k < kp.Length; k++) kp[k] /= total;
            kept.Add(new Detection(BoxF.FromCorners(x1 / total, y1 / total, x2 / total, y2 / total), top.ClassId, top.Score, kp));
            emitted++;
        }
    }
}
