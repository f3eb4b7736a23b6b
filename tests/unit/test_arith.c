/* Arithmetic, comparison, logic and bit ops (docs/OPS.md, "Arithmetic"
 * to "Logic and bits", "Arithmetic rules", "Missing operands"), including
 * the integer helpers upstream added after 0.13 and the always-float math
 * ops. Every expectation names the result's type and payload. */
#include <math.h>
#include "arith.h"
#include "vmtest.h"

#include <time.h>

#define BIN(op, a, b) VT_APPLY(op, a, b)
#define UN(op, a) VT_APPLY(op, a)

/* Run ops and compare the whole stack with the values given. */
#define EXPECT_PROGRAM_STACK(OPS, ...)                                                              \
    do {                                                                                            \
        vt t_;                                                                                      \
        vt_prog(&t_, OPS, VT_NONE, VT_NONE);                                                        \
        VT_EXPECT_STACK(&t_, __VA_ARGS__);                                                          \
        vt_close(&t_);                                                                              \
    } while (0)
#define EXPECT_PROGRAM_EMPTY(OPS)                                                                   \
    do {                                                                                            \
        vt t_;                                                                                      \
        vt_prog(&t_, OPS, VT_NONE, VT_NONE);                                                        \
        VT_EXPECT_STATUS_IS(&t_, FVM_RUN_HALTED);                                                   \
        VT_EXPECT_EMPTY(&t_);                                                                       \
        vt_close(&t_);                                                                              \
    } while (0)

/* ------------------------------------------------------------------------
 * Add, Sub, Mul, Negate, Inc, Dec
 * ------------------------------------------------------------------------ */

Test(arith, int_ops_wrap)
{
    VT_EXPECT_INT(BIN(FVM_ADD(), fvm_int(2), fvm_int(3)), 5);
    VT_EXPECT_INT(BIN(FVM_ADD(), fvm_int(INT64_MAX), fvm_int(1)), INT64_MIN);
    VT_EXPECT_INT(BIN(FVM_ADD(), fvm_int(INT64_MIN), fvm_int(-1)), INT64_MAX);
    VT_EXPECT_INT(BIN(FVM_SUB(), fvm_int(2), fvm_int(5)), -3);
    VT_EXPECT_INT(BIN(FVM_SUB(), fvm_int(INT64_MIN), fvm_int(1)), INT64_MAX);
    VT_EXPECT_INT(BIN(FVM_SUB(), fvm_int(0), fvm_int(INT64_MIN)), INT64_MIN);
    VT_EXPECT_INT(BIN(FVM_MUL(), fvm_int(-6), fvm_int(7)), -42);
    VT_EXPECT_INT(BIN(FVM_MUL(), fvm_int(INT64_MAX), fvm_int(2)), -2);
    VT_EXPECT_INT(BIN(FVM_MUL(), fvm_int(INT64_MIN), fvm_int(-1)), INT64_MIN);
    VT_EXPECT_INT(BIN(FVM_MUL(), fvm_int(1LL << 32), fvm_int(1LL << 32)), 0);
    VT_EXPECT_INT(UN(FVM_NEGATE(), fvm_int(5)), -5);
    VT_EXPECT_INT(UN(FVM_NEGATE(), fvm_int(INT64_MIN)), INT64_MIN);
    VT_EXPECT_INT(UN(FVM_INC(), fvm_int(41)), 42);
    VT_EXPECT_INT(UN(FVM_INC(), fvm_int(INT64_MAX)), INT64_MIN);
    VT_EXPECT_INT(UN(FVM_DEC(), fvm_int(INT64_MIN)), INT64_MAX);
    VT_EXPECT_INT(UN(FVM_DEC(), fvm_int(0)), -1);
}

Test(arith, mixed_operands_give_float)
{
    VT_EXPECT_FLOAT(BIN(FVM_ADD(), fvm_int(1), fvm_float(0.5)), 1.5);
    VT_EXPECT_FLOAT(BIN(FVM_ADD(), fvm_float(1.0), fvm_int(1)), 2.0);
    VT_EXPECT_FLOAT(BIN(FVM_ADD(), fvm_bool(true), fvm_int(1)), 2.0);
    VT_EXPECT_FLOAT(BIN(FVM_ADD(), fvm_cstr("3"), fvm_int(4)), 7.0);
    VT_EXPECT_FLOAT(BIN(FVM_ADD(), fvm_cstr("2.5"), fvm_int(1)), 3.5);
    VT_EXPECT_FLOAT(BIN(FVM_ADD(), fvm_cstr("abc"), fvm_int(1)), 1.0);
    VT_EXPECT_FLOAT(BIN(FVM_ADD(), fvm_undef(), fvm_undef()), 0.0);
    VT_EXPECT_FLOAT(BIN(FVM_ADD(), fvm_status(2), fvm_int(1)), 3.0);
    VT_EXPECT_FLOAT(BIN(FVM_ADD(), VT_ARRAY(fvm_int(1), fvm_int(2)), fvm_int(1)), 1.0); /* to_float(Array) = 0 */
    VT_EXPECT_FLOAT(BIN(FVM_ADD(), fvm_float(INFINITY), fvm_float(-INFINITY)), NAN);
    VT_EXPECT_FLOAT(BIN(FVM_ADD(), fvm_int(INT64_MAX), fvm_float(1.0)), 9223372036854775808.0);
    VT_EXPECT_FLOAT(BIN(FVM_SUB(), fvm_int(1), fvm_bool(false)), 1.0);
    VT_EXPECT_FLOAT(BIN(FVM_SUB(), fvm_float(0.0), fvm_float(0.0)), 0.0);
    VT_EXPECT_FLOAT(BIN(FVM_SUB(), fvm_float(-0.0), fvm_float(0.0)), -0.0);
    VT_EXPECT_FLOAT(BIN(FVM_MUL(), fvm_cstr("1e3"), fvm_int(2)), 2000.0);
    VT_EXPECT_FLOAT(BIN(FVM_MUL(), fvm_float(-0.0), fvm_int(5)), -0.0);
    VT_EXPECT_FLOAT(BIN(FVM_MUL(), fvm_float(INFINITY), fvm_int(0)), NAN);
}

Test(arith, negate_inc_dec_other_types)
{
    VT_EXPECT_FLOAT(UN(FVM_NEGATE(), fvm_float(0.0)), -0.0);
    VT_EXPECT_FLOAT(UN(FVM_NEGATE(), fvm_float(-2.5)), 2.5);
    VT_EXPECT_FLOAT(UN(FVM_NEGATE(), fvm_undef()), -0.0);
    VT_EXPECT_FLOAT(UN(FVM_NEGATE(), fvm_cstr("3")), -3.0);
    VT_EXPECT_FLOAT(UN(FVM_NEGATE(), fvm_bool(true)), -1.0);
    VT_EXPECT_FLOAT(UN(FVM_NEGATE(), fvm_float(NAN)), NAN);
    VT_EXPECT_INT(UN(FVM_INC(), fvm_float(2.5)), 3);
    VT_EXPECT_INT(UN(FVM_INC(), fvm_cstr("4.5")), 1); /* to_int("4.5") is 0 */
    VT_EXPECT_INT(UN(FVM_INC(), fvm_cstr("41")), 42);
    VT_EXPECT_INT(UN(FVM_INC(), fvm_undef()), 1);
    VT_EXPECT_INT(UN(FVM_INC(), fvm_bool(true)), 2);
    VT_EXPECT_INT(UN(FVM_INC(), VT_ARRAY(fvm_int(7), fvm_int(7))), 3); /* to_int is the length */
    VT_EXPECT_INT(UN(FVM_INC(), fvm_float(1e30)), INT64_MIN);           /* saturate, then wrap */
    VT_EXPECT_INT(UN(FVM_INC(), fvm_float(NAN)), 1);
    VT_EXPECT_INT(UN(FVM_DEC(), fvm_undef()), -1);
    VT_EXPECT_INT(UN(FVM_DEC(), fvm_float(-2.5)), -3);
    VT_EXPECT_INT(UN(FVM_DEC(), fvm_status(5)), 4);
}

/* Unary ops on an empty stack work on Undef. */
Test(arith, unary_on_empty_stack)
{
    VT_EXPECT_FLOAT(VT_APPLY0(FVM_NEGATE()), -0.0);
    VT_EXPECT_INT(VT_APPLY0(FVM_INC()), 1);
    VT_EXPECT_INT(VT_APPLY0(FVM_DEC()), -1);
    VT_EXPECT_BOOL(VT_APPLY0(FVM_LOG_NOT()), true);
    VT_EXPECT_INT(VT_APPLY0(FVM_BIT_NOT()), -1);
}

/* Add, Sub, Mul, Mod and the comparisons do nothing on a shallow stack. */
Test(arith, shallow_stack_no_ops)
{
    const fvm_op ops[] = {FVM_ADD(),    FVM_SUB(),    FVM_MUL(),    FVM_MOD(),
                          FVM_NUM_EQ(), FVM_NUM_NE(), FVM_NUM_LT(), FVM_NUM_GT(),
                          FVM_NUM_LE(), FVM_NUM_GE(), FVM_SPACESHIP()};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        vt t;
        vt_prog(&t, VT_OPS(FVM_LOAD_CONST(0), ops[i]), VT_VALS(fvm_cstr("lone")), VT_NONE);
        VT_EXPECT_STACK(&t, fvm_cstr("lone"));
        vt_close(&t);
        vt_prog(&t, VT_OPS(ops[i], ops[i]), VT_NONE, VT_NONE);
        cr_assert_eq(t.r.status, FVM_RUN_HALTED, "%s on an empty stack", fvm_op_name(ops[i].code));
        VT_EXPECT_EMPTY(&t);
        vt_close(&t);
    }
}

/* Only the top two values are used; the rest of the stack stays. */
Test(arith, binary_ops_leave_the_rest)
{
    EXPECT_PROGRAM_STACK(VT_OPS(FVM_LOAD_INT(9), FVM_LOAD_INT(1), FVM_LOAD_INT(2), FVM_SUB()), fvm_int(9),
                         fvm_int(-1));
    EXPECT_PROGRAM_STACK(VT_OPS(FVM_LOAD_INT(9), FVM_LOAD_INT(1), FVM_LOAD_FLOAT(2), FVM_SUB()),
                         fvm_int(9), fvm_float(-1.0));
}

/* ------------------------------------------------------------------------
 * Div, Mod, Pow
 * ------------------------------------------------------------------------ */

Test(arith, div_always_float)
{
    VT_EXPECT_FLOAT(BIN(FVM_DIV(), fvm_int(20), fvm_int(5)), 4.0);
    VT_EXPECT_FLOAT(BIN(FVM_DIV(), fvm_int(7), fvm_int(2)), 3.5);
    VT_EXPECT_FLOAT(BIN(FVM_DIV(), fvm_int(-7), fvm_int(2)), -3.5);
    VT_EXPECT_FLOAT(BIN(FVM_DIV(), fvm_int(INT64_MIN), fvm_int(-1)), 9223372036854775808.0);
    VT_EXPECT_FLOAT(BIN(FVM_DIV(), fvm_cstr("9"), fvm_cstr("0.5")), 18.0);
    VT_EXPECT_FLOAT(BIN(FVM_DIV(), fvm_int(-1), fvm_float(INFINITY)), -0.0);
    VT_EXPECT_FLOAT(BIN(FVM_DIV(), fvm_int(1), fvm_float(NAN)), NAN);
    VT_EXPECT_FLOAT(BIN(FVM_DIV(), fvm_float(INFINITY), fvm_float(INFINITY)), NAN);
}

Test(arith, div_by_zero_is_undef)
{
    VT_EXPECT_UNDEF(BIN(FVM_DIV(), fvm_int(1), fvm_int(0)));
    VT_EXPECT_UNDEF(BIN(FVM_DIV(), fvm_int(0), fvm_int(0)));
    VT_EXPECT_UNDEF(BIN(FVM_DIV(), fvm_int(1), fvm_float(0.0)));
    VT_EXPECT_UNDEF(BIN(FVM_DIV(), fvm_int(1), fvm_float(-0.0)));
    VT_EXPECT_UNDEF(BIN(FVM_DIV(), fvm_float(NAN), fvm_float(-0.0)));
    VT_EXPECT_UNDEF(BIN(FVM_DIV(), fvm_int(1), fvm_cstr("0")));
    VT_EXPECT_UNDEF(BIN(FVM_DIV(), fvm_int(1), fvm_cstr("x")));
    VT_EXPECT_UNDEF(BIN(FVM_DIV(), fvm_int(1), fvm_undef()));
    VT_EXPECT_UNDEF(BIN(FVM_DIV(), fvm_int(1), VT_ARRAY(fvm_int(1)))); /* to_float(Array) = 0 */
    VT_EXPECT_UNDEF(VT_APPLY0(FVM_DIV()));                              /* plain pops: Undef / Undef */
    VT_EXPECT_FLOAT(VT_APPLY(FVM_DIV(), fvm_int(5)), 0.0);              /* Undef / 5 */
}

Test(arith, mod_ints)
{
    VT_EXPECT_INT(BIN(FVM_MOD(), fvm_int(7), fvm_int(3)), 1);
    VT_EXPECT_INT(BIN(FVM_MOD(), fvm_int(-7), fvm_int(3)), -1);
    VT_EXPECT_INT(BIN(FVM_MOD(), fvm_int(7), fvm_int(-3)), 1);
    VT_EXPECT_INT(BIN(FVM_MOD(), fvm_int(-7), fvm_int(-3)), -1);
    VT_EXPECT_INT(BIN(FVM_MOD(), fvm_int(5), fvm_int(0)), 0);
    VT_EXPECT_INT(BIN(FVM_MOD(), fvm_int(INT64_MIN), fvm_int(-1)), 0);
    VT_EXPECT_INT(BIN(FVM_MOD(), fvm_int(INT64_MIN), fvm_int(1)), 0);
    VT_EXPECT_INT(BIN(FVM_MOD(), fvm_int(INT64_MIN), fvm_int(INT64_MAX)), -1);
    VT_EXPECT_INT(BIN(FVM_MOD(), fvm_int(INT64_MAX), fvm_int(INT64_MIN)), INT64_MAX);
    VT_EXPECT_INT(BIN(FVM_MOD(), fvm_int(5), fvm_int(-1)), 0);
}

Test(arith, mod_floats_fmod)
{
    VT_EXPECT_FLOAT(BIN(FVM_MOD(), fvm_float(7.5), fvm_int(2)), 1.5);
    VT_EXPECT_FLOAT(BIN(FVM_MOD(), fvm_float(-7.5), fvm_int(2)), -1.5);
    VT_EXPECT_FLOAT(BIN(FVM_MOD(), fvm_int(7), fvm_float(-2.5)), 2.0);
    VT_EXPECT_FLOAT(BIN(FVM_MOD(), fvm_float(5.0), fvm_int(0)), NAN);
    VT_EXPECT_FLOAT(BIN(FVM_MOD(), fvm_int(5), fvm_float(0.0)), NAN);
    VT_EXPECT_FLOAT(BIN(FVM_MOD(), fvm_cstr("7"), fvm_int(3)), 1.0);
    VT_EXPECT_FLOAT(BIN(FVM_MOD(), fvm_bool(true), fvm_int(2)), 1.0);
    VT_EXPECT_FLOAT(BIN(FVM_MOD(), fvm_float(-0.0), fvm_int(3)), -0.0);
    VT_EXPECT_FLOAT(BIN(FVM_MOD(), fvm_float(INFINITY), fvm_int(3)), NAN);
    VT_EXPECT_FLOAT(BIN(FVM_MOD(), fvm_int(3), fvm_float(INFINITY)), 3.0);
}

Test(arith, pow_always_float)
{
    VT_EXPECT_FLOAT(BIN(FVM_POW(), fvm_int(3), fvm_int(4)), 81.0);
    VT_EXPECT_FLOAT(BIN(FVM_POW(), fvm_int(2), fvm_int(-1)), 0.5);
    VT_EXPECT_FLOAT(BIN(FVM_POW(), fvm_int(0), fvm_int(-1)), INFINITY);
    VT_EXPECT_FLOAT(BIN(FVM_POW(), fvm_int(0), fvm_int(0)), 1.0);
    VT_EXPECT_FLOAT(BIN(FVM_POW(), fvm_int(2), fvm_int(64)), 18446744073709551616.0);
    VT_EXPECT_FLOAT(BIN(FVM_POW(), fvm_cstr("2"), fvm_int(10)), 1024.0);
    VT_EXPECT_FLOAT(BIN(FVM_POW(), fvm_int(-8), fvm_float(1.0 / 3.0)), NAN);
    VT_EXPECT_FLOAT(BIN(FVM_POW(), fvm_float(NAN), fvm_int(0)), 1.0);
    VT_EXPECT_FLOAT(VT_APPLY0(FVM_POW()), 1.0); /* Undef ** Undef = 0 ** 0 */
}

/* ------------------------------------------------------------------------
 * Numeric comparisons and Spaceship
 * ------------------------------------------------------------------------ */

static const uint16_t num_cmp_codes[6] = {FVM_OP_NUM_EQ, FVM_OP_NUM_NE, FVM_OP_NUM_LT,
                                          FVM_OP_NUM_GT, FVM_OP_NUM_LE, FVM_OP_NUM_GE};

/* Expect the six comparisons of a and b to give eq ne lt gt le ge. */
static void expect_num_cmp(fvm_value a, fvm_value b, const char *want)
{
    for (int i = 0; i < 6; i++) {
        fvm_value r = BIN(vt_op(num_cmp_codes[i]), fvm_value_copy(a), fvm_value_copy(b));
        cr_assert(r.type == FVM_T_BOOL && r.as.b == (want[i] == '1'), "%s(%s, %s) gave %s",
                  fvm_op_name(num_cmp_codes[i]), vt_describe(a), vt_describe(b), vt_describe(r));
    }
    fvm_value_drop(a);
    fvm_value_drop(b);
}

Test(arith, num_compare_ints_exact)
{
    /*                                          eq ne lt gt le ge */
    expect_num_cmp(fvm_int(1), fvm_int(2), "011010");
    expect_num_cmp(fvm_int(2), fvm_int(2), "100011");
    expect_num_cmp(fvm_int(3), fvm_int(2), "010101");
    expect_num_cmp(fvm_int(INT64_MIN), fvm_int(INT64_MAX), "011010");
    /* 2^53 + 1 and 2^53 differ as Ints but not as doubles. */
    expect_num_cmp(fvm_int((1LL << 53) + 1), fvm_int(1LL << 53), "010101");
    expect_num_cmp(fvm_int((1LL << 53) + 1), fvm_float(9007199254740992.0), "100011");
    expect_num_cmp(fvm_int(INT64_MAX), fvm_int(INT64_MAX - 1), "010101");
}

Test(arith, num_compare_nan_and_inf)
{
    expect_num_cmp(fvm_float(NAN), fvm_int(1), "010000");
    expect_num_cmp(fvm_int(1), fvm_float(NAN), "010000");
    expect_num_cmp(fvm_float(NAN), fvm_float(NAN), "010000");
    expect_num_cmp(fvm_cstr("nan"), fvm_int(0), "010000");
    expect_num_cmp(fvm_float(INFINITY), fvm_int(INT64_MAX), "010101");
    expect_num_cmp(fvm_float(-INFINITY), fvm_int(INT64_MIN), "011010");
    expect_num_cmp(fvm_float(INFINITY), fvm_float(INFINITY), "100011");
    expect_num_cmp(fvm_float(-INFINITY), fvm_float(INFINITY), "011010");
    expect_num_cmp(fvm_float(-0.0), fvm_float(0.0), "100011");
}

Test(arith, num_compare_coerces)
{
    expect_num_cmp(fvm_cstr("10"), fvm_int(9), "010101");
    expect_num_cmp(fvm_cstr("abc"), fvm_int(0), "100011");
    expect_num_cmp(fvm_undef(), fvm_int(0), "100011");
    expect_num_cmp(fvm_bool(true), fvm_int(1), "100011");
    expect_num_cmp(fvm_status(1), fvm_float(0.5), "010101");
    expect_num_cmp(fvm_cstr("1.5"), fvm_cstr("1.50"), "100011");
    expect_num_cmp(VT_ARRAY(fvm_int(1)), fvm_int(0), "100011"); /* to_float(Array) = 0 */
}

Test(arith, spaceship)
{
    VT_EXPECT_INT(BIN(FVM_SPACESHIP(), fvm_int(1), fvm_int(2)), -1);
    VT_EXPECT_INT(BIN(FVM_SPACESHIP(), fvm_int(2), fvm_int(2)), 0);
    VT_EXPECT_INT(BIN(FVM_SPACESHIP(), fvm_int(3), fvm_int(2)), 1);
    VT_EXPECT_INT(BIN(FVM_SPACESHIP(), fvm_int(INT64_MIN), fvm_int(INT64_MAX)), -1);
    VT_EXPECT_INT(BIN(FVM_SPACESHIP(), fvm_int((1LL << 53) + 1), fvm_int(1LL << 53)), 1);
    VT_EXPECT_INT(BIN(FVM_SPACESHIP(), fvm_float(NAN), fvm_int(1)), 0);
    VT_EXPECT_INT(BIN(FVM_SPACESHIP(), fvm_int(1), fvm_float(NAN)), 0);
    VT_EXPECT_INT(BIN(FVM_SPACESHIP(), fvm_float(NAN), fvm_float(NAN)), 0);
    VT_EXPECT_INT(BIN(FVM_SPACESHIP(), fvm_float(INFINITY), fvm_int(1)), 1);
    VT_EXPECT_INT(BIN(FVM_SPACESHIP(), fvm_float(-INFINITY), fvm_int(INT64_MIN)), -1);
    VT_EXPECT_INT(BIN(FVM_SPACESHIP(), fvm_float(2.5), fvm_int(2)), 1);
    VT_EXPECT_INT(BIN(FVM_SPACESHIP(), fvm_cstr("b"), fvm_cstr("a")), 0); /* both 0.0 */
}

/* ------------------------------------------------------------------------
 * String comparisons
 * ------------------------------------------------------------------------ */

static const uint16_t str_cmp_codes[6] = {FVM_OP_STR_EQ, FVM_OP_STR_NE, FVM_OP_STR_LT,
                                          FVM_OP_STR_GT, FVM_OP_STR_LE, FVM_OP_STR_GE};

/* The six string comparisons as for expect_num_cmp, plus StrCmp. */
static void expect_str_cmp(fvm_value a, fvm_value b, const char *want, int64_t cmp)
{
    for (int i = 0; i < 6; i++) {
        fvm_value r = BIN(vt_op(str_cmp_codes[i]), fvm_value_copy(a), fvm_value_copy(b));
        cr_assert(r.type == FVM_T_BOOL && r.as.b == (want[i] == '1'), "%s(%s, %s) gave %s",
                  fvm_op_name(str_cmp_codes[i]), vt_describe(a), vt_describe(b), vt_describe(r));
    }
    VT_EXPECT_INT(BIN(FVM_STR_CMP(), fvm_value_copy(a), fvm_value_copy(b)), cmp);
    fvm_value_drop(a);
    fvm_value_drop(b);
}

Test(arith, str_compare_bytewise)
{
    /*                                                    eq ne lt gt le ge */
    expect_str_cmp(fvm_cstr("B"), fvm_cstr("a"), "011010", -1);
    expect_str_cmp(fvm_cstr("a"), fvm_cstr("B"), "010101", 1);
    expect_str_cmp(fvm_cstr("abc"), fvm_cstr("abc"), "100011", 0);
    expect_str_cmp(fvm_cstr("abc"), fvm_cstr("abd"), "011010", -1);
    expect_str_cmp(fvm_cstr("a"), fvm_cstr("z"), "011010", -1); /* -1, not the byte distance */
    expect_str_cmp(fvm_cstr("ab"), fvm_cstr("abc"), "011010", -1);
    expect_str_cmp(fvm_cstr(""), fvm_cstr("a"), "011010", -1);
    expect_str_cmp(fvm_cstr("\xff"), fvm_cstr("a"), "010101", 1); /* unsigned bytes */
    expect_str_cmp(fvm_cstr("\xc3\xa9"), fvm_cstr("z"), "010101", 1);
    expect_str_cmp(fvm_str("a\0b", 3), fvm_cstr("a"), "010101", 1);
    expect_str_cmp(fvm_str("a\0b", 3), fvm_str("a\0c", 3), "011010", -1);
}

Test(arith, str_compare_string_forms)
{
    expect_str_cmp(fvm_int(10), fvm_int(9), "011010", -1); /* "10" < "9" */
    expect_str_cmp(fvm_float(4.0), fvm_cstr("4"), "100011", 0);
    expect_str_cmp(fvm_undef(), fvm_cstr(""), "100011", 0);
    expect_str_cmp(fvm_bool(false), fvm_undef(), "100011", 0);
    expect_str_cmp(fvm_bool(true), fvm_int(1), "100011", 0);
    expect_str_cmp(VT_ARRAY(fvm_int(1), fvm_int(2)), fvm_cstr("1 2"), "100011", 0);
    expect_str_cmp(fvm_hash_new(), fvm_cstr("(hash)"), "100011", 0);
    /* Plain pops: on an empty stack both sides are "". */
    VT_EXPECT_BOOL(VT_APPLY0(FVM_STR_EQ()), true);
    VT_EXPECT_INT(VT_APPLY0(FVM_STR_CMP()), 0);
    VT_EXPECT_BOOL(VT_APPLY(FVM_STR_LT(), fvm_cstr("x")), true); /* Undef "" < "x" */
}

/* ------------------------------------------------------------------------
 * Logic and bits
 * ------------------------------------------------------------------------ */

Test(arith, logical_ops_no_short_circuit)
{
    VT_EXPECT_BOOL(BIN(FVM_LOG_AND(), fvm_int(1), fvm_cstr("x")), true);
    VT_EXPECT_BOOL(BIN(FVM_LOG_AND(), fvm_int(0), fvm_cstr("x")), false);
    VT_EXPECT_BOOL(BIN(FVM_LOG_AND(), fvm_int(1), fvm_cstr("0")), false);
    VT_EXPECT_BOOL(BIN(FVM_LOG_AND(), fvm_float(NAN), fvm_status(0)), true);
    VT_EXPECT_BOOL(BIN(FVM_LOG_OR(), fvm_int(0), fvm_cstr("")), false);
    VT_EXPECT_BOOL(BIN(FVM_LOG_OR(), fvm_int(0), fvm_cstr("a")), true);
    VT_EXPECT_BOOL(BIN(FVM_LOG_OR(), fvm_float(-0.0), fvm_status(1)), false);
    VT_EXPECT_BOOL(UN(FVM_LOG_NOT(), fvm_cstr("0.0")), false);
    VT_EXPECT_BOOL(UN(FVM_LOG_NOT(), fvm_int(0)), true);
    /* Both operands are consumed whatever the first one is. */
    EXPECT_PROGRAM_STACK(VT_OPS(FVM_LOAD_INT(7), FVM_LOAD_INT(0), FVM_LOAD_INT(1), FVM_LOG_AND()),
                         fvm_int(7), fvm_bool(false));
    EXPECT_PROGRAM_STACK(VT_OPS(FVM_LOAD_INT(7), FVM_LOAD_INT(1), FVM_LOAD_INT(0), FVM_LOG_OR()),
                         fvm_int(7), fvm_bool(true));
    VT_EXPECT_BOOL(VT_APPLY0(FVM_LOG_OR()), false);
}

Test(arith, ruby_truthy)
{
    VT_EXPECT_BOOL(UN(FVM_RUBY_TRUTHY(), fvm_undef()), false);
    VT_EXPECT_BOOL(UN(FVM_RUBY_TRUTHY(), fvm_bool(false)), false);
    VT_EXPECT_BOOL(UN(FVM_RUBY_TRUTHY(), fvm_bool(true)), true);
    VT_EXPECT_BOOL(UN(FVM_RUBY_TRUTHY(), fvm_int(0)), true);
    VT_EXPECT_BOOL(UN(FVM_RUBY_TRUTHY(), fvm_float(0.0)), true);
    VT_EXPECT_BOOL(UN(FVM_RUBY_TRUTHY(), fvm_cstr("")), true);
    VT_EXPECT_BOOL(UN(FVM_RUBY_TRUTHY(), fvm_cstr("0")), true);
    VT_EXPECT_BOOL(UN(FVM_RUBY_TRUTHY(), fvm_array_new()), true);
    VT_EXPECT_BOOL(UN(FVM_RUBY_TRUTHY(), fvm_hash_new()), true);
    VT_EXPECT_BOOL(UN(FVM_RUBY_TRUTHY(), fvm_status(1)), true);
    VT_EXPECT_BOOL(VT_APPLY0(FVM_RUBY_TRUTHY()), false);
}

Test(arith, bitwise)
{
    VT_EXPECT_INT(BIN(FVM_BIT_AND(), fvm_int(12), fvm_int(10)), 8);
    VT_EXPECT_INT(BIN(FVM_BIT_OR(), fvm_int(12), fvm_int(10)), 14);
    VT_EXPECT_INT(BIN(FVM_BIT_XOR(), fvm_int(12), fvm_int(10)), 6);
    VT_EXPECT_INT(BIN(FVM_BIT_AND(), fvm_int(-1), fvm_int(INT64_MIN)), INT64_MIN);
    VT_EXPECT_INT(UN(FVM_BIT_NOT(), fvm_int(0)), -1);
    VT_EXPECT_INT(UN(FVM_BIT_NOT(), fvm_int(INT64_MAX)), INT64_MIN);
    /* Operands go through to_int. */
    VT_EXPECT_INT(UN(FVM_BIT_NOT(), fvm_float(2.5)), -3);
    VT_EXPECT_INT(BIN(FVM_BIT_AND(), fvm_cstr("12"), fvm_int(10)), 8);
    VT_EXPECT_INT(BIN(FVM_BIT_AND(), fvm_cstr("1.5"), fvm_int(1)), 0);
    VT_EXPECT_INT(BIN(FVM_BIT_AND(), fvm_float(-1.5), fvm_int(255)), 255);
    VT_EXPECT_INT(BIN(FVM_BIT_OR(), fvm_bool(true), fvm_float(NAN)), 1);
    VT_EXPECT_INT(BIN(FVM_BIT_XOR(), VT_ARRAY(fvm_int(0), fvm_int(0), fvm_int(0)), fvm_int(1)), 2);
    VT_EXPECT_INT(BIN(FVM_BIT_OR(), fvm_float(1e30), fvm_int(0)), INT64_MAX);
}

Test(arith, shifts_mask_the_count)
{
    VT_EXPECT_INT(BIN(FVM_SHL(), fvm_int(1), fvm_int(3)), 8);
    VT_EXPECT_INT(BIN(FVM_SHL(), fvm_int(1), fvm_int(64 + 3)), 8);
    VT_EXPECT_INT(BIN(FVM_SHL(), fvm_int(1), fvm_int(-1)), INT64_MIN); /* by 63 */
    VT_EXPECT_INT(BIN(FVM_SHL(), fvm_int(3), fvm_int(63)), INT64_MIN); /* bits shifted out are lost */
    VT_EXPECT_INT(BIN(FVM_SHL(), fvm_int(-1), fvm_int(1)), -2);
    VT_EXPECT_INT(BIN(FVM_SHL(), fvm_int(5), fvm_int(64)), 5);
    VT_EXPECT_INT(BIN(FVM_SHL(), fvm_int(1), fvm_int(INT64_MIN)), 1);
    VT_EXPECT_INT(BIN(FVM_SHL(), fvm_int(1), fvm_float(3.9)), 8);
    VT_EXPECT_INT(BIN(FVM_SHR(), fvm_int(-16), fvm_int(2)), -4); /* arithmetic */
    VT_EXPECT_INT(BIN(FVM_SHR(), fvm_int(INT64_MIN), fvm_int(63)), -1);
    VT_EXPECT_INT(BIN(FVM_SHR(), fvm_int(16), fvm_int(64)), 16);
    VT_EXPECT_INT(BIN(FVM_SHR(), fvm_int(16), fvm_int(-1)), 0);
    VT_EXPECT_INT(BIN(FVM_SHR(), fvm_int(-1), fvm_int(-1)), -1);
    VT_EXPECT_INT(BIN(FVM_SHR(), fvm_int(256), fvm_int(64 + 4)), 16);
}

/* ------------------------------------------------------------------------
 * HEAD integer helpers
 * ------------------------------------------------------------------------ */

#define MMF(a, b, k) VT_APPLY(FVM_MUL_MOD_FLOOR(), a, b, k)
#define MAMF(a, b, c, k) VT_APPLY(FVM_MUL_ADD_MOD_FLOOR(), a, b, c, k)

Test(arith, mul_mod_floor_ints)
{
    VT_EXPECT_INT(MMF(fvm_int(7), fvm_int(3), fvm_int(5)), 1);
    VT_EXPECT_INT(MMF(fvm_int(-7), fvm_int(3), fvm_int(5)), 4);  /* floored: sign of k */
    VT_EXPECT_INT(MMF(fvm_int(7), fvm_int(3), fvm_int(-5)), -4);
    VT_EXPECT_INT(MMF(fvm_int(-7), fvm_int(3), fvm_int(-5)), -1);
    VT_EXPECT_INT(MMF(fvm_int(7), fvm_int(5), fvm_int(5)), 0);
    VT_EXPECT_INT(MMF(fvm_int(7), fvm_int(3), fvm_int(0)), 0);
    VT_EXPECT_INT(MMF(fvm_int(7), fvm_int(3), fvm_int(-1)), 0);
    /* The product is taken in 128 bits. */
    VT_EXPECT_INT(MMF(fvm_int(INT64_MAX), fvm_int(INT64_MAX), fvm_int(1000000007)), 737564071);
    VT_EXPECT_INT(MMF(fvm_int(INT64_MIN), fvm_int(-1), fvm_int(7)), 1);
    VT_EXPECT_INT(MMF(fvm_int(INT64_MIN), fvm_int(INT64_MIN), fvm_int(-3)), -2);
    VT_EXPECT_INT(MMF(fvm_int(INT64_MIN), fvm_int(INT64_MAX), fvm_int(-1000000007)), -28736067);
    VT_EXPECT_INT(MMF(fvm_int(INT64_MIN), fvm_int(1), fvm_int(INT64_MIN)), 0);
    VT_EXPECT_INT(MMF(fvm_int(-1), fvm_int(1), fvm_int(INT64_MIN)), -1);
    VT_EXPECT_INT(MMF(fvm_int(1), fvm_int(1), fvm_int(INT64_MIN)), INT64_MIN + 1);
}

Test(arith, mul_add_mod_floor_ints)
{
    VT_EXPECT_INT(MAMF(fvm_int(3), fvm_int(4), fvm_int(5), fvm_int(7)), 3);
    VT_EXPECT_INT(MAMF(fvm_int(3), fvm_int(4), fvm_int(-20), fvm_int(7)), 6);
    VT_EXPECT_INT(MAMF(fvm_int(3), fvm_int(4), fvm_int(5), fvm_int(-7)), -4);
    VT_EXPECT_INT(MAMF(fvm_int(3), fvm_int(4), fvm_int(5), fvm_int(0)), 0);
    VT_EXPECT_INT(MAMF(fvm_int(INT64_MAX), fvm_int(INT64_MAX), fvm_int(INT64_MAX), fvm_int(1000000007)),
                  28736067);
    VT_EXPECT_INT(MAMF(fvm_int(INT64_MIN), fvm_int(INT64_MAX), fvm_int(INT64_MIN), fvm_int(999999937)),
                  127024771);
}

/* Non-Int operands replay Mul (Add) and Mod on values; the remainder is
 * floor-corrected only for an Int or a Bool divisor, as upstream 0.17's
 * code does. */
Test(arith, mod_floor_non_int_replay)
{
    VT_EXPECT_FLOAT(MMF(fvm_float(2.5), fvm_int(4), fvm_int(3)), 1.0);
    VT_EXPECT_FLOAT(MMF(fvm_float(-2.5), fvm_int(4), fvm_int(3)), 2.0);
    VT_EXPECT_FLOAT(MMF(fvm_float(2.5), fvm_int(4), fvm_int(-3)), -2.0);
    VT_EXPECT_FLOAT(MMF(fvm_int(7), fvm_int(3), fvm_float(5.0)), 1.0);
    VT_EXPECT_FLOAT(MMF(fvm_int(-7), fvm_int(3), fvm_float(5.0)), -1.0); /* Float divisor: fmod as is */
    VT_EXPECT_FLOAT(MMF(fvm_int(-7), fvm_int(3), fvm_status(5)), -1.0); /* Status: as is */
    VT_EXPECT_FLOAT(MMF(fvm_cstr("3"), fvm_int(4), fvm_int(5)), 2.0);
    VT_EXPECT_FLOAT(MMF(fvm_float(2.0), fvm_int(3), fvm_int(0)), NAN); /* fmod(6, 0) */
    VT_EXPECT_FLOAT(MAMF(fvm_float(1.5), fvm_int(2), fvm_int(1), fvm_int(3)), 1.0);
    VT_EXPECT_FLOAT(MAMF(fvm_int(3), fvm_int(4), fvm_float(-20.0), fvm_int(7)), 6.0);
    VT_EXPECT_FLOAT(MAMF(fvm_int(3), fvm_int(4), fvm_int(5), fvm_bool(true)), 0.0);
    /* With an integer divisor a zero remainder comes back as +0.0, whatever
     * its sign before the correction; with a Float divisor it stays as is. */
    fvm_value z = MMF(fvm_int(0), fvm_float(-1.0), fvm_int(5));
    cr_assert(z.type == FVM_T_FLOAT && z.as.f == 0.0 && !signbit(z.as.f));
    z = MAMF(fvm_float(0.0), fvm_int(1), fvm_float(0.0), fvm_int(-1));
    cr_assert(z.type == FVM_T_FLOAT && z.as.f == 0.0 && !signbit(z.as.f));
    z = MMF(fvm_int(0), fvm_float(-1.0), fvm_float(5.0));
    cr_assert(z.type == FVM_T_FLOAT && z.as.f == 0.0 && signbit(z.as.f));
}

/* Every kind of divisor, on the remainder of -2.1 (a Float operand makes
 * the op replay Mul and Mod): only Int and Bool correct it. */
Test(arith, mod_floor_correction_by_divisor_kind)
{
    fvm_value a = fvm_float(-0.7), b = fvm_int(3);
    VT_EXPECT_FLOAT(MMF(a, b, fvm_int(5)), fmod(-0.7 * 3, 5.0) + 5.0);
    VT_EXPECT_FLOAT(MMF(a, b, fvm_int(-5)), fmod(-0.7 * 3, -5.0));
    VT_EXPECT_FLOAT(MMF(a, b, fvm_bool(true)), fmod(-0.7 * 3, 1.0) + 1.0);
    VT_EXPECT_FLOAT(MMF(a, b, fvm_status(5)), fmod(-0.7 * 3, 5.0));
    VT_EXPECT_FLOAT(MMF(a, b, fvm_float(5.0)), fmod(-0.7 * 3, 5.0));
    VT_EXPECT_FLOAT(MMF(a, b, fvm_cstr("5")), fmod(-0.7 * 3, 5.0));
    /* A zero divisor of any kind leaves Mod's answer (false is 0). */
    fvm_value mod_false = fvm_arith_mod(fvm_arith_mul(a, b), fvm_bool(false));
    fvm_value got = MMF(a, b, fvm_bool(false));
    cr_assert_eq(got.type, mod_false.type);
    fvm_value mod_undef = fvm_arith_mod(fvm_arith_mul(a, b), fvm_undef());
    got = MMF(a, b, fvm_undef());
    cr_assert_eq(got.type, mod_undef.type);
    /* Upstream's own answers: -1 * 0.1 mod true is 0.9; with a Status
     * divisor the truncated remainder -1 stays. */
    VT_EXPECT_FLOAT(MMF(fvm_int(-1), fvm_float(0.1), fvm_bool(true)), 0.9);
    VT_EXPECT_FLOAT(MAMF(fvm_float(3.0), fvm_undef(), fvm_int(-1), fvm_status(255)), -1.0);
    /* An Int remainder with a Bool divisor: -5 mod true is 0, not moved. */
    fvm_value z = MAMF(fvm_float(1.0), fvm_int(-5), fvm_int(0), fvm_bool(true));
    cr_assert(z.type == FVM_T_FLOAT && z.as.f == 0.0 && !signbit(z.as.f));
}

Test(arith, abs_gcd_lcm)
{
    VT_EXPECT_INT(UN(FVM_ABS_INT(), fvm_int(-5)), 5);
    VT_EXPECT_INT(UN(FVM_ABS_INT(), fvm_int(5)), 5);
    VT_EXPECT_INT(UN(FVM_ABS_INT(), fvm_int(INT64_MIN)), INT64_MIN);
    VT_EXPECT_INT(UN(FVM_ABS_INT(), fvm_float(-2.7)), 2);
    VT_EXPECT_INT(UN(FVM_ABS_INT(), fvm_cstr("-3")), 3);
    VT_EXPECT_INT(UN(FVM_ABS_INT(), fvm_undef()), 0);
    VT_EXPECT_INT(BIN(FVM_GCD_INT(), fvm_int(12), fvm_int(18)), 6);
    VT_EXPECT_INT(BIN(FVM_GCD_INT(), fvm_int(-12), fvm_int(18)), 6);
    VT_EXPECT_INT(BIN(FVM_GCD_INT(), fvm_int(12), fvm_int(-18)), 6);
    VT_EXPECT_INT(BIN(FVM_GCD_INT(), fvm_int(0), fvm_int(0)), 0);
    VT_EXPECT_INT(BIN(FVM_GCD_INT(), fvm_int(0), fvm_int(-5)), 5);
    VT_EXPECT_INT(BIN(FVM_GCD_INT(), fvm_int(INT64_MIN), fvm_int(6)), 2);
    VT_EXPECT_INT(BIN(FVM_GCD_INT(), fvm_float(12.9), fvm_cstr("18")), 6);
    VT_EXPECT_INT(BIN(FVM_LCM_INT(), fvm_int(4), fvm_int(6)), 12);
    VT_EXPECT_INT(BIN(FVM_LCM_INT(), fvm_int(-4), fvm_int(6)), 12);
    VT_EXPECT_INT(BIN(FVM_LCM_INT(), fvm_int(0), fvm_int(5)), 0);
    VT_EXPECT_INT(BIN(FVM_LCM_INT(), fvm_int(5), fvm_int(0)), 0);
    VT_EXPECT_INT(BIN(FVM_LCM_INT(), fvm_int(INT64_MAX), fvm_int(INT64_MAX - 1)), INT64_MAX);
    VT_EXPECT_INT(BIN(FVM_LCM_INT(), fvm_int(1LL << 62), fvm_int(3)), INT64_MAX);
    VT_EXPECT_INT(BIN(FVM_LCM_INT(), fvm_int(INT64_MIN), fvm_int(1)), INT64_MAX);
    VT_EXPECT_INT(BIN(FVM_LCM_INT(), fvm_int(1LL << 62), fvm_int(2)), 1LL << 62);
}

/* ------------------------------------------------------------------------
 * Always-float math
 * ------------------------------------------------------------------------ */

Test(arith, always_float_math)
{
    VT_EXPECT_FLOAT(BIN(FVM_POW_FLOAT(), fvm_int(2), fvm_int(10)), 1024.0);
    VT_EXPECT_FLOAT(BIN(FVM_POW_FLOAT(), fvm_int(0), fvm_int(-1)), INFINITY);
    VT_EXPECT_FLOAT(UN(FVM_SQRT_FLOAT(), fvm_int(16)), 4.0);
    VT_EXPECT_FLOAT(UN(FVM_SQRT_FLOAT(), fvm_int(2)), sqrt(2.0));
    VT_EXPECT_FLOAT(UN(FVM_SQRT_FLOAT(), fvm_int(-1)), NAN);
    VT_EXPECT_FLOAT(UN(FVM_SQRT_FLOAT(), fvm_cstr("2.25")), 1.5);
    VT_EXPECT_FLOAT(UN(FVM_SIN_FLOAT(), fvm_int(0)), 0.0);
    VT_EXPECT_FLOAT(UN(FVM_SIN_FLOAT(), fvm_float(1.0)), sin(1.0));
    VT_EXPECT_FLOAT(UN(FVM_COS_FLOAT(), fvm_int(0)), 1.0);
    VT_EXPECT_FLOAT(UN(FVM_EXP_FLOAT(), fvm_int(0)), 1.0);
    VT_EXPECT_FLOAT(UN(FVM_EXP_FLOAT(), fvm_int(1)), exp(1.0));
    VT_EXPECT_FLOAT(BIN(FVM_ATAN2_FLOAT(), fvm_int(1), fvm_int(0)), atan2(1.0, 0.0)); /* x on top */
    VT_EXPECT_FLOAT(BIN(FVM_ATAN2_FLOAT(), fvm_int(0), fvm_int(-1)), atan2(0.0, -1.0));
    VT_EXPECT_FLOAT(BIN(FVM_ATAN2_FLOAT(), fvm_int(-1), fvm_int(0)), -atan2(1.0, 0.0));
    VT_EXPECT_FLOAT(UN(FVM_LOG_FLOAT(), fvm_int(0)), -INFINITY);
    VT_EXPECT_FLOAT(UN(FVM_LOG_FLOAT(), fvm_int(1)), 0.0);
    VT_EXPECT_FLOAT(UN(FVM_LOG_FLOAT(), fvm_int(-1)), NAN);
    VT_EXPECT_FLOAT(UN(FVM_ABS_FLOAT(), fvm_int(-3)), 3.0);
    VT_EXPECT_FLOAT(UN(FVM_ABS_FLOAT(), fvm_float(-0.0)), 0.0);
    VT_EXPECT_FLOAT(UN(FVM_ABS_FLOAT(), fvm_float(-INFINITY)), INFINITY);
    VT_EXPECT_FLOAT(UN(FVM_SQRT_FLOAT(), fvm_undef()), 0.0);
}

Test(arith, trunc_int)
{
    VT_EXPECT_INT(UN(FVM_TRUNC_INT(), fvm_float(2.7)), 2);
    VT_EXPECT_INT(UN(FVM_TRUNC_INT(), fvm_float(-2.7)), -2);
    VT_EXPECT_INT(UN(FVM_TRUNC_INT(), fvm_float(NAN)), 0);
    VT_EXPECT_INT(UN(FVM_TRUNC_INT(), fvm_float(INFINITY)), INT64_MAX);
    VT_EXPECT_INT(UN(FVM_TRUNC_INT(), fvm_float(-INFINITY)), INT64_MIN);
    VT_EXPECT_INT(UN(FVM_TRUNC_INT(), fvm_cstr("4.7")), 0);
    VT_EXPECT_INT(UN(FVM_TRUNC_INT(), fvm_cstr("47")), 47);
    VT_EXPECT_INT(UN(FVM_TRUNC_INT(), fvm_int(INT64_MIN)), INT64_MIN);
}

Test(arith, head_unary_float_math)
{
    VT_EXPECT_FLOAT(UN(FVM_CEIL_FLOAT(), fvm_float(1.2)), 2.0);
    VT_EXPECT_FLOAT(UN(FVM_CEIL_FLOAT(), fvm_float(-1.5)), -1.0);
    VT_EXPECT_FLOAT(UN(FVM_CEIL_FLOAT(), fvm_float(-0.5)), -0.0);
    VT_EXPECT_FLOAT(UN(FVM_FLOOR_FLOAT(), fvm_float(-1.5)), -2.0);
    VT_EXPECT_FLOAT(UN(FVM_FLOOR_FLOAT(), fvm_int(3)), 3.0);
    VT_EXPECT_FLOAT(UN(FVM_TRUNC_FLOAT(), fvm_float(-1.7)), -1.0);
    VT_EXPECT_FLOAT(UN(FVM_TRUNC_FLOAT(), fvm_float(1e300)), 1e300);
    VT_EXPECT_FLOAT(UN(FVM_TAN_FLOAT(), fvm_int(0)), 0.0);
    VT_EXPECT_FLOAT(UN(FVM_TAN_FLOAT(), fvm_int(1)), tan(1.0));
    VT_EXPECT_FLOAT(UN(FVM_ASIN_FLOAT(), fvm_int(1)), asin(1.0));
    VT_EXPECT_FLOAT(UN(FVM_ASIN_FLOAT(), fvm_int(2)), NAN);
    VT_EXPECT_FLOAT(UN(FVM_ACOS_FLOAT(), fvm_int(1)), 0.0);
    VT_EXPECT_FLOAT(UN(FVM_ATAN_FLOAT(), fvm_int(1)), atan(1.0));
    VT_EXPECT_FLOAT(UN(FVM_SINH_FLOAT(), fvm_int(0)), 0.0);
    VT_EXPECT_FLOAT(UN(FVM_COSH_FLOAT(), fvm_int(0)), 1.0);
    VT_EXPECT_FLOAT(UN(FVM_TANH_FLOAT(), fvm_float(INFINITY)), 1.0);
    VT_EXPECT_FLOAT(UN(FVM_LOG2_FLOAT(), fvm_int(8)), 3.0);
    VT_EXPECT_FLOAT(UN(FVM_LOG2_FLOAT(), fvm_int(0)), -INFINITY);
    VT_EXPECT_FLOAT(UN(FVM_LOG10_FLOAT(), fvm_int(1000)), 3.0);
    VT_EXPECT_FLOAT(UN(FVM_LOG10_FLOAT(), fvm_int(-1)), NAN);
}

Test(arith, round_float_ties_to_even)
{
    VT_EXPECT_FLOAT(UN(FVM_ROUND_FLOAT(), fvm_float(0.5)), 0.0);
    VT_EXPECT_FLOAT(UN(FVM_ROUND_FLOAT(), fvm_float(1.5)), 2.0);
    VT_EXPECT_FLOAT(UN(FVM_ROUND_FLOAT(), fvm_float(2.5)), 2.0);
    VT_EXPECT_FLOAT(UN(FVM_ROUND_FLOAT(), fvm_float(3.5)), 4.0);
    VT_EXPECT_FLOAT(UN(FVM_ROUND_FLOAT(), fvm_float(-0.5)), -0.0);
    VT_EXPECT_FLOAT(UN(FVM_ROUND_FLOAT(), fvm_float(-1.5)), -2.0);
    VT_EXPECT_FLOAT(UN(FVM_ROUND_FLOAT(), fvm_float(-2.5)), -2.0);
    VT_EXPECT_FLOAT(UN(FVM_ROUND_FLOAT(), fvm_float(2.6)), 3.0);
    VT_EXPECT_FLOAT(UN(FVM_ROUND_FLOAT(), fvm_float(2.4999999999999996)), 2.0);
    VT_EXPECT_FLOAT(UN(FVM_ROUND_FLOAT(), fvm_int(3)), 3.0);
    VT_EXPECT_FLOAT(UN(FVM_ROUND_FLOAT(), fvm_float(4503599627370497.0)), 4503599627370497.0);
    VT_EXPECT_FLOAT(UN(FVM_ROUND_FLOAT(), fvm_float(NAN)), NAN);
}

/* AwkDiv / AwkMod are VM-native: a zero divisor ends the run. */
Test(arith, awk_div_mod)
{
    VT_EXPECT_FLOAT(BIN(FVM_AWK_DIV(), fvm_int(7), fvm_int(2)), 3.5);
    VT_EXPECT_FLOAT(BIN(FVM_AWK_DIV_JIT(), fvm_int(7), fvm_int(2)), 3.5);
    VT_EXPECT_FLOAT(BIN(FVM_AWK_MOD(), fvm_int(-7), fvm_int(3)), -1.0);
    VT_EXPECT_FLOAT(BIN(FVM_AWK_MOD_JIT(), fvm_float(7.5), fvm_int(2)), 1.5);
    const fvm_op div_ops[] = {FVM_AWK_DIV(), FVM_AWK_DIV_JIT(), FVM_AWK_MOD(), FVM_AWK_MOD_JIT()};
    for (size_t i = 0; i < 4; i++) {
        vt t;
        vt_prog(&t, VT_OPS(FVM_LOAD_INT(1), FVM_LOAD_FLOAT(-0.0), div_ops[i], FVM_LOAD_INT(5)), VT_NONE,
                VT_NONE);
        VT_EXPECT_STATUS_IS(&t, FVM_RUN_ERROR);
        cr_assert_str_eq(fvm_vm_error(t.vm),
                         i < 2 ? "division by zero attempted" : "division by zero attempted in `%'");
        cr_assert_eq(fvm_vm_error_ip(t.vm), 2);
        vt_close(&t);
    }
}

/* The guarded AWK ops upstream added for the block JIT run natively. */
Test(arith, awk_jit_helpers)
{
    VT_EXPECT_FLOAT(BIN(FVM_AWK_LSHIFT_JIT(), fvm_int(1), fvm_int(3)), 8.0);
    VT_EXPECT_FLOAT(BIN(FVM_AWK_LSHIFT_JIT(), fvm_float(1.9), fvm_int(64 + 1)), 2.0);
    VT_EXPECT_FLOAT(BIN(FVM_AWK_RSHIFT_JIT(), fvm_int(16), fvm_int(2)), 4.0);
    VT_EXPECT_FLOAT(UN(FVM_AWK_COMPL_JIT(), fvm_int(0)), -1.0);
    VT_EXPECT_FLOAT(UN(FVM_AWK_SQRT_JIT(), fvm_int(16)), 4.0);
    VT_EXPECT_FLOAT(UN(FVM_AWK_LOG_JIT(), fvm_int(0)), -INFINITY);
    VT_EXPECT_FLOAT(UN(FVM_AWK_LOG_JIT(), fvm_int(1)), 0.0);
    VT_EXPECT_FLOAT(VT_APPLY0(FVM_AWK_GET_FIELD_NUM(3)), 0.0); /* no field hook */
    static const struct {
        fvm_op op;
        int nargs;
        const char *msg;
    } errors[] = {
        {{FVM_OP_AWK_LSHIFT_JIT, 0, 0, 0, {0}}, 2, "lshift: negative values are not allowed"},
        {{FVM_OP_AWK_RSHIFT_JIT, 0, 0, 0, {0}}, 2, "rshift: negative values are not allowed"},
        {{FVM_OP_AWK_COMPL_JIT, 0, 0, 0, {0}}, 1, "compl: negative value is not allowed"},
    };
    for (size_t i = 0; i < 3; i++) {
        vt t;
        vt_prog(&t, VT_OPS(FVM_LOAD_INT(1), FVM_LOAD_INT(-1), errors[i].op, FVM_LOAD_INT(5)), VT_NONE, VT_NONE);
        VT_EXPECT_STATUS_IS(&t, FVM_RUN_ERROR);
        cr_assert_str_eq(fvm_vm_error(t.vm), errors[i].msg);
        cr_assert_eq(fvm_vm_error_ip(t.vm), 2);
        vt_close(&t);
    }
}

Test(arith, time_int)
{
    int64_t before = (int64_t)time(NULL);
    fvm_value v = VT_APPLY0(FVM_TIME_INT());
    int64_t after = (int64_t)time(NULL);
    cr_assert_eq(v.type, FVM_T_INT);
    cr_assert(v.as.i >= before && v.as.i <= after, "%lld not in [%lld, %lld]", (long long)v.as.i,
              (long long)before, (long long)after);
}
