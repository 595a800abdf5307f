/* The child side shared by every spawn: clean signal state, stdio, no
 * leaked PID 1 descriptors, working directory, environment and exec. */
#include "runtime_child.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

pid_t rt_clone(unsigned long flags)
{
	/* x86-64 argument order: flags, stack, parent_tid, child_tid, tls. */
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
}

void rt_child_fail(int status_fd, const struct uvm_err *err)
{
	char msg[1 + UVM_ERR_MAX];
	msg[0] = RT_STATUS_ERROR;
	size_t n = strnlen(err->msg, UVM_ERR_MAX - 1);
	memcpy(msg + 1, err->msg, n);
	if (write(status_fd, msg, n + 1) < 0) {
		/* the agent is gone or gave up: nothing else to tell */
	}
	_exit(127);
}

int rt_child_basics(int stdio_fds[3], int keep_fd, struct uvm_err *err)
{
	sigset_t none;
	sigemptyset(&none);
	for (int s = 1; s < 32; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
		return uvm_fail(err, errno, "sigprocmask: %s", strerror(errno));
	for (int i = 0; i < 3; i++)
		if (dup2(stdio_fds[i], i) < 0)
			return uvm_fail(err, errno, "dup2 stdio %d: %s", i, strerror(errno));
	/* PID 1's descriptors (host channel, signalfd, other processes' pipes)
	 * must not reach the workload even if one lacks O_CLOEXEC. */
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
		return uvm_fail(err, errno, "close_range: %s", strerror(errno));
	(void)keep_fd; /* the status pipe is close-on-exec too: its EOF means "exec done" */
	return 0;
}

/* "NAME=value" of envp, or NULL. */
static const char *env_get(char **envp, const char *name)
{
	size_t n = strlen(name);
	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

static void try_path(const struct rt_spec *s, int *last_errno)
{
	const char *path = env_get(s->envp, "PATH");
	char buf[4096 + 256];
	if (!path)
		path = DEFAULT_PATH;
	while (*path) {
		size_t len = strcspn(path, ":");
		if (len > 0 && len < 4096 &&
		    snprintf(buf, sizeof buf, "%.*s/%s", (int)len, path, s->argv[0]) < (int)sizeof buf) {
			execve(buf, s->argv, s->envp);
			if (errno != ENOENT && errno != ENOTDIR)
				*last_errno = errno;
		}
		path += len + (path[len] == ':');
	}
}

int rt_child_exec(const struct rt_spec *s, struct uvm_err *err)
{
	if (chdir(s->cwd) != 0)
		return uvm_fail(err, errno, "working directory %s: %s", s->cwd, strerror(errno));
	if (strchr(s->argv[0], '/')) {
		execve(s->argv[0], s->argv, s->envp);
		return uvm_fail(err, errno, "exec %s: %s", s->argv[0], strerror(errno));
	}
	int last = ENOENT;
	try_path(s, &last);
	return uvm_fail(err, last, "exec %s (searched PATH): %s", s->argv[0], strerror(last));
}
