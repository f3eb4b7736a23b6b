/* Snapshots and exit records (see snap.h). */
#include "jit/snap.h"

#include <stdlib.h>

#include "vm_jit.h"

/* A stack value without a native form (Undef) is not stored: its kind in
 * the exit record is enough to rebuild it. Most snapshots are small, so
 * the entries are gathered on the stack; the IR copies them. */
uint32_t fvm_snap_take(fvm_ir_func *f, uint32_t ip, const fvm_tv *stack, uint32_t depth,
                       const fvm_ir_snap_entry *slots, size_t nslots)
{
    fvm_ir_snap_entry small[96];
    size_t cap = (size_t)depth + nslots;
    fvm_ir_snap_entry *e = cap <= 96 ? small : fvm_xmalloc(cap * sizeof *e);
    size_t n = 0;
    for (uint32_t d = 0; d < depth; d++)
        if (fvm_jit_kind_numeric(stack[d].k))
            e[n++] = (fvm_ir_snap_entry){FVM_IR_SNAP_STACK, stack[d].k, 0, d, stack[d].r};
    for (size_t i = 0; i < nslots; i++)
        e[n++] = slots[i];
    uint32_t id = fvm_ir_snap_add(f, ip, e, n);
    if (e != small)
        free(e);
    return id;
}

/* ---- building ------------------------------------------------------------------------ */

/* Record numbers are snapshot ids + 1 (a function returns 0 only from a
 * RET that no tier emits), so record 0 is a placeholder that keeps the
 * numbering. */
void fvm_exits_builder_reset(fvm_exits_builder *b)
{
    fvm_grow((void **)&b->x.recs, &b->recs_cap, 1, sizeof *b->x.recs);
    b->x.recs[0] = (fvm_exit_rec){0};
    b->x.nrecs = 1;
    b->x.nkinds = 0;
    b->x.nframe_words = 0;
}

void fvm_exits_builder_free(fvm_exits_builder *b)
{
    free(b->x.recs);
    free(b->x.kinds);
    free(b->x.frames);
    *b = (fvm_exits_builder){0};
}

static void add_kind(fvm_exits_builder *b, uint8_t k)
{
    fvm_grow((void **)&b->x.kinds, &b->kinds_cap, (size_t)b->x.nkinds + 1, 1);
    b->x.kinds[b->x.nkinds++] = k;
}

/* Only slots that may have been written are recorded: the others still
 * hold the caller's values, which an exit must not touch. A slot whose
 * kind has no native form here (other) was never written by the code. */
uint32_t fvm_exits_add(fvm_exits_builder *b, uint32_t ip, fvm_jit_reason reason,
                       const fvm_tv *stack, uint32_t depth, const uint8_t *slot_kinds,
                       const uint8_t *dirty, uint32_t nused, const uint32_t *frames,
                       uint32_t nframes)
{
    fvm_grow((void **)&b->x.recs, &b->recs_cap, (size_t)b->x.nrecs + 1, sizeof *b->x.recs);
    fvm_exit_rec *e = &b->x.recs[b->x.nrecs];
    *e = (fvm_exit_rec){ip, (uint16_t)depth, 0, reason, b->x.nkinds, nframes, b->x.nframe_words};
    for (uint32_t d = 0; d < depth; d++)
        add_kind(b, stack[d].k);
    for (uint32_t i = 0; i < nused; i++)
        if (dirty[i] && slot_kinds[i] != FVM_JK_OTHER) {
            add_kind(b, (uint8_t)i);
            add_kind(b, slot_kinds[i]);
            e->nslots++;
        }
    if (nframes) {
        fvm_grow((void **)&b->x.frames, &b->frames_cap, (size_t)b->x.nframe_words + 3u * nframes,
                 sizeof *b->x.frames);
        for (uint32_t w = 0; w < 3u * nframes; w++)
            b->x.frames[b->x.nframe_words++] = frames[w];
    }
    return b->x.nrecs++;
}

/* ---- rebuilding values ------------------------------------------------------------------ */

/* The slot pairs follow the stack kinds in the record's run of kinds; an
 * entry's word in io is at its used index. */
void fvm_exit_write(const fvm_exits *x, uint32_t rec, const uint16_t *used, const uint8_t *spaces,
                    uint8_t space, const int64_t *io, fvm_value *dst)
{
    const fvm_exit_rec *e = &x->recs[rec];
    const uint8_t *p = x->kinds + e->first + e->depth;
    for (uint32_t k = 0; k < e->nslots; k++, p += 2) {
        if (spaces[p[0]] != space)
            continue;
        fvm_value *v = &dst[used[p[0]]];
        fvm_release(*v);
        *v = fvm_jit_kind_value(p[1], io[p[0]]);
    }
}

/* The highest slot number the record writes in space, + 1 (0: none). */
static uint32_t written_max(const fvm_exits *x, uint32_t rec, const uint16_t *used,
                            const uint8_t *spaces, uint8_t space)
{
    const fvm_exit_rec *e = &x->recs[rec];
    const uint8_t *p = x->kinds + e->first + e->depth;
    uint32_t m = 0;
    for (uint32_t k = 0; k < e->nslots; k++, p += 2)
        if (spaces[p[0]] == space && (uint32_t)used[p[0]] + 1 > m)
            m = (uint32_t)used[p[0]] + 1;
    return m;
}

fvm_value fvm_exit_stack_value(const fvm_exits *x, uint32_t rec, uint32_t nused, const int64_t *io,
                               uint32_t d)
{
    const fvm_exit_rec *e = &x->recs[rec];
    return fvm_jit_kind_value(x->kinds[e->first + d], io[nused + d]);
}

/* The frame entered first, then its stack (the values of every inlined
 * frame too: one stack serves them all), then each inlined frame, pushed
 * as its call pushed it, with its slots. */
void fvm_exit_resume(fvm_vm *vm, const fvm_exits *x, uint32_t rec, const uint16_t *used,
                     const uint8_t *spaces, uint32_t nused, const int64_t *io, uint32_t base)
{
    const fvm_exit_rec *e = &x->recs[rec];
    fvm_vm_jit_grow_slots(vm, written_max(x, rec, used, spaces, FVM_SPACE_SLOT));
    fvm_exit_write(x, rec, used, spaces, FVM_SPACE_SLOT, io, fvm_vm_jit_slots(vm));
    size_t nglobals;
    fvm_exit_write(x, rec, used, spaces, FVM_SPACE_GLOBAL, io, fvm_vm_jit_globals(vm, &nglobals));
    size_t sp0 = fvm_vm_jit_stack_depth(vm);
    for (uint32_t d = 0; d < e->depth; d++)
        fvm_vm_jit_push(vm, fvm_exit_stack_value(x, rec, nused, io, d));
    for (uint32_t f = 0; f < e->nframes; f++) {
        const uint32_t *w = &x->frames[e->frames_first + 3 * f];
        fvm_vm_jit_push_frame(vm, base + w[1], sp0 + w[2]);
        fvm_vm_jit_grow_slots(vm, written_max(x, rec, used, spaces, (uint8_t)w[0]));
        fvm_exit_write(x, rec, used, spaces, (uint8_t)w[0], io, fvm_vm_jit_slots(vm));
    }
    fvm_vm_jit_set_ip(vm, base + e->ip);
}

/* ---- persisting ------------------------------------------------------------------------- */

void fvm_meta_put32(fvm_buf *out, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    fvm_buf_put(out, b, 4);
}

uint32_t fvm_meta_get32(fvm_meta_reader *r, uint32_t max)
{
    if (r->end - r->p < 4) {
        r->ok = false;
        return 0;
    }
    uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
                 (uint32_t)r->p[3] << 24;
    r->p += 4;
    if (v > max)
        r->ok = false;
    return v;
}

void fvm_exits_save(const fvm_exits *x, fvm_buf *out)
{
    for (uint32_t k = 0; k < x->nrecs; k++) {
        const fvm_exit_rec *e = &x->recs[k];
        fvm_meta_put32(out, e->ip);
        fvm_meta_put32(out, e->depth);
        fvm_meta_put32(out, e->nslots);
        fvm_meta_put32(out, e->reason);
        fvm_meta_put32(out, e->first);
        fvm_meta_put32(out, e->nframes);
        fvm_meta_put32(out, e->frames_first);
    }
    for (uint32_t k = 0; k < x->nkinds; k++)
        fvm_meta_put32(out, x->kinds[k]);
    for (uint32_t k = 0; k < x->nframe_words; k++)
        fvm_meta_put32(out, x->frames[k]);
}

static bool valid_kind(uint32_t k) { return k >= FVM_JK_INT && k <= FVM_JK_OTHER; }

/* Every record's stack kinds and slot pairs inside the kinds array, with
 * kinds and used indices in range, and its frames inside the frame words,
 * each an inlined frame's space with a return ip in the chunk and a stack
 * base within the record's stack. */
static bool records_valid(const fvm_exits *x, uint32_t nused, uint32_t chunk_len)
{
    for (uint32_t k = 0; k < x->nrecs; k++) {
        const fvm_exit_rec *e = &x->recs[k];
        if ((uint64_t)e->first + e->depth + 2u * e->nslots > x->nkinds ||
            (uint64_t)e->frames_first + 3u * e->nframes > x->nframe_words)
            return false;
        for (uint32_t f = 0; f < e->nframes; f++) {
            const uint32_t *w = &x->frames[e->frames_first + 3 * f];
            if (w[0] < FVM_SPACE_FRAME || w[0] > UINT8_MAX || w[1] > chunk_len || w[2] > e->depth)
                return false;
        }
        const uint8_t *t = x->kinds + e->first;
        for (uint32_t d = 0; d < e->depth; d++)
            if (!valid_kind(t[d]))
                return false;
        for (uint32_t s = 0; s < e->nslots; s++)
            if (t[e->depth + 2 * s] >= nused || !valid_kind(t[e->depth + 2 * s + 1]))
                return false;
    }
    return true;
}

/* Every word is range-checked as it is read (a failed check clears r->ok
 * and reads on harmlessly), then every record's kinds are checked against
 * the array: nothing read from disk can index outside what was allocated. */
bool fvm_exits_load(fvm_meta_reader *r, fvm_exits *x, uint32_t chunk_len, uint32_t nused,
                    uint32_t max_depth)
{
    for (uint32_t k = 0; k < x->nrecs; k++) {
        fvm_exit_rec *e = &x->recs[k];
        e->ip = fvm_meta_get32(r, chunk_len);
        e->depth = (uint16_t)fvm_meta_get32(r, max_depth);
        e->nslots = (uint16_t)fvm_meta_get32(r, nused);
        e->reason = fvm_meta_get32(r, FVM_JIT_REASON_COUNT - 1);
        e->first = fvm_meta_get32(r, x->nkinds);
        e->nframes = fvm_meta_get32(r, UINT8_MAX);
        e->frames_first = fvm_meta_get32(r, x->nframe_words);
    }
    for (uint32_t k = 0; k < x->nkinds; k++)
        x->kinds[k] = (uint8_t)fvm_meta_get32(r, UINT8_MAX);
    for (uint32_t k = 0; k < x->nframe_words; k++)
        x->frames[k] = fvm_meta_get32(r, UINT32_MAX);
    return r->ok && records_valid(x, nused, chunk_len);
}
