namespace Vigil.Infer;

public enum TensorLayout { Nchw, Nhwc }

public enum TensorElementType { Float32, Float16 }

public enum ChannelOrder { Rgb, Bgr }

public enum ResizeMode
{
    /// <summary>Scale to fit keeping the aspect ratio, pad the rest.</summary>
    Letterbox,
    /// <summary>Scale each axis independently to the model size.</summary>
    Stretch,
}

public enum LetterboxAnchor
{
    /// <summary>Image at the top-left corner, padding right and bottom (YOLOX).</summary>
    TopLeft,
    /// <summary>Image centred, padding split on both sides.</summary>
    Center,
}

/// <summary>
/// How a frame becomes a model input tensor. The CPU preprocessing and the fused GPU kernel both implement
/// exactly this definition, in 32-bit float, so their outputs can be compared sample by sample:
/// <list type="number">
/// <item>Source colour: a BGR24 pixel as is; an NV12 pixel converted with the stream's <see cref="ColorMatrix"/>
/// from its own Y and the UV pair at (x/2, y/2) (nearest chroma), clamped to [0,255], not rounded.</item>
/// <item>For model pixel (ox, oy) inside the resized region of <see cref="TransformFor"/>:
/// <c>sx = (ox - OffsetX + 0.5) / ScaleX - 0.5</c> (likewise sy), clamped to [0, srcW-1] / [0, srcH-1];
/// <c>x0 = floor(sx), x1 = min(x0+1, srcW-1), fx = sx - x0</c>; value = bilinear blend of the 4 source colours
/// <c>(1-fy)*((1-fx)*p00 + fx*p10) + fy*((1-fx)*p01 + fx*p11)</c>. Outside the region: <see cref="PadValue"/>.</item>
/// <item><c>out[c] = (value[c] - Mean[c]) * Scale[c]</c>, channels in <see cref="Channels"/> order (Mean/Scale
/// indexed in that output order), written in <see cref="Layout"/> as <see cref="ElementType"/>.</item>
/// </list>
/// </summary>
public sealed record PreprocessSpec
{
    public required int Width { get; init; }
    public required int Height { get; init; }
    public ResizeMode Resize { get; init; } = ResizeMode.Letterbox;
    public LetterboxAnchor Anchor { get; init; } = LetterboxAnchor.TopLeft;
    public float PadValue { get; init; } = 114f;
    public ChannelOrder Channels { get; init; } = ChannelOrder.Bgr;
    public float[] Mean { get; init; } = [0f, 0f, 0f];
    public float[] Scale { get; init; } = [1f, 1f, 1f];

    /// <summary>The range of the values this preprocessing writes (pixels 0..255 through <see cref="Mean"/> and <see cref="Scale"/>, and the pad value).</summary>
    public (float Low, float High) OutputRange()
    {
        float lo = float.MaxValue, hi = float.MinValue;
        for (int c = 0; c < Mean.Length; c++)
            foreach (float v in new[] { 0f, 255f, PadValue })
            {
                float o = (v - Mean[c]) * Scale[c];
                lo = Math.Min(lo, o);
                hi = Math.Max(hi, o);
            }
        return (lo, hi);
    }
    public TensorLayout Layout { get; init; } = TensorLayout.Nchw;
    public TensorElementType ElementType { get; init; } = TensorElementType.Float32;

    /// <summary>Elements of one image in the tensor.</summary>
    public int ElementsPerImage => Width * Height * 3;

    /// <summary>Where a source image of the given size lands inside the model input.</summary>
    public LetterboxTransform TransformFor(int srcWidth, int srcHeight)
    {
        if (Resize == ResizeMode.Stretch)
            return new LetterboxTransform((float)Width / srcWidth, (float)Height / srcHeight, 0, 0, Width, Height);
        float r = MathF.Min((float)Width / srcWidth, (float)Height / srcHeight);
        int w = Math.Max(1, (int)MathF.Round(srcWidth * r));
        int h = Math.Max(1, (int)MathF.Round(srcHeight * r));
        int ox = Anchor == LetterboxAnchor.Center ? (Width - w) / 2 : 0;
        int oy = Anchor == LetterboxAnchor.Center ? (Height - h) / 2 : 0;
        return new LetterboxTransform((float)w / srcWidth, (float)h / srcHeight, ox, oy, w, h);
    }
}

/// <summary>
/// Maps between source-frame pixels and model-input pixels: <c>model = src * scale + offset</c>,
/// the resized image occupying <c>[OffsetX, OffsetX + ResizedWidth)</c>.
/// </summary>
public readonly record struct LetterboxTransform(float ScaleX, float ScaleY, int OffsetX, int OffsetY, int ResizedWidth, int ResizedHeight)
{
    public BoxF ToSource(in BoxF modelBox) => new(
        (modelBox.X - OffsetX) / ScaleX, (modelBox.Y - OffsetY) / ScaleY,
        modelBox.Width / ScaleX, modelBox.Height / ScaleY);
}
