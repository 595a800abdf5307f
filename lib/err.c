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
	/* Truncation is acceptable: the innermost detail is at the end. */
	size_t n = strnlen(prefix, sizeof prefix - 1);
	size_t room = sizeof err->msg - 1;
	if (n > room)
		n = room;
	memcpy(err->msg, prefix, n);
	size_t pos = n;
	const char *sep = ": ";
	for (size_t i = 0; sep[i] && pos < room; i++)
		err->msg[pos++] = sep[i];
	size_t oldlen = strnlen(old, sizeof old - 1);
	if (oldlen > room - pos)
		oldlen = room - pos;
	memcpy(err->msg + pos, old, oldlen);
	err->msg[pos + oldlen] = '\0';
	return -1;
}
