/* loop_with_branch: a counter loop with an `if i > 0` inside whose body does
 * nothing but must be decided every time. */
#include "common.h"

int main(int argc, char **argv)
{
    int64_t n = size_arg(argc, argv, 1, 20000000);
    int64_t i = 0;
    do {
        i++;
        KEEP(i);
        if (i > 0)
            __asm__ volatile("nop");
    } while (i < n);
    printf("%" PRId64 "\n", i);
    return 0;
}
