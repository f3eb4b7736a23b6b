/* The seam between the VM and the JIT: all the interpreter knows of a JIT,
 * and all that JIT code may touch of a VM.
 *
 * The VM (vm.c, vm_api.c) includes no JIT header. A JIT context hands it one
 * table of hooks, fvm_jit_hooks, fetched once when the context is attached
 * (fvm_vm_set_jit). A hook that is NULL is one no tier of this build
 * implements yet; its comment below is the contract the tier that brings it
 * must meet, and the interpreter holds no code for it until then.
 *
 * The JIT (src/jit/) includes no vm.h. Its C code reads and writes VM state
 * through the accessors at the end of this file; its generated code will
 * read fvm_vm_state, whose layout is part of this seam.
 *
 *   interpreter                              JIT context
 *   fvm_vm_run ───────── exec(c) ─────────►  the ops to run c from
 *   FVM_XOP_JIT_ENTER ── enter(vm) ───────►  native code; "resumed" or an op
 *   taken jump, call, return: the poll word (fvm_vm_state.poll)
 *   ◄──────── fvm_vm_jit_slots, _push, _set_ip ... (accessors)
 */
#ifndef FVM_VM_JIT_H
#define FVM_VM_JIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunk.h"

/* ------------------------------------------------------------------------
 * The VM state block
 *
 * The part of a VM that generated code reads, at a fixed layout (offsets
 * below are the seam, not just the field names). The interpreter checks
 * poll at every taken jump (so at every loop's back-edge), every call and
 * every return, and once more after native code returns: one load and a
 * branch that is never taken while nothing is pending. A trace's loop
 * checks the same word at its back-edge (the tracing tier hands native
 * code its address, fvm_vm_jit_state) and leaves through an exit when it
 * is non-zero, so that the interpreter serves it after the exit
 * (FVM_JIT_RESUMED below). The block tier's loops do not check it yet:
 * such a native loop runs to its end before an interrupt is seen.
 *
 * One word serves everything that must stop or divert a running program
 * at a safe point, each with its own bit:
 *   FVM_POLL_INTERRUPT  fvm_vm_interrupt: the run ends with the error
 *                       "interrupted". Cleared when the outermost run or
 *                       call ends.
 *   FVM_POLL_FUEL       an instruction budget is set (fvm_vm_set_fuel):
 *                       the bit stays set while it is, so that every poll
 *                       takes the slow path, which charges fuel (below)
 *                       for the ops run since the previous poll and ends
 *                       the run when it goes negative. Without a budget
 *                       the fast path stays a single load.
 * and, when they come, with bits of their own in the same word: profiling
 * (a timer's signal handler sets a bit; the slow path samples the ip and
 * clears it) and the JIT's own requests (handed to the poll hook below).
 * The slow path is fvm_poll (vm_api.c).
 *
 * fuel is the budget's ops left. The interpreter charges the ops it ran:
 * between two polls it runs straight on, so a poll charges the distance
 * in op indices from where it resumed after the previous one (a fused
 * superinstruction counts as the ops it replaces). Native code is charged
 * when it polls: today, when it returns, the interpreter's poll charges
 * the distance from its last mark to where the code resumed, which counts
 * a block region's ops once per entry, and as little as one op per
 * iteration for a trace that leaves at its back-edge because the fuel bit
 * is set (it still stops: every poll charges at least one op). A tier
 * that wants the interpreter's count subtracts its loop's op count from
 * fuel at the back-edge and leaves when the result is negative; the stop
 * point then differs from the interpreter's by up to one iteration, with
 * the same error. Only the VM's thread touches fuel.
 *
 * Setters of poll use an atomic read-modify-write, so any thread or a
 * signal handler may set a bit while the program runs (a lock-free atomic
 * is async-signal-safe); readers use a relaxed load, a plain mov on x86-64.
 * ------------------------------------------------------------------------ */

typedef struct fvm_vm_state {
    _Atomic uint32_t poll; /* offset 0: FVM_POLL_* bits; 0 while nothing is pending */
    uint32_t reserved_;    /* offset 4: keeps fuel 8-byte aligned */
    int64_t fuel;          /* offset 8: ops left while FVM_POLL_FUEL is set */
} fvm_vm_state;

enum { FVM_POLL_INTERRUPT = 1u << 0, FVM_POLL_FUEL = 1u << 1 };

_Static_assert(offsetof(fvm_vm_state, poll) == 0, "generated code reads the poll word at offset 0");
_Static_assert(offsetof(fvm_vm_state, fuel) == 8, "generated code charges fuel at offset 8");
_Static_assert(sizeof(_Atomic uint32_t) == 4, "generated code reads the poll word as 32 bits");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "a signal handler may set the poll word");

/* ------------------------------------------------------------------------
 * The hooks
 *
 * enter, hotspot and record run with the VM saved at the op that called
 * them (fvm_vm_jit_ip is that op's index) and answer either an op code,
 * which the interpreter then runs in place of the op that called the hook
 * (the op it replaced in the execution copy), or FVM_JIT_RESUMED: the hook
 * moved the VM on (ran native code and applied its exit), and frames,
 * slots, stack and ip are where the interpreter would have left them. The
 * interpreter then reloads all of them, frame included (an exit inside
 * inlined calls materialises their frames), checks the poll word, and goes
 * on at fvm_vm_jit_ip.
 * ------------------------------------------------------------------------ */

#define FVM_JIT_RESUMED (-1)

typedef struct fvm_jit_hooks {
    /* The ops the VM runs c from, asked at the start of every run: c->exec,
     * or a copy of it owned by the context (living as long as the context)
     * in which some ops are replaced by the internal ops that call the
     * hooks below: FVM_XOP_JIT_ENTER at the start of each block-tier region
     * (superop.h). A tier that counts hot spots adds its counting ops to the
     * same copy, so the interpreter pays for counting only where a tier
     * asked for it.
     *
     * A VM with an undef or numeric hook set (hooks.c) does not ask: it
     * runs the hooks' own copy of the ops, so none of the hooks below is
     * ever called for it and no native code runs. That one check in
     * fvm_vm_run is how every tier, present or future, honours the hooks
     * exactly. */
    const fvm_op *(*exec)(fvm_jit *j, const fvm_chunk *c);

    /* For FVM_XOP_JIT_ENTER: run the native code that starts at the VM's
     * ip, or decline (not hot yet, no code) with the op the entry op
     * replaced. */
    int (*enter)(fvm_jit *j, fvm_vm *vm);

    /* NULL when no tier counts hot spots. For FVM_XOP_JIT_HOT, which a
     * tier that counts loops puts in its exec copy in place of every loop
     * header (the target of a backward jump, reached by the taken
     * back-edge on every iteration): count the header, enter native code
     * that starts there, or start recording a trace; answer as enter
     * does. Jumps themselves do not change, so nothing is paid while no
     * such tier is attached. */
    int (*hotspot)(fvm_jit *j, fvm_vm *vm);

    /* NULL when no tier records. While a trace is recorded the VM runs a
     * recording copy of the ops in which every op is FVM_XOP_JIT_RECORD.
     * The tier switches the VM to that copy and back
     * (fvm_vm_jit_set_exec) from hotspot or record, and the interpreter
     * reloads its ops pointer after those two hooks, and only there: its
     * ordinary dispatch carries no recording test. record sees the op at
     * the VM's ip with the values it is about to read, notes it, and
     * answers the op code to run at that ip in the copy the VM runs
     * afterwards, or FVM_JIT_RESUMED (the recording ended and its trace
     * ran). A run that ends while a trace is recorded leaves the VM on the
     * recording copy; exec, asked at the start of the next run, ends that
     * recording. */
    int (*record)(fvm_jit *j, fvm_vm *vm);

    /* NULL until the tracing tier. Called after an exit has been resumed:
     * the tier's snapshot code has rebuilt the frames of the calls the
     * trace inlined (fvm_vm_jit_push_frame, added with it) before enter or
     * hotspot answered FVM_JIT_RESUMED, the interpreter has reloaded its
     * state, and resume lets the tier act on the rebuilt state before the
     * next op: count the exit and, when it is hot, start recording a side
     * trace there. Checked on the resumed path only, never per op. */
    void (*resume)(fvm_jit *j, fvm_vm *vm);

    /* NULL until a tier sets poll bits of its own (a compile finished on
     * another thread, a recording to stop at the next safe point). The
     * interpreter's poll path serves the VM's bits itself and hands the
     * JIT's to poll, which clears what it served and answers
     * FVM_JIT_RESUMED to go on, or anything else to end the run with the
     * error it raised. */
    int (*poll)(fvm_jit *j, fvm_vm *vm, uint32_t bits);
} fvm_jit_hooks;

/* The hooks of context j, or NULL when this build has no tier that works
 * for VMs (the VM then only interprets); exec and enter are never NULL in
 * a table it returns. Defined by the JIT (jit.c). */
const fvm_jit_hooks *fvm_jit_vm_hooks(fvm_jit *j);

/* ------------------------------------------------------------------------
 * VM state for JIT code (vm_api.c)
 *
 * Valid while a hook runs, when the VM has saved its state. Pointers into
 * the slot arena stay valid until the next call that may grow it
 * (reserve, grow, and frames pushed).
 * ------------------------------------------------------------------------ */

/* The chunk the VM runs. */
const fvm_chunk *fvm_vm_jit_chunk(const fvm_vm *vm);
/* The op the VM is at, and where it goes on. */
size_t fvm_vm_jit_ip(const fvm_vm *vm);
void fvm_vm_jit_set_ip(fvm_vm *vm, size_t ip);
/* The top frame's slot window (see vm.h, "A call frame"): at least as
 * many cells as it has slots, and as many as were reserved. */
fvm_value *fvm_vm_jit_slots(fvm_vm *vm);
/* Make the top frame's window at least n cells (the new ones Undef)
 * without changing its slot count; false when there is no frame, or n is
 * more than a frame can have (65536). */
bool fvm_vm_jit_reserve_slots(fvm_vm *vm, size_t n);
/* Make the top frame's slot count at least n, as a write to slot n - 1
 * would; false when there is no frame, or n is more than 65536. */
bool fvm_vm_jit_grow_slots(fvm_vm *vm, size_t n);
/* Push v (taken) on the value stack. */
void fvm_vm_jit_push(fvm_vm *vm, fvm_value v);
/* The ops the interpreter runs from the next op on (see record). */
void fvm_vm_jit_set_exec(fvm_vm *vm, const fvm_op *ops);
/* How many frames are active: a trace is recorded in one frame. */
size_t fvm_vm_jit_frames(const fvm_vm *vm);
/* The top frame's slot count. */
size_t fvm_vm_jit_nslots(const fvm_vm *vm);
/* The value stack's depth. */
size_t fvm_vm_jit_stack_depth(const fvm_vm *vm);
/* Push a frame as a call does (its slot window above the top frame's
 * slots, returning to return_ip, its stack from stack_base, named for
 * tracebacks after the subroutine of the Call before return_ip); false
 * when the frame limit is reached. */
bool fvm_vm_jit_push_frame(fvm_vm *vm, uint32_t return_ip, size_t stack_base);
/* The most frames a run may have. */
size_t fvm_vm_jit_max_frames(const fvm_vm *vm);
/* The global variables (indexed by name) and their count in *n. */
fvm_value *fvm_vm_jit_globals(fvm_vm *vm, size_t *n);
/* The VM's state block, whose poll word native loops read. */
fvm_vm_state *fvm_vm_jit_state(fvm_vm *vm);

#endif
