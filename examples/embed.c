/* embed: fusevm inside a C program.
 *
 * Shows the embedding API end to end: build a chunk with the builder
 * (fvm_builder_new, fvm_add_constant, fvm_add_name, fvm_emit with the FVM_*
 * op constructors, a forward jump fixed up with fvm_patch_jump, fvm_build),
 * give the program an input through a global, register a builtin the
 * bytecode calls with CallBuiltin, capture what it prints with
 * fvm_vm_set_output, run it and print its result.
 *
 * The program is
 *     print shout("hello from fusevm")
 *     sum = 0; i = 1
 *     while (i <= n) { sum = sum + i * i; i = i + 1 }
 *     print "sum of squares up to ", n
 *     return sum
 * with n = 10 set by this program, so it prints:
 *     captured 2 lines of output:
 *       | HELLO FROM FUSEVM!
 *       | sum of squares up to 10
 *     result: int 385
 *
 * Build and run it (make examples does this):
 *     cc -std=c11 -Iinclude examples/embed.c build/libfusevm.a -lm -o embed && ./embed
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusevm.h"

enum { BUILTIN_SHOUT = 0 };

/* A CallBuiltin handler pops its own arguments (the last one on top) and
 * returns the value the VM pushes: here the first argument upper-cased,
 * with an exclamation mark. */
static fvm_value shout(fvm_vm *vm, uint8_t argc, void *ud)
{
    (void)ud;
    for (uint8_t i = 1; i < argc; i++)
        fvm_value_drop(fvm_vm_pop(vm)); /* only the first argument counts */
    fvm_value arg = argc > 0 ? fvm_vm_pop(vm) : fvm_undef();
    fvm_value text = fvm_to_str(arg);   /* any value has a string form */
    fvm_value_drop(arg);
    size_t len;
    const char *bytes = fvm_str_bytes(text, &len);
    char *loud = malloc(len + 1);
    if (!loud) {
        fvm_value_drop(text);
        fvm_vm_raise(vm, "shout: out of memory");
        return fvm_undef();
    }
    for (size_t i = 0; i < len; i++)
        loud[i] = (char)toupper((unsigned char)bytes[i]);
    loud[len] = '!';
    fvm_value result = fvm_str(loud, len + 1);
    free(loud);
    fvm_value_drop(text);
    return result;
}

/* Everything Print and PrintLn write arrives here instead of on stdout. */
typedef struct capture {
    char *bytes;
    size_t len;
} capture;

static void capture_output(void *ud, const char *bytes, size_t len)
{
    capture *c = ud;
    char *grown = realloc(c->bytes, c->len + len + 1);
    if (!grown)
        return;
    memcpy(grown + c->len, bytes, len);
    c->bytes = grown;
    c->len += len;
    c->bytes[c->len] = 0;
}

/* Emits the program; returns the chunk or NULL after printing why not. */
static fvm_chunk *build_program(uint16_t *n_global)
{
    fvm_builder *b = fvm_builder_new();
    if (!b)
        return NULL;
    /* Pools: constants by index, names interned (a name is also a global). */
    uint16_t greeting = (uint16_t)fvm_add_constant(b, fvm_cstr("hello from fusevm"));
    uint16_t label = (uint16_t)fvm_add_constant(b, fvm_cstr("sum of squares up to "));
    uint16_t n = (uint16_t)fvm_add_name(b, "n", 1);
    enum { SUM = 0, I = 1 }; /* frame slots */
    uint32_t line = 1;

    fvm_emit(b, FVM_LOAD_CONST(greeting), line);
    fvm_emit(b, FVM_CALL_BUILTIN(BUILTIN_SHOUT, 1), line);
    fvm_emit(b, FVM_PRINT_LN(1), line++);

    fvm_emit(b, FVM_LOAD_INT(0), line);
    fvm_emit(b, FVM_SET_SLOT(SUM), line);
    fvm_emit(b, FVM_LOAD_INT(1), line);
    fvm_emit(b, FVM_SET_SLOT(I), line++);

    size_t loop = fvm_current_pos(b); /* while (i <= n) */
    fvm_emit(b, FVM_GET_SLOT(I), line);
    fvm_emit(b, FVM_GET_VAR(n), line);
    fvm_emit(b, FVM_NUM_LE(), line);
    size_t exit_jump = fvm_emit(b, FVM_JUMP_IF_FALSE(0), line++); /* target patched below */

    fvm_emit(b, FVM_GET_SLOT(SUM), line); /* sum = sum + i * i */
    fvm_emit(b, FVM_GET_SLOT(I), line);
    fvm_emit(b, FVM_GET_SLOT(I), line);
    fvm_emit(b, FVM_MUL(), line);
    fvm_emit(b, FVM_ADD(), line);
    fvm_emit(b, FVM_SET_SLOT(SUM), line++);
    fvm_emit(b, FVM_PRE_INC_SLOT_VOID(I), line++); /* i = i + 1 */
    fvm_emit(b, FVM_JUMP((uint32_t)loop), line++);

    fvm_patch_jump(b, exit_jump, fvm_current_pos(b));
    fvm_emit(b, FVM_LOAD_CONST(label), line);
    fvm_emit(b, FVM_GET_VAR(n), line);
    fvm_emit(b, FVM_PRINT_LN(2), line++);
    fvm_emit(b, FVM_GET_SLOT(SUM), line); /* the result: the top of the stack */

    fvm_chunk *chunk = fvm_build(b); /* verifies every operand */
    if (!chunk)
        fprintf(stderr, "embed: cannot build the program: %s\n", fvm_builder_error(b));
    fvm_builder_free(b);
    *n_global = n;
    return chunk;
}

static void print_result(fvm_value v)
{
    char num[64];
    size_t len;
    const char *s;
    switch (v.type) {
    case FVM_T_INT: printf("result: int %lld\n", (long long)v.as.i); break;
    case FVM_T_FLOAT:
        fvm_format_float(v.as.f, num, sizeof num);
        printf("result: float %s\n", num);
        break;
    case FVM_T_STR:
        s = fvm_str_bytes(v, &len);
        printf("result: str \"%.*s\"\n", (int)len, s);
        break;
    default: printf("result: a value of type %u\n", (unsigned)v.type); break;
    }
}

/* The captured output, line by line. */
static void print_captured(const capture *out)
{
    size_t lines = 0;
    for (size_t i = 0; i < out->len; i++)
        lines += out->bytes[i] == '\n';
    printf("captured %zu lines of output:\n", lines);
    for (const char *p = out->bytes; p && *p;) {
        const char *nl = strchr(p, '\n');
        int n = nl ? (int)(nl - p) : (int)strlen(p);
        printf("  | %.*s\n", n, p);
        p += n + (nl != NULL);
    }
}

int main(void)
{
    uint16_t n_global;
    fvm_chunk *chunk = build_program(&n_global);
    if (!chunk)
        return 1;

    fvm_vm *vm = fvm_vm_new(chunk);
    capture out = {NULL, 0};
    fvm_vm_register_builtin(vm, BUILTIN_SHOUT, shout, NULL);
    fvm_vm_set_output(vm, capture_output, &out);
    fvm_vm_set_global(vm, n_global, fvm_int(10)); /* the program's input */

    fvm_result r = fvm_vm_run(vm);
    int status = 0;
    if (r.status == FVM_RUN_ERROR) {
        fprintf(stderr, "embed: error at op %zu: %s\n", fvm_vm_error_ip(vm), fvm_vm_error(vm));
        status = 1;
    } else {
        print_captured(&out);
        if (r.status == FVM_RUN_OK) {
            print_result(r.value);
            fvm_value_drop(r.value);
        } else {
            printf("result: none (the stack was empty)\n");
        }
    }
    free(out.bytes);
    fvm_vm_free(vm);
    fvm_chunk_free(chunk);
    return status;
}
