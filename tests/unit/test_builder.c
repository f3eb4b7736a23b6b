/* The builder's errors, warnings, labels and reset. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <string.h>

/* Every error of a build, each with the line fvm_emit was given. */
Test(builder, errors_are_collected_with_their_lines)
{
    fvm_builder *b = fvm_builder_new();
    fvm_emit(b, FVM_LOAD_INT(1), 10);
    fvm_emit(b, FVM_LOAD_CONST(3), 11);
    fvm_emit(b, FVM_JUMP(99), 12);
    fvm_emit(b, FVM_GET_VAR(0), 13);
    cr_assert_null(fvm_build(b));
    cr_assert_eq(fvm_builder_error_count(b), 3);
    uint32_t line = 0;
    cr_assert_str_eq(fvm_builder_error_at(b, 0, &line),
                     "line 11: op 1 (LoadConst): constant index 3 out of range (the pool has 0)");
    cr_assert_eq(line, 11);
    cr_assert_str_eq(fvm_builder_error_at(b, 1, &line),
                     "line 12: op 2 (Jump): jump target 99 is past the end of the chunk (4 ops)");
    cr_assert_eq(line, 12);
    cr_assert_str_eq(fvm_builder_error_at(b, 2, NULL),
                     "line 13: op 3 (GetVar): name index 0 out of range (the pool has 0)");
    cr_assert_null(fvm_builder_error_at(b, 3, &line));
    cr_assert_str_eq(fvm_builder_error(b), fvm_builder_error_at(b, 0, NULL));
    fvm_builder_free(b);
}

/* The errors stay readable after the failed build; the next op starts a
 * new chunk, so the builder is usable again without a reset. */
Test(builder, usable_after_a_failed_build)
{
    fvm_builder *b = fvm_builder_new();
    fvm_emit(b, FVM_LOAD_CONST(0), 1);
    cr_assert_null(fvm_build(b));
    cr_assert_not_null(fvm_builder_error(b));
    fvm_emit(b, FVM_LOAD_INT(2), 1);
    cr_assert_null(fvm_builder_error(b));
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c, "%s", fvm_builder_error(b));
    cr_assert_eq(fvm_chunk_len(c), 1);
    fvm_chunk_free(c);
    fvm_builder_free(b);
}

/* An error while emitting (patching a non-jump) names the op's line;
 * fvm_builder_reset drops it with the chunk in progress. */
Test(builder, reset_drops_the_chunk_and_its_errors)
{
    fvm_builder *b = fvm_builder_new();
    fvm_add_name(b, "x", 1);
    fvm_emit(b, FVM_NOP(), 4);
    cr_assert_eq(fvm_patch_jump(b, 0, 0), -1);
    cr_assert_str_eq(fvm_builder_error(b), "line 4: patch_jump on non-jump op at 0");
    fvm_builder_reset(b);
    cr_assert_null(fvm_builder_error(b));
    cr_assert_eq(fvm_builder_error_count(b), 0);
    cr_assert_eq(fvm_current_pos(b), 0);
    cr_assert_eq(fvm_add_name(b, "y", 1), 0); /* the name pool went too */
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c, "%s", fvm_builder_error(b));
    cr_assert_eq(fvm_chunk_len(c), 0);
    cr_assert_eq(fvm_chunk_name_count(c), 1);
    fvm_chunk_free(c);
    fvm_builder_free(b);
}

/* Jumps to labels bound before and after them. */
Test(builder, labels_resolve_forward_and_backward)
{
    fvm_builder *b = fvm_builder_new();
    fvm_label top = fvm_label_new(b), done = fvm_label_new(b);
    fvm_emit(b, FVM_LOAD_INT(3), 1);
    fvm_emit(b, FVM_SET_SLOT(0), 1);
    cr_assert_eq(fvm_label_bind(b, top), 0);
    fvm_emit(b, FVM_GET_SLOT(0), 2);
    fvm_emit_jump(b, FVM_JUMP_IF_FALSE(0), done, 2);
    fvm_emit(b, FVM_GET_SLOT(0), 3);
    fvm_emit(b, FVM_DEC(), 3);
    fvm_emit(b, FVM_SET_SLOT(0), 3);
    fvm_emit_jump(b, FVM_JUMP(0), top, 4);
    cr_assert_eq(fvm_label_bind(b, done), 0);
    fvm_emit(b, FVM_GET_SLOT(0), 5);
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c, "%s", fvm_builder_error(b));
    cr_assert_eq(fvm_chunk_ops(c)[3].u.j.target, 8);
    cr_assert_eq(fvm_chunk_ops(c)[7].u.j.target, 2);
    fvm_vm *vm = fvm_vm_new(c);
    fvm_result r = fvm_vm_run(vm);
    cr_assert_eq(r.status, FVM_RUN_OK);
    cr_assert_eq(r.value.as.i, 0);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
    fvm_builder_free(b);
}

Test(builder, label_misuse_is_an_error)
{
    fvm_builder *b = fvm_builder_new();
    fvm_label l = fvm_label_new(b), never = fvm_label_new(b);
    cr_assert_eq(fvm_label_bind(b, l), 0);
    fvm_emit(b, FVM_NOP(), 1);
    cr_assert_eq(fvm_label_bind(b, l), -1);
    fvm_emit_jump(b, FVM_JUMP(0), never, 7);
    fvm_emit_jump(b, FVM_LOAD_INT(1), l, 8);
    fvm_emit_jump(b, FVM_JUMP(0), (fvm_label){42}, 9);
    cr_assert_null(fvm_build(b));
    cr_assert_eq(fvm_builder_error_count(b), 4);
    cr_assert_str_eq(fvm_builder_error_at(b, 0, NULL), "label 0 is bound twice (at op 0 and op 1)");
    cr_assert_str_eq(fvm_builder_error_at(b, 1, NULL), "line 8: op 2 (LoadInt) has no jump target to aim at a label");
    cr_assert_str_eq(fvm_builder_error_at(b, 2, NULL), "line 9: op 3: label 42 does not exist");
    cr_assert_str_eq(fvm_builder_error_at(b, 3, NULL), "line 7: op 1 jumps to label 1, which is never bound");
    fvm_builder_free(b);
}

/* A Call whose name has no sub entry builds, with a warning at its line;
 * the run fails only if the Call runs. */
Test(builder, unresolved_calls_are_warnings)
{
    fvm_builder *b = fvm_builder_new();
    uint16_t f = (uint16_t)fvm_add_name(b, "f", 1), g = (uint16_t)fvm_add_name(b, "nosuch", 6);
    fvm_emit(b, FVM_CALL(f, 0), 1);
    fvm_emit(b, FVM_CALL(g, 0), 2);
    fvm_emit(b, FVM_CALL(g, 1), 3);
    fvm_add_sub_entry(b, f, 3);
    fvm_emit(b, FVM_RETURN(), 4);
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c, "%s", fvm_builder_error(b));
    cr_assert_eq(fvm_builder_warning_count(b), 2);
    uint32_t line;
    cr_assert_str_eq(fvm_builder_warning_at(b, 0, &line), "line 2: op 1 (Call): no sub entry for 'nosuch'");
    cr_assert_eq(line, 2);
    cr_assert_str_eq(fvm_builder_warning_at(b, 1, &line), "line 3: op 2 (Call): no sub entry for 'nosuch'");
    cr_assert_null(fvm_builder_warning_at(b, 2, &line));
    cr_assert_eq(fvm_chunk_unresolved_calls(c, true, NULL, NULL), 2);
    /* The next chunk forgets them. */
    fvm_emit(b, FVM_NOP(), 1);
    cr_assert_eq(fvm_builder_warning_count(b), 0);
    fvm_vm *vm = fvm_vm_new(c);
    fvm_result r = fvm_vm_run(vm);
    cr_assert_eq(r.status, FVM_RUN_ERROR);
    cr_assert_str_eq(fvm_vm_error(vm), "undefined function: nosuch");
    fvm_vm_free(vm);
    fvm_chunk_free(c);
    fvm_builder_free(b);
}

static void count_nested(void *ud, const fvm_chunk *c, size_t ip, const char *name)
{
    size_t *n = ud;
    *n += ip * 10 + strlen(name);
}

/* Each sub-chunk's Calls resolve against its own sub entries. */
Test(builder, unresolved_calls_in_sub_chunks)
{
    fvm_builder *b = fvm_builder_new();
    uint16_t h = (uint16_t)fvm_add_name(b, "h", 1);
    fvm_emit(b, FVM_NOP(), 1);
    fvm_emit(b, FVM_CALL(h, 0), 1);
    fvm_chunk *sub = fvm_build(b);
    cr_assert_not_null(sub);
    h = (uint16_t)fvm_add_name(b, "h", 1);
    fvm_add_sub_entry(b, h, 0); /* the parent has h; the sub-chunk does not */
    fvm_add_sub_chunk(b, sub);
    fvm_emit(b, FVM_CALL(h, 0), 1);
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c);
    cr_assert_eq(fvm_builder_warning_count(b), 0);
    size_t seen = 0;
    cr_assert_eq(fvm_chunk_unresolved_calls(c, false, count_nested, &seen), 0);
    cr_assert_eq(fvm_chunk_unresolved_calls(c, true, count_nested, &seen), 1);
    cr_assert_eq(seen, 11); /* op 1, name "h" */
    fvm_chunk_free(c);
    fvm_builder_free(b);
}

Test(builder, declare_builtin_errors)
{
    fvm_builder *b = fvm_builder_new();
    cr_assert_eq(fvm_declare_builtin(b, 3, "a", 1), 0);
    cr_assert_eq(fvm_declare_builtin(b, 3, "a", 1), 0);
    cr_assert_eq(fvm_declare_builtin(b, 3, "b", 1), -1);
    cr_assert_eq(fvm_declare_builtin(b, 4, "", 0), -1);
    cr_assert_null(fvm_build(b));
    cr_assert_eq(fvm_builder_error_count(b), 2);
    cr_assert_str_eq(fvm_builder_error_at(b, 0, NULL), "builtin 3 is declared twice");
    cr_assert_str_eq(fvm_builder_error_at(b, 1, NULL), "builtin 4 is declared without a name");
    fvm_builder_free(b);
}
