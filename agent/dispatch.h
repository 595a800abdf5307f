/* The dispatcher (agent/dispatch.c): turns one request body into one
 * response body. */
#ifndef UVM_AGENT_DISPATCH_H
#define UVM_AGENT_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "agent.h"
#include "ops.h"

/* The largest response; a result that would exceed it becomes a "failed". */
#define DISPATCH_RESPONSE_MAX (4u << 20)

/* The response JSON (malloc'ed, *out_len bytes) to the request body, or
 * NULL when not even an error response could be built (out of memory). */
char *dispatch(struct agent *a, const uint8_t *body, size_t len, size_t *out_len);

/* {"id": ID or null, "ok": false, "error": {...}} for e (malloc'ed). */
char *dispatch_error(const char *id_json, size_t id_len, const struct op_error *e, size_t *len);

#endif
