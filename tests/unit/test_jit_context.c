/* The JIT context: settings and their environment overrides, counters, the
 * code cache and its negative entries, exercised through a scripted tier
 * (jit_ctx_tier) whose eligibility and compile results each test sets.
 * Criterion runs every test in a process of its own, so a test's setenv
 * never reaches another. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jit/jit.h"

/* ------------------------------------------------------------------------
 * A scripted tier
 * ------------------------------------------------------------------------ */

static struct {
    bool eligible;     /* what eligible() answers */
    bool compile_ok;   /* whether compile() succeeds */
    fvm_jit_reason failure; /* why compile() fails */
    int eligible_calls, compile_calls, release_calls;
} script;

static int fake_code; /* the handle a successful compile returns */

static fvm_jit_reason fake_decline_reason(const fvm_chunk *c)
{
    (void)c;
    script.eligible_calls++;
    return script.eligible ? FVM_JIT_REASON_NONE : FVM_JIT_REASON_OP_CALL;
}

static void *fake_compile(fvm_jit *j, const fvm_chunk *c, const fvm_value *slots, size_t nslots,
                          fvm_jit_reason *why)
{
    (void)j, (void)c, (void)slots, (void)nslots;
    script.compile_calls++;
    struct timespec pause = {0, 1000}; /* so compile_ns cannot read 0 */
    nanosleep(&pause, NULL);
    if (script.compile_ok)
        return &fake_code;
    *why = script.failure;
    return NULL;
}

static void fake_release(void *code)
{
    cr_assert_eq(code, &fake_code);
    script.release_calls++;
}

static const fvm_jit_tier_ops jit_ctx_tier = {.tier = FVM_JIT_BLOCK,
                                              .decline_reason = fake_decline_reason,
                                              .compile = fake_compile,
                                              .release = fake_release};

static void script_reset(bool eligible, bool compile_ok)
{
    memset(&script, 0, sizeof script);
    script.eligible = eligible;
    script.compile_ok = compile_ok;
    /* A transient reason, so the retry policy has something to retry. */
    script.failure = FVM_JIT_REASON_CODE_MEMORY;
}

/* A chunk "LoadInt n" (distinct n, distinct op_hash). */
static fvm_chunk *int_chunk(int64_t n)
{
    fvm_builder *b = fvm_builder_new();
    fvm_emit(b, FVM_LOAD_INT(n), 1);
    fvm_chunk *c = fvm_build(b);
    fvm_builder_free(b);
    cr_assert_not_null(c);
    return c;
}

static fvm_jit_counters counters(const fvm_jit *j)
{
    fvm_jit_counters s;
    fvm_jit_stats(j, &s);
    return s;
}

/* ------------------------------------------------------------------------
 * Settings
 * ------------------------------------------------------------------------ */

Test(jit_context, defaults)
{
    fvm_jit *j = fvm_jit_new();
    cr_assert_not_null(j);
    cr_assert_eq(fvm_jit_get_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD), 1);
    cr_assert_eq(fvm_jit_get_param(j, FVM_JIT_PARAM_TRACE_THRESHOLD), 50);
    cr_assert_eq(fvm_jit_get_param(j, FVM_JIT_PARAM_MAX_COMPILE_FAILURES), 3);
    cr_assert_eq(fvm_jit_get_param(j, FVM_JIT_PARAM_RETRY_BACKOFF), 16);
    cr_assert_eq(fvm_jit_get_param(j, FVM_JIT_PARAM_MAX_SIDE_EXITS), 50);
    cr_assert_eq(fvm_jit_get_param(j, FVM_JIT_PARAM_MAX_TRACE_LEN), 4000);
    cr_assert_eq(fvm_jit_get_param(j, FVM_JIT_PARAM_MAX_INLINE_RECURSION), 4);
    cr_assert_eq(fvm_jit_get_param(j, FVM_JIT_PARAM_MAX_TRACE_CHAIN), 4);
    cr_assert_eq(fvm_jit_get_param(j, FVM_JIT_PARAM_CODE_MAX_BYTES), 64u << 20);
    fvm_jit_free(j);
}

Test(jit_context, names)
{
    cr_assert_str_eq(fvm_jit_param_name(FVM_JIT_PARAM_BLOCK_THRESHOLD), "block_threshold");
    cr_assert_str_eq(fvm_jit_param_name(FVM_JIT_PARAM_CODE_MAX_BYTES), "code_max_bytes");
    cr_assert_null(fvm_jit_param_name(FVM_JIT_PARAM_COUNT));
    cr_assert_str_eq(fvm_jit_tier_name(FVM_JIT_LINEAR), "linear");
    cr_assert_str_eq(fvm_jit_tier_name(FVM_JIT_BLOCK), "block");
    cr_assert_str_eq(fvm_jit_tier_name(FVM_JIT_TRACE), "trace");
    cr_assert_null(fvm_jit_tier_name(FVM_JIT_TIER_COUNT));
}

Test(jit_context, set_and_get)
{
    fvm_jit *j = fvm_jit_new();
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD, 0), 0);
    cr_assert_eq(fvm_jit_get_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD), 0);
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD, UINT32_MAX), 0);
    cr_assert_eq(fvm_jit_get_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD), UINT32_MAX);
    /* Out of range: refused, the old value stays. */
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD, (uint64_t)UINT32_MAX + 1), -1);
    cr_assert_eq(fvm_jit_get_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD), UINT32_MAX);
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_MAX_COMPILE_FAILURES, 0), -1);
    cr_assert_eq(fvm_jit_get_param(j, FVM_JIT_PARAM_MAX_COMPILE_FAILURES), 3);
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_MAX_TRACE_LEN, 65537), -1);
    /* Unknown params. */
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_COUNT, 1), -1);
    cr_assert_eq(fvm_jit_set_param(j, (fvm_jit_param)-1, 1), -1);
    cr_assert_eq(fvm_jit_get_param(j, FVM_JIT_PARAM_COUNT), 0);
    /* Settings belong to one context. */
    fvm_jit *k = fvm_jit_new();
    cr_assert_eq(fvm_jit_get_param(k, FVM_JIT_PARAM_BLOCK_THRESHOLD), 1);
    fvm_jit_free(k);
    fvm_jit_free(j);
}

static uint64_t block_threshold_with_env(const char *value)
{
    setenv("FUSEVM_JIT_BLOCK_THRESHOLD", value, 1);
    fvm_jit *j = fvm_jit_new();
    uint64_t v = fvm_jit_get_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD);
    fvm_jit_free(j);
    unsetenv("FUSEVM_JIT_BLOCK_THRESHOLD");
    return v;
}

Test(jit_context, env_block_threshold)
{
    cr_assert_eq(block_threshold_with_env("0"), 0);
    cr_assert_eq(block_threshold_with_env(" 7 "), 7);
    cr_assert_eq(block_threshold_with_env("\t+12\n"), 12);
    cr_assert_eq(block_threshold_with_env("4294967295"), UINT32_MAX);
}

Test(jit_context, env_invalid_values_keep_the_default)
{
    static const char *const bad[] = {"",    "  ",  "abc",        "-1",  "1.5", "7x",
                                      "0x10", "++1", "4294967296", "1 2", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(block_threshold_with_env(bad[i]), 1, "value '%s'", bad[i]);
}

Test(jit_context, env_trace_threshold)
{
    setenv("FUSEVM_JIT_TRACE_THRESHOLD", "3", 1);
    setenv("FUSEVM_JIT_BLOCK_THRESHOLD", "junk", 1);
    fvm_jit *j = fvm_jit_new();
    cr_assert_eq(fvm_jit_get_param(j, FVM_JIT_PARAM_TRACE_THRESHOLD), 3);
    cr_assert_eq(fvm_jit_get_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD), 1);
    /* Read once, at creation: a later change does not reach this context. */
    setenv("FUSEVM_JIT_TRACE_THRESHOLD", "9", 1);
    cr_assert_eq(fvm_jit_get_param(j, FVM_JIT_PARAM_TRACE_THRESHOLD), 3);
    /* The API overrides the environment. */
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_TRACE_THRESHOLD, 100), 0);
    cr_assert_eq(fvm_jit_get_param(j, FVM_JIT_PARAM_TRACE_THRESHOLD), 100);
    fvm_jit_free(j);
    unsetenv("FUSEVM_JIT_TRACE_THRESHOLD");
    unsetenv("FUSEVM_JIT_BLOCK_THRESHOLD");
}

/* ------------------------------------------------------------------------
 * The code cache
 * ------------------------------------------------------------------------ */

Test(jit_context, fresh_counters_are_zero)
{
    fvm_jit *j = fvm_jit_new();
    fvm_jit_counters s = counters(j);
    fvm_jit_counters zero;
    memset(&zero, 0, sizeof zero);
    cr_assert_eq(memcmp(&s, &zero, sizeof s), 0);
    cr_assert_null(fvm_jit_last_failure(j));
    fvm_jit_free(j);
}

Test(jit_context, threshold_then_compile_then_hit)
{
    script_reset(true, true);
    fvm_jit *j = fvm_jit_new();
    fvm_chunk *c = int_chunk(1);
    /* Threshold 1: the first call interprets, the second compiles. */
    cr_assert_null(fvm_jit_code_for(j, &jit_ctx_tier, c, 0, NULL, 0, 1));
    cr_assert_eq(script.compile_calls, 0);
    cr_assert_eq(fvm_jit_code_for(j, &jit_ctx_tier, c, 0, NULL, 0, 1), &fake_code);
    cr_assert_eq(script.compile_calls, 1);
    cr_assert_eq(fvm_jit_code_for(j, &jit_ctx_tier, c, 0, NULL, 0, 1), &fake_code);
    cr_assert_eq(fvm_jit_code_for(j, &jit_ctx_tier, c, 0, NULL, 0, 1), &fake_code);
    cr_assert_eq(script.compile_calls, 1);
    cr_assert_eq(script.eligible_calls, 1);
    fvm_jit_counters s = counters(j);
    cr_assert_eq(s.compiles, 1);
    cr_assert_eq(s.compile_failures, 0);
    cr_assert_eq(s.cache_hits, 2);
    cr_assert_eq(s.negative_hits, 0);
    cr_assert_gt(s.compile_ns, 0);
    fvm_jit_free(j);
    cr_assert_eq(script.release_calls, 1);
    fvm_chunk_free(c);
}

Test(jit_context, threshold_zero_compiles_on_first_call)
{
    script_reset(true, true);
    fvm_jit *j = fvm_jit_new();
    fvm_chunk *c = int_chunk(1);
    cr_assert_eq(fvm_jit_code_for(j, &jit_ctx_tier, c, 0, NULL, 0, 0), &fake_code);
    cr_assert_eq(counters(j).compiles, 1);
    fvm_jit_free(j);
    fvm_chunk_free(c);
}

Test(jit_context, subkeys_are_separate_entries)
{
    script_reset(true, true);
    fvm_jit *j = fvm_jit_new();
    fvm_chunk *c = int_chunk(1);
    cr_assert_not_null(fvm_jit_code_for(j, &jit_ctx_tier, c, 0, NULL, 0, 0));
    cr_assert_not_null(fvm_jit_code_for(j, &jit_ctx_tier, c, 5, NULL, 0, 0));
    cr_assert_not_null(fvm_jit_code_for(j, &jit_ctx_tier, c, 5, NULL, 0, 0));
    cr_assert_eq(script.compile_calls, 2);
    cr_assert_eq(counters(j).cache_hits, 1);
    fvm_jit_free(j);
    cr_assert_eq(script.release_calls, 2);
    fvm_chunk_free(c);
}

Test(jit_context, failed_compile_is_not_retried_on_every_call)
{
    script_reset(true, false);
    fvm_jit *j = fvm_jit_new();
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_RETRY_BACKOFF, 2), 0);
    fvm_chunk *c = int_chunk(1);
    /* Failure 1, then 2 calls skipped. */
    cr_assert_null(fvm_jit_code_for(j, &jit_ctx_tier, c, 0, NULL, 0, 0));
    cr_assert_eq(script.compile_calls, 1);
    cr_assert_str_eq(fvm_jit_last_failure(j), "block: code memory full or refused");
    for (int i = 0; i < 2; i++)
        cr_assert_null(fvm_jit_code_for(j, &jit_ctx_tier, c, 0, NULL, 0, 0));
    cr_assert_eq(script.compile_calls, 1);
    /* Failure 2 on the retry, then the back-off doubles to 4. */
    cr_assert_null(fvm_jit_code_for(j, &jit_ctx_tier, c, 0, NULL, 0, 0));
    cr_assert_eq(script.compile_calls, 2);
    for (int i = 0; i < 4; i++)
        cr_assert_null(fvm_jit_code_for(j, &jit_ctx_tier, c, 0, NULL, 0, 0));
    cr_assert_eq(script.compile_calls, 2);
    /* Failure 3 = max_compile_failures: blacklisted for good. */
    cr_assert_null(fvm_jit_code_for(j, &jit_ctx_tier, c, 0, NULL, 0, 0));
    cr_assert_eq(script.compile_calls, 3);
    script.compile_ok = true;
    for (int i = 0; i < 100; i++)
        cr_assert_null(fvm_jit_code_for(j, &jit_ctx_tier, c, 0, NULL, 0, 0));
    cr_assert_eq(script.compile_calls, 3);
    fvm_jit_counters s = counters(j);
    cr_assert_eq(s.compile_failures, 3);
    cr_assert_eq(s.blacklisted, 1);
    cr_assert_eq(s.negative_hits, 2 + 4 + 100);
    cr_assert_eq(s.compiles, 0);
    fvm_jit_free(j);
    cr_assert_eq(script.release_calls, 0);
    fvm_chunk_free(c);
}

Test(jit_context, a_failure_that_would_recur_blacklists_at_once)
{
    script_reset(true, false);
    script.failure = FVM_JIT_REASON_TOO_MANY_SLOTS;
    fvm_jit *j = fvm_jit_new();
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_RETRY_BACKOFF, 0), 0);
    fvm_chunk *c = int_chunk(1);
    for (int i = 0; i < 10; i++)
        cr_assert_null(fvm_jit_code_for(j, &jit_ctx_tier, c, 0, NULL, 0, 0));
    cr_assert_eq(script.compile_calls, 1);
    fvm_jit_counters s = counters(j);
    cr_assert_eq(s.blacklisted, 1);
    cr_assert_eq(s.reasons[FVM_JIT_REASON_TOO_MANY_SLOTS], 1);
    cr_assert_str_eq(fvm_jit_last_failure(j), "block: more slots than the tier keeps");
    fvm_jit_free(j);
    fvm_chunk_free(c);
}

Test(jit_context, reasons_are_counted_and_named)
{
    script_reset(false, true);
    fvm_jit *j = fvm_jit_new();
    fvm_chunk *c = int_chunk(1);
    cr_assert_null(fvm_jit_code_for(j, &jit_ctx_tier, c, 0, NULL, 0, 0));
    fvm_jit_counters s = counters(j);
    cr_assert_eq(s.reasons[FVM_JIT_REASON_OP_CALL], 1);
    for (int r = 0; r < FVM_JIT_REASON_COUNT; r++) {
        cr_assert_not_null(fvm_jit_reason_text((fvm_jit_reason)r));
        if (r != FVM_JIT_REASON_OP_CALL)
            cr_assert_eq(s.reasons[r], 0, "%s", fvm_jit_reason_text((fvm_jit_reason)r));
    }
    cr_assert_null(fvm_jit_reason_text(FVM_JIT_REASON_COUNT));
    cr_assert_str_eq(fvm_jit_reason_text(FVM_JIT_REASON_OP_CALL), "calls and returns");
    fvm_jit_free(j);
    fvm_chunk_free(c);
}

Test(jit_context, retry_can_succeed)
{
    script_reset(true, false);
    fvm_jit *j = fvm_jit_new();
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_RETRY_BACKOFF, 0), 0);
    fvm_chunk *c = int_chunk(1);
    cr_assert_null(fvm_jit_code_for(j, &jit_ctx_tier, c, 0, NULL, 0, 0));
    script.compile_ok = true;
    cr_assert_eq(fvm_jit_code_for(j, &jit_ctx_tier, c, 0, NULL, 0, 0), &fake_code);
    fvm_jit_counters s = counters(j);
    cr_assert_eq(s.compile_failures, 1);
    cr_assert_eq(s.compiles, 1);
    cr_assert_eq(s.blacklisted, 0);
    fvm_jit_free(j);
    fvm_chunk_free(c);
}

Test(jit_context, ineligible_chunk_is_asked_once)
{
    script_reset(false, true);
    fvm_jit *j = fvm_jit_new();
    fvm_chunk *c = int_chunk(1);
    for (int i = 0; i < 5; i++)
        cr_assert_null(fvm_jit_code_for(j, &jit_ctx_tier, c, 0, NULL, 0, 0));
    cr_assert_eq(script.eligible_calls, 1);
    cr_assert_eq(script.compile_calls, 0);
    fvm_jit_counters s = counters(j);
    cr_assert_eq(s.ineligible, 1);
    cr_assert_eq(s.negative_hits, 4);
    cr_assert_eq(s.compile_failures, 0);
    fvm_jit_free(j);
    fvm_chunk_free(c);
}

Test(jit_context, a_fresh_context_has_its_own_cache)
{
    script_reset(true, true);
    fvm_chunk *c = int_chunk(1);
    fvm_jit *a = fvm_jit_new();
    fvm_jit *b = fvm_jit_new();
    cr_assert_not_null(fvm_jit_code_for(a, &jit_ctx_tier, c, 0, NULL, 0, 0));
    cr_assert_not_null(fvm_jit_code_for(b, &jit_ctx_tier, c, 0, NULL, 0, 0));
    cr_assert_eq(script.compile_calls, 2);
    cr_assert_eq(counters(a).compiles, 1);
    cr_assert_eq(counters(b).compiles, 1);
    cr_assert_eq(counters(b).cache_hits, 0);
    /* Freeing one leaves the other's code alone. */
    fvm_jit_free(a);
    cr_assert_eq(fvm_jit_code_for(b, &jit_ctx_tier, c, 0, NULL, 0, 0), &fake_code);
    cr_assert_eq(counters(b).cache_hits, 1);
    fvm_jit_free(b);
    fvm_chunk_free(c);
}

Test(jit_context, many_chunks)
{
    script_reset(true, true);
    fvm_jit *j = fvm_jit_new();
    enum { N = 300 };
    fvm_chunk *cs[N];
    for (int i = 0; i < N; i++) {
        cs[i] = int_chunk(i);
        cr_assert_not_null(fvm_jit_code_for(j, &jit_ctx_tier, cs[i], 0, NULL, 0, 0));
    }
    for (int i = 0; i < N; i++)
        cr_assert_not_null(fvm_jit_code_for(j, &jit_ctx_tier, cs[i], 0, NULL, 0, 0));
    cr_assert_eq(script.compile_calls, N);
    cr_assert_eq(counters(j).cache_hits, N);
    fvm_jit_free(j);
    cr_assert_eq(script.release_calls, N);
    for (int i = 0; i < N; i++)
        fvm_chunk_free(cs[i]);
}

Test(jit_context, runs_per_tier)
{
    fvm_jit *j = fvm_jit_new();
    fvm_jit_count_run(j, FVM_JIT_TRACE);
    fvm_jit_count_run(j, FVM_JIT_TRACE);
    fvm_jit_count_run(j, FVM_JIT_LINEAR);
    fvm_jit_count_run(j, FVM_JIT_TIER_COUNT); /* ignored */
    fvm_jit_counters s = counters(j);
    cr_assert_eq(s.runs[FVM_JIT_LINEAR], 1);
    cr_assert_eq(s.runs[FVM_JIT_BLOCK], 0);
    cr_assert_eq(s.runs[FVM_JIT_TRACE], 2);
    fvm_jit_free(j);
}

/* ------------------------------------------------------------------------
 * Code memory, dumps, VMs
 * ------------------------------------------------------------------------ */

Test(jit_context, code_memory_cap)
{
    fvm_jit *j = fvm_jit_new();
    cr_assert_eq(counters(j).code_bytes, 0);
    cr_assert_eq(fvm_jit_set_param(j, FVM_JIT_PARAM_CODE_MAX_BYTES, 4096), 0);
    fvm_mcode *mc = fvm_jit_mcode(j);
    cr_assert_not_null(mc);
    cr_assert_eq(fvm_jit_mcode(j), mc);
    static const unsigned char ret[] = {0xc3};
    cr_assert_not_null(fvm_mcode_add(mc, ret, sizeof ret));
    cr_assert_eq(counters(j).code_bytes, 4096);
    static unsigned char big[8192];
    cr_assert_null(fvm_mcode_add(mc, big, sizeof big));
    fvm_jit_free(j);
}

typedef struct dump_seen {
    int calls;
    fvm_jit_dump_kind kind;
    char text[32];
} dump_seen;

static void record_dump(void *ud, fvm_jit_dump_kind kind, fvm_jit_tier tier, const fvm_chunk *c,
                        const char *data, size_t len)
{
    dump_seen *d = ud;
    (void)c;
    cr_assert_eq(tier, FVM_JIT_LINEAR);
    d->calls++;
    d->kind = kind;
    memcpy(d->text, data, len < sizeof d->text - 1 ? len : sizeof d->text - 1);
}

Test(jit_context, dump_hook_gets_the_kinds_asked_for)
{
    fvm_jit *j = fvm_jit_new();
    dump_seen d = {0, 0, {0}};
    cr_assert_not(fvm_jit_dumping(j, FVM_JIT_DUMP_IR));
    fvm_jit_dump(j, FVM_JIT_DUMP_IR, FVM_JIT_LINEAR, NULL, "x", 1);
    fvm_jit_set_dump(j, FVM_JIT_DUMP_IR, record_dump, &d);
    cr_assert(fvm_jit_dumping(j, FVM_JIT_DUMP_IR));
    cr_assert_not(fvm_jit_dumping(j, FVM_JIT_DUMP_CODE));
    fvm_jit_dump(j, FVM_JIT_DUMP_CODE, FVM_JIT_LINEAR, NULL, "\xc3", 1);
    fvm_jit_dump(j, FVM_JIT_DUMP_IR, FVM_JIT_LINEAR, NULL, "v0 = const 1", 12);
    cr_assert_eq(d.calls, 1);
    cr_assert_eq(d.kind, FVM_JIT_DUMP_IR);
    cr_assert_str_eq(d.text, "v0 = const 1");
    fvm_jit_set_dump(j, FVM_JIT_DUMP_IR | FVM_JIT_DUMP_CODE, NULL, NULL);
    cr_assert_not(fvm_jit_dumping(j, FVM_JIT_DUMP_IR));
    fvm_jit_free(j);
}

Test(jit_context, vm_keeps_its_context)
{
    fvm_chunk *c = int_chunk(1);
    fvm_vm *vm = fvm_vm_new(c);
    cr_assert_null(fvm_vm_jit(vm));
    fvm_jit *j = fvm_jit_new();
    fvm_vm_set_jit(vm, j);
    cr_assert_eq(fvm_vm_jit(vm), j);
    fvm_vm_reset(vm, c);
    cr_assert_eq(fvm_vm_jit(vm), j);
    fvm_vm_set_jit(vm, NULL);
    cr_assert_null(fvm_vm_jit(vm));
    fvm_vm_free(vm);
    fvm_jit_free(j);
    fvm_chunk_free(c);
}

Test(jit_context, free_null_is_harmless)
{
    fvm_jit_free(NULL);
}

/* ------------------------------------------------------------------------
 * The linear tier through the context
 * ------------------------------------------------------------------------ */

/* These need the linear tier's code generator, which a build may lack
 * (make JIT=0). */
static void skip_without_linear(void)
{
    if (!fvm_jit_tier_available(FVM_JIT_LINEAR))
        cr_skip_test("this build has no linear tier");
}

/* "GetSlot 0; LoadInt 1; Add". */
static fvm_chunk *slot_plus_one(void)
{
    fvm_builder *b = fvm_builder_new();
    fvm_emit(b, FVM_GET_SLOT(0), 1);
    fvm_emit(b, FVM_LOAD_INT(1), 1);
    fvm_emit(b, FVM_ADD(), 1);
    fvm_chunk *c = fvm_build(b);
    fvm_builder_free(b);
    cr_assert_not_null(c);
    return c;
}

Test(jit_context, linear_compiles_once_then_hits)
{
    skip_without_linear();
    fvm_jit *j = fvm_jit_new();
    fvm_chunk *c = slot_plus_one();
    cr_assert(fvm_jit_is_linear_eligible(j, c));
    fvm_value slots[1] = {fvm_int(41)};
    fvm_value out = fvm_undef();
    cr_assert_eq(fvm_jit_try_run_linear(j, c, slots, 1, &out), FVM_JIT_OK);
    cr_assert_eq(out.type, FVM_T_INT);
    cr_assert_eq(out.as.i, 42);
    slots[0] = fvm_int(-5);
    cr_assert_eq(fvm_jit_try_run_linear(j, c, slots, 1, &out), FVM_JIT_OK);
    cr_assert_eq(out.as.i, -4);
    fvm_jit_counters s = counters(j);
    cr_assert_eq(s.compiles, 1);
    cr_assert_eq(s.cache_hits, 1);
    cr_assert_eq(s.runs[FVM_JIT_LINEAR], 2);
    cr_assert_gt(s.code_bytes, 0);
    /* Another kind in the slot is another entry. */
    slots[0] = fvm_float(0.5);
    cr_assert_eq(fvm_jit_try_run_linear(j, c, slots, 1, &out), FVM_JIT_OK);
    cr_assert_eq(out.type, FVM_T_FLOAT);
    cr_assert_float_eq(out.as.f, 1.5, 0);
    cr_assert_eq(counters(j).compiles, 2);
    fvm_jit_free(j);
    fvm_chunk_free(c);
}

Test(jit_context, linear_declines_without_touching_out)
{
    skip_without_linear();
    fvm_jit *j = fvm_jit_new();
    fvm_chunk *c = slot_plus_one();
    fvm_value out = fvm_int(7);
    /* Too few slots. */
    cr_assert_eq(fvm_jit_try_run_linear(j, c, NULL, 0, &out), FVM_JIT_NOT_COMPILED);
    cr_assert_eq(out.as.i, 7);
    /* A chunk the tier does not take (Nop), asked many times: one
     * eligibility check, never a compile. */
    fvm_builder *b = fvm_builder_new();
    fvm_emit(b, FVM_NOP(), 1);
    fvm_emit(b, FVM_LOAD_INT(1), 1);
    fvm_chunk *nop = fvm_build(b);
    fvm_builder_free(b);
    cr_assert_not(fvm_jit_is_linear_eligible(j, nop));
    for (int i = 0; i < 3; i++)
        cr_assert_eq(fvm_jit_try_run_linear(j, nop, NULL, 0, &out), FVM_JIT_NOT_COMPILED);
    fvm_jit_counters s = counters(j);
    cr_assert_eq(s.ineligible, 1);
    cr_assert_eq(s.negative_hits, 2);
    cr_assert_eq(s.compiles, 0);
    cr_assert_eq(out.as.i, 7);
    fvm_jit_free(j);
    fvm_chunk_free(nop);
    fvm_chunk_free(c);
}

static void count_dump(void *ud, fvm_jit_dump_kind kind, fvm_jit_tier tier, const fvm_chunk *c,
                       const char *text, size_t len)
{
    int *seen = ud;
    (void)c;
    cr_assert_eq(tier, FVM_JIT_LINEAR);
    cr_assert_gt(len, 0);
    cr_assert_eq(text[len - 1], '\n');
    seen[kind]++;
}

Test(jit_context, linear_dumps)
{
    skip_without_linear();
    fvm_jit *j = fvm_jit_new();
    int seen[3] = {0, 0, 0};
    fvm_jit_set_dump(j, FVM_JIT_DUMP_IR | FVM_JIT_DUMP_CODE, count_dump, seen);
    fvm_chunk *c = slot_plus_one();
    fvm_value slots[1] = {fvm_int(1)};
    fvm_value out;
    cr_assert_eq(fvm_jit_try_run_linear(j, c, slots, 1, &out), FVM_JIT_OK);
    cr_assert_eq(fvm_jit_try_run_linear(j, c, slots, 1, &out), FVM_JIT_OK);
    cr_assert_eq(seen[FVM_JIT_DUMP_IR], 1); /* once, at the compile */
    cr_assert_eq(seen[FVM_JIT_DUMP_CODE], 1);
    fvm_jit_free(j);
    fvm_chunk_free(c);
}
