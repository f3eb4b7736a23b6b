/* The JIT op table (src/jit/jitop.h) against the tiers: for every op a
 * tier's row accepts, a minimal chunk using it compiles under that tier
 * and gives the interpreter's result and slots; for every op the row
 * rejects, the tier declines, for the row's reason. A row that claims too
 * much or too little fails here. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <string.h>

#include "chunktest.h"
#include "jit/jitop.h"
#include "opinfo.h"

#define NSLOTS 2

/* A chunk that runs op once: its operands pushed first (Ints 6, 4, 2...),
 * its own operands chosen to verify (slots 0 and 1, constant 0, a loop
 * limit of 5, a jump to the next op, 2 values for a variable count).
 * For the linear tier, the stack is brought to exactly one value after
 * it (Pops, or a LoadInt). NULL if the op's operands do not verify. */
static fvm_chunk *minimal_chunk(unsigned code, bool one_result)
{
    const fvm_opinfo *oi = &fvm_opinfo_table[code];
    fvm_builder *b = fvm_builder_new();
    fvm_add_constant(b, fvm_int(7));
    fvm_add_name(b, "n", 1);
    fvm_add_block_range(b, 0, 1);
    int npop = oi->pop >= 0 ? oi->pop : 2;
    size_t ip = 0;
    for (int k = 0; k < npop; k++, ip++)
        fvm_emit(b, FVM_LOAD_INT(6 - 2 * k), 1);
    fvm_op op = {(uint16_t)code, 0, 0, 0, {0}};
    const fvm_format_info *fi = fvm_op_operands(code);
    for (unsigned k = 0; k < fi->count; k++) {
        uint64_t v = 0;
        switch (fi->operand[k].kind) {
        case FVM_K_SLOT: v = k == 0 ? 0 : 1; break;
        case FVM_K_LIMIT: v = 5; break;
        case FVM_K_TARGET: v = ip + 1; break;
        case FVM_K_U8: v = oi->pop < 0 ? 2 : 0; break;
        default: break;
        }
        fvm_operand_set(&op, fi->operand[k].field, v);
    }
    fvm_emit(b, op, 1);
    int depth = oi->push > 0 ? oi->push : 0; /* the operands are consumed */
    if (one_result) {
        for (; depth > 1; depth--)
            fvm_emit(b, FVM_POP(), 1);
        if (depth == 0)
            fvm_emit(b, FVM_LOAD_INT(1), 1);
    }
    fvm_chunk *c = fvm_build(b);
    fvm_builder_free(b);
    return c;
}

static void start_slots(fvm_value s[NSLOTS])
{
    s[0] = fvm_int(3);
    s[1] = fvm_int(9);
}

/* The interpreter's result and slots. */
static fvm_value interpret(const fvm_chunk *c, fvm_value slots[NSLOTS])
{
    fvm_vm *vm = fvm_vm_new(c);
    fvm_value s[NSLOTS];
    start_slots(s);
    for (uint16_t k = 0; k < NSLOTS; k++)
        fvm_vm_set_slot(vm, k, s[k]);
    fvm_result r = fvm_vm_run(vm);
    cr_assert_neq(r.status, FVM_RUN_ERROR, "%s", fvm_vm_error(vm));
    for (uint16_t k = 0; k < NSLOTS; k++)
        slots[k] = fvm_vm_get_slot(vm, k);
    fvm_vm_free(vm);
    return r.value;
}

static bool same(fvm_value a, fvm_value b)
{
    if (a.type != b.type)
        return false;
    if (a.type == FVM_T_FLOAT)
        return ct_bits(a.as.f) == ct_bits(b.as.f) || (a.as.f != a.as.f && b.as.f != b.as.f);
    if (a.type == FVM_T_BOOL)
        return a.as.b == b.as.b;
    return a.type != FVM_T_INT || a.as.i == b.as.i;
}

static fvm_jit_status run_tier(fvm_jit *j, fvm_jit_tier t, const fvm_chunk *c,
                               fvm_value slots[NSLOTS], fvm_value *out)
{
    start_slots(slots);
    return t == FVM_JIT_LINEAR ? fvm_jit_try_run_linear(j, c, slots, NSLOTS, out)
                               : fvm_jit_try_run_block_eager(j, c, slots, NSLOTS, out);
}

static void check_tier(fvm_jit_tier t)
{
    if (!fvm_jit_tier_available(t))
        cr_skip_test("this build has no %s tier", fvm_jit_tier_name(t));
    unsigned accepted = 0, rejected = 0;
    for (unsigned code = 0; code < FVM_OP_COUNT; code++) {
        bool in_row = (fvm_jitop_table[code].tiers & (1u << t)) != 0;
        fvm_chunk *c = minimal_chunk(code, t == FVM_JIT_LINEAR);
        if (!c) {
            cr_assert_not(in_row, "%s: the tier's minimal chunk does not verify", fvm_op_name(code));
            continue;
        }
        fvm_jit *j = fvm_jit_new();
        fvm_value out = fvm_undef(), slots[NSLOTS];
        fvm_jit_status st = run_tier(j, t, c, slots, &out);
        if (in_row) {
            cr_assert_neq(st, FVM_JIT_NOT_COMPILED, "%s: accepted by the %s row but not run: %s",
                          fvm_op_name(code), fvm_jit_tier_name(t),
                          fvm_jit_last_failure(j) ? fvm_jit_last_failure(j) : "no failure");
            fvm_value want_slots[NSLOTS];
            fvm_value want = interpret(c, want_slots);
            if (st == FVM_JIT_OK)
                cr_assert(same(out, want), "%s: result differs from the interpreter's",
                          fvm_op_name(code));
            for (int k = 0; k < NSLOTS; k++)
                cr_assert(same(slots[k], want_slots[k]), "%s: slot %d differs", fvm_op_name(code), k);
            fvm_release(want);
            accepted++;
        } else {
            cr_assert_eq(st, FVM_JIT_NOT_COMPILED, "%s: rejected by the %s row but compiled",
                         fvm_op_name(code), fvm_jit_tier_name(t));
            fvm_jit_counters s;
            fvm_jit_stats(j, &s);
            fvm_jit_reason want = fvm_jitop_table[code].reason != FVM_JIT_REASON_NONE
                                      ? (fvm_jit_reason)fvm_jitop_table[code].reason
                                      : FVM_JIT_REASON_OP_OTHER_TIER;
            cr_assert_eq(s.reasons[want], 1, "%s: declined, but not for the row's reason (%s)",
                         fvm_op_name(code), fvm_jit_reason_text(want));
            rejected++;
        }
        fvm_release(out);
        fvm_jit_free(j);
        fvm_chunk_free(c);
    }
    cr_assert_gt(accepted, 40);
    cr_assert_gt(rejected, 100);
}

Test(jit_optable, every_linear_row_matches_the_linear_tier) { check_tier(FVM_JIT_LINEAR); }

Test(jit_optable, every_block_row_matches_the_block_tier) { check_tier(FVM_JIT_BLOCK); }

Test(jit_optable, operands_the_tiers_do_not_take_are_refused)
{
    /* A String constant is carried by neither tier; Undef by the block
     * tier only; AwkAnd folds up to FVM_JIT_MAX_VARIADIC operands. */
    fvm_chunk *c = ct_chunk(OPS(FVM_LOAD_CONST(1)));
    cr_assert_eq(fvm_jit_op_reason(FVM_JIT_LINEAR, c, 0), FVM_JIT_REASON_CONST_KIND);
    cr_assert_eq(fvm_jit_op_reason(FVM_JIT_BLOCK, c, 0), FVM_JIT_REASON_CONST_KIND);
    fvm_chunk_free(c);
    fvm_builder *b = fvm_builder_new();
    fvm_add_constant(b, fvm_undef());
    fvm_emit(b, FVM_LOAD_CONST(0), 1);
    fvm_emit(b, FVM_AWK_AND(FVM_JIT_MAX_VARIADIC + 1), 1);
    fvm_emit(b, FVM_AWK_AND(0), 1);
    c = fvm_build(b);
    fvm_builder_free(b);
    cr_assert_eq(fvm_jit_op_reason(FVM_JIT_LINEAR, c, 0), FVM_JIT_REASON_CONST_KIND);
    cr_assert(fvm_jit_op_ok(FVM_JIT_BLOCK, c, 0));
    cr_assert_eq(fvm_jit_op_reason(FVM_JIT_BLOCK, c, 1), FVM_JIT_REASON_VARIADIC);
    cr_assert_eq(fvm_jit_op_reason(FVM_JIT_BLOCK, c, 2), FVM_JIT_REASON_VARIADIC);
    fvm_chunk_free(c);
}

Test(jit_optable, slot_operands_and_jumps_come_from_the_operand_formats)
{
    uint16_t ks[2];
    fvm_op op = FVM_ADD_ASSIGN_SLOT_VOID(4, 9);
    cr_assert_eq(fvm_op_slots(&op, ks), 2);
    cr_assert(ks[0] == 4 && ks[1] == 9);
    op = FVM_CONCAT_CONST_LOOP(0, 3, 5, 10);
    cr_assert_eq(fvm_op_slots(&op, ks), 2);
    cr_assert(ks[0] == 3 && ks[1] == 5);
    op = FVM_ADD();
    cr_assert_eq(fvm_op_slots(&op, ks), 0);
    uint32_t t;
    op = FVM_SLOT_INC_LT_INT_JUMP_BACK(0, 5, 17);
    cr_assert(fvm_op_jump_target(&op, &t) && t == 17);
    op = FVM_ACCUM_SUM_LOOP(0, 1, 5);
    cr_assert_not(fvm_op_jump_target(&op, &t));
}
