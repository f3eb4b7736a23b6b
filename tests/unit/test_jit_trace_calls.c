/* The tracing tier against the interpreter on random programs whose loop
 * calls subroutines: a counted loop (slot 5 counts) whose body assigns
 * slots and globals from random expressions (Int, Float and Bool
 * operands, arithmetic, comparisons, Mod and Div, so kinds change in the
 * middle of loops), branches on them, and calls up to three subroutines
 * with up to two arguments; each subroutine does the same and may call
 * the ones defined before it. Every program runs in the interpreter and
 * under the tracing tier at thresholds 0, 1 and 3 (0: every loop recorded
 * on its first back-edge and every exit grows a side path at once), then
 * with both tiers; result, every slot of the entered frame, every global
 * and the error must be the interpreter's.
 *
 * FUSEVM_TEST_TRACE_ITERS sets the number of programs (default 2000),
 * FUSEVM_TEST_TRACE_SEED runs one seed and prints its program. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loopgen.h"
#include "util.h"

#define NSLOTS 6

typedef struct gen {
    lg_rng r;
    fvm_buf *out;
    unsigned labels;
} gen;

static unsigned pick(gen *g, unsigned n) { return (unsigned)(lg_next(&g->r) % n); }

/* Code that pushes one value. */
static void expr(gen *g, unsigned nslots, int depth)
{
    unsigned c = pick(g, 20);
    if (depth >= 2 || c < 6) {
        fvm_buf_printf(g->out, "    GetSlot %u\n", pick(g, nslots));
        return;
    }
    if (c < 9) {
        fvm_buf_printf(g->out, "    LoadInt %d\n", (int)pick(g, 15) - 5);
        return;
    }
    if (c < 10) {
        static const char *const floats[] = {"0.5", "-1.25", "3.0"};
        fvm_buf_printf(g->out, "    LoadFloat %s\n", floats[pick(g, 3)]);
        return;
    }
    if (c < 11) {
        fvm_buf_puts(g->out, "    LoadTrue\n");
        return;
    }
    static const char *const ops[] = {"Add", "Sub", "Mul", "Add", "NumLt", "NumEq", "Mod", "Div"};
    expr(g, nslots, depth + 1);
    expr(g, nslots, depth + 1);
    fvm_buf_printf(g->out, "    %s\n", ops[pick(g, 8)]);
}

/* A few statements; calls go to subs 0..nsubs-1, taking argc[k] values. */
static void statements(gen *g, unsigned nslots, unsigned nsubs, const unsigned *argc)
{
    for (unsigned n = 1 + pick(g, 4); n > 0; n--) {
        unsigned c = pick(g, 10);
        if (c < 4) {
            expr(g, nslots, 0);
            fvm_buf_printf(g->out, "    SetSlot %u\n", pick(g, nslots));
        } else if (c < 6 && nsubs) {
            unsigned f = pick(g, nsubs);
            for (unsigned a = 0; a < argc[f]; a++)
                expr(g, nslots, 0);
            fvm_buf_printf(g->out, "    Call f%u %u\n    SetSlot %u\n", f, argc[f], pick(g, nslots));
        } else if (c < 8) {
            unsigned l = g->labels++;
            expr(g, nslots, 0);
            fvm_buf_printf(g->out, "    JumpIfFalse l%u\n", l);
            expr(g, nslots, 0);
            fvm_buf_printf(g->out, "    SetSlot %u\nl%u:\n", pick(g, nslots), l);
        } else {
            expr(g, nslots, 0);
            fvm_buf_printf(g->out, "    SetVar g%u\n    GetVar g%u\n    SetSlot %u\n", pick(g, 3),
                           pick(g, 3), pick(g, nslots));
        }
    }
}

static fvm_chunk *program(uint64_t seed, fvm_buf *text)
{
    gen g = {.out = text};
    lg_seed(&g.r, seed);
    unsigned nsubs = 1 + pick(&g, 3), argc[3];
    for (unsigned k = 0; k < nsubs; k++)
        argc[k] = pick(&g, 3);
    fvm_buf_puts(text, "    LoadInt 0\n    SetVar g0\n    LoadInt 0\n    SetVar g1\n    LoadInt 0\n"
                       "    SetVar g2\n    LoadInt 0\n    SetSlot 5\n    LoadInt 1\n    SetSlot 0\n"
                       "loop:\n");
    statements(&g, NSLOTS - 1, nsubs, argc);
    fvm_buf_printf(text, "    GetSlot 5\n    LoadInt 1\n    Add\n    SetSlot 5\n    GetSlot 5\n"
                         "    LoadInt %u\n    NumLt\n    JumpIfTrue loop\n    GetSlot 0\n    Jump end\n",
                   20 + pick(&g, 280));
    for (unsigned k = 0; k < nsubs; k++) {
        fvm_buf_printf(text, ".sub f%u\n", k);
        for (unsigned a = argc[k]; a > 0; a--)
            fvm_buf_printf(text, "    SetSlot %u\n", a - 1);
        statements(&g, 4, k, argc);
        expr(&g, 4, 0);
        fvm_buf_puts(text, "    ReturnValue\n");
    }
    fvm_buf_puts(text, "end:\n");
    char *err = NULL;
    fvm_chunk *c = fvm_assemble(text->data, text->len, "calls.fasm", &err);
    cr_assert_not_null(c, "seed %llu: %s", (unsigned long long)seed, err ? err : "");
    return c;
}

typedef struct outcome {
    fvm_result r;
    char error[160];
    fvm_value slots[NSLOTS], globals[3];
} outcome;

static outcome run(const fvm_chunk *c, fvm_jit *j)
{
    outcome o;
    memset(&o, 0, sizeof o);
    fvm_vm *vm = fvm_vm_new(c);
    if (j)
        fvm_vm_set_jit(vm, j);
    o.r = fvm_vm_run(vm);
    if (o.r.status == FVM_RUN_ERROR)
        snprintf(o.error, sizeof o.error, "%s", fvm_vm_error(vm));
    for (uint16_t s = 0; s < NSLOTS; s++)
        o.slots[s] = fvm_vm_get_slot(vm, s);
    for (size_t k = 0; k < 3; k++)
        o.globals[k] = fvm_value_copy(fvm_vm_global(vm, k));
    fvm_vm_free(vm);
    return o;
}

static void drop(outcome *o)
{
    fvm_value_drop(o->r.value);
    for (int s = 0; s < NSLOTS; s++)
        fvm_value_drop(o->slots[s]);
    for (int k = 0; k < 3; k++)
        fvm_value_drop(o->globals[k]);
}

/* Same kind and payload; any NaN matches any NaN. */
static bool same(fvm_value a, fvm_value b)
{
    if (a.type != b.type)
        return false;
    if (a.type == FVM_T_FLOAT)
        return a.as.i == b.as.i || (a.as.f != a.as.f && b.as.f != b.as.f);
    if (a.type == FVM_T_BOOL)
        return a.as.b == b.as.b;
    return a.type != FVM_T_INT || a.as.i == b.as.i;
}

static const char *differs(const outcome *want, const outcome *got)
{
    if (want->r.status != got->r.status)
        return "status";
    if (want->r.status == FVM_RUN_OK && !same(want->r.value, got->r.value))
        return "result";
    if (strcmp(want->error, got->error) != 0)
        return "error";
    for (int s = 0; s < NSLOTS; s++)
        if (!same(want->slots[s], got->slots[s]))
            return "a slot";
    for (int k = 0; k < 3; k++)
        if (!same(want->globals[k], got->globals[k]))
            return "a global";
    return NULL;
}

Test(jit_trace_calls, random_loops_with_calls_match_the_interpreter, .timeout = 120)
{
    if (!fvm_jit_tier_available(FVM_JIT_TRACE))
        cr_skip_test("this build has no tracing tier");
    const char *env = getenv("FUSEVM_TEST_TRACE_ITERS"), *one = getenv("FUSEVM_TEST_TRACE_SEED");
    unsigned long iters = env ? strtoul(env, NULL, 10) : 2000;
    uint64_t first = one ? strtoull(one, NULL, 0) : 0xca11000u;
    static const struct { unsigned tiers; uint64_t threshold; } modes[] = {
        {1u << FVM_JIT_TRACE, 0}, {1u << FVM_JIT_TRACE, 1}, {1u << FVM_JIT_TRACE, 3},
        {1u << FVM_JIT_TRACE | 1u << FVM_JIT_BLOCK, 2}};
    unsigned long traced = 0, runs = 0;
    for (unsigned long i = 0; i < (one ? 1 : iters); i++) {
        uint64_t seed = first + i;
        fvm_buf text = {0};
        fvm_chunk *c = program(seed, &text);
        if (one)
            fprintf(stderr, "%s", text.data);
        outcome want = run(c, NULL);
        for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
            fvm_jit *j = fvm_jit_new();
            fvm_jit_set_cache_dir(j, FVM_JIT_CACHE_OFF);
            fvm_jit_set_param(j, FVM_JIT_PARAM_VM_TIERS, modes[m].tiers);
            fvm_jit_set_param(j, FVM_JIT_PARAM_TRACE_THRESHOLD, modes[m].threshold);
            fvm_jit_set_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD, 0);
            outcome got = run(c, j);
            fvm_jit_counters s;
            fvm_jit_stats(j, &s);
            traced += s.traces > 0;
            runs += s.runs[FVM_JIT_TRACE];
            const char *bad = differs(&want, &got);
            drop(&got);
            fvm_jit_free(j);
            cr_assert_null(bad, "seed %llu (FUSEVM_TEST_TRACE_SEED=%llu), mode %zu: %s differs",
                           (unsigned long long)seed, (unsigned long long)seed, m, bad);
        }
        drop(&want);
        fvm_chunk_free(c);
        fvm_buf_free(&text);
    }
    fprintf(stderr, "trace calls: %lu programs, %lu runs with traces, %lu native entries\n",
            one ? 1 : iters, traced, runs);
    /* Worth its time only if most programs' loops are traced. */
    if (!one)
        cr_assert_gt(traced, iters, "only %lu of %lu runs made traces", traced, 4 * iters);
}
