/* The guest's executor of each op, keyed by lib/request.h's enum req_op:
 * the wire name and schema are there, the engine's decision in
 * lib/policy/policy_engine.c. An op without an entry here is answered with
 * "unknown_op"; nothing is reachable from the host but these. */
#include "ops.h"

#include "storage.h"

static const struct op_def defs[] = {
	[REQ_PING] = {0, 0, NULL, op_ping},
	[REQ_STATUS] = {0, 0, NULL, op_status},
	[REQ_SHUTDOWN] = {0, 0, NULL, op_shutdown},
	[REQ_SET_POLICY] = {0, 0, NULL, op_set_policy},
	[REQ_GET_REPORT] = {1, 0, NULL, op_get_report},
	/* storage (agent/storage_*.c) */
	[REQ_MOUNT_DEVICE] = {1, sizeof(struct mount_device_priv), op_mount_device_prepare, op_mount_device},
	[REQ_UNMOUNT_DEVICE] = {1, sizeof(struct unmount_device_priv), op_unmount_device_prepare, op_unmount_device},
	[REQ_SCRATCH_MOUNT] = {1, sizeof(struct scratch_mount_priv), op_scratch_mount_prepare, op_scratch_mount},
	[REQ_SCRATCH_UNMOUNT] = {1, sizeof(struct scratch_unmount_priv), op_scratch_unmount_prepare,
				 op_scratch_unmount},
	[REQ_MOUNT_OVERLAY] = {1, sizeof(struct mount_overlay_priv), op_mount_overlay_prepare, op_mount_overlay},
	[REQ_UNMOUNT_OVERLAY] = {1, sizeof(struct unmount_overlay_priv), op_unmount_overlay_prepare,
				 op_unmount_overlay},
	/* containers (agent/ops_container.c) */
	[REQ_CREATE_CONTAINER] = {1, 0, NULL, op_create_container},
	[REQ_START_CONTAINER] = {1, 0, NULL, op_start_container},
	[REQ_EXEC_IN_CONTAINER] = {1, 0, NULL, op_exec_in_container},
	[REQ_EXEC_EXTERNAL] = {1, 0, NULL, op_exec_external},
	[REQ_SIGNAL_PROCESS] = {1, 0, NULL, op_signal_process},
	[REQ_WAIT_PROCESS] = {1, 0, NULL, op_wait_process},
	[REQ_SHUTDOWN_CONTAINER] = {1, 0, NULL, op_shutdown_container},
	[REQ_READ_OUTPUT] = {1, 0, NULL, op_read_output},
	[REQ_WRITE_STDIN] = {1, 0, NULL, op_write_stdin},
	[REQ_CLOSE_STDIN] = {1, 0, NULL, op_close_stdin},
	[REQ_GET_PROPERTIES] = {1, 0, NULL, op_get_properties},
	[REQ_DUMP_STACKS] = {1, 0, NULL, op_dump_stacks},
	[REQ_RUNTIME_LOGGING] = {1, 0, NULL, op_runtime_logging},
#ifdef UVM_TEST_FLAVOUR
	/* fault seam of the storage ops (init/test-flavour/storage_fault.c) */
	[REQ_TEST_INJECT_FAULT] = {0, 0, NULL, op_test_inject_fault},
#endif
};

const struct op_def *op_def_of(enum req_op op)
{
	if ((unsigned)op >= sizeof defs / sizeof defs[0] || !defs[op].execute)
		return NULL;
	return &defs[op];
}
