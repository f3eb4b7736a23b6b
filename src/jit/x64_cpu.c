/* CPU feature detection for the x86-64 backend.
 *
 * glibc 2.33 and later run CPUID at start-up to choose their own function
 * variants and publish the answer in <sys/platform/x86.h>: reading it costs
 * nothing. Elsewhere the features come from CPUID itself, which traps to
 * the hypervisor in a virtual machine (13-16 us an execution on the
 * development VM, about 50 us for the six below, a fifth of a fresh
 * process's first compile), so either way the answer is found once and
 * remembered. */
#include "jit/x64_target.h"

#if defined(__x86_64__)

#include <stdatomic.h>

#if defined(__has_include)
#if __has_include(<sys/platform/x86.h>)
#define FROM_GLIBC 1
#endif
#endif

#ifdef FROM_GLIBC

#include <sys/platform/x86.h>

/* ACTIVE: the CPU has it and the OS enabled it (AVX2's YMM state). */
static uint32_t detect(void)
{
    uint32_t f = 0;
    if (CPU_FEATURE_ACTIVE(SSE4_1))
        f |= FVM_X64_CPU_SSE41;
    if (CPU_FEATURE_ACTIVE(POPCNT))
        f |= FVM_X64_CPU_POPCNT;
    if (CPU_FEATURE_ACTIVE(AVX2))
        f |= FVM_X64_CPU_AVX2;
    if (CPU_FEATURE_ACTIVE(BMI2))
        f |= FVM_X64_CPU_BMI2;
    if (CPU_FEATURE_ACTIVE(LZCNT))
        f |= FVM_X64_CPU_LZCNT;
    return f;
}

#else

#include <cpuid.h>

/* CPUID leaf 1, ECX. */
#define ECX1_SSE41 (1u << 19)
#define ECX1_POPCNT (1u << 23)
#define ECX1_OSXSAVE (1u << 27)
#define ECX1_AVX (1u << 28)
/* Leaf 7 subleaf 0, EBX. */
#define EBX7_AVX2 (1u << 5)
#define EBX7_BMI2 (1u << 8)
/* Leaf 0x80000001, ECX ("ABM"). */
#define ECX81_LZCNT (1u << 5)
/* XCR0: the OS saves and restores XMM and YMM state across context switches. */
#define XCR0_SSE_AVX 0x6u

static uint32_t read_xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return lo;
}

/* AVX2 needs the CPU bit and an OS that enabled YMM state via XSETBV;
 * without the latter, AVX instructions fault even though CPUID lists them. */
static bool os_saves_ymm(uint32_t ecx1)
{
    if ((ecx1 & (ECX1_OSXSAVE | ECX1_AVX)) != (ECX1_OSXSAVE | ECX1_AVX))
        return false;
    return (read_xcr0() & XCR0_SSE_AVX) == XCR0_SSE_AVX;
}

static uint32_t detect(void)
{
    unsigned a, b, c, d;
    uint32_t f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    uint32_t ecx1 = c;
    if (ecx1 & ECX1_SSE41)
        f |= FVM_X64_CPU_SSE41;
    if (ecx1 & ECX1_POPCNT)
        f |= FVM_X64_CPU_POPCNT;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        if ((b & EBX7_AVX2) && os_saves_ymm(ecx1))
            f |= FVM_X64_CPU_AVX2;
        if (b & EBX7_BMI2)
            f |= FVM_X64_CPU_BMI2;
    }
    if (__get_cpuid(0x80000001u, &a, &b, &c, &d) && (c & ECX81_LZCNT))
        f |= FVM_X64_CPU_LZCNT;
    return f;
}

#endif

/* The answer with KNOWN set, or 0 before the first call. Two threads may
 * both detect on their first call; they store the same value. */
#define KNOWN (1u << 31)
static _Atomic(uint32_t) features;

uint32_t fvm_x64_cpu_features(void)
{
    uint32_t f = atomic_load_explicit(&features, memory_order_relaxed);
    if (!f) {
        f = detect() | KNOWN;
        atomic_store_explicit(&features, f, memory_order_relaxed);
    }
    return f & ~KNOWN;
}

#else

uint32_t fvm_x64_cpu_features(void)
{
    return 0;
}

#endif
