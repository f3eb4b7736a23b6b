/* dispatch_counter: while i < n: i = i + 1. */
#include "common.h"

int main(int argc, char **argv)
{
    int64_t n = size_arg(argc, argv, 1, 30000000);
    int64_t i = 0;
    while (i < n) {
        i = i + 1;
        KEEP(i);
    }
    printf("%" PRId64 "\n", i);
    return 0;
}
