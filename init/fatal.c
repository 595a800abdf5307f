#include "fatal.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "log.h"

void power_off(const char *why)
{
	log_msg("powering off: %s", why);
	sync();
	reboot(RB_POWER_OFF);
	/* Only reached when not PID 1 (a test run on the host): stop here. */
	for (;;)
		pause();
}

void fatal(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_msg("FATAL: %s", msg);
	power_off("fatal error");
}
