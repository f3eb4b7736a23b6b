/* The JIT's SSA IR (folding, hash-consing, DCE, dump) and the register
 * allocator under pressure, checked by running the lowered code. */
#include <criterion/criterion.h>

#include <math.h>
#include <string.h>

#include "jit/helpers.h"
#include "jit/ir.h"
#include "jit/mcode.h"
#include "jit/ra.h"
#include "jit/x64_lower.h"

static fvm_ir_ref param(fvm_ir_func *f) { return fvm_ir_emit(f, FVM_IR_PARAM, FVM_IR_PTR, NULL, 0, 0, 0); }

static fvm_ir_ref load(fvm_ir_func *f, fvm_ir_ref base, fvm_ir_type t, int64_t off)
{
    return fvm_ir_emit(f, FVM_IR_LOAD, t, &base, 1, off, 0);
}

static void store(fvm_ir_func *f, fvm_ir_ref base, fvm_ir_ref v, int64_t off)
{
    fvm_ir_ref args[2] = {base, v};
    fvm_ir_emit(f, FVM_IR_STORE, FVM_IR_VOID, args, 2, off, 0);
}

static void ret(fvm_ir_func *f) { fvm_ir_emit(f, FVM_IR_RET, FVM_IR_VOID, NULL, 0, 0, 0); }

static int64_t cimm(const fvm_ir_func *f, fvm_ir_ref r)
{
    cr_assert(fvm_ir_is_const(f, r));
    return fvm_ir_get(f, r)->imm;
}

Test(jit_ir, folds_integer_constants_with_wrapping)
{
    fvm_ir_func f;
    fvm_ir_init(&f);
    fvm_ir_ref r = fvm_ir_op2(&f, FVM_IR_ADD, FVM_IR_I64, fvm_ir_const_i(&f, INT64_MAX), fvm_ir_const_i(&f, 1));
    cr_assert_eq(cimm(&f, r), INT64_MIN);
    r = fvm_ir_op2(&f, FVM_IR_MOD, FVM_IR_I64, fvm_ir_const_i(&f, INT64_MIN), fvm_ir_const_i(&f, -1));
    cr_assert_eq(cimm(&f, r), 0);
    r = fvm_ir_op2(&f, FVM_IR_SHL, FVM_IR_I64, fvm_ir_const_i(&f, 1), fvm_ir_const_i(&f, 65));
    cr_assert_eq(cimm(&f, r), 2);
    r = fvm_ir_cmp(&f, FVM_IR_ICMP, FVM_IR_LT, fvm_ir_const_i(&f, -1), fvm_ir_const_i(&f, 0));
    cr_assert_eq(cimm(&f, r), 1);
    cr_assert_eq(fvm_ir_get(&f, r)->type, FVM_IR_BOOL);
    fvm_ir_free(&f);
}

Test(jit_ir, folds_float_constants_and_float_to_int_like_the_interpreter)
{
    fvm_ir_func f;
    fvm_ir_init(&f);
    fvm_ir_ref nan = fvm_ir_const_f(&f, NAN);
    fvm_ir_ref r = fvm_ir_cmp(&f, FVM_IR_FCMP, FVM_IR_NE, nan, nan);
    cr_assert_eq(cimm(&f, r), 1);
    r = fvm_ir_cmp(&f, FVM_IR_FCMP, FVM_IR_EQ, nan, nan);
    cr_assert_eq(cimm(&f, r), 0);
    cr_assert_eq(cimm(&f, fvm_ir_op1(&f, FVM_IR_F2I, FVM_IR_I64, nan)), 0);
    cr_assert_eq(cimm(&f, fvm_ir_op1(&f, FVM_IR_F2I, FVM_IR_I64, fvm_ir_const_f(&f, 1e300))), INT64_MAX);
    cr_assert_eq(cimm(&f, fvm_ir_op1(&f, FVM_IR_F2I, FVM_IR_I64, fvm_ir_const_f(&f, -2.9))), -2);
    fvm_ir_ref args[2] = {fvm_ir_const_f(&f, 2.0), fvm_ir_const_f(&f, 10.0)};
    r = fvm_ir_call(&f, FVM_JIT_HELPER_POW, args, 2);
    double d;
    int64_t bits = cimm(&f, r);
    memcpy(&d, &bits, sizeof d);
    cr_assert_eq(d, 1024.0);
    fvm_ir_free(&f);
}

Test(jit_ir, reassociates_wrapping_integer_arithmetic)
{
    fvm_ir_func f;
    fvm_ir_init(&f);
    fvm_ir_ref x = load(&f, param(&f), FVM_IR_I64, 0);
    /* (x*3 + 5)*7 -> x*21 + 35 */
    fvm_ir_ref m = fvm_ir_op2(&f, FVM_IR_MUL, FVM_IR_I64, x, fvm_ir_const_i(&f, 3));
    fvm_ir_ref a = fvm_ir_op2(&f, FVM_IR_ADD, FVM_IR_I64, m, fvm_ir_const_i(&f, 5));
    fvm_ir_ref r = fvm_ir_op2(&f, FVM_IR_MUL, FVM_IR_I64, a, fvm_ir_const_i(&f, 7));
    const fvm_ir_inst *in = fvm_ir_get(&f, r);
    cr_assert_eq(in->op, FVM_IR_ADD);
    cr_assert_eq(cimm(&f, in->args[1]), 35);
    const fvm_ir_inst *mul = fvm_ir_get(&f, in->args[0]);
    cr_assert_eq(mul->op, FVM_IR_MUL);
    cr_assert_eq(mul->args[0], x);
    cr_assert_eq(cimm(&f, mul->args[1]), 21);
    /* (x + 1) - 1 -> x; 2 + x + 3 -> x + 5; x*1 -> x; x*0 -> 0 */
    fvm_ir_ref p = fvm_ir_op2(&f, FVM_IR_ADD, FVM_IR_I64, x, fvm_ir_const_i(&f, 1));
    cr_assert_eq(fvm_ir_op2(&f, FVM_IR_SUB, FVM_IR_I64, p, fvm_ir_const_i(&f, 1)), x);
    fvm_ir_ref q = fvm_ir_op2(&f, FVM_IR_ADD, FVM_IR_I64, fvm_ir_const_i(&f, 2), x);
    q = fvm_ir_op2(&f, FVM_IR_ADD, FVM_IR_I64, q, fvm_ir_const_i(&f, 3));
    cr_assert_eq(cimm(&f, fvm_ir_get(&f, q)->args[1]), 5);
    cr_assert_eq(fvm_ir_op2(&f, FVM_IR_MUL, FVM_IR_I64, x, fvm_ir_const_i(&f, 1)), x);
    cr_assert_eq(cimm(&f, fvm_ir_op2(&f, FVM_IR_MUL, FVM_IR_I64, x, fvm_ir_const_i(&f, 0))), 0);
    cr_assert_eq(cimm(&f, fvm_ir_op2(&f, FVM_IR_SUB, FVM_IR_I64, x, x)), 0);
    cr_assert_eq(cimm(&f, fvm_ir_op2(&f, FVM_IR_MOD, FVM_IR_I64, x, fvm_ir_const_i(&f, -1))), 0);
    fvm_ir_free(&f);
}

Test(jit_ir, never_reassociates_or_simplifies_floats)
{
    fvm_ir_func f;
    fvm_ir_init(&f);
    fvm_ir_ref x = load(&f, param(&f), FVM_IR_F64, 0);
    fvm_ir_ref a = fvm_ir_op2(&f, FVM_IR_FADD, FVM_IR_F64, x, fvm_ir_const_f(&f, 1.0));
    fvm_ir_ref b = fvm_ir_op2(&f, FVM_IR_FADD, FVM_IR_F64, a, fvm_ir_const_f(&f, 2.0));
    cr_assert_eq(fvm_ir_get(&f, b)->args[0], a);
    fvm_ir_ref m = fvm_ir_op2(&f, FVM_IR_FMUL, FVM_IR_F64, x, fvm_ir_const_f(&f, 1.0));
    cr_assert_neq(m, x);
    cr_assert_eq(fvm_ir_get(&f, m)->op, FVM_IR_FMUL);
    fvm_ir_free(&f);
}

Test(jit_ir, hash_conses_pure_instructions_in_either_operand_order)
{
    fvm_ir_func f;
    fvm_ir_init(&f);
    fvm_ir_ref io = param(&f);
    fvm_ir_ref x = load(&f, io, FVM_IR_I64, 0), y = load(&f, io, FVM_IR_I64, 8);
    cr_assert_neq(x, y); /* loads are not shared */
    fvm_ir_ref s1 = fvm_ir_op2(&f, FVM_IR_ADD, FVM_IR_I64, x, y);
    fvm_ir_ref s2 = fvm_ir_op2(&f, FVM_IR_ADD, FVM_IR_I64, y, x);
    cr_assert_eq(s1, s2);
    cr_assert_neq(fvm_ir_op2(&f, FVM_IR_SUB, FVM_IR_I64, x, y), fvm_ir_op2(&f, FVM_IR_SUB, FVM_IR_I64, y, x));
    cr_assert_eq(fvm_ir_const_f(&f, 0.5), fvm_ir_const_f(&f, 0.5));
    cr_assert_neq(fvm_ir_const_f(&f, 0.0), fvm_ir_const_f(&f, -0.0));
    /* a new block does not reuse the old block's values */
    fvm_ir_block_new(&f);
    cr_assert_neq(fvm_ir_op2(&f, FVM_IR_ADD, FVM_IR_I64, x, y), s1);
    fvm_ir_free(&f);
}

Test(jit_ir, dce_removes_unused_pure_values_and_keeps_effects)
{
    fvm_ir_func f;
    fvm_ir_init(&f);
    fvm_ir_ref io = param(&f);
    fvm_ir_ref x = load(&f, io, FVM_IR_I64, 0);
    fvm_ir_ref unused = fvm_ir_op2(&f, FVM_IR_MUL, FVM_IR_I64, x, x);
    fvm_ir_ref unused2 = fvm_ir_op1(&f, FVM_IR_NEG, FVM_IR_I64, unused);
    fvm_ir_ref used = fvm_ir_op2(&f, FVM_IR_ADD, FVM_IR_I64, x, x);
    store(&f, io, used, 8);
    ret(&f);
    fvm_ir_dce(&f);
    cr_assert(fvm_ir_get(&f, unused)->dead);
    cr_assert(fvm_ir_get(&f, unused2)->dead);
    cr_assert_not(fvm_ir_get(&f, used)->dead);
    cr_assert_not(fvm_ir_get(&f, x)->dead);
    cr_assert_eq(fvm_ir_live_count(&f), 5); /* param, load, add, store, ret */
    fvm_buf out = {0};
    fvm_ir_dump(&f, &out);
    fvm_buf_putc(&out, '\0');
    cr_assert(strstr(out.data, "add v2, v2") != NULL, "%s", out.data);
    cr_assert(strstr(out.data, "mul") == NULL, "%s", out.data);
    fvm_buf_free(&out);
    fvm_ir_free(&f);
}

/* ---- register allocation ---------------------------------------------------------- */

typedef int64_t (*io_fn)(int64_t *);

static io_fn compile(fvm_mcode *mc, fvm_ir_func *f, fvm_x64_regset allowed, fvm_ra_result *ra)
{
    fvm_ir_dce(f);
    fvm_ra_config cfg = {allowed};
    cr_assert(fvm_ra_run(f, &cfg, ra));
    fvm_x64_buf b;
    fvm_x64_buf_init(&b, 0);
    const char *why = NULL;
    cr_assert(fvm_x64_lower(f, ra, &b, NULL, &why), "%s", why);
    io_fn fn = (io_fn)fvm_mcode_add(mc, b.code, b.len);
    fvm_x64_buf_free(&b);
    cr_assert_not_null(fn);
    return fn;
}

#define NV 40

/* NV loads all live at once, then a sum that uses them in reverse: far
 * more live values than the registers allowed. */
static void build_pressure(fvm_ir_func *f, bool floats)
{
    fvm_ir_ref io = param(f), v[NV];
    for (int i = 0; i < NV; i++)
        v[i] = load(f, io, floats ? FVM_IR_F64 : FVM_IR_I64, 8 * i);
    fvm_ir_ref acc = v[NV - 1];
    for (int i = NV - 2; i >= 0; i--) {
        if (floats) {
            fvm_ir_ref args[1] = {v[i]};
            fvm_ir_ref s = i % 8 == 0 ? fvm_ir_call(f, FVM_JIT_HELPER_FLOOR, args, 1) : v[i];
            acc = fvm_ir_op2(f, FVM_IR_FADD, FVM_IR_F64, acc, s);
        } else {
            acc = fvm_ir_op2(f, FVM_IR_MUL, FVM_IR_I64, acc, fvm_ir_const_i(f, 3));
            acc = fvm_ir_op2(f, i % 2 ? FVM_IR_SUB : FVM_IR_XOR, FVM_IR_I64, acc, v[i]);
        }
    }
    store(f, io, acc, 8 * NV);
    ret(f);
}

Test(jit_ra, spills_under_gpr_pressure_and_computes_the_same)
{
    fvm_mcode *mc = fvm_mcode_new(0);
    fvm_x64_regset sets[] = {FVM_RA_DEFAULT_ALLOWED,
                             FVM_X64_RSET(FVM_X64_RBX) | FVM_X64_RSET(FVM_X64_RSI) | FVM_X64_RSET(FVM_X64_R12)};
    for (int s = 0; s < 2; s++) {
        fvm_ir_func f;
        fvm_ir_init(&f);
        build_pressure(&f, false);
        fvm_ra_result ra;
        io_fn fn = compile(mc, &f, sets[s], &ra);
        cr_assert_gt(ra.nspill, 0);
        cr_assert_eq(ra.used & ~sets[s], 0);
        int64_t io[NV + 1], want = 0;
        for (int i = 0; i < NV; i++)
            io[i] = (int64_t)(0x9e3779b97f4a7c15u * (uint64_t)(i + 1));
        want = io[NV - 1];
        for (int i = NV - 2; i >= 0; i--) {
            want = (int64_t)((uint64_t)want * 3);
            want = i % 2 ? (int64_t)((uint64_t)want - (uint64_t)io[i]) : want ^ io[i];
        }
        cr_assert_eq(fn(io), 0);
        cr_assert_eq(io[NV], want);
        fvm_ra_free(&ra);
        fvm_ir_free(&f);
    }
    fvm_mcode_free(mc);
}

Test(jit_ra, floats_live_across_helper_calls_survive)
{
    fvm_mcode *mc = fvm_mcode_new(0);
    fvm_ir_func f;
    fvm_ir_init(&f);
    build_pressure(&f, true);
    fvm_ra_result ra;
    io_fn fn = compile(mc, &f, FVM_RA_DEFAULT_ALLOWED, &ra);
    cr_assert_gt(ra.nspill, 0); /* every XMM register is caller-saved */
    int64_t io[NV + 1];
    double want;
    for (int i = 0; i < NV; i++) {
        double d = i * 1.25 - 7.5;
        memcpy(&io[i], &d, sizeof d);
    }
    memcpy(&want, &io[NV - 1], sizeof want);
    for (int i = NV - 2; i >= 0; i--) {
        double d;
        memcpy(&d, &io[i], sizeof d);
        want = want + (i % 8 == 0 ? floor(d) : d);
    }
    cr_assert_eq(fn(io), 0);
    double got;
    memcpy(&got, &io[NV], sizeof got);
    cr_assert_eq(got, want);
    fvm_ra_free(&ra);
    fvm_ir_free(&f);
    fvm_mcode_free(mc);
}

Test(jit_ra, guard_exits_with_its_snapshot_number)
{
    fvm_mcode *mc = fvm_mcode_new(0);
    fvm_ir_func f;
    fvm_ir_init(&f);
    fvm_ir_ref io = param(&f);
    fvm_ir_ref x = load(&f, io, FVM_IR_I64, 0);
    fvm_ir_snap_entry e = {FVM_IR_SNAP_STACK, 0, 0, 0, x};
    fvm_ir_snap_add(&f, 0, NULL, 0);
    uint32_t snap = fvm_ir_snap_add(&f, 7, &e, 1);
    fvm_ir_ref c = fvm_ir_cmp(&f, FVM_IR_ICMP, FVM_IR_GT, x, fvm_ir_const_i(&f, 10));
    fvm_ir_emit(&f, FVM_IR_GUARD, FVM_IR_VOID, &c, 1, 0, snap);
    store(&f, io, x, 8);
    ret(&f);
    fvm_ra_result ra;
    io_fn fn = compile(mc, &f, FVM_RA_DEFAULT_ALLOWED, &ra);
    int64_t mem[2] = {11, 0};
    cr_assert_eq(fn(mem), 0);
    cr_assert_eq(mem[1], 11);
    mem[0] = 10;
    mem[1] = 0;
    cr_assert_eq(fn(mem), 2);
    cr_assert_eq(mem[1], 0);
    fvm_ra_free(&ra);
    fvm_ir_free(&f);
    fvm_mcode_free(mc);
}
