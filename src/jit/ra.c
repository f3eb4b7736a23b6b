/* Linear-scan register allocation (see ra.h). */
#include "jit/ra.h"

#include <stdlib.h>
#include <string.h>

typedef struct interval {
    fvm_ir_ref v;
    uint32_t start, end;
    bool crosses_call;
    bool xmm;
} interval;

static bool needs_location(const fvm_ir_inst *in)
{
    return !in->dead && in->type != FVM_IR_VOID && in->op != FVM_IR_CONST_I &&
           in->op != FVM_IR_CONST_F;
}

/* Last use of every value, as instruction positions (0: never used). */
static uint32_t *last_uses(const fvm_ir_func *f)
{
    uint32_t *end = fvm_xcalloc(f->ninsts, sizeof *end);
    for (uint32_t p = 1; p < f->ninsts; p++) {
        const fvm_ir_inst *in = &f->insts[p];
        if (in->dead)
            continue;
        for (unsigned i = 0; i < in->nargs; i++)
            end[in->args[i]] = p;
        if (in->op == FVM_IR_GUARD) {
            const fvm_ir_snap *s = &f->snaps[in->aux];
            for (uint32_t k = 0; k < s->count; k++)
                end[f->snap_entries[s->first + k].value] = p;
        }
    }
    return end;
}

static size_t build_intervals(const fvm_ir_func *f, interval *out)
{
    uint32_t *end = last_uses(f);
    /* calls[p]: helper calls at positions < p, to test "a call strictly inside". */
    uint32_t *calls = fvm_xcalloc(f->ninsts + 1, sizeof *calls);
    for (uint32_t p = 1; p <= f->ninsts; p++)
        calls[p] = calls[p - 1] + (f->insts[p - 1].op == FVM_IR_CALL && !f->insts[p - 1].dead);
    size_t n = 0;
    for (uint32_t p = 1; p < f->ninsts; p++) {
        const fvm_ir_inst *in = &f->insts[p];
        if (!needs_location(in))
            continue;
        uint32_t e = end[p] > p ? end[p] : p;
        out[n++] = (interval){p, p, e, calls[e] - calls[p + 1] > 0, in->type == FVM_IR_F64};
    }
    free(calls);
    free(end);
    return n;
}

typedef struct scan {
    const fvm_ra_config *cfg;
    fvm_ra_result *res;
    interval **active; /* sorted by end */
    size_t nactive;
    fvm_x64_regset free_regs;
} scan;

static void active_insert(scan *s, interval *it)
{
    size_t i = s->nactive++;
    while (i > 0 && s->active[i - 1]->end > it->end) {
        s->active[i] = s->active[i - 1];
        i--;
    }
    s->active[i] = it;
}

static void active_remove(scan *s, size_t i)
{
    memmove(&s->active[i], &s->active[i + 1], (s->nactive - i - 1) * sizeof *s->active);
    s->nactive--;
}

static void expire(scan *s, uint32_t pos)
{
    size_t i = 0;
    while (i < s->nactive) {
        interval *it = s->active[i];
        if (it->end > pos) {
            i++;
            continue;
        }
        s->free_regs |= FVM_X64_RSET(s->res->reg[it->v]);
        active_remove(s, i);
    }
}

static void spill(scan *s, fvm_ir_ref v)
{
    s->res->reg[v] = FVM_X64_NOREG;
    s->res->spill[v] = (int32_t)s->res->nspill++;
}

/* Registers this interval may take: its class, allowed, callee-saved only
 * if a call happens while it lives. */
static fvm_x64_regset candidates(const scan *s, const interval *it)
{
    fvm_x64_regset set = s->cfg->allowed & (it->xmm ? FVM_X64_RSET_XMM : FVM_X64_RSET_GPR);
    if (it->crosses_call)
        set &= FVM_X64_RSET_CALLEE_SAVED;
    return set;
}

static fvm_x64_reg pick(fvm_x64_regset avail, bool prefer_caller_saved)
{
    fvm_x64_regset pref = avail & (prefer_caller_saved ? ~FVM_X64_RSET_CALLEE_SAVED : ~0u);
    if (!pref)
        pref = avail;
    return (fvm_x64_reg)__builtin_ctz(pref);
}

static void allocate(scan *s, interval *it)
{
    fvm_x64_regset cand = candidates(s, it);
    fvm_x64_regset avail = cand & s->free_regs;
    if (avail) {
        fvm_x64_reg r = pick(avail, !it->crosses_call);
        s->res->reg[it->v] = r;
        s->free_regs &= ~FVM_X64_RSET(r);
        s->res->used |= FVM_X64_RSET(r);
        active_insert(s, it);
        return;
    }
    /* Pressure: the active interval that ends last and holds a register
     * this one may use gives it up, if it outlives this one. */
    for (size_t i = s->nactive; i-- > 0;) {
        interval *victim = s->active[i];
        fvm_x64_reg r = s->res->reg[victim->v];
        if (!(cand & FVM_X64_RSET(r)))
            continue;
        if (victim->end <= it->end)
            break;
        spill(s, victim->v);
        active_remove(s, i);
        s->res->reg[it->v] = r;
        active_insert(s, it);
        return;
    }
    spill(s, it->v);
}

bool fvm_ra_run(const fvm_ir_func *f, const fvm_ra_config *cfg, fvm_ra_result *out)
{
    memset(out, 0, sizeof *out);
    if (cfg->allowed & ~FVM_RA_DEFAULT_ALLOWED)
        return false;
    size_t n = f->ninsts;
    out->reg = fvm_xmalloc(n * sizeof *out->reg);
    out->spill = fvm_xmalloc(n * sizeof *out->spill);
    for (size_t i = 0; i < n; i++) {
        out->reg[i] = FVM_X64_NOREG;
        out->spill[i] = -1;
    }
    interval *its = fvm_xmalloc(n * sizeof *its);
    size_t nits = build_intervals(f, its);
    scan s = {cfg, out, fvm_xmalloc((nits + 1) * sizeof *s.active), 0, cfg->allowed};
    for (size_t i = 0; i < nits; i++) {
        expire(&s, its[i].start);
        allocate(&s, &its[i]);
        if (s.nactive > out->max_pressure)
            out->max_pressure = (uint32_t)s.nactive;
    }
    free(s.active);
    free(its);
    return true;
}

void fvm_ra_free(fvm_ra_result *r)
{
    free(r->reg);
    free(r->spill);
    memset(r, 0, sizeof *r);
}

void fvm_ra_dump(const fvm_ir_func *f, const fvm_ra_result *r, fvm_buf *out)
{
    for (fvm_ir_ref v = 1; v < f->ninsts; v++) {
        if (r->reg[v] != FVM_X64_NOREG)
            fvm_buf_printf(out, "v%u -> %s\n", v, fvm_x64_reg_name(r->reg[v]));
        else if (r->spill[v] >= 0)
            fvm_buf_printf(out, "v%u -> [spill %d]\n", v, r->spill[v]);
    }
}
