/* The op table expanded into lookup tables, and operand access by field. */
#include "opinfo.h"

#include <string.h>

#include "util.h"

const fvm_opinfo fvm_opinfo_table[FVM_OP_COUNT] = {
#define X(E, M, F, P, Q, G) {#M, FVM_FMT_##F, P, Q, G},
    FVM_OP_LIST(X)
#undef X
};

#define OPND(k, f) {FVM_K_##k, FVM_FIELD_##f}
const fvm_format_info fvm_format_table[FVM_FMT_COUNT_] = {
    [FVM_FMT_NONE] = {0, {{0, 0}}},
    [FVM_FMT_I64] = {1, {OPND(I64, I)}},
    [FVM_FMT_F64] = {1, {OPND(F64, F)}},
    [FVM_FMT_CONST] = {1, {OPND(CONST, A)}},
    [FVM_FMT_NAME] = {1, {OPND(NAME, A)}},
    [FVM_FMT_SLOT] = {1, {OPND(SLOT, A)}},
    [FVM_FMT_SUB] = {1, {OPND(SUB, A)}},
    [FVM_FMT_BLOCK] = {1, {OPND(BLOCK, A)}},
    [FVM_FMT_COUNT] = {1, {OPND(U16, A)}},
    [FVM_FMT_U8] = {1, {OPND(U8, A)}},
    [FVM_FMT_U16] = {1, {OPND(U16, A)}},
    [FVM_FMT_TARGET] = {1, {OPND(TARGET, TARGET)}},
    [FVM_FMT_NAME_ARGC] = {2, {OPND(NAME, A), OPND(U8, B)}},
    [FVM_FMT_SLOT2] = {2, {OPND(SLOT, A), OPND(SLOT, B)}},
    [FVM_FMT_SLOT_LIMIT_TARGET] = {3, {OPND(SLOT, A), OPND(LIMIT, LIMIT), OPND(TARGET, TARGET)}},
    [FVM_FMT_SLOT2_LIMIT] = {3, {OPND(SLOT, A), OPND(SLOT, B), OPND(LIMIT, LIMIT)}},
    [FVM_FMT_CONST_SLOT2_LIMIT] = {4, {OPND(CONST, A), OPND(SLOT, B), OPND(SLOT, C), OPND(LIMIT, LIMIT)}},
    [FVM_FMT_NAME_SLOT_LIMIT] = {3, {OPND(NAME, A), OPND(SLOT, B), OPND(LIMIT, LIMIT)}},
    [FVM_FMT_ID_U8] = {2, {OPND(U16, A), OPND(U8, B)}},
    [FVM_FMT_ID_WIDE] = {2, {OPND(U16, A), OPND(WIDE, WIDE)}},
    [FVM_FMT_U8_U8] = {2, {OPND(U8, A), OPND(U8, B)}},
};
#undef OPND

const char *fvm_op_name(unsigned code)
{
    return code < FVM_OP_COUNT ? fvm_opinfo_table[code].name : NULL;
}

int fvm_op_lookup(const char *mnemonic, size_t len)
{
    /* A linear scan is fine: the assembler and importers cache nothing and
     * 234 short compares cost well under a microsecond. */
    for (unsigned i = 0; i < FVM_OP_COUNT; i++) {
        const char *n = fvm_opinfo_table[i].name;
        if (strlen(n) == len && memcmp(n, mnemonic, len) == 0)
            return (int)i;
    }
    return -1;
}

fvm_format fvm_op_format(unsigned code)
{
    return code < FVM_OP_COUNT ? (fvm_format)fvm_opinfo_table[code].format : FVM_FMT_NONE;
}

unsigned fvm_op_flags(unsigned code)
{
    return code < FVM_OP_COUNT ? fvm_opinfo_table[code].flags : 0;
}

uint64_t fvm_operand_get(const fvm_op *op, unsigned field)
{
    switch (field) {
    case FVM_FIELD_A: return op->a;
    case FVM_FIELD_B: return op->b;
    case FVM_FIELD_C: return op->c;
    case FVM_FIELD_I: return (uint64_t)op->u.i;
    case FVM_FIELD_F: {
        uint64_t bits;
        memcpy(&bits, &op->u.f, 8);
        return bits;
    }
    case FVM_FIELD_WIDE: return op->u.wide;
    case FVM_FIELD_LIMIT: return (uint64_t)(int64_t)op->u.j.limit;
    case FVM_FIELD_TARGET: return op->u.j.target;
    }
    return 0;
}

void fvm_operand_set(fvm_op *op, unsigned field, uint64_t bits)
{
    switch (field) {
    case FVM_FIELD_A: op->a = (uint16_t)bits; break;
    case FVM_FIELD_B: op->b = (uint16_t)bits; break;
    case FVM_FIELD_C: op->c = (uint16_t)bits; break;
    case FVM_FIELD_I: op->u.i = (int64_t)bits; break;
    case FVM_FIELD_F: memcpy(&op->u.f, &bits, 8); break;
    case FVM_FIELD_WIDE: op->u.wide = bits; break;
    case FVM_FIELD_LIMIT: op->u.j.limit = (int32_t)(int64_t)bits; break;
    case FVM_FIELD_TARGET: op->u.j.target = (uint32_t)bits; break;
    }
}

uint64_t fvm_operand_max(unsigned kind)
{
    switch (kind) {
    case FVM_K_CONST:
    case FVM_K_NAME:
    case FVM_K_SLOT:
    case FVM_K_SUB:
    case FVM_K_BLOCK:
    case FVM_K_U16: return UINT16_MAX;
    case FVM_K_U8: return UINT8_MAX;
    case FVM_K_TARGET: return FVM_MAX_OPS;
    default: return UINT64_MAX;
    }
}

fvm_op fvm_op_canonical(fvm_op op)
{
    fvm_op out;
    memset(&out, 0, sizeof out);
    out.code = op.code;
    if (op.code >= FVM_OP_COUNT)
        return out;
    const fvm_format_info *fi = fvm_op_operands(op.code);
    for (unsigned i = 0; i < fi->count; i++)
        fvm_operand_set(&out, fi->operand[i].field, fvm_operand_get(&op, fi->operand[i].field));
    return out;
}
