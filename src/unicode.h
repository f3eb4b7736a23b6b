/* UTF-8 and Unicode character properties for the string builtins.
 *
 * Strings are byte strings and may hold invalid UTF-8. Every function here
 * reads them the same way: a well-formed sequence (no overlong forms, no
 * surrogates, at most U+10FFFF) is one character; any other byte is one
 * character on its own, which case mapping copies unchanged. */
#ifndef FVM_UNICODE_H
#define FVM_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* The character at s[0..n) (n > 0): its scalar value, or -1 for an invalid
 * byte. *len receives the bytes it spans (1 for an invalid byte). */
int32_t fvm_utf8_decode(const char *s, size_t n, size_t *len);

/* The UTF-8 encoding of scalar c into out (4 bytes); returns the length. */
size_t fvm_utf8_encode(uint32_t c, char *out);

/* Number of characters in s[0..n). */
size_t fvm_utf8_count(const char *s, size_t n);

/* Unicode White_Space (Rust's char::is_whitespace). */
bool fvm_unicode_is_space(int32_t c);

/* Append s[0..n) with every character mapped to lower or upper case, using
 * the full (possibly multi-character) mappings, as Rust's str::to_lowercase
 * and str::to_uppercase do. */
void fvm_utf8_case_map(fvm_buf *out, const char *s, size_t n, bool upper);

#endif
