/* Executable memory (see mcode.h).
 *
 * Two ways to get code into executable pages, chosen per fvm_mcode:
 *
 *  - File-backed (the default): an anonymous memory file (memfd_create)
 *    mapped read+execute and shared, and nothing else. fvm_mcode_add
 *    writes the code with pwrite, so the kernel copies it into the page
 *    cache behind the mapping: no page of this process is ever writable
 *    and executable, or writable at all, and no page table entry changes,
 *    so adding code costs one system call and never a TLB flush. Functions
 *    pack tightly (16-byte aligned) into 256 KiB areas, each a slice of the
 *    file mapped once.
 *  - Anonymous (when the system refuses an executable mapping of a memory
 *    file, e.g. vm.memfd_noexec, or fvm_mcode_new_anonymous): each add
 *    takes fresh, pre-faulted read+write pages, copies, then mprotects them
 *    read+execute; committed pages are never made writable again.
 *
 * Why: measured on the development machine (a Firecracker VM, 2 vCPUs,
 * docs/ARCHITECTURE.md "Code memory"), an mprotect that removes write
 * permission costs 5.5 us with the other vCPU idle and 41-48 us when it is
 * busy (the TLB flush interrupts it); pwrite into the file costs about
 * 1.5 us either way.
 *
 * fork: the child shares the parent's memory file. Code already added
 * stays valid in both (it is never rewritten), but both adding at the same
 * offsets would overwrite each other's code, so a process that finds
 * itself not the file's owner leaves the shared file and starts a file of
 * its own for what it adds. Ownership is the process epoch (procid.h),
 * compared on every add without a system call.
 *
 * Either way the new code's executable address then goes to the backend's
 * fvm_backend_sync_icache, for CPUs whose instruction fetch does not see
 * data writes by itself (a no-op on x86-64). */
#include "jit/mcode.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "jit/backend.h"
#include "jit/procid.h"
#include "util.h"

/* Address space per area. */
#define AREA_SIZE ((size_t)256 * 1024)
/* Anonymous pages pre-faulted at a time: one call per 16 pages costs 0.4
 * us a page, a single page 2.1 us (a fault 9.5 us). */
#define POPULATE_PAGES 16
/* Function entries are aligned so that 16-byte constants placed at aligned
 * offsets inside a function's code (andpd/xorpd operands) stay aligned. */
#define CODE_ALIGN 16

typedef struct mcode_area {
    uint8_t *base;
    size_t size;
    off_t offset; /* file-backed: where the area starts in the file */
} mcode_area;

struct fvm_mcode {
    mcode_area *areas;
    size_t nareas, areas_cap;
    size_t used;      /* bytes in use at the start of the last area */
    size_t populated; /* anonymous: pre-faulted bytes of the last area */
    size_t mapped;    /* sum of the area sizes */
    size_t max_bytes;
    size_t page;
    bool anonymous;   /* the mprotect way (the system refused the other) */
    int fd;           /* file-backed: the memory file, or -1 before the first */
    off_t file_size;  /* file-backed: bytes of the file mapped so far */
    uint64_t owner;   /* file-backed: fvm_process_epoch() of the process writing the file */
    bool broken;      /* a protection change failed: refuse all further work */
};

static size_t round_up(size_t n, size_t align)
{
    return (n + align - 1) & ~(align - 1);
}

static fvm_mcode *mcode_new(size_t max_bytes, bool anonymous)
{
    fvm_mcode *mc = fvm_xcalloc(1, sizeof *mc);
    long page = sysconf(_SC_PAGESIZE);
    mc->page = page > 0 ? (size_t)page : 4096;
    mc->max_bytes = max_bytes ? max_bytes : SIZE_MAX;
    mc->anonymous = anonymous;
    mc->fd = -1;
    return mc;
}

fvm_mcode *fvm_mcode_new(size_t max_bytes) { return mcode_new(max_bytes, false); }

fvm_mcode *fvm_mcode_new_anonymous(size_t max_bytes) { return mcode_new(max_bytes, true); }

void fvm_mcode_free(fvm_mcode *mc)
{
    if (!mc)
        return;
    for (size_t i = 0; i < mc->nareas; i++)
        munmap(mc->areas[i].base, mc->areas[i].size);
    if (mc->fd >= 0)
        close(mc->fd);
    free(mc->areas);
    free(mc);
}

size_t fvm_mcode_mapped(const fvm_mcode *mc)
{
    return mc->mapped;
}

/* The size of a new area for len bytes within the limit, or 0. */
static size_t area_size(const fvm_mcode *mc, size_t len)
{
    size_t size = round_up(len, mc->page);
    if (size < len || size > mc->max_bytes - mc->mapped)
        return 0;
    size_t room = (mc->max_bytes - mc->mapped) / mc->page * mc->page;
    if (size < AREA_SIZE)
        size = room < AREA_SIZE ? room : AREA_SIZE;
    return size;
}

static void add_area(fvm_mcode *mc, void *base, size_t size, off_t offset)
{
    void *areas = mc->areas;
    fvm_grow(&areas, &mc->areas_cap, mc->nareas + 1, sizeof *mc->areas);
    mc->areas = areas;
    mc->areas[mc->nareas++] = (mcode_area){base, size, offset};
    mc->mapped += size;
    mc->used = mc->populated = 0;
}

/* Leave the memory file (after a fork, or when it cannot be mapped):
 * its areas stay mapped for the code in them, new code goes elsewhere. */
static void leave_file(fvm_mcode *mc)
{
    close(mc->fd);
    mc->fd = -1;
    mc->file_size = 0;
    mc->used = SIZE_MAX; /* the last area takes no more code */
}

/* Map a new read+execute slice of the memory file (creating the file
 * first). False if the limit is reached; switches mc to the anonymous way
 * when the system refuses the file or its executable mapping. */
static bool new_file_area(fvm_mcode *mc, size_t len)
{
    size_t size = area_size(mc, len);
    if (!size)
        return false;
    if (mc->fd < 0) {
        mc->fd = memfd_create("fusevm-jit", MFD_CLOEXEC);
        mc->owner = fvm_process_epoch();
        if (mc->fd < 0) {
            mc->anonymous = true;
            return false;
        }
    }
    off_t offset = mc->file_size;
    void *p = MAP_FAILED;
    if (ftruncate(mc->fd, offset + (off_t)size) == 0)
        p = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, mc->fd, offset);
    if (p == MAP_FAILED) {
        leave_file(mc);
        mc->anonymous = true;
        return false;
    }
    mc->file_size = offset + (off_t)size;
    add_area(mc, p, size, offset);
    return true;
}

static void *add_to_file(fvm_mcode *mc, const void *code, size_t len)
{
    if (mc->fd >= 0 && mc->owner != fvm_process_epoch())
        leave_file(mc); /* a forked child: the file is the parent's */
    mcode_area *a = mc->nareas ? &mc->areas[mc->nareas - 1] : NULL;
    size_t start = mc->used == SIZE_MAX ? SIZE_MAX : round_up(mc->used, CODE_ALIGN);
    if (mc->fd < 0 || !a || start > a->size || a->size - start < len) {
        if (!new_file_area(mc, len))
            return NULL;
        a = &mc->areas[mc->nareas - 1];
        start = 0;
    }
    const uint8_t *p = code;
    for (size_t done = 0; done < len;) {
        ssize_t w = pwrite(mc->fd, p + done, len - done, a->offset + (off_t)(start + done));
        if (w <= 0) {
            mc->broken = true; /* the file is in an unknown state */
            return NULL;
        }
        done += (size_t)w;
    }
    mc->used = start + len;
    return a->base + start;
}

/* Anonymous: len bytes on fresh pages (pre-faulted, so writing the code
 * takes no page faults), copied, then made read+execute. */
static void *add_anonymous(fvm_mcode *mc, const void *code, size_t len)
{
    mcode_area *a = mc->nareas ? &mc->areas[mc->nareas - 1] : NULL;
    size_t start = mc->used == SIZE_MAX ? SIZE_MAX : round_up(mc->used, mc->page);
    if (!a || a->offset >= 0 || start > a->size || a->size - start < len) {
        size_t size = area_size(mc, len);
        void *p = size ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                       : MAP_FAILED;
        if (p == MAP_FAILED)
            return NULL;
        add_area(mc, p, size, -1);
        a = &mc->areas[mc->nareas - 1];
        start = 0;
    }
    size_t end = round_up(start + len, mc->page);
    if (end > mc->populated) {
        size_t to = mc->populated + POPULATE_PAGES * mc->page;
        to = to < end ? end : to > a->size ? a->size : to;
#ifdef MADV_POPULATE_WRITE
        madvise(a->base + mc->populated, to - mc->populated, MADV_POPULATE_WRITE);
#endif
        mc->populated = to;
    }
    memcpy(a->base + start, code, len);
    /* Fails only if the kernel cannot split the mapping; the pages may then
     * be left writable and not executable, so stop using this memory. */
    if (mprotect(a->base + start, end - start, PROT_READ | PROT_EXEC) != 0) {
        mc->broken = true;
        return NULL;
    }
    mc->used = start + len;
    return a->base + start;
}

void *fvm_mcode_add(fvm_mcode *mc, const void *code, size_t len)
{
    if (!mc || mc->broken || len == 0 || len > SIZE_MAX / 2)
        return NULL;
    void *p = NULL;
    if (!mc->anonymous)
        p = add_to_file(mc, code, len);
    if (!p && mc->anonymous) /* from the start, or the file way just failed */
        p = add_anonymous(mc, code, len);
    if (p) /* instruction fetch may not see the new bytes yet (backend.h) */
        fvm_backend_sync_icache(p, len);
    return p;
}
