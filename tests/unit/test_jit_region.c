/* Partial JIT regions: fvm_jit_find_region and fvm_jit_extract_region
 * (upstream's find_jit_region / extract_region) and the VM's
 * list of regions, fvm_block_regions. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <string.h>

#include "chunktest.h"
#include "chunk.h"
#include "jit/region.h"


/* A chunk of ops (op i on line 100 + i) with an Int constant 7, a String
 * constant "s", the names "x" and "y", a sub entry, a block range and a
 * sub-chunk, and the source name "prog.src". */
static fvm_chunk *chunk_of(const fvm_op *ops, size_t n)
{
    fvm_builder *b = fvm_builder_new();
    cr_assert_eq(fvm_add_constant(b, fvm_int(7)), 0);
    cr_assert_eq(fvm_add_constant(b, fvm_cstr("s")), 1);
    cr_assert_eq(fvm_add_name(b, "x", 1), 0);
    cr_assert_eq(fvm_add_name(b, "y", 1), 1);
    cr_assert_eq(fvm_add_sub_entry(b, 1, 0), 0);
    cr_assert_eq(fvm_add_block_range(b, 0, n), 0);
    fvm_builder *sb = fvm_builder_new();
    fvm_emit(sb, FVM_LOAD_INT(1), 1);
    fvm_chunk *sub = fvm_build(sb);
    fvm_builder_free(sb);
    cr_assert_eq(fvm_add_sub_chunk(b, sub), 0);
    fvm_set_source(b, "prog.src", 8);
    for (size_t i = 0; i < n; i++)
        fvm_emit(b, ops[i], (uint32_t)(100 + i));
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c, "%s", fvm_builder_error(b) ? fvm_builder_error(b) : "?");
    fvm_builder_free(b);
    return c;
}

/* find_region's answer for ops as "start end", or "none". */
static void expect_region(const fvm_op *ops, size_t n, long want_start, long want_end)
{
    fvm_chunk *c = chunk_of(ops, n);
    size_t s = 99, e = 99;
    bool found = fvm_jit_find_region(c, &s, &e);
    if (want_start < 0) {
        cr_assert_not(found, "expected no region, got [%zu, %zu)", s, e);
        cr_assert(s == 99 && e == 99, "outputs written without a region");
    } else {
        cr_assert(found, "expected [%ld, %ld), got none", want_start, want_end);
        cr_assert(s == (size_t)want_start && e == (size_t)want_end, "expected [%ld, %ld), got [%zu, %zu)",
                  want_start, want_end, s, e);
    }
    fvm_chunk_free(c);
}

#define X FVM_CONCAT() /* not block-eligible */
#define E FVM_LOAD_INT(1)

Test(jit_region, whole_eligible_chunk_is_one_region)
{
    expect_region(OPS(E, E, FVM_ADD(), FVM_SET_SLOT(0), FVM_GET_SLOT(0)), 0, 5);
}

Test(jit_region, a_non_eligible_op_in_the_middle_splits_the_chunk)
{
    expect_region(OPS(E, E, E, X, E, E, E, E, E), 4, 9);
    expect_region(OPS(E, E, E, E, E, X, E, E, E, E), 0, 5);
    /* A LoadConst of a String is not eligible; of an Int it is. */
    expect_region(OPS(FVM_LOAD_CONST(0), E, FVM_LOAD_CONST(1), E, E, E, E), 3, 7);
}

Test(jit_region, the_earliest_of_equal_runs_wins)
{
    expect_region(OPS(X, E, E, E, E, X, E, E, E, E), 1, 5);
    expect_region(OPS(E, E, E, E, X, E, E, E, E, X, E, E, E, E, E), 10, 15);
}

Test(jit_region, runs_shorter_than_four_are_no_region)
{
    expect_region(OPS(E, E, E, X, E, E, E, X, E), -1, -1);
    expect_region(OPS(E, E, E), -1, -1);
    expect_region(OPS(X, E, E, E, E), 1, 5);
    fvm_builder *b = fvm_builder_new();
    fvm_chunk *empty = fvm_build(b);
    fvm_builder_free(b);
    size_t s, e;
    cr_assert_not(fvm_jit_find_region(empty, &s, &e));
    cr_assert_not(fvm_jit_find_region(NULL, &s, &e));
    fvm_chunk_free(empty);
}

Test(jit_region, jumps_must_stay_inside_the_region)
{
    /* Backward jump to the region's start and a forward jump to its last op. */
    expect_region(OPS(X, E, FVM_POP(), FVM_JUMP_IF_FALSE(1), FVM_JUMP(1)), 1, 5);
    expect_region(OPS(X, E, FVM_JUMP_IF_TRUE(4), FVM_NOP(), FVM_NOP(), X), 1, 5);
    /* Before the start, to the non-eligible op that ends the run, past it. */
    expect_region(OPS(X, E, E, E, FVM_JUMP(0)), -1, -1);
    expect_region(OPS(E, E, E, FVM_JUMP_IF_FALSE(5), E, X, E), -1, -1);
    expect_region(OPS(E, E, FVM_SLOT_LT_INT_JUMP_IF_FALSE(0, 3, 7), E, E, X, E, E), -1, -1);
    /* A jump to exactly the end disqualifies (upstream's rule), even when
     * the end is the chunk's end. */
    expect_region(OPS(E, E, FVM_JUMP(4), E), -1, -1);
    /* The Keep forms and the fused loop ops are jumps too. */
    expect_region(OPS(E, FVM_JUMP_IF_TRUE_KEEP(5), E, E, E, X), -1, -1);
    expect_region(OPS(E, FVM_JUMP_IF_FALSE_KEEP(4), E, E, E, X), 0, 5);
    expect_region(OPS(X, E, E, E, FVM_SLOT_INC_LT_INT_JUMP_BACK(0, 3, 0)), -1, -1);
    expect_region(OPS(X, E, E, E, FVM_SLOT_INC_LT_INT_JUMP_BACK(0, 3, 1)), 1, 5);
}

Test(jit_region, only_the_longest_run_is_considered)
{
    /* The longest run jumps out; a shorter clean run does not stand in. */
    expect_region(OPS(E, E, E, E, X, E, E, E, E, E, FVM_JUMP(0)), -1, -1);
}

/* The targets of every op of c, in order (0 for an op without one). */
static void expect_targets(const fvm_chunk *c, const uint32_t *want, size_t n)
{
    cr_assert_eq(fvm_chunk_len(c), n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(fvm_chunk_ops(c)[i].u.j.target, want[i], "op %zu: target %u, expected %u", i,
                     fvm_chunk_ops(c)[i].u.j.target, want[i]);
}

Test(jit_region, extract_rebases_every_jump_kind)
{
    fvm_chunk *c = chunk_of(OPS(X, X, X,
                                /* 3 */ FVM_JUMP(4),
                                /* 4 */ FVM_LOAD_TRUE(),
                                /* 5 */ FVM_JUMP_IF_TRUE(6),
                                /* 6 */ FVM_LOAD_FALSE(),
                                /* 7 */ FVM_JUMP_IF_FALSE(8),
                                /* 8 */ FVM_LOAD_TRUE(),
                                /* 9 */ FVM_JUMP_IF_TRUE_KEEP(10),
                                /* 10 */ FVM_JUMP_IF_FALSE_KEEP(11),
                                /* 11 */ FVM_POP(),
                                /* 12 */ FVM_SLOT_LT_INT_JUMP_IF_FALSE(2, 10, 14),
                                /* 13 */ FVM_SLOT_INC_LT_INT_JUMP_BACK(2, 10, 13),
                                /* 14 */ FVM_JUMP(3),
                                /* 15 */ X));
    size_t s, e;
    cr_assert(fvm_jit_find_region(c, &s, &e));
    cr_assert(s == 3 && e == 15);
    fvm_chunk *r = fvm_jit_extract_region(c, s, e);
    cr_assert_not_null(r);
    expect_targets(r, (const uint32_t[]){1, 0, 3, 0, 5, 0, 7, 8, 0, 11, 10, 0}, 12);
    const fvm_op *ops = fvm_chunk_ops(r);
    for (size_t i = 0; i < 12; i++)
        cr_assert_eq(ops[i].code, fvm_chunk_ops(c)[3 + i].code);
    cr_assert(ops[9].a == 2 && ops[9].u.j.limit == 10);
    cr_assert(ops[10].a == 2 && ops[10].u.j.limit == 10);
    cr_assert_eq(fvm_chunk_max_slot(r), 2);
    fvm_chunk_free(r);
    fvm_chunk_free(c);
}

Test(jit_region, extract_keeps_pools_and_source_and_the_regions_lines)
{
    fvm_chunk *c = chunk_of(OPS(X, FVM_LOAD_CONST(0), FVM_LOAD_INT(5), FVM_ADD(), FVM_SET_SLOT(3), X));
    fvm_chunk *r = fvm_jit_extract_region(c, 1, 5);
    cr_assert_not_null(r);
    cr_assert_eq(fvm_chunk_len(r), 4);
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(fvm_chunk_line(r, i), 101 + i);
    cr_assert_eq(fvm_chunk_constant_count(r), 2);
    cr_assert(fvm_value_equal(fvm_chunk_constant(r, 0), fvm_int(7)));
    size_t len;
    cr_assert_str_eq(fvm_str_bytes(fvm_chunk_constant(r, 1), &len), "s");
    cr_assert_eq(fvm_chunk_name_count(r), 2);
    cr_assert_str_eq(fvm_chunk_name(r, 0, &len), "x");
    cr_assert_str_eq(fvm_chunk_name(r, 1, &len), "y");
    const char *src = fvm_chunk_source(r, &len);
    cr_assert(len == 8 && memcmp(src, "prog.src", 8) == 0);
    cr_assert_eq(fvm_chunk_sub_entry_count(r), 0);
    cr_assert_eq(fvm_chunk_block_range_count(r), 0);
    cr_assert_eq(fvm_chunk_sub_chunk_count(r), 0);
    cr_assert_eq(fvm_chunk_max_slot(r), 3);
    /* The region runs on its own. */
    fvm_vm *vm = fvm_vm_new(r);
    fvm_result res = fvm_vm_run(vm);
    cr_assert_eq(res.status, FVM_RUN_HALTED);
    fvm_value s3 = fvm_vm_get_slot(vm, 3);
    cr_assert(s3.type == FVM_T_INT && s3.as.i == 12);
    fvm_vm_free(vm);
    /* The copy shares nothing the parent's release could free. */
    fvm_chunk_free(c);
    cr_assert_str_eq(fvm_str_bytes(fvm_chunk_constant(r, 1), &len), "s");
    cr_assert_str_eq(fvm_chunk_name(r, 1, &len), "y");
    fvm_chunk_free(r);
}

Test(jit_region, extract_hashes_afresh_and_equal_regions_hash_equal)
{
    fvm_chunk *a = chunk_of(OPS(X, E, FVM_GET_SLOT(0), FVM_ADD(), FVM_JUMP_IF_TRUE(1), X));
    fvm_chunk *b = chunk_of(OPS(E, E, X, X, X, E, FVM_GET_SLOT(0), FVM_ADD(), FVM_JUMP_IF_TRUE(5)));
    fvm_chunk *ra = fvm_jit_extract_region(a, 1, 5);
    fvm_chunk *rb = fvm_jit_extract_region(b, 5, 9);
    cr_assert(ra && rb);
    cr_assert_neq(fvm_chunk_op_hash(ra), fvm_chunk_op_hash(a));
    cr_assert_eq(fvm_chunk_op_hash(ra), fvm_chunk_op_hash(rb));
    /* Only their lines differ, and the hash does not cover lines. */
    cr_assert(fvm_chunk_line(ra, 0) == 101 && fvm_chunk_line(rb, 0) == 105);
    /* The same as building the region's ops directly. */
    fvm_chunk *direct = chunk_of(OPS(E, FVM_GET_SLOT(0), FVM_ADD(), FVM_JUMP_IF_TRUE(0)));
    cr_assert_eq(fvm_chunk_op_hash(ra), fvm_chunk_op_hash(direct));
    fvm_chunk *other = fvm_jit_extract_region(b, 0, 2);
    cr_assert_neq(fvm_chunk_op_hash(ra), fvm_chunk_op_hash(other));
    fvm_chunk_free(other);
    fvm_chunk_free(direct);
    fvm_chunk_free(ra);
    fvm_chunk_free(rb);
    fvm_chunk_free(a);
    fvm_chunk_free(b);
}

Test(jit_region, extract_refuses_bad_ranges_and_jumps_that_leave)
{
    fvm_chunk *c = chunk_of(OPS(E, E, FVM_JUMP_IF_FALSE(0), E, FVM_JUMP_IF_TRUE(6), E));
    cr_assert_null(fvm_jit_extract_region(c, 3, 3));
    cr_assert_null(fvm_jit_extract_region(c, 4, 3));
    cr_assert_null(fvm_jit_extract_region(c, 5, 7));
    cr_assert_null(fvm_jit_extract_region(c, 7, 9));
    cr_assert_null(fvm_jit_extract_region(c, 1, 3)); /* target 0 < start */
    cr_assert_null(fvm_jit_extract_region(c, 3, 5)); /* target 6 > end */
    cr_assert_null(fvm_jit_extract_region(NULL, 0, 1));
    /* A jump to exactly the end becomes a jump to the new chunk's end. */
    fvm_chunk *r = fvm_jit_extract_region(c, 3, 6);
    cr_assert_not_null(r);
    expect_targets(r, (const uint32_t[]){0, 3, 0}, 3);
    fvm_chunk_free(r);
    /* The whole chunk: the same ops and constants, so the same hash. */
    r = fvm_jit_extract_region(c, 0, 6);
    cr_assert_not_null(r);
    cr_assert_eq(fvm_chunk_op_hash(r), fvm_chunk_op_hash(c));
    fvm_chunk_free(r);
    fvm_chunk_free(c);
}

/* fvm_block_regions of ops, compared with want (pairs of start, end). */
static void expect_regions(const fvm_op *ops, size_t n, const uint32_t *want, size_t nwant)
{
    fvm_chunk *c = chunk_of(ops, n);
    fvm_block_region got[8];
    size_t count = fvm_block_regions(c, got, 8);
    cr_assert_eq(count, nwant / 2, "%zu regions, expected %zu", count, nwant / 2);
    for (size_t i = 0; i < count; i++)
        cr_assert(got[i].start == want[2 * i] && got[i].end == want[2 * i + 1],
                  "region %zu is [%u, %u), expected [%u, %u)", i, got[i].start, got[i].end, want[2 * i],
                  want[2 * i + 1]);
    fvm_chunk_free(c);
}

#define REGIONS(...) ((const uint32_t[]){__VA_ARGS__}), (sizeof((const uint32_t[]){__VA_ARGS__}) / sizeof(uint32_t))
#define NO_REGIONS NULL, 0

Test(jit_region, block_regions_lists_every_maximal_run_in_order)
{
    expect_regions(OPS(E, E, X, E, E, E, X, E, X, E, E), REGIONS(0, 2, 3, 6, 9, 11));
    expect_regions(OPS(E, X, E, X), NO_REGIONS);
    expect_regions(OPS(X, X), NO_REGIONS);
    expect_regions(OPS(E, E, E, E, E), REGIONS(0, 5));
}

Test(jit_region, block_regions_allow_a_jump_to_the_end_but_not_beyond)
{
    /* A jump to exactly the end of the run: allowed here, unlike find_region. */
    expect_regions(OPS(E, FVM_JUMP_IF_FALSE(3), E, X, E, E), REGIONS(0, 3, 4, 6));
    /* Leaving: past the end, before the start (that run is dropped, the others stay). */
    expect_regions(OPS(E, FVM_JUMP_IF_FALSE(4), E, X, E, E), REGIONS(4, 6));
    expect_regions(OPS(E, E, X, E, FVM_JUMP(1), X, E, E), REGIONS(0, 2, 6, 8));
    expect_regions(OPS(E, E, X, FVM_SLOT_INC_LT_INT_JUMP_BACK(0, 4, 3), FVM_SLOT_LT_INT_JUMP_IF_FALSE(0, 4, 6),
                       FVM_JUMP_IF_TRUE_KEEP(5), X),
                   REGIONS(0, 2, 3, 6));
    expect_regions(OPS(E, E, X, FVM_SLOT_INC_LT_INT_JUMP_BACK(0, 4, 2), E), REGIONS(0, 2));
}

Test(jit_region, block_regions_returns_the_count_beyond_max)
{
    fvm_chunk *c = chunk_of(OPS(E, E, X, E, E, X, E, E));
    fvm_block_region one[1];
    cr_assert_eq(fvm_block_regions(c, NULL, 0), 3);
    cr_assert_eq(fvm_block_regions(c, one, 1), 3);
    cr_assert(one[0].start == 0 && one[0].end == 2);
    fvm_chunk_free(c);
}
