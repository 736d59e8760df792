// YOLOX postprocessing on the GPU: grid decode + score threshold, then per-image class-aware greedy NMS.
// Output row per anchor: x, y, w, h, objectness, class scores (already probabilities).
// Candidate / detection record: x1, y1, x2, y2, score, class (6 floats), in model-input pixels.

extern "C" __global__ void yolox_decode(const float* __restrict__ out, int batch, int anchors, int rowLen,
                                        int g0, int g1, int g2, float scoreThreshold,
                                        float* __restrict__ cand, int* __restrict__ counts, int maxCand)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= batch * anchors) return;
    int n = i / anchors, a = i - n * anchors;
    const float* p = out + (long)i * rowLen;
    int grid, stride, local;
    if (a < g0 * g0) { grid = g0; stride = 8; local = a; }
    else if (a < g0 * g0 + g1 * g1) { grid = g1; stride = 16; local = a - g0 * g0; }
    else { grid = g2; stride = 32; local = a - g0 * g0 - g1 * g1; }
    int gx = local % grid, gy = local / grid;
    float obj = p[4];
    int best = 0;
    float bestScore = p[5];
    for (int c = 1; c < rowLen - 5; c++)
        if (p[5 + c] > bestScore) { bestScore = p[5 + c]; best = c; }
    float score = obj * bestScore;
    if (!(score >= scoreThreshold)) return;
    int slot = atomicAdd(&counts[n], 1);
    if (slot >= maxCand) return;
    float cx = (p[0] + gx) * stride, cy = (p[1] + gy) * stride;
    float w = expf(p[2]) * stride, h = expf(p[3]) * stride;
    float* c = cand + ((long)n * maxCand + slot) * 6;
    c[0] = cx - 0.5f * w; c[1] = cy - 0.5f * h; c[2] = cx + 0.5f * w; c[3] = cy + 0.5f * h;
    c[4] = score; c[5] = (float)best;
}

// One block of 1024 threads per image; at most 1024 candidates per image (maxCand <= 1024).
extern "C" __global__ void __launch_bounds__(1024) yolox_nms(const float* __restrict__ cand, const int* __restrict__ counts, int maxCand,
                                     float iouThreshold, int maxDet, float* __restrict__ dets, int* __restrict__ detCounts)
{
    __shared__ float s[1024];
    __shared__ short idx[1024];
    __shared__ unsigned char keep[1024];
    int n = blockIdx.x, t = threadIdx.x;
    int count = min(counts[n], maxCand);
    const float* c = cand + (long)n * maxCand * 6;
    s[t] = t < count ? c[t * 6 + 4] : -1.0f;
    idx[t] = (short)t;
    keep[t] = t < count ? 1 : 0;
    __syncthreads();
    // Bitonic sort of (score, index), descending.
    for (int k = 2; k <= 1024; k <<= 1)
        for (int j = k >> 1; j > 0; j >>= 1)
        {
            int o = t ^ j;
            if (o > t)
            {
                bool desc = (t & k) == 0;
                float a = s[t], b = s[o];
                bool swap = desc ? (a < b || (a == b && idx[t] > idx[o])) : (a > b || (a == b && idx[t] < idx[o]));
                if (swap) { s[t] = b; s[o] = a; short ti = idx[t]; idx[t] = idx[o]; idx[o] = ti; }
            }
            __syncthreads();
        }
    for (int i = 0; i < count; i++)
    {
        if (keep[i] && t > i && t < count && keep[t])
        {
            const float* A = c + idx[i] * 6;
            const float* B = c + idx[t] * 6;
            if (A[5] == B[5])
            {
                float ix1 = fmaxf(A[0], B[0]), iy1 = fmaxf(A[1], B[1]), ix2 = fminf(A[2], B[2]), iy2 = fminf(A[3], B[3]);
                float inter = fmaxf(0.0f, ix2 - ix1) * fmaxf(0.0f, iy2 - iy1);
                float ua = (A[2] - A[0]) * (A[3] - A[1]) + (B[2] - B[0]) * (B[3] - B[1]) - inter;
                if (ua > 0.0f && inter / ua > iouThreshold) keep[t] = 0;
            }
        }
        __syncthreads();
    }
    if (t == 0)
    {
        int m = 0;
        for (int i = 0; i < count && m < maxDet; i++)
            if (keep[i])
            {
                const float* A = c + idx[i] * 6;
                float* d = dets + ((long)n * maxDet + m) * 6;
                for (int k = 0; k < 6; k++) d[k] = A[k];
                m++;
            }
        detCounts[n] = m;
    }
}
