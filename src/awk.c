/* The AWK op family.
 *
 * An op whose AWK host entry is installed pops its operands, calls the
 * entry (docs/HOSTS.md) and pushes its result. Otherwise the builtins that
 * need no AWK runtime state (string, math, bit, time and conversion
 * functions) compute their real result, and the rest (fields, special
 * variables, arrays, I/O, regex) are inert stubs that keep the stack
 * balanced: they drop their operands and push a neutral value where the op
 * yields one. rand and srand always stay in the VM.
 *
 * Strings are byte strings; the character-based builtins read them as
 * described in unicode.h (each invalid UTF-8 byte is one character). */
#include "awk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "numfmt.h"
#include "unicode.h"
#include "vm.h"

/* ------------------------------------------------------------------------
 * String builtins */

static void str_drop(fvm_string *s)
{
    fvm_release(fvm_str_value(s));
}

static fvm_value empty_str(void)
{
    return fvm_str("", 0);
}

int64_t fvm_awk_length(fvm_value s)
{
    fvm_string *str = fvm_value_to_str(s);
    int64_t n = (int64_t)fvm_utf8_count(str->data, str->len);
    str_drop(str);
    return n;
}

/* Byte offset of the first character at or after character index k. */
static size_t char_offset(const char *s, size_t n, int64_t k)
{
    size_t i = 0, len;
    for (; k > 0 && i < n; k--, i += len)
        fvm_utf8_decode(s + i, n - i, &len);
    return i;
}

fvm_value fvm_awk_substr(fvm_value s, int64_t m, bool has_n, int64_t n)
{
    fvm_string *str = fvm_value_to_str(s);
    int64_t len = (int64_t)fvm_utf8_count(str->data, str->len);
    int64_t start = m > 1 ? m : 1;
    int64_t end = len + 1;
    if (has_n) {
        /* m + n wraps on overflow, as upstream's release build does. */
        int64_t stop = (int64_t)((uint64_t)m + (uint64_t)n);
        end = stop < end ? stop : end;
    }
    fvm_value out;
    if (start >= end || start > len) {
        out = empty_str();
    } else {
        int64_t last = end - 1 < len ? end - 1 : len;
        size_t from = char_offset(str->data, str->len, start - 1);
        size_t to = from + char_offset(str->data + from, str->len - from, last - (start - 1));
        out = fvm_str(str->data + from, to - from);
    }
    str_drop(str);
    return out;
}

int64_t fvm_awk_index(fvm_value s, fvm_value t)
{
    fvm_string *hay = fvm_value_to_str(s), *needle = fvm_value_to_str(t);
    const char *hit = needle->len == 0 ? hay->data
                                        : memmem(hay->data, hay->len, needle->data, needle->len);
    int64_t pos = 0;
    if (hit) { /* count the characters that start before the match */
        size_t off = (size_t)(hit - hay->data), len;
        pos = 1;
        for (size_t i = 0; i < off; i += len, pos++)
            fvm_utf8_decode(hay->data + i, hay->len - i, &len);
    }
    str_drop(hay);
    str_drop(needle);
    return pos;
}

fvm_value fvm_awk_case(fvm_value s, bool upper)
{
    fvm_string *str = fvm_value_to_str(s);
    fvm_buf b = {0};
    fvm_utf8_case_map(&b, str->data, str->len, upper);
    fvm_value out = fvm_str(b.data ? b.data : "", b.len);
    fvm_buf_free(&b);
    str_drop(str);
    return out;
}

double fvm_awk_ord(fvm_value s)
{
    fvm_string *str = fvm_value_to_str(s);
    double code = 0;
    if (str->len > 0) {
        size_t len;
        int32_t c = fvm_utf8_decode(str->data, str->len, &len);
        /* An invalid leading byte reads as its own value. */
        code = c >= 0 ? c : (unsigned char)str->data[0];
    }
    str_drop(str);
    return code;
}

/* Rust's saturating `f as u32`: NaN and negatives are 0. */
static uint32_t float_to_u32(double f)
{
    if (!(f > 0))
        return 0;
    if (f >= 4294967295.0)
        return UINT32_MAX;
    return (uint32_t)f;
}

fvm_value fvm_awk_chr(double n)
{
    uint32_t c = float_to_u32(n);
    if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return empty_str();
    char tmp[4];
    return fvm_str(tmp, fvm_utf8_encode(c, tmp));
}

/* ------------------------------------------------------------------------
 * strtonum */

/* s[0..n) without leading and trailing Unicode white space. */
static void trim_space(const char **s, size_t *n)
{
    size_t i = 0, len, end = 0;
    while (i < *n && fvm_unicode_is_space(fvm_utf8_decode(*s + i, *n - i, &len)))
        i += len;
    size_t start = i;
    for (; i < *n; i += len) /* end of the last non-space character */
        if (!fvm_unicode_is_space(fvm_utf8_decode(*s + i, *n - i, &len)))
            end = i + len;
    *s += start;
    *n = end > start ? end - start : 0;
}

/* The whole of s[0..n) as digits in base (8 or 16) fitting max; false
 * otherwise. A single leading '+' is accepted, as Rust's from_str_radix. */
static bool parse_radix(const char *s, size_t n, unsigned base, uint64_t max, uint64_t *out)
{
    size_t i = n > 0 && s[0] == '+' ? 1 : 0;
    if (i == n)
        return false;
    uint64_t v = 0;
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        unsigned d = c >= '0' && c <= '9'   ? c - '0'
                     : c >= 'a' && c <= 'f' ? c - 'a' + 10
                     : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                            : 99;
        if (d >= base || v > (max - d) / base)
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Length of the longest prefix of s that is a decimal float with at least
 * one mantissa digit: [sign] digits [. digits] [e [sign] digits]. */
static size_t decimal_prefix(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    for (; i < n && is_digit(s[i]); i++)
        digits++;
    if (i < n && s[i] == '.')
        for (i++; i < n && is_digit(s[i]); i++)
            digits++;
    if (digits == 0)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < n && (s[j] == '+' || s[j] == '-'))
            j++;
        if (j < n && is_digit(s[j])) {
            while (j < n && is_digit(s[j]))
                j++;
            i = j;
        }
    }
    return i;
}

static bool is_ascii_alnum(char c)
{
    return is_digit(c) || ((c | 32) >= 'a' && (c | 32) <= 'z');
}

/* The longest numeric prefix, or a signed "inf"/"nan" standing alone. */
static double numeric_prefix(const char *s, size_t n)
{
    double v = 0;
    size_t len = decimal_prefix(s, n);
    if (len > 0) {
        fvm_parse_float_strict(s, len, &v);
        return v;
    }
    if (n >= 4 && (n == 4 || !is_ascii_alnum(s[4])) && (s[0] == '+' || s[0] == '-') &&
        (strncasecmp(s + 1, "inf", 3) == 0 || strncasecmp(s + 1, "nan", 3) == 0))
        fvm_parse_float_strict(s, 4, &v);
    return v;
}

double fvm_awk_strtonum(const char *s, size_t n)
{
    trim_space(&s, &n);
    if (n == 0 || !(is_digit(s[0]) || s[0] == '+' || s[0] == '-' || s[0] == '.'))
        return 0;
    uint64_t v;
    if (s[0] != '+' && s[0] != '-') { /* hex and octal only without a sign */
        if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
            return parse_radix(s + 2, n - 2, 16, UINT64_MAX, &v) ? (double)v : 0;
        if (n > 1 && s[0] == '0' && !memchr(s, '.', n) && !memchr(s, 'e', n) && !memchr(s, 'E', n))
            return parse_radix(s, n, 8, INT64_MAX, &v) ? (double)v : 0;
    }
    return numeric_prefix(s, n);
}

/* ------------------------------------------------------------------------
 * Numeric builtins */

fvm_value fvm_awk_int(double x)
{
    double t = trunc(x);
    /* The upper bound is 2^63 inclusive (upstream compares with
     * i64::MAX as f64), which the saturating cast turns into INT64_MAX. */
    if (isfinite(t) && t >= -9223372036854775808.0 && t <= 9223372036854775808.0)
        return fvm_int(fvm_float_to_int(t));
    return fvm_float(t);
}

double fvm_awk_canon_nan(double r)
{
    return isnan(r) ? NAN : r;
}

uint64_t fvm_awk_bits(double x)
{
    return (uint64_t)fvm_float_to_int(x);
}

int64_t fvm_awk_shift(double v, double n, bool left)
{
    uint64_t x = fvm_awk_bits(v);
    unsigned count = (unsigned)(fvm_awk_bits(n) & 63);
    return (int64_t)(left ? x << count : x >> count);
}

fvm_value fvm_awk_intdiv(double a, double b, bool zero_for_zero)
{
    int64_t divisor = fvm_float_to_int(b);
    if (b == 0 || divisor == 0)
        return zero_for_zero ? fvm_float(0.0) : fvm_undef();
    int64_t dividend = fvm_float_to_int(a);
    /* The one quotient int64 cannot hold is exact as a double. */
    if (dividend == INT64_MIN && divisor == -1)
        return fvm_float(9223372036854775808.0);
    return fvm_float((double)(dividend / divisor));
}

/* The glibc-style LCG upstream uses, on the full 64-bit state. */
double fvm_awk_rand(uint64_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (double)((uint32_t)(*seed >> 16) & 0x7FFFu) / 32768.0;
}

double fvm_awk_srand(uint64_t *seed, uint64_t new_seed)
{
    uint64_t prev = *seed;
    *seed = new_seed;
    return (double)(prev & 0xFFFFFFFFu);
}

/* ------------------------------------------------------------------------
 * Operands
 *
 * A variadic op pops n values, n coming from the instruction (up to 255)
 * or from an ExtendedWide payload (any 64-bit number). As upstream pops
 * one at a time and a pop from an empty stack gives Undef, the operands
 * in source order are `missing` Undefs followed by the `present` values
 * still on the stack. They stay there, borrowed, until drop_args. */

typedef struct awk_args {
    fvm_value *vals;
    size_t present;
    uint64_t missing;
} awk_args;

static awk_args take_args(fvm_vm *vm, uint64_t n)
{
    size_t present = n < vm->sp ? (size_t)n : vm->sp;
    awk_args a = {vm->stack + vm->sp - present, present, n - present};
    return a;
}

/* Operand i (borrowed); i must be below the op's argc. */
static fvm_value arg(const awk_args *a, uint64_t i)
{
    return i < a->missing ? fvm_undef() : a->vals[i - a->missing];
}

static void drop_args(fvm_vm *vm, const awk_args *a)
{
    for (size_t i = 0; i < a->present; i++)
        fvm_release(a->vals[i]);
    vm->sp -= a->present;
}

/* Pop and release up to n values. */
static void drop_n(fvm_vm *vm, uint64_t n)
{
    awk_args a = take_args(vm, n);
    drop_args(vm, &a);
}

static double pop_float(fvm_vm *vm)
{
    fvm_value v = fvm_pop(vm);
    double d = fvm_to_float(v);
    fvm_release(v);
    return d;
}

/* ------------------------------------------------------------------------
 * Ops */

static void op_substr(fvm_vm *vm, uint64_t argc)
{
    awk_args a = take_args(vm, argc);
    fvm_value s = argc > 0 ? arg(&a, 0) : fvm_undef();
    int64_t m = argc > 1 ? fvm_to_int(arg(&a, 1)) : 1;
    bool has_n = argc > 2;
    int64_t n = has_n ? fvm_to_int(arg(&a, 2)) : 0;
    fvm_value r = fvm_awk_substr(s, m, has_n, n); /* Undef reads as "" */
    drop_args(vm, &a);
    fvm_push(vm, r);
}

static void op_index(fvm_vm *vm)
{
    fvm_value t = fvm_pop(vm), s = fvm_pop(vm);
    int64_t pos = fvm_awk_index(s, t);
    fvm_release(t);
    fvm_release(s);
    fvm_push(vm, fvm_int(pos));
}

/* length(s) pops one value whatever its argc; length() is length($0),
 * which needs the host. */
static void op_length(fvm_vm *vm, uint64_t argc)
{
    int64_t n = 0;
    if (argc > 0) {
        fvm_value s = fvm_pop(vm);
        n = fvm_awk_length(s);
        fvm_release(s);
    }
    fvm_push(vm, fvm_int(n));
}

/* Pop one value, push f(value). */
static void op_unary(fvm_vm *vm, fvm_value (*f)(fvm_value))
{
    fvm_value v = fvm_pop(vm);
    fvm_value r = f(v);
    fvm_release(v);
    fvm_push(vm, r);
}

static fvm_value lower(fvm_value v) { return fvm_awk_case(v, false); }
static fvm_value upper(fvm_value v) { return fvm_awk_case(v, true); }
static fvm_value ord(fvm_value v) { return fvm_float(fvm_awk_ord(v)); }
static fvm_value chr(fvm_value v) { return fvm_awk_chr(fvm_to_float(v)); }
static fvm_value mkbool(fvm_value v) { return fvm_float(fvm_truthy(v) ? 1.0 : 0.0); }
static fvm_value to_int(fvm_value v) { return fvm_awk_int(fvm_to_float(v)); }
static fvm_value compl(fvm_value v) { return fvm_int((int64_t)~fvm_awk_bits(fvm_to_float(v))); }

static fvm_value strtonum(fvm_value v)
{
    fvm_string *s = fvm_value_to_str(v);
    double d = fvm_awk_strtonum(s->data, s->len);
    str_drop(s);
    return fvm_float(d);
}

/* Pop x, push Float(f(x)). */
static void op_math(fvm_vm *vm, double (*f)(double), bool canon)
{
    double r = f(pop_float(vm));
    fvm_push(vm, fvm_float(canon ? fvm_awk_canon_nan(r) : r));
}

static void op_atan2(fvm_vm *vm)
{
    double x = pop_float(vm), y = pop_float(vm);
    fvm_push(vm, fvm_float(fvm_awk_canon_nan(atan2(y, x))));
}

/* and / or / xor over argc operands; no operands give 0. */
static void op_bitfold(fvm_vm *vm, unsigned code, uint64_t argc)
{
    awk_args a = take_args(vm, argc);
    uint64_t acc = 0;
    bool first = a.missing == 0; /* missing operands are Undef: bits 0 */
    for (size_t i = 0; i < a.present; i++) {
        uint64_t x = fvm_awk_bits(fvm_to_float(a.vals[i]));
        if (first)
            acc = x;
        else if (code == FVM_OP_AWK_AND)
            acc &= x;
        else if (code == FVM_OP_AWK_OR)
            acc |= x;
        else
            acc ^= x;
        first = false;
    }
    drop_args(vm, &a);
    fvm_push(vm, fvm_int((int64_t)acc));
}

static void op_shift(fvm_vm *vm, bool left)
{
    double n = pop_float(vm), v = pop_float(vm);
    fvm_push(vm, fvm_int(fvm_awk_shift(v, n, left)));
}

static void op_intdiv(fvm_vm *vm, bool zero_for_zero)
{
    double b = pop_float(vm), a = pop_float(vm);
    fvm_push(vm, fvm_awk_intdiv(a, b, zero_for_zero));
}

/* srand(x) pops one value whatever its argc; srand() seeds from the clock. */
static void op_srand(fvm_vm *vm, uint64_t argc)
{
    uint64_t seed = argc > 0 ? float_to_u32(pop_float(vm)) : fvm_awk_clock_seed();
    fvm_push(vm, fvm_float(fvm_awk_srand(&vm->awk_seed, seed)));
}

/* strftime([fmt [, ts [, utc]]]) */
static void op_strftime(fvm_vm *vm, uint64_t argc)
{
    awk_args a = take_args(vm, argc);
    fvm_string *fmt = argc > 0 ? fvm_value_to_str(arg(&a, 0))
                               : fvm_str_from(FVM_AWK_STRFTIME_DEFAULT,
                                              strlen(FVM_AWK_STRFTIME_DEFAULT));
    double ts = argc > 1 ? fvm_to_float(arg(&a, 1)) : fvm_awk_systime();
    bool utc = argc > 2 && fvm_to_float(arg(&a, 2)) != 0;
    fvm_value r = fvm_awk_strftime(fmt->data, fmt->len, ts, utc);
    str_drop(fmt);
    drop_args(vm, &a);
    fvm_push(vm, r);
}

/* mktime(spec [, utc]) */
static void op_mktime(fvm_vm *vm, uint64_t argc)
{
    awk_args a = take_args(vm, argc);
    fvm_string *spec = fvm_value_to_str(argc > 0 ? arg(&a, 0) : fvm_undef());
    bool utc = argc > 1 && fvm_to_float(arg(&a, 1)) != 0;
    double t = fvm_awk_mktime(spec->data, spec->len, utc);
    str_drop(spec);
    drop_args(vm, &a);
    fvm_push(vm, fvm_float(t));
}


/* ------------------------------------------------------------------------
 * Through the host
 *
 * Operands are popped into a local array before the entry runs, so an
 * entry that runs a chunk on this VM (and so may move the stack) never
 * sees them move. */

/* A variadic op's operands in source order, owned: `missing` Undefs (see
 * take_args), at most 255 of them (no u8 operand asks for more, and a
 * larger ExtendedWide payload would only add Undefs), then the values
 * popped off the stack. */
typedef struct host_args {
    fvm_value *v;
    size_t n;
    fvm_value small[8];
} host_args;

static void host_args_pop(fvm_vm *vm, uint64_t n, host_args *h)
{
    awk_args a = take_args(vm, n);
    size_t missing = a.missing < UINT8_MAX ? (size_t)a.missing : UINT8_MAX;
    h->n = missing + a.present;
    h->v = h->n <= 8 ? h->small : fvm_xmalloc(h->n * sizeof *h->v);
    for (size_t i = 0; i < missing; i++)
        h->v[i] = fvm_undef();
    memcpy(h->v + missing, a.vals, a.present * sizeof *a.vals);
    vm->sp -= a.present; /* the values moved into h */
}

static void host_args_free(host_args *h)
{
    for (size_t i = 0; i < h->n; i++)
        fvm_release(h->v[i]);
    if (h->v != h->small)
        free(h->v);
}

/* Operand i, or Undef past the end (borrowed). */
static fvm_value host_arg(const host_args *h, size_t i)
{
    return i < h->n ? h->v[i] : fvm_undef();
}

static fvm_value str_of(fvm_value v)
{
    return fvm_str_value(fvm_value_to_str(v));
}

/* The name operand of the AwkSpecial and AwkArray ops as a Str; "" for an
 * index past the pool, which only an ExtendedWide payload can give. */
static fvm_value name_of(const fvm_vm *vm, uint64_t idx)
{
    if (idx >= vm->chunk->nnames)
        return empty_str();
    fvm_value v = fvm_str_value(vm->chunk->names[idx]);
    fvm_retain(v);
    return v;
}

/* The shapes of the builtin entries, and which entry serves an op. */
typedef enum { SHAPE_NONE, SHAPE_0, SHAPE_1, SHAPE_2, SHAPE_V } entry_shape;

static entry_shape builtin_entry(const fvm_awk_host *h, unsigned code, void (**fn)(void))
{
#define E(OP, field, shape)                                                                        \
    case FVM_OP_##OP:                                                                              \
        *fn = (void (*)(void))h->field;                                                            \
        return h->field ? shape : SHAPE_NONE;
    switch (code) {
        E(AWK_TO_LOWER, tolower, SHAPE_1)
        E(AWK_TO_UPPER, toupper, SHAPE_1)
        E(AWK_INT, int_, SHAPE_1)
        E(AWK_SQRT, sqrt, SHAPE_1)
        E(AWK_SIN, sin, SHAPE_1)
        E(AWK_COS, cos, SHAPE_1)
        E(AWK_EXP, exp, SHAPE_1)
        E(AWK_LOG, log, SHAPE_1)
        E(AWK_COMPL, compl_, SHAPE_1)
        E(AWK_STRTONUM, strtonum, SHAPE_1)
        E(AWK_ORD, ord, SHAPE_1)
        E(AWK_CHR, chr, SHAPE_1)
        E(AWK_MKBOOL, mkbool, SHAPE_1)
        E(AWK_ATAN2, atan2, SHAPE_2)
        E(AWK_LSHIFT, lshift, SHAPE_2)
        E(AWK_RSHIFT, rshift, SHAPE_2)
        E(AWK_INTDIV, intdiv, SHAPE_2)
        E(AWK_INTDIV0, intdiv0, SHAPE_2)
        E(AWK_AND, and_, SHAPE_V)
        E(AWK_OR, or_, SHAPE_V)
        E(AWK_XOR, xor_, SHAPE_V)
        E(AWK_STRFTIME, strftime, SHAPE_V)
        E(AWK_MKTIME, mktime, SHAPE_V)
        E(AWK_SYSTIME, systime, SHAPE_0)
    default: return SHAPE_NONE;
    }
#undef E
}

/* A builtin through its entry; false if the host has none for code. */
static bool host_builtin(fvm_vm *vm, unsigned code, uint64_t operand)
{
    const fvm_awk_host *h = &vm->awk;
    void (*fn)(void);
    entry_shape shape = builtin_entry(h, code, &fn);
    fvm_value r, x, y;
    host_args args;
    switch (shape) {
    case SHAPE_NONE: return false;
    case SHAPE_0: r = ((fvm_awk_fn0)fn)(h->ud, vm); break;
    case SHAPE_1:
        x = fvm_pop(vm);
        r = ((fvm_awk_fn1)fn)(h->ud, vm, x);
        fvm_release(x);
        break;
    case SHAPE_2:
        y = fvm_pop(vm);
        x = fvm_pop(vm);
        r = ((fvm_awk_fn2)fn)(h->ud, vm, x, y);
        fvm_release(x);
        fvm_release(y);
        break;
    case SHAPE_V:
        host_args_pop(vm, operand, &args);
        r = ((fvm_awk_fnv)fn)(h->ud, vm, args.v, args.n);
        host_args_free(&args);
        break;
    }
    fvm_push(vm, r);
    return true;
}

/* print, printf, sprintf: the format is the first operand's string form. */
static void host_output(fvm_vm *vm, unsigned code, uint64_t operand)
{
    const fvm_awk_host *h = &vm->awk;
    host_args args;
    host_args_pop(vm, operand, &args);
    if (code == FVM_OP_AWK_PRINT) {
        h->print(h->ud, vm, args.v, args.n);
    } else {
        fvm_value fmt = args.n ? str_of(args.v[0]) : empty_str();
        const fvm_value *rest = args.n ? args.v + 1 : args.v;
        size_t nrest = args.n ? args.n - 1 : 0;
        /* parenthesised: the C library may define printf as a macro */
        if (code == FVM_OP_AWK_PRINTF)
            (h->printf)(h->ud, vm, fmt, rest, nrest);
        else
            fvm_push(vm, (h->sprintf)(h->ud, vm, fmt, rest, nrest));
        fvm_release(fmt);
    }
    host_args_free(&args);
}

/* sub and gsub: the target is the variable the third operand names, else
 * $0. */
static int64_t host_subst(fvm_vm *vm, unsigned code, const host_args *args)
{
    const fvm_awk_host *h = &vm->awk;
    fvm_awk_lvalue target = {FVM_AWK_LVALUE_FIELD, fvm_undef(), fvm_undef(), 0};
    if (args->n >= 3) {
        target.kind = FVM_AWK_LVALUE_VAR;
        target.name = str_of(args->v[2]);
    }
    int64_t (*fn)(void *, fvm_vm *, fvm_value, fvm_value, const fvm_awk_lvalue *) =
        code == FVM_OP_AWK_SUB ? h->sub : h->gsub;
    int64_t n = fn(h->ud, vm, host_arg(args, 0), host_arg(args, 1), &target);
    fvm_release(target.name);
    return n;
}

/* The string ops with optional operands: substr, split, sub, gsub, gensub. */
static void host_string_op(fvm_vm *vm, unsigned code, uint64_t operand)
{
    const fvm_awk_host *h = &vm->awk;
    host_args args;
    host_args_pop(vm, operand, &args);
    fvm_value r, tmp;
    switch (code) {
    case FVM_OP_AWK_SUBSTR:
        tmp = args.n ? host_arg(&args, 0) : empty_str();
        r = h->substr(h->ud, vm, tmp, args.n > 1 ? fvm_to_int(args.v[1]) : 1, args.n > 2,
                      args.n > 2 ? fvm_to_int(args.v[2]) : 0);
        fvm_release(args.n ? fvm_undef() : tmp);
        break;
    case FVM_OP_AWK_SPLIT:
        tmp = str_of(host_arg(&args, 1));
        r = fvm_int(h->split(h->ud, vm, host_arg(&args, 0), tmp, args.n > 2 ? &args.v[2] : NULL));
        fvm_release(tmp);
        break;
    case FVM_OP_AWK_GENSUB:
        tmp = args.n > 2 ? host_arg(&args, 2) : fvm_str("g", 1);
        r = h->gensub(h->ud, vm, host_arg(&args, 0), host_arg(&args, 1), tmp,
                      args.n > 3 ? &args.v[3] : NULL);
        fvm_release(args.n > 2 ? fvm_undef() : tmp);
        break;
    default: /* sub, gsub */
        r = fvm_int(host_subst(vm, code, &args));
        break;
    }
    host_args_free(&args);
    fvm_push(vm, r);
}

/* getline: kinds FILE to CMD_VAR pop the file name or command. */
static void host_getline(fvm_vm *vm, uint64_t kind)
{
    const fvm_awk_host *h = &vm->awk;
    bool has_operand = kind >= FVM_GETLINE_FILE && kind <= FVM_GETLINE_CMD_VAR;
    fvm_value operand = has_operand ? fvm_pop(vm) : fvm_undef();
    fvm_value s = str_of(operand);
    unsigned k = kind < UINT32_MAX ? (unsigned)kind : UINT32_MAX; /* a wide payload */
    int64_t r = h->getline(h->ud, vm, k, has_operand ? &s : NULL, NULL);
    fvm_release(s);
    fvm_release(operand);
    fvm_push(vm, fvm_int(r));
}

/* The ops on a named AWK array: operand is the name index. */
static void host_array_op(fvm_vm *vm, unsigned code, uint64_t operand)
{
    const fvm_awk_host *h = &vm->awk;
    fvm_value name = name_of(vm, operand);
    fvm_value key = fvm_undef(), v = fvm_undef();
    switch (code) {
    case FVM_OP_AWK_ARRAY_GET:
        key = fvm_pop(vm);
        fvm_push(vm, h->array_get(h->ud, vm, name, key));
        break;
    case FVM_OP_AWK_ARRAY_SET:
        key = fvm_pop(vm);
        v = fvm_pop(vm);
        h->array_set(h->ud, vm, name, key, v);
        break;
    case FVM_OP_AWK_ARRAY_EXISTS:
        key = fvm_pop(vm);
        fvm_push(vm, fvm_bool(h->array_exists(h->ud, vm, name, key)));
        break;
    case FVM_OP_AWK_ARRAY_DELETE:
        key = fvm_pop(vm);
        h->array_delete(h->ud, vm, name, key);
        break;
    case FVM_OP_AWK_ARRAY_CLEAR: h->array_clear(h->ud, vm, name); break;
    default: fvm_push(vm, fvm_int(h->array_len(h->ud, vm, name))); break;
    }
    fvm_release(name);
    fvm_release(key);
    fvm_release(v);
}

/* Whether the host has the entry that serves code. */
static bool host_serves(const fvm_awk_host *h, unsigned code)
{
    switch (code) {
    case FVM_OP_AWK_FIELD_GET: return h->field_get;
    case FVM_OP_AWK_FIELD_SET: return h->field_set;
    case FVM_OP_AWK_NF: return h->nf;
    case FVM_OP_AWK_SET_RECORD: return h->set_record;
    case FVM_OP_AWK_SPECIAL_GET: return h->special_get;
    case FVM_OP_AWK_SPECIAL_SET: return h->special_set;
    case FVM_OP_AWK_PRINT: return h->print;
    case FVM_OP_AWK_PRINTF: return h->printf;
    case FVM_OP_AWK_SPRINTF: return h->sprintf;
    case FVM_OP_AWK_GETLINE: return h->getline;
    case FVM_OP_AWK_LENGTH: return h->length;
    case FVM_OP_AWK_SUBSTR: return h->substr;
    case FVM_OP_AWK_INDEX: return h->index;
    case FVM_OP_AWK_SPLIT: return h->split;
    case FVM_OP_AWK_SUB: return h->sub;
    case FVM_OP_AWK_GSUB: return h->gsub;
    case FVM_OP_AWK_MATCH: return h->match;
    case FVM_OP_AWK_GENSUB: return h->gensub;
    case FVM_OP_AWK_ARRAY_GET: return h->array_get;
    case FVM_OP_AWK_ARRAY_SET: return h->array_set;
    case FVM_OP_AWK_ARRAY_EXISTS: return h->array_exists;
    case FVM_OP_AWK_ARRAY_DELETE: return h->array_delete;
    case FVM_OP_AWK_ARRAY_CLEAR: return h->array_clear;
    case FVM_OP_AWK_ARRAY_LEN: return h->array_len;
    default: return false;
    }
}

/* The ops with runtime state, through the host; false if the host has no
 * entry for code. */
static bool host_state_op(fvm_vm *vm, unsigned code, uint64_t operand)
{
    const fvm_awk_host *h = &vm->awk;
    if (!host_serves(h, code))
        return false;
    fvm_value a, b;
    switch (code) {
    case FVM_OP_AWK_FIELD_GET:
        a = fvm_pop(vm);
        fvm_push(vm, h->field_get(h->ud, vm, fvm_to_int(a)));
        fvm_release(a);
        break;
    case FVM_OP_AWK_FIELD_SET: /* [v, i] */
        b = fvm_pop(vm);
        a = fvm_pop(vm);
        h->field_set(h->ud, vm, fvm_to_int(b), a);
        fvm_release(a);
        fvm_release(b);
        break;
    case FVM_OP_AWK_NF: fvm_push(vm, fvm_int(h->nf(h->ud, vm))); break;
    case FVM_OP_AWK_SET_RECORD:
        a = fvm_pop(vm);
        h->set_record(h->ud, vm, a);
        fvm_release(a);
        break;
    case FVM_OP_AWK_SPECIAL_GET:
        a = name_of(vm, operand);
        fvm_push(vm, h->special_get(h->ud, vm, a));
        fvm_release(a);
        break;
    case FVM_OP_AWK_SPECIAL_SET:
        a = name_of(vm, operand);
        b = fvm_pop(vm);
        h->special_set(h->ud, vm, a, b);
        fvm_release(a);
        fvm_release(b);
        break;
    case FVM_OP_AWK_PRINT:
    case FVM_OP_AWK_PRINTF:
    case FVM_OP_AWK_SPRINTF: host_output(vm, code, operand); break;
    case FVM_OP_AWK_GETLINE: host_getline(vm, operand); break;
    case FVM_OP_AWK_LENGTH: /* length(s) pops one value whatever its argc */
        a = operand ? fvm_pop(vm) : fvm_undef();
        fvm_push(vm, fvm_int(h->length(h->ud, vm, operand ? &a : NULL)));
        fvm_release(a);
        break;
    case FVM_OP_AWK_INDEX:
    case FVM_OP_AWK_MATCH:
        b = fvm_pop(vm);
        a = fvm_pop(vm);
        fvm_push(vm, fvm_int((code == FVM_OP_AWK_INDEX ? h->index : h->match)(h->ud, vm, a, b)));
        fvm_release(a);
        fvm_release(b);
        break;
    case FVM_OP_AWK_SUBSTR:
    case FVM_OP_AWK_SPLIT:
    case FVM_OP_AWK_SUB:
    case FVM_OP_AWK_GSUB:
    case FVM_OP_AWK_GENSUB: host_string_op(vm, code, operand); break;
    default: host_array_op(vm, code, operand); break;
    }
    return true;
}

double fvm_awk_field_num(fvm_vm *vm, int64_t i)
{
    return vm->awk.field_num ? vm->awk.field_num(vm->awk.ud, vm, i) : 0.0;
}

void fvm_awk_unknown_id(fvm_vm *vm)
{
    if (vm->has_awk)
        fvm_push(vm, fvm_undef());
}

/* Numeric when both string forms look numeric (a float once white space
 * is trimmed, or empty), else bytewise. */
static int compare_default(fvm_value a, fvm_value b)
{
    fvm_string *sa = fvm_value_to_str(a), *sb = fvm_value_to_str(b);
    const char *pa = sa->data, *pb = sb->data;
    size_t na = sa->len, nb = sb->len;
    double x, y;
    trim_space(&pa, &na);
    trim_space(&pb, &nb);
    bool num_a = na == 0 || fvm_parse_float_strict(pa, na, &x);
    bool num_b = nb == 0 || fvm_parse_float_strict(pb, nb, &y);
    int r;
    if (num_a && num_b) {
        x = fvm_to_float(a);
        y = fvm_to_float(b);
        r = x < y ? -1 : x > y ? 1 : 0; /* NaN compares equal, as upstream */
    } else {
        size_t n = sa->len < sb->len ? sa->len : sb->len;
        r = memcmp(sa->data, sb->data, n);
        r = r ? (r < 0 ? -1 : 1) : sa->len < sb->len ? -1 : sa->len > sb->len;
    }
    str_drop(sa);
    str_drop(sb);
    return r;
}

int fvm_vm_awk_compare(fvm_vm *vm, fvm_value a, fvm_value b)
{
    return vm->awk.compare ? vm->awk.compare(vm->awk.ud, vm, a, b) : compare_default(a, b);
}

/* ------------------------------------------------------------------------
 * Without the host */

/* The host-only ops: drop `pops` operands, then push `result` if the op
 * yields a value. */
static void op_inert(fvm_vm *vm, uint64_t pops, bool yields, fvm_value result)
{
    drop_n(vm, pops);
    if (yields)
        fvm_push(vm, result);
}

/* Getline kinds 2..5 (file, file into var, command, command into var)
 * carry the file name or command on the stack. */
static uint64_t getline_pops(uint64_t kind)
{
    return kind >= 2 && kind <= 5 ? 1 : 0;
}

/* The ops that need the host's runtime state. Returns false for any other
 * code. */
static bool host_only_op(fvm_vm *vm, unsigned code, uint64_t operand)
{
    switch (code) {
    case FVM_OP_AWK_FIELD_GET:
    case FVM_OP_AWK_ARRAY_GET: op_inert(vm, 1, true, empty_str()); return true;
    case FVM_OP_AWK_FIELD_SET:
    case FVM_OP_AWK_ARRAY_SET: op_inert(vm, 2, false, fvm_undef()); return true;
    case FVM_OP_AWK_SET_RECORD:
    case FVM_OP_AWK_SPECIAL_SET:
    case FVM_OP_AWK_ARRAY_DELETE: op_inert(vm, 1, false, fvm_undef()); return true;
    case FVM_OP_AWK_NF:
    case FVM_OP_AWK_ARRAY_LEN: op_inert(vm, 0, true, fvm_int(0)); return true;
    case FVM_OP_AWK_SPECIAL_GET: op_inert(vm, 0, true, fvm_undef()); return true;
    case FVM_OP_AWK_ARRAY_CLEAR: return true;
    case FVM_OP_AWK_ARRAY_EXISTS: op_inert(vm, 1, true, fvm_bool(false)); return true;
    case FVM_OP_AWK_PRINT:
    case FVM_OP_AWK_PRINTF: op_inert(vm, operand, false, fvm_undef()); return true;
    case FVM_OP_AWK_SPRINTF:
    case FVM_OP_AWK_GENSUB: op_inert(vm, operand, true, empty_str()); return true;
    case FVM_OP_AWK_SPLIT:
    case FVM_OP_AWK_SUB:
    case FVM_OP_AWK_GSUB: op_inert(vm, operand, true, fvm_int(0)); return true;
    case FVM_OP_AWK_MATCH: op_inert(vm, 2, true, fvm_int(0)); return true;
    case FVM_OP_AWK_GETLINE: op_inert(vm, getline_pops(operand), true, fvm_int(0)); return true;
    default: return false;
    }
}

fvm_step fvm_awk_op(fvm_vm *vm, unsigned code, uint64_t operand)
{
    if (vm->has_awk &&
        (host_state_op(vm, code, operand) || host_builtin(vm, code, operand)))
        return FVM_STEP_NEXT;
    if (host_only_op(vm, code, operand))
        return FVM_STEP_NEXT;
    switch (code) {
    case FVM_OP_AWK_LENGTH: op_length(vm, operand); break;
    case FVM_OP_AWK_SUBSTR: op_substr(vm, operand); break;
    case FVM_OP_AWK_INDEX: op_index(vm); break;
    case FVM_OP_AWK_TO_LOWER: op_unary(vm, lower); break;
    case FVM_OP_AWK_TO_UPPER: op_unary(vm, upper); break;
    case FVM_OP_AWK_INT: op_unary(vm, to_int); break;
    case FVM_OP_AWK_SQRT: op_math(vm, sqrt, false); break;
    case FVM_OP_AWK_SIN: op_math(vm, sin, true); break;
    case FVM_OP_AWK_COS: op_math(vm, cos, true); break;
    case FVM_OP_AWK_EXP: op_math(vm, exp, true); break;
    case FVM_OP_AWK_LOG: op_math(vm, log, false); break;
    case FVM_OP_AWK_ATAN2: op_atan2(vm); break;
    case FVM_OP_AWK_AND:
    case FVM_OP_AWK_OR:
    case FVM_OP_AWK_XOR: op_bitfold(vm, code, operand); break;
    case FVM_OP_AWK_COMPL: op_unary(vm, compl); break;
    case FVM_OP_AWK_LSHIFT: op_shift(vm, true); break;
    case FVM_OP_AWK_RSHIFT: op_shift(vm, false); break;
    case FVM_OP_AWK_STRTONUM: op_unary(vm, strtonum); break;
    case FVM_OP_AWK_SYSTIME: fvm_push(vm, fvm_float(fvm_awk_systime())); break;
    case FVM_OP_AWK_RAND: fvm_push(vm, fvm_float(fvm_awk_rand(&vm->awk_seed))); break;
    case FVM_OP_AWK_SRAND: op_srand(vm, operand); break;
    case FVM_OP_AWK_STRFTIME: op_strftime(vm, operand); break;
    case FVM_OP_AWK_MKTIME: op_mktime(vm, operand); break;
    case FVM_OP_AWK_ORD: op_unary(vm, ord); break;
    case FVM_OP_AWK_CHR: op_unary(vm, chr); break;
    case FVM_OP_AWK_MKBOOL: op_unary(vm, mkbool); break;
    case FVM_OP_AWK_INTDIV: op_intdiv(vm, false); break;
    case FVM_OP_AWK_INTDIV0: op_intdiv(vm, true); break;
    default: break;
    }
    return FVM_STEP_NEXT;
}

/* ------------------------------------------------------------------------
 * Extension ids */

/* The AWK extension ids upstream allocates, with the op each one means. */
static const struct {
    uint16_t id;
    uint16_t code;
} awk_ids[] = {
    {40000, FVM_OP_AWK_FIELD_GET},    {40001, FVM_OP_AWK_FIELD_SET},
    {40002, FVM_OP_AWK_NF},           {40003, FVM_OP_AWK_SET_RECORD},
    {40004, FVM_OP_AWK_SPECIAL_GET},  {40005, FVM_OP_AWK_SPECIAL_SET},
    {40016, FVM_OP_AWK_PRINT},        {40017, FVM_OP_AWK_PRINTF},
    {40018, FVM_OP_AWK_SPRINTF},      {40024, FVM_OP_AWK_GETLINE},
    {40032, FVM_OP_AWK_LENGTH},       {40033, FVM_OP_AWK_SUBSTR},
    {40034, FVM_OP_AWK_INDEX},        {40035, FVM_OP_AWK_SPLIT},
    {40036, FVM_OP_AWK_SUB},          {40037, FVM_OP_AWK_GSUB},
    {40038, FVM_OP_AWK_MATCH},        {40039, FVM_OP_AWK_TO_LOWER},
    {40040, FVM_OP_AWK_TO_UPPER},     {40041, FVM_OP_AWK_INT},
    {40042, FVM_OP_AWK_SQRT},         {40043, FVM_OP_AWK_SIN},
    {40044, FVM_OP_AWK_COS},          {40045, FVM_OP_AWK_EXP},
    {40046, FVM_OP_AWK_LOG},          {40047, FVM_OP_AWK_ATAN2},
    {40048, FVM_OP_AWK_ARRAY_GET},    {40049, FVM_OP_AWK_ARRAY_SET},
    {40050, FVM_OP_AWK_ARRAY_EXISTS}, {40051, FVM_OP_AWK_ARRAY_DELETE},
    {40052, FVM_OP_AWK_ARRAY_CLEAR},  {40053, FVM_OP_AWK_ARRAY_LEN},
    {40054, FVM_OP_AWK_AND},          {40055, FVM_OP_AWK_OR},
    {40056, FVM_OP_AWK_XOR},          {40057, FVM_OP_AWK_COMPL},
    {40058, FVM_OP_AWK_LSHIFT},       {40059, FVM_OP_AWK_RSHIFT},
    {40060, FVM_OP_AWK_STRTONUM},     {40061, FVM_OP_AWK_SYSTIME},
    {40062, FVM_OP_AWK_RAND},         {40063, FVM_OP_AWK_SRAND},
    {40064, FVM_OP_AWK_STRFTIME},     {40065, FVM_OP_AWK_MKTIME},
    {40066, FVM_OP_AWK_ORD},          {40067, FVM_OP_AWK_CHR},
    {40068, FVM_OP_AWK_MKBOOL},       {40069, FVM_OP_AWK_INTDIV},
    {40070, FVM_OP_AWK_INTDIV0},      {40071, FVM_OP_AWK_GENSUB},
};

int fvm_awk_op_for_id(uint16_t id)
{
    for (size_t i = 0; i < sizeof awk_ids / sizeof *awk_ids; i++)
        if (awk_ids[i].id == id)
            return awk_ids[i].code;
    return -1;
}
