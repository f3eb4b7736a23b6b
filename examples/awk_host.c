/* A tiny AWK host: records from a built-in list, fields split on white
 * space, $n = v rebuilding the record, NR, and print. The bytecode is what
 * an AWK compiler would emit for
 *   { print $2, NF; $1 = "X"; print }  END { print NR, "records" }
 *
 *   cc -std=c11 -Iinclude examples/awk_host.c build/libfusevm.a -lm -o awk_host
 *
 * It prints:
 *   30 3
 *   X 30 paris
 *   25 2
 *   X 25
 *   41 4
 *   X 41 rome italy
 *   3 records
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusevm.h"

static const char script[] =
    "loop:\n"
    "    AwkGetline 0\n" /* the next record into $0: 1, or 0 at the end */
    "    JumpIfFalse done\n"
    "    LoadInt 2\n"
    "    AwkFieldGet\n"
    "    AwkNf\n"
    "    AwkPrint 2\n"
    "    LoadConst \"X\"\n"
    "    LoadInt 1\n"
    "    AwkFieldSet\n"
    "    AwkPrint 0\n"
    "    Jump loop\n"
    "done:\n"
    "    AwkSpecialGet NR\n"
    "    LoadConst \"records\"\n"
    "    AwkPrint 2\n";

static const char *const input[] = {"alice 30 paris", "bob  25", " carol 41 rome italy"};

#define MAX_FIELDS 16

/* The AWK runtime state the VM leaves to its host. */
typedef struct awk {
    size_t nr;                   /* records read */
    char *field[MAX_FIELDS + 1]; /* field[0] is $0 */
    int64_t nf;
} awk;

static void set_field(awk *a, int64_t i, const char *s, size_t len)
{
    free(a->field[i]);
    a->field[i] = malloc(len + 1);
    memcpy(a->field[i], s, len);
    a->field[i][len] = 0;
}

/* $0 = s: split into fields on runs of blanks. */
static void split_record(awk *a, const char *s, size_t len)
{
    set_field(a, 0, s, len);
    a->nf = 0;
    size_t i = 0;
    while (i < len && a->nf < MAX_FIELDS) {
        while (i < len && s[i] == ' ')
            i++;
        size_t start = i;
        while (i < len && s[i] != ' ')
            i++;
        if (i > start)
            set_field(a, ++a->nf, s + start, i - start);
    }
}

/* After $n = v: $0 is the fields joined by OFS (" "). */
static void rebuild_record(awk *a)
{
    size_t len = 0;
    for (int64_t i = 1; i <= a->nf; i++)
        len += strlen(a->field[i] ? a->field[i] : "") + 1;
    char *rec = calloc(1, len + 1);
    for (int64_t i = 1; i <= a->nf; i++) {
        if (i > 1)
            strcat(rec, " ");
        strcat(rec, a->field[i] ? a->field[i] : "");
    }
    free(a->field[0]);
    a->field[0] = rec;
}

static int64_t getline_main(void *ud, fvm_vm *vm, unsigned kind, const fvm_value *operand,
                            const fvm_value *var_name)
{
    (void)vm;
    (void)operand;
    (void)var_name;
    awk *a = ud;
    if (kind != FVM_GETLINE_MAIN || a->nr == sizeof input / sizeof *input)
        return 0;
    const char *rec = input[a->nr++];
    split_record(a, rec, strlen(rec));
    return 1;
}

static fvm_value field_get(void *ud, fvm_vm *vm, int64_t i)
{
    (void)vm;
    awk *a = ud;
    const char *s = i >= 0 && i <= a->nf && a->field[i] ? a->field[i] : "";
    return fvm_cstr(s);
}

static void field_set(void *ud, fvm_vm *vm, int64_t i, fvm_value v)
{
    (void)vm;
    awk *a = ud;
    fvm_value s = fvm_to_str(v);
    size_t len;
    const char *p = fvm_str_bytes(s, &len);
    if (i == 0) {
        split_record(a, p, len);
    } else if (i > 0 && i <= MAX_FIELDS) {
        for (int64_t k = a->nf + 1; k < i; k++) /* a field past NF extends the record */
            set_field(a, k, "", 0);
        if (i > a->nf)
            a->nf = i;
        set_field(a, i, p, len);
        rebuild_record(a);
    }
    fvm_value_drop(s);
}

static int64_t nf(void *ud, fvm_vm *vm)
{
    (void)vm;
    return ((awk *)ud)->nf;
}

static fvm_value special_get(void *ud, fvm_vm *vm, fvm_value name)
{
    (void)vm;
    const char *s = fvm_str_bytes(name, &(size_t){0});
    return strcmp(s, "NR") == 0 ? fvm_int((int64_t)((awk *)ud)->nr) : fvm_undef();
}

/* print: the operands joined by OFS and ended by ORS; no operands print $0. */
static void print(void *ud, fvm_vm *vm, const fvm_value *args, size_t n)
{
    (void)vm;
    awk *a = ud;
    if (n == 0)
        fputs(a->field[0] ? a->field[0] : "", stdout);
    for (size_t i = 0; i < n; i++) {
        fvm_value s = fvm_to_str(args[i]);
        size_t len;
        const char *p = fvm_str_bytes(s, &len);
        if (i)
            fputc(' ', stdout);
        fwrite(p, 1, len, stdout);
        fvm_value_drop(s);
    }
    fputc('\n', stdout);
}

int main(void)
{
    char *errors;
    fvm_chunk *chunk = fvm_assemble(script, strlen(script), "script", &errors);
    if (!chunk) {
        fprintf(stderr, "%s", errors);
        fvm_free(errors);
        return 1;
    }
    awk state = {0};
    fvm_awk_host host = {
        .size = sizeof host,
        .ud = &state,
        .getline = getline_main,
        .field_get = field_get,
        .field_set = field_set,
        .nf = nf,
        .special_get = special_get,
        .print = print,
    };
    fvm_vm *vm = fvm_vm_new(chunk);
    fvm_vm_set_awk_host(vm, &host);
    fvm_result r = fvm_vm_run(vm);
    int rc = 0;
    if (r.status == FVM_RUN_ERROR) {
        fprintf(stderr, "error: %s\n", fvm_vm_error(vm));
        rc = 1;
    }
    fvm_value_drop(r.value);
    fvm_vm_free(vm);
    fvm_chunk_free(chunk);
    for (size_t i = 0; i <= MAX_FIELDS; i++)
        free(state.field[i]);
    return rc;
}
