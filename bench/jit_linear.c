/* The linear JIT tier on upstream's jit_vs_interp kernels, each
 * run for slot0 = 0..N-1 three ways: the interpreter (a VM reset per call,
 * slot0 set through the API), the linear tier (fvm_jit_try_run_linear, code
 * cached after the first call) and the same computation in C. The three
 * checksums must agree. Also the linear tier's compile time for chunks of 20
 * and 1,000 ops, taken from the JIT context's counters (code generation plus
 * making the code executable): in steady state (many chunks compiled in one
 * context) and for the first compile of a fresh context, which also maps
 * and pre-faults its code memory. Every context has the disk cache off.
 *
 *   jit_linear [N [COMPILES]] [--json]
 *
 * N calls per kernel (default 200,000), COMPILES compiles per compile-time
 * figure (default 51); --json prints one JSON object for bench/run.py
 * instead of the table. Exit status 1 if the checksums disagree.
 *
 *   make bench-jit            (built with -O2 against build/libfusevm.a)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fusevm.h"

/* Keep gcc from folding the C kernels across iterations (the value stays in
 * its register class: a GPR for integers, an XMM register for doubles). */
#define KEEP(x) __asm__ volatile("" : "+r"(x))
#define KEEP_F(x) __asm__ volatile("" : "+x"(x))

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

typedef struct kernel {
    const char *name;
    int reps;            /* times the body repeats after GetSlot 0 */
    fvm_op body[6];
    int nbody;
    bool float_result;
} kernel;

static const kernel kernels[] = {
    {"slot_add", 100, {{FVM_OP_LOAD_INT, 0, 0, 0, {.i = 1}}, {FVM_OP_ADD, 0, 0, 0, {0}}}, 2, false},
    {"slot_mixed", 100,
     {{FVM_OP_LOAD_INT, 0, 0, 0, {.i = 3}}, {FVM_OP_MUL, 0, 0, 0, {0}},
      {FVM_OP_LOAD_INT, 0, 0, 0, {.i = 7}}, {FVM_OP_ADD, 0, 0, 0, {0}},
      {FVM_OP_LOAD_INT, 0, 0, 0, {.i = 2}}, {FVM_OP_SUB, 0, 0, 0, {0}}},
     6, false},
    {"slot_bitwise", 200,
     {{FVM_OP_LOAD_INT, 0, 0, 0, {.i = 0xFF}}, {FVM_OP_BIT_AND, 0, 0, 0, {0}},
      {FVM_OP_LOAD_INT, 0, 0, 0, {.i = 3}}, {FVM_OP_SHL, 0, 0, 0, {0}},
      {FVM_OP_LOAD_INT, 0, 0, 0, {.i = 0x1234}}, {FVM_OP_BIT_XOR, 0, 0, 0, {0}}},
     6, false},
    {"slot_float", 200,
     {{FVM_OP_LOAD_FLOAT, 0, 0, 0, {.f = 0.1}}, {FVM_OP_ADD, 0, 0, 0, {0}},
      {FVM_OP_LOAD_FLOAT, 0, 0, 0, {.f = 1.001}}, {FVM_OP_MUL, 0, 0, 0, {0}}},
     4, true},
};

static fvm_chunk *build(const kernel *k)
{
    fvm_builder *b = fvm_builder_new();
    fvm_emit(b, FVM_GET_SLOT(0), 1);
    for (int r = 0; r < k->reps; r++)
        for (int i = 0; i < k->nbody; i++)
            fvm_emit(b, k->body[i], 1);
    fvm_chunk *c = fvm_build(b);
    fvm_builder_free(b);
    return c;
}

/* The same computations in C, with the interpreter's wrapping arithmetic. */
static double c_kernel(int which, int64_t x0)
{
    uint64_t x = (uint64_t)x0;
    double f = (double)x0;
    switch (which) {
    case 0: for (int r = 0; r < 100; r++) { x += 1; KEEP(x); } return (double)(int64_t)x;
    case 1: for (int r = 0; r < 100; r++) { x = x * 3 + 7 - 2; KEEP(x); } return (double)(int64_t)x;
    case 2: for (int r = 0; r < 200; r++) { x = ((x & 0xFF) << 3) ^ 0x1234; KEEP(x); } return (double)(int64_t)x;
    default: for (int r = 0; r < 200; r++) { f = (f + 0.1) * 1.001; KEEP_F(f); } return f;
    }
}

static double as_number(fvm_value v)
{
    return v.type == FVM_T_FLOAT ? v.as.f : (double)v.as.i;
}

typedef struct kernel_result {
    double c_ns, linear_ns, interp_ns; /* per call */
    double sum_c, sum_linear, sum_interp;
    long native; /* calls the linear tier ran */
    bool ok;
} kernel_result;

static kernel_result run_kernel(int which, long n, fvm_jit *jit)
{
    const kernel *k = &kernels[which];
    fvm_chunk *c = build(k);
    fvm_vm *vm = fvm_vm_new(c);
    double sum_i = 0, sum_j = 0, sum_c = 0;

    double t0 = now();
    for (long i = 0; i < n; i++) {
        fvm_vm_reset(vm, c);
        fvm_vm_set_slot(vm, 0, fvm_int(i));
        fvm_result r = fvm_vm_run(vm);
        sum_i += as_number(r.value);
    }
    double t1 = now();
    fvm_value slot, out;
    long native = 0;
    for (long i = 0; i < n; i++) {
        slot = fvm_int(i);
        if (fvm_jit_try_run_linear(jit, c, &slot, 1, &out) == FVM_JIT_OK) {
            native++;
            sum_j += as_number(out);
        }
    }
    double t2 = now();
    for (long i = 0; i < n; i++)
        sum_c += c_kernel(which, i);
    double t3 = now();

    fvm_vm_free(vm);
    fvm_chunk_free(c);
    return (kernel_result){(t3 - t2) / n * 1e9, (t2 - t1) / n * 1e9, (t1 - t0) / n * 1e9, sum_c,
                           sum_j, sum_i, native, native == n && sum_i == sum_j && sum_j == sum_c};
}

/* A chain of `ops` ops: GetSlot 0 then LoadInt/Add pairs with constants
 * varying with `variant`, so nothing folds into one constant and each
 * variant is a different chunk. */
static fvm_chunk *chain(int ops, int variant)
{
    fvm_builder *b = fvm_builder_new();
    fvm_emit(b, FVM_GET_SLOT(0), 1);
    for (int i = 1; i + 1 < ops; i += 2) {
        fvm_emit(b, FVM_LOAD_INT(i * 7 + variant), 1);
        fvm_emit(b, (i / 2) % 2 ? FVM_MUL() : FVM_BIT_XOR(), 1);
    }
    fvm_chunk *c = fvm_build(b);
    fvm_builder_free(b);
    return c;
}

/* A context with the disk cache off: every compile time is a compile (not
 * a load from an earlier run's files), and the user's cache is untouched. */
static fvm_jit *context(void)
{
    fvm_jit *j = fvm_jit_new();
    if (!j) {
        fprintf(stderr, "jit_linear: out of memory\n");
        exit(1);
    }
    fvm_jit_set_cache_dir(j, FVM_JIT_CACHE_OFF);
    return j;
}

/* Compile c in j (its first run); the nanoseconds the context counted. */
static double compile_ns(fvm_jit *j, const fvm_chunk *c)
{
    fvm_jit_counters before, after;
    fvm_jit_stats(j, &before);
    fvm_value slot = fvm_int(3), out;
    if (fvm_jit_try_run_linear(j, c, &slot, 1, &out) != FVM_JIT_OK) {
        fprintf(stderr, "jit_linear: the linear tier did not run a %zu-op chain\n", fvm_chunk_len(c));
        exit(1);
    }
    fvm_jit_stats(j, &after);
    return (double)(after.compile_ns - before.compile_ns);
}

static int ascending(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, ascending);
    return v[n / 2];
}

typedef struct compile_result {
    int ops;
    double steady_ns, first_ns; /* medians */
} compile_result;

/* Median compile time of `times` different chains of `ops` ops, compiled
 * one after the other in one context, and of the first compile in `times`
 * fresh contexts. */
static compile_result compile_time(int ops, int times)
{
    double *ns = malloc(sizeof(double) * (size_t)times);
    compile_result r = {ops, 0, 0};
    fvm_jit *j = context();
    fvm_chunk *warm = chain(ops, -1); /* maps the context's code memory */
    compile_ns(j, warm);
    fvm_chunk_free(warm);
    for (int t = 0; t < times; t++) {
        fvm_chunk *c = chain(ops, t);
        ns[t] = compile_ns(j, c);
        fvm_chunk_free(c);
    }
    fvm_jit_free(j);
    r.steady_ns = median(ns, times);
    for (int t = 0; t < times; t++) {
        fvm_chunk *c = chain(ops, t);
        j = context();
        ns[t] = compile_ns(j, c);
        fvm_jit_free(j);
        fvm_chunk_free(c);
    }
    r.first_ns = median(ns, times);
    free(ns);
    return r;
}

static void print_table(const kernel_result *k, const compile_result *cr, int ncr)
{
    printf("kernel        C/call    linear/call  interp/call\n");
    for (int i = 0; i < 4; i++)
        printf("%-13s %6.1f ns %8.1f ns %8.1f ns   %5.2fx C   %6.1fx faster than interp   %s\n",
               kernels[i].name, k[i].c_ns, k[i].linear_ns, k[i].interp_ns,
               k[i].linear_ns / k[i].c_ns, k[i].interp_ns / k[i].linear_ns,
               k[i].ok ? "checksums agree" : "MISMATCH");
    for (int i = 0; i < ncr; i++)
        printf("compile %4d ops: %8.1f us (%.0f ns per op) in a warm context, %.1f us as a "
               "fresh context's first compile\n", cr[i].ops, cr[i].steady_ns / 1e3,
               cr[i].steady_ns / cr[i].ops, cr[i].first_ns / 1e3);
}

static void print_json(const kernel_result *k, long n, const compile_result *cr, int ncr)
{
    printf("{\"calls\": %ld, \"kernels\": {", n);
    for (int i = 0; i < 4; i++)
        printf("%s\"%s\": {\"c_ns\": %.3f, \"linear_ns\": %.3f, \"interp_ns\": %.3f, "
               "\"sum_c\": %.17g, \"sum_linear\": %.17g, \"sum_interp\": %.17g, "
               "\"native\": %ld, \"agree\": %s}", i ? ", " : "", kernels[i].name, k[i].c_ns,
               k[i].linear_ns, k[i].interp_ns, k[i].sum_c, k[i].sum_linear, k[i].sum_interp,
               k[i].native, k[i].ok ? "true" : "false");
    printf("}, \"compile\": [");
    for (int i = 0; i < ncr; i++)
        printf("%s{\"ops\": %d, \"steady_ns\": %.0f, \"first_ns\": %.0f}", i ? ", " : "",
               cr[i].ops, cr[i].steady_ns, cr[i].first_ns);
    printf("]}\n");
}

int main(int argc, char **argv)
{
    long n = 200000;
    int times = 51, nargs = 0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (nargs++ == 0)
            n = atol(argv[i]);
        else
            times = atoi(argv[i]);
    }
    if (n < 1 || times < 1) {
        fprintf(stderr, "usage: jit_linear [N [COMPILES]] [--json]\n");
        return 2;
    }
    fvm_jit *jit = context();
    kernel_result k[4];
    bool ok = true;
    for (int i = 0; i < 4; i++) {
        k[i] = run_kernel(i, n, jit);
        ok = ok && k[i].ok;
    }
    fvm_jit_free(jit);
    compile_result cr[2] = {compile_time(20, times), compile_time(1000, times / 2 + 1)};
    if (json)
        print_json(k, n, cr, 2);
    else
        print_table(k, cr, 2);
    return ok ? 0 : 1;
}
