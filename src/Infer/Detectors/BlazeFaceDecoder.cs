namespace Vigil.Infer;

/// <summary>
/// MediaPipe BlazeFace short-range ("front", 128x128) face detector: input NHWC RGB, letterboxed centred with
/// black padding; outputs score logits and regressions for two anchor levels (a W/8 grid with 2 anchors per
/// cell, a W/16 grid with 6), found by shape (<c>[N,A,1]</c> scores, <c>[N,A,16]</c> regressions). Regression
/// <c>x, y, w, h</c> then 6 keypoint pairs, in input pixels relative to the anchor centre. Overlaps are merged by
/// weighted NMS (<see cref="Nms.Weighted"/>), as MediaPipe does.
/// <para>Input range, established on sample-videos/messi5.jpg (test
/// <c>BlazeFaceRange_OnMessi_MinusOneToOneIsTheRange</c>): with [-1, 1] the face scores 0.9+ and the box sits on
/// the face; [0, 1] gives a weaker, shifted response and [0, 255] saturates. So the model takes [-1, 1] like the
/// original MediaPipe model: <c>(v - 127.5) / 127.5</c>.</para>
/// </summary>
public sealed class BlazeFaceDecoder : IDetectorModel
{
    public static IReadOnlyList<string> FaceLabels { get; } = ["face"];
    public const int KeypointCount = 6;
    private const int RegressionSize = 4 + 2 * KeypointCount;

    private readonly float _mean, _scale;
    private readonly List<Detection> _candidates = [];
    private Level[] _levels = [];
    private int _width, _height;

    public BlazeFaceDecoder() : this(127.5f, 1f / 127.5f) { }

    /// <summary>With an explicit input range mapping <c>(v - mean) * scale</c> (used to establish the range).</summary>
    internal BlazeFaceDecoder(float mean, float scale)
    {
        _mean = mean;
        _scale = scale;
    }

    public DetectorFamily Family => DetectorFamily.BlazeFace;
    public IReadOnlyList<string> Labels => FaceLabels;
    public float DefaultScoreThreshold => 0.5f;
    public float DefaultNmsIou => 0.3f;

    private readonly record struct Level(int Grid, int AnchorsPerCell, int ScoreOutput, int RegressionOutput)
    {
        public int Count => Grid * Grid * AnchorsPerCell;
    }

    public (int Width, int Height) InputSize(IInferenceEngine engine)
    {
        if (engine.Inputs.Count != 1)
            throw new VigilException($"{engine.ModelPath}: a blazeface model has one input; this one has {engine.Inputs.Count}");
        var d = engine.Inputs[0];
        if (d.Shape.Count != 4 || d.Shape[3] != 3)
            throw new VigilException($"{engine.ModelPath}: input '{d.Name}' has shape {DetectorModels.ShapeText(d.Shape)}; a blazeface model takes NHWC [N,H,W,3] (3 channels)");
        return (checked((int)d.Shape[2]), checked((int)d.Shape[1]));
    }

    public PreprocessSpec CreatePreprocessSpec(int width, int height) => new()
    {
        Width = width,
        Height = height,
        Resize = ResizeMode.Letterbox,
        Anchor = LetterboxAnchor.Center,
        PadValue = 0f,
        Channels = ChannelOrder.Rgb,
        Mean = [_mean, _mean, _mean],
        Scale = [_scale, _scale, _scale],
        Layout = TensorLayout.Nhwc,
        ElementType = TensorElementType.Float32,
    };

    public void CheckOutputs(IInferenceEngine engine, int width, int height)
    {
        if (width != height)
            throw new VigilException($"{engine.ModelPath}: blazeface input must be square; it is {width}x{height}");
        var wanted = new (int Grid, int PerCell)[] { (width / 8, 2), (width / 16, 6) };
        var levels = new Level[wanted.Length];
        for (int l = 0; l < wanted.Length; l++)
        {
            int count = wanted[l].Grid * wanted[l].Grid * wanted[l].PerCell;
            int score = FindOutput(engine, count, 1), reg = FindOutput(engine, count, RegressionSize);
            if (score < 0 || reg < 0)
                throw new VigilException($"{engine.ModelPath}: a {width}x{height} blazeface model needs outputs [N,{count},1] and [N,{count},{RegressionSize}]; it has {string.Join(", ", engine.Outputs)}");
            levels[l] = new Level(wanted[l].Grid, wanted[l].PerCell, score, reg);
        }
        _levels = levels;
        _width = width;
        _height = height;
    }

    private static int FindOutput(IInferenceEngine engine, int anchors, int last)
    {
        for (int i = 0; i < engine.Outputs.Count; i++)
        {
            var s = engine.Outputs[i].Shape;
            if (s.Count == 3 && s[1] == anchors && s[2] == last) return i;
        }
        return -1;
    }

    public void Decode(IInferenceEngine engine, int item, DecodeSettings settings, List<Detection> results)
    {
        _candidates.Clear();
        if (!settings.Keeps(0)) return;
        foreach (var level in _levels)
        {
            var scores = engine.OutputBuffer(level.ScoreOutput).Span.Slice(item * level.Count, level.Count);
            var regs = engine.OutputBuffer(level.RegressionOutput).Span.Slice(item * level.Count * RegressionSize, level.Count * RegressionSize);
            int a = 0;
            for (int row = 0; row < level.Grid; row++)
            {
                for (int col = 0; col < level.Grid; col++)
                {
                    float ax = (col + 0.5f) / level.Grid * _width;
                    float ay = (row + 0.5f) / level.Grid * _height;
                    for (int k = 0; k < level.AnchorsPerCell; k++, a++)
                    {
                        float score = 1f / (1f + MathF.Exp(-Math.Clamp(scores[a], -100f, 100f)));
                        if (score < settings.ScoreThreshold) continue;
                        var r = regs.Slice(a * RegressionSize, RegressionSize);
                        float cx = ax + r[0], cy = ay + r[1], w = r[2], h = r[3];
                        var kp = new float[2 * KeypointCount];
                        for (int p = 0; p < KeypointCount; p++)
                        {
                            kp[2 * p] = ax + r[4 + 2 * p];
                            kp[2 * p + 1] = ay + r[5 + 2 * p];
                        }
                        _candidates.Add(new Detection(new BoxF(cx - w * 0.5f, cy - h * 0.5f, w, h), 0, score, kp));
                    }
                }
            }
        }
        Nms.Weighted(_candidates, settings.NmsIou, settings.MaxDetections, results);
    }
}
