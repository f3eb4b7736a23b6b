/* Executable memory for generated code. No mapping of it is ever writable
 * (W^X holds in its strongest form): code reaches the executable pages
 * through the kernel, never through a writable address of this process.
 *
 * An fvm_mcode belongs to one owner (a JIT context) and packs that owner's
 * functions into shared pages:
 *
 *     void *entry = fvm_mcode_add(mc, code, len);
 *
 * copies len bytes of position-independent code (as the encoder makes it:
 * relative jumps and constant-pool references, absolute helper addresses
 * already patched), makes it visible to instruction fetch, and returns its
 * executable address. Committed code stays until fvm_mcode_free releases
 * everything at once, and is never written again, so it may run on any
 * thread while more is added. */
#ifndef FVM_MCODE_H
#define FVM_MCODE_H

#include <stddef.h>

typedef struct fvm_mcode fvm_mcode;

/* An empty code memory that will map at most max_bytes (0: no limit). */
fvm_mcode *fvm_mcode_new(size_t max_bytes);
/* The same on anonymous memory made executable with mprotect, the way the
 * code memory falls back when the system refuses executable file mappings
 * (tests use it to cover that path). */
fvm_mcode *fvm_mcode_new_anonymous(size_t max_bytes);
/* Unmap all code; nothing added to mc may run afterwards. */
void fvm_mcode_free(fvm_mcode *mc);

/* Copy len bytes of code in and return their executable address (16-byte
 * aligned), or NULL: len is 0, the limit is reached, or the system
 * refused. */
void *fvm_mcode_add(fvm_mcode *mc, const void *code, size_t len);

/* Bytes of address space mapped so far. */
size_t fvm_mcode_mapped(const fvm_mcode *mc);

#endif
