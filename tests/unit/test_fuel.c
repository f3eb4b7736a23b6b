/* The instruction budget (fvm_vm_set_fuel): counted in bytecode ops where
 * the interpreter polls, stopping loops and recursions with a clear error,
 * with the block tier attached too; shared by calls from C; and the
 * interrupt checks inside ops whose work grows with an operand. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <stdio.h>
#include <string.h>

#include "chunktest.h"

static fvm_chunk *assemble(const char *text)
{
    char *err = NULL;
    fvm_chunk *c = fvm_assemble(text, strlen(text), "fuel.fasm", &err);
    cr_assert_not_null(c, "%s", err ? err : "");
    return c;
}

static void expect_spent(fvm_vm *vm, fvm_result r, long long budget)
{
    char want[64];
    snprintf(want, sizeof want, "instruction budget exhausted (%lld ops)", budget);
    cr_assert_eq(r.status, FVM_RUN_ERROR);
    cr_assert_str_eq(fvm_vm_error(vm), want);
    cr_assert_eq(fvm_vm_fuel(vm), 0);
}

static const char *const forever = "    LoadInt 0\n"
                                   "    SetSlot 0\n"
                                   "loop:\n"
                                   "    PreIncSlotVoid 0\n"
                                   "    Jump loop\n";

Test(fuel, stops_an_endless_loop_after_exactly_its_ops)
{
    fvm_chunk *c = assemble(forever);
    fvm_vm *vm = fvm_vm_new(c);
    cr_assert_eq(fvm_vm_fuel(vm), -1);
    fvm_vm_set_fuel(vm, 100);
    cr_assert_eq(fvm_vm_fuel(vm), 100);
    fvm_result r = fvm_vm_run(vm);
    expect_spent(vm, r, 100);
    cr_assert_eq(fvm_vm_error_ip(vm), 3);
    /* Ops 0-3, then ops 2-3 per iteration: the poll of the 50th Jump is
     * the one that takes the count past 100 (4 + 2 * 49 = 102). */
    fvm_value n = fvm_vm_get_slot(vm, 0);
    cr_assert_eq(n.as.i, 50);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}

Test(fuel, what_is_left_after_a_run_that_finishes)
{
    /* 2 ops, 10 iterations of 5, then 1: 53 ops. */
    fvm_chunk *c = assemble("    LoadInt 0\n"
                            "    SetSlot 0\n"
                            "loop:\n"
                            "    PreIncSlotVoid 0\n"
                            "    GetSlot 0\n"
                            "    LoadInt 10\n"
                            "    NumLt\n"
                            "    JumpIfTrue loop\n"
                            "    GetSlot 0\n");
    fvm_vm *vm = fvm_vm_new(c);
    fvm_vm_set_fuel(vm, 1000);
    fvm_result r = fvm_vm_run(vm);
    cr_assert_eq(r.status, FVM_RUN_OK, "%s", fvm_vm_error(vm));
    cr_assert_eq(r.value.as.i, 10);
    cr_assert_eq(fvm_vm_fuel(vm), 1000 - 53);
    /* A budget of exactly 53 is enough; 52 is not (the last poll is the
     * 9th taken jump, at 47 ops, so 46 is the first budget that fails). */
    fvm_vm_reset(vm, c);
    fvm_vm_set_fuel(vm, 53);
    cr_assert_eq(fvm_vm_run(vm).status, FVM_RUN_OK);
    cr_assert_eq(fvm_vm_fuel(vm), 0);
    fvm_vm_reset(vm, c);
    fvm_vm_set_fuel(vm, 47);
    cr_assert_eq(fvm_vm_run(vm).status, FVM_RUN_OK);
    fvm_vm_reset(vm, c);
    fvm_vm_set_fuel(vm, 46);
    expect_spent(vm, fvm_vm_run(vm), 46);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}

Test(fuel, stops_a_recursion)
{
    fvm_chunk *c = assemble("    Call f 0\n"
                            "    Jump end\n"
                            ".sub f\n"
                            "    Call f 0\n"
                            "    ReturnValue\n"
                            "end:\n");
    fvm_vm *vm = fvm_vm_new(c);
    fvm_vm_set_fuel(vm, 1000);
    expect_spent(vm, fvm_vm_run(vm), 1000);
    cr_assert_eq(fvm_vm_error_ip(vm), 2);
    /* One op per call: the 1001st call fails, from frame 1001. */
    cr_assert_eq(fvm_vm_frame_count(vm), 1001);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}

Test(fuel, a_spent_budget_stays_spent_until_set_again)
{
    fvm_chunk *c = assemble(forever), *ok = assemble("LoadInt 6\nLoadInt 7\nMul\n");
    fvm_vm *vm = fvm_vm_new(c);
    fvm_vm_set_fuel(vm, 10);
    expect_spent(vm, fvm_vm_run(vm), 10);
    fvm_vm_reset(vm, c);
    expect_spent(vm, fvm_vm_run(vm), 10); /* kept across the reset */
    cr_assert_eq(fvm_vm_error_ip(vm), 3);
    cr_assert_eq(fvm_vm_get_slot(vm, 0).as.i, 1); /* at the first poll */
    /* Straight-line code never polls, so it runs even on a spent budget. */
    fvm_vm_reset(vm, ok);
    cr_assert_eq(fvm_vm_run(vm).status, FVM_RUN_OK);
    fvm_vm_set_fuel(vm, -1);
    cr_assert_eq(fvm_vm_fuel(vm), -1);
    fvm_vm_free(vm);
    fvm_chunk_free(ok);
    fvm_chunk_free(c);
}

/* An endless loop the block tier cannot compile as a whole: its string op
 * keeps the back-edge in the interpreter, while the 34 numeric ops before
 * it are a region entered natively on every iteration. */
static fvm_chunk *loop_with_a_string_op(void)
{
    char text[2048];
    size_t n = 0;
    n += (size_t)snprintf(text + n, sizeof text - n, "    LoadInt 0\n    SetSlot 0\nloop:\n"
                                                     "    GetSlot 0\n");
    for (int i = 0; i < 16; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "    LoadInt 1\n    Add\n");
    snprintf(text + n, sizeof text - n, "    SetSlot 0\n"
                                        "    LoadConst \"ab\"\n"
                                        "    StringLen\n"
                                        "    Pop\n"
                                        "    Jump loop\n");
    return assemble(text);
}

Test(fuel, stops_an_endless_loop_with_the_block_tier_attached)
{
    fvm_chunk *c = loop_with_a_string_op();
    fvm_jit *j = ct_eager_jit();
    fvm_vm *vm = fvm_vm_new(c);
    fvm_vm_set_jit(vm, j);
    fvm_vm_set_fuel(vm, 100000);
    expect_spent(vm, fvm_vm_run(vm), 100000);
    /* Each iteration is charged its 38 ops, natively run or not: the
     * same stop as the interpreter's. */
    int64_t sum = fvm_vm_get_slot(vm, 0).as.i;
    fvm_jit_counters s;
    fvm_jit_stats(j, &s);
    if (fvm_jit_tier_available(FVM_JIT_BLOCK))
        cr_assert_gt(s.runs[FVM_JIT_BLOCK], 0);

    fvm_vm *plain = fvm_vm_new(c);
    fvm_vm_set_fuel(plain, 100000);
    expect_spent(plain, fvm_vm_run(plain), 100000);
    int64_t plain_sum = fvm_vm_get_slot(plain, 0).as.i;
    cr_assert_leq(plain_sum - sum, 16, "interpreter %lld, block %lld", (long long)plain_sum,
                  (long long)sum);
    cr_assert_leq(sum - plain_sum, 16, "interpreter %lld, block %lld", (long long)plain_sum,
                  (long long)sum);
    fvm_vm_free(plain);
    fvm_vm_free(vm);
    fvm_jit_free(j);
    fvm_chunk_free(c);
}

Test(fuel, calls_from_c_share_the_budget)
{
    fvm_chunk *c = assemble("    Jump end\n"
                            ".sub spin\n"
                            "again:\n"
                            "    Jump again\n"
                            "end:\n");
    fvm_vm *vm = fvm_vm_new(c);
    cr_assert_eq(fvm_vm_run(vm).status, FVM_RUN_HALTED);
    fvm_vm_set_fuel(vm, 500);
    expect_spent(vm, fvm_vm_call(vm, "spin", NULL, 0), 500);
    cr_assert_eq(fvm_vm_frame_count(vm), 1);
    expect_spent(vm, fvm_vm_call(vm, "spin", NULL, 0), 500);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}

/* Ops whose work grows with an operand check for an interrupt while they
 * work: a request made before the run stops them, without a jump. */
Test(fuel, range_and_string_repeat_see_an_interrupt)
{
    static const char *const growing[] = {
        "LoadInt 0\nLoadInt 1000000\nRange\n",
        "LoadInt 0\nLoadInt 1000000\nLoadInt 1\nRangeStep\n",
        "LoadConst \"ab\"\nLoadInt 1000000\nStringRepeat\n",
    };
    for (size_t k = 0; k < sizeof growing / sizeof growing[0]; k++) {
        fvm_chunk *c = assemble(growing[k]);
        fvm_vm *vm = fvm_vm_new(c);
        fvm_result r = fvm_vm_run(vm);
        cr_assert_eq(r.status, FVM_RUN_OK, "%s", fvm_vm_error(vm));
        cr_assert_eq(fvm_value_len(r.value), k == 2 ? 2000000u : 1000001u);
        fvm_value_drop(r.value);
        fvm_vm_reset(vm, c);
        fvm_vm_interrupt(vm);
        r = fvm_vm_run(vm);
        cr_assert_eq(r.status, FVM_RUN_ERROR, "program %zu", k);
        cr_assert_str_eq(fvm_vm_error(vm), "interrupted");
        cr_assert_eq(fvm_vm_error_ip(vm), fvm_chunk_len(c) - 1);
        fvm_vm_free(vm);
        fvm_chunk_free(c);
    }
}

/* A loop the tracing tier runs: the trace leaves at its back-edge while a
 * budget is set, and the interpreter charges it there, so the budget
 * stops it (later than the interpreter's count would: native iterations
 * are charged one op each). */
Test(fuel, stops_an_endless_loop_a_trace_runs)
{
    fvm_chunk *c = assemble(forever);
    fvm_jit *j = fvm_jit_new();
    cr_assert_not_null(j);
    fvm_jit_set_cache_dir(j, FVM_JIT_CACHE_OFF);
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_VM_TIERS, 1u << FVM_JIT_TRACE), 0);
    fvm_vm *vm = fvm_vm_new(c);
    fvm_vm_set_jit(vm, j);
    fvm_vm_set_fuel(vm, 10000);
    expect_spent(vm, fvm_vm_run(vm), 10000);
    int64_t iterations = fvm_vm_get_slot(vm, 0).as.i;
    cr_assert_geq(iterations, 10000 / 2 - 2); /* at least the interpreter's */
    cr_assert_leq(iterations, 10000);
    fvm_jit_counters s;
    fvm_jit_stats(j, &s);
    if (fvm_jit_tier_available(FVM_JIT_TRACE))
        cr_assert_gt(s.runs[FVM_JIT_TRACE], 0);
    fvm_vm_free(vm);
    fvm_jit_free(j);
    fvm_chunk_free(c);
}
