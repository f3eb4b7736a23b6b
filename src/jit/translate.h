/* The op-to-IR translator every tier that abstractly interprets bytecode
 * uses (linear, block, and the tiers to come).
 *
 * It turns one op into IR given the kinds of its operands, never their
 * values: the abstract operand stack holds typed values (an IR value and
 * the language kind the interpreter would give it), and each op is typed
 * exactly as the interpreter dispatches (arith.c): Int/Int arithmetic
 * wraps, any other pair goes through to_float (Bool as 0/1, Undef as 0);
 * Div and Pow are Float; comparisons are Bool; LogNot counts NaN as true;
 * bitwise ops and the fused slot ops go through to_int. Because it works
 * from kinds alone, an ahead-of-time compiler can drive it too.
 *
 * What differs between tiers is behind hooks: where a slot's value lives
 * (the linear tier loads it from the caller's array, the block tier keeps
 * it in an IR variable), what a guard's snapshot holds, and control flow
 * (only the block tier has jumps). Which ops reach the translator is
 * decided by the JIT op table (jitop.h); its class picks the translation. */
#ifndef FVM_JIT_TRANSLATE_H
#define FVM_JIT_TRANSLATE_H

#include <stdbool.h>
#include <stdint.h>

#include "chunk.h"
#include "jit/ir.h"

/* A value's kind. Int and Bool travel as I64 (Bool 0/1), Float as F64,
 * Undef as the constant 0; "other" (a string, an array...) has no native
 * form. The numbers are stored in the disk cache's metadata. */
typedef enum fvm_jit_kind {
    FVM_JK_INT = 1,
    FVM_JK_FLOAT,
    FVM_JK_BOOL,
    FVM_JK_UNDEF,
    FVM_JK_OTHER
} fvm_jit_kind;

fvm_jit_kind fvm_jit_kind_of(fvm_value v);
/* Whether values of kind k have a native form (Int, Float, Bool). */
static inline bool fvm_jit_kind_numeric(uint8_t k)
{
    return k == FVM_JK_INT || k == FVM_JK_FLOAT || k == FVM_JK_BOOL;
}
/* The IR type values of kind k travel in. */
static inline fvm_ir_type fvm_jit_kind_ir(uint8_t k)
{
    return k == FVM_JK_FLOAT ? FVM_IR_F64 : FVM_IR_I64;
}
/* The interpreter's value of kind k whose payload word is bits (Undef for
 * a kind without a native form). */
fvm_value fvm_jit_kind_value(uint8_t k, int64_t bits);

/* A typed value: the IR value, its kind, and the tier's note of where it
 * came from (the block tier: the stack variable it was read from
 * unchanged; -1 for every value the translator makes). */
typedef struct fvm_tv {
    fvm_ir_ref r;
    uint8_t k; /* fvm_jit_kind */
    int32_t var;
} fvm_tv;

typedef struct fvm_tr fvm_tr;

/* What a tier supplies. A hook that returns false has either made the
 * compile decline (it set t->why) or left native code for good at this op
 * (it set t->dead); the translator stops the op either way. */
typedef struct fvm_tr_hooks {
    /* The current value of slot k. */
    bool (*slot_get)(fvm_tr *t, uint16_t k, fvm_tv *out);
    /* Make v the current value of slot k. */
    void (*slot_set)(fvm_tr *t, uint16_t k, fvm_tv v);
    /* The same for global variable g, in a tier whose ops include them
     * (the tracing tier; NULL elsewhere). */
    bool (*global_get)(fvm_tr *t, uint16_t g, fvm_tv *out);
    void (*global_set)(fvm_tr *t, uint16_t g, fvm_tv v);
    /* Leave native code before the current op, with the state before it
     * (the stack as it stands, the slots as written so far), unless cond
     * is 1; cond 0 leaves always. reason says why, for the exit's count. */
    bool (*guard)(fvm_tr *t, fvm_ir_ref cond, fvm_jit_reason reason);
    /* Control flow, for tiers with jumps: continue at target; or at target
     * when cond is `when` and at the next op otherwise. */
    bool (*jump)(fvm_tr *t, uint32_t target);
    bool (*branch)(fvm_tr *t, fvm_ir_ref cond, bool when, uint32_t target);
} fvm_tr_hooks;

struct fvm_tr {
    fvm_ir_func *f;
    const fvm_chunk *c;
    const fvm_tr_hooks *hooks;
    void *tier;            /* the tier's own state, for its hooks */
    fvm_tv *stack;         /* the abstract operand stack: max_depth entries */
    uint32_t depth, max_depth;
    uint32_t ip;           /* the op being translated */
    bool dead;             /* the rest of the block is unreachable: the op
                              jumped, or left native code for good */
    fvm_jit_reason why;    /* set when the compile must decline */
};

/* A translator over f for chunk c, with the tier's hooks and state and
 * its stack array of max_depth entries. */
void fvm_tr_init(fvm_tr *t, fvm_ir_func *f, const fvm_chunk *c, const fvm_tr_hooks *hooks,
                 void *tier, fvm_tv *stack, uint32_t max_depth);

/* Translate op (at t->ip). False when the compile must decline (t->why
 * says why); true otherwise, with t->dead set if control left the block. */
bool fvm_tr_op(fvm_tr *t, const fvm_op *op);

/* Decline the compile for reason r (the first reason given stays); false. */
bool fvm_tr_decline(fvm_tr *t, fvm_jit_reason r);

/* Push a value the translator did not make (a tier loading its state). */
void fvm_tr_push(fvm_tr *t, fvm_ir_ref r, uint8_t k, int32_t var);


#endif
