/* Loads and the stack ops (docs/OPS.md, "Stack", "Constants", "Globals",
 * "Missing operands"): Pop, Dup, Dup2, Swap and Rot, including the
 * shallow-stack rules, and global variables. */
#include "vmtest.h"

/* ------------------------------------------------------------------------
 * Loads
 * ------------------------------------------------------------------------ */

Test(stack_ops, load_scalars)
{
    vt t;
    vt_prog(&t,
            VT_OPS(FVM_NOP(), FVM_LOAD_INT(INT64_MIN), FVM_LOAD_INT(INT64_MAX), FVM_LOAD_FLOAT(4.0),
                   FVM_LOAD_FLOAT(-0.0), FVM_LOAD_TRUE(), FVM_LOAD_FALSE(), FVM_LOAD_UNDEF(), FVM_NOP()),
            VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(INT64_MIN), fvm_int(INT64_MAX), fvm_float(4.0), fvm_float(-0.0),
                    fvm_bool(true), fvm_bool(false), fvm_undef());
    vt_close(&t);
}

Test(stack_ops, load_float_keeps_nan_bits)
{
    const uint64_t bits[] = {0x7ff8000000000abcull, 0xfff0000000000001ull, 0x7ff0000000000000ull,
                             0x0000000000000001ull};
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
        fvm_result r = vt_eval(VT_OPS(FVM_LOAD_FLOAT(vt_bits_to_double(bits[i]))), VT_NONE, VT_NONE);
        cr_assert_eq(r.status, FVM_RUN_OK);
        cr_assert_eq(r.value.type, FVM_T_FLOAT);
        cr_assert_eq(vt_double_bits(r.value.as.f), bits[i], "bits %016llx became %016llx",
                     (unsigned long long)bits[i], (unsigned long long)vt_double_bits(r.value.as.f));
    }
}

Test(stack_ops, load_const_every_kind)
{
    fvm_value arr = VT_ARRAY(fvm_int(1), fvm_cstr("two"));
    fvm_value h = fvm_hash_new();
    fvm_hash_set(&h, "k", 1, fvm_float(0.5));
    vt t;
    vt_prog(&t, VT_OPS(FVM_LOAD_CONST(0), FVM_LOAD_CONST(1), FVM_LOAD_CONST(2), FVM_LOAD_CONST(3),
                       FVM_LOAD_CONST(4), FVM_LOAD_CONST(0)),
            VT_VALS(fvm_cstr("s"), fvm_value_copy(arr), fvm_value_copy(h), fvm_status(3), fvm_undef()),
            VT_NONE);
    VT_EXPECT_STACK(&t, fvm_cstr("s"), fvm_value_copy(arr), fvm_value_copy(h), fvm_status(3),
                    fvm_undef(), fvm_cstr("s"));
    vt_close(&t);
    fvm_value_drop(arr);
    fvm_value_drop(h);
}

/* A loaded constant is a copy: pushing to it through a global leaves the
 * pool alone. */
Test(stack_ops, load_const_is_a_copy)
{
    vt t;
    vt_prog(&t,
            VT_OPS(FVM_LOAD_CONST(0), FVM_SET_VAR(0), FVM_LOAD_INT(9), FVM_ARRAY_PUSH(0), FVM_LOAD_CONST(0),
                   FVM_GET_VAR(0)),
            VT_VALS(VT_ARRAY(fvm_int(1))), VT_NAMES("a"));
    VT_EXPECT_STACK(&t, VT_ARRAY(fvm_int(1)), VT_ARRAY(fvm_int(1), fvm_int(9)));
    VT_EXPECT(fvm_value_copy(fvm_chunk_constant(t.chunk, 0)), VT_ARRAY(fvm_int(1)));
    vt_close(&t);
}

/* ------------------------------------------------------------------------
 * Pop and Dup
 * ------------------------------------------------------------------------ */

Test(stack_ops, pop)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_LOAD_INT(1), FVM_LOAD_INT(2), FVM_POP()), VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(1));
    vt_close(&t);
}

Test(stack_ops, pop_on_empty_is_a_no_op)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_POP(), FVM_POP(), FVM_LOAD_INT(3), FVM_POP(), FVM_POP()), VT_NONE, VT_NONE);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    VT_EXPECT_EMPTY(&t);
    vt_close(&t);
}

Test(stack_ops, dup)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_LOAD_INT(1), FVM_LOAD_CONST(0), FVM_DUP()), VT_VALS(fvm_cstr("x")), VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(1), fvm_cstr("x"), fvm_cstr("x"));
    vt_close(&t);
}

Test(stack_ops, dup_on_empty_pushes_undef)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_DUP()), VT_NONE, VT_NONE);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_OK);
    VT_EXPECT_STACK(&t, fvm_undef());
    vt_close(&t);
}

/* A duplicated array is an independent copy. */
Test(stack_ops, dup_array_is_a_copy)
{
    vt t;
    vt_prog(&t,
            VT_OPS(FVM_LOAD_CONST(0), FVM_DUP(), FVM_SET_VAR(0), FVM_LOAD_INT(2), FVM_ARRAY_PUSH(0),
                   FVM_GET_VAR(0)),
            VT_VALS(VT_ARRAY(fvm_int(1))), VT_NAMES("a"));
    VT_EXPECT_STACK(&t, VT_ARRAY(fvm_int(1)), VT_ARRAY(fvm_int(1), fvm_int(2)));
    vt_close(&t);
}

/* ------------------------------------------------------------------------
 * Dup2, Swap, Rot: no-ops unless the stack is deep enough
 * ------------------------------------------------------------------------ */

Test(stack_ops, dup2)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_LOAD_INT(0), FVM_LOAD_INT(1), FVM_LOAD_INT(2), FVM_DUP2()), VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(0), fvm_int(1), fvm_int(2), fvm_int(1), fvm_int(2));
    vt_close(&t);
}

Test(stack_ops, dup2_shallow)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_LOAD_INT(7), FVM_DUP2()), VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(7));
    vt_close(&t);
    vt_prog(&t, VT_OPS(FVM_DUP2()), VT_NONE, VT_NONE);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    vt_close(&t);
}

Test(stack_ops, swap)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_LOAD_INT(0), FVM_LOAD_INT(1), FVM_LOAD_CONST(0), FVM_SWAP()),
            VT_VALS(fvm_cstr("s")), VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(0), fvm_cstr("s"), fvm_int(1));
    vt_close(&t);
}

Test(stack_ops, swap_shallow)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_LOAD_INT(7), FVM_SWAP()), VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(7));
    vt_close(&t);
    vt_prog(&t, VT_OPS(FVM_SWAP()), VT_NONE, VT_NONE);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    vt_close(&t);
}

Test(stack_ops, rot)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_LOAD_INT(1), FVM_LOAD_INT(2), FVM_LOAD_INT(3), FVM_ROT()), VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(2), fvm_int(3), fvm_int(1));
    vt_close(&t);
    vt_prog(&t,
            VT_OPS(FVM_LOAD_INT(0), FVM_LOAD_INT(1), FVM_LOAD_INT(2), FVM_LOAD_INT(3), FVM_ROT(), FVM_ROT()),
            VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(0), fvm_int(3), fvm_int(1), fvm_int(2));
    vt_close(&t);
}

Test(stack_ops, rot_shallow)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_LOAD_INT(1), FVM_LOAD_INT(2), FVM_ROT()), VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(1), fvm_int(2));
    vt_close(&t);
    vt_prog(&t, VT_OPS(FVM_LOAD_INT(1), FVM_ROT()), VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(1));
    vt_close(&t);
    vt_prog(&t, VT_OPS(FVM_ROT()), VT_NONE, VT_NONE);
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    vt_close(&t);
}

/* The stack grows past its initial capacity and keeps every value. */
Test(stack_ops, deep_stack)
{
    enum { N = 5000 };
    fvm_op *ops = calloc(N + 1, sizeof *ops);
    for (int i = 0; i < N; i++)
        ops[i] = FVM_LOAD_INT(i);
    ops[N] = FVM_DUP2();
    vt t;
    vt_prog(&t, ops, N + 1, VT_NONE, VT_NONE);
    free(ops);
    cr_assert_eq(fvm_vm_stack_depth(t.vm), N + 1);
    for (int i = 0; i < N; i++)
        VT_EXPECT_INT(fvm_value_copy(fvm_vm_stack_at(t.vm, (size_t)i)), i);
    VT_EXPECT_INT(fvm_value_copy(fvm_vm_stack_at(t.vm, N)), N - 2);
    VT_EXPECT_INT(fvm_value_copy(t.r.value), N - 1);
    vt_close(&t);
}

/* ------------------------------------------------------------------------
 * Globals
 * ------------------------------------------------------------------------ */

Test(stack_ops, globals_one_per_name_start_undef)
{
    vt t;
    vt_open(&t, vt_chunk(VT_OPS(FVM_GET_VAR(2)), VT_NONE, VT_NAMES("a", "b", "c")));
    cr_assert_eq(fvm_vm_global_count(t.vm), 3);
    for (size_t i = 0; i < 3; i++)
        VT_EXPECT_UNDEF(fvm_value_copy(fvm_vm_global(t.vm, i)));
    vt_run(&t);
    VT_EXPECT_STACK(&t, fvm_undef());
    vt_close(&t);
}

Test(stack_ops, set_get_declare_var)
{
    vt t;
    vt_prog(&t,
            VT_OPS(FVM_LOAD_INT(5), FVM_SET_VAR(0), FVM_LOAD_CONST(0), FVM_DECLARE_VAR(1), FVM_GET_VAR(0),
                   FVM_GET_VAR(1), FVM_LOAD_INT(6), FVM_SET_VAR(0), FVM_GET_VAR(0), FVM_GET_ARRAY(1),
                   FVM_GET_HASH(0)),
            VT_VALS(fvm_cstr("v")), VT_NAMES("x", "y"));
    VT_EXPECT_STACK(&t, fvm_int(5), fvm_cstr("v"), fvm_int(6), fvm_cstr("v"), fvm_int(6));
    VT_EXPECT_GLOBAL(&t, 0, fvm_int(6));
    vt_close(&t);
}

/* SetVar on an empty stack pops Undef and stores it. */
Test(stack_ops, set_var_from_empty_stack)
{
    vt t;
    vt_prog(&t, VT_OPS(FVM_LOAD_INT(1), FVM_SET_VAR(0), FVM_SET_VAR(0), FVM_SET_ARRAY(1), FVM_SET_HASH(1)),
            VT_NONE, VT_NAMES("x", "y"));
    VT_EXPECT_STATUS_IS(&t, FVM_RUN_HALTED);
    VT_EXPECT_GLOBAL(&t, 0, fvm_undef());
    VT_EXPECT_GLOBAL(&t, 1, fvm_undef());
    vt_close(&t);
}
