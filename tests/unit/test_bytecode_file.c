/* Binary chunk files: exact round trips of every op format and value kind,
 * and refusal of damaged, truncated, lying and over-deep input. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytecode_file.h"
#include "chunk.h"
#include "opinfo.h"
#include "util.h"

static double bits_to_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static uint64_t double_to_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

/* ------------------------------------------------------------------------
 * Chunks to save
 * ------------------------------------------------------------------------ */

/* A value of every kind, nested: arrays in hashes in refs, with the awkward
 * floats and strings. */
static fvm_value nested_value(void)
{
    fvm_value inner = fvm_array_new();
    fvm_array_push(&inner, fvm_float(bits_to_double(0x7ff0000000000001ull))); /* signalling NaN */
    fvm_array_push(&inner, fvm_float(-0.0));
    fvm_array_push(&inner, fvm_str("a\0b", 3));
    fvm_value h = fvm_hash_new();
    fvm_hash_set(&h, "k\0ey", 4, inner);
    fvm_hash_set(&h, "", 0, fvm_ref_new(fvm_float(bits_to_double(0xfff8000000000abcull))));
    fvm_hash_set(&h, "gone", 4, fvm_int(1));
    fvm_hash_set(&h, "z", 1, fvm_array_new());
    fvm_release(fvm_hash_remove(h.as.h, "gone", 4)); /* leaves a hole in the entries */
    fvm_value outer = fvm_array_new();
    fvm_array_push(&outer, fvm_ref_new(h));
    fvm_array_push(&outer, fvm_hash_new());
    fvm_array_push(&outer, fvm_ref_new(fvm_ref_new(fvm_undef())));
    return outer;
}

static void add_all_value_kinds(fvm_builder *b)
{
    fvm_add_constant(b, fvm_undef());
    fvm_add_constant(b, fvm_bool(true));
    fvm_add_constant(b, fvm_bool(false));
    fvm_add_constant(b, fvm_int(INT64_MIN));
    fvm_add_constant(b, fvm_int(INT64_MAX));
    fvm_add_constant(b, fvm_float(-0.0));
    fvm_add_constant(b, fvm_float(bits_to_double(0x7ff4000000000123ull)));
    fvm_add_constant(b, fvm_float(INFINITY));
    fvm_add_constant(b, fvm_float(5e-324));
    fvm_add_constant(b, fvm_str("nul\0inside\n", 11));
    fvm_add_constant(b, fvm_str("", 0));
    fvm_add_constant(b, fvm_status(-3));
    fvm_add_constant(b, fvm_nativefn(65535));
    fvm_add_constant(b, fvm_obj(0xffffffffu));
    fvm_add_constant(b, nested_value());
}

/* An op of the given code whose every operand holds a distinctive value
 * that is valid in the chunk built by rich_chunk. */
static fvm_op sample_op(unsigned code, uint32_t target)
{
    fvm_op op;
    memset(&op, 0, sizeof op);
    op.code = (uint16_t)code;
    const fvm_format_info *fi = fvm_op_operands(code);
    for (unsigned k = 0; k < fi->count; k++) {
        uint64_t v = 0;
        switch (fi->operand[k].kind) {
        case FVM_K_I64: v = (uint64_t)INT64_MIN + code; break;
        case FVM_K_F64: v = 0x7ff0000000000000ull | code; break; /* NaN with a payload */
        case FVM_K_CONST: v = 14; break;
        case FVM_K_NAME: v = 2; break;
        case FVM_K_SLOT: v = 300 + code; break;
        case FVM_K_SUB: v = 1; break;
        case FVM_K_BLOCK: v = 1; break;
        case FVM_K_U16: v = 0xbe00 + code; break;
        case FVM_K_U8: v = 0xab; break;
        case FVM_K_TARGET: v = target; break;
        case FVM_K_LIMIT: v = (uint64_t)(int64_t)-(int64_t)(1000 + code); break;
        case FVM_K_WIDE: v = UINT64_MAX - code; break;
        }
        fvm_operand_set(&op, fi->operand[k].field, v);
    }
    return op;
}

static fvm_chunk *leaf_chunk(const char *source, int64_t n)
{
    fvm_builder *b = fvm_builder_new();
    fvm_emit(b, FVM_LOAD_INT(n), 7);
    fvm_emit(b, FVM_PRINT_LN(1), 8);
    fvm_set_source(b, source, strlen(source));
    fvm_chunk *c = fvm_build(b);
    fvm_builder_free(b);
    cr_assert_not_null(c);
    return c;
}

/* A chunk with sub-chunks depth levels below it, each with its own
 * constant so that the levels differ. */
static fvm_chunk *nested_chunk(unsigned depth)
{
    if (depth == 0)
        return leaf_chunk("leaf", 99);
    fvm_builder *b = fvm_builder_new();
    fvm_add_constant(b, fvm_int(depth));
    fvm_emit(b, FVM_LOAD_CONST(0), depth);
    fvm_emit(b, FVM_CMD_SUBST(1), depth);
    fvm_add_sub_chunk(b, leaf_chunk("side", -(int64_t)depth));
    fvm_add_sub_chunk(b, nested_chunk(depth - 1));
    fvm_set_source(b, "level", 5);
    fvm_chunk *c = fvm_build(b);
    fvm_builder_free(b);
    cr_assert_not_null(c, "depth %u", depth);
    return c;
}

/* Every op of the table (so every format), every value kind, names with NUL
 * bytes, sub entries, block ranges and sub-chunks three deep. */
static fvm_chunk *rich_chunk(void)
{
    fvm_builder *b = fvm_builder_new();
    add_all_value_kinds(b);
    fvm_add_name(b, "g0", 2);
    fvm_add_name(b, "x\0y", 3);
    fvm_add_name(b, "sub", 3);
    for (unsigned code = 0; code < FVM_OP_COUNT; code++)
        fvm_emit(b, sample_op(code, code / 2), 1000000 + code);
    fvm_add_sub_entry(b, 2, 5);
    fvm_add_sub_entry(b, 2, FVM_OP_COUNT); /* duplicates allowed, past-the-end ip allowed */
    fvm_add_block_range(b, 0, 3);
    fvm_add_block_range(b, UINT64_MAX, 1);
    fvm_add_sub_chunk(b, leaf_chunk("a", 1));
    fvm_add_sub_chunk(b, nested_chunk(3));
    fvm_set_source(b, "rich\0source", 11);
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c, "%s", fvm_builder_error(b));
    fvm_builder_free(b);
    return c;
}

static fvm_chunk *small_chunk(void)
{
    fvm_builder *b = fvm_builder_new();
    fvm_add_constant(b, fvm_str("hi", 2));
    fvm_add_constant(b, fvm_float(4.5));
    fvm_add_name(b, "x", 1);
    fvm_emit(b, FVM_LOAD_CONST(0), 1);
    fvm_emit(b, FVM_SET_VAR(0), 1);
    fvm_emit(b, FVM_LOAD_CONST(1), 2);
    fvm_add_sub_chunk(b, leaf_chunk("s", 2));
    fvm_set_source(b, "small", 5);
    fvm_chunk *c = fvm_build(b);
    fvm_builder_free(b);
    cr_assert_not_null(c);
    return c;
}

static void *save(const fvm_chunk *c, size_t *len)
{
    void *bytes = NULL;
    cr_assert_eq(fvm_chunk_save(c, &bytes, len), 0);
    cr_assert_not_null(bytes);
    return bytes;
}

static fvm_chunk *load_ok(const void *bytes, size_t len)
{
    char err[256] = "";
    fvm_chunk *c = fvm_chunk_load(bytes, len, err, sizeof err);
    cr_assert_not_null(c, "load failed: %s", err);
    return c;
}

/* The message loading these bytes gives; fails the test if they load. */
static const char *load_err(const void *bytes, size_t len)
{
    static char err[256];
    strcpy(err, "(no message)");
    fvm_chunk *c = fvm_chunk_load(bytes, len, err, sizeof err);
    if (c)
        fvm_chunk_free(c);
    cr_assert_null(c, "damaged input was accepted");
    return err;
}

/* ------------------------------------------------------------------------
 * Round trips
 * ------------------------------------------------------------------------ */

Test(bytecode_file, round_trip_is_exact)
{
    fvm_chunk *c = rich_chunk();
    size_t len;
    void *bytes = save(c, &len);
    fvm_chunk *d = load_ok(bytes, len);
    cr_assert(fvm_chunk_equal(c, d));
    cr_assert_eq(fvm_chunk_op_hash(c), fvm_chunk_op_hash(d));
    cr_assert_eq(fvm_chunk_len(d), FVM_OP_COUNT);

    /* Saving what was loaded gives the same bytes. */
    size_t len2;
    void *bytes2 = save(d, &len2);
    cr_assert_eq(len2, len);
    cr_assert_eq(memcmp(bytes, bytes2, len), 0);
    fvm_free(bytes2);
    fvm_free(bytes);
    fvm_chunk_free(c);
    fvm_chunk_free(d);
}

Test(bytecode_file, operands_and_values_survive_bit_for_bit)
{
    fvm_chunk *c = rich_chunk();
    size_t len;
    void *bytes = save(c, &len);
    fvm_chunk *d = load_ok(bytes, len);
    for (unsigned code = 0; code < FVM_OP_COUNT; code++) {
        fvm_op want = fvm_op_canonical(sample_op(code, code / 2));
        cr_assert_eq(memcmp(&fvm_chunk_ops(d)[code], &want, sizeof want), 0, "op %u (%s)", code,
                     fvm_op_name(code));
        cr_assert_eq(fvm_chunk_line(d, code), 1000000 + code);
    }
    cr_assert_eq(double_to_bits(fvm_chunk_constant(d, 5).as.f), 0x8000000000000000ull);
    cr_assert_eq(double_to_bits(fvm_chunk_constant(d, 6).as.f), 0x7ff4000000000123ull);
    size_t slen;
    const char *s = fvm_str_bytes(fvm_chunk_constant(d, 9), &slen);
    cr_assert_eq(slen, 11);
    cr_assert_eq(memcmp(s, "nul\0inside\n", 11), 0);

    fvm_value outer = fvm_chunk_constant(d, 14);
    fvm_value h = fvm_ref_get(fvm_array_at(outer, 0));
    cr_assert_eq(fvm_hash_count(h), 3);
    const char *key;
    size_t klen;
    fvm_value v;
    cr_assert(fvm_hash_entry(h, 2, &key, &klen, &v)); /* insertion order, hole dropped */
    cr_assert_eq(klen, 1);
    cr_assert_eq(key[0], 'z');
    fvm_value inner = fvm_hash_get(h, "k\0ey", 4);
    cr_assert_eq(double_to_bits(fvm_array_at(inner, 0).as.f), 0x7ff0000000000001ull);
    cr_assert_eq(double_to_bits(fvm_ref_get(fvm_hash_get(h, "", 0)).as.f), 0xfff8000000000abcull);

    const char *name = fvm_chunk_name(d, 1, &klen);
    cr_assert_eq(klen, 3);
    cr_assert_eq(memcmp(name, "x\0y", 3), 0);
    size_t start, end;
    fvm_chunk_block_range(d, 1, &start, &end);
    cr_assert_eq(start, SIZE_MAX);
    cr_assert_eq(end, 1);
    uint16_t ni;
    size_t ip;
    fvm_chunk_sub_entry(d, 1, &ni, &ip);
    cr_assert_eq(ni, 2);
    cr_assert_eq(ip, FVM_OP_COUNT);

    const fvm_chunk *deep = fvm_chunk_sub_chunk(d, 1);
    for (int level = 0; level < 3; level++)
        deep = fvm_chunk_sub_chunk(deep, 1);
    cr_assert_not_null(deep);
    cr_assert_str_eq(fvm_chunk_source(deep, NULL), "leaf");
    cr_assert_eq(fvm_chunk_ops(deep)[0].u.i, 99);
    cr_assert_eq(fvm_chunk_sub_chunk_count(deep), 0);
    fvm_free(bytes);
    fvm_chunk_free(c);
    fvm_chunk_free(d);
}

Test(bytecode_file, empty_chunk_round_trips)
{
    fvm_builder *b = fvm_builder_new();
    fvm_chunk *c = fvm_build(b);
    fvm_builder_free(b);
    size_t len;
    void *bytes = save(c, &len);
    cr_assert_eq(len, FVM_FBC_HEADER_LEN + 28 + FVM_FBC_CHECKSUM_LEN);
    fvm_chunk *d = load_ok(bytes, len);
    cr_assert(fvm_chunk_equal(c, d));
    fvm_free(bytes);
    fvm_chunk_free(c);
    fvm_chunk_free(d);
}

Test(bytecode_file, header_bytes_are_fixed)
{
    fvm_chunk *c = small_chunk();
    size_t len;
    unsigned char *bytes = save(c, &len);
    static const unsigned char want[FVM_FBC_HEADER_LEN] = {
        'F', 'V', 'M', 'C', 1, 0, 16, 0,                /* magic, version, sizeof(fvm_op) */
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* int probe, little-endian */
        0, 0, 0, 0, 0, 0x28, 0x77, 0x40,                /* 370.5 */
    };
    cr_assert_eq(memcmp(bytes, want, sizeof want), 0);
    /* ops: count 3, then LoadConst 0 as u16 code + u16 operand */
    cr_assert_eq(bytes[24], 3);
    cr_assert_eq(bytes[28], FVM_OP_LOAD_CONST);
    cr_assert_eq(bytes[29], 0);
    uint64_t sum = 0;
    for (int i = 0; i < 8; i++)
        sum |= (uint64_t)bytes[len - 8 + i] << (8 * i);
    cr_assert_eq(sum, fvm_fnv1a64(FVM_FNV64_INIT, bytes, len - 8));
    fvm_free(bytes);
    fvm_chunk_free(c);
}

Test(bytecode_file, nesting_at_the_limits_round_trips)
{
    fvm_value v = fvm_undef();
    for (int i = 1; i < FVM_FBC_MAX_VALUE_DEPTH; i++) /* the constant itself is level 1 */
        v = fvm_ref_new(v);
    fvm_builder *b = fvm_builder_new();
    fvm_add_constant(b, v);
    fvm_add_sub_chunk(b, nested_chunk(FVM_FBC_MAX_CHUNK_DEPTH - 1));
    fvm_chunk *c = fvm_build(b);
    fvm_builder_free(b);
    size_t len;
    void *bytes = save(c, &len);
    fvm_chunk *d = load_ok(bytes, len);
    cr_assert(fvm_chunk_equal(c, d));
    fvm_free(bytes);
    fvm_chunk_free(c);
    fvm_chunk_free(d);
}

Test(bytecode_file, save_refuses_nesting_beyond_the_limits)
{
    fvm_value v = fvm_undef();
    for (int i = 0; i < FVM_FBC_MAX_VALUE_DEPTH; i++)
        v = fvm_ref_new(v);
    fvm_builder *b = fvm_builder_new();
    fvm_add_constant(b, v);
    fvm_chunk *c = fvm_build(b);
    void *bytes = (void *)1;
    size_t len = 1;
    cr_assert_eq(fvm_chunk_save(c, &bytes, &len), -1);
    cr_assert_null(bytes);
    cr_assert_eq(len, 0);
    fvm_chunk_free(c);

    fvm_add_sub_chunk(b, nested_chunk(FVM_FBC_MAX_CHUNK_DEPTH));
    c = fvm_build(b);
    fvm_builder_free(b);
    cr_assert_eq(fvm_chunk_save(c, &bytes, &len), -1);
    fvm_chunk_free(c);
}

/* ------------------------------------------------------------------------
 * Damage
 * ------------------------------------------------------------------------ */

Test(bytecode_file, every_truncation_is_refused)
{
    fvm_chunk *c = small_chunk();
    size_t len;
    unsigned char *bytes = save(c, &len);
    for (size_t n = 0; n < len; n++) {
        unsigned char *copy = malloc(n ? n : 1); /* exact size, so ASan sees overreads */
        memcpy(copy, bytes, n);
        const char *err = load_err(copy, n);
        cr_assert(strncmp(err, "truncated in ", 13) == 0 || strstr(err, " too large for the "),
                  "length %zu: %s", n, err);
        cr_assert(strstr(err, " section at byte "), "length %zu: %s", n, err);
        free(copy);
    }
    cr_assert_str_eq(load_err(bytes, 0), "truncated in header section at byte 0");
    cr_assert_str_eq(load_err(bytes, 3), "truncated in header section at byte 0");
    cr_assert_str_eq(load_err(bytes, 10), "truncated in header section at byte 8");
    char want[80];
    snprintf(want, sizeof want, "truncated in checksum section at byte %zu", len - 8);
    cr_assert_str_eq(load_err(bytes, len - 1), want);
    fvm_free(bytes);
    fvm_chunk_free(c);
}

Test(bytecode_file, every_flipped_byte_is_refused)
{
    fvm_chunk *c = small_chunk();
    size_t len;
    unsigned char *bytes = save(c, &len);
    static const unsigned char masks[] = {0x01, 0x80, 0xff};
    for (size_t i = 0; i < len; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            bytes[i] ^= masks[m];
            const char *err = load_err(bytes, len);
            cr_assert(err[0] && strcmp(err, "(no message)") != 0, "byte %zu", i);
            bytes[i] ^= masks[m];
        }
    }
    /* A flip inside a string's bytes leaves the structure intact: only the
     * checksum can tell. */
    bytes[len - 8 - 1] ^= 0x20; /* the last byte of the source name */
    cr_assert_str_eq(load_err(bytes, len), "checksum mismatch (the file is damaged)");
    fvm_free(bytes);
    fvm_chunk_free(c);
}

Test(bytecode_file, header_problems_have_exact_messages)
{
    fvm_chunk *c = small_chunk();
    size_t len;
    unsigned char *bytes = save(c, &len);
    bytes[0] = 'G';
    cr_assert_str_eq(load_err(bytes, len), "not a fusevm binary chunk (bad magic)");
    cr_assert_str_eq(load_err("{\"ops\"", 6), "not a fusevm binary chunk (bad magic)");
    cr_assert_str_eq(load_err("FX", 2), "not a fusevm binary chunk (bad magic)");
    bytes[0] = 'F';
    bytes[4] = 2;
    cr_assert_str_eq(load_err(bytes, len), "unsupported format version 2 (this build reads version 1)");
    bytes[4] = 1;
    bytes[6] = 12;
    cr_assert_str_eq(load_err(bytes, len), "instruction size probe is 12, this build's is 16");
    bytes[6] = 16;
    bytes[8] = 0x08;
    bytes[15] = 0x01;
    cr_assert_str_eq(load_err(bytes, len),
                     "integer probe mismatch (another byte order or integer encoding)");
    bytes[8] = 0x01;
    bytes[15] = 0x08;
    bytes[23] = 0x41;
    cr_assert_str_eq(load_err(bytes, len),
                     "float probe mismatch (floats are not little-endian IEEE 754 doubles)");
    bytes[23] = 0x40;
    fvm_chunk_free(load_ok(bytes, len));
    fvm_free(bytes);
    fvm_chunk_free(c);
}

Test(bytecode_file, trailing_bytes_are_refused)
{
    fvm_chunk *c = small_chunk();
    size_t len;
    unsigned char *bytes = save(c, &len);
    unsigned char *longer = malloc(len + 3);
    memcpy(longer, bytes, len);
    memset(longer + len, 0, 3);
    char want[80];
    snprintf(want, sizeof want, "unexpected data after the checksum at byte %zu (3 bytes)", len);
    cr_assert_str_eq(load_err(longer, len + 3), want);
    free(longer);
    fvm_free(bytes);
    fvm_chunk_free(c);
}

Test(bytecode_file, null_input_and_no_message_buffer)
{
    cr_assert_null(fvm_chunk_load(NULL, 0, NULL, 0));
    cr_assert_null(fvm_chunk_load(NULL, 100, NULL, 100));
    char err[8];
    cr_assert_null(fvm_chunk_load("FVMC", 4, err, sizeof err));
    cr_assert_str_eq(err, "truncat"); /* cut to the buffer, NUL-terminated */
}

/* ------------------------------------------------------------------------
 * Hand-made files: structure that is wrong although the checksum is right
 * ------------------------------------------------------------------------ */

typedef struct file {
    unsigned char *data;
    size_t len, cap;
} file;

static void put(file *f, uint64_t v, unsigned width)
{
    if (f->len + width > f->cap) {
        f->cap = (f->len + width) * 2 + 64;
        f->data = realloc(f->data, f->cap);
    }
    for (unsigned i = 0; i < width; i++)
        f->data[f->len++] = (unsigned char)(v >> (8 * i));
}

static void put_header(file *f)
{
    put(f, 0x434d5646, 4); /* "FVMC" */
    put(f, FVM_FBC_VERSION, 2);
    put(f, sizeof(fvm_op), 2);
    put(f, (uint64_t)FVM_FBC_INT_PROBE, 8);
    put(f, double_to_bits(FVM_FBC_FLOAT_PROBE), 8);
}

/* The counts after the constants of a chunk with no names, entries,
 * ranges or sub-chunks, and an empty source. */
static void put_chunk_tail(file *f)
{
    for (int i = 0; i < 5; i++)
        put(f, 0, 4);
}

static void put_checksum(file *f)
{
    put(f, fvm_fnv1a64(FVM_FNV64_INIT, f->data, f->len), 8);
}

/* A file whose only constant is encoded by the given bytes. */
static file one_constant(const unsigned char *value, size_t n)
{
    file f = {NULL, 0, 0};
    put_header(&f);
    put(&f, 0, 4); /* no ops */
    put(&f, 1, 4); /* one constant */
    for (size_t i = 0; i < n; i++)
        put(&f, value[i], 1);
    put_chunk_tail(&f);
    put_checksum(&f);
    return f;
}

Test(bytecode_file, lying_counts_are_refused_before_allocating)
{
    file f = {NULL, 0, 0};
    put_header(&f);
    put(&f, 0, 4);
    put(&f, 0xffffffff, 4); /* constants */
    put_chunk_tail(&f);
    put_checksum(&f);
    cr_assert_str_eq(load_err(f.data, f.len),
                     "count 4294967295 above the limit 65536 in constants section at byte 28");
    free(f.data);

    f = (file){NULL, 0, 0};
    put_header(&f);
    put(&f, 1000000, 4); /* ops: far more than the file holds */
    put_checksum(&f);
    cr_assert_str_eq(load_err(f.data, f.len),
                     "count 1000000 too large for the 8 bytes left in ops section at byte 24");
    free(f.data);

    static const unsigned char long_str[] = {4, 0xff, 0xff, 0xff, 0x7f, 'a'};
    f = one_constant(long_str, sizeof long_str);
    cr_assert_str_eq(load_err(f.data, f.len),
                     "count 2147483647 too large for the 29 bytes left in constants section at byte 33");
    free(f.data);

    static const unsigned char big_array[] = {5, 0, 0, 0, 0x10};
    f = one_constant(big_array, sizeof big_array);
    cr_assert_str_eq(load_err(f.data, f.len),
                     "count 268435456 too large for the 28 bytes left in constants section at byte 33");
    free(f.data);
}

Test(bytecode_file, bad_values_have_exact_messages)
{
    static const unsigned char bad_tag[] = {11};
    file f = one_constant(bad_tag, sizeof bad_tag);
    cr_assert_str_eq(load_err(f.data, f.len), "unknown value tag 11 in constants section at byte 32");
    free(f.data);

    static const unsigned char bad_bool[] = {1, 2};
    f = one_constant(bad_bool, sizeof bad_bool);
    cr_assert_str_eq(load_err(f.data, f.len),
                     "bool byte 2 (not 0 or 1) in constants section at byte 33");
    free(f.data);

    static const unsigned char dup_key[] = {6, 2, 0, 0, 0, 1, 0, 0, 0, 'k', 0, 1, 0, 0, 0, 'k', 0};
    f = one_constant(dup_key, sizeof dup_key);
    cr_assert_str_eq(load_err(f.data, f.len), "duplicate hash key in constants section at byte 43");
    free(f.data);

    static const unsigned char good_hash[] = {6, 2, 0, 0, 0, 1, 0, 0, 0, 'k', 0, 1, 0, 0, 0, 'j', 2,
                                              7, 0, 0, 0, 0, 0, 0, 0};
    f = one_constant(good_hash, sizeof good_hash);
    fvm_chunk *c = load_ok(f.data, f.len);
    cr_assert_eq(fvm_hash_get(fvm_chunk_constant(c, 0), "j", 1).as.i, 7);
    fvm_chunk_free(c);
    free(f.data);
}

Test(bytecode_file, too_deep_values_are_refused)
{
    unsigned char deep[FVM_FBC_MAX_VALUE_DEPTH * 5 + 1];
    for (int i = 0; i < FVM_FBC_MAX_VALUE_DEPTH; i++) {
        unsigned char one_array[5] = {5, 1, 0, 0, 0};
        memcpy(deep + 5 * i, one_array, 5);
    }
    deep[sizeof deep - 1] = 0; /* undef at level 129 */
    file f = one_constant(deep, sizeof deep);
    char want[96];
    snprintf(want, sizeof want, "values nested deeper than 128 levels in constants section at byte %d",
             32 + FVM_FBC_MAX_VALUE_DEPTH * 5);
    cr_assert_str_eq(load_err(f.data, f.len), want);
    free(f.data);

    deep[sizeof deep - 5] = 0; /* the innermost array's count: empty, 128 levels */
    f = one_constant(deep, sizeof deep - 1);
    fvm_chunk_free(load_ok(f.data, f.len));
    free(f.data);
}

/* A chain of chunks each holding the next as its only sub-chunk. */
static void put_chain(file *f, unsigned levels)
{
    for (int i = 0; i < 5; i++) /* ops, constants, names, entries, ranges */
        put(f, 0, 4);
    put(f, levels > 0, 4);
    if (levels > 0)
        put_chain(f, levels - 1);
    put(f, 0, 4); /* source */
}

Test(bytecode_file, too_deep_sub_chunks_are_refused)
{
    file f = {NULL, 0, 0};
    put_header(&f);
    put_chain(&f, FVM_FBC_MAX_CHUNK_DEPTH + 1);
    put_checksum(&f);
    char want[96];
    snprintf(want, sizeof want,
             "sub-chunks nested deeper than 32 levels in sub-chunks section at byte %d",
             24 + FVM_FBC_MAX_CHUNK_DEPTH * 24 + 20);
    cr_assert_str_eq(load_err(f.data, f.len), want);
    free(f.data);

    f = (file){NULL, 0, 0};
    put_header(&f);
    put_chain(&f, FVM_FBC_MAX_CHUNK_DEPTH);
    put_checksum(&f);
    fvm_chunk_free(load_ok(f.data, f.len));
    free(f.data);
}

Test(bytecode_file, bad_ops_and_verifier_errors_are_refused)
{
    file f = {NULL, 0, 0};
    put_header(&f);
    put(&f, 1, 4);
    put(&f, 0xffff, 2);
    put(&f, 1, 4); /* its line */
    put(&f, 0, 4);
    put_chunk_tail(&f);
    put_checksum(&f);
    cr_assert_str_eq(load_err(f.data, f.len), "unknown opcode 65535 in ops section at byte 28");
    free(f.data);

    f = (file){NULL, 0, 0};
    put_header(&f);
    put(&f, 1, 4);
    put(&f, FVM_OP_LOAD_CONST, 2);
    put(&f, 5, 2);
    put(&f, 1, 4);
    put(&f, 0, 4);
    put_chunk_tail(&f);
    put_checksum(&f);
    cr_assert_str_eq(load_err(f.data, f.len),
                     "invalid chunk: op 0 (LoadConst): constant index 5 out of range (the pool has 0)");
    free(f.data);

    /* The same op one level down, as the second sub-chunk. */
    f = (file){NULL, 0, 0};
    put_header(&f);
    for (int i = 0; i < 5; i++)
        put(&f, 0, 4);
    put(&f, 2, 4);
    put_chain(&f, 0);
    put(&f, 1, 4);
    put(&f, FVM_OP_JUMP, 2);
    put(&f, 9, 4);
    put(&f, 1, 4);
    put(&f, 0, 4);
    put_chunk_tail(&f);
    put(&f, 0, 4);
    put_checksum(&f);
    cr_assert_str_eq(load_err(f.data, f.len),
                     "invalid sub-chunk 1: op 0 (Jump): jump target 9 is past the end of the chunk (1 ops)");
    free(f.data);
}

/* ------------------------------------------------------------------------
 * Sections: declared builtins
 * ------------------------------------------------------------------------ */

static fvm_chunk *builtin_chunk(bool declare)
{
    fvm_builder *b = fvm_builder_new();
    fvm_emit(b, FVM_LOAD_INT(4), 1);
    fvm_emit(b, FVM_CALL_BUILTIN(7, 1), 1);
    if (declare) {
        fvm_declare_builtin(b, 7, "sqrt", 4);
        fvm_declare_builtin(b, 1, "len", 3);
    }
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c, "%s", fvm_builder_error(b));
    fvm_builder_free(b);
    return c;
}

static fvm_chunk *declaring_chunk(void) { return builtin_chunk(true); }

/* A chunk without declarations is written with no section, as before
 * sections existed; one with declarations round-trips through its section. */
Test(bytecode_file, builtins_section_round_trips)
{
    fvm_chunk *plain = builtin_chunk(false);
    size_t plain_len;
    void *plain_bytes = save(plain, &plain_len);
    fvm_chunk *c = declaring_chunk();
    size_t len;
    unsigned char *bytes = save(c, &len);
    fvm_chunk *back = load_ok(bytes, len);
    cr_assert(fvm_chunk_equal(c, back));
    uint16_t id;
    cr_assert_str_eq(fvm_chunk_builtin(back, 1, &id), "sqrt");
    cr_assert_eq(id, 7);
    /* The section is tag 1, its length, then the declarations. */
    size_t body = 4 + (2 + 4 + 3) + (2 + 4 + 4);
    size_t at = len - FVM_FBC_CHECKSUM_LEN - body - 8;
    cr_assert_eq(bytes[at], 1);
    cr_assert_eq(bytes[at + 4], body);
    cr_assert_eq(len, plain_len + 8 + body);
    cr_assert(memcmp(bytes, plain_bytes, at) == 0); /* the same bytes up to the section */
    fvm_chunk_free(back);
    fvm_free(bytes);
    fvm_chunk_free(c);
    fvm_free(plain_bytes);
    fvm_chunk_free(plain);
}

/* A section this build does not know, with a valid checksum, is refused:
 * running the chunk without what it says could mean anything. */
Test(bytecode_file, unknown_section_is_refused)
{
    fvm_chunk *c = declaring_chunk();
    size_t len;
    unsigned char *bytes = save(c, &len);
    size_t body = 4 + (2 + 4 + 3) + (2 + 4 + 4);
    size_t at = len - FVM_FBC_CHECKSUM_LEN - body - 8;
    bytes[at] = 9;
    uint64_t sum = fvm_fnv1a64(FVM_FNV64_INIT, bytes, len - FVM_FBC_CHECKSUM_LEN);
    for (int i = 0; i < 8; i++)
        bytes[len - 8 + i] = (unsigned char)(sum >> (8 * i));
    char want[128];
    snprintf(want, sizeof want,
             "unknown section tag 9 (written by a newer fusevm?) in section header section at byte %zu", at);
    cr_assert_str_eq(load_err(bytes, len), want);
    fvm_free(bytes);
    fvm_chunk_free(c);
}

/* Declarations belong to the top-level chunk: a sub-chunk's cannot be
 * written. */
Test(bytecode_file, builtins_in_a_sub_chunk_cannot_be_saved)
{
    fvm_builder *b = fvm_builder_new();
    fvm_add_sub_chunk(b, declaring_chunk());
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c);
    void *bytes = (void *)1;
    size_t len = 1;
    cr_assert_eq(fvm_chunk_save(c, &bytes, &len), -1);
    cr_assert_null(bytes);
    fvm_chunk_free(c);
    fvm_builder_free(b);
}

/* Files that would not save back to the same bytes: declarations out of
 * id order, and an empty builtins section. */
static void resum(unsigned char *bytes, size_t len)
{
    uint64_t sum = fvm_fnv1a64(FVM_FNV64_INIT, bytes, len - FVM_FBC_CHECKSUM_LEN);
    for (int i = 0; i < 8; i++)
        bytes[len - 8 + i] = (unsigned char)(sum >> (8 * i));
}

Test(bytecode_file, builtins_section_must_be_canonical)
{
    fvm_chunk *c = declaring_chunk(); /* ids 1 "len", 7 "sqrt" */
    size_t len;
    unsigned char *bytes = save(c, &len);
    size_t body = 4 + (2 + 4 + 3) + (2 + 4 + 4);
    size_t first_id = len - FVM_FBC_CHECKSUM_LEN - body + 4;
    bytes[first_id] = 9; /* 9, then 7 */
    resum(bytes, len);
    char want[128];
    snprintf(want, sizeof want, "builtin ids not in increasing order in builtins section at byte %zu",
             first_id + 2 + 4 + 3);
    cr_assert_str_eq(load_err(bytes, len), want);
    fvm_free(bytes);
    /* An empty section: tag 1, length 4, count 0. */
    fvm_chunk *plain = builtin_chunk(false);
    unsigned char *p = save(plain, &len);
    unsigned char *longer = malloc(len + 12);
    memcpy(longer, p, len - FVM_FBC_CHECKSUM_LEN);
    static const unsigned char empty[12] = {1, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0};
    memcpy(longer + len - FVM_FBC_CHECKSUM_LEN, empty, sizeof empty);
    resum(longer, len + 12);
    snprintf(want, sizeof want, "no declarations in builtins section at byte %zu",
             len - FVM_FBC_CHECKSUM_LEN + 8);
    cr_assert_str_eq(load_err(longer, len + 12), want);
    free(longer);
    fvm_free(p);
    fvm_chunk_free(plain);
    fvm_chunk_free(c);
}
