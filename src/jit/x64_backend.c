/* The services of jit/backend.h for x86-64: each is the x86-64 function of
 * the same purpose. */
#include "jit/backend.h"

#include "jit/x64_lower.h"

void fvm_code_buf_init(fvm_code_buf *b) { fvm_x64_buf_init(b, 0); }

void fvm_code_buf_free(fvm_code_buf *b) { fvm_x64_buf_free(b); }

bool fvm_backend_lower(const fvm_ir_func *f, const fvm_ra_result *ra, fvm_code_buf *b,
                       uint32_t *offsets, const char **why_not)
{
    return fvm_x64_lower(f, ra, b, offsets, why_not);
}

void fvm_backend_dump(const fvm_ir_func *f, const uint32_t *offsets, const fvm_code_buf *b,
                      fvm_buf *out)
{
    fvm_x64_dump_code(f, offsets, b, out);
}

uint32_t fvm_backend_cpu_features(void) { return fvm_x64_cpu_features(); }

bool fvm_backend_patch_reloc(uint8_t *code, size_t len, uint32_t offset, uint64_t addr)
{
    return fvm_x64_patch_imm64(code, len, offset, addr);
}

/* x86 keeps instruction fetch coherent with data writes to the same
 * memory, through any mapping (the code memory writes through the
 * kernel's): nothing to do. */
void fvm_backend_sync_icache(void *code, size_t len)
{
    (void)code;
    (void)len;
}
