/* Runs a `uvm` command in-process with stdout and stderr captured, for the
 * unit tests that drive a whole command (test_verify, test_idblock). */
#ifndef UVM_TEST_RUN_COMMAND_H
#define UVM_TEST_RUN_COMMAND_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "command.h"

/* argv is cmd->name then the NULL-terminated arguments of ap; the output
 * lands in out (NUL-terminated), through the file capture_path. */
static inline int run_command_v(const struct uvm_command *cmd, const char *capture_path, char *out, size_t size,
				const char *first, va_list ap)
{
	char *argv[64];
	int argc = 0;
	argv[argc++] = (char *)cmd->name;
	for (const char *a = first; a && argc < 63; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	int saved_out = dup(1), saved_err = dup(2);
	int fd = open(capture_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 1);
	dup2(fd, 2);
	int rc = cmd->run(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	ssize_t n = pread(fd, out, size - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	return rc;
}

#endif
