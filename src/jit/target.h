/* The target machine as the target-neutral parts of the JIT see it:
 * registers, register sets and the calling-convention facts the register
 * allocator needs (LuaJIT's lj_target.h plays this part there).
 *
 * The values come from the backend for the architecture being built for.
 * The Makefile names the backend's header in FVM_JIT_BACKEND_HEADER (the
 * backend's file prefix, then "_backend.h": the x64 backend's on x86-64),
 * and that header defines every name listed below from its own machine
 * description. A second architecture plugs in by writing such a header
 * and the services of backend.h, and naming its prefix in the Makefile;
 * nothing here or in the allocator names a machine.
 *
 * What the backend's header defines:
 *
 *   fvm_reg                a register: one numbering for every class,
 *                          below the width of fvm_regset
 *   fvm_regset             an unsigned integer type, bit r standing for r
 *   FVM_REG_NONE           "no register" (never a member of any set)
 *   FVM_RSET_GPR           the general-purpose registers (integers,
 *                          pointers)
 *   FVM_RSET_FPR           the floating-point registers (doubles)
 *   FVM_RSET_ALLOCATABLE   registers that may hold a value at all (not the
 *                          stack pointer, nor one the ABI reserves)
 *   FVM_RSET_CALLER_SAVED  what a call may destroy
 *   FVM_RSET_CALLEE_SAVED  what a call preserves, so a function that uses
 *                          one saves and restores it
 *   FVM_RSET_SCRATCH       registers the backend's lowering keeps for
 *                          itself (operands it must load, division,
 *                          calls); the allocator never hands them out
 *   fvm_reg_name(r)        the name a disassembler prints, for dumps
 *   fvm_reg_is_fpr(r)      whether r is a floating-point register
 *
 * and, for backend.h, the names listed there. */
#ifndef FVM_JIT_TARGET_H
#define FVM_JIT_TARGET_H

#include <stdbool.h>
#include <stdint.h>

#ifdef FVM_JIT_BACKEND_HEADER
#include FVM_JIT_BACKEND_HEADER
#else
#error "no JIT backend for this architecture (the Makefile defines FVM_JIT_BACKEND_HEADER)"
#endif

/* The set holding register r alone. */
#define FVM_RSET(r) ((fvm_regset)1 << (r))
/* Every register: the mask for "no restriction". */
#define FVM_RSET_ALL ((fvm_regset)~(fvm_regset)0)

/* Whether some floating-point registers survive a call (x86-64: none, all
 * XMM registers are caller-saved; aarch64: the low halves of v8-v15). */
#define FVM_FPRS_SURVIVE_CALLS ((FVM_RSET_CALLEE_SAVED & FVM_RSET_FPR) != 0)

/* The lowest and the highest register of a non-empty set, and a set's
 * size. Computed on 64 bits, so they serve a set of either width. */
static inline fvm_reg fvm_rset_lowest(fvm_regset s)
{
    return (fvm_reg)__builtin_ctzll((unsigned long long)s);
}

static inline fvm_reg fvm_rset_highest(fvm_regset s)
{
    return (fvm_reg)(63 - __builtin_clzll((unsigned long long)s));
}

static inline unsigned fvm_rset_count(fvm_regset s)
{
    return (unsigned)__builtin_popcountll((unsigned long long)s);
}

#endif
