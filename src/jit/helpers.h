/* Host functions generated code may call, with ids that are stable forever:
 * the disk cache stores code whose helper addresses are relocations naming
 * these ids, and patches them with this process's addresses on load. Never
 * renumber or reuse an id; add new helpers with new ids.
 *
 * Each helper computes exactly what the interpreter computes for the op it
 * serves (the same libm call on the same doubles), so results agree bit for
 * bit. All take and return doubles (System V: XMM0, XMM1 -> XMM0). */
#ifndef FVM_JIT_HELPERS_H
#define FVM_JIT_HELPERS_H

#include <stdbool.h>
#include <stdint.h>

/* X(ENUM, id, symbol, nargs, pure) */
#define FVM_JIT_HELPER_LIST(X)                                                                      \
    X(POW, 1, fvm_jit_pow, 2, true)                                                                 \
    X(FMOD, 2, fvm_jit_fmod, 2, true)                                                               \
    X(SIN, 3, fvm_jit_sin, 1, true)                                                                 \
    X(COS, 4, fvm_jit_cos, 1, true)                                                                 \
    X(EXP, 5, fvm_jit_exp, 1, true)                                                                 \
    X(LOG, 6, fvm_jit_log, 1, true)                                                                 \
    X(ATAN2, 7, fvm_jit_atan2, 2, true)                                                             \
    X(TAN, 8, fvm_jit_tan, 1, true)                                                                 \
    X(ASIN, 9, fvm_jit_asin, 1, true)                                                               \
    X(ACOS, 10, fvm_jit_acos, 1, true)                                                              \
    X(ATAN, 11, fvm_jit_atan, 1, true)                                                              \
    X(SINH, 12, fvm_jit_sinh, 1, true)                                                              \
    X(COSH, 13, fvm_jit_cosh, 1, true)                                                              \
    X(TANH, 14, fvm_jit_tanh, 1, true)                                                              \
    X(LOG2, 15, fvm_jit_log2, 1, true)                                                              \
    X(LOG10, 16, fvm_jit_log10, 1, true)                                                            \
    X(CEIL, 17, fvm_jit_ceil, 1, true)                                                              \
    X(FLOOR, 18, fvm_jit_floor, 1, true)                                                            \
    X(TRUNC, 19, fvm_jit_trunc, 1, true)                                                            \
    X(ROUND, 20, fvm_jit_round, 1, true)                                                            \
    X(AWK_SIN, 21, fvm_jit_awk_sin, 1, true)                                                        \
    X(AWK_COS, 22, fvm_jit_awk_cos, 1, true)                                                        \
    X(AWK_EXP, 23, fvm_jit_awk_exp, 1, true)                                                        \
    X(AWK_ATAN2, 24, fvm_jit_awk_atan2, 2, true)

enum {
    FVM_JIT_HELPER_NONE = 0, /* no helper: never a valid id */
#define FVM_JIT_HELPER_ENUM(e, id, sym, n, pure) FVM_JIT_HELPER_##e = id,
    FVM_JIT_HELPER_LIST(FVM_JIT_HELPER_ENUM)
#undef FVM_JIT_HELPER_ENUM
};

typedef struct fvm_jit_helper {
    uint32_t id;
    const char *symbol;
    uint64_t addr;
    uint8_t nargs; /* doubles in, one double out */
    bool pure;     /* no side effects: may be folded away or shared */
} fvm_jit_helper;

/* The helper with this id, or NULL (an id from a newer cache, say). */
const fvm_jit_helper *fvm_jit_helper_get(uint32_t id);

#define FVM_JIT_HELPER_DECL(e, id, sym, n, pure) double sym(double, double);
FVM_JIT_HELPER_LIST(FVM_JIT_HELPER_DECL)
#undef FVM_JIT_HELPER_DECL

#endif
