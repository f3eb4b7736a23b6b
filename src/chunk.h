/* Chunks: the immutable, verified unit of bytecode the VM runs. */
#ifndef FVM_CHUNK_H
#define FVM_CHUNK_H

#include "value.h"

/* Pseudo-opcode stored after the last op: running into it (or jumping to
 * target == len) ends the run, so the interpreter needs no bounds check. */
#define FVM_OP_END FVM_OP_COUNT

typedef struct fvm_sub_entry {
    uint16_t name;
    uint32_t ip;
} fvm_sub_entry;

typedef struct fvm_block_range {
    uint64_t start, end;
} fvm_block_range;

/* The names of one subroutine's slots (names[i] is slot i's), keyed by
 * the entry ip of its code. */
typedef struct fvm_slot_names {
    uint32_t entry_ip;
    uint32_t count;
    fvm_string **names;
} fvm_slot_names;
/* A builtin the chunk expects: CallBuiltin id means the builtin a VM
 * registered under name (fvm_declare_builtin). */
typedef struct fvm_builtin_decl {
    uint16_t id;
    fvm_string *name;
} fvm_builtin_decl;

struct fvm_chunk {
    fvm_op *ops;        /* len ops, then one FVM_OP_END */
    fvm_op *exec;       /* what the interpreter runs: ops with superinstructions
                           (superop.h) in place of common sequences */
    uint32_t *lines;    /* one per op */
    size_t len;
    fvm_value *consts;
    size_t nconsts;
    fvm_string **names;
    size_t nnames;
    fvm_sub_entry *subs;
    size_t nsubs;
    fvm_block_range *blocks;
    size_t nblocks;
    struct fvm_chunk **subchunks;
    size_t nsubchunks;
    fvm_string *source;
    fvm_slot_names *slot_names;
    size_t nslot_names;
    fvm_builtin_decl *builtins; /* sorted by id, ids distinct */
    size_t nbuiltins;
    uint64_t op_hash;
    int32_t max_slot;   /* -1: no slot ops */
    /* For each name index, the entry ip of its first sub entry, or
     * UINT32_MAX: Call resolves in O(1). */
    uint32_t *sub_ip;
};

/* Take ownership of the given arrays, verify, canonicalise the ops and
 * compute the derived fields. On failure frees everything, writes a message
 * to err (if given) and returns NULL. Used by the builder and the loaders. */
typedef struct fvm_chunk_parts {
    fvm_op *ops; /* room for len + 1 */
    uint32_t *lines;
    size_t len;
    fvm_value *consts;
    size_t nconsts;
    fvm_string **names;
    size_t nnames;
    fvm_sub_entry *subs;
    size_t nsubs;
    fvm_block_range *blocks;
    size_t nblocks;
    struct fvm_chunk **subchunks;
    size_t nsubchunks;
    fvm_string *source; /* may be NULL */
    fvm_slot_names *slot_names;
    size_t nslot_names;
    fvm_builtin_decl *builtins; /* any order; assembly sorts them */
    size_t nbuiltins;
} fvm_chunk_parts;

fvm_chunk *fvm_chunk_assemble(fvm_chunk_parts *p, char *err, size_t errlen);
/* Release whatever the parts hold and clear them (for a loader that gives up
 * before fvm_chunk_assemble). */
void fvm_chunk_parts_free(fvm_chunk_parts *p);

/* The verifier on its own: NULL if the parts are well formed, else writes
 * the first problem ("op N (Name): problem") to err and returns err. */
const char *fvm_chunk_check(const fvm_chunk_parts *p, char *err, size_t errlen);
/* Every problem (at most one per op), in order: report gets the op index
 * (SIZE_MAX for a problem outside the ops) and the message, and returns
 * false to stop. */
typedef bool (*fvm_check_fn)(void *ud, size_t ip, const char *msg);
void fvm_chunk_check_all(const fvm_chunk_parts *p, fvm_check_fn report, void *ud);

/* The slot names registered for the subroutine entered at entry_ip, or
 * NULL. */
const fvm_slot_names *fvm_chunk_slot_names_at(const fvm_chunk *c, size_t entry_ip);

/* Hash of one value, the same in every process; Hash values hash
 * independently of their insertion order. */
uint64_t fvm_value_hash(fvm_value v);

#endif
