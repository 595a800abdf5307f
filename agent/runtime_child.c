/* The child side shared by every spawn: clean signal state, stdio, no
 * leaked PID 1 descriptors, working directory, environment and exec. */
#include "runtime_child.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

pid_t rt_clone(unsigned long flags)
{
	/* x86-64 argument order: flags, stack, parent_tid, child_tid, tls. */
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
}

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

/* struct clone_args of <linux/sched.h> (CLONE_ARGS_SIZE_VER2). */
struct rt_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
		cgroup;
};

pid_t rt_clone_into(unsigned long flags, int cgroup_fd)
{
	struct rt_clone_args a;
	memset(&a, 0, sizeof a);
	a.flags = flags | CLONE_INTO_CGROUP;
	/* clone3 refuses an exit signal with CLONE_PARENT: the child then
	 * signals its new parent (PID 1) with the caller's own, SIGCHLD. */
	a.exit_signal = flags & CLONE_PARENT ? 0 : SIGCHLD;
	a.cgroup = (uint64_t)cgroup_fd;
	return (pid_t)syscall(SYS_clone3, &a, sizeof a);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int rt_close_all_except(const int *keep, size_t nkeep, struct uvm_err *err)
{
	int k[RT_KEEP_MAX];
	size_t n = 0;
	if (nkeep > RT_KEEP_MAX)
		return uvm_fail(err, E2BIG, "close_all_except: at most %d descriptors can be kept", RT_KEEP_MAX);
	for (size_t i = 0; i < nkeep; i++)
		if (keep[i] >= 0)
			k[n++] = keep[i];
	qsort(k, n, sizeof k[0], cmp_int);
	unsigned lo = 0;
	for (size_t i = 0; i <= n; i++) {
		unsigned hi = i < n ? (unsigned)k[i] : ~0U;
		if (hi > lo && syscall(SYS_close_range, lo, hi - 1, 0) != 0)
			return uvm_fail(err, errno, "close_range(%u, %u): %s", lo, hi - 1, strerror(errno));
		lo = hi + 1;
		if (hi == ~0U)
			break;
	}
	return 0;
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

int rt_child_basics(int stdio_fds[3], const int *keep, size_t nkeep, struct uvm_err *err)
{
	sigset_t none;
	int kept[RT_KEEP_MAX] = {0, 1, 2};
	/* Inherited from PID 1 already; said again because it is what keeps a
	 * workload from ptracing or pidfd_getfd-ing this child before execve. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return uvm_fail(err, errno, "PR_SET_DUMPABLE: %s", strerror(errno));
	sigemptyset(&none);
	for (int s = 1; s < 32; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
		return uvm_fail(err, errno, "sigprocmask: %s", strerror(errno));
	for (int i = 0; i < 3; i++)
		if (dup2(stdio_fds[i], i) < 0)
			return uvm_fail(err, errno, "dup2 stdio %d: %s", i, strerror(errno));
	/* PID 1's descriptors (host channel, signalfd, /dev/kmsg, other
	 * processes' pipes) are closed, not only marked close-on-exec: until
	 * execve this child is already visible inside the container. */
	if (nkeep > RT_KEEP_MAX - 3)
		return uvm_fail(err, E2BIG, "at most %d descriptors besides stdio can be kept", RT_KEEP_MAX - 3);
	memcpy(kept + 3, keep, nkeep * sizeof *keep);
	return rt_close_all_except(kept, nkeep + 3, err);
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
