/* The sequence of `uvm run` (docs/sandbox.md): layers, policy, launch,
 * bind and mount, create, start, then one poll loop that pulls the
 * processes' output, pushes their input, watches their state and serves
 * the control socket, and finally the tear-down. The agent serves one
 * request at a time; this loop is its only client, so control requests
 * and the loop's own polling take turns on one connection. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"
#include "hex.h"
#include "json_copy.h"
#include "run.h"

#define MAX_PROCS 65 /* the init and 64 execs */
#define BOOT_TIMEOUT_S 600
#define ARGS_MAX (1u << 20)

enum { P_FREE, P_CREATED, P_RUNNING, P_EXITED };

struct proc {
	int state;
	char id[129]; /* "" for the init */
	uint64_t seq; /* creation order */
	int exit_code, signal;
	int stdio;
	struct run_sink out[2];
	int out_eof[2];
	struct run_source in;
	int has_in;       /* a source feeds its stdin */
	int in_open;      /* its stdin in the guest is still open */
	int in_close_req; /* close_stdin asked: flush, then close */
};

struct session {
	const struct run_opts *o;
	char work_dir[RUN_PATH_MAX];
	int own_work_dir;
	char layers_json[RUN_PATH_MAX];
	struct run_layer layers[RUN_MAX_LAYERS];
	size_t nlayers;
	struct run_policy pol;
	struct run_create create;
	struct run_vm vm;
	struct run_agent agent;
	char targets[RUN_MAX_LAYERS][RUN_PATH_MAX];
	size_t nmounted;
	char scratch[RUN_PATH_MAX], rootfs[RUN_PATH_MAX];
	struct proc procs[MAX_PROCS]; /* [0] the init */
	uint64_t seq;
	struct run_ctl ctl;
	int ctl_on, started, stop, busy;
};

static volatile sig_atomic_t signalled;

static void on_signal(int sig)
{
	signalled = sig;
}

/* ------------------------------------------------------------ small helpers */

static char *finish(struct json_writer *w)
{
	size_t len;
	return json_writer_finish(w, &len);
}

/* {"container_id"[, "process_id"]} members for process p. */
static void address(struct json_writer *w, const struct session *s, const struct proc *p)
{
	json_w_key(w, "container_id");
	json_w_cstr(w, s->create.container_id);
	if (p->id[0]) {
		json_w_key(w, "process_id");
		json_w_cstr(w, p->id);
	}
}

/* An agent request about process p with extra members; 0 ok answer, 1
 * error answer (r filled), -1 transport (the session stops). */
static int proc_call(struct session *s, struct proc *p, const char *op, const char *stream, const char *data,
		     int signal, struct run_reply *r)
{
	struct json_writer w;
	struct uvm_err err = {0, ""};
	json_writer_init(&w, ARGS_MAX);
	json_w_obj(&w);
	address(&w, s, p);
	if (stream) {
		json_w_key(&w, "stream");
		json_w_cstr(&w, stream);
		json_w_key(&w, "max_bytes");
		json_w_uint(&w, RUN_IO_CHUNK);
	}
	if (data) {
		json_w_key(&w, "data_base64");
		json_w_cstr(&w, data);
	}
	if (signal) {
		json_w_key(&w, "signal");
		json_w_int(&w, signal);
	}
	json_w_end(&w);
	char *args = finish(&w);
	int rc = args ? run_agent_call(&s->agent, op, args, r, &err) : uvm_fail(&err, ENOMEM, "out of memory");
	free(args);
	if (rc < 0) {
		fprintf(stderr, "uvm run: %s\n", err.msg);
		s->stop = 1;
		return -1;
	}
	return r->ok ? 0 : 1;
}

static int stopped(const struct proc *p)
{
	return p->state == P_EXITED && p->out_eof[0] && p->out_eof[1] && run_sink_idle(&p->out[0]) &&
	       run_sink_idle(&p->out[1]);
}

static int status_of(const struct proc *p)
{
	return p->signal ? 128 + p->signal : p->exit_code;
}

/* Once a process is stopped (exited, its output drained and written), its
 * files are closed: a reader of an output FIFO sees its end there
 * (containerd's client waits for it before it deletes the process), and
 * a writer of its stdin FIFO is told nobody reads any more. Idempotent. */
static void close_files(struct proc *p)
{
	if (!stopped(p))
		return;
	run_sink_close(&p->out[0]);
	run_sink_close(&p->out[1]);
	run_source_close(&p->in);
	p->has_in = 0;
	p->in_open = 0;
}

static void proc_release(struct proc *p)
{
	run_sink_close(&p->out[0]);
	run_sink_close(&p->out[1]);
	run_source_close(&p->in);
	memset(p, 0, sizeof *p);
	p->state = P_FREE;
}

/* Sinks and source of a new process; no stdio: nothing to pump. */
static int proc_open(struct proc *p, int stdio, const char *in, const char *out, const char *errp, int out_fd,
		     int err_fd, struct uvm_err *err)
{
	p->stdio = stdio;
	p->in.fd = -1;
	p->out[0].fd = p->out[1].fd = -1;
	p->out_eof[0] = p->out_eof[1] = !stdio;
	p->in_open = stdio;
	if (!stdio)
		return 0;
	if (run_sink_open(&p->out[0], out, out_fd, err) < 0 || run_sink_open(&p->out[1], errp, err_fd, err) < 0)
		return -1;
	if (!in) {
		p->in_close_req = 1; /* no input: the process reads EOF */
		return 0;
	}
	if (run_source_open(&p->in, in, err) < 0)
		return -1;
	p->has_in = 1;
	return 0;
}

/* ------------------------------------------------------------ the loop's work */

static void refresh(struct session *s, struct proc *p)
{
	struct run_reply r;
	if (p->state != P_RUNNING)
		return;
	int rc = proc_call(s, p, "wait_process", NULL, NULL, 0, &r);
	const char *state = rc == 0 ? json_str(json_get(r.result, "state"), NULL) : NULL;
	if (rc == 1) {
		/* The agent forgot it (its table is bounded): it has exited. */
		fprintf(stderr, "uvm run: wait_process %s: %s\n", p->id[0] ? p->id : "(init)", r.message);
		p->state = P_EXITED;
		p->exit_code = 255;
	} else if (state && strcmp(state, "exited") == 0) {
		int64_t v = 0;
		struct uvm_err e;
		p->state = P_EXITED;
		if (json_int(json_get(r.result, "signal"), 1, 64, &v, &e) == 0)
			p->signal = (int)v;
		else if (json_int(json_get(r.result, "exit_code"), 0, 255, &v, &e) == 0)
			p->exit_code = (int)v;
		s->busy = 1;
	}
	run_reply_free(&r);
}

static void pump_out(struct session *s, struct proc *p, int stream)
{
	struct run_reply r;
	if (p->out_eof[stream] || !run_sink_idle(&p->out[stream]))
		return;
	int rc = proc_call(s, p, "read_output", stream ? "stderr" : "stdout", NULL, 0, &r);
	if (rc == 0) {
		size_t len;
		const char *b64 = json_str(json_get(r.result, "data_base64"), &len);
		int eof = 0;
		json_bool(json_get(r.result, "eof"), &eof);
		uint8_t *buf = b64 ? malloc(len / 4 * 3 + 3) : NULL;
		long n = buf ? uvm_base64_decode(b64, len, buf, len / 4 * 3 + 3) : -1;
		if (n > 0) {
			run_sink_write(&p->out[stream], buf, (size_t)n);
			s->busy = 1;
		}
		free(buf);
		if (n < 0 || eof)
			p->out_eof[stream] = 1;
	} else if (rc == 1) {
		fprintf(stderr, "uvm run: read_output %s: %s\n", p->id[0] ? p->id : "(init)", r.message);
		p->out_eof[stream] = 1;
	}
	run_reply_free(&r);
}

static void pump_in(struct session *s, struct proc *p)
{
	struct run_reply r;
	if (!p->in_open || p->state == P_CREATED)
		return;
	if (p->has_in && p->in.off < p->in.len) {
		size_t n = p->in.len - p->in.off;
		char *b64 = malloc(4 * ((n + 2) / 3) + 1);
		if (!b64)
			return;
		uvm_base64_encode((const uint8_t *)p->in.buf + p->in.off, n, b64);
		int rc = proc_call(s, p, "write_stdin", NULL, b64, 0, &r);
		free(b64);
		uint64_t written = 0;
		if (rc == 0 && json_uint64(json_get(r.result, "written"), &written) == 0 && written <= n) {
			p->in.off += (size_t)written;
			s->busy |= written > 0;
		} else if (rc != 0) {
			/* The process is gone or its stdin closed: stop feeding it. */
			p->in.off = p->in.len;
			p->in.eof = 1;
		}
		run_reply_free(&r);
		if (p->in.off < p->in.len)
			return;
	}
	if ((p->has_in && p->in.eof) || p->in_close_req || (p->state == P_EXITED)) {
		if (p->state != P_EXITED && proc_call(s, p, "close_stdin", NULL, NULL, 0, &r) >= 0)
			run_reply_free(&r);
		p->in_open = 0;
		run_source_close(&p->in);
		p->has_in = 0;
	}
}

static void tick(struct session *s)
{
	for (size_t i = 0; i < MAX_PROCS && !s->stop; i++) {
		struct proc *p = &s->procs[i];
		if (p->state == P_FREE || p->state == P_CREATED)
			continue;
		refresh(s, p);
		pump_out(s, p, 0);
		pump_out(s, p, 1);
		pump_in(s, p);
		close_files(p);
	}
}

/* ------------------------------------------------------------ control ops */

static void ok_begin(struct json_writer *w)
{
	json_w_obj(w);
	json_w_key(w, "ok");
	json_w_bool(w, 1);
	json_w_key(w, "result");
	json_w_obj(w);
}

static void ok_end(struct json_writer *w)
{
	json_w_end(w);
	json_w_end(w);
}

static void ok_empty(struct json_writer *w)
{
	ok_begin(w);
	ok_end(w);
}

static void agent_error(struct json_writer *w, const char *what, const struct run_reply *r)
{
	char msg[1024];
	snprintf(msg, sizeof msg, "%s: %s: %s", what, r->kind ? r->kind : "failed",
		 r->message ? r->message : "no answer");
	run_ctl_error(w, msg, r->reason, r->reason_len);
}

static struct proc *find(struct session *s, const char *exec_id)
{
	if (!exec_id)
		return &s->procs[0];
	for (size_t i = 1; i < MAX_PROCS; i++)
		if (s->procs[i].state != P_FREE && strcmp(s->procs[i].id, exec_id) == 0)
			return &s->procs[i];
	return NULL;
}

static struct proc *find_or_fail(struct session *s, const char *exec_id, struct json_writer *w)
{
	struct proc *p = find(s, exec_id);
	if (!p) {
		char msg[256];
		snprintf(msg, sizeof msg, "no exec with exec_id '%s' (exec creates one)", exec_id);
		run_ctl_error(w, msg, NULL, 0);
	}
	return p;
}

static int start_init(struct session *s, struct uvm_err *err)
{
	struct run_reply r;
	char args[200];
	snprintf(args, sizeof args, "{\"container_id\":\"%s\"}", s->create.container_id);
	if (run_agent_must(&s->agent, "start_container", args, &r, err) < 0) {
		run_reply_free(&r);
		return -1;
	}
	run_reply_free(&r);
	s->procs[0].state = P_RUNNING;
	s->started = 1;
	return 0;
}

static void op_start(struct session *s, struct json_writer *w)
{
	struct uvm_err err = {0, ""};
	if (s->started) {
		run_ctl_error(w, "start: the init was started already (only uvm run --no-start waits for start)", NULL,
			      0);
		return;
	}
	if (start_init(s, &err) < 0) {
		run_ctl_error(w, err.msg, NULL, 0);
		return;
	}
	ok_begin(w);
	json_w_key(w, "pid");
	json_w_int(w, s->vm.pid);
	ok_end(w);
}

/* A free slot: an unused one, else that of the oldest stopped exec. */
static struct proc *slot(struct session *s)
{
	struct proc *old = NULL;
	for (size_t i = 1; i < MAX_PROCS; i++) {
		struct proc *p = &s->procs[i];
		if (p->state == P_FREE)
			return p;
		if (stopped(p) && (!old || p->seq < old->seq))
			old = p;
	}
	if (old)
		proc_release(old);
	return old;
}

static char *exec_args(struct session *s, const struct run_ctl_req *q, int stdio)
{
	struct json_writer w;
	json_writer_init(&w, ARGS_MAX);
	json_w_obj(&w);
	json_w_key(&w, "container_id");
	json_w_cstr(&w, s->create.container_id);
	json_w_key(&w, "process_id");
	json_w_cstr(&w, q->exec_id);
	json_w_key(&w, "argv");
	json_w_value(&w, q->argv);
	json_w_key(&w, "env");
	if (q->env)
		json_w_value(&w, q->env);
	else
		json_w_raw(&w, s->create.env, strlen(s->create.env));
	json_w_key(&w, "working_dir");
	json_w_cstr(&w, q->cwd ? q->cwd : s->create.working_dir);
	if (stdio) {
		json_w_key(&w, "stdio");
		json_w_bool(&w, 1);
	}
	json_w_end(&w);
	return finish(&w);
}

static void op_exec(struct session *s, const struct run_ctl_req *q, struct json_writer *w)
{
	struct uvm_err err = {0, ""};
	struct run_reply r = {0};
	char msg[RUN_PATH_MAX + 200];
	if (find(s, q->exec_id)) {
		snprintf(msg, sizeof msg, "exec: exec_id '%s' is in use", q->exec_id);
		run_ctl_error(w, msg, NULL, 0);
		return;
	}
	struct proc *p = slot(s);
	if (!p) {
		run_ctl_error(w, "exec: 64 execs are running or still being drained: wait for one to stop", NULL, 0);
		return;
	}
	int stdio = q->stdin_path || q->stdout_path || q->stderr_path;
	if (proc_open(p, stdio, q->stdin_path, q->stdout_path, q->stderr_path, -1, -1, &err) < 0) {
		proc_release(p);
		snprintf(msg, sizeof msg, "exec: %s", err.msg);
		run_ctl_error(w, msg, NULL, 0);
		return;
	}
	char *args = exec_args(s, q, stdio);
	int rc = args ? run_agent_call(&s->agent, "exec_in_container", args, &r, &err)
		      : uvm_fail(&err, E2BIG, "the request does not fit");
	free(args);
	if (rc < 0 || !r.ok) {
		proc_release(p);
		if (rc < 0) {
			snprintf(msg, sizeof msg, "exec: %s", err.msg);
			run_ctl_error(w, msg, NULL, 0);
			s->stop = 1; /* the agent connection is lost */
		} else
			agent_error(w, "exec: exec_in_container", &r);
		run_reply_free(&r);
		return;
	}
	run_reply_free(&r);
	snprintf(p->id, sizeof p->id, "%s", q->exec_id);
	p->seq = ++s->seq;
	p->state = P_RUNNING;
	ok_begin(w);
	json_w_key(w, "exec_id");
	json_w_cstr(w, p->id);
	ok_end(w);
}

static void op_kill(struct session *s, const struct run_ctl_req *q, struct json_writer *w)
{
	struct run_reply r;
	struct proc *p = find_or_fail(s, q->exec_id, w);
	if (!p)
		return;
	int rc = proc_call(s, p, "signal_process", NULL, NULL, q->signal, &r);
	if (rc == 0)
		ok_empty(w);
	else if (rc == 1)
		agent_error(w, "kill: signal_process", &r);
	else
		run_ctl_error(w, "kill: the agent connection failed", NULL, 0);
	run_reply_free(&r);
}

static void op_close_stdin(struct session *s, const struct run_ctl_req *q, struct json_writer *w)
{
	struct proc *p = find_or_fail(s, q->exec_id, w);
	if (!p)
		return;
	p->in_close_req = 1;
	if (p->state != P_CREATED)
		pump_in(s, p);
	ok_empty(w);
}

static void op_state(struct session *s, const struct run_ctl_req *q, struct json_writer *w)
{
	struct proc *p = find_or_fail(s, q->exec_id, w);
	if (!p)
		return;
	refresh(s, p);
	close_files(p); /* closed before the first "stopped" is answered */
	ok_begin(w);
	json_w_key(w, "status");
	json_w_cstr(w, p->state == P_CREATED ? "created" : stopped(p) ? "stopped" : "running");
	if (stopped(p)) {
		json_w_key(w, "exit_code");
		json_w_int(w, status_of(p));
		if (p->signal) {
			json_w_key(w, "signal");
			json_w_int(w, p->signal);
		}
	}
	ok_end(w);
}

static void op_pids(struct session *s, struct json_writer *w)
{
	ok_begin(w);
	json_w_key(w, "pids");
	json_w_arr(w);
	for (size_t i = 0; i < MAX_PROCS; i++)
		if (s->procs[i].state != P_FREE && (i > 0 || s->started))
			json_w_int(w, s->vm.pid);
	json_w_end(w);
	ok_end(w);
}

static void op_stats(struct session *s, struct json_writer *w)
{
	struct run_reply r;
	struct uvm_err err = {0, ""};
	if (run_agent_call(&s->agent, "get_properties", NULL, &r, &err) < 0) {
		run_ctl_error(w, err.msg, NULL, 0);
		s->stop = 1;
		return;
	}
	if (!r.ok) {
		agent_error(w, "stats: get_properties (the policy's framework.allow_properties_access)", &r);
		run_reply_free(&r);
		return;
	}
	int64_t total = 0, avail = 0, rss = 0;
	json_int(json_get(r.result, "mem_total_kib"), 0, INT64_MAX, &total, &err);
	json_int(json_get(r.result, "mem_available_kib"), 0, INT64_MAX, &avail, &err);
	json_int(json_get(r.result, "agent_vmrss_kib"), 0, INT64_MAX, &rss, &err);
	ok_begin(w);
	json_w_key(w, "memory_kib");
	json_w_int(w, total - avail);
	json_w_key(w, "agent_vmrss_kib");
	json_w_int(w, rss);
	ok_end(w);
	run_reply_free(&r);
}

/* get_report with the client's nonce: the agent's result unchanged, plus
 * the SHA-256 of the policy uvm run bound (HOST_DATA, if the VM is the one
 * uvm run launched: the verifier checks that in the report, not here). */
static void op_report(struct session *s, const struct run_ctl_req *q, struct json_writer *w)
{
	struct run_reply r;
	struct uvm_err err = {0, ""};
	char args[2 * RUN_CTL_NONCE_MAX + 32];
	uint8_t sha[UVM_SHA256_LEN];
	char hex[2 * UVM_SHA256_LEN + 1];
	snprintf(args, sizeof args, "{\"nonce\":\"%s\"}", q->nonce);
	if (run_agent_call(&s->agent, "get_report", args, &r, &err) < 0) {
		run_ctl_error(w, err.msg, NULL, 0);
		s->stop = 1;
		return;
	}
	if (!r.ok) {
		agent_error(w, "report: get_report", &r);
		run_reply_free(&r);
		return;
	}
	if (json_type(r.result) != JSON_OBJECT) {
		run_ctl_error(w, "report: get_report: the agent's result is not an object", NULL, 0);
		run_reply_free(&r);
		return;
	}
	ok_begin(w);
	for (size_t i = 0; i < json_len(r.result); i++) {
		size_t klen;
		const char *key = json_key(json_at(r.result, i), &klen);
		if (klen == 13 && memcmp(key, "policy_sha256", 13) == 0)
			continue; /* ours, below */
		json_w_keyn(w, key, klen);
		json_w_value(w, json_at(r.result, i));
	}
	uvm_sha256(s->pol.bytes, s->pol.len, sha);
	uvm_hex_encode(sha, sizeof sha, hex);
	json_w_key(w, "policy_sha256");
	json_w_cstr(w, hex);
	ok_end(w);
	run_reply_free(&r);
}

static void handle(void *ctx, const struct run_ctl_req *q, struct json_writer *w)
{
	struct session *s = ctx;
	if (s->agent.fd < 0) {
		run_ctl_error(w, "the agent connection is lost: send shutdown", NULL, 0);
		return;
	}
	switch (q->op) {
	case CTL_START: op_start(s, w); break;
	case CTL_EXEC: op_exec(s, q, w); break;
	case CTL_KILL: op_kill(s, q, w); break;
	case CTL_CLOSE_STDIN: op_close_stdin(s, q, w); break;
	case CTL_STATE: op_state(s, q, w); break;
	case CTL_PIDS: op_pids(s, w); break;
	case CTL_STATS: op_stats(s, w); break;
	case CTL_REPORT: op_report(s, q, w); break;
	case CTL_SHUTDOWN:
		ok_empty(w);
		s->stop = 1;
		s->ctl.stop = 1;
		break;
	}
}

/* ------------------------------------------------------------ the loop */

static void loop(struct session *s)
{
	struct pollfd fds[RUN_CTL_CLIENTS + 1 + 3 * MAX_PROCS];
	int idle = 0;
	while (!s->stop) {
		if (signalled) {
			fprintf(stderr, "uvm run: signal %d: tearing down\n", (int)signalled);
			break;
		}
		if (!s->ctl_on && s->started && stopped(&s->procs[0]))
			break;
		if (run_launch_exited(&s->vm)) {
			fprintf(stderr, "uvm run: QEMU exited (status 0x%x) while the container was %s\n", s->vm.status,
				s->procs[0].state == P_EXITED ? "exited" : "running");
			run_launch_tail(&s->vm);
			break;
		}
		s->busy = 0;
		tick(s);
		size_t n = s->ctl_on ? run_ctl_pollfds(&s->ctl, fds, RUN_CTL_CLIENTS + 1) : 0, nctl = n;
		int running = 0;
		for (size_t i = 0; i < MAX_PROCS; i++) {
			struct proc *p = &s->procs[i];
			if (p->state == P_FREE)
				continue;
			running |= p->state == P_RUNNING || (p->state == P_EXITED && !stopped(p));
			if (p->has_in && p->in_open && !p->in.eof && p->in.off >= p->in.len && p->in.fd >= 0)
				fds[n++] = (struct pollfd){.fd = p->in.fd, .events = POLLIN};
			for (int k = 0; k < 2; k++)
				if (p->out[k].nonblock && !run_sink_idle(&p->out[k]))
					fds[n++] = (struct pollfd){.fd = p->out[k].fd, .events = POLLOUT};
		}
		idle = s->busy ? 0 : idle + 1;
		int timeout = s->busy ? 0 : running ? (idle < 20 ? 20 : 100) : 250;
		int got = poll(fds, n, timeout);
		if (got <= 0)
			continue;
		if (s->ctl_on)
			run_ctl_serve(&s->ctl, fds, nctl);
		for (size_t i = 0; i < MAX_PROCS; i++) {
			struct proc *p = &s->procs[i];
			for (size_t k = nctl; k < n; k++) {
				if (!fds[k].revents)
					continue;
				if (p->has_in && fds[k].fd == p->in.fd)
					run_source_read(&p->in, fds[k].revents);
				for (int j = 0; j < 2; j++)
					if (p->out[j].nonblock && fds[k].fd == p->out[j].fd)
						run_sink_flush(&p->out[j]);
			}
		}
	}
}

/* ------------------------------------------------------------ setup and tear-down */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static int make_work_dir(struct session *s, struct uvm_err *err)
{
	const char *tmp = getenv("TMPDIR");
	if (s->o->work_dir) {
		if (snprintf(s->work_dir, sizeof s->work_dir, "%s", s->o->work_dir) >= (int)sizeof s->work_dir - 64)
			return uvm_fail(err, ENAMETOOLONG, "--work-dir path too long");
		if (mkdir(s->work_dir, 0700) < 0 && errno != EEXIST)
			return uvm_fail(err, errno, "create --work-dir %s: %s", s->work_dir, strerror(errno));
		return 0;
	}
	if (snprintf(s->work_dir, sizeof s->work_dir, "%s/uvm-run-XXXXXX", tmp && *tmp ? tmp : "/tmp") >=
	    (int)sizeof s->work_dir - 64)
		return uvm_fail(err, ENAMETOOLONG, "TMPDIR is too long");
	if (!mkdtemp(s->work_dir))
		return uvm_fail(err, errno, "create a work directory %s: %s", s->work_dir, strerror(errno));
	s->own_work_dir = 1;
	return 0;
}

static int call_target(struct session *s, const char *op, const char *args, const char *key, char *out,
		       struct uvm_err *err)
{
	struct run_reply r;
	if (run_agent_must(&s->agent, op, args, &r, err) < 0) {
		run_reply_free(&r);
		return -1;
	}
	const char *t = json_str(json_get(r.result, key), NULL);
	if (!t || strlen(t) >= RUN_PATH_MAX) {
		run_reply_free(&r);
		return uvm_fail(err, EPROTO, "%s: the answer has no \"%s\"", op, key);
	}
	strcpy(out, t);
	run_reply_free(&r);
	return 0;
}

/* Step 4: set_policy, mount_device per layer, scratch_mount, mount_overlay. */
static int bind_and_mount(struct session *s, struct uvm_err *err)
{
	struct run_reply r;
	char *b64 = malloc(4 * ((s->pol.len + 2) / 3) + 64);
	if (!b64)
		return uvm_fail(err, ENOMEM, "out of memory");
	strcpy(b64, "{\"policy_base64\":\"");
	uvm_base64_encode((const uint8_t *)s->pol.bytes, s->pol.len, b64 + strlen(b64));
	strcat(b64, "\"}");
	int rc = run_agent_must(&s->agent, "set_policy", b64, &r, err);
	free(b64);
	run_reply_free(&r);
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < s->nlayers; i++) {
		char args[256];
		snprintf(args, sizeof args, "{\"serial\":\"layer%zu\",\"root_hash\":\"%s\"}", i, s->layers[i].root_hex);
		if (call_target(s, "mount_device", args, "target", s->targets[i], err) < 0)
			return uvm_wrap(err, "layer %zu (%s)", i, s->layers[i].digest);
		s->nmounted = i + 1;
	}
	if (call_target(s, "scratch_mount", "{\"serial\":\"scratch\",\"encrypted\":true}", "target", s->scratch, err) <
	    0)
		return -1;
	struct json_writer w;
	json_writer_init(&w, ARGS_MAX);
	json_w_obj(&w);
	json_w_key(&w, "container_id");
	json_w_cstr(&w, s->create.container_id);
	json_w_key(&w, "layers");
	json_w_arr(&w);
	for (size_t i = 0; i < s->nlayers; i++)
		json_w_cstr(&w, s->targets[i]);
	json_w_end(&w);
	json_w_key(&w, "scratch");
	json_w_cstr(&w, s->scratch);
	json_w_end(&w);
	char *args = finish(&w);
	rc = args ? call_target(s, "mount_overlay", args, "rootfs", s->rootfs, err) : -1;
	free(args);
	return rc;
}

/* Steps 1 to 5, up to the container created (and started). 0, or the
 * exit status with the message printed. */
static int setup(struct session *s)
{
	const struct run_opts *o = s->o;
	struct uvm_err err = {0, ""};
	char cache[RUN_PATH_MAX];
	const char *roots[RUN_MAX_LAYERS];
	struct stat st;
	if (o->control && lstat(o->control, &st) == 0) {
		fprintf(stderr, "uvm run: --control %s exists already (remove it, or choose another path)\n",
			o->control);
		return RUN_EXIT_FAILED;
	}
	if (o->layer_cache)
		snprintf(cache, sizeof cache, "%s", o->layer_cache);
	else if (run_layer_cache_default(cache, sizeof cache, &err) < 0)
		goto fail;
	if (make_work_dir(s, &err) < 0)
		goto fail;
	if (snprintf(s->layers_json, sizeof s->layers_json, "%s/layers.json", s->work_dir) >=
	    (int)sizeof s->layers_json) {
		uvm_fail(&err, ENAMETOOLONG, "--work-dir path too long");
		goto fail;
	}
	if (run_layers_prepare(o->image, cache, s->layers, &s->nlayers, &err) < 0 ||
	    run_layers_write_index(s->layers, s->nlayers, s->layers_json, &err) < 0 ||
	    run_policy_load(o, s->layers_json, s->work_dir, &s->pol, &err) < 0)
		goto fail;
	for (size_t i = 0; i < s->nlayers; i++)
		roots[i] = s->layers[i].root_hex;
	size_t index;
	if (run_policy_choose(s->pol.root, roots, s->nlayers, o->container, o->args, o->nargs, &index, &err) < 0) {
		fprintf(stderr, "uvm run: --policy %s: %s\n", o->policy ? o->policy : "(generated)", err.msg);
		return RUN_EXIT_NO_MATCH;
	}
	const struct json_value *c = json_at(json_get(s->pol.root, "containers"), index);
	if (run_create_build(c, index, o->args, o->nargs, &s->create, &err) < 0)
		goto fail;
	fprintf(stderr, "uvm run: policy container %zu '%s' as container_id %s\n", index, s->create.name,
		s->create.container_id);
	if (run_launch_start(o, s->work_dir, s->pol.path, s->layers, s->nlayers, &s->vm, &err) < 0)
		goto fail;
	fprintf(stderr, "uvm run: uvm launch is pid %d; console in %s\n", (int)s->vm.pid, s->vm.console);
	if (run_launch_wait_ready(&s->vm, BOOT_TIMEOUT_S, &err) < 0 ||
	    run_agent_connect(&s->agent, s->vm.socket, &err) < 0 || bind_and_mount(s, &err) < 0)
		goto fail;
	struct run_reply r;
	if (run_agent_must(&s->agent, "create_container", s->create.args, &r, &err) < 0) {
		run_reply_free(&r);
		goto fail;
	}
	run_reply_free(&r);
	struct proc *init = &s->procs[0];
	init->state = P_CREATED;
	if (proc_open(init, s->create.stdio, o->stdin_path, o->stdout_path, o->stderr_path, STDOUT_FILENO,
		      STDERR_FILENO, &err) < 0 ||
	    (!o->no_start && start_init(s, &err) < 0))
		goto fail;
	if (o->control) {
		if (run_ctl_listen(&s->ctl, o->control, handle, s, &err) < 0)
			goto fail;
		s->ctl_on = 1;
		fprintf(stderr, "uvm run: control socket %s\n", o->control);
	}
	fprintf(stderr, "uvm run: container %s %s\n", s->create.container_id, s->started ? "started" : "created");
	return 0;
fail:
	fprintf(stderr, "uvm run: %s\n", err.msg);
	return RUN_EXIT_FAILED;
}

static void best_effort(struct session *s, const char *op, const char *args)
{
	struct run_reply r;
	struct uvm_err err = {0, ""};
	if (s->agent.fd < 0)
		return;
	if (run_agent_call(&s->agent, op, args, &r, &err) < 0)
		fprintf(stderr, "uvm run: tear-down: %s\n", err.msg);
	else if (!r.ok)
		fprintf(stderr, "uvm run: tear-down: %s: %s: %s\n", op, r.kind, r.message);
	run_reply_free(&r);
}

/* Step 7. */
static void teardown(struct session *s)
{
	char args[RUN_PATH_MAX + 64];
	struct proc *init = &s->procs[0];
	/* The engine counts a container as running until shutdown_container,
	 * even after its init exited; its overlay cannot go before. */
	if (s->agent.fd >= 0 && init->state != P_FREE) {
		snprintf(args, sizeof args, "{\"container_id\":\"%s\"}", s->create.container_id);
		best_effort(s, "shutdown_container", args);
		if (init->state == P_CREATED) /* never started: killed before it ran */
			init->state = P_FREE;
		for (int i = 0; i < 100 && init->state == P_RUNNING && s->agent.fd >= 0; i++) {
			refresh(s, init);
			struct timespec nap = {0, 100 * 1000 * 1000};
			nanosleep(&nap, NULL);
		}
	}
	if (s->rootfs[0]) {
		snprintf(args, sizeof args, "{\"target\":\"%s\"}", s->rootfs);
		best_effort(s, "unmount_overlay", args);
	}
	if (s->scratch[0]) {
		snprintf(args, sizeof args, "{\"target\":\"%s\"}", s->scratch);
		best_effort(s, "scratch_unmount", args);
	}
	for (size_t i = s->nmounted; i-- > 0;) {
		snprintf(args, sizeof args, "{\"target\":\"%s\"}", s->targets[i]);
		best_effort(s, "unmount_device", args);
	}
	int asked = 0;
	if (s->agent.fd >= 0) {
		struct run_reply r;
		struct uvm_err err = {0, ""};
		asked = run_agent_call(&s->agent, "shutdown", NULL, &r, &err) == 0 && r.ok;
		run_reply_free(&r);
	}
	run_agent_close(&s->agent);
	if (s->vm.pid > 0) {
		if (!asked)
			kill(s->vm.pid, SIGTERM);
		run_launch_stop(&s->vm, asked ? 60 : 10);
	}
	for (size_t i = 0; i < MAX_PROCS; i++) {
		run_sink_close(&s->procs[i].out[0]);
		run_sink_close(&s->procs[i].out[1]);
		run_source_close(&s->procs[i].in);
	}
	if (s->vm.scratch[0])
		unlink(s->vm.scratch);
	if (s->vm.socket[0] == '/')
		unlink(s->vm.socket);
	if (s->layers_json[0])
		unlink(s->layers_json);
	if (s->own_work_dir)
		nftw(s->work_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int run_main(const struct run_opts *o)
{
	static struct session s;
	memset(&s, 0, sizeof s);
	s.o = o;
	s.agent.fd = -1;
	s.ctl.listen_fd = -1;
	for (size_t i = 0; i < MAX_PROCS; i++) {
		s.procs[i].in.fd = -1;
		s.procs[i].out[0].fd = s.procs[i].out[1].fd = -1;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	int rc = setup(&s);
	if (rc == 0)
		loop(&s);
	if (s.ctl_on)
		run_ctl_close(&s.ctl, 2000);
	if (rc == 0 || s.vm.pid > 0 || s.own_work_dir)
		teardown(&s);
	if (rc == 0) {
		struct proc *init = &s.procs[0];
		if (init->state == P_EXITED)
			rc = status_of(init);
		else {
			fprintf(stderr, "uvm run: the container did not run to its end\n");
			rc = RUN_EXIT_FAILED;
		}
	}
	run_create_free(&s.create);
	run_policy_free(&s.pol);
	return rc;
}
