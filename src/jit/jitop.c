/* The JIT's op table expanded (jitop.h), and the questions every tier asks
 * of an op, answered from it and from the op table's operand formats. */
#include "jit/jitop.h"

#include "opinfo.h"

const fvm_jitop fvm_jitop_table[FVM_OP_COUNT] = {
#define JITOP_ROW(e, tiers, cls, helper, reason)                                                    \
    [FVM_OP_##e] = {FVM_JT_##tiers, FVM_JC_##cls, FVM_JIT_HELPER_##helper, FVM_JIT_REASON_##reason},
    FVM_JIT_OP_LIST(JITOP_ROW)
#undef JITOP_ROW
};

/* Every op of the op table has exactly one row, in the same order: an op
 * without a row names an undeclared FVM_JITROW_ constant below, a row out
 * of place fails its assertion, and a row for no op changes the count. */
enum {
#define JITOP_INDEX(e, tiers, cls, helper, reason) FVM_JITROW_##e,
    FVM_JIT_OP_LIST(JITOP_INDEX)
#undef JITOP_INDEX
    FVM_JITROW_COUNT
};
_Static_assert((int)FVM_JITROW_COUNT == (int)FVM_OP_COUNT, "every op has exactly one row in FVM_JIT_OP_LIST");
#define JITOP_IN_ORDER(e, mnemonic, format, pop, push, flags)                                       \
    _Static_assert((int)FVM_JITROW_##e == (int)FVM_OP_##e, "FVM_JIT_OP_LIST row " #e " out of op table order");
FVM_OP_LIST(JITOP_IN_ORDER)
#undef JITOP_IN_ORDER

bool fvm_op_jump_target(const fvm_op *op, uint32_t *target)
{
    if (!(fvm_opinfo_table[op->code].flags & FVM_OPF_JUMP))
        return false;
    *target = op->u.j.target;
    return true;
}

unsigned fvm_op_slots(const fvm_op *op, uint16_t out[2])
{
    const fvm_format_info *fi = fvm_op_operands(op->code);
    unsigned n = 0;
    for (unsigned k = 0; k < fi->count && n < 2; k++)
        if (fi->operand[k].kind == FVM_K_SLOT)
            out[n++] = (uint16_t)fvm_operand_get(op, fi->operand[k].field);
    return n;
}
