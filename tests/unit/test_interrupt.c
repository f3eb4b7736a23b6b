/* fvm_vm_interrupt: a program that never ends by itself (a loop, a
 * recursion) is stopped from another thread at its next taken jump or
 * call, with the error "interrupted", and the VM runs normally
 * afterwards; the same with a JIT context attached. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "chunktest.h"

static fvm_chunk *assemble(const char *text)
{
    char *err = NULL;
    fvm_chunk *c = fvm_assemble(text, strlen(text), "interrupt.fasm", &err);
    cr_assert_not_null(c, "%s", err ? err : "");
    return c;
}

/* Interrupts vm from a thread of its own after a pause, long enough for
 * the run to be well under way (the test is right however long it is). */
typedef struct interrupter {
    pthread_t thread;
    fvm_vm *vm;
} interrupter;

static void *interrupt_later(void *arg)
{
    interrupter *in = arg;
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
    fvm_vm_interrupt(in->vm);
    return NULL;
}

/* Run vm while another thread interrupts it: the run must end with the
 * error, at the op index want_ip (or anywhere when want_ip is -1). */
static void run_interrupted(fvm_vm *vm, long want_ip)
{
    interrupter in = {.vm = vm};
    cr_assert_eq(pthread_create(&in.thread, NULL, interrupt_later, &in), 0);
    fvm_result r = fvm_vm_run(vm);
    pthread_join(in.thread, NULL);
    cr_assert_eq(r.status, FVM_RUN_ERROR);
    cr_assert_str_eq(fvm_vm_error(vm), "interrupted");
    if (want_ip >= 0)
        cr_assert_eq(fvm_vm_error_ip(vm), (size_t)want_ip);
}

static void expect_int(fvm_vm *vm, int64_t want)
{
    fvm_result r = fvm_vm_run(vm);
    cr_assert_eq(r.status, FVM_RUN_OK, "%s", fvm_vm_error(vm));
    cr_assert_eq(r.value.type, FVM_T_INT);
    cr_assert_eq(r.value.as.i, want);
}

static const char *const forever = "    LoadInt 0\n"
                                   "    SetSlot 0\n"
                                   "loop:\n"
                                   "    PreIncSlotVoid 0\n"
                                   "    Jump loop\n";

/* fib(n), recursively: fib(60) would take hours. */
static const char *const deep_fib = "    LoadInt 60\n"
                                    "    Call fib 1\n"
                                    "    Jump end\n"
                                    ".sub fib\n"
                                    "    SetSlot 0\n"
                                    "    GetSlot 0\n"
                                    "    LoadInt 2\n"
                                    "    NumLt\n"
                                    "    JumpIfTrue base\n"
                                    "    GetSlot 0\n"
                                    "    Dec\n"
                                    "    Call fib 1\n"
                                    "    GetSlot 0\n"
                                    "    LoadInt 2\n"
                                    "    Sub\n"
                                    "    Call fib 1\n"
                                    "    Add\n"
                                    "    ReturnValue\n"
                                    "base:\n"
                                    "    GetSlot 0\n"
                                    "    ReturnValue\n"
                                    "end:\n";

static const char *const answer = "LoadInt 6\nLoadInt 7\nMul\n";

Test(interrupt, ends_an_endless_loop_at_its_jump_and_the_vm_runs_on, .timeout = 20)
{
    fvm_chunk *c = assemble(forever), *ok = assemble(answer);
    fvm_vm *vm = fvm_vm_new(c);
    run_interrupted(vm, 3);
    /* The request was cleared: the same VM is interrupted again only by
     * a second request, and runs another program to its end. */
    fvm_vm_reset(vm, c);
    run_interrupted(vm, 3);
    fvm_vm_reset(vm, ok);
    expect_int(vm, 42);
    fvm_vm_free(vm);
    fvm_chunk_free(ok);
    fvm_chunk_free(c);
}

Test(interrupt, ends_a_recursion, .timeout = 20)
{
    fvm_chunk *c = assemble(deep_fib), *ok = assemble(answer);
    fvm_vm *vm = fvm_vm_new(c);
    run_interrupted(vm, -1);
    cr_assert_gt(fvm_vm_frame_count(vm), 1);
    cr_assert_geq(fvm_vm_error_ip(vm), 3); /* inside fib */
    fvm_vm_reset(vm, ok);
    expect_int(vm, 42);
    fvm_vm_free(vm);
    fvm_chunk_free(ok);
    fvm_chunk_free(c);
}

Test(interrupt, a_request_between_runs_ends_the_next_run_at_its_first_poll)
{
    fvm_chunk *c = assemble(forever), *ok = assemble(answer);
    fvm_vm *vm = fvm_vm_new(c);
    fvm_vm_interrupt(vm);
    fvm_result r = fvm_vm_run(vm);
    cr_assert_eq(r.status, FVM_RUN_ERROR);
    cr_assert_str_eq(fvm_vm_error(vm), "interrupted");
    cr_assert_eq(fvm_vm_error_ip(vm), 3);
    /* A run with no jump or call ends normally, and drops the request. */
    fvm_vm_interrupt(vm);
    fvm_vm_reset(vm, ok);
    expect_int(vm, 42);
    fvm_vm_reset(vm, ok);
    expect_int(vm, 42);
    fvm_vm_free(vm);
    fvm_chunk_free(ok);
    fvm_chunk_free(c);
}

/* Calls poll, on the interpreter's fast path (Call) and through
 * fvm_enter_sub (CallDynamic): a request pending before a run without
 * jumps ends it at its call. */
Test(interrupt, calls_poll)
{
    static const char *const calls[] = {"    Call f 0\n.sub f\n    LoadInt 1\n    ReturnValue\n",
                                        "    LoadInt 0\n    CallDynamic 0\n.sub f\n    LoadInt 1\n"
                                        "    ReturnValue\n"};
    for (size_t k = 0; k < 2; k++) {
        fvm_chunk *c = assemble(calls[k]);
        fvm_vm *vm = fvm_vm_new(c);
        expect_int(vm, 1); /* without a request, it runs */
        fvm_vm_reset(vm, c);
        fvm_vm_interrupt(vm);
        fvm_result r = fvm_vm_run(vm);
        cr_assert_eq(r.status, FVM_RUN_ERROR);
        cr_assert_str_eq(fvm_vm_error(vm), "interrupted");
        cr_assert_eq(fvm_vm_error_ip(vm), k);
        fvm_vm_free(vm);
        fvm_chunk_free(c);
    }
}

/* An endless loop the block tier cannot compile as a whole: its string op
 * keeps the back-edge in the interpreter, while the 34 numeric ops before
 * it are a region entered natively on every iteration. */
static char *loop_with_a_string_op(void)
{
    static char text[2048];
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
    return text;
}

Test(interrupt, ends_a_loop_with_the_block_tier_attached, .timeout = 20)
{
    fvm_chunk *c = assemble(loop_with_a_string_op()), *ok = assemble(answer);
    fvm_jit *j = ct_eager_jit();
    fvm_vm *vm = fvm_vm_new(c);
    fvm_vm_set_jit(vm, j);
    run_interrupted(vm, -1);
    fvm_jit_counters s;
    fvm_jit_stats(j, &s);
    if (fvm_jit_tier_available(FVM_JIT_BLOCK))
        cr_assert_gt(s.runs[FVM_JIT_BLOCK], 0);
    else
        cr_assert_eq(s.runs[FVM_JIT_BLOCK], 0);
    fvm_vm_reset(vm, ok);
    expect_int(vm, 42);
    fvm_vm_free(vm);
    fvm_jit_free(j);
    fvm_chunk_free(ok);
    fvm_chunk_free(c);
}

/* A loop the block tier runs natively from start to end: the interpreter
 * sees a request made before the run when the native code returns. */
Test(interrupt, a_native_loop_is_interrupted_when_it_returns)
{
    fvm_chunk *c = assemble("    LoadInt 0\n"
                            "    SetSlot 0\n"
                            "    LoadInt 0\n"
                            "    SetSlot 1\n"
                            "loop:\n"
                            "    GetSlot 0\n"
                            "    GetSlot 1\n"
                            "    Add\n"
                            "    SetSlot 0\n"
                            "    SlotIncLtIntJumpBack 1 1000 loop\n"
                            "    GetSlot 0\n"
                            "    PrintLn 1\n");
    fvm_jit *j = ct_eager_jit();
    fvm_vm *vm = fvm_vm_new(c);
    fvm_vm_set_jit(vm, j);
    fvm_vm_interrupt(vm);
    fvm_result r = fvm_vm_run(vm);
    cr_assert_eq(r.status, FVM_RUN_ERROR);
    cr_assert_str_eq(fvm_vm_error(vm), "interrupted");
    fvm_jit_counters s;
    fvm_jit_stats(j, &s);
    if (fvm_jit_tier_available(FVM_JIT_BLOCK)) {
        /* The whole loop ran natively; the run stopped after it. */
        cr_assert_eq(s.runs[FVM_JIT_BLOCK], 1);
        cr_assert_eq(fvm_vm_error_ip(vm), 10);
        fvm_value sum = fvm_vm_get_slot(vm, 0);
        cr_assert_eq(sum.as.i, 499500);
    } else {
        cr_assert_eq(fvm_vm_error_ip(vm), 8); /* the loop's jump, interpreted */
    }
    fvm_vm_free(vm);
    fvm_jit_free(j);
    fvm_chunk_free(c);
}
