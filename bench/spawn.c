/* spawn: run one benchmark command and measure it, for bench/run.py.
 *
 *   spawn TIMEOUT_S RESULT_FILE COMMAND [ARG...]
 *
 * Runs COMMAND with this process's stdin, stdout and stderr, and writes
 * "STATUS MAXRSS_KIB SECONDS" to RESULT_FILE when it ends: STATUS is the exit
 * code, 128 + the signal number, or "timeout" after TIMEOUT_S seconds (the
 * command is then killed). SECONDS is the wall time from fork to exit.
 *
 * Why not measure from Python: Linux carries a process's peak RSS across
 * fork and exec, so a command forked by the Python runner reports at least
 * the runner's own ~17 MiB. Forked from this small process, it reports its
 * own peak. The time also leaves out Python's process start-up overhead. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t timed_out;
static volatile pid_t child;

static void on_alarm(int sig)
{
    (void)sig;
    timed_out = 1;
    kill(child, SIGKILL);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int arm_timeout(double seconds)
{
    struct sigaction sa = {.sa_handler = on_alarm};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGALRM, &sa, NULL) != 0)
        return -1;
    struct itimerval it = {.it_value = {.tv_sec = (time_t)seconds,
                                        .tv_usec = (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)}};
    return setitimer(ITIMER_REAL, &it, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: spawn TIMEOUT_S RESULT_FILE COMMAND [ARG...]\n");
        return 2;
    }
    FILE *result = fopen(argv[2], "w");
    if (!result) {
        perror(argv[2]);
        return 2;
    }
    double start = now();
    child = fork();
    if (child < 0) {
        perror("fork");
        return 2;
    }
    if (child == 0) {
        execvp(argv[3], argv + 3);
        perror(argv[3]);
        _exit(127);
    }
    if (arm_timeout(atof(argv[1])) != 0) {
        perror("setitimer");
        kill(child, SIGKILL);
    }
    int wstatus;
    struct rusage ru;
    while (wait4(child, &wstatus, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("wait4");
            return 2;
        }
    }
    double elapsed = now() - start;
    if (timed_out)
        fprintf(result, "timeout");
    else if (WIFSIGNALED(wstatus))
        fprintf(result, "%d", 128 + WTERMSIG(wstatus));
    else
        fprintf(result, "%d", WEXITSTATUS(wstatus));
    fprintf(result, " %ld %.9f\n", ru.ru_maxrss, elapsed);
    return fclose(result) == 0 ? 0 : 2;
}
