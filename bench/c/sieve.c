/* sieve: the Sieve of Eratosthenes, reps times counting the primes up to
 * n; prints the total. Each call fills a fresh array of flags, as the
 * bytecode's local array. */
#include <stdbool.h>

#include "common.h"

static int64_t sieve(int64_t n)
{
    bool *flags = malloc((size_t)n + 1);
    if (!flags)
        exit(1);
    for (int64_t i = 2; i <= n; i++)
        flags[i] = true;
    int64_t count = 0;
    for (int64_t i = 2; i <= n; i++)
        if (flags[i]) {
            count++;
            for (int64_t k = i * i; k <= n; k += i)
                flags[k] = false;
        }
    free(flags);
    return count;
}

int main(int argc, char **argv)
{
    int64_t reps = size_arg(argc, argv, 1, 30);
    int64_t n = size_arg(argc, argv, 2, 200000);
    int64_t total = 0;
    for (int64_t r = 0; r < reps; r++)
        total += sieve(n);
    printf("%" PRId64 "\n", total);
    return 0;
}
