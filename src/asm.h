/* Text assembly (.fasm): what the assembler (asm.c) and the disassembler
 * (disasm.c) share, so the printer writes exactly what the parser reads.
 * The syntax is documented in docs/FORMAT.md, "Text assembly". */
#ifndef FVM_ASM_H
#define FVM_ASM_H

#include "chunk.h"

/* Values nested deeper than this (arrays, hashes, refs) are rejected. */
#define FVM_ASM_MAX_DEPTH 64
/* .chunk blocks nested deeper than this are rejected. */
#define FVM_ASM_MAX_CHUNK_DEPTH 64
/* The assembler stops after reporting this many errors. */
#define FVM_ASM_MAX_ERRORS 20

/* Identifiers (names, labels, mnemonics): [A-Za-z_$][A-Za-z0-9_$.]* */
static inline bool fvm_asm_ident_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}
static inline bool fvm_asm_ident_char(int c)
{
    return fvm_asm_ident_start(c) || (c >= '0' && c <= '9') || c == '.';
}
bool fvm_asm_is_ident(const char *s, size_t n);

/* Strict identity of constants: same type, floats by bit pattern, hashes
 * with the same entries in the same order. Two constants the assembler
 * treats as one literal are exactly those this calls the same. */
bool fvm_asm_value_same(fvm_value a, fvm_value b);

/* Finds the first constant of a pool identical to a value. Holds indices
 * into a pool the caller owns and appends to. */
typedef struct fvm_const_index {
    uint32_t *slots; /* index + 1; 0 = empty */
    size_t mask;
    size_t count;
} fvm_const_index;

/* The smallest indexed position i with pool[i] the same as v, or -1. */
int64_t fvm_const_index_find(const fvm_const_index *ix, const fvm_value *pool, fvm_value v);
/* Index pool[i] unless an identical constant is indexed already. */
void fvm_const_index_add(fvm_const_index *ix, const fvm_value *pool, size_t i);
void fvm_const_index_free(fvm_const_index *ix);

#endif
