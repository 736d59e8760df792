using Vigil.Tracking.Mot;

namespace Vigil.Tests.Tracking;

/// <summary>The evaluator against py-motmetrics' asserted values (EXPECTED.md, test_motchallenge_files, atol 1e-3)
/// and TrackEval's HOTA values for the same files (as quoted in tadejsv/EvalDeT's integration tests).</summary>
public class MotEvaluatorTests
{
    private const double Tol = 1e-3;

    private static MotCounts Evaluate(string sequence) =>
        MotEvaluator.Evaluate(MotFile.Read(MotData.Path("py-motmetrics", sequence, "gt.txt")),
                              MotFile.Read(MotData.Path("py-motmetrics", sequence, "test.txt")));

    // Columns: IDF1 IDP IDR Rcll Prcn GT MT PT ML FP FN IDs FM MOTA MOTP (EXPECTED.md).
    public static TheoryData<string, double[]> Expected => new()
    {
        { "TUD-Campus", [0.557659, 0.729730, 0.451253, 0.582173, 0.941441, 8, 1, 6, 1, 13, 150, 7, 7, 0.526462, 0.277201] },
        { "TUD-Stadtmitte", [0.644619, 0.819760, 0.531142, 0.608997, 0.939920, 10, 5, 4, 1, 45, 452, 7, 6, 0.564014, 0.345904] },
        { "OVERALL", [0.624296, 0.799176, 0.512211, 0.602640, 0.940268, 18, 6, 10, 2, 58, 602, 14, 13, 0.555116, 0.330177] },
    };

    [Theory]
    [MemberData(nameof(Expected))]
    public void Evaluate_PyMotmetricsTudFiles_MatchesAssertedValues(string sequence, double[] expected)
    {
        var counts = sequence == "OVERALL"
            ? MotCounts.Sum([Evaluate("TUD-Campus"), Evaluate("TUD-Stadtmitte")])
            : Evaluate(sequence);
        var m = counts.ToMetrics();
        double[] actual = [m.Idf1, m.Idp, m.Idr, m.Recall, m.Precision, m.GroundTruthIds, m.MostlyTracked, m.PartiallyTracked,
            m.MostlyLost, m.FalsePositives, m.Misses, m.Switches, m.Fragmentations, m.Mota, m.Motp];
        string[] names = ["IDF1", "IDP", "IDR", "Rcll", "Prcn", "GT", "MT", "PT", "ML", "FP", "FN", "IDs", "FM", "MOTA", "MOTP"];
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= Tol, $"{sequence} {names[i]}: expected {expected[i]}, got {actual[i]}");
    }

    [Theory]
    [InlineData("TUD-Campus", 0.3914, 0.4181, 0.3691, 0.7701)]
    [InlineData("TUD-Stadtmitte", 0.3979, 0.3923, 0.4085, 0.7375)]
    public void Evaluate_PyMotmetricsTudFiles_MatchesTrackEvalHota(string sequence, double hota, double detA, double assA, double locA)
    {
        var m = Evaluate(sequence).ToMetrics();
        Assert.True(Math.Abs(m.Hota - hota) <= Tol, $"HOTA expected {hota}, got {m.Hota}");
        Assert.True(Math.Abs(m.DetA - detA) <= Tol, $"DetA expected {detA}, got {m.DetA}");
        Assert.True(Math.Abs(m.AssA - assA) <= Tol, $"AssA expected {assA}, got {m.AssA}");
        Assert.True(Math.Abs(m.LocA - locA) <= Tol, $"LocA expected {locA}, got {m.LocA}");
    }

    [Fact]
    public void Evaluate_PerfectTracker_ScoresOne()
    {
        var gt = MotFile.Read(MotData.Path("py-motmetrics", "TUD-Campus", "gt.txt"));
        var hyp = gt.Select(r => r with { Id = r.Id + 100, Confidence = -1 }).ToList();
        var m = MotEvaluator.Evaluate(gt, hyp).ToMetrics();
        Assert.Equal(1.0, m.Mota, 9);
        Assert.Equal(1.0, m.Idf1, 9);
        Assert.Equal(1.0, m.Hota, 9);
        Assert.Equal(0.0, m.Motp, 9);
        Assert.Equal(0, m.Switches);
    }

    [Fact]
    public void Evaluate_MinGtConfidenceOne_DropsZeroFlaggedRows()
    {
        var gt = MotFile.Read(MotData.Path("MOT15", "KITTI-17", "gt.txt"));
        int zero = gt.Count(r => r.Confidence == 0);
        Assert.Equal(99, zero); // README: KITTI-17 has 99 zero-flagged rows
        var all = MotEvaluator.Evaluate(gt, []).ToMetrics();
        var kept = MotEvaluator.Evaluate(gt, [], new MotEvaluationOptions { MinGtConfidence = 1 }).ToMetrics();
        Assert.Equal(gt.Count, all.Misses);
        Assert.Equal(gt.Count - zero, kept.Misses);
    }

    [Fact]
    public void Evaluate_IouExactlyHalf_IsAMatch()
    {
        // Boxes 0..2 and 1..2 (x) overlap with IoU exactly 0.5.
        MotRow[] gt = [new(1, 1, 0, 0, 2, 1, 1)];
        MotRow[] hyp = [new(1, 7, 1, 0, 1, 1, -1)];
        var m = MotEvaluator.Evaluate(gt, hyp).ToMetrics();
        Assert.Equal(0, m.Misses);
        Assert.Equal(0.5, m.Motp, 12);
    }

    [Fact]
    public void Evaluate_HypothesisTakesOverObject_CountsOneSwitchAndFragmentation()
    {
        // Object 1 in frames 1-4; hypothesis 10 covers frames 1-2, nothing in frame 3, hypothesis 11 in frame 4.
        MotRow[] gt = [.. Enumerable.Range(1, 4).Select(f => new MotRow(f, 1, 0, 0, 10, 10, 1))];
        MotRow[] hyp = [new(1, 10, 0, 0, 10, 10, -1), new(2, 10, 0, 0, 10, 10, -1), new(4, 11, 0, 0, 10, 10, -1)];
        var m = MotEvaluator.Evaluate(gt, hyp).ToMetrics();
        Assert.Equal(1, m.Switches);
        Assert.Equal(1, m.Fragmentations);
        Assert.Equal(1, m.Misses);
        Assert.Equal(1 - 2.0 / 4, m.Mota, 12);
        Assert.Equal(2.0 * 2 / (4 + 3), m.Idf1, 12); // best id mapping keeps hypothesis 10: 2 frames
    }
}
