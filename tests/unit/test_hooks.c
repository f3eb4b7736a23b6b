/* The undef hook and strict numeric mode (fusevm.h, "Hooks"): each rule,
 * interpreted, with a JIT context whose block tier compiles every region
 * on its first entry, and with one that also traces every loop. A VM with
 * a hook set never runs native code, so all runs must agree exactly and
 * the contexts must count no native run. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <stdio.h>
#include <string.h>

#include "chunktest.h"

static fvm_chunk *assemble(const char *text)
{
    char *err = NULL;
    fvm_chunk *c = fvm_assemble(text, strlen(text), "hooks.fasm", &err);
    cr_assert_not_null(c, "%s", err ? err : "");
    return c;
}

/* What the hooks saw. */
typedef struct seen {
    int calls;
    fvm_undef_read undef;
    char name[32];
    fvm_num_op op;
    fvm_value a, b; /* copies */
    uint64_t chunk;
    size_t ip;
    bool sited;
} seen;

static seen log_;

static void forget(void)
{
    fvm_value_drop(log_.a);
    fvm_value_drop(log_.b);
    memset(&log_, 0, sizeof log_);
}

/* Answers 7 for `seven`, raises for `bad`, the default otherwise. */
static fvm_value undef_hook(fvm_vm *vm, const fvm_undef_read *r, void *ud)
{
    log_.calls++;
    log_.undef = *r;
    if (r->name)
        snprintf(log_.name, sizeof log_.name, "%s", r->name);
    if (r->name && strcmp(r->name, "bad") == 0) {
        fvm_vm_raise(vm, "undefined: bad");
        return fvm_int(1); /* dropped */
    }
    if ((r->name && strcmp(r->name, "seven") == 0) || (r->from_slot && r->index == 3))
        return fvm_int(7);
    return fvm_undef();
}

static void note(fvm_num_op op, fvm_value a, fvm_value b)
{
    log_.calls++;
    log_.op = op;
    fvm_value_drop(log_.a);
    fvm_value_drop(log_.b);
    log_.a = fvm_value_copy(a);
    log_.b = fvm_value_copy(b);
}

/* Answers the string "op<N>", or raises when a is the string "fail". */
static fvm_value numeric_hook(fvm_vm *vm, fvm_num_op op, fvm_value a, fvm_value b, void *ud)
{
    note(op, a, b);
    const char *s = fvm_str_bytes(a, NULL);
    if (s && strcmp(s, "fail") == 0) {
        fvm_vm_raise(vm, "no arithmetic on fail");
        return fvm_undef();
    }
    char buf[16];
    snprintf(buf, sizeof buf, "op%d", (int)op);
    return fvm_cstr(buf);
}

static fvm_value sited_hook(fvm_vm *vm, const fvm_numeric_call *call, void *ud)
{
    note(call->op, call->a, call->b);
    log_.sited = true;
    log_.chunk = call->chunk;
    log_.ip = call->ip;
    return fvm_float(0.5);
}

enum { UNDEF = 1, NUMERIC = 2, SITED = 4, RANGE = 8 };

/* Run text with the hooks in `hooks` in JIT mode jit (ct_jit_for_mode);
 * the result, and the error text in err. */
static fvm_result run_hooked(const char *text, unsigned hooks, int jit, char *err, size_t errlen)
{
    fvm_chunk *c = assemble(text);
    fvm_vm *vm = fvm_vm_new(c);
    fvm_jit *j = ct_jit_for_mode(jit);
    fvm_vm_set_jit(vm, j);
    if (hooks & UNDEF)
        fvm_vm_set_undef_hook(vm, undef_hook, NULL);
    if (hooks & NUMERIC)
        fvm_vm_set_numeric_hook(vm, numeric_hook, NULL);
    if (hooks & SITED)
        fvm_vm_set_sited_numeric_hook(vm, sited_hook, NULL);
    if (hooks & RANGE)
        fvm_vm_set_fixnum_range(vm, -100, 100);
    fvm_result r = fvm_vm_run(vm);
    snprintf(err, errlen, "%s@%zu", r.status == FVM_RUN_ERROR ? fvm_vm_error(vm) : "",
             r.status == FVM_RUN_ERROR ? fvm_vm_error_ip(vm) : 0);
    if (j) {
        fvm_jit_counters k;
        fvm_jit_stats(j, &k);
        for (int t = 0; t < FVM_JIT_TIER_COUNT; t++)
            cr_assert_eq(k.runs[t], 0, "a hooked VM ran native code");
    }
    fvm_vm_free(vm);
    fvm_jit_free(j);
    fvm_chunk_free(c);
    return r;
}

/* text's result with hooks, the same in every JIT mode; *calls is how
 * many times the hooks were asked in one run. */
static fvm_result both_ways(const char *text, unsigned hooks, char *err, size_t errlen, int *calls)
{
    forget();
    fvm_result off = run_hooked(text, hooks, 0, err, errlen);
    int calls_off = log_.calls;
    for (int jit = 1; jit < CT_JIT_MODES; jit++) {
        char err_jit[256];
        forget();
        fvm_result on = run_hooked(text, hooks, jit, err_jit, sizeof err_jit);
        cr_assert_eq(on.status, off.status);
        cr_assert(fvm_value_equal(on.value, off.value), "JIT mode %d agrees", jit);
        cr_assert_str_eq(err_jit, err);
        cr_assert_eq(log_.calls, calls_off, "the hooks were asked as often in JIT mode %d", jit);
        fvm_value_drop(on.value);
    }
    if (calls)
        *calls = calls_off;
    return off;
}

static void expect_int(fvm_result r, int64_t want)
{
    cr_assert_eq(r.status, FVM_RUN_OK);
    cr_assert_eq(r.value.type, FVM_T_INT, "type %u", r.value.type);
    cr_assert_eq(r.value.as.i, want);
}

static void expect_str(fvm_result r, const char *want)
{
    cr_assert_eq(r.status, FVM_RUN_OK);
    cr_assert_str_eq(fvm_str_bytes(r.value, NULL), want);
    fvm_value_drop(r.value);
}

/* ------------------------------------------------------------------------
 * The undef hook
 * ------------------------------------------------------------------------ */

Test(undef_hook, getvar_finding_undef_pushes_the_hooks_value)
{
    char err[256];
    int calls;
    expect_int(both_ways(".name x\n.name seven\n    GetVar seven\n", UNDEF, err, sizeof err, &calls), 7);
    cr_assert_eq(calls, 1);
    cr_assert_str_eq(log_.name, "seven");
    cr_assert_eq(log_.undef.name_len, 5);
    cr_assert_eq(log_.undef.index, 1);
    cr_assert(!log_.undef.from_slot);
    cr_assert_eq(log_.undef.ip, 0);
    cr_assert_neq(log_.undef.chunk, 0);
}

Test(undef_hook, undef_from_the_hook_is_the_default)
{
    char err[256];
    int calls;
    fvm_result r = both_ways("    GetVar other\n", UNDEF, err, sizeof err, &calls);
    cr_assert_eq(r.status, FVM_RUN_OK);
    cr_assert_eq(r.value.type, FVM_T_UNDEF);
    cr_assert_eq(calls, 1);
}

Test(undef_hook, an_error_from_the_hook_ends_the_run_at_the_read)
{
    char err[256];
    fvm_result r = both_ways("    LoadInt 1\n    GetVar bad\n    LoadInt 2\n", UNDEF, err, sizeof err, NULL);
    cr_assert_eq(r.status, FVM_RUN_ERROR);
    cr_assert_str_eq(err, "undefined: bad@1");
}

Test(undef_hook, getslot_finding_undef_asks_with_the_slot_and_no_name)
{
    char err[256];
    int calls;
    expect_int(both_ways("    LoadInt 1\n    SetSlot 0\n    GetSlot 3\n    GetSlot 0\n    Add\n", UNDEF, err,
                         sizeof err, &calls),
               8);
    cr_assert_eq(calls, 1, "slot 0 is defined: only slot 3 asks");
    cr_assert(log_.undef.from_slot);
    cr_assert_null(log_.undef.name);
    cr_assert_eq(log_.undef.index, 3);
    cr_assert_eq(log_.undef.ip, 2);
}

Test(undef_hook, defined_values_and_other_reads_do_not_ask)
{
    char err[256];
    int calls;
    /* GetArray / GetHash and fused slot ops read Undef without asking. */
    fvm_result r = both_ways("    LoadInt 5\n    SetVar v\n    GetVar v\n    GetArray a\n    Pop\n"
                             "    PreIncSlot 4\n    Pop\n",
                             UNDEF, err, sizeof err, &calls);
    expect_int(r, 5);
    cr_assert_eq(calls, 0);
}

Test(undef_hook, in_a_numeric_loop_the_jit_agrees)
{
    /* A loop the block tier would compile, reading a slot nobody wrote. */
    const char *text = "    LoadInt 0\n    SetSlot 0\n    LoadInt 0\n    SetSlot 1\n"
                       "top:\n    GetSlot 0\n    GetSlot 3\n    Add\n    SetSlot 0\n"
                       "    GetSlot 1\n    LoadInt 1\n    Add\n    SetSlot 1\n"
                       "    GetSlot 1\n    LoadInt 100\n    NumLt\n    JumpIfTrue top\n    GetSlot 0\n";
    char err[256];
    int calls;
    expect_int(both_ways(text, UNDEF, err, sizeof err, &calls), 700);
    cr_assert_eq(calls, 100);
}

static fvm_value record_chunk(fvm_vm *vm, const fvm_undef_read *r, void *ud)
{
    *(uint64_t *)ud = r->chunk;
    return fvm_undef();
}

static uint64_t identity_of(const char *text)
{
    fvm_chunk *c = assemble(text);
    fvm_vm *vm = fvm_vm_new(c);
    uint64_t id = 0;
    fvm_vm_set_undef_hook(vm, record_chunk, &id);
    fvm_result r = fvm_vm_run(vm);
    fvm_value_drop(r.value);
    cr_assert_neq(id, 0);
    cr_assert_neq(id, fvm_chunk_op_hash(c), "the identity is not the op hash");
    fvm_vm_free(vm);
    fvm_chunk_free(c);
    return id;
}

Test(undef_hook, the_chunk_identity_tells_names_apart)
{
    uint64_t a = identity_of(".name x\n    GetVar x\n");
    cr_assert_eq(identity_of(".name x\n    GetVar x\n"), a, "stable");
    cr_assert_neq(identity_of(".name y\n    GetVar y\n"), a, "same ops, another name");
}

Test(undef_hook, strictness_is_reported_kept_across_reset_and_removable)
{
    fvm_chunk *c = assemble("    GetVar seven\n");
    fvm_vm *vm = fvm_vm_new(c);
    cr_assert(!fvm_vm_is_strict_undef(vm));
    fvm_vm_set_undef_hook(vm, undef_hook, NULL);
    cr_assert(fvm_vm_is_strict_undef(vm));
    fvm_vm_reset(vm, c);
    expect_int(fvm_vm_run(vm), 7);
    fvm_vm_set_undef_hook(vm, NULL, NULL);
    cr_assert(!fvm_vm_is_strict_undef(vm));
    fvm_vm_reset(vm, c);
    cr_assert_eq(fvm_vm_run(vm).value.type, FVM_T_UNDEF);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}

/* ------------------------------------------------------------------------
 * Strict numeric mode
 * ------------------------------------------------------------------------ */

Test(numeric_hook, each_op_with_a_non_number_operand_asks)
{
    static const struct {
        const char *op;
        fvm_num_op num;
    } ops[] = {
        {"Add", FVM_NUMOP_ADD}, {"Sub", FVM_NUMOP_SUB}, {"Mul", FVM_NUMOP_MUL},
        {"Div", FVM_NUMOP_DIV}, {"Mod", FVM_NUMOP_MOD}, {"Pow", FVM_NUMOP_POW},
        {"NumLt", FVM_NUMOP_LT}, {"NumGt", FVM_NUMOP_GT}, {"NumLe", FVM_NUMOP_LE},
        {"NumGe", FVM_NUMOP_GE}, {"NumEq", FVM_NUMOP_EQ}, {"NumNe", FVM_NUMOP_NE},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        char text[128], want[16], err[256];
        int calls;
        snprintf(text, sizeof text, "    LoadInt 2\n    LoadConst \"3\"\n    %s\n", ops[i].op);
        snprintf(want, sizeof want, "op%d", (int)ops[i].num);
        expect_str(both_ways(text, NUMERIC, err, sizeof err, &calls), want);
        cr_assert_eq(calls, 1, "%s", ops[i].op);
        cr_assert_eq(log_.op, ops[i].num);
        cr_assert_eq(log_.a.as.i, 2, "operands in order");
        cr_assert_str_eq(fvm_str_bytes(log_.b, NULL), "3");
        /* Bool and Undef are not numbers either. */
        snprintf(text, sizeof text, "    LoadTrue\n    LoadUndef\n    %s\n", ops[i].op);
        expect_str(both_ways(text, NUMERIC, err, sizeof err, NULL), want);
    }
}

Test(numeric_hook, negate_asks_with_undef_as_b)
{
    char err[256];
    expect_str(both_ways("    LoadConst \"x\"\n    Negate\n", NUMERIC, err, sizeof err, NULL), "op6");
    cr_assert_eq(log_.op, FVM_NUMOP_NEG);
    cr_assert_eq(log_.b.type, FVM_T_UNDEF);
}

Test(numeric_hook, int_overflow_of_add_sub_mul_negate_asks)
{
    static const char *const texts[] = {
        "    LoadInt 9223372036854775807\n    LoadInt 1\n    Add\n",
        "    LoadInt -9223372036854775808\n    LoadInt 1\n    Sub\n",
        "    LoadInt 4611686018427387904\n    LoadInt 2\n    Mul\n",
        "    LoadInt -9223372036854775808\n    Negate\n",
    };
    static const fvm_num_op want[] = {FVM_NUMOP_ADD, FVM_NUMOP_SUB, FVM_NUMOP_MUL, FVM_NUMOP_NEG};
    for (size_t i = 0; i < 4; i++) {
        char err[256], ans[16];
        snprintf(ans, sizeof ans, "op%d", (int)want[i]);
        expect_str(both_ways(texts[i], NUMERIC, err, sizeof err, NULL), ans);
        cr_assert_eq(log_.op, want[i]);
        cr_assert_eq(log_.a.type, FVM_T_INT, "the operands, not a wrapped result");
    }
}

Test(numeric_hook, numbers_that_fit_compute_as_always)
{
    char err[256];
    int calls;
    expect_int(both_ways("    LoadInt 9223372036854775806\n    LoadInt 1\n    Add\n", NUMERIC, err, sizeof err,
                         &calls),
               INT64_MAX);
    cr_assert_eq(calls, 0);
    /* Floats, and Int/Float mixes, never ask. */
    fvm_result r = both_ways("    LoadFloat 1e308\n    LoadInt 10\n    Mul\n", NUMERIC, err, sizeof err, &calls);
    cr_assert_eq(r.value.type, FVM_T_FLOAT);
    cr_assert_eq(calls, 0);
}

Test(numeric_hook, div_keeps_its_contract)
{
    char err[256];
    int calls;
    fvm_result r = both_ways("    LoadInt 7\n    LoadInt 2\n    Div\n", NUMERIC, err, sizeof err, &calls);
    cr_assert_eq(r.value.type, FVM_T_FLOAT);
    cr_assert_eq(r.value.as.f, 3.5);
    r = both_ways("    LoadInt 7\n    LoadInt 0\n    Div\n", NUMERIC, err, sizeof err, &calls);
    cr_assert_eq(r.status, FVM_RUN_OK);
    cr_assert_eq(r.value.type, FVM_T_UNDEF, "a zero divisor still gives Undef");
    cr_assert_eq(calls, 0);
}

Test(numeric_hook, the_fixnum_range_sends_results_outside_it_to_the_hook)
{
    char err[256];
    int calls;
    expect_int(both_ways("    LoadInt 60\n    LoadInt 40\n    Add\n", NUMERIC | RANGE, err, sizeof err, &calls),
               100);
    cr_assert_eq(calls, 0);
    expect_str(both_ways("    LoadInt 60\n    LoadInt 41\n    Add\n", NUMERIC | RANGE, err, sizeof err, &calls),
               "op0");
    expect_str(both_ways("    LoadInt -101\n    Negate\n", NUMERIC | RANGE, err, sizeof err, &calls), "op6");
    /* Without a hook the range changes nothing. */
    expect_int(both_ways("    LoadInt 60\n    LoadInt 41\n    Add\n", RANGE, err, sizeof err, &calls), 101);
}

Test(numeric_hook, an_error_from_the_hook_ends_the_run_at_the_op)
{
    char err[256];
    fvm_result r = both_ways("    LoadConst \"fail\"\n    LoadInt 1\n    Add\n    LoadInt 3\n", NUMERIC, err,
                             sizeof err, NULL);
    cr_assert_eq(r.status, FVM_RUN_ERROR);
    cr_assert_str_eq(err, "no arithmetic on fail@2");
}

Test(numeric_hook, the_sited_form_gets_the_site_and_wins)
{
    char err[256];
    fvm_result r = both_ways("    LoadInt 1\n    LoadInt 2\n    LoadConst \"z\"\n    Mul\n", NUMERIC | SITED, err,
                             sizeof err, NULL);
    cr_assert_eq(r.value.type, FVM_T_FLOAT);
    cr_assert_eq(r.value.as.f, 0.5);
    cr_assert(log_.sited, "the sited hook was asked, not the plain one");
    cr_assert_eq(log_.op, FVM_NUMOP_MUL);
    cr_assert_eq(log_.ip, 3);
    cr_assert_neq(log_.chunk, 0);
}

Test(numeric_hook, in_a_numeric_loop_the_jit_agrees)
{
    /* Doubling overflows after 62 steps; from then on the hook's Float
     * answer flows through the loop. */
    const char *text = "    LoadInt 1\n    SetSlot 0\n    LoadInt 0\n    SetSlot 1\n"
                       "top:\n    GetSlot 0\n    LoadInt 2\n    Mul\n    SetSlot 0\n"
                       "    GetSlot 1\n    LoadInt 1\n    Add\n    SetSlot 1\n"
                       "    GetSlot 1\n    LoadInt 70\n    NumLt\n    JumpIfTrue top\n    GetSlot 0\n";
    char err[256];
    int calls;
    fvm_result r = both_ways(text, SITED, err, sizeof err, &calls);
    cr_assert_eq(r.value.type, FVM_T_FLOAT);
    cr_assert_eq(calls, 1, "one overflow; after it the slot holds a Float");
}

Test(numeric_hook, strictness_is_reported)
{
    fvm_chunk *c = assemble("    Nop\n");
    fvm_vm *vm = fvm_vm_new(c);
    cr_assert(!fvm_vm_is_strict_numeric(vm));
    fvm_vm_set_numeric_hook(vm, numeric_hook, NULL);
    cr_assert(fvm_vm_is_strict_numeric(vm));
    fvm_vm_set_numeric_hook(vm, NULL, NULL);
    fvm_vm_set_sited_numeric_hook(vm, sited_hook, NULL);
    cr_assert(fvm_vm_is_strict_numeric(vm));
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}

static fvm_value remove_hooks(fvm_vm *vm, uint8_t argc, void *ud)
{
    fvm_vm_set_undef_hook(vm, NULL, NULL);
    fvm_vm_set_numeric_hook(vm, NULL, NULL);
    return fvm_undef();
}

Test(hooks, removed_during_a_run_they_are_not_asked_again)
{
    /* The builtin removes both hooks; the reads and the Add after it do
     * the default (Undef; "x" + 1 is Float 1). */
    fvm_chunk *c = assemble("    GetVar seven\n    CallBuiltin 1 0\n    Pop\n    GetVar seven\n"
                            "    LoadConst \"x\"\n    LoadInt 1\n    Add\n    MakeArray 3\n");
    fvm_vm *vm = fvm_vm_new(c);
    fvm_vm_set_undef_hook(vm, undef_hook, NULL);
    fvm_vm_set_numeric_hook(vm, numeric_hook, NULL);
    fvm_vm_register_builtin(vm, 1, remove_hooks, NULL);
    fvm_result r = fvm_vm_run(vm);
    cr_assert_eq(r.status, FVM_RUN_OK, "%s", fvm_vm_error(vm));
    cr_assert_eq(fvm_array_at(r.value, 0).as.i, 7, "asked before");
    cr_assert_eq(fvm_array_at(r.value, 1).type, FVM_T_UNDEF);
    cr_assert_eq(fvm_array_at(r.value, 2).type, FVM_T_FLOAT);
    cr_assert_eq(fvm_array_at(r.value, 2).as.f, 1.0);
    fvm_value_drop(r.value);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
    forget();
}
