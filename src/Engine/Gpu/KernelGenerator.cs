using System.Globalization;
using System.Text;
using Vigil.Engine.Graph;
using Vigil.Engine.Optimizer;
using Vigil.Engine.Plan;

namespace Vigil.Engine.Gpu;

/// <summary>How a generated kernel is launched: one thread per element (work per image), or 2-D tiles per image.</summary>
public sealed record KernelLaunch(string Function, long WorkPerImage, int TilesX = 0, int TilesY = 0, int Threads = 256)
{
    public bool Tiled => TilesX > 0;
}

/// <summary>One candidate implementation of a layer: a tactic name, its CUDA source and how to launch it.</summary>
public sealed record KernelCandidate(string Tactic, string Source, KernelLaunch Launch);

/// <summary>
/// Generates CUDA C for a layer program (compiled by NVRTC): each layer's kernels have shapes, strides, arena offsets
/// and the fused epilogue baked in as constants, in the plan's storage precision (FP32, or FP16 with FP32 arithmetic).
/// Every kernel has the signature <c>(T* arena, const T* weightsT, const float* weightsF, int batch)</c>.
/// </summary>
public sealed partial class KernelGenerator
{
    private readonly LayerProgram _p;
    private readonly bool _half;
    private readonly long[] _constOffsets;

    private readonly int _maxBatch;

    /// <param name="maxBatch">The largest batch the kernels will run (the plan's profile maximum); 0 = unknown.</param>
    public KernelGenerator(LayerProgram program, PlanPrecision precision, int maxBatch = 0)
    {
        _p = program;
        _maxBatch = maxBatch;
        _half = precision == PlanPrecision.Fp16;
        _constOffsets = new long[program.Constants.Count];
        long off = 0;
        for (int i = 0; i < program.Constants.Count; i++) { _constOffsets[i] = off; off += (program.Constants[i].Count + 63) / 64 * 64; }
        ConstantElements = off;
    }

    /// <summary>Whether FP16 plans consider the tensor-core tactic (VIGIL_ENGINE_NO_MMA=1 turns it off).</summary>
    public static bool MmaEnabled { get; } = Environment.GetEnvironmentVariable("VIGIL_ENGINE_NO_MMA") != "1";

    /// <summary>Elements of the packed constant buffer (each constant 64-element aligned).</summary>
    public long ConstantElements { get; }
    public long ConstantOffset(int index) => _constOffsets[index];

    public string Prelude => (_half
        ? """
          typedef unsigned short T;
          __device__ __forceinline__ float LD(T v) { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(v)); return f; }
          __device__ __forceinline__ T ST(float f) { unsigned short h; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f)); return h; }
          // Tensor-core MMA: D(16x8, f32) += A(16x16, f16, row) * B(16x8, f16, col), operands in the PTX fragment layout.
          __device__ __forceinline__ void vmma(float* c, const unsigned* a, const unsigned* b) {
            asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
              : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3]) : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
          }
          // Four 8x8 b16 matrices from shared memory, transposed: lanes 8i..8i+7 give the row addresses of matrix i.
          __device__ __forceinline__ void vldsm4t(unsigned* r, const T* p) {
            unsigned s = (unsigned)__cvta_generic_to_shared(p);
            asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
              : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(s));
          }
          """
        : """
          typedef float T;
          __device__ __forceinline__ float LD(T v) { return v; }
          __device__ __forceinline__ T ST(float f) { return f; }
          """) + """

          #define KARGS T* __restrict__ A, const T* __restrict__ WH, const float* __restrict__ WF, int N
          __device__ __forceinline__ float vsig(float x) { return 1.0f / (1.0f + expf(-x)); }
          __device__ __forceinline__ float vsoftplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }

          """;

    /// <summary>Copies the dense FP32 input of <paramref name="io"/> into the arena (converting to the storage type).</summary>
    public KernelCandidate InputKernel(int index, ProgramIO io)
    {
        string f = $"vin{index}";
        long cnt = io.Ref.Count;
        string src = $$"""
            extern "C" __global__ void {{f}}(KARGS, const float* __restrict__ src) {
              long e = (long)blockIdx.x * blockDim.x + threadIdx.x;
              if (e >= (long)N * {{cnt}}L) return;
              long n = e / {{cnt}}L, r = e - n * {{cnt}}L;
              A[{{Addr(io.Ref, "n")}} + r] = ST(src[e]);
            }

            """;
        return new KernelCandidate("convert", src, new KernelLaunch(f, cnt));
    }

    /// <summary>Copies an output out of the arena into a dense FP32 buffer.</summary>
    public KernelCandidate OutputKernel(int index, ProgramIO io)
    {
        string f = $"vout{index}";
        long cnt = io.Ref.Count;
        string src = $$"""
            extern "C" __global__ void {{f}}(KARGS, float* __restrict__ dst) {
              long e = (long)blockIdx.x * blockDim.x + threadIdx.x;
              if (e >= (long)N * {{cnt}}L) return;
              long n = e / {{cnt}}L, r = e - n * {{cnt}}L;
              dst[e] = LD(A[{{Addr(io.Ref, "n")}} + r]);
            }

            """;
        return new KernelCandidate("convert", src, new KernelLaunch(f, cnt));
    }

    private string Addr(TensorRef r, string n)
    {
        var b = _p.Buffers[r.Buffer];
        return $"((long)N * {b.Offset}L + (long){n} * {b.SampleSize}L + {r.Offset}L)";
    }

    private string ConstF(TensorRef r) => $"(WF + {_constOffsets[r.Const]}L)";
    private string ConstT(TensorRef r) => $"(WH + {_constOffsets[r.Const]}L)";

    private static string Fl(float v)
    {
        if (float.IsPositiveInfinity(v)) return "__int_as_float(0x7f800000)";
        if (float.IsNegativeInfinity(v)) return "__int_as_float(0xff800000)";
        string s = v.ToString("R", CultureInfo.InvariantCulture);
        if (!s.Contains('.') && !s.Contains('E')) s += ".0";
        return s + "f";
    }

    /// <summary>Emits the program as C statements over float registers; returns the name of the result register.</summary>
    internal static string EmitProgram(StringBuilder sb, PwProgram prog, IReadOnlyList<string> inputs, string prefix)
    {
        string Reg(int r) => r < prog.Inputs ? inputs[r] : $"{prefix}{r - prog.Inputs}";
        int i = 0;
        foreach (var c in prog.Code)
        {
            string a = Reg(c.A), b = PwProgram.IsBinary(c.Op) ? Reg(c.B) : "";
            string e = c.Op switch
            {
                PwOp.Add => $"{a} + {b}",
                PwOp.Sub => $"{a} - {b}",
                PwOp.Mul => $"{a} * {b}",
                PwOp.Div => $"{a} / {b}",
                PwOp.Pow => $"powf({a}, {b})",
                PwOp.Max => $"fmaxf({a}, {b})",
                PwOp.Min => $"fminf({a}, {b})",
                PwOp.Relu => $"fmaxf({a}, 0.0f)",
                PwOp.Sigmoid => $"vsig({a})",
                PwOp.Tanh => $"tanhf({a})",
                PwOp.LeakyRelu => $"({a} >= 0.0f ? {a} : {a} * {Fl(c.Alpha)})",
                PwOp.Clip => $"fminf(fmaxf({a}, {Fl(c.Alpha)}), {Fl(c.Beta)})",
                PwOp.HardSigmoid => $"fmaxf(0.0f, fminf(1.0f, {Fl(c.Alpha)} * {a} + {Fl(c.Beta)}))",
                PwOp.HardSwish => $"{a} * fmaxf(0.0f, fminf(1.0f, {a} / 6.0f + 0.5f))",
                PwOp.Exp => $"expf({a})",
                PwOp.Neg => $"-{a}",
                PwOp.Sqrt => $"sqrtf({a})",
                PwOp.Abs => $"fabsf({a})",
                PwOp.Reciprocal => $"1.0f / {a}",
                PwOp.Elu => $"({a} >= 0.0f ? {a} : {Fl(c.Alpha)} * (expf({a}) - 1.0f))",
                PwOp.Softplus => $"vsoftplus({a})",
                PwOp.Mish => $"{a} * tanhf(vsoftplus({a}))",
                PwOp.Silu => $"{a} * vsig({a})",
                _ => throw new InvalidOperationException(c.Op.ToString()),
            };
            sb.Append($"  float {prefix}{i++} = {e};\n");
        }
        return $"{prefix}{i - 1}";
    }

    /// <summary>The candidate kernels for layer <paramref name="index"/> (at least one).</summary>
    public IReadOnlyList<KernelCandidate> Candidates(int index)
    {
        var l = _p.Layers[index];
        string f = $"L{index}";
        return l.Kind switch
        {
            LayerKind.Conv => ConvCandidates(l, f),
            LayerKind.Pointwise => [Pointwise(l, f)],
            LayerKind.Pool => [Pool(l, f), .. PlaneMaxPool(l, f)],
            LayerKind.Gemm => [Gemm(l, f)],
            LayerKind.Reduce => [Reduce(l, f)],
            LayerKind.Transpose => [Transpose(l, f), .. TiledTranspose(l, f)],
            LayerKind.Slice => [Slice(l, f)],
            LayerKind.Copy => [Copy(l, f)],
            LayerKind.Resize => [Resize(l, f)],
            LayerKind.Softmax => [Softmax(l, f)],
            _ => throw new EngineException($"layer '{l.Name}': no GPU kernel for {l.Kind}"),
        };
    }

    private string Epilogue(StringBuilder sb, Layer l, string acc, string n, string elemInSample)
    {
        int regsIn = (int)l.I[15];
        if (l.I.Length <= 16) return acc;
        var prog = PwProgram.Decode(regsIn, l.I[16..], l.F);
        var ins = new List<string> { acc };
        for (int k = 3; k < l.Inputs.Length; k++)
        {
            sb.Append($"  float res{k} = LD(A[{Addr(l.Inputs[k], n)} + {elemInSample}]);\n");
            ins.Add($"res{k}");
        }
        return EmitProgram(sb, prog, ins, "e");
    }

    private IReadOnlyList<KernelCandidate> ConvCandidates(Layer l, string f)
    {
        var I = l.I;
        long Cin = I[0], H = I[1], W = I[2], Cout = I[3], OH = I[4], OW = I[5], KH = I[6], KW = I[7], SH = I[8], SW = I[9], PT = I[10], PL = I[11], DH = I[12], DW = I[13], G = I[14];
        long cinG = Cin / G, coutG = Cout / G;
        var list = new List<KernelCandidate>();
        var x = l.Inputs[0]; var y = l.Outputs[0];

        // Direct: one thread per output element.
        {
            var sb = new StringBuilder();
            string fn = f + "_direct";
            sb.Append($$"""
                extern "C" __global__ void __launch_bounds__(256) {{fn}}(KARGS) {
                  long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
                  if (idx >= (long)N * {{Cout * OH * OW}}L) return;
                  int n = (int)(idx / {{Cout * OH * OW}}L);
                  int r = (int)(idx - (long)n * {{Cout * OH * OW}}L);
                  int oc = r / {{OH * OW}}, p = r - oc * {{OH * OW}};
                  int oy = p / {{OW}}, ox = p - oy * {{OW}};
                  const T* xg = A + {{Addr(x, "n")}} + (long)(oc / {{coutG}}) * {{cinG * H * W}}L;
                  const T* w = {{ConstT(l.Inputs[1])}} + (long)oc * {{cinG * KH * KW}};
                  float acc = {{ConstF(l.Inputs[2])}}[oc];
                  for (int ic = 0; ic < {{cinG}}; ic++) {
                    #pragma unroll
                    for (int ky = 0; ky < {{KH}}; ky++) {
                      int iy = oy * {{SH}} - {{PT}} + ky * {{DH}};
                      if (iy < 0 || iy >= {{H}}) continue;
                      #pragma unroll
                      for (int kx = 0; kx < {{KW}}; kx++) {
                        int ix = ox * {{SW}} - {{PL}} + kx * {{DW}};
                        if (ix < 0 || ix >= {{W}}) continue;
                        acc += LD(xg[(long)ic * {{H * W}} + iy * {{W}} + ix]) * LD(w[(ic * {{KH}} + ky) * {{KW}} + kx]);
                      }
                    }
                  }

                """);
            string res = Epilogue(sb, l, "acc", "n", "r");
            sb.Append($"  A[{Addr(y, "n")} + r] = ST({res});\n}}\n\n");
            list.Add(new KernelCandidate("direct", sb.ToString(), new KernelLaunch(fn, Cout * OH * OW)));
        }

        // Direct, several output channels per thread: each input value loaded once feeds k accumulators.
        foreach (int k in new[] { 4, 8, 16 })
        {
            if (coutG % k != 0 || coutG < k) continue;
            var sb = new StringBuilder();
            string fn = $"{f}_directoc{k}";
            long groupsOfK = Cout / k;
            sb.Append($$"""
                extern "C" __global__ void __launch_bounds__(256) {{fn}}(KARGS) {
                  long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
                  if (idx >= (long)N * {{groupsOfK * OH * OW}}L) return;
                  int n = (int)(idx / {{groupsOfK * OH * OW}}L);
                  int rr = (int)(idx - (long)n * {{groupsOfK * OH * OW}}L);
                  int oc0 = (rr / {{OH * OW}}) * {{k}}, p = rr % {{OH * OW}};
                  int oy = p / {{OW}}, ox = p - oy * {{OW}};
                  const T* xg = A + {{Addr(x, "n")}} + (long)(oc0 / {{coutG}}) * {{cinG * H * W}}L;
                  const T* w = {{ConstT(l.Inputs[1])}} + (long)oc0 * {{cinG * KH * KW}};
                  float acc[{{k}}];
                  #pragma unroll
                  for (int j = 0; j < {{k}}; j++) acc[j] = {{ConstF(l.Inputs[2])}}[oc0 + j];
                  for (int ic = 0; ic < {{cinG}}; ic++) {
                    #pragma unroll
                    for (int ky = 0; ky < {{KH}}; ky++) {
                      int iy = oy * {{SH}} - {{PT}} + ky * {{DH}};
                      if (iy < 0 || iy >= {{H}}) continue;
                      #pragma unroll
                      for (int kx = 0; kx < {{KW}}; kx++) {
                        int ix = ox * {{SW}} - {{PL}} + kx * {{DW}};
                        if (ix < 0 || ix >= {{W}}) continue;
                        float xv = LD(xg[(long)ic * {{H * W}} + iy * {{W}} + ix]);
                        int wi = (ic * {{KH}} + ky) * {{KW}} + kx;
                        #pragma unroll
                        for (int j = 0; j < {{k}}; j++) acc[j] += xv * LD(w[j * {{cinG * KH * KW}} + wi]);
                      }
                    }
                  }
                  #pragma unroll
                  for (int j = 0; j < {{k}}; j++) {
                    long r = (long)(oc0 + j) * {{OH * OW}} + p;
                    float v = acc[j];

                """);
            string res = Epilogue(sb, l, "v", "n", "r");
            sb.Append($"    A[{Addr(y, "n")} + r] = ST({res});\n  }}\n}}\n\n");
            list.Add(new KernelCandidate($"directoc{k}", sb.ToString(), new KernelLaunch(fn, groupsOfK * OH * OW)));
        }

        // FP16 tensor-core implicit GEMM (mma.sync m16n8k16, FP32 accumulation) for 1x1 stride-1 unpadded convolutions.
        if (_half && MmaEnabled && KH == 1 && KW == 1 && SH == 1 && SW == 1 && PT == 0 && PL == 0 && G == 1)
        {
            long M = Cout, K = Cin, P = OH * OW;
            string fn = $"{f}_mma64x64";
            var sb = new StringBuilder();
            sb.Append($$"""
                extern "C" __global__ void __launch_bounds__(256) {{fn}}(KARGS) {
                  __shared__ T Ws[64][18];
                  __shared__ T Xs[16][72];
                  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
                  int gid = lane >> 2, tig = lane & 3;
                  int wm = (warp >> 2) * 32, wp = (warp & 3) * 16;
                  int m0 = blockIdx.y * 64, p0 = blockIdx.x * 64, n = blockIdx.z;
                  const T* X = A + {{Addr(x, "n")}};
                  const T* Wt = {{ConstT(l.Inputs[1])}};
                  float c[2][2][4];
                  #pragma unroll
                  for (int i = 0; i < 2; i++)
                    #pragma unroll
                    for (int j = 0; j < 2; j++)
                      #pragma unroll
                      for (int e = 0; e < 4; e++) c[i][j][e] = 0.0f;
                  for (int k0 = 0; k0 < {{K}}; k0 += 16) {
                    for (int i = threadIdx.x; i < 1024; i += 256) {
                      int mm = i >> 4, kk = i & 15;
                      int m = m0 + mm, k = k0 + kk;
                      Ws[mm][kk] = (m < {{M}} && k < {{K}}) ? Wt[(long)m * {{K}} + k] : (T)0;
                    }
                    for (int i = threadIdx.x; i < 1024; i += 256) {
                      int kk = i >> 6, pp = i & 63;
                      int p = p0 + pp, k = k0 + kk;
                      Xs[kk][pp] = (p < {{P}} && k < {{K}}) ? X[(long)k * {{P}} + p] : (T)0;
                    }
                    __syncthreads();
                    #pragma unroll
                    for (int mi = 0; mi < 2; mi++) {
                      int r0 = wm + mi * 16 + gid;
                      unsigned a[4];
                      a[0] = (unsigned)Ws[r0][tig * 2] | ((unsigned)Ws[r0][tig * 2 + 1] << 16);
                      a[1] = (unsigned)Ws[r0 + 8][tig * 2] | ((unsigned)Ws[r0 + 8][tig * 2 + 1] << 16);
                      a[2] = (unsigned)Ws[r0][tig * 2 + 8] | ((unsigned)Ws[r0][tig * 2 + 9] << 16);
                      a[3] = (unsigned)Ws[r0 + 8][tig * 2 + 8] | ((unsigned)Ws[r0 + 8][tig * 2 + 9] << 16);
                      #pragma unroll
                      for (int ni = 0; ni < 2; ni++) {
                        int col = wp + ni * 8 + gid;
                        unsigned b[2];
                        b[0] = (unsigned)Xs[tig * 2][col] | ((unsigned)Xs[tig * 2 + 1][col] << 16);
                        b[1] = (unsigned)Xs[tig * 2 + 8][col] | ((unsigned)Xs[tig * 2 + 9][col] << 16);
                        vmma(c[mi][ni], a, b);
                      }
                    }
                    __syncthreads();
                  }
                  #pragma unroll
                  for (int mi = 0; mi < 2; mi++)
                    #pragma unroll
                    for (int ni = 0; ni < 2; ni++)
                      #pragma unroll
                      for (int e = 0; e < 4; e++) {
                        int m = m0 + wm + mi * 16 + gid + (e >= 2 ? 8 : 0);
                        int p = p0 + wp + ni * 8 + tig * 2 + (e & 1);
                        if (m >= {{M}} || p >= {{P}}) continue;
                        long r = (long)m * {{P}} + p;
                        float v = c[mi][ni][e] + {{ConstF(l.Inputs[2])}}[m];

                """);
            string res = Epilogue(sb, l, "v", "n", "r");
            sb.Append($"        A[{Addr(y, "n")} + r] = ST({res});\n      }}\n}}\n\n");
            list.Add(new KernelCandidate("mma64x64", sb.ToString(), new KernelLaunch(fn, 0, (int)((P + 63) / 64), (int)((M + 63) / 64))));
        }

        list.AddRange(TensorCoreConv(l, f));
        list.AddRange(TensorCoreDirectConv(l, f));
        list.AddRange(PipelinedPointwiseConv(l, f));
        list.AddRange(DepthwiseConv(l, f));

        // Implicit GEMM for 1x1 stride-1 unpadded convolutions: Y[m,p] = sum_k W[m,k] X[k,p] per image, shared-memory tiles.
        if (KH == 1 && KW == 1 && SH == 1 && SW == 1 && PT == 0 && PL == 0 && G == 1)
        {
            long M = Cout, K = Cin, P = OH * OW;
            foreach (int bm in new[] { 16, 32, 64 })
            {
                if (bm > 16 && M <= bm / 2) continue;
                const int bn = 64, bk = 16;
                int tm = bm / 16, tn = bn / 16;
                string fn = $"{f}_gemm{bm}x{bn}";
                var sb = new StringBuilder();
                sb.Append($$"""
                    extern "C" __global__ void __launch_bounds__(256) {{fn}}(KARGS) {
                      __shared__ float Ws[{{bk}}][{{bm + 1}}];
                      __shared__ float Xs[{{bk}}][{{bn}}];
                      int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
                      int m0 = blockIdx.y * {{bm}}, p0 = blockIdx.x * {{bn}}, n = blockIdx.z;
                      const T* X = A + {{Addr(x, "n")}};
                      const T* Wt = {{ConstT(l.Inputs[1])}};
                      float acc[{{tm}}][{{tn}}];
                      #pragma unroll
                      for (int i = 0; i < {{tm}}; i++)
                        #pragma unroll
                        for (int j = 0; j < {{tn}}; j++) acc[i][j] = 0.0f;
                      for (int k0 = 0; k0 < {{K}}; k0 += {{bk}}) {
                        for (int i = threadIdx.x; i < {{bk * bm}}; i += 256) {
                          int kk = i % {{bk}}, mm = i / {{bk}};
                          int m = m0 + mm, k = k0 + kk;
                          Ws[kk][mm] = (m < {{M}} && k < {{K}}) ? LD(Wt[(long)m * {{K}} + k]) : 0.0f;
                        }
                        for (int i = threadIdx.x; i < {{bk * bn}}; i += 256) {
                          int pp = i % {{bn}}, kk = i / {{bn}};
                          int p = p0 + pp, k = k0 + kk;
                          Xs[kk][pp] = (p < {{P}} && k < {{K}}) ? LD(X[(long)k * {{P}} + p]) : 0.0f;
                        }
                        __syncthreads();
                        #pragma unroll
                        for (int kk = 0; kk < {{bk}}; kk++) {
                          float a[{{tm}}], b[{{tn}}];
                          #pragma unroll
                          for (int i = 0; i < {{tm}}; i++) a[i] = Ws[kk][ty + i * 16];
                          #pragma unroll
                          for (int j = 0; j < {{tn}}; j++) b[j] = Xs[kk][tx + j * 16];
                          #pragma unroll
                          for (int i = 0; i < {{tm}}; i++)
                            #pragma unroll
                            for (int j = 0; j < {{tn}}; j++) acc[i][j] += a[i] * b[j];
                        }
                        __syncthreads();
                      }
                      #pragma unroll
                      for (int i = 0; i < {{tm}}; i++) {
                        int m = m0 + ty + i * 16;
                        if (m >= {{M}}) continue;
                        float bias = {{ConstF(l.Inputs[2])}}[m];
                        #pragma unroll
                        for (int j = 0; j < {{tn}}; j++) {
                          int p = p0 + tx + j * 16;
                          if (p >= {{P}}) continue;
                          long r = (long)m * {{P}} + p;
                          float v = acc[i][j] + bias;

                    """);
                string res = Epilogue(sb, l, "v", "n", "r");
                sb.Append($"      A[{Addr(y, "n")} + r] = ST({res});\n    }}\n  }}\n}}\n\n");
                list.Add(new KernelCandidate($"gemm{bm}x{bn}", sb.ToString(), new KernelLaunch(fn, 0, (int)((P + bn - 1) / bn), (int)((M + bm - 1) / bm))));
            }
        }
        return list;
    }

    private KernelCandidate Simple(string fn, long work, string body, string tactic = "simple")
    {
        // Index arithmetic inside one image in 32 bits when every per-image offset fits (64-bit division and
        // multiplication cost several times more instructions); only the arena address itself stays 64-bit.
        bool narrow = _p.ArenaPerSample < int.MaxValue / 2 && ConstantElements < int.MaxValue / 2;
        if (narrow) body = LongLiteral().Replace(body.Replace("long ", "int ", StringComparison.Ordinal), "$1");
        string head = narrow && _maxBatch > 0 && (long)_maxBatch * work < int.MaxValue
            ? $$"""
                  int idx = blockIdx.x * blockDim.x + threadIdx.x;
                  if (idx >= N * {{work}}) return;
                  int n = idx / {{work}};
                  int r = idx - n * {{work}};
                """
            : $$"""
                  long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
                  if (idx >= (long)N * {{work}}L) return;
                  int n = (int)(idx / {{work}}L);
                  {{(narrow ? "int" : "long")}} r = ({{(narrow ? "int" : "long")}})(idx - (long)n * {{work}}L);
                """;
        string src = $$"""
            extern "C" __global__ void __launch_bounds__(256) {{fn}}(KARGS) {
            {{head}}
            {{body}}}

            """;
        return new KernelCandidate(tactic, src, new KernelLaunch(fn, work));
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(?<![\w.])(\d+)L\b")]
    private static partial System.Text.RegularExpressions.Regex LongLiteral();

    private string Src(TensorRef r, string n) => r.IsConst ? ConstF(r) : $"(A + {Addr(r, n)})";
    private string Load(TensorRef r, string ptr, string idx) => r.IsConst ? $"{ptr}[{idx}]" : $"LD({ptr}[{idx}])";

    private KernelCandidate Pointwise(Layer l, string f)
    {
        var I = l.I;
        int rank = (int)I[0];
        var shape = I.AsSpan(1, rank).ToArray();
        int nin = l.Inputs.Length;
        var dense = Shapes.Strides(shape.Select(v => (int)v).ToArray());
        long count = shape.Aggregate(1L, (a, b) => a * b);
        var sb = new StringBuilder();
        bool needCoords = false;
        var offs = new string[nin];
        for (int k = 0; k < nin; k++)
        {
            var st = I.AsSpan(1 + rank + k * rank, rank).ToArray();
            if (st.SequenceEqual(dense)) { offs[k] = "r"; continue; }
            needCoords = true;
            var terms = Enumerable.Range(0, rank).Where(d => st[d] != 0).Select(d => $"c{d} * {st[d]}L").ToList();
            offs[k] = terms.Count == 0 ? "0" : string.Join(" + ", terms);
        }
        if (needCoords)
        {
            sb.Append("  long rem = r;\n");
            for (int d = rank - 1; d >= 0; d--) sb.Append($"  long c{d} = rem % {shape[d]}L; rem /= {shape[d]}L;\n");
        }
        var names = new List<string>();
        for (int k = 0; k < nin; k++)
        {
            var rf = l.Inputs[k];
            sb.Append($"  float in{k} = {Load(rf, Src(rf, "n"), offs[k])};\n");
            names.Add($"in{k}");
        }
        var prog = PwProgram.Decode(nin, I[(1 + rank + nin * rank)..], l.F);
        string res = EmitProgram(sb, prog, names, "t");
        sb.Append($"  A[{Addr(l.Outputs[0], "n")} + r] = ST({res});\n");
        return Simple(f, count, sb.ToString());
    }

    private KernelCandidate Pool(Layer l, string f)
    {
        var I = l.I;
        long kind = I[0], C = I[1], H = I[2], W = I[3], OH = I[4], OW = I[5], KH = I[6], KW = I[7], SH = I[8], SW = I[9], PT = I[10], PL = I[11];
        bool incl = I[12] != 0;
        string body = $$"""
              int c = (int)(r / {{OH * OW}}); int p = (int)(r - (long)c * {{OH * OW}}); int oy = p / {{OW}}, ox = p - oy * {{OW}};
              const T* x = A + {{Addr(l.Inputs[0], "n")}} + (long)c * {{H * W}};
              float acc = {{(kind == 0 ? "__int_as_float(0xff800000)" : "0.0f")}}; int cnt = 0;
              for (int ky = 0; ky < {{KH}}; ky++) {
                int iy = oy * {{SH}} - {{PT}} + ky;
                for (int kx = 0; kx < {{KW}}; kx++) {
                  int ix = ox * {{SW}} - {{PL}} + kx;
                  if (iy < 0 || iy >= {{H}} || ix < 0 || ix >= {{W}}) { {{(incl ? $"if (iy < {H + PT} && ix < {W + PL}) cnt++;" : "")}} continue; }
                  float v = LD(x[iy * {{W}} + ix]);
                  {{(kind == 0 ? "acc = fmaxf(acc, v);" : "acc += v; cnt++;")}}
                }
              }
              A[{{Addr(l.Outputs[0], "n")}} + r] = ST({{(kind == 0 ? "acc" : "acc / (float)cnt")}});

            """;
        return Simple(f, C * OH * OW, body);
    }

    /// <summary>
    /// Max pooling of a whole (small) plane per block: the plane is staged in shared memory and the window maximum is
    /// taken separably (rows, then columns), so an SPP-style 13x13 window costs 26 reads per output instead of 169.
    /// </summary>
    private IEnumerable<KernelCandidate> PlaneMaxPool(Layer l, string f)
    {
        var I = l.I;
        long kind = I[0], C = I[1], H = I[2], W = I[3], OH = I[4], OW = I[5], KH = I[6], KW = I[7], SH = I[8], SW = I[9], PT = I[10], PL = I[11];
        if (kind != 0 || (H * W + H * OW) * 4 > 40 * 1024) yield break;
        string fn = f + "_plane";
        string src = $$"""
            extern "C" __global__ void __launch_bounds__(256) {{fn}}(KARGS) {
              __shared__ float S[{{H * W}}];
              __shared__ float R[{{H * OW}}];
              int c = blockIdx.x, n = blockIdx.z;
              const T* x = A + {{Addr(l.Inputs[0], "n")}} + (long)c * {{H * W}};
              T* y = A + {{Addr(l.Outputs[0], "n")}} + (long)c * {{OH * OW}};
              for (int e = threadIdx.x; e < {{H * W}}; e += 256) S[e] = LD(x[e]);
              __syncthreads();
              for (int e = threadIdx.x; e < {{H * OW}}; e += 256) {
                int iy = e / {{OW}}, ox = e - iy * {{OW}};
                float m = __int_as_float(0xff800000);
                for (int kx = 0; kx < {{KW}}; kx++) { int ix = ox * {{SW}} - {{PL}} + kx; if (ix >= 0 && ix < {{W}}) m = fmaxf(m, S[iy * {{W}} + ix]); }
                R[e] = m;
              }
              __syncthreads();
              for (int e = threadIdx.x; e < {{OH * OW}}; e += 256) {
                int oy = e / {{OW}}, ox = e - oy * {{OW}};
                float m = __int_as_float(0xff800000);
                for (int ky = 0; ky < {{KH}}; ky++) { int iy = oy * {{SH}} - {{PT}} + ky; if (iy >= 0 && iy < {{H}}) m = fmaxf(m, R[iy * {{OW}} + ox]); }
                y[e] = ST(m);
              }
            }

            """;
        yield return new KernelCandidate("plane", src, new KernelLaunch(fn, 0, (int)C, 1, 256));
    }

    private KernelCandidate Gemm(Layer l, string f)
    {
        long R = l.I[0], K = l.I[1], M = l.I[2];
        string body = $$"""
              int row = (int)(r / {{M}}), m = (int)(r - (long)row * {{M}});
              const T* x = A + {{Addr(l.Inputs[0], "n")}} + (long)row * {{K}};
              const T* w = {{ConstT(l.Inputs[1])}} + (long)m * {{K}};
              float acc = {{ConstF(l.Inputs[2])}}[m];
              for (int k = 0; k < {{K}}; k++) acc += LD(x[k]) * LD(w[k]);
              A[{{Addr(l.Outputs[0], "n")}} + r] = ST(acc);

            """;
        return Simple(f, R * M, body);
    }

    private KernelCandidate Reduce(Layer l, string f)
    {
        long kind = l.I[0], outer = l.I[1], red = l.I[2], inner = l.I[3];
        string body = $$"""
              long o = r / {{inner}}L, i = r - o * {{inner}}L;
              const T* x = A + {{Addr(l.Inputs[0], "n")}} + o * {{red * inner}}L + i;
              float acc = {{(kind == 2 ? "__int_as_float(0xff800000)" : "0.0f")}};
              for (long k = 0; k < {{red}}L; k++) { float v = LD(x[k * {{inner}}L]); {{(kind == 2 ? "acc = fmaxf(acc, v);" : "acc += v;")}} }
              A[{{Addr(l.Outputs[0], "n")}} + r] = ST({{(kind == 0 ? $"acc / {Fl(red)}" : "acc")}});

            """;
        return Simple(f, outer * inner, body);
    }

    private KernelCandidate Transpose(Layer l, string f)
    {
        int rank = (int)l.I[0];
        var ins = l.I.AsSpan(1, rank).ToArray(); var perm = l.I.AsSpan(1 + rank, rank).ToArray();
        var inStr = Shapes.Strides(ins.Select(v => (int)v).ToArray());
        var outShape = perm.Select(p => ins[p]).ToArray();
        var sb = new StringBuilder("  long rem = r, s = 0;\n");
        for (int d = rank - 1; d >= 0; d--) sb.Append($"  {{ long c = rem % {outShape[d]}L; rem /= {outShape[d]}L; s += c * {inStr[perm[d]]}L; }}\n");
        sb.Append($"  A[{Addr(l.Outputs[0], "n")} + r] = A[{Addr(l.Inputs[0], "n")} + s];\n");
        return Simple(f, ins.Aggregate(1L, (a, b) => a * b), sb.ToString());
    }

    /// <summary>
    /// A transpose that swaps two groups of axes (perm = [k..r-1, 0..k-1], e.g. [85, 3549] → [3549, 85]) as a 2-D
    /// transpose through a 32x33 shared-memory tile, so both the reads and the writes are coalesced.
    /// </summary>
    private IEnumerable<KernelCandidate> TiledTranspose(Layer l, string f)
    {
        int rank = (int)l.I[0];
        var ins = l.I.AsSpan(1, rank).ToArray(); var perm = l.I.AsSpan(1 + rank, rank).ToArray();
        int k = (int)perm[0];
        if (k == 0 || Enumerable.Range(0, rank).Any(d => perm[d] != (d + k) % rank)) yield break;
        long R = ins[..k].Aggregate(1L, (a, b) => a * b), C = ins[k..].Aggregate(1L, (a, b) => a * b);
        string fn = f + "_tile";
        string src = $$"""
            extern "C" __global__ void __launch_bounds__(256) {{fn}}(KARGS) {
              __shared__ T tile[32][33];
              int n = blockIdx.z, c0 = blockIdx.x * 32, r0 = blockIdx.y * 32;
              const T* x = A + {{Addr(l.Inputs[0], "n")}};
              T* y = A + {{Addr(l.Outputs[0], "n")}};
              int tx = threadIdx.x & 31, ty = threadIdx.x >> 5;
              #pragma unroll
              for (int i = 0; i < 32; i += 8) {
                int r = r0 + ty + i, c = c0 + tx;
                if (r < {{R}} && c < {{C}}) tile[ty + i][tx] = x[(long)r * {{C}} + c];
              }
              __syncthreads();
              #pragma unroll
              for (int i = 0; i < 32; i += 8) {
                int c = c0 + ty + i, r = r0 + tx;
                if (r < {{R}} && c < {{C}}) y[(long)c * {{R}} + r] = tile[tx][ty + i];
              }
            }

            """;
        yield return new KernelCandidate("tile32", src, new KernelLaunch(fn, 0, (int)((C + 31) / 32), (int)((R + 31) / 32), 256));
    }

    private KernelCandidate Slice(Layer l, string f)
    {
        int rank = (int)l.I[0];
        var ins = l.I.AsSpan(1, rank).ToArray().Select(v => (int)v).ToArray();
        var st = l.I.AsSpan(1 + rank, rank).ToArray(); var sp = l.I.AsSpan(1 + 2 * rank, rank).ToArray(); var os = l.I.AsSpan(1 + 3 * rank, rank).ToArray();
        var inStr = Shapes.Strides(ins);
        var sb = new StringBuilder("  long rem = r, s = 0;\n");
        for (int d = rank - 1; d >= 0; d--) sb.Append($"  {{ long c = rem % {os[d]}L; rem /= {os[d]}L; s += ({st[d]}L + c * {sp[d]}L) * {inStr[d]}L; }}\n");
        sb.Append($"  A[{Addr(l.Outputs[0], "n")} + r] = A[{Addr(l.Inputs[0], "n")} + s];\n");
        return Simple(f, os.Aggregate(1L, (a, b) => a * b), sb.ToString());
    }

    private KernelCandidate Copy(Layer l, string f)
    {
        long outer = l.I[0], len = l.I[1], srow = l.I[2], drow = l.I[3], doff = l.I[4];
        var x = l.Inputs[0];
        string load = x.IsConst ? $"ST({ConstF(x)}[o * {srow}L + k])" : $"A[{Addr(x, "n")} + o * {srow}L + k]";
        string body = $$"""
              long o = r / {{len}}L, k = r - o * {{len}}L;
              A[{{Addr(l.Outputs[0], "n")}} + {{doff}}L + o * {{drow}}L + k] = {{load}};

            """;
        return Simple(f, outer * len, body);
    }

    private KernelCandidate Resize(Layer l, string f)
    {
        var I = l.I;
        long C = I[0], H = I[1], W = I[2], OH = I[3], OW = I[4], mode = I[5], coord = I[6], nearest = I[7];
        string Coord(string o, float scale, long inLen, long outLen) => coord switch
        {
            0 => $"(({o} + 0.5f) / {Fl(scale)} - 0.5f)",
            1 => $"({o} / {Fl(scale)})",
            2 => outLen == 1 ? "0.0f" : $"({o} * {Fl((inLen - 1) / (float)(outLen - 1))})",
            3 => outLen > 1 ? $"(({o} + 0.5f) / {Fl(scale)} - 0.5f)" : "0.0f",
            _ => $"(({o} + 0.5f) / {Fl(scale)})",
        };
        string Near(string s) => nearest switch
        {
            0 => $"(({s}) - floorf({s}) == 0.5f ? (int)floorf({s}) : (int)rintf({s}))",
            1 => $"(({s}) - floorf({s}) == 0.5f ? (int)ceilf({s}) : (int)rintf({s}))",
            2 => $"(int)floorf({s})",
            _ => $"(int)ceilf({s})",
        };
        string head = $$"""
              int c = (int)(r / {{OH * OW}}); int p = (int)(r - (long)c * {{OH * OW}}); int oy = p / {{OW}}, ox = p - oy * {{OW}};
              const T* x = A + {{Addr(l.Inputs[0], "n")}} + (long)c * {{H * W}};
              float sy = {{Coord("(float)oy", l.F[0], H, OH)}}, sx = {{Coord("(float)ox", l.F[1], W, OW)}};

            """;
        string body = mode == 0
            ? $$"""
                  int iy = min(max({{Near("sy")}}, 0), {{H - 1}}), ix = min(max({{Near("sx")}}, 0), {{W - 1}});
                  A[{{Addr(l.Outputs[0], "n")}} + r] = x[iy * {{W}} + ix];

                """
            : $$"""
                  sy = fminf(fmaxf(sy, 0.0f), {{Fl(H - 1)}}); sx = fminf(fmaxf(sx, 0.0f), {{Fl(W - 1)}});
                  int y0 = (int)sy, x0 = (int)sx, y1 = min(y0 + 1, {{H - 1}}), x1 = min(x0 + 1, {{W - 1}});
                  float fy = sy - y0, fx = sx - x0;
                  float v = (1.0f - fy) * ((1.0f - fx) * LD(x[y0 * {{W}} + x0]) + fx * LD(x[y0 * {{W}} + x1])) + fy * ((1.0f - fx) * LD(x[y1 * {{W}} + x0]) + fx * LD(x[y1 * {{W}} + x1]));
                  A[{{Addr(l.Outputs[0], "n")}} + r] = ST(v);

                """;
        return Simple(f, C * OH * OW, head + body);
    }

    private KernelCandidate Softmax(Layer l, string f)
    {
        long outer = l.I[0], len = l.I[1], inner = l.I[2];
        string body = $$"""
              long o = r / {{inner}}L, i = r - o * {{inner}}L;
              const T* x = A + {{Addr(l.Inputs[0], "n")}} + o * {{len * inner}}L + i;
              T* y = A + {{Addr(l.Outputs[0], "n")}} + o * {{len * inner}}L + i;
              float mx = __int_as_float(0xff800000);
              for (long k = 0; k < {{len}}L; k++) mx = fmaxf(mx, LD(x[k * {{inner}}L]));
              float sum = 0.0f;
              for (long k = 0; k < {{len}}L; k++) sum += expf(LD(x[k * {{inner}}L]) - mx);
              for (long k = 0; k < {{len}}L; k++) y[k * {{inner}}L] = ST(expf(LD(x[k * {{inner}}L]) - mx) / sum);

            """;
        return Simple(f, outer * inner, body);
    }
}
