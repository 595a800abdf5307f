/* Read-only questions the agent asks the engine's state between decisions
 * (lib/policy/policy.h "Queries"). */
#include <string.h>

#include "policy_internal.h"

int policy_overlay_layers(struct policy_state *st, const char *container_id, const char *const **layers, size_t *n)
{
	struct st_overlay *o = policy_st_find_overlay_of(st, container_id);
	if (!o)
		return -1;
	*layers = (const char *const *)o->layers;
	*n = o->nlayers;
	return 0;
}

/* Whether the mounted layer targets are container c's layers, in order. */
static int layers_are(struct policy_state *st, const struct pol_container *c, const struct req_strs *layers)
{
	if (c->nlayers != layers->n)
		return 0;
	for (size_t k = 0; k < layers->n; k++) {
		struct st_device *d = policy_st_find_device(st, layers->v[k]);
		if (!d || memcmp(d->hash, c->layers[k], UVM_SHA256_LEN) != 0)
			return 0;
	}
	return 1;
}

uint64_t policy_scratch_bound(struct policy_state *st, const struct req_strs *layers)
{
	const struct policy *pol = st->pol;
	uint64_t bound = 0;
	for (size_t i = 0; i < pol->ncontainers; i++) {
		uint64_t b = pol->containers[i].resources.scratch_max;
		if (b && (!bound || b < bound) && layers_are(st, &pol->containers[i], layers))
			bound = b;
	}
	return bound;
}
