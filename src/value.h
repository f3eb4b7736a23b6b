/* Values: the heap objects behind Str, Array, Hash and Ref, and the
 * reference counting every module uses. */
#ifndef FVM_VALUE_H
#define FVM_VALUE_H

#include "fusevm.h"
#include "util.h"

/* Immutable byte string. data[len] is always NUL so C APIs can read it. */
typedef struct fvm_str {
    uint32_t rc;
    uint32_t hash; /* 0 until computed */
    size_t len;
    char data[];
} fvm_string;

typedef struct fvm_array {
    uint32_t rc;
    uint32_t pad_;
    size_t len, cap;
    fvm_value *items;
} fvm_array;

/* Insertion-ordered hash map (entries in a dense array, an open-addressing
 * index over them), so iteration order is deterministic. Deleted entries
 * leave a hole (key == NULL) that a rebuild compacts. */
typedef struct fvm_hash_slot {
    fvm_string *key; /* NULL: deleted */
    fvm_value val;
} fvm_hash_slot;

typedef struct fvm_hash {
    uint32_t rc;
    uint32_t pad_;
    size_t count;   /* live entries */
    size_t used;    /* entries[0..used) including holes */
    size_t cap;     /* capacity of entries */
    size_t mask;    /* index size - 1 (index size is a power of two) */
    fvm_hash_slot *entries;
    uint32_t *index; /* 0 empty, else entry position + 1 */
} fvm_hash;

typedef struct fvm_ref {
    uint32_t rc;
    uint32_t pad_;
    fvm_value val;
} fvm_ref;

/* One shift and test instead of four compares: this runs on every release. */
#define FVM_HEAP_TYPES                                                                             \
    ((1u << FVM_T_STR) | (1u << FVM_T_ARRAY) | (1u << FVM_T_HASH) | (1u << FVM_T_REF))
static inline bool fvm_is_heap(const fvm_value v)
{
    return (FVM_HEAP_TYPES >> (v.type & 31)) & 1;
}

/* All heap objects start with their reference count. */
static inline void fvm_retain(fvm_value v)
{
    if (fvm_is_heap(v))
        (*(uint32_t *)v.as.s)++;
}

void fvm_free_heap(fvm_value v);

static inline void fvm_release(fvm_value v)
{
    if (fvm_is_heap(v) && --(*(uint32_t *)v.as.s) == 0)
        fvm_free_heap(v);
}

/* A double truncated toward zero, saturating at the int64 range; NaN is 0.
 * This is to_int of a Float, and every op that turns a float into an int. */
static inline int64_t fvm_float_to_int(double f)
{
    if (f != f)
        return 0;
    if (f >= 9223372036854775808.0)
        return INT64_MAX;
    if (f <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)f;
}

/* --- strings --- */
fvm_string *fvm_str_alloc(size_t len); /* rc 1, data uninitialised but NUL-terminated */
/* fvm_str_alloc, or NULL when memory runs out (for sizes a program chose). */
fvm_string *fvm_str_try_alloc(size_t len);
static inline fvm_value fvm_str_value(fvm_string *s)
{
    fvm_value v = {FVM_T_STR, 0, {.s = s}};
    return v;
}
uint32_t fvm_str_hash(fvm_string *s);
fvm_string *fvm_str_from(const char *p, size_t n);
/* Byte-wise comparison (memcmp, then length): <0, 0, >0. */
int fvm_bytes_cmp(const char *a, size_t alen, const char *b, size_t blen);
bool fvm_str_eq(const fvm_string *a, const fvm_string *b);

/* --- arrays (all take/return owned references unless noted) --- */
fvm_array *fvm_array_alloc(size_t cap);
/* fvm_array_alloc, or NULL when memory runs out (for sizes a program chose). */
fvm_array *fvm_array_try_alloc(size_t cap);
static inline fvm_value fvm_array_value(fvm_array *a)
{
    fvm_value v = {FVM_T_ARRAY, 0, {.a = a}};
    return v;
}
/* Make *slot's array unshared so it may be modified in place. */
fvm_array *fvm_array_mut(fvm_value *slot);
void fvm_array_append(fvm_array *a, fvm_value item);

/* --- hashes --- */
fvm_hash *fvm_hash_alloc(void);
static inline fvm_value fvm_hash_value(fvm_hash *h)
{
    fvm_value v = {FVM_T_HASH, 0, {.h = h}};
    return v;
}
fvm_hash *fvm_hash_mut(fvm_value *slot);
/* Borrowed pointer to the value for key, or NULL. */
fvm_value *fvm_hash_find(const fvm_hash *h, const char *k, size_t klen);
/* Insert or overwrite (takes key ref and v). */
void fvm_hash_put(fvm_hash *h, fvm_string *key, fvm_value v);
/* Remove key; returns the old value (owned) or Undef. */
fvm_value fvm_hash_remove(fvm_hash *h, const char *k, size_t klen);

/* --- coercions used on hot paths --- */
/* The string form as an owned fvm_str (a new reference for Str). */
fvm_string *fvm_value_to_str(fvm_value v);
/* Append the string form of v to a growable buffer. */
void fvm_buf_put_value(fvm_buf *b, fvm_value v);

#endif
