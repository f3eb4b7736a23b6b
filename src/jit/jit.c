/* The JIT context: settings, counters, the per-context code cache with its
 * negative entries, and the public JIT entry points (jit.h explains the
 * cache; docs/ARCHITECTURE.md, "JIT context", the policy). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jit/jit.h"
#include "jit/linear.h"
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
    /* The linear tier's code last run and the op_hash it was found for: a
     * chunk called repeatedly skips the kinds key and the table lookup (the
     * code checks the kinds of the slots it reads itself). */
    uint64_t linear_last_hash;
    void *linear_last;
    int awk_trap;           /* the block tier's AWK division trap (0: none) */
    fvm_jit_regions *regions; /* per chunk: where the VM enters block code */
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
    fvm_jit_regions_free(j->regions);
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

void fvm_jit_disk_store(fvm_jit *j, const fvm_diskcache_key *k, const fvm_x64_buf *image,
                        const fvm_buf *meta)
{
    /* The code assumes only the x86-64 baseline (SSE2), so it needs no
     * CPU feature bits. */
    fvm_diskcache_code blob = {image->code, image->len, 0, image->relocs, image->nrelocs, 0, 0,
                               meta->data, meta->len};
    if (fvm_diskcache_store(j->disk, k, &blob))
        j->stats.disk_stores++;
}

void fvm_jit_count_run(fvm_jit *j, fvm_jit_tier t)
{
    if ((unsigned)t < FVM_JIT_TIER_COUNT)
        j->stats.runs[t]++;
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

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A failed compile: remember it, back off (doubling per failure), and
 * give up after max_compile_failures. */
static void note_failure(fvm_jit *j, jit_entry *e, const char *why)
{
    j->stats.compile_failures++;
    snprintf(j->last_failure, sizeof j->last_failure, "%s: %s", fvm_jit_tier_name(e->ops->tier),
             why ? why : "compile failed");
    e->failures++;
    if (e->failures >= j->params[FVM_JIT_PARAM_MAX_COMPILE_FAILURES]) {
        e->state = ENTRY_BLACKLISTED;
        j->stats.blacklisted++;
        return;
    }
    uint64_t backoff = j->params[FVM_JIT_PARAM_RETRY_BACKOFF];
    unsigned shift = e->failures - 1 < 32 ? e->failures - 1 : 32;
    e->wait = backoff > (UINT64_MAX >> shift) ? UINT64_MAX : backoff << shift;
    e->state = ENTRY_FAILED;
}

static void *compile_entry(fvm_jit *j, const fvm_jit_tier_ops *ops, const fvm_chunk *c,
                           uint64_t subkey, const fvm_value *slots, size_t nslots)
{
    const char *why = NULL;
    uint64_t t0 = now_ns();
    void *code = ops->compile(j, c, slots, nslots, &why);
    j->stats.compile_ns += now_ns() - t0;
    /* Look the entry up again: a compile may have added entries (and
     * moved the table). */
    jit_entry *e = entry_find(j, ops, c->op_hash, subkey);
    if (!code) {
        note_failure(j, e, why);
        return NULL;
    }
    j->stats.compiles++;
    e->state = ENTRY_COMPILED;
    e->code = code;
    return code;
}

void *fvm_jit_code_for(fvm_jit *j, const fvm_jit_tier_ops *ops, const fvm_chunk *c, uint64_t subkey,
                       const fvm_value *slots, size_t nslots, uint64_t threshold)
{
    jit_entry *e = entry_get(j, ops, c->op_hash, subkey);
    if (e->state == ENTRY_NEW) {
        if (!ops->eligible(c)) {
            e->state = ENTRY_INELIGIBLE;
            j->stats.ineligible++;
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
 * The linear tier (jit/linear.h)
 * ------------------------------------------------------------------------ */

static bool linear_eligible(const fvm_chunk *c)
{
    return fvm_linear_eligible(c, NULL);
}

/* Hand whatever the tier wrote to a dump buffer to the hook. */
static void flush_dump(fvm_jit *j, fvm_jit_dump_kind k, const fvm_chunk *c, fvm_buf *b)
{
    if (b->len)
        fvm_jit_dump(j, k, FVM_JIT_LINEAR, c, b->data, b->len);
    fvm_buf_free(b);
}

/* A second hash of the slots' types, for the disk cache's verify word. */
static uint64_t kinds_verify(const fvm_value *slots, size_t n)
{
    uint64_t h = 0x84222325cbf29ce4u;
    for (size_t i = 0; i < n; i++)
        h = (h + slots[i].type + 1) * 0x9e3779b97f4a7c15u;
    return h ^ n;
}

static void *linear_compile(fvm_jit *j, const fvm_chunk *c, const fvm_value *slots, size_t nslots,
                            const char **why)
{
    fvm_mcode *mc = fvm_jit_mcode(j);
    if (!mc) {
        *why = "no code memory";
        return NULL;
    }
    /* Named on disk by the kinds of the slots the chunk can touch, as in
     * the in-memory cache, and verified by a second hash of them. */
    size_t used = c->max_slot < 0 ? 0 : (size_t)c->max_slot + 1;
    used = used < nslots ? used : nslots;
    fvm_diskcache_key key = {FVM_JIT_LINEAR, c->op_hash, fvm_jit_slot_kinds_key(slots, used),
                             kinds_verify(slots, used)};
    fvm_buf meta = {NULL, 0, 0};
    void *entry = fvm_jit_disk_load(j, &key, &meta);
    fvm_linear_code *lc = entry ? fvm_linear_from_meta(meta.data, meta.len, entry) : NULL;
    fvm_buf_free(&meta);
    if (lc) {
        fvm_jit_disk_loaded(j);
        return lc;
    }
    fvm_buf ir = {NULL, 0, 0}, code = {NULL, 0, 0};
    bool want_ir = fvm_jit_dumping(j, FVM_JIT_DUMP_IR);
    bool want_code = fvm_jit_dumping(j, FVM_JIT_DUMP_CODE);
    lc = fvm_linear_compile(c, slots, nslots, mc, want_ir ? &ir : NULL, want_code ? &code : NULL,
                            NULL, why);
    flush_dump(j, FVM_JIT_DUMP_IR, c, &ir);
    flush_dump(j, FVM_JIT_DUMP_CODE, c, &code);
    if (lc) {
        fvm_linear_save_meta(lc, &meta);
        fvm_jit_disk_store(j, &key, fvm_linear_image(lc), &meta);
        fvm_buf_free(&meta);
        fvm_linear_drop_image(lc);
    }
    return lc;
}

static void linear_release(void *code)
{
    fvm_linear_free(code);
}


static const fvm_jit_tier_ops linear_tier = {FVM_JIT_LINEAR, linear_eligible, linear_compile,
                                             linear_release};

/* The code generator of each tier this build has; NULL: not available. */
static const fvm_jit_tier_ops *const tier_table[FVM_JIT_TIER_COUNT] = {&linear_tier,
                                                                      &fvm_block_tier, NULL};

bool fvm_jit_tier_available(fvm_jit_tier t)
{
    return (unsigned)t < FVM_JIT_TIER_COUNT && tier_table[t] != NULL;
}

bool fvm_jit_is_linear_eligible(fvm_jit *j, const fvm_chunk *c)
{
    return c && linear_eligible(c);
}

/* The code for c through the cache (compiling it if need be), remembered
 * as the last code, then run. */
static fvm_jit_status linear_lookup_run(fvm_jit *j, const fvm_chunk *c, fvm_value *slots,
                                        size_t nslots, fvm_value *out)
{
    /* The code is specialised for the kinds of the slots the chunk can
     * touch; slots beyond those do not matter. */
    size_t used = c->max_slot < 0 ? 0 : (size_t)c->max_slot + 1;
    uint64_t key = fvm_jit_slot_kinds_key(slots, used < nslots ? used : nslots);
    void *code = fvm_jit_code_for(j, &linear_tier, c, key, slots, nslots, 0);
    if (!code)
        return FVM_JIT_NOT_COMPILED;
    j->linear_last = code;
    j->linear_last_hash = c->op_hash;
    if (!fvm_linear_run(code, slots, nslots, out))
        return FVM_JIT_NOT_COMPILED;
    fvm_jit_count_run(j, FVM_JIT_LINEAR);
    return FVM_JIT_OK;
}

fvm_jit_status fvm_jit_try_run_linear(fvm_jit *j, const fvm_chunk *c, fvm_value *slots, size_t nslots,
                                      fvm_value *out)
{
    if (!j || !c || !out || (nslots && !slots))
        return FVM_JIT_NOT_COMPILED;
    /* The fast path: the chunk run last, its code checking the slots. */
    if (j->linear_last && j->linear_last_hash == c->op_hash) {
        fvm_linear_outcome r = fvm_linear_exec(j->linear_last, slots, nslots, out);
        if (r == FVM_LINEAR_DONE) {
            j->stats.cache_hits++;
            j->stats.runs[FVM_JIT_LINEAR]++;
            return FVM_JIT_OK;
        }
        if (r == FVM_LINEAR_EXITED)
            return FVM_JIT_NOT_COMPILED;
    }
    return linear_lookup_run(j, c, slots, nslots, out);
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

fvm_jit_regions **fvm_jit_regions_of(fvm_jit *j) { return &j->regions; }

/* ------------------------------------------------------------------------
 * VMs
 * ------------------------------------------------------------------------ */

const fvm_jit_hooks *fvm_jit_vm_hooks(fvm_jit *j)
{
    (void)j;
    return &fvm_block_vm_hooks;
}
