/* uvm ctl: send requests to a running UVM's agent and print the responses
 * (framing and ops: docs/protocol.md). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_conn.h"
#include "cli.h"
#include "command.h"
#include "file_util.h"
#include "hex.h"
#include "json.h"
#include "json_copy.h"

#define FRAME_MAX AGENT_FRAME_MAX
#define POLICY_FILE_MAX (512u << 10)
#define SCRIPT_MAX (64u << 20)

static const char HELP[] = "usage: uvm ctl --socket PATH [--timeout SECONDS] OP [ARGS_JSON]\n"
			   "       uvm ctl --socket PATH [--timeout SECONDS] set_policy --policy FILE\n"
			   "       uvm ctl --socket PATH [--timeout SECONDS] --script FILE\n"
			   "       uvm ctl --control PATH [--timeout SECONDS] OP [ARGS_JSON]\n"
			   "\n"
			   "Sends one request {\"id\":N,\"op\":OP,\"args\":ARGS_JSON} to the agent of a running\n"
			   "UVM and prints its JSON response on one line. PATH is the unix socket of\n"
			   "`uvm launch --socket`, or vsock:CID[:PORT] (port 1024 by default).\n"
			   "set_policy --policy FILE sends FILE's exact bytes base64-encoded.\n"
			   "--script FILE sends every request of a JSON array in order, in the format\n"
			   "`uvm policy replay` reads ({\"op\": OP, ...args}, or {\"op\": OP, \"args\": {...}}),\n"
			   "and prints one response per line. --timeout bounds each wait (default 120 s).\n"
			   "Ops and their arguments: docs/protocol.md.\n"
			   "--control PATH speaks to the control socket of `uvm run --control PATH`\n"
			   "instead (docs/sandbox.md, e.g. a containerd sandbox's control.sock): it\n"
			   "sends {\"op\":OP, ...the members of ARGS_JSON} as one line and prints the\n"
			   "response line, e.g. uvm ctl --control PATH report '{\"nonce\":\"HEX\"}'.\n"
			   "\n"
			   "exit status: 0 every response ok, 1 some response is an error (denied,\n"
			   "malformed, failed, unknown_op), 2 usage error or transport failure\n";

#define CONTROL_RESPONSE_MAX ((1u << 20) + 1) /* uvm run's response line, with its newline */

/* The control socket of uvm run: one line {"op":OP, ...args} out, one
 * response line back, printed; 0 ok, 1 error response, 2 transport. */
static int control_one(int fd, const char *op, const struct json_value *args)
{
	struct json_writer w;
	struct uvm_err err = {0, ""};
	size_t len, got = 0;
	json_writer_init(&w, CONTROL_RESPONSE_MAX);
	json_w_obj(&w);
	json_w_key(&w, "op");
	json_w_cstr(&w, op);
	for (size_t i = 0; i < json_len(args); i++) {
		size_t klen;
		const char *key = json_key(json_at(args, i), &klen);
		json_w_keyn(&w, key, klen);
		json_w_value(&w, json_at(args, i));
	}
	json_w_end(&w);
	char *line = json_writer_finish(&w, &len), *resp = malloc(CONTROL_RESPONSE_MAX);
	int rc = 2;
	if (!line || !resp) {
		fprintf(stderr, "uvm ctl: out of memory\n");
		goto out;
	}
	line[len] = '\n'; /* json_writer_finish leaves room for its NUL */
	for (size_t done = 0; done < len + 1;) {
		ssize_t n = send(fd, line + done, len + 1 - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "uvm ctl: writing to the control socket: %s\n", strerror(errno));
			goto out;
		}
		done += (size_t)n;
	}
	while (!memchr(resp, '\n', got)) {
		if (got == CONTROL_RESPONSE_MAX) {
			fprintf(stderr, "uvm ctl: the response line is longer than %u bytes\n", CONTROL_RESPONSE_MAX);
			goto out;
		}
		ssize_t n = read(fd, resp + got, CONTROL_RESPONSE_MAX - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "uvm ctl: reading from the control socket: %s\n",
				n == 0                                    ? "the connection was closed"
				: errno == EAGAIN || errno == EWOULDBLOCK ? "timed out (raise --timeout?)"
									  : strerror(errno));
			goto out;
		}
		got += (size_t)n;
	}
	len = (size_t)((char *)memchr(resp, '\n', got) - resp);
	struct json_doc *doc = NULL;
	const struct json_value *v = json_parse(resp, len, len, &doc, &err);
	int ok = 0;
	if (!v || json_bool(json_get(v, "ok"), &ok) < 0)
		fprintf(stderr, "uvm ctl: the response is not a control response: %s\n", v ? "no \"ok\"" : err.msg);
	else {
		printf("%.*s\n", (int)len, resp);
		fflush(stdout);
		rc = ok ? 0 : 1;
	}
	json_free(doc);
out:
	free(line);
	free(resp);
	return rc;
}

/* Sends one frame, reads the response; 0 ok, 1 error response, 2 transport. */
static int exchange(int fd, const char *req, size_t len, uint64_t id)
{
	struct uvm_err err = {0, ""};
	char *body;
	size_t n;
	if (agent_exchange(fd, req, len, &body, &n, &err) < 0) {
		fprintf(stderr, "uvm ctl: %s\n", err.msg);
		return 2;
	}
	struct json_doc *doc = NULL;
	const struct json_value *resp = json_parse(body, n, n, &doc, &err);
	int ok = 0;
	uint64_t rid = 0;
	int rc = 2;
	if (!resp || json_bool(json_get(resp, "ok"), &ok) < 0)
		fprintf(stderr, "uvm ctl: the response is not a protocol response: %s\n", resp ? "no \"ok\"" : err.msg);
	else if (json_uint64(json_get(resp, "id"), &rid) == 0 && rid != id)
		fprintf(stderr, "uvm ctl: response id %llu does not match request id %llu\n", (unsigned long long)rid,
			(unsigned long long)id);
	else {
		printf("%.*s\n", (int)n, body);
		rc = ok ? 0 : 1;
	}
	fflush(stdout);
	json_free(doc);
	free(body);
	return rc;
}

/* {"id":ID,"op":OP[,"args":ARGS]} with args given as JSON text or value. */
static char *build(uint64_t id, const char *op, size_t oplen, const char *args_text, const struct json_value *args,
		   size_t *len)
{
	struct json_writer w;
	json_writer_init(&w, FRAME_MAX);
	json_w_obj(&w);
	json_w_key(&w, "id");
	json_w_uint(&w, id);
	json_w_key(&w, "op");
	json_w_str(&w, op, oplen);
	if (args_text) {
		json_w_key(&w, "args");
		json_w_raw(&w, args_text, strlen(args_text));
	} else if (args) {
		json_w_key(&w, "args");
		json_w_value(&w, args);
	}
	json_w_end(&w);
	return json_writer_finish(&w, len);
}

static int send_one(int fd, uint64_t id, const char *op, const char *args_text)
{
	size_t len;
	if (args_text) {
		struct json_doc *doc = NULL;
		struct uvm_err err = {0, ""};
		const struct json_value *v = json_parse(args_text, strlen(args_text), FRAME_MAX, &doc, &err);
		int bad = !v || json_type(v) != JSON_OBJECT;
		json_free(doc);
		if (bad) {
			fprintf(stderr, "uvm ctl: ARGS_JSON must be one JSON object: %s\n",
				v ? "not an object" : err.msg);
			return 2;
		}
	}
	char *req = build(id, op, strlen(op), args_text, NULL, &len);
	int rc = req ? exchange(fd, req, len, id) : 2;
	free(req);
	return rc;
}

static int send_policy(int fd, const char *path)
{
	struct file_buf buf;
	struct uvm_err err = {0, ""};
	if (file_read_all(path, POLICY_FILE_MAX, &buf, &err) < 0) {
		fprintf(stderr, "uvm ctl: set_policy --policy %s: %s\n", path, err.msg);
		return 2;
	}
	size_t n = 4 * ((buf.len + 2) / 3) + 32;
	char *args = malloc(n + 32);
	if (!args) {
		file_buf_free(&buf);
		return 2;
	}
	strcpy(args, "{\"policy_base64\":\"");
	uvm_base64_encode((const uint8_t *)buf.data, buf.len, args + strlen(args));
	strcat(args, "\"}");
	int rc = send_one(fd, 1, "set_policy", args);
	free(args);
	file_buf_free(&buf);
	return rc;
}

/* One script element: {"op": OP, "args": {...}} or {"op": OP, ...args}. */
static char *script_request(const struct json_value *el, uint64_t id, size_t *len, struct uvm_err *err)
{
	size_t oplen;
	const char *op = json_str(json_get(el, "op"), &oplen);
	if (json_type(el) != JSON_OBJECT || !op) {
		json_fail_at(el, err, "expected an object with an \"op\" string");
		return NULL;
	}
	if (oplen == 24 && memcmp(op, "signal_process", 24) == 0) {
		op = "signal_process"; /* the engine's name of the enforcement point */
		oplen = strlen(op);
	}
	const struct json_value *args = json_get(el, "args");
	if (args && json_len(el) == 2)
		return build(id, op, oplen, NULL, args, len);
	struct json_writer w;
	json_writer_init(&w, FRAME_MAX);
	json_w_obj(&w);
	for (size_t i = 0; i < json_len(el); i++) {
		size_t klen;
		const char *key = json_key(json_at(el, i), &klen);
		if (klen == 2 && memcmp(key, "op", 2) == 0)
			continue;
		json_w_keyn(&w, key, klen);
		json_w_value(&w, json_at(el, i));
	}
	json_w_end(&w);
	size_t alen;
	char *a = json_writer_finish(&w, &alen);
	char *req = a ? build(id, op, oplen, a, NULL, len) : NULL;
	free(a);
	return req;
}

static int run_script(int fd, const char *path)
{
	struct file_buf buf;
	struct uvm_err err = {0, ""};
	struct json_doc *doc = NULL;
	if (file_read_all(path, SCRIPT_MAX, &buf, &err) < 0) {
		fprintf(stderr, "uvm ctl: --script %s: %s\n", path, err.msg);
		return 2;
	}
	const struct json_value *reqs = json_parse(buf.data, buf.len, buf.len, &doc, &err);
	int worst = 0;
	if (!reqs || json_type(reqs) != JSON_ARRAY) {
		fprintf(stderr, "uvm ctl: --script %s: %s\n", path,
			reqs ? "expected a JSON array of requests" : err.msg);
		worst = 2;
	}
	for (size_t i = 0; worst < 2 && i < json_len(reqs); i++) {
		size_t len;
		char *req = script_request(json_at(reqs, i), i + 1, &len, &err);
		int rc = req ? exchange(fd, req, len, i + 1) : 2;
		if (!req)
			fprintf(stderr, "uvm ctl: --script %s: %s\n", path, err.msg);
		free(req);
		worst = rc > worst ? rc : worst;
	}
	json_free(doc);
	file_buf_free(&buf);
	return worst;
}

enum { O_SOCKET = 256, O_SCRIPT, O_POLICY, O_TIMEOUT, O_CONTROL };

static const struct option OPTS[] = {
	{"socket", required_argument, NULL, O_SOCKET},
	{"control", required_argument, NULL, O_CONTROL},
	{"script", required_argument, NULL, O_SCRIPT},
	{"policy", required_argument, NULL, O_POLICY},
	{"timeout", required_argument, NULL, O_TIMEOUT},
	CLI_HELP_OPTION,
	{NULL, 0, NULL, 0},
};

struct ctl_args {
	const char *sock, *control, *script, *policy, *op, *args;
	int timeout;
};

/* 0, or CLI_EXIT (help or a usage error printed; cl->status says which). */
static int parse_args(struct cli *cl, struct ctl_args *a)
{
	for (int c; (c = cli_next(cl)) != CLI_END;) {
		uint64_t t;
		int bad = 0;
		switch (c) {
		case CLI_EXIT: return CLI_EXIT;
		case O_SOCKET: a->sock = cl->arg; break;
		case O_CONTROL: a->control = cl->arg; break;
		case O_SCRIPT: a->script = cl->arg; break;
		case O_POLICY: a->policy = cl->arg; break;
		case O_TIMEOUT:
			bad = cli_uint(cl, 10, 1, 86400, &t);
			a->timeout = (int)t;
			break;
		default: /* an operand: OP, then ARGS_JSON */
			if (!a->op)
				a->op = cl->arg;
			else if (!a->args)
				a->args = cl->arg;
			else
				bad = cli_unexpected(cl);
		}
		if (bad)
			return CLI_EXIT;
	}
	if (a->control && (a->sock || a->script || a->policy))
		cli_fail(cl, "--control PATH takes OP [ARGS_JSON] alone (no --socket, --script or --policy)");
	else if (a->control && !a->op)
		cli_fail(cl, "--control PATH needs OP [ARGS_JSON]");
	else if (a->control)
		return 0;
	else if (!a->sock)
		cli_fail(cl, "--socket PATH or --control PATH is required");
	else if (!a->script && !a->op)
		cli_fail(cl, "OP [ARGS_JSON], set_policy --policy FILE or --script FILE is required");
	else if (a->script && a->op)
		cli_fail(cl, "give OP or --script FILE, not both");
	else if (a->policy && (!a->op || strcmp(a->op, "set_policy") || a->args))
		cli_fail(cl, "--policy FILE goes with set_policy alone (no ARGS_JSON)");
	else
		return 0;
	return CLI_EXIT;
}

static int control(const struct ctl_args *a)
{
	struct uvm_err err = {0, ""};
	struct json_doc *doc = NULL;
	const struct json_value *args = NULL;
	if (a->args) {
		args = json_parse(a->args, strlen(a->args), FRAME_MAX, &doc, &err);
		if (!args || json_type(args) != JSON_OBJECT || json_get(args, "op")) {
			fprintf(stderr, "uvm ctl: ARGS_JSON must be one JSON object without \"op\": %s\n",
				!args                            ? err.msg
				: json_type(args) != JSON_OBJECT ? "not an object"
								 : "it has \"op\"");
			json_free(doc);
			return 2;
		}
	}
	int fd = unix_connect(a->control, "--control", "is `uvm run --control` running?", a->timeout, &err);
	if (fd < 0) {
		fprintf(stderr, "uvm ctl: %s\n", err.msg);
		json_free(doc);
		return 2;
	}
	int rc = control_one(fd, a->op, args);
	close(fd);
	json_free(doc);
	return rc;
}

static int run(int argc, char **argv)
{
	struct ctl_args a = {.timeout = 120};
	struct cli cl;
	cli_init(&cl, "uvm ctl", HELP, "", OPTS, argc, argv);
	if (parse_args(&cl, &a) == CLI_EXIT)
		return cl.status;
	struct uvm_err err = {0, ""};
	if (a.control)
		return control(&a);
	int fd = agent_connect(a.sock, a.timeout, &err);
	if (fd < 0) {
		fprintf(stderr, "uvm ctl: %s\n", err.msg);
		return 2;
	}
	int rc = a.script   ? run_script(fd, a.script)
		 : a.policy ? send_policy(fd, a.policy)
			    : send_one(fd, 1, a.op, a.args);
	close(fd);
	return rc;
}

const struct uvm_command uvm_command_ctl = {"ctl", "send requests to a running UVM's agent", run};
