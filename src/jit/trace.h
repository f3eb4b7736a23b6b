/* The tracing tier's compiler: recorded paths of ops into native code.
 *
 * A path is the list of ops the interpreter ran, in the order it ran
 * them. A loop's trace is a tree of paths: the root path starts at the
 * loop's header (its anchor) and comes back to it; each side path starts
 * at the successor of a branch that some path did not take when it was
 * recorded (an exit taken often) and runs to the header. The whole tree
 * compiles into one native function, so a loop whose branches go both ways
 * runs without leaving native code: the compiler walks each path once
 * with the translator (translate.h), so each op is typed exactly as on
 * every other tier; a jump continues on the path, and a branch continues
 * into its side path where the tree has one, and otherwise becomes a
 * guard that leaves native code, at the successor the recording did not
 * take, when it goes the other way. A path that comes back to the header
 * with the slot kinds the tree started with jumps to the top of the loop.
 *
 * The result is a block-tier handle (block.h): the same io layout, entry
 * check of slot kinds, exit records (snap.h) and disk-cache metadata, so
 * running, resuming and persisting a trace are the block tier's code.
 *
 * A root path whose first iteration changes the kinds of slots (a
 * variable Undef before the loop and an Int after its first iteration, a
 * sum that starts as the Int 0 and becomes a Float) is recorded for two
 * iterations: the first is a prologue, run once per entry, and the loop
 * starts at the second (loop_pos, the index of the header's op in the
 * path), whose kinds stay the same from one iteration to the next, as
 * LuaJIT peels a loop's first iteration. Without that, loop_pos is 0.
 *
 * At each back-edge the code checks the VM's poll word (vm_jit.h) and
 * leaves at the header when anything is pending, so an interrupt stops a
 * native loop. A loop whose slot kinds change in a later iteration leaves
 * at the header instead of looping; entered again, the header records a
 * trace for the new kinds. */
#ifndef FVM_JIT_TRACE_H
#define FVM_JIT_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunk.h"
#include "jit/block.h"
#include "jit/mcode.h"
#include "jit/snap.h"
#include "util.h"

/* Paths one loop's tree grows to: past that, exits stay exits. */
#define FVM_TRACE_MAX_PATHS 32
/* Calls a tree inlines inside each other. */
#define FVM_TRACE_MAX_INLINE 16

typedef struct fvm_trace_path {
    uint32_t *ips;        /* the ops in the order they ran */
    uint32_t n;
    int32_t parent;       /* the path it branches from; -1 for the root */
    uint32_t parent_pos;  /* the branch it leaves by: an index in the parent */
    uint32_t loop_pos;    /* the root: where the loop starts (see below) */
} fvm_trace_path;

typedef struct fvm_trace_tree {
    fvm_trace_path *paths; /* paths[0] is the root; a parent comes before its sides */
    uint32_t npaths;
    uint32_t anchor;      /* the loop's header: where the root starts */
    uint8_t *kinds;       /* fvm_jit_kind of each slot of the frame at the root's start */
    size_t nkinds;
    uint8_t *gkinds;      /* and of each global variable */
    size_t ngkinds;
} fvm_trace_tree;

/* Where an exit record of a compiled tree leaves: the path and the index
 * of the op in it (a side path recorded from the exit attaches there). */
typedef struct fvm_trace_exit {
    uint32_t path, pos;
} fvm_trace_exit;

/* Compile tree t of chunk c into arena. dump_ir / dump_asm may be NULL.
 * *exits receives, per exit record, where it leaves (a new array the
 * caller frees). NULL with the reason in *why when the tree cannot be
 * compiled: an op no trace compiles, a slot or global beyond the kinds
 * given, more than 128 slots and globals, a stack deeper than 64 or popping below the start, a
 * root path that leaves native code for good before its end, or code
 * memory refused. */
fvm_block_code *fvm_trace_compile(const fvm_chunk *c, const fvm_trace_tree *t, fvm_mcode *arena,
                                  fvm_buf *dump_ir, fvm_buf *dump_asm, fvm_trace_exit **exits,
                                  fvm_jit_reason *why);

/* The most calls tree t's paths have active at once: the frames a run of
 * its code needs room for beyond the one it enters, since the interpreter
 * would fail a call past the VM's frame limit. */
uint32_t fvm_trace_tree_frames(const fvm_chunk *c, const fvm_trace_tree *t);

/* The tree as the disk cache keeps it beside the code: the paths, then
 * the exit map; and the inverse, checking every index against chunk_len
 * and the counts (false on any inconsistency). load allocates what it
 * fills; fvm_trace_tree_free releases a tree made by it. */
void fvm_trace_tree_save(const fvm_trace_tree *t, const fvm_trace_exit *exits, uint32_t nexits,
                         fvm_buf *out);
bool fvm_trace_tree_load(fvm_meta_reader *r, size_t chunk_len, fvm_trace_tree *t,
                         fvm_trace_exit **exits, uint32_t *nexits);
void fvm_trace_tree_free(fvm_trace_tree *t);

#endif
