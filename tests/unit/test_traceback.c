/* Frames and tracebacks: each frame's subroutine, op, line and source,
 * read live from a builtin and kept after an error ends a run, and the
 * traceback as text. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <stdio.h>
#include <string.h>

static fvm_chunk *assemble(const char *text)
{
    char *err = NULL;
    fvm_chunk *c = fvm_assemble(text, strlen(text), "tb.fasm", &err);
    cr_assert_not_null(c, "%s", err ? err : "");
    return c;
}

static void expect_frame(const fvm_frame_info *fi, const char *name, size_t ip, uint32_t line,
                         const char *source)
{
    if (name)
        cr_assert_str_eq(fi->name, name);
    else
        cr_assert_null(fi->name);
    cr_assert_eq(fi->ip, ip);
    cr_assert_eq(fi->line, line);
    if (source)
        cr_assert_str_eq(fi->source, source);
    else
        cr_assert_null(fi->source);
}

/* The root calls first, first calls second, and second (at op 7, line 9)
 * does what the op at line 9 says: {{OP}}. */
static fvm_chunk *three_frames(const char *failing_op)
{
    char text[1024];
    snprintf(text, sizeof text,
             ".source \"prog.src\"\n"   /* line 1 */
             "    LoadInt 1\n"          /* op 0 */
             "    Call first 0\n"       /* op 1, line 3 */
             "    Jump end\n"
             ".sub first\n"
             "    Call second 0\n"      /* op 3, line 6 */
             "    ReturnValue\n"
             ".sub second\n"
             "    LoadInt 3\n"          /* op 5 */
             "    %s\n"                 /* op 6, line 10 */
             "    ReturnValue\n"
             ".name missing\n"
             "end:\n",
             failing_op);
    return assemble(text);
}

Test(traceback, an_error_three_frames_deep)
{
    fvm_chunk *c = three_frames("Call missing 0");
    fvm_vm *vm = fvm_vm_new(c);
    cr_assert_null(fvm_vm_traceback(vm, "file"));
    fvm_result r = fvm_vm_run(vm);
    cr_assert_eq(r.status, FVM_RUN_ERROR);
    cr_assert_eq(fvm_vm_error_ip(vm), 6);
    cr_assert_eq(fvm_vm_traceback_count(vm), 3);
    fvm_frame_info fi;
    cr_assert(fvm_vm_traceback_frame(vm, 0, &fi));
    expect_frame(&fi, NULL, 1, 3, "prog.src");
    cr_assert(fvm_vm_traceback_frame(vm, 1, &fi));
    expect_frame(&fi, "first", 3, 6, "prog.src");
    cr_assert(fvm_vm_traceback_frame(vm, 2, &fi));
    expect_frame(&fi, "second", 6, 10, "prog.src");
    cr_assert_not(fvm_vm_traceback_frame(vm, 3, &fi));

    char *text = fvm_vm_traceback(vm, "ignored: the chunk names its source");
    cr_assert_str_eq(text, "prog.src:10: undefined function: missing\n"
                           "stack traceback:\n"
                           "\tprog.src:10: in sub 'second' (op 6)\n"
                           "\tprog.src:6: in sub 'first' (op 3)\n"
                           "\tprog.src:3: in the main program (op 1)\n");
    fvm_free(text);

    /* Kept across a run that succeeds; dropped by a reset. */
    fvm_chunk *ok = assemble("LoadInt 1\n");
    fvm_vm_reset(vm, c);
    fvm_vm_free(vm);
    vm = fvm_vm_new(c);
    fvm_vm_run(vm);
    fvm_vm_reset(vm, ok);
    cr_assert_eq(fvm_vm_traceback_count(vm), 0);
    cr_assert_null(fvm_vm_traceback(vm, NULL));
    fvm_vm_free(vm);
    fvm_chunk_free(ok);
    fvm_chunk_free(c);
}

/* Frames as a builtin sees them while the program runs. */
typedef struct seen {
    size_t count;
    fvm_frame_info frames[4];
} seen;

static fvm_value look_at_frames(fvm_vm *vm, uint8_t argc, void *ud)
{
    (void)argc;
    seen *s = ud;
    s->count = fvm_vm_frame_count(vm);
    for (size_t f = 0; f < s->count && f < 4; f++)
        cr_assert(fvm_vm_frame_info(vm, f, &s->frames[f]));
    cr_assert_not(fvm_vm_frame_info(vm, s->count, &s->frames[0]));
    return fvm_int(0);
}

Test(traceback, live_frames_from_a_builtin)
{
    fvm_chunk *c = three_frames("CallBuiltin 0 0");
    fvm_vm *vm = fvm_vm_new(c);
    seen s = {0};
    fvm_vm_register_builtin(vm, 0, look_at_frames, &s);
    fvm_result r = fvm_vm_run(vm);
    cr_assert_eq(r.status, FVM_RUN_OK, "%s", fvm_vm_error(vm));
    cr_assert_eq(s.count, 3);
    expect_frame(&s.frames[0], NULL, 1, 3, "prog.src");
    expect_frame(&s.frames[1], "first", 3, 6, "prog.src");
    expect_frame(&s.frames[2], "second", 6, 10, "prog.src");
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}

static fvm_value raise_error(fvm_vm *vm, uint8_t argc, void *ud)
{
    (void)argc;
    (void)ud;
    fvm_vm_raise(vm, "bad input");
    return fvm_undef();
}

/* An error a builtin raises is traced from its CallBuiltin; without a
 * source name in the chunk, the one given to the formatter is used. */
Test(traceback, an_error_a_builtin_raises)
{
    fvm_chunk *c = assemble("    Call f 0\n"
                            "    Jump end\n"
                            ".sub f\n"
                            "    CallBuiltin 0 0\n"
                            "    ReturnValue\n"
                            "end:\n");
    fvm_vm *vm = fvm_vm_new(c);
    fvm_vm_register_builtin(vm, 0, raise_error, NULL);
    fvm_result r = fvm_vm_run(vm);
    cr_assert_eq(r.status, FVM_RUN_ERROR);
    char *text = fvm_vm_traceback(vm, "given.fasm");
    cr_assert_str_eq(text, "given.fasm:4: bad input\n"
                           "stack traceback:\n"
                           "\tgiven.fasm:4: in sub 'f' (op 2)\n"
                           "\tgiven.fasm:1: in the main program (op 0)\n");
    fvm_free(text);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}

/* A chunk built without lines and without a source name. */
Test(traceback, without_lines_or_source)
{
    fvm_builder *b = fvm_builder_new();
    int32_t f = fvm_add_name(b, "f", 1);
    fvm_emit(b, FVM_CALL((uint16_t)f, 0), 0);
    fvm_emit(b, FVM_JUMP(5), 0);
    fvm_add_sub_entry(b, (uint16_t)f, 2);
    fvm_emit(b, FVM_PUSH_FRAME(), 0);
    fvm_emit(b, FVM_LOAD_INT(-1), 0);
    fvm_emit(b, FVM_CALL_DYNAMIC(0), 0);
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c, "%s", fvm_builder_error(b));
    fvm_builder_free(b);
    fvm_vm *vm = fvm_vm_new(c);
    fvm_result r = fvm_vm_run(vm);
    cr_assert_eq(r.status, FVM_RUN_ERROR);
    char *text = fvm_vm_traceback(vm, NULL);
    cr_assert_str_eq(text, "?: call of a nil or unknown function value\n"
                           "stack traceback:\n"
                           "\t?: in a frame (op 4)\n"
                           "\t?: in sub 'f' (op 2)\n"
                           "\t?: in the main program (op 0)\n");
    fvm_free(text);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}
