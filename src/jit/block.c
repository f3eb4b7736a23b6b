/* The block tier (see block.h).
 *
 * Compilation is an abstract interpretation of the chunk over static
 * types. Basic blocks start at ip 0, at every jump target and after every
 * jump. A block is compiled once per distinct entry state it is reached
 * with (the operand stack's depth and types and each used slot's type:
 * basic block versioning), so a loop whose counter starts Undef or whose
 * sum starts as an Int and becomes a Float gets one version of its header
 * per type and never needs a run-time type test. Up to MAX_VERSIONS per
 * block; past that the compile declines. The versions and their entry
 * states (with which slots may have been written) are found by running
 * the blocks in order until nothing changes; the last run emits the IR.
 *
 * Values cross blocks through IR variables: one per used slot and class
 * (integer or float) and one per stack depth and class. The IR's entry
 * block loads the slots the code reads from the io array; the end block
 * (ip == len) stores the written slots and the stack there; a guard stores
 * the same state at its op, so the caller can resume the interpreter.
 *
 * io layout: io[i] for the i-th used slot (its raw word: an Int, a Bool as
 * 0/1, a Float's bits), then io[nused + d] for stack depth d. */
#include "jit/block.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jit/helpers.h"
#include "jit/ir.h"
#include "jit/ra.h"
#include "jit/typed.h"
#include "jit/x64_lower.h"
#include "opinfo.h"

#define MAX_DEPTH 64
#define MAX_USED 128
#define MAX_VERSIONS 8
_Static_assert(MAX_USED + MAX_DEPTH <= FVM_BLOCK_IO_WORDS, "io holds every slot and stack value");

/* ---- kinds ------------------------------------------------------------------------ */

static bool numeric(uint8_t t) { return fvm_jit_kind_numeric(t); }

uint64_t fvm_block_kinds_key(const fvm_value *slots, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u ^ n;
    for (size_t i = 0; i < n; i++)
        h = (h ^ fvm_jit_kind_of(slots[i])) * 0x100000001b3u;
    return h;
}

/* ---- compiled code ------------------------------------------------------------------ */

/* What a return (the end, or a guard's exit) leaves in io: the ip to go
 * on at, the stack's types, and the written slots with their types. */
typedef struct exit_rec {
    uint32_t ip;
    uint16_t depth, nslots;
    bool zero_divisor; /* the guard of a division found its divisor 0 */
    uint32_t first; /* stack types at types[first..+depth), then nslots (used index, type) pairs */
} exit_rec;

/* A compiled chunk. The arrays live in the same allocation, after the
 * struct (code_new), so a handle costs one malloc: a disk-cache load
 * rebuilds one in the few microseconds it has. */
struct fvm_block_code {
    int64_t (*entry)(int64_t *io); /* returns its exit record */
    uint32_t len;         /* the chunk's length: the ip of a completed run */
    uint16_t *used;       /* used slot numbers */
    uint8_t *kinds;       /* their kinds at entry */
    uint32_t nused;
    size_t min_nslots;
    exit_rec *exits;      /* [s + 1]: the return through snapshot s */
    uint32_t nexits;
    uint8_t *types;
    uint32_t ntypes;
    fvm_x64_buf image;    /* the code before it became executable */
    bool has_image;
};

/* A zeroed handle with room for its arrays (exits first, for alignment). */
static fvm_block_code *code_new(void *entry, uint32_t nused, uint32_t nexits, uint32_t ntypes)
{
    size_t size = sizeof(fvm_block_code) + (size_t)nexits * sizeof(exit_rec) +
                  (size_t)nused * sizeof(uint16_t) + nused + ntypes;
    fvm_block_code *code = fvm_xcalloc(1, size);
    code->entry = (int64_t (*)(int64_t *))entry;
    code->nused = nused;
    code->nexits = nexits;
    code->ntypes = ntypes;
    code->exits = (exit_rec *)(code + 1);
    code->used = (uint16_t *)(code->exits + nexits);
    code->kinds = (uint8_t *)(code->used + nused);
    code->types = code->kinds + nused;
    return code;
}

/* ---- the abstract state -------------------------------------------------------------- */

typedef struct sval {
    fvm_ir_ref r;
    uint8_t t;      /* fvm_jit_kind */
    int32_t var;    /* the stack variable r was read from, unchanged; or -1 */
} sval;

typedef struct astate {
    uint16_t depth;
    uint8_t stack[MAX_DEPTH];
    uint8_t slot[MAX_USED];
    uint8_t dirty[MAX_USED];
} astate;

typedef struct builder {
    const fvm_chunk *c;
    fvm_ir_func f;
    bool emit;          /* the final run: the IR is the result */
    const char *why;
    /* slots */
    uint16_t used[MAX_USED];
    uint32_t nused;
    int32_t *slot_index; /* slot number (up to max_slot) -> used index, or -1 */
    uint8_t kinds[MAX_USED];
    /* blocks */
    bool *leader;        /* per ip (0..len) */
    int32_t *first_version; /* per leader ip: its first version, or -1 */
    struct version {
        astate st;       /* the entry state (dirty: may have been written) */
        uint32_t ip, block;
        int32_t next;    /* the next version of the same ip, or -1 */
    } *vers;
    size_t nvers, vers_cap;
    bool changed;
    astate start;        /* the state at ip 0 */
    /* the block being built */
    astate st;
    sval stack[MAX_DEPTH];
    bool dead;           /* the rest of the block is unreachable */
    uint32_t ip;
    fvm_ir_ref io;
    int32_t slot_var[MAX_USED][2];  /* per used slot, per class (0 int, 1 float) */
    int32_t stack_var[MAX_DEPTH][2];
    /* exits, recorded while emitting */
    exit_rec *exits;
    size_t nexits, exits_cap;
    uint8_t *types;
    size_t ntypes, types_cap;
} builder;

static bool fail(builder *B, const char *why)
{
    if (!B->why)
        B->why = why;
    return false;
}

static int cls(uint8_t t) { return t == FVM_JK_FLOAT; }

static fvm_ir_type ir_type(uint8_t t) { return fvm_jit_kind_ir(t); }

static uint32_t var_for(builder *B, int32_t (*vars)[2], uint32_t i, uint8_t t)
{
    int32_t *v = &vars[i][cls(t)];
    if (*v < 0)
        *v = (int32_t)fvm_ir_var_new(&B->f, ir_type(t));
    return (uint32_t)*v;
}

/* ---- exits --------------------------------------------------------------------------- */

static void add_type(builder *B, uint8_t t)
{
    fvm_grow((void **)&B->types, &B->types_cap, B->ntypes + 1, 1);
    B->types[B->ntypes++] = t;
}

/* Record what a return at `ip` in the current state leaves in io. */
static void record_exit(builder *B, uint32_t ip, bool zero_divisor)
{
    fvm_grow((void **)&B->exits, &B->exits_cap, B->nexits + 1, sizeof *B->exits);
    exit_rec *e = &B->exits[B->nexits++];
    *e = (exit_rec){ip, B->st.depth, 0, zero_divisor, (uint32_t)B->ntypes};
    for (uint32_t d = 0; d < B->st.depth; d++)
        add_type(B, B->st.stack[d]);
    for (uint32_t i = 0; i < B->nused; i++)
        if (B->st.dirty[i] && B->st.slot[i] != FVM_JK_OTHER) {
            add_type(B, (uint8_t)i);
            add_type(B, B->st.slot[i]);
            e->nslots++;
        }
}

/* Leave native code before op `ip` unless cond holds; the state is the
 * one before the op. cond 0 exits always. */
static void guard(builder *B, fvm_ir_ref cond, bool zero_divisor)
{
    if (!B->emit)
        return;
    fvm_ir_snap_entry e[MAX_DEPTH + MAX_USED];
    size_t n = 0;
    for (uint32_t d = 0; d < B->st.depth; d++)
        if (numeric(B->stack[d].t))
            e[n++] = (fvm_ir_snap_entry){FVM_IR_SNAP_STACK, B->stack[d].t, 0, d, B->stack[d].r};
    for (uint32_t i = 0; i < B->nused; i++)
        if (B->st.dirty[i] && numeric(B->st.slot[i]))
            e[n++] = (fvm_ir_snap_entry){FVM_IR_SNAP_VAR, B->st.slot[i], 0, i,
                                         var_for(B, B->slot_var, i, B->st.slot[i])};
    uint32_t snap = fvm_ir_snap_add(&B->f, B->ip, e, n);
    if (B->nexits != snap + 1) {
        B->why = "snapshot numbering";
        return;
    }
    record_exit(B, B->ip, zero_divisor);
    if (!cond)
        cond = fvm_ir_const_i(&B->f, 0);
    fvm_ir_emit(&B->f, FVM_IR_GUARD, FVM_IR_VOID, &cond, 1, 0, snap);
}

/* An op the native code does not model here: always leave before it. */
static bool exit_here(builder *B)
{
    guard(B, 0, false);
    B->dead = true;
    return true;
}

/* ---- values --------------------------------------------------------------------------- */

static void push(builder *B, fvm_ir_ref r, uint8_t t)
{
    B->stack[B->st.depth] = (sval){r, t, -1};
    B->st.stack[B->st.depth++] = t;
}

static sval pop(builder *B)
{
    B->st.depth--;
    return B->stack[B->st.depth];
}

static fvm_ir_ref to_f(builder *B, sval s) { return fvm_tv_to_float(&B->f, (fvm_tv){s.r, s.t}); }
static fvm_ir_ref to_i(builder *B, sval s) { return fvm_tv_to_int(&B->f, (fvm_tv){s.r, s.t}); }
static fvm_ir_ref truth(builder *B, sval s) { return fvm_tv_truth(&B->f, (fvm_tv){s.r, s.t}); }

/* ---- slots ----------------------------------------------------------------------------- */

/* The slot's value; false if reading it leaves native code. */
static bool slot_get(builder *B, uint16_t k, sval *out)
{
    uint32_t i = (uint32_t)B->slot_index[k];
    uint8_t t = B->st.slot[i];
    if (t == FVM_JK_OTHER) {
        exit_here(B);
        return false;
    }
    fvm_ir_ref r = t == FVM_JK_UNDEF ? fvm_ir_const_i(&B->f, 0)
                                     : fvm_ir_vget(&B->f, var_for(B, B->slot_var, i, t));
    *out = (sval){r, t, -1};
    return true;
}

/* The slot as the fused ops read it (to_int; Undef is 0). */
static bool slot_int(builder *B, uint16_t k, fvm_ir_ref *out)
{
    sval s;
    if (!slot_get(B, k, &s))
        return false;
    *out = to_i(B, s);
    return true;
}

static void slot_set(builder *B, uint16_t k, sval v)
{
    uint32_t i = (uint32_t)B->slot_index[k];
    if (numeric(v.t))
        fvm_ir_vset(&B->f, var_for(B, B->slot_var, i, v.t), v.r);
    B->st.slot[i] = v.t;
    B->st.dirty[i] = 1;
}

/* ---- blocks ---------------------------------------------------------------------------- */

static bool same_types(const astate *a, const astate *b, uint32_t nused)
{
    return a->depth == b->depth && memcmp(a->stack, b->stack, a->depth) == 0 &&
           memcmp(a->slot, b->slot, nused) == 0;
}

/* The version of leader `target` for the current state (created if new):
 * its IR block, or UINT32_MAX when the compile must decline. */
static uint32_t merge(builder *B, uint32_t target)
{
    int32_t last = -1; /* an index: growing vers may move it */
    unsigned n = 0;
    for (int32_t k = B->first_version[target]; k >= 0; last = k, k = B->vers[k].next, n++) {
        struct version *v = &B->vers[k];
        if (!same_types(&v->st, &B->st, B->nused))
            continue;
        for (uint32_t i = 0; i < B->nused; i++)
            if (B->st.dirty[i] && !v->st.dirty[i]) {
                v->st.dirty[i] = 1;
                B->changed = true;
            }
        return v->block;
    }
    if (n == MAX_VERSIONS)
        return fail(B, "a block is reached with more type states than the tier compiles"), UINT32_MAX;
    fvm_grow((void **)&B->vers, &B->vers_cap, B->nvers + 1, sizeof *B->vers);
    *(last < 0 ? &B->first_version[target] : &B->vers[last].next) = (int32_t)B->nvers;
    B->vers[B->nvers++] = (struct version){B->st, target, fvm_ir_block_alloc(&B->f), -1};
    B->changed = true;
    return B->vers[B->nvers - 1].block;
}

/* Hand the stack to the variables a successor block reads it from. */
static void store_stack(builder *B)
{
    for (uint32_t d = 0; d < B->st.depth; d++) {
        sval *s = &B->stack[d];
        if (!numeric(s->t))
            continue;
        uint32_t v = var_for(B, B->stack_var, d, s->t);
        if (s->var != (int32_t)v)
            fvm_ir_vset(&B->f, v, s->r);
    }
}

static bool jump(builder *B, uint32_t target)
{
    uint32_t block = merge(B, target);
    if (block == UINT32_MAX)
        return false;
    store_stack(B);
    fvm_ir_jmp(&B->f, block);
    B->dead = true;
    return true;
}

/* Branch to `taken` when cond is true (false, if `when` is false), else
 * fall through to ip + 1. */
static bool branch(builder *B, fvm_ir_ref cond, bool when, uint32_t taken)
{
    uint32_t t = merge(B, taken), n = merge(B, B->ip + 1);
    if (t == UINT32_MAX || n == UINT32_MAX)
        return false;
    store_stack(B);
    fvm_ir_br(&B->f, cond, when ? t : n, when ? n : t);
    B->dead = true;
    return true;
}

/* Start building a version of a leader from its entry state. */
static void enter_block(builder *B, const struct version *v)
{
    B->st = v->st;
    B->dead = false;
    fvm_ir_block_enter(&B->f, v->block);
    for (uint32_t d = 0; d < B->st.depth; d++) {
        uint8_t t = B->st.stack[d];
        if (numeric(t)) {
            uint32_t x = var_for(B, B->stack_var, d, t);
            B->stack[d] = (sval){fvm_ir_vget(&B->f, x), t, (int32_t)x};
        } else
            B->stack[d] = (sval){fvm_ir_const_i(&B->f, 0), t, -1};
    }
}

/* ---- ops ------------------------------------------------------------------------------- */

/* Operands the ops convert (numbers, and Undef as 0) or leave: any other
 * value goes to the interpreter. */
static bool operands_numeric(builder *B, unsigned n)
{
    for (unsigned k = 1; k <= n; k++) {
        uint8_t t = B->stack[B->st.depth - k].t;
        if (!numeric(t) && t != FVM_JK_UNDEF)
            return exit_here(B), false;
    }
    return true;
}

/* Div and the AWK divisions: a zero divisor is left to the interpreter
 * (Undef, or its error). */
static void divide(builder *B, unsigned code)
{
    fvm_ir_func *f = &B->f;
    fvm_ir_ref d = to_f(B, B->stack[B->st.depth - 1]), n = to_f(B, B->stack[B->st.depth - 2]);
    guard(B, fvm_ir_cmp(f, FVM_IR_FCMP, FVM_IR_NE, d, fvm_ir_const_f(f, 0.0)), true);
    B->st.depth -= 2;
    if (code == FVM_OP_AWK_MOD_JIT) {
        fvm_ir_ref args[2] = {n, d};
        push(B, fvm_ir_call(f, FVM_JIT_HELPER_FMOD, args, 2), FVM_JK_FLOAT);
    } else
        push(B, fvm_ir_op2(f, FVM_IR_FDIV, FVM_IR_F64, n, d), FVM_JK_FLOAT);
}

/* AwkInt: trunc, an Int when in [-2^63, 2^63] (the top saturating), else
 * the interpreter's Float (infinities, NaN, huge values): left to it. */
static void awk_int(builder *B)
{
    fvm_ir_func *f = &B->f;
    fvm_ir_ref x = to_f(B, B->stack[B->st.depth - 1]);
    fvm_ir_ref t = fvm_ir_call(f, FVM_JIT_HELPER_TRUNC, &x, 1);
    fvm_ir_ref lo = fvm_ir_cmp(f, FVM_IR_FCMP, FVM_IR_GE, t, fvm_ir_const_f(f, -9223372036854775808.0));
    fvm_ir_ref hi = fvm_ir_cmp(f, FVM_IR_FCMP, FVM_IR_LE, t, fvm_ir_const_f(f, 9223372036854775808.0));
    guard(B, fvm_ir_op2(f, FVM_IR_AND, FVM_IR_BOOL, lo, hi), false);
    B->st.depth--;
    push(B, fvm_ir_op1(f, FVM_IR_F2I, FVM_IR_I64, t), FVM_JK_INT);
}

/* Numeric ops on npop operands on the stack (numbers or Undef). */
static void numeric_op(builder *B, const fvm_op *o, unsigned npop)
{
    switch (o->code) {
    case FVM_OP_DIV: case FVM_OP_AWK_DIV_JIT: case FVM_OP_AWK_MOD_JIT: divide(B, o->code); return;
    case FVM_OP_AWK_INT: awk_int(B); return;
    default: {
        fvm_tv args[16];
        for (unsigned k = 0; k < npop; k++) {
            const sval *v = &B->stack[B->st.depth - npop + k];
            args[k] = (fvm_tv){v->r, v->t};
        }
        fvm_tv r = fvm_tv_op(&B->f, o->code, args, npop);
        B->st.depth -= npop;
        push(B, r.r, r.k);
        return;
    }
    }
}

static void stack_op(builder *B, unsigned code)
{
    sval *s = B->stack;
    uint32_t n = B->st.depth;
    sval a, b, c;
    switch (code) {
    case FVM_OP_POP: B->st.depth--; return;
    case FVM_OP_DUP: a = s[n - 1]; push(B, a.r, a.t); return;
    case FVM_OP_DUP2: a = s[n - 2], b = s[n - 1]; push(B, a.r, a.t); push(B, b.r, b.t); return;
    case FVM_OP_SWAP: a = s[n - 1], b = s[n - 2]; B->st.depth -= 2; push(B, a.r, a.t); push(B, b.r, b.t); return;
    default: /* Rot: [a, b, c] -> [b, c, a] */
        a = s[n - 3], b = s[n - 2], c = s[n - 1];
        B->st.depth -= 3;
        push(B, b.r, b.t);
        push(B, c.r, c.t);
        push(B, a.r, a.t);
        return;
    }
}

/* PreInc/PreDec/PostInc/PostDec and the void form: the slot read with
 * to_int, written back as Int; pre pushes the new value, post the old. */
static bool slot_step(builder *B, const fvm_op *op)
{
    fvm_ir_ref old;
    if (!slot_int(B, op->a, &old))
        return true;
    bool dec = op->code == FVM_OP_PRE_DEC_SLOT || op->code == FVM_OP_POST_DEC_SLOT;
    fvm_ir_ref n = fvm_ir_op2(&B->f, FVM_IR_ADD, FVM_IR_I64, old, fvm_ir_const_i(&B->f, dec ? -1 : 1));
    slot_set(B, op->a, (sval){n, FVM_JK_INT, -1});
    if (op->code == FVM_OP_POST_INC_SLOT || op->code == FVM_OP_POST_DEC_SLOT)
        push(B, old, FVM_JK_INT);
    else if (op->code != FVM_OP_PRE_INC_SLOT_VOID)
        push(B, n, FVM_JK_INT);
    return true;
}

/* AccumSumLoop(sum, i, limit): when i < limit, sum += i + (i+1) + ... +
 * (limit-1) and i = limit, as the interpreter's closed form (wrapping):
 * with n = limit - i, the sum is n*i + n*(n-1)/2, and n*(n-1)/2 is
 * (n>>1)*(n-1) + (n&1)*((n-1)>>1) in unsigned arithmetic. Both slots become
 * Int either way. */
static bool accum_sum_loop(builder *B, const fvm_op *op)
{
    fvm_ir_ref sum, i;
    if (!slot_int(B, op->a, &sum) || !slot_int(B, op->b, &i))
        return true;
    slot_set(B, op->a, (sval){sum, FVM_JK_INT, -1});
    slot_set(B, op->b, (sval){i, FVM_JK_INT, -1});
    fvm_ir_func *f = &B->f;
    fvm_ir_ref limit = fvm_ir_const_i(f, op->u.j.limit);
    uint32_t body = fvm_ir_block_alloc(f), join = fvm_ir_block_alloc(f);
    fvm_ir_br(f, fvm_ir_cmp(f, FVM_IR_ICMP, FVM_IR_LT, i, limit), body, join);
    fvm_ir_block_enter(f, body);
    uint32_t ia = (uint32_t)B->slot_index[op->a], ib = (uint32_t)B->slot_index[op->b];
    i = fvm_ir_vget(f, var_for(B, B->slot_var, ib, FVM_JK_INT));
    sum = ia == ib ? i : fvm_ir_vget(f, var_for(B, B->slot_var, ia, FVM_JK_INT));
    fvm_ir_ref one = fvm_ir_const_i(f, 1);
    fvm_ir_ref n = fvm_ir_op2(f, FVM_IR_SUB, FVM_IR_I64, limit, i);
    fvm_ir_ref n1 = fvm_ir_op2(f, FVM_IR_SUB, FVM_IR_I64, n, one);
    fvm_ir_ref even = fvm_ir_op2(f, FVM_IR_MUL, FVM_IR_I64, fvm_ir_op2(f, FVM_IR_SHR, FVM_IR_I64, n, one), n1);
    fvm_ir_ref odd = fvm_ir_op2(f, FVM_IR_MUL, FVM_IR_I64, fvm_ir_op2(f, FVM_IR_AND, FVM_IR_I64, n, one),
                                fvm_ir_op2(f, FVM_IR_SHR, FVM_IR_I64, n1, one));
    fvm_ir_ref add = fvm_ir_op2(f, FVM_IR_ADD, FVM_IR_I64, fvm_ir_op2(f, FVM_IR_MUL, FVM_IR_I64, n, i),
                                fvm_ir_op2(f, FVM_IR_ADD, FVM_IR_I64, even, odd));
    slot_set(B, op->a, (sval){fvm_ir_op2(f, FVM_IR_ADD, FVM_IR_I64, sum, add), FVM_JK_INT, -1});
    slot_set(B, op->b, (sval){limit, FVM_JK_INT, -1});
    fvm_ir_jmp(f, join);
    fvm_ir_block_enter(f, join);
    return true;
}

static bool control_op(builder *B, const fvm_op *op)
{
    uint32_t t = op->u.j.target;
    fvm_ir_func *f = &B->f;
    sval a;
    fvm_ir_ref v;

    switch (op->code) {
    case FVM_OP_JUMP: return jump(B, t);
    case FVM_OP_JUMP_IF_TRUE: case FVM_OP_JUMP_IF_FALSE:
        a = pop(B);
        return branch(B, truth(B, a), op->code == FVM_OP_JUMP_IF_TRUE, t);
    case FVM_OP_JUMP_IF_TRUE_KEEP: case FVM_OP_JUMP_IF_FALSE_KEEP:
        return branch(B, truth(B, B->stack[B->st.depth - 1]), op->code == FVM_OP_JUMP_IF_TRUE_KEEP, t);
    case FVM_OP_SLOT_LT_INT_JUMP_IF_FALSE:
        if (!slot_int(B, op->a, &v))
            return true;
        return branch(B, fvm_ir_cmp(f, FVM_IR_ICMP, FVM_IR_GE, v, fvm_ir_const_i(f, op->u.j.limit)), true, t);
    default: /* SlotIncLtIntJumpBack */
        if (!slot_int(B, op->a, &v))
            return true;
        v = fvm_ir_op2(f, FVM_IR_ADD, FVM_IR_I64, v, fvm_ir_const_i(f, 1));
        slot_set(B, op->a, (sval){v, FVM_JK_INT, -1});
        return branch(B, fvm_ir_cmp(f, FVM_IR_ICMP, FVM_IR_LT, v, fvm_ir_const_i(f, op->u.j.limit)), true, t);
    }
}

/* One op; false when the compile must decline. */
static bool build_op(builder *B, const fvm_op *op)
{
    const fvm_opinfo *oi = &fvm_opinfo_table[op->code];
    if (B->st.depth < oi->pop)
        return fail(B, "pops an empty stack");
    if (B->st.depth - oi->pop + oi->push > MAX_DEPTH)
        return fail(B, "operand stack deeper than the tier keeps");
    sval a;
    fvm_tv tv;
    switch (op->code) {
    case FVM_OP_NOP: return true;
    case FVM_OP_LOAD_INT: push(B, fvm_ir_const_i(&B->f, op->u.i), FVM_JK_INT); return true;
    case FVM_OP_LOAD_FLOAT: push(B, fvm_ir_const_f(&B->f, op->u.f), FVM_JK_FLOAT); return true;
    case FVM_OP_LOAD_CONST: tv = fvm_tv_const(&B->f, B->c->consts[op->a]); push(B, tv.r, tv.k); return true;
    case FVM_OP_LOAD_TRUE: case FVM_OP_LOAD_FALSE:
        tv = fvm_tv_const(&B->f, fvm_bool(op->code == FVM_OP_LOAD_TRUE));
        push(B, tv.r, tv.k);
        return true;
    case FVM_OP_LOAD_UNDEF: push(B, fvm_ir_const_i(&B->f, 0), FVM_JK_UNDEF); return true;
    case FVM_OP_POP: case FVM_OP_DUP: case FVM_OP_DUP2: case FVM_OP_SWAP: case FVM_OP_ROT:
        stack_op(B, op->code);
        return true;
    case FVM_OP_GET_SLOT:
        if (slot_get(B, op->a, &a))
            push(B, a.r, a.t);
        return true;
    case FVM_OP_SET_SLOT: slot_set(B, op->a, pop(B)); return true;
    case FVM_OP_ADD_ASSIGN_SLOT_VOID: {
        fvm_ir_ref x, y;
        if (!slot_int(B, op->a, &x) || !slot_int(B, op->b, &y))
            return true;
        slot_set(B, op->a, (sval){fvm_ir_op2(&B->f, FVM_IR_ADD, FVM_IR_I64, x, y), FVM_JK_INT, -1});
        return true;
    }
    case FVM_OP_PRE_INC_SLOT: case FVM_OP_PRE_INC_SLOT_VOID: case FVM_OP_PRE_DEC_SLOT:
    case FVM_OP_POST_INC_SLOT: case FVM_OP_POST_DEC_SLOT:
        return slot_step(B, op);
    case FVM_OP_ACCUM_SUM_LOOP: return accum_sum_loop(B, op);
    default:
        break;
    }
    if (oi->flags & FVM_OPF_JUMP || op->code == FVM_OP_SLOT_LT_INT_JUMP_IF_FALSE ||
        op->code == FVM_OP_SLOT_INC_LT_INT_JUMP_BACK)
        return control_op(B, op);
    unsigned npop = oi->pop >= 0 ? (unsigned)oi->pop : (unsigned)op->a;
    if (B->st.depth < npop)
        return fail(B, "pops an empty stack");
    if (operands_numeric(B, npop))
        numeric_op(B, op, npop);
    return true;
}

/* The end (ip == len): store the written slots and the stack, and return
 * an exit record (numbered like a snapshot's, whose guard never exists). */
static void build_end(builder *B)
{
    if (!B->emit)
        return;
    uint32_t rec = (uint32_t)fvm_ir_snap_add(&B->f, (uint32_t)B->c->len, NULL, 0) + 1;
    if (B->nexits != rec) {
        B->why = "snapshot numbering";
        return;
    }
    record_exit(B, (uint32_t)B->c->len, false);
    for (uint32_t i = 0; i < B->nused; i++)
        if (B->st.dirty[i] && numeric(B->st.slot[i])) {
            fvm_ir_ref args[2] = {B->io, fvm_ir_vget(&B->f, var_for(B, B->slot_var, i, B->st.slot[i]))};
            fvm_ir_emit(&B->f, FVM_IR_STORE, FVM_IR_VOID, args, 2, 8 * (int64_t)i, 0);
        }
    for (uint32_t d = 0; d < B->st.depth; d++)
        if (numeric(B->stack[d].t)) {
            fvm_ir_ref args[2] = {B->io, B->stack[d].r};
            fvm_ir_emit(&B->f, FVM_IR_STORE, FVM_IR_VOID, args, 2, 8 * (int64_t)(B->nused + d), 0);
        }
    fvm_ir_emit(&B->f, FVM_IR_RET, FVM_IR_VOID, NULL, 0, 0, rec);
}

/* Entry: load the slots the code may read into their variables. */
static void build_entry(builder *B)
{
    B->io = fvm_ir_emit(&B->f, FVM_IR_PARAM, FVM_IR_PTR, NULL, 0, 0, 0);
    B->f.exit_base = B->io;
    B->f.exit_stack = B->nused;
    for (uint32_t i = 0; i < B->nused; i++) {
        uint8_t t = B->kinds[i];
        if (!numeric(t))
            continue;
        fvm_ir_ref args[1] = {B->io};
        fvm_ir_ref v = fvm_ir_emit(&B->f, FVM_IR_LOAD, ir_type(t), args, 1, 8 * (int64_t)i, 0);
        fvm_ir_vset(&B->f, var_for(B, B->slot_var, i, t), v);
    }
    B->st = B->start;
    jump(B, 0);
}

/* Build one version: its ops up to the next leader (falling into it) or
 * until the block ends. */
static bool build_version(builder *B, const struct version *v)
{
    const fvm_chunk *c = B->c;
    enter_block(B, v);
    for (B->ip = v->ip;; B->ip++) {
        if (B->ip == c->len) {
            build_end(B);
            return !B->why;
        }
        if (!build_op(B, &c->ops[B->ip]) || B->why)
            return false;
        if (B->dead)
            return true;
        if (B->leader[B->ip + 1])
            return jump(B, B->ip + 1);
    }
}

/* One run over every version known, in ip order. */
static bool run_blocks(builder *B)
{
    const fvm_chunk *c = B->c;
    fvm_ir_init(&B->f);
    memset(B->slot_var, 0xff, sizeof B->slot_var);
    memset(B->stack_var, 0xff, sizeof B->stack_var);
    B->nexits = 1; /* record 0 is never returned */
    B->ntypes = 0;
    fvm_grow((void **)&B->exits, &B->exits_cap, 1, sizeof *B->exits);
    B->exits[0] = (exit_rec){0};
    for (size_t k = 0; k < B->nvers; k++)
        B->vers[k].block = fvm_ir_block_alloc(&B->f);
    build_entry(B);
    for (uint32_t ip = 0; ip <= c->len; ip++) {
        if (!B->leader[ip])
            continue;
        /* Versions made during this run are built in the next. */
        for (int32_t k = B->first_version[ip]; k >= 0; k = B->vers[k].next) {
            struct version v = B->vers[k];
            if (!build_version(B, &v))
                return false;
        }
    }
    return !B->why;
}

/* Leaders: ip 0, every jump target, and the op after every jump. */
static void find_blocks(builder *B)
{
    const fvm_chunk *c = B->c;
    for (uint32_t ip = 0; ip <= c->len; ip++) {
        B->leader[ip] = ip == 0;
        B->first_version[ip] = -1;
    }
    for (uint32_t ip = 0; ip < c->len; ip++) {
        const fvm_op *op = &c->ops[ip];
        if (!(fvm_opinfo_table[op->code].flags & FVM_OPF_JUMP) &&
            op->code != FVM_OP_SLOT_LT_INT_JUMP_IF_FALSE && op->code != FVM_OP_SLOT_INC_LT_INT_JUMP_BACK)
            continue;
        B->leader[op->u.j.target] = true;
        B->leader[ip + 1] = true;
    }
}

static bool collect_slots(builder *B, const fvm_value *slots, size_t nslots)
{
    const fvm_chunk *c = B->c;
    for (size_t ip = 0; ip < c->len; ip++) {
        const fvm_op *op = &c->ops[ip];
        uint16_t ks[2];
        unsigned n = 0;
        switch (op->code) {
        case FVM_OP_ADD_ASSIGN_SLOT_VOID: case FVM_OP_ACCUM_SUM_LOOP:
            ks[n++] = op->a;
            ks[n++] = op->b;
            break;
        case FVM_OP_GET_SLOT: case FVM_OP_SET_SLOT: case FVM_OP_PRE_INC_SLOT:
        case FVM_OP_PRE_INC_SLOT_VOID: case FVM_OP_PRE_DEC_SLOT: case FVM_OP_POST_INC_SLOT:
        case FVM_OP_POST_DEC_SLOT: case FVM_OP_SLOT_LT_INT_JUMP_IF_FALSE:
        case FVM_OP_SLOT_INC_LT_INT_JUMP_BACK:
            ks[n++] = op->a;
            break;
        default:
            break;
        }
        for (unsigned k = 0; k < n; k++) {
            if (B->slot_index[ks[k]] >= 0)
                continue;
            if (B->nused == MAX_USED)
                return fail(B, "more slots than the tier keeps");
            if (ks[k] >= nslots)
                return fail(B, "slot beyond the slots passed");
            B->slot_index[ks[k]] = (int32_t)B->nused;
            B->kinds[B->nused] = (uint8_t)fvm_jit_kind_of(slots[ks[k]]);
            B->used[B->nused++] = ks[k];
        }
    }
    return true;
}

/* ---- compile ------------------------------------------------------------------------------ */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool infer_and_build(builder *B)
{
    memset(&B->start, 0, sizeof B->start);
    memcpy(B->start.slot, B->kinds, B->nused);
    /* Versions are only added (at most MAX_VERSIONS per leader) and dirty
     * bits only set, so this ends. */
    do {
        B->changed = false;
        bool ok = run_blocks(B);
        fvm_ir_free(&B->f);
        if (!ok)
            return false;
    } while (B->changed);
    B->emit = true;
    return run_blocks(B) && !B->changed;
}

static uint64_t now_ns(void);

static fvm_block_code *finish(builder *B, fvm_mcode *arena, fvm_buf *dump_ir, fvm_buf *dump_asm,
                              uint64_t *t_commit)
{
    fvm_ir_dce(&B->f);
    fvm_ra_config cfg = {FVM_RA_DEFAULT_ALLOWED};
    fvm_ra_result ra;
    fvm_ra_run(&B->f, &cfg, &ra);
    if (dump_ir) {
        fvm_ir_dump(&B->f, dump_ir);
        fvm_ra_dump(&B->f, &ra, dump_ir);
    }
    fvm_x64_buf xb;
    fvm_x64_buf_init(&xb, 0);
    uint32_t *offsets = dump_asm ? fvm_xcalloc(B->f.ninsts + 1, sizeof *offsets) : NULL;
    bool ok = fvm_x64_lower(&B->f, &ra, &xb, offsets, &B->why);
    fvm_ra_free(&ra);
    if (ok && dump_asm)
        fvm_x64_dump_code(&B->f, offsets, &xb, dump_asm);
    free(offsets);
    fvm_block_code *code = NULL;
    *t_commit = now_ns();
    void *entry = ok ? fvm_mcode_add(arena, xb.code, xb.len) : NULL;
    if (ok && !entry)
        B->why = "code memory refused";
    if (entry) {
        code = code_new(entry, B->nused, (uint32_t)B->nexits, (uint32_t)B->ntypes);
        code->len = (uint32_t)B->c->len;
        memcpy(code->used, B->used, B->nused * sizeof *code->used);
        memcpy(code->kinds, B->kinds, B->nused);
        if (B->nexits) /* memcpy must not see the NULL of an empty array */
            memcpy(code->exits, B->exits, B->nexits * sizeof *code->exits);
        if (B->ntypes)
            memcpy(code->types, B->types, B->ntypes);
        for (uint32_t i = 0; i < B->nused; i++)
            if ((size_t)B->used[i] + 1 > code->min_nslots)
                code->min_nslots = (size_t)B->used[i] + 1;
        code->image = xb;
        code->has_image = true;
    } else
        fvm_x64_buf_free(&xb);
    return code;
}

fvm_block_code *fvm_block_compile(const fvm_chunk *c, const fvm_value *slots, size_t nslots,
                                  fvm_mcode *arena, fvm_buf *dump_ir, fvm_buf *dump_asm,
                                  fvm_block_stats *stats, const char **why_not)
{
    if (!fvm_block_eligible(c, why_not))
        return NULL;
    uint64_t t0 = now_ns();
    builder B = {.c = c};
    size_t nmap = c->max_slot < 0 ? 1 : (size_t)c->max_slot + 1;
    B.slot_index = fvm_xmalloc(nmap * sizeof *B.slot_index);
    memset(B.slot_index, 0xff, nmap * sizeof *B.slot_index);
    B.leader = fvm_xmalloc((c->len + 1) * sizeof *B.leader);
    B.first_version = fvm_xmalloc((c->len + 1) * sizeof *B.first_version);
    fvm_block_code *code = NULL;
    uint64_t t1 = 0;
    if (collect_slots(&B, slots, slots ? nslots : 0)) {
        find_blocks(&B);
        if (infer_and_build(&B))
            code = finish(&B, arena, dump_ir, dump_asm, &t1);
    }
    uint64_t t2 = now_ns();
    if (!t1)
        t1 = t2;
    if (stats)
        *stats = (fvm_block_stats){t1 - t0, t2 - t1, B.f.ninsts};
    if (!code && why_not)
        *why_not = B.why ? B.why : "compile failed";
    fvm_ir_free(&B.f);
    free(B.slot_index);
    free(B.leader);
    free(B.first_version);
    free(B.vers);
    free(B.exits);
    free(B.types);
    return code;
}

const fvm_x64_buf *fvm_block_image(const fvm_block_code *code)
{
    return code->has_image ? &code->image : NULL;
}

void fvm_block_drop_image(fvm_block_code *code)
{
    if (code->has_image)
        fvm_x64_buf_free(&code->image);
    code->has_image = false;
}

void fvm_block_free(fvm_block_code *code)
{
    if (!code)
        return;
    fvm_block_drop_image(code);
    free(code);
}

/* ---- run ---------------------------------------------------------------------------------- */

static fvm_value make_value(uint8_t t, int64_t bits)
{
    switch (t) {
    case FVM_JK_INT: return fvm_int(bits);
    case FVM_JK_BOOL: return fvm_bool(bits != 0);
    case FVM_JK_FLOAT: {
        double d;
        memcpy(&d, &bits, sizeof d);
        return fvm_float(d);
    }
    default: return fvm_undef();
    }
}



bool fvm_block_enter(const fvm_block_code *code, const fvm_value *slots, size_t nslots,
                     int64_t *io, fvm_block_exit *out)
{
    if (code->min_nslots > nslots || (code->min_nslots && !slots))
        return false;
    for (uint32_t i = 0; i < code->nused; i++) {
        const fvm_value *v = &slots[code->used[i]];
        uint8_t k = (uint8_t)fvm_jit_kind_of(*v);
        if (k != code->kinds[i])
            return false;
        io[i] = k == FVM_JK_BOOL ? v->as.b : k == FVM_JK_INT || k == FVM_JK_FLOAT ? v->as.i : 0;
    }
    int64_t r = code->entry(io);
    if ((uint64_t)r >= code->nexits)
        r = 0; /* cannot happen; record 0 resumes at the start with nothing */
    const exit_rec *e = &code->exits[r];
    *out = (fvm_block_exit){e->ip, e->depth, (uint32_t)r, e->ip == code->len, e->zero_divisor};
    return true;
}

fvm_value fvm_block_stack_value(const fvm_block_code *code, const fvm_block_exit *x,
                                const int64_t *io, uint32_t d)
{
    const exit_rec *e = &code->exits[x->rec];
    return make_value(code->types[e->first + d], io[code->nused + d]);
}

void fvm_block_write_slots(const fvm_block_code *code, const fvm_block_exit *x, const int64_t *io,
                           fvm_value *slots)
{
    const exit_rec *e = &code->exits[x->rec];
    const uint8_t *p = code->types + e->first + e->depth;
    for (uint32_t k = 0; k < e->nslots; k++, p += 2) {
        uint32_t i = p[0];
        fvm_value *dst = &slots[code->used[i]];
        fvm_release(*dst);
        *dst = make_value(p[1], io[i]);
    }
}

uint32_t fvm_block_written_max(const fvm_block_code *code, const fvm_block_exit *x)
{
    const exit_rec *e = &code->exits[x->rec];
    const uint8_t *p = code->types + e->first + e->depth;
    uint32_t m = 0;
    for (uint32_t k = 0; k < e->nslots; k++, p += 2)
        if ((uint32_t)code->used[p[0]] + 1 > m)
            m = (uint32_t)code->used[p[0]] + 1;
    return m;
}

/* ---- persisting ---------------------------------------------------------------------------- */

/* The metadata as little-endian 32-bit words: len, nused, nexits, ntypes;
 * per used slot its number and kind; per exit record ip, depth, nslots,
 * zero_divisor, first; then the types, one per word. */
static void put32(fvm_buf *out, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    fvm_buf_put(out, b, 4);
}

void fvm_block_save_meta(const fvm_block_code *code, fvm_buf *out)
{
    put32(out, code->len);
    put32(out, code->nused);
    put32(out, code->nexits);
    put32(out, code->ntypes);
    for (uint32_t i = 0; i < code->nused; i++) {
        put32(out, code->used[i]);
        put32(out, code->kinds[i]);
    }
    for (uint32_t k = 0; k < code->nexits; k++) {
        const exit_rec *e = &code->exits[k];
        put32(out, e->ip);
        put32(out, e->depth);
        put32(out, e->nslots);
        put32(out, e->zero_divisor);
        put32(out, e->first);
    }
    for (uint32_t k = 0; k < code->ntypes; k++)
        put32(out, code->types[k]);
}

typedef struct reader {
    const uint8_t *p, *end;
    bool ok;
} reader;

static uint32_t get32(reader *r, uint32_t max)
{
    if (r->end - r->p < 4) {
        r->ok = false;
        return 0;
    }
    uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
                 (uint32_t)r->p[3] << 24;
    r->p += 4;
    if (v > max)
        r->ok = false;
    return v;
}

static bool valid_kind(uint32_t k) { return k >= FVM_JK_INT && k <= FVM_JK_OTHER; }

/* Every exit record's stack types and slot pairs inside types, with kinds
 * and used indices in range. */
static bool exits_valid(const fvm_block_code *code)
{
    for (uint32_t k = 0; k < code->nexits; k++) {
        const exit_rec *e = &code->exits[k];
        if ((uint64_t)e->first + e->depth + 2u * e->nslots > code->ntypes)
            return false;
        const uint8_t *t = code->types + e->first;
        for (uint32_t d = 0; d < e->depth; d++)
            if (!valid_kind(t[d]))
                return false;
        for (uint32_t s = 0; s < e->nslots; s++)
            if (t[e->depth + 2 * s] >= code->nused || !valid_kind(t[e->depth + 2 * s + 1]))
                return false;
    }
    return true;
}

fvm_block_code *fvm_block_from_meta(const void *meta, size_t len, void *entry, size_t chunk_len)
{
    reader r = {meta, (const uint8_t *)meta + len, true};
    uint32_t code_len = get32(&r, UINT32_MAX - 1);
    uint32_t nused = get32(&r, MAX_USED);
    uint32_t nexits = get32(&r, 1u << 24);
    uint32_t ntypes = get32(&r, 1u << 28);
    /* The counts must fit in the bytes left before anything is allocated. */
    if (!r.ok || nexits == 0 || code_len != chunk_len ||
        (size_t)(r.end - r.p) / 4 != (size_t)2 * nused + (size_t)5 * nexits + ntypes)
        return NULL;
    fvm_block_code *code = code_new(entry, nused, nexits, ntypes);
    code->len = code_len;
    for (uint32_t i = 0; i < nused; i++) {
        code->used[i] = (uint16_t)get32(&r, UINT16_MAX);
        code->kinds[i] = (uint8_t)get32(&r, FVM_JK_OTHER);
        if ((size_t)code->used[i] + 1 > code->min_nslots)
            code->min_nslots = (size_t)code->used[i] + 1;
        r.ok &= valid_kind(code->kinds[i]);
    }
    for (uint32_t k = 0; k < nexits; k++) {
        exit_rec *e = &code->exits[k];
        e->ip = get32(&r, code_len);
        e->depth = (uint16_t)get32(&r, MAX_DEPTH);
        e->nslots = (uint16_t)get32(&r, MAX_USED);
        e->zero_divisor = get32(&r, 1) != 0;
        e->first = get32(&r, ntypes);
    }
    for (uint32_t k = 0; k < ntypes; k++)
        code->types[k] = (uint8_t)get32(&r, UINT8_MAX);
    if (!r.ok || r.p != r.end || !exits_valid(code)) {
        fvm_block_free(code);
        return NULL;
    }
    return code;
}

uint64_t fvm_block_kinds_verify(const fvm_value *slots, size_t n)
{
    uint64_t h = 0x84222325cbf29ce4u;
    for (size_t i = 0; i < n; i++)
        h = (h + fvm_jit_kind_of(slots[i]) + 1) * 0x9e3779b97f4a7c15u;
    return h ^ n;
}
