/* Who this process is, without a system call per question. The code
 * memory and the disk cache ask on every add and every store (to notice a
 * fork, and to name temporary files); getpid() is a system call, and a
 * system call costs about a microsecond on a virtual machine that traps
 * them, a tenth of a disk-cache load. */
#ifndef FVM_PROCID_H
#define FVM_PROCID_H

#include <stdint.h>
#include <sys/types.h>

/* A value that differs between a process and every process forked from
 * it, however the child was made. Compare two reads to learn whether a
 * fork happened in between. */
uint64_t fvm_process_epoch(void);
/* getpid(), asked of the kernel again only after a fork. */
pid_t fvm_process_id(void);

#endif
