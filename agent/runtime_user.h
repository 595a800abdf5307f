/* Resolving a container user or group name from the container's verity
 * layers (runtime_user.c). */
#ifndef UVM_AGENT_RUNTIME_USER_H
#define UVM_AGENT_RUNTIME_USER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "policy.h"

struct rt_resolved_user {
	int has_uid, has_gid;
	uint32_t uid, primary_gid; /* from /etc/passwd (has_uid) */
	uint32_t gid;              /* from /etc/group (has_gid) */
};

/* layers: the overlay's layer directories, base first. name and/or group
 * may be NULL (not asked). 0 with out filled, or -1 with err. */
int rt_user_resolve(const char *const *layers, size_t nlayers, const char *name, const char *group,
		    struct rt_resolved_user *out, struct uvm_err *err);

#endif
