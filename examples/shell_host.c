/* A tiny shell host: the commands echo, upper, count and show, word
 * splitting on a colon, a three-stage pipeline and a command substitution,
 * all in this process. The host does all the work, so the VM is given no
 * capability to start programs or read the file system.
 *
 *   cc -std=c11 -Iinclude examples/shell_host.c build/libfusevm.a -lm -o shell_host
 *
 * It runs the program in `script` below (what a shell would compile
 *   echo hello world
 *   IFS=: show $(echo "a:b::c")
 *   echo one two three | upper | count
 *   x=$(echo hi there); echo "x is [$x]"
 * into) and prints:
 *   hello world
 *   [a] [b] [] [c]
 *   3 words: ONE TWO THREE
 *   x is [hi there]
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusevm.h"

static const char script[] =
    "    LoadConst \"hello\"\n"
    "    LoadConst \"world\"\n"
    "    CallFunction echo 2\n"
    "    Pop\n"
    /* show $(...): the substitution's words, split by the host */
    "    CmdSubst fields\n"
    "    WordSplit\n"
    "    CallFunction show 1\n"
    "    Pop\n"
    "    PipelineBegin 3\n"
    "    LoadConst \"one two three\"\n"
    "    CallFunction echo 1\n"
    "    Pop\n"
    "    PipelineStage\n"
    "    CallFunction upper 0\n"
    "    Pop\n"
    "    PipelineStage\n"
    "    CallFunction count 0\n"
    "    Pop\n"
    "    PipelineEnd\n"
    "    Pop\n"
    "    CmdSubst hi\n"
    "    SetVar x\n"
    "    LoadConst \"x is [\"\n"
    "    GetVar x\n"
    "    LoadConst \"]\"\n"
    "    Concat\n"
    "    Concat\n"
    "    CallFunction echo 1\n"
    "    Pop\n"
    ".chunk fields\n"
    "    LoadConst \"a:b::c\"\n"
    "    CallFunction echo 1\n"
    ".end\n"
    ".chunk hi\n"
    "    LoadConst \"hi\"\n"
    "    LoadConst \"there\"\n"
    "    CallFunction echo 2\n"
    ".end\n";

/* Bytes collected in memory. */
typedef struct text {
    char *data;
    size_t len;
} text;

static void text_add(text *t, const char *bytes, size_t len)
{
    t->data = realloc(t->data, t->len + len + 1);
    memcpy(t->data + t->len, bytes, len);
    t->len += len;
    t->data[t->len] = 0;
}

/* The shell: where output goes (a capture while a pipeline stage or a
 * substitution runs, else stdout) and what the current stage reads. */
typedef struct shell {
    text *out;  /* NULL: stdout */
    text stage; /* the running pipeline stage's output */
    text input; /* the previous stage's output */
} shell;

static void say(shell *sh, const char *bytes, size_t len)
{
    if (sh->out)
        text_add(sh->out, bytes, len);
    else
        fwrite(bytes, 1, len, stdout);
}

/* The VM's own output (Print, PrintLn) goes where the commands' does. */
static void vm_output(void *ud, const char *bytes, size_t len)
{
    say(ud, bytes, len);
}

static const char *str(fvm_value v, size_t *len)
{
    const char *s = fvm_str_bytes(v, len); /* the host receives Str values */
    return s ? s : "";
}

/* The commands. Each returns its exit status. */
static int32_t run_echo(shell *sh, const fvm_value *args, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *s = str(args[i], &len);
        if (i)
            say(sh, " ", 1);
        say(sh, s, len);
    }
    say(sh, "\n", 1);
    return 0;
}

static int32_t run_upper(shell *sh)
{
    for (size_t i = 0; i < sh->input.len; i++) {
        char c = (char)toupper((unsigned char)sh->input.data[i]);
        say(sh, &c, 1);
    }
    return 0;
}

static int32_t run_count(shell *sh)
{
    size_t words = 0;
    for (size_t i = 0; i < sh->input.len; i++)
        words += !isspace((unsigned char)sh->input.data[i]) &&
                 (i == 0 || isspace((unsigned char)sh->input.data[i - 1]));
    char line[32];
    say(sh, line, (size_t)snprintf(line, sizeof line, "%zu words: ", words));
    say(sh, sh->input.data ? sh->input.data : "", sh->input.len);
    return 0;
}

static int32_t run_show(shell *sh, const fvm_value *args, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *s = str(args[i], &len);
        say(sh, i ? " [" : "[", i ? 2 : 1);
        say(sh, s, len);
        say(sh, "]", 1);
    }
    say(sh, "\n", 1);
    return 0;
}

/* CallFunction: our commands; anything else is not found (returning false
 * would pass it to exec, which would refuse it: no process capability). */
static bool call_function(void *ud, fvm_vm *vm, fvm_value name, const fvm_value *args, size_t n,
                          int32_t *status)
{
    (void)vm;
    shell *sh = ud;
    const char *cmd = str(name, &(size_t){0});
    if (strcmp(cmd, "echo") == 0)
        *status = run_echo(sh, args, n);
    else if (strcmp(cmd, "upper") == 0)
        *status = run_upper(sh);
    else if (strcmp(cmd, "count") == 0)
        *status = run_count(sh);
    else if (strcmp(cmd, "show") == 0)
        *status = run_show(sh, args, n);
    else
        *status = 127;
    return true;
}

/* Word splitting with IFS=":": every colon ends a field, so empty fields
 * stay (the default splits on white space and drops them). */
static fvm_value word_split(void *ud, fvm_vm *vm, fvm_value s)
{
    (void)ud;
    (void)vm;
    size_t len;
    const char *p = str(s, &len);
    fvm_value words = fvm_array_new();
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || p[i] == ':') {
            fvm_array_push(&words, fvm_str(p + start, i - start));
            start = i + 1;
        }
    }
    return words;
}

/* A pipeline: each stage's output is captured and becomes the next
 * stage's input; the last stage's goes to stdout. */
static void pipeline_begin(void *ud, fvm_vm *vm, uint8_t n)
{
    (void)vm;
    (void)n;
    shell *sh = ud;
    sh->stage.len = 0;
    sh->out = &sh->stage;
}

static void pipeline_stage(void *ud, fvm_vm *vm)
{
    (void)vm;
    shell *sh = ud;
    text next = sh->input;
    sh->input = sh->stage;
    sh->stage = next;
    sh->stage.len = 0;
}

static int32_t pipeline_end(void *ud, fvm_vm *vm)
{
    shell *sh = ud;
    sh->out = NULL;
    say(sh, sh->stage.data ? sh->stage.data : "", sh->stage.len);
    sh->input.len = 0;
    return fvm_vm_last_status(vm);
}

/* $(...): run the sub-chunk on this VM with its output captured, and drop
 * the trailing newlines as a shell does. */
static fvm_value cmd_subst(void *ud, fvm_vm *vm, const fvm_chunk *sub)
{
    shell *sh = ud;
    text *outer = sh->out, captured = {0};
    sh->out = &captured;
    fvm_result r = fvm_vm_run_nested(vm, sub);
    sh->out = outer;
    if (r.status == FVM_RUN_ERROR)
        fprintf(stderr, "substitution failed: %s\n", fvm_vm_error(vm));
    fvm_value_drop(r.value);
    while (captured.len && captured.data[captured.len - 1] == '\n')
        captured.len--;
    fvm_value v = fvm_str(captured.data ? captured.data : "", captured.len);
    free(captured.data);
    return v;
}

int main(void)
{
    char *errors;
    fvm_chunk *chunk = fvm_assemble(script, strlen(script), "script", &errors);
    if (!chunk) {
        fprintf(stderr, "%s", errors);
        fvm_free(errors);
        return 1;
    }
    shell sh = {0};
    fvm_shell_host host = {
        .size = sizeof host,
        .ud = &sh,
        .call_function = call_function,
        .word_split = word_split,
        .pipeline_begin = pipeline_begin,
        .pipeline_stage = pipeline_stage,
        .pipeline_end = pipeline_end,
        .cmd_subst = cmd_subst,
    };
    fvm_vm *vm = fvm_vm_new(chunk);
    fvm_vm_set_shell_host(vm, &host);
    fvm_vm_set_output(vm, vm_output, &sh);
    fvm_vm_set_capabilities(vm, 0); /* the host does everything itself */
    fvm_result r = fvm_vm_run(vm);
    int rc = 0;
    if (r.status == FVM_RUN_ERROR) {
        fprintf(stderr, "error: %s\n", fvm_vm_error(vm));
        rc = 1;
    }
    fvm_value_drop(r.value);
    fvm_vm_free(vm);
    fvm_chunk_free(chunk);
    free(sh.stage.data);
    free(sh.input.data);
    return rc;
}
