/* Installing hosts, the capability setting and child VMs: the embedding
 * side of the host interfaces (fusevm.h, "Hosts"). The ops that call the
 * hosts are in shell.c and awk.c; nested runs on the same VM are in vm.c,
 * beside the interpreter they re-enter. */
#include <stddef.h>

#include "vm.h"

/* Copy the first `size` bytes of a host struct the embedder compiled
 * (possibly against an older, shorter struct) into ours, the rest zero:
 * entries the embedder's header did not have are NULL. The size and ud
 * fields must be there. */
static bool install(void *ours, size_t ours_size, const void *theirs, size_t size,
                    size_t min_size)
{
    if (size < min_size)
        return false;
    memset(ours, 0, ours_size);
    memcpy(ours, theirs, size < ours_size ? size : ours_size);
    return true;
}

int fvm_vm_set_shell_host(fvm_vm *vm, const fvm_shell_host *host)
{
    if (!host) {
        memset(&vm->shell, 0, sizeof vm->shell);
        vm->has_shell = false;
        return 0;
    }
    if (!install(&vm->shell, sizeof vm->shell, host, host->size,
                 offsetof(fvm_shell_host, ud) + sizeof host->ud))
        return -1;
    vm->has_shell = true;
    return 0;
}

const fvm_shell_host *fvm_vm_shell_host(const fvm_vm *vm)
{
    return vm->has_shell ? &vm->shell : NULL;
}

int fvm_vm_set_awk_host(fvm_vm *vm, const fvm_awk_host *host)
{
    if (!host) {
        memset(&vm->awk, 0, sizeof vm->awk);
        vm->has_awk = false;
        return 0;
    }
    if (!install(&vm->awk, sizeof vm->awk, host, host->size,
                 offsetof(fvm_awk_host, ud) + sizeof host->ud))
        return -1;
    vm->has_awk = true;
    return 0;
}

const fvm_awk_host *fvm_vm_awk_host(const fvm_vm *vm)
{
    return vm->has_awk ? &vm->awk : NULL;
}

void fvm_vm_set_capabilities(fvm_vm *vm, unsigned caps)
{
    vm->caps = caps & FVM_CAP_ALL;
}

unsigned fvm_vm_capabilities(const fvm_vm *vm)
{
    return vm->caps;
}

fvm_vm *fvm_vm_new_child(const fvm_vm *parent, const fvm_chunk *c)
{
    fvm_vm *vm = fvm_vm_new(c);
    if (!vm)
        return NULL;
    for (size_t id = 0; id < parent->nbuiltins; id++) {
        if (parent->builtins[id].fn)
            fvm_vm_register_builtin(vm, (uint16_t)id, parent->builtins[id].fn,
                                    parent->builtins[id].ud);
    }
    fvm_vm_set_extension_handler(vm, parent->ext, parent->ext_ud);
    fvm_vm_set_extension_wide_handler(vm, parent->ext_wide, parent->ext_wide_ud);
    fvm_vm_set_output(vm, parent->out, parent->out_ud);
    fvm_vm_set_input(vm, parent->in, parent->in_ud);
    vm->shell = parent->shell;
    vm->has_shell = parent->has_shell;
    vm->awk = parent->awk;
    vm->has_awk = parent->has_awk;
    vm->caps = parent->caps;
    vm->max_stack = parent->max_stack;
    vm->max_frames = parent->max_frames;
    fvm_vm_set_jit(vm, parent->jit);
    vm->last_status = parent->last_status;
    fvm_globals_by_name(c, vm->globals, parent->chunk, parent->globals);
    return vm;
}
