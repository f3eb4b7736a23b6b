/* The tracing tier's compiler: a recorded path of ops into native code.
 *
 * A trace is the list of ops the interpreter ran from a start ip, in the
 * order it ran them, with the kinds every slot had when it started. A
 * root trace starts at a loop header (its anchor) and ends when the path
 * comes back to it: the code loops. A side trace starts where another
 * trace left (an exit taken often) and ends at its root's anchor, where
 * the root trace takes over. The compiler walks the path once with the
 * translator (translate.h), so each op is typed exactly as on every other
 * tier; control flow follows the recording: a jump continues on the path,
 * and a branch becomes a guard that leaves native code, at the successor
 * the recording did not take, when it goes the other way.
 *
 * The result is a block-tier handle (block.h): the same io layout, entry
 * check of slot kinds, exit records (snap.h) and disk-cache metadata, so
 * running, resuming and persisting a trace are the block tier's code.
 *
 * At the end of each iteration a root trace checks the VM's poll word
 * (vm_jit.h) and leaves at its anchor when anything is pending, so an
 * interrupt stops a native loop. A loop whose slot kinds change in an
 * iteration (an Int that becomes a Float) leaves at the anchor instead of
 * looping; entered again, the anchor records a trace for the new kinds. */
#ifndef FVM_JIT_TRACE_H
#define FVM_JIT_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunk.h"
#include "jit/block.h"
#include "jit/mcode.h"
#include "util.h"

typedef struct fvm_trace_path {
    const uint32_t *ips;  /* the ops in the order they ran; ips[0] is the start */
    uint32_t n;
    uint32_t anchor;      /* where the path ends: the loop header (a root
                             trace's anchor is its start) */
    const uint8_t *kinds; /* fvm_jit_kind of each slot of the frame at the start */
    size_t nkinds;
} fvm_trace_path;

/* Compile path p of chunk c into arena. dump_ir / dump_asm may be NULL.
 * NULL with the reason in *why when the path cannot be compiled: an op
 * no trace compiles, a slot beyond the kinds given, more than 128 slots,
 * a stack deeper than 64 or popping below the start, a path that leaves
 * native code for good before its end, or code memory refused. */
fvm_block_code *fvm_trace_compile(const fvm_chunk *c, const fvm_trace_path *p, fvm_mcode *arena,
                                  fvm_buf *dump_ir, fvm_buf *dump_asm, fvm_jit_reason *why);

#endif
