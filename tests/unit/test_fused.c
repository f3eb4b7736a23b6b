/* Fused superinstructions (docs/OPS.md, "Fused superinstructions"): each
 * op's exact semantics on Int, Float, Str and Undef slots, then a property
 * test over random slot states comparing every fused op with a model of
 * those semantics and, where they say the two agree, with its unfused
 * expansion (src/fused.c). */
#include "vmtest.h"

#include "fused.h"

/* Run ops on a root frame whose slots 0..n-1 are preset (values taken). */
static void run_with_slots(vt *t, fvm_chunk *c, const fvm_value *slots, size_t n)
{
    vt_open(t, c);
    for (size_t i = 0; i < n; i++)
        fvm_vm_set_slot(t->vm, (uint16_t)i, slots[i]);
    vt_run(t);
}

#define RUN_SLOTS(t, OPS, CONSTS, SLOTS) run_with_slots((t), vt_chunk(OPS, CONSTS, VT_NAMES("arr")), SLOTS)

/* ------------------------------------------------------------------------
 * Single-slot increments and decrements
 * ------------------------------------------------------------------------ */

Test(fused, pre_inc_slot)
{
    vt t;
    RUN_SLOTS(&t, VT_OPS(FVM_PRE_INC_SLOT(0), FVM_PRE_INC_SLOT(1), FVM_PRE_INC_SLOT(2), FVM_PRE_INC_SLOT(3),
                         FVM_PRE_INC_SLOT(4), FVM_PRE_INC_SLOT(6)),
              VT_NONE, VT_VALS(fvm_int(5), fvm_float(2.5), fvm_cstr("41"), fvm_cstr("4.5"), fvm_int(INT64_MAX)));
    VT_EXPECT_STACK(&t, fvm_int(6), fvm_int(3), fvm_int(42), fvm_int(1), fvm_int(INT64_MIN), fvm_int(1));
    VT_EXPECT_SLOT(&t, 0, 0, fvm_int(6));
    VT_EXPECT_SLOT(&t, 0, 1, fvm_int(3));
    VT_EXPECT_SLOT(&t, 0, 2, fvm_int(42));
    VT_EXPECT_SLOT(&t, 0, 3, fvm_int(1));
    VT_EXPECT_SLOT(&t, 0, 4, fvm_int(INT64_MIN));
    VT_EXPECT_SLOT(&t, 0, 5, fvm_undef());
    VT_EXPECT_SLOT(&t, 0, 6, fvm_int(1)); /* a missing slot reads as 0 and is created */
    cr_assert_eq(fvm_vm_frame_slot_count(t.vm, 0), 7);
    vt_close(&t);
}

Test(fused, pre_inc_slot_void)
{
    vt t;
    RUN_SLOTS(&t, VT_OPS(FVM_PRE_INC_SLOT_VOID(0), FVM_PRE_INC_SLOT_VOID(1), FVM_PRE_INC_SLOT_VOID(2),
                         FVM_PRE_INC_SLOT_VOID(3), FVM_PRE_INC_SLOT_VOID(4), FVM_PRE_INC_SLOT_VOID(0)),
              VT_NONE, VT_VALS(fvm_int(INT64_MAX), fvm_float(-2.5), fvm_undef(), fvm_bool(true), fvm_float(NAN)));
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    VT_EXPECT_SLOT(&t, 0, 0, fvm_int(INT64_MIN + 1));
    VT_EXPECT_SLOT(&t, 0, 1, fvm_int(-1));
    VT_EXPECT_SLOT(&t, 0, 2, fvm_int(1));
    VT_EXPECT_SLOT(&t, 0, 3, fvm_int(2));
    VT_EXPECT_SLOT(&t, 0, 4, fvm_int(1));
    vt_close(&t);
}

Test(fused, pre_dec_slot)
{
    vt t;
    RUN_SLOTS(&t, VT_OPS(FVM_PRE_DEC_SLOT(0), FVM_PRE_DEC_SLOT(1), FVM_PRE_DEC_SLOT(2), FVM_PRE_DEC_SLOT(3)),
              VT_NONE, VT_VALS(fvm_int(INT64_MIN), fvm_undef(), fvm_float(2.5), fvm_cstr("x")));
    VT_EXPECT_STACK(&t, fvm_int(INT64_MAX), fvm_int(-1), fvm_int(1), fvm_int(-1));
    VT_EXPECT_SLOT(&t, 0, 0, fvm_int(INT64_MAX));
    VT_EXPECT_SLOT(&t, 0, 2, fvm_int(1));
    VT_EXPECT_SLOT(&t, 0, 3, fvm_int(-1));
    vt_close(&t);
}

/* The pushed value is to_int of the old slot: Float 2.5 pushes Int(2). */
Test(fused, post_inc_post_dec_slot)
{
    vt t;
    RUN_SLOTS(&t, VT_OPS(FVM_POST_INC_SLOT(0), FVM_POST_INC_SLOT(1), FVM_POST_DEC_SLOT(2), FVM_POST_DEC_SLOT(3),
                         FVM_POST_INC_SLOT(4), FVM_POST_DEC_SLOT(5)),
              VT_NONE,
              VT_VALS(fvm_float(2.5), fvm_int(INT64_MAX), fvm_cstr("10"), fvm_int(INT64_MIN), fvm_undef(),
                      fvm_cstr("2.5")));
    VT_EXPECT_STACK(&t, fvm_int(2), fvm_int(INT64_MAX), fvm_int(10), fvm_int(INT64_MIN), fvm_int(0), fvm_int(0));
    VT_EXPECT_SLOT(&t, 0, 0, fvm_int(3));
    VT_EXPECT_SLOT(&t, 0, 1, fvm_int(INT64_MIN));
    VT_EXPECT_SLOT(&t, 0, 2, fvm_int(9));
    VT_EXPECT_SLOT(&t, 0, 3, fvm_int(INT64_MAX));
    VT_EXPECT_SLOT(&t, 0, 4, fvm_int(1));
    VT_EXPECT_SLOT(&t, 0, 5, fvm_int(-1));
    vt_close(&t);
}

/* Always integer, unlike Add: a Float slot is truncated. */
Test(fused, add_assign_slot_void)
{
    vt t;
    RUN_SLOTS(&t, VT_OPS(FVM_ADD_ASSIGN_SLOT_VOID(0, 1), FVM_ADD_ASSIGN_SLOT_VOID(2, 3),
                         FVM_ADD_ASSIGN_SLOT_VOID(4, 4), FVM_ADD_ASSIGN_SLOT_VOID(5, 1),
                         FVM_ADD_ASSIGN_SLOT_VOID(6, 9)),
              VT_NONE,
              VT_VALS(fvm_float(1.5), fvm_int(2), fvm_cstr("3"), fvm_float(2.9), fvm_int(5), fvm_int(INT64_MAX),
                      fvm_float(-0.5)));
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    VT_EXPECT_SLOT(&t, 0, 0, fvm_int(3));
    VT_EXPECT_SLOT(&t, 0, 1, fvm_int(2));
    VT_EXPECT_SLOT(&t, 0, 2, fvm_int(5));
    VT_EXPECT_SLOT(&t, 0, 3, fvm_float(2.9)); /* b is only read */
    VT_EXPECT_SLOT(&t, 0, 4, fvm_int(10));
    VT_EXPECT_SLOT(&t, 0, 5, fvm_int(INT64_MIN + 1));
    VT_EXPECT_SLOT(&t, 0, 6, fvm_int(0)); /* -0.5 truncates to 0; slot 9 is missing: 0 */
    cr_assert_eq(fvm_vm_frame_slot_count(t.vm, 0), 7);
    vt_close(&t);
}

/* ------------------------------------------------------------------------
 * Fused branches
 * ------------------------------------------------------------------------ */

/* Jump to 3 (push 222) if to_int(slot) >= limit, else push 111. */
static void expect_lt_jump(fvm_value slot, int32_t limit, bool jumps)
{
    vt t;
    RUN_SLOTS(&t, VT_OPS(FVM_SLOT_LT_INT_JUMP_IF_FALSE(0, limit, 3), FVM_LOAD_INT(111), FVM_JUMP(4),
                         FVM_LOAD_INT(222)),
              VT_NONE, VT_VALS(fvm_value_copy(slot)));
    VT_EXPECT_STACK(&t, fvm_int(jumps ? 222 : 111));
    VT_EXPECT_SLOT(&t, 0, 0, slot); /* never written */
    vt_close(&t);
}

Test(fused, slot_lt_int_jump_if_false)
{
    expect_lt_jump(fvm_int(3), 5, false);
    expect_lt_jump(fvm_int(5), 5, true);
    expect_lt_jump(fvm_int(INT64_MIN), INT32_MIN, false);
    expect_lt_jump(fvm_int(INT64_MAX), INT32_MAX, true);
    expect_lt_jump(fvm_float(4.9), 5, false);
    expect_lt_jump(fvm_float(-0.5), 0, true); /* to_int(-0.5) = 0, unlike NumLt on floats */
    expect_lt_jump(fvm_float(NAN), 1, false);
    expect_lt_jump(fvm_cstr("7"), 5, true);
    expect_lt_jump(fvm_cstr("4.5"), 1, false); /* to_int gives 0 */
    expect_lt_jump(fvm_undef(), 1, false);
    expect_lt_jump(fvm_undef(), 0, true);
    expect_lt_jump(fvm_bool(true), 1, true);
}

Test(fused, slot_lt_int_jump_if_false_missing_slot)
{
    vt t;
    RUN_SLOTS(&t, VT_OPS(FVM_SLOT_LT_INT_JUMP_IF_FALSE(3, 1, 3), FVM_LOAD_INT(111), FVM_JUMP(4), FVM_LOAD_INT(222)),
              VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(111));
    cr_assert_eq(fvm_vm_frame_slot_count(t.vm, 0), 0);
    vt_close(&t);
}

/* A counted loop: body pushes the counter, back-edge increments it. */
Test(fused, slot_inc_lt_int_jump_back)
{
    vt t;
    RUN_SLOTS(&t, VT_OPS(FVM_GET_SLOT(0), FVM_SLOT_INC_LT_INT_JUMP_BACK(0, 4, 0), FVM_GET_SLOT(0)), VT_NONE,
              VT_VALS(fvm_float(0.5)));
    VT_EXPECT_STACK(&t, fvm_float(0.5), fvm_int(1), fvm_int(2), fvm_int(3), fvm_int(4));
    vt_close(&t);
    /* Wraps at the top and compares after the increment. */
    RUN_SLOTS(&t, VT_OPS(FVM_SLOT_INC_LT_INT_JUMP_BACK(0, 0, 3), FVM_LOAD_INT(111), FVM_JUMP(4), FVM_LOAD_INT(222)),
              VT_NONE, VT_VALS(fvm_int(INT64_MAX)));
    VT_EXPECT_STACK(&t, fvm_int(222));
    VT_EXPECT_SLOT(&t, 0, 0, fvm_int(INT64_MIN));
    vt_close(&t);
}

/* ------------------------------------------------------------------------
 * Whole-loop ops
 * ------------------------------------------------------------------------ */

Test(fused, accum_sum_loop_classic)
{
    vt t;
    RUN_SLOTS(&t, VT_OPS(FVM_ACCUM_SUM_LOOP(0, 1, 1000000)), VT_NONE, VT_VALS(fvm_int(0), fvm_int(0)));
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    VT_EXPECT_SLOT(&t, 0, 0, fvm_int(499999500000));
    VT_EXPECT_SLOT(&t, 0, 1, fvm_int(1000000));
    vt_close(&t);
}

/* The unfused loop upstream benchmarks AccumSumLoop against gives the same
 * number. */
Test(fused, accum_sum_loop_matches_benchmark_loop)
{
    vt t;
    RUN_SLOTS(&t,
              VT_OPS(/* 0 */ FVM_SLOT_LT_INT_JUMP_IF_FALSE(1, 1000000, 7), FVM_GET_SLOT(0), FVM_GET_SLOT(1),
                     FVM_ADD(), FVM_SET_SLOT(0), FVM_PRE_INC_SLOT_VOID(1), FVM_JUMP(0), /* 7 */ FVM_GET_SLOT(0)),
              VT_NONE, VT_VALS(fvm_int(0), fvm_int(0)));
    VT_EXPECT_STACK(&t, fvm_int(499999500000));
    vt_close(&t);
}

/* Zero iterations still rewrite both slots as Int. */
Test(fused, accum_sum_loop_zero_iterations)
{
    vt t;
    RUN_SLOTS(&t, VT_OPS(FVM_ACCUM_SUM_LOOP(0, 1, 5), FVM_ACCUM_SUM_LOOP(2, 3, 0)), VT_NONE,
              VT_VALS(fvm_float(2.5), fvm_cstr("10"), fvm_undef()));
    VT_EXPECT_SLOT(&t, 0, 0, fvm_int(2));
    VT_EXPECT_SLOT(&t, 0, 1, fvm_int(10));
    VT_EXPECT_SLOT(&t, 0, 2, fvm_int(0));
    VT_EXPECT_SLOT(&t, 0, 3, fvm_int(0));
    vt_close(&t);
}

Test(fused, accum_sum_loop_negative_and_aliased)
{
    vt t;
    RUN_SLOTS(&t, VT_OPS(FVM_ACCUM_SUM_LOOP(0, 1, -5), FVM_ACCUM_SUM_LOOP(2, 2, 5)), VT_NONE,
              VT_VALS(fvm_int(1), fvm_int(-10), fvm_int(0)));
    VT_EXPECT_SLOT(&t, 0, 0, fvm_int(1 - 10 - 9 - 8 - 7 - 6));
    VT_EXPECT_SLOT(&t, 0, 1, fvm_int(-5));
    VT_EXPECT_SLOT(&t, 0, 2, fvm_int(5)); /* sum and i are one slot: i is written last */
    vt_close(&t);
}

/* A start near INT64_MIN would take 2^63 iterations: the op must still end
 * at once, with the sum wrapped modulo 2^64. */
Test(fused, accum_sum_loop_huge_range_terminates, .timeout = 10)
{
    vt t;
    RUN_SLOTS(&t, VT_OPS(FVM_ACCUM_SUM_LOOP(0, 1, 0), FVM_ACCUM_SUM_LOOP(2, 3, INT32_MAX)), VT_NONE,
              VT_VALS(fvm_int(7), fvm_int(INT64_MIN), fvm_int(0), fvm_float(-1e300)));
    VT_EXPECT_SLOT(&t, 0, 0, fvm_int(-4611686018427387897)); /* 7 + sum(-2^63 .. -1) */
    VT_EXPECT_SLOT(&t, 0, 1, fvm_int(0));
    VT_EXPECT_SLOT(&t, 0, 2, fvm_int(-2305843012434919423)); /* sum(-2^63 .. 2^31-2) */
    VT_EXPECT_SLOT(&t, 0, 3, fvm_int(INT32_MAX));
    vt_close(&t);
}

Test(fused, concat_const_loop)
{
    vt t;
    RUN_SLOTS(&t, VT_OPS(FVM_CONCAT_CONST_LOOP(0, 0, 1, 3), FVM_CONCAT_CONST_LOOP(1, 2, 3, 4)),
              VT_VALS(fvm_cstr("ab"), fvm_float(4.0)),
              VT_VALS(fvm_cstr("x"), fvm_int(0), fvm_undef(), fvm_float(1.5)));
    VT_EXPECT_SLOT(&t, 0, 0, fvm_cstr("xababab"));
    VT_EXPECT_SLOT(&t, 0, 1, fvm_int(3));
    VT_EXPECT_SLOT(&t, 0, 2, fvm_cstr("444")); /* Float 4.0 renders "4"; i starts at to_int(1.5) = 1 */
    VT_EXPECT_SLOT(&t, 0, 3, fvm_int(4));
    vt_close(&t);
}

/* With no iterations s is still rewritten as its string form; i keeps its
 * (integer) value. */
Test(fused, concat_const_loop_zero_iterations)
{
    vt t;
    RUN_SLOTS(&t, VT_OPS(FVM_CONCAT_CONST_LOOP(0, 0, 1, 3), FVM_CONCAT_CONST_LOOP(0, 2, 3, -1)),
              VT_VALS(fvm_cstr("ab")), VT_VALS(fvm_int(7), fvm_int(5), VT_ARRAY(fvm_int(1), fvm_int(2)), fvm_cstr("x")));
    VT_EXPECT_SLOT(&t, 0, 0, fvm_cstr("7"));
    VT_EXPECT_SLOT(&t, 0, 1, fvm_int(5));
    VT_EXPECT_SLOT(&t, 0, 2, fvm_cstr("1 2")); /* i = to_int("x") = 0 is not below -1 */
    VT_EXPECT_SLOT(&t, 0, 3, fvm_int(0));
    vt_close(&t);
}

Test(fused, push_int_range_loop)
{
    vt t;
    vt_open(&t, vt_chunk(VT_OPS(FVM_PUSH_INT_RANGE_LOOP(0, 0, 5)), VT_NONE, VT_NAMES("arr")));
    fvm_vm_set_global(t.vm, 0, VT_ARRAY(fvm_int(9)));
    fvm_vm_set_slot(t.vm, 0, fvm_int(2));
    vt_run(&t);
    VT_EXPECT_GLOBAL(&t, 0, VT_ARRAY(fvm_int(9), fvm_int(2), fvm_int(3), fvm_int(4)));
    VT_EXPECT_SLOT(&t, 0, 0, fvm_int(5));
    vt_close(&t);
}

/* A non-array global is silently replaced, even with no iterations. */
Test(fused, push_int_range_loop_replaces_non_array)
{
    vt t;
    vt_open(&t, vt_chunk(VT_OPS(FVM_PUSH_INT_RANGE_LOOP(0, 0, 3), FVM_PUSH_INT_RANGE_LOOP(1, 1, 0)), VT_NONE,
                         VT_NAMES("arr", "other")));
    fvm_vm_set_global(t.vm, 0, fvm_int(7));
    fvm_vm_set_global(t.vm, 1, fvm_cstr("s"));
    fvm_vm_set_slot(t.vm, 0, fvm_float(1.5));
    fvm_vm_set_slot(t.vm, 1, fvm_int(4));
    vt_run(&t);
    VT_EXPECT_GLOBAL(&t, 0, VT_ARRAY(fvm_int(1), fvm_int(2)));
    VT_EXPECT_GLOBAL(&t, 1, VT_EMPTY_ARRAY());
    VT_EXPECT_SLOT(&t, 0, 0, fvm_int(3));
    VT_EXPECT_SLOT(&t, 0, 1, fvm_int(4));
    vt_close(&t);
}

/* Growing an array shared with a value on the stack copies it first. */
Test(fused, push_int_range_loop_copy_on_write)
{
    vt t;
    vt_open(&t, vt_chunk(VT_OPS(FVM_DECLARE_ARRAY(0), FVM_GET_ARRAY(0), FVM_PUSH_INT_RANGE_LOOP(0, 0, 2)), VT_NONE,
                         VT_NAMES("arr")));
    vt_run(&t);
    VT_EXPECT_STACK(&t, VT_EMPTY_ARRAY());
    VT_EXPECT_GLOBAL(&t, 0, VT_ARRAY(fvm_int(0), fvm_int(1)));
    vt_close(&t);
}

/* ------------------------------------------------------------------------
 * Property test: fused op vs. the model and vs. its expansion
 * ------------------------------------------------------------------------ */

enum { NSLOTS = 4, MARK_BASE = 777, MARK_FALL = 111, MARK_JUMP = 222 };

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static int64_t rnd_in(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

static fvm_value random_slot_value(void)
{
    static const int64_t ints[] = {0, 1, -1, 2, 7, INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1,
                                   INT32_MAX, INT32_MIN};
    static const double floats[] = {2.5, -2.5, 0.0, -0.0, 0.5, -0.5, 3.99, 1e30, -1e30};
    static const char *const strs[] = {"42", "-7", "007", "2.5", "abc", "", "1e3", " 5", "-0", "9223372036854775807"};
    switch (rnd() % 10) {
    case 0:
    case 1:
    case 2: return fvm_int(rnd_in(-40, 40));
    case 3: return fvm_int(ints[rnd() % (sizeof ints / sizeof ints[0])]);
    case 4: return fvm_int((int64_t)rnd());
    case 5: return fvm_float(floats[rnd() % (sizeof floats / sizeof floats[0])]);
    case 6:
        switch (rnd() % 4) {
        case 0: return fvm_float(NAN);
        case 1: return fvm_float(INFINITY);
        case 2: return fvm_float(-INFINITY);
        default: return fvm_float((double)rnd_in(-4000, 4000) / 8.0);
        }
    case 7: return fvm_cstr(strs[rnd() % (sizeof strs / sizeof strs[0])]);
    case 8: return fvm_bool(rnd() & 1);
    default: return fvm_undef();
    }
}

static fvm_value random_global(void)
{
    switch (rnd() % 5) {
    case 0: return fvm_array_new();
    case 1: return VT_ARRAY(fvm_int(9), fvm_cstr("x"));
    case 2: return fvm_int(7);
    case 3: return fvm_cstr("s");
    default: return fvm_undef();
    }
}

static fvm_value random_const(void)
{
    switch (rnd() % 5) {
    case 0: return fvm_cstr("ab");
    case 1: return fvm_cstr("");
    case 2: return fvm_float(4.0);
    case 3: return fvm_int(-3);
    default: return fvm_undef();
    }
}

/* A random int32 limit; near `near` when that is small, so loops are short. */
static int32_t random_limit(int64_t near)
{
    switch (rnd() % 6) {
    case 0: return INT32_MIN;
    case 1: return INT32_MAX;
    case 2: return (int32_t)rnd_in(-20, 20);
    default:
        if (near > -1000 && near < 1000)
            return (int32_t)(near + rnd_in(-3, 25));
        return (int32_t)rnd_in(-20, 20);
    }
}

/* The initial state of one case (values owned). */
typedef struct fcase {
    fvm_op op; /* its target (if any) is filled in per chunk */
    fvm_value slots[NSLOTS];
    fvm_value global; /* names[0] */
    fvm_value konst;  /* constants[0] */
} fcase;

/* What a run leaves (values owned). */
typedef struct snap {
    fvm_value stack[8];
    size_t depth;
    fvm_value slots[NSLOTS];
    size_t nslots;
    fvm_value global;
} snap;

static void snap_free(snap *s)
{
    for (size_t i = 0; i < s->depth; i++)
        fvm_value_drop(s->stack[i]);
    for (size_t i = 0; i < s->nslots; i++)
        fvm_value_drop(s->slots[i]);
    fvm_value_drop(s->global);
}

static void snap_push(snap *s, fvm_value v)
{
    cr_assert(s->depth < 8);
    s->stack[s->depth++] = v;
}

/* Run body (ops between the base marker and the fall-through marker) on
 * the case's state; the body's jumps to "taken" must target body_len + 3. */
static snap run_case(const fcase *fc, const fvm_op *body, size_t body_len)
{
    fvm_op ops[FVM_FUSED_MAX_LEN + 4];
    size_t n = 0;
    ops[n++] = FVM_LOAD_INT(MARK_BASE);
    for (size_t i = 0; i < body_len; i++)
        ops[n++] = body[i];
    ops[n++] = FVM_LOAD_INT(MARK_FALL);
    ops[n] = FVM_JUMP((uint32_t)n + 2);
    n++;
    ops[n++] = FVM_LOAD_INT(MARK_JUMP);
    vt t;
    vt_open(&t, vt_chunk(ops, n, VT_VALS(fvm_value_copy(fc->konst)), VT_NAMES("arr")));
    for (size_t i = 0; i < NSLOTS; i++)
        fvm_vm_set_slot(t.vm, (uint16_t)i, fvm_value_copy(fc->slots[i]));
    fvm_vm_set_global(t.vm, 0, fvm_value_copy(fc->global));
    vt_run(&t);
    cr_assert_eq(t.r.status, FVM_RUN_OK, "%s: %s", fvm_op_name(fc->op.code), fvm_vm_error(t.vm));
    snap s = {.depth = 0};
    for (size_t i = 0; i < fvm_vm_stack_depth(t.vm); i++)
        snap_push(&s, fvm_value_copy(fvm_vm_stack_at(t.vm, i)));
    snap_push(&s, fvm_value_copy(t.r.value));
    s.nslots = fvm_vm_frame_slot_count(t.vm, 0);
    cr_assert_eq(s.nslots, NSLOTS);
    for (size_t i = 0; i < NSLOTS; i++)
        s.slots[i] = fvm_value_copy(fvm_vm_frame_slot(t.vm, 0, i));
    s.global = fvm_value_copy(fvm_vm_global(t.vm, 0));
    vt_close(&t);
    return s;
}

static int64_t wadd(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }

/* sum += i; i += 1 while i < limit, by iteration when short, else in
 * closed form modulo 2^64. */
static int64_t model_accum(int64_t sum, int64_t i, int64_t limit)
{
    if (i >= limit)
        return sum;
    unsigned __int128 n = (unsigned __int128)((__int128)limit - i);
    if (n <= 100000) {
        for (; i < limit; i++)
            sum = wadd(sum, i);
        return sum;
    }
    unsigned __int128 tri = n * (n - 1) / 2;
    return (int64_t)((uint64_t)sum + (uint64_t)n * (uint64_t)i + (uint64_t)tri);
}

static void model_set(snap *s, uint16_t slot, fvm_value v)
{
    fvm_value_drop(s->slots[slot]);
    s->slots[slot] = v;
}

static fvm_value concat_n(fvm_value s, fvm_value c, uint64_t times)
{
    fvm_value ss = fvm_to_str(s), cs = fvm_to_str(c);
    size_t sl, cl;
    const char *sp = fvm_str_bytes(ss, &sl), *cp = fvm_str_bytes(cs, &cl);
    size_t total = sl + (size_t)times * cl;
    char *buf = malloc(total + 1);
    memcpy(buf, sp, sl);
    for (uint64_t k = 0; k < times && cl; k++)
        memcpy(buf + sl + (size_t)k * cl, cp, cl);
    fvm_value r = fvm_str(buf, total);
    free(buf);
    fvm_value_drop(ss);
    fvm_value_drop(cs);
    return r;
}

/* docs/OPS.md's semantics of the fused ops, written out independently of
 * the VM. */
static snap model(const fcase *fc)
{
    const fvm_op *op = &fc->op;
    snap s = {.depth = 0, .nslots = NSLOTS};
    for (size_t i = 0; i < NSLOTS; i++)
        s.slots[i] = fvm_value_copy(fc->slots[i]);
    s.global = fvm_value_copy(fc->global);
    snap_push(&s, fvm_int(MARK_BASE));
    bool jumped = false;
    int64_t limit = op->u.j.limit;
    int64_t x = fvm_to_int(fc->slots[op->a]);
    switch (op->code) {
    case FVM_OP_PRE_INC_SLOT:
        model_set(&s, op->a, fvm_int(wadd(x, 1)));
        snap_push(&s, fvm_int(wadd(x, 1)));
        break;
    case FVM_OP_PRE_INC_SLOT_VOID: model_set(&s, op->a, fvm_int(wadd(x, 1))); break;
    case FVM_OP_PRE_DEC_SLOT:
        model_set(&s, op->a, fvm_int(wadd(x, -1)));
        snap_push(&s, fvm_int(wadd(x, -1)));
        break;
    case FVM_OP_POST_INC_SLOT:
    case FVM_OP_POST_DEC_SLOT:
        model_set(&s, op->a, fvm_int(wadd(x, op->code == FVM_OP_POST_INC_SLOT ? 1 : -1)));
        snap_push(&s, fvm_int(x));
        break;
    case FVM_OP_ADD_ASSIGN_SLOT_VOID:
        model_set(&s, op->a, fvm_int(wadd(x, fvm_to_int(fc->slots[op->b]))));
        break;
    case FVM_OP_SLOT_LT_INT_JUMP_IF_FALSE: jumped = x >= limit; break;
    case FVM_OP_SLOT_INC_LT_INT_JUMP_BACK:
        model_set(&s, op->a, fvm_int(wadd(x, 1)));
        jumped = wadd(x, 1) < limit;
        break;
    case FVM_OP_ACCUM_SUM_LOOP: {
        int64_t i = fvm_to_int(fc->slots[op->b]);
        model_set(&s, op->a, fvm_int(model_accum(x, i, limit)));
        model_set(&s, op->b, fvm_int(i > limit ? i : limit));
        break;
    }
    case FVM_OP_CONCAT_CONST_LOOP: {
        int64_t i = fvm_to_int(fc->slots[op->c]);
        model_set(&s, op->b, concat_n(fc->slots[op->b], fc->konst, i < limit ? (uint64_t)((__int128)limit - i) : 0));
        model_set(&s, op->c, fvm_int(i > limit ? i : limit));
        break;
    }
    case FVM_OP_PUSH_INT_RANGE_LOOP: {
        int64_t i = fvm_to_int(fc->slots[op->b]);
        fvm_value a = fc->global.type == FVM_T_ARRAY ? fvm_value_copy(fc->global) : fvm_array_new();
        for (; i < limit; i++)
            fvm_array_push(&a, fvm_int(i));
        fvm_value_drop(s.global);
        s.global = a;
        model_set(&s, op->b, fvm_int(i));
        break;
    }
    default: cr_assert_fail("not a fused op: %s", fvm_op_name(op->code));
    }
    snap_push(&s, fvm_int(jumped ? MARK_JUMP : MARK_FALL));
    return s;
}

static void expect_same_snap(const snap *got, const snap *want, const fcase *fc, const char *what)
{
    char state[1200] = "";
    size_t len = 0;
    for (size_t i = 0; i < NSLOTS; i++) {
        const char *d = vt_describe(fc->slots[i]);
        len += (size_t)snprintf(state + len, sizeof state - len, "s%zu=%s ", i, d);
        if (len >= sizeof state)
            break;
    }
    const fvm_op *o = &fc->op;
    cr_assert_eq(got->depth, want->depth, "%s(%u,%u,%u limit %d) %s: depth %zu vs %zu; %s", fvm_op_name(o->code),
                 o->a, o->b, o->c, o->u.j.limit, what, got->depth, want->depth, state);
    for (size_t i = 0; i < got->depth; i++)
        cr_assert(vt_same(got->stack[i], want->stack[i]), "%s(%u,%u,%u limit %d) %s: stack[%zu] %s vs %s; %s",
                  fvm_op_name(o->code), o->a, o->b, o->c, o->u.j.limit, what, i, vt_describe(got->stack[i]),
                  vt_describe(want->stack[i]), state);
    for (size_t i = 0; i < NSLOTS; i++)
        cr_assert(vt_same(got->slots[i], want->slots[i]), "%s(%u,%u,%u limit %d) %s: slot %zu %s vs %s; %s",
                  fvm_op_name(o->code), o->a, o->b, o->c, o->u.j.limit, what, i, vt_describe(got->slots[i]),
                  vt_describe(want->slots[i]), state);
    cr_assert(vt_same(got->global, want->global), "%s %s: global %s vs %s; %s", fvm_op_name(o->code), what,
              vt_describe(got->global), vt_describe(want->global), state);
}

/* Do the fused op's semantics promise that it and its expansion agree here?
 * Inc/Dec coerce with to_int like the fused ops, so the pre-increments
 * always agree; the others only while the slots they coerce hold Ints (a
 * Float or Str slot makes Add, NumLt and Dup keep the non-Int value), plus
 * the loop ops' own rules for s and the global. */
static bool expansion_agrees(const fcase *fc)
{
    const fvm_op *op = &fc->op;
    const fvm_value *sl = fc->slots;
    switch (op->code) {
    case FVM_OP_PRE_INC_SLOT:
    case FVM_OP_PRE_INC_SLOT_VOID:
    case FVM_OP_PRE_DEC_SLOT:
    case FVM_OP_SLOT_INC_LT_INT_JUMP_BACK: return true;
    case FVM_OP_POST_INC_SLOT:
    case FVM_OP_POST_DEC_SLOT:
    case FVM_OP_SLOT_LT_INT_JUMP_IF_FALSE: return sl[op->a].type == FVM_T_INT;
    case FVM_OP_ADD_ASSIGN_SLOT_VOID:
    case FVM_OP_ACCUM_SUM_LOOP: return sl[op->a].type == FVM_T_INT && sl[op->b].type == FVM_T_INT;
    case FVM_OP_CONCAT_CONST_LOOP:
        return sl[op->c].type == FVM_T_INT &&
               (sl[op->b].type == FVM_T_STR || sl[op->c].as.i < op->u.j.limit);
    case FVM_OP_PUSH_INT_RANGE_LOOP: return sl[op->b].type == FVM_T_INT && fc->global.type == FVM_T_ARRAY;
    default: return false;
    }
}

/* Iterations the unfused loop would run (0 for non-loop ops). */
static uint64_t loop_iterations(const fcase *fc)
{
    const fvm_op *op = &fc->op;
    uint16_t islot;
    switch (op->code) {
    case FVM_OP_ACCUM_SUM_LOOP:
    case FVM_OP_PUSH_INT_RANGE_LOOP: islot = op->b; break;
    case FVM_OP_CONCAT_CONST_LOOP: islot = op->c; break;
    default: return 0;
    }
    int64_t i = fvm_to_int(fc->slots[islot]);
    return i < op->u.j.limit ? (uint64_t)((__int128)op->u.j.limit - i) : 0;
}

/* Random operands for one fused op. Loop ops use distinct slots (the
 * expansion reads them separately). */
static fvm_op random_fused_op(unsigned code, const fvm_value *slots)
{
    fvm_op op = {(uint16_t)code, 0, 0, 0, {0}};
    uint16_t a = (uint16_t)(rnd() % NSLOTS), b = (uint16_t)(rnd() % NSLOTS);
    while (code != FVM_OP_ADD_ASSIGN_SLOT_VOID && b == a)
        b = (uint16_t)(rnd() % NSLOTS);
    switch (code) {
    case FVM_OP_ADD_ASSIGN_SLOT_VOID:
        op.a = a;
        op.b = b;
        break;
    case FVM_OP_SLOT_LT_INT_JUMP_IF_FALSE:
    case FVM_OP_SLOT_INC_LT_INT_JUMP_BACK:
        op.a = a;
        op.u.j.limit = random_limit(fvm_to_int(slots[a]));
        break;
    case FVM_OP_ACCUM_SUM_LOOP:
        op.a = a;
        op.b = b;
        op.u.j.limit = random_limit(fvm_to_int(slots[b]));
        break;
    case FVM_OP_CONCAT_CONST_LOOP:
        op.a = 0;
        op.b = a;
        op.c = b;
        op.u.j.limit = random_limit(fvm_to_int(slots[b]));
        break;
    case FVM_OP_PUSH_INT_RANGE_LOOP:
        op.a = 0;
        op.b = a;
        op.u.j.limit = random_limit(fvm_to_int(slots[a]));
        break;
    default: op.a = a; break;
    }
    return op;
}

/* The op with its jump target (if it has one) set. */
static fvm_op with_target(fvm_op op, uint32_t target)
{
    if (fvm_op_flags(op.code) & FVM_OPF_JUMP)
        op.u.j.target = target;
    return op;
}

static const unsigned fused_codes[] = {
    FVM_OP_PRE_INC_SLOT,         FVM_OP_PRE_INC_SLOT_VOID, FVM_OP_PRE_DEC_SLOT,
    FVM_OP_POST_INC_SLOT,        FVM_OP_POST_DEC_SLOT,     FVM_OP_ADD_ASSIGN_SLOT_VOID,
    FVM_OP_SLOT_LT_INT_JUMP_IF_FALSE, FVM_OP_SLOT_INC_LT_INT_JUMP_BACK,
    FVM_OP_ACCUM_SUM_LOOP,       FVM_OP_CONCAT_CONST_LOOP, FVM_OP_PUSH_INT_RANGE_LOOP,
};

/* Every op the table flags as fused has an expansion and is covered here. */
Test(fused, every_fused_op_has_an_expansion)
{
    size_t fused = 0;
    for (unsigned code = 0; code < FVM_OP_COUNT; code++) {
        if (!(fvm_op_flags(code) & FVM_OPF_FUSED))
            continue;
        fused++;
        size_t len;
        const fvm_unfused_op *seq = fvm_fused_expansion(code, &len);
        cr_assert(seq && len > 0 && len <= FVM_FUSED_MAX_LEN, "%s", fvm_op_name(code));
        for (size_t i = 0; i < len; i++)
            cr_assert_eq(fvm_op_flags(seq[i].code) & FVM_OPF_FUSED, 0, "%s expands to a fused op",
                         fvm_op_name(code));
        bool listed = false;
        for (size_t i = 0; i < sizeof fused_codes / sizeof fused_codes[0]; i++)
            listed |= fused_codes[i] == code;
        cr_assert(listed, "%s is not covered by the property test", fvm_op_name(code));
    }
    cr_assert_eq(fused, sizeof fused_codes / sizeof fused_codes[0]);
}

Test(fused, property_fused_matches_model_and_expansion, .timeout = 120)
{
    enum { STATES = 400 };
    size_t compared[FVM_OP_COUNT] = {0}, total = 0;
    for (int iter = 0; iter < STATES; iter++) {
        for (size_t k = 0; k < sizeof fused_codes / sizeof fused_codes[0]; k++) {
            fcase fc;
            for (size_t i = 0; i < NSLOTS; i++)
                fc.slots[i] = random_slot_value();
            fc.global = random_global();
            fc.konst = random_const();
            fc.op = random_fused_op(fused_codes[k], fc.slots);
            uint64_t iters = loop_iterations(&fc);
            bool small = iters <= (fc.op.code == FVM_OP_CONCAT_CONST_LOOP ? 40 : 3000);
            if (fc.op.code == FVM_OP_PUSH_INT_RANGE_LOOP && !small) {
                /* the fused op would build a huge array: shorten the case */
                fc.op.u.j.limit = (int32_t)rnd_in(-20, 20);
                small = loop_iterations(&fc) <= 3000;
            }
            if (fc.op.code == FVM_OP_CONCAT_CONST_LOOP && !small) {
                fvm_value_drop(fc.konst);
                fc.konst = fvm_cstr(""); /* any count of "" is cheap */
            }
            if (fc.op.code == FVM_OP_PUSH_INT_RANGE_LOOP && !small) {
                for (size_t i = 0; i < NSLOTS; i++)
                    fvm_value_drop(fc.slots[i]);
                fvm_value_drop(fc.global);
                fvm_value_drop(fc.konst);
                continue;
            }

            fvm_op fused = with_target(fc.op, 1 + 1 + 2);
            snap got = run_case(&fc, &fused, 1);
            snap want = model(&fc);
            expect_same_snap(&got, &want, &fc, "fused vs model");

            if (small && expansion_agrees(&fc)) {
                fvm_op body[FVM_FUSED_MAX_LEN];
                fvm_op target_op = fc.op;
                size_t len;
                fvm_fused_expansion(fc.op.code, &len);
                target_op = with_target(target_op, (uint32_t)(1 + len + 2));
                cr_assert_eq(fvm_fused_expand(&target_op, 1, body), len);
                snap unf = run_case(&fc, body, len);
                expect_same_snap(&got, &unf, &fc, "fused vs unfused");
                snap_free(&unf);
                compared[fc.op.code]++;
                total++;
            }
            snap_free(&got);
            snap_free(&want);
            for (size_t i = 0; i < NSLOTS; i++)
                fvm_value_drop(fc.slots[i]);
            fvm_value_drop(fc.global);
            fvm_value_drop(fc.konst);
        }
    }
    /* Each op was compared with its expansion many times. */
    for (size_t k = 0; k < sizeof fused_codes / sizeof fused_codes[0]; k++)
        cr_assert_geq(compared[fused_codes[k]], 40, "%s compared only %zu times", fvm_op_name(fused_codes[k]),
                      compared[fused_codes[k]]);
    cr_assert_geq(total, 1500);
}

/* The documented divergences: for non-Int slots the fused ops coerce where
 * the expansion keeps the value. */
Test(fused, documented_divergences_from_expansion)
{
    vt t;
    /* PostIncSlot: GetSlot; Dup; Inc; SetSlot pushes the Float itself. */
    RUN_SLOTS(&t, VT_OPS(FVM_GET_SLOT(0), FVM_DUP(), FVM_INC(), FVM_SET_SLOT(0)), VT_NONE,
              VT_VALS(fvm_float(2.5)));
    VT_EXPECT_STACK(&t, fvm_float(2.5));
    VT_EXPECT_SLOT(&t, 0, 0, fvm_int(3));
    vt_close(&t);
    /* AddAssignSlotVoid: Add keeps a Float sum. */
    RUN_SLOTS(&t, VT_OPS(FVM_GET_SLOT(0), FVM_GET_SLOT(1), FVM_ADD(), FVM_SET_SLOT(0)), VT_NONE,
              VT_VALS(fvm_float(1.5), fvm_int(2)));
    VT_EXPECT_SLOT(&t, 0, 0, fvm_float(3.5));
    vt_close(&t);
}
