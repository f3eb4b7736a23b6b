/* array_sum_sort: the Great Computer Language Shootout's heapsort (Numerical
 * Recipes' heapsort, 1-based) on n integers from the Shootout's gen_random
 * LCG (seed 42); prints the sum of the elements, then the sum of a[i] * i
 * over the sorted array. */
#include "common.h"

#define IM 139968
#define IA 3877
#define IC 29573

static int64_t last = 42;

static int64_t gen_random(void)
{
    last = (last * IA + IC) % IM;
    return last;
}

static void heapsort(int64_t n, int64_t *ra)
{
    int64_t i, j, ir = n, l = (n >> 1) + 1, rra;
    for (;;) {
        if (l > 1) {
            rra = ra[--l];
        } else {
            rra = ra[ir];
            ra[ir] = ra[1];
            if (--ir == 1) {
                ra[1] = rra;
                return;
            }
        }
        i = l;
        j = l << 1;
        while (j <= ir) {
            if (j < ir && ra[j] < ra[j + 1])
                j++;
            if (rra < ra[j]) {
                ra[i] = ra[j];
                j += (i = j);
            } else {
                j = ir + 1;
            }
        }
        ra[i] = rra;
    }
}

int main(int argc, char **argv)
{
    int64_t n = size_arg(argc, argv, 1, 300001);
    int64_t *a = malloc((size_t)(n + 1) * sizeof *a);
    if (!a)
        return 1;
    int64_t sum = 0;
    for (int64_t i = 1; i <= n; i++) {
        a[i] = gen_random();
        sum += a[i];
    }
    printf("%" PRId64 "\n", sum);
    heapsort(n, a);
    int64_t check = 0;
    for (int64_t i = 1; i <= n; i++)
        check += a[i] * i;
    printf("%" PRId64 "\n", check);
    free(a);
    return 0;
}
