/* The linear tier (see linear.h): bytecode -> IR by abstract interpretation
 * of the stack with static types, then the shared code generation
 * (codegen.h): DCE, register allocation, the backend's lowering, and a
 * commit into the caller's code arena. */
#include "jit/linear.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jit/codegen.h"
#include "jit/ir.h"
#include "jit/typed.h"
#include "opinfo.h"

#define MAX_DEPTH 256

/* Values on the abstract stack and in slots are typed values (typed.h)
 * of kind Int, Float or Bool. The fvm_type of each kind: */
static uint32_t kind_type(uint8_t k)
{
    return k == FVM_JK_FLOAT ? FVM_T_FLOAT : k == FVM_JK_BOOL ? FVM_T_BOOL : FVM_T_INT;
}

typedef fvm_tv sval;

typedef struct lslot {
    uint16_t slot;
    uint8_t kind;     /* fvm_jit_kind read on entry (if read) */
    bool read, written;
    bool have;        /* cur holds the slot's current value */
    sval cur;
} lslot;

/* The code works on the caller's values directly: entry(slots, out) loads
 * the payloads of the slots it reads, and after its last guard stores the
 * type and payload of each slot it writes and of the result. */
typedef int64_t (*linear_entry)(fvm_value *slots, fvm_value *out);

/* A slot the code reads, with the type it was compiled for. */
typedef struct read_slot {
    uint32_t slot;
    uint32_t type; /* fvm_type */
} read_slot;

struct fvm_linear_code {
    linear_entry entry;
    read_slot *reads;
    uint32_t *clobbers; /* slots written but not read: any value, released on completion */
    uint32_t nreads, nclobbers;
    size_t min_nslots;
    fvm_code_buf image; /* the code before it became executable */
    bool has_image;
};

typedef struct lin {
    const fvm_chunk *c;
    const fvm_value *slots;
    size_t nslots;
    fvm_ir_func f;
    fvm_ir_ref slots_p, out_p; /* the parameters */
    sval stack[MAX_DEPTH];
    int sp;
    int32_t *map;     /* slot number -> index in ls, or -1 */
    lslot *ls;
    uint32_t nls;
    uint32_t ip;
    const char *why;
} lin;

/* ---- eligibility ---------------------------------------------------------------- */

static bool accepted_op(unsigned code)
{
    switch (code) {
    case FVM_OP_LOAD_INT: case FVM_OP_LOAD_FLOAT: case FVM_OP_LOAD_CONST: case FVM_OP_LOAD_TRUE:
    case FVM_OP_LOAD_FALSE: case FVM_OP_POP: case FVM_OP_DUP: case FVM_OP_SWAP: case FVM_OP_ROT:
    case FVM_OP_GET_SLOT: case FVM_OP_SET_SLOT: case FVM_OP_ADD: case FVM_OP_SUB: case FVM_OP_MUL:
    case FVM_OP_DIV: case FVM_OP_MOD: case FVM_OP_POW: case FVM_OP_NEGATE: case FVM_OP_INC:
    case FVM_OP_DEC: case FVM_OP_NUM_EQ: case FVM_OP_NUM_NE: case FVM_OP_NUM_LT: case FVM_OP_NUM_GT:
    case FVM_OP_NUM_LE: case FVM_OP_NUM_GE: case FVM_OP_SPACESHIP: case FVM_OP_LOG_NOT:
    case FVM_OP_BIT_AND: case FVM_OP_BIT_OR: case FVM_OP_BIT_XOR: case FVM_OP_BIT_NOT:
    case FVM_OP_SHL: case FVM_OP_SHR: case FVM_OP_PRE_INC_SLOT: case FVM_OP_PRE_INC_SLOT_VOID:
    case FVM_OP_PRE_DEC_SLOT: case FVM_OP_POST_INC_SLOT: case FVM_OP_POST_DEC_SLOT:
    case FVM_OP_ADD_ASSIGN_SLOT_VOID: case FVM_OP_TRUNC_INT: case FVM_OP_POW_FLOAT:
    case FVM_OP_SQRT_FLOAT: case FVM_OP_SIN_FLOAT: case FVM_OP_COS_FLOAT: case FVM_OP_EXP_FLOAT:
    case FVM_OP_ATAN2_FLOAT: case FVM_OP_LOG_FLOAT: case FVM_OP_ABS_FLOAT: case FVM_OP_CEIL_FLOAT:
    case FVM_OP_FLOOR_FLOAT: case FVM_OP_TRUNC_FLOAT: case FVM_OP_ROUND_FLOAT: case FVM_OP_TAN_FLOAT:
    case FVM_OP_ASIN_FLOAT: case FVM_OP_ACOS_FLOAT: case FVM_OP_ATAN_FLOAT: case FVM_OP_SINH_FLOAT:
    case FVM_OP_COSH_FLOAT: case FVM_OP_TANH_FLOAT: case FVM_OP_LOG2_FLOAT: case FVM_OP_LOG10_FLOAT:
        return true;
    default:
        return false;
    }
}

static bool numeric_const(fvm_value v)
{
    return v.type == FVM_T_INT || v.type == FVM_T_FLOAT || v.type == FVM_T_BOOL;
}

static bool fail(const char **why_not, const char *why)
{
    if (why_not)
        *why_not = why;
    return false;
}

bool fvm_linear_eligible(const fvm_chunk *c, const char **why_not)
{
    if (!c || c->len == 0)
        return fail(why_not, "empty chunk");
    int depth = 0;
    for (size_t ip = 0; ip < c->len; ip++) {
        const fvm_op *op = &c->ops[ip];
        if (!accepted_op(op->code))
            return fail(why_not, "op not supported by the linear tier");
        if (op->code == FVM_OP_LOAD_CONST && !numeric_const(c->consts[op->a]))
            return fail(why_not, "LoadConst of a non-numeric constant");
        const fvm_opinfo *oi = &fvm_opinfo_table[op->code];
        if (depth < oi->pop)
            return fail(why_not, "pops an empty stack");
        depth += oi->push - oi->pop;
        if (depth > MAX_DEPTH)
            return fail(why_not, "stack deeper than 256");
    }
    if (depth != 1)
        return fail(why_not, "does not end with exactly one value");
    return true;
}

/* ---- building the IR ----------------------------------------------------------------- */

static void push(lin *L, fvm_ir_ref r, uint8_t k) { L->stack[L->sp++] = (sval){r, k}; }
static sval pop(lin *L) { return L->stack[--L->sp]; }

static fvm_ir_ref to_f(lin *L, sval s) { return fvm_tv_to_float(&L->f, s); }
static fvm_ir_ref to_i(lin *L, sval s) { return fvm_tv_to_int(&L->f, s); }

/* Byte offsets of a value's type and payload in an fvm_value array. */
static int32_t type_offset(uint32_t slot)
{
    return (int32_t)(slot * sizeof(fvm_value) + offsetof(fvm_value, type));
}

static int32_t payload_offset(uint32_t slot)
{
    return (int32_t)(slot * sizeof(fvm_value) + offsetof(fvm_value, as));
}

static lslot *slot_state(lin *L, uint16_t k)
{
    if (k >= L->nslots) {
        L->why = "slot beyond the slots passed";
        return NULL;
    }
    if (L->map[k] < 0) {
        L->map[k] = (int32_t)L->nls;
        L->ls[L->nls] = (lslot){.slot = k};
        L->nls++;
    }
    return &L->ls[L->map[k]];
}

static bool slot_read(lin *L, uint16_t k, sval *out)
{
    lslot *s = slot_state(L, k);
    if (!s)
        return false;
    if (!s->have) {
        fvm_value v = L->slots[k];
        if (!numeric_const(v)) {
            L->why = "a slot read before it is written holds no Int, Float or Bool";
            return false;
        }
        s->kind = (uint8_t)fvm_jit_kind_of(v);
        s->read = true;
        fvm_ir_ref args[1] = {L->slots_p};
        fvm_ir_type t = fvm_jit_kind_ir(s->kind);
        fvm_ir_ref r = fvm_ir_emit(&L->f, FVM_IR_LOAD, t, args, 1, payload_offset(k), 0);
        /* A Bool is the payload's first byte, as the interpreter reads it;
         * the other bytes of the union may hold anything. */
        if (s->kind == FVM_JK_BOOL)
            r = fvm_ir_op2(&L->f, FVM_IR_AND, FVM_IR_I64, r, fvm_ir_const_i(&L->f, 0xff));
        s->cur = (sval){r, s->kind};
        s->have = true;
    }
    *out = s->cur;
    return true;
}

static bool slot_write(lin *L, uint16_t k, sval v)
{
    lslot *s = slot_state(L, k);
    if (!s)
        return false;
    s->cur = v;
    s->have = s->written = true;
    return true;
}

/* Guard that a divisor is not zero; the snapshot is the state before the op. */
static bool guard_nonzero(lin *L, fvm_ir_ref d)
{
    fvm_ir_ref nz = fvm_ir_cmp(&L->f, FVM_IR_FCMP, FVM_IR_NE, d, fvm_ir_const_f(&L->f, 0.0));
    fvm_ir_snap_entry *e = fvm_xmalloc(((size_t)L->sp + L->nls) * sizeof *e);
    size_t n = 0;
    for (int i = 0; i < L->sp; i++)
        e[n++] = (fvm_ir_snap_entry){FVM_IR_SNAP_STACK, L->stack[i].k, 0, (uint32_t)i,
                                     L->stack[i].r};
    for (uint32_t i = 0; i < L->nls; i++)
        if (L->ls[i].have)
            e[n++] = (fvm_ir_snap_entry){FVM_IR_SNAP_SLOT, L->ls[i].cur.k, 0, L->ls[i].slot,
                                         L->ls[i].cur.r};
    uint32_t snap = fvm_ir_snap_add(&L->f, L->ip, e, n);
    free(e);
    fvm_ir_ref args[1] = {nz};
    fvm_ir_emit(&L->f, FVM_IR_GUARD, FVM_IR_VOID, args, 1, 0, snap);
    if (fvm_ir_is_const(&L->f, nz) && fvm_ir_get(&L->f, nz)->imm == 0) {
        L->why = "division by a constant zero";
        return false;
    }
    return true;
}

/* PreInc/PreDec/PostInc/PostDec and their void form: the slot read with
 * to_int, written back as Int; the pre forms push the new value, the post
 * forms the old one. */
static bool slot_step(lin *L, const fvm_op *op)
{
    sval s;
    if (!slot_read(L, op->a, &s))
        return false;
    bool dec = op->code == FVM_OP_PRE_DEC_SLOT || op->code == FVM_OP_POST_DEC_SLOT;
    fvm_ir_ref old = to_i(L, s);
    fvm_ir_ref n = fvm_ir_op2(&L->f, FVM_IR_ADD, FVM_IR_I64, old, fvm_ir_const_i(&L->f, dec ? -1 : 1));
    if (!slot_write(L, op->a, (sval){n, FVM_JK_INT}))
        return false;
    if (op->code == FVM_OP_POST_INC_SLOT || op->code == FVM_OP_POST_DEC_SLOT)
        push(L, old, FVM_JK_INT);
    else if (op->code != FVM_OP_PRE_INC_SLOT_VOID)
        push(L, n, FVM_JK_INT);
    return true;
}

static bool slot_op(lin *L, const fvm_op *op)
{
    sval a, b;
    switch (op->code) {
    case FVM_OP_GET_SLOT:
        if (!slot_read(L, op->a, &a))
            return false;
        push(L, a.r, a.k);
        return true;
    case FVM_OP_SET_SLOT:
        return slot_write(L, op->a, pop(L));
    case FVM_OP_ADD_ASSIGN_SLOT_VOID:
        if (!slot_read(L, op->a, &a) || !slot_read(L, op->b, &b))
            return false;
        return slot_write(L, op->a,
                          (sval){fvm_ir_op2(&L->f, FVM_IR_ADD, FVM_IR_I64, to_i(L, a), to_i(L, b)),
                                 FVM_JK_INT});
    default:
        return slot_step(L, op);
    }
}

static void load_const(lin *L, fvm_value v)
{
    sval t = fvm_tv_const(&L->f, v);
    push(L, t.r, t.k);
}

static bool stack_op(lin *L, unsigned code)
{
    sval a, b, c;
    switch (code) {
    case FVM_OP_POP: L->sp--; return true;
    case FVM_OP_DUP: a = L->stack[L->sp - 1]; push(L, a.r, a.k); return true;
    case FVM_OP_SWAP:
        a = L->stack[L->sp - 1];
        L->stack[L->sp - 1] = L->stack[L->sp - 2];
        L->stack[L->sp - 2] = a;
        return true;
    case FVM_OP_ROT: /* [a, b, c] -> [b, c, a] */
        a = L->stack[L->sp - 3], b = L->stack[L->sp - 2], c = L->stack[L->sp - 1];
        L->stack[L->sp - 3] = b;
        L->stack[L->sp - 2] = c;
        L->stack[L->sp - 1] = a;
        return true;
    default:
        return false;
    }
}

static bool build_op(lin *L, const fvm_op *op)
{
    unsigned code = op->code;
    switch (code) {
    case FVM_OP_LOAD_INT: load_const(L, fvm_int(op->u.i)); return true;
    case FVM_OP_LOAD_FLOAT: load_const(L, fvm_float(op->u.f)); return true;
    case FVM_OP_LOAD_CONST: load_const(L, L->c->consts[op->a]); return true;
    case FVM_OP_LOAD_TRUE: load_const(L, fvm_bool(true)); return true;
    case FVM_OP_LOAD_FALSE: load_const(L, fvm_bool(false)); return true;
    case FVM_OP_DIV: {
        sval b = pop(L), a = pop(L);
        fvm_ir_ref d = to_f(L, b), n = to_f(L, a);
        L->sp += 2; /* the snapshot shows the stack before the op */
        bool ok = guard_nonzero(L, d);
        L->sp -= 2;
        push(L, fvm_ir_op2(&L->f, FVM_IR_FDIV, FVM_IR_F64, n, d), FVM_JK_FLOAT);
        return ok;
    }
    case FVM_OP_GET_SLOT: case FVM_OP_SET_SLOT: case FVM_OP_ADD_ASSIGN_SLOT_VOID:
    case FVM_OP_PRE_INC_SLOT: case FVM_OP_PRE_INC_SLOT_VOID: case FVM_OP_PRE_DEC_SLOT:
    case FVM_OP_POST_INC_SLOT: case FVM_OP_POST_DEC_SLOT:
        return slot_op(L, op);
    default: {
        if (stack_op(L, code))
            return true;
        /* Every other accepted op is a typed numeric op. */
        unsigned n = (unsigned)fvm_opinfo_table[code].pop;
        L->sp -= (int)n;
        sval r = fvm_tv_op(&L->f, code, &L->stack[L->sp], n);
        push(L, r.r, r.k);
        return true;
    }
    }
}

/* Store v as the value at index of the array at base: the type word (with
 * the zero padding after it) and the payload. A Bool's payload is 0 or 1
 * with zero bytes after it, as fvm_bool makes it. */
static void store_value(lin *L, fvm_ir_ref base, uint32_t index, sval v)
{
    uint64_t tag = kind_type(v.k); /* type, then pad_ = 0 (little-endian) */
    fvm_ir_ref args[2] = {base, fvm_ir_const_i(&L->f, (int64_t)tag)};
    fvm_ir_emit(&L->f, FVM_IR_STORE, FVM_IR_VOID, args, 2, type_offset(index), 0);
    args[1] = v.r;
    fvm_ir_emit(&L->f, FVM_IR_STORE, FVM_IR_VOID, args, 2, payload_offset(index), 0);
}

/* The stores write the caller's values, so none may come before a guard:
 * an exit must leave everything as it was. */
static bool stores_follow_guards(const fvm_ir_func *f)
{
    bool stored = false;
    for (fvm_ir_ref r = 1; r < f->ninsts; r++) {
        const fvm_ir_inst *in = &f->insts[r];
        if (in->dead)
            continue;
        if (in->op == FVM_IR_STORE)
            stored = true;
        else if (in->op == FVM_IR_GUARD && stored)
            return false;
    }
    return true;
}

static bool build(lin *L)
{
    L->slots_p = fvm_ir_emit(&L->f, FVM_IR_PARAM, FVM_IR_PTR, NULL, 0, 0, 0);
    L->out_p = fvm_ir_emit(&L->f, FVM_IR_PARAM, FVM_IR_PTR, NULL, 0, 0, 1);
    for (L->ip = 0; L->ip < L->c->len; L->ip++)
        if (!build_op(L, &L->c->ops[L->ip]))
            return false;
    for (uint32_t i = 0; i < L->nls; i++)
        if (L->ls[i].written)
            store_value(L, L->slots_p, L->ls[i].slot, L->ls[i].cur);
    store_value(L, L->out_p, 0, L->stack[0]);
    fvm_ir_emit(&L->f, FVM_IR_RET, FVM_IR_VOID, NULL, 0, 0, 0);
    fvm_ir_dce(&L->f);
    if (!stores_follow_guards(&L->f)) {
        L->why = "a store before a guard";
        return false;
    }
    return true;
}

/* ---- compile --------------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint16_t max_slot_used(const fvm_chunk *c)
{
    uint16_t m = 0;
    for (size_t ip = 0; ip < c->len; ip++) {
        unsigned code = c->ops[ip].code;
        if (code == FVM_OP_GET_SLOT || code == FVM_OP_SET_SLOT || code == FVM_OP_PRE_INC_SLOT ||
            code == FVM_OP_PRE_INC_SLOT_VOID || code == FVM_OP_PRE_DEC_SLOT ||
            code == FVM_OP_POST_INC_SLOT || code == FVM_OP_POST_DEC_SLOT)
            m = c->ops[ip].a > m ? c->ops[ip].a : m;
        if (code == FVM_OP_ADD_ASSIGN_SLOT_VOID) {
            m = c->ops[ip].a > m ? c->ops[ip].a : m;
            m = c->ops[ip].b > m ? c->ops[ip].b : m;
        }
    }
    return m;
}

/* The run's tables: the slots to check, and those to release after. */
static void set_slot_tables(fvm_linear_code *code, const lin *L)
{
    code->reads = fvm_xmalloc(((size_t)L->nls + 1) * sizeof *code->reads);
    code->clobbers = fvm_xmalloc(((size_t)L->nls + 1) * sizeof *code->clobbers);
    code->nreads = code->nclobbers = 0;
    code->min_nslots = 0;
    for (uint32_t i = 0; i < L->nls; i++) {
        const lslot *s = &L->ls[i];
        if (s->read)
            code->reads[code->nreads++] = (read_slot){s->slot, kind_type(s->kind)};
        else if (s->written)
            code->clobbers[code->nclobbers++] = s->slot;
        if ((size_t)s->slot + 1 > code->min_nslots)
            code->min_nslots = (size_t)s->slot + 1;
    }
}


/* Build, then allocate, lower into b and commit into arena (codegen.h):
 * the entry, or NULL; *t_commit: when the commit began. build ran DCE
 * already (its store check needs it), so the second sweep finds nothing. */
static void *generate(lin *L, fvm_mcode *arena, fvm_code_buf *b, fvm_buf *dump_ir,
                      fvm_buf *dump_asm, uint64_t *t_commit)
{
    if (!build(L)) {
        *t_commit = now_ns();
        return NULL;
    }
    return fvm_codegen_finish(&L->f, arena, dump_ir, dump_asm, b, t_commit, &L->why);
}

fvm_linear_code *fvm_linear_compile(const fvm_chunk *c, const fvm_value *slots, size_t nslots,
                                    fvm_mcode *arena, fvm_buf *dump_ir, fvm_buf *dump_asm,
                                    fvm_linear_stats *stats, const char **why_not)
{
    if (!fvm_linear_eligible(c, why_not))
        return NULL;
    uint64_t t0 = now_ns();
    size_t nmap = (size_t)max_slot_used(c) + 1;
    lin L = {.c = c, .slots = slots, .nslots = slots ? nslots : 0};
    L.map = fvm_xmalloc(nmap * sizeof *L.map);
    memset(L.map, 0xff, nmap * sizeof *L.map);
    L.ls = fvm_xcalloc(nmap, sizeof *L.ls);
    fvm_ir_init(&L.f);
    fvm_linear_code *code = fvm_xcalloc(1, sizeof *code);
    fvm_code_buf b;
    fvm_code_buf_init(&b);
    uint64_t t1;
    code->entry = (linear_entry)generate(&L, arena, &b, dump_ir, dump_asm, &t1);
    bool ok = code->entry != NULL;
    if (stats)
        *stats = (fvm_linear_stats){t1 - t0, now_ns() - t1, fvm_ir_live_count(&L.f), b.len};
    if (ok) {
        set_slot_tables(code, &L);
        code->image = b;
        code->has_image = true;
        fvm_code_buf_init(&b);
    } else {
        if (why_not)
            *why_not = L.why;
        free(code);
        code = NULL;
    }
    fvm_code_buf_free(&b);
    fvm_ir_free(&L.f);
    free(L.map);
    free(L.ls);
    return code;
}

/* ---- run ---------------------------------------------------------------------------------- */

bool fvm_linear_run(const fvm_linear_code *code, fvm_value *slots, size_t nslots, fvm_value *out)
{
    return fvm_linear_exec(code, slots, nslots, out) == FVM_LINEAR_DONE;
}

/* The run of code that writes slots it does not read: their old values
 * may be heap values, kept to be released once the code replaced them. */
static fvm_linear_outcome exec_clobbering(const fvm_linear_code *code, fvm_value *slots,
                                          fvm_value *out)
{
    fvm_value small[8];
    fvm_value *old = code->nclobbers <= 8 ? small : fvm_xmalloc(code->nclobbers * sizeof *old);
    for (uint32_t i = 0; i < code->nclobbers; i++)
        old[i] = slots[code->clobbers[i]];
    bool done = code->entry(slots, out) == 0;
    for (uint32_t i = 0; done && i < code->nclobbers; i++)
        fvm_release(old[i]);
    if (old != small)
        free(old);
    return done ? FVM_LINEAR_DONE : FVM_LINEAR_EXITED;
}

fvm_linear_outcome fvm_linear_exec(const fvm_linear_code *code, fvm_value *slots, size_t nslots,
                                   fvm_value *out)
{
    if (!code || code->min_nslots > nslots || (code->min_nslots && !slots))
        return FVM_LINEAR_MISFIT;
    for (uint32_t i = 0; i < code->nreads; i++)
        if (slots[code->reads[i].slot].type != code->reads[i].type)
            return FVM_LINEAR_MISFIT;
    if (code->nclobbers)
        return exec_clobbering(code, slots, out);
    return code->entry(slots, out) == 0 ? FVM_LINEAR_DONE : FVM_LINEAR_EXITED;
}

const fvm_code_buf *fvm_linear_image(const fvm_linear_code *code)
{
    return code->has_image ? &code->image : NULL;
}

void fvm_linear_drop_image(fvm_linear_code *code)
{
    if (code->has_image)
        fvm_code_buf_free(&code->image);
    code->has_image = false;
}

/* The metadata: nreads, nclobbers, then each read's slot and type and each
 * clobbered slot, all little-endian 32-bit words. */
static void put32(fvm_buf *out, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    fvm_buf_put(out, b, 4);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void fvm_linear_save_meta(const fvm_linear_code *code, fvm_buf *out)
{
    put32(out, code->nreads);
    put32(out, code->nclobbers);
    for (uint32_t i = 0; i < code->nreads; i++) {
        put32(out, code->reads[i].slot);
        put32(out, code->reads[i].type);
    }
    for (uint32_t i = 0; i < code->nclobbers; i++)
        put32(out, code->clobbers[i]);
}

fvm_linear_code *fvm_linear_from_meta(const void *meta, size_t len, void *entry)
{
    const uint8_t *p = meta;
    if (len < 8)
        return NULL;
    uint32_t nreads = get32(p), nclobbers = get32(p + 4);
    if (nreads > UINT16_MAX + 1u || nclobbers > UINT16_MAX + 1u ||
        len != 8 + 8 * (size_t)nreads + 4 * (size_t)nclobbers)
        return NULL;
    fvm_linear_code *code = fvm_xcalloc(1, sizeof *code);
    code->entry = (linear_entry)entry;
    code->reads = fvm_xmalloc(((size_t)nreads + 1) * sizeof *code->reads);
    code->clobbers = fvm_xmalloc(((size_t)nclobbers + 1) * sizeof *code->clobbers);
    bool ok = true;
    p += 8;
    for (uint32_t i = 0; i < nreads; i++, p += 8) {
        code->reads[i] = (read_slot){get32(p), get32(p + 4)};
        ok &= code->reads[i].slot <= UINT16_MAX &&
              (code->reads[i].type == FVM_T_INT || code->reads[i].type == FVM_T_FLOAT ||
               code->reads[i].type == FVM_T_BOOL);
    }
    for (uint32_t i = 0; i < nclobbers; i++, p += 4) {
        code->clobbers[i] = get32(p);
        ok &= code->clobbers[i] <= UINT16_MAX;
    }
    code->nreads = nreads;
    code->nclobbers = nclobbers;
    for (uint32_t i = 0; i < nreads; i++)
        if ((size_t)code->reads[i].slot + 1 > code->min_nslots)
            code->min_nslots = (size_t)code->reads[i].slot + 1;
    for (uint32_t i = 0; i < nclobbers; i++)
        if ((size_t)code->clobbers[i] + 1 > code->min_nslots)
            code->min_nslots = (size_t)code->clobbers[i] + 1;
    if (!ok) {
        fvm_linear_free(code);
        return NULL;
    }
    return code;
}

void fvm_linear_free(fvm_linear_code *code)
{
    if (!code)
        return;
    fvm_linear_drop_image(code);
    free(code->reads);
    free(code->clobbers);
    free(code);
}
