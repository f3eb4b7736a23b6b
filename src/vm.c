/* The interpreter loop.
 *
 * Dispatch is computed goto (one indirect jump per op, predicted per op
 * site) or, with -DFVM_DISPATCH_SWITCH, a portable switch. The hot state
 * lives in locals: pc (the current op), sp (one past the top of the stack)
 * and slots (the top frame's slot window). Ops that call out (handlers, the
 * shell and AWK families, anything that may grow the stack or the slot
 * arena behind our back) store that state into the VM first (SAVE) and
 * reload it afterwards (LOAD).
 *
 * Every taken jump, call and return polls (VM_POLL_TO): one load of the VM
 * state's poll word (vm_jit.h), through which an interrupt or a spent
 * instruction budget stops a program that would not stop by itself.
 *
 * Every handler is a few lines; the meaning of arithmetic lives in arith.c
 * (the Int and Float fast paths inline exactly what it computes for
 * numbers), AWK ops in awk.c and shell ops in shell.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "arith.h"
#include "numfmt.h"
#include "superop.h"
#include "vm.h"
#include "vm_jit.h"

/* Largest array or string an op may build. Upstream aborts the process when
 * an allocation fails; we end the run with an error instead. */
#define MAX_ELEMS ((uint64_t)1 << 28)
#define MAX_STR_BYTES ((uint64_t)1 << 31)

/* ------------------------------------------------------------------------
 * Helpers used by the handlers
 * ------------------------------------------------------------------------ */

static fvm_value make_str(fvm_string *s) { return fvm_str_value(s); }

static fvm_string *concat2(const fvm_string *a, const fvm_string *b)
{
    fvm_string *r = fvm_str_alloc(a->len + b->len);
    memcpy(r->data, a->data, a->len);
    memcpy(r->data + a->len, b->data, b->len);
    return r;
}

/* Store v into array *cell at index idx, growing it with Undef. */
static bool array_store(fvm_value *cell, int64_t idx, fvm_value v)
{
    if (idx < 0 || (uint64_t)idx >= MAX_ELEMS) {
        fvm_release(v);
        return idx < 0; /* a negative index is ignored; a huge one is an error */
    }
    fvm_array *a = fvm_array_mut(cell);
    while (a->len <= (size_t)idx)
        fvm_array_append(a, fvm_undef());
    fvm_release(a->items[idx]);
    a->items[idx] = v;
    return true;
}

/* SlotArraySet / ArraySet: store v at index i if *cell holds an array (else
 * the value is dropped, as upstream). Takes i and v; false after an error. */
static bool store_if_array(fvm_vm *vm, fvm_value *cell, fvm_value i, fvm_value v)
{
    int64_t idx = fvm_to_int(i);
    fvm_release(i);
    if (cell->type != FVM_T_ARRAY) {
        fvm_release(v);
        return true;
    }
    if (array_store(cell, idx, v))
        return true;
    fvm_fail(vm, "array index %lld is too large", (long long)idx);
    return false;
}

static fvm_value array_elem(fvm_value arr, int64_t idx)
{
    if (arr.type != FVM_T_ARRAY || idx < 0 || (uint64_t)idx >= arr.as.a->len)
        return fvm_undef();
    fvm_value v = arr.as.a->items[idx];
    fvm_retain(v);
    return v;
}

static fvm_value hash_keys_or_values(fvm_value h, bool keys)
{
    fvm_array *out = fvm_array_alloc(h.type == FVM_T_HASH ? h.as.h->count : 0);
    if (h.type == FVM_T_HASH) {
        for (size_t i = 0; i < h.as.h->used; i++) {
            fvm_hash_slot *e = &h.as.h->entries[i];
            if (!e->key)
                continue;
            fvm_value v = keys ? make_str(e->key) : e->val;
            fvm_retain(v);
            fvm_array_append(out, v);
        }
    }
    return fvm_array_value(out);
}

/* Elements an op whose work grows with an operand writes between two
 * checks for an interrupt (fvm_poll_interrupt_ok): a few hundred
 * microseconds of work, so that a stop request is served at once while
 * the check costs nothing measurable. */
#define INTERRUPT_STRIDE ((uint64_t)1 << 16)

/* Range / RangeStep: from..=to by step, stopping before overflow. */
static fvm_step make_range(fvm_vm *vm, int64_t from, int64_t to, int64_t step, fvm_value *out)
{
    unsigned __int128 count = 0; /* 2^64 for the whole int64 range */
    if (step > 0 && from <= to)
        count = (unsigned __int128)(((uint64_t)to - (uint64_t)from) / (uint64_t)step) + 1;
    else if (step < 0 && from >= to)
        count = (unsigned __int128)(((uint64_t)from - (uint64_t)to) / (0 - (uint64_t)step)) + 1;
    if (count > MAX_ELEMS)
        return fvm_fail(vm, "range of more than %llu elements", (unsigned long long)MAX_ELEMS);
    fvm_array *a = fvm_array_try_alloc((size_t)count);
    if (!a)
        return fvm_fail(vm, "out of memory for a range of %llu elements", (unsigned long long)count);
    for (uint64_t k = 0; k < count; k++) {
        if (k % INTERRUPT_STRIDE == INTERRUPT_STRIDE - 1 && !fvm_poll_interrupt_ok(vm)) {
            fvm_release(fvm_array_value(a)); /* len 0: nothing to release inside */
            return FVM_STEP_ERROR;
        }
        a->items[k] = fvm_int((int64_t)((uint64_t)from + k * (uint64_t)step));
    }
    a->len = (size_t)count;
    *out = fvm_array_value(a);
    return FVM_STEP_NEXT;
}

/* Fill p[0..total) with copies of unit (unit_len > 0, total a multiple of
 * it): copy it once, then double the copied run, so log2 of the count
 * memcpys. false, with the error set, when an interrupt arrives between
 * two of them. */
static bool fill_repeated(fvm_vm *vm, char *p, const char *unit, size_t unit_len, size_t total)
{
    size_t done = total ? unit_len : 0;
    if (total)
        memcpy(p, unit, unit_len);
    while (done < total) {
        if (!fvm_poll_interrupt_ok(vm))
            return false;
        size_t step = done < total - done ? done : total - done;
        memcpy(p + done, p, step);
        done += step;
    }
    return true;
}

/* StringRepeat: a copies of b (a count of 0 or less gives ""). Takes
 * neither operand. */
static fvm_step string_repeat(fvm_vm *vm, fvm_value a, fvm_value b, fvm_value *out)
{
    int64_t n = fvm_to_int(b);
    fvm_string *s = fvm_value_to_str(a);
    size_t times = n > 0 && s->len ? (size_t)n : 0; /* "" x huge is "" at once */
    if (times && (uint64_t)times > MAX_STR_BYTES / s->len) {
        fvm_release(make_str(s));
        return fvm_fail(vm, "StringRepeat: string of more than %llu bytes",
                        (unsigned long long)MAX_STR_BYTES);
    }
    fvm_string *r = fvm_str_try_alloc(times * s->len);
    if (!r) {
        fvm_release(make_str(s));
        return fvm_fail(vm, "out of memory for a string of %zu bytes", times * s->len);
    }
    bool ok = fill_repeated(vm, r->data, s->data, s->len, times * s->len);
    fvm_release(make_str(s));
    if (!ok) {
        fvm_release(make_str(r));
        return FVM_STEP_ERROR;
    }
    *out = make_str(r);
    return FVM_STEP_NEXT;
}

static fvm_step print_values(fvm_vm *vm, size_t n, bool newline)
{
    fvm_value vals[256];
    size_t k = fvm_pop_n(vm, n, vals);
    fvm_buf *b = &vm->scratch;
    b->len = 0;
    for (size_t i = 0; i < k; i++) {
        fvm_buf_put_value(b, vals[i]);
        fvm_release(vals[i]);
    }
    if (newline)
        fvm_buf_putc(b, '\n');
    fvm_write_output(vm, b->data, b->len);
    return FVM_STEP_NEXT;
}

/* CallBuiltin of an id nothing answers: the error names the builtin the
 * chunk declared for it, if any. */
static void missing_builtin(fvm_vm *vm, uint16_t id)
{
    const fvm_chunk *c = vm->chunk;
    for (size_t i = 0; i < c->nbuiltins; i++) {
        if (c->builtins[i].id == id) {
            fvm_fail(vm, "builtin '%s' (CallBuiltin %u) is not registered", c->builtins[i].name->data,
                     (unsigned)id);
            return;
        }
    }
    fvm_fail(vm, "CallBuiltin %u: no builtin is registered with this id", (unsigned)id);
}

static fvm_value read_line(fvm_vm *vm)
{
    if (vm->in) {
        const char *line;
        size_t len;
        if (!vm->in(vm->in_ud, &line, &len))
            return fvm_undef();
        return fvm_str(line, len);
    }
    /* Without an input hook: stdin. End of input reads as Undef, as it
     * does through a hook, so a program can tell it from an empty line
     * (upstream 0.13.3 reads "" here). */
    char *line = NULL;
    size_t cap = 0;
    fflush(stdout);
    ssize_t n = getline(&line, &cap, stdin);
    fvm_value v;
    if (n <= 0)
        v = fvm_undef();
    else
        v = fvm_str(line, (size_t)n - (line[n - 1] == '\n'));
    free(line);
    return v;
}

static fvm_value make_array_from(fvm_value *vals, size_t k)
{
    fvm_array *a = fvm_array_alloc(k);
    if (k) /* items is NULL for an empty array */
        memcpy(a->items, vals, k * sizeof(fvm_value));
    a->len = k;
    return fvm_array_value(a);
}

static fvm_value make_hash_from(fvm_value *vals, size_t k)
{
    fvm_hash *h = fvm_hash_alloc();
    size_t i = 0;
    for (; i + 1 < k; i += 2) {
        fvm_hash_put(h, fvm_value_to_str(vals[i]), vals[i + 1]);
        fvm_release(vals[i]);
    }
    if (i < k) /* a dangling last key is ignored */
        fvm_release(vals[i]);
    return fvm_hash_value(h);
}

/* ConcatConstLoop: append constant c to slot s until slot i reaches limit. */
static fvm_step concat_const_loop(fvm_vm *vm, fvm_value *slots, const fvm_op *op, fvm_value *s_out,
                                  int64_t *i_out)
{
    fvm_string *c = fvm_value_to_str(vm->chunk->consts[op->a]);
    fvm_string *s = fvm_value_to_str(slots[op->b]);
    int64_t i = fvm_to_int(slots[op->c]);
    int64_t limit = op->u.j.limit;
    uint64_t n = i < limit ? (uint64_t)((__int128)limit - i) : 0;
    if (n && c->len && (n > MAX_STR_BYTES / c->len || s->len + n * c->len > MAX_STR_BYTES)) {
        fvm_release(make_str(c));
        fvm_release(make_str(s));
        return fvm_fail(vm, "ConcatConstLoop: string of more than %llu bytes",
                        (unsigned long long)MAX_STR_BYTES);
    }
    size_t total = (size_t)n * c->len;
    fvm_string *r = fvm_str_try_alloc(s->len + total);
    if (!r) {
        fvm_fail(vm, "out of memory for a string of %zu bytes", s->len + total);
    } else {
        memcpy(r->data, s->data, s->len);
        if (!fill_repeated(vm, r->data + s->len, c->data, c->len, total)) {
            fvm_release(make_str(r));
            r = NULL;
        }
    }
    fvm_release(make_str(c));
    fvm_release(make_str(s));
    if (!r)
        return FVM_STEP_ERROR;
    *s_out = make_str(r);
    *i_out = i > limit ? i : limit;
    return FVM_STEP_NEXT;
}

/* AccumSumLoop in closed form: the sum of i..limit-1 modulo 2^64, which is
 * what the wrapping loop computes, without iterating. */
static void accum_sum(int64_t *sum, int64_t *i, int64_t limit)
{
    if (*i >= limit)
        return;
    unsigned __int128 n = (unsigned __int128)((__int128)limit - *i);
    unsigned __int128 tri = n * (n - 1) / 2; /* sum of 0..n-1 */
    uint64_t add = (uint64_t)n * (uint64_t)*i + (uint64_t)tri;
    *sum = (int64_t)((uint64_t)*sum + add);
    *i = limit;
}

static fvm_step push_int_range_loop(fvm_vm *vm, const fvm_op *op, int64_t *i_io)
{
    int64_t i = *i_io, limit = op->u.j.limit;
    uint64_t n = i < limit ? (uint64_t)((__int128)limit - i) : 0;
    fvm_value *g = &vm->globals[op->a];
    size_t have = g->type == FVM_T_ARRAY ? g->as.a->len : 0;
    if (n + have > MAX_ELEMS)
        return fvm_fail(vm, "PushIntRangeLoop: array of more than %llu elements",
                        (unsigned long long)MAX_ELEMS);
    if (g->type != FVM_T_ARRAY) {
        fvm_release(*g);
        *g = fvm_array_new();
    }
    fvm_array *a = fvm_array_mut(g);
    for (; i < limit; i++) {
        if ((uint64_t)i % INTERRUPT_STRIDE == 0 && !fvm_poll_interrupt_ok(vm))
            return FVM_STEP_ERROR;
        fvm_array_append(a, fvm_int(i));
    }
    *i_io = i;
    return FVM_STEP_NEXT;
}

static void awk_warn_negative(const char *fn, double x)
{
    char num[FVM_FLOAT_TEXT_MAX];
    fvm_format_float(x, num, sizeof num);
    fprintf(stderr, "awk: warning: %s: received negative argument %s\n", fn, num);
}

/* ------------------------------------------------------------------------
 * The loop
 * ------------------------------------------------------------------------ */

#ifdef FVM_DISPATCH_SWITCH
#define VM_DISPATCH()                                                                              \
    goto dispatch
#define VM_CASE(name) case FVM_OP_##name:
#define VM_FALLTHROUGH __attribute__((fallthrough))
#define VM_NEXT()                                                                                  \
    do {                                                                                           \
        pc++;                                                                                      \
        goto dispatch;                                                                             \
    } while (0)
#else
#define VM_DISPATCH() goto *labels[op_code = pc->code]
#define VM_CASE(name) L_##name:
#define VM_FALLTHROUGH ((void)0)
#define VM_NEXT() goto *labels[op_code = (++pc)->code]
#endif

/* Jump to op index t (t == len lands on the end marker). */
#define VM_JUMP(t)                                                                                 \
    do {                                                                                           \
        pc = code + (t);                                                                           \
        VM_DISPATCH();                                                                             \
    } while (0)
/* A jump op taken to t polls first (vm_jit.h), so no loop runs without
 * passing a poll. Forward jumps poll too: telling the directions apart
 * costs more than the load it saves (cachegrind, the quick sum_loop: 7.6%
 * more instructions than without a poll when only backward jumps poll,
 * 2.5% when every taken jump does). */
#define VM_BRANCH(t)                                                                               \
    do {                                                                                           \
        VM_POLL_TO(t);                                                                             \
        pc = code + (t);                                                                           \
        VM_DISPATCH();                                                                             \
    } while (0)

#define DEPTH() ((size_t)(sp - vm->stack))
#define SAVE()                                                                                     \
    do {                                                                                           \
        vm->sp = DEPTH();                                                                          \
        vm->ip = (size_t)(pc - code) + 1;                                                          \
    } while (0)
/* RELOAD picks up the stack and frame after a call out; LOAD also moves pc
 * to vm->ip (for calls out that may jump). */
#define RELOAD()                                                                                   \
    do {                                                                                           \
        sp = vm->stack + vm->sp;                                                                   \
        stack_end = vm->stack + vm->stack_cap;                                                     \
        fr = &vm->frames[vm->nframes - 1];                                                         \
        slots = vm->slots + fr->slot_base;                                                         \
    } while (0)
#define LOAD()                                                                                     \
    do {                                                                                           \
        RELOAD();                                                                                  \
        pc = code + vm->ip;                                                                        \
    } while (0)
/* After an out-of-line step: stop, or continue at vm->ip. */
#define STEP(expr)                                                                                 \
    do {                                                                                           \
        SAVE();                                                                                    \
        fvm_step st_ = (expr);                                                                     \
        LOAD();                                                                                    \
        if (FVM_UNLIKELY(st_ != FVM_STEP_NEXT || vm->raised || vm->halted))                        \
            goto stop;                                                                             \
        VM_DISPATCH();                                                                             \
    } while (0)

/* The poll before control goes from pc to op index next: one load and a
 * branch never taken while nothing is pending; the op at pc is the one an
 * interrupt's error names. */
#define VM_POLL_TO(next)                                                                           \
    do {                                                                                           \
        if (FVM_UNLIKELY(fvm_poll_pending(vm))) {                                                  \
            SAVE();                                                                                \
            if (fvm_poll(vm, (next)) != FVM_STEP_NEXT)                                             \
                goto stop;                                                                         \
        }                                                                                          \
    } while (0)

#define PUSH(v)                                                                                    \
    do {                                                                                           \
        if (FVM_UNLIKELY(sp == stack_end)) {                                                       \
            SAVE();                                                                                \
            if (!grow_stack(vm))                                                                   \
                goto stop;                                                                         \
            RELOAD();                                                                              \
        }                                                                                          \
        *sp++ = (v);                                                                               \
    } while (0)
#define POP() (sp > vm->stack ? *--sp : fvm_undef())
#define TOP() (sp[-1])

/* Write v (owned) into slot s of the top frame. */
#define SLOT_SET(s, v)                                                                             \
    do {                                                                                           \
        uint16_t s_ = (s);                                                                         \
        fvm_value v_ = (v);                                                                        \
        if (FVM_UNLIKELY(s_ >= fr->nslots)) {                                                      \
            SAVE();                                                                                \
            bool ok_ = fvm_slot_make_room(vm, s_);                                                 \
            RELOAD();                                                                              \
            if (!ok_) {                                                                            \
                fvm_release(v_);                                                                   \
                break;                                                                             \
            }                                                                                      \
        }                                                                                          \
        fvm_release(slots[s_]);                                                                    \
        slots[s_] = v_;                                                                            \
    } while (0)

/* Slot read as an integer, as the fused ops read it. */
#define SLOT_INT(s) (slots[s].type == FVM_T_INT ? slots[s].as.i : fvm_to_int(slots[s]))

static bool grow_stack(fvm_vm *vm)
{
    if (vm->sp >= vm->max_stack) {
        fvm_fail(vm, "stack overflow (more than %zu values)", vm->max_stack);
        return false;
    }
    fvm_stack_grow(vm, vm->sp + 1);
    return true;
}

static double float_of(fvm_value v) { return v.type == FVM_T_FLOAT ? v.as.f : fvm_to_float(v); }

/* The Float fast paths. When a and b are each an Int or a Float, x and y
 * get what fvm_to_float reads from them, so an op on x and y computes bit
 * for bit what fvm_arith_* and fvm_num_compare do for every pair but
 * Int/Int (which the handlers test first, because it does not go through
 * doubles, except in Div). Anything else (Bool, Str, Undef...) takes the
 * slow path. */
static inline bool num_pair(fvm_value a, fvm_value b, double *x, double *y)
{
    if ((a.type != FVM_T_INT && a.type != FVM_T_FLOAT) ||
        (b.type != FVM_T_INT && b.type != FVM_T_FLOAT))
        return false;
    *x = a.type == FVM_T_FLOAT ? a.as.f : (double)a.as.i;
    *y = b.type == FVM_T_FLOAT ? b.as.f : (double)b.as.i;
    return true;
}

/* Add, Sub or Mul (code) on Ints, wrapping. */
static inline int64_t int_arith(unsigned code, int64_t x, int64_t y)
{
    return code == FVM_OP_ADD   ? fvm_wrap_add(x, y)
           : code == FVM_OP_SUB ? fvm_wrap_sub(x, y)
                                : fvm_wrap_mul(x, y);
}

/* Add, Sub, Mul or Mod (code) on doubles, as fvm_arith_* computes them
 * for operands that are not both Int. A constant code folds to one op. */
static inline double float_arith(unsigned code, double x, double y)
{
    switch (code) {
    case FVM_OP_ADD: return x + y;
    case FVM_OP_SUB: return x - y;
    case FVM_OP_MUL: return x * y;
    default: return fmod(x, y);
    }
}

void fvm_interpret(fvm_vm *vm)
{
#ifndef FVM_DISPATCH_SWITCH
    static const void *const labels[FVM_XOP_COUNT] = {
#define X(E, M, F, P, Q, G) [FVM_OP_##E] = &&L_##E,
        FVM_OP_LIST(X)
#undef X
        [FVM_OP_END] = &&L_END,
#define X(name, len) [FVM_XOP_##name] = &&L_XOP_##name,
        FVM_SUPEROP_LIST(X)
#undef X
    };
#endif
    const fvm_chunk *chunk = vm->chunk;
    const fvm_op *code = vm->exec; /* a JIT hook may switch it (JIT_HOT) */
    const fvm_op *pc = code + vm->ip;
    fvm_value *sp = vm->stack + vm->sp;
    fvm_value *stack_end = vm->stack + vm->stack_cap;
    fvm_frame *fr = &vm->frames[vm->nframes - 1];
    fvm_value *slots = vm->slots + fr->slot_base;
    fvm_value *globals = vm->globals;
    /* The context whose ops these are: only its entry ops call it. */
    fvm_jit *jit = vm->jit;
    const fvm_jit_hooks *jit_hooks = vm->jit_hooks;
    fvm_value a, b, c, v;
    double fx, fy; /* the operands of a Float fast path (num_pair) */
    /* The op being run: handlers shared by several ops read it here, not
     * in op_code, because a JIT entry op runs the op it replaced. */
    unsigned op_code;

    VM_DISPATCH();
#ifdef FVM_DISPATCH_SWITCH
dispatch:
    op_code = pc->code;
redispatch:
    switch (op_code) {
#endif

    /* --- constants and the stack --- */
    VM_CASE(NOP) VM_NEXT();
    VM_CASE(LOAD_INT) PUSH(fvm_int(pc->u.i)); VM_NEXT();
    VM_CASE(LOAD_FLOAT) PUSH(fvm_float(pc->u.f)); VM_NEXT();
    VM_CASE(LOAD_CONST) v = chunk->consts[pc->a]; fvm_retain(v); PUSH(v); VM_NEXT();
    VM_CASE(LOAD_TRUE) PUSH(fvm_bool(true)); VM_NEXT();
    VM_CASE(LOAD_FALSE) PUSH(fvm_bool(false)); VM_NEXT();
    VM_CASE(LOAD_UNDEF) PUSH(fvm_undef()); VM_NEXT();
    VM_CASE(POP)
        if (sp > vm->stack)
            fvm_release(*--sp);
        VM_NEXT();
    VM_CASE(DUP)
        v = sp > vm->stack ? TOP() : fvm_undef();
        fvm_retain(v);
        PUSH(v);
        VM_NEXT();
    VM_CASE(DUP2)
        if (DEPTH() >= 2) {
            a = sp[-2];
            b = sp[-1];
            fvm_retain(a);
            fvm_retain(b);
            PUSH(a);
            PUSH(b);
        }
        VM_NEXT();
    VM_CASE(SWAP)
        if (DEPTH() >= 2) {
            v = sp[-1];
            sp[-1] = sp[-2];
            sp[-2] = v;
        }
        VM_NEXT();
    VM_CASE(ROT) /* [a, b, c] -> [b, c, a] */
        if (DEPTH() >= 3) {
            v = sp[-3];
            sp[-3] = sp[-2];
            sp[-2] = sp[-1];
            sp[-1] = v;
        }
        VM_NEXT();

    /* --- globals and slots --- */
    VM_CASE(GET_VAR) VM_CASE(GET_ARRAY) VM_CASE(GET_HASH)
        v = globals[pc->a];
        fvm_retain(v);
        PUSH(v);
        VM_NEXT();
    VM_CASE(SET_VAR) VM_CASE(DECLARE_VAR) VM_CASE(SET_ARRAY) VM_CASE(SET_HASH)
        v = POP();
        fvm_release(globals[pc->a]);
        globals[pc->a] = v;
        VM_NEXT();
    VM_CASE(GET_SLOT)
        v = slots[pc->a];
        fvm_retain(v);
        PUSH(v);
        VM_NEXT();
    VM_CASE(SET_SLOT)
        v = POP();
        SLOT_SET(pc->a, v);
        VM_NEXT();
    VM_CASE(SLOT_ARRAY_GET)
        a = POP();
        v = array_elem(slots[pc->a], fvm_to_int(a));
        fvm_release(a);
        PUSH(v);
        VM_NEXT();
    VM_CASE(SLOT_ARRAY_SET) /* [v, i] */
        a = POP();
        v = POP();
        if (!store_if_array(vm, &slots[pc->a], a, v)) {
            SAVE();
            goto stop;
        }
        VM_NEXT();

    /* --- arrays in globals --- */
    VM_CASE(DECLARE_ARRAY)
        fvm_release(globals[pc->a]);
        globals[pc->a] = fvm_array_new();
        VM_NEXT();
    VM_CASE(ARRAY_GET)
        a = POP();
        v = array_elem(globals[pc->a], fvm_to_int(a));
        fvm_release(a);
        PUSH(v);
        VM_NEXT();
    VM_CASE(ARRAY_SET) /* [v, i] */
        a = POP();
        v = POP();
        if (!store_if_array(vm, &globals[pc->a], a, v)) {
            SAVE();
            goto stop;
        }
        VM_NEXT();
    VM_CASE(ARRAY_PUSH)
        v = POP();
        if (globals[pc->a].type == FVM_T_ARRAY)
            fvm_array_append(fvm_array_mut(&globals[pc->a]), v);
        else
            fvm_release(v); /* no auto-vivification, as upstream */
        VM_NEXT();
    VM_CASE(ARRAY_POP)
        v = fvm_undef();
        if (globals[pc->a].type == FVM_T_ARRAY && globals[pc->a].as.a->len) {
            fvm_array *arr = fvm_array_mut(&globals[pc->a]);
            v = arr->items[--arr->len];
        }
        PUSH(v);
        VM_NEXT();
    VM_CASE(ARRAY_SHIFT)
        v = fvm_undef();
        if (globals[pc->a].type == FVM_T_ARRAY && globals[pc->a].as.a->len) {
            fvm_array *arr = fvm_array_mut(&globals[pc->a]);
            v = arr->items[0];
            memmove(arr->items, arr->items + 1, --arr->len * sizeof(fvm_value));
        }
        PUSH(v);
        VM_NEXT();
    VM_CASE(ARRAY_LEN)
        PUSH(fvm_int(globals[pc->a].type == FVM_T_ARRAY ? (int64_t)globals[pc->a].as.a->len : 0));
        VM_NEXT();
    VM_CASE(MAKE_ARRAY) {
        size_t k = pc->a < DEPTH() ? pc->a : DEPTH();
        sp -= k;
        v = make_array_from(sp, k);
        PUSH(v);
        VM_NEXT();
    }

    /* --- hashes in globals --- */
    VM_CASE(DECLARE_HASH)
        fvm_release(globals[pc->a]);
        globals[pc->a] = fvm_hash_new();
        VM_NEXT();
    VM_CASE(HASH_GET) VM_CASE(HASH_EXISTS) {
        a = POP();
        fvm_value *found = NULL;
        if (globals[pc->a].type == FVM_T_HASH) {
            fvm_string *k = fvm_value_to_str(a);
            found = fvm_hash_find(globals[pc->a].as.h, k->data, k->len);
            fvm_release(make_str(k));
        }
        fvm_release(a);
        if (op_code == FVM_OP_HASH_EXISTS) {
            PUSH(fvm_bool(found != NULL));
        } else {
            v = found ? *found : fvm_undef();
            fvm_retain(v);
            PUSH(v);
        }
        VM_NEXT();
    }
    VM_CASE(HASH_SET) /* [v, k] */
        a = POP();
        v = POP();
        if (globals[pc->a].type == FVM_T_HASH)
            fvm_hash_put(fvm_hash_mut(&globals[pc->a]), fvm_value_to_str(a), v);
        else
            fvm_release(v);
        fvm_release(a);
        VM_NEXT();
    VM_CASE(HASH_DELETE)
        a = POP();
        v = fvm_undef();
        if (globals[pc->a].type == FVM_T_HASH) {
            fvm_string *k = fvm_value_to_str(a);
            v = fvm_hash_remove(fvm_hash_mut(&globals[pc->a]), k->data, k->len);
            fvm_release(make_str(k));
        }
        fvm_release(a);
        PUSH(v);
        VM_NEXT();
    VM_CASE(HASH_KEYS) v = hash_keys_or_values(globals[pc->a], true); PUSH(v); VM_NEXT();
    VM_CASE(HASH_VALUES) v = hash_keys_or_values(globals[pc->a], false); PUSH(v); VM_NEXT();
    VM_CASE(MAKE_HASH) {
        size_t k = pc->a < DEPTH() ? pc->a : DEPTH();
        sp -= k;
        v = make_hash_from(sp, k);
        PUSH(v);
        VM_NEXT();
    }

    /* --- arithmetic: Add/Sub/Mul/Mod do nothing on a stack shallower
     *     than two; the others pop Undef for missing operands --- */
    /* Int/Int first (the loops' counters), then any Int/Float mix. */
#define BINARY_NUM_FAST(code, op_int, slow)                                                        \
    if (FVM_UNLIKELY(DEPTH() < 2))                                                                 \
        VM_NEXT();                                                                                 \
    a = sp[-2];                                                                                    \
    b = sp[-1];                                                                                    \
    sp--;                                                                                          \
    if (FVM_LIKELY(a.type == FVM_T_INT && b.type == FVM_T_INT)) {                                  \
        sp[-1].as.i = op_int(a.as.i, b.as.i);                                                      \
    } else if (FVM_LIKELY(num_pair(a, b, &fx, &fy))) {                                             \
        sp[-1] = fvm_float(float_arith(code, fx, fy));                                             \
    } else {                                                                                       \
        sp[-1] = slow(a, b);                                                                       \
        fvm_release(a);                                                                            \
        fvm_release(b);                                                                            \
    }                                                                                              \
    VM_NEXT();
    VM_CASE(ADD) BINARY_NUM_FAST(FVM_OP_ADD, fvm_wrap_add, fvm_arith_add)
    VM_CASE(SUB) BINARY_NUM_FAST(FVM_OP_SUB, fvm_wrap_sub, fvm_arith_sub)
    VM_CASE(MUL) BINARY_NUM_FAST(FVM_OP_MUL, fvm_wrap_mul, fvm_arith_mul)
    VM_CASE(MOD) BINARY_NUM_FAST(FVM_OP_MOD, fvm_int_mod, fvm_arith_mod)
#undef BINARY_NUM_FAST
    VM_CASE(DIV) /* always Float, Int/Int too; a zero divisor (either sign) gives Undef */
        if (FVM_LIKELY(DEPTH() >= 2 && num_pair(sp[-2], sp[-1], &fx, &fy))) {
            sp--;
            sp[-1] = fy == 0.0 ? fvm_undef() : fvm_float(fx / fy);
            VM_NEXT();
        }
        b = POP();
        a = POP();
        v = fvm_arith_div(a, b);
        goto push_release_ab;
    VM_CASE(POW)
        b = POP();
        a = POP();
        v = fvm_arith_pow(a, b);
        goto push_release_ab;
    VM_CASE(NEGATE)
        if (FVM_LIKELY(sp > vm->stack && sp[-1].type == FVM_T_FLOAT)) {
            sp[-1].as.f = -sp[-1].as.f; /* -0.0 and NaN flip their sign as arith does */
            VM_NEXT();
        }
        a = POP();
        v = fvm_arith_negate(a);
        fvm_release(a);
        PUSH(v);
        VM_NEXT();
    VM_CASE(INC)
        a = POP();
        v = fvm_int(fvm_wrap_add(a.type == FVM_T_INT ? a.as.i : fvm_to_int(a), 1));
        fvm_release(a);
        PUSH(v);
        VM_NEXT();
    VM_CASE(DEC)
        a = POP();
        v = fvm_int(fvm_wrap_sub(a.type == FVM_T_INT ? a.as.i : fvm_to_int(a), 1));
        fvm_release(a);
        PUSH(v);
        VM_NEXT();

    /* --- strings --- */
    VM_CASE(CONCAT) {
        b = POP();
        a = POP();
        fvm_string *x = fvm_value_to_str(a), *y = fvm_value_to_str(b);
        v = make_str(concat2(x, y));
        fvm_release(make_str(x));
        fvm_release(make_str(y));
        goto push_release_ab;
    }
    VM_CASE(STRING_REPEAT) {
        b = POP();
        a = POP();
        SAVE();
        if (string_repeat(vm, a, b, &v) != FVM_STEP_NEXT) {
            fvm_release(a);
            fvm_release(b);
            goto stop;
        }
        goto push_release_ab;
    }
    VM_CASE(STRING_LEN)
        a = POP();
        v = fvm_int((int64_t)fvm_value_len(a));
        fvm_release(a);
        PUSH(v);
        VM_NEXT();

    /* --- comparisons --- */
    /* Int/Int and Int/Float compares are written out per op so each is one
     * compare; the result replaces the left operand in place (the stack
     * only shrinks). */
#define NUM_COMPARE(cmp)                                                                           \
    if (FVM_UNLIKELY(DEPTH() < 2))                                                                 \
        VM_NEXT();                                                                                 \
    a = sp[-2];                                                                                    \
    b = sp[-1];                                                                                    \
    sp--;                                                                                          \
    if (FVM_LIKELY(a.type == FVM_T_INT && b.type == FVM_T_INT)) {                                  \
        sp[-1] = fvm_bool(a.as.i cmp b.as.i);                                                      \
        VM_NEXT();                                                                                 \
    }                                                                                              \
    if (FVM_LIKELY(num_pair(a, b, &fx, &fy))) { /* IEEE: NaN compares false, != true */            \
        sp[-1] = fvm_bool(fx cmp fy);                                                              \
        VM_NEXT();                                                                                 \
    }                                                                                              \
    sp[-1] = fvm_bool(fvm_num_compare(op_code, a, b));                                            \
    fvm_release(a);                                                                                \
    fvm_release(b);                                                                                \
    VM_NEXT();
    VM_CASE(NUM_EQ) NUM_COMPARE(==)
    VM_CASE(NUM_NE) NUM_COMPARE(!=)
    VM_CASE(NUM_LT) NUM_COMPARE(<)
    VM_CASE(NUM_GT) NUM_COMPARE(>)
    VM_CASE(NUM_LE) NUM_COMPARE(<=)
    VM_CASE(NUM_GE) NUM_COMPARE(>=)
#undef NUM_COMPARE
    VM_CASE(SPACESHIP)
        if (FVM_UNLIKELY(DEPTH() < 2))
            VM_NEXT();
        a = sp[-2];
        b = sp[-1];
        sp -= 2;
        v = fvm_int(fvm_spaceship(a, b));
        goto push_release_ab;
    VM_CASE(STR_EQ) VM_CASE(STR_NE) VM_CASE(STR_LT) VM_CASE(STR_GT) VM_CASE(STR_LE) VM_CASE(STR_GE)
    VM_CASE(STR_CMP) {
        b = POP();
        a = POP();
        int cmp = fvm_str_compare(a, b);
        switch (op_code) {
        case FVM_OP_STR_EQ: v = fvm_bool(cmp == 0); break;
        case FVM_OP_STR_NE: v = fvm_bool(cmp != 0); break;
        case FVM_OP_STR_LT: v = fvm_bool(cmp < 0); break;
        case FVM_OP_STR_GT: v = fvm_bool(cmp > 0); break;
        case FVM_OP_STR_LE: v = fvm_bool(cmp <= 0); break;
        case FVM_OP_STR_GE: v = fvm_bool(cmp >= 0); break;
        default: v = fvm_int((cmp > 0) - (cmp < 0)); break;
        }
        goto push_release_ab;
    }

    /* --- logic and bits --- */
    VM_CASE(LOG_NOT)
        a = POP();
        v = fvm_bool(!fvm_truthy(a));
        fvm_release(a);
        PUSH(v);
        VM_NEXT();
    VM_CASE(RUBY_TRUTHY)
        a = POP();
        v = fvm_bool(!(a.type == FVM_T_UNDEF || (a.type == FVM_T_BOOL && !a.as.b)));
        fvm_release(a);
        PUSH(v);
        VM_NEXT();
    VM_CASE(LOG_AND)
        b = POP();
        a = POP();
        v = fvm_bool(fvm_truthy(a) && fvm_truthy(b));
        goto push_release_ab;
    VM_CASE(LOG_OR)
        b = POP();
        a = POP();
        v = fvm_bool(fvm_truthy(a) || fvm_truthy(b));
        goto push_release_ab;
    VM_CASE(BIT_AND) VM_CASE(BIT_OR) VM_CASE(BIT_XOR) VM_CASE(SHL) VM_CASE(SHR) {
        b = POP();
        a = POP();
        int64_t x = fvm_to_int(a), y = fvm_to_int(b);
        switch (op_code) {
        case FVM_OP_BIT_AND: v = fvm_int(x & y); break;
        case FVM_OP_BIT_OR: v = fvm_int(x | y); break;
        case FVM_OP_BIT_XOR: v = fvm_int(x ^ y); break;
        case FVM_OP_SHL: v = fvm_int((int64_t)((uint64_t)x << (y & 63))); break;
        default: v = fvm_int(x >> (y & 63)); break; /* arithmetic shift */
        }
        goto push_release_ab;
    }
    VM_CASE(BIT_NOT)
        a = POP();
        v = fvm_int(~fvm_to_int(a));
        fvm_release(a);
        PUSH(v);
        VM_NEXT();

    /* --- control flow --- */
    VM_CASE(JUMP) VM_BRANCH(pc->u.j.target);
    /* A Bool condition (what comparisons leave) is tested without a call. */
#define COND_JUMP(when)                                                                            \
    {                                                                                              \
        bool t;                                                                                    \
        if (FVM_LIKELY(sp > vm->stack && sp[-1].type == FVM_T_BOOL)) {                             \
            t = (--sp)->as.b;                                                                      \
        } else {                                                                                   \
            a = POP();                                                                             \
            t = fvm_truthy(a);                                                                     \
            fvm_release(a);                                                                        \
        }                                                                                          \
        if (t == (when))                                                                           \
            VM_BRANCH(pc->u.j.target);                                                             \
        VM_NEXT();                                                                                 \
    }
    VM_CASE(JUMP_IF_TRUE) COND_JUMP(true)
    VM_CASE(JUMP_IF_FALSE) COND_JUMP(false)
#undef COND_JUMP
    VM_CASE(JUMP_IF_TRUE_KEEP) VM_CASE(JUMP_IF_FALSE_KEEP) {
        bool t = sp > vm->stack && fvm_truthy(TOP());
        if (t == (op_code == FVM_OP_JUMP_IF_TRUE_KEEP))
            VM_BRANCH(pc->u.j.target);
        VM_NEXT();
    }
    VM_CASE(CALL) {
        uint32_t entry = chunk->sub_ip[pc->a];
        if (FVM_UNLIKELY(entry == UINT32_MAX)) {
            SAVE();
            fvm_fail(vm, "undefined function: %s", chunk->names[pc->a]->data);
            goto stop;
        }
        /* Fast path: room for the frame and its slot window already exists
         * (frames are reused, so after the first call of a given depth this
         * is always true); otherwise the general path grows them. The
         * window starts at the caller's slot count (frame_push in vm_api.c
         * says why). */
        size_t base = fr->slot_base + fr->nslots, window = (size_t)(chunk->max_slot + 1);
        if (FVM_LIKELY(vm->nframes < vm->frames_cap && vm->nframes <= vm->max_frames &&
                       base + window <= vm->slots_cap)) {
            VM_POLL_TO(entry); /* the general path polls in fvm_enter_sub */
            size_t depth = DEPTH(), argc = pc->b;
            fr[1] = (fvm_frame){(uint32_t)(pc - code) + 1, (uint32_t)(depth > argc ? depth - argc : 0),
                                (uint32_t)base, 0, (uint32_t)window, pc->a};
            vm->nframes++;
            fr++;
            slots = vm->slots + base;
            VM_JUMP(entry);
        }
        STEP(fvm_enter_sub(vm, pc->a, pc->b));
    }
    VM_CASE(CALL_DYNAMIC) {
        v = POP();
        int64_t name = fvm_to_int(v);
        fvm_release(v);
        if (name < 0 || (uint64_t)name >= chunk->nnames || chunk->sub_ip[name] == UINT32_MAX) {
            SAVE();
            fvm_fail(vm, "call of a nil or unknown function value");
            goto stop;
        }
        STEP(fvm_enter_sub(vm, (uint16_t)name, pc->a));
    }
    VM_CASE(RETURN_VALUE)
        if (FVM_LIKELY(vm->nframes > 1 && fr->return_ip != FVM_RETURN_HALTS && sp > vm->stack)) {
            VM_POLL_TO(fr->return_ip);
            /* Fast path of a subroutine return: drop the frame's slots and
             * everything above its stack base, keep the value. */
            v = *--sp;
            for (uint32_t i = 0; i < fr->nslots; i++) {
                fvm_release(slots[i]);
                slots[i] = fvm_undef();
            }
            fvm_value *keep = vm->stack + fr->stack_base;
            while (sp > keep)
                fvm_release(*--sp);
            *sp++ = v;
            uint32_t ret = fr->return_ip;
            vm->nframes--;
            fr--;
            slots = vm->slots + fr->slot_base;
            VM_JUMP(ret);
        }
        VM_FALLTHROUGH; /* to the general return */
    VM_CASE(RETURN) {
        VM_POLL_TO(fr->return_ip);
        bool with_value = op_code == FVM_OP_RETURN_VALUE;
        v = with_value ? POP() : fvm_undef();
        SAVE();
        uint32_t ret = FVM_RETURN_HALTS;
        if (vm->nframes > 1)
            ret = fvm_frame_pop(vm).return_ip;
        if (with_value)
            fvm_push(vm, v);
        if (ret == FVM_RETURN_HALTS) {
            vm->halted = true;
            goto stop;
        }
        vm->ip = ret;
        LOAD();
        VM_DISPATCH();
    }
    VM_CASE(PUSH_FRAME)
        SAVE();
        if (!fvm_frame_push(vm, (uint32_t)vm->ip, vm->sp)) {
            fvm_fail(vm, "call depth limit exceeded (%zu frames)", vm->max_frames);
            goto stop;
        }
        LOAD();
        VM_DISPATCH();
    VM_CASE(POP_FRAME)
        SAVE();
        if (vm->nframes > vm->frame_floor)
            fvm_frame_pop(vm);
        LOAD();
        VM_DISPATCH();

    /* --- I/O --- */
    VM_CASE(PRINT) VM_CASE(PRINT_LN) STEP(print_values(vm, pc->a, op_code == FVM_OP_PRINT_LN));
    VM_CASE(READ_LINE)
        SAVE();
        fvm_push(vm, read_line(vm));
        LOAD();
        VM_DISPATCH();

    /* --- collections --- */
    VM_CASE(RANGE) VM_CASE(RANGE_STEP) {
        c = op_code == FVM_OP_RANGE_STEP ? POP() : fvm_int(1);
        b = POP();
        a = POP();
        int64_t step = fvm_to_int(c);
        fvm_release(c);
        fvm_step st = make_range(vm, fvm_to_int(a), fvm_to_int(b), step, &v);
        if (st != FVM_STEP_NEXT) {
            fvm_release(a);
            fvm_release(b);
            SAVE();
            goto stop;
        }
        goto push_release_ab;
    }
    VM_CASE(MAP_BLOCK) VM_CASE(GREP_BLOCK) VM_CASE(SORT_BLOCK) VM_CASE(SORT_DEFAULT)
    VM_CASE(FOR_EACH_BLOCK)
        VM_NEXT(); /* upstream stubs: no effect at all */

    /* --- fused superinstructions (slots read with to_int, written as Int) --- */
    VM_CASE(PRE_INC_SLOT) {
        int64_t n = fvm_wrap_add(SLOT_INT(pc->a), 1);
        SLOT_SET(pc->a, fvm_int(n));
        PUSH(fvm_int(n));
        VM_NEXT();
    }
    VM_CASE(PRE_INC_SLOT_VOID) {
        uint16_t s = pc->a;
        if (FVM_LIKELY(slots[s].type == FVM_T_INT)) { /* the loop-counter case */
            slots[s].as.i = fvm_wrap_add(slots[s].as.i, 1);
            VM_NEXT();
        }
        SLOT_SET(s, fvm_int(fvm_wrap_add(fvm_to_int(slots[s]), 1)));
        VM_NEXT();
    }
    VM_CASE(PRE_DEC_SLOT) {
        int64_t n = fvm_wrap_sub(SLOT_INT(pc->a), 1);
        SLOT_SET(pc->a, fvm_int(n));
        PUSH(fvm_int(n));
        VM_NEXT();
    }
    VM_CASE(POST_INC_SLOT) VM_CASE(POST_DEC_SLOT) {
        int64_t old = SLOT_INT(pc->a);
        int64_t d = op_code == FVM_OP_POST_INC_SLOT ? 1 : -1;
        SLOT_SET(pc->a, fvm_int(fvm_wrap_add(old, d)));
        PUSH(fvm_int(old));
        VM_NEXT();
    }
    VM_CASE(ADD_ASSIGN_SLOT_VOID)
        SLOT_SET(pc->a, fvm_int(fvm_wrap_add(SLOT_INT(pc->a), SLOT_INT(pc->b))));
        VM_NEXT();
    VM_CASE(SLOT_LT_INT_JUMP_IF_FALSE)
        if (SLOT_INT(pc->a) >= pc->u.j.limit)
            VM_BRANCH(pc->u.j.target);
        VM_NEXT();
    VM_CASE(SLOT_INC_LT_INT_JUMP_BACK) {
        uint16_t s = pc->a;
        int64_t n;
        if (FVM_LIKELY(slots[s].type == FVM_T_INT)) {
            n = slots[s].as.i = fvm_wrap_add(slots[s].as.i, 1);
        } else {
            n = fvm_wrap_add(fvm_to_int(slots[s]), 1);
            SLOT_SET(s, fvm_int(n));
        }
        if (n < pc->u.j.limit)
            VM_BRANCH(pc->u.j.target);
        VM_NEXT();
    }
    VM_CASE(ACCUM_SUM_LOOP) {
        int64_t sum = SLOT_INT(pc->a), i = SLOT_INT(pc->b);
        accum_sum(&sum, &i, pc->u.j.limit);
        SLOT_SET(pc->a, fvm_int(sum));
        SLOT_SET(pc->b, fvm_int(i));
        VM_NEXT();
    }
    VM_CASE(CONCAT_CONST_LOOP) {
        fvm_value s;
        int64_t i;
        SAVE();
        if (concat_const_loop(vm, slots, pc, &s, &i) != FVM_STEP_NEXT)
            goto stop;
        SLOT_SET(pc->b, s);
        SLOT_SET(pc->c, fvm_int(i));
        VM_NEXT();
    }
    VM_CASE(PUSH_INT_RANGE_LOOP) {
        int64_t i = SLOT_INT(pc->b);
        SAVE();
        if (push_int_range_loop(vm, pc, &i) != FVM_STEP_NEXT)
            goto stop;
        SLOT_SET(pc->b, fvm_int(i));
        VM_NEXT();
    }

    /* --- builtins and extensions --- */
    VM_CASE(CALL_BUILTIN) {
        if (FVM_UNLIKELY(pc->a >= vm->ncalls || !vm->calls[pc->a].fn)) {
            if (vm->ignore_missing)
                VM_NEXT(); /* upstream: no effect, arguments stay */
            SAVE();
            missing_builtin(vm, pc->a);
            goto stop;
        }
        fvm_builtin_entry e = vm->calls[pc->a];
        SAVE();
        v = e.fn(vm, (uint8_t)pc->b, e.ud);
        fvm_push(vm, v);
        LOAD();
        if (vm->raised || vm->halted)
            goto stop;
        VM_DISPATCH();
    }
    VM_CASE(EXTENDED) {
        fvm_ext_fn fn = vm->ext;
        if (!fn) {
            if (vm->ignore_missing)
                VM_NEXT();
            SAVE();
            fvm_fail(vm, "Extended %u: no extension handler is set", (unsigned)pc->a);
            goto stop;
        }
        SAVE();
        vm->ext = NULL; /* detached while it runs, as upstream */
        unsigned generation = vm->ext_generation;
        fn(vm, pc->a, (uint8_t)pc->b, vm->ext_ud);
        if (vm->ext_generation == generation) /* unless it installed another (or none) */
            vm->ext = fn;
        LOAD();
        if (vm->raised || vm->halted)
            goto stop;
        VM_DISPATCH();
    }
    VM_CASE(EXTENDED_WIDE) {
        if (pc->a >= FVM_AWK_OP_BASE && pc->a < FVM_AWK_OP_END) {
            int awk = fvm_awk_op_for_id(pc->a);
            if (awk < 0) {
                SAVE();
                fvm_awk_unknown_id(vm);
                RELOAD();
                VM_NEXT();
            }
            STEP(fvm_awk_op(vm, (unsigned)awk, pc->u.wide));
        }
        fvm_ext_wide_fn fn = vm->ext_wide;
        if (!fn) {
            if (vm->ignore_missing)
                VM_NEXT();
            SAVE();
            fvm_fail(vm, "ExtendedWide %u: no wide extension handler is set", (unsigned)pc->a);
            goto stop;
        }
        SAVE();
        fn(vm, pc->a, pc->u.wide, vm->ext_wide_ud);
        LOAD();
        if (vm->raised || vm->halted)
            goto stop;
        VM_DISPATCH();
    }

    /* --- shell --- */
    VM_CASE(EXEC) VM_CASE(EXEC_BG) VM_CASE(PIPELINE_BEGIN) VM_CASE(PIPELINE_STAGE)
    VM_CASE(PIPELINE_END) VM_CASE(REDIRECT) VM_CASE(HERE_DOC) VM_CASE(HERE_STRING)
    VM_CASE(CMD_SUBST) VM_CASE(SUBSHELL_BEGIN) VM_CASE(SUBSHELL_END) VM_CASE(PROCESS_SUB_IN)
    VM_CASE(PROCESS_SUB_OUT) VM_CASE(GLOB) VM_CASE(GLOB_RECURSIVE) VM_CASE(TEST_FILE)
    VM_CASE(TRAP_SET) VM_CASE(TRAP_CHECK) VM_CASE(EXPAND_PARAM) VM_CASE(WORD_SPLIT)
    VM_CASE(BRACE_EXPAND) VM_CASE(TILDE_EXPAND) VM_CASE(CALL_FUNCTION) VM_CASE(STR_MATCH)
    VM_CASE(REGEX_MATCH) VM_CASE(WITH_REDIRECTS_BEGIN) VM_CASE(WITH_REDIRECTS_END)
        STEP(fvm_shell_op(vm, pc));
    VM_CASE(SET_STATUS)
        a = POP();
        vm->last_status = (int32_t)fvm_to_int(a);
        fvm_release(a);
        VM_NEXT();
    VM_CASE(GET_STATUS) PUSH(fvm_status(vm->last_status)); VM_NEXT();

    /* --- AWK (host-routed ops and the VM-owned PRNG live in awk.c) --- */
    VM_CASE(AWK_FIELD_GET) VM_CASE(AWK_FIELD_SET) VM_CASE(AWK_NF) VM_CASE(AWK_SET_RECORD)
    VM_CASE(AWK_SPECIAL_GET) VM_CASE(AWK_SPECIAL_SET) VM_CASE(AWK_PRINT) VM_CASE(AWK_PRINTF)
    VM_CASE(AWK_SPRINTF) VM_CASE(AWK_GETLINE) VM_CASE(AWK_LENGTH) VM_CASE(AWK_SUBSTR)
    VM_CASE(AWK_INDEX) VM_CASE(AWK_SPLIT) VM_CASE(AWK_SUB) VM_CASE(AWK_GSUB) VM_CASE(AWK_MATCH)
    VM_CASE(AWK_TO_LOWER) VM_CASE(AWK_TO_UPPER) VM_CASE(AWK_INT) VM_CASE(AWK_SQRT) VM_CASE(AWK_SIN)
    VM_CASE(AWK_COS) VM_CASE(AWK_EXP) VM_CASE(AWK_LOG) VM_CASE(AWK_ATAN2) VM_CASE(AWK_ARRAY_GET)
    VM_CASE(AWK_ARRAY_SET) VM_CASE(AWK_ARRAY_EXISTS) VM_CASE(AWK_ARRAY_DELETE)
    VM_CASE(AWK_ARRAY_CLEAR) VM_CASE(AWK_ARRAY_LEN) VM_CASE(AWK_AND) VM_CASE(AWK_OR)
    VM_CASE(AWK_XOR) VM_CASE(AWK_COMPL) VM_CASE(AWK_LSHIFT) VM_CASE(AWK_RSHIFT)
    VM_CASE(AWK_STRTONUM) VM_CASE(AWK_SYSTIME) VM_CASE(AWK_RAND) VM_CASE(AWK_SRAND)
    VM_CASE(AWK_STRFTIME) VM_CASE(AWK_MKTIME) VM_CASE(AWK_ORD) VM_CASE(AWK_CHR)
    VM_CASE(AWK_MKBOOL) VM_CASE(AWK_INTDIV) VM_CASE(AWK_INTDIV0) VM_CASE(AWK_GENSUB)
        STEP(fvm_awk_op(vm, op_code, pc->a));
    VM_CASE(AWK_DIV) VM_CASE(AWK_DIV_JIT) VM_CASE(AWK_MOD) VM_CASE(AWK_MOD_JIT) {
        b = POP();
        a = POP();
        double d = fvm_to_float(b), x = fvm_to_float(a);
        fvm_release(a);
        fvm_release(b);
        bool is_div = op_code == FVM_OP_AWK_DIV || op_code == FVM_OP_AWK_DIV_JIT;
        if (d == 0.0) {
            SAVE();
            fvm_fail(vm, is_div ? "division by zero attempted" : "division by zero attempted in `%%'");
            goto stop;
        }
        PUSH(fvm_float(is_div ? x / d : fmod(x, d)));
        VM_NEXT();
    }
    VM_CASE(AWK_SIGNAL)
        vm->awk_signal = pc->a;
        SAVE();
        vm->halted = true;
        goto stop;
    VM_CASE(AWK_SQRT_JIT) VM_CASE(AWK_LOG_JIT) {
        a = POP();
        double x = fvm_to_float(a);
        fvm_release(a);
        bool is_sqrt = op_code == FVM_OP_AWK_SQRT_JIT;
        if (x < 0) {
            /* upstream answers a negative argument with the positive NaN
             * constant, not with the machine's NaN from sqrt/log */
            awk_warn_negative(is_sqrt ? "sqrt" : "log", x);
            PUSH(fvm_float(NAN));
            VM_NEXT();
        }
        PUSH(fvm_float(is_sqrt ? sqrt(x) : log(x)));
        VM_NEXT();
    }
    VM_CASE(AWK_LSHIFT_JIT) VM_CASE(AWK_RSHIFT_JIT) {
        b = POP();
        a = POP();
        double x = fvm_to_float(a), n = fvm_to_float(b);
        fvm_release(a);
        fvm_release(b);
        bool left = op_code == FVM_OP_AWK_LSHIFT_JIT;
        if (x < 0 || n < 0) {
            SAVE();
            fvm_fail(vm, "%s: negative values are not allowed", left ? "lshift" : "rshift");
            goto stop;
        }
        uint64_t bits = (uint64_t)fvm_float_to_int(x);
        unsigned sh = (unsigned)(fvm_float_to_int(n) & 63);
        PUSH(fvm_float(left ? (double)(int64_t)(bits << sh) : (double)(bits >> sh)));
        VM_NEXT();
    }
    VM_CASE(AWK_COMPL_JIT) {
        a = POP();
        double x = fvm_to_float(a);
        fvm_release(a);
        if (x < 0) {
            SAVE();
            fvm_fail(vm, "compl: negative value is not allowed");
            goto stop;
        }
        PUSH(fvm_float((double)~fvm_float_to_int(x)));
        VM_NEXT();
    }
    VM_CASE(AWK_GET_FIELD_NUM)
        SAVE();
        fx = fvm_awk_field_num(vm, pc->a);
        RELOAD();
        PUSH(fvm_float(fx));
        VM_NEXT();

    /* --- always-float math --- */
    VM_CASE(POW_FLOAT) VM_CASE(ATAN2_FLOAT) {
        b = POP();
        a = POP();
        double x = float_of(a), y = float_of(b);
        v = fvm_float(op_code == FVM_OP_POW_FLOAT ? pow(x, y) : atan2(x, y));
        goto push_release_ab;
    }
    VM_CASE(SQRT_FLOAT) VM_CASE(SIN_FLOAT) VM_CASE(COS_FLOAT) VM_CASE(EXP_FLOAT) VM_CASE(LOG_FLOAT)
    VM_CASE(ABS_FLOAT) VM_CASE(CEIL_FLOAT) VM_CASE(FLOOR_FLOAT) VM_CASE(TRUNC_FLOAT)
    VM_CASE(ROUND_FLOAT) VM_CASE(TAN_FLOAT) VM_CASE(ASIN_FLOAT) VM_CASE(ACOS_FLOAT)
    VM_CASE(ATAN_FLOAT) VM_CASE(SINH_FLOAT) VM_CASE(COSH_FLOAT) VM_CASE(TANH_FLOAT)
    VM_CASE(LOG2_FLOAT) VM_CASE(LOG10_FLOAT) {
        a = POP();
        double x = float_of(a), r;
        fvm_release(a);
        switch (op_code) {
        case FVM_OP_SQRT_FLOAT: r = sqrt(x); break;
        case FVM_OP_SIN_FLOAT: r = sin(x); break;
        case FVM_OP_COS_FLOAT: r = cos(x); break;
        case FVM_OP_EXP_FLOAT: r = exp(x); break;
        case FVM_OP_LOG_FLOAT: r = log(x); break;
        case FVM_OP_ABS_FLOAT: r = fabs(x); break;
        case FVM_OP_CEIL_FLOAT: r = ceil(x); break;
        case FVM_OP_FLOOR_FLOAT: r = floor(x); break;
        case FVM_OP_TRUNC_FLOAT: r = trunc(x); break;
        case FVM_OP_ROUND_FLOAT: r = nearbyint(x); break; /* ties to even */
        case FVM_OP_TAN_FLOAT: r = tan(x); break;
        case FVM_OP_ASIN_FLOAT: r = asin(x); break;
        case FVM_OP_ACOS_FLOAT: r = acos(x); break;
        case FVM_OP_ATAN_FLOAT: r = atan(x); break;
        case FVM_OP_SINH_FLOAT: r = sinh(x); break;
        case FVM_OP_COSH_FLOAT: r = cosh(x); break;
        case FVM_OP_TANH_FLOAT: r = tanh(x); break;
        case FVM_OP_LOG2_FLOAT: r = log2(x); break;
        default: r = log10(x); break;
        }
        PUSH(fvm_float(r));
        VM_NEXT();
    }
    VM_CASE(TRUNC_INT)
        a = POP();
        v = fvm_int(fvm_to_int(a));
        fvm_release(a);
        PUSH(v);
        VM_NEXT();

    /* --- integer helpers added after 0.13 --- */
    VM_CASE(ABS_INT)
        a = POP();
        v = fvm_int(fvm_to_int(a));
        fvm_release(a);
        if (v.as.i < 0)
            v.as.i = fvm_wrap_neg(v.as.i);
        PUSH(v);
        VM_NEXT();
    VM_CASE(GCD_INT) VM_CASE(LCM_INT)
        b = POP();
        a = POP();
        v = fvm_int(op_code == FVM_OP_GCD_INT ? fvm_gcd_int(fvm_to_int(a), fvm_to_int(b))
                                              : fvm_lcm_int(fvm_to_int(a), fvm_to_int(b)));
        goto push_release_ab;
    VM_CASE(TIME_INT) PUSH(fvm_int((int64_t)time(NULL))); VM_NEXT();
    VM_CASE(MUL_MOD_FLOOR)
        c = POP();
        b = POP();
        a = POP();
        v = fvm_mul_mod_floor(a, b, c);
        fvm_release(c);
        goto push_release_ab;
    VM_CASE(MUL_ADD_MOD_FLOOR) {
        fvm_value k = POP();
        c = POP();
        b = POP();
        a = POP();
        v = fvm_mul_add_mod_floor(a, b, c, k);
        fvm_release(k);
        fvm_release(c);
        goto push_release_ab;
    }

    /* --- scheduler requests: the op always stops the run, halted for its
     *     scheduler or failed without one --- */
    VM_CASE(GO) VM_CASE(CHAN_MAKE) VM_CASE(CHAN_SEND) VM_CASE(CHAN_RECV) VM_CASE(CHAN_CLOSE)
    VM_CASE(SELECT)
        SAVE();
        fvm_sched_op(vm, pc);
        goto stop;

    /* --- load-time superinstructions (superop.h): the whole sequence on
     *     Int and Float operands, else exactly the op they replaced --- */
#ifdef FVM_DISPATCH_SWITCH
#define XOP_CASE(name) case FVM_XOP_##name:
#else
#define XOP_CASE(name) L_XOP_##name:
#endif
    XOP_CASE(JIT_ENTER) {
        /* The start of a region of native code (vm_jit.h, enter). */
        SAVE();
        vm->ip--;
        int replaced = jit_hooks->enter(jit, vm);
        if (replaced == FVM_JIT_RESUMED) {
            LOAD();
            VM_POLL_TO((size_t)(pc - code)); /* what arrived while native code ran */
            VM_DISPATCH();
        }
        RELOAD();
        op_code = (unsigned)replaced;
#ifdef FVM_DISPATCH_SWITCH
        goto redispatch;
#else
        goto *labels[op_code];
#endif
    }
    XOP_CASE(JIT_HOT)
    XOP_CASE(JIT_RECORD) {
        /* A loop header the tracing tier counts, or any op while it
         * records (vm_jit.h, hotspot and record). Either hook may switch
         * the VM to another copy of the ops, so pc is rebased on it. */
        SAVE();
        vm->ip--;
        int next = op_code == FVM_XOP_JIT_HOT ? jit_hooks->hotspot(jit, vm)
                                              : jit_hooks->record(jit, vm);
        code = vm->exec;
        LOAD();
        if (next == FVM_JIT_RESUMED) {
            VM_POLL_TO((size_t)(pc - code));
            VM_DISPATCH();
        }
        op_code = (unsigned)next;
#ifdef FVM_DISPATCH_SWITCH
        goto redispatch;
#else
        goto *labels[op_code];
#endif
    }
    XOP_CASE(HOOKED) STEP(fvm_hooked_op(vm, pc)); /* an op a hook concerns (hooks.c) */
    XOP_CASE(SLOT_PAIR)
        a = slots[pc->a];
        b = slots[pc->b];
        fvm_retain(a);
        fvm_retain(b);
        PUSH(a);
        PUSH(b);
        pc++;
        VM_NEXT();
    XOP_CASE(SLOT_ARITH_INT)
        if (FVM_LIKELY(slots[pc->a].type == FVM_T_INT)) {
            PUSH(fvm_int(int_arith(pc->b, slots[pc->a].as.i, pc->u.j.limit)));
            pc += 2;
            VM_NEXT();
        }
        if (slots[pc->a].type == FVM_T_FLOAT) {
            PUSH(fvm_float(float_arith(pc->b, slots[pc->a].as.f, pc->u.j.limit)));
            pc += 2;
            VM_NEXT();
        }
        goto xop_get_slot;
    XOP_CASE(SLOT_ARITH_SET)
        if (FVM_LIKELY(slots[pc->a].type == FVM_T_INT)) {
            SLOT_SET(pc->c, fvm_int(int_arith(pc->b, slots[pc->a].as.i, pc->u.j.limit)));
            pc += 3;
            VM_NEXT();
        }
        if (slots[pc->a].type == FVM_T_FLOAT) {
            SLOT_SET(pc->c, fvm_float(float_arith(pc->b, slots[pc->a].as.f, pc->u.j.limit)));
            pc += 3;
            VM_NEXT();
        }
        goto xop_get_slot;
    /* A fused jump branches from the jump it replaced (pc moved onto it,
     * its fields intact), so that a poll's error names that jump and fuel
     * counts the whole sequence. */
    XOP_CASE(SLOT_CMP_JUMP)
        if (FVM_LIKELY(slots[pc->a].type == FVM_T_INT)) {
            if (FVM_NUM_COMPARE(pc->b, slots[pc->a].as.i, (int64_t)pc->u.j.limit) == pc->c) {
                pc += 3;
                VM_BRANCH(pc->u.j.target);
            }
            pc += 3;
            VM_NEXT();
        }
        if (slots[pc->a].type == FVM_T_FLOAT) {
            if (FVM_NUM_COMPARE(pc->b, slots[pc->a].as.f, (double)pc->u.j.limit) == pc->c) {
                pc += 3;
                VM_BRANCH(pc->u.j.target);
            }
            pc += 3;
            VM_NEXT();
        }
    xop_get_slot: /* what the replaced GetSlot does */
        v = slots[pc->a];
        fvm_retain(v);
        PUSH(v);
        VM_NEXT();
    XOP_CASE(ARITH_INT)
        if (FVM_LIKELY(sp > vm->stack && sp[-1].type == FVM_T_INT)) {
            sp[-1].as.i = int_arith(pc->b, sp[-1].as.i, pc->u.j.limit);
            pc++;
            VM_NEXT();
        }
        if (sp > vm->stack && sp[-1].type == FVM_T_FLOAT) {
            sp[-1].as.f = float_arith(pc->b, sp[-1].as.f, pc->u.j.limit);
            pc++;
            VM_NEXT();
        }
        PUSH(fvm_int(pc->u.j.limit)); /* what the replaced LoadInt does */
        VM_NEXT();
    XOP_CASE(CMP_JUMP)
        if (FVM_LIKELY(DEPTH() >= 2 && sp[-2].type == FVM_T_INT && sp[-1].type == FVM_T_INT)) {
            bool t = FVM_NUM_COMPARE(pc->b, sp[-2].as.i, sp[-1].as.i);
            sp -= 2;
            if (t == pc->c) {
                pc++;
                VM_BRANCH(pc->u.j.target);
            }
            pc++;
            VM_NEXT();
        }
        if (DEPTH() >= 2 && num_pair(sp[-2], sp[-1], &fx, &fy)) {
            sp -= 2;
            if (FVM_NUM_COMPARE(pc->b, fx, fy) == pc->c) {
                pc++;
                VM_BRANCH(pc->u.j.target);
            }
            pc++;
            VM_NEXT();
        }
        if (DEPTH() >= 2) { /* what the replaced comparison does */
            a = sp[-2];
            b = sp[-1];
            sp--;
            sp[-1] = fvm_bool(fvm_num_compare(pc->b, a, b));
            fvm_release(a);
            fvm_release(b);
        }
        VM_NEXT();
    XOP_CASE(ARITH_SET)
        if (FVM_LIKELY(DEPTH() >= 2 && sp[-2].type == FVM_T_INT && sp[-1].type == FVM_T_INT)) {
            int64_t r = int_arith(pc->b, sp[-2].as.i, sp[-1].as.i);
            sp -= 2;
            SLOT_SET(pc->a, fvm_int(r));
            pc++;
            VM_NEXT();
        }
        if (DEPTH() >= 2 && num_pair(sp[-2], sp[-1], &fx, &fy)) {
            sp -= 2;
            SLOT_SET(pc->a, fvm_float(float_arith(pc->b, fx, fy)));
            pc++;
            VM_NEXT();
        }
        if (DEPTH() >= 2) { /* what the replaced arithmetic op does */
            a = sp[-2];
            b = sp[-1];
            sp--;
            sp[-1] = pc->b == FVM_OP_ADD   ? fvm_arith_add(a, b)
                     : pc->b == FVM_OP_SUB ? fvm_arith_sub(a, b)
                                           : fvm_arith_mul(a, b);
            fvm_release(a);
            fvm_release(b);
        }
        VM_NEXT();
    XOP_CASE(SLOT_MOVE) /* a copy moves; the slot it came from keeps its value */
        v = slots[pc->a];
        fvm_retain(v);
        SLOT_SET(pc->b, v);
        pc++;
        VM_NEXT();
    XOP_CASE(SLOTS_ARITH_SET)
        if (FVM_LIKELY(slots[pc->a].type == FVM_T_INT && slots[pc->b].type == FVM_T_INT)) {
            SLOT_SET(pc->c, fvm_int(int_arith(pc->u.j.limit, slots[pc->a].as.i, slots[pc->b].as.i)));
            pc += 3;
            VM_NEXT();
        }
        if (num_pair(slots[pc->a], slots[pc->b], &fx, &fy)) {
            SLOT_SET(pc->c, fvm_float(float_arith(pc->u.j.limit, fx, fy)));
            pc += 3;
            VM_NEXT();
        }
        goto xop_get_slot;
    XOP_CASE(SLOT_STEP)
        if (FVM_LIKELY(slots[pc->a].type == FVM_T_INT)) {
            PUSH(fvm_int(fvm_wrap_add(slots[pc->a].as.i, pc->u.j.limit)));
            pc++;
            VM_NEXT();
        }
        goto xop_get_slot;
    XOP_CASE(SLOT_STEP_SET)
        if (FVM_LIKELY(slots[pc->a].type == FVM_T_INT)) {
            SLOT_SET(pc->c, fvm_int(fvm_wrap_add(slots[pc->a].as.i, pc->u.j.limit)));
            pc += 2;
            VM_NEXT();
        }
        goto xop_get_slot;
    XOP_CASE(FLOAT_ARITH)
        if (FVM_LIKELY(sp > vm->stack && num_pair(sp[-1], fvm_float(pc->u.f), &fx, &fy))) {
            sp[-1] = fvm_float(float_arith(pc->b, fx, fy));
            pc++;
            VM_NEXT();
        }
        PUSH(fvm_float(pc->u.f)); /* what the replaced LoadFloat does */
        VM_NEXT();
#undef INT_COMPARE
#undef XOP_CASE

    VM_CASE(END)
        vm->sp = DEPTH();
        vm->ip = (size_t)(pc - code);
        return;

#ifdef FVM_DISPATCH_SWITCH
    default: /* unreachable: the verifier admits only known opcodes */
        return;
    }
#endif

push_release_ab:
    /* Shared tail: push v, release the two popped operands. */
    fvm_release(a);
    fvm_release(b);
    PUSH(v);
    VM_NEXT();

stop:
    /* SAVE() was done by whoever jumped here; vm->ip is past the op. */
    if (vm->raised)
        vm->error_ip = vm->ip ? vm->ip - 1 : 0;
    return;
}
