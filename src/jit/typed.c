/* The numeric ops over typed IR values (see typed.h). */
#include "jit/typed.h"

#include "jit/helpers.h"

fvm_jit_kind fvm_jit_kind_of(fvm_value v)
{
    switch (v.type) {
    case FVM_T_INT: return FVM_JK_INT;
    case FVM_T_FLOAT: return FVM_JK_FLOAT;
    case FVM_T_BOOL: return FVM_JK_BOOL;
    case FVM_T_UNDEF: return FVM_JK_UNDEF;
    default: return FVM_JK_OTHER;
    }
}

fvm_tv fvm_tv_const(fvm_ir_func *f, fvm_value v)
{
    fvm_jit_kind k = fvm_jit_kind_of(v);
    if (k == FVM_JK_FLOAT)
        return (fvm_tv){fvm_ir_const_f(f, v.as.f), k};
    if (k == FVM_JK_BOOL)
        return (fvm_tv){fvm_ir_emit(f, FVM_IR_CONST_I, FVM_IR_BOOL, NULL, 0, v.as.b, 0), k};
    return (fvm_tv){fvm_ir_const_i(f, k == FVM_JK_INT ? v.as.i : 0), k};
}

fvm_ir_ref fvm_tv_to_float(fvm_ir_func *f, fvm_tv v)
{
    if (v.k == FVM_JK_UNDEF)
        return fvm_ir_const_f(f, 0.0);
    return v.k == FVM_JK_FLOAT ? v.r : fvm_ir_op1(f, FVM_IR_I2F, FVM_IR_F64, v.r);
}

fvm_ir_ref fvm_tv_to_int(fvm_ir_func *f, fvm_tv v)
{
    if (v.k == FVM_JK_UNDEF)
        return fvm_ir_const_i(f, 0);
    return v.k == FVM_JK_FLOAT ? fvm_ir_op1(f, FVM_IR_F2I, FVM_IR_I64, v.r) : v.r;
}

fvm_ir_ref fvm_tv_truth(fvm_ir_func *f, fvm_tv v)
{
    if (v.k == FVM_JK_FLOAT)
        return fvm_ir_cmp(f, FVM_IR_FCMP, FVM_IR_NE, v.r, fvm_ir_const_f(f, 0.0));
    return v.k == FVM_JK_UNDEF ? fvm_ir_const_i(f, 0) : v.r;
}

/* The helper of a Float op on to_float operands; 0 if code is none. */
static uint32_t float_helper(unsigned code)
{
    switch (code) {
    case FVM_OP_POW: case FVM_OP_POW_FLOAT: return FVM_JIT_HELPER_POW;
    case FVM_OP_ATAN2_FLOAT: return FVM_JIT_HELPER_ATAN2;
    case FVM_OP_SIN_FLOAT: return FVM_JIT_HELPER_SIN;
    case FVM_OP_COS_FLOAT: return FVM_JIT_HELPER_COS;
    case FVM_OP_EXP_FLOAT: return FVM_JIT_HELPER_EXP;
    case FVM_OP_LOG_FLOAT: return FVM_JIT_HELPER_LOG;
    case FVM_OP_CEIL_FLOAT: return FVM_JIT_HELPER_CEIL;
    case FVM_OP_FLOOR_FLOAT: return FVM_JIT_HELPER_FLOOR;
    case FVM_OP_TRUNC_FLOAT: return FVM_JIT_HELPER_TRUNC;
    case FVM_OP_ROUND_FLOAT: return FVM_JIT_HELPER_ROUND;
    case FVM_OP_TAN_FLOAT: return FVM_JIT_HELPER_TAN;
    case FVM_OP_ASIN_FLOAT: return FVM_JIT_HELPER_ASIN;
    case FVM_OP_ACOS_FLOAT: return FVM_JIT_HELPER_ACOS;
    case FVM_OP_ATAN_FLOAT: return FVM_JIT_HELPER_ATAN;
    case FVM_OP_SINH_FLOAT: return FVM_JIT_HELPER_SINH;
    case FVM_OP_COSH_FLOAT: return FVM_JIT_HELPER_COSH;
    case FVM_OP_TANH_FLOAT: return FVM_JIT_HELPER_TANH;
    case FVM_OP_LOG2_FLOAT: return FVM_JIT_HELPER_LOG2;
    case FVM_OP_LOG10_FLOAT: return FVM_JIT_HELPER_LOG10;
    case FVM_OP_AWK_SIN: return FVM_JIT_HELPER_AWK_SIN;
    case FVM_OP_AWK_COS: return FVM_JIT_HELPER_AWK_COS;
    case FVM_OP_AWK_EXP: return FVM_JIT_HELPER_AWK_EXP;
    case FVM_OP_AWK_ATAN2: return FVM_JIT_HELPER_AWK_ATAN2;
    default: return 0;
    }
}

bool fvm_tv_has_op(unsigned code)
{
    switch (code) {
    case FVM_OP_ADD: case FVM_OP_SUB: case FVM_OP_MUL: case FVM_OP_MOD: case FVM_OP_NEGATE:
    case FVM_OP_INC: case FVM_OP_DEC: case FVM_OP_NUM_EQ: case FVM_OP_NUM_NE: case FVM_OP_NUM_LT:
    case FVM_OP_NUM_GT: case FVM_OP_NUM_LE: case FVM_OP_NUM_GE: case FVM_OP_SPACESHIP:
    case FVM_OP_LOG_NOT: case FVM_OP_BIT_AND: case FVM_OP_BIT_OR: case FVM_OP_BIT_XOR:
    case FVM_OP_SHL: case FVM_OP_SHR: case FVM_OP_BIT_NOT: case FVM_OP_TRUNC_INT:
    case FVM_OP_ABS_FLOAT: case FVM_OP_SQRT_FLOAT: case FVM_OP_AWK_AND: case FVM_OP_AWK_OR:
    case FVM_OP_AWK_XOR:
        return true;
    default:
        return float_helper(code) != 0;
    }
}

static fvm_tv tv(fvm_ir_ref r, fvm_jit_kind k) { return (fvm_tv){r, (uint8_t)k}; }

static bool both_int(const fvm_tv *a) { return a[0].k == FVM_JK_INT && a[1].k == FVM_JK_INT; }

static fvm_ir_ref compare(fvm_ir_func *f, fvm_ir_cond cond, const fvm_tv *a)
{
    if (both_int(a))
        return fvm_ir_cmp(f, FVM_IR_ICMP, cond, a[0].r, a[1].r);
    return fvm_ir_cmp(f, FVM_IR_FCMP, cond, fvm_tv_to_float(f, a[0]), fvm_tv_to_float(f, a[1]));
}

static fvm_tv arith(fvm_ir_func *f, unsigned code, const fvm_tv *a)
{
    static const fvm_ir_op iops[] = {FVM_IR_ADD, FVM_IR_SUB, FVM_IR_MUL};
    static const fvm_ir_op fops[] = {FVM_IR_FADD, FVM_IR_FSUB, FVM_IR_FMUL};
    unsigned k = code - FVM_OP_ADD;
    if (both_int(a))
        return tv(fvm_ir_op2(f, iops[k], FVM_IR_I64, a[0].r, a[1].r), FVM_JK_INT);
    return tv(fvm_ir_op2(f, fops[k], FVM_IR_F64, fvm_tv_to_float(f, a[0]), fvm_tv_to_float(f, a[1])),
              FVM_JK_FLOAT);
}

static fvm_tv float_call(fvm_ir_func *f, uint32_t helper, const fvm_tv *a, unsigned n)
{
    fvm_ir_ref args[2];
    for (unsigned i = 0; i < n; i++)
        args[i] = fvm_tv_to_float(f, a[i]);
    return tv(fvm_ir_call(f, helper, args, n), FVM_JK_FLOAT);
}

/* and/or/xor of n operands, each to_float then to an integer (saturating,
 * NaN 0), as awk.c folds them. */
static fvm_tv awk_bitfold(fvm_ir_func *f, unsigned code, const fvm_tv *a, unsigned n)
{
    fvm_ir_op op = code == FVM_OP_AWK_AND ? FVM_IR_AND : code == FVM_OP_AWK_OR ? FVM_IR_OR : FVM_IR_XOR;
    fvm_ir_ref acc = 0;
    for (unsigned i = 0; i < n; i++) {
        fvm_ir_ref x = fvm_ir_op1(f, FVM_IR_F2I, FVM_IR_I64, fvm_tv_to_float(f, a[i]));
        acc = i ? fvm_ir_op2(f, op, FVM_IR_I64, acc, x) : x;
    }
    return tv(acc, FVM_JK_INT);
}

static fvm_tv bitwise(fvm_ir_func *f, unsigned code, const fvm_tv *a)
{
    fvm_ir_op op = code == FVM_OP_BIT_AND ? FVM_IR_AND
                 : code == FVM_OP_BIT_OR  ? FVM_IR_OR
                 : code == FVM_OP_BIT_XOR ? FVM_IR_XOR
                 : code == FVM_OP_SHL     ? FVM_IR_SHL
                                          : FVM_IR_SAR;
    return tv(fvm_ir_op2(f, op, FVM_IR_I64, fvm_tv_to_int(f, a[0]), fvm_tv_to_int(f, a[1])),
              FVM_JK_INT);
}

fvm_tv fvm_tv_op(fvm_ir_func *f, unsigned code, const fvm_tv *a, unsigned n)
{
    switch (code) {
    case FVM_OP_ADD: case FVM_OP_SUB: case FVM_OP_MUL: return arith(f, code, a);
    case FVM_OP_MOD:
        if (both_int(a))
            return tv(fvm_ir_op2(f, FVM_IR_MOD, FVM_IR_I64, a[0].r, a[1].r), FVM_JK_INT);
        return float_call(f, FVM_JIT_HELPER_FMOD, a, 2);
    case FVM_OP_NEGATE:
        if (a[0].k == FVM_JK_INT)
            return tv(fvm_ir_op1(f, FVM_IR_NEG, FVM_IR_I64, a[0].r), FVM_JK_INT);
        return tv(fvm_ir_op1(f, FVM_IR_FNEG, FVM_IR_F64, fvm_tv_to_float(f, a[0])), FVM_JK_FLOAT);
    case FVM_OP_INC: case FVM_OP_DEC:
        return tv(fvm_ir_op2(f, FVM_IR_ADD, FVM_IR_I64, fvm_tv_to_int(f, a[0]),
                             fvm_ir_const_i(f, code == FVM_OP_INC ? 1 : -1)), FVM_JK_INT);
    case FVM_OP_NUM_EQ: case FVM_OP_NUM_NE: case FVM_OP_NUM_LT: case FVM_OP_NUM_GT:
    case FVM_OP_NUM_LE: case FVM_OP_NUM_GE:
        return tv(compare(f, (fvm_ir_cond)(code - FVM_OP_NUM_EQ), a), FVM_JK_BOOL);
    case FVM_OP_SPACESHIP:
        return tv(fvm_ir_op2(f, FVM_IR_SUB, FVM_IR_I64, compare(f, FVM_IR_GT, a), compare(f, FVM_IR_LT, a)),
                  FVM_JK_INT);
    case FVM_OP_LOG_NOT: /* !truthy */
        if (a[0].k == FVM_JK_FLOAT)
            return tv(fvm_ir_cmp(f, FVM_IR_FCMP, FVM_IR_EQ, a[0].r, fvm_ir_const_f(f, 0.0)), FVM_JK_BOOL);
        return tv(fvm_ir_cmp(f, FVM_IR_ICMP, FVM_IR_EQ, fvm_tv_to_int(f, a[0]), fvm_ir_const_i(f, 0)),
                  FVM_JK_BOOL);
    case FVM_OP_BIT_AND: case FVM_OP_BIT_OR: case FVM_OP_BIT_XOR: case FVM_OP_SHL: case FVM_OP_SHR:
        return bitwise(f, code, a);
    case FVM_OP_BIT_NOT:
        return tv(fvm_ir_op1(f, FVM_IR_NOT, FVM_IR_I64, fvm_tv_to_int(f, a[0])), FVM_JK_INT);
    case FVM_OP_TRUNC_INT: return tv(fvm_tv_to_int(f, a[0]), FVM_JK_INT);
    case FVM_OP_ABS_FLOAT: case FVM_OP_SQRT_FLOAT:
        return tv(fvm_ir_op1(f, code == FVM_OP_ABS_FLOAT ? FVM_IR_FABS : FVM_IR_FSQRT, FVM_IR_F64,
                             fvm_tv_to_float(f, a[0])), FVM_JK_FLOAT);
    case FVM_OP_AWK_AND: case FVM_OP_AWK_OR: case FVM_OP_AWK_XOR: return awk_bitfold(f, code, a, n);
    default: {
        uint32_t h = float_helper(code);
        unsigned nargs = code == FVM_OP_POW || code == FVM_OP_POW_FLOAT || code == FVM_OP_ATAN2_FLOAT ||
                                 code == FVM_OP_AWK_ATAN2 ? 2 : 1;
        return float_call(f, h, a, nargs);
    }
    }
}
