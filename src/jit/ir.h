/* The JIT's SSA IR, shared by every tier.
 *
 * A function is an array of instructions; an instruction's index is the SSA
 * value it defines (value 0 is reserved as "none"). Instructions belong to
 * basic blocks and are kept in emission order, which is also the order the
 * register allocator numbers them in. PARAM instructions are the function's
 * parameters and sit in block 0. The linear tier emits a single block; the
 * block tier emits loops and branches as many blocks.
 *
 * Values are typed: I64 (integers, wrapping), F64 (IEEE doubles), PTR (an
 * address, e.g. the slot array) and BOOL (0 or 1, held in a GPR).
 *
 * Construction goes through fvm_ir_emit, which folds and hash-conses: a pure
 * instruction whose operands are constants becomes a constant, a few
 * algebraic identities and the reassociations of WRAPPING integer arithmetic
 * ((x*c1 + c2)*c3 -> x*(c1*c3) + c2*c3, (x+c1)+c2 -> x+(c1+c2), ...) are
 * applied, and an instruction equal to an earlier pure one in the same block
 * returns the earlier value. Floats are never reassociated and float
 * identities (x*1.0, x+0.0) are not applied: they change NaN payloads and
 * signed zeros. Folding uses the same C expressions the interpreter uses, so
 * a folded constant has the bits the interpreter would compute.
 *
 * Variables carry values across blocks: VGET reads a variable, VSET writes
 * it, and each variable has one home for the whole function (the register
 * allocator picks it), so a loop keeps its variables in registers without
 * phi moves. A value never lives past its block except through a variable
 * (function parameters excepted). JMP and BR end a block.
 *
 * Guards exit the function when their condition is false. Each carries a
 * snapshot: the bytecode ip to resume at and, for every live slot and stack
 * entry, the SSA value that holds it (entries also name an inlined frame
 * depth, 0 for the outermost frame, so inlining tiers can describe frames).
 * Snapshot values count as uses, so they stay alive up to the guard. */
#ifndef FVM_JIT_IR_H
#define FVM_JIT_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

typedef enum fvm_ir_type {
    FVM_IR_VOID,
    FVM_IR_I64,
    FVM_IR_F64,
    FVM_IR_PTR,
    FVM_IR_BOOL
} fvm_ir_type;

/* Condition of ICMP (signed) and FCMP (IEEE: every compare with a NaN is
 * false except NE, which is true). */
typedef enum fvm_ir_cond {
    FVM_IR_EQ,
    FVM_IR_NE,
    FVM_IR_LT,
    FVM_IR_GT,
    FVM_IR_LE,
    FVM_IR_GE
} fvm_ir_cond;

/* X(ENUM, name, nargs, flags). P: pure (foldable, CSE-able, removable when
 * unused); C: commutative; R: removable when unused but not CSE-able. Operand
 * meaning, `imm` and `aux` are given per op:
 *   CONST_I   imm = the integer             CONST_F  imm = the double's bits
 *   PARAM     aux = parameter index (function parameters in block 0)
 *   SHL, SAR, SHR  count masked with 63 (SHR logical)
 *   MOD       Int Mod: by 0 or -1 is 0
 *   ICMP/FCMP aux = fvm_ir_cond, BOOL result
 *   F2I       truncate, saturating, NaN -> 0 (the interpreter's to_int)
 *   LOAD      arg0 = PTR base, imm = byte offset; the instruction's type;
 *             aux = 4 reads a 32-bit word, zero-extended to I64
 *   STORE     arg0 = PTR base, arg1 = value, imm = byte offset
 *   CALL      aux = helper id (helpers.h), args = arguments; pure if the
 *             helper is
 *   GUARD     arg0 = BOOL condition; exit unless true; aux = snapshot id
 *   RET       aux = status returned (0 = completed)
 *   VGET      aux = variable; the variable's type
 *   VSET      arg0 = value, aux = variable
 *   JMP       aux = target block
 *   BR        arg0 = condition (BOOL or I64, true when not 0), aux = block
 *             when true, imm = block when false */
#define FVM_IR_OP_LIST(X)                                                                           \
    X(NOP, "nop", 0, 0)                                                                             \
    X(CONST_I, "const", 0, P)                                                                       \
    X(CONST_F, "fconst", 0, P)                                                                      \
    X(PARAM, "param", 0, 0)                                                                         \
    X(ADD, "add", 2, P | C)                                                                         \
    X(SUB, "sub", 2, P)                                                                             \
    X(MUL, "mul", 2, P | C)                                                                         \
    X(MOD, "mod", 2, P)                                                                             \
    X(AND, "and", 2, P | C)                                                                         \
    X(OR, "or", 2, P | C)                                                                           \
    X(XOR, "xor", 2, P | C)                                                                         \
    X(SHL, "shl", 2, P)                                                                             \
    X(SAR, "sar", 2, P)                                                                             \
    X(SHR, "shr", 2, P)                                                                             \
    X(NEG, "neg", 1, P)                                                                             \
    X(NOT, "not", 1, P)                                                                             \
    X(ICMP, "icmp", 2, P)                                                                           \
    X(FADD, "fadd", 2, P | C)                                                                       \
    X(FSUB, "fsub", 2, P)                                                                           \
    X(FMUL, "fmul", 2, P | C)                                                                       \
    X(FDIV, "fdiv", 2, P)                                                                           \
    X(FNEG, "fneg", 1, P)                                                                           \
    X(FABS, "fabs", 1, P)                                                                           \
    X(FSQRT, "fsqrt", 1, P)                                                                         \
    X(FCMP, "fcmp", 2, P)                                                                           \
    X(I2F, "i2f", 1, P)                                                                             \
    X(F2I, "f2i", 1, P)                                                                             \
    X(LOAD, "load", 1, 0)                                                                           \
    X(STORE, "store", 2, 0)                                                                         \
    X(CALL, "call", -1, 0)                                                                          \
    X(GUARD, "guard", 1, 0)                                                                         \
    X(RET, "ret", 0, 0)                                                                             \
    X(VGET, "vget", 0, R)                                                                           \
    X(VSET, "vset", 1, 0)                                                                           \
    X(JMP, "jmp", 0, 0)                                                                             \
    X(BR, "br", 1, 0)

typedef enum fvm_ir_op {
#define FVM_IR_OP_ENUM(e, n, a, f) FVM_IR_##e,
    FVM_IR_OP_LIST(FVM_IR_OP_ENUM)
#undef FVM_IR_OP_ENUM
    FVM_IR_NOPS
} fvm_ir_op;

typedef uint32_t fvm_ir_ref; /* a value: the index of its instruction; 0 is none */

#define FVM_IR_MAX_ARGS 3

typedef struct fvm_ir_inst {
    uint8_t op;   /* fvm_ir_op */
    uint8_t type; /* fvm_ir_type */
    uint8_t nargs;
    bool dead;    /* removed by fvm_ir_dce; skipped by later passes */
    uint32_t aux;
    uint32_t block;
    fvm_ir_ref args[FVM_IR_MAX_ARGS];
    int64_t imm;
} fvm_ir_inst;

/* SLOT and STACK entries name an SSA value; a VAR entry's value is a
 * variable number (its current value at the guard). */
typedef enum fvm_ir_snap_kind {
    FVM_IR_SNAP_SLOT,
    FVM_IR_SNAP_STACK,
    FVM_IR_SNAP_VAR
} fvm_ir_snap_kind;

typedef struct fvm_ir_snap_entry {
    uint8_t kind;     /* fvm_ir_snap_kind */
    uint8_t vtype;    /* the language type the tier gives the value (tier-defined) */
    uint16_t frame;   /* inlined frame depth; 0 = the outermost frame */
    uint32_t index;   /* slot number, or stack position from the bottom */
    fvm_ir_ref value;
} fvm_ir_snap_entry;

typedef struct fvm_ir_snap {
    uint32_t ip;      /* bytecode ip to resume at */
    uint32_t first;   /* entries [first, first + count) of fvm_ir_func.snap_entries */
    uint32_t count;
} fvm_ir_snap;

typedef struct fvm_ir_func {
    fvm_ir_inst *insts;
    size_t ninsts, insts_cap;
    uint32_t nblocks, cur_block;
    fvm_ir_snap *snaps;
    size_t nsnaps, snaps_cap;
    fvm_ir_snap_entry *snap_entries;
    size_t nsnap_entries, snap_entries_cap;
    fvm_ir_ref *cse;  /* open-addressing hash of pure instructions of the current block */
    size_t cse_cap, cse_count;
    bool fold;        /* fold and hash-cons while emitting (on by default) */
    uint8_t *var_types; /* per variable: its fvm_ir_type */
    size_t nvars, vars_cap;
    /* When set (a PTR value live everywhere), a guard that fails stores its
     * snapshot there before exiting: SLOT and VAR entries at word `index`,
     * STACK entries at word exit_stack + index. */
    fvm_ir_ref exit_base;
    uint32_t exit_stack;
} fvm_ir_func;

void fvm_ir_init(fvm_ir_func *f);
void fvm_ir_free(fvm_ir_func *f);

/* Start a new block and make it current; returns its number. */
uint32_t fvm_ir_block_new(fvm_ir_func *f);
/* Number a block without entering it (for forward jumps), and enter a
 * numbered block. A block's instructions must be emitted together: enter
 * each block once, in layout order. */
uint32_t fvm_ir_block_alloc(fvm_ir_func *f);
void fvm_ir_block_enter(fvm_ir_func *f, uint32_t block);

/* A new variable of the given type; returns its number. */
uint32_t fvm_ir_var_new(fvm_ir_func *f, fvm_ir_type type);
fvm_ir_ref fvm_ir_vget(fvm_ir_func *f, uint32_t var);
void fvm_ir_vset(fvm_ir_func *f, uint32_t var, fvm_ir_ref v);
void fvm_ir_jmp(fvm_ir_func *f, uint32_t block);
void fvm_ir_br(fvm_ir_func *f, fvm_ir_ref cond, uint32_t if_true, uint32_t if_false);

/* Emit (fold, hash-cons) an instruction; returns the value it defines, an
 * equal earlier value, or a constant. args may be NULL when nargs is 0. */
fvm_ir_ref fvm_ir_emit(fvm_ir_func *f, fvm_ir_op op, fvm_ir_type type, const fvm_ir_ref *args,
                       unsigned nargs, int64_t imm, uint32_t aux);

fvm_ir_ref fvm_ir_const_i(fvm_ir_func *f, int64_t v);
fvm_ir_ref fvm_ir_const_f(fvm_ir_func *f, double v);
fvm_ir_ref fvm_ir_op1(fvm_ir_func *f, fvm_ir_op op, fvm_ir_type type, fvm_ir_ref a);
fvm_ir_ref fvm_ir_op2(fvm_ir_func *f, fvm_ir_op op, fvm_ir_type type, fvm_ir_ref a, fvm_ir_ref b);
fvm_ir_ref fvm_ir_cmp(fvm_ir_func *f, fvm_ir_op op, fvm_ir_cond cond, fvm_ir_ref a, fvm_ir_ref b);
fvm_ir_ref fvm_ir_call(fvm_ir_func *f, uint32_t helper, const fvm_ir_ref *args, unsigned nargs);

/* Record a snapshot (entries copied) and return its id for GUARD's aux. */
uint32_t fvm_ir_snap_add(fvm_ir_func *f, uint32_t ip, const fvm_ir_snap_entry *entries,
                         size_t count);

static inline const fvm_ir_inst *fvm_ir_get(const fvm_ir_func *f, fvm_ir_ref r) { return &f->insts[r]; }
bool fvm_ir_is_const(const fvm_ir_func *f, fvm_ir_ref r);
/* Mark unused pure instructions dead (transitively). */
void fvm_ir_dce(fvm_ir_func *f);
/* Number of instructions that are not dead (value 0 excluded). */
size_t fvm_ir_live_count(const fvm_ir_func *f);

const char *fvm_ir_op_name(fvm_ir_op op);
bool fvm_ir_op_pure(const fvm_ir_func *f, const fvm_ir_inst *in);
/* Whether DCE may remove in when its value is unused. */
bool fvm_ir_op_removable(const fvm_ir_func *f, const fvm_ir_inst *in);
/* Append the text form, one instruction a line, dead ones left out. */
void fvm_ir_dump(const fvm_ir_func *f, fvm_buf *out);

#endif
