/* What the disk cache asks of a backend, in a build without one (make
 * JIT=0): no CPU features are assumed and no code is patched, so no blob
 * can load; none is ever asked for, as no tier compiles. */
#include "jit/x64_emit.h"
#include "jit/x64_target.h"

uint32_t fvm_x64_cpu_features(void) { return 0; }

bool fvm_x64_patch_imm64(uint8_t *code, size_t len, uint32_t offset, uint64_t addr)
{
    (void)code, (void)len, (void)offset, (void)addr;
    return false;
}
