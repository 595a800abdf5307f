/* op_fail, apart from the op table (ops.c) so that code which only reports
 * errors (binding.c, decide.c) links without every op handler, e.g. into
 * the host unit tests (Makefile AGENT_HOST_SRCS). */
#include "ops.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int op_fail(struct op_error *e, const char *kind, const char *fmt, ...)
{
	/* Formatted into a copy first: callers pass e->err.msg itself as an
	 * argument ("op: %s", e->err.msg), and a buffer printed into itself is
	 * undefined behaviour (the messages came back empty). */
	char msg[sizeof e->err.msg];
	va_list ap;
	e->kind = kind;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	memcpy(e->err.msg, msg, sizeof msg);
	return -1;
}
