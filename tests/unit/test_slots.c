/* Slots a frame never wrote: reading one gives Undef and costs no memory,
 * however deep the recursion (docs/ARCHITECTURE.md, "Frames and slots");
 * writing one grows the frame's slot count, as upstream's SetSlot does. */
#include "vmtest.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SLOTS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLOTS_ASAN 1
#endif
#endif
#ifndef SLOTS_ASAN
#define SLOTS_ASAN 0
#endif

static fvm_chunk *assemble(const char *text)
{
    char *errors = NULL;
    fvm_chunk *c = fvm_assemble(text, strlen(text), "test", &errors);
    cr_assert_not_null(c, "%s\n%s", text, errors ? errors : "");
    return c;
}

/* Assemble and run text on a fresh VM; the result's value is the caller's. */
static fvm_result run_text(const char *text)
{
    vt t;
    vt_open(&t, assemble(text));
    fvm_result r = vt_run(&t);
    cr_assert_eq(r.status, FVM_RUN_OK, "%s: %s", text, fvm_vm_error(t.vm));
    t.r.value = fvm_undef(); /* handed to the caller */
    vt_close(&t);
    return r;
}

/* ------------------------------------------------------------------------
 * Recursion that reads high slots
 * ------------------------------------------------------------------------ */

/* The child's side: run the recursion under the default frame limit and
 * exit 0 if it ended with the call-depth error. */
static void recurse_in_child(const char *text)
{
    if (!SLOTS_ASAN) { /* AddressSanitizer's shadow memory needs more address space */
        struct rlimit lim = {(rlim_t)512 << 20, (rlim_t)512 << 20};
        setrlimit(RLIMIT_AS, &lim);
    }
    char *errors = NULL;
    fvm_chunk *c = fvm_assemble(text, strlen(text), "test", &errors);
    if (!c)
        _exit(2);
    fvm_vm *vm = fvm_vm_new(c);
    fvm_result r = fvm_vm_run(vm);
    bool ok = r.status == FVM_RUN_ERROR &&
              strncmp(fvm_vm_error(vm), "call depth limit exceeded", 25) == 0;
    if (!ok)
        fprintf(stderr, "status %d: %s\n", (int)r.status, fvm_vm_error(vm));
    _exit(ok ? 0 : 1);
}

/* f recurses without end, running body (which reads high slots, writes
 * none of them and leaves the stack as it found it) in every frame. The
 * run must end with the call-depth error within a second (a few under
 * AddressSanitizer), in a child limited to 512 MiB of address space whose
 * peak RSS stays under 128 MiB (the frames themselves take 20 MiB). */
static void expect_cheap_recursion(const char *body)
{
    char text[1024];
    snprintf(text, sizeof text,
             ".sub f body\n    Call f 0\n    Jump done\nbody:\n%s    Call f 0\n    Return\n"
             "done:\n    Nop\n",
             body);
    fflush(NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        recurse_in_child(text);
    int status = 0;
    struct rusage ru;
    cr_assert_eq(wait4(pid, &status, 0, &ru), pid);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "%s\nthe run did not end with the call-depth error (status 0x%x)", text, status);
    cr_assert_lt(secs, SLOTS_ASAN ? 10.0 : 1.0, "%s\ntook %.2f s", text, secs);
    cr_assert_lt(ru.ru_maxrss, (SLOTS_ASAN ? 512 : 128) * 1024L, "%s\npeak RSS %ld KiB", text,
                 ru.ru_maxrss);
}

Test(slots, recursion_reading_a_high_slot_hits_the_frame_limit)
{
    expect_cheap_recursion("    GetSlot 65535\n    Pop\n");
}

/* Every other op that reads a slot, with the slots it reads high and the
 * ones it writes (if any) low: each forms (or, through the load-time
 * superinstructions, becomes) an op reading slot 65535. The ops that read
 * and write the same slot (PreIncSlot, SlotIncLtIntJumpBack, AccumSumLoop,
 * ConcatConstLoop, PushIntRangeLoop...) write it, so they grow the frame as
 * upstream does: writes_grow_the_slot_count covers them. */
static const char *const high_slot_readers[] = {
    "    LoadInt 3\n    SlotArrayGet 65535\n    Pop\n",
    "    LoadInt 1\n    LoadInt 3\n    SlotArraySet 65535\n",
    "    SlotLtIntJumpIfFalse 65535 10 skip\nskip:\n",
    "    AddAssignSlotVoid 0 65535\n",
    /* the load-time superinstructions */
    "    GetSlot 65535\n    GetSlot 65534\n    Pop\n    Pop\n",
    "    GetSlot 65535\n    LoadInt 2\n    Add\n    Pop\n",
    "    GetSlot 65535\n    LoadInt 2\n    Mul\n    SetSlot 0\n",
    "    GetSlot 65535\n    LoadInt 2\n    NumLt\n    JumpIfFalse skip\nskip:\n",
    "    GetSlot 65535\n    SetSlot 1\n",
    "    GetSlot 65535\n    GetSlot 65534\n    Sub\n    SetSlot 0\n",
    "    GetSlot 65535\n    Inc\n    Pop\n",
    "    GetSlot 65535\n    Dec\n    SetSlot 2\n",
};

Test(slots, recursion_reading_high_slots_through_other_ops_hits_the_frame_limit)
{
    for (size_t i = 0; i < sizeof high_slot_readers / sizeof high_slot_readers[0]; i++)
        expect_cheap_recursion(high_slot_readers[i]);
}

/* ------------------------------------------------------------------------
 * Reads of absent slots, writes that grow
 * ------------------------------------------------------------------------ */

Test(slots, absent_slots_read_as_undef)
{
    /* past the slot count (slot 3 is below slot 40, which is written) */
    fvm_result r = run_text("    PushFrame\n    LoadInt 7\n    SetSlot 40\n    GetSlot 3\n");
    VT_EXPECT(r.value, fvm_undef());
    r = run_text("    GetSlot 65535\n");
    VT_EXPECT(r.value, fvm_undef());
    r = run_text("    LoadInt 0\n    SlotArrayGet 65535\n");
    VT_EXPECT(r.value, fvm_undef());
    /* read as Int by the fused ops: 0 */
    r = run_text("    SlotLtIntJumpIfFalse 65535 1 no\n    LoadInt 1\n    Jump end\nno:\n    LoadInt 2\n"
                 "end:\n    Nop\n");
    VT_EXPECT(r.value, fvm_int(1));
    r = run_text("    LoadInt 5\n    SetSlot 0\n    AddAssignSlotVoid 0 65535\n    GetSlot 0\n");
    VT_EXPECT(r.value, fvm_int(5));
}

/* A callee reads Undef in the slots its caller has written, and the caller
 * reads Undef, after the call, in the slots the callee wrote past its own. */
Test(slots, frames_do_not_see_each_others_slots)
{
    fvm_result r = run_text(".sub g body\n"
                            "    LoadInt 1\n    SetSlot 0\n"
                            "    Call g 0\n"
                            "    GetSlot 0\n    GetSlot 1\n    GetSlot 2\n    MakeArray 3\n    Jump end\n"
                            "body:\n"
                            "    GetSlot 0\n    SetSlot 5\n"
                            "    LoadInt 8\n    SetSlot 1\n    LoadInt 9\n    SetSlot 2\n"
                            "    Return\n"
                            "end:\n    Nop\n");
    VT_EXPECT(r.value, VT_ARRAY(fvm_int(1), fvm_undef(), fvm_undef()));
}

/* Writes past the slot count grow it, including the read-and-write fused
 * ops, which read the absent slot as 0. */
Test(slots, writes_grow_the_slot_count)
{
    static const struct {
        const char *text;
        int64_t want;
    } cases[] = {
        {"    LoadInt 4\n    SetSlot 65535\n    GetSlot 65535\n", 4},
        {"    PreIncSlot 65535\n    Pop\n    GetSlot 65535\n", 1},
        {"    PreIncSlotVoid 65535\n    GetSlot 65535\n", 1},
        {"    PreDecSlot 65535\n    Pop\n    GetSlot 65535\n", -1},
        {"    PostIncSlot 65535\n    Pop\n    GetSlot 65535\n", 1},
        {"    PostDecSlot 65535\n    Pop\n    GetSlot 65535\n", -1},
        {"    SlotIncLtIntJumpBack 65535 0 0\n    GetSlot 65535\n", 1},
        {"    AddAssignSlotVoid 65535 0\n    GetSlot 65535\n", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fvm_result r = run_text(cases[i].text);
        VT_EXPECT(r.value, fvm_int(cases[i].want));
    }
    vt t;
    vt_open(&t, assemble("    PushFrame\n    LoadInt 4\n    SetSlot 9\n    GetSlot 700\n"));
    vt_run(&t);
    cr_assert_eq(fvm_vm_frame_count(t.vm), 2);
    cr_assert_eq(fvm_vm_frame_slot_count(t.vm, 1), 10); /* the read did not grow it */
    vt_close(&t);
}
