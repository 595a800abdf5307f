/* The agent side of spawning: pipes, clone, and a bounded wait for the
 * child's set-up report (status pipe, runtime_child.h). The agent never
 * waits on a child's exit here: exits reach the table through the reaper. */
#include "runtime_cgroup.h"
#include "runtime_child.h"
#include "runtime_table.h"

#include "file_util.h"
#include "monotonic.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CONTAINER_NS (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET)

struct spawn_io {
	int child[3];       /* the child's 0, 1, 2 */
	int in_w, out_r[2]; /* the agent's ends (stdio only) */
};

static void io_close_child(struct spawn_io *io)
{
	int a = io->child[0], b = io->child[1], c = io->child[2];
	rt_close(&io->child[0]);
	if (b != a)
		rt_close(&io->child[1]);
	if (c != a && c != b)
		rt_close(&io->child[2]);
}

static void io_close_all(struct spawn_io *io)
{
	io_close_child(io);
	rt_close(&io->in_w);
	rt_close(&io->out_r[0]);
	rt_close(&io->out_r[1]);
}

static int io_open(int stdio, struct spawn_io *io, struct uvm_err *err)
{
	io->child[0] = io->child[1] = io->child[2] = io->in_w = io->out_r[0] = io->out_r[1] = -1;
	if (!stdio) {
		int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return uvm_fail(err, errno, "open /dev/null: %s", strerror(errno));
		io->child[0] = io->child[1] = io->child[2] = fd;
		return 0;
	}
	int p[3][2];
	for (int i = 0; i < 3; i++) {
		if (pipe2(p[i], O_CLOEXEC) != 0) {
			while (i-- > 0) {
				close(p[i][0]);
				close(p[i][1]);
			}
			return uvm_fail(err, errno, "pipe: %s", strerror(errno));
		}
	}
	io->child[0] = p[0][0];
	io->in_w = p[0][1];
	for (int i = 1; i < 3; i++) {
		io->child[i] = p[i][1];
		io->out_r[i - 1] = p[i][0];
		fcntl(p[i][0], F_SETPIPE_SZ, (int)RT_PIPE_SIZE); /* best effort: the default 64 KiB also works */
	}
	fcntl(io->in_w, F_SETFL, O_NONBLOCK);
	fcntl(io->out_r[0], F_SETFL, O_NONBLOCK);
	fcntl(io->out_r[1], F_SETFL, O_NONBLOCK);
	return 0;
}

/* Reads up to len bytes, stopping at EOF; bounded by the deadline. */
static ssize_t read_bounded(int fd, void *buf, size_t len, long long deadline, int stop_after_first)
{
	size_t got = 0;
	while (got < len) {
		long long left = deadline - uvm_monotonic_ms();
		struct pollfd p = {fd, POLLIN, 0};
		if (left <= 0)
			return -2;
		int n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -2 : -1;
		ssize_t r = read(fd, (char *)buf + got, len - got);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return r < 0 ? -1 : (ssize_t)got;
		got += (size_t)r;
		if (stop_after_first && got > 0 && ((char *)buf)[0] != RT_STATUS_ERROR)
			break;
	}
	return (ssize_t)got;
}

/* 1: the child is set up and waits for start; 0: EOF, the exec happened;
 * -1: err has the child's error or the timeout. */
static int wait_status(int fd, const char *what, struct uvm_err *err)
{
	char buf[1 + UVM_ERR_MAX];
	ssize_t n = read_bounded(fd, buf, sizeof buf - 1, uvm_monotonic_ms() + RT_SETUP_TIMEOUT_MS, 1);
	if (n == -2)
		return uvm_fail(err, ETIMEDOUT, "%s: the child did not report within %d ms; it was killed", what,
				RT_SETUP_TIMEOUT_MS);
	if (n < 0)
		return uvm_fail(err, errno, "%s: reading the child's status: %s", what, strerror(errno));
	if (n == 0)
		return 0;
	if (buf[0] == RT_STATUS_READY && n == 1)
		return 1;
	buf[n] = '\0';
	return uvm_fail(err, EIO, "%s: %s", what, buf[0] == RT_STATUS_ERROR ? buf + 1 : "garbled child status");
}

static void fill_entry(struct rt_entry *e, const char *cid, const char *pid_id, pid_t pid, int stdio,
		       struct spawn_io *io)
{
	snprintf(e->cid, sizeof e->cid, "%s", cid);
	snprintf(e->pid_id, sizeof e->pid_id, "%s", pid_id ? pid_id : "");
	e->pid = pid;
	e->state = RT_RUNNING;
	e->stdio = stdio;
	e->in_fd = io->in_w;
	e->out_fd[0] = io->out_r[0];
	e->out_fd[1] = io->out_r[1];
	io->in_w = io->out_r[0] = io->out_r[1] = -1;
}

/* A new network namespace has only "lo", and it is down. Any socket reaches
 * the interface ioctls (the UVM's kernel may have no IPv4 at all). */
static int loopback_up(struct uvm_err *err)
{
	struct ifreq ifr;
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) != 0 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) != 0)) {
		int code = errno;
		if (s >= 0)
			close(s);
		if (code == ENODEV)
			return 0; /* a kernel without a loopback device: nothing to bring up */
		return uvm_fail(err, code, "bringing up lo: %s", strerror(code));
	}
	close(s);
	return 0;
}

/* PID 1's oom_score_adj is -1000 and a clone inherits it: a workload that
 * kept it could not be chosen by the OOM killer, not even in its
 * container's group kill (memory.oom.group spares -1000), so a memory hog
 * would loop in its cgroup's reclaim instead of ending. Every spawned
 * process resets it to 0 first, while it still holds CAP_SYS_RESOURCE, which
 * also raises its floor to 0: a workload without that capability cannot
 * lower it again. */
static int oom_adj_reset(struct uvm_err *err)
{
	return file_write_text("/proc/self/oom_score_adj", "0", err) ? uvm_wrap(err, "resetting oom_score_adj") : 0;
}

/* ------------------------------------------------------------ create / start */

static void __attribute__((noreturn))
create_child(const char *cid, const struct rt_spec *spec, const struct rt_mount *mounts, size_t nmounts,
	     struct spawn_io *io, int status_w, int start_r)
{
	struct uvm_err err = {0, ""};
	char go = 0;
	const int keep[] = {status_w, start_r};
	if (oom_adj_reset(&err) || rt_child_basics(io->child, keep, 2, &err) || loopback_up(&err) ||
	    rt_child_rootfs(cid, mounts, nmounts, spec, &err) || rt_child_creds(spec, &err))
		rt_child_fail(status_w, &err);
	char ready = RT_STATUS_READY;
	if (write(status_w, &ready, 1) != 1 || read(start_r, &go, 1) != 1)
		_exit(125); /* the agent is gone, or the container was shut down before start */
	rt_child_exec(spec, &err);
	rt_child_fail(status_w, &err);
}

int rt_create(struct rt_table *t, const char *cid, const struct rt_spec *spec, const struct rt_mount *mounts,
	      size_t nmounts, struct uvm_err *err)
{
	struct spawn_io io;
	struct rt_limits limits;
	int st[2], go[2], cg;
	rt_cgroup_limits(spec->memory_max, spec->pids_max, &limits);
	if (rt_check_new(t, cid, NULL, err) || (cg = rt_cgroup_open(cid, &limits, err)) < 0)
		return -1;
	if (io_open(spec->stdio, &io, err)) {
		close(cg);
		return -1;
	}
	if (pipe2(st, O_CLOEXEC) != 0 || (pipe2(go, O_CLOEXEC) != 0 && (close(st[0]), close(st[1]), 1))) {
		io_close_all(&io);
		close(cg);
		return uvm_fail(err, errno, "pipe: %s", strerror(errno));
	}
	pid_t pid = rt_clone_into(CONTAINER_NS, cg);
	if (pid == 0)
		create_child(cid, spec, mounts, nmounts, &io, st[1], go[0]);
	int saved = errno;
	close(cg);
	io_close_child(&io);
	close(st[1]);
	close(go[0]);
	int rc = pid < 0 ? uvm_fail(err, saved, "clone (new namespaces): %s", strerror(saved))
			 : wait_status(st[0], "container set-up", err);
	struct rt_entry *e = rc == 1 ? rt_table_new(t, err) : NULL;
	if (!e) {
		if (pid > 0)
			kill(pid, SIGKILL); /* the reaper collects it */
		if (rc == 0)
			uvm_fail(err, EIO, "container set-up: the child exited without reporting");
		io_close_all(&io);
		close(st[0]);
		close(go[1]);
		return -1;
	}
	fill_entry(e, cid, NULL, pid, spec->stdio, &io);
	e->state = RT_CREATED;
	e->status_fd = st[0];
	e->start_fd = go[1];
	e->creds = *spec;
	e->creds.argv = e->creds.envp = NULL;
	e->creds.cwd = NULL;
	return rt_table_keep_filter(e, spec->seccomp, err);
}

int rt_start(struct rt_table *t, const char *cid, struct uvm_err *err)
{
	struct rt_entry *e = rt_table_find(t, cid, NULL);
	if (!e || !*cid)
		return uvm_fail(err, ENOENT, "no container '%s' (create_container first)", cid);
	if (e->state != RT_CREATED)
		return uvm_fail(err, EALREADY, "container '%s' was already started%s", cid,
				e->state == RT_EXITED ? " and has exited" : "");
	char go = 'S';
	int rc = write(e->start_fd, &go, 1) == 1 ? wait_status(e->status_fd, "container start", err)
						 : uvm_fail(err, errno, "starting '%s': %s", cid, strerror(errno));
	rt_close(&e->start_fd);
	rt_close(&e->status_fd);
	if (rc != 0)
		return rc < 0 ? -1 : uvm_fail(err, EIO, "container start: unexpected status");
	if (e->state == RT_CREATED)
		e->state = RT_RUNNING;
	return 0;
}

/* ------------------------------------------------------------ exec */

static const char *const ns_names[] = {"ipc", "uts", "net", "pid", "mnt"};
#define NNS (sizeof ns_names / sizeof ns_names[0])

static int open_ns(pid_t pid, int fds[NNS], struct uvm_err *err)
{
	char path[64];
	for (size_t i = 0; i < NNS; i++) {
		snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, ns_names[i]);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			int code = errno;
			while (i-- > 0)
				close(fds[i]);
			return uvm_fail(err, code, "open %s: %s", path, strerror(code));
		}
	}
	return 0;
}

/* The helper joins the namespaces, then clones the real process as a
 * sibling (CLONE_PARENT: a child of PID 1, in the container's PID
 * namespace), reports its pid and exits. */
static void __attribute__((noreturn))
exec_helper(const int ns[NNS], const struct rt_spec *spec, struct spawn_io *io, int status_w, int pid_w, int cg)
{
	struct uvm_err err = {0, ""};
	/* Before anything of the container can see us: nothing of PID 1's but
	 * what the new process needs. */
	const int keep[] = {ns[0],        ns[1],        ns[2],    ns[3], ns[4], io->child[0],
			    io->child[1], io->child[2], status_w, pid_w, cg};
	if (oom_adj_reset(&err) || rt_close_all_except(keep, sizeof keep / sizeof keep[0], &err))
		rt_child_fail(status_w, &err);
	for (size_t i = 0; i < NNS; i++)
		if (setns(ns[i], 0) != 0) {
			uvm_fail(&err, errno, "joining the container's %s namespace: %s", ns_names[i], strerror(errno));
			rt_child_fail(status_w, &err);
		}
	pid_t pid = rt_clone_into(CLONE_PARENT, cg);
	if (pid == 0) {
		if (rt_child_basics(io->child, &status_w, 1, &err) || rt_child_creds(spec, &err) ||
		    rt_child_exec(spec, &err))
			rt_child_fail(status_w, &err);
		_exit(127);
	}
	if (pid < 0) {
		uvm_fail(&err, errno, "clone into the container's cgroup: %s", strerror(errno));
		rt_child_fail(status_w, &err);
	}
	_exit(write(pid_w, &pid, sizeof pid) == (ssize_t)sizeof pid ? 0 : 1);
}

static int finish_exec(pid_t helper, int pid_r, int status_r, pid_t *pid, struct uvm_err *err)
{
	if (helper < 0)
		return uvm_fail(err, errno, "clone: %s", strerror(errno));
	if (pid_r >= 0) {
		ssize_t n = read_bounded(pid_r, pid, sizeof *pid, uvm_monotonic_ms() + RT_SETUP_TIMEOUT_MS, 0);
		if (n != (ssize_t)sizeof *pid || *pid <= 0) {
			int rc = wait_status(status_r, "exec set-up", err);
			return rc < 0 ? -1 : uvm_fail(err, EIO, "exec set-up: no process was created");
		}
	} else {
		*pid = helper;
	}
	int rc = wait_status(status_r, "exec", err);
	if (rc > 0)
		return uvm_fail(err, EIO, "exec: unexpected status");
	return rc;
}

static int spawn(struct rt_table *t, const char *cid, const char *pid_id, const struct rt_spec *spec, const int *ns,
		 struct uvm_err *err)
{
	struct spawn_io io;
	int st[2], pp[2] = {-1, -1}, cg;
	if (rt_check_new(t, cid, pid_id, err) || (cg = rt_cgroup_open_existing(cid, err)) < 0)
		return -1;
	if (io_open(spec->stdio, &io, err)) {
		close(cg);
		return -1;
	}
	if (pipe2(st, O_CLOEXEC) != 0 || (ns && pipe2(pp, O_CLOEXEC) != 0 && (close(st[0]), close(st[1]), 1))) {
		io_close_all(&io);
		close(cg);
		return uvm_fail(err, errno, "pipe: %s", strerror(errno));
	}
	/* A container process is cloned by a helper that first joins the
	 * container's namespaces; an external process is cloned directly. */
	pid_t helper = ns ? rt_clone(0) : rt_clone_into(0, cg);
	if (helper == 0 && ns)
		exec_helper(ns, spec, &io, st[1], pp[1], cg);
	if (helper == 0) {
		struct uvm_err cerr = {0, ""};
		umask(022);
		if (oom_adj_reset(&cerr) == 0 && rt_child_basics(io.child, &st[1], 1, &cerr) == 0 &&
		    rt_child_rlimits(&cerr) == 0)
			rt_child_exec(spec, &cerr);
		rt_child_fail(st[1], &cerr);
	}
	close(cg);
	io_close_child(&io);
	close(st[1]);
	if (pp[1] >= 0)
		close(pp[1]);
	pid_t pid = -1;
	int rc = finish_exec(helper, pp[0], st[0], &pid, err);
	struct rt_entry *e = rc == 0 ? rt_table_new(t, err) : NULL;
	if (e)
		fill_entry(e, cid, pid_id, pid, spec->stdio, &io);
	else if (rc == 0 && pid > 0)
		kill(pid, SIGKILL); /* no room to track it: it must not run untracked */
	io_close_all(&io);
	close(st[0]);
	if (pp[0] >= 0)
		close(pp[0]);
	return e ? 0 : -1;
}

int rt_exec_in(struct rt_table *t, const char *cid, const char *pid_id, const struct rt_spec *spec, struct uvm_err *err)
{
	struct rt_entry *c = rt_table_find(t, cid, NULL);
	int ns[NNS];
	if (!c || !*cid || c->state != RT_RUNNING)
		return uvm_fail(err, ESRCH,
				"container '%s' is not running (create_container and start_container first)", cid);
	struct rt_spec s = c->creds; /* the container's credentials and filter ... */
	s.argv = spec->argv;         /* ... with this process's command */
	s.envp = spec->envp;
	s.cwd = spec->cwd;
	s.stdio = spec->stdio;
	if (open_ns(c->pid, ns, err))
		return -1;
	int rc = spawn(t, cid, pid_id, &s, ns, err);
	for (size_t i = 0; i < NNS; i++)
		close(ns[i]);
	return rc;
}

int rt_exec_external(struct rt_table *t, const char *pid_id, const struct rt_spec *spec, struct uvm_err *err)
{
	return spawn(t, "", pid_id, spec, NULL, err);
}
