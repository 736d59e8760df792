namespace Vigil.Infer;

public enum DetectorFamily { Yolox, BlazeFace }

/// <summary>
/// The model-specific parts of a detector: how its input is prepared, which tensor shapes it must have, and how
/// its raw outputs become boxes. The fixed sequence of steps lives in <see cref="Detector"/>.
/// </summary>
public interface IDetectorModel
{
    DetectorFamily Family { get; }
    IReadOnlyList<string> Labels { get; }
    float DefaultScoreThreshold { get; }
    float DefaultNmsIou { get; }

    /// <summary>Input size (width, height) the model's input tensor declares, validating its rank, layout and channels.</summary>
    /// <exception cref="VigilException">The input tensor is not what this family takes.</exception>
    (int Width, int Height) InputSize(IInferenceEngine engine);

    /// <summary>Preprocessing for an input of the given size.</summary>
    PreprocessSpec CreatePreprocessSpec(int width, int height);

    /// <summary>Checks the engine's outputs against what the decoder reads.</summary>
    /// <exception cref="VigilException">An output is missing or has the wrong shape.</exception>
    void CheckOutputs(IInferenceEngine engine, int width, int height);

    /// <summary>Decodes batch item <paramref name="item"/> of the engine's last run into final (post-NMS) detections in model pixels.</summary>
    void Decode(IInferenceEngine engine, int item, DecodeSettings settings, List<Detection> results);
}

public static class DetectorModels
{
    public static IDetectorModel Create(DetectorFamily family) => family switch
    {
        DetectorFamily.Yolox => new YoloxDecoder(),
        DetectorFamily.BlazeFace => new BlazeFaceDecoder(),
        _ => throw new ArgumentOutOfRangeException(nameof(family)),
    };

    /// <summary>Labels a family reports before a model is loaded (for option validation).</summary>
    public static IReadOnlyList<string> LabelsOf(DetectorFamily family) => family switch
    {
        DetectorFamily.Yolox => CocoLabels.Names,
        DetectorFamily.BlazeFace => BlazeFaceDecoder.FaceLabels,
        _ => throw new ArgumentOutOfRangeException(nameof(family)),
    };

    internal static string ShapeText(IReadOnlyList<long> shape) => "[" + string.Join(',', shape) + "]";
}

/// <summary>The 80 COCO class names in the order YOLOX (and most COCO detectors) number them.</summary>
public static class CocoLabels
{
    public static IReadOnlyList<string> Names { get; } =
    [
        "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
        "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
        "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
        "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
        "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
        "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
        "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
        "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
        "hair drier", "toothbrush",
    ];
}
