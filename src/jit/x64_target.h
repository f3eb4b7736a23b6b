/* x86-64 target description: registers, register classes and sets, the
 * System V calling convention facts the register allocator and the lowering
 * need, condition codes, and the CPU features the code generator may use.
 * Everything here is a fact about the machine, not a policy of ours, except
 * where a comment says so. */
#ifndef FVM_X64_TARGET_H
#define FVM_X64_TARGET_H

#include <stdbool.h>
#include <stdint.h>

/* ------------------------------------------------------------------------
 * Registers
 * ------------------------------------------------------------------------ */

/* General-purpose registers in hardware encoding order (the low three bits
 * go into ModRM/SIB, the fourth into REX), with their 64-bit names. */
#define FVM_X64_GPR_LIST(X)                                                                         \
    X(RAX, "rax") X(RCX, "rcx") X(RDX, "rdx") X(RBX, "rbx")                                         \
    X(RSP, "rsp") X(RBP, "rbp") X(RSI, "rsi") X(RDI, "rdi")                                         \
    X(R8, "r8") X(R9, "r9") X(R10, "r10") X(R11, "r11")                                             \
    X(R12, "r12") X(R13, "r13") X(R14, "r14") X(R15, "r15")

#define FVM_X64_XMM_LIST(X)                                                                         \
    X(XMM0, "xmm0") X(XMM1, "xmm1") X(XMM2, "xmm2") X(XMM3, "xmm3")                                 \
    X(XMM4, "xmm4") X(XMM5, "xmm5") X(XMM6, "xmm6") X(XMM7, "xmm7")                                 \
    X(XMM8, "xmm8") X(XMM9, "xmm9") X(XMM10, "xmm10") X(XMM11, "xmm11")                             \
    X(XMM12, "xmm12") X(XMM13, "xmm13") X(XMM14, "xmm14") X(XMM15, "xmm15")

/* One numbering for both classes (GPRs 0..15, XMMs 16..31), so a register
 * set fits in 32 bits and the allocator can treat both classes alike. The
 * encoder uses the low four bits as the hardware number. */
typedef enum fvm_x64_reg {
#define FVM_X64_REG_ENUM(name, str) FVM_X64_##name,
    FVM_X64_GPR_LIST(FVM_X64_REG_ENUM)
    FVM_X64_XMM_LIST(FVM_X64_REG_ENUM)
#undef FVM_X64_REG_ENUM
    FVM_X64_NREG,
    /* Not registers: the base of a RIP-relative memory operand, and "no
     * register" (a memory operand without an index). */
    FVM_X64_RIP = 0x40,
    FVM_X64_NOREG = 0x7f
} fvm_x64_reg;

typedef enum fvm_x64_regclass {
    FVM_X64_CLASS_GPR, /* integers and pointers */
    FVM_X64_CLASS_XMM  /* doubles (scalar SSE2) */
} fvm_x64_regclass;

static inline bool fvm_x64_is_gpr(fvm_x64_reg r) { return (unsigned)r < 16; }
static inline bool fvm_x64_is_xmm(fvm_x64_reg r) { return (unsigned)r - 16 < 16; }
static inline fvm_x64_regclass fvm_x64_reg_class(fvm_x64_reg r)
{
    return fvm_x64_is_xmm(r) ? FVM_X64_CLASS_XMM : FVM_X64_CLASS_GPR;
}

/* The register's name as a disassembler prints it (64-bit GPR names). */
static inline const char *fvm_x64_reg_name(fvm_x64_reg r)
{
    static const char *const names[FVM_X64_NREG] = {
#define FVM_X64_REG_NAME(name, str) str,
        FVM_X64_GPR_LIST(FVM_X64_REG_NAME)
        FVM_X64_XMM_LIST(FVM_X64_REG_NAME)
#undef FVM_X64_REG_NAME
    };
    if ((unsigned)r < FVM_X64_NREG)
        return names[r];
    return r == FVM_X64_RIP ? "rip" : "?";
}

/* ------------------------------------------------------------------------
 * Register sets: bit r stands for register r.
 * ------------------------------------------------------------------------ */

typedef uint32_t fvm_x64_regset;

#define FVM_X64_RSET(r) ((fvm_x64_regset)1 << (r))
#define FVM_X64_RSET_GPR ((fvm_x64_regset)0x0000ffffu)
#define FVM_X64_RSET_XMM ((fvm_x64_regset)0xffff0000u)

/* RSP is the stack pointer and never holds a value. Everything else may be
 * allocated; RBP is an ordinary callee-saved register unless the frame
 * layout chooses to keep a frame pointer in it. */
#define FVM_X64_RSET_ALLOCATABLE ((FVM_X64_RSET_GPR | FVM_X64_RSET_XMM) & ~FVM_X64_RSET(FVM_X64_RSP))

/* System V: a call may destroy these (all XMM registers included) ... */
#define FVM_X64_RSET_CALLER_SAVED                                                                   \
    (FVM_X64_RSET(FVM_X64_RAX) | FVM_X64_RSET(FVM_X64_RCX) | FVM_X64_RSET(FVM_X64_RDX) |            \
     FVM_X64_RSET(FVM_X64_RSI) | FVM_X64_RSET(FVM_X64_RDI) | FVM_X64_RSET(FVM_X64_R8) |             \
     FVM_X64_RSET(FVM_X64_R9) | FVM_X64_RSET(FVM_X64_R10) | FVM_X64_RSET(FVM_X64_R11) |             \
     FVM_X64_RSET_XMM)
/* ... and preserves these, so code that uses them saves and restores them. */
#define FVM_X64_RSET_CALLEE_SAVED                                                                   \
    (FVM_X64_RSET(FVM_X64_RBX) | FVM_X64_RSET(FVM_X64_RBP) | FVM_X64_RSET(FVM_X64_R12) |            \
     FVM_X64_RSET(FVM_X64_R13) | FVM_X64_RSET(FVM_X64_R14) | FVM_X64_RSET(FVM_X64_R15))

/* ------------------------------------------------------------------------
 * System V AMD64 calling convention
 * ------------------------------------------------------------------------ */

/* Integer and pointer arguments in order; the rest go on the stack. */
#define FVM_X64_NUM_INT_ARGS 6
static inline fvm_x64_reg fvm_x64_int_arg(unsigned i)
{
    static const fvm_x64_reg regs[FVM_X64_NUM_INT_ARGS] = {
        FVM_X64_RDI, FVM_X64_RSI, FVM_X64_RDX, FVM_X64_RCX, FVM_X64_R8, FVM_X64_R9,
    };
    return i < FVM_X64_NUM_INT_ARGS ? regs[i] : FVM_X64_NOREG;
}

/* Double arguments: XMM0..XMM7, counted separately from integer ones
 * (f(long, double) takes RDI and XMM0). */
#define FVM_X64_NUM_FLOAT_ARGS 8
static inline fvm_x64_reg fvm_x64_float_arg(unsigned i)
{
    return i < FVM_X64_NUM_FLOAT_ARGS ? (fvm_x64_reg)(FVM_X64_XMM0 + i) : FVM_X64_NOREG;
}

/* Results. A 16-byte struct of two INTEGER eightbytes, such as fvm_value
 * (type word, then the payload union, which holds pointers and integers as
 * well as the double), comes back in RAX (type) and RDX (payload) and is
 * passed in two consecutive integer argument registers. */
#define FVM_X64_RET_INT FVM_X64_RAX
#define FVM_X64_RET_INT2 FVM_X64_RDX
#define FVM_X64_RET_FLOAT FVM_X64_XMM0
#define FVM_X64_RET_FLOAT2 FVM_X64_XMM1

/* RSP is a multiple of 16 at every call instruction, so on entry to a
 * function (after the return address is pushed) RSP % 16 == 8. */
#define FVM_X64_STACK_ALIGN 16

/* The ABI gives leaf functions 128 bytes below RSP. Our policy is not to
 * use it: generated code keeps every live byte above RSP, so exit stubs and
 * helper calls may push without first working out what a caller left
 * there. */
#define FVM_X64_RED_ZONE 0

/* ------------------------------------------------------------------------
 * Condition codes: the hardware numbers used in Jcc, SETcc and CMOVcc.
 * After CMP a, b: signed a < b is L, unsigned is B. After UCOMISD/COMISD
 * the flags look like an unsigned compare (use B, BE, A, AE, E, NE) and an
 * unordered result (a NaN operand) sets ZF, PF and CF at once, so E, B and
 * BE are also true for NaN; test P to tell.
 * ------------------------------------------------------------------------ */

typedef enum fvm_x64_cc {
    FVM_X64_CC_O = 0x0,  /* overflow */
    FVM_X64_CC_NO = 0x1,
    FVM_X64_CC_B = 0x2,  /* below (unsigned <), carry */
    FVM_X64_CC_AE = 0x3, /* above or equal (unsigned >=), no carry */
    FVM_X64_CC_E = 0x4,  /* equal, zero */
    FVM_X64_CC_NE = 0x5,
    FVM_X64_CC_BE = 0x6, /* unsigned <= */
    FVM_X64_CC_A = 0x7,  /* unsigned > */
    FVM_X64_CC_S = 0x8,  /* sign */
    FVM_X64_CC_NS = 0x9,
    FVM_X64_CC_P = 0xa,  /* parity even; after UCOMISD: unordered */
    FVM_X64_CC_NP = 0xb,
    FVM_X64_CC_L = 0xc,  /* signed < */
    FVM_X64_CC_GE = 0xd, /* signed >= */
    FVM_X64_CC_LE = 0xe, /* signed <= */
    FVM_X64_CC_G = 0xf   /* signed > */
} fvm_x64_cc;

/* The opposite condition: the encoding pairs them in the lowest bit. */
static inline fvm_x64_cc fvm_x64_cc_invert(fvm_x64_cc cc) { return (fvm_x64_cc)(cc ^ 1); }

/* ------------------------------------------------------------------------
 * CPU features beyond the x86-64 baseline (which includes SSE2). The bit
 * values are stored in the disk cache fingerprint: never renumber them.
 * ------------------------------------------------------------------------ */

enum {
    FVM_X64_CPU_SSE41 = 1u << 0,  /* roundsd */
    FVM_X64_CPU_AVX2 = 1u << 1,   /* also requires the OS to save YMM state */
    FVM_X64_CPU_BMI2 = 1u << 2,   /* shlx/sarx/shrx, mulx */
    FVM_X64_CPU_POPCNT = 1u << 3,
    FVM_X64_CPU_LZCNT = 1u << 4
};

/* The FVM_X64_CPU_* features of the running CPU (0 on other architectures),
 * found on the first call (from glibc, else with CPUID, which traps to the
 * hypervisor in a virtual machine) and remembered for the process. */
uint32_t fvm_x64_cpu_features(void);

#endif
