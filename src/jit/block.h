/* The block tier (SPEC 5.3, with our semantics: DESIGN 9): a whole chunk
 * with jumps and loops compiled to one native function whose effect equals
 * the interpreter's: the same result value (type and bits), the same slots.
 *
 * Eligibility is per op (fvm_block_op_ok): the numeric ops of the linear
 * tier, the jumps, the fused slot and loop ops, LoadUndef, Dup2, Nop and
 * the AWK divisions. Frames, calls, strings, collections and I/O are not.
 * A compile may still decline (block.c explains when).
 *
 * Slot kinds: code is specialised on the kinds (Int, Float, Bool, Undef,
 * other) of the slots the chunk uses, taken from the slot values at compile
 * time; fvm_block_run checks them again and declines on a mismatch.
 *
 * Exits: where the interpreter would produce something the native code does
 * not model (a zero divisor, an AWK division by zero, reading a slot that
 * holds a string), the code leaves through a guard whose snapshot names the
 * op to resume at and where every slot and stack value is. fvm_block_run
 * reports the exit with that state so a caller holding a VM can resume the
 * interpreter exactly there. */
#ifndef FVM_JIT_BLOCK_H
#define FVM_JIT_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunk.h"
#include "jit/mcode.h"
#include "util.h"

/* Whether op ip of c is one the block tier compiles (validation only). */
bool fvm_block_op_ok(const fvm_chunk *c, size_t ip);

#endif
