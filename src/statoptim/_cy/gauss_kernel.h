/* Gaussian-kernel building blocks shared by the quantile kernels (_propensity.pyx,
 * _beran.pyx): squared distances from one point to a block of points stored
 * column-major (one contiguous array per feature), and exp(-d2 / 2) by a
 * branch-free polynomial that the compiler vectorises inside `omp simd` loops.
 *
 * exp(x), x = -d2/2 clamped at -708: x = k ln2 + r with |r| <= ln2/2 (Cody-Waite
 * reduction in two parts), exp(r) by its degree-13 Taylor polynomial, 2^k built in
 * the exponent bits; the kernels' tests compare the results with NumPy's exp to
 * 1e-12. Below -708 the result is 0 (the true value is below 3.3e-308).
 *
 * Functions are compiled once per instruction set (AVX-512F, AVX2, baseline) and
 * picked at load time where GCC on x86-64 Linux supports target_clones; the build
 * option -Dsimd-clones=avx2|none builds fewer, and gk_simd_clone() names the one
 * this CPU runs.
 */
#ifndef STATOPTIM_GAUSS_KERNEL_H
#define STATOPTIM_GAUSS_KERNEL_H

#include <stdint.h>
#include <string.h>
#include <Python.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
    && !defined(STATOPTIM_SIMD_CLONES_NONE)
#define GK_HAVE_CLONES 1
#if defined(STATOPTIM_SIMD_CLONES_AVX2)
#define GK_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define GK_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#else
#define GK_HAVE_CLONES 0
#define GK_SIMD_CLONES
#endif

/* The clone the loader picks on this CPU: "avx512f", "avx2" or "default". */
static inline const char *gk_simd_clone(void)
{
#if GK_HAVE_CLONES
    __builtin_cpu_init();
#if !defined(STATOPTIM_SIMD_CLONES_AVX2)
    if (__builtin_cpu_supports("avx512f")) return "avx512f";
#endif
    if (__builtin_cpu_supports("avx2")) return "avx2";
#endif
    return "default";
}
#if defined(_OPENMP)
#define GK_PRAGMA_SIMD _Pragma("omp simd")
#else
#define GK_PRAGMA_SIMD
#endif
#if defined(__GNUC__)
#define GK_INLINE static inline __attribute__((always_inline))
#else
#define GK_INLINE static inline
#endif

/* buf[j] = sum_k (u[k] - src_t[k * stride + jb + j])^2 for j < nb. */
GK_SIMD_CLONES
static void gk_sqdist_block(const double *src_t, Py_ssize_t stride, Py_ssize_t n_features,
                            const double *u, Py_ssize_t jb, Py_ssize_t nb, double *buf)
{
    Py_ssize_t j, k;
    const double *col = src_t + jb;
    double uk = u[0];
    GK_PRAGMA_SIMD
    for (j = 0; j < nb; j++) {
        double diff = uk - col[j];
        buf[j] = diff * diff;
    }
    for (k = 1; k < n_features; k++) {
        col = src_t + k * stride + jb;
        uk = u[k];
        GK_PRAGMA_SIMD
        for (j = 0; j < nb; j++) {
            double diff = uk - col[j];
            buf[j] += diff * diff;
        }
    }
}

/* exp(-d2 / 2) for d2 >= 0; 0 where -d2/2 < -708. */
GK_INLINE double gk_exp_neg_half(double d2)
{
    const double log2e = 1.4426950408889634, magic = 6755399441055744.0;
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    double x = -0.5 * d2;
    double xc = x < -708.0 ? -708.0 : x;
    double t = xc * log2e + magic;
    double k = t - magic;
    double r = (xc - k * ln2_hi) - k * ln2_lo;
    double p = 1.0 / 6227020800.0;
    double scale;
    int64_t bits;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    memcpy(&bits, &t, sizeof bits);
    bits = (int64_t)((uint64_t)(bits + 1023) << 52);
    memcpy(&scale, &bits, sizeof scale);
    return x < -708.0 ? 0.0 : p * scale;
}

#endif /* STATOPTIM_GAUSS_KERNEL_H */
