/* The fastest any interpreter can dispatch on this machine: a chain of
 * threaded-code "ops" that do nothing but load the next handler address and
 * jump to it (one indirect jump per op, as dispatch_nop needs). The runner
 * prints this beside fusevm's dispatch rate so the rate can be judged against
 * the hardware rather than against a clock speed. Prints G jumps/s. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    enum { N = 1000 };
    static void *prog[N + 1];
    long rounds = argc > 1 ? atol(argv[1]) : 1000000, left = rounds;
    for (int i = 0; i < N; i++)
        prog[i] = &&op;
    prog[N] = &&end;
    void **pc;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
again:
    pc = prog;
    goto **pc;
op:
    goto **++pc;
end:
    if (--left)
        goto again;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%.3f\n", (double)rounds * N / s / 1e9);
    return 0;
}
