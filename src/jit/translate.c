/* The op-to-IR translator (see translate.h). One function per translation
 * class of the JIT op table; the numeric ops are typed here, once, for
 * every tier. */
#include "jit/translate.h"

#include <string.h>

#include "jit/helpers.h"
#include "jit/jitop.h"
#include "opinfo.h"

/* ---- kinds ------------------------------------------------------------------------ */

fvm_jit_kind fvm_jit_kind_of(fvm_value v)
{
    switch (v.type) {
    case FVM_T_INT: return FVM_JK_INT;
    case FVM_T_FLOAT: return FVM_JK_FLOAT;
    case FVM_T_BOOL: return FVM_JK_BOOL;
    case FVM_T_UNDEF: return FVM_JK_UNDEF;
    default: return FVM_JK_OTHER;
    }
}

fvm_value fvm_jit_kind_value(uint8_t k, int64_t bits)
{
    switch (k) {
    case FVM_JK_INT: return fvm_int(bits);
    case FVM_JK_BOOL: return fvm_bool(bits != 0);
    case FVM_JK_FLOAT: {
        double d;
        memcpy(&d, &bits, sizeof d);
        return fvm_float(d);
    }
    default: return fvm_undef();
    }
}

static fvm_tv tv(fvm_ir_ref r, fvm_jit_kind k) { return (fvm_tv){r, (uint8_t)k, -1}; }

/* A constant of v's kind (v Int, Float, Bool or Undef). A Bool constant
 * is typed BOOL in the IR so compares fold against it as 0/1. */
static fvm_tv const_of(fvm_ir_func *f, fvm_value v)
{
    fvm_jit_kind k = fvm_jit_kind_of(v);
    if (k == FVM_JK_FLOAT)
        return tv(fvm_ir_const_f(f, v.as.f), k);
    if (k == FVM_JK_BOOL)
        return tv(fvm_ir_emit(f, FVM_IR_CONST_I, FVM_IR_BOOL, NULL, 0, v.as.b, 0), k);
    return tv(fvm_ir_const_i(f, k == FVM_JK_INT ? v.as.i : 0), k);
}

/* Typed conversions, as the interpreter's to_float, to_int and truthiness
 * (a value that is not 0 when true; NaN is true). */
static fvm_ir_ref fvm_tv_to_float(fvm_ir_func *f, fvm_tv v)
{
    if (v.k == FVM_JK_UNDEF)
        return fvm_ir_const_f(f, 0.0);
    return v.k == FVM_JK_FLOAT ? v.r : fvm_ir_op1(f, FVM_IR_I2F, FVM_IR_F64, v.r);
}

static fvm_ir_ref fvm_tv_to_int(fvm_ir_func *f, fvm_tv v)
{
    if (v.k == FVM_JK_UNDEF)
        return fvm_ir_const_i(f, 0);
    return v.k == FVM_JK_FLOAT ? fvm_ir_op1(f, FVM_IR_F2I, FVM_IR_I64, v.r) : v.r;
}

static fvm_ir_ref fvm_tv_truth(fvm_ir_func *f, fvm_tv v)
{
    if (v.k == FVM_JK_FLOAT)
        return fvm_ir_cmp(f, FVM_IR_FCMP, FVM_IR_NE, v.r, fvm_ir_const_f(f, 0.0));
    return v.k == FVM_JK_UNDEF ? fvm_ir_const_i(f, 0) : v.r;
}

/* ---- the stack ------------------------------------------------------------------------ */

void fvm_tr_init(fvm_tr *t, fvm_ir_func *f, const fvm_chunk *c, const fvm_tr_hooks *hooks,
                 void *tier, fvm_tv *stack, uint32_t max_depth)
{
    *t = (fvm_tr){.f = f, .c = c, .hooks = hooks, .tier = tier, .stack = stack,
                  .max_depth = max_depth};
}

bool fvm_tr_decline(fvm_tr *t, fvm_jit_reason r)
{
    if (t->why == FVM_JIT_REASON_NONE)
        t->why = r;
    return false;
}

void fvm_tr_push(fvm_tr *t, fvm_ir_ref r, uint8_t k, int32_t var)
{
    t->stack[t->depth++] = (fvm_tv){r, k, var};
}

static void push(fvm_tr *t, fvm_tv v) { fvm_tr_push(t, v.r, v.k, -1); }
static fvm_tv pop(fvm_tr *t) { return t->stack[--t->depth]; }
static fvm_tv *top(fvm_tr *t, unsigned k) { return &t->stack[t->depth - 1 - k]; }

/* Leave native code before this op for good: the rest of the block is
 * not built. */
static bool exit_here(fvm_tr *t, fvm_jit_reason why)
{
    t->hooks->guard(t, 0, why);
    t->dead = true;
    return false;
}

/* The slot as the fused ops read it (to_int; Undef is 0). */
static bool slot_int(fvm_tr *t, uint16_t k, fvm_ir_ref *out)
{
    fvm_tv s;
    if (!t->hooks->slot_get(t, k, &s))
        return false;
    *out = fvm_tv_to_int(t->f, s);
    return true;
}

/* ---- numeric ops ----------------------------------------------------------------------- */

static bool both_int(const fvm_tv *a) { return a[0].k == FVM_JK_INT && a[1].k == FVM_JK_INT; }

static fvm_ir_ref compare(fvm_ir_func *f, fvm_ir_cond cond, const fvm_tv *a)
{
    if (both_int(a))
        return fvm_ir_cmp(f, FVM_IR_ICMP, cond, a[0].r, a[1].r);
    return fvm_ir_cmp(f, FVM_IR_FCMP, cond, fvm_tv_to_float(f, a[0]), fvm_tv_to_float(f, a[1]));
}

static fvm_tv arith(fvm_ir_func *f, unsigned code, const fvm_tv *a)
{
    static const fvm_ir_op iops[] = {FVM_IR_ADD, FVM_IR_SUB, FVM_IR_MUL};
    static const fvm_ir_op fops[] = {FVM_IR_FADD, FVM_IR_FSUB, FVM_IR_FMUL};
    unsigned k = code - FVM_OP_ADD;
    if (both_int(a))
        return tv(fvm_ir_op2(f, iops[k], FVM_IR_I64, a[0].r, a[1].r), FVM_JK_INT);
    return tv(fvm_ir_op2(f, fops[k], FVM_IR_F64, fvm_tv_to_float(f, a[0]), fvm_tv_to_float(f, a[1])),
              FVM_JK_FLOAT);
}

/* The op's helper on its operands converted to_float (the interpreter
 * calls the same libm function on the same doubles). */
static fvm_tv float_call(fvm_ir_func *f, unsigned code, const fvm_tv *a)
{
    fvm_ir_ref args[2];
    unsigned n = (unsigned)fvm_opinfo_table[code].pop;
    for (unsigned i = 0; i < n; i++)
        args[i] = fvm_tv_to_float(f, a[i]);
    return tv(fvm_ir_call(f, fvm_jitop_table[code].helper, args, n), FVM_JK_FLOAT);
}

/* and/or/xor of n operands, each to_float then to an integer (saturating,
 * NaN 0), as awk.c folds them. */
static fvm_tv awk_bitfold(fvm_ir_func *f, unsigned code, const fvm_tv *a, unsigned n)
{
    fvm_ir_op op = code == FVM_OP_AWK_AND ? FVM_IR_AND : code == FVM_OP_AWK_OR ? FVM_IR_OR : FVM_IR_XOR;
    fvm_ir_ref acc = 0;
    for (unsigned i = 0; i < n; i++) {
        fvm_ir_ref x = fvm_ir_op1(f, FVM_IR_F2I, FVM_IR_I64, fvm_tv_to_float(f, a[i]));
        acc = i ? fvm_ir_op2(f, op, FVM_IR_I64, acc, x) : x;
    }
    return tv(acc, FVM_JK_INT);
}

static fvm_tv bitwise(fvm_ir_func *f, unsigned code, const fvm_tv *a)
{
    fvm_ir_op op = code == FVM_OP_BIT_AND ? FVM_IR_AND
                 : code == FVM_OP_BIT_OR  ? FVM_IR_OR
                 : code == FVM_OP_BIT_XOR ? FVM_IR_XOR
                 : code == FVM_OP_SHL     ? FVM_IR_SHL
                                          : FVM_IR_SAR;
    return tv(fvm_ir_op2(f, op, FVM_IR_I64, fvm_tv_to_int(f, a[0]), fvm_tv_to_int(f, a[1])),
              FVM_JK_INT);
}

/* A NUMERIC op on a[0..n) (push order, each of a numeric kind or Undef). */
static fvm_tv numeric_value(fvm_ir_func *f, unsigned code, const fvm_tv *a, unsigned n)
{
    switch (code) {
    case FVM_OP_ADD: case FVM_OP_SUB: case FVM_OP_MUL: return arith(f, code, a);
    case FVM_OP_MOD:
        if (both_int(a))
            return tv(fvm_ir_op2(f, FVM_IR_MOD, FVM_IR_I64, a[0].r, a[1].r), FVM_JK_INT);
        return float_call(f, code, a);
    case FVM_OP_NEGATE:
        if (a[0].k == FVM_JK_INT)
            return tv(fvm_ir_op1(f, FVM_IR_NEG, FVM_IR_I64, a[0].r), FVM_JK_INT);
        return tv(fvm_ir_op1(f, FVM_IR_FNEG, FVM_IR_F64, fvm_tv_to_float(f, a[0])), FVM_JK_FLOAT);
    case FVM_OP_INC: case FVM_OP_DEC:
        return tv(fvm_ir_op2(f, FVM_IR_ADD, FVM_IR_I64, fvm_tv_to_int(f, a[0]),
                             fvm_ir_const_i(f, code == FVM_OP_INC ? 1 : -1)), FVM_JK_INT);
    case FVM_OP_NUM_EQ: case FVM_OP_NUM_NE: case FVM_OP_NUM_LT: case FVM_OP_NUM_GT:
    case FVM_OP_NUM_LE: case FVM_OP_NUM_GE:
        return tv(compare(f, (fvm_ir_cond)(code - FVM_OP_NUM_EQ), a), FVM_JK_BOOL);
    case FVM_OP_SPACESHIP:
        return tv(fvm_ir_op2(f, FVM_IR_SUB, FVM_IR_I64, compare(f, FVM_IR_GT, a), compare(f, FVM_IR_LT, a)),
                  FVM_JK_INT);
    case FVM_OP_LOG_NOT: /* !truthy */
        if (a[0].k == FVM_JK_FLOAT)
            return tv(fvm_ir_cmp(f, FVM_IR_FCMP, FVM_IR_EQ, a[0].r, fvm_ir_const_f(f, 0.0)), FVM_JK_BOOL);
        return tv(fvm_ir_cmp(f, FVM_IR_ICMP, FVM_IR_EQ, fvm_tv_to_int(f, a[0]), fvm_ir_const_i(f, 0)),
                  FVM_JK_BOOL);
    case FVM_OP_BIT_AND: case FVM_OP_BIT_OR: case FVM_OP_BIT_XOR: case FVM_OP_SHL: case FVM_OP_SHR:
        return bitwise(f, code, a);
    case FVM_OP_BIT_NOT:
        return tv(fvm_ir_op1(f, FVM_IR_NOT, FVM_IR_I64, fvm_tv_to_int(f, a[0])), FVM_JK_INT);
    case FVM_OP_TRUNC_INT: return tv(fvm_tv_to_int(f, a[0]), FVM_JK_INT);
    case FVM_OP_ABS_FLOAT: case FVM_OP_SQRT_FLOAT:
        return tv(fvm_ir_op1(f, code == FVM_OP_ABS_FLOAT ? FVM_IR_FABS : FVM_IR_FSQRT, FVM_IR_F64,
                             fvm_tv_to_float(f, a[0])), FVM_JK_FLOAT);
    case FVM_OP_AWK_AND: case FVM_OP_AWK_OR: case FVM_OP_AWK_XOR: return awk_bitfold(f, code, a, n);
    default: /* the math functions: the row names their helper */
        return float_call(f, code, a);
    }
}

/* Operands the numeric ops convert (numbers, and Undef as 0); any other
 * value is the interpreter's to handle. */
static bool operands_numeric(fvm_tr *t, unsigned n)
{
    for (unsigned k = 0; k < n; k++) {
        uint8_t kind = top(t, k)->k;
        if (!fvm_jit_kind_numeric(kind) && kind != FVM_JK_UNDEF)
            return exit_here(t, FVM_JIT_REASON_EXIT_VALUE_KIND);
    }
    return true;
}

static bool numeric(fvm_tr *t, const fvm_op *op, unsigned n)
{
    if (!operands_numeric(t, n))
        return false;
    fvm_tv r = numeric_value(t->f, op->code, &t->stack[t->depth - n], n);
    t->depth -= n;
    push(t, r);
    return true;
}

/* Div and the AWK divisions: a zero divisor is left to the interpreter
 * (it pushes Undef, or raises the AWK error). The guard comes before the
 * operands are popped, so its snapshot shows the stack before the op. */
static bool divide(fvm_tr *t, unsigned code)
{
    fvm_ir_func *f = t->f;
    fvm_ir_ref d = fvm_tv_to_float(f, *top(t, 0)), n = fvm_tv_to_float(f, *top(t, 1));
    if (!t->hooks->guard(t, fvm_ir_cmp(f, FVM_IR_FCMP, FVM_IR_NE, d, fvm_ir_const_f(f, 0.0)),
                         FVM_JIT_REASON_EXIT_ZERO_DIVISOR))
        return false;
    t->depth -= 2;
    uint8_t h = fvm_jitop_table[code].helper;
    if (h) {
        fvm_ir_ref args[2] = {n, d};
        push(t, tv(fvm_ir_call(f, h, args, 2), FVM_JK_FLOAT));
    } else
        push(t, tv(fvm_ir_op2(f, FVM_IR_FDIV, FVM_IR_F64, n, d), FVM_JK_FLOAT));
    return true;
}

/* AwkInt: trunc, an Int when in [-2^63, 2^63] (the top saturating), else
 * the interpreter's Float (infinities, NaN, huge values): left to it. */
static bool awk_int(fvm_tr *t)
{
    fvm_ir_func *f = t->f;
    fvm_ir_ref x = fvm_tv_to_float(f, *top(t, 0));
    fvm_ir_ref r = fvm_ir_call(f, fvm_jitop_table[FVM_OP_AWK_INT].helper, &x, 1);
    fvm_ir_ref lo = fvm_ir_cmp(f, FVM_IR_FCMP, FVM_IR_GE, r, fvm_ir_const_f(f, -9223372036854775808.0));
    fvm_ir_ref hi = fvm_ir_cmp(f, FVM_IR_FCMP, FVM_IR_LE, r, fvm_ir_const_f(f, 9223372036854775808.0));
    if (!t->hooks->guard(t, fvm_ir_op2(f, FVM_IR_AND, FVM_IR_BOOL, lo, hi), FVM_JIT_REASON_EXIT_INT_RANGE))
        return false;
    t->depth--;
    push(t, tv(fvm_ir_op1(f, FVM_IR_F2I, FVM_IR_I64, r), FVM_JK_INT));
    return true;
}

static bool guarded(fvm_tr *t, const fvm_op *op)
{
    unsigned n = (unsigned)fvm_opinfo_table[op->code].pop;
    if (!operands_numeric(t, n))
        return false;
    return op->code == FVM_OP_AWK_INT ? awk_int(t) : divide(t, op->code);
}

/* ---- constants and the stack ---------------------------------------------------------- */

static void load_const(fvm_tr *t, const fvm_op *op)
{
    switch (op->code) {
    case FVM_OP_LOAD_INT: push(t, tv(fvm_ir_const_i(t->f, op->u.i), FVM_JK_INT)); return;
    case FVM_OP_LOAD_FLOAT: push(t, tv(fvm_ir_const_f(t->f, op->u.f), FVM_JK_FLOAT)); return;
    case FVM_OP_LOAD_CONST: push(t, const_of(t->f, t->c->consts[op->a])); return;
    case FVM_OP_LOAD_UNDEF: push(t, tv(fvm_ir_const_i(t->f, 0), FVM_JK_UNDEF)); return;
    default: push(t, const_of(t->f, fvm_bool(op->code == FVM_OP_LOAD_TRUE))); return;
    }
}

/* Values moved on the stack keep their IR value and kind; each pushed
 * copy is a new stack entry, with no variable of origin. */
static void stack_op(fvm_tr *t, unsigned code)
{
    fvm_tv a, b, c;
    switch (code) {
    case FVM_OP_POP: t->depth--; return;
    case FVM_OP_DUP: push(t, *top(t, 0)); return;
    case FVM_OP_DUP2: a = *top(t, 1), b = *top(t, 0); push(t, a); push(t, b); return;
    case FVM_OP_SWAP: a = pop(t), b = pop(t); push(t, a); push(t, b); return;
    default: /* Rot: [a, b, c] -> [b, c, a] */
        c = pop(t), b = pop(t), a = pop(t);
        push(t, b);
        push(t, c);
        push(t, a);
        return;
    }
}

/* ---- slots and globals -------------------------------------------------------------------- */

/* GetVar pushes a copy of the global's value; SetVar and DeclareVar pop
 * into it (the interpreter runs both the same way). */
static bool global_op(fvm_tr *t, const fvm_op *op)
{
    fvm_tv v;
    if (op->code != FVM_OP_GET_VAR) {
        t->hooks->global_set(t, op->a, pop(t));
        return true;
    }
    if (!t->hooks->global_get(t, op->a, &v))
        return false;
    push(t, tv(v.r, v.k));
    return true;
}

/* GetSlot pushes a copy of the slot's value as a new stack entry (a later
 * write of the slot does not change what was pushed). */
static bool slot_op(fvm_tr *t, const fvm_op *op)
{
    fvm_tv v;
    if (op->code == FVM_OP_SET_SLOT) {
        t->hooks->slot_set(t, op->a, pop(t));
        return true;
    }
    if (!t->hooks->slot_get(t, op->a, &v))
        return false;
    push(t, tv(v.r, v.k));
    return true;
}

/* PreInc/PreDec/PostInc/PostDec and the void form: the slot read with
 * to_int, written back as Int; pre pushes the new value, post the old.
 * AddAssignSlotVoid: a += b on to_int of both, as Int. */
static bool slot_fused(fvm_tr *t, const fvm_op *op)
{
    fvm_ir_func *f = t->f;
    fvm_ir_ref old, n, b;
    if (!slot_int(t, op->a, &old))
        return false;
    if (op->code == FVM_OP_ADD_ASSIGN_SLOT_VOID) {
        if (!slot_int(t, op->b, &b))
            return false;
        t->hooks->slot_set(t, op->a, tv(fvm_ir_op2(f, FVM_IR_ADD, FVM_IR_I64, old, b), FVM_JK_INT));
        return true;
    }
    bool dec = op->code == FVM_OP_PRE_DEC_SLOT || op->code == FVM_OP_POST_DEC_SLOT;
    n = fvm_ir_op2(f, FVM_IR_ADD, FVM_IR_I64, old, fvm_ir_const_i(f, dec ? -1 : 1));
    t->hooks->slot_set(t, op->a, tv(n, FVM_JK_INT));
    if (op->code == FVM_OP_POST_INC_SLOT || op->code == FVM_OP_POST_DEC_SLOT)
        push(t, tv(old, FVM_JK_INT));
    else if (op->code != FVM_OP_PRE_INC_SLOT_VOID)
        push(t, tv(n, FVM_JK_INT));
    return true;
}

/* AccumSumLoop(sum, i, limit): when i < limit, sum += i + (i+1) + ... +
 * (limit-1) and i = limit, as the interpreter's closed form (wrapping):
 * with n = limit - i, the sum is n*i + n*(n-1)/2, and n*(n-1)/2 is
 * (n>>1)*(n-1) + (n&1)*((n-1)>>1) in unsigned arithmetic. Both slots become
 * Int either way. The test and the sum are two IR blocks inside the op,
 * so the body reads the slots again (a value lives in its own block). */
static bool accum_sum_loop(fvm_tr *t, const fvm_op *op)
{
    fvm_ir_func *f = t->f;
    fvm_ir_ref sum, i;
    if (!slot_int(t, op->a, &sum) || !slot_int(t, op->b, &i))
        return false;
    t->hooks->slot_set(t, op->a, tv(sum, FVM_JK_INT));
    t->hooks->slot_set(t, op->b, tv(i, FVM_JK_INT));
    fvm_ir_ref limit = fvm_ir_const_i(f, op->u.j.limit);
    uint32_t body = fvm_ir_block_alloc(f), join = fvm_ir_block_alloc(f);
    fvm_ir_br(f, fvm_ir_cmp(f, FVM_IR_ICMP, FVM_IR_LT, i, limit), body, join);
    fvm_ir_block_enter(f, body);
    if (!slot_int(t, op->b, &i) || (op->a != op->b && !slot_int(t, op->a, &sum)))
        return false;
    if (op->a == op->b)
        sum = i;
    fvm_ir_ref one = fvm_ir_const_i(f, 1);
    fvm_ir_ref n = fvm_ir_op2(f, FVM_IR_SUB, FVM_IR_I64, limit, i);
    fvm_ir_ref n1 = fvm_ir_op2(f, FVM_IR_SUB, FVM_IR_I64, n, one);
    fvm_ir_ref even = fvm_ir_op2(f, FVM_IR_MUL, FVM_IR_I64, fvm_ir_op2(f, FVM_IR_SHR, FVM_IR_I64, n, one), n1);
    fvm_ir_ref odd = fvm_ir_op2(f, FVM_IR_MUL, FVM_IR_I64, fvm_ir_op2(f, FVM_IR_AND, FVM_IR_I64, n, one),
                                fvm_ir_op2(f, FVM_IR_SHR, FVM_IR_I64, n1, one));
    fvm_ir_ref add = fvm_ir_op2(f, FVM_IR_ADD, FVM_IR_I64, fvm_ir_op2(f, FVM_IR_MUL, FVM_IR_I64, n, i),
                                fvm_ir_op2(f, FVM_IR_ADD, FVM_IR_I64, even, odd));
    t->hooks->slot_set(t, op->a, tv(fvm_ir_op2(f, FVM_IR_ADD, FVM_IR_I64, sum, add), FVM_JK_INT));
    t->hooks->slot_set(t, op->b, tv(limit, FVM_JK_INT));
    fvm_ir_jmp(f, join);
    fvm_ir_block_enter(f, join);
    return true;
}

/* ---- control ---------------------------------------------------------------------------- */

/* SlotLtIntJumpIfFalse and SlotIncLtIntJumpBack compare the slot (to_int)
 * with the op's limit and branch; the increment is written back before the
 * branch, so both successors see it. */
static bool loop_fused(fvm_tr *t, const fvm_op *op)
{
    fvm_ir_func *f = t->f;
    fvm_ir_ref v;
    if (op->code == FVM_OP_ACCUM_SUM_LOOP)
        return accum_sum_loop(t, op);
    if (!slot_int(t, op->a, &v))
        return false;
    fvm_ir_cond cond = FVM_IR_GE; /* SlotLtIntJumpIfFalse: jump when v >= limit */
    if (op->code == FVM_OP_SLOT_INC_LT_INT_JUMP_BACK) {
        v = fvm_ir_op2(f, FVM_IR_ADD, FVM_IR_I64, v, fvm_ir_const_i(f, 1));
        t->hooks->slot_set(t, op->a, tv(v, FVM_JK_INT));
        cond = FVM_IR_LT;
    }
    fvm_ir_ref limit = fvm_ir_const_i(f, op->u.j.limit);
    return t->hooks->branch(t, fvm_ir_cmp(f, FVM_IR_ICMP, cond, v, limit), true, op->u.j.target);
}

/* A plain branch pops its condition; a Keep branch leaves it for both
 * successors. */
static bool control(fvm_tr *t, const fvm_op *op, unsigned cls)
{
    uint32_t target = op->u.j.target;
    if (cls == FVM_JC_JUMP)
        return t->hooks->jump(t, target);
    bool when = op->code == FVM_OP_JUMP_IF_TRUE || op->code == FVM_OP_JUMP_IF_TRUE_KEEP;
    fvm_tv cond = cls == FVM_JC_BRANCH ? pop(t) : *top(t, 0);
    return t->hooks->branch(t, fvm_tv_truth(t->f, cond), when, target);
}

/* ---- one op --------------------------------------------------------------------------- */

/* The stack checks come first, so a class's translation may assume its
 * operands are there and its results fit. A hook that made the compile
 * decline set why, which is the answer whatever the class returned. */
bool fvm_tr_op(fvm_tr *t, const fvm_op *op)
{
    const fvm_opinfo *oi = &fvm_opinfo_table[op->code];
    const fvm_jitop *row = &fvm_jitop_table[op->code];
    unsigned npop = oi->pop >= 0 ? (unsigned)oi->pop : (unsigned)op->a;
    if (t->depth < npop)
        return fvm_tr_decline(t, FVM_JIT_REASON_STACK_UNDERFLOW);
    if (t->depth - npop + (unsigned)oi->push > t->max_depth)
        return fvm_tr_decline(t, FVM_JIT_REASON_STACK_DEPTH);
    switch ((fvm_jit_class)row->cls) {
    case FVM_JC_NOP: break;
    case FVM_JC_CONST: load_const(t, op); break;
    case FVM_JC_STACK: stack_op(t, op->code); break;
    case FVM_JC_NUMERIC: numeric(t, op, npop); break;
    case FVM_JC_GUARDED: guarded(t, op); break;
    case FVM_JC_SLOT: slot_op(t, op); break;
    case FVM_JC_GLOBAL: global_op(t, op); break;
    case FVM_JC_SLOT_FUSED: slot_fused(t, op); break;
    case FVM_JC_LOOP_FUSED: loop_fused(t, op); break;
    case FVM_JC_JUMP: case FVM_JC_BRANCH: case FVM_JC_BRANCH_KEEP: control(t, op, row->cls); break;
    case FVM_JC_CALL: /* the tier's own business (jitop.h) */
    case FVM_JC_EXIT: return fvm_tr_decline(t, (fvm_jit_reason)row->reason);
    }
    return t->why == FVM_JIT_REASON_NONE;
}
