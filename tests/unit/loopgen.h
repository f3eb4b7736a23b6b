/* Random programs for the block tier's differential test: well-formed chunks
 * of block-eligible ops only (loops, nested loops, branches, ternaries that
 * carry a value across a join, the Keep jumps, the fused slot and loop ops,
 * edge constants, zero divisors) that always terminate quickly.
 *
 * Slots: 0..LG_NDATA-1 are data slots, each with a kind chosen per program
 * (Int, Float, Bool or Undef); the generator writes a data slot with values
 * of its kind, except for a rare deliberate change of kind. Slots
 * LG_NDATA..LG_NSLOTS-1 are loop counters, one per nesting level: only the
 * loop that owns a counter (and AccumSumLoop, outside any loop of that
 * level) ever writes it, so every loop runs a bounded number of times.
 * Every slot may be read before the program writes it. */
#ifndef FVM_TEST_LOOPGEN_H
#define FVM_TEST_LOOPGEN_H

#include <fusevm.h>

#include <stdint.h>

#define LG_NDATA 5
#define LG_MAX_LOOPS 3
#define LG_NSLOTS (LG_NDATA + LG_MAX_LOOPS)
#define LG_MAX_OPS 4096

/* xorshift64: the same sequence everywhere, so a seed reproduces a case. */
typedef struct lg_rng {
    uint64_t s;
} lg_rng;

void lg_seed(lg_rng *r, uint64_t seed);
uint64_t lg_next(lg_rng *r);

typedef struct lg_program {
    fvm_chunk *chunk;           /* the caller's */
    fvm_type kind[LG_NDATA];    /* each data slot's kind */
    uint64_t max_steps;         /* bound on the ops the interpreter executes */
    int depth;                  /* values left on the stack at the end (0..2) */
} lg_program;

/* The program for seed (never NULL: a failed build is a bug in the
 * generator and aborts the test). */
lg_program lg_generate(uint64_t seed);

/* Starting slot values for p (owned by the caller): a data slot usually
 * holds a value of its kind and sometimes any other value, a string
 * included; a counter holds anything. */
void lg_initial_slots(lg_rng *r, const lg_program *p, fvm_value slots[LG_NSLOTS]);

#endif
