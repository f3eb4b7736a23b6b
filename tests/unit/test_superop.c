/* Load-time superinstructions (src/superop.[ch]) must never change what a
 * program does. Each test runs a program twice: as built (the interpreter
 * executes the superinstructions) and with its execution copy replaced by the
 * plain ops, and compares the result, the error, the stack and every slot.
 * The random programs mix the ops the superinstructions replace with slots
 * of every type, so both the Int fast paths and the fallbacks run, and they
 * jump into the middle of fusable sequences. */
#include "vmtest.h"

#include "chunk.h"
#include "superop.h"

typedef struct outcome {
    fvm_result r;
    char error[128];
    size_t depth;
    fvm_value stack[64];
    size_t nslots;
    fvm_value slots[8];
} outcome;

static void run(fvm_chunk *c, const fvm_value *init, size_t ninit, outcome *o)
{
    fvm_vm *vm = fvm_vm_new(c);
    for (size_t i = 0; i < ninit; i++)
        fvm_vm_set_slot(vm, (uint16_t)i, fvm_value_copy(init[i]));
    o->r = fvm_vm_run(vm);
    snprintf(o->error, sizeof o->error, "%s", fvm_vm_error(vm));
    o->depth = fvm_vm_stack_depth(vm);
    for (size_t i = 0; i < o->depth && i < 64; i++)
        o->stack[i] = fvm_value_copy(fvm_vm_stack_at(vm, i));
    o->nslots = fvm_vm_frame_slot_count(vm, 0);
    for (size_t i = 0; i < o->nslots && i < 8; i++)
        o->slots[i] = fvm_value_copy(fvm_vm_frame_slot(vm, 0, i));
    fvm_vm_free(vm);
}

static void release(outcome *o)
{
    if (o->r.status == FVM_RUN_OK)
        fvm_value_drop(o->r.value);
    for (size_t i = 0; i < o->depth && i < 64; i++)
        fvm_value_drop(o->stack[i]);
    for (size_t i = 0; i < o->nslots && i < 8; i++)
        fvm_value_drop(o->slots[i]);
}

/* Run c with and without superinstructions and require identical outcomes. */
static void compare(fvm_chunk *c, const fvm_value *init, size_t ninit, const char *what)
{
    outcome fused, plain;
    run(c, init, ninit, &fused);
    memcpy(c->exec, c->ops, (c->len + 1) * sizeof(fvm_op));
    run(c, init, ninit, &plain);
    cr_assert_eq(fused.r.status, plain.r.status, "%s: status", what);
    if (fused.r.status == FVM_RUN_OK)
        cr_assert(vt_same(fused.r.value, plain.r.value), "%s: result %s vs %s", what,
                  vt_describe(fused.r.value), vt_describe(plain.r.value));
    cr_assert_str_eq(fused.error, plain.error, "%s: error", what);
    cr_assert_eq(fused.depth, plain.depth, "%s: stack depth", what);
    for (size_t i = 0; i < fused.depth && i < 64; i++)
        cr_assert(vt_same(fused.stack[i], plain.stack[i]), "%s: stack[%zu]", what, i);
    cr_assert_eq(fused.nslots, plain.nslots, "%s: slot count", what);
    for (size_t i = 0; i < fused.nslots && i < 8; i++)
        cr_assert(vt_same(fused.slots[i], plain.slots[i]), "%s: slot %zu %s vs %s", what, i,
                  vt_describe(fused.slots[i]), vt_describe(plain.slots[i]));
    release(&fused);
    release(&plain);
}

static bool has_superop(const fvm_chunk *c, unsigned code)
{
    for (size_t i = 0; i < c->len; i++)
        if (c->exec[i].code == code)
            return true;
    return false;
}

/* Each pattern is recognised, and gives the plain result for Int, Float,
 * string and Undef operands alike. */
Test(superop, every_pattern_on_every_operand_type)
{
    static const struct {
        unsigned xop;
        fvm_op ops[4];
        size_t n;
    } patterns[] = {
        {FVM_XOP_SLOT_PAIR, {{FVM_OP_GET_SLOT, 0, 0, 0, {0}}, {FVM_OP_GET_SLOT, 1, 0, 0, {0}}}, 2},
        {FVM_XOP_SLOT_ARITH_INT, {{FVM_OP_GET_SLOT, 0, 0, 0, {0}}, {FVM_OP_LOAD_INT, 0, 0, 0, {.i = 7}},
                                  {FVM_OP_MUL, 0, 0, 0, {0}}}, 3},
        {FVM_XOP_SLOT_ARITH_SET, {{FVM_OP_GET_SLOT, 0, 0, 0, {0}}, {FVM_OP_LOAD_INT, 0, 0, 0, {.i = -3}},
                                  {FVM_OP_SUB, 0, 0, 0, {0}}, {FVM_OP_SET_SLOT, 2, 0, 0, {0}}}, 4},
        {FVM_XOP_SLOT_CMP_JUMP, {{FVM_OP_GET_SLOT, 0, 0, 0, {0}}, {FVM_OP_LOAD_INT, 0, 0, 0, {.i = 2}},
                                 {FVM_OP_NUM_LT, 0, 0, 0, {0}}, {FVM_OP_JUMP_IF_TRUE, 0, 0, 0, {.j = {0, 5}}}}, 4},
        {FVM_XOP_ARITH_INT, {{FVM_OP_LOAD_INT, 0, 0, 0, {.i = 5}}, {FVM_OP_ADD, 0, 0, 0, {0}}}, 2},
        {FVM_XOP_CMP_JUMP, {{FVM_OP_NUM_GE, 0, 0, 0, {0}}, {FVM_OP_JUMP_IF_FALSE, 0, 0, 0, {.j = {0, 3}}}}, 2},
        {FVM_XOP_ARITH_SET, {{FVM_OP_ADD, 0, 0, 0, {0}}, {FVM_OP_SET_SLOT, 3, 0, 0, {0}}}, 2},
        {FVM_XOP_SLOT_MOVE, {{FVM_OP_GET_SLOT, 1, 0, 0, {0}}, {FVM_OP_SET_SLOT, 4, 0, 0, {0}}}, 2},
        {FVM_XOP_SLOTS_ARITH_SET, {{FVM_OP_GET_SLOT, 0, 0, 0, {0}}, {FVM_OP_GET_SLOT, 1, 0, 0, {0}},
                                   {FVM_OP_ADD, 0, 0, 0, {0}}, {FVM_OP_SET_SLOT, 0, 0, 0, {0}}}, 4},
        {FVM_XOP_SLOT_STEP, {{FVM_OP_GET_SLOT, 1, 0, 0, {0}}, {FVM_OP_DEC, 0, 0, 0, {0}}}, 2},
        {FVM_XOP_SLOT_STEP_SET, {{FVM_OP_GET_SLOT, 1, 0, 0, {0}}, {FVM_OP_INC, 0, 0, 0, {0}},
                                 {FVM_OP_SET_SLOT, 1, 0, 0, {0}}}, 3},
        {FVM_XOP_FLOAT_ARITH, {{FVM_OP_LOAD_FLOAT, 0, 0, 0, {.f = 0.5}}, {FVM_OP_MUL, 0, 0, 0, {0}}}, 2},
    };
    fvm_value kinds[] = {fvm_int(INT64_MAX), fvm_int(-4), fvm_float(2.5), fvm_float(NAN),
                         fvm_cstr("12"), fvm_undef(), fvm_bool(true)};
    size_t nk = sizeof kinds / sizeof kinds[0];
    for (size_t p = 0; p < sizeof patterns / sizeof patterns[0]; p++) {
        for (size_t k = 0; k < nk * nk; k++) {
            /* Two values under the pattern, so stack operands exist too. */
            fvm_builder *b = fvm_builder_new();
            fvm_emit(b, FVM_GET_SLOT(0), 1);
            fvm_emit(b, FVM_GET_SLOT(1), 1);
            for (size_t i = 0; i < patterns[p].n; i++) {
                fvm_op op = patterns[p].ops[i];
                if (op.code == FVM_OP_JUMP_IF_TRUE || op.code == FVM_OP_JUMP_IF_FALSE)
                    op.u.j.target = (uint32_t)(2 + patterns[p].n + 1);
                fvm_emit(b, op, 2);
            }
            fvm_emit(b, FVM_LOAD_INT(99), 3);
            fvm_emit(b, FVM_LOAD_INT(100), 3);
            fvm_chunk *c = fvm_build(b);
            cr_assert_not_null(c, "%s", fvm_builder_error(b));
            cr_assert(has_superop(c, patterns[p].xop), "pattern %zu not recognised", p);
            fvm_value init[5] = {kinds[k / nk], kinds[k % nk], fvm_int(1), fvm_int(2), fvm_int(3)};
            char what[32];
            snprintf(what, sizeof what, "pattern %zu kinds %zu", p, k);
            compare(c, init, 5, what);
            fvm_chunk_free(c);
            fvm_builder_free(b);
        }
    }
    for (size_t i = 0; i < nk; i++)
        fvm_value_drop(kinds[i]);
}

/* A shallow stack: the fallbacks must keep the no-op rules of the ops they
 * replace (Add and the compares do nothing below two values). */
Test(superop, shallow_stack)
{
    fvm_op progs[][3] = {
        {FVM_LOAD_INT(5), FVM_ADD(), FVM_NOP()},
        {FVM_NUM_LT(), FVM_JUMP_IF_TRUE(3), FVM_LOAD_INT(1)},
        {FVM_ADD(), FVM_SET_SLOT(0), FVM_LOAD_INT(1)},
        {FVM_LOAD_FLOAT(1.5), FVM_MUL(), FVM_NOP()},
    };
    for (size_t p = 0; p < sizeof progs / sizeof progs[0]; p++) {
        fvm_builder *b = fvm_builder_new();
        for (size_t i = 0; i < 3; i++)
            fvm_emit(b, progs[p][i], 1);
        fvm_chunk *c = fvm_build(b);
        cr_assert_not_null(c);
        char what[16];
        snprintf(what, sizeof what, "prog %zu", p);
        compare(c, NULL, 0, what);
        fvm_chunk_free(c);
        fvm_builder_free(b);
    }
}

/* Random programs over the fusable ops, with forward jumps (some into the
 * middle of fusable sequences) so every program ends. */
Test(superop, random_programs_agree)
{
    static const unsigned pool[] = {
        FVM_OP_GET_SLOT, FVM_OP_GET_SLOT, FVM_OP_SET_SLOT, FVM_OP_LOAD_INT, FVM_OP_LOAD_FLOAT,
        FVM_OP_ADD, FVM_OP_SUB, FVM_OP_MUL, FVM_OP_NUM_LT, FVM_OP_NUM_EQ, FVM_OP_NUM_GE,
        FVM_OP_JUMP_IF_TRUE, FVM_OP_JUMP_IF_FALSE, FVM_OP_INC, FVM_OP_DEC, FVM_OP_POP,
    };
    const int64_t ints[] = {0, 1, -1, 7, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN};
    const double floats[] = {0.0, -0.0, 0.5, -3.25, INFINITY, NAN, 1e300};
    uint64_t seed = 0x5eed;
    for (int prog = 0; prog < 3000; prog++) {
        fvm_builder *b = fvm_builder_new();
        size_t n = 4 + (size_t)(seed % 24);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            unsigned code = pool[(seed >> 33) % (sizeof pool / sizeof pool[0])];
            fvm_op op = vt_op(code);
            uint64_t r = seed >> 20;
            if (code == FVM_OP_GET_SLOT || code == FVM_OP_SET_SLOT)
                op.a = (uint16_t)(r % 5);
            else if (code == FVM_OP_LOAD_INT)
                op.u.i = ints[r % (sizeof ints / sizeof ints[0])];
            else if (code == FVM_OP_LOAD_FLOAT)
                op.u.f = floats[r % (sizeof floats / sizeof floats[0])];
            else if (code == FVM_OP_JUMP_IF_TRUE || code == FVM_OP_JUMP_IF_FALSE)
                op.u.j.target = (uint32_t)(i + 1 + r % (n - i)); /* forward, at most len */
            fvm_emit(b, op, 1);
        }
        fvm_chunk *c = fvm_build(b);
        cr_assert_not_null(c, "%s", fvm_builder_error(b));
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        fvm_value init[5] = {fvm_int((int64_t)(seed >> 40) - 100), fvm_int(3), fvm_float(1.5),
                             (seed & 1) ? fvm_cstr("9") : fvm_undef(), fvm_int(INT64_MAX)};
        char what[32];
        snprintf(what, sizeof what, "random program %d", prog);
        compare(c, init, 5, what);
        fvm_value_drop(init[3]);
        fvm_chunk_free(c);
        fvm_builder_free(b);
    }
}
