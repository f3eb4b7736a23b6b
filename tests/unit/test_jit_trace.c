/* The tracing tier's mechanisms, one test each: the hot-loop threshold and
 * entry in the middle of a loop's run, branch exits and side traces, a
 * loop whose slot kinds change, recordings given up and the header
 * blacklisted, an interrupt reaching a native loop, and the disk cache
 * (stored, loaded by a second context instead of recorded, a damaged
 * blob refused and recompiled). Every run is also checked against the
 * interpreter's result; random programs are compared in
 * test_jit_block_diff.c. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fstest.h"

static fvm_chunk *assemble(const char *text)
{
    char *err = NULL;
    fvm_chunk *c = fvm_assemble(text, strlen(text), "trace.fasm", &err);
    cr_assert_not_null(c, "%s", err ? err : "");
    return c;
}

/* A context whose VMs use the tracing tier alone, on the disk cache in dir
 * (FVM_JIT_CACHE_OFF: none). */
static fvm_jit *trace_jit(const char *dir)
{
    fvm_jit *j = fvm_jit_new();
    cr_assert_not_null(j);
    fvm_jit_set_cache_dir(j, dir);
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_VM_TIERS, 1u << FVM_JIT_TRACE), 0);
    return j;
}

/* Run c on a fresh VM (with j attached when given); its Int result. */
static int64_t run_int(const fvm_chunk *c, fvm_jit *j)
{
    fvm_vm *vm = fvm_vm_new(c);
    if (j)
        fvm_vm_set_jit(vm, j);
    fvm_result r = fvm_vm_run(vm);
    cr_assert_eq(r.status, FVM_RUN_OK, "%s", fvm_vm_error(vm));
    cr_assert_eq(r.value.type, FVM_T_INT);
    fvm_vm_free(vm);
    return r.value.as.i;
}

static fvm_jit_counters stats_of(const fvm_jit *j)
{
    fvm_jit_counters s;
    fvm_jit_stats(j, &s);
    return s;
}

/* The seed's counter loop: a do-while incrementing slot 0 up to limit. */
static fvm_chunk *counter_loop(int64_t limit)
{
    char text[256];
    snprintf(text, sizeof text,
             "    LoadInt 0\n    SetSlot 0\nloop:\n    PreIncSlotVoid 0\n    GetSlot 0\n"
             "    LoadInt %lld\n    NumLt\n    JumpIfTrue loop\n    GetSlot 0\n",
             (long long)limit);
    return assemble(text);
}

Test(jit_trace, a_hot_loop_is_recorded_and_runs_natively)
{
    fvm_chunk *c = counter_loop(200);
    fvm_jit *j = trace_jit(FVM_JIT_CACHE_OFF);
    cr_assert_eq(run_int(c, j), 200);
    fvm_jit_counters s = stats_of(j);
    cr_assert_eq(s.traces, 1);
    cr_assert_eq(s.compiles, 1);
    cr_assert_geq(s.runs[FVM_JIT_TRACE], 1);
    cr_assert_eq(s.trace_aborts, 0);
    fvm_jit_free(j);
    fvm_chunk_free(c);
}

Test(jit_trace, a_loop_shorter_than_the_threshold_never_compiles)
{
    fvm_chunk *c = counter_loop(20);
    fvm_jit *j = trace_jit(FVM_JIT_CACHE_OFF);
    cr_assert_eq(run_int(c, j), 20);
    fvm_jit_counters s = stats_of(j);
    cr_assert_eq(s.traces + s.compiles + s.runs[FVM_JIT_TRACE], 0);
    fvm_jit_free(j);
    fvm_chunk_free(c);
}

/* A loop entered once: its header reaches the threshold in the middle of
 * the run, the trace is entered there with the frame as it stands, and
 * runs every remaining iteration in one native run. */
Test(jit_trace, a_loop_entered_once_is_entered_natively_in_its_middle)
{
    fvm_chunk *c = counter_loop(3000000);
    fvm_jit *j = trace_jit(FVM_JIT_CACHE_OFF);
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_TRACE_THRESHOLD, 10), 0);
    cr_assert_eq(run_int(c, j), 3000000);
    fvm_jit_counters s = stats_of(j);
    cr_assert_eq(s.traces, 1);
    cr_assert_eq(s.runs[FVM_JIT_TRACE], 1);
    fvm_jit_free(j);
    fvm_chunk_free(c);
}

/* A branch inside the loop that goes both ways: the way not recorded
 * leaves at a guard, gets hot and becomes a side path of the loop's tree,
 * which then runs both ways in native code. */
static const char *const alternating =
    "    LoadInt 0\n    SetSlot 0\n    LoadInt 0\n    SetSlot 1\n"
    "loop:\n"
    "    GetSlot 0\n    LoadInt 3\n    Mod\n    LoadInt 0\n    NumEq\n    JumpIfFalse other\n"
    "    GetSlot 1\n    LoadInt 7\n    Add\n    SetSlot 1\n    Jump next\n"
    "other:\n"
    "    GetSlot 1\n    LoadInt 1\n    Sub\n    SetSlot 1\n"
    "next:\n"
    "    SlotIncLtIntJumpBack 0 100000 loop\n"
    "    GetSlot 1\n";

Test(jit_trace, a_hot_branch_exit_grows_the_tree_and_runs_natively_both_ways)
{
    fvm_chunk *c = assemble(alternating);
    int64_t want = run_int(c, NULL);
    fvm_jit *j = trace_jit(FVM_JIT_CACHE_OFF);
    cr_assert_eq(run_int(c, j), want);
    fvm_jit_counters s = stats_of(j);
    cr_assert_eq(s.traces, 1);
    cr_assert_eq(s.side_traces, 1);
    /* One tree: the native code ran the rest in a handful of entries from
     * the interpreter, not one per exit. */
    cr_assert_lt(s.runs[FVM_JIT_TRACE], 1000, "%llu runs", (unsigned long long)s.runs[FVM_JIT_TRACE]);
    fvm_jit_free(j);
    fvm_chunk_free(c);
}

/* Slot 1 is an Int for 500 iterations, then a Float: the Int trace leaves
 * when the kind changes, and the header records a second trace for the
 * new kinds. */
static const char *const int_then_float =
    "    LoadInt 0\n    SetSlot 0\n    LoadInt 0\n    SetSlot 1\n"
    "loop:\n"
    "    GetSlot 0\n    LoadInt 500\n    NumEq\n    JumpIfFalse add\n"
    "    LoadFloat 0.5\n    SetSlot 1\n"
    "add:\n"
    "    GetSlot 1\n    GetSlot 0\n    Add\n    SetSlot 1\n"
    "    SlotIncLtIntJumpBack 0 20000 loop\n"
    "    GetSlot 1\n    TruncInt\n";

Test(jit_trace, a_slot_changing_kind_leaves_and_gets_a_trace_of_its_own)
{
    fvm_chunk *c = assemble(int_then_float);
    int64_t want = run_int(c, NULL);
    fvm_jit *j = trace_jit(FVM_JIT_CACHE_OFF);
    cr_assert_eq(run_int(c, j), want);
    fvm_jit_counters s = stats_of(j);
    cr_assert_eq(s.traces, 2);
    cr_assert_geq(s.reasons[FVM_JIT_REASON_EXIT_LOOP_KINDS] + s.reasons[FVM_JIT_REASON_EXIT_BRANCH], 1);
    fvm_jit_free(j);
    fvm_chunk_free(c);
}

/* Globals are kept in registers in the loop and written back when it
 * leaves; a global that changes kind mid-loop is handled like a slot. */
Test(jit_trace, a_loop_over_globals_runs_natively)
{
    fvm_chunk *c = assemble("    LoadInt 0\n    SetVar sum\n    LoadInt 0\n    DeclareVar i\n"
                            "loop:\n    GetVar sum\n    GetVar i\n    Add\n    SetVar sum\n"
                            "    GetVar i\n    LoadInt 1\n    Add\n    SetVar i\n"
                            "    GetVar i\n    LoadInt 777\n    NumEq\n    JumpIfFalse next\n"
                            "    LoadFloat 0.5\n    SetVar sum\n"
                            "next:\n    GetVar i\n    LoadInt 100000\n    NumLt\n    JumpIfTrue loop\n"
                            "    GetVar sum\n    TruncInt\n");
    fvm_vm *vm = fvm_vm_new(c);
    fvm_result want = fvm_vm_run(vm);
    cr_assert_eq(want.status, FVM_RUN_OK);
    fvm_jit *j = trace_jit(FVM_JIT_CACHE_OFF);
    fvm_vm *jvm = fvm_vm_new(c);
    fvm_vm_set_jit(jvm, j);
    fvm_result got = fvm_vm_run(jvm);
    cr_assert_eq(got.status, FVM_RUN_OK, "%s", fvm_vm_error(jvm));
    cr_assert_eq(got.value.as.i, want.value.as.i);
    for (size_t g = 0; g < fvm_vm_global_count(vm); g++) {
        fvm_value a = fvm_vm_global(vm, g), b = fvm_vm_global(jvm, g);
        cr_assert_eq(a.type, b.type);
        cr_assert_eq(a.as.i, b.as.i);
    }
    fvm_jit_counters s = stats_of(j);
    cr_assert_geq(s.traces, 1);
    cr_assert_lt(s.runs[FVM_JIT_TRACE], 100);
    fvm_vm_free(vm);
    fvm_vm_free(jvm);
    fvm_jit_free(j);
    fvm_chunk_free(c);
}

/* A loop calling a function cannot be recorded yet: each recording is
 * given up at the call, the header waits longer after each, and after
 * max_compile_failures it is never counted again. */
Test(jit_trace, a_loop_that_cannot_be_recorded_is_blacklisted)
{
    fvm_chunk *c = assemble("    LoadInt 0\n    SetSlot 0\n"
                            "loop:\n    GetSlot 0\n    Pop\n    Call one 0\n    Pop\n"
                            "    SlotIncLtIntJumpBack 0 100000 loop\n"
                            "    GetSlot 0\n    Jump end\n"
                            ".sub one\n    LoadInt 1\n    ReturnValue\n"
                            "end:\n");
    fvm_jit *j = trace_jit(FVM_JIT_CACHE_OFF);
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_RETRY_BACKOFF, 4), 0);
    cr_assert_eq(run_int(c, j), 100000);
    fvm_jit_counters s = stats_of(j);
    uint64_t tries = fvm_jit_get_param(j, FVM_JIT_PARAM_MAX_COMPILE_FAILURES);
    cr_assert_eq(s.trace_aborts, tries);
    cr_assert_eq(s.reasons[FVM_JIT_REASON_OP_CALL], tries);
    cr_assert_eq(s.blacklisted, 1);
    cr_assert_eq(s.traces, 0);
    fvm_jit_free(j);
    fvm_chunk_free(c);
}

static void *interrupt_later(void *vm)
{
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
    fvm_vm_interrupt(vm);
    return NULL;
}

/* A loop that never ends runs in native code after its threshold; the
 * trace checks the VM's poll word at its back-edge, so an interrupt from
 * another thread stops it. */
Test(jit_trace, an_interrupt_stops_a_native_loop, .timeout = 20)
{
    fvm_chunk *c = assemble("    LoadInt 0\n    SetSlot 0\nloop:\n    PreIncSlotVoid 0\n    Jump loop\n");
    fvm_jit *j = trace_jit(FVM_JIT_CACHE_OFF);
    fvm_vm *vm = fvm_vm_new(c);
    fvm_vm_set_jit(vm, j);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, interrupt_later, vm), 0);
    fvm_result r = fvm_vm_run(vm);
    pthread_join(t, NULL);
    cr_assert_eq(r.status, FVM_RUN_ERROR);
    cr_assert_str_eq(fvm_vm_error(vm), "interrupted");
    fvm_jit_counters s = stats_of(j);
    cr_assert_eq(s.traces, 1);
    cr_assert_eq(s.reasons[FVM_JIT_REASON_EXIT_POLL], 1);
    /* The loop really ran natively: its counter is far past the threshold. */
    fvm_value v = fvm_vm_get_slot(vm, 0);
    cr_assert_gt(v.as.i, 1000000);
    fvm_vm_free(vm);
    fvm_jit_free(j);
    fvm_chunk_free(c);
}

/* The seed's trace tests: a context with tracing on runs the 200-iteration
 * counter loop, compiles it and writes a .trc.fjit file; a second context
 * on the same directory loads it instead of recording, with the same
 * result; a damaged blob is refused and the trace recorded again. */
Test(jit_trace, traces_persist_in_the_disk_cache_and_load_in_a_second_context)
{
    char *dir = fst_tmp_dir("trace");
    fvm_chunk *c = counter_loop(200);
    fvm_jit *first = trace_jit(dir);
    cr_assert_eq(run_int(c, first), 200);
    fvm_jit_counters s = stats_of(first);
    cr_assert_eq(s.traces, 1);
    cr_assert_eq(s.disk_stores, 1);
    cr_assert_eq(fst_count_files(dir, ".trc.fjit"), 1);
    fvm_jit_free(first);

    fvm_jit *second = trace_jit(dir);
    cr_assert_eq(run_int(c, second), 200);
    s = stats_of(second);
    cr_assert_eq(s.disk_loads, 1);
    cr_assert_eq(s.traces, 1);
    cr_assert_eq(s.compiles, 0); /* loaded, not recorded */
    cr_assert_geq(s.runs[FVM_JIT_TRACE], 1);
    fvm_jit_free(second);
    fvm_chunk_free(c);
    fst_drop_dir(dir);
}

Test(jit_trace, a_damaged_trace_blob_is_refused_and_recompiled)
{
    char *dir = fst_tmp_dir("trace_bad");
    fvm_chunk *c = counter_loop(200);
    fvm_jit *first = trace_jit(dir);
    cr_assert_eq(run_int(c, first), 200);
    fvm_jit_free(first);
    /* Damage the blob: one byte in the middle flipped. */
    char name[256] = "";
    DIR *dp = opendir(dir);
    cr_assert_not_null(dp);
    struct dirent *e;
    while ((e = readdir(dp)))
        if (strstr(e->d_name, ".trc.fjit"))
            snprintf(name, sizeof name, "%s", e->d_name);
    closedir(dp);
    cr_assert_neq(name[0], 0);
    char *path = fst_path_in(dir, name);
    size_t len;
    uint8_t *bytes = fst_read_file(path, &len);
    bytes[len / 2] ^= 0x5a;
    fst_write_file(path, bytes, len);
    free(bytes);

    fvm_jit *second = trace_jit(dir);
    cr_assert_eq(run_int(c, second), 200);
    fvm_jit_counters s = stats_of(second);
    cr_assert_eq(s.disk_loads, 0);
    cr_assert_eq(s.compiles, 1);
    cr_assert_eq(s.traces, 1);
    fvm_jit_free(second);
    free(path);
    fvm_chunk_free(c);
    fst_drop_dir(dir);
}
