/* The persistent native-code cache (docs/ARCHITECTURE.md, "Disk cache"):
 * machine code of compiled functions, stored as files that a later process
 * loads instead of compiling again. The blob format is in docs/FORMAT.md
 * and beside the reader in diskcache.c.
 *
 * One fvm_diskcache belongs to one JIT context and holds its settings (the
 * directory and size cap, each an explicit value or resolved from the
 * environment on every use), a running estimate of the directory's size,
 * and counters. Several processes may share a directory: files are written
 * to a private temporary name and renamed into place, so a reader sees a
 * whole blob or none.
 *
 * A tier uses it around its compile:
 *
 *     void *entry = fvm_diskcache_load(d, mc, &key, &meta, &info);
 *     if (!entry) {
 *         ... compile into a buffer, commit it as usual ...
 *         fvm_diskcache_store(d, &key, &blob);   best effort, result optional
 *     }
 *
 * Loading native code is running it: every byte is verified (structure,
 * fingerprint, key, checksum, relocations) before it becomes executable,
 * and files that another user could have written are refused. */
#ifndef FVM_DISKCACHE_H
#define FVM_DISKCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fusevm.h"
#include "jit/mcode.h"
#include "jit/backend.h"
#include "util.h"

/* The version of the code the tiers generate and of the metadata they
 * store beside it. It is part of every blob's fingerprint: change it
 * whenever the same chunk and key could compile to code or metadata that
 * means something different (a new calling convention, a changed slot
 * layout, a helper whose contract changed), so old blobs become misses. */
#define FVM_JIT_CODEGEN_VERSION 4u

/* The default size cap: 256 MiB, upstream's. */
#define FVM_DISKCACHE_DEFAULT_MAX ((uint64_t)256 << 20)

typedef struct fvm_diskcache fvm_diskcache;

/* What names a blob. The file name is built from tier, op_hash and subkey;
 * verify is a second word the loader must find equal (the block tier
 * stores its slot-kinds hash there, the trace tier its recording's hash),
 * so a file reached under the right name but built for something else is
 * a miss. */
typedef struct fvm_diskcache_key {
    fvm_jit_tier tier;
    uint64_t op_hash, subkey, verify;
} fvm_diskcache_key;

/* A compiled function as a tier hands it over to be stored. */
typedef struct fvm_diskcache_code {
    const uint8_t *code;          /* the code as the encoder produced it */
    size_t code_len;              /* 1 .. FVM_CODE_MAX */
    uint32_t entry;               /* offset of the function entry, < code_len */
    const fvm_code_reloc *relocs; /* helper addresses, ascending offsets */
    size_t nrelocs;
    uint32_t cpu_features;        /* the backend's CPU feature bits the code may rely on */
    uint32_t flags;               /* the tier's own bits, returned on load */
    const void *meta;             /* the tier's metadata, returned on load */
    size_t meta_len;
} fvm_diskcache_code;

/* What fvm_diskcache_load reports beside the entry address. */
typedef struct fvm_diskcache_loaded {
    void *code;      /* start of the executable copy (entry - entry offset) */
    size_t code_len;
    uint32_t flags;
} fvm_diskcache_loaded;

/* Counters since the cache object was created. A miss found no file (or
 * caching is off); a rejection found one and refused it. scans counts
 * passes over the directory that could prune (on demand or after writes),
 * prunes those that deleted files. */
typedef struct fvm_diskcache_counts {
    uint64_t hits, misses, rejected, stores, store_failures, scans, prunes;
} fvm_diskcache_counts;

fvm_diskcache *fvm_diskcache_new(void);
void fvm_diskcache_free(fvm_diskcache *d);

/* ---- settings ------------------------------------------------------------- */

/* dir NULL: resolve from the environment again (FUSEVM_JIT_CACHE_DIR, then
 * $XDG_CACHE_HOME/fusevm-jit, $HOME/.cache/fusevm-jit, <tmp>/fusevm-jit);
 * "" (FVM_JIT_CACHE_OFF): caching off; anything else: that directory. */
void fvm_diskcache_set_dir(fvm_diskcache *d, const char *dir);
/* The directory in use now, or NULL when caching is off. The string
 * stays valid until the directory d resolves to changes (a setting or the
 * environment) or d is freed. */
const char *fvm_diskcache_dir(fvm_diskcache *d);
/* max < 0: resolve from FUSEVM_JIT_CACHE_MAX_BYTES again, else the
 * default; 0: no cap; otherwise the cap in bytes. */
void fvm_diskcache_set_max_bytes(fvm_diskcache *d, int64_t max);
/* The cap in force now; 0 means none. */
uint64_t fvm_diskcache_max_bytes(const fvm_diskcache *d);
/* A size as FUSEVM_JIT_CACHE_MAX_BYTES spells it: a decimal number with an
 * optional k/m/g suffix (binary units, any case, saturating), or 0, off,
 * none, unlimited for no cap (0), whitespace around it allowed. False, *out
 * untouched, if s is none of these ("1.5g", "", "garbage"). */
bool fvm_diskcache_parse_size(const char *s, uint64_t *out);

/* ---- the blobs ------------------------------------------------------------ */

/* Write c under key k (replacing any blob there) and return true once it
 * is in place. False, with nothing left behind, if caching is off, the
 * blob is malformed (a relocation outside the code or naming an unknown
 * helper, relocations not ascending, an entry outside the code), or any
 * file operation fails. Never fails the caller's compile: ignore the
 * result or count it. May prune the directory afterwards. */
bool fvm_diskcache_store(fvm_diskcache *d, const fvm_diskcache_key *k,
                         const fvm_diskcache_code *c);
/* The blob stored under k, verified, copied into mc's executable memory
 * and patched with this process's helper addresses: its entry address, or
 * NULL (a miss: no file, caching off, or the file was refused; the caller
 * compiles and stores over it). On success the tier's metadata is appended
 * to *meta (if meta is not NULL) and *out (if not NULL) describes the code.
 * On a miss neither is touched. */
void *fvm_diskcache_load(fvm_diskcache *d, fvm_mcode *mc, const fvm_diskcache_key *k,
                         fvm_buf *meta, fvm_diskcache_loaded *out);

/* ---- management ----------------------------------------------------------- */

/* Bytes in the directory's *.fjit files; -1 when caching is off. */
int64_t fvm_diskcache_size(fvm_diskcache *d);
/* When the *.fjit files exceed the cap, delete the oldest (by modification
 * time) until they fit in 80% of it; returns the bytes deleted (0 when off,
 * uncapped or under the cap). Also removes temporaries a crashed writer
 * left (not counted). */
uint64_t fvm_diskcache_prune(fvm_diskcache *d);
/* Delete every *.fjit file (and stale temporaries); returns how many
 * *.fjit files went. Other files are never touched. */
size_t fvm_diskcache_clear(fvm_diskcache *d);

void fvm_diskcache_counts_get(const fvm_diskcache *d, fvm_diskcache_counts *out);
/* Why the most recent rejected blob was refused (a static string), or NULL
 * if none was. */
const char *fvm_diskcache_last_reject(const fvm_diskcache *d);

/* What the loader checks files against: the user that must own the
 * directory and files, and the CPU features this process may run (a blob
 * whose code relies on a feature outside them is refused). Default
 * geteuid() and fvm_backend_cpu_features(); tests change them to play
 * another user or a narrower CPU. */
void fvm_diskcache_set_host(fvm_diskcache *d, uid_t owner, uint32_t cpu_features);

#endif
