/* slot_float: upstream's slot_float_200 kernel, x = i then
 * 200 x (+0.1, *1.001) in doubles, for i in 0..n; prints the sum truncated to
 * an integer. No barrier needed: gcc does not reassociate floating point. */
#include "common.h"

int main(int argc, char **argv)
{
    int64_t n = size_arg(argc, argv, 1, 200000);
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double x = (double)i;
        X100(x = (x + 0.1) * 1.001;)
        X100(x = (x + 0.1) * 1.001;)
        sum += x;
    }
    printf("%" PRId64 "\n", (int64_t)sum);
    return 0;
}
