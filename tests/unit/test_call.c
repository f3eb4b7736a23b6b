/* fvm_vm_call: a subroutine of the program called from C, from inside a
 * builtin while the program runs (the run going on afterwards as if
 * nothing happened), nested through builtins, failing inside the callee,
 * and by a name with no subroutine; and globals read and written by name. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <stdio.h>
#include <string.h>

static fvm_chunk *assemble(const char *text)
{
    char *err = NULL;
    fvm_chunk *c = fvm_assemble(text, strlen(text), "call.fasm", &err);
    cr_assert_not_null(c, "%s", err ? err : "");
    return c;
}

static void expect_ok_int(fvm_vm *vm, fvm_result r, int64_t want)
{
    cr_assert_eq(r.status, FVM_RUN_OK, "%s", fvm_vm_error(vm));
    cr_assert_eq(r.value.type, FVM_T_INT);
    cr_assert_eq(r.value.as.i, want);
}

/* The top level sets base; add(a, b) = a + b + base; none() returns
 * nothing; boom() fails two ops in. */
static const char *const library = "    LoadInt 10\n"
                                   "    SetVar base\n"
                                   "    Jump end\n"
                                   ".sub add\n"
                                   "    SetSlot 1\n"
                                   "    SetSlot 0\n"
                                   "    GetSlot 0\n"
                                   "    GetSlot 1\n"
                                   "    Add\n"
                                   "    GetVar base\n"
                                   "    Add\n"
                                   "    ReturnValue\n"
                                   ".sub none\n"
                                   "    Return\n"
                                   ".sub boom\n"
                                   "    LoadInt 1\n"
                                   "    Call missing 0\n"
                                   "    ReturnValue\n"
                                   ".sub concat\n"
                                   "    Concat\n"
                                   "    ReturnValue\n"
                                   ".name missing\n"
                                   "end:\n";

static fvm_vm *library_vm(fvm_chunk **c)
{
    *c = assemble(library);
    fvm_vm *vm = fvm_vm_new(*c);
    fvm_result r = fvm_vm_run(vm);
    cr_assert_eq(r.status, FVM_RUN_HALTED, "%s", fvm_vm_error(vm));
    return vm;
}

Test(call, from_c_after_the_top_level_ran)
{
    fvm_chunk *c;
    fvm_vm *vm = library_vm(&c);
    size_t frames = fvm_vm_frame_count(vm), depth = fvm_vm_stack_depth(vm);
    fvm_value args[] = {fvm_int(1), fvm_int(2)};
    expect_ok_int(vm, fvm_vm_call(vm, "add", args, 2), 13);
    expect_ok_int(vm, fvm_vm_call(vm, "add", args, 2), 13);
    cr_assert_eq(fvm_vm_frame_count(vm), frames);
    cr_assert_eq(fvm_vm_stack_depth(vm), depth);

    fvm_result r = fvm_vm_call(vm, "none", NULL, 0);
    cr_assert_eq(r.status, FVM_RUN_OK);
    cr_assert_eq(r.value.type, FVM_T_UNDEF);

    /* Arguments are borrowed: the caller's strings stay its own. */
    fvm_value strs[] = {fvm_cstr("ab"), fvm_cstr("cd")};
    r = fvm_vm_call(vm, "concat", strs, 2);
    cr_assert_eq(r.status, FVM_RUN_OK);
    size_t len;
    cr_assert_str_eq(fvm_str_bytes(r.value, &len), "abcd");
    cr_assert_str_eq(fvm_str_bytes(strs[0], &len), "ab");
    fvm_value_drop(r.value);
    fvm_value_drop(strs[0]);
    fvm_value_drop(strs[1]);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}

Test(call, unknown_names_are_errors_and_the_vm_goes_on)
{
    fvm_chunk *c;
    fvm_vm *vm = library_vm(&c);
    fvm_result r = fvm_vm_call(vm, "nosuch", NULL, 0);
    cr_assert_eq(r.status, FVM_RUN_ERROR);
    cr_assert_str_eq(fvm_vm_error(vm), "undefined function: nosuch");
    /* A name the program uses, but not for a subroutine. */
    r = fvm_vm_call(vm, "base", NULL, 0);
    cr_assert_eq(r.status, FVM_RUN_ERROR);
    cr_assert_str_eq(fvm_vm_error(vm), "undefined function: base");
    fvm_value args[] = {fvm_int(1), fvm_int(2)};
    expect_ok_int(vm, fvm_vm_call(vm, "add", args, 2), 13);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}

Test(call, an_error_inside_the_callee)
{
    fvm_chunk *c;
    fvm_vm *vm = library_vm(&c);
    size_t frames = fvm_vm_frame_count(vm), depth = fvm_vm_stack_depth(vm);
    fvm_result r = fvm_vm_call(vm, "boom", NULL, 0);
    cr_assert_eq(r.status, FVM_RUN_ERROR);
    cr_assert_str_eq(fvm_vm_error(vm), "undefined function: missing");
    cr_assert_eq(fvm_vm_error_ip(vm), 13);
    /* The traceback is the call's: the frames below it are what the run
     * left, not callers. */
    cr_assert_eq(fvm_vm_traceback_count(vm), 1);
    fvm_frame_info fi;
    cr_assert(fvm_vm_traceback_frame(vm, 0, &fi));
    cr_assert_str_eq(fi.name, "boom");
    cr_assert_eq(fi.ip, 13);
    /* Frames and stack as they were; the VM calls on. */
    cr_assert_eq(fvm_vm_frame_count(vm), frames);
    cr_assert_eq(fvm_vm_stack_depth(vm), depth);
    fvm_value args[] = {fvm_int(1), fvm_int(2)};
    expect_ok_int(vm, fvm_vm_call(vm, "add", args, 2), 13);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}

/* Builtin 0: square its argument through the program's sub, plus 1. */
static fvm_value call_square(fvm_vm *vm, uint8_t argc, void *ud)
{
    (void)ud;
    cr_assert_eq(argc, 1);
    fvm_value n = fvm_vm_pop(vm);
    fvm_result r = fvm_vm_call(vm, "square", &n, 1);
    fvm_value_drop(n);
    cr_assert_eq(r.status, FVM_RUN_OK, "%s", fvm_vm_error(vm));
    return fvm_int(r.value.as.i + 1);
}

Test(call, from_inside_a_builtin_the_run_goes_on_intact)
{
    /* Slot 0, the stack below the builtin's argument and the frame all
     * survive the call, which uses slot 0 and the stack itself. */
    fvm_chunk *c = assemble("    LoadInt 100\n"
                            "    SetSlot 0\n"
                            "    LoadInt 5\n"
                            "    LoadInt 7\n"
                            "    CallBuiltin 0 1\n"
                            "    Add\n"
                            "    GetSlot 0\n"
                            "    Add\n"
                            "    Jump end\n"
                            ".sub square\n"
                            "    SetSlot 0\n"
                            "    GetSlot 0\n"
                            "    GetSlot 0\n"
                            "    Mul\n"
                            "    ReturnValue\n"
                            "end:\n");
    fvm_vm *vm = fvm_vm_new(c);
    fvm_vm_register_builtin(vm, 0, call_square, NULL);
    expect_ok_int(vm, fvm_vm_run(vm), 5 + 50 + 100);
    cr_assert_eq(fvm_vm_stack_depth(vm), 0);
    cr_assert_eq(fvm_vm_frame_count(vm), 1);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}

/* Builtin 0: fact(n - 1) through fvm_vm_call, passing an error on. */
static fvm_value call_fact(fvm_vm *vm, uint8_t argc, void *ud)
{
    (void)argc;
    int *deepest = ud;
    fvm_value n = fvm_vm_pop(vm);
    fvm_frame_info fi;
    size_t frames = fvm_vm_frame_count(vm);
    cr_assert(fvm_vm_frame_info(vm, frames - 1, &fi));
    cr_assert_str_eq(fi.name, "fact");
    if ((int)frames > *deepest)
        *deepest = (int)frames;
    fvm_result r = fvm_vm_call(vm, "fact", &n, 1);
    if (r.status == FVM_RUN_ERROR)
        fvm_vm_raise(vm, fvm_vm_error(vm));
    return r.value;
}

/* fact(n) = n <= 1 ? 1 : n * builtin0(n - 1): every level a C call. */
static const char *const fact = "    LoadInt %d\n"
                                "    Call fact 1\n"
                                "    Jump end\n"
                                ".sub fact\n"
                                "    SetSlot 0\n"
                                "    GetSlot 0\n"
                                "    LoadInt 1\n"
                                "    NumLe\n"
                                "    JumpIfTrue base\n"
                                "    GetSlot 0\n"
                                "    GetSlot 0\n"
                                "    Dec\n"
                                "    CallBuiltin 0 1\n"
                                "    Mul\n"
                                "    ReturnValue\n"
                                "base:\n"
                                "    LoadInt 1\n"
                                "    ReturnValue\n"
                                "end:\n";

static fvm_chunk *fact_of(int n)
{
    char text[1024];
    snprintf(text, sizeof text, fact, n);
    return assemble(text);
}

Test(call, nested_through_builtins)
{
    fvm_chunk *c = fact_of(10);
    fvm_vm *vm = fvm_vm_new(c);
    int deepest = 0;
    fvm_vm_register_builtin(vm, 0, call_fact, &deepest);
    expect_ok_int(vm, fvm_vm_run(vm), 3628800);
    cr_assert_eq(deepest, 10); /* the root and nine levels of fact */
    cr_assert_eq(fvm_vm_frame_count(vm), 1);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}

Test(call, nesting_is_bounded)
{
    fvm_chunk *c = fact_of(FVM_MAX_NESTED_CALLS + 50);
    fvm_vm *vm = fvm_vm_new(c);
    int deepest = 0;
    fvm_vm_register_builtin(vm, 0, call_fact, &deepest);
    fvm_result r = fvm_vm_run(vm);
    cr_assert_eq(r.status, FVM_RUN_ERROR);
    cr_assert_str_eq(fvm_vm_error(vm), "too many nested calls from C (calling fact)");
    fvm_vm_reset(vm, c);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}

/* Builtin 0: call boom and hand its error message to the program. */
static fvm_value catch_boom(fvm_vm *vm, uint8_t argc, void *ud)
{
    (void)argc;
    (void)ud;
    fvm_result r = fvm_vm_call(vm, "boom", NULL, 0);
    cr_assert_eq(r.status, FVM_RUN_ERROR);
    return fvm_cstr(fvm_vm_error(vm));
}

Test(call, an_error_in_a_nested_call_is_the_builtins_to_handle)
{
    fvm_chunk *c = assemble("    LoadInt 1\n"
                            "    CallBuiltin 0 0\n"
                            "    Swap\n"
                            "    Pop\n"
                            "    Jump end\n"
                            ".sub boom\n"
                            "    LoadInt 2\n"
                            "    Call missing 0\n"
                            "    ReturnValue\n"
                            ".name missing\n"
                            "end:\n");
    fvm_vm *vm = fvm_vm_new(c);
    fvm_vm_register_builtin(vm, 0, catch_boom, NULL);
    fvm_result r = fvm_vm_run(vm);
    cr_assert_eq(r.status, FVM_RUN_OK, "%s", fvm_vm_error(vm));
    size_t len;
    cr_assert_str_eq(fvm_str_bytes(r.value, &len), "undefined function: missing");
    fvm_value_drop(r.value);
    /* The traceback of the nested error: boom on top of the root frame,
     * which was at its CallBuiltin. */
    cr_assert_eq(fvm_vm_traceback_count(vm), 2);
    fvm_frame_info fi;
    cr_assert(fvm_vm_traceback_frame(vm, 0, &fi));
    cr_assert_null(fi.name);
    cr_assert_eq(fi.ip, 1);
    cr_assert(fvm_vm_traceback_frame(vm, 1, &fi));
    cr_assert_str_eq(fi.name, "boom");
    cr_assert_eq(fi.ip, 6);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}

/* Builtin 0: halt inside the call it makes. */
static fvm_value halt_in_call(fvm_vm *vm, uint8_t argc, void *ud)
{
    (void)argc;
    (void)ud;
    fvm_result r = fvm_vm_call(vm, "stop", NULL, 0);
    cr_assert_eq(r.status, FVM_RUN_HALTED);
    return fvm_int(7);
}

static fvm_value request_halt(fvm_vm *vm, uint8_t argc, void *ud)
{
    (void)argc;
    (void)ud;
    fvm_vm_request_halt(vm);
    return fvm_undef();
}

Test(call, a_halt_ends_the_call_not_the_run)
{
    fvm_chunk *c = assemble("    CallBuiltin 0 0\n"
                            "    LoadInt 1\n"
                            "    Add\n"
                            "    Jump end\n"
                            ".sub stop\n"
                            "    CallBuiltin 1 0\n"
                            "    LoadInt 99\n"
                            "    ReturnValue\n"
                            "end:\n");
    fvm_vm *vm = fvm_vm_new(c);
    fvm_vm_register_builtin(vm, 0, halt_in_call, NULL);
    fvm_vm_register_builtin(vm, 1, request_halt, NULL);
    expect_ok_int(vm, fvm_vm_run(vm), 8);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}

Test(call, globals_by_name)
{
    fvm_chunk *c;
    fvm_vm *vm = library_vm(&c);
    cr_assert_eq(fvm_chunk_find_name(c, "base", 4), 0);
    cr_assert_eq(fvm_chunk_find_name(c, "bas", 3), -1);
    fvm_value base = fvm_vm_global_named(vm, "base");
    cr_assert_eq(base.type, FVM_T_INT);
    cr_assert_eq(base.as.i, 10);
    cr_assert_eq(fvm_vm_global_named(vm, "nosuch").type, FVM_T_UNDEF);
    cr_assert_eq(fvm_vm_set_global_named(vm, "base", fvm_int(20)), 0);
    cr_assert_eq(fvm_vm_set_global_named(vm, "nosuch", fvm_cstr("dropped")), -1);
    fvm_value args[] = {fvm_int(1), fvm_int(2)};
    expect_ok_int(vm, fvm_vm_call(vm, "add", args, 2), 23);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}

/* Builtin 0: add(x, 1) through the program, for a loop's every iteration. */
static fvm_value call_inc(fvm_vm *vm, uint8_t argc, void *ud)
{
    (void)argc;
    (void)ud;
    fvm_value args[2] = {fvm_vm_pop(vm), fvm_int(1)};
    fvm_result r = fvm_vm_call(vm, "inc", args, 2);
    cr_assert_eq(r.status, FVM_RUN_OK, "%s", fvm_vm_error(vm));
    return r.value;
}

/* A hot loop whose body calls back into the program through a builtin:
 * with the JIT's VM tiers attached (recording and running traces, native
 * regions) the result is the interpreter's. */
Test(call, from_a_hot_loop_with_the_jit_attached)
{
    fvm_chunk *c = assemble("    LoadInt 0\n"
                            "    SetSlot 0\n"
                            "    LoadInt 0\n"
                            "    SetSlot 1\n"
                            "loop:\n"
                            "    GetSlot 0\n"
                            "    CallBuiltin 0 1\n"
                            "    SetSlot 0\n"
                            "    GetSlot 1\n"
                            "    LoadInt 1\n"
                            "    Add\n"
                            "    SetSlot 1\n"
                            "    GetSlot 1\n"
                            "    LoadInt 1000\n"
                            "    NumLt\n"
                            "    JumpIfTrue loop\n"
                            "    GetSlot 0\n"
                            "    Jump end\n"
                            ".sub inc\n"
                            "    SetSlot 1\n"
                            "    SetSlot 0\n"
                            "    LoadInt 0\n"
                            "    SetSlot 2\n"
                            "again:\n"
                            "    GetSlot 2\n"
                            "    LoadInt 1\n"
                            "    Add\n"
                            "    SetSlot 2\n"
                            "    GetSlot 2\n"
                            "    LoadInt 3\n"
                            "    NumLt\n"
                            "    JumpIfTrue again\n"
                            "    GetSlot 0\n"
                            "    GetSlot 1\n"
                            "    Add\n"
                            "    ReturnValue\n"
                            "end:\n");
    for (unsigned tiers = 0; tiers < 4; tiers++) {
        fvm_jit *j = fvm_jit_new();
        cr_assert_not_null(j);
        fvm_jit_set_cache_dir(j, FVM_JIT_CACHE_OFF);
        fvm_jit_set_param(j, FVM_JIT_PARAM_BLOCK_THRESHOLD, 0);
        fvm_jit_set_param(j, FVM_JIT_PARAM_TRACE_THRESHOLD, 2);
        fvm_jit_set_param(j, FVM_JIT_PARAM_VM_TIERS,
                          (tiers & 1 ? 1u << FVM_JIT_BLOCK : 0) | (tiers & 2 ? 1u << FVM_JIT_TRACE : 0));
        fvm_vm *vm = fvm_vm_new(c);
        if (tiers)
            fvm_vm_set_jit(vm, j);
        fvm_vm_register_builtin(vm, 0, call_inc, NULL);
        expect_ok_int(vm, fvm_vm_run(vm), 1000);
        cr_assert_eq(fvm_vm_frame_count(vm), 1);
        fvm_jit_counters s;
        fvm_jit_stats(j, &s);
        /* Native code did run, inside the calls too (the callee's loop is
         * the one the tracing tier finds hot). */
        if ((tiers & 1) && fvm_jit_tier_available(FVM_JIT_BLOCK))
            cr_assert_gt(s.runs[FVM_JIT_BLOCK], 0);
        if (tiers == 2 && fvm_jit_tier_available(FVM_JIT_TRACE))
            cr_assert_gt(s.runs[FVM_JIT_TRACE], 0);
        fvm_vm_free(vm);
        fvm_jit_free(j);
    }
    fvm_chunk_free(c);
}
