/* string_build: reps times build "x" followed by n copies of "x" in a
 * growing buffer; prints the total length. */
#include <string.h>

#include "common.h"

int main(int argc, char **argv)
{
    int64_t reps = size_arg(argc, argv, 1, 5000);
    int64_t n = size_arg(argc, argv, 2, 10000);
    const char *volatile piece_v = "x";
    const char *piece = piece_v;
    size_t plen = strlen(piece);
    int64_t total = 0;
    for (int64_t r = 0; r < reps; r++) {
        size_t cap = 16, len = plen;
        char *s = malloc(cap);
        if (!s)
            return 1;
        memcpy(s, piece, plen);
        for (int64_t i = 0; i < n; i++) {
            if (len + plen > cap) {
                cap *= 2;
                char *t = realloc(s, cap);
                if (!t)
                    return 1;
                s = t;
            }
            memcpy(s + len, piece, plen);
            len += plen;
        }
        USED(s);
        total += (int64_t)len;
        free(s);
    }
    printf("%" PRId64 "\n", total);
    return 0;
}
