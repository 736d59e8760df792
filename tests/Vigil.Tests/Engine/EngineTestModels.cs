using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Vigil.Tests.Engine;

/// <summary>Locates the real models (models/ in the repository, else ../shared/models) and runs ONNX Runtime as the reference.</summary>
internal static class EngineTestModels
{
    public const string Yolox = "yolox_nano_416x416.onnx";
    public const string Reid = "person-reidentification-retail-0287.onnx";
    public const string BlazeFace = "blazeface_front_128x128.onnx";

    public static string PathOf(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "Vigil.slnx"))) continue;
            foreach (var candidate in new[] { Path.Combine(dir.FullName, "models", name), Path.Combine(dir.FullName, "..", "shared", "models", name), Path.Combine(dir.FullName, "..", "..", "shared", "models", name) })
                if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"model {name} not found: run models/fetch.sh");
    }

    /// <summary>Deterministic pseudo-random input in [lo, hi).</summary>
    public static float[] RandomInput(int count, int seed, float lo, float hi)
    {
        var rng = new Random(seed);
        var a = new float[count];
        for (int i = 0; i < a.Length; i++) a[i] = lo + (float)rng.NextDouble() * (hi - lo);
        return a;
    }

    /// <summary>Runs ONNX Runtime (CPU) at batch 1 and returns every output in graph order.</summary>
    public static float[][] RunOrt(string path, string inputName, int[] shape, float[] data)
    {
        using var opts = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var session = new InferenceSession(path, opts);
        var tensor = new DenseTensor<float>(data, shape);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(inputName, tensor)]);
        return session.OutputMetadata.Keys.Select(k => results.First(r => r.Name == k).AsTensor<float>().ToArray()).ToArray();
    }

    public static double RelativeL2(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        if (actual.Length != expected.Length) throw new ArgumentException($"lengths differ: {actual.Length} vs {expected.Length}");
        double num = 0, den = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            if (float.IsNaN(actual[i])) return double.PositiveInfinity;
            double d = actual[i] - expected[i];
            num += d * d;
            den += (double)expected[i] * expected[i];
        }
        return Math.Sqrt(num / Math.Max(den, 1e-30));
    }
}
