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
 * inside its pool, every jump target and sub entry is at most len. The first
 * problem found is the one reported.
 * ------------------------------------------------------------------------ */

/* "op N (Name): problem"; an unknown opcode has no name to give. */
static const char *op_error(char *err, size_t errlen, size_t ip, unsigned code, const char *what)
{
    if (code < FVM_OP_COUNT)
        snprintf(err, errlen, "op %zu (%s): %s", ip, fvm_opinfo_table[code].name, what);
    else
        snprintf(err, errlen, "op %zu: %s", ip, what);
    return err;
}

const char *fvm_chunk_check(const fvm_chunk_parts *p, char *err, size_t errlen)
{
    if (p->len > FVM_MAX_OPS)
        return snprintf(err, errlen, "chunk has %zu ops (limit %u)", p->len, FVM_MAX_OPS), err;
    if (p->nconsts > FVM_MAX_POOL || p->nnames > FVM_MAX_POOL || p->nsubchunks > FVM_MAX_POOL ||
        p->nblocks > FVM_MAX_POOL)
        return snprintf(err, errlen, "a pool holds more than %u entries", FVM_MAX_POOL), err;
    for (size_t ip = 0; ip < p->len; ip++) {
        const fvm_op *op = &p->ops[ip];
        char what[160];
        if (op->code >= FVM_OP_COUNT) {
            snprintf(what, sizeof what, "unknown opcode %u", (unsigned)op->code);
            return op_error(err, errlen, ip, op->code, what);
        }
        const fvm_format_info *fi = fvm_op_operands(op->code);
        for (unsigned k = 0; k < fi->count; k++) {
            uint64_t v = fvm_operand_get(op, fi->operand[k].field);
            unsigned kind = fi->operand[k].kind;
            if (v > fvm_operand_max(kind)) {
                snprintf(what, sizeof what, "operand %u is %llu, above its limit %llu", k + 1,
                         (unsigned long long)v, (unsigned long long)fvm_operand_max(kind));
                return op_error(err, errlen, ip, op->code, what);
            }
            /* Operands that index no pool (slots, counts, flags) are
             * checked by width alone. */
            size_t limit = SIZE_MAX;
            const char *pool = NULL;
            switch (kind) {
            case FVM_K_CONST: limit = p->nconsts; pool = "constant"; break;
            case FVM_K_NAME: limit = p->nnames; pool = "name"; break;
            case FVM_K_SUB: limit = p->nsubchunks; pool = "sub-chunk"; break;
            case FVM_K_BLOCK: limit = p->nblocks; pool = "block range"; break;
            case FVM_K_TARGET:
                /* len itself is allowed: the end marker is there, and
                 * jumping to it ends the run. */
                if (v > p->len) {
                    snprintf(what, sizeof what, "jump target %llu is past the end of the chunk (%zu ops)",
                             (unsigned long long)v, p->len);
                    return op_error(err, errlen, ip, op->code, what);
                }
                break;
            default: break;
            }
            if (pool && v >= limit) {
                snprintf(what, sizeof what, "%s index %llu out of range (the pool has %zu)", pool,
                         (unsigned long long)v, limit);
                return op_error(err, errlen, ip, op->code, what);
            }
        }
    }
    /* A sub entry may also point at len (a Call there ends the run). */
    for (size_t i = 0; i < p->nsubs; i++) {
        if (p->subs[i].name >= p->nnames || p->subs[i].ip > p->len)
            return snprintf(err, errlen, "sub entry %zu: name %u or entry %u out of range", i,
                            (unsigned)p->subs[i].name, (unsigned)p->subs[i].ip),
                   err;
    }
    for (size_t i = 0; i < p->nslot_names; i++) {
        const fvm_slot_names *sn = &p->slot_names[i];
        if (sn->entry_ip >= p->len)
            return snprintf(err, errlen, "slot names for entry ip %u, past the last op",
                            (unsigned)sn->entry_ip), err;
        for (size_t j = 0; j < i; j++)
            if (p->slot_names[j].entry_ip == sn->entry_ip)
                return snprintf(err, errlen, "two sets of slot names for entry ip %u",
                                (unsigned)sn->entry_ip), err;
    }
    return NULL;
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

fvm_chunk *fvm_chunk_assemble(fvm_chunk_parts *p, char *err, size_t errlen)
{
    /* Without a caller's buffer the verifier still needs one to write to. */
    char local[256];
    if (!err) {
        err = local;
        errlen = sizeof local;
    }
    /* The parts are freed on failure too, so every caller can hand them over
     * without a cleanup path of its own. */
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
 * like every loader. It refuses only what it cannot store (too many ops, a
 * patch of an op that is not a jump, a full pool) and leaves the operands to
 * the verifier. */
struct fvm_builder {
    fvm_chunk_parts p;
    /* The parts carry lengths only; their capacities live here. */
    size_t ops_cap, lines_cap, consts_cap, names_cap, subs_cap, blocks_cap, subchunks_cap,
        slot_names_cap;
    /* Hash: name -> Int index, so fvm_add_name finds a known name without
     * scanning the pool. */
    fvm_value intern;
    char error[256];
    bool failed;
};

fvm_builder *fvm_builder_new(void)
{
    fvm_builder *b = fvm_xcalloc(1, sizeof *b);
    b->intern = fvm_hash_new();
    return b;
}

/* Ready for the next chunk. After fvm_chunk_assemble the parts are empty
 * (owned by the chunk, or freed with a failure); parts_free only makes the
 * clear safe on its own. */
static void builder_clear(fvm_builder *b)
{
    parts_free(&b->p);
    b->ops_cap = b->lines_cap = b->consts_cap = b->names_cap = 0;
    b->subs_cap = b->blocks_cap = b->subchunks_cap = b->slot_names_cap = 0;
    fvm_release(b->intern);
    b->intern = fvm_hash_new();
    b->failed = false;
    b->error[0] = 0;
}

void fvm_builder_free(fvm_builder *b)
{
    if (!b)
        return;
    parts_free(&b->p);
    fvm_release(b->intern);
    free(b);
}

/* The first error is kept and later ones dropped, so fvm_builder_error
 * names where things first went wrong. */
static void builder_fail(fvm_builder *b, const char *msg)
{
    if (!b->failed) {
        snprintf(b->error, sizeof b->error, "%s", msg);
        b->failed = true;
    }
}

const char *fvm_builder_error(const fvm_builder *b)
{
    return b->failed ? b->error : NULL;
}

/* Past FVM_MAX_OPS the op is not appended and the builder fails, so
 * fvm_build returns NULL: callers need not test every emit. */
size_t fvm_emit(fvm_builder *b, fvm_op op, uint32_t line)
{
    size_t idx = b->p.len;
    if (idx >= FVM_MAX_OPS) {
        builder_fail(b, "too many ops");
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

/* Only the five jump ops have a target; refusing any other op keeps a wrong
 * index from overwriting another op's operands. The target is only checked
 * against FVM_MAX_OPS: a forward jump may be patched before its target is
 * emitted, and the verifier checks it against the final length. */
int fvm_patch_jump(fvm_builder *b, size_t op_idx, size_t target)
{
    char msg[96];
    if (op_idx >= b->p.len) {
        snprintf(msg, sizeof msg, "patch_jump on non-jump op at %zu (no such op)", op_idx);
        builder_fail(b, msg);
        return -1;
    }
    unsigned code = b->p.ops[op_idx].code;
    if (code != FVM_OP_JUMP && code != FVM_OP_JUMP_IF_TRUE && code != FVM_OP_JUMP_IF_FALSE &&
        code != FVM_OP_JUMP_IF_TRUE_KEEP && code != FVM_OP_JUMP_IF_FALSE_KEEP) {
        snprintf(msg, sizeof msg, "patch_jump on non-jump op at %zu", op_idx);
        builder_fail(b, msg);
        return -1;
    }
    if (target > FVM_MAX_OPS) {
        builder_fail(b, "patch_jump target out of range");
        return -1;
    }
    b->p.ops[op_idx].u.j.target = (uint32_t)target;
    return 0;
}

/* A full pool reports -1 without failing the builder: the caller decides.
 * v is owned either way, so it is released when it cannot be stored. */
int32_t fvm_add_constant(fvm_builder *b, fvm_value v)
{
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
    if (entry_ip > FVM_MAX_OPS) {
        builder_fail(b, "sub entry ip out of range");
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
    if (entry_ip > FVM_MAX_OPS || count > FVM_MAX_POOL) {
        builder_fail(b, "slot names: entry ip or count out of range");
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

void fvm_set_source(fvm_builder *b, const char *name, size_t len)
{
    if (b->p.source)
        fvm_release(fvm_str_value(b->p.source));
    b->p.source = fvm_str_from(name, len);
}

fvm_chunk *fvm_build(fvm_builder *b)
{
    if (b->failed)
        return NULL;
    if (!b->p.ops) { /* nothing emitted: room for the end marker alone */
        b->p.ops = fvm_xmalloc(sizeof(fvm_op));
        b->ops_cap = 1;
    }
    char err[256];
    fvm_chunk *c = fvm_chunk_assemble(&b->p, err, sizeof err);
    /* Success or not, the parts are gone; the failure is recorded after the
     * clear so fvm_builder_error still reports it. */
    builder_clear(b);
    if (!c)
        builder_fail(b, err);
    return c;
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
        a->op_hash != b->op_hash || !fvm_str_eq(a->source, b->source))
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
