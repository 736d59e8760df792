using OpenCvSharp;
using OpenCvSharp.Dnn;
using Vigil.Infer;

namespace Vigil.Tests.Infer;

public class YoloxDecoderTests
{
    private static string Yolox => InferTestMedia.Model("yolox_nano_416x416.onnx");

    private static Frame FrameOf(HostFrameBuffer b, long n = 0) => new(InferTestMedia.Stream(b.Width, b.Height), n, n, TimeSpan.Zero, b);

    /// <summary>
    /// Independent decode of YOLOX's raw output: the grid is built as YOLOX's own export does (meshgrid per stride,
    /// concatenated), the score is objectness times the best class, and suppression is OpenCV's
    /// <c>cv::dnn::NMSBoxes</c> per class. Returns boxes in model pixels.
    /// </summary>
    private static List<(int Class, float Score, Rect2d Box)> ReferenceDecode(ReadOnlySpan<float> raw, float scoreThr, float iouThr)
    {
        var grids = new List<(int Gx, int Gy, int Stride)>();
        foreach (int stride in new[] { 8, 16, 32 })
        {
            int n = 416 / stride;
            for (int gy = 0; gy < n; gy++)
                for (int gx = 0; gx < n; gx++)
                    grids.Add((gx, gy, stride));
        }
        Assert.Equal(3549, grids.Count);

        var candidates = new List<(int Class, float Score, Rect2d Box)>();
        for (int i = 0; i < grids.Count; i++)
        {
            var row = raw.Slice(i * 85, 85);
            var classes = row[5..].ToArray();
            float best = classes.Max();
            int cls = Array.IndexOf(classes, best);
            float score = row[4] * best;
            if (score < scoreThr) continue;
            var (gx, gy, s) = grids[i];
            double cx = (row[0] + gx) * s, cy = (row[1] + gy) * s;
            double w = Math.Exp(row[2]) * s, h = Math.Exp(row[3]) * s;
            candidates.Add((cls, score, new Rect2d(cx - w / 2, cy - h / 2, w, h)));
        }

        var kept = new List<(int, float, Rect2d)>();
        foreach (var group in candidates.GroupBy(c => c.Class))
        {
            var list = group.ToList();
            CvDnn.NMSBoxes(list.Select(c => c.Box), list.Select(c => c.Score), scoreThr, iouThr, out int[] idx);
            kept.AddRange(idx.Select(k => list[k]));
        }
        return kept;
    }

    [Fact]
    public void Decode_VtestFrame_MatchesIndependentDecodeAndOpenCvNms()
    {
        var buffers = InferTestMedia.DecodeFrames(InferTestMedia.Media("vtest.mp4"), 1, 768, 576);
        using var frame = FrameOf(buffers[0]);
        using var det = Detector.Create(new DetectorOptions { ModelPath = Yolox, Threads = 2 });
        det.Process([frame]);

        // Re-decode the same raw output with Vigil's decoder (model pixels) and independently.
        var decoder = new YoloxDecoder();
        decoder.CheckOutputs(det.Engine, 416, 416);
        var ours = new List<Detection>();
        decoder.Decode(det.Engine, 0, new DecodeSettings(0.3f, 0.45f, false, null, 1000), ours);
        var reference = ReferenceDecode(det.Engine.OutputBuffer(0).Span[..(3549 * 85)], 0.3f, 0.45f);

        TestContext.Current.TestOutputHelper?.WriteLine($"vigil {ours.Count} boxes, reference {reference.Count}");
        Assert.True(reference.Count >= 3, "the frame has several people");
        Assert.Equal(reference.Count, ours.Count);
        foreach (var r in reference)
        {
            var match = ours.Where(o => o.ClassId == r.Class && Math.Abs(o.Score - r.Score) < 1e-6f)
                .OrderBy(o => Math.Abs(o.Box.X - r.Box.X) + Math.Abs(o.Box.Y - r.Box.Y)).FirstOrDefault();
            Assert.True(match.Score > 0, $"no Vigil box for reference class {r.Class} score {r.Score}");
            Assert.Equal(r.Box.X, match.Box.X, 1e-3);
            Assert.Equal(r.Box.Y, match.Box.Y, 1e-3);
            Assert.Equal(r.Box.Width, match.Box.Width, 1e-3);
            Assert.Equal(r.Box.Height, match.Box.Height, 1e-3);
        }

        // The frame's objects are the same boxes mapped back to frame pixels: 768x576 -> 416x312, r = 416/768.
        Assert.Equal(ours.Count, frame.Objects.Count);
        float r416 = 416f / 768f;
        foreach (var o in frame.Objects)
        {
            var m = ours.Single(d => d.Score == o.Confidence && d.ClassId == o.ClassId);
            var expected = new BoxF(m.Box.X / r416, m.Box.Y / r416, m.Box.Width / r416, m.Box.Height / r416).Clip(768, 576);
            Assert.Equal(expected.X, o.Box.X, 0.05f);
            Assert.Equal(expected.Y, o.Box.Y, 0.05f);
            Assert.Equal(expected.Right, o.Box.Right, 0.05f);
            Assert.Equal(expected.Bottom, o.Box.Bottom, 0.05f);
        }
    }

    [Fact]
    public void Process_ClassFilter_KeepsExactlyTheUnfilteredPersons()
    {
        var buffers = InferTestMedia.DecodeFrames(InferTestMedia.Media("vtest.mp4"), 1, 768, 576);
        using var all = FrameOf(buffers[0]);
        using var persons = FrameOf((HostFrameBuffer)buffers[0].AddRef());
        using (var det = Detector.Create(new DetectorOptions { ModelPath = Yolox, Threads = 2, ScoreThreshold = 0.1f }))
            det.Process([all]);
        using (var det = Detector.Create(new DetectorOptions { ModelPath = Yolox, Threads = 2, ScoreThreshold = 0.1f, Classes = ["0"] }))
            det.Process([persons]);
        Assert.All(persons.Objects, o => Assert.Equal(0, o.ClassId));
        var expected = all.Objects.Where(o => o.ClassId == 0).Select(o => (o.Box, o.Confidence)).ToList();
        Assert.Equal(expected, persons.Objects.Select(o => (o.Box, o.Confidence)).ToList());
        Assert.NotEmpty(expected);
    }

    [Fact]
    public void Process_BatchOfThree_SameAsOneByOne()
    {
        var buffers = InferTestMedia.DecodeFrames(InferTestMedia.Media("vtest.mp4"), 30, 768, 576);
        var picked = new[] { buffers[0], buffers[14], buffers[29] };
        foreach (var b in buffers.Except(picked)) b.Release();
        var batched = picked.Select((b, i) => FrameOf((HostFrameBuffer)b.AddRef(), i)).ToList();
        var single = picked.Select((b, i) => FrameOf(b, i)).ToList();
        try
        {
            using (var det = Detector.Create(new DetectorOptions { ModelPath = Yolox, Threads = 2, MaxBatch = 3 }))
            {
                det.Process(batched);
                Assert.Equal(1, det.Timings.Batches);
            }
            using (var det = Detector.Create(new DetectorOptions { ModelPath = Yolox, Threads = 2, MaxBatch = 1 }))
            {
                foreach (var f in single) det.Process([f]);
                Assert.Equal(3, det.Timings.Batches);
            }
            for (int i = 0; i < 3; i++)
                Assert.Equal(single[i].Objects.Select(o => (o.Box, o.ClassId, o.Confidence)), batched[i].Objects.Select(o => (o.Box, o.ClassId, o.Confidence)));
            Assert.NotEqual(batched[0].Objects.Select(o => o.Box), batched[2].Objects.Select(o => o.Box));
        }
        finally
        {
            foreach (var f in batched.Concat(single)) f.Dispose();
        }
    }

    [Fact]
    public void Greedy_OverlappingBoxes_KeepsHighestPerClassOrAcrossClasses()
    {
        var a = new Detection(new BoxF(0, 0, 10, 10), 0, 0.9f);
        var b = new Detection(new BoxF(1, 1, 10, 10), 0, 0.8f);   // IoU with a = 81/119 = 0.68
        var c = new Detection(new BoxF(1, 0, 10, 10), 1, 0.85f);  // other class, IoU with a = 0.82
        var d = new Detection(new BoxF(50, 50, 10, 10), 0, 0.4f); // far away
        var perClass = new List<Detection>();
        Nms.Greedy([a, b, c, d], 0.45f, classAgnostic: false, 100, perClass);
        Assert.Equal([a, c, d], perClass);
        var agnostic = new List<Detection>();
        Nms.Greedy([a, b, c, d], 0.45f, classAgnostic: true, 100, agnostic);
        Assert.Equal([a, d], agnostic);
    }

    [Fact]
    public void Weighted_Cluster_AveragesByScore()
    {
        var a = new Detection(new BoxF(0, 0, 10, 10), 0, 0.75f, [5f, 5f]);
        var b = new Detection(new BoxF(2, 2, 10, 10), 0, 0.25f, [9f, 9f]);
        var far = new Detection(new BoxF(40, 40, 10, 10), 0, 0.6f, [45f, 45f]);
        var kept = new List<Detection>();
        Nms.Weighted([b, far, a], 0.3f, 100, kept);
        Assert.Equal(2, kept.Count);
        Assert.Equal(0.75f, kept[0].Score);
        Assert.Equal(0.5f, kept[0].Box.X, 1e-5f);   // 0*0.75 + 2*0.25
        Assert.Equal(10.5f, kept[0].Box.Right, 1e-5f);
        Assert.Equal([6f, 6f], kept[0].Keypoints!);
        Assert.Equal(far.Box, kept[1].Box);
    }
}
