using Vigil.Tracking;
using Vigil.Tracking.Mot;

namespace Vigil.Tests.Tracking;

public class TrackerTests
{
    public static TheoryData<TrackerKind> Kinds => [TrackerKind.Iou, TrackerKind.Sort, TrackerKind.ByteTrack];

    private static ObjectMeta Person(float x, float y, float score = 0.9f) =>
        new() { Box = new BoxF(x, y, 40, 100), ClassId = 0, Label = "person", Confidence = score };

    [Fact]
    public void KalmanPredict_ConstantVelocityAfterUpdates_ExtrapolatesMotion()
    {
        foreach (var model in new[] { KalmanModel.Sort, KalmanModel.ByteTrack })
        {
            var kf = new KalmanBoxFilter(model, new BoxF(100, 50, 40, 100));
            for (int t = 1; t <= 30; t++)
            {
                kf.Predict();
                kf.Update(new BoxF(100 + 5 * t, 50 + 2 * t, 40, 100));
            }
            kf.Predict();
            var b = kf.Box;
            Assert.InRange(b.X, 100 + 5 * 31 - 1.0f, 100 + 5 * 31 + 1.0f);
            Assert.InRange(b.Y, 50 + 2 * 31 - 1.0f, 50 + 2 * 31 + 1.0f);
            Assert.InRange(b.Width, 39f, 41f);
            Assert.InRange(b.Height, 99f, 101f);
        }
    }

    [Fact]
    public void KalmanUpdate_ReducesVariance_PredictIncreasesIt()
    {
        var kf = new KalmanBoxFilter(KalmanModel.Sort, new BoxF(0, 0, 10, 20));
        double v0 = kf.PositionVariance[0];
        kf.Predict();
        double v1 = kf.PositionVariance[0];
        kf.Update(new BoxF(1, 0, 10, 20));
        double v2 = kf.PositionVariance[0];
        Assert.True(v1 > v0, $"predict should grow variance: {v0} -> {v1}");
        Assert.True(v2 < v1 && v2 < 1.0, $"update should shrink variance below R = 1: {v1} -> {v2}");
        // The estimate lies between prediction and measurement.
        Assert.InRange(kf.Mean[0], 5.0, 6.0);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Update_TwoBoxesMovingSmoothly_KeepStableDistinctIds(TrackerKind kind)
    {
        var tracker = TrackerFactory.Create(new TrackerOptions { Kind = kind });
        long? idA = null, idB = null;
        var rng = new Random(5);
        for (int f = 0; f < 100; f++)
        {
            var a = Person(10 + 3 * f + (float)rng.NextDouble(), 50);
            var b = Person(600 - 2 * f + (float)rng.NextDouble(), 80);
            var objects = new List<ObjectMeta> { b, a };
            tracker.Update(objects);
            if (f < 5) continue; // confirmation takes a few frames
            Assert.True(a.TrackId > 0 && b.TrackId > 0, $"frame {f}: ids {a.TrackId}, {b.TrackId}");
            idA ??= a.TrackId;
            idB ??= b.TrackId;
            Assert.Equal(idA, a.TrackId);
            Assert.Equal(idB, b.TrackId);
        }
        Assert.NotEqual(idA, idB);
        Assert.Equal(new long[] { 1, 2 }, new[] { idA!.Value, idB!.Value }.Order().ToArray()); // ids start at 1, no gaps
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Update_NewObject_NotReportedUntilConfirmed(TrackerKind kind)
    {
        var tracker = TrackerFactory.Create(new TrackerOptions { Kind = kind });
        var warmup = new List<ObjectMeta> { Person(0, 0) };
        for (int f = 0; f < 10; f++) { warmup = [Person(3 * f, 0)]; tracker.Update(warmup); }
        var newcomer = Person(500, 300);
        tracker.Update([Person(30, 0), newcomer]);
        Assert.Equal(-1, newcomer.TrackId); // a single sighting after the first frames is tentative for every kind
    }

    [Fact]
    public void IouTracker_GapLongerThanMaxAge_StartsNewId()
    {
        var tracker = TrackerFactory.Create(new TrackerOptions { Kind = TrackerKind.Iou, MinHits = 1, MaxAge = 1 });
        var first = Person(100, 100);
        tracker.Update([first]);
        Assert.Equal(1, first.TrackId);
        tracker.Update([]);
        var back = Person(101, 100); // one missed frame: within MaxAge, same track
        tracker.Update([back]);
        Assert.Equal(1, back.TrackId);
        tracker.Update([]);
        tracker.Update([]);
        var later = Person(102, 100); // two missed frames: track deleted
        tracker.Update([later]);
        Assert.Equal(2, later.TrackId);
    }

    [Fact]
    public void IouTracker_LowOverlap_DoesNotMatch()
    {
        var tracker = new IouTracker(new TrackerOptions { Kind = TrackerKind.Iou, MinHits = 1, MinIou = 0.5f });
        var a = tracker.Step([new Detection(new BoxF(0, 0, 10, 10), 1f)]);
        var b = tracker.Step([new Detection(new BoxF(6, 0, 10, 10), 1f)]); // IoU 4/16 = 0.25
        Assert.Equal(1, a.Single().TrackId);
        Assert.Equal(2, b.Single().TrackId);
    }

    [Fact]
    public void Update_DifferentClasses_NeverShareATrack()
    {
        var tracker = TrackerFactory.Create(new TrackerOptions { Kind = TrackerKind.Iou, MinHits = 1 });
        var person = Person(0, 0);
        tracker.Update([person]);
        var car = new ObjectMeta { Box = new BoxF(0, 0, 40, 100), ClassId = 2, Label = "car", Confidence = 0.9f };
        tracker.Update([car]);
        Assert.NotEqual(person.TrackId, car.TrackId);
    }

    [Fact]
    public void Validate_BadOptions_NamesEachOne()
    {
        var errors = new TrackerOptions { MinIou = 1.5f, MaxAge = -1, LowScore = 0.9f, HighScore = 0.5f }.Validate();
        Assert.Contains(errors, e => e.Contains("MinIou"));
        Assert.Contains(errors, e => e.Contains("MaxAge"));
        Assert.Contains(errors, e => e.Contains("LowScore"));
        Assert.Empty(new TrackerOptions().Validate());
        var ex = Assert.Throws<VigilException>(() => TrackerFactory.Create(new TrackerOptions { TrackBuffer = -3 }));
        Assert.Contains("TrackBuffer", ex.Message);
    }

    [Fact]
    public void MotFileRead_MalformedLine_ErrorNamesFileAndLine()
    {
        string path = Path.Combine(Path.GetTempPath(), $"vigil-bad-{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, "1,-1,10,20,30,40,0.9,-1,-1,-1\n2,-1,10,abc,30,40,0.9,-1,-1,-1\n");
        try
        {
            var ex = Assert.Throws<VigilException>(() => MotFile.Read(path));
            Assert.Contains($"{path}:2:", ex.Message);
            Assert.Contains("'abc'", ex.Message);
            File.WriteAllText(path, "1,-1,10,20\n");
            ex = Assert.Throws<VigilException>(() => MotFile.Read(path));
            Assert.Contains($"{path}:1: expected at least 6", ex.Message);
        }
        finally { File.Delete(path); }
        var missing = Assert.Throws<VigilException>(() => MotFile.Read("/nonexistent/det.txt"));
        Assert.Equal("/nonexistent/det.txt: file not found", missing.Message);
    }

    [Fact]
    public void MotFileWrite_ThenRead_RoundTrips()
    {
        MotRow[] rows = [new(1, 3, 10.5, 20.25, 30, 40, 1), new(2, 4, 0, 0, 5.125, 6, 1)];
        var w = new StringWriter();
        MotFile.Write(w, rows);
        Assert.Equal(rows, MotFile.Parse(new StringReader(w.ToString()), "mem"));
    }

    [Theory]
    [InlineData(TrackerKind.Sort)]
    [InlineData(TrackerKind.ByteTrack)]
    public void Update_AppearanceWeight_PrefersDetectionWithSameEmbedding(TrackerKind kind)
    {
        float[] e1 = [1, 0, 0], e2 = [0, 1, 0];
        foreach (var (weight, expectShifted) in new[] { (0f, false), (0.5f, true) })
        {
            var tracker = TrackerFactory.Create(new TrackerOptions { Kind = kind, MinHits = 1, AppearanceWeight = weight });
            var first = Person(100, 100);
            first.Embedding = e1;
            tracker.Update([first]);
            Assert.Equal(1, first.TrackId);
            var same = Person(100, 100);     // same place, other appearance
            same.Embedding = e2;
            var shifted = Person(104, 100);  // IoU 0.82, same appearance
            shifted.Embedding = e1;
            tracker.Update([same, shifted]);
            Assert.Equal(1, expectShifted ? shifted.TrackId : same.TrackId);
        }
    }
}
