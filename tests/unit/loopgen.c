/* Random block-tier programs (see loopgen.h).
 *
 * The generator tracks what it knows statically: the kind of every slot
 * (ANY once a path may have changed it) and the stack depth. Expressions
 * are generated for a wanted kind, so both arms of a ternary push the same
 * kind and a slot is written with its own kind; ANY asks for anything.
 * Expressions contain no loops, so each of their ops runs at most once per
 * execution of the statement around them; statements return a bound on the
 * ops they execute, which a loop multiplies by its iteration count. */
#include "loopgen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "opinfo.h"

void lg_seed(lg_rng *r, uint64_t seed)
{
    r->s = seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
    if (!r->s)
        r->s = 1;
}

uint64_t lg_next(lg_rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

/* ------------------------------------------------------------------------
 * Random values
 * ------------------------------------------------------------------------ */

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define PICK(r, a) (a)[lg_next(r) % COUNT(a)]

static int64_t rnd_int(lg_rng *r)
{
    static const int64_t edge[] = {0, 1, -1, 2, 3, 7, -7, 63, 64, 65, INT64_MIN, INT64_MAX,
                                   (1ll << 53) + 1, 1000003, -1000003, INT32_MAX, INT32_MIN};
    if (lg_next(r) % 4)
        return PICK(r, edge);
    return (int64_t)lg_next(r) >> (lg_next(r) % 64);
}

static double rnd_float(lg_rng *r)
{
    static const double edge[] = {0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.5, -3.75, 4.0, 1e300, -1e300,
                                  9.3e18, -9.3e18, 9007199254740993.0, 1e-310, INFINITY, -INFINITY,
                                  NAN, -NAN};
    if (lg_next(r) % 4)
        return PICK(r, edge);
    return (double)(int64_t)lg_next(r) / (double)(1 + lg_next(r) % 1000);
}

static fvm_value rnd_value(lg_rng *r, fvm_type t)
{
    switch (t) {
    case FVM_T_INT: return fvm_int(rnd_int(r));
    case FVM_T_FLOAT: return fvm_float(rnd_float(r));
    case FVM_T_BOOL: return fvm_bool(lg_next(r) & 1);
    case FVM_T_STR: {
        static const char *const strs[] = {"12", "abc", "", "3.5", "-0", " 7x"};
        return fvm_cstr(PICK(r, strs));
    }
    default: return fvm_undef();
    }
}

void lg_initial_slots(lg_rng *r, const lg_program *p, fvm_value slots[LG_NSLOTS])
{
    static const fvm_type any[] = {FVM_T_INT, FVM_T_INT, FVM_T_FLOAT, FVM_T_FLOAT, FVM_T_BOOL,
                                   FVM_T_UNDEF, FVM_T_STR};
    for (int s = 0; s < LG_NSLOTS; s++) {
        bool own = s < LG_NDATA && lg_next(r) % 5 != 0;
        slots[s] = rnd_value(r, own ? p->kind[s] : PICK(r, any));
    }
}

/* ------------------------------------------------------------------------
 * Generator state
 * ------------------------------------------------------------------------ */

/* What the generator knows of a value: one kind, or anything. */
typedef enum lg_kind { K_INT, K_FLOAT, K_BOOL, K_UNDEF, K_ANY } lg_kind;

typedef struct lg_loop {
    size_t breaks[16]; /* JumpIfTrue ops to patch to the loop's exit */
    size_t nbreaks;
    int depth;         /* stack depth at the loop's exit */
} lg_loop;

typedef struct lg_gen {
    lg_rng r;
    fvm_op ops[LG_MAX_OPS];
    size_t n, budget; /* ops emitted; size above which only small code is made */
    lg_kind slot[LG_NSLOTS];
    lg_loop loop[LG_MAX_LOOPS];
    int loops;  /* loops open around the current op */
    int depth;  /* stack depth */
    int nest;   /* expression nesting */
} lg_gen;

static uint64_t rnd(lg_gen *g, uint64_t n)
{
    return lg_next(&g->r) % n;
}

static size_t emit(lg_gen *g, fvm_op op)
{
    if (g->n >= LG_MAX_OPS) {
        fprintf(stderr, "loopgen: more than %d ops\n", LG_MAX_OPS);
        abort();
    }
    const fvm_opinfo *oi = &fvm_opinfo_table[op.code];
    g->depth += oi->push - (oi->pop < 0 ? (int)op.a : oi->pop); /* -1: the operand counts */
    g->ops[g->n] = op;
    return g->n++;
}

static void emit_code(lg_gen *g, unsigned code)
{
    fvm_op op = {(uint16_t)code, 0, 0, 0, {0}};
    emit(g, op);
}

static void patch(lg_gen *g, size_t at, size_t target)
{
    g->ops[at].u.j.target = (uint32_t)target;
}

/* A slot whose kind is k (any slot for K_ANY, data slots only when
 * data_only), or -1. */
static int pick_slot(lg_gen *g, lg_kind k, bool data_only)
{
    int n = data_only ? LG_NDATA : LG_NSLOTS, found[LG_NSLOTS], nf = 0;
    for (int s = 0; s < n; s++)
        if (k == K_ANY || g->slot[s] == k)
            found[nf++] = s;
    return nf ? found[rnd(g, (uint64_t)nf)] : -1;
}

static bool small(lg_gen *g)
{
    return g->n >= g->budget;
}

/* ------------------------------------------------------------------------
 * Expressions: each leaves one value of the wanted kind
 * ------------------------------------------------------------------------ */

static void expr(lg_gen *g, lg_kind k);

/* A kind for a place that takes anything: Undef is rarer than the numbers
 * (the tier leaves most ops on Undef to the interpreter). */
static lg_kind any_kind(lg_gen *g)
{
    static const lg_kind kinds[] = {K_INT, K_INT, K_INT, K_INT, K_FLOAT, K_FLOAT, K_FLOAT,
                                    K_BOOL, K_BOOL, K_UNDEF};
    return kinds[rnd(g, COUNT(kinds))];
}

static void leaf(lg_gen *g, lg_kind k)
{
    if (k == K_ANY)
        k = rnd(g, 4) ? any_kind(g) : K_ANY;
    unsigned r = (unsigned)rnd(g, 4);
    int s = pick_slot(g, k, false);
    if (r == 0 && s >= 0) {
        emit(g, FVM_GET_SLOT((uint16_t)s));
        return;
    }
    if (r == 1 && k != K_ANY) { /* constant i is of kind i */
        emit(g, FVM_LOAD_CONST((uint16_t)k));
        return;
    }
    switch (k) {
    case K_FLOAT: emit(g, FVM_LOAD_FLOAT(rnd_float(&g->r))); break;
    case K_BOOL: emit_code(g, rnd(g, 2) ? FVM_OP_LOAD_TRUE : FVM_OP_LOAD_FALSE); break;
    case K_UNDEF: emit_code(g, FVM_OP_LOAD_UNDEF); break;
    default: emit(g, FVM_LOAD_INT(rnd_int(&g->r))); break;
    }
}

/* cond ? a : b, both arms of kind k (usually). */
static void ternary(lg_gen *g, lg_kind k)
{
    expr(g, rnd(g, 2) ? K_BOOL : K_ANY);
    size_t jf = emit(g, rnd(g, 2) ? FVM_JUMP_IF_FALSE(0) : FVM_JUMP_IF_TRUE(0));
    expr(g, k);
    size_t j = emit(g, FVM_JUMP(0));
    g->depth--; /* the other arm starts without the first arm's value */
    patch(g, jf, g->n);
    expr(g, k == K_ANY && rnd(g, 4) ? K_ANY : k);
    patch(g, j, g->n);
}

/* a, unless its truthiness says otherwise, then b: "a JumpIf*Keep L; Nop;
 * Pop; b; L:" (the Nop stands for the padding frontends leave). */
static void keep(lg_gen *g, lg_kind k)
{
    expr(g, k);
    size_t jk = emit(g, rnd(g, 2) ? FVM_JUMP_IF_TRUE_KEEP(0) : FVM_JUMP_IF_FALSE_KEEP(0));
    emit_code(g, FVM_OP_NOP);
    emit_code(g, FVM_OP_POP);
    expr(g, k);
    patch(g, jk, g->n);
}

static const unsigned int_arith[] = {FVM_OP_ADD, FVM_OP_SUB, FVM_OP_MUL, FVM_OP_MOD};
static const unsigned to_int_unary[] = {FVM_OP_INC, FVM_OP_DEC, FVM_OP_BIT_NOT, FVM_OP_TRUNC_INT,
                                        FVM_OP_AWK_INT};
static const unsigned awk_fold[] = {FVM_OP_AWK_AND, FVM_OP_AWK_OR, FVM_OP_AWK_XOR};
static const unsigned to_int_binary[] = {FVM_OP_BIT_AND, FVM_OP_BIT_OR, FVM_OP_BIT_XOR,
                                         FVM_OP_SHL, FVM_OP_SHR, FVM_OP_SPACESHIP};
static const unsigned slot_int_ops[] = {FVM_OP_PRE_INC_SLOT, FVM_OP_PRE_DEC_SLOT,
                                        FVM_OP_POST_INC_SLOT, FVM_OP_POST_DEC_SLOT};
static const unsigned float_binary[] = {FVM_OP_POW, FVM_OP_POW_FLOAT, FVM_OP_ATAN2_FLOAT,
                                        FVM_OP_AWK_ATAN2};
static const unsigned float_unary[] = {
    FVM_OP_SQRT_FLOAT, FVM_OP_SIN_FLOAT, FVM_OP_COS_FLOAT, FVM_OP_EXP_FLOAT, FVM_OP_LOG_FLOAT,
    FVM_OP_ABS_FLOAT, FVM_OP_CEIL_FLOAT, FVM_OP_FLOOR_FLOAT, FVM_OP_TRUNC_FLOAT, FVM_OP_ROUND_FLOAT,
    FVM_OP_TAN_FLOAT, FVM_OP_ASIN_FLOAT, FVM_OP_ACOS_FLOAT, FVM_OP_ATAN_FLOAT, FVM_OP_SINH_FLOAT,
    FVM_OP_COSH_FLOAT, FVM_OP_TANH_FLOAT, FVM_OP_LOG2_FLOAT, FVM_OP_LOG10_FLOAT,
    FVM_OP_AWK_SIN, FVM_OP_AWK_COS, FVM_OP_AWK_EXP};
static const unsigned compares[] = {FVM_OP_NUM_EQ, FVM_OP_NUM_NE, FVM_OP_NUM_LT,
                                    FVM_OP_NUM_GT, FVM_OP_NUM_LE, FVM_OP_NUM_GE};

/* Three values of kind k combined into one by two ops of ops. */
static void three_into_one(lg_gen *g, lg_kind k, const unsigned *ops, size_t nops)
{
    expr(g, k);
    expr(g, k);
    expr(g, k);
    emit_code(g, FVM_OP_ROT);
    emit_code(g, ops[rnd(g, nops)]);
    emit_code(g, ops[rnd(g, nops)]);
}

/* a b Dup2 then three ops: a op (b op (a op b)). */
static void dup2_into_one(lg_gen *g, lg_kind k, const unsigned *ops, size_t nops)
{
    expr(g, k);
    expr(g, k);
    emit_code(g, FVM_OP_DUP2);
    for (int i = 0; i < 3; i++)
        emit_code(g, ops[rnd(g, nops)]);
}

static void int_expr(lg_gen *g)
{
    int s;
    switch (rnd(g, 11)) {
    case 0:
        expr(g, K_INT);
        expr(g, K_INT);
        emit_code(g, PICK(&g->r, int_arith));
        break;
    case 1:
        expr(g, K_ANY);
        emit_code(g, PICK(&g->r, to_int_unary));
        break;
    case 2:
        expr(g, K_ANY);
        expr(g, K_ANY);
        if (rnd(g, 4) == 0) { /* AWK's and/or/xor of two operands */
            fvm_op op = {(uint16_t)PICK(&g->r, awk_fold), 2, 0, 0, {0}};
            emit(g, op);
        } else
            emit_code(g, PICK(&g->r, to_int_binary));
        break;
    case 3:
        expr(g, K_INT);
        emit_code(g, FVM_OP_NEGATE);
        break;
    case 4: /* these write the slot as an Int: only Int data slots */
        s = pick_slot(g, K_INT, true);
        if (s < 0)
            leaf(g, K_INT);
        else {
            fvm_op op = {(uint16_t)PICK(&g->r, slot_int_ops), (uint16_t)s, 0, 0, {0}};
            emit(g, op);
        }
        break;
    case 5: ternary(g, K_INT); break;
    case 6: keep(g, K_INT); break;
    case 7:
        expr(g, K_INT);
        emit_code(g, FVM_OP_DUP);
        emit_code(g, PICK(&g->r, int_arith));
        break;
    case 8:
        expr(g, K_INT);
        expr(g, K_INT);
        emit_code(g, FVM_OP_SWAP);
        emit_code(g, PICK(&g->r, int_arith));
        break;
    case 9: three_into_one(g, K_INT, int_arith, COUNT(int_arith)); break;
    default: dup2_into_one(g, K_INT, int_arith, COUNT(int_arith)); break;
    }
}

/* A divisor that is zero in one of its forms. */
static void zero(lg_gen *g)
{
    switch (rnd(g, 5)) {
    case 0: emit(g, FVM_LOAD_INT(0)); break;
    case 1: emit(g, FVM_LOAD_FLOAT(0.0)); break;
    case 2: emit(g, FVM_LOAD_FLOAT(-0.0)); break;
    case 3: emit_code(g, FVM_OP_LOAD_FALSE); break;
    default: emit_code(g, FVM_OP_LOAD_UNDEF); break;
    }
}

static void float_expr(lg_gen *g)
{
    static const unsigned arith[] = {FVM_OP_ADD, FVM_OP_SUB, FVM_OP_MUL, FVM_OP_MOD};
    switch (rnd(g, 11)) {
    case 0: /* one Float operand makes the result a Float */
        if (rnd(g, 2)) {
            expr(g, K_FLOAT);
            expr(g, K_ANY);
        } else {
            expr(g, K_ANY);
            expr(g, K_FLOAT);
        }
        emit_code(g, PICK(&g->r, arith));
        break;
    case 1:
        expr(g, K_ANY);
        expr(g, K_ANY);
        emit_code(g, PICK(&g->r, float_binary));
        break;
    case 2:
        expr(g, K_ANY);
        emit_code(g, PICK(&g->r, float_unary));
        break;
    case 3: /* an AWK division: a zero divisor is an error */
        expr(g, K_ANY);
        if (rnd(g, 6) == 0)
            zero(g);
        else
            expr(g, K_ANY);
        emit_code(g, rnd(g, 2) ? FVM_OP_AWK_DIV_JIT : FVM_OP_AWK_MOD_JIT);
        break;
    case 4:
        expr(g, K_FLOAT);
        emit_code(g, FVM_OP_NEGATE);
        break;
    case 5: ternary(g, K_FLOAT); break;
    case 6: keep(g, K_FLOAT); break;
    case 7: { /* Div by a constant that is not zero is always a Float */
        expr(g, K_ANY);
        double d;
        do
            d = rnd_float(&g->r);
        while (d == 0.0);
        emit(g, rnd(g, 2) ? FVM_LOAD_FLOAT(d) : FVM_LOAD_INT(rnd(g, 2) ? -1 : (int64_t)rnd(g, 9) + 1));
        emit_code(g, FVM_OP_DIV);
        break;
    }
    case 8:
        expr(g, K_FLOAT);
        emit_code(g, FVM_OP_DUP);
        emit_code(g, PICK(&g->r, arith));
        break;
    case 9: three_into_one(g, K_FLOAT, arith, COUNT(arith)); break;
    default: dup2_into_one(g, K_FLOAT, arith, COUNT(arith)); break;
    }
}

static void bool_expr(lg_gen *g)
{
    switch (rnd(g, 5)) {
    case 0:
    case 1:
        expr(g, K_ANY);
        expr(g, K_ANY);
        emit_code(g, PICK(&g->r, compares));
        break;
    case 2:
        expr(g, K_ANY);
        emit_code(g, FVM_OP_LOG_NOT);
        break;
    case 3: ternary(g, K_BOOL); break;
    default: keep(g, K_BOOL); break;
    }
}

static void undef_expr(lg_gen *g)
{
    switch (rnd(g, 3)) {
    case 0: /* Div by zero is Undef */
        expr(g, K_ANY);
        zero(g);
        emit_code(g, FVM_OP_DIV);
        break;
    case 1: ternary(g, K_UNDEF); break;
    default: leaf(g, K_UNDEF); break;
    }
}

static void any_expr(lg_gen *g)
{
    static const unsigned mixed[] = {FVM_OP_ADD, FVM_OP_SUB, FVM_OP_MUL, FVM_OP_MOD, FVM_OP_DIV};
    switch (rnd(g, 6)) {
    case 0:
        expr(g, K_ANY);
        expr(g, K_ANY);
        emit_code(g, PICK(&g->r, mixed));
        break;
    case 1: ternary(g, K_ANY); break;
    default: expr(g, any_kind(g)); break;
    }
}

static void expr(lg_gen *g, lg_kind k)
{
    if (g->nest >= 4 || small(g) || rnd(g, 3) == 0) {
        leaf(g, k);
        return;
    }
    g->nest++;
    switch (k) {
    case K_INT: int_expr(g); break;
    case K_FLOAT: float_expr(g); break;
    case K_BOOL: bool_expr(g); break;
    case K_UNDEF: undef_expr(g); break;
    default: any_expr(g); break;
    }
    g->nest--;
}

/* ------------------------------------------------------------------------
 * Statements: each leaves the stack as it found it and returns a bound on
 * the ops it executes
 * ------------------------------------------------------------------------ */

static uint64_t stmts(lg_gen *g, int count);

/* Emitted ops since start: for code without loops, a bound on ops run. */
static uint64_t since(lg_gen *g, size_t start)
{
    return g->n - start;
}

/* Write a data slot with a value of its kind; rarely with any value, after
 * which its kind is unknown. */
static uint64_t assign(lg_gen *g)
{
    size_t start = g->n;
    int s = (int)rnd(g, LG_NDATA);
    if (rnd(g, 20) == 0 || g->slot[s] == K_ANY) {
        expr(g, K_ANY);
        g->slot[s] = K_ANY;
    } else {
        expr(g, g->slot[s]);
    }
    emit(g, FVM_SET_SLOT((uint16_t)s));
    return since(g, start);
}

/* The fused ops that write an Int data slot without a value on the stack. */
static uint64_t slot_update(lg_gen *g)
{
    int s = pick_slot(g, K_INT, true);
    if (s < 0)
        return assign(g);
    switch (rnd(g, 3)) {
    case 0: emit(g, FVM_PRE_INC_SLOT_VOID((uint16_t)s)); break;
    case 1: emit(g, FVM_ADD_ASSIGN_SLOT_VOID((uint16_t)s, (uint16_t)rnd(g, LG_NSLOTS))); break;
    default: {
        fvm_op op = {(uint16_t)PICK(&g->r, slot_int_ops), (uint16_t)s, 0, 0, {0}};
        emit(g, op);
        emit_code(g, FVM_OP_POP);
        break;
    }
    }
    return 2;
}

static uint64_t if_else(lg_gen *g)
{
    size_t start = g->n;
    expr(g, rnd(g, 2) ? K_BOOL : K_ANY);
    size_t jf = emit(g, rnd(g, 2) ? FVM_JUMP_IF_FALSE(0) : FVM_JUMP_IF_TRUE(0));
    uint64_t cost = since(g, start) + stmts(g, 1 + (int)rnd(g, 2));
    if (rnd(g, 2)) {
        size_t j = emit(g, FVM_JUMP(0));
        patch(g, jf, g->n);
        cost += 1 + stmts(g, 1 + (int)rnd(g, 2));
        patch(g, j, g->n);
    } else {
        patch(g, jf, g->n);
    }
    return cost;
}

/* Leave the innermost loop when a condition holds (only where the stack is
 * as deep as at the loop's exit). */
static uint64_t loop_break(lg_gen *g)
{
    lg_loop *l = &g->loop[g->loops - 1];
    if (g->depth != l->depth || l->nbreaks == COUNT(l->breaks))
        return assign(g);
    size_t start = g->n;
    expr(g, rnd(g, 2) ? K_BOOL : K_ANY);
    l->breaks[l->nbreaks++] = emit(g, FVM_JUMP_IF_TRUE(0));
    return since(g, start);
}

/* The body of a loop on counter slot c at nesting level g->loops. */
static uint64_t loop_body(lg_gen *g)
{
    return stmts(g, 1 + (int)rnd(g, 3));
}

/* Iterations of a loop at the current level: inner loops run fewer times. */
static int64_t trip_count(lg_gen *g)
{
    static const int64_t max[LG_MAX_LOOPS] = {12, 6, 4};
    return (int64_t)rnd(g, (uint64_t)max[g->loops] + 1);
}

/* One counted loop in one of several shapes; the counter is slot c. */
static uint64_t loop_shape(lg_gen *g, uint16_t c, int64_t n, unsigned shape)
{
    size_t top, jexit = 0;
    uint64_t body;
    bool has_exit = true;
    switch (shape) {
    case 0: /* while (c < n) { body; c = c + 1 } with plain ops */
        emit(g, FVM_LOAD_INT(0));
        emit(g, FVM_SET_SLOT(c));
        top = emit(g, FVM_GET_SLOT(c));
        emit(g, FVM_LOAD_INT(n));
        emit_code(g, rnd(g, 2) ? FVM_OP_NUM_LT : FVM_OP_NUM_GE);
        jexit = emit(g, g->ops[g->n - 1].code == FVM_OP_NUM_LT ? FVM_JUMP_IF_FALSE(0) : FVM_JUMP_IF_TRUE(0));
        body = loop_body(g);
        if (rnd(g, 2)) {
            emit(g, FVM_GET_SLOT(c));
            emit(g, FVM_LOAD_INT(1));
            emit_code(g, FVM_OP_ADD);
            emit(g, FVM_SET_SLOT(c));
        } else {
            emit(g, FVM_PRE_INC_SLOT_VOID(c));
        }
        emit(g, FVM_JUMP((uint32_t)top));
        break;
    case 1: /* do { body; c++ } while (c < n), back-edge JumpIfTrue or JumpIfFalse */
        emit(g, FVM_LOAD_INT(0));
        emit(g, FVM_SET_SLOT(c));
        top = g->n;
        body = loop_body(g);
        emit(g, rnd(g, 2) ? FVM_PRE_INC_SLOT(c) : FVM_POST_INC_SLOT(c));
        emit_code(g, FVM_OP_POP);
        emit(g, FVM_GET_SLOT(c));
        emit(g, FVM_LOAD_INT(n));
        if (rnd(g, 2)) {
            emit_code(g, FVM_OP_NUM_LT);
            emit(g, FVM_JUMP_IF_TRUE((uint32_t)top));
        } else {
            emit_code(g, FVM_OP_NUM_GE);
            emit(g, FVM_JUMP_IF_FALSE((uint32_t)top));
        }
        has_exit = false;
        break;
    case 2: /* fused test at the top */
        emit(g, FVM_LOAD_INT(0));
        emit(g, FVM_SET_SLOT(c));
        top = g->n;
        jexit = emit(g, FVM_SLOT_LT_INT_JUMP_IF_FALSE(c, (int32_t)n, 0));
        body = loop_body(g);
        emit(g, FVM_PRE_INC_SLOT_VOID(c));
        emit(g, FVM_JUMP((uint32_t)top));
        break;
    case 3: /* fused increment and back-edge, with or without a guard */
        emit(g, FVM_LOAD_INT(-(int64_t)rnd(g, 3)));
        emit(g, FVM_SET_SLOT(c));
        has_exit = rnd(g, 2);
        if (has_exit)
            jexit = emit(g, FVM_SLOT_LT_INT_JUMP_IF_FALSE(c, (int32_t)n, 0));
        top = g->n;
        body = loop_body(g);
        emit(g, FVM_SLOT_INC_LT_INT_JUMP_BACK(c, (int32_t)n, (uint32_t)top));
        break;
    case 4: /* counting down with PreDecSlot */
        emit(g, FVM_LOAD_INT(n));
        emit(g, FVM_SET_SLOT(c));
        top = emit(g, FVM_GET_SLOT(c));
        emit(g, FVM_LOAD_INT(0));
        emit_code(g, FVM_OP_NUM_GT);
        jexit = emit(g, FVM_JUMP_IF_FALSE(0));
        body = loop_body(g);
        emit(g, rnd(g, 2) ? FVM_PRE_DEC_SLOT(c) : FVM_POST_DEC_SLOT(c));
        emit_code(g, FVM_OP_POP);
        emit(g, FVM_JUMP((uint32_t)top));
        break;
    default: /* a Float counter: 0.5, 1.5, ... < n */
        g->slot[c] = K_FLOAT;
        emit(g, FVM_LOAD_FLOAT(0.5));
        emit(g, FVM_SET_SLOT(c));
        top = emit(g, FVM_GET_SLOT(c));
        emit(g, FVM_LOAD_FLOAT((double)n));
        emit_code(g, FVM_OP_NUM_LT);
        jexit = emit(g, FVM_JUMP_IF_FALSE(0));
        body = loop_body(g);
        emit(g, FVM_GET_SLOT(c));
        emit(g, FVM_LOAD_FLOAT(1.0));
        emit_code(g, FVM_OP_ADD);
        emit(g, FVM_SET_SLOT(c));
        emit(g, FVM_JUMP((uint32_t)top));
        break;
    }
    if (has_exit)
        patch(g, jexit, g->n);
    /* The counter starts at most 2 below 0 and the body runs at most n + 3
     * times; 16 covers the loop's own ops per iteration. */
    return 4 + (uint64_t)(n + 4) * (body + 16);
}

static uint64_t loop(lg_gen *g)
{
    uint16_t c = (uint16_t)(LG_NDATA + g->loops);
    lg_kind before = g->slot[c];
    int64_t n = trip_count(g);
    lg_loop *l = &g->loop[g->loops];
    l->nbreaks = 0;
    l->depth = g->depth;
    g->slot[c] = K_INT;
    g->loops++;
    uint64_t cost = loop_shape(g, c, n, (unsigned)rnd(g, 6));
    g->loops--;
    for (size_t i = 0; i < l->nbreaks; i++)
        patch(g, l->breaks[i], g->n);
    /* On every path that ran the loop the counter is a number; a path that
     * skipped it (an if around it) keeps the old value. */
    g->slot[c] = before == g->slot[c] ? before : K_ANY;
    return cost;
}

/* AccumSumLoop(sum, i, limit) from a small start, i being the counter of
 * the current level (not used by any loop around it). */
static uint64_t accum(lg_gen *g)
{
    int s = pick_slot(g, K_INT, true);
    if (s < 0 || g->loops == LG_MAX_LOOPS)
        return assign(g);
    uint16_t c = (uint16_t)(LG_NDATA + g->loops);
    emit(g, FVM_LOAD_INT((int64_t)rnd(g, 7) - 3));
    emit(g, FVM_SET_SLOT(c));
    int32_t limit = rnd(g, 8) ? (int32_t)rnd(g, 40) - 5 : (int32_t)rnd(g, 100000);
    emit(g, FVM_ACCUM_SUM_LOOP((uint16_t)s, c, limit));
    if (g->slot[c] != K_INT)
        g->slot[c] = K_ANY; /* as for loops: an if may skip this */
    return 3;
}

/* A value kept on the stack across a statement, then combined and stored. */
static uint64_t value_across(lg_gen *g)
{
    size_t start = g->n;
    lg_kind k = rnd(g, 2) ? K_INT : K_FLOAT;
    expr(g, k);
    uint64_t cost = since(g, start);
    cost += stmts(g, 1);
    start = g->n;
    expr(g, k);
    emit_code(g, PICK(&g->r, int_arith));
    int s = pick_slot(g, k, true);
    emit(g, s >= 0 ? FVM_SET_SLOT((uint16_t)s) : FVM_POP());
    return cost + since(g, start);
}

static uint64_t stmt(lg_gen *g)
{
    if (small(g))
        return assign(g);
    size_t start = g->n;
    switch (rnd(g, 13)) {
    case 0:
    case 1:
    case 2: return assign(g);
    case 3:
        expr(g, K_ANY);
        emit_code(g, FVM_OP_POP);
        return since(g, start);
    case 4: return slot_update(g);
    case 5:
    case 6: return if_else(g);
    case 7:
    case 8:
    case 9: return g->loops < LG_MAX_LOOPS ? loop(g) : assign(g);
    case 10: return g->loops ? loop_break(g) : accum(g);
    case 11: return accum(g);
    default: return value_across(g);
    }
}

static uint64_t stmts(lg_gen *g, int count)
{
    uint64_t cost = 0;
    for (int i = 0; i < count; i++)
        cost += stmt(g);
    return cost;
}

/* ------------------------------------------------------------------------
 * Programs
 * ------------------------------------------------------------------------ */

/* What the program leaves: usually one value, sometimes none (Halted) or
 * two (the top one is the result). */
static uint64_t ending(lg_gen *g)
{
    size_t start = g->n;
    switch (rnd(g, 10)) {
    case 0:
    case 1: return 0;
    case 2:
        expr(g, K_ANY);
        expr(g, (lg_kind)rnd(g, 5));
        break;
    case 3: ternary(g, (lg_kind)rnd(g, 5)); break; /* its join is the chunk's end */
    default: expr(g, rnd(g, 4) ? any_kind(g) : K_ANY); break;
    }
    return since(g, start);
}

lg_program lg_generate(uint64_t seed)
{
    lg_gen *g = calloc(1, sizeof *g);
    lg_program p = {0};
    if (!g)
        abort();
    lg_seed(&g->r, seed);
    g->budget = 20 + rnd(g, 160);
    static const lg_kind kinds[] = {K_INT, K_INT, K_INT, K_FLOAT, K_FLOAT, K_FLOAT, K_BOOL, K_UNDEF};
    static const fvm_type types[] = {FVM_T_INT, FVM_T_FLOAT, FVM_T_BOOL, FVM_T_UNDEF};
    for (int s = 0; s < LG_NDATA; s++) {
        g->slot[s] = PICK(&g->r, kinds);
        p.kind[s] = types[g->slot[s]];
    }
    for (int s = LG_NDATA; s < LG_NSLOTS; s++)
        g->slot[s] = K_ANY;
    p.max_steps = stmts(g, 1 + (int)rnd(g, 5)) + ending(g);
    p.depth = g->depth;
    fvm_builder *b = fvm_builder_new();
    fvm_add_constant(b, fvm_int(rnd_int(&g->r)));
    fvm_add_constant(b, fvm_float(rnd_float(&g->r)));
    fvm_add_constant(b, fvm_bool(rnd(g, 2)));
    fvm_add_constant(b, fvm_undef());
    for (size_t i = 0; i < g->n; i++)
        fvm_emit(b, g->ops[i], (uint32_t)i + 1);
    p.chunk = fvm_build(b);
    if (!p.chunk) {
        fprintf(stderr, "loopgen: seed %llu does not build: %s\n", (unsigned long long)seed,
                fvm_builder_error(b) ? fvm_builder_error(b) : "?");
        abort();
    }
    fvm_builder_free(b);
    free(g);
    return p;
}
