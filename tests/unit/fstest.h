/* File-system helpers for the tests of the JIT disk cache
 * (test_jit_diskcache.c, test_jit_persist.c): private temporary
 * directories, whole-file reads and writes, counting the entries of a
 * directory, and saving the environment variables the cache reads. */
#ifndef FVM_TEST_FSTEST_H
#define FVM_TEST_FSTEST_H

#include <stddef.h>
#include <stdint.h>

/* A fresh private directory (mkdtemp under /tmp, named after tag); and
 * removing it with everything in it (made writable first), then freeing
 * the name. */
char *fst_tmp_dir(const char *tag);
void fst_rm_rf(const char *dir);
void fst_drop_dir(char *dir);
/* dir/name, malloc'd. */
char *fst_path_in(const char *dir, const char *name);
/* Entries of dir (but . and ..) whose names end with suffix (NULL: all). */
size_t fst_count_files(const char *dir, const char *suffix);
/* A whole file, malloc'd; replacing a file's content (keeping its owner
 * and mode). Both assert on failure. */
uint8_t *fst_read_file(const char *path, size_t *len);
void fst_write_file(const char *path, const void *bytes, size_t len);
/* Set or (value NULL) unset an environment variable. */
void fst_set_env(const char *name, const char *value);
/* Save and restore the variables the disk cache reads
 * (FUSEVM_JIT_CACHE_DIR, FUSEVM_JIT_CACHE_MAX_BYTES, XDG_CACHE_HOME, HOME,
 * TMPDIR): a suite's init and fini. */
void fst_save_env(void);
void fst_restore_env(void);

#endif
