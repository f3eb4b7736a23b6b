/* The tracing tier's compiler (see trace.h).
 *
 * IR layout: the entry block loads the slots and globals the tree reads
 * from io into one variable per entry and class (as the block tier does)
 * and the poll word's address into a variable; the loop block starts the
 * root path; each side path is a block of its own, entered by the branch
 * it leaves from and built after the path holding that branch. Values
 * cross blocks only through the entries' variables: a side path starts
 * with an empty operand stack and no inlined call. The slots of inlined
 * calls are entries too (their own space), made as the translation meets
 * them, so the stack's words in io follow all the entries and its offset
 * is fixed once the tree is built. */
#include "jit/trace.h"

#include <stdlib.h>
#include <string.h>

#include "jit/ir.h"
#include "jit/jitop.h"
#include "jit/snap.h"
#include "jit/translate.h"
#include "vm_jit.h"

#define MAX_DEPTH 64
#define MAX_USED 128
_Static_assert(MAX_USED + MAX_DEPTH <= FVM_BLOCK_IO_POLL, "io holds every slot and stack value");

/* A side path waiting to be built: its block and the slot kinds at the
 * branch it leaves from. */
typedef struct pending {
    uint32_t path, block;
    uint8_t slot[MAX_USED];
} pending;

/* A call the tree inlines, while its callee is being translated. */
typedef struct iframe {
    uint8_t space;         /* its slots' space (snap.h) */
    uint32_t return_ip;
    uint32_t base;         /* the stack depth its call left below its arguments */
    int32_t *index;        /* slot number -> used index, or -1 */
} iframe;

typedef struct tbuilder {
    const fvm_chunk *c;
    const fvm_trace_tree *t;
    uint32_t path;         /* the path being translated */
    uint32_t pos;          /* the index of the op being translated in it */
    fvm_ir_func f;
    fvm_tr tr;
    fvm_tv stack[MAX_DEPTH];
    uint16_t used[MAX_USED];
    uint8_t spaces[MAX_USED]; /* where each lives (snap.h) */
    uint8_t kinds[MAX_USED]; /* at the start */
    uint8_t slot[MAX_USED];  /* now */
    uint8_t dirty[MAX_USED]; /* to write back at an exit */
    uint32_t nused;
    int32_t *slot_index;     /* the entered frame's slot number -> used index, or -1 */
    int32_t *global_index;   /* global (name index) -> used index, or -1 */
    size_t nmap;             /* cells of a slot map */
    iframe frames[FVM_TRACE_MAX_INLINE]; /* the inlined calls active now */
    uint32_t nframes;
    uint32_t next_space;     /* the space of the next inlined call */
    int32_t slot_var[MAX_USED][2];
    uint32_t poll_var, loop;
    uint8_t loop_kinds[MAX_USED]; /* the slot kinds at the top of the loop */
    pending sides[FVM_TRACE_MAX_PATHS];
    uint32_t nsides;
    fvm_exits_builder exits;
    fvm_trace_exit *where;   /* per exit record */
    size_t where_cap;
} tbuilder;

static bool fail(tbuilder *B, fvm_jit_reason why) { return fvm_tr_decline(&B->tr, why); }

static uint32_t slot_var(tbuilder *B, uint32_t i, uint8_t k)
{
    int32_t *v = &B->slot_var[i][k == FVM_JK_FLOAT];
    if (*v < 0)
        *v = (int32_t)fvm_ir_var_new(&B->f, fvm_jit_kind_ir(k));
    return (uint32_t)*v;
}

/* ---- exits ------------------------------------------------------------------------------ */

/* Leave native code for the interpreter at ip unless cond holds (cond 0:
 * always), with the stack as it stands and the slots written so far. */
static bool guard_at(tbuilder *B, uint32_t ip, fvm_ir_ref cond, fvm_jit_reason reason)
{
    fvm_ir_snap_entry e[MAX_USED];
    size_t n = 0;
    for (uint32_t i = 0; i < B->nused; i++)
        if (B->dirty[i] && fvm_jit_kind_numeric(B->slot[i]))
            e[n++] = (fvm_ir_snap_entry){FVM_IR_SNAP_VAR, B->slot[i], 0, i,
                                         slot_var(B, i, B->slot[i])};
    uint32_t snap = fvm_snap_take(&B->f, ip, B->stack, B->tr.depth, e, n);
    uint32_t frames[3 * FVM_TRACE_MAX_INLINE];
    for (uint32_t k = 0; k < B->nframes; k++) {
        frames[3 * k] = B->frames[k].space;
        frames[3 * k + 1] = B->frames[k].return_ip;
        frames[3 * k + 2] = B->frames[k].base;
    }
    uint32_t rec = fvm_exits_add(&B->exits, ip, reason, B->stack, B->tr.depth, B->slot, B->dirty,
                                 B->nused, frames, B->nframes);
    if (rec != snap + 1)
        return fail(B, FVM_JIT_REASON_INTERNAL);
    fvm_grow((void **)&B->where, &B->where_cap, rec + 1, sizeof *B->where);
    B->where[rec] = (fvm_trace_exit){B->path, B->pos};
    if (!cond)
        cond = fvm_ir_const_i(&B->f, 0);
    fvm_ir_emit(&B->f, FVM_IR_GUARD, FVM_IR_VOID, &cond, 1, 0, snap);
    return true;
}

static bool guard(fvm_tr *t, fvm_ir_ref cond, fvm_jit_reason reason)
{
    return guard_at(t->tier, t->ip, cond, reason);
}

/* ---- slots -------------------------------------------------------------------------------- */

/* Used entry i's value (slots and globals alike); false when reading it
 * leaves native code (a value without a native form). */
static bool used_get(fvm_tr *t, uint32_t i, fvm_tv *out)
{
    tbuilder *B = t->tier;
    uint8_t kind = B->slot[i];
    if (kind == FVM_JK_OTHER) {
        guard(t, 0, FVM_JIT_REASON_EXIT_VALUE_KIND);
        t->dead = true;
        return false;
    }
    fvm_ir_ref r = kind == FVM_JK_UNDEF ? fvm_ir_const_i(&B->f, 0)
                                        : fvm_ir_vget(&B->f, slot_var(B, i, kind));
    *out = (fvm_tv){r, kind, -1};
    return true;
}

static void used_set(fvm_tr *t, uint32_t i, fvm_tv v)
{
    tbuilder *B = t->tier;
    if (fvm_jit_kind_numeric(v.k))
        fvm_ir_vset(&B->f, slot_var(B, i, v.k), v.r);
    B->slot[i] = v.k;
    B->dirty[i] = 1;
}

/* The used entry of slot k of the frame being translated. An inlined
 * call's slots get entries as they are first touched: Undef, as a call's
 * new frame starts, never loaded at entry. UINT32_MAX when the entries
 * run out (the compile declines). */
static uint32_t slot_entry(tbuilder *B, uint16_t k)
{
    if (B->nframes == 0)
        return (uint32_t)B->slot_index[k];
    iframe *fr = &B->frames[B->nframes - 1];
    if (fr->index[k] < 0) {
        if (B->nused == MAX_USED) {
            fail(B, FVM_JIT_REASON_TOO_MANY_SLOTS);
            return UINT32_MAX;
        }
        uint32_t i = B->nused++;
        fr->index[k] = (int32_t)i;
        B->used[i] = k;
        B->spaces[i] = fr->space;
        B->kinds[i] = B->slot[i] = B->loop_kinds[i] = FVM_JK_UNDEF;
        B->dirty[i] = 0;
    }
    return (uint32_t)fr->index[k];
}

static bool slot_get(fvm_tr *t, uint16_t k, fvm_tv *out)
{
    uint32_t i = slot_entry(t->tier, k);
    return i != UINT32_MAX && used_get(t, i, out);
}

static void slot_set(fvm_tr *t, uint16_t k, fvm_tv v)
{
    uint32_t i = slot_entry(t->tier, k);
    if (i != UINT32_MAX)
        used_set(t, i, v);
}

static bool global_get(fvm_tr *t, uint16_t g, fvm_tv *out)
{
    return used_get(t, (uint32_t)((tbuilder *)t->tier)->global_index[g], out);
}

static void global_set(fvm_tr *t, uint16_t g, fvm_tv v)
{
    used_set(t, (uint32_t)((tbuilder *)t->tier)->global_index[g], v);
}

/* ---- control: the path decides ----------------------------------------------------------- */

static const fvm_trace_path *cur(const tbuilder *B) { return &B->t->paths[B->path]; }

/* The op the recording ran after the current one. */
static uint32_t next_ip(const tbuilder *B)
{
    const fvm_trace_path *p = cur(B);
    return B->pos + 1 < p->n ? p->ips[B->pos + 1] : B->t->anchor;
}

static bool jump(fvm_tr *t, uint32_t target)
{
    tbuilder *B = t->tier;
    return target == next_ip(B) || fail(B, FVM_JIT_REASON_INTERNAL);
}

/* The side path that leaves from the current op, or -1. */
static int32_t side_here(const tbuilder *B)
{
    for (uint32_t k = B->path + 1; k < B->t->npaths; k++)
        if (B->t->paths[k].parent == (int32_t)B->path && B->t->paths[k].parent_pos == B->pos)
            return (int32_t)k;
    return -1;
}

/* Stay on the path while cond is `when` exactly when the recording took
 * the branch; otherwise go into the side path recorded from the other
 * successor, or leave there. */
static bool branch(fvm_tr *t, fvm_ir_ref cond, bool when, uint32_t target)
{
    tbuilder *B = t->tier;
    uint32_t fall = t->ip + 1, next = next_ip(B);
    if (target == fall)
        return true;
    if (next != target && next != fall)
        return fail(B, FVM_JIT_REASON_INTERNAL);
    bool taken = next == target;
    fvm_ir_func *f = &B->f;
    if (fvm_ir_get(f, cond)->type != FVM_IR_BOOL)
        cond = fvm_ir_cmp(f, FVM_IR_ICMP, FVM_IR_NE, cond, fvm_ir_const_i(f, 0));
    int32_t side = side_here(B);
    if (side >= 0 && t->depth == 0 && B->nframes == 0 && B->nsides < FVM_TRACE_MAX_PATHS) {
        uint32_t stay = fvm_ir_block_alloc(f), away = fvm_ir_block_alloc(f);
        fvm_ir_br(f, cond, taken == when ? stay : away, taken == when ? away : stay);
        pending *p = &B->sides[B->nsides++];
        p->path = (uint32_t)side;
        p->block = away;
        memcpy(p->slot, B->slot, B->nused);
        fvm_ir_block_enter(f, stay);
        return true;
    }
    if (taken != when) {
        /* An integer compare negates exactly by its opposite condition (a
         * float compare does not: every compare with a NaN is false). */
        static const fvm_ir_cond opposite[] = {[FVM_IR_EQ] = FVM_IR_NE, [FVM_IR_NE] = FVM_IR_EQ,
                                               [FVM_IR_LT] = FVM_IR_GE, [FVM_IR_GT] = FVM_IR_LE,
                                               [FVM_IR_LE] = FVM_IR_GT, [FVM_IR_GE] = FVM_IR_LT};
        const fvm_ir_inst *c = fvm_ir_get(f, cond);
        if (c->op == FVM_IR_ICMP)
            cond = fvm_ir_cmp(f, FVM_IR_ICMP, opposite[c->aux], c->args[0], c->args[1]);
        else
            cond = fvm_ir_cmp(f, FVM_IR_ICMP, FVM_IR_EQ, cond, fvm_ir_const_i(f, 0));
    }
    return guard_at(B, taken ? fall : target, cond, FVM_JIT_REASON_EXIT_BRANCH);
}

static const fvm_tr_hooks trace_hooks = {
    .slot_get = slot_get, .slot_set = slot_set, .global_get = global_get, .global_set = global_set,
    .guard = guard, .jump = jump, .branch = branch};

/* ---- the trace ------------------------------------------------------------------------------ */

/* A new used entry for slot or global k of space (*index its map cell)
 * with its kind at the start (from kinds[0..nkinds)). */
static bool use(tbuilder *B, uint8_t space, int32_t *index, uint16_t k, const uint8_t *kinds,
                size_t nkinds)
{
    if (*index >= 0)
        return true;
    if (B->nused == MAX_USED)
        return fail(B, FVM_JIT_REASON_TOO_MANY_SLOTS);
    if (k >= nkinds)
        return fail(B, FVM_JIT_REASON_SLOT_RANGE);
    *index = (int32_t)B->nused;
    B->kinds[B->nused] = kinds[k];
    B->spaces[B->nused] = space;
    B->used[B->nused++] = k;
    return true;
}

/* Number the slots of the entered frame and the globals the tree names,
 * with their kinds at the start: the entries the code loads at entry. The
 * slots of inlined calls (the ops between a call and its return) get
 * theirs as the translation meets them. */
static bool collect_used(tbuilder *B)
{
    const fvm_trace_tree *t = B->t;
    for (uint32_t k = 0; k < t->npaths; k++) {
        uint32_t calls = 0;
        for (uint32_t n = 0; n < t->paths[k].n; n++) {
            const fvm_op *op = &B->c->ops[t->paths[k].ips[n]];
            if (fvm_jitop_table[op->code].cls == FVM_JC_CALL) {
                calls += op->code == FVM_OP_CALL ? 1 : calls ? -1u : 0;
                continue;
            }
            if (fvm_jitop_table[op->code].cls == FVM_JC_GLOBAL &&
                !use(B, FVM_SPACE_GLOBAL, &B->global_index[op->a], op->a, t->gkinds, t->ngkinds))
                return false;
            uint16_t ks[2];
            unsigned count = calls ? 0 : fvm_op_slots(op, ks);
            for (unsigned i = 0; i < count; i++)
                if (!use(B, FVM_SPACE_SLOT, &B->slot_index[ks[i]], ks[i], t->kinds, t->nkinds))
                    return false;
        }
    }
    return true;
}

/* Call: the recorded path goes on at the callee's entry, in a new frame
 * whose stack starts below the call's arguments (the callee pops them).
 * Return and ReturnValue of an inlined call: the stack back to the call's
 * base, with the returned value on it; the frame's slots stop existing. */
static bool call_op(tbuilder *B, const fvm_op *op, uint32_t ip)
{
    uint32_t next = next_ip(B);
    if (op->code == FVM_OP_CALL) {
        if (next != B->c->sub_ip[op->a])
            return fail(B, FVM_JIT_REASON_INTERNAL);
        if (B->nframes == FVM_TRACE_MAX_INLINE || B->next_space > UINT8_MAX)
            return fail(B, FVM_JIT_REASON_TRACE_INLINE_DEPTH);
        if (B->tr.depth < op->b)
            return fail(B, FVM_JIT_REASON_STACK_UNDERFLOW);
        iframe *fr = &B->frames[B->nframes++];
        *fr = (iframe){(uint8_t)B->next_space++, ip + 1, B->tr.depth - op->b,
                       fvm_xmalloc(B->nmap * sizeof *fr->index)};
        memset(fr->index, 0xff, B->nmap * sizeof *fr->index);
        return true;
    }
    if (B->nframes == 0)
        return fail(B, FVM_JIT_REASON_OP_CALL); /* a return from the entered frame */
    iframe *fr = &B->frames[B->nframes - 1];
    if (next != fr->return_ip)
        return fail(B, FVM_JIT_REASON_INTERNAL);
    if (op->code == FVM_OP_RETURN_VALUE) {
        if (B->tr.depth <= fr->base)
            return fail(B, FVM_JIT_REASON_STACK_UNDERFLOW);
        B->stack[fr->base] = B->stack[B->tr.depth - 1];
        B->tr.depth = fr->base + 1;
    } else
        B->tr.depth = fr->base;
    for (uint32_t i = 0; i < B->nused; i++)
        if (B->spaces[i] == fr->space) {
            B->slot[i] = FVM_JK_UNDEF;
            B->dirty[i] = 0;
        }
    free(fr->index);
    B->nframes--;
    return true;
}

static void build_entry(tbuilder *B)
{
    fvm_ir_func *f = &B->f;
    fvm_ir_ref io = fvm_ir_emit(f, FVM_IR_PARAM, FVM_IR_PTR, NULL, 0, 0, 0);
    f->exit_base = io; /* the stack's words follow every entry: exit_stack is set once
                          the inlined calls have added theirs */
    for (uint32_t i = 0; i < B->nused; i++) {
        uint8_t k = B->kinds[i];
        if (!fvm_jit_kind_numeric(k))
            continue;
        fvm_ir_ref v = fvm_ir_emit(f, FVM_IR_LOAD, fvm_jit_kind_ir(k), &io, 1, 8 * (int64_t)i, 0);
        fvm_ir_vset(f, slot_var(B, i, k), v);
    }
    B->poll_var = fvm_ir_var_new(f, FVM_IR_PTR);
    fvm_ir_vset(f, B->poll_var,
                fvm_ir_emit(f, FVM_IR_LOAD, FVM_IR_PTR, &io, 1, 8 * (int64_t)FVM_BLOCK_IO_POLL, 0));
}

/* The end of a path, back at the header: loop, or leave there. */
static void build_end(tbuilder *B)
{
    fvm_ir_func *f = &B->f;
    uint32_t anchor = B->t->anchor;
    B->pos = cur(B)->n;
    if (B->tr.depth != 0 || memcmp(B->slot, B->loop_kinds, B->nused) != 0) {
        guard_at(B, anchor, 0, FVM_JIT_REASON_EXIT_LOOP_KINDS);
        return;
    }
    fvm_ir_ref addr = fvm_ir_vget(f, B->poll_var);
    fvm_ir_ref word = fvm_ir_emit(f, FVM_IR_LOAD, FVM_IR_I64, &addr, 1, 0, 4);
    if (!guard_at(B, anchor, fvm_ir_cmp(f, FVM_IR_ICMP, FVM_IR_EQ, word, fvm_ir_const_i(f, 0)),
                  FVM_JIT_REASON_EXIT_POLL))
        return;
    fvm_ir_jmp(f, B->loop);
}

/* The top of the loop: a block of its own that back-edges jump to. */
static void start_loop(tbuilder *B)
{
    B->loop = fvm_ir_block_alloc(&B->f);
    fvm_ir_jmp(&B->f, B->loop);
    fvm_ir_block_enter(&B->f, B->loop);
    memcpy(B->loop_kinds, B->slot, B->nused);
}

/* Forget the inlined calls active now. */
static void drop_frames(tbuilder *B)
{
    while (B->nframes)
        free(B->frames[--B->nframes].index);
}

/* Translate path k from the current block and slot kinds. */
static bool build_path(tbuilder *B, uint32_t k)
{
    const fvm_trace_path *p = &B->t->paths[k];
    B->path = k;
    B->tr.depth = 0;
    B->tr.dead = false;
    drop_frames(B); /* a side path that ended in an exit inside a call left them */
    for (B->pos = 0; B->pos < p->n; B->pos++) {
        uint32_t ip = p->ips[B->pos];
        B->tr.ip = ip;
        if (k == 0 && B->pos == p->loop_pos && B->pos > 0) /* past the peeled iteration */
            start_loop(B);
        fvm_jit_reason r = fvm_jit_op_reason(FVM_JIT_TRACE, B->c, ip);
        if (r != FVM_JIT_REASON_NONE)
            return fail(B, r);
        if (fvm_jitop_table[B->c->ops[ip].code].cls == FVM_JC_CALL) {
            if (!call_op(B, &B->c->ops[ip], ip))
                return false;
            continue;
        }
        if (!fvm_tr_op(&B->tr, &B->c->ops[ip]))
            return B->tr.why == FVM_JIT_REASON_NONE && B->tr.dead && k > 0;
        /* A root path that leaves native code for good before its end
         * would leave on every entry: not worth its code. A side path may
         * (its block ends at that exit). */
        if (B->tr.dead)
            return k > 0 || fail(B, FVM_JIT_REASON_SLOT_KIND);
    }
    if (B->nframes)
        return fail(B, FVM_JIT_REASON_INTERNAL); /* recordings end in the entered frame */
    build_end(B);
    return B->tr.why == FVM_JIT_REASON_NONE;
}

static bool build(tbuilder *B)
{
    fvm_ir_func *f = &B->f;
    memcpy(B->slot, B->kinds, B->nused);
    /* Every slot counts as written: at the header, a slot written later in
     * the loop holds the previous iteration's value, not the entry's. An
     * exit writing back a slot the path never changed writes its own
     * value. */
    memset(B->dirty, 1, B->nused);
    build_entry(B);
    start_loop(B);
    if (!build_path(B, 0))
        return false;
    for (uint32_t s = 0; s < B->nsides; s++) {
        fvm_ir_block_enter(f, B->sides[s].block);
        memcpy(B->slot, B->sides[s].slot, B->nused);
        for (uint32_t i = 0; i < B->nused; i++) /* no call is active where a side path starts */
            if (B->spaces[i] >= FVM_SPACE_FRAME) {
                B->slot[i] = FVM_JK_UNDEF;
                B->dirty[i] = 0;
            }
        if (!build_path(B, B->sides[s].path))
            return false;
    }
    return true;
}

fvm_block_code *fvm_trace_compile(const fvm_chunk *c, const fvm_trace_tree *t, fvm_mcode *arena,
                                  fvm_buf *dump_ir, fvm_buf *dump_asm, fvm_trace_exit **exits,
                                  fvm_jit_reason *why)
{
    tbuilder B = {.c = c, .t = t, .next_space = FVM_SPACE_FRAME};
    fvm_ir_init(&B.f);
    fvm_tr_init(&B.tr, &B.f, c, &trace_hooks, &B, B.stack, MAX_DEPTH);
    memset(B.slot_var, 0xff, sizeof B.slot_var);
    size_t nmap = c->max_slot < 0 ? 1 : (size_t)c->max_slot + 1;
    B.nmap = nmap;
    B.slot_index = fvm_xmalloc(nmap * sizeof *B.slot_index);
    memset(B.slot_index, 0xff, nmap * sizeof *B.slot_index);
    size_t nnames = c->nnames ? c->nnames : 1;
    B.global_index = fvm_xmalloc(nnames * sizeof *B.global_index);
    memset(B.global_index, 0xff, nnames * sizeof *B.global_index);
    fvm_exits_builder_reset(&B.exits);
    fvm_grow((void **)&B.where, &B.where_cap, 1, sizeof *B.where);
    B.where[0] = (fvm_trace_exit){0, 0};
    fvm_block_code *code = NULL;
    if (t->npaths > 0 && t->paths[0].n > 0 && collect_used(&B) && build(&B)) {
        fvm_jit_reason w = FVM_JIT_REASON_NONE;
        B.f.exit_stack = B.nused;
        code = fvm_block_code_make(&B.f, (uint32_t)c->len, B.used, B.spaces, B.kinds, B.nused,
                                   &B.exits.x, arena, dump_ir, dump_asm, NULL, &w);
        if (!code)
            fail(&B, w);
    }
    drop_frames(&B);
    if (code) {
        *exits = B.where;
        B.where = NULL;
    } else
        *why = B.tr.why != FVM_JIT_REASON_NONE ? B.tr.why : FVM_JIT_REASON_INTERNAL;
    fvm_ir_free(&B.f);
    free(B.slot_index);
    free(B.global_index);
    free(B.where);
    fvm_exits_builder_free(&B.exits);
    return code;
}

uint32_t fvm_trace_tree_frames(const fvm_chunk *c, const fvm_trace_tree *t)
{
    uint32_t deepest = 0;
    for (uint32_t k = 0; k < t->npaths; k++) {
        uint32_t calls = 0;
        for (uint32_t n = 0; n < t->paths[k].n; n++) {
            unsigned code = c->ops[t->paths[k].ips[n]].code;
            if (code == FVM_OP_CALL && ++calls > deepest)
                deepest = calls;
            else if ((code == FVM_OP_RETURN || code == FVM_OP_RETURN_VALUE) && calls)
                calls--;
        }
    }
    return deepest;
}

/* ---- persisting -------------------------------------------------------------------------------- */

/* Little-endian 32-bit words: the anchor, nkinds and the kinds, ngkinds
 * and the globals' kinds, npaths,
 * per path its length, parent + 1, parent_pos, loop_pos and its ips; then
 * nexits and per exit its path and pos. */
void fvm_trace_tree_save(const fvm_trace_tree *t, const fvm_trace_exit *exits, uint32_t nexits,
                         fvm_buf *out)
{
    fvm_meta_put32(out, t->anchor);
    fvm_meta_put32(out, (uint32_t)t->nkinds);
    for (size_t i = 0; i < t->nkinds; i++)
        fvm_meta_put32(out, t->kinds[i]);
    fvm_meta_put32(out, (uint32_t)t->ngkinds);
    for (size_t i = 0; i < t->ngkinds; i++)
        fvm_meta_put32(out, t->gkinds[i]);
    fvm_meta_put32(out, t->npaths);
    for (uint32_t k = 0; k < t->npaths; k++) {
        const fvm_trace_path *p = &t->paths[k];
        fvm_meta_put32(out, p->n);
        fvm_meta_put32(out, (uint32_t)(p->parent + 1));
        fvm_meta_put32(out, p->parent_pos);
        fvm_meta_put32(out, p->loop_pos);
        for (uint32_t i = 0; i < p->n; i++)
            fvm_meta_put32(out, p->ips[i]);
    }
    fvm_meta_put32(out, nexits);
    for (uint32_t e = 0; e < nexits; e++) {
        fvm_meta_put32(out, exits[e].path);
        fvm_meta_put32(out, exits[e].pos);
    }
}

/* A word no larger than max, or 0 once the reader has failed (so a bad
 * count never sizes an allocation). */
static uint32_t get(fvm_meta_reader *r, uint32_t max)
{
    uint32_t v = fvm_meta_get32(r, max);
    return r->ok ? v : 0;
}

void fvm_trace_tree_free(fvm_trace_tree *t)
{
    for (uint32_t k = 0; k < t->npaths; k++)
        free(t->paths[k].ips);
    free(t->paths);
    free(t->kinds);
    free(t->gkinds);
    memset(t, 0, sizeof *t);
}

bool fvm_trace_tree_load(fvm_meta_reader *r, size_t chunk_len, fvm_trace_tree *t,
                         fvm_trace_exit **exits, uint32_t *nexits)
{
    memset(t, 0, sizeof *t);
    *exits = NULL;
    *nexits = 0;
    /* Every count is checked against the bytes left before it allocates. */
    size_t left = (size_t)(r->end - r->p) / 4;
    uint32_t max_ip = chunk_len ? (uint32_t)chunk_len - 1 : 0;
    t->anchor = get(r, max_ip);
    t->nkinds = get(r, (uint32_t)(left < 65537 ? left : 65537));
    t->kinds = fvm_xmalloc(t->nkinds ? t->nkinds : 1);
    for (size_t i = 0; i < t->nkinds && r->ok; i++)
        t->kinds[i] = (uint8_t)get(r, FVM_JK_OTHER);
    left = (size_t)(r->end - r->p) / 4;
    t->ngkinds = get(r, (uint32_t)(left < 65537 ? left : 65537));
    t->gkinds = fvm_xmalloc(t->ngkinds ? t->ngkinds : 1);
    for (size_t i = 0; i < t->ngkinds && r->ok; i++)
        t->gkinds[i] = (uint8_t)get(r, FVM_JK_OTHER);
    left = (size_t)(r->end - r->p) / 4;
    t->npaths = get(r, left < FVM_TRACE_MAX_PATHS ? (uint32_t)left : FVM_TRACE_MAX_PATHS);
    t->paths = fvm_xcalloc(t->npaths ? t->npaths : 1, sizeof *t->paths);
    for (uint32_t k = 0; k < t->npaths && r->ok; k++) {
        fvm_trace_path *p = &t->paths[k];
        left = (size_t)(r->end - r->p) / 4;
        p->n = get(r, left < 65536 ? (uint32_t)left : 65536);
        uint32_t parent = get(r, k);
        p->parent = (int32_t)parent - 1;
        p->parent_pos = get(r, parent ? t->paths[parent - 1].n : 0);
        p->loop_pos = get(r, k == 0 ? p->n - (p->n > 0) : 0);
        r->ok &= p->n > 0 && (k == 0) == (parent == 0) &&
                 (parent == 0 || p->parent_pos < t->paths[parent - 1].n);
        p->ips = fvm_xmalloc((p->n ? p->n : 1) * sizeof *p->ips);
        for (uint32_t i = 0; i < p->n && r->ok; i++)
            p->ips[i] = get(r, max_ip);
    }
    left = (size_t)(r->end - r->p) / 4;
    *nexits = get(r, (uint32_t)(left / 2 < (1u << 24) ? left / 2 : 1u << 24));
    *exits = fvm_xcalloc(*nexits ? *nexits : 1, sizeof **exits);
    for (uint32_t e = 0; e < *nexits && r->ok; e++) {
        (*exits)[e].path = get(r, t->npaths ? t->npaths - 1 : 0);
        (*exits)[e].pos = get(r, t->paths[(*exits)[e].path].n);
    }
    r->ok &= t->npaths > 0 && chunk_len > 0;
    if (!r->ok) {
        fvm_trace_tree_free(t);
        free(*exits);
        *exits = NULL;
        *nexits = 0;
    }
    return r->ok;
}
