/* The engine's mutable state (mounted devices, overlays, containers,
 * processes, scratch mounts) and its rollback. Every change made while
 * deciding goes through the primitives below, which journal how to undo it;
 * policy_abort replays the journal backwards, policy_commit forgets it and
 * frees entries that were removed. Removal only clears `alive`, so an abort
 * can revive an entry without having kept a copy. */
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"

static void *grow(void *v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return v;
	size_t c = *cap ? 2 * *cap : 8;
	void *nv = realloc(v, c * size);
	if (nv)
		*cap = c;
	return nv;
}

#define TABLE_GROW(t)                                                    \
	do {                                                             \
		void *nv_ = grow((t).v, &(t).cap, (t).n, sizeof *(t).v); \
		if (!nv_)                                                \
			return -1;                                       \
		(t).v = nv_;                                             \
	} while (0)

/* Each decision journals at most 3 changes. More would be an engine bug:
 * the change is then not made at all and the decision fails closed
 * (policy_decide_request sees `overflow`, aborts and denies) - PID 1 never
 * stops over it. */
static struct st_undo *journal(struct policy_state *st, enum st_undo_kind kind)
{
	if (st->nundo >= sizeof st->undo / sizeof st->undo[0]) {
		st->overflow = 1;
		return NULL;
	}
	struct st_undo *u = &st->undo[st->nundo++];
	memset(u, 0, sizeof *u);
	u->kind = kind;
	st->pending = 1;
	return u;
}

void policy_st_set_int(struct policy_state *st, int *field, int value)
{
	struct st_undo *u = journal(st, UNDO_INT);
	if (!u)
		return;
	u->ip = field;
	u->old_int = *field;
	*field = value;
}

void policy_st_set_set(struct policy_state *st, struct pol_set *field, const struct pol_set *value)
{
	struct st_undo *u = journal(st, UNDO_SET);
	if (!u)
		return;
	u->sp = field;
	u->old_set = *field;
	*field = *value;
}

static void appended(struct policy_state *st, size_t *count, void (*free_last)(struct policy_state *))
{
	struct st_undo *u = journal(st, UNDO_APPEND);
	if (!u) {
		free_last(st); /* not journaled: undone at once */
		return;
	}
	u->count = count;
	u->free_last = free_last;
}

/* ------------------------------------------------------------------ lookups */

#define FIND(table, field, key)                                                   \
	for (size_t i_ = 0; i_ < (table).n; i_++)                                 \
		if ((table).v[i_].alive && strcmp((table).v[i_].field, key) == 0) \
			return &(table).v[i_];                                    \
	return NULL

struct st_device *policy_st_find_device(struct policy_state *st, const char *target)
{
	FIND(st->devices, target, target);
}

struct st_overlay *policy_st_find_overlay(struct policy_state *st, const char *target)
{
	FIND(st->overlays, target, target);
}

struct st_overlay *policy_st_find_overlay_of(struct policy_state *st, const char *container_id)
{
	FIND(st->overlays, container_id, container_id);
}

struct st_container *policy_st_find_container(struct policy_state *st, const char *id)
{
	FIND(st->containers, id, id);
}

struct st_scratch *policy_st_find_scratch(struct policy_state *st, const char *target)
{
	FIND(st->scratch, target, target);
}

struct st_process *policy_st_find_process(struct policy_state *st, const char *cid, const char *pid)
{
	for (size_t i = 0; i < st->processes.n; i++) {
		struct st_process *p = &st->processes.v[i];
		if (p->alive && strcmp(p->container_id, cid) == 0 && strcmp(p->process_id, pid) == 0)
			return p;
	}
	return NULL;
}

/* ------------------------------------------------------------------ entries */

static void free_strs(struct pol_strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free((char *)s->v[i]);
	free(s->v);
}

static void free_device(struct st_device *d)
{
	free(d->target);
}

static void free_overlay(struct st_overlay *o)
{
	for (size_t i = 0; i < o->nlayers; i++)
		free(o->layers[i]);
	free(o->layers);
	free(o->target);
	free(o->container_id);
}

static void free_container(struct st_container *c)
{
	free(c->id);
}

static void free_process(struct st_process *p)
{
	free(p->container_id);
	free(p->process_id);
	free_strs(&p->argv);
}

static void free_scratch(struct st_scratch *s)
{
	free(s->target);
}

static void pop_device(struct policy_state *st)
{
	free_device(&st->devices.v[--st->devices.n]);
}
static void pop_overlay(struct policy_state *st)
{
	free_overlay(&st->overlays.v[--st->overlays.n]);
}
static void pop_container(struct policy_state *st)
{
	free_container(&st->containers.v[--st->containers.n]);
}
static void pop_process(struct policy_state *st)
{
	free_process(&st->processes.v[--st->processes.n]);
}
static void pop_scratch(struct policy_state *st)
{
	free_scratch(&st->scratch.v[--st->scratch.n]);
}

static char **dup_strs(const char *const *v, size_t n)
{
	char **out = calloc(n ? n : 1, sizeof *out);
	for (size_t i = 0; out && i < n; i++)
		if (!(out[i] = strdup(v[i]))) {
			while (i-- > 0)
				free(out[i]);
			free(out);
			return NULL;
		}
	return out;
}

int policy_st_add_device(struct policy_state *st, const char *target, const uint8_t hash[UVM_SHA256_LEN])
{
	TABLE_GROW(st->devices);
	struct st_device *d = &st->devices.v[st->devices.n];
	memset(d, 0, sizeof *d);
	if (!(d->target = strdup(target)))
		return -1;
	memcpy(d->hash, hash, UVM_SHA256_LEN);
	d->alive = 1;
	st->devices.n++;
	appended(st, &st->devices.n, pop_device);
	return 0;
}

int policy_st_add_overlay(struct policy_state *st, const char *target, const char *cid, const char *const *layers,
			  size_t nlayers, const struct pol_set *cands)
{
	TABLE_GROW(st->overlays);
	struct st_overlay *o = &st->overlays.v[st->overlays.n];
	memset(o, 0, sizeof *o);
	o->target = strdup(target);
	o->container_id = strdup(cid);
	o->layers = dup_strs(layers, nlayers);
	o->nlayers = o->layers ? nlayers : 0;
	if (!o->target || !o->container_id || !o->layers) {
		free_overlay(o);
		return -1;
	}
	o->candidates = *cands;
	o->alive = 1;
	st->overlays.n++;
	appended(st, &st->overlays.n, pop_overlay);
	return 0;
}

int policy_st_add_container(struct policy_state *st, const char *id, const struct pol_set *cands)
{
	TABLE_GROW(st->containers);
	struct st_container *c = &st->containers.v[st->containers.n];
	memset(c, 0, sizeof *c);
	if (!(c->id = strdup(id)))
		return -1;
	c->candidates = *cands;
	c->running = c->alive = 1;
	st->containers.n++;
	appended(st, &st->containers.n, pop_container);
	return 0;
}

int policy_st_add_process(struct policy_state *st, const char *cid, const char *pid, const char *const *argv,
			  size_t argc)
{
	TABLE_GROW(st->processes);
	struct st_process *p = &st->processes.v[st->processes.n];
	memset(p, 0, sizeof *p);
	p->container_id = strdup(cid);
	p->process_id = strdup(pid);
	p->argv.v = (const char **)dup_strs(argv, argc);
	p->argv.n = p->argv.v ? argc : 0;
	if (!p->container_id || !p->process_id || !p->argv.v) {
		free_process(p);
		return -1;
	}
	p->alive = 1;
	st->processes.n++;
	appended(st, &st->processes.n, pop_process);
	return 0;
}

int policy_st_add_scratch(struct policy_state *st, const char *target)
{
	TABLE_GROW(st->scratch);
	struct st_scratch *s = &st->scratch.v[st->scratch.n];
	memset(s, 0, sizeof *s);
	if (!(s->target = strdup(target)))
		return -1;
	s->alive = 1;
	st->scratch.n++;
	appended(st, &st->scratch.n, pop_scratch);
	return 0;
}

/* ------------------------------------------------------------------ commit */

#define COMPACT(table, dead, free_fn)                       \
	do {                                                \
		size_t k_ = 0;                              \
		for (size_t i_ = 0; i_ < (table).n; i_++) { \
			if (dead) {                         \
				free_fn(&(table).v[i_]);    \
				continue;                   \
			}                                   \
			(table).v[k_++] = (table).v[i_];    \
		}                                           \
		(table).n = k_;                             \
	} while (0)

void policy_commit(struct policy_state *st)
{
	int removed = 0;
	for (size_t i = 0; i < st->nundo; i++)
		removed |= st->undo[i].kind == UNDO_INT;
	st->nundo = 0;
	st->pending = 0;
	if (!removed)
		return;
	COMPACT(st->devices, !st->devices.v[i_].alive, free_device);
	COMPACT(st->overlays, !st->overlays.v[i_].alive, free_overlay);
	COMPACT(st->containers, !st->containers.v[i_].alive, free_container);
	COMPACT(st->scratch, !st->scratch.v[i_].alive, free_scratch);
	/* Processes of a container that is gone go with it. */
	COMPACT(st->processes,
		!st->processes.v[i_].alive || !policy_st_find_container(st, st->processes.v[i_].container_id),
		free_process);
}

void policy_abort(struct policy_state *st)
{
	while (st->nundo > 0) {
		struct st_undo *u = &st->undo[--st->nundo];
		if (u->kind == UNDO_INT)
			*u->ip = u->old_int;
		else if (u->kind == UNDO_SET)
			*u->sp = u->old_set;
		else
			u->free_last(st);
	}
	st->pending = 0;
	st->overflow = 0;
}

struct policy_state *policy_state_new(const struct policy *pol)
{
	struct policy_state *st = calloc(1, sizeof *st);
	if (st)
		st->pol = pol;
	return st;
}

void policy_state_free(struct policy_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->devices.n; i++)
		free_device(&st->devices.v[i]);
	for (size_t i = 0; i < st->overlays.n; i++)
		free_overlay(&st->overlays.v[i]);
	for (size_t i = 0; i < st->containers.n; i++)
		free_container(&st->containers.v[i]);
	for (size_t i = 0; i < st->processes.n; i++)
		free_process(&st->processes.v[i]);
	for (size_t i = 0; i < st->scratch.n; i++)
		free_scratch(&st->scratch.v[i]);
	free(st->devices.v);
	free(st->overlays.v);
	free(st->containers.v);
	free(st->processes.v);
	free(st->scratch.v);
	free(st);
}

int policy_process_exited(struct policy_state *st, const char *container_id, const char *process_id)
{
	struct st_process *p;
	if (st->pending || !(p = policy_st_find_process(st, container_id, process_id)))
		return -1;
	/* Nothing is pending, so the undo journal holds no index into the table:
	 * the last record may move into the freed slot. */
	free_process(p);
	struct st_process *last = &st->processes.v[st->processes.n - 1];
	if (p != last)
		*p = *last;
	st->processes.n--;
	return 0;
}
