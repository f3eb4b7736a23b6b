/* Helpers shared by the core VM's unit tests: build a chunk from an op
 * array, constants and names, run it with its output captured, and compare
 * values exactly (same type and payload; floats by bit pattern, where any
 * NaN matches any NaN because the interpreter does not fix NaN signs).
 *
 * Conventions: constants and expected values handed to these helpers are
 * taken (released by the helper); checked values are taken too, so a test
 * can write VT_EXPECT_STR(vt_apply(...), "x") without a release. */
#ifndef FVM_VMTEST_H
#define FVM_VMTEST_H

#include <criterion/criterion.h>

#include <fusevm.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A compound-literal array and its length, as the (pointer, count) pair the
 * helpers take: vt_chunk(VT_OPS(FVM_LOAD_INT(1), FVM_ADD()), VT_NONE, VT_NONE). */
#define VT_ARR(T, ...) ((const T[]){__VA_ARGS__}), (sizeof((const T[]){__VA_ARGS__}) / sizeof(T))
#define VT_OPS(...) VT_ARR(fvm_op, __VA_ARGS__)
#define VT_VALS(...) VT_ARR(fvm_value, __VA_ARGS__)
typedef const char *vt_cstr;
#define VT_NAMES(...) VT_ARR(vt_cstr, __VA_ARGS__)
#define VT_NONE NULL, 0

static inline double vt_bits_to_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static inline uint64_t vt_double_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

/* An op with no operands, from its opcode (for tables of opcodes: the
 * FVM_*() constructors are not constant expressions). */
static inline fvm_op vt_op(unsigned code)
{
    fvm_op o = {(uint16_t)code, 0, 0, 0, {0}};
    return o;
}

/* ------------------------------------------------------------------------
 * Describing and comparing values
 * ------------------------------------------------------------------------ */

static inline void vt_describe_into(fvm_value v, char *buf, size_t cap, size_t *len);

static inline void vt_put(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
    for (size_t i = 0; i < n && *len + 1 < cap; i++)
        buf[(*len)++] = s[i];
    if (cap)
        buf[*len < cap ? *len : cap - 1] = 0;
}

/* prefix, x in decimal, ")" */
static inline void vt_put_num(char *buf, size_t cap, size_t *len, const char *prefix, long long x)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, "%s%lld)", prefix, x);
    vt_put(buf, cap, len, tmp, (size_t)n);
}

/* A printable form such as Int(5), Float(-0), Str("a\n"), Array[Int(1)]. */
static inline void vt_describe_into(fvm_value v, char *buf, size_t cap, size_t *len)
{
    char tmp[420];
    switch (v.type) {
    case FVM_T_UNDEF: vt_put(buf, cap, len, "Undef", 5); break;
    case FVM_T_BOOL: vt_put(buf, cap, len, v.as.b ? "Bool(true)" : "Bool(false)", v.as.b ? 10 : 11); break;
    case FVM_T_INT: vt_put_num(buf, cap, len, "Int(", (long long)v.as.i); break;
    case FVM_T_FLOAT: {
        size_t n = fvm_format_float(v.as.f, tmp, sizeof tmp);
        vt_put(buf, cap, len, "Float(", 6);
        vt_put(buf, cap, len, tmp, n < sizeof tmp ? n : sizeof tmp - 1);
        vt_put(buf, cap, len, ")", 1);
        break;
    }
    case FVM_T_STR: {
        size_t n;
        const char *s = fvm_str_bytes(v, &n);
        vt_put(buf, cap, len, "Str(\"", 5);
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
                vt_put(buf, cap, len, (const char *)&c, 1);
            else {
                char esc[8];
                vt_put(buf, cap, len, esc, (size_t)snprintf(esc, sizeof esc, "\\x%02x", c));
            }
        }
        vt_put(buf, cap, len, "\")", 2);
        break;
    }
    case FVM_T_ARRAY:
        vt_put(buf, cap, len, "Array[", 6);
        for (size_t i = 0; i < fvm_array_len(v); i++) {
            if (i)
                vt_put(buf, cap, len, ", ", 2);
            vt_describe_into(fvm_array_at(v, i), buf, cap, len);
        }
        vt_put(buf, cap, len, "]", 1);
        break;
    case FVM_T_HASH:
        vt_put(buf, cap, len, "Hash{", 5);
        for (size_t i = 0; i < fvm_hash_count(v); i++) {
            const char *k;
            size_t kn;
            fvm_value e;
            fvm_hash_entry(v, i, &k, &kn, &e);
            if (i)
                vt_put(buf, cap, len, ", ", 2);
            fvm_value key = fvm_str(k, kn);
            vt_describe_into(key, buf, cap, len);
            fvm_value_drop(key);
            vt_put(buf, cap, len, ": ", 2);
            vt_describe_into(e, buf, cap, len);
        }
        vt_put(buf, cap, len, "}", 1);
        break;
    case FVM_T_STATUS: vt_put_num(buf, cap, len, "Status(", v.as.status); break;
    case FVM_T_REF:
        vt_put(buf, cap, len, "Ref(", 4);
        vt_describe_into(fvm_ref_get(v), buf, cap, len);
        vt_put(buf, cap, len, ")", 1);
        break;
    case FVM_T_NATIVEFN: vt_put_num(buf, cap, len, "NativeFn(", v.as.fn); break;
    case FVM_T_OBJ: vt_put_num(buf, cap, len, "Obj(", v.as.obj); break;
    default: vt_put_num(buf, cap, len, "Unknown(", v.type); break;
    }
}

/* Describe v in one of a few rotating static buffers (several may appear in
 * one assertion message). */
static inline const char *vt_describe(fvm_value v)
{
    static char bufs[4][1024];
    static unsigned next;
    char *b = bufs[next++ % 4];
    size_t len = 0;
    b[0] = 0;
    vt_describe_into(v, b, sizeof bufs[0], &len);
    return b;
}

/* Exact identity: same type and payload, floats by bits (NaN matches NaN),
 * arrays element by element, hashes entry by entry in iteration order. */
static inline bool vt_same(fvm_value a, fvm_value b)
{
    if (a.type != b.type)
        return false;
    switch (a.type) {
    case FVM_T_FLOAT:
        if (isnan(a.as.f) && isnan(b.as.f))
            return true;
        return vt_double_bits(a.as.f) == vt_double_bits(b.as.f);
    case FVM_T_ARRAY:
        if (fvm_array_len(a) != fvm_array_len(b))
            return false;
        for (size_t i = 0; i < fvm_array_len(a); i++)
            if (!vt_same(fvm_array_at(a, i), fvm_array_at(b, i)))
                return false;
        return true;
    case FVM_T_HASH:
        if (fvm_hash_count(a) != fvm_hash_count(b))
            return false;
        for (size_t i = 0; i < fvm_hash_count(a); i++) {
            const char *ka, *kb;
            size_t na, nb;
            fvm_value va, vb;
            fvm_hash_entry(a, i, &ka, &na, &va);
            fvm_hash_entry(b, i, &kb, &nb, &vb);
            if (na != nb || memcmp(ka, kb, na) != 0 || !vt_same(va, vb))
                return false;
        }
        return true;
    case FVM_T_REF: return vt_same(fvm_ref_get(a), fvm_ref_get(b));
    default: return fvm_value_equal(a, b);
    }
}

/* The checks take both values. */
static inline void vt_expect_value(fvm_value got, fvm_value want, const char *file, int line)
{
    bool ok = vt_same(got, want);
    cr_assert(ok, "%s:%d: expected %s, got %s", file, line, vt_describe(want), vt_describe(got));
    fvm_value_drop(got);
    fvm_value_drop(want);
}

static inline fvm_value vt_array_of(const fvm_value *items, size_t n)
{
    fvm_value a = fvm_array_new();
    for (size_t i = 0; i < n; i++)
        fvm_array_push(&a, items[i]);
    return a;
}

#define VT_EXPECT(got, want) vt_expect_value((got), (want), __FILE__, __LINE__)
#define VT_EXPECT_INT(got, n) VT_EXPECT((got), fvm_int(n))
#define VT_EXPECT_FLOAT(got, d) VT_EXPECT((got), fvm_float(d))
#define VT_EXPECT_BOOL(got, b) VT_EXPECT((got), fvm_bool(b))
#define VT_EXPECT_STATUS(got, c) VT_EXPECT((got), fvm_status(c))
#define VT_EXPECT_UNDEF(got) VT_EXPECT((got), fvm_undef())
#define VT_EXPECT_STR(got, s) VT_EXPECT((got), fvm_cstr(s))
/* An Array of the given values (taken): VT_EXPECT_ARRAY(v, fvm_int(1), fvm_int(2)). */
#define VT_ARRAY(...) vt_array_of(VT_VALS(__VA_ARGS__))
#define VT_EMPTY_ARRAY() fvm_array_new()
#define VT_EXPECT_ARRAY(got, ...) VT_EXPECT((got), VT_ARRAY(__VA_ARGS__))

/* ------------------------------------------------------------------------
 * Building and running
 * ------------------------------------------------------------------------ */

/* A subroutine entry: name index and entry ip. */
typedef struct vt_sub {
    uint16_t name;
    size_t ip;
} vt_sub;
#define VT_SUBS(...) VT_ARR(vt_sub, __VA_ARGS__)

/* A chunk from ops (with line = index + 1), constants (taken), names and
 * sub entries. The build must succeed. */
static inline fvm_chunk *vt_chunk_subs(const fvm_op *ops, size_t n, const fvm_value *consts, size_t nc,
                                       const char *const *names, size_t nn, const vt_sub *subs, size_t ns)
{
    fvm_builder *b = fvm_builder_new();
    for (size_t i = 0; i < nc; i++)
        cr_assert_eq(fvm_add_constant(b, consts[i]), (int32_t)i);
    for (size_t i = 0; i < nn; i++)
        cr_assert_eq(fvm_add_name(b, names[i], strlen(names[i])), (int32_t)i,
                     "vt_chunk: names must be distinct (%s)", names[i]);
    for (size_t i = 0; i < ns; i++)
        cr_assert_eq(fvm_add_sub_entry(b, subs[i].name, subs[i].ip), 0);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(fvm_emit(b, ops[i], (uint32_t)i + 1), i);
    fvm_chunk *c = fvm_build(b);
    cr_assert_not_null(c, "build failed: %s", fvm_builder_error(b) ? fvm_builder_error(b) : "?");
    fvm_builder_free(b);
    return c;
}

static inline fvm_chunk *vt_chunk(const fvm_op *ops, size_t n, const fvm_value *consts, size_t nc,
                                  const char *const *names, size_t nn)
{
    return vt_chunk_subs(ops, n, consts, nc, names, nn, NULL, 0);
}

/* A VM with its chunk, captured output and last result. */
typedef struct vt {
    fvm_chunk *chunk;
    fvm_vm *vm;
    fvm_result r;
    char *out; /* everything Print/PrintLn wrote, NUL-terminated */
    size_t out_len, out_cap;
    size_t writes; /* calls of the output hook */
} vt;

static inline void vt_capture(void *ud, const char *bytes, size_t len)
{
    vt *t = ud;
    if (t->out_len + len + 1 > t->out_cap) {
        t->out_cap = (t->out_len + len + 1) * 2;
        t->out = realloc(t->out, t->out_cap);
        cr_assert_not_null(t->out);
    }
    memcpy(t->out + t->out_len, bytes, len);
    t->out_len += len;
    t->out[t->out_len] = 0;
    t->writes++;
}

/* Take chunk c and make a VM for it with output captured into t. */
static inline void vt_open(vt *t, fvm_chunk *c)
{
    memset(t, 0, sizeof *t);
    t->chunk = c;
    t->vm = fvm_vm_new(c);
    cr_assert_not_null(t->vm);
    t->out = calloc(1, 1);
    t->out_cap = 1;
    fvm_vm_set_output(t->vm, vt_capture, t);
}

/* Run (again); the previous result's value is released. */
static inline fvm_result vt_run(vt *t)
{
    fvm_value_drop(t->r.value);
    t->r = fvm_vm_run(t->vm);
    return t->r;
}

static inline void vt_close(vt *t)
{
    fvm_value_drop(t->r.value);
    fvm_vm_free(t->vm);
    fvm_chunk_free(t->chunk);
    free(t->out);
    memset(t, 0, sizeof *t);
}

/* Build, open and run in one go. */
static inline fvm_result vt_prog(vt *t, const fvm_op *ops, size_t n, const fvm_value *consts,
                                 size_t nc, const char *const *names, size_t nn)
{
    vt_open(t, vt_chunk(ops, n, consts, nc, names, nn));
    return vt_run(t);
}

/* Run ops on a fresh VM and return the result (its value is the caller's). */
static inline fvm_result vt_eval(const fvm_op *ops, size_t n, const fvm_value *consts, size_t nc,
                                 const char *const *names, size_t nn)
{
    vt t;
    fvm_result r = vt_prog(&t, ops, n, consts, nc, names, nn);
    t.r.value = fvm_undef(); /* handed to the caller */
    vt_close(&t);
    return r;
}

static inline const char *vt_status_name(fvm_run_status s)
{
    return s == FVM_RUN_OK ? "Ok" : s == FVM_RUN_HALTED ? "Halted" : "Error";
}

/* Push args (taken) as constants, apply op, and return the single value
 * left: the run must end Ok with nothing else on the stack. */
static inline fvm_value vt_apply(fvm_op op, const fvm_value *args, size_t n)
{
    fvm_op ops[16];
    cr_assert(n < 16);
    for (size_t i = 0; i < n; i++)
        ops[i] = FVM_LOAD_CONST((uint16_t)i);
    ops[n] = op;
    vt t;
    vt_prog(&t, ops, n + 1, args, n, VT_NONE);
    cr_assert_eq(t.r.status, FVM_RUN_OK, "%s: run ended %s (%s)", fvm_op_name(op.code),
                 vt_status_name(t.r.status), fvm_vm_error(t.vm));
    cr_assert_eq(fvm_vm_stack_depth(t.vm), 0, "%s left %zu extra values", fvm_op_name(op.code),
                 fvm_vm_stack_depth(t.vm));
    fvm_value v = t.r.value;
    t.r.value = fvm_undef();
    vt_close(&t);
    return v;
}

#define VT_APPLY(op, ...) vt_apply((op), VT_VALS(__VA_ARGS__))
#define VT_APPLY0(op) vt_apply((op), NULL, 0)

/* The whole value stack after the last run, bottom first, with the run's
 * result (if Ok) on top, compared with want (taken). */
static inline void vt_expect_stack(vt *t, const fvm_value *want, size_t n, const char *file, int line)
{
    size_t depth = fvm_vm_stack_depth(t->vm) + (t->r.status == FVM_RUN_OK);
    cr_assert_neq(t->r.status, FVM_RUN_ERROR, "%s:%d: run failed: %s", file, line, fvm_vm_error(t->vm));
    cr_assert_eq(depth, n, "%s:%d: stack depth %zu, expected %zu (top %s)", file, line, depth, n,
                 vt_describe(t->r.value));
    for (size_t i = 0; i < n; i++) {
        fvm_value got = i + 1 == n && t->r.status == FVM_RUN_OK ? t->r.value : fvm_vm_stack_at(t->vm, i);
        bool ok = vt_same(got, want[i]);
        cr_assert(ok, "%s:%d: stack[%zu]: expected %s, got %s", file, line, i, vt_describe(want[i]),
                  vt_describe(got));
    }
    for (size_t i = 0; i < n; i++)
        fvm_value_drop(want[i]);
}

#define VT_EXPECT_STACK(t, ...) vt_expect_stack((t), VT_VALS(__VA_ARGS__), __FILE__, __LINE__)
#define VT_EXPECT_EMPTY(t) vt_expect_stack((t), NULL, 0, __FILE__, __LINE__)

/* The run's status, with the error message in the failure text. */
#define VT_EXPECT_STATUS_IS(t, st)                                                                  \
    cr_assert_eq((t)->r.status, (st), "run ended %s, expected %s (%s)", vt_status_name((t)->r.status), \
                 vt_status_name(st), fvm_vm_error((t)->vm))

/* Slot s of frame f after a run (borrowed copy taken for the check). */
#define VT_EXPECT_SLOT(t, f, s, want)                                                               \
    VT_EXPECT(fvm_value_copy(fvm_vm_frame_slot((t)->vm, (f), (s))), (want))
#define VT_EXPECT_GLOBAL(t, g, want) VT_EXPECT(fvm_value_copy(fvm_vm_global((t)->vm, (g))), (want))

#endif
