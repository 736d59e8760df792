using System.Security.Cryptography;
using System.Text;
using Vigil.Engine.Graph;

namespace Vigil.Engine.Plan;

public enum PlanPrecision : byte { Fp32 = 0, Fp16 = 1, /* reserved for calibrated INT8 */ Int8 = 2 }

/// <summary>How a constant is stored in the plan: FP32, FP16 (weights of FP16 plans), or INT8 with per-channel scales (reserved).</summary>
public enum ConstStorage : byte { Fp32 = 0, Fp16 = 1, Int8 = 2, Int64 = 3 }

/// <summary>What a plan was built for and with. A plan only loads where GPU, compute capability and library versions match.</summary>
public sealed record PlanHeader
{
    public required string GpuName { get; init; }
    public required int ComputeMajor { get; init; }
    public required int ComputeMinor { get; init; }
    /// <summary>CUDA driver API version (e.g. 13000).</summary>
    public required int CudaDriverVersion { get; init; }
    /// <summary>NVRTC version "13.0" (kernels are compiled with it).</summary>
    public required string NvrtcVersion { get; init; }
    /// <summary>cuDNN version used by the chosen tactics ("9.14.0"), or "none" when no layer runs a cuDNN tactic.</summary>
    public required string CudnnVersion { get; init; }
    /// <summary>cuBLAS version used by the chosen tactics ("13.0.2"), or "none" when no layer runs a cuBLAS tactic.</summary>
    public string CublasVersion { get; init; } = "none";
    public required byte[] ModelSha256 { get; init; }
    public required string ModelName { get; init; }
    public required PlanPrecision Precision { get; init; }
    public required int BatchMin { get; init; }
    public required int BatchOpt { get; init; }
    public required int BatchMax { get; init; }
    public DateTimeOffset BuiltAt { get; init; } = DateTimeOffset.UtcNow;
    public double BuildSeconds { get; init; }
}

/// <summary>A plan: header, layer program with chosen tactics, constants in their stored precision, INT8 scales (empty until INT8 lands).</summary>
public sealed class PlanModel
{
    public required PlanHeader Header { get; init; }
    public required LayerProgram Program { get; init; }
    /// <summary>Storage of each program constant.</summary>
    public required ConstStorage[] ConstantStorage { get; init; }
    /// <summary>Per-tensor INT8 scales by tensor name (room for calibrated INT8; empty for FP32/FP16 plans).</summary>
    public Dictionary<string, float> Int8Scales { get; init; } = new(StringComparer.Ordinal);
    /// <summary>Generated CUDA source of the plan's kernels (compiled with NVRTC at load, cubins cached on disk).</summary>
    public string KernelSource { get; init; } = "";
}

/// <summary>
/// Vigil's plan file: "VIGILPLN", format version (u32), then the body written with <see cref="BinaryWriter"/>, then a
/// SHA-256 of everything before it. A truncated or corrupt file fails the checksum and is refused with a clear message.
/// Version 2 added the cuBLAS version to the header (library tactics); version 1 files are refused (rebuild them).
/// </summary>
public static class PlanFile
{
    public const uint FormatVersion = 2;
    private static readonly byte[] s_magic = "VIGILPLN"u8.ToArray();

    public static void Save(PlanModel plan, string path)
    {
        var bytes = Serialize(plan);
        string tmp = path + ".tmp";
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, path, overwrite: true);
    }

    public static byte[] Serialize(PlanModel plan)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(s_magic);
            w.Write(FormatVersion);
            var h = plan.Header;
            w.Write(h.GpuName); w.Write(h.ComputeMajor); w.Write(h.ComputeMinor); w.Write(h.CudaDriverVersion);
            w.Write(h.NvrtcVersion); w.Write(h.CudnnVersion); w.Write(h.CublasVersion);
            w.Write(h.ModelSha256.Length); w.Write(h.ModelSha256); w.Write(h.ModelName);
            w.Write((byte)h.Precision); w.Write(h.BatchMin); w.Write(h.BatchOpt); w.Write(h.BatchMax);
            w.Write(h.BuiltAt.ToUnixTimeMilliseconds()); w.Write(h.BuildSeconds);

            var p = plan.Program;
            w.Write(p.ArenaPerSample);
            w.Write(p.Buffers.Count);
            foreach (var b in p.Buffers) { w.Write(b.SampleSize); w.Write(b.Offset); w.Write(b.Fp32); }
            WriteIO(w, p.Inputs); WriteIO(w, p.Outputs);
            w.Write(p.Layers.Count);
            foreach (var l in p.Layers)
            {
                w.Write(l.Name); w.Write((int)l.Kind);
                WriteRefs(w, l.Inputs); WriteRefs(w, l.Outputs);
                w.Write(l.I.Length); foreach (var v in l.I) w.Write(v);
                w.Write(l.F.Length); foreach (var v in l.F) w.Write(v);
                w.Write(l.Tactic); w.Write(l.TacticMicroseconds);
            }
            w.Write(p.Constants.Count);
            for (int i = 0; i < p.Constants.Count; i++)
            {
                var c = p.Constants[i];
                var storage = plan.ConstantStorage[i];
                w.Write(p.ConstantNames[i]);
                WriteShape(w, c.Shape);
                w.Write((byte)storage);
                switch (storage)
                {
                    case ConstStorage.Fp32: foreach (var v in c.AsFloats()) w.Write(v); break;
                    case ConstStorage.Fp16: foreach (var v in c.AsFloats()) w.Write((Half)v); break;
                    case ConstStorage.Int64: foreach (var v in c.AsLongs()) w.Write(v); break;
                    default: throw new NotSupportedException($"constant storage {storage} is reserved for INT8 plans");
                }
            }
            w.Write(plan.Int8Scales.Count);
            foreach (var (k, v) in plan.Int8Scales) { w.Write(k); w.Write(v); }
            w.Write(plan.KernelSource);
        }
        var body = ms.ToArray();
        return [.. body, .. SHA256.HashData(body)];
    }

    public static PlanModel Load(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (IOException ex) { throw new EngineException($"{path}: cannot read the plan: {ex.Message}", ex); }
        return Deserialize(bytes, path);
    }

    public static PlanModel Deserialize(byte[] bytes, string source)
    {
        if (bytes.Length < s_magic.Length + 4 + 32 || !bytes.AsSpan(0, s_magic.Length).SequenceEqual(s_magic))
            throw new EngineException($"{source}: not a Vigil plan file (bad magic or too short)");
        uint version = BitConverter.ToUInt32(bytes, s_magic.Length);
        if (version != FormatVersion)
            throw new EngineException($"{source}: plan format version {version}, this Vigil reads version {FormatVersion}; rebuild the plan with 'vigil build'");
        var body = bytes.AsSpan(0, bytes.Length - 32);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - 32)))
            throw new EngineException($"{source}: plan file is corrupt or truncated (checksum mismatch); rebuild it with 'vigil build'");
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes, 0, bytes.Length - 32), Encoding.UTF8);
            r.ReadBytes(s_magic.Length); r.ReadUInt32();
            var header = new PlanHeader
            {
                GpuName = r.ReadString(), ComputeMajor = r.ReadInt32(), ComputeMinor = r.ReadInt32(), CudaDriverVersion = r.ReadInt32(),
                NvrtcVersion = r.ReadString(), CudnnVersion = r.ReadString(), CublasVersion = r.ReadString(),
                ModelSha256 = r.ReadBytes(r.ReadInt32()), ModelName = r.ReadString(),
                Precision = (PlanPrecision)r.ReadByte(), BatchMin = r.ReadInt32(), BatchOpt = r.ReadInt32(), BatchMax = r.ReadInt32(),
                BuiltAt = DateTimeOffset.FromUnixTimeMilliseconds(r.ReadInt64()), BuildSeconds = r.ReadDouble(),
            };
            var p = new LayerProgram { ArenaPerSample = r.ReadInt64() };
            int nb = r.ReadInt32();
            for (int i = 0; i < nb; i++) p.Buffers.Add(new BufferInfo(r.ReadInt64(), r.ReadInt64(), r.ReadBoolean()));
            p.Inputs.AddRange(ReadIO(r)); p.Outputs.AddRange(ReadIO(r));
            int nl = r.ReadInt32();
            for (int i = 0; i < nl; i++)
            {
                string name = r.ReadString();
                var kind = (LayerKind)r.ReadInt32();
                var ins = ReadRefs(r); var outs = ReadRefs(r);
                var I = new long[r.ReadInt32()]; for (int k = 0; k < I.Length; k++) I[k] = r.ReadInt64();
                var F = new float[r.ReadInt32()]; for (int k = 0; k < F.Length; k++) F[k] = r.ReadSingle();
                p.Layers.Add(new Layer { Name = name, Kind = kind, Inputs = ins, Outputs = outs, I = I, F = F, Tactic = r.ReadString(), TacticMicroseconds = r.ReadSingle() });
            }
            int nc = r.ReadInt32();
            var storage = new ConstStorage[nc];
            for (int i = 0; i < nc; i++)
            {
                p.ConstantNames.Add(r.ReadString());
                var shape = ReadShape(r);
                storage[i] = (ConstStorage)r.ReadByte();
                long count = Shapes.Count(shape);
                switch (storage[i])
                {
                    case ConstStorage.Fp32: { var f = new float[count]; for (long k = 0; k < count; k++) f[k] = r.ReadSingle(); p.Constants.Add(new ConstTensor(shape, f)); break; }
                    case ConstStorage.Fp16: { var f = new float[count]; for (long k = 0; k < count; k++) f[k] = (float)r.ReadHalf(); p.Constants.Add(new ConstTensor(shape, f)); break; }
                    case ConstStorage.Int64: { var l = new long[count]; for (long k = 0; k < count; k++) l[k] = r.ReadInt64(); p.Constants.Add(new ConstTensor(shape, l)); break; }
                    default: throw new EngineException($"{source}: constant storage {storage[i]} is not supported by this Vigil");
                }
            }
            var scales = new Dictionary<string, float>(StringComparer.Ordinal);
            int ns = r.ReadInt32();
            for (int i = 0; i < ns; i++) scales[r.ReadString()] = r.ReadSingle();
            string kernels = r.ReadString();
            return new PlanModel { Header = header, Program = p, ConstantStorage = storage, Int8Scales = scales, KernelSource = kernels };
        }
        catch (EndOfStreamException ex)
        {
            throw new EngineException($"{source}: plan file is inconsistent (ends early although its checksum matches)", ex);
        }
    }

    /// <summary>
    /// Refuses a plan built for another GPU or library version, naming both. <paramref name="cudnnVersion"/> and
    /// <paramref name="cublasVersion"/> are the libraries loadable here ("none"/"unavailable" when not; null = not
    /// checked); a plan whose tactics recorded a library version needs exactly that version.
    /// </summary>
    public static void EnsureCompatible(PlanHeader h, string source, string gpuName, int ccMajor, int ccMinor, int driverVersion, string nvrtcVersion,
        string? cudnnVersion = null, string? cublasVersion = null)
    {
        string built = $"{h.GpuName} (sm_{h.ComputeMajor}{h.ComputeMinor}, CUDA driver {FormatCuda(h.CudaDriverVersion)}, NVRTC {h.NvrtcVersion})";
        string here = $"{gpuName} (sm_{ccMajor}{ccMinor}, CUDA driver {FormatCuda(driverVersion)}, NVRTC {nvrtcVersion})";
        if (h.GpuName != gpuName || h.ComputeMajor != ccMajor || h.ComputeMinor != ccMinor || h.CudaDriverVersion != driverVersion || h.NvrtcVersion != nvrtcVersion)
            throw new EngineException($"{source}: the plan was built for {built} and cannot run on {here}; rebuild it with 'vigil build' on this machine");
        EnsureLibrary(source, "cuDNN", h.CudnnVersion, cudnnVersion);
        EnsureLibrary(source, "cuBLAS", h.CublasVersion, cublasVersion);
    }

    private static void EnsureLibrary(string source, string library, string built, string? here)
    {
        if (here is null || built == "none" || built == here) return;
        string found = here is "none" or "unavailable" ? $"{library} cannot be loaded here" : $"this machine has {library} {here}";
        throw new EngineException($"{source}: the plan's tactics were built with {library} {built}, but {found}; rebuild it with 'vigil build' on this machine");
    }

    public static string FormatCuda(int v) => $"{v / 1000}.{v % 1000 / 10}";

    /// <summary>The plan in words, for 'vigil inspect'.</summary>
    public static string Describe(PlanModel plan, long fileBytes)
    {
        var h = plan.Header;
        var p = plan.Program;
        var sb = new StringBuilder();
        sb.AppendLine($"Vigil plan, format version {FormatVersion}, {fileBytes:N0} bytes");
        sb.AppendLine($"  model:       {h.ModelName} (sha256 {Convert.ToHexStringLower(h.ModelSha256)})");
        sb.AppendLine($"  built for:   {h.GpuName}, compute capability {h.ComputeMajor}.{h.ComputeMinor}, CUDA driver {FormatCuda(h.CudaDriverVersion)}, NVRTC {h.NvrtcVersion}, cuDNN {h.CudnnVersion}, cuBLAS {h.CublasVersion}");
        sb.AppendLine($"  built at:    {h.BuiltAt:u} in {h.BuildSeconds:F1} s");
        sb.AppendLine($"  precision:   {h.Precision}");
        sb.AppendLine($"  batch:       min {h.BatchMin}, opt {h.BatchOpt}, max {h.BatchMax}");
        foreach (var i in p.Inputs) sb.AppendLine($"  input:       {i.Name} [N,{string.Join(",", i.Ref.Shape)}] float32");
        foreach (var o in p.Outputs) sb.AppendLine($"  output:      {o.Name} [N,{string.Join(",", o.Ref.Shape)}] float32");
        long weightBytes = 0;
        for (int i = 0; i < p.Constants.Count; i++)
            weightBytes += p.Constants[i].Count * plan.ConstantStorage[i] switch { ConstStorage.Fp16 => 2, ConstStorage.Int8 => 1, ConstStorage.Int64 => 8, _ => 4 };
        sb.AppendLine($"  weights:     {p.Constants.Count} constants, {weightBytes:N0} bytes");
        int elem = h.Precision == PlanPrecision.Fp16 ? 2 : 4;
        sb.AppendLine($"  activations: {p.Buffers.Count} buffers in one arena of {p.ArenaPerSample * elem:N0} bytes per image ({p.ArenaPerSample * elem * h.BatchMax / 1048576.0:F1} MiB at batch {h.BatchMax})");
        var wide = p.Layers.Where(l => l.Outputs.Any(o => !o.IsConst && p.Buffers[o.Buffer].Fp32)).Select(l => l.Name).ToList();
        if (h.Precision == PlanPrecision.Fp16)
            sb.AppendLine($"  kept in FP32 (FP16 would overflow): {(wide.Count == 0 ? "none" : string.Join(", ", wide))}");
        sb.AppendLine($"  INT8 scales: {(plan.Int8Scales.Count == 0 ? "none" : plan.Int8Scales.Count.ToString())}");
        var library = p.Layers.Where(l => Gpu.LibraryTactics.IsLibrary(l.Tactic)).ToList();
        sb.AppendLine(library.Count == 0 ? "  tactics:     NVRTC kernels only"
            : $"  tactics:     {library.Count} layers on library tactics ({string.Join(", ", library.GroupBy(l => l.Tactic).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} x{g.Count()}"))}), {p.Layers.Count - library.Count} on NVRTC kernels");
        sb.AppendLine($"  layers ({p.Layers.Count}):");
        sb.Append(p.Describe());
        return sb.ToString();
    }

    private static void WriteShape(BinaryWriter w, int[] s) { w.Write(s.Length); foreach (var d in s) w.Write(d); }
    private static int[] ReadShape(BinaryReader r) { var s = new int[r.ReadInt32()]; for (int i = 0; i < s.Length; i++) s[i] = r.ReadInt32(); return s; }
    private static void WriteRefs(BinaryWriter w, TensorRef[] refs)
    {
        w.Write(refs.Length);
        foreach (var t in refs) { w.Write(t.Buffer); w.Write(t.Offset); w.Write(t.Const); WriteShape(w, t.Shape); }
    }
    private static TensorRef[] ReadRefs(BinaryReader r)
    {
        var a = new TensorRef[r.ReadInt32()];
        for (int i = 0; i < a.Length; i++) { int b = r.ReadInt32(); long off = r.ReadInt64(); int c = r.ReadInt32(); a[i] = new TensorRef(b, off, ReadShape(r), c); }
        return a;
    }
    private static void WriteIO(BinaryWriter w, List<ProgramIO> io)
    {
        w.Write(io.Count);
        foreach (var x in io) { w.Write(x.Name); WriteRefs(w, [x.Ref]); }
    }
    private static IEnumerable<ProgramIO> ReadIO(BinaryReader r)
    {
        int n = r.ReadInt32();
        var list = new List<ProgramIO>();
        for (int i = 0; i < n; i++) list.Add(new ProgramIO(r.ReadString(), ReadRefs(r)[0]));
        return list;
    }
}
