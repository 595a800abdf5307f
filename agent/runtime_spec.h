/* Building an rt_spec from an allowed request and the decision's drops
 * (runtime_spec.c). */
#ifndef UVM_AGENT_RUNTIME_SPEC_H
#define UVM_AGENT_RUNTIME_SPEC_H

#include "json.h"
#include "runtime.h"

/* What rt_spec_* allocated; free with rt_spec_free (also after a failure). */
struct rt_spec_mem {
	char **argv, **envp;
	unsigned char *skip;
	struct rt_mount *mounts;
	char ***opts;
	size_t nmounts;
	const char **sc_names;      /* seccomp allow and deny names */
	struct sock_filter *filter; /* the built seccomp program */
	struct sock_fprog prog;
};

/* argv, env minus drop_env (the decision's list), working_dir, stdio. */
int rt_spec_process(const struct json_value *args, const struct json_value *drop_env, struct rt_spec *s,
		    struct rt_spec_mem *m, struct uvm_err *err);
/* The same plus user, capabilities minus drop_caps, flags, mounts, the
 * approved "resources" (absent: the defaults) and the seccomp program built
 * from the request's approved "seccomp" (absent: the default profile). */
int rt_spec_container(const struct json_value *args, const struct json_value *drop_env,
		      const struct json_value *drop_caps, struct rt_spec *s, struct rt_spec_mem *m,
		      struct uvm_err *err);
void rt_spec_free(struct rt_spec_mem *m);

#endif
