using System.Reflection;
using Vigil.Cuda;

namespace Vigil.Engine.Gpu;

/// <summary>A detection in model-input pixels (corners), as the GPU postprocessing returns it.</summary>
public readonly record struct GpuDetection(float X1, float Y1, float X2, float Y2, float Score, int ClassId);

/// <summary>
/// YOLOX postprocessing on the GPU, reading the engine's output tensor in place: grid decode, score threshold
/// (objectness x best class score), then class-aware greedy NMS per image in one block. Only the final boxes are
/// copied to the host.
/// </summary>
public sealed class YoloxGpuPostprocess : IDisposable
{
    private const int MaxCandidates = 1024;
    private readonly CudaModule _module;
    private readonly CudaKernel _decode, _nms;
    private readonly DeviceBuffer<float> _cand, _dets;
    private readonly DeviceBuffer<int> _counts, _detCounts;
    private readonly PinnedHostBuffer _hostDets, _hostCounts;
    private readonly KernelArgs _args = new(16);
    private readonly int _anchors, _rowLen, _maxBatch, _g0, _g1, _g2;

    public YoloxGpuPostprocess(CudaContext ctx, KernelCompiler compiler, int inputSize, int anchors, int rowLength, int maxBatch, int maxDetections = 100)
    {
        _g0 = inputSize / 8; _g1 = inputSize / 16; _g2 = inputSize / 32;
        if (_g0 * _g0 + _g1 * _g1 + _g2 * _g2 != anchors)
            throw new EngineException($"YOLOX output has {anchors} anchors; strides 8/16/32 at {inputSize}x{inputSize} give {_g0 * _g0 + _g1 * _g1 + _g2 * _g2}");
        _anchors = anchors; _rowLen = rowLength; _maxBatch = maxBatch; MaxDetections = maxDetections;
        _module = compiler.Load("yolox_post", KernelCompiler.ReadEmbeddedSource(Assembly.GetExecutingAssembly(), "yolox_post.cu"));
        _decode = _module.GetKernel("yolox_decode");
        _nms = _module.GetKernel("yolox_nms");
        _cand = DeviceBuffer<float>.Allocate(ctx, (long)maxBatch * MaxCandidates * 6);
        _dets = DeviceBuffer<float>.Allocate(ctx, (long)maxBatch * maxDetections * 6);
        _counts = DeviceBuffer<int>.Allocate(ctx, maxBatch);
        _detCounts = DeviceBuffer<int>.Allocate(ctx, maxBatch);
        _hostDets = new PinnedHostBuffer(ctx, (long)maxBatch * maxDetections * 6 * 4);
        _hostCounts = new PinnedHostBuffer(ctx, maxBatch * 4);
    }

    public int MaxDetections { get; }

    /// <summary>Decodes and suppresses <paramref name="batch"/> images of <paramref name="output"/> ([N, anchors, 85]) and returns each image's detections.</summary>
    public List<GpuDetection>[] Run(CudaStream stream, DeviceBuffer<float> output, int batch, float scoreThreshold, float nmsIou)
    {
        if (batch > _maxBatch) throw new ArgumentOutOfRangeException(nameof(batch));
        stream.Memset32(_counts.Pointer, 0, batch);
        _args.Clear().Add(output.Pointer).Add(batch).Add(_anchors).Add(_rowLen).Add(_g0).Add(_g1).Add(_g2).Add(scoreThreshold)
            .Add(_cand.Pointer).Add(_counts.Pointer).Add(MaxCandidates);
        _decode.Launch(stream, Dim3.CeilDiv((long)batch * _anchors, 256), 256, _args);
        _args.Clear().Add(_cand.Pointer).Add(_counts.Pointer).Add(MaxCandidates).Add(nmsIou).Add(MaxDetections).Add(_dets.Pointer).Add(_detCounts.Pointer);
        _nms.Launch(stream, (uint)batch, 1024, _args);
        _detCounts.CopyToHost(stream, _hostCounts.Pointer, batch * 4L);
        _dets.CopyToHost(stream, _hostDets.Pointer, (long)batch * MaxDetections * 6 * 4);
        stream.Synchronize();
        var counts = _hostCounts.AsSpan<int>();
        var d = _hostDets.AsSpan<float>();
        var result = new List<GpuDetection>[batch];
        for (int n = 0; n < batch; n++)
        {
            result[n] = [];
            for (int i = 0; i < counts[n]; i++)
            {
                var r = d.Slice((n * MaxDetections + i) * 6, 6);
                result[n].Add(new GpuDetection(r[0], r[1], r[2], r[3], r[4], (int)r[5]));
            }
        }
        return result;
    }

    public void Dispose()
    {
        _hostCounts.Dispose(); _hostDets.Dispose();
        _detCounts.Dispose(); _counts.Dispose(); _dets.Dispose(); _cand.Dispose();
        _module.Dispose();
        _args.Dispose();
    }
}
