/* Reading the fusevm command's input files, in whichever format they are. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusevm_cli.h"
#include "json_chunk.h"

/* Everything f holds, with a NUL after it; NULL on a read error. */
static char *read_all(FILE *f, size_t *len)
{
    size_t n = 0, cap = 0;
    char *buf = NULL;
    do {
        if (cap - n < 2) { /* room for a byte and the NUL */
            size_t ncap = cap ? cap * 2 : 65536;
            char *bigger = realloc(buf, ncap);
            if (!bigger) {
                free(buf);
                errno = ENOMEM;
                return NULL;
            }
            buf = bigger;
            cap = ncap;
        }
        n += fread(buf + n, 1, cap - n - 1, f);
    } while (!feof(f) && !ferror(f));
    if (ferror(f)) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* The whole of a file, NUL-terminated past *len; NULL after printing why. */
static char *read_file(const char *path, size_t *len)
{
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fusevm: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = read_all(f, len);
    if (!buf)
        fprintf(stderr, "fusevm: cannot read %s: %s\n", path, strerror(errno));
    if (!is_stdin)
        fclose(f);
    return buf;
}

/* ------------------------------------------------------------------------
 * Formats
 * ------------------------------------------------------------------------ */

static bool is_binary(const char *bytes, size_t len)
{
    return len >= 4 && memcmp(bytes, "FVMC", 4) == 0;
}

static fvm_chunk *load_binary(const char *bytes, size_t len, const char *path)
{
    char err[512];
    fvm_chunk *c = fvm_chunk_load(bytes, len, err, sizeof err);
    if (!c)
        fprintf(stderr, "fusevm: %s: %s\n", path, err);
    return c;
}

/* Upstream's serde JSON chunks are objects; assembly never starts with '{'. */
static bool is_json(const char *bytes, size_t len)
{
    size_t i = 0;
    while (i < len && (bytes[i] == ' ' || bytes[i] == '\t' || bytes[i] == '\n' || bytes[i] == '\r'))
        i++;
    return i < len && bytes[i] == '{';
}

static fvm_chunk *load_json(const char *bytes, size_t len, const char *path)
{
    char err[512];
    fvm_chunk *c = fvm_json_import(bytes, len, err, sizeof err);
    if (!c)
        fprintf(stderr, "fusevm: %s: %s\n", path, err);
    return c;
}

static bool is_text(const char *bytes, size_t len)
{
    return true;
}

/* Assembler messages are already "file:line:column: message" lines. */
static fvm_chunk *load_text(const char *bytes, size_t len, const char *path)
{
    char *errors = NULL;
    fvm_chunk *c = fvm_assemble(bytes, len, path, &errors);
    if (!c && errors) {
        size_t n = strlen(errors);
        fputs(errors, stderr);
        if (n && errors[n - 1] != '\n')
            fputc('\n', stderr);
    } else if (!c) {
        fprintf(stderr, "fusevm: %s: cannot assemble\n", path);
    }
    fvm_free(errors);
    return c;
}

typedef struct input_format {
    bool (*claims)(const char *bytes, size_t len);
    fvm_chunk *(*load)(const char *bytes, size_t len, const char *path);
} input_format;

/* Tried in order: the first format that claims the bytes loads them. Text
 * claims anything, so it comes last. */
static const input_format formats[] = {
    {is_binary, load_binary},
    {is_json, load_json},
    {is_text, load_text},
};

fvm_chunk *fvm_cli_load(const char *path)
{
    size_t len;
    char *bytes = read_file(path, &len);
    if (!bytes)
        return NULL;
    fvm_chunk *c = NULL;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        if (formats[i].claims(bytes, len)) {
            c = formats[i].load(bytes, len, path);
            break;
        }
    }
    free(bytes);
    return c;
}
