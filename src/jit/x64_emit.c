/* x86-64 instruction encoder (see x64_emit.h).
 *
 * Every instruction here has the shape
 *     [mandatory prefix 66/F2/F3] [REX] opcode (1-3 bytes) [ModRM [SIB] [disp]] [imm]
 * (Intel SDM vol. 2, ch. 2). REX is 0100WRXB: W selects 64-bit operands,
 * R, X and B supply the fourth bit of ModRM.reg, SIB.index and
 * ModRM.rm/SIB.base, which is how registers 8..15 are reached. */
#include "jit/x64_emit.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ------------------------------------------------------------------------
 * Bytes
 * ------------------------------------------------------------------------ */

static void fail(fvm_x64_buf *b)
{
    b->failed = true;
}

static bool grow(fvm_x64_buf *b)
{
    if (b->cap >= b->limit) {
        fail(b);
        return false;
    }
    size_t ncap = b->cap ? b->cap * 2 : 256;
    if (ncap > b->limit)
        ncap = b->limit;
    b->code = fvm_xrealloc(b->code, ncap);
    b->cap = ncap;
    return true;
}

static void put8(fvm_x64_buf *b, unsigned v)
{
    if (b->len == b->cap && !grow(b))
        return;
    b->code[b->len++] = (uint8_t)v;
}

static void put32(fvm_x64_buf *b, uint32_t v)
{
    for (int i = 0; i < 32; i += 8)
        put8(b, v >> i & 0xff);
}

static void put64(fvm_x64_buf *b, uint64_t v)
{
    put32(b, (uint32_t)v);
    put32(b, (uint32_t)(v >> 32));
}

static bool fits8(int64_t v)
{
    return v >= -128 && v <= 127;
}

static bool fits32(int64_t v)
{
    return v >= INT32_MIN && v <= INT32_MAX;
}

/* Make room for one more element of a metadata array. */
static void *room_for_one(void *array, size_t *cap, size_t n, size_t elem)
{
    fvm_grow(&array, cap, n + 1, elem);
    return array;
}

/* ------------------------------------------------------------------------
 * Buffer, labels, relocations
 * ------------------------------------------------------------------------ */

void fvm_x64_buf_init(fvm_x64_buf *b, size_t limit)
{
    memset(b, 0, sizeof *b);
    b->limit = limit == 0 || limit > FVM_X64_MAX_CODE ? FVM_X64_MAX_CODE : limit;
}

void fvm_x64_buf_free(fvm_x64_buf *b)
{
    free(b->code);
    free(b->relocs);
    free(b->labels);
    free(b->fixups);
    memset(b, 0, sizeof *b);
}

fvm_x64_label fvm_x64_label_new(fvm_x64_buf *b)
{
    b->labels = room_for_one(b->labels, &b->labels_cap, b->nlabels, sizeof *b->labels);
    b->labels[b->nlabels] = FVM_X64_UNBOUND;
    return (fvm_x64_label)b->nlabels++;
}

void fvm_x64_label_bind(fvm_x64_buf *b, fvm_x64_label label)
{
    if (label >= b->nlabels || b->labels[label] != FVM_X64_UNBOUND) {
        fail(b);
        return;
    }
    b->labels[label] = (uint32_t)b->len;
}

uint32_t fvm_x64_label_offset(const fvm_x64_buf *b, fvm_x64_label label)
{
    return label < b->nlabels ? b->labels[label] : FVM_X64_UNBOUND;
}

/* A size-byte displacement field to fill in at the current end of the code,
 * measured from end. */
static void add_fixup(fvm_x64_buf *b, unsigned size, fvm_x64_label label, int32_t addend,
                      size_t end)
{
    b->fixups = room_for_one(b->fixups, &b->fixups_cap, b->nfixups, sizeof *b->fixups);
    fvm_x64_fixup f = {(uint32_t)b->len, (uint32_t)end, label, addend, (uint8_t)size};
    b->fixups[b->nfixups++] = f;
}

static void resolve(fvm_x64_buf *b, const fvm_x64_fixup *f)
{
    if (f->label >= b->nlabels || b->labels[f->label] == FVM_X64_UNBOUND) {
        fail(b);
        return;
    }
    int64_t rel = (int64_t)b->labels[f->label] + f->addend - (int64_t)f->end;
    if (f->size == 1 ? !fits8(rel) : !fits32(rel)) {
        fail(b);
        return;
    }
    for (unsigned i = 0; i < f->size; i++)
        b->code[f->at + i] = (uint8_t)((uint64_t)rel >> (8 * i));
}

bool fvm_x64_finish(fvm_x64_buf *b)
{
    /* After a failure, fixups may point past the bytes that were written. */
    for (size_t i = 0; i < b->nfixups && !b->failed; i++)
        resolve(b, &b->fixups[i]);
    b->nfixups = 0;
    return !b->failed;
}

bool fvm_x64_patch_imm64(uint8_t *code, size_t len, uint32_t offset, uint64_t addr)
{
    if (len < 8 || offset > len - 8)
        return false;
    for (unsigned i = 0; i < 8; i++)
        code[offset + i] = (uint8_t)(addr >> (8 * i));
    return true;
}

static void add_reloc(fvm_x64_buf *b, uint32_t helper)
{
    b->relocs = room_for_one(b->relocs, &b->relocs_cap, b->nrelocs, sizeof *b->relocs);
    fvm_x64_reloc r = {(uint32_t)b->len, helper};
    b->relocs[b->nrelocs++] = r;
}

void fvm_x64_align(fvm_x64_buf *b, unsigned align)
{
    if (align == 0 || (align & (align - 1))) {
        fail(b);
        return;
    }
    while (b->len % align && !b->failed)
        put8(b, 0xcc);
}

void fvm_x64_align_nop(fvm_x64_buf *b, unsigned align)
{
    /* The recommended NOP of each length, 1 to 9 bytes (nop; xchg ax, ax;
     * nop dword [rax]; ... nop word [rax + rax*1 + disp32]). */
    static const uint8_t nops[9][9] = {
        {0x90},
        {0x66, 0x90},
        {0x0f, 0x1f, 0x00},
        {0x0f, 0x1f, 0x40, 0x00},
        {0x0f, 0x1f, 0x44, 0x00, 0x00},
        {0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00},
        {0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00},
        {0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
        {0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
    };
    if (align == 0 || align > 64 || (align & (align - 1))) {
        fail(b);
        return;
    }
    size_t pad = (align - b->len % align) % align;
    while (pad && !b->failed) {
        size_t n = pad < 9 ? pad : 9;
        for (size_t i = 0; i < n; i++)
            put8(b, nops[n - 1][i]);
        pad -= n;
    }
}

void fvm_x64_data64(fvm_x64_buf *b, uint64_t v)
{
    put64(b, v);
}

/* ------------------------------------------------------------------------
 * Operand checks: the hardware number of a register of the right class.
 * ------------------------------------------------------------------------ */

static unsigned gpr(fvm_x64_buf *b, fvm_x64_reg r)
{
    if (!fvm_x64_is_gpr(r)) {
        fail(b);
        return 0;
    }
    return (unsigned)r;
}

static unsigned xmm(fvm_x64_buf *b, fvm_x64_reg r)
{
    if (!fvm_x64_is_xmm(r)) {
        fail(b);
        return 0;
    }
    return (unsigned)r - FVM_X64_XMM0;
}

static unsigned cond(fvm_x64_buf *b, fvm_x64_cc cc)
{
    if ((unsigned)cc > 15) {
        fail(b);
        return 0;
    }
    return (unsigned)cc;
}

static bool mem_ok(const fvm_x64_mem *m)
{
    bool scale_ok = m->scale == 1 || m->scale == 2 || m->scale == 4 || m->scale == 8;
    if (m->base == FVM_X64_RIP)
        return m->index == FVM_X64_NOREG;
    bool index_ok =
        m->index == FVM_X64_NOREG || (fvm_x64_is_gpr(m->index) && m->index != FVM_X64_RSP);
    return fvm_x64_is_gpr(m->base) && index_ok && scale_ok;
}

/* ------------------------------------------------------------------------
 * Instruction skeletons
 * ------------------------------------------------------------------------ */

/* REX bits, and REX itself. */
enum { REX = 0x40, REX_W = 0x08, REX_R = 0x04, REX_X = 0x02, REX_B = 0x01 };

/* Flags passed beside the opcode. The low byte is a mandatory prefix (66,
 * F2 or F3) or 0. W asks for REX.W. BYTE_RM says the ModRM.rm register is a
 * byte register: numbers 4..7 then need a REX prefix, even an empty one, to
 * mean SPL, BPL, SIL, DIL rather than AH, CH, DH, BH. */
enum { W = 0x100, BYTE_RM = 0x200 };

/* Prefix, REX (when any of its bits is needed) and the opcode bytes, most
 * significant first: 0x0F3A0B is the three bytes 0F 3A 0B. */
static void head(fvm_x64_buf *b, unsigned flags, uint32_t opcode, unsigned rex)
{
    if (flags & 0xff)
        put8(b, flags & 0xff);
    if (flags & W)
        rex |= REX | REX_W;
    if (rex)
        put8(b, REX | rex);
    for (int shift = 16; shift > 0; shift -= 8)
        if (opcode >> shift)
            put8(b, opcode >> shift & 0xff);
    put8(b, opcode & 0xff);
}

static unsigned modrm(unsigned mod, unsigned reg, unsigned rm)
{
    return mod << 6 | (reg & 7) << 3 | (rm & 7);
}

/* opcode with a register in ModRM.reg (or an opcode extension /digit) and a
 * register in ModRM.rm. */
static void op_rr(fvm_x64_buf *b, unsigned flags, uint32_t opcode, unsigned reg, unsigned rm)
{
    unsigned rex = (reg & 8 ? REX_R : 0) | (rm & 8 ? REX_B : 0);
    if ((flags & BYTE_RM) && rm >= 4 && rm < 8)
        rex |= REX;
    head(b, flags, opcode, rex);
    put8(b, modrm(3, reg, rm));
}

/* ModRM, SIB and displacement for a memory operand. imm_size is the number
 * of immediate bytes that will follow, which a RIP-relative displacement
 * must count (it is measured from the end of the instruction). */
static void put_mem(fvm_x64_buf *b, unsigned reg, const fvm_x64_mem *m, unsigned imm_size)
{
    if (m->base == FVM_X64_RIP) {
        put8(b, modrm(0, reg, 5));
        add_fixup(b, 4, m->label, m->disp, b->len + 4 + imm_size);
        put32(b, 0);
        return;
    }
    unsigned base = m->base & 7;
    /* mod 0 with base 5 (RBP, R13) means RIP or no base, so those bases
     * always carry a displacement, a zero disp8 if nothing else. */
    unsigned mod = m->disp == 0 && base != 5 ? 0 : fits8(m->disp) ? 1 : 2;
    /* rm 4 means "a SIB byte follows", so RSP and R12 as a base need SIB
     * too; SIB index 4 without REX.X means "no index". */
    if (m->index != FVM_X64_NOREG || base == 4) {
        unsigned index = m->index == FVM_X64_NOREG ? 4 : m->index & 7;
        unsigned scale = m->scale == 8 ? 3 : m->scale == 4 ? 2 : m->scale == 2 ? 1 : 0;
        put8(b, modrm(mod, reg, 4));
        put8(b, scale << 6 | index << 3 | base);
    } else {
        put8(b, modrm(mod, reg, base));
    }
    if (mod == 1)
        put8(b, (uint8_t)m->disp);
    else if (mod == 2)
        put32(b, (uint32_t)m->disp);
}

/* opcode with a register (or /digit) in ModRM.reg and memory in ModRM.rm. */
static void op_rm(fvm_x64_buf *b, unsigned flags, uint32_t opcode, unsigned reg,
                  const fvm_x64_mem *m, unsigned imm_size)
{
    if (!mem_ok(m)) {
        fail(b);
        return;
    }
    unsigned rex = reg & 8 ? REX_R : 0;
    if (m->base != FVM_X64_RIP && (m->base & 8))
        rex |= REX_B;
    if (m->index != FVM_X64_NOREG && (m->index & 8))
        rex |= REX_X;
    head(b, flags, opcode, rex);
    put_mem(b, reg, m, imm_size);
}

/* ------------------------------------------------------------------------
 * Moves
 * ------------------------------------------------------------------------ */

void fvm_x64_mov_rr(fvm_x64_buf *b, fvm_x64_reg dst, fvm_x64_reg src)
{
    op_rr(b, W, 0x89, gpr(b, src), gpr(b, dst));
}

void fvm_x64_mov_ri(fvm_x64_buf *b, fvm_x64_reg dst, int64_t imm)
{
    unsigned r = gpr(b, dst);
    if ((uint64_t)imm <= UINT32_MAX) {
        head(b, 0, 0xb8 | (r & 7), r & 8 ? REX_B : 0); /* mov r32, imm32 */
        put32(b, (uint32_t)imm);
    } else if (fits32(imm)) {
        op_rr(b, W, 0xc7, 0, r); /* mov r/m64, imm32 */
        put32(b, (uint32_t)imm);
    } else {
        head(b, W, 0xb8 | (r & 7), r & 8 ? REX_B : 0); /* movabs r64, imm64 */
        put64(b, (uint64_t)imm);
    }
}

void fvm_x64_mov_ri_abs(fvm_x64_buf *b, fvm_x64_reg dst, uint32_t helper, uint64_t addr)
{
    unsigned r = gpr(b, dst);
    head(b, W, 0xb8 | (r & 7), r & 8 ? REX_B : 0);
    add_reloc(b, helper);
    put64(b, addr);
}

void fvm_x64_mov_rm(fvm_x64_buf *b, fvm_x64_reg dst, fvm_x64_mem src)
{
    op_rm(b, W, 0x8b, gpr(b, dst), &src, 0);
}

void fvm_x64_mov_mr(fvm_x64_buf *b, fvm_x64_mem dst, fvm_x64_reg src)
{
    op_rm(b, W, 0x89, gpr(b, src), &dst, 0);
}

void fvm_x64_mov_mi(fvm_x64_buf *b, fvm_x64_mem dst, int32_t imm)
{
    op_rm(b, W, 0xc7, 0, &dst, 4);
    put32(b, (uint32_t)imm);
}

void fvm_x64_mov32_rm(fvm_x64_buf *b, fvm_x64_reg dst, fvm_x64_mem src)
{
    op_rm(b, 0, 0x8b, gpr(b, dst), &src, 0);
}

void fvm_x64_mov32_mr(fvm_x64_buf *b, fvm_x64_mem dst, fvm_x64_reg src)
{
    op_rm(b, 0, 0x89, gpr(b, src), &dst, 0);
}

void fvm_x64_mov32_mi(fvm_x64_buf *b, fvm_x64_mem dst, int32_t imm)
{
    op_rm(b, 0, 0xc7, 0, &dst, 4);
    put32(b, (uint32_t)imm);
}

void fvm_x64_movzx8_rr(fvm_x64_buf *b, fvm_x64_reg dst, fvm_x64_reg src)
{
    op_rr(b, BYTE_RM, 0x0fb6, gpr(b, dst), gpr(b, src));
}

void fvm_x64_movzx8_rm(fvm_x64_buf *b, fvm_x64_reg dst, fvm_x64_mem src)
{
    op_rm(b, 0, 0x0fb6, gpr(b, dst), &src, 0);
}

void fvm_x64_lea(fvm_x64_buf *b, fvm_x64_reg dst, fvm_x64_mem src)
{
    op_rm(b, W, 0x8d, gpr(b, dst), &src, 0);
}

/* push and pop default to 64-bit operands: no REX.W. */
void fvm_x64_push(fvm_x64_buf *b, fvm_x64_reg r)
{
    unsigned n = gpr(b, r);
    head(b, 0, 0x50 | (n & 7), n & 8 ? REX_B : 0);
}

void fvm_x64_pop(fvm_x64_buf *b, fvm_x64_reg r)
{
    unsigned n = gpr(b, r);
    head(b, 0, 0x58 | (n & 7), n & 8 ? REX_B : 0);
}

/* ------------------------------------------------------------------------
 * Integer arithmetic
 * ------------------------------------------------------------------------ */

/* The ALU group's opcodes are spaced 8 apart: op*8 + 1 is "op r/m, r",
 * op*8 + 3 is "op r, r/m"; 81 /op takes imm32 and 83 /op imm8. */
void fvm_x64_alu_rr(fvm_x64_buf *b, fvm_x64_alu op, fvm_x64_reg dst, fvm_x64_reg src)
{
    op_rr(b, W, (unsigned)op << 3 | 1, gpr(b, src), gpr(b, dst));
}

void fvm_x64_alu_ri(fvm_x64_buf *b, fvm_x64_alu op, fvm_x64_reg dst, int32_t imm)
{
    if (fits8(imm)) {
        op_rr(b, W, 0x83, op, gpr(b, dst));
        put8(b, (uint8_t)imm);
    } else {
        op_rr(b, W, 0x81, op, gpr(b, dst));
        put32(b, (uint32_t)imm);
    }
}

void fvm_x64_alu_rm(fvm_x64_buf *b, fvm_x64_alu op, fvm_x64_reg dst, fvm_x64_mem src)
{
    op_rm(b, W, (unsigned)op << 3 | 3, gpr(b, dst), &src, 0);
}

void fvm_x64_cmp32_mi(fvm_x64_buf *b, fvm_x64_mem m, int32_t imm)
{
    if (fits8(imm)) {
        op_rm(b, 0, 0x83, FVM_X64_CMP, &m, 1);
        put8(b, (uint8_t)imm);
    } else {
        op_rm(b, 0, 0x81, FVM_X64_CMP, &m, 4);
        put32(b, (uint32_t)imm);
    }
}

void fvm_x64_test_rr(fvm_x64_buf *b, fvm_x64_reg a, fvm_x64_reg c)
{
    op_rr(b, W, 0x85, gpr(b, c), gpr(b, a));
}

void fvm_x64_test_ri(fvm_x64_buf *b, fvm_x64_reg a, int32_t imm)
{
    op_rr(b, W, 0xf7, 0, gpr(b, a));
    put32(b, (uint32_t)imm);
}

void fvm_x64_test_mr(fvm_x64_buf *b, fvm_x64_mem a, fvm_x64_reg c)
{
    op_rm(b, W, 0x85, gpr(b, c), &a, 0);
}

void fvm_x64_imul_rr(fvm_x64_buf *b, fvm_x64_reg dst, fvm_x64_reg src)
{
    op_rr(b, W, 0x0faf, gpr(b, dst), gpr(b, src));
}

void fvm_x64_imul_rri(fvm_x64_buf *b, fvm_x64_reg dst, fvm_x64_reg src, int32_t imm)
{
    if (fits8(imm)) {
        op_rr(b, W, 0x6b, gpr(b, dst), gpr(b, src));
        put8(b, (uint8_t)imm);
    } else {
        op_rr(b, W, 0x69, gpr(b, dst), gpr(b, src));
        put32(b, (uint32_t)imm);
    }
}

void fvm_x64_neg(fvm_x64_buf *b, fvm_x64_reg r)
{
    op_rr(b, W, 0xf7, 3, gpr(b, r));
}

void fvm_x64_not(fvm_x64_buf *b, fvm_x64_reg r)
{
    op_rr(b, W, 0xf7, 2, gpr(b, r));
}

void fvm_x64_shift_cl(fvm_x64_buf *b, fvm_x64_shift op, fvm_x64_reg r)
{
    op_rr(b, W, 0xd3, op, gpr(b, r));
}

void fvm_x64_shift_ri(fvm_x64_buf *b, fvm_x64_shift op, fvm_x64_reg r, uint8_t imm)
{
    op_rr(b, W, 0xc1, op, gpr(b, r));
    put8(b, imm);
}

void fvm_x64_cqo(fvm_x64_buf *b)
{
    head(b, W, 0x99, 0);
}

void fvm_x64_idiv(fvm_x64_buf *b, fvm_x64_reg divisor)
{
    op_rr(b, W, 0xf7, 7, gpr(b, divisor));
}

void fvm_x64_setcc(fvm_x64_buf *b, fvm_x64_cc cc, fvm_x64_reg dst)
{
    op_rr(b, BYTE_RM, 0x0f90 | cond(b, cc), 0, gpr(b, dst));
}

void fvm_x64_cmovcc(fvm_x64_buf *b, fvm_x64_cc cc, fvm_x64_reg dst, fvm_x64_reg src)
{
    op_rr(b, W, 0x0f40 | cond(b, cc), gpr(b, dst), gpr(b, src));
}

/* ------------------------------------------------------------------------
 * Control flow
 * ------------------------------------------------------------------------ */

/* A rel8/rel32 field to the label, measured from its own end. */
static void put_rel(fvm_x64_buf *b, unsigned size, fvm_x64_label target)
{
    add_fixup(b, size, target, 0, b->len + size);
    if (size == 1)
        put8(b, 0);
    else
        put32(b, 0);
}

void fvm_x64_jmp(fvm_x64_buf *b, fvm_x64_label target)
{
    put8(b, 0xe9);
    put_rel(b, 4, target);
}

void fvm_x64_jmp8(fvm_x64_buf *b, fvm_x64_label target)
{
    put8(b, 0xeb);
    put_rel(b, 1, target);
}

void fvm_x64_jcc(fvm_x64_buf *b, fvm_x64_cc cc, fvm_x64_label target)
{
    put8(b, 0x0f);
    put8(b, 0x80 | cond(b, cc));
    put_rel(b, 4, target);
}

void fvm_x64_jcc8(fvm_x64_buf *b, fvm_x64_cc cc, fvm_x64_label target)
{
    put8(b, 0x70 | cond(b, cc));
    put_rel(b, 1, target);
}

/* Indirect jumps and calls default to 64-bit operands: no REX.W. */
void fvm_x64_jmp_r(fvm_x64_buf *b, fvm_x64_reg target)
{
    op_rr(b, 0, 0xff, 4, gpr(b, target));
}

void fvm_x64_call_r(fvm_x64_buf *b, fvm_x64_reg target)
{
    op_rr(b, 0, 0xff, 2, gpr(b, target));
}

void fvm_x64_call_abs(fvm_x64_buf *b, uint32_t helper, uint64_t addr)
{
    fvm_x64_mov_ri_abs(b, FVM_X64_RAX, helper, addr);
    fvm_x64_call_r(b, FVM_X64_RAX);
}

void fvm_x64_ret(fvm_x64_buf *b)
{
    put8(b, 0xc3);
}

/* ------------------------------------------------------------------------
 * Scalar double (SSE2)
 * ------------------------------------------------------------------------ */

/* An fvm_x64_sse value is the prefix byte (op_rr's flags) over the byte
 * that follows 0F. */
static unsigned sse_prefix(fvm_x64_sse op)
{
    return (unsigned)op >> 8 & 0xff;
}

static uint32_t sse_opcode(fvm_x64_sse op)
{
    return 0x0f00 | ((unsigned)op & 0xff);
}

void fvm_x64_sse_rr(fvm_x64_buf *b, fvm_x64_sse op, fvm_x64_reg dst, fvm_x64_reg src)
{
    op_rr(b, sse_prefix(op), sse_opcode(op), xmm(b, dst), xmm(b, src));
}

void fvm_x64_sse_rm(fvm_x64_buf *b, fvm_x64_sse op, fvm_x64_reg dst, fvm_x64_mem src)
{
    op_rm(b, sse_prefix(op), sse_opcode(op), xmm(b, dst), &src, 0);
}

void fvm_x64_movsd_mr(fvm_x64_buf *b, fvm_x64_mem dst, fvm_x64_reg src)
{
    op_rm(b, 0xf2, 0x0f11, xmm(b, src), &dst, 0);
}

void fvm_x64_movq_xr(fvm_x64_buf *b, fvm_x64_reg dst_xmm, fvm_x64_reg src_gpr)
{
    op_rr(b, 0x66 | W, 0x0f6e, xmm(b, dst_xmm), gpr(b, src_gpr));
}

void fvm_x64_movq_rx(fvm_x64_buf *b, fvm_x64_reg dst_gpr, fvm_x64_reg src_xmm)
{
    op_rr(b, 0x66 | W, 0x0f7e, xmm(b, src_xmm), gpr(b, dst_gpr));
}

void fvm_x64_cvtsi2sd(fvm_x64_buf *b, fvm_x64_reg dst_xmm, fvm_x64_reg src_gpr)
{
    op_rr(b, 0xf2 | W, 0x0f2a, xmm(b, dst_xmm), gpr(b, src_gpr));
}

void fvm_x64_cvttsd2si(fvm_x64_buf *b, fvm_x64_reg dst_gpr, fvm_x64_reg src_xmm)
{
    op_rr(b, 0xf2 | W, 0x0f2c, gpr(b, dst_gpr), xmm(b, src_xmm));
}

void fvm_x64_roundsd(fvm_x64_buf *b, fvm_x64_reg dst, fvm_x64_reg src, fvm_x64_round mode)
{
    op_rr(b, 0x66, 0x0f3a0b, xmm(b, dst), xmm(b, src));
    put8(b, mode);
}
