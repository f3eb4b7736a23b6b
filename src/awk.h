/* The AWK builtins that need no host: pure functions over values, shared
 * by the interpreter's AWK ops (awk.c) and the JIT's helpers. Value
 * arguments are borrowed; returned values are owned by the caller. */
#ifndef FVM_AWK_H
#define FVM_AWK_H

#include "value.h"

/* length(s): characters in to_str(s). */
int64_t fvm_awk_length(fvm_value s);
/* substr(s, m [, n]): 1-based, POSIX clamping, counted in characters. */
fvm_value fvm_awk_substr(fvm_value s, int64_t m, bool has_n, int64_t n);
/* index(s, t): 1-based character position of t in s, 0 if absent, 1 for
 * an empty t. */
int64_t fvm_awk_index(fvm_value s, fvm_value t);
/* tolower / toupper with Unicode case mapping. */
fvm_value fvm_awk_case(fvm_value s, bool upper);

/* int(x): Int when the truncation fits int64, else the truncated Float. */
fvm_value fvm_awk_int(double x);
/* A NaN result as the positive quiet NaN (sin, cos, exp, atan2). */
double fvm_awk_canon_nan(double r);
/* strtonum(s): hex, octal or the longest decimal prefix. */
double fvm_awk_strtonum(const char *s, size_t n);

/* The bit pattern and/or/xor/compl/shifts operate on: x truncated to
 * int64 with saturation (NaN is 0). */
uint64_t fvm_awk_bits(double x);
/* lshift / rshift: logical shifts of bits(v) by bits(n) & 63. */
int64_t fvm_awk_shift(double v, double n, bool left);
/* intdiv(a, b): the truncating quotient as a Float; a zero divisor (as a
 * float or after truncation) gives Undef, or 0.0 for intdiv0. */
fvm_value fvm_awk_intdiv(double a, double b, bool zero_for_zero);

/* ord(s): the first character's scalar value, 0 for "". */
double fvm_awk_ord(fvm_value s);
/* chr(n): the character with scalar value n, "" if n is not one. */
fvm_value fvm_awk_chr(double n);

/* rand(): advance the LCG seed, return a value in [0, 1). */
double fvm_awk_rand(uint64_t *seed);
/* srand(): install a new seed, return the previous one's low 32 bits. */
double fvm_awk_srand(uint64_t *seed, uint64_t new_seed);

/* Time builtins (awk_time.c). */
/* systime(): seconds since the epoch, with the fraction. */
double fvm_awk_systime(void);
/* A seed from the clock, for srand(): seconds xor nanoseconds. */
uint64_t fvm_awk_clock_seed(void);
/* strftime(fmt, ts, utc) into a new Str; "" when ts is outside the
 * representable range or fmt has an invalid conversion. */
fvm_value fvm_awk_strftime(const char *fmt, size_t n, double ts, bool utc);
/* The default format of strftime() without arguments. */
#define FVM_AWK_STRFTIME_DEFAULT "%a %b %e %H:%M:%S %Z %Y"
/* mktime("YYYY MM DD HH MM SS"): epoch seconds, -1 when invalid. */
double fvm_awk_mktime(const char *spec, size_t n, bool utc);

#endif
