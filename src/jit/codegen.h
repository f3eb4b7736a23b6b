/* The last steps of a compile, the same for every tier: once a tier has
 * built its IR function and run dead code elimination on it (fvm_ir_dce;
 * the tier does it, as a tier may check the live code first),
 * fvm_codegen_finish runs register allocation (ra.h), the --dump=ir text,
 * the backend's lowering (backend.h), the --dump=asm text, and the commit
 * into code memory (mcode.h). */
#ifndef FVM_JIT_CODEGEN_H
#define FVM_JIT_CODEGEN_H

#include <stdint.h>

#include "fusevm.h"

#include "jit/backend.h"
#include "jit/ir.h"
#include "jit/mcode.h"
#include "util.h"

/* Generate f's code into image (empty, from fvm_code_buf_init) and copy
 * it into arena: the executable entry, or NULL with the reason in
 * *why_not (FVM_JIT_REASON_BACKEND: f cannot be lowered;
 * FVM_JIT_REASON_CODE_MEMORY: the code memory refused). dump_ir
 * receives the IR and the register assignment, dump_asm the code bytes of
 * each IR instruction; either may be NULL. *commit_start (if commit_start
 * is not NULL) receives the monotonic clock in nanoseconds when the commit
 * began, so a tier can report code generation and commit apart. image
 * stays the caller's whatever the outcome: on success it is the code as
 * encoded, relocations included, for the disk cache. */
void *fvm_codegen_finish(fvm_ir_func *f, fvm_mcode *arena, fvm_buf *dump_ir, fvm_buf *dump_asm,
                         fvm_code_buf *image, uint64_t *commit_start, fvm_jit_reason *why_not);

#endif
