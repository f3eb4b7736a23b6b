/* x86-64 instruction encoder: one function per encoding form, appending to
 * a growable code buffer.
 *
 * Conventions:
 * - Integer forms work on 64-bit operands unless the name says 32 or 8.
 * - Operand order follows Intel syntax: destination first.
 * - Nothing here aborts. A bad operand (a GPR where an XMM register belongs,
 *   RSP as an index, a scale of 3), a buffer over its size limit, a jump to a
 *   label never bound or a rel8 jump that does not reach, sets b->failed;
 *   the flag is sticky, the bytes are then meaningless, and fvm_x64_finish
 *   reports it. A compile that fails this way falls back to the interpreter.
 * - Jumps and RIP-relative operands name labels; their displacements are
 *   filled in by fvm_x64_finish, so labels may be bound before or after use.
 * - Absolute addresses of helpers are recorded as relocations (offset of the
 *   imm64 in the code plus a helper id), so the disk cache can store the
 *   code and patch the addresses when it loads it into another process. */
#ifndef FVM_X64_EMIT_H
#define FVM_X64_EMIT_H

#include <stddef.h>
#include <stdint.h>

#include "jit/x64_target.h"

typedef uint32_t fvm_x64_label;

/* An absolute address in the code: the 8 bytes at offset hold the address
 * of helper (an id the caller defines, stable across processes). */
typedef struct fvm_x64_reloc {
    uint32_t offset;
    uint32_t helper;
} fvm_x64_reloc;

/* A displacement to fill in once its label is bound: the size-byte field at
 * `at` receives label + addend - end, where end is the address the CPU
 * measures from (the end of the instruction). */
typedef struct fvm_x64_fixup {
    uint32_t at, end;
    fvm_x64_label label;
    int32_t addend;
    uint8_t size; /* 1 or 4 */
} fvm_x64_fixup;

typedef struct fvm_x64_buf {
    uint8_t *code;
    size_t len, cap;
    size_t limit;  /* the code may not grow past this many bytes */
    bool failed;   /* see the conventions above */
    fvm_x64_reloc *relocs;
    size_t nrelocs, relocs_cap;
    uint32_t *labels; /* offset of each label; FVM_X64_UNBOUND until bound */
    size_t nlabels, labels_cap;
    fvm_x64_fixup *fixups;
    size_t nfixups, fixups_cap;
} fvm_x64_buf;

#define FVM_X64_UNBOUND UINT32_MAX
/* Longest code fvm_x64_buf_init accepts as a limit (offsets are 32-bit). */
#define FVM_X64_MAX_CODE ((size_t)1 << 30)

/* A memory operand: [base + index*scale + disp], or with base FVM_X64_RIP,
 * [rip + label + disp] (the address of a bound label in this buffer). */
typedef struct fvm_x64_mem {
    fvm_x64_reg base;  /* a GPR or FVM_X64_RIP */
    fvm_x64_reg index; /* a GPR other than RSP, or FVM_X64_NOREG */
    uint8_t scale;     /* 1, 2, 4 or 8 */
    int32_t disp;
    fvm_x64_label label; /* with FVM_X64_RIP only */
} fvm_x64_mem;

static inline fvm_x64_mem fvm_x64_mem_base(fvm_x64_reg base, int32_t disp)
{
    fvm_x64_mem m = {base, FVM_X64_NOREG, 1, disp, 0};
    return m;
}

static inline fvm_x64_mem fvm_x64_mem_index(fvm_x64_reg base, fvm_x64_reg index, unsigned scale,
                                            int32_t disp)
{
    fvm_x64_mem m = {base, index, (uint8_t)scale, disp, 0};
    return m;
}

static inline fvm_x64_mem fvm_x64_mem_label(fvm_x64_label label, int32_t disp)
{
    fvm_x64_mem m = {FVM_X64_RIP, FVM_X64_NOREG, 1, disp, label};
    return m;
}

/* The two-operand integer ALU group; the values are the ModRM /digit. */
typedef enum fvm_x64_alu {
    FVM_X64_ADD = 0,
    FVM_X64_OR = 1,
    FVM_X64_AND = 4,
    FVM_X64_SUB = 5,
    FVM_X64_XOR = 6,
    FVM_X64_CMP = 7
} fvm_x64_alu;

/* Shifts; the values are the ModRM /digit. */
typedef enum fvm_x64_shift {
    FVM_X64_SHL = 4,
    FVM_X64_SHR = 5, /* logical */
    FVM_X64_SAR = 7  /* arithmetic */
} fvm_x64_shift;

/* Scalar SSE2 operations of the form "op xmm, xmm/m64": the mandatory
 * prefix in the high byte, the byte after 0F in the low byte. */
typedef enum fvm_x64_sse {
    FVM_X64_MOVSD = 0xf210,   /* load/copy the low double */
    FVM_X64_SQRTSD = 0xf251,
    FVM_X64_ADDSD = 0xf258,
    FVM_X64_MULSD = 0xf259,
    FVM_X64_SUBSD = 0xf25c,
    FVM_X64_DIVSD = 0xf25e,
    FVM_X64_UCOMISD = 0x662e, /* compare; quiet NaN does not raise */
    FVM_X64_COMISD = 0x662f,  /* compare; any NaN raises invalid */
    FVM_X64_ANDPD = 0x6654,   /* 128-bit: a memory operand must be 16-aligned */
    FVM_X64_XORPD = 0x6657,   /* 128-bit: a memory operand must be 16-aligned */
    FVM_X64_MOVAPS = 0x0028   /* whole-register copy (see fvm_x64_sse_rr) */
} fvm_x64_sse;

/* roundsd rounding modes, with bit 3 set so inexact results raise nothing. */
typedef enum fvm_x64_round {
    FVM_X64_ROUND_NEAREST = 0x8,
    FVM_X64_ROUND_FLOOR = 0x9,
    FVM_X64_ROUND_CEIL = 0xa,
    FVM_X64_ROUND_TRUNC = 0xb
} fvm_x64_round;

/* ---- buffer, labels, relocations ---------------------------------------- */

/* An empty buffer that will refuse to grow past limit bytes (at most
 * FVM_X64_MAX_CODE; 0 means that maximum). */
void fvm_x64_buf_init(fvm_x64_buf *b, size_t limit);
void fvm_x64_buf_free(fvm_x64_buf *b);

fvm_x64_label fvm_x64_label_new(fvm_x64_buf *b);
/* Bind label to the current end of the code (each label once). */
void fvm_x64_label_bind(fvm_x64_buf *b, fvm_x64_label label);
/* The offset a label was bound to, or FVM_X64_UNBOUND. */
uint32_t fvm_x64_label_offset(const fvm_x64_buf *b, fvm_x64_label label);

/* Fill in every jump and RIP-relative displacement. Returns false, with
 * b->failed set, when anything went wrong since fvm_x64_buf_init. */
bool fvm_x64_finish(fvm_x64_buf *b);

/* Write addr over the imm64 a relocation names (offset from fvm_x64_reloc)
 * in a copy of the code of len bytes, e.g. one loaded from the disk cache;
 * false, writing nothing, if the 8 bytes do not lie inside the code. */
bool fvm_x64_patch_imm64(uint8_t *code, size_t len, uint32_t offset, uint64_t addr);

/* Pad with int3 up to a multiple of align (a power of two), e.g. before
 * constants that andpd/xorpd read. */
void fvm_x64_align(fvm_x64_buf *b, unsigned align);
/* Pad to a multiple of align (a power of two up to 64) with the fewest
 * multi-byte NOPs, for code that runs through the padding (loop heads). */
void fvm_x64_align_nop(fvm_x64_buf *b, unsigned align);
/* Raw little-endian data, e.g. a constant pool after the code. */
void fvm_x64_data64(fvm_x64_buf *b, uint64_t v);

/* ---- moves ----------------------------------------------------------------- */

void fvm_x64_mov_rr(fvm_x64_buf *b, fvm_x64_reg dst, fvm_x64_reg src);
/* The shortest load of imm: mov r32 (zero-extends), mov r64 with a
 * sign-extended imm32, or movabs. Leaves the flags alone. */
void fvm_x64_mov_ri(fvm_x64_buf *b, fvm_x64_reg dst, int64_t imm);
/* movabs dst, addr with addr recorded as a relocation for helper. */
void fvm_x64_mov_ri_abs(fvm_x64_buf *b, fvm_x64_reg dst, uint32_t helper, uint64_t addr);
void fvm_x64_mov_rm(fvm_x64_buf *b, fvm_x64_reg dst, fvm_x64_mem src);
void fvm_x64_mov_mr(fvm_x64_buf *b, fvm_x64_mem dst, fvm_x64_reg src);
/* mov qword [dst], imm sign-extended from 32 bits. */
void fvm_x64_mov_mi(fvm_x64_buf *b, fvm_x64_mem dst, int32_t imm);
/* 32-bit load (zero-extends into the 64-bit register) and stores, for the
 * 32-bit type word of a value. */
void fvm_x64_mov32_rm(fvm_x64_buf *b, fvm_x64_reg dst, fvm_x64_mem src);
void fvm_x64_mov32_mr(fvm_x64_buf *b, fvm_x64_mem dst, fvm_x64_reg src);
void fvm_x64_mov32_mi(fvm_x64_buf *b, fvm_x64_mem dst, int32_t imm);
/* Zero-extend a byte: movzx dst32, src8 (from the low byte of a register,
 * e.g. after setcc) and movzx dst32, byte [src]. Writing the 32-bit
 * register clears bits 32..63, so the whole 64-bit register holds it. */
void fvm_x64_movzx8_rr(fvm_x64_buf *b, fvm_x64_reg dst, fvm_x64_reg src);
void fvm_x64_movzx8_rm(fvm_x64_buf *b, fvm_x64_reg dst, fvm_x64_mem src);
void fvm_x64_lea(fvm_x64_buf *b, fvm_x64_reg dst, fvm_x64_mem src);
void fvm_x64_push(fvm_x64_buf *b, fvm_x64_reg r);
void fvm_x64_pop(fvm_x64_buf *b, fvm_x64_reg r);

/* ---- integer arithmetic ---------------------------------------------------- */

/* dst = dst op src; CMP only sets the flags. */
void fvm_x64_alu_rr(fvm_x64_buf *b, fvm_x64_alu op, fvm_x64_reg dst, fvm_x64_reg src);
/* imm is sign-extended; the 8-bit immediate form is used when it fits. */
void fvm_x64_alu_ri(fvm_x64_buf *b, fvm_x64_alu op, fvm_x64_reg dst, int32_t imm);
void fvm_x64_alu_rm(fvm_x64_buf *b, fvm_x64_alu op, fvm_x64_reg dst, fvm_x64_mem src);
/* cmp dword [m], imm: a guard on a value's type word. */
void fvm_x64_cmp32_mi(fvm_x64_buf *b, fvm_x64_mem m, int32_t imm);
/* Flags of a & b. */
void fvm_x64_test_rr(fvm_x64_buf *b, fvm_x64_reg a, fvm_x64_reg c);
void fvm_x64_test_ri(fvm_x64_buf *b, fvm_x64_reg a, int32_t imm);
void fvm_x64_test_mr(fvm_x64_buf *b, fvm_x64_mem a, fvm_x64_reg c);
/* dst *= src (low 64 bits); dst = src * imm. */
void fvm_x64_imul_rr(fvm_x64_buf *b, fvm_x64_reg dst, fvm_x64_reg src);
void fvm_x64_imul_rri(fvm_x64_buf *b, fvm_x64_reg dst, fvm_x64_reg src, int32_t imm);
void fvm_x64_neg(fvm_x64_buf *b, fvm_x64_reg r);
void fvm_x64_not(fvm_x64_buf *b, fvm_x64_reg r);
/* Shift r by CL, or by imm (the CPU uses its low six bits). */
void fvm_x64_shift_cl(fvm_x64_buf *b, fvm_x64_shift op, fvm_x64_reg r);
void fvm_x64_shift_ri(fvm_x64_buf *b, fvm_x64_shift op, fvm_x64_reg r, uint8_t imm);
/* Sign-extend RAX into RDX:RAX, then the signed division of RDX:RAX by
 * divisor: quotient in RAX, remainder in RDX. Divisor 0, and INT64_MIN / -1,
 * raise #DE (SIGFPE): the lowering must rule them out first. */
void fvm_x64_cqo(fvm_x64_buf *b);
void fvm_x64_idiv(fvm_x64_buf *b, fvm_x64_reg divisor);
/* The low byte of dst = 1 if cc holds, else 0 (the other bytes are kept:
 * follow with movzx8_rr). */
void fvm_x64_setcc(fvm_x64_buf *b, fvm_x64_cc cc, fvm_x64_reg dst);
void fvm_x64_cmovcc(fvm_x64_buf *b, fvm_x64_cc cc, fvm_x64_reg dst, fvm_x64_reg src);

/* ---- control flow ---------------------------------------------------------- */

/* rel32 forms reach anywhere in the buffer; rel8 forms (2 bytes) reach
 * -128..127 bytes from the end of the jump and fail otherwise. */
void fvm_x64_jmp(fvm_x64_buf *b, fvm_x64_label target);
void fvm_x64_jmp8(fvm_x64_buf *b, fvm_x64_label target);
void fvm_x64_jcc(fvm_x64_buf *b, fvm_x64_cc cc, fvm_x64_label target);
void fvm_x64_jcc8(fvm_x64_buf *b, fvm_x64_cc cc, fvm_x64_label target);
void fvm_x64_jmp_r(fvm_x64_buf *b, fvm_x64_reg target);
void fvm_x64_call_r(fvm_x64_buf *b, fvm_x64_reg target);
/* movabs rax, addr (recorded as a relocation for helper) then call rax.
 * Clobbers RAX, which the call destroys anyway. */
void fvm_x64_call_abs(fvm_x64_buf *b, uint32_t helper, uint64_t addr);
void fvm_x64_ret(fvm_x64_buf *b);

/* ---- scalar double (SSE2) ---------------------------------------------------- */

/* dst = dst op src. For register copies use FVM_X64_MOVAPS rather than
 * MOVSD: movsd xmm, xmm merges into dst's old upper half, so it waits for
 * whatever last wrote dst. */
void fvm_x64_sse_rr(fvm_x64_buf *b, fvm_x64_sse op, fvm_x64_reg dst, fvm_x64_reg src);
void fvm_x64_sse_rm(fvm_x64_buf *b, fvm_x64_sse op, fvm_x64_reg dst, fvm_x64_mem src);
/* movsd qword [dst], src. */
void fvm_x64_movsd_mr(fvm_x64_buf *b, fvm_x64_mem dst, fvm_x64_reg src);
/* Bit copies between a GPR and the low 64 bits of an XMM register. */
void fvm_x64_movq_xr(fvm_x64_buf *b, fvm_x64_reg dst_xmm, fvm_x64_reg src_gpr);
void fvm_x64_movq_rx(fvm_x64_buf *b, fvm_x64_reg dst_gpr, fvm_x64_reg src_xmm);
/* int64 -> double (rounded as the current mode says, nearest by default). */
void fvm_x64_cvtsi2sd(fvm_x64_buf *b, fvm_x64_reg dst_xmm, fvm_x64_reg src_gpr);
/* double -> int64 truncating; NaN and out of range give INT64_MIN. */
void fvm_x64_cvttsd2si(fvm_x64_buf *b, fvm_x64_reg dst_gpr, fvm_x64_reg src_xmm);
/* SSE4.1: emit only when fvm_x64_cpu_features() has FVM_X64_CPU_SSE41. */
void fvm_x64_roundsd(fvm_x64_buf *b, fvm_x64_reg dst, fvm_x64_reg src, fvm_x64_round mode);

#endif
