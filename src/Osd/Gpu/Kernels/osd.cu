// GPU on-screen display on NV12 surfaces, and NV12 -> BGR24 for the CPU encoder.

struct OsdRect { int x0, y0, x1, y1; unsigned char y, u, v, pad; }; // [x0,x1) x [y0,y1), already clipped, even-aligned not required

// One block per rectangle: fill its luma pixels, then the chroma samples whose 2x2 luma block starts inside it.
extern "C" __global__ void osd_fill_rects(const OsdRect* __restrict__ rects, unsigned char* luma, unsigned char* chroma, int pitch)
{
    const OsdRect r = rects[blockIdx.x];
    const int w = r.x1 - r.x0, h = r.y1 - r.y0;
    if (w <= 0 || h <= 0) return;
    for (int i = threadIdx.x; i < w * h; i += blockDim.x)
    {
        int x = r.x0 + i % w, y = r.y0 + i / w;
        luma[(long long)y * pitch + x] = r.y;
    }
    const int cx0 = (r.x0 + 1) >> 1, cx1 = (r.x1 + 1) >> 1, cy0 = (r.y0 + 1) >> 1, cy1 = (r.y1 + 1) >> 1;
    const int cw = cx1 - cx0, ch = cy1 - cy0;
    if (cw <= 0 || ch <= 0) return;
    for (int i = threadIdx.x; i < cw * ch; i += blockDim.x)
    {
        int cx = cx0 + i % cw, cy = cy0 + i / cw;
        unsigned char* p = chroma + (long long)cy * pitch + cx * 2;
        p[0] = r.u;
        p[1] = r.v;
    }
}

__device__ __forceinline__ unsigned char sat(float v) { return (unsigned char)fminf(fmaxf(rintf(v), 0.0f), 255.0f); }

// BGR24 output rows of outPitch bytes; the colour matrix as in ColorMatrix (limited range), rounded to nearest.
extern "C" __global__ void nv12_to_bgr(const unsigned char* __restrict__ luma, const unsigned char* __restrict__ chroma, int pitch,
    int width, int height, int matrix, unsigned char* __restrict__ out, int outPitch)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y;
    if (x >= width || y >= height) return;
    float Y = (float)luma[(long long)y * pitch + x] - 16.0f;
    const unsigned char* c = chroma + (long long)(y >> 1) * pitch + (x >> 1) * 2;
    float U = (float)c[0] - 128.0f, V = (float)c[1] - 128.0f;
    float r, g, b;
    if (matrix == 1) { r = 1.164383f * Y + 1.792741f * V; g = 1.164383f * Y - 0.213249f * U - 0.532909f * V; b = 1.164383f * Y + 2.112402f * U; }
    else { r = 1.164383f * Y + 1.596027f * V; g = 1.164383f * Y - 0.391762f * U - 0.812968f * V; b = 1.164383f * Y + 2.017232f * U; }
    unsigned char* o = out + (long long)y * outPitch + x * 3;
    o[0] = sat(b);
    o[1] = sat(g);
    o[2] = sat(r);
}
