/* Read-only questions the agent asks the engine's state between decisions
 * (lib/policy.h "Queries"). */
#include <string.h>

#include "policy_internal.h"

int policy_overlay_layers(struct policy_state *st, const char *container_id, const char *const **layers,
			  size_t *n)
{
	struct st_overlay *o = policy_st_find_overlay_of(st, container_id);
	if (!o)
		return -1;
	*layers = (const char *const *)o->layers;
	*n = o->nlayers;
	return 0;
}
