#include "log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int kmsg_fd = -1;

void log_open(void)
{
	if (kmsg_fd < 0)
		kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
}

void log_msg(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n = snprintf(line, sizeof line, "uvm-init: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = strlen(line);
	/* Messages quote what the host or a workload sent (an op name, a
	 * path): a control character in it must not start a forged console
	 * line ("uvm-init: policy bound ...") or move the cursor. */
	for (size_t i = (size_t)n; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[len++] = '\n';
	/* stderr is the console (opened by the kernel or by the console step). */
	if (write(STDERR_FILENO, line, len) < 0) {
		/* nothing else to tell: kmsg below is the fallback */
	}
	/* Also into the kernel log at debug level ("<7>"), so dmesg has it
	 * without the console printing every line twice. */
	if (kmsg_fd >= 0) {
		char kline[1040];
		int kn = snprintf(kline, sizeof kline, "<7>%.*s", (int)len, line);
		if (kn > 0 && write(kmsg_fd, kline, (size_t)kn) < 0) {
			/* the console copy above is what the host reads */
		}
	}
}

long long log_timestamp(const char *name)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	long long us = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	log_msg("timestamp %s %lld.%06lld", name, us / 1000000, us % 1000000);
	return us;
}
