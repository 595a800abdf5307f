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
};

/* argv, env minus drop_env (the decision's list), working_dir, stdio. */
int rt_spec_process(const struct json_value *args, const struct json_value *drop_env, struct rt_spec *s,
		    struct rt_spec_mem *m, struct uvm_err *err);
/* The same plus user, capabilities minus drop_caps, flags and mounts. */
int rt_spec_container(const struct json_value *args, const struct json_value *drop_env,
		      const struct json_value *drop_caps, struct rt_spec *s, struct rt_spec_mem *m,
		      struct uvm_err *err);
void rt_spec_free(struct rt_spec_mem *m);

#endif
