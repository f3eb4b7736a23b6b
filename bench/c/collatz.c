/* collatz: Project Euler problem 14, the start below n with the longest
 * Collatz chain (x -> x / 2 if even, 3x + 1 if odd, until 1); prints
 * best * 1000 + its chain length. */
#include "common.h"

static __attribute__((noinline)) int64_t chain(int64_t x)
{
    int64_t len = 1;
    while (x != 1) {
        if (x % 2 == 0)
            x = x / 2;
        else
            x = 3 * x + 1;
        len++;
    }
    return len;
}

int main(int argc, char **argv)
{
    int64_t n = size_arg(argc, argv, 1, 200000);
    int64_t best = 0, best_len = 0;
    for (int64_t start = 1; start < n; start++) {
        int64_t len = chain(start);
        if (len > best_len) {
            best = start;
            best_len = len;
        }
    }
    printf("%" PRId64 "\n", best * 1000 + best_len);
    return 0;
}
