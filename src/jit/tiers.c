/* The tiers of this build (jit.h): the one file that names them, so a
 * build without a code generator (make JIT=0) leaves out every tier's
 * files by linking jit/none/tiers.c instead of this one. */
#include "jit/jit.h"

const fvm_jit_tier_ops *const fvm_jit_tiers[FVM_JIT_TIER_COUNT] = {
    [FVM_JIT_LINEAR] = &fvm_linear_tier,
    [FVM_JIT_BLOCK] = &fvm_block_tier,
    [FVM_JIT_TRACE] = &fvm_trace_tier,
};
