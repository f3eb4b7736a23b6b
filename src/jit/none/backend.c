/* The services of jit/backend.h in a build without a code generator
 * (none/backend.h), those the context, the disk cache and the code memory
 * call: no CPU features are assumed and no code is patched, so no blob can
 * load; none is ever asked for, as no tier compiles. */
#include "jit/backend.h"

uint32_t fvm_backend_cpu_features(void) { return 0; }

bool fvm_backend_patch_reloc(uint8_t *code, size_t len, uint32_t offset, uint64_t addr)
{
    (void)code, (void)len, (void)offset, (void)addr;
    return false;
}

void fvm_backend_sync_icache(void *code, size_t len)
{
    (void)code, (void)len;
}
