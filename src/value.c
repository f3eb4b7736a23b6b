/* Values: reference counting, strings, copy-on-write arrays and hashes, and
 * the coercions of the value model (truthiness, to_int, to_float, to_str). */
#include "value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "numfmt.h"

/* ------------------------------------------------------------------------
 * Freeing
 * ------------------------------------------------------------------------ */

/* Holes (key NULL) were released when their entry was removed. */
static void hash_free(fvm_hash *h)
{
    for (size_t i = 0; i < h->used; i++) {
        if (h->entries[i].key) {
            fvm_release(fvm_str_value(h->entries[i].key));
            fvm_release(h->entries[i].val);
        }
    }
    free(h->entries);
    free(h->index);
    free(h);
}

/* Called by fvm_release when a count reaches 0. Releasing the elements may
 * free nested objects in turn, recursively. */
void fvm_free_heap(fvm_value v)
{
    switch (v.type) {
    case FVM_T_STR:
        free(v.as.s);
        break;
    case FVM_T_ARRAY:
        for (size_t i = 0; i < v.as.a->len; i++)
            fvm_release(v.as.a->items[i]);
        free(v.as.a->items);
        free(v.as.a);
        break;
    case FVM_T_HASH:
        hash_free(v.as.h);
        break;
    case FVM_T_REF:
        fvm_release(v.as.r->val);
        free(v.as.r);
        break;
    default:
        break;
    }
}

/* The public names of fvm_retain and fvm_release: embedders see only
 * fusevm.h, not the inline functions of value.h. */
fvm_value fvm_value_copy(fvm_value v)
{
    fvm_retain(v);
    return v;
}

void fvm_value_drop(fvm_value v)
{
    fvm_release(v);
}

/* ------------------------------------------------------------------------
 * Strings
 * ------------------------------------------------------------------------ */

/* Header and bytes in one allocation, with a NUL after the last byte so C
 * APIs can read data. hash 0 means "not computed yet". */
static fvm_string *str_init(fvm_string *s, size_t len)
{
    s->rc = 1;
    s->hash = 0;
    s->len = len;
    s->data[len] = 0;
    return s;
}

fvm_string *fvm_str_alloc(size_t len)
{
    return str_init(fvm_xmalloc(sizeof(fvm_string) + len + 1), len);
}

fvm_string *fvm_str_try_alloc(size_t len)
{
    fvm_string *s = malloc(sizeof(fvm_string) + len + 1);
    return s ? str_init(s, len) : NULL;
}

fvm_string *fvm_str_from(const char *p, size_t n)
{
    fvm_string *s = fvm_str_alloc(n);
    if (n) /* memcpy must not see a NULL p, even for 0 bytes */
        memcpy(s->data, p, n);
    return s;
}

/* FNV-1a 32, computed on first use and cached: strings are immutable, so
 * it never goes stale. A hash of 0 is stored as 1, because 0 means "not
 * computed". bytes_hash computes the same function on raw bytes, and must:
 * a lookup by bytes has to probe where fvm_hash_put placed the string. */
uint32_t fvm_str_hash(fvm_string *s)
{
    if (s->hash == 0) {
        uint32_t h = 0x811c9dc5u;
        for (size_t i = 0; i < s->len; i++) {
            h ^= (unsigned char)s->data[i];
            h *= 0x01000193u;
        }
        s->hash = h ? h : 1;
    }
    return s->hash;
}

/* Unsigned byte order (memcmp), and a prefix sorts before the longer
 * string. memcmp is skipped for 0 bytes, so an empty side may be NULL. */
int fvm_bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Pointer equality first: a string compared with another reference to
 * itself needs no memcmp. */
bool fvm_str_eq(const fvm_string *a, const fvm_string *b)
{
    return a == b || (a->len == b->len && memcmp(a->data, b->data, a->len) == 0);
}

fvm_value fvm_str(const char *bytes, size_t len)
{
    return fvm_str_value(fvm_str_from(bytes, len));
}

fvm_value fvm_cstr(const char *s)
{
    return fvm_str(s, strlen(s));
}

const char *fvm_str_bytes(fvm_value v, size_t *len)
{
    if (v.type != FVM_T_STR) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = v.as.s->len;
    return v.as.s->data;
}

/* ------------------------------------------------------------------------
 * Arrays
 * ------------------------------------------------------------------------ */

/* An empty array is one allocation: items stays NULL until the first
 * append. */
static fvm_array *array_init(fvm_array *a, size_t cap, fvm_value *items)
{
    a->rc = 1;
    a->pad_ = 0;
    a->len = 0;
    a->cap = cap;
    a->items = items;
    return a;
}

fvm_array *fvm_array_alloc(size_t cap)
{
    fvm_value *items = cap ? fvm_xmalloc(cap * sizeof(fvm_value)) : NULL;
    return array_init(fvm_xmalloc(sizeof(fvm_array)), cap, items);
}

fvm_array *fvm_array_try_alloc(size_t cap)
{
    fvm_value *items = cap ? malloc(cap * sizeof(fvm_value)) : NULL;
    fvm_array *a = cap && !items ? NULL : malloc(sizeof *a);
    if (!a) {
        free(items);
        return NULL;
    }
    return array_init(a, cap, items);
}

/* Copy-on-write. A shared array (count above 1) is copied before the
 * write, so every other holder keeps the old contents: upstream's value
 * semantics without copying on reads. Elements are retained, not copied: a
 * nested array or hash stays shared until something writes it through its
 * own slot, which copies it in turn. The old array only loses this slot's
 * reference (others still hold it, so it cannot reach 0 here). The copy is
 * sized to fit; the next append grows it. */
fvm_array *fvm_array_mut(fvm_value *slot)
{
    fvm_array *a = slot->as.a;
    if (a->rc == 1)
        return a;
    fvm_array *c = fvm_array_alloc(a->len);
    for (size_t i = 0; i < a->len; i++) {
        fvm_retain(a->items[i]);
        c->items[i] = a->items[i];
    }
    c->len = a->len;
    a->rc--;
    slot->as.a = c;
    return c;
}

/* Takes item. The array must be unshared (fvm_array_mut). fvm_grow doubles
 * the capacity, so appends cost O(1) amortised. */
void fvm_array_append(fvm_array *a, fvm_value item)
{
    if (a->len == a->cap) {
        void *p = a->items;
        fvm_grow(&p, &a->cap, a->len + 1, sizeof(fvm_value));
        a->items = p;
    }
    a->items[a->len++] = item;
}

fvm_value fvm_array_new(void)
{
    return fvm_array_value(fvm_array_alloc(0));
}

size_t fvm_array_len(fvm_value arr)
{
    return arr.type == FVM_T_ARRAY ? arr.as.a->len : 0;
}

fvm_value fvm_array_at(fvm_value arr, size_t i)
{
    if (arr.type != FVM_T_ARRAY || i >= arr.as.a->len)
        return fvm_undef();
    return arr.as.a->items[i];
}

/* *arr may be replaced by an unshared copy (copy-on-write). item is taken
 * even on failure, so the caller never has to release it. */
int fvm_array_push(fvm_value *arr, fvm_value item)
{
    if (arr->type != FVM_T_ARRAY) {
        fvm_release(item);
        return -1;
    }
    fvm_array_append(fvm_array_mut(arr), item);
    return 0;
}

/* ------------------------------------------------------------------------
 * Hashes
 *
 * Insertion order is the order of the dense entry array. The index maps a
 * key's hash to entry position + 1 (0: empty cell) by linear probing; its
 * size is a power of two at least twice the entry capacity, so it is at
 * most half full even counting holes, and every probe ends at an empty
 * cell. A removed entry leaves a hole (key NULL) whose index cell stays, so
 * probes go on past it; holes are compacted when the entry array fills.
 * ------------------------------------------------------------------------ */

/* No entries and no index until the first put; lookups test count before
 * they touch the index, which may be NULL. */
fvm_hash *fvm_hash_alloc(void)
{
    fvm_hash *h = fvm_xcalloc(1, sizeof *h);
    h->rc = 1;
    return h;
}

/* Rebuild the index for at least `cap` entries, compacting holes.
 * Compaction moves entries, so the index is built again from scratch rather
 * than patched. It has at least 8 cells and twice the entry capacity: a load
 * of at most 1/2 keeps probes short. */
static void hash_rebuild(fvm_hash *h, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; i < h->used; i++)
        if (h->entries[i].key)
            h->entries[j++] = h->entries[i];
    h->used = j;
    if (cap > h->cap) {
        h->entries = fvm_xrealloc(h->entries, cap * sizeof(fvm_hash_slot));
        h->cap = cap;
    }
    size_t isize = 8;
    while (isize < h->cap * 2)
        isize *= 2;
    free(h->index);
    h->index = fvm_xcalloc(isize, sizeof(uint32_t));
    h->mask = isize - 1;
    for (size_t i = 0; i < h->used; i++) {
        size_t p = fvm_str_hash(h->entries[i].key) & h->mask;
        while (h->index[p])
            p = (p + 1) & h->mask;
        h->index[p] = (uint32_t)(i + 1);
    }
}

/* fvm_str_hash on bytes that are not (yet) a string: the same function, so
 * a lookup by (k, klen) probes where the key string was put. */
static uint32_t bytes_hash(const char *k, size_t n)
{
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 0x01000193u;
    }
    return h ? h : 1;
}

/* Index position holding key, or of the empty cell where it would go.
 * Holes never match but do not stop the probe; it ends because the index
 * always has an empty cell. */
static size_t hash_probe(const fvm_hash *h, const char *k, size_t klen, uint32_t hv)
{
    size_t p = hv & h->mask;
    for (;;) {
        uint32_t e = h->index[p];
        if (e == 0)
            return p;
        const fvm_string *key = h->entries[e - 1].key;
        if (key && key->len == klen && memcmp(key->data, k, klen) == 0)
            return p;
        p = (p + 1) & h->mask;
    }
}

fvm_value *fvm_hash_find(const fvm_hash *h, const char *k, size_t klen)
{
    if (h->count == 0)
        return NULL;
    uint32_t e = h->index[hash_probe(h, k, klen, bytes_hash(k, klen))];
    return e ? &h->entries[e - 1].val : NULL;
}

/* Overwriting keeps the entry where it was (a key's place in the order is
 * that of its first put) and releases the new key, as the old one stays. A
 * new key is appended. When the entry array is full: if at least half of it
 * is live the capacity doubles (4 the first time); otherwise the rebuild at
 * the same capacity only compacts the holes, so a hash that keeps removing
 * and adding does not grow without end. The probe is repeated after the
 * append because the rebuild may have made a new index. */
void fvm_hash_put(fvm_hash *h, fvm_string *key, fvm_value v)
{
    if (h->index) {
        size_t p = hash_probe(h, key->data, key->len, fvm_str_hash(key));
        if (h->index[p]) {
            fvm_hash_slot *e = &h->entries[h->index[p] - 1];
            fvm_release(e->val);
            e->val = v;
            fvm_release(fvm_str_value(key));
            return;
        }
    }
    if (h->used == h->cap)
        hash_rebuild(h, h->count * 2 >= h->cap ? (h->cap ? h->cap * 2 : 4) : h->cap);
    h->entries[h->used].key = key;
    h->entries[h->used].val = v;
    h->used++;
    h->count++;
    size_t p = hash_probe(h, key->data, key->len, fvm_str_hash(key));
    h->index[p] = (uint32_t)h->used;
}

fvm_value fvm_hash_remove(fvm_hash *h, const char *k, size_t klen)
{
    if (h->count == 0)
        return fvm_undef();
    size_t p = hash_probe(h, k, klen, bytes_hash(k, klen));
    uint32_t e = h->index[p];
    if (!e)
        return fvm_undef();
    fvm_hash_slot *ent = &h->entries[e - 1];
    fvm_value old = ent->val;
    fvm_release(fvm_str_value(ent->key));
    /* The index cell keeps pointing at the hole so probing continues past
     * it; the next rebuild drops both. A key put again later is a new entry,
     * at the end of the order. */
    ent->key = NULL;
    ent->val = fvm_undef();
    h->count--;
    return old;
}

/* Copy-on-write, as fvm_array_mut. The copy is built by put, so it has no
 * holes and a fresh index; keys are shared rather than copied (strings are
 * immutable) and values retained. */
fvm_hash *fvm_hash_mut(fvm_value *slot)
{
    fvm_hash *h = slot->as.h;
    if (h->rc == 1)
        return h;
    fvm_hash *c = fvm_hash_alloc();
    for (size_t i = 0; i < h->used; i++) {
        if (!h->entries[i].key)
            continue;
        h->entries[i].key->rc++;
        fvm_retain(h->entries[i].val);
        fvm_hash_put(c, h->entries[i].key, h->entries[i].val);
    }
    h->rc--;
    slot->as.h = c;
    return c;
}

fvm_value fvm_hash_new(void)
{
    return fvm_hash_value(fvm_hash_alloc());
}

size_t fvm_hash_count(fvm_value h)
{
    return h.type == FVM_T_HASH ? h.as.h->count : 0;
}

fvm_value fvm_hash_get(fvm_value h, const char *key, size_t klen)
{
    if (h.type != FVM_T_HASH)
        return fvm_undef();
    fvm_value *v = fvm_hash_find(h.as.h, key, klen);
    return v ? *v : fvm_undef();
}

/* *h may be replaced by an unshared copy; v is taken even on failure. */
int fvm_hash_set(fvm_value *h, const char *key, size_t klen, fvm_value v)
{
    if (h->type != FVM_T_HASH) {
        fvm_release(v);
        return -1;
    }
    fvm_hash_put(fvm_hash_mut(h), fvm_str_from(key, klen), v);
    return 0;
}

bool fvm_hash_entry(fvm_value h, size_t i, const char **key, size_t *klen, fvm_value *v)
{
    if (h.type != FVM_T_HASH || i >= h.as.h->count)
        return false;
    fvm_hash *hh = h.as.h;
    /* Entries are dense unless something was deleted; find the i-th live.
     * That is O(1) without holes and O(used) with them, so walking a hash
     * with holes entry by entry costs O(count * used). */
    size_t pos = i;
    if (hh->used != hh->count) {
        size_t seen = 0;
        for (pos = 0; pos < hh->used; pos++)
            if (hh->entries[pos].key && seen++ == i)
                break;
    }
    *key = hh->entries[pos].key->data;
    *klen = hh->entries[pos].key->len;
    *v = hh->entries[pos].val;
    return true;
}

/* ------------------------------------------------------------------------
 * Refs
 * ------------------------------------------------------------------------ */

fvm_value fvm_ref_new(fvm_value inner)
{
    fvm_ref *r = fvm_xmalloc(sizeof *r);
    r->rc = 1;
    r->pad_ = 0;
    r->val = inner;
    fvm_value v = {FVM_T_REF, 0, {.r = r}};
    return v;
}

fvm_value fvm_ref_get(fvm_value r)
{
    return r.type == FVM_T_REF ? r.as.r->val : fvm_undef();
}

/* ------------------------------------------------------------------------
 * Coercions
 *
 * The value model's coercions; tests/unit/test_values.c pins every variant.
 * ------------------------------------------------------------------------ */

/* A string is false only when empty or exactly "0" ("0.0", "00" and " 0"
 * are true). A Status is true when 0, the shell's success. A Ref is true
 * whatever it holds, as are native functions and objects. */
bool fvm_truthy(fvm_value v)
{
    switch (v.type) {
    case FVM_T_UNDEF: return false;
    case FVM_T_BOOL: return v.as.b;
    case FVM_T_INT: return v.as.i != 0;
    case FVM_T_FLOAT: return v.as.f != 0.0; /* NaN is truthy */
    case FVM_T_STR: return !(v.as.s->len == 0 || (v.as.s->len == 1 && v.as.s->data[0] == '0'));
    case FVM_T_ARRAY: return v.as.a->len != 0;
    case FVM_T_HASH: return v.as.h->count != 0;
    case FVM_T_STATUS: return v.as.status == 0;
    default: return true;
    }
}

/* Strings parse strictly, the whole string or 0 ("4.5" is 0, " 5" is 0).
 * An array gives its length, a hash 0. */
int64_t fvm_to_int(fvm_value v)
{
    switch (v.type) {
    case FVM_T_INT: return v.as.i;
    case FVM_T_FLOAT: return fvm_float_to_int(v.as.f);
    case FVM_T_BOOL: return v.as.b;
    case FVM_T_STATUS: return v.as.status;
    case FVM_T_ARRAY: return (int64_t)v.as.a->len;
    case FVM_T_STR: {
        int64_t n;
        return fvm_parse_int_strict(v.as.s->data, v.as.s->len, &n) ? n : 0;
    }
    default: return 0;
    }
}

/* Strict parsing as for to_int ("4.5" is 4.5 here). Unlike to_int, an
 * array gives 0.0, not its length. */
double fvm_to_float(fvm_value v)
{
    switch (v.type) {
    case FVM_T_FLOAT: return v.as.f;
    case FVM_T_INT: return (double)v.as.i;
    case FVM_T_BOOL: return v.as.b ? 1.0 : 0.0;
    case FVM_T_STATUS: return v.as.status;
    case FVM_T_STR: {
        double d;
        return fvm_parse_float_strict(v.as.s->data, v.as.s->len, &d) ? d : 0.0;
    }
    default: return 0.0;
    }
}

/* The string form: Undef and false print nothing, true prints 1, a float
 * its shortest round-trip digits written positionally (numfmt.c). An array
 * prints its elements joined by spaces at every depth, so nested arrays
 * flatten ([[1,2],3] is "1 2 3") and an empty element still gets its
 * separator. Hashes and refs print a fixed tag, not their contents. */
void fvm_buf_put_value(fvm_buf *b, fvm_value v)
{
    char tmp[FVM_FLOAT_TEXT_MAX];
    switch (v.type) {
    case FVM_T_UNDEF:
        break;
    case FVM_T_BOOL:
        if (v.as.b)
            fvm_buf_putc(b, '1');
        break;
    case FVM_T_INT:
        fvm_buf_printf(b, "%lld", (long long)v.as.i);
        break;
    case FVM_T_FLOAT:
        fvm_buf_put(b, tmp, fvm_format_float(v.as.f, tmp, sizeof tmp));
        break;
    case FVM_T_STR:
        fvm_buf_put(b, v.as.s->data, v.as.s->len);
        break;
    case FVM_T_ARRAY:
        for (size_t i = 0; i < v.as.a->len; i++) {
            if (i)
                fvm_buf_putc(b, ' ');
            fvm_buf_put_value(b, v.as.a->items[i]);
        }
        break;
    case FVM_T_HASH:
        fvm_buf_puts(b, "(hash)");
        break;
    case FVM_T_STATUS:
        fvm_buf_printf(b, "%d", (int)v.as.status);
        break;
    case FVM_T_REF:
        fvm_buf_puts(b, "(ref)");
        break;
    case FVM_T_NATIVEFN:
        fvm_buf_printf(b, "(builtin:%u)", (unsigned)v.as.fn);
        break;
    case FVM_T_OBJ:
        fvm_buf_printf(b, "(obj:%u)", (unsigned)v.as.obj);
        break;
    }
}

fvm_string *fvm_value_to_str(fvm_value v)
{
    if (v.type == FVM_T_STR) {
        v.as.s->rc++;
        return v.as.s;
    }
    if (v.type == FVM_T_INT) { /* the common case, without a heap buffer */
        char tmp[24]; /* INT64_MIN is 20 characters, then the NUL */
        int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v.as.i);
        return fvm_str_from(tmp, (size_t)n);
    }
    fvm_buf b = {0};
    fvm_buf_put_value(&b, v);
    fvm_string *s = fvm_str_from(b.data ? b.data : "", b.len);
    fvm_buf_free(&b);
    return s;
}

fvm_value fvm_to_str(fvm_value v)
{
    return fvm_str_value(fvm_value_to_str(v));
}

/* A string's length in bytes (UTF-8 is not decoded); an array's or hash's
 * element count; anything else the length of its string form (Int -99 is
 * 3, true is 1). */
size_t fvm_value_len(fvm_value v)
{
    switch (v.type) {
    case FVM_T_STR: return v.as.s->len;
    case FVM_T_ARRAY: return v.as.a->len;
    case FVM_T_HASH: return v.as.h->count;
    case FVM_T_UNDEF: return 0;
    default: {
        fvm_string *s = fvm_value_to_str(v);
        size_t n = s->len;
        fvm_release(fvm_str_value(s));
        return n;
    }
    }
}

/* Structural equality within one variant: Int 1 and Float 1.0 differ.
 * Floats compare with ==, so NaN is unequal to itself and -0.0 equals 0.0
 * (chunk.c's value_identical compares bits instead). Hashes compare as
 * sets of entries, whatever their order; a Ref compares what it holds. */
bool fvm_value_equal(fvm_value a, fvm_value b)
{
    if (a.type != b.type)
        return false;
    switch (a.type) {
    case FVM_T_UNDEF: return true;
    case FVM_T_BOOL: return a.as.b == b.as.b;
    case FVM_T_INT: return a.as.i == b.as.i;
    case FVM_T_FLOAT: return a.as.f == b.as.f;
    case FVM_T_STR: return fvm_str_eq(a.as.s, b.as.s);
    case FVM_T_STATUS: return a.as.status == b.as.status;
    case FVM_T_NATIVEFN: return a.as.fn == b.as.fn;
    case FVM_T_OBJ: return a.as.obj == b.as.obj;
    case FVM_T_REF: return fvm_value_equal(a.as.r->val, b.as.r->val);
    case FVM_T_ARRAY:
        if (a.as.a->len != b.as.a->len)
            return false;
        for (size_t i = 0; i < a.as.a->len; i++)
            if (!fvm_value_equal(a.as.a->items[i], b.as.a->items[i]))
                return false;
        return true;
    case FVM_T_HASH: {
        if (a.as.h->count != b.as.h->count)
            return false;
        for (size_t i = 0; i < a.as.h->used; i++) {
            fvm_hash_slot *e = &a.as.h->entries[i];
            if (!e->key)
                continue;
            fvm_value *o = fvm_hash_find(b.as.h, e->key->data, e->key->len);
            if (!o || !fvm_value_equal(e->val, *o))
                return false;
        }
        return true;
    }
    }
    return false;
}
