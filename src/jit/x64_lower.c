/* IR to x86-64 (see x64_lower.h).
 *
 * Every value lives where the register allocator put it: a register, a spill
 * slot [rsp + 8*k], or nowhere (constants, rematerialised at each use).
 * Operands that are not in a register are brought into the scratch
 * registers the allocator never hands out: R10, R11 (GPR), XMM14, XMM15;
 * RAX, RCX and RDX serve division, variable shifts and calls. A result
 * whose value is spilled is computed in a scratch register and stored.
 *
 * Frame: the callee-saved registers the allocation uses are pushed, then
 * the spill area is reserved so that RSP is 16-byte aligned at every call.
 * Guards jump to per-snapshot exit stubs after the body, which store the
 * snapshot (when the function has an exit area) and return the snapshot
 * id + 1 through the common epilogue. Float constants and the sign and
 * magnitude masks sit in a constant pool after the code.
 *
 * Blocks are laid out in instruction order; a jump to the block that
 * follows is left out, and a compare whose only use is the branch right
 * after it becomes a compare-and-jump. Variables live in the homes the
 * allocator gave them; XMM homes are saved around helper calls. */
#include "jit/x64_lower.h"

#include <stdlib.h>
#include <string.h>

#include "jit/helpers.h"

#define G_T1 FVM_X64_R10
#define G_T2 FVM_X64_R11
#define X_T1 FVM_X64_XMM14
#define X_T2 FVM_X64_XMM15

typedef struct lower {
    const fvm_ir_func *f;
    const fvm_ra_result *ra;
    fvm_x64_buf *b;
    fvm_x64_label *pool;  /* per CONST_F value: its pool label, or FVM_X64_UNBOUND */
    fvm_x64_label *exits; /* per snapshot: its exit stub, or FVM_X64_UNBOUND */
    fvm_x64_label *blocks; /* per block: its label */
    fvm_ir_ref *first;     /* per block: its first live instruction, or 0 */
    bool *loop_head;       /* per block: a jump from later in the code comes back to it */
    uint32_t *uses;        /* per value: operand and snapshot uses */
    fvm_x64_label sign_mask, abs_mask, epilogue;
    bool need_sign, need_abs;
    fvm_x64_reg saved[6];
    unsigned nsaved;
    int32_t frame;
} lower;

static const fvm_ir_inst *I(const lower *L, fvm_ir_ref r) { return &L->f->insts[r]; }
static fvm_x64_reg reg_of(const lower *L, fvm_ir_ref r) { return L->ra->reg[r]; }

static fvm_x64_mem spill_mem(const lower *L, fvm_ir_ref r)
{
    return fvm_x64_mem_base(FVM_X64_RSP, 8 * L->ra->spill[r]);
}

static fvm_x64_label pool_label(lower *L, fvm_ir_ref r)
{
    if (L->pool[r] == FVM_X64_UNBOUND)
        L->pool[r] = fvm_x64_label_new(L->b);
    return L->pool[r];
}

/* Put value r (any class, any location) into GPR dst. */
static void load_gpr(lower *L, fvm_x64_reg dst, fvm_ir_ref r)
{
    if (I(L, r)->op == FVM_IR_CONST_I || I(L, r)->op == FVM_IR_CONST_F)
        fvm_x64_mov_ri(L->b, dst, I(L, r)->imm);
    else if (reg_of(L, r) != FVM_X64_NOREG) {
        if (reg_of(L, r) != dst)
            fvm_x64_mov_rr(L->b, dst, reg_of(L, r));
    } else
        fvm_x64_mov_rm(L->b, dst, spill_mem(L, r));
}

static void load_xmm(lower *L, fvm_x64_reg dst, fvm_ir_ref r)
{
    if (I(L, r)->op == FVM_IR_CONST_F)
        fvm_x64_sse_rm(L->b, FVM_X64_MOVSD, dst, fvm_x64_mem_label(pool_label(L, r), 0));
    else if (reg_of(L, r) != FVM_X64_NOREG) {
        if (reg_of(L, r) != dst)
            fvm_x64_sse_rr(L->b, FVM_X64_MOVAPS, dst, reg_of(L, r));
    } else
        fvm_x64_sse_rm(L->b, FVM_X64_MOVSD, dst, spill_mem(L, r));
}

/* The register holding r, loading it into scratch if it has none. */
static fvm_x64_reg src_gpr(lower *L, fvm_ir_ref r, fvm_x64_reg scratch)
{
    if (reg_of(L, r) != FVM_X64_NOREG)
        return reg_of(L, r);
    load_gpr(L, scratch, r);
    return scratch;
}

static fvm_x64_reg src_xmm(lower *L, fvm_ir_ref r, fvm_x64_reg scratch)
{
    if (reg_of(L, r) != FVM_X64_NOREG)
        return reg_of(L, r);
    load_xmm(L, scratch, r);
    return scratch;
}

/* Where to compute value r: its register, or scratch if it is spilled. */
static fvm_x64_reg dst_reg(const lower *L, fvm_ir_ref r, fvm_x64_reg scratch)
{
    return reg_of(L, r) != FVM_X64_NOREG ? reg_of(L, r) : scratch;
}

static void finish_def(lower *L, fvm_ir_ref r, fvm_x64_reg computed)
{
    if (L->ra->spill[r] < 0)
        return;
    if (fvm_x64_is_xmm(computed))
        fvm_x64_movsd_mr(L->b, spill_mem(L, r), computed);
    else
        fvm_x64_mov_mr(L->b, spill_mem(L, r), computed);
}

static bool imm32(const lower *L, fvm_ir_ref r)
{
    const fvm_ir_inst *in = I(L, r);
    return in->op == FVM_IR_CONST_I && in->imm >= INT32_MIN && in->imm <= INT32_MAX;
}

/* ---- integer ops ---------------------------------------------------------------- */

static void lower_alu(lower *L, fvm_ir_ref v, const fvm_ir_inst *in)
{
    fvm_ir_ref a = in->args[0], b = in->args[1];
    fvm_x64_reg rd = dst_reg(L, v, G_T2);
    bool comm = in->op != FVM_IR_SUB;
    bool b_saved = false;
    if (reg_of(L, b) == rd && reg_of(L, a) != rd) { /* loading a would clobber b */
        if (comm) {
            fvm_ir_ref t = a;
            a = b;
            b = t;
        } else {
            fvm_x64_mov_rr(L->b, G_T1, rd);
            b_saved = true;
        }
    }
    load_gpr(L, rd, a);
    if (in->op == FVM_IR_MUL) {
        if (!b_saved && imm32(L, b))
            fvm_x64_imul_rri(L->b, rd, rd, (int32_t)I(L, b)->imm);
        else
            fvm_x64_imul_rr(L->b, rd, b_saved ? G_T1 : src_gpr(L, b, G_T1));
    } else {
        fvm_x64_alu op = in->op == FVM_IR_ADD ? FVM_X64_ADD
                       : in->op == FVM_IR_SUB ? FVM_X64_SUB
                       : in->op == FVM_IR_AND ? FVM_X64_AND
                       : in->op == FVM_IR_OR  ? FVM_X64_OR
                                              : FVM_X64_XOR;
        if (!b_saved && imm32(L, b))
            fvm_x64_alu_ri(L->b, op, rd, (int32_t)I(L, b)->imm);
        else
            fvm_x64_alu_rr(L->b, op, rd, b_saved ? G_T1 : src_gpr(L, b, G_T1));
    }
    finish_def(L, v, rd);
}

static void lower_shift(lower *L, fvm_ir_ref v, const fvm_ir_inst *in)
{
    fvm_x64_reg rd = dst_reg(L, v, G_T2);
    fvm_x64_shift op = in->op == FVM_IR_SHL ? FVM_X64_SHL : in->op == FVM_IR_SAR ? FVM_X64_SAR : FVM_X64_SHR;
    if (I(L, in->args[1])->op == FVM_IR_CONST_I) {
        load_gpr(L, rd, in->args[0]);
        fvm_x64_shift_ri(L->b, op, rd, (uint8_t)(I(L, in->args[1])->imm & 63));
    } else {
        load_gpr(L, FVM_X64_RCX, in->args[1]); /* the CPU masks CL with 63 */
        load_gpr(L, rd, in->args[0]);
        fvm_x64_shift_cl(L->b, op, rd);
    }
    finish_def(L, v, rd);
}

static void lower_unary_int(lower *L, fvm_ir_ref v, const fvm_ir_inst *in)
{
    fvm_x64_reg rd = dst_reg(L, v, G_T2);
    load_gpr(L, rd, in->args[0]);
    if (in->op == FVM_IR_NEG)
        fvm_x64_neg(L->b, rd);
    else
        fvm_x64_not(L->b, rd);
    finish_def(L, v, rd);
}

/* fvm_int_mod: a divisor of 0 or -1 gives 0 (no #DE), else the remainder. */
static void lower_mod(lower *L, fvm_ir_ref v, const fvm_ir_inst *in)
{
    fvm_x64_reg rd = dst_reg(L, v, G_T2);
    bool dynamic = I(L, in->args[1])->op != FVM_IR_CONST_I;
    load_gpr(L, G_T1, in->args[1]);
    load_gpr(L, FVM_X64_RAX, in->args[0]);
    fvm_x64_label zero = fvm_x64_label_new(L->b), done = fvm_x64_label_new(L->b);
    if (dynamic) { /* divisor + 1 <= 1 unsigned: divisor is 0 or -1 */
        fvm_x64_lea(L->b, FVM_X64_RCX, fvm_x64_mem_base(G_T1, 1));
        fvm_x64_alu_ri(L->b, FVM_X64_CMP, FVM_X64_RCX, 1);
        fvm_x64_jcc(L->b, FVM_X64_CC_BE, zero);
    }
    fvm_x64_cqo(L->b);
    fvm_x64_idiv(L->b, G_T1);
    fvm_x64_jmp(L->b, done);
    fvm_x64_label_bind(L->b, zero);
    fvm_x64_mov_ri(L->b, FVM_X64_RDX, 0);
    fvm_x64_label_bind(L->b, done);
    fvm_x64_mov_rr(L->b, rd, FVM_X64_RDX);
    finish_def(L, v, rd);
}

static fvm_x64_cc int_cc(fvm_ir_cond c)
{
    static const fvm_x64_cc map[] = {FVM_X64_CC_E,  FVM_X64_CC_NE, FVM_X64_CC_L,
                                     FVM_X64_CC_G,  FVM_X64_CC_LE, FVM_X64_CC_GE};
    return map[c];
}

static void lower_icmp(lower *L, fvm_ir_ref v, const fvm_ir_inst *in)
{
    fvm_x64_reg ra = src_gpr(L, in->args[0], G_T1);
    if (imm32(L, in->args[1]))
        fvm_x64_alu_ri(L->b, FVM_X64_CMP, ra, (int32_t)I(L, in->args[1])->imm);
    else
        fvm_x64_alu_rr(L->b, FVM_X64_CMP, ra, src_gpr(L, in->args[1], G_T2));
    fvm_x64_reg rd = dst_reg(L, v, G_T2);
    fvm_x64_setcc(L->b, int_cc((fvm_ir_cond)in->aux), rd);
    fvm_x64_movzx8_rr(L->b, rd, rd);
    finish_def(L, v, rd);
}

/* ---- float ops ---------------------------------------------------------------------- */

static void lower_fbin(lower *L, fvm_ir_ref v, const fvm_ir_inst *in)
{
    static const fvm_x64_sse ops[] = {FVM_X64_ADDSD, FVM_X64_SUBSD, FVM_X64_MULSD, FVM_X64_DIVSD};
    fvm_x64_sse op = ops[in->op - FVM_IR_FADD];
    fvm_ir_ref a = in->args[0], b = in->args[1];
    fvm_x64_reg rd = dst_reg(L, v, X_T2);
    fvm_x64_reg rb;
    if (I(L, b)->op == FVM_IR_CONST_F) { /* the pool operand directly */
        load_xmm(L, rd, a);
        fvm_x64_sse_rm(L->b, op, rd, fvm_x64_mem_label(pool_label(L, b), 0));
        finish_def(L, v, rd);
        return;
    }
    bool comm = in->op == FVM_IR_FADD || in->op == FVM_IR_FMUL;
    if (reg_of(L, b) == rd && reg_of(L, a) != rd && comm) {
        fvm_ir_ref t = a; /* b is already where the result goes */
        a = b;
        b = t;
        rb = src_xmm(L, b, X_T1);
    } else if (reg_of(L, b) == rd && reg_of(L, a) != rd) {
        fvm_x64_sse_rr(L->b, FVM_X64_MOVAPS, X_T1, rd); /* loading a would clobber b */
        rb = X_T1;
    } else
        rb = src_xmm(L, b, X_T1);
    load_xmm(L, rd, a);
    fvm_x64_sse_rr(L->b, op, rd, rb);
    finish_def(L, v, rd);
}

static void lower_funary(lower *L, fvm_ir_ref v, const fvm_ir_inst *in)
{
    fvm_x64_reg rd = dst_reg(L, v, X_T2);
    if (in->op == FVM_IR_FSQRT) {
        fvm_x64_sse_rr(L->b, FVM_X64_SQRTSD, rd, src_xmm(L, in->args[0], X_T1));
    } else {
        load_xmm(L, rd, in->args[0]);
        bool neg = in->op == FVM_IR_FNEG;
        L->need_sign |= neg;
        L->need_abs |= !neg;
        fvm_x64_sse_rm(L->b, neg ? FVM_X64_XORPD : FVM_X64_ANDPD, rd,
                       fvm_x64_mem_label(neg ? L->sign_mask : L->abs_mask, 0));
    }
    finish_def(L, v, rd);
}

/* After ucomisd x, y the flags read like an unsigned compare, with NaN
 * setting ZF, PF and CF: A and AE are false for NaN, so LT/LE compare the
 * operands swapped; EQ and NE also consult PF. */
static void lower_fcmp(lower *L, fvm_ir_ref v, const fvm_ir_inst *in)
{
    fvm_x64_reg xa = src_xmm(L, in->args[0], X_T1), xb = src_xmm(L, in->args[1], X_T2);
    fvm_x64_reg rd = dst_reg(L, v, G_T2);
    fvm_ir_cond c = (fvm_ir_cond)in->aux;
    bool swap = c == FVM_IR_LT || c == FVM_IR_LE;
    fvm_x64_sse_rr(L->b, FVM_X64_UCOMISD, swap ? xb : xa, swap ? xa : xb);
    if (c == FVM_IR_EQ || c == FVM_IR_NE) {
        bool eq = c == FVM_IR_EQ;
        fvm_x64_setcc(L->b, eq ? FVM_X64_CC_E : FVM_X64_CC_NE, rd);
        fvm_x64_setcc(L->b, eq ? FVM_X64_CC_NP : FVM_X64_CC_P, G_T1);
        fvm_x64_movzx8_rr(L->b, rd, rd);
        fvm_x64_movzx8_rr(L->b, G_T1, G_T1);
        fvm_x64_alu_rr(L->b, eq ? FVM_X64_AND : FVM_X64_OR, rd, G_T1);
    } else {
        bool strict = c == FVM_IR_LT || c == FVM_IR_GT;
        fvm_x64_setcc(L->b, strict ? FVM_X64_CC_A : FVM_X64_CC_AE, rd);
        fvm_x64_movzx8_rr(L->b, rd, rd);
    }
    finish_def(L, v, rd);
}

static void lower_i2f(lower *L, fvm_ir_ref v, const fvm_ir_inst *in)
{
    fvm_x64_reg ra = src_gpr(L, in->args[0], G_T1);
    fvm_x64_reg rd = dst_reg(L, v, X_T2);
    fvm_x64_sse_rr(L->b, FVM_X64_XORPD, rd, rd); /* cvtsi2sd only writes the low half */
    fvm_x64_cvtsi2sd(L->b, rd, ra);
    finish_def(L, v, rd);
}

/* The interpreter's to_int: truncate; NaN is 0; out of range saturates.
 * cvttsd2si gives INT64_MIN for all three, which only then needs fixing. */
static void lower_f2i(lower *L, fvm_ir_ref v, const fvm_ir_inst *in)
{
    fvm_x64_reg xa = src_xmm(L, in->args[0], X_T1);
    fvm_x64_reg rd = dst_reg(L, v, G_T2);
    fvm_x64_label done = fvm_x64_label_new(L->b);
    fvm_x64_cvttsd2si(L->b, rd, xa);
    fvm_x64_alu_ri(L->b, FVM_X64_CMP, rd, 1); /* overflows only for INT64_MIN */
    fvm_x64_jcc(L->b, FVM_X64_CC_NO, done);
    fvm_x64_sse_rr(L->b, FVM_X64_UCOMISD, xa, xa);
    fvm_x64_mov_ri(L->b, rd, 0);
    fvm_x64_jcc(L->b, FVM_X64_CC_P, done);
    fvm_x64_movq_rx(L->b, rd, xa); /* sign -> all ones or zero; ^ INT64_MAX */
    fvm_x64_shift_ri(L->b, FVM_X64_SAR, rd, 63);
    fvm_x64_mov_ri(L->b, G_T1, INT64_MAX);
    fvm_x64_alu_rr(L->b, FVM_X64_XOR, rd, G_T1);
    fvm_x64_label_bind(L->b, done);
    finish_def(L, v, rd);
}

/* ---- memory, calls, guards ------------------------------------------------------------ */

static void lower_load(lower *L, fvm_ir_ref v, const fvm_ir_inst *in)
{
    fvm_x64_mem m = fvm_x64_mem_base(src_gpr(L, in->args[0], G_T1), (int32_t)in->imm);
    if (in->type == FVM_IR_F64) {
        fvm_x64_reg rd = dst_reg(L, v, X_T2);
        fvm_x64_sse_rm(L->b, FVM_X64_MOVSD, rd, m);
        finish_def(L, v, rd);
    } else {
        fvm_x64_reg rd = dst_reg(L, v, G_T2);
        if (in->aux == 4)
            fvm_x64_mov32_rm(L->b, rd, m);
        else
            fvm_x64_mov_rm(L->b, rd, m);
        finish_def(L, v, rd);
    }
}

static void lower_store(lower *L, const fvm_ir_inst *in)
{
    fvm_x64_mem m = fvm_x64_mem_base(src_gpr(L, in->args[0], G_T1), (int32_t)in->imm);
    if (I(L, in->args[1])->type == FVM_IR_F64)
        fvm_x64_movsd_mr(L->b, m, src_xmm(L, in->args[1], X_T2));
    else
        fvm_x64_mov_mr(L->b, m, src_gpr(L, in->args[1], G_T2));
}

/* Store (or reload, except `keep`) the variables whose homes a call
 * destroys. */
static void save_homes(lower *L, bool save, fvm_x64_reg keep)
{
    for (size_t x = 0; x < L->f->nvars; x++) {
        if (L->ra->home_save[x] < 0 || L->ra->home[x] == keep)
            continue;
        fvm_x64_mem m = fvm_x64_mem_base(FVM_X64_RSP, 8 * L->ra->home_save[x]);
        fvm_x64_reg r = L->ra->home[x];
        if (fvm_x64_is_xmm(r)) {
            if (save)
                fvm_x64_movsd_mr(L->b, m, r);
            else
                fvm_x64_sse_rm(L->b, FVM_X64_MOVSD, r, m);
        } else if (save)
            fvm_x64_mov_mr(L->b, m, r);
        else
            fvm_x64_mov_rm(L->b, r, m);
    }
}

static bool lower_call(lower *L, fvm_ir_ref v, const fvm_ir_inst *in)
{
    const fvm_jit_helper *h = fvm_jit_helper_get(in->aux);
    if (!h || in->nargs > 2)
        return false;
    /* Stage first: an argument may sit in another argument's register. */
    for (unsigned i = 0; i < in->nargs; i++)
        load_xmm(L, (fvm_x64_reg)(X_T1 + i), in->args[i]);
    for (unsigned i = 0; i < in->nargs; i++)
        fvm_x64_sse_rr(L->b, FVM_X64_MOVAPS, fvm_x64_float_arg(i), (fvm_x64_reg)(X_T1 + i));
    save_homes(L, true, FVM_X64_NOREG);
    fvm_x64_call_abs(L->b, h->id, h->addr);
    fvm_x64_reg rd = dst_reg(L, v, X_T2);
    if (rd != FVM_X64_XMM0)
        fvm_x64_sse_rr(L->b, FVM_X64_MOVAPS, rd, FVM_X64_XMM0);
    save_homes(L, false, rd); /* the result may be computed into a home */
    finish_def(L, v, rd);
    return true;
}

/* ---- variables and control flow ------------------------------------------------------ */

static fvm_x64_mem home_mem(const lower *L, uint32_t var)
{
    return fvm_x64_mem_base(FVM_X64_RSP, 8 * L->ra->home_spill[var]);
}

static void lower_vget(lower *L, fvm_ir_ref v, const fvm_ir_inst *in)
{
    fvm_x64_reg h = L->ra->home[in->aux];
    bool xmm = in->type == FVM_IR_F64;
    fvm_x64_reg rd = dst_reg(L, v, xmm ? X_T2 : G_T2);
    if (rd == h)
        return;
    if (h == FVM_X64_NOREG) {
        if (xmm)
            fvm_x64_sse_rm(L->b, FVM_X64_MOVSD, rd, home_mem(L, in->aux));
        else
            fvm_x64_mov_rm(L->b, rd, home_mem(L, in->aux));
    } else if (xmm)
        fvm_x64_sse_rr(L->b, FVM_X64_MOVAPS, rd, h);
    else
        fvm_x64_mov_rr(L->b, rd, h);
    finish_def(L, v, rd);
}

static void lower_vset(lower *L, const fvm_ir_inst *in)
{
    fvm_x64_reg h = L->ra->home[in->aux];
    fvm_ir_ref v = in->args[0];
    bool xmm = L->f->var_types[in->aux] == FVM_IR_F64;
    if (h != FVM_X64_NOREG) {
        if (xmm)
            load_xmm(L, h, v);
        else
            load_gpr(L, h, v);
    } else if (xmm)
        fvm_x64_movsd_mr(L->b, home_mem(L, in->aux), src_xmm(L, v, X_T1));
    else
        fvm_x64_mov_mr(L->b, home_mem(L, in->aux), src_gpr(L, v, G_T1));
}

/* The block laid out after instruction r's, or UINT32_MAX. */
static uint32_t next_block(const lower *L, fvm_ir_ref r)
{
    return r + 1 < L->f->ninsts ? L->f->insts[r + 1].block : UINT32_MAX;
}

/* Where a jump to `block` may go instead: past blocks that only jump. */
static uint32_t resolve(const lower *L, uint32_t block)
{
    for (int hops = 0; hops < 8; hops++) {
        fvm_ir_ref r = L->first[block];
        if (!r || I(L, r)->op != FVM_IR_JMP || I(L, r)->aux == block)
            break;
        block = I(L, r)->aux;
    }
    return block;
}

/* Whether `block` was laid out at or before instruction r's block (a jump
 * there closes a loop). */
static bool backward(const lower *L, fvm_ir_ref r, uint32_t block)
{
    return L->first[block] && L->first[block] <= r;
}

static void jump_to(lower *L, fvm_ir_ref r, uint32_t block)
{
    block = resolve(L, block);
    if (block != next_block(L, r))
        fvm_x64_jmp(L->b, L->blocks[block]);
}

/* Whether compare v is used only by the branch right after it. */
/* A compare whose only use is the branch, or (an integer compare) the
 * guard, right after it: the two become one cmp and jcc. */
static bool fusable_compare(const lower *L, fvm_ir_ref v)
{
    const fvm_ir_inst *in = I(L, v);
    if ((in->op != FVM_IR_ICMP && in->op != FVM_IR_FCMP) || L->uses[v] != 1)
        return false;
    fvm_ir_ref n = v + 1;
    while (n < L->f->ninsts && I(L, n)->dead)
        n++;
    if (n >= L->f->ninsts || I(L, n)->args[0] != v || I(L, n)->block != in->block)
        return false;
    return I(L, n)->op == FVM_IR_BR || (I(L, n)->op == FVM_IR_GUARD && in->op == FVM_IR_ICMP);
}

/* Jump to `target` when compare c holds (when it fails, for an ICMP with
 * `invert`); `otherwise` is where an unordered FCMP EQ goes. */
static void compare_jump(lower *L, const fvm_ir_inst *c, fvm_x64_label target,
                         fvm_x64_label otherwise, bool invert)
{
    fvm_ir_cond cond = (fvm_ir_cond)c->aux;
    if (c->op == FVM_IR_ICMP) {
        fvm_x64_reg ra = src_gpr(L, c->args[0], G_T1);
        if (imm32(L, c->args[1]))
            fvm_x64_alu_ri(L->b, FVM_X64_CMP, ra, (int32_t)I(L, c->args[1])->imm);
        else
            fvm_x64_alu_rr(L->b, FVM_X64_CMP, ra, src_gpr(L, c->args[1], G_T2));
        fvm_x64_cc cc = int_cc(cond);
        fvm_x64_jcc(L->b, invert ? fvm_x64_cc_invert(cc) : cc, target);
        return;
    }
    fvm_x64_reg xa = src_xmm(L, c->args[0], X_T1), xb = src_xmm(L, c->args[1], X_T2);
    bool swap = cond == FVM_IR_LT || cond == FVM_IR_LE;
    fvm_x64_sse_rr(L->b, FVM_X64_UCOMISD, swap ? xb : xa, swap ? xa : xb);
    switch (cond) {
    case FVM_IR_EQ: /* ZF and not unordered */
        fvm_x64_jcc(L->b, FVM_X64_CC_P, otherwise);
        fvm_x64_jcc(L->b, FVM_X64_CC_E, target);
        break;
    case FVM_IR_NE: /* not ZF, or unordered */
        fvm_x64_jcc(L->b, FVM_X64_CC_P, target);
        fvm_x64_jcc(L->b, FVM_X64_CC_NE, target);
        break;
    case FVM_IR_LT: case FVM_IR_GT: fvm_x64_jcc(L->b, FVM_X64_CC_A, target); break;
    default: fvm_x64_jcc(L->b, FVM_X64_CC_AE, target); break;
    }
}

/* A conditional branch. The conditional jump goes where it pays: to the
 * false block when the true block follows or when the false block closes
 * a loop (so a loop's back edge is one compare-and-jump); else to the true
 * block. Float compares are never inverted (NaN). */
static void lower_br(lower *L, fvm_ir_ref r, const fvm_ir_inst *in)
{
    uint32_t t = resolve(L, in->aux), e = resolve(L, (uint32_t)in->imm);
    fvm_ir_ref c = in->args[0];
    if (t == e) { /* both ways lead to the same place (an empty if) */
        jump_to(L, r, t);
        return;
    }
    bool fused = fusable_compare(L, c);
    if (fused && I(L, c)->op == FVM_IR_FCMP) {
        compare_jump(L, I(L, c), L->blocks[t], L->blocks[e], false);
        jump_to(L, r, e);
        return;
    }
    bool invert = t == next_block(L, r) || (backward(L, r, e) && !backward(L, r, t));
    uint32_t target = invert ? e : t, other = invert ? t : e;
    if (fused)
        compare_jump(L, I(L, c), L->blocks[target], 0, invert);
    else {
        fvm_x64_reg rc = src_gpr(L, c, G_T1);
        fvm_x64_test_rr(L->b, rc, rc);
        fvm_x64_jcc(L->b, invert ? FVM_X64_CC_E : FVM_X64_CC_NE, L->blocks[target]);
    }
    jump_to(L, r, other);
}

static void lower_guard(lower *L, const fvm_ir_inst *in)
{
    if (L->exits[in->aux] == FVM_X64_UNBOUND)
        L->exits[in->aux] = fvm_x64_label_new(L->b);
    if (fusable_compare(L, in->args[0])) {
        compare_jump(L, I(L, in->args[0]), L->exits[in->aux], 0, true);
        return;
    }
    fvm_x64_reg rc = src_gpr(L, in->args[0], G_T1);
    fvm_x64_test_rr(L->b, rc, rc);
    fvm_x64_jcc(L->b, FVM_X64_CC_E, L->exits[in->aux]);
}

static bool lower_inst(lower *L, fvm_ir_ref v)
{
    const fvm_ir_inst *in = I(L, v);
    switch ((fvm_ir_op)in->op) {
    case FVM_IR_NOP: case FVM_IR_CONST_I: case FVM_IR_CONST_F: case FVM_IR_PARAM:
        return true; /* constants are rematerialised; parameters moved in the prologue */
    case FVM_IR_ADD: case FVM_IR_SUB: case FVM_IR_MUL: case FVM_IR_AND: case FVM_IR_OR:
    case FVM_IR_XOR:
        lower_alu(L, v, in);
        return true;
    case FVM_IR_SHL: case FVM_IR_SAR: case FVM_IR_SHR: lower_shift(L, v, in); return true;
    case FVM_IR_NEG: case FVM_IR_NOT: lower_unary_int(L, v, in); return true;
    case FVM_IR_MOD: lower_mod(L, v, in); return true;
    case FVM_IR_ICMP:
        if (!fusable_compare(L, v))
            lower_icmp(L, v, in);
        return true;
    case FVM_IR_FADD: case FVM_IR_FSUB: case FVM_IR_FMUL: case FVM_IR_FDIV:
        lower_fbin(L, v, in);
        return true;
    case FVM_IR_FNEG: case FVM_IR_FABS: case FVM_IR_FSQRT: lower_funary(L, v, in); return true;
    case FVM_IR_FCMP:
        if (!fusable_compare(L, v))
            lower_fcmp(L, v, in);
        return true;
    case FVM_IR_I2F: lower_i2f(L, v, in); return true;
    case FVM_IR_F2I: lower_f2i(L, v, in); return true;
    case FVM_IR_LOAD: lower_load(L, v, in); return true;
    case FVM_IR_STORE: lower_store(L, in); return true;
    case FVM_IR_CALL: return lower_call(L, v, in);
    case FVM_IR_GUARD: lower_guard(L, in); return true;
    case FVM_IR_RET:
        fvm_x64_mov_ri(L->b, FVM_X64_RAX, in->aux);
        fvm_x64_jmp(L->b, L->epilogue);
        return true;
    case FVM_IR_VGET: lower_vget(L, v, in); return true;
    case FVM_IR_VSET: lower_vset(L, in); return true;
    case FVM_IR_JMP: jump_to(L, v, in->aux); return true;
    case FVM_IR_BR: lower_br(L, v, in); return true;
    default:
        return false;
    }
}

/* ---- frame ---------------------------------------------------------------------------- */

static bool prologue(lower *L)
{
    fvm_x64_regset cs = L->ra->used & FVM_X64_RSET_CALLEE_SAVED;
    for (unsigned r = 0; r < 16; r++)
        if (cs & FVM_X64_RSET(r)) {
            L->saved[L->nsaved++] = (fvm_x64_reg)r;
            fvm_x64_push(L->b, (fvm_x64_reg)r);
        }
    /* On entry RSP % 16 == 8; pushes and the spill area bring it to 0. */
    int32_t bytes = 8 * (int32_t)L->ra->nspill;
    if ((8 + 8 * L->nsaved + (unsigned)bytes) % 16)
        bytes += 8;
    L->frame = bytes;
    if (bytes)
        fvm_x64_alu_ri(L->b, FVM_X64_SUB, FVM_X64_RSP, bytes);
    /* Parameters: stage all, then place, so none overwrites another's register. */
    fvm_ir_ref params[2];
    unsigned np = 0;
    for (fvm_ir_ref r = 1; r < L->f->ninsts; r++) {
        const fvm_ir_inst *in = I(L, r);
        if (in->op != FVM_IR_PARAM || in->dead)
            continue;
        if (np == 2 || in->aux >= 2)
            return false;
        fvm_x64_mov_rr(L->b, (fvm_x64_reg)(G_T1 + np), fvm_x64_int_arg(in->aux));
        params[np++] = r;
    }
    for (unsigned i = 0; i < np; i++) {
        fvm_x64_reg rd = dst_reg(L, params[i], (fvm_x64_reg)(G_T1 + i));
        if (rd != G_T1 + i)
            fvm_x64_mov_rr(L->b, rd, (fvm_x64_reg)(G_T1 + i));
        finish_def(L, params[i], rd);
    }
    return true;
}

static void epilogue(lower *L)
{
    fvm_x64_label_bind(L->b, L->epilogue);
    if (L->frame)
        fvm_x64_alu_ri(L->b, FVM_X64_ADD, FVM_X64_RSP, L->frame);
    for (unsigned i = L->nsaved; i-- > 0;)
        fvm_x64_pop(L->b, L->saved[i]);
    fvm_x64_ret(L->b);
}

/* Store snapshot s into the exit area (base in R11). */
static void store_snapshot(lower *L, size_t s)
{
    const fvm_ir_func *f = L->f;
    load_gpr(L, G_T2, f->exit_base);
    const fvm_ir_snap *snap = &f->snaps[s];
    for (uint32_t k = 0; k < snap->count; k++) {
        const fvm_ir_snap_entry *e = &f->snap_entries[snap->first + k];
        uint32_t word = e->kind == FVM_IR_SNAP_STACK ? f->exit_stack + e->index : e->index;
        fvm_x64_mem m = fvm_x64_mem_base(G_T2, (int32_t)(8 * word));
        if (e->kind == FVM_IR_SNAP_VAR) {
            fvm_x64_reg h = L->ra->home[e->value];
            bool xmm = f->var_types[e->value] == FVM_IR_F64;
            if (h == FVM_X64_NOREG) {
                fvm_x64_mov_rm(L->b, G_T1, home_mem(L, e->value));
                fvm_x64_mov_mr(L->b, m, G_T1);
            } else if (xmm)
                fvm_x64_movsd_mr(L->b, m, h);
            else
                fvm_x64_mov_mr(L->b, m, h);
        } else if (I(L, e->value)->type == FVM_IR_F64 && I(L, e->value)->op != FVM_IR_CONST_F)
            fvm_x64_movsd_mr(L->b, m, src_xmm(L, e->value, X_T1));
        else
            fvm_x64_mov_mr(L->b, m, src_gpr(L, e->value, G_T1));
    }
}

static void exit_stubs(lower *L)
{
    for (size_t s = 0; s < L->f->nsnaps; s++) {
        if (L->exits[s] == FVM_X64_UNBOUND)
            continue;
        fvm_x64_label_bind(L->b, L->exits[s]);
        if (L->f->exit_base)
            store_snapshot(L, s);
        fvm_x64_mov_ri(L->b, FVM_X64_RAX, (int64_t)s + 1);
        fvm_x64_jmp(L->b, L->epilogue);
    }
}

static void constant_pool(lower *L)
{
    fvm_x64_align(L->b, 16);
    if (L->need_sign) {
        fvm_x64_label_bind(L->b, L->sign_mask);
        fvm_x64_data64(L->b, 0x8000000000000000u);
        fvm_x64_data64(L->b, 0);
    }
    if (L->need_abs) {
        fvm_x64_label_bind(L->b, L->abs_mask);
        fvm_x64_data64(L->b, 0x7fffffffffffffffu);
        fvm_x64_data64(L->b, 0);
    }
    for (fvm_ir_ref r = 1; r < L->f->ninsts; r++)
        if (L->pool[r] != FVM_X64_UNBOUND) {
            fvm_x64_label_bind(L->b, L->pool[r]);
            fvm_x64_data64(L->b, (uint64_t)I(L, r)->imm);
        }
}

/* Blocks a jump or branch later in the code comes back to. */
static bool *find_loop_heads(const lower *L)
{
    const fvm_ir_func *f = L->f;
    bool *head = fvm_xcalloc(f->nblocks + 1, sizeof *head);
    for (fvm_ir_ref r = 1; r < f->ninsts; r++) {
        const fvm_ir_inst *in = &f->insts[r];
        if (in->dead || (in->op != FVM_IR_JMP && in->op != FVM_IR_BR))
            continue;
        uint32_t targets[2] = {resolve(L, in->aux), resolve(L, (uint32_t)in->imm)};
        for (int k = 0; k < (in->op == FVM_IR_BR ? 2 : 1); k++)
            if (backward(L, r, targets[k]))
                head[targets[k]] = true;
    }
    return head;
}

static uint32_t *count_uses(const fvm_ir_func *f)
{
    uint32_t *uses = fvm_xcalloc(f->ninsts + 1, sizeof *uses);
    for (fvm_ir_ref r = 1; r < f->ninsts; r++) {
        const fvm_ir_inst *in = &f->insts[r];
        if (in->dead)
            continue;
        for (unsigned i = 0; i < in->nargs; i++)
            uses[in->args[i]]++;
        if (in->op == FVM_IR_GUARD) {
            const fvm_ir_snap *s = &f->snaps[in->aux];
            for (uint32_t k = 0; k < s->count; k++)
                if (f->snap_entries[s->first + k].kind != FVM_IR_SNAP_VAR)
                    uses[f->snap_entries[s->first + k].value]++;
        }
    }
    return uses;
}

bool fvm_x64_lower(const fvm_ir_func *f, const fvm_ra_result *ra, fvm_x64_buf *b,
                   uint32_t *offsets, const char **why_not)
{
    lower L = {.f = f, .ra = ra, .b = b};
    L.pool = fvm_xmalloc(f->ninsts * sizeof *L.pool);
    L.exits = fvm_xmalloc((f->nsnaps + 1) * sizeof *L.exits);
    for (size_t i = 0; i < f->ninsts; i++)
        L.pool[i] = FVM_X64_UNBOUND;
    for (size_t i = 0; i < f->nsnaps; i++)
        L.exits[i] = FVM_X64_UNBOUND;
    L.sign_mask = fvm_x64_label_new(b);
    L.abs_mask = fvm_x64_label_new(b);
    L.epilogue = fvm_x64_label_new(b);
    L.blocks = fvm_xmalloc((f->nblocks + 1) * sizeof *L.blocks);
    for (uint32_t k = 0; k < f->nblocks; k++)
        L.blocks[k] = fvm_x64_label_new(b);
    L.uses = count_uses(f);
    L.first = fvm_xcalloc(f->nblocks + 1, sizeof *L.first);
    for (fvm_ir_ref r = f->ninsts; r-- > 1;)
        if (!f->insts[r].dead)
            L.first[f->insts[r].block] = r;
    L.loop_head = find_loop_heads(&L);
    bool ok = prologue(&L);
    if (!ok)
        *why_not = "more than two function parameters";
    uint32_t block = UINT32_MAX;
    for (fvm_ir_ref r = 1; ok && r < f->ninsts; r++) {
        if (offsets)
            offsets[r] = (uint32_t)b->len;
        if (f->insts[r].block != block) {
            block = f->insts[r].block;
            if (L.loop_head[block]) /* a loop's first instruction on a fetch boundary */
                fvm_x64_align_nop(b, 16);
            fvm_x64_label_bind(b, L.blocks[block]);
        }
        if (!f->insts[r].dead && !lower_inst(&L, r)) {
            *why_not = "instruction has no x86-64 lowering";
            ok = false;
        }
    }
    if (ok) {
        if (offsets)
            offsets[f->ninsts] = (uint32_t)b->len;
        exit_stubs(&L);
        epilogue(&L);
        constant_pool(&L);
        if (!fvm_x64_finish(b)) {
            *why_not = "code buffer limit or encoding failure";
            ok = false;
        }
    }
    free(L.pool);
    free(L.exits);
    free(L.blocks);
    free(L.uses);
    free(L.first);
    free(L.loop_head);
    return ok;
}

void fvm_x64_dump_code(const fvm_ir_func *f, const uint32_t *offsets, const fvm_x64_buf *b,
                       fvm_buf *out)
{
    for (fvm_ir_ref r = 1; r < f->ninsts; r++) {
        if (f->insts[r].dead || offsets[r + 1] == offsets[r])
            continue;
        fvm_buf_printf(out, "%06x  v%-5u %-6s ", offsets[r], r,
                       fvm_ir_op_name((fvm_ir_op)f->insts[r].op));
        for (uint32_t k = offsets[r]; k < offsets[r + 1]; k++)
            fvm_buf_printf(out, "%02x", b->code[k]);
        fvm_buf_putc(out, '\n');
    }
    fvm_buf_printf(out, "%06x  exits, epilogue, constants (%zu bytes)\n", offsets[f->ninsts],
                   b->len - offsets[f->ninsts]);
}
