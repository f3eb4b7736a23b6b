/* Recognising the sequences that load-time superinstructions replace
 * (see superop.h for what each one means). */
#include "superop.h"

#include <stdlib.h>

static bool is_arith(unsigned code)
{
    return code == FVM_OP_ADD || code == FVM_OP_SUB || code == FVM_OP_MUL;
}

static bool is_compare(unsigned code)
{
    return code >= FVM_OP_NUM_EQ && code <= FVM_OP_NUM_GE;
}

static bool is_cond_jump(unsigned code)
{
    return code == FVM_OP_JUMP_IF_TRUE || code == FVM_OP_JUMP_IF_FALSE;
}

static bool small_int(const fvm_op *op)
{
    return op->code == FVM_OP_LOAD_INT && op->u.i >= INT32_MIN && op->u.i <= INT32_MAX;
}

/* The superinstruction for a sequence that starts with GetSlot (p[0]; n ops
 * remain before the end marker). Returns false when none applies. */
static bool slot_superop(const fvm_op *p, size_t n, fvm_op *x)
{
    x->a = p->a;
    if (n >= 3 && small_int(p + 1) && is_arith(p[2].code)) {
        x->b = p[2].code;
        x->u.j.limit = (int32_t)p[1].u.i;
        x->code = FVM_XOP_SLOT_ARITH_INT;
        if (n >= 4 && p[3].code == FVM_OP_SET_SLOT) {
            x->code = FVM_XOP_SLOT_ARITH_SET;
            x->c = p[3].a;
        }
        return true;
    }
    if (n >= 4 && small_int(p + 1) && is_compare(p[2].code) && is_cond_jump(p[3].code)) {
        x->code = FVM_XOP_SLOT_CMP_JUMP;
        x->b = p[2].code;
        x->c = p[3].code == FVM_OP_JUMP_IF_TRUE;
        x->u.j.limit = (int32_t)p[1].u.i;
        x->u.j.target = p[3].u.j.target;
        return true;
    }
    if (n >= 4 && p[1].code == FVM_OP_GET_SLOT && is_arith(p[2].code) &&
        p[3].code == FVM_OP_SET_SLOT) {
        x->code = FVM_XOP_SLOTS_ARITH_SET;
        x->b = p[1].a;
        x->c = p[3].a;
        x->u.j.limit = p[2].code;
        return true;
    }
    if (n >= 2 && (p[1].code == FVM_OP_INC || p[1].code == FVM_OP_DEC)) {
        x->u.j.limit = p[1].code == FVM_OP_INC ? 1 : -1;
        x->code = FVM_XOP_SLOT_STEP;
        if (n >= 3 && p[2].code == FVM_OP_SET_SLOT) {
            x->code = FVM_XOP_SLOT_STEP_SET;
            x->c = p[2].a;
        }
        return true;
    }
    if (n >= 2 && (p[1].code == FVM_OP_SET_SLOT || p[1].code == FVM_OP_GET_SLOT)) {
        x->code = p[1].code == FVM_OP_SET_SLOT ? FVM_XOP_SLOT_MOVE : FVM_XOP_SLOT_PAIR;
        x->b = p[1].a;
        return true;
    }
    return false;
}

/* The superinstruction for the sequence starting at ops[i] (n ops remain
 * before the end marker), or the op itself when none applies. The longest
 * match wins. */
static fvm_op superop_at(const fvm_op *ops, size_t i, size_t n)
{
    const fvm_op *p = ops + i;
    fvm_op x = {0, 0, 0, 0, {0}};
    if (p->code == FVM_OP_GET_SLOT && slot_superop(p, n, &x))
        return x;
    x = (fvm_op){0, 0, 0, 0, {0}};
    if (n >= 2 && small_int(p) && is_arith(p[1].code)) {
        x.code = FVM_XOP_ARITH_INT;
        x.b = p[1].code;
        x.u.j.limit = (int32_t)p->u.i;
        return x;
    }
    if (n >= 2 && p->code == FVM_OP_LOAD_FLOAT && is_arith(p[1].code)) {
        x.code = FVM_XOP_FLOAT_ARITH;
        x.b = p[1].code;
        x.u.f = p->u.f;
        return x;
    }
    if (n >= 2 && is_compare(p->code) && is_cond_jump(p[1].code)) {
        x.code = FVM_XOP_CMP_JUMP;
        x.b = p->code;
        x.c = p[1].code == FVM_OP_JUMP_IF_TRUE;
        x.u.j.target = p[1].u.j.target;
        return x;
    }
    if (n >= 2 && is_arith(p->code) && p[1].code == FVM_OP_SET_SLOT) {
        x.code = FVM_XOP_ARITH_SET;
        x.a = p[1].a;
        x.b = p->code;
        return x;
    }
    return *p;
}

fvm_op *fvm_superops_build(const fvm_op *ops, size_t len)
{
    fvm_op *exec = fvm_xmalloc((len + 1) * sizeof(fvm_op));
    for (size_t i = 0; i < len; i++)
        exec[i] = superop_at(ops, i, len - i);
    exec[len] = ops[len];
    return exec;
}
