/* The x86-64 encoder, checked against an independent disassembler
 * (capstone), and generated code run from W^X code memory.
 *
 * Every encoding form is emitted with every register it accepts in each
 * operand position and, for memory forms, with every base (RSP, RBP, R12,
 * R13 included), no index or every index with every scale, RIP-relative
 * labels, and displacements of 0, 8 and 32 bits at the edges. The expected
 * text is written from the intended instruction; capstone's display
 * conventions for numbers are reproduced in imm_text and friends. */
#include <capstone/capstone.h>
#include <criterion/criterion.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jit/mcode.h"
#include "jit/x64_emit.h"
#include "value.h"

/* ------------------------------------------------------------------------
 * Expected text
 * ------------------------------------------------------------------------ */

static const char *const r32_names[16] = {
    "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
    "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d",
};
static const char *const r8_names[16] = {
    "al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil",
    "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b",
};
static const char *const cc_names[16] = {
    "o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g",
};

#define GPR(i) ((fvm_x64_reg)(i))
#define XMM(i) ((fvm_x64_reg)(FVM_X64_XMM0 + (i)))

static const char *r64(unsigned i) { return fvm_x64_reg_name(GPR(i)); }
static const char *xr(unsigned i) { return fvm_x64_reg_name(XMM(i)); }

/* Capstone prints numbers up to 9 in decimal, larger ones in hex. */
static const char *unum(char *out, uint64_t v)
{
    if (v > 9)
        sprintf(out, "0x%" PRIx64, v);
    else
        sprintf(out, "%" PRIu64, v);
    return out;
}

static const char *snum(char *out, int64_t v)
{
    if (v >= 0)
        return unum(out, (uint64_t)v);
    out[0] = '-';
    unum(out + 1, 0 - (uint64_t)v);
    return out;
}

/* An immediate as capstone shows it: signed, or as the unsigned value of
 * the operand's width (logical ops, and 32-bit ops with a 32-bit imm). */
enum { SIGNED = 0, UNSIGNED32 = 32, UNSIGNED64 = 64 };
static const char *imm_text(char *out, int64_t v, int style)
{
    if (style == UNSIGNED32)
        return unum(out, (uint32_t)v);
    if (style == UNSIGNED64)
        return unum(out, (uint64_t)v);
    return snum(out, v);
}

/* "qword ptr [base + index*scale + disp]"; size "" for lea. */
static const char *mem_text(char *out, const char *size, fvm_x64_mem m)
{
    char n[32];
    int k = sprintf(out, "%s[%s", size, m.base == FVM_X64_RIP ? "rip" : r64(m.base));
    if (m.index != FVM_X64_NOREG) {
        k += sprintf(out + k, " + %s", r64(m.index));
        if (m.scale > 1)
            k += sprintf(out + k, "*%u", m.scale);
    }
    if (m.disp > 0)
        k += sprintf(out + k, " + %s", unum(n, (uint64_t)m.disp));
    else if (m.disp < 0)
        k += sprintf(out + k, " - %s", unum(n, 0 - (uint64_t)(int64_t)m.disp));
    sprintf(out + k, "]");
    return out;
}

/* ------------------------------------------------------------------------
 * Checking one instruction
 * ------------------------------------------------------------------------ */

static csh cs;
#define BASE_ADDR 0x1000

static void cs_setup(void)
{
    cr_assert_eq(cs_open(CS_ARCH_X86, CS_MODE_64, &cs), CS_ERR_OK);
}

static void cs_teardown(void)
{
    cs_close(&cs);
}

TestSuite(x64_emit, .init = cs_setup, .fini = cs_teardown);

static void hex(char *out, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n && i < 20; i++)
        out += sprintf(out, "%02x ", p[i]);
    *out = 0;
}

/* A fresh buffer with label 0 created; instructions that use a RIP-relative
 * operand name label 0, which expect() binds right after them, so the
 * displayed displacement is exactly the operand's disp. */
static void start(fvm_x64_buf *b)
{
    fvm_x64_buf_init(b, 0);
    cr_assert_eq(fvm_x64_label_new(b), 0);
}

/* The buffer holds exactly one instruction, which disassembles to the
 * text given; the buffer is freed. Mismatches only are reported, so the
 * many thousands of matches cost no test-runner traffic. */
__attribute__((format(printf, 2, 3))) static void expect(fvm_x64_buf *b, const char *fmt, ...)
{
    char want[200], got[200], bytes[80];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(want, sizeof want, fmt, ap);
    va_end(ap);
    fvm_x64_label_bind(b, 0);
    if (!fvm_x64_finish(b))
        cr_assert_fail("encoder failed on: %s", want);
    hex(bytes, b->code, b->len);
    cs_insn *insn;
    size_t n = cs_disasm(cs, b->code, b->len, BASE_ADDR, 0, &insn);
    if (n != 1 || insn[0].size != b->len)
        cr_assert_fail("%s: bytes %sdo not decode as one instruction", want, bytes);
    snprintf(got, sizeof got, "%s%s%s", insn[0].mnemonic, insn[0].op_str[0] ? " " : "",
             insn[0].op_str);
    cs_free(insn, n);
    if (strcmp(got, want) != 0)
        cr_assert_fail("want \"%s\", got \"%s\" from %s", want, got, bytes);
    fvm_x64_buf_free(b);
}

/* ------------------------------------------------------------------------
 * Memory operands
 * ------------------------------------------------------------------------ */

static fvm_x64_mem mems[3100];
static size_t nmems;

/* Every base with displacements at the disp0/disp8/disp32 edges; every
 * base with every index and scale; RIP-relative. */
static void build_mems(void)
{
    static const int32_t disps[] = {0,   8,    -8,         127,       -128,
                                    128, -129, 0x12345678, INT32_MIN, INT32_MAX};
    static const int32_t idisps[] = {0, -8, 0x12345};
    static const unsigned scales[] = {1, 2, 4, 8};
    nmems = 0;
    for (unsigned base = 0; base < 16; base++) {
        for (size_t d = 0; d < sizeof disps / sizeof *disps; d++)
            mems[nmems++] = fvm_x64_mem_base(GPR(base), disps[d]);
        for (unsigned index = 0; index < 16; index++) {
            if (index == FVM_X64_RSP)
                continue;
            for (size_t s = 0; s < 4; s++)
                for (size_t d = 0; d < sizeof idisps / sizeof *idisps; d++)
                    mems[nmems++] = fvm_x64_mem_index(GPR(base), GPR(index), scales[s], idisps[d]);
        }
    }
    static const int32_t rip_disps[] = {0, 8, -100, 0x1000};
    for (size_t d = 0; d < 4; d++)
        mems[nmems++] = fvm_x64_mem_label(0, rip_disps[d]);
    cr_assert_leq(nmems, sizeof mems / sizeof *mems);
}

/* ------------------------------------------------------------------------
 * Moves
 * ------------------------------------------------------------------------ */

Test(x64_emit, mov_rr)
{
    for (unsigned d = 0; d < 16; d++)
        for (unsigned s = 0; s < 16; s++) {
            fvm_x64_buf b;
            start(&b);
            fvm_x64_mov_rr(&b, GPR(d), GPR(s));
            expect(&b, "mov %s, %s", r64(d), r64(s));
        }
}

/* The shortest form by value: mov r32 (zero-extending), mov r64 with a
 * sign-extended imm32, movabs. */
Test(x64_emit, mov_ri_picks_form_by_value)
{
    static const struct {
        int64_t v;
        size_t len_low; /* length for RAX..RDI; one more byte for R8..R15 */
    } cases[] = {
        {0, 5}, {42, 5}, {0x7fffffff, 5}, {0x80000000, 5}, {0xffffffff, 5},
        {-1, 7}, {-0x80000000ll, 7}, {0x100000000ll, 10}, {-0x80000001ll, 10},
        {INT64_MAX, 10}, {INT64_MIN, 10},
    };
    char n[32];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (unsigned r = 0; r < 16; r++) {
            fvm_x64_buf b;
            start(&b);
            fvm_x64_mov_ri(&b, GPR(r), cases[i].v);
            size_t len = cases[i].len_low + (r >= 8 && cases[i].len_low == 5);
            cr_assert_eq(b.len, len, "mov %s, %" PRId64 ": %zu bytes", r64(r), cases[i].v, b.len);
            if (cases[i].len_low == 5)
                expect(&b, "mov %s, %s", r32_names[r], unum(n, (uint64_t)cases[i].v));
            else if (cases[i].len_low == 7)
                expect(&b, "mov %s, %s", r64(r), snum(n, cases[i].v));
            else
                expect(&b, "movabs %s, %s", r64(r), unum(n, (uint64_t)cases[i].v));
        }
}

Test(x64_emit, mov_rm_every_register_and_address)
{
    build_mems();
    char mt[96];
    for (size_t i = 0; i < nmems; i++)
        for (unsigned r = 0; r < 16; r++) {
            fvm_x64_buf b;
            start(&b);
            fvm_x64_mov_rm(&b, GPR(r), mems[i]);
            expect(&b, "mov %s, %s", r64(r), mem_text(mt, "qword ptr ", mems[i]));
        }
}

/* The other memory forms: every address, the register operand rotating
 * through all sixteen. */
Test(x64_emit, memory_forms)
{
    build_mems();
    char mt[96];
    for (size_t i = 0; i < nmems; i++) {
        fvm_x64_mem m = mems[i];
        unsigned r = (unsigned)(i % 16), s = (unsigned)((i / 16) % 16);
        fvm_x64_buf b;
        start(&b);
        fvm_x64_mov_mr(&b, m, GPR(r));
        expect(&b, "mov %s, %s", mem_text(mt, "qword ptr ", m), r64(r));
        start(&b);
        fvm_x64_mov32_rm(&b, GPR(r), m);
        expect(&b, "mov %s, %s", r32_names[r], mem_text(mt, "dword ptr ", m));
        start(&b);
        fvm_x64_mov32_mr(&b, m, GPR(s));
        expect(&b, "mov %s, %s", mem_text(mt, "dword ptr ", m), r32_names[s]);
        start(&b);
        fvm_x64_movzx8_rm(&b, GPR(s), m);
        expect(&b, "movzx %s, %s", r32_names[s], mem_text(mt, "byte ptr ", m));
        start(&b);
        fvm_x64_lea(&b, GPR(r), m);
        expect(&b, "lea %s, %s", r64(r), mem_text(mt, "", m));
        start(&b);
        fvm_x64_test_mr(&b, m, GPR(s));
        expect(&b, "test %s, %s", mem_text(mt, "qword ptr ", m), r64(s));
    }
}

/* Immediates after a memory operand (the RIP-relative cases check that the
 * displacement counts the immediate bytes). */
Test(x64_emit, memory_immediate_forms)
{
    build_mems();
    static const int32_t imms[] = {0,   5,    -1,         127,       -128,
                                   128, -129, 0x12345678, INT32_MIN, INT32_MAX};
    char mt[96], n[32];
    for (size_t i = 0; i < nmems; i++)
        for (size_t k = 0; k < sizeof imms / sizeof *imms; k += 1 + i % 3) {
            fvm_x64_mem m = mems[i];
            int32_t v = imms[k];
            fvm_x64_buf b;
            start(&b);
            fvm_x64_mov_mi(&b, m, v);
            expect(&b, "mov %s, %s", mem_text(mt, "qword ptr ", m), snum(n, v));
            start(&b);
            fvm_x64_mov32_mi(&b, m, v);
            expect(&b, "mov %s, %s", mem_text(mt, "dword ptr ", m), imm_text(n, v, UNSIGNED32));
            start(&b);
            fvm_x64_cmp32_mi(&b, m, v);
            bool imm8 = v >= -128 && v <= 127;
            expect(&b, "cmp %s, %s", mem_text(mt, "dword ptr ", m),
                   imm_text(n, v, imm8 ? SIGNED : UNSIGNED32));
        }
}

Test(x64_emit, movzx8_rr_and_setcc_use_byte_registers)
{
    for (unsigned d = 0; d < 16; d++)
        for (unsigned s = 0; s < 16; s++) {
            fvm_x64_buf b;
            start(&b);
            fvm_x64_movzx8_rr(&b, GPR(d), GPR(s));
            expect(&b, "movzx %s, %s", r32_names[d], r8_names[s]);
        }
    for (unsigned cc = 0; cc < 16; cc++)
        for (unsigned r = 0; r < 16; r++) {
            fvm_x64_buf b;
            start(&b);
            fvm_x64_setcc(&b, (fvm_x64_cc)cc, GPR(r));
            expect(&b, "set%s %s", cc_names[cc], r8_names[r]);
        }
}

Test(x64_emit, push_pop)
{
    for (unsigned r = 0; r < 16; r++) {
        fvm_x64_buf b;
        start(&b);
        fvm_x64_push(&b, GPR(r));
        expect(&b, "push %s", r64(r));
        start(&b);
        fvm_x64_pop(&b, GPR(r));
        expect(&b, "pop %s", r64(r));
    }
}

/* ------------------------------------------------------------------------
 * Integer arithmetic
 * ------------------------------------------------------------------------ */

static const struct {
    fvm_x64_alu op;
    const char *name;
    int imm_style; /* how capstone shows a negative immediate */
} alus[] = {
    {FVM_X64_ADD, "add", SIGNED}, {FVM_X64_OR, "or", UNSIGNED64},
    {FVM_X64_AND, "and", UNSIGNED64}, {FVM_X64_SUB, "sub", SIGNED},
    {FVM_X64_XOR, "xor", UNSIGNED64}, {FVM_X64_CMP, "cmp", SIGNED},
};
#define NALUS (sizeof alus / sizeof *alus)

Test(x64_emit, alu_rr_ri)
{
    static const int32_t imms[] = {0, 1, 9, 10, -1, -9, -10, 127, -128, 128, -129,
                                   0x12345678, INT32_MIN, INT32_MAX};
    char n[32];
    for (size_t o = 0; o < NALUS; o++)
        for (unsigned d = 0; d < 16; d++) {
            for (unsigned s = 0; s < 16; s++) {
                fvm_x64_buf b;
                start(&b);
                fvm_x64_alu_rr(&b, alus[o].op, GPR(d), GPR(s));
                expect(&b, "%s %s, %s", alus[o].name, r64(d), r64(s));
            }
            for (size_t k = 0; k < sizeof imms / sizeof *imms; k++) {
                fvm_x64_buf b;
                start(&b);
                fvm_x64_alu_ri(&b, alus[o].op, GPR(d), imms[k]);
                bool imm8 = imms[k] >= -128 && imms[k] <= 127;
                cr_assert_eq(b.len, imm8 ? 4u : 7u);
                expect(&b, "%s %s, %s", alus[o].name, r64(d),
                       imm_text(n, imms[k], alus[o].imm_style));
            }
        }
}

Test(x64_emit, alu_rm)
{
    build_mems();
    char mt[96];
    for (size_t o = 0; o < NALUS; o++)
        for (size_t i = 0; i < nmems; i++) {
            unsigned r = (unsigned)((i + o) % 16);
            fvm_x64_buf b;
            start(&b);
            fvm_x64_alu_rm(&b, alus[o].op, GPR(r), mems[i]);
            expect(&b, "%s %s, %s", alus[o].name, r64(r), mem_text(mt, "qword ptr ", mems[i]));
        }
}

Test(x64_emit, test_imul_unary)
{
    static const int32_t imms[] = {0, 7, -1, -10, 127, -128, 128, -129, INT32_MIN, INT32_MAX};
    char n[32];
    for (unsigned d = 0; d < 16; d++) {
        for (unsigned s = 0; s < 16; s++) {
            fvm_x64_buf b;
            start(&b);
            fvm_x64_test_rr(&b, GPR(d), GPR(s));
            expect(&b, "test %s, %s", r64(d), r64(s));
            start(&b);
            fvm_x64_imul_rr(&b, GPR(d), GPR(s));
            expect(&b, "imul %s, %s", r64(d), r64(s));
            start(&b);
            fvm_x64_cmovcc(&b, (fvm_x64_cc)((d + s) % 16), GPR(d), GPR(s));
            expect(&b, "cmov%s %s, %s", cc_names[(d + s) % 16], r64(d), r64(s));
            for (size_t k = 0; k < sizeof imms / sizeof *imms; k++) {
                start(&b);
                fvm_x64_imul_rri(&b, GPR(d), GPR(s), imms[k]);
                expect(&b, "imul %s, %s, %s", r64(d), r64(s), snum(n, imms[k]));
            }
        }
        for (size_t k = 0; k < sizeof imms / sizeof *imms; k++) {
            fvm_x64_buf b;
            start(&b);
            fvm_x64_test_ri(&b, GPR(d), imms[k]);
            expect(&b, "test %s, %s", r64(d), snum(n, imms[k]));
        }
        fvm_x64_buf b;
        start(&b);
        fvm_x64_neg(&b, GPR(d));
        expect(&b, "neg %s", r64(d));
        start(&b);
        fvm_x64_not(&b, GPR(d));
        expect(&b, "not %s", r64(d));
        start(&b);
        fvm_x64_idiv(&b, GPR(d));
        expect(&b, "idiv %s", r64(d));
    }
    fvm_x64_buf b;
    start(&b);
    fvm_x64_cqo(&b);
    expect(&b, "cqo");
}

Test(x64_emit, cmovcc_every_condition)
{
    for (unsigned cc = 0; cc < 16; cc++)
        for (unsigned r = 0; r < 16; r++) {
            fvm_x64_buf b;
            start(&b);
            fvm_x64_cmovcc(&b, (fvm_x64_cc)cc, GPR(r), GPR(15 - r));
            expect(&b, "cmov%s %s, %s", cc_names[cc], r64(r), r64(15 - r));
        }
}

Test(x64_emit, shifts)
{
    static const struct {
        fvm_x64_shift op;
        const char *name;
    } shifts[] = {{FVM_X64_SHL, "shl"}, {FVM_X64_SHR, "shr"}, {FVM_X64_SAR, "sar"}};
    static const uint8_t counts[] = {0, 1, 9, 10, 63};
    char n[32];
    for (size_t o = 0; o < 3; o++)
        for (unsigned r = 0; r < 16; r++) {
            fvm_x64_buf b;
            start(&b);
            fvm_x64_shift_cl(&b, shifts[o].op, GPR(r));
            expect(&b, "%s %s, cl", shifts[o].name, r64(r));
            for (size_t k = 0; k < sizeof counts; k++) {
                start(&b);
                fvm_x64_shift_ri(&b, shifts[o].op, GPR(r), counts[k]);
                expect(&b, "%s %s, %s", shifts[o].name, r64(r), unum(n, counts[k]));
            }
        }
}

/* ------------------------------------------------------------------------
 * Control flow
 * ------------------------------------------------------------------------ */

Test(x64_emit, indirect_jump_call_ret)
{
    for (unsigned r = 0; r < 16; r++) {
        fvm_x64_buf b;
        start(&b);
        fvm_x64_jmp_r(&b, GPR(r));
        expect(&b, "jmp %s", r64(r));
        start(&b);
        fvm_x64_call_r(&b, GPR(r));
        expect(&b, "call %s", r64(r));
    }
    fvm_x64_buf b;
    start(&b);
    fvm_x64_ret(&b);
    expect(&b, "ret");
}

/* Disassemble the whole buffer and compare instruction by instruction. */
static void expect_listing(fvm_x64_buf *b, const char *const *want, size_t nwant)
{
    cr_assert(fvm_x64_finish(b));
    cs_insn *insn;
    size_t n = cs_disasm(cs, b->code, b->len, BASE_ADDR, 0, &insn);
    cr_assert_eq(n, nwant);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        char got[200];
        snprintf(got, sizeof got, "%s%s%s", insn[i].mnemonic, insn[i].op_str[0] ? " " : "",
                 insn[i].op_str);
        cr_assert_str_eq(got, want[i], "instruction %zu", i);
        total += insn[i].size;
    }
    cs_free(insn, n);
    cr_assert_eq(total, b->len);
}

/* NOP padding: from every misalignment, the fewest NOPs (one per 9 bytes)
 * reach the boundary, and each decodes as a NOP. */
Test(x64_emit, nop_padding)
{
    for (unsigned used = 0; used < 32; used++) {
        fvm_x64_buf b;
        fvm_x64_buf_init(&b, 0);
        for (unsigned i = 0; i < used; i++)
            fvm_x64_ret(&b);
        fvm_x64_align_nop(&b, 32);
        cr_assert(fvm_x64_finish(&b));
        cr_assert_eq(b.len % 32, 0, "from %u", used);
        size_t pad = b.len - used;
        cs_insn *insn;
        size_t n = cs_disasm(cs, b.code + used, pad, BASE_ADDR, 0, &insn);
        cr_assert_eq(n, (pad + 8) / 9, "from %u: %zu instructions for %zu bytes", used, n, pad);
        size_t total = 0;
        for (size_t i = 0; i < n; i++) {
            cr_assert_str_eq(insn[i].mnemonic, "nop");
            total += insn[i].size;
        }
        cr_assert_eq(total, pad);
        if (n)
            cs_free(insn, n);
        fvm_x64_buf_free(&b);
    }
}

/* Backward and forward jumps in both sizes, for every condition. Offsets:
 * jcc8 = 2 bytes, jcc = 6, jmp8 = 2, jmp = 5. */
Test(x64_emit, jumps_to_labels)
{
    for (unsigned cc = 0; cc < 16; cc++) {
        fvm_x64_buf b;
        fvm_x64_buf_init(&b, 0);
        fvm_x64_label top = fvm_x64_label_new(&b), end = fvm_x64_label_new(&b);
        fvm_x64_label_bind(&b, top);              /* 0x1000 */
        fvm_x64_jcc(&b, (fvm_x64_cc)cc, end);     /* 0x1000, 6 bytes */
        fvm_x64_jcc8(&b, (fvm_x64_cc)cc, top);    /* 0x1006 */
        fvm_x64_jcc8(&b, (fvm_x64_cc)cc, end);    /* 0x1008 */
        fvm_x64_jcc(&b, (fvm_x64_cc)cc, top);     /* 0x100a */
        fvm_x64_jmp(&b, end);                     /* 0x1010 */
        fvm_x64_jmp8(&b, top);                    /* 0x1015 */
        fvm_x64_jmp8(&b, end);                    /* 0x1017 */
        fvm_x64_jmp(&b, top);                     /* 0x1019 */
        fvm_x64_label_bind(&b, end);              /* 0x101e */
        fvm_x64_ret(&b);
        char w[8][32];
        const char *want[9];
        const char *targets[8] = {"0x101e", "0x1000", "0x101e", "0x1000",
                                  "0x101e", "0x1000", "0x101e", "0x1000"};
        for (int i = 0; i < 8; i++) {
            snprintf(w[i], sizeof w[i], "j%s %s", i < 4 ? cc_names[cc] : "mp", targets[i]);
            want[i] = w[i];
        }
        want[8] = "ret";
        expect_listing(&b, want, 9);
        cr_assert_eq(fvm_x64_label_offset(&b, end), 0x1e);
        fvm_x64_buf_free(&b);
    }
}

Test(x64_emit, rel8_reaches_exactly_its_range)
{
    /* A rel8 jump reaches 127 bytes past its end; 128 fails. */
    for (int extra = 0; extra < 2; extra++) {
        fvm_x64_buf b;
        fvm_x64_buf_init(&b, 0);
        fvm_x64_label l = fvm_x64_label_new(&b);
        fvm_x64_jmp8(&b, l);
        for (int i = 0; i < 127 + extra; i++)
            fvm_x64_ret(&b);
        fvm_x64_label_bind(&b, l);
        cr_assert_eq(fvm_x64_finish(&b), extra == 0);
        fvm_x64_buf_free(&b);
    }
    /* Backward: -128 from the end of the jump is the limit. */
    for (int extra = 0; extra < 2; extra++) {
        fvm_x64_buf b;
        fvm_x64_buf_init(&b, 0);
        fvm_x64_label l = fvm_x64_label_new(&b);
        fvm_x64_label_bind(&b, l);
        for (int i = 0; i < 126 + extra; i++)
            fvm_x64_ret(&b);
        fvm_x64_jcc8(&b, FVM_X64_CC_E, l);
        cr_assert_eq(fvm_x64_finish(&b), extra == 0);
        fvm_x64_buf_free(&b);
    }
}

Test(x64_emit, call_abs_records_relocations)
{
    fvm_x64_buf b;
    fvm_x64_buf_init(&b, 0);
    fvm_x64_push(&b, FVM_X64_RBX);
    fvm_x64_call_abs(&b, 7, 0x1122334455667788ull);
    fvm_x64_mov_ri_abs(&b, FVM_X64_R11, 9, 0x0123456789abcdefull);
    fvm_x64_pop(&b, FVM_X64_RBX);
    fvm_x64_ret(&b);
    const char *want[] = {
        "push rbx", "movabs rax, 0x1122334455667788", "call rax",
        "movabs r11, 0x123456789abcdef", "pop rbx", "ret",
    };
    expect_listing(&b, want, 6);
    cr_assert_eq(b.nrelocs, 2);
    cr_assert_eq(b.relocs[0].helper, 7);
    cr_assert_eq(b.relocs[0].offset, 3); /* push rbx (1), REX.W B8 (2) */
    cr_assert_eq(b.relocs[1].helper, 9);
    cr_assert_eq(b.relocs[1].offset, 1 + 10 + 2 + 2);
    uint64_t v;
    memcpy(&v, b.code + b.relocs[0].offset, 8);
    cr_assert_eq(v, 0x1122334455667788ull);
    cr_assert(fvm_x64_patch_imm64(b.code, b.len, b.relocs[1].offset, 0xfedcba9876543210ull));
    memcpy(&v, b.code + b.relocs[1].offset, 8);
    cr_assert_eq(v, 0xfedcba9876543210ull);
    cr_assert_eq(b.code[b.relocs[1].offset + 8], 0x5b); /* pop rbx untouched */
    /* An offset whose 8 bytes would leave the code is refused. */
    cr_assert_not(fvm_x64_patch_imm64(b.code, b.len, (uint32_t)b.len - 7, 0));
    cr_assert_not(fvm_x64_patch_imm64(b.code, b.len, UINT32_MAX, 0));
    cr_assert_not(fvm_x64_patch_imm64(b.code, 7, 0, 0));
    cr_assert(fvm_x64_patch_imm64(b.code, b.len, (uint32_t)b.len - 8, 0xc3c3c3c3c3c3c3c3ull));
    fvm_x64_buf_free(&b);
}

/* ------------------------------------------------------------------------
 * Scalar double
 * ------------------------------------------------------------------------ */

static const struct {
    fvm_x64_sse op;
    const char *name;
    const char *size; /* memory operand size */
} sses[] = {
    {FVM_X64_MOVSD, "movsd", "qword ptr "},   {FVM_X64_SQRTSD, "sqrtsd", "qword ptr "},
    {FVM_X64_ADDSD, "addsd", "qword ptr "},   {FVM_X64_MULSD, "mulsd", "qword ptr "},
    {FVM_X64_SUBSD, "subsd", "qword ptr "},   {FVM_X64_DIVSD, "divsd", "qword ptr "},
    /* comisd reads 8 bytes; capstone 4 labels the operand xmmword. */
    {FVM_X64_UCOMISD, "ucomisd", "qword ptr "}, {FVM_X64_COMISD, "comisd", "xmmword ptr "},
    {FVM_X64_ANDPD, "andpd", "xmmword ptr "}, {FVM_X64_XORPD, "xorpd", "xmmword ptr "},
    {FVM_X64_MOVAPS, "movaps", "xmmword ptr "},
};
#define NSSES (sizeof sses / sizeof *sses)

Test(x64_emit, sse_rr_rm)
{
    build_mems();
    char mt[96];
    for (size_t o = 0; o < NSSES; o++) {
        for (unsigned d = 0; d < 16; d++)
            for (unsigned s = 0; s < 16; s++) {
                fvm_x64_buf b;
                start(&b);
                fvm_x64_sse_rr(&b, sses[o].op, XMM(d), XMM(s));
                expect(&b, "%s %s, %s", sses[o].name, xr(d), xr(s));
            }
        for (size_t i = 0; i < nmems; i++) {
            unsigned x = (unsigned)((i + o) % 16);
            fvm_x64_buf b;
            start(&b);
            fvm_x64_sse_rm(&b, sses[o].op, XMM(x), mems[i]);
            expect(&b, "%s %s, %s", sses[o].name, xr(x), mem_text(mt, sses[o].size, mems[i]));
        }
    }
    for (size_t i = 0; i < nmems; i++) {
        fvm_x64_buf b;
        start(&b);
        fvm_x64_movsd_mr(&b, mems[i], XMM(i % 16));
        expect(&b, "movsd %s, %s", mem_text(mt, "qword ptr ", mems[i]), xr(i % 16));
    }
}

Test(x64_emit, gpr_xmm_transfers)
{
    for (unsigned x = 0; x < 16; x++)
        for (unsigned r = 0; r < 16; r++) {
            fvm_x64_buf b;
            start(&b);
            fvm_x64_movq_xr(&b, XMM(x), GPR(r));
            expect(&b, "movq %s, %s", xr(x), r64(r));
            start(&b);
            fvm_x64_movq_rx(&b, GPR(r), XMM(x));
            expect(&b, "movq %s, %s", r64(r), xr(x));
            start(&b);
            fvm_x64_cvtsi2sd(&b, XMM(x), GPR(r));
            expect(&b, "cvtsi2sd %s, %s", xr(x), r64(r));
            start(&b);
            fvm_x64_cvttsd2si(&b, GPR(r), XMM(x));
            expect(&b, "cvttsd2si %s, %s", r64(r), xr(x));
        }
}

Test(x64_emit, roundsd)
{
    static const fvm_x64_round modes[] = {FVM_X64_ROUND_NEAREST, FVM_X64_ROUND_FLOOR,
                                          FVM_X64_ROUND_CEIL, FVM_X64_ROUND_TRUNC};
    char n[32];
    for (unsigned d = 0; d < 16; d++)
        for (unsigned s = 0; s < 16; s++) {
            fvm_x64_buf b;
            start(&b);
            fvm_x64_roundsd(&b, XMM(d), XMM(s), modes[(d + s) % 4]);
            expect(&b, "roundsd %s, %s, %s", xr(d), xr(s), unum(n, modes[(d + s) % 4]));
        }
}

/* ------------------------------------------------------------------------
 * Errors set the flag instead of emitting something else
 * ------------------------------------------------------------------------ */

Test(x64_emit, bad_operands_fail)
{
    fvm_x64_buf b;
#define EXPECT_FAILS(CALL)                                                                          \
    do {                                                                                            \
        fvm_x64_buf_init(&b, 0);                                                                    \
        CALL;                                                                                       \
        cr_assert(b.failed, "%s", #CALL);                                                           \
        cr_assert_not(fvm_x64_finish(&b));                                                          \
        fvm_x64_buf_free(&b);                                                                       \
    } while (0)
    EXPECT_FAILS(fvm_x64_mov_rr(&b, FVM_X64_XMM0, FVM_X64_RAX));
    EXPECT_FAILS(fvm_x64_mov_rr(&b, FVM_X64_RAX, FVM_X64_NOREG));
    EXPECT_FAILS(fvm_x64_sse_rr(&b, FVM_X64_ADDSD, FVM_X64_XMM0, FVM_X64_RAX));
    EXPECT_FAILS(fvm_x64_movq_xr(&b, FVM_X64_RAX, FVM_X64_RAX));
    EXPECT_FAILS(fvm_x64_mov_rm(&b, FVM_X64_RAX, fvm_x64_mem_index(FVM_X64_RAX, FVM_X64_RSP, 1, 0)));
    EXPECT_FAILS(fvm_x64_mov_rm(&b, FVM_X64_RAX, fvm_x64_mem_index(FVM_X64_RAX, FVM_X64_RBX, 3, 0)));
    EXPECT_FAILS(fvm_x64_mov_rm(&b, FVM_X64_RAX, fvm_x64_mem_base(FVM_X64_XMM1, 0)));
    EXPECT_FAILS(fvm_x64_mov_rm(&b, FVM_X64_RAX, fvm_x64_mem_base(FVM_X64_NOREG, 0)));
    EXPECT_FAILS(fvm_x64_setcc(&b, (fvm_x64_cc)16, FVM_X64_RAX));
    EXPECT_FAILS(fvm_x64_align(&b, 3));
    EXPECT_FAILS(fvm_x64_label_bind(&b, 5));
    EXPECT_FAILS({
        fvm_x64_label l = fvm_x64_label_new(&b);
        fvm_x64_label_bind(&b, l);
        fvm_x64_label_bind(&b, l);
    });
#undef EXPECT_FAILS
    /* A jump to a label never bound fails at finish. */
    fvm_x64_buf_init(&b, 0);
    fvm_x64_jmp(&b, fvm_x64_label_new(&b));
    cr_assert_not(b.failed);
    cr_assert_not(fvm_x64_finish(&b));
    fvm_x64_buf_free(&b);
    /* So does a RIP-relative operand naming a label that does not exist. */
    fvm_x64_buf_init(&b, 0);
    fvm_x64_lea(&b, FVM_X64_RAX, fvm_x64_mem_label(3, 0));
    cr_assert_not(fvm_x64_finish(&b));
    fvm_x64_buf_free(&b);
}

Test(x64_emit, size_limit_sets_the_flag)
{
    fvm_x64_buf b;
    fvm_x64_buf_init(&b, 16);
    fvm_x64_mov_ri(&b, FVM_X64_RAX, INT64_MIN); /* 10 bytes */
    cr_assert_not(b.failed);
    fvm_x64_mov_ri(&b, FVM_X64_RAX, INT64_MIN);
    cr_assert(b.failed);
    cr_assert_leq(b.len, 16);
    cr_assert_not(fvm_x64_finish(&b));
    fvm_x64_buf_free(&b);
    /* Growth past the initial capacity keeps every byte. */
    fvm_x64_buf_init(&b, 0);
    for (int i = 0; i < 1000; i++)
        fvm_x64_mov_ri(&b, FVM_X64_R9, 0x100000000ll + i);
    cr_assert(fvm_x64_finish(&b));
    cr_assert_eq(b.len, 10000);
    for (int i = 0; i < 1000; i++) {
        uint64_t v;
        memcpy(&v, b.code + 10 * i + 2, 8);
        cr_assert_eq(v, 0x100000000ull + (uint64_t)i);
    }
    fvm_x64_buf_free(&b);
}

Test(x64_emit, target_description)
{
    cr_assert_str_eq(fvm_x64_reg_name(FVM_X64_R13), "r13");
    cr_assert_str_eq(fvm_x64_reg_name(FVM_X64_XMM15), "xmm15");
    cr_assert_eq(fvm_x64_reg_class(FVM_X64_RSP), FVM_X64_CLASS_GPR);
    cr_assert_eq(fvm_x64_reg_class(FVM_X64_XMM0), FVM_X64_CLASS_XMM);
    cr_assert_eq(fvm_x64_int_arg(0), FVM_X64_RDI);
    cr_assert_eq(fvm_x64_int_arg(3), FVM_X64_RCX);
    cr_assert_eq(fvm_x64_int_arg(5), FVM_X64_R9);
    cr_assert_eq(fvm_x64_int_arg(6), FVM_X64_NOREG);
    cr_assert_eq(fvm_x64_float_arg(7), FVM_X64_XMM7);
    cr_assert_eq(fvm_x64_float_arg(8), FVM_X64_NOREG);
    /* Every allocatable register is saved by exactly one side of a call. */
    cr_assert_eq(FVM_X64_RSET_CALLER_SAVED & FVM_X64_RSET_CALLEE_SAVED, 0);
    cr_assert_eq(FVM_X64_RSET_CALLER_SAVED | FVM_X64_RSET_CALLEE_SAVED, FVM_X64_RSET_ALLOCATABLE);
    cr_assert_eq(fvm_x64_cc_invert(FVM_X64_CC_L), FVM_X64_CC_GE);
    cr_assert_eq(fvm_x64_cc_invert(FVM_X64_CC_NP), FVM_X64_CC_P);
}

Test(x64_emit, cpu_features_match_the_compiler)
{
    uint32_t f = fvm_x64_cpu_features();
    __builtin_cpu_init();
    cr_assert_eq(!!(f & FVM_X64_CPU_SSE41), !!__builtin_cpu_supports("sse4.1"));
    cr_assert_eq(!!(f & FVM_X64_CPU_POPCNT), !!__builtin_cpu_supports("popcnt"));
    cr_assert_eq(!!(f & FVM_X64_CPU_AVX2), !!__builtin_cpu_supports("avx2"));
    cr_assert_eq(!!(f & FVM_X64_CPU_BMI2), !!__builtin_cpu_supports("bmi2"));
    cr_assert_eq(f & ~0x1fu, 0);
    cr_assert_eq(fvm_x64_cpu_features(), f);
}

/* ------------------------------------------------------------------------
 * Running generated code
 * ------------------------------------------------------------------------ */

typedef int64_t (*fn_i_v)(void);
typedef int64_t (*fn_i_i)(int64_t);
typedef int64_t (*fn_i_ii)(int64_t, int64_t);
typedef int64_t (*fn_i_p)(void *);
typedef int64_t (*fn_i_pi)(void *, int64_t);
typedef double (*fn_d_dd)(double, double);
typedef double (*fn_d_d)(double);
typedef int64_t (*fn_i_dd)(double, double);
typedef int64_t (*fn_i_d)(double);
typedef double (*fn_d_i)(int64_t);

/* Finish b and commit it to mc; the entry. */
static void *load(fvm_mcode *mc, fvm_x64_buf *b)
{
    cr_assert(fvm_x64_finish(b));
    void *entry = fvm_mcode_add(mc, b->code, b->len);
    cr_assert_not_null(entry);
    fvm_x64_buf_free(b);
    return entry;
}

/* The permissions /proc/self/maps gives the mapping holding p ("r-xp"). */
static void perms_of(const void *p, char out[5])
{
    FILE *f = fopen("/proc/self/maps", "r");
    cr_assert_not_null(f);
    char line[512];
    strcpy(out, "none");
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && (uintptr_t)p >= lo &&
            (uintptr_t)p < hi) {
            memcpy(out, perms, 5);
            break;
        }
    }
    fclose(f);
}

Test(x64_run, return_42_and_add)
{
    fvm_mcode *mc = fvm_mcode_new(0);
    fvm_x64_buf b;
    fvm_x64_buf_init(&b, 0);
    fvm_x64_mov_ri(&b, FVM_X64_RAX, 42);
    fvm_x64_ret(&b);
    fn_i_v f42 = (fn_i_v)load(mc, &b);
    fvm_x64_buf_init(&b, 0);
    fvm_x64_mov_rr(&b, FVM_X64_RAX, FVM_X64_RDI);
    fvm_x64_alu_rr(&b, FVM_X64_ADD, FVM_X64_RAX, FVM_X64_RSI);
    fvm_x64_ret(&b);
    fn_i_ii add = (fn_i_ii)load(mc, &b);
    cr_assert_eq(f42(), 42);
    cr_assert_eq(add(40, 2), 42);
    cr_assert_eq(add(INT64_MAX, 1), INT64_MIN);
    char perms[5];
    perms_of((void *)f42, perms);
    cr_assert_str_eq(perms, "r-xs");
    fvm_mcode_free(mc);
}

static bool helper_stack_aligned = true;

/* Asking for the frame address gives the helper a frame pointer: RBP is
 * RSP at the call minus 16 (return address, saved RBP). */
#define NOTE_ALIGNMENT()                                                                            \
    do {                                                                                            \
        if ((uintptr_t)__builtin_frame_address(0) % 16 != 0)                                        \
            helper_stack_aligned = false;                                                           \
    } while (0)

static __attribute__((noinline)) int64_t helper_add1(int64_t x)
{
    NOTE_ALIGNMENT();
    return x + 1;
}

static __attribute__((noinline)) int64_t helper_double(int64_t x)
{
    NOTE_ALIGNMENT();
    return x * 2;
}

enum { HELPER_ADD1 = 1, HELPER_DOUBLE = 2 };

/* f(x) = helper(helper2(x)) through recorded relocations; then the same
 * code with the first relocation patched to another helper, as the disk
 * cache does on load. */
Test(x64_run, helper_calls_through_relocations)
{
    fvm_x64_buf b;
    fvm_x64_buf_init(&b, 0);
    fvm_x64_push(&b, FVM_X64_RBX); /* RSP % 16 == 0 from here: calls are aligned */
    fvm_x64_call_abs(&b, HELPER_ADD1, (uint64_t)(uintptr_t)helper_add1);
    fvm_x64_mov_rr(&b, FVM_X64_RDI, FVM_X64_RAX);
    fvm_x64_call_abs(&b, HELPER_DOUBLE, (uint64_t)(uintptr_t)helper_double);
    fvm_x64_pop(&b, FVM_X64_RBX);
    fvm_x64_ret(&b);
    cr_assert(fvm_x64_finish(&b));
    cr_assert_eq(b.nrelocs, 2);
    cr_assert_eq(b.relocs[0].helper, HELPER_ADD1);
    cr_assert_eq(b.relocs[1].helper, HELPER_DOUBLE);

    fvm_mcode *mc = fvm_mcode_new(0);
    fn_i_i f = (fn_i_i)fvm_mcode_add(mc, b.code, b.len);
    cr_assert_not_null(f);
    cr_assert_eq(f(5), 12);

    cr_assert(fvm_x64_patch_imm64(b.code, b.len, b.relocs[0].offset,
                                  (uint64_t)(uintptr_t)helper_double));
    fn_i_i g = (fn_i_i)fvm_mcode_add(mc, b.code, b.len);
    cr_assert_not_null(g);
    cr_assert_eq(g(5), 20);
    cr_assert_eq(f(5), 12);
    cr_assert(helper_stack_aligned);
    fvm_x64_buf_free(&b);
    fvm_mcode_free(mc);
}

static fvm_value helper_make_value(void)
{
    return fvm_float(2.5);
}

/* A helper returning fvm_value hands back the type word in RAX and the
 * payload in RDX, as x64_target.h says. */
Test(x64_run, value_return_registers)
{
    fvm_mcode *mc = fvm_mcode_new(0);
    fn_i_v part[2];
    for (int i = 0; i < 2; i++) {
        fvm_x64_buf b;
        fvm_x64_buf_init(&b, 0);
        fvm_x64_alu_ri(&b, FVM_X64_SUB, FVM_X64_RSP, 8);
        fvm_x64_call_abs(&b, 0, (uint64_t)(uintptr_t)helper_make_value);
        fvm_x64_alu_ri(&b, FVM_X64_ADD, FVM_X64_RSP, 8);
        if (i == 1)
            fvm_x64_mov_rr(&b, FVM_X64_RAX, FVM_X64_RET_INT2);
        fvm_x64_ret(&b);
        part[i] = (fn_i_v)load(mc, &b);
    }
    cr_assert_eq((uint32_t)part[0](), FVM_T_FLOAT);
    double d = 2.5;
    int64_t bits;
    memcpy(&bits, &d, 8);
    cr_assert_eq(part[1](), bits);
    fvm_mcode_free(mc);
}

/* a / b, or a % b: cqo; idiv. */
static fn_i_ii divide(fvm_mcode *mc, bool remainder)
{
    fvm_x64_buf b;
    fvm_x64_buf_init(&b, 0);
    fvm_x64_mov_rr(&b, FVM_X64_RAX, FVM_X64_RDI);
    fvm_x64_cqo(&b);
    fvm_x64_idiv(&b, FVM_X64_RSI);
    if (remainder)
        fvm_x64_mov_rr(&b, FVM_X64_RAX, FVM_X64_RDX);
    fvm_x64_ret(&b);
    return (fn_i_ii)load(mc, &b);
}

Test(x64_run, integer_ops)
{
    fvm_mcode *mc = fvm_mcode_new(0);
    fvm_x64_buf b;

    /* quotient and remainder */
    fn_i_ii quo = divide(mc, false), rem = divide(mc, true);
    cr_assert_eq(quo(-7, 2), -3);
    cr_assert_eq(rem(-7, 2), -1);
    cr_assert_eq(quo(INT64_MAX, -1), -INT64_MAX);

    /* arithmetic shift by CL, shift by imm, imul, neg, not */
    fvm_x64_buf_init(&b, 0);
    fvm_x64_mov_rr(&b, FVM_X64_RCX, FVM_X64_RSI);
    fvm_x64_mov_rr(&b, FVM_X64_RAX, FVM_X64_RDI);
    fvm_x64_shift_cl(&b, FVM_X64_SAR, FVM_X64_RAX);
    fvm_x64_ret(&b);
    fn_i_ii sar = (fn_i_ii)load(mc, &b);
    cr_assert_eq(sar(-256, 4), -16);
    cr_assert_eq(sar(-1, 63), -1);

    fvm_x64_buf_init(&b, 0);
    fvm_x64_imul_rri(&b, FVM_X64_R10, FVM_X64_RDI, 1000);  /* r10 = 1000x */
    fvm_x64_shift_ri(&b, FVM_X64_SHL, FVM_X64_RDI, 2);     /* rdi = 4x */
    fvm_x64_imul_rr(&b, FVM_X64_R10, FVM_X64_RDI);         /* 4000x^2 */
    fvm_x64_neg(&b, FVM_X64_R10);
    fvm_x64_not(&b, FVM_X64_R10);                          /* 4000x^2 - 1 */
    fvm_x64_shift_ri(&b, FVM_X64_SHR, FVM_X64_R10, 1);
    fvm_x64_mov_rr(&b, FVM_X64_RAX, FVM_X64_R10);
    fvm_x64_ret(&b);
    fn_i_i poly = (fn_i_i)load(mc, &b);
    cr_assert_eq(poly(3), (4000 * 9 - 1) / 2);

    /* max via cmp + cmovl; compare via setcc + movzx */
    fvm_x64_buf_init(&b, 0);
    fvm_x64_mov_rr(&b, FVM_X64_RAX, FVM_X64_RDI);
    fvm_x64_alu_rr(&b, FVM_X64_CMP, FVM_X64_RDI, FVM_X64_RSI);
    fvm_x64_cmovcc(&b, FVM_X64_CC_L, FVM_X64_RAX, FVM_X64_RSI);
    fvm_x64_ret(&b);
    fn_i_ii max = (fn_i_ii)load(mc, &b);
    cr_assert_eq(max(-5, 3), 3);
    cr_assert_eq(max(7, -3), 7);

    fvm_x64_buf_init(&b, 0);
    fvm_x64_alu_rr(&b, FVM_X64_CMP, FVM_X64_RDI, FVM_X64_RSI);
    fvm_x64_setcc(&b, FVM_X64_CC_LE, FVM_X64_RSI); /* sil: needs an empty REX */
    fvm_x64_movzx8_rr(&b, FVM_X64_RAX, FVM_X64_RSI);
    fvm_x64_ret(&b);
    fn_i_ii le = (fn_i_ii)load(mc, &b);
    cr_assert_eq(le(3, 3), 1);
    cr_assert_eq(le(4, 3), 0);
    cr_assert_eq(le(-4, 3), 1);

    /* large constants and test */
    fvm_x64_buf_init(&b, 0);
    fvm_x64_mov_ri(&b, FVM_X64_R15, -0x123456789ll);
    fvm_x64_mov_ri(&b, FVM_X64_RAX, 0xffffffffll);
    fvm_x64_alu_rr(&b, FVM_X64_XOR, FVM_X64_RAX, FVM_X64_R15);
    fvm_x64_test_ri(&b, FVM_X64_RDI, 1);
    fvm_x64_cmovcc(&b, FVM_X64_CC_E, FVM_X64_RAX, FVM_X64_RDI);
    fvm_x64_ret(&b);
    fn_i_i consts = (fn_i_i)load(mc, &b);
    cr_assert_eq(consts(1), (int64_t)(0xffffffffull ^ (uint64_t)-0x123456789ll));
    cr_assert_eq(consts(2), 2);
    fvm_mcode_free(mc);
}

/* sum 1..n with a backward rel32 loop and a forward rel8 exit, and the same
 * with the sizes swapped. */
Test(x64_run, loops)
{
    fvm_mcode *mc = fvm_mcode_new(0);
    for (int variant = 0; variant < 2; variant++) {
        fvm_x64_buf b;
        fvm_x64_buf_init(&b, 0);
        fvm_x64_label top = fvm_x64_label_new(&b), done = fvm_x64_label_new(&b);
        fvm_x64_alu_rr(&b, FVM_X64_XOR, FVM_X64_RAX, FVM_X64_RAX);
        fvm_x64_label_bind(&b, top);
        fvm_x64_test_rr(&b, FVM_X64_RDI, FVM_X64_RDI);
        if (variant == 0)
            fvm_x64_jcc8(&b, FVM_X64_CC_E, done);
        else
            fvm_x64_jcc(&b, FVM_X64_CC_E, done);
        fvm_x64_alu_rr(&b, FVM_X64_ADD, FVM_X64_RAX, FVM_X64_RDI);
        fvm_x64_alu_ri(&b, FVM_X64_SUB, FVM_X64_RDI, 1);
        if (variant == 0)
            fvm_x64_jmp(&b, top);
        else
            fvm_x64_jmp8(&b, top);
        fvm_x64_label_bind(&b, done);
        fvm_x64_ret(&b);
        fn_i_i sum = (fn_i_i)load(mc, &b);
        cr_assert_eq(sum(0), 0);
        cr_assert_eq(sum(100), 5050);
    }
    fvm_mcode_free(mc);
}

/* Loads and stores through every addressing shape on real memory, and a
 * value slot written and guarded as the tiers will. */
Test(x64_run, memory_access)
{
    fvm_mcode *mc = fvm_mcode_new(0);
    int64_t a[8] = {10, 11, 12, 13, 14, 15, 16, 17};
    fvm_x64_buf b;

    /* a[i + 1] + a[0] -> a[i]; returns the byte offset of a[i + 2] */
    fvm_x64_buf_init(&b, 0);
    fvm_x64_push(&b, FVM_X64_R12);
    fvm_x64_push(&b, FVM_X64_R13);
    fvm_x64_mov_rr(&b, FVM_X64_R12, FVM_X64_RDI);
    fvm_x64_mov_rr(&b, FVM_X64_R13, FVM_X64_RSI);
    fvm_x64_mov_rm(&b, FVM_X64_RAX, fvm_x64_mem_index(FVM_X64_R12, FVM_X64_R13, 8, 8));
    fvm_x64_alu_rm(&b, FVM_X64_ADD, FVM_X64_RAX, fvm_x64_mem_base(FVM_X64_R12, 0));
    fvm_x64_mov_mr(&b, fvm_x64_mem_index(FVM_X64_R12, FVM_X64_R13, 8, 0), FVM_X64_RAX);
    fvm_x64_lea(&b, FVM_X64_RAX, fvm_x64_mem_index(FVM_X64_R13, FVM_X64_R13, 1, 4)); /* 2i + 4 */
    fvm_x64_shift_ri(&b, FVM_X64_SHL, FVM_X64_RAX, 2);
    fvm_x64_pop(&b, FVM_X64_R13);
    fvm_x64_pop(&b, FVM_X64_R12);
    fvm_x64_ret(&b);
    fn_i_pi f = (fn_i_pi)load(mc, &b);
    cr_assert_eq(f(a, 3), 8 * 5);
    cr_assert_eq(a[3], 14 + 10);
    cr_assert_eq(a[4], 14);

    /* RSP and RBP as bases: spill to the stack and read back */
    fvm_x64_buf_init(&b, 0);
    fvm_x64_push(&b, FVM_X64_RBP);
    fvm_x64_mov_rr(&b, FVM_X64_RBP, FVM_X64_RSP);
    fvm_x64_alu_ri(&b, FVM_X64_SUB, FVM_X64_RSP, 32);
    fvm_x64_mov_mr(&b, fvm_x64_mem_base(FVM_X64_RSP, 0), FVM_X64_RDI);
    fvm_x64_mov_mi(&b, fvm_x64_mem_base(FVM_X64_RBP, -8), -3);
    fvm_x64_mov_rm(&b, FVM_X64_RAX, fvm_x64_mem_base(FVM_X64_RBP, -8));
    fvm_x64_alu_rm(&b, FVM_X64_SUB, FVM_X64_RAX, fvm_x64_mem_base(FVM_X64_RSP, 0));
    fvm_x64_mov_rr(&b, FVM_X64_RSP, FVM_X64_RBP);
    fvm_x64_pop(&b, FVM_X64_RBP);
    fvm_x64_ret(&b);
    fn_i_i spill = (fn_i_i)load(mc, &b);
    cr_assert_eq(spill(10), -13);

    /* a value slot: store an Int, then guard on its type word */
    fvm_x64_buf_init(&b, 0);
    fvm_x64_mov32_mi(&b, fvm_x64_mem_base(FVM_X64_RDI, 0), FVM_T_INT);
    fvm_x64_mov_mr(&b, fvm_x64_mem_base(FVM_X64_RDI, 8), FVM_X64_RSI);
    fvm_x64_ret(&b);
    fn_i_pi set_int = (fn_i_pi)load(mc, &b);
    fvm_x64_buf_init(&b, 0);
    fvm_x64_cmp32_mi(&b, fvm_x64_mem_base(FVM_X64_RDI, 0), FVM_T_INT);
    fvm_x64_setcc(&b, FVM_X64_CC_E, FVM_X64_RAX);
    fvm_x64_movzx8_rr(&b, FVM_X64_RAX, FVM_X64_RAX);
    fvm_x64_ret(&b);
    fn_i_p is_int = (fn_i_p)load(mc, &b);
    fvm_value v = fvm_float(1.5);
    cr_assert_eq(is_int(&v), 0);
    set_int(&v, -77);
    cr_assert_eq(v.type, FVM_T_INT);
    cr_assert_eq(v.as.i, -77);
    cr_assert_eq(is_int(&v), 1);

    /* byte and dword loads */
    fvm_x64_buf_init(&b, 0);
    fvm_x64_movzx8_rm(&b, FVM_X64_RAX, fvm_x64_mem_base(FVM_X64_RDI, 1));
    fvm_x64_mov32_rm(&b, FVM_X64_RCX, fvm_x64_mem_base(FVM_X64_RDI, 4));
    fvm_x64_alu_rr(&b, FVM_X64_ADD, FVM_X64_RAX, FVM_X64_RCX);
    fvm_x64_mov32_mr(&b, fvm_x64_mem_base(FVM_X64_RDI, 0), FVM_X64_RAX);
    fvm_x64_ret(&b);
    fn_i_p bytes = (fn_i_p)load(mc, &b);
    uint32_t w[2] = {0x0000ff00u, 0xfffffff0u};
    cr_assert_eq(bytes(w), 0xff + 0xfffffff0ll);
    cr_assert_eq(w[0], (uint32_t)(0xff + 0xfffffff0ull));
    fvm_mcode_free(mc);
}

/* x op mask, with the 16-byte mask in a constant pool after the code,
 * reached RIP-relative. */
static fn_d_d mask_fn(fvm_mcode *mc, fvm_x64_sse op, uint64_t mask)
{
    fvm_x64_buf b;
    fvm_x64_buf_init(&b, 0);
    fvm_x64_label pool = fvm_x64_label_new(&b);
    fvm_x64_sse_rm(&b, op, FVM_X64_XMM0, fvm_x64_mem_label(pool, 0));
    fvm_x64_ret(&b);
    fvm_x64_align(&b, 16);
    fvm_x64_label_bind(&b, pool);
    fvm_x64_data64(&b, mask);
    fvm_x64_data64(&b, 0);
    cr_assert_eq(fvm_x64_label_offset(&b, pool) % 16, 0);
    cr_assert_eq(b.code[b.len - 17], 0xcc); /* padding between ret and the pool */
    return (fn_d_d)load(mc, &b);
}

Test(x64_run, doubles)
{
    fvm_mcode *mc = fvm_mcode_new(0);
    fvm_x64_buf b;

    /* hypot: sqrt(a*a + b*b) */
    fvm_x64_buf_init(&b, 0);
    fvm_x64_sse_rr(&b, FVM_X64_MULSD, FVM_X64_XMM0, FVM_X64_XMM0);
    fvm_x64_sse_rr(&b, FVM_X64_MOVAPS, FVM_X64_XMM9, FVM_X64_XMM1);
    fvm_x64_sse_rr(&b, FVM_X64_MULSD, FVM_X64_XMM9, FVM_X64_XMM9);
    fvm_x64_sse_rr(&b, FVM_X64_ADDSD, FVM_X64_XMM0, FVM_X64_XMM9);
    fvm_x64_sse_rr(&b, FVM_X64_SQRTSD, FVM_X64_XMM0, FVM_X64_XMM0);
    fvm_x64_ret(&b);
    fn_d_dd hyp = (fn_d_dd)load(mc, &b);
    cr_assert_eq(hyp(3.0, 4.0), 5.0);

    /* (a - b) / b through memory on the stack */
    fvm_x64_buf_init(&b, 0);
    fvm_x64_alu_ri(&b, FVM_X64_SUB, FVM_X64_RSP, 24);
    fvm_x64_movsd_mr(&b, fvm_x64_mem_base(FVM_X64_RSP, 8), FVM_X64_XMM1);
    fvm_x64_sse_rm(&b, FVM_X64_SUBSD, FVM_X64_XMM0, fvm_x64_mem_base(FVM_X64_RSP, 8));
    fvm_x64_sse_rm(&b, FVM_X64_DIVSD, FVM_X64_XMM0, fvm_x64_mem_base(FVM_X64_RSP, 8));
    fvm_x64_sse_rm(&b, FVM_X64_MOVSD, FVM_X64_XMM2, fvm_x64_mem_base(FVM_X64_RSP, 8));
    fvm_x64_sse_rr(&b, FVM_X64_MULSD, FVM_X64_XMM0, FVM_X64_XMM2);
    fvm_x64_alu_ri(&b, FVM_X64_ADD, FVM_X64_RSP, 24);
    fvm_x64_ret(&b);
    fn_d_dd rel = (fn_d_dd)load(mc, &b);
    cr_assert_eq(rel(10.0, 4.0), 6.0);

    /* neg and abs through 16-aligned constants after the code */
    fn_d_d negf = mask_fn(mc, FVM_X64_XORPD, 0x8000000000000000ull);
    fn_d_d absf = mask_fn(mc, FVM_X64_ANDPD, 0x7fffffffffffffffull);
    cr_assert_eq(negf(2.5), -2.5);
    cr_assert(signbit(negf(0.0)));
    cr_assert_eq(absf(-7.25), 7.25);
    cr_assert_eq(absf(3.0), 3.0);

    /* a < b: ucomisd b, a; seta. NaN gives 0. */
    fvm_x64_buf_init(&b, 0);
    fvm_x64_sse_rr(&b, FVM_X64_UCOMISD, FVM_X64_XMM1, FVM_X64_XMM0);
    fvm_x64_setcc(&b, FVM_X64_CC_A, FVM_X64_RAX);
    fvm_x64_movzx8_rr(&b, FVM_X64_RAX, FVM_X64_RAX);
    fvm_x64_ret(&b);
    fn_i_dd lt = (fn_i_dd)load(mc, &b);
    cr_assert_eq(lt(1.0, 2.0), 1);
    cr_assert_eq(lt(2.0, 1.0), 0);
    cr_assert_eq(lt(NAN, 1.0), 0);
    cr_assert_eq(lt(1.0, NAN), 0);

    /* comisd sets the same flags for ordered operands */
    fvm_x64_buf_init(&b, 0);
    fvm_x64_sse_rr(&b, FVM_X64_COMISD, FVM_X64_XMM0, FVM_X64_XMM1);
    fvm_x64_setcc(&b, FVM_X64_CC_E, FVM_X64_RAX);
    fvm_x64_movzx8_rr(&b, FVM_X64_RAX, FVM_X64_RAX);
    fvm_x64_ret(&b);
    fn_i_dd eq = (fn_i_dd)load(mc, &b);
    cr_assert_eq(eq(1.5, 1.5), 1);
    cr_assert_eq(eq(1.5, -1.5), 0);

    /* conversions and bit moves */
    fvm_x64_buf_init(&b, 0);
    fvm_x64_cvttsd2si(&b, FVM_X64_RAX, FVM_X64_XMM0);
    fvm_x64_ret(&b);
    fn_i_d trunc_i = (fn_i_d)load(mc, &b);
    cr_assert_eq(trunc_i(-2.9), -2);
    cr_assert_eq(trunc_i(NAN), INT64_MIN);
    fvm_x64_buf_init(&b, 0);
    fvm_x64_cvtsi2sd(&b, FVM_X64_XMM0, FVM_X64_RDI);
    fvm_x64_ret(&b);
    fn_d_i to_d = (fn_d_i)load(mc, &b);
    cr_assert_eq(to_d(-12345), -12345.0);
    fvm_x64_buf_init(&b, 0);
    fvm_x64_movq_xr(&b, FVM_X64_XMM0, FVM_X64_RDI);
    fvm_x64_ret(&b);
    fn_d_i from_bits = (fn_d_i)load(mc, &b);
    fvm_x64_buf_init(&b, 0);
    fvm_x64_movq_rx(&b, FVM_X64_RAX, FVM_X64_XMM0);
    fvm_x64_ret(&b);
    fn_i_d to_bits = (fn_i_d)load(mc, &b);
    cr_assert_eq(from_bits(0x3ff8000000000000ll), 1.5);
    cr_assert_eq(to_bits(-0.0), INT64_MIN);

    if (fvm_x64_cpu_features() & FVM_X64_CPU_SSE41) {
        fvm_x64_buf_init(&b, 0);
        fvm_x64_roundsd(&b, FVM_X64_XMM0, FVM_X64_XMM0, FVM_X64_ROUND_FLOOR);
        fvm_x64_ret(&b);
        fn_d_d floorf_ = (fn_d_d)load(mc, &b);
        cr_assert_eq(floorf_(-2.5), -3.0);
        cr_assert_eq(floorf_(2.5), 2.0);
    }
    fvm_mcode_free(mc);
}

/* ------------------------------------------------------------------------
 * Code memory
 * ------------------------------------------------------------------------ */

static const uint8_t ret42[] = {0xb8, 42, 0, 0, 0, 0xc3}; /* mov eax, 42; ret */

/* Code memory is read+execute and never writable: a shared mapping of the
 * memory file by default, a private one made executable on the anonymous
 * way. */
Test(mcode, code_is_executable_not_writable)
{
    fvm_mcode *mcs[2] = {fvm_mcode_new(0), fvm_mcode_new_anonymous(0)};
    const char *want[2] = {"r-xs", "r-xp"};
    for (int i = 0; i < 2; i++) {
        fn_i_v f = (fn_i_v)fvm_mcode_add(mcs[i], ret42, sizeof ret42);
        cr_assert_not_null(f);
        char perms[5];
        perms_of((void *)f, perms);
        cr_assert_str_eq(perms, want[i]);
        cr_assert_eq(f(), 42);
        fvm_mcode_free(mcs[i]);
    }
}

static sigjmp_buf fault_jump;

static void on_fault(int sig)
{
    siglongjmp(fault_jump, sig);
}

/* A store into committed code faults. Our own handler catches it (rather
 * than a signal expectation on the test) so sanitizer builds, which trap
 * SIGSEGV themselves, see the same thing. */
Test(mcode, writing_committed_code_faults)
{
    fvm_mcode *mc = fvm_mcode_new(0);
    volatile uint8_t *p = fvm_mcode_add(mc, ret42, sizeof ret42);
    for (int i = 0; i < 100; i++) /* more code after it changes nothing */
        cr_assert_not_null(fvm_mcode_add(mc, ret42, sizeof ret42));
    cr_assert_not_null(p);
    struct sigaction sa, old_segv, old_bus;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    volatile int sig = sigsetjmp(fault_jump, 1);
    if (sig == 0)
        p[0] = 0xc3;
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    cr_assert_eq(sig, SIGSEGV);
    cr_assert_eq(p[0], 0xb8);
    cr_assert_eq(((fn_i_v)(uintptr_t)p)(), 42);
    fvm_mcode_free(mc);
}

static void assert_no_rwx_mapping(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    cr_assert_not_null(f);
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char perms[5];
        sscanf(line, "%*x-%*x %4s", perms);
        cr_assert(!(perms[1] == 'w' && perms[2] == 'x'), "%s", line);
    }
    fclose(f);
}

/* File-backed code packs functions 16 bytes apart; the anonymous way
 * gives each its own pages (committed pages are never made writable
 * again). Either way every function runs and no mapping is ever rwx. */
Test(mcode, functions_pack_or_take_pages)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    enum { N = 100 };
    static fn_i_v fns[N];
    for (int way = 0; way < 2; way++) {
        fvm_mcode *mc = way ? fvm_mcode_new_anonymous(0) : fvm_mcode_new(0);
        for (int i = 0; i < N; i++) {
            uint8_t code[] = {0xb8, (uint8_t)i, (uint8_t)(i >> 8), 0, 0, 0xc3};
            fns[i] = (fn_i_v)fvm_mcode_add(mc, code, sizeof code);
            cr_assert_not_null(fns[i]);
            if (way == 0 && i > 0)
                cr_assert_eq((uintptr_t)fns[i] - (uintptr_t)fns[i - 1], 16);
            if (way == 1)
                cr_assert_eq((uintptr_t)fns[i] % page, 0);
        }
        for (int i = 0; i < N; i++)
            cr_assert_eq(fns[i](), i);
        size_t areas = way ? (N * page + 256 * 1024 - 1) / (256 * 1024) : 1;
        cr_assert_eq(fvm_mcode_mapped(mc), areas * 256 * 1024);
        assert_no_rwx_mapping();
        fvm_mcode_free(mc);
    }
}

/* A forked child adds code of its own without touching the parent's: both
 * keep running what they added before and after the fork. */
Test(mcode, fork_keeps_parent_and_child_apart)
{
    fvm_mcode *mc = fvm_mcode_new(0);
    fn_i_v before = (fn_i_v)fvm_mcode_add(mc, ret42, sizeof ret42);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        int ok = 1;
        for (int i = 0; i < 50; i++) {
            uint8_t code[] = {0xb8, (uint8_t)(100 + i), 0, 0, 0, 0xc3};
            fn_i_v f = (fn_i_v)fvm_mcode_add(mc, code, sizeof code);
            ok &= f && f() == 100 + i && before() == 42;
        }
        _exit(ok ? 0 : 1);
    }
    fn_i_v mine[50];
    for (int i = 0; i < 50; i++) {
        uint8_t code[] = {0xb8, (uint8_t)(200 + i), 0, 0, 0, 0xc3};
        mine[i] = (fn_i_v)fvm_mcode_add(mc, code, sizeof code);
        cr_assert_not_null(mine[i]);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child's code or the parent's broke");
    for (int i = 0; i < 50; i++)
        cr_assert_eq(mine[i](), 200 + i);
    cr_assert_eq(before(), 42);
    fvm_mcode_free(mc);
}

Test(mcode, large_code_and_limits)
{
    size_t big = 300 * 1024;
    uint8_t *code = malloc(big);
    memset(code, 0x90, big); /* nop sled into ret 42 */
    memcpy(code + big - sizeof ret42, ret42, sizeof ret42);
    for (int way = 0; way < 2; way++) {
        /* Code larger than an area gets an area of its own. */
        fvm_mcode *mc = way ? fvm_mcode_new_anonymous(0) : fvm_mcode_new(0);
        fn_i_v f = (fn_i_v)fvm_mcode_add(mc, code, big);
        cr_assert_not_null(f);
        cr_assert_eq(f(), 42);
        cr_assert_eq(fvm_mcode_mapped(mc), big);
        fn_i_v g = (fn_i_v)fvm_mcode_add(mc, ret42, sizeof ret42);
        cr_assert_eq(g(), 42);
        cr_assert_eq(fvm_mcode_mapped(mc), big + 256 * 1024);
        fvm_mcode_free(mc);

        /* A limit caps the mapped bytes. */
        mc = way ? fvm_mcode_new_anonymous(8192) : fvm_mcode_new(8192);
        cr_assert_null(fvm_mcode_add(mc, code, big));
        f = (fn_i_v)fvm_mcode_add(mc, ret42, sizeof ret42);
        cr_assert_not_null(f);
        cr_assert_eq(fvm_mcode_mapped(mc), 8192);
        cr_assert_null(fvm_mcode_add(mc, code, 8192));
        cr_assert_null(fvm_mcode_add(mc, ret42, 0));
        cr_assert_eq(f(), 42);
        fvm_mcode_free(mc);
    }
    free(code);
    fvm_mcode_free(NULL);
}
