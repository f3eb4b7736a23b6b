/* The value model (docs/OPS.md, "Values and coercions"): truthiness,
 * to_int / to_float / to_str on every variant, len(), structural equality,
 * copy-on-write, hash order. */
#include "vmtest.h"

#include "value.h"

static fvm_value int_array(int n)
{
    fvm_value a = fvm_array_new();
    for (int i = 1; i <= n; i++)
        fvm_array_push(&a, fvm_int(i));
    return a;
}

static fvm_value one_entry_hash(void)
{
    fvm_value h = fvm_hash_new();
    fvm_hash_set(&h, "k", 1, fvm_int(1));
    return h;
}

static bool truthy_drop(fvm_value v)
{
    bool t = fvm_truthy(v);
    fvm_value_drop(v);
    return t;
}

static int64_t to_int_drop(fvm_value v)
{
    int64_t n = fvm_to_int(v);
    fvm_value_drop(v);
    return n;
}

static double to_float_drop(fvm_value v)
{
    double d = fvm_to_float(v);
    fvm_value_drop(v);
    return d;
}

static void expect_to_str(fvm_value v, const char *want)
{
    fvm_value s = fvm_to_str(v);
    VT_EXPECT_STR(s, want);
    fvm_value_drop(v);
}

/* ------------------------------------------------------------------------
 * Truthiness
 * ------------------------------------------------------------------------ */

Test(values, truthy_scalars)
{
    cr_assert_not(fvm_truthy(fvm_undef()));
    cr_assert(fvm_truthy(fvm_bool(true)));
    cr_assert_not(fvm_truthy(fvm_bool(false)));
    cr_assert(fvm_truthy(fvm_int(1)));
    cr_assert(fvm_truthy(fvm_int(-1)));
    cr_assert(fvm_truthy(fvm_int(INT64_MIN)));
    cr_assert_not(fvm_truthy(fvm_int(0)));
    cr_assert(fvm_truthy(fvm_float(0.5)));
    cr_assert_not(fvm_truthy(fvm_float(0.0)));
    cr_assert_not(fvm_truthy(fvm_float(-0.0)));
    cr_assert(fvm_truthy(fvm_float(NAN)));
    cr_assert(fvm_truthy(fvm_float(-NAN)));
    cr_assert(fvm_truthy(fvm_float(INFINITY)));
    cr_assert(fvm_truthy(fvm_float(-INFINITY)));
    cr_assert(fvm_truthy(fvm_float(5e-324)));
}

Test(values, truthy_strings)
{
    cr_assert_not(truthy_drop(fvm_cstr("")));
    cr_assert_not(truthy_drop(fvm_cstr("0")));
    cr_assert(truthy_drop(fvm_cstr("0.0")));
    cr_assert(truthy_drop(fvm_cstr(" 0")));
    cr_assert(truthy_drop(fvm_cstr("0 ")));
    cr_assert(truthy_drop(fvm_cstr("00")));
    cr_assert(truthy_drop(fvm_cstr("-0")));
    cr_assert(truthy_drop(fvm_cstr("a")));
    cr_assert(truthy_drop(fvm_cstr("false")));
    cr_assert(truthy_drop(fvm_str("\0", 1)));
}

Test(values, truthy_collections_and_others)
{
    cr_assert_not(truthy_drop(fvm_array_new()));
    cr_assert(truthy_drop(int_array(1)));
    fvm_value undef_only = fvm_array_new();
    fvm_array_push(&undef_only, fvm_undef());
    cr_assert(truthy_drop(undef_only)); /* non-empty, whatever it holds */
    cr_assert_not(truthy_drop(fvm_hash_new()));
    cr_assert(truthy_drop(one_entry_hash()));
    cr_assert(fvm_truthy(fvm_status(0)));
    cr_assert_not(fvm_truthy(fvm_status(1)));
    cr_assert_not(fvm_truthy(fvm_status(-1)));
    cr_assert(truthy_drop(fvm_ref_new(fvm_undef())));
    cr_assert(truthy_drop(fvm_ref_new(fvm_bool(false))));
    cr_assert(fvm_truthy(fvm_nativefn(0)));
    cr_assert(fvm_truthy(fvm_obj(0)));
}

/* LogNot in the VM agrees with fvm_truthy on every variant. */
Test(values, lognot_matches_truthy)
{
    fvm_value vals[] = {fvm_undef(), fvm_bool(true), fvm_bool(false), fvm_int(0), fvm_int(3),
                        fvm_float(-0.0), fvm_float(NAN), fvm_cstr("0"), fvm_cstr("0.0"), fvm_cstr(""),
                        fvm_array_new(), int_array(2), fvm_hash_new(), one_entry_hash(),
                        fvm_status(0), fvm_status(2), fvm_ref_new(fvm_int(0)), fvm_nativefn(3)};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        bool t = fvm_truthy(vals[i]);
        VT_EXPECT_BOOL(VT_APPLY(FVM_LOG_NOT(), fvm_value_copy(vals[i])), !t);
        fvm_value_drop(vals[i]);
    }
}

/* ------------------------------------------------------------------------
 * to_int / to_float
 * ------------------------------------------------------------------------ */

Test(values, to_int_variants)
{
    cr_assert_eq(fvm_to_int(fvm_undef()), 0);
    cr_assert_eq(fvm_to_int(fvm_bool(true)), 1);
    cr_assert_eq(fvm_to_int(fvm_bool(false)), 0);
    cr_assert_eq(fvm_to_int(fvm_int(-42)), -42);
    cr_assert_eq(fvm_to_int(fvm_int(INT64_MIN)), INT64_MIN);
    cr_assert_eq(fvm_to_int(fvm_status(7)), 7);
    cr_assert_eq(fvm_to_int(fvm_status(-3)), -3);
    cr_assert_eq(to_int_drop(int_array(3)), 3); /* element count */
    cr_assert_eq(to_int_drop(fvm_array_new()), 0);
    cr_assert_eq(to_int_drop(one_entry_hash()), 0);
    cr_assert_eq(to_int_drop(fvm_ref_new(fvm_int(5))), 0);
    cr_assert_eq(fvm_to_int(fvm_nativefn(9)), 0);
}

Test(values, to_int_floats_truncate_and_saturate)
{
    cr_assert_eq(fvm_to_int(fvm_float(2.5)), 2);
    cr_assert_eq(fvm_to_int(fvm_float(2.999)), 2);
    cr_assert_eq(fvm_to_int(fvm_float(-2.5)), -2);
    cr_assert_eq(fvm_to_int(fvm_float(-0.0)), 0);
    cr_assert_eq(fvm_to_int(fvm_float(NAN)), 0);
    cr_assert_eq(fvm_to_int(fvm_float(-NAN)), 0);
    cr_assert_eq(fvm_to_int(fvm_float(INFINITY)), INT64_MAX);
    cr_assert_eq(fvm_to_int(fvm_float(-INFINITY)), INT64_MIN);
    cr_assert_eq(fvm_to_int(fvm_float(9223372036854775808.0)), INT64_MAX); /* 2^63 */
    cr_assert_eq(fvm_to_int(fvm_float(1e19)), INT64_MAX);
    cr_assert_eq(fvm_to_int(fvm_float(-9223372036854775808.0)), INT64_MIN);
    cr_assert_eq(fvm_to_int(fvm_float(-1e19)), INT64_MIN);
    cr_assert_eq(fvm_to_int(fvm_float(9223372036854774784.0)), 9223372036854774784); /* largest < 2^63 */
}

Test(values, to_int_strict_string_parse)
{
    static const struct {
        const char *s;
        int64_t want;
    } cases[] = {
        {"0", 0}, {"42", 42}, {"-42", -42}, {"+5", 5}, {"007", 7}, {"-007", -7},
        {"9223372036854775807", INT64_MAX}, {"-9223372036854775808", INT64_MIN},
        {"9223372036854775808", 0}, {"-9223372036854775809", 0}, {"99999999999999999999", 0},
        {"", 0}, {"+", 0}, {"-", 0}, {"+-1", 0}, {"--1", 0}, {" 5", 0}, {"5 ", 0}, {"\t5", 0},
        {"5\n", 0}, {"4.0", 0}, {"4.5", 0}, {"1e3", 0}, {"0x10", 0}, {"1_000", 0}, {"abc", 0},
        {"12abc", 0}, {"١", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert_eq(to_int_drop(fvm_cstr(cases[i].s)), cases[i].want, "to_int(\"%s\")", cases[i].s);
    cr_assert_eq(to_int_drop(fvm_str("1\0", 2)), 0); /* an embedded NUL is not a digit */
}

Test(values, to_float_variants)
{
    cr_assert_eq(fvm_to_float(fvm_undef()), 0.0);
    cr_assert_eq(fvm_to_float(fvm_bool(true)), 1.0);
    cr_assert_eq(fvm_to_float(fvm_bool(false)), 0.0);
    cr_assert_eq(fvm_to_float(fvm_int(-3)), -3.0);
    cr_assert_eq(fvm_to_float(fvm_int(INT64_MAX)), 9223372036854775808.0); /* nearest double */
    cr_assert_eq(fvm_to_float(fvm_int((1LL << 53) + 1)), 9007199254740992.0);
    cr_assert_eq(fvm_to_float(fvm_float(2.5)), 2.5);
    cr_assert_eq(vt_double_bits(fvm_to_float(fvm_float(-0.0))), vt_double_bits(-0.0));
    cr_assert(isnan(fvm_to_float(fvm_float(NAN))));
    cr_assert_eq(fvm_to_float(fvm_status(4)), 4.0);
    cr_assert_eq(to_float_drop(int_array(3)), 0.0); /* unlike to_int */
    cr_assert_eq(to_float_drop(one_entry_hash()), 0.0);
    cr_assert_eq(to_float_drop(fvm_ref_new(fvm_float(1.0))), 0.0);
    cr_assert_eq(fvm_to_float(fvm_nativefn(2)), 0.0);
}

Test(values, to_float_strict_string_parse)
{
    static const struct {
        const char *s;
        double want;
    } cases[] = {
        {"3.25", 3.25}, {"-3.25", -3.25}, {"+3.25", 3.25}, {".5", 0.5}, {"5.", 5.0}, {"-.5", -0.5},
        {"1e3", 1000.0}, {"1E3", 1000.0}, {"1e+3", 1000.0}, {"1e-2", 0.01}, {"2.5E-1", 0.25},
        {"007", 7.0}, {"0.1", 0.1}, {"1e400", INFINITY}, {"-1e400", -INFINITY}, {"1e-400", 0.0},
        {"inf", INFINITY}, {"INF", INFINITY}, {"-inf", -INFINITY}, {"+Infinity", INFINITY},
        {"infinity", INFINITY}, {"-INFINITY", -INFINITY},
        {"", 0.0}, {".", 0.0}, {"-", 0.0}, {"e5", 0.0}, {"1e", 0.0}, {"1e+", 0.0}, {" 1", 0.0},
        {"1 ", 0.0}, {"0x10", 0.0}, {"1_0", 0.0}, {"1.2.3", 0.0}, {"infinit", 0.0}, {"infx", 0.0},
        {"1,5", 0.0}, {"--1", 0.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got = to_float_drop(fvm_cstr(cases[i].s));
        cr_assert_eq(vt_double_bits(got), vt_double_bits(cases[i].want), "to_float(\"%s\") = %g",
                     cases[i].s, got);
    }
    cr_assert(isnan(to_float_drop(fvm_cstr("nan"))));
    cr_assert(isnan(to_float_drop(fvm_cstr("NaN"))));
    cr_assert(isnan(to_float_drop(fvm_cstr("-nan"))));
    cr_assert(isnan(to_float_drop(fvm_cstr("+NAN"))));
    cr_assert_eq(vt_double_bits(to_float_drop(fvm_cstr("-0"))), vt_double_bits(-0.0));
}

/* ------------------------------------------------------------------------
 * to_str
 * ------------------------------------------------------------------------ */

Test(values, to_str_variants)
{
    expect_to_str(fvm_cstr("as is"), "as is");
    expect_to_str(fvm_int(-42), "-42");
    expect_to_str(fvm_int(INT64_MIN), "-9223372036854775808");
    expect_to_str(fvm_bool(true), "1");
    expect_to_str(fvm_bool(false), "");
    expect_to_str(fvm_undef(), "");
    expect_to_str(fvm_status(0), "0");
    expect_to_str(fvm_status(-1), "-1");
    expect_to_str(one_entry_hash(), "(hash)");
    expect_to_str(fvm_hash_new(), "(hash)");
    expect_to_str(fvm_ref_new(fvm_int(1)), "(ref)");
    expect_to_str(fvm_nativefn(7), "(builtin:7)");
    expect_to_str(fvm_obj(12), "(obj:12)");
    expect_to_str(fvm_array_new(), "");
    expect_to_str(int_array(3), "1 2 3");
}

Test(values, to_str_nested_arrays)
{
    fvm_value inner = int_array(2);
    fvm_value outer = fvm_array_new();
    fvm_array_push(&outer, inner);
    fvm_array_push(&outer, fvm_int(3));
    expect_to_str(outer, "1 2 3"); /* [[1,2],3] */

    fvm_value mixed = fvm_array_new();
    fvm_array_push(&mixed, fvm_float(4.0));
    fvm_array_push(&mixed, fvm_undef());
    fvm_array_push(&mixed, fvm_array_new());
    fvm_array_push(&mixed, fvm_cstr("x"));
    fvm_array_push(&mixed, fvm_bool(false));
    fvm_array_push(&mixed, one_entry_hash());
    expect_to_str(mixed, "4   x  (hash)"); /* empty elements still get their separators */
}

Test(values, to_str_float_table)
{
    static const struct {
        double d;
        const char *want;
    } cases[] = {
        {4.0, "4"},
        {1.5, "1.5"},
        {0.1, "0.1"},
        {0.1 + 0.2, "0.30000000000000004"},
        {-1.0 / 3.0, "-0.3333333333333333"},
        {-0.0, "-0"},
        {1e16, "10000000000000000"},
        {1.2345678901234568e17, "123456789012345680"},
        {1e21, "1000000000000000000000"},
        {2.5e-5, "0.000025"},
        {1e-7, "0.0000001"},
        {NAN, "NaN"},
        {INFINITY, "inf"},
        {-INFINITY, "-inf"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_to_str(fvm_float(cases[i].d), cases[i].want);

    char want[400];
    want[0] = '1';
    memset(want + 1, '0', 300);
    want[301] = 0;
    expect_to_str(fvm_float(1e300), want);

    memcpy(want, "0.", 2);
    memset(want + 2, '0', 323);
    want[325] = '5';
    want[326] = 0;
    expect_to_str(fvm_float(5e-324), want);
}

/* ------------------------------------------------------------------------
 * len() and equality
 * ------------------------------------------------------------------------ */

Test(values, len_of_every_variant)
{
    fvm_value e_acute = fvm_cstr("\xc3\xa9");
    cr_assert_eq(fvm_value_len(e_acute), 2); /* UTF-8 bytes */
    fvm_value_drop(e_acute);
    fvm_value nul = fvm_str("a\0b", 3);
    cr_assert_eq(fvm_value_len(nul), 3);
    fvm_value_drop(nul);
    fvm_value arr = int_array(4), h = one_entry_hash();
    cr_assert_eq(fvm_value_len(arr), 4);
    cr_assert_eq(fvm_value_len(h), 1);
    fvm_value_drop(arr);
    fvm_value_drop(h);
    cr_assert_eq(fvm_value_len(fvm_int(-99)), 3);
    cr_assert_eq(fvm_value_len(fvm_undef()), 0);
    cr_assert_eq(fvm_value_len(fvm_float(1.5)), 3);
    cr_assert_eq(fvm_value_len(fvm_float(4.0)), 1);
    cr_assert_eq(fvm_value_len(fvm_bool(true)), 1);
    cr_assert_eq(fvm_value_len(fvm_bool(false)), 0);
    cr_assert_eq(fvm_value_len(fvm_status(127)), 3);
    cr_assert_eq(fvm_value_len(fvm_nativefn(12)), 12); /* "(builtin:12)" */
}

Test(values, equality_needs_same_variant)
{
    cr_assert_not(fvm_value_equal(fvm_int(1), fvm_float(1.0)));
    cr_assert_not(fvm_value_equal(fvm_int(1), fvm_bool(true)));
    cr_assert_not(fvm_value_equal(fvm_int(0), fvm_status(0)));
    cr_assert_not(fvm_value_equal(fvm_undef(), fvm_int(0)));
    cr_assert(fvm_value_equal(fvm_undef(), fvm_undef()));
    cr_assert_not(fvm_value_equal(fvm_float(NAN), fvm_float(NAN)));
    cr_assert(fvm_value_equal(fvm_float(0.0), fvm_float(-0.0)));
    cr_assert(fvm_value_equal(fvm_status(3), fvm_status(3)));
    cr_assert(fvm_value_equal(fvm_nativefn(3), fvm_nativefn(3)));
    cr_assert_not(fvm_value_equal(fvm_nativefn(3), fvm_nativefn(4)));
    fvm_value a = fvm_cstr("1"), b = fvm_cstr("1"), c = fvm_str("1\0", 2);
    cr_assert(fvm_value_equal(a, b));
    cr_assert_not(fvm_value_equal(a, c));
    cr_assert_not(fvm_value_equal(a, fvm_int(1)));
    fvm_value_drop(a);
    fvm_value_drop(b);
    fvm_value_drop(c);
}

Test(values, equality_of_collections)
{
    fvm_value x = int_array(3), y = int_array(3), z = int_array(2);
    cr_assert(fvm_value_equal(x, y));
    cr_assert_not(fvm_value_equal(x, z));
    fvm_array_push(&z, fvm_float(3.0));
    cr_assert_not(fvm_value_equal(x, z)); /* Float(3.0) is not Int(3) */

    fvm_value h1 = fvm_hash_new(), h2 = fvm_hash_new();
    fvm_hash_set(&h1, "a", 1, fvm_int(1));
    fvm_hash_set(&h1, "b", 1, fvm_int(2));
    fvm_hash_set(&h2, "b", 1, fvm_int(2));
    fvm_hash_set(&h2, "a", 1, fvm_int(1));
    cr_assert(fvm_value_equal(h1, h2)); /* maps: order does not matter */
    fvm_hash_set(&h2, "a", 1, fvm_int(9));
    cr_assert_not(fvm_value_equal(h1, h2));

    fvm_value r1 = fvm_ref_new(fvm_int(1)), r2 = fvm_ref_new(fvm_int(1));
    cr_assert(fvm_value_equal(r1, r2));
    fvm_value_drop(x);
    fvm_value_drop(y);
    fvm_value_drop(z);
    fvm_value_drop(h1);
    fvm_value_drop(h2);
    fvm_value_drop(r1);
    fvm_value_drop(r2);
}

/* ------------------------------------------------------------------------
 * Copy-on-write and hash order
 * ------------------------------------------------------------------------ */

Test(values, copied_array_unaffected_by_push)
{
    fvm_value orig = int_array(2);
    fvm_value copy = fvm_value_copy(orig);
    cr_assert_eq(fvm_array_push(&orig, fvm_int(3)), 0);
    VT_EXPECT_ARRAY(copy, fvm_int(1), fvm_int(2));
    VT_EXPECT_ARRAY(orig, fvm_int(1), fvm_int(2), fvm_int(3));
}

Test(values, copied_array_unaffected_through_nesting)
{
    fvm_value inner = int_array(1);
    fvm_value outer = fvm_array_new();
    fvm_array_push(&outer, fvm_value_copy(inner));
    fvm_array_push(&inner, fvm_int(2));
    VT_EXPECT(fvm_value_copy(fvm_array_at(outer, 0)), VT_ARRAY(fvm_int(1)));
    fvm_value_drop(inner);
    fvm_value_drop(outer);
}

Test(values, copied_hash_unaffected_by_set)
{
    fvm_value orig = one_entry_hash();
    fvm_value copy = fvm_value_copy(orig);
    fvm_hash_set(&orig, "k", 1, fvm_int(2));
    fvm_hash_set(&orig, "new", 3, fvm_int(3));
    cr_assert_eq(fvm_hash_count(copy), 1);
    VT_EXPECT_INT(fvm_value_copy(fvm_hash_get(copy, "k", 1)), 1);
    VT_EXPECT_INT(fvm_value_copy(fvm_hash_get(orig, "k", 1)), 2);
    fvm_value_drop(orig);
    fvm_value_drop(copy);
}

/* In the VM: GetVar copies; ArrayPush on the global leaves the copy alone. */
Test(values, vm_copy_in_copy_out)
{
    vt t;
    vt_prog(&t,
            VT_OPS(FVM_DECLARE_ARRAY(0), FVM_LOAD_INT(1), FVM_ARRAY_PUSH(0), FVM_GET_VAR(0),
                   FVM_SET_VAR(1), FVM_LOAD_INT(2), FVM_ARRAY_PUSH(0), FVM_GET_VAR(1)),
            VT_NONE, VT_NAMES("a", "b"));
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_OK);
    VT_EXPECT(fvm_value_copy(t.r.value), VT_ARRAY(fvm_int(1)));
    VT_EXPECT_GLOBAL(&t, 0, VT_ARRAY(fvm_int(1), fvm_int(2)));
    vt_close(&t);
}

static void expect_keys(fvm_value h, const char *const *keys, size_t n)
{
    cr_assert_eq(fvm_hash_count(h), n);
    for (size_t i = 0; i < n; i++) {
        const char *k;
        size_t kn;
        fvm_value v;
        cr_assert(fvm_hash_entry(h, i, &k, &kn, &v));
        cr_assert(kn == strlen(keys[i]) && memcmp(k, keys[i], kn) == 0, "entry %zu is %.*s, want %s",
                  i, (int)kn, k, keys[i]);
    }
    const char *k;
    size_t kn;
    fvm_value v;
    cr_assert_not(fvm_hash_entry(h, n, &k, &kn, &v));
}

Test(values, hash_insertion_order_delete_reinsert)
{
    fvm_value h = fvm_hash_new();
    fvm_hash_set(&h, "c", 1, fvm_int(1));
    fvm_hash_set(&h, "a", 1, fvm_int(2));
    fvm_hash_set(&h, "b", 1, fvm_int(3));
    expect_keys(h, (const char *const[]){"c", "a", "b"}, 3);
    fvm_hash_set(&h, "c", 1, fvm_int(10)); /* overwrite keeps the position */
    expect_keys(h, (const char *const[]){"c", "a", "b"}, 3);
    VT_EXPECT_INT(fvm_value_copy(fvm_hash_get(h, "c", 1)), 10);

    VT_EXPECT_INT(fvm_hash_remove(h.as.h, "a", 1), 2);
    VT_EXPECT_UNDEF(fvm_hash_remove(h.as.h, "a", 1));
    expect_keys(h, (const char *const[]){"c", "b"}, 2);
    VT_EXPECT_UNDEF(fvm_value_copy(fvm_hash_get(h, "a", 1)));
    fvm_hash_set(&h, "a", 1, fvm_int(20)); /* reinserted at the end */
    expect_keys(h, (const char *const[]){"c", "b", "a"}, 3);
    VT_EXPECT_INT(fvm_value_copy(fvm_hash_get(h, "a", 1)), 20);
    fvm_value_drop(h);
}

Test(values, hash_many_keys_with_churn)
{
    fvm_value h = fvm_hash_new();
    char key[16];
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(key, sizeof key, "k%d", i);
        fvm_hash_set(&h, key, (size_t)n, fvm_int(i));
    }
    for (int i = 0; i < 1000; i += 2) {
        int n = snprintf(key, sizeof key, "k%d", i);
        VT_EXPECT_INT(fvm_hash_remove(h.as.h, key, (size_t)n), i);
    }
    for (int i = 0; i < 1000; i += 4) { /* reinsert a quarter */
        int n = snprintf(key, sizeof key, "k%d", i);
        fvm_hash_set(&h, key, (size_t)n, fvm_int(-i));
    }
    cr_assert_eq(fvm_hash_count(h), 750);
    /* Odd keys first, in their order, then the reinserted ones. */
    for (size_t i = 0; i < 750; i++) {
        const char *k;
        size_t kn;
        fvm_value v;
        cr_assert(fvm_hash_entry(h, i, &k, &kn, &v));
        int want = i < 500 ? (int)(2 * i + 1) : (int)(4 * (i - 500));
        int n = snprintf(key, sizeof key, "k%d", want);
        cr_assert(kn == (size_t)n && memcmp(k, key, kn) == 0, "entry %zu: %.*s, want %s", i, (int)kn,
                  k, key);
        VT_EXPECT_INT(fvm_value_copy(v), i < 500 ? want : -want);
    }
    fvm_value_drop(h);
}
