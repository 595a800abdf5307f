/* Decisions of the storage enforcement points: layer devices, overlays
 * (the container root file systems, with their candidate containers) and
 * scratch space. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "policy_engine.h"

static int hash_in_policy(const struct policy *pol, const uint8_t hash[UVM_SHA256_LEN])
{
	for (size_t i = 0; i < pol->ncontainers; i++)
		for (size_t k = 0; k < pol->containers[i].nlayers; k++)
			if (memcmp(pol->containers[i].layers[k], hash, UVM_SHA256_LEN) == 0)
				return 1;
	return 0;
}

int policy_op_mount_device(struct ctx *x)
{
	const char *target = x->req->target, *hex = x->req->device_hash;
	uint8_t hash[UVM_SHA256_LEN];
	uvm_hex_decode(hex, hash, sizeof hash); /* 64 lowercase hex digits: request_set_device_hash, the decode */
	policy_reason_str(x, "target", target);
	policy_reason_str(x, "device_hash", hex);
	policy_reason_begin_failed(&x->r);
	if (!policy_target_form(target, POLICY_LAYER_DIR, ""))
		policy_reason_fail(&x->r, "target", "target", target, "must be " POLICY_LAYER_DIR "NAME");
	if (policy_st_find_device(x->st, target))
		policy_reason_fail(&x->r, "state", "target", target, "a device is already mounted there");
	if (!hash_in_policy(x->pol, hash))
		policy_reason_fail(&x->r, "layers", "device_hash", hex,
				   "this root hash is not a layer of any container in the policy");
	policy_reason_end_failed(&x->r);
	if (!policy_reason_ok(x))
		return 0;
	return policy_st_add_device(x->st, target, hash) < 0 ? -1 : 1;
}

static struct st_overlay *overlay_using(struct policy_state *st, const char *device)
{
	for (size_t i = 0; i < st->overlays.n; i++) {
		struct st_overlay *o = &st->overlays.v[i];
		for (size_t k = 0; o->alive && k < o->nlayers; k++)
			if (strcmp(o->layers[k], device) == 0)
				return o;
	}
	return NULL;
}

int policy_op_unmount_device(struct ctx *x)
{
	const char *target = x->req->target;
	struct st_device *d = policy_st_find_device(x->st, target);
	struct st_overlay *o = overlay_using(x->st, target);
	policy_reason_str(x, "target", target);
	policy_reason_begin_failed(&x->r);
	if (!d)
		policy_reason_fail(&x->r, "state", "target", target, "no device is mounted there");
	if (o)
		policy_reason_fail(&x->r, "state", "target", o->target,
				   "the device is a layer of this mounted overlay");
	policy_reason_end_failed(&x->r);
	if (!policy_reason_ok(x))
		return 0;
	policy_st_set_int(x->st, &d->alive, 0);
	return 1;
}

/* A candidate's entry in the side reason: {"container": I, "name": N,
 * "failed": [...]}; the failures go between open and close. */
static void candidate_open(struct reason *side, const struct pol_container *c, size_t index)
{
	json_w_obj(&side->w);
	json_w_key(&side->w, "container");
	json_w_uint(&side->w, index);
	if (c->name) {
		json_w_key(&side->w, "name");
		json_w_cstr(&side->w, c->name);
	}
	policy_reason_begin_failed(side);
}

static void candidate_close(struct reason *side)
{
	policy_reason_end_failed(side);
	json_w_end(&side->w);
}

/* Compares the mounted layers with container c's, writing the first
 * difference (the "which layer?" users ask) into the side reason, unless
 * side is NULL (past the listing cap). */
static int layers_match(struct reason *side, const struct pol_container *c, size_t index,
			uint8_t (*hashes)[UVM_SHA256_LEN], size_t n)
{
	char field[48], got[2 * UVM_SHA256_LEN + 1], want[2 * UVM_SHA256_LEN + 1];
	size_t k = 0;
	while (k < n && k < c->nlayers && memcmp(hashes[k], c->layers[k], UVM_SHA256_LEN) == 0)
		k++;
	if (k == n && k == c->nlayers)
		return 1;
	if (!side)
		return 0;
	candidate_open(side, c, index);
	snprintf(field, sizeof field, "layers[%zu]", k);
	if (k < n && k < c->nlayers) {
		uvm_hex_encode(hashes[k], UVM_SHA256_LEN, got);
		uvm_hex_encode(c->layers[k], UVM_SHA256_LEN, want);
		char detail[120];
		snprintf(detail, sizeof detail, "the policy expects %s", want);
		policy_reason_fail(side, "layers", field, got, detail);
	} else
		policy_reason_fail_int(side, "layers", "layers", (int64_t)n,
				       c->nlayers > n ? "fewer layers than the policy's container"
						      : "more layers than the policy's container");
	candidate_close(side);
	return 0;
}

#define SIDE_MAX_CANDIDATES 16

/* The overlay's layers must all be mounted devices; collects their hashes. */
static int overlay_devices(struct ctx *x, const struct req_strs *layers, uint8_t (*hashes)[UVM_SHA256_LEN])
{
	char field[48];
	int ok = 1;
	for (size_t i = 0; i < layers->n; i++) {
		const char *t = layers->v[i];
		struct st_device *d = policy_st_find_device(x->st, t);
		if (!d) {
			snprintf(field, sizeof field, "layers[%zu]", i);
			policy_reason_fail(&x->r, "state", field, t, "no device is mounted there");
			ok = 0;
			continue;
		}
		memcpy(hashes[i], d->hash, UVM_SHA256_LEN);
	}
	return ok;
}

static void overlay_checks(struct ctx *x, const char *cid, const char *target)
{
	if (!policy_target_form(target, POLICY_CONTAINER_DIR, POLICY_ROOTFS_SUFFIX) ||
	    strncmp(target + strlen(POLICY_CONTAINER_DIR), cid, strlen(cid)) != 0 ||
	    strcmp(target + strlen(POLICY_CONTAINER_DIR) + strlen(cid), POLICY_ROOTFS_SUFFIX) != 0)
		policy_reason_fail(&x->r, "target", "target", target,
				   "must be " POLICY_CONTAINER_DIR "CONTAINER_ID" POLICY_ROOTFS_SUFFIX);
	if (policy_st_find_overlay(x->st, target))
		policy_reason_fail(&x->r, "state", "target", target, "an overlay is already mounted there");
	if (policy_st_find_overlay_of(x->st, cid) || policy_st_find_container(x->st, cid))
		policy_reason_fail(&x->r, "state", "container_id", cid,
				   "this container already has a root file system");
}

/* The writable layer's size (the guest's fact upper_bytes; 0: a tmpfs
 * upper dir, which the container's memory.max bounds instead) against
 * container c's scratch_max: a container without one allows any size.
 * Writes the failure as a candidate entry of side, unless side is NULL
 * (past the listing cap). */
static int scratch_fits(struct reason *side, const struct pol_container *c, size_t index, uint64_t bytes)
{
	char detail[96];
	if (!bytes || !c->resources.scratch_max || bytes <= c->resources.scratch_max)
		return 1;
	if (!side)
		return 0;
	candidate_open(side, c, index);
	snprintf(detail, sizeof detail, "more than the policy's scratch_max of %" PRIu64 " bytes",
		 c->resources.scratch_max);
	policy_reason_fail_int(side, "resources", "scratch_bytes", (int64_t)bytes, detail);
	candidate_close(side);
	return 0;
}

/* The candidates: the containers whose layers are these, in order, and
 * whose scratch_max allows the writable layer; every other container is
 * listed in side with why (up to the cap). A failure in the request's own
 * reason when none is left: layers if no container has them, else the
 * size. Returns how many containers failed. */
static size_t overlay_candidates(struct ctx *x, uint8_t (*hashes)[UVM_SHA256_LEN], struct pol_set *cands,
				 struct reason *side, size_t *listed)
{
	const struct request *req = x->req;
	size_t failed = 0, same_layers = 0;
	for (size_t i = 0; i < x->pol->ncontainers; i++) {
		const struct pol_container *c = &x->pol->containers[i];
		/* Past the listing cap, compare without writing. */
		struct reason *out = *listed < SIDE_MAX_CANDIDATES ? side : NULL;
		int layers_ok = layers_match(out, c, i, hashes, req->layers.n);
		same_layers += layers_ok;
		if (layers_ok && scratch_fits(out, c, i, req->upper_bytes)) {
			pol_set_add(cands, i);
			continue;
		}
		failed++;
		*listed += out != NULL;
	}
	if (!pol_set_empty(cands))
		return failed;
	if (!same_layers)
		policy_reason_fail(&x->r, "layers", "layers", NULL,
				   "the ordered layers match no container of the policy (see candidates)");
	else
		policy_reason_fail_int(&x->r, "resources", "scratch_bytes", (int64_t)req->upper_bytes,
				       "the writable layer is larger than every matching container's scratch_max "
				       "(see candidates)");
	return failed;
}

int policy_op_mount_overlay(struct ctx *x)
{
	const char *cid = x->req->container_id, *target = x->req->target;
	const struct req_strs *layers = &x->req->layers;
	size_t n = layers->n;
	uint8_t(*hashes)[UVM_SHA256_LEN] = calloc(n ? n : 1, UVM_SHA256_LEN);
	struct reason side;
	struct pol_set cands = {{0}};
	size_t listed = 0, failed = 0;
	if (!hashes)
		return -1;
	memset(&side, 0, sizeof side);
	json_writer_init(&side.w, REASON_MAX_BYTES);
	json_w_arr(&side.w);
	policy_reason_str(x, "container_id", cid);
	policy_reason_str(x, "target", target);
	if (x->req->upper_bytes) {
		json_w_key(&x->r.w, "upper_bytes");
		json_w_uint(&x->r.w, x->req->upper_bytes);
	}
	policy_reason_begin_failed(&x->r);
	overlay_checks(x, cid, target);
	if (overlay_devices(x, layers, hashes))
		failed = overlay_candidates(x, hashes, &cands, &side, &listed);
	policy_reason_end_failed(&x->r);
	json_w_end(&side.w);
	size_t side_len = 0;
	char *side_json = json_writer_finish(&side.w, &side_len);
	int ok = policy_reason_ok(x);
	json_w_key(&x->r.w, "candidates");
	if (ok) {
		json_w_arr(&x->r.w);
		for (size_t i = 0; i < x->pol->ncontainers; i++)
			if (pol_set_has(&cands, i))
				json_w_uint(&x->r.w, i);
		json_w_end(&x->r.w);
	} else if (side_json)
		json_w_raw(&x->r.w, side_json, side_len);
	else
		json_w_null(&x->r.w);
	if (!ok && failed > listed) {
		json_w_key(&x->r.w, "more_candidates");
		json_w_uint(&x->r.w, failed - listed);
	}
	free(side_json);
	int rc = 0;
	if (ok)
		rc = policy_st_add_overlay(x->st, target, cid, layers->v, n, &cands) == 0 ? 1 : -1;
	free(hashes);
	return rc;
}

int policy_op_unmount_overlay(struct ctx *x)
{
	const char *target = x->req->target;
	struct st_overlay *o = policy_st_find_overlay(x->st, target);
	struct st_container *c = o ? policy_st_find_container(x->st, o->container_id) : NULL;
	policy_reason_str(x, "target", target);
	policy_reason_begin_failed(&x->r);
	if (!o)
		policy_reason_fail(&x->r, "state", "target", target, "no overlay is mounted there");
	if (c && c->running)
		policy_reason_fail(&x->r, "state", "container_id", c->id, "the container is still running");
	policy_reason_end_failed(&x->r);
	if (!policy_reason_ok(x))
		return 0;
	policy_st_set_int(x->st, &o->alive, 0);
	if (c)
		policy_st_set_int(x->st, &c->alive, 0); /* its id may be used again */
	return 1;
}

int policy_op_scratch_mount(struct ctx *x)
{
	const char *target = x->req->target;
	int encrypted = x->req->encrypted; /* absent: 1 (lib/request.c) */
	policy_reason_str(x, "target", target);
	policy_reason_begin_failed(&x->r);
	if (!policy_target_form(target, POLICY_SCRATCH_DIR, ""))
		policy_reason_fail(&x->r, "target", "target", target, "must be " POLICY_SCRATCH_DIR "NAME");
	if (policy_st_find_scratch(x->st, target))
		policy_reason_fail(&x->r, "state", "target", target, "scratch space is already mounted there");
	if (!encrypted && !x->pol->allow_unencrypted_scratch)
		policy_reason_fail(&x->r, "allow_unencrypted_scratch", "encrypted", "false",
				   "the policy requires encrypted scratch space");
	policy_reason_end_failed(&x->r);
	if (!policy_reason_ok(x))
		return 0;
	return policy_st_add_scratch(x->st, target) < 0 ? -1 : 1;
}

int policy_op_scratch_unmount(struct ctx *x)
{
	const char *target = x->req->target;
	struct st_scratch *s = policy_st_find_scratch(x->st, target);
	policy_reason_str(x, "target", target);
	policy_reason_begin_failed(&x->r);
	if (!s)
		policy_reason_fail(&x->r, "state", "target", target, "no scratch space is mounted there");
	policy_reason_end_failed(&x->r);
	if (!policy_reason_ok(x))
		return 0;
	policy_st_set_int(x->st, &s->alive, 0);
	return 1;
}
