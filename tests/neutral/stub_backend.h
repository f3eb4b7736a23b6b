/* A stand-in backend header for `make check-neutral`, which compiles the
 * target-neutral JIT files for aarch64 (syntax only) to show that they
 * depend on no x86-64 fact. It defines every name jit/target.h and
 * jit/backend.h ask of a backend's header, with AAPCS64's registers:
 * 32 GPRs and 32 FPRs, so a register set needs 64 bits (x86-64's fits in
 * 32). It generates nothing; the services backend.h declares are left
 * undefined. */
#ifndef STUB_BACKEND_H
#define STUB_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- target.h ---------------------------------------------------------------- */

/* x0..x30 are 0..30, 31 is the stack pointer, v0..v31 are 32..63. */
typedef enum fvm_reg {
    STUB_X0 = 0,
    STUB_X16 = 16,
    STUB_X17 = 17,
    STUB_X18 = 18, /* the platform register */
    STUB_X29 = 29, /* frame pointer */
    STUB_X30 = 30, /* link register */
    STUB_SP = 31,
    STUB_V0 = 32,
    STUB_V30 = 62,
    STUB_V31 = 63,
    FVM_REG_NONE = 0x7f
} fvm_reg;

typedef uint64_t fvm_regset;

#define STUB_RSET(r) ((fvm_regset)1 << (r))
#define STUB_RANGE(lo, hi) ((~(fvm_regset)0 >> (63 - (hi))) & (~(fvm_regset)0 << (lo)))

#define FVM_RSET_GPR STUB_RANGE(0, 31)
#define FVM_RSET_FPR STUB_RANGE(32, 63)
#define FVM_RSET_ALLOCATABLE                                                                        \
    ((FVM_RSET_GPR | FVM_RSET_FPR) &                                                                \
     ~(STUB_RSET(STUB_X18) | STUB_RSET(STUB_X29) | STUB_RSET(STUB_X30) | STUB_RSET(STUB_SP)))
/* x19..x28 and the low halves of v8..v15 survive calls. */
#define FVM_RSET_CALLEE_SAVED (STUB_RANGE(19, 28) | STUB_RANGE(40, 47))
#define FVM_RSET_CALLER_SAVED (FVM_RSET_ALLOCATABLE & ~FVM_RSET_CALLEE_SAVED)
#define FVM_RSET_SCRATCH                                                                            \
    (STUB_RSET(STUB_X16) | STUB_RSET(STUB_X17) | STUB_RSET(STUB_V30) | STUB_RSET(STUB_V31))

static inline bool fvm_reg_is_fpr(fvm_reg r) { return r >= STUB_V0 && r <= STUB_V31; }
static inline const char *fvm_reg_name(fvm_reg r) { return fvm_reg_is_fpr(r) ? "v" : "x"; }

/* ---- backend.h --------------------------------------------------------------- */

typedef struct fvm_code_reloc {
    uint32_t offset;
    uint32_t helper;
} fvm_code_reloc;

typedef struct fvm_code_buf {
    uint8_t *code;
    size_t len;
    fvm_code_reloc *relocs;
    size_t nrelocs;
} fvm_code_buf;

#define FVM_CODE_MAX ((size_t)1 << 27)
#define FVM_TARGET_NAME "aarch64-aapcs64-stub"

#endif
