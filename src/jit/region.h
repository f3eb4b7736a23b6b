/* Regions: runs of block-eligible ops inside a chunk that is not eligible
 * as a whole (SPEC 5.3.3, "partial JIT").
 *
 * Two views of the same idea, with one difference in the jump rule:
 *
 *  - fvm_jit_find_region / fvm_jit_extract_region (public, upstream's
 *    find_jit_region and extract_region): the single longest run of at
 *    least 4 eligible ops, and a jump to exactly the run's end disqualifies
 *    it, as upstream's does.
 *  - fvm_block_regions (internal, for the VM): every maximal run of at
 *    least 2 eligible ops that does not cross a subroutine's entry (calls
 *    enter there, never at a region's start), and a jump to exactly the
 *    run's end is allowed:
 *    the op at end is where execution continues in the interpreter anyway,
 *    so leaving native code there is the same as falling off the region.
 *
 * In both, a jump is any op with a jump-target operand (the op table's
 * descriptors say which), and every one inside the run must stay inside.
 * Jumps from outside into the middle of a region need no rule: native code
 * is entered only at a region's start, so such a jump simply keeps running
 * in the interpreter. */
#ifndef FVM_JIT_REGION_H
#define FVM_JIT_REGION_H

#include <stddef.h>
#include <stdint.h>

#include "chunk.h"

/* Whether op ip of c is one the block tier compiles, and whether every op
 * of a non-empty c is (*why_not, which may be NULL, says why not):
 * validation only, so it lives here, where a build without a code
 * generator still has it for the public region calls. */
bool fvm_block_op_ok(const fvm_chunk *c, size_t ip);
bool fvm_block_eligible(const fvm_chunk *c, const char **why_not);

/* Ops [start, end) of a chunk. */
typedef struct fvm_block_region {
    uint32_t start, end;
} fvm_block_region;

/* Every region of c (see above), in ascending order: writes the first
 * min(count, max) to out (out may be NULL when max is 0) and returns the
 * count. */
size_t fvm_block_regions(const fvm_chunk *c, fvm_block_region *out, size_t max);

#endif
