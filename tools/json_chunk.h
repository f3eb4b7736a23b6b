/* Chunks in upstream fusevm's serde JSON form, the form frontends written
 * against the Rust crate produce (the grammar is in json_chunk.c). Tool
 * side: it uses json-c, which the library itself must not depend on. */
#ifndef FVM_JSON_CHUNK_H
#define FVM_JSON_CHUNK_H

#include <stddef.h>

#include "fusevm.h"

/* Parse len bytes of JSON into a verified chunk (op_hash recomputed). On
 * failure returns NULL and writes a message to err (errlen bytes, may be 0):
 * "line L, column C: ..." for malformed JSON, "ops[12]: Call expects 2
 * operands" and the like for a well-formed document that is not a chunk. */
fvm_chunk *fvm_json_import(const char *text, size_t len, char *err, size_t errlen);

/* The chunk as JSON in the same shape, one op per line, NUL-terminated and
 * malloc'ed (release with free). Returns NULL when a string (constant, hash
 * key, name or source) is not valid UTF-8 or a hash key holds a NUL byte:
 * upstream's strings cannot, and this reader could not read it back; when
 * the chunk has slot names, which this form does not carry; and when a
 * chunk declares builtins by name, which upstream's JSON has no field for
 * (dropping them would let the ids mean anything). */
char *fvm_json_export(const fvm_chunk *c);

#endif
