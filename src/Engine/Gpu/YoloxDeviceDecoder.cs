using Vigil.Cuda;
using Vigil.Infer;

namespace Vigil.Engine.Gpu;

/// <summary>
/// The detector's YOLOX postprocessing on the GPU for the plan engine: <see cref="YoloxGpuPostprocess"/> reads the
/// engine's output tensor in place and only the final boxes come back. Class filtering and the per-image cap are
/// applied to those boxes (NMS is per class, so filtering after it gives the same result as before it).
/// </summary>
public sealed class YoloxDeviceDecoder : IDeviceDetectionDecoder
{
    private readonly GpuEngine _engine;
    private readonly YoloxGpuPostprocess _post;
    private readonly CudaStream _stream;

    public YoloxDeviceDecoder(CudaContext context, KernelCompiler compiler, GpuEngine engine, int inputSize, int maxDetections)
    {
        var shape = engine.Plan.Program.Outputs[0].Ref.Shape;
        if (shape.Length != 2)
            throw new EngineException($"YOLOX output has shape [{string.Join(',', shape)}] per image; [anchors, 5 + classes] expected");
        _engine = engine;
        _post = new YoloxGpuPostprocess(context, compiler, inputSize, shape[0], shape[1], engine.MaxBatch, Math.Min(maxDetections, 1000));
        _stream = context.CreateStream();
    }

    public void Decode(int batch, DecodeSettings settings, List<Detection>[] results)
    {
        var found = _post.Run(_stream, _engine.Outputs[0], batch, settings.ScoreThreshold, settings.NmsIou);
        for (int n = 0; n < batch; n++)
        {
            var list = results[n];
            list.Clear();
            foreach (var d in found[n].OrderByDescending(d => d.Score))
            {
                if (!settings.Keeps(d.ClassId)) continue;
                list.Add(new Detection(BoxF.FromCorners(d.X1, d.Y1, d.X2, d.Y2), d.ClassId, d.Score));
                if (list.Count >= settings.MaxDetections) break;
            }
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        _post.Dispose();
    }
}
