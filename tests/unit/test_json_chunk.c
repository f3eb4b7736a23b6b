/* Upstream's serde JSON chunks: every conformance program reads back and
 * writes out byte for byte, every op format and value kind round-trips,
 * floats are exact, and malformed documents get the message they should. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/json_chunk.h"
#include "chunk.h"
#include "opinfo.h"

static uint64_t double_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

static double bits_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static fvm_chunk *import_ok(const char *json)
{
    char err[256];
    fvm_chunk *c = fvm_json_import(json, strlen(json), err, sizeof err);
    cr_assert_not_null(c, "import of %s failed: %s", json, err);
    return c;
}

/* Export c, import the text, and check the result equals c. */
static void assert_round_trip(const fvm_chunk *c)
{
    char *text = fvm_json_export(c);
    cr_assert_not_null(text, "export failed");
    char err[256];
    fvm_chunk *back = fvm_json_import(text, strlen(text), err, sizeof err);
    cr_assert_not_null(back, "re-import failed: %s", err);
    cr_assert(fvm_chunk_equal(c, back), "round trip changed the chunk:\n%.2000s", text);
    fvm_chunk_free(back);
    free(text);
}

/* ------------------------------------------------------------------------
 * The conformance programs
 * ------------------------------------------------------------------------ */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = 0;
    fclose(f);
    return buf;
}

static const char *conformance_dir(void)
{
    const char *d = getenv("FUSEVM_CONFORMANCE_DIR");
    return d ? d : "tests/conformance/vectors";
}

/* Import, export (the same bytes as the file: the writer follows the
 * vectors' layout), import again (an equal chunk). */
Test(json_chunk, conformance_programs_round_trip)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/programs", conformance_dir());
    DIR *d = opendir(dir);
    if (!d)
        cr_skip_test("no conformance programs at %s (set FUSEVM_CONFORMANCE_DIR)", dir);
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        char *text = read_file(path, &len);
        cr_assert_not_null(text, "cannot read %s", path);
        char err[256];
        fvm_chunk *c = fvm_json_import(text, len, err, sizeof err);
        cr_assert_not_null(c, "%s: %s", e->d_name, err);
        char *out = fvm_json_export(c);
        cr_assert_not_null(out, "%s: export failed", e->d_name);
        cr_assert_str_eq(out, text, "%s: export differs from the file", e->d_name);
        fvm_chunk *back = fvm_json_import(out, strlen(out), err, sizeof err);
        cr_assert_not_null(back, "%s: re-import: %s", e->d_name, err);
        cr_assert(fvm_chunk_equal(c, back), "%s: round trip changed the chunk", e->d_name);
        fvm_chunk_free(back);
        fvm_chunk_free(c);
        free(out);
        free(text);
        count++;
    }
    closedir(d);
    cr_assert_gt(count, 0, "no programs in %s", dir);
}

/* ------------------------------------------------------------------------
 * Ops
 * ------------------------------------------------------------------------ */

/* The extreme value each operand kind allows, with the pools of the chunk
 * below (one entry each) and a chunk of len ops. */
static uint64_t extreme_operand(unsigned kind, size_t len)
{
    switch (kind) {
    case FVM_K_I64: return (uint64_t)INT64_MIN;
    case FVM_K_F64: return 0x7ff0000000000001ull; /* signalling NaN */
    case FVM_K_CONST:
    case FVM_K_NAME:
    case FVM_K_SUB:
    case FVM_K_BLOCK: return 0;
    case FVM_K_TARGET: return len;
    case FVM_K_LIMIT: return (uint64_t)(int64_t)INT32_MIN;
    default: return fvm_operand_max(kind);
    }
}

/* One op of every opcode, every operand at an extreme, through the
 * format descriptors like the importer. */
Test(json_chunk, every_op_round_trips)
{
    fvm_builder *b = fvm_builder_new();
    fvm_add_constant(b, fvm_int(1));
    fvm_add_name(b, "g", 1);
    fvm_add_block_range(b, 0, 1);
    fvm_builder *sb = fvm_builder_new();
    fvm_emit(sb, FVM_NOP(), 1);
    fvm_add_sub_chunk(b, fvm_build(sb));
    fvm_builder_free(sb);
    for (unsigned code = 0; code < FVM_OP_COUNT; code++) {
        fvm_op op;
        memset(&op, 0, sizeof op);
        op.code = (uint16_t)code;
        const fvm_format_info *fi = fvm_op_operands(code);
        for (unsigned k = 0; k < fi->count; k++)
            fvm_operand_set(&op, fi->operand[k].field, extreme_operand(fi->operand[k].kind, FVM_OP_COUNT));
        fvm_emit(b, op, code * 7u);
    }
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c, "%s", fvm_builder_error(b));
    assert_round_trip(c);
    fvm_chunk_free(c);
    fvm_builder_free(b);
}

/* Operands come in upstream's declaration order. */
Test(json_chunk, operand_order)
{
    fvm_chunk *c = import_ok(
        "{\"ops\":[{\"Call\":[1,200]},{\"SlotLtIntJumpIfFalse\":[10,-5,9]},"
        "{\"ConcatConstLoop\":[0,3,4,-7]},{\"ExtendedWide\":[40033,18446744073709551615]},"
        "{\"Redirect\":[2,5]},{\"Select\":[3,1]},{\"PushIntRangeLoop\":[1,6,100]},"
        "{\"AccumSumLoop\":[7,8,2147483647]},{\"LoadInt\":-9223372036854775808},"
        "{\"CallBuiltin\":[65535,255]},{\"AddAssignSlotVoid\":[65535,1]},\"Nop\"],"
        "\"constants\":[{\"Str\":\"x\"}],\"names\":[\"g0\",\"f0\"]}");
    const fvm_op *ops = fvm_chunk_ops(c);
    cr_assert_eq(fvm_chunk_len(c), 12);
    cr_assert(ops[0].code == FVM_OP_CALL && ops[0].a == 1 && ops[0].b == 200);
    cr_assert(ops[1].a == 10 && ops[1].u.j.limit == -5 && ops[1].u.j.target == 9);
    cr_assert(ops[2].a == 0 && ops[2].b == 3 && ops[2].c == 4 && ops[2].u.j.limit == -7);
    cr_assert(ops[3].a == 40033 && ops[3].u.wide == UINT64_MAX);
    cr_assert(ops[4].code == FVM_OP_REDIRECT && ops[4].a == 2 && ops[4].b == 5);
    cr_assert(ops[5].code == FVM_OP_SELECT && ops[5].a == 3 && ops[5].b == 1);
    cr_assert(ops[6].a == 1 && ops[6].b == 6 && ops[6].u.j.limit == 100);
    cr_assert(ops[7].a == 7 && ops[7].b == 8 && ops[7].u.j.limit == INT32_MAX);
    cr_assert_eq(ops[8].u.i, INT64_MIN);
    cr_assert(ops[9].a == 65535 && ops[9].b == 255);
    cr_assert(ops[10].a == 65535 && ops[10].b == 1);
    cr_assert_eq(ops[11].code, FVM_OP_NOP);
    fvm_chunk_free(c);
}

/* The writer's exact layout: one op per line, tags for NaN and infinities,
 * floats always with a fraction or an exponent. */
Test(json_chunk, export_layout)
{
    fvm_builder *b = fvm_builder_new();
    fvm_emit(b, FVM_LOAD_FLOAT(-0.0), 1);
    fvm_emit(b, FVM_LOAD_FLOAT(bits_double(0x7ff8000000000000ull)), 2);
    fvm_emit(b, FVM_LOAD_FLOAT(bits_double(0xfff8000000000000ull)), 3);
    fvm_emit(b, FVM_LOAD_FLOAT(bits_double(0x7ff0000000000001ull)), 4);
    fvm_emit(b, FVM_LOAD_FLOAT(-INFINITY), 5);
    fvm_emit(b, FVM_LOAD_FLOAT(1e16), 6);
    fvm_emit(b, FVM_LOAD_FLOAT(123.0), 7);
    fvm_emit(b, FVM_LOAD_FLOAT(0.0001), 8);
    fvm_emit(b, FVM_LOAD_FLOAT(2.5e-05), 9);
    fvm_emit(b, FVM_LOAD_FLOAT(5e-324), 10);
    fvm_emit(b, FVM_LOAD_FLOAT(-1.7976931348623157e308), 11);
    fvm_emit(b, FVM_CALL(0, 2), 12);
    fvm_emit(b, FVM_ADD(), 13);
    fvm_add_name(b, "f\"\n", 3);
    fvm_add_constant(b, fvm_str("a\0\x01\xc3\xa9\\", 6));
    fvm_value h = fvm_hash_new();
    fvm_hash_set(&h, "z", 1, fvm_ref_new(fvm_status(-3)));
    fvm_hash_set(&h, "a", 1, fvm_nativefn(65535));
    fvm_add_constant(b, h);
    fvm_value a = fvm_array_new();
    fvm_array_push(&a, fvm_undef());
    fvm_array_push(&a, fvm_bool(false));
    fvm_array_push(&a, fvm_obj(4294967295u));
    fvm_array_push(&a, fvm_float(INFINITY));
    fvm_add_constant(b, a);
    fvm_add_sub_entry(b, 0, 13);
    fvm_add_block_range(b, 18446744073709551615ull, 0);
    fvm_set_source(b, "t", 1);
    fvm_chunk *c = fvm_build(b);
    char *text = fvm_json_export(c);
    cr_assert_str_eq(text,
                     "{\"ops\":[\n"
                     "{\"LoadFloat\":-0.0},\n"
                     "{\"LoadFloat\":\"NaN\"},\n"
                     "{\"LoadFloat\":\"-NaN\"},\n"
                     "{\"LoadFloat\":\"f64:7ff0000000000001\"},\n"
                     "{\"LoadFloat\":\"-inf\"},\n"
                     "{\"LoadFloat\":1e+16},\n"
                     "{\"LoadFloat\":123.0},\n"
                     "{\"LoadFloat\":0.0001},\n"
                     "{\"LoadFloat\":2.5e-05},\n"
                     "{\"LoadFloat\":5e-324},\n"
                     "{\"LoadFloat\":-1.7976931348623157e+308},\n"
                     "{\"Call\":[0,2]},\n"
                     "\"Add\"\n"
                     "],\n"
                     "\"constants\":[{\"Str\":\"a\\u0000\\u0001\xc3\xa9\\\\\"},"
                     "{\"Hash\":{\"z\":{\"Ref\":{\"Status\":-3}},\"a\":{\"NativeFn\":65535}}},"
                     "{\"Array\":[\"Undef\",{\"Bool\":false},{\"Obj\":4294967295},{\"Float\":\"inf\"}]}],\n"
                     "\"names\":[\"f\\\"\\n\"],\n"
                     "\"lines\":[1,2,3,4,5,6,7,8,9,10,11,12,13],\n"
                     "\"sub_entries\":[[0,13]],\n"
                     "\"block_ranges\":[[18446744073709551615,0]],\n"
                     "\"sub_chunks\":[],\n"
                     "\"source\":\"t\"\n"
                     "}\n");
    assert_round_trip(c);
    free(text);
    fvm_chunk_free(c);
    fvm_builder_free(b);
}

/* Strings JSON cannot carry make the export fail instead of changing them. */
Test(json_chunk, export_refuses_what_json_cannot_carry)
{
    fvm_builder *b = fvm_builder_new();
    fvm_add_constant(b, fvm_str("\xff", 1));
    fvm_chunk *c = fvm_build(b);
    cr_assert_null(fvm_json_export(c));
    fvm_chunk_free(c);
    fvm_value h = fvm_hash_new();
    fvm_hash_set(&h, "a\0b", 3, fvm_int(1));
    fvm_add_constant(b, h);
    c = fvm_build(b);
    cr_assert_null(fvm_json_export(c));
    fvm_chunk_free(c);
    fvm_builder_free(b);
}

/* ------------------------------------------------------------------------
 * Values and floats
 * ------------------------------------------------------------------------ */

Test(json_chunk, values)
{
    fvm_chunk *c = import_ok(
        "{\"constants\":[\"Undef\",{\"Bool\":true},{\"Int\":-9223372036854775808},"
        "{\"Int\":9223372036854775807},{\"Float\":-0.0},{\"Float\":5e-324},"
        "{\"Float\":1.7976931348623157e+308},{\"Float\":\"-NaN\"},{\"Float\":\"f64:7FF0000000000001\"},"
        "{\"Float\":-0},{\"Float\":9007199254740993},{\"Float\":18446744073709551615},"
        "{\"Str\":\"a\\u0000b\\ud83d\\ude00\\u00e9\"},"
        "{\"Array\":[{\"Array\":[]},\"Undef\"]},"
        "{\"Hash\":{\"b\":{\"Int\":1},\"a\":{\"Int\":2},\"b\":{\"Int\":3}}},"
        "{\"Status\":-2147483648},{\"Ref\":{\"Ref\":\"Undef\"}},{\"NativeFn\":65535},"
        "{\"Obj\":4294967295},{\"Float\":0.1},{\"Float\":1E400},{\"Float\":1e-400}]}");
    cr_assert_eq(fvm_chunk_constant_count(c), 22);
    cr_assert_eq(fvm_chunk_constant(c, 0).type, FVM_T_UNDEF);
    cr_assert(fvm_chunk_constant(c, 1).as.b);
    cr_assert_eq(fvm_chunk_constant(c, 2).as.i, INT64_MIN);
    cr_assert_eq(fvm_chunk_constant(c, 3).as.i, INT64_MAX);
    cr_assert_eq(double_bits(fvm_chunk_constant(c, 4).as.f), 0x8000000000000000ull);
    cr_assert_eq(double_bits(fvm_chunk_constant(c, 5).as.f), 1);
    cr_assert_eq(double_bits(fvm_chunk_constant(c, 6).as.f), 0x7fefffffffffffffull);
    cr_assert_eq(double_bits(fvm_chunk_constant(c, 7).as.f), 0xfff8000000000000ull);
    cr_assert_eq(double_bits(fvm_chunk_constant(c, 8).as.f), 0x7ff0000000000001ull);
    /* json-c gives no sign for an integer zero: "-0" reads as 0.0. */
    cr_assert_eq(double_bits(fvm_chunk_constant(c, 9).as.f), 0);
    cr_assert_eq(fvm_chunk_constant(c, 10).as.f, 9007199254740992.0); /* ties to even */
    cr_assert_eq(fvm_chunk_constant(c, 11).as.f, 18446744073709551616.0);
    size_t len;
    const char *s = fvm_str_bytes(fvm_chunk_constant(c, 12), &len);
    cr_assert_eq(len, 9);
    cr_assert(memcmp(s, "a\0b\xf0\x9f\x98\x80\xc3\xa9", 9) == 0);
    fvm_value arr = fvm_chunk_constant(c, 13);
    cr_assert_eq(fvm_array_len(arr), 2);
    cr_assert_eq(fvm_array_at(arr, 0).type, FVM_T_ARRAY);
    fvm_value h = fvm_chunk_constant(c, 14);
    cr_assert_eq(fvm_hash_count(h), 2);
    const char *key;
    size_t klen;
    fvm_value v;
    cr_assert(fvm_hash_entry(h, 0, &key, &klen, &v));
    cr_assert(klen == 1 && key[0] == 'b' && v.as.i == 3, "a repeated key keeps its first place, last value");
    cr_assert(fvm_hash_entry(h, 1, &key, &klen, &v));
    cr_assert(klen == 1 && key[0] == 'a' && v.as.i == 2);
    cr_assert_eq(fvm_chunk_constant(c, 15).as.status, INT32_MIN);
    fvm_value r = fvm_chunk_constant(c, 16);
    cr_assert(r.type == FVM_T_REF && fvm_ref_get(r).type == FVM_T_REF);
    cr_assert_eq(fvm_ref_get(fvm_ref_get(r)).type, FVM_T_UNDEF);
    cr_assert_eq(fvm_chunk_constant(c, 17).as.fn, 65535);
    cr_assert_eq(fvm_chunk_constant(c, 18).as.obj, 4294967295u);
    cr_assert_eq(double_bits(fvm_chunk_constant(c, 19).as.f), 0x3fb999999999999aull);
    cr_assert_eq(fvm_chunk_constant(c, 20).as.f, INFINITY);
    cr_assert_eq(double_bits(fvm_chunk_constant(c, 21).as.f), 0);
    assert_round_trip(c);
    fvm_chunk_free(c);
}

/* Export then import gives back every double exactly: random bit patterns
 * plus the boundaries (subnormals, powers of ten, the largest values). */
Test(json_chunk, every_double_round_trips)
{
    static const uint64_t fixed[] = {
        0, 0x8000000000000000ull, 1, 0x000fffffffffffffull, 0x0010000000000000ull,
        0x7fefffffffffffffull, 0xffefffffffffffffull, 0x7ff0000000000000ull,
        0xfff0000000000000ull, 0x7ff8000000000000ull, 0xfff8000000000000ull,
        0x7ff0000000000001ull, 0xfff7ffffffffffffull, 0x3ff0000000000000ull,
        0x4340000000000000ull, 0x4340000000000001ull, 0x3f1a36e2eb1c432dull,
    };
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int round = 0; round < 10; round++) {
        fvm_builder *b = fvm_builder_new();
        for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
            fvm_emit(b, FVM_LOAD_FLOAT(bits_double(fixed[i])), 0);
        for (int i = 0; i < 10000; i++) {
            x ^= x << 13; /* xorshift64 */
            x ^= x >> 7;
            x ^= x << 17;
            /* Half of them decimal-looking values, the rest any pattern. */
            double d = i & 1 ? bits_double(x) : (double)(int64_t)(x % 2000001) / 1000.0;
            fvm_emit(b, FVM_LOAD_FLOAT(d), 0);
        }
        for (int e = -325; e <= 309; e++) {
            char pow10[16];
            snprintf(pow10, sizeof pow10, "1e%d", e);
            fvm_emit(b, FVM_LOAD_FLOAT(strtod(pow10, NULL)), 0);
        }
        fvm_chunk *c = fvm_build(b);
        char *text = fvm_json_export(c);
        cr_assert_not_null(text);
        fvm_chunk *back = import_ok(text);
        const fvm_op *p = fvm_chunk_ops(c), *q = fvm_chunk_ops(back);
        for (size_t i = 0; i < fvm_chunk_len(c); i++)
            cr_assert_eq(double_bits(p[i].u.f), double_bits(q[i].u.f), "op %zu: %016llx came back as %016llx",
                         i, (unsigned long long)double_bits(p[i].u.f),
                         (unsigned long long)double_bits(q[i].u.f));
        free(text);
        fvm_chunk_free(back);
        fvm_chunk_free(c);
        fvm_builder_free(b);
    }
}

/* ------------------------------------------------------------------------
 * Chunk fields
 * ------------------------------------------------------------------------ */

Test(json_chunk, defaults_wrapper_and_unknown_fields)
{
    fvm_chunk *c = import_ok("{}");
    cr_assert_eq(fvm_chunk_len(c), 0);
    cr_assert_eq(fvm_chunk_name_count(c), 0);
    size_t len;
    fvm_chunk_source(c, &len);
    cr_assert_eq(len, 0);
    fvm_chunk_free(c);

    c = import_ok("{\"chunk\":{\"ops\":[\"Nop\",{\"Add\":null}],\"lines\":[7],\"int_overflow_deopt\":true,"
                  "\"native_id\":null,\"aot_seeded_slots\":[1],\"sub_slot_names\":{}},\"extra\":1}");
    cr_assert_eq(fvm_chunk_len(c), 2);
    cr_assert_eq(fvm_chunk_ops(c)[1].code, FVM_OP_ADD);
    cr_assert_eq(fvm_chunk_line(c, 0), 7);
    cr_assert_eq(fvm_chunk_line(c, 1), 0, "a missing line reads as 0");
    cr_assert_neq(fvm_chunk_op_hash(c), 0);
    fvm_chunk_free(c);

    /* Lines past the op count are checked but dropped. */
    c = import_ok("{\"ops\":[\"Nop\"],\"lines\":[1,2,3]}");
    cr_assert_eq(fvm_chunk_line(c, 0), 1);
    fvm_chunk_free(c);
}

Test(json_chunk, pools_entries_ranges_and_sub_chunks)
{
    fvm_chunk *c = import_ok(
        "{\"ops\":[{\"Call\":[1,0]},{\"CmdSubst\":1},{\"MapBlock\":0},\"ReturnValue\"],"
        "\"names\":[\"x\",\"x\"],\"sub_entries\":[[1,3],[1,0]],\"block_ranges\":[[0,1],[2,4]],"
        "\"sub_chunks\":[{\"source\":\"a\"},{\"ops\":[{\"LoadInt\":5}],\"sub_chunks\":[{}],\"source\":\"b\"}],"
        "\"source\":\"main\"}");
    cr_assert_eq(fvm_chunk_name_count(c), 2, "duplicate names keep their positions");
    uint16_t name;
    size_t ip, start, end;
    fvm_chunk_sub_entry(c, 1, &name, &ip);
    cr_assert(name == 1 && ip == 0);
    cr_assert_eq(fvm_chunk_find_sub(c, 1), 3, "the first entry wins");
    fvm_chunk_block_range(c, 1, &start, &end);
    cr_assert(start == 2 && end == 4);
    cr_assert_eq(fvm_chunk_sub_chunk_count(c), 2);
    const fvm_chunk *sub = fvm_chunk_sub_chunk(c, 1);
    cr_assert_eq(fvm_chunk_ops(sub)[0].u.i, 5);
    cr_assert_eq(fvm_chunk_sub_chunk_count(sub), 1);
    size_t len;
    cr_assert_str_eq(fvm_chunk_source(sub, &len), "b");
    assert_round_trip(c);
    fvm_chunk_free(c);
}

/* ------------------------------------------------------------------------
 * Malformed input
 * ------------------------------------------------------------------------ */

static const struct {
    const char *json;
    const char *error;
} malformed[] = {
    {"", "line 1, column 1: unexpected end of data"},
    {"{\"ops\":[", "line 1, column 9: unexpected end of data"},
    {"{\"ops\":[1,]}", "line 1, column 11: unexpected character"},
    {"{}\n x", "line 2, column 2: unexpected character"},
    {"{\"source\":\"\xff\"}", "line 1, column 12: invalid utf-8 string"},
    {"null", "the document is null"},
    {"[1]", "expected a chunk (a JSON object)"},
    {"5", "expected a chunk (a JSON object)"},
    {"{\"ops\":{}}", "ops: must be an array"},
    {"{\"ops\":[\"Call\"]}", "ops[0]: Call expects 2 operands"},
    {"{\"ops\":[{\"Call\":[0]}]}", "ops[0]: Call expects 2 operands"},
    {"{\"ops\":[{\"Call\":7}]}", "ops[0]: Call expects 2 operands"},
    {"{\"ops\":[{\"Call\":[0,256]}],\"names\":[\"f\"]}",
     "ops[0]: operand 2 of Call is 256, out of range 0..255"},
    {"{\"ops\":[{\"Call\":[1,0]}],\"names\":[\"f\"]}",
     "op 0 (Call): name index 1 out of range (the pool has 1)"},
    {"{\"ops\":[\"Nop\",\"Frobnicate\"]}", "ops[1]: unknown op \"Frobnicate\""},
    {"{\"ops\":[{\"LoadInt\":9223372036854775808}]}",
     "ops[0]: operand 1 of LoadInt is 9223372036854775808, out of range "
     "-9223372036854775808..9223372036854775807"},
    {"{\"ops\":[{\"LoadInt\":-9223372036854775809}]}",
     "line 1, column 20: integer out of the 64-bit range"},
    {"{\"ops\":[{\"ExtendedWide\":[1,18446744073709551616]}]}",
     "line 1, column 28: integer out of the 64-bit range"},
    {"{\"ops\":[{\"ExtendedWide\":[1,-1]}]}",
     "ops[0]: operand 2 of ExtendedWide is -1, out of range 0..18446744073709551615"},
    {"{\"ops\":[{\"LoadInt\":1.5}]}", "ops[0]: operand 1 of LoadInt must be an integer"},
    {"{\"ops\":[{\"LoadInt\":\"1\"}]}", "ops[0]: operand 1 of LoadInt must be an integer"},
    {"{\"ops\":[{\"LoadFloat\":NaN}]}",
     "ops[0]: operand 1 of LoadFloat: \"NaN\" is not a JSON number (NaN and infinities are "
     "written as the strings \"NaN\", \"inf\", \"-inf\")"},
    {"{\"ops\":[{\"LoadFloat\":1.}]}",
     "ops[0]: operand 1 of LoadFloat: \"1.\" is not a JSON number (NaN and infinities are "
     "written as the strings \"NaN\", \"inf\", \"-inf\")"},
    {"{\"ops\":[{\"LoadFloat\":\"nan\"}]}",
     "ops[0]: operand 1 of LoadFloat: unknown float tag \"nan\" (expected NaN, -NaN, inf, -inf "
     "or f64:<16 hex digits>)"},
    {"{\"ops\":[{\"LoadFloat\":\"f64:7ff000000000000g\"}]}",
     "ops[0]: operand 1 of LoadFloat: unknown float tag \"f64:7ff000000000000g\" (expected NaN, "
     "-NaN, inf, -inf or f64:<16 hex digits>)"},
    {"{\"ops\":[{\"LoadFloat\":true}]}",
     "ops[0]: operand 1 of LoadFloat must be a number or a float tag"},
    {"{\"ops\":[{\"SlotLtIntJumpIfFalse\":[0,2147483648,0]}]}",
     "ops[0]: operand 2 of SlotLtIntJumpIfFalse is 2147483648, out of range "
     "-2147483648..2147483647"},
    {"{\"ops\":[{\"GetSlot\":65536}]}", "ops[0]: operand 1 of GetSlot is 65536, out of range 0..65535"},
    {"{\"ops\":[{\"Add\":1}]}", "ops[0]: Add takes no operands"},
    {"{\"ops\":[{\"LoadInt\":[1]}]}", "ops[0]: LoadInt expects 1 operand (not an array)"},
    {"{\"ops\":[{\"A\":1,\"B\":2}]}", "ops[0]: expected an op: \"Name\" or {\"Name\": operands}"},
    {"{\"ops\":[7]}", "ops[0]: expected an op: \"Name\" or {\"Name\": operands}"},
    {"{\"ops\":[{\"Jump\":2}]}", "op 0 (Jump): jump target 2 is past the end of the chunk (1 ops)"},
    {"{\"ops\":[{\"LoadConst\":0}]}", "op 0 (LoadConst): constant index 0 out of range (the pool has 0)"},
    {"{\"constants\":[{\"Int\":\"5\"}]}", "constants[0]: Int must be an integer"},
    {"{\"constants\":[\"Nothing\"]}",
     "constants[0]: unknown value \"Nothing\" (only Undef is written as a bare string)"},
    {"{\"constants\":[{\"Array\":[1]}]}",
     "constants[0].Array[0]: expected a value: \"Undef\" or {\"Kind\": payload}"},
    {"{\"constants\":[{\"Array\":{}}]}", "constants[0]: Array must hold a JSON array"},
    {"{\"constants\":[{\"Hash\":[]}]}", "constants[0]: Hash must hold a JSON object"},
    {"{\"constants\":[{\"Hash\":{\"k\":{\"Bool\":1}}}]}",
     "constants[0].Hash[\"k\"]: Bool must hold true or false"},
    {"{\"constants\":[{\"Ref\":{\"Float\":\"x\"}}]}",
     "constants[0].Ref: Float: unknown float tag \"x\" (expected NaN, -NaN, inf, -inf or "
     "f64:<16 hex digits>)"},
    {"{\"constants\":[{\"Status\":2147483648}]}",
     "constants[0]: Status is 2147483648, out of range -2147483648..2147483647"},
    {"{\"constants\":[{\"NativeFn\":65536}]}", "constants[0]: NativeFn is 65536, out of range 0..65535"},
    {"{\"constants\":[{\"Obj\":-1}]}", "constants[0]: Obj is -1, out of range 0..4294967295"},
    {"{\"constants\":[{\"Str\":1}]}", "constants[0]: Str must be a string"},
    {"{\"constants\":[{\"Set\":1}]}", "constants[0]: unknown value kind \"Set\""},
    {"{\"constants\":[{\"Hash\":{\"a\\u0000b\":\"Undef\"}}]}",
     "line 1, column 24: object keys cannot hold NUL (\\u0000)"},
    {"{\"constants\":[{\"Str\":\"\\ud800\"}]}", "line 1, column 23: lone surrogate escape"},
    {"{\"constants\":[{\"Str\":\"\\ude00\"}]}", "line 1, column 23: lone surrogate escape"},
    {"{\"constants\":[{\"Str\":\"\\ud83dx\\ude00\"}]}", "line 1, column 23: lone surrogate escape"},
    {"{\"names\":[1]}", "names[0]: a name must be a string"},
    {"{\"lines\":[-1]}", "lines[0]: a line is -1, out of range 0..4294967295"},
    {"{\"lines\":7}", "lines: must be an array"},
    {"{\"sub_entries\":[[0]]}", "sub_entries[0]: expected a pair [a, b]"},
    {"{\"sub_entries\":[[65536,0]]}",
     "sub_entries[0]: the first element is 65536, out of range 0..65535"},
    {"{\"sub_entries\":[[3,0]]}", "sub entry 0: name 3 or entry 0 out of range"},
    {"{\"block_ranges\":[[1,-2]]}",
     "block_ranges[0]: the second element is -2, out of range 0..18446744073709551615"},
    {"{\"sub_chunks\":[{},{\"ops\":[\"Bad\"]}]}", "sub_chunks[1].ops[0]: unknown op \"Bad\""},
    {"{\"sub_chunks\":[{\"ops\":[{\"Jump\":5}]}]}",
     "sub_chunks[0]: op 0 (Jump): jump target 5 is past the end of the chunk (1 ops)"},
    {"{\"sub_chunks\":[[]]}", "sub_chunks[0]: expected a chunk (a JSON object)"},
    {"{\"sub_chunks\":[{\"source\":[]}]}", "sub_chunks[0]: source must be a string"},
    {"{\"chunk\":{\"ops\":[\"X\"]}}", "chunk.ops[0]: unknown op \"X\""},
    {"{\"chunk\":7}", "chunk: expected a chunk (a JSON object)"},
    {"{\"source\":5}", "source must be a string"},
};

Test(json_chunk, malformed_inputs)
{
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        char err[512];
        fvm_chunk *c = fvm_json_import(malformed[i].json, strlen(malformed[i].json), err, sizeof err);
        cr_assert_null(c, "accepted %s", malformed[i].json);
        cr_assert_str_eq(err, malformed[i].error, "for %s", malformed[i].json);
    }
}

/* Nesting is bounded (json-c's depth limit) and a null error buffer is fine. */
Test(json_chunk, deep_nesting_and_no_error_buffer)
{
    size_t depth = 600;
    size_t cap = 32 + depth * 12;
    char *doc = malloc(cap);
    size_t n = (size_t)snprintf(doc, cap, "{\"constants\":[");
    for (size_t i = 0; i < depth; i++)
        n += (size_t)snprintf(doc + n, cap - n, "{\"Array\":[");
    for (size_t i = 0; i < depth; i++)
        n += (size_t)snprintf(doc + n, cap - n, "]}");
    n += (size_t)snprintf(doc + n, cap - n, "]}");
    char err[256];
    cr_assert_null(fvm_json_import(doc, n, err, sizeof err));
    cr_assert(strstr(err, "nesting too deep"), "%s", err);
    cr_assert_null(fvm_json_import(doc, n, NULL, 0));
    free(doc);
}
