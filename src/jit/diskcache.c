/* The persistent native-code cache (see diskcache.h; the blob grammar is
 * below, beside the reader, and in docs/FORMAT.md). */
#include "jit/diskcache.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jit/helpers.h"
#include "jit/jit.h"
#include "jit/procid.h"

/* Writes between directory scans, at least (upstream scans every
 * PRUNE_INTERVAL = 128 writes): other processes add files the running
 * estimate does not see. */
#define RESCAN_INTERVAL 128
/* A scan stats every file, so the interval also grows with the files the
 * last scan saw: one scan per files / SCAN_SHARE writes costs each write
 * SCAN_SHARE stats, however big the directory grows. */
#define SCAN_SHARE 4
/* The largest blob written or read: a context maps at most code_max_bytes
 * (64 MiB by default) of code, so anything bigger is damage. */
#define MAX_BLOB ((size_t)64 << 20)
/* A temporary of ours older than this belongs to a writer that died. */
#define STALE_TMP_SECONDS 3600
/* Attempts at a fresh temporary name before giving up on a write. */
#define TMP_ATTEMPTS 4

typedef enum dir_mode { DIR_DEFAULT, DIR_EXPLICIT, DIR_OFF } dir_mode;

struct fvm_diskcache {
    dir_mode mode;
    char *explicit_dir;  /* DIR_EXPLICIT */
    char *resolved;      /* what fvm_diskcache_dir returned last */
    bool max_set;
    uint64_t max_bytes;  /* when max_set; 0 = no cap */
    uid_t owner;
    uint32_t cpu;        /* host CPU features, once host_known */
    bool host_known;
    bool warned;         /* the one stderr line about refused files */
    uint64_t writes;     /* successful stores, for the rescan interval */
    uint64_t next_scan;  /* the value of writes that scans next; 0: not planned */
    uint64_t est_bytes;  /* estimated *.fjit bytes in the directory */
    uint64_t est_files;  /* *.fjit files the last scan found */
    uint64_t attempts;   /* temporary names tried, part of each name */
    const char *last_reject;
    fvm_diskcache_counts counts;
    int dfd;             /* the directory last opened (kept open), or -1 */
    char *dfd_path;      /* its path */
    int64_t dfd_checked; /* when its owner and mode last passed (seconds) */
};

fvm_diskcache *fvm_diskcache_new(void)
{
    fvm_diskcache *d = fvm_xcalloc(1, sizeof *d);
    d->owner = geteuid();
    d->dfd = -1;
    return d;
}

void fvm_diskcache_free(fvm_diskcache *d)
{
    if (!d)
        return;
    free(d->explicit_dir);
    free(d->resolved);
    if (d->dfd >= 0)
        close(d->dfd);
    free(d->dfd_path);
    free(d);
}

void fvm_diskcache_set_host(fvm_diskcache *d, uid_t owner, uint32_t cpu_features)
{
    d->owner = owner;
    d->cpu = cpu_features;
    d->host_known = true;
}

static uint32_t host_cpu(fvm_diskcache *d)
{
    if (!d->host_known) {
        d->cpu = fvm_backend_cpu_features();
        d->host_known = true;
    }
    return d->cpu;
}

void fvm_diskcache_counts_get(const fvm_diskcache *d, fvm_diskcache_counts *out)
{
    *out = d->counts;
}

const char *fvm_diskcache_last_reject(const fvm_diskcache *d)
{
    return d->last_reject;
}

/* ------------------------------------------------------------------------
 * Settings, resolved on every use
 * ------------------------------------------------------------------------ */

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(fvm_xmalloc(n), s, n);
}

/* s without surrounding whitespace, lower-cased, in buf; false if it does
 * not fit (no keyword is that long). */
static bool trim_lower(const char *s, char *buf, size_t size)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= size)
        return false;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)tolower((unsigned char)s[i]);
    buf[n] = 0;
    return true;
}

static bool is_one_of(const char *word, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(word, *list) == 0)
            return true;
    return false;
}

/* FUSEVM_JIT_CACHE_DIR values that turn caching off (and the empty one). */
static bool env_says_off(const char *v)
{
    static const char *const off[] = {"", "off", "0", "no", "none", "false", "disabled", NULL};
    char w[16];
    return trim_lower(v, w, sizeof w) && is_one_of(w, off);
}

void fvm_diskcache_set_dir(fvm_diskcache *d, const char *dir)
{
    free(d->explicit_dir);
    d->explicit_dir = NULL;
    if (!dir)
        d->mode = DIR_DEFAULT;
    else if (!*dir)
        d->mode = DIR_OFF;
    else {
        d->mode = DIR_EXPLICIT;
        d->explicit_dir = xstrdup(dir);
    }
}

/* Remember base + "/" + leaf as the resolved directory. The string is
 * replaced only when the resolution changes, so a pointer the public API
 * handed out survives the tiers' own lookups. */
static const char *set_resolved(fvm_diskcache *d, const char *base, const char *leaf)
{
    size_t n = strlen(base);
    while (n > 1 && base[n - 1] == '/')
        n--;
    size_t m = leaf ? strlen(leaf) : 0;
    char *r = d->resolved;
    /* Every load and store asks: compare in place, allocate only on a change. */
    if (r && strncmp(r, base, n) == 0 &&
        (leaf ? r[n] == '/' && strcmp(r + n + 1, leaf) == 0 : r[n] == 0))
        return r;
    r = fvm_xmalloc(n + (leaf ? 1 + m : 0) + 1);
    memcpy(r, base, n);
    if (leaf) {
        r[n] = '/';
        memcpy(r + n + 1, leaf, m + 1);
    } else
        r[n] = 0;
    free(d->resolved);
    d->resolved = r;
    return r;
}

static const char *nonempty_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

const char *fvm_diskcache_dir(fvm_diskcache *d)
{
    if (d->mode == DIR_OFF)
        return NULL;
    if (d->mode == DIR_EXPLICIT)
        return set_resolved(d, d->explicit_dir, NULL);
    const char *env = getenv("FUSEVM_JIT_CACHE_DIR");
    if (env)
        return env_says_off(env) ? NULL : set_resolved(d, env, NULL);
    const char *base = nonempty_env("XDG_CACHE_HOME");
    if (base)
        return set_resolved(d, base, "fusevm-jit");
    base = nonempty_env("HOME");
    if (base)
        return set_resolved(d, base, ".cache/fusevm-jit");
    base = nonempty_env("TMPDIR");
    return set_resolved(d, base ? base : "/tmp", "fusevm-jit");
}

bool fvm_diskcache_parse_size(const char *s, uint64_t *out)
{
    static const char *const unlimited[] = {"0", "off", "none", "unlimited", NULL};
    char w[32];
    if (!trim_lower(s, w, sizeof w))
        return false;
    if (is_one_of(w, unlimited)) {
        *out = 0;
        return true;
    }
    size_t n = strlen(w);
    unsigned shift = 0;
    if (n && (w[n - 1] == 'k' || w[n - 1] == 'm' || w[n - 1] == 'g')) {
        shift = w[n - 1] == 'k' ? 10 : w[n - 1] == 'm' ? 20 : 30;
        w[--n] = 0;
    }
    char num[32];
    if (!trim_lower(w, num, sizeof num))
        return false;
    const char *p = num[0] == '+' ? num + 1 : num;
    if (!isdigit((unsigned char)*p))
        return false;
    uint64_t v = 0;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned digit = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    if (*p)
        return false;
    *out = v > (UINT64_MAX >> shift) ? UINT64_MAX : v << shift;
    return true;
}

void fvm_diskcache_set_max_bytes(fvm_diskcache *d, int64_t max)
{
    d->max_set = max >= 0;
    d->max_bytes = max >= 0 ? (uint64_t)max : 0;
}

uint64_t fvm_diskcache_max_bytes(const fvm_diskcache *d)
{
    if (d->max_set)
        return d->max_bytes;
    const char *env = getenv("FUSEVM_JIT_CACHE_MAX_BYTES");
    uint64_t v;
    if (env && fvm_diskcache_parse_size(env, &v))
        return v;
    return FVM_DISKCACHE_DEFAULT_MAX;
}

/* ------------------------------------------------------------------------
 * The blob
 *
 * Little-endian, every field written one by one, unaligned:
 *
 *   blob     = header meta code relocs checksum
 *   header   = magic:8 u32:version u64:fingerprint u32:cpu_features
 *              u64:op_hash u64:subkey u64:verify u8:tier u32:flags
 *              u32:meta_len u32:code_len u32:entry u32:nrelocs
 *   meta     = u8*meta_len                the tier's metadata, opaque here
 *   code     = u8*code_len                helper addresses zeroed
 *   relocs   = (u32:offset u32:helper i64:addend)*nrelocs
 *   checksum = u64                        FNV-1a 64 of every byte before it
 *
 * magic is "FVMJIT" 0x1a '\n' (the last two catch text-mode mangling);
 * version is BLOB_VERSION. fingerprint hashes what must match exactly
 * between the writer and the reader: the library version, the code
 * generator version, the target and the pointer width (the format version
 * too, so a reader of another version stops at the fingerprint even if it
 * ignored the version field). cpu_features are the CPU features the code
 * may rely on, as the backend numbers them (fvm_backend_cpu_features): the
 * reader refuses a blob needing any its CPU lacks.
 * op_hash, subkey, verify and tier must equal the key asked for. entry is
 * the function's offset in the code. Each relocation says: write the
 * current address of helper (helpers.h ids) plus addend over the 8 bytes at
 * offset; offsets ascend, and each lies wholly inside the code. The file
 * holds exactly this many bytes; nothing follows the checksum.
 *
 * The reader checks, before any byte is made executable: the size bounds,
 * magic, version, checksum, fingerprint, CPU features, key, tier, lengths,
 * entry, and every relocation (inside the code, not overlapping the
 * previous one, a known helper). Any failure is a miss.
 * ------------------------------------------------------------------------ */

#define BLOB_MAGIC "FVMJIT\x1a\n"
#define BLOB_VERSION 1u
#define HEADER_SIZE 69
#define RELOC_SIZE 16
#define CHECKSUM_SIZE 8

static const char *const tier_tags[FVM_JIT_TIER_COUNT] = {"lin", "blk", "trc"};

static uint64_t fingerprint(void)
{
    static const char target[] = FVM_TARGET_NAME; /* the backend's, e.g. "x86_64-sysv" */
    uint32_t words[3] = {BLOB_VERSION, FVM_JIT_CODEGEN_VERSION, (uint32_t)sizeof(void *)};
    uint64_t h = fvm_fnv1a64(FVM_FNV64_INIT, FVM_VERSION_STRING, sizeof FVM_VERSION_STRING);
    h = fvm_fnv1a64(h, target, sizeof target);
    for (size_t i = 0; i < 3; i++) {
        uint8_t le[4] = {(uint8_t)words[i], (uint8_t)(words[i] >> 8), (uint8_t)(words[i] >> 16),
                         (uint8_t)(words[i] >> 24)};
        h = fvm_fnv1a64(h, le, sizeof le);
    }
    return h;
}

static void put_le(fvm_buf *b, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        fvm_buf_putc(b, (char)(uint8_t)(v >> (8 * i)));
}

/* Why c cannot be stored, or NULL if it can. */
static const char *check_code(const fvm_diskcache_code *c)
{
    if (!c->code || c->code_len == 0 || c->code_len > FVM_CODE_MAX || c->entry >= c->code_len)
        return "bad code or entry";
    if (c->meta_len > MAX_BLOB || (c->meta_len && !c->meta) || (c->nrelocs && !c->relocs))
        return "bad metadata or relocations";
    uint64_t next = 0; /* the first byte the next relocation may use */
    for (size_t i = 0; i < c->nrelocs; i++) {
        uint64_t off = c->relocs[i].offset;
        if (off < next || off + 8 > c->code_len || !fvm_jit_helper_get(c->relocs[i].helper))
            return "bad relocation";
        next = off + 8;
    }
    return NULL;
}

/* The blob for k and c in *b (appended); false if it would be too big. */
static bool blob_build(fvm_buf *b, const fvm_diskcache_key *k, const fvm_diskcache_code *c)
{
    size_t size = HEADER_SIZE + c->meta_len + c->code_len + c->nrelocs * RELOC_SIZE + CHECKSUM_SIZE;
    if (size > MAX_BLOB)
        return false;
    fvm_buf_reserve(b, size);
    size_t start = b->len;
    fvm_buf_put(b, BLOB_MAGIC, 8);
    put_le(b, BLOB_VERSION, 4);
    put_le(b, fingerprint(), 8);
    put_le(b, c->cpu_features, 4);
    put_le(b, k->op_hash, 8);
    put_le(b, k->subkey, 8);
    put_le(b, k->verify, 8);
    put_le(b, (uint64_t)k->tier, 1);
    put_le(b, c->flags, 4);
    put_le(b, c->meta_len, 4);
    put_le(b, c->code_len, 4);
    put_le(b, c->entry, 4);
    put_le(b, c->nrelocs, 4);
    if (c->meta_len)
        fvm_buf_put(b, c->meta, c->meta_len);
    /* Helper addresses are this process's: zero them, so the same code
     * always makes the same blob and no address reaches the disk. */
    size_t code_at = b->len;
    fvm_buf_put(b, c->code, c->code_len);
    for (size_t i = 0; i < c->nrelocs; i++)
        memset(b->data + code_at + c->relocs[i].offset, 0, 8);
    for (size_t i = 0; i < c->nrelocs; i++) {
        put_le(b, c->relocs[i].offset, 4);
        put_le(b, c->relocs[i].helper, 4);
        put_le(b, 0, 8);
    }
    put_le(b, fvm_fnv1a64(FVM_FNV64_INIT, b->data + start, b->len - start), 8);
    return true;
}

/* A bounds-checked reader over a blob. */
typedef struct reader {
    const uint8_t *p;
    size_t len, pos;
} reader;

static uint64_t get_le(reader *r, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)r->p[r->pos + i] << (8 * i);
    r->pos += n;
    return v;
}

/* A parsed blob: pointers into the bytes read. */
typedef struct blob_view {
    uint32_t cpu, flags, meta_len, code_len, entry, nrelocs;
    uint64_t op_hash, subkey, verify;
    unsigned tier;
    const uint8_t *meta, *relocs;
    uint8_t *code;
} blob_view;

/* The header fields (the caller checked the blob is long enough). */
static const char *parse_header(reader *r, blob_view *v)
{
    if (memcmp(r->p, BLOB_MAGIC, 8) != 0)
        return "bad magic";
    r->pos = 8;
    if (get_le(r, 4) != BLOB_VERSION)
        return "unsupported format version";
    uint64_t fp = get_le(r, 8);
    v->cpu = (uint32_t)get_le(r, 4);
    v->op_hash = get_le(r, 8);
    v->subkey = get_le(r, 8);
    v->verify = get_le(r, 8);
    v->tier = (unsigned)get_le(r, 1);
    v->flags = (uint32_t)get_le(r, 4);
    v->meta_len = (uint32_t)get_le(r, 4);
    v->code_len = (uint32_t)get_le(r, 4);
    v->entry = (uint32_t)get_le(r, 4);
    v->nrelocs = (uint32_t)get_le(r, 4);
    return fp == fingerprint() ? NULL : "fingerprint mismatch (another build)";
}

/* Every relocation inside the code, ascending, naming a known helper. */
static const char *check_relocs(const blob_view *v)
{
    reader r = {v->relocs, (size_t)v->nrelocs * RELOC_SIZE, 0};
    uint64_t next = 0;
    for (uint32_t i = 0; i < v->nrelocs; i++) {
        uint64_t off = get_le(&r, 4), helper = get_le(&r, 4);
        get_le(&r, 8);
        if (off < next)
            return "relocations out of order or overlapping";
        if (off + 8 > v->code_len)
            return "relocation outside the code";
        if (helper > UINT32_MAX || !fvm_jit_helper_get((uint32_t)helper))
            return "relocation names an unknown helper";
        next = off + 8;
    }
    return NULL;
}

/* Parse and verify all of bytes[0..len) against k: NULL with *v filled,
 * or why the blob is refused. */
static const char *blob_verify(uint8_t *bytes, size_t len, const fvm_diskcache_key *k,
                               uint32_t host_cpu_features, blob_view *v)
{
    if (len < HEADER_SIZE + CHECKSUM_SIZE)
        return "truncated";
    reader r = {bytes, len, 0};
    const char *why = parse_header(&r, v);
    if (why)
        return why;
    uint64_t body = (uint64_t)HEADER_SIZE + v->meta_len + v->code_len +
                    (uint64_t)v->nrelocs * RELOC_SIZE;
    if (body + CHECKSUM_SIZE != len)
        return len < body + CHECKSUM_SIZE ? "truncated" : "trailing bytes";
    r.pos = (size_t)body;
    if (get_le(&r, 8) != fvm_fnv1a64(FVM_FNV64_INIT, bytes, (size_t)body))
        return "checksum mismatch";
    if (v->cpu & ~host_cpu_features)
        return "code needs CPU features this machine lacks";
    if (v->op_hash != k->op_hash || v->subkey != k->subkey || v->tier != (unsigned)k->tier)
        return "key mismatch";
    if (v->verify != k->verify)
        return "verification word mismatch";
    if (v->code_len == 0 || v->entry >= v->code_len)
        return "bad code length or entry";
    v->meta = bytes + HEADER_SIZE;
    v->code = bytes + HEADER_SIZE + v->meta_len;
    v->relocs = v->code + v->code_len;
    return check_relocs(v);
}

/* Write each helper's address in this process over its relocation. */
static bool blob_patch(blob_view *v)
{
    reader r = {v->relocs, (size_t)v->nrelocs * RELOC_SIZE, 0};
    for (uint32_t i = 0; i < v->nrelocs; i++) {
        uint32_t off = (uint32_t)get_le(&r, 4);
        const fvm_jit_helper *h = fvm_jit_helper_get((uint32_t)get_le(&r, 4));
        uint64_t addend = get_le(&r, 8);
        if (!h || !fvm_backend_patch_reloc(v->code, v->code_len, off, h->addr + addend))
            return false;
    }
    return true;
}

/* ------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------ */

static char *put_hex64(char *p, uint64_t v)
{
    for (int i = 15; i >= 0; i--, v >>= 4)
        p[i] = "0123456789abcdef"[v & 15];
    return p + 16;
}

/* The file name "{op_hash:016x}.{subkey:016x}.{tag}.fjit" (NAME_SIZE
 * bytes with the NUL), written by hand: snprintf cost a tenth of a load. */
#define NAME_SIZE (16 + 1 + 16 + 1 + 3 + 5 + 1)

static bool blob_name(const fvm_diskcache_key *k, char buf[NAME_SIZE])
{
    if ((unsigned)k->tier >= FVM_JIT_TIER_COUNT)
        return false;
    char *p = put_hex64(buf, k->op_hash);
    *p++ = '.';
    p = put_hex64(p, k->subkey);
    *p++ = '.';
    memcpy(p, tier_tags[k->tier], 3);
    memcpy(p + 3, ".fjit", 6);
    return true;
}

/* Print why a file was refused, once per cache object. */
static void refuse(fvm_diskcache *d, const char *what, const char *dir, const char *name,
                   const char *why)
{
    d->last_reject = why;
    if (d->warned)
        return;
    d->warned = true;
    fprintf(stderr, "fusevm: JIT cache %s %s%s%s refused: %s\n", what, dir, name ? "/" : "",
            name ? name : "", why);
}

/* Why st (a directory or file in the cache) may not be trusted, or NULL. */
static const char *untrusted(const fvm_diskcache *d, const struct stat *st)
{
    if (st->st_uid != d->owner)
        return "not owned by the current user";
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return "writable by group or others";
    return NULL;
}

/* mkdir -p with mode 0700 for every directory it creates. */
static void make_dirs(const char *path)
{
    char *p = xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        mkdir(p, 0700);
        *s = '/';
    }
    mkdir(p, 0700);
    free(p);
}

/* open_dir's failures: nothing to use, or a directory refused. */
#define DIR_NONE (-1)
#define DIR_REFUSED (-2)

/* The resolved directory opened for *at calls, after checking it may be
 * trusted; DIR_NONE if off or missing (and not create), DIR_REFUSED. */
/* Close the kept directory (it moved, vanished, or was refused). */
static void forget_dir(fvm_diskcache *d)
{
    if (d->dfd >= 0)
        close(d->dfd);
    free(d->dfd_path);
    d->dfd = -1;
    d->dfd_path = NULL;
}

static int64_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec;
}

/* The cache directory, open, checked (owner and mode) and kept open for
 * the next call, so loads and stores run with fewer system calls. The
 * check is repeated when the directory is opened and then at most once a
 * second: every file is checked on its own before it is loaded, which is
 * what keeps another user's code out; the directory check guards against
 * a directory opened up to others meanwhile. The descriptor belongs to d. */
static int open_dir(fvm_diskcache *d, bool create, const char **dir_out)
{
    const char *dir = fvm_diskcache_dir(d);
    *dir_out = dir;
    if (!dir)
        return DIR_NONE;
    if (d->dfd < 0 || strcmp(d->dfd_path, dir) != 0) {
        int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
        int dfd = open(dir, flags);
        if (dfd < 0 && errno == ENOENT && create) {
            make_dirs(dir);
            dfd = open(dir, flags);
        }
        if (dfd < 0)
            return DIR_NONE;
        forget_dir(d);
        d->dfd = dfd;
        d->dfd_path = xstrdup(dir);
        d->dfd_checked = -1;
    }
    int64_t t = now_s();
    if (d->dfd_checked >= 0 && t - d->dfd_checked < 1)
        return d->dfd;
    struct stat st;
    const char *why = fstat(d->dfd, &st) != 0 ? "cannot stat" : untrusted(d, &st);
    if (why) {
        refuse(d, "directory", dir, NULL, why);
        forget_dir(d);
        return DIR_REFUSED;
    }
    d->dfd_checked = t;
    return d->dfd;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* A 64-bit mix (splitmix64's finaliser), for temporary names and the first scan. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Create a fresh temporary beside final ("<final stem>.{pid}.{attempt}.
 * {random:08x}.tmp"): its descriptor with the name in tmp, or -1. The pid
 * and this object's attempt counter make names unique within a machine;
 * the random part covers two objects in one process and pid reuse, and
 * O_EXCL makes a collision a retry, never a shared file. */
static int create_tmp(fvm_diskcache *d, int dfd, const char *final, char *tmp, size_t size)
{
    size_t stem = strlen(final) - strlen(".fjit");
    for (int i = 0; i < TMP_ATTEMPTS; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t rnd = mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                             (uint64_t)(uintptr_t)d ^ (++d->attempts << 48));
        snprintf(tmp, size, "%.*s.%ld.%" PRIu64 ".%08" PRIx32 ".tmp", (int)stem, final,
                 (long)fvm_process_id(), d->attempts, (uint32_t)rnd);
        int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

/* Write bytes to dir/final through a temporary and a rename. No fsync: a
 * blob lost or cut short by a crash is a checksum failure, i.e. a miss. */
static bool write_atomic(fvm_diskcache *d, int dfd, const char *final, const fvm_buf *bytes)
{
    char tmp[160];
    int fd = create_tmp(d, dfd, final, tmp, sizeof tmp);
    if (fd < 0)
        return false;
    bool ok = write_all(fd, bytes->data, bytes->len);
    ok = close(fd) == 0 && ok;
    ok = ok && renameat(dfd, tmp, dfd, final) == 0;
    if (!ok)
        unlinkat(dfd, tmp, 0);
    return ok;
}

/* Blobs up to this size are read into the caller's stack buffer: a block
 * tier blob of a small loop is a few hundred bytes. */
#define SMALL_BLOB 4096

/* The whole of a regular file at dfd/name that d may trust, in small (if
 * it fits) or a new buffer, of *len bytes; NULL after counting a miss or a
 * rejection. */
static uint8_t *read_blob(fvm_diskcache *d, int dfd, const char *dir, const char *name,
                          uint8_t small[SMALL_BLOB], size_t *len)
{
    /* O_NONBLOCK: a FIFO planted under the name must not hang the open.
     * O_NOATIME: reading a blob should not make the file system write its
     * inode; the kernel allows it only to the file's owner, so another
     * user's file fails here already (EPERM), before the check below. */
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOATIME);
    if (fd < 0) {
        if (errno == ENOENT)
            d->counts.misses++;
        else {
            d->counts.rejected++;
            if (errno == EPERM)
                refuse(d, "file", dir, name, "not owned by the current user");
            else
                d->last_reject = errno == ELOOP ? "a symbolic link" : "cannot open";
        }
        return NULL;
    }
    struct stat st;
    const char *why = fstat(fd, &st) != 0 ? "cannot stat" : untrusted(d, &st);
    if (why)
        refuse(d, "file", dir, name, why);
    else if (!S_ISREG(st.st_mode))
        why = d->last_reject = "not a regular file";
    else if (st.st_size <= 0 || (uint64_t)st.st_size > MAX_BLOB)
        why = d->last_reject = st.st_size <= 0 ? "truncated" : "too large";
    uint8_t *buf = NULL;
    if (!why) {
        *len = (size_t)st.st_size;
        buf = *len <= SMALL_BLOB ? small : fvm_xmalloc(*len);
        size_t got = 0;
        ssize_t r = 1;
        while (got < *len && (r = read(fd, buf + got, *len - got)) != 0)
            if (r > 0)
                got += (size_t)r;
            else if (errno != EINTR)
                break;
        if (got != *len) {
            if (buf != small)
                free(buf);
            buf = NULL;
            d->last_reject = "truncated";
        }
    }
    close(fd);
    if (!buf)
        d->counts.rejected++;
    return buf;
}

/* ------------------------------------------------------------------------
 * Store and load
 * ------------------------------------------------------------------------ */

static void after_write(fvm_diskcache *d, size_t blob_len);

bool fvm_diskcache_store(fvm_diskcache *d, const fvm_diskcache_key *k,
                         const fvm_diskcache_code *c)
{
    char name[NAME_SIZE];
    fvm_buf bytes = {NULL, 0, 0};
    const char *dir;
    bool ok = fvm_diskcache_dir(d) && blob_name(k, name) && !check_code(c) &&
              blob_build(&bytes, k, c);
    int dfd = ok ? open_dir(d, true, &dir) : -1;
    ok = dfd >= 0 && write_atomic(d, dfd, name, &bytes);
    if (dfd >= 0 && !ok)
        forget_dir(d); /* the directory may have gone: open it afresh next time */
    if (ok) {
        d->counts.stores++;
        after_write(d, bytes.len);
    } else
        d->counts.store_failures++;
    fvm_buf_free(&bytes);
    return ok;
}

void *fvm_diskcache_load(fvm_diskcache *d, fvm_mcode *mc, const fvm_diskcache_key *k,
                         fvm_buf *meta, fvm_diskcache_loaded *out)
{
    char name[NAME_SIZE];
    const char *dir;
    if (!mc || !blob_name(k, name)) {
        d->counts.misses++;
        return NULL;
    }
    int dfd = open_dir(d, false, &dir);
    if (dfd < 0) {
        if (dfd == DIR_REFUSED)
            d->counts.rejected++;
        else
            d->counts.misses++;
        return NULL;
    }
    size_t len = 0;
    uint8_t small[SMALL_BLOB];
    uint8_t *bytes = read_blob(d, dfd, dir, name, small, &len);
    if (!bytes)
        return NULL;
    blob_view v;
    const char *why = blob_verify(bytes, len, k, host_cpu(d), &v);
    uint8_t *base = NULL;
    if (!why && !blob_patch(&v))
        why = "relocation cannot be patched";
    if (!why && !(base = fvm_mcode_add(mc, v.code, v.code_len)))
        why = "no code memory";
    if (!why) {
        if (meta)
            fvm_buf_put(meta, v.meta, v.meta_len);
        if (out)
            *out = (fvm_diskcache_loaded){base, v.code_len, v.flags};
        d->counts.hits++;
    } else {
        d->last_reject = why;
        d->counts.rejected++;
    }
    if (bytes != small)
        free(bytes);
    return why ? NULL : base + v.entry;
}

/* ------------------------------------------------------------------------
 * Size, eviction, clearing
 * ------------------------------------------------------------------------ */

typedef struct cache_file {
    char *name;
    uint64_t size;
    struct timespec mtime;
} cache_file;

typedef struct file_list {
    cache_file *files; /* *.fjit regular files */
    size_t n, cap;
    uint64_t total;
} file_list;

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

/* Whether s starts with n characters from set, then sep; advances *s. */
static bool take(const char **s, const char *set, size_t min, size_t max, char sep)
{
    size_t n = strspn(*s, set);
    if (n < min || n > max || (*s)[n] != sep)
        return false;
    *s += n + 1;
    return true;
}

/* A temporary create_tmp names: "{16 hex}.{16 hex}.{tag}.{pid}.{n}.{8 hex}.tmp". */
static bool is_our_tmp(const char *s)
{
    static const char hex[] = "0123456789abcdef", digits[] = "0123456789";
    if (!take(&s, hex, 16, 16, '.') || !take(&s, hex, 16, 16, '.'))
        return false;
    if (strncmp(s, "lin.", 4) != 0 && strncmp(s, "blk.", 4) != 0 && strncmp(s, "trc.", 4) != 0)
        return false;
    s += 4;
    return take(&s, digits, 1, 20, '.') && take(&s, digits, 1, 20, '.') &&
           take(&s, hex, 8, 8, '.') && strcmp(s, "tmp") == 0;
}

/* The *.fjit files of dir, removing stale temporaries of ours on the way
 * if reap; false if dir cannot be read. */
static bool list_files(const char *dir, bool reap, file_list *out)
{
    memset(out, 0, sizeof *out);
    DIR *dp = opendir(dir);
    if (!dp)
        return false;
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(dp))) {
        bool fjit = has_suffix(e->d_name, ".fjit");
        bool tmp = !fjit && reap && is_our_tmp(e->d_name);
        struct stat st;
        if ((!fjit && !tmp) || fstatat(dirfd(dp), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        if (tmp) {
            if (now - st.st_mtime > STALE_TMP_SECONDS)
                unlinkat(dirfd(dp), e->d_name, 0);
            continue;
        }
        void *files = out->files;
        fvm_grow(&files, &out->cap, out->n + 1, sizeof *out->files);
        out->files = files;
        out->files[out->n++] = (cache_file){xstrdup(e->d_name), (uint64_t)st.st_size, st.st_mtim};
        out->total += (uint64_t)st.st_size;
    }
    closedir(dp);
    return true;
}

static void list_free(file_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->files[i].name);
    free(l->files);
}

static int older_first(const void *a, const void *b)
{
    const cache_file *x = a, *y = b;
    if (x->mtime.tv_sec != y->mtime.tv_sec)
        return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
    if (x->mtime.tv_nsec != y->mtime.tv_nsec)
        return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Delete the oldest files of l until at most target bytes remain; the
 * bytes deleted. A file another process removed first counts as gone but
 * not as freed. */
static uint64_t evict(const char *dir, file_list *l, uint64_t target)
{
    qsort(l->files, l->n, sizeof *l->files, older_first);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return 0;
    uint64_t freed = 0;
    for (size_t i = 0; i < l->n && l->total > target; i++) {
        if (unlinkat(dfd, l->files[i].name, 0) == 0)
            freed += l->files[i].size;
        else if (errno != ENOENT)
            continue;
        l->total -= l->files[i].size;
    }
    close(dfd);
    return freed;
}

int64_t fvm_diskcache_size(fvm_diskcache *d)
{
    const char *dir = fvm_diskcache_dir(d);
    if (!dir)
        return -1;
    file_list l;
    list_files(dir, false, &l);
    list_free(&l);
    d->est_bytes = l.total;
    return l.total > INT64_MAX ? INT64_MAX : (int64_t)l.total;
}

uint64_t fvm_diskcache_prune(fvm_diskcache *d)
{
    const char *dir = fvm_diskcache_dir(d);
    uint64_t max = fvm_diskcache_max_bytes(d);
    file_list l;
    if (!dir || !list_files(dir, true, &l))
        return 0;
    uint64_t freed = 0;
    if (max && l.total > max) {
        freed = evict(dir, &l, max - max / 5);
        d->counts.prunes++;
    }
    d->counts.scans++;
    d->est_bytes = l.total;
    d->est_files = l.n;
    list_free(&l);
    return freed;
}

size_t fvm_diskcache_clear(fvm_diskcache *d)
{
    const char *dir = fvm_diskcache_dir(d);
    file_list l;
    if (!dir || !list_files(dir, true, &l))
        return 0;
    size_t removed = 0;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (size_t i = 0; dfd >= 0 && i < l.n; i++)
        removed += unlinkat(dfd, l.files[i].name, 0) == 0;
    if (dfd >= 0)
        close(dfd);
    list_free(&l);
    d->est_bytes = 0;
    return removed;
}

/* Keep the directory under its cap without scanning it on every write.
 * This object counts what it wrote and scans (pruning if needed) whenever
 * that estimate passes the cap, and besides every RESCAN_INTERVAL writes or
 * more (other processes write too). The first of those scans comes after a
 * random 1..RESCAN_INTERVAL writes, not on the first: a process that
 * stores a few blobs then exits (a shell running its scripts) would
 * otherwise scan the whole directory every time it runs, while this way
 * all the processes sharing a directory scan it about once per
 * RESCAN_INTERVAL writes between them. */
static void after_write(fvm_diskcache *d, size_t blob_len)
{
    d->writes++;
    d->est_bytes += blob_len;
    uint64_t max = fvm_diskcache_max_bytes(d);
    if (!max)
        return;
    if (!d->next_scan) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t r = mix64((uint64_t)ts.tv_nsec ^ (uint64_t)fvm_process_id() << 32 ^
                           (uint64_t)(uintptr_t)d);
        d->next_scan = d->writes + r % RESCAN_INTERVAL;
    }
    if (d->writes < d->next_scan && d->est_bytes <= max)
        return;
    fvm_diskcache_prune(d);
    uint64_t interval = d->est_files / SCAN_SHARE;
    d->next_scan = d->writes + (interval > RESCAN_INTERVAL ? interval : RESCAN_INTERVAL);
}

/* ------------------------------------------------------------------------
 * Public API (fusevm.h)
 * ------------------------------------------------------------------------ */

const char *fvm_jit_cache_dir(fvm_jit *j)
{
    return j ? fvm_diskcache_dir(fvm_jit_diskcache(j)) : NULL;
}

void fvm_jit_set_cache_dir(fvm_jit *j, const char *dir)
{
    if (j)
        fvm_diskcache_set_dir(fvm_jit_diskcache(j), dir);
}

int64_t fvm_jit_cache_size_bytes(fvm_jit *j)
{
    return j ? fvm_diskcache_size(fvm_jit_diskcache(j)) : -1;
}

void fvm_jit_set_cache_max_bytes(fvm_jit *j, int64_t max)
{
    if (j)
        fvm_diskcache_set_max_bytes(fvm_jit_diskcache(j), max);
}

uint64_t fvm_jit_cache_max_bytes(fvm_jit *j)
{
    return j ? fvm_diskcache_max_bytes(fvm_jit_diskcache(j)) : 0;
}

uint64_t fvm_jit_prune_cache(fvm_jit *j)
{
    return j ? fvm_diskcache_prune(fvm_jit_diskcache(j)) : 0;
}

size_t fvm_jit_clear_cache(fvm_jit *j)
{
    return j ? fvm_diskcache_clear(fvm_jit_diskcache(j)) : 0;
}
