/* The linear tier: eligibility, exact results for the corner cases, and a
 * differential test against the interpreter on random straight-line
 * chunks (FUSEVM_TEST_LINEAR_ITERS raises the default count by hand). */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunktest.h"
#include "jit/jitop.h"
#include "jit/linear.h"
#include "opinfo.h"
#include "value.h"

#define NSLOTS 4

static fvm_chunk *chunk_of(const fvm_op *ops, size_t n, const fvm_value *consts, size_t nc)
{
    fvm_builder *b = fvm_builder_new();
    for (size_t i = 0; i < nc; i++)
        fvm_add_constant(b, consts[i]);
    for (size_t i = 0; i < n; i++)
        fvm_emit(b, ops[i], 1);
    fvm_chunk *c = fvm_build(b);
    fvm_builder_free(b);
    cr_assert_not_null(c);
    return c;
}

static bool same_value(fvm_value a, fvm_value b)
{
    if (a.type != b.type)
        return false;
    if (a.type == FVM_T_BOOL)
        return a.as.b == b.as.b;
    /* Floats by bit pattern, except that any NaN matches any NaN: which
     * NaN an operation on two NaNs returns depends on operand order, and
     * the C compiler is free to commute the interpreter's own x * y. */
    if (a.type == FVM_T_FLOAT && isnan(a.as.f) && isnan(b.as.f))
        return true;
    if (a.type == FVM_T_INT || a.type == FVM_T_FLOAT)
        return a.as.i == b.as.i;
    return a.type == FVM_T_UNDEF;
}

static void show(char *buf, size_t n, fvm_value v)
{
    if (v.type == FVM_T_FLOAT)
        snprintf(buf, n, "Float(%.17g, %016llx)", v.as.f, (unsigned long long)v.as.i);
    else if (v.type == FVM_T_BOOL)
        snprintf(buf, n, "Bool(%d)", v.as.b);
    else
        snprintf(buf, n, "type %u (%lld)", v.type, (long long)v.as.i);
}

/* Interpreter result and final slots for chunk c started with slots in. */
static fvm_result interp(const fvm_chunk *c, const fvm_value *in, fvm_value *slots_out)
{
    fvm_vm *vm = fvm_vm_new(c);
    for (uint16_t k = 0; k < NSLOTS; k++)
        fvm_vm_set_slot(vm, k, in[k]);
    fvm_result r = fvm_vm_run(vm);
    for (uint16_t k = 0; k < NSLOTS; k++)
        slots_out[k] = fvm_vm_get_slot(vm, k);
    fvm_vm_free(vm);
    return r;
}

typedef struct outcome {
    bool compiled, ran;
    fvm_value result;
    fvm_value slots[NSLOTS];
} outcome;

static outcome linear(fvm_mcode *mc, const fvm_chunk *c, const fvm_value *in)
{
    outcome o = {0};
    memcpy(o.slots, in, sizeof o.slots);
    fvm_jit_reason why = FVM_JIT_REASON_NONE;
    fvm_linear_code *code = fvm_linear_compile(c, in, NSLOTS, mc, NULL, NULL, NULL, &why);
    o.compiled = code != NULL;
    if (code)
        o.ran = fvm_linear_run(code, o.slots, NSLOTS, &o.result);
    fvm_linear_free(code);
    return o;
}

static fvm_value run_linear(const fvm_op *ops, size_t n, fvm_value s0)
{
    fvm_mcode *mc = fvm_mcode_new(0);
    fvm_chunk *c = chunk_of(ops, n, NULL, 0);
    fvm_value in[NSLOTS] = {s0, fvm_int(0), fvm_int(0), fvm_int(0)};
    outcome o = linear(mc, c, in);
    cr_assert(o.compiled && o.ran);
    fvm_chunk_free(c);
    fvm_mcode_free(mc);
    return o.result;
}


Test(jit_linear, eligibility_follows_the_stack_rules)
{
    fvm_chunk *c = chunk_of(OPS(FVM_LOAD_INT(1), FVM_LOAD_INT(2)), NULL, 0);
    cr_assert_eq(fvm_linear_decline_reason(c), FVM_JIT_REASON_RESULT_COUNT);
    fvm_chunk_free(c);
    c = chunk_of(OPS(FVM_ADD()), NULL, 0);
    cr_assert_eq(fvm_linear_decline_reason(c), FVM_JIT_REASON_STACK_UNDERFLOW);
    fvm_chunk_free(c);
    c = chunk_of(OPS(FVM_NOP(), FVM_LOAD_INT(1)), NULL, 0);
    cr_assert_eq(fvm_linear_decline_reason(c), FVM_JIT_REASON_OP_OTHER_TIER);
    fvm_chunk_free(c);
    c = chunk_of(OPS(FVM_LOAD_INT(1), FVM_DUP(), FVM_ADD()), NULL, 0);
    cr_assert_eq(fvm_linear_decline_reason(c), FVM_JIT_REASON_NONE);
    fvm_chunk_free(c);
}

Test(jit_linear, results_keep_the_interpreters_types)
{
    fvm_value v = run_linear(OPS(FVM_LOAD_INT(20), FVM_LOAD_INT(5), FVM_DIV()), fvm_int(0));
    cr_assert(v.type == FVM_T_FLOAT && v.as.f == 4.0);
    v = run_linear(OPS(FVM_LOAD_INT(2), FVM_LOAD_INT(10), FVM_POW()), fvm_int(0));
    cr_assert(v.type == FVM_T_FLOAT && v.as.f == 1024.0);
    v = run_linear(OPS(FVM_LOAD_FLOAT(4.0)), fvm_int(0));
    cr_assert(v.type == FVM_T_FLOAT && v.as.f == 4.0);
    v = run_linear(OPS(FVM_GET_SLOT(0), FVM_LOAD_INT(3), FVM_NUM_LT()), fvm_int(2));
    cr_assert(v.type == FVM_T_BOOL && v.as.b);
    v = run_linear(OPS(FVM_LOAD_TRUE(), FVM_LOAD_INT(1), FVM_ADD()), fvm_int(0));
    cr_assert(v.type == FVM_T_FLOAT && v.as.f == 2.0);
    v = run_linear(OPS(FVM_GET_SLOT(0), FVM_LOG_NOT()), fvm_float(NAN));
    cr_assert(v.type == FVM_T_BOOL && !v.as.b); /* NaN is truthy */
    v = run_linear(OPS(FVM_LOAD_INT(INT64_MIN), FVM_GET_SLOT(0), FVM_MOD()), fvm_int(-1));
    cr_assert(v.type == FVM_T_INT && v.as.i == 0);
    v = run_linear(OPS(FVM_LOAD_INT(7), FVM_GET_SLOT(0), FVM_MOD()), fvm_int(0));
    cr_assert(v.type == FVM_T_INT && v.as.i == 0);
    v = run_linear(OPS(FVM_LOAD_INT(1), FVM_GET_SLOT(0), FVM_SHL()), fvm_int(65));
    cr_assert(v.type == FVM_T_INT && v.as.i == 2);
    v = run_linear(OPS(FVM_GET_SLOT(0), FVM_TRUNC_INT()), fvm_float(-1e300));
    cr_assert(v.type == FVM_T_INT && v.as.i == INT64_MIN);
    v = run_linear(OPS(FVM_GET_SLOT(0), FVM_TRUNC_INT()), fvm_float(NAN));
    cr_assert(v.type == FVM_T_INT && v.as.i == 0);
}

Test(jit_linear, zero_divisor_declines_at_run_time_and_writes_nothing)
{
    fvm_mcode *mc = fvm_mcode_new(0);
    fvm_chunk *c = chunk_of(OPS(FVM_LOAD_INT(9), FVM_SET_SLOT(1), FVM_LOAD_INT(1), FVM_GET_SLOT(0),
                                FVM_DIV()), NULL, 0);
    fvm_value in[NSLOTS] = {fvm_float(-0.0), fvm_int(5), fvm_int(0), fvm_int(0)};
    outcome o = linear(mc, c, in);
    cr_assert(o.compiled);
    cr_assert_not(o.ran);
    cr_assert_eq(o.slots[1].as.i, 5);
    in[0] = fvm_int(4);
    o = linear(mc, c, in);
    cr_assert(o.ran && o.result.type == FVM_T_FLOAT && o.result.as.f == 0.25);
    cr_assert(o.slots[1].type == FVM_T_INT && o.slots[1].as.i == 9);
    fvm_chunk_free(c);
    c = chunk_of(OPS(FVM_LOAD_INT(1), FVM_LOAD_INT(0), FVM_DIV()), NULL, 0);
    o = linear(mc, c, in);
    cr_assert_not(o.compiled); /* always Undef: left to the interpreter */
    fvm_chunk_free(c);
    fvm_mcode_free(mc);
}

Test(jit_linear, refuses_short_slot_arrays_and_changed_kinds)
{
    fvm_mcode *mc = fvm_mcode_new(0);
    fvm_chunk *c = chunk_of(OPS(FVM_GET_SLOT(3), FVM_INC()), NULL, 0);
    fvm_value in[NSLOTS] = {fvm_int(0), fvm_int(0), fvm_int(0), fvm_int(41)};
    fvm_jit_reason why = FVM_JIT_REASON_NONE;
    cr_assert_null(fvm_linear_compile(c, in, 3, mc, NULL, NULL, NULL, &why));
    fvm_linear_code *code = fvm_linear_compile(c, in, NSLOTS, mc, NULL, NULL, NULL, &why);
    cr_assert_not_null(code);
    fvm_value out;
    cr_assert_not(fvm_linear_run(code, in, 3, &out));
    cr_assert(fvm_linear_run(code, in, NSLOTS, &out) && out.as.i == 42);
    in[3] = fvm_float(1.5);
    cr_assert_not(fvm_linear_run(code, in, NSLOTS, &out));
    fvm_linear_free(code);
    fvm_chunk_free(c);
    fvm_mcode_free(mc);
}

Test(jit_linear, written_slots_release_their_old_values)
{
    fvm_mcode *mc = fvm_mcode_new(0);
    /* Slot 1 is written, never read: it may hold a string. */
    fvm_chunk *c = chunk_of(OPS(FVM_LOAD_INT(9), FVM_SET_SLOT(1), FVM_LOAD_INT(1), FVM_GET_SLOT(0),
                                FVM_DIV()), NULL, 0);
    fvm_value in[NSLOTS] = {fvm_int(4), fvm_str("abc", 3), fvm_int(0), fvm_int(0)};
    fvm_jit_reason why = FVM_JIT_REASON_NONE;
    fvm_linear_code *code = fvm_linear_compile(c, in, NSLOTS, mc, NULL, NULL, NULL, &why);
    cr_assert_not_null(code);
    fvm_value out = fvm_undef();
    /* An exit leaves the string where it was, still owned by the slot. */
    in[0] = fvm_int(0);
    cr_assert_eq(fvm_linear_exec(code, in, NSLOTS, &out), FVM_LINEAR_EXITED);
    cr_assert_eq(in[1].type, FVM_T_STR);
    cr_assert_eq(out.type, FVM_T_UNDEF);
    /* A completed run replaces it and releases it (a leak fails under ASan). */
    in[0] = fvm_int(4);
    cr_assert_eq(fvm_linear_exec(code, in, NSLOTS, &out), FVM_LINEAR_DONE);
    cr_assert(in[1].type == FVM_T_INT && in[1].as.i == 9);
    cr_assert(out.type == FVM_T_FLOAT && out.as.f == 0.25);
    /* A read slot of another kind is a misfit, checked before anything. */
    in[0] = fvm_str("x", 1);
    in[1] = fvm_int(5);
    cr_assert_eq(fvm_linear_exec(code, in, NSLOTS, &out), FVM_LINEAR_MISFIT);
    cr_assert_eq(in[1].as.i, 5);
    fvm_release(in[0]);
    fvm_linear_free(code);
    fvm_chunk_free(c);
    fvm_mcode_free(mc);
}

Test(jit_linear, a_bool_slot_is_read_as_its_first_byte)
{
    /* The bytes of the union after the bool may hold anything. */
    fvm_value s0 = {FVM_T_BOOL, 0, {.i = 0x7f7f7f7f7f7f7f01}};
    fvm_value v = run_linear(OPS(FVM_GET_SLOT(0), FVM_LOAD_INT(0), FVM_BIT_OR()), s0);
    cr_assert(v.type == FVM_T_INT && v.as.i == 1);
    s0.as.i = 0x7f7f7f7f7f7f7f00;
    v = run_linear(OPS(FVM_GET_SLOT(0), FVM_LOAD_INT(0), FVM_BIT_OR()), s0);
    cr_assert(v.type == FVM_T_INT && v.as.i == 0);
    /* A Bool written back is exactly fvm_bool's value. */
    v = run_linear(OPS(FVM_GET_SLOT(0), FVM_LOG_NOT()), s0);
    cr_assert(v.type == FVM_T_BOOL && v.pad_ == 0 && v.as.i == 1);
}

/* Through the context, whose fast path reuses the code run last. */
Test(jit_linear, the_contexts_last_code_checks_every_call)
{
    fvm_jit *j = fvm_jit_new();
    fvm_chunk *div = chunk_of(OPS(FVM_LOAD_INT(9), FVM_SET_SLOT(1), FVM_LOAD_INT(1),
                                  FVM_GET_SLOT(0), FVM_DIV()), NULL, 0);
    fvm_chunk *inc = chunk_of(OPS(FVM_GET_SLOT(0), FVM_INC()), NULL, 0);
    fvm_value s[2] = {fvm_int(2), fvm_int(5)}, out = fvm_undef();
    for (int round = 0; round < 2; round++) {
        s[0] = fvm_int(2);
        s[1] = fvm_int(5);
        cr_assert_eq(fvm_jit_try_run_linear(j, div, s, 2, &out), FVM_JIT_OK);
        cr_assert(out.type == FVM_T_FLOAT && out.as.f == 0.5 && s[1].as.i == 9);
        s[0] = fvm_int(0);
        s[1] = fvm_int(5);
        out = fvm_undef();
        cr_assert_eq(fvm_jit_try_run_linear(j, div, s, 2, &out), FVM_JIT_NOT_COMPILED);
        cr_assert(out.type == FVM_T_UNDEF && s[1].as.i == 5);
        cr_assert_eq(fvm_jit_try_run_linear(j, div, s, 1, &out), FVM_JIT_NOT_COMPILED);
        s[0] = fvm_float(3.0);
        cr_assert_eq(fvm_jit_try_run_linear(j, inc, s, 2, &out), FVM_JIT_OK);
        cr_assert(out.type == FVM_T_INT && out.as.i == 4);
        s[0] = fvm_int(3);
        cr_assert_eq(fvm_jit_try_run_linear(j, inc, s, 2, &out), FVM_JIT_OK);
        cr_assert(out.type == FVM_T_INT && out.as.i == 4);
    }
    fvm_jit_counters k;
    fvm_jit_stats(j, &k);
    /* div once (its compile for one slot fails), inc for a Float and an Int. */
    cr_assert_eq(k.compiles, 3);
    cr_assert_eq(k.compile_failures, 1);
    cr_assert_eq(k.runs[FVM_JIT_LINEAR], 6);
    fvm_jit_free(j);
    fvm_chunk_free(div);
    fvm_chunk_free(inc);
}

/* ---- differential ---------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int64_t rnd_int(void)
{
    static const int64_t edge[] = {0, 1, -1, 2, 3, 7, -7, 63, 64, 65, INT64_MIN, INT64_MAX, 1000003};
    return rnd() % 3 ? edge[rnd() % (sizeof edge / sizeof edge[0])] : (int64_t)rnd() >> (rnd() % 64);
}

static double rnd_float(void)
{
    static const double edge[] = {0.0, -0.0, 1.0, -1.0, 0.5, 2.5, -3.75, 4.0, 1e300, -1e300,
                                  9.3e18, -9.3e18, INFINITY, -INFINITY, NAN};
    if (rnd() % 3)
        return edge[rnd() % (sizeof edge / sizeof edge[0])];
    return (double)(int64_t)rnd() / (double)(1 + rnd() % 1000);
}

static fvm_value rnd_value(void)
{
    switch (rnd() % 3) {
    case 0: return fvm_int(rnd_int());
    case 1: return fvm_float(rnd_float());
    default: return fvm_bool(rnd() & 1);
    }
}

/* The linear tier's ops from the JIT op table, by how many values they
 * pop: 0 (split into those that push and those that do not), 1, 2, 3. */
typedef struct op_set {
    unsigned code[FVM_OP_COUNT];
    size_t n;
} op_set;
static op_set pushers, voids, by_pop[4], binary_results;

static void collect_linear_ops(void)
{
    if (pushers.n)
        return;
    for (unsigned code = 0; code < FVM_OP_COUNT; code++) {
        if (!(fvm_jitop_table[code].tiers & (1u << FVM_JIT_LINEAR)))
            continue;
        const fvm_opinfo *oi = &fvm_opinfo_table[code];
        op_set *s = oi->pop > 0 ? &by_pop[oi->pop] : oi->push ? &pushers : &voids;
        s->code[s->n++] = code;
        if (oi->pop == 2 && oi->push == 1)
            binary_results.code[binary_results.n++] = code;
    }
}

static unsigned pick(const op_set *s) { return s->code[rnd() % s->n]; }

static fvm_op make_op(unsigned code)
{
    fvm_op op = {(uint16_t)code, 0, 0, 0, {0}};
    if (code == FVM_OP_LOAD_INT)
        op.u.i = rnd_int();
    else if (code == FVM_OP_LOAD_FLOAT)
        op.u.f = rnd_float();
    else if (code == FVM_OP_LOAD_CONST)
        op.a = (uint16_t)(rnd() % 2);
    else {
        op.a = (uint16_t)(rnd() % NSLOTS);
        op.b = (uint16_t)(rnd() % NSLOTS);
    }
    return op;
}

/* A random eligible chunk of about len ops ending with one value. */
static size_t random_ops(fvm_op *ops, size_t len)
{
    collect_linear_ops();
    size_t n = 0;
    int depth = 0;
    while (n < len || depth != 1) {
        unsigned code;
        unsigned r = (unsigned)(rnd() % 10);
        if (n >= len) /* wind down */
            code = depth == 0 ? FVM_OP_GET_SLOT : pick(&binary_results);
        else if (depth >= 2 && r < 4)
            code = pick(&by_pop[2]);
        else if (depth >= 3 && r == 4)
            code = pick(&by_pop[3]);
        else if (depth >= 1 && r < 7)
            code = pick(&by_pop[1]);
        else if (r == 7)
            code = pick(&voids);
        else
            code = pick(&pushers);
        ops[n++] = make_op(code);
        depth += fvm_opinfo_table[code].push - fvm_opinfo_table[code].pop;
    }
    return n;
}

static void check_one(fvm_mcode *mc, size_t len, unsigned long iter, int *ran)
{
    fvm_op ops[128];
    size_t n = random_ops(ops, len);
    fvm_value consts[2] = {fvm_int(rnd_int()), fvm_float(rnd_float())};
    fvm_chunk *c = chunk_of(ops, n, consts, 2);
    cr_assert_eq(fvm_linear_decline_reason(c), FVM_JIT_REASON_NONE, "iteration %lu", iter);
    fvm_value in[NSLOTS], want_slots[NSLOTS];
    for (int k = 0; k < NSLOTS; k++)
        in[k] = rnd_value();
    fvm_result want = interp(c, in, want_slots);
    cr_assert_eq(want.status, FVM_RUN_OK, "iteration %lu", iter);
    outcome o = linear(mc, c, in);
    char a[96], b[96];
    if (o.ran) {
        (*ran)++;
        show(a, sizeof a, want.value);
        show(b, sizeof b, o.result);
        cr_assert(same_value(want.value, o.result), "iteration %lu: interpreter %s, linear %s", iter, a, b);
        for (int k = 0; k < NSLOTS; k++) {
            show(a, sizeof a, want_slots[k]);
            show(b, sizeof b, o.slots[k]);
            cr_assert(same_value(want_slots[k], o.slots[k]), "iteration %lu slot %d: %s vs %s", iter, k, a, b);
        }
    } else {
        for (int k = 0; k < NSLOTS; k++)
            cr_assert(same_value(in[k], o.slots[k]), "iteration %lu: slots written on decline", iter);
    }
    fvm_chunk_free(c);
}

Test(jit_linear, differential_against_the_interpreter, .timeout = 60)
{
    const char *env = getenv("FUSEVM_TEST_LINEAR_ITERS");
    unsigned long iters = env ? strtoul(env, NULL, 10) : 4000;
    rng_state = 0x2545f4914f6cdd1du;
    fvm_mcode *mc = fvm_mcode_new(0);
    int ran = 0;
    for (unsigned long i = 0; i < iters; i++) {
        check_one(mc, 1 + rnd() % 40, i, &ran);
        if (i % 256 == 255) { /* a fresh arena now and then bounds the memory */
            fvm_mcode_free(mc);
            mc = fvm_mcode_new(0);
        }
    }
    fprintf(stderr, "linear differential: %lu chunks, %d ran natively\n", iters, ran);
    cr_assert_gt(ran, (int)(iters / 2), "only %d of %lu chunks ran natively", ran, iters);
    fvm_mcode_free(mc);
}
