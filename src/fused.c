/* The unfused sequence behind each fused superinstruction.
 *
 * A fused op leaves the same slots and stack as its sequence when the slots
 * hold what the sequence expects: Int counters and sums, a Str accumulator
 * for ConcatConstLoop (docs/OPS.md, "Fused superinstructions": fused ops
 * coerce slots with to_int and always write Ints, so a Float slot is
 * truncated where Add would not). The loop ops expand to the whole loop:
 *
 *   0 GetSlot i; 1 LoadInt limit; 2 NumLt; 3 JumpIfFalse <end>;
 *   body; GetSlot i; Inc; SetSlot i; Jump 0; <end>
 */
#include "fused.h"

#include "opinfo.h"

#define ARG(op, k) {FVM_OP_##op, k, -1}
#define BARE(op) {FVM_OP_##op, -1, -1}
#define LOCAL(op, t) {FVM_OP_##op, -1, t}

/* ARG(op, k) takes operand k of the fused op, in its format's order:
 *   SlotLtIntJumpIfFalse, SlotIncLtIntJumpBack  0 slot, 1 limit, 2 target
 *   AccumSumLoop                                0 sum slot, 1 i slot, 2 limit
 *   ConcatConstLoop                             0 constant, 1 s slot, 2 i slot, 3 limit
 *   PushIntRangeLoop                            0 array name, 1 i slot, 2 limit */
static const fvm_unfused_op pre_inc_slot[] = {ARG(GET_SLOT, 0), BARE(INC), BARE(DUP), ARG(SET_SLOT, 0)};
static const fvm_unfused_op pre_inc_slot_void[] = {ARG(GET_SLOT, 0), BARE(INC), ARG(SET_SLOT, 0)};
static const fvm_unfused_op pre_dec_slot[] = {ARG(GET_SLOT, 0), BARE(DEC), BARE(DUP), ARG(SET_SLOT, 0)};
static const fvm_unfused_op post_inc_slot[] = {ARG(GET_SLOT, 0), BARE(DUP), BARE(INC), ARG(SET_SLOT, 0)};
static const fvm_unfused_op post_dec_slot[] = {ARG(GET_SLOT, 0), BARE(DUP), BARE(DEC), ARG(SET_SLOT, 0)};
static const fvm_unfused_op add_assign_slot_void[] = {
    ARG(GET_SLOT, 0), ARG(GET_SLOT, 1), BARE(ADD), ARG(SET_SLOT, 0)};
static const fvm_unfused_op slot_lt_int_jump_if_false[] = {
    ARG(GET_SLOT, 0), ARG(LOAD_INT, 1), BARE(NUM_LT), ARG(JUMP_IF_FALSE, 2)};
/* The increment is PreIncSlotVoid's sequence, unfused too. */
static const fvm_unfused_op slot_inc_lt_int_jump_back[] = {
    ARG(GET_SLOT, 0), BARE(INC), ARG(SET_SLOT, 0), ARG(GET_SLOT, 0), ARG(LOAD_INT, 1),
    BARE(NUM_LT), ARG(JUMP_IF_TRUE, 2)};
static const fvm_unfused_op accum_sum_loop[] = {
    ARG(GET_SLOT, 1), ARG(LOAD_INT, 2), BARE(NUM_LT), LOCAL(JUMP_IF_FALSE, 12),
    ARG(GET_SLOT, 0), ARG(GET_SLOT, 1), BARE(ADD), ARG(SET_SLOT, 0),
    ARG(GET_SLOT, 1), BARE(INC), ARG(SET_SLOT, 1), LOCAL(JUMP, 0)};
static const fvm_unfused_op concat_const_loop[] = {
    ARG(GET_SLOT, 2), ARG(LOAD_INT, 3), BARE(NUM_LT), LOCAL(JUMP_IF_FALSE, 12),
    ARG(GET_SLOT, 1), ARG(LOAD_CONST, 0), BARE(CONCAT), ARG(SET_SLOT, 1),
    ARG(GET_SLOT, 2), BARE(INC), ARG(SET_SLOT, 2), LOCAL(JUMP, 0)};
static const fvm_unfused_op push_int_range_loop[] = {
    ARG(GET_SLOT, 1), ARG(LOAD_INT, 2), BARE(NUM_LT), LOCAL(JUMP_IF_FALSE, 10),
    ARG(GET_SLOT, 1), ARG(ARRAY_PUSH, 0),
    ARG(GET_SLOT, 1), BARE(INC), ARG(SET_SLOT, 1), LOCAL(JUMP, 0)};

typedef struct expansion {
    const fvm_unfused_op *ops;
    uint8_t len;
} expansion;

#define ENTRY(E, seq) [FVM_OP_##E] = {seq, sizeof seq / sizeof seq[0]}
static const expansion expansions[FVM_OP_COUNT] = {
    ENTRY(PRE_INC_SLOT, pre_inc_slot),
    ENTRY(SLOT_LT_INT_JUMP_IF_FALSE, slot_lt_int_jump_if_false),
    ENTRY(SLOT_INC_LT_INT_JUMP_BACK, slot_inc_lt_int_jump_back),
    ENTRY(ACCUM_SUM_LOOP, accum_sum_loop),
    ENTRY(CONCAT_CONST_LOOP, concat_const_loop),
    ENTRY(PUSH_INT_RANGE_LOOP, push_int_range_loop),
    ENTRY(ADD_ASSIGN_SLOT_VOID, add_assign_slot_void),
    ENTRY(PRE_INC_SLOT_VOID, pre_inc_slot_void),
    ENTRY(PRE_DEC_SLOT, pre_dec_slot),
    ENTRY(POST_INC_SLOT, post_inc_slot),
    ENTRY(POST_DEC_SLOT, post_dec_slot),
};
#undef ENTRY

const fvm_unfused_op *fvm_fused_expansion(unsigned code, size_t *len)
{
    if (code >= FVM_OP_COUNT || !expansions[code].ops) {
        *len = 0;
        return NULL;
    }
    *len = expansions[code].len;
    return expansions[code].ops;
}

size_t fvm_fused_expand(const fvm_op *op, uint32_t base, fvm_op *out)
{
    size_t len;
    const fvm_unfused_op *seq = fvm_fused_expansion(op->code, &len);
    const fvm_format_info *from = seq ? fvm_op_operands(op->code) : NULL;
    for (size_t i = 0; i < len; i++) {
        fvm_op o = {seq[i].code, 0, 0, 0, {0}};
        const fvm_format_info *to = fvm_op_operands(seq[i].code);
        if (seq[i].arg >= 0)
            fvm_operand_set(&o, to->operand[0].field,
                            fvm_operand_get(op, from->operand[seq[i].arg].field));
        else if (seq[i].local >= 0)
            fvm_operand_set(&o, to->operand[0].field, (uint64_t)base + (uint64_t)seq[i].local);
        out[i] = o;
    }
    return len;
}
