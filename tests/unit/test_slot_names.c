/* Slot names: a chunk names the slots of each subroutine (by its entry
 * ip); a live frame finds them through the subroutine it entered. Names
 * belong to the subroutine, values to each activation. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <stdlib.h>
#include <string.h>

#include "../../tools/json_chunk.h"
#include "chunktest.h"

static fvm_chunk *assemble(const char *text)
{
    char *err = NULL;
    fvm_chunk *c = fvm_assemble(text, strlen(text), "slots.fasm", &err);
    cr_assert_not_null(c, "%s", err ? err : "");
    return c;
}

/* main calls outer(5); outer calls inner(6), which calls builtin 1 to look
 * at the frames; a PushFrame scope in main looks too (builtin 2). */
static const char PROGRAM[] =
    "    PushFrame\n    CallBuiltin 2 0\n    Pop\n    PopFrame\n"
    "    LoadInt 5\n    Call outer 1\n    Jump end\n"
    ".sub outer\n.slots outer_at n total\n"
    "outer_at:\n    SetSlot 0\n    LoadInt 0\n    SetSlot 1\n"
    "    GetSlot 0\n    Inc\n    Call inner 1\n    ReturnValue\n"
    ".sub inner\n.slots inner_at k\n"
    "inner_at:\n    SetSlot 0\n    CallBuiltin 1 0\n    ReturnValue\n"
    ".sub go_body\n.slots go_at g\n"
    "go_at:\n    SetSlot 0\n    CallBuiltin 3 0\n    Pop\n    Return\n"
    "end:\n";

static fvm_value look_inside(fvm_vm *vm, uint8_t argc, void *ud)
{
    cr_assert_eq(fvm_vm_slot_name_count_at(vm, 0), 1);
    cr_assert_str_eq(fvm_vm_slot_name_at(vm, 0, 0), "k");
    cr_assert_null(fvm_vm_slot_name_at(vm, 0, 1));
    cr_assert_eq(fvm_vm_slot_of_at(vm, 0, "k"), 0);
    cr_assert_eq(fvm_vm_slot_of_at(vm, 0, "n"), -1, "outer's name is not inner's");
    /* The caller, one level up. */
    cr_assert_eq(fvm_vm_slot_name_count_at(vm, 1), 2);
    cr_assert_str_eq(fvm_vm_slot_name_at(vm, 1, 1), "total");
    cr_assert_eq(fvm_vm_slot_of_at(vm, 1, "total"), 1);
    /* The root frame has none, and there is nothing above it. */
    cr_assert_eq(fvm_vm_slot_name_count_at(vm, 2), 0);
    cr_assert_null(fvm_vm_slot_name_at(vm, 2, 0));
    cr_assert_eq(fvm_vm_slot_of_at(vm, 3, "k"), -1);
    /* Values are per activation: inner's k is 6, outer's n is 5. */
    size_t top = fvm_vm_frame_count(vm) - 1;
    cr_assert_eq(fvm_vm_frame_slot(vm, top, (size_t)fvm_vm_slot_of_at(vm, 0, "k")).as.i, 6);
    cr_assert_eq(fvm_vm_frame_slot(vm, top - 1, (size_t)fvm_vm_slot_of_at(vm, 1, "n")).as.i, 5);
    return fvm_int(42);
}

static fvm_value look_in_push_frame(fvm_vm *vm, uint8_t argc, void *ud)
{
    cr_assert_eq(fvm_vm_slot_name_count_at(vm, 0), 0, "a PushFrame scope has no subroutine");
    return fvm_undef();
}

Test(slot_names, frames_find_their_subroutines_names)
{
    fvm_chunk *c = assemble(PROGRAM);
    fvm_vm *vm = fvm_vm_new(c);
    fvm_vm_register_builtin(vm, 1, look_inside, NULL);
    fvm_vm_register_builtin(vm, 2, look_in_push_frame, NULL);
    fvm_result r = fvm_vm_run(vm);
    cr_assert_eq(r.status, FVM_RUN_OK, "%s", fvm_vm_error(vm));
    cr_assert_eq(r.value.as.i, 42);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}

static fvm_value look_in_goroutine(fvm_vm *vm, uint8_t argc, void *ud)
{
    *(int *)ud = fvm_vm_slot_of_at(vm, 0, "g");
    return fvm_undef();
}

Test(slot_names, a_goroutines_frame_has_its_subroutines_names)
{
    fvm_chunk *c = assemble(".name go_body\n    LoadInt 1\n    Go go_body 1\n"
                            "    LoadInt 0\n    ChanMake\n    LoadInt 1\n    ChanMake\n    LoadInt 0\n    ChanSend\n"
                            "    Jump end\n"
                            ".sub go_body\n.slots go_at g\n"
                            "go_at:\n    SetSlot 0\n    CallBuiltin 3 0\n    Pop\n    Return\n"
                            "end:\n");
    int found = -2;
    fvm_vm *vm = fvm_vm_new(c);
    fvm_vm_register_builtin(vm, 3, look_in_goroutine, &found);
    fvm_sched *s = fvm_sched_new(NULL, NULL);
    cr_assert_neq(fvm_sched_run(s, vm).status, FVM_RUN_ERROR, "%s", fvm_sched_error(s));
    cr_assert_eq(found, 0);
    fvm_sched_free(s);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}

Test(slot_names, the_builder_stores_replaces_and_verifies_them)
{
    fvm_builder *b = fvm_builder_new();
    const char *first[] = {"a", "b"}, *second[] = {"x"};
    fvm_emit(b, FVM_NOP(), 1);
    fvm_emit(b, FVM_NOP(), 1);
    cr_assert_eq(fvm_set_sub_slot_names(b, 1, first, 2), 0);
    cr_assert_eq(fvm_set_sub_slot_names(b, 0, second, 1), 0);
    cr_assert_eq(fvm_set_sub_slot_names(b, 0, first, 2), 0, "replaces entry 0's");
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c, "%s", fvm_builder_error(b));
    cr_assert_eq(fvm_chunk_slot_name_count(c, 0), 2);
    cr_assert_str_eq(fvm_chunk_slot_name(c, 0, 1), "b");
    cr_assert_eq(fvm_chunk_slot_name_count(c, 1), 2);
    cr_assert_eq(fvm_chunk_slot_name_count(c, 2), 0);
    cr_assert_null(fvm_chunk_slot_name(c, 1, 2));
    fvm_chunk_free(c);

    fvm_emit(b, FVM_NOP(), 1);
    fvm_set_sub_slot_names(b, 1, first, 2); /* entry ip 1 of a one-op chunk */
    cr_assert_null(fvm_build(b));
    cr_assert_str_eq(fvm_builder_error(b), "slot names for entry ip 1, past the last op");
    fvm_builder_free(b);
}

Test(slot_names, text_round_trips_and_equality_sees_them)
{
    fvm_chunk *c = assemble(PROGRAM);
    char *text = fvm_disassemble(c, 0);
    cr_assert_not_null(strstr(text, ".slots L"));
    char *err = NULL;
    fvm_chunk *back = fvm_assemble(text, strlen(text), "dis", &err);
    cr_assert_not_null(back, "%s", err ? err : "");
    cr_assert(fvm_chunk_equal(c, back));
    fvm_free(text);
    fvm_chunk_free(back);

    fvm_chunk *renamed = assemble(".sub f\n.slots 0 other\n    Nop\n");
    fvm_chunk *named = assemble(".sub f\n.slots 0 x\n    Nop\n");
    fvm_chunk *bare = assemble(".sub f\n    Nop\n");
    cr_assert(!fvm_chunk_equal(renamed, named));
    cr_assert(!fvm_chunk_equal(bare, named));
    cr_assert_eq(fvm_chunk_op_hash(bare), fvm_chunk_op_hash(named), "names are not code");

    void *bytes = NULL;
    size_t len = 0;
    cr_assert_eq(fvm_chunk_save(named, &bytes, &len), -1, "the binary format has no place for them");
    cr_assert_null(fvm_json_export(named), "nor has upstream's JSON form");
    char *json = fvm_json_export(bare);
    cr_assert_not_null(json);
    free(json);
    cr_assert_null(bytes);
    cr_assert_eq(fvm_chunk_save(bare, &bytes, &len), 0);
    fvm_free(bytes);
    fvm_chunk_free(renamed);
    fvm_chunk_free(named);
    fvm_chunk_free(bare);
    fvm_chunk_free(c);
}

Test(slot_names, the_assembler_reports_bad_slots_directives)
{
    static const char *const bad[] = {".slots\n    Nop\n", ".slots nowhere a\n    Nop\n",
                                      ".slots 0 1a\n    Nop\n", ".slots 0 a\n.slots 0 b\n    Nop\n",
                                      ".slots 1 a\n    Nop\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *err = NULL;
        fvm_chunk *c = fvm_assemble(bad[i], strlen(bad[i]), "bad", &err);
        cr_assert_null(c, "%s", bad[i]);
        cr_assert_not_null(err);
        fvm_free(err);
    }
}

static fvm_value names_after_exit(fvm_vm *vm, uint8_t argc, void *ud)
{
    *(int32_t *)ud = fvm_vm_slot_of_at(vm, 0, "x");
    return fvm_undef();
}

Test(slot_names, a_frame_the_tracing_tier_rebuilds_has_its_subroutines_names)
{
    /* The loop calls f, which the trace inlines; at i == 150 f takes a
     * branch the trace never saw, so native code exits inside f and its
     * frame is rebuilt, and the builtin on that branch looks at it. */
    fvm_chunk *c = assemble("    LoadInt 0\n    SetSlot 0\n"
                            "top:\n    GetSlot 0\n    Call f 1\n    Pop\n"
                            "    GetSlot 0\n    LoadInt 1\n    Add\n    SetSlot 0\n"
                            "    GetSlot 0\n    LoadInt 200\n    NumLt\n    JumpIfTrue top\n"
                            "    Jump end\n"
                            ".sub f\n.slots f_at x\n"
                            "f_at:\n    SetSlot 0\n    GetSlot 0\n    LoadInt 150\n    NumEq\n    JumpIfFalse out\n"
                            "    CallBuiltin 1 0\n    Pop\n"
                            "out:\n    GetSlot 0\n    ReturnValue\n"
                            "end:\n");
    for (int mode = 0; mode < CT_JIT_MODES; mode++) {
        int32_t found = -2;
        fvm_jit *j = ct_jit_for_mode(mode);
        fvm_vm *vm = fvm_vm_new(c);
        fvm_vm_set_jit(vm, j);
        fvm_vm_register_builtin(vm, 1, names_after_exit, &found);
        fvm_result r = fvm_vm_run(vm);
        cr_assert_neq(r.status, FVM_RUN_ERROR, "%s", fvm_vm_error(vm));
        cr_assert_eq(found, 0, "JIT mode %d", mode);
        fvm_vm_free(vm);
        fvm_jit_free(j);
    }
    fvm_chunk_free(c);
}
