/* The JIT context: settings, counters, the per-context code cache with its
 * negative entries, and the public JIT entry points (jit.h explains the
 * cache; docs/ARCHITECTURE.md, "JIT context", the policy). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit/jit.h"
#include "util.h"
#include "vm_jit.h"

/* ------------------------------------------------------------------------
 * Settings
 * ------------------------------------------------------------------------ */

typedef struct param_info {
    const char *name;
    uint64_t def, lo, hi;
    const char *env;
} param_info;

static const param_info param_table[FVM_JIT_PARAM_COUNT] = {
#define PARAM_INFO(e, name, def, lo, hi, env) {#name, (def), (lo), (hi), (env)},
    FVM_JIT_PARAMDEF(PARAM_INFO)
#undef PARAM_INFO
};

/* ------------------------------------------------------------------------
 * The context
 * ------------------------------------------------------------------------ */

/* A cache entry's state. NEW exists only between creation and the
 * eligibility check. */
typedef enum entry_state {
    ENTRY_FREE,        /* an empty table cell */
    ENTRY_NEW,
    ENTRY_COLD,        /* eligible, counting calls up to the threshold */
    ENTRY_COMPILED,
    ENTRY_FAILED,      /* waiting out its back-off before a retry */
    ENTRY_BLACKLISTED, /* failed max_compile_failures times */
    ENTRY_INELIGIBLE   /* the tier cannot compile this chunk */
} entry_state;

typedef struct jit_entry {
    uint64_t op_hash, subkey;
    const fvm_jit_tier_ops *ops; /* the tier: part of the key */
    entry_state state;
    uint32_t failures;
    uint64_t calls; /* calls seen while cold */
    uint64_t wait;  /* calls still to skip while failed */
    void *code;
} jit_entry;

#define LAST_FAILURE_MAX 160

struct fvm_jit {
    uint64_t params[FVM_JIT_PARAM_COUNT];
    fvm_jit_counters stats;
    jit_entry *entries; /* open addressing, linear probing */
    size_t nentries, cap; /* cap is a power of two */
    fvm_mcode *mcode;     /* NULL until the first compile needs it */
    fvm_diskcache *disk;  /* the persistent code cache's settings and state */
    unsigned dump_kinds;
    fvm_jit_dump_fn dump_fn;
    void *dump_ud;
    char last_failure[LAST_FAILURE_MAX];
    fvm_jit_tier_slot tiers[FVM_JIT_TIER_COUNT];
    int awk_trap;           /* the block tier's AWK division trap (0: none) */
};

/* A decimal integer in [lo, hi], surrounded by optional whitespace, with
 * an optional '+' (as upstream's u32 parse accepts). */
static bool parse_setting(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    while (isspace((unsigned char)*s))
        s++;
    if (*s == '+')
        s++;
    if (!isdigit((unsigned char)*s))
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    while (isspace((unsigned char)*end))
        end++;
    if (errno == ERANGE || *end != 0 || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

fvm_jit *fvm_jit_new(void)
{
    fvm_jit *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    for (size_t p = 0; p < FVM_JIT_PARAM_COUNT; p++) {
        const param_info *pi = &param_table[p];
        j->params[p] = pi->def;
        const char *v = pi->env ? getenv(pi->env) : NULL;
        if (v)
            parse_setting(v, pi->lo, pi->hi, &j->params[p]);
    }
    j->disk = fvm_diskcache_new();
    for (size_t t = 0; t < FVM_JIT_TIER_COUNT; t++)
        j->tiers[t].jit = j;
    return j;
}

void fvm_jit_free(fvm_jit *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->cap; i++) {
        jit_entry *e = &j->entries[i];
        if (e->state == ENTRY_COMPILED && e->ops->release)
            e->ops->release(e->code);
    }
    free(j->entries);
    for (size_t t = 0; t < FVM_JIT_TIER_COUNT; t++)
        if (j->tiers[t].state)
            fvm_jit_tiers[t]->free_state(j->tiers[t].state);
    fvm_mcode_free(j->mcode);
    fvm_diskcache_free(j->disk);
    free(j);
}

int fvm_jit_set_param(fvm_jit *j, fvm_jit_param p, uint64_t value)
{
    if ((unsigned)p >= FVM_JIT_PARAM_COUNT)
        return -1;
    if (value < param_table[p].lo || value > param_table[p].hi)
        return -1;
    j->params[p] = value;
    return 0;
}

uint64_t fvm_jit_get_param(const fvm_jit *j, fvm_jit_param p)
{
    return (unsigned)p < FVM_JIT_PARAM_COUNT ? j->params[p] : 0;
}

const char *fvm_jit_param_name(fvm_jit_param p)
{
    return (unsigned)p < FVM_JIT_PARAM_COUNT ? param_table[p].name : NULL;
}

const char *fvm_jit_tier_name(fvm_jit_tier t)
{
    static const char *const names[FVM_JIT_TIER_COUNT] = {"linear", "block", "trace"};
    return (unsigned)t < FVM_JIT_TIER_COUNT ? names[t] : NULL;
}

void fvm_jit_stats(const fvm_jit *j, fvm_jit_counters *out)
{
    *out = j->stats;
    for (size_t t = 0; t < FVM_JIT_TIER_COUNT; t++) {
        out->runs[t] = j->tiers[t].runs;
        out->cache_hits += j->tiers[t].own_hits;
    }
    out->code_bytes = j->mcode ? fvm_mcode_mapped(j->mcode) : 0;
}

const char *fvm_jit_last_failure(const fvm_jit *j)
{
    return j->last_failure[0] ? j->last_failure : NULL;
}

void fvm_jit_set_dump(fvm_jit *j, unsigned kinds, fvm_jit_dump_fn fn, void *ud)
{
    j->dump_kinds = fn ? kinds : 0;
    j->dump_fn = fn;
    j->dump_ud = ud;
}

bool fvm_jit_dumping(const fvm_jit *j, fvm_jit_dump_kind k)
{
    return (j->dump_kinds & (unsigned)k) != 0;
}

void fvm_jit_dump(fvm_jit *j, fvm_jit_dump_kind k, fvm_jit_tier t, const fvm_chunk *c,
                  const char *text, size_t len)
{
    if (fvm_jit_dumping(j, k))
        j->dump_fn(j->dump_ud, k, t, c, text, len);
}

void fvm_jit_dump_buf(fvm_jit *j, fvm_jit_dump_kind k, fvm_jit_tier t, const fvm_chunk *c,
                      fvm_buf *b)
{
    if (b->len)
        fvm_jit_dump(j, k, t, c, b->data, b->len);
    fvm_buf_free(b);
}

void fvm_jit_dump_trace_exits(fvm_jit *j, const fvm_chunk *c)
{
    if (!j || !c || !fvm_jit_dumping(j, FVM_JIT_DUMP_TRACE))
        return;
    fvm_buf b = {NULL, 0, 0};
    for (size_t t = 0; t < FVM_JIT_TIER_COUNT; t++)
        if (fvm_jit_tiers[t] && fvm_jit_tiers[t]->report_exits)
            fvm_jit_tiers[t]->report_exits(j, c, &b);
    fvm_jit_dump_buf(j, FVM_JIT_DUMP_TRACE, FVM_JIT_TRACE, c, &b);
}

fvm_diskcache *fvm_jit_diskcache(fvm_jit *j)
{
    return j->disk;
}

fvm_mcode *fvm_jit_mcode(fvm_jit *j)
{
    if (!j->mcode)
        j->mcode = fvm_mcode_new(j->params[FVM_JIT_PARAM_CODE_MAX_BYTES]);
    return j->mcode;
}

void *fvm_jit_disk_load(fvm_jit *j, const fvm_diskcache_key *k, fvm_buf *meta)
{
    if (j->dump_kinds || !fvm_jit_mcode(j))
        return NULL;
    return fvm_diskcache_load(j->disk, j->mcode, k, meta, NULL);
}

void fvm_jit_disk_loaded(fvm_jit *j) { j->stats.disk_loads++; }

void fvm_jit_disk_store(fvm_jit *j, const fvm_diskcache_key *k, const fvm_code_buf *image,
                        const fvm_buf *meta)
{
    /* The code uses only the architecture's baseline instructions (SSE2 on
     * x86-64), so it needs no CPU feature bits. */
    fvm_diskcache_code blob = {image->code, image->len, 0, image->relocs, image->nrelocs, 0, 0,
                               meta->data, meta->len};
    if (fvm_diskcache_store(j->disk, k, &blob))
        j->stats.disk_stores++;
}

void fvm_jit_count_run(fvm_jit *j, fvm_jit_tier t)
{
    if ((unsigned)t < FVM_JIT_TIER_COUNT)
        j->tiers[t].runs++;
}

/* ------------------------------------------------------------------------
 * The code cache
 * ------------------------------------------------------------------------ */

static size_t entry_slot(const fvm_jit *j, const fvm_jit_tier_ops *ops, uint64_t op_hash,
                         uint64_t subkey)
{
    /* op_hash is already a good hash; mix in the rest so the variants of
     * one chunk spread out. */
    uint64_t h = op_hash ^ (subkey * 0x9e3779b97f4a7c15ull) ^ (uint64_t)ops->tier;
    h ^= h >> 29;
    return (size_t)h & (j->cap - 1);
}

/* The entry for the key, or NULL if there is none. */
static jit_entry *entry_find(fvm_jit *j, const fvm_jit_tier_ops *ops, uint64_t op_hash,
                             uint64_t subkey)
{
    if (!j->cap)
        return NULL;
    for (size_t i = entry_slot(j, ops, op_hash, subkey);; i = (i + 1) & (j->cap - 1)) {
        jit_entry *e = &j->entries[i];
        if (e->state == ENTRY_FREE)
            return NULL;
        if (e->op_hash == op_hash && e->subkey == subkey && e->ops == ops)
            return e;
    }
}

static void table_grow(fvm_jit *j)
{
    jit_entry *old = j->entries;
    size_t old_cap = j->cap;
    j->cap = old_cap ? old_cap * 2 : 16;
    j->entries = fvm_xcalloc(j->cap, sizeof *j->entries);
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].state == ENTRY_FREE)
            continue;
        size_t k = entry_slot(j, old[i].ops, old[i].op_hash, old[i].subkey);
        while (j->entries[k].state != ENTRY_FREE)
            k = (k + 1) & (j->cap - 1);
        j->entries[k] = old[i];
    }
    free(old);
}

/* The entry for the key, created NEW if missing. The table stays at most
 * 3/4 full so probes stay short and always end. */
static jit_entry *entry_get(fvm_jit *j, const fvm_jit_tier_ops *ops, uint64_t op_hash,
                            uint64_t subkey)
{
    jit_entry *e = entry_find(j, ops, op_hash, subkey);
    if (e)
        return e;
    if ((j->nentries + 1) * 4 > j->cap * 3)
        table_grow(j);
    size_t i = entry_slot(j, ops, op_hash, subkey);
    while (j->entries[i].state != ENTRY_FREE)
        i = (i + 1) & (j->cap - 1);
    e = &j->entries[i];
    *e = (jit_entry){op_hash, subkey, ops, ENTRY_NEW, 0, 0, 0, NULL};
    j->nentries++;
    return e;
}

/* Whether a compile that failed for r may succeed if tried again: only
 * for causes outside the chunk (code memory); the same chunk with the
 * same slot kinds compiles the same way every time otherwise. */
static const bool reason_transient[FVM_JIT_REASON_COUNT] = {
#define REASON_TRANSIENT(e, transient, text) transient,
    FVM_JIT_REASON_LIST(REASON_TRANSIENT)
#undef REASON_TRANSIENT
};

static const char *const reason_text[FVM_JIT_REASON_COUNT] = {
#define REASON_TEXT(e, transient, text) text,
    FVM_JIT_REASON_LIST(REASON_TEXT)
#undef REASON_TEXT
};

const char *fvm_jit_reason_text(fvm_jit_reason r)
{
    return (unsigned)r < FVM_JIT_REASON_COUNT ? reason_text[r] : NULL;
}

void fvm_jit_count_reason(fvm_jit *j, fvm_jit_reason r)
{
    if (r != FVM_JIT_REASON_NONE && (unsigned)r < FVM_JIT_REASON_COUNT)
        j->stats.reasons[r]++;
}

uint64_t fvm_jit_retry_wait(const fvm_jit *j, uint32_t failures)
{
    uint64_t backoff = j->params[FVM_JIT_PARAM_RETRY_BACKOFF];
    unsigned shift = failures - 1 < 32 ? failures - 1 : 32;
    return backoff > (UINT64_MAX >> shift) ? UINT64_MAX : backoff << shift;
}

/* A failed compile (counted already): remember it; for a transient reason
 * back off and give up after max_compile_failures, for any other give up
 * at once. */
static void note_failure(fvm_jit *j, jit_entry *e, fvm_jit_reason why)
{
    e->failures++;
    if (e->failures >= j->params[FVM_JIT_PARAM_MAX_COMPILE_FAILURES] ||
        !reason_transient[(unsigned)why < FVM_JIT_REASON_COUNT ? why : FVM_JIT_REASON_INTERNAL]) {
        e->state = ENTRY_BLACKLISTED;
        j->stats.blacklisted++;
        return;
    }
    e->wait = fvm_jit_retry_wait(j, e->failures);
    e->state = ENTRY_FAILED;
}

void fvm_jit_count_compile(fvm_jit *j, fvm_jit_tier t, uint64_t ns, fvm_jit_reason why)
{
    j->stats.compile_ns += ns;
    if (why == FVM_JIT_REASON_NONE) {
        j->stats.compiles++;
        return;
    }
    j->stats.compile_failures++;
    fvm_jit_count_reason(j, why);
    snprintf(j->last_failure, sizeof j->last_failure, "%s: %s", fvm_jit_tier_name(t),
             fvm_jit_reason_text(why));
}

fvm_jit_counters *fvm_jit_counters_of(fvm_jit *j) { return &j->stats; }

static void *compile_entry(fvm_jit *j, const fvm_jit_tier_ops *ops, const fvm_chunk *c,
                           uint64_t subkey, const fvm_value *slots, size_t nslots)
{
    fvm_jit_reason why = FVM_JIT_REASON_INTERNAL;
    uint64_t t0 = fvm_now_ns();
    void *code = ops->compile(j, c, slots, nslots, &why);
    fvm_jit_count_compile(j, ops->tier, fvm_now_ns() - t0, code ? FVM_JIT_REASON_NONE : why);
    /* Look the entry up again: a compile may have added entries (and
     * moved the table). */
    jit_entry *e = entry_find(j, ops, c->op_hash, subkey);
    if (!code) {
        note_failure(j, e, why);
        return NULL;
    }
    e->state = ENTRY_COMPILED;
    e->code = code;
    return code;
}

void *fvm_jit_code_for(fvm_jit *j, const fvm_jit_tier_ops *ops, const fvm_chunk *c, uint64_t subkey,
                       const fvm_value *slots, size_t nslots, uint64_t threshold)
{
    jit_entry *e = entry_get(j, ops, c->op_hash, subkey);
    if (e->state == ENTRY_NEW) {
        fvm_jit_reason r = ops->decline_reason(c);
        if (r != FVM_JIT_REASON_NONE) {
            e->state = ENTRY_INELIGIBLE;
            j->stats.ineligible++;
            fvm_jit_count_reason(j, r);
            return NULL;
        }
        e->state = ENTRY_COLD;
    }
    switch (e->state) {
    case ENTRY_COMPILED:
        j->stats.cache_hits++;
        return e->code;
    case ENTRY_COLD:
        if (e->calls < UINT64_MAX)
            e->calls++;
        if (e->calls <= threshold)
            return NULL;
        return compile_entry(j, ops, c, subkey, slots, nslots);
    case ENTRY_FAILED:
        if (e->wait == 0)
            return compile_entry(j, ops, c, subkey, slots, nslots);
        e->wait--;
        j->stats.negative_hits++;
        return NULL;
    default: /* ineligible or blacklisted */
        j->stats.negative_hits++;
        return NULL;
    }
}

/* ------------------------------------------------------------------------
 * Tiers
 * ------------------------------------------------------------------------ */

uint64_t fvm_jit_slot_kinds_key(const fvm_value *slots, size_t n)
{
    uint64_t h = fvm_fnv1a64(FVM_FNV64_INIT, &n, sizeof n);
    for (size_t i = 0; i < n; i++) {
        fvm_type t = slots[i].type;
        unsigned char kind = t == FVM_T_INT || t == FVM_T_FLOAT || t == FVM_T_BOOL ? (unsigned char)t : 0xff;
        h = fvm_fnv1a64(h, &kind, 1);
    }
    return h;
}

/* ------------------------------------------------------------------------
 * The public entry points of the tiers, through the tier table
 * ------------------------------------------------------------------------ */

bool fvm_jit_tier_available(fvm_jit_tier t)
{
    return (unsigned)t < FVM_JIT_TIER_COUNT && fvm_jit_tiers[t] != NULL;
}

static bool eligible_for(fvm_jit_tier t, const fvm_chunk *c)
{
    return c && fvm_jit_tiers[t] && fvm_jit_tiers[t]->decline_reason(c) == FVM_JIT_REASON_NONE;
}

bool fvm_jit_is_linear_eligible(fvm_jit *j, const fvm_chunk *c)
{
    (void)j;
    return eligible_for(FVM_JIT_LINEAR, c);
}

bool fvm_jit_is_block_eligible(fvm_jit *j, const fvm_chunk *c)
{
    (void)j;
    return eligible_for(FVM_JIT_BLOCK, c);
}

static fvm_jit_status try_run(fvm_jit_tier t, fvm_jit *j, const fvm_chunk *c, fvm_value *slots,
                              size_t nslots, fvm_value *out, uint64_t threshold)
{
    const fvm_jit_tier_ops *ops = fvm_jit_tiers[t];
    if (!j || !c || !out || (nslots && !slots) || !ops || !ops->run)
        return FVM_JIT_NOT_COMPILED;
    return ops->run(&j->tiers[t], c, slots, nslots, out, threshold);
}

fvm_jit_status fvm_jit_try_run_linear(fvm_jit *j, const fvm_chunk *c, fvm_value *slots, size_t nslots,
                                      fvm_value *out)
{
    return try_run(FVM_JIT_LINEAR, j, c, slots, nslots, out, 0);
}

fvm_jit_status fvm_jit_try_run_block(fvm_jit *j, const fvm_chunk *c, fvm_value *slots, size_t nslots,
                                     fvm_value *out)
{
    return try_run(FVM_JIT_BLOCK, j, c, slots, nslots, out,
                   j ? j->params[FVM_JIT_PARAM_BLOCK_THRESHOLD] : 0);
}

fvm_jit_status fvm_jit_try_run_block_eager(fvm_jit *j, const fvm_chunk *c, fvm_value *slots,
                                           size_t nslots, fvm_value *out)
{
    return try_run(FVM_JIT_BLOCK, j, c, slots, nslots, out, 0);
}

fvm_jit_status fvm_jit_try_run_block_kinded(fvm_jit *j, const fvm_chunk *c, int64_t *slots,
                                            const fvm_jit_slot_kind *kinds, size_t nslots,
                                            bool eager, fvm_value *out)
{
    if (nslots && !slots)
        return FVM_JIT_NOT_COMPILED;
    fvm_value *vals = fvm_xmalloc((nslots + 1) * sizeof *vals);
    for (size_t i = 0; i < nslots; i++) {
        double d;
        memcpy(&d, &slots[i], sizeof d);
        vals[i] = kinds && kinds[i] == FVM_JIT_SLOT_FLOAT ? fvm_float(d) : fvm_int(slots[i]);
    }
    fvm_jit_status st = eager ? fvm_jit_try_run_block_eager(j, c, vals, nslots, out)
                              : fvm_jit_try_run_block(j, c, vals, nslots, out);
    bool changed_kind = false;
    for (size_t i = 0; i < nslots && st != FVM_JIT_NOT_COMPILED; i++)
        changed_kind |= (vals[i].type == FVM_T_FLOAT) != (kinds && kinds[i] == FVM_JIT_SLOT_FLOAT);
    if (changed_kind) {
        st = FVM_JIT_NOT_COMPILED;
        fvm_release(*out);
    }
    for (size_t i = 0; i < nslots && st != FVM_JIT_NOT_COMPILED; i++)
        slots[i] = vals[i].type == FVM_T_BOOL ? vals[i].as.b : vals[i].as.i;
    free(vals);
    return st;
}

bool fvm_jit_block_is_compiled(fvm_jit *j, const fvm_chunk *c)
{
    const fvm_jit_tier_ops *ops = fvm_jit_tiers[FVM_JIT_BLOCK];
    return j && c && ops && fvm_jit_is_compiled(j, ops, c->op_hash);
}

int fvm_jit_take_awk_div_trap(fvm_jit *j)
{
    if (!j)
        return 0;
    int t = j->awk_trap;
    j->awk_trap = 0;
    return t;
}

const char *fvm_jit_awk_div_trap_message(int trap)
{
    return trap == 1 ? "division by zero attempted"
         : trap == 2 ? "division by zero attempted in `%'"
                     : NULL;
}

bool fvm_jit_is_compiled(const fvm_jit *j, const fvm_jit_tier_ops *t, uint64_t op_hash)
{
    for (size_t i = 0; i < j->cap; i++) {
        const jit_entry *e = &j->entries[i];
        if (e->state == ENTRY_COMPILED && e->ops == t && e->op_hash == op_hash)
            return true;
    }
    return false;
}

int *fvm_jit_awk_trap(fvm_jit *j) { return &j->awk_trap; }

fvm_jit_tier_slot *fvm_jit_tier_slot_of(fvm_jit *j, fvm_jit_tier t) { return &j->tiers[t]; }

/* ------------------------------------------------------------------------
 * VMs
 * ------------------------------------------------------------------------ */

/* The hooks of the highest tier the vm_tiers setting asks for that this
 * build has: a tier's hooks include those of the tiers below it that the
 * setting asks for too (the tracing tier's exec copy starts from the block
 * tier's when both are on). */
const fvm_jit_hooks *fvm_jit_vm_hooks(fvm_jit *j)
{
    uint64_t want = j->params[FVM_JIT_PARAM_VM_TIERS];
    for (size_t t = FVM_JIT_TIER_COUNT; t-- > 0;)
        if ((want & (1u << t)) && fvm_jit_tiers[t] && fvm_jit_tiers[t]->vm_hooks)
            return fvm_jit_tiers[t]->vm_hooks;
    return NULL;
}
