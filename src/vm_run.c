/* Running a program: fvm_vm_run from the VM's ip; fvm_vm_call, which
 * runs one subroutine on top of whatever is running (a builtin may call
 * it) and leaves the VM as it found it; and fvm_vm_run_nested, which does
 * the same with another chunk (a host's sub-chunk). */
#include <stdlib.h>

#include "vm.h"

/* The start and end of a run or call: the outermost picks the ops to run
 * and, at its end, drops an interrupt request (it was for this run). */
static void run_begin(fvm_vm *vm)
{
    if (vm->depth++ > 0)
        return;
    /* A VM with hooks runs their copy and never native code, whose tiers
     * do not model them (vm_jit.h). */
    const fvm_op *hooked = fvm_hooks_exec(vm);
    vm->exec = hooked                ? hooked
               : vm->jit_hooks ? vm->jit_hooks->exec(vm->jit, vm->chunk)
                               : vm->chunk->exec;
}

static void run_end(fvm_vm *vm)
{
    if (--vm->depth == 0)
        atomic_fetch_and_explicit(&vm->state.poll, ~(uint32_t)FVM_POLL_INTERRUPT,
                                  memory_order_relaxed);
}

/* A run that ended by itself, at the end marker or a halt, is charged for
 * the ops it ran after its last poll, so that fvm_vm_fuel says what is
 * left; the budget is not enforced there: the run is over. */
static void charge_to_end(fvm_vm *vm)
{
    uint32_t bits = atomic_load_explicit(&vm->state.poll, memory_order_relaxed);
    if (!(bits & FVM_POLL_FUEL) || vm->ip <= vm->fuel_mark)
        return;
    vm->state.fuel -= (int64_t)(vm->ip - vm->fuel_mark);
    if (vm->state.fuel < 0)
        vm->state.fuel = 0;
}

fvm_result fvm_vm_run(fvm_vm *vm)
{
    vm->awk_signal = -1;
    vm->raised = false;
    run_begin(vm);
    vm->fuel_mark = vm->ip;
    /* A chunk that names builtins the VM lacks does not start at all. */
    if (vm->bind_error && !vm->ignore_missing) {
        fvm_fail(vm, "%s", vm->bind_error);
        vm->error_ip = vm->ip;
    } else if (!vm->halted && vm->ip <= vm->chunk->len) {
        fvm_interpret(vm);
    }
    if (vm->raised)
        fvm_traceback_capture(vm);
    else
        charge_to_end(vm);
    run_end(vm);
    fvm_result r = {FVM_RUN_HALTED, fvm_undef()};
    if (vm->raised) {
        r.status = FVM_RUN_ERROR;
        return r;
    }
    if (vm->sp) {
        r.status = FVM_RUN_OK;
        r.value = vm->stack[--vm->sp];
    }
    return r;
}

/* An error before the callee runs (fvm_fail has set it): recorded as one
 * raised where the VM is, and returned; raised is what the flag was
 * before. */
static fvm_result call_refused(fvm_vm *vm, bool raised)
{
    vm->error_ip = fvm_current_op(vm);
    fvm_traceback_capture(vm);
    vm->raised = raised;
    return (fvm_result){FVM_RUN_ERROR, fvm_undef()};
}

/* Run the callee, whose frame fvm_enter_sub pushed with the end marker
 * as its return ip: returning from it ends the interpreter there. */
static fvm_result call_run(fvm_vm *vm, size_t frames_below, size_t stack_below)
{
    fvm_interpret(vm);
    fvm_result r = {FVM_RUN_HALTED, fvm_undef()};
    if (vm->raised) {
        fvm_traceback_capture(vm);
        r.status = FVM_RUN_ERROR;
    } else if (vm->nframes == frames_below && !vm->halted) { /* it returned */
        r.status = FVM_RUN_OK;
        if (vm->sp > stack_below)
            r.value = vm->stack[--vm->sp];
    }
    while (vm->nframes > frames_below)
        fvm_frame_pop(vm);
    fvm_stack_truncate(vm, stack_below);
    return r;
}

fvm_result fvm_vm_call(fvm_vm *vm, const char *name, const fvm_value *args, size_t argc)
{
    /* What the run around the call (if any) goes on with. */
    size_t ip = vm->ip, sp = vm->sp, frames = vm->nframes, floor = vm->frame_floor;
    size_t mark = vm->fuel_mark;
    bool halted = vm->halted, raised = vm->raised;
    int32_t idx = fvm_chunk_find_name(vm->chunk, name, strlen(name));
    if (idx < 0 || fvm_chunk_find_sub(vm->chunk, (uint16_t)idx) < 0) {
        fvm_fail(vm, "undefined function: %s", name);
        return call_refused(vm, raised);
    }
    if (vm->depth > FVM_MAX_NESTED_CALLS) {
        fvm_fail(vm, "too many nested calls from C (calling %s)", name);
        return call_refused(vm, raised);
    }
    int signal = vm->awk_signal;
    fvm_host_call self = {vm->host_calls, frames, fvm_current_op(vm), vm->depth > 0};

    run_begin(vm);
    for (size_t i = 0; i < argc; i++)
        fvm_push(vm, fvm_value_copy(args[i]));
    vm->ip = vm->chunk->len;
    vm->fuel_mark = vm->ip; /* the call itself is charged as one op */
    vm->halted = false;
    vm->raised = false;
    vm->host_calls = &self;
    fvm_result r = {FVM_RUN_ERROR, fvm_undef()};
    if (fvm_enter_sub(vm, (uint16_t)idx, argc) == FVM_STEP_NEXT) {
        vm->frame_floor = vm->nframes;
        r = call_run(vm, frames, sp);
    } else { /* an interrupt, a spent budget or the frame limit, at the call */
        vm->error_ip = self.caller_ip;
        fvm_traceback_capture(vm);
        fvm_stack_truncate(vm, sp);
    }
    vm->host_calls = self.outer;
    vm->frame_floor = floor;
    vm->ip = ip;
    vm->fuel_mark = mark;
    vm->halted = halted;
    vm->raised = raised; /* the caller has the call's error in r and decides */
    if (vm->depth > 1)
        vm->awk_signal = signal;
    run_end(vm);
    return r;
}

/* ------------------------------------------------------------------------
 * Nested runs of another chunk (fusevm.h, "Running chunks from a host
 * entry")
 * ------------------------------------------------------------------------ */

void fvm_globals_by_name(const fvm_chunk *to_chunk, fvm_value *to, const fvm_chunk *from_chunk,
                         const fvm_value *from)
{
    for (size_t i = 0; i < to_chunk->nnames; i++) {
        for (size_t j = 0; j < from_chunk->nnames; j++) {
            if (fvm_str_eq(to_chunk->names[i], from_chunk->names[j])) {
                fvm_retain(from[j]);
                fvm_release(to[i]);
                to[i] = from[j];
                break;
            }
        }
    }
}

/* The caller's state a nested run replaces, to be put back after it. */
typedef struct run_state {
    const fvm_chunk *chunk;
    const fvm_op *exec;
    fvm_value *globals;
    size_t nglobals, ip, sp, nframes, frame_floor, fuel_mark;
    bool halted;
    int awk_signal;
} run_state;

/* Switch vm to chunk c, its globals taken by name from the caller's. */
static void nested_enter(fvm_vm *vm, const fvm_chunk *c)
{
    const fvm_chunk *caller = vm->chunk;
    fvm_value *caller_globals = vm->globals;
    vm->chunk = c;
    vm->nglobals = c->nnames;
    vm->globals = fvm_xcalloc(c->nnames ? c->nnames : 1, sizeof(fvm_value));
    fvm_globals_by_name(c, vm->globals, caller, caller_globals);
    vm->exec = vm->jit_hooks ? vm->jit_hooks->exec(vm->jit, c) : c->exec;
    vm->ip = 0;
    vm->fuel_mark = 0;
    vm->halted = false;
    vm->raised = false;
    vm->awk_signal = -1;
}

static void nested_leave(fvm_vm *vm, const run_state *st)
{
    while (vm->nframes > st->nframes)
        fvm_frame_pop(vm);
    fvm_stack_truncate(vm, st->sp);
    fvm_globals_by_name(st->chunk, st->globals, vm->chunk, vm->globals);
    for (size_t i = 0; i < vm->nglobals; i++)
        fvm_release(vm->globals[i]);
    free(vm->globals);
    vm->chunk = st->chunk;
    vm->exec = st->exec;
    vm->globals = st->globals;
    vm->nglobals = st->nglobals;
    vm->ip = st->ip;
    vm->frame_floor = st->frame_floor;
    vm->fuel_mark = st->fuel_mark;
    vm->halted = st->halted;
    vm->awk_signal = st->awk_signal;
    vm->raised = false; /* the error is the host entry's to report */
}

fvm_result fvm_vm_run_nested(fvm_vm *vm, const fvm_chunk *c)
{
    fvm_result r = {FVM_RUN_ERROR, fvm_undef()};
    run_state st = {vm->chunk,   vm->exec,        vm->globals,   vm->nglobals,
                    vm->ip,      vm->sp,          vm->nframes,   vm->frame_floor,
                    vm->fuel_mark, vm->halted,    vm->awk_signal};
    if (!c || vm->depth > FVM_MAX_NESTED_CALLS) {
        fvm_fail(vm, c ? "too many nested runs" : "no chunk to run");
        vm->raised = false;
        return r;
    }
    run_begin(vm);
    nested_enter(vm, c);
    /* The chunk's root frame returns nowhere and PopFrame cannot pop it,
     * so the caller's frames are out of its reach. */
    if (!fvm_frame_push(vm, FVM_RETURN_HALTS, vm->sp)) {
        fvm_fail(vm, "call depth limit exceeded (%zu frames)", vm->max_frames);
    } else {
        vm->frame_floor = vm->nframes;
        fvm_interpret(vm);
    }
    if (!vm->raised) {
        r.status = vm->sp > st.sp ? FVM_RUN_OK : FVM_RUN_HALTED;
        if (vm->sp > st.sp)
            r.value = vm->stack[--vm->sp];
    }
    nested_leave(vm, &st);
    run_end(vm);
    return r;
}
