/* word_freq: word frequencies (Bentley's "Programming Pearls" column, AWK's
 * count[$i]++) over a generated text: lines of 10 words, each word 1 to 3
 * of 16 syllables picked by the Shootout's gen_random LCG (seed 42). Each
 * line is built by appending, split at its spaces, and each word counted in
 * a string-keyed hash table (FNV-1a, open addressing). Prints the number of
 * distinct words, then the sum of the squares of the counts. */
#include <string.h>

#include "common.h"

static const char *const syl[16] = {"the", "a",  "to", "in", "an", "on", "ar", "er",
                                    "is",  "it", "or", "en", "at", "es", "ou", "ly"};

static int64_t last = 42;

static int64_t gen_random(void)
{
    last = (last * 3877 + 29573) % 139968;
    return last;
}

static int64_t pick(int64_t k)
{
    return k * gen_random() / 139968;
}

/* Appends a word of 1 to 3 syllables to buf at len; returns the new length. */
static size_t word(char *buf, size_t len)
{
    int64_t n = pick(3) + 1;
    for (; n > 0; n--) {
        const char *s = syl[pick(16)];
        size_t l = strlen(s);
        memcpy(buf + len, s, l);
        len += l;
    }
    return len;
}

struct entry {
    char *key;
    size_t len;
    int64_t count;
};

static struct entry *table;
static size_t cap = 64, used;

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3u;
    return h ^ (h >> 32); /* the low bits index the table */
}

static struct entry *find(struct entry *t, size_t c, const char *s, size_t n)
{
    size_t i = hash(s, n) & (c - 1);
    while (t[i].key && (t[i].len != n || memcmp(t[i].key, s, n) != 0))
        i = (i + 1) & (c - 1);
    return &t[i];
}

static void grow(void)
{
    struct entry *t = calloc(cap * 2, sizeof *t);
    if (!t)
        exit(1);
    for (size_t i = 0; i < cap; i++)
        if (table[i].key)
            *find(t, cap * 2, table[i].key, table[i].len) = table[i];
    free(table);
    table = t;
    cap *= 2;
}

static void count_word(const char *s, size_t n)
{
    struct entry *e = find(table, cap, s, n);
    if (!e->key) {
        e->key = malloc(n);
        if (!e->key)
            exit(1);
        memcpy(e->key, s, n);
        e->len = n;
        used++;
        if (2 * used > cap) {
            grow();
            e = find(table, cap, s, n);
        }
    }
    e->count++;
}

int main(int argc, char **argv)
{
    int64_t lines = size_arg(argc, argv, 1, 50000);
    char line[10 * (3 * 3 + 1) + 1];
    table = calloc(cap, sizeof *table);
    if (!table)
        return 1;
    for (int64_t l = 0; l < lines; l++) {
        size_t len = 0;
        for (int k = 0; k < 10; k++) {
            len = word(line, len);
            line[len++] = ' ';
        }
        const char *s = line, *end = line + len, *sp;
        while ((sp = memchr(s, ' ', (size_t)(end - s))) != NULL) {
            count_word(s, (size_t)(sp - s));
            s = sp + 1;
        }
    }
    int64_t sumsq = 0;
    for (size_t i = 0; i < cap; i++)
        if (table[i].key) {
            sumsq += table[i].count * table[i].count;
            free(table[i].key);
        }
    free(table);
    printf("%zu\n%" PRId64 "\n", used, sumsq);
    return 0;
}
