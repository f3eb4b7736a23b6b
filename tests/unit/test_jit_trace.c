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

/* A loop over a string cannot be recorded yet: each recording is given
 * up at the string constant, the header waits longer after each, and
 * after max_compile_failures it is never counted again. */
Test(jit_trace, a_loop_that_cannot_be_recorded_is_blacklisted)
{
    fvm_chunk *c = assemble("    LoadInt 0\n    SetSlot 0\n"
                            "loop:\n    GetSlot 0\n    Pop\n    LoadConst \"ab\"\n    Pop\n"
                            "    SlotIncLtIntJumpBack 0 100000 loop\n"
                            "    GetSlot 0\n");
    fvm_jit *j = trace_jit(FVM_JIT_CACHE_OFF);
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_RETRY_BACKOFF, 4), 0);
    cr_assert_eq(run_int(c, j), 100000);
    fvm_jit_counters s = stats_of(j);
    uint64_t tries = fvm_jit_get_param(j, FVM_JIT_PARAM_MAX_COMPILE_FAILURES);
    cr_assert_eq(s.trace_aborts, tries);
    cr_assert_eq(s.reasons[FVM_JIT_REASON_CONST_KIND], tries);
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
    cr_assert_eq(s.compiles, 1); /* the load (a load counts as a compile) */
    cr_assert_eq(s.disk_stores, 0); /* nothing recorded and stored again */
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

/* ---- calls inlined into traces ------------------------------------------------------ */

/* Programs whose loops call subroutines: a leaf, a callee with a branch
 * that goes the other way now and then (an exit inside the inlined frame,
 * which the exit must rebuild), a callee whose result changes kind
 * mid-loop, calls nested two deep, a recursion shallower and one deeper
 * than max_inline_recursion, a callee writing globals, and a callee that
 * returns without a value. Each runs under the interpreter and under the
 * tracing tier at several thresholds (0: every exit grows a side path at
 * once); result, every slot of the entered frame and every global must
 * be the interpreter's. */
static const char *const call_programs[] = {
    /* a leaf */
    "    LoadInt 0\n    SetSlot 0\n    LoadInt 0\n    SetSlot 1\n"
    "loop:\n    GetSlot 1\n    GetSlot 0\n    LoadInt 3\n    Call mul 2\n    Add\n    SetSlot 1\n"
    "    SlotIncLtIntJumpBack 0 3000 loop\n    GetSlot 1\n    Jump end\n"
    ".sub mul\n    SetSlot 1\n    SetSlot 0\n    GetSlot 0\n    GetSlot 1\n    Mul\n    ReturnValue\n"
    "end:\n",
    /* a branch in the callee, taken one time in 97 */
    "    LoadInt 0\n    SetSlot 0\n    LoadInt 0\n    SetSlot 1\n"
    "loop:\n    GetSlot 1\n    GetSlot 0\n    Call f 1\n    Add\n    SetSlot 1\n"
    "    SlotIncLtIntJumpBack 0 3000 loop\n    GetSlot 1\n    Jump end\n"
    ".sub f\n    SetSlot 0\n    GetSlot 0\n    LoadInt 97\n    Mod\n    LoadInt 0\n    NumEq\n"
    "    JumpIfFalse plain\n    GetSlot 0\n    LoadInt 5\n    Mul\n    SetSlot 2\n    GetSlot 2\n"
    "    ReturnValue\nplain:\n    GetSlot 0\n    LoadInt 1\n    Sub\n    ReturnValue\n"
    "end:\n",
    /* the callee's result turns Float at 1500 */
    "    LoadInt 0\n    SetSlot 0\n    LoadInt 0\n    SetSlot 1\n"
    "loop:\n    GetSlot 1\n    GetSlot 0\n    Call g 1\n    Add\n    SetSlot 1\n"
    "    SlotIncLtIntJumpBack 0 3000 loop\n    GetSlot 1\n    TruncInt\n    Jump end\n"
    ".sub g\n    SetSlot 0\n    GetSlot 0\n    LoadInt 1500\n    NumLt\n    JumpIfTrue small\n"
    "    GetSlot 0\n    LoadFloat 0.5\n    Mul\n    ReturnValue\nsmall:\n    GetSlot 0\n    ReturnValue\n"
    "end:\n",
    /* two deep, with an exit in the inner call every 50 */
    "    LoadInt 0\n    SetSlot 0\n    LoadInt 0\n    SetSlot 1\n"
    "loop:\n    GetSlot 0\n    Call outer 1\n    GetSlot 1\n    Add\n    SetSlot 1\n"
    "    SlotIncLtIntJumpBack 0 3000 loop\n    GetSlot 1\n    Jump end\n"
    ".sub outer\n    SetSlot 0\n    GetSlot 0\n    LoadInt 2\n    Call inner 2\n    LoadInt 1\n"
    "    Add\n    ReturnValue\n"
    ".sub inner\n    SetSlot 1\n    SetSlot 0\n    GetSlot 0\n    LoadInt 50\n    Mod\n"
    "    JumpIfTrue mulit\n    GetSlot 0\n    Negate\n    ReturnValue\n"
    "mulit:\n    GetSlot 0\n    GetSlot 1\n    Mul\n    ReturnValue\n"
    "end:\n",
    /* recursion 3 deep (inlined) */
    "    LoadInt 0\n    SetSlot 0\n    LoadInt 0\n    SetSlot 1\n"
    "loop:\n    GetSlot 1\n    LoadInt 3\n    Call fact 1\n    Add\n    SetSlot 1\n"
    "    SlotIncLtIntJumpBack 0 2000 loop\n    GetSlot 1\n    Jump end\n"
    ".sub fact\n    SetSlot 0\n    GetSlot 0\n    LoadInt 1\n    NumLe\n    JumpIfTrue one\n"
    "    GetSlot 0\n    GetSlot 0\n    Dec\n    Call fact 1\n    Mul\n    ReturnValue\n"
    "one:\n    LoadInt 1\n    ReturnValue\n"
    "end:\n",
    /* recursion 8 deep: past max_inline_recursion, the loop stays interpreted */
    "    LoadInt 0\n    SetSlot 0\n    LoadInt 0\n    SetSlot 1\n"
    "loop:\n    GetSlot 1\n    LoadInt 8\n    Call fact 1\n    Add\n    SetSlot 1\n"
    "    SlotIncLtIntJumpBack 0 2000 loop\n    GetSlot 1\n    Jump end\n"
    ".sub fact\n    SetSlot 0\n    GetSlot 0\n    LoadInt 1\n    NumLe\n    JumpIfTrue one\n"
    "    GetSlot 0\n    GetSlot 0\n    Dec\n    Call fact 1\n    Mul\n    ReturnValue\n"
    "one:\n    LoadInt 1\n    ReturnValue\n"
    "end:\n",
    /* a callee writing a global, returning nothing */
    "    LoadInt 0\n    SetVar total\n    LoadInt 0\n    SetSlot 0\n"
    "loop:\n    GetSlot 0\n    Call bump 1\n"
    "    SlotIncLtIntJumpBack 0 3000 loop\n    GetVar total\n    Jump end\n"
    ".sub bump\n    SetSlot 0\n    GetVar total\n    GetSlot 0\n    Add\n    SetVar total\n"
    "    GetSlot 0\n    LoadInt 1000\n    NumEq\n    JumpIfFalse done\n    LoadFloat 0.25\n"
    "    SetVar total\ndone:\n    Return\n"
    "end:\n",
};

static void check_calls(const char *text, uint64_t threshold, uint64_t *traces)
{
    fvm_chunk *c = assemble(text);
    fvm_vm *want = fvm_vm_new(c);
    fvm_result w = fvm_vm_run(want);
    cr_assert_eq(w.status, FVM_RUN_OK, "%s", fvm_vm_error(want));
    fvm_jit *j = trace_jit(FVM_JIT_CACHE_OFF);
    fvm_jit_set_param(j, FVM_JIT_PARAM_TRACE_THRESHOLD, threshold);
    fvm_vm *got = fvm_vm_new(c);
    fvm_vm_set_jit(got, j);
    fvm_result g = fvm_vm_run(got);
    cr_assert_eq(g.status, FVM_RUN_OK, "threshold %llu: %s", (unsigned long long)threshold,
                 fvm_vm_error(got));
    cr_assert_eq(g.value.type, w.value.type);
    cr_assert_eq(g.value.as.i, w.value.as.i, "threshold %llu: %lld, interpreter %lld",
                 (unsigned long long)threshold, (long long)g.value.as.i, (long long)w.value.as.i);
    cr_assert_eq(fvm_vm_frame_count(got), fvm_vm_frame_count(want));
    for (size_t k = 0; k < fvm_vm_frame_slot_count(want, 0); k++) {
        fvm_value a = fvm_vm_frame_slot(want, 0, k), b = fvm_vm_frame_slot(got, 0, k);
        cr_assert(a.type == b.type && a.as.i == b.as.i, "slot %zu differs", k);
    }
    for (size_t k = 0; k < fvm_vm_global_count(want); k++) {
        fvm_value a = fvm_vm_global(want, k), b = fvm_vm_global(got, k);
        cr_assert(a.type == b.type && a.as.i == b.as.i, "global %zu differs", k);
    }
    fvm_jit_counters s = stats_of(j);
    *traces += s.traces;
    fvm_vm_free(want);
    fvm_vm_free(got);
    fvm_jit_free(j);
    fvm_chunk_free(c);
}

Test(jit_trace, loops_calling_subroutines_match_the_interpreter_at_every_threshold)
{
    static const uint64_t thresholds[] = {0, 1, 2, 7, 50};
    for (size_t p = 0; p < sizeof call_programs / sizeof *call_programs; p++) {
        uint64_t traces = 0;
        for (size_t t = 0; t < sizeof thresholds / sizeof *thresholds; t++)
            check_calls(call_programs[p], thresholds[t], &traces);
        /* Every program's loop is traced but the one whose recursion is
         * deeper than a trace inlines. */
        if (p == 5)
            cr_assert_eq(traces, 0, "program %zu", p);
        else
            cr_assert_gt(traces, 0, "program %zu", p);
    }
}

/* An exit inside an inlined call rebuilds the call's frame: the
 * interpreter goes on in the callee, at the op that left, with its slots. */
Test(jit_trace, an_exit_inside_an_inlined_call_rebuilds_its_frame)
{
    fvm_chunk *c = assemble(call_programs[1]);
    fvm_jit *j = trace_jit(FVM_JIT_CACHE_OFF);
    fvm_jit_set_param(j, FVM_JIT_PARAM_TRACE_THRESHOLD, 5);
    fvm_vm *vm = fvm_vm_new(c);
    fvm_vm_set_jit(vm, j);
    fvm_result r = fvm_vm_run(vm);
    cr_assert_eq(r.status, FVM_RUN_OK);
    fvm_jit_counters s = stats_of(j);
    /* The branch in f went the other way about 3000 / 97 times, each an
     * exit inside the inlined frame (f's frames cannot grow side paths). */
    cr_assert_geq(s.reasons[FVM_JIT_REASON_EXIT_BRANCH], 20);
    cr_assert_eq(s.side_traces, 0);
    fvm_vm_free(vm);
    fvm_jit_free(j);
    fvm_chunk_free(c);
}

/* With both tiers on, a loop inside a region the block tier runs is left
 * to it: its header is not counted, and the outer loop's recording gives
 * up at it rather than unroll it into a trace that would leave inside the
 * inlined call on every iteration. */
Test(jit_trace, a_loop_the_block_tier_runs_is_left_to_it)
{
    fvm_chunk *c = assemble("    LoadInt 0\n    SetSlot 0\n    LoadInt 0\n    SetSlot 1\n"
                            "outer:\n    GetSlot 1\n    GetSlot 0\n    Call inner 1\n    Add\n"
                            "    SetSlot 1\n    SlotIncLtIntJumpBack 0 2000 outer\n    GetSlot 1\n"
                            "    Jump end\n"
                            ".sub inner\n    SetSlot 0\n    LoadInt 0\n    SetSlot 1\n"
                            "loop:\n    GetSlot 1\n    GetSlot 0\n    Add\n    SetSlot 1\n"
                            "    GetSlot 0\n    Dec\n    SetSlot 0\n    GetSlot 0\n    LoadInt 0\n    NumGt\n"
                            "    JumpIfTrue loop\n    GetSlot 1\n    ReturnValue\n"
                            "end:\n");
    int64_t want = run_int(c, NULL);
    fvm_jit *j = trace_jit(FVM_JIT_CACHE_OFF);
    fvm_jit_set_param(j, FVM_JIT_PARAM_VM_TIERS, 1u << FVM_JIT_BLOCK | 1u << FVM_JIT_TRACE);
    fvm_jit_set_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD, 0);
    fvm_jit_set_param(j, FVM_JIT_PARAM_TRACE_THRESHOLD, 2);
    cr_assert_eq(run_int(c, j), want);
    fvm_jit_counters s = stats_of(j);
    cr_assert_gt(s.runs[FVM_JIT_BLOCK], 1000);
    cr_assert_eq(s.traces, 0);
    cr_assert_geq(s.reasons[FVM_JIT_REASON_TRACE_INNER_LOOP], 1);
    fvm_jit_free(j);
    fvm_chunk_free(c);
}
