/* The disassembler: a chunk as .fasm text that the assembler (asm.c) reads
 * back into an equal chunk.
 *
 * Each chunk is written as its pools first ('.source', '.name', '.const',
 * '.block', '.builtin', '.sub', '.slots', then each sub-chunk as '.chunk'
 * ... '.end'), then its ops, one per line, with a '.line' wherever the line
 * number changes and a label L<ip> before every op some jump, sub entry,
 * '.slots' or block range points at. Operands that index a pool are written as the literal value or name
 * when that reads back to the same index (the first identical entry), and
 * as '@N' otherwise, so duplicated pool entries survive the round trip. */
#include "asm.h"

#include <math.h>
#include <stdlib.h>

#include "fused.h"
#include "numfmt.h"
#include "opinfo.h"

/* Where annotations start, counted from the op's indentation. */
#define ANNOTATION_COLUMN 40

/* What printing one chunk needs to know beyond the chunk itself. */
typedef struct dis_chunk {
    const fvm_chunk *c;
    uint32_t *first_const; /* for each constant, the first identical one */
    fvm_value first_name;  /* Hash: name -> Int index of its first entry */
    bool *label;           /* len + 1 flags: a label is printed there */
} dis_chunk;

typedef struct printer {
    fvm_buf out;
    unsigned flags;
    unsigned depth; /* .chunk nesting */
} printer;

/* ------------------------------------------------------------------------
 * Literals
 * ------------------------------------------------------------------------ */

/* Length of the well-formed UTF-8 sequence of 2 to 4 bytes at s, or 0. */
static size_t utf8_length(const unsigned char *s, size_t n)
{
    size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (len == 0 || s[0] > 0xf4 || n < len)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    /* No overlong forms, no surrogates, nothing above U+10FFFF. */
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
        return 0;
    return len;
}

/* A string literal: printable ASCII and well-formed UTF-8 as they are,
 * everything else escaped. */
static void put_string(fvm_buf *b, const char *s, size_t n)
{
    fvm_buf_putc(b, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t u = c >= 0x80 ? utf8_length((const unsigned char *)s + i, n - i) : 0;
        if (u) {
            fvm_buf_put(b, s + i, u);
            i += u;
            continue;
        }
        switch (c) {
        case '\n': fvm_buf_puts(b, "\\n"); break;
        case '\t': fvm_buf_puts(b, "\\t"); break;
        case '\r': fvm_buf_puts(b, "\\r"); break;
        case '\0': fvm_buf_puts(b, "\\0"); break;
        case '\\': fvm_buf_puts(b, "\\\\"); break;
        case '"': fvm_buf_puts(b, "\\\""); break;
        default:
            if (c >= 0x20 && c < 0x7f)
                fvm_buf_putc(b, (char)c);
            else
                fvm_buf_printf(b, "\\x%02x", c);
        }
        i++;
    }
    fvm_buf_putc(b, '"');
}

static void put_name(fvm_buf *b, const char *s, size_t n)
{
    if (fvm_asm_is_ident(s, n))
        fvm_buf_put(b, s, n);
    else
        put_string(b, s, n);
}

/* A float literal that reads back to the same bits and never looks like an
 * integer: the shortest round-trip digits, positional for moderate
 * exponents ("1.5", "100.0", "0.001"), else scientific ("1e+21"). */
static void put_float(fvm_buf *b, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    if (isnan(d)) {
        if (bits == 0x7ff8000000000000ull)
            fvm_buf_puts(b, "nan");
        else if (bits == 0xfff8000000000000ull)
            fvm_buf_puts(b, "-nan");
        else
            fvm_buf_printf(b, "f64:%016llx", (unsigned long long)bits);
        return;
    }
    if (isinf(d)) {
        fvm_buf_puts(b, d < 0 ? "-inf" : "inf");
        return;
    }
    char text[FVM_FLOAT_TEXT_MAX];
    size_t n = fvm_format_float(d, text, sizeof text);
    if (n >= sizeof text)
        n = sizeof text - 1;
    /* Significant digits and the decimal exponent of the first of them. */
    char digits[FVM_FLOAT_TEXT_MAX];
    size_t nd = 0;
    long before_point = 0; /* digits before the point, leading zeros excluded */
    bool seen_point = false;
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '.')
            seen_point = true;
        else if (text[i] >= '0' && text[i] <= '9') {
            if (nd == 0 && text[i] == '0') {
                before_point -= seen_point;
                continue;
            }
            digits[nd++] = text[i];
            before_point += !seen_point;
        }
    }
    while (nd > 0 && digits[nd - 1] == '0')
        nd--;
    long exp10 = before_point - 1;
    if (nd == 0 || (exp10 >= -5 && exp10 <= 16)) {
        fvm_buf_put(b, text, n);
        if (!memchr(text, '.', n))
            fvm_buf_puts(b, ".0");
        return;
    }
    if (signbit(d))
        fvm_buf_putc(b, '-');
    fvm_buf_putc(b, digits[0]);
    if (nd > 1) {
        fvm_buf_putc(b, '.');
        fvm_buf_put(b, digits + 1, nd - 1);
    }
    fvm_buf_printf(b, "e%+ld", exp10);
}

static void put_value(fvm_buf *b, fvm_value v)
{
    switch (v.type) {
    case FVM_T_UNDEF: fvm_buf_puts(b, "undef"); break;
    case FVM_T_BOOL: fvm_buf_puts(b, v.as.b ? "true" : "false"); break;
    case FVM_T_INT: fvm_buf_printf(b, "%lld", (long long)v.as.i); break;
    case FVM_T_FLOAT: put_float(b, v.as.f); break;
    case FVM_T_STR: put_string(b, v.as.s->data, v.as.s->len); break;
    case FVM_T_STATUS: fvm_buf_printf(b, "status(%d)", (int)v.as.status); break;
    case FVM_T_NATIVEFN: fvm_buf_printf(b, "nativefn(%u)", (unsigned)v.as.fn); break;
    case FVM_T_OBJ: fvm_buf_printf(b, "obj(%lu)", (unsigned long)v.as.obj); break;
    case FVM_T_REF:
        fvm_buf_puts(b, "ref(");
        put_value(b, v.as.r->val);
        fvm_buf_putc(b, ')');
        break;
    case FVM_T_ARRAY:
        fvm_buf_putc(b, '[');
        for (size_t i = 0; i < v.as.a->len; i++) {
            if (i)
                fvm_buf_puts(b, ", ");
            put_value(b, v.as.a->items[i]);
        }
        fvm_buf_putc(b, ']');
        break;
    case FVM_T_HASH: {
        const char *sep = "";
        fvm_buf_putc(b, '{');
        for (size_t i = 0; i < v.as.h->used; i++) {
            const fvm_hash_slot *e = &v.as.h->entries[i];
            if (!e->key)
                continue;
            fvm_buf_puts(b, sep);
            put_string(b, e->key->data, e->key->len);
            fvm_buf_puts(b, ": ");
            put_value(b, e->val);
            sep = ", ";
        }
        fvm_buf_putc(b, '}');
        break;
    }
    }
}

/* ------------------------------------------------------------------------
 * Operands
 * ------------------------------------------------------------------------ */

/* Name index i, as the name when that reads back to i. */
static void put_name_ref(fvm_buf *b, const dis_chunk *D, uint64_t i)
{
    const fvm_string *s = D->c->names[i];
    fvm_value *first = fvm_hash_find(D->first_name.as.h, s->data, s->len);
    if ((uint64_t)first->as.i == i)
        put_name(b, s->data, s->len);
    else
        fvm_buf_printf(b, "@%llu", (unsigned long long)i);
}

/* CallBuiltin's id as the name the chunk declared for it, when it has one
 * the assembler reads back as a name (an identifier). */
static bool put_builtin_name(fvm_buf *b, const fvm_chunk *c, uint16_t id)
{
    for (size_t i = 0; i < c->nbuiltins; i++) {
        const fvm_string *name = c->builtins[i].name;
        if (c->builtins[i].id == id && fvm_asm_is_ident(name->data, name->len)) {
            fvm_buf_put(b, name->data, name->len);
            return true;
        }
    }
    return false;
}

static void put_operand(fvm_buf *b, const dis_chunk *D, const fvm_op *op, unsigned k)
{
    const fvm_format_info *fi = fvm_op_operands(op->code);
    unsigned kind = fi->operand[k].kind;
    uint64_t v = fvm_operand_get(op, fi->operand[k].field);
    double d;
    switch (kind) {
    case FVM_K_I64:
    case FVM_K_LIMIT: fvm_buf_printf(b, "%lld", (long long)v); break;
    case FVM_K_F64:
        memcpy(&d, &v, sizeof d);
        put_float(b, d);
        break;
    case FVM_K_CONST:
        if (D->first_const[v] == v)
            put_value(b, D->c->consts[v]);
        else
            fvm_buf_printf(b, "@%llu", (unsigned long long)v);
        break;
    case FVM_K_NAME: put_name_ref(b, D, v); break;
    case FVM_K_TARGET: fvm_buf_printf(b, "L%llu", (unsigned long long)v); break;
    case FVM_K_SUB:
    case FVM_K_BLOCK: fvm_buf_printf(b, "@%llu", (unsigned long long)v); break;
    default:
        if (!(op->code == FVM_OP_CALL_BUILTIN && k == 0 && put_builtin_name(b, D->c, (uint16_t)v)))
            fvm_buf_printf(b, "%llu", (unsigned long long)v);
        break;
    }
}

/* ------------------------------------------------------------------------
 * Chunks
 * ------------------------------------------------------------------------ */

static void indent(printer *P, unsigned extra)
{
    for (unsigned i = 0; i < P->depth * 4 + extra; i++)
        fvm_buf_putc(&P->out, ' ');
}

static void dis_open(dis_chunk *D, const fvm_chunk *c)
{
    D->c = c;
    D->first_const = fvm_xmalloc((c->nconsts ? c->nconsts : 1) * sizeof *D->first_const);
    fvm_const_index ix = {0};
    for (size_t i = 0; i < c->nconsts; i++)
        fvm_const_index_add(&ix, c->consts, i);
    for (size_t i = 0; i < c->nconsts; i++)
        D->first_const[i] = (uint32_t)fvm_const_index_find(&ix, c->consts, c->consts[i]);
    fvm_const_index_free(&ix);
    D->first_name = fvm_hash_new();
    for (size_t i = 0; i < c->nnames; i++)
        if (!fvm_hash_find(D->first_name.as.h, c->names[i]->data, c->names[i]->len))
            fvm_hash_set(&D->first_name, c->names[i]->data, c->names[i]->len, fvm_int((int64_t)i));
    D->label = fvm_xcalloc(c->len + 1, sizeof *D->label);
    for (size_t ip = 0; ip < c->len; ip++) {
        const fvm_format_info *fi = fvm_op_operands(c->ops[ip].code);
        for (unsigned k = 0; k < fi->count; k++)
            if (fi->operand[k].kind == FVM_K_TARGET)
                D->label[fvm_operand_get(&c->ops[ip], fi->operand[k].field)] = true;
    }
    for (size_t i = 0; i < c->nsubs; i++)
        D->label[c->subs[i].ip] = true;
    for (size_t i = 0; i < c->nslot_names; i++)
        D->label[c->slot_names[i].entry_ip] = true;
    for (size_t i = 0; i < c->nblocks; i++) {
        if (c->blocks[i].start <= c->len)
            D->label[c->blocks[i].start] = true;
        if (c->blocks[i].end <= c->len)
            D->label[c->blocks[i].end] = true;
    }
}

static void dis_close(dis_chunk *D)
{
    free(D->first_const);
    free(D->label);
    fvm_release(D->first_name);
}

/* A block bound: a label when it is a position of the chunk. */
static void put_bound(fvm_buf *b, const dis_chunk *D, uint64_t pos)
{
    fvm_buf_printf(b, pos <= D->c->len ? "L%llu" : "%llu", (unsigned long long)pos);
}

static void chunk_text(printer *P, const fvm_chunk *c);

static void put_pools(printer *P, const dis_chunk *D)
{
    const fvm_chunk *c = D->c;
    fvm_buf *b = &P->out;
    if (c->source->len) {
        indent(P, 0);
        fvm_buf_puts(b, ".source ");
        put_string(b, c->source->data, c->source->len);
        fvm_buf_putc(b, '\n');
    }
    for (size_t i = 0; i < c->nnames; i++) {
        indent(P, 0);
        fvm_buf_puts(b, ".name ");
        put_name(b, c->names[i]->data, c->names[i]->len);
        fvm_buf_putc(b, '\n');
    }
    for (size_t i = 0; i < c->nconsts; i++) {
        indent(P, 0);
        fvm_buf_puts(b, ".const ");
        put_value(b, c->consts[i]);
        fvm_buf_putc(b, '\n');
    }
    for (size_t i = 0; i < c->nblocks; i++) {
        indent(P, 0);
        fvm_buf_puts(b, ".block ");
        put_bound(b, D, c->blocks[i].start);
        fvm_buf_putc(b, ' ');
        put_bound(b, D, c->blocks[i].end);
        fvm_buf_putc(b, '\n');
    }
    for (size_t i = 0; i < c->nbuiltins; i++) {
        indent(P, 0);
        fvm_buf_printf(b, ".builtin %u ", (unsigned)c->builtins[i].id);
        put_name(b, c->builtins[i].name->data, c->builtins[i].name->len);
        fvm_buf_putc(b, '\n');
    }
    for (size_t i = 0; i < c->nsubs; i++) {
        indent(P, 0);
        fvm_buf_puts(b, ".sub ");
        put_name_ref(b, D, c->subs[i].name);
        fvm_buf_printf(b, " L%lu\n", (unsigned long)c->subs[i].ip);
    }
    for (size_t i = 0; i < c->nslot_names; i++) {
        const fvm_slot_names *sn = &c->slot_names[i];
        indent(P, 0);
        fvm_buf_printf(b, ".slots L%lu", (unsigned long)sn->entry_ip);
        for (uint32_t k = 0; k < sn->count; k++) {
            fvm_buf_putc(b, ' ');
            put_name(b, sn->names[k]->data, sn->names[k]->len);
        }
        fvm_buf_putc(b, '\n');
    }
    for (size_t i = 0; i < c->nsubchunks; i++) {
        indent(P, 0);
        fvm_buf_puts(b, ".chunk");
        if (P->flags & FVM_DIS_ANNOTATE)
            fvm_buf_printf(b, " ; sub-chunk %zu", i);
        fvm_buf_putc(b, '\n');
        P->depth++;
        chunk_text(P, c->subchunks[i]);
        P->depth--;
        indent(P, 0);
        fvm_buf_puts(b, ".end\n");
    }
}

/* "; ip" and, for a fused op, the sequence it replaces: operands taken from
 * the op, jumps inside the sequence written +N (N counted from its first op). */
static void annotate(printer *P, const dis_chunk *D, size_t ip, size_t line_start)
{
    fvm_buf *b = &P->out;
    const fvm_op *op = &D->c->ops[ip];
    size_t col = b->len - line_start;
    size_t want = P->depth * 4 + ANNOTATION_COLUMN;
    do
        fvm_buf_putc(b, ' ');
    while (++col < want);
    fvm_buf_printf(b, "; %zu", ip);
    size_t len;
    const fvm_unfused_op *seq = fvm_fused_expansion(op->code, &len);
    for (size_t i = 0; i < len; i++) {
        fvm_buf_puts(b, i ? "; " : ": ");
        fvm_buf_puts(b, fvm_opinfo_table[seq[i].code].name);
        if (seq[i].arg >= 0) {
            fvm_buf_putc(b, ' ');
            put_operand(b, D, op, (unsigned)seq[i].arg);
        } else if (seq[i].local >= 0) {
            fvm_buf_printf(b, " +%d", seq[i].local);
        }
    }
}

static void put_op(printer *P, const dis_chunk *D, size_t ip)
{
    fvm_buf *b = &P->out;
    const fvm_op *op = &D->c->ops[ip];
    size_t line_start = b->len;
    indent(P, 4);
    fvm_buf_puts(b, fvm_opinfo_table[op->code].name);
    const fvm_format_info *fi = fvm_op_operands(op->code);
    for (unsigned k = 0; k < fi->count; k++) {
        fvm_buf_putc(b, ' ');
        put_operand(b, D, op, k);
    }
    if (P->flags & FVM_DIS_ANNOTATE)
        annotate(P, D, ip, line_start);
    fvm_buf_putc(b, '\n');
}

static void chunk_text(printer *P, const fvm_chunk *c)
{
    dis_chunk D;
    dis_open(&D, c);
    put_pools(P, &D);
    for (size_t ip = 0; ip <= c->len; ip++) {
        if (ip < c->len && (ip == 0 || c->lines[ip] != c->lines[ip - 1])) {
            indent(P, 0);
            fvm_buf_printf(&P->out, ".line %lu\n", (unsigned long)c->lines[ip]);
        }
        if (D.label[ip]) {
            indent(P, 0);
            fvm_buf_printf(&P->out, "L%zu:\n", ip);
        }
        if (ip < c->len)
            put_op(P, &D, ip);
    }
    dis_close(&D);
}

char *fvm_disassemble(const fvm_chunk *c, unsigned flags)
{
    if (!c)
        return NULL;
    printer P = {{0}, flags, 0};
    chunk_text(&P, c);
    fvm_buf_reserve(&P.out, 0);
    P.out.data[P.out.len] = 0;
    return P.out.data;
}
