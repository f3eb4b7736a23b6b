/* The VM's state, shared by the interpreter loop (vm.c) and the modules
 * that implement op families out of line (shell.c, awk.c). */
#ifndef FVM_VM_H
#define FVM_VM_H

#include "chunk.h"
#include "vm_jit.h"

/* A call frame. Slots live in one arena shared by all frames; a frame's
 * window is arena[slot_base .. slot_base + slot_cap). nslots is the
 * observable slot count (SetSlot beyond it grows it); cells between nslots
 * and slot_cap are always Undef. The next frame's window starts at
 * slot_base + nslots, so the part of a window past nslots is shared with
 * the frames above it and only the top frame's is in use. Only the top
 * frame can grow, and it can always grow, because it sits at the end of
 * the arena. */
typedef struct fvm_frame {
    uint32_t return_ip;
    uint32_t stack_base;
    uint32_t slot_base;
    uint32_t nslots;
    uint32_t slot_cap;
    uint32_t name; /* the subroutine's name index, or FVM_FRAME_UNNAMED */
} fvm_frame;

/* The name of a frame that no subroutine call made: the root frame and
 * PushFrame's. */
#define FVM_FRAME_UNNAMED UINT32_MAX

typedef struct fvm_builtin_entry {
    fvm_builtin_fn fn;
    void *ud;
    char *name; /* NULL: registered by id only */
} fvm_builtin_entry;

/* A request a scheduler op leaves for the scheduler running the VM
 * (sched.c): the op and its operands, popped, in push order (owned). */
typedef struct fvm_sched_req {
    unsigned op; /* FVM_OP_NOP: none pending */
    uint16_t a, b; /* the op's operands */
    fvm_value *vals;
    size_t nvals;
} fvm_sched_req;

/* The hooks that change what ops mean (hooks.c). While any is set the VM
 * runs exec, a copy of the chunk's ops in which each op a hook concerns is
 * FVM_XOP_HOOKED, and never native code. */
typedef struct fvm_vm_hooks {
    fvm_undef_fn undef;
    void *undef_ud;
    fvm_numeric_fn numeric;
    void *numeric_ud;
    fvm_sited_numeric_fn sited;
    void *sited_ud;
    bool has_range; /* fvm_vm_set_fixnum_range was called */
    int64_t range_lo, range_hi;
    fvm_op *exec;              /* the hooked copy, or NULL */
    const fvm_chunk *exec_for; /* the chunk it was made from */
    uint64_t chunk_id;         /* the chunk's identity, 0 until computed */
} fvm_vm_hooks;

struct fvm_vm {
    fvm_vm_state state; /* the poll word (vm_jit.h) */
    const fvm_chunk *chunk;
    fvm_value *stack;
    size_t sp; /* depth */
    size_t stack_cap;
    fvm_frame *frames;
    size_t nframes, frames_cap;
    fvm_value *slots; /* the arena */
    size_t slots_cap;
    fvm_value *globals;
    size_t nglobals;
    size_t ip;
    int32_t last_status;
    bool halted;
    int awk_signal;    /* -1: none */
    uint64_t awk_seed; /* AwkRand's LCG state, starts at 1 */

    fvm_builtin_entry *builtins; /* by the VM's ids */
    size_t nbuiltins;
    /* What CallBuiltin calls, by the chunk's ids: the VM's table, then each
     * builtin the chunk declares bound by name (vm_api.c, bind_builtins). */
    fvm_builtin_entry *calls;
    size_t ncalls;
    char *bind_error; /* a declared name the VM does not have */
    bool ignore_missing; /* upstream's silent no-op for missing handlers */
    fvm_ext_fn ext;
    void *ext_ud;
    unsigned ext_generation; /* bumped by fvm_vm_set_extension_handler */
    fvm_ext_wide_fn ext_wide;
    void *ext_wide_ud;
    fvm_output_fn out;
    void *out_ud;
    fvm_input_fn in;
    void *in_ud;
    /* The hosts (copies; entries past the installed size are NULL) and
     * whether one is installed. */
    fvm_shell_host shell;
    fvm_awk_host awk;
    bool has_shell, has_awk;
    unsigned caps; /* FVM_CAP_* */

    bool raised; /* an error is pending (set by fvm_vm_raise or an op) */
    char *error;
    size_t error_ip;
    fvm_frame_info *traceback; /* the frames when the last error ended a run or call */
    size_t ntraceback, traceback_cap;
    unsigned depth;   /* runs and calls in progress: fvm_vm_run, then fvm_vm_call nested */
    struct fvm_host_call *host_calls; /* the innermost fvm_vm_call in progress (vm_run.c) */
    size_t frame_floor; /* PopFrame leaves at least this many frames (a call's own) */
    int64_t fuel_set; /* the budget last given to fvm_vm_set_fuel, for the message */
    size_t fuel_mark; /* the op from which the interpreter has run straight on
                         since its last poll: what the next poll charges */
    size_t max_stack, max_frames;
    fvm_buf scratch; /* reused by Print and friends */
    fvm_jit *jit;                 /* borrowed; NULL: interpreter only */
    const fvm_jit_hooks *jit_hooks; /* jit's (vm_jit.h); NULL: interpreter only */
    const fvm_op *exec;           /* the ops run: the chunk's, the JIT's copy or
                                     the hooked copy */
    fvm_vm_hooks hooks;
    struct fvm_sched *sched; /* the scheduler running the VM, or NULL */
    fvm_sched_req sched_req;
};

/* How an out-of-line op implementation tells the loop to go on. These run
 * with vm->sp and vm->ip current (ip already points past the op) and may
 * push, pop, jump (set vm->ip) or push frames. */
typedef enum fvm_step {
    FVM_STEP_NEXT = 0,  /* continue at vm->ip */
    FVM_STEP_ERROR = 1, /* vm->error is set: end the run */
    FVM_STEP_HALT = 2   /* stop the run (halted) */
} fvm_step;

/* return_ip of the root frame: returning from it halts the run (upstream
 * jumps to ip 0 and runs the chunk again). */
#define FVM_RETURN_HALTS UINT32_MAX

/* Frames (vm_api.c). frame_push returns false at the frame limit (the new
 * frame is unnamed: the caller names a subroutine's); frame_pop
 * releases the frame's slots and truncates the stack to its base. */
bool fvm_frame_push(fvm_vm *vm, uint32_t return_ip, size_t stack_base);
fvm_frame fvm_frame_pop(fvm_vm *vm);
void fvm_stack_truncate(fvm_vm *vm, size_t depth);
/* Grow the top frame so `slot` is inside it; false when there is no frame
 * (writes are then dropped). */
bool fvm_slot_make_room(fvm_vm *vm, uint16_t slot);
/* Make the top frame's slot window at least n cells (the new ones Undef)
 * without changing its slot count; false when there is no frame. */
bool fvm_slot_reserve(fvm_vm *vm, size_t n);

/* Stack helpers for out-of-line ops. */
void fvm_stack_grow(fvm_vm *vm, size_t need);
static inline void fvm_push(fvm_vm *vm, fvm_value v)
{
    if (FVM_UNLIKELY(vm->sp == vm->stack_cap))
        fvm_stack_grow(vm, vm->sp + 1);
    vm->stack[vm->sp++] = v;
}
static inline fvm_value fvm_pop(fvm_vm *vm)
{
    return vm->sp ? vm->stack[--vm->sp] : fvm_undef();
}
/* Pop n values (fewer if the stack is shorter) into out[0..count) in push
 * order (bottom-most first); returns the count. */
size_t fvm_pop_n(fvm_vm *vm, size_t n, fvm_value *out);

/* The poll (vm_jit.h, "The VM state block"): whether something wants the
 * running program's attention, checked at taken jumps, calls and returns,
 * and the slow path that serves it. fvm_poll runs with vm->ip one past the
 * op that polls (as SAVE leaves it) and next the op control goes to; it
 * charges the fuel for the ops run straight on since the last poll, and
 * answers FVM_STEP_NEXT to go on, or FVM_STEP_ERROR with the error set (an
 * interrupt, the budget spent). */
static inline bool fvm_poll_pending(const fvm_vm *vm)
{
    return atomic_load_explicit(&vm->state.poll, memory_order_relaxed) != 0;
}
fvm_step fvm_poll(fvm_vm *vm, size_t next);
/* For ops whose work grows with an operand, every so often while they
 * work: false, with the error set, when an interrupt is pending. The op
 * itself is charged as one op at the next poll. */
bool fvm_poll_interrupt_ok(fvm_vm *vm);

/* An fvm_vm_call in progress, on the C stack of the call: its frame's
 * return ip is the end marker, so where the code that called it was is
 * kept here, for the frames' ips (vm_trace.c). */
typedef struct fvm_host_call {
    struct fvm_host_call *outer;
    size_t frame;     /* the index in vm->frames of the frame the call pushes */
    size_t caller_ip; /* the op below it was running: a builtin's CallBuiltin */
    bool in_run;      /* made while a run or call was in progress (from a handler) */
} fvm_host_call;

/* The op the VM is at for an embedder: inside a run, the op that called
 * out (the interpreter has saved vm->ip past it); between runs, the next. */
static inline size_t fvm_current_op(const fvm_vm *vm)
{
    return vm->depth && vm->ip ? vm->ip - 1 : vm->ip;
}

/* Set the pending error; always returns FVM_STEP_ERROR. */
fvm_step fvm_fail(fvm_vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Call the subroutine of name index name (it must have one) with the top
 * nargs stack values as its arguments (a new frame whose stack base sits
 * below them), returning to vm->ip. Polls first. Returns FVM_STEP_ERROR
 * when the poll stops the run or the frame limit is reached. */
fvm_step fvm_enter_sub(fvm_vm *vm, uint16_t name, size_t nargs);

/* Run the interpreter from vm->ip until the end marker, a halt or an
 * error (vm.c); the caller has set vm->exec. */
void fvm_interpret(fvm_vm *vm);

/* Record the frames as the error's traceback (vm_trace.c); called when an
 * error ends a run or a call, before the frames are unwound. */
void fvm_traceback_capture(fvm_vm *vm);

/* For each name of to_chunk that from_chunk also has, to[i] becomes a
 * copy of from[j] (nested runs and child VMs share globals by name). */
void fvm_globals_by_name(const fvm_chunk *to_chunk, fvm_value *to, const fvm_chunk *from_chunk,
                         const fvm_value *from);

/* Write bytes through the output hook or to stdout. */
void fvm_write_output(fvm_vm *vm, const char *bytes, size_t len);

/* Op families implemented out of line, through the host when one is
 * installed. */
fvm_step fvm_shell_op(fvm_vm *vm, const fvm_op *op);   /* FVM_OPF_SHELL ops and TestFile */
fvm_step fvm_awk_op(fvm_vm *vm, unsigned code, uint64_t operand); /* FVM_OPF_AWK ops */
/* AwkGetFieldNum: $i as a number from the AWK host, 0.0 without one. */
double fvm_awk_field_num(fvm_vm *vm, int64_t i);
/* An AWK extension id in range with no meaning: Undef with a host,
 * nothing without. */
void fvm_awk_unknown_id(fvm_vm *vm);
/* A scheduler op (sched.c): pops its operands, then leaves them for the
 * scheduler and halts, or, with no scheduler running the VM, fails. */
fvm_step fvm_sched_op(fvm_vm *vm, const fvm_op *op);
/* Release a pending request's operands and clear it. */
void fvm_sched_req_clear(fvm_sched_req *r);

/* The hooks (hooks.c). fvm_hooks_exec: the ops a VM with hooks set runs
 * (built on first use per chunk), or NULL when no hook is set.
 * fvm_hooked_op runs one FVM_XOP_HOOKED op. fvm_hooks_clear frees what
 * fvm_hooks_exec built (the hooks themselves stay). */
const fvm_op *fvm_hooks_exec(fvm_vm *vm);
fvm_step fvm_hooked_op(fvm_vm *vm, const fvm_op *op);
void fvm_hooks_clear(fvm_vm *vm);

/* A new VM for vm's chunk with vm's handlers, hooks and settings, as
 * fvm_vm_reset keeps them (a goroutine's VM). */
fvm_vm *fvm_vm_new_sibling(const fvm_vm *vm);

/* The opcode behind an AWK extension id (40000..40999), or -1 if the id has
 * no meaning. */
int fvm_awk_op_for_id(uint16_t id);

#endif
