/* The VM pool: acquire resets a parked VM (keeping its handlers and
 * hooks) or makes one; release parks; with brackets a call. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <string.h>

static fvm_chunk *assemble(const char *text)
{
    char *err = NULL;
    fvm_chunk *c = fvm_assemble(text, strlen(text), "pool.fasm", &err);
    cr_assert_not_null(c, "%s", err ? err : "");
    return c;
}

static int64_t run_int(fvm_vm *vm)
{
    fvm_result r = fvm_vm_run(vm);
    cr_assert_eq(r.status, FVM_RUN_OK, "%s", fvm_vm_error(vm));
    cr_assert_eq(r.value.type, FVM_T_INT);
    return r.value.as.i;
}

Test(pool, acquire_makes_a_vm_and_reuses_a_released_one_reset)
{
    fvm_chunk *a = assemble("    LoadInt 40\n    LoadInt 2\n    Add\n    SetVar x\n    GetVar x\n");
    fvm_chunk *b = assemble("    GetVar y\n    StringLen\n");
    fvm_pool *p = fvm_pool_new(4);
    cr_assert_eq(fvm_pool_len(p), 0);
    fvm_vm *vm = fvm_pool_acquire(p, a);
    cr_assert_eq(run_int(vm), 42);
    fvm_vm_push(vm, fvm_int(99)); /* left behind: the reset clears it */
    fvm_pool_release(p, vm);
    cr_assert_eq(fvm_pool_len(p), 1);
    fvm_vm *again = fvm_pool_acquire(p, b);
    cr_assert_eq(again, vm, "the parked VM is reused");
    cr_assert_eq(fvm_pool_len(p), 0);
    cr_assert_eq(fvm_vm_chunk(again), b);
    cr_assert_eq(fvm_vm_stack_depth(again), 0);
    cr_assert_eq(fvm_vm_global_count(again), 1);
    cr_assert_eq(run_int(again), 0, "globals start Undef for the new chunk");
    fvm_vm *other = fvm_pool_acquire(p, a);
    cr_assert_neq(other, again, "an empty pool makes a new VM");
    fvm_pool_release(p, again);
    fvm_pool_release(p, other);
    cr_assert_eq(fvm_pool_len(p), 2);
    cr_assert_null(fvm_pool_acquire(p, NULL));
    fvm_pool_free(p); /* frees both parked VMs */
    fvm_chunk_free(a);
    fvm_chunk_free(b);
}

static fvm_value seven(fvm_vm *vm, uint8_t argc, void *ud) { return fvm_int(7); }

Test(pool, a_reused_vm_keeps_its_handlers)
{
    fvm_chunk *c = assemble("    CallBuiltin 3 0\n");
    fvm_pool *p = fvm_pool_new(0);
    fvm_vm *vm = fvm_pool_acquire(p, c);
    fvm_vm_register_builtin(vm, 3, seven, NULL);
    fvm_pool_release(p, vm);
    vm = fvm_pool_acquire(p, c);
    cr_assert_eq(run_int(vm), 7);
    fvm_pool_release(p, vm);
    fvm_pool_free(p);
    fvm_chunk_free(c);
}

static int run_and_double(fvm_vm *vm, void *ud)
{
    *(fvm_vm **)ud = vm;
    return (int)run_int(vm) * 2;
}

Test(pool, with_runs_a_function_on_a_pooled_vm_and_returns_its_result)
{
    fvm_chunk *c = assemble("    LoadInt 21\n");
    fvm_pool *p = fvm_pool_new(1);
    fvm_vm *seen = NULL, *seen2 = NULL;
    cr_assert_eq(fvm_pool_with(p, c, run_and_double, &seen), 42);
    cr_assert_eq(fvm_pool_len(p), 1, "released after the call");
    cr_assert_eq(fvm_pool_with(p, c, run_and_double, &seen2), 42);
    cr_assert_eq(seen2, seen, "and reused by the next");
    cr_assert_eq(fvm_pool_with(p, NULL, run_and_double, &seen), -1);
    fvm_pool_free(p);
    fvm_chunk_free(c);
}
