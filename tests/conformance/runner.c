/* The conformance runner: runs upstream's serde JSON programs the way the
 * vectors' driver ran them and compares the result blocks with what
 * upstream fusevm printed (the formats are in FORMAT.md beside the vectors).
 *
 *   runner [-d DIR] [-e EXPECTED] [-k KNOWN] [-o OUT] [-j JOBS] [-t SECONDS]
 *          [-v] [PATH...]
 *
 * PATHs are .json files or directories of them (default DIR/programs; DIR
 * defaults to $FUSEVM_CONFORMANCE_DIR or tests/conformance/vectors).
 * EXPECTED defaults to DIR/expected.txt; KNOWN lists deliberate differences
 * ("NAME reason" per line). OUT receives every block we produced. Each
 * program runs in its own forked child with a time limit, so a crash or a
 * hang becomes a `crash` or `timeout` block. The exit status is 0 when
 * every program not listed in KNOWN matches. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fusevm.h>

#include "../../tools/json_chunk.h"
#include "numfmt.h"
#include "util.h"

#if defined(__SANITIZE_ADDRESS__)
#define RUNNER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RUNNER_ASAN 1
#endif
#endif

/* Quoted text longer than this is cut to its first QUOTE_KEEP bytes and a
 * length and FNV-1a hash. */
#define QUOTE_MAX 512
#define QUOTE_KEEP 256
/* A child may use this much address space, so one runaway program cannot
 * take the machine down (not under ASan, which reserves far more). */
#define CHILD_MEMORY_LIMIT (4ull << 30)

/* ------------------------------------------------------------------------
 * The result block
 * ------------------------------------------------------------------------ */

static void put_quoted(fvm_buf *b, const char *s, size_t n)
{
    size_t shown = n > QUOTE_MAX ? QUOTE_KEEP : n;
    fvm_buf_putc(b, '"');
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == '"') {
            fvm_buf_putc(b, '\\');
            fvm_buf_putc(b, (char)c);
        } else if (c == '\n') {
            fvm_buf_puts(b, "\\n");
        } else if (c == '\t') {
            fvm_buf_puts(b, "\\t");
        } else if (c == '\r') {
            fvm_buf_puts(b, "\\r");
        } else if (c >= 0x20 && c <= 0x7e) {
            fvm_buf_putc(b, (char)c);
        } else {
            fvm_buf_printf(b, "\\x%02x", c);
        }
    }
    fvm_buf_putc(b, '"');
    if (shown < n)
        fvm_buf_printf(b, "...(len=%zu,fnv1a64=%016llx)", n,
                       (unsigned long long)fvm_fnv1a64(FVM_FNV64_INIT, s, n));
}

static void put_value(fvm_buf *b, fvm_value v);

typedef struct hash_item {
    const char *key;
    size_t klen;
    fvm_value val;
} hash_item;

static int hash_item_cmp(const void *pa, const void *pb)
{
    const hash_item *a = pa, *b = pb;
    int c = memcmp(a->key, b->key, a->klen < b->klen ? a->klen : b->klen);
    if (c)
        return c;
    return (a->klen > b->klen) - (a->klen < b->klen);
}

/* Keys sorted by their bytes, so the text does not depend on insertion order. */
static void put_hash(fvm_buf *b, fvm_value h)
{
    size_t n = fvm_hash_count(h);
    hash_item *items = fvm_xcalloc(n ? n : 1, sizeof *items);
    size_t got = 0;
    while (got < n && fvm_hash_entry(h, got, &items[got].key, &items[got].klen, &items[got].val))
        got++;
    qsort(items, got, sizeof *items, hash_item_cmp);
    fvm_buf_printf(b, "hash[%zu]:{", n);
    for (size_t i = 0; i < got; i++) {
        if (i)
            fvm_buf_putc(b, ',');
        put_quoted(b, items[i].key, items[i].klen);
        fvm_buf_putc(b, ':');
        put_value(b, items[i].val);
    }
    fvm_buf_putc(b, '}');
    free(items);
}

static void put_value(fvm_buf *b, fvm_value v)
{
    switch ((fvm_type)v.type) {
    case FVM_T_UNDEF: fvm_buf_puts(b, "undef"); break;
    case FVM_T_BOOL: fvm_buf_puts(b, v.as.b ? "bool:true" : "bool:false"); break;
    case FVM_T_INT: fvm_buf_printf(b, "int:%lld", (long long)v.as.i); break;
    case FVM_T_FLOAT: {
        uint64_t bits;
        memcpy(&bits, &v.as.f, sizeof bits);
        char text[FVM_FLOAT_TEXT_MAX];
        fvm_format_float(v.as.f, text, sizeof text);
        fvm_buf_printf(b, "float:%016llx:%s", (unsigned long long)bits, text);
        break;
    }
    case FVM_T_STR: {
        size_t n;
        const char *s = fvm_str_bytes(v, &n);
        fvm_buf_puts(b, "str:");
        put_quoted(b, s, n);
        break;
    }
    case FVM_T_ARRAY:
        fvm_buf_printf(b, "array[%zu]:[", fvm_array_len(v));
        for (size_t i = 0; i < fvm_array_len(v); i++) {
            if (i)
                fvm_buf_putc(b, ',');
            put_value(b, fvm_array_at(v, i));
        }
        fvm_buf_putc(b, ']');
        break;
    case FVM_T_HASH: put_hash(b, v); break;
    case FVM_T_STATUS: fvm_buf_printf(b, "status:%d", (int)v.as.status); break;
    case FVM_T_REF:
        fvm_buf_puts(b, "ref:(");
        put_value(b, fvm_ref_get(v));
        fvm_buf_putc(b, ')');
        break;
    case FVM_T_NATIVEFN: fvm_buf_printf(b, "nativefn:%u", (unsigned)v.as.fn); break;
    case FVM_T_OBJ: fvm_buf_printf(b, "obj:%lu", (unsigned long)v.as.obj); break;
    }
}

/* The block of a program that produced no VM state. */
static void put_stateless_block(fvm_buf *b, const char *name, const char *status,
                                const char *error, const char *output)
{
    fvm_buf_printf(b, "program %s\nstatus %s\nresult -\nerror ", name, status);
    put_quoted(b, error, strlen(error));
    fvm_buf_puts(b, "\noutput ");
    if (output)
        put_quoted(b, output, strlen(output));
    else
        fvm_buf_putc(b, '-');
    fvm_buf_puts(b, "\nstack -\nglobals -\nframes -\nlast_status -\nawk_signal -\nend\n");
}

/* stack, globals, frames, last_status and awk_signal of a VM after its run. */
static void put_vm_state(fvm_buf *b, const fvm_vm *vm)
{
    size_t depth = fvm_vm_stack_depth(vm);
    fvm_buf_printf(b, "stack %zu", depth);
    for (size_t i = 0; i < depth; i++) {
        fvm_buf_putc(b, ' ');
        put_value(b, fvm_vm_stack_at(vm, i));
    }
    size_t nglobals = fvm_vm_global_count(vm);
    fvm_buf_printf(b, "\nglobals %zu", nglobals);
    for (size_t i = 0; i < nglobals; i++) {
        fvm_buf_putc(b, ' ');
        put_value(b, fvm_vm_global(vm, i));
    }
    size_t nframes = fvm_vm_frame_count(vm);
    fvm_buf_printf(b, "\nframes %zu", nframes);
    for (size_t f = 0; f < nframes; f++) {
        size_t nslots = fvm_vm_frame_slot_count(vm, f);
        fvm_buf_printf(b, " | %zu", nslots);
        for (size_t s = 0; s < nslots; s++) {
            fvm_buf_putc(b, ' ');
            put_value(b, fvm_vm_frame_slot(vm, f, s));
        }
    }
    fvm_buf_printf(b, "\nlast_status %d\nawk_signal ", (int)fvm_vm_last_status(vm));
    if (fvm_vm_awk_signal(vm) < 0)
        fvm_buf_putc(b, '-');
    else
        fvm_buf_printf(b, "%d", fvm_vm_awk_signal(vm));
    fvm_buf_puts(b, "\nend\n");
}

/* ------------------------------------------------------------------------
 * Running one program (in the child)
 * ------------------------------------------------------------------------ */

static void capture_output(void *ud, const char *bytes, size_t len)
{
    fvm_buf_put(ud, bytes, len);
}

/* ReadLine sees these lines, then end of input. */
static bool supply_input(void *ud, const char **line, size_t *len)
{
    static const char *const lines[] = {"alpha", "42", " 3.5 ", ""};
    size_t *next = ud;
    if (*next >= sizeof lines / sizeof lines[0])
        return false;
    *line = lines[*next];
    *len = strlen(lines[(*next)++]);
    return true;
}

static char *read_whole_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fvm_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fvm_buf_put(&b, chunk, n);
    fclose(f);
    *len = b.len;
    fvm_buf_putc(&b, 0);
    return b.data;
}

/* With -m block, every VM runs with a JIT context attached whose block
 * tier compiles each region on its first entry (disk cache off), so the
 * programs check native code against the same expected blocks. With
 * -m trace, the tracing tier records every loop on the first back-edge to
 * its header and every side exit on its first exit, and with -m auto both
 * tiers run. */
static unsigned vm_tiers; /* fvm_jit_param VM_TIERS bits; 0: no JIT */

/* A fresh VM (with a fresh JIT context under -m block, trace or auto), the two hooks, one
 * run. */
static void run_program(fvm_buf *out, const char *name, const char *path)
{
    size_t len;
    char *text = read_whole_file(path, &len);
    char err[512];
    if (!text)
        snprintf(err, sizeof err, "cannot read %s: %s", path, strerror(errno));
    fvm_chunk *chunk = text ? fvm_json_import(text, len, err, sizeof err) : NULL;
    free(text);
    if (!chunk) {
        put_stateless_block(out, name, "badinput", err, "");
        return;
    }
    fvm_vm *vm = fvm_vm_new(chunk);
    fvm_jit *jit = NULL;
    if (vm_tiers && (jit = fvm_jit_new()) != NULL) {
        fvm_jit_set_cache_dir(jit, FVM_JIT_CACHE_OFF);
        fvm_jit_set_param(jit, FVM_JIT_PARAM_BLOCK_THRESHOLD, 0);
        fvm_jit_set_param(jit, FVM_JIT_PARAM_TRACE_THRESHOLD, 0);
        fvm_jit_set_param(jit, FVM_JIT_PARAM_VM_TIERS, vm_tiers);
        fvm_vm_set_jit(vm, jit);
    }
    fvm_buf output = {0};
    size_t next_line = 0;
    fvm_vm_set_output(vm, capture_output, &output);
    fvm_vm_set_input(vm, supply_input, &next_line);
    /* Upstream ran these programs with no builtins or extension handlers
     * and printed what its silent no-ops left behind. */
    fvm_vm_ignore_missing_handlers(vm, true);
    fvm_result r = fvm_vm_run(vm);
    static const char *const status[] = {"ok", "halted", "error"};
    fvm_buf_printf(out, "program %s\nstatus %s\nresult ", name, status[r.status]);
    if (r.status == FVM_RUN_OK)
        put_value(out, r.value);
    else
        fvm_buf_putc(out, '-');
    fvm_value_drop(r.value);
    fvm_buf_puts(out, "\nerror ");
    if (r.status == FVM_RUN_ERROR)
        put_quoted(out, fvm_vm_error(vm), strlen(fvm_vm_error(vm)));
    else
        fvm_buf_putc(out, '-');
    fvm_buf_puts(out, "\noutput ");
    put_quoted(out, output.data ? output.data : "", output.len);
    fvm_buf_putc(out, '\n');
    put_vm_state(out, vm);
    fvm_buf_free(&output);
    fvm_vm_free(vm);
    fvm_jit_free(jit);
    fvm_chunk_free(chunk);
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* The child: its own process group (so a timeout kills whatever it
 * spawned), quiet standard streams (Exec ops run programs), the block
 * written to fd. */
static _Noreturn void child_main(int fd, const char *name, const char *path, bool verbose)
{
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
        if (!verbose)
            dup2(devnull, 2);
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
#ifndef RUNNER_ASAN
    struct rlimit lim = {CHILD_MEMORY_LIMIT, CHILD_MEMORY_LIMIT};
    setrlimit(RLIMIT_AS, &lim);
#endif
    fvm_buf block = {0};
    run_program(&block, name, path);
    write_all(fd, block.data, block.len);
    _exit(0);
}

/* ------------------------------------------------------------------------
 * The job pool (in the parent)
 * ------------------------------------------------------------------------ */

typedef struct program {
    char *name;
    char *path;
    char *block; /* what we produced */
} program;

typedef struct job {
    pid_t pid;
    int fd;
    size_t prog;
    double deadline;
    fvm_buf out;
} job;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool start_job(job *j, program *p, size_t idx, double timeout, bool verbose)
{
    int fds[2];
    if (pipe(fds) < 0)
        return false;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return false;
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(fds[1], p->name, p->path, verbose);
    }
    setpgid(pid, pid); /* also here, so the group exists before any kill */
    close(fds[1]);
    memset(&j->out, 0, sizeof j->out);
    j->pid = pid;
    j->fd = fds[0];
    j->prog = idx;
    j->deadline = now_seconds() + timeout;
    return true;
}

/* Reap the child and turn what it wrote (or how it died) into a block. */
static void finish_job(job *j, program *p, bool timed_out, double timeout)
{
    int status = 0;
    kill(-j->pid, SIGKILL); /* the child is done: take anything it left running too */
    while (waitpid(j->pid, &status, 0) < 0 && errno == EINTR)
        ;
    close(j->fd);
    fvm_buf block = {0};
    char why[128];
    bool complete = j->out.len >= 4 && memcmp(j->out.data + j->out.len - 4, "end\n", 4) == 0;
    if (timed_out) {
        snprintf(why, sizeof why, "no result after %g s", timeout);
        put_stateless_block(&block, p->name, "timeout", why, NULL);
    } else if (WIFSIGNALED(status)) {
        snprintf(why, sizeof why, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
        put_stateless_block(&block, p->name, "crash", why, NULL);
    } else if (!complete || WEXITSTATUS(status) != 0) {
        snprintf(why, sizeof why, "exited with status %d before writing its result", WEXITSTATUS(status));
        put_stateless_block(&block, p->name, "crash", why, NULL);
    } else {
        fvm_buf_put(&block, j->out.data, j->out.len);
    }
    fvm_buf_putc(&block, 0);
    p->block = block.data;
    fvm_buf_free(&j->out);
    j->pid = 0;
}

static void run_all(program *progs, size_t n, unsigned jobs, double timeout, bool verbose)
{
    job *pool = fvm_xcalloc(jobs, sizeof *pool);
    struct pollfd *pfd = fvm_xcalloc(jobs, sizeof *pfd);
    size_t next = 0, running = 0;
    while (next < n || running) {
        for (unsigned k = 0; k < jobs && next < n; k++) {
            if (pool[k].pid)
                continue;
            if (!start_job(&pool[k], &progs[next], next, timeout, verbose)) {
                perror("runner: cannot start a child");
                exit(2);
            }
            next++;
            running++;
        }
        double t = now_seconds(), soonest = t + timeout;
        for (unsigned k = 0; k < jobs; k++) {
            pfd[k].fd = pool[k].pid ? pool[k].fd : -1;
            pfd[k].events = POLLIN;
            if (pool[k].pid && pool[k].deadline < soonest)
                soonest = pool[k].deadline;
        }
        int wait_ms = soonest > t ? (int)((soonest - t) * 1000) + 1 : 0;
        if (poll(pfd, jobs, wait_ms) < 0 && errno != EINTR) {
            perror("runner: poll");
            exit(2);
        }
        t = now_seconds();
        for (unsigned k = 0; k < jobs; k++) {
            job *j = &pool[k];
            if (!j->pid)
                continue;
            if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) {
                char chunk[65536];
                ssize_t got = read(j->fd, chunk, sizeof chunk);
                if (got > 0) {
                    fvm_buf_put(&j->out, chunk, (size_t)got);
                    continue;
                }
                if (got < 0 && errno == EINTR)
                    continue;
                finish_job(j, &progs[j->prog], false, timeout);
                running--;
            } else if (t >= j->deadline) {
                finish_job(j, &progs[j->prog], true, timeout);
                running--;
            }
        }
    }
    free(pfd);
    free(pool);
}

/* ------------------------------------------------------------------------
 * Programs, expectations, comparison
 * ------------------------------------------------------------------------ */

typedef struct program_list {
    program *items;
    size_t len, cap;
} program_list;

static void add_program(program_list *l, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".json") == 0)
        n -= 5;
    void *items = l->items;
    fvm_grow(&items, &l->cap, l->len + 1, sizeof(program));
    l->items = items;
    l->items[l->len++] = (program){strndup(base, n), strdup(path), NULL};
}

static void add_path(program_list *l, const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            size_t n = strlen(e->d_name);
            if (n > 5 && strcmp(e->d_name + n - 5, ".json") == 0) {
                char full[4096];
                snprintf(full, sizeof full, "%s/%s", path, e->d_name);
                add_program(l, full);
            }
        }
        if (d)
            closedir(d);
    } else {
        add_program(l, path);
    }
}

static int program_cmp(const void *a, const void *b)
{
    return strcmp(((const program *)a)->name, ((const program *)b)->name);
}

/* expected.txt split into blocks, sorted by program name. */
typedef struct expectation {
    char name[64];
    const char *block;
    size_t len;
} expectation;

static int expectation_cmp(const void *a, const void *b)
{
    return strcmp(((const expectation *)a)->name, ((const expectation *)b)->name);
}

static expectation *index_expected(const char *text, size_t *n)
{
    expectation *items = NULL;
    size_t cap = 0;
    *n = 0;
    for (const char *p = text; p && *p;) {
        const char *eol = strchr(p, '\n');
        const char *end = strstr(p, "\nend\n");
        if (!eol || !end || strncmp(p, "program ", 8) != 0)
            break;
        void *grown = items;
        fvm_grow(&grown, &cap, *n + 1, sizeof *items);
        items = grown;
        expectation *e = &items[(*n)++];
        snprintf(e->name, sizeof e->name, "%.*s", (int)(eol - p - 8), p + 8);
        e->block = p;
        e->len = (size_t)(end - p) + 5;
        p = end + 5;
    }
    qsort(items, *n, sizeof *items, expectation_cmp);
    return items;
}

static const expectation *find_expected(const expectation *items, size_t n, const char *name)
{
    expectation key;
    snprintf(key.name, sizeof key.name, "%s", name);
    return n ? bsearch(&key, items, n, sizeof *items, expectation_cmp) : NULL;
}

/* Does the known-differences text list name (as the first word of a line)? */
static bool is_known(const char *known, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = known; p && *p;) {
        if (strncmp(p, name, n) == 0 && (p[n] == ' ' || p[n] == '\t' || p[n] == '\n' || !p[n]))
            return true;
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return false;
}

/* The first word of a line ("stack", "output", ...). */
static int key_len(const char *line, size_t n)
{
    size_t k = 0;
    while (k < n && line[k] != ' ')
        k++;
    return (int)k;
}

/* Show one line around column col, at most 200 characters of it. */
static void show_line(const char *label, const char *line, size_t n, size_t col)
{
    size_t from = col > 80 ? col - 80 : 0, to = n - from > 200 ? from + 200 : n;
    printf("    %s %s%.*s%s\n", label, from ? "..." : "", (int)(to - from), line + from,
           to < n ? "..." : "");
}

/* Compare line by line; print the first difference (every one with
 * verbose) and return the key of the first differing line, or NULL. */
static const char *compare_blocks(const char *name, const char *want, size_t wlen, const char *got,
                                  bool verbose, char *key, size_t keylen)
{
    const char *w = want, *g = got, *wend = want + wlen, *gend = got + strlen(got);
    bool differs = false;
    while (w < wend || g < gend) {
        const char *wn = memchr(w, '\n', (size_t)(wend - w)), *gn = memchr(g, '\n', (size_t)(gend - g));
        size_t wl = wn ? (size_t)(wn - w) : (size_t)(wend - w), gl = gn ? (size_t)(gn - g) : (size_t)(gend - g);
        if (wl != gl || memcmp(w, g, wl) != 0) {
            size_t col = 0;
            while (col < wl && col < gl && w[col] == g[col])
                col++;
            if (!differs) {
                snprintf(key, keylen, "%.*s", key_len(w, wl), w);
                printf("FAIL %s: %s differs\n", name, key);
            }
            show_line("expected:", w, wl, col);
            show_line("got:     ", g, gl, col);
            differs = true;
            if (!verbose)
                break;
        }
        w = wn ? wn + 1 : wend;
        g = gn ? gn + 1 : gend;
    }
    return differs ? key : NULL;
}

/* Tally of failures by the key of their first differing line. */
typedef struct tally {
    char key[32];
    size_t count;
} tally;

static void count_key(tally *t, size_t *n, const char *key)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(t[i].key, key) == 0) {
            t[i].count++;
            return;
        }
    }
    if (*n < 16) {
        snprintf(t[*n].key, sizeof t[*n].key, "%s", key);
        t[(*n)++].count = 1;
    }
}

typedef struct options {
    const char *dir, *expected, *known, *out;
    unsigned jobs;
    double timeout;
    bool verbose;
} options;

/* Compare every program's block; returns the number of unexpected failures. */
static size_t report(program *progs, size_t n, const char *expected, const char *known, bool verbose)
{
    size_t passed = 0, failed = 0, known_failed = 0, ntally = 0, nexp = 0;
    tally tallies[16];
    expectation *blocks = expected ? index_expected(expected, &nexp) : NULL;
    for (size_t i = 0; i < n; i++) {
        const expectation *want = find_expected(blocks, nexp, progs[i].name);
        char keybuf[32];
        const char *key;
        if (!want) {
            printf("FAIL %s: no expected block\n", progs[i].name);
            key = "missing";
        } else {
            key = compare_blocks(progs[i].name, want->block, want->len, progs[i].block, verbose, keybuf,
                                 sizeof keybuf);
        }
        if (!key) {
            passed++;
            if (is_known(known, progs[i].name))
                printf("NOTE %s: listed as a known difference but matches\n", progs[i].name);
        } else if (is_known(known, progs[i].name)) {
            known_failed++;
        } else {
            failed++;
            count_key(tallies, &ntally, key);
        }
    }
    if (ntally) {
        printf("failures by first differing line:");
        for (size_t i = 0; i < ntally; i++)
            printf(" %s %zu%s", tallies[i].key, tallies[i].count, i + 1 < ntally ? "," : "\n");
    }
    free(blocks);
    printf("%zu passed, %zu failed", passed, failed);
    if (known_failed)
        printf(", %zu known differences", known_failed);
    printf("\n");
    return failed;
}

static void usage(void)
{
    fprintf(stderr, "usage: runner [-d DIR] [-e EXPECTED] [-k KNOWN] [-o OUT] [-j JOBS] "
                    "[-t SECONDS] [-m off|block|trace|auto] [-v] [PATH...]\n");
    exit(2);
}

static options parse_options(int argc, char **argv)
{
    options o = {getenv("FUSEVM_CONFORMANCE_DIR"), NULL, NULL, NULL, 2, 5.0, false};
    if (!o.dir)
        o.dir = "tests/conformance/vectors";
    int c;
    while ((c = getopt(argc, argv, "d:e:k:o:j:t:m:v")) != -1) {
        switch (c) {
        case 'd': o.dir = optarg; break;
        case 'e': o.expected = optarg; break;
        case 'k': o.known = optarg; break;
        case 'o': o.out = optarg; break;
        case 'j': o.jobs = (unsigned)atoi(optarg); break;
        case 't': o.timeout = atof(optarg); break;
        case 'v': o.verbose = true; break;
        case 'm':
            if (strcmp(optarg, "off") == 0)
                vm_tiers = 0;
            else if (strcmp(optarg, "block") == 0)
                vm_tiers = 1u << FVM_JIT_BLOCK;
            else if (strcmp(optarg, "trace") == 0)
                vm_tiers = 1u << FVM_JIT_TRACE;
            else if (strcmp(optarg, "auto") == 0)
                vm_tiers = 1u << FVM_JIT_BLOCK | 1u << FVM_JIT_TRACE;
            else
                usage();
            break;
        default: usage();
        }
    }
    if (o.jobs < 1 || o.jobs > 64 || !(o.timeout > 0))
        usage();
    return o;
}

static void write_blocks(const char *path, const program *progs, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(2);
    }
    for (size_t i = 0; i < n; i++)
        fputs(progs[i].block, f);
    fclose(f);
}

int main(int argc, char **argv)
{
    options o = parse_options(argc, argv);
    program_list list = {0};
    char path[4096];
    if (optind < argc) {
        for (int i = optind; i < argc; i++)
            add_path(&list, argv[i]);
    } else {
        snprintf(path, sizeof path, "%s/programs", o.dir);
        struct stat st;
        if (stat(path, &st) != 0) {
            printf("conformance: SKIPPED (no programs at %s; set FUSEVM_CONFORMANCE_DIR or -d)\n", path);
            return 0;
        }
        add_path(&list, path);
    }
    if (!list.len) {
        fprintf(stderr, "runner: no programs\n");
        return 2;
    }
    qsort(list.items, list.len, sizeof *list.items, program_cmp);
    if (!o.expected) {
        snprintf(path, sizeof path, "%s/expected.txt", o.dir);
        o.expected = path;
    }
    size_t ignored;
    char *expected = read_whole_file(o.expected, &ignored);
    if (!expected)
        fprintf(stderr, "runner: cannot read %s: every program will fail\n", o.expected);
    char *known = o.known ? read_whole_file(o.known, &ignored) : NULL;
    double t0 = now_seconds();
    run_all(list.items, list.len, o.jobs, o.timeout, o.verbose);
    if (o.out)
        write_blocks(o.out, list.items, list.len);
    size_t failed = report(list.items, list.len, expected, known, o.verbose);
    printf("(%zu programs in %.1f s)\n", list.len, now_seconds() - t0);
    for (size_t i = 0; i < list.len; i++) {
        free(list.items[i].name);
        free(list.items[i].path);
        free(list.items[i].block);
    }
    free(list.items);
    free(expected);
    free(known);
    return failed ? 1 : 0;
}
