/* Frames as an embedder sees them (fvm_frame_info), and the traceback an
 * error leaves behind: the frames as they were when it ended a run or a
 * call, kept after they are unwound, and formatted as Lua and compilers
 * report errors. */
#include <stdlib.h>

#include "vm.h"

/* The op frame k (an index in vm->frames, above the sentinel) is at when
 * the top frame is at top_ip: a caller is at the op that pushed the frame
 * above it (Call, PushFrame), whose return ip is the op after it, except
 * below a call from C, whose frame returns to the end marker. */
static size_t frame_ip(const fvm_vm *vm, size_t k, size_t top_ip)
{
    if (k + 1 == vm->nframes)
        return top_ip;
    for (const fvm_host_call *h = vm->host_calls; h; h = h->outer)
        if (h->frame == k + 1)
            return h->caller_ip;
    uint32_t ret = vm->frames[k + 1].return_ip;
    return ret ? ret - 1u : 0;
}

/* The chunk's source name, or NULL when it has none (or an empty one). */
static const char *source_name(const fvm_chunk *c)
{
    return c->source && c->source->len ? c->source->data : NULL;
}

static void describe(const fvm_vm *vm, size_t k, size_t top_ip, fvm_frame_info *out)
{
    const fvm_chunk *c = vm->chunk;
    uint32_t name = vm->frames[k].name;
    out->name = name == FVM_FRAME_UNNAMED || name >= c->nnames ? NULL : c->names[name]->data;
    out->ip = frame_ip(vm, k, top_ip);
    out->line = fvm_chunk_line(c, out->ip);
    out->source = source_name(c);
}

bool fvm_vm_frame_info(const fvm_vm *vm, size_t frame, fvm_frame_info *out)
{
    if (frame + 1 >= vm->nframes)
        return false;
    describe(vm, frame + 1, fvm_current_op(vm), out);
    return true;
}

/* The first frame (an index in vm->frames) on the call stack of the code
 * running: the root frame during a run; for a call from C made between
 * runs, the frame it pushes, because the frames below belong to no run
 * (they are what the last run left); none between runs. */
static size_t first_running_frame(const fvm_vm *vm)
{
    if (!vm->depth)
        return vm->nframes;
    const fvm_host_call *outermost = vm->host_calls;
    while (outermost && outermost->outer)
        outermost = outermost->outer;
    return outermost && !outermost->in_run ? outermost->frame : 1;
}

void fvm_traceback_capture(fvm_vm *vm)
{
    size_t first = first_running_frame(vm);
    size_t n = first < vm->nframes ? vm->nframes - first : 0;
    if (n > vm->traceback_cap) {
        void *p = vm->traceback;
        fvm_grow(&p, &vm->traceback_cap, n, sizeof(fvm_frame_info));
        vm->traceback = p;
    }
    for (size_t f = 0; f < n; f++)
        describe(vm, first + f, vm->error_ip, &vm->traceback[f]);
    vm->ntraceback = n;
}

size_t fvm_vm_traceback_count(const fvm_vm *vm) { return vm->ntraceback; }

bool fvm_vm_traceback_frame(const fvm_vm *vm, size_t frame, fvm_frame_info *out)
{
    if (frame >= vm->ntraceback)
        return false;
    *out = vm->traceback[frame];
    return true;
}

/* "SOURCE:LINE:", or "SOURCE:" when no line was recorded. */
static void put_place(fvm_buf *b, const char *source, uint32_t line)
{
    fvm_buf_puts(b, source);
    if (line)
        fvm_buf_printf(b, ":%u", (unsigned)line);
    fvm_buf_putc(b, ':');
}

char *fvm_vm_traceback(const fvm_vm *vm, const char *source)
{
    if (!vm->error)
        return NULL;
    const fvm_chunk *c = vm->chunk;
    const char *src = source_name(c) ? source_name(c) : source ? source : "?";
    fvm_buf b = {0};
    put_place(&b, src, fvm_chunk_line(c, vm->error_ip));
    fvm_buf_printf(&b, " %s\n%s", vm->error, vm->ntraceback ? "stack traceback:\n" : "");
    for (size_t f = vm->ntraceback; f-- > 0;) {
        const fvm_frame_info *fi = &vm->traceback[f];
        fvm_buf_putc(&b, '\t');
        put_place(&b, src, fi->line);
        if (fi->name)
            fvm_buf_printf(&b, " in sub '%s' (op %zu)\n", fi->name, fi->ip);
        else if (f == 0)
            fvm_buf_printf(&b, " in the main program (op %zu)\n", fi->ip);
        else
            fvm_buf_printf(&b, " in a frame (op %zu)\n", fi->ip);
    }
    return b.data;
}
