/* Lowering of an allocated IR function to x86-64 (see x64_lower.c). */
#ifndef FVM_JIT_X64_LOWER_H
#define FVM_JIT_X64_LOWER_H

#include "jit/ir.h"
#include "jit/ra.h"
#include "jit/x64_emit.h"

/* Emit f as a System V function `int64_t fn(p0, p1)` (PARAM aux k is
 * integer argument k, at most two) into b, then finish b (constant pool
 * appended, displacements filled in). The function returns RET's status, or
 * snapshot id + 1 when a guard fails. offsets, if not NULL, has f->ninsts + 1
 * entries and receives the code offset of each instruction (the last entry:
 * the end of the body). False (and *why_not) if the function cannot be
 * lowered or the encoder failed. */
bool fvm_x64_lower(const fvm_ir_func *f, const fvm_ra_result *ra, fvm_x64_buf *b,
                   uint32_t *offsets, const char **why_not);

/* The --dump=asm text: per live instruction with code, a line "offset  vN
 * op  bytes" (hex), then one for the exits, epilogue and constants.
 * offsets is what fvm_x64_lower filled in. */
void fvm_x64_dump_code(const fvm_ir_func *f, const uint32_t *offsets, const fvm_x64_buf *b,
                       fvm_buf *out);

#endif
