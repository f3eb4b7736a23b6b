/* The text assembler: .fasm text to a verified chunk (docs/FORMAT.md,
 * "Text assembly").
 *
 * Grammar. One statement per line; ';' or '#' outside a string starts a
 * comment that runs to the end of the line. Operands are separated by blanks
 * and an optional comma.
 *
 *   line      := { IDENT ':' } [ op | directive ] [ comment ]
 *   op        := MNEMONIC operand...        as many as the op's format has
 *   directive := '.source' string   | '.name' name     | '.const' value
 *              | '.sub' name [pos]  | '.block' pos pos | '.line' uint
 *              | '.slots' pos name... | '.chunk' [IDENT] | '.end'
 *              | '.builtin' u16 name
 *   operand   := by kind: integer (i64, limit, u8, u16, slot, wide) | float
 *              | IDENT (CallBuiltin's id: a name a '.builtin' declared)
 *              | pos (jump target) | '@' uint or value (constant)
 *              | '@' uint, uint or name (name) | '@' uint, uint or IDENT
 *                (sub-chunk) | '@' uint or uint (block range)
 *   name      := IDENT | string                 interned: the first equal name
 *   pos       := uint | IDENT                   an op position or a label
 *   value     := integer | float | string | 'undef' | 'true' | 'false'
 *              | 'status(' i32 ')' | 'nativefn(' u16 ')' | 'obj(' u32 ')'
 *              | 'ref(' value ')' | '[' [ value { ',' value } [','] ] ']'
 *              | '{' [ string ':' value { ',' string ':' value } [','] ] '}'
 *   integer   := ['+'|'-'] ( DIGITS | '0x' HEXDIGITS )
 *   float     := ['+'|'-'] DIGITS ( '.' DIGITS | exponent | both )
 *              | ['+'|'-'] ( 'nan' | 'inf' ) | 'f64:' HEXDIGITS
 *   string    := '"' { byte | '\' ( 'n' 't' 'r' '0' '\' '"' | 'x' HEX HEX ) } '"'
 *   IDENT     := [A-Za-z_$][A-Za-z0-9_$.]*
 *
 * A constant written as a value reuses the first identical pool entry
 * (fvm_asm_value_same) or appends one; '.const' always appends. Labels and
 * '@' indices may be used before they are defined: they are resolved and
 * checked when the chunk ends. After an error the rest of its line is
 * skipped and the next line is read, so one run reports several errors.
 */
#include "asm.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "numfmt.h"
#include "opinfo.h"

/* ------------------------------------------------------------------------
 * Shared with the disassembler
 * ------------------------------------------------------------------------ */

bool fvm_asm_is_ident(const char *s, size_t n)
{
    if (n == 0 || !fvm_asm_ident_start((unsigned char)s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!fvm_asm_ident_char((unsigned char)s[i]))
            return false;
    return true;
}

static bool hash_same(const fvm_hash *a, const fvm_hash *b)
{
    if (a->count != b->count)
        return false;
    size_t j = 0;
    for (size_t i = 0; i < a->used; i++) {
        if (!a->entries[i].key)
            continue;
        while (!b->entries[j].key) /* b has as many live entries as a */
            j++;
        if (!fvm_str_eq(a->entries[i].key, b->entries[j].key) ||
            !fvm_asm_value_same(a->entries[i].val, b->entries[j].val))
            return false;
        j++;
    }
    return true;
}

bool fvm_asm_value_same(fvm_value a, fvm_value b)
{
    if (a.type != b.type)
        return false;
    switch (a.type) {
    case FVM_T_FLOAT: return memcmp(&a.as.f, &b.as.f, sizeof a.as.f) == 0;
    case FVM_T_REF: return fvm_asm_value_same(a.as.r->val, b.as.r->val);
    case FVM_T_HASH: return hash_same(a.as.h, b.as.h);
    case FVM_T_ARRAY:
        if (a.as.a->len != b.as.a->len)
            return false;
        for (size_t i = 0; i < a.as.a->len; i++)
            if (!fvm_asm_value_same(a.as.a->items[i], b.as.a->items[i]))
                return false;
        return true;
    default: return fvm_value_equal(a, b);
    }
}

int64_t fvm_const_index_find(const fvm_const_index *ix, const fvm_value *pool, fvm_value v)
{
    if (!ix->slots)
        return -1;
    for (size_t i = fvm_value_hash(v) & ix->mask;; i = (i + 1) & ix->mask) {
        uint32_t s = ix->slots[i];
        if (!s)
            return -1;
        if (fvm_asm_value_same(pool[s - 1], v))
            return s - 1;
    }
}

static void const_index_put(fvm_const_index *ix, const fvm_value *pool, uint32_t i)
{
    size_t at = fvm_value_hash(pool[i]) & ix->mask;
    while (ix->slots[at])
        at = (at + 1) & ix->mask;
    ix->slots[at] = i + 1;
}

void fvm_const_index_add(fvm_const_index *ix, const fvm_value *pool, size_t i)
{
    if (fvm_const_index_find(ix, pool, pool[i]) >= 0)
        return;
    if ((ix->count + 1) * 2 > (ix->slots ? ix->mask + 1 : 0)) { /* keep it at most half full */
        size_t size = ix->slots ? (ix->mask + 1) * 2 : 16;
        uint32_t *old = ix->slots;
        size_t old_size = old ? ix->mask + 1 : 0;
        ix->slots = fvm_xcalloc(size, sizeof *ix->slots);
        ix->mask = size - 1;
        for (size_t k = 0; k < old_size; k++)
            if (old[k])
                const_index_put(ix, pool, old[k] - 1);
        free(old);
    }
    const_index_put(ix, pool, (uint32_t)i);
    ix->count++;
}

void fvm_const_index_free(fvm_const_index *ix)
{
    free(ix->slots);
    memset(ix, 0, sizeof *ix);
}

/* ------------------------------------------------------------------------
 * Assembler state
 * ------------------------------------------------------------------------ */

typedef struct label_def {
    uint32_t value; /* op position, or sub-chunk index */
    uint32_t line;  /* where it was defined */
    bool is_sub;    /* defined by '.chunk' */
} label_def;

/* What a fixup patches once the chunk is complete. */
enum { FIX_OPERAND, FIX_SUB_NAME, FIX_SUB_IP, FIX_BLOCK_START, FIX_BLOCK_END, FIX_SLOTS_IP };

/* A label to resolve or an index to range-check at the end of the chunk. */
typedef struct fixup {
    uint8_t what;       /* FIX_* */
    uint8_t kind;       /* fvm_operand_kind it must satisfy */
    uint8_t field;      /* fvm_operand_field, for FIX_OPERAND */
    size_t at;          /* op, sub entry or block range index */
    fvm_string *label;  /* NULL: check number */
    uint64_t number;
    uint32_t line, col;
} fixup;

/* One chunk being assembled: the top level or an open '.chunk'. */
typedef struct chunk_state {
    fvm_chunk_parts p;
    size_t ops_cap, lines_cap, consts_cap, names_cap, subs_cap, blocks_cap, subchunks_cap,
        slot_names_cap, builtins_cap;
    fvm_value names_seen; /* Hash: name -> Int index of its first entry */
    fvm_const_index consts_seen;
    fvm_value labels;     /* Hash: label -> Int index into defs */
    label_def *defs;
    size_t ndefs, defs_cap;
    fixup *fixups;
    size_t nfixups, fixups_cap;
    bool has_line;        /* a '.line' is in force */
    uint32_t line;
    uint32_t open_line, open_col; /* where '.chunk' was written */
    size_t slot;          /* index in the parent's sub-chunks; SIZE_MAX: none */
} chunk_state;

typedef struct asm_error {
    uint32_t line, col, seq;
    char *msg;
} asm_error;

typedef struct assembler {
    const char *file;
    const char *bol, *cur, *eol; /* the current line and the read position */
    const char *dir;             /* the directive being read */
    uint32_t line;
    chunk_state *chunks; /* chunks[0] is the top level; chunks[depth-1] is current */
    size_t depth;
    asm_error *errors;
    size_t nerrors, errors_cap;
    bool stopped;        /* stop reading */
    bool too_many;       /* ... because of too many errors */
    uint32_t stop_line, stop_col;
} assembler;

/* Room for one more element in arr, which holds n of capacity *cap. */
static void *grow1(void *arr, size_t *cap, size_t n, size_t elem)
{
    fvm_grow(&arr, cap, n + 1, elem);
    return arr;
}

/* ------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------ */

__attribute__((format(printf, 4, 0))) static void report_v(assembler *A, uint32_t line,
                                                           uint32_t col, const char *fmt, va_list ap)
{
    if (A->stopped)
        return;
    if (A->nerrors == FVM_ASM_MAX_ERRORS) {
        A->stopped = A->too_many = true;
        A->stop_line = line;
        A->stop_col = col;
        return;
    }
    fvm_buf b = {0};
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    fvm_buf_reserve(&b, n > 0 ? (size_t)n : 0);
    vsnprintf(b.data, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
    A->errors = grow1(A->errors, &A->errors_cap, A->nerrors, sizeof *A->errors);
    A->errors[A->nerrors] = (asm_error){line, col, (uint32_t)A->nerrors, b.data};
    A->nerrors++;
}

__attribute__((format(printf, 4, 5))) static void report_at(assembler *A, uint32_t line,
                                                            uint32_t col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_v(A, line, col, fmt, ap);
    va_end(ap);
}

/* An error at position pos of the current line. Returns false, so parsers
 * can `return error(...)`. */
__attribute__((format(printf, 3, 4))) static bool error(assembler *A, const char *pos,
                                                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_v(A, A->line, (uint32_t)(pos - A->bol) + 1, fmt, ap);
    va_end(ap);
    return false;
}

/* Bytes for a message: at most 32 of them, unprintable ones as \xHH. */
static const char *render(const char *p, size_t n, char out[160])
{
    size_t k = 0;
    for (size_t i = 0; i < n && i < 32; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c < 0x7f)
            out[k++] = (char)c;
        else
            k += (size_t)snprintf(out + k, 5, "\\x%02x", c);
    }
    if (n > 32) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = 0;
    return out;
}

/* The token at p for a message: up to a blank, ',' or the end of the line. */
static const char *snippet(const assembler *A, const char *p, char out[160])
{
    if (p == A->eol)
        return "end of line";
    size_t n = 1;
    while (p + n < A->eol && p[n] != ' ' && p[n] != '\t' && p[n] != ',' && p[n] != ';' &&
           p[n] != '#')
        n++;
    return render(p, n, out);
}

static int compare_errors(const void *x, const void *y)
{
    const asm_error *a = x, *b = y;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    if (a->col != b->col)
        return a->col < b->col ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* All errors as "file:line:column: message" lines, in text order. */
static char *error_text(assembler *A)
{
    qsort(A->errors, A->nerrors, sizeof *A->errors, compare_errors);
    fvm_buf b = {0};
    for (size_t i = 0; i < A->nerrors; i++)
        fvm_buf_printf(&b, "%s:%u:%u: %s\n", A->file, A->errors[i].line, A->errors[i].col,
                       A->errors[i].msg);
    if (A->too_many)
        fvm_buf_printf(&b, "%s:%u:%u: too many errors, stopping\n", A->file, A->stop_line,
                       A->stop_col);
    fvm_buf_reserve(&b, 0);
    b.data[b.len] = 0;
    return b.data;
}

/* ------------------------------------------------------------------------
 * Reading the line
 * ------------------------------------------------------------------------ */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static void skip_blanks(assembler *A)
{
    while (A->cur < A->eol && is_blank(*A->cur))
        A->cur++;
}

/* Only blanks or a comment remain on the line. */
static bool at_end(assembler *A)
{
    skip_blanks(A);
    return A->cur == A->eol || *A->cur == ';' || *A->cur == '#';
}

static bool expect_end(assembler *A)
{
    char tmp[160];
    if (at_end(A))
        return true;
    return error(A, A->cur, "unexpected '%s' at end of line", snippet(A, A->cur, tmp));
}

/* Blanks and at most one comma between two arguments. */
static void skip_separator(assembler *A)
{
    skip_blanks(A);
    if (A->cur < A->eol && *A->cur == ',')
        A->cur++;
    skip_blanks(A);
}

/* Skips an identifier at the cursor; returns its length (0 if none). */
static size_t scan_ident(assembler *A)
{
    const char *s = A->cur;
    if (s == A->eol || !fvm_asm_ident_start((unsigned char)*s))
        return 0;
    while (A->cur < A->eol && fvm_asm_ident_char((unsigned char)*A->cur))
        A->cur++;
    return (size_t)(A->cur - s);
}

static bool word_is(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(s, word, n) == 0;
}

static bool word_is_nocase(const char *s, size_t n, const char *word)
{
    if (strlen(word) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 0x20) != word[i])
            return false;
    return true;
}

/* ------------------------------------------------------------------------
 * Numbers
 * ------------------------------------------------------------------------ */

typedef struct number {
    bool is_float;
    bool neg;
    bool overflow;  /* integer magnitude beyond 64 bits */
    uint64_t mag;   /* integers: magnitude */
    double f;       /* floats */
    const char *text;
    size_t len;
} number;

static double from_bits(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* Integer magnitude of s[0..n) in base 10 or 16; false if malformed. */
static bool parse_magnitude(const char *s, size_t n, unsigned base, number *out)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        int d = base == 16 ? fvm_hex_digit(s[i]) : (is_digit(s[i]) ? s[i] - '0' : -1);
        if (d < 0)
            return false;
        if (out->mag > (UINT64_MAX - (uint64_t)d) / base)
            out->overflow = true;
        out->mag = out->mag * base + (uint64_t)d;
    }
    return true;
}

/* Reads the numeric literal at the cursor (which holds a digit or a sign). */
static bool read_number(assembler *A, number *n)
{
    const char *start = A->cur, *p = start;
    memset(n, 0, sizeof *n);
    if (*p == '+' || *p == '-')
        n->neg = *p++ == '-';
    const char *body = p;
    bool hex = A->eol - p > 1 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
    while (p < A->eol) {
        char c = *p;
        bool exp_sign = (c == '+' || c == '-') && !hex && p > body && (p[-1] == 'e' || p[-1] == 'E');
        if (!(fvm_asm_ident_char((unsigned char)c) || exp_sign))
            break;
        p++;
    }
    A->cur = p;
    n->text = start;
    n->len = (size_t)(p - start);
    size_t blen = (size_t)(p - body);
    char tmp[160];
    if (hex && parse_magnitude(body + 2, blen - 2, 16, n))
        return true;
    if (!hex && parse_magnitude(body, blen, 10, n))
        return true;
    n->is_float = true;
    n->mag = 0;
    n->overflow = false;
    if (word_is_nocase(body, blen, "nan")) {
        n->f = from_bits(n->neg ? 0xfff8000000000000ull : 0x7ff8000000000000ull);
        return true;
    }
    if (word_is_nocase(body, blen, "inf")) {
        n->f = n->neg ? -HUGE_VAL : HUGE_VAL;
        return true;
    }
    if (!hex && blen && is_digit(*body) && fvm_parse_float_strict(start, n->len, &n->f))
        return true;
    return error(A, start, "malformed number '%s'", snippet(A, start, tmp));
}

/* n as a signed integer in [lo, hi]. */
static bool number_signed(const number *n, int64_t lo, int64_t hi, int64_t *out)
{
    if (n->is_float || n->overflow || n->mag > (uint64_t)INT64_MAX + (n->neg ? 1u : 0u))
        return false;
    int64_t v;
    if (!n->neg)
        v = (int64_t)n->mag;
    else
        v = n->mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)n->mag;
    *out = v;
    return v >= lo && v <= hi;
}

/* n as an unsigned integer up to max. */
static bool number_unsigned(const number *n, uint64_t max, uint64_t *out)
{
    if (n->is_float || n->overflow || (n->neg && n->mag) || n->mag > max)
        return false;
    *out = n->mag;
    return true;
}

/* The rest of a float written as a word: nan, inf, f64:BITS. */
static bool read_float_word(assembler *A, double *out)
{
    const char *start = A->cur;
    size_t n = scan_ident(A);
    char tmp[160];
    if (word_is_nocase(start, n, "nan")) {
        *out = from_bits(0x7ff8000000000000ull);
        return true;
    }
    if (word_is_nocase(start, n, "inf")) {
        *out = HUGE_VAL;
        return true;
    }
    if (word_is(start, n, "f64") && A->cur < A->eol && *A->cur == ':') {
        number bits = {0};
        const char *hex = ++A->cur;
        while (A->cur < A->eol && fvm_hex_digit(*A->cur) >= 0)
            A->cur++;
        if (!parse_magnitude(hex, (size_t)(A->cur - hex), 16, &bits) || bits.overflow)
            return error(A, start, "malformed float '%s'", snippet(A, start, tmp));
        *out = from_bits(bits.mag);
        return true;
    }
    A->cur = start;
    return error(A, start, "expected a float, found '%s'", snippet(A, start, tmp));
}

static bool read_float(assembler *A, double *out)
{
    number n;
    char tmp[160];
    if (!is_digit(*A->cur) && *A->cur != '+' && *A->cur != '-')
        return read_float_word(A, out);
    if (!read_number(A, &n))
        return false;
    *out = n.f;
    if (n.is_float)
        return true;
    /* An integer written as a float: decimal digits are read as a float so
     * that large values round correctly; hex converts from its value. */
    bool hex = memchr(n.text, 'x', n.len) || memchr(n.text, 'X', n.len);
    if (!hex && fvm_parse_float_strict(n.text, n.len, out))
        return true;
    if (n.overflow)
        return error(A, n.text, "float %s out of range", render(n.text, n.len, tmp));
    *out = n.neg ? -(double)n.mag : (double)n.mag;
    return true;
}

/* ------------------------------------------------------------------------
 * Strings and values
 * ------------------------------------------------------------------------ */

/* Reads a string literal at the cursor (which holds '"') into out. */
static bool read_string(assembler *A, fvm_buf *out)
{
    const char *start = A->cur, *p = start + 1;
    char tmp[160];
    while (p < A->eol && *p != '"') {
        if (*p != '\\') {
            fvm_buf_putc(out, *p++);
            continue;
        }
        if (p + 1 == A->eol)
            break;
        char c = p[1];
        switch (c) {
        case 'n': fvm_buf_putc(out, '\n'); break;
        case 't': fvm_buf_putc(out, '\t'); break;
        case 'r': fvm_buf_putc(out, '\r'); break;
        case '0': fvm_buf_putc(out, '\0'); break;
        case '\\': fvm_buf_putc(out, '\\'); break;
        case '"': fvm_buf_putc(out, '"'); break;
        case 'x':
            if (A->eol - p < 4 || fvm_hex_digit(p[2]) < 0 || fvm_hex_digit(p[3]) < 0)
                return error(A, p, "bad escape '%s': \\x takes two hex digits",
                             render(p, (size_t)(A->eol - p < 4 ? A->eol - p : 4), tmp));
            fvm_buf_putc(out, (char)(fvm_hex_digit(p[2]) * 16 + fvm_hex_digit(p[3])));
            p += 2;
            break;
        default: return error(A, p, "bad escape '%s' in string", render(p, 2, tmp));
        }
        p += 2;
    }
    if (p == A->eol)
        return error(A, start, "unterminated string");
    A->cur = p + 1;
    return true;
}

/* A string literal as a new byte string; NULL after an error. */
static fvm_string *read_string_obj(assembler *A)
{
    fvm_buf b = {0};
    fvm_string *s = read_string(A, &b) ? fvm_str_from(b.data ? b.data : "", b.len) : NULL;
    fvm_buf_free(&b);
    return s;
}

static bool read_value(assembler *A, int depth, fvm_value *out);

/* The items of a bracketed literal (A->cur is at its opener) up to the
 * closing character: read_item adds one item to *c; items are separated by
 * commas, and a trailing comma is allowed. */
static bool read_list(assembler *A, int depth, char close,
                      bool (*read_item)(assembler *, int, fvm_value *), fvm_value *c)
{
    A->cur++; /* the opener */
    for (;;) {
        skip_blanks(A);
        if (A->cur < A->eol && *A->cur == close)
            break;
        if (!read_item(A, depth, c))
            return false;
        skip_blanks(A);
        if (A->cur < A->eol && *A->cur == ',') {
            A->cur++;
            continue;
        }
        if (A->cur == A->eol || *A->cur != close) {
            char tmp[160];
            return error(A, A->cur, "expected ',' or '%c', found '%s'", close, snippet(A, A->cur, tmp));
        }
    }
    A->cur++;
    return true;
}

static bool read_array_item(assembler *A, int depth, fvm_value *arr)
{
    fvm_value item;
    if (!read_value(A, depth + 1, &item))
        return false;
    fvm_array_push(arr, item);
    return true;
}

static bool read_array(assembler *A, int depth, fvm_value *out)
{
    fvm_value arr = fvm_array_new();
    if (!read_list(A, depth, ']', read_array_item, &arr))
        return fvm_release(arr), false;
    *out = arr;
    return true;
}

/* One "key": value entry of a hash literal, added to *h. */
static bool read_hash_entry(assembler *A, int depth, fvm_value *h)
{
    char tmp[160];
    const char *at = A->cur;
    if (at == A->eol || *at != '"')
        return error(A, at, "expected a string key, found '%s'", snippet(A, at, tmp));
    fvm_string *key = read_string_obj(A);
    if (!key)
        return false;
    bool ok = false;
    fvm_value v;
    skip_blanks(A);
    if (A->cur == A->eol || *A->cur != ':') {
        error(A, A->cur, "expected ':' after a hash key, found '%s'", snippet(A, A->cur, tmp));
    } else if (fvm_hash_find(h->as.h, key->data, key->len)) {
        error(A, at, "duplicate hash key \"%s\"", render(key->data, key->len, tmp));
    } else {
        A->cur++;
        ok = read_value(A, depth + 1, &v) && fvm_hash_set(h, key->data, key->len, v) == 0;
    }
    fvm_release(fvm_str_value(key));
    return ok;
}

static bool read_hash(assembler *A, int depth, fvm_value *out)
{
    fvm_value h = fvm_hash_new();
    if (!read_list(A, depth, '}', read_hash_entry, &h))
        return fvm_release(h), false;
    *out = h;
    return true;
}

/* status(N), nativefn(N), obj(N), ref(V): the part after the word. */
static bool read_wrapped(assembler *A, int depth, const char *word, size_t n, fvm_value *out)
{
    char tmp[160];
    A->cur++; /* '(' */
    skip_blanks(A);
    const char *at = A->cur;
    if (word_is(word, n, "ref")) {
        fvm_value inner;
        if (!read_value(A, depth + 1, &inner))
            return false;
        *out = fvm_ref_new(inner);
    } else {
        number num;
        int64_t v = 0;
        uint64_t u = 0;
        if (at == A->eol || !(is_digit(*at) || *at == '-' || *at == '+'))
            return error(A, at, "expected a number, found '%s'", snippet(A, at, tmp));
        if (!read_number(A, &num))
            return false;
        if (word_is(word, n, "status") && number_signed(&num, INT32_MIN, INT32_MAX, &v))
            *out = fvm_status((int32_t)v);
        else if (word_is(word, n, "nativefn") && number_unsigned(&num, UINT16_MAX, &u))
            *out = fvm_nativefn((uint16_t)u);
        else if (word_is(word, n, "obj") && number_unsigned(&num, UINT32_MAX, &u))
            *out = fvm_obj((uint32_t)u);
        else
            return error(A, at, "%.*s value %s out of range", (int)n, word,
                         render(num.text, num.len, tmp));
    }
    skip_blanks(A);
    if (A->cur == A->eol || *A->cur != ')') {
        fvm_value_drop(*out);
        return error(A, A->cur, "expected ')', found '%s'", snippet(A, A->cur, tmp));
    }
    A->cur++;
    return true;
}

static bool read_word_value(assembler *A, int depth, fvm_value *out)
{
    const char *start = A->cur;
    size_t n = scan_ident(A);
    char tmp[160];
    if (word_is(start, n, "undef"))
        return *out = fvm_undef(), true;
    if (word_is(start, n, "true") || word_is(start, n, "false"))
        return *out = fvm_bool(*start == 't'), true;
    bool wrapper = word_is(start, n, "status") || word_is(start, n, "nativefn") ||
                   word_is(start, n, "obj") || word_is(start, n, "ref");
    if (wrapper && A->cur < A->eol && *A->cur == '(')
        return read_wrapped(A, depth, start, n, out);
    A->cur = start;
    double d;
    if (!wrapper && (word_is_nocase(start, n, "nan") || word_is_nocase(start, n, "inf") ||
                     word_is(start, n, "f64"))) {
        if (!read_float_word(A, &d))
            return false;
        return *out = fvm_float(d), true;
    }
    return error(A, start, "expected a value, found '%s'", snippet(A, start, tmp));
}

static bool read_value(assembler *A, int depth, fvm_value *out)
{
    char tmp[160];
    skip_blanks(A);
    const char *at = A->cur;
    if (depth > FVM_ASM_MAX_DEPTH)
        return error(A, at, "value nested more than %d deep", FVM_ASM_MAX_DEPTH);
    if (at == A->eol)
        return error(A, at, "expected a value, found end of line");
    if (*at == '"') {
        fvm_string *s = read_string_obj(A);
        return s ? (*out = fvm_str_value(s), true) : false;
    }
    if (*at == '[')
        return read_array(A, depth, out);
    if (*at == '{')
        return read_hash(A, depth, out);
    if (is_digit(*at) || *at == '-' || *at == '+') {
        number n;
        int64_t v;
        if (!read_number(A, &n))
            return false;
        if (n.is_float)
            return *out = fvm_float(n.f), true;
        if (!number_signed(&n, INT64_MIN, INT64_MAX, &v))
            return error(A, at, "integer %s out of range (64-bit signed)",
                         render(n.text, n.len, tmp));
        return *out = fvm_int(v), true;
    }
    if (fvm_asm_ident_start((unsigned char)*at))
        return read_word_value(A, depth, out);
    return error(A, at, "expected a value, found '%s'", snippet(A, at, tmp));
}

/* ------------------------------------------------------------------------
 * Pools, labels and fixups of the current chunk
 * ------------------------------------------------------------------------ */

static chunk_state *current(assembler *A)
{
    return &A->chunks[A->depth - 1];
}

static void chunk_open(chunk_state *cs, uint32_t line, uint32_t col, size_t slot)
{
    memset(cs, 0, sizeof *cs);
    cs->names_seen = fvm_hash_new();
    cs->labels = fvm_hash_new();
    cs->open_line = line;
    cs->open_col = col;
    cs->slot = slot;
}

/* Appends a constant (takes v); -1 when the pool is full (v dropped). */
static int64_t add_const(chunk_state *cs, fvm_value v)
{
    if (cs->p.nconsts >= FVM_MAX_POOL) {
        fvm_release(v);
        return -1;
    }
    cs->p.consts = grow1(cs->p.consts, &cs->consts_cap, cs->p.nconsts, sizeof(fvm_value));
    cs->p.consts[cs->p.nconsts] = v;
    fvm_const_index_add(&cs->consts_seen, cs->p.consts, cs->p.nconsts);
    return (int64_t)cs->p.nconsts++;
}

/* The first constant identical to v, else v appended (takes v). */
static int64_t intern_const(chunk_state *cs, fvm_value v)
{
    int64_t i = fvm_const_index_find(&cs->consts_seen, cs->p.consts, v);
    if (i < 0)
        return add_const(cs, v);
    fvm_release(v);
    return i;
}

/* Appends a name (takes s); -1 when the pool is full. */
static int64_t add_name(chunk_state *cs, fvm_string *s)
{
    if (cs->p.nnames >= FVM_MAX_POOL) {
        fvm_release(fvm_str_value(s));
        return -1;
    }
    cs->p.names = grow1(cs->p.names, &cs->names_cap, cs->p.nnames, sizeof(fvm_string *));
    cs->p.names[cs->p.nnames] = s;
    if (!fvm_hash_find(cs->names_seen.as.h, s->data, s->len))
        fvm_hash_set(&cs->names_seen, s->data, s->len, fvm_int((int64_t)cs->p.nnames));
    return (int64_t)cs->p.nnames++;
}

static int64_t intern_name(chunk_state *cs, fvm_string *s)
{
    fvm_value *known = fvm_hash_find(cs->names_seen.as.h, s->data, s->len);
    if (!known)
        return add_name(cs, s);
    fvm_release(fvm_str_value(s));
    return known->as.i;
}

static bool define_label(assembler *A, const char *name, size_t n, uint32_t value, bool is_sub)
{
    chunk_state *cs = current(A);
    char tmp[160];
    fvm_value *known = fvm_hash_find(cs->labels.as.h, name, n);
    if (known)
        return error(A, name, "duplicate label '%s' (first defined on line %u)", render(name, n, tmp),
                     cs->defs[known->as.i].line);
    cs->defs = grow1(cs->defs, &cs->defs_cap, cs->ndefs, sizeof *cs->defs);
    cs->defs[cs->ndefs] = (label_def){value, A->line, is_sub};
    fvm_hash_set(&cs->labels, name, n, fvm_int((int64_t)cs->ndefs++));
    return true;
}

static void add_fixup(assembler *A, fixup f, const char *pos)
{
    chunk_state *cs = current(A);
    f.line = A->line;
    f.col = (uint32_t)(pos - A->bol) + 1;
    cs->fixups = grow1(cs->fixups, &cs->fixups_cap, cs->nfixups, sizeof *cs->fixups);
    cs->fixups[cs->nfixups++] = f;
}

/* Drops fixups past n (those of an op that failed to parse). */
static void truncate_fixups(chunk_state *cs, size_t n)
{
    while (cs->nfixups > n) {
        fixup *f = &cs->fixups[--cs->nfixups];
        if (f->label)
            fvm_release(fvm_str_value(f->label));
    }
}

/* An operand kind in messages, with its article: "a slot". */
static const char *kind_noun(unsigned kind)
{
    static const char *const nouns[] = {
        [FVM_K_I64] = "an integer",       [FVM_K_F64] = "a float",
        [FVM_K_CONST] = "a constant",     [FVM_K_NAME] = "a name",
        [FVM_K_SLOT] = "a slot",          [FVM_K_SUB] = "a sub-chunk",
        [FVM_K_BLOCK] = "a block range",  [FVM_K_U16] = "a 16-bit number",
        [FVM_K_U8] = "an 8-bit number",   [FVM_K_TARGET] = "a jump target",
        [FVM_K_LIMIT] = "a limit",        [FVM_K_WIDE] = "a payload",
    };
    return nouns[kind];
}

/* The same without the article: "slot". */
static const char *kind_name(unsigned kind)
{
    return strchr(kind_noun(kind), ' ') + 1;
}

static size_t pool_size(const chunk_state *cs, unsigned kind)
{
    switch (kind) {
    case FVM_K_CONST: return cs->p.nconsts;
    case FVM_K_NAME: return cs->p.nnames;
    case FVM_K_SUB: return cs->p.nsubchunks;
    case FVM_K_BLOCK: return cs->p.nblocks;
    default: return 0;
    }
}

/* The value a fixup stands for, or false after reporting why it has none.
 * A label must name a sub-chunk exactly when kind is FVM_K_SUB. Numbers
 * of pool kinds must index their pool, FVM_K_TARGET numbers must be within
 * the chunk, and FVM_K_WIDE numbers (block bounds) are taken as written. */
static bool resolve(assembler *A, chunk_state *cs, const fixup *f, uint64_t *out)
{
    char tmp[160];
    if (f->label) {
        fvm_value *known = fvm_hash_find(cs->labels.as.h, f->label->data, f->label->len);
        const char *name = render(f->label->data, f->label->len, tmp);
        if (!known)
            return report_at(A, f->line, f->col, "unknown label '%s'", name), false;
        const label_def *d = &cs->defs[known->as.i];
        if (d->is_sub && f->kind != FVM_K_SUB)
            return report_at(A, f->line, f->col, "label '%s' names a sub-chunk, not a position",
                             name), false;
        if (!d->is_sub && f->kind == FVM_K_SUB)
            return report_at(A, f->line, f->col, "label '%s' is not a sub-chunk", name), false;
        *out = d->value;
        return true;
    }
    *out = f->number;
    switch (f->kind) {
    case FVM_K_TARGET:
        if (f->number > cs->p.len)
            return report_at(A, f->line, f->col,
                             "position %llu is past the end of the chunk (%zu ops)",
                             (unsigned long long)f->number, cs->p.len), false;
        return true;
    case FVM_K_CONST:
    case FVM_K_NAME:
    case FVM_K_SUB:
    case FVM_K_BLOCK:
        if (f->number >= pool_size(cs, f->kind))
            return report_at(A, f->line, f->col, "%s index %llu out of range (the pool has %zu)",
                             kind_name(f->kind), (unsigned long long)f->number,
                             pool_size(cs, f->kind)), false;
        return true;
    default: return true;
    }
}

static void apply_fixups(assembler *A, chunk_state *cs)
{
    for (size_t i = 0; i < cs->nfixups; i++) {
        const fixup *f = &cs->fixups[i];
        uint64_t v;
        if (!resolve(A, cs, f, &v))
            continue;
        switch (f->what) {
        case FIX_OPERAND:
            if (f->at < cs->p.len)
                fvm_operand_set(&cs->p.ops[f->at], f->field, v);
            break;
        case FIX_SUB_NAME: cs->p.subs[f->at].name = (uint16_t)v; break;
        case FIX_SUB_IP: cs->p.subs[f->at].ip = (uint32_t)v; break;
        case FIX_BLOCK_START: cs->p.blocks[f->at].start = v; break;
        case FIX_BLOCK_END: cs->p.blocks[f->at].end = v; break;
        case FIX_SLOTS_IP: cs->p.slot_names[f->at].entry_ip = (uint32_t)v; break;
        }
    }
}

/* Resolves the chunk's fixups and builds it; NULL once any error was seen. */
static fvm_chunk *chunk_close(assembler *A, chunk_state *cs)
{
    fvm_chunk *c = NULL;
    if (!A->stopped)
        apply_fixups(A, cs);
    if (A->nerrors) {
        fvm_chunk_parts_free(&cs->p);
    } else {
        char err[256];
        cs->p.ops = grow1(cs->p.ops, &cs->ops_cap, cs->p.len, sizeof(fvm_op)); /* end marker */
        c = fvm_chunk_assemble(&cs->p, err, sizeof err);
        if (!c)
            report_at(A, cs->open_line, cs->open_col, "%s", err);
    }
    truncate_fixups(cs, 0);
    free(cs->fixups);
    free(cs->defs);
    fvm_release(cs->labels);
    fvm_release(cs->names_seen);
    fvm_const_index_free(&cs->consts_seen);
    return c;
}

/* ------------------------------------------------------------------------
 * Operands
 * ------------------------------------------------------------------------ */

/* '@'N, or N alone where the kind allows it: a pool index, checked when
 * the chunk ends. */
static bool read_index(assembler *A, unsigned kind, fixup f)
{
    const char *at = A->cur;
    number n;
    uint64_t v;
    char tmp[160];
    if (*A->cur == '@')
        A->cur++;
    if (A->cur == A->eol || !is_digit(*A->cur))
        return error(A, at, "expected an index after '@', found '%s'", snippet(A, A->cur, tmp));
    if (!read_number(A, &n))
        return false;
    if (!number_unsigned(&n, FVM_MAX_POOL - 1, &v))
        return error(A, at, "%s index %s out of range (max %u)", kind_name(kind),
                     render(n.text, n.len, tmp), FVM_MAX_POOL - 1);
    f.kind = (uint8_t)kind;
    f.number = v;
    add_fixup(A, f, at);
    return true;
}

/* A position: a label or a number. kind is FVM_K_TARGET (a number up to
 * FVM_MAX_OPS, checked against the chunk's length when it ends),
 * FVM_K_WIDE (any 64-bit number, kept as written) or FVM_K_SUB (a label of
 * a '.chunk'). */
static bool read_position(assembler *A, unsigned kind, fixup f)
{
    const char *at = A->cur;
    char tmp[160];
    f.kind = (uint8_t)kind;
    if (at < A->eol && is_digit(*at)) {
        number n;
        uint64_t max = kind == FVM_K_TARGET ? FVM_MAX_OPS : UINT64_MAX;
        if (!read_number(A, &n))
            return false;
        if (!number_unsigned(&n, max, &f.number))
            return error(A, at, "position %s out of range (max %llu)", render(n.text, n.len, tmp),
                         (unsigned long long)max);
        add_fixup(A, f, at);
        return true;
    }
    size_t len = scan_ident(A);
    if (!len)
        return error(A, at, "expected %s, found '%s'", kind == FVM_K_SUB ? "a sub-chunk" : "a label",
                     snippet(A, at, tmp));
    f.label = fvm_str_from(at, len);
    add_fixup(A, f, at);
    return true;
}

static bool is_index(const char *at)
{
    return *at == '@' || is_digit(*at);
}

/* A name: an identifier or string (interned; *out is its index), or an
 * index (the fixup f sets it later; *out is 0). */
static bool read_name(assembler *A, fixup f, uint64_t *out)
{
    const char *at = A->cur;
    char tmp[160];
    fvm_string *s = NULL;
    *out = 0;
    if (at < A->eol && is_index(at))
        return read_index(A, FVM_K_NAME, f);
    if (at < A->eol && *at == '"')
        s = read_string_obj(A);
    else if (scan_ident(A))
        s = fvm_str_from(at, (size_t)(A->cur - at));
    else
        return error(A, at, "expected a name, found '%s'", snippet(A, at, tmp));
    if (!s)
        return false;
    int64_t i = intern_name(current(A), s);
    if (i < 0)
        return error(A, at, "name pool is full (%u entries)", FVM_MAX_POOL);
    *out = (uint64_t)i;
    return true;
}

/* A plain number operand of kind (slot, u8, u16, limit, i64, wide). */
static bool read_plain(assembler *A, unsigned kind, uint64_t *out)
{
    const char *at = A->cur;
    char tmp[160];
    number n;
    if (!is_digit(*at) && *at != '-' && *at != '+')
        return error(A, at, "expected %s, found '%s'", kind_noun(kind), snippet(A, at, tmp));
    if (!read_number(A, &n))
        return false;
    if (n.is_float)
        return error(A, at, "expected %s, found '%s'", kind_noun(kind), render(n.text, n.len, tmp));
    bool ok;
    const char *range;
    int64_t v = 0;
    switch (kind) {
    case FVM_K_I64:
        ok = number_signed(&n, INT64_MIN, INT64_MAX, &v);
        range = "64-bit signed";
        *out = (uint64_t)v;
        break;
    case FVM_K_LIMIT:
        ok = number_signed(&n, INT32_MIN, INT32_MAX, &v);
        range = "32-bit signed";
        *out = (uint64_t)v;
        break;
    default:
        ok = number_unsigned(&n, fvm_operand_max(kind), out);
        range = kind == FVM_K_U8 ? "0..255" : kind == FVM_K_WIDE ? "64-bit unsigned" : "0..65535";
    }
    if (!ok)
        return error(A, at, "%s %s out of range (%s)", kind_name(kind), render(n.text, n.len, tmp),
                     range);
    return true;
}

/* A constant: '@' index (fixup) or a value, interned. */
static bool read_const(assembler *A, fixup f, uint64_t *out)
{
    const char *at = A->cur;
    fvm_value val;
    *out = 0;
    if (*at == '@')
        return read_index(A, FVM_K_CONST, f);
    if (!read_value(A, 0, &val))
        return false;
    int64_t i = intern_const(current(A), val);
    if (i < 0)
        return error(A, at, "constant pool is full (%u entries)", FVM_MAX_POOL);
    *out = (uint64_t)i;
    return true;
}

/* CallBuiltin's id written as the name a '.builtin' of this chunk
 * declared before it. */
static bool read_builtin_name(assembler *A, uint64_t *out)
{
    chunk_state *cs = current(A);
    const char *at = A->cur;
    char tmp[160];
    scan_ident(A);
    size_t len = (size_t)(A->cur - at);
    for (size_t i = 0; i < cs->p.nbuiltins; i++) {
        const fvm_string *name = cs->p.builtins[i].name;
        if (name->len == len && memcmp(name->data, at, len) == 0) {
            *out = cs->p.builtins[i].id;
            return true;
        }
    }
    return error(A, at, "unknown builtin '%s' (declare it first with .builtin)", render(at, len, tmp));
}

/* One operand of op (which will have index op_index) into field. */
static bool read_operand(assembler *A, const char *mnemonic, unsigned kind, unsigned field,
                         fvm_op *op, size_t op_index)
{
    fixup f = {.what = FIX_OPERAND, .field = (uint8_t)field, .at = op_index};
    uint64_t v = 0;
    double d;
    char tmp[160];
    if (at_end(A))
        return error(A, A->cur, "missing %s for %s", kind_name(kind), mnemonic);
    const char *at = A->cur;
    bool ok;
    switch (kind) {
    case FVM_K_F64:
        ok = read_float(A, &d);
        memcpy(&v, &d, sizeof v);
        break;
    case FVM_K_TARGET: ok = read_position(A, kind, f); break;
    case FVM_K_SUB: ok = is_index(at) ? read_index(A, kind, f) : read_position(A, kind, f); break;
    case FVM_K_BLOCK:
        if (!is_index(at))
            return error(A, at, "expected a block range index, found '%s'", snippet(A, at, tmp));
        ok = read_index(A, kind, f);
        break;
    case FVM_K_NAME: ok = read_name(A, f, &v); break;
    case FVM_K_CONST: ok = read_const(A, f, &v); break;
    default:
        if (op->code == FVM_OP_CALL_BUILTIN && kind == FVM_K_U16 &&
            fvm_asm_ident_start((unsigned char)*at))
            ok = read_builtin_name(A, &v);
        else
            ok = read_plain(A, kind, &v);
    }
    if (ok)
        fvm_operand_set(op, field, v); /* fixups overwrite it later */
    return ok;
}

/* The line the next op gets: the '.line' in force, else its text line. */
static uint32_t op_line(assembler *A)
{
    chunk_state *cs = current(A);
    return cs->has_line ? cs->line : A->line;
}

static void emit(assembler *A, fvm_op op)
{
    chunk_state *cs = current(A);
    if (cs->p.len >= FVM_MAX_OPS) {
        error(A, A->bol, "too many ops");
        return;
    }
    cs->p.ops = grow1(cs->p.ops, &cs->ops_cap, cs->p.len, sizeof(fvm_op));
    cs->p.lines = grow1(cs->p.lines, &cs->lines_cap, cs->p.len, sizeof(uint32_t));
    cs->p.ops[cs->p.len] = op;
    cs->p.lines[cs->p.len] = op_line(A);
    cs->p.len++;
}

static void read_op(assembler *A)
{
    chunk_state *cs = current(A);
    const char *start = A->cur;
    size_t n = scan_ident(A);
    int code = fvm_op_lookup(start, n);
    size_t nfix = cs->nfixups;
    char tmp[160];
    bool ok = code >= 0;
    fvm_op op = {ok ? (uint16_t)code : FVM_OP_NOP, 0, 0, 0, {0}};
    if (!ok)
        error(A, start, "unknown op '%s'", render(start, n, tmp));
    const fvm_format_info *fi = fvm_op_operands(op.code);
    for (unsigned k = 0; ok && k < fi->count; k++) {
        if (k)
            skip_separator(A);
        ok = read_operand(A, fvm_opinfo_table[op.code].name, fi->operand[k].kind,
                          fi->operand[k].field, &op, cs->p.len);
    }
    if (ok && expect_end(A)) {
        emit(A, op);
        return;
    }
    /* A line that fails still takes its place, as a Nop, so the positions
     * of the ops after it (and so their labels) stay as written. */
    truncate_fixups(cs, nfix);
    emit(A, (fvm_op){FVM_OP_NOP, 0, 0, 0, {0}});
}

/* ------------------------------------------------------------------------
 * Directives
 * ------------------------------------------------------------------------ */

static bool dir_source(assembler *A)
{
    chunk_state *cs = current(A);
    char tmp[160];
    if (A->cur == A->eol || *A->cur != '"')
        return error(A, A->cur, "expected a string, found '%s'", snippet(A, A->cur, tmp));
    fvm_string *s = read_string_obj(A);
    if (!s)
        return false;
    if (cs->p.source)
        fvm_release(fvm_str_value(cs->p.source));
    cs->p.source = s;
    return true;
}

static bool dir_name(assembler *A)
{
    const char *at = A->cur;
    char tmp[160];
    fvm_string *s = NULL;
    if (at < A->eol && *at == '"')
        s = read_string_obj(A);
    else if (scan_ident(A))
        s = fvm_str_from(at, (size_t)(A->cur - at));
    else
        return error(A, at, "expected a name, found '%s'", snippet(A, at, tmp));
    if (s && add_name(current(A), s) < 0)
        return error(A, at, "name pool is full (%u entries)", FVM_MAX_POOL);
    return s != NULL;
}

static bool dir_const(assembler *A)
{
    const char *at = A->cur;
    fvm_value v;
    if (!read_value(A, 0, &v))
        return false;
    if (add_const(current(A), v) < 0)
        return error(A, at, "constant pool is full (%u entries)", FVM_MAX_POOL);
    return true;
}

static bool dir_sub(assembler *A)
{
    chunk_state *cs = current(A);
    size_t at = cs->p.nsubs;
    uint64_t name;
    if (at_end(A))
        return error(A, A->cur, "missing name for .sub");
    if (!read_name(A, (fixup){.what = FIX_SUB_NAME, .at = at}, &name))
        return false;
    cs->p.subs = grow1(cs->p.subs, &cs->subs_cap, cs->p.nsubs, sizeof(fvm_sub_entry));
    cs->p.subs[cs->p.nsubs++] = (fvm_sub_entry){(uint16_t)name, (uint32_t)cs->p.len};
    skip_separator(A);
    if (at_end(A))
        return true; /* the entry is the next op */
    return read_position(A, FVM_K_TARGET, (fixup){.what = FIX_SUB_IP, .at = at});
}

static bool dir_block(assembler *A)
{
    chunk_state *cs = current(A);
    size_t at = cs->p.nblocks;
    if (at >= FVM_MAX_POOL)
        return error(A, A->cur, "block range pool is full (%u entries)", FVM_MAX_POOL);
    cs->p.blocks = grow1(cs->p.blocks, &cs->blocks_cap, cs->p.nblocks, sizeof(fvm_block_range));
    cs->p.blocks[cs->p.nblocks++] = (fvm_block_range){0, 0};
    for (int k = 0; k < 2; k++) {
        if (k)
            skip_separator(A);
        if (at_end(A))
            return error(A, A->cur, "missing %s for .block", k ? "end" : "start");
        /* Block bounds are not checked against the chunk: numbers are kept
         * as written. */
        fixup f = {.what = (uint8_t)(k ? FIX_BLOCK_END : FIX_BLOCK_START), .at = at};
        if (!read_position(A, FVM_K_WIDE, f))
            return false;
    }
    return true;
}

/* '.slots POS NAME...': the names of the slots of the subroutine whose code
 * starts at POS, slot 0 first. */
static bool dir_slots(assembler *A)
{
    chunk_state *cs = current(A);
    size_t at = cs->p.nslot_names;
    char tmp[160];
    if (at_end(A))
        return error(A, A->cur, "missing position for .slots");
    cs->p.slot_names = grow1(cs->p.slot_names, &cs->slot_names_cap, at, sizeof(fvm_slot_names));
    cs->p.slot_names[cs->p.nslot_names++] = (fvm_slot_names){0, 0, NULL};
    if (!read_position(A, FVM_K_TARGET, (fixup){.what = FIX_SLOTS_IP, .at = at}))
        return false;
    fvm_slot_names *sn = &cs->p.slot_names[at];
    size_t cap = 0;
    for (skip_separator(A); !at_end(A); skip_separator(A)) {
        const char *name_at = A->cur;
        fvm_string *s = NULL;
        if (*name_at == '"')
            s = read_string_obj(A);
        else if (scan_ident(A))
            s = fvm_str_from(name_at, (size_t)(A->cur - name_at));
        else
            return error(A, name_at, "expected a slot name, found '%s'", snippet(A, name_at, tmp));
        if (!s)
            return false;
        if (sn->count == FVM_MAX_POOL) {
            fvm_release(fvm_str_value(s));
            return error(A, name_at, "more than %u slot names", FVM_MAX_POOL);
        }
        sn->names = grow1(sn->names, &cap, sn->count, sizeof(fvm_string *));
        sn->names[sn->count++] = s;
    }
    return true;
}

/* '.builtin 7 sqrt': CallBuiltin 7 means the builtin a VM registered as
 * "sqrt" (fvm_declare_builtin). An id declared twice is refused here, where
 * the line is known, rather than by the verifier at the chunk's end. */
static bool dir_builtin(assembler *A)
{
    chunk_state *cs = current(A);
    const char *at = A->cur;
    number n;
    uint64_t id;
    char tmp[160];
    if (at == A->eol || !is_digit(*at))
        return error(A, at, "expected a builtin id, found '%s'", snippet(A, at, tmp));
    if (!read_number(A, &n))
        return false;
    if (!number_unsigned(&n, UINT16_MAX, &id))
        return error(A, at, "builtin id %s out of range (16-bit unsigned)", render(n.text, n.len, tmp));
    skip_separator(A);
    const char *name_at = A->cur;
    fvm_string *name = NULL;
    if (name_at < A->eol && *name_at == '"')
        name = read_string_obj(A);
    else if (scan_ident(A))
        name = fvm_str_from(name_at, (size_t)(A->cur - name_at));
    else
        return error(A, name_at, "expected a builtin name, found '%s'", snippet(A, name_at, tmp));
    if (!name)
        return false;
    if (name->len == 0) {
        fvm_release(fvm_str_value(name));
        return error(A, name_at, "a builtin name cannot be empty");
    }
    for (size_t i = 0; i < cs->p.nbuiltins; i++) {
        if (cs->p.builtins[i].id == id) {
            fvm_release(fvm_str_value(name));
            return error(A, at, "builtin %llu is declared twice", (unsigned long long)id);
        }
    }
    cs->p.builtins = grow1(cs->p.builtins, &cs->builtins_cap, cs->p.nbuiltins, sizeof(fvm_builtin_decl));
    cs->p.builtins[cs->p.nbuiltins++] = (fvm_builtin_decl){(uint16_t)id, name};
    return true;
}

static bool dir_line(assembler *A)
{
    chunk_state *cs = current(A);
    const char *at = A->cur;
    number n;
    uint64_t v;
    char tmp[160];
    if (at == A->eol || !is_digit(*at))
        return error(A, at, "expected a line number, found '%s'", snippet(A, at, tmp));
    if (!read_number(A, &n))
        return false;
    if (!number_unsigned(&n, UINT32_MAX, &v))
        return error(A, at, "line %s out of range (32-bit unsigned)", render(n.text, n.len, tmp));
    cs->has_line = true;
    cs->line = (uint32_t)v;
    return true;
}

static bool dir_chunk(assembler *A)
{
    chunk_state *parent = current(A);
    if (A->depth > FVM_ASM_MAX_CHUNK_DEPTH) {
        error(A, A->dir, ".chunk nested more than %d deep", FVM_ASM_MAX_CHUNK_DEPTH);
        A->stopped = true; /* the '.end' lines that follow would not match */
        return false;
    }
    size_t slot = SIZE_MAX;
    const char *label = A->cur;
    size_t n = scan_ident(A);
    if (parent->p.nsubchunks >= FVM_MAX_POOL) {
        error(A, A->dir, "sub-chunk pool is full (%u entries)", FVM_MAX_POOL);
    } else {
        slot = parent->p.nsubchunks;
        parent->p.subchunks = grow1(parent->p.subchunks, &parent->subchunks_cap, slot,
                                    sizeof(fvm_chunk *));
        parent->p.subchunks[parent->p.nsubchunks++] = NULL;
        if (n)
            define_label(A, label, n, (uint32_t)slot, true);
    }
    chunk_open(&A->chunks[A->depth++], A->line, (uint32_t)(A->dir - A->bol) + 1, slot);
    return true;
}

/* Builds the innermost open '.chunk' and stores it in its parent. */
static void close_nested(assembler *A)
{
    chunk_state *cs = &A->chunks[--A->depth];
    fvm_chunk *c = chunk_close(A, cs);
    chunk_state *parent = current(A);
    if (cs->slot != SIZE_MAX)
        parent->p.subchunks[cs->slot] = c;
    else
        fvm_chunk_free(c);
}

static bool dir_end(assembler *A)
{
    if (A->depth == 1)
        return error(A, A->dir, "'.end' without '.chunk'");
    close_nested(A);
    return true;
}

typedef struct directive {
    const char *name;
    bool (*read)(assembler *A);
} directive;

static const directive directives[] = {
    {".source", dir_source}, {".name", dir_name}, {".const", dir_const}, {".sub", dir_sub},
    {".slots", dir_slots},   {".block", dir_block}, {".line", dir_line}, {".chunk", dir_chunk},
    {".end", dir_end},       {".builtin", dir_builtin},
};

static void read_directive(assembler *A)
{
    char tmp[160];
    A->dir = A->cur++;
    scan_ident(A);
    size_t n = (size_t)(A->cur - A->dir);
    for (size_t i = 0; i < sizeof directives / sizeof directives[0]; i++) {
        if (word_is(A->dir, n, directives[i].name)) {
            skip_blanks(A);
            if (directives[i].read(A))
                expect_end(A);
            return;
        }
    }
    error(A, A->dir, "unknown directive '%s'", render(A->dir, n, tmp));
}

/* ------------------------------------------------------------------------
 * Lines and the entry point
 * ------------------------------------------------------------------------ */

static void read_line(assembler *A)
{
    char tmp[160];
    for (;;) { /* labels */
        skip_blanks(A);
        const char *start = A->cur;
        size_t n = scan_ident(A);
        if (!n || A->cur == A->eol || *A->cur != ':') {
            A->cur = start;
            break;
        }
        A->cur++;
        define_label(A, start, n, (uint32_t)current(A)->p.len, false);
    }
    if (at_end(A))
        return;
    if (*A->cur == '.')
        read_directive(A);
    else if (fvm_asm_ident_start((unsigned char)*A->cur))
        read_op(A);
    else
        error(A, A->cur, "expected an op, a label or a directive, found '%s'",
              snippet(A, A->cur, tmp));
}

fvm_chunk *fvm_assemble(const char *text, size_t len, const char *filename, char **errors)
{
    assembler A = {0};
    A.file = filename ? filename : "<input>";
    A.chunks = fvm_xcalloc(FVM_ASM_MAX_CHUNK_DEPTH + 1, sizeof *A.chunks);
    chunk_open(&A.chunks[0], 1, 1, SIZE_MAX);
    A.depth = 1;
    const char *p = text, *end = text ? text + len : text;
    while (p && p < end && !A.stopped) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        A.bol = A.cur = p;
        A.eol = eol ? eol : end;
        A.line++;
        read_line(&A);
        p = eol ? eol + 1 : end;
    }
    while (A.depth > 1) {
        chunk_state *open = current(&A);
        report_at(&A, open->open_line, open->open_col, "'.chunk' without '.end'");
        close_nested(&A);
    }
    fvm_chunk *c = chunk_close(&A, &A.chunks[0]);
    free(A.chunks);
    if (A.nerrors || A.stopped) {
        fvm_chunk_free(c);
        c = NULL;
    }
    if (errors)
        *errors = c ? NULL : error_text(&A);
    for (size_t i = 0; i < A.nerrors; i++)
        free(A.errors[i].msg);
    free(A.errors);
    return c;
}
