/* The block tier (see block.h). */
#include "jit/block.h"

bool fvm_block_op_ok(const fvm_chunk *c, size_t ip)
{
    const fvm_op *op = &c->ops[ip];
    switch (op->code) {
    case FVM_OP_LOAD_CONST: {
        uint32_t t = c->consts[op->a].type;
        return t == FVM_T_INT || t == FVM_T_FLOAT || t == FVM_T_BOOL || t == FVM_T_UNDEF;
    }
    case FVM_OP_NOP: case FVM_OP_LOAD_INT: case FVM_OP_LOAD_FLOAT: case FVM_OP_LOAD_TRUE:
    case FVM_OP_LOAD_FALSE: case FVM_OP_LOAD_UNDEF: case FVM_OP_POP: case FVM_OP_DUP:
    case FVM_OP_DUP2: case FVM_OP_SWAP: case FVM_OP_ROT: case FVM_OP_GET_SLOT: case FVM_OP_SET_SLOT:
    case FVM_OP_ADD: case FVM_OP_SUB: case FVM_OP_MUL: case FVM_OP_DIV: case FVM_OP_MOD:
    case FVM_OP_POW: case FVM_OP_NEGATE: case FVM_OP_INC: case FVM_OP_DEC: case FVM_OP_NUM_EQ:
    case FVM_OP_NUM_NE: case FVM_OP_NUM_LT: case FVM_OP_NUM_GT: case FVM_OP_NUM_LE:
    case FVM_OP_NUM_GE: case FVM_OP_SPACESHIP: case FVM_OP_LOG_NOT: case FVM_OP_BIT_AND:
    case FVM_OP_BIT_OR: case FVM_OP_BIT_XOR: case FVM_OP_BIT_NOT: case FVM_OP_SHL: case FVM_OP_SHR:
    case FVM_OP_PRE_INC_SLOT: case FVM_OP_PRE_INC_SLOT_VOID: case FVM_OP_PRE_DEC_SLOT:
    case FVM_OP_POST_INC_SLOT: case FVM_OP_POST_DEC_SLOT: case FVM_OP_ADD_ASSIGN_SLOT_VOID:
    case FVM_OP_TRUNC_INT: case FVM_OP_POW_FLOAT: case FVM_OP_SQRT_FLOAT: case FVM_OP_SIN_FLOAT:
    case FVM_OP_COS_FLOAT: case FVM_OP_EXP_FLOAT: case FVM_OP_ATAN2_FLOAT: case FVM_OP_LOG_FLOAT:
    case FVM_OP_ABS_FLOAT: case FVM_OP_CEIL_FLOAT: case FVM_OP_FLOOR_FLOAT: case FVM_OP_TRUNC_FLOAT:
    case FVM_OP_ROUND_FLOAT: case FVM_OP_TAN_FLOAT: case FVM_OP_ASIN_FLOAT: case FVM_OP_ACOS_FLOAT:
    case FVM_OP_ATAN_FLOAT: case FVM_OP_SINH_FLOAT: case FVM_OP_COSH_FLOAT: case FVM_OP_TANH_FLOAT:
    case FVM_OP_LOG2_FLOAT: case FVM_OP_LOG10_FLOAT: case FVM_OP_JUMP: case FVM_OP_JUMP_IF_TRUE:
    case FVM_OP_JUMP_IF_FALSE: case FVM_OP_JUMP_IF_TRUE_KEEP: case FVM_OP_JUMP_IF_FALSE_KEEP:
    case FVM_OP_SLOT_LT_INT_JUMP_IF_FALSE: case FVM_OP_SLOT_INC_LT_INT_JUMP_BACK:
    case FVM_OP_ACCUM_SUM_LOOP: case FVM_OP_AWK_DIV_JIT: case FVM_OP_AWK_MOD_JIT:
        return true;
    default:
        return false;
    }
}
