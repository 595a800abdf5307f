/* The only way PID 1 stops: log why, then power the VM off. PID 1 never
 * exits (the kernel would panic, hiding the reason). */
#ifndef UVM_INIT_FATAL_H
#define UVM_INIT_FATAL_H

__attribute__((noreturn, format(printf, 1, 2))) void fatal(const char *fmt, ...);

/* Orderly power-off after a clean shutdown request. */
__attribute__((noreturn)) void power_off(const char *why);

#endif
