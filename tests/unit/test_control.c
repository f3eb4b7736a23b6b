/* Control flow, calls and frames (docs/OPS.md, "Jumps", "Calls and frames",
 * "Calling convention") and our fixes of upstream's behaviour ("Differences
 * from upstream"): a top-level Return/ReturnValue halts instead of
 * re-running the chunk, argc > depth clamps the frame base to 0. */
#include "vmtest.h"

/* Open and run ops over names f, g, one constant "x" and the sub entries. */
static void run_with_subs(vt *t, const fvm_op *ops, size_t n, const vt_sub *subs, size_t ns)
{
    vt_open(t, vt_chunk_subs(ops, n, VT_VALS(fvm_cstr("x")), VT_NAMES("f", "g"), subs, ns));
    vt_run(t);
}

#define F 0 /* name index of f */
#define G 1

/* ------------------------------------------------------------------------
 * Jumps
 * ------------------------------------------------------------------------ */

Test(control, jump_forward_and_to_end)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_LOAD_INT(1), FVM_JUMP(3), FVM_LOAD_INT(2), FVM_LOAD_INT(3), FVM_JUMP(5)), VT_NONE,
            VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(1), fvm_int(3));
    vt_close(&t);
}

/* target == len ends the run like falling off the end. */
Test(control, jump_target_len_ends_run)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_LOAD_INT(1), FVM_JUMP(3), FVM_LOAD_INT(2)), VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(1));
    vt_close(&t);
    vt_prog(&t, VT_OPS(FVM_LOAD_INT(0), FVM_JUMP_IF_FALSE(2)), VT_NONE, VT_NONE);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    vt_close(&t);
}

Test(control, backward_loop)
{
    vt t;
    vt_prog(&t,
            VT_OPS(FVM_LOAD_INT(0), FVM_SET_VAR(0),
                   /* 2: */ FVM_GET_VAR(0), FVM_LOAD_INT(5), FVM_NUM_LT(), FVM_JUMP_IF_FALSE(10),
                   FVM_GET_VAR(0), FVM_INC(), FVM_SET_VAR(0), FVM_JUMP(2),
                   /* 10: */ FVM_GET_VAR(0)),
            VT_NONE, VT_NAMES("i"));
    VT_EXPECT_STACK(&t, fvm_int(5));
    vt_close(&t);
}

Test(control, conditional_jumps_pop)
{
    vt t;
    vt_prog(&t,
            VT_OPS(FVM_LOAD_INT(7), FVM_LOAD_CONST(0), FVM_JUMP_IF_TRUE(4), FVM_LOAD_INT(9),
                   /* 4: */ FVM_LOAD_CONST(1), FVM_JUMP_IF_FALSE(7), FVM_LOAD_INT(10),
                   /* 7: */ FVM_LOAD_FLOAT(NAN), FVM_JUMP_IF_FALSE(10), FVM_LOAD_INT(11)),
            VT_VALS(fvm_cstr("0.0"), fvm_cstr("0")), VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(7), fvm_int(11));
    vt_close(&t);
}

Test(control, keep_jumps_keep_the_value)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_LOAD_INT(0), FVM_JUMP_IF_FALSE_KEEP(3), FVM_LOAD_INT(9)), VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(0));
    vt_close(&t);
    vt_prog(&t, VT_OPS(FVM_LOAD_INT(1), FVM_JUMP_IF_FALSE_KEEP(3), FVM_LOAD_INT(9)), VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(1), fvm_int(9));
    vt_close(&t);
    vt_prog(&t, VT_OPS(FVM_LOAD_CONST(0), FVM_JUMP_IF_TRUE_KEEP(3), FVM_LOAD_INT(9)), VT_VALS(fvm_cstr("a")),
            VT_NONE);
    VT_EXPECT_STACK(&t, fvm_cstr("a"));
    vt_close(&t);
    /* a || b with a false: keep, test, pop, evaluate b. */
    vt_prog(&t, VT_OPS(FVM_LOAD_INT(0), FVM_JUMP_IF_TRUE_KEEP(4), FVM_POP(), FVM_LOAD_INT(5)), VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(5));
    vt_close(&t);
}

/* On an empty stack the condition is Undef (false) and nothing is pushed. */
Test(control, jumps_on_empty_stack)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_JUMP_IF_TRUE_KEEP(2), FVM_LOAD_INT(9)), VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(9));
    vt_close(&t);
    vt_prog(&t, VT_OPS(FVM_JUMP_IF_FALSE_KEEP(2), FVM_LOAD_INT(9)), VT_NONE, VT_NONE);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    VT_EXPECT_EMPTY(&t);
    vt_close(&t);
    vt_prog(&t, VT_OPS(FVM_JUMP_IF_TRUE(2), FVM_LOAD_INT(9)), VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(9));
    vt_close(&t);
    vt_prog(&t, VT_OPS(FVM_JUMP_IF_FALSE(2), FVM_LOAD_INT(9)), VT_NONE, VT_NONE);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    vt_close(&t);
}

/* ------------------------------------------------------------------------
 * Calls
 * ------------------------------------------------------------------------ */

/* The callee pops its arguments into its own fresh slots. */
Test(control, call_with_args_and_fresh_slots)
{
    vt t;
    run_with_subs(&t,
                  VT_OPS(FVM_LOAD_INT(100), FVM_SET_SLOT(0), FVM_LOAD_INT(9), FVM_LOAD_INT(3), FVM_LOAD_INT(4),
                         FVM_CALL(F, 2), FVM_GET_SLOT(0), FVM_JUMP(15),
                         /* f @8: */ FVM_SET_SLOT(1), FVM_SET_SLOT(0), FVM_GET_SLOT(0), FVM_GET_SLOT(1),
                         FVM_SUB(), FVM_RETURN_VALUE(), FVM_NOP()),
                  VT_SUBS({F, 8}));
    VT_EXPECT_STACK(&t, fvm_int(9), fvm_int(-1), fvm_int(100));
    cr_assert_eq(fvm_vm_frame_count(t.vm), 1);
    vt_close(&t);
}

Test(control, recursion)
{
    vt t;
    run_with_subs(&t,
                  VT_OPS(FVM_LOAD_INT(15), FVM_CALL(F, 1), FVM_JUMP(20),
                         /* fib @3: */ FVM_SET_SLOT(0), FVM_GET_SLOT(0), FVM_LOAD_INT(2), FVM_NUM_LT(),
                         FVM_JUMP_IF_FALSE(10), FVM_GET_SLOT(0), FVM_RETURN_VALUE(),
                         /* 10: */ FVM_GET_SLOT(0), FVM_LOAD_INT(1), FVM_SUB(), FVM_CALL(F, 1), FVM_GET_SLOT(0),
                         FVM_LOAD_INT(2), FVM_SUB(), FVM_CALL(F, 1), FVM_ADD(), FVM_RETURN_VALUE()),
                  VT_SUBS({F, 3}));
    VT_EXPECT_STACK(&t, fvm_int(610));
    vt_close(&t);
}

/* Return discards everything the callee left, unconsumed arguments too. */
Test(control, return_discards_callee_values)
{
    vt t;
    run_with_subs(&t,
                  VT_OPS(FVM_LOAD_INT(9), FVM_LOAD_INT(1), FVM_LOAD_INT(2), FVM_CALL(F, 2), FVM_JUMP(8),
                         /* f @5: */ FVM_LOAD_INT(5), FVM_LOAD_INT(6), FVM_RETURN()),
                  VT_SUBS({F, 5}));
    VT_EXPECT_STACK(&t, fvm_int(9));
    vt_close(&t);
}

Test(control, return_value_keeps_one)
{
    vt t;
    run_with_subs(&t,
                  VT_OPS(FVM_LOAD_INT(9), FVM_LOAD_INT(8), FVM_CALL(F, 1), FVM_JUMP(7),
                         /* f @4: */ FVM_LOAD_INT(1), FVM_LOAD_INT(2), FVM_RETURN_VALUE()),
                  VT_SUBS({F, 4}));
    VT_EXPECT_STACK(&t, fvm_int(9), fvm_int(2));
    vt_close(&t);
}

/* argc greater than the depth: the frame base is clamped to 0. */
Test(control, call_argc_above_depth)
{
    vt t;
    run_with_subs(&t,
                  VT_OPS(FVM_LOAD_INT(1), FVM_CALL(F, 5), FVM_LOAD_INT(3), FVM_JUMP(6),
                         /* f @4: */ FVM_LOAD_INT(7), FVM_RETURN_VALUE()),
                  VT_SUBS({F, 4}));
    VT_EXPECT_STACK(&t, fvm_int(7), fvm_int(3));
    vt_close(&t);
    run_with_subs(&t,
                  VT_OPS(FVM_LOAD_INT(1), FVM_CALL(F, 255), FVM_LOAD_INT(3), FVM_JUMP(6),
                         /* f @4: */ FVM_LOAD_INT(7), FVM_RETURN()),
                  VT_SUBS({F, 4}));
    VT_EXPECT_STACK(&t, fvm_int(3));
    vt_close(&t);
}

Test(control, undefined_function)
{
    vt t;
    run_with_subs(&t, VT_OPS(FVM_LOAD_INT(1), FVM_NOP(), FVM_CALL(G, 1), FVM_LOAD_INT(2)), VT_SUBS({F, 3}));
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_ERROR);
    cr_assert_str_eq(fvm_vm_error(t.vm), "undefined function: g");
    cr_assert_eq(fvm_vm_error_ip(t.vm), 2);
    vt_close(&t);
}

/* Duplicate sub entries are allowed; the first one wins. */
Test(control, first_sub_entry_wins)
{
    vt t;
    run_with_subs(&t,
                  VT_OPS(FVM_CALL(F, 0), FVM_JUMP(7), FVM_NOP(),
                         /* 3: */ FVM_LOAD_INT(1), FVM_RETURN_VALUE(),
                         /* 5: */ FVM_LOAD_INT(2), FVM_RETURN_VALUE()),
                  VT_SUBS({F, 3}, {F, 5}));
    VT_EXPECT_STACK(&t, fvm_int(1));
    vt_close(&t);
    run_with_subs(&t,
                  VT_OPS(FVM_CALL(F, 0), FVM_JUMP(7), FVM_NOP(),
                         /* 3: */ FVM_LOAD_INT(1), FVM_RETURN_VALUE(),
                         /* 5: */ FVM_LOAD_INT(2), FVM_RETURN_VALUE()),
                  VT_SUBS({F, 5}, {F, 3}));
    VT_EXPECT_STACK(&t, fvm_int(2));
    vt_close(&t);
}

/* ------------------------------------------------------------------------
 * Top-level Return / ReturnValue halt (no re-run from ip 0)
 * ------------------------------------------------------------------------ */

Test(control, top_level_return_value_pinned)
{
    fvm_result r = vt_eval(VT_OPS(FVM_LOAD_INT(99), FVM_RETURN_VALUE(), FVM_LOAD_INT(0)), VT_NONE, VT_NONE);
    cr_assert_eq(r.status, FVM_RUN_OK);
    VT_EXPECT_INT(r.value, 99);
}

Test(control, top_level_return_halts)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_LOAD_INT(5), FVM_RETURN(), FVM_LOAD_INT(99)), VT_NONE, VT_NONE);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    VT_EXPECT_EMPTY(&t);
    vt_close(&t);
}

/* Side effects before the return happen once: the chunk is not re-run. */
Test(control, top_level_return_does_not_rerun)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_LOAD_CONST(0), FVM_PRINT(1), FVM_LOAD_INT(99), FVM_RETURN_VALUE(), FVM_LOAD_INT(0)),
            VT_VALS(fvm_cstr("x")), VT_NONE);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_OK);
    VT_EXPECT_INT(fvm_value_copy(t.r.value), 99);
    cr_assert_str_eq(t.out, "x");
    cr_assert_eq(t.writes, 1);
    cr_assert_eq(fvm_vm_stack_depth(t.vm), 0);
    vt_close(&t);

    vt_prog(&t, VT_OPS(FVM_LOAD_CONST(0), FVM_PRINT_LN(1), FVM_LOAD_INT(5), FVM_RETURN(), FVM_LOAD_INT(0)),
            VT_VALS(fvm_cstr("x")), VT_NONE);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    cr_assert_str_eq(t.out, "x\n");
    vt_close(&t);
}

/* The root frame's base is 0: values under the returned one go. */
Test(control, top_level_return_value_truncates)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_LOAD_INT(1), FVM_LOAD_INT(2), FVM_RETURN_VALUE()), VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(2));
    vt_close(&t);
}

/* A halted VM returns at once when run again; so does a finished one. */
Test(control, rerun_after_halt_or_end)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_LOAD_CONST(0), FVM_PRINT(1), FVM_LOAD_INT(99), FVM_RETURN_VALUE()),
            VT_VALS(fvm_cstr("x")), VT_NONE);
    VT_EXPECT_INT(fvm_value_copy(t.r.value), 99);
    vt_run(&t);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    cr_assert_str_eq(t.out, "x");
    vt_close(&t);

    vt_prog(&t, VT_OPS(FVM_LOAD_CONST(0), FVM_PRINT(1), FVM_LOAD_INT(1), FVM_LOAD_INT(2)), VT_VALS(fvm_cstr("x")),
            VT_NONE);
    VT_EXPECT_INT(fvm_value_copy(t.r.value), 2);
    vt_run(&t); /* ip == len: nothing runs; the value below the old top is the top now */
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_OK);
    VT_EXPECT_INT(fvm_value_copy(t.r.value), 1);
    vt_run(&t);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    cr_assert_str_eq(t.out, "x");
    vt_close(&t);
}

/* ------------------------------------------------------------------------
 * Frames and slots
 * ------------------------------------------------------------------------ */

Test(control, slots_grow_with_undef)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_LOAD_INT(4), FVM_SET_SLOT(3), FVM_GET_SLOT(0), FVM_GET_SLOT(3), FVM_GET_SLOT(9)),
            VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_undef(), fvm_int(4), fvm_undef());
    cr_assert_eq(fvm_vm_frame_count(t.vm), 1);
    cr_assert_eq(fvm_vm_frame_slot_count(t.vm, 0), 4);
    VT_EXPECT_SLOT(&t, 0, 2, fvm_undef());
    VT_EXPECT_SLOT(&t, 0, 3, fvm_int(4));
    vt_close(&t);
}

Test(control, push_pop_frame_scoping)
{
    vt t;
    vt_prog(&t,
            VT_OPS(FVM_LOAD_INT(1), FVM_SET_SLOT(0), FVM_LOAD_INT(50), FVM_PUSH_FRAME(), FVM_GET_SLOT(0),
                   FVM_LOAD_INT(2), FVM_SET_SLOT(0), FVM_GET_SLOT(0), FVM_LOAD_INT(3), FVM_POP_FRAME(),
                   FVM_GET_SLOT(0)),
            VT_NONE, VT_NONE);
    /* PopFrame truncated the stack to the frame's base (depth 1). */
    VT_EXPECT_STACK(&t, fvm_int(50), fvm_int(1));
    cr_assert_eq(fvm_vm_frame_count(t.vm), 1);
    vt_close(&t);
}

Test(control, nested_frames_keep_their_slots)
{
    vt t;
    run_with_subs(&t,
                  VT_OPS(FVM_PUSH_FRAME(), FVM_LOAD_INT(1), FVM_SET_SLOT(0), FVM_CALL(F, 0), FVM_GET_SLOT(0),
                         FVM_GET_SLOT(200), FVM_JUMP(13),
                         /* f @7: */ FVM_LOAD_INT(5), FVM_SET_SLOT(200), FVM_LOAD_INT(6), FVM_SET_SLOT(0),
                         FVM_GET_SLOT(200), FVM_RETURN_VALUE()),
                  VT_SUBS({F, 7}));
    VT_EXPECT_STACK(&t, fvm_int(5), fvm_int(1), fvm_undef());
    cr_assert_eq(fvm_vm_frame_count(t.vm), 2);
    vt_close(&t);
}

/* PopFrame at the top level pops the root frame: then GetSlot reads Undef,
 * SetSlot drops its value, and a new PushFrame works again. */
Test(control, popping_the_root_frame)
{
    vt t;
    vt_prog(&t,
            VT_OPS(FVM_LOAD_INT(7), FVM_SET_SLOT(0), FVM_LOAD_INT(1), FVM_POP_FRAME(),
                   /* 4: no frame */ FVM_GET_SLOT(0), FVM_LOAD_INT(5), FVM_SET_SLOT(0), FVM_GET_SLOT(0),
                   FVM_POP_FRAME(), FVM_POST_INC_SLOT(0), FVM_PRE_INC_SLOT(0), FVM_GET_SLOT(0),
                   /* 12: */ FVM_PUSH_FRAME(), FVM_LOAD_INT(8), FVM_SET_SLOT(0), FVM_GET_SLOT(0)),
            VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_undef(), fvm_undef(), fvm_int(0), fvm_int(1), fvm_undef(), fvm_int(8));
    cr_assert_eq(fvm_vm_frame_count(t.vm), 1);
    cr_assert_eq(fvm_vm_frame_slot_count(t.vm, 0), 1);
    vt_close(&t);
}

Test(control, no_frame_slot_api)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_LOAD_INT(7), FVM_SET_SLOT(0), FVM_POP_FRAME()), VT_NONE, VT_NONE);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    cr_assert_eq(fvm_vm_frame_count(t.vm), 0);
    VT_EXPECT_UNDEF(fvm_vm_get_slot(t.vm, 0));
    fvm_vm_set_slot(t.vm, 0, fvm_cstr("dropped"));
    VT_EXPECT_UNDEF(fvm_vm_get_slot(t.vm, 0));
    VT_EXPECT_UNDEF(fvm_value_copy(fvm_vm_frame_slot(t.vm, 0, 0)));
    vt_close(&t);
}

/* With no frame at all, Return halts where it is (nothing to truncate) and
 * ReturnValue ends the run with its value. */
Test(control, return_with_no_frame)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_POP_FRAME(), FVM_LOAD_INT(3), FVM_RETURN(), FVM_LOAD_INT(4)), VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(3));
    vt_close(&t);
    vt_prog(&t, VT_OPS(FVM_POP_FRAME(), FVM_LOAD_INT(1), FVM_LOAD_INT(2), FVM_RETURN_VALUE(), FVM_LOAD_INT(4)),
            VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(1), fvm_int(2));
    vt_close(&t);
}

/* ------------------------------------------------------------------------
 * Errors, reset
 * ------------------------------------------------------------------------ */

Test(control, error_ip_and_state)
{
    vt t;
    run_with_subs(&t,
                  VT_OPS(FVM_CALL(F, 0), FVM_JUMP(6), FVM_NOP(), FVM_NOP(),
                         /* f @4: */ FVM_CALL(G, 0), FVM_RETURN()),
                  VT_SUBS({F, 4}));
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_ERROR);
    cr_assert_eq(fvm_vm_error_ip(t.vm), 4);
    cr_assert_str_eq(fvm_vm_error(t.vm), "undefined function: g");
    cr_assert_eq(fvm_vm_frame_count(t.vm), 2); /* left as it was */
    vt_close(&t);
}

static fvm_value builtin_42(fvm_vm *vm, uint8_t argc, void *ud)
{
    (*(int *)ud)++;
    return fvm_int(42);
}

static void ext_count(fvm_vm *vm, uint16_t id, uint8_t arg, void *ud)
{
    (*(int *)ud) += arg;
}

/* reset makes the VM as new for another chunk but keeps handlers and the
 * output hook. */
Test(control, reset_keeps_handlers)
{
    int calls = 0, ext = 0;
    vt t;
    vt_open(&t, vt_chunk(VT_OPS(FVM_LOAD_INT(3), FVM_SET_STATUS(), FVM_LOAD_INT(1), FVM_SET_SLOT(0),
                                FVM_LOAD_INT(1), FVM_SET_VAR(0), FVM_CALL_BUILTIN(5, 0), FVM_PRINT(1),
                                FVM_EXTENDED(1, 2), FVM_LOAD_INT(9), FVM_RETURN_VALUE()),
                         VT_NONE, VT_NAMES("a")));
    fvm_vm_register_builtin(t.vm, 5, builtin_42, &calls);
    fvm_vm_set_extension_handler(t.vm, ext_count, &ext);
    vt_run(&t);
    VT_EXPECT_INT(fvm_value_copy(t.r.value), 9);
    cr_assert_eq(fvm_vm_last_status(t.vm), 3);

    fvm_chunk *second = vt_chunk(VT_OPS(FVM_GET_SLOT(0), FVM_GET_VAR(2), FVM_CALL_BUILTIN(5, 0), FVM_PRINT(1),
                                        FVM_EXTENDED(1, 3), FVM_GET_STATUS()),
                                 VT_NONE, VT_NAMES("x", "y", "z"));
    fvm_vm_reset(t.vm, second);
    fvm_chunk_free(t.chunk);
    t.chunk = second;
    cr_assert_eq(fvm_vm_global_count(t.vm), 3);
    cr_assert_eq(fvm_vm_frame_count(t.vm), 1);
    cr_assert_eq(fvm_vm_stack_depth(t.vm), 0);
    cr_assert_eq(fvm_vm_last_status(t.vm), 0);
    vt_run(&t);
    VT_EXPECT_STACK(&t, fvm_undef(), fvm_undef(), fvm_status(0));
    cr_assert_str_eq(t.out, "4242");
    cr_assert_eq(calls, 2);
    cr_assert_eq(ext, 5);
    vt_close(&t);
}

/* reset after an error or a halt clears them. */
Test(control, reset_after_error)
{
    vt t;
    run_with_subs(&t, VT_OPS(FVM_CALL(G, 0)), NULL, 0);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_ERROR);
    fvm_vm_reset(t.vm, t.chunk);
    vt_run(&t);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_ERROR); /* the same program fails the same way */
    cr_assert_eq(fvm_vm_error_ip(t.vm), 0);
    vt_close(&t);

    vt_prog(&t, VT_OPS(FVM_LOAD_INT(1), FVM_RETURN_VALUE()), VT_NONE, VT_NONE);
    VT_EXPECT_INT(fvm_value_copy(t.r.value), 1);
    fvm_vm_reset(t.vm, t.chunk);
    vt_run(&t);
    VT_EXPECT_STACK(&t, fvm_int(1));
    vt_close(&t);
}

/* Running again after an error goes on after the failing op (its ip was
 * already advanced), as upstream does. */
Test(control, run_after_error_continues)
{
    vt t;
    run_with_subs(&t, VT_OPS(FVM_LOAD_INT(1), FVM_CALL(G, 0), FVM_LOAD_INT(2)), NULL, 0);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_ERROR);
    cr_assert_eq(fvm_vm_stack_depth(t.vm), 1);
    vt_run(&t);
    VT_EXPECT_STACK(&t, fvm_int(1), fvm_int(2));
    vt_close(&t);
}

/* MapBlock, GrepBlock, SortBlock, SortDefault, ForEachBlock are stubs. */
Test(control, higher_order_stubs)
{
    fvm_builder *b = fvm_builder_new();
    fvm_add_block_range(b, 0, 1);
    fvm_emit(b, FVM_LOAD_INT(3), 1);
    fvm_emit(b, FVM_LOAD_INT(1), 1);
    fvm_emit(b, FVM_MAP_BLOCK(0), 1);
    fvm_emit(b, FVM_GREP_BLOCK(0), 1);
    fvm_emit(b, FVM_SORT_BLOCK(0), 1);
    fvm_emit(b, FVM_SORT_DEFAULT(), 1);
    fvm_emit(b, FVM_FOR_EACH_BLOCK(0), 1);
    vt t;
    vt_open(&t, fvm_build(b));
    fvm_builder_free(b);
    vt_run(&t);
    VT_EXPECT_STACK(&t, fvm_int(3), fvm_int(1));
    vt_close(&t);
}

/* CallDynamic pops the name index, then calls like Call. */
Test(control, call_dynamic)
{
    vt t;
    run_with_subs(&t,
                  VT_OPS(FVM_LOAD_INT(10), FVM_LOAD_INT(4), FVM_LOAD_CONST(0), FVM_LOAD_INT(F),
                         FVM_CALL_DYNAMIC(2), FVM_JUMP(10),
                         /* f @6: */ FVM_SET_SLOT(1), FVM_SET_SLOT(0), FVM_GET_SLOT(0), FVM_RETURN_VALUE()),
                  VT_SUBS({F, 6}));
    VT_EXPECT_STACK(&t, fvm_int(10), fvm_int(4));
    vt_close(&t);
    const int64_t bad[] = {G, -1, 2, 70000};
    for (size_t i = 0; i < 4; i++) {
        run_with_subs(&t, VT_OPS(FVM_NOP(), FVM_LOAD_INT(bad[i]), FVM_CALL_DYNAMIC(0)), VT_SUBS({F, 0}));
        VT_EXPECT_STATUS_IS(&t, FVM_RUN_ERROR);
        cr_assert_str_eq(fvm_vm_error(t.vm), "call of a nil or unknown function value");
        cr_assert_eq(fvm_vm_error_ip(t.vm), 2);
        vt_close(&t);
    }
}
