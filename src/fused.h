/* Fused superinstructions described as the base-op sequences they replace
 * (the "Replaces" of docs/OPS.md), as data in one place: the disassembler's
 * annotations, the tests and the JIT all read the same expansion. */
#ifndef FVM_FUSED_H
#define FVM_FUSED_H

#include "fusevm.h"

/* One op of an expansion. Every op used in expansions has at most one
 * operand; it comes either from operand `arg` of the fused op or, for a
 * jump inside the expansion, from `local`: a position within the expansion,
 * where the expansion's length means "just after it". The unused one is -1. */
typedef struct fvm_unfused_op {
    uint16_t code;
    int8_t arg;
    int8_t local;
} fvm_unfused_op;

/* No expansion is longer than this. */
#define FVM_FUSED_MAX_LEN 12

/* The expansion of a fused op, or NULL with *len = 0 for any other op.
 * Expansions use base ops only (no fused op inside). */
const fvm_unfused_op *fvm_fused_expansion(unsigned code, size_t *len);

/* The expansion of op as real ops, as if its first op sat at index base:
 * operands taken from op, local jump targets made absolute (base + local).
 * out has room for FVM_FUSED_MAX_LEN ops. Returns the count (0 when op is
 * not fused). */
size_t fvm_fused_expand(const fvm_op *op, uint32_t base, fvm_op *out);

#endif
