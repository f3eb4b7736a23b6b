/* The backend of a build without a code generator (make JIT=0, and any
 * architecture without a backend of its own): the names jit/target.h and
 * jit/backend.h promise, for a machine with no registers that no code is
 * ever generated for. The context, the disk cache and the code memory
 * compile against it; no tier exists to use it. */
#ifndef FVM_JIT_NONE_BACKEND_H
#define FVM_JIT_NONE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- target.h ---------------------------------------------------------------- */

typedef uint8_t fvm_reg;
typedef uint32_t fvm_regset;

#define FVM_REG_NONE ((fvm_reg)0x7f)
#define FVM_RSET_GPR ((fvm_regset)0)
#define FVM_RSET_FPR ((fvm_regset)0)
#define FVM_RSET_ALLOCATABLE ((fvm_regset)0)
#define FVM_RSET_CALLER_SAVED ((fvm_regset)0)
#define FVM_RSET_CALLEE_SAVED ((fvm_regset)0)
#define FVM_RSET_SCRATCH ((fvm_regset)0)

static inline const char *fvm_reg_name(fvm_reg r) { return (void)r, "?"; }
static inline bool fvm_reg_is_fpr(fvm_reg r) { return (void)r, false; }

/* ---- backend.h --------------------------------------------------------------- */

typedef struct fvm_code_reloc {
    uint32_t offset, helper;
} fvm_code_reloc;

typedef struct fvm_code_buf {
    uint8_t *code;
    size_t len;
    fvm_code_reloc *relocs;
    size_t nrelocs;
} fvm_code_buf;

/* No code is ever accepted from the disk cache. */
#define FVM_CODE_MAX 0
#define FVM_TARGET_NAME "none"

#endif
