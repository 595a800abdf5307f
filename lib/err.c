#include "err.h"

#include <stdio.h>
#include <string.h>

int uvm_fail(struct uvm_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	if (!err)
		return -1;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

int uvm_wrap(struct uvm_err *err, const char *fmt, ...)
{
	char prefix[UVM_ERR_MAX], old[UVM_ERR_MAX];
	va_list ap;
	if (!err)
		return -1;
	memcpy(old, err->msg, sizeof old);
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
	return -1;
}
