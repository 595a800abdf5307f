/* Runs a `uvm` command in-process with stdout and stderr captured, and keeps
 * the temporary files such a test writes, for the unit tests that drive a
 * whole command (test_verify, test_idblock). */
#ifndef UVM_TEST_RUN_COMMAND_H
#define UVM_TEST_RUN_COMMAND_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "command.h"

/* One stable path per file name under dir (callers keep the pointers). */
static inline const char *tmp_path_in(const char *dir, const char *name)
{
	static char path[32][256];
	for (size_t i = 0; i < 32; i++) {
		if (path[i][0] == '\0')
			snprintf(path[i], sizeof path[i], "%s/%s", dir, name);
		const char *slash = strrchr(path[i], '/');
		if (slash && strcmp(slash + 1, name) == 0)
			return path[i];
	}
	abort(); /* more than 32 temporary files: raise the limit */
}

/* Writes a whole file or stops the test program (exit 2). */
static inline void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len) {
		perror(path);
		exit(2);
	}
	fclose(f);
}

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
