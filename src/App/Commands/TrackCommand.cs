using System.CommandLine;
using Vigil.Tracking;
using Vigil.Tracking.Mot;

namespace Vigil.App.Commands;

/// <summary><c>vigil track --det det.txt --tracker bytetrack</c>: runs a tracker over MOTChallenge detections.</summary>
internal static class TrackCommand
{
    public static Command Create()
    {
        var d = new TrackerOptions();
        var det = new Option<FileInfo>("--det") { Description = "MOTChallenge detection file (frame,-1,left,top,width,height,score,...)", Required = true };
        var kind = new Option<string>("--tracker") { Description = "Tracker: iou, sort or bytetrack", DefaultValueFactory = _ => "bytetrack" };
        kind.AcceptOnlyFromAmong("iou", "sort", "bytetrack");
        var output = new Option<FileInfo?>("--out") { Description = "Output file (MOTChallenge format); standard output when absent" };
        var gt = new Option<FileInfo?>("--gt") { Description = "Ground truth to evaluate the output against (prints the metrics table to standard error)" };
        var box = new Option<string>("--box") { Description = "Box to write: track (Kalman estimate for sort/bytetrack) or detection", DefaultValueFactory = _ => "track" };
        box.AcceptOnlyFromAmong("track", "detection");
        var minScore = new Option<float>("--min-score") { Description = "Ignore detections scoring below this", DefaultValueFactory = _ => d.MinScore };
        var minIou = new Option<float>("--min-iou") { Description = "iou/sort: minimum IoU of a match", DefaultValueFactory = _ => d.MinIou };
        var minHits = new Option<int>("--min-hits") { Description = "iou/sort: consecutive matches before a track is reported", DefaultValueFactory = _ => d.MinHits };
        var maxAge = new Option<int>("--max-age") { Description = "iou/sort: frames a track survives unmatched", DefaultValueFactory = _ => d.MaxAge };
        var high = new Option<float>("--high-score") { Description = "bytetrack: first-association score threshold", DefaultValueFactory = _ => d.HighScore };
        var low = new Option<float>("--low-score") { Description = "bytetrack: second-association score threshold", DefaultValueFactory = _ => d.LowScore };
        var newTrack = new Option<float>("--new-track-score") { Description = "bytetrack: score needed to start a track", DefaultValueFactory = _ => d.NewTrackScore };
        var match = new Option<float>("--match-distance") { Description = "bytetrack: first-association distance limit (1 - IoU x score)", DefaultValueFactory = _ => d.MatchDistance };
        var byteHits = new Option<int>("--bytetrack-min-hits") { Description = "bytetrack: consecutive matches before a track is first reported (1 = paper)", DefaultValueFactory = _ => d.ByteTrackMinHits };
        var buffer = new Option<int>("--track-buffer") { Description = "bytetrack: frames a lost track is kept", DefaultValueFactory = _ => d.TrackBuffer };
        var minGtConf = new Option<double>("--min-gt-confidence") { Description = "With --gt: drop ground-truth rows whose column 7 is below this (1 ignores zero-flagged rows)", DefaultValueFactory = _ => -1 };

        var command = new Command("track", "Run a tracker (the pipeline's tracker code) over MOTChallenge detections and write MOTChallenge output");
        foreach (var o in new Option[] { det, kind, output, gt, box, minScore, minIou, minHits, maxAge, high, low, newTrack, match, byteHits, buffer, minGtConf })
            command.Options.Add(o);
        command.SetAction(parse =>
        {
            try
            {
                TrackerFactory.TryParseKind(parse.GetValue(kind), out var k);
                var options = new TrackerOptions
                {
                    Kind = k,
                    MinScore = parse.GetValue(minScore),
                    MinIou = parse.GetValue(minIou),
                    MinHits = parse.GetValue(minHits),
                    MaxAge = parse.GetValue(maxAge),
                    HighScore = parse.GetValue(high),
                    LowScore = parse.GetValue(low),
                    NewTrackScore = parse.GetValue(newTrack),
                    MatchDistance = parse.GetValue(match),
                    TrackBuffer = parse.GetValue(buffer),
                    ByteTrackMinHits = parse.GetValue(byteHits),
                };
                var errors = options.Validate();
                if (errors.Count > 0) throw new VigilException(string.Join("; ", errors));
                var detections = MotFile.Read(parse.GetValue(det)!.FullName);
                var result = MotTrackRunner.Run(detections, options, parse.GetValue(box) == "detection");
                var outFile = parse.GetValue(output);
                if (outFile is null) MotFile.Write(Console.Out, result);
                else
                {
                    try
                    {
                        using var writer = new StreamWriter(outFile.FullName);
                        MotFile.Write(writer, result);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        throw new VigilException($"{outFile.FullName}: cannot write: {e.Message}", e);
                    }
                }
                var gtFile = parse.GetValue(gt);
                if (gtFile is not null)
                {
                    var counts = MotEvaluator.Evaluate(MotFile.Read(gtFile.FullName), result, new MotEvaluationOptions { MinGtConfidence = parse.GetValue(minGtConf) });
                    Console.Error.Write(EvalMotCommand.FormatTable([(Path.GetFileNameWithoutExtension(parse.GetValue(det)!.Name), counts.ToMetrics())]));
                }
                return 0;
            }
            catch (VigilException e)
            {
                Console.Error.WriteLine($"vigil track: {e.Message}");
                return 1;
            }
        });
        return command;
    }
}
