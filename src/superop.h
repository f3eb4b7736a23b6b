/* Load-time superinstructions: internal ops the interpreter runs in place of
 * common op sequences.
 *
 * When a chunk is assembled, an execution copy of its ops is made in which
 * the FIRST op of a recognised sequence is replaced by one of these. The other
 * ops of the sequence stay as they are, so a jump into the middle of a
 * sequence still runs the original ops, and op indices never change. On its
 * fast path (Int operands; Int or Float ones for the arithmetic and compare
 * forms) a superinstruction does the whole sequence and continues after it;
 * otherwise it does exactly what the op it replaced does and continues with
 * the next op. The chunk's public ops, the disassembler and the file formats
 * never see these codes.
 */
#ifndef FVM_SUPEROP_H
#define FVM_SUPEROP_H

#include "chunk.h"

/* Codes follow the end marker. Fields of each:
 *   SLOT_PAIR        GetSlot a; GetSlot b                 a, b
 *   SLOT_ARITH_INT   GetSlot a; LoadInt k; Add|Sub|Mul    a, b = arith opcode, limit = k
 *   SLOT_ARITH_SET   GetSlot a; LoadInt k; Add|Sub|Mul; SetSlot c
 *                                                         a, b = arith opcode, c, limit = k
 *   SLOT_CMP_JUMP    GetSlot a; LoadInt k; NumXx; JumpIfTrue|JumpIfFalse t
 *                                                         a, b = compare opcode,
 *                                                         c = 1 for JumpIfTrue, limit = k, target
 *   ARITH_INT        LoadInt k; Add|Sub|Mul                b = arith opcode, limit = k
 *   CMP_JUMP         NumXx; JumpIfTrue|JumpIfFalse t      b = compare opcode, c, target
 *   ARITH_SET        Add|Sub|Mul; SetSlot a               a, b = arith opcode
 *   SLOT_MOVE        GetSlot a; SetSlot b                 a, b
 *   SLOTS_ARITH_SET  GetSlot a; GetSlot b; Add|Sub|Mul; SetSlot c
 *                                                         a, b, c, limit = arith opcode
 *   SLOT_STEP        GetSlot a; Inc|Dec                   a, limit = +1 or -1
 *   SLOT_STEP_SET    GetSlot a; Inc|Dec; SetSlot c        a, c, limit = +1 or -1
 *   FLOAT_ARITH      LoadFloat k; Add|Sub|Mul             b = arith opcode, u.f = k
 * k of the Int forms must fit in 32 bits (it lives in limit).
 *
 * The JIT_ ops are not superinstructions: a JIT context puts them in its
 * own copy of the execution ops (vm_jit.h), with the other fields of the
 * op they replace: JIT_ENTER at the start of each region of native code
 * (jit/block_api.c), JIT_HOT at each loop header the tracing tier counts,
 * and JIT_RECORD at every op of the copy the VM runs while a trace is
 * recorded (jit/trace_api.c).
 *
 * HOOKED is not one either: a VM with hooks set (fusevm.h, "Hooks") runs a
 * copy of the chunk's plain ops in which each op a hook concerns is
 * HOOKED with b = the op's code (hooks.c). */
#define FVM_SUPEROP_LIST(X) \
    X(SLOT_PAIR, 2) \
    X(SLOT_ARITH_INT, 3) \
    X(SLOT_ARITH_SET, 4) \
    X(SLOT_CMP_JUMP, 4) \
    X(ARITH_INT, 2) \
    X(CMP_JUMP, 2) \
    X(ARITH_SET, 2) \
    X(SLOT_MOVE, 2) \
    X(SLOTS_ARITH_SET, 4) \
    X(SLOT_STEP, 2) \
    X(SLOT_STEP_SET, 3) \
    X(FLOAT_ARITH, 2) \
    X(JIT_ENTER, 1) \
    X(JIT_HOT, 1) \
    X(JIT_RECORD, 1) \
    X(HOOKED, 1)

enum {
    FVM_XOP_BASE_ = FVM_OP_END,
#define X(name, len) FVM_XOP_##name,
    FVM_SUPEROP_LIST(X)
#undef X
    FVM_XOP_COUNT
};

/* The execution copy of ops[0..len] (including the end marker). */
fvm_op *fvm_superops_build(const fvm_op *ops, size_t len);

#endif
