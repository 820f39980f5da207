// Random GEMM inputs, generated on the device (compiled at run time with NVRTC).
//
// Why: timing zeros or constants understates the switching power of a real GEMM (docs/measuring.md
// §4.2), so every input element gets a random sign and a random magnitude in [2^-6, 1) with a
// random mantissa. The generator is a counter-based hash of (seed, index), so any element can
// be reproduced on the host (src/backend/cuda/fill_ref.rs mirrors this file bit for bit).
//
// Narrow types are rounded by hand (round to nearest, ties to even) on the bits: NVRTC is not
// guaranteed to find cuda_fp16.h / cuda_bf16.h / cuda_fp8.h, so this file includes nothing and
// uses no intrinsics. Magnitudes of at least 2^-6 keep every value normal in fp16 and e4m3.

#define GOLDEN 0x9E3779B97F4A7C15ULL

// splitmix64's output function: a bijective 64-bit mixer.
__device__ __forceinline__ unsigned long long mix64(unsigned long long z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// Element `i` of the stream `seed` as a double: bit 63 is the sign, bits 53-60 pick one of six
// octaves [2^-6, 2^-5) ... [2^-1, 1), bits 0-51 are the mantissa.
__device__ __forceinline__ double rand_value(unsigned long long seed, unsigned long long i) {
    unsigned long long r = mix64(seed + (i + 1ULL) * GOLDEN);
    unsigned long long sign = r & 0x8000000000000000ULL;
    unsigned long long octave = ((r >> 53) & 0xffULL) % 6ULL;
    unsigned long long bits = sign | ((1022ULL - octave) << 52) | (r & 0xfffffffffffffULL);
    union { unsigned long long u; double d; } v;
    v.u = bits;
    return v.d;
}

__device__ __forceinline__ unsigned int float_bits(float f) {
    union { float f; unsigned int u; } v;
    v.f = f;
    return v.u;
}

// Rounds the 24-bit significand `m` (implicit bit included) right by `s` bits (1..24), ties to even.
__device__ __forceinline__ unsigned int round_shift(unsigned int m, int s) {
    unsigned int h = m >> s;
    unsigned int rem = m & ((1u << s) - 1u);
    unsigned int half = 1u << (s - 1);
    if (rem > half || (rem == half && (h & 1u))) h += 1u;
    return h;
}

// IEEE binary32 -> binary16, round to nearest even; overflow gives infinity.
__device__ __forceinline__ unsigned short f32_to_f16(unsigned int x) {
    unsigned int sign = (x >> 16) & 0x8000u;
    unsigned int ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (unsigned short)(sign | 0x7e00u);
    int e = (int)(ax >> 23) - 127;
    unsigned int m = ax & 0x7fffffu;
    if (e > 15) return (unsigned short)(sign | 0x7c00u);
    if (e >= -14) {
        unsigned int h = ((unsigned int)(e + 15) << 10) | (m >> 13);
        unsigned int rem = m & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h += 1u;
        return (unsigned short)(sign | h);
    }
    int s = -e - 1;
    if (s > 24) return (unsigned short)sign;
    return (unsigned short)(sign | round_shift(m | 0x800000u, s));
}

// IEEE binary32 -> bfloat16, round to nearest even; NaN stays a quiet NaN.
__device__ __forceinline__ unsigned short f32_to_bf16(unsigned int x) {
    if ((x & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((x >> 16) | 0x40u);
    return (unsigned short)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

// IEEE binary32 -> fp8 e4m3 (OCP "fn": bias 7, no infinities, S.1111.111 is NaN), round to
// nearest even, saturating to +-448 on overflow.
__device__ __forceinline__ unsigned char f32_to_e4m3(unsigned int x) {
    unsigned int sign = (x >> 24) & 0x80u;
    unsigned int ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (unsigned char)(sign | 0x7fu);
    int e = (int)(ax >> 23) - 127;
    unsigned int m = ax & 0x7fffffu;
    if (e > 8) return (unsigned char)(sign | 0x7eu);
    if (e >= -6) {
        unsigned int h = ((unsigned int)(e + 7) << 3) | (m >> 20);
        unsigned int rem = m & 0xfffffu;
        if (rem > 0x80000u || (rem == 0x80000u && (h & 1u))) h += 1u;
        if (h > 0x7eu) h = 0x7eu;
        return (unsigned char)(sign | h);
    }
    int s = 14 - e;
    if (s > 24) return (unsigned char)sign;
    return (unsigned char)(sign | round_shift(m | 0x800000u, s));
}

#define GRID_STRIDE_LOOP(i, n)                                                        \
    for (unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; \
         i < (n); i += (unsigned long long)gridDim.x * blockDim.x)

extern "C" __global__ void fill_f64(double* out, unsigned long long n, unsigned long long seed) {
    GRID_STRIDE_LOOP(i, n) { out[i] = rand_value(seed, i); }
}

extern "C" __global__ void fill_f32(float* out, unsigned long long n, unsigned long long seed) {
    GRID_STRIDE_LOOP(i, n) { out[i] = (float)rand_value(seed, i); }
}

extern "C" __global__ void fill_f16(unsigned short* out, unsigned long long n, unsigned long long seed) {
    GRID_STRIDE_LOOP(i, n) { out[i] = f32_to_f16(float_bits((float)rand_value(seed, i))); }
}

extern "C" __global__ void fill_bf16(unsigned short* out, unsigned long long n, unsigned long long seed) {
    GRID_STRIDE_LOOP(i, n) { out[i] = f32_to_bf16(float_bits((float)rand_value(seed, i))); }
}

extern "C" __global__ void fill_e4m3(unsigned char* out, unsigned long long n, unsigned long long seed) {
    GRID_STRIDE_LOOP(i, n) { out[i] = f32_to_e4m3(float_bits((float)rand_value(seed, i))); }
}
