using Google.Protobuf;
using Vigil.Engine.Onnx.Proto;

namespace Vigil.Tests.Engine;

/// <summary>Small ONNX models built in code (with the same generated protobuf classes the importer uses).</summary>
internal static class SyntheticModels
{
    public static TensorProto Floats(string name, int[] dims, float[] values, bool raw = true)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims.Select(d => (long)d));
        if (raw)
        {
            var bytes = new byte[values.Length * 4];
            Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
            t.RawData = ByteString.CopyFrom(bytes);
        }
        else t.FloatData.AddRange(values);
        return t;
    }

    public static ValueInfoProto Value(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }

    public static AttributeProto Ints(string name, params long[] v)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(v);
        return a;
    }

    public static AttributeProto Float(string name, float v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = v };

    public static NodeProto Node(string name, string op, string[] inputs, string[] outputs, params AttributeProto[] attrs)
    {
        var n = new NodeProto { Name = name, OpType = op };
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        n.Attribute.AddRange(attrs);
        return n;
    }

    public static byte[] Model(GraphProto g, long opset = 13)
    {
        var m = new ModelProto { IrVersion = 8, Graph = g, ProducerName = "vigil-tests" };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return m.ToByteArray();
    }

    public static float[] Random(int n, int seed, float scale = 1f)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1) * scale).ToArray();
    }

    /// <summary>x[1,4,8,8] -> Conv 3x3 (4->6) -> BatchNormalization -> LeakyRelu -> Clip -> y; plus a lone BN on x -> z.</summary>
    public static byte[] ConvBatchNorm()
    {
        var g = new GraphProto { Name = "conv_bn" };
        g.Input.Add(Value("x", 1, 4, 8, 8));
        g.Output.Add(Value("y", 1, 6, 8, 8));
        g.Output.Add(Value("z", 1, 4, 8, 8));
        g.Initializer.Add(Floats("w", [6, 4, 3, 3], Random(6 * 4 * 9, 1, 0.5f)));
        g.Initializer.Add(Floats("b", [6], Random(6, 2), raw: false));
        g.Initializer.Add(Floats("gamma", [6], Random(6, 3).Select(v => 1 + 0.5f * v).ToArray()));
        g.Initializer.Add(Floats("beta", [6], Random(6, 4)));
        g.Initializer.Add(Floats("mean", [6], Random(6, 5)));
        g.Initializer.Add(Floats("var", [6], Random(6, 6).Select(v => 1 + 0.9f * v).ToArray()));
        g.Initializer.Add(Floats("g4", [4], [1.5f, 0.5f, 1f, 2f]));
        g.Initializer.Add(Floats("b4", [4], [0.1f, -0.2f, 0.3f, 0f]));
        g.Initializer.Add(Floats("m4", [4], [0f, 1f, -1f, 0.5f]));
        g.Initializer.Add(Floats("v4", [4], [1f, 2f, 0.5f, 1f]));
        g.Initializer.Add(Floats("lo", [], [-0.5f]));
        g.Initializer.Add(Floats("hi", [], [2f]));
        g.Node.Add(Node("conv", "Conv", ["x", "w", "b"], ["c"], Ints("kernel_shape", 3, 3), Ints("pads", 1, 1, 1, 1)));
        g.Node.Add(Node("bn", "BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["n"], Float("epsilon", 1e-3f)));
        g.Node.Add(Node("lrelu", "LeakyRelu", ["n"], ["l"], Float("alpha", 0.1f)));
        g.Node.Add(Node("clip", "Clip", ["l", "lo", "hi"], ["y"]));
        g.Node.Add(Node("bn_alone", "BatchNormalization", ["x", "g4", "b4", "m4", "v4"], ["z"]));
        return Model(g);
    }

    /// <summary>
    /// x[1,4,8,8] (pixel values) -> Conv 3x3 (4->8, weights around 30) + Relu -> c, whose values reach several 10^5 (past
    /// FP16's 65504) -> Conv 1x1 (8->4, weights 1e-3) -> y in the thousands: an FP16 plan must keep c in FP32.
    /// </summary>
    public static byte[] Fp16Overflow()
    {
        var g = new GraphProto { Name = "fp16_overflow" };
        g.Input.Add(Value("x", 1, 4, 8, 8));
        g.Output.Add(Value("y", 1, 4, 8, 8));
        g.Initializer.Add(Floats("w1", [8, 4, 3, 3], Random(8 * 4 * 9, 11).Select(v => 30f + 10f * v).ToArray()));
        g.Initializer.Add(Floats("b1", [8], Random(8, 12, 100f)));
        g.Initializer.Add(Floats("w2", [4, 8, 1, 1], Random(4 * 8, 13).Select(v => 1e-3f * (1.5f + v)).ToArray()));
        g.Initializer.Add(Floats("b2", [4], Random(4, 14)));
        g.Node.Add(Node("conv1", "Conv", ["x", "w1", "b1"], ["c0"], Ints("kernel_shape", 3, 3), Ints("pads", 1, 1, 1, 1)));
        g.Node.Add(Node("relu1", "Relu", ["c0"], ["c"]));
        g.Node.Add(Node("conv2", "Conv", ["c", "w2", "b2"], ["y"], Ints("kernel_shape", 1, 1)));
        return Model(g);
    }

    /// <summary>
    /// Shapes the bundled models do not have: x[1,6,23,19] -> Conv 3x3 stride 2 dilation 2 with asymmetric padding + SiLU
    /// -> depthwise 3x3 dilation 2 -> Conv 1x1 (24->20, 108 pixels) + Relu -> Conv 1x1 (20->20) + residual Add ->
    /// MaxPool 5x5 stride 1 -> Reshape -> Transpose -> Unsqueeze -> y[1,108,20,1].
    /// </summary>
    public static byte[] MixedShapes()
    {
        var g = new GraphProto { Name = "mixed_shapes" };
        g.Input.Add(Value("x", 1, 6, 23, 19));
        g.Output.Add(Value("y", 1, 108, 20, 1));
        g.Initializer.Add(Floats("w1", [24, 6, 3, 3], Random(24 * 6 * 9, 1, 0.3f)));
        g.Initializer.Add(Floats("b1", [24], Random(24, 2)));
        g.Initializer.Add(Floats("wd", [24, 1, 3, 3], Random(24 * 9, 3, 0.5f)));
        g.Initializer.Add(Floats("bd", [24], Random(24, 4)));
        g.Initializer.Add(Floats("w2", [20, 24, 1, 1], Random(20 * 24, 5, 0.3f)));
        g.Initializer.Add(Floats("b2", [20], Random(20, 6)));
        g.Initializer.Add(Floats("w3", [20, 20, 1, 1], Random(20 * 20, 7, 0.3f)));
        g.Initializer.Add(Floats("b3", [20], Random(20, 8)));
        g.Initializer.Add(new TensorProto { Name = "shp", DataType = (int)TensorProto.Types.DataType.Int64, Dims = { 3 }, Int64Data = { 1, 20, 108 } });
        g.Node.Add(Node("c1", "Conv", ["x", "w1", "b1"], ["a"], Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("dilations", 2, 2), Ints("pads", 2, 1, 2, 1)));
        g.Node.Add(Node("s1", "Sigmoid", ["a"], ["as"]));
        g.Node.Add(Node("m1", "Mul", ["a", "as"], ["a2"]));
        g.Node.Add(Node("dw", "Conv", ["a2", "wd", "bd"], ["d"], Ints("kernel_shape", 3, 3), Ints("dilations", 2, 2), Ints("pads", 2, 2, 2, 2),
            new AttributeProto { Name = "group", Type = AttributeProto.Types.AttributeType.Int, I = 24 }));
        g.Node.Add(Node("c2", "Conv", ["d", "w2", "b2"], ["e"], Ints("kernel_shape", 1, 1)));
        g.Node.Add(Node("r2", "Relu", ["e"], ["e2"]));
        g.Node.Add(Node("c3", "Conv", ["e2", "w3", "b3"], ["f"], Ints("kernel_shape", 1, 1)));
        g.Node.Add(Node("add", "Add", ["f", "e2"], ["h"]));
        g.Node.Add(Node("mp", "MaxPool", ["h"], ["p"], Ints("kernel_shape", 5, 5), Ints("pads", 2, 2, 2, 2)));
        g.Node.Add(Node("rs", "Reshape", ["p", "shp"], ["q"]));
        g.Node.Add(Node("tr", "Transpose", ["q"], ["t"], Ints("perm", 0, 2, 1)));
        g.Node.Add(Node("us", "Unsqueeze", ["t"], ["y"], Ints("axes", 3)));
        return Model(g, 11);
    }
}
