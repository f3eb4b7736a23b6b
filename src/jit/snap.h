/* Snapshots and exits: what native code records at each place it may
 * leave, and how the interpreter's values are rebuilt from it. Every tier
 * takes its snapshots and rebuilds state through this module.
 *
 * A snapshot (ir.h) is taken at a guard: the bytecode ip to resume at and,
 * for each value the interpreter will need, where native code keeps it
 * (an SSA value, or a variable's home). When the guard fails, the exit
 * stub stores those values as raw words into the tier's io area (slots
 * first, then the operand stack), and the function returns the exit's
 * record number.
 *
 * An exit record says how to read that io area back: the ip, the stack's
 * kinds bottom to top, and the slots written so far with their kinds
 * (pairs of the tier's used-slot index and kind), all in one shared array
 * of kinds so a compiled chunk keeps its records in one allocation. The
 * record also names why the code left (an fvm_jit_reason), which the
 * context counts. Record 0 is never returned by code: a record number is
 * a snapshot id + 1, and the end of a chunk is a record like any other.
 *
 * A tier that inlines frames (the tracing tier) will record each inlined
 * frame's slots here too, and rebuild the frames from them. */
#ifndef FVM_JIT_SNAP_H
#define FVM_JIT_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jit/ir.h"
#include "jit/translate.h"
#include "util.h"

/* Take a snapshot at ip of the stack's values with a native form (bottom
 * to top) followed by the tier's slot entries; its id. */
uint32_t fvm_snap_take(fvm_ir_func *f, uint32_t ip, const fvm_tv *stack, uint32_t depth,
                       const fvm_ir_snap_entry *slots, size_t nslots);

/* Where a used entry lives: a slot of the frame the code was entered in,
 * a global variable, or a slot of a frame the code inlined (a trace's
 * inlined call: FVM_SPACE_FRAME + n for its n-th inlined activation). */
enum {
    FVM_SPACE_SLOT = 0,
    FVM_SPACE_GLOBAL = 1,
    FVM_SPACE_FRAME = 2
};

typedef struct fvm_exit_rec {
    uint32_t ip;           /* the op the interpreter resumes at */
    uint16_t depth;        /* stack values in io after the slots */
    uint16_t nslots;       /* written slots in io */
    uint32_t reason;       /* fvm_jit_reason; NONE for the chunk's end */
    uint32_t first;        /* kinds[first..]: depth stack kinds, then
                              nslots (used index, kind) pairs */
    uint32_t nframes;      /* inlined frames active at the exit */
    uint32_t frames_first; /* frames[frames_first..]: per frame, outermost
                              first, its space, return ip and stack base
                              (a depth of the stack in io) */
} fvm_exit_rec;

/* A compiled chunk's exit records, their kinds and inlined frames. */
typedef struct fvm_exits {
    fvm_exit_rec *recs;
    uint32_t nrecs;
    uint8_t *kinds;
    uint32_t nkinds;
    uint32_t *frames;
    uint32_t nframe_words;
} fvm_exits;

/* Growable records while a chunk compiles. */
typedef struct fvm_exits_builder {
    fvm_exits x;
    size_t recs_cap, kinds_cap, frames_cap;
} fvm_exits_builder;

/* Empty the builder but for record 0 (never returned). */
void fvm_exits_builder_reset(fvm_exits_builder *b);
void fvm_exits_builder_free(fvm_exits_builder *b);
/* Add the record for an exit at ip with the given stack kinds, the
 * written entries among the tier's nused (dirty[i] set and a native kind)
 * and the nframes inlined frames active there (3 words each: space,
 * return ip, stack base); its number. */
uint32_t fvm_exits_add(fvm_exits_builder *b, uint32_t ip, fvm_jit_reason reason,
                       const fvm_tv *stack, uint32_t depth, const uint8_t *slot_kinds,
                       const uint8_t *dirty, uint32_t nused, const uint32_t *frames,
                       uint32_t nframes);

/* Rebuilding the interpreter's values from io after exit `rec`: the
 * entries of space `space` written (used maps used indices to slot or
 * global numbers, spaces to their space; the values go to dst[number],
 * old values released) and stack value d (from the bottom). nused is the
 * count of used entries, where the stack starts in io. */
void fvm_exit_write(const fvm_exits *x, uint32_t rec, const uint16_t *used, const uint8_t *spaces,
                    uint8_t space, const int64_t *io, fvm_value *dst);
fvm_value fvm_exit_stack_value(const fvm_exits *x, uint32_t rec, uint32_t nused, const int64_t *io,
                               uint32_t d);

/* Put the VM where the interpreter would have been at exit `rec` of code
 * that ran from ip base: the written slots into the top frame (grown to
 * hold them), the written globals, the stack values pushed, the inlined
 * frames active at the exit pushed with their slots, and the ip at base +
 * the record's ip. The VM's state must be saved (a hook is running). */
void fvm_exit_resume(fvm_vm *vm, const fvm_exits *x, uint32_t rec, const uint16_t *used,
                     const uint8_t *spaces, uint32_t nused, const int64_t *io, uint32_t base);

/* The records in the disk cache's metadata: per record ip, depth, nslots,
 * reason, first, nframes, frames_first, then the kinds, one per word, then
 * the frame words (little-endian u32 words). */
void fvm_exits_save(const fvm_exits *x, fvm_buf *out);
/* The inverse into records and kinds the caller allocated for nrecs and
 * nkinds entries, from p (advanced past them). False if anything is out
 * of range: an ip past chunk_len, a depth past max_depth, a written slot
 * index at or past nused, a kind or reason that does not exist, or a kind
 * run past the array, or a frame that is not an inlined frame's space, a
 * return ip past chunk_len or a stack base past the record's depth. */
typedef struct fvm_meta_reader {
    const uint8_t *p, *end;
    bool ok;
} fvm_meta_reader;
uint32_t fvm_meta_get32(fvm_meta_reader *r, uint32_t max);
void fvm_meta_put32(fvm_buf *out, uint32_t v);
bool fvm_exits_load(fvm_meta_reader *r, fvm_exits *x, uint32_t chunk_len, uint32_t nused,
                    uint32_t max_depth);

#endif
