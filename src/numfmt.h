/* Number <-> text: shortest round-trip float formatting (public as
 * fvm_format_float) and the strict parsers behind to_int / to_float. */
#ifndef FVM_NUMFMT_H
#define FVM_NUMFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest text fvm_format_float can produce (5e-324 positionally), plus NUL. */
#define FVM_FLOAT_TEXT_MAX 400

/* As fvm_format_float, except that a value exactly halfway between the two
 * shortest candidates that read back takes the one whose last digit is
 * even (Ryu, and so serde_json), not the larger one (Rust's Display):
 * 1000000000000000.25 gives "1000000000000000.2". */
size_t fvm_format_float_ties_even(double d, char *buf, size_t cap);

/* The whole of s[0..n) as a decimal integer: optional single sign, at least
 * one ASCII digit, nothing else, value within int64. */
bool fvm_parse_int_strict(const char *s, size_t n, int64_t *out);

/* The whole of s[0..n) as a decimal float: optional sign, digits with an
 * optional '.' and fraction (".5" and "5." accepted, at least one digit),
 * optional exponent e/E[sign]digits; or case-insensitive inf, infinity, nan
 * with optional sign. Correctly rounded; overflow gives +-inf. */
bool fvm_parse_float_strict(const char *s, size_t n, double *out);

#endif
