/* SSA IR construction with folding and hash-consing, DCE, text dump (see ir.h).
 *
 * There is no separate optimisation pass before register allocation: every
 * instruction goes through fvm_ir_emit, which canonicalises, folds, rewrites
 * and shares it as it is emitted, so a tier gets the IR already simplified
 * and only fvm_ir_dce runs afterwards. */
#include "jit/ir.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arith.h"
#include "jit/helpers.h"

/* The flags column of FVM_IR_OP_LIST (ir.h): pure, commutative, removable. */
enum { P = 1, C = 2, R = 4 };

typedef struct op_info {
    const char *name;
    int8_t nargs; /* -1: variable (CALL) */
    uint8_t flags;
} op_info;

static const op_info op_table[FVM_IR_NOPS] = {
#define FVM_IR_OP_ROW(e, n, a, f) {n, a, f},
    FVM_IR_OP_LIST(FVM_IR_OP_ROW)
#undef FVM_IR_OP_ROW
};

const char *fvm_ir_op_name(fvm_ir_op op) { return op < FVM_IR_NOPS ? op_table[op].name : "?"; }

/* A CALL is as pure as its helper: the math helpers are, so sin(c) folds and
 * two equal calls in one block share a value. An id with no helper (NULL)
 * counts as impure. */
bool fvm_ir_op_pure(const fvm_ir_func *f, const fvm_ir_inst *in)
{
    (void)f;
    if (in->op == FVM_IR_CALL) {
        const fvm_jit_helper *h = fvm_jit_helper_get(in->aux);
        return h && h->pure;
    }
    return op_table[in->op].flags & P;
}

/* R ops (VGET) may go when unused but are not pure: two reads of one
 * variable differ when a VSET comes between them, so they are never shared. */
bool fvm_ir_op_removable(const fvm_ir_func *f, const fvm_ir_inst *in)
{
    return fvm_ir_op_pure(f, in) || (op_table[in->op].flags & R);
}

/* Value 0 is a NOP marked dead: a ref of 0 reads as "none" everywhere, and
 * no pass takes it for an instruction. Block 0 exists and is current from
 * the start: the function's PARAMs are emitted there. */
void fvm_ir_init(fvm_ir_func *f)
{
    memset(f, 0, sizeof *f);
    f->fold = true;
    fvm_grow((void **)&f->insts, &f->insts_cap, 64, sizeof *f->insts);
    memset(&f->insts[0], 0, sizeof f->insts[0]); /* value 0: "none" */
    f->insts[0].dead = true;
    f->ninsts = 1;
    f->nblocks = 1;
}

void fvm_ir_free(fvm_ir_func *f)
{
    free(f->insts);
    free(f->snaps);
    free(f->snap_entries);
    free(f->cse);
    free(f->var_types);
    memset(f, 0, sizeof *f);
}

/* A block is only a number: each instruction records its block, and a
 * block's instructions are contiguous, so there is nothing to allocate. */
uint32_t fvm_ir_block_alloc(fvm_ir_func *f) { return f->nblocks++; }

void fvm_ir_block_enter(fvm_ir_func *f, uint32_t block)
{
    /* Hash-consing only shares values inside one block: a value of another
     * block need not dominate the new one. The table keeps its memory for
     * the next block; only its cells are cleared. */
    if (f->cse)
        memset(f->cse, 0, f->cse_cap * sizeof *f->cse);
    f->cse_count = 0;
    f->cur_block = block;
}

uint32_t fvm_ir_block_new(fvm_ir_func *f)
{
    uint32_t b = fvm_ir_block_alloc(f);
    fvm_ir_block_enter(f, b);
    return b;
}

/* Only the type is recorded here, so each VGET gets a typed value; where the
 * variable lives is the register allocator's choice (ra.c), made once for
 * the whole function from all its VGETs and VSETs. */
uint32_t fvm_ir_var_new(fvm_ir_func *f, fvm_ir_type type)
{
    fvm_grow((void **)&f->var_types, &f->vars_cap, f->nvars + 1, sizeof *f->var_types);
    f->var_types[f->nvars] = (uint8_t)type;
    return (uint32_t)f->nvars++;
}

fvm_ir_ref fvm_ir_vget(fvm_ir_func *f, uint32_t var)
{
    return fvm_ir_emit(f, FVM_IR_VGET, (fvm_ir_type)f->var_types[var], NULL, 0, 0, var);
}

void fvm_ir_vset(fvm_ir_func *f, uint32_t var, fvm_ir_ref v)
{
    fvm_ir_emit(f, FVM_IR_VSET, FVM_IR_VOID, &v, 1, 0, var);
}

void fvm_ir_jmp(fvm_ir_func *f, uint32_t block)
{
    fvm_ir_emit(f, FVM_IR_JMP, FVM_IR_VOID, NULL, 0, 0, block);
}

/* A condition that folded to a constant becomes a JMP, so the arm that can
 * never run is not a successor at all. BR keeps the true block in aux and
 * the false one in imm (ir.h). */
void fvm_ir_br(fvm_ir_func *f, fvm_ir_ref cond, uint32_t if_true, uint32_t if_false)
{
    if (f->fold && f->insts[cond].op == FVM_IR_CONST_I) {
        fvm_ir_jmp(f, f->insts[cond].imm ? if_true : if_false);
        return;
    }
    fvm_ir_emit(f, FVM_IR_BR, FVM_IR_VOID, &cond, 1, if_false, if_true);
}

/* Value 0 ("none") is not a constant, so an absent operand never folds. */
bool fvm_ir_is_const(const fvm_ir_func *f, fvm_ir_ref r)
{
    return r && (f->insts[r].op == FVM_IR_CONST_I || f->insts[r].op == FVM_IR_CONST_F);
}

/* A constant's payload: CONST_I holds the integer in imm, CONST_F the
 * double's bit pattern. */
static int64_t ci(const fvm_ir_func *f, fvm_ir_ref r) { return f->insts[r].imm; }

static double cf(const fvm_ir_func *f, fvm_ir_ref r)
{
    double d;
    memcpy(&d, &f->insts[r].imm, sizeof d);
    return d;
}

/* ---- hash-consing ----------------------------------------------------------- */

/* The pure instructions of the current block sit in an open-addressing table
 * of refs (linear probing, a power-of-two size, at most half full), so
 * emitting an instruction equal to an earlier one returns the earlier value.
 * The table is emptied when a block is entered: every shared value is in
 * the block that uses it. */

/* FNV-1a 64, one field per step, over the fields that make two instructions
 * equal. block and dead are left out: the table only ever holds live
 * instructions of the current block. Operands past nargs are 0 (every
 * instruction starts zeroed), so hashing all three is exact. */
static uint64_t inst_hash(const fvm_ir_inst *in)
{
    uint64_t h = 0xcbf29ce484222325u;
    uint64_t parts[7] = {in->op, in->type, in->nargs, in->aux, in->args[0], in->args[1],
                         in->args[2]};
    for (int i = 0; i < 7; i++)
        h = (h ^ parts[i]) * 0x100000001b3u;
    return (h ^ (uint64_t)in->imm) * 0x100000001b3u;
}

/* Exactly the fields inst_hash hashes: change the two together. */
static bool inst_equal(const fvm_ir_inst *a, const fvm_ir_inst *b)
{
    return a->op == b->op && a->type == b->type && a->nargs == b->nargs && a->aux == b->aux &&
           a->imm == b->imm && memcmp(a->args, b->args, sizeof a->args) == 0;
}

static void cse_insert(fvm_ir_func *f, fvm_ir_ref r);

/* Double the table (256 cells the first time) and insert every ref again.
 * The doubled table holds what the old one did at a quarter load, so the
 * reinserting cse_insert calls never rehash in turn. */
static void cse_rehash(fvm_ir_func *f)
{
    fvm_ir_ref *old = f->cse;
    size_t oldcap = f->cse_cap;
    f->cse_cap = oldcap ? oldcap * 2 : 256;
    f->cse = fvm_xcalloc(f->cse_cap, sizeof *f->cse);
    f->cse_count = 0;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i])
            cse_insert(f, old[i]);
    free(old);
}

/* Grow before the table would be more than half full: a probe then soon
 * meets an empty cell, and always does. */
static void cse_insert(fvm_ir_func *f, fvm_ir_ref r)
{
    if ((f->cse_count + 1) * 2 > f->cse_cap)
        cse_rehash(f);
    size_t mask = f->cse_cap - 1, i = inst_hash(&f->insts[r]) & mask;
    while (f->cse[i])
        i = (i + 1) & mask;
    f->cse[i] = r;
    f->cse_count++;
}

/* 0 if no equal instruction is in the table; the table is not allocated
 * until the first pure instruction is interned. */
static fvm_ir_ref cse_find(const fvm_ir_func *f, const fvm_ir_inst *in)
{
    if (!f->cse_cap)
        return 0;
    size_t mask = f->cse_cap - 1, i = inst_hash(in) & mask;
    for (; f->cse[i]; i = (i + 1) & mask)
        if (inst_equal(&f->insts[f->cse[i]], in))
            return f->cse[i];
    return 0;
}

/* Every instruction enters the array here, stamped with the current block.
 * Growing may move f->insts: no pointer into it survives an emit (which is
 * why fold_algebra works on a copy of its operand). */
static fvm_ir_ref append(fvm_ir_func *f, const fvm_ir_inst *in)
{
    fvm_grow((void **)&f->insts, &f->insts_cap, f->ninsts + 1, sizeof *f->insts);
    f->insts[f->ninsts] = *in;
    f->insts[f->ninsts].block = f->cur_block;
    f->insts[f->ninsts].dead = false;
    return (fvm_ir_ref)f->ninsts++;
}

/* Append, or return an equal pure instruction of this block. Everything else
 * (loads, stores, guards, impure calls, variable reads) is appended each
 * time: each must happen as often as it was emitted. */
static fvm_ir_ref intern(fvm_ir_func *f, const fvm_ir_inst *in)
{
    bool pure = fvm_ir_op_pure(f, in);
    if (pure && f->fold) {
        fvm_ir_ref r = cse_find(f, in);
        if (r)
            return r;
    }
    fvm_ir_ref r = append(f, in);
    if (pure && f->fold)
        cse_insert(f, r);
    return r;
}

/* Constants are interned like any pure instruction: one per distinct value
 * and block. Because the table is per block, a constant used in another
 * block is emitted again there, so no value crosses a block edge by way of
 * a constant. */
static fvm_ir_ref mk_const(fvm_ir_func *f, fvm_ir_op op, fvm_ir_type type, int64_t bits)
{
    fvm_ir_inst in = {.op = (uint8_t)op, .type = (uint8_t)type, .imm = bits};
    return intern(f, &in);
}

fvm_ir_ref fvm_ir_const_i(fvm_ir_func *f, int64_t v) { return mk_const(f, FVM_IR_CONST_I, FVM_IR_I64, v); }

/* Kept as its bit pattern, so hash-consing tells -0.0 from 0.0 and keeps
 * NaN payloads apart: two doubles share a constant only when they are the
 * same bits. */
fvm_ir_ref fvm_ir_const_f(fvm_ir_func *f, double v)
{
    int64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return mk_const(f, FVM_IR_CONST_F, FVM_IR_F64, bits);
}

/* A BOOL constant is a CONST_I of type BOOL. The type is hashed, so it never
 * shares a value with the I64 constant 0 or 1. */
static fvm_ir_ref const_bool(fvm_ir_func *f, bool b) { return mk_const(f, FVM_IR_CONST_I, FVM_IR_BOOL, b); }

/* ---- constant folding --------------------------------------------------------- */

/* The interpreter's comparison: the conditions are in the order of the
 * NumEq..NumGe ops. */
#define CMP(c, x, y) FVM_NUM_COMPARE(FVM_OP_NUM_EQ + (unsigned)(c), x, y)
_Static_assert(FVM_OP_NUM_GE - FVM_OP_NUM_EQ == FVM_IR_GE - FVM_IR_EQ &&
                   FVM_OP_NUM_LT - FVM_OP_NUM_EQ == FVM_IR_LT - FVM_IR_EQ,
               "fvm_ir_cond follows the order of NumEq..NumGe");

/* Evaluate with the interpreter's own wrapping helpers (arith.h), so a folded
 * constant has the bits the interpreter would compute. Shift counts are
 * masked with 63 as the IR defines them (x86 masks the same way). A unary op
 * sees y = 0. I2F is here because its operand is an integer. 0: not folded. */
static fvm_ir_ref fold_int(fvm_ir_func *f, const fvm_ir_inst *in)
{
    int64_t x = ci(f, in->args[0]), y = in->nargs > 1 ? ci(f, in->args[1]) : 0;
    switch (in->op) {
    case FVM_IR_ADD: return fvm_ir_const_i(f, fvm_wrap_add(x, y));
    case FVM_IR_SUB: return fvm_ir_const_i(f, fvm_wrap_sub(x, y));
    case FVM_IR_MUL: return fvm_ir_const_i(f, fvm_wrap_mul(x, y));
    case FVM_IR_MOD: return fvm_ir_const_i(f, fvm_int_mod(x, y));
    case FVM_IR_AND: return fvm_ir_const_i(f, x & y);
    case FVM_IR_OR: return fvm_ir_const_i(f, x | y);
    case FVM_IR_XOR: return fvm_ir_const_i(f, x ^ y);
    case FVM_IR_SHL: return fvm_ir_const_i(f, (int64_t)((uint64_t)x << (y & 63)));
    case FVM_IR_SAR: return fvm_ir_const_i(f, x >> (y & 63));
    case FVM_IR_SHR: return fvm_ir_const_i(f, (int64_t)((uint64_t)x >> (y & 63)));
    case FVM_IR_NEG: return fvm_ir_const_i(f, fvm_wrap_neg(x));
    case FVM_IR_NOT: return fvm_ir_const_i(f, ~x);
    case FVM_IR_ICMP: return const_bool(f, CMP(in->aux, x, y));
    case FVM_IR_I2F: return fvm_ir_const_f(f, (double)x);
    default: return 0;
    }
}

/* The float side: plain C double arithmetic, which is what the interpreter
 * runs (SSE2 doubles on x86-64, no excess precision). F2I is here because
 * its operand is a float. A pure CALL folds by calling the helper itself:
 * every helper is declared double(double, double) (helpers.h), so a
 * one-argument helper gets y = 0.0 and ignores it. */
static fvm_ir_ref fold_float(fvm_ir_func *f, const fvm_ir_inst *in)
{
    double x = cf(f, in->args[0]), y = in->nargs > 1 ? cf(f, in->args[1]) : 0.0;
    switch (in->op) {
    case FVM_IR_FADD: return fvm_ir_const_f(f, x + y);
    case FVM_IR_FSUB: return fvm_ir_const_f(f, x - y);
    case FVM_IR_FMUL: return fvm_ir_const_f(f, x * y);
    case FVM_IR_FDIV: return fvm_ir_const_f(f, x / y);
    case FVM_IR_FNEG: return fvm_ir_const_f(f, -x);
    case FVM_IR_FABS: return fvm_ir_const_f(f, fabs(x));
    case FVM_IR_FSQRT: return fvm_ir_const_f(f, sqrt(x));
    case FVM_IR_FCMP: return const_bool(f, CMP(in->aux, x, y));
    case FVM_IR_F2I: return fvm_ir_const_i(f, fvm_float_to_int(x));
    case FVM_IR_CALL: {
        const fvm_jit_helper *h = fvm_jit_helper_get(in->aux);
        double (*fn)(double, double) = (double (*)(double, double))(uintptr_t)h->addr;
        return fvm_ir_const_f(f, fn(x, y));
    }
    default: return 0;
    }
}

/* An instruction without operands (PARAM, VGET, ...) is never "all
 * constant": the folders read args[0], which must exist. */
static bool all_const(const fvm_ir_func *f, const fvm_ir_inst *in)
{
    for (unsigned i = 0; i < in->nargs; i++)
        if (!fvm_ir_is_const(f, in->args[i]))
            return false;
    return in->nargs > 0;
}

/* The first operand's kind picks the evaluator, not the result type: FCMP and
 * F2I take doubles and give BOOL or I64, I2F the reverse. An impure call is
 * never run at compile time, even if a caller forgot to check. */
static fvm_ir_ref fold_const(fvm_ir_func *f, const fvm_ir_inst *in)
{
    const fvm_ir_inst *a = &f->insts[in->args[0]];
    if (in->op == FVM_IR_CALL && !fvm_ir_op_pure(f, in))
        return 0;
    return a->op == FVM_IR_CONST_F ? fold_float(f, in) : fold_int(f, in);
}

static bool is_ci(const fvm_ir_func *f, fvm_ir_ref r, int64_t v)
{
    return f->insts[r].op == FVM_IR_CONST_I && f->insts[r].imm == v;
}

/* Identities and reassociation of wrapping integer arithmetic; constants
 * are on the right (commutative ops were canonicalised). 0 if none apply.
 *
 * Every rewrite holds exactly modulo 2^64, which is what I64 ops compute;
 * none holds for doubles (rounding, NaN payloads, signed zeros), so floats
 * never come here. The results are built with fvm_ir_op2, so a rewritten
 * instruction is folded, rewritten and shared in turn: (x*c1 + c2)*c3
 * becomes x*(c1*c3) + c2*c3 by the two MUL rules together. Reading
 * ai->args[1] is safe whatever ai is: an operand past nargs is 0, a NOP,
 * never a CONST_I. */
static fvm_ir_ref fold_algebra(fvm_ir_func *f, const fvm_ir_inst *in)
{
    fvm_ir_ref a = in->args[0], b = in->nargs > 1 ? in->args[1] : 0;
    /* A copy: emitting below may move f->insts. */
    const fvm_ir_inst a_copy = f->insts[a], *ai = &a_copy;
    bool bc = b && f->insts[b].op == FVM_IR_CONST_I;
    int64_t c = bc ? ci(f, b) : 0;
    switch (in->op) {
    case FVM_IR_ADD:
        if (bc && c == 0)
            return a;
        if (bc && ai->op == FVM_IR_ADD && f->insts[ai->args[1]].op == FVM_IR_CONST_I) /* (x+c1)+c2 */
            return fvm_ir_op2(f, FVM_IR_ADD, FVM_IR_I64, ai->args[0],
                              fvm_ir_const_i(f, fvm_wrap_add(ci(f, ai->args[1]), c)));
        return 0;
    case FVM_IR_SUB:
        if (a == b) /* x - x is 0 for every x in wrapping arithmetic */
            return fvm_ir_const_i(f, 0);
        if (bc) /* x - c -> x + (-c): lets the add rules see it */
            return fvm_ir_op2(f, FVM_IR_ADD, FVM_IR_I64, a, fvm_ir_const_i(f, fvm_wrap_neg(c)));
        return 0;
    case FVM_IR_MUL:
        if (bc && c == 1)
            return a;
        if (bc && c == 0) /* x * 0: the constant 0 itself */
            return b;
        if (bc && (ai->op == FVM_IR_MUL || ai->op == FVM_IR_ADD) &&
            f->insts[ai->args[1]].op == FVM_IR_CONST_I) {
            int64_t c1 = ci(f, ai->args[1]);
            if (ai->op == FVM_IR_MUL) /* (x * c1) * c2 */
                return fvm_ir_op2(f, FVM_IR_MUL, FVM_IR_I64, ai->args[0],
                                  fvm_ir_const_i(f, fvm_wrap_mul(c1, c)));
            /* (x + c1) * c2 -> x*c2 + c1*c2 */
            fvm_ir_ref m = fvm_ir_op2(f, FVM_IR_MUL, FVM_IR_I64, ai->args[0], b);
            return fvm_ir_op2(f, FVM_IR_ADD, FVM_IR_I64, m, fvm_ir_const_i(f, fvm_wrap_mul(c1, c)));
        }
        return 0;
    case FVM_IR_MOD:
        /* The IR's MOD is the interpreter's Int Mod: by 0 or -1 it is 0 by
         * definition (no trap), and anything mod 1 is 0. */
        if (bc && (c == 0 || c == -1 || c == 1))
            return fvm_ir_const_i(f, 0);
        return 0;
    case FVM_IR_AND:
        if (a == b)
            return a;
        if (bc && c == 0)
            return b;
        if (bc && c == -1)
            return a;
        return 0;
    case FVM_IR_OR:
        if (a == b)
            return a;
        return bc && c == 0 ? a : 0;
    case FVM_IR_XOR:
        if (a == b)
            return fvm_ir_const_i(f, 0);
        return bc && c == 0 ? a : 0;
    case FVM_IR_SHL:
    case FVM_IR_SAR:
    case FVM_IR_SHR:
        /* Counts are masked with 63: a multiple of 64 shifts by nothing. */
        return bc && (c & 63) == 0 ? a : 0;
    case FVM_IR_NEG:
    case FVM_IR_NOT:
        /* -(-x) == x and ~~x == x, INT64_MIN included. */
        return ai->op == in->op ? ai->args[0] : 0;
    default:
        return 0;
    }
}

static void canonicalise(const fvm_ir_func *f, fvm_ir_inst *in)
{
    if (!(op_table[in->op].flags & C))
        return;
    fvm_ir_ref a = in->args[0], b = in->args[1];
    /* Constants go right; otherwise the older value goes left, so a+b and
     * b+a hash alike. This runs before folding, so fold_algebra only looks
     * for a constant on the right. */
    bool ac = fvm_ir_is_const(f, a), bcst = fvm_ir_is_const(f, b);
    if ((ac && !bcst) || (ac == bcst && a > b)) {
        in->args[0] = b;
        in->args[1] = a;
    }
}

/* The steps, in order: canonicalise commutative operands, fold a pure
 * instruction on constants, apply the integer algebra, drop a guard that
 * always holds, intern. Constants skip them all (folding a constant yields
 * itself). A guard on the constant 0 is kept: it always exits.
 *
 * `in` starts zeroed, so the fields an op does not use are 0, which
 * inst_hash and inst_equal rely on. At most FVM_IR_MAX_ARGS operands are
 * copied; no op takes more (helpers take at most two). */
fvm_ir_ref fvm_ir_emit(fvm_ir_func *f, fvm_ir_op op, fvm_ir_type type, const fvm_ir_ref *args,
                       unsigned nargs, int64_t imm, uint32_t aux)
{
    fvm_ir_inst in = {.op = (uint8_t)op, .type = (uint8_t)type, .nargs = (uint8_t)nargs,
                      .aux = aux, .imm = imm};
    for (unsigned i = 0; i < nargs && i < FVM_IR_MAX_ARGS; i++)
        in.args[i] = args[i];
    if (f->fold && op != FVM_IR_CONST_I && op != FVM_IR_CONST_F) {
        canonicalise(f, &in);
        if (fvm_ir_op_pure(f, &in) && all_const(f, &in)) {
            fvm_ir_ref r = fold_const(f, &in);
            if (r)
                return r;
        }
        if (type == FVM_IR_I64 || op == FVM_IR_MOD) {
            fvm_ir_ref r = fold_algebra(f, &in);
            if (r)
                return r;
        }
        if (op == FVM_IR_GUARD && is_ci(f, in.args[0], 1))
            return 0; /* always holds; a guard defines no value */
    }
    return intern(f, &in);
}

fvm_ir_ref fvm_ir_op1(fvm_ir_func *f, fvm_ir_op op, fvm_ir_type type, fvm_ir_ref a)
{
    return fvm_ir_emit(f, op, type, &a, 1, 0, 0);
}

fvm_ir_ref fvm_ir_op2(fvm_ir_func *f, fvm_ir_op op, fvm_ir_type type, fvm_ir_ref a, fvm_ir_ref b)
{
    fvm_ir_ref args[2] = {a, b};
    return fvm_ir_emit(f, op, type, args, 2, 0, 0);
}

fvm_ir_ref fvm_ir_cmp(fvm_ir_func *f, fvm_ir_op op, fvm_ir_cond cond, fvm_ir_ref a, fvm_ir_ref b)
{
    fvm_ir_ref args[2] = {a, b};
    return fvm_ir_emit(f, op, FVM_IR_BOOL, args, 2, 0, cond);
}

/* Helpers take and return doubles (helpers.h), so a call's value is F64. */
fvm_ir_ref fvm_ir_call(fvm_ir_func *f, uint32_t helper, const fvm_ir_ref *args, unsigned nargs)
{
    return fvm_ir_emit(f, FVM_IR_CALL, FVM_IR_F64, args, nargs, 0, helper);
}

/* The entries of all snapshots share one array and a snapshot names its
 * range of it, so a function with many guards makes two allocations, not
 * one per guard. The entries are copied: the caller may reuse its array. */
uint32_t fvm_ir_snap_add(fvm_ir_func *f, uint32_t ip, const fvm_ir_snap_entry *entries,
                         size_t count)
{
    fvm_grow((void **)&f->snap_entries, &f->snap_entries_cap, f->nsnap_entries + count,
             sizeof *f->snap_entries);
    if (count)
        memcpy(f->snap_entries + f->nsnap_entries, entries, count * sizeof *entries);
    fvm_grow((void **)&f->snaps, &f->snaps_cap, f->nsnaps + 1, sizeof *f->snaps);
    f->snaps[f->nsnaps] = (fvm_ir_snap){ip, (uint32_t)f->nsnap_entries, (uint32_t)count};
    f->nsnap_entries += count;
    return (uint32_t)f->nsnaps++;
}

/* ---- dead code elimination ----------------------------------------------------- */

/* An instruction is live if DCE may not remove it (anything neither pure nor
 * R: loads, stores, guards, impure calls, VSET, control flow) or a live
 * instruction uses it. A guard's snapshot values are uses: the exit rebuilds
 * the interpreter's state from them. VAR entries name variables, not values,
 * and keep nothing alive here; the VSETs that write variables are never
 * removable. An instruction already dead stays dead, so running the pass
 * again changes nothing. */
void fvm_ir_dce(fvm_ir_func *f)
{
    bool *live = fvm_xcalloc(f->ninsts ? f->ninsts : 1, sizeof *live);
    /* Operands precede their users, so one backward sweep suffices. */
    for (size_t r = f->ninsts; r-- > 1;) {
        fvm_ir_inst *in = &f->insts[r];
        if (in->dead)
            continue;
        if (!fvm_ir_op_removable(f, in))
            live[r] = true;
        if (!live[r])
            continue;
        for (unsigned i = 0; i < in->nargs; i++)
            live[in->args[i]] = true;
        if (in->op == FVM_IR_GUARD) {
            const fvm_ir_snap *s = &f->snaps[in->aux];
            for (uint32_t k = 0; k < s->count; k++)
                if (f->snap_entries[s->first + k].kind != FVM_IR_SNAP_VAR)
                    live[f->snap_entries[s->first + k].value] = true;
        }
    }
    for (size_t r = 1; r < f->ninsts; r++)
        if (!live[r])
            f->insts[r].dead = true;
    free(live);
}

size_t fvm_ir_live_count(const fvm_ir_func *f)
{
    size_t n = 0;
    for (size_t r = 1; r < f->ninsts; r++)
        n += !f->insts[r].dead;
    return n;
}

/* ---- text dump ------------------------------------------------------------------- */

/* The --dump=ir text, one instruction a line:
 *   vN:type = op[.cond] [helper] vA, vB  then the op's extras
 * (a constant, an offset, a variable, blocks, a snapshot); instructions
 * without a value leave out "vN:type = ". Values print as vN, variables as
 * xN, blocks as blockN. A guard lists its snapshot's entries as sI=vN (slot
 * I holds value N), tI=vN (stack position I) and wI=xN (slot I holds
 * variable N). tests/unit/test_jit_ir.c reads this text. */
static const char *const type_names[] = {"void", "i64", "f64", "ptr", "bool"};
static const char *const cond_names[] = {"eq", "ne", "lt", "gt", "le", "ge"};

static void dump_inst(const fvm_ir_func *f, fvm_ir_ref r, fvm_buf *out)
{
    const fvm_ir_inst *in = &f->insts[r];
    fvm_buf_puts(out, "  ");
    if (in->type != FVM_IR_VOID)
        fvm_buf_printf(out, "v%u:%s = ", r, type_names[in->type]);
    fvm_buf_puts(out, op_table[in->op].name);
    if (in->op == FVM_IR_ICMP || in->op == FVM_IR_FCMP)
        fvm_buf_printf(out, ".%s", cond_names[in->aux]);
    if (in->op == FVM_IR_CALL) {
        const fvm_jit_helper *h = fvm_jit_helper_get(in->aux);
        fvm_buf_printf(out, " %s", h ? h->symbol : "?");
    }
    for (unsigned i = 0; i < in->nargs; i++)
        fvm_buf_printf(out, "%s v%u", i ? "," : "", in->args[i]);
    switch (in->op) {
    case FVM_IR_CONST_I: fvm_buf_printf(out, " %lld", (long long)in->imm); break;
    /* 17 significant digits name any double exactly. */
    case FVM_IR_CONST_F: fvm_buf_printf(out, " %.17g", cf(f, r)); break;
    case FVM_IR_PARAM: fvm_buf_printf(out, " %u", in->aux); break;
    case FVM_IR_LOAD:
    case FVM_IR_STORE: fvm_buf_printf(out, ", +%lld", (long long)in->imm); break;
    case FVM_IR_RET: fvm_buf_printf(out, " %u", in->aux); break;
    case FVM_IR_VGET:
    case FVM_IR_VSET: fvm_buf_printf(out, "%sx%u", in->nargs ? ", " : " ", in->aux); break;
    case FVM_IR_JMP: fvm_buf_printf(out, " block%u", in->aux); break;
    case FVM_IR_BR: fvm_buf_printf(out, ", block%u, block%lld", in->aux, (long long)in->imm); break;
    case FVM_IR_GUARD: {
        const fvm_ir_snap *s = &f->snaps[in->aux];
        fvm_buf_printf(out, " snap%u ip=%u [", in->aux, s->ip);
        for (uint32_t k = 0; k < s->count; k++) {
            const fvm_ir_snap_entry *e = &f->snap_entries[s->first + k];
            static const char *const kinds[] = {"s", "t", "w"};
            fvm_buf_printf(out, "%s%s%u=%s%u", k ? " " : "", kinds[e->kind], e->index,
                           e->kind == FVM_IR_SNAP_VAR ? "x" : "v", e->value);
        }
        fvm_buf_putc(out, ']');
        break;
    }
    default: break;
    }
    fvm_buf_putc(out, '\n');
}

void fvm_ir_dump(const fvm_ir_func *f, fvm_buf *out)
{
    uint32_t block = UINT32_MAX;
    for (fvm_ir_ref r = 1; r < f->ninsts; r++) {
        if (f->insts[r].dead)
            continue;
        if (f->insts[r].block != block) {
            block = f->insts[r].block;
            fvm_buf_printf(out, "block%u:\n", block);
        }
        dump_inst(f, r, out);
    }
}
