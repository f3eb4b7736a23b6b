/* libFuzzer target for the JSON chunk importer: any bytes either fail with
 * a message or give a chunk that exports and re-imports to an equal chunk. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <fusevm.h>

#include "../../tools/json_chunk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    fvm_chunk *c = fvm_json_import((const char *)data, size, err, sizeof err);
    if (!c) {
        if (!err[0])
            abort(); /* a refusal always says why */
        return 0;
    }
    /* The importer only accepts what the exporter can write. */
    char *text = fvm_json_export(c);
    if (!text)
        abort();
    fvm_chunk *back = fvm_json_import(text, strlen(text), err, sizeof err);
    if (!back || !fvm_chunk_equal(c, back))
        abort();
    fvm_chunk_free(back);
    fvm_chunk_free(c);
    free(text);
    return 0;
}
