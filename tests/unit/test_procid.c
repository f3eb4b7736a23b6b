/* Process identity: the epoch that tells a process from its forked
 * children, and the pid remembered between forks. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jit/procid.h"

/* Run child() in a process made by make (0: fork(), 1: the raw system
 * call, which runs no pthread_atfork handlers); its exit status. */
static int in_child(int make, int (*child)(uint64_t parent_epoch), uint64_t parent_epoch)
{
    fflush(NULL);
    pid_t pid = make ? (pid_t)syscall(SYS_fork) : fork();
    cr_assert_neq(pid, -1);
    if (pid == 0)
        _exit(child(parent_epoch));
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* 0 if this process has an epoch of its own, stable, and its true pid. */
static int child_is_itself(uint64_t parent_epoch)
{
    uint64_t e = fvm_process_epoch();
    if (e == parent_epoch)
        return 1;
    if (fvm_process_epoch() != e)
        return 2;
    if (fvm_process_id() != getpid())
        return 3;
    return 0;
}

/* A grandchild differs from its parent (this child) too. */
static int grandchild_is_itself(uint64_t parent_epoch)
{
    int status = child_is_itself(parent_epoch);
    return status ? status : in_child(0, child_is_itself, fvm_process_epoch());
}

Test(procid, stable_within_a_process)
{
    uint64_t e = fvm_process_epoch();
    cr_assert_neq(e, 0);
    cr_assert_eq(fvm_process_epoch(), e);
    cr_assert_eq(fvm_process_id(), getpid());
    cr_assert_eq(fvm_process_id(), getpid());
}

Test(procid, a_forked_child_is_another_process)
{
    uint64_t e = fvm_process_epoch();
    fvm_process_id(); /* remembered before the fork: the child must not reuse it */
    for (int make = 0; make < 2; make++)
        cr_assert_eq(in_child(make, child_is_itself, e), 0, "child made by %s",
                     make ? "the raw fork system call" : "fork()");
    cr_assert_eq(in_child(0, grandchild_is_itself, e), 0);
    cr_assert_eq(fvm_process_epoch(), e, "forking changed the parent's epoch");
    cr_assert_eq(fvm_process_id(), getpid());
}
