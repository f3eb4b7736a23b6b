/* The disk cache seen from the tiers: the linear and block tiers storing
 * their code and loading it in a fresh context (upstream's tests of its
 * cache, with our semantics where docs/OPS.md says we differ), the cache
 * being transparent (same results, slots and thresholds cold, warm and off),
 * damaged or misnamed blobs refused at the tier level, processes sharing
 * one directory, and a VM with the block tier on a cold and a warm cache.
 * The cache module itself is tested in test_jit_diskcache.c. Every test
 * works in its own mkdtemp directory, set through the API (make unit runs
 * with FUSEVM_JIT_CACHE_DIR=off), and removes it. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chunktest.h"
#include "fstest.h"
#include "jit/block.h"
#include "jit/jit.h"

/* ------------------------------------------------------------------------
 * Files and directories
 * ------------------------------------------------------------------------ */

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Entries of dir (but . and ..) ending with suffix (NULL: all); the name
 * of the last one found goes to *name (malloc'd) if name is not NULL. */
static size_t list_files(const char *dir, const char *suffix, char **name)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (suffix && !ends_with(e->d_name, suffix))
            continue;
        n++;
        if (name) {
            free(*name);
            *name = strdup(e->d_name);
        }
    }
    closedir(dp);
    return n;
}

/* The path of the only file in dir ending with suffix. */
static char *only_file(const char *dir, const char *suffix)
{
    char *name = NULL;
    cr_assert_eq(list_files(dir, suffix, &name), 1, "expected one *%s in %s", suffix, dir);
    char *p = fst_path_in(dir, name);
    free(name);
    return p;
}

static bool same_file(const char *path, const uint8_t *bytes, size_t len)
{
    size_t n;
    uint8_t *b = fst_read_file(path, &n);
    bool same = n == len && memcmp(b, bytes, len) == 0;
    free(b);
    return same;
}

/* A little-endian u32 of a blob (docs/FORMAT.md). */
static uint32_t blob_u32(const uint8_t *b, size_t off)
{
    return (uint32_t)b[off] | (uint32_t)b[off + 1] << 8 | (uint32_t)b[off + 2] << 16 |
           (uint32_t)b[off + 3] << 24;
}

static uint64_t blob_u64(const uint8_t *b, size_t off)
{
    return blob_u32(b, off) | (uint64_t)blob_u32(b, off + 4) << 32;
}

#define BLOB_OP_HASH 24
#define BLOB_SUBKEY 32
#define BLOB_TIER 48
#define BLOB_NRELOCS 65

/* The name a tier's blob has: {op_hash:016x}.{subkey:016x}.{tag}.fjit */
static char *blob_name(const char *dir, uint64_t op_hash, uint64_t subkey, const char *tag)
{
    char *p;
    cr_assert_geq(asprintf(&p, "%s/%016" PRIx64 ".%016" PRIx64 ".%s.fjit", dir, op_hash, subkey, tag),
                  0);
    return p;
}

/* ------------------------------------------------------------------------
 * The environment
 * ------------------------------------------------------------------------ */

TestSuite(jit_persist, .init = fst_save_env, .fini = fst_restore_env);

/* ------------------------------------------------------------------------
 * Chunks, contexts and runs
 * ------------------------------------------------------------------------ */

#define NS 8

/* A fresh context on dir (NULL: caching off). */
static fvm_jit *context(const char *dir)
{
    fvm_jit *j = fvm_jit_new();
    cr_assert_not_null(j);
    fvm_jit_set_cache_dir(j, dir ? dir : FVM_JIT_CACHE_OFF);
    return j;
}

static bool same_value(fvm_value a, fvm_value b)
{
    if (a.type != b.type)
        return false;
    switch (a.type) {
    case FVM_T_UNDEF: return true;
    case FVM_T_BOOL: return a.as.b == b.as.b;
    case FVM_T_INT: case FVM_T_FLOAT: return a.as.i == b.as.i;
    default: return fvm_value_equal(a, b);
    }
}

static const char *show(fvm_value v, char *buf, size_t n)
{
    switch (v.type) {
    case FVM_T_UNDEF: snprintf(buf, n, "Undef"); break;
    case FVM_T_BOOL: snprintf(buf, n, "Bool(%d)", v.as.b); break;
    case FVM_T_INT: snprintf(buf, n, "Int(%lld)", (long long)v.as.i); break;
    case FVM_T_FLOAT: snprintf(buf, n, "Float(%.17g, %016llx)", v.as.f, (unsigned long long)v.as.i); break;
    default: snprintf(buf, n, "type %u", v.type); break;
    }
    return buf;
}

#define EXPECT_VALUE(got, want, ...)                                                              \
    do {                                                                                          \
        char gb_[64], wb_[64];                                                                    \
        cr_assert(same_value((got), (want)), "%s: got %s, want %s", (__VA_ARGS__),               \
                  show((got), gb_, sizeof gb_), show((want), wb_, sizeof wb_));                   \
    } while (0)

/* How a chunk is run: linear tier, block tier compiling on the first call,
 * block tier with the context's threshold (called until it compiles). */
typedef enum how { LIN, BLK_EAGER, BLK } how;

typedef struct outcome {
    fvm_jit_status st;
    fvm_value out;
    fvm_value slots[NS];
    fvm_jit_counters k;
} outcome;

static fvm_jit_status run_once(fvm_jit *j, how h, const fvm_chunk *c, fvm_value *s, size_t n,
                               fvm_value *out)
{
    *out = fvm_undef();
    switch (h) {
    case LIN: return fvm_jit_try_run_linear(j, c, n ? s : NULL, n, out);
    case BLK_EAGER: return fvm_jit_try_run_block_eager(j, c, n ? s : NULL, n, out);
    default: return fvm_jit_try_run_block(j, c, n ? s : NULL, n, out);
    }
}

/* Run c once in fresh context on dir (NULL: caching off) with slots in[0..n).
 * BLK: the default threshold (1) makes the first call decline; the second
 * is the one reported. */
static outcome run_fresh(const char *dir, how h, const fvm_chunk *c, const fvm_value *in, size_t n)
{
    outcome o;
    memset(&o, 0, sizeof o);
    cr_assert_leq(n, NS);
    if (n)
        memcpy(o.slots, in, n * sizeof *in);
    fvm_jit *j = context(dir);
    if (h == BLK) {
        cr_assert_eq(run_once(j, h, c, o.slots, n, &o.out), FVM_JIT_NOT_COMPILED,
                     "the first call must stay below the threshold");
        for (size_t i = 0; i < n; i++)
            EXPECT_VALUE(o.slots[i], in[i], "slot untouched below the threshold");
    }
    o.st = run_once(j, h, c, o.slots, n, &o.out);
    fvm_jit_stats(j, &o.k);
    fvm_jit_free(j);
    return o;
}

/* The interpreter's outcome for c started with slots in[0..n). */
static outcome interp(const fvm_chunk *c, const fvm_value *in, size_t n)
{
    outcome o;
    memset(&o, 0, sizeof o);
    fvm_vm *vm = fvm_vm_new(c);
    for (uint16_t i = 0; i < n; i++)
        fvm_vm_set_slot(vm, i, in[i]);
    fvm_result r = fvm_vm_run(vm);
    cr_assert_neq(r.status, FVM_RUN_ERROR, "interpreter: %s", fvm_vm_error(vm));
    o.st = r.status == FVM_RUN_OK ? FVM_JIT_OK : FVM_JIT_HALTED;
    o.out = r.value;
    for (uint16_t i = 0; i < n; i++)
        o.slots[i] = fvm_vm_get_slot(vm, i);
    fvm_vm_free(vm);
    return o;
}

static void expect_same(const outcome *a, const outcome *b, size_t n, const char *what)
{
    cr_assert_eq(a->st, b->st, "%s: status %d vs %d", what, a->st, b->st);
    EXPECT_VALUE(a->out, b->out, what);
    for (size_t i = 0; i < n; i++)
        EXPECT_VALUE(a->slots[i], b->slots[i], what);
}

static void expect_cold(const outcome *o, const char *what)
{
    cr_assert_eq(o->k.compiles, 1, "%s: compiles %" PRIu64, what, o->k.compiles);
    cr_assert_eq(o->k.disk_loads, 0, "%s: disk_loads %" PRIu64, what, o->k.disk_loads);
    cr_assert_eq(o->k.disk_stores, 1, "%s: disk_stores %" PRIu64, what, o->k.disk_stores);
}

static void expect_warm(const outcome *o, const char *what)
{
    cr_assert_eq(o->k.compiles, 1, "%s: compiles %" PRIu64, what, o->k.compiles);
    cr_assert_eq(o->k.disk_loads, 1, "%s: disk_loads %" PRIu64, what, o->k.disk_loads);
    cr_assert_eq(o->k.disk_stores, 0, "%s: disk_stores %" PRIu64, what, o->k.disk_stores);
}

/* The block sum loop without upstream's PushFrame (a frame op the tier
 * leaves to the interpreter): s0 = 0; s1 = 0; do { s0 += s1 } while
 * (++s1 < limit); s0, through plain slot ops and the fused loop test. */
static fvm_chunk *sum_loop(int32_t limit)
{
    return ct_chunk(OPS(FVM_LOAD_INT(0), FVM_SET_SLOT(0), FVM_LOAD_INT(0), FVM_SET_SLOT(1),
                        /* 4 */ FVM_GET_SLOT(0), FVM_GET_SLOT(1), FVM_ADD(), FVM_SET_SLOT(0),
                        /* 8 */ FVM_PRE_INC_SLOT_VOID(1), FVM_SLOT_LT_INT_JUMP_IF_FALSE(1, limit, 11),
                        /* 10 */ FVM_JUMP(4),
                        /* 11 */ FVM_GET_SLOT(0)));
}

static const fvm_value int_slots[NS] = {{FVM_T_INT, 0, {.i = 0}}, {FVM_T_INT, 0, {.i = 0}},
                                        {FVM_T_INT, 0, {.i = 0}}, {FVM_T_INT, 0, {.i = 0}}};

/* ------------------------------------------------------------------------
 * 1. Upstream's cache tests for the linear and block tiers
 * ------------------------------------------------------------------------ */

Test(jit_persist, leaf_matches_interp_and_leaves_one_linear_blob)
{
    char *dir = fst_tmp_dir("persist");
    fvm_chunk *c = ct_chunk(OPS(FVM_LOAD_INT(2), FVM_LOAD_INT(3), FVM_ADD(), FVM_LOAD_INT(4), FVM_MUL()));
    outcome o = run_fresh(dir, LIN, c, NULL, 0);
    cr_assert_eq(o.st, FVM_JIT_OK);
    EXPECT_VALUE(o.out, fvm_int(20), "(2+3)*4");
    expect_cold(&o, "leaf");
    cr_assert_eq(o.k.runs[FVM_JIT_LINEAR], 1);
    cr_assert_eq(fst_count_files(dir, NULL), 1);
    char *want = blob_name(dir, fvm_chunk_op_hash(c), fvm_jit_slot_kinds_key(NULL, 0), "lin");
    struct stat st;
    cr_assert_eq(stat(want, &st), 0, "expected %s", want);
    cr_assert(S_ISREG(st.st_mode));
    free(want);
    fvm_chunk_free(c);
    fst_drop_dir(dir);
}

Test(jit_persist, pow_through_a_helper_relocation)
{
    /* Ours: Pow is a Float, 2 ** 10 is 1024.0. */
    char *dir = fst_tmp_dir("persist");
    fvm_chunk *c = ct_chunk(OPS(FVM_LOAD_INT(2), FVM_LOAD_INT(10), FVM_POW()));
    outcome o = run_fresh(dir, LIN, c, NULL, 0);
    cr_assert_eq(o.st, FVM_JIT_OK);
    EXPECT_VALUE(o.out, fvm_float(1024.0), "2 ** 10 cold");
    expect_cold(&o, "pow");
    o = run_fresh(dir, LIN, c, NULL, 0);
    EXPECT_VALUE(o.out, fvm_float(1024.0), "2 ** 10 warm");
    expect_warm(&o, "pow");
    fvm_chunk_free(c);
    /* Constants fold; with slots the code calls the pow helper, and
     * reloaded for other values the relocation is patched with this
     * context's helper address. */
    c = ct_chunk(OPS(FVM_GET_SLOT(0), FVM_GET_SLOT(1), FVM_POW()));
    fvm_value a[2] = {fvm_int(2), fvm_int(10)}, b[2] = {fvm_int(3), fvm_int(-2)};
    o = run_fresh(dir, LIN, c, a, 2);
    EXPECT_VALUE(o.out, fvm_float(1024.0), "s0 ** s1 cold");
    char *path = blob_name(dir, fvm_chunk_op_hash(c), fvm_jit_slot_kinds_key(a, 2), "lin");
    size_t len;
    uint8_t *blob = fst_read_file(path, &len);
    cr_assert_gt(len, BLOB_NRELOCS + 4);
    cr_assert_geq(blob_u32(blob, BLOB_NRELOCS), 1, "Pow calls its helper through a relocation");
    free(blob);
    free(path);
    o = run_fresh(dir, LIN, c, b, 2);
    expect_warm(&o, "pow slots");
    outcome want = interp(c, b, 2);
    EXPECT_VALUE(o.out, want.out, "3 ** -2 warm");
    EXPECT_VALUE(o.out, fvm_float(1.0 / 9.0), "3 ** -2");
    fvm_chunk_free(c);
    fst_drop_dir(dir);
}

Test(jit_persist, floats_and_integral_load_float)
{
    char *dir = fst_tmp_dir("persist");
    fvm_chunk *c = ct_chunk(OPS(FVM_LOAD_FLOAT(1.5), FVM_LOAD_FLOAT(2.5), FVM_ADD()));
    fvm_chunk *integral = ct_chunk(OPS(FVM_LOAD_FLOAT(2.0), FVM_LOAD_FLOAT(3.0), FVM_MUL()));
    for (int pass = 0; pass < 2; pass++) {
        outcome o = run_fresh(dir, LIN, c, NULL, 0);
        cr_assert_eq(o.st, FVM_JIT_OK);
        EXPECT_VALUE(o.out, fvm_float(4.0), "1.5 + 2.5");
        outcome p = run_fresh(dir, LIN, integral, NULL, 0);
        EXPECT_VALUE(p.out, fvm_float(6.0), "integral LoadFloat stays Float");
        if (pass) {
            expect_warm(&o, "float");
            expect_warm(&p, "integral float");
        }
    }
    cr_assert_eq(fst_count_files(dir, ".lin.fjit"), 2);
    fvm_chunk_free(c);
    fvm_chunk_free(integral);
    fst_drop_dir(dir);
}

Test(jit_persist, slots_reload_for_other_values)
{
    char *dir = fst_tmp_dir("persist");
    fvm_chunk *c = ct_chunk(OPS(FVM_GET_SLOT(0), FVM_GET_SLOT(1), FVM_ADD()));
    fvm_value a[2] = {fvm_int(100), fvm_int(200)}, b[2] = {fvm_int(-5), fvm_int(7)};
    outcome o = run_fresh(dir, LIN, c, a, 2);
    EXPECT_VALUE(o.out, fvm_int(300), "100 + 200");
    o = run_fresh(dir, LIN, c, b, 2);
    expect_warm(&o, "slots");
    EXPECT_VALUE(o.out, fvm_int(2), "-5 + 7");
    /* Other kinds are another blob, not the Int one. */
    fvm_value f[2] = {fvm_float(0.25), fvm_int(7)};
    o = run_fresh(dir, LIN, c, f, 2);
    expect_cold(&o, "float slot");
    EXPECT_VALUE(o.out, fvm_float(7.25), "0.25 + 7");
    cr_assert_eq(fst_count_files(dir, ".lin.fjit"), 2);
    fvm_chunk_free(c);
    fst_drop_dir(dir);
}

Test(jit_persist, a_fresh_context_loads_from_disk)
{
    char *dir = fst_tmp_dir("persist");
    fvm_chunk *c = ct_chunk(OPS(FVM_LOAD_INT(7), FVM_LOAD_INT(6), FVM_MUL()));
    outcome o = run_fresh(dir, LIN, c, NULL, 0);
    EXPECT_VALUE(o.out, fvm_int(42), "cold");
    expect_cold(&o, "cold");
    fvm_jit *j = context(dir);
    fvm_value out;
    cr_assert_eq(fvm_jit_try_run_linear(j, c, NULL, 0, &out), FVM_JIT_OK);
    EXPECT_VALUE(out, fvm_int(42), "warm");
    cr_assert_eq(fvm_jit_try_run_linear(j, c, NULL, 0, &out), FVM_JIT_OK);
    EXPECT_VALUE(out, fvm_int(42), "warm, second call");
    fvm_jit_counters k;
    fvm_jit_stats(j, &k);
    cr_assert_eq(k.compiles, 1);
    cr_assert_eq(k.disk_loads, 1);
    cr_assert_eq(k.disk_stores, 0);
    cr_assert_eq(k.cache_hits, 1);
    cr_assert_eq(k.runs[FVM_JIT_LINEAR], 2);
    cr_assert_gt(k.code_bytes, 0);
    fvm_jit_free(j);
    fvm_chunk_free(c);
    fst_drop_dir(dir);
}

/* Damage every .fjit in dir: 0 junk, 1 truncated to half, 2 a byte flipped. */
static void damage_all(const char *dir, int how_bad)
{
    DIR *dp = opendir(dir);
    cr_assert_not_null(dp);
    struct dirent *e;
    while ((e = readdir(dp))) {
        if (!ends_with(e->d_name, ".fjit"))
            continue;
        char *p = fst_path_in(dir, e->d_name);
        size_t len;
        uint8_t *b = fst_read_file(p, &len);
        if (how_bad == 0)
            fst_write_file(p, "not a real blob", 15);
        else if (how_bad == 1)
            fst_write_file(p, b, len / 2);
        else {
            b[len / 2] ^= 0x40;
            fst_write_file(p, b, len);
        }
        free(b);
        free(p);
    }
    closedir(dp);
}

Test(jit_persist, corrupted_files_are_rejected_recompiled_and_overwritten)
{
    char *dir = fst_tmp_dir("persist");
    fvm_chunk *c = ct_chunk(OPS(FVM_LOAD_INT(40), FVM_LOAD_INT(2), FVM_ADD()));
    outcome o = run_fresh(dir, LIN, c, NULL, 0);
    EXPECT_VALUE(o.out, fvm_int(42), "cold");
    char *path = only_file(dir, ".fjit");
    size_t len;
    uint8_t *good = fst_read_file(path, &len);
    for (int how_bad = 0; how_bad < 3; how_bad++) {
        damage_all(dir, how_bad);
        cr_assert_not(same_file(path, good, len));
        o = run_fresh(dir, LIN, c, NULL, 0);
        cr_assert_eq(o.st, FVM_JIT_OK);
        EXPECT_VALUE(o.out, fvm_int(42), "after damage");
        expect_cold(&o, "damaged");
        cr_assert(same_file(path, good, len), "damage %d: the recompile rewrites the blob", how_bad);
        o = run_fresh(dir, LIN, c, NULL, 0);
        expect_warm(&o, "rewritten");
        EXPECT_VALUE(o.out, fvm_int(42), "rewritten");
    }
    cr_assert_eq(fst_count_files(dir, NULL), 1);
    free(good);
    free(path);
    fvm_chunk_free(c);
    fst_drop_dir(dir);
}

Test(jit_persist, on_by_default_and_opt_out)
{
    unsetenv("FUSEVM_JIT_CACHE_DIR");
    fvm_jit *j = fvm_jit_new();
    const char *d = fvm_jit_cache_dir(j);
    cr_assert_not_null(d, "caching is on by default");
    cr_assert(ends_with(d, "/fusevm-jit"), "default %s", d);
    setenv("FUSEVM_JIT_CACHE_DIR", "off", 1);
    cr_assert_null(fvm_jit_cache_dir(j));
    cr_assert_eq(fvm_jit_cache_size_bytes(j), -1);
    fvm_jit_free(j);
    /* A context created while the variable says off sees it too. */
    j = fvm_jit_new();
    cr_assert_null(fvm_jit_cache_dir(j));
    unsetenv("FUSEVM_JIT_CACHE_DIR");
    cr_assert_not_null(fvm_jit_cache_dir(j), "resolved on every use");
    fvm_jit_free(j);
}

Test(jit_persist, disabled_still_correct_and_writes_nothing)
{
    char *home = fst_tmp_dir("persist");
    setenv("XDG_CACHE_HOME", home, 1);
    setenv("HOME", home, 1);
    setenv("TMPDIR", home, 1);
    fvm_chunk *lin = ct_chunk(OPS(FVM_LOAD_INT(21), FVM_DUP(), FVM_ADD()));
    fvm_chunk *blk = sum_loop(100);
    /* Off by the environment, then by the API with the environment naming
     * a directory. */
    for (int by_api = 0; by_api < 2; by_api++) {
        if (by_api)
            setenv("FUSEVM_JIT_CACHE_DIR", home, 1);
        else
            setenv("FUSEVM_JIT_CACHE_DIR", "off", 1);
        fvm_jit *j = fvm_jit_new();
        if (by_api) {
            cr_assert_str_eq(fvm_jit_cache_dir(j), home);
            fvm_jit_set_cache_dir(j, FVM_JIT_CACHE_OFF);
        }
        cr_assert_null(fvm_jit_cache_dir(j));
        fvm_value out, s[2] = {fvm_int(0), fvm_int(0)};
        cr_assert_eq(fvm_jit_try_run_linear(j, lin, NULL, 0, &out), FVM_JIT_OK);
        EXPECT_VALUE(out, fvm_int(42), "21 dup +");
        cr_assert_eq(fvm_jit_try_run_block_eager(j, blk, s, 2, &out), FVM_JIT_OK);
        EXPECT_VALUE(out, fvm_int(4950), "sum loop");
        fvm_jit_counters k;
        fvm_jit_stats(j, &k);
        cr_assert_eq(k.compiles, 2);
        cr_assert_eq(k.disk_stores, 0);
        cr_assert_eq(k.disk_loads, 0);
        cr_assert_eq(fvm_jit_cache_size_bytes(j), -1);
        cr_assert_eq(fvm_jit_prune_cache(j), 0);
        cr_assert_eq(fvm_jit_clear_cache(j), 0);
        fvm_jit_free(j);
        cr_assert_eq(fst_count_files(home, NULL), 0, "nothing written under %s", home);
    }
    fvm_chunk_free(lin);
    fvm_chunk_free(blk);
    fst_drop_dir(home);
}

Test(jit_persist, set_and_get_dir)
{
    char *dir = fst_tmp_dir("persist"), *other = fst_tmp_dir("persist");
    setenv("FUSEVM_JIT_CACHE_DIR", other, 1);
    fvm_jit *j = fvm_jit_new();
    cr_assert_str_eq(fvm_jit_cache_dir(j), other);
    fvm_jit_set_cache_dir(j, dir);
    cr_assert_str_eq(fvm_jit_cache_dir(j), dir);
    /* The setting is per context. */
    fvm_jit *k = fvm_jit_new();
    cr_assert_str_eq(fvm_jit_cache_dir(k), other);
    fvm_jit_free(k);
    /* Code compiled goes to the set directory only. */
    fvm_chunk *c = ct_chunk(OPS(FVM_LOAD_INT(1), FVM_LOAD_INT(2), FVM_SUB()));
    fvm_value out;
    cr_assert_eq(fvm_jit_try_run_linear(j, c, NULL, 0, &out), FVM_JIT_OK);
    cr_assert_eq(fst_count_files(dir, ".lin.fjit"), 1);
    cr_assert_eq(fst_count_files(other, NULL), 0);
    fvm_jit_set_cache_dir(j, NULL);
    cr_assert_str_eq(fvm_jit_cache_dir(j), other, "NULL goes back to the environment");
    fvm_jit_free(j);
    fvm_chunk_free(c);
    fst_drop_dir(dir);
    fst_drop_dir(other);
}

Test(jit_persist, block_sum_loop_persists_and_reloads)
{
    char *dir = fst_tmp_dir("persist");
    fvm_chunk *c = sum_loop(100);
    outcome o = run_fresh(dir, BLK_EAGER, c, int_slots, 2);
    cr_assert_eq(o.st, FVM_JIT_OK);
    EXPECT_VALUE(o.out, fvm_int(4950), "cold");
    expect_cold(&o, "block cold");
    cr_assert_eq(o.k.runs[FVM_JIT_BLOCK], 1);
    EXPECT_VALUE(o.slots[1], fvm_int(100), "cold s1");
    char *want = blob_name(dir, fvm_chunk_op_hash(c), fvm_block_kinds_key(int_slots, 2), "blk");
    char *path = only_file(dir, ".fjit");
    cr_assert_str_eq(path, want);
    size_t len;
    uint8_t *blob = fst_read_file(path, &len);
    cr_assert_gt(len, BLOB_NRELOCS);
    cr_assert_eq(blob_u64(blob, BLOB_OP_HASH), fvm_chunk_op_hash(c));
    cr_assert_eq(blob_u64(blob, BLOB_SUBKEY), fvm_block_kinds_key(int_slots, 2));
    cr_assert_eq(blob[BLOB_TIER], FVM_JIT_BLOCK);
    free(blob);
    outcome w = run_fresh(dir, BLK_EAGER, c, int_slots, 2);
    expect_warm(&w, "block warm");
    expect_same(&w, &o, 2, "block warm vs cold");
    outcome ref = interp(c, int_slots, 2);
    expect_same(&w, &ref, 2, "block vs interpreter");
    free(want);
    free(path);
    fvm_chunk_free(c);
    fst_drop_dir(dir);
}

Test(jit_persist, size_prune_and_clear_over_linear_chunks)
{
    char *dir = fst_tmp_dir("persist");
    fvm_jit *j = context(dir);
    cr_assert_eq(fvm_jit_cache_size_bytes(j), 0);
    char *keep = fst_path_in(dir, "keep.txt");
    fst_write_file(keep, "keep", 4);
    for (int k = 0; k < 6; k++) {
        fvm_chunk *c = ct_chunk(OPS(FVM_LOAD_INT(k), FVM_LOAD_INT(1), FVM_ADD()));
        fvm_value out;
        cr_assert_eq(fvm_jit_try_run_linear(j, c, NULL, 0, &out), FVM_JIT_OK);
        EXPECT_VALUE(out, fvm_int(k + 1), "k + 1");
        fvm_chunk_free(c);
    }
    cr_assert_eq(fst_count_files(dir, ".lin.fjit"), 6);
    /* The size is the blobs' bytes, keep.txt not counted. */
    int64_t total = 0;
    DIR *dp = opendir(dir);
    struct dirent *e;
    while ((e = readdir(dp))) {
        if (!ends_with(e->d_name, ".fjit"))
            continue;
        char *p = fst_path_in(dir, e->d_name);
        struct stat st;
        cr_assert_eq(stat(p, &st), 0);
        total += st.st_size;
        free(p);
    }
    closedir(dp);
    int64_t size = fvm_jit_cache_size_bytes(j);
    cr_assert_eq(size, total);
    cr_assert_gt(size, 0);
    fvm_jit_set_cache_max_bytes(j, 200);
    cr_assert_eq(fvm_jit_cache_max_bytes(j), 200);
    uint64_t freed = fvm_jit_prune_cache(j);
    cr_assert_gt(freed, 0);
    int64_t after = fvm_jit_cache_size_bytes(j);
    cr_assert_leq(after, 200);
    cr_assert_eq((int64_t)freed, size - after);
    size_t left = fst_count_files(dir, ".fjit");
    cr_assert_eq(fvm_jit_clear_cache(j), left);
    cr_assert_eq(fvm_jit_cache_size_bytes(j), 0);
    cr_assert(same_file(keep, (const uint8_t *)"keep", 4), "other files are kept");
    unsetenv("FUSEVM_JIT_CACHE_MAX_BYTES");
    fvm_jit_set_cache_max_bytes(j, -1);
    cr_assert_eq(fvm_jit_cache_max_bytes(j), (uint64_t)256 << 20);
    /* Cleared blobs are compiled again and stored again. */
    fvm_chunk *c = ct_chunk(OPS(FVM_LOAD_INT(0), FVM_LOAD_INT(1), FVM_ADD()));
    outcome o = run_fresh(dir, LIN, c, NULL, 0);
    expect_cold(&o, "after clear");
    fvm_chunk_free(c);
    free(keep);
    fvm_jit_free(j);
    fst_drop_dir(dir);
}

/* Upstream's loop over the new slot ops, without its PushFrame: acc = sum
 * of i++ while i < 5, then j = 10, acc += --j, acc += j--: 28. */
static fvm_chunk *slot_ops_loop(void)
{
    return ct_chunk(OPS(FVM_LOAD_INT(0), FVM_SET_SLOT(1), FVM_LOAD_INT(0), FVM_SET_SLOT(0),
                        /* 4 */ FVM_POST_INC_SLOT(0), FVM_GET_SLOT(1), FVM_ADD(), FVM_SET_SLOT(1),
                        /* 8 */ FVM_SLOT_LT_INT_JUMP_IF_FALSE(0, 5, 13), FVM_JUMP(4), FVM_NOP(),
                        FVM_NOP(), FVM_NOP(),
                        /* 13 */ FVM_LOAD_INT(10), FVM_SET_SLOT(2), FVM_PRE_DEC_SLOT(2), FVM_GET_SLOT(1),
                        FVM_ADD(), FVM_SET_SLOT(1), FVM_POST_DEC_SLOT(2), FVM_GET_SLOT(1), FVM_ADD(),
                        FVM_SET_SLOT(1), FVM_GET_SLOT(1)));
}

Test(jit_persist, new_slot_ops_match_the_interpreter_and_persist)
{
    char *dir = fst_tmp_dir("persist");
    fvm_chunk *c = slot_ops_loop();
    outcome ref = interp(c, int_slots, 3);
    EXPECT_VALUE(ref.out, fvm_int(28), "interpreter");
    EXPECT_VALUE(ref.slots[0], fvm_int(5), "i");
    EXPECT_VALUE(ref.slots[2], fvm_int(8), "j");
    outcome cold = run_fresh(dir, BLK, c, int_slots, 3);
    expect_cold(&cold, "slot ops cold");
    expect_same(&cold, &ref, 3, "block tier cold");
    cr_assert_eq(fst_count_files(dir, ".blk.fjit"), 1);
    outcome warm = run_fresh(dir, BLK_EAGER, c, int_slots, 3);
    expect_warm(&warm, "slot ops warm");
    expect_same(&warm, &ref, 3, "block tier warm");
    fvm_chunk_free(c);
    fst_drop_dir(dir);
}

/* One block-tier math blob: ops run on slots s0 (and s1), compiled for
 * first[], reloaded by a fresh context for second[]. */
typedef struct math_case {
    const char *name;
    fvm_op ops[10];
    size_t nops, nargs;
    fvm_value first[2], second[2];
    fvm_value want_first; /* what upstream pins for the first call */
    bool helper;          /* the code calls a helper (a relocation) */
} math_case;

#define F(x) fvm_float(x)
#define S0 FVM_GET_SLOT(0)
#define S1 FVM_GET_SLOT(1)

Test(jit_persist, block_math_blobs_reload_for_other_values)
{
    const math_case cases[] = {
        {"PowFloat", {S0, S1, FVM_POW_FLOAT()}, 3, 2, {F(2), F(10)}, {F(3), F(0.5)}, F(1024), true},
        {"SqrtFloat", {S0, FVM_SQRT_FLOAT()}, 2, 1, {F(9)}, {F(2)}, F(3), false},
        {"SinFloat", {S0, FVM_SIN_FLOAT()}, 2, 1, {F(0)}, {F(1)}, F(0), true},
        {"CosFloat", {S0, FVM_COS_FLOAT()}, 2, 1, {F(0)}, {F(2)}, F(1), true},
        {"ExpFloat", {S0, FVM_EXP_FLOAT()}, 2, 1, {F(0)}, {F(1.5)}, F(1), true},
        {"Atan2Float", {S0, S1, FVM_ATAN2_FLOAT()}, 3, 2, {F(0), F(1)}, {F(1), F(-1)}, F(0), true},
        {"LogFloat", {S0, FVM_LOG_FLOAT()}, 2, 1, {F(1)}, {F(8)}, F(0), true},
        {"AbsFloat", {S0, FVM_ABS_FLOAT()}, 2, 1, {F(0)}, {F(-7)}, F(0), false},
        {"TruncInt", {S0, FVM_SQRT_FLOAT(), FVM_TRUNC_INT()}, 3, 1, {fvm_int(16)}, {fvm_int(81)},
         fvm_int(4), false},
        {"CeilFloat", {S0, FVM_CEIL_FLOAT()}, 2, 1, {F(2.3)}, {F(-2.5)}, F(3), false},
        {"FloorFloat", {S0, FVM_FLOOR_FLOAT()}, 2, 1, {F(2.7)}, {F(-0.5)}, F(2), false},
        {"TruncFloat", {S0, FVM_TRUNC_FLOAT()}, 2, 1, {F(-2.7)}, {F(3.9)}, F(-2), false},
        {"RoundFloat", {S0, FVM_ROUND_FLOAT()}, 2, 1, {F(0.5)}, {F(2.5)}, F(0), false},
        {"TanFloat", {S0, FVM_TAN_FLOAT()}, 2, 1, {F(0)}, {F(1)}, F(0), true},
        {"AsinFloat", {S0, FVM_ASIN_FLOAT()}, 2, 1, {F(0)}, {F(0.5)}, F(0), true},
        {"AcosFloat", {S0, FVM_ACOS_FLOAT()}, 2, 1, {F(1)}, {F(-0.3)}, F(0), true},
        {"AtanFloat", {S0, FVM_ATAN_FLOAT()}, 2, 1, {F(0)}, {F(2)}, F(0), true},
        {"SinhFloat", {S0, FVM_SINH_FLOAT()}, 2, 1, {F(0)}, {F(1.5)}, F(0), true},
        {"CoshFloat", {S0, FVM_COSH_FLOAT()}, 2, 1, {F(0)}, {F(-1.5)}, F(1), true},
        {"TanhFloat", {S0, FVM_TANH_FLOAT()}, 2, 1, {F(0)}, {F(0.7)}, F(0), true},
        {"Log2Float", {S0, FVM_LOG2_FLOAT()}, 2, 1, {F(8)}, {F(10)}, F(3), true},
        {"Log10Float", {S0, FVM_LOG10_FLOAT()}, 2, 1, {F(1000)}, {F(2)}, F(3), true},
        {"asin+acos+atan",
         {S0, FVM_ASIN_FLOAT(), S0, FVM_ACOS_FLOAT(), FVM_ADD(), S0, FVM_ATAN_FLOAT(), FVM_ADD()},
         8, 1, {F(0)}, {F(0.25)}, F(acos(0.0)), true},
        {"sinh+cosh+tanh",
         {S0, FVM_SINH_FLOAT(), S0, FVM_COSH_FLOAT(), FVM_ADD(), S0, FVM_TANH_FLOAT(), FVM_ADD()},
         8, 1, {F(0)}, {F(0.5)}, F(1), true},
        {"log2+log10", {S0, FVM_LOG2_FLOAT(), S1, FVM_LOG10_FLOAT(), FVM_ADD()}, 5, 2,
         {F(8), F(1000)}, {F(3), F(7)}, F(6), true},
    };
    char *dir = fst_tmp_dir("persist");
    size_t blobs = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const math_case *m = &cases[i];
        fvm_chunk *c = ct_chunk(m->ops, m->nops);
        outcome cold = run_fresh(dir, BLK_EAGER, c, m->first, m->nargs);
        cr_assert_eq(cold.st, FVM_JIT_OK, "%s cold", m->name);
        expect_cold(&cold, m->name);
        EXPECT_VALUE(cold.out, m->want_first, m->name);
        outcome ref = interp(c, m->first, m->nargs);
        expect_same(&cold, &ref, m->nargs, m->name);
        cr_assert_eq(fst_count_files(dir, ".blk.fjit"), ++blobs, "%s: one blob", m->name);
        char *path = blob_name(dir, fvm_chunk_op_hash(c), fvm_block_kinds_key(m->first, m->nargs), "blk");
        size_t len;
        uint8_t *blob = fst_read_file(path, &len);
        if (m->helper)
            cr_assert_geq(blob_u32(blob, BLOB_NRELOCS), 1, "%s calls a helper", m->name);
        free(blob);
        free(path);
        outcome warm = run_fresh(dir, BLK_EAGER, c, m->second, m->nargs);
        cr_assert_eq(warm.st, FVM_JIT_OK, "%s warm", m->name);
        expect_warm(&warm, m->name);
        ref = interp(c, m->second, m->nargs);
        expect_same(&warm, &ref, m->nargs, m->name);
        fvm_chunk_free(c);
    }
    fst_drop_dir(dir);
}

Test(jit_persist, awk_division_blobs)
{
    char *dir = fst_tmp_dir("persist");
    fvm_chunk *c = ct_chunk(OPS(S0, S1, FVM_AWK_DIV_JIT()));
    fvm_value s[2] = {fvm_int(7), fvm_int(2)};
    outcome o = run_fresh(dir, BLK, c, s, 2);
    cr_assert_eq(o.st, FVM_JIT_OK);
    EXPECT_VALUE(o.out, fvm_float(3.5), "7 / 2 cold");
    expect_cold(&o, "awk div cold");
    cr_assert_eq(fst_count_files(dir, ".blk.fjit"), 1);
    cr_assert_eq(fst_count_files(dir, NULL), 1);
    o = run_fresh(dir, BLK_EAGER, c, s, 2);
    EXPECT_VALUE(o.out, fvm_float(3.5), "7 / 2 warm");
    expect_warm(&o, "awk div warm");
    /* A zero divisor is left to the interpreter (no trap helper): the call
     * declines and names the trap, cold and after a reload. */
    fvm_value z[2] = {fvm_int(7), fvm_int(0)};
    for (int warm = 0; warm < 2; warm++) {
        char *zdir = warm ? dir : fst_tmp_dir("persist");
        fvm_jit *j = context(zdir);
        fvm_value out = fvm_undef(), zs[2] = {z[0], z[1]};
        cr_assert_eq(fvm_jit_try_run_block_eager(j, c, zs, 2, &out), FVM_JIT_NOT_COMPILED);
        cr_assert_eq(fvm_jit_take_awk_div_trap(j), 1, "warm %d", warm);
        EXPECT_VALUE(zs[1], fvm_int(0), "untouched");
        fvm_jit_counters k;
        fvm_jit_stats(j, &k);
        cr_assert_eq(k.disk_loads, (uint64_t)warm);
        cr_assert_eq(k.compiles, 1);
        /* The same code still divides. */
        cr_assert_eq(fvm_jit_try_run_block_eager(j, c, s, 2, &out), FVM_JIT_OK);
        EXPECT_VALUE(out, fvm_float(3.5), "after the trap");
        cr_assert_eq(fvm_jit_take_awk_div_trap(j), 0);
        fvm_jit_free(j);
        if (!warm)
            fst_drop_dir(zdir);
    }
    fvm_chunk_free(c);
    /* AwkModJit the same way. */
    c = ct_chunk(OPS(S0, S1, FVM_AWK_MOD_JIT()));
    o = run_fresh(dir, BLK_EAGER, c, s, 2);
    EXPECT_VALUE(o.out, fvm_float(1.0), "7 % 2 cold");
    o = run_fresh(dir, BLK_EAGER, c, s, 2);
    expect_warm(&o, "awk mod warm");
    EXPECT_VALUE(o.out, fvm_float(1.0), "7 % 2 warm");
    fvm_jit *j = context(dir);
    fvm_value out, zs[2] = {z[0], z[1]};
    cr_assert_eq(fvm_jit_try_run_block_eager(j, c, zs, 2, &out), FVM_JIT_NOT_COMPILED);
    cr_assert_eq(fvm_jit_take_awk_div_trap(j), 2);
    fvm_jit_free(j);
    fvm_chunk_free(c);
    fst_drop_dir(dir);
}

/* x = int(x + 1.9) and x = sin(x) + 1.0 on raw slot words (upstream's
 * kinded variants), persisted and reloaded. */
Test(jit_persist, awk_style_slot_updates_on_raw_words)
{
    char *dir = fst_tmp_dir("persist");
    fvm_chunk *c = ct_chunk(OPS(S0, FVM_LOAD_FLOAT(1.9), FVM_ADD(), FVM_TRUNC_INT(), FVM_SET_SLOT(0)));
    fvm_jit_slot_kind ik[1] = {FVM_JIT_SLOT_INT};
    int64_t w[1] = {0};
    fvm_value out;
    fvm_jit *j = context(dir);
    cr_assert_eq(fvm_jit_try_run_block_kinded(j, c, w, ik, 1, false, &out), FVM_JIT_NOT_COMPILED);
    cr_assert_eq(w[0], 0);
    cr_assert_eq(fvm_jit_try_run_block_kinded(j, c, w, ik, 1, false, &out), FVM_JIT_HALTED);
    cr_assert_eq(w[0], 1);
    fvm_jit_free(j);
    cr_assert_eq(fst_count_files(dir, ".blk.fjit"), 1);
    j = context(dir);
    cr_assert_eq(fvm_jit_try_run_block_kinded(j, c, w, ik, 1, true, &out), FVM_JIT_HALTED);
    cr_assert_eq(w[0], 2);
    fvm_jit_counters k;
    fvm_jit_stats(j, &k);
    cr_assert_eq(k.disk_loads, 1);
    /* Ours: on a Float word the run would store an Int, which a raw word
     * cannot say, so the call declines and leaves the word alone. */
    fvm_jit_slot_kind fk[1] = {FVM_JIT_SLOT_FLOAT};
    double x = 0.0;
    memcpy(w, &x, 8);
    cr_assert_eq(fvm_jit_try_run_block_kinded(j, c, w, fk, 1, true, &out), FVM_JIT_NOT_COMPILED);
    cr_assert_eq((uint64_t)w[0], ct_bits(0.0));
    fvm_jit_free(j);
    fvm_chunk_free(c);

    c = ct_chunk(OPS(S0, FVM_SIN_FLOAT(), FVM_LOAD_FLOAT(1.0), FVM_ADD(), FVM_SET_SLOT(0)));
    j = context(dir);
    cr_assert_eq(fvm_jit_try_run_block_kinded(j, c, w, fk, 1, true, &out), FVM_JIT_HALTED);
    cr_assert_eq((uint64_t)w[0], ct_bits(1.0));
    fvm_jit_free(j);
    j = context(dir);
    cr_assert_eq(fvm_jit_try_run_block_kinded(j, c, w, fk, 1, true, &out), FVM_JIT_HALTED);
    cr_assert_eq((uint64_t)w[0], ct_bits(sin(1.0) + 1.0));
    fvm_jit_stats(j, &k);
    cr_assert_eq(k.disk_loads, 1);
    fvm_jit_free(j);
    fvm_chunk_free(c);
    fst_drop_dir(dir);
}

Test(jit_persist, negative_zero_round_trips_bit_exact)
{
    char *dir = fst_tmp_dir("persist");
    fvm_chunk *c = ct_chunk(OPS(FVM_LOAD_FLOAT(-0.0), FVM_NEGATE()));
    fvm_chunk *d = ct_chunk(OPS(FVM_LOAD_FLOAT(0.0), FVM_NEGATE()));
    how tiers[2] = {LIN, BLK_EAGER};
    for (int t = 0; t < 2; t++)
        for (int pass = 0; pass < 2; pass++) {
            outcome o = run_fresh(dir, tiers[t], c, NULL, 0);
            cr_assert_eq(o.st, FVM_JIT_OK);
            cr_assert_eq(o.out.type, FVM_T_FLOAT, "tier %d pass %d", t, pass);
            cr_assert_eq(ct_bits(o.out.as.f), ct_bits(0.0), "-(-0.0) is +0.0, tier %d pass %d", t, pass);
            outcome p = run_fresh(dir, tiers[t], d, NULL, 0);
            cr_assert_eq(p.out.type, FVM_T_FLOAT);
            cr_assert_eq(ct_bits(p.out.as.f), ct_bits(-0.0), "-(0.0) is -0.0, tier %d pass %d", t, pass);
            if (pass) {
                expect_warm(&o, "neg zero");
                expect_warm(&p, "neg zero");
            }
        }
    cr_assert_eq(fst_count_files(dir, ".lin.fjit"), 2);
    cr_assert_eq(fst_count_files(dir, ".blk.fjit"), 2);
    fvm_chunk_free(c);
    fvm_chunk_free(d);
    fst_drop_dir(dir);
}

/* ------------------------------------------------------------------------
 * 2. Transparency: cold, warm and off give the same everything
 * ------------------------------------------------------------------------ */

typedef struct transp_case {
    const char *name;
    how h;
    fvm_op ops[24];
    size_t nops, nslots;
    fvm_value in[4];
} transp_case;

Test(jit_persist, cold_warm_and_off_agree)
{
    const transp_case cases[] = {
        {"lin float mix", LIN, {S0, S1, FVM_ADD(), FVM_GET_SLOT(2), FVM_MUL()}, 5, 3,
         {F(1.25), fvm_int(3), F(-0.5)}},
        {"lin int div is float", LIN, {S0, S1, FVM_DIV(), FVM_DUP(), FVM_SET_SLOT(2)}, 5, 3,
         {fvm_int(7), fvm_int(2), fvm_int(0)}},
        {"lin zero divisor", LIN, {S0, S1, FVM_DIV()}, 3, 2, {fvm_int(7), fvm_int(0)}},
        {"lin bool", LIN, {S0, S1, FVM_NUM_LT()}, 3, 2, {F(1.5), fvm_int(2)}},
        {"lin writes slots", LIN,
         {S0, FVM_LOAD_INT(3), FVM_MUL(), FVM_SET_SLOT(1), S1, FVM_LOAD_FLOAT(0.5), FVM_ADD(), FVM_SET_SLOT(2),
          FVM_GET_SLOT(2)},
         9, 3, {fvm_int(-4), fvm_int(0), fvm_int(9)}},
        {"blk sum loop", BLK,
         {FVM_LOAD_INT(0), FVM_SET_SLOT(0), FVM_LOAD_INT(0), FVM_SET_SLOT(1), S0, S1, FVM_ADD(), FVM_SET_SLOT(0),
          FVM_PRE_INC_SLOT_VOID(1), FVM_SLOT_LT_INT_JUMP_IF_FALSE(1, 37, 11), FVM_JUMP(4), S0},
         12, 2, {fvm_int(0), fvm_int(0)}},
        {"blk float slots", BLK,
         {FVM_LOAD_INT(0), FVM_SET_SLOT(1), S0, FVM_LOAD_FLOAT(1.5), FVM_MUL(), FVM_SET_SLOT(0),
          FVM_SLOT_INC_LT_INT_JUMP_BACK(1, 9, 2), S0},
         8, 2, {F(0.1), fvm_int(0)}},
        /* s2 = 10 / s0 inside a loop: a guard for the zero divisor */
        {"blk guard taken", BLK,
         {FVM_LOAD_INT(0), FVM_SET_SLOT(1), FVM_LOAD_INT(10), S0, FVM_DIV(), FVM_SET_SLOT(2),
          FVM_SLOT_INC_LT_INT_JUMP_BACK(1, 3, 2), FVM_GET_SLOT(2)},
         8, 3, {fvm_int(0), fvm_int(5), fvm_int(1)}},
        {"blk guard not taken", BLK,
         {FVM_LOAD_INT(0), FVM_SET_SLOT(1), FVM_LOAD_INT(10), S0, FVM_DIV(), FVM_SET_SLOT(2),
          FVM_SLOT_INC_LT_INT_JUMP_BACK(1, 3, 2), FVM_GET_SLOT(2)},
         8, 3, {fvm_int(4), fvm_int(5), fvm_int(1)}},
        /* s0 > 5 ? 1.5 : 2.5 compared with a Bool result kept */
        {"blk ternary bool", BLK,
         {S0, FVM_LOAD_INT(5), FVM_NUM_GT(), FVM_JUMP_IF_FALSE(6), FVM_LOAD_FLOAT(1.5), FVM_JUMP(7),
          FVM_LOAD_FLOAT(2.5), FVM_LOAD_INT(2), FVM_NUM_GT()},
         9, 1, {fvm_int(9)}},
        {"blk halted", BLK, {S0, FVM_LOAD_INT(1), FVM_ADD(), FVM_SET_SLOT(0)}, 4, 1, {F(2.5)}},
        {"blk slot ops", BLK,
         {FVM_POST_INC_SLOT(0), FVM_PRE_DEC_SLOT(1), FVM_ADD(), FVM_POST_DEC_SLOT(1), FVM_ADD(), FVM_SET_SLOT(2)},
         6, 3, {F(0.5), fvm_int(3), fvm_undef()}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const transp_case *t = &cases[i];
        char *dir = fst_tmp_dir("persist");
        fvm_chunk *c = ct_chunk(t->ops, t->nops);
        outcome cold = run_fresh(dir, t->h, c, t->in, t->nslots);
        outcome warm = run_fresh(dir, t->h, c, t->in, t->nslots);
        outcome off = run_fresh(NULL, t->h, c, t->in, t->nslots);
        expect_cold(&cold, t->name);
        expect_warm(&warm, t->name);
        cr_assert_eq(off.k.disk_stores + off.k.disk_loads, 0, "%s", t->name);
        cr_assert_eq(off.k.compiles, 1, "%s", t->name);
        expect_same(&cold, &warm, t->nslots, t->name);
        expect_same(&cold, &off, t->nslots, t->name);
        if (cold.st == FVM_JIT_NOT_COMPILED) {
            for (size_t s = 0; s < t->nslots; s++)
                EXPECT_VALUE(cold.slots[s], t->in[s], t->name);
        } else {
            outcome ref = interp(c, t->in, t->nslots);
            expect_same(&cold, &ref, t->nslots, t->name);
        }
        fvm_chunk_free(c);
        fst_drop_dir(dir);
    }
}

Test(jit_persist, thresholds_and_tier_selection_ignore_the_cache)
{
    char *dir = fst_tmp_dir("persist");
    fvm_chunk *c = sum_loop(100);
    outcome o = run_fresh(dir, BLK_EAGER, c, int_slots, 2);
    expect_cold(&o, "seed the blob");
    /* Default threshold 1: the first call declines although the blob is on
     * disk, and nothing is read before the compile is due. */
    fvm_jit *j = context(dir);
    fvm_value s[2] = {int_slots[0], int_slots[1]}, out;
    cr_assert_eq(fvm_jit_try_run_block(j, c, s, 2, &out), FVM_JIT_NOT_COMPILED);
    cr_assert_not(fvm_jit_block_is_compiled(j, c));
    fvm_jit_counters k;
    fvm_jit_stats(j, &k);
    cr_assert_eq(k.compiles + k.disk_loads, 0);
    cr_assert_eq(fvm_jit_try_run_block(j, c, s, 2, &out), FVM_JIT_OK);
    EXPECT_VALUE(out, fvm_int(4950), "second call");
    fvm_jit_stats(j, &k);
    cr_assert_eq(k.disk_loads, 1);
    fvm_jit_free(j);
    /* Threshold 3: three declines, then the load. */
    j = context(dir);
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD, 3), 0);
    for (int call = 0; call < 3; call++)
        cr_assert_eq(fvm_jit_try_run_block(j, c, s, 2, &out), FVM_JIT_NOT_COMPILED, "call %d", call);
    cr_assert_eq(fvm_jit_try_run_block(j, c, s, 2, &out), FVM_JIT_OK);
    fvm_jit_stats(j, &k);
    cr_assert_eq(k.disk_loads, 1);
    cr_assert_eq(k.compiles, 1);
    /* A loop is not linear: a block blob on disk does not change that. */
    cr_assert_eq(fvm_jit_try_run_linear(j, c, s, 2, &out), FVM_JIT_NOT_COMPILED);
    fvm_jit_stats(j, &k);
    cr_assert_eq(k.compiles, 1);
    cr_assert_eq(k.ineligible, 1);
    fvm_jit_free(j);
    /* The linear tier still compiles on the first call, warm or cold. */
    fvm_chunk *l = ct_chunk(OPS(S0, FVM_LOAD_INT(1), FVM_ADD()));
    for (int pass = 0; pass < 2; pass++) {
        j = context(dir);
        cr_assert_eq(fvm_jit_try_run_linear(j, l, s, 1, &out), FVM_JIT_OK);
        fvm_jit_stats(j, &k);
        cr_assert_eq(k.disk_loads, (uint64_t)pass);
        cr_assert_eq(k.runs[FVM_JIT_LINEAR], 1);
        fvm_jit_free(j);
    }
    fvm_chunk_free(l);
    fvm_chunk_free(c);
    fst_drop_dir(dir);
}

/* ------------------------------------------------------------------------
 * 3. Damage at the tier level
 * ------------------------------------------------------------------------ */

/* Write bytes at path, run the sum loop in a fresh context: right answer,
 * nothing loaded, the good blob written back. */
static void expect_refused(const char *dir, const fvm_chunk *c, const char *path, const uint8_t *bytes,
                           size_t len, const uint8_t *good, size_t good_len, const char *what,
                           size_t at)
{
    fst_write_file(path, bytes, len);
    outcome o = run_fresh(dir, BLK_EAGER, c, int_slots, 2);
    cr_assert_eq(o.st, FVM_JIT_OK, "%s %zu", what, at);
    cr_assert_eq(o.out.type, FVM_T_INT, "%s %zu", what, at);
    cr_assert_eq(o.out.as.i, 4950, "%s %zu", what, at);
    cr_assert_eq(o.slots[1].as.i, 100, "%s %zu", what, at);
    cr_assert_eq(o.k.disk_loads, 0, "%s %zu: loaded", what, at);
    cr_assert_eq(o.k.disk_stores, 1, "%s %zu: not rewritten", what, at);
    cr_assert(same_file(path, good, good_len), "%s %zu: the rewrite differs", what, at);
}

Test(jit_persist, block_blob_truncated_or_flipped_anywhere_is_refused, .timeout = 60)
{
    char *dir = fst_tmp_dir("persist");
    fvm_chunk *c = sum_loop(100);
    outcome o = run_fresh(dir, BLK_EAGER, c, int_slots, 2);
    expect_cold(&o, "seed");
    char *path = only_file(dir, ".blk.fjit");
    size_t len;
    uint8_t *good = fst_read_file(path, &len);
    uint8_t *bad = malloc(len);
    for (size_t n = 0; n < len; n++)
        expect_refused(dir, c, path, good, n, good, len, "truncated to", n);
    for (size_t at = 0; at < len; at++) {
        memcpy(bad, good, len);
        bad[at] ^= 0xff;
        expect_refused(dir, c, path, bad, len, good, len, "flipped byte", at);
    }
    /* A byte appended is damage too. */
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, good, len);
    longer[len] = 0;
    expect_refused(dir, c, path, longer, len + 1, good, len, "appended", len);
    o = run_fresh(dir, BLK_EAGER, c, int_slots, 2);
    expect_warm(&o, "restored");
    cr_assert_eq(fst_count_files(dir, NULL), 1);
    free(longer);
    free(bad);
    free(good);
    free(path);
    fvm_chunk_free(c);
    fst_drop_dir(dir);
}

/* Copy the file at from to the name to. */
static void copy_file(const char *from, const char *to)
{
    size_t len;
    uint8_t *b = fst_read_file(from, &len);
    fst_write_file(to, b, len);
    free(b);
}

Test(jit_persist, blobs_under_another_name_are_refused)
{
    char *dir = fst_tmp_dir("persist");
    fvm_chunk *a = sum_loop(100), *b = sum_loop(50);
    outcome o = run_fresh(dir, BLK_EAGER, a, int_slots, 2);
    expect_cold(&o, "a");
    char *a_path = only_file(dir, ".blk.fjit");

    /* a's blob under b's name (b's op_hash, same kinds). */
    char *b_path = blob_name(dir, fvm_chunk_op_hash(b), fvm_block_kinds_key(int_slots, 2), "blk");
    copy_file(a_path, b_path);
    o = run_fresh(dir, BLK_EAGER, b, int_slots, 2);
    EXPECT_VALUE(o.out, fvm_int(1225), "b");
    expect_cold(&o, "b under a's blob");

    /* a's Int blob under the name for a Float s0 (the subkey changed). */
    fvm_value fs[2] = {fvm_float(0.5), fvm_int(0)};
    char *f_path = blob_name(dir, fvm_chunk_op_hash(a), fvm_block_kinds_key(fs, 2), "blk");
    cr_assert_str_neq(f_path, a_path);
    copy_file(a_path, f_path);
    o = run_fresh(dir, BLK_EAGER, a, fs, 2);
    EXPECT_VALUE(o.out, fvm_int(4950), "a for a Float s0");
    expect_cold(&o, "a Float s0 under the Int blob");
    o = run_fresh(dir, BLK_EAGER, a, fs, 2);
    expect_warm(&o, "a Float s0 rewritten");

    /* A linear blob under the block name of the same chunk, and back. */
    fvm_chunk *x = ct_chunk(OPS(S0, S1, FVM_ADD()));
    fvm_value xs[2] = {fvm_int(20), fvm_int(22)};
    o = run_fresh(dir, LIN, x, xs, 2);
    expect_cold(&o, "x linear");
    char *lin = blob_name(dir, fvm_chunk_op_hash(x), fvm_jit_slot_kinds_key(xs, 2), "lin");
    char *blk = blob_name(dir, fvm_chunk_op_hash(x), fvm_block_kinds_key(xs, 2), "blk");
    copy_file(lin, blk);
    o = run_fresh(dir, BLK_EAGER, x, xs, 2);
    EXPECT_VALUE(o.out, fvm_int(42), "x block");
    expect_cold(&o, "x block under the linear blob");
    copy_file(blk, lin);
    o = run_fresh(dir, LIN, x, xs, 2);
    EXPECT_VALUE(o.out, fvm_int(42), "x linear");
    expect_cold(&o, "x linear under the block blob");
    o = run_fresh(dir, LIN, x, xs, 2);
    expect_warm(&o, "x linear rewritten");
    o = run_fresh(dir, BLK_EAGER, x, xs, 2);
    expect_warm(&o, "x block rewritten");

    free(lin);
    free(blk);
    fvm_chunk_free(x);
    free(a_path);
    free(b_path);
    free(f_path);
    fvm_chunk_free(a);
    fvm_chunk_free(b);
    fst_drop_dir(dir);
}

/* ------------------------------------------------------------------------
 * 4. Processes sharing one directory
 * ------------------------------------------------------------------------ */

#define NPROC 6
#define ROUNDS 100

static int wrong(fvm_jit_status st, fvm_value out, int64_t want)
{
    return st != FVM_JIT_OK || out.type != FVM_T_INT || out.as.i != want;
}

/* One round of a child: a fresh context, shared and own chunks, both
 * tiers; the number of wrong answers (*loads counts the disk loads). */
static int child_round(const char *dir, int id, fvm_chunk *const *shared, fvm_chunk *const *own,
                       uint64_t *loads)
{
    int bad = 0;
    fvm_jit *j = fvm_jit_new();
    if (!j)
        return 1;
    fvm_jit_set_cache_dir(j, dir);
    int64_t own_sum = (int64_t)(100 + id) * (99 + id) / 2;
    fvm_value s[2] = {fvm_int(0), fvm_int(0)}, out = fvm_undef();
    bad += wrong(fvm_jit_try_run_block_eager(j, shared[0], s, 2, &out), out, 4950);
    s[0] = s[1] = fvm_int(0);
    bad += wrong(fvm_jit_try_run_block_eager(j, own[0], s, 2, &out), out, own_sum);
    bad += wrong(fvm_jit_try_run_linear(j, shared[1], NULL, 0, &out), out, 42);
    bad += wrong(fvm_jit_try_run_linear(j, own[1], NULL, 0, &out), out, 1000 + id);
    fvm_jit_counters k;
    fvm_jit_stats(j, &k);
    *loads += k.disk_loads;
    fvm_jit_free(j);
    return bad;
}

/* Exit 0, 1 on a wrong answer, 2 if no round ever loaded from disk. */
static void child_main(const char *dir, int id)
{
    fvm_chunk *shared[2] = {sum_loop(100), ct_chunk(OPS(FVM_LOAD_INT(6), FVM_LOAD_INT(7), FVM_MUL()))};
    fvm_chunk *own[2] = {sum_loop(100 + id), ct_chunk(OPS(FVM_LOAD_INT(1000), FVM_LOAD_INT(id), FVM_ADD()))};
    int bad = 0;
    uint64_t loads = 0;
    for (int r = 0; r < ROUNDS; r++) {
        bad += child_round(dir, id, shared, own, &loads);
        if (id == NPROC - 1 && r % 3 == 0) {
            fvm_jit *j = fvm_jit_new();
            fvm_jit_set_cache_dir(j, dir);
            fvm_jit_clear_cache(j);
            fvm_jit_free(j);
        }
    }
    for (int k = 0; k < 2; k++) {
        fvm_chunk_free(shared[k]);
        fvm_chunk_free(own[k]);
    }
    _exit(bad ? 1 : loads == 0 ? 2 : 0);
}

Test(jit_persist, processes_share_a_directory, .timeout = 120)
{
    char *dir = fst_tmp_dir("persist");
    pid_t pids[NPROC];
    for (int i = 0; i < NPROC; i++) {
        pids[i] = fork();
        cr_assert_geq(pids[i], 0);
        if (pids[i] == 0)
            child_main(dir, i);
    }
    for (int i = 0; i < NPROC; i++) {
        int status;
        cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
        cr_assert(WIFEXITED(status), "child %d did not exit (status %#x)", i, status);
        cr_assert_neq(WEXITSTATUS(status), 1, "child %d got wrong answers", i);
        cr_assert_eq(WEXITSTATUS(status), 0, "child %d never loaded from disk", i);
    }
    size_t all = fst_count_files(dir, NULL), blobs = fst_count_files(dir, ".fjit");
    cr_assert_eq(all, blobs, "only blobs are left (%zu files, %zu blobs)", all, blobs);
    cr_assert_leq(blobs, 2 + 2 * NPROC);
    /* What is left loads. */
    fvm_chunk *c = sum_loop(100);
    char *path = blob_name(dir, fvm_chunk_op_hash(c), fvm_block_kinds_key(int_slots, 2), "blk");
    bool there = access(path, F_OK) == 0;
    outcome o = run_fresh(dir, BLK_EAGER, c, int_slots, 2);
    EXPECT_VALUE(o.out, fvm_int(4950), "after the storm");
    cr_assert_eq(o.k.disk_loads, there ? 1 : 0);
    free(path);
    fvm_chunk_free(c);
    fst_drop_dir(dir);
}

/* ------------------------------------------------------------------------
 * 5. A VM with the block tier, cold and warm
 * ------------------------------------------------------------------------ */

typedef struct vm_outcome {
    fvm_result r;
    size_t nslots;
    fvm_value slots[NS];
} vm_outcome;

/* Run c in a new VM with context j (NULL: interpreter only). */
static vm_outcome run_vm(const fvm_chunk *c, fvm_jit *j)
{
    vm_outcome o;
    memset(&o, 0, sizeof o);
    fvm_vm *vm = fvm_vm_new(c);
    fvm_vm_set_jit(vm, j);
    o.r = fvm_vm_run(vm);
    cr_assert_neq(o.r.status, FVM_RUN_ERROR, "%s", fvm_vm_error(vm));
    o.nslots = fvm_vm_frame_slot_count(vm, 0);
    cr_assert_leq(o.nslots, NS);
    for (size_t i = 0; i < o.nslots; i++)
        o.slots[i] = fvm_value_copy(fvm_vm_frame_slot(vm, 0, i));
    fvm_vm_free(vm);
    return o;
}

static void expect_same_vm(const vm_outcome *a, const vm_outcome *b, const char *what)
{
    cr_assert_eq(a->r.status, b->r.status, "%s", what);
    EXPECT_VALUE(a->r.value, b->r.value, what);
    cr_assert_eq(a->nslots, b->nslots, "%s", what);
    for (size_t i = 0; i < a->nslots; i++)
        EXPECT_VALUE(a->slots[i], b->slots[i], what);
}

static fvm_jit *vm_context(const char *dir)
{
    fvm_jit *j = context(dir);
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD, 0), 0);
    return j;
}

Test(jit_persist, a_vm_on_a_cold_and_a_warm_cache)
{
    /* Two regions split by an op the tier leaves to the interpreter: a loop
     * with an Int counter, a Float accumulator and a division whose guard
     * is taken on the last iteration, then a tail. */
    fvm_builder *bld = fvm_builder_new();
    fvm_add_constant(bld, fvm_int(5));
    fvm_add_name(bld, "arr", 3);
    const fvm_op ops[] = {
        FVM_DECLARE_ARRAY(0),
        /* 1 */ FVM_LOAD_FLOAT(0.5), FVM_SET_SLOT(2), FVM_LOAD_INT(0), FVM_SET_SLOT(0), FVM_LOAD_INT(0),
        FVM_SET_SLOT(1),
        /* 7 */ FVM_GET_SLOT(1), FVM_GET_SLOT(0), FVM_GET_SLOT(2), FVM_MUL(), FVM_ADD(), FVM_SET_SLOT(1),
        /* 13 */ FVM_LOAD_INT(60), FVM_LOAD_INT(59), FVM_GET_SLOT(0), FVM_SUB(), FVM_DIV(), FVM_SET_SLOT(3),
        /* 19 */ FVM_SLOT_INC_LT_INT_JUMP_BACK(0, 60, 7),
        /* 20 */ FVM_DECLARE_ARRAY(0),
        /* 21 */ FVM_GET_SLOT(1), FVM_GET_SLOT(0), FVM_ADD(), FVM_LOAD_CONST(0), FVM_MUL()};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        fvm_emit(bld, ops[i], 1);
    fvm_chunk *c = fvm_build(bld);
    cr_assert_not_null(c, "%s", fvm_builder_error(bld));
    fvm_builder_free(bld);
    vm_outcome ref = run_vm(c, NULL);
    cr_assert_eq(ref.r.status, FVM_RUN_OK);
    EXPECT_VALUE(ref.r.value, fvm_float((885.0 + 60.0) * 5.0), "interpreter");
    cr_assert_eq(ref.slots[3].type, FVM_T_UNDEF, "60 / 0 is Undef");

    char *dir = fst_tmp_dir("persist");
    fvm_jit *cold = vm_context(dir);
    vm_outcome a = run_vm(c, cold);
    expect_same_vm(&a, &ref, "cold");
    fvm_jit_counters k;
    fvm_jit_stats(cold, &k);
    cr_assert_gt(k.compiles, 0);
    cr_assert_gt(k.runs[FVM_JIT_BLOCK], 0);
    cr_assert_eq(k.disk_loads, 0);
    /* The loop's region; the five-op tail is too short to be worth
     * entering, so it stays interpreted. */
    cr_assert_eq(k.compiles, 1, "one compile, for the loop");
    cr_assert_eq(k.disk_stores, 1);
    uint64_t stored = k.disk_stores;
    cr_assert_eq(fst_count_files(dir, ".blk.fjit"), stored);
    fvm_jit_free(cold);

    fvm_jit *warm = vm_context(dir);
    vm_outcome b = run_vm(c, warm);
    expect_same_vm(&b, &ref, "warm");
    fvm_jit_stats(warm, &k);
    cr_assert_gt(k.disk_loads, 0);
    cr_assert_eq(k.disk_loads, stored);
    cr_assert_eq(k.compiles, k.disk_loads);
    cr_assert_eq(k.disk_stores, 0);
    cr_assert_gt(k.runs[FVM_JIT_BLOCK], 0);
    vm_outcome again = run_vm(c, warm);
    expect_same_vm(&again, &ref, "warm, second VM");
    fvm_jit_free(warm);

    fvm_jit *off = vm_context(NULL);
    vm_outcome d = run_vm(c, off);
    expect_same_vm(&d, &ref, "off");
    fvm_jit_free(off);

    vm_outcome *all[] = {&ref, &a, &b, &again, &d};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        fvm_value_drop(all[i]->r.value);
        for (size_t s = 0; s < all[i]->nslots; s++)
            fvm_value_drop(all[i]->slots[s]);
    }
    fvm_chunk_free(c);
    fst_drop_dir(dir);
}

/* A blob whose checksum is right but whose tier metadata does not parse
 * (no exit records): the tier refuses it, compiles, stores over it, and
 * does not count a disk load. */
Test(jit_persist, bad_metadata_under_a_good_checksum_is_refused)
{
    char *dir = fst_tmp_dir("persist");
    fvm_chunk *c = sum_loop(100);
    outcome cold = run_fresh(dir, BLK_EAGER, c, int_slots, 2);
    expect_cold(&cold, "cold");
    char *path = only_file(dir, ".blk.fjit");
    size_t n;
    uint8_t *b = fst_read_file(path, &n);
    memset(b + 69 + 8, 0, 4); /* metadata word 2: the exit record count */
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i + 8 < n; i++)
        h = (h ^ b[i]) * 0x100000001b3u;
    for (int i = 0; i < 8; i++)
        b[n - 8 + i] = (uint8_t)(h >> 8 * i);
    fst_write_file(path, b, n);
    outcome again = run_fresh(dir, BLK_EAGER, c, int_slots, 2);
    expect_cold(&again, "refused metadata");
    expect_same(&again, &cold, 2, "refused metadata");
    free(b);
    free(path);
    fvm_chunk_free(c);
    fst_drop_dir(dir);
}
