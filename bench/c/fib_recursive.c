/* fib_recursive: naive recursive fib(n). */
#include "common.h"

static int64_t fib(int64_t n)
{
    if (n <= 1)
        return n;
    return fib(n - 1) + fib(n - 2);
}

int main(int argc, char **argv)
{
    int64_t n = size_arg(argc, argv, 1, 35);
    printf("%" PRId64 "\n", fib(n));
    return 0;
}
