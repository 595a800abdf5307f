/* The table of requests the host may send. An op not listed here is answered
 * with "unknown_op"; nothing is reachable from the host but these. */
#include "ops.h"

#include <string.h>

#ifdef UVM_TEST_FLAVOUR
#include "storage.h" /* op_test_inject_fault */
#endif

static const struct op_def ops[] = {
	{"ping", op_ping, 0},
	{"status", op_status, 0},
	{"shutdown", op_shutdown, 0},
	{"set_policy", op_set_policy, 0},
	{"get_report", op_get_report, 1},
	/* containers (agent/ops_container.c) */
	{"create_container", op_rt_create_container, 1},
	{"start_container", op_rt_start_container, 1},
	{"exec_in_container", op_rt_exec_in_container, 1},
	{"exec_external", op_rt_exec_external, 1},
	{"signal_process", op_rt_signal_process, 1},
	{"wait_process", op_rt_wait_process, 1},
	{"shutdown_container", op_rt_shutdown_container, 1},
	{"read_output", op_rt_read_output, 1},
	{"write_stdin", op_rt_write_stdin, 1},
	{"close_stdin", op_rt_close_stdin, 1},
	{"get_properties", op_rt_get_properties, 1},
	{"dump_stacks", op_rt_dump_stacks, 1},
	{"runtime_logging", op_rt_runtime_logging, 1},
	/* storage */
	{"mount_device", op_storage_mount_device, 1},
	{"unmount_device", op_storage_unmount_device, 1},
	{"mount_overlay", op_storage_mount_overlay, 1},
	{"unmount_overlay", op_storage_unmount_overlay, 1},
	{"scratch_mount", op_storage_scratch_mount, 1},
	{"scratch_unmount", op_storage_scratch_unmount, 1},
#ifdef UVM_TEST_FLAVOUR
	/* fault seam of the storage ops (init/test-flavour/storage_fault.c) */
	{"test_inject_fault", op_test_inject_fault, 0},
#endif
};

const struct op_def *op_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (strlen(ops[i].name) == len && memcmp(ops[i].name, name, len) == 0)
			return &ops[i];
	return NULL;
}
