/* The JIT context (jit.c): settings, counters, the code cache and the
 * policy that decides when to compile, shared by every tier.
 *
 * A tier describes itself with an fvm_jit_tier_ops and asks
 * fvm_jit_code_for for a chunk's code on each call. The context keeps one
 * cache entry per (tier, op_hash, subkey) and answers from it: compiled
 * code (a hit), a remembered refusal (ineligible, failed and waiting out
 * its back-off, or blacklisted), or, once the chunk is hot enough, a fresh
 * compile through the tier. The subkey separates variants of one chunk
 * (the block tier's slot kinds); tiers without variants pass 0.
 *
 * The public entry points of the tiers (fvm_jit_try_run_*, the
 * eligibility and availability calls, the VM's hooks) are the context's:
 * they dispatch through the table of this build's tiers, fvm_jit_tiers,
 * so only tiers.c names a tier and a build without a code generator
 * replaces it by an empty table. */
#ifndef FVM_JIT_H
#define FVM_JIT_H

#include "chunk.h"
#include "jit/diskcache.h"
#include "jit/mcode.h"
#include "vm_jit.h"

/* What a context keeps for each tier: handed to the tier's run, so that
 * a repeated call reaches the tier's state and counters without a call. */
typedef struct fvm_jit_tier_slot {
    fvm_jit *jit;       /* the context */
    void *state;        /* the tier's own: NULL until it sets it, freed with free_state */
    uint64_t runs;      /* native runs (fvm_jit_counters.runs) */
    uint64_t own_hits;  /* calls the tier answered from a memo of its own, without
                         * fvm_jit_code_for: counted as cache hits */
} fvm_jit_tier_slot;

typedef struct fvm_jit_tier_ops {
    fvm_jit_tier tier;
    /* decline_reason, compile and release serve fvm_jit_code_for; a tier
     * that keeps its code itself (the tracing tier's traces belong to loop
     * headers, not chunks) leaves them NULL. */
    /* Why the tier cannot compile c at all (FVM_JIT_REASON_NONE: it can):
     * validation only, asked once per cache entry. */
    fvm_jit_reason (*decline_reason)(const fvm_chunk *c);
    /* Code for c, specialised for the slots it is about to run with, as a
     * handle the tier understands; or NULL with the reason in *why.
     * Machine code goes into fvm_jit_mcode(j); dumps go through
     * fvm_jit_dump. */
    void *(*compile)(fvm_jit *j, const fvm_chunk *c, const fvm_value *slots, size_t nslots,
                     fvm_jit_reason *why);
    /* Release a handle compile returned (the context frees the machine
     * code itself with its code memory). */
    void (*release)(void *code);
    /* The tier's fvm_jit_try_run_* (the context checked the arguments):
     * run c natively on slots[0..nslots), through fvm_jit_code_for on
     * ts->jit with threshold, counting the run in ts->runs.
     * FVM_JIT_NOT_COMPILED changes nothing. NULL: the tier runs only
     * inside VMs. Six arguments and nothing for the context to do after
     * it, so that the public entry points reach it with a jump (the
     * linear tier's repeated call costs as before the tier table). */
    fvm_jit_status (*run)(fvm_jit_tier_slot *ts, const fvm_chunk *c, fvm_value *slots,
                          size_t nslots, fvm_value *out, uint64_t threshold);
    /* What the tier does for VMs (vm_jit.h), or NULL. */
    const fvm_jit_hooks *vm_hooks;
    /* Free the tier's state in a context (fvm_jit_tier_slot), or NULL if
     * it keeps none. */
    void (*free_state)(void *state);
    /* Whether the op at ip of c runs in the tier's native code once VMs
     * reach it (inside a region the block tier enters), or NULL: a tier
     * above leaves such ops alone. Asked after exec analysed c. */
    bool (*covers)(fvm_jit *j, const fvm_chunk *c, uint32_t ip);
    /* Append to out how often each exit of c's code was taken, or NULL
     * (fvm_jit_dump_trace_exits). */
    void (*report_exits)(fvm_jit *j, const fvm_chunk *c, fvm_buf *out);
} fvm_jit_tier_ops;

/* The tiers of this build, indexed by fvm_jit_tier; NULL where it has
 * none. The one place that names them is tiers.c, which a build without a
 * code generator (make JIT=0) replaces by jit/none/tiers.c. */
extern const fvm_jit_tier_ops *const fvm_jit_tiers[FVM_JIT_TIER_COUNT];
extern const fvm_jit_tier_ops fvm_linear_tier; /* linear_api.c */
extern const fvm_jit_tier_ops fvm_block_tier;  /* block_api.c */
extern const fvm_jit_tier_ops fvm_trace_tier;  /* trace_api.c */

/* What context j keeps for tier t. */
fvm_jit_tier_slot *fvm_jit_tier_slot_of(fvm_jit *j, fvm_jit_tier t);

/* Code for c under tier t and subkey, or NULL when the caller must
 * interpret this call. A cold entry compiles (for slots[0..nslots)) once
 * more than threshold calls have asked (0: on the first call). */
void *fvm_jit_code_for(fvm_jit *j, const fvm_jit_tier_ops *t, const fvm_chunk *c, uint64_t subkey,
                       const fvm_value *slots, size_t nslots, uint64_t threshold);
/* A subkey naming the kinds (Int, Float, Bool, other) of slots[0..n). */
uint64_t fvm_jit_slot_kinds_key(const fvm_value *slots, size_t n);
/* Count one native run of a tier's code. */
void fvm_jit_count_run(fvm_jit *j, fvm_jit_tier t);
/* Count a compile a tier ran outside fvm_jit_code_for (the tracing
 * tier's): its time, and success (why NONE) or failure with its reason. */
void fvm_jit_count_compile(fvm_jit *j, fvm_jit_tier t, uint64_t ns, fvm_jit_reason why);
/* How many chances a place that failed to compile `failures` times skips
 * before the next try: retry_backoff, doubled per further failure. */
uint64_t fvm_jit_retry_wait(const fvm_jit *j, uint32_t failures);
/* The context's counters, for a tier's own (traces, aborts). */
fvm_jit_counters *fvm_jit_counters_of(fvm_jit *j);
/* Count one occurrence of a reason native code did not run or left. */
void fvm_jit_count_reason(fvm_jit *j, fvm_jit_reason r);
/* The disk cache around a tier's compile. fvm_jit_disk_load: the entry of
 * code stored under k, loaded into the context's code memory with the
 * tier's metadata appended to *meta, or NULL (a miss); skipped while a dump
 * hook wants the compile itself. The tier counts the load with
 * fvm_jit_disk_loaded once its metadata made a handle (else it compiles
 * and stores over the file). fvm_jit_disk_store: best effort, a failure
 * changes nothing but the next process's work; counted when it succeeds. */
void *fvm_jit_disk_load(fvm_jit *j, const fvm_diskcache_key *k, fvm_buf *meta);
void fvm_jit_disk_loaded(fvm_jit *j);
void fvm_jit_disk_store(fvm_jit *j, const fvm_diskcache_key *k, const fvm_code_buf *image,
                        const fvm_buf *meta);
/* The context's executable memory, mapped on first use with the
 * code_max_bytes setting of that moment; NULL only if memory runs out. */
fvm_mcode *fvm_jit_mcode(fvm_jit *j);
/* The context's persistent code cache (jit/diskcache.h). */
fvm_diskcache *fvm_jit_diskcache(fvm_jit *j);

/* Whether code for op_hash (any subkey) is compiled under tier t. */
bool fvm_jit_is_compiled(const fvm_jit *j, const fvm_jit_tier_ops *t, uint64_t op_hash);
/* The block tier's AWK division trap cell. */
int *fvm_jit_awk_trap(fvm_jit *j);

/* Whether a dump hook wants kind k, and the call that feeds it. */
bool fvm_jit_dumping(const fvm_jit *j, fvm_jit_dump_kind k);
void fvm_jit_dump(fvm_jit *j, fvm_jit_dump_kind k, fvm_jit_tier t, const fvm_chunk *c,
                  const char *text, size_t len);
/* Hand what a tier wrote to a dump buffer (if anything) to the hook, and
 * free the buffer. */
void fvm_jit_dump_buf(fvm_jit *j, fvm_jit_dump_kind k, fvm_jit_tier t, const fvm_chunk *c,
                      fvm_buf *b);

#endif
