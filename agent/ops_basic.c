/* Requests that need no policy: liveness, status, and an orderly power-off
 * (harmless to allow: the host can stop the VM at any time anyway). */
#include "ops.h"

int op_ping(struct op_call *c)
{
	struct json_writer *w = c->w;
	json_w_obj(w);
	json_w_key(w, "pong");
	json_w_bool(w, 1);
	json_w_end(w);
	return 0;
}

int op_status(struct op_call *c)
{
	struct agent *a = c->a;
	struct json_writer *w = c->w;
	json_w_obj(w);
	json_w_key(w, "channel");
	json_w_cstr(w, a->ch.desc);
	json_w_key(w, "requests");
	json_w_uint(w, a->requests);
	json_w_key(w, "vmrss_kib"); /* PID 1's resident memory: must stay bounded */
	json_w_int(w, agent_vmrss_kib());
	/* Time spent in the policy engine, so its share of an operation can be
	 * measured on the real path (make bench) without a policy-less build. */
	json_w_key(w, "policy_decisions");
	json_w_uint(w, a->decisions);
	json_w_key(w, "policy_decide_ns");
	json_w_uint(w, a->decide_ns);
	json_w_end(w);
	return 0;
}

int op_shutdown(struct op_call *c)
{
	struct json_writer *w = c->w;
	c->a->shutdown_requested = 1;
	json_w_obj(w);
	json_w_key(w, "powering_off");
	json_w_bool(w, 1);
	json_w_end(w);
	return 0;
}
