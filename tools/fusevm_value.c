/* Values as the fusevm command shows them: the type first, then the value,
 * so that 42, 42.0 and "42" never look alike. */
#include <stdio.h>
#include <stdlib.h>

#include "fusevm_cli.h"

/* Strings are quoted; bytes outside printable ASCII are escaped, so the
 * output stays one line and shows NUL and invalid UTF-8 bytes. */
static void print_quoted(FILE *out, const char *s, size_t len)
{
    fputc('"', out);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\t': fputs("\\t", out); break;
        case '\r': fputs("\\r", out); break;
        default:
            if (c >= 0x20 && c < 0x7f)
                fputc(c, out);
            else
                fprintf(out, "\\x%02x", c);
        }
    }
    fputc('"', out);
}

static void print_float(FILE *out, double d)
{
    char small[64];
    size_t n = fvm_format_float(d, small, sizeof small);
    if (n < sizeof small) {
        fputs(small, out);
        return;
    }
    char *big = malloc(n + 1); /* positional form of a huge or tiny number */
    if (big) {
        fvm_format_float(d, big, n + 1);
        fputs(big, out);
        free(big);
    }
}

/* Deeper levels print as "...": a value built at run time can nest far
 * deeper than the C stack allows recursing. */
#define MAX_PRINT_DEPTH 200

static void print_value(FILE *out, fvm_value v, unsigned depth);

static void print_hash(FILE *out, fvm_value h, unsigned depth)
{
    const char *key;
    size_t klen;
    fvm_value v;
    fputs("hash {", out);
    for (size_t i = 0; fvm_hash_entry(h, i, &key, &klen, &v); i++) {
        fputs(i ? ", " : "", out);
        print_quoted(out, key, klen);
        fputs(": ", out);
        print_value(out, v, depth + 1);
    }
    fputc('}', out);
}

static void print_value(FILE *out, fvm_value v, unsigned depth)
{
    size_t len;
    const char *s;
    if (depth > MAX_PRINT_DEPTH) {
        fputs("...", out);
        return;
    }
    switch (v.type) {
    case FVM_T_UNDEF: fputs("undef", out); break;
    case FVM_T_BOOL: fputs(v.as.b ? "bool true" : "bool false", out); break;
    case FVM_T_INT: fprintf(out, "int %lld", (long long)v.as.i); break;
    case FVM_T_FLOAT: fputs("float ", out); print_float(out, v.as.f); break;
    case FVM_T_STR:
        s = fvm_str_bytes(v, &len);
        fputs("str ", out);
        print_quoted(out, s, len);
        break;
    case FVM_T_ARRAY:
        fputs("array [", out);
        for (size_t i = 0; i < fvm_array_len(v); i++) {
            fputs(i ? ", " : "", out);
            print_value(out, fvm_array_at(v, i), depth + 1);
        }
        fputc(']', out);
        break;
    case FVM_T_HASH: print_hash(out, v, depth); break;
    case FVM_T_STATUS: fprintf(out, "status %d", (int)v.as.status); break;
    case FVM_T_REF:
        fputs("ref (", out);
        print_value(out, fvm_ref_get(v), depth + 1);
        fputc(')', out);
        break;
    case FVM_T_NATIVEFN: fprintf(out, "nativefn %u", (unsigned)v.as.fn); break;
    case FVM_T_OBJ: fprintf(out, "obj %lu", (unsigned long)v.as.obj); break;
    default: fprintf(out, "(type %u)", (unsigned)v.type); break;
    }
}

void fvm_cli_print_value(FILE *out, fvm_value v)
{
    print_value(out, v, 0);
}
