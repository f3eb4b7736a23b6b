/* What a JIT context offers whatever tiers the build has: a tier that is
 * not available declines everything, and the rest of the API (the
 * context, the disk cache's management) works. In a build without a code
 * generator (make JIT=0) no tier is available and this is all there is;
 * in a full build every tier is, and only the context's API is checked. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <utime.h>

#include "fstest.h"

static fvm_chunk *assemble(const char *text)
{
    char *err = NULL;
    fvm_chunk *c = fvm_assemble(text, strlen(text), "tiers.fasm", &err);
    cr_assert_not_null(c, "%s", err ? err : "");
    return c;
}

/* Chunks the tiers of a full build run: a straight line for linear, a
 * counted loop for block. */
static const char *const straight = "GetSlot 0\nLoadInt 1\nAdd\n";
static const char *const loop = "    LoadInt 0\n    SetSlot 0\nloop:\n"
                                "    SlotIncLtIntJumpBack 0 1000 loop\n    GetSlot 0\n";

Test(jit_tiers, a_tier_this_build_lacks_declines_everything)
{
    fvm_jit *j = fvm_jit_new();
    cr_assert_not_null(j);
    fvm_jit_set_cache_dir(j, FVM_JIT_CACHE_OFF);
    cr_assert_eq(fvm_jit_tier_available(FVM_JIT_TRACE), fvm_jit_tier_available(FVM_JIT_BLOCK));
    cr_assert_not(fvm_jit_tier_available(FVM_JIT_TIER_COUNT));
    fvm_chunk *s = assemble(straight), *l = assemble(loop);
    fvm_value slots[1] = {fvm_int(41)}, out = fvm_int(7);
    if (!fvm_jit_tier_available(FVM_JIT_LINEAR)) {
        cr_assert_not(fvm_jit_is_linear_eligible(j, s));
        cr_assert_eq(fvm_jit_try_run_linear(j, s, slots, 1, &out), FVM_JIT_NOT_COMPILED);
    }
    if (!fvm_jit_tier_available(FVM_JIT_BLOCK)) {
        cr_assert_not(fvm_jit_is_block_eligible(j, l));
        cr_assert_eq(fvm_jit_try_run_block(j, l, slots, 1, &out), FVM_JIT_NOT_COMPILED);
        cr_assert_eq(fvm_jit_try_run_block_eager(j, l, slots, 1, &out), FVM_JIT_NOT_COMPILED);
        int64_t raw[1] = {5};
        cr_assert_eq(fvm_jit_try_run_block_kinded(j, l, raw, NULL, 1, true, &out),
                     FVM_JIT_NOT_COMPILED);
        cr_assert_eq(raw[0], 5);
        cr_assert_not(fvm_jit_block_is_compiled(j, l));
        cr_assert_eq(fvm_jit_take_awk_div_trap(j), 0);
    }
    cr_assert_eq(out.type, FVM_T_INT); /* untouched */
    cr_assert_eq(out.as.i, 7);
    cr_assert_eq(slots[0].as.i, 41);
    /* Regions are analysis, not code: found in any build. */
    size_t start, end;
    cr_assert(fvm_jit_find_region(l, &start, &end));
    cr_assert_eq(start, 0);
    cr_assert_eq(end, 4);
    fvm_jit_counters st;
    fvm_jit_stats(j, &st);
    if (!fvm_jit_tier_available(FVM_JIT_LINEAR) && !fvm_jit_tier_available(FVM_JIT_BLOCK)) {
        cr_assert_eq(st.compiles + st.compile_failures + st.ineligible + st.cache_hits, 0);
        cr_assert_eq(st.code_bytes, 0);
    }
    fvm_jit_free(j);
    fvm_chunk_free(s);
    fvm_chunk_free(l);
}

/* A VM with a context runs whatever the context can do for it, and the
 * interpreter the rest: with no tier, everything. */
Test(jit_tiers, a_vm_with_a_context_gets_the_interpreters_results)
{
    fvm_jit *j = fvm_jit_new();
    fvm_jit_set_cache_dir(j, FVM_JIT_CACHE_OFF);
    fvm_jit_set_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD, 0);
    fvm_chunk *l = assemble(loop);
    fvm_vm *vm = fvm_vm_new(l);
    fvm_vm_set_jit(vm, j);
    fvm_result r = fvm_vm_run(vm);
    cr_assert_eq(r.status, FVM_RUN_OK, "%s", fvm_vm_error(vm));
    cr_assert_eq(r.value.as.i, 1000);
    fvm_jit_counters st;
    fvm_jit_stats(j, &st);
    cr_assert_eq(st.runs[FVM_JIT_BLOCK], fvm_jit_tier_available(FVM_JIT_BLOCK) ? 1 : 0);
    fvm_vm_free(vm);
    fvm_jit_free(j);
    fvm_chunk_free(l);
}

static void write_blob(const char *dir, const char *name, size_t len, time_t mtime)
{
    char *p = fst_path_in(dir, name);
    char *bytes = calloc(1, len);
    fst_write_file(p, bytes, len);
    struct utimbuf t = {mtime, mtime};
    cr_assert_eq(utime(p, &t), 0);
    free(bytes);
    free(p);
}

/* The disk cache's management calls need no code generator: its files
 * are counted, pruned oldest first and cleared the same in any build. */
Test(jit_tiers, cache_management_works_in_any_build)
{
    char *dir = fst_tmp_dir("tiers");
    fvm_jit *j = fvm_jit_new();
    fvm_jit_set_cache_dir(j, dir);
    cr_assert_str_eq(fvm_jit_cache_dir(j), dir);
    cr_assert_eq(fvm_jit_cache_size_bytes(j), 0);
    time_t now = time(NULL);
    write_blob(dir, "0000000000000001.0000000000000000.blk.fjit", 600, now - 300);
    write_blob(dir, "0000000000000002.0000000000000000.blk.fjit", 300, now - 200);
    write_blob(dir, "0000000000000003.0000000000000000.lin.fjit", 100, now - 100);
    write_blob(dir, "notes.txt", 50, now);
    cr_assert_eq(fvm_jit_cache_size_bytes(j), 1000);
    /* Over a cap of 900: the oldest go until 80% of it (720) is left. */
    fvm_jit_set_cache_max_bytes(j, 900);
    cr_assert_eq(fvm_jit_cache_max_bytes(j), 900);
    cr_assert_eq(fvm_jit_prune_cache(j), 600);
    cr_assert_eq(fvm_jit_cache_size_bytes(j), 400);
    cr_assert_eq(fvm_jit_clear_cache(j), 2);
    cr_assert_eq(fvm_jit_cache_size_bytes(j), 0);
    cr_assert_eq(fst_count_files(dir, NULL), 1); /* only notes.txt */
    fvm_jit_set_cache_dir(j, FVM_JIT_CACHE_OFF);
    cr_assert_null(fvm_jit_cache_dir(j));
    cr_assert_eq(fvm_jit_cache_size_bytes(j), -1);
    fvm_jit_free(j);
    fst_drop_dir(dir);
}
