/* Executable memory (see mcode.h).
 *
 * Cost, and the layout that follows from it. Page-table changes dominate
 * compile latency. Measured on the development machine (a Firecracker VM
 * with paravirtualised page tables, 2 vCPUs, 4 KiB pages, wall clock,
 * medians of 61-101 runs, machine idle; docs/ARCHITECTURE.md, "Code
 * memory", has the whole table):
 *
 *     bare system call                               1.0 us
 *     mprotect of a page with no PTE yet             1.4 us
 *     mprotect that changes a present PTE            5.3-5.8 us per page
 *     first write to a fresh page (page fault)       9.5 us
 *     MADV_POPULATE_WRITE of 16 pages                6.5 us (0.4 us a page)
 *     mmap of 256 KiB (untouched)                    1.7 us
 *
 * (With the other vCPU busy, an mprotect that removes write permission,
 * which flushes the TLB, takes 40-48 us, and a fault up to 58 us.) So the
 * cost of a commit is the number of PTEs whose protection changes, plus a
 * fault for every page written for the first time. Appending to a page
 * that already holds executable code takes two changes (to read+write and
 * back); starting on a fresh page takes one. Hence:
 *
 *  - each reservation starts on a page that has never been executable, so
 *    a commit is one mprotect over the new code's pages and committed code
 *    is never made writable again (another thread may run it meanwhile);
 *  - pages are pre-faulted in batches (MADV_POPULATE_WRITE, 16 pages at a
 *    time, ahead of the reservations), so no commit takes a page fault;
 *  - only when the code_max_bytes limit leaves no fresh page does a
 *    reservation pack into the tail of the last committed page, which is
 *    made writable until the commit or abort (as mcode.h warns).
 *
 * The price is memory: a function added alone occupies whole pages.
 * Callers that compile several functions together put them in one
 * reservation, which shares pages and costs one mprotect for all.
 *
 * Layout of the last area: [0, used) holds committed code, and its pages
 * (up to the page holding byte used - 1) are read+execute; every page after
 * is read+write and has never held committed code; [0, populated) has been
 * pre-faulted. Older areas are never written again. */
#include "jit/mcode.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util.h"

/* Address space per area; pages are backed as they are pre-faulted. */
#define AREA_SIZE ((size_t)256 * 1024)
/* Pages pre-faulted at a time: one call per 16 pages costs 0.4 us a page,
 * a single page 2.1 us (a fault 9.5 us). */
#define POPULATE_PAGES 16
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
    size_t populated; /* pre-faulted bytes at the start of the last area */
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
    mc->used = mc->populated = 0;
    return true;
}

static mcode_area *last_area(fvm_mcode *mc)
{
    return mc->nareas ? &mc->areas[mc->nareas - 1] : NULL;
}

/* Pre-fault the last area's pages up to byte end (and a batch beyond), so
 * that writing the code takes no page faults. A kernel without
 * MADV_POPULATE_WRITE (before Linux 5.14) refuses, and the pages then
 * fault in as they are written. */
static void populate(fvm_mcode *mc, mcode_area *a, size_t end)
{
    if (end <= mc->populated)
        return;
    size_t batch = mc->populated + POPULATE_PAGES * mc->page;
    size_t to = round_up(end > batch ? end : batch, mc->page);
    if (to > a->size)
        to = a->size;
#ifdef MADV_POPULATE_WRITE
    madvise(a->base + mc->populated, to - mc->populated, MADV_POPULATE_WRITE);
#endif
    mc->populated = to;
}

/* Where a reservation of len bytes starts in the last area (mapping a new
 * one if need be): the first page after the committed code, or, when the
 * limit leaves no such page, the tail of the last committed page (*flip:
 * that page is executable). SIZE_MAX if nothing fits. */
static size_t place(fvm_mcode *mc, size_t len, bool *flip)
{
    mcode_area *a = last_area(mc);
    size_t fresh = round_up(mc->used, mc->page);
    *flip = false;
    if (a && fresh <= a->size && a->size - fresh >= len)
        return fresh;
    if (new_area(mc, len))
        return 0;
    size_t tail = round_up(mc->used, CODE_ALIGN);
    if (!a || tail > a->size || a->size - tail < len)
        return SIZE_MAX;
    *flip = tail < fresh;
    return tail;
}

void *fvm_mcode_reserve(fvm_mcode *mc, size_t len)
{
    if (mc->broken || mc->open || len == 0 || len > SIZE_MAX / 2)
        return NULL;
    bool flip;
    size_t start = place(mc, len, &flip);
    if (start == SIZE_MAX)
        return NULL;
    mcode_area *a = last_area(mc);
    size_t first_page = start / mc->page * mc->page;
    if (flip && mprotect(a->base + first_page, mc->page, PROT_READ | PROT_WRITE) != 0)
        return NULL;
    populate(mc, a, start + len);
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
