/* Allocation and byte buffers shared by every module. */
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fusevm.h"

static void out_of_memory(size_t n)
{
    fprintf(stderr, "fusevm: out of memory (allocating %zu bytes)\n", n);
    abort();
}

void *fvm_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *fvm_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        out_of_memory(n * size);
    return p;
}

void *fvm_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n);
    return q;
}

void fvm_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem)
            out_of_memory(SIZE_MAX);
        ncap *= 2;
    }
    *p = fvm_xrealloc(*p, ncap * elem);
    *cap = ncap;
}

void fvm_buf_reserve(fvm_buf *b, size_t extra)
{
    /* Keep one byte spare so the data can always be NUL-terminated. */
    void *d = b->data;
    fvm_grow(&d, &b->cap, b->len + extra + 1, 1);
    b->data = d;
}

void fvm_buf_put(fvm_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap)
        fvm_buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

void fvm_buf_puts(fvm_buf *b, const char *s)
{
    fvm_buf_put(b, s, strlen(s));
}

void fvm_buf_printf(fvm_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    fvm_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void fvm_buf_free(fvm_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Public so that callers free library-allocated memory with the library's
 * allocator (they may link a different C runtime). */
void fvm_free(void *p)
{
    free(p);
}

uint64_t fvm_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
