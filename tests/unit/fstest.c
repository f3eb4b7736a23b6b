/* File-system helpers for the disk cache tests (see fstest.h). */
#include "fstest.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void fst_rm_rf(const char *dir)
{
    chmod(dir, 0700);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *fst_tmp_dir(const char *tag)
{
    char *d;
    cr_assert_geq(asprintf(&d, "/tmp/fvm_%s_XXXXXX", tag), 0);
    cr_assert_not_null(mkdtemp(d));
    return d;
}

void fst_drop_dir(char *dir)
{
    fst_rm_rf(dir);
    free(dir);
}

char *fst_path_in(const char *dir, const char *name)
{
    char *p;
    cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

size_t fst_count_files(const char *dir, const char *suffix)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return 0;
    size_t n = 0, m = suffix ? strlen(suffix) : 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        size_t len = strlen(e->d_name);
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n += !suffix || (len >= m && strcmp(e->d_name + len - m, suffix) == 0);
    }
    closedir(dp);
    return n;
}

uint8_t *fst_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*len ? *len : 1);
    cr_assert_eq(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

void fst_write_file(const char *path, const void *bytes, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, bytes, len), (ssize_t)len);
    close(fd);
}

void fst_set_env(const char *name, const char *value)
{
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
}

static const char *const env_names[] = {"FUSEVM_JIT_CACHE_DIR", "FUSEVM_JIT_CACHE_MAX_BYTES",
                                        "XDG_CACHE_HOME", "HOME", "TMPDIR"};
#define NENV (sizeof env_names / sizeof env_names[0])
static char *saved_env[NENV];

void fst_save_env(void)
{
    for (size_t i = 0; i < NENV; i++) {
        const char *v = getenv(env_names[i]);
        saved_env[i] = v ? strdup(v) : NULL;
    }
}

void fst_restore_env(void)
{
    for (size_t i = 0; i < NENV; i++) {
        fst_set_env(env_names[i], saved_env[i]);
        free(saved_env[i]);
        saved_env[i] = NULL;
    }
}
