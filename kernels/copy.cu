// Device-to-device copy for the memory-bandwidth measurement (compiled at run time with NVRTC).
//
// Why a kernel and not cuMemcpyDtoD: it is what GEMM operand loads look like (16-byte vector
// loads from every SM), and its time is measured with the same CUDA events as the GEMMs.
// Grid-stride loop, four independent 16-byte loads in flight per thread before the stores.

struct alignas(16) V16 {
    unsigned long long lo, hi;
};

extern "C" __global__ void copy_v16(const V16* __restrict__ src, V16* __restrict__ dst,
                                    unsigned long long n) {
    unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
    unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
    for (; i + 3ULL * stride < n; i += 4ULL * stride) {
        V16 a = src[i];
        V16 b = src[i + stride];
        V16 c = src[i + 2ULL * stride];
        V16 d = src[i + 3ULL * stride];
        dst[i] = a;
        dst[i + stride] = b;
        dst[i + 2ULL * stride] = c;
        dst[i + 3ULL * stride] = d;
    }
    for (; i < n; i += stride) {
        dst[i] = src[i];
    }
}
