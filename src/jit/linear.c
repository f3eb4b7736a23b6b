/* The linear tier (see linear.h): bytecode -> IR by abstract interpretation
 * of the stack with static types, then the shared code generation
 * (codegen.h): DCE, register allocation, the backend's lowering, and a
 * commit into the caller's code arena. */
#include "jit/linear.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "jit/codegen.h"
#include "jit/ir.h"
#include "jit/jitop.h"
#include "jit/snap.h"
#include "jit/translate.h"
#include "opinfo.h"

#define MAX_DEPTH 256

/* Values on the abstract stack and in slots are typed values
 * (translate.h) of kind Int, Float or Bool. The fvm_type of each kind: */
static uint32_t kind_type(uint8_t k)
{
    return k == FVM_JK_FLOAT ? FVM_T_FLOAT : k == FVM_JK_BOOL ? FVM_T_BOOL : FVM_T_INT;
}

typedef struct lslot {
    uint16_t slot;
    uint8_t kind;     /* fvm_jit_kind read on entry (if read) */
    bool read, written;
    bool have;        /* cur holds the slot's current value */
    fvm_tv cur;
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
    fvm_tr tr;
    fvm_tv stack[MAX_DEPTH];
    fvm_ir_ref slots_p, out_p; /* the parameters */
    int32_t *map;     /* slot number -> index in ls, or -1 */
    lslot *ls;
    uint32_t nls;
} lin;

/* ---- eligibility ---------------------------------------------------------------- */

fvm_jit_reason fvm_linear_decline_reason(const fvm_chunk *c)
{
    if (!c || c->len == 0)
        return FVM_JIT_REASON_EMPTY;
    int depth = 0;
    for (size_t ip = 0; ip < c->len; ip++) {
        fvm_jit_reason r = fvm_jit_op_reason(FVM_JIT_LINEAR, c, ip);
        if (r != FVM_JIT_REASON_NONE)
            return r;
        const fvm_opinfo *oi = &fvm_opinfo_table[c->ops[ip].code];
        if (depth < oi->pop)
            return FVM_JIT_REASON_STACK_UNDERFLOW;
        depth += oi->push - oi->pop;
        if (depth > MAX_DEPTH)
            return FVM_JIT_REASON_STACK_DEPTH;
    }
    return depth == 1 ? FVM_JIT_REASON_NONE : FVM_JIT_REASON_RESULT_COUNT;
}

/* ---- the translator's hooks -------------------------------------------------------------- */

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
        fvm_tr_decline(&L->tr, FVM_JIT_REASON_SLOT_RANGE);
        return NULL;
    }
    if (L->map[k] < 0) {
        L->map[k] = (int32_t)L->nls;
        L->ls[L->nls] = (lslot){.slot = k};
        L->nls++;
    }
    return &L->ls[L->map[k]];
}

/* A slot read before the code writes it is loaded from the caller's array
 * once, with the kind it holds now (the run checks that kind again). */
static bool slot_get(fvm_tr *t, uint16_t k, fvm_tv *out)
{
    lin *L = t->tier;
    lslot *s = slot_state(L, k);
    if (!s)
        return false;
    if (!s->have) {
        fvm_value v = L->slots[k];
        if (!fvm_jit_kind_numeric((uint8_t)fvm_jit_kind_of(v)))
            return fvm_tr_decline(t, FVM_JIT_REASON_SLOT_KIND);
        s->kind = (uint8_t)fvm_jit_kind_of(v);
        s->read = true;
        fvm_ir_ref args[1] = {L->slots_p};
        fvm_ir_type ty = fvm_jit_kind_ir(s->kind);
        fvm_ir_ref r = fvm_ir_emit(&L->f, FVM_IR_LOAD, ty, args, 1, payload_offset(k), 0);
        /* A Bool is the payload's first byte, as the interpreter reads it;
         * the other bytes of the union may hold anything. */
        if (s->kind == FVM_JK_BOOL)
            r = fvm_ir_op2(&L->f, FVM_IR_AND, FVM_IR_I64, r, fvm_ir_const_i(&L->f, 0xff));
        s->cur = (fvm_tv){r, s->kind, -1};
        s->have = true;
    }
    *out = s->cur;
    return true;
}

static void slot_set(fvm_tr *t, uint16_t k, fvm_tv v)
{
    lslot *s = slot_state(t->tier, k);
    if (!s)
        return;
    s->cur = v;
    s->have = s->written = true;
}

/* The code writes nothing before its last guard, so an exit needs no
 * state rebuilt: the run declines and the caller interprets the chunk.
 * The snapshot still records the state, for dumps. A guard that always
 * fails (a constant zero divisor) would make the code useless: decline. */
static bool guard(fvm_tr *t, fvm_ir_ref cond, fvm_jit_reason reason)
{
    lin *L = t->tier;
    if (!cond)
        return fvm_tr_decline(t, reason);
    fvm_ir_snap_entry *e = fvm_xmalloc(((size_t)L->nls + 1) * sizeof *e);
    size_t n = 0;
    for (uint32_t i = 0; i < L->nls; i++)
        if (L->ls[i].have)
            e[n++] = (fvm_ir_snap_entry){FVM_IR_SNAP_SLOT, L->ls[i].cur.k, 0, L->ls[i].slot,
                                         L->ls[i].cur.r};
    uint32_t snap = fvm_snap_take(&L->f, t->ip, t->stack, t->depth, e, n);
    free(e);
    fvm_ir_ref args[1] = {cond};
    fvm_ir_emit(&L->f, FVM_IR_GUARD, FVM_IR_VOID, args, 1, 0, snap);
    if (fvm_ir_is_const(&L->f, cond) && fvm_ir_get(&L->f, cond)->imm == 0)
        return fvm_tr_decline(t, FVM_JIT_REASON_CONST_ZERO_DIVISOR);
    return true;
}

/* The linear tier's ops never jump (the JIT op table keeps jumps out). */
static const fvm_tr_hooks linear_hooks = {.slot_get = slot_get, .slot_set = slot_set, .guard = guard};

/* Store v as the value at index of the array at base: the type word (with
 * the zero padding after it) and the payload. A Bool's payload is 0 or 1
 * with zero bytes after it, as fvm_bool makes it. */
static void store_value(lin *L, fvm_ir_ref base, uint32_t index, fvm_tv v)
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
    for (uint32_t ip = 0; ip < L->c->len; ip++) {
        L->tr.ip = ip;
        if (!fvm_tr_op(&L->tr, &L->c->ops[ip]))
            return false;
    }
    for (uint32_t i = 0; i < L->nls; i++)
        if (L->ls[i].written)
            store_value(L, L->slots_p, L->ls[i].slot, L->ls[i].cur);
    store_value(L, L->out_p, 0, L->stack[0]);
    fvm_ir_emit(&L->f, FVM_IR_RET, FVM_IR_VOID, NULL, 0, 0, 0);
    fvm_ir_dce(&L->f);
    if (!stores_follow_guards(&L->f))
        return fvm_tr_decline(&L->tr, FVM_JIT_REASON_STORE_BEFORE_GUARD);
    return true;
}

/* ---- compile --------------------------------------------------------------------------- */


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
        *t_commit = fvm_now_ns();
        return NULL;
    }
    fvm_jit_reason why = FVM_JIT_REASON_NONE;
    void *entry = fvm_codegen_finish(&L->f, arena, dump_ir, dump_asm, b, t_commit, &why);
    if (!entry)
        fvm_tr_decline(&L->tr, why);
    return entry;
}

fvm_linear_code *fvm_linear_compile(const fvm_chunk *c, const fvm_value *slots, size_t nslots,
                                    fvm_mcode *arena, fvm_buf *dump_ir, fvm_buf *dump_asm,
                                    fvm_linear_stats *stats, fvm_jit_reason *why_not)
{
    if ((*why_not = fvm_linear_decline_reason(c)) != FVM_JIT_REASON_NONE)
        return NULL;
    uint64_t t0 = fvm_now_ns();
    size_t nmap = c->max_slot < 0 ? 1 : (size_t)c->max_slot + 1;
    lin L = {.c = c, .slots = slots, .nslots = slots ? nslots : 0};
    fvm_tr_init(&L.tr, &L.f, c, &linear_hooks, &L, L.stack, MAX_DEPTH);
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
        *stats = (fvm_linear_stats){t1 - t0, fvm_now_ns() - t1, fvm_ir_live_count(&L.f), b.len};
    if (ok) {
        set_slot_tables(code, &L);
        code->image = b;
        code->has_image = true;
        fvm_code_buf_init(&b);
    } else {
        *why_not = L.tr.why != FVM_JIT_REASON_NONE ? L.tr.why : FVM_JIT_REASON_INTERNAL;
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
static void put32(fvm_buf *out, uint32_t v) { fvm_meta_put32(out, v); }

static uint32_t get32(const uint8_t *p)
{
    fvm_meta_reader r = {p, p + 4, true};
    return fvm_meta_get32(&r, UINT32_MAX);
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
