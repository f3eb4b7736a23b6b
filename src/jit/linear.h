/* The linear tier: a straight-line
 * chunk of numeric ops compiled to one native function whose results equal
 * the interpreter's bit for bit: same result value (type and bits), same
 * slots written with the same values.
 *
 * Eligibility (fvm_linear_decline_reason, validation only): the chunk is not
 * empty, every op is one the JIT op table (jitop.h) gives the linear
 * tier, a LoadConst names an Int, Float or Bool constant, and simulating the stack
 * never pops an empty stack, never exceeds 256 entries, and ends with
 * exactly one value, which is the result.
 *
 * Slot kinds: compilation specialises on the kinds (Int, Float or Bool) of
 * the slots the code reads, taken from the slot values passed to
 * fvm_linear_compile; a slot that is read must hold one of those kinds or
 * the compile declines. fvm_linear_run checks the kinds again and returns
 * false, touching nothing, when they differ (or when the slot array is too
 * short): the caller then runs the interpreter, or compiles again for the
 * new kinds. Slots are never read or written out of bounds.
 *
 * Types follow the interpreter exactly: Int/Int Add, Sub, Mul wrap; any
 * other operand pair is converted with to_float; Div is always Float; Pow
 * is Float; Mod Int/Int by 0 or -1 is 0; comparisons give Bool; NaN is
 * truthy; LoadFloat stays Float; shifts mask the count with 63.
 *
 * Div by a zero divisor gives Undef in the interpreter. The tier keeps Div
 * eligible and guards the divisor instead: when a divisor is 0 at run time
 * the code exits before anything is written back and fvm_linear_run returns
 * false, so the caller's interpreter run produces the Undef. A divisor that
 * is a constant zero makes the compile decline (it would always exit).
 *
 * The native code reads the caller's slots in place and writes the slots
 * and the result only after its last guard (the compile checks this), so
 * an exit leaves everything untouched; no copy is made. */
#ifndef FVM_JIT_LINEAR_H
#define FVM_JIT_LINEAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunk.h"
#include "jit/mcode.h"
#include "jit/backend.h"
#include "util.h"

typedef struct fvm_linear_code fvm_linear_code;

/* Measurements of one compile, in nanoseconds of the monotonic clock. */
typedef struct fvm_linear_stats {
    uint64_t codegen_ns; /* IR build, DCE, allocation, lowering */
    uint64_t commit_ns;  /* copying into the arena and making it executable */
    size_t ir_insts;     /* live IR instructions */
    size_t code_bytes;   /* machine code and constant pool */
} fvm_linear_stats;

/* Why the tier does not compile c (FVM_JIT_REASON_NONE: it is eligible);
 * validation only. */
fvm_jit_reason fvm_linear_decline_reason(const fvm_chunk *c);

/* Compile c for the kinds of slots[0..nslots) it reads, into arena.
 * dump_ir / dump_asm / stats may be NULL; dump_ir receives the IR and the
 * register assignment, dump_asm the code bytes of each IR instruction in hex.
 * NULL, with the reason in *why_not, if the chunk is not eligible or the
 * compile failed. */
fvm_linear_code *fvm_linear_compile(const fvm_chunk *c, const fvm_value *slots, size_t nslots,
                                    fvm_mcode *arena, fvm_buf *dump_ir, fvm_buf *dump_asm,
                                    fvm_linear_stats *stats, fvm_jit_reason *why_not);

/* How a run ended: completed (*out holds the result, the written slots are
 * replaced), or declined with nothing changed because the slots do not fit
 * the code (a read slot of another kind, or too few slots) or because the
 * code exited (a zero divisor). */
typedef enum fvm_linear_outcome {
    FVM_LINEAR_DONE,
    FVM_LINEAR_MISFIT,
    FVM_LINEAR_EXITED
} fvm_linear_outcome;

/* Run: slots are the caller's values (the written ones are replaced, the
 * old values released); the result in *out is Int, Float or Bool. A
 * caller that remembers code can call this with any slots: a misfit is
 * detected before anything is read. */
fvm_linear_outcome fvm_linear_exec(const fvm_linear_code *code, fvm_value *slots, size_t nslots,
                                   fvm_value *out);
/* fvm_linear_exec(...) == FVM_LINEAR_DONE. */
bool fvm_linear_run(const fvm_linear_code *code, fvm_value *slots, size_t nslots, fvm_value *out);

/* For the disk cache, as the block tier has them (block.h): the code as
 * encoded (entry at 0) until dropped, the metadata beside it, and a handle
 * rebuilt from metadata around loaded code (NULL if malformed). */
const fvm_code_buf *fvm_linear_image(const fvm_linear_code *code);
void fvm_linear_drop_image(fvm_linear_code *code);
void fvm_linear_save_meta(const fvm_linear_code *code, fvm_buf *out);
fvm_linear_code *fvm_linear_from_meta(const void *meta, size_t len, void *entry);

/* Frees the metadata; the machine code stays in the arena until it is freed. */
void fvm_linear_free(fvm_linear_code *code);

#endif
