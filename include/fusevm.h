/*
 * fusevm — a language-agnostic bytecode VM with fused superinstructions.
 *
 * This is the only public header. A frontend builds bytecode with the
 * builder (fvm_builder_*, fvm_emit), gets an immutable, verified chunk, and
 * runs it on a VM (fvm_vm_*).
 *
 * Conventions
 *  - Every public name starts with fvm_ / FVM_.
 *  - Ownership of fvm_value: a function that "takes" a value consumes one
 *    reference; one that "returns" a value gives the caller one reference
 *    (release it with fvm_value_drop). "Borrowed" results stay valid until
 *    the owner changes. Scalars (undef, bool, int, float, status, nativefn,
 *    obj) need no release; dropping them is harmless.
 *  - Reference counts are not atomic: a value, chunk or VM is used by one
 *    thread at a time. Different VMs may run on different threads.
 *  - Nothing here calls exit() or abort() on bad input. Functions that can
 *    fail return NULL or a negative number and leave a message retrievable
 *    from the object concerned.
 */
#ifndef FUSEVM_H
#define FUSEVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FVM_BUILDING_LIBRARY) && defined(__GNUC__)
#define FVM_API __attribute__((visibility("default")))
#else
#define FVM_API
#endif

/* The version, as text and as one number for preprocessor comparisons
 * (major * 10000 + minor * 100 + patch: 0.1.0 is 100, 1.2.3 is 10203).
 * Bump both together with VERSION in the Makefile; a unit test checks that
 * the three agree. */
#define FVM_VERSION_STRING "0.1.0"
#define FVM_VERSION_NUM 100
/* The library's version, e.g. "0.1.0". */
FVM_API const char *fvm_version(void);

/* ------------------------------------------------------------------------
 * Values
 * ------------------------------------------------------------------------ */

typedef enum fvm_type {
    FVM_T_UNDEF,
    FVM_T_BOOL,
    FVM_T_INT,
    FVM_T_FLOAT,
    FVM_T_STR,
    FVM_T_ARRAY,
    FVM_T_HASH,
    FVM_T_STATUS,
    FVM_T_REF,
    FVM_T_NATIVEFN,
    FVM_T_OBJ
} fvm_type;

struct fvm_str;
struct fvm_array;
struct fvm_hash;
struct fvm_ref;

/* A 16-byte tagged value. Str, Array, Hash and Ref point to reference-counted
 * heap objects; arrays and hashes are copy-on-write, so copying a value is
 * cheap and a copy behaves as a deep copy. */
typedef struct fvm_value {
    uint32_t type; /* fvm_type */
    uint32_t pad_;
    union {
        bool b;
        int64_t i;
        double f;
        int32_t status;
        uint16_t fn;
        uint32_t obj;
        struct fvm_str *s;
        struct fvm_array *a;
        struct fvm_hash *h;
        struct fvm_ref *r;
    } as;
} fvm_value;

static inline fvm_value fvm_undef(void) { fvm_value v = {FVM_T_UNDEF, 0, {.i = 0}}; return v; }
static inline fvm_value fvm_bool(bool b) { fvm_value v = {FVM_T_BOOL, 0, {.i = 0}}; v.as.b = b; return v; }
static inline fvm_value fvm_int(int64_t i) { fvm_value v = {FVM_T_INT, 0, {.i = i}}; return v; }
static inline fvm_value fvm_float(double f) { fvm_value v = {FVM_T_FLOAT, 0, {.f = f}}; return v; }
static inline fvm_value fvm_status(int32_t c) { fvm_value v = {FVM_T_STATUS, 0, {.i = 0}}; v.as.status = c; return v; }
static inline fvm_value fvm_nativefn(uint16_t id) { fvm_value v = {FVM_T_NATIVEFN, 0, {.i = 0}}; v.as.fn = id; return v; }
static inline fvm_value fvm_obj(uint32_t id) { fvm_value v = {FVM_T_OBJ, 0, {.i = 0}}; v.as.obj = id; return v; }

/* A new string holding a copy of len bytes (NUL bytes allowed). */
FVM_API fvm_value fvm_str(const char *bytes, size_t len);
/* A new string holding a copy of a NUL-terminated C string. */
FVM_API fvm_value fvm_cstr(const char *s);
/* A new empty array / hash. */
FVM_API fvm_value fvm_array_new(void);
FVM_API fvm_value fvm_hash_new(void);
/* A new Ref boxing inner (takes inner). */
FVM_API fvm_value fvm_ref_new(fvm_value inner);

/* Another reference to v (returns). */
FVM_API fvm_value fvm_value_copy(fvm_value v);
/* Release one reference (takes v). */
FVM_API void fvm_value_drop(fvm_value v);

/* The bytes of a Str (borrowed; NUL-terminated for convenience); NULL for
 * other types. */
FVM_API const char *fvm_str_bytes(fvm_value v, size_t *len);

/* Arrays. fvm_array_at returns a borrowed element or Undef when out of
 * range. fvm_array_push takes item and may replace *arr's object when it is
 * shared (copy-on-write). Both return -1 if *arr is not an array. */
FVM_API size_t fvm_array_len(fvm_value arr);
FVM_API fvm_value fvm_array_at(fvm_value arr, size_t i);
FVM_API int fvm_array_push(fvm_value *arr, fvm_value item);

/* Hashes map byte-string keys to values and iterate in insertion order.
 * fvm_hash_get returns a borrowed value or Undef; fvm_hash_set takes v.
 * fvm_hash_entry reads the i-th entry in iteration order (borrowed). */
FVM_API size_t fvm_hash_count(fvm_value h);
FVM_API fvm_value fvm_hash_get(fvm_value h, const char *key, size_t klen);
FVM_API int fvm_hash_set(fvm_value *h, const char *key, size_t klen, fvm_value v);
FVM_API bool fvm_hash_entry(fvm_value h, size_t i, const char **key, size_t *klen, fvm_value *v);

/* The value inside a Ref (borrowed); Undef for other types. */
FVM_API fvm_value fvm_ref_get(fvm_value r);

/* Coercions, exactly as the VM's ops apply them (docs/ARCHITECTURE.md, "Values"). */
FVM_API bool fvm_truthy(fvm_value v);
FVM_API int64_t fvm_to_int(fvm_value v);
FVM_API double fvm_to_float(fvm_value v);
/* The string form as a new Str (returns). */
FVM_API fvm_value fvm_to_str(fvm_value v);
/* Byte length of a Str, element count of an Array or Hash, byte length of
 * the string form otherwise. */
FVM_API size_t fvm_value_len(fvm_value v);
/* Structural equality: same type and payload; Float compares with ==
 * (NaN != NaN, 0.0 == -0.0). */
FVM_API bool fvm_value_equal(fvm_value a, fvm_value b);

/* Shortest round-trip decimal form of d, positional (never an exponent),
 * without a trailing ".0"; "NaN", "inf", "-inf". Writes at most cap bytes
 * (including the NUL) when cap > 0 and returns the full length, like snprintf. */
FVM_API size_t fvm_format_float(double d, char *buf, size_t cap);

/* ------------------------------------------------------------------------
 * The instruction set
 *
 * Each op is listed once here. Columns:
 *   X(ENUM, Mnemonic, FORMAT, POP, PUSH, FLAGS)
 *   ENUM      suffix of FVM_OP_ENUM and name of the constructor FVM_ENUM(...)
 *   Mnemonic  upstream's spelling; used by the assembler and JSON import
 *   FORMAT    operand layout (FVM_FMT_*), which fixes the constructor's
 *             parameters and what the verifier checks
 *   POP/PUSH  stack effect; -1 means "depends on the operand"
 *   FLAGS     FVM_OPF_* bits
 * The order is upstream 0.13.3's declaration order, then the ops upstream
 * added up to 0.17 (its order among themselves). New ops go at the end.
 * docs/OPS.md says what each op does; `make ops-doc` checks it against
 * this table.
 * ------------------------------------------------------------------------ */

#define FVM_OPF_JUMP   0x01u /* has a jump target (u.j.target) */
#define FVM_OPF_FUSED  0x02u /* a fused superinstruction */
#define FVM_OPF_SHELL  0x04u /* routed through the shell host */
#define FVM_OPF_AWK    0x08u /* routed through the AWK host */
#define FVM_OPF_SCHED  0x10u /* a scheduler request (goroutines, channels) */

#define FVM_OP_LIST(X) \
    X(NOP, Nop, NONE, 0, 0, 0) \
    X(LOAD_INT, LoadInt, I64, 0, 1, 0) \
    X(LOAD_FLOAT, LoadFloat, F64, 0, 1, 0) \
    X(LOAD_CONST, LoadConst, CONST, 0, 1, 0) \
    X(LOAD_TRUE, LoadTrue, NONE, 0, 1, 0) \
    X(LOAD_FALSE, LoadFalse, NONE, 0, 1, 0) \
    X(LOAD_UNDEF, LoadUndef, NONE, 0, 1, 0) \
    X(POP, Pop, NONE, 1, 0, 0) \
    X(DUP, Dup, NONE, 1, 2, 0) \
    X(DUP2, Dup2, NONE, 2, 4, 0) \
    X(SWAP, Swap, NONE, 2, 2, 0) \
    X(ROT, Rot, NONE, 3, 3, 0) \
    X(GET_VAR, GetVar, NAME, 0, 1, 0) \
    X(SET_VAR, SetVar, NAME, 1, 0, 0) \
    X(DECLARE_VAR, DeclareVar, NAME, 1, 0, 0) \
    X(GET_SLOT, GetSlot, SLOT, 0, 1, 0) \
    X(SET_SLOT, SetSlot, SLOT, 1, 0, 0) \
    X(SLOT_ARRAY_GET, SlotArrayGet, SLOT, 1, 1, 0) \
    X(SLOT_ARRAY_SET, SlotArraySet, SLOT, 2, 0, 0) \
    X(GET_ARRAY, GetArray, NAME, 0, 1, 0) \
    X(SET_ARRAY, SetArray, NAME, 1, 0, 0) \
    X(DECLARE_ARRAY, DeclareArray, NAME, 0, 0, 0) \
    X(ARRAY_GET, ArrayGet, NAME, 1, 1, 0) \
    X(ARRAY_SET, ArraySet, NAME, 2, 0, 0) \
    X(ARRAY_PUSH, ArrayPush, NAME, 1, 0, 0) \
    X(ARRAY_POP, ArrayPop, NAME, 0, 1, 0) \
    X(ARRAY_SHIFT, ArrayShift, NAME, 0, 1, 0) \
    X(ARRAY_LEN, ArrayLen, NAME, 0, 1, 0) \
    X(MAKE_ARRAY, MakeArray, COUNT, -1, 1, 0) \
    X(GET_HASH, GetHash, NAME, 0, 1, 0) \
    X(SET_HASH, SetHash, NAME, 1, 0, 0) \
    X(DECLARE_HASH, DeclareHash, NAME, 0, 0, 0) \
    X(HASH_GET, HashGet, NAME, 1, 1, 0) \
    X(HASH_SET, HashSet, NAME, 2, 0, 0) \
    X(HASH_DELETE, HashDelete, NAME, 1, 1, 0) \
    X(HASH_EXISTS, HashExists, NAME, 1, 1, 0) \
    X(HASH_KEYS, HashKeys, NAME, 0, 1, 0) \
    X(HASH_VALUES, HashValues, NAME, 0, 1, 0) \
    X(MAKE_HASH, MakeHash, COUNT, -1, 1, 0) \
    X(ADD, Add, NONE, 2, 1, 0) \
    X(SUB, Sub, NONE, 2, 1, 0) \
    X(MUL, Mul, NONE, 2, 1, 0) \
    X(DIV, Div, NONE, 2, 1, 0) \
    X(MOD, Mod, NONE, 2, 1, 0) \
    X(POW, Pow, NONE, 2, 1, 0) \
    X(NEGATE, Negate, NONE, 1, 1, 0) \
    X(INC, Inc, NONE, 1, 1, 0) \
    X(DEC, Dec, NONE, 1, 1, 0) \
    X(CONCAT, Concat, NONE, 2, 1, 0) \
    X(STRING_REPEAT, StringRepeat, NONE, 2, 1, 0) \
    X(STRING_LEN, StringLen, NONE, 1, 1, 0) \
    X(NUM_EQ, NumEq, NONE, 2, 1, 0) \
    X(NUM_NE, NumNe, NONE, 2, 1, 0) \
    X(NUM_LT, NumLt, NONE, 2, 1, 0) \
    X(NUM_GT, NumGt, NONE, 2, 1, 0) \
    X(NUM_LE, NumLe, NONE, 2, 1, 0) \
    X(NUM_GE, NumGe, NONE, 2, 1, 0) \
    X(SPACESHIP, Spaceship, NONE, 2, 1, 0) \
    X(STR_EQ, StrEq, NONE, 2, 1, 0) \
    X(STR_NE, StrNe, NONE, 2, 1, 0) \
    X(STR_LT, StrLt, NONE, 2, 1, 0) \
    X(STR_GT, StrGt, NONE, 2, 1, 0) \
    X(STR_LE, StrLe, NONE, 2, 1, 0) \
    X(STR_GE, StrGe, NONE, 2, 1, 0) \
    X(STR_CMP, StrCmp, NONE, 2, 1, 0) \
    X(LOG_NOT, LogNot, NONE, 1, 1, 0) \
    X(LOG_AND, LogAnd, NONE, 2, 1, 0) \
    X(LOG_OR, LogOr, NONE, 2, 1, 0) \
    X(BIT_AND, BitAnd, NONE, 2, 1, 0) \
    X(BIT_OR, BitOr, NONE, 2, 1, 0) \
    X(BIT_XOR, BitXor, NONE, 2, 1, 0) \
    X(BIT_NOT, BitNot, NONE, 1, 1, 0) \
    X(SHL, Shl, NONE, 2, 1, 0) \
    X(SHR, Shr, NONE, 2, 1, 0) \
    X(JUMP, Jump, TARGET, 0, 0, FVM_OPF_JUMP) \
    X(JUMP_IF_TRUE, JumpIfTrue, TARGET, 1, 0, FVM_OPF_JUMP) \
    X(JUMP_IF_FALSE, JumpIfFalse, TARGET, 1, 0, FVM_OPF_JUMP) \
    X(JUMP_IF_TRUE_KEEP, JumpIfTrueKeep, TARGET, 1, 1, FVM_OPF_JUMP) \
    X(JUMP_IF_FALSE_KEEP, JumpIfFalseKeep, TARGET, 1, 1, FVM_OPF_JUMP) \
    X(CALL, Call, NAME_ARGC, -1, -1, 0) \
    X(RETURN, Return, NONE, -1, 0, 0) \
    X(RETURN_VALUE, ReturnValue, NONE, -1, 1, 0) \
    X(PUSH_FRAME, PushFrame, NONE, 0, 0, 0) \
    X(POP_FRAME, PopFrame, NONE, -1, 0, 0) \
    X(PRINT, Print, U8, -1, 0, 0) \
    X(PRINT_LN, PrintLn, U8, -1, 0, 0) \
    X(READ_LINE, ReadLine, NONE, 0, 1, 0) \
    X(RANGE, Range, NONE, 2, 1, 0) \
    X(RANGE_STEP, RangeStep, NONE, 3, 1, 0) \
    X(MAP_BLOCK, MapBlock, BLOCK, 0, 0, 0) \
    X(GREP_BLOCK, GrepBlock, BLOCK, 0, 0, 0) \
    X(SORT_BLOCK, SortBlock, BLOCK, 0, 0, 0) \
    X(SORT_DEFAULT, SortDefault, NONE, 0, 0, 0) \
    X(FOR_EACH_BLOCK, ForEachBlock, BLOCK, 0, 0, 0) \
    X(PRE_INC_SLOT, PreIncSlot, SLOT, 0, 1, FVM_OPF_FUSED) \
    X(SLOT_LT_INT_JUMP_IF_FALSE, SlotLtIntJumpIfFalse, SLOT_LIMIT_TARGET, 0, 0, FVM_OPF_FUSED | FVM_OPF_JUMP) \
    X(SLOT_INC_LT_INT_JUMP_BACK, SlotIncLtIntJumpBack, SLOT_LIMIT_TARGET, 0, 0, FVM_OPF_FUSED | FVM_OPF_JUMP) \
    X(ACCUM_SUM_LOOP, AccumSumLoop, SLOT2_LIMIT, 0, 0, FVM_OPF_FUSED) \
    X(CONCAT_CONST_LOOP, ConcatConstLoop, CONST_SLOT2_LIMIT, 0, 0, FVM_OPF_FUSED) \
    X(PUSH_INT_RANGE_LOOP, PushIntRangeLoop, NAME_SLOT_LIMIT, 0, 0, FVM_OPF_FUSED) \
    X(ADD_ASSIGN_SLOT_VOID, AddAssignSlotVoid, SLOT2, 0, 0, FVM_OPF_FUSED) \
    X(PRE_INC_SLOT_VOID, PreIncSlotVoid, SLOT, 0, 0, FVM_OPF_FUSED) \
    X(PRE_DEC_SLOT, PreDecSlot, SLOT, 0, 1, FVM_OPF_FUSED) \
    X(POST_INC_SLOT, PostIncSlot, SLOT, 0, 1, FVM_OPF_FUSED) \
    X(POST_DEC_SLOT, PostDecSlot, SLOT, 0, 1, FVM_OPF_FUSED) \
    X(CALL_BUILTIN, CallBuiltin, ID_U8, -1, -1, 0) \
    X(EXTENDED, Extended, ID_U8, -1, -1, 0) \
    X(EXTENDED_WIDE, ExtendedWide, ID_WIDE, -1, -1, 0) \
    X(EXEC, Exec, U8, -1, -1, FVM_OPF_SHELL) \
    X(EXEC_BG, ExecBg, U8, -1, 1, FVM_OPF_SHELL) \
    X(PIPELINE_BEGIN, PipelineBegin, U8, 0, 0, FVM_OPF_SHELL) \
    X(PIPELINE_STAGE, PipelineStage, NONE, 0, 0, FVM_OPF_SHELL) \
    X(PIPELINE_END, PipelineEnd, NONE, 0, 1, FVM_OPF_SHELL) \
    X(REDIRECT, Redirect, U8_U8, 1, 0, FVM_OPF_SHELL) \
    X(HERE_DOC, HereDoc, CONST, 0, 0, FVM_OPF_SHELL) \
    X(HERE_STRING, HereString, NONE, 1, 0, FVM_OPF_SHELL) \
    X(CMD_SUBST, CmdSubst, SUB, 0, 1, FVM_OPF_SHELL) \
    X(SUBSHELL_BEGIN, SubshellBegin, NONE, 0, 0, FVM_OPF_SHELL) \
    X(SUBSHELL_END, SubshellEnd, NONE, 0, 0, FVM_OPF_SHELL) \
    X(PROCESS_SUB_IN, ProcessSubIn, SUB, 0, 1, FVM_OPF_SHELL) \
    X(PROCESS_SUB_OUT, ProcessSubOut, SUB, 0, 1, FVM_OPF_SHELL) \
    X(GLOB, Glob, NONE, 1, 1, FVM_OPF_SHELL) \
    X(GLOB_RECURSIVE, GlobRecursive, NONE, 1, 1, FVM_OPF_SHELL) \
    X(TEST_FILE, TestFile, U8, 1, 1, 0) \
    X(SET_STATUS, SetStatus, NONE, 1, 0, 0) \
    X(GET_STATUS, GetStatus, NONE, 0, 1, 0) \
    X(TRAP_SET, TrapSet, SUB, 1, 0, FVM_OPF_SHELL) \
    X(TRAP_CHECK, TrapCheck, NONE, 0, 0, FVM_OPF_SHELL) \
    X(EXPAND_PARAM, ExpandParam, U8, -1, 1, FVM_OPF_SHELL) \
    X(WORD_SPLIT, WordSplit, NONE, 1, 1, FVM_OPF_SHELL) \
    X(BRACE_EXPAND, BraceExpand, NONE, 1, 1, FVM_OPF_SHELL) \
    X(TILDE_EXPAND, TildeExpand, NONE, 1, 1, FVM_OPF_SHELL) \
    X(CALL_FUNCTION, CallFunction, NAME_ARGC, -1, -1, FVM_OPF_SHELL) \
    X(STR_MATCH, StrMatch, NONE, 2, 1, FVM_OPF_SHELL) \
    X(REGEX_MATCH, RegexMatch, NONE, 2, 1, FVM_OPF_SHELL) \
    X(WITH_REDIRECTS_BEGIN, WithRedirectsBegin, U8, 0, 0, FVM_OPF_SHELL) \
    X(WITH_REDIRECTS_END, WithRedirectsEnd, NONE, 0, 0, FVM_OPF_SHELL) \
    X(AWK_FIELD_GET, AwkFieldGet, NONE, 1, 1, FVM_OPF_AWK) \
    X(AWK_FIELD_SET, AwkFieldSet, NONE, 2, 0, FVM_OPF_AWK) \
    X(AWK_NF, AwkNf, NONE, 0, 1, FVM_OPF_AWK) \
    X(AWK_SET_RECORD, AwkSetRecord, NONE, 1, 0, FVM_OPF_AWK) \
    X(AWK_SPECIAL_GET, AwkSpecialGet, NAME, 0, 1, FVM_OPF_AWK) \
    X(AWK_SPECIAL_SET, AwkSpecialSet, NAME, 1, 0, FVM_OPF_AWK) \
    X(AWK_PRINT, AwkPrint, U8, -1, 0, FVM_OPF_AWK) \
    X(AWK_PRINTF, AwkPrintf, U8, -1, 0, FVM_OPF_AWK) \
    X(AWK_SPRINTF, AwkSprintf, U8, -1, 1, FVM_OPF_AWK) \
    X(AWK_GETLINE, AwkGetline, U8, -1, 1, FVM_OPF_AWK) \
    X(AWK_LENGTH, AwkLength, U8, -1, 1, FVM_OPF_AWK) \
    X(AWK_SUBSTR, AwkSubstr, U8, -1, 1, FVM_OPF_AWK) \
    X(AWK_INDEX, AwkIndex, NONE, 2, 1, FVM_OPF_AWK) \
    X(AWK_SPLIT, AwkSplit, U8, -1, 1, FVM_OPF_AWK) \
    X(AWK_SUB, AwkSub, U8, -1, 1, FVM_OPF_AWK) \
    X(AWK_GSUB, AwkGsub, U8, -1, 1, FVM_OPF_AWK) \
    X(AWK_MATCH, AwkMatch, NONE, 2, 1, FVM_OPF_AWK) \
    X(AWK_TO_LOWER, AwkToLower, NONE, 1, 1, FVM_OPF_AWK) \
    X(AWK_TO_UPPER, AwkToUpper, NONE, 1, 1, FVM_OPF_AWK) \
    X(AWK_INT, AwkInt, NONE, 1, 1, FVM_OPF_AWK) \
    X(AWK_SQRT, AwkSqrt, NONE, 1, 1, FVM_OPF_AWK) \
    X(AWK_SIN, AwkSin, NONE, 1, 1, FVM_OPF_AWK) \
    X(AWK_COS, AwkCos, NONE, 1, 1, FVM_OPF_AWK) \
    X(AWK_EXP, AwkExp, NONE, 1, 1, FVM_OPF_AWK) \
    X(AWK_LOG, AwkLog, NONE, 1, 1, FVM_OPF_AWK) \
    X(AWK_ATAN2, AwkAtan2, NONE, 2, 1, FVM_OPF_AWK) \
    X(AWK_DIV, AwkDiv, NONE, 2, 1, 0) \
    X(AWK_MOD, AwkMod, NONE, 2, 1, 0) \
    X(AWK_DIV_JIT, AwkDivJit, NONE, 2, 1, 0) \
    X(AWK_MOD_JIT, AwkModJit, NONE, 2, 1, 0) \
    X(POW_FLOAT, PowFloat, NONE, 2, 1, 0) \
    X(SQRT_FLOAT, SqrtFloat, NONE, 1, 1, 0) \
    X(SIN_FLOAT, SinFloat, NONE, 1, 1, 0) \
    X(COS_FLOAT, CosFloat, NONE, 1, 1, 0) \
    X(EXP_FLOAT, ExpFloat, NONE, 1, 1, 0) \
    X(ATAN2_FLOAT, Atan2Float, NONE, 2, 1, 0) \
    X(LOG_FLOAT, LogFloat, NONE, 1, 1, 0) \
    X(ABS_FLOAT, AbsFloat, NONE, 1, 1, 0) \
    X(TRUNC_INT, TruncInt, NONE, 1, 1, 0) \
    X(AWK_ARRAY_GET, AwkArrayGet, NAME, 1, 1, FVM_OPF_AWK) \
    X(AWK_ARRAY_SET, AwkArraySet, NAME, 2, 0, FVM_OPF_AWK) \
    X(AWK_ARRAY_EXISTS, AwkArrayExists, NAME, 1, 1, FVM_OPF_AWK) \
    X(AWK_ARRAY_DELETE, AwkArrayDelete, NAME, 1, 0, FVM_OPF_AWK) \
    X(AWK_ARRAY_CLEAR, AwkArrayClear, NAME, 0, 0, FVM_OPF_AWK) \
    X(AWK_ARRAY_LEN, AwkArrayLen, NAME, 0, 1, FVM_OPF_AWK) \
    X(AWK_AND, AwkAnd, U8, -1, 1, FVM_OPF_AWK) \
    X(AWK_OR, AwkOr, U8, -1, 1, FVM_OPF_AWK) \
    X(AWK_XOR, AwkXor, U8, -1, 1, FVM_OPF_AWK) \
    X(AWK_COMPL, AwkCompl, NONE, 1, 1, FVM_OPF_AWK) \
    X(AWK_LSHIFT, AwkLshift, NONE, 2, 1, FVM_OPF_AWK) \
    X(AWK_RSHIFT, AwkRshift, NONE, 2, 1, FVM_OPF_AWK) \
    X(AWK_STRTONUM, AwkStrtonum, NONE, 1, 1, FVM_OPF_AWK) \
    X(AWK_SYSTIME, AwkSystime, NONE, 0, 1, FVM_OPF_AWK) \
    X(AWK_RAND, AwkRand, NONE, 0, 1, 0) \
    X(AWK_SRAND, AwkSrand, U8, -1, 1, 0) \
    X(AWK_STRFTIME, AwkStrftime, U8, -1, 1, FVM_OPF_AWK) \
    X(AWK_MKTIME, AwkMktime, U8, -1, 1, FVM_OPF_AWK) \
    X(AWK_ORD, AwkOrd, NONE, 1, 1, FVM_OPF_AWK) \
    X(AWK_CHR, AwkChr, NONE, 1, 1, FVM_OPF_AWK) \
    X(AWK_MKBOOL, AwkMkbool, NONE, 1, 1, FVM_OPF_AWK) \
    X(AWK_INTDIV, AwkIntdiv, NONE, 2, 1, FVM_OPF_AWK) \
    X(AWK_INTDIV0, AwkIntdiv0, NONE, 2, 1, FVM_OPF_AWK) \
    X(AWK_GENSUB, AwkGensub, U8, -1, 1, FVM_OPF_AWK) \
    X(AWK_SIGNAL, AwkSignal, U8, 0, 0, 0) \
    X(RUBY_TRUTHY, RubyTruthy, NONE, 1, 1, 0) \
    X(AWK_SQRT_JIT, AwkSqrtJit, NONE, 1, 1, 0) \
    X(AWK_LOG_JIT, AwkLogJit, NONE, 1, 1, 0) \
    X(AWK_LSHIFT_JIT, AwkLshiftJit, NONE, 2, 1, 0) \
    X(AWK_RSHIFT_JIT, AwkRshiftJit, NONE, 2, 1, 0) \
    X(AWK_COMPL_JIT, AwkComplJit, NONE, 1, 1, 0) \
    X(AWK_GET_FIELD_NUM, AwkGetFieldNum, U16, 0, 1, 0) \
    X(CEIL_FLOAT, CeilFloat, NONE, 1, 1, 0) \
    X(FLOOR_FLOAT, FloorFloat, NONE, 1, 1, 0) \
    X(TRUNC_FLOAT, TruncFloat, NONE, 1, 1, 0) \
    X(ROUND_FLOAT, RoundFloat, NONE, 1, 1, 0) \
    X(TAN_FLOAT, TanFloat, NONE, 1, 1, 0) \
    X(ASIN_FLOAT, AsinFloat, NONE, 1, 1, 0) \
    X(ACOS_FLOAT, AcosFloat, NONE, 1, 1, 0) \
    X(ATAN_FLOAT, AtanFloat, NONE, 1, 1, 0) \
    X(SINH_FLOAT, SinhFloat, NONE, 1, 1, 0) \
    X(COSH_FLOAT, CoshFloat, NONE, 1, 1, 0) \
    X(TANH_FLOAT, TanhFloat, NONE, 1, 1, 0) \
    X(LOG2_FLOAT, Log2Float, NONE, 1, 1, 0) \
    X(LOG10_FLOAT, Log10Float, NONE, 1, 1, 0) \
    X(ABS_INT, AbsInt, NONE, 1, 1, 0) \
    X(GCD_INT, GcdInt, NONE, 2, 1, 0) \
    X(LCM_INT, LcmInt, NONE, 2, 1, 0) \
    X(TIME_INT, TimeInt, NONE, 0, 1, 0) \
    X(GO, Go, NAME_ARGC, -1, 0, FVM_OPF_SCHED) \
    X(CHAN_MAKE, ChanMake, NONE, 1, 1, FVM_OPF_SCHED) \
    X(CHAN_SEND, ChanSend, NONE, 2, 0, FVM_OPF_SCHED) \
    X(CHAN_RECV, ChanRecv, NONE, 1, 1, FVM_OPF_SCHED) \
    X(CHAN_CLOSE, ChanClose, NONE, 1, 0, FVM_OPF_SCHED) \
    X(SELECT, Select, U8_U8, -1, 2, FVM_OPF_SCHED) \
    X(CALL_DYNAMIC, CallDynamic, U8, -1, -1, 0) \
    X(MUL_MOD_FLOOR, MulModFloor, NONE, 3, 1, 0) \
    X(MUL_ADD_MOD_FLOOR, MulAddModFloor, NONE, 4, 1, 0)

typedef enum fvm_opcode {
#define FVM_X_ENUM(E, M, F, P, Q, G) FVM_OP_##E,
    FVM_OP_LIST(FVM_X_ENUM)
#undef FVM_X_ENUM
    FVM_OP_COUNT
} fvm_opcode;

/* One instruction: a fixed 16-byte record. Which fields an op uses is fixed
 * by its format:
 *   NONE               –
 *   I64                u.i                     LoadInt
 *   F64                u.f                     LoadFloat
 *   CONST NAME SLOT    a                       constant / name (= global) /
 *   SUB BLOCK COUNT                            frame slot / sub-chunk /
 *   U8 U16                                     block range / count / small
 *   TARGET             u.j.target              jumps (absolute op index)
 *   NAME_ARGC          a name, b argc (u8)     Call, CallFunction, Go
 *   SLOT2              a, b                    AddAssignSlotVoid
 *   SLOT_LIMIT_TARGET  a slot, u.j.limit, u.j.target
 *   SLOT2_LIMIT        a sum slot, b i slot, u.j.limit
 *   CONST_SLOT2_LIMIT  a const, b s slot, c i slot, u.j.limit
 *   NAME_SLOT_LIMIT    a name (global array), b i slot, u.j.limit
 *   ID_U8              a id, b u8              CallBuiltin, Extended
 *   ID_WIDE            a id, u.wide            ExtendedWide
 *   U8_U8              a, b                    Redirect, Select
 * Operands are listed (in assembly, JSON and constructors) in the order of
 * the format's name. */
typedef struct fvm_op {
    uint16_t code; /* fvm_opcode */
    uint16_t a, b, c;
    union {
        int64_t i;
        double f;
        uint64_t wide;
        struct {
            int32_t limit;
            uint32_t target;
        } j;
    } u;
} fvm_op;

typedef enum fvm_format {
    FVM_FMT_NONE,
    FVM_FMT_I64,
    FVM_FMT_F64,
    FVM_FMT_CONST,
    FVM_FMT_NAME,
    FVM_FMT_SLOT,
    FVM_FMT_SUB,
    FVM_FMT_BLOCK,
    FVM_FMT_COUNT,
    FVM_FMT_U8,
    FVM_FMT_U16,
    FVM_FMT_TARGET,
    FVM_FMT_NAME_ARGC,
    FVM_FMT_SLOT2,
    FVM_FMT_SLOT_LIMIT_TARGET,
    FVM_FMT_SLOT2_LIMIT,
    FVM_FMT_CONST_SLOT2_LIMIT,
    FVM_FMT_NAME_SLOT_LIMIT,
    FVM_FMT_ID_U8,
    FVM_FMT_ID_WIDE,
    FVM_FMT_U8_U8,
    FVM_FMT_COUNT_
} fvm_format;

/* Constructors, one per op, named like the enum: FVM_LOAD_INT(40),
 * FVM_CALL(name, argc), FVM_JUMP(target), FVM_ADD(). Generated from the
 * table above by format. */
#define FVM_CTOR_NONE(E) \
    static inline fvm_op FVM_##E(void) { fvm_op o = {FVM_OP_##E, 0, 0, 0, {0}}; return o; }
#define FVM_CTOR_I64(E) \
    static inline fvm_op FVM_##E(int64_t v) { fvm_op o = {FVM_OP_##E, 0, 0, 0, {0}}; o.u.i = v; return o; }
#define FVM_CTOR_F64(E) \
    static inline fvm_op FVM_##E(double v) { fvm_op o = {FVM_OP_##E, 0, 0, 0, {0}}; o.u.f = v; return o; }
#define FVM_CTOR_A(E) \
    static inline fvm_op FVM_##E(uint16_t a) { fvm_op o = {FVM_OP_##E, a, 0, 0, {0}}; return o; }
#define FVM_CTOR_CONST FVM_CTOR_A
#define FVM_CTOR_NAME FVM_CTOR_A
#define FVM_CTOR_SLOT FVM_CTOR_A
#define FVM_CTOR_SUB FVM_CTOR_A
#define FVM_CTOR_BLOCK FVM_CTOR_A
#define FVM_CTOR_COUNT FVM_CTOR_A
#define FVM_CTOR_U16 FVM_CTOR_A
#define FVM_CTOR_U8(E) \
    static inline fvm_op FVM_##E(uint8_t a) { fvm_op o = {FVM_OP_##E, a, 0, 0, {0}}; return o; }
#define FVM_CTOR_TARGET(E) \
    static inline fvm_op FVM_##E(uint32_t t) { fvm_op o = {FVM_OP_##E, 0, 0, 0, {0}}; o.u.j.target = t; return o; }
#define FVM_CTOR_AB(E, TA, TB) \
    static inline fvm_op FVM_##E(TA a, TB b) { fvm_op o = {FVM_OP_##E, a, b, 0, {0}}; return o; }
#define FVM_CTOR_NAME_ARGC(E) FVM_CTOR_AB(E, uint16_t, uint8_t)
#define FVM_CTOR_SLOT2(E) FVM_CTOR_AB(E, uint16_t, uint16_t)
#define FVM_CTOR_ID_U8(E) FVM_CTOR_AB(E, uint16_t, uint8_t)
#define FVM_CTOR_U8_U8(E) FVM_CTOR_AB(E, uint8_t, uint8_t)
#define FVM_CTOR_SLOT_LIMIT_TARGET(E) \
    static inline fvm_op FVM_##E(uint16_t s, int32_t limit, uint32_t t) { \
        fvm_op o = {FVM_OP_##E, s, 0, 0, {0}}; o.u.j.limit = limit; o.u.j.target = t; return o; }
#define FVM_CTOR_SLOT2_LIMIT(E) \
    static inline fvm_op FVM_##E(uint16_t a, uint16_t b, int32_t limit) { \
        fvm_op o = {FVM_OP_##E, a, b, 0, {0}}; o.u.j.limit = limit; return o; }
#define FVM_CTOR_NAME_SLOT_LIMIT FVM_CTOR_SLOT2_LIMIT
#define FVM_CTOR_CONST_SLOT2_LIMIT(E) \
    static inline fvm_op FVM_##E(uint16_t k, uint16_t s, uint16_t i, int32_t limit) { \
        fvm_op o = {FVM_OP_##E, k, s, i, {0}}; o.u.j.limit = limit; return o; }
#define FVM_CTOR_ID_WIDE(E) \
    static inline fvm_op FVM_##E(uint16_t id, uint64_t payload) { \
        fvm_op o = {FVM_OP_##E, id, 0, 0, {0}}; o.u.wide = payload; return o; }
#define FVM_X_CTOR(E, M, F, P, Q, G) FVM_CTOR_##F(E)
FVM_OP_LIST(FVM_X_CTOR)
#undef FVM_X_CTOR

/* Upstream's mnemonic ("LoadInt") of an opcode, or NULL if out of range. */
FVM_API const char *fvm_op_name(unsigned code);
/* The opcode with this mnemonic, or -1. */
FVM_API int fvm_op_lookup(const char *mnemonic, size_t len);
/* The operand format (fvm_format) of an opcode. */
FVM_API fvm_format fvm_op_format(unsigned code);
/* FVM_OPF_* flags of an opcode. */
FVM_API unsigned fvm_op_flags(unsigned code);

/* Operand constants (upstream's op:: tables). */
enum { FVM_SIG_NEXT = 0, FVM_SIG_NEXTFILE = 1, FVM_SIG_EXIT = 2 };
enum {
    FVM_FILE_IS_FILE, FVM_FILE_IS_DIR, FVM_FILE_IS_READABLE, FVM_FILE_IS_WRITABLE,
    FVM_FILE_IS_EXECUTABLE, FVM_FILE_EXISTS, FVM_FILE_IS_NONEMPTY, FVM_FILE_IS_SYMLINK,
    FVM_FILE_IS_SOCKET, FVM_FILE_IS_FIFO, FVM_FILE_IS_BLOCK_DEV, FVM_FILE_IS_CHAR_DEV
};
/* Redirect op codes: > >> < <> >| <&N >&N &> &>> */
enum {
    FVM_REDIR_WRITE, FVM_REDIR_APPEND, FVM_REDIR_READ, FVM_REDIR_READ_WRITE, FVM_REDIR_CLOBBER,
    FVM_REDIR_DUP_READ, FVM_REDIR_DUP_WRITE, FVM_REDIR_WRITE_BOTH, FVM_REDIR_APPEND_BOTH
};
/* ExpandParam modifiers: ${v:-x} ${v:=x} ${v:?x} ${v:+x} ${#v} ${v#p} ${v##p}
 * ${v%p} ${v%%p} ${v/p/r} ${v//p/r} ${v^^} ${v,,} ${v^} ${v,} ${!v} ${!a[@]}
 * ${v:o:l} */
enum {
    FVM_PARAM_DEFAULT, FVM_PARAM_ASSIGN, FVM_PARAM_ERROR, FVM_PARAM_ALTERNATE, FVM_PARAM_LENGTH,
    FVM_PARAM_STRIP_SHORT, FVM_PARAM_STRIP_LONG, FVM_PARAM_RSTRIP_SHORT, FVM_PARAM_RSTRIP_LONG,
    FVM_PARAM_SUBST_FIRST, FVM_PARAM_SUBST_ALL, FVM_PARAM_UPPER, FVM_PARAM_LOWER,
    FVM_PARAM_UPPER_FIRST, FVM_PARAM_LOWER_FIRST, FVM_PARAM_INDIRECT, FVM_PARAM_KEYS,
    FVM_PARAM_SLICE
};
#define FVM_AWK_OP_BASE 40000u
#define FVM_AWK_OP_END 41000u

/* ------------------------------------------------------------------------
 * Chunks and the builder
 * ------------------------------------------------------------------------ */

/* Pools (constants, names, sub-chunks, block ranges) hold at most this many
 * entries: their indices are 16-bit. */
#define FVM_MAX_POOL 65536u
/* A chunk holds at most this many ops: targets are 32-bit. */
#define FVM_MAX_OPS 0x7fffffffu

typedef struct fvm_chunk fvm_chunk;
typedef struct fvm_builder fvm_builder;

FVM_API fvm_builder *fvm_builder_new(void);
FVM_API void fvm_builder_free(fvm_builder *b);
/* Drop the chunk in progress, its labels, errors and warnings: the builder
 * is as new. */
FVM_API void fvm_builder_reset(fvm_builder *b);
/* Append an op with its source line; returns its index. The line is what
 * the builder's errors and warnings about the op name. */
FVM_API size_t fvm_emit(fvm_builder *b, fvm_op op, uint32_t line);
/* The index the next emitted op will have. */
FVM_API size_t fvm_current_pos(const fvm_builder *b);
/* Rewrite the target of the Jump/JumpIfTrue/JumpIfFalse/JumpIfTrueKeep/
 * JumpIfFalseKeep at op_idx. Returns -1 (with an error) for any other op. */
FVM_API int fvm_patch_jump(fvm_builder *b, size_t op_idx, size_t target);

/* Labels: jump targets named before their position is known. Make one with
 * fvm_label_new, aim jumps at it with fvm_emit_jump (before or after it is
 * bound), and bind it once with fvm_label_bind where it belongs; fvm_build
 * fills in every target. A label belongs to the chunk in progress. */
typedef struct fvm_label {
    uint32_t id;
} fvm_label;
FVM_API fvm_label fvm_label_new(fvm_builder *b);
/* Bind l to the index of the next op to be emitted (fvm_current_pos).
 * Binding a label twice is an error (-1). */
FVM_API int fvm_label_bind(fvm_builder *b, fvm_label l);
/* Emit op, one of the five jumps fvm_patch_jump takes (its own target is
 * ignored), aimed at l; returns its index. A label never bound is an error
 * at build time, at the line of each jump to it. */
FVM_API size_t fvm_emit_jump(fvm_builder *b, fvm_op op, fvm_label l, uint32_t line);

/* Append a constant (takes v; no de-duplication). Returns its index, or -1
 * when the pool already holds FVM_MAX_POOL entries (v is dropped). */
FVM_API int32_t fvm_add_constant(fvm_builder *b, fvm_value v);
/* Intern a name: the index of an equal name if present, else appended.
 * -1 when the pool is full and the name is new. */
FVM_API int32_t fvm_add_name(fvm_builder *b, const char *name, size_t len);
/* Register a subroutine entry point for a name index (duplicates allowed;
 * the first one wins at run time). */
FVM_API int fvm_add_sub_entry(fvm_builder *b, uint16_t name_idx, size_t entry_ip);
/* Name the slots of the subroutine whose code starts at entry_ip (the ip
 * given to fvm_add_sub_entry): names[i] (copied) names slot i. Names
 * belong to the subroutine, values to each activation
 * (fvm_vm_slot_name_at). A second call for the same entry ip replaces the
 * names; the verifier refuses an entry ip past the last op. */
FVM_API int fvm_set_sub_slot_names(fvm_builder *b, size_t entry_ip, const char *const *names,
                                   size_t count);
/* Append a (start, end) block range; returns its index or -1 when full. */
FVM_API int32_t fvm_add_block_range(fvm_builder *b, size_t start, size_t end);
/* Append a nested chunk (takes ownership); returns its index or -1. */
FVM_API int32_t fvm_add_sub_chunk(fvm_builder *b, fvm_chunk *sub);
FVM_API void fvm_set_source(fvm_builder *b, const char *name, size_t len);
/* Record that CallBuiltin id in this chunk means the builtin a VM registers
 * under name (fvm_vm_register_builtin_named): the VM binds the id to that
 * builtin whatever number the VM gave it, and a run of a chunk whose names
 * the VM does not have fails before its first op. Declaring an id again
 * with the same name does nothing; with another name it is an error (-1). */
FVM_API int fvm_declare_builtin(fvm_builder *b, uint16_t id, const char *name, size_t len);

/* Verify and produce the chunk. Returns NULL if anything went wrong while
 * the chunk was built or the verifier refuses it; every problem is then
 * among the errors. Either way the builder is emptied and ready for the
 * next chunk, and the errors and warnings of this build stay readable until
 * the next call adds to the builder (or fvm_builder_reset). A built chunk
 * whose Calls name a subroutine without a sub entry gets one warning per
 * such Call: it builds, and the Call fails only when it runs. */
FVM_API fvm_chunk *fvm_build(fvm_builder *b);
/* The first error, or NULL. Errors about an op start with "line L: " (the
 * line given to fvm_emit), then "op N (Name): " and the problem. */
FVM_API const char *fvm_builder_error(const fvm_builder *b);
/* How many errors (at most the first 1000 are kept: past them
 * fvm_builder_error_at gives NULL); the i-th, and its line in *line (0 when
 * the error concerns no op; line may be NULL). */
FVM_API size_t fvm_builder_error_count(const fvm_builder *b);
FVM_API const char *fvm_builder_error_at(const fvm_builder *b, size_t i, uint32_t *line);
/* Warnings of the last fvm_build, as the errors. */
FVM_API size_t fvm_builder_warning_count(const fvm_builder *b);
FVM_API const char *fvm_builder_warning_at(const fvm_builder *b, size_t i, uint32_t *line);

FVM_API void fvm_chunk_free(fvm_chunk *c);
/* A stable 64-bit hash of the ops and constants (never 0). Identical across
 * processes of the same build; Hash constants hash independently of their
 * insertion order. */
FVM_API uint64_t fvm_chunk_op_hash(const fvm_chunk *c);
FVM_API size_t fvm_chunk_len(const fvm_chunk *c);
FVM_API const fvm_op *fvm_chunk_ops(const fvm_chunk *c);
FVM_API uint32_t fvm_chunk_line(const fvm_chunk *c, size_t ip);
FVM_API size_t fvm_chunk_constant_count(const fvm_chunk *c);
/* Borrowed. */
FVM_API fvm_value fvm_chunk_constant(const fvm_chunk *c, size_t i);
FVM_API size_t fvm_chunk_name_count(const fvm_chunk *c);
FVM_API const char *fvm_chunk_name(const fvm_chunk *c, size_t i, size_t *len);
FVM_API size_t fvm_chunk_sub_entry_count(const fvm_chunk *c);
FVM_API void fvm_chunk_sub_entry(const fvm_chunk *c, size_t i, uint16_t *name_idx, size_t *entry_ip);
FVM_API size_t fvm_chunk_block_range_count(const fvm_chunk *c);
FVM_API void fvm_chunk_block_range(const fvm_chunk *c, size_t i, size_t *start, size_t *end);
FVM_API size_t fvm_chunk_sub_chunk_count(const fvm_chunk *c);
FVM_API const fvm_chunk *fvm_chunk_sub_chunk(const fvm_chunk *c, size_t i);
FVM_API const char *fvm_chunk_source(const fvm_chunk *c, size_t *len);
/* The slot names of the subroutine entered at entry_ip: how many, and
 * slot's (borrowed; NULL past them or without names). */
FVM_API size_t fvm_chunk_slot_name_count(const fvm_chunk *c, size_t entry_ip);
FVM_API const char *fvm_chunk_slot_name(const fvm_chunk *c, size_t entry_ip, size_t slot);
/* Entry ip of the first sub entry for name_idx, or -1. */
FVM_API int64_t fvm_chunk_find_sub(const fvm_chunk *c, uint16_t name_idx);
/* The index of the first name in the pool equal to the len bytes at name,
 * or -1. */
FVM_API int32_t fvm_chunk_find_name(const fvm_chunk *c, const char *name, size_t len);
/* Highest frame-slot index any op of the chunk (not its sub-chunks) uses,
 * or -1 if none. */
FVM_API int32_t fvm_chunk_max_slot(const fvm_chunk *c);
/* Structural equality of two chunks (ops, lines, pools, entries, ranges,
 * sub-chunks, source, declared builtins). */
FVM_API bool fvm_chunk_equal(const fvm_chunk *a, const fvm_chunk *b);
/* The builtins the chunk declares (fvm_declare_builtin), by increasing id:
 * the i-th's name (borrowed, NUL-terminated), its id in *id; NULL past the
 * end. */
FVM_API size_t fvm_chunk_builtin_count(const fvm_chunk *c);
FVM_API const char *fvm_chunk_builtin(const fvm_chunk *c, size_t i, uint16_t *id);
/* Calls in c (and in its sub-chunks, each against its own sub entries, when
 * nested) whose name has no sub entry: fn, if not NULL, gets each one's
 * chunk, op index and name; returns how many. */
typedef void (*fvm_unresolved_fn)(void *ud, const fvm_chunk *c, size_t ip, const char *name);
FVM_API size_t fvm_chunk_unresolved_calls(const fvm_chunk *c, bool nested, fvm_unresolved_fn fn,
                                          void *ud);

/* ------------------------------------------------------------------------
 * Binary chunk files
 *
 * A chunk saved as bytes (".fbc"; the layout is in docs/FORMAT.md): the same
 * bytes on every machine, checked on load as carefully as untrusted input.
 * ------------------------------------------------------------------------ */

/* Serialise c and its sub-chunks. On success *out holds *out_len malloc'ed
 * bytes (release with fvm_free) and the result is 0. Returns -1 (and sets
 * *out to NULL) when c cannot be represented: constants or sub-chunks nested
 * deeper than the format allows, a string longer than 4 GiB, slot names
 * (fvm_set_sub_slot_names; the text form keeps them), or builtins declared
 * in a sub-chunk (only the top-level chunk's are kept). */
FVM_API int fvm_chunk_save(const fvm_chunk *c, void **out, size_t *out_len);
/* Load a chunk from len bytes. Damaged, truncated or malformed input gives
 * NULL and a message in err (errlen bytes, may be 0); the chunk is verified
 * as fvm_build verifies, and its op_hash is recomputed. */
FVM_API fvm_chunk *fvm_chunk_load(const void *bytes, size_t len, char *err, size_t errlen);

/* Release memory the library handed to the caller (fvm_chunk_save's bytes,
 * text results). */
FVM_API void fvm_free(void *p);

/* ------------------------------------------------------------------------
 * Text assembly (.fasm; the syntax is in docs/FORMAT.md, "Text assembly")
 * ------------------------------------------------------------------------ */

/* Assemble len bytes of text into a verified chunk. filename only labels
 * messages (NULL: "<input>"). On failure returns NULL and, if errors is not
 * NULL, sets *errors to a new string of "file:line:column: message" lines,
 * several errors per run (free it with fvm_free); on success sets it to
 * NULL. */
FVM_API fvm_chunk *fvm_assemble(const char *text, size_t len, const char *filename, char **errors);

/* fvm_disassemble flag: comment each op with its index and each fused op
 * with the unfused sequence it replaces. */
#define FVM_DIS_ANNOTATE 0x1u
/* The chunk as text that fvm_assemble reads back into an equal chunk
 * (fvm_chunk_equal). A new string; free it with fvm_free. */
FVM_API char *fvm_disassemble(const fvm_chunk *c, unsigned flags);

/* ------------------------------------------------------------------------
 * JIT
 *
 * Native code for the numeric subset of the op set lives in a JIT context:
 * its settings, counters, code cache and executable memory. There is no
 * hidden global JIT state: a fresh context behaves like a fresh process, and
 * two contexts never see each other's code. A context is used by one thread
 * at a time.
 *
 * Tiers: linear (a straight-line chunk, compiled on its first call through
 * fvm_jit_try_run_linear), block (a whole chunk with loops, after
 * block_threshold calls) and trace (hot loops). A tier that cannot handle a
 * chunk declines and the caller runs the interpreter; a failed compile is
 * remembered, retried only after a back-off, and blacklisted after
 * max_compile_failures.
 * ------------------------------------------------------------------------ */

typedef struct fvm_jit fvm_jit;

typedef enum fvm_jit_tier {
    FVM_JIT_LINEAR,
    FVM_JIT_BLOCK,
    FVM_JIT_TRACE,
    FVM_JIT_TIER_COUNT
} fvm_jit_tier;

/* Why native code did not run: a chunk or region a tier declined or failed
 * to compile, a region the VM does not enter, or an exit from native code
 * back to the interpreter. One line each: X(ENUM, transient, text). A
 * compile that failed for a transient reason (code memory full) is retried
 * after a back-off; any other failure is the same on every try, so the
 * chunk is blacklisted at once. Counted per reason in
 * fvm_jit_counters.reasons; `fusevm run --stats` prints them. */
#define FVM_JIT_REASON_LIST(X) \
    X(NONE, 0, "no reason") \
    /* Ops a tier leaves to the interpreter, by family. */ \
    X(OP_GLOBAL, 0, "global variable ops") \
    X(OP_ARRAY, 0, "array ops") \
    X(OP_HASH, 0, "hash ops") \
    X(OP_STRING, 0, "string ops") \
    X(OP_CALL, 0, "calls and returns") \
    X(OP_FRAME, 0, "frame ops") \
    X(OP_IO, 0, "input and output ops") \
    X(OP_HIGHER_ORDER, 0, "block ops (map, grep, sort, for-each)") \
    X(OP_EXTENSION, 0, "builtin and extension calls") \
    X(OP_SHELL, 0, "shell ops") \
    X(OP_AWK, 0, "AWK ops") \
    X(OP_SCHEDULER, 0, "scheduler ops") \
    X(OP_OTHER, 0, "ops no tier compiles") \
    X(OP_OTHER_TIER, 0, "ops only another tier compiles") \
    X(CONST_KIND, 0, "a constant of a kind the tier does not carry") \
    X(VARIADIC, 0, "more operands than the tier folds inline") \
    /* The shape of a chunk or region. */ \
    X(EMPTY, 0, "empty chunk") \
    X(STACK_UNDERFLOW, 0, "pops values pushed before it") \
    X(STACK_DEPTH, 0, "operand stack deeper than the tier keeps") \
    X(RESULT_COUNT, 0, "does not end with exactly one value") \
    X(SLOT_RANGE, 0, "a slot beyond the slots passed") \
    X(SLOT_KIND, 0, "reads a slot holding no Int, Float or Bool before writing it") \
    X(TOO_MANY_SLOTS, 0, "more slots than the tier keeps") \
    X(TOO_MANY_VERSIONS, 0, "a block reached with more type states than the tier compiles") \
    X(CONST_ZERO_DIVISOR, 0, "division by a constant zero") \
    X(STORE_BEFORE_GUARD, 0, "a store before a guard") \
    X(REGION_SHORT, 0, "region too short and loop-free to be worth entering") \
    X(REGION_JUMP_OUT, 0, "region with a jump leaving it") \
    /* Resources. */ \
    X(CODE_MEMORY, 1, "code memory full or refused") \
    X(BACKEND, 0, "the backend could not encode the code") \
    X(INTERNAL, 0, "an internal limit of the code generator") \
    /* Leaving native code (counted per exit taken). */ \
    X(EXIT_ZERO_DIVISOR, 0, "exit: a zero divisor") \
    X(EXIT_VALUE_KIND, 0, "exit: a value of a kind the code does not model") \
    X(EXIT_INT_RANGE, 0, "exit: a result outside Int range") \
    X(ENTRY_KINDS, 0, "entry refused: slot kinds differ from the compiled ones") \
    /* The tracing tier: recordings given up, and exits of its own. */ \
    X(TRACE_TOO_LONG, 0, "recording longer than max_trace_len ops") \
    X(TRACE_LEFT_FRAME, 0, "recording left its frame or its run") \
    X(TRACE_INNER_LOOP, 0, "recording reached another loop's trace") \
    X(TRACE_INLINE_DEPTH, 0, "calls nested deeper than a trace inlines") \
    X(EXIT_BRANCH, 0, "exit: a branch went the way the recording did not") \
    X(EXIT_POLL, 0, "exit: an interrupt or request was pending at a back-edge") \
    X(EXIT_LOOP_KINDS, 0, "exit: a loop iteration changed a slot's kind")

typedef enum fvm_jit_reason {
#define FVM_JIT_REASON_ENUM(e, transient, text) FVM_JIT_REASON_##e,
    FVM_JIT_REASON_LIST(FVM_JIT_REASON_ENUM)
#undef FVM_JIT_REASON_ENUM
    FVM_JIT_REASON_COUNT
} fvm_jit_reason;

/* The settings, one line each: X(ENUM, name, default, min, max, env).
 * A setting named by env takes that variable's value when a context is
 * created (see fvm_jit_new). */
#define FVM_JIT_PARAMDEF(X) \
    /* Calls of a chunk that run interpreted before the block tier compiles \
     * it (compile when calls > threshold): 1 compiles on the second call, \
     * so a chunk run once never pays for a compile. */ \
    X(BLOCK_THRESHOLD, block_threshold, 1, 0, UINT32_MAX, "FUSEVM_JIT_BLOCK_THRESHOLD") \
    /* Back-edges taken to a loop header before a trace is recorded: enough \
     * to tell a hot loop from a short one, upstream's value. */ \
    X(TRACE_THRESHOLD, trace_threshold, 50, 0, UINT32_MAX, "FUSEVM_JIT_TRACE_THRESHOLD") \
    /* Failed compiles of one chunk (per tier and key) before the context \
     * stops trying: a failure is usually permanent, a retry is for causes \
     * that may pass (code memory full, an mmap refused). */ \
    X(MAX_COMPILE_FAILURES, max_compile_failures, 3, 1, UINT32_MAX, NULL) \
    /* Calls that skip the JIT after a failed compile before it is retried, \
     * doubled after each further failure, so a failing chunk costs a table \
     * lookup per call, not a compile. */ \
    X(RETRY_BACKOFF, retry_backoff, 16, 0, UINT32_MAX, NULL) \
    /* Unabsorbed side exits of a trace before it is blacklisted (upstream). */ \
    X(MAX_SIDE_EXITS, max_side_exits, 50, 1, UINT32_MAX, NULL) \
    /* Longest trace recorded, in ops. Upstream stops at 256, which leaves \
     * the long bodies of real loops (an AWK program's main loop) \
     * interpreted; LuaJIT records up to 4000 IR instructions. A trace's \
     * compile time and metadata grow linearly with its length. */ \
    X(MAX_TRACE_LEN, max_trace_len, 4000, 1, 65536, NULL) \
    /* Simultaneous inlined activations of one callee in a trace (upstream). */ \
    X(MAX_INLINE_RECURSION, max_inline_recursion, 4, 0, 64, NULL) \
    /* Chained trace dispatches per back-edge (upstream). */ \
    X(MAX_TRACE_CHAIN, max_trace_chain, 4, 0, 64, NULL) \
    /* Executable memory one context may map, in bytes (0: no limit): bounds \
     * what a program generating endless distinct chunks can pin. Read when \
     * the context first maps code. */ \
    X(CODE_MAX_BYTES, code_max_bytes, 64u << 20, 0, UINT64_MAX, NULL) \
    /* The tiers a VM running with this context uses, one bit per \
     * fvm_jit_tier: 1 << FVM_JIT_BLOCK (regions of a chunk, the default), \
     * 1 << FVM_JIT_TRACE (hot loops), or both. Read when a VM attaches \
     * the context (fvm_vm_set_jit). */ \
    X(VM_TIERS, vm_tiers, 1u << FVM_JIT_BLOCK, 0, (1u << FVM_JIT_TIER_COUNT) - 1, NULL)

typedef enum fvm_jit_param {
#define FVM_JIT_PARAM_ENUM(e, name, def, lo, hi, env) FVM_JIT_PARAM_##e,
    FVM_JIT_PARAMDEF(FVM_JIT_PARAM_ENUM)
#undef FVM_JIT_PARAM_ENUM
    FVM_JIT_PARAM_COUNT
} fvm_jit_param;

/* Counters since the context was created. */
typedef struct fvm_jit_counters {
    uint64_t compiles;          /* successful compiles */
    uint64_t compile_failures;  /* compiles that failed (each retry counts) */
    uint64_t compile_ns;        /* time spent compiling, failures included
                                   (for a trace: recording it too, or
                                   loading it from the disk cache) */
    uint64_t cache_hits;        /* calls that found compiled code */
    uint64_t negative_hits;     /* later calls that found a remembered
                                   failure or an ineligible chunk and did
                                   not compile */
    uint64_t ineligible;        /* chunks a tier declined to compile at all */
    uint64_t blacklisted;       /* chunks given up on after repeated failure */
    uint64_t runs[FVM_JIT_TIER_COUNT]; /* native runs, per fvm_jit_tier */
    uint64_t code_bytes;        /* executable memory mapped */
    uint64_t disk_loads;        /* compiles answered from the disk cache
                                   (counted in compiles too) */
    uint64_t disk_stores;       /* compiled code written to the disk cache */
    uint64_t traces;            /* loop trees compiled or loaded (the
                                   tracing tier) */
    uint64_t side_traces;       /* side paths added to trees */
    uint64_t trace_aborts;      /* recordings given up (reasons counts why) */
    uint64_t reasons[FVM_JIT_REASON_COUNT]; /* per fvm_jit_reason: refusals,
                                   failed compiles, ops that end a region
                                   (once per chunk analysed) and exits */
} fvm_jit_counters;

typedef enum fvm_jit_status {
    FVM_JIT_OK,           /* native code ran; the result is in *out */
    FVM_JIT_NOT_COMPILED, /* no native code for this call: use the interpreter */
    FVM_JIT_HALTED        /* native code ran to the end with an empty stack
                             (the interpreter's FVM_RUN_HALTED); *out is Undef */
} fvm_jit_status;

/* A new context with the default settings, then the environment's: each
 * setting with an env name takes that variable's value if it is a decimal
 * integer (surrounding whitespace and a leading '+' allowed) within the
 * setting's range; an unset, empty, malformed or out-of-range value is
 * ignored and the default stays. NULL only if memory runs out. */
FVM_API fvm_jit *fvm_jit_new(void);
/* Release the context and all its code; no VM may still use it. */
FVM_API void fvm_jit_free(fvm_jit *j);

/* Change a setting: 0, or -1 (setting unchanged) for an unknown param or a
 * value outside its range. Code compiled already is kept. */
FVM_API int fvm_jit_set_param(fvm_jit *j, fvm_jit_param p, uint64_t value);
/* A setting's current value; 0 for an unknown param. */
FVM_API uint64_t fvm_jit_get_param(const fvm_jit *j, fvm_jit_param p);
/* A setting's lower-case name ("block_threshold"), or NULL. */
FVM_API const char *fvm_jit_param_name(fvm_jit_param p);
/* A tier's name ("linear", "block", "trace"), or NULL. */
FVM_API const char *fvm_jit_tier_name(fvm_jit_tier t);
/* Whether this build has the tier's code generator. */
FVM_API bool fvm_jit_tier_available(fvm_jit_tier t);

/* Copy the context's counters to *out. */
FVM_API void fvm_jit_stats(const fvm_jit *j, fvm_jit_counters *out);
/* "tier: reason" of the most recent failed compile, or NULL if none has
 * failed (valid until the next compile). */
FVM_API const char *fvm_jit_last_failure(const fvm_jit *j);
/* The reason's text ("calls and returns"), or NULL if r is out of range. */
FVM_API const char *fvm_jit_reason_text(fvm_jit_reason r);

/* What a dump hook receives as a chunk compiles, as len bytes of text
 * (valid during the call only; lines end with '\n'):
 *  - IR: the tier's IR and its register assignment;
 *  - CODE: the machine code, one line per IR instruction: its offset
 *    (hex), the instruction (vN op) and its bytes (hex, a disassembler's
 *    input), then a line for the code that follows the instructions;
 *  - TRACE: a trace as recorded, before it compiles: a line naming it
 *    (root or side, where it starts, the loop it closes), then one line
 *    per op it ran ("  IP  OpName A B"). While TRACE is dumped, traces are
 *    recorded rather than loaded from the disk cache. */
typedef enum fvm_jit_dump_kind {
    FVM_JIT_DUMP_IR = 1,
    FVM_JIT_DUMP_CODE = 2,
    FVM_JIT_DUMP_TRACE = 4
} fvm_jit_dump_kind;
typedef void (*fvm_jit_dump_fn)(void *ud, fvm_jit_dump_kind kind, fvm_jit_tier tier,
                                const fvm_chunk *c, const char *text, size_t len);
/* Call fn for each kind in kinds (FVM_JIT_DUMP_* bits) as chunks compile;
 * kinds 0 or fn NULL turns dumping off. */
FVM_API void fvm_jit_set_dump(fvm_jit *j, unsigned kinds, fvm_jit_dump_fn fn, void *ud);
/* While TRACE is dumped: hand the hook, as one TRACE text for chunk c,
 * every trace of c's loops with its exits and how often each was taken
 * so far (a line per exit: record, ip, reason, count). */
FVM_API void fvm_jit_dump_trace_exits(fvm_jit *j, const fvm_chunk *c);

/* Linear tier: a straight-line numeric chunk that ends with one value,
 * run with the interpreter's exact results. Whether the tier accepts c
 * (validation only; a compile may still decline). */
FVM_API bool fvm_jit_is_linear_eligible(fvm_jit *j, const fvm_chunk *c);
/* Run c natively with slots[0..nslots) as its frame slots. Compiles on the
 * first call and caches the code by op_hash and the kinds of the slots c
 * uses. FVM_JIT_OK: *out holds the result (as the interpreter's: Int,
 * Float or Bool; the caller owns it) and the slots c writes hold what the
 * interpreter would have written. FVM_JIT_NOT_COMPILED: nothing changed;
 * the chunk is not eligible, its compile failed or is being backed off, a
 * slot it reads is not numeric, nslots is too short, or the code met a
 * case it leaves to the interpreter (a zero divisor): run the interpreter. */
FVM_API fvm_jit_status fvm_jit_try_run_linear(fvm_jit *j, const fvm_chunk *c, fvm_value *slots,
                                              size_t nslots, fvm_value *out);

/* Block tier: a whole numeric chunk with jumps and loops in one native
 * function, its slots in registers. Whether the tier accepts every op of c
 * (validation only; a compile may still decline, e.g. when a slot would
 * hold an Int on one path and a Float on another). */
FVM_API bool fvm_jit_is_block_eligible(fvm_jit *j, const fvm_chunk *c);
/* Run c natively with slots[0..nslots) as its frame slots, after the
 * context's block_threshold calls of c with slots of the same kinds
 * (compiled code is cached by op_hash and the kinds of the slots c uses).
 * FVM_JIT_OK: *out holds the value the interpreter would return (Int,
 * Float or Bool; the caller owns it); FVM_JIT_HALTED: the chunk ends with
 * an empty stack. Either way the slots c writes hold what the interpreter
 * would have left there; slots it does not write are untouched, and slots
 * past nslots are never accessed. FVM_JIT_NOT_COMPILED: nothing changed;
 * run the interpreter (not eligible, not hot yet, compile failed or backed
 * off, too few slots, or the code met a case it leaves to the interpreter:
 * a zero divisor, a slot that is not a number, an AWK division by zero;
 * for the last, fvm_jit_take_awk_div_trap says which). */
FVM_API fvm_jit_status fvm_jit_try_run_block(fvm_jit *j, const fvm_chunk *c, fvm_value *slots,
                                             size_t nslots, fvm_value *out);
/* fvm_jit_try_run_block compiling on the first call, whatever the
 * threshold. */
FVM_API fvm_jit_status fvm_jit_try_run_block_eager(fvm_jit *j, const fvm_chunk *c,
                                                   fvm_value *slots, size_t nslots,
                                                   fvm_value *out);
/* The kinds of raw slot words, for hosts that keep slots as 64-bit words
 * (upstream's kinded variants): an Int word is the integer, a Float word
 * the double's bit pattern. */
typedef enum fvm_jit_slot_kind { FVM_JIT_SLOT_INT, FVM_JIT_SLOT_FLOAT } fvm_jit_slot_kind;
/* fvm_jit_try_run_block (eager: _eager) on raw words; kinds NULL means all
 * Int. On FVM_JIT_OK/HALTED the words c writes are updated: an Int or Bool
 * result of a slot into an Int word (Bool as 0/1), a Float into a Float
 * word; a slot whose kind the run changes (a Float written into an Int
 * word, or the reverse) makes the call decline, as nothing could say so. */
FVM_API fvm_jit_status fvm_jit_try_run_block_kinded(fvm_jit *j, const fvm_chunk *c, int64_t *slots,
                                                    const fvm_jit_slot_kind *kinds, size_t nslots,
                                                    bool eager, fvm_value *out);
/* Whether code for c (any slot kinds) is compiled in this context. */
FVM_API bool fvm_jit_block_is_compiled(fvm_jit *j, const fvm_chunk *c);
/* Which AWK division the most recent block run left to the interpreter
 * because its divisor was zero: 0 none, 1 AwkDivJit, 2 AwkModJit; reading
 * clears it. fvm_jit_awk_div_trap_message gives the interpreter's error
 * message for a trap (NULL for 0). */
FVM_API int fvm_jit_take_awk_div_trap(fvm_jit *j);
FVM_API const char *fvm_jit_awk_div_trap_message(int trap);
/* Partial JIT: the longest run of at least 4 block-eligible ops in c whose
 * jumps all stay inside it (a jump to its end disqualifies it), earliest
 * first on ties: true with [*start, *end), false if there is none. */
FVM_API bool fvm_jit_find_region(const fvm_chunk *c, size_t *start, size_t *end);
/* A new chunk of ops [start, end) of c, jumps rebased, with c's constants,
 * names and source and the region's lines (no subroutines, blocks or sub
 * chunks), verified and hashed; NULL if the range is empty or out of
 * bounds or a jump leaves it. Free with fvm_chunk_free. */
FVM_API fvm_chunk *fvm_jit_extract_region(const fvm_chunk *c, size_t start, size_t end);

/* Disk cache: compiled machine code kept in files, so a later process can
 * skip compiling (on by default; docs/FORMAT.md has the files). The
 * directory is the context's setting if one was made, else
 * FUSEVM_JIT_CACHE_DIR (empty, off, 0, no, none, false or disabled turn
 * caching off), else $XDG_CACHE_HOME/fusevm-jit, else $HOME/.cache/fusevm-jit,
 * else $TMPDIR (or /tmp)/fusevm-jit; resolved on every use. The directory
 * is created with mode 0700; files in a directory, or files, that are not
 * the user's own or are writable by group or others are never loaded. */
#define FVM_JIT_CACHE_OFF ""
/* The directory in use, or NULL when caching is off (the string stays
 * valid until the directory's setting or environment changes). */
FVM_API const char *fvm_jit_cache_dir(fvm_jit *j);
/* dir NULL: back to the environment and defaults; FVM_JIT_CACHE_OFF:
 * caching off for this context; otherwise the directory to use. */
FVM_API void fvm_jit_set_cache_dir(fvm_jit *j, const char *dir);
/* Bytes in the directory's *.fjit files, or -1 when caching is off. */
FVM_API int64_t fvm_jit_cache_size_bytes(fvm_jit *j);
/* The size cap: max < 0 goes back to FUSEVM_JIT_CACHE_MAX_BYTES (bytes, or
 * with a k/m/g suffix; 0, off, none or unlimited for no cap) or the
 * default 256 MiB; 0 means no cap. Writes evict the oldest files down to
 * 80% of the cap once it is passed. */
FVM_API void fvm_jit_set_cache_max_bytes(fvm_jit *j, int64_t max);
/* The cap in force (0: none). */
FVM_API uint64_t fvm_jit_cache_max_bytes(fvm_jit *j);
/* Evict now if over the cap: the bytes deleted (0 when off, uncapped or
 * under the cap). */
FVM_API uint64_t fvm_jit_prune_cache(fvm_jit *j);
/* Delete every *.fjit file in the directory (nothing else): how many. */
FVM_API size_t fvm_jit_clear_cache(fvm_jit *j);

/* ------------------------------------------------------------------------
 * The VM
 * ------------------------------------------------------------------------ */

typedef struct fvm_vm fvm_vm;

typedef enum fvm_run_status {
    FVM_RUN_OK,     /* value holds the top of the stack, or what the called
                       subroutine returned (caller owns it) */
    FVM_RUN_HALTED, /* the run ended with an empty stack, or the called
                       subroutine halted */
    FVM_RUN_ERROR   /* fvm_vm_error() says why; fvm_vm_error_ip() where,
                       fvm_vm_traceback_frame() through which calls */
} fvm_run_status;

typedef struct fvm_result {
    fvm_run_status status;
    fvm_value value;
} fvm_result;

/* Handlers. ud is the pointer given at registration. */
typedef fvm_value (*fvm_builtin_fn)(fvm_vm *vm, uint8_t argc, void *ud);
typedef void (*fvm_ext_fn)(fvm_vm *vm, uint16_t id, uint8_t arg, void *ud);
typedef void (*fvm_ext_wide_fn)(fvm_vm *vm, uint16_t id, uint64_t payload, void *ud);
/* Receives everything Print/PrintLn write; one call per op. */
typedef void (*fvm_output_fn)(void *ud, const char *bytes, size_t len);
/* Supplies ReadLine: return true and set *line and *len (without the newline;
 * the bytes must stay valid until the next call), or false at end of input
 * (ReadLine then pushes Undef, as it does at the end of stdin). */
typedef bool (*fvm_input_fn)(void *ud, const char **line, size_t *len);

/* A VM for a chunk. The chunk is borrowed: keep it alive while the VM uses
 * it. Globals start as one Undef per name; one root frame. */
FVM_API fvm_vm *fvm_vm_new(const fvm_chunk *chunk);
FVM_API void fvm_vm_free(fvm_vm *vm);
/* Make the VM as new for chunk, keeping handlers, hooks and settings. */
FVM_API void fvm_vm_reset(fvm_vm *vm, const fvm_chunk *chunk);
/* Run from the current ip until the end, a halt or an error. */
FVM_API fvm_result fvm_vm_run(fvm_vm *vm);
FVM_API const char *fvm_vm_error(const fvm_vm *vm);
/* Index of the op that raised the last error. */
FVM_API size_t fvm_vm_error_ip(const fvm_vm *vm);
FVM_API const fvm_chunk *fvm_vm_chunk(const fvm_vm *vm);

/* The value stack. push takes v; pop returns (Undef when empty); peek and
 * stack_at are borrowed (index 0 is the bottom). */
FVM_API void fvm_vm_push(fvm_vm *vm, fvm_value v);
FVM_API fvm_value fvm_vm_pop(fvm_vm *vm);
FVM_API fvm_value fvm_vm_peek(const fvm_vm *vm);
FVM_API size_t fvm_vm_stack_depth(const fvm_vm *vm);
FVM_API fvm_value fvm_vm_stack_at(const fvm_vm *vm, size_t i);

/* Slots of the top frame, with the ops' rules: get returns a copy (Undef if
 * missing), set takes v and grows the frame. */
FVM_API fvm_value fvm_vm_get_slot(const fvm_vm *vm, uint16_t slot);
FVM_API void fvm_vm_set_slot(fvm_vm *vm, uint16_t slot, fvm_value v);
/* Frames, for inspection: frame 0 is the root. Slot values are borrowed. */
FVM_API size_t fvm_vm_frame_count(const fvm_vm *vm);
FVM_API size_t fvm_vm_frame_slot_count(const fvm_vm *vm, size_t frame);
FVM_API fvm_value fvm_vm_frame_slot(const fvm_vm *vm, size_t frame, size_t slot);
/* Slot names of a live frame, counted from the top: up 0 is the running
 * frame, 1 its caller, and so on. A frame that entered a subroutine (Call,
 * CallDynamic, Exec of a subroutine, a goroutine's start) has the names
 * the chunk gives that subroutine's entry ip; the root frame and PushFrame
 * frames have none. Names are borrowed from the chunk. */
FVM_API size_t fvm_vm_slot_name_count_at(const fvm_vm *vm, size_t up);
FVM_API const char *fvm_vm_slot_name_at(const fvm_vm *vm, size_t up, uint16_t slot);
/* The slot named name in that frame, or -1. */
FVM_API int32_t fvm_vm_slot_of_at(const fvm_vm *vm, size_t up, const char *name);
/* Globals, indexed by name-pool index. get is borrowed; set takes v.
 * Out-of-range indices read Undef and ignore writes. */
FVM_API size_t fvm_vm_global_count(const fvm_vm *vm);
FVM_API fvm_value fvm_vm_global(const fvm_vm *vm, size_t idx);
FVM_API void fvm_vm_set_global(fvm_vm *vm, size_t idx, fvm_value v);
/* Globals by name (the first equal name of the chunk's pool, as
 * fvm_chunk_find_name finds it): get is borrowed, Undef when the chunk has
 * no such name; set takes v and returns 0, or -1 (v dropped) when the
 * chunk has no such name: a program's globals are the names it uses. */
FVM_API fvm_value fvm_vm_global_named(const fvm_vm *vm, const char *name);
FVM_API int fvm_vm_set_global_named(fvm_vm *vm, const char *name, fvm_value v);

FVM_API int32_t fvm_vm_last_status(const fvm_vm *vm);
FVM_API void fvm_vm_set_last_status(fvm_vm *vm, int32_t status);
/* The code of the AwkSignal that halted the last run, or -1. */
FVM_API int fvm_vm_awk_signal(const fvm_vm *vm);

/* Register a CallBuiltin handler for id (replaces an earlier one). The
 * handler pops its own arguments; the VM pushes its return value. */
FVM_API void fvm_vm_register_builtin(fvm_vm *vm, uint16_t id, fvm_builtin_fn fn, void *ud);
/* The same, and under name too (NUL-terminated; a name registered again
 * moves to the new id): a chunk that declares the name (fvm_declare_builtin)
 * calls this handler through the id it declared, whatever id it has here. */
FVM_API void fvm_vm_register_builtin_named(fvm_vm *vm, uint16_t id, const char *name,
                                           fvm_builtin_fn fn, void *ud);
FVM_API void fvm_vm_set_extension_handler(fvm_vm *vm, fvm_ext_fn fn, void *ud);
FVM_API void fvm_vm_set_extension_wide_handler(fvm_vm *vm, fvm_ext_wide_fn fn, void *ud);
/* Nothing answers a CallBuiltin whose id has no handler, an Extended
 * without an extension handler, or an ExtendedWide outside the AWK range
 * (FVM_AWK_OP_BASE..FVM_AWK_OP_END) without a wide handler: by default the
 * run ends with an error at that op, and a chunk that declares a builtin
 * name the VM has not registered fails before its first op. ignore true
 * restores upstream's behaviour: such ops do nothing (their arguments stay
 * on the stack, nothing is pushed) and declarations are not checked. Kept
 * across fvm_vm_reset. */
FVM_API void fvm_vm_ignore_missing_handlers(fvm_vm *vm, bool ignore);
/* Output and input hooks; NULL restores stdout / stdin. */
FVM_API void fvm_vm_set_output(fvm_vm *vm, fvm_output_fn fn, void *ud);
FVM_API void fvm_vm_set_input(fvm_vm *vm, fvm_input_fn fn, void *ud);

/* From a handler: stop the run after the current op. */
FVM_API void fvm_vm_request_halt(fvm_vm *vm);
/* Allow a halted VM to run on from its current ip. */
FVM_API void fvm_vm_clear_halt(fvm_vm *vm);
/* From a handler: end the run with an error carrying msg. */
FVM_API void fvm_vm_raise(fvm_vm *vm, const char *msg);
/* Ask the running program to stop: it ends with the error "interrupted" at
 * its next taken jump, call or return (where the interpreter polls, so no
 * loop or recursion escapes it) or while an op whose work grows with an
 * operand works (Range, RangeStep, StringRepeat, ConcatConstLoop,
 * PushIntRangeLoop), and fvm_vm_run returns FVM_RUN_ERROR with
 * fvm_vm_error_ip naming that op. Safe to call from a signal handler or
 * from another thread while the VM runs (one atomic operation, nothing
 * else). The request is cleared when the outermost run or fvm_vm_call
 * ends, however it ends, so the VM is usable afterwards (e.g. fvm_vm_reset
 * and run again); a request made while no run is in progress ends the
 * next run at its first poll. With a JIT context attached, a trace's
 * loop polls at its back-edge; a block-tier region does not poll yet, so
 * a loop it runs natively sees the request when it returns to the
 * interpreter. */
FVM_API void fvm_vm_interrupt(fvm_vm *vm);

/* Limits that turn runaway programs into errors instead of exhausting
 * memory: the value stack depth and the number of frames. */
FVM_API void fvm_vm_set_limits(fvm_vm *vm, size_t max_stack, size_t max_frames);

/* An instruction budget: the next runs and calls may run ops bytecode ops
 * in all (ops < 0: no budget, the default). The interpreter charges the
 * ops it runs where it polls (taken jumps, calls, returns), so a run ends
 * with the error "instruction budget exhausted (N ops)" at the first of
 * those after the budget is spent, naming that op; code without loops or
 * calls always runs to its end. A fused op counts as the ops it stands
 * for; an op whose work grows with an operand (Range) counts as one.
 * The count is the interpreter's: native code is charged when it returns
 * to the interpreter, the ops between where the interpreter left off and
 * where it resumes, so a block-tier region counts its ops once per entry
 * and a trace, which leaves at its back-edge while a budget is set, one op
 * per iteration; a budget still stops every loop, later than the
 * interpreter would when the loop runs natively. Once spent,
 * every run fails at its first poll until the budget is set again; kept
 * across fvm_vm_reset. */
FVM_API void fvm_vm_set_fuel(fvm_vm *vm, int64_t ops);
/* The ops left of the budget (0 once spent), or -1 when there is none. */
FVM_API int64_t fvm_vm_fuel(const fvm_vm *vm);

/* ------------------------------------------------------------------------
 * Calling the program from C, frames and tracebacks
 * ------------------------------------------------------------------------ */

/* Call the subroutine registered for name (as Call does: the first sub
 * entry of the first equal name) with argc arguments, args[0] first
 * (borrowed: the VM takes copies), on the VM's current globals: typically
 * after fvm_vm_run has run the program's top level. Returns
 *  - FVM_RUN_OK and the value ReturnValue returned (Undef after Return);
 *  - FVM_RUN_HALTED when the call halted (fvm_vm_request_halt, AwkSignal,
 *    or the code ran into the end of the chunk);
 *  - FVM_RUN_ERROR with fvm_vm_error and the traceback set: an error in
 *    the callee, "undefined function: NAME", "interrupted", a spent
 *    budget, or "too many nested calls from C" past FVM_MAX_NESTED_CALLS.
 * Re-entrant: a builtin or extension handler may call it while a run is
 * in progress. The call runs on top of the current frames and stack and
 * leaves them as they were, whatever happens in it; an error in the call
 * does not end the run around it (the handler decides: fvm_vm_raise
 * passes it on), and neither does a halt. An interrupt made during a
 * nested call ends it and then the run around it; fuel is shared. */
FVM_API fvm_result fvm_vm_call(fvm_vm *vm, const char *name, const fvm_value *args, size_t argc);
/* How deep fvm_vm_call may nest inside runs and calls: each level takes C
 * stack. */
#define FVM_MAX_NESTED_CALLS 200

/* What one frame of the call stack is running. The strings are borrowed
 * from the chunk. */
typedef struct fvm_frame_info {
    const char *name;   /* the subroutine the frame runs; NULL for the root
                           frame (the program's top level) and PushFrame's */
    size_t ip;          /* its op: a caller's Call; in the top frame the op
                           running (inside a handler, the op that called
                           it), or the next op to run between runs */
    uint32_t line;      /* that op's source line (0: none recorded) */
    const char *source; /* the chunk's source name (fvm_set_source), or NULL */
} fvm_frame_info;

/* The frames now, numbered as fvm_vm_frame_count (0 is the root): false,
 * *out untouched, when frame is out of range. */
FVM_API bool fvm_vm_frame_info(const fvm_vm *vm, size_t frame, fvm_frame_info *out);

/* The frames of the code that was running when the last error ended a
 * run or a call (before they were unwound): frame 0 is the outermost, the
 * root frame in a run, the called subroutine's in a call from C made
 * between runs (the frames below it are what an earlier run left, not its
 * callers); the last is where the error was raised, its ip
 * fvm_vm_error_ip. An error inside a call a handler made runs down from
 * the root frame through the handler's op. Kept until the next error
 * replaces it or fvm_vm_reset; the strings are the chunk's. */
FVM_API size_t fvm_vm_traceback_count(const fvm_vm *vm);
FVM_API bool fvm_vm_traceback_frame(const fvm_vm *vm, size_t frame, fvm_frame_info *out);
/* The last error as text, as a compiler or Lua reports one: a first line
 * "SOURCE:LINE: MESSAGE", then (when frames were kept) "stack traceback:"
 * and a line per frame, innermost first, "\tSOURCE:LINE: in sub 'NAME'
 * (op N)" ("in the main program" for the root frame, "in a frame" for
 * PushFrame's). SOURCE is the chunk's source name, else the source
 * argument, else "?"; ":LINE" is left out where no line was recorded. A
 * new string (free with fvm_free); NULL when no error has been recorded. */
FVM_API char *fvm_vm_traceback(const fvm_vm *vm, const char *source);

/* The JIT context the VM's runs use (borrowed: keep it alive while the VM
 * has it; NULL, the default, runs everything in the interpreter). With a
 * context, fvm_vm_run runs each region of numeric ops that loops (or is
 * long) through the block tier once the region has been entered more than
 * block_threshold times, and the rest in the interpreter; results, slots,
 * output and errors are the interpreter's in every case. Kept across
 * fvm_vm_reset; several VMs may share one context on one thread. */
FVM_API void fvm_vm_set_jit(fvm_vm *vm, fvm_jit *j);
FVM_API fvm_jit *fvm_vm_jit(const fvm_vm *vm);

/* ------------------------------------------------------------------------
 * Hosts
 *
 * A frontend gives the shell and AWK ops their meaning by installing a
 * host: a struct of function pointers the VM calls from those ops
 * (docs/HOSTS.md explains how to write one). Every entry is optional; a
 * NULL entry leaves its op (or the part of the op it covers) doing what
 * it does with no host at all, which docs/OPS.md describes per op.
 *
 * Both structs start with their size and a user pointer. Set size to
 * sizeof the struct as you compiled it: entries added to a later version of
 * this header lie past that size and count as NULL, so a host built against
 * an older header keeps working. The VM copies the struct when it is
 * installed; ud is passed back to every entry.
 *
 * What entries receive and return:
 *  - vm is the running VM. An entry may push nothing and pop nothing (the
 *    VM does both around the call), but it may read and set globals and
 *    last_status, run chunks (fvm_vm_run_nested, fvm_vm_new_child; never
 *    fvm_vm_run or fvm_vm_reset on the running VM), and end the run with
 *    fvm_vm_raise.
 *  - Operands are borrowed values, valid during the call (copy one with
 *    fvm_value_copy to keep it). Strings are Str values; read their bytes
 *    with fvm_str_bytes. Operand lists are in source order.
 *  - A returned fvm_value is owned by the VM, which pushes it unchanged.
 * ------------------------------------------------------------------------ */

/* The shell host: upstream's 26 methods, and test_file. */
typedef struct fvm_shell_host {
    size_t size; /* sizeof(fvm_shell_host) as the host was compiled */
    void *ud;
    /* Glob / GlobRecursive: an Array of Str, the paths matching pattern.
     * Default: the file system's matches, sorted. */
    fvm_value (*glob)(void *ud, fvm_vm *vm, fvm_value pattern, bool recursive);
    /* TildeExpand: a Str. Default: the word unchanged. */
    fvm_value (*tilde_expand)(void *ud, fvm_vm *vm, fvm_value word);
    /* BraceExpand: an Array of Str. Default: [word]. */
    fvm_value (*brace_expand)(void *ud, fvm_vm *vm, fvm_value word);
    /* WordSplit: an Array of Str. Default: split on runs of white space,
     * empty words dropped. */
    fvm_value (*word_split)(void *ud, fvm_vm *vm, fvm_value s);
    /* ExpandParam: the expansion of ${name...} for modifier (FVM_PARAM_*)
     * with its nargs words (0, 1 or 2 by modifier). Default: "". */
    fvm_value (*expand_param)(void *ud, fvm_vm *vm, fvm_value name, unsigned modifier,
                              const fvm_value *args, size_t nargs);
    /* ${name[index]}: no op calls it; fvm_vm_shell_array_index does, for
     * builtins that need it. Default: Undef. */
    fvm_value (*array_index)(void *ud, fvm_vm *vm, fvm_value name, fvm_value index);
    /* CmdSubst: run sub (a sub-chunk of the running chunk) and return its
     * output as a Str. Default: "". */
    fvm_value (*cmd_subst)(void *ud, fvm_vm *vm, const fvm_chunk *sub);
    /* ProcessSubIn / ProcessSubOut: start sub with its output (in) or input
     * (out) on a pipe and return the pipe's path as a Str. Default: "". */
    fvm_value (*process_sub_in)(void *ud, fvm_vm *vm, const fvm_chunk *sub);
    fvm_value (*process_sub_out)(void *ud, fvm_vm *vm, const fvm_chunk *sub);
    /* Redirect: fd op target, op one of FVM_REDIR_*. Default: nothing. */
    void (*redirect)(void *ud, fvm_vm *vm, uint8_t fd, uint8_t op, fvm_value target);
    /* HereDoc (the constant's string form) and HereString. Default: nothing. */
    void (*heredoc)(void *ud, fvm_vm *vm, fvm_value content);
    void (*herestring)(void *ud, fvm_vm *vm, fvm_value content);
    /* PipelineBegin (n stages), PipelineStage (between stages) and
     * PipelineEnd, whose status becomes last_status and is pushed.
     * Defaults: nothing, nothing, last_status unchanged. */
    void (*pipeline_begin)(void *ud, fvm_vm *vm, uint8_t n);
    void (*pipeline_stage)(void *ud, fvm_vm *vm);
    int32_t (*pipeline_end)(void *ud, fvm_vm *vm);
    /* SubshellBegin and SubshellEnd; return true with *status set to make
     * it last_status. Defaults: nothing, last_status unchanged. */
    void (*subshell_begin)(void *ud, fvm_vm *vm);
    bool (*subshell_end)(void *ud, fvm_vm *vm, int32_t *status);
    /* TrapSet: run handler (a sub-chunk) when signal sig arrives; TrapCheck:
     * the place to run the handlers of signals that arrived. Default:
     * nothing. */
    void (*trap_set)(void *ud, fvm_vm *vm, fvm_value sig, const fvm_chunk *handler);
    void (*trap_check)(void *ud, fvm_vm *vm);
    /* WithRedirectsBegin (count redirects follow) and WithRedirectsEnd.
     * Default: nothing. */
    void (*with_redirects_begin)(void *ud, fvm_vm *vm, uint8_t count);
    void (*with_redirects_end)(void *ud, fvm_vm *vm);
    /* CallFunction: return true with *status set if name is a function you
     * ran; false passes name and args to exec. Default (NULL): the chunk's
     * sub of that name if it has one, else exec. */
    bool (*call_function)(void *ud, fvm_vm *vm, fvm_value name, const fvm_value *args,
                          size_t nargs, int32_t *status);
    /* Exec (after the chunk's subs and the built-in true, false, echo, test
     * and [) and CallFunction: run argv[0] with the rest as arguments and
     * return its exit status; argc >= 1. Default: spawn the program with
     * the VM's stdin, stdout and stderr and wait: its exit code, 1 if a
     * signal ended it, 127 if it could not be started. */
    int32_t (*exec)(void *ud, fvm_vm *vm, const fvm_value *argv, size_t argc);
    /* ExecBg: start argv in the background; argc >= 1. Default: spawn it
     * detached with stdout and stderr on /dev/null. */
    void (*exec_bg)(void *ud, fvm_vm *vm, const fvm_value *argv, size_t argc);
    /* StrMatch: whether s matches the glob pattern. Default: s == pattern. */
    bool (*str_match)(void *ud, fvm_vm *vm, fvm_value s, fvm_value pattern);
    /* RegexMatch: whether s matches re. Default: false. */
    bool (*regex_match)(void *ud, fvm_vm *vm, fvm_value s, fvm_value re);
    /* TestFile (test is one of FVM_FILE_*); not in upstream, whose TestFile
     * always asks the file system. Default: stat or lstat of path. */
    bool (*test_file)(void *ud, fvm_vm *vm, unsigned test, fvm_value path);
} fvm_shell_host;

/* Install a copy of *host (NULL removes the host). -1, and nothing
 * changes, if host->size is smaller than the size and ud fields. Kept
 * across fvm_vm_reset. */
FVM_API int fvm_vm_set_shell_host(fvm_vm *vm, const fvm_shell_host *host);
/* The installed host (borrowed), or NULL. */
FVM_API const fvm_shell_host *fvm_vm_shell_host(const fvm_vm *vm);
/* The host's array_index, or its default (returns). */
FVM_API fvm_value fvm_vm_shell_array_index(fvm_vm *vm, fvm_value name, fvm_value index);

/* The target of sub and gsub. The ops produce Var (named by the third
 * operand's string form) and Field 0 (no third operand); ArrayElem is for
 * frontends that compile sub on an array element. */
typedef enum fvm_awk_lvalue_kind {
    FVM_AWK_LVALUE_VAR,
    FVM_AWK_LVALUE_FIELD,
    FVM_AWK_LVALUE_ARRAY_ELEM
} fvm_awk_lvalue_kind;
typedef struct fvm_awk_lvalue {
    fvm_awk_lvalue_kind kind;
    fvm_value name; /* Var: the variable; ArrayElem: the array (Str) */
    fvm_value key;  /* ArrayElem: the subscript, SUBSEP-joined (Str) */
    int64_t field;  /* Field: the field number ($0 is 0) */
} fvm_awk_lvalue;

/* getline kinds, AwkGetline's operand: getline, getline var, getline <file,
 * getline var <file, cmd | getline, cmd | getline var. */
enum {
    FVM_GETLINE_MAIN, FVM_GETLINE_MAIN_VAR, FVM_GETLINE_FILE, FVM_GETLINE_FILE_VAR,
    FVM_GETLINE_CMD, FVM_GETLINE_CMD_VAR
};

/* Shapes shared by the AWK host's builtin entries. */
typedef fvm_value (*fvm_awk_fn0)(void *ud, fvm_vm *vm);
typedef fvm_value (*fvm_awk_fn1)(void *ud, fvm_vm *vm, fvm_value x);
typedef fvm_value (*fvm_awk_fn2)(void *ud, fvm_vm *vm, fvm_value a, fvm_value b);
typedef fvm_value (*fvm_awk_fnv)(void *ud, fvm_vm *vm, const fvm_value *args, size_t n);

/* The AWK host: upstream's methods, and field_num. Each entry serves the
 * op of the same name (AwkFieldGet, AwkArrayGet, ...) and the ExtendedWide
 * id of that op; the stack effects are in docs/OPS.md. Names that are C
 * or C++ keywords carry a trailing underscore. The defaults of the
 * builtins (length to intdiv0) compute the real result; the others are
 * inert (the value given). */
typedef struct fvm_awk_host {
    size_t size; /* sizeof(fvm_awk_host) as the host was compiled */
    void *ud;
    /* $i (i is the operand's to_int). Default "". */
    fvm_value (*field_get)(void *ud, fvm_vm *vm, int64_t i);
    /* $i = v. */
    void (*field_set)(void *ud, fvm_vm *vm, int64_t i, fvm_value v);
    /* NF. Default 0. */
    int64_t (*nf)(void *ud, fvm_vm *vm);
    /* $0 = v, splitting it into fields. */
    void (*set_record)(void *ud, fvm_vm *vm, fvm_value v);
    /* AwkGetFieldNum: $i as a number. Default 0.0. */
    double (*field_num)(void *ud, fvm_vm *vm, int64_t i);
    /* FS, NR, RSTART and the other special variables, by name. Default
     * Undef. */
    fvm_value (*special_get)(void *ud, fvm_vm *vm, fvm_value name);
    void (*special_set)(void *ud, fvm_vm *vm, fvm_value name, fvm_value v);
    /* print with n operands (n = 0: print $0). */
    void (*print)(void *ud, fvm_vm *vm, const fvm_value *args, size_t n);
    /* printf / sprintf: fmt is the first operand's string form ("" when
     * there are none), args the rest. sprintf's default "". */
    void (*printf)(void *ud, fvm_vm *vm, fvm_value fmt, const fvm_value *args, size_t n);
    fvm_value (*sprintf)(void *ud, fvm_vm *vm, fvm_value fmt, const fvm_value *args, size_t n);
    /* getline of kind (FVM_GETLINE_*): operand is the file or command's
     * string form for kinds FILE to CMD_VAR, else NULL; var_name is always
     * NULL from the op (the target variable is the frontend's to assign).
     * 1 read, 0 end of input, -1 error. Default 0. */
    int64_t (*getline)(void *ud, fvm_vm *vm, unsigned kind, const fvm_value *operand,
                       const fvm_value *var_name);
    /* length(*s), or length($0) when s is NULL. Default: the characters of
     * s's string form, 0 for NULL. */
    int64_t (*length)(void *ud, fvm_vm *vm, const fvm_value *s);
    /* substr(s, m [, n]) with m and n as to_int; has_n says whether n was
     * given. Default: POSIX substr in characters. */
    fvm_value (*substr)(void *ud, fvm_vm *vm, fvm_value s, int64_t m, bool has_n, int64_t n);
    /* index(s, t): 1-based, 0 when absent. */
    int64_t (*index)(void *ud, fvm_vm *vm, fvm_value s, fvm_value t);
    /* split(s, arr, fs): arr_name is the second operand's string form; fs
     * NULL means FS. Returns the element count. Default 0. */
    int64_t (*split)(void *ud, fvm_vm *vm, fvm_value s, fvm_value arr_name, const fvm_value *fs);
    /* sub / gsub: the substitutions made in *target. Default 0. */
    int64_t (*sub)(void *ud, fvm_vm *vm, fvm_value re, fvm_value repl,
                   const fvm_awk_lvalue *target);
    int64_t (*gsub)(void *ud, fvm_vm *vm, fvm_value re, fvm_value repl,
                    const fvm_awk_lvalue *target);
    /* match(s, re): RSTART, setting RSTART and RLENGTH. Default 0. */
    int64_t (*match)(void *ud, fvm_vm *vm, fvm_value s, fvm_value re);
    /* gensub(re, repl, how [, target]): how is "g" when not given; target
     * NULL means $0. Default "". */
    fvm_value (*gensub)(void *ud, fvm_vm *vm, fvm_value re, fvm_value repl, fvm_value how,
                        const fvm_value *target);
    fvm_awk_fn1 tolower, toupper;
    fvm_awk_fn1 int_, sqrt, sin, cos, exp, log;
    fvm_awk_fn2 atan2; /* (y, x) */
    fvm_awk_fnv and_, or_, xor_;
    fvm_awk_fn1 compl_;
    fvm_awk_fn2 lshift, rshift; /* (v, count) */
    fvm_awk_fn1 strtonum;
    fvm_awk_fn0 systime;
    fvm_awk_fnv strftime, mktime;
    fvm_awk_fn1 ord, chr, mkbool;
    fvm_awk_fn2 intdiv, intdiv0;
    /* arr[key], auto-vivifying. Default "". */
    fvm_value (*array_get)(void *ud, fvm_vm *vm, fvm_value arr_name, fvm_value key);
    void (*array_set)(void *ud, fvm_vm *vm, fvm_value arr_name, fvm_value key, fvm_value v);
    /* (key in arr). Default false. */
    bool (*array_exists)(void *ud, fvm_vm *vm, fvm_value arr_name, fvm_value key);
    void (*array_delete)(void *ud, fvm_vm *vm, fvm_value arr_name, fvm_value key);
    void (*array_clear)(void *ud, fvm_vm *vm, fvm_value arr_name);
    /* length(arr). Default 0. */
    int64_t (*array_len)(void *ud, fvm_vm *vm, fvm_value arr_name);
    /* No op calls it; fvm_vm_awk_compare does. Negative, 0 or positive as
     * a < b, a == b, a > b. */
    int (*compare)(void *ud, fvm_vm *vm, fvm_value a, fvm_value b);
} fvm_awk_host;

/* Install a copy of *host (NULL removes it); -1 as fvm_vm_set_shell_host.
 * Kept across fvm_vm_reset. AwkRand, AwkSrand, AwkDiv, AwkMod, their Jit
 * twins, AwkSignal and the always-float math stay in the VM. */
FVM_API int fvm_vm_set_awk_host(fvm_vm *vm, const fvm_awk_host *host);
FVM_API const fvm_awk_host *fvm_vm_awk_host(const fvm_vm *vm);
/* The host's compare, or its default: numeric when both string forms look
 * numeric (a float after trimming white space, or empty), else bytewise. */
FVM_API int fvm_vm_awk_compare(fvm_vm *vm, fvm_value a, fvm_value b);

/* Running chunks from a host entry (a command substitution, a trap
 * handler, a subshell).
 *
 * On the same VM: run c to its end as if it were called from the op that
 * called the host, with its own frame and the values it pushes above the
 * caller's stack; c's globals start as the caller's globals of the same
 * names and are written back to them when it ends. Handlers, hosts and the
 * output hook are the VM's. Returns what fvm_vm_run would; an error is the
 * entry's to report (fvm_vm_error has the message; the caller's run goes
 * on unless the entry calls fvm_vm_raise). */
FVM_API fvm_result fvm_vm_run_nested(fvm_vm *vm, const fvm_chunk *c);
/* On a new VM: one for c with parent's handlers, hosts, output and input
 * hooks, limits, capabilities, JIT context and last_status, and globals
 * copied from parent's of the same names; what it changes stays in it.
 * Free it with fvm_vm_free. */
FVM_API fvm_vm *fvm_vm_new_child(const fvm_vm *parent, const fvm_chunk *c);

/* Capabilities: what the VM itself may do to the system. Without one, the
 * ops that would need it end the run with an error naming the op and the
 * capability, unless an installed host entry does that op's work (a host
 * is the embedder's own code, trusted as such):
 *  - PROCESS: Exec and CallFunction running a program (not a sub of the
 *    chunk, nor true, false, echo, test and [), ExecBg, PipelineBegin,
 *    PipelineStage, PipelineEnd, ProcessSubIn and ProcessSubOut;
 *  - FILESYSTEM: Glob, GlobRecursive and TestFile.
 * Every VM starts with FVM_CAP_ALL (the fusevm command's VMs too). */
#define FVM_CAP_PROCESS 0x1u
#define FVM_CAP_FILESYSTEM 0x2u
#define FVM_CAP_ALL (FVM_CAP_PROCESS | FVM_CAP_FILESYSTEM)
/* Set the capabilities (FVM_CAP_* bits); kept across fvm_vm_reset and
 * given to child VMs. */
FVM_API void fvm_vm_set_capabilities(fvm_vm *vm, unsigned caps);
FVM_API unsigned fvm_vm_capabilities(const fvm_vm *vm);

/* Shell builtin ids, for CallBuiltin: the numbering shells built on
 * upstream use, so a frontend registers its handlers with
 * fvm_vm_register_builtin(vm, FVM_BUILTIN_CD, ...). The VM implements none
 * of them. X(ENUM, id). */
#define FVM_SHELL_BUILTIN_LIST(X) \
    X(CD, 0) X(PWD, 1) X(ECHO, 2) X(PRINT, 3) X(PRINTF, 4) X(EXPORT, 5) X(UNSET, 6) \
    X(SOURCE, 7) X(EXIT, 8) X(RETURN, 9) X(TRUE, 10) X(FALSE, 11) X(TEST, 12) X(COLON, 13) \
    X(DOT, 14) \
    X(LOCAL, 20) X(DECLARE, 21) X(TYPESET, 22) X(READONLY, 23) X(INTEGER, 24) X(FLOAT, 25) \
    X(READ, 30) X(MAPFILE, 31) \
    X(BREAK, 40) X(CONTINUE, 41) X(SHIFT, 42) X(EVAL, 43) X(EXEC, 44) X(COMMAND, 45) \
    X(BUILTIN, 46) X(LET, 47) \
    X(JOBS, 50) X(FG, 51) X(BG, 52) X(KILL, 53) X(DISOWN, 54) X(WAIT, 55) X(SUSPEND, 56) \
    X(HISTORY, 60) X(FC, 61) X(R, 62) \
    X(ALIAS, 70) X(UNALIAS, 71) \
    X(SET, 80) X(SETOPT, 81) X(UNSETOPT, 82) X(SHOPT, 83) X(EMULATE, 84) X(GETOPTS, 85) \
    X(AUTOLOAD, 90) X(FUNCTIONS, 91) X(UNFUNCTION, 92) \
    X(TRAP, 100) \
    X(PUSHD, 110) X(POPD, 111) X(DIRS, 112) \
    X(TYPE, 120) X(WHENCE, 121) X(WHERE, 122) X(WHICH, 123) X(HASH, 124) X(REHASH, 125) \
    X(UNHASH, 126) \
    X(COMPGEN, 130) X(COMPLETE, 131) X(COMPOPT, 132) X(COMPADD, 133) X(COMPSET, 134) \
    X(COMPDEF, 135) X(COMPINIT, 136) X(CDREPLAY, 137) \
    X(ZSTYLE, 140) X(ZMODLOAD, 141) X(BINDKEY, 142) X(ZLE, 143) X(VARED, 144) \
    X(ZCOMPILE, 145) X(ZFORMAT, 146) X(ZPARSEOPTS, 147) X(ZREGEXPARSE, 148) \
    X(ULIMIT, 150) X(LIMIT, 151) X(UNLIMIT, 152) X(UMASK, 153) \
    X(TIMES, 160) X(CALLER, 161) X(HELP, 162) X(ENABLE, 163) X(DISABLE, 164) \
    X(NOGLOB, 165) X(TTYCTL, 166) X(SYNC, 167) X(MKDIR, 168) X(STRFTIME, 169) \
    X(ZSLEEP, 170) X(ZSYSTEM, 171) \
    X(PCRE_COMPILE, 180) X(PCRE_MATCH, 181) X(PCRE_STUDY, 182) \
    X(ZTIE, 190) X(ZUNTIE, 191) X(ZGDBMPATH, 192) \
    X(PROMPTINIT, 200) X(PROMPT, 201) \
    X(ASYNC, 210) X(AWAIT, 211) X(PMAP, 212) X(PGREP, 213) X(PEACH, 214) X(BARRIER, 215) \
    X(INTERCEPT, 220) X(INTERCEPT_PROCEED, 221) \
    X(DOCTOR, 230) X(DBVIEW, 231) X(PROFILE, 232) X(ZPROF, 233) \
    X(CAT, 240) X(HEAD, 241) X(TAIL, 242) X(WC, 243) X(BASENAME, 244) X(DIRNAME, 245) \
    X(TOUCH, 246) X(REALPATH, 247) X(SORT, 248) X(FIND, 249) X(UNIQ, 250) X(CUT, 251) \
    X(TR, 252) X(SEQ, 253) X(REV, 254) X(TEE, 255) X(SLEEP, 256) X(WHOAMI, 257) X(ID, 258) \
    X(HOSTNAME, 259) X(UNAME, 260) X(DATE, 261) X(MKTEMP, 262)
enum {
#define FVM_X_BUILTIN(E, id) FVM_BUILTIN_##E = id,
    FVM_SHELL_BUILTIN_LIST(FVM_X_BUILTIN)
#undef FVM_X_BUILTIN
    /* One past the highest id any shell may use: the size of a handler
     * table indexed by id. */
    FVM_BUILTIN_MAX = 280
};
/* The id of a builtin's name ("cd", its alias "chdir", ".", "[" ...), or
 * -1. Case matters; DOT and DECLARE are ids no name maps to ("." is
 * SOURCE, "declare" TYPESET). */
FVM_API int fvm_shell_builtin_id(const char *name, size_t len);
/* The first name that maps to id ("cd" for FVM_BUILTIN_CD), or NULL. */
FVM_API const char *fvm_shell_builtin_name(unsigned id);

/* ------------------------------------------------------------------------
 * Hooks (docs/HOOKS.md)
 *
 * Hooks let a frontend change what reading an undefined variable and
 * arithmetic on non-numbers mean, per VM. A hook answers with a value (the
 * caller owns it; the VM pushes it) or fails the run by calling
 * fvm_vm_raise(vm, message) and returning anything (the value is dropped):
 * the run then ends with that message at the op that asked. While any hook
 * is set the VM never runs native code, so a JIT context attached to it
 * cannot change an answer. Hooks are kept across fvm_vm_reset; passing
 * NULL removes one.
 * ------------------------------------------------------------------------ */

/* A GetVar or GetSlot that found Undef. */
typedef struct fvm_undef_read {
    const char *name;   /* the global's name (NUL-terminated); NULL for a slot */
    size_t name_len;
    uint16_t index;     /* the name index (global) or the slot */
    bool from_slot;
    uint64_t chunk;     /* the chunk's identity: a hash of its op_hash and its
                           names (so chunks with equal ops and different names
                           differ), never 0 */
    size_t ip;          /* the op's index */
} fvm_undef_read;
/* Return Undef for the default (push Undef), another value to push it, or
 * raise to end the run. */
typedef fvm_value (*fvm_undef_fn)(fvm_vm *vm, const fvm_undef_read *read, void *ud);
FVM_API void fvm_vm_set_undef_hook(fvm_vm *vm, fvm_undef_fn fn, void *ud);
/* Whether an undef hook is set. */
FVM_API bool fvm_vm_is_strict_undef(const fvm_vm *vm);

/* The operations a numeric hook is asked about. */
typedef enum fvm_num_op {
    FVM_NUMOP_ADD, FVM_NUMOP_SUB, FVM_NUMOP_MUL, FVM_NUMOP_DIV, FVM_NUMOP_MOD, FVM_NUMOP_POW,
    FVM_NUMOP_NEG, FVM_NUMOP_LT, FVM_NUMOP_GT, FVM_NUMOP_LE, FVM_NUMOP_GE, FVM_NUMOP_EQ, FVM_NUMOP_NE
} fvm_num_op;
/* Strict numeric mode, on while either numeric hook is set: Add, Sub, Mul,
 * Div, Mod, Pow, Negate and NumEq..NumGe with an operand that is not an
 * Int or a Float, and Add, Sub, Mul and Negate of Ints whose exact result
 * overflows int64 or leaves the fixnum range, ask the hook instead of
 * computing (a and b are the operands, borrowed; Negate passes Undef as
 * b). Everything else computes as usual: Div of two numbers stays Float
 * and Undef for a zero divisor. The answer is pushed as the op's result. */
typedef fvm_value (*fvm_numeric_fn)(fvm_vm *vm, fvm_num_op op, fvm_value a, fvm_value b, void *ud);
FVM_API void fvm_vm_set_numeric_hook(fvm_vm *vm, fvm_numeric_fn fn, void *ud);
/* The same question with its site: the chunk's identity (as in
 * fvm_undef_read) and the op's index. When both forms are set, this one
 * is asked. */
typedef struct fvm_numeric_call {
    fvm_num_op op;
    fvm_value a, b; /* borrowed */
    uint64_t chunk;
    size_t ip;
} fvm_numeric_call;
typedef fvm_value (*fvm_sited_numeric_fn)(fvm_vm *vm, const fvm_numeric_call *call, void *ud);
FVM_API void fvm_vm_set_sited_numeric_hook(fvm_vm *vm, fvm_sited_numeric_fn fn, void *ud);
/* In strict numeric mode, Int results of Add, Sub, Mul and Negate outside
 * [lo, hi] go to the hook as overflows do (lo > hi: every result does).
 * Without a numeric hook it changes nothing. */
FVM_API void fvm_vm_set_fixnum_range(fvm_vm *vm, int64_t lo, int64_t hi);
/* Whether a numeric hook (either form) is set. */
FVM_API bool fvm_vm_is_strict_numeric(const fvm_vm *vm);

/* ------------------------------------------------------------------------
 * The scheduler (docs/SCHEDULER.md)
 *
 * Goroutines and channels for the ops Go, ChanMake, ChanSend, ChanRecv,
 * ChanClose and Select, cooperatively on one thread: each goroutine is a
 * VM running the same chunk, switched only at those ops and when it ends.
 * The program ends when goroutine 0 (the VM passed to run) ends. Run
 * without a scheduler, these ops end the run with an error.
 * ------------------------------------------------------------------------ */

typedef struct fvm_sched fvm_sched;

/* Makes the VM of a new goroutine for main's chunk (the scheduler owns it
 * and positions it at the goroutine's subroutine). NULL as the factory: a
 * VM with main's handlers, hooks, output, input, limits and JIT context. */
typedef fvm_vm *(*fvm_sched_make_vm_fn)(void *ud, const fvm_vm *main);

FVM_API fvm_sched *fvm_sched_new(fvm_sched_make_vm_fn make_vm, void *ud);
/* Frees the goroutines' VMs (not the main VM) and the channels. */
FVM_API void fvm_sched_free(fvm_sched *s);
/* What a receive from a closed, drained channel yields (takes zero;
 * default Int 0). */
FVM_API void fvm_sched_set_recv_zero(fvm_sched *s, fvm_value zero);
/* The most goroutines alive at once, main included (0: the default,
 * 131072, about 750 MiB of VMs); starting one more ends the run with
 * "panic: more than N goroutines". */
FVM_API void fvm_sched_set_max_goroutines(fvm_sched *s, size_t max);
/* Run main as goroutine 0 and every goroutine it starts, until main ends:
 * its result (OK or HALTED), or FVM_RUN_ERROR when any goroutine fails,
 * a channel is misused or every goroutine is blocked (fvm_sched_error
 * says which). A scheduler may run again; each run starts with no
 * channels and no goroutines but main. */
FVM_API fvm_result fvm_sched_run(fvm_sched *s, fvm_vm *main);
/* fvm_sched_run, then the value of main's global named global: OK with a
 * copy of it, HALTED if the chunk has no such name, or ERROR. main's own
 * result is dropped. */
FVM_API fvm_result fvm_sched_run_capturing(fvm_sched *s, fvm_vm *main, const char *global);
/* The last run's error message: a goroutine's error as its VM raised it,
 * "panic: send on closed channel", "panic: invalid channel N",
 * "panic: goroutine target sub N not found", "panic: more than N
 * goroutines" or "fatal error: all goroutines are asleep - deadlock!"; ""
 * when it did not fail. */
FVM_API const char *fvm_sched_error(const fvm_sched *s);
/* The VM whose op failed in the last run (fvm_vm_error_ip names the op),
 * or NULL for a deadlock or no error. Valid until the next run or free. */
FVM_API const fvm_vm *fvm_sched_error_vm(const fvm_sched *s);
/* Goroutines the last run started, main included. */
FVM_API size_t fvm_sched_goroutine_count(const fvm_sched *s);

/* ------------------------------------------------------------------------
 * VM pool
 *
 * Parked VMs reused for many small chunks: acquire resets a parked VM for
 * the chunk (keeping its handlers, hooks and settings) or makes a new one.
 * ------------------------------------------------------------------------ */

typedef struct fvm_pool fvm_pool;

/* A pool with room reserved for capacity parked VMs (it grows past that). */
FVM_API fvm_pool *fvm_pool_new(size_t capacity);
/* Frees the pool and the VMs parked in it. */
FVM_API void fvm_pool_free(fvm_pool *p);
/* A VM for chunk: a parked one, reset, or a new one. NULL if chunk is. */
FVM_API fvm_vm *fvm_pool_acquire(fvm_pool *p, const fvm_chunk *chunk);
/* Park vm for a later acquire (the pool owns it from now on). */
FVM_API void fvm_pool_release(fvm_pool *p, fvm_vm *vm);
/* Acquire a VM for chunk, call fn with it, release it, and return fn's
 * result (-1 without calling fn if chunk is NULL). */
typedef int (*fvm_pool_fn)(fvm_vm *vm, void *ud);
FVM_API int fvm_pool_with(fvm_pool *p, const fvm_chunk *chunk, fvm_pool_fn fn, void *ud);
/* VMs parked now. */
FVM_API size_t fvm_pool_len(const fvm_pool *p);

#ifdef __cplusplus
}
#endif
#endif /* FUSEVM_H */
