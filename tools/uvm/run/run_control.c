/* The control socket of `uvm run --control PATH` (docs/sandbox.md): a unix
 * stream socket, mode 0600, any number of connections (at most
 * RUN_CTL_CLIENTS at once), each carrying request lines of at most
 * RUN_CTL_LINE_MAX bytes answered in order, one response line each. Every
 * descriptor is non-blocking and driven by the session's poll loop; a
 * client that sends garbage gets an error line, a client that does not
 * read its responses is dropped once they pass OUT_MAX bytes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

#define OUT_MAX (4u << 20)   /* unread responses of one client */
#define OUT_PAUSE (1u << 18) /* stop reading a client's requests above this */
#define RESP_MAX (1u << 20)

/* ------------------------------------------------------------ parsing */

static const struct {
	const char *name;
	enum run_ctl_op op;
} OPS[] = {
	{"start", CTL_START},       {"exec", CTL_EXEC}, {"kill", CTL_KILL},   {"close_stdin", CTL_CLOSE_STDIN},
	{"state", CTL_STATE},       {"pids", CTL_PIDS}, {"stats", CTL_STATS}, {"report", CTL_REPORT},
	{"shutdown", CTL_SHUTDOWN},
};

static int valid_id(const char *s, size_t n)
{
	return n >= 1 && n <= 128 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n &&
	       strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static int str_member(const struct json_value *obj, const char *key, const char **out, struct uvm_err *err)
{
	size_t n;
	const struct json_value *v = json_get(obj, key);
	*out = NULL;
	if (!v)
		return 0;
	*out = json_str(v, &n);
	if (!*out || n == 0 || n >= RUN_PATH_MAX)
		return json_fail_at(v, err, "expected a string of 1 to %d bytes", RUN_PATH_MAX - 1);
	return 0;
}

static int strs_member(const struct json_value *obj, const char *key, size_t min, const struct json_value **out,
		       struct uvm_err *err)
{
	const struct json_value *v = json_get(obj, key);
	*out = v;
	if (!v)
		return min ? json_fail_at(obj, err, "\"%s\" is required", key) : 0;
	if (json_type(v) != JSON_ARRAY || json_len(v) < min || json_len(v) > 1024)
		return json_fail_at(v, err, "expected an array of %zu to 1024 strings", min);
	for (size_t i = 0; i < json_len(v); i++)
		if (json_type(json_at(v, i)) != JSON_STRING)
			return json_fail_at(json_at(v, i), err, "expected a string");
	return 0;
}

static int parse_members(const struct json_value *o, struct run_ctl_req *r, struct uvm_err *err)
{
	static const struct json_field f_none[] = {{"op", JSON_T_STRING, 1}};
	static const struct json_field f_id[] = {{"op", JSON_T_STRING, 1}, {"exec_id", JSON_T_STRING, 0}};
	static const struct json_field f_kill[] = {
		{"op", JSON_T_STRING, 1}, {"exec_id", JSON_T_STRING, 0}, {"signal", JSON_T_INT, 1}};
	static const struct json_field f_report[] = {{"op", JSON_T_STRING, 1}, {"nonce", JSON_T_STRING, 1}};
	static const struct json_field f_exec[] = {{"op", JSON_T_STRING, 1},     {"exec_id", JSON_T_STRING, 1},
						   {"argv", JSON_T_ARRAY, 1},    {"env", JSON_T_ARRAY, 0},
						   {"cwd", JSON_T_STRING, 0},    {"stdin", JSON_T_STRING, 0},
						   {"stdout", JSON_T_STRING, 0}, {"stderr", JSON_T_STRING, 0}};
	const struct json_field *f = f_none;
	size_t nf = 1;
	switch (r->op) {
	case CTL_EXEC:
		f = f_exec;
		nf = 8;
		break;
	case CTL_KILL:
		f = f_kill;
		nf = 3;
		break;
	case CTL_CLOSE_STDIN:
	case CTL_STATE:
		f = f_id;
		nf = 2;
		break;
	case CTL_REPORT:
		f = f_report;
		nf = 2;
		break;
	default: break;
	}
	if (json_check_object(o, f, nf, err) < 0)
		return -1;
	const struct json_value *id = json_get(o, "exec_id");
	if (id) {
		size_t n;
		r->exec_id = json_str(id, &n);
		if (!valid_id(r->exec_id, n))
			return json_fail_at(id, err, "an exec_id is 1 to 128 of [A-Za-z0-9._-], not . or ..");
	}
	if (r->op == CTL_KILL) {
		int64_t sig;
		if (json_int(json_get(o, "signal"), 1, 64, &sig, err) < 0)
			return -1;
		r->signal = (int)sig;
	}
	if (r->op == CTL_REPORT) {
		size_t n;
		const struct json_value *v = json_get(o, "nonce");
		r->nonce = json_str(v, &n);
		if (n < 2 || n > 2 * RUN_CTL_NONCE_MAX || n % 2 || strspn(r->nonce, "0123456789abcdefABCDEF") != n)
			return json_fail_at(v, err, "a nonce is 1 to %d bytes as hex (2 to %d hex digits)",
					    RUN_CTL_NONCE_MAX, 2 * RUN_CTL_NONCE_MAX);
	}
	if (r->op != CTL_EXEC)
		return 0;
	if (strs_member(o, "argv", 1, &r->argv, err) < 0 || strs_member(o, "env", 0, &r->env, err) < 0 ||
	    str_member(o, "cwd", &r->cwd, err) < 0 || str_member(o, "stdin", &r->stdin_path, err) < 0 ||
	    str_member(o, "stdout", &r->stdout_path, err) < 0 || str_member(o, "stderr", &r->stderr_path, err) < 0)
		return -1;
	if (r->cwd && r->cwd[0] != '/')
		return json_fail_at(json_get(o, "cwd"), err, "expected an absolute path");
	return 0;
}

int run_ctl_parse(const char *line, size_t len, struct run_ctl_req *r, struct uvm_err *err)
{
	memset(r, 0, sizeof *r);
	const struct json_value *o = json_parse(line, len, RUN_CTL_LINE_MAX, &r->doc, err);
	if (!o)
		return -1;
	if (json_type(o) != JSON_OBJECT) {
		run_ctl_req_free(r);
		return uvm_fail(err, EINVAL, "a request is one JSON object per line");
	}
	const char *op = json_str(json_get(o, "op"), NULL);
	size_t i = 0;
	for (; op && i < sizeof OPS / sizeof OPS[0]; i++)
		if (strcmp(op, OPS[i].name) == 0)
			break;
	if (!op || i == sizeof OPS / sizeof OPS[0]) {
		uvm_fail(err, EINVAL,
			 "%s%.64s%s: the ops are start, exec, kill, close_stdin, state, pids, stats, report and "
			 "shutdown",
			 op ? "unknown op '" : "no \"op\" string", op ? op : "", op ? "'" : "");
		run_ctl_req_free(r);
		return -1;
	}
	r->op = OPS[i].op;
	if (parse_members(o, r, err) < 0) {
		run_ctl_req_free(r);
		return uvm_wrap(err, "%s", OPS[i].name);
	}
	return 0;
}

void run_ctl_req_free(struct run_ctl_req *r)
{
	json_free(r->doc);
	memset(r, 0, sizeof *r);
}

void run_ctl_error(struct json_writer *w, const char *msg, const char *reason, size_t reason_len)
{
	json_w_obj(w);
	json_w_key(w, "ok");
	json_w_bool(w, 0);
	json_w_key(w, "error");
	json_w_cstr(w, msg);
	if (reason) {
		json_w_key(w, "denial");
		json_w_raw(w, reason, reason_len);
	}
	json_w_end(w);
}

/* ------------------------------------------------------------ the server */

int run_ctl_listen(struct run_ctl *s, const char *path, run_ctl_handler h, void *ctx, struct uvm_err *err)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	memset(s, 0, sizeof *s);
	s->listen_fd = -1;
	for (size_t i = 0; i < RUN_CTL_CLIENTS; i++)
		s->clients[i].fd = -1;
	s->handler = h;
	s->ctx = ctx;
	if (strlen(path) >= sizeof un.sun_path)
		return uvm_fail(err, ENAMETOOLONG, "--control %s: path too long (at most %zu bytes)", path,
				sizeof un.sun_path - 1);
	strcpy(un.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return uvm_fail(err, errno, "--control: socket: %s", strerror(errno));
	mode_t old = umask(0177); /* the socket file is created 0600 */
	int rc = bind(fd, (struct sockaddr *)&un, sizeof un);
	umask(old);
	if (rc < 0 || listen(fd, 16) < 0) {
		int e = errno;
		close(fd);
		return uvm_fail(err, e, "--control %s: %s%s", path, strerror(e),
				e == EADDRINUSE ? " (remove the old socket, or choose another path)" : "");
	}
	s->listen_fd = fd;
	snprintf(s->path, sizeof s->path, "%s", path);
	return 0;
}

static void drop(struct run_ctl_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

static void queue(struct run_ctl_client *c, const char *s, size_t n)
{
	if (c->out_len - c->out_off + n + 1 > OUT_MAX) {
		drop(c); /* it does not read its answers */
		return;
	}
	if (c->out_off) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	char *p = realloc(c->out, c->out_len + n + 1);
	if (!p) {
		drop(c);
		return;
	}
	c->out = p;
	memcpy(c->out + c->out_len, s, n);
	c->out[c->out_len + n] = '\n';
	c->out_len += n + 1;
}

static void respond_error(struct run_ctl_client *c, const char *msg)
{
	struct json_writer w;
	size_t n;
	json_writer_init(&w, RESP_MAX);
	run_ctl_error(&w, msg, NULL, 0);
	char *s = json_writer_finish(&w, &n);
	if (s)
		queue(c, s, n);
	free(s);
}

static void handle_line(struct run_ctl *s, struct run_ctl_client *c, const char *line, size_t len)
{
	struct run_ctl_req req;
	struct uvm_err err = {0, ""};
	if (s->stop) {
		respond_error(c, "uvm run is shutting down");
		return;
	}
	if (run_ctl_parse(line, len, &req, &err) < 0) {
		respond_error(c, err.msg);
		return;
	}
	struct json_writer w;
	size_t n;
	json_writer_init(&w, RESP_MAX);
	s->handler(s->ctx, &req, &w);
	run_ctl_req_free(&req);
	char *out = json_writer_finish(&w, &n);
	if (out)
		queue(c, out, n);
	else
		respond_error(c, "the response did not fit in 1 MiB");
	free(out);
}

static void flush_out(struct run_ctl_client *c)
{
	while (c->fd >= 0 && c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			drop(c);
			return;
		}
		c->out_off += (size_t)n;
	}
}

static void read_in(struct run_ctl *s, struct run_ctl_client *c)
{
	if (!c->in && !(c->in = malloc(RUN_CTL_LINE_MAX + 1))) {
		drop(c);
		return;
	}
	ssize_t n = recv(c->fd, c->in + c->in_len, RUN_CTL_LINE_MAX + 1 - c->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		/* The client closed (or failed): answers still pending are lost. */
		drop(c);
		return;
	}
	c->in_len += (size_t)n;
	size_t start = 0;
	for (size_t i = 0; c->fd >= 0 && i < c->in_len; i++) {
		if (c->in[i] != '\n')
			continue;
		if (c->discarding)
			c->discarding = 0;
		else
			handle_line(s, c, c->in + start, i - start);
		start = i + 1;
	}
	if (c->fd < 0)
		return;
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	if (c->in_len > RUN_CTL_LINE_MAX) {
		/* No newline within the bound: refuse the line, skip to its end. */
		if (!c->discarding)
			respond_error(c, "request line longer than 65536 bytes: refused (one JSON object per line)");
		c->discarding = 1;
		c->in_len = 0;
	}
}

/* Accepts every pending connection (a burst must not wait for more polls). */
static void accept_all(struct run_ctl *s)
{
	static const char busy[] =
		"{\"ok\":false,\"error\":\"too many control connections (at most 16): close one\"}\n";
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		size_t i = 0;
		while (i < RUN_CTL_CLIENTS && s->clients[i].fd >= 0)
			i++;
		if (i < RUN_CTL_CLIENTS) {
			s->clients[i].fd = fd;
			continue;
		}
		(void)!send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
	}
}

size_t run_ctl_pollfds(struct run_ctl *s, struct pollfd *fds, size_t max)
{
	size_t n = 0;
	if (s->listen_fd >= 0 && !s->stop && n < max)
		fds[n++] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
	for (size_t i = 0; i < RUN_CTL_CLIENTS && n < max; i++) {
		struct run_ctl_client *c = &s->clients[i];
		if (c->fd < 0)
			continue;
		short ev = 0;
		if (!s->stop && c->out_len - c->out_off < OUT_PAUSE)
			ev |= POLLIN;
		if (c->out_off < c->out_len)
			ev |= POLLOUT;
		fds[n++] = (struct pollfd){.fd = c->fd, .events = ev};
	}
	return n;
}

void run_ctl_serve(struct run_ctl *s, const struct pollfd *fds, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (!fds[k].revents)
			continue;
		if (fds[k].fd == s->listen_fd) {
			accept_all(s);
			continue;
		}
		for (size_t i = 0; i < RUN_CTL_CLIENTS; i++) {
			struct run_ctl_client *c = &s->clients[i];
			if (c->fd != fds[k].fd)
				continue;
			if (fds[k].revents & POLLOUT)
				flush_out(c);
			if (c->fd >= 0 && (fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
				read_in(s, c);
			if (c->fd >= 0)
				flush_out(c);
		}
	}
}

int run_ctl_pending(const struct run_ctl *s)
{
	for (size_t i = 0; i < RUN_CTL_CLIENTS; i++)
		if (s->clients[i].fd >= 0 && s->clients[i].out_off < s->clients[i].out_len)
			return 1;
	return 0;
}

void run_ctl_close(struct run_ctl *s, int ms)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (run_ctl_pending(s)) {
		struct pollfd fds[RUN_CTL_CLIENTS + 1];
		s->stop = 1;
		size_t n = run_ctl_pollfds(s, fds, RUN_CTL_CLIENTS + 1);
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || poll(fds, n, (int)left) <= 0)
			break;
		for (size_t k = 0; k < n; k++)
			if (fds[k].revents & (POLLOUT | POLLHUP | POLLERR))
				for (size_t i = 0; i < RUN_CTL_CLIENTS; i++)
					if (s->clients[i].fd == fds[k].fd)
						flush_out(&s->clients[i]);
	}
	for (size_t i = 0; i < RUN_CTL_CLIENTS; i++)
		drop(&s->clients[i]);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->path);
	}
	s->listen_fd = -1;
}
