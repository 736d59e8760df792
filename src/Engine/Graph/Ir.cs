using System.Globalization;

namespace Vigil.Engine.Graph;

/// <summary>Element type of a tensor in Vigil's graph. Integer tensors only ever exist as constants (shapes, indices).</summary>
public enum ElementKind { Float32, Int64 }

/// <summary>A constant tensor held on the host: weights, or a folded shape computation. Dense, row-major.</summary>
public sealed class ConstTensor
{
    public ConstTensor(int[] shape, float[] data) { Shape = shape; Floats = data; Check(data.Length); }
    public ConstTensor(int[] shape, long[] data) { Shape = shape; Longs = data; Check(data.Length); }

    public int[] Shape { get; }
    public float[]? Floats { get; }
    public long[]? Longs { get; }
    public ElementKind Kind => Floats is not null ? ElementKind.Float32 : ElementKind.Int64;
    public long Count => Shapes.Count(Shape);

    public float[] AsFloats() => Floats ?? Longs!.Select(v => (float)v).ToArray();
    public long[] AsLongs() => Longs ?? Floats!.Select(v => (long)v).ToArray();

    private void Check(int length)
    {
        if (Shapes.Count(Shape) != length)
            throw new InvalidDataException($"constant of shape {Shapes.Format(Shape)} holds {length} values");
    }
}

/// <summary>One attribute of a node, as read from ONNX.</summary>
public sealed record NodeAttribute(string Name, float? F = null, long? I = null, string? S = null,
    float[]? Floats = null, long[]? Ints = null, ConstTensor? Tensor = null);

/// <summary>One operator application. Inputs and outputs are tensor names; an empty input name is an omitted optional input.</summary>
public sealed class Node
{
    public required string Name { get; set; }
    public required string OpType { get; set; }
    public List<string> Inputs { get; init; } = [];
    public List<string> Outputs { get; init; } = [];
    public Dictionary<string, NodeAttribute> Attributes { get; init; } = new(StringComparer.Ordinal);

    public long Int(string name, long fallback) => Attributes.TryGetValue(name, out var a) && a.I is long v ? v : fallback;
    public float Float(string name, float fallback) => Attributes.TryGetValue(name, out var a) && a.F is float v ? v : fallback;
    public string Str(string name, string fallback) => Attributes.TryGetValue(name, out var a) && a.S is string v ? v : fallback;
    public long[]? Ints(string name) => Attributes.TryGetValue(name, out var a) ? a.Ints : null;
    public float[]? Floats(string name) => Attributes.TryGetValue(name, out var a) ? a.Floats : null;

    /// <summary>"node 'X' (op Foo)", the prefix of every error about this node.</summary>
    public string Describe() => $"node '{Name}' (op {OpType})";

    public override string ToString() => $"{Name} [{OpType}] ({string.Join(", ", Inputs)}) -> ({string.Join(", ", Outputs)})";
}

/// <summary>A declared graph input or output.</summary>
public sealed record ValueInfo(string Name, ElementKind Kind, int[] Shape);

/// <summary>
/// Vigil's graph: nodes in topological order over named tensors, constants by name.
/// Produced by <see cref="OnnxImporter"/>, rewritten by the optimizer passes.
/// </summary>
public sealed class ModelGraph
{
    public string Name { get; set; } = "";
    public List<ValueInfo> Inputs { get; } = [];
    public List<ValueInfo> Outputs { get; } = [];
    public Dictionary<string, ConstTensor> Constants { get; } = new(StringComparer.Ordinal);
    public List<Node> Nodes { get; set; } = [];
    /// <summary>SHA-256 of the source file's bytes.</summary>
    public byte[] SourceSha256 { get; set; } = [];
    public long OpsetVersion { get; set; }

    private int _unique;

    /// <summary>A tensor name not used anywhere in the graph yet.</summary>
    public string NewName(string stem)
    {
        while (true)
        {
            string name = $"{stem}__v{_unique++}";
            if (!Constants.ContainsKey(name) && Nodes.All(n => !n.Outputs.Contains(name)))
                return name;
        }
    }

    /// <summary>Map from tensor name to the node producing it.</summary>
    public Dictionary<string, Node> Producers()
    {
        var map = new Dictionary<string, Node>(StringComparer.Ordinal);
        foreach (var n in Nodes)
            foreach (var o in n.Outputs)
                if (o.Length > 0) map[o] = n;
        return map;
    }

    /// <summary>Map from tensor name to the nodes reading it (one entry per reading input slot).</summary>
    public Dictionary<string, List<Node>> Consumers()
    {
        var map = new Dictionary<string, List<Node>>(StringComparer.Ordinal);
        foreach (var n in Nodes)
            foreach (var i in n.Inputs)
                if (i.Length > 0)
                {
                    if (!map.TryGetValue(i, out var list)) map[i] = list = [];
                    list.Add(n);
                }
        return map;
    }

    public bool IsGraphOutput(string name) => Outputs.Any(o => o.Name == name);

    public ModelGraph Clone()
    {
        var g = new ModelGraph { Name = Name, SourceSha256 = SourceSha256, OpsetVersion = OpsetVersion, _unique = _unique };
        g.Inputs.AddRange(Inputs);
        g.Outputs.AddRange(Outputs);
        foreach (var (k, v) in Constants) g.Constants[k] = v;
        foreach (var n in Nodes)
            g.Nodes.Add(new Node
            {
                Name = n.Name, OpType = n.OpType, Inputs = [.. n.Inputs], Outputs = [.. n.Outputs],
                Attributes = new Dictionary<string, NodeAttribute>(n.Attributes, StringComparer.Ordinal),
            });
        return g;
    }
}

public static class Shapes
{
    public static long Count(ReadOnlySpan<int> shape)
    {
        long c = 1;
        foreach (int d in shape) c *= d;
        return c;
    }

    public static string Format(ReadOnlySpan<int> shape)
    {
        var parts = new string[shape.Length];
        for (int i = 0; i < shape.Length; i++) parts[i] = shape[i].ToString(CultureInfo.InvariantCulture);
        return "[" + string.Join(",", parts) + "]";
    }

    /// <summary>Row-major strides of a dense tensor.</summary>
    public static long[] Strides(ReadOnlySpan<int> shape)
    {
        var s = new long[shape.Length];
        long acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
        return s;
    }

    /// <summary>Numpy-style broadcast of two shapes, or null when they do not broadcast.</summary>
    public static int[]? Broadcast(int[] a, int[] b)
    {
        int r = Math.Max(a.Length, b.Length);
        var o = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i - (r - a.Length) >= 0 ? a[i - (r - a.Length)] : 1;
            int db = i - (r - b.Length) >= 0 ? b[i - (r - b.Length)] : 1;
            if (da != db && da != 1 && db != 1) return null;
            o[i] = da == 1 ? db : da;
        }
        return o;
    }
}
