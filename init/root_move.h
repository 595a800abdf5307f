/* Copies the initramfs into a tmpfs and makes that "/" (see root_move.c). */
#ifndef UVM_INIT_ROOT_MOVE_H
#define UVM_INIT_ROOT_MOVE_H

void root_move_to_tmpfs(void);

#endif
