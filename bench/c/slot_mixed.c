/* slot_mixed: upstream's slot_mixed_100 kernel, x = i then 100 x (*3, +7, -2)
 * with wrapping 64-bit arithmetic, for i in 0..n; prints the wrapped sum.
 * KEEP after each step keeps the 100 steps (gcc would fold them into one
 * multiply and one add). */
#include "common.h"

int main(int argc, char **argv)
{
    int64_t n = size_arg(argc, argv, 1, 600000);
    uint64_t sum = 0;
    for (int64_t i = 0; i < n; i++) {
        uint64_t x = (uint64_t)i;
        X100(x = x * 3 + 7 - 2; KEEP(x);)
        sum += x;
    }
    printf("%" PRId64 "\n", (int64_t)sum);
    return 0;
}
