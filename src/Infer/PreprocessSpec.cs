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
/// exactly this description, so their outputs can be compared sample by sample:
/// <c>out[c] = (pixel[c] - Mean[c]) * Scale[c]</c>, with bilinear sampling (pixel centres at +0.5,
/// edge samples clamped) and <see cref="PadValue"/> (before mean and scale) outside the resized image.
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
