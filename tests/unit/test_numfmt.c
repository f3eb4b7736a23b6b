/* Float formatting and the strict number parsers (docs/OPS.md, "String
 * form", "Integer coercion", "Float coercion"). */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numfmt.h"

static const char *fmt(double d)
{
    static char buf[FVM_FLOAT_TEXT_MAX];
    size_t len = fvm_format_float(d, buf, sizeof buf);
    cr_assert_eq(len, strlen(buf));
    return buf;
}

static double bits_to_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static uint64_t double_to_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

/* n copies of c after prefix, then suffix. */
static char *repeat(const char *prefix, char c, size_t n, const char *suffix)
{
    static char buf[FVM_FLOAT_TEXT_MAX];
    size_t p = strlen(prefix);
    memcpy(buf, prefix, p);
    memset(buf + p, c, n);
    strcpy(buf + p + n, suffix);
    return buf;
}

Test(numfmt, spec_table)
{
    cr_assert_str_eq(fmt(4.0), "4");
    cr_assert_str_eq(fmt(1.5), "1.5");
    cr_assert_str_eq(fmt(0.1), "0.1");
    cr_assert_str_eq(fmt(0.1 + 0.2), "0.30000000000000004");
    cr_assert_str_eq(fmt(-1.0 / 3.0), "-0.3333333333333333");
    cr_assert_str_eq(fmt(-0.0), "-0");
    cr_assert_str_eq(fmt(1e16), "10000000000000000");
    cr_assert_str_eq(fmt(1.2345678901234568e17), "123456789012345680");
    cr_assert_str_eq(fmt(1e21), "1000000000000000000000");
    cr_assert_str_eq(fmt(2.5e-5), "0.000025");
    cr_assert_str_eq(fmt(1e-7), "0.0000001");
    cr_assert_str_eq(fmt(1e300), repeat("1", '0', 300, ""));
    cr_assert_str_eq(fmt(5e-324), repeat("0.", '0', 323, "5"));
    cr_assert_str_eq(fmt(NAN), "NaN");
    cr_assert_str_eq(fmt(-NAN), "NaN");
    cr_assert_str_eq(fmt(INFINITY), "inf");
    cr_assert_str_eq(fmt(-INFINITY), "-inf");
}

Test(numfmt, more_values)
{
    cr_assert_str_eq(fmt(0.0), "0");
    cr_assert_str_eq(fmt(-42.0), "-42");
    cr_assert_str_eq(fmt(9007199254740992.0), "9007199254740992");
    cr_assert_str_eq(fmt(9007199254740994.0), "9007199254740994");
    cr_assert_str_eq(fmt(123.456), "123.456");
    cr_assert_str_eq(fmt(1e-5), "0.00001");
    cr_assert_str_eq(fmt(1.7976931348623157e308), repeat("17976931348623157", '0', 292, ""));
    cr_assert_str_eq(fmt(2.2250738585072014e-308), repeat("0.", '0', 307, "22250738585072014"));
    cr_assert_str_eq(fmt(-5e-324), repeat("-0.", '0', 323, "5"));
    /* Powers of two, where the shortest form is not the nearest rounding. */
    cr_assert_str_eq(fmt(bits_to_double(0x4340000000000000)), "9007199254740992");
    cr_assert_str_eq(fmt(ldexp(1.0, -1022)), repeat("0.", '0', 307, "22250738585072014"));
    cr_assert_str_eq(fmt(ldexp(1.0, 1023)), repeat("898846567431158", '0', 293, ""));
}

Test(numfmt, snprintf_semantics)
{
    char buf[8];
    memset(buf, 'x', sizeof buf);
    cr_assert_eq(fvm_format_float(0.30000000000000004, buf, 5), 19);
    cr_assert_str_eq(buf, "0.30");
    cr_assert_eq(buf[5], 'x');
    cr_assert_eq(fvm_format_float(1.5, NULL, 0), 3);
    cr_assert_eq(fvm_format_float(1.5, buf, 1), 3);
    cr_assert_str_eq(buf, "");
}

/* xorshift64*: a fixed sequence, so a failure reproduces. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545F4914F6CDD1Dull;
}

static void check_round_trip(double d)
{
    char buf[FVM_FLOAT_TEXT_MAX];
    size_t len = fvm_format_float(d, buf, sizeof buf);
    double back = 0;
    cr_assert(fvm_parse_float_strict(buf, len, &back), "unparsable \"%s\"", buf);
    cr_assert_eq(double_to_bits(back), double_to_bits(d), "%a printed as \"%s\"", d, buf);
}

Test(numfmt, random_round_trip)
{
    uint64_t state = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 100000; i++) {
        double d = bits_to_double(next_random(&state));
        if (isfinite(d))
            check_round_trip(d);
    }
    for (int i = 0; i < 2046; i++)
        check_round_trip(ldexp(1.0, i - 1074));
    for (int i = 0; i < 10000; i++)
        check_round_trip((double)(int64_t)next_random(&state) / 1e6);
}

/* The significant digits of a formatted float into digits (NUL-terminated):
 * leading zeros, the sign, the point and the zeros that only place an
 * integer's digits do not count. Returns how many. */
static int digit_string(const char *text, char *digits)
{
    int n = 0;
    for (const char *p = text; *p; p++)
        if (*p >= '0' && *p <= '9' && (n > 0 || *p != '0'))
            digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    return n;
}

static int significant_digits(const char *text)
{
    char digits[FVM_FLOAT_TEXT_MAX];
    return digit_string(text, digits);
}

/* Significant digits of n once its trailing zeros are dropped. */
static int significant_digits_of(uint64_t n)
{
    while (n % 10 == 0)
        n /= 10;
    int count = 0;
    for (; n; n /= 10)
        count++;
    return count;
}

/* No digit string one digit shorter, rounded to nearest, reads back. */
Test(numfmt, random_shortest)
{
    uint64_t state = 12345;
    for (int i = 0; i < 5000; i++) {
        double d = bits_to_double(next_random(&state) >> 1);
        char buf[FVM_FLOAT_TEXT_MAX], shorter[64];
        fvm_format_float(d, buf, sizeof buf);
        int sig = significant_digits(buf);
        if (sig > 1) {
            snprintf(shorter, sizeof shorter, "%.*e", sig - 2, d);
            cr_assert_neq(strtod(shorter, NULL), d, "%s is shorter than %s", shorter, buf);
        }
    }
}

/* A double read from a decimal of at most 15 significant digits prints
 * with at most as many, and reads back. */
Test(numfmt, random_short_decimals)
{
    uint64_t state = 777;
    for (int i = 0; i < 20000; i++) {
        int digits = 1 + (int)(next_random(&state) % 15);
        uint64_t n = 1 + next_random(&state) % 999999999999999ull;
        while (n >= 10 && significant_digits_of(n) > digits)
            n /= 10;
        int exp = (int)(next_random(&state) % 60) - 35;
        char text[64], buf[FVM_FLOAT_TEXT_MAX];
        snprintf(text, sizeof text, "%llue%d", (unsigned long long)n, exp);
        double d = strtod(text, NULL);
        fvm_format_float(d, buf, sizeof buf);
        cr_assert_leq(significant_digits(buf), significant_digits_of(n), "%s printed as %s", text,
                      buf);
        check_round_trip(d);
    }
}

Test(numfmt, locale_independent)
{
    const char *names[] = {"de_DE.UTF-8", "fr_FR.UTF-8", "de_DE", "C.UTF-8"};
    const char *found = NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names && !found; i++)
        found = setlocale(LC_NUMERIC, names[i]);
    double v = 0;
    cr_assert_str_eq(fmt(1.5), "1.5");
    cr_assert_str_eq(fmt(0.1 + 0.2), "0.30000000000000004");
    cr_assert(fvm_parse_float_strict("2.5", 3, &v));
    cr_assert_eq(v, 2.5);
    cr_assert(!fvm_parse_float_strict("2,5", 3, &v));
    setlocale(LC_NUMERIC, "C");
}

static bool int_ok(const char *s, int64_t want)
{
    int64_t v = -12345;
    return fvm_parse_int_strict(s, strlen(s), &v) && v == want;
}

static bool int_bad(const char *s)
{
    int64_t v;
    return !fvm_parse_int_strict(s, strlen(s), &v);
}

Test(numfmt, parse_int)
{
    cr_assert(int_ok("0", 0));
    cr_assert(int_ok("+5", 5));
    cr_assert(int_ok("-0", 0));
    cr_assert(int_ok("007", 7));
    cr_assert(int_ok("-42", -42));
    cr_assert(int_ok("9223372036854775807", INT64_MAX));
    cr_assert(int_ok("-9223372036854775808", INT64_MIN));
    cr_assert(int_bad("9223372036854775808"));
    cr_assert(int_bad("-9223372036854775809"));
    cr_assert(int_bad("99999999999999999999999"));
    cr_assert(int_bad("4.0"));
    cr_assert(int_bad("1e3"));
    cr_assert(int_bad("0x10"));
    cr_assert(int_bad("1_000"));
    cr_assert(int_bad(""));
    cr_assert(int_bad("+"));
    cr_assert(int_bad("-"));
    cr_assert(int_bad("+-1"));
    cr_assert(int_bad(" 1"));
    cr_assert(int_bad("1 "));
    int64_t v;
    cr_assert(!fvm_parse_int_strict("12\0" "3", 4, &v));
    cr_assert(fvm_parse_int_strict("123", 2, &v) && v == 12);
}

static bool float_ok(const char *s, double want)
{
    double v = -12345;
    return fvm_parse_float_strict(s, strlen(s), &v) && double_to_bits(v) == double_to_bits(want);
}

static bool float_bad(const char *s)
{
    double v;
    return !fvm_parse_float_strict(s, strlen(s), &v);
}

Test(numfmt, parse_float_accepts)
{
    cr_assert(float_ok("3.25", 3.25));
    cr_assert(float_ok(".5", 0.5));
    cr_assert(float_ok("5.", 5.0));
    cr_assert(float_ok("1e3", 1000.0));
    cr_assert(float_ok("1E+3", 1000.0));
    cr_assert(float_ok("-2.5e-3", -0.0025));
    cr_assert(float_ok("+7", 7.0));
    cr_assert(float_ok("-0", -0.0));
    cr_assert(float_ok("0.1", 0.1));
    cr_assert(float_ok("007.50", 7.5));
    cr_assert(float_ok("inf", INFINITY));
    cr_assert(float_ok("-Infinity", -INFINITY));
    cr_assert(float_ok("+INF", INFINITY));
    cr_assert(float_ok("1e400", INFINITY));
    cr_assert(float_ok("-1e99999999999999999999", -INFINITY));
    cr_assert(float_ok("1e-400", 0.0));
    cr_assert(float_ok("0e99999999999", 0.0));
    cr_assert(float_ok("0.000000000000000000000000000001e30", 1.0));
    cr_assert(float_ok("100000000000000000000000000000e-28", 10.0));
    cr_assert(float_ok("4.9406564584124654e-324", 5e-324));
    cr_assert(float_ok("2.4703282292062328e-324", 5e-324)); /* just above the halfway point */
    cr_assert(float_ok("2.4703282292062327e-324", 0.0));
    cr_assert(float_ok("9007199254740993", 9007199254740992.0)); /* tie to even */
    cr_assert(float_ok("1.7976931348623157e308", DBL_MAX));
    cr_assert(float_ok("1.7976931348623159e308", INFINITY));
    double v = 0;
    cr_assert(fvm_parse_float_strict("nan", 3, &v) && isnan(v));
    cr_assert(fvm_parse_float_strict("+NaN", 4, &v) && isnan(v));
    cr_assert(fvm_parse_float_strict("NAN", 3, &v) && isnan(v));
}

Test(numfmt, parse_float_rejects)
{
    const char *bad[] = {"e5", ".", "", "1e", "1e+", "0x10", "1_0", " 1", "1 ", "+", "-",
                         "--1", "1.2.3", "1e3x", "in", "infinit", "infinityy", "nana", "+-inf",
                         "1d3", "1.e", "e", ".e1", "1,5", "nan(1)"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert(float_bad(bad[i]), "accepted \"%s\"", bad[i]);
    double v;
    cr_assert(!fvm_parse_float_strict("1.5\0" "0", 5, &v));
    cr_assert(!fvm_parse_float_strict("\0", 1, &v));
    cr_assert(fvm_parse_float_strict("1.5x", 3, &v) && v == 1.5);
}

Test(numfmt, long_mantissa_correctly_rounded)
{
    /* 0.1 written with 800 significant digits still rounds to 0.1. */
    char buf[1000] = "0.1000000000000000055511151231257827021181583404541015625";
    size_t n = strlen(buf);
    memset(buf + n, '0', 700);
    buf[n + 700] = '\0';
    double v = 0;
    cr_assert(fvm_parse_float_strict(buf, strlen(buf), &v));
    cr_assert_eq(v, 0.1);
}

/* When the exact value lies halfway between the two shortest candidates
 * that read back, the larger magnitude wins, as in Rust's Display (printf
 * would round half to even). */
Test(numfmt, exact_ties_round_away_from_zero)
{
    /* 1000000000000000.25: ...0.2 and ...0.3 both read back. */
    cr_assert_str_eq(fmt(bits_to_double(0x430c6bf526340002)), "1000000000000000.3");
    cr_assert_str_eq(fmt(bits_to_double(0xc30c6bf526340002)), "-1000000000000000.3");
    /* Its neighbours are no ties: the nearest candidate wins. */
    cr_assert_str_eq(fmt(bits_to_double(0x430c6bf526340001)), "1000000000000000.1");
    cr_assert_str_eq(fmt(bits_to_double(0x430c6bf526340003)), "1000000000000000.4");
    /* n + 0.25 and n + 0.75 where the spacing of doubles is 0.25. */
    cr_assert_str_eq(fmt(ldexp(1.0, 50) + 0.25), "1125899906842624.3");
    cr_assert_str_eq(fmt(ldexp(1.0, 50) + 0.75), "1125899906842624.8");
    cr_assert_str_eq(fmt(-(ldexp(1.0, 50) + 0.75)), "-1125899906842624.8");
    cr_assert_str_eq(fmt(ldexp(1.0, 51) - 0.25), "2251799813685247.8");
    /* Ties at 16 digits. */
    cr_assert_str_eq(fmt(637637799964508.25), "637637799964508.3");
    cr_assert_str_eq(fmt(-637637799964508.25), "-637637799964508.3");
    cr_assert_str_eq(fmt(901349182.19140625), "901349182.1914063");
    /* Smaller magnitudes, and a power of two. */
    cr_assert_str_eq(fmt(18866.3282470703125), "18866.328247070313");
    cr_assert_str_eq(fmt(10264182957.8828125), "10264182957.882813");
    cr_assert_str_eq(fmt(ldexp(1.0, -25)), "0.000000029802322387695313");
    /* Short exact values outside the short-decimal fast path are whole. */
    cr_assert_str_eq(fmt(ldexp(1.0, 50) + 0.5), "1125899906842624.5");
    cr_assert_str_eq(fmt(ldexp(1.0, 52) - 0.5), "4503599627370495.5");
}

/* The serde_json (Ryu) rule: an exact tie takes the even last digit. */
Test(numfmt, ties_even_variant)
{
    char buf[FVM_FLOAT_TEXT_MAX];
    fvm_format_float_ties_even(bits_to_double(0x430c6bf526340002), buf, sizeof buf);
    cr_assert_str_eq(buf, "1000000000000000.2");
    fvm_format_float_ties_even(bits_to_double(0xc30c6bf526340002), buf, sizeof buf);
    cr_assert_str_eq(buf, "-1000000000000000.2");
    fvm_format_float_ties_even(ldexp(1.0, 50) + 0.75, buf, sizeof buf);
    cr_assert_str_eq(buf, "1125899906842624.8");
    fvm_format_float_ties_even(901349182.19140625, buf, sizeof buf);
    cr_assert_str_eq(buf, "901349182.1914062");
    fvm_format_float_ties_even(ldexp(1.0, -25), buf, sizeof buf);
    cr_assert_str_eq(buf, "0.000000029802322387695312");
    /* Everything else as fvm_format_float, snprintf-style included. */
    cr_assert_eq(fvm_format_float_ties_even(0.1 + 0.2, buf, 5), 19);
    cr_assert_str_eq(buf, "0.30");
    fvm_format_float_ties_even(5e-324, buf, sizeof buf);
    cr_assert_str_eq(buf, repeat("0.", '0', 323, "5"));
}

/* Random m / 2^k (m odd) whose exact expansion m * 5^k has 17 or 18
 * digits: whenever the output is one digit shorter than that expansion,
 * the expansion ends in 5 one digit further, so the output must be the
 * expansion with its last digit dropped and the one before rounded up. */
Test(numfmt, random_exact_ties)
{
    uint64_t state = 4242;
    int ties = 0;
    for (int i = 0; i < 20000; i++) {
        int k = 1 + (int)(next_random(&state) % 25);
        uint64_t pow5 = 1;
        for (int j = 0; j < k; j++)
            pow5 *= 5;
        uint64_t lo = 10000000000000000ull / pow5 + 1, hi = 999999999999999999ull / pow5;
        if (hi >= 1ull << 53)
            hi = (1ull << 53) - 1;
        if (lo > hi)
            continue;
        uint64_t m = (lo + next_random(&state) % (hi - lo + 1)) | 1;
        if (m > hi)
            m -= 2;
        uint64_t exact = m * pow5;
        char want[24], digits[FVM_FLOAT_TEXT_MAX];
        int exact_len = snprintf(want, sizeof want, "%llu", (unsigned long long)(exact / 10 + 1));
        double d = ldexp((double)m, -k);
        const char *text = fmt(d);
        check_round_trip(d);
        int len = digit_string(text, digits);
        if (len == exact_len && want[exact_len - 1] != '0') {
            cr_assert_str_eq(digits, want, "%s is %llu x 10^-%d", text, (unsigned long long)exact, k);
            ties++;
        }
    }
    cr_assert_gt(ties, 1000);
}
