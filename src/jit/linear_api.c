/* The linear tier's place in the JIT context (jit.h): its compile, with
 * the disk cache around it, and the run behind fvm_jit_try_run_linear
 * (jit/linear.h has the tier's contract). */
#include <stdlib.h>

#include "jit/jit.h"
#include "jit/linear.h"
#include "util.h"

/* A second hash of the slots' types, for the disk cache's verify word. */
static uint64_t kinds_verify(const fvm_value *slots, size_t n)
{
    uint64_t h = 0x84222325cbf29ce4u;
    for (size_t i = 0; i < n; i++)
        h = (h + slots[i].type + 1) * 0x9e3779b97f4a7c15u;
    return h ^ n;
}

static void *linear_compile(fvm_jit *j, const fvm_chunk *c, const fvm_value *slots, size_t nslots,
                            fvm_jit_reason *why)
{
    fvm_mcode *mc = fvm_jit_mcode(j);
    if (!mc) {
        *why = FVM_JIT_REASON_CODE_MEMORY;
        return NULL;
    }
    /* Named on disk by the kinds of the slots the chunk can touch, as in
     * the in-memory cache, and verified by a second hash of them. */
    size_t used = c->max_slot < 0 ? 0 : (size_t)c->max_slot + 1;
    used = used < nslots ? used : nslots;
    fvm_diskcache_key key = {FVM_JIT_LINEAR, c->op_hash, fvm_jit_slot_kinds_key(slots, used),
                             kinds_verify(slots, used)};
    fvm_buf meta = {NULL, 0, 0};
    void *entry = fvm_jit_disk_load(j, &key, &meta);
    fvm_linear_code *lc = entry ? fvm_linear_from_meta(meta.data, meta.len, entry) : NULL;
    fvm_buf_free(&meta);
    if (lc) {
        fvm_jit_disk_loaded(j);
        return lc;
    }
    fvm_buf ir = {NULL, 0, 0}, code = {NULL, 0, 0};
    bool want_ir = fvm_jit_dumping(j, FVM_JIT_DUMP_IR);
    bool want_code = fvm_jit_dumping(j, FVM_JIT_DUMP_CODE);
    lc = fvm_linear_compile(c, slots, nslots, mc, want_ir ? &ir : NULL, want_code ? &code : NULL,
                            NULL, why);
    fvm_jit_dump_buf(j, FVM_JIT_DUMP_IR, FVM_JIT_LINEAR, c, &ir);
    fvm_jit_dump_buf(j, FVM_JIT_DUMP_CODE, FVM_JIT_LINEAR, c, &code);
    if (lc) {
        fvm_linear_save_meta(lc, &meta);
        fvm_jit_disk_store(j, &key, fvm_linear_image(lc), &meta);
        fvm_buf_free(&meta);
        fvm_linear_drop_image(lc);
    }
    return lc;
}

static void linear_release(void *code)
{
    fvm_linear_free(code);
}

/* The code run last and the op_hash it was found for: a chunk called
 * repeatedly skips the kinds key and the table lookup (the code checks the
 * kinds of the slots it reads itself). The tier's state in a context. */
typedef struct last_run {
    uint64_t op_hash;
    void *code;
} last_run;

/* The code for c through the cache (compiling it if need be), remembered
 * as the last code, then run. */
static fvm_jit_status lookup_run(fvm_jit *j, last_run **last, const fvm_chunk *c, fvm_value *slots,
                                 size_t nslots, fvm_value *out)
{
    /* The code is specialised for the kinds of the slots the chunk can
     * touch; slots beyond those do not matter. */
    size_t used = c->max_slot < 0 ? 0 : (size_t)c->max_slot + 1;
    uint64_t key = fvm_jit_slot_kinds_key(slots, used < nslots ? used : nslots);
    void *code = fvm_jit_code_for(j, &fvm_linear_tier, c, key, slots, nslots, 0);
    if (!code)
        return FVM_JIT_NOT_COMPILED;
    if (!*last)
        *last = fvm_xcalloc(1, sizeof **last);
    **last = (last_run){c->op_hash, code};
    if (!fvm_linear_run(code, slots, nslots, out))
        return FVM_JIT_NOT_COMPILED;
    fvm_jit_count_run(j, FVM_JIT_LINEAR);
    return FVM_JIT_OK;
}

/* Compiled on the first call, whatever the threshold. */
static fvm_jit_status linear_run(fvm_jit_tier_slot *ts, const fvm_chunk *c, fvm_value *slots,
                                 size_t nslots, fvm_value *out, uint64_t threshold)
{
    (void)threshold;
    last_run **last = (last_run **)&ts->state;
    /* The fast path: the chunk run last, its code checking the slots. */
    if (*last && (*last)->op_hash == c->op_hash) {
        fvm_linear_outcome r = fvm_linear_exec((*last)->code, slots, nslots, out);
        if (r == FVM_LINEAR_DONE) {
            ts->own_hits++;
            ts->runs++;
            return FVM_JIT_OK;
        }
        if (r == FVM_LINEAR_EXITED)
            return FVM_JIT_NOT_COMPILED;
    }
    return lookup_run(ts->jit, last, c, slots, nslots, out);
}

const fvm_jit_tier_ops fvm_linear_tier = {
    .tier = FVM_JIT_LINEAR,
    .decline_reason = fvm_linear_decline_reason,
    .compile = linear_compile,
    .release = linear_release,
    .run = linear_run,
    .free_state = free,
};
