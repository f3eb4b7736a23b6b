/* The scheduler: goroutines and channels (fvm_sched_*), each behaviour
 * interpreted and again with a JIT context attached whose block tier
 * compiles every region on its first entry, and with one that also traces
 * every loop (the goroutines' VMs inherit it), with the same results. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <stdio.h>
#include <string.h>

#include "chunktest.h"

static fvm_chunk *assemble(const char *text)
{
    char *err = NULL;
    fvm_chunk *c = fvm_assemble(text, strlen(text), "sched.fasm", &err);
    cr_assert_not_null(c, "%s", err ? err : "");
    return c;
}

/* A run of text under a scheduler: the VM, the scheduler, the context. */
typedef struct sched_run {
    fvm_chunk *c;
    fvm_vm *vm;
    fvm_sched *s;
    fvm_jit *j;
} sched_run;

static sched_run start(const char *text, int jit)
{
    sched_run r = {assemble(text), NULL, fvm_sched_new(NULL, NULL), ct_jit_for_mode(jit)};
    r.vm = fvm_vm_new(r.c);
    fvm_vm_set_jit(r.vm, r.j);
    return r;
}

static void finish(sched_run *r)
{
    fvm_sched_free(r->s);
    fvm_vm_free(r->vm);
    fvm_jit_free(r->j);
    fvm_chunk_free(r->c);
}

/* The value of global `name` after a successful run of text. */
static int64_t run_global_int(const char *text, const char *name, int jit)
{
    sched_run r = start(text, jit);
    fvm_result res = fvm_sched_run_capturing(r.s, r.vm, name);
    cr_assert_eq(res.status, FVM_RUN_OK, "%s", fvm_sched_error(r.s));
    cr_assert_eq(res.value.type, FVM_T_INT);
    int64_t v = res.value.as.i;
    finish(&r);
    return v;
}

/* The error of a run of text that must fail; its op index in *ip (or
 * SIZE_MAX when no VM raised it) and whether main raised it in *in_main. */
static void run_error(const char *text, int jit, const char *want, size_t want_ip, bool want_main)
{
    sched_run r = start(text, jit);
    fvm_result res = fvm_sched_run(r.s, r.vm);
    cr_assert_eq(res.status, FVM_RUN_ERROR);
    cr_assert_str_eq(fvm_sched_error(r.s), want);
    const fvm_vm *evm = fvm_sched_error_vm(r.s);
    if (want_ip == SIZE_MAX) {
        cr_assert_null(evm);
    } else {
        cr_assert_not_null(evm);
        cr_assert_eq(fvm_vm_error_ip(evm), want_ip);
        cr_assert_str_eq(fvm_vm_error(evm), want);
        cr_assert_eq(evm == r.vm, want_main);
    }
    finish(&r);
}

/* main sends 1, 2, 3 to a worker over an unbuffered channel; the worker
 * answers each with its double on a second one: 2 + 4 + 6. */
static const char PING_PONG[] =
    "    LoadInt 0\n    ChanMake\n    SetVar req\n"
    "    LoadInt 0\n    ChanMake\n    SetVar resp\n"
    "    GetVar req\n    GetVar resp\n    Go worker 2\n"
    "    LoadInt 0\n    SetVar sum\n    LoadInt 1\n    SetVar i\n"
    "loop:\n"
    "    GetVar req\n    GetVar i\n    ChanSend\n"
    "    GetVar resp\n    ChanRecv\n    GetVar sum\n    Add\n    SetVar sum\n"
    "    GetVar i\n    Inc\n    Dup\n    SetVar i\n    LoadInt 4\n    NumLt\n    JumpIfTrue loop\n"
    "    Jump end\n"
    ".sub worker\n"
    "    SetSlot 1\n    SetSlot 0\n"
    "wloop:\n"
    "    GetSlot 1\n    GetSlot 0\n    ChanRecv\n    LoadInt 2\n    Mul\n    ChanSend\n"
    "    Jump wloop\n"
    "end:\n";

Test(sched, ping_pong_over_unbuffered_channels)
{
    for (int jit = 0; jit < CT_JIT_MODES; jit++)
        cr_assert_eq(run_global_int(PING_PONG, "sum", jit), 12);
}

/* The worker sums 0..999 in a numeric loop the block tier compiles, then
 * sends the sum: goroutine VMs run native code like any VM. */
static const char NATIVE_WORKER[] =
    "    LoadInt 0\n    ChanMake\n    Dup\n    SetVar ch\n    Go summer 1\n"
    "    GetVar ch\n    ChanRecv\n    SetVar sum\n    Jump end\n"
    ".sub summer\n"
    "    SetSlot 2\n    LoadInt 0\n    SetSlot 0\n    LoadInt 0\n    SetSlot 1\n"
    "top:\n"
    "    GetSlot 0\n    GetSlot 1\n    Add\n    SetSlot 0\n"
    "    GetSlot 1\n    LoadInt 1\n    Add\n    SetSlot 1\n"
    "    GetSlot 1\n    LoadInt 1000\n    NumLt\n    JumpIfTrue top\n"
    "    GetSlot 2\n    GetSlot 0\n    ChanSend\n    Return\n"
    "end:\n";

Test(sched, goroutines_run_native_code_with_a_jit_attached)
{
    cr_assert_eq(run_global_int(NATIVE_WORKER, "sum", 0), 499500);
    for (int jit = 1; jit < CT_JIT_MODES; jit++) {
        sched_run r = start(NATIVE_WORKER, jit);
        fvm_result res = fvm_sched_run_capturing(r.s, r.vm, "sum");
        cr_assert_eq(res.status, FVM_RUN_OK, "%s", fvm_sched_error(r.s));
        cr_assert_eq(res.value.as.i, 499500);
        fvm_jit_counters k;
        fvm_jit_stats(r.j, &k);
        if (fvm_jit_tier_available(FVM_JIT_BLOCK))
            cr_assert_gt(k.runs[FVM_JIT_BLOCK] + k.runs[FVM_JIT_TRACE], 0, "the worker's loop ran natively");
        cr_assert_eq(fvm_sched_goroutine_count(r.s), 2);
        finish(&r);
    }
}

Test(sched, buffered_channel_holds_values_without_a_receiver)
{
    const char *text = "    LoadInt 2\n    ChanMake\n    SetVar ch\n"
                       "    GetVar ch\n    LoadInt 10\n    ChanSend\n"
                       "    GetVar ch\n    LoadInt 20\n    ChanSend\n"
                       "    GetVar ch\n    ChanRecv\n    GetVar ch\n    ChanRecv\n    Sub\n"
                       "    SetVar d\n";
    for (int jit = 0; jit < CT_JIT_MODES; jit++)
        cr_assert_eq(run_global_int(text, "d", jit), -10, "received in order: 10 - 20");
}

Test(sched, a_full_buffer_blocks_the_sender_until_a_receive)
{
    /* cap 1: the worker's second send waits for main's first receive; main
     * sees 1 then 2, in order. */
    const char *text = "    LoadInt 1\n    ChanMake\n    Dup\n    SetVar ch\n    Go w 1\n"
                       "    GetVar ch\n    ChanRecv\n    LoadInt 10\n    Mul\n"
                       "    GetVar ch\n    ChanRecv\n    Add\n    SetVar r\n    Jump end\n"
                       ".sub w\n    SetSlot 0\n"
                       "    GetSlot 0\n    LoadInt 1\n    ChanSend\n"
                       "    GetSlot 0\n    LoadInt 2\n    ChanSend\n    Return\n"
                       "end:\n";
    for (int jit = 0; jit < CT_JIT_MODES; jit++)
        cr_assert_eq(run_global_int(text, "r", jit), 12);
}

Test(sched, channel_ids_count_from_zero_and_chanmake_pushes_them)
{
    const char *text = "    LoadInt 0\n    ChanMake\n    Pop\n    LoadInt -5\n    ChanMake\n    SetVar id\n";
    cr_assert_eq(run_global_int(text, "id", false), 1);
}

Test(sched, select_takes_the_first_ready_case)
{
    /* ch1 is empty, ch2 and ch3 hold a value: case 1 wins over case 2. */
    const char *text = "    LoadInt 0\n    ChanMake\n    SetVar ch1\n"
                       "    LoadInt 1\n    ChanMake\n    SetVar ch2\n"
                       "    LoadInt 1\n    ChanMake\n    SetVar ch3\n"
                       "    GetVar ch2\n    LoadInt 7\n    ChanSend\n"
                       "    GetVar ch3\n    LoadInt 8\n    ChanSend\n"
                       "    GetVar ch1\n    LoadTrue\n    LoadUndef\n"
                       "    GetVar ch2\n    LoadTrue\n    LoadUndef\n"
                       "    GetVar ch3\n    LoadTrue\n    LoadUndef\n"
                       "    Select 3 0\n    SetVar idx\n    SetVar got\n";
    for (int jit = 0; jit < CT_JIT_MODES; jit++) {
        cr_assert_eq(run_global_int(text, "idx", jit), 1);
        cr_assert_eq(run_global_int(text, "got", jit), 7);
    }
}

Test(sched, select_with_default_takes_it_when_nothing_is_ready)
{
    const char *text = "    LoadInt 0\n    ChanMake\n    SetVar ch\n"
                       "    GetVar ch\n    LoadInt 1\n    LoadInt 0\n"
                       "    GetVar ch\n    LoadInt 0\n    LoadInt 5\n"
                       "    Select 2 1\n    SetVar idx\n    SetVar got\n";
    for (int jit = 0; jit < CT_JIT_MODES; jit++)
        cr_assert_eq(run_global_int(text, "idx", jit), 2, "the default case's index is n");
    sched_run r = start(text, false);
    fvm_result res = fvm_sched_run_capturing(r.s, r.vm, "got");
    cr_assert_eq(res.status, FVM_RUN_OK);
    cr_assert_eq(res.value.type, FVM_T_UNDEF, "no value for the default case");
    finish(&r);
}

/* The bug upstream has: a goroutine that waits in a Select first is
 * completed by a later unbuffered send. Here the worker selects on an
 * unbuffered channel nobody has sent on yet; main then sends 41. */
static const char SELECT_WAITS_FOR_SEND[] =
    "    LoadInt 0\n    ChanMake\n    SetVar in\n    LoadInt 0\n    ChanMake\n    SetVar out\n"
    "    GetVar in\n    GetVar out\n    Go w 2\n"
    "    GetVar in\n    LoadInt 41\n    ChanSend\n"
    "    GetVar out\n    ChanRecv\n    SetVar r\n    Jump end\n"
    ".sub w\n    SetSlot 1\n    SetSlot 0\n"
    "    GetSlot 0\n    LoadTrue\n    LoadUndef\n    Select 1 0\n"
    "    Pop\n    LoadInt 1\n    Add\n    SetSlot 2\n"
    "    GetSlot 1\n    GetSlot 2\n    ChanSend\n    Return\n"
    "end:\n";

Test(sched, a_waiting_select_is_completed_by_an_unbuffered_send)
{
    for (int jit = 0; jit < CT_JIT_MODES; jit++)
        cr_assert_eq(run_global_int(SELECT_WAITS_FOR_SEND, "r", jit), 42);
}

/* The other direction (Go's "select with a send case that must wait"): the
 * worker selects to send i on out three times; main receives three times. */
static const char SELECT_WAITS_FOR_RECEIVE[] =
    "    LoadInt 0\n    ChanMake\n    Dup\n    SetVar out\n    Go w 1\n"
    "    GetVar out\n    ChanRecv\n    GetVar out\n    ChanRecv\n    Add\n"
    "    GetVar out\n    ChanRecv\n    Add\n    SetVar sum\n    Jump end\n"
    ".sub w\n    SetSlot 0\n    LoadInt 1\n    SetSlot 1\n"
    "again:\n"
    "    GetSlot 0\n    LoadFalse\n    GetSlot 1\n    Select 1 0\n    Pop\n    Pop\n"
    "    GetSlot 1\n    Inc\n    Dup\n    SetSlot 1\n    LoadInt 4\n    NumLt\n    JumpIfTrue again\n"
    "    Return\n"
    "end:\n";

Test(sched, a_waiting_select_is_completed_by_an_unbuffered_receive)
{
    for (int jit = 0; jit < CT_JIT_MODES; jit++)
        cr_assert_eq(run_global_int(SELECT_WAITS_FOR_RECEIVE, "sum", jit), 6);
}

Test(sched, a_waiting_select_is_completed_by_another_select)
{
    /* Both sides select: the worker waits to receive, main's select sends. */
    const char *text = "    LoadInt 0\n    ChanMake\n    SetVar in\n    LoadInt 1\n    ChanMake\n    SetVar out\n"
                       "    GetVar in\n    GetVar out\n    Go w 2\n"
                       "    GetVar in\n    LoadFalse\n    LoadInt 5\n    Select 1 0\n    Pop\n    Pop\n"
                       "    GetVar out\n    ChanRecv\n    SetVar r\n    Jump end\n"
                       ".sub w\n    SetSlot 1\n    SetSlot 0\n"
                       "    GetSlot 0\n    LoadTrue\n    LoadUndef\n    Select 1 0\n    Pop\n    SetSlot 2\n"
                       "    GetSlot 1\n    GetSlot 2\n    ChanSend\n    Return\n"
                       "end:\n";
    for (int jit = 0; jit < CT_JIT_MODES; jit++)
        cr_assert_eq(run_global_int(text, "r", jit), 5);
}

Test(sched, close_wakes_receivers_and_a_drained_closed_channel_yields_the_zero)
{
    /* A receiver waiting on ch is woken by the close with the zero value; a
     * buffered value sent before the close is still received. */
    const char *text = "    LoadInt 1\n    ChanMake\n    SetVar ch\n    LoadInt 0\n    ChanMake\n    SetVar done\n"
                       "    GetVar ch\n    GetVar done\n    Go w 2\n"
                       "    GetVar done\n    ChanRecv\n    SetVar first\n"
                       "    GetVar ch\n    LoadInt 3\n    ChanSend\n    GetVar ch\n    ChanClose\n"
                       "    GetVar ch\n    ChanRecv\n    GetVar ch\n    ChanRecv\n    MakeArray 2\n    SetVar rest\n"
                       "    Jump end\n"
                       ".sub w\n    SetSlot 1\n    SetSlot 0\n"
                       "    GetSlot 1\n    LoadInt 9\n    ChanSend\n"
                       "    Return\n"
                       "end:\n";
    sched_run r = start(text, false);
    fvm_sched_set_recv_zero(r.s, fvm_cstr("zero"));
    fvm_result res = fvm_sched_run_capturing(r.s, r.vm, "rest");
    cr_assert_eq(res.status, FVM_RUN_OK, "%s", fvm_sched_error(r.s));
    cr_assert_eq(fvm_array_len(res.value), 2);
    cr_assert_eq(fvm_array_at(res.value, 0).as.i, 3);
    cr_assert_str_eq(fvm_str_bytes(fvm_array_at(res.value, 1), NULL), "zero");
    fvm_value_drop(res.value);
    finish(&r);
    cr_assert_eq(run_global_int(text, "first", false), 9);
}

Test(sched, a_receiver_waiting_when_the_channel_closes_gets_the_zero)
{
    const char *text = "    LoadInt 0\n    ChanMake\n    Dup\n    SetVar ch\n    Go closer 1\n"
                       "    GetVar ch\n    ChanRecv\n    SetVar got\n    Jump end\n"
                       ".sub closer\n    ChanClose\n    Return\n"
                       "end:\n";
    for (int jit = 0; jit < CT_JIT_MODES; jit++)
        cr_assert_eq(run_global_int(text, "got", jit), 0);
}

Test(sched, a_select_waiting_to_receive_is_completed_by_a_close)
{
    const char *text = "    LoadInt 0\n    ChanMake\n    Dup\n    SetVar ch\n    Go closer 1\n"
                       "    GetVar ch\n    LoadTrue\n    LoadUndef\n    Select 1 0\n    SetVar idx\n    SetVar got\n"
                       "    Jump end\n"
                       ".sub closer\n    ChanClose\n    Return\n"
                       "end:\n";
    cr_assert_eq(run_global_int(text, "idx", false), 0);
    cr_assert_eq(run_global_int(text, "got", false), 0);
}

Test(sched, send_on_a_closed_channel_is_an_error_at_the_send)
{
    run_error("    LoadInt 1\n    ChanMake\n    Dup\n    ChanClose\n    LoadInt 5\n    ChanSend\n", false,
              "panic: send on closed channel", 5, true);
    run_error("    LoadInt 1\n    ChanMake\n    Dup\n    ChanClose\n    LoadInt 5\n    ChanSend\n", true,
              "panic: send on closed channel", 5, true);
}

Test(sched, an_invalid_channel_id_is_an_error)
{
    run_error("    LoadInt 7\n    LoadInt 1\n    ChanSend\n", false, "panic: invalid channel 7", 2, true);
    run_error("    LoadInt -1\n    ChanRecv\n", false, "panic: invalid channel -1", 1, true);
    run_error("    LoadInt 0\n    ChanClose\n", false, "panic: invalid channel 0", 1, true);
    run_error("    LoadInt 3\n    LoadTrue\n    LoadUndef\n    Select 1 1\n", false,
              "panic: invalid channel 3", 3, true);
}

Test(sched, go_to_a_name_without_a_subroutine_is_an_error)
{
    run_error(".name nosuch\n    Go nosuch 0\n", false, "panic: goroutine target sub 0 not found", 0, true);
}

Test(sched, goroutines_alive_at_once_are_limited_and_finished_ones_do_not_count)
{
    /* Each worker waits forever: the fourth Go finds three alive (main and
     * two workers) and fails. */
    sched_run r = start("loop:\n    Go w 0\n    Jump loop\n"
                        ".sub w\n    LoadInt 0\n    ChanMake\n    ChanRecv\n    Return\n",
                        false);
    fvm_sched_set_max_goroutines(r.s, 3);
    cr_assert_eq(fvm_sched_run(r.s, r.vm).status, FVM_RUN_ERROR);
    cr_assert_str_eq(fvm_sched_error(r.s), "panic: more than 3 goroutines");
    cr_assert_eq(fvm_sched_goroutine_count(r.s), 3);
    finish(&r);
    /* Workers that end free their place: 100 of them, two alive at most. */
    r = start("    LoadInt 0\n    SetVar i\n"
              "loop:\n    Go w 0\n    GetVar i\n    Inc\n    Dup\n    SetVar i\n"
              "    LoadInt 100\n    NumLt\n    JumpIfTrue loop\n    GetVar i\n    Jump end\n"
              ".sub w\n    Return\n"
              "end:\n",
              false);
    fvm_sched_set_max_goroutines(r.s, 2);
    fvm_result res = fvm_sched_run(r.s, r.vm);
    cr_assert_eq(res.status, FVM_RUN_OK, "%s", fvm_sched_error(r.s));
    cr_assert_eq(res.value.as.i, 100);
    cr_assert_eq(fvm_sched_goroutine_count(r.s), 101);
    finish(&r);
}

Test(sched, all_goroutines_blocked_is_a_deadlock)
{
    const char *deadlock = "fatal error: all goroutines are asleep - deadlock!";
    run_error("    LoadInt 0\n    ChanMake\n    ChanRecv\n", false, deadlock, SIZE_MAX, false);
    run_error("    LoadInt 0\n    ChanMake\n    LoadInt 1\n    ChanSend\n", true, deadlock, SIZE_MAX, false);
    run_error("    Select 0 0\n", false, deadlock, SIZE_MAX, false);
    /* Two goroutines waiting on each other. */
    run_error("    LoadInt 0\n    ChanMake\n    Dup\n    SetVar a\n    Go w 1\n"
              "    GetVar a\n    ChanRecv\n    Jump end\n"
              ".sub w\n    LoadInt 0\n    ChanMake\n    ChanRecv\n    Return\n"
              "end:\n",
              false, deadlock, SIZE_MAX, false);
}

Test(sched, a_goroutine_error_ends_the_run_with_its_message)
{
    const char *text = "    Go boom 0\n    LoadInt 0\n    ChanMake\n    ChanRecv\n    Jump end\n"
                       ".name missing\n"
                       ".sub boom\n    Call missing 0\n    Return\n"
                       "end:\n";
    for (int jit = 0; jit < CT_JIT_MODES; jit++)
        run_error(text, jit, "undefined function: missing", 5, false);
}

Test(sched, the_program_ends_when_goroutine_zero_ends)
{
    /* The worker is still blocked (and another still ready) when main ends:
     * no deadlock, main's result. */
    const char *text = "    LoadInt 0\n    ChanMake\n    Go w 1\n    Go w2 0\n    LoadInt 42\n    Jump end\n"
                       ".sub w\n    ChanRecv\n    Return\n"
                       ".sub w2\n    LoadInt 1\n    Return\n"
                       "end:\n";
    sched_run r = start(text, false);
    fvm_result res = fvm_sched_run(r.s, r.vm);
    cr_assert_eq(res.status, FVM_RUN_OK, "%s", fvm_sched_error(r.s));
    cr_assert_eq(res.value.as.i, 42);
    cr_assert_str_eq(fvm_sched_error(r.s), "");
    finish(&r);
}

Test(sched, values_below_an_ops_operands_survive_the_switch)
{
    /* 100 sits on main's stack under ChanRecv's operand while main waits
     * for the worker. */
    const char *text = "    LoadInt 0\n    ChanMake\n    SetVar ch\n    GetVar ch\n    Go w 1\n"
                       "    LoadInt 100\n    GetVar ch\n    ChanRecv\n    Add\n"
                       "    LoadInt 1000\n    GetVar ch\n    ChanRecv\n    Add\n    Add\n    Jump end\n"
                       ".sub w\n    SetSlot 0\n    GetSlot 0\n    LoadInt 1\n    ChanSend\n"
                       "    GetSlot 0\n    LoadInt 2\n    ChanSend\n    Return\n"
                       "end:\n";
    for (int jit = 0; jit < CT_JIT_MODES; jit++) {
        sched_run r = start(text, jit);
        fvm_result res = fvm_sched_run(r.s, r.vm);
        cr_assert_eq(res.status, FVM_RUN_OK, "%s", fvm_sched_error(r.s));
        cr_assert_eq(res.value.as.i, 1103);
        finish(&r);
    }
}

Test(sched, run_capturing_a_global_the_chunk_does_not_name_is_halted)
{
    sched_run r = start("    LoadInt 1\n    SetVar x\n", false);
    cr_assert_eq(fvm_sched_run_capturing(r.s, r.vm, "y").status, FVM_RUN_HALTED);
    finish(&r);
}

static int made;
static fvm_vm *count_vm(void *ud, const fvm_vm *main_vm)
{
    made++;
    cr_assert_eq(ud, &made);
    return fvm_vm_new(fvm_vm_chunk(main_vm));
}

Test(sched, goroutine_vms_come_from_the_factory_and_a_scheduler_runs_again)
{
    fvm_chunk *c = assemble(PING_PONG);
    fvm_sched *s = fvm_sched_new(count_vm, &made);
    for (int round = 1; round <= 2; round++) {
        fvm_vm *vm = fvm_vm_new(c);
        fvm_result res = fvm_sched_run_capturing(s, vm, "sum");
        cr_assert_eq(res.status, FVM_RUN_OK, "%s", fvm_sched_error(s));
        cr_assert_eq(res.value.as.i, 12);
        cr_assert_eq(made, round);
        cr_assert_eq(fvm_sched_goroutine_count(s), 2);
        fvm_vm_free(vm);
    }
    fvm_sched_free(s);
    fvm_chunk_free(c);
}

static int printed;
static void count_output(void *ud, const char *bytes, size_t len) { printed += (int)len; }

Test(sched, goroutines_inherit_mains_output_hook)
{
    sched_run r = start("    Go p 0\n    LoadInt 0\n    ChanMake\n    LoadInt 1\n    ChanMake\n"
                        "    LoadInt 0\n    ChanSend\n    Pop\n    Jump end\n"
                        ".sub p\n    LoadConst \"hi\"\n    PrintLn 1\n    Return\n"
                        "end:\n",
                        false);
    fvm_vm_set_output(r.vm, count_output, NULL);
    cr_assert_eq(fvm_sched_run(r.s, r.vm).status, FVM_RUN_HALTED, "%s", fvm_sched_error(r.s));
    cr_assert_eq(printed, 3, "the goroutine printed through main's hook");
    finish(&r);
}

Test(sched, without_a_scheduler_the_ops_pop_their_operands_and_fail)
{
    static const struct {
        const char *text;
        const char *op;
    } cases[] = {
        {"    LoadInt 9\n    LoadInt 1\n    ChanMake\n", "ChanMake"},
        {"    LoadInt 9\n    LoadInt 0\n    LoadInt 1\n    ChanSend\n", "ChanSend"},
        {"    LoadInt 9\n    LoadInt 0\n    ChanRecv\n", "ChanRecv"},
        {"    LoadInt 9\n    LoadInt 0\n    ChanClose\n", "ChanClose"},
        {"    LoadInt 9\n    LoadInt 0\n    LoadTrue\n    LoadUndef\n    Select 1 0\n", "Select"},
        {".name f\n    LoadInt 9\n    LoadInt 1\n    LoadInt 2\n    Go f 2\n", "Go"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fvm_chunk *c = assemble(cases[i].text);
        fvm_vm *vm = fvm_vm_new(c);
        cr_assert_eq(fvm_vm_run(vm).status, FVM_RUN_ERROR);
        char want[128];
        snprintf(want, sizeof want, "%s needs the goroutine scheduler: run the VM with fvm_sched_run",
                 cases[i].op);
        cr_assert_str_eq(fvm_vm_error(vm), want);
        cr_assert_eq(fvm_vm_stack_depth(vm), 1, "%s popped its operands, not the 9 below", cases[i].op);
        cr_assert_eq(fvm_vm_stack_at(vm, 0).as.i, 9);
        fvm_vm_free(vm);
        fvm_chunk_free(c);
    }
}
