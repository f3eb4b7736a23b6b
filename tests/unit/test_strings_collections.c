/* String ops, arrays and hashes in globals and slots, MakeArray/MakeHash,
 * Range and RangeStep (docs/OPS.md, "Slots", "Arrays", "Hashes",
 * "Strings"). */
#include "vmtest.h"

/* Run a program over names a, b and check the whole stack. */
#define EXPECT_RUN(OPS, CONSTS, ...)                                                                \
    do {                                                                                            \
        vt t_;                                                                                      \
        vt_prog(&t_, OPS, CONSTS, VT_NAMES("a", "b"));                                              \
        VT_EXPECT_STACK(&t_, __VA_ARGS__);                                                          \
        vt_close(&t_);                                                                              \
    } while (0)

/* ------------------------------------------------------------------------
 * Concat, StringRepeat, StringLen
 * ------------------------------------------------------------------------ */

Test(strings, concat)
{
    VT_EXPECT_STR(VT_APPLY(FVM_CONCAT(), fvm_int(42), fvm_cstr("!")), "42!");
    VT_EXPECT_STR(VT_APPLY(FVM_CONCAT(), fvm_float(4.0), fvm_cstr("")), "4");
    VT_EXPECT_STR(VT_APPLY(FVM_CONCAT(), fvm_float(0.1), fvm_float(-0.0)), "0.1-0");
    VT_EXPECT_STR(VT_APPLY(FVM_CONCAT(), fvm_undef(), fvm_bool(true)), "1");
    VT_EXPECT_STR(VT_APPLY(FVM_CONCAT(), fvm_bool(false), fvm_status(3)), "3");
    VT_EXPECT_STR(VT_APPLY(FVM_CONCAT(), VT_ARRAY(fvm_int(1), fvm_int(2)), fvm_cstr("x")), "1 2x");
    VT_EXPECT_STR(VT_APPLY(FVM_CONCAT(), fvm_hash_new(), fvm_nativefn(4)), "(hash)(builtin:4)");
    VT_EXPECT(VT_APPLY(FVM_CONCAT(), fvm_str("a\0", 2), fvm_str("\0b", 2)), fvm_str("a\0\0b", 4));
    VT_EXPECT_STR(VT_APPLY0(FVM_CONCAT()), "");
    VT_EXPECT_STR(VT_APPLY(FVM_CONCAT(), fvm_cstr("only")), "only"); /* Undef . "only" */
}

Test(strings, string_repeat)
{
    VT_EXPECT_STR(VT_APPLY(FVM_STRING_REPEAT(), fvm_cstr("ab"), fvm_int(3)), "ababab");
    VT_EXPECT_STR(VT_APPLY(FVM_STRING_REPEAT(), fvm_cstr("ab"), fvm_int(1)), "ab");
    VT_EXPECT_STR(VT_APPLY(FVM_STRING_REPEAT(), fvm_cstr("ab"), fvm_int(0)), "");
    VT_EXPECT_STR(VT_APPLY(FVM_STRING_REPEAT(), fvm_cstr("ab"), fvm_int(-2)), "");
    VT_EXPECT_STR(VT_APPLY(FVM_STRING_REPEAT(), fvm_cstr("ab"), fvm_int(INT64_MIN)), "");
    VT_EXPECT_STR(VT_APPLY(FVM_STRING_REPEAT(), fvm_cstr("ab"), fvm_cstr("2")), "abab");
    VT_EXPECT_STR(VT_APPLY(FVM_STRING_REPEAT(), fvm_cstr("ab"), fvm_float(2.9)), "abab");
    VT_EXPECT_STR(VT_APPLY(FVM_STRING_REPEAT(), fvm_cstr("ab"), fvm_cstr("2.0")), "");
    VT_EXPECT_STR(VT_APPLY(FVM_STRING_REPEAT(), fvm_int(5), fvm_int(2)), "55");
    VT_EXPECT_STR(VT_APPLY(FVM_STRING_REPEAT(), fvm_float(0.5), fvm_int(2)), "0.50.5");
    VT_EXPECT_STR(VT_APPLY0(FVM_STRING_REPEAT()), "");
}

/* An empty string repeated any number of times is "", at once. */
Test(strings, string_repeat_empty_string_huge_count, .timeout = 10)
{
    VT_EXPECT_STR(VT_APPLY(FVM_STRING_REPEAT(), fvm_cstr(""), fvm_int(INT64_MAX)), "");
    VT_EXPECT_STR(VT_APPLY(FVM_STRING_REPEAT(), fvm_undef(), fvm_int(1LL << 40)), "");
}

/* A result too large to build ends the run with an error instead of
 * exhausting memory. */
Test(strings, string_repeat_too_large_is_an_error)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_LOAD_CONST(0), FVM_LOAD_INT(INT64_MAX), FVM_STRING_REPEAT()),
            VT_VALS(fvm_cstr("ab")), VT_NONE);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_ERROR);
    cr_assert_eq(fvm_vm_error_ip(t.vm), 2);
    cr_assert(strstr(fvm_vm_error(t.vm), "StringRepeat") != NULL, "%s", fvm_vm_error(t.vm));
    vt_close(&t);
}

Test(strings, string_len)
{
    VT_EXPECT_INT(VT_APPLY(FVM_STRING_LEN(), fvm_cstr("\xc3\xa9")), 2);
    VT_EXPECT_INT(VT_APPLY(FVM_STRING_LEN(), fvm_cstr("abc")), 3);
    VT_EXPECT_INT(VT_APPLY(FVM_STRING_LEN(), fvm_str("a\0b", 3)), 3);
    VT_EXPECT_INT(VT_APPLY(FVM_STRING_LEN(), fvm_int(-99)), 3);
    VT_EXPECT_INT(VT_APPLY(FVM_STRING_LEN(), fvm_float(4.0)), 1);
    VT_EXPECT_INT(VT_APPLY(FVM_STRING_LEN(), fvm_float(0.1 + 0.2)), 19);
    VT_EXPECT_INT(VT_APPLY(FVM_STRING_LEN(), fvm_bool(false)), 0);
    VT_EXPECT_INT(VT_APPLY(FVM_STRING_LEN(), VT_ARRAY(fvm_cstr("long"), fvm_cstr("er"))), 2);
    VT_EXPECT_INT(VT_APPLY(FVM_STRING_LEN(), fvm_hash_new()), 0);
    VT_EXPECT_INT(VT_APPLY0(FVM_STRING_LEN()), 0);
}

/* ------------------------------------------------------------------------
 * Arrays in globals
 * ------------------------------------------------------------------------ */

Test(arrays, declare_push_get_len)
{
    EXPECT_RUN(VT_OPS(FVM_DECLARE_ARRAY(0), FVM_LOAD_INT(10), FVM_ARRAY_PUSH(0), FVM_LOAD_CONST(0),
                      FVM_ARRAY_PUSH(0), FVM_ARRAY_LEN(0), FVM_LOAD_INT(1), FVM_ARRAY_GET(0),
                      FVM_LOAD_CONST(1), FVM_ARRAY_GET(0), FVM_LOAD_FLOAT(1.9), FVM_ARRAY_GET(0),
                      FVM_GET_ARRAY(0)),
               VT_VALS(fvm_cstr("s"), fvm_cstr("0")), fvm_int(2), fvm_cstr("s"), fvm_int(10), fvm_cstr("s"),
               VT_ARRAY(fvm_int(10), fvm_cstr("s")));
}

Test(arrays, declare_replaces_and_empties)
{
    EXPECT_RUN(VT_OPS(FVM_LOAD_INT(5), FVM_SET_VAR(0), FVM_DECLARE_ARRAY(0), FVM_GET_VAR(0), FVM_LOAD_INT(1),
                      FVM_ARRAY_PUSH(0), FVM_DECLARE_ARRAY(0), FVM_ARRAY_LEN(0)),
               VT_NONE, VT_EMPTY_ARRAY(), fvm_int(0));
}

Test(arrays, array_set_grows_with_undef)
{
    EXPECT_RUN(VT_OPS(FVM_DECLARE_ARRAY(0), FVM_LOAD_CONST(0), FVM_LOAD_INT(3), FVM_ARRAY_SET(0),
                      FVM_LOAD_INT(7), FVM_LOAD_INT(1), FVM_ARRAY_SET(0), FVM_LOAD_INT(8), FVM_LOAD_INT(1),
                      FVM_ARRAY_SET(0), FVM_GET_ARRAY(0)),
               VT_VALS(fvm_cstr("v")), VT_ARRAY(fvm_undef(), fvm_int(8), fvm_undef(), fvm_cstr("v")));
}

Test(arrays, array_set_negative_index_ignored)
{
    vt t;
    vt_prog(&t,
            VT_OPS(FVM_DECLARE_ARRAY(0), FVM_LOAD_INT(1), FVM_ARRAY_PUSH(0), FVM_LOAD_CONST(0),
                   FVM_LOAD_INT(-1), FVM_ARRAY_SET(0), FVM_LOAD_CONST(0), FVM_LOAD_INT(INT64_MIN),
                   FVM_ARRAY_SET(0), FVM_LOAD_CONST(0), FVM_LOAD_FLOAT(-0.5), FVM_ARRAY_SET(0),
                   FVM_ARRAY_LEN(0)),
            VT_VALS(fvm_cstr("lost")), VT_NAMES("a"));
    /* -0.5 truncates to index 0, which is in range. */
    VT_EXPECT_STACK(&t, fvm_int(1));
    VT_EXPECT_GLOBAL(&t, 0, VT_ARRAY(fvm_cstr("lost")));
    vt_close(&t);
    vt_prog(&t,
            VT_OPS(FVM_DECLARE_ARRAY(0), FVM_LOAD_INT(1), FVM_ARRAY_PUSH(0), FVM_LOAD_CONST(0),
                   FVM_LOAD_INT(-1), FVM_ARRAY_SET(0)),
            VT_VALS(fvm_cstr("lost")), VT_NAMES("a"));
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    VT_EXPECT_GLOBAL(&t, 0, VT_ARRAY(fvm_int(1)));
    vt_close(&t);
}

Test(arrays, array_set_on_non_array_dropped)
{
    vt t;
    vt_prog(&t,
            VT_OPS(FVM_LOAD_INT(9), FVM_LOAD_INT(0), FVM_ARRAY_SET(0), FVM_LOAD_CONST(0), FVM_SET_VAR(1),
                   FVM_LOAD_INT(9), FVM_LOAD_INT(0), FVM_ARRAY_SET(1)),
            VT_VALS(fvm_cstr("str")), VT_NAMES("a", "b"));
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    VT_EXPECT_GLOBAL(&t, 0, fvm_undef()); /* no auto-vivification */
    VT_EXPECT_GLOBAL(&t, 1, fvm_cstr("str"));
    vt_close(&t);
}

/* An index too large to allocate is an error, not an out-of-memory abort. */
Test(arrays, array_set_huge_index_is_an_error)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_DECLARE_ARRAY(0), FVM_LOAD_INT(1), FVM_LOAD_INT(1LL << 40), FVM_ARRAY_SET(0)),
            VT_NONE, VT_NAMES("a"));
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_ERROR);
    cr_assert_eq(fvm_vm_error_ip(t.vm), 3);
    VT_EXPECT_GLOBAL(&t, 0, fvm_array_new());
    vt_close(&t);
}

Test(arrays, array_get_out_of_range)
{
    EXPECT_RUN(VT_OPS(FVM_DECLARE_ARRAY(0), FVM_LOAD_INT(1), FVM_ARRAY_PUSH(0), FVM_LOAD_INT(1),
                      FVM_ARRAY_GET(0), FVM_LOAD_INT(-1), FVM_ARRAY_GET(0), FVM_LOAD_INT(INT64_MIN),
                      FVM_ARRAY_GET(0), FVM_LOAD_INT(INT64_MAX), FVM_ARRAY_GET(0), FVM_LOAD_INT(0),
                      FVM_ARRAY_GET(1), FVM_ARRAY_GET(0)),
               VT_NONE, fvm_undef(), fvm_undef(), fvm_undef(), fvm_undef(), fvm_int(1));
}

Test(arrays, push_to_non_array_dropped)
{
    vt t;
    vt_prog(&t,
            VT_OPS(FVM_LOAD_INT(1), FVM_ARRAY_PUSH(0), FVM_LOAD_INT(4), FVM_SET_VAR(1), FVM_LOAD_INT(1),
                   FVM_ARRAY_PUSH(1), FVM_ARRAY_LEN(0), FVM_ARRAY_LEN(1)),
            VT_NONE, VT_NAMES("a", "b"));
    VT_EXPECT_STACK(&t, fvm_int(0), fvm_int(0));
    VT_EXPECT_GLOBAL(&t, 0, fvm_undef());
    VT_EXPECT_GLOBAL(&t, 1, fvm_int(4));
    vt_close(&t);
}

Test(arrays, pop_and_shift)
{
    EXPECT_RUN(VT_OPS(FVM_DECLARE_ARRAY(0), FVM_LOAD_INT(1), FVM_ARRAY_PUSH(0), FVM_LOAD_INT(2),
                      FVM_ARRAY_PUSH(0), FVM_LOAD_INT(3), FVM_ARRAY_PUSH(0), FVM_ARRAY_POP(0), FVM_ARRAY_SHIFT(0),
                      FVM_GET_ARRAY(0), FVM_ARRAY_SHIFT(0), FVM_ARRAY_SHIFT(0), FVM_ARRAY_POP(0),
                      FVM_ARRAY_POP(1), FVM_ARRAY_SHIFT(1), FVM_ARRAY_LEN(0)),
               VT_NONE, fvm_int(3), fvm_int(1), VT_ARRAY(fvm_int(2)), fvm_int(2), fvm_undef(), fvm_undef(),
               fvm_undef(), fvm_undef(), fvm_int(0));
}

/* Popping from a global does not disturb a copy taken earlier. */
Test(arrays, pop_copy_on_write)
{
    EXPECT_RUN(VT_OPS(FVM_DECLARE_ARRAY(0), FVM_LOAD_INT(1), FVM_ARRAY_PUSH(0), FVM_LOAD_INT(2),
                      FVM_ARRAY_PUSH(0), FVM_GET_ARRAY(0), FVM_ARRAY_POP(0), FVM_ARRAY_SHIFT(0), FVM_ARRAY_LEN(0)),
               VT_NONE, VT_ARRAY(fvm_int(1), fvm_int(2)), fvm_int(2), fvm_int(1), fvm_int(0));
}

Test(arrays, make_array)
{
    EXPECT_RUN(VT_OPS(FVM_LOAD_INT(0), FVM_LOAD_INT(1), FVM_LOAD_CONST(0), FVM_LOAD_UNDEF(), FVM_MAKE_ARRAY(3)),
               VT_VALS(fvm_cstr("s")), fvm_int(0), VT_ARRAY(fvm_int(1), fvm_cstr("s"), fvm_undef()));
    EXPECT_RUN(VT_OPS(FVM_LOAD_INT(5), FVM_MAKE_ARRAY(0)), VT_NONE, fvm_int(5), VT_EMPTY_ARRAY());
    /* n greater than the depth takes what there is. */
    EXPECT_RUN(VT_OPS(FVM_LOAD_INT(1), FVM_LOAD_INT(2), FVM_MAKE_ARRAY(5)), VT_NONE,
               VT_ARRAY(fvm_int(1), fvm_int(2)));
    EXPECT_RUN(VT_OPS(FVM_MAKE_ARRAY(65535)), VT_NONE, VT_EMPTY_ARRAY());
    /* Arrays nest. */
    EXPECT_RUN(VT_OPS(FVM_LOAD_INT(1), FVM_LOAD_INT(2), FVM_MAKE_ARRAY(2), FVM_LOAD_INT(3), FVM_MAKE_ARRAY(2)),
               VT_NONE, VT_ARRAY(VT_ARRAY(fvm_int(1), fvm_int(2)), fvm_int(3)));
}

/* ------------------------------------------------------------------------
 * Hashes in globals
 * ------------------------------------------------------------------------ */

static fvm_value hash_of(const char *const *keys, const fvm_value *vals, size_t n)
{
    fvm_value h = fvm_hash_new();
    for (size_t i = 0; i < n; i++)
        fvm_hash_set(&h, keys[i], strlen(keys[i]), vals[i]);
    return h;
}
#define HASH(KEYS, VALS) hash_of(KEYS, VALS)
#define KEYS(...) ((const char *const[]){__VA_ARGS__})

Test(hashes, set_get_exists_with_string_keys)
{
    EXPECT_RUN(VT_OPS(FVM_DECLARE_HASH(0), FVM_LOAD_CONST(0), FVM_LOAD_INT(1), FVM_HASH_SET(0),
                      FVM_LOAD_INT(2), FVM_LOAD_FLOAT(4.0), FVM_HASH_SET(0), FVM_LOAD_CONST(1), FVM_HASH_GET(0),
                      FVM_LOAD_CONST(2), FVM_HASH_GET(0), FVM_LOAD_INT(1), FVM_HASH_EXISTS(0),
                      FVM_LOAD_CONST(3), FVM_HASH_EXISTS(0), FVM_LOAD_CONST(3), FVM_HASH_GET(0),
                      FVM_GET_HASH(0)),
               VT_VALS(fvm_cstr("v"), fvm_int(1), fvm_cstr("4"), fvm_cstr("x")), fvm_cstr("v"), fvm_int(2),
               fvm_bool(true), fvm_bool(false), fvm_undef(),
               HASH(KEYS("1", "4"), VT_VALS(fvm_cstr("v"), fvm_int(2))));
}

Test(hashes, non_hash_global)
{
    vt t;
    vt_prog(&t,
            VT_OPS(FVM_LOAD_INT(1), FVM_LOAD_CONST(0), FVM_HASH_SET(0), FVM_LOAD_CONST(0), FVM_HASH_GET(0),
                   FVM_LOAD_CONST(0), FVM_HASH_EXISTS(0), FVM_LOAD_CONST(0), FVM_HASH_DELETE(0),
                   FVM_HASH_KEYS(0), FVM_HASH_VALUES(1)),
            VT_VALS(fvm_cstr("k")), VT_NAMES("a", "b"));
    VT_EXPECT_STACK(&t, fvm_undef(), fvm_bool(false), fvm_undef(), VT_EMPTY_ARRAY(), VT_EMPTY_ARRAY());
    VT_EXPECT_GLOBAL(&t, 0, fvm_undef());
    vt_close(&t);
}

Test(hashes, delete_returns_old_value)
{
    EXPECT_RUN(VT_OPS(FVM_DECLARE_HASH(0), FVM_LOAD_INT(1), FVM_LOAD_CONST(0), FVM_HASH_SET(0),
                      FVM_LOAD_CONST(0), FVM_HASH_DELETE(0), FVM_LOAD_CONST(0), FVM_HASH_DELETE(0),
                      FVM_LOAD_CONST(0), FVM_HASH_EXISTS(0), FVM_GET_HASH(0)),
               VT_VALS(fvm_cstr("k")), fvm_int(1), fvm_undef(), fvm_bool(false), fvm_hash_new());
}

/* HashKeys and HashValues follow insertion order; a deleted and re-added
 * key moves to the end; overwriting keeps the place. */
Test(hashes, keys_values_order)
{
    EXPECT_RUN(VT_OPS(FVM_DECLARE_HASH(0),
                      FVM_LOAD_INT(1), FVM_LOAD_CONST(0), FVM_HASH_SET(0),  /* c = 1 */
                      FVM_LOAD_INT(2), FVM_LOAD_CONST(1), FVM_HASH_SET(0),  /* a = 2 */
                      FVM_LOAD_INT(3), FVM_LOAD_CONST(2), FVM_HASH_SET(0),  /* b = 3 */
                      FVM_LOAD_INT(4), FVM_LOAD_CONST(0), FVM_HASH_SET(0),  /* c = 4 */
                      FVM_HASH_KEYS(0), FVM_HASH_VALUES(0),
                      FVM_LOAD_CONST(1), FVM_HASH_DELETE(0), FVM_POP(),
                      FVM_LOAD_INT(5), FVM_LOAD_CONST(1), FVM_HASH_SET(0),  /* a = 5, now last */
                      FVM_HASH_KEYS(0), FVM_HASH_VALUES(0)),
               VT_VALS(fvm_cstr("c"), fvm_cstr("a"), fvm_cstr("b")),
               VT_ARRAY(fvm_cstr("c"), fvm_cstr("a"), fvm_cstr("b")), VT_ARRAY(fvm_int(4), fvm_int(2), fvm_int(3)),
               VT_ARRAY(fvm_cstr("c"), fvm_cstr("b"), fvm_cstr("a")), VT_ARRAY(fvm_int(4), fvm_int(3), fvm_int(5)));
}

Test(hashes, make_hash_counts_stack_values)
{
    EXPECT_RUN(VT_OPS(FVM_LOAD_CONST(0), FVM_LOAD_INT(7), FVM_MAKE_HASH(2)), VT_VALS(fvm_cstr("count")),
               HASH(KEYS("count"), VT_VALS(fvm_int(7))));
    EXPECT_RUN(VT_OPS(FVM_LOAD_INT(9), FVM_MAKE_HASH(0)), VT_NONE, fvm_int(9), fvm_hash_new());
}

Test(hashes, make_hash_dangling_key_and_duplicates)
{
    /* [k1, v1, k2] with n = 3: the dangling key is ignored. */
    EXPECT_RUN(VT_OPS(FVM_LOAD_CONST(0), FVM_LOAD_INT(1), FVM_LOAD_CONST(1), FVM_MAKE_HASH(3)),
               VT_VALS(fvm_cstr("k1"), fvm_cstr("k2")), HASH(KEYS("k1"), VT_VALS(fvm_int(1))));
    /* Later duplicates overwrite; keys are string forms (Int 1 and "1" are one key). */
    EXPECT_RUN(VT_OPS(FVM_LOAD_INT(1), FVM_LOAD_CONST(0), FVM_LOAD_CONST(1), FVM_LOAD_INT(2),
                      FVM_LOAD_CONST(2), FVM_LOAD_CONST(3), FVM_MAKE_HASH(6)),
               VT_VALS(fvm_cstr("one"), fvm_cstr("x"), fvm_cstr("1"), fvm_cstr("uno")),
               HASH(KEYS("1", "x"), VT_VALS(fvm_cstr("uno"), fvm_int(2))));
    /* n greater than the depth: the pairs of what there is. */
    EXPECT_RUN(VT_OPS(FVM_LOAD_CONST(0), FVM_LOAD_INT(1), FVM_LOAD_CONST(1), FVM_LOAD_INT(2), FVM_MAKE_HASH(9)),
               VT_VALS(fvm_cstr("p"), fvm_cstr("q")), HASH(KEYS("p", "q"), VT_VALS(fvm_int(1), fvm_int(2))));
    EXPECT_RUN(VT_OPS(FVM_LOAD_UNDEF(), FVM_LOAD_FLOAT(0.5), FVM_MAKE_HASH(2)), VT_NONE,
               HASH(KEYS(""), VT_VALS(fvm_float(0.5))));
}

/* Copies of a hash are independent of later HashSet/HashDelete. */
Test(hashes, copy_on_write)
{
    EXPECT_RUN(VT_OPS(FVM_DECLARE_HASH(0), FVM_LOAD_INT(1), FVM_LOAD_CONST(0), FVM_HASH_SET(0), FVM_GET_HASH(0),
                      FVM_LOAD_INT(2), FVM_LOAD_CONST(1), FVM_HASH_SET(0), FVM_LOAD_CONST(0), FVM_HASH_DELETE(0),
                      FVM_POP(), FVM_GET_HASH(0)),
               VT_VALS(fvm_cstr("k"), fvm_cstr("j")), HASH(KEYS("k"), VT_VALS(fvm_int(1))),
               HASH(KEYS("j"), VT_VALS(fvm_int(2))));
}

/* ------------------------------------------------------------------------
 * Range and RangeStep
 * ------------------------------------------------------------------------ */

#define RANGE(a, b) VT_APPLY(FVM_RANGE(), a, b)
#define RANGE_STEP(a, b, s) VT_APPLY(FVM_RANGE_STEP(), a, b, s)

Test(ranges, range)
{
    VT_EXPECT_ARRAY(RANGE(fvm_int(1), fvm_int(5)), fvm_int(1), fvm_int(2), fvm_int(3), fvm_int(4), fvm_int(5));
    VT_EXPECT_ARRAY(RANGE(fvm_int(3), fvm_int(3)), fvm_int(3));
    VT_EXPECT(RANGE(fvm_int(5), fvm_int(1)), VT_EMPTY_ARRAY());
    VT_EXPECT_ARRAY(RANGE(fvm_int(-2), fvm_int(0)), fvm_int(-2), fvm_int(-1), fvm_int(0));
    VT_EXPECT_ARRAY(RANGE(fvm_cstr("2"), fvm_float(4.9)), fvm_int(2), fvm_int(3), fvm_int(4));
    VT_EXPECT_ARRAY(VT_APPLY0(FVM_RANGE()), fvm_int(0)); /* Undef..Undef is 0..=0 */
}

Test(ranges, range_near_limits_terminates, .timeout = 10)
{
    VT_EXPECT_ARRAY(RANGE(fvm_int(INT64_MAX - 2), fvm_int(INT64_MAX)), fvm_int(INT64_MAX - 2),
                    fvm_int(INT64_MAX - 1), fvm_int(INT64_MAX));
    VT_EXPECT_ARRAY(RANGE(fvm_int(INT64_MIN), fvm_int(INT64_MIN + 1)), fvm_int(INT64_MIN), fvm_int(INT64_MIN + 1));
    VT_EXPECT(RANGE(fvm_int(INT64_MAX), fvm_int(INT64_MIN)), VT_EMPTY_ARRAY());
}

/* A range too large to build is an error, not an out-of-memory abort. */
Test(ranges, huge_range_is_an_error, .timeout = 10)
{
    fvm_result r = vt_eval(VT_OPS(FVM_LOAD_INT(INT64_MIN), FVM_LOAD_INT(INT64_MAX), FVM_RANGE()), VT_NONE, VT_NONE);
    cr_assert_eq(r.status, FVM_RUN_ERROR);
    r = vt_eval(VT_OPS(FVM_LOAD_INT(0), FVM_LOAD_INT(INT64_MAX), FVM_LOAD_INT(1), FVM_RANGE_STEP()), VT_NONE,
                VT_NONE);
    cr_assert_eq(r.status, FVM_RUN_ERROR);
}

Test(ranges, range_step)
{
    VT_EXPECT_ARRAY(RANGE_STEP(fvm_int(1), fvm_int(10), fvm_int(3)), fvm_int(1), fvm_int(4), fvm_int(7),
                    fvm_int(10));
    VT_EXPECT_ARRAY(RANGE_STEP(fvm_int(1), fvm_int(9), fvm_int(3)), fvm_int(1), fvm_int(4), fvm_int(7));
    VT_EXPECT_ARRAY(RANGE_STEP(fvm_int(10), fvm_int(1), fvm_int(-3)), fvm_int(10), fvm_int(7), fvm_int(4),
                    fvm_int(1));
    VT_EXPECT_ARRAY(RANGE_STEP(fvm_int(5), fvm_int(5), fvm_int(-1)), fvm_int(5));
    VT_EXPECT(RANGE_STEP(fvm_int(1), fvm_int(10), fvm_int(0)), VT_EMPTY_ARRAY());
    VT_EXPECT(RANGE_STEP(fvm_int(1), fvm_int(1), fvm_int(0)), VT_EMPTY_ARRAY());
    VT_EXPECT(RANGE_STEP(fvm_int(1), fvm_int(10), fvm_int(-1)), VT_EMPTY_ARRAY());
    VT_EXPECT(RANGE_STEP(fvm_int(10), fvm_int(1), fvm_int(1)), VT_EMPTY_ARRAY());
    VT_EXPECT_ARRAY(RANGE_STEP(fvm_int(0), fvm_int(5), fvm_float(2.5)), fvm_int(0), fvm_int(2), fvm_int(4));
    VT_EXPECT(RANGE_STEP(fvm_int(0), fvm_int(5), fvm_cstr("2.5")), VT_EMPTY_ARRAY()); /* step 0 */
}

/* Near the i64 limits the range stops before the next value would
 * overflow. */
Test(ranges, range_step_near_limits_terminates, .timeout = 10)
{
    VT_EXPECT_ARRAY(RANGE_STEP(fvm_int(INT64_MAX - 5), fvm_int(INT64_MAX), fvm_int(2)), fvm_int(INT64_MAX - 5),
                    fvm_int(INT64_MAX - 3), fvm_int(INT64_MAX - 1));
    VT_EXPECT_ARRAY(RANGE_STEP(fvm_int(INT64_MAX - 1), fvm_int(INT64_MAX), fvm_int(1)), fvm_int(INT64_MAX - 1),
                    fvm_int(INT64_MAX));
    VT_EXPECT_ARRAY(RANGE_STEP(fvm_int(INT64_MIN + 5), fvm_int(INT64_MIN), fvm_int(-2)), fvm_int(INT64_MIN + 5),
                    fvm_int(INT64_MIN + 3), fvm_int(INT64_MIN + 1));
    VT_EXPECT_ARRAY(RANGE_STEP(fvm_int(INT64_MIN), fvm_int(INT64_MAX), fvm_int(INT64_MAX)), fvm_int(INT64_MIN),
                    fvm_int(-1), fvm_int(INT64_MAX - 1));
    VT_EXPECT_ARRAY(RANGE_STEP(fvm_int(INT64_MAX), fvm_int(INT64_MIN), fvm_int(INT64_MIN)), fvm_int(INT64_MAX),
                    fvm_int(-1));
    VT_EXPECT_ARRAY(RANGE_STEP(fvm_int(INT64_MIN), fvm_int(INT64_MIN), fvm_int(INT64_MIN)), fvm_int(INT64_MIN));
    VT_EXPECT_ARRAY(RANGE_STEP(fvm_int(0), fvm_int(INT64_MAX), fvm_int(INT64_MAX)), fvm_int(0),
                    fvm_int(INT64_MAX));
}

/* ------------------------------------------------------------------------
 * SlotArrayGet / SlotArraySet
 * ------------------------------------------------------------------------ */

Test(slot_arrays, get)
{
    EXPECT_RUN(VT_OPS(FVM_LOAD_CONST(0), FVM_SET_SLOT(0), FVM_LOAD_INT(1), FVM_SLOT_ARRAY_GET(0),
                      FVM_LOAD_INT(-1), FVM_SLOT_ARRAY_GET(0), FVM_LOAD_INT(2), FVM_SLOT_ARRAY_GET(0),
                      FVM_LOAD_CONST(1), FVM_SLOT_ARRAY_GET(0), FVM_LOAD_INT(0), FVM_SLOT_ARRAY_GET(1),
                      FVM_LOAD_INT(0), FVM_SLOT_ARRAY_GET(7)),
               VT_VALS(VT_ARRAY(fvm_int(10), fvm_int(20)), fvm_cstr("0")), fvm_int(20), fvm_undef(), fvm_undef(),
               fvm_int(10), fvm_undef(), fvm_undef());
}

Test(slot_arrays, set_grows_and_ignores_negative)
{
    vt t;
    vt_prog(&t,
            VT_OPS(FVM_LOAD_CONST(0), FVM_SET_SLOT(0), FVM_LOAD_INT(5), FVM_LOAD_INT(2), FVM_SLOT_ARRAY_SET(0),
                   FVM_LOAD_INT(6), FVM_LOAD_INT(-1), FVM_SLOT_ARRAY_SET(0), FVM_LOAD_INT(7),
                   FVM_LOAD_INT(INT64_MIN), FVM_SLOT_ARRAY_SET(0), FVM_LOAD_INT(8), FVM_LOAD_INT(0),
                   FVM_SLOT_ARRAY_SET(0), FVM_GET_SLOT(0)),
            VT_VALS(VT_ARRAY(fvm_int(1))), VT_NONE);
    VT_EXPECT_STACK(&t, VT_ARRAY(fvm_int(8), fvm_undef(), fvm_int(5)));
    vt_close(&t);
}

Test(slot_arrays, set_on_non_array_slot_dropped)
{
    vt t;
    vt_prog(&t,
            VT_OPS(FVM_LOAD_INT(3), FVM_SET_SLOT(0), FVM_LOAD_INT(5), FVM_LOAD_INT(0), FVM_SLOT_ARRAY_SET(0),
                   FVM_LOAD_INT(5), FVM_LOAD_INT(0), FVM_SLOT_ARRAY_SET(2), FVM_GET_SLOT(0), FVM_GET_SLOT(2)),
            VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(3), fvm_undef());
    cr_assert_eq(fvm_vm_frame_slot_count(t.vm, 0), 1);
    vt_close(&t);
}

/* The slot's array is a copy of the global's: setting an element through
 * the slot leaves the global alone. */
Test(slot_arrays, set_copy_on_write)
{
    vt t;
    vt_prog(&t,
            VT_OPS(FVM_DECLARE_ARRAY(0), FVM_LOAD_INT(1), FVM_ARRAY_PUSH(0), FVM_GET_ARRAY(0), FVM_SET_SLOT(0),
                   FVM_LOAD_INT(9), FVM_LOAD_INT(0), FVM_SLOT_ARRAY_SET(0), FVM_GET_SLOT(0), FVM_GET_ARRAY(0)),
            VT_NONE, VT_NAMES("a"));
    VT_EXPECT_STACK(&t, VT_ARRAY(fvm_int(9)), VT_ARRAY(fvm_int(1)));
    vt_close(&t);
}

/* ------------------------------------------------------------------------
 * A collection stored into itself holds a copy, not a cycle
 * ------------------------------------------------------------------------ */

Test(arrays, push_array_into_itself)
{
    EXPECT_RUN(VT_OPS(FVM_DECLARE_ARRAY(0), FVM_LOAD_INT(1), FVM_ARRAY_PUSH(0), FVM_GET_ARRAY(0), FVM_ARRAY_PUSH(0),
                      FVM_GET_ARRAY(0), FVM_LOAD_INT(0), FVM_ARRAY_SET(0), FVM_GET_ARRAY(0)),
               VT_NONE, VT_ARRAY(VT_ARRAY(fvm_int(1), VT_ARRAY(fvm_int(1))), VT_ARRAY(fvm_int(1))));
}

Test(hashes, set_hash_into_itself)
{
    EXPECT_RUN(VT_OPS(FVM_DECLARE_HASH(0), FVM_GET_HASH(0), FVM_LOAD_CONST(0), FVM_HASH_SET(0), FVM_GET_HASH(0),
                      FVM_LOAD_CONST(0), FVM_HASH_SET(0), FVM_GET_HASH(0)),
               VT_VALS(fvm_cstr("self")),
               HASH(KEYS("self"), VT_VALS(HASH(KEYS("self"), VT_VALS(fvm_hash_new())))));
}
