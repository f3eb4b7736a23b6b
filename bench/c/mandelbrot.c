/* mandelbrot: the Computer Language Benchmarks Game's mandelbrot (50
 * iterations, escape radius 2) over an n x n grid of [-1.5, 0.5] x [-1, 1];
 * prints the sum of every point's iteration count instead of the bitmap. */
#include "common.h"

#define ITER 50

int main(int argc, char **argv)
{
    int64_t n = size_arg(argc, argv, 1, 400);
    int64_t sum = 0;
    for (int64_t y = 0; y < n; y++) {
        double ci = 2.0 * y / n - 1.0;
        for (int64_t x = 0; x < n; x++) {
            double cr = 2.0 * x / n - 1.5;
            double zr = 0.0, zi = 0.0, tr = 0.0, ti = 0.0;
            int64_t i = 0;
            while (i < ITER && tr + ti <= 4.0) {
                zi = 2.0 * zr * zi + ci;
                zr = tr - ti + cr;
                tr = zr * zr;
                ti = zi * zi;
                i++;
            }
            sum += i;
        }
    }
    printf("%" PRId64 "\n", sum);
    return 0;
}
