/* The tracing tier's latency: recording plus compiling the trace of a loop
 * whose body is 50 ops, and loading that trace from the disk cache.
 *
 * Each measured chunk is a counted loop of slots and arithmetic with a
 * body of exactly 50 ops (the loop op included) and a constant of its own,
 * so its own op_hash: every figure is a real recording, never a hit in the
 * context's memory. A VM runs it with a context whose VMs use the tracing
 * tier alone (trace_threshold 1: the header is counted once, then the
 * second iteration is recorded and compiled, and the rest runs natively).
 * The time is the context's compile_ns counter, which for a trace covers
 * its recording (the recorded iteration, run by the interpreter op by op
 * through the record hook) and its compile, or its load:
 *
 *   memory  a context with the disk cache off: recording, code
 *           generation, making the code executable;
 *   store   a context whose cache is a fresh private directory: the same,
 *           plus writing the trace to a file;
 *   load    a second context on that directory running the same chunks:
 *           the trace is loaded from the file (open, read, verify, map,
 *           patch, protect) instead of recorded.
 *
 * Figures are medians over COMPILES chunks in one context, after a first
 * chunk has mapped its code memory. Every run's result must be the loop's
 * sum and the counters must show one trace, with the expected disk load
 * or store, or the harness fails (exit status 1).
 *
 *   jit_trace [COMPILES] [--runs N] [--json]
 *
 * COMPILES defaults to 201; --runs repeats everything N times; --json
 * prints one JSON object per run, one per line, for bench/run.py. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fusevm.h>

#define BODY_OPS 50
#define ITERATIONS 20
#define TARGET_RECORD_NS 30000 /* recording plus compiling a 50-op trace */
#define TARGET_LOAD_NS 10000   /* loading it from the disk cache */

/* The chunk for constant k: slot 0 counts, slot 1 accumulates. The body
 * is 7 rounds of 7 ops, then the loop op: 50 ops. */
static fvm_chunk *loop_chunk(int k)
{
    char text[4096];
    int n = snprintf(text, sizeof text,
                     "    LoadInt 0\n    SetSlot 0\n    LoadInt 0\n    SetSlot 1\nloop:\n");
    for (int r = 0; r < 7; r++)
        n += snprintf(text + n, sizeof text - (size_t)n,
                      "    GetSlot 0\n    LoadInt %d\n    Mul\n    GetSlot 1\n    Add\n"
                      "    Dec\n    SetSlot 1\n",
                      k + r + 1);
    snprintf(text + n, sizeof text - (size_t)n,
             "    SlotIncLtIntJumpBack 0 %d loop\n    GetSlot 1\n", ITERATIONS);
    char *err = NULL;
    fvm_chunk *c = fvm_assemble(text, strlen(text), "jit_trace.fasm", &err);
    if (!c) {
        fprintf(stderr, "jit_trace: %s\n", err ? err : "assembly failed");
        exit(1);
    }
    return c;
}

/* What the loop computes: the counter is 0..ITERATIONS-1 in the body. */
static int64_t expected_sum(int k)
{
    int64_t s = 0;
    for (int64_t i = 0; i < ITERATIONS; i++)
        for (int r = 0; r < 7; r++)
            s = s + i * (k + r + 1) - 1;
    return s;
}

static fvm_jit *context(const char *dir)
{
    fvm_jit *j = fvm_jit_new();
    if (!j)
        exit(1);
    fvm_jit_set_cache_dir(j, dir);
    fvm_jit_set_param(j, FVM_JIT_PARAM_VM_TIERS, 1u << FVM_JIT_TRACE);
    fvm_jit_set_param(j, FVM_JIT_PARAM_TRACE_THRESHOLD, 1);
    return j;
}

/* Run chunk k on j; the compile_ns it added, or -1 when the result or the
 * counters are not what they must be. */
static long long measure(fvm_jit *j, int k, uint64_t want_loads, uint64_t want_stores)
{
    fvm_chunk *c = loop_chunk(k);
    fvm_jit_counters a, b;
    fvm_jit_stats(j, &a);
    fvm_vm *vm = fvm_vm_new(c);
    fvm_vm_set_jit(vm, j);
    fvm_result r = fvm_vm_run(vm);
    fvm_jit_stats(j, &b);
    bool ok = r.status == FVM_RUN_OK && r.value.type == FVM_T_INT &&
              r.value.as.i == expected_sum(k) && b.traces - a.traces == 1 &&
              b.disk_loads - a.disk_loads == want_loads &&
              b.disk_stores - a.disk_stores == want_stores;
    if (!ok)
        fprintf(stderr, "jit_trace: chunk %d: status %d, result %lld (want %lld), %llu traces, "
                "%llu loads, %llu stores\n", k, (int)r.status, (long long)r.value.as.i,
                (long long)expected_sum(k), (unsigned long long)(b.traces - a.traces),
                (unsigned long long)(b.disk_loads - a.disk_loads),
                (unsigned long long)(b.disk_stores - a.disk_stores));
    fvm_vm_free(vm);
    fvm_chunk_free(c);
    return ok ? (long long)(b.compile_ns - a.compile_ns) : -1;
}

static int cmp_ll(const void *x, const void *y)
{
    long long a = *(const long long *)x, b = *(const long long *)y;
    return (a > b) - (a < b);
}

/* The median of n figures (sorted in place). */
static long long median(long long *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_ll);
    return v[n / 2];
}

/* Remove the cache directory and the files in it (the cache makes no
 * subdirectories). */
static void rm_dir(const char *dir)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    while (dp && (e = readdir(dp)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlinkat(dirfd(dp), e->d_name, 0);
    if (dp)
        closedir(dp);
    if (rmdir(dir) != 0)
        fprintf(stderr, "jit_trace: could not remove %s\n", dir);
}

static int one_run(int compiles, bool json)
{
    long long *mem = malloc(sizeof(long long) * (size_t)compiles);
    long long *store = malloc(sizeof(long long) * (size_t)compiles);
    long long *load = malloc(sizeof(long long) * (size_t)compiles);
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[512];
    snprintf(dir, sizeof dir, "%s/fusevm-jit-trace-XXXXXX", tmp);
    if (!mem || !store || !load || !mkdtemp(dir)) {
        fprintf(stderr, "jit_trace: out of memory or no temporary directory\n");
        return 1;
    }
    int status = 0;
    fvm_jit *m = context(FVM_JIT_CACHE_OFF), *s = context(dir), *l = context(dir);
    /* One chunk first in each context: it maps the code memory. */
    if (measure(m, -1, 0, 0) < 0 || measure(s, -2, 0, 1) < 0 || measure(l, -2, 1, 0) < 0)
        status = 1;
    for (int i = 0; i < compiles && status == 0; i++) {
        mem[i] = measure(m, i, 0, 0);
        store[i] = measure(s, 100000 + i, 0, 1);
        if (mem[i] < 0 || store[i] < 0)
            status = 1;
    }
    for (int i = 0; i < compiles && status == 0; i++)
        if ((load[i] = measure(l, 100000 + i, 1, 0)) < 0)
            status = 1;
    if (status == 0) {
        long long mm = median(mem, compiles), sm = median(store, compiles),
                  lm = median(load, compiles);
        if (json)
            printf("{\"compiles\": %d, \"body_ops\": %d, \"record_ns\": %lld, \"store_ns\": %lld, "
                   "\"load_ns\": %lld, \"record_target_ns\": %d, \"load_target_ns\": %d}\n",
                   compiles, BODY_OPS, mm, sm, lm, TARGET_RECORD_NS, TARGET_LOAD_NS);
        else
            printf("trace of a %d-op loop body, median of %d: record+compile %.1f us (target %d), "
                   "with a disk store %.1f us, load from disk %.1f us (target %d)\n",
                   BODY_OPS, compiles, mm / 1e3, TARGET_RECORD_NS / 1000, sm / 1e3, lm / 1e3,
                   TARGET_LOAD_NS / 1000);
    }
    fvm_jit_free(m);
    fvm_jit_free(s);
    fvm_jit_free(l);
    rm_dir(dir);
    free(mem);
    free(store);
    free(load);
    return status;
}

int main(int argc, char **argv)
{
    int compiles = 201, runs = 1;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else
            compiles = atoi(argv[i]);
    }
    if (compiles < 1 || runs < 1) {
        fprintf(stderr, "usage: jit_trace [COMPILES] [--runs N] [--json]\n");
        return 2;
    }
    for (int r = 0; r < runs; r++)
        if (one_run(compiles, json) != 0)
            return 1;
    return 0;
}
