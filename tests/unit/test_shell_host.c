/* The shell host (docs/HOSTS.md): with a host installed every shell op
 * calls its entry with the exact operands and pushes what it returns; a
 * NULL entry, or an entry past the installed size, leaves the op as it is
 * without a host; the capability setting; running sub-chunks for a host;
 * the shell builtin ids. */
#include "vmtest.h"

#include <stdarg.h>
#include <stddef.h>

/* ------------------------------------------------------------------------
 * A host that records its calls
 * ------------------------------------------------------------------------ */

static char calls[8192];
static int ud_token;

static void note(const char *fmt, ...)
{
    size_t len = strlen(calls);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(calls + len, sizeof calls - len, fmt, ap);
    va_end(ap);
}

#define D(v) vt_describe(v)
#define ENTRY_CHECK() cr_assert_eq(ud, &ud_token, "entries get the host's ud")

static void note_list(const char *what, const fvm_value *v, size_t n)
{
    note("%s(", what);
    for (size_t i = 0; i < n; i++)
        note("%s%s", i ? "," : "", D(v[i]));
    note(")");
}

static fvm_value h_glob(void *ud, fvm_vm *vm, fvm_value pat, bool rec)
{
    ENTRY_CHECK();
    note("glob(%s,%d)", D(pat), rec);
    return VT_ARRAY(fvm_cstr("hit"));
}
static fvm_value h_tilde(void *ud, fvm_vm *vm, fvm_value w)
{
    ENTRY_CHECK();
    note("tilde(%s)", D(w));
    return fvm_cstr("/home/u");
}
static fvm_value h_brace(void *ud, fvm_vm *vm, fvm_value w)
{
    ENTRY_CHECK();
    note("brace(%s)", D(w));
    return VT_ARRAY(fvm_cstr("a"), fvm_cstr("b"));
}
static fvm_value h_split(void *ud, fvm_vm *vm, fvm_value s)
{
    ENTRY_CHECK();
    note("split(%s)", D(s));
    return VT_ARRAY(fvm_cstr("w"));
}
static fvm_value h_param(void *ud, fvm_vm *vm, fvm_value name, unsigned mod, const fvm_value *a,
                         size_t n)
{
    ENTRY_CHECK();
    note("param(%s,%u,", D(name), mod);
    note_list("", a, n);
    note(")");
    return fvm_cstr("expanded");
}
static fvm_value h_array_index(void *ud, fvm_vm *vm, fvm_value name, fvm_value i)
{
    ENTRY_CHECK();
    note("array_index(%s,%s)", D(name), D(i));
    return fvm_int(42);
}
static const fvm_chunk *seen_sub;
static fvm_value h_cmd_subst(void *ud, fvm_vm *vm, const fvm_chunk *sub)
{
    ENTRY_CHECK();
    seen_sub = sub;
    note("cmd_subst");
    return fvm_cstr("out");
}
static fvm_value h_psub_in(void *ud, fvm_vm *vm, const fvm_chunk *sub)
{
    ENTRY_CHECK();
    seen_sub = sub;
    note("psub_in");
    return fvm_cstr("/dev/fd/63");
}
static fvm_value h_psub_out(void *ud, fvm_vm *vm, const fvm_chunk *sub)
{
    ENTRY_CHECK();
    seen_sub = sub;
    note("psub_out");
    return fvm_cstr("/dev/fd/62");
}
static void h_redirect(void *ud, fvm_vm *vm, uint8_t fd, uint8_t op, fvm_value target)
{
    ENTRY_CHECK();
    note("redirect(%u,%u,%s)", fd, op, D(target));
}
static void h_heredoc(void *ud, fvm_vm *vm, fvm_value c)
{
    ENTRY_CHECK();
    note("heredoc(%s)", D(c));
}
static void h_herestring(void *ud, fvm_vm *vm, fvm_value c)
{
    ENTRY_CHECK();
    note("herestring(%s)", D(c));
}
static void h_pipe_begin(void *ud, fvm_vm *vm, uint8_t n)
{
    ENTRY_CHECK();
    note("pipe_begin(%u)", n);
}
static void h_pipe_stage(void *ud, fvm_vm *vm)
{
    ENTRY_CHECK();
    note("pipe_stage");
}
static int32_t h_pipe_end(void *ud, fvm_vm *vm)
{
    ENTRY_CHECK();
    note("pipe_end");
    return 3;
}
static void h_sub_begin(void *ud, fvm_vm *vm)
{
    ENTRY_CHECK();
    note("subshell_begin");
}
static bool subshell_answers;
static bool h_sub_end(void *ud, fvm_vm *vm, int32_t *status)
{
    ENTRY_CHECK();
    note("subshell_end");
    *status = 9;
    return subshell_answers;
}
static void h_trap_set(void *ud, fvm_vm *vm, fvm_value sig, const fvm_chunk *handler)
{
    ENTRY_CHECK();
    seen_sub = handler;
    note("trap_set(%s)", D(sig));
}
static void h_trap_check(void *ud, fvm_vm *vm)
{
    ENTRY_CHECK();
    note("trap_check");
}
static void h_redirs_begin(void *ud, fvm_vm *vm, uint8_t n)
{
    ENTRY_CHECK();
    note("redirs_begin(%u)", n);
}
static void h_redirs_end(void *ud, fvm_vm *vm)
{
    ENTRY_CHECK();
    note("redirs_end");
}
/* Knows the function "fn" (status 5) and declines the rest. */
static bool h_call_function(void *ud, fvm_vm *vm, fvm_value name, const fvm_value *a, size_t n,
                            int32_t *status)
{
    ENTRY_CHECK();
    note("call_function(%s,", D(name));
    note_list("", a, n);
    note(")");
    size_t len;
    const char *s = fvm_str_bytes(name, &len);
    *status = 5;
    return len == 2 && memcmp(s, "fn", 2) == 0;
}
static int32_t h_exec(void *ud, fvm_vm *vm, const fvm_value *argv, size_t argc)
{
    ENTRY_CHECK();
    note_list("exec", argv, argc);
    return 7;
}
static void h_exec_bg(void *ud, fvm_vm *vm, const fvm_value *argv, size_t argc)
{
    ENTRY_CHECK();
    note_list("exec_bg", argv, argc);
}
static bool h_str_match(void *ud, fvm_vm *vm, fvm_value s, fvm_value pat)
{
    ENTRY_CHECK();
    note("str_match(%s,%s)", D(s), D(pat));
    return true;
}
static bool h_regex_match(void *ud, fvm_vm *vm, fvm_value s, fvm_value re)
{
    ENTRY_CHECK();
    note("regex_match(%s,%s)", D(s), D(re));
    return true;
}
static bool h_test_file(void *ud, fvm_vm *vm, unsigned test, fvm_value path)
{
    ENTRY_CHECK();
    note("test_file(%u,%s)", test, D(path));
    return true;
}

static fvm_shell_host recording_host(void)
{
    fvm_shell_host h = {.size = sizeof h, .ud = &ud_token};
    h.glob = h_glob;
    h.tilde_expand = h_tilde;
    h.brace_expand = h_brace;
    h.word_split = h_split;
    h.expand_param = h_param;
    h.array_index = h_array_index;
    h.cmd_subst = h_cmd_subst;
    h.process_sub_in = h_psub_in;
    h.process_sub_out = h_psub_out;
    h.redirect = h_redirect;
    h.heredoc = h_heredoc;
    h.herestring = h_herestring;
    h.pipeline_begin = h_pipe_begin;
    h.pipeline_stage = h_pipe_stage;
    h.pipeline_end = h_pipe_end;
    h.subshell_begin = h_sub_begin;
    h.subshell_end = h_sub_end;
    h.trap_set = h_trap_set;
    h.trap_check = h_trap_check;
    h.with_redirects_begin = h_redirs_begin;
    h.with_redirects_end = h_redirs_end;
    h.call_function = h_call_function;
    h.exec = h_exec;
    h.exec_bg = h_exec_bg;
    h.str_match = h_str_match;
    h.regex_match = h_regex_match;
    h.test_file = h_test_file;
    return h;
}

/* Open c with the recording host and run it; the call log starts empty. */
static void run_hosted(vt *t, fvm_chunk *c)
{
    calls[0] = 0;
    seen_sub = NULL;
    vt_open(t, c);
    fvm_shell_host h = recording_host();
    cr_assert_eq(fvm_vm_set_shell_host(t->vm, &h), 0);
    vt_run(t);
    cr_assert_neq(t->r.status, FVM_RUN_ERROR, "run failed: %s", fvm_vm_error(t->vm));
}

#define HOSTED(t, ops, consts, names) run_hosted((t), vt_chunk(ops, consts, names))
#define EXPECT_CALLS(want) cr_assert_str_eq(calls, want)

/* A chunk whose sub-chunk 0 is `sub`, with ops and constants. */
static fvm_chunk *chunk_with_sub(const fvm_op *ops, size_t n, const fvm_value *k, size_t nk,
                                 fvm_chunk *sub)
{
    fvm_builder *b = fvm_builder_new();
    for (size_t i = 0; i < nk; i++)
        fvm_add_constant(b, k[i]);
    fvm_add_name(b, "cmd", 3);
    cr_assert_eq(fvm_add_sub_chunk(b, sub), 0);
    for (size_t i = 0; i < n; i++)
        fvm_emit(b, ops[i], 1);
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c, "%s", fvm_builder_error(b));
    fvm_builder_free(b);
    return c;
}

static fvm_chunk *tiny_sub(void)
{
    return vt_chunk(VT_OPS(FVM_LOAD_INT(1)), VT_NONE, VT_NONE);
}

/* ------------------------------------------------------------------------
 * Each op through its entry
 * ------------------------------------------------------------------------ */

Test(shell_host, glob_and_glob_recursive)
{
    vt t;
    HOSTED(&t, VT_OPS(FVM_LOAD_INT(12), FVM_GLOB(), FVM_LOAD_CONST(0), FVM_GLOB_RECURSIVE()),
           VT_VALS(fvm_cstr("**/*.c")), VT_NONE);
    EXPECT_CALLS("glob(Str(\"12\"),0)glob(Str(\"**/*.c\"),1)");
    VT_EXPECT_STACK(&t, VT_ARRAY(fvm_cstr("hit")), VT_ARRAY(fvm_cstr("hit")));
    vt_close(&t);
}

Test(shell_host, word_ops)
{
    vt t;
    HOSTED(&t,
           VT_OPS(FVM_LOAD_CONST(0), FVM_TILDE_EXPAND(), FVM_LOAD_CONST(1), FVM_BRACE_EXPAND(),
                  FVM_LOAD_FLOAT(1.5), FVM_WORD_SPLIT()),
           VT_VALS(fvm_cstr("~"), fvm_cstr("{a,b}")), VT_NONE);
    EXPECT_CALLS("tilde(Str(\"~\"))brace(Str(\"{a,b}\"))split(Str(\"1.5\"))");
    VT_EXPECT_STACK(&t, fvm_cstr("/home/u"), VT_ARRAY(fvm_cstr("a"), fvm_cstr("b")),
                    VT_ARRAY(fvm_cstr("w")));
    vt_close(&t);
}

/* The name goes as its string form, the words as they are, in order. */
Test(shell_host, expand_param_operands)
{
    vt t;
    HOSTED(&t,
           VT_OPS(FVM_LOAD_CONST(0), FVM_LOAD_CONST(1), FVM_LOAD_INT(2),
                  FVM_EXPAND_PARAM(FVM_PARAM_SUBST_ALL), FVM_LOAD_INT(7),
                  FVM_EXPAND_PARAM(FVM_PARAM_LENGTH)),
           VT_VALS(fvm_cstr("v"), fvm_cstr("pat")), VT_NONE);
    EXPECT_CALLS("param(Str(\"v\"),10,(Str(\"pat\"),Int(2)))param(Str(\"7\"),4,())");
    VT_EXPECT_STACK(&t, fvm_cstr("expanded"), fvm_cstr("expanded"));
    vt_close(&t);
}

Test(shell_host, sub_chunk_ops_get_the_sub_chunk)
{
    const fvm_op ops[][1] = {{FVM_CMD_SUBST(0)}, {FVM_PROCESS_SUB_IN(0)}, {FVM_PROCESS_SUB_OUT(0)}};
    const char *want_calls[] = {"cmd_subst", "psub_in", "psub_out"};
    const char *want_str[] = {"out", "/dev/fd/63", "/dev/fd/62"};
    for (size_t i = 0; i < 3; i++) {
        vt t;
        run_hosted(&t, chunk_with_sub(ops[i], 1, NULL, 0, tiny_sub()));
        EXPECT_CALLS(want_calls[i]);
        cr_assert_eq(seen_sub, fvm_chunk_sub_chunk(t.chunk, 0));
        VT_EXPECT_STACK(&t, fvm_cstr(want_str[i]));
        vt_close(&t);
    }
}

Test(shell_host, trap_set_and_check)
{
    const fvm_op ops[] = {FVM_LOAD_CONST(0), FVM_TRAP_SET(0), FVM_TRAP_CHECK()};
    vt t;
    run_hosted(&t, chunk_with_sub(ops, 3, VT_VALS(fvm_cstr("INT")), tiny_sub()));
    EXPECT_CALLS("trap_set(Str(\"INT\"))trap_check");
    cr_assert_eq(seen_sub, fvm_chunk_sub_chunk(t.chunk, 0));
    VT_EXPECT_EMPTY(&t);
    vt_close(&t);
}

Test(shell_host, redirections_and_here_documents)
{
    vt t;
    HOSTED(&t,
           VT_OPS(FVM_WITH_REDIRECTS_BEGIN(2), FVM_LOAD_CONST(0), FVM_REDIRECT(2, FVM_REDIR_APPEND),
                  FVM_HERE_DOC(1), FVM_LOAD_INT(5), FVM_HERE_STRING(), FVM_WITH_REDIRECTS_END()),
           VT_VALS(fvm_cstr("log.txt"), fvm_int(17)), VT_NONE);
    EXPECT_CALLS("redirs_begin(2)redirect(2,1,Str(\"log.txt\"))heredoc(Str(\"17\"))"
                 "herestring(Str(\"5\"))redirs_end");
    VT_EXPECT_EMPTY(&t);
    vt_close(&t);
}

/* PipelineEnd's status becomes last_status and is pushed. */
Test(shell_host, pipeline)
{
    vt t;
    HOSTED(&t, VT_OPS(FVM_PIPELINE_BEGIN(2), FVM_PIPELINE_STAGE(), FVM_PIPELINE_END()), VT_NONE,
           VT_NONE);
    EXPECT_CALLS("pipe_begin(2)pipe_stagepipe_end");
    VT_EXPECT_STACK(&t, fvm_status(3));
    cr_assert_eq(fvm_vm_last_status(t.vm), 3);
    vt_close(&t);
}

Test(shell_host, subshell_end_sets_status_only_when_it_answers)
{
    for (int answers = 0; answers < 2; answers++) {
        subshell_answers = answers;
        vt t;
        calls[0] = 0;
        vt_open(&t, vt_chunk(VT_OPS(FVM_SUBSHELL_BEGIN(), FVM_SUBSHELL_END()), VT_NONE, VT_NONE));
        fvm_shell_host h = recording_host();
        fvm_vm_set_shell_host(t.vm, &h);
        fvm_vm_set_last_status(t.vm, 1);
        vt_run(&t);
        EXPECT_CALLS("subshell_beginsubshell_end");
        cr_assert_eq(fvm_vm_last_status(t.vm), answers ? 9 : 1);
        VT_EXPECT_EMPTY(&t);
        vt_close(&t);
    }
}

/* Exec: arrays flattened, values as strings; the chunk's subs and the
 * built-in commands come first. */
Test(shell_host, exec_gets_the_flattened_command_line)
{
    vt t;
    HOSTED(&t, VT_OPS(FVM_LOAD_CONST(0), FVM_LOAD_CONST(1), FVM_LOAD_INT(3), FVM_EXEC(3)),
           VT_VALS(fvm_cstr("ls"), VT_ARRAY(fvm_cstr("-l"), fvm_float(2.5))), VT_NONE);
    EXPECT_CALLS("exec(Str(\"ls\"),Str(\"-l\"),Str(\"2.5\"),Str(\"3\"))");
    VT_EXPECT_STACK(&t, fvm_status(7));
    cr_assert_eq(fvm_vm_last_status(t.vm), 0, "Exec leaves last_status alone");
    vt_close(&t);
}

Test(shell_host, exec_builtins_and_subs_precede_the_host)
{
    vt t;
    HOSTED(&t,
           VT_OPS(FVM_LOAD_CONST(0), FVM_LOAD_CONST(1), FVM_EXEC(2), FVM_LOAD_CONST(2), FVM_EXEC(1),
                  FVM_LOAD_CONST(3), FVM_EXEC(1)),
           VT_VALS(fvm_cstr("echo"), fvm_cstr("hi"), fvm_cstr("false"), fvm_cstr("")), VT_NONE);
    EXPECT_CALLS("exec(Str(\"\"))");
    cr_assert_str_eq(t.out, "hi\n");
    VT_EXPECT_STACK(&t, fvm_status(0), fvm_status(1), fvm_status(7));
    vt_close(&t);
}

Test(shell_host, exec_bg)
{
    vt t;
    HOSTED(&t, VT_OPS(FVM_LOAD_CONST(0), FVM_LOAD_INT(1), FVM_EXEC_BG(2), FVM_EXEC_BG(0)),
           VT_VALS(fvm_cstr("sleep")), VT_NONE);
    EXPECT_CALLS("exec_bg(Str(\"sleep\"),Str(\"1\"))");
    VT_EXPECT_STACK(&t, fvm_status(0), fvm_status(0));
    vt_close(&t);
}

/* CallFunction: the host's function, else exec of name and args; either
 * way the status becomes last_status. */
Test(shell_host, call_function_then_exec)
{
    vt t;
    HOSTED(&t,
           VT_OPS(FVM_LOAD_INT(1), FVM_CALL_FUNCTION(0, 1), FVM_LOAD_CONST(0),
                  FVM_CALL_FUNCTION(1, 1)),
           VT_VALS(VT_ARRAY(fvm_cstr("a"), fvm_cstr("b"))), VT_NAMES("fn", "ls"));
    EXPECT_CALLS("call_function(Str(\"fn\"),(Str(\"1\")))"
                 "call_function(Str(\"ls\"),(Str(\"a\"),Str(\"b\")))"
                 "exec(Str(\"ls\"),Str(\"a\"),Str(\"b\"))");
    VT_EXPECT_STACK(&t, fvm_status(5), fvm_status(7));
    cr_assert_eq(fvm_vm_last_status(t.vm), 7);
    vt_close(&t);
}

/* A host with call_function declining never reaches the chunk's sub of
 * that name; one without call_function does. */
Test(shell_host, call_function_sub_only_without_the_entry)
{
    const fvm_op ops[] = {FVM_CALL_FUNCTION(0, 0), FVM_JUMP(4), FVM_LOAD_INT(99), FVM_RETURN_VALUE(),
                          FVM_NOP()};
    for (int with_entry = 0; with_entry < 2; with_entry++) {
        vt t;
        calls[0] = 0;
        vt_open(&t, vt_chunk_subs(ops, 5, VT_NONE, VT_NAMES("f"), VT_SUBS({0, 2})));
        fvm_shell_host h = recording_host();
        if (!with_entry)
            h.call_function = NULL;
        fvm_vm_set_shell_host(t.vm, &h);
        vt_run(&t);
        if (with_entry) {
            EXPECT_CALLS("call_function(Str(\"f\"),())exec(Str(\"f\"))");
            VT_EXPECT_STACK(&t, fvm_status(7));
        } else {
            EXPECT_CALLS("");
            VT_EXPECT_STACK(&t, fvm_int(99));
        }
        vt_close(&t);
    }
}

Test(shell_host, matching)
{
    vt t;
    HOSTED(&t,
           VT_OPS(FVM_LOAD_CONST(0), FVM_LOAD_CONST(1), FVM_STR_MATCH(), FVM_LOAD_INT(1),
                  FVM_LOAD_CONST(2), FVM_REGEX_MATCH()),
           VT_VALS(fvm_cstr("file.c"), fvm_cstr("*.c"), fvm_cstr("^[0-9]$")), VT_NONE);
    EXPECT_CALLS("str_match(Str(\"file.c\"),Str(\"*.c\"))regex_match(Str(\"1\"),Str(\"^[0-9]$\"))");
    VT_EXPECT_STACK(&t, fvm_bool(true), fvm_bool(true));
    vt_close(&t);
}

Test(shell_host, test_file)
{
    vt t;
    HOSTED(&t, VT_OPS(FVM_LOAD_CONST(0), FVM_TEST_FILE(FVM_FILE_IS_DIR)),
           VT_VALS(fvm_cstr("/no/such/dir")), VT_NONE);
    EXPECT_CALLS("test_file(1,Str(\"/no/such/dir\"))");
    VT_EXPECT_STACK(&t, fvm_bool(true));
    vt_close(&t);
}

Test(shell_host, array_index_through_the_api)
{
    vt t;
    HOSTED(&t, VT_OPS(FVM_NOP()), VT_NONE, VT_NONE);
    fvm_value name = fvm_cstr("arr"), idx = fvm_int(3);
    VT_EXPECT_INT(fvm_vm_shell_array_index(t.vm, name, idx), 42);
    EXPECT_CALLS("array_index(Str(\"arr\"),Int(3))");
    fvm_vm_set_shell_host(t.vm, NULL);
    VT_EXPECT_UNDEF(fvm_vm_shell_array_index(t.vm, name, idx));
    fvm_value_drop(name);
    vt_close(&t);
}

/* ------------------------------------------------------------------------
 * Installing
 * ------------------------------------------------------------------------ */

/* An empty host (every entry NULL) changes nothing. */
Test(shell_host, null_entries_keep_the_host_free_behaviour)
{
    vt t;
    memset(&t, 0, sizeof t);
    const fvm_op ops[] = {FVM_LOAD_CONST(0), FVM_WORD_SPLIT(), FVM_LOAD_CONST(1), FVM_LOAD_CONST(2),
                          FVM_STR_MATCH(), FVM_PIPELINE_END(), FVM_CMD_SUBST(0)};
    t.chunk = chunk_with_sub(ops, 7, VT_VALS(fvm_cstr(" a  b "), fvm_cstr("x"), fvm_cstr("*")),
                             tiny_sub());
    t.vm = fvm_vm_new(t.chunk);
    fvm_shell_host h = {.size = sizeof h};
    cr_assert_eq(fvm_vm_set_shell_host(t.vm, &h), 0);
    cr_assert_not_null(fvm_vm_shell_host(t.vm));
    fvm_vm_set_last_status(t.vm, 4);
    t.r = fvm_vm_run(t.vm);
    VT_EXPECT_STACK(&t, VT_ARRAY(fvm_cstr("a"), fvm_cstr("b")), fvm_bool(false), fvm_status(4),
                    fvm_cstr(""));
    vt_close(&t);
}

/* A host compiled against a shorter struct: entries past its size are
 * NULL whatever the memory beyond holds. */
Test(shell_host, entries_past_the_size_are_null)
{
    vt t;
    calls[0] = 0;
    vt_open(&t, vt_chunk(VT_OPS(FVM_LOAD_CONST(0), FVM_GLOB(), FVM_LOAD_CONST(0), FVM_TILDE_EXPAND()),
                         VT_VALS(fvm_cstr("~nomatch*")), VT_NONE));
    fvm_shell_host h = recording_host();
    h.size = offsetof(fvm_shell_host, tilde_expand);
    cr_assert_eq(fvm_vm_set_shell_host(t.vm, &h), 0);
    vt_run(&t);
    EXPECT_CALLS("glob(Str(\"~nomatch*\"),0)");
    VT_EXPECT_STACK(&t, VT_ARRAY(fvm_cstr("hit")), fvm_cstr("~nomatch*"));
    vt_close(&t);
}

Test(shell_host, too_small_a_size_is_refused)
{
    fvm_chunk *c = vt_chunk(VT_OPS(FVM_NOP()), VT_NONE, VT_NONE);
    fvm_vm *vm = fvm_vm_new(c);
    fvm_shell_host h = recording_host();
    h.size = offsetof(fvm_shell_host, ud);
    cr_assert_eq(fvm_vm_set_shell_host(vm, &h), -1);
    cr_assert_null(fvm_vm_shell_host(vm));
    h.size = sizeof h;
    cr_assert_eq(fvm_vm_set_shell_host(vm, &h), 0);
    fvm_vm_reset(vm, c);
    cr_assert_not_null(fvm_vm_shell_host(vm), "kept across reset");
    cr_assert_eq(fvm_vm_set_shell_host(vm, NULL), 0);
    cr_assert_null(fvm_vm_shell_host(vm));
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}

/* ------------------------------------------------------------------------
 * Capabilities
 * ------------------------------------------------------------------------ */

/* Run one op sequence with the given capabilities and no host; returns the
 * error message, or "" if the run succeeded. */
static const char *run_caps(const fvm_op *ops, size_t n, const fvm_value *k, size_t nk,
                            unsigned caps, const fvm_shell_host *host)
{
    static char msg[256];
    vt t;
    vt_open(&t, chunk_with_sub(ops, n, k, nk, tiny_sub()));
    cr_assert_eq(fvm_vm_capabilities(t.vm), FVM_CAP_ALL, "the default");
    fvm_vm_set_capabilities(t.vm, caps);
    if (host)
        fvm_vm_set_shell_host(t.vm, host);
    vt_run(&t);
    snprintf(msg, sizeof msg, "%s", t.r.status == FVM_RUN_ERROR ? fvm_vm_error(t.vm) : "");
    vt_close(&t);
    return msg;
}

Test(shell_host, capabilities_refuse_system_ops)
{
    static const struct {
        fvm_op op;
        int pushes; /* operands to push first */
        unsigned cap;
        const char *msg;
    } cases[] = {
        {{FVM_OP_EXEC, 1, 0, 0, {0}}, 1, FVM_CAP_PROCESS,
         "Exec refused: this VM does not have the process capability"},
        {{FVM_OP_EXEC_BG, 1, 0, 0, {0}}, 1, FVM_CAP_PROCESS,
         "ExecBg refused: this VM does not have the process capability"},
        {{FVM_OP_CALL_FUNCTION, 0, 0, 0, {0}}, 0, FVM_CAP_PROCESS,
         "CallFunction refused: this VM does not have the process capability"},
        {{FVM_OP_PIPELINE_BEGIN, 2, 0, 0, {0}}, 0, FVM_CAP_PROCESS,
         "PipelineBegin refused: this VM does not have the process capability"},
        {{FVM_OP_PIPELINE_STAGE, 0, 0, 0, {0}}, 0, FVM_CAP_PROCESS,
         "PipelineStage refused: this VM does not have the process capability"},
        {{FVM_OP_PIPELINE_END, 0, 0, 0, {0}}, 0, FVM_CAP_PROCESS,
         "PipelineEnd refused: this VM does not have the process capability"},
        {{FVM_OP_PROCESS_SUB_IN, 0, 0, 0, {0}}, 0, FVM_CAP_PROCESS,
         "ProcessSubIn refused: this VM does not have the process capability"},
        {{FVM_OP_PROCESS_SUB_OUT, 0, 0, 0, {0}}, 0, FVM_CAP_PROCESS,
         "ProcessSubOut refused: this VM does not have the process capability"},
        {{FVM_OP_GLOB, 0, 0, 0, {0}}, 1, FVM_CAP_FILESYSTEM,
         "Glob refused: this VM does not have the file-system capability"},
        {{FVM_OP_GLOB_RECURSIVE, 0, 0, 0, {0}}, 1, FVM_CAP_FILESYSTEM,
         "GlobRecursive refused: this VM does not have the file-system capability"},
        {{FVM_OP_TEST_FILE, FVM_FILE_EXISTS, 0, 0, {0}}, 1, FVM_CAP_FILESYSTEM,
         "TestFile refused: this VM does not have the file-system capability"},
    };
    fvm_shell_host host = recording_host();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fvm_op ops[2] = {FVM_LOAD_CONST(0), cases[i].op};
        const fvm_op *p = cases[i].pushes ? ops : ops + 1;
        size_t n = cases[i].pushes ? 2 : 1;
        unsigned other = FVM_CAP_ALL & ~cases[i].cap;
        cr_assert_str_eq(run_caps(p, n, VT_VALS(fvm_cstr("/")), other, NULL), cases[i].msg);
        /* with the other capability missing instead, or a host doing the
         * work, the op runs */
        cr_assert_str_eq(run_caps(p, n, VT_VALS(fvm_cstr("true")), cases[i].cap, &host), "");
        cr_assert_str_eq(run_caps(p, n, VT_VALS(fvm_cstr("/")), 0, &host), "", "%zu", i);
    }
}

/* What runs no program is not refused: subs of the chunk, the built-in
 * commands, and the ops that never touch the system. */
Test(shell_host, capabilities_leave_the_rest_alone)
{
    const fvm_op ops[] = {FVM_LOAD_CONST(0), FVM_LOAD_CONST(1), FVM_EXEC(2), FVM_LOAD_CONST(2),
                          FVM_EXEC(1), FVM_EXEC(0), FVM_EXEC_BG(0), FVM_CMD_SUBST(0),
                          FVM_LOAD_CONST(0), FVM_WORD_SPLIT(), FVM_SUBSHELL_BEGIN(),
                          FVM_SUBSHELL_END()};
    cr_assert_str_eq(run_caps(ops, 12, VT_VALS(fvm_cstr("echo"), fvm_cstr("x"), fvm_cstr("true")),
                              0, NULL),
                     "");
}

/* ------------------------------------------------------------------------
 * Running sub-chunks for the host
 * ------------------------------------------------------------------------ */

typedef struct capture {
    char buf[256];
    size_t len;
} capture;

static void capture_out(void *ud, const char *bytes, size_t len)
{
    capture *c = ud;
    cr_assert_lt(c->len + len, sizeof c->buf);
    memcpy(c->buf + c->len, bytes, len);
    c->len += len;
}

/* cmd_subst on the same VM: capture the sub-chunk's output, restore the
 * test's output hook afterwards. */
static vt *nested_vt;
static fvm_value nested_cmd_subst(void *ud, fvm_vm *vm, const fvm_chunk *sub)
{
    capture cap = {{0}, 0};
    fvm_vm_set_output(vm, capture_out, &cap);
    fvm_result r = fvm_vm_run_nested(vm, sub);
    fvm_vm_set_output(vm, vt_capture, nested_vt);
    note("[%s %s]", vt_status_name(r.status), r.status == FVM_RUN_ERROR ? fvm_vm_error(vm) : D(r.value));
    fvm_value_drop(r.value);
    return fvm_str(cap.buf, cap.len);
}

static fvm_chunk *sub_of(const fvm_op *ops, size_t n, const fvm_value *k, size_t nk,
                         const char *const *names, size_t nn)
{
    return vt_chunk(ops, n, k, nk, names, nn);
}

Test(shell_host, nested_run_shares_globals_by_name)
{
    /* sub: print x; y = x + 1; leaves 5 on its stack */
    fvm_chunk *sub = sub_of(VT_OPS(FVM_GET_VAR(1), FVM_PRINT_LN(1), FVM_GET_VAR(1), FVM_LOAD_INT(1),
                                   FVM_ADD(), FVM_SET_VAR(0), FVM_LOAD_INT(5)),
                            VT_NONE, VT_NAMES("y", "x"));
    fvm_builder *b = fvm_builder_new();
    fvm_add_name(b, "x", 1);
    fvm_add_name(b, "y", 1);
    fvm_add_sub_chunk(b, sub);
    const fvm_op ops[] = {FVM_LOAD_INT(9), FVM_LOAD_INT(41), FVM_SET_VAR(0), FVM_PUSH_FRAME(),
                          FVM_LOAD_INT(3), FVM_SET_SLOT(0), FVM_CMD_SUBST(0), FVM_GET_SLOT(0),
                          FVM_GET_VAR(1)};
    for (size_t i = 0; i < 9; i++)
        fvm_emit(b, ops[i], 1);
    vt t;
    calls[0] = 0;
    vt_open(&t, fvm_build(b));
    fvm_builder_free(b);
    nested_vt = &t;
    fvm_shell_host h = {.size = sizeof h};
    h.cmd_subst = nested_cmd_subst;
    fvm_vm_set_shell_host(t.vm, &h);
    vt_run(&t);
    cr_assert_eq(t.r.status, FVM_RUN_OK, "%s", fvm_vm_error(t.vm));
    EXPECT_CALLS("[Ok Int(5)]");
    /* the caller's stack, frame and slot are as they were */
    VT_EXPECT_STACK(&t, fvm_int(9), fvm_cstr("41\n"), fvm_int(3), fvm_int(42));
    cr_assert_eq(fvm_vm_frame_count(t.vm), 2);
    vt_close(&t);
}

/* A sub-chunk cannot pop its caller's frames, and its error is the host's
 * to report: the caller's run goes on. */
Test(shell_host, nested_run_is_contained)
{
    fvm_chunk *sub = sub_of(VT_OPS(FVM_POP_FRAME(), FVM_POP_FRAME(), FVM_RETURN(), FVM_RETURN(),
                                   FVM_LOAD_INT(1)),
                            VT_NONE, VT_NONE);
    fvm_chunk *bad = sub_of(VT_OPS(FVM_LOAD_INT(1), FVM_LOAD_INT(0), FVM_AWK_DIV()), VT_NONE,
                            VT_NONE);
    fvm_builder *b = fvm_builder_new();
    fvm_add_sub_chunk(b, sub);
    fvm_add_sub_chunk(b, bad);
    const fvm_op ops[] = {FVM_PUSH_FRAME(), FVM_LOAD_INT(3), FVM_SET_SLOT(0), FVM_CMD_SUBST(0),
                          FVM_CMD_SUBST(1), FVM_GET_SLOT(0)};
    for (size_t i = 0; i < 6; i++)
        fvm_emit(b, ops[i], 1);
    vt t;
    calls[0] = 0;
    vt_open(&t, fvm_build(b));
    fvm_builder_free(b);
    nested_vt = &t;
    fvm_shell_host h = {.size = sizeof h};
    h.cmd_subst = nested_cmd_subst;
    fvm_vm_set_shell_host(t.vm, &h);
    vt_run(&t);
    cr_assert_eq(t.r.status, FVM_RUN_OK, "%s", fvm_vm_error(t.vm));
    EXPECT_CALLS("[Halted Undef][Error division by zero attempted]");
    VT_EXPECT_STACK(&t, fvm_cstr(""), fvm_cstr(""), fvm_int(3));
    cr_assert_eq(fvm_vm_frame_count(t.vm), 2);
    vt_close(&t);
}

/* A child VM starts with the parent's globals of the same names, hosts and
 * status, and keeps its changes to itself. */
static fvm_value child_cmd_subst(void *ud, fvm_vm *vm, const fvm_chunk *sub)
{
    fvm_vm *child = fvm_vm_new_child(vm, sub);
    cr_assert_not_null(child);
    cr_assert_eq(fvm_vm_shell_host(child)->cmd_subst, child_cmd_subst);
    cr_assert_eq(fvm_vm_capabilities(child), FVM_CAP_PROCESS);
    cr_assert_eq(fvm_vm_last_status(child), 6);
    fvm_result r = fvm_vm_run(child);
    cr_assert_eq(r.status, FVM_RUN_OK);
    fvm_vm_free(child);
    return r.value;
}

Test(shell_host, child_vm)
{
    fvm_chunk *sub = sub_of(VT_OPS(FVM_GET_VAR(0), FVM_LOAD_INT(1), FVM_ADD(), FVM_DUP(),
                                   FVM_SET_VAR(0), FVM_PRINT_LN(1), FVM_GET_VAR(0)),
                            VT_NONE, VT_NAMES("x"));
    fvm_builder *b = fvm_builder_new();
    fvm_add_name(b, "q", 1);
    fvm_add_name(b, "x", 1);
    fvm_add_sub_chunk(b, sub);
    const fvm_op ops[] = {FVM_LOAD_INT(41), FVM_SET_VAR(1), FVM_CMD_SUBST(0), FVM_GET_VAR(1)};
    for (size_t i = 0; i < 4; i++)
        fvm_emit(b, ops[i], 1);
    vt t;
    vt_open(&t, fvm_build(b));
    fvm_builder_free(b);
    fvm_shell_host h = {.size = sizeof h};
    h.cmd_subst = child_cmd_subst;
    fvm_vm_set_shell_host(t.vm, &h);
    fvm_vm_set_capabilities(t.vm, FVM_CAP_PROCESS);
    fvm_vm_set_last_status(t.vm, 6);
    vt_run(&t);
    cr_assert_eq(t.r.status, FVM_RUN_OK, "%s", fvm_vm_error(t.vm));
    cr_assert_str_eq(t.out, "42\n", "the child writes through the parent's output hook");
    VT_EXPECT_STACK(&t, fvm_int(42), fvm_int(41));
    vt_close(&t);
}

/* ------------------------------------------------------------------------
 * Builtin ids
 * ------------------------------------------------------------------------ */

#define ID(s) fvm_shell_builtin_id(s, strlen(s))

Test(shell_host, builtin_ids)
{
    cr_assert_eq(ID("cd"), 0);
    cr_assert_eq(ID("chdir"), FVM_BUILTIN_CD);
    cr_assert_eq(ID("echo"), 2);
    cr_assert_eq(ID("source"), 7);
    cr_assert_eq(ID("."), FVM_BUILTIN_SOURCE);
    cr_assert_eq(ID("exit"), 8);
    cr_assert_eq(ID("bye"), 8);
    cr_assert_eq(ID("logout"), 8);
    cr_assert_eq(ID("test"), 12);
    cr_assert_eq(ID("["), 12);
    cr_assert_eq(ID("local"), 20);
    cr_assert_eq(ID("declare"), FVM_BUILTIN_TYPESET);
    cr_assert_eq(ID("typeset"), 22);
    cr_assert_eq(ID("readarray"), FVM_BUILTIN_MAPFILE);
    cr_assert_eq(ID("bind"), FVM_BUILTIN_BINDKEY);
    cr_assert_eq(ID("read"), 30);
    cr_assert_eq(ID("break"), 40);
    cr_assert_eq(ID("jobs"), 50);
    cr_assert_eq(ID("date"), 261);
    cr_assert_eq(ID("mktemp"), 262);
    const char *unknown[] = {"", "ls", "CD", "cd ", " cd", "echo;", "cd\n"};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
        cr_assert_eq(ID(unknown[i]), -1, "%s", unknown[i]);
    cr_assert_eq(fvm_shell_builtin_id("cdx", 2), FVM_BUILTIN_CD, "the length counts");
}

/* Every id but DOT and DECLARE has a name that maps back to it, below
 * FVM_BUILTIN_MAX; 139 ids. */
Test(shell_host, builtin_names_round_trip)
{
    static const unsigned ids[] = {
#define X(E, id) FVM_BUILTIN_##E,
        FVM_SHELL_BUILTIN_LIST(X)
#undef X
    };
    cr_assert_eq(sizeof ids / sizeof *ids, 139);
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
        cr_assert_lt(ids[i], FVM_BUILTIN_MAX);
        const char *name = fvm_shell_builtin_name(ids[i]);
        if (ids[i] == FVM_BUILTIN_DOT || ids[i] == FVM_BUILTIN_DECLARE) {
            cr_assert_null(name);
            continue;
        }
        cr_assert_not_null(name, "id %u", ids[i]);
        cr_assert_eq(ID(name), (int)ids[i], "%s", name);
    }
    cr_assert_str_eq(fvm_shell_builtin_name(FVM_BUILTIN_CD), "cd");
    cr_assert_str_eq(fvm_shell_builtin_name(FVM_BUILTIN_TYPESET), "declare");
    cr_assert_null(fvm_shell_builtin_name(15));
    cr_assert_null(fvm_shell_builtin_name(FVM_BUILTIN_MAX));
}

/* A nested run with a JIT context attached: the sub-chunk's loop runs
 * natively or not, with the interpreter's result either way. */
static fvm_value loop_cmd_subst(void *ud, fvm_vm *vm, const fvm_chunk *sub)
{
    fvm_result r = fvm_vm_run_nested(vm, sub);
    cr_assert_eq(r.status, FVM_RUN_OK, "%s", fvm_vm_error(vm));
    return r.value;
}

Test(shell_host, nested_run_under_the_jit)
{
    /* slot0 = 0; for (slot1 = 0; slot1 < 1000; slot1++) slot0 += slot1; slot0 */
    fvm_chunk *sub = sub_of(VT_OPS(FVM_LOAD_INT(0), FVM_SET_SLOT(0), FVM_LOAD_INT(0), FVM_SET_SLOT(1),
                                   FVM_GET_SLOT(1), FVM_LOAD_INT(1000), FVM_NUM_LT(),
                                   FVM_JUMP_IF_FALSE(15), FVM_GET_SLOT(0), FVM_GET_SLOT(1), FVM_ADD(),
                                   FVM_SET_SLOT(0), FVM_PRE_INC_SLOT_VOID(1), FVM_JUMP(4), FVM_NOP(),
                                   FVM_GET_SLOT(0)),
                            VT_NONE, VT_NONE);
    fvm_chunk *c = chunk_with_sub(VT_OPS(FVM_CMD_SUBST(0), FVM_CMD_SUBST(0), FVM_ADD()), VT_NONE, sub);
    fvm_jit *j = fvm_jit_new();
    fvm_jit_set_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD, 0);
    vt t;
    vt_open(&t, c);
    fvm_vm_set_jit(t.vm, j);
    fvm_shell_host h = {.size = sizeof h, .cmd_subst = loop_cmd_subst};
    fvm_vm_set_shell_host(t.vm, &h);
    vt_run(&t);
    VT_EXPECT_STACK(&t, fvm_int(2 * 499500));
    fvm_jit_counters n;
    fvm_jit_stats(j, &n);
    if (fvm_jit_tier_available(FVM_JIT_BLOCK))
        cr_assert_gt(n.runs[FVM_JIT_BLOCK], 0, "the loop ran natively");
    vt_close(&t);
    fvm_jit_free(j);
}

/* The same under the tracing tier, the substitution inside a loop of the
 * caller that gets hot too: traces are recorded in both chunks and the
 * results are the interpreter's. */
Test(shell_host, nested_run_under_the_tracing_tier)
{
    fvm_chunk *sub = sub_of(VT_OPS(FVM_LOAD_INT(0), FVM_SET_SLOT(0), FVM_LOAD_INT(0), FVM_SET_SLOT(1),
                                   FVM_GET_SLOT(1), FVM_LOAD_INT(100), FVM_NUM_LT(),
                                   FVM_JUMP_IF_FALSE(15), FVM_GET_SLOT(0), FVM_GET_SLOT(1), FVM_ADD(),
                                   FVM_SET_SLOT(0), FVM_PRE_INC_SLOT_VOID(1), FVM_JUMP(4), FVM_NOP(),
                                   FVM_GET_SLOT(0)),
                            VT_NONE, VT_NONE);
    /* total = 0; for (i = 0; i < 200; i++) { total += $(sub); } total */
    const fvm_op ops[] = {FVM_LOAD_INT(0), FVM_SET_SLOT(0), FVM_LOAD_INT(0), FVM_SET_SLOT(1),
                          FVM_GET_SLOT(1), FVM_LOAD_INT(200), FVM_NUM_LT(), FVM_JUMP_IF_FALSE(15),
                          FVM_GET_SLOT(0), FVM_CMD_SUBST(0), FVM_ADD(), FVM_SET_SLOT(0),
                          FVM_PRE_INC_SLOT_VOID(1), FVM_JUMP(4), FVM_NOP(), FVM_GET_SLOT(0)};
    fvm_chunk *c = chunk_with_sub(ops, sizeof ops / sizeof *ops, VT_NONE, sub);
    fvm_jit *j = fvm_jit_new();
    fvm_jit_set_param(j, FVM_JIT_PARAM_VM_TIERS, (1u << FVM_JIT_BLOCK) | (1u << FVM_JIT_TRACE));
    fvm_jit_set_param(j, FVM_JIT_PARAM_TRACE_THRESHOLD, 2);
    vt t;
    vt_open(&t, c);
    fvm_vm_set_jit(t.vm, j);
    fvm_shell_host h = {.size = sizeof h, .cmd_subst = loop_cmd_subst};
    fvm_vm_set_shell_host(t.vm, &h);
    vt_run(&t);
    VT_EXPECT_STACK(&t, fvm_int(200 * 4950));
    vt_close(&t);
    fvm_jit_free(j);
}
