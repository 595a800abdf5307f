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

static struct rt_entry table[RT_MAX_PROCS];
static uint64_t next_seq = 1;

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
	e->creds.seccomp = &e->filter; /* entries never move: the table is one static array */
	return 0;
}

static int is_init(const struct rt_entry *e)
{
	return e->cid[0] && !e->pid_id[0];
}

/* The oldest exited entry, preferring processes over container inits (an
 * init's entry is the container itself). */
static struct rt_entry *oldest_exited(void)
{
	struct rt_entry *best = NULL;
	for (size_t i = 0; i < RT_MAX_PROCS; i++) {
		struct rt_entry *e = &table[i];
		if (!e->used || e->state != RT_EXITED)
			continue;
		if (!best || is_init(best) > is_init(e) || (is_init(best) == is_init(e) && e->seq < best->seq))
			best = e;
	}
	return best;
}

struct rt_entry *rt_table_new(struct uvm_err *err)
{
	struct rt_entry *e = NULL;
	for (size_t i = 0; i < RT_MAX_PROCS && !e; i++)
		if (!table[i].used)
			e = &table[i];
	if (!e && (e = oldest_exited()))
		rt_table_release(e); /* its status was kept as long as there was room */
	if (!e) {
		uvm_fail(err, EAGAIN, "the process table is full (%d running processes): wait for some to exit",
			 RT_MAX_PROCS);
		return NULL;
	}
	memset(e, 0, sizeof *e);
	e->used = 1;
	e->seq = next_seq++;
	e->in_fd = e->out_fd[0] = e->out_fd[1] = e->start_fd = e->status_fd = -1;
	return e;
}

struct rt_entry *rt_table_find(const char *cid, const char *pid_id)
{
	if (!pid_id)
		pid_id = "";
	for (size_t i = 0; i < RT_MAX_PROCS; i++)
		if (table[i].used && strcmp(table[i].cid, cid) == 0 && strcmp(table[i].pid_id, pid_id) == 0)
			return &table[i];
	return NULL;
}

struct rt_entry *rt_table_by_pid(pid_t pid)
{
	for (size_t i = 0; i < RT_MAX_PROCS; i++)
		if (table[i].used && table[i].pid == pid && table[i].state != RT_EXITED)
			return &table[i];
	return NULL;
}

size_t rt_table_containers(void)
{
	size_t n = 0;
	for (size_t i = 0; i < RT_MAX_PROCS; i++)
		n += table[i].used && is_init(&table[i]) && table[i].state != RT_EXITED;
	return n;
}

void rt_reaped(pid_t pid, int status)
{
	struct rt_entry *e = rt_table_by_pid(pid);
	if (!e)
		return; /* a set-up helper or an orphan re-parented to PID 1 */
	e->state = RT_EXITED;
	e->wait_status = status;
	/* The container's cgroup goes once its init and processes are gone
	 * (busy until then; rt_cgroup_open retries at the next create). */
	struct rt_entry *init = e->cid[0] ? rt_table_find(e->cid, NULL) : NULL;
	if (init && init->state == RT_EXITED)
		rt_cgroup_remove(e->cid);
	rt_close(&e->in_fd); /* nobody reads stdin any more */
	rt_close(&e->start_fd);
	rt_close(&e->status_fd);
}

void agent_child_exited(struct agent *a, pid_t pid, int status)
{
	struct rt_entry *e = rt_table_by_pid(pid);
	/* An exec'd process in a container leaves the policy state with it. */
	if (e && e->cid[0] && e->pid_id[0] && a->pstate)
		policy_process_exited(a->pstate, e->cid, e->pid_id);
	rt_reaped(pid, status);
}

int rt_lookup(const char *cid, const char *pid_id, struct rt_proc_info *info, struct uvm_err *err)
{
	const struct rt_entry *e = rt_table_find(cid, pid_id);
	if (!e)
		return uvm_fail(err, ENOENT, "no process '%s' in %s%s (never started, or forgotten after exit)",
				pid_id && *pid_id ? pid_id : "init", *cid ? "container " : "the UVM",
				cid);
	info->state = e->state;
	info->pid = e->pid;
	info->wait_status = e->wait_status;
	info->stdio = e->stdio;
	return 0;
}

int rt_check_new(const char *cid, const char *pid_id, struct uvm_err *err)
{
	struct rt_entry *e = rt_table_find(cid, pid_id);
	if (e && e->state != RT_EXITED)
		return uvm_fail(err, EEXIST, "process id '%s' is in use by a running process", pid_id ? pid_id : cid);
	if (e)
		rt_table_release(e); /* an exited process of the same id: its id may be reused */
	if ((!pid_id || !*pid_id) && rt_table_containers() >= RT_MAX_CONTAINERS)
		return uvm_fail(err, EAGAIN, "at most %d containers", RT_MAX_CONTAINERS);
	return 0;
}

int rt_signal(const char *cid, const char *pid_id, int sig, struct uvm_err *err)
{
	struct rt_entry *e = rt_table_find(cid, pid_id);
	if (!e || e->state == RT_EXITED)
		return uvm_fail(err, ESRCH, "process '%s' is not running", pid_id && *pid_id ? pid_id : cid);
	if (kill(e->pid, sig) != 0)
		return uvm_fail(err, errno, "kill(%d, %d): %s", (int)e->pid, sig, strerror(errno));
	return 0;
}

int rt_shutdown(const char *cid, struct uvm_err *err)
{
	struct rt_entry *e = rt_table_find(cid, NULL);
	if (!e || !*cid)
		return uvm_fail(err, ENOENT, "no container '%s'", cid);
	rt_close(&e->start_fd); /* a created, never started init exits on EOF */
	if (e->state != RT_EXITED && kill(e->pid, SIGKILL) != 0 && errno != ESRCH)
		return uvm_fail(err, errno, "kill container '%s' init: %s", cid, strerror(errno));
	return 0;
}

void rt_counts(size_t *containers, size_t *running, size_t *exited)
{
	*containers = *running = *exited = 0;
	for (size_t i = 0; i < RT_MAX_PROCS; i++) {
		if (!table[i].used)
			continue;
		*containers += is_init(&table[i]) && table[i].state != RT_EXITED;
		*running += table[i].state != RT_EXITED;
		*exited += table[i].state == RT_EXITED;
	}
}

void rt_for_each(rt_visit_fn fn, void *ctx)
{
	for (size_t i = 0; i < RT_MAX_PROCS; i++)
		if (table[i].used)
			fn(ctx, table[i].cid, table[i].pid_id, table[i].pid, table[i].state);
}
