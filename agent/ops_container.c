/* Container and process requests (docs/protocol.md, docs/runtime.md). Each
 * op that acts asks the policy first (decide.h) and performs only what was
 * allowed, with the decision's drops applied; a failure rolls the policy
 * state back. Reads of the process table (wait, output) need a bound policy
 * but no decision: they only report what was allowed earlier. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>

#include "decide.h"
#include "hex.h"
#include "json_copy.h"
#include "log.h"
#include "ops.h"
#include "runtime.h"
#include "runtime_spec.h"
#include "runtime_user.h"

static int valid_id(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n > 0 && n <= POLICY_MAX_ID && strcmp(s, ".") && strcmp(s, "..") &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static int check_args(const struct json_value *args, const struct json_field *f, size_t n, struct op_error *e)
{
	if (!args)
		return op_fail(e, OP_ERR_MALFORMED, "this op needs \"args\" (see docs/protocol.md)");
	if (json_check_object(args, f, n, &e->err) < 0) {
		e->kind = OP_ERR_MALFORMED;
		return -1;
	}
	return 0;
}

/* Addresses: {"container_id"?, "process_id"?}; at least one. cid "" means
 * an external process; pid NULL means the container's init. */
static int address(const struct json_value *args, const char **cid, const char **pid, struct op_error *e)
{
	*cid = json_str(json_get(args, "container_id"), NULL);
	*pid = json_str(json_get(args, "process_id"), NULL);
	if ((*cid && !valid_id(*cid)) || (*pid && !valid_id(*pid)) || (!*cid && !*pid))
		return op_fail(e, OP_ERR_MALFORMED,
			       "give container_id and/or process_id, each 1..%d characters [A-Za-z0-9._-]",
			       POLICY_MAX_ID);
	if (!*cid)
		*cid = "";
	return 0;
}

static int failed(struct op_error *e, const char *op, const struct uvm_err *err)
{
	return op_fail(e, OP_ERR_FAILED, "%s: %s", op, err->msg);
}

static void trace(struct agent *a, const char *op, const char *cid, const char *pid, int rc)
{
	if (a->runtime_logging)
		log_msg("runtime: %s container=%s process=%s: %s", op, cid && *cid ? cid : "-", pid ? pid : "-",
			rc == 0 ? "ok" : "failed");
}

static void result_ok(struct json_writer *w, const char *key, const char *value)
{
	json_w_obj(w);
	json_w_key(w, key);
	json_w_cstr(w, value);
	json_w_end(w);
}

/* ------------------------------------------------------------ create / start */

/* The engine matched the request's user and group NAMES against the
 * policy; the ids that run are the request's numbers. They must be what
 * the container's own layers call those names (runtime_user.c), else the
 * request is denied: a name never lends its approval to another id. */
static int check_user_names(struct agent *a, const char *cid, const struct json_value *user, struct op_error *e)
{
	const char *name = json_str(json_get(user, "name"), NULL);
	const char *group = json_str(json_get(user, "group"), NULL);
	int64_t uid = -1, gid = -1;
	const char *const *layers;
	size_t nlayers;
	struct rt_resolved_user r;
	if (!name && !group)
		return 0;
	json_int(json_get(user, "uid"), 0, UINT32_MAX, &uid, NULL);
	json_int(json_get(user, "gid"), 0, UINT32_MAX, &gid, NULL);
	if (policy_overlay_layers(a->pstate, cid, &layers, &nlayers) != 0)
		return op_fail(e, OP_ERR_DENIED, "create_container: no overlay for '%s' to resolve user names in", cid);
	if (rt_user_resolve(layers, nlayers, name, group, &r, &e->err))
		return op_fail(e, OP_ERR_DENIED, "create_container: user: %s", e->err.msg);
	if (r.has_uid && uid != (int64_t)r.uid)
		return op_fail(e, OP_ERR_DENIED, "create_container: user.uid %lld is not user '%s' (uid %u in the "
			       "container's /etc/passwd)", (long long)uid, name, r.uid);
	if (r.has_gid && gid != (int64_t)r.gid)
		return op_fail(e, OP_ERR_DENIED, "create_container: user.gid %lld is not group '%s' (gid %u in the "
			       "container's /etc/group)", (long long)gid, group, r.gid);
	return 0;
}

int op_rt_create_container(struct agent *a, const struct json_value *args, struct json_writer *w,
			struct op_error *e)
{
	struct decision dc;
	struct rt_spec spec;
	struct rt_spec_mem mem;
	struct uvm_err err = {0, ""};
	if (!args)
		return op_fail(e, OP_ERR_MALFORMED, "create_container needs \"args\" (docs/protocol.md)");
	if (decide_begin(a, "create_container", args, &dc, e))
		return -1;
	const char *cid = json_str(json_get(args, "container_id"), NULL);
	if (check_user_names(a, cid, json_get(args, "user"), e))
		return decide_end(a, &dc, -1, e);
	int rc = rt_spec_container(args, decide_reason_get(&dc, "drop_env"), decide_reason_get(&dc, "drop_capabilities"),
				   &spec, &mem, &err);
	if (rc == 0)
		rc = rt_create(a->procs, cid, &spec, mem.mounts, mem.nmounts, &err);
	rt_spec_free(&mem);
	trace(a, "create_container", cid, NULL, rc);
	if (rc)
		failed(e, "create_container", &err);
	else
		result_ok(w, "container_id", cid);
	return decide_end(a, &dc, rc, e);
}

int op_rt_start_container(struct agent *a, const struct json_value *args, struct json_writer *w,
		       struct op_error *e)
{
	static const struct json_field f[] = {{"container_id", JSON_T_STRING, 1}};
	struct uvm_err err = {0, ""};
	if (check_args(args, f, 1, e))
		return -1;
	const char *cid = json_str(json_get(args, "container_id"), NULL);
	int rc = rt_start(a->procs, cid, &err);
	trace(a, "start_container", cid, NULL, rc);
	if (rc)
		return failed(e, "start_container", &err);
	if (!a->containers_started++)
		log_timestamp("first_container_started"); /* boot phases in make bench */
	result_ok(w, "container_id", cid);
	return 0;
}

/* ------------------------------------------------------------ exec */

int op_rt_exec_in_container(struct agent *a, const struct json_value *args, struct json_writer *w,
			 struct op_error *e)
{
	struct decision dc;
	struct rt_spec spec;
	struct rt_spec_mem mem;
	struct uvm_err err = {0, ""};
	if (!args)
		return op_fail(e, OP_ERR_MALFORMED, "exec_in_container needs \"args\" (docs/protocol.md)");
	if (decide_begin(a, "exec_in_container", args, &dc, e))
		return -1;
	const char *cid = json_str(json_get(args, "container_id"), NULL);
	const char *pid = json_str(json_get(args, "process_id"), NULL);
	int rc = rt_spec_process(args, decide_reason_get(&dc, "drop_env"), &spec, &mem, &err);
	if (rc == 0)
		rc = rt_exec_in(a->procs, cid, pid, &spec, &err);
	rt_spec_free(&mem);
	trace(a, "exec_in_container", cid, pid, rc);
	if (rc)
		failed(e, "exec_in_container", &err);
	else
		result_ok(w, "process_id", pid);
	return decide_end(a, &dc, rc, e);
}

/* The engine's request: args without "process_id" (the engine has no
 * process ids for external processes; the agent tracks them). */
static char *external_request(const struct json_value *args, size_t *len)
{
	struct json_writer w;
	json_writer_init(&w, POLICY_REQUEST_MAX_BYTES);
	json_w_obj(&w);
	json_w_key(&w, "op");
	json_w_cstr(&w, "exec_external");
	for (size_t i = 0; i < json_len(args); i++) {
		size_t klen;
		const struct json_value *m = json_at(args, i);
		const char *key = json_key(m, &klen);
		if ((klen == 10 && !memcmp(key, "process_id", 10)) || (klen == 2 && !memcmp(key, "op", 2)))
			continue;
		json_w_keyn(&w, key, klen);
		json_w_value(&w, m);
	}
	json_w_end(&w);
	return json_writer_finish(&w, len);
}

int op_rt_exec_external(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e)
{
	struct decision dc;
	struct rt_spec spec;
	struct rt_spec_mem mem;
	struct uvm_err err = {0, ""};
	size_t len = 0;
	if (!args || json_type(args) != JSON_OBJECT)
		return op_fail(e, OP_ERR_MALFORMED, "exec_external needs \"args\" (docs/protocol.md)");
	const char *pid = json_str(json_get(args, "process_id"), NULL);
	if (!valid_id(pid))
		return op_fail(e, OP_ERR_MALFORMED, "exec_external: process_id (1..%d characters [A-Za-z0-9._-]) is required",
			       POLICY_MAX_ID);
	char *req = external_request(args, &len);
	if (!req)
		return op_fail(e, OP_ERR_MALFORMED, "exec_external: the request is too large");
	int rc = decide_begin_json(a, req, len, &dc, e);
	free(req);
	if (rc)
		return -1;
	rc = rt_spec_process(args, decide_reason_get(&dc, "drop_env"), &spec, &mem, &err);
	if (rc == 0)
		rc = rt_exec_external(a->procs, pid, &spec, &err);
	rt_spec_free(&mem);
	trace(a, "exec_external", NULL, pid, rc);
	if (rc)
		failed(e, "exec_external", &err);
	else
		result_ok(w, "process_id", pid);
	return decide_end(a, &dc, rc, e);
}

/* ------------------------------------------------------------ signals, waits, shutdown */

int op_rt_signal_process(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e)
{
	static const struct json_field f[] = {{"container_id", JSON_T_STRING, 1},
					      {"process_id", JSON_T_STRING, 0},
					      {"signal", JSON_T_INT, 1}};
	struct decision dc;
	struct uvm_err err = {0, ""};
	int64_t sig = 0;
	if (check_args(args, f, 3, e))
		return -1;
	if (decide_begin(a, "signal_container_process", args, &dc, e))
		return -1;
	const char *cid = json_str(json_get(args, "container_id"), NULL);
	const char *pid = json_str(json_get(args, "process_id"), NULL);
	json_int(json_get(args, "signal"), 1, 64, &sig, NULL);
	int rc = rt_signal(a->procs, cid, pid, (int)sig, &err);
	trace(a, "signal_process", cid, pid, rc);
	if (rc)
		failed(e, "signal_process", &err);
	else
		result_ok(w, "signalled", pid ? pid : cid);
	return decide_end(a, &dc, rc, e);
}

static const struct json_field addr_fields[] = {{"container_id", JSON_T_STRING, 0},
						{"process_id", JSON_T_STRING, 0}};

int op_rt_wait_process(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e)
{
	const char *cid, *pid;
	struct rt_proc_info info;
	struct uvm_err err = {0, ""};
	if (check_args(args, addr_fields, 2, e) || address(args, &cid, &pid, e))
		return -1;
	if (rt_lookup(a->procs, cid, pid, &info, &err))
		return failed(e, "wait_process", &err);
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

int op_rt_shutdown_container(struct agent *a, const struct json_value *args, struct json_writer *w,
			  struct op_error *e)
{
	struct decision dc;
	struct uvm_err err = {0, ""};
	if (!args)
		return op_fail(e, OP_ERR_MALFORMED, "shutdown_container needs \"args\" (docs/protocol.md)");
	if (decide_begin(a, "shutdown_container", args, &dc, e))
		return -1;
	const char *cid = json_str(json_get(args, "container_id"), NULL);
	int rc = rt_shutdown(a->procs, cid, &err);
	trace(a, "shutdown_container", cid, NULL, rc);
	if (rc)
		failed(e, "shutdown_container", &err);
	else
		result_ok(w, "container_id", cid);
	return decide_end(a, &dc, rc, e);
}

/* ------------------------------------------------------------ stdio */

int op_rt_read_output(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e)
{
	static const struct json_field f[] = {{"container_id", JSON_T_STRING, 0},
					      {"process_id", JSON_T_STRING, 0},
					      {"stream", JSON_T_STRING, 1},
					      {"max_bytes", JSON_T_INT, 0}};
	const char *cid, *pid;
	struct uvm_err err = {0, ""};
	int64_t max = RT_OUTPUT_MAX;
	size_t got = 0;
	int eof = 0;
	if (check_args(args, f, 4, e) || address(args, &cid, &pid, e))
		return -1;
	const char *stream = json_str(json_get(args, "stream"), NULL);
	int s = !strcmp(stream, "stdout") ? 0 : !strcmp(stream, "stderr") ? 1 : -1;
	if (s < 0 || (json_get(args, "max_bytes") &&
		      json_int(json_get(args, "max_bytes"), 1, RT_OUTPUT_MAX, &max, &e->err) < 0))
		return op_fail(e, OP_ERR_MALFORMED, "read_output: stream is \"stdout\" or \"stderr\", max_bytes 1..%u",
			       RT_OUTPUT_MAX);
	uint8_t *buf = malloc((size_t)max);
	char *b64 = malloc(4 * (((size_t)max + 2) / 3) + 1);
	int rc = buf && b64 ? rt_read_output(a->procs, cid, pid, s, buf, (size_t)max, &got, &eof, &err)
			    : uvm_fail(&err, ENOMEM, "out of memory");
	if (rc == 0) {
		uvm_base64_encode(buf, got, b64);
		json_w_obj(w);
		json_w_key(w, "data_base64");
		json_w_cstr(w, b64);
		json_w_key(w, "bytes");
		json_w_uint(w, got);
		json_w_key(w, "eof");
		json_w_bool(w, eof);
		json_w_end(w);
	}
	free(buf);
	free(b64);
	return rc ? failed(e, "read_output", &err) : 0;
}

int op_rt_write_stdin(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e)
{
	static const struct json_field f[] = {{"container_id", JSON_T_STRING, 0},
					      {"process_id", JSON_T_STRING, 0},
					      {"data_base64", JSON_T_STRING, 1}};
	const char *cid, *pid;
	struct uvm_err err = {0, ""};
	size_t len, written = 0;
	if (check_args(args, f, 3, e) || address(args, &cid, &pid, e))
		return -1;
	const char *text = json_str(json_get(args, "data_base64"), &len);
	uint8_t *buf = malloc(len / 4 * 3 + 3);
	long n = buf ? uvm_base64_decode(text, len, buf, len / 4 * 3 + 3) : -1;
	int rc = n < 0 ? -2 : rt_write_stdin(a->procs, cid, pid, buf, (size_t)n, &written, &err);
	free(buf);
	if (rc == -2)
		return op_fail(e, OP_ERR_MALFORMED, "write_stdin: data_base64 is not strict base64");
	if (rc)
		return failed(e, "write_stdin", &err);
	json_w_obj(w);
	json_w_key(w, "written");
	json_w_uint(w, written);
	json_w_end(w);
	return 0;
}

int op_rt_close_stdin(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e)
{
	const char *cid, *pid;
	struct uvm_err err = {0, ""};
	if (check_args(args, addr_fields, 2, e) || address(args, &cid, &pid, e))
		return -1;
	if (rt_close_stdin(a->procs, cid, pid, &err))
		return failed(e, "close_stdin", &err);
	result_ok(w, "closed", pid ? pid : cid);
	return 0;
}

/* ------------------------------------------------------------ framework ops */

static int flag_decision(struct agent *a, const char *op, const struct json_value *args, struct decision *dc,
			 struct op_error *e)
{
	char req[64];
	if (args && json_len(args) > 0)
		return op_fail(e, OP_ERR_MALFORMED, "%s takes no arguments", op);
	int n = snprintf(req, sizeof req, "{\"op\":\"%s\"}", op);
	return decide_begin_json(a, req, (size_t)n, dc, e);
}

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

int op_rt_get_properties(struct agent *a, const struct json_value *args, struct json_writer *w,
		      struct op_error *e)
{
	struct decision dc;
	struct utsname u;
	struct timespec ts;
	size_t containers, running, exited;
	if (flag_decision(a, "get_properties", args, &dc, e))
		return -1;
	uname(&u);
	clock_gettime(CLOCK_BOOTTIME, &ts);
	rt_counts(a->procs, &containers, &running, &exited);
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
	return decide_end(a, &dc, 0, e);
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

int op_rt_dump_stacks(struct agent *a, const struct json_value *args, struct json_writer *w, struct op_error *e)
{
	struct decision dc;
	if (flag_decision(a, "dump_stacks", args, &dc, e))
		return -1;
	json_w_obj(w);
	json_w_key(w, "processes");
	json_w_arr(w);
	rt_for_each(a->procs, dump_one, w);
	json_w_end(w);
	json_w_end(w);
	return decide_end(a, &dc, 0, e);
}

int op_rt_runtime_logging(struct agent *a, const struct json_value *args, struct json_writer *w,
		       struct op_error *e)
{
	struct decision dc;
	if (flag_decision(a, "runtime_logging", args, &dc, e))
		return -1;
	a->runtime_logging = 1;
	log_msg("runtime: logging of container operations enabled by the host");
	json_w_obj(w);
	json_w_key(w, "runtime_logging");
	json_w_bool(w, 1);
	json_w_end(w);
	return decide_end(a, &dc, 0, e);
}
