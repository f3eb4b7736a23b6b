/* The builder, the verifier, op_hash and the VM's embedding API
 * (docs/OPS.md, "Execution model", "Builtins and extensions"): stack and
 * slot access, builtins, extension handlers, halting and raising from
 * handlers, output and input hooks, limits. */
#include "vmtest.h"

#include <unistd.h>

/* ------------------------------------------------------------------------
 * Builder
 * ------------------------------------------------------------------------ */

Test(builder, emit_indices_and_current_pos)
{
    fvm_builder *b = fvm_builder_new();
    cr_assert_eq(fvm_current_pos(b), 0);
    cr_assert_eq(fvm_emit(b, FVM_LOAD_INT(1), 10), 0);
    cr_assert_eq(fvm_emit(b, FVM_LOAD_INT(2), 11), 1);
    cr_assert_eq(fvm_current_pos(b), 2);
    cr_assert_eq(fvm_emit(b, FVM_ADD(), 12), 2);
    cr_assert_eq(fvm_current_pos(b), 3);
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c);
    cr_assert_eq(fvm_chunk_len(c), 3);
    cr_assert_eq(fvm_chunk_line(c, 0), 10);
    cr_assert_eq(fvm_chunk_line(c, 2), 12);
    cr_assert_eq(fvm_chunk_line(c, 3), 0);
    cr_assert_eq(fvm_chunk_ops(c)[1].u.i, 2);
    /* The builder is empty again and can build another chunk. */
    cr_assert_eq(fvm_current_pos(b), 0);
    cr_assert_eq(fvm_emit(b, FVM_NOP(), 1), 0);
    fvm_chunk *c2 = fvm_build(b);
    cr_assert_not_null(c2);
    cr_assert_eq(fvm_chunk_len(c2), 1);
    fvm_chunk_free(c);
    fvm_chunk_free(c2);
    fvm_builder_free(b);
}

Test(builder, patch_jump_every_jump_kind)
{
    const unsigned codes[] = {FVM_OP_JUMP, FVM_OP_JUMP_IF_TRUE, FVM_OP_JUMP_IF_FALSE, FVM_OP_JUMP_IF_TRUE_KEEP,
                              FVM_OP_JUMP_IF_FALSE_KEEP};
    fvm_builder *b = fvm_builder_new();
    for (size_t i = 0; i < 5; i++)
        fvm_emit(b, FVM_JUMP(0), 1);
    for (size_t i = 0; i < 5; i++) {
        fvm_op o = vt_op(codes[i]);
        fvm_emit(b, o, 1);
    }
    for (size_t i = 0; i < 5; i++)
        cr_assert_eq(fvm_patch_jump(b, 5 + i, 10), 0, "%s", fvm_op_name(codes[i]));
    cr_assert_eq(fvm_patch_jump(b, 0, 7), 0);
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c, "%s", fvm_builder_error(b));
    for (size_t i = 0; i < 5; i++)
        cr_assert_eq(fvm_chunk_ops(c)[5 + i].u.j.target, 10);
    cr_assert_eq(fvm_chunk_ops(c)[0].u.j.target, 7);
    fvm_chunk_free(c);
    fvm_builder_free(b);
}

static void expect_patch_failure(fvm_op op, size_t at, const char *msg)
{
    fvm_builder *b = fvm_builder_new();
    fvm_emit(b, FVM_NOP(), 1);
    fvm_emit(b, op, 2);
    cr_assert_null(fvm_builder_error(b));
    cr_assert_eq(fvm_patch_jump(b, at, 0), -1);
    cr_assert_str_eq(fvm_builder_error(b), msg);
    cr_assert_null(fvm_build(b));
    cr_assert_str_eq(fvm_builder_error(b), msg);
    fvm_builder_free(b);
}

Test(builder, patch_jump_on_non_jump_fails_the_build)
{
    expect_patch_failure(FVM_LOAD_INT(1), 1, "line 2: patch_jump on non-jump op at 1");
    expect_patch_failure(FVM_LOAD_INT(1), 0, "line 1: patch_jump on non-jump op at 0");
    /* Fused branches cannot be patched. */
    expect_patch_failure(FVM_SLOT_LT_INT_JUMP_IF_FALSE(0, 1, 0), 1, "line 2: patch_jump on non-jump op at 1");
    expect_patch_failure(FVM_SLOT_INC_LT_INT_JUMP_BACK(0, 1, 0), 1, "line 2: patch_jump on non-jump op at 1");
    expect_patch_failure(FVM_JUMP(0), 7, "patch_jump on non-jump op at 7 (no such op)");
}

Test(builder, add_name_interns)
{
    fvm_builder *b = fvm_builder_new();
    cr_assert_eq(fvm_add_name(b, "x", 1), 0);
    cr_assert_eq(fvm_add_name(b, "y", 1), 1);
    cr_assert_eq(fvm_add_name(b, "x", 1), 0);
    cr_assert_eq(fvm_add_name(b, "a\0b", 3), 2);
    cr_assert_eq(fvm_add_name(b, "a", 1), 3);
    cr_assert_eq(fvm_add_name(b, "", 0), 4);
    cr_assert_eq(fvm_add_name(b, "a\0b", 3), 2);
    fvm_chunk *c = fvm_build(b);
    cr_assert_eq(fvm_chunk_name_count(c), 5);
    size_t len;
    const char *n = fvm_chunk_name(c, 2, &len);
    cr_assert(len == 3 && memcmp(n, "a\0b", 3) == 0);
    cr_assert_null(fvm_chunk_name(c, 5, &len));
    cr_assert_eq(len, 0);
    fvm_chunk_free(c);
    fvm_builder_free(b);
}

Test(builder, constants_are_not_deduplicated)
{
    fvm_builder *b = fvm_builder_new();
    cr_assert_eq(fvm_add_constant(b, fvm_int(1)), 0);
    cr_assert_eq(fvm_add_constant(b, fvm_int(1)), 1);
    cr_assert_eq(fvm_add_constant(b, fvm_cstr("s")), 2);
    fvm_chunk *c = fvm_build(b);
    cr_assert_eq(fvm_chunk_constant_count(c), 3);
    VT_EXPECT_STR(fvm_value_copy(fvm_chunk_constant(c, 2)), "s");
    VT_EXPECT_UNDEF(fvm_value_copy(fvm_chunk_constant(c, 3)));
    fvm_chunk_free(c);
    fvm_builder_free(b);
}

/* The pool holds 65536 entries (indices 0..65535); the next add is -1 and
 * drops the value instead of aliasing index 0. */
Test(builder, constant_pool_full)
{
    fvm_builder *b = fvm_builder_new();
    for (int32_t i = 0; i < 65536; i++)
        cr_assert_eq(fvm_add_constant(b, fvm_int(i)), i);
    cr_assert_eq(fvm_add_constant(b, fvm_cstr("one too many")), -1);
    cr_assert_eq(fvm_add_constant(b, fvm_int(0)), -1);
    fvm_emit(b, FVM_LOAD_CONST(65535), 1);
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c, "%s", fvm_builder_error(b));
    cr_assert_eq(fvm_chunk_constant_count(c), 65536);
    fvm_vm *vm = fvm_vm_new(c);
    fvm_result r = fvm_vm_run(vm);
    cr_assert_eq(r.status, FVM_RUN_OK);
    VT_EXPECT_INT(r.value, 65535);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
    fvm_builder_free(b);
}

Test(builder, name_pool_full)
{
    fvm_builder *b = fvm_builder_new();
    char name[16];
    for (int32_t i = 0; i < 65536; i++) {
        int n = snprintf(name, sizeof name, "n%d", i);
        cr_assert_eq(fvm_add_name(b, name, (size_t)n), i);
    }
    cr_assert_eq(fvm_add_name(b, "fresh", 5), -1);
    cr_assert_eq(fvm_add_name(b, "n65535", 6), 65535); /* known names still resolve */
    cr_assert_eq(fvm_add_name(b, "n0", 2), 0);
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c);
    cr_assert_eq(fvm_chunk_name_count(c), 65536);
    fvm_chunk_free(c);
    fvm_builder_free(b);
}

Test(builder, sub_entries_blocks_subchunks_source)
{
    fvm_builder *sb = fvm_builder_new();
    fvm_emit(sb, FVM_LOAD_INT(1), 1);
    fvm_chunk *sub = fvm_build(sb);
    fvm_builder_free(sb);

    fvm_builder *b = fvm_builder_new();
    fvm_add_name(b, "f", 1);
    fvm_add_name(b, "g", 1);
    cr_assert_eq(fvm_add_sub_entry(b, 1, 2), 0);
    cr_assert_eq(fvm_add_sub_entry(b, 1, 1), 0);
    cr_assert_eq(fvm_add_block_range(b, 0, 2), 0);
    cr_assert_eq(fvm_add_block_range(b, 1, 2), 1);
    cr_assert_eq(fvm_add_sub_chunk(b, sub), 0);
    cr_assert_eq(fvm_add_sub_chunk(b, NULL), -1);
    fvm_set_source(b, "old.fasm", 8);
    fvm_set_source(b, "prog.fasm", 9);
    fvm_emit(b, FVM_NOP(), 1);
    fvm_emit(b, FVM_GET_SLOT(3), 1);
    fvm_emit(b, FVM_ADD_ASSIGN_SLOT_VOID(1, 9), 1);
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c, "%s", fvm_builder_error(b));
    cr_assert_eq(fvm_chunk_sub_entry_count(c), 2);
    uint16_t name;
    size_t ip;
    fvm_chunk_sub_entry(c, 0, &name, &ip);
    cr_assert(name == 1 && ip == 2);
    cr_assert_eq(fvm_chunk_find_sub(c, 1), 2); /* the first entry wins */
    cr_assert_eq(fvm_chunk_find_sub(c, 0), -1);
    cr_assert_eq(fvm_chunk_find_sub(c, 9), -1);
    size_t s, e;
    fvm_chunk_block_range(c, 1, &s, &e);
    cr_assert(s == 1 && e == 2);
    cr_assert_eq(fvm_chunk_block_range_count(c), 2);
    cr_assert_eq(fvm_chunk_sub_chunk_count(c), 1);
    cr_assert_eq(fvm_chunk_len(fvm_chunk_sub_chunk(c, 0)), 1);
    cr_assert_null(fvm_chunk_sub_chunk(c, 1));
    size_t len;
    cr_assert_str_eq(fvm_chunk_source(c, &len), "prog.fasm");
    cr_assert_eq(len, 9);
    cr_assert_eq(fvm_chunk_max_slot(c), 9);
    fvm_chunk_free(c);
    fvm_builder_free(b);
}

/* ------------------------------------------------------------------------
 * Verifier
 * ------------------------------------------------------------------------ */

/* Build ops over one constant, one name and no sub-chunks, every op on
 * line 1; the build must fail with exactly msg, after the line. */
static void expect_verify_error(const fvm_op *ops, size_t n, const char *msg)
{
    char want[256];
    snprintf(want, sizeof want, "line 1: %s", msg);
    fvm_builder *b = fvm_builder_new();
    fvm_add_constant(b, fvm_cstr("k"));
    fvm_add_name(b, "x", 1);
    fvm_add_block_range(b, 0, 0);
    for (size_t i = 0; i < n; i++)
        fvm_emit(b, ops[i], 1);
    cr_assert_null(fvm_build(b), "built despite: %s", msg);
    cr_assert_str_eq(fvm_builder_error(b), want);
    fvm_builder_free(b);
}

Test(verifier, bad_operands_name_the_op)
{
    expect_verify_error(VT_OPS(FVM_NOP(), FVM_NOP(), FVM_LOAD_CONST(5)),
                        "op 2 (LoadConst): constant index 5 out of range (the pool has 1)");
    expect_verify_error(VT_OPS(FVM_LOAD_CONST(1)), "op 0 (LoadConst): constant index 1 out of range (the pool has 1)");
    expect_verify_error(VT_OPS(FVM_GET_VAR(3)), "op 0 (GetVar): name index 3 out of range (the pool has 1)");
    expect_verify_error(VT_OPS(FVM_NOP(), FVM_CALL(1, 0)), "op 1 (Call): name index 1 out of range (the pool has 1)");
    expect_verify_error(VT_OPS(FVM_NOP(), FVM_JUMP(10), FVM_NOP()),
                        "op 1 (Jump): jump target 10 is past the end of the chunk (3 ops)");
    expect_verify_error(VT_OPS(FVM_SLOT_LT_INT_JUMP_IF_FALSE(0, 5, 2)),
                        "op 0 (SlotLtIntJumpIfFalse): jump target 2 is past the end of the chunk (1 ops)");
    expect_verify_error(VT_OPS(FVM_CMD_SUBST(0)), "op 0 (CmdSubst): sub-chunk index 0 out of range (the pool has 0)");
    expect_verify_error(VT_OPS(FVM_MAP_BLOCK(1)), "op 0 (MapBlock): block range index 1 out of range (the pool has 1)");
    expect_verify_error(VT_OPS(FVM_CONCAT_CONST_LOOP(1, 0, 1, 3)),
                        "op 0 (ConcatConstLoop): constant index 1 out of range (the pool has 1)");
    expect_verify_error(VT_OPS(FVM_PUSH_INT_RANGE_LOOP(2, 0, 3)),
                        "op 0 (PushIntRangeLoop): name index 2 out of range (the pool has 1)");
}

Test(verifier, u8_operand_above_255)
{
    fvm_op print = FVM_PRINT(0);
    print.a = 300;
    expect_verify_error(VT_OPS(FVM_NOP(), print), "op 1 (Print): operand 1 is 300, above its limit 255");
    fvm_op call = FVM_CALL(0, 0);
    call.b = 256;
    expect_verify_error(VT_OPS(call), "op 0 (Call): operand 2 is 256, above its limit 255");
    fvm_op redirect = FVM_REDIRECT(1, 0);
    redirect.b = 999;
    expect_verify_error(VT_OPS(redirect), "op 0 (Redirect): operand 2 is 999, above its limit 255");
}

Test(verifier, unknown_opcode)
{
    fvm_op bad = vt_op(FVM_OP_COUNT + 5);
    char msg[64];
    snprintf(msg, sizeof msg, "op 0: unknown opcode %u", (unsigned)(FVM_OP_COUNT + 5));
    expect_verify_error(VT_OPS(bad), msg);
}

Test(verifier, sub_entry_out_of_range)
{
    fvm_builder *b = fvm_builder_new();
    fvm_add_name(b, "f", 1);
    fvm_emit(b, FVM_NOP(), 1);
    fvm_add_sub_entry(b, 0, 1); /* entry == len is allowed */
    fvm_add_sub_entry(b, 3, 0);
    cr_assert_null(fvm_build(b));
    cr_assert_str_eq(fvm_builder_error(b), "sub entry 1: name 3 or entry 0 out of range");
    fvm_builder_free(b);
    b = fvm_builder_new();
    fvm_add_name(b, "f", 1);
    fvm_emit(b, FVM_NOP(), 1);
    fvm_add_sub_entry(b, 0, 2);
    cr_assert_null(fvm_build(b));
    cr_assert_str_eq(fvm_builder_error(b), "sub entry 0: name 0 or entry 2 out of range");
    fvm_builder_free(b);
}

/* Targets up to len are valid: len ends the run. */
Test(verifier, target_equal_to_len_is_valid)
{
    fvm_result r = vt_eval(VT_OPS(FVM_JUMP(1)), VT_NONE, VT_NONE);
    cr_assert_eq(r.status, FVM_RUN_HALTED);
}

/* ------------------------------------------------------------------------
 * op_hash
 * ------------------------------------------------------------------------ */

static uint64_t hash_of_chunk(fvm_chunk *c)
{
    uint64_t h = fvm_chunk_op_hash(c);
    fvm_chunk_free(c);
    return h;
}

/* Hash of [LoadConst 0; GetVar 0] over one constant (taken), name and line base. */
static uint64_t hash_with(fvm_value k, const char *name, uint32_t line)
{
    fvm_builder *b = fvm_builder_new();
    fvm_add_constant(b, k);
    fvm_add_name(b, name, strlen(name));
    fvm_emit(b, FVM_LOAD_CONST(0), line);
    fvm_emit(b, FVM_GET_VAR(0), line + 1);
    fvm_chunk *c = fvm_build(b);
    fvm_builder_free(b);
    return hash_of_chunk(c);
}

Test(op_hash, ignores_names_and_lines)
{
    uint64_t h = hash_with(fvm_cstr("a"), "x", 1);
    cr_assert_neq(h, 0);
    cr_assert_eq(hash_with(fvm_cstr("a"), "other", 100), h);
    cr_assert_eq(hash_with(fvm_cstr("a"), "x", 1), h);
}

Test(op_hash, differs_for_different_constants_and_ops)
{
    uint64_t h = hash_with(fvm_cstr("a"), "x", 1);
    cr_assert_neq(hash_with(fvm_cstr("b"), "x", 1), h);
    cr_assert_neq(hash_with(fvm_int(1), "x", 1), hash_with(fvm_float(1.0), "x", 1));
    cr_assert_neq(hash_with(fvm_float(0.0), "x", 1), hash_with(fvm_float(-0.0), "x", 1));
    cr_assert_neq(hash_with(fvm_int(1), "x", 1), hash_with(fvm_status(1), "x", 1));
    cr_assert_eq(hash_with(fvm_float(NAN), "x", 1), hash_with(fvm_float(NAN), "x", 1));
    uint64_t one = hash_of_chunk(vt_chunk(VT_OPS(FVM_LOAD_INT(1)), VT_NONE, VT_NONE));
    uint64_t two = hash_of_chunk(vt_chunk(VT_OPS(FVM_LOAD_INT(2)), VT_NONE, VT_NONE));
    uint64_t flt = hash_of_chunk(vt_chunk(VT_OPS(FVM_LOAD_FLOAT(1.0)), VT_NONE, VT_NONE));
    cr_assert_neq(one, two);
    cr_assert_neq(one, flt);
    cr_assert_neq(hash_of_chunk(vt_chunk(VT_OPS(FVM_ADD(), FVM_SUB()), VT_NONE, VT_NONE)),
                  hash_of_chunk(vt_chunk(VT_OPS(FVM_SUB(), FVM_ADD()), VT_NONE, VT_NONE)));
}

Test(op_hash, nonzero_even_when_empty)
{
    cr_assert_neq(hash_of_chunk(vt_chunk(NULL, 0, VT_NONE, VT_NONE)), 0);
}

/* Operand fields an op's format does not use do not change the hash. */
Test(op_hash, unused_fields_are_ignored)
{
    fvm_op dirty = FVM_ADD();
    dirty.a = 7;
    dirty.u.i = 99;
    cr_assert_eq(hash_of_chunk(vt_chunk(VT_OPS(dirty), VT_NONE, VT_NONE)),
                 hash_of_chunk(vt_chunk(VT_OPS(FVM_ADD()), VT_NONE, VT_NONE)));
}

Test(op_hash, hash_constant_order_independent)
{
    fvm_value h1 = fvm_hash_new(), h2 = fvm_hash_new(), h3 = fvm_hash_new();
    fvm_hash_set(&h1, "a", 1, fvm_int(1));
    fvm_hash_set(&h1, "b", 1, fvm_int(2));
    fvm_hash_set(&h2, "b", 1, fvm_int(2));
    fvm_hash_set(&h2, "a", 1, fvm_int(1));
    fvm_hash_set(&h3, "a", 1, fvm_int(2));
    fvm_hash_set(&h3, "b", 1, fvm_int(1));
    uint64_t x = hash_with(h1, "n", 1), y = hash_with(h2, "n", 1), z = hash_with(h3, "n", 1);
    cr_assert_eq(x, y);
    cr_assert_neq(x, z);
}

/* ------------------------------------------------------------------------
 * VM: stack, slots, globals
 * ------------------------------------------------------------------------ */

Test(vm_api, new_null_and_version)
{
    cr_assert_null(fvm_vm_new(NULL));
    cr_assert_str_eq(fvm_version(), FVM_VERSION_STRING);
}

Test(vm_api, push_pop_peek)
{
    vt t;
    vt_open(&t, vt_chunk(VT_OPS(FVM_ADD()), VT_NONE, VT_NONE));
    VT_EXPECT_UNDEF(fvm_vm_pop(t.vm));
    VT_EXPECT_UNDEF(fvm_value_copy(fvm_vm_peek(t.vm)));
    VT_EXPECT_UNDEF(fvm_value_copy(fvm_vm_stack_at(t.vm, 0)));
    cr_assert_eq(fvm_vm_stack_depth(t.vm), 0);
    fvm_vm_push(t.vm, fvm_int(40));
    fvm_vm_push(t.vm, fvm_cstr("2"));
    cr_assert_eq(fvm_vm_stack_depth(t.vm), 2);
    VT_EXPECT_STR(fvm_value_copy(fvm_vm_peek(t.vm)), "2");
    VT_EXPECT_INT(fvm_value_copy(fvm_vm_stack_at(t.vm, 0)), 40);
    VT_EXPECT_STR(fvm_vm_pop(t.vm), "2");
    fvm_vm_push(t.vm, fvm_int(2));
    vt_run(&t); /* values pushed before the run are operands */
    VT_EXPECT_STACK(&t, fvm_int(42));
    vt_close(&t);
}

Test(vm_api, slots_and_globals)
{
    vt t;
    vt_open(&t, vt_chunk(VT_OPS(FVM_GET_SLOT(5), FVM_GET_VAR(1), FVM_LOAD_INT(3), FVM_SET_SLOT(0)), VT_NONE,
                         VT_NAMES("a", "b")));
    VT_EXPECT_UNDEF(fvm_vm_get_slot(t.vm, 5));
    fvm_vm_set_slot(t.vm, 5, fvm_cstr("five"));
    VT_EXPECT_STR(fvm_vm_get_slot(t.vm, 5), "five");
    cr_assert_eq(fvm_vm_frame_slot_count(t.vm, 0), 6);
    fvm_vm_set_slot(t.vm, 5, fvm_cstr("FIVE")); /* replaces, releasing the old value */
    fvm_vm_set_slot(t.vm, 1000, fvm_int(1));    /* beyond any slot the chunk names */
    cr_assert_eq(fvm_vm_frame_slot_count(t.vm, 0), 1001);
    cr_assert_eq(fvm_vm_global_count(t.vm), 2);
    fvm_vm_set_global(t.vm, 1, fvm_cstr("gb"));
    fvm_vm_set_global(t.vm, 2, fvm_cstr("dropped"));
    VT_EXPECT_UNDEF(fvm_value_copy(fvm_vm_global(t.vm, 2)));
    vt_run(&t);
    VT_EXPECT_STACK(&t, fvm_cstr("FIVE"), fvm_cstr("gb"));
    VT_EXPECT_INT(fvm_vm_get_slot(t.vm, 0), 3);
    VT_EXPECT_INT(fvm_vm_get_slot(t.vm, 1000), 1);
    vt_close(&t);
}

Test(vm_api, last_status)
{
    vt t;
    vt_open(&t, vt_chunk(VT_OPS(FVM_GET_STATUS(), FVM_LOAD_FLOAT(-3.7), FVM_SET_STATUS(), FVM_GET_STATUS(),
                                FVM_LOAD_INT((1LL << 32) + 5), FVM_SET_STATUS(), FVM_GET_STATUS(),
                                FVM_LOAD_INT(0xffffffffLL), FVM_SET_STATUS()),
                         VT_NONE, VT_NONE));
    cr_assert_eq(fvm_vm_last_status(t.vm), 0);
    fvm_vm_set_last_status(t.vm, 4);
    vt_run(&t);
    /* SetStatus truncates to 32 bits */
    VT_EXPECT_STACK(&t, fvm_status(4), fvm_status(-3), fvm_status(5));
    cr_assert_eq(fvm_vm_last_status(t.vm), -1);
    vt_close(&t);
}

/* ------------------------------------------------------------------------
 * Builtins and extension handlers
 * ------------------------------------------------------------------------ */

typedef struct calls {
    int n;
    uint8_t argc;
    uint16_t id;
    uint8_t arg;
    uint64_t payload;
} calls;

/* Pops b then a (arguments were pushed in source order); returns a - b. */
static fvm_value builtin_sub(fvm_vm *vm, uint8_t argc, void *ud)
{
    calls *c = ud;
    c->n++;
    c->argc = argc;
    fvm_value b = fvm_vm_pop(vm), a = fvm_vm_pop(vm);
    fvm_value r = fvm_int(fvm_to_int(a) - fvm_to_int(b));
    fvm_value_drop(a);
    fvm_value_drop(b);
    return r;
}

static fvm_value builtin_str(fvm_vm *vm, uint8_t argc, void *ud)
{
    return fvm_cstr("other");
}

Test(vm_api, register_builtin)
{
    calls c = {0};
    vt t;
    vt_open(&t, vt_chunk(VT_OPS(FVM_LOAD_INT(9), FVM_LOAD_INT(10), FVM_LOAD_INT(4), FVM_CALL_BUILTIN(3, 2),
                                FVM_LOAD_INT(1), FVM_CALL_BUILTIN(999, 1), FVM_CALL_BUILTIN(2, 0)),
                         VT_NONE, VT_NONE));
    fvm_vm_register_builtin(t.vm, 3, builtin_sub, &c);
    fvm_vm_register_builtin(t.vm, 1000, builtin_str, NULL); /* grows the table past 999 */
    vt_run(&t);
    /* 999 is unregistered: an error at its op, by default. */
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_ERROR);
    cr_assert_str_eq(fvm_vm_error(t.vm), "CallBuiltin 999: no builtin is registered with this id");
    cr_assert_eq(fvm_vm_error_ip(t.vm), 5);
    cr_assert_eq(c.n, 1);
    cr_assert_eq(c.argc, 2);
    /* Upstream's behaviour on request: no effect, arguments stay. */
    fvm_vm_reset(t.vm, t.chunk);
    fvm_vm_ignore_missing_handlers(t.vm, true);
    vt_run(&t);
    VT_EXPECT_STACK(&t, fvm_int(9), fvm_int(6), fvm_int(1));
    cr_assert_eq(c.n, 2);
    vt_close(&t);
}

/* A chunk names its builtins; the VM binds each declared id to the builtin
 * registered under that name, whatever id the VM gave it. */
static fvm_value builtin_ten(fvm_vm *vm, uint8_t argc, void *ud)
{
    return fvm_int(10);
}

static fvm_chunk *chunk_declaring(const fvm_op *ops, size_t n, uint16_t id, const char *name)
{
    fvm_builder *b = fvm_builder_new();
    for (size_t i = 0; i < n; i++)
        fvm_emit(b, ops[i], (uint32_t)i + 1);
    cr_assert_eq(fvm_declare_builtin(b, id, name, strlen(name)), 0);
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c, "%s", fvm_builder_error(b));
    fvm_builder_free(b);
    return c;
}

Test(vm_api, builtins_bind_by_name)
{
    calls c = {0};
    vt t;
    vt_open(&t, chunk_declaring(VT_OPS(FVM_LOAD_INT(9), FVM_LOAD_INT(4), FVM_CALL_BUILTIN(7, 2)), 7, "sub"));
    uint16_t id = 99;
    cr_assert_str_eq(fvm_chunk_builtin(t.chunk, 0, &id), "sub");
    cr_assert_eq(id, 7);
    cr_assert_eq(fvm_chunk_builtin_count(t.chunk), 1);
    cr_assert_null(fvm_chunk_builtin(t.chunk, 1, &id));
    /* Id 7 here is another builtin, which the declared name overrides. */
    fvm_vm_register_builtin(t.vm, 7, builtin_ten, NULL);
    fvm_vm_register_builtin_named(t.vm, 2, "sub", builtin_sub, &c);
    vt_run(&t);
    VT_EXPECT_STACK(&t, fvm_int(5));
    cr_assert_eq(c.n, 1);
    vt_close(&t);
}

Test(vm_api, declared_builtin_missing_fails_before_the_first_op)
{
    vt t;
    fvm_builder *b = fvm_builder_new();
    fvm_add_constant(b, fvm_cstr("started"));
    fvm_emit(b, FVM_LOAD_CONST(0), 1);
    fvm_emit(b, FVM_PRINT_LN(1), 1);
    fvm_emit(b, FVM_CALL_BUILTIN(7, 0), 2);
    fvm_declare_builtin(b, 7, "sqrt", 4);
    vt_open(&t, fvm_build(b));
    fvm_builder_free(b);
    /* The VM has a builtin 7, under another name: not the one meant. */
    fvm_vm_register_builtin_named(t.vm, 7, "cbrt", builtin_ten, NULL);
    vt_run(&t);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_ERROR);
    cr_assert_str_eq(fvm_vm_error(t.vm),
                     "the chunk expects builtin 'sqrt' (CallBuiltin 7), which is not registered");
    cr_assert_str_eq(t.out, ""); /* nothing ran */
    /* Ignoring missing handlers, the run starts and the call does nothing. */
    fvm_vm_reset(t.vm, t.chunk);
    fvm_vm_ignore_missing_handlers(t.vm, true);
    vt_run(&t);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    cr_assert_str_eq(t.out, "started\n");
    /* Registering the name afterwards binds it. */
    fvm_vm_reset(t.vm, t.chunk);
    fvm_vm_ignore_missing_handlers(t.vm, false);
    fvm_vm_register_builtin_named(t.vm, 0, "sqrt", builtin_ten, NULL);
    vt_run(&t);
    VT_EXPECT_STACK(&t, fvm_int(10));
    vt_close(&t);
}

/* A name registered again moves: the old id keeps its handler by id only. */
Test(vm_api, builtin_name_moves_when_registered_again)
{
    calls c = {0};
    vt t;
    vt_open(&t, chunk_declaring(VT_OPS(FVM_LOAD_INT(9), FVM_LOAD_INT(4), FVM_CALL_BUILTIN(0, 2)), 0, "f"));
    fvm_vm_register_builtin_named(t.vm, 5, "f", builtin_ten, NULL);
    fvm_vm_register_builtin_named(t.vm, 6, "f", builtin_sub, &c);
    vt_run(&t);
    VT_EXPECT_STACK(&t, fvm_int(5));
    vt_close(&t);
}

Test(vm_api, reregistering_overwrites)
{
    calls c = {0};
    vt t;
    vt_open(&t, vt_chunk(VT_OPS(FVM_LOAD_INT(1), FVM_LOAD_INT(1), FVM_CALL_BUILTIN(0, 2)), VT_NONE, VT_NONE));
    fvm_vm_register_builtin(t.vm, 0, builtin_sub, &c);
    fvm_vm_register_builtin(t.vm, 0, builtin_str, NULL);
    vt_run(&t);
    VT_EXPECT_STACK(&t, fvm_int(1), fvm_int(1), fvm_cstr("other"));
    cr_assert_eq(c.n, 0);
    vt_close(&t);
}

/* Pushes id * 1000 + arg. */
static void ext_push(fvm_vm *vm, uint16_t id, uint8_t arg, void *ud)
{
    calls *c = ud;
    c->n++;
    fvm_vm_push(vm, fvm_int(id * 1000 + arg));
}

Test(vm_api, extended_handler)
{
    calls c = {0};
    vt t;
    vt_open(&t, vt_chunk(VT_OPS(FVM_LOAD_INT(1), FVM_EXTENDED(7, 3), FVM_EXTENDED(65535, 255)), VT_NONE,
                         VT_NONE));
    vt_run(&t); /* no handler: an error */
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_ERROR);
    cr_assert_str_eq(fvm_vm_error(t.vm), "Extended 7: no extension handler is set");
    cr_assert_eq(fvm_vm_error_ip(t.vm), 1);
    fvm_vm_reset(t.vm, t.chunk);
    fvm_vm_ignore_missing_handlers(t.vm, true);
    vt_run(&t); /* upstream's behaviour: no effect */
    VT_EXPECT_STACK(&t, fvm_int(1));
    fvm_vm_reset(t.vm, t.chunk);
    fvm_vm_ignore_missing_handlers(t.vm, false);
    fvm_vm_set_extension_handler(t.vm, ext_push, &c);
    vt_run(&t);
    VT_EXPECT_STACK(&t, fvm_int(1), fvm_int(7003), fvm_int(65535255));
    cr_assert_eq(c.n, 2);
    vt_close(&t);
}

/* While the handler runs it is detached: a nested run reaching another
 * Extended finds no handler (which these tests ignore, as upstream).
 * Afterwards it is attached again. */
static void ext_nested(fvm_vm *vm, uint16_t id, uint8_t arg, void *ud)
{
    calls *c = ud;
    c->n++;
    c->arg = arg;
    if (arg == 0) {
        fvm_result r = fvm_vm_run(vm); /* runs the rest of the chunk */
        c->payload = r.status == FVM_RUN_OK ? (uint64_t)fvm_to_int(r.value) : 0;
        fvm_value_drop(r.value);
    }
}

Test(vm_api, extended_handler_detached_while_running)
{
    calls c = {0};
    vt t;
    vt_open(&t, vt_chunk(VT_OPS(FVM_EXTENDED(1, 0), FVM_EXTENDED(1, 1), FVM_LOAD_INT(5)), VT_NONE, VT_NONE));
    fvm_vm_set_extension_handler(t.vm, ext_nested, &c);
    fvm_vm_ignore_missing_handlers(t.vm, true);
    vt_run(&t);
    cr_assert_eq(c.n, 1);          /* the nested Extended found no handler */
    cr_assert_eq(c.payload, 5);    /* the nested run ended with LoadInt 5 */
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    vt_close(&t);
    c.n = 0;
    /* Attached again after the call: both Extended ops reach it. */
    vt_open(&t, vt_chunk(VT_OPS(FVM_EXTENDED(1, 2), FVM_EXTENDED(1, 1)), VT_NONE, VT_NONE));
    fvm_vm_set_extension_handler(t.vm, ext_nested, &c);
    vt_run(&t);
    cr_assert_eq(c.n, 2);
    cr_assert_eq(c.arg, 1);
    vt_close(&t);
}

/* A handler that removes itself stays removed: the VM only reattaches the
 * handler it detached when nobody installed another (or none) meanwhile. */
static void ext_once(fvm_vm *vm, uint16_t id, uint8_t arg, void *ud)
{
    calls *c = ud;
    c->n++;
    fvm_vm_set_extension_handler(vm, NULL, NULL);
}

Test(vm_api, extended_handler_can_uninstall_itself)
{
    calls c = {0};
    vt t;
    vt_open(&t, vt_chunk(VT_OPS(FVM_EXTENDED(1, 0), FVM_EXTENDED(1, 0)), VT_NONE, VT_NONE));
    fvm_vm_set_extension_handler(t.vm, ext_once, &c);
    vt_run(&t);
    cr_assert_eq(c.n, 1); /* the second Extended found no handler */
    vt_close(&t);
}

static void ext_wide(fvm_vm *vm, uint16_t id, uint64_t payload, void *ud)
{
    calls *c = ud;
    c->n++;
    c->id = id;
    c->payload = payload;
}

/* Ids 40000..40999 are AWK ops and never reach the wide handler. */
Test(vm_api, extended_wide)
{
    calls c = {0};
    vt t;
    vt_open(&t, vt_chunk(VT_OPS(FVM_EXTENDED_WIDE(39999, UINT64_MAX), FVM_EXTENDED_WIDE(40999, 1),
                                FVM_EXTENDED_WIDE(40000 + 900, 2), FVM_EXTENDED_WIDE(41000, 1ull << 40)),
                         VT_NONE, VT_NONE));
    vt_run(&t); /* no wide handler: an error at the first non-AWK id */
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_ERROR);
    cr_assert_str_eq(fvm_vm_error(t.vm), "ExtendedWide 39999: no wide extension handler is set");
    fvm_vm_reset(t.vm, t.chunk);
    fvm_vm_ignore_missing_handlers(t.vm, true);
    vt_run(&t); /* upstream's behaviour: no effect */
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    fvm_vm_reset(t.vm, t.chunk);
    fvm_vm_ignore_missing_handlers(t.vm, false);
    fvm_vm_set_extension_wide_handler(t.vm, ext_wide, &c);
    vt_run(&t);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    cr_assert_eq(c.n, 2);
    cr_assert_eq(c.id, 41000);
    cr_assert_eq(c.payload, 1ull << 40);
    vt_close(&t);
}

/* ------------------------------------------------------------------------
 * Halting and raising from handlers
 * ------------------------------------------------------------------------ */

static fvm_value builtin_halt(fvm_vm *vm, uint8_t argc, void *ud)
{
    fvm_vm_request_halt(vm);
    return fvm_int(argc);
}

Test(vm_api, request_halt_from_builtin)
{
    vt t;
    vt_open(&t, vt_chunk(VT_OPS(FVM_LOAD_INT(1), FVM_CALL_BUILTIN(4, 7), FVM_LOAD_CONST(0), FVM_PRINT(1),
                                FVM_LOAD_INT(2)),
                         VT_VALS(fvm_cstr("after")), VT_NONE));
    fvm_vm_register_builtin(t.vm, 4, builtin_halt, NULL);
    vt_run(&t); /* stops after the CallBuiltin, whose result is pushed */
    VT_EXPECT_STACK(&t, fvm_int(1), fvm_int(7));
    cr_assert_str_eq(t.out, "");
    vt_run(&t); /* still halted */
    VT_EXPECT_STACK(&t, fvm_int(1));
    fvm_vm_clear_halt(t.vm);
    vt_run(&t); /* on from the next op */
    VT_EXPECT_STACK(&t, fvm_int(2));
    cr_assert_str_eq(t.out, "after");
    vt_close(&t);
}

static void ext_halt(fvm_vm *vm, uint16_t id, uint8_t arg, void *ud)
{
    fvm_vm_request_halt(vm);
}

Test(vm_api, request_halt_from_extension)
{
    vt t;
    vt_open(&t, vt_chunk(VT_OPS(FVM_EXTENDED(1, 1), FVM_LOAD_INT(2)), VT_NONE, VT_NONE));
    fvm_vm_set_extension_handler(t.vm, ext_halt, NULL);
    vt_run(&t);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    VT_EXPECT_EMPTY(&t);
    vt_close(&t);
}

static fvm_value builtin_raise(fvm_vm *vm, uint8_t argc, void *ud)
{
    fvm_vm_raise(vm, ud);
    return fvm_undef();
}

static void ext_raise(fvm_vm *vm, uint16_t id, uint8_t arg, void *ud)
{
    fvm_vm_raise(vm, "from extension");
}

Test(vm_api, raise_from_handlers)
{
    vt t;
    vt_open(&t, vt_chunk(VT_OPS(FVM_NOP(), FVM_NOP(), FVM_CALL_BUILTIN(1, 0), FVM_LOAD_CONST(0), FVM_PRINT(1)),
                         VT_VALS(fvm_cstr("not printed")), VT_NONE));
    fvm_vm_register_builtin(t.vm, 1, builtin_raise, "builtin failed: 42");
    vt_run(&t);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_ERROR);
    cr_assert_str_eq(fvm_vm_error(t.vm), "builtin failed: 42");
    cr_assert_eq(fvm_vm_error_ip(t.vm), 2);
    cr_assert_str_eq(t.out, "");
    vt_close(&t);

    vt_open(&t, vt_chunk(VT_OPS(FVM_NOP(), FVM_EXTENDED(3, 0), FVM_LOAD_INT(1)), VT_NONE, VT_NONE));
    fvm_vm_set_extension_handler(t.vm, ext_raise, NULL);
    vt_run(&t);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_ERROR);
    cr_assert_str_eq(fvm_vm_error(t.vm), "from extension");
    cr_assert_eq(fvm_vm_error_ip(t.vm), 1);
    vt_close(&t);
}

/* ------------------------------------------------------------------------
 * Output and input hooks
 * ------------------------------------------------------------------------ */

Test(vm_api, print_to_output_hook)
{
    vt t;
    vt_prog(&t,
            VT_OPS(FVM_LOAD_CONST(0), FVM_LOAD_INT(1), FVM_PRINT(2), FVM_LOAD_FLOAT(4.0), FVM_LOAD_UNDEF(),
                   FVM_LOAD_TRUE(), FVM_PRINT_LN(3), FVM_PRINT_LN(0), FVM_LOAD_INT(7), FVM_PRINT(200),
                   FVM_PRINT(5), FVM_LOAD_CONST(1), FVM_PRINT_LN(1)),
            VT_VALS(fvm_cstr("a"), VT_ARRAY(fvm_int(1), fvm_float(0.5))), VT_NONE);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    cr_assert_str_eq(t.out, "a141\n\n7" "1 0.5\n");
    cr_assert_eq(t.writes, 6); /* one write per op, even an empty one */
    vt_close(&t);
}

/* Values below the printed ones stay. */
Test(vm_api, print_consumes_only_n)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_LOAD_INT(1), FVM_LOAD_INT(2), FVM_LOAD_INT(3), FVM_PRINT(2)), VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(1));
    cr_assert_str_eq(t.out, "23");
    vt_close(&t);
}

typedef struct lines {
    const char *const *items;
    size_t n, next;
} lines;

static bool read_lines(void *ud, const char **line, size_t *len)
{
    lines *l = ud;
    if (l->next == l->n)
        return false;
    *line = l->items[l->next++];
    *len = strlen(*line);
    return true;
}

Test(vm_api, read_line_from_input_hook)
{
    lines l = {(const char *const[]){"first", "", "third line"}, 3, 0};
    vt t;
    vt_open(&t, vt_chunk(VT_OPS(FVM_READ_LINE(), FVM_READ_LINE(), FVM_READ_LINE(), FVM_READ_LINE(),
                                FVM_READ_LINE()),
                         VT_NONE, VT_NONE));
    fvm_vm_set_input(t.vm, read_lines, &l);
    vt_run(&t);
    VT_EXPECT_STACK(&t, fvm_cstr("first"), fvm_cstr(""), fvm_cstr("third line"), fvm_undef(), fvm_undef());
    vt_close(&t);
}

/* Without a hook ReadLine reads stdin: the trailing "\n" goes (not "\r")
 * and the end of input reads as Undef, as through a hook. */
Test(vm_api, read_line_from_stdin)
{
    char path[] = "/tmp/fvm_readline_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs("a\nb\r\n\nlast", f);
    fclose(f);
    cr_assert_not_null(freopen(path, "r", stdin));
    unlink(path);
    fvm_result r = vt_eval(VT_OPS(FVM_READ_LINE(), FVM_READ_LINE(), FVM_READ_LINE(), FVM_READ_LINE(),
                                  FVM_READ_LINE(), FVM_MAKE_ARRAY(5)),
                           VT_NONE, VT_NONE);
    cr_assert_eq(r.status, FVM_RUN_OK);
    VT_EXPECT_ARRAY(r.value, fvm_cstr("a"), fvm_cstr("b\r"), fvm_cstr(""), fvm_cstr("last"), fvm_undef());
}

/* ------------------------------------------------------------------------
 * Limits and the AWK signal
 * ------------------------------------------------------------------------ */

/* f calls itself forever. */
static fvm_chunk *runaway_recursion(void)
{
    return vt_chunk_subs(VT_OPS(FVM_CALL(0, 0), FVM_LOAD_INT(1), FVM_SET_SLOT(0), FVM_CALL(0, 0)), VT_NONE,
                         VT_NAMES("f"), VT_SUBS({0, 1}));
}

Test(vm_api, frame_limit_is_an_error)
{
    vt t;
    vt_open(&t, runaway_recursion());
    fvm_vm_set_limits(t.vm, 0, 100);
    vt_run(&t);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_ERROR);
    cr_assert_str_eq(fvm_vm_error(t.vm), "call depth limit exceeded (100 frames)");
    cr_assert_eq(fvm_vm_error_ip(t.vm), 3);
    cr_assert_leq(fvm_vm_frame_count(t.vm), 101);
    cr_assert_geq(fvm_vm_frame_count(t.vm), 99);
    vt_close(&t);
}

/* Without a limit set, the default one still turns runaway recursion into
 * an error rather than a crash. */
Test(vm_api, default_frame_limit, .timeout = 60)
{
    vt t;
    vt_open(&t, runaway_recursion());
    vt_run(&t);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_ERROR);
    cr_assert(strncmp(fvm_vm_error(t.vm), "call depth limit exceeded", 25) == 0, "%s", fvm_vm_error(t.vm));
    vt_close(&t);
}

Test(vm_api, push_frame_limit_is_an_error)
{
    vt t;
    vt_open(&t, vt_chunk(VT_OPS(FVM_PUSH_FRAME(), FVM_JUMP(0)), VT_NONE, VT_NONE));
    fvm_vm_set_limits(t.vm, 0, 50);
    vt_run(&t);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_ERROR);
    cr_assert_str_eq(fvm_vm_error(t.vm), "call depth limit exceeded (50 frames)");
    cr_assert_eq(fvm_vm_error_ip(t.vm), 0);
    vt_close(&t);
}

Test(vm_api, stack_limit_is_an_error)
{
    vt t;
    vt_open(&t, vt_chunk(VT_OPS(FVM_LOAD_INT(1), FVM_JUMP(0)), VT_NONE, VT_NONE));
    fvm_vm_set_limits(t.vm, 1000, 0);
    vt_run(&t);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_ERROR);
    cr_assert(strncmp(fvm_vm_error(t.vm), "stack overflow", 14) == 0, "%s", fvm_vm_error(t.vm));
    cr_assert_eq(fvm_vm_error_ip(t.vm), 0);
    cr_assert_leq(fvm_vm_stack_depth(t.vm), 2048);
    vt_close(&t);
}

Test(vm_api, awk_signal)
{
    vt t;
    vt_open(&t, vt_chunk(VT_OPS(FVM_LOAD_INT(1), FVM_AWK_SIGNAL(FVM_SIG_EXIT), FVM_LOAD_INT(9)), VT_NONE, VT_NONE));
    cr_assert_eq(fvm_vm_awk_signal(t.vm), -1);
    vt_run(&t);
    VT_EXPECT_STACK(&t, fvm_int(1)); /* halted; the stack is returned as usual */
    cr_assert_eq(fvm_vm_awk_signal(t.vm), 2);
    fvm_vm_clear_halt(t.vm);
    vt_run(&t); /* the signal is cleared when a run starts */
    VT_EXPECT_STACK(&t, fvm_int(9));
    cr_assert_eq(fvm_vm_awk_signal(t.vm), -1);
    vt_close(&t);

    vt_open(&t, vt_chunk(VT_OPS(FVM_AWK_SIGNAL(FVM_SIG_NEXT)), VT_NONE, VT_NONE));
    vt_run(&t);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    cr_assert_eq(fvm_vm_awk_signal(t.vm), 0);
    vt_close(&t);
}
