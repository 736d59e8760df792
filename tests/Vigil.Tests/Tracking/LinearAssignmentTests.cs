using Vigil.Tracking;

namespace Vigil.Tests.Tracking;

public class LinearAssignmentTests
{
    [Fact]
    public void SolveMinCost_RandomSmallMatrices_MatchesBruteForce()
    {
        var rng = new Random(1234);
        for (int trial = 0; trial < 300; trial++)
        {
            int rows = rng.Next(1, 6), cols = rng.Next(1, 6);
            var cost = new double[rows * cols];
            for (int i = 0; i < cost.Length; i++) cost[i] = rng.Next(0, 4) == 0 ? rng.Next(0, 3) : rng.NextDouble() * 10 - 3;
            var assignment = LinearAssignment.SolveMinCost(cost, rows, cols);
            Assert.Equal(Math.Min(rows, cols), assignment.Count(c => c >= 0));
            Assert.Equal(assignment.Where(c => c >= 0).Count(), assignment.Where(c => c >= 0).Distinct().Count());
            double total = 0;
            for (int r = 0; r < rows; r++) if (assignment[r] >= 0) total += cost[r * cols + assignment[r]];
            Assert.Equal(BruteForceMinCost(cost, rows, cols), total, 9);
        }
    }

    [Fact]
    public void MaxWeightMatching_RandomSparseGraphs_MatchesBruteForce()
    {
        var rng = new Random(99);
        for (int trial = 0; trial < 300; trial++)
        {
            int rows = rng.Next(1, 6), cols = rng.Next(1, 6);
            var edges = new List<WeightedEdge>();
            var weight = new double[rows * cols];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    if (rng.NextDouble() < 0.45)
                    {
                        weight[r * cols + c] = rng.NextDouble() + 0.01;
                        edges.Add(new WeightedEdge(r, c, weight[r * cols + c]));
                    }
            var matches = LinearAssignment.MaxWeightMatching(rows, cols, edges);
            Assert.Equal(matches.Count, matches.Select(m => m.Row).Distinct().Count());
            Assert.Equal(matches.Count, matches.Select(m => m.Col).Distinct().Count());
            Assert.All(matches, m => Assert.True(weight[m.Row * cols + m.Col] > 0, "matched a non-edge"));
            double total = matches.Sum(m => weight[m.Row * cols + m.Col]);
            // Max weight with non-edges worth 0 = -(min cost with cost -w).
            Assert.Equal(-BruteForceMinCost(weight.Select(w => -w).ToArray(), rows, cols), total, 9);
        }
    }

    [Fact]
    public void MaxCardinalityMinCost_PrefersMorePairsOverCheaperOnes()
    {
        // Row 0 can take col 0 (cost 0) or col 1 (cost 0.5); row 1 only col 0 (cost 0.5).
        // Cheapest single pair is (0,0) at 0; two pairs (0,1)+(1,0) cost 1.0 but match more.
        var edges = new List<WeightedEdge> { new(0, 0, 0), new(0, 1, 0.5), new(1, 0, 0.5) };
        var m = LinearAssignment.MaxCardinalityMinCost(2, 2, edges, 0.5);
        Assert.Equal([(0, 1), (1, 0)], m.OrderBy(p => p.Row).ToList());
    }

    private static double BruteForceMinCost(double[] cost, int rows, int cols)
    {
        double best = double.PositiveInfinity;
        var usedCols = new bool[cols];
        void Rec(int r, int assigned, double sum)
        {
            if (r == rows)
            {
                if (assigned == Math.Min(rows, cols)) best = Math.Min(best, sum);
                return;
            }
            if (rows - r > Math.Min(rows, cols) - assigned) Rec(r + 1, assigned, sum); // leave row r unassigned
            for (int c = 0; c < cols; c++)
            {
                if (usedCols[c]) continue;
                usedCols[c] = true;
                Rec(r + 1, assigned + 1, sum + cost[r * cols + c]);
                usedCols[c] = false;
            }
        }
        Rec(0, 0, 0);
        return best;
    }
}
