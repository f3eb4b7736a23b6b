/* nested_loop: reps times an n x n loop doing s += i + j. */
#include "common.h"

int main(int argc, char **argv)
{
    int64_t reps = size_arg(argc, argv, 1, 50);
    int64_t n = size_arg(argc, argv, 2, 1000);
    int64_t s = 0;
    for (int64_t r = 0; r < reps; r++)
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++) {
                s += i + j;
                KEEP(s);
            }
    printf("%" PRId64 "\n", s);
    return 0;
}
