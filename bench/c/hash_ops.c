/* hash_ops: string-keyed hash inserts, lookups and deletes, in the manner of
 * the Great Computer Language Shootout's hash test: rounds of, on a fresh
 * table of n keys "k0".."k<n-1>": insert every key, look up n keys of which
 * half are absent, delete every third key and look every key up again; each
 * round adds the values found and the number of keys still present. The
 * table: FNV-1a, open addressing with tombstones, each entry keeping its
 * key's hash. Prints the total. */
#include <string.h>

#include "common.h"

struct entry {
    char *key; /* NULL: empty; TOMB: deleted */
    uint64_t hash;
    int64_t value;
};

static char tomb;
#define TOMB (&tomb)

static struct entry *table;
static size_t cap, used; /* used counts live keys and tombstones */

static uint64_t hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3u;
    return h ^ (h >> 32); /* the low bits index the table */
}

/* The entry holding key, whose hash is h, or NULL. */
static struct entry *lookup(const char *key, uint64_t h)
{
    for (size_t i = h & (cap - 1); table[i].key; i = (i + 1) & (cap - 1))
        if (table[i].key != TOMB && table[i].hash == h && strcmp(table[i].key, key) == 0)
            return &table[i];
    return NULL;
}

static void insert_new(struct entry *t, size_t c, char *key, uint64_t h, int64_t value)
{
    size_t i = h & (c - 1);
    while (t[i].key && t[i].key != TOMB)
        i = (i + 1) & (c - 1);
    t[i].key = key;
    t[i].hash = h;
    t[i].value = value;
}

static void set(const char *key, int64_t value)
{
    uint64_t h = hash(key);
    struct entry *e = lookup(key, h);
    if (e) {
        e->value = value;
        return;
    }
    if (2 * (used + 1) > cap) { /* rehash without the tombstones */
        size_t c = cap * 2;
        struct entry *t = calloc(c, sizeof *t);
        if (!t)
            exit(1);
        used = 0;
        for (size_t i = 0; i < cap; i++)
            if (table[i].key && table[i].key != TOMB) {
                insert_new(t, c, table[i].key, table[i].hash, table[i].value);
                used++;
            }
        free(table);
        table = t;
        cap = c;
    }
    size_t len = strlen(key) + 1;
    char *copy = malloc(len);
    if (!copy)
        exit(1);
    memcpy(copy, key, len);
    insert_new(table, cap, copy, h, value);
    used++;
}

static void delete(const char *key)
{
    struct entry *e = lookup(key, hash(key));
    if (e) {
        free(e->key);
        e->key = TOMB;
    }
}

static void clear(void)
{
    for (size_t i = 0; i < cap; i++)
        if (table[i].key && table[i].key != TOMB)
            free(table[i].key);
    free(table);
    cap = 8;
    used = 0;
    table = calloc(cap, sizeof *table);
    if (!table)
        exit(1);
}

/* "k" followed by the decimal digits of i >= 0, into key. */
static const char *key_of(char *key, int64_t i)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + i % 10);
        i /= 10;
    } while (i > 0);
    key[0] = 'k';
    for (int j = 0; j < n; j++)
        key[1 + j] = digits[n - 1 - j];
    key[1 + n] = '\0';
    return key;
}

static int64_t round_(int64_t r, int64_t n)
{
    char key[32];
    clear();
    for (int64_t i = 0; i < n; i++)
        set(key_of(key, i), i);
    int64_t found = 0;
    for (int64_t i = 0; i < n; i++) {
        key_of(key, (i * 7 + r) % (2 * n));
        struct entry *e = lookup(key, hash(key));
        if (e)
            found += e->value;
    }
    for (int64_t i = 0; i < n; i += 3)
        delete(key_of(key, i));
    for (int64_t i = 0; i < n; i++) {
        key_of(key, i);
        if (lookup(key, hash(key)))
            found++;
    }
    return found;
}

int main(int argc, char **argv)
{
    int64_t rounds = size_arg(argc, argv, 1, 40);
    int64_t n = size_arg(argc, argv, 2, 20000);
    int64_t total = 0;
    for (int64_t r = 0; r < rounds; r++)
        total += round_(r, n);
    printf("%" PRId64 "\n", total);
    return 0;
}
