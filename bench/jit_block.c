/* The block JIT tier's compile latency and its disk cache, on the unfused
 * sum loop of bench/sum_loop.fasm built as a chunk (LoadInt/SetSlot to
 * start, then GetSlot 0; GetSlot 1; Add; SetSlot 0; PreIncSlotVoid 1;
 * SlotLtIntJumpIfFalse 1 LIMIT; Jump; and GetSlot 0 as the result). Each
 * measured chunk has its own loop limit, so its own op_hash: every figure is
 * a real compile, never a hit in the context's code cache. The limit is at
 * most a few thousand, so each run is short, but the time is the context's
 * compile_ns counter around one fvm_jit_try_run_block_eager call, which
 * covers the compile alone:
 *
 *   memory  a context with the disk cache off: code generation plus making
 *           the code executable;
 *   store   a context whose cache is a fresh private directory: the same,
 *           plus writing the code to a file (inside the compile);
 *   load    a second context on that directory running the same chunks:
 *           the compile is answered from the file (open, read, verify, map,
 *           patch, protect).
 *   calls   no JIT: the system calls of a load alone, on the blobs the
 *           loads just read: open (O_NOATIME), fstat, read, close, then a
 *           pwrite of the bytes into a memory file mapped read+execute.
 *           A system call costs about a microsecond on the development VM
 *           and that cost drifts with the host, so this is the floor that
 *           says how much of the load is the kernel in that run.
 *   fs      no JIT: the file operations of a store alone, in the same
 *           directory right after the stores: create a temporary, write a
 *           blob's bytes, close, rename into place. How long a file takes
 *           to create depends on the file system's recent history (ext4
 *           without a journal, as on the development VM, skips inodes
 *           freed in the last minutes, one by one), so this is the
 *           baseline that says how much of the store is the file system.
 *
 * Each is taken in steady state (one context, one chunk after another,
 * after a first chunk has mapped its code memory) and as the first compile
 * of a fresh context (which also maps and pre-faults code memory, and for
 * the store scans the directory), as the median and minimum over COMPILES
 * chunks. Every run's result must be the loop's sum and the counters must
 * show one compile with the expected disk load or store, or the harness
 * fails (exit status 1).
 *
 *   jit_block [COMPILES] [--runs N] [--json]
 *
 * COMPILES defaults to 201; --runs measures everything N times (default
 * 1); --json prints one JSON object per run, one per line, for
 * bench/run.py, instead of a table per run. Each run's directory is made
 * with mkdtemp (mode 0700) under $TMPDIR or /tmp, and all are removed at
 * the end, on failure too: not between runs, because on a file system
 * without a journal ext4 skips inodes freed in the last minute or more
 * when it creates a file, which made every store after a run's cleanup
 * 10-20 us slower than the same store on a quiet file system.
 *
 *   make bench-jit            (built with -O2 against build/libfusevm.a)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fusevm.h"

/* The targets, in nanoseconds, for the steady-state medians. */
#define TARGET_MEMORY_NS 15000.0
#define TARGET_LOAD_NS 10000.0
#define TARGET_STORE_NS 40000.0

/* Loop limits: the warm-up chunk, then LIMIT_BASE + i and, for the fresh
 * contexts on the disk cache, LIMIT_FRESH + i (files the steady-state
 * passes did not write). */
#define LIMIT_WARM 999
#define LIMIT_BASE 1000
#define LIMIT_FRESH 5000

static fvm_chunk *sum_loop(int32_t limit)
{
    fvm_builder *b = fvm_builder_new();
    fvm_emit(b, FVM_LOAD_INT(0), 1);
    fvm_emit(b, FVM_SET_SLOT(0), 1);
    fvm_emit(b, FVM_LOAD_INT(0), 1);
    fvm_emit(b, FVM_SET_SLOT(1), 1);
    size_t body = fvm_emit(b, FVM_GET_SLOT(0), 2);
    fvm_emit(b, FVM_GET_SLOT(1), 2);
    fvm_emit(b, FVM_ADD(), 2);
    fvm_emit(b, FVM_SET_SLOT(0), 2);
    fvm_emit(b, FVM_PRE_INC_SLOT_VOID(1), 3);
    /* The exit target is the GetSlot after this op and the Jump. */
    size_t done = fvm_current_pos(b) + 2;
    fvm_emit(b, FVM_SLOT_LT_INT_JUMP_IF_FALSE(1, limit, (uint32_t)done), 3);
    fvm_emit(b, FVM_JUMP((uint32_t)body), 3);
    fvm_emit(b, FVM_GET_SLOT(0), 4);
    fvm_chunk *c = fvm_build(b);
    if (!c) {
        fprintf(stderr, "jit_block: building the sum loop failed: %s\n", fvm_builder_error(b));
        exit(1);
    }
    fvm_builder_free(b);
    return c;
}

typedef enum expect_disk { DISK_NONE, DISK_STORE, DISK_LOAD } expect_disk;

static const char *const disk_what[] = {"compile", "compile and store", "load"};

/* Run the sum loop with this limit through the block tier, compiling it
 * (or loading it) on this call; the nanoseconds the context counted.
 * Exits when the result is wrong or the counters do not show exactly one
 * compile with the expected disk traffic. */
static double compile_ns(fvm_jit *j, int32_t limit, expect_disk disk)
{
    fvm_chunk *c = sum_loop(limit);
    fvm_jit_counters before, after;
    fvm_value slots[2] = {fvm_int(0), fvm_int(0)}, out = fvm_undef();
    fvm_jit_stats(j, &before);
    fvm_jit_status st = fvm_jit_try_run_block_eager(j, c, slots, 2, &out);
    fvm_jit_stats(j, &after);
    fvm_chunk_free(c);
    int64_t want = (int64_t)limit * (limit - 1) / 2;
    const char *why = NULL;
    if (st != FVM_JIT_OK)
        why = fvm_jit_last_failure(j) ? fvm_jit_last_failure(j) : "the block tier declined";
    else if (out.type != FVM_T_INT || out.as.i != want)
        why = "wrong result";
    else if (after.compiles - before.compiles != 1)
        why = "not exactly one compile";
    else if (after.disk_stores - before.disk_stores != (disk == DISK_STORE))
        why = disk == DISK_STORE ? "the code was not stored" : "unexpected disk store";
    else if (after.disk_loads - before.disk_loads != (disk == DISK_LOAD))
        why = disk == DISK_LOAD ? "the code was not loaded from the disk cache"
                                : "unexpected disk load";
    if (why) {
        fprintf(stderr, "jit_block: %s of the sum loop to %d: %s (expected %lld)\n",
                disk_what[disk], (int)limit, why, (long long)want);
        exit(1);
    }
    return (double)(after.compile_ns - before.compile_ns);
}

static fvm_jit *context(const char *dir)
{
    fvm_jit *j = fvm_jit_new();
    if (!j) {
        fprintf(stderr, "jit_block: out of memory\n");
        exit(1);
    }
    fvm_jit_set_cache_dir(j, dir ? dir : FVM_JIT_CACHE_OFF);
    return j;
}

typedef struct figure {
    double median_ns, min_ns;
} figure;

static int ascending(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static figure summarise(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, ascending);
    return (figure){v[n / 2], v[0]};
}

/* Steady state: one context on dir (NULL: disk cache off), warmed by one
 * chunk, then `times` chunks LIMIT_BASE + i. */
static figure steady(const char *dir, expect_disk disk, double *ns, int times)
{
    fvm_jit *j = context(dir);
    compile_ns(j, LIMIT_WARM, disk);
    for (int t = 0; t < times; t++)
        ns[t] = compile_ns(j, LIMIT_BASE + t, disk);
    fvm_jit_free(j);
    return summarise(ns, times);
}

/* First compiles: chunk base + i in a fresh context each. */
static figure first(const char *dir, expect_disk disk, int32_t base, double *ns, int times)
{
    for (int t = 0; t < times; t++) {
        fvm_jit *j = context(dir);
        ns[t] = compile_ns(j, base + t, disk);
        fvm_jit_free(j);
    }
    return summarise(ns, times);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The size of a *.fjit file in dir (the stores just wrote them all the
 * same size). */
static size_t blob_size(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    struct stat st;
    size_t size = 0;
    while (d && !size && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > 5 && strcmp(e->d_name + n - 5, ".fjit") == 0 &&
            fstatat(dirfd(d), e->d_name, &st, 0) == 0)
            size = (size_t)st.st_size;
    }
    if (d)
        closedir(d);
    if (!size) {
        fprintf(stderr, "jit_block: no blob in %s after the stores\n", dir);
        exit(1);
    }
    return size;
}

/* The fs figure: `times` blob-sized files written as a store writes them
 * (temporary, write, close, rename), named *.fsbase. */
static figure fs_baseline(const char *dir, double *ns, int times)
{
    size_t size = blob_size(dir);
    char *bytes = calloc(1, size);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (!bytes || dfd < 0) {
        fprintf(stderr, "jit_block: cannot set up the file-system baseline\n");
        exit(1);
    }
    for (int t = 0; t < times; t++) {
        char tmp[64], final[64];
        snprintf(tmp, sizeof tmp, "%d.%d.tmp", (int)getpid(), t);
        snprintf(final, sizeof final, "%d.fsbase", t);
        double t0 = now_ns();
        int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
        bool ok = fd >= 0 && write(fd, bytes, size) == (ssize_t)size;
        ok = fd >= 0 && close(fd) == 0 && ok;
        ok = ok && renameat(dfd, tmp, dfd, final) == 0;
        ns[t] = now_ns() - t0;
        if (!ok) {
            perror("jit_block: the file-system baseline");
            exit(1);
        }
    }
    close(dfd);
    free(bytes);
    return summarise(ns, times);
}

/* The calls figure: a load's system calls on up to `times` blobs of dir,
 * each file once, with the code memory's way of making bytes executable. */
static figure syscall_floor(const char *dir, double *ns, int times)
{
    enum { AREA = 1 << 20 };
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    int mfd = memfd_create("jit_block", MFD_CLOEXEC);
    DIR *d = dfd >= 0 ? opendir(dir) : NULL;
    if (!d || mfd < 0 || ftruncate(mfd, AREA) != 0 ||
        mmap(NULL, AREA, PROT_READ | PROT_EXEC, MAP_SHARED, mfd, 0) == MAP_FAILED) {
        fprintf(stderr, "jit_block: cannot set up the system-call floor\n");
        exit(1);
    }
    int n = 0;
    struct dirent *e;
    while (n < times && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || strcmp(e->d_name + len - 5, ".fjit") != 0)
            continue;
        uint8_t buf[4096];
        struct stat st;
        double t0 = now_ns();
        int fd = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOATIME);
        bool ok = fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0 &&
                  (size_t)st.st_size <= sizeof buf && read(fd, buf, (size_t)st.st_size) == st.st_size;
        ok = fd >= 0 && close(fd) == 0 && ok;
        ok = ok && pwrite(mfd, buf, (size_t)st.st_size, (off_t)(n % 1024) * 1024) == st.st_size;
        ns[n++] = now_ns() - t0;
        if (!ok) {
            fprintf(stderr, "jit_block: the system-call floor failed on %s\n", e->d_name);
            exit(1);
        }
    }
    closedir(d);
    close(dfd);
    close(mfd); /* its mapping stays until exit: 1 MiB a run */
    if (n == 0) {
        fprintf(stderr, "jit_block: no blob in %s for the system-call floor\n", dir);
        exit(1);
    }
    return summarise(ns, n);
}

/* Where the cache directory goes: its file system's costs (creating an
 * inode, above all) are part of the store figure. */
static const char *tmp_parent(void)
{
    const char *tmp = getenv("TMPDIR");
    return tmp && *tmp ? tmp : "/tmp";
}

/* A fresh private directory for the disk cache (mkdtemp makes it 0700). */
static char *make_dir(void)
{
    const char *tmp = tmp_parent();
    size_t size = strlen(tmp) + sizeof "/fusevm-jit-block-XXXXXX";
    char *path = malloc(size);
    if (!path) {
        fprintf(stderr, "jit_block: out of memory\n");
        exit(1);
    }
    snprintf(path, size, "%s/fusevm-jit-block-XXXXXX", tmp);
    if (!mkdtemp(path)) {
        perror("jit_block: mkdtemp");
        exit(1);
    }
    return path;
}

/* Empty and remove the directory: the cache's own files through the API,
 * then anything else it may have left (an interrupted write's temporary). */
static bool remove_dir(const char *path)
{
    fvm_jit *j = context(path);
    fvm_jit_clear_cache(j);
    fvm_jit_free(j);
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            size_t size = strlen(path) + strlen(e->d_name) + 2;
            char *file = malloc(size);
            if (file) {
                snprintf(file, size, "%s/%s", path, e->d_name);
                unlink(file);
                free(file);
            }
        }
        closedir(d);
    }
    if (rmdir(path) != 0) {
        perror("jit_block: removing the cache directory");
        return false;
    }
    return true;
}

/* The cache directories made so far, removed at exit, so a failing check
 * (which exits) still removes them. */
#define MAX_RUNS 32
static char *temp_dirs[MAX_RUNS];
static int ntemp_dirs;

static void remove_temp_dirs(void)
{
    for (int i = 0; i < ntemp_dirs; i++) {
        if (!remove_dir(temp_dirs[i]))
            _exit(1);
        free(temp_dirs[i]);
    }
    ntemp_dirs = 0;
}

typedef struct results {
    figure memory_steady, memory_first, store_steady, store_first, load_steady, load_first;
    figure fs, calls;
} results;

static results measure(int times)
{
    double *ns = malloc(sizeof(double) * (size_t)times);
    if (!ns) {
        fprintf(stderr, "jit_block: out of memory\n");
        exit(1);
    }
    results r;
    r.memory_steady = steady(NULL, DISK_NONE, ns, times);
    r.memory_first = first(NULL, DISK_NONE, LIMIT_BASE, ns, times);
    char *dir = temp_dirs[ntemp_dirs++] = make_dir();
    r.store_steady = steady(dir, DISK_STORE, ns, times);
    r.fs = fs_baseline(dir, ns, times);
    r.load_steady = steady(dir, DISK_LOAD, ns, times);
    r.calls = syscall_floor(dir, ns, times);
    r.store_first = first(dir, DISK_STORE, LIMIT_FRESH, ns, times);
    r.load_first = first(dir, DISK_LOAD, LIMIT_FRESH, ns, times);
    free(ns);
    return r;
}

typedef struct row {
    const char *name, *what;
    figure steady, first;
    double target_ns;
} row;

static void rows_of(const results *r, row out[3])
{
    out[0] = (row){"memory", "compile + executable, disk cache off", r->memory_steady,
                   r->memory_first, TARGET_MEMORY_NS};
    out[1] = (row){"store", "compile + executable + write to the disk cache", r->store_steady,
                   r->store_first, TARGET_STORE_NS};
    out[2] = (row){"load", "load from the disk cache (open, read, verify, map, patch, protect)",
                   r->load_steady, r->load_first, TARGET_LOAD_NS};
}

static void print_table(const results *r, int times)
{
    row rows[3];
    rows_of(r, rows);
    printf("block tier compile latency, the unfused sum loop, %d chunks per figure, "
           "microseconds; disk cache under %s\n", times, tmp_parent());
    printf("%-7s %8s %8s %8s %-8s %8s %10s\n", "", "median", "min", "target", "", "first",
           "first min");
    for (int i = 0; i < 3; i++) {
        char target[32];
        snprintf(target, sizeof target, "< %.0f", rows[i].target_ns / 1e3);
        printf("%-7s %8.1f %8.1f %8s %-8s %8.1f %10.1f\n", rows[i].name,
               rows[i].steady.median_ns / 1e3, rows[i].steady.min_ns / 1e3, target,
               rows[i].steady.median_ns < rows[i].target_ns ? "met" : "NOT MET",
               rows[i].first.median_ns / 1e3, rows[i].first.min_ns / 1e3);
    }
    printf("%-7s %8.1f %8.1f\n", "calls", r->calls.median_ns / 1e3, r->calls.min_ns / 1e3);
    printf("%-7s %8.1f %8.1f\n", "fs", r->fs.median_ns / 1e3, r->fs.min_ns / 1e3);
    for (int i = 0; i < 3; i++)
        printf("%s: %s\n", rows[i].name, rows[i].what);
    printf("calls: the system calls of a load alone (open, fstat, read, close, pwrite), no JIT\n");
    printf("fs: the file operations of a store alone (create, write, close, rename), no JIT\n");
    printf("median and min: steady state (one context); first: a fresh context's first "
           "compile\n");
}

static void print_json(const results *r, int times)
{
    row rows[3];
    rows_of(r, rows);
    printf("{\"compiles\": %d, \"tmpdir\": \"", times);
    for (const char *p = tmp_parent(); *p; p++) /* a JSON string */
        printf(*p == '"' || *p == '\\' ? "\\%c" : (unsigned char)*p < 0x20 ? "?" : "%c", *p);
    printf("\"");
    for (int i = 0; i < 3; i++)
        printf(", \"%s\": {\"median_ns\": %.0f, \"min_ns\": %.0f, \"first_median_ns\": %.0f, "
               "\"first_min_ns\": %.0f, \"target_ns\": %.0f}", rows[i].name,
               rows[i].steady.median_ns, rows[i].steady.min_ns, rows[i].first.median_ns,
               rows[i].first.min_ns, rows[i].target_ns);
    printf(", \"calls\": {\"median_ns\": %.0f, \"min_ns\": %.0f}", r->calls.median_ns,
           r->calls.min_ns);
    printf(", \"fs\": {\"median_ns\": %.0f, \"min_ns\": %.0f}}\n", r->fs.median_ns, r->fs.min_ns);
}

int main(int argc, char **argv)
{
    int times = 201, runs = 1, nargs = 0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (nargs++ == 0)
            times = atoi(argv[i]);
        else
            times = 0;
    }
    if (times < 1 || times > LIMIT_FRESH - LIMIT_BASE || runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "usage: jit_block [COMPILES] [--runs N] [--json]  (COMPILES 1..%d, N 1..%d)\n",
                LIMIT_FRESH - LIMIT_BASE, MAX_RUNS);
        return 2;
    }
    if (!fvm_jit_tier_available(FVM_JIT_BLOCK)) {
        fprintf(stderr, "jit_block: this build has no block tier\n");
        return 1;
    }
    atexit(remove_temp_dirs);
    for (int run = 0; run < runs; run++) {
        results r = measure(times);
        if (json)
            print_json(&r, times);
        else
            print_table(&r, times);
        fflush(stdout);
    }
    return 0;
}
