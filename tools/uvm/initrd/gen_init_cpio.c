/* See gen_init_cpio.h. The list goes to the tool's stdin ("-") through an
 * anonymous temporary file, so nothing is left behind on any exit path. */
#include "gen_init_cpio.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

static int spawn_and_wait(const char *tool, char *const argv[], int in_fd, int out_fd, struct uvm_err *err)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status, rc;
	if (posix_spawn_file_actions_init(&fa))
		return uvm_fail(err, ENOMEM, "out of memory preparing %s", tool);
	rc = posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	if (rc == 0)
		rc = posix_spawn(&pid, tool, &fa, NULL, argv, NULL);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return uvm_fail(err, rc,
				"cannot run %s: %s (make builds it from the pinned kernel source next to uvm; or pass "
				"--gen-init-cpio PATH)",
				tool, strerror(rc));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return uvm_fail(err, errno, "waiting for %s failed: %s", tool, strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		return uvm_fail(err, EIO, "%s exited with status %d (its message is above)", tool, WEXITSTATUS(status));
	return uvm_fail(err, EIO, "%s was killed by signal %d", tool, WTERMSIG(status));
}

int gen_init_cpio_run(const char *tool, const struct cpio_list *list, uint32_t mtime, int out_fd, struct uvm_err *err)
{
	FILE *in = tmpfile();
	if (!in)
		return uvm_fail(err, errno, "cannot create a temporary file for gen_init_cpio's list: %s",
				strerror(errno));
	char mtime_arg[16];
	snprintf(mtime_arg, sizeof mtime_arg, "%u", (unsigned)mtime);
	char *const argv[] = {(char *)tool, "-t", mtime_arg, "-", NULL};
	int rc = cpio_list_write_gen(list, in, err);
	if (rc == 0 && fseek(in, 0, SEEK_SET))
		rc = uvm_fail(err, errno, "rewinding gen_init_cpio's list failed: %s", strerror(errno));
	if (rc == 0)
		rc = spawn_and_wait(tool, argv, fileno(in), out_fd, err);
	fclose(in);
	return rc;
}
