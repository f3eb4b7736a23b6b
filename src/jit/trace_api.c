/* The tracing tier's place in the JIT context (jit.h): hot loop headers,
 * recording, running traces and linking them, for VMs (vm_jit.h).
 *
 * Counting. The tier's exec copy of a chunk's ops puts FVM_XOP_JIT_HOT in
 * place of every loop header (the target of a backward jump). Each time
 * the interpreter reaches a header, the hotspot hook runs a trace that
 * starts there if one fits the slots' kinds, else counts; after
 * trace_threshold counts it starts recording. A loop entered once and
 * running long is entered in native code from the middle of its run (at
 * its header, with the frame as it stands): on-stack replacement needs
 * nothing more, because a trace takes its state from the frame's slots.
 *
 * Recording. The VM switches to a recording copy of the ops in which
 * every op is FVM_XOP_JIT_RECORD: the record hook notes the op's ip and
 * has the VM run the op as usual. The recording ends when the path comes
 * back to the header in the frame it started in (the trace is compiled,
 * trace.h, and entered at once), or is given up: an op no trace compiles,
 * a path longer than max_trace_len, calls nested too deep (note_call), a
 * return from the frame it started in, another loop's header that has
 * traces of its own, or the run ending. A header whose
 * recordings keep failing waits retry_backoff (doubled per failure)
 * entries before the next try, and after max_compile_failures gets its
 * op back, so the loop costs nothing more.
 *
 * Exits and side traces. Leaving a trace resumes the interpreter in the
 * exact state at the exit's op (snap.h). Each exit record counts how
 * often it is taken; when a branch's exit reaches trace_threshold, a side
 * path is recorded from it to the loop's header, added to the loop's
 * tree of paths where the exit left, and the whole tree compiled again
 * (trace.h): the branch then goes on in native code both ways. The new
 * code replaces the old for the next entry; code memory is never written
 * twice.
 *
 * Persistence. Each tree is stored in the disk cache under the chunk's
 * op_hash and a subkey naming its header and the kinds of every slot of
 * the frame when its root was recorded, with its paths beside the code,
 * and stored again each time it grows; a later process meeting the same
 * hot spot with the same kinds loads the tree instead of recording, and
 * can grow it further. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit/block.h"
#include "jit/diskcache.h"
#include "jit/jit.h"
#include "jit/jitop.h"
#include "jit/trace.h"
#include "superop.h"
#include "vm_jit.h"

/* What hotspot answers when no trace ran: run the header's own op. */
#define NOT_RUN (-2)

/* One loop's compiled tree of paths for one set of entry kinds. */
typedef struct trace trace;
struct trace {
    fvm_block_code *code;
    fvm_trace_tree tree;
    uint32_t frames;       /* calls its code inlines inside each other */
    fvm_trace_exit *where; /* per exit record: the path and op it leaves at */
    uint32_t nrecs;
    uint32_t *exits;       /* per exit record: times taken */
    uint32_t *side_fails;  /* per exit record: side recordings that failed */
    fvm_diskcache_key key;
    trace *next;           /* the header's trace for other kinds */
};

typedef struct anchor {
    uint32_t ip;
    uint16_t replaced;     /* the exec op FVM_XOP_JIT_HOT stands in for */
    bool blacklisted;
    uint32_t count;        /* headers reached since the last recording */
    uint32_t aborts;       /* recordings that failed */
    uint64_t wait;         /* headers still to skip after a failure */
    trace *traces;         /* trees starting here, one per entry kinds */
} anchor;

typedef struct chunk_traces {
    uint64_t op_hash;
    fvm_op *exec;          /* the execution copy with FVM_XOP_JIT_HOT */
    fvm_op *rec;           /* the recording copy */
    anchor *anchors;       /* ascending by ip */
    size_t nanchors;
    bool *native;          /* per ip: a loop header the block tier runs */
} chunk_traces;

typedef struct recording {
    bool active;
    fvm_vm *vm;
    chunk_traces *ct;
    anchor *a;             /* the loop the path closes at */
    size_t frames;         /* the VM's frame count: the path stays in its frame */
    trace *parent;         /* a side path: the tree and exit it starts from */
    uint32_t parent_rec;
    uint32_t *ips;
    uint32_t n;
    size_t cap;
    uint8_t *kinds;        /* a root: the slot kinds at the start */
    size_t nkinds, kinds_cap;
    uint8_t *gkinds;       /* and the globals' */
    size_t ngkinds, gkinds_cap;
    uint32_t loop_pos;     /* a root whose first iteration is peeled: where
                              the second starts (trace.h) */
    uint64_t t0;           /* when it started (its time counts as compiling) */
    uint32_t callees[FVM_TRACE_MAX_INLINE]; /* the entries of the calls the path is in */
    uint32_t ncalls;
} recording;

typedef struct trace_state {
    chunk_traces **v;      /* one allocation each: recordings point at them */
    size_t n, cap;
    recording rec;
} trace_state;

static void trace_free(trace *t)
{
    fvm_block_free(t->code);
    fvm_trace_tree_free(&t->tree);
    free(t->where);
    free(t->exits);
    free(t->side_fails);
    free(t);
}

static void state_free(void *p)
{
    trace_state *s = p;
    for (size_t i = 0; i < s->n; i++) {
        chunk_traces *ct = s->v[i];
        for (size_t k = 0; k < ct->nanchors; k++)
            for (trace *t = ct->anchors[k].traces, *next; t; t = next) {
                next = t->next;
                trace_free(t);
            }
        free(ct->anchors);
        free(ct->native);
        free(ct->exec);
        free(ct->rec);
        free(ct);
    }
    free(s->v);
    free(s->rec.ips);
    free(s->rec.kinds);
    free(s->rec.gkinds);
    free(s);
}

static trace_state *state_of(fvm_jit *j)
{
    void **p = &fvm_jit_tier_slot_of(j, FVM_JIT_TRACE)->state;
    if (!*p)
        *p = fvm_xcalloc(1, sizeof(trace_state));
    return *p;
}

static uint64_t param(fvm_jit *j, fvm_jit_param p) { return fvm_jit_get_param(j, p); }

static size_t slots_of(const fvm_chunk *c) { return c->max_slot < 0 ? 0 : (size_t)c->max_slot + 1; }

/* ---- the chunk's copies of its ops --------------------------------------------------------- */

static const fvm_jit_hooks *block_hooks(fvm_jit *j)
{
    const fvm_jit_tier_ops *b = fvm_jit_tiers[FVM_JIT_BLOCK];
    return b && (param(j, FVM_JIT_PARAM_VM_TIERS) & (1u << FVM_JIT_BLOCK)) ? b->vm_hooks : NULL;
}

/* The exec copy (the block tier's when it is on too, so its regions keep
 * their entry ops) with every loop header counted, and the recording
 * copy: the chunk's own ops, each replaced by the record op, so that the
 * interpreter runs each op alone while a trace is recorded. */
static void analyse(fvm_jit *j, chunk_traces *ct, const fvm_chunk *c)
{
    const fvm_jit_hooks *below = block_hooks(j);
    const fvm_jit_tier_ops *block = below ? fvm_jit_tiers[FVM_JIT_BLOCK] : NULL;
    const fvm_op *base = below ? below->exec(j, c) : c->exec;
    size_t n = c->len + 1;
    ct->exec = fvm_xmalloc(n * sizeof *ct->exec);
    memcpy(ct->exec, base, n * sizeof *ct->exec);
    ct->rec = fvm_xmalloc(n * sizeof *ct->rec);
    memcpy(ct->rec, c->ops, n * sizeof *ct->rec);
    for (size_t ip = 0; ip < c->len; ip++)
        ct->rec[ip].code = FVM_XOP_JIT_RECORD;
    /* A header whose op no trace compiles is not counted: its trace would
     * end at its first op. (Only ops a tier compiles may run in place of
     * an entry, hot or record op: their handlers take the op code from the
     * dispatch, where some out-of-line handlers read it from the op.) Nor
     * is one inside a region the block tier runs: the loop is native from
     * the region's entry, and counting there would only add a second entry
     * to every run of it. */
    bool *header = fvm_xcalloc(n, sizeof *header);
    ct->native = fvm_xcalloc(n, sizeof *ct->native);
    for (size_t ip = 0; ip < c->len; ip++) {
        uint32_t t;
        if (!fvm_op_jump_target(&c->ops[ip], &t) || t > ip)
            continue;
        if (block && block->covers(j, c, t))
            ct->native[t] = true;
        else if (fvm_jit_op_ok(FVM_JIT_TRACE, c, t))
            header[t] = true;
    }
    size_t count = 0;
    for (size_t ip = 0; ip < c->len; ip++)
        count += header[ip];
    ct->anchors = fvm_xcalloc(count ? count : 1, sizeof *ct->anchors);
    for (size_t ip = 0; ip < c->len; ip++) {
        if (!header[ip])
            continue;
        ct->anchors[ct->nanchors++] = (anchor){.ip = (uint32_t)ip, .replaced = ct->exec[ip].code};
        ct->exec[ip].code = FVM_XOP_JIT_HOT;
    }
    free(header);
}

static chunk_traces *chunk_find(trace_state *s, uint64_t op_hash)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i]->op_hash == op_hash)
            return s->v[i];
    return NULL;
}

static anchor *anchor_at(chunk_traces *ct, size_t ip)
{
    size_t lo = 0, hi = ct->nanchors;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ct->anchors[mid].ip == ip)
            return &ct->anchors[mid];
        if (ct->anchors[mid].ip < ip)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- the disk cache ---------------------------------------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3u; }

/* The name of the tree for a header and the entry kinds of the slots and
 * the globals. */
static fvm_diskcache_key disk_key(const fvm_chunk *c, uint32_t header, const recording *R)
{
    uint64_t h = 0xcbf29ce484222325u, v = 0x84222325cbf29ce4u;
    h = mix(mix(mix(h, header), R->nkinds), R->ngkinds);
    v = mix(mix(mix(v, R->ngkinds), R->nkinds), header);
    for (size_t i = 0; i < R->nkinds + R->ngkinds; i++) {
        uint8_t k = i < R->nkinds ? R->kinds[i] : R->gkinds[i - R->nkinds];
        h = mix(h, k);
        v = (v + k + 1) * 0x9e3779b97f4a7c15u;
    }
    return (fvm_diskcache_key){FVM_JIT_TRACE, c->op_hash, h, v};
}

/* A tree from the disk cache into t (NULL code: a miss, or metadata that
 * does not parse: then the next compile overwrites the file). */
static bool disk_load(fvm_jit *j, const fvm_chunk *c, trace *t)
{
    fvm_buf meta = {NULL, 0, 0};
    void *entry = fvm_jit_disk_load(j, &t->key, &meta);
    if (entry) {
        const uint8_t *bytes = (const uint8_t *)meta.data;
        fvm_meta_reader r = {bytes, bytes + meta.len, true};
        if (fvm_trace_tree_load(&r, c->len, &t->tree, &t->where, &t->nrecs)) {
            t->code = fvm_block_from_meta(r.p, (size_t)(r.end - r.p), entry, c->len);
            if (!t->code || fvm_block_exit_count(t->code) != t->nrecs) {
                fvm_block_free(t->code);
                t->code = NULL;
                fvm_trace_tree_free(&t->tree);
                free(t->where);
                t->where = NULL;
            }
        }
    }
    fvm_buf_free(&meta);
    if (t->code)
        fvm_jit_disk_loaded(j);
    return t->code != NULL;
}

static void disk_store(fvm_jit *j, trace *t)
{
    fvm_buf meta = {NULL, 0, 0};
    fvm_trace_tree_save(&t->tree, t->where, t->nrecs, &meta);
    fvm_block_save_meta(t->code, &meta);
    fvm_jit_disk_store(j, &t->key, fvm_block_image(t->code), &meta);
    fvm_buf_free(&meta);
    fvm_block_drop_image(t->code);
}

/* ---- running ------------------------------------------------------------------------------- */

/* Fresh exit counters for t's code. */
static void reset_counts(trace *t)
{
    t->nrecs = fvm_block_exit_count(t->code);
    free(t->exits);
    free(t->side_fails);
    t->exits = fvm_xcalloc(t->nrecs, sizeof *t->exits);
    t->side_fails = fvm_xcalloc(t->nrecs, sizeof *t->side_fails);
}

static int start_side(fvm_jit *j, trace_state *s, chunk_traces *ct, trace *t, uint32_t rec,
                      fvm_vm *vm);

/* Run the first of the trees at header a that fits the slots' kinds, and
 * again while an exit lands back on the header; NOT_RUN if none fits.
 * The answer for the hook: FVM_JIT_RESUMED, or the op to run when a side
 * path starts recording at the last exit. */
static int dispatch(fvm_jit *j, trace_state *s, chunk_traces *ct, anchor *a, fvm_vm *vm)
{
    size_t n = slots_of(fvm_vm_jit_chunk(vm));
    fvm_vm_state *st = fvm_vm_jit_state(vm);
    int64_t io[FVM_BLOCK_IO_WORDS];
    io[FVM_BLOCK_IO_POLL] = (int64_t)(intptr_t)&st->poll;
    bool ran = false;
    for (trace *t = a->traces; t;) {
        if (!fvm_vm_jit_reserve_slots(vm, n))
            break;
        fvm_block_exit x;
        size_t nglobals;
        const fvm_value *globals = fvm_vm_jit_globals(vm, &nglobals);
        /* The interpreter would fail a call past the frame limit: no code
         * that inlines calls runs where they would not all fit. */
        bool room = fvm_vm_jit_frames(vm) + t->frames <= fvm_vm_jit_max_frames(vm) + 1;
        if (!room || !fvm_block_enter(t->code, fvm_vm_jit_slots(vm), n, globals, nglobals, io, &x)) {
            t = t->next; /* the header's tree for other kinds */
            continue;
        }
        if (!ran)
            fvm_jit_count_run(j, FVM_JIT_TRACE); /* one per entry from the interpreter */
        ran = true;
        fvm_block_resume(t->code, &x, io, vm, 0);
        fvm_jit_count_reason(j, x.reason);
        if (t->exits[x.rec] < UINT32_MAX)
            t->exits[x.rec]++;
        if (atomic_load_explicit(&st->poll, memory_order_relaxed))
            break; /* the interpreter serves it first */
        /* Back at the header after some progress (kinds changed, or a
         * branch back to it went the other way): another tree, or this
         * one again, goes on from there. */
        if (x.depth == 0 && x.nframes == 0 && x.ip == a->ip && t->where[x.rec].pos > 0) {
            t = a->traces;
            continue;
        }
        if (x.reason == FVM_JIT_REASON_EXIT_BRANCH && x.depth == 0 && x.nframes == 0 && !x.completed &&
            t->exits[x.rec] >= param(j, FVM_JIT_PARAM_TRACE_THRESHOLD) &&
            t->side_fails[x.rec] < param(j, FVM_JIT_PARAM_MAX_COMPILE_FAILURES) &&
            t->tree.npaths < FVM_TRACE_MAX_PATHS)
            return start_side(j, s, ct, t, x.rec, vm);
        break;
    }
    return ran ? FVM_JIT_RESUMED : NOT_RUN;
}

/* ---- recording ----------------------------------------------------------------------------- */

/* The kinds of the frame's slots and of the globals as a root starts. */
static void note_kinds(recording *R, fvm_vm *vm)
{
    size_t n = slots_of(fvm_vm_jit_chunk(vm)), ng;
    const fvm_value *globals = fvm_vm_jit_globals(vm, &ng);
    fvm_grow((void **)&R->kinds, &R->kinds_cap, n ? n : 1, 1);
    fvm_grow((void **)&R->gkinds, &R->gkinds_cap, ng ? ng : 1, 1);
    for (size_t i = 0; i < ng; i++)
        R->gkinds[i] = (uint8_t)fvm_jit_kind_of(globals[i]);
    R->ngkinds = ng;
    R->nkinds = 0;
    if (!fvm_vm_jit_reserve_slots(vm, n))
        return;
    const fvm_value *slots = fvm_vm_jit_slots(vm);
    for (size_t i = 0; i < n; i++)
        R->kinds[i] = (uint8_t)fvm_jit_kind_of(slots[i]);
    R->nkinds = n;
}

/* Whether the kinds of the frame's slots or of the globals differ from
 * those at the start of the root's recording. */
static bool first_iteration_changed_kinds(const recording *R, fvm_vm *vm)
{
    const fvm_value *slots = fvm_vm_jit_slots(vm);
    for (size_t i = 0; i < R->nkinds; i++)
        if ((uint8_t)fvm_jit_kind_of(slots[i]) != R->kinds[i])
            return true;
    size_t ng;
    const fvm_value *globals = fvm_vm_jit_globals(vm, &ng);
    for (size_t i = 0; i < R->ngkinds && i < ng; i++)
        if ((uint8_t)fvm_jit_kind_of(globals[i]) != R->gkinds[i])
            return true;
    return false;
}

/* A recording that made no code: the place it started waits before the
 * next try (a side exit counts its failures; a loop header backs off,
 * doubling per failure, and after max_compile_failures gets its own op
 * back, so the loop costs nothing more). */
static void penalise(fvm_jit *j, recording *R)
{
    R->active = false;
    if (R->parent) {
        R->parent->side_fails[R->parent_rec]++;
        return;
    }
    anchor *a = R->a;
    a->aborts++;
    if (a->aborts >= param(j, FVM_JIT_PARAM_MAX_COMPILE_FAILURES) && !a->traces) {
        R->ct->exec[a->ip].code = a->replaced;
        a->blacklisted = true;
        fvm_jit_counters_of(j)->blacklisted++;
        return;
    }
    a->wait = fvm_jit_retry_wait(j, a->aborts);
}

/* Give a recording up for reason why. */
static void give_up(fvm_jit *j, recording *R, fvm_jit_reason why)
{
    fvm_jit_counters_of(j)->trace_aborts++;
    fvm_jit_count_reason(j, why);
    penalise(j, R);
}

/* Start recording at the VM's ip toward header a: a root path when
 * parent is NULL (after trying the disk cache), else a side path from
 * exit rec of parent. */
static int start(fvm_jit *j, trace_state *s, chunk_traces *ct, anchor *a, trace *parent,
                 uint32_t parent_rec, fvm_vm *vm)
{
    recording *R = &s->rec;
    *R = (recording){.ips = R->ips, .cap = R->cap, .kinds = R->kinds, .kinds_cap = R->kinds_cap,
                     .gkinds = R->gkinds, .gkinds_cap = R->gkinds_cap};
    R->vm = vm;
    R->ct = ct;
    R->a = a;
    R->parent = parent;
    R->parent_rec = parent_rec;
    R->frames = fvm_vm_jit_frames(vm);
    R->t0 = fvm_now_ns();
    const fvm_chunk *c = fvm_vm_jit_chunk(vm);
    if (!parent) {
        note_kinds(R, vm);
        trace *t = fvm_xcalloc(1, sizeof *t);
        t->key = disk_key(c, a->ip, R);
        if (!fvm_jit_dumping(j, FVM_JIT_DUMP_TRACE) && disk_load(j, c, t)) {
            fvm_jit_count_compile(j, FVM_JIT_TRACE, fvm_now_ns() - R->t0, FVM_JIT_REASON_NONE);
            t->frames = fvm_trace_tree_frames(c, &t->tree);
            reset_counts(t);
            t->next = a->traces;
            a->traces = t;
            fvm_jit_counters_of(j)->traces++;
            int r = dispatch(j, s, ct, a, vm);
            return r == NOT_RUN ? ct->exec[a->ip].code : r;
        }
        free(t);
    }
    R->active = true;
    fvm_vm_jit_set_exec(vm, ct->rec);
    return FVM_XOP_JIT_RECORD; /* the record hook notes the first op */
}

static int start_side(fvm_jit *j, trace_state *s, chunk_traces *ct, trace *t, uint32_t rec,
                      fvm_vm *vm)
{
    anchor *a = anchor_at(ct, t->tree.anchor);
    return a ? start(j, s, ct, a, t, rec, vm) : FVM_JIT_RESUMED;
}

/* The recorded path, one op a line, for the trace dump. */
static void dump_path(fvm_jit *j, const fvm_chunk *c, const recording *R)
{
    if (!fvm_jit_dumping(j, FVM_JIT_DUMP_TRACE))
        return;
    fvm_buf b = {NULL, 0, 0};
    if (R->parent)
        fvm_buf_printf(&b, "side path from ip %u (an exit of path %u at its op %u) to the loop at ip %u, %u ops:\n",
                       R->ips[0], R->parent->where[R->parent_rec].path, R->parent->where[R->parent_rec].pos,
                       R->a->ip, R->n);
    else
        fvm_buf_printf(&b, "root path of the loop at ip %u, %u ops (the loop from op %u):\n",
                       R->a->ip, R->n, R->loop_pos);
    for (uint32_t i = 0; i < R->n; i++) {
        const fvm_op *op = &c->ops[R->ips[i]];
        fvm_buf_printf(&b, "  %5u  %s %u %u\n", R->ips[i], fvm_op_name(op->code), op->a, op->b);
    }
    fvm_jit_dump_buf(j, FVM_JIT_DUMP_TRACE, FVM_JIT_TRACE, c, &b);
}

/* Compile tree for t; false (counted) when it does not compile. The time
 * counted starts with the recording, at t0. */
static bool compile_tree(fvm_jit *j, const fvm_chunk *c, trace *t, const fvm_trace_tree *tree,
                         uint64_t t0)
{
    fvm_mcode *mc = fvm_jit_mcode(j);
    fvm_buf ir = {NULL, 0, 0}, text = {NULL, 0, 0};
    bool want_ir = fvm_jit_dumping(j, FVM_JIT_DUMP_IR);
    bool want_code = fvm_jit_dumping(j, FVM_JIT_DUMP_CODE);
    fvm_jit_reason why = FVM_JIT_REASON_CODE_MEMORY;
    fvm_trace_exit *where = NULL;
    fvm_block_code *code = mc ? fvm_trace_compile(c, tree, mc, want_ir ? &ir : NULL,
                                                  want_code ? &text : NULL, &where, &why)
                              : NULL;
    fvm_jit_count_compile(j, FVM_JIT_TRACE, fvm_now_ns() - t0, code ? FVM_JIT_REASON_NONE : why);
    fvm_jit_dump_buf(j, FVM_JIT_DUMP_IR, FVM_JIT_TRACE, c, &ir);
    fvm_jit_dump_buf(j, FVM_JIT_DUMP_CODE, FVM_JIT_TRACE, c, &text);
    if (!code)
        return false;
    fvm_block_free(t->code); /* its machine code stays in the arena, unused */
    free(t->where);
    t->code = code;
    t->where = where;
    t->frames = fvm_trace_tree_frames(c, tree);
    reset_counts(t);
    return true;
}

/* The path came back to its header: compile it (a new tree, or the
 * parent's tree grown by it), then run from there. */
static int close_path(fvm_jit *j, trace_state *s, fvm_vm *vm)
{
    recording *R = &s->rec;
    chunk_traces *ct = R->ct;
    anchor *a = R->a;
    const fvm_chunk *c = fvm_vm_jit_chunk(vm);
    R->active = false;
    fvm_vm_jit_set_exec(vm, ct->exec);
    dump_path(j, c, R);
    fvm_trace_path path = {fvm_xmalloc(R->n * sizeof *R->ips), R->n, -1, 0, R->loop_pos};
    memcpy(path.ips, R->ips, R->n * sizeof *R->ips);
    bool ok;
    if (R->parent) {
        trace *t = R->parent;
        fvm_trace_exit at = t->where[R->parent_rec];
        path.parent = (int32_t)at.path;
        path.parent_pos = at.pos;
        fvm_trace_tree grown = t->tree;
        grown.paths = fvm_xmalloc((grown.npaths + 1) * sizeof *grown.paths);
        memcpy(grown.paths, t->tree.paths, t->tree.npaths * sizeof *grown.paths);
        grown.paths[grown.npaths++] = path;
        ok = compile_tree(j, c, t, &grown, R->t0);
        if (ok) {
            free(t->tree.paths);
            t->tree = grown;
            fvm_jit_counters_of(j)->side_traces++;
            disk_store(j, t);
        } else {
            free(grown.paths);
            free(path.ips);
        }
    } else {
        trace *t = fvm_xcalloc(1, sizeof *t);
        t->tree = (fvm_trace_tree){fvm_xmalloc(sizeof path), 1, a->ip,
                                   fvm_xmalloc(R->nkinds ? R->nkinds : 1), R->nkinds,
                                   fvm_xmalloc(R->ngkinds ? R->ngkinds : 1), R->ngkinds};
        t->tree.paths[0] = path;
        memcpy(t->tree.kinds, R->kinds, R->nkinds);
        memcpy(t->tree.gkinds, R->gkinds, R->ngkinds);
        t->key = disk_key(c, a->ip, R);
        ok = compile_tree(j, c, t, &t->tree, R->t0);
        if (ok) {
            t->next = a->traces;
            a->traces = t;
            fvm_jit_counters_of(j)->traces++;
            disk_store(j, t);
        } else
            trace_free(t);
    }
    if (!ok) {
        penalise(j, R); /* counted as a failed compile */
        return ct->exec[a->ip].code;
    }
    int r = dispatch(j, s, ct, a, vm);
    return r == NOT_RUN ? ct->exec[a->ip].code : r;
}

/* ---- the hooks ------------------------------------------------------------------------------- */

static const fvm_op *trace_exec(fvm_jit *j, const fvm_chunk *c)
{
    trace_state *s = state_of(j);
    if (s->rec.active) /* the run that recorded ended */
        give_up(j, &s->rec, FVM_JIT_REASON_TRACE_LEFT_FRAME);
    chunk_traces *ct = chunk_find(s, c->op_hash);
    if (!ct) {
        fvm_grow((void **)&s->v, &s->cap, s->n + 1, sizeof *s->v);
        ct = s->v[s->n++] = fvm_xcalloc(1, sizeof *ct);
        ct->op_hash = c->op_hash;
        analyse(j, ct, c);
    }
    return ct->exec;
}

/* Entry ops exist only where the block tier put them (analyse). */
static int trace_enter(fvm_jit *j, fvm_vm *vm)
{
    return fvm_jit_tiers[FVM_JIT_BLOCK]->vm_hooks->enter(j, vm);
}

static int trace_hotspot(fvm_jit *j, fvm_vm *vm)
{
    trace_state *s = state_of(j);
    const fvm_chunk *c = fvm_vm_jit_chunk(vm);
    size_t ip = fvm_vm_jit_ip(vm);
    chunk_traces *ct = chunk_find(s, c->op_hash);
    anchor *a = ct ? anchor_at(ct, ip) : NULL;
    if (!a)
        return c->exec[ip].code; /* cannot happen: headers are counted only in ct->exec */
    if (s->rec.active)
        give_up(j, &s->rec, FVM_JIT_REASON_TRACE_LEFT_FRAME);
    int r = dispatch(j, s, ct, a, vm);
    if (r != NOT_RUN)
        return r;
    if (a->wait) {
        a->wait--;
        return a->replaced;
    }
    if (++a->count <= param(j, FVM_JIT_PARAM_TRACE_THRESHOLD))
        return a->replaced;
    a->count = 0;
    return start(j, s, ct, a, NULL, 0, vm);
}

/* Follow the calls the path goes through: a call is inlined unless it
 * nests past FVM_TRACE_MAX_INLINE, or past max_inline_recursion
 * activations of one subroutine, or calls no subroutine (the interpreter
 * raises that error); a return ends an inlined call, or the recording
 * when it leaves the frame the recording started in. */
static fvm_jit_reason note_call(fvm_jit *j, recording *R, const fvm_chunk *c, const fvm_op *op)
{
    if (op->code == FVM_OP_CALL) {
        uint32_t entry = c->sub_ip[op->a], same = 0;
        if (entry == UINT32_MAX)
            return FVM_JIT_REASON_OP_CALL;
        for (uint32_t k = 0; k < R->ncalls; k++)
            same += R->callees[k] == entry;
        if (R->ncalls == FVM_TRACE_MAX_INLINE ||
            same >= param(j, FVM_JIT_PARAM_MAX_INLINE_RECURSION))
            return FVM_JIT_REASON_TRACE_INLINE_DEPTH;
        R->callees[R->ncalls++] = entry;
    } else if (op->code == FVM_OP_RETURN || op->code == FVM_OP_RETURN_VALUE) {
        if (R->ncalls == 0)
            return FVM_JIT_REASON_TRACE_LEFT_FRAME;
        R->ncalls--;
    }
    return FVM_JIT_REASON_NONE;
}

static int trace_record(fvm_jit *j, fvm_vm *vm)
{
    trace_state *s = state_of(j);
    recording *R = &s->rec;
    const fvm_chunk *c = fvm_vm_jit_chunk(vm);
    uint32_t ip = (uint32_t)fvm_vm_jit_ip(vm);
    chunk_traces *ct = chunk_find(s, c->op_hash);
    if (!R->active || R->vm != vm || R->ct != ct ||
        R->frames + R->ncalls != fvm_vm_jit_frames(vm)) {
        if (R->active)
            give_up(j, R, FVM_JIT_REASON_TRACE_LEFT_FRAME);
        fvm_vm_jit_set_exec(vm, ct ? ct->exec : c->exec);
        return ct ? ct->exec[ip].code : c->exec[ip].code;
    }
    if (R->n > 0 && ip == R->a->ip && R->ncalls == 0) {
        if (R->parent || R->loop_pos || !first_iteration_changed_kinds(R, vm))
            return close_path(j, s, vm);
        R->loop_pos = R->n; /* peel: the loop starts at the second iteration */
    }
    fvm_jit_reason why = fvm_jit_op_reason(FVM_JIT_TRACE, c, ip);
    if (why == FVM_JIT_REASON_NONE)
        why = note_call(j, R, c, &c->ops[ip]);
    anchor *other = R->n > 0 && ip != R->a->ip ? anchor_at(ct, ip) : NULL;
    if (why == FVM_JIT_REASON_NONE && R->n >= param(j, FVM_JIT_PARAM_MAX_TRACE_LEN))
        why = FVM_JIT_REASON_TRACE_TOO_LONG;
    /* An inner loop with native code of its own (a trace, or a block
     * region) runs better there than unrolled into this path. */
    if (why == FVM_JIT_REASON_NONE && ((other && other->traces) || (R->n > 0 && ct->native[ip])))
        why = FVM_JIT_REASON_TRACE_INNER_LOOP;
    if (why != FVM_JIT_REASON_NONE) {
        give_up(j, R, why);
        fvm_vm_jit_set_exec(vm, ct->exec);
        return ct->exec[ip].code;
    }
    fvm_grow((void **)&R->ips, &R->cap, R->n + 1, sizeof *R->ips);
    R->ips[R->n++] = ip;
    return c->ops[ip].code;
}

/* Every tree of c's loops, each exit record with how often it was taken. */
static void report_exits(fvm_jit *j, const fvm_chunk *c, fvm_buf *out)
{
    trace_state *s = state_of(j);
    chunk_traces *ct = chunk_find(s, c->op_hash);
    for (size_t k = 0; ct && k < ct->nanchors; k++)
        for (const trace *t = ct->anchors[k].traces; t; t = t->next) {
            fvm_buf_printf(out, "exits of the loop at ip %u (a tree of %u paths):\n", t->tree.anchor,
                           t->tree.npaths);
            for (uint32_t r = 1; r < t->nrecs; r++) {
                const fvm_exit_rec *e = fvm_block_exit_record(t->code, r);
                fvm_buf_printf(out, "  exit %u at ip %u (%s%s): taken %u times\n", r, e->ip,
                               e->reason ? fvm_jit_reason_text((fvm_jit_reason)e->reason)
                                         : "the loop's header",
                               e->nframes ? ", inside an inlined call" : "", t->exits[r]);
            }
        }
}

static const fvm_jit_hooks trace_vm_hooks = {
    .exec = trace_exec,
    .enter = trace_enter,
    .hotspot = trace_hotspot,
    .record = trace_record,
};

const fvm_jit_tier_ops fvm_trace_tier = {
    .tier = FVM_JIT_TRACE,
    .vm_hooks = &trace_vm_hooks,
    .free_state = state_free,
    .report_exits = report_exits,
};
