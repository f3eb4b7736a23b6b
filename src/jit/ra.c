/* Linear-scan register allocation (see ra.h).
 *
 * The steps, in fvm_ra_run: variables get their homes (assign_homes); the
 * last use of every value is found (last_uses); values that can live in a
 * variable's home are pinned there (pin_values); the remaining values get
 * an interval each (build_intervals), and one scan in order of their starts
 * gives each a register or a spill slot (expire, allocate). Registers are
 * only named through target.h. */
#include "jit/ra.h"

#include <stdlib.h>
#include <string.h>

/* A value's life, from its definition to its last use. */
typedef struct interval {
    fvm_ir_ref v;
    uint32_t start, end;
    bool crosses_call; /* a helper call lies strictly inside: it must survive calls */
    bool fpr;          /* a double: it takes a floating-point register */
} interval;

/* Whether the value of in needs a register or a slot: it is live, has a
 * value, and is not a constant (the lowering rematerialises those). */
static bool needs_location(const fvm_ir_inst *in)
{
    return !in->dead && in->type != FVM_IR_VOID && in->op != FVM_IR_CONST_I &&
           in->op != FVM_IR_CONST_F;
}

static bool is_const(const fvm_ir_inst *in)
{
    return in->op == FVM_IR_CONST_I || in->op == FVM_IR_CONST_F;
}

/* Note a use of v at position p in end[v]. A value used outside its block
 * lives to the end of the function (f->ninsts), since blocks may be entered
 * again by a back edge and the allocator knows no liveness across blocks. */
static void use(const fvm_ir_func *f, uint32_t *end, fvm_ir_ref v, uint32_t p)
{
    end[v] = f->insts[v].block == f->insts[p].block ? p : (uint32_t)f->ninsts;
    if (end[v] < p)
        end[v] = p;
}

/* The last use of every value as an instruction position (0: never used),
 * counting a guard's snapshot entries as uses at the guard. The caller
 * frees the array. */
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

/* The intervals of the values that still need a location once the pinned
 * ones live in homes, in order of their starts, into out; their number. */
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
        if (!needs_location(in) || res->reg[p] != FVM_REG_NONE)
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
#define TEMP_FPRS 4

/* Remove a register from pool and return it (FVM_REG_NONE if the pool is
 * empty): the highest or the lowest. */
static fvm_reg take(fvm_regset *pool, bool high_first)
{
    if (!*pool)
        return FVM_REG_NONE;
    fvm_reg r = high_first ? fvm_rset_highest(*pool) : fvm_rset_lowest(*pool);
    *pool &= ~FVM_RSET(r);
    return r;
}

/* Homes: the variables used most get registers, the others frame slots
 * (home_spill). When the function calls helpers, a variable's register
 * should survive the calls: integer variables then take callee-saved GPRs
 * only (caller-saved ones too when nothing is called); float variables
 * take callee-saved FPRs where the target has them, else any FPR from the
 * top, which the lowering saves around each call in the slot home_save
 * names. Returns the registers left to temporaries. */
static fvm_regset assign_homes(const fvm_ir_func *f, fvm_regset allowed, fvm_ra_result *res)
{
    size_t nv = f->nvars;
    uint32_t *uses = fvm_xcalloc(nv + 1, sizeof *uses);
    for (uint32_t p = 1; p < f->ninsts; p++) {
        const fvm_ir_inst *in = &f->insts[p];
        if (!in->dead && (in->op == FVM_IR_VGET || in->op == FVM_IR_VSET))
            uses[in->aux]++;
    }
    bool calls = has_calls(f);
    fvm_regset gprs = allowed & FVM_RSET_GPR, fprs = allowed & FVM_RSET_FPR;
    fvm_regset gpool = gprs & (calls ? FVM_RSET_CALLEE_SAVED : FVM_RSET_ALL);
    fvm_regset fpool = fprs & (calls && FVM_FPRS_SURVIVE_CALLS ? FVM_RSET_CALLEE_SAVED
                                                                : FVM_RSET_ALL);
    /* Keep TEMP_GPRS GPRs out of the pool, caller-saved ones first (the
     * temporaries that cross no call prefer them anyway), and the lowest
     * TEMP_FPRS FPRs; float homes are then taken from the top. The low
     * FPRs carry a helper's arguments and result, and the lowering moves
     * the arguments there before it saves the homes around the call, so a
     * home must not be one of them. */
    while (gpool && fvm_rset_count(gprs & ~gpool) < TEMP_GPRS) {
        fvm_regset caller = gpool & ~FVM_RSET_CALLEE_SAVED;
        gpool &= ~FVM_RSET(fvm_rset_lowest(caller ? caller : gpool));
    }
    for (unsigned k = 0; k < TEMP_FPRS && fpool; k++)
        fpool &= ~FVM_RSET(fvm_rset_lowest(fpool));
    /* The most used variable without a home first; one never used gets a
     * slot. */
    for (size_t done = 0; done < nv; done++) {
        size_t best = nv;
        for (size_t v = 0; v < nv; v++)
            if (res->home[v] == FVM_REG_NONE && res->home_spill[v] < 0 &&
                (best == nv || uses[v] > uses[best]))
                best = v;
        bool fpr = f->var_types[best] == FVM_IR_F64;
        fvm_reg r = uses[best] ? take(fpr ? &fpool : &gpool, fpr) : FVM_REG_NONE;
        if (r == FVM_REG_NONE) {
            res->home_spill[best] = (int32_t)res->nspill++;
            continue;
        }
        res->home[best] = r;
        res->used |= FVM_RSET(r);
        allowed &= ~FVM_RSET(r);
        if (calls && !(FVM_RSET(r) & FVM_RSET_CALLEE_SAVED))
            res->home_save[best] = (int32_t)res->nspill++;
    }
    free(uses);
    return allowed;
}

/* Whether op `op` on variable var happens at a position in (lo, hi) other
 * than except. */
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

/* Whether op `op` happens at a position in (lo, hi). */
static bool op_between(const fvm_ir_func *f, fvm_ir_op op, uint32_t lo, uint32_t hi)
{
    for (uint32_t p = lo + 1; p < hi && p < f->ninsts; p++)
        if (!f->insts[p].dead && f->insts[p].op == op)
            return true;
    return false;
}

/* Whether a pinned read of var made before pos (a VGET living in the
 * home) is still needed after pos: then nothing may be computed into the
 * home at pos. */
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

/* Coalesce values with variable homes: a VGET's value lives in the home
 * itself, and a value VSET into a variable is computed straight into its
 * home, when nothing needs the home's other contents meanwhile (see ra.h
 * for the conditions). Such values skip the scan. The scans are quadratic
 * in the block's length in the worst case; blocks are short. */
static void pin_values(const fvm_ir_func *f, const uint32_t *end, fvm_ra_result *res)
{
    for (uint32_t p = 1; p < f->ninsts; p++) {
        const fvm_ir_inst *in = &f->insts[p];
        if (in->dead || in->op != FVM_IR_VGET || res->home[in->aux] == FVM_REG_NONE)
            continue;
        if (end[p] < f->ninsts && !var_op_between(f, FVM_IR_VSET, in->aux, p, end[p], 0))
            res->reg[p] = res->home[in->aux];
    }
    for (uint32_t q = 1; q < f->ninsts; q++) {
        const fvm_ir_inst *set = &f->insts[q];
        if (set->dead || set->op != FVM_IR_VSET || res->home[set->aux] == FVM_REG_NONE)
            continue;
        uint32_t var = set->aux;
        fvm_ir_ref w = set->args[0];
        const fvm_ir_inst *wi = &f->insts[w];
        uint32_t last = end[w] > q ? end[w] : q;
        if (is_const(wi) || wi->op == FVM_IR_PARAM || res->reg[w] != FVM_REG_NONE ||
            wi->block != set->block || last >= f->ninsts ||
            (wi->type == FVM_IR_F64) != fvm_reg_is_fpr(res->home[var]))
            continue;
        if (var_op_between(f, FVM_IR_VGET, var, w, q, 0) ||
            var_op_between(f, FVM_IR_VSET, var, w, last + 1, q) || op_between(f, FVM_IR_GUARD, w, q) ||
            alias_live_after(f, res, end, var, w))
            continue;
        res->reg[w] = res->home[var];
    }
}

/* The state of the scan: the intervals holding a register at the current
 * position, and the registers nobody holds. */
typedef struct scan {
    const fvm_ra_config *cfg;
    fvm_ra_result *res;
    interval **active; /* sorted by end */
    size_t nactive;
    fvm_regset free_regs;
} scan;

/* Add it to the active intervals, keeping them sorted by end. */
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

/* Retire the active intervals that ended at or before pos (an interval
 * may hand its register to one starting where it ends, see ra.h) and free
 * their registers. */
static void expire(scan *s, uint32_t pos)
{
    size_t i = 0;
    while (i < s->nactive) {
        interval *it = s->active[i];
        if (it->end > pos) {
            i++;
            continue;
        }
        s->free_regs |= FVM_RSET(s->res->reg[it->v]);
        active_remove(s, i);
    }
}

/* Give v a spill slot of its own for its whole life instead of a register. */
static void spill(scan *s, fvm_ir_ref v)
{
    s->res->reg[v] = FVM_REG_NONE;
    s->res->spill[v] = (int32_t)s->res->nspill++;
}

/* Registers this interval may take: its class, allowed, callee-saved only
 * if a call happens while it lives (none for a double on x86-64: it is
 * spilled). */
static fvm_regset candidates(const scan *s, const interval *it)
{
    fvm_regset set = s->cfg->allowed & (it->fpr ? FVM_RSET_FPR : FVM_RSET_GPR);
    if (it->crosses_call)
        set &= FVM_RSET_CALLEE_SAVED;
    return set;
}

/* The lowest register of avail, a caller-saved one if asked and there is
 * one: a value that crosses no call leaves the callee-saved registers,
 * which cost a save and a restore in the prologue and epilogue, to the
 * values that need them. */
static fvm_reg pick(fvm_regset avail, bool prefer_caller_saved)
{
    fvm_regset pref = avail & (prefer_caller_saved ? ~FVM_RSET_CALLEE_SAVED : FVM_RSET_ALL);
    if (!pref)
        pref = avail;
    return fvm_rset_lowest(pref);
}

/* Give it a free register of its class, or else take one from the active
 * interval that ends last if that outlives it (spilling that one), or else
 * spill it. */
static void allocate(scan *s, interval *it)
{
    fvm_regset cand = candidates(s, it);
    fvm_regset avail = cand & s->free_regs;
    if (avail) {
        fvm_reg r = pick(avail, !it->crosses_call);
        s->res->reg[it->v] = r;
        s->free_regs &= ~FVM_RSET(r);
        s->res->used |= FVM_RSET(r);
        active_insert(s, it);
        return;
    }
    /* Pressure: the active interval that ends last and holds a register
     * this one may use gives it up, if it outlives this one. */
    for (size_t i = s->nactive; i-- > 0;) {
        interval *victim = s->active[i];
        fvm_reg r = s->res->reg[victim->v];
        if (!(cand & FVM_RSET(r)))
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
        out->reg[i] = FVM_REG_NONE;
        out->spill[i] = -1;
    }
    size_t nv = f->nvars;
    out->home = fvm_xmalloc((nv + 1) * sizeof *out->home);
    out->home_spill = fvm_xmalloc((nv + 1) * sizeof *out->home_spill);
    out->home_save = fvm_xmalloc((nv + 1) * sizeof *out->home_save);
    for (size_t i = 0; i < nv; i++) {
        out->home[i] = FVM_REG_NONE;
        out->home_spill[i] = out->home_save[i] = -1;
    }
    /* Temporaries get what the homes left. */
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
        if (r->home[x] != FVM_REG_NONE)
            fvm_buf_printf(out, "x%zu -> %s\n", x, fvm_reg_name(r->home[x]));
        else
            fvm_buf_printf(out, "x%zu -> [spill %d]\n", x, r->home_spill[x]);
    }
    for (fvm_ir_ref v = 1; v < f->ninsts; v++) {
        if (r->reg[v] != FVM_REG_NONE)
            fvm_buf_printf(out, "v%u -> %s\n", v, fvm_reg_name(r->reg[v]));
        else if (r->spill[v] >= 0)
            fvm_buf_printf(out, "v%u -> [spill %d]\n", v, r->spill[v]);
    }
}
