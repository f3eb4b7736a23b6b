/* The block tier: a whole chunk with jumps and loops compiled to one
 * native function whose effect equals the interpreter's: the same result
 * value (type and bits), the same slots.
 *
 * Eligibility is per op, from the JIT op table (jitop.h): the numeric ops
 * of the linear tier, the jumps, the fused slot and loop ops, LoadUndef,
 * Dup2, Nop and AWK's numeric ops. Frames, calls, strings, collections and
 * I/O are not. A compile may still decline (block.c explains when).
 *
 * Slot kinds: code is specialised on the kinds (translate.h: Int, Float,
 * Bool, Undef, other) of the slots the chunk uses, taken from the slot values at compile
 * time; fvm_block_enter checks them again and declines on a mismatch.
 *
 * Exits: where the interpreter would produce something the native code does
 * not model (a zero divisor, an AWK division by zero, reading a slot that
 * holds a string), the code leaves through a guard whose snapshot names the
 * op to resume at and where every slot and stack value is. fvm_block_enter
 * reports the exit with that state so a caller holding a VM can resume the
 * interpreter exactly there. */
#ifndef FVM_JIT_BLOCK_H
#define FVM_JIT_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunk.h"
#include "jit/mcode.h"
#include "jit/backend.h"
#include "jit/snap.h"
#include "jit/translate.h"
#include "util.h"

/* Why the block tier does not compile c at all (an empty chunk, or the
 * first op the JIT op table keeps from the tier); FVM_JIT_REASON_NONE if
 * every op is one it compiles (validation only). */
fvm_jit_reason fvm_block_decline_reason(const fvm_chunk *c);

/* A cache subkey naming the kinds of slots[0..n). */
uint64_t fvm_block_kinds_key(const fvm_value *slots, size_t n);

typedef struct fvm_block_code fvm_block_code;

typedef struct fvm_block_stats {
    uint64_t codegen_ns; /* type inference, IR, allocation, lowering */
    uint64_t commit_ns;  /* copying into the arena and making it executable */
    size_t ir_insts;
} fvm_block_stats;

/* Compile c for the kinds of slots[0..nslots) it uses, into arena. dump_ir
 * / dump_asm / stats may be NULL. NULL, with the reason in *why_not, if c
 * is not eligible or the compile declined: a slot at or past nslots, a
 * block reached with more than 8 type states, a stack deeper than 64 at
 * any point, more than 128 slots, or code memory refused. */
fvm_block_code *fvm_block_compile(const fvm_chunk *c, const fvm_value *slots, size_t nslots,
                                  fvm_mcode *arena, fvm_buf *dump_ir, fvm_buf *dump_asm,
                                  fvm_block_stats *stats, fvm_jit_reason *why_not);
/* The handle around IR f built by a tier that uses this module's code
 * (the block and tracing tiers): generate and commit the code (codegen.h)
 * and keep the table of what it uses (slot or global numbers, their
 * spaces, snap.h, all slots when spaces is NULL, and their entry kinds)
 * and the exit records beside it. len is the ip of a completed run. NULL with
 * the reason in *why if code generation fails. */
fvm_block_code *fvm_block_code_make(fvm_ir_func *f, uint32_t len, const uint16_t *used,
                                    const uint8_t *spaces, const uint8_t *kinds, uint32_t nused,
                                    const fvm_exits *x,
                                    fvm_mcode *arena, fvm_buf *dump_ir, fvm_buf *dump_asm,
                                    uint64_t *t_commit, fvm_jit_reason *why);
/* The machine code of the most recent successful fvm_block_compile on this
 * handle, as the encoder produced it (entry at offset 0, relocations
 * included), for the disk cache: valid until fvm_block_drop_image or
 * fvm_block_free. */
const fvm_code_buf *fvm_block_image(const fvm_block_code *code);
void fvm_block_drop_image(fvm_block_code *code);

/* What the disk cache keeps beside the code: everything but the entry
 * address, appended to out; and a handle rebuilt from it around code
 * loaded at entry for a chunk of chunk_len ops (NULL if meta is malformed
 * or was made for another length). */
void fvm_block_save_meta(const fvm_block_code *code, fvm_buf *out);
fvm_block_code *fvm_block_from_meta(const void *meta, size_t len, void *entry, size_t chunk_len);
/* A second hash of the kinds (not the cache subkey), for the disk cache's
 * verification word. */
uint64_t fvm_block_kinds_verify(const fvm_value *slots, size_t n);
/* How many exit records code has (record numbers run below it), and
 * record rec. */
uint32_t fvm_block_exit_count(const fvm_block_code *code);
const fvm_exit_rec *fvm_block_exit_record(const fvm_block_code *code, uint32_t rec);
/* Frees the metadata; the machine code stays in its arena. */
void fvm_block_free(fvm_block_code *code);

/* Where a run stopped: at the end (ip == len) or at a guard's op. */
typedef struct fvm_block_exit {
    uint32_t ip;    /* op to go on at */
    uint32_t depth; /* stack values the code left in io */
    uint32_t rec;   /* the exit record */
    bool completed; /* ran to the end (ip == the chunk's length) */
    fvm_jit_reason reason; /* why it left early (NONE when completed) */
    uint32_t nframes; /* inlined frames the exit rebuilds (a trace's) */
} fvm_block_exit;

/* Words the io array of a run needs at most: the used slots (up to 128),
 * the operand stack (up to 64), and the address of the poll word native
 * loops read (a trace's, at FVM_BLOCK_IO_POLL). */
#define FVM_BLOCK_IO_POLL (128 + 64)
#define FVM_BLOCK_IO_WORDS (FVM_BLOCK_IO_POLL + 1)
/* Run the code on slots[0..nslots) (and globals[0..nglobals), for code
 * that uses globals): false, with nothing run, when the slots or globals
 * are too few or their kinds differ from the compiled ones. The
 * native code works in io (FVM_BLOCK_IO_WORDS words); the slots are not
 * changed: apply the result with fvm_block_write_slots and take the stack
 * values with fvm_block_stack_value. */
bool fvm_block_enter(const fvm_block_code *code, const fvm_value *slots, size_t nslots,
                     const fvm_value *globals, size_t nglobals, int64_t *io, fvm_block_exit *out);
/* Write the slots the run changed (as of its exit) into slots; the old
 * values are released. */
void fvm_block_write_slots(const fvm_block_code *code, const fvm_block_exit *x, const int64_t *io,
                           fvm_value *slots);
/* Move a VM on to the run's exit (snap.h, fvm_exit_resume), for code of
 * a region starting at ip base. */
void fvm_block_resume(const fvm_block_code *code, const fvm_block_exit *x, const int64_t *io,
                      fvm_vm *vm, uint32_t base);
/* Stack value d (from the bottom) at the exit. */
fvm_value fvm_block_stack_value(const fvm_block_code *code, const fvm_block_exit *x,
                                const int64_t *io, uint32_t d);

#endif
