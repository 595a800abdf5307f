/* Building an rt_spec from an allowed, decoded request (lib/request.h) and
 * the decision's drops (runtime_spec.c). */
#ifndef UVM_AGENT_RUNTIME_SPEC_H
#define UVM_AGENT_RUNTIME_SPEC_H

#include "policy.h"
#include "request.h"
#include "runtime.h"

/* What rt_spec_* allocated; free with rt_spec_free (also after a failure). */
struct rt_spec_mem {
	char **argv, **envp;
	struct rt_mount *mounts;
	char ***opts;
	size_t nmounts;
	struct sock_filter *filter; /* the built seccomp program */
	struct sock_fprog prog;
};

/* argv, env minus the variables drop_env marks (one byte per r->env.v[i],
 * nonzero = drop; NULL = none), working_dir, stdio. */
int rt_spec_process(const struct request *r, const unsigned char *drop_env, struct rt_spec *s, struct rt_spec_mem *m,
		    struct uvm_err *err);
/* The same plus user, capabilities minus d->drop_caps, flags, mounts, the
 * approved resources (0: the defaults) and the seccomp program built from
 * the request's seccomp (absent: the default profile). d NULL: nothing
 * dropped. */
int rt_spec_container(const struct request *r, const struct policy_decision *d, struct rt_spec *s,
		      struct rt_spec_mem *m, struct uvm_err *err);
void rt_spec_free(struct rt_spec_mem *m);

#endif
