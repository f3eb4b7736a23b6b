/* Linear-scan register allocation over the live intervals of an IR
 * function (Poletto and Sarkar), general-purpose (GPR) and floating-point
 * (FPR) registers separately. The registers and the calling-convention
 * facts come from target.h, so the allocator names no machine.
 *
 * Positions are instruction indices. A value's interval runs from its
 * definition to its last use (a guard's snapshot counts as a use). An
 * interval ending where another starts may share its register: the lowering
 * reads every operand before it writes the result.
 *
 * Constants get no register (the lowering rematerialises them at each use as
 * an immediate, a register load or a constant-pool operand). Every other
 * value gets one register or one spill slot for its whole life: when more
 * intervals are live than registers are allowed, the one that ends last is
 * spilled. Helper calls follow the platform's C convention: an interval
 * that is live across a call (starts before and ends after it) may only
 * take a callee-saved register, so on x86-64 (System V) it takes a
 * callee-saved GPR, and a float live across a call is spilled (every XMM
 * register is caller-saved); the lowering saves the callee-saved registers
 * it uses.
 *
 * Variables (ir.h) get a home first, for the whole function: the most used
 * ones a register (callee-saved GPRs for integers when the function calls
 * helpers; FPRs for floats, callee-saved ones when the target has any,
 * else any FPR, saved around helper calls by the lowering), the rest a
 * frame slot. Temporaries are then allocated among the registers left. A
 * value read from a variable (VGET) lives in the variable's home itself
 * when the variable is not written while the value is still needed; a
 * value written to a variable (VSET) is computed straight into the home
 * when nothing between its definition and the write still needs the old
 * contents (no read of the variable, no guard, no other write). Loops thus
 * run on their variables in place, without copies.
 *
 * Values only cross blocks through variables, except function parameters
 * and any other value used outside its block, whose interval is extended
 * to the end of the function (safe around every back edge). */
#ifndef FVM_JIT_RA_H
#define FVM_JIT_RA_H

#include "jit/ir.h"
#include "jit/target.h"

typedef struct fvm_ra_config {
    fvm_regset allowed; /* registers values may live in */
} fvm_ra_config;

/* The default set: every allocatable register but the lowering's scratch
 * registers (target.h). */
#define FVM_RA_DEFAULT_ALLOWED (FVM_RSET_ALLOCATABLE & ~FVM_RSET_SCRATCH)

typedef struct fvm_ra_result {
    fvm_reg *reg;          /* per value: its register, or FVM_REG_NONE */
    int32_t *spill;        /* per value: its spill slot (8 bytes each), or -1 */
    fvm_reg *home;         /* per variable: its register, or FVM_REG_NONE */
    int32_t *home_spill;   /* per variable without a register: its frame slot */
    int32_t *home_save;    /* per variable in a caller-saved register, when the
                              function calls helpers: where calls save it; or -1 */
    uint32_t nspill;       /* spill slots used */
    fvm_regset used;       /* registers assigned to some value */
    uint32_t max_pressure; /* most values live at once (both classes) */
} fvm_ra_result;

/* Allocate; false only if cfg allows a register outside
 * FVM_RA_DEFAULT_ALLOWED. Free the result with fvm_ra_free. */
bool fvm_ra_run(const fvm_ir_func *f, const fvm_ra_config *cfg, fvm_ra_result *out);
void fvm_ra_free(fvm_ra_result *r);

/* Append "v12 -> rbx" lines for the allocated values. */
void fvm_ra_dump(const fvm_ir_func *f, const fvm_ra_result *r, fvm_buf *out);

#endif
