/* The block tier (see block.h).
 *
 * Compilation is an abstract interpretation of the chunk over static
 * types. Basic blocks start at ip 0, at every jump target and after every
 * jump. A block is compiled once per distinct entry state it is reached
 * with (the operand stack's depth and types and each used slot's type:
 * basic block versioning), so a loop whose counter starts Undef or whose
 * sum starts as an Int and becomes a Float gets one version of its header
 * per type and never needs a run-time type test. Up to MAX_VERSIONS per
 * block; past that the compile declines. The versions and their entry
 * states (with which slots may have been written) are found by running
 * the blocks in order until nothing changes; the last run emits the IR.
 *
 * Values cross blocks through IR variables: one per used slot and class
 * (integer or float) and one per stack depth and class. The IR's entry
 * block loads the slots the code reads from the io array; the end block
 * (ip == len) stores the written slots and the stack there; a guard stores
 * the same state at its op, so the caller can resume the interpreter.
 *
 * io layout: io[i] for the i-th used slot (its raw word: an Int, a Bool as
 * 0/1, a Float's bits), then io[nused + d] for stack depth d. */
#include "jit/block.h"

#include <stdlib.h>
#include <string.h>

#include "jit/codegen.h"
#include "jit/ir.h"
#include "jit/jitop.h"
#include "jit/snap.h"
#include "jit/translate.h"
#include "opinfo.h"

#define MAX_DEPTH 64
#define MAX_USED 128
#define MAX_VERSIONS 8
_Static_assert(MAX_USED + MAX_DEPTH <= FVM_BLOCK_IO_WORDS, "io holds every slot and stack value");

fvm_jit_reason fvm_block_decline_reason(const fvm_chunk *c)
{
    if (!c || c->len == 0)
        return FVM_JIT_REASON_EMPTY;
    for (size_t ip = 0; ip < c->len; ip++) {
        fvm_jit_reason r = fvm_jit_op_reason(FVM_JIT_BLOCK, c, ip);
        if (r != FVM_JIT_REASON_NONE)
            return r;
    }
    return FVM_JIT_REASON_NONE;
}

/* ---- kinds ------------------------------------------------------------------------ */

static bool numeric(uint8_t t) { return fvm_jit_kind_numeric(t); }

uint64_t fvm_block_kinds_key(const fvm_value *slots, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u ^ n;
    for (size_t i = 0; i < n; i++)
        h = (h ^ fvm_jit_kind_of(slots[i])) * 0x100000001b3u;
    return h;
}

/* ---- compiled code ------------------------------------------------------------------ */

/* A compiled chunk. The arrays live in the same allocation, after the
 * struct (code_new), so a handle costs one malloc: a disk-cache load
 * rebuilds one in the few microseconds it has. */
struct fvm_block_code {
    int64_t (*entry)(int64_t *io); /* returns its exit record */
    uint32_t len;         /* the chunk's length: the ip of a completed run */
    uint16_t *used;       /* used entries: slot or global numbers */
    uint8_t *spaces;      /* where each lives (snap.h, FVM_SPACE_*) */
    uint8_t *kinds;       /* their kinds at entry */
    uint32_t nused;
    size_t min_nslots;
    fvm_exits exits;      /* record s + 1: the return through snapshot s */
    fvm_code_buf image;   /* the code before it became executable */
    bool has_image;
};

/* A zeroed handle with room for its arrays (the exit records and frame
 * words first, for alignment). */
static fvm_block_code *code_new(void *entry, uint32_t nused, uint32_t nrecs, uint32_t nkinds,
                                uint32_t nframe_words)
{
    size_t size = sizeof(fvm_block_code) + (size_t)nrecs * sizeof(fvm_exit_rec) +
                  (size_t)nframe_words * sizeof(uint32_t) + (size_t)nused * sizeof(uint16_t) +
                  2 * (size_t)nused + nkinds;
    fvm_block_code *code = fvm_xcalloc(1, size);
    code->entry = (int64_t (*)(int64_t *))entry;
    code->nused = nused;
    code->exits.nrecs = nrecs;
    code->exits.nkinds = nkinds;
    code->exits.nframe_words = nframe_words;
    code->exits.recs = (fvm_exit_rec *)(code + 1);
    code->exits.frames = (uint32_t *)(code->exits.recs + nrecs);
    code->used = (uint16_t *)(code->exits.frames + nframe_words);
    code->spaces = (uint8_t *)(code->used + nused);
    code->kinds = code->spaces + nused;
    code->exits.kinds = code->kinds + nused;
    return code;
}

/* ---- the abstract state -------------------------------------------------------------- */

/* The kinds a block is entered with: a version of a block is compiled per
 * distinct one. dirty marks the slots that may have been written. */
typedef struct astate {
    uint16_t depth;
    uint8_t stack[MAX_DEPTH];
    uint8_t slot[MAX_USED];
    uint8_t dirty[MAX_USED];
} astate;

typedef struct builder {
    const fvm_chunk *c;
    fvm_ir_func f;
    bool emit;          /* the final run: the IR is the result */
    fvm_tr tr;          /* the translator, with the operand stack */
    fvm_tv stack[MAX_DEPTH];
    /* slots */
    uint16_t used[MAX_USED];
    uint32_t nused;
    int32_t *slot_index; /* slot number (up to max_slot) -> used index, or -1 */
    uint8_t kinds[MAX_USED];
    /* blocks */
    bool *leader;        /* per ip (0..len) */
    int32_t *first_version; /* per leader ip: its first version, or -1 */
    struct version {
        astate st;       /* the entry state (dirty: may have been written) */
        uint32_t ip, block;
        int32_t next;    /* the next version of the same ip, or -1 */
    } *vers;
    size_t nvers, vers_cap;
    bool changed;
    astate start;        /* the state at ip 0 */
    /* the block being built: the slot kinds (the stack is the translator's) */
    astate st;
    fvm_ir_ref io;
    int32_t slot_var[MAX_USED][2];  /* per used slot, per class (0 int, 1 float) */
    int32_t stack_var[MAX_DEPTH][2];
    fvm_exits_builder exits; /* recorded while emitting */
} builder;

static bool fail(builder *B, fvm_jit_reason why) { return fvm_tr_decline(&B->tr, why); }

static int cls(uint8_t t) { return t == FVM_JK_FLOAT; }

static fvm_ir_type ir_type(uint8_t t) { return fvm_jit_kind_ir(t); }

static uint32_t var_for(builder *B, int32_t (*vars)[2], uint32_t i, uint8_t t)
{
    int32_t *v = &vars[i][cls(t)];
    if (*v < 0)
        *v = (int32_t)fvm_ir_var_new(&B->f, ir_type(t));
    return (uint32_t)*v;
}

/* The translator's stack kinds into the state (for comparing versions). */
static void sync_stack(builder *B)
{
    B->st.depth = (uint16_t)B->tr.depth;
    for (uint32_t d = 0; d < B->tr.depth; d++)
        B->st.stack[d] = B->stack[d].k;
}

/* ---- exits --------------------------------------------------------------------------- */

/* Record what a return at `ip` in the current state leaves in io. */
static uint32_t record_exit(builder *B, uint32_t ip, fvm_jit_reason reason)
{
    return fvm_exits_add(&B->exits, ip, reason, B->stack, B->tr.depth, B->st.slot, B->st.dirty,
                         B->nused, NULL, 0);
}

/* The translator's guard: leave native code before the current op unless
 * cond holds (cond 0: always), storing every dirty slot's variable and
 * every stack value into io. */
static bool guard(fvm_tr *t, fvm_ir_ref cond, fvm_jit_reason reason)
{
    builder *B = t->tier;
    if (!B->emit)
        return true;
    fvm_ir_snap_entry e[MAX_USED];
    size_t n = 0;
    for (uint32_t i = 0; i < B->nused; i++)
        if (B->st.dirty[i] && numeric(B->st.slot[i]))
            e[n++] = (fvm_ir_snap_entry){FVM_IR_SNAP_VAR, B->st.slot[i], 0, i,
                                         var_for(B, B->slot_var, i, B->st.slot[i])};
    uint32_t snap = fvm_snap_take(&B->f, t->ip, B->stack, t->depth, e, n);
    if (record_exit(B, t->ip, reason) != snap + 1)
        return fail(B, FVM_JIT_REASON_INTERNAL);
    if (!cond)
        cond = fvm_ir_const_i(&B->f, 0);
    fvm_ir_emit(&B->f, FVM_IR_GUARD, FVM_IR_VOID, &cond, 1, 0, snap);
    return true;
}

/* ---- slots ----------------------------------------------------------------------------- */

/* The slot's value; false when reading it leaves native code (a slot
 * holding a string or another value without a native form). */
static bool slot_get(fvm_tr *t, uint16_t k, fvm_tv *out)
{
    builder *B = t->tier;
    uint32_t i = (uint32_t)B->slot_index[k];
    uint8_t kind = B->st.slot[i];
    if (kind == FVM_JK_OTHER) {
        guard(t, 0, FVM_JIT_REASON_EXIT_VALUE_KIND);
        t->dead = true;
        return false;
    }
    fvm_ir_ref r = kind == FVM_JK_UNDEF ? fvm_ir_const_i(&B->f, 0)
                                        : fvm_ir_vget(&B->f, var_for(B, B->slot_var, i, kind));
    *out = (fvm_tv){r, kind, -1};
    return true;
}

static void slot_set(fvm_tr *t, uint16_t k, fvm_tv v)
{
    builder *B = t->tier;
    uint32_t i = (uint32_t)B->slot_index[k];
    if (numeric(v.k))
        fvm_ir_vset(&B->f, var_for(B, B->slot_var, i, v.k), v.r);
    B->st.slot[i] = v.k;
    B->st.dirty[i] = 1;
}

/* ---- blocks ---------------------------------------------------------------------------- */

static bool same_types(const astate *a, const astate *b, uint32_t nused)
{
    return a->depth == b->depth && memcmp(a->stack, b->stack, a->depth) == 0 &&
           memcmp(a->slot, b->slot, nused) == 0;
}

/* The version of leader `target` for the current state (created if new):
 * its IR block, or UINT32_MAX when the compile must decline. */
static uint32_t merge(builder *B, uint32_t target)
{
    sync_stack(B);
    int32_t last = -1; /* an index: growing vers may move it */
    unsigned n = 0;
    for (int32_t k = B->first_version[target]; k >= 0; last = k, k = B->vers[k].next, n++) {
        struct version *v = &B->vers[k];
        if (!same_types(&v->st, &B->st, B->nused))
            continue;
        for (uint32_t i = 0; i < B->nused; i++)
            if (B->st.dirty[i] && !v->st.dirty[i]) {
                v->st.dirty[i] = 1;
                B->changed = true;
            }
        return v->block;
    }
    if (n == MAX_VERSIONS)
        return fail(B, FVM_JIT_REASON_TOO_MANY_VERSIONS), UINT32_MAX;
    fvm_grow((void **)&B->vers, &B->vers_cap, B->nvers + 1, sizeof *B->vers);
    *(last < 0 ? &B->first_version[target] : &B->vers[last].next) = (int32_t)B->nvers;
    B->vers[B->nvers++] = (struct version){B->st, target, fvm_ir_block_alloc(&B->f), -1};
    B->changed = true;
    return B->vers[B->nvers - 1].block;
}

/* Hand the stack to the variables a successor block reads it from. */
static void store_stack(builder *B)
{
    for (uint32_t d = 0; d < B->tr.depth; d++) {
        fvm_tv *s = &B->stack[d];
        if (!numeric(s->k))
            continue;
        uint32_t v = var_for(B, B->stack_var, d, s->k);
        if (s->var != (int32_t)v)
            fvm_ir_vset(&B->f, v, s->r);
    }
}

static bool jump_to(builder *B, uint32_t target)
{
    uint32_t block = merge(B, target);
    if (block == UINT32_MAX)
        return false;
    store_stack(B);
    fvm_ir_jmp(&B->f, block);
    B->tr.dead = true;
    return true;
}

static bool jump(fvm_tr *t, uint32_t target) { return jump_to(t->tier, target); }

/* Branch to `taken` when cond is `when`, else fall through to ip + 1. */
static bool branch(fvm_tr *t, fvm_ir_ref cond, bool when, uint32_t taken)
{
    builder *B = t->tier;
    uint32_t yes = merge(B, taken), no = merge(B, t->ip + 1);
    if (yes == UINT32_MAX || no == UINT32_MAX)
        return false;
    store_stack(B);
    fvm_ir_br(&B->f, cond, when ? yes : no, when ? no : yes);
    t->dead = true;
    return true;
}

static const fvm_tr_hooks block_hooks = {
    .slot_get = slot_get, .slot_set = slot_set, .guard = guard, .jump = jump, .branch = branch};

/* Start building a version of a leader from its entry state. */
static void enter_block(builder *B, const struct version *v)
{
    B->st = v->st;
    B->tr.dead = false;
    B->tr.depth = 0;
    fvm_ir_block_enter(&B->f, v->block);
    for (uint32_t d = 0; d < B->st.depth; d++) {
        uint8_t t = B->st.stack[d];
        if (numeric(t)) {
            uint32_t x = var_for(B, B->stack_var, d, t);
            fvm_tr_push(&B->tr, fvm_ir_vget(&B->f, x), t, (int32_t)x);
        } else
            fvm_tr_push(&B->tr, fvm_ir_const_i(&B->f, 0), t, -1);
    }
}

/* The end (ip == len): store the written slots and the stack, and return
 * an exit record (numbered like a snapshot's, whose guard never exists). */
static void build_end(builder *B)
{
    if (!B->emit)
        return;
    uint32_t rec = (uint32_t)fvm_ir_snap_add(&B->f, (uint32_t)B->c->len, NULL, 0) + 1;
    if (record_exit(B, (uint32_t)B->c->len, FVM_JIT_REASON_NONE) != rec) {
        fail(B, FVM_JIT_REASON_INTERNAL);
        return;
    }
    for (uint32_t i = 0; i < B->nused; i++)
        if (B->st.dirty[i] && numeric(B->st.slot[i])) {
            fvm_ir_ref args[2] = {B->io, fvm_ir_vget(&B->f, var_for(B, B->slot_var, i, B->st.slot[i]))};
            fvm_ir_emit(&B->f, FVM_IR_STORE, FVM_IR_VOID, args, 2, 8 * (int64_t)i, 0);
        }
    for (uint32_t d = 0; d < B->tr.depth; d++)
        if (numeric(B->stack[d].k)) {
            fvm_ir_ref args[2] = {B->io, B->stack[d].r};
            fvm_ir_emit(&B->f, FVM_IR_STORE, FVM_IR_VOID, args, 2, 8 * (int64_t)(B->nused + d), 0);
        }
    fvm_ir_emit(&B->f, FVM_IR_RET, FVM_IR_VOID, NULL, 0, 0, rec);
}

/* Entry: load the slots the code may read into their variables. */
static void build_entry(builder *B)
{
    B->io = fvm_ir_emit(&B->f, FVM_IR_PARAM, FVM_IR_PTR, NULL, 0, 0, 0);
    B->f.exit_base = B->io;
    B->f.exit_stack = B->nused;
    for (uint32_t i = 0; i < B->nused; i++) {
        uint8_t t = B->kinds[i];
        if (!numeric(t))
            continue;
        fvm_ir_ref args[1] = {B->io};
        fvm_ir_ref v = fvm_ir_emit(&B->f, FVM_IR_LOAD, ir_type(t), args, 1, 8 * (int64_t)i, 0);
        fvm_ir_vset(&B->f, var_for(B, B->slot_var, i, t), v);
    }
    B->st = B->start;
    B->tr.depth = 0;
    jump_to(B, 0);
}

/* Build one version: its ops up to the next leader (falling into it) or
 * until the block ends. */
static bool build_version(builder *B, const struct version *v)
{
    const fvm_chunk *c = B->c;
    enter_block(B, v);
    for (uint32_t ip = v->ip;; ip++) {
        B->tr.ip = ip;
        if (ip == c->len) {
            build_end(B);
            return B->tr.why == FVM_JIT_REASON_NONE;
        }
        if (!fvm_tr_op(&B->tr, &c->ops[ip]))
            return false;
        if (B->tr.dead)
            return true;
        if (B->leader[ip + 1])
            return jump_to(B, ip + 1);
    }
}

/* One run over every version known, in ip order. */
static bool run_blocks(builder *B)
{
    const fvm_chunk *c = B->c;
    fvm_ir_init(&B->f);
    memset(B->slot_var, 0xff, sizeof B->slot_var);
    memset(B->stack_var, 0xff, sizeof B->stack_var);
    fvm_exits_builder_reset(&B->exits);
    for (size_t k = 0; k < B->nvers; k++)
        B->vers[k].block = fvm_ir_block_alloc(&B->f);
    build_entry(B);
    for (uint32_t ip = 0; ip <= c->len; ip++) {
        if (!B->leader[ip])
            continue;
        /* Versions made during this run are built in the next. */
        for (int32_t k = B->first_version[ip]; k >= 0; k = B->vers[k].next) {
            struct version v = B->vers[k];
            if (!build_version(B, &v))
                return false;
        }
    }
    return B->tr.why == FVM_JIT_REASON_NONE;
}

/* Leaders: ip 0, every jump target, and the op after every jump. */
static void find_blocks(builder *B)
{
    const fvm_chunk *c = B->c;
    for (uint32_t ip = 0; ip <= c->len; ip++) {
        B->leader[ip] = ip == 0;
        B->first_version[ip] = -1;
    }
    for (uint32_t ip = 0; ip < c->len; ip++) {
        uint32_t target;
        if (!fvm_op_jump_target(&c->ops[ip], &target))
            continue;
        B->leader[target] = true;
        B->leader[ip + 1] = true;
    }
}

/* Number the slots the chunk names (the operands of slot kind), in order
 * of first appearance, with their kinds in slots[]. */
static bool collect_slots(builder *B, const fvm_value *slots, size_t nslots)
{
    const fvm_chunk *c = B->c;
    for (size_t ip = 0; ip < c->len; ip++) {
        uint16_t ks[2];
        unsigned n = fvm_op_slots(&c->ops[ip], ks);
        for (unsigned k = 0; k < n; k++) {
            if (B->slot_index[ks[k]] >= 0)
                continue;
            if (B->nused == MAX_USED)
                return fail(B, FVM_JIT_REASON_TOO_MANY_SLOTS);
            if (ks[k] >= nslots)
                return fail(B, FVM_JIT_REASON_SLOT_RANGE);
            B->slot_index[ks[k]] = (int32_t)B->nused;
            B->kinds[B->nused] = (uint8_t)fvm_jit_kind_of(slots[ks[k]]);
            B->used[B->nused++] = ks[k];
        }
    }
    return true;
}

/* ---- compile ------------------------------------------------------------------------------ */

static bool infer_and_build(builder *B)
{
    memset(&B->start, 0, sizeof B->start);
    memcpy(B->start.slot, B->kinds, B->nused);
    /* Versions are only added (at most MAX_VERSIONS per leader) and dirty
     * bits only set, so this ends. */
    do {
        B->changed = false;
        bool ok = run_blocks(B);
        fvm_ir_free(&B->f);
        if (!ok)
            return false;
    } while (B->changed);
    B->emit = true;
    return run_blocks(B) && !B->changed;
}

fvm_block_code *fvm_block_code_make(fvm_ir_func *f, uint32_t len, const uint16_t *used,
                                    const uint8_t *spaces, const uint8_t *kinds, uint32_t nused,
                                    const fvm_exits *x, fvm_mcode *arena, fvm_buf *dump_ir,
                                    fvm_buf *dump_asm, uint64_t *t_commit, fvm_jit_reason *why)
{
    fvm_ir_dce(f);
    fvm_code_buf xb;
    fvm_code_buf_init(&xb);
    void *entry = fvm_codegen_finish(f, arena, dump_ir, dump_asm, &xb, t_commit, why);
    if (!entry) {
        fvm_code_buf_free(&xb);
        return NULL;
    }
    fvm_block_code *code = code_new(entry, nused, x->nrecs, x->nkinds, x->nframe_words);
    code->len = len;
    memcpy(code->used, used, nused * sizeof *code->used);
    if (spaces)
        memcpy(code->spaces, spaces, nused);
    memcpy(code->kinds, kinds, nused);
    memcpy(code->exits.recs, x->recs, x->nrecs * sizeof *x->recs);
    /* memcpy must not see the NULL of an empty array */
    if (x->nkinds)
        memcpy(code->exits.kinds, x->kinds, x->nkinds);
    if (x->nframe_words)
        memcpy(code->exits.frames, x->frames, x->nframe_words * sizeof *x->frames);
    for (uint32_t i = 0; i < nused; i++)
        if (code->spaces[i] == FVM_SPACE_SLOT && (size_t)used[i] + 1 > code->min_nslots)
            code->min_nslots = (size_t)used[i] + 1;
    code->image = xb;
    code->has_image = true;
    return code;
}

/* Generate and commit the code, then make the handle around it; NULL with
 * the translator's why set on a failure. */
static fvm_block_code *finish(builder *B, fvm_mcode *arena, fvm_buf *dump_ir, fvm_buf *dump_asm,
                              uint64_t *t_commit)
{
    fvm_jit_reason why = FVM_JIT_REASON_NONE;
    fvm_block_code *code = fvm_block_code_make(&B->f, (uint32_t)B->c->len, B->used, NULL,
                                               B->kinds, B->nused, &B->exits.x, arena, dump_ir,
                                               dump_asm, t_commit, &why);
    if (!code)
        fail(B, why);
    return code;
}

fvm_block_code *fvm_block_compile(const fvm_chunk *c, const fvm_value *slots, size_t nslots,
                                  fvm_mcode *arena, fvm_buf *dump_ir, fvm_buf *dump_asm,
                                  fvm_block_stats *stats, fvm_jit_reason *why_not)
{
    if ((*why_not = fvm_block_decline_reason(c)) != FVM_JIT_REASON_NONE)
        return NULL;
    uint64_t t0 = fvm_now_ns();
    builder B = {.c = c};
    fvm_tr_init(&B.tr, &B.f, c, &block_hooks, &B, B.stack, MAX_DEPTH);
    size_t nmap = c->max_slot < 0 ? 1 : (size_t)c->max_slot + 1;
    B.slot_index = fvm_xmalloc(nmap * sizeof *B.slot_index);
    memset(B.slot_index, 0xff, nmap * sizeof *B.slot_index);
    B.leader = fvm_xmalloc((c->len + 1) * sizeof *B.leader);
    B.first_version = fvm_xmalloc((c->len + 1) * sizeof *B.first_version);
    fvm_block_code *code = NULL;
    uint64_t t1 = 0;
    if (collect_slots(&B, slots, slots ? nslots : 0)) {
        find_blocks(&B);
        if (infer_and_build(&B))
            code = finish(&B, arena, dump_ir, dump_asm, &t1);
    }
    uint64_t t2 = fvm_now_ns();
    if (!t1)
        t1 = t2;
    if (stats)
        *stats = (fvm_block_stats){t1 - t0, t2 - t1, B.f.ninsts};
    if (!code)
        *why_not = B.tr.why != FVM_JIT_REASON_NONE ? B.tr.why : FVM_JIT_REASON_INTERNAL;
    fvm_ir_free(&B.f);
    free(B.slot_index);
    free(B.leader);
    free(B.first_version);
    free(B.vers);
    fvm_exits_builder_free(&B.exits);
    return code;
}

const fvm_code_buf *fvm_block_image(const fvm_block_code *code)
{
    return code->has_image ? &code->image : NULL;
}

void fvm_block_drop_image(fvm_block_code *code)
{
    if (code->has_image)
        fvm_code_buf_free(&code->image);
    code->has_image = false;
}

uint32_t fvm_block_exit_count(const fvm_block_code *code) { return code->exits.nrecs; }

const fvm_exit_rec *fvm_block_exit_record(const fvm_block_code *code, uint32_t rec)
{
    return &code->exits.recs[rec];
}

void fvm_block_free(fvm_block_code *code)
{
    if (!code)
        return;
    fvm_block_drop_image(code);
    free(code);
}

/* ---- run ---------------------------------------------------------------------------------- */

bool fvm_block_enter(const fvm_block_code *code, const fvm_value *slots, size_t nslots,
                     const fvm_value *globals, size_t nglobals, int64_t *io, fvm_block_exit *out)
{
    if (code->min_nslots > nslots || (code->min_nslots && !slots))
        return false;
    for (uint32_t i = 0; i < code->nused; i++) {
        uint8_t space = code->spaces[i];
        if (space >= FVM_SPACE_FRAME) { /* an inlined frame's slot: Undef until written */
            io[i] = 0;
            continue;
        }
        if (space == FVM_SPACE_GLOBAL && code->used[i] >= nglobals)
            return false;
        const fvm_value *v = space == FVM_SPACE_SLOT ? &slots[code->used[i]] : &globals[code->used[i]];
        uint8_t k = (uint8_t)fvm_jit_kind_of(*v);
        if (k != code->kinds[i])
            return false;
        io[i] = k == FVM_JK_BOOL ? v->as.b : k == FVM_JK_INT || k == FVM_JK_FLOAT ? v->as.i : 0;
    }
    int64_t r = code->entry(io);
    if ((uint64_t)r >= code->exits.nrecs)
        r = 0; /* cannot happen; record 0 resumes at the start with nothing */
    const fvm_exit_rec *e = &code->exits.recs[r];
    *out = (fvm_block_exit){e->ip, e->depth, (uint32_t)r, e->ip == code->len,
                            (fvm_jit_reason)e->reason, e->nframes};
    return true;
}

fvm_value fvm_block_stack_value(const fvm_block_code *code, const fvm_block_exit *x,
                                const int64_t *io, uint32_t d)
{
    return fvm_exit_stack_value(&code->exits, x->rec, code->nused, io, d);
}

void fvm_block_write_slots(const fvm_block_code *code, const fvm_block_exit *x, const int64_t *io,
                           fvm_value *slots)
{
    fvm_exit_write(&code->exits, x->rec, code->used, code->spaces, FVM_SPACE_SLOT, io, slots);
}

void fvm_block_resume(const fvm_block_code *code, const fvm_block_exit *x, const int64_t *io,
                      fvm_vm *vm, uint32_t base)
{
    fvm_exit_resume(vm, &code->exits, x->rec, code->used, code->spaces, code->nused, io, base);
}

/* The metadata as little-endian 32-bit words: len, nused, nrecs, nkinds,
 * nframe_words; per used entry its number, space and kind; then the exit
 * records, their kinds and frame words (snap.h, fvm_exits_save). */
void fvm_block_save_meta(const fvm_block_code *code, fvm_buf *out)
{
    fvm_meta_put32(out, code->len);
    fvm_meta_put32(out, code->nused);
    fvm_meta_put32(out, code->exits.nrecs);
    fvm_meta_put32(out, code->exits.nkinds);
    fvm_meta_put32(out, code->exits.nframe_words);
    for (uint32_t i = 0; i < code->nused; i++) {
        fvm_meta_put32(out, code->used[i]);
        fvm_meta_put32(out, code->spaces[i]);
        fvm_meta_put32(out, code->kinds[i]);
    }
    fvm_exits_save(&code->exits, out);
}

fvm_block_code *fvm_block_from_meta(const void *meta, size_t len, void *entry, size_t chunk_len)
{
    fvm_meta_reader r = {meta, (const uint8_t *)meta + len, true};
    uint32_t code_len = fvm_meta_get32(&r, UINT32_MAX - 1);
    uint32_t nused = fvm_meta_get32(&r, MAX_USED);
    uint32_t nrecs = fvm_meta_get32(&r, 1u << 24);
    uint32_t nkinds = fvm_meta_get32(&r, 1u << 28);
    uint32_t nframe_words = fvm_meta_get32(&r, 1u << 28);
    /* The counts must fit in the bytes left before anything is allocated. */
    if (!r.ok || nrecs == 0 || code_len != chunk_len ||
        (size_t)(r.end - r.p) / 4 !=
            (size_t)3 * nused + (size_t)7 * nrecs + nkinds + (size_t)nframe_words)
        return NULL;
    fvm_block_code *code = code_new(entry, nused, nrecs, nkinds, nframe_words);
    code->len = code_len;
    for (uint32_t i = 0; i < nused; i++) {
        code->used[i] = (uint16_t)fvm_meta_get32(&r, UINT16_MAX);
        code->spaces[i] = (uint8_t)fvm_meta_get32(&r, UINT8_MAX);
        code->kinds[i] = (uint8_t)fvm_meta_get32(&r, FVM_JK_OTHER);
        if (code->spaces[i] == FVM_SPACE_SLOT && (size_t)code->used[i] + 1 > code->min_nslots)
            code->min_nslots = (size_t)code->used[i] + 1;
        r.ok &= code->kinds[i] >= FVM_JK_INT;
    }
    if (!fvm_exits_load(&r, &code->exits, code_len, nused, MAX_DEPTH) || r.p != r.end) {
        fvm_block_free(code);
        return NULL;
    }
    return code;
}

uint64_t fvm_block_kinds_verify(const fvm_value *slots, size_t n)
{
    uint64_t h = 0x84222325cbf29ce4u;
    for (size_t i = 0; i < n; i++)
        h = (h + fvm_jit_kind_of(slots[i]) + 1) * 0x9e3779b97f4a7c15u;
    return h ^ n;
}
