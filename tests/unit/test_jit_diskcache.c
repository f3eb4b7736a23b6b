/* The persistent native-code cache (src/jit/diskcache.[ch]): settings and
 * their environment, the blob round trip with real machine code that calls
 * a helper through a relocation, rejection of every kind of damage,
 * permission checks, atomic writes under concurrent processes and threads,
 * eviction, size and clearing. Every test works in its own mkdtemp
 * directory and removes it. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fstest.h"
#include "jit/diskcache.h"
#include "jit/helpers.h"
#include "jit/jit.h"
#include "jit/x64_emit.h"

/* ------------------------------------------------------------------------
 * Fixtures
 * ------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------
 * Code to store: double f(const double *xy) = pow(xy[0], xy[1]) + bias,
 * with padding bytes before the entry so a wrong entry offset shows.
 * ------------------------------------------------------------------------ */

#define ENTRY_PAD 16

typedef double (*pow_fn)(const double *xy);

typedef struct test_code {
    fvm_x64_buf b;
    uint32_t entry;
} test_code;

/* bias is added with a constant-pool load, and pad bytes of int3 follow
 * the pool (to make big blobs). */
static void emit_pow(test_code *t, double bias, size_t pad)
{
    fvm_x64_buf *b = &t->b;
    fvm_x64_buf_init(b, 0);
    for (int i = 0; i < ENTRY_PAD; i += 8)
        fvm_x64_data64(b, 0xccccccccccccccccull);
    t->entry = (uint32_t)b->len;
    fvm_x64_label pool = fvm_x64_label_new(b);
    fvm_x64_sse_rm(b, FVM_X64_MOVSD, FVM_X64_XMM0, fvm_x64_mem_base(FVM_X64_RDI, 0));
    fvm_x64_sse_rm(b, FVM_X64_MOVSD, FVM_X64_XMM1, fvm_x64_mem_base(FVM_X64_RDI, 8));
    fvm_x64_alu_ri(b, FVM_X64_SUB, FVM_X64_RSP, 8); /* align RSP to 16 at the call */
    fvm_x64_call_abs(b, FVM_JIT_HELPER_POW, fvm_jit_helper_get(FVM_JIT_HELPER_POW)->addr);
    fvm_x64_alu_ri(b, FVM_X64_ADD, FVM_X64_RSP, 8);
    fvm_x64_sse_rm(b, FVM_X64_ADDSD, FVM_X64_XMM0, fvm_x64_mem_label(pool, 0));
    fvm_x64_ret(b);
    fvm_x64_align(b, 8);
    fvm_x64_label_bind(b, pool);
    uint64_t bits;
    memcpy(&bits, &bias, 8);
    fvm_x64_data64(b, bits);
    for (size_t i = 0; i < pad; i += 8)
        fvm_x64_data64(b, 0xccccccccccccccccull);
    cr_assert(fvm_x64_finish(b));
    cr_assert_eq(b->nrelocs, 1);
}

static fvm_diskcache_code code_of(const test_code *t, const char *meta)
{
    fvm_diskcache_code c = {t->b.code, t->b.len, t->entry, t->b.relocs, t->b.nrelocs,
                            0, 0x5, meta, meta ? strlen(meta) : 0};
    return c;
}

static const fvm_diskcache_key key_a = {FVM_JIT_LINEAR, 0x0123456789abcdefull, 0, 0};

/* A cache on dir with the default host. */
static fvm_diskcache *cache_on(const char *dir)
{
    fvm_diskcache *d = fvm_diskcache_new();
    fvm_diskcache_set_dir(d, dir);
    return d;
}

static double call2(void *entry, double x, double y)
{
    double xy[2] = {x, y};
    return ((pow_fn)entry)(xy);
}

/* Store pow+bias under k in dir through a fresh cache. */
static void store_pow(const char *dir, const fvm_diskcache_key *k, double bias)
{
    test_code t;
    emit_pow(&t, bias, 0);
    fvm_diskcache *d = cache_on(dir);
    fvm_diskcache_code c = code_of(&t, "meta");
    cr_assert(fvm_diskcache_store(d, k, &c));
    fvm_diskcache_free(d);
    fvm_x64_buf_free(&t.b);
}

/* Load k from dir through a fresh cache and code memory: NULL on a miss,
 * else the reason string slot is NULL and the function was checked. */
static const char *load_reason(const char *dir, const fvm_diskcache_key *k, bool *hit)
{
    fvm_diskcache *d = cache_on(dir);
    fvm_mcode *mc = fvm_mcode_new(0);
    void *entry = fvm_diskcache_load(d, mc, k, NULL, NULL);
    *hit = entry != NULL;
    if (entry)
        cr_assert_eq(call2(entry, 2, 10), 1024.0 + 0.5);
    const char *why = fvm_diskcache_last_reject(d);
    fvm_diskcache_counts n;
    fvm_diskcache_counts_get(d, &n);
    cr_assert_eq(n.hits + n.misses + n.rejected, 1);
    cr_assert_eq(n.rejected, why && !*hit ? 1u : 0u);
    fvm_mcode_free(mc);
    fvm_diskcache_free(d);
    return why;
}

#define BLOB_A "0123456789abcdef.0000000000000000.lin.fjit"

/* ------------------------------------------------------------------------
 * Settings
 * ------------------------------------------------------------------------ */

TestSuite(jit_diskcache, .init = fst_save_env, .fini = fst_restore_env);

Test(jit_diskcache, default_resolution_order)
{
    fvm_diskcache *d = fvm_diskcache_new();
    unsetenv("FUSEVM_JIT_CACHE_DIR");
    setenv("XDG_CACHE_HOME", "/x/cache/", 1);
    setenv("HOME", "/home/u", 1);
    setenv("TMPDIR", "/var/t", 1);
    cr_assert_str_eq(fvm_diskcache_dir(d), "/x/cache/fusevm-jit");
    setenv("XDG_CACHE_HOME", "", 1);
    cr_assert_str_eq(fvm_diskcache_dir(d), "/home/u/.cache/fusevm-jit");
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "", 1);
    cr_assert_str_eq(fvm_diskcache_dir(d), "/var/t/fusevm-jit");
    unsetenv("HOME");
    unsetenv("TMPDIR");
    cr_assert_str_eq(fvm_diskcache_dir(d), "/tmp/fusevm-jit");
    fvm_diskcache_free(d);
}

Test(jit_diskcache, env_directory_and_opt_out)
{
    static const char *const off[] = {"off", "0", "no", "none", "false", "disabled", "", "  OFF ",
                                      "Disabled", "\tno\n"};
    fvm_diskcache *d = fvm_diskcache_new();
    setenv("HOME", "/home/u", 1);
    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) {
        setenv("FUSEVM_JIT_CACHE_DIR", off[i], 1);
        cr_assert_null(fvm_diskcache_dir(d), "'%s' should turn caching off", off[i]);
    }
    setenv("FUSEVM_JIT_CACHE_DIR", " /raw dir ", 1);
    cr_assert_str_eq(fvm_diskcache_dir(d), " /raw dir ");
    setenv("FUSEVM_JIT_CACHE_DIR", "offline", 1);
    cr_assert_str_eq(fvm_diskcache_dir(d), "offline");
    unsetenv("FUSEVM_JIT_CACHE_DIR");
    cr_assert_str_eq(fvm_diskcache_dir(d), "/home/u/.cache/fusevm-jit");
    fvm_diskcache_free(d);
}

Test(jit_diskcache, explicit_setting_wins_and_reverts)
{
    fvm_diskcache *d = fvm_diskcache_new();
    setenv("FUSEVM_JIT_CACHE_DIR", "/from/env", 1);
    fvm_diskcache_set_dir(d, "/explicit");
    cr_assert_str_eq(fvm_diskcache_dir(d), "/explicit");
    fvm_diskcache_set_dir(d, NULL);
    cr_assert_str_eq(fvm_diskcache_dir(d), "/from/env");
    fvm_diskcache_set_dir(d, FVM_JIT_CACHE_OFF);
    cr_assert_null(fvm_diskcache_dir(d));
    setenv("FUSEVM_JIT_CACHE_DIR", "off", 1);
    fvm_diskcache_set_dir(d, "/explicit");
    cr_assert_str_eq(fvm_diskcache_dir(d), "/explicit");
    fvm_diskcache_free(d);
}

Test(jit_diskcache, public_api_on_a_context)
{
    char *dir = fst_tmp_dir("dc");
    fvm_jit *j = fvm_jit_new();
    unsetenv("FUSEVM_JIT_CACHE_DIR");
    setenv("HOME", "/home/u", 1);
    unsetenv("XDG_CACHE_HOME");
    cr_assert_str_eq(fvm_jit_cache_dir(j), "/home/u/.cache/fusevm-jit");
    fvm_jit_set_cache_dir(j, dir);
    const char *shown = fvm_jit_cache_dir(j);
    cr_assert_str_eq(shown, dir);
    cr_assert_eq(fvm_jit_cache_size_bytes(j), 0);
    store_pow(dir, &key_a, 0.5);
    size_t len;
    char *p = fst_path_in(dir, BLOB_A);
    free(fst_read_file(p, &len));
    cr_assert_eq(fvm_jit_cache_size_bytes(j), (int64_t)len);
    fvm_jit_set_cache_max_bytes(j, 1);
    cr_assert_eq(fvm_jit_cache_max_bytes(j), 1);
    cr_assert_eq(fvm_jit_prune_cache(j), len);
    store_pow(dir, &key_a, 0.5);
    cr_assert_eq(fvm_jit_clear_cache(j), 1);
    cr_assert_eq(fvm_jit_cache_size_bytes(j), 0);
    /* The string shown stays valid while the directory is the same. */
    cr_assert_eq(fvm_jit_cache_dir(j), shown);
    cr_assert_str_eq(shown, dir);
    fvm_jit_set_cache_dir(j, FVM_JIT_CACHE_OFF);
    cr_assert_null(fvm_jit_cache_dir(j));
    cr_assert_eq(fvm_jit_cache_size_bytes(j), -1);
    cr_assert_eq(fvm_jit_prune_cache(j), 0);
    cr_assert_eq(fvm_jit_clear_cache(j), 0);
    fvm_jit_free(j);
    fst_rm_rf(dir);
    free(dir);
    free(p);
}

Test(jit_diskcache, size_strings)
{
    static const struct {
        const char *s;
        uint64_t v;
    } ok[] = {
        {"1024", 1024},       {" 2k ", 2048},     {"3M", 3u << 20},     {"1g", 1u << 30},
        {"0", 0},             {"off", 0},         {"none", 0},          {"unlimited", 0},
        {"UNLIMITED", 0},     {"+5", 5},          {"7 k", 7168},        {"16G", 16ull << 30},
        {"18446744073709551615", UINT64_MAX},     {"99999999999g", UINT64_MAX},
    };
    static const char *const bad[] = {"garbage", "1.5g", "", "  ", "k", "-1", "1kb", "0x10",
                                      "18446744073709551616", "1 2", "g1"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 12345;
        cr_assert(fvm_diskcache_parse_size(ok[i].s, &v), "'%s' should parse", ok[i].s);
        cr_assert_eq(v, ok[i].v, "'%s': %" PRIu64, ok[i].s, v);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 12345;
        cr_assert_not(fvm_diskcache_parse_size(bad[i], &v), "'%s' should not parse", bad[i]);
        cr_assert_eq(v, 12345);
    }
}

Test(jit_diskcache, max_bytes_resolution)
{
    fvm_diskcache *d = fvm_diskcache_new();
    unsetenv("FUSEVM_JIT_CACHE_MAX_BYTES");
    cr_assert_eq(fvm_diskcache_max_bytes(d), 268435456u);
    setenv("FUSEVM_JIT_CACHE_MAX_BYTES", "2k", 1);
    cr_assert_eq(fvm_diskcache_max_bytes(d), 2048);
    setenv("FUSEVM_JIT_CACHE_MAX_BYTES", "1.5g", 1);
    cr_assert_eq(fvm_diskcache_max_bytes(d), 268435456u);
    setenv("FUSEVM_JIT_CACHE_MAX_BYTES", "off", 1);
    cr_assert_eq(fvm_diskcache_max_bytes(d), 0);
    fvm_diskcache_set_max_bytes(d, 777);
    cr_assert_eq(fvm_diskcache_max_bytes(d), 777);
    fvm_diskcache_set_max_bytes(d, 0);
    cr_assert_eq(fvm_diskcache_max_bytes(d), 0);
    fvm_diskcache_set_max_bytes(d, -1);
    setenv("FUSEVM_JIT_CACHE_MAX_BYTES", "3m", 1);
    cr_assert_eq(fvm_diskcache_max_bytes(d), 3u << 20);
    fvm_diskcache_free(d);
}

Test(jit_diskcache, disabled_stores_and_loads_nothing)
{
    char *dir = fst_tmp_dir("dc");
    test_code t;
    emit_pow(&t, 0.5, 0);
    fvm_diskcache *d = fvm_diskcache_new();
    setenv("FUSEVM_JIT_CACHE_DIR", dir, 1);
    fvm_diskcache_set_dir(d, FVM_JIT_CACHE_OFF);
    fvm_diskcache_code c = code_of(&t, NULL);
    cr_assert_not(fvm_diskcache_store(d, &key_a, &c));
    cr_assert_eq(fst_count_files(dir, NULL), 0);
    fvm_diskcache_set_dir(d, NULL);
    cr_assert(fvm_diskcache_store(d, &key_a, &c));
    fvm_diskcache_set_dir(d, FVM_JIT_CACHE_OFF);
    fvm_mcode *mc = fvm_mcode_new(0);
    cr_assert_null(fvm_diskcache_load(d, mc, &key_a, NULL, NULL));
    cr_assert_eq(fvm_diskcache_size(d), -1);
    fvm_mcode_free(mc);
    fvm_diskcache_free(d);
    fvm_x64_buf_free(&t.b);
    fst_rm_rf(dir);
    free(dir);
}

/* ------------------------------------------------------------------------
 * Round trip
 * ------------------------------------------------------------------------ */

Test(jit_diskcache, round_trip_with_a_helper_relocation)
{
    char *dir = fst_tmp_dir("dc");
    test_code t;
    emit_pow(&t, 0.5, 0);
    fvm_diskcache *d = cache_on(dir);
    fvm_diskcache_code c = code_of(&t, "slot table");
    c.cpu_features = FVM_X64_CPU_SSE41;
    cr_assert(fvm_diskcache_store(d, &key_a, &c));

    char *p = fst_path_in(dir, BLOB_A);
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(fst_count_files(dir, NULL), 1);
    size_t len;
    uint8_t *blob = fst_read_file(p, &len);
    cr_assert_eq(len, 69 + 10 + t.b.len + 16 + 8);
    cr_assert_eq(memcmp(blob, "FVMJIT\x1a\n", 8), 0);
    /* The helper's address is not on disk. */
    static const uint8_t zero[8];
    cr_assert_eq(memcmp(blob + 69 + 10 + t.b.relocs[0].offset, zero, 8), 0);
    free(blob);

    fvm_diskcache_set_host(d, geteuid(), FVM_X64_CPU_SSE41);
    fvm_mcode *mc = fvm_mcode_new(0);
    fvm_buf meta = {NULL, 0, 0};
    fvm_diskcache_loaded info;
    void *entry = fvm_diskcache_load(d, mc, &key_a, &meta, &info);
    cr_assert_not_null(entry);
    cr_assert_eq((uint8_t *)entry - (uint8_t *)info.code, ENTRY_PAD);
    cr_assert_eq(info.code_len, t.b.len);
    cr_assert_eq(info.flags, 0x5);
    cr_assert_eq(meta.len, 10);
    cr_assert_eq(memcmp(meta.data, "slot table", 10), 0);
    cr_assert_eq(call2(entry, 2, 10), 1024.5);
    cr_assert_eq(call2(entry, 3, 0.5), sqrt(3.0) + 0.5);
    fvm_diskcache_counts n;
    fvm_diskcache_counts_get(d, &n);
    cr_assert_eq(n.hits, 1);
    cr_assert_eq(n.stores, 1);
    cr_assert_null(fvm_diskcache_last_reject(d));

    fvm_buf_free(&meta);
    fvm_mcode_free(mc);
    fvm_diskcache_free(d);
    fvm_x64_buf_free(&t.b);
    fst_rm_rf(dir);
    free(dir);
    free(p);
}

/* Blobs up to 4 KiB are read into a buffer on the stack, bigger ones into
 * the heap: both sides of that line, and a blob just past it, load whole. */
Test(jit_diskcache, small_and_large_blobs_load)
{
    char *dir = fst_tmp_dir("dc");
    /* A blob grows by its padding (8 bytes a step): measure the unpadded
     * one, then pad to the largest size up to 4096 bytes and one step more. */
    test_code t0;
    emit_pow(&t0, 0, 0);
    fvm_diskcache *d0 = cache_on(dir);
    fvm_diskcache_code c0 = code_of(&t0, NULL);
    cr_assert(fvm_diskcache_store(d0, &key_a, &c0));
    fvm_diskcache_free(d0);
    fvm_x64_buf_free(&t0.b);
    char *p0 = fst_path_in(dir, BLOB_A);
    struct stat st;
    cr_assert_eq(stat(p0, &st), 0);
    free(p0);
    size_t under = (4096 - (size_t)st.st_size) & ~(size_t)7;
    cr_assert((size_t)st.st_size + under <= 4096 && (size_t)st.st_size + under + 8 > 4096);
    const size_t pads[] = {0, under, under + 8, 65536};
    for (size_t i = 0; i < sizeof pads / sizeof *pads; i++) {
        test_code t;
        emit_pow(&t, (double)i, pads[i]);
        fvm_diskcache_key k = key_a;
        k.op_hash += i;
        fvm_diskcache *d = cache_on(dir);
        fvm_diskcache_code c = code_of(&t, NULL);
        cr_assert(fvm_diskcache_store(d, &k, &c));
        fvm_diskcache_free(d);
        d = cache_on(dir);
        fvm_mcode *mc = fvm_mcode_new(0);
        fvm_diskcache_loaded info;
        void *entry = fvm_diskcache_load(d, mc, &k, NULL, &info);
        cr_assert_not_null(entry, "pad %zu: %s", pads[i], fvm_diskcache_last_reject(d));
        cr_assert_eq(info.code_len, t.b.len);
        cr_assert_eq(memcmp(info.code, t.b.code, ENTRY_PAD), 0, "pad %zu", pads[i]);
        cr_assert_eq(call2(entry, 2, 10), 1024.0 + (double)i);
        fvm_mcode_free(mc);
        fvm_diskcache_free(d);
        fvm_x64_buf_free(&t.b);
    }
    fst_drop_dir(dir);
}

Test(jit_diskcache, fresh_context_and_process_load)
{
    char *dir = fst_tmp_dir("dc");
    store_pow(dir, &key_a, 0.5);
    fvm_jit *j = fvm_jit_new();
    fvm_jit_set_cache_dir(j, dir);
    void *entry = fvm_diskcache_load(fvm_jit_diskcache(j), fvm_jit_mcode(j), &key_a, NULL, NULL);
    cr_assert_not_null(entry);
    cr_assert_eq(call2(entry, 2, 3), 8.5);
    fvm_jit_free(j);
    pid_t pid = fork();
    if (pid == 0) {
        bool hit;
        load_reason(dir, &key_a, &hit);
        _exit(hit ? 0 : 1);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fst_rm_rf(dir);
    free(dir);
}

Test(jit_diskcache, missing_file_is_a_plain_miss)
{
    char *dir = fst_tmp_dir("dc");
    bool hit;
    cr_assert_null(load_reason(dir, &key_a, &hit));
    cr_assert_not(hit);
    char *gone = fst_path_in(dir, "not/here");
    cr_assert_null(load_reason(gone, &key_a, &hit));
    cr_assert_not(hit);
    cr_assert_eq(fst_count_files(dir, NULL), 0);
    fst_rm_rf(dir);
    free(dir);
    free(gone);
}

Test(jit_diskcache, store_creates_parents_0700)
{
    char *top = fst_tmp_dir("dc");
    char *dir = fst_path_in(top, "a/b/c");
    store_pow(dir, &key_a, 0.5);
    const char *levels[] = {"a", "a/b", "a/b/c"};
    for (size_t i = 0; i < 3; i++) {
        char *p = fst_path_in(top, levels[i]);
        struct stat st;
        cr_assert_eq(stat(p, &st), 0);
        cr_assert_eq(st.st_mode & 0777, 0700, "%s", p);
        free(p);
    }
    bool hit;
    load_reason(dir, &key_a, &hit);
    cr_assert(hit);
    fst_rm_rf(top);
    free(top);
    free(dir);
}

Test(jit_diskcache, store_refuses_malformed_code)
{
    char *dir = fst_tmp_dir("dc");
    test_code t;
    emit_pow(&t, 0.5, 0);
    fvm_diskcache *d = cache_on(dir);
    fvm_diskcache_code c = code_of(&t, NULL);
    fvm_x64_reloc bad[2] = {{(uint32_t)t.b.len - 7, FVM_JIT_HELPER_POW}, {0, 0}};
    c.relocs = bad;
    c.nrelocs = 1;
    cr_assert_not(fvm_diskcache_store(d, &key_a, &c)); /* past the end */
    bad[0] = (fvm_x64_reloc){0, 999};
    cr_assert_not(fvm_diskcache_store(d, &key_a, &c)); /* unknown helper */
    bad[0] = (fvm_x64_reloc){8, FVM_JIT_HELPER_POW};
    bad[1] = (fvm_x64_reloc){4, FVM_JIT_HELPER_POW};
    c.nrelocs = 2;
    cr_assert_not(fvm_diskcache_store(d, &key_a, &c)); /* overlapping */
    c = code_of(&t, NULL);
    c.entry = (uint32_t)t.b.len;
    cr_assert_not(fvm_diskcache_store(d, &key_a, &c));
    c = code_of(&t, NULL);
    c.code_len = 0;
    cr_assert_not(fvm_diskcache_store(d, &key_a, &c));
    fvm_diskcache_key k = key_a;
    k.tier = FVM_JIT_TIER_COUNT;
    c = code_of(&t, NULL);
    cr_assert_not(fvm_diskcache_store(d, &k, &c));
    fvm_diskcache_counts n;
    fvm_diskcache_counts_get(d, &n);
    cr_assert_eq(n.store_failures, 6);
    cr_assert_eq(fst_count_files(dir, NULL), 0);
    fvm_diskcache_free(d);
    fvm_x64_buf_free(&t.b);
    fst_rm_rf(dir);
    free(dir);
}

/* ------------------------------------------------------------------------
 * Damage: every rejection is a miss, nothing crashes, a store repairs it
 * ------------------------------------------------------------------------ */

static void fix_checksum(uint8_t *b, size_t len)
{
    uint64_t h = fvm_fnv1a64(FVM_FNV64_INIT, b, len - 8);
    for (int i = 0; i < 8; i++)
        b[len - 8 + i] = (uint8_t)(h >> (8 * i));
}

static void put32(uint8_t *b, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[at + i] = (uint8_t)(v >> (8 * i));
}

/* Write blob (with a fixed checksum if fix) as dir's blob for key_a and
 * expect the load to refuse it for why. */
static void expect_reject(const char *dir, uint8_t *blob, size_t len, bool fix, const char *why)
{
    char *p = fst_path_in(dir, BLOB_A);
    if (fix)
        fix_checksum(blob, len);
    fst_write_file(p, blob, len);
    bool hit;
    const char *got = load_reason(dir, &key_a, &hit);
    cr_assert_not(hit, "expected '%s'", why);
    cr_assert_not_null(got);
    cr_assert_str_eq(got, why);
    free(p);
}

Test(jit_diskcache, truncated_at_every_length)
{
    char *dir = fst_tmp_dir("dc");
    store_pow(dir, &key_a, 0.5);
    char *p = fst_path_in(dir, BLOB_A);
    size_t len;
    uint8_t *blob = fst_read_file(p, &len);
    for (size_t n = 0; n < len; n++) {
        fst_write_file(p, blob, n);
        bool hit;
        const char *why = load_reason(dir, &key_a, &hit);
        cr_assert_not(hit, "length %zu loaded", n);
        cr_assert_not_null(why);
    }
    expect_reject(dir, (uint8_t *)"not a real blob", 15, false, "truncated");
    fst_write_file(p, blob, len);
    bool hit;
    load_reason(dir, &key_a, &hit);
    cr_assert(hit);
    free(blob);
    free(p);
    fst_rm_rf(dir);
    free(dir);
}

Test(jit_diskcache, every_byte_flipped)
{
    char *dir = fst_tmp_dir("dc");
    store_pow(dir, &key_a, 0.5);
    char *p = fst_path_in(dir, BLOB_A);
    size_t len;
    uint8_t *blob = fst_read_file(p, &len);
    static const uint8_t masks[] = {0x01, 0x80, 0xff};
    for (size_t i = 0; i < len; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            blob[i] ^= masks[m];
            fst_write_file(p, blob, len);
            bool hit;
            const char *why = load_reason(dir, &key_a, &hit);
            cr_assert_not(hit, "byte %zu ^ %#x loaded", i, masks[m]);
            cr_assert_not_null(why);
            blob[i] ^= masks[m];
        }
    }
    free(blob);
    free(p);
    fst_rm_rf(dir);
    free(dir);
}

/* Header offsets (docs/FORMAT.md). */
enum { AT_VERSION = 8, AT_FP = 12, AT_CPU = 20, AT_OP = 24, AT_SUB = 32, AT_VERIFY = 40,
       AT_TIER = 48, AT_META_LEN = 53, AT_CODE_LEN = 57, AT_ENTRY = 61, AT_NRELOCS = 65,
       HEADER = 69 };

Test(jit_diskcache, each_field_is_verified)
{
    char *dir = fst_tmp_dir("dc");
    store_pow(dir, &key_a, 0.5);
    char *p = fst_path_in(dir, BLOB_A);
    size_t len;
    uint8_t *orig = fst_read_file(p, &len);
    uint8_t *b = malloc(len + 16);
    size_t code_len = orig[AT_CODE_LEN] | (size_t)orig[AT_CODE_LEN + 1] << 8;
    size_t relocs = HEADER + 4 + code_len; /* meta is "meta" */

#define CASE(edit, fix, why)                                                                        \
    do {                                                                                            \
        memcpy(b, orig, len);                                                                       \
        edit;                                                                                       \
        expect_reject(dir, b, len, fix, why);                                                       \
    } while (0)
    CASE(b[0] = 'X', true, "bad magic");
    CASE(b[AT_VERSION] = 2, true, "unsupported format version");
    CASE(b[AT_FP] ^= 1, true, "fingerprint mismatch (another build)");
    CASE(b[AT_OP] ^= 1, true, "key mismatch");
    CASE(b[AT_SUB] ^= 1, true, "key mismatch");
    CASE(b[AT_TIER] = FVM_JIT_BLOCK, true, "key mismatch");
    CASE(b[AT_VERIFY] ^= 1, true, "verification word mismatch");
    CASE(b[AT_CPU + 3] = 0x80, true, "code needs CPU features this machine lacks");
    CASE(put32(b, AT_ENTRY, (uint32_t)code_len), true, "bad code length or entry");
    CASE(put32(b, relocs, (uint32_t)code_len - 7), true, "relocation outside the code");
    CASE(put32(b, relocs, UINT32_MAX), true, "relocation outside the code");
    CASE(put32(b, relocs + 4, 999), true, "relocation names an unknown helper");
    CASE(put32(b, relocs + 4, 0), true, "relocation names an unknown helper");
    CASE(put32(b, AT_NRELOCS, 2), true, "truncated");
    CASE(put32(b, AT_META_LEN, UINT32_MAX), true, "truncated");
    CASE(put32(b, AT_CODE_LEN, UINT32_MAX), true, "truncated");
    CASE(b[AT_OP] ^= 1, false, "checksum mismatch");
    CASE(b[len - 1] ^= 1, false, "checksum mismatch");
    CASE(b[relocs + 9] = 1, false, "checksum mismatch");
#undef CASE
    /* Two relocations, the second overlapping the first. */
    memcpy(b, orig, len);
    memcpy(b + len - 8, b + relocs, 16);
    put32(b, AT_NRELOCS, 2);
    uint32_t first = b[relocs] | (uint32_t)b[relocs + 1] << 8;
    put32(b, len - 8, first + 4);
    expect_reject(dir, b, len + 16, true, "relocations out of order or overlapping");
    /* Bytes after the checksum. */
    memcpy(b, orig, len);
    memset(b + len, 0, 8);
    expect_reject(dir, b, len + 8, false, "trailing bytes");
    /* The same blob under another key's name. */
    fvm_diskcache_key other = {FVM_JIT_BLOCK, key_a.op_hash, 0, 0};
    char *q = fst_path_in(dir, "0123456789abcdef.0000000000000000.blk.fjit");
    fst_write_file(q, orig, len);
    bool hit;
    load_reason(dir, &other, &hit);
    cr_assert_not(hit);
    /* A store repairs the damaged file. */
    store_pow(dir, &key_a, 0.5);
    load_reason(dir, &key_a, &hit);
    cr_assert(hit);
    free(q);
    free(b);
    free(orig);
    free(p);
    fst_rm_rf(dir);
    free(dir);
}

Test(jit_diskcache, verify_word_and_cpu_features)
{
    char *dir = fst_tmp_dir("dc");
    test_code t;
    emit_pow(&t, 0.5, 0);
    fvm_diskcache *d = cache_on(dir);
    fvm_diskcache_key k = {FVM_JIT_BLOCK, 42, 7, 0xfeed};
    fvm_diskcache_code c = code_of(&t, NULL);
    c.cpu_features = FVM_X64_CPU_SSE41 | FVM_X64_CPU_AVX2;
    cr_assert(fvm_diskcache_store(d, &k, &c));
    fvm_mcode *mc = fvm_mcode_new(0);
    fvm_diskcache_set_host(d, geteuid(), FVM_X64_CPU_SSE41);
    cr_assert_null(fvm_diskcache_load(d, mc, &k, NULL, NULL));
    cr_assert_str_eq(fvm_diskcache_last_reject(d), "code needs CPU features this machine lacks");
    fvm_diskcache_set_host(d, geteuid(), 0x1f);
    fvm_diskcache_key wrong = k;
    wrong.verify = 0xbeef;
    cr_assert_null(fvm_diskcache_load(d, mc, &wrong, NULL, NULL));
    cr_assert_str_eq(fvm_diskcache_last_reject(d), "verification word mismatch");
    void *entry = fvm_diskcache_load(d, mc, &k, NULL, NULL);
    cr_assert_not_null(entry);
    cr_assert_eq(call2(entry, 2, 2), 4.5);
    fvm_mcode_free(mc);
    fvm_diskcache_free(d);
    fvm_x64_buf_free(&t.b);
    fst_rm_rf(dir);
    free(dir);
}

/* ------------------------------------------------------------------------
 * Permissions
 * ------------------------------------------------------------------------ */

static void redirect(void)
{
    cr_redirect_stderr();
}

Test(jit_diskcache, group_or_world_writable_directory_refused, .init = redirect)
{
    char *dir = fst_tmp_dir("dc");
    store_pow(dir, &key_a, 0.5);
    static const mode_t modes[] = {0777, 0770, 0720};
    for (size_t i = 0; i < 3; i++) {
        chmod(dir, modes[i]);
        bool hit;
        const char *why = load_reason(dir, &key_a, &hit);
        cr_assert_not(hit);
        cr_assert_str_eq(why, "writable by group or others");
    }
    /* One cache object says so once, however often it is refused; it
     * writes nothing there either. */
    fvm_diskcache *d = cache_on(dir);
    fvm_mcode *mc = fvm_mcode_new(0);
    fvm_diskcache_load(d, mc, &key_a, NULL, NULL);
    fvm_diskcache_load(d, mc, &key_a, NULL, NULL);
    test_code t;
    emit_pow(&t, 0.5, 0);
    fvm_diskcache_key k2 = {FVM_JIT_LINEAR, 2, 0, 0};
    fvm_diskcache_code c = code_of(&t, NULL);
    cr_assert_not(fvm_diskcache_store(d, &k2, &c));
    cr_assert_eq(fst_count_files(dir, NULL), 1);
    fvm_mcode_free(mc);
    fvm_diskcache_free(d);
    fvm_x64_buf_free(&t.b);
    chmod(dir, 0700);
    bool hit;
    load_reason(dir, &key_a, &hit);
    cr_assert(hit);
    fflush(stderr);
    char *want;
    cr_assert_geq(asprintf(&want,
                           "fusevm: JIT cache directory %s refused: writable by group or others\n"
                           "fusevm: JIT cache directory %s refused: writable by group or others\n"
                           "fusevm: JIT cache directory %s refused: writable by group or others\n"
                           "fusevm: JIT cache directory %s refused: writable by group or others\n",
                           dir, dir, dir, dir),
                  0);
    cr_assert_stderr_eq_str(want);
    free(want);
    fst_rm_rf(dir);
    free(dir);
}

Test(jit_diskcache, writable_file_refused, .init = redirect)
{
    char *dir = fst_tmp_dir("dc");
    store_pow(dir, &key_a, 0.5);
    char *p = fst_path_in(dir, BLOB_A);
    chmod(p, 0620);
    bool hit;
    cr_assert_str_eq(load_reason(dir, &key_a, &hit), "writable by group or others");
    cr_assert_not(hit);
    chmod(p, 0602);
    cr_assert_str_eq(load_reason(dir, &key_a, &hit), "writable by group or others");
    chmod(p, 0644);
    load_reason(dir, &key_a, &hit);
    cr_assert(hit);
    fflush(stderr);
    char *want;
    cr_assert_geq(asprintf(&want,
                           "fusevm: JIT cache file %s refused: writable by group or others\n"
                           "fusevm: JIT cache file %s refused: writable by group or others\n",
                           p, p),
                  0);
    cr_assert_stderr_eq_str(want);
    free(want);
    free(p);
    fst_rm_rf(dir);
    free(dir);
}

/* Another user's files cannot be made without root, so the owner the
 * loader expects is changed instead (fvm_diskcache_set_host). */
Test(jit_diskcache, foreign_owner_refused, .init = redirect)
{
    char *dir = fst_tmp_dir("dc");
    store_pow(dir, &key_a, 0.5);
    fvm_diskcache *d = cache_on(dir);
    fvm_diskcache_set_host(d, geteuid() + 1, 0);
    fvm_mcode *mc = fvm_mcode_new(0);
    cr_assert_null(fvm_diskcache_load(d, mc, &key_a, NULL, NULL));
    cr_assert_str_eq(fvm_diskcache_last_reject(d), "not owned by the current user");
    fvm_diskcache_counts n;
    fvm_diskcache_counts_get(d, &n);
    cr_assert_eq(n.rejected, 1);
    fvm_mcode_free(mc);
    fvm_diskcache_free(d);
    fflush(stderr);
    char *want;
    cr_assert_geq(asprintf(&want, "fusevm: JIT cache directory %s refused: not owned by the current user\n",
                           dir),
                  0);
    cr_assert_stderr_eq_str(want);
    free(want);
    fst_rm_rf(dir);
    free(dir);
}

/* With root, real ownership: files of another user are refused. */
Test(jit_diskcache, real_foreign_owner_refused, .init = redirect)
{
    if (geteuid() != 0) {
        cr_skip_test("chown to another user needs root; foreign_owner_refused covers the check");
        return;
    }
    char *dir = fst_tmp_dir("dc");
    store_pow(dir, &key_a, 0.5);
    char *p = fst_path_in(dir, BLOB_A);
    cr_assert_eq(chown(p, 65534, 65534), 0);
    bool hit;
    cr_assert_str_eq(load_reason(dir, &key_a, &hit), "not owned by the current user");
    cr_assert_eq(chown(p, 0, 0), 0);
    cr_assert_eq(chown(dir, 65534, 65534), 0);
    cr_assert_str_eq(load_reason(dir, &key_a, &hit), "not owned by the current user");
    cr_assert_not(hit);
    cr_assert_eq(chown(dir, 0, 0), 0);
    load_reason(dir, &key_a, &hit);
    cr_assert(hit);

    /* A user who is not root, in a directory of their own, finding a
     * readable blob that root wrote: refused when opened (the kernel lets
     * only a file's owner open it without updating its access time). */
    cr_assert_eq(chmod(p, 0644), 0);
    cr_assert_eq(chown(dir, 65534, 65534), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(2);
        fvm_diskcache *d = cache_on(dir);
        fvm_mcode *mc = fvm_mcode_new(0);
        void *entry = fvm_diskcache_load(d, mc, &key_a, NULL, NULL);
        const char *why = fvm_diskcache_last_reject(d);
        _exit(!entry && why && strcmp(why, "not owned by the current user") == 0 ? 0 : 1);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "a non-root user loaded root's blob, or refused it for another reason (status %d)",
              status);
    cr_assert_eq(chown(dir, 0, 0), 0);
    free(p);
    fst_rm_rf(dir);
    free(dir);
}

Test(jit_diskcache, symlink_and_non_regular_files_refused)
{
    char *dir = fst_tmp_dir("dc");
    store_pow(dir, &key_a, 0.5);
    char *p = fst_path_in(dir, BLOB_A), *real = fst_path_in(dir, "real.bin");
    cr_assert_eq(rename(p, real), 0);
    cr_assert_eq(symlink(real, p), 0);
    bool hit;
    cr_assert_str_eq(load_reason(dir, &key_a, &hit), "a symbolic link");
    cr_assert_eq(unlink(p), 0);
    cr_assert_eq(mkfifo(p, 0600), 0);
    cr_assert_not_null(load_reason(dir, &key_a, &hit));
    cr_assert_not(hit);
    free(p);
    free(real);
    fst_rm_rf(dir);
    free(dir);
}

/* ------------------------------------------------------------------------
 * Atomic writes, temporaries, concurrency
 * ------------------------------------------------------------------------ */

Test(jit_diskcache, unwritable_directory_leaves_nothing)
{
    if (geteuid() == 0) {
        cr_skip_test("root ignores directory permissions");
        return;
    }
    char *dir = fst_tmp_dir("dc");
    chmod(dir, 0500);
    test_code t;
    emit_pow(&t, 0.5, 0);
    fvm_diskcache *d = cache_on(dir);
    fvm_diskcache_code c = code_of(&t, NULL);
    cr_assert_not(fvm_diskcache_store(d, &key_a, &c));
    cr_assert_eq(fst_count_files(dir, NULL), 0);
    /* A directory that cannot be created. */
    char *sub = fst_path_in(dir, "x/y");
    fvm_diskcache_set_dir(d, sub);
    cr_assert_not(fvm_diskcache_store(d, &key_a, &c));
    cr_assert_eq(fst_count_files(dir, NULL), 0);
    fvm_diskcache_free(d);
    fvm_x64_buf_free(&t.b);
    free(sub);
    fst_rm_rf(dir);
    free(dir);
}

/* A rename that fails (a directory sits at the blob's name) removes its
 * temporary; this works as root too. */
Test(jit_diskcache, failed_rename_leaves_no_temporary)
{
    char *dir = fst_tmp_dir("dc");
    char *p = fst_path_in(dir, BLOB_A);
    cr_assert_eq(mkdir(p, 0700), 0);
    test_code t;
    emit_pow(&t, 0.5, 0);
    fvm_diskcache *d = cache_on(dir);
    fvm_diskcache_code c = code_of(&t, NULL);
    cr_assert_not(fvm_diskcache_store(d, &key_a, &c));
    cr_assert_eq(fst_count_files(dir, NULL), 1);
    cr_assert_eq(fst_count_files(dir, ".tmp"), 0);
    fvm_diskcache_counts n;
    fvm_diskcache_counts_get(d, &n);
    cr_assert_eq(n.store_failures, 1);
    fvm_mcode *mc = fvm_mcode_new(0);
    cr_assert_null(fvm_diskcache_load(d, mc, &key_a, NULL, NULL));
    fvm_mcode_free(mc);
    fvm_diskcache_free(d);
    fvm_x64_buf_free(&t.b);
    free(p);
    fst_rm_rf(dir);
    free(dir);
}

Test(jit_diskcache, stale_temporaries_reaped_others_kept)
{
    char *dir = fst_tmp_dir("dc");
    static const char *const names[] = {
        "0123456789abcdef.0000000000000000.lin.123.4.89abcdef.tmp", /* ours, old */
        "0123456789abcdef.0000000000000000.blk.99.1.0000ffff.tmp",  /* ours, fresh */
        "foo.tmp", "keep.txt", "0123456789abcdef.0000000000000000.lin.1.2.tmp",
    };
    for (size_t i = 0; i < 5; i++) {
        char *p = fst_path_in(dir, names[i]);
        fst_write_file(p, "x", 1);
        struct timespec old[2] = {{1000, 0}, {1000, 0}};
        if (i != 1)
            utimensat(AT_FDCWD, p, old, 0);
        free(p);
    }
    fvm_diskcache *d = cache_on(dir);
    cr_assert_eq(fvm_diskcache_prune(d), 0);
    cr_assert_eq(fst_count_files(dir, NULL), 4);
    char *p = fst_path_in(dir, names[0]);
    cr_assert_neq(access(p, F_OK), 0);
    cr_assert_eq(fvm_diskcache_clear(d), 0);
    cr_assert_eq(fst_count_files(dir, NULL), 4);
    fvm_diskcache_free(d);
    free(p);
    fst_rm_rf(dir);
    free(dir);
}

/* Concurrency: processes and threads hammer one directory with the same
 * and different keys; each key's code computes pow(x, y) + its own bias,
 * some blobs are 64 KiB so a torn write would be likely to show. */
#define WORKERS 8
#define THREADS 2
#define ROUNDS 150

typedef struct worker {
    const char *dir;
    unsigned id;
    int failed;
} worker;

static double bias_of(uint64_t op_hash)
{
    return (double)(op_hash % 1000) / 8.0;
}

static void *hammer(void *arg)
{
    worker *w = arg;
    fvm_diskcache *d = cache_on(w->dir);
    fvm_mcode *mc = fvm_mcode_new(0);
    uint64_t seed = 0x9e3779b97f4a7c15ull * (w->id + 1);
    for (int r = 0; r < ROUNDS && !w->failed; r++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        /* Keys 0..3 are shared by everyone, 100+id is this worker's own. */
        uint64_t op = (seed >> 33) % 5 == 4 ? 100 + w->id : (seed >> 35) % 4;
        fvm_diskcache_key k = {FVM_JIT_LINEAR, op, 0, op * 3};
        void *entry = fvm_diskcache_load(d, mc, &k, NULL, NULL);
        if (entry && call2(entry, 2, 3) != 8.0 + bias_of(op))
            w->failed = 1;
        if (!entry) {
            test_code t;
            emit_pow(&t, bias_of(op), op % 2 ? 65536 : 0);
            fvm_diskcache_code c = code_of(&t, NULL);
            if (!fvm_diskcache_store(d, &k, &c))
                w->failed = 2;
            fvm_x64_buf_free(&t.b);
        }
    }
    fvm_diskcache_counts n;
    fvm_diskcache_counts_get(d, &n);
    if (n.rejected)
        w->failed = 3;
    fvm_mcode_free(mc);
    fvm_diskcache_free(d);
    return NULL;
}

static int run_process(const char *dir, unsigned proc)
{
    pthread_t th[THREADS];
    worker w[THREADS];
    for (unsigned i = 0; i < THREADS; i++) {
        w[i] = (worker){dir, proc * THREADS + i, 0};
        if (pthread_create(&th[i], NULL, hammer, &w[i]) != 0)
            return 10;
    }
    int failed = 0;
    for (unsigned i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        failed = failed ? failed : w[i].failed;
    }
    return failed;
}

Test(jit_diskcache, concurrent_processes_and_threads, .timeout = 120)
{
    char *dir = fst_tmp_dir("dc");
    pid_t pids[WORKERS];
    for (unsigned i = 0; i < WORKERS; i++) {
        pids[i] = fork();
        cr_assert_geq(pids[i], 0);
        if (pids[i] == 0)
            _exit(run_process(dir, i));
    }
    for (unsigned i = 0; i < WORKERS; i++) {
        int status;
        cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
        cr_assert(WIFEXITED(status), "worker %u died", i);
        cr_assert_eq(WEXITSTATUS(status), 0, "worker %u failed with %d", i, WEXITSTATUS(status));
    }
    cr_assert_eq(fst_count_files(dir, ".tmp"), 0);
    cr_assert_eq(fst_count_files(dir, NULL), 4 + WORKERS * THREADS);
    fst_rm_rf(dir);
    free(dir);
}

/* ------------------------------------------------------------------------
 * Size, eviction, clearing
 * ------------------------------------------------------------------------ */

/* Ten 100-byte blobs, file i modified at 1000 + i seconds. */
static void ten_blobs(const char *dir)
{
    char data[100];
    memset(data, 'b', sizeof data);
    for (int i = 0; i < 10; i++) {
        char name[32];
        snprintf(name, sizeof name, "blob%d.fjit", i);
        char *p = fst_path_in(dir, name);
        fst_write_file(p, data, sizeof data);
        struct timespec t[2] = {{1000 + i, 0}, {1000 + i, 0}};
        cr_assert_eq(utimensat(AT_FDCWD, p, t, 0), 0);
        free(p);
    }
    char *keep = fst_path_in(dir, "keep.txt");
    fst_write_file(keep, "keep", 4);
    free(keep);
}

static bool exists(const char *dir, const char *name)
{
    char *p = fst_path_in(dir, name);
    bool ok = access(p, F_OK) == 0;
    free(p);
    return ok;
}

Test(jit_diskcache, prune_oldest_first_to_80_percent)
{
    char *dir = fst_tmp_dir("dc");
    ten_blobs(dir);
    fvm_diskcache *d = cache_on(dir);
    cr_assert_eq(fvm_diskcache_size(d), 1000);
    fvm_diskcache_set_max_bytes(d, 0);
    cr_assert_eq(fvm_diskcache_prune(d), 0);
    fvm_diskcache_set_max_bytes(d, 1000);
    cr_assert_eq(fvm_diskcache_prune(d), 0);
    fvm_diskcache_set_max_bytes(d, 500);
    cr_assert_eq(fvm_diskcache_prune(d), 600);
    cr_assert_eq(fvm_diskcache_size(d), 400);
    for (int i = 0; i < 10; i++) {
        char name[32];
        snprintf(name, sizeof name, "blob%d.fjit", i);
        cr_assert_eq(exists(dir, name), i >= 6, "%s", name);
    }
    cr_assert(exists(dir, "keep.txt"));
    cr_assert_eq(fvm_diskcache_prune(d), 0);
    fvm_diskcache_free(d);
    fst_rm_rf(dir);
    free(dir);
}

Test(jit_diskcache, clear_and_size)
{
    char *dir = fst_tmp_dir("dc");
    ten_blobs(dir);
    fvm_diskcache *d = cache_on(dir);
    cr_assert_eq(fvm_diskcache_clear(d), 10);
    cr_assert_eq(fvm_diskcache_size(d), 0);
    cr_assert(exists(dir, "keep.txt"));
    cr_assert_eq(fst_count_files(dir, NULL), 1);
    cr_assert_eq(fvm_diskcache_clear(d), 0);
    char *gone = fst_path_in(dir, "nothing");
    fvm_diskcache_set_dir(d, gone);
    cr_assert_eq(fvm_diskcache_size(d), 0);
    cr_assert_eq(fvm_diskcache_clear(d), 0);
    cr_assert_eq(fvm_diskcache_prune(d), 0);
    fvm_diskcache_free(d);
    free(gone);
    fst_rm_rf(dir);
    free(dir);
}

Test(jit_diskcache, stores_keep_the_directory_under_its_cap)
{
    char *dir = fst_tmp_dir("dc");
    test_code t;
    emit_pow(&t, 0.5, 0);
    fvm_diskcache *d = cache_on(dir);
    fvm_diskcache_code c = code_of(&t, NULL);
    fvm_diskcache_key k = key_a;
    cr_assert(fvm_diskcache_store(d, &k, &c));
    uint64_t blob = (uint64_t)fvm_diskcache_size(d);
    fvm_diskcache_set_max_bytes(d, (int64_t)(blob * 5 / 2));
    for (int i = 1; i < 20; i++) {
        k.op_hash = key_a.op_hash + (uint64_t)i;
        cr_assert(fvm_diskcache_store(d, &k, &c));
        cr_assert_leq((uint64_t)fvm_diskcache_size(d), blob * 5 / 2, "after store %d", i);
    }
    fvm_mcode *mc = fvm_mcode_new(0);
    void *entry = fvm_diskcache_load(d, mc, &k, NULL, NULL);
    cr_assert_not_null(entry);
    cr_assert_eq(call2(entry, 2, 1), 2.5);
    fvm_diskcache_counts n;
    fvm_diskcache_counts_get(d, &n);
    cr_assert_geq(n.prunes, 1);
    fvm_mcode_free(mc);
    fvm_diskcache_free(d);
    fvm_x64_buf_free(&t.b);
    fst_rm_rf(dir);
    free(dir);
}

/* Scans of the directory made by n stores (keys op_hash base..base+n-1)
 * through one cache object with a 1 GiB cap. */
static uint64_t scans_of_stores(const char *dir, uint64_t base, int n)
{
    test_code t;
    emit_pow(&t, 0.5, 0);
    fvm_diskcache *d = cache_on(dir);
    fvm_diskcache_set_max_bytes(d, (int64_t)1 << 30);
    fvm_diskcache_code c = code_of(&t, NULL);
    fvm_diskcache_key k = key_a;
    for (int i = 0; i < n; i++) {
        k.op_hash = base + (uint64_t)i;
        cr_assert(fvm_diskcache_store(d, &k, &c));
    }
    fvm_diskcache_counts counts;
    fvm_diskcache_counts_get(d, &counts);
    fvm_diskcache_free(d);
    fvm_x64_buf_free(&t.b);
    return counts.scans;
}

/* A process that stores a blob or two and exits (a shell running its
 * scripts) must not scan the whole directory every time it runs: an
 * object's first scan comes after a random 1..128 writes, so 64 objects
 * storing one blob each scan about half a time between them, where
 * scanning on the first write would make it 64. */
Test(jit_diskcache, single_stores_rarely_scan)
{
    char *dir = fst_tmp_dir("dc");
    uint64_t scans = 0;
    for (int i = 0; i < 64; i++)
        scans += scans_of_stores(dir, 1000 + (uint64_t)i, 1);
    cr_assert_leq(scans, 8, "%" PRIu64 " scans for 64 single stores", scans);
    cr_assert_eq(fst_count_files(dir, ".fjit"), 64);
    fst_drop_dir(dir);
}

/* Writing on, an object scans every 128 writes; in a directory of many
 * files, every files / 4 writes, so the stats a scan makes cost each
 * write a bounded share however big the directory is. */
Test(jit_diskcache, scans_are_regular_and_rarer_in_big_directories)
{
    char *dir = fst_tmp_dir("dc");
    uint64_t scans = scans_of_stores(dir, 1000, 400); /* after 1..128, then every 128 */
    cr_assert(scans >= 3 && scans <= 4, "%" PRIu64 " scans in 400 stores", scans);
    fst_drop_dir(dir);

    dir = fst_tmp_dir("dc");
    for (int i = 0; i < 1000; i++) {
        char name[64];
        snprintf(name, sizeof name, "%016x.0000000000000000.blk.fjit", i);
        char *p = fst_path_in(dir, name);
        fst_write_file(p, "x", 1);
        free(p);
    }
    /* The first scan finds over 1000 files: the next comes 250 or more
     * writes later, and the one after that beyond 400. */
    scans = scans_of_stores(dir, 1u << 20, 400);
    cr_assert(scans >= 1 && scans <= 2, "%" PRIu64 " scans in 400 stores", scans);
    fst_drop_dir(dir);
}

/* A cache object keeps its directory open, but a directory opened up to
 * others after it was checked is refused again within a second. */
Test(jit_diskcache, directory_opened_up_later_is_refused, .init = redirect)
{
    char *dir = fst_tmp_dir("dc");
    store_pow(dir, &key_a, 0.5);
    fvm_diskcache *d = cache_on(dir);
    fvm_mcode *mc = fvm_mcode_new(0);
    cr_assert_not_null(fvm_diskcache_load(d, mc, &key_a, NULL, NULL));
    chmod(dir, 0777);
    usleep(1100 * 1000);
    cr_assert_null(fvm_diskcache_load(d, mc, &key_a, NULL, NULL));
    cr_assert_str_eq(fvm_diskcache_last_reject(d), "writable by group or others");
    fvm_mcode_free(mc);
    fvm_diskcache_free(d);
    fst_drop_dir(dir);
}
