/* TEST FLAVOUR ONLY: the fault seam of the storage ops. The host arms
 * "after K more calls, the next N calls at point P fail" with the
 * test_inject_fault op; the
 * storage code asks storage_fault(P) before the real call (agent/storage.h,
 * agent/storage_undo.c). This is how tests/test_storage.py makes a dm
 * removal fail with EBUSY (as a dying container's mount namespace does) and
 * checks what every storage op leaves behind. Compiled only into the test
 * flavour (Makefile: init/test-flavour/); the production build has neither
 * the op nor the seam (storage_fault is a constant 0 there). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "storage.h"

#ifndef UVM_TEST_FLAVOUR
#error "the storage fault seam belongs to the test flavour only"
#endif

static const char *const point_names[STORAGE_FAULT_N] = {
	[STORAGE_FAULT_DM_REMOVE] = "dm_remove", /* storage_dm_remove: EBUSY */
	[STORAGE_FAULT_REMOUNT] = "remount",     /* storage_remount: EIO */
};
static struct {
	uint64_t pass; /* calls that still go through first */
	uint64_t fail; /* then calls that fail */
} armed[STORAGE_FAULT_N];

int storage_fault(enum storage_fault point)
{
	if (armed[point].fail == 0)
		return 0;
	if (armed[point].pass) {
		armed[point].pass--;
		return 0;
	}
	armed[point].fail--;
	return 1;
}

/* {"point": NAME, "count": N[, "after": K]} (decoded and range-checked by
 * lib/request.c): after K calls that go through, the next N calls at NAME
 * fail (count 0 disarms). Result: {"point", "count", "previous"}: how many
 * armed failures were left unused. */
int op_test_inject_fault(struct op_call *c)
{
	const struct request *r = c->r;
	size_t i = 0;
	while (i < STORAGE_FAULT_N && strcmp(point_names[i], r->point) != 0)
		i++;
	if (i == STORAGE_FAULT_N)
		return op_fail(c->e, OP_ERR_MALFORMED, "test_inject_fault: point '%.40s' must be dm_remove or remount",
			       r->point);
	json_w_obj(c->w);
	json_w_key(c->w, "point");
	json_w_cstr(c->w, point_names[i]);
	json_w_key(c->w, "count");
	json_w_uint(c->w, (uint64_t)r->count);
	json_w_key(c->w, "previous");
	json_w_uint(c->w, armed[i].fail);
	json_w_end(c->w);
	armed[i].fail = (uint64_t)r->count;
	armed[i].pass = r->count ? (uint64_t)r->after : 0;
	return 0;
}
