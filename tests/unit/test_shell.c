/* The shell ops and TestFile without a shell host (docs/OPS.md, "Shell",
 * "Operand codes"), run through a real VM. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "opinfo.h"
#include "vm.h"

#define NO_PROGRAM "fusevm-test-no-such-program-5e1d"

/* ------------------------------------------------------------------------
 * Running programs
 * ------------------------------------------------------------------------ */

typedef struct run {
    fvm_chunk *chunk;
    fvm_vm *vm;
    fvm_result res;
    char out[4096];
    size_t outlen;
} run_t;

static void capture(void *ud, const char *bytes, size_t len)
{
    run_t *r = ud;
    cr_assert_leq(r->outlen + len, sizeof r->out - 1);
    memcpy(r->out + r->outlen, bytes, len);
    r->outlen += len;
    r->out[r->outlen] = 0;
}

static void emit(fvm_builder *b, fvm_op op)
{
    fvm_emit(b, op, 1);
}

static uint16_t kstr(fvm_builder *b, const char *s)
{
    int32_t k = fvm_add_constant(b, fvm_cstr(s));
    cr_assert_geq(k, 0);
    return (uint16_t)k;
}

static void push_str(fvm_builder *b, const char *s)
{
    emit(b, FVM_LOAD_CONST(kstr(b, s)));
}

/* A constant array of strings. */
static void push_str_array(fvm_builder *b, const char *const *items, size_t n)
{
    fvm_value arr = fvm_array_new();
    for (size_t i = 0; i < n; i++)
        fvm_array_push(&arr, fvm_cstr(items[i]));
    emit(b, FVM_LOAD_CONST((uint16_t)fvm_add_constant(b, arr)));
}

static uint16_t name(fvm_builder *b, const char *s)
{
    int32_t n = fvm_add_name(b, s, strlen(s));
    cr_assert_geq(n, 0);
    return (uint16_t)n;
}

/* Build b, run it on a fresh VM (last_status preset to status), capture
 * the output. The builder is freed. */
static void run_status(run_t *r, fvm_builder *b, int32_t status)
{
    memset(r, 0, sizeof *r);
    r->chunk = fvm_build(b);
    cr_assert_not_null(r->chunk, "build failed: %s", fvm_builder_error(b));
    fvm_builder_free(b);
    r->vm = fvm_vm_new(r->chunk);
    fvm_vm_set_output(r->vm, capture, r);
    fvm_vm_set_last_status(r->vm, status);
    r->res = fvm_vm_run(r->vm);
    cr_assert_neq(r->res.status, FVM_RUN_ERROR, "run failed: %s", fvm_vm_error(r->vm));
}

static void run(run_t *r, fvm_builder *b)
{
    run_status(r, b, 0);
}

static void run_free(run_t *r)
{
    fvm_value_drop(r->res.value);
    fvm_vm_free(r->vm);
    fvm_chunk_free(r->chunk);
}

static void assert_status(fvm_value v, int32_t code)
{
    cr_assert_eq(v.type, FVM_T_STATUS, "type %u", v.type);
    cr_assert_eq(v.as.status, code);
}

static void assert_bool(fvm_value v, bool expect)
{
    cr_assert_eq(v.type, FVM_T_BOOL, "type %u", v.type);
    cr_assert_eq(v.as.b, expect);
}

static void assert_str(fvm_value v, const char *expect, size_t len)
{
    size_t n;
    const char *s = fvm_str_bytes(v, &n);
    cr_assert_not_null(s, "type %u is not Str", v.type);
    cr_assert_eq(n, len, "length %zu, expected %zu", n, len);
    cr_assert_eq(memcmp(s, expect, len), 0);
}

static void assert_cstr(fvm_value v, const char *expect)
{
    assert_str(v, expect, strlen(expect));
}

static void assert_str_array(fvm_value v, const char *const *items, size_t n)
{
    cr_assert_eq(v.type, FVM_T_ARRAY, "type %u", v.type);
    cr_assert_eq(fvm_array_len(v), n, "%zu elements, expected %zu", fvm_array_len(v), n);
    for (size_t i = 0; i < n; i++)
        assert_cstr(fvm_array_at(v, i), items[i]);
}

/* Run a command line through Exec (strings only); returns the status. */
static int32_t exec_status(const char *const *argv, size_t argc)
{
    fvm_builder *b = fvm_builder_new();
    for (size_t i = 0; i < argc; i++)
        push_str(b, argv[i]);
    emit(b, FVM_EXEC((uint8_t)argc));
    run_t r;
    run(&r, b);
    cr_assert_eq(r.res.status, FVM_RUN_OK);
    cr_assert_eq(fvm_vm_stack_depth(r.vm), 0);
    cr_assert_eq(r.res.value.type, FVM_T_STATUS);
    int32_t s = r.res.value.as.status;
    run_free(&r);
    return s;
}

/* ------------------------------------------------------------------------
 * Temporary files
 * ------------------------------------------------------------------------ */

static char tmpdir[64];

static void make_tmpdir(void)
{
    strcpy(tmpdir, "/tmp/fvm_shell_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_tmpdir(void)
{
    nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* tmpdir/rel, in one of a few rotating buffers (copy it to keep it). */
static const char *at(const char *rel)
{
    static char buf[8][256];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", tmpdir, rel);
    return p;
}

static void write_file(const char *rel, const char *content, mode_t mode)
{
    const char *p = at(rel);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f, "%s", p);
    fputs(content, f);
    fclose(f);
    cr_assert_eq(chmod(p, mode), 0);
}

/* Read a whole small file into a static buffer. */
static const char *slurp(const char *path)
{
    static char buf[1024];
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static bool wait_for_file(const char *path, double seconds)
{
    struct timespec pause = {0, 10 * 1000 * 1000};
    for (double t = 0; t < seconds; t += 0.01) {
        if (access(path, F_OK) == 0)
            return true;
        nanosleep(&pause, NULL);
    }
    return false;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Point fd at a new file (returns the saved original); restore_fd undoes. */
static int redirect_fd(int fd, const char *path)
{
    fflush(NULL);
    int saved = dup(fd);
    int f = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(f, 0);
    dup2(f, fd);
    close(f);
    return saved;
}

static void restore_fd(int fd, int saved)
{
    fflush(NULL);
    dup2(saved, fd);
    close(saved);
}

/* ------------------------------------------------------------------------
 * Exec
 * ------------------------------------------------------------------------ */

Test(shell, exec_builtins)
{
    cr_assert_eq(exec_status((const char *[]){"true"}, 1), 0);
    cr_assert_eq(exec_status((const char *[]){"false"}, 1), 1);
    cr_assert_eq(exec_status((const char *[]){"test", "-f", "/nonexistent"}, 3), 0);
    cr_assert_eq(exec_status((const char *[]){"[", "1", "=", "2", "]"}, 5), 0);
}

Test(shell, exec_echo_goes_through_output_hook)
{
    fvm_builder *b = fvm_builder_new();
    push_str(b, "echo");
    push_str(b, "a");
    push_str(b, "b");
    emit(b, FVM_EXEC(3));
    push_str(b, "echo");
    emit(b, FVM_EXEC(1));
    run_t r;
    run(&r, b);
    cr_assert_str_eq(r.out, "a b\n\n");
    assert_status(r.res.value, 0);
    cr_assert_eq(fvm_vm_stack_depth(r.vm), 1);
    assert_status(fvm_vm_stack_at(r.vm, 0), 0);
    run_free(&r);
}

Test(shell, exec_empty_is_status_0)
{
    fvm_builder *b = fvm_builder_new();
    emit(b, FVM_LOAD_INT(7));
    emit(b, FVM_EXEC(0));
    push_str_array(b, NULL, 0);
    emit(b, FVM_EXEC(1));
    run_t r;
    run(&r, b);
    assert_status(r.res.value, 0);
    cr_assert_eq(fvm_vm_stack_depth(r.vm), 2);
    cr_assert_eq(fvm_vm_stack_at(r.vm, 0).as.i, 7);
    assert_status(fvm_vm_stack_at(r.vm, 1), 0);
    run_free(&r);
}

Test(shell, exec_flattens_arrays_and_converts_values)
{
    fvm_builder *b = fvm_builder_new();
    push_str_array(b, (const char *[]){"echo", "x y"}, 2);
    emit(b, FVM_LOAD_INT(-5));
    emit(b, FVM_LOAD_FLOAT(2.5));
    push_str_array(b, NULL, 0);
    push_str_array(b, (const char *[]){"", "z"}, 2);
    emit(b, FVM_LOAD_TRUE());
    emit(b, FVM_EXEC(6));
    run_t r;
    run(&r, b);
    /* "x y" stays one argument; the empty array adds none, "" adds one. */
    cr_assert_str_eq(r.out, "x y -5 2.5  z 1\n");
    assert_status(r.res.value, 0);
    run_free(&r);
}

Test(shell, exec_programs)
{
    cr_assert_eq(exec_status((const char *[]){"sh", "-c", "exit 3"}, 3), 3);
    cr_assert_eq(exec_status((const char *[]){"sh", "-c", "exit 0"}, 3), 0);
    /* killed by a signal: 1 */
    cr_assert_eq(exec_status((const char *[]){"sh", "-c", "kill -9 $$"}, 3), 1);
    /* the argument vector arrives intact */
    cr_assert_eq(exec_status((const char *[]){"sh", "-c", "[ \"$1|$2\" = \"a b|\" ]", "-", "a b", ""},
                             6),
                 0);
}

Test(shell, exec_unspawnable_is_127)
{
    cr_assert_eq(exec_status((const char *[]){NO_PROGRAM}, 1), 127);
    cr_assert_eq(exec_status((const char *[]){NO_PROGRAM, "arg"}, 2), 127);
    cr_assert_eq(exec_status((const char *[]){""}, 1), 127);
    cr_assert_eq(exec_status((const char *[]){"/"}, 1), 127);

    /* an argument with a NUL byte cannot be passed to a program */
    fvm_builder *b = fvm_builder_new();
    push_str(b, "sh");
    emit(b, FVM_LOAD_CONST((uint16_t)fvm_add_constant(b, fvm_str("-c\0x", 4))));
    push_str(b, "exit 0");
    emit(b, FVM_EXEC(3));
    run_t r;
    run(&r, b);
    assert_status(r.res.value, 127);
    run_free(&r);
}

Test(shell, exec_leaves_last_status_alone)
{
    fvm_builder *b = fvm_builder_new();
    push_str(b, "false");
    emit(b, FVM_EXEC(1));
    emit(b, FVM_POP());
    push_str(b, NO_PROGRAM);
    emit(b, FVM_EXEC(1));
    run_t r;
    run_status(&r, b, 42);
    assert_status(r.res.value, 127);
    cr_assert_eq(fvm_vm_last_status(r.vm), 42);
    run_free(&r);
}

Test(shell, exec_inherits_stdout_and_flushes_first)
{
    make_tmpdir();
    const char *path = at("stdout");
    int saved = redirect_fd(STDOUT_FILENO, path);
    printf("before|"); /* buffered: must reach the file before the child writes */
    int32_t s = exec_status((const char *[]){"sh", "-c", "printf child"}, 3);
    restore_fd(STDOUT_FILENO, saved);
    cr_assert_eq(s, 0);
    cr_assert_str_eq(slurp(path), "before|child");
    remove_tmpdir();
}

Test(shell, exec_calls_sub_by_name)
{
    fvm_builder *b = fvm_builder_new();
    uint16_t f = name(b, "f");
    push_str(b, "f");
    push_str(b, "x");
    emit(b, FVM_LOAD_INT(7));
    emit(b, FVM_EXEC(3));
    emit(b, FVM_JUMP(7));
    /* f: gathers its arguments */
    size_t entry = fvm_current_pos(b);
    emit(b, FVM_MAKE_ARRAY(2));
    emit(b, FVM_RETURN_VALUE());
    fvm_add_sub_entry(b, f, entry);
    run_t r;
    run_status(&r, b, 9);
    /* Exec pushed no status of its own: the sub's value is all there is */
    assert_str_array(r.res.value, (const char *[]){"x", "7"}, 2);
    cr_assert_eq(fvm_vm_stack_depth(r.vm), 0);
    cr_assert_eq(fvm_vm_frame_count(r.vm), 1);
    cr_assert_eq(fvm_vm_last_status(r.vm), 9);
    cr_assert_str_eq(r.out, "");
    run_free(&r);
}

Test(shell, exec_sub_frame_holds_only_the_arguments)
{
    fvm_builder *b = fvm_builder_new();
    uint16_t f = name(b, "f");
    emit(b, FVM_LOAD_INT(100)); /* caller's value below the call */
    push_str_array(b, (const char *[]){"f", "p", "q"}, 3);
    emit(b, FVM_EXEC(1));
    emit(b, FVM_JUMP(7));
    size_t entry = fvm_current_pos(b);
    emit(b, FVM_MAKE_ARRAY(2));
    emit(b, FVM_RETURN_VALUE());
    emit(b, FVM_NOP());
    fvm_add_sub_entry(b, f, entry);
    run_t r;
    run(&r, b);
    assert_str_array(r.res.value, (const char *[]){"p", "q"}, 2);
    cr_assert_eq(fvm_vm_stack_depth(r.vm), 1);
    cr_assert_eq(fvm_vm_stack_at(r.vm, 0).as.i, 100);
    run_free(&r);
}

Test(shell, exec_name_without_sub_falls_through)
{
    fvm_builder *b = fvm_builder_new();
    name(b, "echo"); /* a global called echo, not a sub */
    push_str(b, "echo");
    push_str(b, "hi");
    emit(b, FVM_EXEC(2));
    run_t r;
    run(&r, b);
    cr_assert_str_eq(r.out, "hi\n");
    assert_status(r.res.value, 0);
    run_free(&r);
}

Test(shell, exec_sub_shadows_builtin)
{
    fvm_builder *b = fvm_builder_new();
    uint16_t f = name(b, "true");
    push_str(b, "true");
    emit(b, FVM_EXEC(1));
    emit(b, FVM_JUMP(5));
    size_t entry = fvm_current_pos(b);
    emit(b, FVM_LOAD_INT(55));
    emit(b, FVM_RETURN_VALUE());
    fvm_add_sub_entry(b, f, entry);
    run_t r;
    run(&r, b);
    cr_assert_eq(r.res.value.type, FVM_T_INT);
    cr_assert_eq(r.res.value.as.i, 55);
    run_free(&r);
}

/* ------------------------------------------------------------------------
 * ExecBg
 * ------------------------------------------------------------------------ */

Test(shell, exec_bg_does_not_wait)
{
    double t0 = now();
    fvm_builder *b = fvm_builder_new();
    push_str(b, "sleep");
    push_str(b, "2");
    emit(b, FVM_EXEC_BG(2));
    run_t r;
    run_status(&r, b, 6);
    cr_assert_lt(now() - t0, 1.5);
    assert_status(r.res.value, 0);
    cr_assert_eq(fvm_vm_last_status(r.vm), 6);
    run_free(&r);
}

Test(shell, exec_bg_silences_output_and_leaves_no_zombie)
{
    make_tmpdir();
    char script[512];
    snprintf(script, sizeof script, "echo out; echo err >&2; touch '%s'", at("flag"));
    const char *outp = at("out"), *errp = at("err");
    char outpath[256], errpath[256];
    strcpy(outpath, outp);
    strcpy(errpath, errp);
    int so = redirect_fd(STDOUT_FILENO, outpath);
    int se = redirect_fd(STDERR_FILENO, errpath);
    fvm_builder *b = fvm_builder_new();
    push_str_array(b, (const char *[]){"sh", "-c"}, 2);
    push_str(b, script);
    emit(b, FVM_EXEC_BG(2));
    run_t r;
    run(&r, b);
    bool ran = wait_for_file(at("flag"), 10.0);
    restore_fd(STDERR_FILENO, se);
    restore_fd(STDOUT_FILENO, so);
    assert_status(r.res.value, 0);
    cr_assert(ran, "the background program did not run");
    cr_assert_str_eq(slurp(outpath), "");
    cr_assert_str_eq(slurp(errpath), "");
    int st;
    errno = 0;
    cr_assert_eq(waitpid(-1, &st, WNOHANG), -1, "a child is left to reap");
    cr_assert_eq(errno, ECHILD);
    run_free(&r);
    remove_tmpdir();
}

Test(shell, exec_bg_empty_and_unspawnable)
{
    fvm_builder *b = fvm_builder_new();
    emit(b, FVM_EXEC_BG(0));
    push_str(b, NO_PROGRAM);
    emit(b, FVM_EXEC_BG(1));
    run_t r;
    run(&r, b);
    assert_status(r.res.value, 0);
    cr_assert_eq(fvm_vm_stack_depth(r.vm), 1);
    assert_status(fvm_vm_stack_at(r.vm, 0), 0);
    run_free(&r);
}

/* ------------------------------------------------------------------------
 * CallFunction
 * ------------------------------------------------------------------------ */

Test(shell, call_function_enters_sub)
{
    fvm_builder *b = fvm_builder_new();
    uint16_t f = name(b, "f");
    emit(b, FVM_LOAD_INT(100));
    push_str_array(b, (const char *[]){"p", "q"}, 2);
    emit(b, FVM_LOAD_INT(3));
    emit(b, FVM_CALL_FUNCTION(f, 2));
    emit(b, FVM_JUMP(7));
    size_t entry = fvm_current_pos(b);
    emit(b, FVM_MAKE_ARRAY(3));
    emit(b, FVM_RETURN_VALUE());
    fvm_add_sub_entry(b, f, entry);
    run_t r;
    run_status(&r, b, 9);
    assert_str_array(r.res.value, (const char *[]){"p", "q", "3"}, 3);
    cr_assert_eq(fvm_vm_stack_depth(r.vm), 1);
    cr_assert_eq(fvm_vm_stack_at(r.vm, 0).as.i, 100);
    cr_assert_eq(fvm_vm_last_status(r.vm), 9);
    run_free(&r);
}

Test(shell, call_function_spawns_and_sets_last_status)
{
    fvm_builder *b = fvm_builder_new();
    uint16_t sh = name(b, "sh");
    push_str(b, "-c");
    push_str(b, "exit 4");
    emit(b, FVM_CALL_FUNCTION(sh, 2));
    run_t r;
    run(&r, b);
    assert_status(r.res.value, 4);
    cr_assert_eq(fvm_vm_last_status(r.vm), 4);
    run_free(&r);

    b = fvm_builder_new();
    uint16_t missing = name(b, NO_PROGRAM);
    emit(b, FVM_CALL_FUNCTION(missing, 0));
    run(&r, b);
    assert_status(r.res.value, 127);
    cr_assert_eq(fvm_vm_last_status(r.vm), 127);
    run_free(&r);
}

Test(shell, call_function_has_no_builtins)
{
    /* Exec knows echo; CallFunction runs the echo program instead, which
     * writes to the real stdout, not the output hook. */
    make_tmpdir();
    char path[256];
    strcpy(path, at("stdout"));
    int saved = redirect_fd(STDOUT_FILENO, path);
    fvm_builder *b = fvm_builder_new();
    uint16_t echo = name(b, "echo");
    push_str(b, "hi");
    emit(b, FVM_CALL_FUNCTION(echo, 1));
    run_t r;
    run(&r, b);
    restore_fd(STDOUT_FILENO, saved);
    assert_status(r.res.value, 0);
    cr_assert_str_eq(r.out, "");
    cr_assert_str_eq(slurp(path), "hi\n");
    run_free(&r);
    remove_tmpdir();
}

/* ------------------------------------------------------------------------
 * Status and plumbing ops
 * ------------------------------------------------------------------------ */

Test(shell, pipeline_end_pushes_last_status)
{
    fvm_builder *b = fvm_builder_new();
    emit(b, FVM_PIPELINE_BEGIN(2));
    emit(b, FVM_PIPELINE_STAGE());
    emit(b, FVM_PIPELINE_END());
    run_t r;
    run_status(&r, b, 5);
    assert_status(r.res.value, 5);
    cr_assert_eq(fvm_vm_stack_depth(r.vm), 0);
    cr_assert_eq(fvm_vm_last_status(r.vm), 5);
    run_free(&r);
}

Test(shell, ops_without_effect)
{
    fvm_builder *b = fvm_builder_new();
    uint16_t k = kstr(b, "heredoc text");
    emit(b, FVM_LOAD_INT(1));
    emit(b, FVM_SUBSHELL_BEGIN());
    emit(b, FVM_SUBSHELL_END());
    emit(b, FVM_TRAP_CHECK());
    emit(b, FVM_HERE_DOC(k));
    emit(b, FVM_WITH_REDIRECTS_BEGIN(3));
    emit(b, FVM_WITH_REDIRECTS_END());
    emit(b, FVM_PIPELINE_BEGIN(1));
    emit(b, FVM_PIPELINE_STAGE());
    run_t r;
    run_status(&r, b, 8);
    cr_assert_eq(r.res.value.type, FVM_T_INT);
    cr_assert_eq(r.res.value.as.i, 1);
    cr_assert_eq(fvm_vm_stack_depth(r.vm), 0);
    cr_assert_eq(fvm_vm_last_status(r.vm), 8);
    cr_assert_str_eq(r.out, "");
    run_free(&r);
}

Test(shell, ops_that_pop_one)
{
    fvm_builder *b = fvm_builder_new();
    fvm_builder *sb = fvm_builder_new();
    emit(sb, FVM_NOP());
    fvm_chunk *sub = fvm_build(sb);
    fvm_builder_free(sb);
    uint16_t s = (uint16_t)fvm_add_sub_chunk(b, sub);
    emit(b, FVM_LOAD_INT(1));
    push_str(b, "/tmp/never-created-by-redirect");
    emit(b, FVM_REDIRECT(FVM_REDIR_WRITE, 1));
    push_str(b, "here string");
    emit(b, FVM_HERE_STRING());
    push_str(b, "INT");
    emit(b, FVM_TRAP_SET(s));
    run_t r;
    run(&r, b);
    cr_assert_eq(r.res.value.type, FVM_T_INT);
    cr_assert_eq(r.res.value.as.i, 1);
    cr_assert_eq(fvm_vm_stack_depth(r.vm), 0);
    cr_assert_neq(access("/tmp/never-created-by-redirect", F_OK), 0);
    run_free(&r);
}

Test(shell, substitutions_are_empty)
{
    fvm_builder *b = fvm_builder_new();
    fvm_builder *sb = fvm_builder_new();
    push_str(sb, "echo");
    push_str(sb, "never");
    emit(sb, FVM_EXEC(2));
    fvm_chunk *sub = fvm_build(sb);
    fvm_builder_free(sb);
    uint16_t s = (uint16_t)fvm_add_sub_chunk(b, sub);
    emit(b, FVM_CMD_SUBST(s));
    emit(b, FVM_PROCESS_SUB_IN(s));
    emit(b, FVM_PROCESS_SUB_OUT(s));
    run_t r;
    run(&r, b);
    assert_cstr(r.res.value, "");
    cr_assert_eq(fvm_vm_stack_depth(r.vm), 2);
    assert_cstr(fvm_vm_stack_at(r.vm, 0), "");
    assert_cstr(fvm_vm_stack_at(r.vm, 1), "");
    cr_assert_str_eq(r.out, "");
    run_free(&r);
}

/* How many operands besides the name each modifier takes (docs/OPS.md,
 * "Operand codes"). */
static const unsigned param_argc[] = {
    [FVM_PARAM_DEFAULT] = 1,     [FVM_PARAM_ASSIGN] = 1,       [FVM_PARAM_ERROR] = 1,
    [FVM_PARAM_ALTERNATE] = 1,   [FVM_PARAM_LENGTH] = 0,       [FVM_PARAM_STRIP_SHORT] = 1,
    [FVM_PARAM_STRIP_LONG] = 1,  [FVM_PARAM_RSTRIP_SHORT] = 1, [FVM_PARAM_RSTRIP_LONG] = 1,
    [FVM_PARAM_SUBST_FIRST] = 2, [FVM_PARAM_SUBST_ALL] = 2,    [FVM_PARAM_UPPER] = 0,
    [FVM_PARAM_LOWER] = 0,       [FVM_PARAM_UPPER_FIRST] = 0,  [FVM_PARAM_LOWER_FIRST] = 0,
    [FVM_PARAM_INDIRECT] = 0,    [FVM_PARAM_KEYS] = 0,         [FVM_PARAM_SLICE] = 2,
};

static void check_expand_param(unsigned modifier, unsigned argc)
{
    fvm_builder *b = fvm_builder_new();
    emit(b, FVM_LOAD_INT(1000)); /* must survive */
    push_str(b, "v");
    for (unsigned i = 0; i < argc; i++)
        emit(b, FVM_LOAD_INT(i));
    emit(b, FVM_EXPAND_PARAM((uint8_t)modifier));
    run_t r;
    run(&r, b);
    assert_cstr(r.res.value, "");
    cr_assert_eq(fvm_vm_stack_depth(r.vm), 1, "modifier %u", modifier);
    cr_assert_eq(fvm_vm_stack_at(r.vm, 0).as.i, 1000, "modifier %u", modifier);
    run_free(&r);
}

Test(shell, expand_param_operand_counts)
{
    size_t n = sizeof param_argc / sizeof param_argc[0];
    cr_assert_eq(n, 18);
    for (unsigned m = 0; m < n; m++)
        check_expand_param(m, param_argc[m]);
    check_expand_param(18, 0);
    check_expand_param(255, 0);
}

/* ------------------------------------------------------------------------
 * Words and patterns
 * ------------------------------------------------------------------------ */

static fvm_value run_unary(run_t *r, fvm_op op, fvm_value operand)
{
    fvm_builder *b = fvm_builder_new();
    emit(b, FVM_LOAD_CONST((uint16_t)fvm_add_constant(b, operand)));
    emit(b, op);
    run(r, b);
    cr_assert_eq(fvm_vm_stack_depth(r->vm), 0);
    return r->res.value;
}

static void check_split(const char *s, size_t len, const char *const *words, size_t n)
{
    run_t r;
    assert_str_array(run_unary(&r, FVM_WORD_SPLIT(), fvm_str(s, len)), words, n);
    run_free(&r);
}

#define SPLIT(lit, ...)                                                                      \
    check_split(lit, sizeof lit - 1, (const char *const[]){__VA_ARGS__},                     \
                sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

Test(shell, word_split_ascii)
{
    SPLIT("a b", "a", "b");
    SPLIT("  lead\t\ttab\nnl\rcr\vvt\fff trail  ", "lead", "tab", "nl", "cr", "vt", "ff", "trail");
    SPLIT("one", "one");
    check_split("", 0, NULL, 0);
    check_split(" \t\n ", 4, NULL, 0);
}

Test(shell, word_split_unicode_spaces)
{
    /* U+0085 U+00A0 U+1680 U+2000 U+200A U+2028 U+2029 U+202F U+205F U+3000 */
    SPLIT("a\xC2\x85"
          "b\xC2\xA0"
          "c\xE1\x9A\x80"
          "d\xE2\x80\x80"
          "e\xE2\x80\x8A"
          "f\xE2\x80\xA8"
          "g\xE2\x80\xA9"
          "h\xE2\x80\xAF"
          "i\xE2\x81\x9F"
          "j\xE3\x80\x80"
          "k",
          "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k");
    SPLIT("\xE3\x80\x80\xE3\x80\x80x\xC2\xA0 \ty\xE2\x80\x83", "x", "y");
}

Test(shell, word_split_keeps_non_spaces)
{
    /* U+200B ZERO WIDTH SPACE, U+180E, U+FEFF and the ASCII separators
     * 0x1C-0x1F are not White_Space */
    SPLIT("a\xE2\x80\x8B"
          "b",
          "a\xE2\x80\x8B"
          "b");
    SPLIT("a\xE1\xA0\x8E"
          "b\xEF\xBB\xBF"
          "c",
          "a\xE1\xA0\x8E"
          "b\xEF\xBB\xBF"
          "c");
    SPLIT("a\x1C\x1D\x1E\x1F"
          "b",
          "a\x1C\x1D\x1E\x1F"
          "b");
    /* bytes that are not UTF-8 are word characters */
    SPLIT("\xFF\xC2 \xE2\x80", "\xFF\xC2", "\xE2\x80");
}

Test(shell, word_split_nul_inside_word)
{
    run_t r;
    fvm_value v = run_unary(&r, FVM_WORD_SPLIT(), fvm_str("a\0b c", 5));
    cr_assert_eq(fvm_array_len(v), 2);
    assert_str(fvm_array_at(v, 0), "a\0b", 3);
    assert_cstr(fvm_array_at(v, 1), "c");
    run_free(&r);
}

Test(shell, word_split_of_non_string)
{
    run_t r;
    assert_str_array(run_unary(&r, FVM_WORD_SPLIT(), fvm_int(-42)), (const char *[]){"-42"}, 1);
    run_free(&r);
}

Test(shell, brace_and_tilde_are_identity)
{
    run_t r;
    assert_str_array(run_unary(&r, FVM_BRACE_EXPAND(), fvm_cstr("a{b,c}")),
                     (const char *[]){"a{b,c}"}, 1);
    run_free(&r);
    assert_str_array(run_unary(&r, FVM_BRACE_EXPAND(), fvm_int(3)), (const char *[]){"3"}, 1);
    run_free(&r);
    assert_cstr(run_unary(&r, FVM_TILDE_EXPAND(), fvm_cstr("~/x")), "~/x");
    run_free(&r);
    assert_cstr(run_unary(&r, FVM_TILDE_EXPAND(), fvm_float(1.5)), "1.5");
    run_free(&r);
}

static bool match_op(fvm_op op, fvm_value s, fvm_value pat)
{
    fvm_builder *b = fvm_builder_new();
    emit(b, FVM_LOAD_CONST((uint16_t)fvm_add_constant(b, s)));
    emit(b, FVM_LOAD_CONST((uint16_t)fvm_add_constant(b, pat)));
    emit(b, op);
    run_t r;
    run(&r, b);
    cr_assert_eq(fvm_vm_stack_depth(r.vm), 0);
    cr_assert_eq(r.res.value.type, FVM_T_BOOL);
    bool m = r.res.value.as.b;
    run_free(&r);
    return m;
}

Test(shell, str_match_is_exact_equality)
{
    cr_assert(match_op(FVM_STR_MATCH(), fvm_cstr("abc"), fvm_cstr("abc")));
    cr_assert_not(match_op(FVM_STR_MATCH(), fvm_cstr("abc"), fvm_cstr("a*")));
    cr_assert_not(match_op(FVM_STR_MATCH(), fvm_cstr("abc"), fvm_cstr("abcd")));
    cr_assert(match_op(FVM_STR_MATCH(), fvm_int(1), fvm_cstr("1")));
    cr_assert(match_op(FVM_STR_MATCH(), fvm_str("a\0b", 3), fvm_str("a\0b", 3)));
    cr_assert_not(match_op(FVM_STR_MATCH(), fvm_str("a\0b", 3), fvm_str("a\0c", 3)));
    cr_assert(match_op(FVM_STR_MATCH(), fvm_undef(), fvm_cstr("")));
}

Test(shell, regex_match_is_false)
{
    cr_assert_not(match_op(FVM_REGEX_MATCH(), fvm_cstr("abc"), fvm_cstr("abc")));
    cr_assert_not(match_op(FVM_REGEX_MATCH(), fvm_cstr("abc"), fvm_cstr(".*")));
}

static void check_glob(fvm_op op, const char *rel_pattern, const char *const *rel, size_t n)
{
    char pat[512];
    snprintf(pat, sizeof pat, "%s/%s", tmpdir, rel_pattern);
    run_t r;
    fvm_value v = run_unary(&r, op, fvm_cstr(pat));
    cr_assert_eq(v.type, FVM_T_ARRAY);
    cr_assert_eq(fvm_array_len(v), n, "%s: %zu matches", rel_pattern, fvm_array_len(v));
    for (size_t i = 0; i < n; i++)
        assert_cstr(fvm_array_at(v, i), at(rel[i]));
    run_free(&r);
}

Test(shell, glob_on_a_directory)
{
    make_tmpdir();
    write_file("b.txt", "", 0644);
    write_file("a.txt", "", 0644);
    write_file("c.log", "", 0644);
    write_file("B.txt", "", 0644);
    cr_assert_eq(mkdir(at("a"), 0755), 0);
    cr_assert_eq(mkdir(at("a.b"), 0755), 0);
    write_file("a/x", "", 0644);
    write_file("a.b/x", "", 0644);
    write_file("a\\x", "", 0644);

    check_glob(FVM_GLOB(), "*.txt", (const char *[]){"B.txt", "a.txt", "b.txt"}, 3);
    check_glob(FVM_GLOB_RECURSIVE(), "*.txt", (const char *[]){"B.txt", "a.txt", "b.txt"}, 3);
    check_glob(FVM_GLOB(), "?.log", (const char *[]){"c.log"}, 1);
    check_glob(FVM_GLOB(), "[ab].txt", (const char *[]){"a.txt", "b.txt"}, 2);
    /* component by component: a/x before a.b/x */
    check_glob(FVM_GLOB(), "*/x", (const char *[]){"a/x", "a.b/x"}, 2);
    /* backslash is an ordinary character */
    check_glob(FVM_GLOB(), "a\\*", (const char *[]){"a\\x"}, 1);
    /* a literal path matches when it exists */
    check_glob(FVM_GLOB(), "c.log", (const char *[]){"c.log"}, 1);
    check_glob(FVM_GLOB(), "*.none", NULL, 0);
    check_glob(FVM_GLOB(), "missing", NULL, 0);
    remove_tmpdir();
}

Test(shell, glob_with_nul_matches_nothing)
{
    run_t r;
    fvm_value v = run_unary(&r, FVM_GLOB(), fvm_str("/\0*", 3));
    cr_assert_eq(v.type, FVM_T_ARRAY);
    cr_assert_eq(fvm_array_len(v), 0);
    run_free(&r);
}

/* ------------------------------------------------------------------------
 * TestFile
 * ------------------------------------------------------------------------ */

static bool test_file(const char *path, size_t len, unsigned code)
{
    run_t r;
    fvm_value v = run_unary(&r, FVM_TEST_FILE((uint8_t)code), fvm_str(path, len));
    assert_bool(v, v.as.b);
    bool res = v.as.b;
    run_free(&r);
    return res;
}

enum { X_ = -1 }; /* not checked: depends on the file system */

/* Expected results for codes 0..11: -f -d -r -w -x -e -s -L -S -p -b -c */
typedef struct file_case {
    const char *rel; /* inside tmpdir, or absolute */
    int expect[12];
} file_case;

static const file_case file_cases[] = {
    {"file", {1, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0}},
    {"empty", {1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0}},
    {"exe", {1, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0}},
    {"group_exe", {1, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0}},
    {"other_exe", {1, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0}},
    {"noperm", {1, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0}},
    {"dir", {0, 1, 1, 1, 1, 1, X_, 0, 0, 0, 0, 0}},
    {"link_file", {1, 0, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0}},
    {"link_empty", {1, 0, 1, 1, 0, 1, 0, 1, 0, 0, 0, 0}},
    {"link_exe", {1, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}},
    {"link_dir", {0, 1, 1, 1, 1, 1, X_, 1, 0, 0, 0, 0}},
    {"dangling", {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}},
    {"fifo", {0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 0, 0}},
    {"link_fifo", {0, 0, 1, 1, 0, 1, 0, 1, 0, 0, 0, 0}},
    {"sock", {0, 0, 1, 1, X_, 1, 0, 0, 1, 0, 0, 0}},
    {"link_sock", {0, 0, 1, 1, X_, 1, 0, 1, 0, 0, 0, 0}},
    {"link_null", {0, 0, 1, 1, 0, 1, 0, 1, 0, 0, 0, 0}},
    {"missing", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
    {"missing/below", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
    {"/dev/null", {0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1}},
};

static void make_socket(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    cr_assert_lt(strlen(path), sizeof sa.sun_path);
    strcpy(sa.sun_path, path);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0, "bind: %s", strerror(errno));
    close(fd);
}

static void make_file_cases(void)
{
    make_tmpdir();
    write_file("file", "data", 0644);
    write_file("empty", "", 0644);
    write_file("exe", "#!/bin/sh\n", 0755);
    write_file("group_exe", "x", 0610);
    write_file("other_exe", "x", 0601);
    write_file("noperm", "x", 0000);
    cr_assert_eq(mkdir(at("dir"), 0755), 0);
    cr_assert_eq(symlink(at("file"), at("link_file")), 0);
    cr_assert_eq(symlink("empty", at("link_empty")), 0);
    cr_assert_eq(symlink("exe", at("link_exe")), 0);
    cr_assert_eq(symlink(at("dir"), at("link_dir")), 0);
    cr_assert_eq(symlink(at("nothing-here"), at("dangling")), 0);
    cr_assert_eq(mkfifo(at("fifo"), 0644), 0);
    cr_assert_eq(symlink("fifo", at("link_fifo")), 0);
    make_socket(at("sock"));
    cr_assert_eq(symlink("sock", at("link_sock")), 0);
    cr_assert_eq(symlink("/dev/null", at("link_null")), 0);
}

static const char *case_path(const file_case *c)
{
    return c->rel[0] == '/' ? c->rel : at(c->rel);
}

Test(shell, test_file_every_code)
{
    make_file_cases();
    for (size_t i = 0; i < sizeof file_cases / sizeof file_cases[0]; i++) {
        const file_case *c = &file_cases[i];
        char path[256];
        strcpy(path, case_path(c));
        for (unsigned code = 0; code < 12; code++) {
            if (c->expect[code] == X_)
                continue;
            cr_expect_eq(test_file(path, strlen(path), code), c->expect[code] == 1,
                         "%s code %u: expected %d", c->rel, code, c->expect[code]);
        }
    }
    remove_tmpdir();
}

Test(shell, test_file_unknown_codes_are_false)
{
    make_file_cases();
    char path[256];
    strcpy(path, at("file"));
    cr_assert(test_file(path, strlen(path), FVM_FILE_EXISTS));
    for (unsigned code = 12; code < 256; code++)
        cr_assert_not(test_file(path, strlen(path), code), "code %u", code);
    remove_tmpdir();
}

Test(shell, test_file_socket_execute_bit_follows_mode)
{
    make_file_cases();
    char path[256];
    strcpy(path, at("sock"));
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(test_file(path, strlen(path), FVM_FILE_IS_EXECUTABLE), (st.st_mode & 0111) != 0);
    cr_assert_eq(chmod(path, 0600), 0);
    cr_assert_not(test_file(path, strlen(path), FVM_FILE_IS_EXECUTABLE));
    cr_assert_eq(chmod(path, 0700), 0);
    cr_assert(test_file(path, strlen(path), FVM_FILE_IS_EXECUTABLE));
    remove_tmpdir();
}

/* The first block device under /dev, if the system shows one. */
static bool find_block_device(char *out, size_t cap)
{
    static const char *const candidates[] = {"/dev/loop0", "/dev/sda", "/dev/vda", "/dev/nvme0n1",
                                             "/dev/xvda", "/dev/ram0"};
    struct stat st;
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        if (lstat(candidates[i], &st) == 0 && S_ISBLK(st.st_mode)) {
            snprintf(out, cap, "%s", candidates[i]);
            return true;
        }
    }
    return false;
}

Test(shell, test_file_block_device)
{
    char dev[64];
    if (!find_block_device(dev, sizeof dev)) {
        cr_log_warn("no block device found under /dev: -b only checked for false");
        return;
    }
    cr_assert(test_file(dev, strlen(dev), FVM_FILE_IS_BLOCK_DEV));
    cr_assert_not(test_file(dev, strlen(dev), FVM_FILE_IS_CHAR_DEV));
    cr_assert_not(test_file(dev, strlen(dev), FVM_FILE_IS_FILE));
    cr_assert(test_file(dev, strlen(dev), FVM_FILE_EXISTS));
    make_tmpdir();
    char link[256];
    strcpy(link, at("link_blk"));
    cr_assert_eq(symlink(dev, link), 0);
    cr_assert_not(test_file(link, strlen(link), FVM_FILE_IS_BLOCK_DEV));
    cr_assert(test_file(link, strlen(link), FVM_FILE_IS_SYMLINK));
    remove_tmpdir();
}

Test(shell, test_file_path_with_nul_is_false)
{
    make_file_cases();
    char path[256];
    size_t n = (size_t)snprintf(path, sizeof path, "%s", at("file"));
    path[n] = 0;
    memcpy(path + n + 1, "junk", 5);
    cr_assert(test_file(path, n, FVM_FILE_EXISTS));
    cr_assert_not(test_file(path, n + 5, FVM_FILE_EXISTS));
    cr_assert_not(test_file(path, n + 5, FVM_FILE_IS_SYMLINK));
    cr_assert_not(test_file("", 0, FVM_FILE_EXISTS));
    remove_tmpdir();
}

/* ------------------------------------------------------------------------
 * Coverage of the op table
 * ------------------------------------------------------------------------ */

/* Every op flagged FVM_OPF_SHELL runs without a host, and the ops with a
 * fixed stack effect have exactly the one the op table states. */
Test(shell, every_shell_op_is_handled)
{
    unsigned handled = 0;
    for (unsigned code = 0; code < FVM_OP_COUNT; code++) {
        if (!(fvm_op_flags(code) & FVM_OPF_SHELL))
            continue;
        fvm_builder *b = fvm_builder_new();
        fvm_builder *sb = fvm_builder_new();
        emit(sb, FVM_NOP());
        fvm_chunk *sub = fvm_build(sb);
        fvm_builder_free(sb);
        cr_assert_eq(fvm_add_sub_chunk(b, sub), 0);
        cr_assert_eq(name(b, "true"), 0); /* CallFunction(0, 0) runs the true program */
        cr_assert_eq(kstr(b, "x"), 0);
        for (int i = 0; i < 4; i++)
            emit(b, FVM_LOAD_INT(i));
        fvm_op op = {(uint16_t)code, 0, 0, 0, {0}};
        emit(b, op);
        run_t r;
        run(&r, b);
        size_t depth = fvm_vm_stack_depth(r.vm) + (r.res.status == FVM_RUN_OK);
        const fvm_opinfo *info = &fvm_opinfo_table[code];
        if (info->pop >= 0 && info->push >= 0)
            cr_expect_eq(depth, (size_t)(4 - info->pop + info->push), "%s", info->name);
        run_free(&r);
        handled++;
    }
    cr_assert_eq(handled, 26);
}

Test(shell, shell_op_refuses_other_ops)
{
    fvm_builder *b = fvm_builder_new();
    emit(b, FVM_NOP());
    fvm_chunk *c = fvm_build(b);
    fvm_builder_free(b);
    fvm_vm *vm = fvm_vm_new(c);
    fvm_op add = FVM_ADD();
    cr_assert_eq(fvm_shell_op(vm, &add), FVM_STEP_ERROR);
    cr_assert_str_eq(fvm_vm_error(vm), "Add is not a shell op");
    fvm_op set = FVM_SET_STATUS();
    cr_assert_eq(fvm_shell_op(vm, &set), FVM_STEP_ERROR);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}
