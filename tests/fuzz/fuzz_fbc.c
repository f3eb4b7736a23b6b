/* libFuzzer target for the binary chunk loader: any bytes either fail with a
 * message or give a chunk that saves back to exactly the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <fusevm.h>

#include "bytecode_file.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *data, size_t size)
{
    char err[256] = "";
    fvm_chunk *c = fvm_chunk_load(data, size, err, sizeof err);
    if (!c) {
        if (!err[0])
            abort(); /* a refusal always says why */
        return;
    }
    /* The encoding is canonical (exact operand widths, distinct hash keys,
     * no trailing bytes), so what loads saves back byte for byte. */
    void *bytes;
    size_t len;
    if (fvm_chunk_save(c, &bytes, &len) != 0 || len != size || memcmp(bytes, data, size) != 0)
        abort();
    fvm_chunk *back = fvm_chunk_load(bytes, len, err, sizeof err);
    if (!back || !fvm_chunk_equal(c, back) || fvm_chunk_op_hash(c) != fvm_chunk_op_hash(back))
        abort();
    fvm_chunk_free(back);
    fvm_chunk_free(c);
    fvm_free(bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(data, size);
    /* Mutated input almost never carries a right checksum; with one fixed
     * up, the structure checks behind it get explored too. */
    if (size >= FVM_FBC_HEADER_LEN + FVM_FBC_CHECKSUM_LEN) {
        uint8_t *copy = malloc(size);
        memcpy(copy, data, size);
        size_t body = size - FVM_FBC_CHECKSUM_LEN;
        uint64_t sum = fvm_fnv1a64(FVM_FNV64_INIT, copy, body);
        for (unsigned i = 0; i < FVM_FBC_CHECKSUM_LEN; i++)
            copy[body + i] = (uint8_t)(sum >> (8 * i));
        check(copy, size);
        free(copy);
    }
    return 0;
}
