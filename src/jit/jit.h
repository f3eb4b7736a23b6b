/* The JIT context (jit.c): settings, counters, the code cache and the
 * policy that decides when to compile, shared by every tier.
 *
 * A tier describes itself with an fvm_jit_tier_ops and asks
 * fvm_jit_code_for for a chunk's code on each call. The context keeps one
 * cache entry per (tier, op_hash, subkey) and answers from it: compiled
 * code (a hit), a remembered refusal (ineligible, failed and waiting out
 * its back-off, or blacklisted), or, once the chunk is hot enough, a fresh
 * compile through the tier. The subkey separates variants of one chunk
 * (the block tier's slot kinds); tiers without variants pass 0. */
#ifndef FVM_JIT_H
#define FVM_JIT_H

#include "chunk.h"
#include "jit/diskcache.h"
#include "jit/mcode.h"
#include "vm_jit.h"

typedef struct fvm_jit_tier_ops {
    fvm_jit_tier tier;
    /* Whether the tier can compile c at all: validation only, asked once
     * per cache entry. */
    bool (*eligible)(const fvm_chunk *c);
    /* Code for c, specialised for the slots it is about to run with, as a
     * handle the tier understands; or NULL with a static message in *why.
     * Machine code goes into fvm_jit_mcode(j); dumps go through
     * fvm_jit_dump. */
    void *(*compile)(fvm_jit *j, const fvm_chunk *c, const fvm_value *slots, size_t nslots,
                     const char **why);
    /* Release a handle compile returned (the context frees the machine
     * code itself with its code memory). */
    void (*release)(void *code);
} fvm_jit_tier_ops;

/* Code for c under tier t and subkey, or NULL when the caller must
 * interpret this call. A cold entry compiles (for slots[0..nslots)) once
 * more than threshold calls have asked (0: on the first call). */
void *fvm_jit_code_for(fvm_jit *j, const fvm_jit_tier_ops *t, const fvm_chunk *c, uint64_t subkey,
                       const fvm_value *slots, size_t nslots, uint64_t threshold);
/* A subkey naming the kinds (Int, Float, Bool, other) of slots[0..n). */
uint64_t fvm_jit_slot_kinds_key(const fvm_value *slots, size_t n);
/* Count one native run of a tier's code. */
void fvm_jit_count_run(fvm_jit *j, fvm_jit_tier t);
/* The disk cache around a tier's compile. fvm_jit_disk_load: the entry of
 * code stored under k, loaded into the context's code memory with the
 * tier's metadata appended to *meta, or NULL (a miss); skipped while a dump
 * hook wants the compile itself. The tier counts the load with
 * fvm_jit_disk_loaded once its metadata made a handle (else it compiles
 * and stores over the file). fvm_jit_disk_store: best effort, a failure
 * changes nothing but the next process's work; counted when it succeeds. */
void *fvm_jit_disk_load(fvm_jit *j, const fvm_diskcache_key *k, fvm_buf *meta);
void fvm_jit_disk_loaded(fvm_jit *j);
void fvm_jit_disk_store(fvm_jit *j, const fvm_diskcache_key *k, const fvm_x64_buf *image,
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
/* The block tier's per-chunk region table (block_api.c owns it). */
typedef struct fvm_jit_regions fvm_jit_regions;
fvm_jit_regions **fvm_jit_regions_of(fvm_jit *j);
void fvm_jit_regions_free(fvm_jit_regions *r);
extern const fvm_jit_tier_ops fvm_block_tier;

/* What the block tier does for VMs (vm_jit.h): the ops the VM runs a
 * chunk from, with FVM_XOP_JIT_ENTER at the start of each region, and the
 * entry into a region's native code (block_api.c). */
extern const fvm_jit_hooks fvm_block_vm_hooks;

/* Whether a dump hook wants kind k, and the call that feeds it. */
bool fvm_jit_dumping(const fvm_jit *j, fvm_jit_dump_kind k);
void fvm_jit_dump(fvm_jit *j, fvm_jit_dump_kind k, fvm_jit_tier t, const fvm_chunk *c,
                  const char *text, size_t len);

#endif
