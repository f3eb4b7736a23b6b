/* Number <-> text.
 *
 * Formatting follows Rust's Display for f64: the shortest digit string that
 * reads back as the same double, laid out positionally. When two equally
 * short candidates read back, the one nearer the exact value wins; when the
 * exact value lies halfway between them, the larger magnitude wins (Rust's
 * shortest-mode digit generation rounds the last digit half up, where
 * printf's "%e" rounds half to even). fvm_format_float_ties_even takes the
 * even one instead, as Ryu does for serde_json.
 *
 * Both directions are immune to LC_NUMERIC: the digits are taken out of
 * snprintf's "%e" output without looking at its decimal separator, and
 * every string handed to strtod is written as "<digits>e<exponent>", which
 * has no separator for a locale to reinterpret. */
#include "numfmt.h"
#include "util.h"

#include <fusevm.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 17 significant digits always identify a double uniquely. */
#define MAX_DIGITS 17

/* A finite positive double as decimal digits d[0..n) meaning
 * d[0].d[1]...d[n-1] x 10^exp. n reaches MAX_DIGITS + 1 only for an exact
 * value (see exact_decimal). */
typedef struct decimal {
    char d[MAX_DIGITS + 1];
    int n;
    int exp;
} decimal;

/* ------------------------------------------------------------------------
 * Shortest digits */

/* The correctly rounded ndigits-digit form of x > 0, taken from "%.*e". */
static void round_to_digits(double x, int ndigits, decimal *out)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*e", ndigits - 1, x);
    const char *p = tmp;
    out->n = 0;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && out->n < MAX_DIGITS)
            out->d[out->n++] = *p;
    out->exp = *p == 'e' ? atoi(p + 1) : 0;
}

/* The value of dec read back with strtod. */
static double decimal_value(const decimal *dec)
{
    char tmp[MAX_DIGITS + 16];
    memcpy(tmp, dec->d, (size_t)dec->n);
    snprintf(tmp + dec->n, sizeof tmp - (size_t)dec->n, "e%d", dec->exp - (dec->n - 1));
    return strtod(tmp, NULL);
}

/* Move dec one unit in its last digit, up or down, keeping n digits. */
static void step_last_digit(decimal *dec, bool up)
{
    int i = dec->n - 1;
    if (up) {
        while (i >= 0 && dec->d[i] == '9')
            dec->d[i--] = '0';
        if (i >= 0) {
            dec->d[i]++;
        } else { /* 99..9 -> 100..0 one decade up */
            dec->d[0] = '1';
            dec->exp++;
        }
    } else {
        while (i >= 0 && dec->d[i] == '0')
            dec->d[i--] = '9';
        dec->d[i]--; /* the leading digit is never 0, so i >= 0 here */
        if (dec->d[0] == '0') { /* 100..0 -> 99..9 one decade down */
            memset(dec->d, '9', (size_t)dec->n);
            dec->exp--;
        }
    }
}

/* Where the digits of a shortest_digits search come from, and so what
 * dropped digits of exactly half a unit mean. */
typedef enum half_rule {
    HALF_HIDDEN, /* a correctly rounded MAX_DIGITS-digit form of a longer
                  * exact value: no true tie (see exact_decimal), but the
                  * rounding hides which side of the half the value lies on */
    HALF_UP,     /* the exact value: a true tie, rounded up (Rust) */
    HALF_EVEN    /* the exact value: a true tie, rounded to even (Ryu) */
} half_rule;

/* full rounded again to ndigits (< full->n). False when half is
 * HALF_HIDDEN and the dropped digits read as exactly half a unit. */
static bool reround(const decimal *full, half_rule half, int ndigits, decimal *out)
{
    *out = *full;
    out->n = ndigits;
    bool rest_zero = true;
    for (int i = ndigits + 1; i < full->n; i++)
        rest_zero = rest_zero && full->d[i] == '0';
    char first = full->d[ndigits];
    if (first == '5' && rest_zero) {
        if (half == HALF_HIDDEN)
            return false;
        if (half == HALF_EVEN && (full->d[ndigits - 1] - '0') % 2 == 0)
            return true;
    }
    if (first >= '5')
        step_last_digit(out, true);
    return true;
}

/* Whether some ndigits-digit decimal reads back as x; if so, *out is the
 * nearest such one (of two equally near, the one half picks). Rounding
 * to nearest gives the answer except at powers of two, whose round-trip
 * interval is narrower below than above: there the neighbour on the other
 * side may fit when the nearest does not. */
static bool fits_in_digits(double x, const decimal *full, half_rule half, int ndigits,
                           bool power_of_two, decimal *out)
{
    if (!reround(full, half, ndigits, out))
        round_to_digits(x, ndigits, out);
    double back = decimal_value(out);
    if (back == x)
        return true;
    if (!power_of_two)
        return false;
    step_last_digit(out, back < x);
    return decimal_value(out) == x;
}

/* The digits of n (> 0) into dec with the point k places from the right. */
static void set_scaled(decimal *dec, uint64_t n, int k)
{
    char rev[20];
    int len = 0;
    for (; n; n /= 10)
        rev[len++] = (char)('0' + n % 10);
    for (int i = 0; i < len; i++)
        dec->d[i] = rev[len - 1 - i];
    dec->n = len;
    dec->exp = len - 1 - k;
}

/* The exact value of x > 0 when its decimal expansion has at most
 * MAX_DIGITS + 1 significant digits, padded with zeros to at least
 * MAX_DIGITS digits. Only such values can lie exactly halfway between two
 * candidates of a length that reads back (at most MAX_DIGITS): x = m / 2^k
 * with m odd and k >= 1 is m * 5^k / 10^k, whose last digit is always 5,
 * while integers above 2^53 end in an even digit. Since m >= 1 and
 * 5^26 > 10^18, k stays small and so does the work. */
static bool exact_decimal(double x, decimal *out)
{
    int bin_exp;
    uint64_t m = (uint64_t)ldexp(frexp(x, &bin_exp), 53);
    int k = 53 - bin_exp;
    while (k > 0 && (m & 1) == 0) {
        m >>= 1;
        k--;
    }
    if (k <= 0 || k > 25)
        return false;
    for (int i = 0; i < k; i++) {
        if (m >= 200000000000000000u) /* m * 5 would reach 10^18 */
            return false;
        m *= 5;
    }
    set_scaled(out, m, k);
    while (out->n < MAX_DIGITS)
        out->d[out->n++] = '0';
    return true;
}

/* Shortest round-trip digits of x > 0 (finite). For normal numbers the
 * search starts at 15 digits: the round-trip interval is at most 2^-53
 * relative wide on each side, while 15-digit decimals are at least 1e-15
 * relative apart, so any shorter form is the 15-digit rounding with
 * trailing zeros, which are then stripped. Subnormals have wider intervals
 * and are searched from 1 digit. One digit string serves every length:
 * the exact value when it is short, else one "%e" conversion to 17 digits
 * (snprintf is the expensive step). ties_even picks the rule for a value
 * exactly halfway between two shortest candidates. */
static void shortest_digits(double x, bool ties_even, decimal *out)
{
    decimal full;
    half_rule half = ties_even ? HALF_EVEN : HALF_UP;
    if (!exact_decimal(x, &full)) {
        round_to_digits(x, MAX_DIGITS, &full);
        half = HALF_HIDDEN;
    }
    int bin_exp;
    bool power_of_two = frexp(x, &bin_exp) == 0.5;
    int ndigits = x >= DBL_MIN ? 15 : 1;
    while (ndigits < full.n && !fits_in_digits(x, &full, half, ndigits, power_of_two, out))
        ndigits++;
    if (ndigits == full.n)
        *out = full;
    while (out->n > 1 && out->d[out->n - 1] == '0')
        out->n--;
}

/* Fast path for values with few decimals, such as 0.1 or 2.25: the
 * smallest k for which x is the double nearest n / 10^k, n < 10^15. The
 * division is exact arithmetic correctly rounded, so it answers the round
 * trip without strtod, and at most one decimal of 15 digits or fewer reads
 * back as a given normal double (see shortest_digits), so the first hit is
 * the answer. Below 10^15 the candidate is always round(x * 10^k): the
 * product's rounding error and the round-trip interval together stay
 * under 0.2 of a unit. Returns false when no such k exists. */
static bool short_fraction(double x, decimal *dec)
{
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    if (x < DBL_MIN || x >= 1e15)
        return false;
    for (int k = 1; k < (int)(sizeof pow10 / sizeof *pow10); k++) {
        double scaled = x * pow10[k];
        if (scaled >= 1e15)
            return false;
        double n = nearbyint(scaled);
        if (n > 0 && n / pow10[k] == x) {
            set_scaled(dec, (uint64_t)n, k);
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------------
 * Layout */

/* Decimal digits of v into p; returns the length. */
static size_t put_uint(char *p, uint64_t v)
{
    char rev[20];
    size_t n = 0;
    do {
        rev[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        p[i] = rev[n - 1 - i];
    return n;
}

/* dec positionally into p (at least FVM_FLOAT_TEXT_MAX bytes); returns
 * the length. */
static size_t layout(const decimal *dec, char *p)
{
    size_t len = 0;
    if (dec->exp >= dec->n - 1) { /* integer: digits then zeros */
        memcpy(p, dec->d, (size_t)dec->n);
        len = (size_t)dec->n;
        for (int z = dec->exp - (dec->n - 1); z > 0; z--)
            p[len++] = '0';
    } else if (dec->exp >= 0) { /* point inside the digits */
        size_t whole = (size_t)dec->exp + 1;
        memcpy(p, dec->d, whole);
        p[whole] = '.';
        memcpy(p + whole + 1, dec->d + whole, (size_t)dec->n - whole);
        len = (size_t)dec->n + 1;
    } else { /* 0.000ddd */
        p[len++] = '0';
        p[len++] = '.';
        for (int z = -dec->exp - 1; z > 0; z--)
            p[len++] = '0';
        memcpy(p + len, dec->d, (size_t)dec->n);
        len += (size_t)dec->n;
    }
    return len;
}

/* The text of d into p (at least FVM_FLOAT_TEXT_MAX bytes), unterminated. */
static size_t format_float_raw(double d, bool ties_even, char *p)
{
    if (isnan(d)) {
        memcpy(p, "NaN", 3);
        return 3;
    }
    size_t len = 0;
    if (signbit(d))
        p[len++] = '-';
    double x = fabs(d);
    if (isinf(x)) {
        memcpy(p + len, "inf", 3);
        return len + 3;
    }
    /* Most floats met in practice are small integers: no digit search. */
    if (x < 9007199254740992.0 && x == (double)(uint64_t)x)
        return len + put_uint(p + len, (uint64_t)x);
    decimal dec;
    if (!short_fraction(x, &dec))
        shortest_digits(x, ties_even, &dec);
    return len + layout(&dec, p + len);
}

/* The text of d into buf, snprintf-style (see fvm_format_float). */
static size_t format_float(double d, bool ties_even, char *buf, size_t cap)
{
    char tmp[FVM_FLOAT_TEXT_MAX];
    size_t len = format_float_raw(d, ties_even, tmp);
    if (cap > 0) {
        size_t n = len < cap - 1 ? len : cap - 1;
        memcpy(buf, tmp, n);
        buf[n] = '\0';
    }
    return len;
}

size_t fvm_format_float(double d, char *buf, size_t cap)
{
    return format_float(d, false, buf, cap);
}

size_t fvm_format_float_ties_even(double d, char *buf, size_t cap)
{
    return format_float(d, true, buf, cap);
}

/* ------------------------------------------------------------------------
 * Strict parsing */

/* An optional single sign at *i; returns true for '-'. */
static bool take_sign(const char *s, size_t n, size_t *i)
{
    if (*i < n && (s[*i] == '+' || s[*i] == '-'))
        return s[(*i)++] == '-';
    return false;
}

bool fvm_parse_int_strict(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = take_sign(s, n, &i);
    if (i == n)
        return false;
    /* Accumulate the magnitude unsigned; -2^63 has no positive twin. */
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    for (; i < n; i++) {
        unsigned digit = (unsigned char)s[i] - '0';
        if (digit > 9 || v > (limit - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* Case-insensitive match of the whole of s[i..n) against lower-case word. */
static bool rest_is_word(const char *s, size_t n, size_t i, const char *word)
{
    size_t wn = strlen(word);
    if (n - i != wn)
        return false;
    for (size_t k = 0; k < wn; k++) {
        char c = s[i + k];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != word[k])
            return false;
    }
    return true;
}

/* Digits at *i; returns how many. */
static size_t skip_digits(const char *s, size_t n, size_t *i)
{
    size_t start = *i;
    while (*i < n && s[*i] >= '0' && s[*i] <= '9')
        (*i)++;
    return *i - start;
}

/* Exponent digits s[i..n) as a value that stops growing past 1e9: far
 * beyond any double, and small enough that adjusting it cannot overflow. */
static int64_t clamped_exponent(const char *s, size_t i, size_t n)
{
    int64_t e = 0;
    for (; i < n; i++)
        if (e < 1000000000)
            e = e * 10 + (s[i] - '0');
    return e;
}

/* The value of the validated mantissa digits (int part s[ip..ip+in) and
 * fraction s[fp..fp+fn)) times 10^exp, as a positive double. */
static double decimal_to_double(const char *s, size_t ip, size_t in, size_t fp, size_t fn,
                                int64_t exp)
{
    /* Leading zeros do not change the value; dropping them keeps the
     * magnitude estimate below honest. */
    while (in > 0 && s[ip] == '0')
        ip++, in--;
    if (in == 0)
        while (fn > 0 && s[fp] == '0')
            fp++, fn--, exp--;
    size_t digits = in + fn;
    if (digits == 0)
        return 0.0;
    exp -= (int64_t)fn;
    /* The value is below 10^(digits + exp); decide the extremes here so the
     * exponent handed to strtod stays small. */
    if (exp > 400)
        return HUGE_VAL;
    if ((int64_t)digits + exp < -400)
        return 0.0;
    char small[64];
    char *tmp = digits + 32 <= sizeof small ? small : fvm_xmalloc(digits + 32);
    memcpy(tmp, s + ip, in);
    memcpy(tmp + in, s + fp, fn);
    snprintf(tmp + digits, 32, "e%lld", (long long)exp);
    double v = strtod(tmp, NULL);
    if (tmp != small)
        free(tmp);
    return v;
}

bool fvm_parse_float_strict(const char *s, size_t n, double *out)
{
    size_t i = 0;
    bool neg = take_sign(s, n, &i);
    if (rest_is_word(s, n, i, "inf") || rest_is_word(s, n, i, "infinity")) {
        *out = neg ? -HUGE_VAL : HUGE_VAL;
        return true;
    }
    if (rest_is_word(s, n, i, "nan")) {
        *out = neg ? -NAN : NAN;
        return true;
    }
    size_t ip = i, in = skip_digits(s, n, &i);
    size_t fp = i, fn = 0;
    if (i < n && s[i] == '.') {
        i++;
        fp = i;
        fn = skip_digits(s, n, &i);
    }
    if (in + fn == 0)
        return false;
    int64_t exp = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = take_sign(s, n, &i);
        size_t ep = i;
        if (skip_digits(s, n, &i) == 0)
            return false;
        exp = clamped_exponent(s, ep, i);
        if (eneg)
            exp = -exp;
    }
    if (i != n)
        return false;
    double v = decimal_to_double(s, ip, in, fp, fn, exp);
    *out = neg ? -v : v;
    return true;
}
