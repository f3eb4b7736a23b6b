/* Binary chunk files (.fbc): the constants of the format. The grammar is
 * in bytecode_file.c beside the reader; docs/FORMAT.md describes it too. */
#ifndef FVM_BYTECODE_FILE_H
#define FVM_BYTECODE_FILE_H

#include <stdint.h>

#define FVM_FBC_MAGIC "FVMC"
#define FVM_FBC_MAGIC_LEN 4
/* Raised whenever the layout changes; a reader accepts only its own. */
#define FVM_FBC_VERSION 1
/* Header probes: a writer and a reader that disagree about the basic
 * encodings (byte order, integer width, IEEE doubles) see a different value
 * here and stop before reading anything else. The header also records
 * sizeof(fvm_op): a build with another instruction record has other operand
 * fields, so its files cannot be read field by field even at this version. */
#define FVM_FBC_INT_PROBE INT64_C(0x0807060504030201)
#define FVM_FBC_FLOAT_PROBE 370.5
#define FVM_FBC_HEADER_LEN 24
#define FVM_FBC_CHECKSUM_LEN 8

/* Nesting limits, so that a file cannot drive the loader's recursion
 * arbitrarily deep. Upstream's serde JSON reader stops at 128 levels too, so
 * no chunk that upstream can exchange is refused. Sub-chunks (command
 * substitutions inside command substitutions...) nest far less in practice. */
#define FVM_FBC_MAX_VALUE_DEPTH 128
#define FVM_FBC_MAX_CHUNK_DEPTH 32

#endif
