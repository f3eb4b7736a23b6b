/* gcd_sum: the sum of gcd(i, j) over 1 <= i, j <= n, gcd by Euclid's
 * remainder loop in a function called for every pair; prints the sum. */
#include "common.h"

static __attribute__((noinline)) int64_t gcd(int64_t a, int64_t b)
{
    while (b != 0) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

int main(int argc, char **argv)
{
    int64_t n = size_arg(argc, argv, 1, 1800);
    int64_t sum = 0;
    for (int64_t i = 1; i <= n; i++)
        for (int64_t j = 1; j <= n; j++)
            sum += gcd(i, j);
    printf("%" PRId64 "\n", sum);
    return 0;
}
