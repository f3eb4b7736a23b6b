/* The fusevm command: run, assemble and disassemble programs.
 *
 *   fusevm run FILE [--result] [--jit=MODE] [--dump=LIST] [--stats] [--max-ops=N]
 *   fusevm asm FILE -o OUT.fbc
 *   fusevm dis FILE [--annotate]
 *   fusevm cache dir|size|prune|clear
 *
 * Exit status: 0 success, 1 runtime error, 2 usage or input error, 130 a
 * run stopped by SIGINT. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fusevm_cli.h"
#include "json_chunk.h"

/* ------------------------------------------------------------------------
 * Arguments
 * ------------------------------------------------------------------------ */

/* The options a command accepts (bits of command.options). */
enum {
    OPT_RESULT = 1, OPT_STATS = 2, OPT_JIT = 4, OPT_OUT = 8, OPT_ANNOTATE = 16, OPT_DUMP = 32,
    OPT_MAX_OPS = 64
};

typedef struct cli_args {
    const char *file;
    const char *out; /* -o */
    const char *jit; /* --jit=MODE */
    unsigned dump;   /* --dump=LIST as FVM_JIT_DUMP_* bits */
    int64_t max_ops; /* --max-ops=N; -1: no budget */
    bool result, stats, annotate, help;
} cli_args;

typedef struct command {
    const char *name;
    unsigned options;
    const char *help;
    int (*run)(const cli_args *a);
    const char *operand; /* what the one argument is called; NULL: FILE */
} command;

static int usage_error(const command *cmd, const char *what, const char *arg)
{
    fprintf(stderr, "fusevm %s: %s '%s' (try 'fusevm %s --help')\n", cmd->name, what, arg,
            cmd->name);
    return -1;
}

/* --max-ops=N: a decimal count of ops. */
static int parse_max_ops(const command *cmd, const char *arg, cli_args *a)
{
    const char *digits = arg + strlen("--max-ops=");
    char *end;
    errno = 0;
    unsigned long long n = strtoull(digits, &end, 10);
    if (*digits < '0' || *digits > '9' || *end || errno || n > INT64_MAX)
        return usage_error(cmd, "invalid operation count in", arg);
    a->max_ops = (int64_t)n;
    return 0;
}

/* Options that take no value; returns false if arg is none of them. */
static bool parse_flag(const command *cmd, const char *arg, cli_args *a)
{
    const struct {
        const char *name;
        unsigned opt;
        bool *field;
    } flags[] = {
        {"--result", OPT_RESULT, &a->result},
        {"--stats", OPT_STATS, &a->stats},
        {"--annotate", OPT_ANNOTATE, &a->annotate},
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        if ((cmd->options & flags[i].opt) && strcmp(arg, flags[i].name) == 0) {
            *flags[i].field = true;
            return true;
        }
    }
    return false;
}

/* argv[*i] is an option: record it (advancing *i past a separate value).
 * Returns -1 after a message when it is not one cmd accepts. */
static int parse_option(const command *cmd, int argc, char **argv, int *i, cli_args *a)
{
    const char *arg = argv[*i];
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
        a->help = true;
    else if (parse_flag(cmd, arg, a))
        return 0;
    else if ((cmd->options & OPT_JIT) && strncmp(arg, "--jit=", 6) == 0)
        a->jit = arg + 6;
    else if ((cmd->options & OPT_DUMP) && strncmp(arg, "--dump=", 7) == 0)
        return fvm_cli_parse_dump(arg + 7, &a->dump);
    else if ((cmd->options & OPT_MAX_OPS) && strncmp(arg, "--max-ops=", 10) == 0)
        return parse_max_ops(cmd, arg, a);
    else if ((cmd->options & OPT_OUT) && strncmp(arg, "--output=", 9) == 0)
        a->out = arg + 9;
    else if ((cmd->options & OPT_OUT) && (strcmp(arg, "-o") == 0 || strcmp(arg, "--output") == 0)) {
        if (*i + 1 >= argc)
            return usage_error(cmd, "missing file name after", arg);
        a->out = argv[++*i];
    } else
        return usage_error(cmd, "unknown option", arg);
    return 0;
}

static int parse_args(const command *cmd, int argc, char **argv, cli_args *a)
{
    bool options_done = false;
    memset(a, 0, sizeof *a);
    a->max_ops = -1;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_done && strcmp(arg, "--") == 0)
            options_done = true;
        else if (!options_done && arg[0] == '-' && arg[1] != 0) {
            if (parse_option(cmd, argc, argv, &i, a) < 0)
                return -1;
        } else if (a->file)
            return usage_error(cmd, "unexpected argument", arg);
        else
            a->file = arg;
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
} output_state;

static void write_output(void *ud, const char *bytes, size_t len)
{
    output_state *out = ud;
    if (len == 0)
        return;
    fwrite(bytes, 1, len, stdout);
    out->wrote = true;
    out->last = bytes[len - 1];
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
 * the call stack, innermost first). */
static int report(fvm_vm *vm, fvm_result r, const cli_args *a, const output_state *out)
{
    if (r.status == FVM_RUN_ERROR) {
        char *text = fvm_vm_traceback(vm, display_name(a->file));
        fflush(stdout);
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
    output_state out = {false, 0};
    fvm_vm_set_output(vm, write_output, &out);
    fvm_vm_set_jit(vm, block || trace ? j : NULL);
    fvm_vm_set_fuel(vm, a->max_ops);
    catch_sigint(vm);
    fvm_result r;
    bool linear_ran = linear && (block ? fvm_jit_is_linear_eligible(j, c) : true) &&
                      fvm_cli_run_linear(j, c, a->stats && !block, &r);
    if (!linear_ran)
        r = fvm_vm_run(vm);
    catch_sigint(NULL);
    double t2 = now_ms();
    status = report(vm, r, a, &out);
    if (a->stats)
        print_stats(c, t1 - t0, t2 - t1);
    if (a->stats && j)
        fvm_cli_print_jit_stats(j);
    fvm_jit_dump_trace_exits(j, c);
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
    void *bytes;
    size_t len;
    int status;
    if (fvm_chunk_save(c, &bytes, &len) == 0) {
        status = write_file(a->out, bytes, len);
        fvm_free(bytes);
    } else {
        fprintf(stderr, "fusevm: %s: the chunk does not fit the binary format "
                        "(nested too deep, or a string over 4 GiB)\n", a->file);
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
                        "(a string that is not UTF-8, a NUL byte in a hash key, or builtins "
                        "declared by name)\n", a->file);
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
    "  run FILE           run a program\n"
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
    {"run", OPT_RESULT | OPT_STATS | OPT_JIT | OPT_DUMP | OPT_MAX_OPS,
     "Usage: fusevm run FILE [--result] [--jit=MODE] [--dump=LIST] [--stats]\n"
     "                  [--max-ops=N]\n"
     "\n"
     "Run the program in FILE. Print and PrintLn write to standard output,\n"
     "ReadLine reads standard input.\n"
     "\n"
     "  --result      then print the result on a line of its own, with its type:\n"
     "                int 42, float 4.5, str \"x\", undef, ...; halted when the\n"
     "                run ends with an empty stack\n"
     "  --jit=MODE    auto (the default), off, linear, block or trace. linear\n"
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
     "  --dump=LIST   as chunks compile, print their JIT IR (ir), machine\n"
     "                code (asm) and traces as recorded (trace) to standard\n"
     "                error; LIST is comma separated\n"
     "  --stats       print op counts, timings and the JIT counters to\n"
     "                standard error, and why a chunk was not compiled\n"
     "  --max-ops=N   stop the program with an error once it has run N\n"
     "                bytecode ops (counted at jumps, calls and returns;\n"
     "                native code is charged when it returns)\n"
     "  -h, --help    show this help\n"
     "\n"
     "A runtime error prints 'fusevm: FILE:LINE: MESSAGE' and the call stack\n"
     "('stack traceback:', then a line per frame, innermost first) to\n"
     "standard error and exits with status 1. SIGINT (Ctrl-C) stops the\n"
     "program the same way with the message 'interrupted' and status 130.\n",
     cmd_run, NULL},
    {"asm", OPT_OUT,
     "Usage: fusevm asm FILE -o OUT\n"
     "\n"
     "Assemble FILE (or read it in any format fusevm reads) and write it to OUT\n"
     "as a binary chunk file; \"-o -\" writes to standard output.\n"
     "\n"
     "  -o, --output OUT   the file to write\n"
     "  -h, --help         show this help\n",
     cmd_asm, NULL},
    {"import", OPT_OUT,
     "Usage: fusevm import FILE.json -o OUT.fbc\n"
     "\n"
     "Read a chunk serialised by upstream fusevm (serde JSON) and write it as a\n"
     "binary chunk file. The chunk is verified and its op_hash recomputed.\n"
     "\n"
     "  -o, --output OUT   the file to write (\"-\" for standard output)\n"
     "  -h, --help         show this help\n",
     cmd_asm, NULL},
    {"export", OPT_OUT,
     "Usage: fusevm export FILE -o OUT.json\n"
     "\n"
     "Write the program in FILE as upstream fusevm's serde JSON, one op per line;\n"
     "NaN and infinities use the string tags upstream's reader accepts.\n"
     "\n"
     "  -o, --output OUT   the file to write (\"-\" for standard output)\n"
     "  -h, --help         show this help\n",
     cmd_export, NULL},
    {"dis", OPT_ANNOTATE,
     "Usage: fusevm dis FILE [--annotate]\n"
     "\n"
     "Print the program in FILE as text assembly that 'fusevm asm' reads back\n"
     "into the same chunk.\n"
     "\n"
     "  --annotate    comment each op with its index, and each fused op with\n"
     "                the ops it replaces\n"
     "  -h, --help    show this help\n",
     cmd_dis, NULL},
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
     cmd_cache, "ACTION"},
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
    if (parse_args(cmd, argc - 2, argv + 2, &a) < 0)
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
