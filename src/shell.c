/* The shell op family (docs/OPS.md, "Shell") and TestFile.
 *
 * Each op is one small function in shell_ops[], indexed by opcode; the
 * interpreter reaches them through fvm_shell_op. An op pops its operands,
 * hands them to the installed shell host's entry for it (docs/HOSTS.md) or,
 * when that entry is NULL, does what it does without a host, and pushes
 * the result. The defaults that touch the system (spawning programs,
 * reading directories, stat) first check the VM's capabilities. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unicode.h"
#include "vm.h"

/* Exit status of a command that could not be started (as shells report). */
#define STATUS_NOT_FOUND 127

/* ------------------------------------------------------------------------
 * Argument lists
 * ------------------------------------------------------------------------ */

/* A growable list of owned Str values: a command line, as a host
 * receives it. */
typedef struct shell_args {
    fvm_value *v;
    size_t n, cap;
} shell_args;

static void args_add(shell_args *a, fvm_string *s)
{
    if (a->n == a->cap) {
        void *p = a->v;
        fvm_grow(&p, &a->cap, a->n + 1, sizeof *a->v);
        a->v = p;
    }
    a->v[a->n++] = fvm_str_value(s);
}

static fvm_string *arg_str(const shell_args *a, size_t i)
{
    return a->v[i].as.s;
}

static void args_free(shell_args *a)
{
    for (size_t i = 0; i < a->n; i++)
        fvm_release(a->v[i]);
    free(a->v);
}

/* Pop argc values (bottom-most first) and append them as arguments: an
 * Array contributes one argument per element, anything else its string
 * form. This is how a shell splices "${arr[@]}" into a command line. */
static void pop_flat_args(fvm_vm *vm, size_t argc, shell_args *out)
{
    fvm_value vals[UINT8_MAX]; /* argc is a u8 operand */
    size_t n = fvm_pop_n(vm, argc < UINT8_MAX ? argc : UINT8_MAX, vals);
    for (size_t i = 0; i < n; i++) {
        if (vals[i].type == FVM_T_ARRAY) {
            const fvm_array *arr = vals[i].as.a;
            for (size_t j = 0; j < arr->len; j++)
                args_add(out, fvm_value_to_str(arr->items[j]));
        } else {
            args_add(out, fvm_value_to_str(vals[i]));
        }
        fvm_release(vals[i]);
    }
}

static bool str_is(const fvm_string *s, const char *lit)
{
    size_t n = strlen(lit);
    return s->len == n && memcmp(s->data, lit, n) == 0;
}

static bool has_nul(const fvm_string *s)
{
    return memchr(s->data, 0, s->len) != NULL;
}

/* Pop one value and return its string form (owned). */
static fvm_string *pop_str(fvm_vm *vm)
{
    fvm_value v = fvm_pop(vm);
    fvm_string *s = fvm_value_to_str(v);
    fvm_release(v);
    return s;
}

static fvm_value pop_str_value(fvm_vm *vm)
{
    return fvm_str_value(pop_str(vm));
}

/* ------------------------------------------------------------------------
 * Capabilities
 * ------------------------------------------------------------------------ */

/* Whether the VM may do what cap covers; if not, the op's error is set. */
static bool allowed(fvm_vm *vm, unsigned code, unsigned cap)
{
    if (vm->caps & cap)
        return true;
    fvm_fail(vm, "%s refused: this VM does not have the %s capability", fvm_op_name(code),
             cap == FVM_CAP_PROCESS ? "process" : "file-system");
    return false;
}

/* ------------------------------------------------------------------------
 * Calling subs of the chunk
 * ------------------------------------------------------------------------ */

/* The name index of name when a sub is registered for it, or -1. */
static int32_t sub_named(const fvm_chunk *c, const fvm_string *name)
{
    int32_t idx = fvm_chunk_find_name(c, name->data, name->len);
    return idx >= 0 && fvm_chunk_find_sub(c, (uint16_t)idx) >= 0 ? idx : -1;
}

/* Push args[first..] as Str arguments and call the sub of name index
 * name. The list's strings move to the stack. */
static fvm_step enter_with_args(fvm_vm *vm, uint16_t name, shell_args *a, size_t first)
{
    for (size_t i = first; i < a->n; i++)
        fvm_push(vm, a->v[i]);
    size_t nargs = a->n - first;
    a->n = first; /* the rest now belong to the stack */
    return fvm_enter_sub(vm, name, nargs);
}

/* ------------------------------------------------------------------------
 * Processes
 * ------------------------------------------------------------------------ */

/* A NULL-terminated argv borrowing the list's bytes (each fvm_string is
 * NUL-terminated), or NULL when the list is empty or an argument holds a
 * NUL byte, which no program can receive. */
static char **args_argv(const shell_args *a)
{
    if (a->n == 0)
        return NULL;
    for (size_t i = 0; i < a->n; i++) {
        if (has_nul(arg_str(a, i)))
            return NULL;
    }
    char **argv = fvm_xmalloc((a->n + 1) * sizeof *argv);
    for (size_t i = 0; i < a->n; i++)
        argv[i] = arg_str(a, i)->data;
    argv[a->n] = NULL;
    return argv;
}

/* Wait for pid: its exit code, 1 if a signal ended it, 127 if it cannot be
 * waited for. */
static int wait_exit_code(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR)
            return STATUS_NOT_FOUND;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/* Run a program (PATH search on args[0]) with the VM's stdin, stdout and
 * stderr and wait for it. */
static int run_program(const shell_args *a)
{
    char **argv = args_argv(a);
    if (!argv)
        return STATUS_NOT_FOUND;
    /* Our buffered output must reach stdout before the child's. */
    fflush(stdout);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
    free(argv);
    return rc == 0 ? wait_exit_code(pid) : STATUS_NOT_FOUND;
}

/* Start a program in the background with stdout and stderr on /dev/null.
 * An intermediate child spawns it and exits at once, so the program is
 * adopted by init and never lingers as our zombie. */
static void run_program_detached(const shell_args *a)
{
    char **argv = args_argv(a);
    if (!argv)
        return;
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0) {
        free(argv);
        return;
    }
    if (posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0) == 0 &&
        posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO) == 0) {
        pid_t mid = fork();
        if (mid == 0) {
            pid_t pid;
            _exit(posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) == 0 ? 0 : 1);
        }
        if (mid > 0)
            wait_exit_code(mid);
    }
    posix_spawn_file_actions_destroy(&fa);
    free(argv);
}

/* ------------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------------ */

/* echo: args[1..] joined by single spaces, then a newline. */
static void builtin_echo(fvm_vm *vm, const shell_args *a)
{
    fvm_buf b = {0};
    for (size_t i = 1; i < a->n; i++) {
        if (i > 1)
            fvm_buf_putc(&b, ' ');
        fvm_buf_put(&b, arg_str(a, i)->data, arg_str(a, i)->len);
    }
    fvm_buf_putc(&b, '\n');
    fvm_write_output(vm, b.data, b.len);
    fvm_buf_free(&b);
}

/* The commands Exec knows without a host; false if name is not one. */
static bool run_builtin(fvm_vm *vm, const shell_args *a, int *status)
{
    const fvm_string *name = arg_str(a, 0);
    if (str_is(name, "true") || str_is(name, "test") || str_is(name, "[")) {
        *status = 0; /* test and [ are not evaluated: they always succeed */
    } else if (str_is(name, "false")) {
        *status = 1;
    } else if (str_is(name, "echo")) {
        builtin_echo(vm, a);
        *status = 0;
    } else {
        return false;
    }
    return true;
}

/* A program run for Exec or CallFunction: the host's exec, else a
 * spawned process if the VM may start one. False after an error. */
static bool run_command(fvm_vm *vm, unsigned code, const shell_args *a, int32_t *status)
{
    if (vm->shell.exec) {
        *status = vm->shell.exec(vm->shell.ud, vm, a->v, a->n);
        return true;
    }
    if (!allowed(vm, code, FVM_CAP_PROCESS))
        return false;
    *status = run_program(a);
    return true;
}

/* Exec: a sub of the chunk by that name, a builtin, or a program. Leaves
 * last_status alone, as upstream does: frontends follow Exec with
 * SetStatus. */
static fvm_step op_exec(fvm_vm *vm, const fvm_op *op)
{
    shell_args a = {0};
    pop_flat_args(vm, op->a, &a);
    if (a.n == 0) {
        fvm_push(vm, fvm_status(0));
        return FVM_STEP_NEXT;
    }
    int32_t sub = sub_named(vm->chunk, arg_str(&a, 0));
    if (sub >= 0) {
        fvm_step step = enter_with_args(vm, (uint16_t)sub, &a, 1);
        args_free(&a);
        return step;
    }
    int status;
    bool ok = run_builtin(vm, &a, &status) || run_command(vm, op->code, &a, &status);
    args_free(&a);
    if (!ok)
        return FVM_STEP_ERROR;
    fvm_push(vm, fvm_status(status));
    return FVM_STEP_NEXT;
}

static fvm_step op_exec_bg(fvm_vm *vm, const fvm_op *op)
{
    shell_args a = {0};
    pop_flat_args(vm, op->a, &a);
    bool ok = true;
    if (a.n > 0 && vm->shell.exec_bg)
        vm->shell.exec_bg(vm->shell.ud, vm, a.v, a.n);
    else if (a.n > 0 && (ok = allowed(vm, op->code, FVM_CAP_PROCESS)))
        run_program_detached(&a);
    args_free(&a);
    if (!ok)
        return FVM_STEP_ERROR;
    fvm_push(vm, fvm_status(0));
    return FVM_STEP_NEXT;
}

/* CallFunction: the host's function of that name, else (when the host
 * has no call_function) the chunk's sub for the name index, else the
 * command of that name; a command's status becomes last_status. */
static fvm_step op_call_function(fvm_vm *vm, const fvm_op *op)
{
    const fvm_chunk *c = vm->chunk;
    shell_args a = {0};
    fvm_string *name = op->a < c->nnames ? c->names[op->a] : NULL;
    if (name)
        fvm_retain(fvm_str_value(name));
    args_add(&a, name ? name : fvm_str_alloc(0));
    pop_flat_args(vm, op->b, &a);
    int32_t status;
    bool handled = false;
    if (vm->shell.call_function) {
        handled = vm->shell.call_function(vm->shell.ud, vm, a.v[0], a.v + 1, a.n - 1, &status);
    } else if (fvm_chunk_find_sub(c, op->a) >= 0) {
        fvm_step step = enter_with_args(vm, op->a, &a, 1);
        args_free(&a);
        return step;
    }
    bool ok = handled || run_command(vm, op->code, &a, &status);
    args_free(&a);
    if (!ok)
        return FVM_STEP_ERROR;
    vm->last_status = status;
    fvm_push(vm, fvm_status(status));
    return FVM_STEP_NEXT;
}

/* ------------------------------------------------------------------------
 * Plumbing that needs a host to mean anything
 * ------------------------------------------------------------------------ */

/* Pipelines stand for processes: without a host to run them, the VM
 * refuses them when it may not start processes. */
static fvm_step op_pipeline_begin(fvm_vm *vm, const fvm_op *op)
{
    if (vm->shell.pipeline_begin)
        vm->shell.pipeline_begin(vm->shell.ud, vm, (uint8_t)op->a);
    else if (!allowed(vm, op->code, FVM_CAP_PROCESS))
        return FVM_STEP_ERROR;
    return FVM_STEP_NEXT;
}

static fvm_step op_pipeline_stage(fvm_vm *vm, const fvm_op *op)
{
    if (vm->shell.pipeline_stage)
        vm->shell.pipeline_stage(vm->shell.ud, vm);
    else if (!allowed(vm, op->code, FVM_CAP_PROCESS))
        return FVM_STEP_ERROR;
    return FVM_STEP_NEXT;
}

/* Without a pipeline, its status is the last command's. */
static fvm_step op_pipeline_end(fvm_vm *vm, const fvm_op *op)
{
    if (vm->shell.pipeline_end)
        vm->last_status = vm->shell.pipeline_end(vm->shell.ud, vm);
    else if (!allowed(vm, op->code, FVM_CAP_PROCESS))
        return FVM_STEP_ERROR;
    fvm_push(vm, fvm_status(vm->last_status));
    return FVM_STEP_NEXT;
}

static fvm_step op_redirect(fvm_vm *vm, const fvm_op *op)
{
    fvm_value target = pop_str_value(vm);
    if (vm->shell.redirect)
        vm->shell.redirect(vm->shell.ud, vm, (uint8_t)op->a, (uint8_t)op->b, target);
    fvm_release(target);
    return FVM_STEP_NEXT;
}

/* HereDoc's content is a constant, not a stack value. */
static fvm_step op_here_doc(fvm_vm *vm, const fvm_op *op)
{
    if (vm->shell.heredoc) {
        fvm_value content = fvm_str_value(fvm_value_to_str(vm->chunk->consts[op->a]));
        vm->shell.heredoc(vm->shell.ud, vm, content);
        fvm_release(content);
    }
    return FVM_STEP_NEXT;
}

static fvm_step op_here_string(fvm_vm *vm, const fvm_op *op)
{
    fvm_value content = pop_str_value(vm);
    if (vm->shell.herestring)
        vm->shell.herestring(vm->shell.ud, vm, content);
    fvm_release(content);
    return FVM_STEP_NEXT;
}

/* CmdSubst, ProcessSubIn, ProcessSubOut: the host runs the sub-chunk;
 * without one nothing ran, so there is nothing to show. A process
 * substitution stands for a process, like a pipeline. */
static fvm_step op_sub_chunk_str(fvm_vm *vm, const fvm_op *op)
{
    const fvm_chunk *sub = vm->chunk->subchunks[op->a];
    fvm_value (*entry)(void *, fvm_vm *, const fvm_chunk *) =
        op->code == FVM_OP_CMD_SUBST        ? vm->shell.cmd_subst
        : op->code == FVM_OP_PROCESS_SUB_IN ? vm->shell.process_sub_in
                                            : vm->shell.process_sub_out;
    if (entry) {
        fvm_push(vm, entry(vm->shell.ud, vm, sub));
        return FVM_STEP_NEXT;
    }
    if (op->code != FVM_OP_CMD_SUBST && !allowed(vm, op->code, FVM_CAP_PROCESS))
        return FVM_STEP_ERROR;
    fvm_push(vm, fvm_str("", 0));
    return FVM_STEP_NEXT;
}

static fvm_step op_subshell_begin(fvm_vm *vm, const fvm_op *op)
{
    (void)op;
    if (vm->shell.subshell_begin)
        vm->shell.subshell_begin(vm->shell.ud, vm);
    return FVM_STEP_NEXT;
}

static fvm_step op_subshell_end(fvm_vm *vm, const fvm_op *op)
{
    (void)op;
    int32_t status;
    if (vm->shell.subshell_end && vm->shell.subshell_end(vm->shell.ud, vm, &status))
        vm->last_status = status;
    return FVM_STEP_NEXT;
}

/* TrapSet pops the signal whether or not a host takes the handler. */
static fvm_step op_trap_set(fvm_vm *vm, const fvm_op *op)
{
    fvm_value sig = pop_str_value(vm);
    if (vm->shell.trap_set)
        vm->shell.trap_set(vm->shell.ud, vm, sig, vm->chunk->subchunks[op->a]);
    fvm_release(sig);
    return FVM_STEP_NEXT;
}

static fvm_step op_trap_check(fvm_vm *vm, const fvm_op *op)
{
    (void)op;
    if (vm->shell.trap_check)
        vm->shell.trap_check(vm->shell.ud, vm);
    return FVM_STEP_NEXT;
}

static fvm_step op_with_redirects_begin(fvm_vm *vm, const fvm_op *op)
{
    if (vm->shell.with_redirects_begin)
        vm->shell.with_redirects_begin(vm->shell.ud, vm, (uint8_t)op->a);
    return FVM_STEP_NEXT;
}

static fvm_step op_with_redirects_end(fvm_vm *vm, const fvm_op *op)
{
    (void)op;
    if (vm->shell.with_redirects_end)
        vm->shell.with_redirects_end(vm->shell.ud, vm);
    return FVM_STEP_NEXT;
}

/* How many arguments ExpandParam's modifier (docs/OPS.md, "Operand codes")
 * takes besides the name: a word for the defaulting, stripping forms;
 * pattern and replacement, or offset and length, for substitution and
 * slicing. */
static size_t expand_param_argc(unsigned modifier)
{
    switch (modifier) {
    case FVM_PARAM_DEFAULT:
    case FVM_PARAM_ASSIGN:
    case FVM_PARAM_ERROR:
    case FVM_PARAM_ALTERNATE:
    case FVM_PARAM_STRIP_SHORT:
    case FVM_PARAM_STRIP_LONG:
    case FVM_PARAM_RSTRIP_SHORT:
    case FVM_PARAM_RSTRIP_LONG:
        return 1;
    case FVM_PARAM_SUBST_FIRST:
    case FVM_PARAM_SUBST_ALL:
    case FVM_PARAM_SLICE:
        return 2;
    default:
        return 0;
    }
}

/* ExpandParam: [name, args...] -> [value]; the args go to the host as
 * they are, the name as its string form. */
static fvm_step op_expand_param(fvm_vm *vm, const fvm_op *op)
{
    fvm_value args[2];
    size_t n = fvm_pop_n(vm, expand_param_argc(op->a), args);
    fvm_value name = pop_str_value(vm);
    fvm_value r = vm->shell.expand_param
                      ? vm->shell.expand_param(vm->shell.ud, vm, name, op->a, args, n)
                      : fvm_str("", 0);
    for (size_t i = 0; i < n; i++)
        fvm_release(args[i]);
    fvm_release(name);
    fvm_push(vm, r);
    return FVM_STEP_NEXT;
}

/* ------------------------------------------------------------------------
 * Words and patterns
 * ------------------------------------------------------------------------ */

static fvm_value str_array1(fvm_string *s)
{
    fvm_array *arr = fvm_array_alloc(1);
    fvm_array_append(arr, fvm_str_value(s));
    return fvm_array_value(arr);
}

/* Order paths as a directory walk lists them: component by component,
 * bytewise, so "a/x" sorts before "a.b/x" whatever the locale. */
static int path_cmp(const void *pa, const void *pb)
{
    const unsigned char *a = *(const unsigned char *const *)pa;
    const unsigned char *b = *(const unsigned char *const *)pb;
    for (;; a++, b++) {
        unsigned ca = *a == '/' ? 1u : *a, cb = *b == '/' ? 1u : *b;
        if (ca != cb || !ca)
            return (int)ca - (int)cb;
    }
}

/* Filesystem glob; no match, an invalid pattern or an unreadable directory
 * gives fewer (or no) paths, never an error. Backslash is an ordinary
 * character, as in upstream's glob. */
static fvm_value glob_paths(const fvm_string *pat)
{
    fvm_array *arr = fvm_array_alloc(0);
    glob_t g;
    if (!has_nul(pat) && glob(pat->data, GLOB_NOSORT | GLOB_NOESCAPE, NULL, &g) == 0) {
        qsort(g.gl_pathv, g.gl_pathc, sizeof *g.gl_pathv, path_cmp);
        for (size_t i = 0; i < g.gl_pathc; i++)
            fvm_array_append(arr, fvm_cstr(g.gl_pathv[i]));
        globfree(&g);
    }
    return fvm_array_value(arr);
}

/* Glob and GlobRecursive (the recursive flag only means something to a
 * host). */
static fvm_step op_glob(fvm_vm *vm, const fvm_op *op)
{
    fvm_value pat = pop_str_value(vm);
    fvm_value r;
    if (vm->shell.glob) {
        r = vm->shell.glob(vm->shell.ud, vm, pat, op->code == FVM_OP_GLOB_RECURSIVE);
    } else if (allowed(vm, op->code, FVM_CAP_FILESYSTEM)) {
        r = glob_paths(pat.as.s);
    } else {
        fvm_release(pat);
        return FVM_STEP_ERROR;
    }
    fvm_release(pat);
    fvm_push(vm, r);
    return FVM_STEP_NEXT;
}

/* Words separated by runs of whitespace (Unicode White_Space, as Rust's
 * char::is_whitespace), empty words dropped. Bytes that are not valid
 * UTF-8 count as word characters. */
static fvm_value split_words(const fvm_string *s)
{
    fvm_array *arr = fvm_array_alloc(0);
    size_t i = 0, start = 0;
    while (i < s->len) {
        size_t len;
        int32_t c = fvm_utf8_decode(s->data + i, s->len - i, &len);
        if (fvm_unicode_is_space(c)) {
            if (i > start)
                fvm_array_append(arr, fvm_str(s->data + start, i - start));
            start = i + len;
        }
        i += len;
    }
    if (s->len > start)
        fvm_array_append(arr, fvm_str(s->data + start, s->len - start));
    return fvm_array_value(arr);
}

/* The ops that turn one word into a value: WordSplit, BraceExpand and
 * TildeExpand. */
static fvm_value word_default(unsigned code, fvm_value word)
{
    if (code == FVM_OP_WORD_SPLIT)
        return split_words(word.as.s);
    fvm_retain(word);
    return code == FVM_OP_BRACE_EXPAND ? str_array1(word.as.s) : word;
}

static fvm_step op_word(fvm_vm *vm, const fvm_op *op)
{
    fvm_value (*entry)(void *, fvm_vm *, fvm_value) =
        op->code == FVM_OP_WORD_SPLIT     ? vm->shell.word_split
        : op->code == FVM_OP_BRACE_EXPAND ? vm->shell.brace_expand
                                          : vm->shell.tilde_expand;
    fvm_value word = pop_str_value(vm);
    fvm_value r = entry ? entry(vm->shell.ud, vm, word) : word_default(op->code, word);
    fvm_release(word);
    fvm_push(vm, r);
    return FVM_STEP_NEXT;
}

/* StrMatch and RegexMatch: [s, pattern] -> [Bool]. Without a host StrMatch
 * compares exactly (no glob matching) and RegexMatch is false. */
static fvm_step op_match(fvm_vm *vm, const fvm_op *op)
{
    bool (*entry)(void *, fvm_vm *, fvm_value, fvm_value) =
        op->code == FVM_OP_STR_MATCH ? vm->shell.str_match : vm->shell.regex_match;
    fvm_value pat = pop_str_value(vm);
    fvm_value s = pop_str_value(vm);
    bool r = entry ? entry(vm->shell.ud, vm, s, pat)
                   : op->code == FVM_OP_STR_MATCH && fvm_str_eq(s.as.s, pat.as.s);
    fvm_release(s);
    fvm_release(pat);
    fvm_push(vm, fvm_bool(r));
    return FVM_STEP_NEXT;
}

/* ------------------------------------------------------------------------
 * TestFile
 * ------------------------------------------------------------------------ */

/* The tests that look at a symlink itself use lstat; the others follow it.
 * -r and -w only check existence, as upstream does. */
static bool test_file(unsigned code, const char *path)
{
    struct stat st;
    switch (code) {
    case FVM_FILE_EXISTS:
    case FVM_FILE_IS_READABLE:
    case FVM_FILE_IS_WRITABLE:
        return stat(path, &st) == 0;
    case FVM_FILE_IS_FILE:
        return stat(path, &st) == 0 && S_ISREG(st.st_mode);
    case FVM_FILE_IS_DIR:
        return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    case FVM_FILE_IS_EXECUTABLE:
        return stat(path, &st) == 0 && (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH));
    case FVM_FILE_IS_NONEMPTY:
        return stat(path, &st) == 0 && st.st_size > 0;
    case FVM_FILE_IS_SYMLINK:
        return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
    case FVM_FILE_IS_SOCKET:
        return lstat(path, &st) == 0 && S_ISSOCK(st.st_mode);
    case FVM_FILE_IS_FIFO:
        return lstat(path, &st) == 0 && S_ISFIFO(st.st_mode);
    case FVM_FILE_IS_BLOCK_DEV:
        return lstat(path, &st) == 0 && S_ISBLK(st.st_mode);
    case FVM_FILE_IS_CHAR_DEV:
        return lstat(path, &st) == 0 && S_ISCHR(st.st_mode);
    default:
        return false;
    }
}

static fvm_step op_test_file(fvm_vm *vm, const fvm_op *op)
{
    fvm_value path = pop_str_value(vm);
    bool r;
    if (vm->shell.test_file) {
        r = vm->shell.test_file(vm->shell.ud, vm, op->a, path);
    } else if (allowed(vm, op->code, FVM_CAP_FILESYSTEM)) {
        r = !has_nul(path.as.s) && test_file(op->a, path.as.s->data);
    } else {
        fvm_release(path);
        return FVM_STEP_ERROR;
    }
    fvm_release(path);
    fvm_push(vm, fvm_bool(r));
    return FVM_STEP_NEXT;
}

/* ------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------ */

typedef fvm_step (*shell_op_fn)(fvm_vm *vm, const fvm_op *op);

/* Every FVM_OPF_SHELL op, and TestFile. */
static const shell_op_fn shell_ops[FVM_OP_COUNT] = {
    [FVM_OP_EXEC] = op_exec,
    [FVM_OP_EXEC_BG] = op_exec_bg,
    [FVM_OP_PIPELINE_BEGIN] = op_pipeline_begin,
    [FVM_OP_PIPELINE_STAGE] = op_pipeline_stage,
    [FVM_OP_PIPELINE_END] = op_pipeline_end,
    [FVM_OP_REDIRECT] = op_redirect,
    [FVM_OP_HERE_DOC] = op_here_doc,
    [FVM_OP_HERE_STRING] = op_here_string,
    [FVM_OP_CMD_SUBST] = op_sub_chunk_str,
    [FVM_OP_SUBSHELL_BEGIN] = op_subshell_begin,
    [FVM_OP_SUBSHELL_END] = op_subshell_end,
    [FVM_OP_PROCESS_SUB_IN] = op_sub_chunk_str,
    [FVM_OP_PROCESS_SUB_OUT] = op_sub_chunk_str,
    [FVM_OP_GLOB] = op_glob,
    [FVM_OP_GLOB_RECURSIVE] = op_glob,
    [FVM_OP_TEST_FILE] = op_test_file,
    [FVM_OP_TRAP_SET] = op_trap_set,
    [FVM_OP_TRAP_CHECK] = op_trap_check,
    [FVM_OP_EXPAND_PARAM] = op_expand_param,
    [FVM_OP_WORD_SPLIT] = op_word,
    [FVM_OP_BRACE_EXPAND] = op_word,
    [FVM_OP_TILDE_EXPAND] = op_word,
    [FVM_OP_CALL_FUNCTION] = op_call_function,
    [FVM_OP_STR_MATCH] = op_match,
    [FVM_OP_REGEX_MATCH] = op_match,
    [FVM_OP_WITH_REDIRECTS_BEGIN] = op_with_redirects_begin,
    [FVM_OP_WITH_REDIRECTS_END] = op_with_redirects_end,
};

fvm_step fvm_shell_op(fvm_vm *vm, const fvm_op *op)
{
    shell_op_fn fn = op->code < FVM_OP_COUNT ? shell_ops[op->code] : NULL;
    if (!fn) {
        const char *mnemonic = fvm_op_name(op->code);
        return fvm_fail(vm, "%s is not a shell op", mnemonic ? mnemonic : "(end)");
    }
    return fn(vm, op);
}

fvm_value fvm_vm_shell_array_index(fvm_vm *vm, fvm_value name, fvm_value index)
{
    return vm->shell.array_index ? vm->shell.array_index(vm->shell.ud, vm, name, index)
                                 : fvm_undef();
}
