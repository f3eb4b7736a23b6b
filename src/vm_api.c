/* The VM object: creation, reset, frames, the stack and slot helpers, and
 * the embedding API. The interpreter loop itself is in vm.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "vm.h"

#define DEFAULT_MAX_STACK (16u << 20) /* values: 256 MiB of stack */
#define DEFAULT_MAX_FRAMES (1u << 20)

const char *fvm_version(void)
{
    return FVM_VERSION_STRING;
}

/* ------------------------------------------------------------------------
 * Frames and slots
 *
 * frames[0] is an invisible sentinel standing for "no frame": its slot
 * window reads as Undef and writes to it are dropped (slot writes detect it
 * on their slow path, when they would grow nslots). Frame 1 is the root.
 * ------------------------------------------------------------------------ */

static size_t slot_window(const fvm_vm *vm)
{
    return (size_t)(vm->chunk->max_slot + 1);
}

/* Make sure the slot arena holds `need` cells; new cells are Undef. */
static void slots_reserve(fvm_vm *vm, size_t need)
{
    if (need <= vm->slots_cap)
        return;
    size_t old = vm->slots_cap;
    void *p = vm->slots;
    fvm_grow(&p, &vm->slots_cap, need, sizeof(fvm_value));
    vm->slots = p;
    memset(vm->slots + old, 0, (vm->slots_cap - old) * sizeof(fvm_value));
}

/* Push a frame; returns false at the frame limit. The new window starts
 * at the caller's slot count, not at the end of its window: the caller's
 * cells past nslots are Undef and nothing reads or writes them while it is
 * not the top frame, so they are shared with the callee, which leaves them
 * Undef again when it is popped. A frame therefore takes arena space only
 * for the slots it has written, and reading a slot it never wrote costs no
 * memory, however deep the recursion. */
static bool frame_push(fvm_vm *vm, uint32_t return_ip, size_t stack_base)
{
    if (vm->nframes > vm->max_frames)
        return false;
    if (vm->nframes == vm->frames_cap) {
        void *p = vm->frames;
        fvm_grow(&p, &vm->frames_cap, vm->nframes + 1, sizeof(fvm_frame));
        vm->frames = p;
    }
    fvm_frame *top = &vm->frames[vm->nframes - 1];
    size_t base = top->slot_base + top->nslots;
    size_t window = slot_window(vm);
    slots_reserve(vm, base + window);
    vm->frames[vm->nframes++] = (fvm_frame){return_ip, (uint32_t)stack_base, (uint32_t)base, 0,
                                            (uint32_t)window, FVM_FRAME_UNNAMED};
    return true;
}

bool fvm_frame_push(fvm_vm *vm, uint32_t return_ip, size_t stack_base)
{
    return frame_push(vm, return_ip, stack_base);
}

/* Truncate the value stack to depth. */
void fvm_stack_truncate(fvm_vm *vm, size_t depth)
{
    while (vm->sp > depth)
        fvm_release(vm->stack[--vm->sp]);
}

/* Pop the top frame (never the sentinel): release its slots and truncate
 * the stack to its base. Returns the frame. */
fvm_frame fvm_frame_pop(fvm_vm *vm)
{
    fvm_frame f = vm->frames[--vm->nframes];
    fvm_value *s = vm->slots + f.slot_base;
    for (uint32_t i = 0; i < f.nslots; i++) {
        fvm_release(s[i]);
        s[i] = fvm_undef();
    }
    fvm_stack_truncate(vm, f.stack_base);
    return f;
}

/* Grow the top frame so slot `slot` exists; false if there is no frame. */
bool fvm_slot_make_room(fvm_vm *vm, uint16_t slot)
{
    if (vm->nframes < 2)
        return false;
    fvm_frame *top = &vm->frames[vm->nframes - 1];
    if (slot >= top->slot_cap) {
        slots_reserve(vm, top->slot_base + (size_t)slot + 1);
        top->slot_cap = slot + 1u;
    }
    if (slot >= top->nslots)
        top->nslots = slot + 1u;
    return true;
}

bool fvm_slot_reserve(fvm_vm *vm, size_t n)
{
    if (vm->nframes < 2 || n > (size_t)UINT16_MAX + 1)
        return false;
    fvm_frame *top = &vm->frames[vm->nframes - 1];
    if (n > top->slot_cap) {
        slots_reserve(vm, top->slot_base + n);
        top->slot_cap = (uint32_t)n;
    }
    return true;
}

fvm_step fvm_enter_sub(fvm_vm *vm, uint16_t name, size_t nargs)
{
    uint32_t entry = vm->chunk->sub_ip[name];
    if (FVM_UNLIKELY(fvm_poll_pending(vm)) && fvm_poll(vm, entry) != FVM_STEP_NEXT)
        return FVM_STEP_ERROR;
    size_t base = nargs > vm->sp ? 0 : vm->sp - nargs;
    if (!frame_push(vm, (uint32_t)vm->ip, base))
        return fvm_fail(vm, "call depth limit exceeded (%zu frames)", vm->max_frames);
    vm->frames[vm->nframes - 1].name = name;
    vm->ip = entry;
    return FVM_STEP_NEXT;
}

/* ------------------------------------------------------------------------
 * Stack
 * ------------------------------------------------------------------------ */

void fvm_stack_grow(fvm_vm *vm, size_t need)
{
    void *p = vm->stack;
    fvm_grow(&p, &vm->stack_cap, need, sizeof(fvm_value));
    vm->stack = p;
}

size_t fvm_pop_n(fvm_vm *vm, size_t n, fvm_value *out)
{
    size_t k = n < vm->sp ? n : vm->sp;
    vm->sp -= k;
    memcpy(out, vm->stack + vm->sp, k * sizeof(fvm_value));
    return k;
}

fvm_step fvm_fail(fvm_vm *vm, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    free(vm->error);
    vm->error = strdup(msg);
    vm->raised = true;
    return FVM_STEP_ERROR;
}

/* ------------------------------------------------------------------------
 * The poll's slow path: interrupts and fuel (vm_jit.h, "The VM state block")
 * ------------------------------------------------------------------------ */

fvm_step fvm_poll(fvm_vm *vm, size_t next)
{
    uint32_t bits = atomic_load_explicit(&vm->state.poll, memory_order_relaxed);
    if (bits & FVM_POLL_INTERRUPT)
        return fvm_fail(vm, "interrupted");
    if (bits & FVM_POLL_FUEL) {
        /* The ops from the mark to the polling op. A transfer of control
         * that did not poll (an out-of-line op that jumps) may have left
         * the mark ahead: the polling op is then all that is charged, so
         * every poll charges something and no loop runs for free. */
        size_t ran = vm->ip > vm->fuel_mark ? vm->ip - vm->fuel_mark : 1;
        vm->fuel_mark = next;
        vm->state.fuel -= (int64_t)ran;
        if (vm->state.fuel < 0) {
            vm->state.fuel = 0; /* spent: the next poll fails again */
            return fvm_fail(vm, "instruction budget exhausted (%lld ops)",
                            (long long)vm->fuel_set);
        }
    }
    return FVM_STEP_NEXT;
}

bool fvm_poll_interrupt_ok(fvm_vm *vm)
{
    if (atomic_load_explicit(&vm->state.poll, memory_order_relaxed) & FVM_POLL_INTERRUPT) {
        fvm_fail(vm, "interrupted");
        return false;
    }
    return true;
}

void fvm_vm_interrupt(fvm_vm *vm)
{
    atomic_fetch_or_explicit(&vm->state.poll, FVM_POLL_INTERRUPT, memory_order_relaxed);
}

void fvm_vm_set_fuel(fvm_vm *vm, int64_t ops)
{
    vm->fuel_set = ops < 0 ? -1 : ops;
    vm->state.fuel = ops < 0 ? 0 : ops;
    if (ops < 0)
        atomic_fetch_and_explicit(&vm->state.poll, ~(uint32_t)FVM_POLL_FUEL, memory_order_relaxed);
    else
        atomic_fetch_or_explicit(&vm->state.poll, FVM_POLL_FUEL, memory_order_relaxed);
}

int64_t fvm_vm_fuel(const fvm_vm *vm)
{
    return vm->fuel_set < 0 ? -1 : vm->state.fuel;
}

void fvm_write_output(fvm_vm *vm, const char *bytes, size_t len)
{
    if (vm->out)
        vm->out(vm->out_ud, bytes, len);
    else if (len)
        fwrite(bytes, 1, len, stdout);
}

/* ------------------------------------------------------------------------
 * Lifetime
 * ------------------------------------------------------------------------ */

static void vm_clear_state(fvm_vm *vm)
{
    fvm_sched_req_clear(&vm->sched_req);
    fvm_hooks_clear(vm);
    fvm_stack_truncate(vm, 0);
    while (vm->nframes > 1)
        fvm_frame_pop(vm);
    for (size_t i = 0; i < vm->nglobals; i++)
        fvm_release(vm->globals[i]);
    free(vm->globals);
    vm->globals = NULL;
    vm->nglobals = 0;
}

static void bind_builtins(fvm_vm *vm);
static void unbind_builtins(fvm_vm *vm);

static void vm_start(fvm_vm *vm, const fvm_chunk *chunk)
{
    vm->chunk = chunk;
    vm->nglobals = chunk->nnames;
    vm->globals = fvm_xcalloc(vm->nglobals ? vm->nglobals : 1, sizeof(fvm_value));
    vm->nframes = 1;
    vm->frames[0] = (fvm_frame){0, 0, 0, 0, 0, FVM_FRAME_UNNAMED};
    /* The root frame returns to "nowhere": a top-level Return halts the run
     * instead of restarting the chunk at ip 0 as upstream does. */
    frame_push(vm, FVM_RETURN_HALTS, 0);
    vm->ip = 0;
    vm->last_status = 0;
    vm->halted = false;
    vm->awk_signal = -1;
    vm->awk_seed = 1;
    vm->raised = false;
    free(vm->error);
    vm->error = NULL;
    vm->error_ip = 0;
    vm->ntraceback = 0;
    bind_builtins(vm);
}

fvm_vm *fvm_vm_new(const fvm_chunk *chunk)
{
    if (!chunk)
        return NULL;
    fvm_vm *vm = fvm_xcalloc(1, sizeof *vm);
    vm->max_stack = DEFAULT_MAX_STACK;
    vm->max_frames = DEFAULT_MAX_FRAMES;
    vm->fuel_set = -1;
    vm->frame_floor = 1;
    vm->caps = FVM_CAP_ALL;
    fvm_stack_grow(vm, 256);
    vm->frames_cap = 32;
    vm->frames = fvm_xmalloc(vm->frames_cap * sizeof(fvm_frame));
    vm_start(vm, chunk);
    return vm;
}

void fvm_vm_reset(fvm_vm *vm, const fvm_chunk *chunk)
{
    vm_clear_state(vm);
    vm_start(vm, chunk);
}

fvm_vm *fvm_vm_new_sibling(const fvm_vm *vm)
{
    fvm_vm *s = fvm_vm_new(vm->chunk);
    for (size_t id = 0; id < vm->nbuiltins; id++)
        if (vm->builtins[id].fn)
            fvm_vm_register_builtin(s, (uint16_t)id, vm->builtins[id].fn, vm->builtins[id].ud);
    fvm_vm_set_extension_handler(s, vm->ext, vm->ext_ud);
    fvm_vm_set_extension_wide_handler(s, vm->ext_wide, vm->ext_wide_ud);
    fvm_vm_set_output(s, vm->out, vm->out_ud);
    fvm_vm_set_input(s, vm->in, vm->in_ud);
    s->max_stack = vm->max_stack;
    s->max_frames = vm->max_frames;
    fvm_vm_set_jit(s, vm->jit);
    s->hooks = vm->hooks;
    s->hooks.exec = NULL; /* each VM builds its own copy */
    s->hooks.exec_for = NULL;
    return s;
}

void fvm_vm_free(fvm_vm *vm)
{
    if (!vm)
        return;
    vm_clear_state(vm);
    free(vm->stack);
    free(vm->frames);
    free(vm->slots);
    unbind_builtins(vm);
    for (size_t i = 0; i < vm->nbuiltins; i++)
        free(vm->builtins[i].name);
    free(vm->builtins);
    free(vm->error);
    free(vm->traceback);
    fvm_buf_free(&vm->scratch);
    free(vm);
}

/* ------------------------------------------------------------------------
 * Embedding API
 * ------------------------------------------------------------------------ */

const char *fvm_vm_error(const fvm_vm *vm) { return vm->error ? vm->error : ""; }
size_t fvm_vm_error_ip(const fvm_vm *vm) { return vm->error_ip; }
const fvm_chunk *fvm_vm_chunk(const fvm_vm *vm) { return vm->chunk; }

void fvm_vm_push(fvm_vm *vm, fvm_value v) { fvm_push(vm, v); }
fvm_value fvm_vm_pop(fvm_vm *vm) { return fvm_pop(vm); }
fvm_value fvm_vm_peek(const fvm_vm *vm) { return vm->sp ? vm->stack[vm->sp - 1] : fvm_undef(); }
size_t fvm_vm_stack_depth(const fvm_vm *vm) { return vm->sp; }
fvm_value fvm_vm_stack_at(const fvm_vm *vm, size_t i)
{
    return i < vm->sp ? vm->stack[i] : fvm_undef();
}

fvm_value fvm_vm_get_slot(const fvm_vm *vm, uint16_t slot)
{
    const fvm_frame *top = &vm->frames[vm->nframes - 1];
    if (slot >= top->nslots)
        return fvm_undef();
    fvm_value v = vm->slots[top->slot_base + slot];
    fvm_retain(v);
    return v;
}

void fvm_vm_set_slot(fvm_vm *vm, uint16_t slot, fvm_value v)
{
    if (!fvm_slot_make_room(vm, slot)) {
        fvm_release(v);
        return;
    }
    fvm_value *cell = &vm->slots[vm->frames[vm->nframes - 1].slot_base + slot];
    fvm_release(*cell);
    *cell = v;
}

size_t fvm_vm_frame_count(const fvm_vm *vm) { return vm->nframes - 1; }

size_t fvm_vm_frame_slot_count(const fvm_vm *vm, size_t frame)
{
    return frame + 1 < vm->nframes ? vm->frames[frame + 1].nslots : 0;
}

fvm_value fvm_vm_frame_slot(const fvm_vm *vm, size_t frame, size_t slot)
{
    if (frame + 1 >= vm->nframes || slot >= vm->frames[frame + 1].nslots)
        return fvm_undef();
    return vm->slots[vm->frames[frame + 1].slot_base + slot];
}

/* The slot names of the frame `up` levels below the top, or NULL. */
static const fvm_slot_names *frame_slot_names(const fvm_vm *vm, size_t up)
{
    if (up + 1 >= vm->nframes) /* frames[0] is the sentinel */
        return NULL;
    uint32_t name = vm->frames[vm->nframes - 1 - up].name;
    if (name == FVM_FRAME_UNNAMED) /* the root, or a PushFrame scope */
        return NULL;
    /* A named frame is a call of that name's subroutine, whose code starts
     * at the name's first sub entry. */
    return fvm_chunk_slot_names_at(vm->chunk, vm->chunk->sub_ip[name]);
}

size_t fvm_vm_slot_name_count_at(const fvm_vm *vm, size_t up)
{
    const fvm_slot_names *sn = frame_slot_names(vm, up);
    return sn ? sn->count : 0;
}

const char *fvm_vm_slot_name_at(const fvm_vm *vm, size_t up, uint16_t slot)
{
    const fvm_slot_names *sn = frame_slot_names(vm, up);
    return sn && slot < sn->count ? sn->names[slot]->data : NULL;
}

int32_t fvm_vm_slot_of_at(const fvm_vm *vm, size_t up, const char *name)
{
    const fvm_slot_names *sn = frame_slot_names(vm, up);
    size_t len = strlen(name);
    for (uint32_t i = 0; sn && i < sn->count; i++)
        if (sn->names[i]->len == len && memcmp(sn->names[i]->data, name, len) == 0)
            return (int32_t)i;
    return -1;
}

size_t fvm_vm_global_count(const fvm_vm *vm) { return vm->nglobals; }
fvm_value fvm_vm_global(const fvm_vm *vm, size_t idx)
{
    return idx < vm->nglobals ? vm->globals[idx] : fvm_undef();
}
void fvm_vm_set_global(fvm_vm *vm, size_t idx, fvm_value v)
{
    if (idx >= vm->nglobals) {
        fvm_release(v);
        return;
    }
    fvm_release(vm->globals[idx]);
    vm->globals[idx] = v;
}

fvm_value fvm_vm_global_named(const fvm_vm *vm, const char *name)
{
    int32_t idx = fvm_chunk_find_name(vm->chunk, name, strlen(name));
    return idx < 0 ? fvm_undef() : fvm_vm_global(vm, (size_t)idx);
}

int fvm_vm_set_global_named(fvm_vm *vm, const char *name, fvm_value v)
{
    int32_t idx = fvm_chunk_find_name(vm->chunk, name, strlen(name));
    if (idx < 0) {
        fvm_release(v);
        return -1;
    }
    fvm_vm_set_global(vm, (size_t)idx, v);
    return 0;
}

int32_t fvm_vm_last_status(const fvm_vm *vm) { return vm->last_status; }
void fvm_vm_set_last_status(fvm_vm *vm, int32_t status) { vm->last_status = status; }
int fvm_vm_awk_signal(const fvm_vm *vm) { return vm->awk_signal; }

/* ------------------------------------------------------------------------
 * Builtins
 *
 * vm->builtins is indexed by the VM's ids. A chunk that declares builtins
 * by name (fvm_declare_builtin) may number them differently, so CallBuiltin
 * reads vm->calls, indexed by the chunk's ids: the VM's table with each
 * declared id replaced by the builtin registered under its name, or by
 * nothing when the VM has no such name (never by whatever the VM put at
 * that number). Rebuilt whenever the chunk or a registration changes.
 * ------------------------------------------------------------------------ */

static const fvm_builtin_entry *builtin_named(const fvm_vm *vm, const fvm_string *name)
{
    for (size_t i = 0; i < vm->nbuiltins; i++) {
        const char *n = vm->builtins[i].name;
        if (n && vm->builtins[i].fn && strlen(n) == name->len && memcmp(n, name->data, name->len) == 0)
            return &vm->builtins[i];
    }
    return NULL;
}

static void unbind_builtins(fvm_vm *vm)
{
    if (vm->calls != vm->builtins)
        free(vm->calls);
    vm->calls = NULL;
    vm->ncalls = 0;
    free(vm->bind_error);
    vm->bind_error = NULL;
}

static void bind_builtins(fvm_vm *vm)
{
    unbind_builtins(vm);
    const fvm_chunk *c = vm->chunk;
    if (!c || !c->nbuiltins) {
        vm->calls = vm->builtins;
        vm->ncalls = vm->nbuiltins;
        return;
    }
    size_t n = (size_t)c->builtins[c->nbuiltins - 1].id + 1; /* sorted by id */
    if (n < vm->nbuiltins)
        n = vm->nbuiltins;
    vm->calls = fvm_xcalloc(n, sizeof(fvm_builtin_entry));
    if (vm->nbuiltins)
        memcpy(vm->calls, vm->builtins, vm->nbuiltins * sizeof(fvm_builtin_entry));
    vm->ncalls = n;
    for (size_t i = 0; i < c->nbuiltins; i++) {
        const fvm_builtin_entry *e = builtin_named(vm, c->builtins[i].name);
        vm->calls[c->builtins[i].id] = e ? *e : (fvm_builtin_entry){0};
        if (!e && !vm->bind_error) {
            fvm_buf msg = {0};
            fvm_buf_printf(&msg, "the chunk expects builtin '%s' (CallBuiltin %u), which is not registered",
                           c->builtins[i].name->data, (unsigned)c->builtins[i].id);
            fvm_buf_putc(&msg, 0);
            vm->bind_error = msg.data;
        }
    }
}

/* A name registered again moves to the new id: one name, one builtin. */
void fvm_vm_register_builtin_named(fvm_vm *vm, uint16_t id, const char *name, fvm_builtin_fn fn,
                                   void *ud)
{
    unbind_builtins(vm); /* vm->calls may alias the table about to move */
    if (id >= vm->nbuiltins) {
        size_t n = (size_t)id + 1;
        vm->builtins = fvm_xrealloc(vm->builtins, n * sizeof(fvm_builtin_entry));
        memset(vm->builtins + vm->nbuiltins, 0, (n - vm->nbuiltins) * sizeof(fvm_builtin_entry));
        vm->nbuiltins = n;
    }
    for (size_t i = 0; name && i < vm->nbuiltins; i++) {
        if (vm->builtins[i].name && strcmp(vm->builtins[i].name, name) == 0) {
            free(vm->builtins[i].name);
            vm->builtins[i].name = NULL;
        }
    }
    free(vm->builtins[id].name);
    char *own = NULL;
    if (name) {
        size_t len = strlen(name) + 1;
        own = memcpy(fvm_xmalloc(len), name, len);
    }
    vm->builtins[id] = (fvm_builtin_entry){fn, ud, own};
    bind_builtins(vm);
}

void fvm_vm_register_builtin(fvm_vm *vm, uint16_t id, fvm_builtin_fn fn, void *ud)
{
    fvm_vm_register_builtin_named(vm, id, NULL, fn, ud);
}

void fvm_vm_ignore_missing_handlers(fvm_vm *vm, bool ignore)
{
    vm->ignore_missing = ignore;
}

void fvm_vm_set_extension_handler(fvm_vm *vm, fvm_ext_fn fn, void *ud)
{
    vm->ext = fn;
    vm->ext_ud = ud;
    vm->ext_generation++;
}

void fvm_vm_set_extension_wide_handler(fvm_vm *vm, fvm_ext_wide_fn fn, void *ud)
{
    vm->ext_wide = fn;
    vm->ext_wide_ud = ud;
}

void fvm_vm_set_output(fvm_vm *vm, fvm_output_fn fn, void *ud)
{
    vm->out = fn;
    vm->out_ud = ud;
}

void fvm_vm_set_input(fvm_vm *vm, fvm_input_fn fn, void *ud)
{
    vm->in = fn;
    vm->in_ud = ud;
}

void fvm_vm_request_halt(fvm_vm *vm) { vm->halted = true; }
void fvm_vm_clear_halt(fvm_vm *vm) { vm->halted = false; }

void fvm_vm_raise(fvm_vm *vm, const char *msg)
{
    fvm_fail(vm, "%s", msg ? msg : "error");
}

void fvm_vm_set_limits(fvm_vm *vm, size_t max_stack, size_t max_frames)
{
    vm->max_stack = max_stack ? max_stack : DEFAULT_MAX_STACK;
    vm->max_frames = max_frames ? max_frames : DEFAULT_MAX_FRAMES;
}

/* ------------------------------------------------------------------------
 * The JIT (vm_jit.h)
 * ------------------------------------------------------------------------ */

void fvm_vm_set_jit(fvm_vm *vm, fvm_jit *j)
{
    vm->jit = j;
    vm->jit_hooks = j ? fvm_jit_vm_hooks(j) : NULL;
}

fvm_jit *fvm_vm_jit(const fvm_vm *vm) { return vm->jit; }

const fvm_chunk *fvm_vm_jit_chunk(const fvm_vm *vm) { return vm->chunk; }
size_t fvm_vm_jit_ip(const fvm_vm *vm) { return vm->ip; }
void fvm_vm_jit_set_ip(fvm_vm *vm, size_t ip) { vm->ip = ip; }
void fvm_vm_jit_push(fvm_vm *vm, fvm_value v) { fvm_push(vm, v); }
void fvm_vm_jit_set_exec(fvm_vm *vm, const fvm_op *ops) { vm->exec = ops; }
size_t fvm_vm_jit_frames(const fvm_vm *vm) { return vm->nframes; }
size_t fvm_vm_jit_nslots(const fvm_vm *vm) { return vm->frames[vm->nframes - 1].nslots; }
fvm_vm_state *fvm_vm_jit_state(fvm_vm *vm) { return &vm->state; }

size_t fvm_vm_jit_stack_depth(const fvm_vm *vm) { return vm->sp; }
size_t fvm_vm_jit_max_frames(const fvm_vm *vm) { return vm->max_frames; }

/* The frame is named, for tracebacks, after the subroutine the Call before
 * return_ip entered, as the interpreter's call would have named it. */
bool fvm_vm_jit_push_frame(fvm_vm *vm, uint32_t return_ip, size_t stack_base)
{
    if (!frame_push(vm, return_ip, stack_base))
        return false;
    const fvm_op *call = return_ip ? &vm->chunk->ops[return_ip - 1] : NULL;
    if (call && return_ip <= vm->chunk->len && call->code == FVM_OP_CALL)
        vm->frames[vm->nframes - 1].name = call->a;
    return true;
}

fvm_value *fvm_vm_jit_globals(fvm_vm *vm, size_t *n)
{
    *n = vm->nglobals;
    return vm->globals;
}

fvm_value *fvm_vm_jit_slots(fvm_vm *vm)
{
    return vm->slots + vm->frames[vm->nframes - 1].slot_base;
}

bool fvm_vm_jit_reserve_slots(fvm_vm *vm, size_t n) { return fvm_slot_reserve(vm, n); }

bool fvm_vm_jit_grow_slots(fvm_vm *vm, size_t n)
{
    if (n > (size_t)UINT16_MAX + 1)
        return false;
    return n ? fvm_slot_make_room(vm, (uint16_t)(n - 1)) : vm->nframes >= 2;
}
