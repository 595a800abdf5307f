/* Host access to allowed stdio. The kernel pipe is the bounded buffer
 * (RT_PIPE_SIZE): the agent never copies output into memory of its own, it
 * reads what is available when the host asks (read_output) and never
 * blocks. A process that writes faster than the host reads blocks on its
 * full pipe: that is the back-pressure. */
#include "runtime_table.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static struct rt_entry *find_stdio(struct rt_table *t, const char *cid, const char *pid_id, struct uvm_err *err)
{
	struct rt_entry *e = rt_table_find(t, cid, pid_id);
	if (!e) {
		uvm_fail(err, ENOENT, "no process '%s'%s%s", pid_id && *pid_id ? pid_id : cid,
			 *cid ? " in container " : "", cid);
		return NULL;
	}
	if (!e->stdio) {
		uvm_fail(err, EPERM,
			 "process '%s' has no stdio for the host (not requested with \"stdio\": true, "
			 "or the policy does not allow it): its output went to /dev/null",
			 pid_id && *pid_id ? pid_id : cid);
		return NULL;
	}
	return e;
}

int rt_read_output(struct rt_table *t, const char *cid, const char *pid_id, int stream, uint8_t *buf, size_t max,
		   size_t *got, int *eof, struct uvm_err *err)
{
	struct rt_entry *e = find_stdio(t, cid, pid_id, err);
	*got = 0;
	*eof = 0;
	if (!e)
		return -1;
	if (stream < 0 || stream > 1)
		return uvm_fail(err, EINVAL, "stream must be stdout or stderr");
	while (*got < max && e->out_fd[stream] >= 0) {
		ssize_t n = read(e->out_fd[stream], buf + *got, max - *got);
		if (n > 0) {
			*got += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		/* EOF (every writer gone) or an error: the stream is over. */
		rt_close(&e->out_fd[stream]);
		e->out_eof[stream] = 1;
	}
	*eof = e->out_fd[stream] < 0;
	return 0;
}

int rt_write_stdin(struct rt_table *t, const char *cid, const char *pid_id, const uint8_t *buf, size_t len,
		   size_t *written, struct uvm_err *err)
{
	struct rt_entry *e = find_stdio(t, cid, pid_id, err);
	*written = 0;
	if (!e)
		return -1;
	if (e->in_fd < 0)
		return uvm_fail(err, EPIPE, "stdin of '%s' is closed (the process exited or close_stdin was sent)",
				pid_id && *pid_id ? pid_id : cid);
	while (*written < len) {
		ssize_t n = write(e->in_fd, buf + *written, len - *written);
		if (n > 0) {
			*written += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break; /* the pipe is full: the host retries the rest later */
		int code = n < 0 ? errno : EPIPE;
		rt_close(&e->in_fd);
		return uvm_fail(err, code, "writing stdin of '%s': %s", pid_id && *pid_id ? pid_id : cid,
				strerror(code));
	}
	return 0;
}

int rt_close_stdin(struct rt_table *t, const char *cid, const char *pid_id, struct uvm_err *err)
{
	struct rt_entry *e = find_stdio(t, cid, pid_id, err);
	if (!e)
		return -1;
	rt_close(&e->in_fd);
	return 0;
}
