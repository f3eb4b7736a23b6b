/* Regions of block-tier ops (see region.h). */
#include "jit/region.h"

#include "jit/jitop.h"
#include "opinfo.h"
#include "value.h"

/* The jump-target operand of op, if its format has one. */
static bool op_target(const fvm_op *op, unsigned *field)
{
    const fvm_format_info *fi = fvm_op_operands(op->code);
    for (unsigned k = 0; k < fi->count; k++) {
        if (fi->operand[k].kind == FVM_K_TARGET) {
            *field = fi->operand[k].field;
            return true;
        }
    }
    return false;
}

/* Whether every jump in ops [start, end) of c targets start <= t < end, or
 * start <= t <= end when end_ok. */
static bool jumps_stay_inside(const fvm_chunk *c, size_t start, size_t end, bool end_ok)
{
    for (size_t ip = start; ip < end; ip++) {
        unsigned field;
        if (!op_target(&c->ops[ip], &field))
            continue;
        uint64_t t = fvm_operand_get(&c->ops[ip], field);
        if (t < start || t > end || (t == end && !end_ok))
            return false;
    }
    return true;
}

/* The end of the run of eligible ops that starts at ip (ip itself if the op
 * there is not eligible). */
static size_t run_end(const fvm_chunk *c, size_t ip)
{
    while (ip < c->len && fvm_jit_op_ok(FVM_JIT_BLOCK, c, ip))
        ip++;
    return ip;
}

bool fvm_jit_find_region(const fvm_chunk *c, size_t *start, size_t *end)
{
    if (!c || !start || !end)
        return false;
    size_t best_start = 0, best_len = 0;
    for (size_t ip = 0; ip < c->len;) {
        size_t e = run_end(c, ip);
        if (e - ip > best_len) { /* strictly longer: the earliest wins ties */
            best_start = ip;
            best_len = e - ip;
        }
        ip = e > ip ? e : ip + 1;
    }
    /* Upstream checks the jumps of the longest run only: if they leave it,
     * there is no region, even when a shorter run would qualify. */
    if (best_len < 4 || !jumps_stay_inside(c, best_start, best_start + best_len, false))
        return false;
    *start = best_start;
    *end = best_start + best_len;
    return true;
}

/* A subroutine's entry ends the run before it: calls enter there, never at
 * a region's start. */
static size_t run_end_at_entries(const fvm_chunk *c, size_t ip)
{
    size_t e = run_end(c, ip);
    for (size_t i = 0; i < c->nsubs; i++)
        if (c->subs[i].ip > ip && c->subs[i].ip < e)
            e = c->subs[i].ip;
    return e;
}

size_t fvm_block_regions(const fvm_chunk *c, fvm_block_region *out, size_t max)
{
    size_t n = 0;
    for (size_t ip = 0; ip < c->len;) {
        size_t e = run_end_at_entries(c, ip);
        if (e - ip >= 2 && jumps_stay_inside(c, ip, e, true)) {
            if (n < max)
                out[n] = (fvm_block_region){(uint32_t)ip, (uint32_t)e};
            n++;
        }
        ip = e > ip ? e : ip + 1;
    }
    return n;
}

/* Copies of c's constants and names (each retained) into p. */
static void share_pools(const fvm_chunk *c, fvm_chunk_parts *p)
{
    p->nconsts = c->nconsts;
    p->consts = fvm_xmalloc((c->nconsts ? c->nconsts : 1) * sizeof(fvm_value));
    for (size_t i = 0; i < c->nconsts; i++) {
        fvm_retain(c->consts[i]);
        p->consts[i] = c->consts[i];
    }
    p->nnames = c->nnames;
    p->names = fvm_xmalloc((c->nnames ? c->nnames : 1) * sizeof(fvm_string *));
    for (size_t i = 0; i < c->nnames; i++) {
        fvm_retain(fvm_str_value(c->names[i]));
        p->names[i] = c->names[i];
    }
    if (c->source) {
        fvm_retain(fvm_str_value(c->source));
        p->source = c->source;
    }
}

/* A jump to exactly end is kept: rebased it targets the new chunk's length,
 * which ends the run there, as leaving the region does in c. */
fvm_chunk *fvm_jit_extract_region(const fvm_chunk *c, size_t start, size_t end)
{
    if (!c || start >= end || end > c->len || !jumps_stay_inside(c, start, end, true))
        return NULL;
    size_t n = end - start;
    fvm_chunk_parts p = {0};
    p.len = n;
    p.ops = fvm_xmalloc((n + 1) * sizeof(fvm_op));
    p.lines = fvm_xmalloc(n * sizeof(uint32_t));
    for (size_t i = 0; i < n; i++) {
        fvm_op op = c->ops[start + i];
        unsigned field;
        if (op_target(&op, &field))
            fvm_operand_set(&op, field, fvm_operand_get(&op, field) - start);
        p.ops[i] = op;
        p.lines[i] = c->lines[start + i];
    }
    share_pools(c, &p);
    return fvm_chunk_assemble(&p, NULL, 0);
}
