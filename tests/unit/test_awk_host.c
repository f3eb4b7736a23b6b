/* The AWK host (docs/HOSTS.md): with a host installed each AWK op, first
 * class or through its ExtendedWide id, calls its entry with the exact
 * operands in source order and pushes what it returns; the VM-owned ops
 * never reach it; without an entry the op is as without a host
 * (test_awk.c has that behaviour). */
#include "vmtest.h"

#include <stdarg.h>
#include <stddef.h>

static char calls[8192];
static int ud_token;

static void note(const char *fmt, ...)
{
    size_t len = strlen(calls);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(calls + len, sizeof calls - len, fmt, ap);
    va_end(ap);
}

#define D(v) vt_describe(v)
#define ENTRY_CHECK() cr_assert_eq(ud, &ud_token, "entries get the host's ud")

static void note_list(const fvm_value *v, size_t n)
{
    note("(");
    for (size_t i = 0; i < n; i++)
        note("%s%s", i ? "," : "", D(v[i]));
    note(")");
}

static fvm_value h_field_get(void *ud, fvm_vm *vm, int64_t i)
{
    ENTRY_CHECK();
    note("field_get(%lld)", (long long)i);
    return fvm_cstr("f");
}
static void h_field_set(void *ud, fvm_vm *vm, int64_t i, fvm_value v)
{
    ENTRY_CHECK();
    note("field_set(%lld,%s)", (long long)i, D(v));
}
static int64_t h_nf(void *ud, fvm_vm *vm)
{
    ENTRY_CHECK();
    note("nf");
    return 3;
}
static void h_set_record(void *ud, fvm_vm *vm, fvm_value v)
{
    ENTRY_CHECK();
    note("set_record(%s)", D(v));
}
static double h_field_num(void *ud, fvm_vm *vm, int64_t i)
{
    ENTRY_CHECK();
    note("field_num(%lld)", (long long)i);
    return 2.5;
}
static fvm_value h_special_get(void *ud, fvm_vm *vm, fvm_value name)
{
    ENTRY_CHECK();
    note("special_get(%s)", D(name));
    return fvm_cstr(",");
}
static void h_special_set(void *ud, fvm_vm *vm, fvm_value name, fvm_value v)
{
    ENTRY_CHECK();
    note("special_set(%s,%s)", D(name), D(v));
}
static void h_print(void *ud, fvm_vm *vm, const fvm_value *a, size_t n)
{
    ENTRY_CHECK();
    note("print");
    note_list(a, n);
}
static void h_printf(void *ud, fvm_vm *vm, fvm_value fmt, const fvm_value *a, size_t n)
{
    ENTRY_CHECK();
    note("printf(%s)", D(fmt));
    note_list(a, n);
}
static fvm_value h_sprintf(void *ud, fvm_vm *vm, fvm_value fmt, const fvm_value *a, size_t n)
{
    ENTRY_CHECK();
    note("sprintf(%s)", D(fmt));
    note_list(a, n);
    return fvm_cstr("formatted");
}
static int64_t h_getline(void *ud, fvm_vm *vm, unsigned kind, const fvm_value *operand,
                         const fvm_value *var)
{
    ENTRY_CHECK();
    note("getline(%u,%s,%s)", kind, operand ? D(*operand) : "none", var ? D(*var) : "none");
    return 1;
}
static int64_t h_length(void *ud, fvm_vm *vm, const fvm_value *s)
{
    ENTRY_CHECK();
    note("length(%s)", s ? D(*s) : "none");
    return 11;
}
static fvm_value h_substr(void *ud, fvm_vm *vm, fvm_value s, int64_t m, bool has_n, int64_t n)
{
    ENTRY_CHECK();
    note("substr(%s,%lld,%d,%lld)", D(s), (long long)m, has_n, (long long)n);
    return fvm_cstr("sub");
}
static int64_t h_index(void *ud, fvm_vm *vm, fvm_value s, fvm_value t)
{
    ENTRY_CHECK();
    note("index(%s,%s)", D(s), D(t));
    return 4;
}
static int64_t h_split(void *ud, fvm_vm *vm, fvm_value s, fvm_value arr, const fvm_value *fs)
{
    ENTRY_CHECK();
    note("split(%s,%s,%s)", D(s), D(arr), fs ? D(*fs) : "none");
    return 2;
}
static void note_lvalue(const fvm_awk_lvalue *t)
{
    switch (t->kind) {
    case FVM_AWK_LVALUE_VAR: note("Var(%s)", D(t->name)); break;
    case FVM_AWK_LVALUE_FIELD: note("Field(%lld)", (long long)t->field); break;
    case FVM_AWK_LVALUE_ARRAY_ELEM: note("ArrayElem(%s,%s)", D(t->name), D(t->key)); break;
    }
}
static int64_t h_sub(void *ud, fvm_vm *vm, fvm_value re, fvm_value repl, const fvm_awk_lvalue *t)
{
    ENTRY_CHECK();
    note("sub(%s,%s,", D(re), D(repl));
    note_lvalue(t);
    note(")");
    return 1;
}
static int64_t h_gsub(void *ud, fvm_vm *vm, fvm_value re, fvm_value repl, const fvm_awk_lvalue *t)
{
    ENTRY_CHECK();
    note("gsub(%s,%s,", D(re), D(repl));
    note_lvalue(t);
    note(")");
    return 6;
}
static int64_t h_match(void *ud, fvm_vm *vm, fvm_value s, fvm_value re)
{
    ENTRY_CHECK();
    note("match(%s,%s)", D(s), D(re));
    return 2;
}
static fvm_value h_gensub(void *ud, fvm_vm *vm, fvm_value re, fvm_value repl, fvm_value how,
                          const fvm_value *target)
{
    ENTRY_CHECK();
    note("gensub(%s,%s,%s,%s)", D(re), D(repl), D(how), target ? D(*target) : "none");
    return fvm_cstr("gen");
}
/* One recorder per builtin shape; the log names the op by its result. */
static fvm_value h_fn0(void *ud, fvm_vm *vm)
{
    ENTRY_CHECK();
    note("fn0");
    return fvm_int(100);
}
static fvm_value h_fn1(void *ud, fvm_vm *vm, fvm_value x)
{
    ENTRY_CHECK();
    note("fn1(%s)", D(x));
    return fvm_int(101);
}
static fvm_value h_fn2(void *ud, fvm_vm *vm, fvm_value a, fvm_value b)
{
    ENTRY_CHECK();
    note("fn2(%s,%s)", D(a), D(b));
    return fvm_int(102);
}
static fvm_value h_fnv(void *ud, fvm_vm *vm, const fvm_value *a, size_t n)
{
    ENTRY_CHECK();
    note("fnv");
    note_list(a, n);
    return fvm_int(103);
}
static fvm_value h_array_get(void *ud, fvm_vm *vm, fvm_value arr, fvm_value key)
{
    ENTRY_CHECK();
    note("array_get(%s,%s)", D(arr), D(key));
    return fvm_cstr("elem");
}
static void h_array_set(void *ud, fvm_vm *vm, fvm_value arr, fvm_value key, fvm_value v)
{
    ENTRY_CHECK();
    note("array_set(%s,%s,%s)", D(arr), D(key), D(v));
}
static bool h_array_exists(void *ud, fvm_vm *vm, fvm_value arr, fvm_value key)
{
    ENTRY_CHECK();
    note("array_exists(%s,%s)", D(arr), D(key));
    return true;
}
static void h_array_delete(void *ud, fvm_vm *vm, fvm_value arr, fvm_value key)
{
    ENTRY_CHECK();
    note("array_delete(%s,%s)", D(arr), D(key));
}
static void h_array_clear(void *ud, fvm_vm *vm, fvm_value arr)
{
    ENTRY_CHECK();
    note("array_clear(%s)", D(arr));
}
static int64_t h_array_len(void *ud, fvm_vm *vm, fvm_value arr)
{
    ENTRY_CHECK();
    note("array_len(%s)", D(arr));
    return 8;
}
static int h_compare(void *ud, fvm_vm *vm, fvm_value a, fvm_value b)
{
    ENTRY_CHECK();
    note("compare(%s,%s)", D(a), D(b));
    return -7;
}

static fvm_awk_host recording_host(void)
{
    fvm_awk_host h = {.size = sizeof h, .ud = &ud_token};
    h.field_get = h_field_get;
    h.field_set = h_field_set;
    h.nf = h_nf;
    h.set_record = h_set_record;
    h.field_num = h_field_num;
    h.special_get = h_special_get;
    h.special_set = h_special_set;
    h.print = h_print;
    h.printf = h_printf;
    h.sprintf = h_sprintf;
    h.getline = h_getline;
    h.length = h_length;
    h.substr = h_substr;
    h.index = h_index;
    h.split = h_split;
    h.sub = h_sub;
    h.gsub = h_gsub;
    h.match = h_match;
    h.gensub = h_gensub;
    h.tolower = h.toupper = h.int_ = h.sqrt = h.sin = h.cos = h.exp = h.log = h_fn1;
    h.compl_ = h.strtonum = h.ord = h.chr = h.mkbool = h_fn1;
    h.atan2 = h.lshift = h.rshift = h.intdiv = h.intdiv0 = h_fn2;
    h.and_ = h.or_ = h.xor_ = h.strftime = h.mktime = h_fnv;
    h.systime = h_fn0;
    h.array_get = h_array_get;
    h.array_set = h_array_set;
    h.array_exists = h_array_exists;
    h.array_delete = h_array_delete;
    h.array_clear = h_array_clear;
    h.array_len = h_array_len;
    h.compare = h_compare;
    return h;
}

/* Run ops (constants, names) with the recording host; the log starts
 * empty. */
static void run_hosted(vt *t, fvm_chunk *c)
{
    calls[0] = 0;
    vt_open(t, c);
    fvm_awk_host h = recording_host();
    cr_assert_eq(fvm_vm_set_awk_host(t->vm, &h), 0);
    vt_run(t);
    cr_assert_neq(t->r.status, FVM_RUN_ERROR, "run failed: %s", fvm_vm_error(t->vm));
}

#define HOSTED(t, ops, consts, names) run_hosted((t), vt_chunk(ops, consts, names))
#define EXPECT_CALLS(want) cr_assert_str_eq(calls, want)
#define S(x) fvm_cstr(x)

Test(awk_host, fields_and_record)
{
    vt t;
    HOSTED(&t,
           VT_OPS(FVM_LOAD_CONST(0), FVM_AWK_SET_RECORD(), FVM_LOAD_FLOAT(2.9), FVM_AWK_FIELD_GET(),
                  FVM_LOAD_CONST(1), FVM_LOAD_INT(4), FVM_AWK_FIELD_SET(), FVM_AWK_NF(),
                  FVM_AWK_GET_FIELD_NUM(7)),
           VT_VALS(S("a b c"), S("new")), VT_NONE);
    EXPECT_CALLS("set_record(Str(\"a b c\"))field_get(2)field_set(4,Str(\"new\"))nf"
                 "field_num(7)");
    VT_EXPECT_STACK(&t, S("f"), fvm_int(3), fvm_float(2.5));
    vt_close(&t);
}

Test(awk_host, special_variables)
{
    vt t;
    HOSTED(&t, VT_OPS(FVM_AWK_SPECIAL_GET(0), FVM_LOAD_INT(5), FVM_AWK_SPECIAL_SET(1)), VT_NONE,
           VT_NAMES("FS", "NR"));
    EXPECT_CALLS("special_get(Str(\"FS\"))special_set(Str(\"NR\"),Int(5))");
    VT_EXPECT_STACK(&t, S(","));
    vt_close(&t);
}

/* Operands in source order; the format is the first one's string form. */
Test(awk_host, output)
{
    vt t;
    HOSTED(&t,
           VT_OPS(FVM_LOAD_INT(1), FVM_LOAD_CONST(0), FVM_AWK_PRINT(2), FVM_AWK_PRINT(0),
                  FVM_LOAD_INT(12), FVM_LOAD_FLOAT(0.5), FVM_AWK_PRINTF(2), FVM_AWK_PRINTF(0),
                  FVM_LOAD_CONST(1), FVM_LOAD_CONST(0), FVM_AWK_SPRINTF(2)),
           VT_VALS(S("x"), S("%s!")), VT_NONE);
    EXPECT_CALLS("print(Int(1),Str(\"x\"))print()printf(Str(\"12\"))(Float(0.5))printf(Str(\"\"))()"
                 "sprintf(Str(\"%s!\"))(Str(\"x\"))");
    VT_EXPECT_STACK(&t, S("formatted"));
    vt_close(&t);
}

/* Operands missing below the stack's bottom arrive as leading Undefs. */
Test(awk_host, missing_operands_are_undef)
{
    vt t;
    HOSTED(&t, VT_OPS(FVM_LOAD_INT(9), FVM_AWK_PRINT(3)), VT_NONE, VT_NONE);
    EXPECT_CALLS("print(Undef,Undef,Int(9))");
    vt_close(&t);
}

Test(awk_host, getline_kinds)
{
    vt t;
    HOSTED(&t,
           VT_OPS(FVM_AWK_GETLINE(FVM_GETLINE_MAIN), FVM_AWK_GETLINE(FVM_GETLINE_MAIN_VAR),
                  FVM_LOAD_CONST(0), FVM_AWK_GETLINE(FVM_GETLINE_FILE), FVM_LOAD_INT(3),
                  FVM_AWK_GETLINE(FVM_GETLINE_FILE_VAR), FVM_LOAD_CONST(1),
                  FVM_AWK_GETLINE(FVM_GETLINE_CMD), FVM_LOAD_CONST(1),
                  FVM_AWK_GETLINE(FVM_GETLINE_CMD_VAR)),
           VT_VALS(S("in.txt"), S("date")), VT_NONE);
    EXPECT_CALLS("getline(0,none,none)getline(1,none,none)getline(2,Str(\"in.txt\"),none)"
                 "getline(3,Str(\"3\"),none)getline(4,Str(\"date\"),none)"
                 "getline(5,Str(\"date\"),none)");
    VT_EXPECT_STACK(&t, fvm_int(1), fvm_int(1), fvm_int(1), fvm_int(1), fvm_int(1), fvm_int(1));
    vt_close(&t);
}

/* length() is length($0); length(s) pops one value whatever its argc. */
Test(awk_host, length)
{
    vt t;
    HOSTED(&t, VT_OPS(FVM_LOAD_INT(7), FVM_AWK_LENGTH(0), FVM_LOAD_CONST(0), FVM_AWK_LENGTH(2)),
           VT_VALS(S("héllo")), VT_NONE);
    EXPECT_CALLS("length(none)length(Str(\"h\\xc3\\xa9llo\"))");
    VT_EXPECT_STACK(&t, fvm_int(7), fvm_int(11), fvm_int(11));
    vt_close(&t);
}

Test(awk_host, substr_index_match)
{
    vt t;
    HOSTED(&t,
           VT_OPS(FVM_LOAD_CONST(0), FVM_LOAD_FLOAT(2.7), FVM_AWK_SUBSTR(2), FVM_LOAD_CONST(0),
                  FVM_LOAD_INT(2), FVM_LOAD_CONST(1), FVM_AWK_SUBSTR(3), FVM_AWK_SUBSTR(0),
                  FVM_LOAD_CONST(0), FVM_LOAD_CONST(1), FVM_AWK_INDEX(), FVM_LOAD_CONST(0),
                  FVM_LOAD_CONST(1), FVM_AWK_MATCH()),
           VT_VALS(S("hello"), S("3")), VT_NONE);
    EXPECT_CALLS("substr(Str(\"hello\"),2,0,0)substr(Str(\"hello\"),2,1,3)substr(Str(\"\"),1,0,0)"
                 "index(Str(\"hello\"),Str(\"3\"))match(Str(\"hello\"),Str(\"3\"))");
    VT_EXPECT_STACK(&t, S("sub"), S("sub"), S("sub"), fvm_int(4), fvm_int(2));
    vt_close(&t);
}

Test(awk_host, split)
{
    vt t;
    HOSTED(&t,
           VT_OPS(FVM_LOAD_CONST(0), FVM_LOAD_INT(5), FVM_AWK_SPLIT(2), FVM_LOAD_CONST(0),
                  FVM_LOAD_CONST(1), FVM_LOAD_CONST(2), FVM_AWK_SPLIT(3)),
           VT_VALS(S("a:b"), S("parts"), S(":")), VT_NONE);
    EXPECT_CALLS("split(Str(\"a:b\"),Str(\"5\"),none)split(Str(\"a:b\"),Str(\"parts\"),Str(\":\"))");
    VT_EXPECT_STACK(&t, fvm_int(2), fvm_int(2));
    vt_close(&t);
}

/* The target: Var named by the third operand's string form, else $0. */
Test(awk_host, sub_and_gsub_targets)
{
    vt t;
    HOSTED(&t,
           VT_OPS(FVM_LOAD_CONST(0), FVM_LOAD_CONST(1), FVM_AWK_SUB(2), FVM_LOAD_CONST(0),
                  FVM_LOAD_CONST(1), FVM_LOAD_CONST(2), FVM_AWK_GSUB(3), FVM_LOAD_CONST(0),
                  FVM_LOAD_CONST(1), FVM_LOAD_INT(12), FVM_AWK_SUB(3)),
           VT_VALS(S("o+"), S("0"), S("line")), VT_NONE);
    EXPECT_CALLS("sub(Str(\"o+\"),Str(\"0\"),Field(0))gsub(Str(\"o+\"),Str(\"0\"),Var(Str(\"line\")))"
                 "sub(Str(\"o+\"),Str(\"0\"),Var(Str(\"12\")))");
    VT_EXPECT_STACK(&t, fvm_int(1), fvm_int(6), fvm_int(1));
    vt_close(&t);
}

Test(awk_host, gensub)
{
    vt t;
    HOSTED(&t,
           VT_OPS(FVM_LOAD_CONST(0), FVM_LOAD_CONST(1), FVM_LOAD_INT(2), FVM_AWK_GENSUB(3),
                  FVM_LOAD_CONST(0), FVM_LOAD_CONST(1), FVM_LOAD_CONST(2), FVM_LOAD_CONST(0),
                  FVM_AWK_GENSUB(4), FVM_LOAD_CONST(0), FVM_LOAD_CONST(1), FVM_AWK_GENSUB(2)),
           VT_VALS(S("a"), S("b"), S("g")), VT_NONE);
    EXPECT_CALLS("gensub(Str(\"a\"),Str(\"b\"),Int(2),none)gensub(Str(\"a\"),Str(\"b\"),Str(\"g\"),Str(\"a\"))"
                 "gensub(Str(\"a\"),Str(\"b\"),Str(\"g\"),none)");
    VT_EXPECT_STACK(&t, S("gen"), S("gen"), S("gen"));
    vt_close(&t);
}

/* Every builtin with an entry calls it: one operand, two (in source
 * order), a list, or none. */
Test(awk_host, builtins)
{
    static const unsigned unary[] = {FVM_OP_AWK_TO_LOWER, FVM_OP_AWK_TO_UPPER, FVM_OP_AWK_INT,
                                     FVM_OP_AWK_SQRT,     FVM_OP_AWK_SIN,      FVM_OP_AWK_COS,
                                     FVM_OP_AWK_EXP,      FVM_OP_AWK_LOG,      FVM_OP_AWK_COMPL,
                                     FVM_OP_AWK_STRTONUM, FVM_OP_AWK_ORD,      FVM_OP_AWK_CHR,
                                     FVM_OP_AWK_MKBOOL};
    static const unsigned binary[] = {FVM_OP_AWK_ATAN2, FVM_OP_AWK_LSHIFT, FVM_OP_AWK_RSHIFT,
                                      FVM_OP_AWK_INTDIV, FVM_OP_AWK_INTDIV0};
    static const unsigned listed[] = {FVM_OP_AWK_AND, FVM_OP_AWK_OR, FVM_OP_AWK_XOR,
                                      FVM_OP_AWK_STRFTIME, FVM_OP_AWK_MKTIME};
    for (size_t i = 0; i < sizeof unary / sizeof *unary; i++) {
        vt t;
        HOSTED(&t, VT_OPS(FVM_LOAD_CONST(0), vt_op(unary[i])), VT_VALS(S("x")), VT_NONE);
        EXPECT_CALLS("fn1(Str(\"x\"))");
        VT_EXPECT_STACK(&t, fvm_int(101));
        vt_close(&t);
    }
    for (size_t i = 0; i < sizeof binary / sizeof *binary; i++) {
        vt t;
        HOSTED(&t, VT_OPS(FVM_LOAD_INT(1), FVM_LOAD_INT(2), vt_op(binary[i])), VT_NONE, VT_NONE);
        EXPECT_CALLS("fn2(Int(1),Int(2))");
        VT_EXPECT_STACK(&t, fvm_int(102));
        vt_close(&t);
    }
    for (size_t i = 0; i < sizeof listed / sizeof *listed; i++) {
        fvm_op op = vt_op(listed[i]);
        op.a = 2;
        vt t;
        HOSTED(&t, VT_OPS(FVM_LOAD_INT(1), FVM_LOAD_INT(2), op), VT_NONE, VT_NONE);
        EXPECT_CALLS("fnv(Int(1),Int(2))");
        VT_EXPECT_STACK(&t, fvm_int(103));
        vt_close(&t);
    }
    vt t;
    HOSTED(&t, VT_OPS(FVM_AWK_SYSTIME()), VT_NONE, VT_NONE);
    EXPECT_CALLS("fn0");
    VT_EXPECT_STACK(&t, fvm_int(100));
    vt_close(&t);
}

Test(awk_host, arrays)
{
    vt t;
    HOSTED(&t,
           VT_OPS(FVM_LOAD_INT(1), FVM_AWK_ARRAY_GET(0), FVM_LOAD_CONST(0), FVM_LOAD_INT(2),
                  FVM_AWK_ARRAY_SET(0), FVM_LOAD_INT(3), FVM_AWK_ARRAY_EXISTS(1), FVM_LOAD_INT(4),
                  FVM_AWK_ARRAY_DELETE(0), FVM_AWK_ARRAY_CLEAR(1), FVM_AWK_ARRAY_LEN(0)),
           VT_VALS(S("v")), VT_NAMES("a", "seen"));
    EXPECT_CALLS("array_get(Str(\"a\"),Int(1))array_set(Str(\"a\"),Int(2),Str(\"v\"))"
                 "array_exists(Str(\"seen\"),Int(3))array_delete(Str(\"a\"),Int(4))"
                 "array_clear(Str(\"seen\"))array_len(Str(\"a\"))");
    VT_EXPECT_STACK(&t, S("elem"), fvm_bool(true), fvm_int(8));
    vt_close(&t);
}

/* ExtendedWide's AWK ids reach the same entries, the payload as the
 * operand; an id in range with no meaning pushes Undef with a host and
 * nothing without one. A name payload past the pool reads as "". */
Test(awk_host, extended_wide_ids)
{
    vt t;
    HOSTED(&t,
           VT_OPS(FVM_LOAD_INT(1), FVM_LOAD_INT(2), FVM_EXTENDED_WIDE(40016, 2),
                  FVM_EXTENDED_WIDE(40004, 0), FVM_EXTENDED_WIDE(40004, 1u << 20),
                  FVM_EXTENDED_WIDE(40999, 0)),
           VT_NONE, VT_NAMES("OFS"));
    EXPECT_CALLS("print(Int(1),Int(2))special_get(Str(\"OFS\"))special_get(Str(\"\"))");
    VT_EXPECT_STACK(&t, S(","), S(","), fvm_undef());
    vt_close(&t);
    vt_prog(&t, VT_OPS(FVM_LOAD_INT(5), FVM_EXTENDED_WIDE(40999, 0)), VT_NONE, VT_NONE);
    VT_EXPECT_STACK(&t, fvm_int(5));
    vt_close(&t);
}

/* rand, srand, the AWK divisions, AwkSignal and the always-float math stay
 * in the VM with every entry installed. */
Test(awk_host, vm_owned_ops_never_reach_the_host)
{
#define VM_OWNED                                                                                   \
    VT_OPS(FVM_LOAD_INT(7), FVM_AWK_SRAND(1), FVM_AWK_RAND(), FVM_LOAD_INT(7), FVM_LOAD_INT(2),     \
           FVM_AWK_DIV(), FVM_LOAD_INT(7), FVM_LOAD_INT(2), FVM_AWK_MOD(), FVM_LOAD_INT(9),         \
           FVM_SQRT_FLOAT(), FVM_LOAD_INT(9), FVM_AWK_SQRT_JIT(), FVM_AWK_SIGNAL(FVM_SIG_EXIT))
    vt with, without;
    HOSTED(&with, VM_OWNED, VT_NONE, VT_NONE);
    EXPECT_CALLS("");
    vt_prog(&without, VM_OWNED, VT_NONE, VT_NONE);
#undef VM_OWNED
    /* five on the stack, the sixth the run's result */
    cr_assert_eq(fvm_vm_stack_depth(with.vm), 5);
    cr_assert_eq(fvm_vm_stack_depth(without.vm), 5);
    for (size_t i = 0; i < 5; i++)
        VT_EXPECT(fvm_value_copy(fvm_vm_stack_at(with.vm, i)),
                  fvm_value_copy(fvm_vm_stack_at(without.vm, i)));
    VT_EXPECT(fvm_value_copy(with.r.value), fvm_float(3.0));
    VT_EXPECT(fvm_value_copy(fvm_vm_stack_at(with.vm, 0)), fvm_float(1.0)); /* srand's old seed */
    cr_assert_eq(fvm_vm_awk_signal(with.vm), FVM_SIG_EXIT);
    vt_close(&with);
    vt_close(&without);
}

/* An empty host changes nothing: the builtins compute, the rest is inert. */
Test(awk_host, null_entries_keep_the_host_free_behaviour)
{
    vt t;
    vt_open(&t, vt_chunk(VT_OPS(FVM_LOAD_CONST(0), FVM_AWK_TO_UPPER(), FVM_LOAD_INT(1),
                                FVM_AWK_FIELD_GET(), FVM_AWK_NF(), FVM_LOAD_CONST(0),
                                FVM_LOAD_INT(2), FVM_AWK_SUBSTR(2)),
                         VT_VALS(S("abc")), VT_NONE));
    fvm_awk_host h = {.size = sizeof h};
    cr_assert_eq(fvm_vm_set_awk_host(t.vm, &h), 0);
    cr_assert_not_null(fvm_vm_awk_host(t.vm));
    vt_run(&t);
    VT_EXPECT_STACK(&t, S("ABC"), S(""), fvm_int(0), S("bc"));
    vt_close(&t);
}

Test(awk_host, entries_past_the_size_are_null)
{
    vt t;
    calls[0] = 0;
    vt_open(&t, vt_chunk(VT_OPS(FVM_AWK_NF(), FVM_LOAD_INT(1), FVM_AWK_SET_RECORD()), VT_NONE,
                         VT_NONE));
    fvm_awk_host h = recording_host();
    h.size = offsetof(fvm_awk_host, set_record);
    cr_assert_eq(fvm_vm_set_awk_host(t.vm, &h), 0);
    vt_run(&t);
    EXPECT_CALLS("nf");
    VT_EXPECT_STACK(&t, fvm_int(3));
    h.size = offsetof(fvm_awk_host, ud);
    cr_assert_eq(fvm_vm_set_awk_host(t.vm, &h), -1);
    cr_assert_eq(fvm_vm_set_awk_host(t.vm, NULL), 0);
    cr_assert_null(fvm_vm_awk_host(t.vm));
    vt_close(&t);
}

/* compare: no op calls it; the API reaches the entry or the default. */
Test(awk_host, compare)
{
    fvm_chunk *c = vt_chunk(VT_OPS(FVM_NOP()), VT_NONE, VT_NONE);
    fvm_vm *vm = fvm_vm_new(c);
    fvm_value ten = S("10"), nine = S(" 9 "), abc = S("abc"), empty = S(""), two = S("2");
    cr_assert_gt(fvm_vm_awk_compare(vm, ten, nine), 0, "numeric: 10 > 9");
    cr_assert_lt(fvm_vm_awk_compare(vm, ten, abc), 0, "bytewise: \"10\" < \"abc\"");
    cr_assert_gt(fvm_vm_awk_compare(vm, empty, fvm_int(-1)), 0, "empty is 0, numerically");
    cr_assert_eq(fvm_vm_awk_compare(vm, fvm_float(2.0), two), 0);
    fvm_awk_host h = recording_host();
    fvm_vm_set_awk_host(vm, &h);
    calls[0] = 0;
    cr_assert_eq(fvm_vm_awk_compare(vm, ten, nine), -7);
    EXPECT_CALLS("compare(Str(\"10\"),Str(\" 9 \"))");
    fvm_value_drop(ten);
    fvm_value_drop(nine);
    fvm_value_drop(abc);
    fvm_value_drop(empty);
    fvm_value_drop(two);
    fvm_vm_free(vm);
    fvm_chunk_free(c);
}

/* An entry may run a chunk on the same VM while its operands are out:
 * they were taken off the stack first, so the stack growing under the
 * nested run leaves them intact. */
static fvm_chunk *deep_chunk;
static void print_running_a_chunk(void *ud, fvm_vm *vm, const fvm_value *a, size_t n)
{
    fvm_result r = fvm_vm_run_nested(vm, deep_chunk);
    cr_assert_eq(r.status, FVM_RUN_OK);
    note("print");
    note_list(a, n);
    note("%s", D(r.value));
    fvm_value_drop(r.value);
}

Test(awk_host, entry_running_a_chunk_keeps_its_operands)
{
    fvm_builder *b = fvm_builder_new();
    for (int i = 0; i < 2000; i++)
        fvm_emit(b, FVM_LOAD_INT(i), 1);
    deep_chunk = fvm_build(b);
    fvm_builder_free(b);
    vt t;
    calls[0] = 0;
    vt_open(&t, vt_chunk(VT_OPS(FVM_LOAD_CONST(0), FVM_LOAD_INT(2), FVM_AWK_PRINT(2), FVM_LOAD_INT(3)),
                         VT_VALS(S("kept")), VT_NONE));
    fvm_awk_host h = {.size = sizeof h, .print = print_running_a_chunk};
    fvm_vm_set_awk_host(t.vm, &h);
    vt_run(&t);
    EXPECT_CALLS("print(Str(\"kept\"),Int(2))Int(1999)");
    VT_EXPECT_STACK(&t, fvm_int(3));
    vt_close(&t);
    fvm_chunk_free(deep_chunk);
}
