/* A tour of the C API: build a chunk with a loop and a subroutine, register a
 * builtin, capture output, run it, and read the result and the VM's state.
 *
 *   cc -std=c11 -Iinclude examples/tour.c build/libfusevm.a -lm -o tour && ./tour
 *
 * It prints:
 *   square(7) = 49
 *   result: 55 (sum of 1..10)
 */
#include <stdio.h>

#include "fusevm.h"

/* A builtin pops its own arguments and returns the value the VM pushes. */
static fvm_value square(fvm_vm *vm, uint8_t argc, void *ud)
{
    (void)argc;
    (void)ud;
    int64_t n = fvm_to_int(fvm_vm_pop(vm));
    return fvm_int(n * n);
}

/* Output of Print/PrintLn arrives here instead of stdout. */
static void to_stdout(void *ud, const char *bytes, size_t len)
{
    (void)ud;
    fwrite(bytes, 1, len, stdout);
}

int main(void)
{
    fvm_builder *b = fvm_builder_new();

    /* Print "square(7) = " then the builtin's result. */
    int32_t label = fvm_add_constant(b, fvm_cstr("square(7) = "));
    fvm_emit(b, FVM_LOAD_CONST((uint16_t)label), 1);
    fvm_emit(b, FVM_LOAD_INT(7), 1);
    fvm_emit(b, FVM_CALL_BUILTIN(1, 1), 1);
    fvm_emit(b, FVM_PRINT_LN(2), 1);

    /* sum = 0; i = 1; do { sum += i } while (++i < 11); with fused ops. */
    fvm_emit(b, FVM_LOAD_INT(0), 2);
    fvm_emit(b, FVM_SET_SLOT(0), 2);
    fvm_emit(b, FVM_LOAD_INT(1), 2);
    fvm_emit(b, FVM_SET_SLOT(1), 2);
    size_t loop = fvm_current_pos(b);
    fvm_emit(b, FVM_ADD_ASSIGN_SLOT_VOID(0, 1), 3);
    fvm_emit(b, FVM_SLOT_INC_LT_INT_JUMP_BACK(1, 11, (uint32_t)loop), 3);

    /* Call a subroutine with the sum as its argument; it returns it. */
    int32_t ident = fvm_add_name(b, "identity", 8);
    fvm_emit(b, FVM_GET_SLOT(0), 4);
    fvm_emit(b, FVM_CALL((uint16_t)ident, 1), 4);
    size_t skip = fvm_emit(b, FVM_JUMP(0), 4); /* over the body; patched below */
    fvm_add_sub_entry(b, (uint16_t)ident, fvm_current_pos(b));
    fvm_emit(b, FVM_RETURN_VALUE(), 5); /* the argument is on the stack */
    fvm_patch_jump(b, skip, fvm_current_pos(b));

    fvm_chunk *chunk = fvm_build(b); /* verified: a bad chunk is refused here */
    if (!chunk) {
        fprintf(stderr, "build failed: %s\n", fvm_builder_error(b));
        return 1;
    }
    fvm_builder_free(b);

    fvm_vm *vm = fvm_vm_new(chunk);
    fvm_vm_register_builtin(vm, 1, square, NULL);
    fvm_vm_set_output(vm, to_stdout, NULL);

    fvm_result r = fvm_vm_run(vm);
    int status = 0;
    if (r.status == FVM_RUN_ERROR) {
        fprintf(stderr, "error at op %zu: %s\n", fvm_vm_error_ip(vm), fvm_vm_error(vm));
        status = 1;
    } else if (r.status == FVM_RUN_OK) {
        printf("result: %lld (sum of 1..10)\n", (long long)fvm_to_int(r.value));
        fvm_value_drop(r.value);
    }
    fvm_vm_free(vm);
    fvm_chunk_free(chunk);
    return status;
}
