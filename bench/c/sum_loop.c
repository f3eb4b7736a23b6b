/* sum_loop (and sum_loop_fused): s += i for i in 0..n, one scalar add per
 * iteration (KEEP stops gcc using the closed form or vectorising). */
#include "common.h"

int main(int argc, char **argv)
{
    int64_t n = size_arg(argc, argv, 1, 100000000);
    int64_t s = 0;
    for (int64_t i = 0; i < n; i++) {
        s += i;
        KEEP(s);
    }
    printf("%" PRId64 "\n", s);
    return 0;
}
