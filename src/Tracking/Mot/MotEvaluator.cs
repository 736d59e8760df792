namespace Vigil.Tracking.Mot;

/// <summary>Evaluation settings.</summary>
public sealed record MotEvaluationOptions
{
    /// <summary>Ground-truth rows whose column 7 is below this are dropped before evaluation (all metrics).
    /// Default -1 keeps every row, as py-motmetrics' loader does by default; 1 drops MOTChallenge's zero-flagged
    /// (ignore) rows, as py-motmetrics recommends and as TrackEval always does for HOTA.</summary>
    public double MinGtConfidence { get; init; } = -1;

    /// <summary>CLEAR MOT and ID measures: a ground-truth box and a hypothesis may be matched when 1 - IoU is at most
    /// this (py-motmetrics' distth; 0.5 means IoU &gt;= 0.5, exactly 0.5 allowed).</summary>
    public double MaxIouDistance { get; init; } = 0.5;
}

/// <summary>
/// Counts accumulated over one sequence, or summed over several (like py-motmetrics' overall row, a sum of the
/// sequences' accumulators, and TrackEval's combine_sequences). <see cref="ToMetrics"/> turns them into ratios.
/// </summary>
public sealed class MotCounts
{
    public const int AlphaCount = 19;

    /// <summary>HOTA localisation thresholds 0.05, 0.10, ... 0.95 (TrackEval's arange(0.05, 0.99, 0.05)).</summary>
    public static double Alpha(int a) => 0.05 + a * 0.05;

    public int Frames { get; set; }
    /// <summary>Ground-truth boxes (py-motmetrics num_objects).</summary>
    public long Objects { get; set; }
    /// <summary>Hypothesis boxes (num_predictions).</summary>
    public long Predictions { get; set; }
    public long Matches { get; set; }
    public long Switches { get; set; }
    public long Misses { get; set; }
    public long FalsePositives { get; set; }
    public long Fragmentations { get; set; }
    public int UniqueObjects { get; set; }
    public int MostlyTracked { get; set; }
    public int PartiallyTracked { get; set; }
    public int MostlyLost { get; set; }
    /// <summary>Sum of 1 - IoU over matches and switches (MOTP numerator).</summary>
    public double DistanceSum { get; set; }
    public double IdTruePositives { get; set; }
    public double IdFalsePositives { get; set; }
    public double IdFalseNegatives { get; set; }
    public double[] HotaTp { get; } = new double[AlphaCount];
    public double[] HotaFn { get; } = new double[AlphaCount];
    public double[] HotaFp { get; } = new double[AlphaCount];
    /// <summary>Per alpha: AssA x HOTA_TP (sum over matches of the pair's association Jaccard).</summary>
    public double[] AssASum { get; } = new double[AlphaCount];
    /// <summary>Per alpha: sum of the IoU of the matches (LocA numerator).</summary>
    public double[] LocASum { get; } = new double[AlphaCount];

    public static MotCounts Sum(IEnumerable<MotCounts> parts)
    {
        var s = new MotCounts();
        foreach (var p in parts)
        {
            s.Frames += p.Frames; s.Objects += p.Objects; s.Predictions += p.Predictions; s.Matches += p.Matches;
            s.Switches += p.Switches; s.Misses += p.Misses; s.FalsePositives += p.FalsePositives;
            s.Fragmentations += p.Fragmentations; s.UniqueObjects += p.UniqueObjects; s.MostlyTracked += p.MostlyTracked;
            s.PartiallyTracked += p.PartiallyTracked; s.MostlyLost += p.MostlyLost; s.DistanceSum += p.DistanceSum;
            s.IdTruePositives += p.IdTruePositives; s.IdFalsePositives += p.IdFalsePositives; s.IdFalseNegatives += p.IdFalseNegatives;
            for (int a = 0; a < AlphaCount; a++)
            {
                s.HotaTp[a] += p.HotaTp[a]; s.HotaFn[a] += p.HotaFn[a]; s.HotaFp[a] += p.HotaFp[a];
                s.AssASum[a] += p.AssASum[a]; s.LocASum[a] += p.LocASum[a];
            }
        }
        return s;
    }

    public MotMetrics ToMetrics()
    {
        static double Div(double a, double b) => b == 0 ? double.NaN : a / b; // py-motmetrics' quiet_divide
        long detections = Matches + Switches;
        double hota = 0, detA = 0, assA = 0, locA = 0, detRe = 0, detPr = 0;
        for (int a = 0; a < AlphaCount; a++)
        {
            double tp = HotaTp[a], fn = HotaFn[a], fp = HotaFp[a];
            double d = tp / Math.Max(1, tp + fn + fp);
            double s = AssASum[a] / Math.Max(1, tp);
            detA += d; assA += s; hota += Math.Sqrt(d * s);
            locA += Math.Max(1e-10, LocASum[a]) / Math.Max(1e-10, tp);
            detRe += tp / Math.Max(1, tp + fn);
            detPr += tp / Math.Max(1, tp + fp);
        }
        return new MotMetrics
        {
            Idf1 = Div(2 * IdTruePositives, Objects + Predictions),
            Idp = Div(IdTruePositives, IdTruePositives + IdFalsePositives),
            Idr = Div(IdTruePositives, IdTruePositives + IdFalseNegatives),
            Recall = Div(detections, Objects),
            Precision = Div(detections, FalsePositives + detections),
            GroundTruthIds = UniqueObjects,
            MostlyTracked = MostlyTracked,
            PartiallyTracked = PartiallyTracked,
            MostlyLost = MostlyLost,
            FalsePositives = FalsePositives,
            Misses = Misses,
            Switches = Switches,
            Fragmentations = Fragmentations,
            Mota = 1 - Div(Misses + Switches + FalsePositives, Objects),
            Motp = Div(DistanceSum, detections),
            Hota = hota / AlphaCount,
            DetA = detA / AlphaCount,
            AssA = assA / AlphaCount,
            LocA = locA / AlphaCount,
            DetRe = detRe / AlphaCount,
            DetPr = detPr / AlphaCount,
            Objects = Objects,
            Predictions = Predictions,
            Frames = Frames,
        };
    }
}

/// <summary>Tracking metrics as fractions (MOTA 0.55 = 55 %). CLEAR MOT and ID measures follow py-motmetrics
/// (MOTP = mean 1 - IoU of matched pairs, lower is better); HOTA, DetA, AssA, LocA follow TrackEval (averaged over
/// the 19 alpha thresholds).</summary>
public sealed record MotMetrics
{
    public double Idf1 { get; init; }
    public double Idp { get; init; }
    public double Idr { get; init; }
    public double Recall { get; init; }
    public double Precision { get; init; }
    public int GroundTruthIds { get; init; }
    public int MostlyTracked { get; init; }
    public int PartiallyTracked { get; init; }
    public int MostlyLost { get; init; }
    public long FalsePositives { get; init; }
    public long Misses { get; init; }
    public long Switches { get; init; }
    public long Fragmentations { get; init; }
    public double Mota { get; init; }
    public double Motp { get; init; }
    public double Hota { get; init; }
    public double DetA { get; init; }
    public double AssA { get; init; }
    public double LocA { get; init; }
    public double DetRe { get; init; }
    public double DetPr { get; init; }
    public long Objects { get; init; }
    public long Predictions { get; init; }
    public int Frames { get; init; }
}

/// <summary>
/// Multi-object tracking evaluation of one sequence (ground truth vs tracker output, MOTChallenge 2D rows).
/// Re-implemented from the published definitions and the reference tools' documented conventions:
/// <list type="bullet">
/// <item>CLEAR MOT (Bernardin and Stiefelhagen 2008) as py-motmetrics' MOTAccumulator: per frame, correspondences
/// from earlier frames are kept first when still within the distance limit; the rest are matched by maximum number of
/// pairs, then minimum total 1 - IoU (Hungarian); a match whose object was last paired with a different hypothesis is
/// an ID switch; MT / ML at &gt;= 80 % / &lt; 20 % of an object's frames matched; a fragmentation is a matched-to-missed
/// transition inside an object's matched span.</item>
/// <item>IDF1 / IDP / IDR (Ristani et al. 2016): one global minimum-cost bipartite matching of object and hypothesis
/// ids, each pair worth the number of frames where the two are within the distance limit.</item>
/// <item>HOTA (Luiten et al. 2021) as TrackEval: per-frame Hungarian matching maximising global alignment x IoU,
/// thresholded at alpha = 0.05..0.95; DetA, AssA, LocA per alpha, averaged.</item>
/// </list>
/// </summary>
public static class MotEvaluator
{
    private const double Eps = 2.220446049250313e-16; // numpy float eps, as TrackEval uses it

    public static MotCounts Evaluate(IReadOnlyList<MotRow> groundTruth, IReadOnlyList<MotRow> hypotheses, MotEvaluationOptions? options = null)
    {
        options ??= new MotEvaluationOptions();
        var gt = groundTruth.Where(r => r.Confidence >= options.MinGtConfidence).ToList();
        var gtIds = DenseIds(gt);
        var hypIds = DenseIds(hypotheses);
        var gtByFrame = ByFrame(gt);
        var hypByFrame = ByFrame(hypotheses);
        var frames = gtByFrame.Keys.Union(hypByFrame.Keys).Order().ToList();

        var counts = new MotCounts { Frames = frames.Count };
        var frameData = new List<(int[] G, int[] H, double[] Iou)>(frames.Count);
        foreach (int f in frames)
        {
            var g = gtByFrame.TryGetValue(f, out var gl) ? gl : [];
            var h = hypByFrame.TryGetValue(f, out var hl) ? hl : [];
            var iou = new double[g.Count * h.Count];
            for (int i = 0; i < g.Count; i++)
                for (int j = 0; j < h.Count; j++)
                    iou[i * h.Count + j] = Iou(g[i], h[j]);
            frameData.Add(([.. g.Select(r => gtIds[r.Id])], [.. h.Select(r => hypIds[r.Id])], iou));
        }
        ClearAndIdentity(frameData, gtIds.Count, hypIds.Count, options.MaxIouDistance, counts);
        Hota(frameData, gtIds.Count, hypIds.Count, counts);
        return counts;
    }

    private static void ClearAndIdentity(List<(int[] G, int[] H, double[] Iou)> frames, int numGt, int numHyp, double maxDist, MotCounts c)
    {
        var lastMatch = new int[numGt];        // hypothesis last paired with each object (py-motmetrics' m)
        Array.Fill(lastMatch, -1);
        var present = new int[numGt];
        var tracked = new int[numGt];
        var everTracked = new bool[numGt];
        var missSinceTracked = new bool[numGt];
        var hypFrames = new int[numHyp];
        var together = new Dictionary<(int, int), int>(); // frames where a pair is within the distance limit
        var edges = new List<WeightedEdge>();

        foreach (var (g, h, iou) in frames)
        {
            int ng = g.Length, nh = h.Length;
            var gDone = new bool[ng];
            var hDone = new bool[nh];
            double Dist(int i, int j) => 1 - iou[i * nh + j];
            bool Valid(int i, int j) => !(Dist(i, j) > maxDist);
            for (int i = 0; i < ng; i++)
                for (int j = 0; j < nh; j++)
                    if (Valid(i, j)) together[(g[i], h[j])] = together.GetValueOrDefault((g[i], h[j])) + 1;
            foreach (int hid in h) hypFrames[hid]++;

            void Matched(int i, int j, bool isSwitch)
            {
                gDone[i] = true; hDone[j] = true;
                if (isSwitch) c.Switches++; else c.Matches++;
                c.DistanceSum += Dist(i, j);
                int o = g[i];
                lastMatch[o] = h[j];
                tracked[o]++;
                if (everTracked[o] && missSinceTracked[o]) c.Fragmentations++;
                everTracked[o] = true;
                missSinceTracked[o] = false;
            }

            if (ng > 0 && nh > 0)
            {
                // 1. Keep correspondences from earlier frames.
                for (int i = 0; i < ng; i++)
                {
                    int prev = lastMatch[g[i]];
                    if (prev < 0) continue;
                    int j = Array.FindIndex(h, 0, x => x == prev);
                    while (j >= 0 && hDone[j]) j = j + 1 < nh ? Array.FindIndex(h, j + 1, x => x == prev) : -1;
                    if (j >= 0 && Valid(i, j)) Matched(i, j, isSwitch: false);
                }
                // 2. Most pairs, then least total distance, over what is left.
                edges.Clear();
                for (int i = 0; i < ng; i++)
                {
                    if (gDone[i]) continue;
                    for (int j = 0; j < nh; j++)
                        if (!hDone[j] && Valid(i, j)) edges.Add(new WeightedEdge(i, j, Dist(i, j)));
                }
                foreach (var (i, j) in LinearAssignment.MaxCardinalityMinCost(ng, nh, edges, maxDist))
                {
                    int o = g[i];
                    Matched(i, j, isSwitch: lastMatch[o] >= 0 && lastMatch[o] != h[j]);
                }
            }
            for (int i = 0; i < ng; i++)
            {
                present[g[i]]++;
                if (gDone[i]) continue;
                c.Misses++;
                missSinceTracked[g[i]] = true;
            }
            for (int j = 0; j < nh; j++) if (!hDone[j]) c.FalsePositives++;
            c.Objects += ng;
            c.Predictions += nh;
        }

        for (int o = 0; o < numGt; o++)
        {
            if (present[o] == 0) continue;
            c.UniqueObjects++;
            double ratio = (double)tracked[o] / present[o];
            if (ratio >= 0.8) c.MostlyTracked++;
            else if (ratio >= 0.2) c.PartiallyTracked++;
            else c.MostlyLost++;
        }

        // Identity measures: maximise frames of agreement over a one-to-one id mapping.
        var idEdges = together.Select(kv => new WeightedEdge(kv.Key.Item1, kv.Key.Item2, kv.Value)).ToList();
        double idtp = 0;
        foreach (var (o, hid) in LinearAssignment.MaxWeightMatching(numGt, numHyp, idEdges)) idtp += together[(o, hid)];
        c.IdTruePositives = idtp;
        c.IdFalseNegatives = c.Objects - idtp;
        c.IdFalsePositives = c.Predictions - idtp;
    }

    private static void Hota(List<(int[] G, int[] H, double[] Iou)> frames, int numGt, int numHyp, MotCounts c)
    {
        long numGtDets = frames.Sum(f => (long)f.G.Length), numHypDets = frames.Sum(f => (long)f.H.Length);
        if (numHypDets == 0 || numGtDets == 0)
        {
            for (int a = 0; a < MotCounts.AlphaCount; a++)
            {
                c.HotaFn[a] = numGtDets; c.HotaFp[a] = numHypDets;
                c.LocASum[a] = 0; // LocA reads 1 in TrackEval here; with TP = 0 ours reads max(1e-10)/1e-10 = 1 too
            }
            return;
        }
        // Global alignment: per id pair, the IoU-weighted co-occurrence normalised per frame (TrackEval's sim_iou).
        var potential = new double[numGt * numHyp];
        var gtCount = new double[numGt];
        var hypCount = new double[numHyp];
        foreach (var (g, h, iou) in frames)
        {
            int ng = g.Length, nh = h.Length;
            var rowSum = new double[ng];
            var colSum = new double[nh];
            for (int i = 0; i < ng; i++)
                for (int j = 0; j < nh; j++) { rowSum[i] += iou[i * nh + j]; colSum[j] += iou[i * nh + j]; }
            for (int i = 0; i < ng; i++)
                for (int j = 0; j < nh; j++)
                {
                    double s = iou[i * nh + j];
                    double denom = rowSum[i] + colSum[j] - s;
                    if (denom > Eps) potential[g[i] * numHyp + h[j]] += s / denom;
                }
            foreach (int o in g) gtCount[o]++;
            foreach (int hid in h) hypCount[hid]++;
        }
        var alignment = new double[numGt * numHyp];
        for (int o = 0; o < numGt; o++)
            for (int hid = 0; hid < numHyp; hid++)
            {
                int k = o * numHyp + hid;
                alignment[k] = potential[k] / (gtCount[o] + hypCount[hid] - potential[k]);
            }

        var matchCounts = new Dictionary<(int, int), int>[MotCounts.AlphaCount];
        for (int a = 0; a < matchCounts.Length; a++) matchCounts[a] = [];
        var edges = new List<WeightedEdge>();
        foreach (var (g, h, iou) in frames)
        {
            int ng = g.Length, nh = h.Length;
            if (ng == 0 || nh == 0)
            {
                for (int a = 0; a < MotCounts.AlphaCount; a++) { c.HotaFp[a] += nh; c.HotaFn[a] += ng; }
                continue;
            }
            edges.Clear();
            for (int i = 0; i < ng; i++)
                for (int j = 0; j < nh; j++)
                {
                    double score = alignment[g[i] * numHyp + h[j]] * iou[i * nh + j];
                    if (score > 0) edges.Add(new WeightedEdge(i, j, score));
                }
            var matches = LinearAssignment.MaxWeightMatching(ng, nh, edges);
            for (int a = 0; a < MotCounts.AlphaCount; a++)
            {
                double alpha = MotCounts.Alpha(a);
                int n = 0;
                foreach (var (i, j) in matches)
                {
                    double s = iou[i * nh + j];
                    if (s < alpha - Eps) continue;
                    n++;
                    c.LocASum[a] += s;
                    var key = (g[i], h[j]);
                    matchCounts[a][key] = matchCounts[a].GetValueOrDefault(key) + 1;
                }
                c.HotaTp[a] += n;
                c.HotaFn[a] += ng - n;
                c.HotaFp[a] += nh - n;
            }
        }
        for (int a = 0; a < MotCounts.AlphaCount; a++)
        {
            double sum = 0;
            foreach (var ((o, hid), m) in matchCounts[a])
                sum += m * (m / Math.Max(1, gtCount[o] + hypCount[hid] - m));
            c.AssASum[a] = sum;
        }
    }

    /// <summary>IoU of two xywh boxes in double precision, with TrackEval's guards for empty boxes.</summary>
    public static double Iou(in MotRow a, in MotRow b)
    {
        double ax2 = a.X + a.Width, ay2 = a.Y + a.Height, bx2 = b.X + b.Width, by2 = b.Y + b.Height;
        double iw = Math.Max(Math.Min(ax2, bx2) - Math.Max(a.X, b.X), 0);
        double ih = Math.Max(Math.Min(ay2, by2) - Math.Max(a.Y, b.Y), 0);
        double inter = iw * ih;
        double areaA = a.Width * a.Height, areaB = b.Width * b.Height;
        double union = areaA + areaB - inter;
        if (areaA <= Eps || areaB <= Eps || union <= Eps) return 0;
        return inter / union;
    }

    private static Dictionary<int, int> DenseIds(IEnumerable<MotRow> rows)
    {
        var map = new Dictionary<int, int>();
        foreach (var r in rows) map.TryAdd(r.Id, map.Count);
        return map;
    }

    private static Dictionary<int, List<MotRow>> ByFrame(IEnumerable<MotRow> rows)
    {
        var map = new Dictionary<int, List<MotRow>>();
        foreach (var r in rows)
        {
            if (!map.TryGetValue(r.Frame, out var list)) map[r.Frame] = list = [];
            list.Add(r);
        }
        return map;
    }
}
