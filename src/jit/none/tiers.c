/* The tiers of a build without a code generator (make JIT=0): none. The
 * context, its settings and counters, region analysis and the disk cache's
 * management calls work as in a full build; every tier reports itself
 * unavailable and every run declines (jit.h, tiers.c). */
#include "jit/jit.h"

const fvm_jit_tier_ops *const fvm_jit_tiers[FVM_JIT_TIER_COUNT] = {NULL};
