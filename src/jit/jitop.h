/* What the JIT knows about each op: one row per op of FVM_OP_LIST, in the
 * same order, saying which tiers compile it and how it becomes IR. Every
 * tier's eligibility, the translator's dispatch and the test generators'
 * op lists are derived from this table; nothing else lists ops for the JIT.
 * Which operands are slots and whether an op jumps come from the op table
 * itself (operand formats, FVM_OPF_JUMP).
 *
 * Internal: which tier compiles what is not part of the public API.
 *
 * Adding an op to the op table without a row here fails to compile (the
 * checks at the end of jitop.c); adding it to a tier means setting its
 * tier bits and, where it needs new IR, one case in translate.c. */
#ifndef FVM_JIT_JITOP_H
#define FVM_JIT_JITOP_H

#include <stdbool.h>
#include <stdint.h>

#include "chunk.h"
#include "jit/helpers.h"
#include "opinfo.h"

/* How an op becomes IR (translate.h). */
typedef enum fvm_jit_class {
    FVM_JC_EXIT,       /* left to the interpreter, for the row's reason */
    FVM_JC_NOP,        /* nothing */
    FVM_JC_CONST,      /* pushes a constant */
    FVM_JC_STACK,      /* rearranges the operand stack */
    FVM_JC_NUMERIC,    /* a pure numeric op typed as the interpreter types it */
    FVM_JC_GUARDED,    /* a numeric op that leaves native code where the
                          interpreter would do what the code does not model
                          (a zero divisor, a result out of Int range) */
    FVM_JC_SLOT,       /* reads or writes a slot */
    FVM_JC_GLOBAL,     /* reads or writes a global variable (operand a) */
    FVM_JC_CALL,       /* a call or return: only a tier that inlines frames
                          (the tracing tier) takes it, and handles it itself */
    FVM_JC_SLOT_FUSED, /* a fused read-modify-write of slots */
    FVM_JC_LOOP_FUSED, /* a fused loop test or whole loop over slots */
    FVM_JC_JUMP,       /* an unconditional jump */
    FVM_JC_BRANCH,     /* pops a condition and jumps on its truth */
    FVM_JC_BRANCH_KEEP /* jumps on the top value's truth, keeping it */
} fvm_jit_class;

/* Tier sets, one bit per fvm_jit_tier. */
#define FVM_JT_NONE 0u
/* The tracing tier compiles every op the block tier does: both translate
 * ops through the same translator, and differ only in control flow. */
#define FVM_JT_B ((1u << FVM_JIT_BLOCK) | (1u << FVM_JIT_TRACE))
#define FVM_JT_LB ((1u << FVM_JIT_LINEAR) | FVM_JT_B)
/* Only the tracing tier: its code keeps global variables in registers,
 * since nothing else runs while a trace does. */
#define FVM_JT_T (1u << FVM_JIT_TRACE)

/* X(ENUM, tiers, class, helper, reason), each a suffix: tiers of FVM_JT_*,
 * class of FVM_JC_*, helper of FVM_JIT_HELPER_* (the helper computing the
 * Float form of a NUMERIC or GUARDED op; NONE: inline IR), reason of
 * FVM_JIT_REASON_* (why an EXIT op is left to the interpreter, or why the
 * tiers without the op's bit leave it; NONE: "only another tier"). */
#define FVM_JIT_OP_LIST(X) \
    X(NOP, B, NOP, NONE, NONE) \
    X(LOAD_INT, LB, CONST, NONE, NONE) \
    X(LOAD_FLOAT, LB, CONST, NONE, NONE) \
    X(LOAD_CONST, LB, CONST, NONE, NONE) \
    X(LOAD_TRUE, LB, CONST, NONE, NONE) \
    X(LOAD_FALSE, LB, CONST, NONE, NONE) \
    X(LOAD_UNDEF, B, CONST, NONE, NONE) \
    X(POP, LB, STACK, NONE, NONE) \
    X(DUP, LB, STACK, NONE, NONE) \
    X(DUP2, B, STACK, NONE, NONE) \
    X(SWAP, LB, STACK, NONE, NONE) \
    X(ROT, LB, STACK, NONE, NONE) \
    X(GET_VAR, T, GLOBAL, NONE, OP_GLOBAL) \
    X(SET_VAR, T, GLOBAL, NONE, OP_GLOBAL) \
    X(DECLARE_VAR, T, GLOBAL, NONE, OP_GLOBAL) \
    X(GET_SLOT, LB, SLOT, NONE, NONE) \
    X(SET_SLOT, LB, SLOT, NONE, NONE) \
    X(SLOT_ARRAY_GET, NONE, EXIT, NONE, OP_ARRAY) \
    X(SLOT_ARRAY_SET, NONE, EXIT, NONE, OP_ARRAY) \
    X(GET_ARRAY, NONE, EXIT, NONE, OP_ARRAY) \
    X(SET_ARRAY, NONE, EXIT, NONE, OP_ARRAY) \
    X(DECLARE_ARRAY, NONE, EXIT, NONE, OP_ARRAY) \
    X(ARRAY_GET, NONE, EXIT, NONE, OP_ARRAY) \
    X(ARRAY_SET, NONE, EXIT, NONE, OP_ARRAY) \
    X(ARRAY_PUSH, NONE, EXIT, NONE, OP_ARRAY) \
    X(ARRAY_POP, NONE, EXIT, NONE, OP_ARRAY) \
    X(ARRAY_SHIFT, NONE, EXIT, NONE, OP_ARRAY) \
    X(ARRAY_LEN, NONE, EXIT, NONE, OP_ARRAY) \
    X(MAKE_ARRAY, NONE, EXIT, NONE, OP_ARRAY) \
    X(GET_HASH, NONE, EXIT, NONE, OP_HASH) \
    X(SET_HASH, NONE, EXIT, NONE, OP_HASH) \
    X(DECLARE_HASH, NONE, EXIT, NONE, OP_HASH) \
    X(HASH_GET, NONE, EXIT, NONE, OP_HASH) \
    X(HASH_SET, NONE, EXIT, NONE, OP_HASH) \
    X(HASH_DELETE, NONE, EXIT, NONE, OP_HASH) \
    X(HASH_EXISTS, NONE, EXIT, NONE, OP_HASH) \
    X(HASH_KEYS, NONE, EXIT, NONE, OP_HASH) \
    X(HASH_VALUES, NONE, EXIT, NONE, OP_HASH) \
    X(MAKE_HASH, NONE, EXIT, NONE, OP_HASH) \
    X(ADD, LB, NUMERIC, NONE, NONE) \
    X(SUB, LB, NUMERIC, NONE, NONE) \
    X(MUL, LB, NUMERIC, NONE, NONE) \
    X(DIV, LB, GUARDED, NONE, NONE) \
    X(MOD, LB, NUMERIC, FMOD, NONE) \
    X(POW, LB, NUMERIC, POW, NONE) \
    X(NEGATE, LB, NUMERIC, NONE, NONE) \
    X(INC, LB, NUMERIC, NONE, NONE) \
    X(DEC, LB, NUMERIC, NONE, NONE) \
    X(CONCAT, NONE, EXIT, NONE, OP_STRING) \
    X(STRING_REPEAT, NONE, EXIT, NONE, OP_STRING) \
    X(STRING_LEN, NONE, EXIT, NONE, OP_STRING) \
    X(NUM_EQ, LB, NUMERIC, NONE, NONE) \
    X(NUM_NE, LB, NUMERIC, NONE, NONE) \
    X(NUM_LT, LB, NUMERIC, NONE, NONE) \
    X(NUM_GT, LB, NUMERIC, NONE, NONE) \
    X(NUM_LE, LB, NUMERIC, NONE, NONE) \
    X(NUM_GE, LB, NUMERIC, NONE, NONE) \
    X(SPACESHIP, LB, NUMERIC, NONE, NONE) \
    X(STR_EQ, NONE, EXIT, NONE, OP_STRING) \
    X(STR_NE, NONE, EXIT, NONE, OP_STRING) \
    X(STR_LT, NONE, EXIT, NONE, OP_STRING) \
    X(STR_GT, NONE, EXIT, NONE, OP_STRING) \
    X(STR_LE, NONE, EXIT, NONE, OP_STRING) \
    X(STR_GE, NONE, EXIT, NONE, OP_STRING) \
    X(STR_CMP, NONE, EXIT, NONE, OP_STRING) \
    X(LOG_NOT, LB, NUMERIC, NONE, NONE) \
    X(LOG_AND, NONE, EXIT, NONE, OP_OTHER) \
    X(LOG_OR, NONE, EXIT, NONE, OP_OTHER) \
    X(BIT_AND, LB, NUMERIC, NONE, NONE) \
    X(BIT_OR, LB, NUMERIC, NONE, NONE) \
    X(BIT_XOR, LB, NUMERIC, NONE, NONE) \
    X(BIT_NOT, LB, NUMERIC, NONE, NONE) \
    X(SHL, LB, NUMERIC, NONE, NONE) \
    X(SHR, LB, NUMERIC, NONE, NONE) \
    X(JUMP, B, JUMP, NONE, NONE) \
    X(JUMP_IF_TRUE, B, BRANCH, NONE, NONE) \
    X(JUMP_IF_FALSE, B, BRANCH, NONE, NONE) \
    X(JUMP_IF_TRUE_KEEP, B, BRANCH_KEEP, NONE, NONE) \
    X(JUMP_IF_FALSE_KEEP, B, BRANCH_KEEP, NONE, NONE) \
    X(CALL, T, CALL, NONE, OP_CALL) \
    X(RETURN, T, CALL, NONE, OP_CALL) \
    X(RETURN_VALUE, T, CALL, NONE, OP_CALL) \
    X(PUSH_FRAME, NONE, EXIT, NONE, OP_FRAME) \
    X(POP_FRAME, NONE, EXIT, NONE, OP_FRAME) \
    X(PRINT, NONE, EXIT, NONE, OP_IO) \
    X(PRINT_LN, NONE, EXIT, NONE, OP_IO) \
    X(READ_LINE, NONE, EXIT, NONE, OP_IO) \
    X(RANGE, NONE, EXIT, NONE, OP_ARRAY) \
    X(RANGE_STEP, NONE, EXIT, NONE, OP_ARRAY) \
    X(MAP_BLOCK, NONE, EXIT, NONE, OP_HIGHER_ORDER) \
    X(GREP_BLOCK, NONE, EXIT, NONE, OP_HIGHER_ORDER) \
    X(SORT_BLOCK, NONE, EXIT, NONE, OP_HIGHER_ORDER) \
    X(SORT_DEFAULT, NONE, EXIT, NONE, OP_HIGHER_ORDER) \
    X(FOR_EACH_BLOCK, NONE, EXIT, NONE, OP_HIGHER_ORDER) \
    X(PRE_INC_SLOT, LB, SLOT_FUSED, NONE, NONE) \
    X(SLOT_LT_INT_JUMP_IF_FALSE, B, LOOP_FUSED, NONE, NONE) \
    X(SLOT_INC_LT_INT_JUMP_BACK, B, LOOP_FUSED, NONE, NONE) \
    X(ACCUM_SUM_LOOP, B, LOOP_FUSED, NONE, NONE) \
    X(CONCAT_CONST_LOOP, NONE, EXIT, NONE, OP_STRING) \
    X(PUSH_INT_RANGE_LOOP, NONE, EXIT, NONE, OP_ARRAY) \
    X(ADD_ASSIGN_SLOT_VOID, LB, SLOT_FUSED, NONE, NONE) \
    X(PRE_INC_SLOT_VOID, LB, SLOT_FUSED, NONE, NONE) \
    X(PRE_DEC_SLOT, LB, SLOT_FUSED, NONE, NONE) \
    X(POST_INC_SLOT, LB, SLOT_FUSED, NONE, NONE) \
    X(POST_DEC_SLOT, LB, SLOT_FUSED, NONE, NONE) \
    X(CALL_BUILTIN, NONE, EXIT, NONE, OP_EXTENSION) \
    X(EXTENDED, NONE, EXIT, NONE, OP_EXTENSION) \
    X(EXTENDED_WIDE, NONE, EXIT, NONE, OP_EXTENSION) \
    X(EXEC, NONE, EXIT, NONE, OP_SHELL) \
    X(EXEC_BG, NONE, EXIT, NONE, OP_SHELL) \
    X(PIPELINE_BEGIN, NONE, EXIT, NONE, OP_SHELL) \
    X(PIPELINE_STAGE, NONE, EXIT, NONE, OP_SHELL) \
    X(PIPELINE_END, NONE, EXIT, NONE, OP_SHELL) \
    X(REDIRECT, NONE, EXIT, NONE, OP_SHELL) \
    X(HERE_DOC, NONE, EXIT, NONE, OP_SHELL) \
    X(HERE_STRING, NONE, EXIT, NONE, OP_SHELL) \
    X(CMD_SUBST, NONE, EXIT, NONE, OP_SHELL) \
    X(SUBSHELL_BEGIN, NONE, EXIT, NONE, OP_SHELL) \
    X(SUBSHELL_END, NONE, EXIT, NONE, OP_SHELL) \
    X(PROCESS_SUB_IN, NONE, EXIT, NONE, OP_SHELL) \
    X(PROCESS_SUB_OUT, NONE, EXIT, NONE, OP_SHELL) \
    X(GLOB, NONE, EXIT, NONE, OP_SHELL) \
    X(GLOB_RECURSIVE, NONE, EXIT, NONE, OP_SHELL) \
    X(TEST_FILE, NONE, EXIT, NONE, OP_SHELL) \
    X(SET_STATUS, NONE, EXIT, NONE, OP_SHELL) \
    X(GET_STATUS, NONE, EXIT, NONE, OP_SHELL) \
    X(TRAP_SET, NONE, EXIT, NONE, OP_SHELL) \
    X(TRAP_CHECK, NONE, EXIT, NONE, OP_SHELL) \
    X(EXPAND_PARAM, NONE, EXIT, NONE, OP_SHELL) \
    X(WORD_SPLIT, NONE, EXIT, NONE, OP_SHELL) \
    X(BRACE_EXPAND, NONE, EXIT, NONE, OP_SHELL) \
    X(TILDE_EXPAND, NONE, EXIT, NONE, OP_SHELL) \
    X(CALL_FUNCTION, NONE, EXIT, NONE, OP_SHELL) \
    X(STR_MATCH, NONE, EXIT, NONE, OP_SHELL) \
    X(REGEX_MATCH, NONE, EXIT, NONE, OP_SHELL) \
    X(WITH_REDIRECTS_BEGIN, NONE, EXIT, NONE, OP_SHELL) \
    X(WITH_REDIRECTS_END, NONE, EXIT, NONE, OP_SHELL) \
    X(AWK_FIELD_GET, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_FIELD_SET, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_NF, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_SET_RECORD, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_SPECIAL_GET, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_SPECIAL_SET, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_PRINT, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_PRINTF, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_SPRINTF, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_GETLINE, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_LENGTH, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_SUBSTR, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_INDEX, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_SPLIT, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_SUB, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_GSUB, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_MATCH, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_TO_LOWER, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_TO_UPPER, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_INT, B, GUARDED, TRUNC, NONE) \
    X(AWK_SQRT, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_SIN, B, NUMERIC, AWK_SIN, NONE) \
    X(AWK_COS, B, NUMERIC, AWK_COS, NONE) \
    X(AWK_EXP, B, NUMERIC, AWK_EXP, NONE) \
    X(AWK_LOG, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_ATAN2, B, NUMERIC, AWK_ATAN2, NONE) \
    X(AWK_DIV, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_MOD, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_DIV_JIT, B, GUARDED, NONE, NONE) \
    X(AWK_MOD_JIT, B, GUARDED, FMOD, NONE) \
    X(POW_FLOAT, LB, NUMERIC, POW, NONE) \
    X(SQRT_FLOAT, LB, NUMERIC, NONE, NONE) \
    X(SIN_FLOAT, LB, NUMERIC, SIN, NONE) \
    X(COS_FLOAT, LB, NUMERIC, COS, NONE) \
    X(EXP_FLOAT, LB, NUMERIC, EXP, NONE) \
    X(ATAN2_FLOAT, LB, NUMERIC, ATAN2, NONE) \
    X(LOG_FLOAT, LB, NUMERIC, LOG, NONE) \
    X(ABS_FLOAT, LB, NUMERIC, NONE, NONE) \
    X(TRUNC_INT, LB, NUMERIC, NONE, NONE) \
    X(AWK_ARRAY_GET, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_ARRAY_SET, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_ARRAY_EXISTS, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_ARRAY_DELETE, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_ARRAY_CLEAR, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_ARRAY_LEN, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_AND, B, NUMERIC, NONE, NONE) \
    X(AWK_OR, B, NUMERIC, NONE, NONE) \
    X(AWK_XOR, B, NUMERIC, NONE, NONE) \
    X(AWK_COMPL, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_LSHIFT, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_RSHIFT, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_STRTONUM, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_SYSTIME, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_RAND, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_SRAND, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_STRFTIME, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_MKTIME, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_ORD, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_CHR, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_MKBOOL, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_INTDIV, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_INTDIV0, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_GENSUB, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_SIGNAL, NONE, EXIT, NONE, OP_AWK) \
    X(RUBY_TRUTHY, NONE, EXIT, NONE, OP_OTHER) \
    X(AWK_SQRT_JIT, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_LOG_JIT, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_LSHIFT_JIT, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_RSHIFT_JIT, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_COMPL_JIT, NONE, EXIT, NONE, OP_AWK) \
    X(AWK_GET_FIELD_NUM, NONE, EXIT, NONE, OP_AWK) \
    X(CEIL_FLOAT, LB, NUMERIC, CEIL, NONE) \
    X(FLOOR_FLOAT, LB, NUMERIC, FLOOR, NONE) \
    X(TRUNC_FLOAT, LB, NUMERIC, TRUNC, NONE) \
    X(ROUND_FLOAT, LB, NUMERIC, ROUND, NONE) \
    X(TAN_FLOAT, LB, NUMERIC, TAN, NONE) \
    X(ASIN_FLOAT, LB, NUMERIC, ASIN, NONE) \
    X(ACOS_FLOAT, LB, NUMERIC, ACOS, NONE) \
    X(ATAN_FLOAT, LB, NUMERIC, ATAN, NONE) \
    X(SINH_FLOAT, LB, NUMERIC, SINH, NONE) \
    X(COSH_FLOAT, LB, NUMERIC, COSH, NONE) \
    X(TANH_FLOAT, LB, NUMERIC, TANH, NONE) \
    X(LOG2_FLOAT, LB, NUMERIC, LOG2, NONE) \
    X(LOG10_FLOAT, LB, NUMERIC, LOG10, NONE) \
    X(ABS_INT, NONE, EXIT, NONE, OP_OTHER) \
    X(GCD_INT, NONE, EXIT, NONE, OP_OTHER) \
    X(LCM_INT, NONE, EXIT, NONE, OP_OTHER) \
    X(TIME_INT, NONE, EXIT, NONE, OP_OTHER) \
    X(GO, NONE, EXIT, NONE, OP_SCHEDULER) \
    X(CHAN_MAKE, NONE, EXIT, NONE, OP_SCHEDULER) \
    X(CHAN_SEND, NONE, EXIT, NONE, OP_SCHEDULER) \
    X(CHAN_RECV, NONE, EXIT, NONE, OP_SCHEDULER) \
    X(CHAN_CLOSE, NONE, EXIT, NONE, OP_SCHEDULER) \
    X(SELECT, NONE, EXIT, NONE, OP_SCHEDULER) \
    X(CALL_DYNAMIC, NONE, EXIT, NONE, OP_CALL) \
    X(MUL_MOD_FLOOR, NONE, EXIT, NONE, OP_OTHER) \
    X(MUL_ADD_MOD_FLOOR, NONE, EXIT, NONE, OP_OTHER)

typedef struct fvm_jitop {
    uint8_t tiers;  /* FVM_JT_* bits */
    uint8_t cls;    /* fvm_jit_class */
    uint8_t helper; /* FVM_JIT_HELPER_*, 0: none */
    uint8_t reason; /* fvm_jit_reason, for EXIT ops */
} fvm_jitop;

extern const fvm_jitop fvm_jitop_table[FVM_OP_COUNT];

/* Most operands a variable-count op (AwkAnd/Or/Xor) may have in native
 * code: the translator folds them inline, one IR op each. */
#define FVM_JIT_MAX_VARIADIC 16

/* Whether tier t carries values of this type natively. Every tier carries
 * Int, Float and Bool; the block tier also carries Undef (as the constant
 * 0 with its own kind), because its slots start Undef in real programs. */
static inline bool fvm_jit_tier_carries(fvm_jit_tier t, uint32_t type)
{
    if (type == FVM_T_INT || type == FVM_T_FLOAT || type == FVM_T_BOOL)
        return true;
    return type == FVM_T_UNDEF && t == FVM_JIT_BLOCK;
}

/* Why tier t does not compile op ip of c (FVM_JIT_REASON_NONE if it does):
 * the op's row must name the tier, and the op's operands must be ones the
 * tier handles (a LoadConst of a kind it carries, a variable operand count
 * it folds). Inline: every tier asks it of every op of a chunk. */
static inline fvm_jit_reason fvm_jit_op_reason(fvm_jit_tier t, const fvm_chunk *c, size_t ip)
{
    const fvm_op *op = &c->ops[ip];
    const fvm_jitop *row = &fvm_jitop_table[op->code];
    if (!(row->tiers & (1u << t)))
        return row->reason != FVM_JIT_REASON_NONE ? (fvm_jit_reason)row->reason
                                                  : FVM_JIT_REASON_OP_OTHER_TIER;
    if (op->code == FVM_OP_LOAD_CONST && !fvm_jit_tier_carries(t, c->consts[op->a].type))
        return FVM_JIT_REASON_CONST_KIND;
    /* A compiled op with a variable operand count (AwkAnd/Or/Xor) has it in
     * operand a; a call's arguments stay on the stack for the callee. */
    if (fvm_opinfo_table[op->code].pop < 0 && row->cls != FVM_JC_CALL &&
        (op->a < 1 || op->a > FVM_JIT_MAX_VARIADIC))
        return FVM_JIT_REASON_VARIADIC;
    return FVM_JIT_REASON_NONE;
}

static inline bool fvm_jit_op_ok(fvm_jit_tier t, const fvm_chunk *c, size_t ip)
{
    return fvm_jit_op_reason(t, c, ip) == FVM_JIT_REASON_NONE;
}

/* The jump target of op, when it has one (FVM_OPF_JUMP). */
bool fvm_op_jump_target(const fvm_op *op, uint32_t *target);

/* The slot operands of op (operand kind FVM_K_SLOT), at most 2, in
 * operand order; returns how many. */
unsigned fvm_op_slots(const fvm_op *op, uint16_t out[2]);

#endif
