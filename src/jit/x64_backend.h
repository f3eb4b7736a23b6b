/* The x86-64 backend's side of the target-neutral seam: the names that
 * jit/target.h and jit/backend.h promise, defined from the x86-64 ones.
 * The Makefile passes this header's name in FVM_JIT_BACKEND_HEADER when
 * it builds for x86_64; only target.h includes it. The services backend.h
 * declares are in x64_backend.c. */
#ifndef FVM_JIT_X64_BACKEND_H
#define FVM_JIT_X64_BACKEND_H

#include "jit/x64_emit.h"
#include "jit/x64_target.h"

/* ---- target.h ---------------------------------------------------------------- */

typedef fvm_x64_reg fvm_reg;
typedef fvm_x64_regset fvm_regset;

#define FVM_REG_NONE FVM_X64_NOREG
#define FVM_RSET_GPR FVM_X64_RSET_GPR
#define FVM_RSET_FPR FVM_X64_RSET_XMM
#define FVM_RSET_ALLOCATABLE FVM_X64_RSET_ALLOCATABLE
#define FVM_RSET_CALLER_SAVED FVM_X64_RSET_CALLER_SAVED
#define FVM_RSET_CALLEE_SAVED FVM_X64_RSET_CALLEE_SAVED

/* What x64_lower.c keeps for itself: RAX, RCX, RDX for division, shift
 * counts and calls; R10, R11, XMM14, XMM15 for operands that are not in a
 * register and results that are spilled. */
#define FVM_RSET_SCRATCH                                                                            \
    (FVM_X64_RSET(FVM_X64_RAX) | FVM_X64_RSET(FVM_X64_RCX) | FVM_X64_RSET(FVM_X64_RDX) |            \
     FVM_X64_RSET(FVM_X64_R10) | FVM_X64_RSET(FVM_X64_R11) | FVM_X64_RSET(FVM_X64_XMM14) |          \
     FVM_X64_RSET(FVM_X64_XMM15))

static inline const char *fvm_reg_name(fvm_reg r) { return fvm_x64_reg_name(r); }
static inline bool fvm_reg_is_fpr(fvm_reg r) { return fvm_x64_is_xmm(r); }

/* ---- backend.h --------------------------------------------------------------- */

typedef fvm_x64_buf fvm_code_buf;
typedef fvm_x64_reloc fvm_code_reloc;

#define FVM_CODE_MAX FVM_X64_MAX_CODE
#define FVM_TARGET_NAME "x86_64-sysv"

#endif
