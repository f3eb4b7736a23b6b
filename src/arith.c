/* Numeric and comparison op semantics on arbitrary values (see arith.h). */
#include "arith.h"

#include <math.h>

static bool both_int(fvm_value a, fvm_value b)
{
    return a.type == FVM_T_INT && b.type == FVM_T_INT;
}

fvm_value fvm_arith_add(fvm_value a, fvm_value b)
{
    if (both_int(a, b))
        return fvm_int(fvm_wrap_add(a.as.i, b.as.i));
    return fvm_float(fvm_to_float(a) + fvm_to_float(b));
}

fvm_value fvm_arith_sub(fvm_value a, fvm_value b)
{
    if (both_int(a, b))
        return fvm_int(fvm_wrap_sub(a.as.i, b.as.i));
    return fvm_float(fvm_to_float(a) - fvm_to_float(b));
}

fvm_value fvm_arith_mul(fvm_value a, fvm_value b)
{
    if (both_int(a, b))
        return fvm_int(fvm_wrap_mul(a.as.i, b.as.i));
    return fvm_float(fvm_to_float(a) * fvm_to_float(b));
}

fvm_value fvm_arith_mod(fvm_value a, fvm_value b)
{
    if (both_int(a, b))
        return fvm_int(fvm_int_mod(a.as.i, b.as.i));
    return fvm_float(fmod(fvm_to_float(a), fvm_to_float(b)));
}

fvm_value fvm_arith_div(fvm_value a, fvm_value b)
{
    double d = fvm_to_float(b);
    if (d == 0.0)
        return fvm_undef();
    return fvm_float(fvm_to_float(a) / d);
}

fvm_value fvm_arith_pow(fvm_value a, fvm_value b)
{
    return fvm_float(pow(fvm_to_float(a), fvm_to_float(b)));
}

fvm_value fvm_arith_negate(fvm_value a)
{
    if (a.type == FVM_T_INT)
        return fvm_int(fvm_wrap_neg(a.as.i));
    return fvm_float(-fvm_to_float(a));
}

bool fvm_num_compare(unsigned code, fvm_value a, fvm_value b)
{
    if (both_int(a, b))
        return FVM_NUM_COMPARE(code, a.as.i, b.as.i);
    double x = fvm_to_float(a), y = fvm_to_float(b);
    return FVM_NUM_COMPARE(code, x, y);
}

int64_t fvm_spaceship(fvm_value a, fvm_value b)
{
    if (both_int(a, b))
        return (a.as.i > b.as.i) - (a.as.i < b.as.i);
    double x = fvm_to_float(a), y = fvm_to_float(b);
    return (x > y) - (x < y);
}

int fvm_str_compare(fvm_value a, fvm_value b)
{
    fvm_string *x = fvm_value_to_str(a), *y = fvm_value_to_str(b);
    int c = fvm_bytes_cmp(x->data, x->len, y->data, y->len);
    fvm_release(fvm_str_value(x));
    fvm_release(fvm_str_value(y));
    return c;
}

/* Floored remainder of a 128-bit value by k (k != 0): the sign of k. */
static int64_t floor_mod128(__int128 v, int64_t k)
{
    __int128 r = v % k;
    if (r != 0 && ((r < 0) != (k < 0)))
        r += k;
    return (int64_t)r;
}

/* For non-Int operands the ops replay Mul (Add) and Mod on values, then
 * floor-correct the remainder, as upstream does: only for an Int or a Bool
 * divisor (true counts as 1, false as 0, which leaves the remainder), where
 * an Int or Float remainder whose sign differs from the divisor's moves by
 * one divisor and a zero Float remainder becomes +0.0. Any other divisor
 * (a Status, a Float, a string...) leaves Mod's remainder as it is. */
static fvm_value floor_correct(fvm_value r, fvm_value k)
{
    if (k.type != FVM_T_INT && k.type != FVM_T_BOOL)
        return r;
    int64_t m = k.type == FVM_T_INT ? k.as.i : k.as.b;
    if (r.type == FVM_T_INT) {
        int64_t x = r.as.i;
        if (m != 0 && x != 0 && ((x < 0) != (m < 0)))
            return fvm_int(fvm_wrap_add(x, m));
        return r;
    }
    double x = fvm_to_float(r);
    if (m == 0)
        return r;
    if (x == 0.0)
        return fvm_float(0.0);
    if ((x < 0) != (m < 0))
        return fvm_float(x + (double)m);
    return r;
}

fvm_value fvm_mul_mod_floor(fvm_value a, fvm_value b, fvm_value k)
{
    if (both_int(a, b) && k.type == FVM_T_INT) {
        if (k.as.i == 0)
            return fvm_int(0);
        return fvm_int(floor_mod128((__int128)a.as.i * b.as.i, k.as.i));
    }
    return floor_correct(fvm_arith_mod(fvm_arith_mul(a, b), k), k);
}

fvm_value fvm_mul_add_mod_floor(fvm_value a, fvm_value b, fvm_value c, fvm_value k)
{
    if (both_int(a, b) && c.type == FVM_T_INT && k.type == FVM_T_INT) {
        if (k.as.i == 0)
            return fvm_int(0);
        return fvm_int(floor_mod128((__int128)a.as.i * b.as.i + c.as.i, k.as.i));
    }
    return floor_correct(fvm_arith_mod(fvm_arith_add(fvm_arith_mul(a, b), c), k), k);
}

static uint64_t uabs(int64_t x)
{
    return x < 0 ? 0 - (uint64_t)x : (uint64_t)x;
}

static uint64_t ugcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

int64_t fvm_gcd_int(int64_t a, int64_t b)
{
    return (int64_t)ugcd(uabs(a), uabs(b));
}

int64_t fvm_lcm_int(int64_t a, int64_t b)
{
    uint64_t x = uabs(a), y = uabs(b);
    if (x == 0 || y == 0)
        return 0;
    unsigned __int128 l = (unsigned __int128)(x / ugcd(x, y)) * y;
    return l > INT64_MAX ? INT64_MAX : (int64_t)l;
}
