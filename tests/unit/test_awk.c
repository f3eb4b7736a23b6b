/* The AWK ops without a host (docs/OPS.md, the "AWK" sections), run
 * through the VM, and the pure helpers behind them. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "awk.h"
#include "vm.h"

/* ------------------------------------------------------------------------
 * Running one op */

/* Pushed first, so a test sees exactly what an op left above it. */
#define MARK 4242

typedef struct stack_dump {
    fvm_value v[8];
    size_t n;
} stack_dump;

/* Run LoadInt(MARK) (if marked), the constants args, then ops, on a fresh
 * VM; return the whole stack afterwards, bottom first, the run's result
 * included. The chunk has one name, "x", for the NAME-format ops. */
static stack_dump run_ops(bool marked, const fvm_op *ops, size_t nops, const fvm_value *args,
                          size_t nargs)
{
    fvm_builder *b = fvm_builder_new();
    cr_assert_eq(fvm_add_name(b, "x", 1), 0);
    uint32_t line = 1;
    if (marked)
        fvm_emit(b, FVM_LOAD_INT(MARK), line++);
    for (size_t i = 0; i < nargs; i++) {
        fvm_emit(b, FVM_LOAD_CONST((uint16_t)fvm_add_constant(b, args[i])), line++);
    }
    for (size_t i = 0; i < nops; i++)
        fvm_emit(b, ops[i], line++);
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c, "build failed: %s", fvm_builder_error(b));
    fvm_builder_free(b);
    fvm_vm *vm = fvm_vm_new(c);
    fvm_result r = fvm_vm_run(vm);
    cr_assert_neq(r.status, FVM_RUN_ERROR, "run failed: %s", fvm_vm_error(vm));
    stack_dump d = {.n = fvm_vm_stack_depth(vm)};
    cr_assert_leq(d.n, 7);
    for (size_t i = 0; i < d.n; i++)
        d.v[i] = fvm_value_copy(fvm_vm_stack_at(vm, i));
    if (r.status == FVM_RUN_OK)
        d.v[d.n++] = r.value;
    fvm_vm_free(vm);
    fvm_chunk_free(c);
    return d;
}

static void dump_free(stack_dump *d)
{
    for (size_t i = 0; i < d->n; i++)
        fvm_value_drop(d->v[i]);
}

/* The op applied to args (taken) must leave exactly one value above the
 * mark; returns it. */
static fvm_value apply(fvm_op op, const fvm_value *args, size_t n)
{
    stack_dump d = run_ops(true, &op, 1, args, n);
    cr_assert_eq(d.n, 2, "%s left %zu values above the mark", fvm_op_name(op.code), d.n - 1);
    cr_assert(d.v[0].type == FVM_T_INT && d.v[0].as.i == MARK, "%s popped too much",
              fvm_op_name(op.code));
    return d.v[1];
}

/* The op applied to args (taken) must leave nothing above the mark. */
static void apply_void(fvm_op op, const fvm_value *args, size_t n)
{
    stack_dump d = run_ops(true, &op, 1, args, n);
    cr_assert_eq(d.n, 1, "%s left %zu values above the mark", fvm_op_name(op.code), d.n - 1);
    cr_assert(d.v[0].type == FVM_T_INT && d.v[0].as.i == MARK);
}

#define ARGS(...) ((const fvm_value[]){__VA_ARGS__}), (sizeof((const fvm_value[]){__VA_ARGS__}) / sizeof(fvm_value))
#define APPLY(op, ...) apply((op), ARGS(__VA_ARGS__))
#define APPLY0(op) apply((op), NULL, 0)
#define APPLY_VOID(op, ...) apply_void((op), ARGS(__VA_ARGS__))

/* ------------------------------------------------------------------------
 * Checks (they take the value) */

static uint64_t bits_of(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

static void expect_str_n(fvm_value v, const char *s, size_t n, int line)
{
    size_t len = 0;
    const char *p = fvm_str_bytes(v, &len);
    cr_assert_not_null(p, "line %d: not a Str (type %u)", line, v.type);
    cr_assert(len == n && memcmp(p, s, n) == 0, "line %d: got \"%.*s\", expected \"%.*s\"", line,
              (int)len, p, (int)n, s);
    fvm_value_drop(v);
}

static void expect_int(fvm_value v, int64_t want, int line)
{
    cr_assert(v.type == FVM_T_INT, "line %d: not an Int (type %u)", line, v.type);
    cr_assert_eq(v.as.i, want, "line %d: got %lld, expected %lld", line, (long long)v.as.i,
                 (long long)want);
}

/* Floats compare by bits, except that any NaN matches a NaN expectation. */
static void expect_float(fvm_value v, double want, int line)
{
    cr_assert(v.type == FVM_T_FLOAT, "line %d: not a Float (type %u)", line, v.type);
    if (isnan(want))
        cr_assert(isnan(v.as.f), "line %d: got %a, expected NaN", line, v.as.f);
    else
        cr_assert_eq(bits_of(v.as.f), bits_of(want), "line %d: got %a, expected %a", line, v.as.f,
                     want);
}

#define EXPECT_STR(v, s) expect_str_n((v), (s), strlen(s), __LINE__)
#define EXPECT_BYTES(v, s) expect_str_n((v), (s), sizeof(s) - 1, __LINE__)
#define EXPECT_INT(v, n) expect_int((v), (n), __LINE__)
#define EXPECT_FLOAT(v, d) expect_float((v), (d), __LINE__)
#define EXPECT_UNDEF(v) cr_assert_eq((v).type, FVM_T_UNDEF, "line %d: not Undef", __LINE__)

#define S(lit) fvm_str((lit), sizeof(lit) - 1)
#define I(n) fvm_int(n)
#define F(d) fvm_float(d)

/* ------------------------------------------------------------------------
 * String builtins */

Test(awk, substr)
{
    EXPECT_STR(APPLY(FVM_AWK_SUBSTR(3), S("hello"), I(2), I(3)), "ell");
    EXPECT_STR(APPLY(FVM_AWK_SUBSTR(3), S("hello"), I(-1), I(3)), "h");
    EXPECT_STR(APPLY(FVM_AWK_SUBSTR(3), S("hello"), I(0), I(2)), "h");
    EXPECT_STR(APPLY(FVM_AWK_SUBSTR(2), S("hello"), I(0)), "hello");
    EXPECT_STR(APPLY(FVM_AWK_SUBSTR(2), S("hello"), I(5)), "o");
    EXPECT_STR(APPLY(FVM_AWK_SUBSTR(2), S("hello"), I(6)), "");
    EXPECT_STR(APPLY(FVM_AWK_SUBSTR(3), S("hello"), I(2), I(-1)), "");
    EXPECT_STR(APPLY(FVM_AWK_SUBSTR(3), S("hello"), I(4), I(100)), "lo");
    EXPECT_STR(APPLY(FVM_AWK_SUBSTR(3), S("h\xc3\xa9llo"), I(2), I(2)), "\xc3\xa9l");
    EXPECT_STR(APPLY(FVM_AWK_SUBSTR(1), S("hello")), "hello");
    EXPECT_STR(APPLY0(FVM_AWK_SUBSTR(0)), "");
    /* m goes through to_int: "2" parses, "1.9" does not (0), 1.9 truncates. */
    EXPECT_STR(APPLY(FVM_AWK_SUBSTR(2), S("hello"), S("2")), "ello");
    EXPECT_STR(APPLY(FVM_AWK_SUBSTR(2), S("hello"), S("1.9")), "hello");
    EXPECT_STR(APPLY(FVM_AWK_SUBSTR(3), S("hello"), F(2.9), F(2.9)), "el");
    EXPECT_STR(APPLY(FVM_AWK_SUBSTR(2), I(12345), I(3)), "345");
    /* m + n wraps past INT64_MAX, so the end lies before the start. */
    EXPECT_STR(APPLY(FVM_AWK_SUBSTR(3), S("hello"), I(INT64_MAX), I(1)), "");
    /* Extra operands are popped and ignored. */
    EXPECT_STR(APPLY(FVM_AWK_SUBSTR(4), S("hello"), I(2), I(2), S("x")), "el");
    /* An invalid byte is one character. */
    EXPECT_BYTES(APPLY(FVM_AWK_SUBSTR(3), S("a\xff" "bc"), I(2), I(2)), "\xff" "b");
}

Test(awk, index)
{
    EXPECT_INT(APPLY(FVM_AWK_INDEX(), S("hello"), S("ll")), 3);
    EXPECT_INT(APPLY(FVM_AWK_INDEX(), S("h\xc3\xa9llo"), S("l")), 3);
    EXPECT_INT(APPLY(FVM_AWK_INDEX(), S("abc"), S("")), 1);
    EXPECT_INT(APPLY(FVM_AWK_INDEX(), S(""), S("")), 1);
    EXPECT_INT(APPLY(FVM_AWK_INDEX(), S("abc"), S("z")), 0);
    EXPECT_INT(APPLY(FVM_AWK_INDEX(), S(""), S("a")), 0);
    EXPECT_INT(APPLY(FVM_AWK_INDEX(), I(31415), I(41)), 3);
    EXPECT_INT(APPLY(FVM_AWK_INDEX(), S("a\0b\0c"), S("\0c")), 4);
}

Test(awk, length)
{
    EXPECT_INT(APPLY(FVM_AWK_LENGTH(1), S("h\xc3\xa9llo")), 5);
    EXPECT_INT(APPLY(FVM_AWK_LENGTH(1), I(-12345)), 6);
    EXPECT_INT(APPLY(FVM_AWK_LENGTH(1), F(1.5)), 3);
    EXPECT_INT(APPLY(FVM_AWK_LENGTH(1), S("a\xff")), 2);
    EXPECT_INT(APPLY(FVM_AWK_LENGTH(1), S("\xe2\x82")), 2); /* truncated sequence */
    EXPECT_INT(APPLY(FVM_AWK_LENGTH(1), fvm_undef()), 0);
    /* length() is length($0): 0 without a host, nothing popped. */
    EXPECT_INT(APPLY0(FVM_AWK_LENGTH(0)), 0);
    /* Any argc > 0 pops exactly one value. */
    stack_dump d = run_ops(false, (fvm_op[]){FVM_AWK_LENGTH(3)}, 1, ARGS(S("ab"), S("abc")));
    cr_assert_eq(d.n, 2);
    EXPECT_STR(d.v[0], "ab");
    EXPECT_INT(d.v[1], 3);
}

Test(awk, case_mapping)
{
    EXPECT_STR(APPLY(FVM_AWK_TO_LOWER(), S("HeLLo, World 42")), "hello, world 42");
    EXPECT_STR(APPLY(FVM_AWK_TO_UPPER(), S("HeLLo, World 42")), "HELLO, WORLD 42");
    EXPECT_STR(APPLY(FVM_AWK_TO_LOWER(), S("\xc3\x80\xc3\x89\xc3\x8e")), "\xc3\xa0\xc3\xa9\xc3\xae");
    EXPECT_STR(APPLY(FVM_AWK_TO_UPPER(), S("stra\xc3\x9f" "e")), "STRASSE");
    EXPECT_STR(APPLY(FVM_AWK_TO_UPPER(), S("\xc4\x81\xc4\x8d")), "\xc4\x80\xc4\x8c"); /* āč */
    /* Greek, with final sigma: ΟΔΟΣ ΣΑΣ -> οδος σας */
    EXPECT_STR(APPLY(FVM_AWK_TO_LOWER(), S("\xce\x9f\xce\x94\xce\x9f\xce\xa3 \xce\xa3\xce\x91\xce\xa3")),
               "\xce\xbf\xce\xb4\xce\xbf\xcf\x82 \xcf\x83\xce\xb1\xcf\x82");
    /* Cyrillic: привет <-> ПРИВЕТ */
    EXPECT_STR(APPLY(FVM_AWK_TO_UPPER(), S("\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82")),
               "\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2");
    EXPECT_STR(APPLY(FVM_AWK_TO_LOWER(), S("\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2")),
               "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");
    /* Invalid bytes and NULs pass through. */
    EXPECT_BYTES(APPLY(FVM_AWK_TO_LOWER(), S("A\xff\0B")), "a\xff\0b");
    EXPECT_STR(APPLY(FVM_AWK_TO_UPPER(), I(12)), "12");
    EXPECT_STR(APPLY(FVM_AWK_TO_UPPER(), fvm_undef()), "");
}

Test(awk, ord_chr)
{
    EXPECT_FLOAT(APPLY(FVM_AWK_ORD(), S("A")), 65);
    EXPECT_FLOAT(APPLY(FVM_AWK_ORD(), S("ABC")), 65);
    EXPECT_FLOAT(APPLY(FVM_AWK_ORD(), S("\xc3\xa9")), 233);
    EXPECT_FLOAT(APPLY(FVM_AWK_ORD(), S("\xe2\x82\xac" "x")), 8364);
    EXPECT_FLOAT(APPLY(FVM_AWK_ORD(), S("\xf0\x9f\x98\x80")), 0x1F600);
    EXPECT_FLOAT(APPLY(FVM_AWK_ORD(), S("")), 0);
    EXPECT_FLOAT(APPLY(FVM_AWK_ORD(), S("\xff")), 255);
    EXPECT_FLOAT(APPLY(FVM_AWK_ORD(), I(65)), '6');
    EXPECT_STR(APPLY(FVM_AWK_CHR(), I(65)), "A");
    EXPECT_STR(APPLY(FVM_AWK_CHR(), F(65.9)), "A");
    EXPECT_STR(APPLY(FVM_AWK_CHR(), I(8364)), "\xe2\x82\xac");
    EXPECT_STR(APPLY(FVM_AWK_CHR(), I(0x1F600)), "\xf0\x9f\x98\x80");
    EXPECT_STR(APPLY(FVM_AWK_CHR(), I(0xD800)), "");
    EXPECT_STR(APPLY(FVM_AWK_CHR(), I(0xDFFF)), "");
    EXPECT_STR(APPLY(FVM_AWK_CHR(), I(0x110000)), "");
    EXPECT_STR(APPLY(FVM_AWK_CHR(), F(1e20)), "");
    EXPECT_BYTES(APPLY(FVM_AWK_CHR(), I(-5)), "\0"); /* saturates to 0 */
    EXPECT_BYTES(APPLY(FVM_AWK_CHR(), F(NAN)), "\0");
    EXPECT_STR(APPLY(FVM_AWK_CHR(), S("97")), "a");
}

static double strtonum(const char *s)
{
    return fvm_awk_strtonum(s, strlen(s));
}

Test(awk, strtonum)
{
    cr_assert_eq(strtonum("0x1A"), 26);
    cr_assert_eq(strtonum("0X1a"), 26);
    cr_assert_eq(strtonum("0x+ff"), 255);
    cr_assert_eq(strtonum("0x"), 0);
    cr_assert_eq(strtonum("0x1G"), 0);
    cr_assert_eq(strtonum("0xffffffffffffffff"), 18446744073709551615.0);
    cr_assert_eq(strtonum("0x10000000000000000"), 0);
    cr_assert_eq(strtonum("017"), 15);
    cr_assert_eq(strtonum("09"), 0);
    cr_assert_eq(strtonum("00"), 0);
    cr_assert_eq(strtonum("0777777777777777777777"), 9223372036854775807.0);
    cr_assert_eq(strtonum("01777777777777777777777"), 0);
    cr_assert_eq(strtonum("01.5"), 1.5);
    cr_assert_eq(strtonum("0e5"), 0);
    cr_assert_eq(strtonum("1e3x"), 1000);
    cr_assert_eq(strtonum("1e"), 1);
    cr_assert_eq(strtonum("1e+"), 1);
    cr_assert_eq(strtonum("  42abc \n"), 42);
    cr_assert_eq(strtonum("\xc2\xa0" "42"), 42); /* NO-BREAK SPACE is trimmed */
    cr_assert_eq(strtonum("12\xc3\xa9"), 12);
    cr_assert_eq(strtonum("-1.5e2"), -150);
    cr_assert_eq(strtonum(".5"), 0.5);
    cr_assert_eq(strtonum("+.5e1"), 5);
    cr_assert_eq(strtonum("."), 0);
    cr_assert_eq(strtonum(""), 0);
    cr_assert_eq(strtonum("   "), 0);
    cr_assert_eq(strtonum("abc"), 0);
    cr_assert_eq(strtonum("+inf"), INFINITY);
    cr_assert_eq(strtonum("-INF"), -INFINITY);
    cr_assert_eq(strtonum("-inf "), -INFINITY);
    cr_assert(isnan(strtonum("+nan")));
    cr_assert(isnan(strtonum("-NaN")) && signbit(strtonum("-NaN")));
    cr_assert_eq(strtonum("inf"), 0);
    cr_assert_eq(strtonum("+infinity"), 0);
    cr_assert_eq(strtonum("+inf5"), 0);
    cr_assert_eq(strtonum("+inf-"), INFINITY);
    double neg_zero = strtonum("-0x10"); /* no hex with a sign: the prefix "-0" */
    cr_assert(neg_zero == 0 && signbit(neg_zero));
    EXPECT_FLOAT(APPLY(FVM_AWK_STRTONUM(), S("0x11")), 17);
    EXPECT_FLOAT(APPLY(FVM_AWK_STRTONUM(), I(42)), 42);
    EXPECT_FLOAT(APPLY(FVM_AWK_STRTONUM(), S("1e3x")), 1000);
}

/* ------------------------------------------------------------------------
 * Numeric builtins */

Test(awk, int)
{
    EXPECT_INT(APPLY(FVM_AWK_INT(), F(3.9)), 3);
    EXPECT_INT(APPLY(FVM_AWK_INT(), F(-3.9)), -3);
    EXPECT_INT(APPLY(FVM_AWK_INT(), S("2.5")), 2);
    EXPECT_INT(APPLY(FVM_AWK_INT(), I(-7)), -7);
    EXPECT_INT(APPLY(FVM_AWK_INT(), F(9223372036854775808.0)), INT64_MAX);
    EXPECT_INT(APPLY(FVM_AWK_INT(), F(-9223372036854775808.0)), INT64_MIN);
    EXPECT_FLOAT(APPLY(FVM_AWK_INT(), F(1e300)), 1e300);
    EXPECT_FLOAT(APPLY(FVM_AWK_INT(), F(-1e19)), -1e19);
    EXPECT_FLOAT(APPLY(FVM_AWK_INT(), F(INFINITY)), INFINITY);
    EXPECT_FLOAT(APPLY(FVM_AWK_INT(), F(NAN)), NAN);
}

Test(awk, math)
{
    EXPECT_FLOAT(APPLY(FVM_AWK_SQRT(), I(16)), 4);
    EXPECT_FLOAT(APPLY(FVM_AWK_SQRT(), I(-1)), NAN);
    EXPECT_FLOAT(APPLY(FVM_AWK_SIN(), I(0)), 0);
    EXPECT_FLOAT(APPLY(FVM_AWK_COS(), I(0)), 1);
    EXPECT_FLOAT(APPLY(FVM_AWK_EXP(), I(1)), exp(1.0));
    EXPECT_FLOAT(APPLY(FVM_AWK_EXP(), S("x")), 1);
    EXPECT_FLOAT(APPLY(FVM_AWK_LOG(), I(1)), 0);
    EXPECT_FLOAT(APPLY(FVM_AWK_LOG(), I(0)), -INFINITY);
    EXPECT_FLOAT(APPLY(FVM_AWK_LOG(), I(-1)), NAN);
    EXPECT_FLOAT(APPLY(FVM_AWK_ATAN2(), I(0), I(-1)), M_PI);
    EXPECT_FLOAT(APPLY(FVM_AWK_ATAN2(), I(1), I(0)), M_PI / 2);
    /* sin, cos, exp and atan2 give the positive quiet NaN. */
    fvm_value r = APPLY(FVM_AWK_SIN(), F(INFINITY));
    cr_assert_eq(bits_of(r.as.f), 0x7ff8000000000000ull);
    r = APPLY(FVM_AWK_COS(), F(-NAN));
    cr_assert_eq(bits_of(r.as.f), 0x7ff8000000000000ull);
    r = APPLY(FVM_AWK_EXP(), F(-NAN));
    cr_assert_eq(bits_of(r.as.f), 0x7ff8000000000000ull);
    r = APPLY(FVM_AWK_ATAN2(), F(-NAN), I(1));
    cr_assert_eq(bits_of(r.as.f), 0x7ff8000000000000ull);
    /* log passes its NaN through unchanged. */
    r = APPLY(FVM_AWK_LOG(), F(-NAN));
    cr_assert_eq(bits_of(r.as.f), bits_of(-NAN));
}

Test(awk, bit_folds)
{
    EXPECT_INT(APPLY(FVM_AWK_AND(2), I(12), I(10)), 8);
    EXPECT_INT(APPLY(FVM_AWK_OR(2), I(12), I(10)), 14);
    EXPECT_INT(APPLY(FVM_AWK_XOR(2), I(12), I(10)), 6);
    EXPECT_INT(APPLY(FVM_AWK_AND(3), I(15), I(14), I(7)), 6);
    EXPECT_INT(APPLY(FVM_AWK_XOR(3), I(1), I(2), I(4)), 7);
    EXPECT_INT(APPLY(FVM_AWK_AND(1), I(5)), 5);
    EXPECT_INT(APPLY0(FVM_AWK_AND(0)), 0);
    EXPECT_INT(APPLY0(FVM_AWK_OR(0)), 0);
    EXPECT_INT(APPLY(FVM_AWK_AND(2), I(-1), I(255)), 255);
    EXPECT_INT(APPLY(FVM_AWK_OR(2), F(1e30), I(0)), INT64_MAX);
    EXPECT_INT(APPLY(FVM_AWK_OR(2), F(-1e30), I(0)), INT64_MIN);
    EXPECT_INT(APPLY(FVM_AWK_XOR(2), F(NAN), F(3.99)), 3);
    EXPECT_INT(APPLY(FVM_AWK_OR(2), S("6"), S("1.5")), 7);
    /* A short stack: the missing operands come first and read as 0. */
    stack_dump d = run_ops(false, (fvm_op[]){FVM_AWK_AND(3)}, 1, ARGS(I(6)));
    cr_assert_eq(d.n, 1);
    EXPECT_INT(d.v[0], 0);
    d = run_ops(false, (fvm_op[]){FVM_AWK_OR(3)}, 1, ARGS(I(6)));
    EXPECT_INT(d.v[0], 6);
}

Test(awk, compl_and_shifts)
{
    EXPECT_INT(APPLY(FVM_AWK_COMPL(), I(0)), -1);
    EXPECT_INT(APPLY(FVM_AWK_COMPL(), I(5)), -6);
    EXPECT_INT(APPLY(FVM_AWK_COMPL(), F(1e30)), INT64_MIN);
    EXPECT_INT(APPLY(FVM_AWK_LSHIFT(), I(1), I(3)), 8);
    EXPECT_INT(APPLY(FVM_AWK_LSHIFT(), I(1), I(64 + 3)), 8);
    EXPECT_INT(APPLY(FVM_AWK_LSHIFT(), I(1), I(63)), INT64_MIN);
    EXPECT_INT(APPLY(FVM_AWK_LSHIFT(), I(1), I(-1)), INT64_MIN); /* -1 & 63 = 63 */
    EXPECT_INT(APPLY(FVM_AWK_RSHIFT(), I(-1), I(60)), 15);       /* logical */
    EXPECT_INT(APPLY(FVM_AWK_RSHIFT(), I(-16), I(2)), 0x3FFFFFFFFFFFFFFCll);
    EXPECT_INT(APPLY(FVM_AWK_RSHIFT(), I(256), I(64 + 4)), 16);
    EXPECT_INT(APPLY(FVM_AWK_RSHIFT(), F(7.9), F(1.9)), 3);
}

Test(awk, intdiv)
{
    EXPECT_FLOAT(APPLY(FVM_AWK_INTDIV(), I(7), I(2)), 3);
    EXPECT_FLOAT(APPLY(FVM_AWK_INTDIV(), I(-7), I(2)), -3);
    EXPECT_FLOAT(APPLY(FVM_AWK_INTDIV(), F(7.9), F(-2.9)), -3);
    EXPECT_UNDEF(APPLY(FVM_AWK_INTDIV(), I(7), I(0)));
    EXPECT_UNDEF(APPLY(FVM_AWK_INTDIV(), I(7), F(0.5))); /* zero after truncation */
    EXPECT_UNDEF(APPLY(FVM_AWK_INTDIV(), I(7), S("abc")));
    EXPECT_FLOAT(APPLY(FVM_AWK_INTDIV0(), I(7), I(0)), 0.0);
    EXPECT_FLOAT(APPLY(FVM_AWK_INTDIV0(), I(7), F(-0.5)), 0.0);
    EXPECT_FLOAT(APPLY(FVM_AWK_INTDIV0(), I(9), I(4)), 2);
    /* The one overflowing quotient is exact as a Float. */
    EXPECT_FLOAT(APPLY(FVM_AWK_INTDIV(), F(-9223372036854775808.0), I(-1)), 9223372036854775808.0);
    EXPECT_FLOAT(APPLY(FVM_AWK_INTDIV0(), F(-1e30), I(-1)), 9223372036854775808.0);
}

Test(awk, mkbool)
{
    EXPECT_FLOAT(APPLY(FVM_AWK_MKBOOL(), S("0")), 0);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKBOOL(), S("")), 0);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKBOOL(), S("a")), 1);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKBOOL(), S("0.0")), 1);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKBOOL(), F(0.0)), 0);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKBOOL(), F(NAN)), 1);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKBOOL(), fvm_undef()), 0);
}

Test(awk, rand_sequence)
{
    /* seed starts at 1: seed = seed * 1103515245 + 12345, (seed >> 16) & 0x7fff */
    stack_dump d = run_ops(false, (fvm_op[]){FVM_AWK_RAND(), FVM_AWK_RAND(), FVM_AWK_RAND()}, 3,
                           NULL, 0);
    cr_assert_eq(d.n, 3);
    EXPECT_FLOAT(d.v[0], 16838 / 32768.0);
    EXPECT_FLOAT(d.v[1], 5758 / 32768.0);
    EXPECT_FLOAT(d.v[2], 10113 / 32768.0);
}

Test(awk, srand)
{
    /* srand returns the previous seed; srand(1) restarts the sequence. */
    stack_dump d = run_ops(false,
                           (fvm_op[]){FVM_LOAD_INT(5), FVM_AWK_SRAND(1), FVM_LOAD_INT(1),
                                      FVM_AWK_SRAND(1), FVM_AWK_RAND(), FVM_LOAD_FLOAT(-3),
                                      FVM_AWK_SRAND(1), FVM_LOAD_FLOAT(1e10), FVM_AWK_SRAND(1),
                                      FVM_LOAD_FLOAT(7.9), FVM_AWK_SRAND(1)},
                           11, NULL, 0);
    cr_assert_eq(d.n, 6);
    EXPECT_FLOAT(d.v[0], 1);
    EXPECT_FLOAT(d.v[1], 5);
    EXPECT_FLOAT(d.v[2], 16838 / 32768.0);
    EXPECT_FLOAT(d.v[3], 1103527590); /* the seed after one rand() */
    EXPECT_FLOAT(d.v[4], 0);          /* -3 saturated to 0 */
    EXPECT_FLOAT(d.v[5], 4294967295.0);
    /* srand() seeds from the clock and returns the old seed. */
    EXPECT_FLOAT(APPLY0(FVM_AWK_SRAND(0)), 1);
    /* Any argc > 0 pops one value. */
    d = run_ops(false, (fvm_op[]){FVM_AWK_SRAND(2)}, 1, ARGS(I(8), I(9)));
    cr_assert_eq(d.n, 2);
    EXPECT_INT(d.v[0], 8);
    EXPECT_FLOAT(d.v[1], 1);
    uint64_t seed = 1;
    cr_assert_eq(fvm_awk_srand(&seed, 0x1234567890ull), 1);
    cr_assert_eq(fvm_awk_srand(&seed, 3), (double)0x34567890u);
}

/* ------------------------------------------------------------------------
 * Time builtins */

static fvm_value strftime_utc(const char *fmt, double ts)
{
    return APPLY(FVM_AWK_STRFTIME(3), fvm_cstr(fmt), F(ts), I(1));
}

Test(awk, strftime_utc)
{
    EXPECT_STR(strftime_utc("%Y-%m-%d %H:%M:%S", 0), "1970-01-01 00:00:00");
    EXPECT_STR(strftime_utc(FVM_AWK_STRFTIME_DEFAULT, 1234567890.5), "Fri Feb 13 23:31:30 UTC 2009");
    EXPECT_STR(strftime_utc("%j|%U|%W|%V|%G|%g|%s|%u|%w|%q|%C|%y", 1234567890.5),
               "044|06|06|07|2009|09|1234567890|5|5|1|20|09");
    EXPECT_STR(strftime_utc("%.f|%f|%.3f|%.6f|%.9f|%3f|%6f|%9f", 1234567890.5),
               ".500|500000000|.500|.500000|.500000000|500|500000|500000000");
    EXPECT_STR(strftime_utc("%.f|%f", 1234567890), "|000000000");
    /* ISO weeks across year ends. */
    EXPECT_STR(strftime_utc("%G,%g,%U,%W,%V", 1199059200), "2008,08,52,53,01");
    EXPECT_STR(strftime_utc("%G,%g,%U,%W,%V", 1262476800), "2009,09,01,00,53");
    EXPECT_STR(strftime_utc("%p %P %I %l %k %H", 1234567890.5), "PM pm 11 11 23 23");
    EXPECT_STR(strftime_utc("%A %B %a %b %h", 1234567890.5), "Friday February Fri Feb Feb");
    EXPECT_STR(strftime_utc("%+", 1234567890.5), "2009-02-13T23:31:30.500+00:00");
    EXPECT_STR(strftime_utc("%z %:z %::z %:::z %Z", 0), "+0000 +00:00 +00:00:00 +00 UTC");
    EXPECT_STR(strftime_utc("%D|%x|%F|%R|%T|%X|%r", 1234567890.5),
               "02/13/09|02/13/09|2009-02-13|23:31|23:31:30|23:31:30|11:31:30 PM");
    EXPECT_STR(strftime_utc("%c|%v", 1233633906), "Tue Feb  3 04:05:06 2009| 3-Feb-2009");
    /* Padding modifiers on numeric conversions. */
    EXPECT_STR(strftime_utc("%d|%e|%-d|%_m|%0e|%-j|%k|%-H|%_H", 1233633906),
               "03| 3|3| 2|03|34| 4|4| 4");
    EXPECT_STR(strftime_utc("%t%n%%|100%%", 0), "\t\n%|100%");
    EXPECT_STR(strftime_utc("", 0), "");
    EXPECT_STR(strftime_utc("no conversions \xc3\xa9", 0), "no conversions \xc3\xa9");
    /* Years outside 1000..9999; %C narrows 100 to 8 bits and prints the
     * digit after '9', as chrono does. */
    EXPECT_STR(strftime_utc("%Y|%-Y|%C", 253402300800.0), "+10000|+10000|:0");
    EXPECT_STR(strftime_utc("%Y|%-Y|%_Y|%F", -30641760000.0), "0999|999| 999|0999-01-01");
    EXPECT_STR(strftime_utc("%Y", -62198755200.0), "-0001");
    EXPECT_STR(strftime_utc("%s", -1.5), "-2");
    /* Invalid conversions give "". */
    EXPECT_STR(strftime_utc("%Q", 0), "");
    EXPECT_STR(strftime_utc("abc %", 0), "");
    EXPECT_STR(strftime_utc("%-a", 0), "");
    EXPECT_STR(strftime_utc("%-D", 0), "");
    EXPECT_STR(strftime_utc("%#z", 0), "");
    EXPECT_STR(strftime_utc("%.2f", 0), "");
    /* Out of range and non-finite timestamps. */
    EXPECT_STR(strftime_utc("%Y", 1e20), "");
    EXPECT_STR(strftime_utc("%Y", -INFINITY), "");
    EXPECT_STR(strftime_utc("%Y-%m-%d", NAN), "1970-01-01");
    EXPECT_STR(strftime_utc("%Y", 8210266876799.0), "+262142");
    EXPECT_STR(strftime_utc("%Y", 8210266876800.0), "");
}

Test(awk, strftime_arguments)
{
    /* 2 args: local time; TZ fixed so the result is known. */
    setenv("TZ", "UTC0", 1);
    EXPECT_STR(APPLY(FVM_AWK_STRFTIME(2), S("%H:%M %Z %z"), I(3600)), "01:00 +00:00 +0000");
    setenv("TZ", "EST5", 1);
    EXPECT_STR(APPLY(FVM_AWK_STRFTIME(2), S("%H:%M %Z %z"), I(3600)), "20:00 -05:00 -0500");
    EXPECT_STR(APPLY(FVM_AWK_STRFTIME(3), S("%H:%M %Z"), I(3600), S("0")), "20:00 -05:00");
    EXPECT_STR(APPLY(FVM_AWK_STRFTIME(3), S("%H:%M %Z"), I(3600), S("1")), "01:00 UTC");
    setenv("TZ", "IST-5:30", 1);
    EXPECT_STR(APPLY(FVM_AWK_STRFTIME(2), S("%H:%M %Z %z %:::z"), I(0)), "05:30 +05:30 +0530 +05");
    /* 0 and 1 args use the clock; the year at least is known. */
    fvm_value now = APPLY(FVM_AWK_STRFTIME(1), S("%Y"));
    size_t len = 0;
    const char *year = fvm_str_bytes(now, &len);
    cr_assert(len == 4 && atoi(year) >= 2024, "year %s", year);
    fvm_value_drop(now);
    now = APPLY0(FVM_AWK_STRFTIME(0));
    fvm_str_bytes(now, &len);
    cr_assert_geq(len, 24);
    fvm_value_drop(now);
}

Test(awk, systime)
{
    double before = (double)time(NULL);
    fvm_value t = APPLY0(FVM_AWK_SYSTIME());
    cr_assert_eq(t.type, FVM_T_FLOAT);
    cr_assert(t.as.f >= before && t.as.f < before + 5);
}

Test(awk, mktime_utc)
{
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(2), S("1970 01 01 00 00 00"), I(1)), 0);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(2), S("2024 02 29 12 00 00"), I(1)), 1709208000);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(2), S("  2024\t2 29 12 0 0 7 extra  "), I(1)), 1709208000);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(2), S("+2024 +2 +29 +12 +0 +0"), I(1)), 1709208000);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(2), S("-1 01 01 00 00 00"), I(1)), -62198755200.0);
    /* Out-of-range fields are rejected, not normalised. */
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(2), S("2024 13 01 00 00 00"), I(1)), -1);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(2), S("2023 02 29 00 00 00"), I(1)), -1);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(2), S("2024 00 10 00 00 00"), I(1)), -1);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(2), S("2024 01 00 00 00 00"), I(1)), -1);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(2), S("2024 01 01 24 00 00"), I(1)), -1);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(2), S("2024 01 01 00 60 00"), I(1)), -1);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(2), S("2024 01 01 00 00 60"), I(1)), -1);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(2), S("2024 -1 01 00 00 00"), I(1)), -1);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(2), S("2024 01 01 00 00"), I(1)), -1);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(2), S("2024 01 01 00 00 0x"), I(1)), -1);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(2), S("2024 01 01 00 00 1.5"), I(1)), -1);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(2), S("262143 01 01 00 00 00"), I(1)), -1);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(2), S("99999999999 01 01 00 00 00"), I(1)), -1);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(2), S(""), I(1)), -1);
    EXPECT_FLOAT(APPLY0(FVM_AWK_MKTIME(0)), -1);
}

Test(awk, mktime_local)
{
    /* Central European rules, given inline so no zone files are needed. */
    setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(1), S("2024 01 01 00 00 00")), 1704063600);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(2), S("2024 01 01 00 00 00"), I(0)), 1704063600);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(1), S("2024 07 01 12 00 00")), 1719828000);
    /* Skipped (spring forward) and repeated (fall back) local times. */
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(1), S("2024 03 31 02 30 00")), -1);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(1), S("2024 10 27 02 30 00")), -1);
    EXPECT_FLOAT(APPLY(FVM_AWK_MKTIME(1), S("2024 10 27 03 30 00")), 1729996200);
}

/* ------------------------------------------------------------------------
 * The host-only ops: inert and stack-balanced */

Test(awk, inert_ops)
{
    EXPECT_STR(APPLY(FVM_AWK_FIELD_GET(), I(1)), "");
    APPLY_VOID(FVM_AWK_FIELD_SET(), S("v"), I(1));
    EXPECT_INT(APPLY0(FVM_AWK_NF()), 0);
    APPLY_VOID(FVM_AWK_SET_RECORD(), S("a b"));
    EXPECT_UNDEF(APPLY0(FVM_AWK_SPECIAL_GET(0)));
    APPLY_VOID(FVM_AWK_SPECIAL_SET(0), S(":"));
    APPLY_VOID(FVM_AWK_PRINT(3), I(1), I(2), I(3));
    apply_void(FVM_AWK_PRINT(0), NULL, 0);
    APPLY_VOID(FVM_AWK_PRINTF(2), S("%d"), I(2));
    EXPECT_STR(APPLY(FVM_AWK_SPRINTF(2), S("%d"), I(2)), "");
    EXPECT_INT(APPLY(FVM_AWK_SPLIT(3), S("a b"), S("arr"), S(" ")), 0);
    EXPECT_INT(APPLY(FVM_AWK_SUB(3), S("a"), S("b"), S("v")), 0);
    EXPECT_INT(APPLY(FVM_AWK_GSUB(2), S("a"), S("b")), 0);
    EXPECT_INT(APPLY(FVM_AWK_MATCH(), S("abc"), S("b")), 0);
    EXPECT_STR(APPLY(FVM_AWK_GENSUB(4), S("a"), S("b"), S("g"), S("aaa")), "");
    EXPECT_STR(APPLY(FVM_AWK_ARRAY_GET(0), S("k")), "");
    APPLY_VOID(FVM_AWK_ARRAY_SET(0), S("v"), S("k"));
    cr_assert_eq(APPLY(FVM_AWK_ARRAY_EXISTS(0), S("k")).type, FVM_T_BOOL);
    cr_assert(!APPLY(FVM_AWK_ARRAY_EXISTS(0), S("k")).as.b);
    APPLY_VOID(FVM_AWK_ARRAY_DELETE(0), S("k"));
    apply_void(FVM_AWK_ARRAY_CLEAR(0), NULL, 0);
    EXPECT_INT(APPLY0(FVM_AWK_ARRAY_LEN(0)), 0);
}

Test(awk, getline_kinds)
{
    for (uint8_t kind = 0; kind < 8; kind++) {
        bool pops = kind >= 2 && kind <= 5;
        stack_dump d = run_ops(false, (fvm_op[]){FVM_AWK_GETLINE(kind)}, 1, ARGS(S("file")));
        cr_assert_eq(d.n, pops ? 1u : 2u, "kind %u", kind);
        EXPECT_INT(d.v[d.n - 1], 0);
        dump_free(&d);
    }
}

/* Variadic ops on a short stack pop what there is and read Undef for the
 * rest, without failing. */
Test(awk, short_stack)
{
    stack_dump d = run_ops(false, (fvm_op[]){FVM_AWK_SUBSTR(3)}, 1, ARGS(S("hello")));
    cr_assert_eq(d.n, 1);
    EXPECT_STR(d.v[0], ""); /* substr(Undef, to_int(Undef) = 0, to_int("hello") = 0) */
    d = run_ops(false, (fvm_op[]){FVM_AWK_PRINT(200)}, 1, ARGS(I(1), I(2)));
    cr_assert_eq(d.n, 0);
    d = run_ops(false, (fvm_op[]){FVM_AWK_INDEX()}, 1, NULL, 0);
    cr_assert_eq(d.n, 1);
    EXPECT_INT(d.v[0], 1); /* index("", "") */
    d = run_ops(false, (fvm_op[]){FVM_AWK_STRFTIME(3)}, 1, NULL, 0);
    EXPECT_STR(d.v[0], ""); /* format "" */
}

/* ------------------------------------------------------------------------
 * ExtendedWide ids */

Test(awk, extension_ids)
{
    cr_assert_eq(fvm_awk_op_for_id(40000), FVM_OP_AWK_FIELD_GET);
    cr_assert_eq(fvm_awk_op_for_id(40005), FVM_OP_AWK_SPECIAL_SET);
    cr_assert_eq(fvm_awk_op_for_id(40016), FVM_OP_AWK_PRINT);
    cr_assert_eq(fvm_awk_op_for_id(40024), FVM_OP_AWK_GETLINE);
    cr_assert_eq(fvm_awk_op_for_id(40032), FVM_OP_AWK_LENGTH);
    cr_assert_eq(fvm_awk_op_for_id(40047), FVM_OP_AWK_ATAN2);
    cr_assert_eq(fvm_awk_op_for_id(40048), FVM_OP_AWK_ARRAY_GET);
    cr_assert_eq(fvm_awk_op_for_id(40062), FVM_OP_AWK_RAND);
    cr_assert_eq(fvm_awk_op_for_id(40071), FVM_OP_AWK_GENSUB);
    const uint16_t unused[] = {40006, 40015, 40019, 40023, 40025, 40031, 40072, 40999, 39999, 41000};
    for (size_t i = 0; i < sizeof unused / sizeof *unused; i++)
        cr_assert_eq(fvm_awk_op_for_id(unused[i]), -1, "id %u", unused[i]);
}

Test(awk, extended_wide_dispatch)
{
    EXPECT_STR(APPLY(FVM_EXTENDED_WIDE(40033, 2), S("hello"), I(2)), "ello");
    EXPECT_FLOAT(APPLY0(FVM_EXTENDED_WIDE(40062, 0)), 16838 / 32768.0);
    EXPECT_INT(APPLY(FVM_EXTENDED_WIDE(40054, 2), I(12), I(10)), 8);
    /* An id with no meaning does nothing. */
    apply_void(FVM_EXTENDED_WIDE(40010, 7), NULL, 0);
    stack_dump d = run_ops(false, (fvm_op[]){FVM_EXTENDED_WIDE(40010, 7)}, 1, ARGS(I(1)));
    cr_assert_eq(d.n, 1);
    EXPECT_INT(d.v[0], 1);
    /* A huge argc pops the whole stack, no more. */
    d = run_ops(false, (fvm_op[]){FVM_EXTENDED_WIDE(40016, UINT64_MAX)}, 1, ARGS(I(1), I(2)));
    cr_assert_eq(d.n, 0);
    d = run_ops(false, (fvm_op[]){FVM_EXTENDED_WIDE(40055, UINT64_MAX)}, 1, ARGS(I(1), I(2)));
    cr_assert_eq(d.n, 1);
    EXPECT_INT(d.v[0], 3);
    d = run_ops(false, (fvm_op[]){FVM_EXTENDED_WIDE(40024, 2)}, 1, ARGS(S("cmd")));
    cr_assert_eq(d.n, 1);
    EXPECT_INT(d.v[0], 0);
}
