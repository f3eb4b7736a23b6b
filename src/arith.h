/* The meaning of the numeric and comparison ops on arbitrary values. The
 * interpreter inlines what these compute for Ints and Floats (its fast
 * paths) and calls these for the rest; JIT tiers call the same functions,
 * so there is one definition of each op. Arguments are borrowed; results
 * are owned. */
#ifndef FVM_ARITH_H
#define FVM_ARITH_H

#include "value.h"

/* Wrapping two's-complement arithmetic on int64 without signed overflow. */
static inline int64_t fvm_wrap_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static inline int64_t fvm_wrap_sub(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static inline int64_t fvm_wrap_mul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }
static inline int64_t fvm_wrap_neg(int64_t a) { return (int64_t)(0 - (uint64_t)a); }

/* Int % Int as the Mod op defines it: by zero is 0; the sign follows the
 * dividend; INT64_MIN % -1 is 0 instead of a trap. */
static inline int64_t fvm_int_mod(int64_t a, int64_t b)
{
    if (b == 0 || b == -1)
        return 0;
    return a % b;
}

/* NumEq..NumGe (code is the opcode) on two numbers of one C type. */
#define FVM_NUM_COMPARE(code, x, y)                                                                \
    ((code) == FVM_OP_NUM_EQ   ? (x) == (y)                                                        \
     : (code) == FVM_OP_NUM_NE ? (x) != (y)                                                        \
     : (code) == FVM_OP_NUM_LT ? (x) < (y)                                                         \
     : (code) == FVM_OP_NUM_GT ? (x) > (y)                                                         \
     : (code) == FVM_OP_NUM_LE ? (x) <= (y)                                                        \
                               : (x) >= (y))

/* Add, Sub, Mul, Mod when not both operands are Int (or when they are). */
fvm_value fvm_arith_add(fvm_value a, fvm_value b);
fvm_value fvm_arith_sub(fvm_value a, fvm_value b);
fvm_value fvm_arith_mul(fvm_value a, fvm_value b);
fvm_value fvm_arith_mod(fvm_value a, fvm_value b);
/* Div: always Float; a zero divisor gives Undef. */
fvm_value fvm_arith_div(fvm_value a, fvm_value b);
/* Pow: always Float. */
fvm_value fvm_arith_pow(fvm_value a, fvm_value b);
fvm_value fvm_arith_negate(fvm_value a);

/* NumEq..NumGe (code is the opcode): Int/Int exact, else IEEE on to_float. */
bool fvm_num_compare(unsigned code, fvm_value a, fvm_value b);
/* Spaceship: -1/0/1; unordered floats give 0. */
int64_t fvm_spaceship(fvm_value a, fvm_value b);
/* StrEq..StrGe and StrCmp on the string forms, byte-wise. */
int fvm_str_compare(fvm_value a, fvm_value b);

/* MulModFloor / MulAddModFloor: floored remainder of a*b (+c) by k. */
fvm_value fvm_mul_mod_floor(fvm_value a, fvm_value b, fvm_value k);
fvm_value fvm_mul_add_mod_floor(fvm_value a, fvm_value b, fvm_value c, fvm_value k);

/* Unsigned gcd / saturating lcm of absolute values. */
int64_t fvm_gcd_int(int64_t a, int64_t b);
int64_t fvm_lcm_int(int64_t a, int64_t b);

#endif
