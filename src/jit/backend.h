/* What the target-neutral parts of the JIT (the tiers, codegen.c, the disk
 * cache, the code memory) ask of the backend for the architecture being
 * built for. The types and constants come from the backend's header (see
 * target.h for how it is chosen); the functions are the backend's, one
 * definition each (the x64 backend's are in its _backend.c file).
 *
 * From the backend's header:
 *
 *   fvm_code_buf     the buffer the lowering encodes into: at least
 *                    `uint8_t *code; size_t len;` (the bytes, entry at
 *                    offset 0) and `fvm_code_reloc *relocs; size_t
 *                    nrelocs;` (in ascending offsets)
 *   fvm_code_reloc   `uint32_t offset, helper;`: the 8 bytes at offset in
 *                    the code hold the address of helper (helpers.h ids);
 *                    the disk cache stores them zeroed and, loading the
 *                    code into another process, writes that process's
 *                    address with fvm_backend_patch_reloc
 *   FVM_CODE_MAX     the longest code a buffer may hold
 *   FVM_TARGET_NAME  the machine and calling convention as a string, part
 *                    of every disk cache blob's fingerprint: code made for
 *                    one target is never loaded on another */
#ifndef FVM_JIT_BACKEND_H
#define FVM_JIT_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jit/ir.h"
#include "jit/ra.h"
#include "jit/target.h"
#include "util.h"

/* An empty buffer, allowed to grow to FVM_CODE_MAX; and its release. */
void fvm_code_buf_init(fvm_code_buf *b);
void fvm_code_buf_free(fvm_code_buf *b);

/* Emit f, allocated as ra says, as a native function `int64_t fn(p0, p1)`
 * (PARAM k is integer argument k of the platform's C calling convention,
 * at most two) into b, finished: jumps resolved, relocations recorded and
 * holding this process's helper addresses, ready to be copied into code
 * memory. The function returns RET's status, or snapshot id + 1 when a
 * guard fails. offsets, if not NULL, has f->ninsts + 1 entries and receives
 * the code offset of each instruction (the last: the end of the body).
 * False, with a static message in *why_not, when f cannot be lowered or the
 * encoder failed. */
bool fvm_backend_lower(const fvm_ir_func *f, const fvm_ra_result *ra, fvm_code_buf *b,
                       uint32_t *offsets, const char **why_not);

/* The --dump=asm text of code lowered from f, with the offsets
 * fvm_backend_lower filled in: per live instruction with code a line
 * "offset  vN op  bytes" (hex), then one for what follows the body. */
void fvm_backend_dump(const fvm_ir_func *f, const uint32_t *offsets, const fvm_code_buf *b,
                      fvm_buf *out);

/* The CPU features of the running machine the code may rely on, as the
 * backend numbers them (bits stored in disk cache blobs: a backend never
 * renumbers them). Found once per process. */
uint32_t fvm_backend_cpu_features(void);

/* Write addr over the relocation at offset in code[0..len): false if it
 * does not lie inside. */
bool fvm_backend_patch_reloc(uint8_t *code, size_t len, uint32_t offset, uint64_t addr);

/* Make len bytes of code just written at code (through any mapping) visible
 * to instruction fetch on this CPU, before the code runs. The code memory
 * calls it after every add. A no-op where instruction fetch is coherent with
 * data writes (x86-64); aarch64 must clean and invalidate the caches. */
void fvm_backend_sync_icache(void *code, size_t len);

#endif
