/* spectral_norm: the Computer Language Benchmarks Game's spectral-norm:
 * ten rounds of u -> A'A u with A(i, j) = 1 / ((i+j)(i+j+1)/2 + i + 1), then
 * sqrt(u.v / v.v), printed times 1e12 truncated to an integer. The
 * benchmark's C shape: eval_A a function, each product into a caller's
 * array. */
#include <math.h>

#include "common.h"

static __attribute__((noinline)) double eval_A(int64_t i, int64_t j)
{
    return 1.0 / ((i + j) * (i + j + 1) / 2 + i + 1);
}

static void times_u(int64_t n, const double *u, double *au)
{
    for (int64_t i = 0; i < n; i++) {
        double sum = 0.0;
        for (int64_t j = 0; j < n; j++)
            sum += eval_A(i, j) * u[j];
        au[i] = sum;
    }
}

static void times_ut(int64_t n, const double *u, double *au)
{
    for (int64_t i = 0; i < n; i++) {
        double sum = 0.0;
        for (int64_t j = 0; j < n; j++)
            sum += eval_A(j, i) * u[j];
        au[i] = sum;
    }
}

static void times_AtA(int64_t n, const double *u, double *out, double *tmp)
{
    times_u(n, u, tmp);
    times_ut(n, tmp, out);
}

int main(int argc, char **argv)
{
    int64_t n = size_arg(argc, argv, 1, 350);
    double *u = malloc(n * sizeof *u), *v = malloc(n * sizeof *v);
    double *tmp = malloc(n * sizeof *tmp);
    if (!u || !v || !tmp)
        return 1;
    for (int64_t i = 0; i < n; i++)
        u[i] = 1.0;
    for (int r = 0; r < 10; r++) {
        times_AtA(n, u, v, tmp);
        times_AtA(n, v, u, tmp);
    }
    double vBv = 0.0, vv = 0.0;
    for (int64_t i = 0; i < n; i++) {
        vBv += u[i] * v[i];
        vv += v[i] * v[i];
    }
    printf("%" PRId64 "\n", (int64_t)(sqrt(vBv / vv) * 1e12));
    free(u);
    free(v);
    free(tmp);
    return 0;
}
