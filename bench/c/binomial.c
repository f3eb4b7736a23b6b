/* binomial: the binomial coefficient C(n, k) by Pascal's rule, naively
 * recursive; prints it. */
#include "common.h"

static int64_t binomial(int64_t n, int64_t k)
{
    if (k == 0 || k == n)
        return 1;
    return binomial(n - 1, k - 1) + binomial(n - 1, k);
}

int main(int argc, char **argv)
{
    int64_t n = size_arg(argc, argv, 1, 26);
    int64_t k = size_arg(argc, argv, 2, 13);
    printf("%" PRId64 "\n", binomial(n, k));
    return 0;
}
