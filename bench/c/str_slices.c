/* str_slices: Rosetta Code's Rot-13 and Reverse a string, character by
 * character as the AWK idioms do them (find the character in the alphabet,
 * take the one at the same place in the rotated alphabet; append the
 * characters from the last to the first), on the pangram "the quick brown
 * fox jumps over the lazy dog " rotated by r characters, for r in 0..n-1.
 * Prints the sum over the lines of index(enc, "gur") + index(rev, "kbs") +
 * length(rev), with AWK's 1-based index (0: not found). */
#include <string.h>

#include "common.h"

static const char alpha[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
static const char rotated[] = "nopqrstuvwxyzabcdefghijklmNOPQRSTUVWXYZABCDEFGHIJKLM";

static void rot13(const char *s, char *out)
{
    size_t n = strlen(s);
    for (size_t j = 0; j < n; j++) {
        const char *p = strchr(alpha, s[j]);
        out[j] = p ? rotated[p - alpha] : s[j];
    }
    out[n] = '\0';
}

static void reverse(const char *s, char *out)
{
    size_t n = strlen(s);
    for (size_t j = 0; j < n; j++)
        out[j] = s[n - 1 - j];
    out[n] = '\0';
}

static int64_t index_of(const char *s, const char *t)
{
    const char *p = strstr(s, t);
    return p ? p - s + 1 : 0;
}

int main(int argc, char **argv)
{
    int64_t lines = size_arg(argc, argv, 1, 30000);
    const char *volatile text_v = "the quick brown fox jumps over the lazy dog ";
    const char *text = text_v;
    size_t len = strlen(text);
    char line[64], enc[64], rev[64];
    int64_t total = 0;
    for (int64_t r = 0; r < lines; r++) {
        size_t k = (size_t)(r % (int64_t)len);
        memcpy(line, text + k, len - k);
        memcpy(line + len - k, text, k);
        line[len] = '\0';
        rot13(line, enc);
        reverse(enc, rev);
        total += index_of(enc, "gur") + index_of(rev, "kbs") + (int64_t)strlen(rev);
    }
    printf("%" PRId64 "\n", total);
    return 0;
}
