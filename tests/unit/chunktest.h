/* Building small chunks and contexts in the JIT tests (test_jit_block.c,
 * test_jit_persist.c, test_jit_block_diff.c, test_interrupt.c;
 * test_jit_linear.c and test_jit_region.c build theirs with other
 * constants but spell op lists the same way). */
#ifndef FVM_TEST_CHUNKTEST_H
#define FVM_TEST_CHUNKTEST_H

#include <stddef.h>
#include <stdint.h>

#include <fusevm.h>

/* An op list as the two arguments (array, count) the builders take:
 * chunk_of(OPS(FVM_LOAD_INT(1), FVM_NEG())). */
#define OPS(...) ((const fvm_op[]){__VA_ARGS__}), (sizeof((const fvm_op[]){__VA_ARGS__}) / sizeof(fvm_op))

/* A chunk of ops (op i on line i + 1) with constant 0 Int 5 and constant 1
 * String "str"; asserts it builds. */
fvm_chunk *ct_chunk(const fvm_op *ops, size_t n);
/* A double's bit pattern, to compare floats exactly (signed zeros, NaNs). */
uint64_t ct_bits(double d);
/* A JIT context for tests: no disk cache, and the block tier compiling
 * every region on its first entry. */
fvm_jit *ct_eager_jit(void);
/* ct_eager_jit whose VMs also trace loops, recording at the first
 * back-edge (the block and trace tiers both). */
fvm_jit *ct_eager_trace_jit(void);
/* The JIT modes the tests that compare against the interpreter run: 0 none,
 * 1 ct_eager_jit, 2 ct_eager_trace_jit. */
enum { CT_JIT_MODES = 3 };
fvm_jit *ct_jit_for_mode(int mode);

#endif
