namespace Vigil;

/// <summary>An axis-aligned box in frame pixels: top-left corner plus size.</summary>
public readonly record struct BoxF(float X, float Y, float Width, float Height)
{
    public float Right => X + Width;
    public float Bottom => Y + Height;
    public float CenterX => X + Width * 0.5f;
    public float CenterY => Y + Height * 0.5f;
    public float Area => Width > 0 && Height > 0 ? Width * Height : 0f;

    public static BoxF FromCorners(float x1, float y1, float x2, float y2) => new(x1, y1, x2 - x1, y2 - y1);

    /// <summary>Intersection over union; 0 when either box is empty.</summary>
    public static float IoU(in BoxF a, in BoxF b)
    {
        float ix = MathF.Max(0f, MathF.Min(a.Right, b.Right) - MathF.Max(a.X, b.X));
        float iy = MathF.Max(0f, MathF.Min(a.Bottom, b.Bottom) - MathF.Max(a.Y, b.Y));
        float inter = ix * iy;
        float union = a.Area + b.Area - inter;
        return union > 0f ? inter / union : 0f;
    }

    public BoxF Clip(float width, float height)
    {
        float x1 = Math.Clamp(X, 0, width), y1 = Math.Clamp(Y, 0, height);
        float x2 = Math.Clamp(Right, 0, width), y2 = Math.Clamp(Bottom, 0, height);
        return FromCorners(x1, y1, x2, y2);
    }
}
