/* Hooks that change what ops mean, per VM: the undef hook (GetVar and
 * GetSlot finding Undef ask it) and the numeric hooks of strict numeric
 * mode (arithmetic on non-numbers, Int overflow, the fixnum range).
 *
 * The interpreter's loop knows nothing of them. A VM with a hook set runs
 * a copy of the chunk's plain ops (not the superinstruction copy, whose
 * fused fast paths read slots and wrap Ints without asking) in which every
 * op a hook concerns is FVM_XOP_HOOKED, run here. fvm_vm_run takes that
 * copy instead of asking the JIT for its ops, so hooked VMs never run
 * native code and every tier agrees with the interpreter by construction.
 */
#include <stdlib.h>

#include "arith.h"
#include "superop.h"
#include "vm.h"

static bool numeric_hooked(const fvm_vm *vm) { return vm->hooks.numeric || vm->hooks.sited; }

/* Whether op code runs through a hook on this VM. */
static bool concerns(const fvm_vm *vm, unsigned code)
{
    switch (code) {
    case FVM_OP_GET_VAR:
    case FVM_OP_GET_SLOT:
        return vm->hooks.undef != NULL;
    case FVM_OP_ADD: case FVM_OP_SUB: case FVM_OP_MUL: case FVM_OP_DIV: case FVM_OP_MOD:
    case FVM_OP_POW: case FVM_OP_NEGATE: case FVM_OP_NUM_EQ: case FVM_OP_NUM_NE:
    case FVM_OP_NUM_LT: case FVM_OP_NUM_GT: case FVM_OP_NUM_LE: case FVM_OP_NUM_GE:
        return numeric_hooked(vm);
    default:
        return false;
    }
}

const fvm_op *fvm_hooks_exec(fvm_vm *vm)
{
    if (!vm->hooks.undef && !numeric_hooked(vm))
        return NULL;
    if (vm->hooks.exec && vm->hooks.exec_for == vm->chunk)
        return vm->hooks.exec;
    const fvm_chunk *c = vm->chunk;
    free(vm->hooks.exec);
    fvm_op *x = fvm_xmalloc((c->len + 1) * sizeof *x); /* with the end marker */
    memcpy(x, c->ops, (c->len + 1) * sizeof *x);
    for (size_t i = 0; i < c->len; i++) {
        if (concerns(vm, x[i].code)) {
            x[i].b = x[i].code; /* b is free: these ops use a at most */
            x[i].code = FVM_XOP_HOOKED;
        }
    }
    vm->hooks.exec = x;
    vm->hooks.exec_for = c;
    return x;
}

void fvm_hooks_clear(fvm_vm *vm)
{
    free(vm->hooks.exec);
    vm->hooks.exec = NULL;
    vm->hooks.exec_for = NULL;
    vm->hooks.chunk_id = 0;
}

/* A hook changed: the copy is rebuilt at the next run. It is not freed
 * here, because a handler may change hooks while a run uses the copy;
 * the ops of that copy then find a removed hook gone and do the default. */
static void hooks_changed(fvm_vm *vm) { vm->hooks.exec_for = NULL; }

/* The chunk's identity for the hooks: its op_hash and its names, so two
 * chunks with the same ops and different names (different programs to a
 * frontend) are told apart; never 0. Computed once per chunk. */
static uint64_t chunk_identity(fvm_vm *vm)
{
    if (vm->hooks.chunk_id)
        return vm->hooks.chunk_id;
    const fvm_chunk *c = vm->chunk;
    uint64_t h = fvm_fnv1a64(FVM_FNV64_INIT, "fusevm chunk identity", 21);
    h = fvm_fnv1a64(h, &c->op_hash, sizeof c->op_hash);
    for (size_t i = 0; i < c->nnames; i++) {
        uint64_t len = c->names[i]->len;
        h = fvm_fnv1a64(h, &len, sizeof len);
        h = fvm_fnv1a64(h, c->names[i]->data, c->names[i]->len);
    }
    vm->hooks.chunk_id = h ? h : 1;
    return vm->hooks.chunk_id;
}

/* Push a hook's answer, unless the hook raised. */
static fvm_step push_answer(fvm_vm *vm, fvm_value v)
{
    if (vm->raised) {
        fvm_release(v);
        return FVM_STEP_ERROR;
    }
    if (vm->sp >= vm->max_stack) {
        fvm_release(v);
        return fvm_fail(vm, "stack overflow (more than %zu values)", vm->max_stack);
    }
    fvm_push(vm, v);
    return FVM_STEP_NEXT;
}

/* ------------------------------------------------------------------------
 * The undef hook
 * ------------------------------------------------------------------------ */

static fvm_step read_var(fvm_vm *vm, const fvm_op *op, bool from_slot)
{
    fvm_value v;
    if (from_slot) /* the top frame's window always holds the chunk's slots */
        v = vm->slots[vm->frames[vm->nframes - 1].slot_base + op->a];
    else
        v = vm->globals[op->a];
    if (v.type != FVM_T_UNDEF || !vm->hooks.undef) { /* removed during this run: the default */
        fvm_retain(v);
        return push_answer(vm, v);
    }
    fvm_undef_read r = {NULL, 0, op->a, from_slot, chunk_identity(vm), vm->ip - 1};
    if (!from_slot) {
        r.name = vm->chunk->names[op->a]->data;
        r.name_len = vm->chunk->names[op->a]->len;
    }
    return push_answer(vm, vm->hooks.undef(vm, &r, vm->hooks.undef_ud));
}

/* ------------------------------------------------------------------------
 * Strict numeric mode
 * ------------------------------------------------------------------------ */

static bool is_number(fvm_value v) { return v.type == FVM_T_INT || v.type == FVM_T_FLOAT; }

static fvm_num_op num_op_of(unsigned code)
{
    switch (code) {
    case FVM_OP_ADD: return FVM_NUMOP_ADD;
    case FVM_OP_SUB: return FVM_NUMOP_SUB;
    case FVM_OP_MUL: return FVM_NUMOP_MUL;
    case FVM_OP_DIV: return FVM_NUMOP_DIV;
    case FVM_OP_MOD: return FVM_NUMOP_MOD;
    case FVM_OP_POW: return FVM_NUMOP_POW;
    case FVM_OP_NEGATE: return FVM_NUMOP_NEG;
    case FVM_OP_NUM_LT: return FVM_NUMOP_LT;
    case FVM_OP_NUM_GT: return FVM_NUMOP_GT;
    case FVM_OP_NUM_LE: return FVM_NUMOP_LE;
    case FVM_OP_NUM_GE: return FVM_NUMOP_GE;
    case FVM_OP_NUM_EQ: return FVM_NUMOP_EQ;
    default: return FVM_NUMOP_NE;
    }
}

static fvm_value ask_numeric(fvm_vm *vm, unsigned code, fvm_value a, fvm_value b)
{
    fvm_num_op op = num_op_of(code);
    if (vm->hooks.sited) {
        fvm_numeric_call call = {op, a, b, chunk_identity(vm), vm->ip - 1};
        return vm->hooks.sited(vm, &call, vm->hooks.sited_ud);
    }
    return vm->hooks.numeric(vm, op, a, b, vm->hooks.numeric_ud);
}

/* Whether an exact Int result leaves int64 (overflow) or the fixnum range. */
static bool int_escapes(const fvm_vm *vm, bool overflow, int64_t r)
{
    return overflow || (vm->hooks.has_range && (r < vm->hooks.range_lo || r > vm->hooks.range_hi));
}

/* Add, Sub or Mul of two Ints whose exact result the hook must see. */
static bool int_arith_escapes(const fvm_vm *vm, unsigned code, int64_t x, int64_t y)
{
    int64_t r;
    bool overflow = code == FVM_OP_ADD   ? __builtin_add_overflow(x, y, &r)
                    : code == FVM_OP_SUB ? __builtin_sub_overflow(x, y, &r)
                                         : __builtin_mul_overflow(x, y, &r);
    return int_escapes(vm, overflow, r);
}

/* The op on two numbers, as the interpreter computes it. */
static fvm_value compute(unsigned code, fvm_value a, fvm_value b)
{
    switch (code) {
    case FVM_OP_ADD: return fvm_arith_add(a, b);
    case FVM_OP_SUB: return fvm_arith_sub(a, b);
    case FVM_OP_MUL: return fvm_arith_mul(a, b);
    case FVM_OP_DIV: return fvm_arith_div(a, b);
    case FVM_OP_MOD: return fvm_arith_mod(a, b);
    case FVM_OP_POW: return fvm_arith_pow(a, b);
    default: return fvm_bool(fvm_num_compare(code, a, b));
    }
}

static fvm_step binary(fvm_vm *vm, unsigned code)
{
    /* Div and Pow pop Undef for a missing operand; the others do nothing
     * on a stack shallower than two (as in the interpreter). */
    if (code != FVM_OP_DIV && code != FVM_OP_POW && vm->sp < 2)
        return FVM_STEP_NEXT;
    fvm_value b = fvm_pop(vm), a = fvm_pop(vm), r;
    bool int_arith = (code == FVM_OP_ADD || code == FVM_OP_SUB || code == FVM_OP_MUL) &&
                     a.type == FVM_T_INT && b.type == FVM_T_INT;
    bool ask = !is_number(a) || !is_number(b) || (int_arith && int_arith_escapes(vm, code, a.as.i, b.as.i));
    if (ask && numeric_hooked(vm)) /* both may have been removed during this run */
        r = ask_numeric(vm, code, a, b);
    else
        r = compute(code, a, b);
    fvm_release(a);
    fvm_release(b);
    return push_answer(vm, r);
}

static fvm_step negate(fvm_vm *vm)
{
    fvm_value a = fvm_pop(vm), r;
    bool ask = !is_number(a) ||
               (a.type == FVM_T_INT && int_escapes(vm, a.as.i == INT64_MIN, fvm_wrap_neg(a.as.i)));
    if (ask && numeric_hooked(vm))
        r = ask_numeric(vm, FVM_OP_NEGATE, a, fvm_undef());
    else
        r = fvm_arith_negate(a);
    fvm_release(a);
    return push_answer(vm, r);
}

fvm_step fvm_hooked_op(fvm_vm *vm, const fvm_op *op)
{
    switch (op->b) {
    case FVM_OP_GET_VAR: return read_var(vm, op, false);
    case FVM_OP_GET_SLOT: return read_var(vm, op, true);
    case FVM_OP_NEGATE: return negate(vm);
    default: return binary(vm, op->b);
    }
}

/* ------------------------------------------------------------------------
 * Setting them
 * ------------------------------------------------------------------------ */

void fvm_vm_set_undef_hook(fvm_vm *vm, fvm_undef_fn fn, void *ud)
{
    vm->hooks.undef = fn;
    vm->hooks.undef_ud = ud;
    hooks_changed(vm);
}

bool fvm_vm_is_strict_undef(const fvm_vm *vm) { return vm->hooks.undef != NULL; }

void fvm_vm_set_numeric_hook(fvm_vm *vm, fvm_numeric_fn fn, void *ud)
{
    vm->hooks.numeric = fn;
    vm->hooks.numeric_ud = ud;
    hooks_changed(vm);
}

void fvm_vm_set_sited_numeric_hook(fvm_vm *vm, fvm_sited_numeric_fn fn, void *ud)
{
    vm->hooks.sited = fn;
    vm->hooks.sited_ud = ud;
    hooks_changed(vm);
}

void fvm_vm_set_fixnum_range(fvm_vm *vm, int64_t lo, int64_t hi)
{
    vm->hooks.has_range = true;
    vm->hooks.range_lo = lo;
    vm->hooks.range_hi = hi;
}

bool fvm_vm_is_strict_numeric(const fvm_vm *vm) { return numeric_hooked(vm); }
