/* Shared by the C baselines. Sizes come from the command line so gcc cannot
 * compute a result at compile time, and KEEP(x) makes gcc assume x may have
 * changed, so a loop whose result has a closed form (or a chain of constant
 * steps) is executed step by step instead of being folded away. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define KEEP(x) __asm__ volatile("" : "+r"(x))
/* USED(p) makes gcc assume the memory p points to is read here. */
#define USED(p) __asm__ volatile("" : : "r"(p) : "memory")

/* X10(s) and X100(s) repeat the statement s (straight-line, as the bytecode). */
#define X10(s) s s s s s s s s s s
#define X100(s) X10(X10(s))

/* The i-th size argument (1-based), or dflt when absent. */
static inline int64_t size_arg(int argc, char **argv, int i, int64_t dflt)
{
    return i < argc ? strtoll(argv[i], NULL, 10) : dflt;
}

#endif
