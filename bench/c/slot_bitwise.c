/* slot_bitwise: upstream's slot_bitwise_200 kernel, x = i then
 * 200 x (&0xFF, <<3, ^0x1234), for i in 0..n; prints the sum. KEEP after each
 * step keeps the 200 steps. */
#include "common.h"

int main(int argc, char **argv)
{
    int64_t n = size_arg(argc, argv, 1, 150000);
    int64_t sum = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t x = i;
        X100(x = ((x & 0xFF) << 3) ^ 0x1234; KEEP(x);)
        X100(x = ((x & 0xFF) << 3) ^ 0x1234; KEEP(x);)
        sum += x;
    }
    printf("%" PRId64 "\n", sum);
    return 0;
}
