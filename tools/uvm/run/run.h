/* uvm run (docs/sandbox.md): one confidential container from an OCI image,
 * as `docker run` does it, and the control socket the containerd shim
 * drives. One job per file:
 *   run_layers.c   the layers, converted by the code of `uvm layer` into a
 *                  cache keyed by chain id (safe for concurrent runs)
 *   run_policy.c   the policy: generated or the tenant's; the container
 *                  used (by layers, argv, name); the create request built
 *                  from its own fields
 *   run_launch.c   `uvm launch` as a child (this binary), the sparse
 *                  scratch disk, waiting for the guest to be ready
 *   run_agent.c    requests to the agent (framing: agent_conn.h)
 *   run_stdio.c    output pulled with read_output into file descriptors,
 *                  input pushed with write_stdin
 *   run_control.c  the control socket: lines in, lines out, bounded,
 *                  non-blocking, poll-driven
 *   run_session.c  the sequence: bind, mount, create, start, the loop
 *                  that serves the control socket and pumps stdio, and
 *                  the tear-down
 * tools/uvm/cmd_run.c only reads the command line. */
#ifndef UVM_RUN_H
#define UVM_RUN_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "json.h"
#include "layer_build.h"

/* `uvm launch` attaches at most 8 disks: the layers and the scratch. */
#define RUN_MAX_LAYERS 7
#define RUN_MAX_LAUNCH_ARGS 32
#define RUN_PATH_MAX 4096

/* Exit statuses of uvm run itself (the container's status otherwise). */
#define RUN_EXIT_FAILED 125 /* uvm run failed; the message says which step */
#define RUN_EXIT_NO_MATCH 1 /* the policy has no container for the image */

struct run_opts {
	const char *image, *policy, *container, *layer_cache, *work_dir, *control;
	const char *stdin_path, *stdout_path, *stderr_path;
	const char *launch_args[RUN_MAX_LAUNCH_ARGS];
	size_t nlaunch;
	char **args; /* ARGS after `--`: the container's argv instead of the policy's */
	size_t nargs;
	int no_start;
};

/* Runs the whole sequence; returns the exit status (docs/sandbox.md). */
int run_main(const struct run_opts *o);

/* ------------------------------------------------------------ run_layers.c */
struct run_layer {
	char digest[LAYER_DIGEST_LEN + 1];
	char chain_id[LAYER_DIGEST_LEN + 1];
	char root_hex[2 * UVM_SHA256_LEN + 1];
	char image[RUN_PATH_MAX]; /* CACHE/<hex of chain id>/<hex>.img */
	int reused;               /* 1: found in the cache, nothing converted */
};

/* The default cache: $XDG_CACHE_HOME/uvm/layers, else /var/cache/uvm/layers. */
int run_layer_cache_default(char *out, size_t size, struct uvm_err *err);

/* Every layer of the OCI layout, base first, from the cache directory
 * (created if missing): a chain already there is reused; the others are
 * converted as `uvm layer` converts them, each into a temporary directory
 * of the cache renamed into place, so that runs sharing a cache never see
 * a half-built layer. Progress on stderr ("reused" / "converted"). */
int run_layers_prepare(const char *layout, const char *cache, struct run_layer *layers, size_t *n, struct uvm_err *err);

/* Writes a `uvm layer` style layers.json of the layers (digest, chain_id,
 * path, root_hash) for `uvm policy gen --layers`' reader. */
int run_layers_write_index(const struct run_layer *layers, size_t n, const char *path, struct uvm_err *err);

/* ------------------------------------------------------------ run_policy.c */
struct run_create {
	char *args;                     /* create_container args (malloc'ed JSON object) */
	char container_id[129];         /* its container_id */
	char name[256];                 /* the policy container's name ("" if none) */
	size_t index;                   /* its index in the policy's containers */
	int stdio;                      /* the request asks for stdio */
	char *env;                      /* the request's env as a JSON array (for exec) */
	char working_dir[RUN_PATH_MAX]; /* the request's working_dir */
};

/* The policy container for an image whose layers have these root hashes
 * (hex, base first): the containers with exactly these layers; of several,
 * the one named `name` (if given), else those whose argv equals args (if
 * given); it must then be one. 0 with *index, or -1 with err naming the
 * image's root hashes and what the policy lists. */
int run_policy_choose(const struct json_value *policy, const char *const *roots, size_t nroots, const char *name,
		      char *const *args, size_t nargs, size_t *index, struct uvm_err *err);

/* The create_container args for policy container c (a member of
 * $.containers), from its own fields: argv (args instead if nargs), the env
 * rules given as strings, working_dir, the mounts with exact sources, user,
 * capabilities, no_new_privileges, stdio if allow_stdio_access, seccomp,
 * and resources at the policy's bounds. Fields that cannot be derived
 * (a required regex env rule, a required mount with a regex source, a user
 * given by name) fail with err naming the field and what to do. */
int run_create_build(const struct json_value *c, size_t index, char *const *args, size_t nargs, struct run_create *out,
		     struct uvm_err *err);
void run_create_free(struct run_create *c);

/* ------------------------------------------------------------ run_policy_file.c */
struct run_policy {
	char *bytes; /* the exact bytes (HOST_DATA is their SHA-256) */
	size_t len;
	char path[RUN_PATH_MAX]; /* the file uvm launch reads */
	struct json_doc *doc;
	const struct json_value *root;
};

/* --policy FILE, checked with the engine's loader; or, without it, the
 * policy `uvm policy gen --image` writes for the image (with ARGS as its
 * argv), from the layers' root hashes in layers_json, written to
 * work_dir/policy.json. 0, or -1 with err. */
int run_policy_load(const struct run_opts *o, const char *layers_json, const char *work_dir, struct run_policy *p,
		    struct uvm_err *err);
void run_policy_free(struct run_policy *p);

/* ------------------------------------------------------------ run_launch.c */
#define RUN_SCRATCH_BYTES (1ull << 30) /* sparse: costs what the container writes */

struct run_vm {
	pid_t pid; /* `uvm launch`, which became QEMU; 0 when gone */
	int status;
	char console[RUN_PATH_MAX]; /* its serial console and messages */
	char socket[RUN_PATH_MAX];  /* the agent's socket, or vsock:CID */
	char scratch[RUN_PATH_MAX];
};

/* Creates the sparse scratch disk and starts `uvm launch` (this very
 * binary, /proc/self/exe) with HOST_DATA from the policy file, one
 * read-only disk per layer (serials layer0, layer1, ...), the scratch
 * (serial scratch) and the --launch-arg arguments; console to
 * work_dir/console.log. */
int run_launch_start(const struct run_opts *o, const char *work_dir, const char *policy_path,
		     const struct run_layer *layers, size_t n, struct run_vm *vm, struct uvm_err *err);
/* Waits for "uvm-init: ready" on the console (the agent serves from then
 * on), at most timeout_s; fails if QEMU exits first (its console's tail
 * is in the message's place on stderr). */
int run_launch_wait_ready(struct run_vm *vm, int timeout_s, struct uvm_err *err);
/* 1 once QEMU has exited (vm->status holds its status), else 0. */
int run_launch_exited(struct run_vm *vm);
/* Waits up to timeout_s for QEMU to exit, then kills it. */
void run_launch_stop(struct run_vm *vm, int timeout_s);
/* Prints the console's last lines on stderr. */
void run_launch_tail(const struct run_vm *vm);

/* ------------------------------------------------------------ run_agent.c */
struct run_agent {
	int fd;
	uint64_t next_id;
};

struct run_reply {
	int ok;
	char *body;
	struct json_doc *doc;
	const struct json_value *result; /* ok */
	const char *kind, *message;      /* not ok */
	char *reason;                    /* not ok: the policy engine's reason as JSON text, or NULL */
	size_t reason_len;
};

/* Connects to the agent socket (or vsock:CID). */
int run_agent_connect(struct run_agent *a, const char *path, struct uvm_err *err);
void run_agent_close(struct run_agent *a);

/* Sends {"id", "op", "args"} (args: a JSON object's text, or NULL) and
 * reads the response. 0 with r filled (r->ok says which answer), or -1
 * with err (transport or a response that is not the protocol's). */
int run_agent_call(struct run_agent *a, const char *op, const char *args, struct run_reply *r, struct uvm_err *err);
void run_reply_free(struct run_reply *r);

/* The same, for steps that must succeed: an error answer becomes -1 with
 * err "OP: KIND: MESSAGE" (the reason is printed on stderr in full). */
int run_agent_must(struct run_agent *a, const char *op, const char *args, struct run_reply *r, struct uvm_err *err);

/* ------------------------------------------------------------ run_stdio.c */
#define RUN_IO_CHUNK (64u << 10)

/* Where a stream of the container goes: an inherited descriptor written
 * with blocking writes (uvm run's own stdout/stderr), a file or FIFO uvm run
 * opened itself (non-blocking, with what did not fit kept until poll says
 * it may be written), or nowhere (fd -1: read and dropped, so the writer
 * in the guest never stalls). */
struct run_sink {
	int fd, own, nonblock;
	char *buf;
	size_t len, off;
	int broken; /* a write failed: the rest is dropped */
};

/* path NULL: default_fd (may be -1: nowhere). A FIFO without a reader is
 * opened read-write, so the open never blocks and never fails with ENXIO. */
int run_sink_open(struct run_sink *s, const char *path, int default_fd, struct uvm_err *err);
/* Queues data and writes what it can. */
void run_sink_write(struct run_sink *s, const void *data, size_t n);
void run_sink_flush(struct run_sink *s);
/* Nothing left to write (more may be read for it). */
int run_sink_idle(const struct run_sink *s);
void run_sink_close(struct run_sink *s);

/* Where a process's stdin comes from: "-" is uvm run's own stdin; a file
 * or FIFO is opened read-only and non-blocking. A FIFO ends when its last
 * writer closes it, once a writer has come (until one comes, the stdin
 * stays open: close_stdin ends it); any other file at its end. */
struct run_source {
	int fd, own, eof;
	int fifo; /* read() == 0 is its end only with POLLHUP */
	char *buf;
	size_t len, off;
};

int run_source_open(struct run_source *s, const char *path, struct uvm_err *err);
/* After poll reported revents on it: reads into the empty buffer. */
void run_source_read(struct run_source *s, short revents);
void run_source_close(struct run_source *s);

/* ------------------------------------------------------------ run_control.c */
#define RUN_CTL_LINE_MAX (64u << 10)
#define RUN_CTL_CLIENTS 16

enum run_ctl_op {
	CTL_START,
	CTL_EXEC,
	CTL_KILL,
	CTL_CLOSE_STDIN,
	CTL_STATE,
	CTL_PIDS,
	CTL_STATS,
	CTL_SHUTDOWN,
	CTL_REPORT,
};

#define RUN_CTL_NONCE_MAX 64 /* bytes, as the agent's get_report */

struct run_ctl_req {
	enum run_ctl_op op;
	struct json_doc *doc; /* strings and argv/env point into it */
	const char *exec_id;  /* NULL: the init */
	const struct json_value *argv, *env;
	const char *cwd, *stdin_path, *stdout_path, *stderr_path;
	const char *nonce; /* report: 2 to 128 hex digits, an even number */
	int signal;
};

/* Parses one request line (without its newline). 0, or -1 with err saying
 * what is wrong with which member. Free with run_ctl_req_free. */
int run_ctl_parse(const char *line, size_t len, struct run_ctl_req *req, struct uvm_err *err);
void run_ctl_req_free(struct run_ctl_req *req);

/* The server. The handler writes one response object into w. */
typedef void (*run_ctl_handler)(void *ctx, const struct run_ctl_req *req, struct json_writer *w);

struct run_ctl_client {
	int fd;
	char *in;
	size_t in_len;
	int discarding; /* the current line passed RUN_CTL_LINE_MAX: skip to its newline */
	char *out;
	size_t out_len, out_off;
};

struct run_ctl {
	int listen_fd;
	char path[RUN_PATH_MAX];
	struct run_ctl_client clients[RUN_CTL_CLIENTS];
	run_ctl_handler handler;
	void *ctx;
	int stop; /* set by the handler (shutdown): no more requests are read */
};

/* Listens on path (created with mode 0600; an existing socket there is
 * refused). 0, or -1 with err. */
int run_ctl_listen(struct run_ctl *s, const char *path, run_ctl_handler h, void *ctx, struct uvm_err *err);
/* Adds the server's descriptors to fds (at most max); returns how many. */
size_t run_ctl_pollfds(struct run_ctl *s, struct pollfd *fds, size_t max);
/* Serves what poll reported ready in fds[0..n). */
void run_ctl_serve(struct run_ctl *s, const struct pollfd *fds, size_t n);
/* 1 while some response is not yet written. */
int run_ctl_pending(const struct run_ctl *s);
/* Writes what it can of pending responses, waiting up to ms for slow
 * readers; then closes every connection, the socket, and removes it. */
void run_ctl_close(struct run_ctl *s, int ms);

/* Formats {"ok": false, "error": msg[, "denial": reason]} into w; reason is
 * the agent's structured reason (JSON text) or NULL. */
void run_ctl_error(struct json_writer *w, const char *msg, const char *reason, size_t reason_len);

#endif
