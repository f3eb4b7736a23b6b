/* Binary chunk files (.fbc): fvm_chunk_save writes a chunk as bytes that
 * mean the same on every machine; fvm_chunk_load reads them back, treating
 * the input as untrusted. */
#include "bytecode_file.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "chunk.h"
#include "opinfo.h"

/*
 * The file, in the order it is read. Every number is little-endian and
 * unaligned: u8..u64 unsigned, i32/i64 two's complement, f64 the IEEE 754
 * bit pattern stored as a u64. Nothing is copied from memory as a struct.
 *
 *   file       = header chunk section* checksum
 *   header     = "FVMC" u16:version(1) u16:sizeof(fvm_op)(16)
 *                i64:0x0807060504030201 f64:370.5
 *   chunk      = ops lines constants names subs blocks subchunks source
 *   ops        = u32:n op*n
 *   op         = u16:opcode operand*    the operands of the op's format
 *                                       (opinfo.h), in their written order
 *   operand    = i64 I64 | f64 F64 | u64 WIDE | i32 LIMIT | u32 TARGET
 *              | u8 U8 | u16 CONST, NAME, SLOT, SUB, BLOCK, U16
 *   lines      = u32*n                  one per op, no count of its own
 *   constants  = u32:n value*n
 *   value      = u8:tag payload         nested at most 128 deep
 *                  0 undef    (none)
 *                  1 bool     u8, 0 or 1
 *                  2 int      i64
 *                  3 float    f64
 *                  4 str      bytes
 *                  5 array    u32:n value*n
 *                  6 hash     u32:n (bytes:key value)*n   insertion order,
 *                                                         keys distinct
 *                  7 status   i32
 *                  8 ref      value
 *                  9 nativefn u16
 *                 10 obj      u32
 *   bytes      = u32:n u8*n
 *   names      = u32:n bytes*n
 *   subs       = u32:n (u16:name_idx u32:entry_ip)*n
 *   blocks     = u32:n (u64:start u64:end)*n
 *   subchunks  = u32:n chunk*n          nested at most 32 deep
 *   source     = bytes
 *   section    = u32:tag u32:n u8*n     what the top-level chunk adds,
 *                                       each tag at most once, any order:
 *                  1 builtins u32:k (u16:id bytes:name)*k   k >= 1,
 *                                       ids increasing
 *   checksum   = u64: FNV-1a 64 over every byte before it
 *
 * Sections extend version 1 without changing it: a chunk that needs none
 * is written exactly as before, and a file that has one is refused by a
 * build that predates it (bytes where it expects the checksum), as a
 * reader refuses a tag it does not know, rather than running the chunk
 * without what the section says.
 *
 * Why FNV-1a 64 and not CRC32: each step (xor a byte, multiply by an odd
 * constant) is a bijection of the 64-bit state, so any change confined to
 * one byte always changes the sum; random damage passes with odds of 2^-64
 * instead of 2^-32; and it needs no table (util.h already has it). It
 * detects damage, not tampering: the loader checks the structure as if the
 * bytes were hostile regardless.
 */

enum {
    TAG_UNDEF,
    TAG_BOOL,
    TAG_INT,
    TAG_FLOAT,
    TAG_STR,
    TAG_ARRAY,
    TAG_HASH,
    TAG_STATUS,
    TAG_REF,
    TAG_NATIVEFN,
    TAG_OBJ
};

/* Smallest encodings, used to refuse a count before allocating for it:
 * a value is at least its tag; a hash entry a key length and a tag; a chunk
 * its seven counts (ops, constants, names, subs, blocks, sub-chunks, source);
 * an op its opcode plus its line. */
#define MIN_VALUE 1u
#define MIN_HASH_ENTRY 5u
#define MIN_CHUNK 28u
#define MIN_OP 6u

enum { SECTION_BUILTINS = 1 };
#define MIN_BUILTIN_DECL 6u /* id and name length */

/* Bytes an operand of this kind takes in the file: its natural width, so
 * a file cannot hold an operand that does not fit its field. */
static unsigned operand_width(unsigned kind)
{
    switch (kind) {
    case FVM_K_I64:
    case FVM_K_F64:
    case FVM_K_WIDE: return 8;
    case FVM_K_LIMIT:
    case FVM_K_TARGET: return 4;
    case FVM_K_U8: return 1;
    default: return 2;
    }
}

static uint64_t double_bits(double d)
{
    uint64_t bits;
    memcpy(&bits, &d, 8);
    return bits;
}

static double bits_double(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, 8);
    return d;
}

/* ------------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------------ */

typedef struct writer {
    fvm_buf buf;
    bool failed; /* the chunk cannot be represented */
} writer;

static void put_le(writer *w, uint64_t v, unsigned width)
{
    unsigned char bytes[8];
    for (unsigned i = 0; i < width; i++)
        bytes[i] = (unsigned char)(v >> (8 * i));
    fvm_buf_put(&w->buf, bytes, width);
}

static void put_count(writer *w, size_t n)
{
    if (n > UINT32_MAX)
        w->failed = true;
    put_le(w, n, 4);
}

static void put_bytes(writer *w, const char *p, size_t n)
{
    put_count(w, n);
    if (!w->failed)
        fvm_buf_put(&w->buf, p, n);
}

static void put_value(writer *w, fvm_value v, unsigned depth);

static void put_hash(writer *w, const fvm_hash *h, unsigned depth)
{
    put_count(w, h->count);
    for (size_t i = 0; i < h->used && !w->failed; i++) {
        if (!h->entries[i].key)
            continue; /* a deleted entry's hole */
        put_bytes(w, h->entries[i].key->data, h->entries[i].key->len);
        put_value(w, h->entries[i].val, depth + 1);
    }
}

static void put_value(writer *w, fvm_value v, unsigned depth)
{
    if (depth > FVM_FBC_MAX_VALUE_DEPTH)
        w->failed = true;
    if (w->failed)
        return;
    switch (v.type) {
    case FVM_T_UNDEF: put_le(w, TAG_UNDEF, 1); break;
    case FVM_T_BOOL: put_le(w, TAG_BOOL, 1); put_le(w, v.as.b, 1); break;
    case FVM_T_INT: put_le(w, TAG_INT, 1); put_le(w, (uint64_t)v.as.i, 8); break;
    case FVM_T_FLOAT: put_le(w, TAG_FLOAT, 1); put_le(w, double_bits(v.as.f), 8); break;
    case FVM_T_STR: put_le(w, TAG_STR, 1); put_bytes(w, v.as.s->data, v.as.s->len); break;
    case FVM_T_ARRAY:
        put_le(w, TAG_ARRAY, 1);
        put_count(w, v.as.a->len);
        for (size_t i = 0; i < v.as.a->len && !w->failed; i++)
            put_value(w, v.as.a->items[i], depth + 1);
        break;
    case FVM_T_HASH: put_le(w, TAG_HASH, 1); put_hash(w, v.as.h, depth); break;
    case FVM_T_STATUS: put_le(w, TAG_STATUS, 1); put_le(w, (uint32_t)v.as.status, 4); break;
    case FVM_T_REF: put_le(w, TAG_REF, 1); put_value(w, v.as.r->val, depth + 1); break;
    case FVM_T_NATIVEFN: put_le(w, TAG_NATIVEFN, 1); put_le(w, v.as.fn, 2); break;
    case FVM_T_OBJ: put_le(w, TAG_OBJ, 1); put_le(w, v.as.obj, 4); break;
    default: w->failed = true; break;
    }
}

static void put_ops(writer *w, const fvm_chunk *c)
{
    put_count(w, c->len);
    for (size_t ip = 0; ip < c->len; ip++) {
        const fvm_op *op = &c->ops[ip];
        const fvm_format_info *fi = fvm_op_operands(op->code);
        put_le(w, op->code, 2);
        for (unsigned k = 0; k < fi->count; k++)
            put_le(w, fvm_operand_get(op, fi->operand[k].field), operand_width(fi->operand[k].kind));
    }
    for (size_t ip = 0; ip < c->len; ip++)
        put_le(w, c->lines[ip], 4);
}

static void put_chunk(writer *w, const fvm_chunk *c, unsigned depth)
{
    /* Version 1 of the format has no place for slot names: refusing is
     * better than a file that loads as a different chunk. */
    if (depth > FVM_FBC_MAX_CHUNK_DEPTH || c->nslot_names)
        w->failed = true;
    if (w->failed)
        return;
    put_ops(w, c);
    put_count(w, c->nconsts);
    for (size_t i = 0; i < c->nconsts; i++)
        put_value(w, c->consts[i], 1);
    put_count(w, c->nnames);
    for (size_t i = 0; i < c->nnames; i++)
        put_bytes(w, c->names[i]->data, c->names[i]->len);
    put_count(w, c->nsubs);
    for (size_t i = 0; i < c->nsubs; i++) {
        put_le(w, c->subs[i].name, 2);
        put_le(w, c->subs[i].ip, 4);
    }
    put_count(w, c->nblocks);
    for (size_t i = 0; i < c->nblocks; i++) {
        put_le(w, c->blocks[i].start, 8);
        put_le(w, c->blocks[i].end, 8);
    }
    put_count(w, c->nsubchunks);
    for (size_t i = 0; i < c->nsubchunks; i++)
        put_chunk(w, c->subchunks[i], depth + 1);
    put_bytes(w, c->source->data, c->source->len);
}

/* Declarations live in a section of the top-level chunk only; a sub-chunk
 * with some cannot be written. */
static bool has_nested_builtins(const fvm_chunk *c)
{
    for (size_t i = 0; i < c->nsubchunks; i++)
        if (c->subchunks[i]->nbuiltins || has_nested_builtins(c->subchunks[i]))
            return true;
    return false;
}

static void put_sections(writer *w, const fvm_chunk *c)
{
    if (!c->nbuiltins)
        return;
    fvm_buf body = {0};
    writer sw = {body, false};
    put_count(&sw, c->nbuiltins);
    for (size_t i = 0; i < c->nbuiltins; i++) {
        put_le(&sw, c->builtins[i].id, 2);
        put_bytes(&sw, c->builtins[i].name->data, c->builtins[i].name->len);
    }
    put_le(w, SECTION_BUILTINS, 4);
    put_count(w, sw.buf.len);
    fvm_buf_put(&w->buf, sw.buf.data, sw.buf.len);
    w->failed |= sw.failed;
    fvm_buf_free(&sw.buf);
}

int fvm_chunk_save(const fvm_chunk *c, void **out, size_t *out_len)
{
    writer w = {{NULL, 0, 0}, false};
    fvm_buf_put(&w.buf, FVM_FBC_MAGIC, FVM_FBC_MAGIC_LEN);
    put_le(&w, FVM_FBC_VERSION, 2);
    put_le(&w, sizeof(fvm_op), 2);
    put_le(&w, (uint64_t)FVM_FBC_INT_PROBE, 8);
    put_le(&w, double_bits(FVM_FBC_FLOAT_PROBE), 8);
    put_chunk(&w, c, 0);
    if (has_nested_builtins(c))
        w.failed = true;
    else
        put_sections(&w, c);
    if (w.failed) {
        fvm_buf_free(&w.buf);
        *out = NULL;
        *out_len = 0;
        return -1;
    }
    put_le(&w, fvm_fnv1a64(FVM_FNV64_INIT, w.buf.data, w.buf.len), FVM_FBC_CHECKSUM_LEN);
    *out = w.buf.data;
    *out_len = w.buf.len;
    return 0;
}

/* ------------------------------------------------------------------------
 * Reading
 *
 * Every read goes through take(), which refuses to pass the end. The first
 * failure is latched: later reads return zeros and every caller unwinds,
 * releasing what it built, so the message names the first problem.
 * ------------------------------------------------------------------------ */

typedef struct reader {
    const unsigned char *data;
    size_t len, pos;
    const char *section; /* for messages */
    char *err;
    size_t errlen;
    bool failed;
    unsigned depth;                          /* sub-chunk nesting now */
    uint16_t path[FVM_FBC_MAX_CHUNK_DEPTH]; /* sub-chunk index per level */
} reader;

static bool fail_plain(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail_plain(reader *r, const char *fmt, ...)
{
    if (!r->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err, r->errlen, fmt, ap);
        va_end(ap);
        r->failed = true;
    }
    return false;
}

/* A problem with the bytes at pos, located by section and offset. */
static bool fail_at(reader *r, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail_at(reader *r, size_t pos, const char *fmt, ...)
{
    if (!r->failed) {
        char what[160];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        fail_plain(r, "%s in %s section at byte %zu", what, r->section, pos);
    }
    return false;
}

static const unsigned char *take(reader *r, size_t n)
{
    if (r->failed)
        return NULL;
    if (n > r->len - r->pos) {
        fail_at(r, r->pos, "truncated");
        return NULL;
    }
    const unsigned char *p = r->data + r->pos;
    r->pos += n;
    return p;
}

static uint64_t get_le(reader *r, unsigned width)
{
    const unsigned char *p = take(r, width);
    uint64_t v = 0;
    for (unsigned i = 0; p && i < width; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* A u32 count of items that each take at least min_size bytes. A count
 * above the pool's limit, or one the rest of the input cannot hold, is
 * refused before anything is allocated for it. */
static bool get_count(reader *r, uint64_t limit, size_t min_size, size_t *out)
{
    size_t at = r->pos;
    uint64_t n = get_le(r, 4);
    if (r->failed)
        return false;
    if (n > limit)
        return fail_at(r, at, "count %llu above the limit %llu", (unsigned long long)n,
                       (unsigned long long)limit);
    if (n > (r->len - r->pos) / min_size)
        return fail_at(r, at, "count %llu too large for the %zu bytes left", (unsigned long long)n,
                       r->len - r->pos);
    *out = (size_t)n;
    return true;
}

static fvm_string *get_string(reader *r)
{
    size_t n;
    if (!get_count(r, UINT32_MAX, 1, &n))
        return NULL;
    const unsigned char *p = take(r, n);
    return p ? fvm_str_from((const char *)p, n) : NULL;
}

static bool get_value(reader *r, fvm_value *out, unsigned depth);

static bool get_array(reader *r, fvm_value *out, unsigned depth)
{
    size_t n;
    if (!get_count(r, UINT32_MAX, MIN_VALUE, &n))
        return false;
    fvm_value arr = fvm_array_value(fvm_array_alloc(n));
    for (size_t i = 0; i < n; i++) {
        fvm_value item;
        if (!get_value(r, &item, depth + 1)) {
            fvm_release(arr);
            return false;
        }
        fvm_array_append(arr.as.a, item);
    }
    *out = arr;
    return true;
}

static bool get_hash(reader *r, fvm_value *out, unsigned depth)
{
    size_t n;
    if (!get_count(r, UINT32_MAX, MIN_HASH_ENTRY, &n))
        return false;
    fvm_value h = fvm_hash_new();
    for (size_t i = 0; i < n; i++) {
        size_t at = r->pos;
        fvm_string *key = get_string(r);
        fvm_value v = fvm_undef();
        if (key && fvm_hash_find(h.as.h, key->data, key->len))
            fail_at(r, at, "duplicate hash key");
        if (!key || r->failed || !get_value(r, &v, depth + 1)) {
            if (key)
                fvm_release(fvm_str_value(key));
            fvm_release(h);
            return false;
        }
        fvm_hash_put(h.as.h, key, v);
    }
    *out = h;
    return true;
}

/* One value nested depth levels deep (a constant is level 1). On failure
 * *out is Undef and nothing is left allocated. */
static bool get_value(reader *r, fvm_value *out, unsigned depth)
{
    size_t at = r->pos;
    *out = fvm_undef();
    if (depth > FVM_FBC_MAX_VALUE_DEPTH)
        return fail_at(r, at, "values nested deeper than %d levels", FVM_FBC_MAX_VALUE_DEPTH);
    unsigned tag = (unsigned)get_le(r, 1);
    if (r->failed)
        return false;
    switch (tag) {
    case TAG_UNDEF: return true;
    case TAG_BOOL: {
        unsigned b = (unsigned)get_le(r, 1);
        if (b > 1)
            return fail_at(r, at + 1, "bool byte %u (not 0 or 1)", b);
        *out = fvm_bool(b);
        break;
    }
    case TAG_INT: *out = fvm_int((int64_t)get_le(r, 8)); break;
    case TAG_FLOAT: *out = fvm_float(bits_double(get_le(r, 8))); break;
    case TAG_STR: {
        fvm_string *s = get_string(r);
        if (s)
            *out = fvm_str_value(s);
        break;
    }
    case TAG_ARRAY: return get_array(r, out, depth);
    case TAG_HASH: return get_hash(r, out, depth);
    case TAG_STATUS: *out = fvm_status((int32_t)(uint32_t)get_le(r, 4)); break;
    case TAG_REF: {
        fvm_value inner;
        if (get_value(r, &inner, depth + 1))
            *out = fvm_ref_new(inner);
        break;
    }
    case TAG_NATIVEFN: *out = fvm_nativefn((uint16_t)get_le(r, 2)); break;
    case TAG_OBJ: *out = fvm_obj((uint32_t)get_le(r, 4)); break;
    default: return fail_at(r, at, "unknown value tag %u", tag);
    }
    return !r->failed;
}

static bool get_op(reader *r, fvm_op *op)
{
    size_t at = r->pos;
    unsigned code = (unsigned)get_le(r, 2);
    if (r->failed)
        return false;
    if (code >= FVM_OP_COUNT)
        return fail_at(r, at, "unknown opcode %u", code);
    op->code = (uint16_t)code;
    const fvm_format_info *fi = fvm_op_operands(code);
    for (unsigned k = 0; k < fi->count; k++) {
        uint64_t v = get_le(r, operand_width(fi->operand[k].kind));
        fvm_operand_set(op, fi->operand[k].field, v); /* a LIMIT keeps its low 32 bits */
    }
    return !r->failed;
}

static bool get_ops(reader *r, fvm_chunk_parts *p)
{
    size_t n;
    r->section = "ops";
    if (!get_count(r, FVM_MAX_OPS, MIN_OP, &n))
        return false;
    p->ops = fvm_xcalloc(n + 1, sizeof(fvm_op)); /* + the end marker */
    p->len = n;
    for (size_t ip = 0; ip < n; ip++)
        if (!get_op(r, &p->ops[ip]))
            return false;
    r->section = "lines";
    p->lines = fvm_xmalloc(n * sizeof(uint32_t));
    for (size_t ip = 0; ip < n; ip++)
        p->lines[ip] = (uint32_t)get_le(r, 4);
    return !r->failed;
}

static bool get_constants(reader *r, fvm_chunk_parts *p)
{
    size_t n;
    r->section = "constants";
    if (!get_count(r, FVM_MAX_POOL, MIN_VALUE, &n))
        return false;
    p->consts = fvm_xmalloc(n * sizeof(fvm_value));
    for (; p->nconsts < n; p->nconsts++)
        if (!get_value(r, &p->consts[p->nconsts], 1))
            return false;
    return true;
}

static bool get_names(reader *r, fvm_chunk_parts *p)
{
    size_t n;
    r->section = "names";
    if (!get_count(r, FVM_MAX_POOL, 4, &n))
        return false;
    p->names = fvm_xmalloc(n * sizeof(fvm_string *));
    for (; p->nnames < n; p->nnames++)
        if (!(p->names[p->nnames] = get_string(r)))
            return false;
    return true;
}

static bool get_subs_and_blocks(reader *r, fvm_chunk_parts *p)
{
    size_t n;
    r->section = "sub entries";
    if (!get_count(r, UINT32_MAX, 6, &n))
        return false;
    p->subs = fvm_xmalloc(n * sizeof(fvm_sub_entry));
    p->nsubs = n;
    for (size_t i = 0; i < n; i++) {
        p->subs[i].name = (uint16_t)get_le(r, 2);
        p->subs[i].ip = (uint32_t)get_le(r, 4);
    }
    r->section = "block ranges";
    if (!get_count(r, FVM_MAX_POOL, 16, &n))
        return false;
    p->blocks = fvm_xmalloc(n * sizeof(fvm_block_range));
    p->nblocks = n;
    for (size_t i = 0; i < n; i++) {
        p->blocks[i].start = get_le(r, 8);
        p->blocks[i].end = get_le(r, 8);
    }
    return !r->failed;
}

static fvm_chunk *get_chunk(reader *r);

static bool get_subchunks(reader *r, fvm_chunk_parts *p)
{
    size_t n, at = r->pos;
    r->section = "sub-chunks";
    if (!get_count(r, FVM_MAX_POOL, MIN_CHUNK, &n))
        return false;
    if (n && r->depth >= FVM_FBC_MAX_CHUNK_DEPTH)
        return fail_at(r, at, "sub-chunks nested deeper than %d levels", FVM_FBC_MAX_CHUNK_DEPTH);
    p->subchunks = fvm_xmalloc(n * sizeof(fvm_chunk *));
    for (; p->nsubchunks < n; p->nsubchunks++) {
        r->path[r->depth++] = (uint16_t)p->nsubchunks;
        fvm_chunk *c = get_chunk(r);
        r->depth--;
        if (!c)
            return false;
        p->subchunks[p->nsubchunks] = c;
    }
    return true;
}

/* The verifier's complaint, naming the sub-chunk it is about ("0.2" is the
 * third sub-chunk of the first sub-chunk of the file's chunk). */
static void fail_invalid(reader *r, const char *why)
{
    char path[FVM_FBC_MAX_CHUNK_DEPTH * 6 + 1] = "";
    size_t used = 0;
    for (unsigned i = 0; i < r->depth; i++)
        used += (size_t)snprintf(path + used, sizeof path - used, "%s%u", i ? "." : "", r->path[i]);
    if (r->depth)
        fail_plain(r, "invalid sub-chunk %s: %s", path, why);
    else
        fail_plain(r, "invalid chunk: %s", why);
}

static bool get_builtins(reader *r, fvm_chunk_parts *p)
{
    size_t n;
    if (p->builtins)
        return fail_plain(r, "two builtins sections");
    size_t at = r->pos;
    if (!get_count(r, FVM_MAX_POOL, MIN_BUILTIN_DECL, &n))
        return false;
    /* Empty, or out of id order, it would not save back to the same bytes. */
    if (n == 0)
        return fail_at(r, at, "no declarations");
    p->builtins = fvm_xcalloc(n, sizeof(fvm_builtin_decl));
    for (; p->nbuiltins < n; p->nbuiltins++) {
        size_t id_at = r->pos;
        uint16_t id = (uint16_t)get_le(r, 2);
        if (!r->failed && p->nbuiltins && id <= p->builtins[p->nbuiltins - 1].id)
            return fail_at(r, id_at, "builtin ids not in increasing order");
        p->builtins[p->nbuiltins].id = id;
        if (!(p->builtins[p->nbuiltins].name = get_string(r)))
            return false;
    }
    return true;
}

/* The sections after the top-level chunk: what lies between its source and
 * the checksum, when there is room for a section's tag and length (fewer
 * bytes are left to the checksum's check, which names them as trailing
 * data). Each section must fill exactly the length it gives. */
#define SECTION_HEADER_LEN 8u
static bool get_sections(reader *r, fvm_chunk_parts *p)
{
    while (!r->failed && r->len - r->pos >= FVM_FBC_CHECKSUM_LEN + SECTION_HEADER_LEN) {
        r->section = "section header";
        size_t at = r->pos;
        uint64_t tag = get_le(r, 4);
        size_t n;
        if (!get_count(r, UINT32_MAX, 1, &n))
            return false;
        size_t end = r->pos + n;
        if (tag != SECTION_BUILTINS)
            return fail_at(r, at, "unknown section tag %llu (written by a newer fusevm?)",
                           (unsigned long long)tag);
        r->section = "builtins";
        if (!get_builtins(r, p))
            return false;
        if (r->pos != end)
            return fail_at(r, at, "section length %zu does not match its content (%zu bytes)", n,
                           r->pos - (end - n));
    }
    return !r->failed;
}

static fvm_chunk *get_chunk(reader *r)
{
    fvm_chunk_parts p;
    memset(&p, 0, sizeof p);
    bool ok = get_ops(r, &p) && get_constants(r, &p) && get_names(r, &p) &&
              get_subs_and_blocks(r, &p) && get_subchunks(r, &p);
    if (ok) {
        r->section = "source";
        ok = (p.source = get_string(r)) != NULL;
    }
    if (ok && r->depth == 0)
        ok = get_sections(r, &p);
    if (!ok) {
        fvm_chunk_parts_free(&p);
        return NULL;
    }
    char why[256];
    fvm_chunk *c = fvm_chunk_assemble(&p, why, sizeof why);
    if (!c)
        fail_invalid(r, why);
    return c;
}

static bool get_header(reader *r)
{
    r->section = "header";
    size_t have = r->len < FVM_FBC_MAGIC_LEN ? r->len : FVM_FBC_MAGIC_LEN;
    if (memcmp(r->data, FVM_FBC_MAGIC, have) != 0)
        return fail_plain(r, "not a fusevm binary chunk (bad magic)");
    take(r, FVM_FBC_MAGIC_LEN);
    unsigned version = (unsigned)get_le(r, 2);
    if (!r->failed && version != FVM_FBC_VERSION)
        return fail_plain(r, "unsupported format version %u (this build reads version %d)", version,
                          FVM_FBC_VERSION);
    unsigned op_size = (unsigned)get_le(r, 2);
    if (!r->failed && op_size != sizeof(fvm_op))
        return fail_plain(r, "instruction size probe is %u, this build's is %zu", op_size,
                          sizeof(fvm_op));
    int64_t iprobe = (int64_t)get_le(r, 8);
    if (!r->failed && iprobe != FVM_FBC_INT_PROBE)
        return fail_plain(r, "integer probe mismatch (another byte order or integer encoding)");
    double fprobe = bits_double(get_le(r, 8));
    if (!r->failed && fprobe != FVM_FBC_FLOAT_PROBE)
        return fail_plain(r, "float probe mismatch (floats are not little-endian IEEE 754 doubles)");
    return !r->failed;
}

static bool check_trailer(reader *r)
{
    size_t body_end = r->pos;
    r->section = "checksum";
    uint64_t stored = get_le(r, FVM_FBC_CHECKSUM_LEN);
    if (r->failed)
        return false;
    if (r->pos != r->len)
        return fail_plain(r, "unexpected data after the checksum at byte %zu (%zu bytes)", r->pos,
                          r->len - r->pos);
    if (stored != fvm_fnv1a64(FVM_FNV64_INIT, r->data, body_end))
        return fail_plain(r, "checksum mismatch (the file is damaged)");
    return true;
}

fvm_chunk *fvm_chunk_load(const void *bytes, size_t len, char *err, size_t errlen)
{
    reader r;
    memset(&r, 0, sizeof r);
    r.data = bytes ? bytes : (const void *)"";
    r.len = bytes ? len : 0;
    r.err = errlen ? err : NULL;
    r.errlen = err ? errlen : 0;
    if (!get_header(&r))
        return NULL;
    fvm_chunk *c = get_chunk(&r);
    if (c && check_trailer(&r))
        return c;
    fvm_chunk_free(c);
    return NULL;
}
