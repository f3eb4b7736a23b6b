/* Chunks in upstream fusevm's serde JSON form (serde's external tagging).
 *
 *   chunk    := { "ops": [op...], "constants": [value...], "names": [str...],
 *                "lines": [u32...], "sub_entries": [[u16, ip]...],
 *                "block_ranges": [[u64, u64]...], "sub_chunks": [chunk...],
 *                "source": str }
 *               every field optional (empty when absent), others ignored;
 *               a document {"chunk": chunk} is accepted too
 *   op       := "Name"                     no operands
 *             | {"Name": operand}          one operand
 *             | {"Name": [operand...]}     several, in the op's format order
 *   value    := "Undef" | {"Bool": b} | {"Int": i64} | {"Float": float}
 *             | {"Str": str} | {"Array": [value...]} | {"Hash": {key: value...}}
 *             | {"Status": i32} | {"Ref": value} | {"NativeFn": u16} | {"Obj": u32}
 *   float    := JSON number | "NaN" | "-NaN" | "inf" | "-inf" | "f64:" 16 hex digits
 *
 * Operands are read by walking the op's format descriptor (src/opinfo.h),
 * so a new op needs no change here. Integers are exact over the whole
 * int64 and uint64 ranges; floats are correctly rounded from their text.
 * Missing lines read as line 0; lines beyond the op count are ignored. */
#include "json_chunk.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "chunk.h"
#include "numfmt.h"
#include "opinfo.h"

/* Nesting allowed in a document: chunks within chunks and values within
 * values. json-c's default of 32 is too tight for nested constants. */
#define JSON_MAX_DEPTH 512

/* ------------------------------------------------------------------------
 * Reader state and errors
 * ------------------------------------------------------------------------ */

typedef struct reader {
    char *err;
    size_t errlen;
    char path[256]; /* where we are, e.g. "sub_chunks[0].ops[12]" */
    size_t plen;
} reader;

/* Append a path segment; returns the length to restore afterwards. */
static size_t path_push(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t path_push(reader *r, const char *fmt, ...)
{
    size_t mark = r->plen;
    if (r->plen + 1 < sizeof r->path) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(r->path + r->plen, sizeof r->path - r->plen, fmt, ap);
        va_end(ap);
        if (n > 0)
            r->plen += (size_t)n < sizeof r->path - r->plen ? (size_t)n : sizeof r->path - r->plen - 1;
    }
    return mark;
}

static void path_pop(reader *r, size_t mark)
{
    r->plen = mark;
    r->path[mark] = 0;
}

/* Write "path: message" to the error buffer; always returns false. */
static bool fail(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(reader *r, const char *fmt, ...)
{
    if (!r->err || !r->errlen)
        return false;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->plen)
        snprintf(r->err, r->errlen, "%s: %s", r->path, msg);
    else
        snprintf(r->err, r->errlen, "%s", msg);
    return false;
}

/* ------------------------------------------------------------------------
 * Scalars
 * ------------------------------------------------------------------------ */

/* A JSON integer: neg ? s : u is its value. */
typedef struct jint {
    bool neg;
    int64_t s;
    uint64_t u;
} jint;

/* json-c keeps non-negative integers above INT64_MAX as uint64 and reads
 * them back through get_uint64; get_int64 saturates at INT64_MAX. Values
 * beyond 64 bits never get here (see scan_tokens). */
static bool read_integer(reader *r, json_object *o, const char *what, jint *out)
{
    if (!json_object_is_type(o, json_type_int))
        return fail(r, "%s must be an integer", what);
    out->s = json_object_get_int64(o);
    out->neg = out->s < 0;
    out->u = out->neg ? 0 : json_object_get_uint64(o);
    return true;
}

/* An integer within lo..hi, as a 64-bit pattern (negative values
 * sign-extended, as fvm_operand_set expects). */
static bool read_ranged(reader *r, json_object *o, const char *what, int64_t lo, uint64_t hi,
                        uint64_t *out)
{
    jint v;
    if (!read_integer(r, o, what, &v))
        return false;
    if (v.neg ? v.s < lo : v.u > hi) {
        char val[24];
        if (v.neg)
            snprintf(val, sizeof val, "%lld", (long long)v.s);
        else
            snprintf(val, sizeof val, "%llu", (unsigned long long)v.u);
        return fail(r, "%s is %s, out of range %lld..%llu", what, val, (long long)lo,
                    (unsigned long long)hi);
    }
    *out = v.neg ? (uint64_t)v.s : v.u;
    return true;
}

/* JSON's number grammar, which json-c does not enforce ("1.", "NaN" and
 * "Infinity" get through it). */
static bool is_json_number(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return false;
    if (*s == '.') {
        if (!(*++s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == 0;
}

/* "NaN", "-NaN", "inf", "-inf" or "f64:" and 16 hex digits. */
static bool float_tag(const char *s, size_t n, uint64_t *bits)
{
    static const struct {
        const char *tag;
        uint64_t bits;
    } tags[] = {
        {"NaN", 0x7ff8000000000000ull},
        {"-NaN", 0xfff8000000000000ull},
        {"inf", 0x7ff0000000000000ull},
        {"-inf", 0xfff0000000000000ull},
    };
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        if (strlen(tags[i].tag) == n && memcmp(s, tags[i].tag, n) == 0) {
            *bits = tags[i].bits;
            return true;
        }
    }
    if (n != 20 || memcmp(s, "f64:", 4) != 0)
        return false;
    *bits = 0;
    for (size_t i = 4; i < n; i++) {
        int d = fvm_hex_digit(s[i]);
        if (d < 0)
            return false;
        *bits = *bits << 4 | (uint64_t)d;
    }
    return true;
}

/* A float: a JSON number (integers too) or one of the string tags. */
static bool read_float(reader *r, json_object *o, const char *what, double *out)
{
    if (json_object_is_type(o, json_type_string)) {
        uint64_t bits;
        const char *s = json_object_get_string(o);
        if (!float_tag(s, (size_t)json_object_get_string_len(o), &bits))
            return fail(r, "%s: unknown float tag \"%.40s\" (expected NaN, -NaN, inf, -inf or "
                           "f64:<16 hex digits>)", what, s);
        memcpy(out, &bits, sizeof bits);
        return true;
    }
    if (json_object_is_type(o, json_type_int)) {
        jint v;
        read_integer(r, o, what, &v);
        *out = v.neg ? (double)v.s : (double)v.u;
        return true;
    }
    if (!json_object_is_type(o, json_type_double))
        return fail(r, "%s must be a number or a float tag", what);
    /* json-c hands back the number's original text for parsed doubles. */
    const char *text = json_object_get_string(o);
    if (!is_json_number(text) || !fvm_parse_float_strict(text, strlen(text), out))
        return fail(r, "%s: \"%.40s\" is not a JSON number (NaN and infinities are written "
                       "as the strings \"NaN\", \"inf\", \"-inf\")", what, text);
    return true;
}

/* Strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF.
 * Upstream's strings are Rust Strings, so nothing else can be exchanged. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned lo = 0x80, hi = 0xbf;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            if (c == 0xe0)
                lo = 0xa0;
            else if (c == 0xed)
                hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            if (c == 0xf0)
                lo = 0x90;
            else if (c == 0xf4)
                hi = 0x8f;
        } else {
            return false;
        }
        if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xbf)
                return false;
        i += len;
    }
    return true;
}

/* A JSON string as a new fvm_string. */
static fvm_string *read_string(reader *r, json_object *o, const char *what)
{
    if (!json_object_is_type(o, json_type_string)) {
        fail(r, "%s must be a string", what);
        return NULL;
    }
    const char *s = json_object_get_string(o);
    size_t n = (size_t)json_object_get_string_len(o);
    if (!utf8_valid((const unsigned char *)s, n)) {
        fail(r, "%s is not valid UTF-8 (a lone surrogate escape?)", what);
        return NULL;
    }
    return fvm_str_from(s, n);
}

/* ------------------------------------------------------------------------
 * Values
 * ------------------------------------------------------------------------ */

static bool read_value(reader *r, json_object *o, fvm_value *out);

/* The only key of a one-entry object, or NULL. */
static const char *single_key(json_object *o, json_object **val)
{
    if (!json_object_is_type(o, json_type_object) || json_object_object_length(o) != 1)
        return NULL;
    json_object_object_foreach(o, key, v)
    {
        *val = v;
        return key;
    }
    return NULL;
}

static bool read_array_value(reader *r, json_object *o, fvm_value *out)
{
    if (!json_object_is_type(o, json_type_array))
        return fail(r, "Array must hold a JSON array");
    size_t n = json_object_array_length(o);
    fvm_array *a = fvm_array_alloc(n);
    *out = fvm_array_value(a);
    for (size_t i = 0; i < n; i++) {
        size_t mark = path_push(r, ".Array[%zu]", i);
        fvm_value item;
        if (!read_value(r, json_object_array_get_idx(o, i), &item))
            return false;
        fvm_array_append(a, item);
        path_pop(r, mark);
    }
    return true;
}

/* Entries keep the document's order. */
static bool read_hash_value(reader *r, json_object *o, fvm_value *out)
{
    if (!json_object_is_type(o, json_type_object))
        return fail(r, "Hash must hold a JSON object");
    fvm_hash *h = fvm_hash_alloc();
    *out = fvm_hash_value(h);
    json_object_object_foreach(o, key, v)
    {
        size_t klen = strlen(key);
        if (!utf8_valid((const unsigned char *)key, klen))
            return fail(r, "a Hash key is not valid UTF-8");
        size_t mark = path_push(r, ".Hash[\"%.32s\"]", key);
        fvm_value item;
        if (!read_value(r, v, &item))
            return false;
        fvm_hash_put(h, fvm_str_from(key, klen), item);
        path_pop(r, mark);
    }
    return true;
}

/* Reads {"Tag": payload} into *out. On failure *out holds whatever was
 * built (the caller releases it). */
static bool read_tagged_value(reader *r, const char *tag, json_object *v, fvm_value *out)
{
    uint64_t bits;
    if (strcmp(tag, "Bool") == 0) {
        if (!json_object_is_type(v, json_type_boolean))
            return fail(r, "Bool must hold true or false");
        *out = fvm_bool(json_object_get_boolean(v));
    } else if (strcmp(tag, "Int") == 0) {
        if (!read_ranged(r, v, "Int", INT64_MIN, INT64_MAX, &bits))
            return false;
        *out = fvm_int((int64_t)bits);
    } else if (strcmp(tag, "Float") == 0) {
        double d;
        if (!read_float(r, v, "Float", &d))
            return false;
        *out = fvm_float(d);
    } else if (strcmp(tag, "Str") == 0) {
        fvm_string *s = read_string(r, v, "Str");
        if (!s)
            return false;
        *out = fvm_str_value(s);
    } else if (strcmp(tag, "Array") == 0) {
        return read_array_value(r, v, out);
    } else if (strcmp(tag, "Hash") == 0) {
        return read_hash_value(r, v, out);
    } else if (strcmp(tag, "Status") == 0) {
        if (!read_ranged(r, v, "Status", INT32_MIN, INT32_MAX, &bits))
            return false;
        *out = fvm_status((int32_t)(int64_t)bits);
    } else if (strcmp(tag, "Ref") == 0) {
        fvm_value inner = fvm_undef();
        size_t mark = path_push(r, ".Ref");
        bool ok = read_value(r, v, &inner);
        *out = fvm_ref_new(inner);
        path_pop(r, mark);
        return ok;
    } else if (strcmp(tag, "NativeFn") == 0) {
        if (!read_ranged(r, v, "NativeFn", 0, UINT16_MAX, &bits))
            return false;
        *out = fvm_nativefn((uint16_t)bits);
    } else if (strcmp(tag, "Obj") == 0) {
        if (!read_ranged(r, v, "Obj", 0, UINT32_MAX, &bits))
            return false;
        *out = fvm_obj((uint32_t)bits);
    } else {
        return fail(r, "unknown value kind \"%.40s\"", tag);
    }
    return true;
}

/* On failure *out is Undef and nothing leaks. */
static bool read_value(reader *r, json_object *o, fvm_value *out)
{
    *out = fvm_undef();
    if (json_object_is_type(o, json_type_string)) {
        if (strcmp(json_object_get_string(o), "Undef") == 0 && json_object_get_string_len(o) == 5)
            return true;
        return fail(r, "unknown value \"%.40s\" (only Undef is written as a bare string)",
                    json_object_get_string(o));
    }
    json_object *payload;
    const char *tag = single_key(o, &payload);
    if (!tag)
        return fail(r, "expected a value: \"Undef\" or {\"Kind\": payload}");
    if (read_tagged_value(r, tag, payload, out))
        return true;
    fvm_release(*out);
    *out = fvm_undef();
    return false;
}

/* ------------------------------------------------------------------------
 * Ops
 * ------------------------------------------------------------------------ */

static bool read_operand(reader *r, json_object *o, const char *opname, unsigned k, unsigned kind,
                         uint64_t *bits)
{
    char what[64];
    snprintf(what, sizeof what, "operand %u of %s", k + 1, opname);
    switch (kind) {
    case FVM_K_F64: {
        double d;
        if (!read_float(r, o, what, &d))
            return false;
        memcpy(bits, &d, sizeof d);
        return true;
    }
    case FVM_K_I64: return read_ranged(r, o, what, INT64_MIN, INT64_MAX, bits);
    case FVM_K_LIMIT: return read_ranged(r, o, what, INT32_MIN, INT32_MAX, bits);
    default: return read_ranged(r, o, what, 0, fvm_operand_max(kind), bits);
    }
}

static bool read_op(reader *r, json_object *o, fvm_op *op)
{
    json_object *args = NULL;
    const char *name;
    size_t nlen;
    if (json_object_is_type(o, json_type_string)) {
        name = json_object_get_string(o);
        nlen = (size_t)json_object_get_string_len(o);
    } else if ((name = single_key(o, &args)) != NULL) {
        nlen = strlen(name);
    } else {
        return fail(r, "expected an op: \"Name\" or {\"Name\": operands}");
    }
    int code = fvm_op_lookup(name, nlen);
    if (code < 0)
        return fail(r, "unknown op \"%.40s\"", name);
    memset(op, 0, sizeof *op);
    op->code = (uint16_t)code;
    const fvm_format_info *fi = fvm_op_operands((unsigned)code);
    const char *opname = fvm_op_name((unsigned)code);
    /* serde writes a unit variant bare but also reads {"Name": null}. */
    bool none = !args || json_object_is_type(args, json_type_null);
    if (fi->count == 0)
        return none ? true : fail(r, "%s takes no operands", opname);
    if (fi->count == 1 && !none && !json_object_is_type(args, json_type_array)) {
        uint64_t bits;
        if (!read_operand(r, args, opname, 0, fi->operand[0].kind, &bits))
            return false;
        fvm_operand_set(op, fi->operand[0].field, bits);
        return true;
    }
    if (fi->count == 1 || none || !json_object_is_type(args, json_type_array) ||
        json_object_array_length(args) != fi->count)
        return fail(r, "%s expects %u operand%s", opname, (unsigned)fi->count,
                    fi->count == 1 ? " (not an array)" : "s");
    for (unsigned k = 0; k < fi->count; k++) {
        uint64_t bits;
        if (!read_operand(r, json_object_array_get_idx(args, k), opname, k, fi->operand[k].kind,
                          &bits))
            return false;
        fvm_operand_set(op, fi->operand[k].field, bits);
    }
    return true;
}

/* ------------------------------------------------------------------------
 * Chunks
 * ------------------------------------------------------------------------ */

static fvm_chunk *read_chunk(reader *r, json_object *o);

/* A field that must be an array when present: its length, or -1 on error
 * (*arr is NULL when absent). */
static bool array_field(reader *r, json_object *o, const char *field, json_object **arr,
                        size_t *n)
{
    *arr = NULL;
    *n = 0;
    if (!json_object_object_get_ex(o, field, arr))
        return true;
    if (!json_object_is_type(*arr, json_type_array)) {
        size_t mark = path_push(r, "%s%s", r->plen ? "." : "", field);
        fail(r, "must be an array");
        path_pop(r, mark);
        return false;
    }
    *n = json_object_array_length(*arr);
    return true;
}

/* Push "field[i]" (with a '.' when nested). */
static size_t path_item(reader *r, const char *field, size_t i)
{
    return path_push(r, "%s%s[%zu]", r->plen ? "." : "", field, i);
}

static bool read_ops(reader *r, json_object *o, fvm_chunk_parts *p)
{
    json_object *arr;
    size_t n;
    if (!array_field(r, o, "ops", &arr, &n))
        return false;
    if (n > FVM_MAX_OPS)
        return fail(r, "too many ops (%zu)", n);
    p->ops = fvm_xcalloc(n + 1, sizeof(fvm_op));
    p->lines = fvm_xcalloc(n ? n : 1, sizeof(uint32_t));
    for (size_t i = 0; i < n; i++) {
        size_t mark = path_item(r, "ops", i);
        if (!read_op(r, json_object_array_get_idx(arr, i), &p->ops[i]))
            return false;
        path_pop(r, mark);
        p->len++;
    }
    if (!array_field(r, o, "lines", &arr, &n))
        return false;
    for (size_t i = 0; i < n; i++) {
        size_t mark = path_item(r, "lines", i);
        uint64_t line;
        if (!read_ranged(r, json_object_array_get_idx(arr, i), "a line", 0, UINT32_MAX, &line))
            return false;
        if (i < p->len)
            p->lines[i] = (uint32_t)line;
        path_pop(r, mark);
    }
    return true;
}

static bool read_constants(reader *r, json_object *o, fvm_chunk_parts *p)
{
    json_object *arr;
    size_t n;
    if (!array_field(r, o, "constants", &arr, &n))
        return false;
    if (n > FVM_MAX_POOL)
        return fail(r, "too many constants (%zu, limit %u)", n, FVM_MAX_POOL);
    p->consts = fvm_xcalloc(n ? n : 1, sizeof(fvm_value));
    for (size_t i = 0; i < n; i++) {
        size_t mark = path_item(r, "constants", i);
        if (!read_value(r, json_object_array_get_idx(arr, i), &p->consts[i]))
            return false;
        path_pop(r, mark);
        p->nconsts++;
    }
    return true;
}

/* Names are kept as written, duplicates included: their positions are
 * global indices. */
static bool read_names(reader *r, json_object *o, fvm_chunk_parts *p)
{
    json_object *arr;
    size_t n;
    if (!array_field(r, o, "names", &arr, &n))
        return false;
    if (n > FVM_MAX_POOL)
        return fail(r, "too many names (%zu, limit %u)", n, FVM_MAX_POOL);
    p->names = fvm_xcalloc(n ? n : 1, sizeof(fvm_string *));
    for (size_t i = 0; i < n; i++) {
        size_t mark = path_item(r, "names", i);
        if (!(p->names[i] = read_string(r, json_object_array_get_idx(arr, i), "a name")))
            return false;
        path_pop(r, mark);
        p->nnames++;
    }
    return true;
}

/* A two-element array of integers, each within 0..max. */
static bool read_pair(reader *r, json_object *o, uint64_t max0, uint64_t max1, uint64_t *a,
                      uint64_t *b)
{
    if (!json_object_is_type(o, json_type_array) || json_object_array_length(o) != 2)
        return fail(r, "expected a pair [a, b]");
    return read_ranged(r, json_object_array_get_idx(o, 0), "the first element", 0, max0, a) &&
           read_ranged(r, json_object_array_get_idx(o, 1), "the second element", 0, max1, b);
}

static bool read_entries_and_ranges(reader *r, json_object *o, fvm_chunk_parts *p)
{
    json_object *arr;
    size_t n;
    if (!array_field(r, o, "sub_entries", &arr, &n))
        return false;
    p->subs = fvm_xcalloc(n ? n : 1, sizeof(fvm_sub_entry));
    for (size_t i = 0; i < n; i++) {
        size_t mark = path_item(r, "sub_entries", i);
        uint64_t name, ip;
        if (!read_pair(r, json_object_array_get_idx(arr, i), UINT16_MAX, FVM_MAX_OPS, &name, &ip))
            return false;
        p->subs[p->nsubs++] = (fvm_sub_entry){(uint16_t)name, (uint32_t)ip};
        path_pop(r, mark);
    }
    if (!array_field(r, o, "block_ranges", &arr, &n))
        return false;
    if (n > FVM_MAX_POOL)
        return fail(r, "too many block ranges (%zu, limit %u)", n, FVM_MAX_POOL);
    p->blocks = fvm_xcalloc(n ? n : 1, sizeof(fvm_block_range));
    for (size_t i = 0; i < n; i++) {
        size_t mark = path_item(r, "block_ranges", i);
        uint64_t start, end;
        if (!read_pair(r, json_object_array_get_idx(arr, i), UINT64_MAX, UINT64_MAX, &start, &end))
            return false;
        p->blocks[p->nblocks++] = (fvm_block_range){start, end};
        path_pop(r, mark);
    }
    return true;
}

static bool read_sub_chunks(reader *r, json_object *o, fvm_chunk_parts *p)
{
    json_object *arr;
    size_t n;
    if (!array_field(r, o, "sub_chunks", &arr, &n))
        return false;
    if (n > FVM_MAX_POOL)
        return fail(r, "too many sub-chunks (%zu, limit %u)", n, FVM_MAX_POOL);
    p->subchunks = fvm_xcalloc(n ? n : 1, sizeof(fvm_chunk *));
    for (size_t i = 0; i < n; i++) {
        size_t mark = path_item(r, "sub_chunks", i);
        if (!(p->subchunks[i] = read_chunk(r, json_object_array_get_idx(arr, i))))
            return false;
        path_pop(r, mark);
        p->nsubchunks++;
    }
    return true;
}

static bool read_source(reader *r, json_object *o, fvm_chunk_parts *p)
{
    json_object *s;
    if (!json_object_object_get_ex(o, "source", &s))
        return true;
    p->source = read_string(r, s, "source");
    return p->source != NULL;
}

static fvm_chunk *read_chunk(reader *r, json_object *o)
{
    if (!json_object_is_type(o, json_type_object)) {
        fail(r, "expected a chunk (a JSON object)");
        return NULL;
    }
    fvm_chunk_parts p;
    memset(&p, 0, sizeof p);
    if (!read_ops(r, o, &p) || !read_constants(r, o, &p) || !read_names(r, o, &p) ||
        !read_entries_and_ranges(r, o, &p) || !read_sub_chunks(r, o, &p) ||
        !read_source(r, o, &p)) {
        fvm_chunk_parts_free(&p);
        return NULL;
    }
    char verr[256];
    fvm_chunk *c = fvm_chunk_assemble(&p, verr, sizeof verr);
    if (!c)
        fail(r, "%s", verr);
    return c;
}

/* ------------------------------------------------------------------------
 * Import
 * ------------------------------------------------------------------------ */

/* Line and column (from 1) of a byte offset. */
static void line_col(const char *text, size_t off, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            ++*line;
            *col = 1;
        } else {
            ++*col;
        }
    }
}

static bool fail_at(reader *r, const char *text, size_t off, const char *what)
{
    size_t line, col;
    line_col(text, off, &line, &col);
    return fail(r, "line %zu, column %zu: %s", line, col, what);
}

/* Does the integer token s[0..n) (optional '-', digits) fit int64 or uint64? */
static bool integer_fits(const char *s, size_t n)
{
    bool neg = n && s[0] == '-';
    const char *limit = neg ? "9223372036854775808" : "18446744073709551615";
    size_t i = neg;
    while (i + 1 < n && s[i] == '0')
        i++;
    size_t digits = n - i, ldigits = strlen(limit);
    return digits < ldigits || (digits == ldigits && memcmp(s + i, limit, digits) <= 0);
}

/* The code unit of a \uXXXX escape at s (s[0] is the backslash), or
 * 0x10000 for any other escape. */
static unsigned escape_unit(const char *s, size_t n)
{
    if (n < 6 || s[1] != 'u')
        return 0x10000;
    unsigned u = 0;
    for (size_t k = 2; k < 6; k++) {
        int d = fvm_hex_digit(s[k]);
        if (d < 0)
            return 0x10000;
        u = u << 4 | (unsigned)d;
    }
    return u;
}

/* Checks on the text of a document json-c accepted, for what its objects
 * no longer show: json-c saturates integers beyond 64 bits, turns a lone
 * surrogate escape into U+FFFD (serde refuses it), and cuts an object key
 * at an escaped NUL, so {"a\u0000b": 1} would silently become {"a": 1}. */
static bool scan_tokens(reader *r, const char *text, size_t len)
{
    size_t i = 0;
    while (i < len) {
        char c = text[i];
        if (c == '"') {
            size_t start = i++;
            bool has_nul = false;
            long pending_high = -1; /* offset of a high surrogate escape awaiting its pair */
            for (; i < len && text[i] != '"'; i++) {
                if (text[i] != '\\') {
                    if (pending_high >= 0)
                        return fail_at(r, text, (size_t)pending_high, "lone surrogate escape");
                    continue;
                }
                unsigned u = escape_unit(text + i, len - i);
                if (pending_high >= 0 && (u < 0xdc00 || u > 0xdfff))
                    return fail_at(r, text, (size_t)pending_high, "lone surrogate escape");
                if (u >= 0xdc00 && u <= 0xdfff && pending_high < 0)
                    return fail_at(r, text, i, "lone surrogate escape");
                pending_high = u >= 0xd800 && u <= 0xdbff ? (long)i : -1;
                has_nul |= u == 0;
                i += u == 0x10000 ? 1 : 5; /* the loop steps past the last character */
            }
            if (pending_high >= 0)
                return fail_at(r, text, (size_t)pending_high, "lone surrogate escape");
            i++;
            size_t j = i;
            while (j < len && (text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r'))
                j++;
            if (has_nul && j < len && text[j] == ':')
                return fail_at(r, text, start, "object keys cannot hold NUL (\\u0000)");
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t start = i;
            bool integral = true;
            for (; i < len && text[i] && strchr("0123456789+-.eE", text[i]); i++)
                if (text[i] == '.' || text[i] == 'e' || text[i] == 'E')
                    integral = false;
            if (integral && !integer_fits(text + start, i - start))
                return fail_at(r, text, start, "integer out of the 64-bit range");
        } else {
            i++;
        }
    }
    return true;
}

static json_object *parse_json(reader *r, const char *text, size_t len)
{
    if (len > INT_MAX) {
        fail(r, "document too large (%zu bytes)", len);
        return NULL;
    }
    struct json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
    if (!tok) {
        fail(r, "out of memory");
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *root = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    if (!root && jerr == json_tokener_continue && len) {
        /* A top-level number or literal ends only at a delimiter: give it one. */
        root = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
        end = len;
    }
    json_tokener_free(tok);
    if (!root && jerr == json_tokener_continue) {
        fail_at(r, text, len, "unexpected end of data");
    } else if (!root && jerr == json_tokener_success) {
        fail(r, "the document is null");
    } else if (!root) {
        fail_at(r, text, end, json_tokener_error_desc(jerr));
    } else if (!scan_tokens(r, text, len)) {
        json_object_put(root);
        root = NULL;
    }
    return root;
}

fvm_chunk *fvm_json_import(const char *text, size_t len, char *err, size_t errlen)
{
    reader r;
    memset(&r, 0, sizeof r);
    r.err = err;
    r.errlen = errlen;
    if (err && errlen)
        err[0] = 0;
    json_object *root = parse_json(&r, text, len);
    if (!root)
        return NULL;
    json_object *inner, *ops;
    json_object *top = root;
    if (json_object_is_type(root, json_type_object) &&
        json_object_object_get_ex(root, "chunk", &inner) && !json_object_object_get_ex(root, "ops", &ops)) {
        top = inner;
        path_push(&r, "chunk");
    }
    fvm_chunk *c = read_chunk(&r, top);
    json_object_put(root);
    return c;
}

/* ------------------------------------------------------------------------
 * Export
 * ------------------------------------------------------------------------ */

/* Writes JSON into buf; ok turns false at the first string JSON cannot carry. */
typedef struct writer {
    fvm_buf buf;
    bool ok;
} writer;

static void put_json_string(writer *w, const char *s, size_t n)
{
    if (!utf8_valid((const unsigned char *)s, n))
        w->ok = false;
    fvm_buf_putc(&w->buf, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': fvm_buf_puts(&w->buf, "\\\""); break;
        case '\\': fvm_buf_puts(&w->buf, "\\\\"); break;
        case '\n': fvm_buf_puts(&w->buf, "\\n"); break;
        case '\r': fvm_buf_puts(&w->buf, "\\r"); break;
        case '\t': fvm_buf_puts(&w->buf, "\\t"); break;
        case '\b': fvm_buf_puts(&w->buf, "\\b"); break;
        case '\f': fvm_buf_puts(&w->buf, "\\f"); break;
        default:
            if (c < 0x20)
                fvm_buf_printf(&w->buf, "\\u%04x", c);
            else
                fvm_buf_putc(&w->buf, (char)c);
        }
    }
    fvm_buf_putc(&w->buf, '"');
}

/* A finite double in the vectors' layout: the shortest round-trip digits
 * (from fvm_format_float_ties_even: serde_json formats with Ryu, which
 * breaks exact ties to even), positional while the decimal exponent is in
 * -4..15 and always with a fraction ("1.0", "-0.0"), else d.ddde+XX with
 * at least two exponent digits ("1e+16", "2.5e-05", "5e-324"). Either way
 * it reads back as a float, never as an integer. */
static void put_finite(writer *w, double d)
{
    char text[FVM_FLOAT_TEXT_MAX];
    fvm_format_float_ties_even(d, text, sizeof text);
    const char *s = text[0] == '-' ? text + 1 : text;
    const char *dot = strchr(s, '.');
    size_t intlen = dot ? (size_t)(dot - s) : strlen(s);
    /* The significant digits without the point, and the exponent of the
     * first one. */
    char digits[FVM_FLOAT_TEXT_MAX];
    size_t n = 0;
    int exp = 0;
    bool seen = false;
    for (const char *p = s; *p; p++) {
        if (*p == '.')
            continue;
        if (!seen && *p == '0')
            continue;
        if (!seen)
            exp = p < s + intlen ? (int)(s + intlen - p) - 1 : -(int)(p - s - intlen);
        seen = true;
        digits[n++] = *p;
    }
    while (n > 1 && digits[n - 1] == '0')
        n--;
    if (!seen || (exp >= -4 && exp < 16)) {
        fvm_buf_puts(&w->buf, text);
        if (!dot)
            fvm_buf_puts(&w->buf, ".0");
        return;
    }
    if (text[0] == '-')
        fvm_buf_putc(&w->buf, '-');
    fvm_buf_putc(&w->buf, digits[0]);
    if (n > 1) {
        fvm_buf_putc(&w->buf, '.');
        fvm_buf_put(&w->buf, digits + 1, n - 1);
    }
    fvm_buf_printf(&w->buf, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

/* Finite values as put_finite writes them; NaNs and infinities as the
 * string tags. */
static void put_float(writer *w, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    if (bits == 0x7ff8000000000000ull) {
        fvm_buf_puts(&w->buf, "\"NaN\"");
    } else if (bits == 0xfff8000000000000ull) {
        fvm_buf_puts(&w->buf, "\"-NaN\"");
    } else if (isnan(d)) {
        fvm_buf_printf(&w->buf, "\"f64:%016llx\"", (unsigned long long)bits);
    } else if (isinf(d)) {
        fvm_buf_puts(&w->buf, d > 0 ? "\"inf\"" : "\"-inf\"");
    } else {
        put_finite(w, d);
    }
}

static void put_value(writer *w, fvm_value v)
{
    switch ((fvm_type)v.type) {
    case FVM_T_UNDEF: fvm_buf_puts(&w->buf, "\"Undef\""); break;
    case FVM_T_BOOL: fvm_buf_puts(&w->buf, v.as.b ? "{\"Bool\":true}" : "{\"Bool\":false}"); break;
    case FVM_T_INT: fvm_buf_printf(&w->buf, "{\"Int\":%lld}", (long long)v.as.i); break;
    case FVM_T_FLOAT:
        fvm_buf_puts(&w->buf, "{\"Float\":");
        put_float(w, v.as.f);
        fvm_buf_putc(&w->buf, '}');
        break;
    case FVM_T_STR:
        fvm_buf_puts(&w->buf, "{\"Str\":");
        put_json_string(w, v.as.s->data, v.as.s->len);
        fvm_buf_putc(&w->buf, '}');
        break;
    case FVM_T_ARRAY:
        fvm_buf_puts(&w->buf, "{\"Array\":[");
        for (size_t i = 0; i < v.as.a->len; i++) {
            if (i)
                fvm_buf_putc(&w->buf, ',');
            put_value(w, v.as.a->items[i]);
        }
        fvm_buf_puts(&w->buf, "]}");
        break;
    case FVM_T_HASH: {
        fvm_buf_puts(&w->buf, "{\"Hash\":{");
        const char *key;
        size_t klen;
        fvm_value item;
        for (size_t i = 0; fvm_hash_entry(v, i, &key, &klen, &item); i++) {
            if (i)
                fvm_buf_putc(&w->buf, ',');
            if (memchr(key, 0, klen))
                w->ok = false;
            put_json_string(w, key, klen);
            fvm_buf_putc(&w->buf, ':');
            put_value(w, item);
        }
        fvm_buf_puts(&w->buf, "}}");
        break;
    }
    case FVM_T_STATUS: fvm_buf_printf(&w->buf, "{\"Status\":%d}", (int)v.as.status); break;
    case FVM_T_REF:
        fvm_buf_puts(&w->buf, "{\"Ref\":");
        put_value(w, v.as.r->val);
        fvm_buf_putc(&w->buf, '}');
        break;
    case FVM_T_NATIVEFN: fvm_buf_printf(&w->buf, "{\"NativeFn\":%u}", (unsigned)v.as.fn); break;
    case FVM_T_OBJ: fvm_buf_printf(&w->buf, "{\"Obj\":%lu}", (unsigned long)v.as.obj); break;
    }
}

static void put_operand(writer *w, const fvm_op *op, unsigned kind, unsigned field)
{
    uint64_t bits = fvm_operand_get(op, field);
    if (kind == FVM_K_F64) {
        double d;
        memcpy(&d, &bits, sizeof d);
        put_float(w, d);
    } else if (kind == FVM_K_I64 || kind == FVM_K_LIMIT) {
        fvm_buf_printf(&w->buf, "%lld", (long long)(int64_t)bits);
    } else {
        fvm_buf_printf(&w->buf, "%llu", (unsigned long long)bits);
    }
}

static void put_op(writer *w, const fvm_op *op)
{
    const fvm_format_info *fi = fvm_op_operands(op->code);
    const char *name = fvm_op_name(op->code);
    if (fi->count == 0) {
        fvm_buf_printf(&w->buf, "\"%s\"", name);
        return;
    }
    fvm_buf_printf(&w->buf, "{\"%s\":", name);
    if (fi->count > 1)
        fvm_buf_putc(&w->buf, '[');
    for (unsigned k = 0; k < fi->count; k++) {
        if (k)
            fvm_buf_putc(&w->buf, ',');
        put_operand(w, op, fi->operand[k].kind, fi->operand[k].field);
    }
    fvm_buf_puts(&w->buf, fi->count > 1 ? "]}" : "}");
}

/* The top-level chunk puts each op and each field on its own line, like
 * the conformance vectors; sub-chunks are written on one line. */
static void put_chunk(writer *w, const fvm_chunk *c, bool top)
{
    const char *nl = top ? "\n" : "";
    if (c->nslot_names) /* the form read here has no field for them */
        w->ok = false;
    if (fvm_chunk_builtin_count(c))
        w->ok = false; /* upstream's shape has no place for declared builtins */
    fvm_buf_printf(&w->buf, "{\"ops\":[%s", nl);
    for (size_t i = 0; i < c->len; i++) {
        put_op(w, &c->ops[i]);
        fvm_buf_puts(&w->buf, i + 1 < c->len ? (top ? ",\n" : ",") : nl);
    }
    fvm_buf_printf(&w->buf, "],%s\"constants\":[", nl);
    for (size_t i = 0; i < c->nconsts; i++) {
        if (i)
            fvm_buf_putc(&w->buf, ',');
        put_value(w, c->consts[i]);
    }
    fvm_buf_printf(&w->buf, "],%s\"names\":[", nl);
    for (size_t i = 0; i < c->nnames; i++) {
        if (i)
            fvm_buf_putc(&w->buf, ',');
        put_json_string(w, c->names[i]->data, c->names[i]->len);
    }
    fvm_buf_printf(&w->buf, "],%s\"lines\":[", nl);
    for (size_t i = 0; i < c->len; i++)
        fvm_buf_printf(&w->buf, "%s%lu", i ? "," : "", (unsigned long)c->lines[i]);
    fvm_buf_printf(&w->buf, "],%s\"sub_entries\":[", nl);
    for (size_t i = 0; i < c->nsubs; i++)
        fvm_buf_printf(&w->buf, "%s[%u,%lu]", i ? "," : "", (unsigned)c->subs[i].name,
                       (unsigned long)c->subs[i].ip);
    fvm_buf_printf(&w->buf, "],%s\"block_ranges\":[", nl);
    for (size_t i = 0; i < c->nblocks; i++)
        fvm_buf_printf(&w->buf, "%s[%llu,%llu]", i ? "," : "", (unsigned long long)c->blocks[i].start,
                       (unsigned long long)c->blocks[i].end);
    fvm_buf_printf(&w->buf, "],%s\"sub_chunks\":[", nl);
    for (size_t i = 0; i < c->nsubchunks; i++) {
        if (i)
            fvm_buf_putc(&w->buf, ',');
        put_chunk(w, c->subchunks[i], false);
    }
    fvm_buf_printf(&w->buf, "],%s\"source\":", nl);
    put_json_string(w, c->source->data, c->source->len);
    fvm_buf_printf(&w->buf, "%s}", nl);
}

char *fvm_json_export(const fvm_chunk *c)
{
    writer w;
    memset(&w, 0, sizeof w);
    w.ok = true;
    put_chunk(&w, c, true);
    fvm_buf_putc(&w.buf, '\n');
    if (!w.ok) {
        fvm_buf_free(&w.buf);
        return NULL;
    }
    fvm_buf_putc(&w.buf, 0);
    return w.buf.data;
}
