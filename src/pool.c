/* The VM pool: parked VMs reused for many small chunks, so a frontend that
 * runs one chunk after another does not allocate a VM's stack, frames and
 * slot arena each time. */
#include <stdlib.h>

#include "vm.h"

struct fvm_pool {
    fvm_vm **vms;
    size_t len, cap;
};

fvm_pool *fvm_pool_new(size_t capacity)
{
    fvm_pool *p = fvm_xcalloc(1, sizeof *p);
    if (capacity) {
        p->vms = fvm_xmalloc(capacity * sizeof *p->vms);
        p->cap = capacity;
    }
    return p;
}

void fvm_pool_free(fvm_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->len; i++)
        fvm_vm_free(p->vms[i]);
    free(p->vms);
    free(p);
}

fvm_vm *fvm_pool_acquire(fvm_pool *p, const fvm_chunk *chunk)
{
    if (!chunk)
        return NULL;
    if (!p->len)
        return fvm_vm_new(chunk);
    fvm_vm *vm = p->vms[--p->len];
    fvm_vm_reset(vm, chunk);
    return vm;
}

void fvm_pool_release(fvm_pool *p, fvm_vm *vm)
{
    if (!vm)
        return;
    if (p->len == p->cap) {
        void *a = p->vms;
        fvm_grow(&a, &p->cap, p->len + 1, sizeof *p->vms);
        p->vms = a;
    }
    p->vms[p->len++] = vm;
}

int fvm_pool_with(fvm_pool *p, const fvm_chunk *chunk, fvm_pool_fn fn, void *ud)
{
    fvm_vm *vm = fvm_pool_acquire(p, chunk);
    if (!vm)
        return -1;
    int r = fn(vm, ud);
    fvm_pool_release(p, vm);
    return r;
}

size_t fvm_pool_len(const fvm_pool *p) { return p->len; }
