/* The interpreter's Float fast paths (src/vm.c: num_pair, float_arith and
 * the handlers and superinstructions that use them) against arith.c. For
 * every pair of edge-case numbers (Int/Float mixes in both orders, NaN,
 * +-0.0, +-inf, zero divisors of each kind), each op, run in every shape
 * that reaches a fast path, must give what fvm_arith_* and fvm_num_compare
 * give when called directly: same type, floats bit for bit. */
#include "arith.h"
#include "chunk.h"
#include "superop.h"
#include "vmtest.h"

#include <float.h>

#define I(x) {FVM_T_INT, 0, {.i = (x)}}
#define F(x) {FVM_T_FLOAT, 0, {.f = (x)}}

static const fvm_value nums[] = {
    I(0), I(1), I(-3), I(7), I(INT64_MAX), I(INT64_MIN), I((1LL << 53) + 1),
    F(0.0), F(-0.0), F(1.5), F(-2.5), F(3.0), F(INFINITY), F(-INFINITY), F(NAN), F(-NAN),
    F(1e308), F(-1e308), F(5e-324), F(9007199254740992.0),
};
#define NNUMS (sizeof nums / sizeof nums[0])

static const unsigned arith_ops[] = {FVM_OP_ADD, FVM_OP_SUB, FVM_OP_MUL, FVM_OP_MOD, FVM_OP_DIV};
static const unsigned cmp_ops[] = {FVM_OP_NUM_EQ, FVM_OP_NUM_NE, FVM_OP_NUM_LT,
                                   FVM_OP_NUM_GT, FVM_OP_NUM_LE, FVM_OP_NUM_GE};

/* What arith.c says op gives for a and b. */
static fvm_value reference(unsigned op, fvm_value a, fvm_value b)
{
    switch (op) {
    case FVM_OP_ADD: return fvm_arith_add(a, b);
    case FVM_OP_SUB: return fvm_arith_sub(a, b);
    case FVM_OP_MUL: return fvm_arith_mul(a, b);
    case FVM_OP_MOD: return fvm_arith_mod(a, b);
    case FVM_OP_DIV: return fvm_arith_div(a, b);
    case FVM_OP_NEGATE: return fvm_arith_negate(a);
    default: return fvm_bool(fvm_num_compare(op, a, b));
    }
}

static bool is_nan(fvm_value v)
{
    return v.type == FVM_T_FLOAT && isnan(v.as.f);
}

/* Same type and payload; floats by their bits, NaN's sign included. The
 * one exception: when both operands are NaNs, which one an Add or a Mul
 * passes on depends on the order the compiler gave the commutative
 * operands (x86 keeps the first), which C leaves open and which differs
 * between builds of arith.c itself; there any NaN matches (as vt_same). */
static bool same_bits(fvm_value x, fvm_value y, bool both_nan)
{
    if (x.type != y.type)
        return false;
    if (x.type == FVM_T_FLOAT && !(both_nan && isnan(x.as.f) && isnan(y.as.f)))
        return vt_double_bits(x.as.f) == vt_double_bits(y.as.f);
    return vt_same(x, y);
}

/* Run ops with slots 0 and 1 holding a and b, the constants 0 and 1 being
 * a and b; returns the value left on top. xop, unless 0, is the
 * superinstruction the execution copy must hold at xop_at. */
static fvm_value run_shape(const fvm_op *ops, size_t n, fvm_value a, fvm_value b, unsigned xop,
                           size_t xop_at)
{
    vt t;
    vt_open(&t, vt_chunk(ops, n, VT_VALS(a, b), VT_NONE));
    if (xop)
        cr_assert_eq(t.chunk->exec[xop_at].code, xop, "%s: superinstruction %u not formed",
                     fvm_op_name(ops[xop_at].code), xop);
    fvm_vm_set_slot(t.vm, 0, a);
    fvm_vm_set_slot(t.vm, 1, b);
    vt_run(&t);
    cr_assert_eq(t.r.status, FVM_RUN_OK, "run ended %s (%s)", vt_status_name(t.r.status),
                 fvm_vm_error(t.vm));
    fvm_value v = t.r.value;
    t.r.value = fvm_undef();
    vt_close(&t);
    return v;
}

static void check(const char *shape, unsigned op, fvm_value a, fvm_value b, fvm_value got)
{
    fvm_value want = reference(op, a, b);
    cr_assert(same_bits(got, want, is_nan(a) && is_nan(b)), "%s %s(%s, %s): got %s, arith.c gives %s", shape,
              fvm_op_name(op), vt_describe(a), vt_describe(b), vt_describe(got),
              vt_describe(want));
}

/* An Int that a fused LoadInt can carry (superop.c: small_int). */
static bool small(fvm_value v)
{
    return v.type == FVM_T_INT && v.as.i >= INT32_MIN && v.as.i <= INT32_MAX;
}

static bool fusable(unsigned op)
{
    return op == FVM_OP_ADD || op == FVM_OP_SUB || op == FVM_OP_MUL;
}

Test(float_paths, arith_every_shape)
{
    for (size_t k = 0; k < sizeof arith_ops / sizeof arith_ops[0]; k++) {
        unsigned op = arith_ops[k];
        bool fu = fusable(op);
        for (size_t i = 0; i < NNUMS; i++) {
            for (size_t j = 0; j < NNUMS; j++) {
                fvm_value a = nums[i], b = nums[j];
                /* The op itself. */
                check("plain", op, a, b,
                      run_shape(VT_OPS(FVM_LOAD_CONST(0), FVM_LOAD_CONST(1), vt_op(op)), a, b, 0,
                                0));
                /* Add|Sub|Mul; SetSlot (ARITH_SET). */
                check("stack-set", op, a, b,
                      run_shape(VT_OPS(FVM_LOAD_CONST(0), FVM_LOAD_CONST(1), vt_op(op),
                                       FVM_SET_SLOT(2), FVM_GET_SLOT(2)),
                                a, b, fu ? FVM_XOP_ARITH_SET : 0, 2));
                /* GetSlot; GetSlot; Add|Sub|Mul; SetSlot (SLOTS_ARITH_SET). */
                check("slots-set", op, a, b,
                      run_shape(VT_OPS(FVM_GET_SLOT(0), FVM_GET_SLOT(1), vt_op(op), FVM_SET_SLOT(2),
                                       FVM_GET_SLOT(2)),
                                a, b, fu ? FVM_XOP_SLOTS_ARITH_SET : 0, 0));
                /* LoadFloat k; Add|Sub|Mul (FLOAT_ARITH). */
                if (b.type == FVM_T_FLOAT)
                    check("float-k", op, a, b,
                          run_shape(VT_OPS(FVM_LOAD_CONST(0), FVM_LOAD_FLOAT(b.as.f), vt_op(op)),
                                    a, b, fu ? FVM_XOP_FLOAT_ARITH : 0, 1));
                if (!small(b))
                    continue;
                /* LoadInt k; Add|Sub|Mul (ARITH_INT). */
                check("int-k", op, a, b,
                      run_shape(VT_OPS(FVM_LOAD_CONST(0), FVM_LOAD_INT(b.as.i), vt_op(op)), a, b,
                                fu ? FVM_XOP_ARITH_INT : 0, 1));
                /* GetSlot; LoadInt k; Add|Sub|Mul (SLOT_ARITH_INT). */
                check("slot-int-k", op, a, b,
                      run_shape(VT_OPS(FVM_GET_SLOT(0), FVM_LOAD_INT(b.as.i), vt_op(op)), a, b,
                                fu ? FVM_XOP_SLOT_ARITH_INT : 0, 0));
                /* ... and SetSlot (SLOT_ARITH_SET). */
                check("slot-int-k-set", op, a, b,
                      run_shape(VT_OPS(FVM_GET_SLOT(0), FVM_LOAD_INT(b.as.i), vt_op(op),
                                       FVM_SET_SLOT(2), FVM_GET_SLOT(2)),
                                a, b, fu ? FVM_XOP_SLOT_ARITH_SET : 0, 0));
            }
        }
    }
}

/* A compare followed by a conditional jump leaves the outcome as a Bool:
 * ops 4.. are "LoadFalse; Jump end; LoadTrue" (JumpIfTrue) or the reverse. */
static fvm_value run_cmp_jump(fvm_op first, fvm_op second, unsigned op, bool if_true, fvm_value a,
                              fvm_value b, unsigned xop)
{
    fvm_op jump = if_true ? FVM_JUMP_IF_TRUE(6) : FVM_JUMP_IF_FALSE(6);
    fvm_op no = if_true ? FVM_LOAD_FALSE() : FVM_LOAD_TRUE();
    fvm_op yes = if_true ? FVM_LOAD_TRUE() : FVM_LOAD_FALSE();
    return run_shape(VT_OPS(first, second, vt_op(op), jump, no, FVM_JUMP(7), yes), a, b, xop,
                     xop == FVM_XOP_CMP_JUMP ? 2 : 0);
}

Test(float_paths, compare_every_shape)
{
    for (size_t k = 0; k < sizeof cmp_ops / sizeof cmp_ops[0]; k++) {
        unsigned op = cmp_ops[k];
        for (size_t i = 0; i < NNUMS; i++) {
            for (size_t j = 0; j < NNUMS; j++) {
                fvm_value a = nums[i], b = nums[j];
                check("plain", op, a, b,
                      run_shape(VT_OPS(FVM_LOAD_CONST(0), FVM_LOAD_CONST(1), vt_op(op)), a, b, 0,
                                0));
                for (int t = 0; t < 2; t++) {
                    /* NumXx; JumpIfTrue|JumpIfFalse (CMP_JUMP). */
                    check("cmp-jump", op, a, b,
                          run_cmp_jump(FVM_LOAD_CONST(0), FVM_LOAD_CONST(1), op, t, a, b,
                                       FVM_XOP_CMP_JUMP));
                    /* GetSlot; LoadInt k; NumXx; JumpIf.. (SLOT_CMP_JUMP). */
                    if (small(b))
                        check("slot-cmp-jump", op, a, b,
                              run_cmp_jump(FVM_GET_SLOT(0), FVM_LOAD_INT(b.as.i), op, t, a, b,
                                           FVM_XOP_SLOT_CMP_JUMP));
                }
            }
        }
    }
}

Test(float_paths, negate)
{
    for (size_t i = 0; i < NNUMS; i++)
        check("plain", FVM_OP_NEGATE, nums[i], fvm_int(0),
              run_shape(VT_OPS(FVM_LOAD_CONST(0), FVM_NEGATE()), nums[i], fvm_int(0), 0, 0));
}

/* The cases the task names, spelled out so a reader sees them. */
Test(float_paths, named_edge_cases)
{
    VT_EXPECT_UNDEF(VT_APPLY(FVM_DIV(), fvm_float(1.0), fvm_float(-0.0)));
    VT_EXPECT_UNDEF(VT_APPLY(FVM_DIV(), fvm_float(1.0), fvm_int(0)));
    VT_EXPECT_UNDEF(VT_APPLY(FVM_DIV(), fvm_int(1), fvm_float(0.0)));
    VT_EXPECT_UNDEF(VT_APPLY(FVM_DIV(), fvm_int(0), fvm_int(0)));
    VT_EXPECT_FLOAT(VT_APPLY(FVM_DIV(), fvm_int(7), fvm_int(2)), 3.5);
    VT_EXPECT_FLOAT(VT_APPLY(FVM_DIV(), fvm_float(-0.0), fvm_int(5)), -0.0);
    VT_EXPECT_FLOAT(VT_APPLY(FVM_NEGATE(), fvm_float(0.0)), -0.0);
    VT_EXPECT_FLOAT(VT_APPLY(FVM_ADD(), fvm_float(-0.0), fvm_float(-0.0)), -0.0);
    VT_EXPECT_FLOAT(VT_APPLY(FVM_ADD(), fvm_int(0), fvm_float(-0.0)), 0.0);
    VT_EXPECT_FLOAT(VT_APPLY(FVM_MUL(), fvm_int(-1), fvm_float(0.0)), -0.0);
    VT_EXPECT_FLOAT(VT_APPLY(FVM_SUB(), fvm_float(INFINITY), fvm_float(INFINITY)), NAN);
    VT_EXPECT_BOOL(VT_APPLY(FVM_NUM_EQ(), fvm_float(NAN), fvm_float(NAN)), false);
    VT_EXPECT_BOOL(VT_APPLY(FVM_NUM_NE(), fvm_float(NAN), fvm_int(0)), true);
    VT_EXPECT_BOOL(VT_APPLY(FVM_NUM_EQ(), fvm_float(-0.0), fvm_int(0)), true);
    VT_EXPECT_BOOL(VT_APPLY(FVM_LOG_NOT(), fvm_float(NAN)), false); /* NaN is truthy */
}
