/* Internal to agent/runtime*.c: what a freshly cloned child does before
 * exec. Every function runs in the child only, returns -1 with err on
 * failure, and the child then reports err on its status pipe and exits. */
#ifndef UVM_AGENT_RUNTIME_CHILD_H
#define UVM_AGENT_RUNTIME_CHILD_H

#include "runtime.h"

/* Status pipe protocol (child -> agent): nothing then EOF (the exec
 * succeeded: the pipe is close-on-exec), 'R' (container set up, waiting for
 * start), or 'E' followed by the error text. */
#define RT_STATUS_READY 'R'
#define RT_STATUS_ERROR 'E'

/* Reports err on fd and exits 127. */
void rt_child_fail(int status_fd, const struct uvm_err *err) __attribute__((noreturn));

/* Not dumpable, default signal dispositions and an empty mask (PID 1
 * blocks SIGCHLD...), stdio on fds 0..2, and every other descriptor but
 * keep[0..nkeep) (at most RT_KEEP_MAX - 3; -1 entries ignored) closed. */
int rt_child_basics(int stdio_fds[3], const int *keep, size_t nkeep, struct uvm_err *err);

#define RT_KEEP_MAX 16
/* Closes every descriptor not in keep (at most RT_KEEP_MAX; -1 entries ignored). */
int rt_close_all_except(const int *keep, size_t nkeep, struct uvm_err *err);

/* The container's root: new root from /run/containers/<cid>/rootfs with a
 * minimal /dev, /proc, /sys and the policy's mounts, then pivot_root. */
int rt_child_rootfs(const char *cid, const struct rt_mount *mounts, size_t nmounts, const struct rt_spec *spec,
		    struct uvm_err *err);

/* Credentials (runtime_caps.c). */
/* Fixed rlimits of every started process: no core dumps, bounded files. */
int rt_child_rlimits(struct uvm_err *err);
int rt_child_creds(const struct rt_spec *s, struct uvm_err *err);

/* chdir(cwd) then execve; PATH from envp when argv[0] has no '/'. Returns
 * only on failure. */
int rt_child_exec(const struct rt_spec *s, struct uvm_err *err);

/* Raw clone with fork semantics (no new stack); flags without SIGCHLD. */
pid_t rt_clone(unsigned long flags);
/* The same through clone3, the child born in the cgroup of cgroup_fd. */
pid_t rt_clone_into(unsigned long flags, int cgroup_fd);

#endif
