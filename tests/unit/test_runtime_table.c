/* Unit tests of the process table on the host (agent/runtime_table.c and
 * agent/runtime_stdio.c): bounded allocation, eviction of the oldest exited
 * entry (processes before container inits), lookups by ids and pid, the
 * reaper hook (exited, descriptors closed, the container's cgroup removed
 * once its init is gone, through the table's cgroup_remove seam), the
 * container limit, and stdio on real pipes. Entries are filled here as
 * runtime_spawn.c fills them; their pids are beyond any kernel's pid_max
 * (a stray kill would find nothing), except where a real child is forked
 * to be signalled. Each test uses its own table: there is no table but the
 * ones made here. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "check.h"
#include "runtime_table.h"

#define FAKE_PID(n) ((pid_t)(5000000 + (n))) /* above PID_MAX_LIMIT (4194304) */

/* ------------------------------------------------------------ helpers */

static struct rt_table *table(void)
{
	struct rt_table *t = rt_table_create();
	if (!t) {
		fprintf(stderr, "rt_table_create: out of memory\n");
		exit(2);
	}
	return t;
}

/* A running entry as runtime_spawn.c's fill_entry makes it. */
static struct rt_entry *add(struct rt_table *t, const char *cid, const char *pid_id, pid_t pid)
{
	struct uvm_err err = {0, ""};
	struct rt_entry *e = rt_table_new(t, &err);
	if (!e)
		return NULL;
	snprintf(e->cid, sizeof e->cid, "%s", cid);
	snprintf(e->pid_id, sizeof e->pid_id, "%s", pid_id ? pid_id : "");
	e->pid = pid;
	e->state = RT_RUNNING;
	return e;
}

static int fd_open(int fd)
{
	return fd >= 0 && fcntl(fd, F_GETFD) != -1;
}

/* A pipe: *r and *w, both close-on-exec. */
static void pipe_pair(int *r, int *w, int nonblock)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC | (nonblock ? O_NONBLOCK : 0)) != 0) {
		perror("pipe2");
		exit(2);
	}
	*r = p[0];
	*w = p[1];
}

/* The cgroup seam: records the containers whose cgroup would be removed. */
static char removed[16][POLICY_MAX_ID + 1];
static int nremoved;

static void record_cgroup_remove(const char *cid)
{
	if (nremoved < 16)
		snprintf(removed[nremoved], sizeof removed[0], "%s", cid);
	nremoved++;
}

static struct rt_table *recorded_table(void)
{
	struct rt_table *t = table();
	t->cgroup_remove = record_cgroup_remove;
	nremoved = 0;
	return t;
}

/* ------------------------------------------------------------ allocation */

static void test_fill_until_full(void)
{
	struct rt_table *t = table();
	struct uvm_err err = {0, ""};
	char id[16];
	int all = 1, ordered = 1;
	uint64_t last = 0;
	for (int i = 0; i < RT_MAX_PROCS; i++) {
		snprintf(id, sizeof id, "p%d", i);
		struct rt_entry *e = add(t, "", id, FAKE_PID(i));
		all &= e != NULL;
		if (e) {
			ordered &= e->seq > last;
			last = e->seq;
			all &= e->in_fd == -1 && e->out_fd[0] == -1 && e->out_fd[1] == -1 && e->start_fd == -1 &&
			       e->status_fd == -1;
		}
	}
	CHECK(all, "%d entries fit, each with every descriptor -1", RT_MAX_PROCS);
	CHECK(ordered, "... in creation order (seq)");
	CHECK(rt_table_new(t, &err) == NULL, "entry %d: none while every process runs", RT_MAX_PROCS + 1);
	CHECK_EQ_INT(err.code, EAGAIN, "... EAGAIN");
	CHECK_MSG(err.msg, "the process table is full (256 running processes)",
		  "... the message says the table is full");
	size_t containers, running, exited;
	rt_counts(t, &containers, &running, &exited);
	CHECK(containers == 0 && running == RT_MAX_PROCS && exited == 0, "counts: 0 containers, %d running, 0 exited",
	      RT_MAX_PROCS);
	rt_table_destroy(t);

	/* A released entry is free again. */
	t = table();
	struct rt_entry *first = add(t, "", "a", FAKE_PID(0));
	rt_table_release(first);
	CHECK(!first->used && rt_table_find(t, "", "a") == NULL, "a released entry is gone");
	CHECK(add(t, "", "b", FAKE_PID(1)) == first, "... and its slot is the next one given");
	rt_table_destroy(t);
}

static void test_eviction(void)
{
	struct rt_table *t = recorded_table();
	struct uvm_err err = {0, ""};
	char id[16];
	/* The oldest entry is a container's init; then processes. */
	struct rt_entry *init = add(t, "old", NULL, FAKE_PID(0));
	for (int i = 1; i < RT_MAX_PROCS; i++) {
		snprintf(id, sizeof id, "p%d", i);
		add(t, i % 2 ? "old" : "", id, FAKE_PID(i));
	}
	int out_r, out_w;
	pipe_pair(&out_r, &out_w, 1);
	struct rt_entry *p20 = rt_table_find(t, "", "p20"), *p9 = rt_table_find(t, "old", "p9");
	p20->out_fd[0] = out_r; /* output the host never read */
	rt_reaped(t, init->pid, 0);
	rt_reaped(t, p20->pid, 0);
	rt_reaped(t, p9->pid, 0);
	CHECK(fd_open(out_r), "an exited process keeps its output for the host");

	/* Processes first, the oldest first, though the init is older. */
	struct rt_entry *e = add(t, "", "n1", FAKE_PID(1001));
	CHECK(e == p9 && rt_table_find(t, "old", "p9") == NULL, "full: the oldest exited process (p9) is evicted");
	CHECK(rt_table_find(t, "old", NULL) != NULL && rt_table_find(t, "", "p20") != NULL,
	      "... not the older exited init, nor the newer exited process");
	e = add(t, "", "n2", FAKE_PID(1002));
	CHECK(e == p20 && rt_table_find(t, "", "p20") == NULL, "then the next exited process (p20), external or not");
	CHECK(!fd_open(out_r), "... its unread output pipe is closed with it");
	e = add(t, "", "n3", FAKE_PID(1003));
	CHECK(e == init && rt_table_find(t, "old", NULL) == NULL, "only an exited init left: it is evicted");
	CHECK(rt_table_find(t, "old", "p1") != NULL, "... its running processes stay");
	CHECK(rt_table_new(t, &err) == NULL && err.code == EAGAIN, "nothing exited: the table is full");
	close(out_w);

	/* Among inits, the oldest first. */
	rt_table_destroy(t);
	t = recorded_table();
	for (int i = 0; i < RT_MAX_PROCS; i++) {
		snprintf(id, sizeof id, "c%d", i);
		add(t, id, NULL, FAKE_PID(i));
	}
	rt_reaped(t, FAKE_PID(7), 0);
	rt_reaped(t, FAKE_PID(3), 0);
	add(t, "", "x", FAKE_PID(999));
	CHECK(rt_table_find(t, "c3", NULL) == NULL && rt_table_find(t, "c7", NULL) != NULL,
	      "two exited inits: the older (c3) is evicted, whatever the order of their exits");
	rt_table_destroy(t);
}

/* ------------------------------------------------------------ lookups */

static void test_lookup(void)
{
	struct rt_table *t = recorded_table();
	struct uvm_err err = {0, ""};
	struct rt_proc_info info;
	struct rt_entry *c1 = add(t, "c1", NULL, FAKE_PID(1));
	struct rt_entry *p1 = add(t, "c1", "p1", FAKE_PID(2));
	struct rt_entry *e1 = add(t, "", "e1", FAKE_PID(3));
	struct rt_entry *c2 = add(t, "c2", "", FAKE_PID(4));
	p1->stdio = 1;
	CHECK(rt_table_find(t, "c1", NULL) == c1, "find: (c1, NULL) is c1's init");
	CHECK(rt_table_find(t, "c1", "") == c1, "find: (c1, \"\") is c1's init too");
	CHECK(rt_table_find(t, "c2", NULL) == c2, "find: (c2, NULL) is c2's init");
	CHECK(rt_table_find(t, "c1", "p1") == p1, "find: (c1, p1)");
	CHECK(rt_table_find(t, "", "e1") == e1, "find: (\"\", e1) is the external process");
	CHECK(rt_table_find(t, "c2", "p1") == NULL, "find: p1 is c1's, not c2's");
	CHECK(rt_table_find(t, "", "p1") == NULL, "find: p1 is not an external process");
	CHECK(rt_table_find(t, "c1", "e1") == NULL, "find: e1 is not c1's");
	CHECK(rt_table_find(t, "c3", NULL) == NULL, "find: no c3");
	CHECK(rt_table_by_pid(t, FAKE_PID(2)) == p1 && rt_table_by_pid(t, FAKE_PID(3)) == e1, "by pid");
	CHECK(rt_table_by_pid(t, FAKE_PID(9)) == NULL, "by pid: an unknown pid");

	CHECK_EQ_INT(rt_lookup(t, "c1", "p1", &info, &err), 0, "rt_lookup (c1, p1): %s", err.msg);
	CHECK(info.state == RT_RUNNING && info.pid == FAKE_PID(2) && info.stdio == 1, "... running, its pid, stdio");
	CHECK_EQ_INT(rt_lookup(t, "c1", "p9", &info, &err), -1, "rt_lookup of an unknown process fails");
	CHECK_EQ_INT(err.code, ENOENT, "... ENOENT");
	CHECK_MSG(err.msg, "no process 'p9' in container c1", "... naming the process and its container");
	CHECK_EQ_INT(rt_lookup(t, "", "e9", &info, &err), -1, "rt_lookup of an unknown external process fails");
	CHECK_MSG(err.msg, "no process 'e9' in the UVM", "... naming the UVM");
	CHECK_EQ_INT(rt_lookup(t, "c9", NULL, &info, &err), -1, "rt_lookup of an unknown container fails");
	CHECK_MSG(err.msg, "no process 'init' in container c9", "... naming its init");

	/* After the exit: found by ids (the status), no longer by pid. */
	rt_reaped(t, FAKE_PID(2), 7 << 8);
	CHECK(rt_table_by_pid(t, FAKE_PID(2)) == NULL, "an exited process is not found by its pid");
	CHECK_EQ_INT(rt_lookup(t, "c1", "p1", &info, &err), 0, "... but by its ids");
	CHECK(info.state == RT_EXITED && WIFEXITED(info.wait_status) && WEXITSTATUS(info.wait_status) == 7,
	      "... exited with status 7");
	/* The kernel reuses the pid for a new process: the new one is found. */
	struct rt_entry *p2 = add(t, "c1", "p2", FAKE_PID(2));
	CHECK(rt_table_by_pid(t, FAKE_PID(2)) == p2, "a reused pid finds the running process, not the exited one");
	rt_table_destroy(t);
}

/* ------------------------------------------------------------ the reaper */

static void test_reaped(void)
{
	struct rt_table *t = recorded_table();
	struct rt_entry *c1 = add(t, "c1", NULL, FAKE_PID(1));
	struct rt_entry *p1 = add(t, "c1", "p1", FAKE_PID(2));
	struct rt_entry *p2 = add(t, "c1", "p2", FAKE_PID(3));
	struct rt_entry *e1 = add(t, "", "e1", FAKE_PID(4));
	int in_r, out_w[2], start_r, status_w;
	pipe_pair(&in_r, &p1->in_fd, 0);
	pipe_pair(&p1->out_fd[0], &out_w[0], 1);
	pipe_pair(&p1->out_fd[1], &out_w[1], 1);
	pipe_pair(&start_r, &c1->start_fd, 0);
	pipe_pair(&c1->status_fd, &status_w, 0);
	int p1_in = p1->in_fd, p1_out0 = p1->out_fd[0], p1_out1 = p1->out_fd[1];
	int c1_start = c1->start_fd, c1_status = c1->status_fd;

	rt_reaped(t, FAKE_PID(2), 3 << 8);
	CHECK(p1->state == RT_EXITED && p1->wait_status == 3 << 8, "reaped: exited with its wait status");
	CHECK(p1->in_fd == -1 && !fd_open(p1_in), "reaped: stdin closed (nobody reads it)");
	CHECK(p1->out_fd[0] == p1_out0 && fd_open(p1_out0) && p1->out_fd[1] == p1_out1 && fd_open(p1_out1),
	      "reaped: stdout and stderr stay open for the host to drain");
	CHECK_EQ_INT(nremoved, 0, "a process exits while its container's init runs: the cgroup stays");
	rt_reaped(t, FAKE_PID(2), 9);
	CHECK_EQ_INT(p1->wait_status, 3 << 8, "reaped twice (a reused pid, already gone): the first status stays");
	rt_reaped(t, FAKE_PID(77), 0);
	CHECK(c1->state == RT_RUNNING && p2->state == RT_RUNNING && e1->state == RT_RUNNING,
	      "a pid not in the table (a set-up helper, an orphan) changes nothing");

	rt_reaped(t, FAKE_PID(1), SIGKILL);
	CHECK(c1->state == RT_EXITED && WIFSIGNALED(c1->wait_status) && WTERMSIG(c1->wait_status) == SIGKILL,
	      "the init reaped: exited by SIGKILL");
	CHECK(c1->start_fd == -1 && !fd_open(c1_start) && c1->status_fd == -1 && !fd_open(c1_status),
	      "... its start and status pipes closed");
	CHECK(nremoved == 1 && !strcmp(removed[0], "c1"), "... its cgroup removed (c1)");
	rt_reaped(t, FAKE_PID(3), 0);
	CHECK(nremoved == 2 && !strcmp(removed[1], "c1"),
	      "a process reaped after its init: the cgroup removal is retried");
	rt_reaped(t, FAKE_PID(4), 0);
	CHECK_EQ_INT(nremoved, 2, "an external process: its shared cgroup stays");
	close(in_r);
	close(out_w[0]);
	close(out_w[1]);
	close(start_r);
	close(status_w);
	rt_table_destroy(t);

	/* The production seam on a host without the guest's cgroups: best effort. */
	t = table();
	add(t, "uvm-unit-no-such-cgroup", NULL, FAKE_PID(1));
	rt_reaped(t, FAKE_PID(1), 0);
	CHECK(rt_table_find(t, "uvm-unit-no-such-cgroup", NULL)->state == RT_EXITED,
	      "the default cgroup removal tolerates a missing cgroup");
	rt_table_destroy(t);
}

/* agent_child_exited: the reaper's entry point in the agent. */
static void test_agent_child_exited(void)
{
	struct agent a;
	memset(&a, 0, sizeof a);
	agent_child_exited(&a, FAKE_PID(1), 0); /* before agent_init made the table */
	CHECK(a.procs == NULL, "a child reaped before the agent has a table is ignored");
	a.procs = recorded_table();
	add(a.procs, "", "e1", FAKE_PID(1));
	agent_child_exited(&a, FAKE_PID(1), 5 << 8);
	CHECK(rt_table_find(a.procs, "", "e1")->state == RT_EXITED, "agent_child_exited marks the process exited");
	rt_table_destroy(a.procs);
}

/* ------------------------------------------------------------ ids and limits */

static void test_check_new(void)
{
	struct rt_table *t = recorded_table();
	struct uvm_err err = {0, ""};
	char id[16];
	for (int i = 0; i < RT_MAX_CONTAINERS; i++) {
		snprintf(id, sizeof id, "c%d", i);
		add(t, id, NULL, FAKE_PID(i));
	}
	CHECK_EQ_INT(rt_table_containers(t), RT_MAX_CONTAINERS, "%d containers run", RT_MAX_CONTAINERS);
	CHECK_EQ_INT(rt_check_new(t, "cnew", NULL, &err), -1, "one more container is refused");
	CHECK_EQ_INT(err.code, EAGAIN, "... EAGAIN");
	CHECK_MSG(err.msg, "at most 64 containers", "... the message names the limit");
	CHECK_EQ_INT(rt_check_new(t, "cnew", "", &err), -1, "... also with process id \"\"");
	CHECK_EQ_INT(rt_check_new(t, "c0", "p1", &err), 0, "a process in a container is not a container: %s", err.msg);
	CHECK_EQ_INT(rt_check_new(t, "", "e1", &err), 0, "an external process neither: %s", err.msg);
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof id, "p%d", i);
		add(t, "c0", id, FAKE_PID(100 + i));
	}
	rt_reaped(t, FAKE_PID(100), 0);
	rt_reaped(t, FAKE_PID(101), 0);
	CHECK_EQ_INT(rt_check_new(t, "cnew", NULL, &err), -1, "exited processes do not free a container slot");
	rt_reaped(t, FAKE_PID(5), 0);
	CHECK_EQ_INT(rt_table_containers(t), RT_MAX_CONTAINERS - 1, "an exited init: %d live containers",
		     RT_MAX_CONTAINERS - 1);
	CHECK_EQ_INT(rt_check_new(t, "cnew", NULL, &err), 0, "... so one more container may start: %s", err.msg);
	CHECK_EQ_INT(rt_check_new(t, "c5", NULL, &err), 0, "an exited container's id may be used again: %s", err.msg);
	CHECK(rt_table_find(t, "c5", NULL) == NULL, "... its old entry is released");
	add(t, "cnew", NULL, FAKE_PID(500));
	CHECK_EQ_INT(rt_check_new(t, "cnew2", NULL, &err), -1, "... and then the limit holds again");

	/* Ids: a running one is taken, an exited one is forgotten and free. */
	CHECK_EQ_INT(rt_check_new(t, "c0", "p2", &err), -1, "a running process's id is taken");
	CHECK_EQ_INT(err.code, EEXIST, "... EEXIST");
	CHECK_MSG(err.msg, "process id 'p2' is in use by a running process", "... naming the id");
	CHECK_EQ_INT(rt_check_new(t, "c1", NULL, &err), -1, "a running container's id is taken");
	CHECK_MSG(err.msg, "process id 'c1' is in use", "... naming the container");
	CHECK_EQ_INT(rt_check_new(t, "c0", "p0", &err), 0, "an exited process's id may be used again: %s", err.msg);
	CHECK(rt_table_find(t, "c0", "p0") == NULL, "... its old entry is released");
	rt_table_destroy(t);
}

/* ------------------------------------------------------------ counts, visits, tables */

struct visit {
	int n, c1_init, p1_exited, e1;
};

static void visit(void *ctx, const char *cid, const char *pid_id, pid_t pid, enum rt_state st)
{
	struct visit *v = ctx;
	v->n++;
	v->c1_init += !strcmp(cid, "c1") && !*pid_id && pid == FAKE_PID(1) && st == RT_CREATED;
	v->p1_exited += !strcmp(cid, "c1") && !strcmp(pid_id, "p1") && st == RT_EXITED;
	v->e1 += !*cid && !strcmp(pid_id, "e1") && st == RT_RUNNING;
}

static void test_counts_and_tables(void)
{
	struct rt_table *t = recorded_table(), *u = table();
	size_t containers, running, exited;
	struct visit v = {0, 0, 0, 0};
	add(t, "c1", NULL, FAKE_PID(1))->state = RT_CREATED;
	add(t, "c1", "p1", FAKE_PID(2));
	add(t, "", "e1", FAKE_PID(3));
	add(t, "c2", NULL, FAKE_PID(4));
	rt_reaped(t, FAKE_PID(2), 0);
	rt_reaped(t, FAKE_PID(4), 0);
	rt_counts(t, &containers, &running, &exited);
	CHECK(containers == 1 && running == 2 && exited == 2,
	      "counts: 1 live container, 2 running (created counts), 2 exited");
	rt_for_each(t, visit, &v);
	CHECK(v.n == 4 && v.c1_init == 1 && v.p1_exited == 1 && v.e1 == 1,
	      "rt_for_each visits every entry with its state");

	/* Tables are independent. */
	CHECK(rt_table_find(u, "c1", NULL) == NULL, "another table has none of this one's entries");
	rt_counts(u, &containers, &running, &exited);
	CHECK(containers == 0 && running == 0 && exited == 0, "... and counts nothing");
	struct rt_entry *ue = add(u, "c1", NULL, FAKE_PID(1));
	CHECK(ue && ue->seq == 1, "... its sequence starts at 1");
	CHECK(rt_table_by_pid(u, FAKE_PID(1)) == ue && rt_table_by_pid(t, FAKE_PID(1)) != ue,
	      "... lookups stay in their table");
	rt_table_destroy(u);
	rt_table_destroy(t);
}

static void test_keep_filter(void)
{
	struct rt_table *t = table();
	struct uvm_err err = {0, ""};
	struct sock_filter insns[3] = {{0x20, 0, 0, 4}, {0x15, 0, 1, 0xc000003e}, {0x06, 0, 0, 0x7fff0000}};
	struct sock_fprog prog = {3, insns};
	struct rt_entry *e = add(t, "c1", NULL, FAKE_PID(1));
	CHECK_EQ_INT(rt_table_keep_filter(e, &prog, &err), 0, "the container's filter is kept: %s", err.msg);
	insns[2].k = 0; /* the spec's memory is gone after create */
	CHECK(e->creds.seccomp == &e->filter && e->filter.len == 3 && e->filter.filter != insns &&
		      e->filter.filter[2].k == 0x7fff0000,
	      "... as the entry's own copy");
	struct rt_entry *f = add(t, "c2", NULL, FAKE_PID(2));
	CHECK(rt_table_keep_filter(f, NULL, &err) == 0 && f->creds.seccomp == NULL, "unconfined: no filter kept");
	rt_table_destroy(t); /* frees the copy (the leak check would say) */
}

/* ------------------------------------------------------------ signals and stdio */

/* A real child that waits for a signal. */
static pid_t waiting_child(void)
{
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

static void test_signal_shutdown(void)
{
	struct rt_table *t = recorded_table();
	struct uvm_err err = {0, ""};
	int status = 0;
	pid_t child = waiting_child();
	add(t, "", "e1", child);
	CHECK_EQ_INT(rt_signal(t, "", "e1", SIGTERM, &err), 0, "rt_signal a running process: %s", err.msg);
	CHECK(waitpid(child, &status, 0) == child && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM,
	      "... it got SIGTERM");
	rt_reaped(t, child, status);
	CHECK_EQ_INT(rt_signal(t, "", "e1", SIGTERM, &err), -1, "rt_signal an exited process fails");
	CHECK_EQ_INT(err.code, ESRCH, "... ESRCH, nothing sent");
	CHECK_EQ_INT(rt_signal(t, "c1", "nope", SIGTERM, &err), -1, "rt_signal an unknown process fails");
	CHECK_MSG(err.msg, "process 'nope' is not running", "... naming it");

	CHECK_EQ_INT(rt_shutdown(t, "", &err), -1, "rt_shutdown of \"\" (the UVM) is refused");
	CHECK_EQ_INT(err.code, ENOENT, "... ENOENT");
	CHECK_EQ_INT(rt_shutdown(t, "c9", &err), -1, "rt_shutdown of an unknown container is refused");

	/* A created, never started init: EOF on its start pipe, and SIGKILL. */
	pid_t init = waiting_child();
	struct rt_entry *c1 = add(t, "c1", NULL, init);
	int start_r;
	char byte;
	c1->state = RT_CREATED;
	pipe_pair(&start_r, &c1->start_fd, 0);
	CHECK_EQ_INT(rt_shutdown(t, "c1", &err), 0, "rt_shutdown of a created container: %s", err.msg);
	CHECK(c1->start_fd == -1 && read(start_r, &byte, 1) == 0, "... its start pipe is closed (EOF for the init)");
	CHECK(waitpid(init, &status, 0) == init && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	      "... and its init got SIGKILL");
	rt_reaped(t, init, status);
	CHECK_EQ_INT(rt_shutdown(t, "c1", &err), 0, "rt_shutdown of an exited container: nothing to do: %s", err.msg);
	CHECK(nremoved == 1 && !strcmp(removed[0], "c1"), "the init reaped: its cgroup removed");
	close(start_r);
	rt_table_destroy(t);
}

static void test_stdio(void)
{
	struct rt_table *t = recorded_table();
	struct uvm_err err = {0, ""};
	uint8_t buf[64];
	size_t got = 0, written = 0;
	int eof = 0, out_w, err_w, in_r;
	struct rt_entry *e = add(t, "", "e1", FAKE_PID(1));
	e->stdio = 1;
	pipe_pair(&e->out_fd[0], &out_w, 1);
	pipe_pair(&e->out_fd[1], &err_w, 1);
	pipe_pair(&in_r, &e->in_fd, 1);
	add(t, "", "quiet", FAKE_PID(2));

	CHECK(write(out_w, "hello", 5) == 5, "(the process writes 5 bytes)");
	CHECK_EQ_INT(rt_read_output(t, "", "e1", 0, buf, sizeof buf, &got, &eof, &err), 0, "read_output: %s", err.msg);
	CHECK(got == 5 && !memcmp(buf, "hello", 5) && !eof, "... the 5 bytes, not at EOF (the writer is open)");
	CHECK_EQ_INT(rt_read_output(t, "", "e1", 0, buf, sizeof buf, &got, &eof, &err), 0, "read_output again");
	CHECK(got == 0 && !eof, "... nothing now, without blocking");
	CHECK(write(out_w, "0123456789", 10) == 10, "(10 more bytes)");
	CHECK(rt_read_output(t, "", "e1", 0, buf, 4, &got, &eof, &err) == 0 && got == 4 && !memcmp(buf, "0123", 4),
	      "read_output with max 4: 4 bytes");
	close(out_w);
	CHECK(rt_read_output(t, "", "e1", 0, buf, sizeof buf, &got, &eof, &err) == 0 && got == 6 && eof,
	      "the writer gone: the rest (6 bytes) and EOF");
	CHECK(e->out_fd[0] == -1 && e->out_eof[0], "... the stream is closed");
	CHECK(rt_read_output(t, "", "e1", 0, buf, sizeof buf, &got, &eof, &err) == 0 && got == 0 && eof,
	      "... and stays at EOF");
	CHECK(rt_read_output(t, "", "e1", 1, buf, sizeof buf, &got, &eof, &err) == 0 && got == 0 && !eof,
	      "stderr is its own stream (open, empty)");
	CHECK_EQ_INT(rt_read_output(t, "", "e1", 2, buf, sizeof buf, &got, &eof, &err), -1, "stream 2 is refused");
	CHECK_EQ_INT(err.code, EINVAL, "... EINVAL");

	CHECK_EQ_INT(rt_write_stdin(t, "", "e1", (const uint8_t *)"abc", 3, &written, &err), 0, "write_stdin: %s",
		     err.msg);
	CHECK(written == 3 && read(in_r, buf, sizeof buf) == 3 && !memcmp(buf, "abc", 3),
	      "... 3 bytes reach the process");
	CHECK_EQ_INT(rt_close_stdin(t, "", "e1", &err), 0, "close_stdin");
	CHECK(e->in_fd == -1 && read(in_r, buf, sizeof buf) == 0, "... the process sees EOF");
	CHECK_EQ_INT(rt_write_stdin(t, "", "e1", (const uint8_t *)"x", 1, &written, &err), -1,
		     "write_stdin after close_stdin fails");
	CHECK_EQ_INT(err.code, EPIPE, "... EPIPE");
	CHECK_MSG(err.msg, "stdin of 'e1' is closed", "... saying stdin is closed");

	CHECK_EQ_INT(rt_read_output(t, "", "quiet", 0, buf, sizeof buf, &got, &eof, &err), -1,
		     "read_output of a process without stdio is refused");
	CHECK_EQ_INT(err.code, EPERM, "... EPERM");
	CHECK_MSG(err.msg, "has no stdio for the host", "... saying why");
	CHECK_EQ_INT(rt_close_stdin(t, "c1", "nope", &err), -1, "close_stdin of an unknown process is refused");
	CHECK_EQ_INT(err.code, ENOENT, "... ENOENT");
	close(err_w);
	close(in_r);
	rt_table_destroy(t);
}

int main(void)
{
	test_fill_until_full();
	test_eviction();
	test_lookup();
	test_reaped();
	test_agent_child_exited();
	test_check_new();
	test_counts_and_tables();
	test_keep_filter();
	test_signal_shutdown();
	test_stdio();
	return check_done();
}
