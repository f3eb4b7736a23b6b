/* The shared end of every tier's compile (see codegen.h). */
#include "jit/codegen.h"

#include <stdlib.h>

#include "jit/ra.h"

void *fvm_codegen_finish(fvm_ir_func *f, fvm_mcode *arena, fvm_buf *dump_ir, fvm_buf *dump_asm,
                         fvm_code_buf *image, uint64_t *commit_start, fvm_jit_reason *why_not)
{
    fvm_ra_config cfg = {FVM_RA_DEFAULT_ALLOWED};
    fvm_ra_result ra;
    fvm_ra_run(f, &cfg, &ra); /* cannot fail: cfg allows nothing outside the default */
    if (dump_ir) {
        fvm_ir_dump(f, dump_ir);
        fvm_ra_dump(f, &ra, dump_ir);
    }
    /* Each instruction's code offset, for the asm dump only (the code is
     * the same either way). */
    uint32_t *offsets = dump_asm ? fvm_xcalloc(f->ninsts + 1, sizeof *offsets) : NULL;
    /* The backend's own words for a failure are for its tests; the
     * context counts the reason. */
    const char *lower_why = NULL;
    bool ok = fvm_backend_lower(f, &ra, image, offsets, &lower_why);
    fvm_ra_free(&ra);
    if (ok && dump_asm)
        fvm_backend_dump(f, offsets, image, dump_asm);
    free(offsets);
    if (commit_start)
        *commit_start = fvm_now_ns();
    if (!ok) {
        *why_not = FVM_JIT_REASON_BACKEND;
        return NULL;
    }
    void *entry = fvm_mcode_add(arena, image->code, image->len);
    if (!entry)
        *why_not = FVM_JIT_REASON_CODE_MEMORY;
    return entry;
}
