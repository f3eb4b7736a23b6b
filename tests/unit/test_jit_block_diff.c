/* The block and tracing tiers against the interpreter on random programs
 * (loopgen.h): each program runs with random starting slots
 *   (a) in the interpreter,
 *   (b) through fvm_jit_try_run_block_eager on a slot array,
 *   (c) in a VM with a JIT context attached (block threshold 0), twice on
 *       fresh VMs sharing the context: cold, then warm;
 *   (d) the same with the tracing tier alone, recording every loop on the
 *       first back-edge to its header and a side trace at every exit's
 *       first occurrence (threshold 0), and with both tiers and a trace
 *       threshold of 2 (traces entered in the middle of a loop's run);
 * and every native outcome must equal the interpreter's: status, result
 * type and bits, every slot, and for (c) and (d) the error message and ip.
 * A decline is allowed (and counted) but must leave the slots untouched.
 * One program in four is first rewritten to keep its plain variables in
 * globals (with_globals), which only the tracing tier compiles; globals
 * are compared too.
 *
 * A second test runs programs through the disk cache: a VM whose context
 * compiles and stores each program's regions, then a VM on a fresh context
 * that loads them, both compared with the interpreter in the same way.
 *
 * FUSEVM_TEST_BLOCK_ITERS sets the number of programs (default 3000; the
 * disk-cache test runs a tenth as many),
 * FUSEVM_TEST_BLOCK_SEED runs the one program of that seed, and
 * FUSEVM_TEST_BLOCK_ALL=1 reports every failing seed instead of stopping
 * at the first. A failure prints the seed, the starting slots and the
 * program's disassembly. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunktest.h"
#include "fstest.h"
#include "loopgen.h"
#include "util.h"

/* Same type and payload. Floats by bit pattern, except that any NaN matches
 * any NaN: which NaN an operation on NaNs returns depends on operand order,
 * which the C compiler may commute in the interpreter's own code, and the
 * sign of a NaN the hardware makes is not the interpreter's to fix. */
static bool same(fvm_value a, fvm_value b)
{
    if (a.type != b.type)
        return false;
    switch (a.type) {
    case FVM_T_UNDEF: return true;
    case FVM_T_BOOL: return a.as.b == b.as.b;
    case FVM_T_FLOAT:
        if (isnan(a.as.f) && isnan(b.as.f))
            return true;
        return a.as.i == b.as.i;
    case FVM_T_INT: return a.as.i == b.as.i;
    case FVM_T_STR: {
        size_t na, nb;
        const char *x = fvm_str_bytes(a, &na), *y = fvm_str_bytes(b, &nb);
        return na == nb && memcmp(x, y, na) == 0;
    }
    default: return false;
    }
}

static const char *show(fvm_value v, char *buf, size_t n)
{
    size_t len;
    switch (v.type) {
    case FVM_T_UNDEF: snprintf(buf, n, "Undef"); break;
    case FVM_T_BOOL: snprintf(buf, n, "Bool(%s)", v.as.b ? "true" : "false"); break;
    case FVM_T_INT: snprintf(buf, n, "Int(%lld)", (long long)v.as.i); break;
    case FVM_T_FLOAT: snprintf(buf, n, "Float(%.17g %016llx)", v.as.f, (unsigned long long)v.as.i); break;
    case FVM_T_STR: snprintf(buf, n, "Str(\"%s\")", fvm_str_bytes(v, &len)); break;
    default: snprintf(buf, n, "type %u", v.type); break;
    }
    return buf;
}

static const char *status_name(int s)
{
    return s == FVM_RUN_OK ? "Ok" : s == FVM_RUN_HALTED ? "Halted" : "Error";
}

/* Globals a program of the globals variant (case_make) may use. */
#define NGLOBALS LG_NDATA

/* One run's observable outcome. */
typedef struct outcome {
    fvm_run_status status;
    fvm_value value;
    fvm_value slots[LG_NSLOTS];
    fvm_value globals[NGLOBALS];
    char error[128];
    size_t error_ip;
} outcome;

static void outcome_free(outcome *o)
{
    fvm_value_drop(o->value);
    for (int s = 0; s < LG_NSLOTS; s++)
        fvm_value_drop(o->slots[s]);
    for (int g = 0; g < NGLOBALS; g++)
        fvm_value_drop(o->globals[g]);
}

/* Run c on a fresh VM (with j attached when given) from the slots in. */
static outcome vm_run(const fvm_chunk *c, const fvm_value *in, fvm_jit *j)
{
    outcome o;
    memset(&o, 0, sizeof o);
    fvm_vm *vm = fvm_vm_new(c);
    if (j)
        fvm_vm_set_jit(vm, j);
    for (uint16_t s = 0; s < LG_NSLOTS; s++)
        fvm_vm_set_slot(vm, s, fvm_value_copy(in[s]));
    fvm_result r = fvm_vm_run(vm);
    o.status = r.status;
    o.value = r.value;
    for (uint16_t s = 0; s < LG_NSLOTS; s++)
        o.slots[s] = fvm_vm_get_slot(vm, s);
    for (size_t g = 0; g < NGLOBALS; g++)
        o.globals[g] = fvm_value_copy(fvm_vm_global(vm, g));
    if (r.status == FVM_RUN_ERROR) {
        snprintf(o.error, sizeof o.error, "%s", fvm_vm_error(vm));
        o.error_ip = fvm_vm_error_ip(vm);
    }
    fvm_vm_free(vm);
    return o;
}

static const char *failf(char *msg, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static const char *failf(char *msg, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, n, fmt, ap);
    va_end(ap);
    return msg;
}

typedef struct stats {
    unsigned long programs, eager_native, eager_declined, eager_uncompiled, awk_errors, traps_named;
    unsigned long vm_runs, failures, with_globals;
    uint64_t vm_native, trace_native, traces, side_traces;
} stats;

/* The first difference between got and the interpreter's want, or NULL. */
static const char *compare(const outcome *want, const outcome *got, bool errors_too, char *msg, size_t n)
{
    char a[96], b[96];
    if (want->status != got->status)
        return failf(msg, n, "status %s, interpreter %s (%s)", status_name(got->status),
                     status_name(want->status), want->error);
    if (want->status == FVM_RUN_OK && !same(want->value, got->value))
        return failf(msg, n, "result %s, interpreter %s", show(got->value, a, sizeof a),
                     show(want->value, b, sizeof b));
    for (int s = 0; s < LG_NSLOTS; s++)
        if (!same(want->slots[s], got->slots[s]))
            return failf(msg, n, "slot %d: %s, interpreter %s", s, show(got->slots[s], a, sizeof a),
                         show(want->slots[s], b, sizeof b));
    for (int g = 0; g < NGLOBALS; g++)
        if (!same(want->globals[g], got->globals[g]))
            return failf(msg, n, "global %d: %s, interpreter %s", g,
                         show(got->globals[g], a, sizeof a), show(want->globals[g], b, sizeof b));
    if (errors_too && want->status == FVM_RUN_ERROR &&
        (strcmp(want->error, got->error) != 0 || want->error_ip != got->error_ip))
        return failf(msg, n, "error \"%s\" at %zu, interpreter \"%s\" at %zu", got->error,
                     got->error_ip, want->error, want->error_ip);
    return NULL;
}

static int awk_trap_of(const outcome *o)
{
    if (o->status != FVM_RUN_ERROR)
        return 0;
    return strcmp(o->error, "division by zero attempted") == 0 ? 1 : 2;
}

/* (b): the eager entry on a slot array. */
static const char *check_eager(fvm_jit *j, const fvm_chunk *c, const fvm_value *in, const outcome *want,
                               stats *st, char *msg, size_t n)
{
    outcome got;
    memset(&got, 0, sizeof got);
    for (int s = 0; s < LG_NSLOTS; s++)
        got.slots[s] = fvm_value_copy(in[s]);
    fvm_value out = fvm_undef();
    fvm_jit_status js = fvm_jit_try_run_block_eager(j, c, got.slots, LG_NSLOTS, &out);
    int trap = fvm_jit_take_awk_div_trap(j), want_trap = awk_trap_of(want);
    const char *bad = NULL;
    char a[96];
    if (js == FVM_JIT_NOT_COMPILED) {
        st->eager_declined++;
        if (!fvm_jit_block_is_compiled(j, c)) {
            st->eager_uncompiled++;
            if (getenv("FUSEVM_TEST_BLOCK_WHY"))
                fprintf(stderr, "block diff: not compiled: %s\n",
                        fvm_jit_last_failure(j) ? fvm_jit_last_failure(j) : "(no failure recorded)");
        }
        for (int s = 0; s < LG_NSLOTS && !bad; s++)
            if (!same(in[s], got.slots[s]))
                bad = failf(msg, n, "eager: declined but slot %d became %s", s,
                            show(got.slots[s], a, sizeof a));
        if (!bad && trap && trap != want_trap)
            bad = failf(msg, n, "eager: AWK division trap %d, interpreter's error gives %d (%s)", trap,
                        want_trap, want->error);
        st->traps_named += want_trap && trap == want_trap;
    } else {
        st->eager_native++;
        got.status = js == FVM_JIT_OK ? FVM_RUN_OK : FVM_RUN_HALTED;
        got.value = out;
        out = fvm_undef();
        char detail[400];
        if (trap)
            bad = failf(msg, n, "eager: ran natively but left AWK division trap %d", trap);
        else if (compare(want, &got, false, detail, sizeof detail))
            bad = failf(msg, n, "eager: %s", detail);
    }
    fvm_value_drop(out);
    outcome_free(&got);
    return bad;
}

/* (c) and (d): a VM with the context attached, cold then warm. */
static const char *check_vm(fvm_jit *j, const fvm_chunk *c, const fvm_value *in, const outcome *want,
                            stats *st, char *msg, size_t n)
{
    for (int pass = 0; pass < 2; pass++) {
        fvm_jit_counters before, after;
        fvm_jit_stats(j, &before);
        outcome got = vm_run(c, in, j);
        fvm_jit_stats(j, &after);
        st->vm_runs++;
        st->vm_native += after.runs[FVM_JIT_BLOCK] - before.runs[FVM_JIT_BLOCK];
        st->trace_native += after.runs[FVM_JIT_TRACE] - before.runs[FVM_JIT_TRACE];
        st->traces += after.traces - before.traces;
        st->side_traces += after.side_traces - before.side_traces;
        char detail[400];
        const char *bad = compare(want, &got, true, detail, sizeof detail);
        outcome_free(&got);
        if (bad)
            return failf(msg, n, "VM with JIT tiers %u (%s run): %s",
                         (unsigned)fvm_jit_get_param(j, FVM_JIT_PARAM_VM_TIERS), pass ? "warm" : "cold",
                         detail);
    }
    return NULL;
}

/* The VM contexts of (c) and (d). */
enum { VM_BLOCK, VM_TRACE, VM_BOTH, VM_CONTEXTS };

static void vm_contexts(fvm_jit *js[VM_CONTEXTS])
{
    static const unsigned tiers[VM_CONTEXTS] = {1u << FVM_JIT_BLOCK, 1u << FVM_JIT_TRACE,
                                                1u << FVM_JIT_BLOCK | 1u << FVM_JIT_TRACE};
    for (int k = 0; k < VM_CONTEXTS; k++) {
        js[k] = ct_eager_jit();
        fvm_jit_set_param(js[k], FVM_JIT_PARAM_VM_TIERS, tiers[k]);
        fvm_jit_set_param(js[k], FVM_JIT_PARAM_TRACE_THRESHOLD, k == VM_BOTH ? 2 : 0);
    }
}

static void vm_contexts_free(fvm_jit *js[VM_CONTEXTS])
{
    for (int k = 0; k < VM_CONTEXTS; k++)
        fvm_jit_free(js[k]);
}

static void report(uint64_t seed, const lg_program *p, const fvm_value *in, const char *msg)
{
    char a[96];
    fprintf(stderr, "block diff: seed %llu: %s\n  starting slots:", (unsigned long long)seed, msg);
    for (int s = 0; s < LG_NSLOTS; s++)
        fprintf(stderr, " %d=%s", s, show(in[s], a, sizeof a));
    char *dis = fvm_disassemble(p->chunk, FVM_DIS_ANNOTATE);
    fprintf(stderr, "\n%s\n", dis ? dis : "(no disassembly)");
    fvm_free(dis);
}

/* The program of a seed, its random starting slots and what the
 * interpreter makes of them. */
typedef struct test_case {
    lg_program p;
    fvm_value in[LG_NSLOTS];
    outcome want;
} test_case;

/* The globals variant of a program: its plain reads and writes of data
 * slots become reads and writes of globals g0..g4 (declared first, so
 * their name indices are 0..4), while its fused ops keep using the slots,
 * so both kinds of variable meet in one loop. */
static fvm_chunk *with_globals(const fvm_chunk *c)
{
    char *dis = fvm_disassemble(c, 0);
    cr_assert_not_null(dis);
    fvm_buf out = {0};
    for (int g = 0; g < NGLOBALS; g++)
        fvm_buf_printf(&out, "    LoadUndef\n    DeclareVar g%d\n", g);
    for (char *line = dis, *end; *line; line = end) {
        end = strchr(line, '\n');
        end = end ? end + 1 : line + strlen(line);
        int k;
        char op[16];
        if (sscanf(line, " %15[A-Za-z] %d", op, &k) == 2 && k >= 0 && k < NGLOBALS &&
            (strcmp(op, "GetSlot") == 0 || strcmp(op, "SetSlot") == 0))
            fvm_buf_printf(&out, "    %s g%d\n", op[0] == 'G' ? "GetVar" : "SetVar", k);
        else
            fvm_buf_put(&out, line, (size_t)(end - line));
    }
    fvm_free(dis);
    char *err = NULL;
    fvm_chunk *g = fvm_assemble(out.data, out.len, "globals.fasm", &err);
    cr_assert_not_null(g, "%s", err ? err : "");
    fvm_buf_free(&out);
    return g;
}

static void case_make(test_case *t, uint64_t seed)
{
    t->p = lg_generate(seed);
    if (seed % 4 == 3) {
        fvm_chunk *g = with_globals(t->p.chunk);
        fvm_chunk_free(t->p.chunk);
        t->p.chunk = g;
    }
    lg_rng r;
    lg_seed(&r, seed ^ 0x51075u);
    lg_initial_slots(&r, &t->p, t->in);
    t->want = vm_run(t->p.chunk, t->in, NULL);
}

static void case_free(test_case *t)
{
    outcome_free(&t->want);
    for (int s = 0; s < LG_NSLOTS; s++)
        fvm_value_drop(t->in[s]);
    fvm_chunk_free(t->p.chunk);
}

/* Generate, run and compare the program of seed; false on a mismatch
 * (reported on stderr). */
static bool check_seed(fvm_jit *eager, fvm_jit *vms[VM_CONTEXTS], uint64_t seed, stats *st,
                       bool verbose)
{
    test_case t;
    case_make(&t, seed);
    st->programs++;
    st->with_globals += seed % 4 == 3;
    st->awk_errors += t.want.status == FVM_RUN_ERROR;
    char msg[512];
    const char *bad = check_eager(eager, t.p.chunk, t.in, &t.want, st, msg, sizeof msg);
    for (int k = 0; k < VM_CONTEXTS && !bad; k++)
        bad = check_vm(vms[k], t.p.chunk, t.in, &t.want, st, msg, sizeof msg);
    if (bad) {
        st->failures++;
        if (verbose)
            report(seed, &t.p, t.in, bad);
        else
            fprintf(stderr, "block diff: seed %llu: %s\n", (unsigned long long)seed, bad);
    }
    case_free(&t);
    return bad == NULL;
}

Test(jit_block_diff, random_programs_match_the_interpreter, .timeout = 120)
{
    const char *env = getenv("FUSEVM_TEST_BLOCK_ITERS");
    const char *one = getenv("FUSEVM_TEST_BLOCK_SEED");
    const char *all = getenv("FUSEVM_TEST_BLOCK_ALL");
    bool keep_going = all && *all && strcmp(all, "0") != 0;
    unsigned long iters = env ? strtoul(env, NULL, 10) : 3000;
    stats st = {0};
    fvm_jit *eager = ct_eager_jit(), *vms[VM_CONTEXTS];
    vm_contexts(vms);
    uint64_t first_bad = 0;
    if (one) {
        first_bad = strtoull(one, NULL, 0);
        cr_assert(check_seed(eager, vms, first_bad, &st, true), "seed %s differs (see stderr)", one);
    }
    for (unsigned long i = 0; !one && i < iters; i++) {
        uint64_t seed = 0xb10c0000u + i;
        bool ok = check_seed(eager, vms, seed, &st, st.failures == 0);
        if (!ok && st.failures == 1)
            first_bad = seed;
        if (!ok && !keep_going)
            break;
        if (i % 256 == 255) { /* fresh contexts now and then bound the code memory */
            fvm_jit_free(eager);
            vm_contexts_free(vms);
            eager = ct_eager_jit();
            vm_contexts(vms);
        }
    }
    fprintf(stderr,
            "block diff: %lu programs (%lu ending in an AWK division error); eager: %lu native, %lu "
            "declined (%lu not compiled; %lu of the errors named by the trap); VM: %llu of %lu runs native; "
            "traces: %llu root and %llu side traces, %llu native runs; %lu failing\n",
            st.programs, st.awk_errors, st.eager_native, st.eager_declined, st.eager_uncompiled, st.traps_named,
            (unsigned long long)st.vm_native, st.vm_runs, (unsigned long long)st.traces,
            (unsigned long long)st.side_traces, (unsigned long long)st.trace_native, st.failures);
    fvm_jit_free(eager);
    vm_contexts_free(vms);
    cr_assert_eq(st.failures, 0, "%lu programs differ; the first is seed %llu (FUSEVM_TEST_BLOCK_SEED=%llu)",
                 st.failures, (unsigned long long)first_bad, (unsigned long long)first_bad);
    /* The test is only worth its time if most programs run natively, and
     * traces of both kinds are made and run. */
    unsigned long slot_only = st.programs - st.with_globals; /* the block tier has no globals */
    cr_assert_gt(st.eager_native, slot_only / 2, "only %lu of %lu programs ran natively", st.eager_native,
                 slot_only);
    if (!one) {
        cr_assert_gt(st.traces, st.programs / 4, "only %llu traces", (unsigned long long)st.traces);
        cr_assert_gt(st.side_traces, st.programs / 40, "only %llu side traces",
                     (unsigned long long)st.side_traces);
        cr_assert_gt(st.trace_native, st.programs / 2, "only %llu trace runs",
                     (unsigned long long)st.trace_native);
    }
}

/* A context with block threshold 0 on the disk cache in dir; the even
 * programs run with the block tier, the odd ones with the tracing tier
 * (threshold 0: its trees grow side paths on first exits, and each is
 * stored again as it grows). */
static fvm_jit *disk_context(const char *dir, unsigned long i)
{
    fvm_jit *j = ct_eager_jit();
    fvm_jit_set_cache_dir(j, dir);
    fvm_jit_set_param(j, FVM_JIT_PARAM_TRACE_THRESHOLD, 0);
    fvm_jit_set_param(j, FVM_JIT_PARAM_VM_TIERS, i % 2 ? 1u << FVM_JIT_TRACE : 1u << FVM_JIT_BLOCK);
    return j;
}

/* The disk cache changes nothing: each program runs in a VM on a context
 * that compiles its regions or traces and stores them, then in a VM on a
 * fresh context on the same directory, which loads them instead of
 * compiling; both must match the interpreter exactly. */
Test(jit_block_diff, random_programs_through_the_disk_cache, .timeout = 120)
{
    const char *env = getenv("FUSEVM_TEST_BLOCK_ITERS");
    unsigned long iters = (env ? strtoul(env, NULL, 10) : 3000) / 10;
    char *dir = fst_tmp_dir("blkdiff");
    fvm_jit *stores_by[2] = {disk_context(dir, 0), disk_context(dir, 1)};
    unsigned long failures = 0, native = 0;
    uint64_t stores = 0, loads = 0;
    for (unsigned long i = 0; i < iters && !failures; i++) {
        uint64_t seed = 0xd15c0000u + i;
        test_case t;
        case_make(&t, seed);
        fvm_jit *load = disk_context(dir, i);
        fvm_jit *js[2] = {stores_by[i % 2], load};
        for (int pass = 0; pass < 2 && !failures; pass++) {
            fvm_jit_counters before, after;
            fvm_jit_stats(js[pass], &before);
            outcome got = vm_run(t.p.chunk, t.in, js[pass]);
            fvm_jit_stats(js[pass], &after);
            stores += after.disk_stores - before.disk_stores;
            loads += after.disk_loads - before.disk_loads;
            native += pass == 1 && after.runs[FVM_JIT_BLOCK] + after.runs[FVM_JIT_TRACE] >
                                       before.runs[FVM_JIT_BLOCK] + before.runs[FVM_JIT_TRACE];
            char detail[400], msg[512];
            const char *bad = compare(&t.want, &got, true, detail, sizeof detail);
            outcome_free(&got);
            if (bad) {
                snprintf(msg, sizeof msg, "VM on a %s disk cache: %s", pass ? "warm" : "cold", detail);
                report(seed, &t.p, t.in, msg);
                failures++;
            }
        }
        fvm_jit_free(load);
        case_free(&t);
        if (i % 256 == 255) { /* fresh contexts now and then bound the code memory */
            for (int k = 0; k < 2; k++) {
                fvm_jit_free(stores_by[k]);
                stores_by[k] = disk_context(dir, (unsigned long)k);
            }
        }
    }
    for (int k = 0; k < 2; k++)
        fvm_jit_free(stores_by[k]);
    fst_drop_dir(dir);
    fprintf(stderr, "block diff through the disk cache: %lu programs, %llu blobs stored, %llu loaded, "
            "%lu warm runs native, %lu failing\n", iters, (unsigned long long)stores,
            (unsigned long long)loads, native, failures);
    cr_assert_eq(failures, 0);
    /* Worth its time only if most warm runs really ran code from the disk. */
    cr_assert_gt(loads, iters / 2, "only %llu loads in %lu programs", (unsigned long long)loads, iters);
    cr_assert_gt(native, iters / 2, "only %lu of %lu warm runs native", native, iters);
}
