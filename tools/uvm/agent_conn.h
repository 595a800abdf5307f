/* The host's end of the agent channel (docs/protocol.md, "Transport" and
 * "Framing"), shared by `uvm ctl` and `uvm run`: connect to the unix socket
 * of `uvm launch --socket` (or vsock:CID[:PORT]), send one frame, read one
 * response frame. Blocking, with a timeout on every wait. Messages name the
 * caller (`who`, e.g. "uvm ctl") and say what to do. */
#ifndef UVM_AGENT_CONN_H
#define UVM_AGENT_CONN_H

#include <stddef.h>

#include "err.h"

#define AGENT_FRAME_MAX (1u << 20)    /* a request, as the guest accepts it */
#define AGENT_RESPONSE_MAX (4u << 20) /* a response the host accepts */

/* A connected stream socket with SO_RCVTIMEO/SO_SNDTIMEO of timeout_s, or
 * -1 with err ("connect PATH: why (is ... running?)"). */
int agent_connect(const char *path, int timeout_s, struct uvm_err *err);

/* A connected unix stream socket with the same timeouts, or -1 with err
 * ("connect PATH: why (HINT)"; `what` names the option, e.g. "--control"). */
int unix_connect(const char *path, const char *what, const char *hint, int timeout_s, struct uvm_err *err);

/* Sends req (1..AGENT_FRAME_MAX bytes) as one frame and reads one response
 * frame into *body (malloc'ed, NUL-terminated, *len bytes). 0, or -1 with
 * err (transport: the connection closed, a timeout, an announced length
 * outside 1..AGENT_RESPONSE_MAX). */
int agent_exchange(int fd, const char *req, size_t len, char **body, size_t *blen, struct uvm_err *err);

#endif
