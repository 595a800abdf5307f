/* The minimal container runtime inside PID 1 (docs/runtime.md): spawns the
 * processes the policy allowed (container inits in fresh namespaces,
 * processes exec'ed into a container, external processes in the UVM), keeps
 * a bounded process table filled by PID 1's reaper, and gives the host
 * bounded, non-blocking access to allowed stdio. No call here waits on a
 * child for longer than RT_SETUP_TIMEOUT_MS: PID 1 must keep serving. */
#ifndef UVM_AGENT_RUNTIME_H
#define UVM_AGENT_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/filter.h>

#include "err.h"
#include "policy.h"

#define RT_MAX_PROCS 256 /* table entries (running + exited, unreaped by the host) */
#define RT_MAX_CONTAINERS 64
#define RT_OUTPUT_MAX (256u << 10) /* bytes per read_output answer */
#define RT_PIPE_SIZE (1u << 20)    /* kernel pipe buffer asked for each captured stream */
#define RT_SETUP_TIMEOUT_MS 10000  /* a child must report set-up success/failure by then */
#define RT_CAP_SETS 5              /* bounding, effective, inheritable, permitted, ambient */

/* What to run and how; every pointer is borrowed for the call. */
struct rt_spec {
	char **argv; /* NULL-terminated */
	char **envp; /* NULL-terminated, already without dropped variables */
	const char *cwd;
	int stdio; /* capture stdout/stderr and keep stdin writable */
	/* container processes (create and exec) */
	int has_creds;
	uint32_t uid, gid;
	unsigned umask;
	uint64_t caps[RT_CAP_SETS];
	int no_new_privileges, privileged;
	/* the syscall filter the policy approved (NULL: unconfined), installed
	 * just before the process takes the container's identity */
	const struct sock_fprog *seccomp;
	/* create only: the cgroup limits the policy approved ("resources"; 0:
	 * the default), clamped by rt_create to the workloads cgroup's */
	uint64_t memory_max, pids_max;
};

/* A mount inside the container, from create_container's "mounts". */
struct rt_mount {
	const char *source, *destination, *type;
	const char *const *options;
	size_t noptions;
};

enum rt_state { RT_CREATED, RT_RUNNING, RT_EXITED };

struct rt_proc_info {
	enum rt_state state;
	pid_t pid;
	int wait_status; /* valid when RT_EXITED */
	int stdio;
};

/* Once at start-up, before any spawn: cgroups (runtime_cgroup.c). */
int rt_init(struct uvm_err *err);

/* The process table (runtime_table.c): what the agent started, bounded by
 * RT_MAX_PROCS entries (running, and exited until the host looked or room
 * was needed). The agent owns one (struct agent's procs: PID 1 has one set
 * of children); every call below that names a process takes it. */
struct rt_table;
/* NULL when out of memory. */
struct rt_table *rt_table_create(void);
/* Closes every descriptor the table holds and frees it; its processes are
 * not signalled (the guest never destroys its table; tests do). */
void rt_table_destroy(struct rt_table *t);

/* Capability names <-> numbers ("CAP_CHOWN" -> 0); -1 when unknown. */
int rt_cap_number(const char *name);
const char *rt_cap_name(int n);
int rt_cap_last(void);

/* Container init: clone into new mount/PID/IPC/UTS namespaces, build the
 * root from /run/containers/<cid>/rootfs, apply the spec, then wait for
 * rt_start() before exec. */
int rt_create(struct rt_table *t, const char *cid, const struct rt_spec *spec, const struct rt_mount *mounts,
	      size_t nmounts, struct uvm_err *err);
int rt_start(struct rt_table *t, const char *cid, struct uvm_err *err);
/* A process in a running container's namespaces with the container's
 * credentials and capabilities. */
int rt_exec_in(struct rt_table *t, const char *cid, const char *pid_id, const struct rt_spec *spec,
	       struct uvm_err *err);
/* A process in the UVM itself (root, the UVM's namespaces). */
int rt_exec_external(struct rt_table *t, const char *pid_id, const struct rt_spec *spec, struct uvm_err *err);

/* Process lookup: cid "" for external processes; pid_id NULL for a
 * container's init. 0 with info filled, -1 with err. */
int rt_lookup(struct rt_table *t, const char *cid, const char *pid_id, struct rt_proc_info *info, struct uvm_err *err);
/* Whether process ids / containers are free to be used (-1 with err if not). */
int rt_check_new(struct rt_table *t, const char *cid, const char *pid_id, struct uvm_err *err);
int rt_signal(struct rt_table *t, const char *cid, const char *pid_id, int sig, struct uvm_err *err);
/* Kills the container's init (and with it its PID namespace). */
int rt_shutdown(struct rt_table *t, const char *cid, struct uvm_err *err);

/* stdio: reads up to max bytes already available (never blocks); *eof
 * when the stream is finished and drained. */
int rt_read_output(struct rt_table *t, const char *cid, const char *pid_id, int stream, uint8_t *buf, size_t max,
		   size_t *got, int *eof, struct uvm_err *err);
int rt_write_stdin(struct rt_table *t, const char *cid, const char *pid_id, const uint8_t *buf, size_t len,
		   size_t *written, struct uvm_err *err);
int rt_close_stdin(struct rt_table *t, const char *cid, const char *pid_id, struct uvm_err *err);

/* Counts for status/properties. */
void rt_counts(struct rt_table *t, size_t *containers, size_t *running, size_t *exited);

/* Visits every table entry (for dump_stacks). */
typedef void (*rt_visit_fn)(void *ctx, const char *cid, const char *pid_id, pid_t pid, enum rt_state st);
void rt_for_each(struct rt_table *t, rt_visit_fn fn, void *ctx);

/* Called by PID 1's reaper for every reaped child (agent_child_exited). */
void rt_reaped(struct rt_table *t, pid_t pid, int status);

#endif
