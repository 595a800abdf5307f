/* policy_state_json: the engine's state as JSON, for `uvm policy replay`
 * and for debugging the agent. Candidates are policy container indices. */
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "policy_internal.h"

static void write_set(struct json_writer *w, const struct pol_set *s, size_t n)
{
	json_w_key(w, "candidates");
	json_w_arr(w);
	for (size_t i = 0; i < n && i < POLICY_MAX_CONTAINERS; i++)
		if (pol_set_has(s, i))
			json_w_uint(w, i);
	json_w_end(w);
}

static void write_devices(struct json_writer *w, const struct policy_state *st)
{
	char hex[2 * UVM_SHA256_LEN + 1];
	json_w_key(w, "devices");
	json_w_arr(w);
	for (size_t i = 0; i < st->devices.n; i++) {
		if (!st->devices.v[i].alive)
			continue;
		uvm_hex_encode(st->devices.v[i].hash, UVM_SHA256_LEN, hex);
		json_w_obj(w);
		json_w_key(w, "target");
		json_w_cstr(w, st->devices.v[i].target);
		json_w_key(w, "device_hash");
		json_w_cstr(w, hex);
		json_w_end(w);
	}
	json_w_end(w);
}

static void write_overlays(struct json_writer *w, const struct policy_state *st)
{
	json_w_key(w, "overlays");
	json_w_arr(w);
	for (size_t i = 0; i < st->overlays.n; i++) {
		const struct st_overlay *o = &st->overlays.v[i];
		if (!o->alive)
			continue;
		json_w_obj(w);
		json_w_key(w, "target");
		json_w_cstr(w, o->target);
		json_w_key(w, "container_id");
		json_w_cstr(w, o->container_id);
		write_set(w, &o->candidates, st->pol->ncontainers);
		json_w_end(w);
	}
	json_w_end(w);
}

static void write_containers(struct json_writer *w, const struct policy_state *st)
{
	json_w_key(w, "containers");
	json_w_arr(w);
	for (size_t i = 0; i < st->containers.n; i++) {
		const struct st_container *c = &st->containers.v[i];
		if (!c->alive)
			continue;
		json_w_obj(w);
		json_w_key(w, "id");
		json_w_cstr(w, c->id);
		json_w_key(w, "running");
		json_w_bool(w, c->running);
		write_set(w, &c->candidates, st->pol->ncontainers);
		json_w_key(w, "processes");
		json_w_arr(w);
		for (size_t k = 0; k < st->processes.n; k++)
			if (st->processes.v[k].alive && !strcmp(st->processes.v[k].container_id, c->id))
				json_w_cstr(w, st->processes.v[k].process_id);
		json_w_end(w);
		json_w_end(w);
	}
	json_w_end(w);
}

char *policy_state_json(const struct policy_state *st)
{
	struct json_writer w;
	json_writer_init(&w, 0);
	json_w_obj(&w);
	write_devices(&w, st);
	write_overlays(&w, st);
	write_containers(&w, st);
	json_w_key(&w, "scratch");
	json_w_arr(&w);
	for (size_t i = 0; i < st->scratch.n; i++)
		if (st->scratch.v[i].alive)
			json_w_cstr(&w, st->scratch.v[i].target);
	json_w_end(&w);
	json_w_key(&w, "pending");
	json_w_bool(&w, st->pending);
	json_w_end(&w);
	return json_writer_finish(&w, NULL);
}
