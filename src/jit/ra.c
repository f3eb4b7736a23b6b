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

static bool is_const(const fvm_ir_inst *in)
{
    return in->op == FVM_IR_CONST_I || in->op == FVM_IR_CONST_F;
}

/* Last use of every value, as instruction positions (0: never used). */
/* A value used outside its block lives to the end of the function. */
static void use(const fvm_ir_func *f, uint32_t *end, fvm_ir_ref v, uint32_t p)
{
    end[v] = f->insts[v].block == f->insts[p].block ? p : (uint32_t)f->ninsts;
    if (end[v] < p)
        end[v] = p;
}

static uint32_t *last_uses(const fvm_ir_func *f)
{
    uint32_t *end = fvm_xcalloc(f->ninsts + 1, sizeof *end);
    for (uint32_t p = 1; p < f->ninsts; p++) {
        const fvm_ir_inst *in = &f->insts[p];
        if (in->dead)
            continue;
        for (unsigned i = 0; i < in->nargs; i++)
            if (end[in->args[i]] < f->ninsts)
                use(f, end, in->args[i], p);
        if (in->op == FVM_IR_GUARD) {
            const fvm_ir_snap *s = &f->snaps[in->aux];
            for (uint32_t k = 0; k < s->count; k++) {
                const fvm_ir_snap_entry *e = &f->snap_entries[s->first + k];
                if (e->kind != FVM_IR_SNAP_VAR && end[e->value] < f->ninsts)
                    use(f, end, e->value, p);
            }
        }
    }
    if (f->exit_base)
        end[f->exit_base] = (uint32_t)f->ninsts; /* every exit stub stores through it */
    return end;
}

static size_t build_intervals(const fvm_ir_func *f, const fvm_ra_result *res, const uint32_t *end,
                              interval *out)
{
    /* calls[p]: helper calls at positions < p, to test "a call strictly inside". */
    uint32_t *calls = fvm_xcalloc(f->ninsts + 1, sizeof *calls);
    for (uint32_t p = 1; p <= f->ninsts; p++)
        calls[p] = calls[p - 1] + (f->insts[p - 1].op == FVM_IR_CALL && !f->insts[p - 1].dead);
    size_t n = 0;
    for (uint32_t p = 1; p < f->ninsts; p++) {
        const fvm_ir_inst *in = &f->insts[p];
        if (!needs_location(in) || res->reg[p] != FVM_X64_NOREG)
            continue; /* pinned to a variable's home already */
        uint32_t e = end[p] > p ? end[p] : p;
        out[n++] = (interval){p, p, e, calls[e] - calls[p + 1] > 0, in->type == FVM_IR_F64};
    }
    free(calls);
    return n;
}

/* ---- variables --------------------------------------------------------------------- */

static bool has_calls(const fvm_ir_func *f)
{
    for (uint32_t p = 1; p < f->ninsts; p++)
        if (!f->insts[p].dead && f->insts[p].op == FVM_IR_CALL)
            return true;
    return false;
}

/* Registers left to temporaries whatever the variables take. */
#define TEMP_GPRS 3
#define TEMP_XMMS 4

static fvm_x64_reg take(fvm_x64_regset *pool, bool high_first)
{
    if (!*pool)
        return FVM_X64_NOREG;
    unsigned r = high_first ? 31u - (unsigned)__builtin_clz(*pool) : (unsigned)__builtin_ctz(*pool);
    *pool &= ~FVM_X64_RSET(r);
    return (fvm_x64_reg)r;
}

/* Homes: the variables used most get registers. Integer variables take
 * callee-saved GPRs (caller-saved ones too when nothing is called); float
 * variables take XMM registers from the top, saved around calls. Returns
 * the registers left to temporaries. */
static fvm_x64_regset assign_homes(const fvm_ir_func *f, fvm_x64_regset allowed, fvm_ra_result *res)
{
    size_t nv = f->nvars;
    uint32_t *uses = fvm_xcalloc(nv + 1, sizeof *uses);
    for (uint32_t p = 1; p < f->ninsts; p++) {
        const fvm_ir_inst *in = &f->insts[p];
        if (!in->dead && (in->op == FVM_IR_VGET || in->op == FVM_IR_VSET))
            uses[in->aux]++;
    }
    bool calls = has_calls(f);
    fvm_x64_regset gprs = allowed & FVM_X64_RSET_GPR, xmms = allowed & FVM_X64_RSET_XMM;
    fvm_x64_regset gpool = gprs & (calls ? FVM_X64_RSET_CALLEE_SAVED : ~0u);
    fvm_x64_regset xpool = xmms;
    while (gpool && __builtin_popcount(gprs & ~gpool) < TEMP_GPRS) {
        fvm_x64_regset caller = gpool & ~FVM_X64_RSET_CALLEE_SAVED;
        gpool &= ~FVM_X64_RSET(__builtin_ctz(caller ? caller : gpool));
    }
    for (unsigned k = 0; k < TEMP_XMMS && xpool; k++)
        xpool &= ~FVM_X64_RSET(__builtin_ctz(xpool));
    for (size_t done = 0; done < nv; done++) {
        size_t best = nv;
        for (size_t v = 0; v < nv; v++)
            if (res->home[v] == FVM_X64_NOREG && res->home_spill[v] < 0 &&
                (best == nv || uses[v] > uses[best]))
                best = v;
        bool xmm = f->var_types[best] == FVM_IR_F64;
        fvm_x64_reg r = uses[best] ? take(xmm ? &xpool : &gpool, xmm) : FVM_X64_NOREG;
        if (r == FVM_X64_NOREG) {
            res->home_spill[best] = (int32_t)res->nspill++;
            continue;
        }
        res->home[best] = r;
        res->used |= FVM_X64_RSET(r);
        allowed &= ~FVM_X64_RSET(r);
        if (calls && !(FVM_X64_RSET(r) & FVM_X64_RSET_CALLEE_SAVED))
            res->home_save[best] = (int32_t)res->nspill++;
    }
    free(uses);
    return allowed;
}

/* Whether op `op` on variable var happens at a position in (lo, hi). */
static bool var_op_between(const fvm_ir_func *f, fvm_ir_op op, uint32_t var, uint32_t lo,
                           uint32_t hi, uint32_t except)
{
    for (uint32_t p = lo + 1; p < hi && p < f->ninsts; p++) {
        const fvm_ir_inst *in = &f->insts[p];
        if (!in->dead && in->op == op && in->aux == var && p != except)
            return true;
    }
    return false;
}

static bool op_between(const fvm_ir_func *f, fvm_ir_op op, uint32_t lo, uint32_t hi)
{
    for (uint32_t p = lo + 1; p < hi && p < f->ninsts; p++)
        if (!f->insts[p].dead && f->insts[p].op == op)
            return true;
    return false;
}

/* A pinned read of var (a VGET living in its home) still needed after pos. */
static bool alias_live_after(const fvm_ir_func *f, const fvm_ra_result *res, const uint32_t *end,
                             uint32_t var, uint32_t pos)
{
    for (uint32_t p = 1; p < pos; p++) {
        const fvm_ir_inst *in = &f->insts[p];
        if (!in->dead && in->op == FVM_IR_VGET && in->aux == var &&
            res->reg[p] == res->home[var] && end[p] > pos)
            return true;
    }
    return false;
}

/* Coalesce values with variable homes (see ra.h for the conditions). The
 * scans are quadratic in the block's length in the worst case; blocks are
 * short. */
static void pin_values(const fvm_ir_func *f, const uint32_t *end, fvm_ra_result *res)
{
    for (uint32_t p = 1; p < f->ninsts; p++) {
        const fvm_ir_inst *in = &f->insts[p];
        if (in->dead || in->op != FVM_IR_VGET || res->home[in->aux] == FVM_X64_NOREG)
            continue;
        if (end[p] < f->ninsts && !var_op_between(f, FVM_IR_VSET, in->aux, p, end[p], 0))
            res->reg[p] = res->home[in->aux];
    }
    for (uint32_t q = 1; q < f->ninsts; q++) {
        const fvm_ir_inst *set = &f->insts[q];
        if (set->dead || set->op != FVM_IR_VSET || res->home[set->aux] == FVM_X64_NOREG)
            continue;
        uint32_t var = set->aux;
        fvm_ir_ref w = set->args[0];
        const fvm_ir_inst *wi = &f->insts[w];
        uint32_t last = end[w] > q ? end[w] : q;
        if (is_const(wi) || wi->op == FVM_IR_PARAM || res->reg[w] != FVM_X64_NOREG ||
            wi->block != set->block || last >= f->ninsts ||
            (wi->type == FVM_IR_F64) != fvm_x64_is_xmm(res->home[var]))
            continue;
        if (var_op_between(f, FVM_IR_VGET, var, w, q, 0) ||
            var_op_between(f, FVM_IR_VSET, var, w, last + 1, q) || op_between(f, FVM_IR_GUARD, w, q) ||
            alias_live_after(f, res, end, var, w))
            continue;
        res->reg[w] = res->home[var];
    }
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
    size_t nv = f->nvars;
    out->home = fvm_xmalloc((nv + 1) * sizeof *out->home);
    out->home_spill = fvm_xmalloc((nv + 1) * sizeof *out->home_spill);
    out->home_save = fvm_xmalloc((nv + 1) * sizeof *out->home_save);
    for (size_t i = 0; i < nv; i++) {
        out->home[i] = FVM_X64_NOREG;
        out->home_spill[i] = out->home_save[i] = -1;
    }
    fvm_ra_config temps = {assign_homes(f, cfg->allowed, out)};
    uint32_t *end = last_uses(f);
    pin_values(f, end, out);
    interval *its = fvm_xmalloc(n * sizeof *its);
    size_t nits = build_intervals(f, out, end, its);
    free(end);
    cfg = &temps;
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
    free(r->home);
    free(r->home_spill);
    free(r->home_save);
    memset(r, 0, sizeof *r);
}

void fvm_ra_dump(const fvm_ir_func *f, const fvm_ra_result *r, fvm_buf *out)
{
    for (size_t x = 0; x < f->nvars; x++) {
        if (r->home[x] != FVM_X64_NOREG)
            fvm_buf_printf(out, "x%zu -> %s\n", x, fvm_x64_reg_name(r->home[x]));
        else
            fvm_buf_printf(out, "x%zu -> [spill %d]\n", x, r->home_spill[x]);
    }
    for (fvm_ir_ref v = 1; v < f->ninsts; v++) {
        if (r->reg[v] != FVM_X64_NOREG)
            fvm_buf_printf(out, "v%u -> %s\n", v, fvm_x64_reg_name(r->reg[v]));
        else if (r->spill[v] >= 0)
            fvm_buf_printf(out, "v%u -> [spill %d]\n", v, r->spill[v]);
    }
}
