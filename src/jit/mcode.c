/* Executable memory (see mcode.h).
 *
 * Cost, and why an arena: page-table system calls dominate compile latency.
 * Measured on the development machine (a Firecracker VM, 2 vCPUs, heavily
 * loaded; 4 KiB pages; wall-clock, single thread): a bare system call
 * 1.2 us, mprotect that changes a written page ~80 us, the first write to
 * a fresh page ~35 us; one mapping per function (mmap, copy, mprotect to
 * read+execute, munmap) 220-290 us (~100 us of CPU time), while a commit
 * into this arena costs 137-157 us (~57 us CPU) for a 412-byte function.
 * Encoding that function (81 instructions) takes ~1.3 us of CPU, so the
 * arena is far over the ~10 us budget on this machine; kernels on bare
 * metal are much cheaper per call, but the system calls stay the largest
 * item, so callers should commit many functions per reservation where
 * they can (a chunk's functions together, a disk cache load in one go).
 *
 * A commit costs one mprotect, plus one more when the code starts on a page
 * that already holds committed code; an owner maps an area of AREA_SIZE
 * once and the first write to each of its pages faults once.
 *
 * Layout of the last area: [0, used) holds committed code, and its pages
 * (up to the page holding byte used - 1) are read+execute; every page after
 * is read+write and has never held committed code. A reservation starts at
 * used rounded up to 16, so at most its first page is executable and has
 * to be made writable. Older areas are never written again. */
#include "jit/mcode.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util.h"

/* Address space per area; pages are only backed once written. */
#define AREA_SIZE ((size_t)256 * 1024)
/* Function entries are aligned so that 16-byte constants placed at aligned
 * offsets inside a function's code (andpd/xorpd operands) stay aligned. */
#define CODE_ALIGN 16

typedef struct mcode_area {
    uint8_t *base;
    size_t size;
} mcode_area;

struct fvm_mcode {
    mcode_area *areas;
    size_t nareas, areas_cap;
    size_t used;     /* committed bytes at the start of the last area */
    size_t mapped;   /* sum of the area sizes */
    size_t max_bytes;
    size_t page;
    uint8_t *open;   /* the open reservation, or NULL */
    size_t open_len;
    bool open_flipped; /* its first page was executable and made writable */
    bool broken;     /* a protection change failed: refuse all further work */
};

static size_t round_up(size_t n, size_t align)
{
    return (n + align - 1) & ~(align - 1);
}

fvm_mcode *fvm_mcode_new(size_t max_bytes)
{
    fvm_mcode *mc = fvm_xcalloc(1, sizeof *mc);
    long page = sysconf(_SC_PAGESIZE);
    mc->page = page > 0 ? (size_t)page : 4096;
    mc->max_bytes = max_bytes ? max_bytes : SIZE_MAX;
    return mc;
}

void fvm_mcode_free(fvm_mcode *mc)
{
    if (!mc)
        return;
    for (size_t i = 0; i < mc->nareas; i++)
        munmap(mc->areas[i].base, mc->areas[i].size);
    free(mc->areas);
    free(mc);
}

size_t fvm_mcode_mapped(const fvm_mcode *mc)
{
    return mc->mapped;
}

/* Map a fresh read+write area that can hold at least len bytes. */
static bool new_area(fvm_mcode *mc, size_t len)
{
    size_t size = round_up(len, mc->page);
    if (size < len || size > mc->max_bytes - mc->mapped)
        return false;
    size_t room = (mc->max_bytes - mc->mapped) / mc->page * mc->page;
    if (size < AREA_SIZE)
        size = room < AREA_SIZE ? room : AREA_SIZE;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return false;
    void *areas = mc->areas;
    fvm_grow(&areas, &mc->areas_cap, mc->nareas + 1, sizeof *mc->areas);
    mc->areas = areas;
    mc->areas[mc->nareas++] = (mcode_area){p, size};
    mc->mapped += size;
    mc->used = 0;
    return true;
}

static mcode_area *last_area(fvm_mcode *mc)
{
    return mc->nareas ? &mc->areas[mc->nareas - 1] : NULL;
}

void *fvm_mcode_reserve(fvm_mcode *mc, size_t len)
{
    if (mc->broken || mc->open || len == 0 || len > SIZE_MAX / 2)
        return NULL;
    mcode_area *a = last_area(mc);
    size_t start = round_up(mc->used, CODE_ALIGN);
    if (!a || start > a->size || a->size - start < len) {
        if (!new_area(mc, len))
            return NULL;
        a = last_area(mc);
        start = 0;
    }
    /* The page holding the end of the committed code is executable. */
    size_t first_page = start / mc->page * mc->page;
    bool flip = first_page < round_up(mc->used, mc->page);
    if (flip && mprotect(a->base + first_page, mc->page, PROT_READ | PROT_WRITE) != 0)
        return NULL;
    mc->open = a->base + start;
    mc->open_len = len;
    mc->open_flipped = flip;
    return mc->open;
}

void fvm_mcode_abort(fvm_mcode *mc)
{
    if (!mc->open)
        return;
    if (mc->open_flipped) {
        uint8_t *page = mc->open - (size_t)(uintptr_t)mc->open % mc->page;
        if (mprotect(page, mc->page, PROT_READ | PROT_EXEC) != 0)
            mc->broken = true;
    }
    mc->open = NULL;
}

void *fvm_mcode_commit(fvm_mcode *mc, size_t len)
{
    if (!mc->open)
        return NULL;
    if (len == 0 || len > mc->open_len) {
        fvm_mcode_abort(mc);
        return NULL;
    }
    mcode_area *a = last_area(mc);
    size_t start = (size_t)(mc->open - a->base);
    size_t from = start / mc->page * mc->page;
    size_t to = round_up(start + len, mc->page);
    mc->open = NULL;
    /* Fails only if the kernel cannot split the mapping; the pages may then
     * be left writable and not executable, so stop using this memory. */
    if (mprotect(a->base + from, to - from, PROT_READ | PROT_EXEC) != 0) {
        mc->broken = true;
        return NULL;
    }
    mc->used = start + len;
    return a->base + start;
}

void *fvm_mcode_add(fvm_mcode *mc, const void *code, size_t len)
{
    void *p = fvm_mcode_reserve(mc, len);
    if (!p)
        return NULL;
    memcpy(p, code, len);
    return fvm_mcode_commit(mc, len);
}
