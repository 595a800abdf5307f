/* An error that carries its context up the stack (after crun's libcrun_error_t):
 * the innermost failure sets the message, callers may prefix what they were
 * doing. Fixed-size so it can live on the stack of PID 1 without allocation. */
#ifndef UVM_ERR_H
#define UVM_ERR_H

#include <stdarg.h>

#define UVM_ERR_MAX 512

struct uvm_err {
	int code;              /* errno value when one applies, else 0 */
	char msg[UVM_ERR_MAX]; /* "what failed: on which input: why" */
};

/* Sets the message (printf-style) and code; returns -1 for `return uvm_fail(...)`. */
int uvm_fail(struct uvm_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes the existing message with more context ("while X: <old>"); returns -1. */
int uvm_wrap(struct uvm_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
