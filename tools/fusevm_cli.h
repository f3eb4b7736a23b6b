/* The fusevm command: what its source files share. */
#ifndef FVM_CLI_H
#define FVM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "fusevm.h"

/* Exit statuses. */
enum { FVM_EXIT_OK = 0, FVM_EXIT_RUNTIME = 1, FVM_EXIT_USAGE = 2 };

/* A chunk from a file ("-" is standard input) in any format the command
 * reads, recognised by its content; NULL after printing the reasons to
 * stderr. */
fvm_chunk *fvm_cli_load(const char *path);

/* Write v with its type visible ("int 42", "str \"x\"", "array [int 1]"). */
void fvm_cli_print_value(FILE *out, fvm_value v);

#endif
