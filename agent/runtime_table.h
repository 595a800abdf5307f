/* Internal to agent/runtime*.c: the process table. PID 1 has exactly one set
 * of children, so the agent owns exactly one table (struct agent's procs),
 * one array allocated at start-up (bounded: memory does not grow with the
 * number of requests; entries never move). */
#ifndef UVM_AGENT_RUNTIME_TABLE_H
#define UVM_AGENT_RUNTIME_TABLE_H

#include "runtime.h"

struct rt_entry {
	int used;
	uint64_t seq;                   /* creation order, for eviction */
	char cid[POLICY_MAX_ID + 1];    /* "" for external processes */
	char pid_id[POLICY_MAX_ID + 1]; /* "" for a container's init */
	pid_t pid;
	enum rt_state state;
	int wait_status;
	int stdio;
	int in_fd, out_fd[2]; /* -1 when absent/closed */
	int out_eof[2];
	/* container inits only */
	int start_fd, status_fd;  /* until started */
	struct rt_spec creds;     /* argv/envp/cwd unset, seccomp -> filter: for exec_in */
	struct sock_fprog filter; /* the container's own copy of its seccomp program */
};

struct rt_table {
	struct rt_entry entries[RT_MAX_PROCS];
	uint64_t next_seq; /* the next entry's seq */
	/* Removes a finished container's cgroup (rt_reaped): rt_cgroup_remove.
	 * The guest never changes it; a host test records the calls instead
	 * of touching /sys/fs/cgroup. */
	void (*cgroup_remove)(const char *cid);
};

/* A free entry (evicting the oldest finished one if needed), or NULL. */
struct rt_entry *rt_table_new(struct rt_table *t, struct uvm_err *err);
/* cid "" = external; pid_id NULL or "" = the container's init. */
struct rt_entry *rt_table_find(struct rt_table *t, const char *cid, const char *pid_id);
/* The entry of a process that has not exited, by its pid. */
struct rt_entry *rt_table_by_pid(struct rt_table *t, pid_t pid);
void rt_table_release(struct rt_entry *e);
/* Containers whose init has not exited. */
size_t rt_table_containers(const struct rt_table *t);

/* Keeps a copy of the container's seccomp program (NULL: unconfined) for
 * the processes exec'ed into it later; on failure the entry is released. */
int rt_table_keep_filter(struct rt_entry *e, const struct sock_fprog *prog, struct uvm_err *err);

/* Closes fd if >= 0 and sets it to -1. */
void rt_close(int *fd);

#endif
