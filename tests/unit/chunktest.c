/* Chunk- and context-building helpers for the JIT tests (see chunktest.h). */
#include "chunktest.h"

#include <criterion/criterion.h>
#include <string.h>

fvm_chunk *ct_chunk(const fvm_op *ops, size_t n)
{
    fvm_builder *b = fvm_builder_new();
    fvm_add_constant(b, fvm_int(5));
    fvm_add_constant(b, fvm_cstr("str"));
    for (size_t i = 0; i < n; i++)
        fvm_emit(b, ops[i], (uint32_t)i + 1);
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c, "%s", fvm_builder_error(b) ? fvm_builder_error(b) : "?");
    fvm_builder_free(b);
    return c;
}

uint64_t ct_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

fvm_jit *ct_eager_jit(void)
{
    fvm_jit *j = fvm_jit_new();
    cr_assert_not_null(j);
    fvm_jit_set_cache_dir(j, FVM_JIT_CACHE_OFF);
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD, 0), 0);
    return j;
}

fvm_jit *ct_eager_trace_jit(void)
{
    fvm_jit *j = ct_eager_jit();
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_VM_TIERS, (1u << FVM_JIT_BLOCK) | (1u << FVM_JIT_TRACE)),
                 0);
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_TRACE_THRESHOLD, 0), 0);
    return j;
}

fvm_jit *ct_jit_for_mode(int mode)
{
    return mode == 0 ? NULL : mode == 1 ? ct_eager_jit() : ct_eager_trace_jit();
}
