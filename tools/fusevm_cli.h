/* The fusevm command: what its source files share. */
#ifndef FVM_CLI_H
#define FVM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "fusevm.h"

/* Exit statuses. */
enum { FVM_EXIT_OK = 0, FVM_EXIT_RUNTIME = 1, FVM_EXIT_USAGE = 2, FVM_EXIT_INTERRUPTED = 130 };

/* A chunk from a file ("-" is standard input) in any format the command
 * reads, recognised by its content; NULL after printing the reasons to
 * stderr. */
fvm_chunk *fvm_cli_load(const char *path);

/* Write v with its type visible ("int 42", "str \"x\"", "array [int 1]"). */
void fvm_cli_print_value(FILE *out, fvm_value v);

/* The JIT side of 'run' (fusevm_jit.c). --dump=LIST ("ir", "asm", comma
 * separated) as FVM_JIT_DUMP_* bits; -1 after a message. */
int fvm_cli_parse_dump(const char *list, unsigned *kinds);
/* A JIT context that dumps the given kinds to stderr as chunks compile. */
fvm_jit *fvm_cli_jit_new(unsigned dump_kinds);
/* Run c through the linear tier: true with *r set when native code ran;
 * false (after a note on stderr if stats) when the interpreter must. */
bool fvm_cli_run_linear(fvm_jit *j, const fvm_chunk *c, bool stats, fvm_result *r);
/* The context's counters as one "fusevm: jit: ..." line on stderr. */
void fvm_cli_print_jit_stats(const fvm_jit *j);

#endif
