/* Checks that docs/OPS.md documents every op as the op tables define it.
 *
 *   check_ops_md [docs/OPS.md]
 *
 * The file's entry format is described in its last section, "Keeping this
 * file honest". For each op of FVM_OP_LIST there must be exactly one entry:
 *
 *   ### Mnemonic
 *   `[a, b] → [r]`
 *
 *   `Mnemonic operand…` · opcode N · JIT: `TIER` (reason, for NONE)
 *
 * The stack effect must agree with the op table's POP and PUSH columns (a
 * fixed count as that many comma-separated values, -1 as a side holding
 * "…"), the form with the operand format, the opcode with the enum and the
 * tier with FVM_JIT_OP_LIST. Lines inside ``` fences are skipped. Every
 * problem is reported as "FILE:LINE: message"; the exit status is 1 if
 * there is any, 2 if the file cannot be read. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit/jitop.h"
#include "opinfo.h"

#define ARROW " \xe2\x86\x92 " /* " → " */
#define ELLIPSIS "\xe2\x80\xa6" /* "…" */
/* problem()'s line for a problem of the whole file. */
#define NO_LINE SIZE_MAX

typedef struct doc {
    const char *path;
    char **lines;
    size_t n, cap;
    unsigned problems;
} doc;

static void problem(doc *d, size_t line, const char *op, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(doc *d, size_t line, const char *op, const char *fmt, ...)
{
    va_list ap;
    if (line == NO_LINE)
        fprintf(stderr, "%s: %s: ", d->path, op);
    else
        fprintf(stderr, "%s:%zu: %s: ", d->path, line + 1, op);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    d->problems++;
}

/* Read the file into lines without their newlines; false if unreadable. */
static bool read_doc(doc *d)
{
    FILE *f = fopen(d->path, "r");
    if (!f)
        return false;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (d->n == d->cap) {
            d->cap = d->cap ? 2 * d->cap : 1024;
            d->lines = realloc(d->lines, d->cap * sizeof *d->lines);
        }
        d->lines[d->n++] = strdup(line);
    }
    free(line);
    fclose(f);
    return true;
}

static bool blank(const char *s)
{
    return s[strspn(s, " \t")] == '\0';
}

/* The index of the first non-blank line after `from`, or d->n. */
static size_t next_text(const doc *d, size_t from)
{
    size_t i = from + 1;
    while (i < d->n && blank(d->lines[i]))
        i++;
    return i;
}

/* One side of a stack effect, "[a, b]" (len bytes at s): its value count,
 * or -1 when it is written with "…"; -2 if it is malformed (no brackets,
 * an empty value between commas). */
static int side_count(const char *s, size_t len)
{
    if (len < 2 || s[0] != '[' || s[len - 1] != ']' || len - 2 >= 256)
        return -2;
    char inner[256];
    memcpy(inner, s + 1, len - 2);
    inner[len - 2] = '\0';
    if (strstr(inner, ELLIPSIS))
        return -1;
    if (blank(inner))
        return 0;
    int count = 0;
    for (char *item = inner;; count++) {
        char *comma = strchr(item, ',');
        if (comma)
            *comma = '\0';
        if (blank(item))
            return -2;
        if (!comma)
            return count + 1;
        item = comma + 1;
    }
}

static void check_side(doc *d, size_t line, const char *op, const char *what, int written,
                       int table)
{
    if (written == -2)
        problem(d, line, op, "the %s side of the stack effect is malformed", what);
    else if (table < 0 && written >= 0)
        problem(d, line, op, "the stack effect %s %d value%s, but the op table's count depends on "
                "the operand: write that side with \xe2\x80\xa6", what, written, written == 1 ? "" : "s");
    else if (table >= 0 && written < 0)
        problem(d, line, op, "the stack effect %s a variable count, but the op table says %d", what,
                table);
    else if (table >= 0 && written != table)
        problem(d, line, op, "the stack effect %s %d value%s, but the op table says %d", what,
                written, written == 1 ? "" : "s", table);
}

/* The line `[…] → […]` under the heading. */
static void check_effect(doc *d, size_t line, unsigned code)
{
    const fvm_opinfo *info = &fvm_opinfo_table[code];
    const char *s = d->lines[line];
    size_t len = strlen(s);
    const char *arrow = strstr(s, ARROW);
    if (len < 4 || s[0] != '`' || s[len - 1] != '`' || memchr(s + 1, '`', len - 2) || !arrow) {
        problem(d, line, info->name, "expected the stack effect `[...] \xe2\x86\x92 [...]` alone on "
                "the line after the heading, found '%s'", s);
        return;
    }
    const char *right = arrow + strlen(ARROW);
    check_side(d, line, info->name, "pops", side_count(s + 1, (size_t)(arrow - s - 1)), info->pop);
    check_side(d, line, info->name, "pushes", side_count(right, (size_t)(s + len - 1 - right)),
               info->push);
}

/* The tiers of FVM_JIT_OP_LIST as the file writes them. */
static const char *tier_name(unsigned tiers)
{
    static char buf[8];
    if (tiers == 0)
        return "NONE";
    snprintf(buf, sizeof buf, "%s%s%s", tiers & (1u << FVM_JIT_LINEAR) ? "L" : "",
             tiers & (1u << FVM_JIT_BLOCK) ? "B" : "", tiers & (1u << FVM_JIT_TRACE) ? "T" : "");
    return buf;
}

/* The line `Mnemonic operand…` · opcode N · JIT: `TIER` (reason). */
static void check_form(doc *d, size_t line, unsigned code)
{
    const fvm_opinfo *info = &fvm_opinfo_table[code];
    const char *s = d->lines[line];
    const char *end = s[0] == '`' ? strchr(s + 1, '`') : NULL;
    if (!end) {
        problem(d, line, info->name, "expected the form `%s ...` after the stack effect", info->name);
        return;
    }
    char form[256];
    size_t flen = (size_t)(end - s - 1) < sizeof form ? (size_t)(end - s - 1) : sizeof form - 1;
    memcpy(form, s + 1, flen);
    form[flen] = '\0';
    unsigned words = 0;
    const char *first = NULL;
    for (char *tok = strtok(form, " "); tok; tok = strtok(NULL, " "), words++)
        if (!first)
            first = tok;
    if (!first || strcmp(first, info->name) != 0)
        problem(d, line, info->name, "the form does not start with the mnemonic: '%s'", s);
    else if (words - 1 != fvm_format_table[info->format].count)
        problem(d, line, info->name, "the form names %u operands, but its format has %u", words - 1,
                (unsigned)fvm_format_table[info->format].count);
    char want[256];
    snprintf(want, sizeof want, " \xc2\xb7 opcode %u \xc2\xb7 JIT: `%s`", code,
             tier_name(fvm_jitop_table[code].tiers));
    if (strncmp(end + 1, want, strlen(want)) != 0)
        problem(d, line, info->name, "expected '%s' after the form", want);
    else if (fvm_jitop_table[code].tiers == 0) {
        char reason[160];
        snprintf(reason, sizeof reason, " (%s)",
                 fvm_jit_reason_text((fvm_jit_reason)fvm_jitop_table[code].reason));
        if (strcmp(end + 1 + strlen(want), reason) != 0)
            problem(d, line, info->name, "expected the JIT reason '%s' at the end of the line",
                    reason);
    }
}

/* Find the entries: heading[code] is the index of the line "### Mnemonic"
 * plus one, 0 when the op has none. */
static void find_entries(doc *d, size_t heading[FVM_OP_COUNT])
{
    bool fenced = false;
    for (size_t i = 0; i < d->n; i++) {
        const char *s = d->lines[i];
        if (strncmp(s, "```", 3) == 0)
            fenced = !fenced;
        if (fenced || strncmp(s, "### ", 4) != 0)
            continue;
        const char *title = s + 4;
        if (strchr(title, ' '))
            continue; /* a section of several words, not an op */
        int code = fvm_op_lookup(title, strlen(title));
        if (code < 0)
            problem(d, i, title, "a one-word level-3 heading that is no op of the op table");
        else if (heading[code])
            problem(d, i, title, "a second entry for this op (the first is on line %zu)",
                    heading[code]);
        else
            heading[code] = i + 1;
    }
}

int main(int argc, char **argv)
{
    static doc d;
    d.path = argc > 1 ? argv[1] : "docs/OPS.md";
    if (!read_doc(&d)) {
        fprintf(stderr, "check_ops_md: cannot read %s\n", d.path);
        return 2;
    }
    static size_t heading[FVM_OP_COUNT];
    find_entries(&d, heading);
    for (unsigned code = 0; code < FVM_OP_COUNT; code++) {
        if (!heading[code]) {
            problem(&d, NO_LINE, fvm_opinfo_table[code].name, "no entry (### Mnemonic) for this op");
            continue;
        }
        size_t title = heading[code] - 1, effect = title + 1;
        if (effect >= d.n || blank(d.lines[effect])) {
            problem(&d, title, fvm_opinfo_table[code].name,
                    "the stack effect must be the line right after the heading");
            continue;
        }
        check_effect(&d, effect, code);
        size_t form = next_text(&d, effect);
        if (form < d.n)
            check_form(&d, form, code);
    }
    for (size_t i = 0; i < d.n; i++)
        free(d.lines[i]);
    free(d.lines);
    if (d.problems) {
        fprintf(stderr, "check_ops_md: %u problem(s) in %s\n", d.problems, d.path);
        return 1;
    }
    printf("ops-doc: %s documents all %u ops as the op tables define them\n", d.path,
           (unsigned)FVM_OP_COUNT);
    return 0;
}
