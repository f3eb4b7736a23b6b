/* The block tier's random program generator (loopgen.h) makes what the
 * differential test relies on: verified chunks of block-eligible ops whose
 * stack depth agrees at every join, that end with the depth the generator
 * says, and that run to completion within their step bound (or stop at an
 * AWK division by zero, the one error eligible ops can raise). */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit/jitop.h"
#include "chunk.h"
#include "jit/block.h"
#include "loopgen.h"
#include "opinfo.h"

/* The stack depth at every op, walking all paths from ip 0: -1 if two
 * paths reach an op with different depths or a path pops an empty stack;
 * else the depth at the chunk's end (every path must agree). */
static int join_depths(const fvm_chunk *c)
{
    int *at = malloc((c->len + 1) * sizeof(int));
    size_t *work = malloc((c->len + 1) * 2 * sizeof(size_t));
    for (size_t i = 0; i <= c->len; i++)
        at[i] = -1;
    size_t nwork = 0;
    at[0] = 0;
    work[nwork++] = 0;
    int bad = 0;
    while (nwork && !bad) {
        size_t ip = work[--nwork];
        if (ip == c->len)
            continue;
        const fvm_op *op = &c->ops[ip];
        const fvm_opinfo *oi = &fvm_opinfo_table[op->code];
        int d = at[ip], pop = oi->pop < 0 ? (int)op->a : oi->pop; /* -1: the operand counts */
        if (d < pop)
            bad = 1;
        d += oi->push - pop;
        size_t next[2] = {ip + 1, 0};
        size_t nnext = op->code == FVM_OP_JUMP ? 0 : 1;
        if (op->code == FVM_OP_JUMP)
            next[0] = op->u.j.target, nnext = 1;
        else if (oi->flags & FVM_OPF_JUMP)
            next[nnext++] = op->u.j.target;
        for (size_t k = 0; k < nnext; k++) {
            if (at[next[k]] == -1) {
                at[next[k]] = d;
                work[nwork++] = next[k];
            } else if (at[next[k]] != d) {
                bad = 1;
            }
        }
    }
    int end = bad ? -1 : at[c->len];
    free(at);
    free(work);
    return end;
}

Test(loopgen, programs_are_eligible_balanced_and_terminate, .timeout = 120)
{
    const char *env = getenv("FUSEVM_TEST_BLOCK_ITERS");
    unsigned long iters = env ? strtoul(env, NULL, 10) : 3000;
    unsigned long errors = 0, halted = 0, loops = 0, fused = 0;
    uint64_t max_steps = 0;
    size_t max_len = 0;
    bool seen[FVM_OP_COUNT] = {false};
    for (unsigned long i = 0; i < iters; i++) {
        uint64_t seed = 0x5eed0000u + i;
        lg_program p = lg_generate(seed);
        const fvm_chunk *c = p.chunk;
        cr_assert_gt(c->len, 0);
        for (size_t ip = 0; ip < c->len; ip++) {
            cr_assert(fvm_jit_op_ok(FVM_JIT_BLOCK, c, ip), "seed %llu: op %zu (%s) is not block-eligible",
                      (unsigned long long)seed, ip, fvm_op_name(c->ops[ip].code));
            seen[c->ops[ip].code] = true;
            if (c->ops[ip].code == FVM_OP_JUMP && c->ops[ip].u.j.target <= ip)
                loops++;
            if (fvm_opinfo_table[c->ops[ip].code].flags & FVM_OPF_FUSED)
                fused++;
        }
        cr_assert_eq(join_depths(c), p.depth, "seed %llu: stack depths disagree at a join",
                     (unsigned long long)seed);
        cr_assert(p.max_steps < 2000000, "seed %llu: step bound %llu", (unsigned long long)seed,
                  (unsigned long long)p.max_steps);
        max_steps = p.max_steps > max_steps ? p.max_steps : max_steps;
        max_len = c->len > max_len ? c->len : max_len;
        lg_rng r;
        lg_seed(&r, seed);
        fvm_value slots[LG_NSLOTS];
        lg_initial_slots(&r, &p, slots);
        fvm_vm *vm = fvm_vm_new(c);
        for (uint16_t s = 0; s < LG_NSLOTS; s++)
            fvm_vm_set_slot(vm, s, slots[s]);
        fvm_result res = fvm_vm_run(vm);
        if (res.status == FVM_RUN_ERROR) {
            const char *msg = fvm_vm_error(vm);
            cr_assert(strcmp(msg, "division by zero attempted") == 0 ||
                          strcmp(msg, "division by zero attempted in `%'") == 0,
                      "seed %llu: %s", (unsigned long long)seed, msg);
            errors++;
        } else {
            size_t left = fvm_vm_stack_depth(vm) + (res.status == FVM_RUN_OK);
            cr_assert_eq(left, (size_t)p.depth, "seed %llu", (unsigned long long)seed);
            halted += res.status == FVM_RUN_HALTED;
        }
        fvm_value_drop(res.value);
        fvm_vm_free(vm);
        fvm_chunk_free(p.chunk);
    }
    fprintf(stderr, "loopgen: %lu programs (longest %zu ops, step bound up to %llu): %lu AWK division "
            "errors, %lu halted, %lu back-edges, %lu fused ops\n",
            iters, max_len, (unsigned long long)max_steps, errors, halted, loops, fused);
    /* The mix the differential test needs: mostly clean runs, some errors. */
    cr_assert_lt(errors, iters / 4);
    cr_assert_gt(errors, 0);
    cr_assert_gt(halted, 0);
    cr_assert_gt(loops, iters / 4);
    /* Every op the JIT op table gives the block tier is generated, so the
     * differential test reaches each of them. */
    for (unsigned code = 0; code < FVM_OP_COUNT && iters >= 3000; code++)
        cr_assert(seen[code] || !(fvm_jitop_table[code].tiers & (1u << FVM_JIT_BLOCK)),
                  "loopgen never emits %s, which the block tier compiles", fvm_op_name(code));
}
