namespace Vigil.Tracking;

/// <summary>An edge of a bipartite graph that may be matched: a row (track, ground-truth object) to a column
/// (detection, hypothesis) with a positive weight (higher is better).</summary>
public readonly record struct WeightedEdge(int Row, int Col, double Weight);

/// <summary>
/// Linear assignment (Kuhn-Munkres / Hungarian method in its shortest-augmenting-path form with dual potentials,
/// O(n²m)). Written by hand: .NET has no well-kept assignment solver (no counterpart of SciPy's
/// <c>linear_sum_assignment</c> or <c>lap</c>), and the trackers and the MOT evaluator both need one.
/// </summary>
public static class LinearAssignment
{
    /// <summary>
    /// Minimum-cost assignment on a dense <paramref name="rows"/> x <paramref name="cols"/> matrix (row-major
    /// <paramref name="cost"/>). Every row is assigned when rows &lt;= cols, otherwise every column.
    /// Returns, for each row, its column or -1.
    /// </summary>
    public static int[] SolveMinCost(ReadOnlySpan<double> cost, int rows, int cols)
    {
        if (cost.Length != rows * cols) throw new ArgumentException($"cost has {cost.Length} entries, expected {rows}x{cols}", nameof(cost));
        var result = new int[rows];
        Array.Fill(result, -1);
        if (rows == 0 || cols == 0) return result;
        bool transposed = rows > cols;
        int n = transposed ? cols : rows, m = transposed ? rows : cols;
        // a(i, j) for 1-based i in [1, n], j in [1, m]; the transposed view keeps n <= m.
        double[] a = new double[n * m];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                a[transposed ? c * m + r : r * m + c] = cost[r * cols + c];

        var u = new double[n + 1];
        var v = new double[m + 1];
        var p = new int[m + 1];   // p[j]: row (1-based) assigned to column j, 0 = none
        var way = new int[m + 1];
        var minv = new double[m + 1];
        var used = new bool[m + 1];
        for (int i = 1; i <= n; i++)
        {
            p[0] = i;
            int j0 = 0;
            Array.Fill(minv, double.PositiveInfinity);
            Array.Clear(used);
            do
            {
                used[j0] = true;
                int i0 = p[j0], j1 = 0;
                double delta = double.PositiveInfinity;
                int rowBase = (i0 - 1) * m;
                for (int j = 1; j <= m; j++)
                {
                    if (used[j]) continue;
                    double cur = a[rowBase + j - 1] - u[i0] - v[j];
                    if (cur < minv[j]) { minv[j] = cur; way[j] = j0; }
                    if (minv[j] < delta) { delta = minv[j]; j1 = j; }
                }
                for (int j = 0; j <= m; j++)
                {
                    if (used[j]) { u[p[j]] += delta; v[j] -= delta; }
                    else minv[j] -= delta;
                }
                j0 = j1;
            } while (p[j0] != 0);
            do
            {
                int j1 = way[j0];
                p[j0] = p[j1];
                j0 = j1;
            } while (j0 != 0);
        }
        for (int j = 1; j <= m; j++)
        {
            if (p[j] == 0) continue;
            if (transposed) result[j - 1] = p[j] - 1;
            else result[p[j] - 1] = j - 1;
        }
        return result;
    }

    /// <summary>
    /// Maximum-weight matching of a sparse bipartite graph: only the given edges (weight &gt; 0) may be matched,
    /// every row and column at most once, and the total weight is maximal. The graph is split into connected
    /// components first (exact, since no edge joins two components), so a thousand well-separated objects cost a
    /// thousand tiny problems rather than one dense 1000x1000 one.
    /// </summary>
    public static List<(int Row, int Col)> MaxWeightMatching(int rows, int cols, IReadOnlyList<WeightedEdge> edges)
    {
        var matches = new List<(int Row, int Col)>();
        if (edges.Count == 0) return matches;
        // Union-find over rows [0, rows) and columns [rows, rows + cols).
        var parent = new int[rows + cols];
        for (int i = 0; i < parent.Length; i++) parent[i] = i;
        foreach (var e in edges)
        {
            if ((uint)e.Row >= (uint)rows || (uint)e.Col >= (uint)cols)
                throw new ArgumentOutOfRangeException(nameof(edges), $"edge ({e.Row}, {e.Col}) outside {rows}x{cols}");
            if (!(e.Weight > 0)) throw new ArgumentOutOfRangeException(nameof(edges), $"edge ({e.Row}, {e.Col}) has weight {e.Weight}; weights must be > 0");
            int a = Find(parent, e.Row), b = Find(parent, rows + e.Col);
            if (a != b) parent[a] = b;
        }
        // Group edges by component root.
        var byRoot = new Dictionary<int, List<WeightedEdge>>();
        foreach (var e in edges)
        {
            int root = Find(parent, e.Row);
            if (!byRoot.TryGetValue(root, out var list)) byRoot[root] = list = [];
            list.Add(e);
        }
        var rowIndex = new Dictionary<int, int>();
        var colIndex = new Dictionary<int, int>();
        var rowIds = new List<int>();
        var colIds = new List<int>();
        foreach (var component in byRoot.Values)
        {
            if (component.Count == 1)
            {
                matches.Add((component[0].Row, component[0].Col));
                continue;
            }
            rowIndex.Clear(); colIndex.Clear(); rowIds.Clear(); colIds.Clear();
            foreach (var e in component)
            {
                if (!rowIndex.ContainsKey(e.Row)) { rowIndex[e.Row] = rowIds.Count; rowIds.Add(e.Row); }
                if (!colIndex.ContainsKey(e.Col)) { colIndex[e.Col] = colIds.Count; colIds.Add(e.Col); }
            }
            int nr = rowIds.Count, nc = colIds.Count;
            var cost = new double[nr * nc]; // non-edges cost 0: assigning them gains nothing and they are dropped
            var isEdge = new bool[nr * nc];
            foreach (var e in component)
            {
                int k = rowIndex[e.Row] * nc + colIndex[e.Col];
                // Parallel edges: keep the best.
                if (!isEdge[k] || -e.Weight < cost[k]) cost[k] = -e.Weight;
                isEdge[k] = true;
            }
            var assigned = SolveMinCost(cost, nr, nc);
            for (int r = 0; r < nr; r++)
            {
                int c = assigned[r];
                if (c >= 0 && isEdge[r * nc + c]) matches.Add((rowIds[r], colIds[c]));
            }
        }
        return matches;
    }

    /// <summary>
    /// Matching with the largest number of pairs and, among those, the least total cost (py-motmetrics'
    /// convention for CLEAR MOT: forbidden pairs are "expensive edges" that no solution takes if it can avoid
    /// them). <paramref name="edges"/> carries costs, not weights; costs must lie in [0, <paramref name="maxCost"/>].
    /// </summary>
    public static List<(int Row, int Col)> MaxCardinalityMinCost(int rows, int cols, IReadOnlyList<WeightedEdge> edges, double maxCost)
    {
        // Weight = B - cost with B > (min(rows, cols) + 1) * maxCost: one more pair always outweighs any cost saving.
        double big = (Math.Min(rows, cols) + 1) * Math.Max(maxCost, 1e-9) + 1.0;
        var weighted = new List<WeightedEdge>(edges.Count);
        foreach (var e in edges) weighted.Add(e with { Weight = big - e.Weight });
        return MaxWeightMatching(rows, cols, weighted);
    }

    private static int Find(int[] parent, int x)
    {
        while (parent[x] != x)
        {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        return x;
    }
}
