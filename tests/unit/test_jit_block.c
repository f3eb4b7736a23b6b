/* The block tier by hand: upstream's behaviours with our semantics where
 * we differ on purpose (docs/OPS.md, "Differences from upstream"): Int/Int
 * Div is a Float, a zero divisor gives the interpreter's Undef, Pow is a
 * Float, NaN is truthy, Bool stays Bool, an empty stack is Halted. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jit/jitop.h"
#include "chunktest.h"
#include "jit/block.h"

static fvm_jit *context(void)
{
    fvm_jit *j = fvm_jit_new();
    cr_assert_not_null(j);
    fvm_jit_set_cache_dir(j, FVM_JIT_CACHE_OFF);
    return j;
}

#define EXPECT_INT(v, n) cr_assert((v).type == FVM_T_INT && (v).as.i == (n), "type %u value %lld", (v).type, (long long)(v).as.i)
#define EXPECT_FLOAT(v, d) cr_assert((v).type == FVM_T_FLOAT && ct_bits((v).as.f) == ct_bits(d), "type %u value %.17g", (v).type, (v).as.f)
#define EXPECT_BOOL(v, want) cr_assert((v).type == FVM_T_BOOL && (v).as.b == (want), "type %u", (v).type)

/* Run ops eagerly with slots (nslots of them): the status, *out the result. */
static fvm_jit_status eager(const fvm_op *ops, size_t n, fvm_value *slots, size_t nslots, fvm_value *out)
{
    fvm_jit *j = context();
    fvm_chunk *c = ct_chunk(ops, n);
    *out = fvm_undef();
    fvm_jit_status st = fvm_jit_try_run_block_eager(j, c, slots, nslots, out);
    fvm_chunk_free(c);
    fvm_jit_free(j);
    return st;
}

/* s1 = 0; s0 = 0; while (s0 < 10) { s1 = s1 + s0; s0 = s0 + 1 }; s1 */
#define SUM_LOOP                                                                                  \
    FVM_LOAD_INT(0), FVM_SET_SLOT(1), FVM_LOAD_INT(0), FVM_SET_SLOT(0),                           \
    /* 4 */ FVM_GET_SLOT(0), FVM_LOAD_INT(10), FVM_NUM_LT(), FVM_JUMP_IF_FALSE(17),              \
    /* 8 */ FVM_GET_SLOT(1), FVM_GET_SLOT(0), FVM_ADD(), FVM_SET_SLOT(1),                         \
    /* 12 */ FVM_GET_SLOT(0), FVM_LOAD_INT(1), FVM_ADD(), FVM_SET_SLOT(0), FVM_JUMP(4),          \
    /* 17 */ FVM_GET_SLOT(1)

Test(jit_block, a_counted_loop_runs_natively_and_writes_its_slots)
{
    fvm_value s[2] = {fvm_int(99), fvm_float(2.5)}, out;
    cr_assert_eq(eager(OPS(SUM_LOOP), s, 2, &out), FVM_JIT_OK);
    EXPECT_INT(out, 45);
    EXPECT_INT(s[0], 10);
    EXPECT_INT(s[1], 45);
}

Test(jit_block, fused_loop_ops)
{
    /* s0 = 0; do { s1 += s0 } while (++s0 < 5) with the fused back-edge */
    fvm_value s[3] = {fvm_int(0), fvm_int(0), fvm_int(7)}, out;
    cr_assert_eq(eager(OPS(FVM_LOAD_INT(0), FVM_SET_SLOT(0), FVM_SLOT_LT_INT_JUMP_IF_FALSE(0, 5, 6),
                           FVM_ADD_ASSIGN_SLOT_VOID(1, 0), FVM_SLOT_INC_LT_INT_JUMP_BACK(0, 5, 3),
                           FVM_ACCUM_SUM_LOOP(2, 0, 8), FVM_GET_SLOT(2)),
                       s, 3, &out),
                 FVM_JIT_OK);
    EXPECT_INT(s[0], 8);
    EXPECT_INT(s[1], 10);
    EXPECT_INT(out, 7 + 5 + 6 + 7);
}

Test(jit_block, accum_sum_loop_from_a_far_start_finishes, .timeout = 10)
{
    fvm_value s[2] = {fvm_int(0), fvm_int(INT64_MIN)}, out;
    fvm_jit_status st = eager(OPS(FVM_ACCUM_SUM_LOOP(0, 1, 3), FVM_GET_SLOT(0)), s, 2, &out);
    if (st == FVM_JIT_OK) {
        EXPECT_INT(s[1], 3);
        /* sum of INT64_MIN..2, wrapping: what the interpreter computes */
        fvm_chunk *c = ct_chunk(OPS(FVM_ACCUM_SUM_LOOP(0, 1, 3), FVM_GET_SLOT(0)));
        fvm_vm *vm = fvm_vm_new(c);
        fvm_vm_set_slot(vm, 0, fvm_int(0));
        fvm_vm_set_slot(vm, 1, fvm_int(INT64_MIN));
        fvm_result r = fvm_vm_run(vm);
        EXPECT_INT(out, r.value.as.i);
        fvm_vm_free(vm);
        fvm_chunk_free(c);
    } else {
        cr_assert_eq(st, FVM_JIT_NOT_COMPILED);
    }
}

Test(jit_block, branches_and_a_ternary_joining_at_the_end)
{
    /* s0 > 5 ? 1.5 : 2.5, the join being the chunk's end */
    const fvm_op prog[] = {FVM_GET_SLOT(0), FVM_LOAD_INT(5), FVM_NUM_GT(), FVM_JUMP_IF_FALSE(6),
                           FVM_LOAD_FLOAT(1.5), FVM_JUMP(7), FVM_LOAD_FLOAT(2.5)};
    fvm_value s[1] = {fvm_int(9)}, out;
    cr_assert_eq(eager(prog, 7, s, 1, &out), FVM_JIT_OK);
    EXPECT_FLOAT(out, 1.5);
    s[0] = fvm_int(5);
    cr_assert_eq(eager(prog, 7, s, 1, &out), FVM_JIT_OK);
    EXPECT_FLOAT(out, 2.5);
    /* The Keep jumps: s0 || 7 */
    const fvm_op keep[] = {FVM_GET_SLOT(0), FVM_JUMP_IF_TRUE_KEEP(4), FVM_POP(), FVM_LOAD_INT(7)};
    s[0] = fvm_int(0);
    cr_assert_eq(eager(keep, 4, s, 1, &out), FVM_JIT_OK);
    EXPECT_INT(out, 7);
    s[0] = fvm_int(-3);
    cr_assert_eq(eager(keep, 4, s, 1, &out), FVM_JIT_OK);
    EXPECT_INT(out, -3);
}

Test(jit_block, float_slots_stay_float)
{
    /* s0 = s0 * 2 three times with a counter in s1 */
    fvm_value s[2] = {fvm_float(1.25), fvm_int(0)}, out;
    cr_assert_eq(eager(OPS(FVM_LOAD_INT(0), FVM_SET_SLOT(1), FVM_GET_SLOT(0), FVM_LOAD_INT(2), FVM_MUL(),
                           FVM_SET_SLOT(0), FVM_SLOT_INC_LT_INT_JUMP_BACK(1, 3, 2), FVM_GET_SLOT(0)),
                       s, 2, &out),
                 FVM_JIT_OK);
    EXPECT_FLOAT(out, 10.0);
    EXPECT_FLOAT(s[0], 10.0);
    /* An Int slot assigned a Float holds the Float (no truncation). */
    s[0] = fvm_int(1);
    cr_assert_eq(eager(OPS(FVM_GET_SLOT(0), FVM_LOAD_FLOAT(1.9), FVM_ADD(), FVM_SET_SLOT(0)), s, 1, &out),
                 FVM_JIT_HALTED);
    EXPECT_FLOAT(s[0], 2.9);
}

Test(jit_block, our_semantics_where_upstream_differs)
{
    fvm_value s[1] = {fvm_int(0)}, out;
    cr_assert_eq(eager(OPS(FVM_LOAD_INT(20), FVM_LOAD_INT(5), FVM_DIV()), s, 1, &out), FVM_JIT_OK);
    EXPECT_FLOAT(out, 4.0);
    cr_assert_eq(eager(OPS(FVM_LOAD_INT(2), FVM_LOAD_INT(10), FVM_POW()), s, 1, &out), FVM_JIT_OK);
    EXPECT_FLOAT(out, 1024.0);
    cr_assert_eq(eager(OPS(FVM_LOAD_INT(2), FVM_LOAD_INT(-1), FVM_POW()), s, 1, &out), FVM_JIT_OK);
    EXPECT_FLOAT(out, 0.5);
    cr_assert_eq(eager(OPS(FVM_LOAD_FLOAT(4.0)), s, 1, &out), FVM_JIT_OK);
    EXPECT_FLOAT(out, 4.0);
    cr_assert_eq(eager(OPS(FVM_LOAD_INT(1), FVM_LOAD_INT(2), FVM_NUM_LT()), s, 1, &out), FVM_JIT_OK);
    EXPECT_BOOL(out, true);
    cr_assert_eq(eager(OPS(FVM_LOAD_INT(INT64_MIN), FVM_LOAD_INT(-1), FVM_MOD()), s, 1, &out), FVM_JIT_OK);
    EXPECT_INT(out, 0);
    /* NaN is truthy: JumpIfFalse falls through. */
    s[0] = fvm_float(NAN);
    cr_assert_eq(eager(OPS(FVM_GET_SLOT(0), FVM_JUMP_IF_FALSE(4), FVM_LOAD_INT(1), FVM_JUMP(5), FVM_LOAD_INT(2)),
                       s, 1, &out),
                 FVM_JIT_OK);
    EXPECT_INT(out, 1);
    /* An empty stack at the end is Halted, *out Undef. */
    s[0] = fvm_int(3);
    out = fvm_int(77);
    cr_assert_eq(eager(OPS(FVM_LOAD_INT(4), FVM_SET_SLOT(0)), s, 1, &out), FVM_JIT_HALTED);
    cr_assert_eq(out.type, FVM_T_UNDEF);
    EXPECT_INT(s[0], 4);
}

Test(jit_block, a_zero_divisor_is_left_to_the_interpreter)
{
    const fvm_op prog[] = {FVM_LOAD_INT(9), FVM_SET_SLOT(1), FVM_LOAD_INT(1), FVM_GET_SLOT(0), FVM_DIV()};
    fvm_value s[2] = {fvm_int(0), fvm_int(5)}, out;
    cr_assert_eq(eager(prog, 5, s, 2, &out), FVM_JIT_NOT_COMPILED);
    EXPECT_INT(s[1], 5); /* nothing written */
    s[0] = fvm_float(-0.0);
    cr_assert_eq(eager(prog, 5, s, 2, &out), FVM_JIT_NOT_COMPILED);
    /* Through a VM with the tier on, the interpreter's Undef. */
    fvm_jit *j = context();
    fvm_jit_set_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD, 0);
    fvm_chunk *c = ct_chunk(prog, 5);
    for (int run = 0; run < 2; run++) {
        fvm_vm *vm = fvm_vm_new(c);
        fvm_vm_set_jit(vm, j);
        fvm_vm_set_slot(vm, 0, fvm_int(0));
        fvm_result r = fvm_vm_run(vm);
        cr_assert_eq(r.status, FVM_RUN_OK);
        cr_assert_eq(r.value.type, FVM_T_UNDEF);
        fvm_value s1 = fvm_vm_get_slot(vm, 1);
        EXPECT_INT(s1, 9);
        fvm_vm_free(vm);
    }
    fvm_chunk_free(c);
    fvm_jit_free(j);
}

/* Leaving native code is counted by its reason: a zero divisor, a slot
 * holding a string, an AwkInt result outside Int range; a run that
 * completes counts none. */
Test(jit_block, exits_are_counted_by_reason)
{
    fvm_jit *j = ct_eager_jit();
    fvm_value s[1] = {fvm_int(0)}, out;
    fvm_chunk *div = ct_chunk(OPS(FVM_LOAD_INT(1), FVM_GET_SLOT(0), FVM_DIV()));
    cr_assert_eq(fvm_jit_try_run_block_eager(j, div, s, 1, &out), FVM_JIT_NOT_COMPILED);
    s[0] = fvm_int(2);
    cr_assert_eq(fvm_jit_try_run_block_eager(j, div, s, 1, &out), FVM_JIT_OK);
    fvm_chunk *awk_int = ct_chunk(OPS(FVM_GET_SLOT(0), FVM_AWK_INT()));
    s[0] = fvm_float(1e300);
    cr_assert_eq(fvm_jit_try_run_block_eager(j, awk_int, s, 1, &out), FVM_JIT_NOT_COMPILED);
    fvm_chunk *str = ct_chunk(OPS(FVM_GET_SLOT(0), FVM_LOAD_INT(1), FVM_ADD()));
    s[0] = fvm_cstr("x");
    cr_assert_eq(fvm_jit_try_run_block_eager(j, str, s, 1, &out), FVM_JIT_NOT_COMPILED);
    fvm_release(s[0]);
    fvm_jit_counters c;
    fvm_jit_stats(j, &c);
    cr_assert_eq(c.reasons[FVM_JIT_REASON_EXIT_ZERO_DIVISOR], 1);
    cr_assert_eq(c.reasons[FVM_JIT_REASON_EXIT_INT_RANGE], 1);
    cr_assert_eq(c.reasons[FVM_JIT_REASON_EXIT_VALUE_KIND], 1);
    cr_assert_eq(c.runs[FVM_JIT_BLOCK], 1);
    fvm_chunk_free(div);
    fvm_chunk_free(awk_int);
    fvm_chunk_free(str);
    fvm_jit_free(j);
}

Test(jit_block, awk_division_traps_name_the_op_and_the_interpreters_message)
{
    fvm_jit *j = context();
    cr_assert_null(fvm_jit_awk_div_trap_message(0));
    cr_assert_str_eq(fvm_jit_awk_div_trap_message(1), "division by zero attempted");
    cr_assert_str_eq(fvm_jit_awk_div_trap_message(2), "division by zero attempted in `%'");
    unsigned codes[2] = {FVM_OP_AWK_DIV_JIT, FVM_OP_AWK_MOD_JIT};
    for (int k = 0; k < 2; k++) {
        fvm_op div = {(uint16_t)codes[k], 0, 0, 0, {0}};
        fvm_chunk *c = ct_chunk(OPS(FVM_LOAD_INT(3), FVM_SET_SLOT(1), FVM_LOAD_INT(7), FVM_GET_SLOT(0), div));
        fvm_value s[2] = {fvm_int(2), fvm_int(0)}, out;
        cr_assert_eq(fvm_jit_try_run_block_eager(j, c, s, 2, &out), FVM_JIT_OK);
        EXPECT_FLOAT(out, k ? 1.0 : 3.5);
        EXPECT_INT(s[1], 3);
        cr_assert_eq(fvm_jit_take_awk_div_trap(j), 0);
        s[0] = fvm_float(0.0);
        s[1] = fvm_int(0);
        cr_assert_eq(fvm_jit_try_run_block_eager(j, c, s, 2, &out), FVM_JIT_NOT_COMPILED);
        int trap = fvm_jit_take_awk_div_trap(j);
        cr_assert_eq(trap, k + 1);
        cr_assert_eq(fvm_jit_take_awk_div_trap(j), 0); /* reading clears it */
        EXPECT_INT(s[1], 0);                           /* no write-back */
        fvm_vm *vm = fvm_vm_new(c);
        fvm_vm_set_slot(vm, 0, fvm_float(0.0));
        cr_assert_eq(fvm_vm_run(vm).status, FVM_RUN_ERROR);
        cr_assert_str_eq(fvm_vm_error(vm), fvm_jit_awk_div_trap_message(trap));
        fvm_vm_free(vm);
        fvm_chunk_free(c);
    }
    fvm_jit_free(j);
}

Test(jit_block, no_awk_trap_when_the_divisor_is_not_zero)
{
    /* Undef / true is 0 in the interpreter; whatever the tier does with
     * the Undef operand, it must not report a division by zero. */
    fvm_jit *j = context();
    fvm_chunk *c = ct_chunk(OPS(FVM_LOAD_UNDEF(), FVM_LOAD_TRUE(), FVM_AWK_DIV_JIT()));
    fvm_value out = fvm_undef();
    fvm_jit_status st = fvm_jit_try_run_block_eager(j, c, NULL, 0, &out);
    cr_assert_eq(fvm_jit_take_awk_div_trap(j), 0);
    if (st == FVM_JIT_OK)
        EXPECT_FLOAT(out, 0.0);
    fvm_chunk_free(c);
    fvm_jit_free(j);
}

Test(jit_block, post_inc_slot_first_in_a_vm_with_the_tier)
{
    /* PostIncSlot 0; Pop on a string slot: the interpreter leaves Int(1). */
    fvm_jit *j = context();
    fvm_jit_set_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD, 0);
    fvm_chunk *c = ct_chunk(OPS(FVM_POST_INC_SLOT(0), FVM_POP()));
    for (int run = 0; run < 2; run++) {
        fvm_vm *vm = fvm_vm_new(c);
        fvm_vm_set_jit(vm, j);
        fvm_vm_set_slot(vm, 0, fvm_cstr(" 7x"));
        cr_assert_eq(fvm_vm_run(vm).status, FVM_RUN_HALTED);
        fvm_value v = fvm_vm_get_slot(vm, 0);
        EXPECT_INT(v, 1);
        fvm_vm_free(vm);
    }
    fvm_chunk_free(c);
    fvm_jit_free(j);
}

Test(jit_block, default_threshold_compiles_on_the_second_call)
{
    fvm_jit *j = context();
    cr_assert_eq(fvm_jit_get_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD), 1);
    fvm_chunk *c = ct_chunk(OPS(SUM_LOOP));
    fvm_value s[2] = {fvm_int(0), fvm_int(0)}, out;
    cr_assert_not(fvm_jit_block_is_compiled(j, c));
    cr_assert_eq(fvm_jit_try_run_block(j, c, s, 2, &out), FVM_JIT_NOT_COMPILED);
    EXPECT_INT(s[0], 0);
    cr_assert_not(fvm_jit_block_is_compiled(j, c));
    cr_assert_eq(fvm_jit_try_run_block(j, c, s, 2, &out), FVM_JIT_OK);
    EXPECT_INT(out, 45);
    cr_assert(fvm_jit_block_is_compiled(j, c));
    fvm_jit_counters k;
    fvm_jit_stats(j, &k);
    cr_assert_eq(k.runs[FVM_JIT_BLOCK], 1);
    fvm_chunk_free(c);
    fvm_jit_free(j);
}

Test(jit_block, threshold_zero_compiles_on_the_first_call)
{
    fvm_jit *j = context();
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD, 0), 0);
    fvm_chunk *c = ct_chunk(OPS(SUM_LOOP));
    fvm_value s[2] = {fvm_int(0), fvm_int(0)}, out;
    cr_assert_eq(fvm_jit_try_run_block(j, c, s, 2, &out), FVM_JIT_OK);
    EXPECT_INT(out, 45);
    fvm_jit_free(j);
    setenv("FUSEVM_JIT_BLOCK_THRESHOLD", "0", 1);
    j = context();
    unsetenv("FUSEVM_JIT_BLOCK_THRESHOLD");
    cr_assert_eq(fvm_jit_get_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD), 0);
    cr_assert_eq(fvm_jit_try_run_block(j, c, s, 2, &out), FVM_JIT_OK);
    fvm_chunk_free(c);
    fvm_jit_free(j);
}

Test(jit_block, kinded_raw_words)
{
    fvm_jit *j = context();
    fvm_chunk *c = ct_chunk(OPS(SUM_LOOP));
    int64_t w[2] = {0, 0};
    fvm_value out;
    cr_assert_eq(fvm_jit_try_run_block_kinded(j, c, w, NULL, 2, true, &out), FVM_JIT_OK);
    EXPECT_INT(out, 45);
    cr_assert(w[0] == 10 && w[1] == 45);
    fvm_chunk_free(c);
    /* A Float word in and out. */
    c = ct_chunk(OPS(FVM_GET_SLOT(0), FVM_LOAD_FLOAT(0.5), FVM_MUL(), FVM_SET_SLOT(0), FVM_GET_SLOT(0),
                     FVM_LOAD_INT(1), FVM_NUM_LT()));
    fvm_jit_slot_kind kinds[1] = {FVM_JIT_SLOT_FLOAT};
    double d = 3.0;
    memcpy(&w[0], &d, 8);
    cr_assert_eq(fvm_jit_try_run_block_kinded(j, c, w, kinds, 1, true, &out), FVM_JIT_OK);
    EXPECT_BOOL(out, false);
    cr_assert_eq((uint64_t)w[0], ct_bits(1.5));
    fvm_chunk_free(c);
    /* A Bool into an Int word is 0/1. */
    c = ct_chunk(OPS(FVM_LOAD_TRUE(), FVM_SET_SLOT(0)));
    w[0] = 5;
    cr_assert_eq(fvm_jit_try_run_block_kinded(j, c, w, NULL, 1, true, &out), FVM_JIT_HALTED);
    cr_assert_eq(w[0], 1);
    fvm_chunk_free(c);
    /* A Float written into an Int word cannot be said: decline, untouched. */
    c = ct_chunk(OPS(FVM_LOAD_FLOAT(2.5), FVM_SET_SLOT(0)));
    w[0] = 5;
    cr_assert_eq(fvm_jit_try_run_block_kinded(j, c, w, NULL, 1, true, &out), FVM_JIT_NOT_COMPILED);
    cr_assert_eq(w[0], 5);
    /* Not eager: the threshold applies. */
    fvm_chunk_free(c);
    c = ct_chunk(OPS(FVM_GET_SLOT(0), FVM_INC()));
    w[0] = 41;
    cr_assert_eq(fvm_jit_try_run_block_kinded(j, c, w, NULL, 1, false, &out), FVM_JIT_NOT_COMPILED);
    cr_assert_eq(fvm_jit_try_run_block_kinded(j, c, w, NULL, 1, false, &out), FVM_JIT_OK);
    EXPECT_INT(out, 42);
    fvm_chunk_free(c);
    fvm_jit_free(j);
}

Test(jit_block, eligibility_is_per_op)
{
    fvm_jit *j = context();
    unsigned yes = 0;
    for (unsigned code = 0; code < FVM_OP_COUNT; code++) {
        fvm_op op = {(uint16_t)code, 0, 0, 0, {0}};
        fvm_builder *b = fvm_builder_new();
        fvm_add_constant(b, fvm_int(1));
        fvm_add_name(b, "n", 1);
        fvm_add_block_range(b, 0, 1);
        fvm_emit(b, op, 1);
        fvm_chunk *c = fvm_build(b);
        fvm_builder_free(b);
        if (!c)
            continue; /* an op whose zero operands do not verify */
        bool want = fvm_jit_op_ok(FVM_JIT_BLOCK, c, 0);
        cr_assert_eq(fvm_jit_is_block_eligible(j, c), want, "%s", fvm_op_name(code));
        yes += want;
        fvm_chunk_free(c);
    }
    cr_assert_eq(yes, 80, "%u ops eligible", yes);
    /* Spot checks: ours accepts upstream's missing Keep jumps, Dup2 and
     * LoadUndef; a String constant, strings and calls are out. */
    const fvm_op in[] = {FVM_NOP(), FVM_DUP2(), FVM_LOAD_UNDEF(), FVM_JUMP_IF_TRUE_KEEP(0),
                         FVM_AWK_MOD_JIT(), FVM_LOAD_CONST(0)};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        fvm_chunk *c = ct_chunk(&in[i], 1);
        cr_assert(fvm_jit_is_block_eligible(j, c), "%s", fvm_op_name(in[i].code));
        fvm_chunk_free(c);
    }
    const fvm_op out[] = {FVM_LOAD_CONST(1), FVM_CONCAT(), FVM_CALL_BUILTIN(0, 0), FVM_AWK_DIV()};
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++) {
        fvm_chunk *c = ct_chunk(&out[i], 1);
        cr_assert_not(fvm_jit_is_block_eligible(j, c), "%s", fvm_op_name(out[i].code));
        fvm_chunk_free(c);
    }
    fvm_builder *b = fvm_builder_new();
    fvm_chunk *empty = fvm_build(b);
    fvm_builder_free(b);
    cr_assert_not(fvm_jit_is_block_eligible(j, empty));
    fvm_chunk_free(empty);
    fvm_jit_free(j);
}

Test(jit_block, a_slot_array_shorter_than_the_chunks_slots_declines)
{
    fvm_value s[4] = {fvm_int(0), fvm_int(0), fvm_int(0), fvm_int(41)}, out;
    const fvm_op prog[] = {FVM_GET_SLOT(3), FVM_INC()};
    cr_assert_eq(eager(prog, 2, s, 3, &out), FVM_JIT_NOT_COMPILED);
    cr_assert_eq(eager(prog, 2, NULL, 0, &out), FVM_JIT_NOT_COMPILED);
    cr_assert_eq(eager(prog, 2, s, 4, &out), FVM_JIT_OK);
    EXPECT_INT(out, 42);
}

Test(jit_block, a_string_slot_declines_without_writing)
{
    fvm_value s[2] = {fvm_cstr("12"), fvm_int(0)}, out;
    cr_assert_eq(eager(OPS(FVM_LOAD_INT(1), FVM_SET_SLOT(1), FVM_GET_SLOT(0), FVM_INC()), s, 2, &out),
                 FVM_JIT_NOT_COMPILED);
    EXPECT_INT(s[1], 0);
    size_t len;
    cr_assert_str_eq(fvm_str_bytes(s[0], &len), "12");
    fvm_value_drop(s[0]);
}

Test(jit_block, awk_int_math_and_bit_folds)
{
    /* AwkInt truncates to an Int while the value fits; past 2^63 (or for
     * NaN) the interpreter's Float comes from the interpreter. */
    fvm_value s[1] = {fvm_float(-2.7)}, out;
    cr_assert_eq(eager(OPS(FVM_GET_SLOT(0), FVM_AWK_INT()), s, 1, &out), FVM_JIT_OK);
    EXPECT_INT(out, -2);
    s[0] = fvm_float(1e300);
    cr_assert_eq(eager(OPS(FVM_GET_SLOT(0), FVM_AWK_INT()), s, 1, &out), FVM_JIT_NOT_COMPILED);
    s[0] = fvm_float(9223372036854775808.0); /* 2^63 saturates, as awk.c */
    cr_assert_eq(eager(OPS(FVM_GET_SLOT(0), FVM_AWK_INT()), s, 1, &out), FVM_JIT_OK);
    EXPECT_INT(out, INT64_MAX);
    /* The AWK math functions answer NaN with the positive quiet NaN. */
    s[0] = fvm_float(-INFINITY);
    cr_assert_eq(eager(OPS(FVM_GET_SLOT(0), FVM_AWK_SIN()), s, 1, &out), FVM_JIT_OK);
    EXPECT_FLOAT(out, (double)NAN);
    cr_assert_eq(eager(OPS(FVM_GET_SLOT(0), FVM_LOAD_FLOAT(1.0), FVM_AWK_ATAN2()), s, 1, &out),
                 FVM_JIT_OK);
    EXPECT_FLOAT(out, atan2(-INFINITY, 1.0));
    /* and/or/xor of three operands, each to_float then to an integer. */
    s[0] = fvm_float(10.9);
    cr_assert_eq(eager(OPS(FVM_LOAD_INT(14), FVM_GET_SLOT(0), FVM_LOAD_TRUE(), FVM_AWK_OR(3)), s, 1,
                       &out), FVM_JIT_OK);
    EXPECT_INT(out, 14 | 10 | 1);
    cr_assert_eq(eager(OPS(FVM_LOAD_INT(14), FVM_GET_SLOT(0), FVM_LOAD_INT(7), FVM_AWK_AND(3)), s, 1,
                       &out), FVM_JIT_OK);
    EXPECT_INT(out, 14 & 10 & 7);
}

/* Run c in a VM with a JIT context (threshold 0); the result and the
 * context's block runs. */
static fvm_result vm_with_block(const fvm_chunk *c, uint64_t *runs)
{
    fvm_jit *j = context();
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD, 0), 0);
    fvm_vm *vm = fvm_vm_new(c);
    fvm_vm_set_jit(vm, j);
    fvm_result r = fvm_vm_run(vm);
    fvm_jit_counters k;
    fvm_jit_stats(j, &k);
    *runs = k.runs[FVM_JIT_BLOCK];
    fvm_vm_free(vm);
    fvm_jit_free(j);
    return r;
}

Test(jit_block, vm_enters_a_subroutine_loop_after_its_argument)
{
    /* main: Call sum_to 10; sub sum_to(n): s = 0; i = 0; while i < n: s += i; i++; return s.
     * The region of the sub starts after the SetSlot that takes its
     * argument (pushed by the caller), and never spans the Jump before the
     * sub's entry. */
    fvm_builder *b = fvm_builder_new();
    uint16_t name = (uint16_t)fvm_add_name(b, "sum_to", 6);
    const fvm_op ops[] = {
        FVM_LOAD_INT(10), FVM_CALL(name, 1), FVM_JUMP(17),
        /* 3: sub */ FVM_SET_SLOT(2), FVM_LOAD_INT(0), FVM_SET_SLOT(0), FVM_LOAD_INT(0), FVM_SET_SLOT(1),
        /* 8 */ FVM_GET_SLOT(1), FVM_GET_SLOT(2), FVM_NUM_LT(), FVM_JUMP_IF_FALSE(15),
        /* 12 */ FVM_ADD_ASSIGN_SLOT_VOID(0, 1), FVM_PRE_INC_SLOT_VOID(1), FVM_JUMP(8),
        /* 15 */ FVM_GET_SLOT(0), FVM_RETURN_VALUE(),
        /* 17 */ FVM_NOP()};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        fvm_emit(b, ops[i], 1);
    fvm_add_sub_entry(b, name, 3);
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c, "%s", fvm_builder_error(b));
    fvm_builder_free(b);
    uint64_t runs;
    fvm_result r = vm_with_block(c, &runs);
    cr_assert_eq(r.status, FVM_RUN_OK);
    EXPECT_INT(r.value, 45);
    cr_assert_eq(runs, 1, "the sub's loop ran natively once");
    fvm_chunk_free(c);
}

Test(jit_block, vm_leaves_short_straight_regions_to_the_interpreter)
{
    /* Entering native code for five straight ops would cost more than it
     * saves: no region is compiled, the result is the interpreter's. */
    fvm_chunk *c = ct_chunk(OPS(FVM_LOAD_INT(2), FVM_LOAD_INT(3), FVM_ADD(), FVM_LOAD_INT(4), FVM_MUL()));
    uint64_t runs;
    fvm_result r = vm_with_block(c, &runs);
    EXPECT_INT(r.value, 20);
    cr_assert_eq(runs, 0);
    fvm_chunk_free(c);
}
