/* libFuzzer target: arbitrary bytes into the assembler. Whatever assembles
 * must disassemble and assemble again into an equal chunk, with and without
 * annotations; nothing may crash, leak or read out of bounds. */
#include <fusevm.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const fvm_chunk *c, unsigned flags)
{
    char *text = fvm_disassemble(c, flags);
    char *err = NULL;
    fvm_chunk *again = fvm_assemble(text, strlen(text), "dis", &err);
    if (!again || !fvm_chunk_equal(c, again)) {
        fprintf(stderr, "round trip failed:\n%s\n--- text ---\n%s\n", err ? err : "chunks differ",
                text);
        abort();
    }
    fvm_chunk_free(again);
    fvm_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *err = NULL;
    fvm_chunk *c = fvm_assemble((const char *)data, size, "fuzz", &err);
    if (!c) {
        if (!err || !*err)
            abort(); /* a failure must say why */
        fvm_free(err);
        return 0;
    }
    check_round_trip(c, 0);
    check_round_trip(c, FVM_DIS_ANNOTATE);
    fvm_chunk_free(c);
    return 0;
}
