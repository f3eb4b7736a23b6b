/* callbacks: C calling back into a fusevm program.
 *
 * The program defines subroutines; C runs its top level once (which sets a
 * global), then calls them by name with fvm_vm_call: a sort comparator, an
 * event handler that fails (its traceback printed as the fusevm command
 * prints one), and a runaway loop stopped by an instruction budget
 * (fvm_vm_set_fuel). A builtin the program calls calls back into it too.
 *
 * Build and run it (make examples does this):
 *     cc -std=c11 -Iinclude examples/callbacks.c build/libfusevm.a -lm -o callbacks && ./callbacks
 */
#include <stdio.h>
#include <string.h>

#include "fusevm.h"

static const char program[] =
    "    LoadInt -1\n"
    "    SetVar order\n"          /* -1: descending; C may change it */
    "    Jump end\n"
    ".sub less\n"                 /* less(a, b): a before b? */
    "    SetSlot 1\n"
    "    SetSlot 0\n"
    "    GetSlot 0\n"
    "    GetVar order\n"
    "    Mul\n"
    "    GetSlot 1\n"
    "    GetVar order\n"
    "    Mul\n"
    "    NumLt\n"
    "    ReturnValue\n"
    ".sub on_click\n"             /* calls a function nobody defined */
    "    Call on_missing 0\n"
    "    ReturnValue\n"
    ".sub spin\n"
    "again:\n"
    "    Jump again\n"
    ".sub twice_less\n"           /* asks C (builtin 0) to call less twice */
    "    CallBuiltin 0 0\n"
    "    ReturnValue\n"
    ".name on_missing\n"
    "end:\n";

/* Insertion sort through the program's comparator. */
static int sort_with(fvm_vm *vm, int64_t *xs, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        for (size_t j = i; j > 0; j--) {
            fvm_value args[2] = {fvm_int(xs[j]), fvm_int(xs[j - 1])};
            fvm_result r = fvm_vm_call(vm, "less", args, 2);
            if (r.status != FVM_RUN_OK)
                return -1;
            bool before = fvm_truthy(r.value);
            fvm_value_drop(r.value);
            if (!before)
                break;
            int64_t t = xs[j];
            xs[j] = xs[j - 1];
            xs[j - 1] = t;
        }
    }
    return 0;
}

/* Builtin 0: calls less(1, 2) and less(2, 1) while the program runs, and
 * returns how many said true. */
static fvm_value count_less(fvm_vm *vm, uint8_t argc, void *ud)
{
    (void)argc;
    (void)ud;
    int64_t yes = 0;
    for (int k = 0; k < 2; k++) {
        fvm_value args[2] = {fvm_int(1 + k), fvm_int(2 - k)};
        fvm_result r = fvm_vm_call(vm, "less", args, 2);
        yes += r.status == FVM_RUN_OK && fvm_truthy(r.value);
        fvm_value_drop(r.value);
    }
    return fvm_int(yes);
}

static void print_all(const char *what, const int64_t *xs, size_t n)
{
    printf("%s:", what);
    for (size_t i = 0; i < n; i++)
        printf(" %lld", (long long)xs[i]);
    printf("\n");
}

int main(void)
{
    char *errors = NULL;
    fvm_chunk *c = fvm_assemble(program, strlen(program), "callbacks.fasm", &errors);
    if (!c) {
        fprintf(stderr, "%s", errors);
        fvm_free(errors);
        return 1;
    }
    fvm_vm *vm = fvm_vm_new(c);
    fvm_vm_register_builtin(vm, 0, count_less, NULL);
    fvm_vm_run(vm); /* the top level: sets order */

    int64_t xs[] = {3, 1, 4, 1, 5, 9, 2, 6};
    size_t n = sizeof xs / sizeof xs[0];
    sort_with(vm, xs, n);
    print_all("descending", xs, n);
    fvm_vm_set_global_named(vm, "order", fvm_int(1));
    sort_with(vm, xs, n);
    print_all("ascending", xs, n);

    fvm_result r = fvm_vm_call(vm, "twice_less", NULL, 0);
    printf("less said true %lld time(s) of 2\n", (long long)r.value.as.i);

    r = fvm_vm_call(vm, "on_click", NULL, 0);
    if (r.status == FVM_RUN_ERROR) {
        char *text = fvm_vm_traceback(vm, "callbacks.fasm");
        printf("on_click failed: %s", text);
        fvm_free(text);
    }

    fvm_vm_set_fuel(vm, 10000);
    r = fvm_vm_call(vm, "spin", NULL, 0);
    printf("spin: %s\n", r.status == FVM_RUN_ERROR ? fvm_vm_error(vm) : "returned");

    fvm_vm_free(vm);
    fvm_chunk_free(c);
    return 0;
}
