/* tak: Takeuchi's function as in Gabriel's Lisp benchmarks, reps times
 * tak(18, 12, 6) = 7; prints the sum. */
#include "common.h"

static int64_t tak(int64_t x, int64_t y, int64_t z)
{
    if (y < x)
        return tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y));
    return z;
}

int main(int argc, char **argv)
{
    int64_t reps = size_arg(argc, argv, 1, 300);
    volatile int64_t x = 18, y = 12, z = 6;
    int64_t sum = 0;
    for (int64_t r = 0; r < reps; r++)
        sum += tak(x, y, z);
    printf("%" PRId64 "\n", sum);
    return 0;
}
