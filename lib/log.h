/* PID 1's log: every line goes to the console (the host's serial log) and to
 * /dev/kmsg, prefixed "uvm-init:" so a reader can grep the boot for it. */
#ifndef UVM_INIT_LOG_H
#define UVM_INIT_LOG_H

void log_open(void);
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Logs "timestamp NAME T" with CLOCK_BOOTTIME in microseconds (the boot
 * benchmark parses these lines) and returns the value. */
long long log_timestamp(const char *name);

#endif
