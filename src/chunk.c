/* Chunks: the builder, the verifier, the op hash and read-only accessors.
 *
 * Every chunk, however it was made (builder, assembler, binary or JSON
 * loader), passes through fvm_chunk_assemble: the verifier's guarantees and
 * op_hash hold for all of them, and the interpreter relies on the verifier
 * instead of checking operands as it runs. */
#include "chunk.h"

#include <stdio.h>
#include <stdlib.h>

#include "opinfo.h"
#include "superop.h"

/* ------------------------------------------------------------------------
 * Hashing (op_hash)
 *
 * op_hash names JIT cache entries and cache files, so it must be the same in
 * every process and must not confuse different chunks. Ops are canonical
 * (unused fields zero), so hashing their 16 bytes is exact.
 * ------------------------------------------------------------------------ */

static inline uint64_t mix64(uint64_t h)
{
    /* splitmix64 finaliser */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

/* Fold one word into h: a hash_combine step (the golden-ratio constant and
 * shifted copies of h, so the order of words matters), then the finaliser,
 * so every bit of w reaches every bit of the result. */
static inline uint64_t hash_word(uint64_t h, uint64_t w)
{
    return mix64(h ^ (w + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2)));
}

/* The length goes in first: the last partial word is padded with zero
 * bytes, so "a" and "a\0" would otherwise hash alike. Words are read with
 * memcpy (any alignment) in the machine's byte order, which is why op_hash
 * is the same in every process of one build, not across byte orders. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    h = hash_word(h, n);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = hash_word(h, w);
        s += 8;
        n -= 8;
    }
    uint64_t tail = 0;
    memcpy(&tail, s, n);
    return hash_word(h, tail);
}

/* Content only, never an address, so the result is the same in every
 * process: a Ref hashes the value it holds, native functions and objects
 * their ids. Floats hash by bit pattern (0.0 and -0.0 differ, as they do in
 * fvm_chunk_equal). A string hashes all its bytes here rather than reusing
 * its cached 32-bit fvm_str_hash: op_hash is a 64-bit key. */
uint64_t fvm_value_hash(fvm_value v)
{
    uint64_t h = hash_word(0, v.type);
    switch (v.type) {
    case FVM_T_UNDEF: return h;
    case FVM_T_BOOL: return hash_word(h, v.as.b);
    case FVM_T_INT: return hash_word(h, (uint64_t)v.as.i);
    case FVM_T_FLOAT: {
        uint64_t bits;
        memcpy(&bits, &v.as.f, 8);
        return hash_word(h, bits);
    }
    case FVM_T_STR: return hash_bytes(h, v.as.s->data, v.as.s->len);
    case FVM_T_ARRAY:
        h = hash_word(h, v.as.a->len);
        for (size_t i = 0; i < v.as.a->len; i++)
            h = hash_word(h, fvm_value_hash(v.as.a->items[i]));
        return h;
    case FVM_T_HASH: {
        /* A sum of per-entry hashes does not depend on entry order. Each
         * term hashes key and value together, so moving a value to another
         * key changes the sum. */
        uint64_t sum = 0;
        for (size_t i = 0; i < v.as.h->used; i++) {
            fvm_hash_slot *e = &v.as.h->entries[i];
            if (e->key)
                sum += hash_word(hash_bytes(0, e->key->data, e->key->len), fvm_value_hash(e->val));
        }
        return hash_word(hash_word(h, v.as.h->count), sum);
    }
    case FVM_T_STATUS: return hash_word(h, (uint64_t)(int64_t)v.as.status);
    case FVM_T_REF: return hash_word(h, fvm_value_hash(v.as.r->val));
    case FVM_T_NATIVEFN: return hash_word(h, v.as.fn);
    case FVM_T_OBJ: return hash_word(h, v.as.obj);
    }
    return h;
}

/* op_hash: the canonical op bytes, then the constants. Names, sub entries,
 * block ranges, lines, the source name and sub-chunks are not part of it.
 * The seed is "fusevm" in ASCII. Never 0, as fusevm.h promises, so a caller
 * may keep 0 for "no hash". */
static uint64_t chunk_hash(const fvm_op *ops, size_t len, const fvm_value *consts, size_t nconsts)
{
    uint64_t h = hash_bytes(0x66757365766dull, ops, len * sizeof(fvm_op));
    h = hash_word(h, nconsts);
    for (size_t i = 0; i < nconsts; i++)
        h = hash_word(h, fvm_value_hash(consts[i]));
    return h ? h : 1;
}

/* ------------------------------------------------------------------------
 * Verifier
 *
 * What the interpreter does not check as it runs is checked here, once:
 * every opcode is known, every operand fits its kind (fvm_operand_max: 8-bit
 * operands at most 255, pool indices and slots 16-bit), every pool index is
 * inside its pool, every jump target and sub entry is at most len, every
 * declared builtin has a name and an id of its own. Loaders report the first
 * problem; the builder collects one per op, so a frontend sees them all.
 * ------------------------------------------------------------------------ */

/* "op N (Name): problem"; an unknown opcode has no name to give. */
static void op_problem(char *out, size_t cap, size_t ip, unsigned code, const char *what)
{
    if (code < FVM_OP_COUNT)
        snprintf(out, cap, "op %zu (%s): %s", ip, fvm_opinfo_table[code].name, what);
    else
        snprintf(out, cap, "op %zu: %s", ip, what);
}

/* The first problem of one op, into what; false if it has none. */
static bool check_op(const fvm_chunk_parts *p, const fvm_op *op, char *what, size_t cap)
{
    if (op->code >= FVM_OP_COUNT)
        return snprintf(what, cap, "unknown opcode %u", (unsigned)op->code), true;
    const fvm_format_info *fi = fvm_op_operands(op->code);
    for (unsigned k = 0; k < fi->count; k++) {
        uint64_t v = fvm_operand_get(op, fi->operand[k].field);
        unsigned kind = fi->operand[k].kind;
        if (v > fvm_operand_max(kind))
            return snprintf(what, cap, "operand %u is %llu, above its limit %llu", k + 1,
                            (unsigned long long)v, (unsigned long long)fvm_operand_max(kind)),
                   true;
        /* Operands that index no pool (slots, counts, flags) are checked
         * by width alone. */
        size_t limit = SIZE_MAX;
        const char *pool = NULL;
        switch (kind) {
        case FVM_K_CONST: limit = p->nconsts; pool = "constant"; break;
        case FVM_K_NAME: limit = p->nnames; pool = "name"; break;
        case FVM_K_SUB: limit = p->nsubchunks; pool = "sub-chunk"; break;
        case FVM_K_BLOCK: limit = p->nblocks; pool = "block range"; break;
        case FVM_K_TARGET:
            /* len itself is allowed: the end marker is there, and jumping
             * to it ends the run. */
            if (v > p->len)
                return snprintf(what, cap, "jump target %llu is past the end of the chunk (%zu ops)",
                                (unsigned long long)v, p->len),
                       true;
            break;
        default: break;
        }
        if (pool && v >= limit)
            return snprintf(what, cap, "%s index %llu out of range (the pool has %zu)", pool,
                            (unsigned long long)v, limit),
                   true;
    }
    return false;
}

void fvm_chunk_check_all(const fvm_chunk_parts *p, fvm_check_fn report, void *ud)
{
    char msg[256];
    if (p->len > FVM_MAX_OPS) {
        snprintf(msg, sizeof msg, "chunk has %zu ops (limit %u)", p->len, FVM_MAX_OPS);
        report(ud, SIZE_MAX, msg);
        return; /* the ops themselves are not worth walking */
    }
    if (p->nconsts > FVM_MAX_POOL || p->nnames > FVM_MAX_POOL || p->nsubchunks > FVM_MAX_POOL ||
        p->nblocks > FVM_MAX_POOL) {
        snprintf(msg, sizeof msg, "a pool holds more than %u entries", FVM_MAX_POOL);
        report(ud, SIZE_MAX, msg);
        return;
    }
    for (size_t ip = 0; ip < p->len; ip++) {
        char what[160];
        if (check_op(p, &p->ops[ip], what, sizeof what)) {
            op_problem(msg, sizeof msg, ip, p->ops[ip].code, what);
            if (!report(ud, ip, msg))
                return;
        }
    }
    /* A sub entry may also point at len (a Call there ends the run). */
    for (size_t i = 0; i < p->nsubs; i++) {
        if (p->subs[i].name >= p->nnames || p->subs[i].ip > p->len) {
            snprintf(msg, sizeof msg, "sub entry %zu: name %u or entry %u out of range", i,
                     (unsigned)p->subs[i].name, (unsigned)p->subs[i].ip);
            if (!report(ud, SIZE_MAX, msg))
                return;
        }
    }
    for (size_t i = 0; i < p->nslot_names; i++) {
        const fvm_slot_names *sn = &p->slot_names[i];
        msg[0] = 0;
        if (sn->entry_ip >= p->len)
            snprintf(msg, sizeof msg, "slot names for entry ip %u, past the last op",
                     (unsigned)sn->entry_ip);
        for (size_t j = 0; j < i && !msg[0]; j++)
            if (p->slot_names[j].entry_ip == sn->entry_ip)
                snprintf(msg, sizeof msg, "two sets of slot names for entry ip %u",
                         (unsigned)sn->entry_ip);
        if (msg[0] && !report(ud, SIZE_MAX, msg))
            return;
    }
    /* One bit per possible id finds an id declared twice in any order. */
    uint64_t seen[(UINT16_MAX + 1) / 64] = {0};
    for (size_t i = 0; i < p->nbuiltins; i++) {
        const fvm_builtin_decl *d = &p->builtins[i];
        uint64_t bit = 1ull << (d->id % 64);
        msg[0] = 0;
        if (!d->name || d->name->len == 0)
            snprintf(msg, sizeof msg, "builtin %u is declared without a name", (unsigned)d->id);
        else if (seen[d->id / 64] & bit)
            snprintf(msg, sizeof msg, "builtin %u is declared twice", (unsigned)d->id);
        seen[d->id / 64] |= bit;
        if (msg[0] && !report(ud, SIZE_MAX, msg))
            return;
    }
}

typedef struct first_problem {
    char *err;
    size_t errlen;
    bool found;
} first_problem;

static bool keep_first(void *ud, size_t ip, const char *msg)
{
    first_problem *f = ud;
    snprintf(f->err, f->errlen, "%s", msg);
    f->found = true;
    return false;
}

const char *fvm_chunk_check(const fvm_chunk_parts *p, char *err, size_t errlen)
{
    first_problem f = {err, errlen, false};
    fvm_chunk_check_all(p, keep_first, &f);
    return f.found ? err : NULL;
}

/* ------------------------------------------------------------------------
 * Assembling a chunk from parts
 * ------------------------------------------------------------------------ */

/* The one place that knows how to release a chunk's arrays and pool
 * entries (fvm_chunk_free borrows it too). The parts are zeroed after, so
 * freeing them twice is harmless. */
static void parts_free(fvm_chunk_parts *p)
{
    free(p->ops);
    free(p->lines);
    for (size_t i = 0; i < p->nconsts; i++)
        fvm_release(p->consts[i]);
    free(p->consts);
    for (size_t i = 0; i < p->nnames; i++)
        fvm_release(fvm_str_value(p->names[i]));
    free(p->names);
    free(p->subs);
    free(p->blocks);
    for (size_t i = 0; i < p->nsubchunks; i++)
        fvm_chunk_free(p->subchunks[i]);
    free(p->subchunks);
    if (p->source)
        fvm_release(fvm_str_value(p->source));
    for (size_t i = 0; i < p->nslot_names; i++) {
        for (size_t k = 0; k < p->slot_names[i].count; k++)
            fvm_release(fvm_str_value(p->slot_names[i].names[k]));
        free(p->slot_names[i].names);
    }
    free(p->slot_names);
    for (size_t i = 0; i < p->nbuiltins; i++)
        if (p->builtins[i].name)
            fvm_release(fvm_str_value(p->builtins[i].name));
    free(p->builtins);
    memset(p, 0, sizeof *p);
}

void fvm_chunk_parts_free(fvm_chunk_parts *p)
{
    parts_free(p);
}

/* Each frame's slot window is sized from this (highest slot + 1), so slot
 * ops never check bounds (docs/ARCHITECTURE.md, "Frames and slots"). Slot
 * operands are 16-bit after verification, so the int32_t cast is exact.
 * Sub-chunks are not looked at: each has its own. */
static int32_t compute_max_slot(const fvm_op *ops, size_t len)
{
    int32_t max = -1;
    for (size_t ip = 0; ip < len; ip++) {
        const fvm_format_info *fi = fvm_op_operands(ops[ip].code);
        for (unsigned k = 0; k < fi->count; k++) {
            if (fi->operand[k].kind == FVM_K_SLOT) {
                int32_t s = (int32_t)fvm_operand_get(&ops[ip], fi->operand[k].field);
                if (s > max)
                    max = s;
            }
        }
    }
    return max;
}

static int decl_order(const void *x, const void *y)
{
    const fvm_builtin_decl *a = x, *b = y;
    return (a->id > b->id) - (a->id < b->id);
}

fvm_chunk *fvm_chunk_assemble(fvm_chunk_parts *p, char *err, size_t errlen)
{
    /* Without a caller's buffer the verifier still needs one to write to. */
    char local[256];
    if (!err) {
        err = local;
        errlen = sizeof local;
    }
    /* The parts are freed on failure too, so every caller can hand them over
     * without a cleanup path of its own. Sorted declarations are what the
     * VM binds by id and what fvm_chunk_equal compares in order. */
    if (p->nbuiltins)
        qsort(p->builtins, p->nbuiltins, sizeof *p->builtins, decl_order);
    if (fvm_chunk_check(p, err, errlen)) {
        parts_free(p);
        return NULL;
    }
    fvm_chunk *c = fvm_xcalloc(1, sizeof *c);
    /* An empty chunk may come without an ops array; it still needs one cell
     * for the end marker. */
    if (!p->ops)
        p->ops = fvm_xmalloc(sizeof(fvm_op));
    /* Canonical ops (unused fields zero) are what op_hash and
     * fvm_chunk_equal compare byte for byte. */
    for (size_t ip = 0; ip < p->len; ip++)
        p->ops[ip] = fvm_op_canonical(p->ops[ip]);
    memset(&p->ops[p->len], 0, sizeof(fvm_op));
    p->ops[p->len].code = FVM_OP_END;
    c->ops = p->ops;
    /* An empty chunk may come without lines; one zeroed cell keeps
     * c->lines non-NULL for the accessors and fvm_chunk_equal. */
    c->lines = p->lines ? p->lines : fvm_xcalloc(1, sizeof(uint32_t));
    c->len = p->len;
    c->consts = p->consts;
    c->nconsts = p->nconsts;
    c->names = p->names;
    c->nnames = p->nnames;
    c->subs = p->subs;
    c->nsubs = p->nsubs;
    c->blocks = p->blocks;
    c->nblocks = p->nblocks;
    c->subchunks = p->subchunks;
    c->nsubchunks = p->nsubchunks;
    c->source = p->source ? p->source : fvm_str_from("", 0); /* never NULL */
    c->slot_names = p->slot_names;
    c->nslot_names = p->nslot_names;
    c->builtins = p->builtins;
    c->nbuiltins = p->nbuiltins;
    /* The superinstruction copy takes the end marker from ops[len], so it is
     * built after the marker is in place. */
    c->op_hash = chunk_hash(c->ops, c->len, c->consts, c->nconsts);
    c->max_slot = compute_max_slot(c->ops, c->len);
    c->exec = fvm_superops_build(c->ops, c->len);
    c->sub_ip = fvm_xmalloc((c->nnames ? c->nnames : 1) * sizeof(uint32_t));
    for (size_t i = 0; i < c->nnames; i++)
        c->sub_ip[i] = UINT32_MAX;
    /* Walking backwards lets earlier entries overwrite later ones, so the
     * first entry for a name wins (fusevm.h) and Call finds it in O(1). */
    for (size_t i = c->nsubs; i-- > 0;)
        c->sub_ip[c->subs[i].name] = c->subs[i].ip;
    memset(p, 0, sizeof *p); /* the chunk owns the arrays now */
    return c;
}

/* A chunk's arrays are the parts it was assembled from: put them back into
 * a parts struct so parts_free stays the one place that releases them. Only
 * the derived arrays (exec, sub_ip) are freed here. */
void fvm_chunk_free(fvm_chunk *c)
{
    if (!c)
        return;
    fvm_chunk_parts p = {
        c->ops, c->lines, c->len, c->consts, c->nconsts, c->names, c->nnames, c->subs, c->nsubs,
        c->blocks, c->nblocks, c->subchunks, c->nsubchunks, c->source, c->slot_names, c->nslot_names,
        c->builtins, c->nbuiltins,
    };
    parts_free(&p);
    free(c->exec);
    free(c->sub_ip);
    free(c);
}

/* ------------------------------------------------------------------------
 * The builder
 * ------------------------------------------------------------------------ */

/* The builder fills a fvm_chunk_parts and hands it to fvm_chunk_assemble,
 * like every loader. Problems are collected, not thrown: each error and
 * warning keeps the source line of the op it concerns, fvm_build fails if
 * there is any error, and a frontend can print them all at once. */
typedef struct diag {
    char *text; /* "line L: message", or the message when there is no line */
    uint32_t line;
} diag;

typedef struct diag_list {
    diag *items;
    size_t n, cap;
} diag_list;

/* Past this many errors the rest say nothing new (a frontend that emits a
 * million bad ops gets the first ones and a count). */
#define MAX_DIAGS 1000u

/* A jump emitted towards a label, resolved when the chunk is built. */
typedef struct label_use {
    size_t op;
    uint32_t label;
} label_use;

#define LABEL_UNBOUND UINT32_MAX

struct fvm_builder {
    fvm_chunk_parts p;
    /* The parts carry lengths only; their capacities live here. */
    size_t ops_cap, lines_cap, consts_cap, names_cap, subs_cap, blocks_cap, subchunks_cap,
        slot_names_cap, builtins_cap;
    /* Hash: name -> Int index, so fvm_add_name finds a known name without
     * scanning the pool. */
    fvm_value intern;
    uint32_t *labels; /* each label's op index, or LABEL_UNBOUND */
    size_t nlabels, labels_cap;
    label_use *uses;
    size_t nuses, uses_cap;
    diag_list errors, warnings;
    size_t dropped_errors; /* past MAX_DIAGS */
    /* The last fvm_build's problems stay readable until the next chunk
     * starts (the first call that adds to it). */
    bool built;
};

fvm_builder *fvm_builder_new(void)
{
    fvm_builder *b = fvm_xcalloc(1, sizeof *b);
    b->intern = fvm_hash_new();
    return b;
}

static void diags_clear(diag_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].text);
    l->n = 0;
}

static void diag_add(diag_list *l, uint32_t line, bool has_line, const char *msg)
{
    fvm_buf t = {0};
    if (has_line)
        fvm_buf_printf(&t, "line %u: ", (unsigned)line);
    fvm_buf_puts(&t, msg);
    fvm_buf_putc(&t, 0);
    void *p = l->items;
    fvm_grow(&p, &l->cap, l->n + 1, sizeof(diag));
    l->items = p;
    l->items[l->n++] = (diag){t.data, has_line ? line : 0};
}

/* The chunk in progress, its labels and its problems all go; the intern
 * table is renewed with the name pool it indexes. */
static void builder_clear(fvm_builder *b)
{
    parts_free(&b->p);
    b->ops_cap = b->lines_cap = b->consts_cap = b->names_cap = 0;
    b->subs_cap = b->blocks_cap = b->subchunks_cap = b->slot_names_cap = b->builtins_cap = 0;
    fvm_release(b->intern);
    b->intern = fvm_hash_new();
    b->nlabels = b->nuses = 0;
    diags_clear(&b->errors);
    diags_clear(&b->warnings);
    b->dropped_errors = 0;
    b->built = false;
}

void fvm_builder_reset(fvm_builder *b)
{
    builder_clear(b);
}

/* Every call that adds to the chunk starts here: after a build, the first
 * one begins the next chunk and forgets the last build's problems. */
static void builder_touch(fvm_builder *b)
{
    if (b->built) {
        diags_clear(&b->errors);
        diags_clear(&b->warnings);
        b->dropped_errors = 0;
        b->built = false;
    }
}

void fvm_builder_free(fvm_builder *b)
{
    if (!b)
        return;
    builder_clear(b);
    fvm_release(b->intern);
    free(b->errors.items);
    free(b->warnings.items);
    free(b->labels);
    free(b->uses);
    free(b);
}

static void builder_fail(fvm_builder *b, uint32_t line, bool has_line, const char *msg)
{
    if (b->errors.n >= MAX_DIAGS) {
        b->dropped_errors++;
        return;
    }
    diag_add(&b->errors, line, has_line, msg);
}

/* The line of op ip, which fvm_emit recorded. */
static void builder_fail_at(fvm_builder *b, size_t ip, const char *msg)
{
    bool known = ip < b->p.len;
    builder_fail(b, known ? b->p.lines[ip] : 0, known, msg);
}

const char *fvm_builder_error(const fvm_builder *b)
{
    return b->errors.n ? b->errors.items[0].text : NULL;
}

size_t fvm_builder_error_count(const fvm_builder *b) { return b->errors.n + b->dropped_errors; }

const char *fvm_builder_error_at(const fvm_builder *b, size_t i, uint32_t *line)
{
    if (i >= b->errors.n)
        return NULL;
    if (line)
        *line = b->errors.items[i].line;
    return b->errors.items[i].text;
}

size_t fvm_builder_warning_count(const fvm_builder *b) { return b->warnings.n; }

const char *fvm_builder_warning_at(const fvm_builder *b, size_t i, uint32_t *line)
{
    if (i >= b->warnings.n)
        return NULL;
    if (line)
        *line = b->warnings.items[i].line;
    return b->warnings.items[i].text;
}

/* Past FVM_MAX_OPS the op is not appended and the builder fails, so
 * fvm_build returns NULL: callers need not test every emit. */
size_t fvm_emit(fvm_builder *b, fvm_op op, uint32_t line)
{
    builder_touch(b);
    size_t idx = b->p.len;
    if (idx >= FVM_MAX_OPS) {
        builder_fail(b, line, true, "too many ops");
        return idx;
    }
    void *ops = b->p.ops, *lines = b->p.lines;
    fvm_grow(&ops, &b->ops_cap, idx + 2, sizeof(fvm_op)); /* +1 for the end marker */
    fvm_grow(&lines, &b->lines_cap, idx + 1, sizeof(uint32_t));
    b->p.ops = ops;
    b->p.lines = lines;
    b->p.ops[idx] = op;
    b->p.lines[idx] = line;
    b->p.len++;
    return idx;
}

size_t fvm_current_pos(const fvm_builder *b)
{
    return b->p.len;
}

/* Only the five jump ops may be patched or aimed at a label; refusing any
 * other op keeps a wrong index from overwriting another op's operands. The
 * fused loop branches come from the superinstruction pass, not from a
 * frontend's patching. */
static bool is_jump(unsigned code)
{
    return code == FVM_OP_JUMP || code == FVM_OP_JUMP_IF_TRUE || code == FVM_OP_JUMP_IF_FALSE ||
           code == FVM_OP_JUMP_IF_TRUE_KEEP || code == FVM_OP_JUMP_IF_FALSE_KEEP;
}

/* The target is only checked against FVM_MAX_OPS: a forward jump may be
 * patched before its target is emitted, and the verifier checks it against
 * the final length. */
int fvm_patch_jump(fvm_builder *b, size_t op_idx, size_t target)
{
    builder_touch(b);
    char msg[96];
    if (op_idx >= b->p.len) {
        snprintf(msg, sizeof msg, "patch_jump on non-jump op at %zu (no such op)", op_idx);
        builder_fail(b, 0, false, msg);
        return -1;
    }
    if (!is_jump(b->p.ops[op_idx].code)) {
        snprintf(msg, sizeof msg, "patch_jump on non-jump op at %zu", op_idx);
        builder_fail_at(b, op_idx, msg);
        return -1;
    }
    if (target > FVM_MAX_OPS) {
        builder_fail_at(b, op_idx, "patch_jump target out of range");
        return -1;
    }
    b->p.ops[op_idx].u.j.target = (uint32_t)target;
    return 0;
}

fvm_label fvm_label_new(fvm_builder *b)
{
    builder_touch(b);
    void *p = b->labels;
    fvm_grow(&p, &b->labels_cap, b->nlabels + 1, sizeof(uint32_t));
    b->labels = p;
    b->labels[b->nlabels] = LABEL_UNBOUND;
    return (fvm_label){(uint32_t)b->nlabels++};
}

int fvm_label_bind(fvm_builder *b, fvm_label l)
{
    builder_touch(b);
    char msg[64];
    if (l.id >= b->nlabels) {
        snprintf(msg, sizeof msg, "label %u does not exist", (unsigned)l.id);
        builder_fail(b, 0, false, msg);
        return -1;
    }
    if (b->labels[l.id] != LABEL_UNBOUND) {
        snprintf(msg, sizeof msg, "label %u is bound twice (at op %u and op %zu)", (unsigned)l.id,
                 (unsigned)b->labels[l.id], b->p.len);
        builder_fail(b, 0, false, msg);
        return -1;
    }
    b->labels[l.id] = (uint32_t)b->p.len;
    return 0;
}

size_t fvm_emit_jump(fvm_builder *b, fvm_op op, fvm_label target, uint32_t line)
{
    size_t idx = fvm_emit(b, op, line);
    if (idx >= b->p.len)
        return idx; /* not appended: too many ops */
    char msg[96];
    if (!is_jump(op.code)) {
        snprintf(msg, sizeof msg, "op %zu (%s) has no jump target to aim at a label", idx,
                 op.code < FVM_OP_COUNT ? fvm_opinfo_table[op.code].name : "unknown");
        builder_fail_at(b, idx, msg);
    } else if (target.id >= b->nlabels) {
        snprintf(msg, sizeof msg, "op %zu: label %u does not exist", idx, (unsigned)target.id);
        builder_fail_at(b, idx, msg);
    } else {
        void *p = b->uses;
        fvm_grow(&p, &b->uses_cap, b->nuses + 1, sizeof(label_use));
        b->uses = p;
        b->uses[b->nuses++] = (label_use){idx, target.id};
    }
    return idx;
}

/* Each jump aimed at a label gets the label's position; a label never
 * bound is an error at the line of each jump to it. */
static void resolve_labels(fvm_builder *b)
{
    for (size_t i = 0; i < b->nuses; i++) {
        uint32_t pos = b->labels[b->uses[i].label];
        if (pos == LABEL_UNBOUND) {
            char msg[96];
            snprintf(msg, sizeof msg, "op %zu jumps to label %u, which is never bound", b->uses[i].op,
                     (unsigned)b->uses[i].label);
            builder_fail_at(b, b->uses[i].op, msg);
        } else {
            b->p.ops[b->uses[i].op].u.j.target = pos;
        }
    }
}

/* A full pool reports -1 without failing the builder: the caller decides.
 * v is owned either way, so it is released when it cannot be stored. */
int32_t fvm_add_constant(fvm_builder *b, fvm_value v)
{
    builder_touch(b);
    if (b->p.nconsts >= FVM_MAX_POOL) {
        fvm_release(v);
        return -1;
    }
    void *p = b->p.consts;
    fvm_grow(&p, &b->consts_cap, b->p.nconsts + 1, sizeof(fvm_value));
    b->p.consts = p;
    b->p.consts[b->p.nconsts] = v;
    return (int32_t)b->p.nconsts++;
}

/* Names are interned: an equal name gets its existing index, so a full
 * pool refuses only new names. The intern table keys by its own copy of the
 * string (fvm_hash_put takes a key reference). */
int32_t fvm_add_name(fvm_builder *b, const char *name, size_t len)
{
    builder_touch(b);
    fvm_value *known = fvm_hash_find(b->intern.as.h, name, len);
    if (known)
        return (int32_t)known->as.i;
    if (b->p.nnames >= FVM_MAX_POOL)
        return -1;
    void *p = b->p.names;
    fvm_grow(&p, &b->names_cap, b->p.nnames + 1, sizeof(fvm_string *));
    b->p.names = p;
    b->p.names[b->p.nnames] = fvm_str_from(name, len);
    fvm_hash_put(b->intern.as.h, fvm_str_from(name, len), fvm_int((int64_t)b->p.nnames));
    return (int32_t)b->p.nnames++;
}

/* Like a jump target, the entry is checked against the final length by the
 * verifier; here only against FVM_MAX_OPS, as it may lie ahead. */
int fvm_add_sub_entry(fvm_builder *b, uint16_t name_idx, size_t entry_ip)
{
    builder_touch(b);
    if (entry_ip > FVM_MAX_OPS) {
        builder_fail(b, 0, false, "sub entry ip out of range");
        return -1;
    }
    void *p = b->p.subs;
    fvm_grow(&p, &b->subs_cap, b->p.nsubs + 1, sizeof(fvm_sub_entry));
    b->p.subs = p;
    b->p.subs[b->p.nsubs++] = (fvm_sub_entry){name_idx, (uint32_t)entry_ip};
    return 0;
}

int fvm_set_sub_slot_names(fvm_builder *b, size_t entry_ip, const char *const *names, size_t count)
{
    builder_touch(b);
    if (entry_ip > FVM_MAX_OPS || count > FVM_MAX_POOL) {
        builder_fail(b, 0, false, "slot names: entry ip or count out of range");
        return -1;
    }
    fvm_slot_names *sn = NULL;
    for (size_t i = 0; i < b->p.nslot_names && !sn; i++)
        if (b->p.slot_names[i].entry_ip == entry_ip)
            sn = &b->p.slot_names[i];
    if (sn) { /* a later call replaces the names */
        for (size_t k = 0; k < sn->count; k++)
            fvm_release(fvm_str_value(sn->names[k]));
        free(sn->names);
    } else {
        void *p = b->p.slot_names;
        fvm_grow(&p, &b->slot_names_cap, b->p.nslot_names + 1, sizeof(fvm_slot_names));
        b->p.slot_names = p;
        sn = &b->p.slot_names[b->p.nslot_names++];
    }
    sn->entry_ip = (uint32_t)entry_ip;
    sn->count = (uint32_t)count;
    sn->names = fvm_xmalloc((count ? count : 1) * sizeof(fvm_string *));
    for (size_t k = 0; k < count; k++)
        sn->names[k] = fvm_str_from(names[k], strlen(names[k]));
    return 0;
}

int32_t fvm_add_block_range(fvm_builder *b, size_t start, size_t end)
{
    builder_touch(b);
    if (b->p.nblocks >= FVM_MAX_POOL)
        return -1;
    void *p = b->p.blocks;
    fvm_grow(&p, &b->blocks_cap, b->p.nblocks + 1, sizeof(fvm_block_range));
    b->p.blocks = p;
    b->p.blocks[b->p.nblocks] = (fvm_block_range){start, end};
    return (int32_t)b->p.nblocks++;
}

/* Takes ownership even when it fails (sub is freed), so a caller never
 * leaks it; a NULL sub, a nested build that failed, gives -1. */
int32_t fvm_add_sub_chunk(fvm_builder *b, fvm_chunk *sub)
{
    builder_touch(b);
    if (!sub)
        return -1;
    if (b->p.nsubchunks >= FVM_MAX_POOL) {
        fvm_chunk_free(sub);
        return -1;
    }
    void *p = b->p.subchunks;
    fvm_grow(&p, &b->subchunks_cap, b->p.nsubchunks + 1, sizeof(fvm_chunk *));
    b->p.subchunks = p;
    b->p.subchunks[b->p.nsubchunks] = sub;
    return (int32_t)b->p.nsubchunks++;
}

/* A repeated declaration of the same id and name is harmless; another name
 * for a declared id is an error (the verifier would refuse the pair). */
int fvm_declare_builtin(fvm_builder *b, uint16_t id, const char *name, size_t len)
{
    builder_touch(b);
    char msg[128];
    if (!name || len == 0) {
        snprintf(msg, sizeof msg, "builtin %u is declared without a name", (unsigned)id);
        builder_fail(b, 0, false, msg);
        return -1;
    }
    for (size_t i = 0; i < b->p.nbuiltins; i++) {
        const fvm_string *known = b->p.builtins[i].name;
        if (b->p.builtins[i].id != id)
            continue;
        if (known->len == len && memcmp(known->data, name, len) == 0)
            return 0;
        snprintf(msg, sizeof msg, "builtin %u is declared twice", (unsigned)id);
        builder_fail(b, 0, false, msg);
        return -1;
    }
    void *p = b->p.builtins;
    fvm_grow(&p, &b->builtins_cap, b->p.nbuiltins + 1, sizeof(fvm_builtin_decl));
    b->p.builtins = p;
    b->p.builtins[b->p.nbuiltins++] = (fvm_builtin_decl){id, fvm_str_from(name, len)};
    return 0;
}

void fvm_set_source(fvm_builder *b, const char *name, size_t len)
{
    builder_touch(b);
    if (b->p.source)
        fvm_release(fvm_str_value(b->p.source));
    b->p.source = fvm_str_from(name, len);
}

static bool collect_problem(void *ud, size_t ip, const char *msg)
{
    fvm_builder *b = ud;
    builder_fail_at(b, ip, msg);
    return b->errors.n < MAX_DIAGS;
}

static void warn_unresolved(void *ud, const fvm_chunk *c, size_t ip, const char *name)
{
    fvm_builder *b = ud;
    if (c != NULL && b->warnings.n < MAX_DIAGS) {
        char msg[160];
        snprintf(msg, sizeof msg, "op %zu (Call): no sub entry for '%.100s'", ip, name);
        diag_add(&b->warnings, c->lines[ip], true, msg);
    }
}

/* The verifier runs here over every op to collect each problem with its
 * line, then again inside fvm_chunk_assemble, which every loader shares: a
 * linear pass, cheap beside the rest of a build. */
fvm_chunk *fvm_build(fvm_builder *b)
{
    builder_touch(b);
    resolve_labels(b);
    fvm_chunk_check_all(&b->p, collect_problem, b);
    fvm_chunk *c = NULL;
    if (!b->errors.n && !b->dropped_errors) {
        if (!b->p.ops) { /* nothing emitted: room for the end marker alone */
            b->p.ops = fvm_xmalloc(sizeof(fvm_op));
            b->ops_cap = 1;
        }
        char err[256];
        c = fvm_chunk_assemble(&b->p, err, sizeof err);
        if (!c)
            builder_fail(b, 0, false, err);
    }
    /* The chunk in progress is gone either way; its problems stay. */
    diag_list errors = b->errors, warnings = b->warnings;
    size_t dropped = b->dropped_errors;
    b->errors = b->warnings = (diag_list){0};
    builder_clear(b);
    b->errors = errors;
    b->warnings = warnings;
    b->dropped_errors = dropped;
    if (c)
        fvm_chunk_unresolved_calls(c, false, warn_unresolved, b);
    b->built = true;
    return c;
}

/* ------------------------------------------------------------------------
 * Calls without a sub entry
 * ------------------------------------------------------------------------ */

static size_t unresolved_in(const fvm_chunk *c, bool nested, fvm_unresolved_fn fn, void *ud)
{
    size_t n = 0;
    for (size_t ip = 0; ip < c->len; ip++) {
        if (c->ops[ip].code == FVM_OP_CALL && c->sub_ip[c->ops[ip].a] == UINT32_MAX) {
            n++;
            if (fn)
                fn(ud, c, ip, c->names[c->ops[ip].a]->data);
        }
    }
    for (size_t i = 0; nested && i < c->nsubchunks; i++)
        n += unresolved_in(c->subchunks[i], true, fn, ud);
    return n;
}

size_t fvm_chunk_unresolved_calls(const fvm_chunk *c, bool nested, fvm_unresolved_fn fn, void *ud)
{
    return c ? unresolved_in(c, nested, fn, ud) : 0;
}

/* ------------------------------------------------------------------------
 * Accessors
 *
 * Embedders call these with indices of their own, so an index past the end
 * gives 0, -1, NULL or Undef instead of reading outside an array.
 * ------------------------------------------------------------------------ */

uint64_t fvm_chunk_op_hash(const fvm_chunk *c) { return c->op_hash; }
size_t fvm_chunk_len(const fvm_chunk *c) { return c->len; }
const fvm_op *fvm_chunk_ops(const fvm_chunk *c) { return c->ops; }
uint32_t fvm_chunk_line(const fvm_chunk *c, size_t ip) { return ip < c->len ? c->lines[ip] : 0; }
size_t fvm_chunk_constant_count(const fvm_chunk *c) { return c->nconsts; }
fvm_value fvm_chunk_constant(const fvm_chunk *c, size_t i)
{
    return i < c->nconsts ? c->consts[i] : fvm_undef();
}
size_t fvm_chunk_name_count(const fvm_chunk *c) { return c->nnames; }
const char *fvm_chunk_name(const fvm_chunk *c, size_t i, size_t *len)
{
    if (i >= c->nnames) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = c->names[i]->len;
    return c->names[i]->data;
}
size_t fvm_chunk_sub_entry_count(const fvm_chunk *c) { return c->nsubs; }
void fvm_chunk_sub_entry(const fvm_chunk *c, size_t i, uint16_t *name_idx, size_t *entry_ip)
{
    *name_idx = i < c->nsubs ? c->subs[i].name : 0;
    *entry_ip = i < c->nsubs ? c->subs[i].ip : 0;
}
const fvm_slot_names *fvm_chunk_slot_names_at(const fvm_chunk *c, size_t entry_ip)
{
    for (size_t i = 0; i < c->nslot_names; i++)
        if (c->slot_names[i].entry_ip == entry_ip)
            return &c->slot_names[i];
    return NULL;
}

size_t fvm_chunk_slot_name_count(const fvm_chunk *c, size_t entry_ip)
{
    const fvm_slot_names *sn = fvm_chunk_slot_names_at(c, entry_ip);
    return sn ? sn->count : 0;
}

const char *fvm_chunk_slot_name(const fvm_chunk *c, size_t entry_ip, size_t slot)
{
    const fvm_slot_names *sn = fvm_chunk_slot_names_at(c, entry_ip);
    return sn && slot < sn->count ? sn->names[slot]->data : NULL;
}

size_t fvm_chunk_block_range_count(const fvm_chunk *c) { return c->nblocks; }
void fvm_chunk_block_range(const fvm_chunk *c, size_t i, size_t *start, size_t *end)
{
    *start = i < c->nblocks ? (size_t)c->blocks[i].start : 0;
    *end = i < c->nblocks ? (size_t)c->blocks[i].end : 0;
}
size_t fvm_chunk_sub_chunk_count(const fvm_chunk *c) { return c->nsubchunks; }
const fvm_chunk *fvm_chunk_sub_chunk(const fvm_chunk *c, size_t i)
{
    return i < c->nsubchunks ? c->subchunks[i] : NULL;
}
const char *fvm_chunk_source(const fvm_chunk *c, size_t *len)
{
    if (len)
        *len = c->source->len;
    return c->source->data;
}
int64_t fvm_chunk_find_sub(const fvm_chunk *c, uint16_t name_idx)
{
    if (name_idx >= c->nnames || c->sub_ip[name_idx] == UINT32_MAX)
        return -1;
    return c->sub_ip[name_idx];
}
int32_t fvm_chunk_find_name(const fvm_chunk *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->nnames; i++)
        if (c->names[i]->len == len && memcmp(c->names[i]->data, name, len) == 0)
            return (int32_t)i;
    return -1;
}
int32_t fvm_chunk_max_slot(const fvm_chunk *c) { return c->max_slot; }

size_t fvm_chunk_builtin_count(const fvm_chunk *c) { return c->nbuiltins; }
const char *fvm_chunk_builtin(const fvm_chunk *c, size_t i, uint16_t *id)
{
    if (i >= c->nbuiltins)
        return NULL;
    if (id)
        *id = c->builtins[i].id;
    return c->builtins[i].name->data;
}

static bool value_identical(fvm_value a, fvm_value b)
{
    /* Like fvm_value_equal but floats by bit pattern at every depth, so NaN
     * constants and -0.0 compare as the same constant. This is what a round
     * trip through a file format must preserve, and it agrees with
     * fvm_value_hash: identical constants hash alike. */
    if (a.type == FVM_T_FLOAT && b.type == FVM_T_FLOAT)
        return memcmp(&a.as.f, &b.as.f, 8) == 0;
    if (a.type != b.type)
        return false;
    if (a.type == FVM_T_ARRAY) {
        if (a.as.a->len != b.as.a->len)
            return false;
        for (size_t i = 0; i < a.as.a->len; i++)
            if (!value_identical(a.as.a->items[i], b.as.a->items[i]))
                return false;
        return true;
    }
    if (a.type == FVM_T_REF)
        return value_identical(a.as.r->val, b.as.r->val);
    if (a.type == FVM_T_HASH) {
        if (a.as.h->count != b.as.h->count)
            return false;
        for (size_t i = 0; i < a.as.h->used; i++) {
            const fvm_hash_slot *e = &a.as.h->entries[i];
            const fvm_value *o = e->key ? fvm_hash_find(b.as.h, e->key->data, e->key->len) : NULL;
            if (e->key && (!o || !value_identical(e->val, *o)))
                return false;
        }
        return true;
    }
    return fvm_value_equal(a, b);
}

/* Counts and op_hash first: op_hash covers ops and constants, so most
 * unequal chunks differ there without a walk over the arrays. Ops compare
 * with memcmp because they are canonical. */
bool fvm_chunk_equal(const fvm_chunk *a, const fvm_chunk *b)
{
    if (a->len != b->len || a->nconsts != b->nconsts || a->nnames != b->nnames ||
        a->nsubs != b->nsubs || a->nblocks != b->nblocks || a->nsubchunks != b->nsubchunks ||
        a->op_hash != b->op_hash || !fvm_str_eq(a->source, b->source) ||
        a->nbuiltins != b->nbuiltins)
        return false;
    for (size_t i = 0; i < a->nbuiltins; i++)
        if (a->builtins[i].id != b->builtins[i].id ||
            !fvm_str_eq(a->builtins[i].name, b->builtins[i].name))
            return false;
    if (memcmp(a->ops, b->ops, a->len * sizeof(fvm_op)) ||
        memcmp(a->lines, b->lines, a->len * sizeof(uint32_t)) ||
        (a->nblocks && memcmp(a->blocks, b->blocks, a->nblocks * sizeof(fvm_block_range))))
        return false;
    for (size_t i = 0; i < a->nsubs; i++) /* field by field: the struct has padding */
        if (a->subs[i].name != b->subs[i].name || a->subs[i].ip != b->subs[i].ip)
            return false;
    for (size_t i = 0; i < a->nconsts; i++)
        if (!value_identical(a->consts[i], b->consts[i]))
            return false;
    for (size_t i = 0; i < a->nnames; i++)
        if (!fvm_str_eq(a->names[i], b->names[i]))
            return false;
    for (size_t i = 0; i < a->nsubchunks; i++)
        if (!fvm_chunk_equal(a->subchunks[i], b->subchunks[i]))
            return false;
    if (a->nslot_names != b->nslot_names)
        return false;
    for (size_t i = 0; i < a->nslot_names; i++) {
        const fvm_slot_names *x = &a->slot_names[i], *y = &b->slot_names[i];
        if (x->entry_ip != y->entry_ip || x->count != y->count)
            return false;
        for (size_t k = 0; k < x->count; k++)
            if (!fvm_str_eq(x->names[k], y->names[k]))
                return false;
    }
    return true;
}
