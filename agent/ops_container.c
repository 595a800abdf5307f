/* Container and process executors (docs/protocol.md, docs/runtime.md).
 * The dispatcher (agent.c) decoded the request, asked the policy for the
 * ops it decides and commits or aborts the decision by what an executor
 * returns; an executor performs only the approved request (c->r) with the
 * decision's drops (c->d) applied. Reads of the process table (wait,
 * output, stdin) are not decided: they only reach what was allowed
 * earlier. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>

#include "hex.h"
#include "log.h"
#include "ops.h"
#include "runtime.h"
#include "runtime_spec.h"
#include "runtime_user.h"

/* The decode bounds max_bytes by REQ_READ_MAX; one answer must hold it. */
_Static_assert(REQ_READ_MAX <= RT_OUTPUT_MAX, "read_output's max_bytes fits one answer");

/* The table's address of a process: cid "" is an external process (the
 * decode saw container_id and/or process_id); pid NULL is a container's
 * init. */
static const char *cid_of(const struct request *r)
{
	return r->container_id ? r->container_id : "";
}

static const unsigned char *drop_env_of(const struct op_call *c)
{
	return c->d ? c->d->drop_env : NULL;
}

static int failed(struct op_error *e, const char *op, const struct uvm_err *err)
{
	return op_fail(e, OP_ERR_FAILED, "%s: %s", op, err->msg);
}

static void result_ok(struct json_writer *w, const char *key, const char *value)
{
	json_w_obj(w);
	json_w_key(w, key);
	json_w_cstr(w, value);
	json_w_end(w);
}

/* The end every acting op shares: log it (if runtime_logging was allowed),
 * then either the failure or the result {key: value}. */
static int finish(struct op_call *c, int rc, const struct uvm_err *err, const char *key, const char *value)
{
	const struct request *r = c->r;
	if (c->a->runtime_logging)
		log_msg("runtime: %s container=%s process=%s: %s", r->name,
			r->container_id && *r->container_id ? r->container_id : "-",
			r->process_id ? r->process_id : "-", rc == 0 ? "ok" : "failed");
	if (rc)
		return failed(c->e, r->name, err);
	result_ok(c->w, key, value);
	return 0;
}

/* ------------------------------------------------------------ create / start */

/* The engine matched the request's user and group NAMES against the
 * policy; the ids that run are the request's numbers. They must be what
 * the container's own layers call those names (runtime_user.c), else the
 * request is denied: a name never lends its approval to another id. */
static int check_user_names(struct agent *a, const struct request *req, struct op_error *e)
{
	const struct req_user *u = &req->user;
	const char *cid = req->container_id;
	const char *const *layers;
	size_t nlayers;
	struct rt_resolved_user r;
	if (!u->name && !u->group)
		return 0;
	if (policy_overlay_layers(a->pstate, cid, &layers, &nlayers) != 0)
		return op_fail(e, OP_ERR_DENIED, "create_container: no overlay for '%s' to resolve user names in", cid);
	if (rt_user_resolve(layers, nlayers, u->name, u->group, &r, &e->err))
		return op_fail(e, OP_ERR_DENIED, "create_container: user: %s", e->err.msg);
	if (r.has_uid && u->uid != r.uid)
		return op_fail(e, OP_ERR_DENIED,
			       "create_container: user.uid %u is not user '%s' (uid %u in the "
			       "container's /etc/passwd)",
			       u->uid, u->name, r.uid);
	if (r.has_gid && u->gid != r.gid)
		return op_fail(e, OP_ERR_DENIED,
			       "create_container: user.gid %u is not group '%s' (gid %u in the "
			       "container's /etc/group)",
			       u->gid, u->group, r.gid);
	return 0;
}

int op_create_container(struct op_call *c)
{
	const struct request *r = c->r;
	struct rt_spec spec;
	struct rt_spec_mem mem;
	struct uvm_err err = {0, ""};
	if (check_user_names(c->a, r, c->e))
		return -1;
	int rc = rt_spec_container(r, c->d, &spec, &mem, &err);
	if (rc == 0)
		rc = rt_create(c->a->procs, r->container_id, &spec, mem.mounts, mem.nmounts, &err);
	rt_spec_free(&mem);
	return finish(c, rc, &err, "container_id", r->container_id);
}

int op_start_container(struct op_call *c)
{
	const char *cid = c->r->container_id;
	struct uvm_err err = {0, ""};
	int rc = rt_start(c->a->procs, cid, &err);
	if (rc == 0 && !c->a->containers_started++)
		log_timestamp("first_container_started"); /* boot phases in make bench */
	return finish(c, rc, &err, "container_id", cid);
}

/* ------------------------------------------------------------ exec */

int op_exec_in_container(struct op_call *c)
{
	const struct request *r = c->r;
	struct rt_spec spec;
	struct rt_spec_mem mem;
	struct uvm_err err = {0, ""};
	int rc = rt_spec_process(r, drop_env_of(c), &spec, &mem, &err);
	if (rc == 0)
		rc = rt_exec_in(c->a->procs, r->container_id, r->process_id, &spec, &err);
	rt_spec_free(&mem);
	return finish(c, rc, &err, "process_id", r->process_id);
}

/* The engine has no process ids for external processes (it ignores
 * r->process_id); the agent's table tracks them under it. */
int op_exec_external(struct op_call *c)
{
	const struct request *r = c->r;
	struct rt_spec spec;
	struct rt_spec_mem mem;
	struct uvm_err err = {0, ""};
	int rc = rt_spec_process(r, drop_env_of(c), &spec, &mem, &err);
	if (rc == 0)
		rc = rt_exec_external(c->a->procs, r->process_id, &spec, &err);
	rt_spec_free(&mem);
	return finish(c, rc, &err, "process_id", r->process_id);
}

/* ------------------------------------------------------------ signals, waits, shutdown */

int op_signal_process(struct op_call *c)
{
	const struct request *r = c->r;
	struct uvm_err err = {0, ""};
	int rc = rt_signal(c->a->procs, r->container_id, r->process_id, r->signal, &err);
	return finish(c, rc, &err, "signalled", r->process_id ? r->process_id : r->container_id);
}

int op_wait_process(struct op_call *c)
{
	struct json_writer *w = c->w;
	struct rt_proc_info info;
	struct uvm_err err = {0, ""};
	if (rt_lookup(c->a->procs, cid_of(c->r), c->r->process_id, &info, &err))
		return failed(c->e, "wait_process", &err);
	json_w_obj(w);
	json_w_key(w, "state");
	json_w_cstr(w, info.state == RT_CREATED ? "created" : info.state == RT_RUNNING ? "running" : "exited");
	if (info.state == RT_EXITED && WIFEXITED(info.wait_status)) {
		json_w_key(w, "exit_code");
		json_w_int(w, WEXITSTATUS(info.wait_status));
	} else if (info.state == RT_EXITED && WIFSIGNALED(info.wait_status)) {
		json_w_key(w, "signal");
		json_w_int(w, WTERMSIG(info.wait_status));
	}
	json_w_end(w);
	return 0;
}

int op_shutdown_container(struct op_call *c)
{
	const char *cid = c->r->container_id;
	struct uvm_err err = {0, ""};
	int rc = rt_shutdown(c->a->procs, cid, &err);
	return finish(c, rc, &err, "container_id", cid);
}

/* ------------------------------------------------------------ stdio */

static void output_result(struct json_writer *w, const char *b64, size_t got, int eof)
{
	json_w_obj(w);
	json_w_key(w, "data_base64");
	json_w_cstr(w, b64);
	json_w_key(w, "bytes");
	json_w_uint(w, got);
	json_w_key(w, "eof");
	json_w_bool(w, eof);
	json_w_end(w);
}

int op_read_output(struct op_call *c)
{
	const struct request *r = c->r;
	struct uvm_err err = {0, ""};
	size_t max = r->max_bytes ? r->max_bytes : RT_OUTPUT_MAX, got = 0;
	int eof = 0;
	int stream = strcmp(r->stream, "stderr") == 0; /* the decode allows "stdout" or "stderr" */
	uint8_t *buf = malloc(max);
	char *b64 = malloc(4 * ((max + 2) / 3) + 1);
	int rc = buf && b64 ? rt_read_output(c->a->procs, cid_of(r), r->process_id, stream, buf, max, &got, &eof, &err)
			    : uvm_fail(&err, ENOMEM, "out of memory");
	if (rc == 0) {
		uvm_base64_encode(buf, got, b64);
		output_result(c->w, b64, got, eof);
	}
	free(buf);
	free(b64);
	return rc ? failed(c->e, "read_output", &err) : 0;
}

int op_write_stdin(struct op_call *c)
{
	const struct request *r = c->r;
	struct uvm_err err = {0, ""};
	size_t len = strlen(r->data_base64), written = 0;
	uint8_t *buf = malloc(len / 4 * 3 + 3);
	/* The decode only knows a string: strict base64 is checked here. */
	long n = buf ? uvm_base64_decode(r->data_base64, len, buf, len / 4 * 3 + 3) : -1;
	int rc = n < 0 ? -2 : rt_write_stdin(c->a->procs, cid_of(r), r->process_id, buf, (size_t)n, &written, &err);
	free(buf);
	if (rc == -2)
		return op_fail(c->e, OP_ERR_MALFORMED, "write_stdin: data_base64 is not strict base64");
	if (rc)
		return failed(c->e, "write_stdin", &err);
	json_w_obj(c->w);
	json_w_key(c->w, "written");
	json_w_uint(c->w, written);
	json_w_end(c->w);
	return 0;
}

int op_close_stdin(struct op_call *c)
{
	const struct request *r = c->r;
	struct uvm_err err = {0, ""};
	if (rt_close_stdin(c->a->procs, cid_of(r), r->process_id, &err))
		return failed(c->e, "close_stdin", &err);
	result_ok(c->w, "closed", r->process_id ? r->process_id : r->container_id);
	return 0;
}

/* ------------------------------------------------------------ framework ops */

long agent_vmrss_kib(void)
{
	char line[128];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static long meminfo_kib(const char *key)
{
	char line[128], name[64];
	long kib = -1, v;
	FILE *f = fopen("/proc/meminfo", "re");
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "%63[^:]: %ld kB", name, &v) == 2 && strcmp(name, key) == 0) {
			kib = v;
			break;
		}
	if (f)
		fclose(f);
	return kib;
}

/* get_properties, dump_stacks and runtime_logging take no members (the
 * decode refuses any) and are allowed only by the policy's flags, which the
 * dispatcher asked before calling here. */
int op_get_properties(struct op_call *c)
{
	struct json_writer *w = c->w;
	struct utsname u;
	struct timespec ts;
	size_t containers, running, exited;
	uname(&u);
	clock_gettime(CLOCK_BOOTTIME, &ts);
	rt_counts(c->a->procs, &containers, &running, &exited);
	json_w_obj(w);
	json_w_key(w, "kernel");
	json_w_cstr(w, u.release);
	json_w_key(w, "uptime_seconds");
	json_w_int(w, ts.tv_sec);
	json_w_key(w, "mem_total_kib");
	json_w_int(w, meminfo_kib("MemTotal"));
	json_w_key(w, "mem_available_kib");
	json_w_int(w, meminfo_kib("MemAvailable"));
	json_w_key(w, "agent_vmrss_kib");
	json_w_int(w, agent_vmrss_kib());
	json_w_key(w, "containers");
	json_w_uint(w, containers);
	json_w_key(w, "processes_running");
	json_w_uint(w, running);
	json_w_key(w, "processes_exited");
	json_w_uint(w, exited);
	json_w_end(w);
	return 0;
}

/* One /proc/PID file, at most 4 KiB, as a string member. */
static void proc_file(struct json_writer *w, const char *key, pid_t pid, const char *name)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	json_w_key(w, key);
	json_w_str(w, buf, strnlen(buf, n)); /* stops at any NUL (wchan has none) */
}

static void dump_one(void *ctx, const char *cid, const char *pid_id, pid_t pid, enum rt_state st)
{
	struct json_writer *w = ctx;
	json_w_obj(w);
	json_w_key(w, "container_id");
	json_w_cstr(w, cid);
	json_w_key(w, "process_id");
	json_w_cstr(w, pid_id);
	json_w_key(w, "pid");
	json_w_int(w, pid);
	json_w_key(w, "running");
	json_w_bool(w, st != RT_EXITED);
	if (st != RT_EXITED) {
		proc_file(w, "wchan", pid, "wchan");
		proc_file(w, "kernel_stack", pid, "stack");
	}
	json_w_end(w);
}

int op_dump_stacks(struct op_call *c)
{
	struct json_writer *w = c->w;
	json_w_obj(w);
	json_w_key(w, "processes");
	json_w_arr(w);
	rt_for_each(c->a->procs, dump_one, w);
	json_w_end(w);
	json_w_end(w);
	return 0;
}

int op_runtime_logging(struct op_call *c)
{
	struct json_writer *w = c->w;
	c->a->runtime_logging = 1;
	log_msg("runtime: logging of container operations enabled by the host");
	json_w_obj(w);
	json_w_key(w, "runtime_logging");
	json_w_bool(w, 1);
	json_w_end(w);
	return 0;
}
