/* fib_iterative: reps calls of the iterative fib(n); prints the sum. */
#include "common.h"

static __attribute__((noinline)) int64_t fib(int64_t n)
{
    int64_t a = 0, b = 1;
    while (n > 0) {
        int64_t t = a + b;
        a = b;
        b = t;
        n--;
    }
    return a;
}

int main(int argc, char **argv)
{
    int64_t reps = size_arg(argc, argv, 1, 1000000);
    volatile int64_t n = 35;
    int64_t sum = 0;
    for (int64_t k = 0; k < reps; k++)
        sum += fib(n);
    printf("%" PRId64 "\n", sum);
    return 0;
}
