/* Typed values for the tiers that abstractly interpret bytecode (linear,
 * block): an IR value with the language kind the interpreter would give
 * it, and the numeric ops over them, typed exactly as the interpreter
 * dispatches (arith.c): Int/Int arithmetic wraps, any other pair goes
 * through to_float (Bool as 0/1, Undef as 0); Pow and the math functions
 * are Float; comparisons are Bool; LogNot counts NaN as true; bitwise ops
 * and Inc/Dec go through to_int.
 *
 * Ops that can leave native code (Div, the AWK divisions, AwkInt) need a
 * guard with a snapshot, which only the tier can describe: they are not
 * here. */
#ifndef FVM_JIT_TYPED_H
#define FVM_JIT_TYPED_H

#include <stdbool.h>
#include <stdint.h>

#include "fusevm.h"
#include "jit/ir.h"

/* A value's kind. Int and Bool travel as I64 (Bool 0/1), Float as F64,
 * Undef as the constant 0; "other" (a string, an array...) has no native
 * form. */
typedef enum fvm_jit_kind {
    FVM_JK_INT = 1,
    FVM_JK_FLOAT,
    FVM_JK_BOOL,
    FVM_JK_UNDEF,
    FVM_JK_OTHER
} fvm_jit_kind;

typedef struct fvm_tv {
    fvm_ir_ref r;
    uint8_t k; /* fvm_jit_kind */
} fvm_tv;

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

/* A constant of v's kind (v Int, Float, Bool or Undef). */
fvm_tv fvm_tv_const(fvm_ir_func *f, fvm_value v);
/* to_float and to_int of a value of a numeric kind or Undef. */
fvm_ir_ref fvm_tv_to_float(fvm_ir_func *f, fvm_tv v);
fvm_ir_ref fvm_tv_to_int(fvm_ir_func *f, fvm_tv v);
/* Truthiness as a value that is not 0 when true (NaN is true). */
fvm_ir_ref fvm_tv_truth(fvm_ir_func *f, fvm_tv v);

/* Whether fvm_tv_op computes op code. */
bool fvm_tv_has_op(unsigned code);
/* The result of op code on its operands args[0..pop) (in push order, all
 * of a numeric kind or Undef); n is the operand count of the AWK bit folds
 * (the op's operand), unused otherwise. */
fvm_tv fvm_tv_op(fvm_ir_func *f, unsigned code, const fvm_tv *args, unsigned n);

#endif
