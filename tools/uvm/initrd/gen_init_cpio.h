/* Runs the kernel's usr/gen_init_cpio (built from the pinned kernel source by
 * tools/build/gen_init_cpio.sh) on a parsed list: the archive's bytes are the
 * kernel's writer's, reproducible because of -t MTIME. */
#ifndef UVM_GEN_INIT_CPIO_H
#define UVM_GEN_INIT_CPIO_H

#include <stdint.h>

#include "cpio_list.h"
#include "err.h"

/* Writes the archive to out_fd. tool is gen_init_cpio's path. A failure of
 * the tool is reported with its exit status (its own message is on stderr). */
int gen_init_cpio_run(const char *tool, const struct cpio_list *list, uint32_t mtime, int out_fd, struct uvm_err *err);

#endif
