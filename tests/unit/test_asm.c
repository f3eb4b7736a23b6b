/* The text assembly format: assembler, disassembler and the fused-op
 * expansion table (src/asm.c, src/disasm.c, src/fused.c). */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asm.h"
#include "fused.h"
#include "opinfo.h"

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

static fvm_chunk *assemble(const char *text)
{
    char *err = NULL;
    fvm_chunk *c = fvm_assemble(text, strlen(text), "t.fasm", &err);
    cr_assert_not_null(c, "assembly failed:\n%s", err ? err : "(no message)");
    cr_assert_null(err);
    return c;
}

/* The errors text fvm_assemble gives for text, which must fail. */
static char *assemble_errors(const char *text, size_t len)
{
    char *err = NULL;
    fvm_chunk *c = fvm_assemble(text, len, "t.fasm", &err);
    cr_assert_null(c, "assembly of %s unexpectedly succeeded", text);
    cr_assert_not_null(err);
    return err;
}

/* chunk -> text -> chunk gives an equal chunk and the same text again,
 * with and without annotations. */
static void check_round_trip(const fvm_chunk *c)
{
    for (unsigned flags = 0; flags <= FVM_DIS_ANNOTATE; flags += FVM_DIS_ANNOTATE) {
        char *text = fvm_disassemble(c, flags);
        cr_assert_not_null(text);
        char *err = NULL;
        fvm_chunk *again = fvm_assemble(text, strlen(text), "dis.fasm", &err);
        cr_assert_not_null(again, "reassembly failed:\n%s\n--- text ---\n%s", err, text);
        cr_assert(fvm_chunk_equal(c, again), "round trip changed the chunk:\n%s", text);
        cr_assert_eq(fvm_chunk_op_hash(c), fvm_chunk_op_hash(again));
        char *text2 = fvm_disassemble(again, flags);
        cr_assert_str_eq(text, text2);
        fvm_free(text2);
        fvm_chunk_free(again);
        fvm_free(text);
    }
}

static fvm_op op_at(const fvm_chunk *c, size_t ip)
{
    cr_assert_lt(ip, fvm_chunk_len(c));
    return fvm_chunk_ops(c)[ip];
}

static uint64_t float_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double bits_float(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* ------------------------------------------------------------------------
 * Reading hand-written programs
 * ------------------------------------------------------------------------ */

Test(asm, sum_loop_example)
{
    fvm_chunk *c = assemble("; sum 0..9\n"
                            "    LoadInt 0\n"
                            "    SetSlot 0\n"
                            "    LoadInt 0\n"
                            "    SetSlot 1\n"
                            "loop:\n"
                            "    GetSlot 0\n"
                            "    GetSlot 1\n"
                            "    Add\n"
                            "    SetSlot 0\n"
                            "    SlotIncLtIntJumpBack 1 10 loop\n"
                            "    GetSlot 0\n");
    cr_assert_eq(fvm_chunk_len(c), 10);
    cr_assert_eq(op_at(c, 0).code, FVM_OP_LOAD_INT);
    cr_assert_eq(op_at(c, 0).u.i, 0);
    cr_assert_eq(op_at(c, 3).code, FVM_OP_SET_SLOT);
    cr_assert_eq(op_at(c, 3).a, 1);
    fvm_op back = op_at(c, 8);
    cr_assert_eq(back.code, FVM_OP_SLOT_INC_LT_INT_JUMP_BACK);
    cr_assert_eq(back.a, 1);
    cr_assert_eq(back.u.j.limit, 10);
    cr_assert_eq(back.u.j.target, 4);
    /* Lines default to the text line of the op. */
    cr_assert_eq(fvm_chunk_line(c, 0), 2);
    cr_assert_eq(fvm_chunk_line(c, 4), 7);
    cr_assert_eq(fvm_chunk_line(c, 9), 12);
    check_round_trip(c);
    fvm_chunk_free(c);
}

Test(asm, operand_separators_comments_and_crlf)
{
    fvm_chunk *c = assemble("SlotLtIntJumpIfFalse 2, -7, 3 ; comment\r\n"
                            "ConcatConstLoop \"a;b#c\",1,2 , 3 # other comment\r\n"
                            "\t Call  f ,\t4\r\n"
                            "# a full-line comment\r\n");
    cr_assert_eq(fvm_chunk_len(c), 3);
    cr_assert_eq(op_at(c, 0).a, 2);
    cr_assert_eq(op_at(c, 0).u.j.limit, -7);
    cr_assert_eq(op_at(c, 0).u.j.target, 3);
    fvm_op cc = op_at(c, 1);
    cr_assert_eq(cc.a, 0);
    cr_assert_eq(cc.b, 1);
    cr_assert_eq(cc.c, 2);
    cr_assert_eq(cc.u.j.limit, 3);
    size_t len;
    cr_assert_str_eq(fvm_str_bytes(fvm_chunk_constant(c, 0), &len), "a;b#c");
    cr_assert_eq(op_at(c, 2).b, 4);
    cr_assert_str_eq(fvm_chunk_name(c, op_at(c, 2).a, &len), "f");
    fvm_chunk_free(c);
}

Test(asm, every_format_by_hand)
{
    fvm_chunk *c = assemble(".name g\n"
                            ".block start end\n"
                            ".chunk inner\n"
                            "    Nop\n"
                            ".end\n"
                            "start:\n"
                            "    Nop\n"                                   /* NONE */
                            "    LoadInt -0x8000000000000000\n"           /* I64 */
                            "    LoadFloat 2.5\n"                         /* F64 */
                            "    LoadConst \"k\"\n"                       /* CONST */
                            "    GetVar g\n"                              /* NAME */
                            "    GetSlot 65535\n"                         /* SLOT */
                            "    CmdSubst inner\n"                        /* SUB */
                            "    MapBlock @0\n"                           /* BLOCK */
                            "    MakeArray 3\n"                           /* COUNT */
                            "    PrintLn 255\n"                           /* U8 */
                            "    AwkGetFieldNum 65535\n"                  /* U16 */
                            "    Jump end\n"                              /* TARGET */
                            "    CallFunction g 7\n"                      /* NAME_ARGC */
                            "    AddAssignSlotVoid 1 2\n"                 /* SLOT2 */
                            "    SlotLtIntJumpIfFalse 1 -2147483648 0\n"  /* SLOT_LIMIT_TARGET */
                            "    AccumSumLoop 0 1 2147483647\n"           /* SLOT2_LIMIT */
                            "    ConcatConstLoop @0 1 2 3\n"              /* CONST_SLOT2_LIMIT */
                            "    PushIntRangeLoop g 3 4\n"                /* NAME_SLOT_LIMIT */
                            "    CallBuiltin 65535 255\n"                 /* ID_U8 */
                            "    ExtendedWide 40001 18446744073709551615\n" /* ID_WIDE */
                            "    Redirect 1 2\n"                          /* U8_U8 */
                            "end:\n");
    cr_assert_eq(fvm_chunk_len(c), 21);
    cr_assert_eq(op_at(c, 1).u.i, INT64_MIN);
    cr_assert_eq(op_at(c, 2).u.f, 2.5);
    cr_assert_eq(op_at(c, 3).a, 0);
    cr_assert_eq(op_at(c, 4).a, 0);
    cr_assert_eq(op_at(c, 5).a, 65535);
    cr_assert_eq(op_at(c, 6).a, 0);
    cr_assert_eq(op_at(c, 10).a, 65535);
    cr_assert_eq(op_at(c, 11).u.j.target, 21);
    cr_assert_eq(op_at(c, 12).b, 7);
    cr_assert_eq(op_at(c, 14).u.j.limit, INT32_MIN);
    cr_assert_eq(op_at(c, 15).u.j.limit, INT32_MAX);
    cr_assert_eq(op_at(c, 19).u.wide, UINT64_MAX);
    cr_assert_eq(op_at(c, 20).a, 1);
    cr_assert_eq(op_at(c, 20).b, 2);
    size_t start, end;
    fvm_chunk_block_range(c, 0, &start, &end);
    cr_assert_eq(start, 0);
    cr_assert_eq(end, 21);
    cr_assert_eq(fvm_chunk_len(fvm_chunk_sub_chunk(c, 0)), 1);
    check_round_trip(c);
    fvm_chunk_free(c);
}

Test(asm, every_value_kind)
{
    fvm_chunk *c = assemble(".const undef\n"
                            ".const true\n"
                            ".const false\n"
                            ".const 9223372036854775807\n"
                            ".const -9223372036854775808\n"
                            ".const 0x7fffffffffffffff\n"
                            ".const -0.0\n"
                            ".const nan\n"
                            ".const -nan\n"
                            ".const f64:7ff0000000000001\n"
                            ".const -inf\n"
                            ".const 1e300\n"
                            ".const \"a\\0b\\n\\t\\r\\\\\\\"\\xff\"\n"
                            ".const status(-3)\n"
                            ".const nativefn(65535)\n"
                            ".const obj(4294967295)\n"
                            ".const ref([1, \"a\", [2, []]])\n"
                            ".const {\"z\": 1, \"a\": {\"k\": nan}, \"\": []}\n");
    cr_assert_eq(fvm_chunk_constant_count(c), 18);
    fvm_value v;
    cr_assert_eq(fvm_chunk_constant(c, 0).type, FVM_T_UNDEF);
    cr_assert(fvm_chunk_constant(c, 1).as.b);
    cr_assert_not(fvm_chunk_constant(c, 2).as.b);
    cr_assert_eq(fvm_chunk_constant(c, 3).as.i, INT64_MAX);
    cr_assert_eq(fvm_chunk_constant(c, 4).as.i, INT64_MIN);
    cr_assert_eq(fvm_chunk_constant(c, 5).as.i, INT64_MAX);
    cr_assert_eq(float_bits(fvm_chunk_constant(c, 6).as.f), 0x8000000000000000ull);
    cr_assert_eq(float_bits(fvm_chunk_constant(c, 7).as.f), 0x7ff8000000000000ull);
    cr_assert_eq(float_bits(fvm_chunk_constant(c, 8).as.f), 0xfff8000000000000ull);
    cr_assert_eq(float_bits(fvm_chunk_constant(c, 9).as.f), 0x7ff0000000000001ull);
    cr_assert_eq(fvm_chunk_constant(c, 10).as.f, -INFINITY);
    cr_assert_eq(fvm_chunk_constant(c, 11).as.f, 1e300);
    size_t len;
    const char *s = fvm_str_bytes(fvm_chunk_constant(c, 12), &len);
    cr_assert_eq(len, 9);
    cr_assert_eq(memcmp(s, "a\0b\n\t\r\\\"\xff", 9), 0);
    cr_assert_eq(fvm_chunk_constant(c, 13).as.status, -3);
    cr_assert_eq(fvm_chunk_constant(c, 14).as.fn, 65535);
    cr_assert_eq(fvm_chunk_constant(c, 15).as.obj, UINT32_MAX);
    v = fvm_ref_get(fvm_chunk_constant(c, 16));
    cr_assert_eq(fvm_array_len(v), 3);
    cr_assert_eq(fvm_array_len(fvm_array_at(fvm_array_at(v, 2), 1)), 0);
    v = fvm_chunk_constant(c, 17);
    const char *key;
    fvm_value item;
    cr_assert(fvm_hash_entry(v, 0, &key, &len, &item));
    cr_assert_str_eq(key, "z");
    cr_assert(fvm_hash_entry(v, 1, &key, &len, &item));
    cr_assert_str_eq(key, "a");
    cr_assert(isnan(fvm_hash_get(item, "k", 1).as.f));
    cr_assert(fvm_hash_entry(v, 2, &key, &len, &item));
    cr_assert_eq(len, 0);
    check_round_trip(c);
    fvm_chunk_free(c);
}

Test(asm, floats_print_exactly)
{
    static const struct {
        double d;
        const char *text;
    } cases[] = {
        {1.5, "1.5"},       {100.0, "100.0"},   {-0.0, "-0.0"},     {0.0, "0.0"},
        {0.1, "0.1"},       {1e21, "1e+21"},    {1e-7, "1e-7"},     {5e-324, "5e-324"},
        {1e16, "10000000000000000.0"},          {1.23456789e-5, "0.0000123456789"},
        {1.23456789e-6, "1.23456789e-6"},       {1e17, "1e+17"},
        {-1.7976931348623157e308, "-1.7976931348623157e+308"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fvm_builder *b = fvm_builder_new();
        fvm_emit(b, FVM_LOAD_FLOAT(cases[i].d), 1);
        fvm_chunk *c = fvm_build(b);
        char *text = fvm_disassemble(c, 0);
        char want[128];
        snprintf(want, sizeof want, ".line 1\n    LoadFloat %s\n", cases[i].text);
        cr_assert_str_eq(text, want);
        check_round_trip(c);
        fvm_free(text);
        fvm_chunk_free(c);
        fvm_builder_free(b);
    }
}

Test(asm, float_operands)
{
    fvm_chunk *c = assemble("LoadFloat 3\nLoadFloat -nan\nLoadFloat f64:fff0000000000123\n"
                            "LoadFloat +inf\nLoadFloat 9007199254740993\nLoadFloat 0x10\nLoadFloat 1E3\n");
    cr_assert_eq(op_at(c, 0).u.f, 3.0);
    cr_assert_eq(float_bits(op_at(c, 1).u.f), 0xfff8000000000000ull);
    cr_assert_eq(float_bits(op_at(c, 2).u.f), 0xfff0000000000123ull);
    cr_assert_eq(op_at(c, 3).u.f, INFINITY);
    cr_assert_eq(op_at(c, 4).u.f, 9007199254740992.0);
    cr_assert_eq(op_at(c, 5).u.f, 16.0);
    cr_assert_eq(op_at(c, 6).u.f, 1000.0);
    check_round_trip(c);
    fvm_chunk_free(c);
}

Test(asm, literal_constants_reuse_identical_entries)
{
    fvm_chunk *c = assemble("LoadConst \"a\"\n"
                            "LoadConst 1\n"
                            "LoadConst \"a\"\n"
                            "LoadConst 1.0\n"
                            "LoadConst -0.0\n"
                            "LoadConst 0.0\n"
                            "LoadConst {\"x\": 1, \"y\": 2}\n"
                            "LoadConst {\"y\": 2, \"x\": 1}\n"
                            ".const \"a\"\n"
                            "LoadConst @7\n");
    /* "a", 1, 1.0, -0.0, 0.0, {x,y}, {y,x}, then the explicit "a". */
    cr_assert_eq(fvm_chunk_constant_count(c), 8);
    static const uint16_t want[] = {0, 1, 0, 2, 3, 4, 5, 6, 7};
    for (size_t i = 0; i < 9; i++)
        cr_assert_eq(op_at(c, i).a, want[i], "op %zu", i);
    check_round_trip(c);
    char *text = fvm_disassemble(c, 0);
    /* The duplicate "a" is only reachable by index. */
    cr_assert(strstr(text, "    LoadConst @7\n"), "%s", text);
    fvm_free(text);
    fvm_chunk_free(c);
}

Test(asm, names_intern_and_index)
{
    fvm_chunk *c = assemble(".name x\n"
                            ".name x\n"
                            "GetVar x\n"
                            "GetVar @1\n"
                            "GetVar 1\n"
                            "SetVar \"a b\"\n"
                            "SetVar $y.z\n"
                            "Call \"\" 0\n");
    cr_assert_eq(fvm_chunk_name_count(c), 5);
    cr_assert_eq(op_at(c, 0).a, 0);
    cr_assert_eq(op_at(c, 1).a, 1);
    cr_assert_eq(op_at(c, 2).a, 1);
    cr_assert_eq(op_at(c, 3).a, 2);
    size_t len;
    cr_assert_str_eq(fvm_chunk_name(c, 3, &len), "$y.z");
    fvm_chunk_name(c, 4, &len);
    cr_assert_eq(len, 0);
    check_round_trip(c);
    fvm_chunk_free(c);
}

Test(asm, labels_and_numeric_targets)
{
    fvm_chunk *c = assemble("a: b: Jump c\n"
                            "    Jump 0\n"
                            "c:  JumpIfTrue b\n"
                            "    JumpIfFalseKeep 3\n"
                            "end:\n"
                            ".sub f\n"
                            ".sub g a\n"
                            ".sub @0 end\n");
    cr_assert_eq(op_at(c, 0).u.j.target, 2);
    cr_assert_eq(op_at(c, 1).u.j.target, 0);
    cr_assert_eq(op_at(c, 2).u.j.target, 0);
    cr_assert_eq(op_at(c, 3).u.j.target, 3);
    cr_assert_eq(fvm_chunk_sub_entry_count(c), 3);
    uint16_t name;
    size_t ip;
    fvm_chunk_sub_entry(c, 0, &name, &ip);
    cr_assert_eq(name, 0);
    cr_assert_eq(ip, 4);
    fvm_chunk_sub_entry(c, 1, &name, &ip);
    cr_assert_eq(name, 1);
    cr_assert_eq(ip, 0);
    fvm_chunk_sub_entry(c, 2, &name, &ip);
    cr_assert_eq(name, 0);
    cr_assert_eq(ip, 4);
    check_round_trip(c);
    fvm_chunk_free(c);
}

Test(asm, line_directive)
{
    fvm_chunk *c = assemble("Nop\n"
                            ".line 100\n"
                            "Nop\n"
                            "Nop\n"
                            ".chunk\n"
                            "  Nop\n"
                            "  .line 7\n"
                            "  Nop\n"
                            ".end\n"
                            "Nop\n"
                            ".line 4294967295\n"
                            "Nop\n");
    cr_assert_eq(fvm_chunk_line(c, 0), 1);
    cr_assert_eq(fvm_chunk_line(c, 1), 100);
    cr_assert_eq(fvm_chunk_line(c, 2), 100);
    cr_assert_eq(fvm_chunk_line(c, 3), 100);
    cr_assert_eq(fvm_chunk_line(c, 4), UINT32_MAX);
    const fvm_chunk *sub = fvm_chunk_sub_chunk(c, 0);
    cr_assert_eq(fvm_chunk_line(sub, 0), 6);
    cr_assert_eq(fvm_chunk_line(sub, 1), 7);
    check_round_trip(c);
    fvm_chunk_free(c);
}

Test(asm, nested_sub_chunks)
{
    fvm_chunk *c = assemble(".source \"main.fasm\"\n"
                            ".chunk one\n"
                            "    .source \"one\"\n"
                            "    .chunk deeper\n"
                            "        .const \"deep\"\n"
                            "        LoadConst \"deep\"\n"
                            "    .end\n"
                            "    CmdSubst deeper\n"
                            ".end\n"
                            ".chunk two\n"
                            ".end\n"
                            "CmdSubst one\n"
                            "ProcessSubIn two\n"
                            "ProcessSubOut @0\n"
                            "TrapSet 1\n");
    cr_assert_eq(fvm_chunk_sub_chunk_count(c), 2);
    cr_assert_eq(op_at(c, 0).a, 0);
    cr_assert_eq(op_at(c, 1).a, 1);
    cr_assert_eq(op_at(c, 2).a, 0);
    cr_assert_eq(op_at(c, 3).a, 1);
    const fvm_chunk *one = fvm_chunk_sub_chunk(c, 0);
    size_t len;
    cr_assert_str_eq(fvm_chunk_source(one, &len), "one");
    cr_assert_str_eq(fvm_chunk_source(c, &len), "main.fasm");
    const fvm_chunk *deeper = fvm_chunk_sub_chunk(one, 0);
    cr_assert_eq(fvm_chunk_constant_count(deeper), 1);
    cr_assert_eq(fvm_chunk_len(fvm_chunk_sub_chunk(c, 1)), 0);
    check_round_trip(c);
    fvm_chunk_free(c);
}

Test(asm, block_ranges)
{
    fvm_chunk *c = assemble(".block a, b\n"
                            ".block 7 18446744073709551615\n"
                            "a: Nop\n"
                            "b: MapBlock 0\n"
                            "   SortBlock @1\n");
    size_t start, end;
    fvm_chunk_block_range(c, 0, &start, &end);
    cr_assert_eq(start, 0);
    cr_assert_eq(end, 1);
    fvm_chunk_block_range(c, 1, &start, &end);
    cr_assert_eq(start, 7);
    cr_assert_eq(end, SIZE_MAX);
    check_round_trip(c);
    fvm_chunk_free(c);
}

Test(asm, empty_input)
{
    char *err = (char *)"untouched";
    fvm_chunk *c = fvm_assemble(NULL, 0, NULL, &err);
    cr_assert_not_null(c);
    cr_assert_null(err);
    cr_assert_eq(fvm_chunk_len(c), 0);
    char *text = fvm_disassemble(c, 0);
    cr_assert_str_eq(text, "");
    fvm_free(text);
    fvm_chunk_free(c);
    c = fvm_assemble("\n\n; nothing\n", 12, NULL, NULL);
    cr_assert_not_null(c);
    fvm_chunk_free(c);
}

/* ------------------------------------------------------------------------
 * The disassembler's text
 * ------------------------------------------------------------------------ */

Test(asm, disassembly_text)
{
    fvm_chunk *c = assemble(".source \"demo\"\n"
                            ".const \"hi\"\n"
                            ".const \"hi\"\n"
                            ".chunk\n"
                            "    Nop\n"
                            ".end\n"
                            ".sub \"main fn\"\n"
                            "top: LoadConst \"hi\"\n"
                            "     LoadConst @1\n"
                            "     GetVar x\n"
                            "     CmdSubst 0\n"
                            "     JumpIfFalse top\n"
                            "     PreIncSlot 3\n"
                            "     AccumSumLoop 0 1 10\n");
    char *text = fvm_disassemble(c, 0);
    cr_assert_str_eq(text, ".source \"demo\"\n"
                           ".name \"main fn\"\n"
                           ".name x\n"
                           ".const \"hi\"\n"
                           ".const \"hi\"\n"
                           ".sub \"main fn\" L0\n"
                           ".chunk\n"
                           "    .line 5\n"
                           "        Nop\n"
                           ".end\n"
                           ".line 8\n"
                           "L0:\n"
                           "    LoadConst \"hi\"\n"
                           ".line 9\n"
                           "    LoadConst @1\n"
                           ".line 10\n"
                           "    GetVar x\n"
                           ".line 11\n"
                           "    CmdSubst @0\n"
                           ".line 12\n"
                           "    JumpIfFalse L0\n"
                           ".line 13\n"
                           "    PreIncSlot 3\n"
                           ".line 14\n"
                           "    AccumSumLoop 0 1 10\n");
    fvm_free(text);
    text = fvm_disassemble(c, FVM_DIS_ANNOTATE);
    cr_assert(strstr(text, ".chunk ; sub-chunk 0\n"), "%s", text);
    cr_assert(strstr(text, "\n    JumpIfFalse L0                      ; 4\n"), "%s", text);
    cr_assert(strstr(text, "\n    PreIncSlot 3                        ; 5: GetSlot 3; Inc; Dup; "
                           "SetSlot 3\n"),
              "%s", text);
    cr_assert(strstr(text, "\n    AccumSumLoop 0 1 10                 ; 6: GetSlot 1; LoadInt 10; "
                           "NumLt; JumpIfFalse +12; GetSlot 0; GetSlot 1; Add; SetSlot 0; "
                           "GetSlot 1; Inc; SetSlot 1; Jump +0\n"),
              "%s", text);
    fvm_free(text);
    check_round_trip(c);
    fvm_chunk_free(c);
}

Test(asm, strings_print_escaped)
{
    fvm_builder *b = fvm_builder_new();
    /* Valid UTF-8 stays as it is; a lone continuation byte, controls, NUL
     * and DEL are escaped. */
    fvm_add_constant(b, fvm_str("\xc3\xa9\x80\x01\x7f\0q\"\\", 9));
    fvm_chunk *c = fvm_build(b);
    char *text = fvm_disassemble(c, 0);
    cr_assert_str_eq(text, ".const \"\xc3\xa9\\x80\\x01\\x7f\\0q\\\"\\\\\"\n");
    check_round_trip(c);
    fvm_free(text);
    fvm_chunk_free(c);
    fvm_builder_free(b);
}

/* ------------------------------------------------------------------------
 * Random chunks survive chunk -> text -> chunk
 * ------------------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    /* xorshift64*: deterministic, so a failure reproduces. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static uint64_t below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

static fvm_value random_string(void)
{
    static const char alphabet[] = "ab_$.x0 \"\\\n\t\r\0\x01\x7f\x80\xff\xc3\xa9;#@:,[]{}()";
    char s[16];
    size_t n = below(sizeof s);
    for (size_t i = 0; i < n; i++)
        s[i] = alphabet[below(sizeof alphabet - 1)];
    return fvm_str(s, n);
}

static double random_float(void)
{
    static const double special[] = {0.0, -0.0, 0.1, 1e21, 1e-7, 5e-324, 1.7976931348623157e308,
                                     INFINITY, -INFINITY, 100.0, -2.5};
    switch (below(4)) {
    case 0: return special[below(sizeof special / sizeof special[0])];
    case 1: return bits_float(0x7ff0000000000000ull | rnd()); /* NaN payloads, inf */
    default: return bits_float(rnd());
    }
}

static int64_t random_int(void)
{
    static const int64_t special[] = {0, -1, 1, INT64_MIN, INT64_MAX, 255, -65536};
    return below(2) ? special[below(sizeof special / sizeof special[0])] : (int64_t)rnd();
}

static fvm_value random_value(int depth)
{
    switch (below(depth > 2 ? 8 : 11)) {
    case 0: return fvm_undef();
    case 1: return fvm_bool(below(2));
    case 2: return fvm_int(random_int());
    case 3: return fvm_float(random_float());
    case 4: return random_string();
    case 5: return fvm_status((int32_t)rnd());
    case 6: return fvm_nativefn((uint16_t)rnd());
    case 7: return fvm_obj((uint32_t)rnd());
    case 8: return fvm_ref_new(random_value(depth + 1));
    case 9: {
        fvm_value a = fvm_array_new();
        for (size_t n = below(4); n > 0; n--)
            fvm_array_push(&a, random_value(depth + 1));
        return a;
    }
    default: {
        fvm_value h = fvm_hash_new();
        for (size_t n = below(4); n > 0; n--) {
            fvm_value k = random_string();
            size_t len;
            const char *bytes = fvm_str_bytes(k, &len);
            fvm_hash_set(&h, bytes, len, random_value(depth + 1));
            fvm_value_drop(k);
        }
        return h;
    }
    }
}

static fvm_string *random_name(fvm_string **names, size_t n)
{
    static const char *const idents[] = {"x", "L0", "nan", "true", "$a.b", "_", "Add", "f64", "@"};
    if (n && below(4) == 0) { /* a duplicate */
        const fvm_string *d = names[below(n)];
        return fvm_str_from(d->data, d->len);
    }
    if (below(2)) {
        const char *s = idents[below(sizeof idents / sizeof idents[0])];
        return fvm_str_from(s, strlen(s));
    }
    fvm_value v = random_string();
    fvm_string *s = fvm_str_from(v.as.s->data, v.as.s->len);
    fvm_value_drop(v);
    return s;
}

static uint64_t random_operand(unsigned kind, const fvm_chunk_parts *p)
{
    switch (kind) {
    case FVM_K_I64: return (uint64_t)random_int();
    case FVM_K_F64: return float_bits(random_float());
    case FVM_K_CONST: return below(p->nconsts);
    case FVM_K_NAME: return below(p->nnames);
    case FVM_K_SUB: return below(p->nsubchunks);
    case FVM_K_BLOCK: return below(p->nblocks);
    case FVM_K_TARGET: return below(p->len + 1);
    case FVM_K_LIMIT: return (uint64_t)(int64_t)(int32_t)rnd();
    case FVM_K_WIDE: return rnd();
    default: return below(2) ? below(4) : rnd() & fvm_operand_max(kind);
    }
}

/* Whether every pool op's operands can index a non-empty pool. */
static bool pools_allow(unsigned code, const fvm_chunk_parts *p)
{
    const fvm_format_info *fi = fvm_op_operands(code);
    for (unsigned k = 0; k < fi->count; k++) {
        unsigned kind = fi->operand[k].kind;
        if ((kind == FVM_K_CONST && !p->nconsts) || (kind == FVM_K_NAME && !p->nnames) ||
            (kind == FVM_K_SUB && !p->nsubchunks) || (kind == FVM_K_BLOCK && !p->nblocks))
            return false;
    }
    return true;
}

static fvm_chunk *random_chunk(int depth)
{
    fvm_chunk_parts p;
    memset(&p, 0, sizeof p);
    p.nconsts = below(7);
    p.consts = malloc((p.nconsts + 1) * sizeof *p.consts);
    for (size_t i = 0; i < p.nconsts; i++) /* some exact duplicates */
        p.consts[i] = i && below(5) == 0 ? fvm_value_copy(p.consts[below(i)]) : random_value(0);
    p.nnames = below(6);
    p.names = malloc((p.nnames + 1) * sizeof *p.names);
    for (size_t i = 0; i < p.nnames; i++)
        p.names[i] = random_name(p.names, i);
    p.nsubchunks = depth < 2 ? below(3) : 0;
    p.subchunks = malloc((p.nsubchunks + 1) * sizeof *p.subchunks);
    for (size_t i = 0; i < p.nsubchunks; i++)
        p.subchunks[i] = random_chunk(depth + 1);
    p.len = below(30);
    p.ops = calloc(p.len + 1, sizeof *p.ops);
    p.lines = malloc((p.len + 1) * sizeof *p.lines);
    p.nblocks = below(3);
    p.blocks = malloc((p.nblocks + 1) * sizeof *p.blocks);
    for (size_t i = 0; i < p.nblocks; i++) {
        p.blocks[i].start = below(2) ? below(p.len + 2) : rnd();
        p.blocks[i].end = below(2) ? below(p.len + 2) : rnd();
    }
    for (size_t ip = 0; ip < p.len; ip++) {
        unsigned code;
        do
            code = (unsigned)below(FVM_OP_COUNT);
        while (!pools_allow(code, &p));
        p.ops[ip].code = (uint16_t)code;
        const fvm_format_info *fi = fvm_op_operands(code);
        for (unsigned k = 0; k < fi->count; k++)
            fvm_operand_set(&p.ops[ip], fi->operand[k].field, random_operand(fi->operand[k].kind, &p));
        p.lines[ip] = ip && below(2) ? p.lines[ip - 1] : (below(2) ? (uint32_t)below(50) : (uint32_t)rnd());
    }
    p.nsubs = p.nnames ? below(4) : 0;
    p.subs = malloc((p.nsubs + 1) * sizeof *p.subs);
    for (size_t i = 0; i < p.nsubs; i++)
        p.subs[i] = (fvm_sub_entry){(uint16_t)below(p.nnames), (uint32_t)below(p.len + 1)};
    if (below(2)) {
        fvm_value s = random_string();
        p.source = fvm_str_from(s.as.s->data, s.as.s->len);
        fvm_value_drop(s);
    }
    char err[256];
    fvm_chunk *c = fvm_chunk_assemble(&p, err, sizeof err);
    cr_assert_not_null(c, "generated an invalid chunk: %s", err);
    return c;
}

Test(asm, random_chunks_round_trip)
{
    for (int i = 0; i < 3000; i++) {
        fvm_chunk *c = random_chunk(0);
        check_round_trip(c);
        fvm_chunk_free(c);
    }
}

Test(asm, every_op_round_trips)
{
    for (unsigned code = 0; code < FVM_OP_COUNT; code++) {
        fvm_builder *b = fvm_builder_new();
        fvm_add_constant(b, fvm_cstr("k"));
        fvm_add_name(b, "n", 1);
        fvm_add_block_range(b, 0, 1);
        fvm_builder *sb = fvm_builder_new();
        fvm_add_sub_chunk(b, fvm_build(sb));
        fvm_builder_free(sb);
        fvm_op op = {(uint16_t)code, 0, 0, 0, {0}};
        const fvm_format_info *fi = fvm_op_operands(code);
        for (unsigned k = 0; k < fi->count; k++) {
            unsigned kind = fi->operand[k].kind;
            bool pool = kind == FVM_K_CONST || kind == FVM_K_NAME || kind == FVM_K_SUB ||
                        kind == FVM_K_BLOCK || kind == FVM_K_TARGET;
            fvm_operand_set(&op, fi->operand[k].field, pool ? 0 : fvm_operand_max(kind) - k);
        }
        fvm_emit(b, op, 1);
        fvm_chunk *c = fvm_build(b);
        cr_assert_not_null(c, "%s: %s", fvm_op_name(code), fvm_builder_error(b));
        char *text = fvm_disassemble(c, 0);
        char want[64];
        snprintf(want, sizeof want, "    %s%s", fvm_op_name(code), fi->count ? " " : "\n");
        cr_assert(strstr(text, want), "%s", text);
        check_round_trip(c);
        fvm_free(text);
        fvm_chunk_free(c);
        fvm_builder_free(b);
    }
}

/* ------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------ */

static const struct {
    const char *text;
    const char *error;
} bad_inputs[] = {
    {"Foo 1", "t.fasm:1:1: unknown op 'Foo'"},
    {"  LoadInt", "t.fasm:1:10: missing integer for LoadInt"},
    {"SlotIncLtIntJumpBack 1 10", "t.fasm:1:26: missing jump target for SlotIncLtIntJumpBack"},
    {"LoadConst \"a\\qb\"", "t.fasm:1:13: bad escape '\\q' in string"},
    {"LoadConst \"a\\x4\"", "t.fasm:1:13: bad escape '\\x4\"': \\x takes two hex digits"},
    {"LoadConst \"abc", "t.fasm:1:11: unterminated string"},
    {"LoadConst \"abc\\\"", "t.fasm:1:11: unterminated string"},
    {"Jump nowhere", "t.fasm:1:6: unknown label 'nowhere'"},
    {"x: Nop\nx: Nop", "t.fasm:2:1: duplicate label 'x' (first defined on line 1)"},
    {"LoadConst @3", "t.fasm:1:11: constant index 3 out of range (the pool has 0)"},
    {".name a\nGetVar @1", "t.fasm:2:8: name index 1 out of range (the pool has 1)"},
    {"CmdSubst 0", "t.fasm:1:10: sub-chunk index 0 out of range (the pool has 0)"},
    {"MapBlock @2", "t.fasm:1:10: block range index 2 out of range (the pool has 0)"},
    {"MapBlock x", "t.fasm:1:10: expected a block range index, found 'x'"},
    {"Jump 3\nNop", "t.fasm:1:6: position 3 is past the end of the chunk (2 ops)"},
    {"Jump 2147483648", "t.fasm:1:6: position 2147483648 out of range (max 2147483647)"},
    {"Add 1", "t.fasm:1:5: unexpected '1' at end of line"},
    {"GetSlot 1 2", "t.fasm:1:11: unexpected '2' at end of line"},
    {".line 5 x", "t.fasm:1:9: unexpected 'x' at end of line"},
    {"GetSlot 65536", "t.fasm:1:9: slot 65536 out of range (0..65535)"},
    {"GetSlot -1", "t.fasm:1:9: slot -1 out of range (0..65535)"},
    {"GetSlot x", "t.fasm:1:9: expected a slot, found 'x'"},
    {"GetSlot 1.5", "t.fasm:1:9: expected a slot, found '1.5'"},
    {"PrintLn 256", "t.fasm:1:9: 8-bit number 256 out of range (0..255)"},
    {"LoadInt 9223372036854775808", "t.fasm:1:9: integer 9223372036854775808 out of range (64-bit signed)"},
    {"LoadInt 0x1ffffffffffffffff", "t.fasm:1:9: integer 0x1ffffffffffffffff out of range (64-bit signed)"},
    {"AccumSumLoop 0 1 2147483648", "t.fasm:1:18: limit 2147483648 out of range (32-bit signed)"},
    {"LoadInt 12ab", "t.fasm:1:9: malformed number '12ab'"},
    {"LoadFloat 1.2.3", "t.fasm:1:11: malformed number '1.2.3'"},
    {"LoadFloat pi", "t.fasm:1:11: expected a float, found 'pi'"},
    {"LoadFloat f64:12345678123456789", "t.fasm:1:11: malformed float 'f64:12345678123456789'"},
    {"LoadConst [1 2]", "t.fasm:1:14: expected ',' or ']', found '2]'"},
    {"LoadConst [1,", "t.fasm:1:14: expected a value, found end of line"},
    {"LoadConst {1: 2}", "t.fasm:1:12: expected a string key, found '1:'"},
    {"LoadConst {\"a\" 2}", "t.fasm:1:16: expected ':' after a hash key, found '2}'"},
    {"LoadConst {\"a\": 1, \"a\": 2}", "t.fasm:1:20: duplicate hash key \"a\""},
    {"LoadConst status(1", "t.fasm:1:19: expected ')', found 'end of line'"},
    {"LoadConst status(2147483648)", "t.fasm:1:18: status value 2147483648 out of range"},
    {"LoadConst nativefn(x)", "t.fasm:1:20: expected a number, found 'x)'"},
    {"LoadConst yes", "t.fasm:1:11: expected a value, found 'yes'"},
    {"LoadConst @x", "t.fasm:1:11: expected an index after '@', found 'x'"},
    {"LoadConst ) ", "t.fasm:1:11: expected a value, found ')'"},
    {"CmdSubst x\nx: Nop", "t.fasm:1:10: label 'x' is not a sub-chunk"},
    {".chunk s\n.end\nJump s", "t.fasm:3:6: label 's' names a sub-chunk, not a position"},
    {".bogus 1", "t.fasm:1:1: unknown directive '.bogus'"},
    {".end", "t.fasm:1:1: '.end' without '.chunk'"},
    {"Nop\n  .chunk\nNop", "t.fasm:2:3: '.chunk' without '.end'"},
    {".source x", "t.fasm:1:9: expected a string, found 'x'"},
    {".name 1", "t.fasm:1:7: expected a name, found '1'"},
    {".sub", "t.fasm:1:5: missing name for .sub"},
    {".sub f nowhere", "t.fasm:1:8: unknown label 'nowhere'"},
    {".block 1", "t.fasm:1:9: missing end for .block"},
    {".line -1", "t.fasm:1:7: expected a line number, found '-1'"},
    {".line 4294967296", "t.fasm:1:7: line 4294967296 out of range (32-bit unsigned)"},
    {"  \x01 Nop", "t.fasm:1:3: expected an op, a label or a directive, found '\\x01'"},
};

Test(asm, malformed_inputs)
{
    for (size_t i = 0; i < sizeof bad_inputs / sizeof bad_inputs[0]; i++) {
        char *err = assemble_errors(bad_inputs[i].text, strlen(bad_inputs[i].text));
        char want[256];
        snprintf(want, sizeof want, "%s\n", bad_inputs[i].error);
        cr_expect_str_eq(err, want, "input %zu: %s", i, bad_inputs[i].text);
        fvm_free(err);
    }
}

Test(asm, value_nesting_is_limited)
{
    char text[256] = "LoadConst ";
    for (int i = 0; i <= FVM_ASM_MAX_DEPTH; i++) /* depth 0 .. 64 */
        strcat(text, "[");
    for (int i = 0; i <= FVM_ASM_MAX_DEPTH; i++)
        strcat(text, "]");
    fvm_chunk *c = assemble(text);
    check_round_trip(c);
    fvm_chunk_free(c);
    memmove(text + 11, text + 10, strlen(text + 10) + 1);
    char *err = assemble_errors(text, strlen(text));
    cr_assert_str_eq(err, "t.fasm:1:76: value nested more than 64 deep\n");
    fvm_free(err);
}

Test(asm, nul_byte_outside_a_string)
{
    char *err = assemble_errors("Nop\0", 4);
    cr_assert_str_eq(err, "t.fasm:1:4: unexpected '\\x00' at end of line\n");
    fvm_free(err);
}

Test(asm, several_errors_in_one_run)
{
    char *err = assemble_errors("    Jump later\n"
                                "    Bogus\n"
                                "    LoadInt x\n"
                                "    Nop\n"
                                "    GetSlot 1 2\n"
                                "ok: Nop\n"
                                "ok: Nop\n",
                                strlen("    Jump later\n    Bogus\n    LoadInt x\n    Nop\n"
                                       "    GetSlot 1 2\nok: Nop\nok: Nop\n"));
    cr_assert_str_eq(err, "t.fasm:1:10: unknown label 'later'\n"
                          "t.fasm:2:5: unknown op 'Bogus'\n"
                          "t.fasm:3:13: expected an integer, found 'x'\n"
                          "t.fasm:5:15: unexpected '2' at end of line\n"
                          "t.fasm:7:1: duplicate label 'ok' (first defined on line 6)\n");
    fvm_free(err);
}

Test(asm, failed_lines_keep_positions)
{
    /* The bad op still takes position 1, so the chunk has 4 ops. */
    const char *text = "Jump end\nBogus\nNop\nend:\nJump 4\n";
    char *err = assemble_errors(text, strlen(text));
    cr_assert_str_eq(err, "t.fasm:2:1: unknown op 'Bogus'\n");
    fvm_free(err);
}

Test(asm, error_count_is_capped)
{
    char text[1024] = "";
    for (int i = 0; i < 30; i++)
        strcat(text, "Bogus\n");
    char *err = assemble_errors(text, strlen(text));
    size_t lines = 0;
    for (const char *p = err; *p; p++)
        lines += *p == '\n';
    cr_assert_eq(lines, FVM_ASM_MAX_ERRORS + 1);
    cr_assert(strstr(err, "t.fasm:20:1: unknown op 'Bogus'\nt.fasm:21:1: too many errors, stopping\n"),
              "%s", err);
    fvm_free(err);
}

Test(asm, chunk_nesting_is_limited)
{
    char text[2048] = "";
    for (int i = 0; i <= FVM_ASM_MAX_CHUNK_DEPTH; i++)
        strcat(text, ".chunk\n");
    char *err = assemble_errors(text, strlen(text));
    cr_assert_str_eq(err, "t.fasm:65:1: .chunk nested more than 64 deep\n");
    fvm_free(err);
}

Test(asm, full_pools)
{
    size_t cap = (FVM_MAX_POOL + 2) * 16, len = 0;
    char *text = malloc(cap);
    for (unsigned i = 0; i <= FVM_MAX_POOL; i++)
        len += (size_t)snprintf(text + len, cap - len, ".const %u\n", i);
    len += (size_t)snprintf(text + len, cap - len, "LoadConst \"new\"\nLoadConst 5\n");
    char *err = assemble_errors(text, len);
    cr_assert_str_eq(err, "t.fasm:65537:8: constant pool is full (65536 entries)\n"
                          "t.fasm:65538:11: constant pool is full (65536 entries)\n");
    fvm_free(err);
    len = 0;
    for (unsigned i = 0; i <= FVM_MAX_POOL; i++)
        len += (size_t)snprintf(text + len, cap - len, ".name n%u\n", i);
    err = assemble_errors(text, len);
    cr_assert_str_eq(err, "t.fasm:65537:7: name pool is full (65536 entries)\n");
    fvm_free(err);
    free(text);
}

Test(asm, errors_pointer_may_be_null)
{
    cr_assert_null(fvm_assemble("Bogus", 5, NULL, NULL));
    char *err;
    cr_assert_null(fvm_assemble("Bogus", 5, NULL, &err));
    cr_assert_str_eq(err, "<input>:1:1: unknown op 'Bogus'\n");
    fvm_free(err);
}

/* ------------------------------------------------------------------------
 * The fused-op expansion table
 * ------------------------------------------------------------------------ */

/* An expansion operand may come from a fused operand of the same kind;
 * LoadInt takes the loop limit. */
static bool kinds_fit(unsigned to, unsigned from)
{
    return to == from || (to == FVM_K_I64 && from == FVM_K_LIMIT);
}

Test(fused_table, every_fused_op_has_a_base_op_expansion)
{
    for (unsigned code = 0; code < FVM_OP_COUNT; code++) {
        size_t len;
        const fvm_unfused_op *seq = fvm_fused_expansion(code, &len);
        bool fused = fvm_op_flags(code) & FVM_OPF_FUSED;
        cr_assert_eq(seq != NULL, fused, "%s", fvm_op_name(code));
        cr_assert_leq(len, FVM_FUSED_MAX_LEN);
        const fvm_format_info *from = fvm_op_operands(code);
        for (size_t i = 0; i < len; i++) {
            const fvm_format_info *to = fvm_op_operands(seq[i].code);
            cr_assert_not(fvm_op_flags(seq[i].code) & FVM_OPF_FUSED);
            cr_assert_leq(to->count, 1);
            cr_assert_eq(to->count == 1, seq[i].arg >= 0 || seq[i].local >= 0);
            if (seq[i].arg >= 0) {
                cr_assert_lt((unsigned)seq[i].arg, from->count);
                cr_assert(kinds_fit(to->operand[0].kind, from->operand[seq[i].arg].kind),
                          "%s step %zu", fvm_op_name(code), i);
            }
            if (seq[i].local >= 0) {
                cr_assert_eq(to->operand[0].kind, FVM_K_TARGET);
                cr_assert_leq((size_t)seq[i].local, len);
            }
        }
    }
}

Test(fused_table, expand_instantiates_operands)
{
    fvm_op out[FVM_FUSED_MAX_LEN];
    fvm_op op = FVM_SLOT_INC_LT_INT_JUMP_BACK(4, -9, 77);
    size_t n = fvm_fused_expand(&op, 100, out);
    cr_assert_eq(n, 7);
    cr_assert_eq(out[0].code, FVM_OP_GET_SLOT);
    cr_assert_eq(out[0].a, 4);
    cr_assert_eq(out[4].code, FVM_OP_LOAD_INT);
    cr_assert_eq(out[4].u.i, -9);
    cr_assert_eq(out[6].code, FVM_OP_JUMP_IF_TRUE);
    cr_assert_eq(out[6].u.j.target, 77);
    op = FVM_PUSH_INT_RANGE_LOOP(2, 5, 10);
    n = fvm_fused_expand(&op, 100, out);
    cr_assert_eq(n, 10);
    cr_assert_eq(out[3].code, FVM_OP_JUMP_IF_FALSE);
    cr_assert_eq(out[3].u.j.target, 110);
    cr_assert_eq(out[5].code, FVM_OP_ARRAY_PUSH);
    cr_assert_eq(out[5].a, 2);
    cr_assert_eq(out[9].code, FVM_OP_JUMP);
    cr_assert_eq(out[9].u.j.target, 100);
    op = FVM_ADD();
    cr_assert_eq(fvm_fused_expand(&op, 0, out), 0);
}

/* ------------------------------------------------------------------------
 * Declared builtins
 * ------------------------------------------------------------------------ */

Test(asm, builtin_directive_declares_and_round_trips)
{
    fvm_chunk *c = assemble(".builtin 7 sqrt\n.builtin 2 \"to str\"\nLoadInt 4\nCallBuiltin 7 1\n");
    cr_assert_eq(fvm_chunk_builtin_count(c), 2);
    uint16_t id;
    cr_assert_str_eq(fvm_chunk_builtin(c, 0, &id), "to str"); /* sorted by id */
    cr_assert_eq(id, 2);
    cr_assert_str_eq(fvm_chunk_builtin(c, 1, &id), "sqrt");
    cr_assert_eq(id, 7);
    check_round_trip(c);
    char *text = fvm_disassemble(c, 0);
    cr_assert(strstr(text, ".builtin 7 sqrt\n") != NULL, "%s", text);
    cr_assert(strstr(text, "CallBuiltin sqrt 1\n") != NULL, "%s", text); /* by its name */
    fvm_free(text);
    fvm_chunk_free(c);
}

/* CallBuiltin's id may be written as a declared name; a name that is not
 * an identifier stays a number in the disassembly. */
Test(asm, callbuiltin_by_declared_name)
{
    fvm_chunk *c = assemble(".builtin 7 sqrt\n.builtin 9 \"a b\"\nCallBuiltin sqrt 1\nCallBuiltin 9 0\n");
    cr_assert_eq(op_at(c, 0).a, 7);
    cr_assert_eq(op_at(c, 1).a, 9);
    char *text = fvm_disassemble(c, 0);
    cr_assert(strstr(text, "CallBuiltin 9 0\n") != NULL, "%s", text);
    fvm_free(text);
    check_round_trip(c);
    fvm_chunk_free(c);
    char *err = assemble_errors("CallBuiltin sqrt 1\n.builtin 7 sqrt\n", 35);
    cr_assert_str_eq(err, "t.fasm:1:13: unknown builtin 'sqrt' (declare it first with .builtin)\n");
    fvm_free(err);
}

Test(asm, builtin_directive_errors)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {".builtin 7 a\n.builtin 7 b\n", "t.fasm:2:10: builtin 7 is declared twice\n"},
        {".builtin 70000 a\n", "t.fasm:1:10: builtin id 70000 out of range (16-bit unsigned)\n"},
        {".builtin 1 \"\"\n", "t.fasm:1:12: a builtin name cannot be empty\n"},
        {".builtin x\n", "t.fasm:1:10: expected a builtin id, found 'x'\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *err = assemble_errors(cases[i].text, strlen(cases[i].text));
        cr_assert_str_eq(err, cases[i].msg);
        fvm_free(err);
    }
}
