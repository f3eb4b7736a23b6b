/* Process identity (see procid.h).
 *
 * The epoch lives on a page marked MADV_WIPEONFORK, which the kernel gives
 * a forked child zeroed however the child was made (fork, clone, a raw
 * system call; pthread_atfork handlers would miss the last). A process that
 * finds the word zero sets it from a counter kept in ordinary memory, which
 * a child inherits: so a child's epoch is always newer than any its parent
 * handed out. Where the kernel lacks MADV_WIPEONFORK (before Linux 4.14)
 * the epoch is the process id itself. */
#include "jit/procid.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>

static _Atomic(uint64_t) *epoch_word; /* the wiped page; NULL: unavailable */
static _Atomic(uint64_t) epoch_next;  /* the last epoch handed out */
static pthread_once_t epoch_once = PTHREAD_ONCE_INIT;

static void map_epoch_page(void)
{
#ifdef MADV_WIPEONFORK
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED && madvise(p, 4096, MADV_WIPEONFORK) != 0) {
        munmap(p, 4096);
        p = MAP_FAILED;
    }
    epoch_word = p == MAP_FAILED ? NULL : p;
#endif
}

uint64_t fvm_process_epoch(void)
{
    pthread_once(&epoch_once, map_epoch_page);
    if (!epoch_word)
        return (uint64_t)getpid();
    uint64_t e = atomic_load_explicit(epoch_word, memory_order_acquire);
    if (e == 0) {
        uint64_t fresh = atomic_fetch_add(&epoch_next, 1) + 1;
        /* Another thread of this process may have set it first: use its. */
        if (atomic_compare_exchange_strong(epoch_word, &e, fresh))
            e = fresh;
    }
    return e;
}

/* The pid, valid while pid_epoch is the current epoch. The pid is stored
 * before its epoch (release), and read after it (acquire). */
static _Atomic(pid_t) pid;
static _Atomic(uint64_t) pid_epoch;

pid_t fvm_process_id(void)
{
    uint64_t e = fvm_process_epoch();
    if (atomic_load_explicit(&pid_epoch, memory_order_acquire) == e)
        return atomic_load_explicit(&pid, memory_order_relaxed);
    pid_t p = getpid();
    atomic_store_explicit(&pid, p, memory_order_relaxed);
    atomic_store_explicit(&pid_epoch, e, memory_order_release);
    return p;
}
