/* Early set-up of the guest as one table of steps run by one loop (after
 * hcsshim's init/init.c): mounts, directories, the console. A failing step
 * is fatal: the guest must not run with a half-built environment. */
#ifndef UVM_INIT_BOOT_STEPS_H
#define UVM_INIT_BOOT_STEPS_H

void boot_steps_run(void);

#endif
