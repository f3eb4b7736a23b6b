/* Executable memory for generated code, never writable and executable at
 * once (W^X).
 *
 * An fvm_mcode belongs to one owner (a JIT context) and holds that owner's
 * functions. Code goes in through a reservation:
 *
 *     uint8_t *p = fvm_mcode_reserve(mc, len);   writable, not executable
 *     ... copy or write up to len bytes at p (several functions may share
 *         one reservation, which saves system calls) ...
 *     void *entry = fvm_mcode_commit(mc, used);   executable, not writable
 *
 * or fvm_mcode_abort(mc) to drop the reservation. fvm_mcode_add does all
 * three for code already in a buffer. Committed code stays until
 * fvm_mcode_free releases everything at once.
 *
 * A reservation starts on a page of its own (making a shared page writable
 * again would cost a second protection change, mcode.c has the figures), so
 * functions added one by one each take whole pages; functions written into
 * one reservation share them. Only when the max_bytes limit leaves no fresh
 * page does a reservation start in the tail of the last committed page,
 * which is then writable until the commit or abort: the owner's code must
 * not run on another thread meanwhile (running it on this thread is fine:
 * a compile started from inside generated code returns into it only after
 * the commit). */
#ifndef FVM_MCODE_H
#define FVM_MCODE_H

#include <stddef.h>

typedef struct fvm_mcode fvm_mcode;

/* An empty code memory that will map at most max_bytes (0: no limit). */
fvm_mcode *fvm_mcode_new(size_t max_bytes);
/* Unmap all code; nothing committed from mc may run afterwards. */
void fvm_mcode_free(fvm_mcode *mc);

/* len writable bytes, 16-byte aligned, or NULL (a reservation is already
 * open, len is 0, the limit is reached, or the system refused). */
void *fvm_mcode_reserve(fvm_mcode *mc, size_t len);
/* Make the first len bytes of the open reservation executable and return
 * its start; NULL if there is no reservation, len is 0 or larger than the
 * reservation (the reservation is then dropped), or the system refused. */
void *fvm_mcode_commit(fvm_mcode *mc, size_t len);
void fvm_mcode_abort(fvm_mcode *mc);
/* Reserve, copy len bytes of code, commit: the executable copy, or NULL. */
void *fvm_mcode_add(fvm_mcode *mc, const void *code, size_t len);

/* Bytes of address space mapped so far. */
size_t fvm_mcode_mapped(const fvm_mcode *mc);

#endif
