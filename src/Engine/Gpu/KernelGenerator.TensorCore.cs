using System.Text;
using Vigil.Engine.Plan;

namespace Vigil.Engine.Gpu;

// Convolution kernels tuned for the memory-bound shapes of small detectors: tensor-core implicit GEMM with
// ldmatrix-fed operands (1x1 and dense KxK), and shared-memory tiled depthwise convolution.
public sealed partial class KernelGenerator
{
    /// <summary>Largest power of two (up to 8) dividing every element offset this tensor can start at.</summary>
    private int AlignmentOf(TensorRef r, long rowElements)
    {
        var b = _p.Buffers[r.Buffer];
        long g = Gcd(Gcd(Gcd(b.Offset, b.SampleSize), r.Offset), rowElements);
        int a = 1;
        while (a < 8 && g % (a * 2) == 0) a *= 2;
        return a;
    }

    private static long Gcd(long a, long b) { while (b != 0) (a, b) = (b, a % b); return Math.Abs(a); }

    /// <summary>
    /// FP16 tensor-core implicit GEMM for dense (G = 1) convolutions: Y[m, p] = sum_k W[m, k] X[k, p] per image, with
    /// k = (ic, ky, kx). A block of 4 warps owns <c>16·mi</c> output channels × <c>32·ni</c> output pixels; the X tile
    /// (<c>kc</c> rows) is staged in shared memory (16-byte vector loads for aligned 1x1 inputs, an im2col gather
    /// otherwise) and read into mma fragments with ldmatrix.trans; weights go straight from global memory (L1-resident)
    /// into A fragments. The epilogue (bias, activation, residual) runs on the accumulators and stores pairs.
    /// </summary>
    private IEnumerable<KernelCandidate> TensorCoreConv(Layer l, string f)
    {
        var I = l.I;
        long Cin = I[0], H = I[1], W = I[2], Cout = I[3], OH = I[4], OW = I[5], KH = I[6], KW = I[7], SH = I[8], SW = I[9], PT = I[10], PL = I[11], DH = I[12], DW = I[13], G = I[14];
        if (!_half || !MmaEnabled || G != 1 || AnyWide(l)) yield break;
        bool pointwise = KH == 1 && KW == 1 && SH == 1 && SW == 1 && PT == 0 && PL == 0;
        long M = Cout, K = Cin * KH * KW, P = OH * OW;
        var x = l.Inputs[0]; var y = l.Outputs[0];
        int vin = pointwise ? AlignmentOf(x, P) : 1;
        int vout = AlignmentOf(y, P) >= 2 ? 2 : 1;
        bool kEven = K % 2 == 0;
        long m16 = (M + 15) / 16;
        foreach (int mi in new[] { 1, 2, 4, 8 })
        {
            if (mi > 1 && m16 <= mi / 2) continue;
            foreach (int ni in new[] { 2, 4 })
            {
                if (mi * ni > 16) continue; // accumulators beyond 64 registers spill
                int bm = 16 * mi, bp = 32 * ni, ldx = bp + 8;
                // The whole K in one stage when it fits in shared memory (one load phase, one barrier: small-image layers
                // are latency-bound), else chunks of 64 rows.
                int kFull = (int)((K + 15) / 16 * 16);
                int kc = kFull * ldx * 2 <= 40 * 1024 ? kFull : 64;
                bool staged = AlignmentOf(y, P) == 8;
                int ldc = bp + 4;
                int smemBytes = Math.Max(kc * ldx * 2, staged ? bm * ldc * 4 : 0);
                string fn = $"{f}_tc{bm}x{bp}";
                var sb = new StringBuilder();
                sb.Append($$"""
                    extern "C" __global__ void __launch_bounds__(128) {{fn}}(KARGS) {
                      // Shared memory holds the X tile during the K loop, then the output tile (FP32) for coalesced stores.
                      __shared__ __align__(16) unsigned char smem[{{smemBytes}}];
                      T (*Xs)[{{ldx}}] = (T (*)[{{ldx}}])smem;
                      int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
                      int gid = lane >> 2, tig = lane & 3;
                      int p0 = blockIdx.x * {{bp}}, m0 = blockIdx.y * {{bm}}, n = blockIdx.z;
                      const T* X = A + {{Addr(x, "n")}};
                      const T* Wt = {{ConstT(l.Inputs[1])}};
                      float c[{{mi}}][{{ni}}][4];
                      #pragma unroll
                      for (int i = 0; i < {{mi}}; i++)
                        #pragma unroll
                        for (int j = 0; j < {{ni}}; j++)
                          #pragma unroll
                          for (int e = 0; e < 4; e++) c[i][j][e] = 0.0f;

                    """);
                if (!pointwise)
                {
                    // im2col gather: thread t owns column (t % bp) for the whole kernel, its output pixel decoded once.
                    sb.Append($$"""
                          int gcol = threadIdx.x % {{bp}}, grow0 = threadIdx.x / {{bp}};
                          int gp = p0 + gcol;
                          int goy = gp / {{OW}}, gox = gp - goy * {{OW}};
                          bool gin = gp < {{P}};

                        """);
                }
                sb.Append($$"""
                      for (int k0 = 0; k0 < {{K}}; k0 += {{kc}}) {

                    """);
                sb.Append(pointwise ? PointwiseLoader(vin, kc, bp, K, P) : GatherLoader(kc, bp, K, Cin, H, W, KH, KW, SH, SW, PT, PL, DH, DW));
                string ldw = kEven
                    ? "(*(const unsigned*)(Wt + (long)(mm) * " + K + " + (kk)))"
                    : "((unsigned)Wt[(long)(mm) * " + K + " + (kk)] | ((unsigned)Wt[(long)(mm) * " + K + " + (kk) + 1] << 16))";
                sb.Append($$"""
                        __syncthreads();
                        #pragma unroll
                        for (int ks = 0; ks < {{kc}}; ks += 16) {
                          unsigned a[{{mi}}][4];
                          #pragma unroll
                          for (int i = 0; i < {{mi}}; i++) {
                            int mA = m0 + i * 16 + gid, mB = mA + 8, kA = k0 + ks + tig * 2, kB = kA + 8;
                            #define VW(mm, kk) {{ldw}}
                            a[i][0] = (mA < {{M}} && kA < {{K}}) ? VW(mA, kA) : 0u;
                            a[i][1] = (mB < {{M}} && kA < {{K}}) ? VW(mB, kA) : 0u;
                            a[i][2] = (mA < {{M}} && kB < {{K}}) ? VW(mA, kB) : 0u;
                            a[i][3] = (mB < {{M}} && kB < {{K}}) ? VW(mB, kB) : 0u;
                            #undef VW
                          }
                          #pragma unroll
                          for (int j = 0; j < {{ni / 2}}; j++) {
                            unsigned b[4];
                            vldsm4t(b, &Xs[ks + (lane & 7) + ((lane >> 3) & 1) * 8][warp * {{ni * 8}} + j * 16 + (lane >> 4) * 8]);
                            #pragma unroll
                            for (int i = 0; i < {{mi}}; i++) { vmma(c[i][2 * j], a[i], b); vmma(c[i][2 * j + 1], a[i], b + 2); }
                          }
                        }
                        __syncthreads();
                      }
                      T* Y = A + {{Addr(y, "n")}};

                    """);
                if (staged)
                {
                    sb.Append($$"""
                          float (*Cs)[{{ldc}}] = (float (*)[{{ldc}}])smem;
                          #pragma unroll
                          for (int i = 0; i < {{mi}}; i++)
                            #pragma unroll
                            for (int h = 0; h < 2; h++) {
                              int ml = i * 16 + gid + h * 8;
                              float bias = m0 + ml < {{M}} ? {{ConstF(l.Inputs[2])}}[m0 + ml] : 0.0f;
                              #pragma unroll
                              for (int j = 0; j < {{ni}}; j++) {
                                int pl = warp * {{ni * 8}} + j * 8 + tig * 2;
                                Cs[ml][pl] = c[i][j][2 * h] + bias; Cs[ml][pl + 1] = c[i][j][2 * h + 1] + bias;
                              }
                            }
                          __syncthreads();
                          for (int e = threadIdx.x; e < {{bm * bp / 8}}; e += 128) {
                            int ml = e / {{bp / 8}}, pl = (e - ml * {{bp / 8}}) * 8;
                            int m = m0 + ml, p = p0 + pl;
                            if (m >= {{M}} || p >= {{P}}) continue;
                            long r0 = (long)m * {{P}} + p;

                        """);
                    PackedStore(sb, l, 8, "Cs[ml][pl + q]", "p", P);
                    sb.Append("    }\n}\n\n");
                }
                else
                {
                    sb.Append($$"""
                      #pragma unroll
                      for (int i = 0; i < {{mi}}; i++)
                        #pragma unroll
                        for (int h = 0; h < 2; h++) {
                          int m = m0 + i * 16 + gid + h * 8;
                          if (m >= {{M}}) continue;
                          float bias = {{ConstF(l.Inputs[2])}}[m];
                          #pragma unroll
                          for (int j = 0; j < {{ni}}; j++) {
                            int p = p0 + warp * {{ni * 8}} + j * 8 + tig * 2;
                            if (p >= {{P}}) continue;
                            long r = (long)m * {{P}} + p;
                            float v0 = c[i][j][2 * h] + bias, v1 = c[i][j][2 * h + 1] + bias;

                    """);
                    string r0 = EpilogueScoped(sb, l, "v0", "n", "r", "q0");
                    if (vout == 2 && P % 2 == 0)
                    {
                        string r1 = EpilogueScoped(sb, l, "v1", "n", "r + 1", "q1");
                        sb.Append($"        *(unsigned*)(Y + r) = (unsigned)ST({r0}) | ((unsigned)ST({r1}) << 16);\n");
                    }
                    else
                    {
                        sb.Append($"        Y[r] = ST({r0});\n        if (p + 1 < {P}) {{\n");
                        string r1 = EpilogueScoped(sb, l, "v1", "n", "r + 1", "q1");
                        sb.Append($"        Y[r + 1] = ST({r1});\n        }}\n");
                    }
                    sb.Append("      }\n    }\n}\n\n");
                }
                yield return new KernelCandidate($"tc{bm}x{bp}", sb.ToString(), new KernelLaunch(fn, 0, (int)((P + bp - 1) / bp), (int)((M + bm - 1) / bm), 128));
            }
        }
    }

    /// <summary>
    /// FP16 tensor-core convolution for dense KxK layers with a small reduction (Cin·KH·KW ≤ 160, e.g. a network's stem):
    /// a block of 4 warps computes a 4-row × 32-column output tile; the input patch it needs (all channels, with halo)
    /// is staged once in shared memory, and each mma B fragment is read straight from that patch through per-thread
    /// offset tables (an implicit im2col with no im2col buffer).
    /// </summary>
    private IEnumerable<KernelCandidate> TensorCoreDirectConv(Layer l, string f)
    {
        var I = l.I;
        long Cin = I[0], H = I[1], W = I[2], Cout = I[3], OH = I[4], OW = I[5], KH = I[6], KW = I[7], SH = I[8], SW = I[9], PT = I[10], PL = I[11], DH = I[12], DW = I[13], G = I[14];
        long K = Cin * KH * KW, M = Cout, P = OH * OW;
        if (!_half || !MmaEnabled || G != 1 || K > 160 || M > 64 || (KH == 1 && KW == 1) || AnyWide(l)) yield break;
        const int th = 4, tw = 32;
        long sr = (th - 1) * SH + (KH - 1) * DH + 1, sc = (tw - 1) * SW + (KW - 1) * DW + 1;
        long plane = sr * sc;
        if (Cin * plane * 2 > 40 * 1024) yield break;
        int ks = (int)((K + 15) / 16);
        int mi = (int)((M + 15) / 16);
        var x = l.Inputs[0]; var y = l.Outputs[0];
        // With an even channel count the patch is staged channel-last (HWC) and the reduction runs (ky, kx, ic): each
        // B register (two consecutive k) is then one 32-bit shared load instead of two 16-bit ones.
        bool hwc = Cin % 2 == 0;
        string fn = $"{f}_tcd{16 * mi}";
        string stageAndOffsets = hwc
            ? $$"""
                  for (int e = threadIdx.x; e < {{Cin * plane}}; e += 128) {
                    int ic = e / {{plane}}, rem = e - ic * {{plane}};
                    int rr = rem / {{sc}}, cc = rem - rr * {{sc}};
                    int iy = iy0 + rr, ix = ix0 + cc;
                    S[rem * {{Cin}} + ic] = (iy >= 0 && iy < {{H}} && ix >= 0 && ix < {{W}}) ? X[(long)ic * {{H * W}} + iy * {{W}} + ix] : (T)0;
                  }
                  // Per k = 16 s + 2 tig + {0, 8}: offset of the (ic, ic+1) pair in S, and of W[., ic, ky, kx] in a weight row.
                  int ko[{{ks}}][2], wo[{{ks}}][2];
                  #pragma unroll
                  for (int s = 0; s < {{ks}}; s++)
                    #pragma unroll
                    for (int q = 0; q < 2; q++) {
                      int k = s * 16 + tig * 2 + q * 8;
                      int kk = k / {{Cin}}, ic = k - kk * {{Cin}}, ky = kk / {{KW}}, kx = kk - ky * {{KW}};
                      ko[s][q] = k < {{K}} ? (ky * {{DH * sc}} + kx * {{DW}}) * {{Cin}} + ic : -1;
                      wo[s][q] = ic * {{KH * KW}} + ky * {{KW}} + kx;
                    }
                """
            : $$"""
                  for (int e = threadIdx.x; e < {{Cin * plane}}; e += 128) {
                    int ic = e / {{plane}}, rem = e - ic * {{plane}};
                    int rr = rem / {{sc}}, cc = rem - rr * {{sc}};
                    int iy = iy0 + rr, ix = ix0 + cc;
                    S[e] = (iy >= 0 && iy < {{H}} && ix >= 0 && ix < {{W}}) ? X[(long)ic * {{H * W}} + iy * {{W}} + ix] : (T)0;
                  }
                  // Offsets into S of the reduction indices this thread feeds to B fragments: k = 16 s + 2 tig + {0, 1, 8, 9}.
                  int ko[{{ks}}][4];
                  #pragma unroll
                  for (int s = 0; s < {{ks}}; s++)
                    #pragma unroll
                    for (int q = 0; q < 4; q++) {
                      int k = s * 16 + tig * 2 + (q & 1) + (q >> 1) * 8;
                      int ic = k / {{KH * KW}}, rem = k - ic * {{KH * KW}}, ky = rem / {{KW}}, kx = rem - ky * {{KW}};
                      ko[s][q] = k < {{K}} ? ic * {{plane}} + ky * {{DH * sc}} + kx * {{DW}} : -1;
                    }
                """;
        string fragments = hwc
            ? $$"""
                    #pragma unroll
                    for (int i = 0; i < {{mi}}; i++) {
                      int mA = i * 16 + gid, mB = mA + 8;
                      #define VW(mm, q) ((unsigned)Wt[(mm) * {{K}} + wo[s][q]] | ((unsigned)Wt[(mm) * {{K}} + wo[s][q] + {{KH * KW}}] << 16))
                      a[i][0] = (mA < {{M}} && ko[s][0] >= 0) ? VW(mA, 0) : 0u;
                      a[i][1] = (mB < {{M}} && ko[s][0] >= 0) ? VW(mB, 0) : 0u;
                      a[i][2] = (mA < {{M}} && ko[s][1] >= 0) ? VW(mA, 1) : 0u;
                      a[i][3] = (mB < {{M}} && ko[s][1] >= 0) ? VW(mB, 1) : 0u;
                      #undef VW
                    }
                    #pragma unroll
                    for (int j = 0; j < 4; j++) {
                      int po = (warp * {{SH * sc}} + (j * 8 + gid) * {{SW}}) * {{Cin}};
                      unsigned b[2];
                      b[0] = ko[s][0] >= 0 ? *(const unsigned*)&S[ko[s][0] + po] : 0u;
                      b[1] = ko[s][1] >= 0 ? *(const unsigned*)&S[ko[s][1] + po] : 0u;
                      #pragma unroll
                      for (int i = 0; i < {{mi}}; i++) vmma(c[i][j], a[i], b);
                    }
                """
            : $$"""
                    #pragma unroll
                    for (int i = 0; i < {{mi}}; i++) {
                      int mA = i * 16 + gid, mB = mA + 8, kA = s * 16 + tig * 2, kB = kA + 8;
                      #define VW(mm, kk) ((unsigned)Wt[(mm) * {{K}} + (kk)] | ((kk) + 1 < {{K}} ? (unsigned)Wt[(mm) * {{K}} + (kk) + 1] << 16 : 0u))
                      a[i][0] = (mA < {{M}} && kA < {{K}}) ? VW(mA, kA) : 0u;
                      a[i][1] = (mB < {{M}} && kA < {{K}}) ? VW(mB, kA) : 0u;
                      a[i][2] = (mA < {{M}} && kB < {{K}}) ? VW(mA, kB) : 0u;
                      a[i][3] = (mB < {{M}} && kB < {{K}}) ? VW(mB, kB) : 0u;
                      #undef VW
                    }
                    #pragma unroll
                    for (int j = 0; j < 4; j++) {
                      int po = warp * {{SH * sc}} + (j * 8 + gid) * {{SW}};
                      unsigned b[2];
                      unsigned v0 = ko[s][0] >= 0 ? (unsigned)S[ko[s][0] + po] : 0u, v1 = ko[s][1] >= 0 ? (unsigned)S[ko[s][1] + po] : 0u;
                      unsigned v2 = ko[s][2] >= 0 ? (unsigned)S[ko[s][2] + po] : 0u, v3 = ko[s][3] >= 0 ? (unsigned)S[ko[s][3] + po] : 0u;
                      b[0] = v0 | (v1 << 16); b[1] = v2 | (v3 << 16);
                      #pragma unroll
                      for (int i = 0; i < {{mi}}; i++) vmma(c[i][j], a[i], b);
                    }
                """;
        var sb = new StringBuilder();
        sb.Append($$"""
            extern "C" __global__ void __launch_bounds__(128) {{fn}}(KARGS) {
              __shared__ __align__(16) T S[{{Cin * plane}}];
              int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
              int gid = lane >> 2, tig = lane & 3;
              int ox0 = blockIdx.x % {{(OW + tw - 1) / tw}} * {{tw}}, oy0 = blockIdx.x / {{(OW + tw - 1) / tw}} * {{th}}, n = blockIdx.z;
              const T* X = A + {{Addr(x, "n")}};
              const T* Wt = {{ConstT(l.Inputs[1])}};
              int iy0 = oy0 * {{SH}} - {{PT}}, ix0 = ox0 * {{SW}} - {{PL}};
              {{stageAndOffsets}}
              float c[{{mi}}][4][4];
              #pragma unroll
              for (int i = 0; i < {{mi}}; i++)
                #pragma unroll
                for (int j = 0; j < 4; j++)
                  #pragma unroll
                  for (int e = 0; e < 4; e++) c[i][j][e] = 0.0f;
              __syncthreads();
              #pragma unroll
              for (int s = 0; s < {{ks}}; s++) {
                unsigned a[{{mi}}][4];
              {{fragments}}
              }
              T* Y = A + {{Addr(y, "n")}};

            """);
        bool staged = AlignmentOf(y, OW) == 8 && Cin * plane * 2 + 16 * mi * th * tw * 4 <= 46 * 1024;
        if (staged)
        {
            // Output tile through shared memory: each (channel, row) segment of 32 pixels leaves as four 16-byte stores.
            sb.Append($$"""
                  __shared__ __align__(16) float Cs[{{16 * mi}}][{{th * tw}}];
                  #pragma unroll
                  for (int i = 0; i < {{mi}}; i++)
                    #pragma unroll
                    for (int h = 0; h < 2; h++) {
                      int m = i * 16 + gid + h * 8;
                      float bias = m < {{M}} ? {{ConstF(l.Inputs[2])}}[m] : 0.0f;
                      #pragma unroll
                      for (int j = 0; j < 4; j++) {
                        int pl = warp * {{tw}} + j * 8 + tig * 2;
                        Cs[m][pl] = c[i][j][2 * h] + bias; Cs[m][pl + 1] = c[i][j][2 * h + 1] + bias;
                      }
                    }
                  __syncthreads();
                  for (int e = threadIdx.x; e < {{16 * mi * th * (tw / 8)}}; e += 128) {
                    int m = e / {{th * (tw / 8)}}, rem = e - m * {{th * (tw / 8)}};
                    int row = rem / {{tw / 8}}, seg = (rem - row * {{tw / 8}}) * 8;
                    int oy = oy0 + row, ox = ox0 + seg;
                    if (m >= {{M}} || oy >= {{OH}} || ox >= {{OW}}) continue;
                    long r0 = (long)m * {{P}} + (long)oy * {{OW}} + ox;

                """);
            PackedStore(sb, l, 8, $"Cs[m][row * {tw} + seg + q]", "ox", OW);
            sb.Append("  }\n}\n\n");
        }
        else
        {
            sb.Append($$"""
                  int oy = oy0 + warp;
                  if (oy >= {{OH}}) return;
                  #pragma unroll
                  for (int i = 0; i < {{mi}}; i++)
                    #pragma unroll
                    for (int h = 0; h < 2; h++) {
                      int m = i * 16 + gid + h * 8;
                      if (m >= {{M}}) continue;
                      float bias = {{ConstF(l.Inputs[2])}}[m];
                      #pragma unroll
                      for (int j = 0; j < 4; j++)
                        #pragma unroll
                        for (int u = 0; u < 2; u++) {
                          int ox = ox0 + j * 8 + tig * 2 + u;
                          if (ox >= {{OW}}) continue;
                          long r = (long)m * {{P}} + (long)oy * {{OW}} + ox;
                          float v = c[i][j][2 * h + u] + bias;

                """);
            string res = EpilogueScoped(sb, l, "v", "n", "r", "q");
            sb.Append($"          Y[r] = ST({res});\n        }}\n    }}\n}}\n\n");
        }
        long tiles = (OH + th - 1) / th * ((OW + tw - 1) / tw);
        yield return new KernelCandidate($"tcd{16 * mi}", sb.ToString(), new KernelLaunch(fn, 0, (int)tiles, 1, 128));
    }

    /// <summary>
    /// Software-pipelined FP16 tensor-core 1x1 convolution for memory-bound layers (whole K in one tile, aligned rows):
    /// each block walks <c>tpb</c> pixel tiles of one image; while it multiplies and stores tile t, the 16-byte loads of
    /// tile t+1 are already in flight in registers. The weights' A fragments stay in registers for all tiles, the output
    /// tile goes through shared memory so every global store is a 16-byte vector.
    /// </summary>
    private IEnumerable<KernelCandidate> PipelinedPointwiseConv(Layer l, string f)
    {
        var I = l.I;
        long Cin = I[0], Cout = I[3], OH = I[4], OW = I[5], KH = I[6], KW = I[7], SH = I[8], SW = I[9], PT = I[10], PL = I[11], G = I[14];
        if (!_half || !MmaEnabled || G != 1 || KH != 1 || KW != 1 || SH != 1 || SW != 1 || PT != 0 || PL != 0 || AnyWide(l)) yield break;
        long M = Cout, K = Cin, P = OH * OW;
        var x = l.Inputs[0]; var y = l.Outputs[0];
        int v = AlignmentOf(x, P);
        int vo = Math.Min(8, AlignmentOf(y, P));
        if (v < 4 || vo < 4 || K % 2 != 0) yield break;
        string vt = v == 8 ? "uint4" : "uint2";
        int kc = (int)((K + 15) / 16 * 16);
        long m16 = (M + 15) / 16;
        foreach (int mi in new[] { 1, 2, 4 })
        {
            if (mi > 1 && m16 <= mi / 2) continue;
            foreach (int ni in new[] { 2, 4 })
            {
                int bm = 16 * mi, bp = 32 * ni, ldx = bp + 8, ldc = bp + 4;
                int pre = kc * bp / v / 128;                 // vectors prefetched per thread
                if (pre < 1 || pre > 8 || mi * (kc / 16) > 16 || mi * ni > 8) continue;
                long tiles = (P + bp - 1) / bp;
                foreach (int tpb in new[] { 2, 4 })
                {
                    if (tiles < tpb) continue;
                    string fn = $"{f}_tcp{bm}x{bp}t{tpb}";
                    int per = bp / v;
                    var sb = new StringBuilder();
                    sb.Append($$"""
                        extern "C" __global__ void __launch_bounds__(128) {{fn}}(KARGS) {
                          __shared__ __align__(16) T Xs[{{kc}}][{{ldx}}];
                          __shared__ __align__(16) float Cs[{{bm}}][{{ldc}}];
                          int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
                          int gid = lane >> 2, tig = lane & 3;
                          int m0 = blockIdx.y * {{bm}}, n = blockIdx.z;
                          const T* X = A + {{Addr(x, "n")}};
                          const T* Wt = {{ConstT(l.Inputs[1])}};
                          T* Y = A + {{Addr(y, "n")}};
                          unsigned a[{{mi}}][{{kc / 16}}][4];
                          #pragma unroll
                          for (int i = 0; i < {{mi}}; i++)
                            #pragma unroll
                            for (int s = 0; s < {{kc / 16}}; s++) {
                              int mA = m0 + i * 16 + gid, mB = mA + 8, kA = s * 16 + tig * 2, kB = kA + 8;
                              a[i][s][0] = (mA < {{M}} && kA < {{K}}) ? *(const unsigned*)(Wt + mA * {{K}} + kA) : 0u;
                              a[i][s][1] = (mB < {{M}} && kA < {{K}}) ? *(const unsigned*)(Wt + mB * {{K}} + kA) : 0u;
                              a[i][s][2] = (mA < {{M}} && kB < {{K}}) ? *(const unsigned*)(Wt + mA * {{K}} + kB) : 0u;
                              a[i][s][3] = (mB < {{M}} && kB < {{K}}) ? *(const unsigned*)(Wt + mB * {{K}} + kB) : 0u;
                            }
                          float bias[{{mi}}][2];
                          #pragma unroll
                          for (int i = 0; i < {{mi}}; i++)
                            #pragma unroll
                            for (int h = 0; h < 2; h++) { int m = m0 + i * 16 + gid + h * 8; bias[i][h] = m < {{M}} ? {{ConstF(l.Inputs[2])}}[m] : 0.0f; }
                          union U { {{vt}} vec; unsigned short h[{{v}}]; };
                          U pre[{{pre}}];
                          int t = blockIdx.x * {{tpb}}, tEnd = min(t + {{tpb}}, {{tiles}});
                          #define VLOAD(tt)                             _Pragma("unroll")                             for (int q = 0; q < {{pre}}; q++) {                               int e = threadIdx.x + q * 128, kk = e / {{per}}, pc = (e - kk * {{per}}) * {{v}};                               int p = (tt) * {{bp}} + pc;                               if (kk < {{K}} && p + {{v}} <= {{P}}) pre[q].vec = *(const {{vt}}*)(X + (long)kk * {{P}} + p);                               else { _Pragma("unroll") for (int r = 0; r < {{v}}; r++) pre[q].h[r] = (kk < {{K}} && p + r < {{P}}) ? X[(long)kk * {{P}} + p + r] : (unsigned short)0; }                             }
                          VLOAD(t)
                          for (; t < tEnd; t++) {
                            #pragma unroll
                            for (int q = 0; q < {{pre}}; q++) {
                              int e = threadIdx.x + q * 128, kk = e / {{per}}, pc = (e - kk * {{per}}) * {{v}};
                              *({{vt}}*)&Xs[kk][pc] = pre[q].vec;
                            }
                            __syncthreads();
                            if (t + 1 < tEnd) { VLOAD(t + 1) }
                            float c[{{mi}}][{{ni}}][4];
                            #pragma unroll
                            for (int i = 0; i < {{mi}}; i++)
                              #pragma unroll
                              for (int j = 0; j < {{ni}}; j++)
                                #pragma unroll
                                for (int e = 0; e < 4; e++) c[i][j][e] = 0.0f;
                            #pragma unroll
                            for (int s = 0; s < {{kc / 16}}; s++)
                              #pragma unroll
                              for (int j = 0; j < {{ni / 2}}; j++) {
                                unsigned b[4];
                                vldsm4t(b, &Xs[s * 16 + (lane & 7) + ((lane >> 3) & 1) * 8][warp * {{ni * 8}} + j * 16 + (lane >> 4) * 8]);
                                #pragma unroll
                                for (int i = 0; i < {{mi}}; i++) { vmma(c[i][2 * j], a[i][s], b); vmma(c[i][2 * j + 1], a[i][s], b + 2); }
                              }
                            #pragma unroll
                            for (int i = 0; i < {{mi}}; i++)
                              #pragma unroll
                              for (int h = 0; h < 2; h++)
                                #pragma unroll
                                for (int j = 0; j < {{ni}}; j++) {
                                  int ml = i * 16 + gid + h * 8, pl = warp * {{ni * 8}} + j * 8 + tig * 2;
                                  Cs[ml][pl] = c[i][j][2 * h] + bias[i][h]; Cs[ml][pl + 1] = c[i][j][2 * h + 1] + bias[i][h];
                                }
                            __syncthreads();
                            for (int e = threadIdx.x; e < {{bm * bp / vo}}; e += 128) {
                              int ml = e / {{bp / vo}}, pl = (e - ml * {{bp / vo}}) * {{vo}};
                              int m = m0 + ml, p = t * {{bp}} + pl;
                              if (m >= {{M}} || p >= {{P}}) continue;
                              long r0 = (long)m * {{P}} + p;

                        """);
                    PackedStore(sb, l, vo, "Cs[ml][pl + q]", "p", P);
                    sb.Append("      }\n      __syncthreads();\n    }\n    #undef VLOAD\n}\n\n");
                    yield return new KernelCandidate($"tcp{bm}x{bp}t{tpb}", sb.ToString(), new KernelLaunch(fn, 0, (int)((tiles + tpb - 1) / tpb), (int)((M + bm - 1) / bm), 128));
                }
            }
        }
    }

    /// <summary>Stages rows k0.. of a 1x1 convolution's input: vector loads of <paramref name="v"/> halves where aligned.</summary>
    private static string PointwiseLoader(int v, int kc, int bp, long K, long P)
    {
        string vt = v switch { 8 => "uint4", 4 => "uint2", 2 => "unsigned", _ => "T" };
        int per = bp / v;
        return $$"""
                for (int e = threadIdx.x; e < {{kc * per}}; e += 128) {
                  int kk = e / {{per}}, pc = (e - kk * {{per}}) * {{v}};
                  int k = k0 + kk, p = p0 + pc;
                  T* dst = &Xs[kk][pc];
                  if (k < {{K}} && p + {{v}} <= {{P}}) *({{vt}}*)dst = *(const {{vt}}*)(X + (long)k * {{P}} + p);
                  else {
                    #pragma unroll
                    for (int q = 0; q < {{v}}; q++) dst[q] = (k < {{K}} && p + q < {{P}}) ? X[(long)k * {{P}} + p + q] : (T)0;
                  }
                }

            """;
    }

    /// <summary>Stages rows k0.. of the im2col matrix of a KxK convolution (zero padding outside the image).</summary>
    private static string GatherLoader(int kc, int bp, long K, long Cin, long H, long W, long KH, long KW, long SH, long SW, long PT, long PL, long DH, long DW)
    {
        int rowsPerPass = 128 / bp;
        return $$"""
                #pragma unroll
                for (int kk = grow0; kk < {{kc}}; kk += {{rowsPerPass}}) {
                  int k = k0 + kk;
                  T v = (T)0;
                  if (gin && k < {{K}}) {
                    int ic = k / {{KH * KW}}, rem = k - ic * {{KH * KW}};
                    int ky = rem / {{KW}}, kx = rem - ky * {{KW}};
                    int iy = goy * {{SH}} - {{PT}} + ky * {{DH}}, ix = gox * {{SW}} - {{PL}} + kx * {{DW}};
                    if (iy >= 0 && iy < {{H}} && ix >= 0 && ix < {{W}}) v = X[(long)ic * {{H * W}} + iy * {{W}} + ix];
                  }
                  Xs[kk][gcol] = v;
                }

            """;
    }

    /// <summary>
    /// Emits the store of <paramref name="v"/> consecutive outputs starting at arena index <c>r0</c> of <c>Y</c> (FP16): each
    /// value (<paramref name="source"/>, an expression of <c>q</c>) goes through the epilogue, the halves are packed into
    /// one 8- or 16-byte store, and a scalar tail handles the end of a row (<paramref name="pos"/> + q &lt; <paramref name="limit"/>).
    /// </summary>
    private void PackedStore(StringBuilder sb, Layer l, int v, string source, string pos, long limit)
    {
        sb.Append($$"""
                  unsigned short o[{{v}}];
                  #pragma unroll
                  for (int q = 0; q < {{v}}; q++) {
                    long r = r0 + q;
                    float v = {{source}};

            """);
        string res = EpilogueScoped(sb, l, "v", "n", "r", "z");
        string vt = v == 8 ? "uint4" : "uint2";
        string pack = v == 8
            ? "pk.x = (unsigned)o[0] | ((unsigned)o[1] << 16); pk.y = (unsigned)o[2] | ((unsigned)o[3] << 16); pk.z = (unsigned)o[4] | ((unsigned)o[5] << 16); pk.w = (unsigned)o[6] | ((unsigned)o[7] << 16);"
            : "pk.x = (unsigned)o[0] | ((unsigned)o[1] << 16); pk.y = (unsigned)o[2] | ((unsigned)o[3] << 16);";
        sb.Append($$"""
                    o[q] = ST({{res}});
                  }
                  if ({{pos}} + {{v}} <= {{limit}}) { {{vt}} pk; {{pack}} *({{vt}}*)(Y + r0) = pk; }
                  else for (int q = 0; q < {{v}} && {{pos}} + q < {{limit}}; q++) Y[r0 + q] = o[q];

            """);
    }

    /// <summary>The fused epilogue in its own scope (so it can be emitted several times in one kernel); returns a variable holding the result.</summary>
    private string EpilogueScoped(StringBuilder sb, Layer l, string acc, string n, string elem, string result)
    {
        sb.Append($"        float {result};\n        {{\n");
        var inner = new StringBuilder();
        string res = Epilogue(inner, l, acc, n, $"({elem})");
        sb.Append(inner);
        sb.Append($"        {result} = {res};\n        }}\n");
        return result;
    }

    /// <summary>
    /// Depthwise convolution (one input channel per output channel): a block computes <paramref name="th"/> full output
    /// rows of one channel of one image from an input strip staged in shared memory (zero-padded), weights in registers.
    /// </summary>
    private IEnumerable<KernelCandidate> DepthwiseConv(Layer l, string f)
    {
        var I = l.I;
        long Cin = I[0], H = I[1], W = I[2], Cout = I[3], OH = I[4], OW = I[5], KH = I[6], KW = I[7], SH = I[8], SW = I[9], PT = I[10], PL = I[11], DH = I[12], DW = I[13], G = I[14];
        if (G != Cin || Cin != Cout || KH * KW > 49 || AnyWide(l)) yield break;
        var x = l.Inputs[0]; var y = l.Outputs[0];
        var seen = new HashSet<long>();
        // (tile rows, outputs per thread down a column): R = 1 is one output per thread; R > 1 slides a register
        // window down the column, so each staged input row is read once per R outputs instead of KH times.
        var configs = new List<(long Th, int R)>();
        foreach (int target in new[] { 1024, 4096 }) configs.Add((Math.Clamp((target + OW - 1) / OW, 1, OH), 1));
        foreach (int rr in new[] { 2, 4, 8 })
            if (OH >= rr) configs.Add((rr * Math.Max(1, Math.Min(256 / OW, (OH + rr - 1) / rr)), rr));
        foreach (var (th, R) in configs)
        {
            if (!seen.Add(th * 16 + R)) continue;
            long rows = (th - 1) * SH + (KH - 1) * DH + 1;
            long cols = (OW - 1) * SW + (KW - 1) * DW + 1;
            if (rows * cols * 4 > 40 * 1024) continue;
            long tiles = (OH + th - 1) / th;
            string tactic = R == 1 ? $"dw{th}" : $"dwr{R}x{th}";
            string fn = $"{f}_{tactic}";
            var sb = new StringBuilder();
            // Staging: FP16 rows are read in vectors of v halves (16 bytes where the plane is 8-aligned).
            int v = _half ? Math.Min(8, AlignmentOf(x, W)) : 1;
            string Staging;
            if (v == 1)
            {
                Staging = $$"""
                      for (int e = threadIdx.x; e < {{rows * cols}}; e += 256) {
                        int rr = e / {{cols}}, cc = e - rr * {{cols}};
                        int iy = iy0 + rr, ix = cc - {{PL}};
                        S[rr][cc] = (iy >= 0 && iy < {{H}} && ix >= 0 && ix < {{W}}) ? LD(xc[iy * {{W}} + ix]) : 0.0f;
                      }
                    """;
            }
            else
            {
                long ixs = -((PL + v - 1) / v) * v, groups = (cols - PL - ixs + v - 1) / v;
                string vt = v switch { 8 => "uint4", 4 => "uint2", _ => "unsigned" };
                Staging = $$"""
                      for (int e = threadIdx.x; e < {{rows * groups}}; e += 256) {
                        int rr = e / {{groups}}, g = e - rr * {{groups}};
                        int iy = iy0 + rr, ix = {{ixs}} + g * {{v}};
                        union { {{vt}} vec; unsigned short h[{{v}}]; } u;
                        bool rowOk = iy >= 0 && iy < {{H}};
                        if (rowOk && ix >= 0 && ix + {{v}} <= {{W}}) u.vec = *(const {{vt}}*)(xc + iy * {{W}} + ix);
                        else {
                          #pragma unroll
                          for (int q = 0; q < {{v}}; q++) u.h[q] = (rowOk && ix + q >= 0 && ix + q < {{W}}) ? xc[iy * {{W}} + ix + q] : (unsigned short)0;
                        }
                        #pragma unroll
                        for (int q = 0; q < {{v}}; q++) {
                          int cc = ix + q + {{PL}};
                          if (cc >= 0 && cc < {{cols}}) S[rr][cc] = LD(u.h[q]);
                        }
                      }
                    """;
            }
            sb.Append($$"""
                extern "C" __global__ void __launch_bounds__(256) {{fn}}(KARGS) {
                  __shared__ float S[{{rows}}][{{cols}}];
                  int c = blockIdx.y, n = blockIdx.z, oy0 = blockIdx.x * {{th}};
                  const T* xc = A + {{Addr(x, "n")}} + (long)c * {{H * W}};
                  int iy0 = oy0 * {{SH}} - {{PT}};
                  {{Staging}}
                  float w[{{KH * KW}}];
                  #pragma unroll
                  for (int q = 0; q < {{KH * KW}}; q++) w[q] = LD({{ConstT(l.Inputs[1])}}[c * {{KH * KW}} + q]);
                  float bias = {{ConstF(l.Inputs[2])}}[c];
                  __syncthreads();
                  T* Y = A + {{Addr(y, "n")}};

                """);
            if (R == 1)
            {
                sb.Append($$"""
                      for (int e = threadIdx.x; e < {{th * OW}}; e += 256) {
                        int ty = e / {{OW}}, tx = e - ty * {{OW}};
                        int oy = oy0 + ty;
                        if (oy >= {{OH}}) break;
                        float acc = bias;
                        #pragma unroll
                        for (int ky = 0; ky < {{KH}}; ky++)
                          #pragma unroll
                          for (int kx = 0; kx < {{KW}}; kx++) acc += w[ky * {{KW}} + kx] * S[ty * {{SH}} + ky * {{DH}}][tx * {{SW}} + kx * {{DW}}];
                        long r = (long)c * {{OH * OW}} + (long)oy * {{OW}} + tx;

                    """);
                string res = EpilogueScoped(sb, l, "acc", "n", "r", "q");
                sb.Append($"    Y[r] = ST({res});\n  }}\n}}\n\n");
            }
            else
            {
                long nr = (R - 1) * SH + (KH - 1) * DH + 1;
                sb.Append($$"""
                      for (int e = threadIdx.x; e < {{OW * (th / R)}}; e += 256) {
                        int g = e / {{OW}}, tx = e - g * {{OW}};
                        const float* s0 = &S[g * {{R * SH}}][tx * {{SW}}];
                        float acc[{{R}}];
                        #pragma unroll
                        for (int q = 0; q < {{R}}; q++) acc[q] = bias;

                    """);
                for (long t = 0; t < nr; t++)
                {
                    sb.Append("    {\n");
                    for (long kx = 0; kx < KW; kx++) sb.Append($"      float x{kx} = s0[{t * cols + kx * DW}];\n");
                    for (int q = 0; q < R; q++)
                    {
                        long d = t - q * SH;
                        if (d < 0 || d % DH != 0 || d / DH >= KH) continue;
                        long ky = d / DH;
                        for (long kx = 0; kx < KW; kx++) sb.Append($"      acc[{q}] += w[{ky * KW + kx}] * x{kx};\n");
                    }
                    sb.Append("    }\n");
                }
                sb.Append($$"""
                        #pragma unroll
                        for (int q = 0; q < {{R}}; q++) {
                          int oy = oy0 + g * {{R}} + q;
                          if (oy >= {{OH}}) break;
                          long r = (long)c * {{OH * OW}} + (long)oy * {{OW}} + tx;
                          float v = acc[q];

                    """);
                string res = EpilogueScoped(sb, l, "v", "n", "r", "z");
                sb.Append($"      Y[r] = ST({res});\n    }}\n  }}\n}}\n\n");
            }
            yield return new KernelCandidate(tactic, sb.ToString(), new KernelLaunch(fn, 0, (int)tiles, (int)Cout, 256));
        }
    }
}
