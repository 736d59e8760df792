// CPU emulation of Vigil's generated CUDA kernels (development check, no GPU needed).
// Linear kernels run thread by thread; tiled kernels (which use __syncthreads) run one block at a time on
// 256 OS threads meeting at a std::barrier. Compares output 0 with the CPU executor's expected output.
#include <barrier>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>
#include <algorithm>
#include "meta.h"

struct dim3_ { unsigned x = 0, y = 0, z = 0; };
thread_local dim3_ threadIdx, blockIdx, blockDim;
static std::barrier<>* g_barrier;
static std::barrier<>* g_warp[8];
static unsigned g_a[8][32][4], g_b[8][32][2];
// Emulates mma.sync.m16n8k16.row.col (f16 in, f32 accumulate) with the PTX fragment layout, one warp at a time.
static void vmma(float* c, const unsigned* a, const unsigned* b);
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(x)
#define __shared__ static
#define __align__(x) __attribute__((aligned(x)))
struct uint4 { unsigned x, y, z, w; };
struct uint2 { unsigned x, y; };
static const void* g_ldsm[8][32];
static inline void __syncthreads() { g_barrier->arrive_and_wait(); }
static inline float __int_as_float(unsigned v) { return std::bit_cast<float>(v); }
using std::min; using std::max;
#ifdef HALF
typedef uint16_t T;
static inline float LD(T v) { _Float16 h; std::memcpy(&h, &v, 2); return (float)h; }
static inline T ST(float f) { _Float16 h = (_Float16)f; T v; std::memcpy(&v, &h, 2); return v; }
#else
typedef float T;
static inline float LD(T v) { return v; }
static inline T ST(float f) { return f; }
#endif
static void vmma(float* c, const unsigned* a, const unsigned* b) {
  int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
  std::memcpy(g_a[w][lane], a, 16); std::memcpy(g_b[w][lane], b, 8);
  g_warp[w]->arrive_and_wait();
  float Am[16][16], Bm[16][8];
  for (int l = 0; l < 32; l++) {
    int g = l >> 2, t = l & 3;
    for (int i = 0; i < 4; i++) {
      int row = g + ((i & 1) ? 8 : 0), col = t * 2 + ((i & 2) ? 8 : 0);
      Am[row][col] = LD((T)(g_a[w][l][i] & 0xffff)); Am[row][col + 1] = LD((T)(g_a[w][l][i] >> 16));
    }
    for (int i = 0; i < 2; i++) {
      int k = t * 2 + (i ? 8 : 0);
      Bm[k][g] = LD((T)(g_b[w][l][i] & 0xffff)); Bm[k + 1][g] = LD((T)(g_b[w][l][i] >> 16));
    }
  }
  int g = lane >> 2, t = lane & 3;
  for (int e = 0; e < 4; e++) {
    int row = g + (e >= 2 ? 8 : 0), col = t * 2 + (e & 1);
    float s = 0; for (int k = 0; k < 16; k++) s += Am[row][k] * Bm[k][col];
    c[e] += s;
  }
  g_warp[w]->arrive_and_wait();
}
// Emulates ldmatrix.x4.trans: lanes 8i..8i+7 give the rows of matrix i; lane t receives column t/4, rows 2(t%4), 2(t%4)+1.
static void vldsm4t(unsigned* r, const T* p) {
  int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
  g_ldsm[w][lane] = p;
  g_warp[w]->arrive_and_wait();
  for (int i = 0; i < 4; i++) {
    const uint16_t* r0 = (const uint16_t*)g_ldsm[w][8 * i + 2 * (lane & 3)];
    const uint16_t* r1 = (const uint16_t*)g_ldsm[w][8 * i + 2 * (lane & 3) + 1];
    r[i] = (unsigned)r0[lane >> 2] | ((unsigned)r1[lane >> 2] << 16);
  }
  g_warp[w]->arrive_and_wait();
}
#define KARGS T* __restrict__ A, const T* __restrict__ WH, const float* __restrict__ WF, int N
static inline float vsig(float x) { return 1.0f / (1.0f + expf(-x)); }
static inline float vsoftplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }

#include "kernels.inc"

static void run_linear(const std::function<void()>& f, long total) {
  long blocks = (total + 255) / 256;
  for (long b = 0; b < blocks; b++) {
    blockIdx.x = (unsigned)b; blockDim.x = 256;
    for (unsigned t = 0; t < 256; t++) { threadIdx.x = t; f(); }
  }
}

static void run_tiled(const std::function<void()>& f, int tx, int ty, int n, unsigned nthreads = 256) {
  std::barrier<> bar(nthreads);
  g_barrier = &bar;
  std::vector<std::barrier<>*> warps;
  for (int w = 0; w < 8; w++) { warps.push_back(new std::barrier<>(32)); g_warp[w] = warps.back(); }
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < nthreads; t++)
    threads.emplace_back([&, t] {
      threadIdx.x = t; blockDim.x = nthreads;
      for (int z = 0; z < n; z++)
        for (int y = 0; y < ty; y++)
          for (int x = 0; x < tx; x++) {
            blockIdx.x = x; blockIdx.y = y; blockIdx.z = z;
            f();
            bar.arrive_and_wait();  // the next block starts only when all threads finished this one
          }
    });
  for (auto& th : threads) th.join();
  for (auto* w : warps) delete w;
}

static std::vector<float> readf(const char* p, long n) {
  std::vector<float> v(n);
  FILE* f = fopen(p, "rb");
  if (!f || fread(v.data(), 4, n, f) != (size_t)n) { fprintf(stderr, "cannot read %s\n", p); exit(2); }
  fclose(f);
  return v;
}

int main() {
  const int N = BATCH;
  std::vector<T> arena(ARENA_PER_SAMPLE * N);
  for (auto& a : arena) a = ST(NAN);  // poison: unwritten reads show up
  auto wf = readf("weights.bin", CONST_ELEMS);
  std::vector<T> wh(CONST_ELEMS);
  for (long i = 0; i < CONST_ELEMS; i++) wh[i] = ST(wf[i]);
  auto in0v = readf("input.bin", IN0_ELEMS);
  auto expected = readf("expected.bin", OUT0_ELEMS);
  T* A = arena.data(); const T* WH = wh.data(); const float* WF = wf.data();
  const float* in0 = in0v.data();
  std::vector<float> o0(OUT0_COUNT);
  float* out0 = o0.data();
#if NUM_OUTPUTS > 1
  std::vector<float> o1(OUT1_COUNT); float* out1 = o1.data();
#endif
#if NUM_OUTPUTS > 2
  std::vector<float> o2(OUT2_COUNT); float* out2 = o2.data();
#endif
#if NUM_OUTPUTS > 3
  std::vector<float> o3(OUT3_COUNT); float* out3 = o3.data();
#endif
#include "launches.inc"
  double num = 0, den = 0; long nan = 0;
  for (long i = 0; i < OUT0_ELEMS; i++) {
    if (std::isnan(o0[i])) nan++;
    double d = o0[i] - expected[i]; num += d * d; den += (double)expected[i] * expected[i];
  }
  printf("output 0: %ld values, relative L2 %.3e, NaN %ld\n", (long)OUT0_ELEMS, std::sqrt(num / den), nan);
  return 0;
}
