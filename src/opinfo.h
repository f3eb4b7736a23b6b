/* What the op table says about each op, in a form modules can walk: the
 * assembler, disassembler, binary and JSON formats and the verifier all
 * read operands through these descriptors instead of listing ops again. */
#ifndef FVM_OPINFO_H
#define FVM_OPINFO_H

#include "fusevm.h"

/* The meaning of one operand. */
typedef enum fvm_operand_kind {
    FVM_K_I64,    /* any int64 */
    FVM_K_F64,    /* any double (bit pattern) */
    FVM_K_CONST,  /* index into the constant pool */
    FVM_K_NAME,   /* index into the name pool (also a global index) */
    FVM_K_SLOT,   /* frame slot, 0..65535 */
    FVM_K_SUB,    /* index into the sub-chunks */
    FVM_K_BLOCK,  /* index into the block ranges */
    FVM_K_U16,    /* plain 16-bit number (count, id, field) */
    FVM_K_U8,     /* plain 8-bit number (argc, modifier, code) */
    FVM_K_TARGET, /* jump target: op index 0..len */
    FVM_K_LIMIT,  /* int32 loop limit */
    FVM_K_WIDE    /* uint64 payload */
} fvm_operand_kind;

/* Where an operand lives in fvm_op. */
typedef enum fvm_operand_field {
    FVM_FIELD_A,
    FVM_FIELD_B,
    FVM_FIELD_C,
    FVM_FIELD_I,      /* u.i */
    FVM_FIELD_F,      /* u.f */
    FVM_FIELD_WIDE,   /* u.wide */
    FVM_FIELD_LIMIT,  /* u.j.limit */
    FVM_FIELD_TARGET  /* u.j.target */
} fvm_operand_field;

typedef struct fvm_format_info {
    uint8_t count;
    struct {
        uint8_t kind;  /* fvm_operand_kind */
        uint8_t field; /* fvm_operand_field */
    } operand[4];
} fvm_format_info;

typedef struct fvm_opinfo {
    const char *name;
    uint8_t format; /* fvm_format */
    int8_t pop, push;
    uint8_t flags;
} fvm_opinfo;

extern const fvm_opinfo fvm_opinfo_table[FVM_OP_COUNT];
extern const fvm_format_info fvm_format_table[FVM_FMT_COUNT_];

static inline const fvm_format_info *fvm_op_operands(unsigned code)
{
    return &fvm_format_table[fvm_opinfo_table[code].format];
}

/* Operand values travel as 64-bit patterns: int64 for I64 and LIMIT
 * (sign-extended), the double's bits for F64, zero-extended otherwise. */
uint64_t fvm_operand_get(const fvm_op *op, unsigned field);
void fvm_operand_set(fvm_op *op, unsigned field, uint64_t bits);

/* The largest value an operand of this kind may hold as a plain number
 * (for I64, F64, LIMIT and WIDE every pattern is valid: returns UINT64_MAX). */
uint64_t fvm_operand_max(unsigned kind);

/* op with every field its format does not use cleared, so equal ops are
 * equal byte for byte (the chunk hash relies on it). */
fvm_op fvm_op_canonical(fvm_op op);

#endif
