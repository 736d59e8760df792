// Fused preprocessing: a batch of NV12 surfaces of any sizes -> one model input tensor, in one launch.
// Implements exactly the definition in src/Infer/PreprocessSpec.cs (and ColorMatrix in src/Core/Metadata.cs),
// in 32-bit float; compiled with --fmad=false so the arithmetic matches the CPU reference operation for operation.
// Grid: x covers the output pixels of one image, y is the image index in the batch.

struct ImageDesc
{
    unsigned long long luma;   // CUdeviceptr of the Y plane
    unsigned long long chroma; // CUdeviceptr of the interleaved UV plane
    int pitch;                 // bytes per row (both planes)
    int width;
    int height;
    int matrix;                // 0 = BT.601, 1 = BT.709 (limited range)
    float scaleX;              // model = src * scale + offset
    float scaleY;
    int offsetX;
    int offsetY;
    int resizedWidth;
    int resizedHeight;
};

struct Rgb { float r, g, b; };

__device__ __forceinline__ float clamp255(float v) { return fminf(fmaxf(v, 0.0f), 255.0f); }

__device__ __forceinline__ Rgb fetch(const ImageDesc& d, int x, int y)
{
    const unsigned char* yp = (const unsigned char*)d.luma;
    const unsigned char* uvp = (const unsigned char*)d.chroma;
    float Y = (float)__ldg(yp + (long long)y * d.pitch + x) - 16.0f;
    long long c = (long long)(y >> 1) * d.pitch + (long long)(x >> 1) * 2;
    float U = (float)__ldg(uvp + c) - 128.0f;
    float V = (float)__ldg(uvp + c + 1) - 128.0f;
    Rgb p;
    if (d.matrix == 1)
    {
        p.r = clamp255(1.164383f * Y + 1.792741f * V);
        p.g = clamp255(1.164383f * Y - 0.213249f * U - 0.532909f * V);
        p.b = clamp255(1.164383f * Y + 2.112402f * U);
    }
    else
    {
        p.r = clamp255(1.164383f * Y + 1.596027f * V);
        p.g = clamp255(1.164383f * Y - 0.391762f * U - 0.812968f * V);
        p.b = clamp255(1.164383f * Y + 2.017232f * U);
    }
    return p;
}

__device__ __forceinline__ float lerp2(float p00, float p10, float p01, float p11, float fx, float fy)
{
    return (1.0f - fy) * ((1.0f - fx) * p00 + fx * p10) + fy * ((1.0f - fx) * p01 + fx * p11);
}

__device__ __forceinline__ void store(void* out, long long index, float v, int fp16)
{
    if (fp16)
    {
        unsigned short h;
        asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(v));
        ((unsigned short*)out)[index] = h;
    }
    else
    {
        ((float*)out)[index] = v;
    }
}

extern "C" __global__ void preprocess_nv12(
    const ImageDesc* __restrict__ images, void* __restrict__ out,
    int outWidth, int outHeight, float padValue,
    float mean0, float mean1, float mean2, float scale0, float scale1, float scale2,
    int bgr, int nhwc, int fp16)
{
    const int b = blockIdx.y;
    const int pixels = outWidth * outHeight;
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= pixels) return;
    const int ox = i % outWidth;
    const int oy = i / outWidth;
    const ImageDesc d = images[b];

    float c0, c1, c2; // in output channel order
    if (ox >= d.offsetX && ox < d.offsetX + d.resizedWidth && oy >= d.offsetY && oy < d.offsetY + d.resizedHeight)
    {
        float sx = ((float)(ox - d.offsetX) + 0.5f) / d.scaleX - 0.5f;
        float sy = ((float)(oy - d.offsetY) + 0.5f) / d.scaleY - 0.5f;
        sx = fminf(fmaxf(sx, 0.0f), (float)(d.width - 1));
        sy = fminf(fmaxf(sy, 0.0f), (float)(d.height - 1));
        int x0 = (int)floorf(sx), y0 = (int)floorf(sy);
        int x1 = min(x0 + 1, d.width - 1), y1 = min(y0 + 1, d.height - 1);
        float fx = sx - (float)x0, fy = sy - (float)y0;
        Rgb p00 = fetch(d, x0, y0), p10 = fetch(d, x1, y0), p01 = fetch(d, x0, y1), p11 = fetch(d, x1, y1);
        float r = lerp2(p00.r, p10.r, p01.r, p11.r, fx, fy);
        float g = lerp2(p00.g, p10.g, p01.g, p11.g, fx, fy);
        float bl = lerp2(p00.b, p10.b, p01.b, p11.b, fx, fy);
        c0 = bgr ? bl : r;
        c1 = g;
        c2 = bgr ? r : bl;
    }
    else
    {
        c0 = c1 = c2 = padValue;
    }
    c0 = (c0 - mean0) * scale0;
    c1 = (c1 - mean1) * scale1;
    c2 = (c2 - mean2) * scale2;

    const long long base = (long long)b * pixels * 3;
    if (nhwc)
    {
        long long o = base + (long long)i * 3;
        store(out, o, c0, fp16);
        store(out, o + 1, c1, fp16);
        store(out, o + 2, c2, fp16);
    }
    else
    {
        store(out, base + i, c0, fp16);
        store(out, base + pixels + i, c1, fp16);
        store(out, base + 2LL * pixels + i, c2, fp16);
    }
}
