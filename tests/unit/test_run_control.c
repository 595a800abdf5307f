/* The control socket of uvm run (tools/uvm/run/run_control.c): request
 * lines are parsed strictly (ops, members, exec ids, signals), and the
 * server answers each line in order over a real unix socket, survives
 * garbage, an over-long line and a client that vanishes. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "json_copy.h"
#include "run.h"

static int parse(const char *line, struct run_ctl_req *r, struct uvm_err *err)
{
	return run_ctl_parse(line, strlen(line), r, err);
}

static void parse_cases(void)
{
	struct run_ctl_req r;
	struct uvm_err err = {0, ""};
	static const struct {
		const char *line;
		enum run_ctl_op op;
	} GOOD[] = {
		{"{\"op\":\"start\"}", CTL_START},
		{"{\"op\":\"state\"}", CTL_STATE},
		{"{\"op\":\"state\",\"exec_id\":\"e-1.x_2\"}", CTL_STATE},
		{"{\"op\":\"kill\",\"signal\":9}", CTL_KILL},
		{"{\"op\":\"close_stdin\",\"exec_id\":\"a\"}", CTL_CLOSE_STDIN},
		{"{\"op\":\"pids\"}", CTL_PIDS},
		{"{\"op\":\"stats\"}", CTL_STATS},
		{"{\"op\":\"shutdown\"}", CTL_SHUTDOWN},
		{"{\"op\":\"report\",\"nonce\":\"00\"}", CTL_REPORT},
		{"{\"op\":\"report\",\"nonce\":\"aBcDeF0123456789\"}", CTL_REPORT},
		{"{\"op\":\"exec\",\"exec_id\":\"e1\",\"argv\":[\"/bin/echo\",\"hi\"],\"env\":[\"A=1\"],\"cwd\":\"/"
		 "tmp\","
		 "\"stdin\":\"/x/in\",\"stdout\":\"/x/out\",\"stderr\":\"../relative/is/the/host's/business\"}",
		 CTL_EXEC},
	};
	for (size_t i = 0; i < sizeof GOOD / sizeof GOOD[0]; i++) {
		int rc = parse(GOOD[i].line, &r, &err);
		CHECK(rc == 0 && r.op == GOOD[i].op, "parses %s (%s)", GOOD[i].line, rc ? err.msg : "");
		run_ctl_req_free(&r);
	}
	CHECK(parse("{\"op\":\"kill\",\"exec_id\":\"e1\",\"signal\":15}", &r, &err) == 0 && r.signal == 15 &&
		      strcmp(r.exec_id, "e1") == 0,
	      "kill: exec_id and signal read");
	run_ctl_req_free(&r);
	CHECK(parse("{\"op\":\"exec\",\"exec_id\":\"e1\",\"argv\":[\"/bin/echo\"],\"stdout\":\"/o\"}", &r, &err) == 0 &&
		      json_len(r.argv) == 1 && !r.env && !r.cwd && !r.stdin_path && strcmp(r.stdout_path, "/o") == 0,
	      "exec: absent members stay NULL");
	run_ctl_req_free(&r);

	static const char *const BAD[][2] = {
		{"", "invalid JSON"},
		{"not json", "invalid JSON"},
		{"[\"op\",\"start\"]", "one JSON object per line"},
		{"{}", "no \"op\" string"},
		{"{\"op\":7}", "no \"op\" string"},
		{"{\"op\":\"reboot\"}", "unknown op 'reboot'"},
		{"{\"op\":\"start\",\"extra\":1}", "extra"},
		{"{\"op\":\"state\",\"exec_id\":\"../etc\"}", "an exec_id is 1 to 128"},
		{"{\"op\":\"state\",\"exec_id\":\"..\"}", "an exec_id is 1 to 128"},
		{"{\"op\":\"state\",\"exec_id\":\"\"}", "an exec_id is 1 to 128"},
		{"{\"op\":\"state\",\"exec_id\":\"a/b\"}", "an exec_id is 1 to 128"},
		{"{\"op\":\"state\",\"exec_id\":3}", "exec_id"},
		{"{\"op\":\"kill\"}", "signal"},
		{"{\"op\":\"kill\",\"signal\":0}", "$.signal"},
		{"{\"op\":\"kill\",\"signal\":65}", "$.signal"},
		{"{\"op\":\"kill\",\"signal\":\"KILL\"}", "signal"},
		{"{\"op\":\"exec\",\"argv\":[\"/x\"]}", "exec_id"},
		{"{\"op\":\"exec\",\"exec_id\":\"e\"}", "argv"},
		{"{\"op\":\"exec\",\"exec_id\":\"e\",\"argv\":[]}", "expected an array of 1 to 1024 strings"},
		{"{\"op\":\"exec\",\"exec_id\":\"e\",\"argv\":[1]}", "$.argv[0]: expected a string"},
		{"{\"op\":\"exec\",\"exec_id\":\"e\",\"argv\":[\"/x\"],\"cwd\":\"rel\"}", "absolute"},
		{"{\"op\":\"exec\",\"exec_id\":\"e\",\"argv\":[\"/x\"],\"stdout\":\"\"}", "$.stdout"},
		{"{\"op\":\"start\"}{\"op\":\"start\"}", "invalid JSON"},
		{"{\"op\":\"report\"}", "missing required key \"nonce\""},
		{"{\"op\":\"report\",\"nonce\":\"\"}", "$.nonce: a nonce is 1 to 64 bytes"},
		{"{\"op\":\"report\",\"nonce\":\"0\"}", "$.nonce: a nonce is 1 to 64 bytes"},
		{"{\"op\":\"report\",\"nonce\":\"abc\"}", "$.nonce: a nonce is 1 to 64 bytes"},
		{"{\"op\":\"report\",\"nonce\":\"zz\"}", "$.nonce: a nonce is 1 to 64 bytes"},
		{"{\"op\":\"report\",\"nonce\":\"0x12\"}", "$.nonce: a nonce is 1 to 64 bytes"},
		{"{\"op\":\"report\",\"nonce\":\"12 4\"}", "$.nonce: a nonce is 1 to 64 bytes"},
		{"{\"op\":\"report\",\"nonce\":\"00\\u000000\"}", "(NUL) is not allowed"},
		{"{\"op\":\"report\",\"nonce\":12}", "nonce"},
		{"{\"op\":\"report\",\"nonce\":\"00\",\"exec_id\":\"a\"}", "exec_id"},
		{"{\"op\":\"state\",\"nonce\":\"00\"}", "nonce"},
		{"{\"op\":\"start\",\"op\":\"stats\"}", "invalid JSON"},
	};
	for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
		int rc = parse(BAD[i][0], &r, &err);
		CHECK(rc < 0 && r.doc == NULL, "refuses '%s'", BAD[i][0]);
		CHECK_MSG(rc < 0 ? err.msg : NULL, BAD[i][1], "... saying so");
		if (rc == 0)
			run_ctl_req_free(&r);
	}
	char big[300];
	memset(big, 'a', sizeof big);
	snprintf(big, sizeof big, "{\"op\":\"state\",\"exec_id\":\"%0129d\"}", 0);
	CHECK(parse(big, &r, &err) < 0, "an exec_id of 129 bytes is refused");

	/* report: the nonce as given, 64 bytes at most (as the agent's get_report). */
	char nonce[200];
	memset(nonce, 'f', 128);
	nonce[128] = '\0';
	snprintf(big, sizeof big, "{\"op\":\"report\",\"nonce\":\"%s\"}", nonce);
	CHECK(parse(big, &r, &err) == 0 && r.op == CTL_REPORT && strcmp(r.nonce, nonce) == 0,
	      "report: a nonce of 64 bytes is taken as given (%s)", err.msg);
	run_ctl_req_free(&r);
	snprintf(big, sizeof big, "{\"op\":\"report\",\"nonce\":\"%s00\"}", nonce);
	CHECK(parse(big, &r, &err) < 0, "report: a nonce of 65 bytes is refused");
	CHECK_MSG(err.msg, "a nonce is 1 to 64 bytes as hex (2 to 128 hex digits)", "... saying so");
	CHECK(parse("{\"op\":\"report\",\"nonce\":\"0a\"}", &r, &err) == 0 && strcmp(r.nonce, "0a") == 0 && !r.exec_id,
	      "report: a nonce of 1 byte");
	run_ctl_req_free(&r);
}

/* The handler: echoes the op and exec_id. */
static int handled;
static void echo(void *ctx, const struct run_ctl_req *r, struct json_writer *w)
{
	(void)ctx;
	handled++;
	json_w_obj(w);
	json_w_key(w, "ok");
	json_w_bool(w, 1);
	json_w_key(w, "result");
	json_w_obj(w);
	json_w_key(w, "op");
	json_w_int(w, r->op);
	if (r->exec_id) {
		json_w_key(w, "exec_id");
		json_w_cstr(w, r->exec_id);
	}
	json_w_end(w);
	json_w_end(w);
}

static int connect_to(const char *path)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	snprintf(un.sun_path, sizeof un.sun_path, "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&un, sizeof un) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Serves for a few rounds (the server never blocks). */
static void serve(struct run_ctl *s, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		struct pollfd fds[RUN_CTL_CLIENTS + 1];
		size_t n = run_ctl_pollfds(s, fds, RUN_CTL_CLIENTS + 1);
		if (poll(fds, n, 20) > 0)
			run_ctl_serve(s, fds, n);
	}
}

/* Reads what the server answered so far (non-blocking). */
static size_t take(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;
	while (got < size - 1 && (n = recv(fd, buf + got, size - 1 - got, MSG_DONTWAIT)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	return got;
}

static void send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void server_cases(void)
{
	char dir[] = "/tmp/test_run_control-XXXXXX", path[128], buf[8192];
	struct run_ctl s;
	struct uvm_err err = {0, ""};
	struct stat st;
	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof path, "%s/ctl.sock", dir);
	CHECK(run_ctl_listen(&s, path, echo, NULL, &err) == 0, "listens (%s)", err.msg);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "the socket is mode 0600 (%o)", st.st_mode & 0777);
	struct run_ctl s2;
	CHECK(run_ctl_listen(&s2, path, echo, NULL, &err) < 0, "a second server on the same path is refused");
	CHECK_MSG(err.msg, "remove the old socket", "... saying what to do");

	int a = connect_to(path);
	CHECK(a >= 0, "a client connects");
	/* Three requests in one write, the last split over two writes. */
	const char *three = "{\"op\":\"state\"}\n{\"op\":\"bogus\"}\n{\"op\":\"state\",\"ex";
	send_all(a, three, strlen(three));
	serve(&s, 5);
	send_all(a, "ec_id\":\"e7\"}\n", 13);
	serve(&s, 5);
	take(a, buf, sizeof buf);
	CHECK_EQ_STR(buf,
		     "{\"ok\":true,\"result\":{\"op\":4}}\n"
		     "{\"ok\":false,\"error\":\"unknown op 'bogus': the ops are start, exec, kill, close_stdin, state, "
		     "pids, stats, report and shutdown\"}\n"
		     "{\"ok\":true,\"result\":{\"op\":4,\"exec_id\":\"e7\"}}\n",
		     "one response line per request, in order; a bad one answered with an error");

	/* An over-long line: one error, skipped to its newline, then served again. */
	size_t big = RUN_CTL_LINE_MAX * 3;
	char *huge = malloc(big);
	memset(huge, 'x', big);
	handled = 0;
	for (size_t off = 0; off < big; off += 4096) {
		send_all(a, huge + off, 4096);
		serve(&s, 1);
	}
	send_all(a, "\n{\"op\":\"pids\"}\n", 15);
	serve(&s, 10);
	take(a, buf, sizeof buf);
	CHECK_EQ_STR(buf,
		     "{\"ok\":false,\"error\":\"request line longer than 65536 bytes: refused (one JSON object per "
		     "line)\"}\n{\"ok\":true,\"result\":{\"op\":5}}\n",
		     "a line of 192 KiB gets one error and the connection goes on");
	CHECK_EQ_INT(handled, 1, "... the handler never saw the long line");
	free(huge);

	/* A line of exactly the limit is read (and refused as JSON only). */
	char *limit = malloc(RUN_CTL_LINE_MAX + 1);
	memset(limit, ' ', RUN_CTL_LINE_MAX);
	memcpy(limit, "{\"op\":\"stats\"}", 14);
	limit[RUN_CTL_LINE_MAX] = '\n';
	send_all(a, limit, RUN_CTL_LINE_MAX + 1);
	serve(&s, 40);
	take(a, buf, sizeof buf);
	CHECK_EQ_STR(buf, "{\"ok\":true,\"result\":{\"op\":6}}\n", "a line of exactly 64 KiB (padded JSON) is served");
	free(limit);

	/* A client that closes with requests in flight; others are unaffected. */
	int b = connect_to(path);
	send_all(b, "{\"op\":\"state\"}\n{\"op\":\"state\"}\n", 30);
	close(b);
	serve(&s, 5);
	send_all(a, "{\"op\":\"shutdown\"}\n", 18);
	serve(&s, 5);
	take(a, buf, sizeof buf);
	CHECK_EQ_STR(buf, "{\"ok\":true,\"result\":{\"op\":7}}\n", "a vanished client does not disturb another");

	/* More clients than slots: the extra one is told and closed. */
	int many[RUN_CTL_CLIENTS];
	for (int i = 0; i < RUN_CTL_CLIENTS - 1; i++)
		many[i] = connect_to(path);
	serve(&s, 5);
	int extra = connect_to(path);
	serve(&s, 5);
	take(extra, buf, sizeof buf);
	CHECK_MSG(buf, "too many control connections", "connection %d beyond the limit is refused",
		  RUN_CTL_CLIENTS + 1);
	for (int i = 0; i < RUN_CTL_CLIENTS - 1; i++)
		close(many[i]);
	close(extra);

	run_ctl_close(&s, 100);
	CHECK(stat(path, &st) < 0 && errno == ENOENT, "closing removes the socket");
	close(a);
	rmdir(dir);
}

int main(void)
{
	parse_cases();
	server_cases();
	return check_done();
}
