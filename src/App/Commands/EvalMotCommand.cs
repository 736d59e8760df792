using System.CommandLine;
using System.Globalization;
using Vigil.Tracking.Mot;

namespace Vigil.App.Commands;

/// <summary><c>vigil eval-mot --gt DIR --tracks DIR</c>: CLEAR MOT, identity and HOTA metrics for MOTChallenge files.</summary>
internal static class EvalMotCommand
{
    public static Command Create()
    {
        var gt = new Option<DirectoryInfo>("--gt") { Description = "Ground-truth folder: <SEQ>/gt.txt or <SEQ>/gt/gt.txt per sequence", Required = true };
        var tracks = new Option<DirectoryInfo>("--tracks") { Description = "Tracker output folder: <SEQ>.txt per sequence", Required = true };
        var minConf = new Option<double>("--min-gt-confidence")
        {
            Description = "Drop ground-truth rows whose column 7 is below this. Default -1 keeps all rows (py-motmetrics' default); 1 ignores zero-flagged rows (MOTChallenge / TrackEval convention)",
            DefaultValueFactory = _ => -1,
        };
        var iou = new Option<double>("--iou") { Description = "Minimum IoU for a CLEAR MOT / ID match (py-motmetrics distth = 1 - iou)", DefaultValueFactory = _ => 0.5 };
        var digits = new Option<int>("--digits") { Description = "Decimals of the percentages (MOTP gets two more)", DefaultValueFactory = _ => 1 };
        var command = new Command("eval-mot", "Evaluate tracker output against MOTChallenge ground truth: CLEAR MOT (py-motmetrics conventions), IDF1, HOTA (TrackEval)");
        command.Options.Add(gt);
        command.Options.Add(tracks);
        command.Options.Add(minConf);
        command.Options.Add(iou);
        command.Options.Add(digits);
        command.SetAction(parse =>
        {
            try
            {
                var options = new MotEvaluationOptions
                {
                    MinGtConfidence = parse.GetValue(minConf),
                    MaxIouDistance = 1 - CheckIou(parse.GetValue(iou)),
                };
                int d = parse.GetValue(digits);
                if (d is < 0 or > 10) throw new VigilException($"--digits {d} must be in [0, 10]");
                Console.Out.Write(Run(parse.GetValue(gt)!, parse.GetValue(tracks)!, options, d));
                return 0;
            }
            catch (VigilException e)
            {
                Console.Error.WriteLine($"vigil eval-mot: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    private static double CheckIou(double iou) =>
        iou is > 0 and <= 1 ? iou : throw new VigilException($"--iou {iou.ToString(CultureInfo.InvariantCulture)} must be in (0, 1]");

    /// <summary>Evaluates every sequence of <paramref name="gtDir"/> that has a tracker file; returns the table text.</summary>
    internal static string Run(DirectoryInfo gtDir, DirectoryInfo tracksDir, MotEvaluationOptions options, int digits = 1)
    {
        if (!gtDir.Exists) throw new VigilException($"{gtDir.FullName}: ground-truth folder not found");
        if (!tracksDir.Exists) throw new VigilException($"{tracksDir.FullName}: tracks folder not found");
        var results = new List<(string Name, MotCounts Counts)>();
        foreach (var seq in gtDir.GetDirectories().OrderBy(d => d.Name, StringComparer.Ordinal))
        {
            string gtFile = Path.Combine(seq.FullName, "gt.txt");
            if (!File.Exists(gtFile)) gtFile = Path.Combine(seq.FullName, "gt", "gt.txt");
            if (!File.Exists(gtFile)) continue;
            string trackFile = Path.Combine(tracksDir.FullName, seq.Name + ".txt");
            if (!File.Exists(trackFile))
            {
                Console.Error.WriteLine($"vigil eval-mot: {trackFile}: no tracker output for sequence {seq.Name}, skipped");
                continue;
            }
            results.Add((seq.Name, MotEvaluator.Evaluate(MotFile.Read(gtFile), MotFile.Read(trackFile), options)));
        }
        if (results.Count == 0)
            throw new VigilException($"{gtDir.FullName}: no sequence with both <SEQ>/gt.txt (or <SEQ>/gt/gt.txt) and {tracksDir.FullName}/<SEQ>.txt");
        var rows = results.Select(r => (r.Name, r.Counts.ToMetrics())).ToList();
        rows.Add(("OVERALL", MotCounts.Sum(results.Select(r => r.Counts)).ToMetrics()));
        return FormatTable(rows, digits);
    }

    /// <summary>py-motmetrics' MOTChallenge layout: ratios in percent, MOTP as mean 1 - IoU.</summary>
    internal static string FormatTable(IReadOnlyList<(string Name, MotMetrics M)> rows, int digits = 1)
    {
        string[] head = ["IDF1", "IDP", "IDR", "Rcll", "Prcn", "GT", "MT", "PT", "ML", "FP", "FN", "IDs", "FM", "MOTA", "MOTP", "HOTA", "DetA", "AssA"];
        string pf = digits == 0 ? "0" : "0." + new string('0', digits), mf = "0." + new string('0', digits + 2);
        string P(double v) => double.IsNaN(v) ? "nan" : (v * 100).ToString(pf, CultureInfo.InvariantCulture) + "%";
        var table = new List<string[]>();
        table.Add(["", .. head]);
        foreach (var (name, m) in rows)
        {
            table.Add([name, P(m.Idf1), P(m.Idp), P(m.Idr), P(m.Recall), P(m.Precision),
                m.GroundTruthIds.ToString(CultureInfo.InvariantCulture), m.MostlyTracked.ToString(CultureInfo.InvariantCulture),
                m.PartiallyTracked.ToString(CultureInfo.InvariantCulture), m.MostlyLost.ToString(CultureInfo.InvariantCulture),
                m.FalsePositives.ToString(CultureInfo.InvariantCulture), m.Misses.ToString(CultureInfo.InvariantCulture),
                m.Switches.ToString(CultureInfo.InvariantCulture), m.Fragmentations.ToString(CultureInfo.InvariantCulture),
                P(m.Mota), double.IsNaN(m.Motp) ? "nan" : m.Motp.ToString(mf, CultureInfo.InvariantCulture),
                P(m.Hota), P(m.DetA), P(m.AssA)]);
        }
        var widths = Enumerable.Range(0, head.Length + 1).Select(c => table.Max(r => r[c].Length)).ToArray();
        var sb = new System.Text.StringBuilder();
        foreach (var r in table)
        {
            sb.Append(r[0].PadRight(widths[0]));
            for (int c = 1; c < r.Length; c++) sb.Append(' ').Append(r[c].PadLeft(widths[c]));
            sb.Append('\n');
        }
        return sb.ToString();
    }
}
