/* ackermann: reps times ack(3, 4); prints the sum. */
#include "common.h"

static int64_t ack(int64_t m, int64_t n)
{
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

int main(int argc, char **argv)
{
    int64_t reps = size_arg(argc, argv, 1, 1500);
    volatile int64_t m = 3, n = 4;
    int64_t sum = 0;
    for (int64_t k = 0; k < reps; k++)
        sum += ack(m, n);
    printf("%" PRId64 "\n", sum);
    return 0;
}
