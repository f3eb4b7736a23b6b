/* Small shared helpers: allocation, a growable byte buffer, hashing. */
#ifndef FVM_UTIL_H
#define FVM_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
#define FVM_INTERNAL __attribute__((visibility("hidden")))
#define FVM_LIKELY(x) __builtin_expect(!!(x), 1)
#define FVM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define FVM_INTERNAL
#define FVM_LIKELY(x) (x)
#define FVM_UNLIKELY(x) (x)
#endif

/* Allocation. Running out of memory is the one condition the library does
 * not turn into an error value: these print a message and abort, as an
 * allocation failure deep inside an op has no sensible way to continue. */
void *fvm_xmalloc(size_t n);
void *fvm_xcalloc(size_t n, size_t size);
void *fvm_xrealloc(void *p, size_t n);
/* Grow *p (an array of *cap elements of size elem) to hold at least need. */
void fvm_grow(void **p, size_t *cap, size_t need, size_t elem);

typedef struct fvm_buf {
    char *data;
    size_t len, cap;
} fvm_buf;

void fvm_buf_reserve(fvm_buf *b, size_t extra);
void fvm_buf_put(fvm_buf *b, const void *p, size_t n);
static inline void fvm_buf_putc(fvm_buf *b, char c)
{
    if (b->len + 1 >= b->cap)
        fvm_buf_reserve(b, 1);
    b->data[b->len++] = c;
}
void fvm_buf_puts(fvm_buf *b, const char *s);
void fvm_buf_printf(fvm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fvm_buf_free(fvm_buf *b);

/* The value of a hexadecimal digit, or -1. */
static inline int fvm_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* FNV-1a, 64-bit, for content hashes that must be stable across processes. */
static inline uint64_t fvm_fnv1a64(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
#define FVM_FNV64_INIT 0xcbf29ce484222325ull

/* The monotonic clock in nanoseconds (compile-time counters). */
uint64_t fvm_now_ns(void);

#endif
