/* The process table: lookups, bounded allocation, the reaper hook, signals
 * and the counters. Exit statuses arrive only through rt_reaped (PID 1's
 * waitpid loop), so a wait is always answered from here without blocking. */
#include "runtime_table.h"
#include "runtime_cgroup.h"

#include "agent.h"
#include "policy.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct rt_table *rt_table_create(void)
{
	struct rt_table *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->next_seq = 1;
	t->cgroup_remove = rt_cgroup_remove;
	return t;
}

void rt_table_destroy(struct rt_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < RT_MAX_PROCS; i++)
		if (t->entries[i].used)
			rt_table_release(&t->entries[i]);
	free(t);
}

void rt_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void rt_table_release(struct rt_entry *e)
{
	rt_close(&e->in_fd);
	rt_close(&e->out_fd[0]);
	rt_close(&e->out_fd[1]);
	rt_close(&e->start_fd);
	rt_close(&e->status_fd);
	free(e->filter.filter);
	memset(e, 0, sizeof *e);
}

int rt_table_keep_filter(struct rt_entry *e, const struct sock_fprog *prog, struct uvm_err *err)
{
	e->creds.seccomp = NULL;
	if (!prog || !prog->len)
		return 0;
	e->filter.filter = malloc(prog->len * sizeof *prog->filter);
	if (!e->filter.filter) {
		kill(e->pid, SIGKILL); /* never run a container without the filter its policy names */
		rt_table_release(e);
		return uvm_fail(err, ENOMEM, "out of memory keeping the container's seccomp program");
	}
	memcpy(e->filter.filter, prog->filter, prog->len * sizeof *prog->filter);
	e->filter.len = prog->len;
	e->creds.seccomp = &e->filter; /* entries never move: the table is one array */
	return 0;
}

static int is_init(const struct rt_entry *e)
{
	return e->cid[0] && !e->pid_id[0];
}

/* The oldest exited entry, preferring processes over container inits (an
 * init's entry is the container itself). */
static struct rt_entry *oldest_exited(struct rt_table *t)
{
	struct rt_entry *best = NULL;
	for (size_t i = 0; i < RT_MAX_PROCS; i++) {
		struct rt_entry *e = &t->entries[i];
		if (!e->used || e->state != RT_EXITED)
			continue;
		if (!best || is_init(best) > is_init(e) || (is_init(best) == is_init(e) && e->seq < best->seq))
			best = e;
	}
	return best;
}

struct rt_entry *rt_table_new(struct rt_table *t, struct uvm_err *err)
{
	struct rt_entry *e = NULL;
	for (size_t i = 0; i < RT_MAX_PROCS && !e; i++)
		if (!t->entries[i].used)
			e = &t->entries[i];
	if (!e && (e = oldest_exited(t)))
		rt_table_release(e); /* its status was kept as long as there was room */
	if (!e) {
		uvm_fail(err, EAGAIN, "the process table is full (%d running processes): wait for some to exit",
			 RT_MAX_PROCS);
		return NULL;
	}
	memset(e, 0, sizeof *e);
	e->used = 1;
	e->seq = t->next_seq++;
	e->in_fd = e->out_fd[0] = e->out_fd[1] = e->start_fd = e->status_fd = -1;
	return e;
}

struct rt_entry *rt_table_find(struct rt_table *t, const char *cid, const char *pid_id)
{
	if (!pid_id)
		pid_id = "";
	for (size_t i = 0; i < RT_MAX_PROCS; i++) {
		struct rt_entry *e = &t->entries[i];
		if (e->used && strcmp(e->cid, cid) == 0 && strcmp(e->pid_id, pid_id) == 0)
			return e;
	}
	return NULL;
}

struct rt_entry *rt_table_by_pid(struct rt_table *t, pid_t pid)
{
	for (size_t i = 0; i < RT_MAX_PROCS; i++) {
		struct rt_entry *e = &t->entries[i];
		if (e->used && e->pid == pid && e->state != RT_EXITED)
			return e;
	}
	return NULL;
}

size_t rt_table_containers(const struct rt_table *t)
{
	size_t n = 0;
	for (size_t i = 0; i < RT_MAX_PROCS; i++) {
		const struct rt_entry *e = &t->entries[i];
		n += e->used && is_init(e) && e->state != RT_EXITED;
	}
	return n;
}

void rt_reaped(struct rt_table *t, pid_t pid, int status)
{
	struct rt_entry *e = rt_table_by_pid(t, pid);
	if (!e)
		return; /* a set-up helper or an orphan re-parented to PID 1 */
	e->state = RT_EXITED;
	e->wait_status = status;
	/* The container's cgroup goes once its init and processes are gone
	 * (busy until then; rt_cgroup_open retries at the next create). */
	struct rt_entry *init = e->cid[0] ? rt_table_find(t, e->cid, NULL) : NULL;
	if (init && init->state == RT_EXITED)
		t->cgroup_remove(e->cid);
	rt_close(&e->in_fd); /* nobody reads stdin any more */
	rt_close(&e->start_fd);
	rt_close(&e->status_fd);
}

void agent_child_exited(struct agent *a, pid_t pid, int status)
{
	if (!a->procs)
		return; /* before agent_init made the table: none of ours */
	struct rt_entry *e = rt_table_by_pid(a->procs, pid);
	/* An exec'd process in a container leaves the policy state with it. */
	if (e && e->cid[0] && e->pid_id[0] && a->pstate)
		policy_process_exited(a->pstate, e->cid, e->pid_id);
	rt_reaped(a->procs, pid, status);
}

int rt_lookup(struct rt_table *t, const char *cid, const char *pid_id, struct rt_proc_info *info, struct uvm_err *err)
{
	const struct rt_entry *e = rt_table_find(t, cid, pid_id);
	if (!e)
		return uvm_fail(err, ENOENT, "no process '%s' in %s%s (never started, or forgotten after exit)",
				pid_id && *pid_id ? pid_id : "init", *cid ? "container " : "the UVM", cid);
	info->state = e->state;
	info->pid = e->pid;
	info->wait_status = e->wait_status;
	info->stdio = e->stdio;
	return 0;
}

int rt_check_new(struct rt_table *t, const char *cid, const char *pid_id, struct uvm_err *err)
{
	struct rt_entry *e = rt_table_find(t, cid, pid_id);
	if (e && e->state != RT_EXITED)
		return uvm_fail(err, EEXIST, "process id '%s' is in use by a running process", pid_id ? pid_id : cid);
	if (e)
		rt_table_release(e); /* an exited process of the same id: its id may be reused */
	if ((!pid_id || !*pid_id) && rt_table_containers(t) >= RT_MAX_CONTAINERS)
		return uvm_fail(err, EAGAIN, "at most %d containers", RT_MAX_CONTAINERS);
	return 0;
}

int rt_signal(struct rt_table *t, const char *cid, const char *pid_id, int sig, struct uvm_err *err)
{
	struct rt_entry *e = rt_table_find(t, cid, pid_id);
	if (!e || e->state == RT_EXITED)
		return uvm_fail(err, ESRCH, "process '%s' is not running", pid_id && *pid_id ? pid_id : cid);
	if (kill(e->pid, sig) != 0)
		return uvm_fail(err, errno, "kill(%d, %d): %s", (int)e->pid, sig, strerror(errno));
	return 0;
}

int rt_shutdown(struct rt_table *t, const char *cid, struct uvm_err *err)
{
	struct rt_entry *e = rt_table_find(t, cid, NULL);
	if (!e || !*cid)
		return uvm_fail(err, ENOENT, "no container '%s'", cid);
	rt_close(&e->start_fd); /* a created, never started init exits on EOF */
	if (e->state != RT_EXITED && kill(e->pid, SIGKILL) != 0 && errno != ESRCH)
		return uvm_fail(err, errno, "kill container '%s' init: %s", cid, strerror(errno));
	return 0;
}

void rt_counts(struct rt_table *t, size_t *containers, size_t *running, size_t *exited)
{
	*containers = *running = *exited = 0;
	for (size_t i = 0; i < RT_MAX_PROCS; i++) {
		const struct rt_entry *e = &t->entries[i];
		if (!e->used)
			continue;
		*containers += is_init(e) && e->state != RT_EXITED;
		*running += e->state != RT_EXITED;
		*exited += e->state == RT_EXITED;
	}
}

void rt_for_each(struct rt_table *t, rt_visit_fn fn, void *ctx)
{
	for (size_t i = 0; i < RT_MAX_PROCS; i++) {
		const struct rt_entry *e = &t->entries[i];
		if (e->used)
			fn(ctx, e->cid, e->pid_id, e->pid, e->state);
	}
}
