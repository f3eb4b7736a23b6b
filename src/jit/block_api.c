/* The block tier's place in the JIT context (jit.h): its compile, the run
 * behind the standalone fvm_jit_try_run_block* calls, and its hooks for
 * VMs (vm_jit.h): the regions a VM enters native code at.
 *
 * The VM runs a chunk through the block tier one region at a time: every
 * maximal run of eligible ops whose jumps stay inside it (region.h), the
 * whole chunk when it is all eligible. Each region is compiled as a chunk
 * of its own (fvm_jit_extract_region), so its code is cached by that
 * chunk's op_hash and the kinds of its slots like any block chunk. The
 * interpreter meets a region through an execution copy of the chunk's ops
 * in which the op at the region's start is replaced by FVM_XOP_JIT_ENTER:
 * that op asks the enter hook (block_enter) to run the region natively, and
 * when it declines (not hot yet, or the compile failed) runs the op it
 * replaced. Native code that leaves early (a guard) or reaches the end
 * hands back the slots it wrote and its operand stack, and the interpreter
 * goes on at the op the code stopped before, in exactly the state it
 * would have reached itself. */
#include <stdlib.h>
#include <string.h>

#include "jit/block.h"
#include "jit/diskcache.h"
#include "jit/jit.h"
#include "jit/jitop.h"
#include "jit/region.h"
#include "opinfo.h"
#include "superop.h"
#include "vm_jit.h"

/* ---- the tier -------------------------------------------------------------------------- */

static size_t slots_of(const fvm_chunk *c) { return c->max_slot < 0 ? 0 : (size_t)c->max_slot + 1; }

/* The disk cache's name for c's code for these slots. */
static fvm_diskcache_key disk_key(const fvm_chunk *c, const fvm_value *slots)
{
    size_t n = slots_of(c);
    return (fvm_diskcache_key){FVM_JIT_BLOCK, c->op_hash, fvm_block_kinds_key(slots, n),
                               fvm_block_kinds_verify(slots, n)};
}

/* Code from the disk cache, or NULL (a miss, or metadata that does not
 * parse: then the compile overwrites the file). */
static fvm_block_code *disk_load(fvm_jit *j, const fvm_chunk *c, const fvm_diskcache_key *k)
{
    fvm_buf meta = {NULL, 0, 0};
    void *entry = fvm_jit_disk_load(j, k, &meta);
    fvm_block_code *code = entry ? fvm_block_from_meta(meta.data, meta.len, entry, c->len) : NULL;
    fvm_buf_free(&meta);
    if (code)
        fvm_jit_disk_loaded(j);
    return code;
}

static void disk_store(fvm_jit *j, const fvm_diskcache_key *k, fvm_block_code *code)
{
    fvm_buf meta = {NULL, 0, 0};
    fvm_block_save_meta(code, &meta);
    fvm_jit_disk_store(j, k, fvm_block_image(code), &meta);
    fvm_buf_free(&meta);
    fvm_block_drop_image(code);
}

static void *block_compile(fvm_jit *j, const fvm_chunk *c, const fvm_value *slots, size_t nslots,
                           fvm_jit_reason *why)
{
    fvm_mcode *mc = fvm_jit_mcode(j);
    if (!mc) {
        *why = FVM_JIT_REASON_CODE_MEMORY;
        return NULL;
    }
    fvm_diskcache_key key = disk_key(c, slots);
    fvm_block_code *loaded = disk_load(j, c, &key);
    if (loaded)
        return loaded;
    fvm_buf ir = {NULL, 0, 0}, code = {NULL, 0, 0};
    bool want_ir = fvm_jit_dumping(j, FVM_JIT_DUMP_IR);
    bool want_code = fvm_jit_dumping(j, FVM_JIT_DUMP_CODE);
    fvm_block_code *bc = fvm_block_compile(c, slots, nslots, mc, want_ir ? &ir : NULL,
                                           want_code ? &code : NULL, NULL, why);
    fvm_jit_dump_buf(j, FVM_JIT_DUMP_IR, FVM_JIT_BLOCK, c, &ir);
    fvm_jit_dump_buf(j, FVM_JIT_DUMP_CODE, FVM_JIT_BLOCK, c, &code);
    if (bc)
        disk_store(j, &key, bc);
    return bc;
}

static void block_release(void *code) { fvm_block_free(code); }

/* ---- the standalone run (fvm_jit_try_run_block*) ----------------------------------- */

static fvm_jit_status block_run(fvm_jit_tier_slot *ts, const fvm_chunk *c, fvm_value *slots,
                                size_t nslots, fvm_value *out, uint64_t threshold)
{
    fvm_jit *j = ts->jit;
    size_t n = slots_of(c);
    if (n > nslots)
        return FVM_JIT_NOT_COMPILED;
    uint64_t key = fvm_block_kinds_key(slots, n);
    fvm_block_code *code = fvm_jit_code_for(j, &fvm_block_tier, c, key, slots, nslots, threshold);
    if (!code)
        return FVM_JIT_NOT_COMPILED;
    int64_t io[FVM_BLOCK_IO_WORDS];
    fvm_block_exit x;
    fvm_jit_status st = FVM_JIT_NOT_COMPILED;
    if (fvm_block_enter(code, slots, nslots, NULL, 0, io, &x)) {
        if (x.completed) {
            fvm_block_write_slots(code, &x, io, slots);
            *out = x.depth ? fvm_block_stack_value(code, &x, io, x.depth - 1) : fvm_undef();
            st = x.depth ? FVM_JIT_OK : FVM_JIT_HALTED;
            ts->runs++;
        } else {
            fvm_jit_count_reason(j, x.reason);
            if (x.reason == FVM_JIT_REASON_EXIT_ZERO_DIVISOR &&
                (c->ops[x.ip].code == FVM_OP_AWK_DIV_JIT || c->ops[x.ip].code == FVM_OP_AWK_MOD_JIT))
                *fvm_jit_awk_trap(j) = c->ops[x.ip].code == FVM_OP_AWK_DIV_JIT ? 1 : 2;
        }
    }
    return st;
}

/* ---- regions for the VM --------------------------------------------------------------- */

typedef struct region {
    uint32_t start, end;
    uint16_t replaced;  /* the execution op FVM_XOP_JIT_ENTER stands in for */
    fvm_chunk *chunk;   /* ops [start, end) on their own */
} region;

typedef struct chunk_regions {
    uint64_t op_hash;
    fvm_op *exec;       /* the execution copy with entry ops; NULL: no regions */
    region *regions;    /* ascending by start */
    size_t nregions;
} chunk_regions;

/* The tier's state in a context: what it found in each chunk the VM ran. */
typedef struct regions_table {
    chunk_regions *v;
    size_t n, cap;
} regions_table;

static void regions_free(void *state)
{
    regions_table *r = state;
    for (size_t i = 0; i < r->n; i++) {
        for (size_t k = 0; k < r->v[i].nregions; k++)
            fvm_chunk_free(r->v[i].regions[k].chunk);
        free(r->v[i].regions);
        free(r->v[i].exec);
    }
    free(r->v);
    free(r);
}

/* Entering native code costs about as much as interpreting a few dozen
 * ops (finding the code, checking the slot kinds, writing back), so a
 * region is worth entering when it loops or is long; a short straight run
 * in a hot function (a recursive fib's test) would only get slower. */
#define REGION_MIN_STRAIGHT 32

/* Where native code can be entered. A region that begins by popping
 * values pushed before it (a function taking its arguments into slots)
 * would not compile: it starts after the last op of its straight opening
 * that reaches below its own stack. False if no region is left, or a jump
 * inside goes back before the new start. */
static bool trim_underflow(const fvm_chunk *c, fvm_block_region *r)
{
    uint32_t first_target = r->end, t;
    for (uint32_t ip = r->start; ip < r->end; ip++)
        if (fvm_op_jump_target(&c->ops[ip], &t) && t < first_target)
            first_target = t;
    int depth = 0;
    uint32_t start = r->start;
    for (uint32_t ip = r->start; ip < r->end && ip < first_target && !fvm_op_jump_target(&c->ops[ip], &t); ip++) {
        const fvm_opinfo *oi = &fvm_opinfo_table[c->ops[ip].code];
        int pop = oi->pop < 0 ? (int)c->ops[ip].a : oi->pop;
        if (depth < pop) {
            start = ip + 1;
            depth = 0;
        } else
            depth += oi->push - pop;
    }
    for (uint32_t ip = start; ip < r->end; ip++)
        if (fvm_op_jump_target(&c->ops[ip], &t) && t < start)
            return false;
    r->start = start;
    return r->end - start >= 2;
}

static bool worth_entering(const fvm_chunk *c, fvm_block_region r)
{
    if (r.end - r.start >= REGION_MIN_STRAIGHT)
        return true;
    for (uint32_t ip = r.start; ip < r.end; ip++) {
        uint32_t t;
        if ((fvm_op_jump_target(&c->ops[ip], &t) && t <= ip) || c->ops[ip].code == FVM_OP_ACCUM_SUM_LOOP)
            return true;
    }
    return false;
}

/* Count, once per chunk, each op the block tier leaves to the
 * interpreter: what keeps the rest of the chunk out of native code. */
static void count_declined_ops(fvm_jit *j, const fvm_chunk *c)
{
    for (size_t ip = 0; ip < c->len; ip++)
        fvm_jit_count_reason(j, fvm_jit_op_reason(FVM_JIT_BLOCK, c, ip));
}

static void analyse(fvm_jit *j, chunk_regions *cr, const fvm_chunk *c)
{
    count_declined_ops(j, c);
    size_t n = fvm_block_regions(c, NULL, 0);
    fvm_block_region *found = fvm_xmalloc((n + 1) * sizeof *found);
    fvm_block_regions(c, found, n);
    cr->regions = fvm_xcalloc(n + 1, sizeof *cr->regions);
    for (size_t k = 0; k < n; k++) {
        if (!trim_underflow(c, &found[k])) {
            fvm_jit_count_reason(j, FVM_JIT_REASON_STACK_UNDERFLOW);
            continue;
        }
        if (!worth_entering(c, found[k])) {
            fvm_jit_count_reason(j, FVM_JIT_REASON_REGION_SHORT);
            continue;
        }
        fvm_chunk *rc = fvm_jit_extract_region(c, found[k].start, found[k].end);
        if (!rc)
            continue;
        if (!cr->exec) {
            cr->exec = fvm_xmalloc((c->len + 1) * sizeof *cr->exec);
            memcpy(cr->exec, c->exec, (c->len + 1) * sizeof *cr->exec);
        }
        region *r = &cr->regions[cr->nregions++];
        *r = (region){found[k].start, found[k].end, cr->exec[found[k].start].code, rc};
        cr->exec[r->start].code = FVM_XOP_JIT_ENTER;
    }
    free(found);
}

static const fvm_op *block_exec(fvm_jit *j, const fvm_chunk *c)
{
    regions_table **rp = (regions_table **)&fvm_jit_tier_slot_of(j, FVM_JIT_BLOCK)->state;
    if (!*rp)
        *rp = fvm_xcalloc(1, sizeof **rp);
    regions_table *t = *rp;
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].op_hash == c->op_hash)
            return t->v[i].exec ? t->v[i].exec : c->exec;
    fvm_grow((void **)&t->v, &t->cap, t->n + 1, sizeof *t->v);
    chunk_regions *cr = &t->v[t->n++];
    *cr = (chunk_regions){c->op_hash, NULL, NULL, 0};
    analyse(j, cr, c);
    return cr->exec ? cr->exec : c->exec;
}

static const region *region_at(fvm_jit *j, const fvm_chunk *c, size_t ip)
{
    const regions_table *t = fvm_jit_tier_slot_of(j, FVM_JIT_BLOCK)->state;
    for (size_t i = 0; t && i < t->n; i++) {
        if (t->v[i].op_hash != c->op_hash)
            continue;
        size_t lo = 0, hi = t->v[i].nregions;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            const region *r = &t->v[i].regions[mid];
            if (r->start == ip)
                return r;
            if (r->start < ip)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    return NULL;
}

static bool block_covers(fvm_jit *j, const fvm_chunk *c, uint32_t ip)
{
    const regions_table *t = fvm_jit_tier_slot_of(j, FVM_JIT_BLOCK)->state;
    for (size_t i = 0; t && i < t->n; i++)
        for (size_t k = 0; t->v[i].op_hash == c->op_hash && k < t->v[i].nregions; k++)
            if (t->v[i].regions[k].start <= ip && ip < t->v[i].regions[k].end)
                return true;
    return false;
}

static int block_enter(fvm_jit *j, fvm_vm *vm)
{
    const region *r = region_at(j, fvm_vm_jit_chunk(vm), fvm_vm_jit_ip(vm));
    if (!r)
        return FVM_JIT_RESUMED; /* cannot happen: entry ops are only at region starts */
    int replaced = r->replaced;
    size_t n = slots_of(r->chunk);
    if (!fvm_vm_jit_reserve_slots(vm, n))
        return replaced;
    fvm_value *slots = fvm_vm_jit_slots(vm);
    uint64_t key = fvm_block_kinds_key(slots, n);
    fvm_block_code *code = fvm_jit_code_for(j, &fvm_block_tier, r->chunk, key, slots, n,
                                            fvm_jit_get_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD));
    if (!code)
        return replaced;
    int64_t io[FVM_BLOCK_IO_WORDS];
    fvm_block_exit x;
    bool ran = fvm_block_enter(code, slots, n, NULL, 0, io, &x);
    if (ran) {
        fvm_block_resume(code, &x, io, vm, r->start);
        fvm_jit_count_run(j, FVM_JIT_BLOCK);
        fvm_jit_count_reason(j, x.reason);
    }
    /* Code that stops at the region's first op (it met a value there it
     * leaves to the interpreter) must not be entered again for that op. */
    return ran && x.ip != 0 ? FVM_JIT_RESUMED : replaced;
}

static const fvm_jit_hooks block_vm_hooks = {.exec = block_exec, .enter = block_enter};

const fvm_jit_tier_ops fvm_block_tier = {
    .tier = FVM_JIT_BLOCK,
    .decline_reason = fvm_block_decline_reason,
    .compile = block_compile,
    .release = block_release,
    .run = block_run,
    .vm_hooks = &block_vm_hooks,
    .free_state = regions_free,
    .covers = block_covers,
};
