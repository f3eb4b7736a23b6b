/* The linear JIT tier on upstream's jit_vs_interp kernels (SPEC §9.2), each
 * run for slot0 = 0..N-1 three ways: the interpreter (a VM reset per call,
 * slot0 set through the API), the linear tier (fvm_jit_try_run_linear, code
 * cached after the first call) and the same computation in C. The three
 * checksums must agree. Also the linear tier's compile time for chunks of 20
 * and 1,000 ops, taken from the JIT context's counters (code generation plus
 * making the code executable).
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

static void run_kernel(int which, long n, fvm_jit *jit)
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

    bool ok = native == n && sum_i == sum_j && sum_j == sum_c;
    printf("%-13s %6.1f ns %8.1f ns %8.1f ns   %5.2fx C   %6.1fx faster than interp   %s\n",
           k->name, (t3 - t2) / n * 1e9, (t2 - t1) / n * 1e9, (t1 - t0) / n * 1e9,
           (t2 - t1) / (t3 - t2), (t1 - t0) / (t2 - t1), ok ? "checksums agree" : "MISMATCH");
    if (!ok)
        exit(1);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}

/* Compile time of a chain of `ops` ops (GetSlot 0 then LoadInt/Add pairs
 * with varying constants so nothing folds into one constant), each compile
 * in a fresh context; the median of `times` compiles. */
static void compile_time(int ops, int times)
{
    double *ns = malloc(sizeof(double) * (size_t)times);
    for (int t = 0; t < times; t++) {
        fvm_builder *b = fvm_builder_new();
        fvm_emit(b, FVM_GET_SLOT(0), 1);
        for (int i = 1; i + 1 < ops; i += 2) {
            fvm_emit(b, FVM_LOAD_INT(i * 7 + t), 1);
            fvm_emit(b, (i / 2) % 2 ? FVM_MUL() : FVM_BIT_XOR(), 1);
        }
        fvm_chunk *c = fvm_build(b);
        fvm_builder_free(b);
        fvm_jit *j = fvm_jit_new();
        fvm_value slot = fvm_int(3), out;
        fvm_jit_try_run_linear(j, c, &slot, 1, &out);
        fvm_jit_counters k;
        fvm_jit_stats(j, &k);
        ns[t] = (double)k.compile_ns;
        fvm_jit_free(j);
        fvm_chunk_free(c);
    }
    for (int a = 0; a < times; a++) /* insertion sort for the median */
        for (int b = a; b > 0 && ns[b - 1] > ns[b]; b--) {
            double x = ns[b];
            ns[b] = ns[b - 1];
            ns[b - 1] = x;
        }
    printf("compile %4d ops: %8.1f us (%.0f ns per op), code generation and mprotect\n", ops,
           ns[times / 2] / 1e3, ns[times / 2] / ops);
    free(ns);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    fvm_jit *jit = fvm_jit_new();
    printf("kernel        C/call    linear/call  interp/call\n");
    for (int k = 0; k < 4; k++)
        run_kernel(k, n, jit);
    fvm_jit_free(jit);
    compile_time(20, 51);
    compile_time(1000, 21);
    return 0;
}
