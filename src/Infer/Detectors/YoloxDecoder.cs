namespace Vigil.Infer;

/// <summary>
/// YOLOX (anchor-free, exported with the decode head removed): input NCHW BGR 0..255 letterboxed top-left with
/// pad 114; output <c>[N, cells, 5 + classes]</c> over strides 8, 16, 32, each level row-major. Per cell
/// <c>x, y, w, h, objectness, class scores</c> (probabilities). Box: <c>cx = (x + gx) * s</c>, <c>w = exp(w) * s</c>.
/// Score = objectness * best class score (one box per cell, as YOLOX's own postprocess does); the class filter
/// applies to that best class; then greedy NMS per class or class-agnostic.
/// </summary>
public sealed class YoloxDecoder : IDetectorModel
{
    private static readonly int[] Strides = [8, 16, 32];
    private readonly List<Detection> _candidates = [];
    private int _width, _height, _classes = CocoLabels.Names.Count;
    private IReadOnlyList<string> _labels = CocoLabels.Names;

    public DetectorFamily Family => DetectorFamily.Yolox;
    public IReadOnlyList<string> Labels => _labels;
    public float DefaultScoreThreshold => 0.3f;
    public float DefaultNmsIou => 0.45f;

    public (int Width, int Height) InputSize(IInferenceEngine engine)
    {
        if (engine.Inputs.Count != 1)
            throw new VigilException($"{engine.ModelPath}: a yolox model has one input; this one has {engine.Inputs.Count}");
        var d = engine.Inputs[0];
        if (d.Shape.Count != 4 || d.Shape[1] != 3)
            throw new VigilException($"{engine.ModelPath}: input '{d.Name}' has shape {DetectorModels.ShapeText(d.Shape)}; a yolox model takes NCHW [N,3,H,W] (3 channels)");
        return (checked((int)d.Shape[3]), checked((int)d.Shape[2]));
    }

    public PreprocessSpec CreatePreprocessSpec(int width, int height) => new()
    {
        Width = width,
        Height = height,
        Resize = ResizeMode.Letterbox,
        Anchor = LetterboxAnchor.TopLeft,
        PadValue = 114f,
        Channels = ChannelOrder.Bgr,
        Layout = TensorLayout.Nchw,
        ElementType = TensorElementType.Float32,
    };

    /// <summary>Number of grid cells over the three strides for an input size.</summary>
    public static int CellCount(int width, int height) => Strides.Sum(s => (width / s) * (height / s));

    public void CheckOutputs(IInferenceEngine engine, int width, int height)
    {
        if (engine.Outputs.Count != 1)
            throw new VigilException($"{engine.ModelPath}: a yolox model has one output; this one has {engine.Outputs.Count}");
        var d = engine.Outputs[0];
        int cells = CellCount(width, height);
        if (d.Shape.Count != 3 || d.Shape[1] != cells || d.Shape[2] < 6)
            throw new VigilException($"{engine.ModelPath}: output '{d.Name}' has shape {DetectorModels.ShapeText(d.Shape)}; expected [N,{cells},5+classes] for a {width}x{height} yolox input");
        _width = width;
        _height = height;
        _classes = checked((int)d.Shape[2]) - 5;
        _labels = _classes == CocoLabels.Names.Count ? CocoLabels.Names : Enumerable.Range(0, _classes).Select(i => $"class{i}").ToArray();
    }

    public void Decode(IInferenceEngine engine, int item, DecodeSettings settings, List<Detection> results)
    {
        int stride = 5 + _classes;
        int cells = CellCount(_width, _height);
        var data = engine.OutputBuffer(0).Span.Slice(item * cells * stride, cells * stride);
        _candidates.Clear();
        int cell = 0;
        foreach (int s in Strides)
        {
            int gw = _width / s, gh = _height / s;
            for (int gy = 0; gy < gh; gy++)
            {
                for (int gx = 0; gx < gw; gx++, cell++)
                {
                    var v = data.Slice(cell * stride, stride);
                    float obj = v[4];
                    if (obj < settings.ScoreThreshold) continue; // class scores are <= 1, so the product cannot pass
                    int best = 0;
                    float bestScore = v[5];
                    for (int c = 1; c < _classes; c++)
                        if (v[5 + c] > bestScore) { bestScore = v[5 + c]; best = c; }
                    float score = obj * bestScore;
                    if (score < settings.ScoreThreshold || !settings.Keeps(best)) continue;
                    float cx = (v[0] + gx) * s, cy = (v[1] + gy) * s;
                    float w = MathF.Exp(v[2]) * s, h = MathF.Exp(v[3]) * s;
                    _candidates.Add(new Detection(new BoxF(cx - w * 0.5f, cy - h * 0.5f, w, h), best, score));
                }
            }
        }
        Nms.Greedy(_candidates, settings.NmsIou, settings.ClassAgnosticNms, settings.MaxDetections, results);
    }
}
