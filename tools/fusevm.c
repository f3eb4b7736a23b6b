/* The fusevm command: run, assemble and disassemble programs.
 *
 *   fusevm run [--result] [--jit MODE] [--dump LIST] [--stats] [--max-ops N] [-u] FILE [ARGS...]
 *   fusevm asm FILE -o OUT.fbc
 *   fusevm dis FILE [--annotate]
 *   fusevm cache dir|size|prune|clear
 *
 * Exit status: 0 success, 1 runtime error, 2 usage or input error, 130 a
 * run stopped by SIGINT. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fusevm_cli.h"
#include "json_chunk.h"

/* ------------------------------------------------------------------------
 * Arguments
 * ------------------------------------------------------------------------ */

/* The options, one line each: long name, whether it takes a value, short
 * letter (0: none), and the bit a command sets in command.options to
 * accept it. --help and -h every command accepts. */
enum {
    OPT_RESULT = 1, OPT_STATS = 2, OPT_JIT = 4, OPT_OUT = 8, OPT_ANNOTATE = 16, OPT_DUMP = 32,
    OPT_UNBUFFERED = 64, OPT_MAX_OPS = 128
};

typedef struct cli_option {
    const char *name;
    bool takes_value;
    char short_name;
    unsigned bit;
} cli_option;

static const cli_option cli_options[] = {
    {"result", false, 0, OPT_RESULT},
    {"stats", false, 0, OPT_STATS},
    {"jit", true, 0, OPT_JIT},
    {"dump", true, 0, OPT_DUMP},
    {"unbuffered", false, 'u', OPT_UNBUFFERED},
    {"output", true, 'o', OPT_OUT},
    {"annotate", false, 0, OPT_ANNOTATE},
    {"max-ops", true, 0, OPT_MAX_OPS},
};
#define NOPTIONS (sizeof cli_options / sizeof cli_options[0])
/* getopt_long's value for cli_options[i] without a short letter: past
 * every character. */
#define LONG_ONLY 256

typedef struct cli_args {
    const char *file;
    const char *out; /* -o */
    const char *jit; /* --jit=MODE */
    unsigned dump;   /* --dump=LIST as FVM_JIT_DUMP_* bits */
    int64_t max_ops; /* --max-ops=N; -1: no budget */
    bool result, stats, annotate, unbuffered, help;
    char **prog_args; /* run: what follows FILE, for the program */
    int nprog_args;
} cli_args;

typedef struct command {
    const char *name;
    unsigned options;
    const char *help;
    int (*run)(const cli_args *a);
    const char *operand; /* what the one argument is called; NULL: FILE */
    bool rest_is_program_args; /* options end at FILE; the rest is the program's */
} command;

static int usage_error(const command *cmd, const char *what, const char *arg)
{
    fprintf(stderr, "fusevm %s: %s '%s' (try 'fusevm %s --help')\n", cmd->name, what, arg,
            cmd->name);
    return -1;
}

/* --max-ops N: a decimal count of ops. */
static int parse_max_ops(const char *digits, cli_args *a)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(digits, &end, 10);
    if (*digits < '0' || *digits > '9' || *end || errno || n > INT64_MAX)
        return -1;
    a->max_ops = (int64_t)n;
    return 0;
}

/* Record option i's value (or flag) in a; -1 after a message for a value
 * it refuses (arg is the argument the value came in). */
static int take_option(const command *cmd, size_t i, const char *value, const char *arg, cli_args *a)
{
    switch (cli_options[i].bit) {
    case OPT_RESULT: a->result = true; break;
    case OPT_STATS: a->stats = true; break;
    case OPT_JIT: a->jit = value; break;
    case OPT_DUMP: return fvm_cli_parse_dump(value, &a->dump);
    case OPT_UNBUFFERED: a->unbuffered = true; break;
    case OPT_OUT: a->out = value; break;
    case OPT_ANNOTATE: a->annotate = true; break;
    case OPT_MAX_OPS:
        return parse_max_ops(value, a) < 0 ? usage_error(cmd, "invalid operation count in", arg) : 0;
    }
    return 0;
}

/* The getopt_long tables for cmd's options: optstring starts with '+' for
 * a command whose options end at FILE (and ':' so a missing value is told
 * from an unknown option). */
static void option_tables(const command *cmd, char *optstring, struct option *longopts)
{
    size_t n = 0, k = 0;
    if (cmd->rest_is_program_args)
        optstring[k++] = '+';
    optstring[k++] = ':';
    optstring[k++] = 'h';
    longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    for (size_t i = 0; i < NOPTIONS; i++) {
        const cli_option *o = &cli_options[i];
        if (!(cmd->options & o->bit))
            continue;
        int val = o->short_name ? o->short_name : LONG_ONLY + (int)i;
        longopts[n++] = (struct option){o->name, o->takes_value ? required_argument : no_argument, NULL, val};
        if (o->short_name) {
            optstring[k++] = o->short_name;
            if (o->takes_value)
                optstring[k++] = ':';
        }
    }
    optstring[k] = 0;
    longopts[n] = (struct option){0};
}

static size_t option_index(int val)
{
    if (val >= LONG_ONLY)
        return (size_t)(val - LONG_ONLY);
    for (size_t i = 0; i < NOPTIONS; i++)
        if (cli_options[i].short_name == val)
            return i;
    return NOPTIONS;
}

/* argv[0] is the command's name, as getopt_long expects. */
static int parse_args(const command *cmd, int argc, char **argv, cli_args *a)
{
    char optstring[4 + 2 * NOPTIONS];
    struct option longopts[NOPTIONS + 2];
    option_tables(cmd, optstring, longopts);
    memset(a, 0, sizeof *a);
    a->max_ops = -1;
    opterr = 0; /* the messages below name the command */
    optind = 0; /* a full restart of getopt's state */
    int c, before = 1;
    while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
        /* The argument the option came from: getopt_long stays on it while
         * a group of short options ("-ux") is unfinished, else moves past. */
        const char *arg = optind == before ? argv[optind] : argv[optind - 1];
        before = optind;
        char letter[3] = {'-', (char)optopt, 0};
        bool short_form = arg[0] == '-' && arg[1] != '-';
        if (c == 'h')
            a->help = true;
        else if (c == '?') /* a short option may sit in a group: name it alone */
            return usage_error(cmd, "unknown option", short_form ? letter : arg);
        else if (c == ':')
            return usage_error(cmd, optopt == 'o' ? "missing file name after" : "missing value after",
                               short_form ? letter : arg);
        else if (take_option(cmd, option_index(c), optarg, arg, a) < 0)
            return -1;
    }
    if (optind < argc)
        a->file = argv[optind++];
    if (cmd->rest_is_program_args) {
        a->prog_args = argv + optind;
        a->nprog_args = argc - optind;
    } else if (optind < argc) {
        return usage_error(cmd, "unexpected argument", argv[optind]);
    }
    if (!a->help && !a->file) {
        fprintf(stderr, "fusevm %s: missing %s (try 'fusevm %s --help')\n", cmd->name,
                cmd->operand ? cmd->operand : "FILE", cmd->name);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * run
 * ------------------------------------------------------------------------ */

/* What the program has written, so the result can start a line of its own. */
typedef struct output_state {
    bool wrote;
    char last;
    bool unbuffered; /* flush after every write */
} output_state;

static void write_output(void *ud, const char *bytes, size_t len)
{
    output_state *out = ud;
    if (len == 0)
        return;
    fwrite(bytes, 1, len, stdout);
    if (out->unbuffered)
        fflush(stdout);
    out->wrote = true;
    out->last = bytes[len - 1];
}

/* ------------------------------------------------------------------------
 * What the command checks and gives a program
 * ------------------------------------------------------------------------ */

typedef struct unresolved_report {
    const char *file;
} unresolved_report;

static void report_unresolved(void *ud, const fvm_chunk *c, size_t ip, const char *name)
{
    const unresolved_report *r = ud;
    fprintf(stderr, "fusevm: %s:%u: Call %s: no sub entry with this name (op %zu)\n", r->file,
            (unsigned)fvm_chunk_line(c, ip), name, ip);
}

/* A Call that could only fail is refused before the program runs or is
 * written, in the chunk and every sub-chunk. */
static bool calls_resolve(const fvm_chunk *c, const char *file)
{
    unresolved_report r = {strcmp(file, "-") == 0 ? "<stdin>" : file};
    return fvm_chunk_unresolved_calls(c, true, report_unresolved, &r) == 0;
}

/* The global named name, if the chunk has one: its index, else -1. */
static int64_t global_index(const fvm_chunk *c, const char *name)
{
    size_t want = strlen(name);
    for (size_t i = 0; i < fvm_chunk_name_count(c); i++) {
        size_t len;
        const char *n = fvm_chunk_name(c, i, &len);
        if (len == want && memcmp(n, name, len) == 0)
            return (int64_t)i;
    }
    return -1;
}

/* ARGV, an array of the program's arguments as Strs, and ENV, a hash of
 * the environment (NAME=VALUE; an entry without '=' has an empty value),
 * for a program that names them. */
static void set_program_globals(fvm_vm *vm, const fvm_chunk *c, char **args, int nargs)
{
    int64_t argv_idx = global_index(c, "ARGV"), env_idx = global_index(c, "ENV");
    if (argv_idx >= 0) {
        fvm_value arr = fvm_array_new();
        for (int i = 0; i < nargs; i++)
            fvm_array_push(&arr, fvm_cstr(args[i]));
        fvm_vm_set_global(vm, (size_t)argv_idx, arr);
    }
    if (env_idx >= 0) {
        fvm_value env = fvm_hash_new();
        for (char **e = environ; *e; e++) {
            const char *eq = strchr(*e, '=');
            size_t klen = eq ? (size_t)(eq - *e) : strlen(*e);
            fvm_hash_set(&env, *e, klen, fvm_cstr(eq ? eq + 1 : ""));
        }
        fvm_vm_set_global(vm, (size_t)env_idx, env);
    }
}

/* The modes this build runs: off, auto, and each tier whose code generator
 * is in the library. */
static int check_jit(const char *mode)
{
    if (strcmp(mode, "off") == 0 || strcmp(mode, "auto") == 0)
        return FVM_EXIT_OK;
    for (fvm_jit_tier t = 0; t < FVM_JIT_TIER_COUNT; t++) {
        if (strcmp(mode, fvm_jit_tier_name(t)) != 0)
            continue;
        if (fvm_jit_tier_available(t))
            return FVM_EXIT_OK;
        fprintf(stderr, "fusevm: the %s tier is not available yet\n", mode);
        return FVM_EXIT_USAGE;
    }
    fprintf(stderr, "fusevm run: unknown --jit mode '%s' (expected off, linear, block, trace or auto)\n",
            mode);
    return FVM_EXIT_USAGE;
}

static bool mode_is(const char *mode, const char *name) { return mode && strcmp(mode, name) == 0; }

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void count_chunks(const fvm_chunk *c, size_t *ops, size_t *chunks, size_t *consts)
{
    *ops += fvm_chunk_len(c);
    *consts += fvm_chunk_constant_count(c);
    (*chunks)++;
    for (size_t i = 0; i < fvm_chunk_sub_chunk_count(c); i++)
        count_chunks(fvm_chunk_sub_chunk(c, i), ops, chunks, consts);
}

static void print_stats(const fvm_chunk *c, double load_ms, double run_ms)
{
    size_t ops = 0, chunks = 0, consts = 0;
    count_chunks(c, &ops, &chunks, &consts);
    fprintf(stderr, "fusevm: stats: %zu ops in %zu chunk%s, %zu constants; load %.3f ms, run %.3f ms\n",
            ops, chunks, chunks == 1 ? "" : "s", consts, load_ms, run_ms);
}

/* SIGINT during a run asks the VM to stop (fvm_vm_interrupt is safe in a
 * signal handler); the run then ends with the error "interrupted" and the
 * command with the status a shell gives a process the signal ended. */
static fvm_vm *volatile interrupt_target;
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
    if (interrupt_target)
        fvm_vm_interrupt(interrupt_target);
}

/* SIGINT for vm while it runs, or (vm NULL) its default action again. No
 * SA_RESTART: a ReadLine waiting for input returns, so the program reaches
 * its next poll. */
static void catch_sigint(fvm_vm *vm)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = vm ? on_sigint : SIG_DFL;
    interrupt_target = vm;
    sigaction(SIGINT, &sa, NULL);
}

/* The name messages give the program: its path, or <stdin>. */
static const char *display_name(const char *path)
{
    return strcmp(path, "-") == 0 ? "<stdin>" : path;
}

/* The run's outcome on stdout (--result) or stderr (an error: where, then
 * the call stack, innermost first, in whichever goroutine it was; or the
 * scheduler's own message for a deadlock, which no op raised). */
static int report(const fvm_sched *s, fvm_result r, const cli_args *a, const output_state *out)
{
    if (r.status == FVM_RUN_ERROR) {
        const fvm_vm *vm = fvm_sched_error_vm(s);
        fflush(stdout);
        if (!vm) {
            fprintf(stderr, "%s\n", fvm_sched_error(s));
            return interrupted ? FVM_EXIT_INTERRUPTED : FVM_EXIT_RUNTIME;
        }
        char *text = fvm_vm_traceback(vm, display_name(a->file));
        fprintf(stderr, "fusevm: %s", text ? text : fvm_vm_error(vm));
        fvm_free(text);
        return interrupted ? FVM_EXIT_INTERRUPTED : FVM_EXIT_RUNTIME;
    }
    if (a->result) {
        if (out->wrote && out->last != '\n')
            putchar('\n');
        if (r.status == FVM_RUN_HALTED)
            fputs("halted", stdout);
        else
            fvm_cli_print_value(stdout, r.value);
        putchar('\n');
    }
    if (r.status == FVM_RUN_OK)
        fvm_value_drop(r.value);
    return FVM_EXIT_OK;
}

static int cmd_run(const cli_args *a)
{
    const char *mode = a->jit ? a->jit : "auto";
    int status = check_jit(mode);
    if (status != FVM_EXIT_OK)
        return status;
    double t0 = now_ms();
    fvm_chunk *c = fvm_cli_load(a->file);
    if (!c)
        return FVM_EXIT_USAGE;
    if (!calls_resolve(c, a->file)) {
        fvm_chunk_free(c);
        return FVM_EXIT_USAGE;
    }
    double t1 = now_ms();
    /* auto: the linear tier for a straight-line chunk, else the block tier
     * for regions and the tracing tier for hot loops. A command runs its
     * program once, so block code compiles on the first entry unless
     * FUSEVM_JIT_BLOCK_THRESHOLD says otherwise. */
    bool linear = mode_is(mode, "linear") || mode_is(mode, "auto");
    bool block = mode_is(mode, "block") || mode_is(mode, "auto");
    bool trace = mode_is(mode, "trace") || mode_is(mode, "auto");
    fvm_jit *j = linear || block || trace ? fvm_cli_jit_new(a->dump) : NULL;
    if (block && !getenv("FUSEVM_JIT_BLOCK_THRESHOLD"))
        fvm_jit_set_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD, 0);
    if (j)
        fvm_jit_set_param(j, FVM_JIT_PARAM_VM_TIERS,
                          (block ? 1u << FVM_JIT_BLOCK : 0) | (trace ? 1u << FVM_JIT_TRACE : 0));
    fvm_vm *vm = fvm_vm_new(c);
    output_state out = {false, 0, a->unbuffered};
    fvm_vm_set_output(vm, write_output, &out);
    set_program_globals(vm, c, a->prog_args, a->nprog_args);
    fvm_vm_set_jit(vm, block || trace ? j : NULL);
    fvm_vm_set_fuel(vm, a->max_ops);
    catch_sigint(vm);
    /* Every program runs under the scheduler, so the goroutine and channel
     * ops work; one without them is one fvm_vm_run. */
    fvm_sched *sched = fvm_sched_new(NULL, NULL);
    fvm_result r;
    bool linear_ran = linear && (block ? fvm_jit_is_linear_eligible(j, c) : true) &&
                      fvm_cli_run_linear(j, c, a->stats && !block, &r);
    if (!linear_ran)
        r = fvm_sched_run(sched, vm);
    catch_sigint(NULL);
    double t2 = now_ms();
    status = report(sched, r, a, &out);
    if (a->stats)
        print_stats(c, t1 - t0, t2 - t1);
    if (a->stats && j)
        fvm_cli_print_jit_stats(j);
    fvm_jit_dump_trace_exits(j, c);
    fvm_sched_free(sched);
    fvm_vm_free(vm);
    fvm_jit_free(j);
    fvm_chunk_free(c);
    return status;
}

/* ------------------------------------------------------------------------
 * asm and dis
 * ------------------------------------------------------------------------ */

static int write_file(const char *path, const void *bytes, size_t len)
{
    bool is_stdout = strcmp(path, "-") == 0;
    FILE *f = is_stdout ? stdout : fopen(path, "wb");
    bool ok = f && fwrite(bytes, 1, len, f) == len;
    if (f && !is_stdout)
        ok = (fclose(f) == 0) && ok;
    if (!ok) {
        fprintf(stderr, "fusevm: cannot write %s: %s\n", path, strerror(errno));
        if (f && !is_stdout)
            remove(path); /* never leave a partial file behind */
        return FVM_EXIT_USAGE;
    }
    return FVM_EXIT_OK;
}

static int cmd_asm(const cli_args *a)
{
    if (!a->out) {
        fprintf(stderr, "fusevm asm: missing -o OUT (try 'fusevm asm --help')\n");
        return FVM_EXIT_USAGE;
    }
    fvm_chunk *c = fvm_cli_load(a->file);
    if (!c)
        return FVM_EXIT_USAGE;
    if (!calls_resolve(c, a->file)) {
        fvm_chunk_free(c);
        return FVM_EXIT_USAGE;
    }
    void *bytes;
    size_t len;
    int status;
    if (fvm_chunk_save(c, &bytes, &len) == 0) {
        status = write_file(a->out, bytes, len);
        fvm_free(bytes);
    } else {
        fprintf(stderr, "fusevm: %s: the chunk does not fit the binary format "
                        "(nested too deep, a string over 4 GiB, slot names, or builtins "
                        "declared in a sub-chunk)\n", a->file);
        status = FVM_EXIT_USAGE;
    }
    fvm_chunk_free(c);
    return status;
}

static int cmd_export(const cli_args *a)
{
    if (!a->out) {
        fprintf(stderr, "fusevm export: missing -o OUT (try 'fusevm export --help')\n");
        return FVM_EXIT_USAGE;
    }
    fvm_chunk *c = fvm_cli_load(a->file);
    if (!c)
        return FVM_EXIT_USAGE;
    char *json = fvm_json_export(c);
    fvm_chunk_free(c);
    if (!json) {
        fprintf(stderr, "fusevm: %s: the chunk cannot be written as upstream's JSON "
                        "(a string that is not UTF-8, a NUL byte in a hash key, slot names, or "
                        "builtins declared by name)\n", a->file);
        return FVM_EXIT_USAGE;
    }
    int status = write_file(a->out, json, strlen(json));
    free(json);
    return status;
}

static int cmd_dis(const cli_args *a)
{
    fvm_chunk *c = fvm_cli_load(a->file);
    if (!c)
        return FVM_EXIT_USAGE;
    char *text = fvm_disassemble(c, a->annotate ? FVM_DIS_ANNOTATE : 0);
    fvm_chunk_free(c);
    if (!text) {
        fprintf(stderr, "fusevm: %s: cannot disassemble\n", a->file);
        return FVM_EXIT_USAGE;
    }
    fputs(text, stdout);
    fvm_free(text);
    return FVM_EXIT_OK;
}

/* ------------------------------------------------------------------------
 * cache
 * ------------------------------------------------------------------------ */

/* The JIT disk cache as a fresh context resolves it (environment and
 * defaults). The file argument is the action. */
static int cmd_cache(const cli_args *a)
{
    static const char *const actions[] = {"dir", "size", "prune", "clear"};
    size_t act = 0;
    while (act < 4 && strcmp(a->file, actions[act]) != 0)
        act++;
    if (act == 4) {
        fprintf(stderr, "fusevm cache: unknown action '%s' (try 'fusevm cache --help')\n", a->file);
        return FVM_EXIT_USAGE;
    }
    fvm_jit *j = fvm_jit_new();
    if (!j)
        return FVM_EXIT_RUNTIME;
    const char *dir = fvm_jit_cache_dir(j);
    if (act == 0)
        puts(dir ? dir : "off");
    else if (act == 1 && !dir)
        puts("off");
    else if (act == 1)
        printf("%lld\n", (long long)fvm_jit_cache_size_bytes(j));
    else if (act == 2)
        printf("%llu\n", (unsigned long long)fvm_jit_prune_cache(j));
    else
        printf("%zu\n", fvm_jit_clear_cache(j));
    fvm_jit_free(j);
    return FVM_EXIT_OK;
}

/* ------------------------------------------------------------------------
 * Commands and help
 * ------------------------------------------------------------------------ */

static const char main_help[] =
    "Usage: fusevm COMMAND [ARGS...]\n"
    "\n"
    "Commands:\n"
    "  run FILE [ARGS]    run a program with arguments\n"
    "  asm FILE -o OUT    write a program as a binary chunk file (.fbc)\n"
    "  import FILE -o OUT the same as asm, named for upstream JSON input\n"
    "  export FILE -o OUT write a program as upstream fusevm's serde JSON\n"
    "  dis FILE           print a program as text assembly\n"
    "  cache ACTION       the JIT's disk cache: dir, size, prune or clear\n"
    "  help [COMMAND]     show this help, or a command's\n"
    "\n"
    "FILE is text assembly (.fasm), a binary chunk (.fbc) or upstream fusevm's\n"
    "serde JSON (.json), recognised by its content; \"-\" reads standard input.\n"
    "\n"
    "Options:\n"
    "  -h, --help         show this help ('fusevm COMMAND --help' for a command)\n"
    "  -V, --version      print the version\n"
    "\n"
    "Exit status: 0 success, 1 runtime error, 2 usage or input error, 130 a run\n"
    "stopped by SIGINT.\n";

static const command commands[] = {
    {"run", OPT_RESULT | OPT_STATS | OPT_JIT | OPT_DUMP | OPT_UNBUFFERED | OPT_MAX_OPS,
     "Usage: fusevm run [OPTIONS] FILE [ARGS...]\n"
     "\n"
     "Run the program in FILE. Print and PrintLn write to standard output,\n"
     "ReadLine reads standard input (Undef at its end). Options come before\n"
     "FILE; the ARGS after it are the program's, in the global array ARGV\n"
     "(ARGV[0] is the first of them), and the environment is the global hash\n"
     "ENV. A Call to a name without a sub entry is an error before the run.\n"
     "\n"
     "  --result      then print the result on a line of its own, with its type:\n"
     "                int 42, float 4.5, str \"x\", undef, ...; halted when the\n"
     "                run ends with an empty stack\n"
     "  --jit MODE    auto (the default), off, linear, block or trace. linear\n"
     "                runs an eligible straight-line chunk as native code;\n"
     "                block runs each region of numeric ops with loops and\n"
     "                branches (the whole chunk when it can) as native code,\n"
     "                compiled when first entered (FUSEVM_JIT_BLOCK_THRESHOLD=N:\n"
     "                after N entries); trace records a loop's path once its\n"
     "                header is reached FUSEVM_JIT_TRACE_THRESHOLD times (50)\n"
     "                and runs it as native code from there on, even in the\n"
     "                middle of the loop's run; auto does linear where it\n"
     "                applies, else block and trace. The rest runs in the\n"
     "                interpreter with the same results. Compiled code is\n"
     "                kept in the JIT disk cache (FUSEVM_JIT_CACHE_DIR; off\n"
     "                disables it) for the next run.\n"
     "  --dump LIST   as chunks compile, print their JIT IR (ir), machine\n"
     "                code (asm) and traces as recorded (trace) to standard\n"
     "                error; LIST is comma separated\n"
     "  --stats       print op counts, timings and the JIT counters to\n"
     "                standard error, and why a chunk was not compiled\n"
     "  --max-ops N   stop the program with an error once it has run N\n"
     "                bytecode ops (counted at jumps, calls and returns;\n"
     "                native code is charged when it returns)\n"
     "  -u, --unbuffered\n"
     "                write each Print and PrintLn through at once, for pipes\n"
     "  -h, --help    show this help\n"
     "\n"
     "A runtime error prints 'fusevm: FILE:LINE: MESSAGE' and the call stack\n"
     "('stack traceback:', then a line per frame, innermost first) to\n"
     "standard error and exits with status 1. SIGINT (Ctrl-C) stops the\n"
     "program the same way with the message 'interrupted' and status 130.\n",
     cmd_run, NULL, true},
    {"asm", OPT_OUT,
     "Usage: fusevm asm FILE -o OUT\n"
     "\n"
     "Assemble FILE (or read it in any format fusevm reads) and write it to OUT\n"
     "as a binary chunk file; \"-o -\" writes to standard output.\n"
     "\n"
     "  -o, --output OUT   the file to write\n"
     "  -h, --help         show this help\n"
     "\n"
     "A Call to a name without a sub entry is an error.\n",
     cmd_asm, NULL, false},
    {"import", OPT_OUT,
     "Usage: fusevm import FILE.json -o OUT.fbc\n"
     "\n"
     "Read a chunk serialised by upstream fusevm (serde JSON) and write it as a\n"
     "binary chunk file. The chunk is verified and its op_hash recomputed.\n"
     "\n"
     "  -o, --output OUT   the file to write (\"-\" for standard output)\n"
     "  -h, --help         show this help\n",
     cmd_asm, NULL, false},
    {"export", OPT_OUT,
     "Usage: fusevm export FILE -o OUT.json\n"
     "\n"
     "Write the program in FILE as upstream fusevm's serde JSON, one op per line;\n"
     "NaN and infinities use the string tags upstream's reader accepts.\n"
     "\n"
     "  -o, --output OUT   the file to write (\"-\" for standard output)\n"
     "  -h, --help         show this help\n",
     cmd_export, NULL, false},
    {"dis", OPT_ANNOTATE,
     "Usage: fusevm dis FILE [--annotate]\n"
     "\n"
     "Print the program in FILE as text assembly that 'fusevm asm' reads back\n"
     "into the same chunk.\n"
     "\n"
     "  --annotate    comment each op with its index, and each fused op with\n"
     "                the ops it replaces\n"
     "  -h, --help    show this help\n",
     cmd_dis, NULL, false},
    {"cache", 0,
     "Usage: fusevm cache dir|size|prune|clear\n"
     "\n"
     "Manage the JIT's disk cache of compiled machine code.\n"
     "\n"
     "  dir     print the cache directory, or off\n"
     "  size    print the bytes its *.fjit files hold, or off\n"
     "  prune   if they exceed the cap, delete the oldest down to 80% of it;\n"
     "          print the bytes deleted\n"
     "  clear   delete every *.fjit file; print how many\n"
     "\n"
     "The directory is FUSEVM_JIT_CACHE_DIR (off, none, 0, ... turn caching\n"
     "off), else $XDG_CACHE_HOME/fusevm-jit, else $HOME/.cache/fusevm-jit;\n"
     "the cap is FUSEVM_JIT_CACHE_MAX_BYTES (e.g. 64m; 0 for none), else 256 MiB.\n",
     cmd_cache, "ACTION", false},
};

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int unknown_command(const char *name)
{
    if (name[0] == '-')
        fprintf(stderr, "fusevm: unknown option '%s' (try 'fusevm --help')\n", name);
    else
        fprintf(stderr, "fusevm: unknown command '%s' (try 'fusevm --help')\n", name);
    return FVM_EXIT_USAGE;
}

static int cmd_help(int argc, char **argv)
{
    if (argc == 0) {
        fputs(main_help, stdout);
        return FVM_EXIT_OK;
    }
    const command *cmd = find_command(argv[0]);
    if (!cmd)
        return unknown_command(argv[0]);
    fputs(cmd->help, stdout);
    return FVM_EXIT_OK;
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2) {
        fputs(main_help, stderr);
        return FVM_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0)
        return cmd_help(0, NULL);
    if (strcmp(name, "help") == 0)
        return cmd_help(argc - 2, argv + 2);
    if (strcmp(name, "-V") == 0 || strcmp(name, "--version") == 0) {
        printf("fusevm %s\n", fvm_version());
        return FVM_EXIT_OK;
    }
    const command *cmd = find_command(name);
    if (!cmd)
        return unknown_command(name);
    cli_args a;
    if (parse_args(cmd, argc - 1, argv + 1, &a) < 0)
        return FVM_EXIT_USAGE;
    if (a.help) {
        fputs(cmd->help, stdout);
        return FVM_EXIT_OK;
    }
    return cmd->run(&a);
}

int main(int argc, char **argv)
{
    int status = dispatch(argc, argv);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "fusevm: cannot write standard output: %s\n", strerror(errno));
        if (status == FVM_EXIT_OK)
            status = FVM_EXIT_RUNTIME;
    }
    return status;
}
