/* The helper table (see helpers.h). Each helper is the libm call the
 * interpreter makes for the same op; one-argument helpers ignore their
 * second argument so every helper has one C type. */
#include "jit/helpers.h"

#include <math.h>
#include <stddef.h>

#define UNARY(sym, fn)                                                                              \
    double sym(double x, double unused)                                                             \
    {                                                                                               \
        (void)unused;                                                                               \
        return fn(x);                                                                               \
    }
#define BINARY(sym, fn)                                                                             \
    double sym(double x, double y) { return fn(x, y); }

BINARY(fvm_jit_pow, pow)
BINARY(fvm_jit_fmod, fmod)
BINARY(fvm_jit_atan2, atan2)
UNARY(fvm_jit_sin, sin)
UNARY(fvm_jit_cos, cos)
UNARY(fvm_jit_exp, exp)
UNARY(fvm_jit_log, log)
UNARY(fvm_jit_tan, tan)
UNARY(fvm_jit_asin, asin)
UNARY(fvm_jit_acos, acos)
UNARY(fvm_jit_atan, atan)
UNARY(fvm_jit_sinh, sinh)
UNARY(fvm_jit_cosh, cosh)
UNARY(fvm_jit_tanh, tanh)
UNARY(fvm_jit_log2, log2)
UNARY(fvm_jit_log10, log10)
UNARY(fvm_jit_ceil, ceil)
UNARY(fvm_jit_floor, floor)
UNARY(fvm_jit_trunc, trunc)
UNARY(fvm_jit_round, nearbyint) /* RoundFloat: ties to even, as the interpreter */

/* The AWK functions answer a NaN with the positive quiet NaN, as awk.c. */
static double canon(double r) { return isnan(r) ? NAN : r; }
static double awk_sin(double x) { return canon(sin(x)); }
static double awk_cos(double x) { return canon(cos(x)); }
static double awk_exp(double x) { return canon(exp(x)); }
static double awk_atan2(double y, double x) { return canon(atan2(y, x)); }
UNARY(fvm_jit_awk_sin, awk_sin)
UNARY(fvm_jit_awk_cos, awk_cos)
UNARY(fvm_jit_awk_exp, awk_exp)
BINARY(fvm_jit_awk_atan2, awk_atan2)

static const fvm_jit_helper helpers[] = {
#define FVM_JIT_HELPER_ROW(e, id, sym, n, pure) {id, #sym, (uint64_t)(uintptr_t)sym, n, pure},
    FVM_JIT_HELPER_LIST(FVM_JIT_HELPER_ROW)
#undef FVM_JIT_HELPER_ROW
};

const fvm_jit_helper *fvm_jit_helper_get(uint32_t id)
{
    for (size_t i = 0; i < sizeof helpers / sizeof helpers[0]; i++)
        if (helpers[i].id == id)
            return &helpers[i];
    return NULL;
}
