using System.Buffers.Binary;
using System.Security.Cryptography;
using Google.Protobuf;
using Vigil.Engine.Onnx.Proto;

namespace Vigil.Engine.Graph;

/// <summary>Reads an ONNX file (protobuf parsed by Google.Protobuf from our onnx.proto) into a <see cref="ModelGraph"/>.</summary>
public static class OnnxImporter
{
    public static ModelGraph Load(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (IOException ex) { throw new EngineException($"{path}: cannot read the model: {ex.Message}", ex); }
        return Parse(bytes, path);
    }

    public static ModelGraph Parse(byte[] bytes, string sourceName)
    {
        ModelProto model;
        try { model = ModelProto.Parser.ParseFrom(bytes); }
        catch (InvalidProtocolBufferException ex)
        {
            throw new EngineException($"{sourceName}: not a valid ONNX model (protobuf parse failed: {ex.Message})", ex);
        }
        if (model.Graph is null || model.Graph.Node.Count == 0)
            throw new EngineException($"{sourceName}: not a valid ONNX model (no graph or an empty graph)");

        var g = new ModelGraph { Name = model.Graph.Name, SourceSha256 = SHA256.HashData(bytes) };
        g.OpsetVersion = model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(13).Max();

        foreach (var t in model.Graph.Initializer)
            g.Constants[t.Name] = ReadTensor(t, $"{sourceName}: initializer '{t.Name}'");

        foreach (var vi in model.Graph.Input)
        {
            if (g.Constants.ContainsKey(vi.Name)) continue; // old exporters list initializers as inputs too
            g.Inputs.Add(ReadValueInfo(vi, sourceName, "input"));
        }
        foreach (var vi in model.Graph.Output)
            g.Outputs.Add(ReadValueInfo(vi, sourceName, "output"));

        int index = 0;
        foreach (var n in model.Graph.Node)
        {
            string name = n.Name.Length > 0 ? n.Name : $"{n.OpType}_{index}";
            index++;
            if (n.Domain is not ("" or "ai.onnx"))
                throw new EngineException($"{sourceName}: node '{name}' (op {n.Domain}.{n.OpType}): operator not supported by Vigil's engine (domain '{n.Domain}')");
            var node = new Node { Name = name, OpType = n.OpType, Inputs = [.. n.Input], Outputs = [.. n.Output] };
            foreach (var a in n.Attribute)
                node.Attributes[a.Name] = ReadAttribute(a, $"{sourceName}: node '{name}' (op {n.OpType}) attribute '{a.Name}'");
            g.Nodes.Add(node);
        }
        return g;
    }

    private static ValueInfo ReadValueInfo(ValueInfoProto vi, string source, string what)
    {
        var tt = vi.Type?.TensorType ?? throw new EngineException($"{source}: graph {what} '{vi.Name}' is not a tensor");
        var kind = tt.ElemType switch
        {
            (int)TensorProto.Types.DataType.Float => ElementKind.Float32,
            (int)TensorProto.Types.DataType.Int64 or (int)TensorProto.Types.DataType.Int32 => ElementKind.Int64,
            _ => throw new EngineException($"{source}: graph {what} '{vi.Name}' has element type {tt.ElemType}; the engine takes float32 inputs and outputs"),
        };
        int[] shape = tt.Shape is null ? [] : tt.Shape.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? checked((int)d.DimValue) : -1).ToArray();
        return new ValueInfo(vi.Name, kind, shape);
    }

    private static NodeAttribute ReadAttribute(AttributeProto a, string where) => a.Type switch
    {
        AttributeProto.Types.AttributeType.Float => new NodeAttribute(a.Name, F: a.F),
        AttributeProto.Types.AttributeType.Int => new NodeAttribute(a.Name, I: a.I),
        AttributeProto.Types.AttributeType.String => new NodeAttribute(a.Name, S: a.S.ToStringUtf8()),
        AttributeProto.Types.AttributeType.Floats => new NodeAttribute(a.Name, Floats: [.. a.Floats]),
        AttributeProto.Types.AttributeType.Ints => new NodeAttribute(a.Name, Ints: [.. a.Ints]),
        AttributeProto.Types.AttributeType.Tensor => new NodeAttribute(a.Name, Tensor: ReadTensor(a.T, where)),
        AttributeProto.Types.AttributeType.Strings => new NodeAttribute(a.Name, S: string.Join(",", a.Strings.Select(s => s.ToStringUtf8()))),
        // Old exporters leave the type unset; infer it from the populated field.
        AttributeProto.Types.AttributeType.Undefined when a.Ints.Count > 0 => new NodeAttribute(a.Name, Ints: [.. a.Ints]),
        AttributeProto.Types.AttributeType.Undefined when a.Floats.Count > 0 => new NodeAttribute(a.Name, Floats: [.. a.Floats]),
        AttributeProto.Types.AttributeType.Undefined when a.T is not null => new NodeAttribute(a.Name, Tensor: ReadTensor(a.T, where)),
        AttributeProto.Types.AttributeType.Undefined when !a.S.IsEmpty => new NodeAttribute(a.Name, S: a.S.ToStringUtf8()),
        AttributeProto.Types.AttributeType.Undefined => new NodeAttribute(a.Name, I: a.I, F: a.F),
        _ => throw new EngineException($"{where}: attribute type {a.Type} is not supported"),
    };

    /// <summary>Reads a tensor from raw_data (little-endian) or the typed repeated fields.</summary>
    public static ConstTensor ReadTensor(TensorProto t, string where)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
            throw new EngineException($"{where}: external tensor data is not supported (save the model with weights inside)");
        int[] shape = t.Dims.Select(d => checked((int)d)).ToArray();
        long count = Shapes.Count(shape);
        var raw = t.RawData.Span;
        bool hasRaw = !t.RawData.IsEmpty;
        var dt = (TensorProto.Types.DataType)t.DataType;

        ConstTensor Fail(string why) => throw new EngineException($"{where}: {why}");

        switch (dt)
        {
            case TensorProto.Types.DataType.Float:
            {
                var f = new float[count];
                if (hasRaw)
                {
                    if (raw.Length != count * 4) return Fail($"raw_data holds {raw.Length} bytes, shape {Shapes.Format(shape)} needs {count * 4}");
                    for (int i = 0; i < count; i++) f[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(i * 4)..]);
                }
                else
                {
                    if (t.FloatData.Count != count) return Fail($"float_data holds {t.FloatData.Count} values, shape {Shapes.Format(shape)} needs {count}");
                    t.FloatData.CopyTo(f, 0);
                }
                return new ConstTensor(shape, f);
            }
            case TensorProto.Types.DataType.Float16:
            {
                var f = new float[count];
                if (hasRaw)
                {
                    if (raw.Length != count * 2) return Fail($"raw_data holds {raw.Length} bytes, shape {Shapes.Format(shape)} needs {count * 2}");
                    for (int i = 0; i < count; i++) f[i] = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..]));
                }
                else
                {
                    if (t.Int32Data.Count != count) return Fail($"int32_data holds {t.Int32Data.Count} values, needs {count}");
                    for (int i = 0; i < count; i++) f[i] = (float)BitConverter.UInt16BitsToHalf((ushort)t.Int32Data[i]);
                }
                return new ConstTensor(shape, f);
            }
            case TensorProto.Types.DataType.Double:
            {
                var f = new float[count];
                if (hasRaw)
                {
                    if (raw.Length != count * 8) return Fail($"raw_data holds {raw.Length} bytes, needs {count * 8}");
                    for (int i = 0; i < count; i++) f[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw[(i * 8)..]);
                }
                else
                {
                    if (t.DoubleData.Count != count) return Fail($"double_data holds {t.DoubleData.Count} values, needs {count}");
                    for (int i = 0; i < count; i++) f[i] = (float)t.DoubleData[i];
                }
                return new ConstTensor(shape, f);
            }
            case TensorProto.Types.DataType.Int64:
            case TensorProto.Types.DataType.Int32:
            case TensorProto.Types.DataType.Int16:
            case TensorProto.Types.DataType.Int8:
            case TensorProto.Types.DataType.Uint8:
            case TensorProto.Types.DataType.Uint16:
            case TensorProto.Types.DataType.Uint32:
            case TensorProto.Types.DataType.Bool:
            {
                var l = new long[count];
                int size = dt switch
                {
                    TensorProto.Types.DataType.Int64 => 8,
                    TensorProto.Types.DataType.Int32 or TensorProto.Types.DataType.Uint32 => 4,
                    TensorProto.Types.DataType.Int16 or TensorProto.Types.DataType.Uint16 => 2,
                    _ => 1,
                };
                if (hasRaw)
                {
                    if (raw.Length != count * size) return Fail($"raw_data holds {raw.Length} bytes, shape {Shapes.Format(shape)} needs {count * size}");
                    for (int i = 0; i < count; i++)
                    {
                        var s = raw[(i * size)..];
                        l[i] = dt switch
                        {
                            TensorProto.Types.DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(s),
                            TensorProto.Types.DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(s),
                            TensorProto.Types.DataType.Uint32 => BinaryPrimitives.ReadUInt32LittleEndian(s),
                            TensorProto.Types.DataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(s),
                            TensorProto.Types.DataType.Uint16 => BinaryPrimitives.ReadUInt16LittleEndian(s),
                            TensorProto.Types.DataType.Int8 => (sbyte)s[0],
                            _ => s[0],
                        };
                    }
                }
                else if (dt == TensorProto.Types.DataType.Int64)
                {
                    if (t.Int64Data.Count != count) return Fail($"int64_data holds {t.Int64Data.Count} values, needs {count}");
                    t.Int64Data.CopyTo(l, 0);
                }
                else
                {
                    if (t.Int32Data.Count != count) return Fail($"int32_data holds {t.Int32Data.Count} values, needs {count}");
                    for (int i = 0; i < count; i++) l[i] = t.Int32Data[i];
                }
                return new ConstTensor(shape, l);
            }
            default:
                return Fail($"tensor element type {dt} is not supported");
        }
    }
}
