/* The tracing tier's compiler (see trace.h).
 *
 * IR layout: the entry block loads the slots the path reads from io into
 * one variable per slot and class (as the block tier does) and the poll
 * word's address into a variable; the loop block holds the path; a root
 * trace whose kinds are the same at the end of the path as at its start
 * jumps back to the loop block after checking the poll word. */
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

typedef struct tbuilder {
    const fvm_chunk *c;
    const fvm_trace_path *p;
    uint32_t pos;          /* the path index of the op being translated */
    fvm_ir_func f;
    fvm_tr tr;
    fvm_tv stack[MAX_DEPTH];
    uint16_t used[MAX_USED];
    uint8_t kinds[MAX_USED]; /* at the start */
    uint8_t slot[MAX_USED];  /* now */
    uint8_t dirty[MAX_USED]; /* to write back at an exit */
    uint32_t nused;
    int32_t *slot_index;     /* slot number -> used index, or -1 */
    int32_t slot_var[MAX_USED][2];
    uint32_t poll_var;
    fvm_exits_builder exits;
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
    uint32_t rec = fvm_exits_add(&B->exits, ip, reason, B->stack, B->tr.depth, B->slot, B->dirty,
                                 B->nused);
    if (rec != snap + 1)
        return fail(B, FVM_JIT_REASON_INTERNAL);
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

static bool slot_get(fvm_tr *t, uint16_t k, fvm_tv *out)
{
    tbuilder *B = t->tier;
    uint32_t i = (uint32_t)B->slot_index[k];
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

static void slot_set(fvm_tr *t, uint16_t k, fvm_tv v)
{
    tbuilder *B = t->tier;
    uint32_t i = (uint32_t)B->slot_index[k];
    if (fvm_jit_kind_numeric(v.k))
        fvm_ir_vset(&B->f, slot_var(B, i, v.k), v.r);
    B->slot[i] = v.k;
    B->dirty[i] = 1;
}

/* ---- control: the path decides ----------------------------------------------------------- */

/* The op the recording ran after the current one. */
static uint32_t next_ip(const tbuilder *B)
{
    return B->pos + 1 < B->p->n ? B->p->ips[B->pos + 1] : B->p->anchor;
}

static bool jump(fvm_tr *t, uint32_t target)
{
    tbuilder *B = t->tier;
    return target == next_ip(B) || fail(B, FVM_JIT_REASON_INTERNAL);
}

/* Stay on the path while cond is `when` exactly when the recording took
 * the branch; leave at the other successor otherwise. */
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

static const fvm_tr_hooks trace_hooks = {slot_get, slot_set, guard, jump, branch};

/* ---- the trace ------------------------------------------------------------------------------ */

/* Number the slots the path names, with their kinds at the start. */
static bool collect_slots(tbuilder *B)
{
    const fvm_trace_path *p = B->p;
    for (uint32_t n = 0; n < p->n; n++) {
        uint16_t ks[2];
        unsigned count = fvm_op_slots(&B->c->ops[p->ips[n]], ks);
        for (unsigned k = 0; k < count; k++) {
            if (B->slot_index[ks[k]] >= 0)
                continue;
            if (B->nused == MAX_USED)
                return fail(B, FVM_JIT_REASON_TOO_MANY_SLOTS);
            if (ks[k] >= p->nkinds)
                return fail(B, FVM_JIT_REASON_SLOT_RANGE);
            B->slot_index[ks[k]] = (int32_t)B->nused;
            B->kinds[B->nused] = p->kinds[ks[k]];
            B->used[B->nused++] = ks[k];
        }
    }
    return true;
}

static void build_entry(tbuilder *B)
{
    fvm_ir_func *f = &B->f;
    fvm_ir_ref io = fvm_ir_emit(f, FVM_IR_PARAM, FVM_IR_PTR, NULL, 0, 0, 0);
    f->exit_base = io;
    f->exit_stack = B->nused;
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

/* The end of the path: loop, or leave at the anchor. */
static void build_end(tbuilder *B, uint32_t loop)
{
    fvm_ir_func *f = &B->f;
    const fvm_trace_path *p = B->p;
    bool loops = p->ips[0] == p->anchor && B->tr.depth == 0 &&
                 memcmp(B->slot, B->kinds, B->nused) == 0;
    if (!loops) {
        bool same = p->ips[0] != p->anchor; /* a side trace ends where its root starts */
        guard_at(B, p->anchor, 0, same ? FVM_JIT_REASON_NONE : FVM_JIT_REASON_EXIT_LOOP_KINDS);
        return;
    }
    fvm_ir_ref addr = fvm_ir_vget(f, B->poll_var);
    fvm_ir_ref word = fvm_ir_emit(f, FVM_IR_LOAD, FVM_IR_I64, &addr, 1, 0, 4);
    if (!guard_at(B, p->anchor, fvm_ir_cmp(f, FVM_IR_ICMP, FVM_IR_EQ, word, fvm_ir_const_i(f, 0)),
                  FVM_JIT_REASON_EXIT_POLL))
        return;
    fvm_ir_jmp(f, loop);
}

static bool build(tbuilder *B)
{
    fvm_ir_func *f = &B->f;
    const fvm_trace_path *p = B->p;
    memcpy(B->slot, B->kinds, B->nused);
    /* Every slot counts as written: at the header, a slot written later in
     * the loop holds the previous iteration's value, not the entry's. An
     * exit writing back a slot the path never changed writes its own
     * value. */
    memset(B->dirty, 1, B->nused);
    build_entry(B);
    uint32_t loop = fvm_ir_block_alloc(f);
    fvm_ir_jmp(f, loop);
    fvm_ir_block_enter(f, loop);
    for (B->pos = 0; B->pos < p->n; B->pos++) {
        uint32_t ip = p->ips[B->pos];
        B->tr.ip = ip;
        if (fvm_jit_op_reason(FVM_JIT_TRACE, B->c, ip) != FVM_JIT_REASON_NONE)
            return fail(B, fvm_jit_op_reason(FVM_JIT_TRACE, B->c, ip));
        if (!fvm_tr_op(&B->tr, &B->c->ops[ip]))
            return false;
        /* A path that leaves native code for good before its end would
         * leave on every entry: not worth its code. */
        if (B->tr.dead)
            return fail(B, FVM_JIT_REASON_SLOT_KIND);
    }
    build_end(B, loop);
    return B->tr.why == FVM_JIT_REASON_NONE;
}

fvm_block_code *fvm_trace_compile(const fvm_chunk *c, const fvm_trace_path *p, fvm_mcode *arena,
                                  fvm_buf *dump_ir, fvm_buf *dump_asm, fvm_jit_reason *why)
{
    tbuilder B = {.c = c, .p = p};
    fvm_ir_init(&B.f);
    fvm_tr_init(&B.tr, &B.f, c, &trace_hooks, &B, B.stack, MAX_DEPTH);
    memset(B.slot_var, 0xff, sizeof B.slot_var);
    size_t nmap = c->max_slot < 0 ? 1 : (size_t)c->max_slot + 1;
    B.slot_index = fvm_xmalloc(nmap * sizeof *B.slot_index);
    memset(B.slot_index, 0xff, nmap * sizeof *B.slot_index);
    fvm_exits_builder_reset(&B.exits);
    fvm_block_code *code = NULL;
    if (p->n > 0 && collect_slots(&B) && build(&B)) {
        fvm_jit_reason w = FVM_JIT_REASON_NONE;
        code = fvm_block_code_make(&B.f, (uint32_t)c->len, B.used, B.kinds, B.nused, &B.exits.x,
                                   arena, dump_ir, dump_asm, NULL, &w);
        if (!code)
            fail(&B, w);
    }
    if (!code)
        *why = B.tr.why != FVM_JIT_REASON_NONE ? B.tr.why : FVM_JIT_REASON_INTERNAL;
    fvm_ir_free(&B.f);
    free(B.slot_index);
    fvm_exits_builder_free(&B.exits);
    return code;
}
