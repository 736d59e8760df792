using Vigil.Osd;

namespace Vigil.Tests.Osd;

public class OsdRendererTests
{
    // An odd width so the buffer's pitch (64-byte aligned) differs from width*3: drawing must honour the pitch.
    private const int W = 771, H = 433;

    private static HostFrameBuffer Patterned()
    {
        var b = HostFrameBuffer.Allocate(W, H, PixelFormat.Bgr24);
        Assert.NotEqual(W * 3, b.Pitch);
        for (int y = 0; y < H; y++)
        {
            var row = b.Row(y);
            for (int x = 0; x < W * 3; x++) row[x] = (byte)(40 + (x + y) % 7);
        }
        return b;
    }

    private static byte[] Snapshot(HostFrameBuffer b)
    {
        var copy = new byte[W * 3 * H];
        for (int y = 0; y < H; y++) b.Row(y)[..(W * 3)].CopyTo(copy.AsSpan(y * W * 3));
        return copy;
    }

    private static bool Changed(HostFrameBuffer b, byte[] before, int x, int y) =>
        !b.Row(y).Slice(x * 3, 3).SequenceEqual(before.AsSpan(y * W * 3 + x * 3, 3));

    [Fact]
    public void Draw_OneBox_ChangesBorderAndCaptionOnly()
    {
        var buf = Patterned();
        try
        {
            var before = Snapshot(buf);
            var obj = new ObjectMeta { Box = new BoxF(200, 150, 120, 200), ClassId = 0, Label = "person", Confidence = 0.87f, TrackId = 12 };
            var osd = new OsdRenderer(new OsdOptions { Thickness = 2 });
            osd.Draw(buf, [obj]);

            // Every pixel of the box outline changed.
            for (int x = 200; x < 320; x++)
            {
                Assert.True(Changed(buf, before, x, 150), $"top edge ({x},150)");
                Assert.True(Changed(buf, before, x, 349), $"bottom edge ({x},349)");
            }
            for (int y = 150; y < 350; y++)
            {
                Assert.True(Changed(buf, before, 200, y), $"left edge (200,{y})");
                Assert.True(Changed(buf, before, 319, y), $"right edge (319,{y})");
            }
            // The caption sits on a filled band just above the box.
            Assert.True(Changed(buf, before, 202, 145));

            // Nothing changed outside the outline (±2 px) and the caption band above it.
            int changedElsewhere = 0;
            for (int y = 0; y < H; y++)
            {
                for (int x = 0; x < W; x++)
                {
                    bool nearOutline = x >= 197 && x <= 322 && y >= 147 && y <= 352
                        && !(x >= 203 && x <= 316 && y >= 153 && y <= 346);
                    bool captionBand = x >= 200 && x < 200 + 200 && y >= 120 && y < 150;
                    if (!nearOutline && !captionBand && Changed(buf, before, x, y)) changedElsewhere++;
                }
            }
            Assert.Equal(0, changedElsewhere);
        }
        finally
        {
            buf.Release();
        }
    }

    [Fact]
    public void Draw_Keypoints_MarksEachKeypoint()
    {
        var buf = Patterned();
        try
        {
            var before = Snapshot(buf);
            var obj = new ObjectMeta
            {
                Box = new BoxF(400, 200, 60, 60), ClassId = 0, Label = "face", Confidence = 0.95f,
                Keypoints = [(415f, 220f), (445f, 220f), (430f, 235f)],
            };
            new OsdRenderer().Draw(buf, [obj]);
            Assert.True(Changed(buf, before, 415, 220));
            Assert.True(Changed(buf, before, 445, 220));
            Assert.True(Changed(buf, before, 430, 235));
            Assert.False(Changed(buf, before, 430, 250)); // inside the box, away from keypoints and outline
        }
        finally
        {
            buf.Release();
        }
    }

    [Fact]
    public void Caption_WithTrackId_ShowsLabelConfidenceAndId()
    {
        var osd = new OsdRenderer();
        var tracked = new ObjectMeta { Box = new BoxF(0, 0, 1, 1), ClassId = 0, Label = "person", Confidence = 0.8712f, TrackId = 12 };
        var untracked = new ObjectMeta { Box = new BoxF(0, 0, 1, 1), ClassId = 2, Label = "car", Confidence = 0.5f };
        Assert.Equal("person 0.87 #12", osd.Caption(tracked));
        Assert.Equal("car 0.50", osd.Caption(untracked));
    }

    [Fact]
    public void ColorOf_DifferentTrackIds_DifferentColours()
    {
        var osd = new OsdRenderer();
        var colours = Enumerable.Range(0, 8)
            .Select(i => osd.ColorOf(new ObjectMeta { Box = default, ClassId = 0, Label = "person", Confidence = 1, TrackId = i }))
            .Distinct().Count();
        Assert.Equal(8, colours);
    }

    [Fact]
    public void Draw_BoxPartlyOutsideFrame_IsClippedWithoutError()
    {
        var buf = Patterned();
        try
        {
            var before = Snapshot(buf);
            var obj = new ObjectMeta { Box = new BoxF(-50, -40, 120, 100), ClassId = 0, Label = "person", Confidence = 0.6f };
            new OsdRenderer().Draw(buf, [obj]);
            Assert.True(Changed(buf, before, 69, 30)); // right edge of the clipped box
            Assert.False(Changed(buf, before, 500, 300));
        }
        finally
        {
            buf.Release();
        }
    }
}
