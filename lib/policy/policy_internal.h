/* Internal structures shared by the policy_*.c files; not part of the API.
 * Every function or variable with external linkage is named policy_*: the
 * guest links lib/ and agent/ into one static binary, where a generic name
 * (st_find_device, reason_fail) could collide. Check with
 * `nm out/host/obj/lib/policy/policy*.o | grep ' [TDBR] '`. */
#ifndef UVM_POLICY_INTERNAL_H
#define UVM_POLICY_INTERNAL_H

#include <regex.h>
#include <stdint.h>

#include "hash.h"
#include "json.h"
#include "policy.h"
#include "policy_resources.h"
#include "request.h"

/* ---------------------------------------------------------------- policy */

struct pol_strs {
	const char **v; /* strings point into the policy's JSON document */
	size_t n;
};

struct pol_env_rule {
	const char *rule;
	int regex, required;
	regex_t re;
};

struct pol_env {
	struct pol_env_rule *rules;
	size_t n;
};

struct pol_mount {
	const char *source, *destination, *type;
	int source_regex;
	int optional; /* the request may leave it out (the others keep their order) */
	regex_t re;
	struct pol_strs options;
};

struct pol_user {
	int has_uid, has_gid;
	int64_t uid, gid;
	const char *name, *group; /* when matched by name */
	const char *umask;        /* "0022" */
};

/* The capability sets are the request's (lib/request.h): same order,
 * same names (request_cap_set_names). */
#define POL_CAP_SETS REQ_CAP_SETS

struct pol_exec {
	struct pol_strs argv;
	uint64_t signals; /* bit s-1 for signal s */
};

/* "seccomp": absent is the default profile with empty lists. */
struct pol_seccomp {
	int unconfined;
	struct pol_strs allow, deny; /* sets: known syscall names, none twice */
};

struct pol_container {
	const char *name;
	uint8_t (*layers)[UVM_SHA256_LEN];
	size_t nlayers;
	struct pol_strs argv;
	struct pol_env env;
	const char *working_dir;
	struct pol_mount *mounts;
	size_t nmounts;
	struct pol_user user;
	struct pol_strs caps[POL_CAP_SETS];
	int no_new_privileges, allow_elevated, allow_stdio_access;
	uint64_t signals;
	struct pol_exec *execs;
	size_t nexecs;
	struct pol_seccomp seccomp;
	/* Upper bounds of what a create may ask for, read by the request's own
	 * reader (request_resources_read); 0 where the key is absent (memory:
	 * unbounded; pids: POLICY_PIDS_DEFAULT). */
	struct req_resources resources;
};

struct pol_external {
	struct pol_strs argv;
	struct pol_env env;
	const char *working_dir;
	int allow_stdio_access;
};

struct policy {
	struct json_doc *doc;
	struct pol_container *containers;
	size_t ncontainers;
	struct pol_external *externals;
	size_t nexternals;
	int allow_properties_access, allow_dump_stacks, allow_runtime_logging;
	int allow_environment_variable_dropping, allow_unencrypted_scratch;
	int allow_capability_dropping;
	/* every allocation and compiled regex, for policy_free */
	void **allocs;
	size_t nallocs, capallocs;
	regex_t **regexes;
	size_t nregexes, capregexes;
};

/* Compiles `pattern` anchored as ^(pattern)$ (POSIX ERE), after checking
 * that its parentheses balance (so the anchors cannot be escaped). */
int policy_regex_compile(regex_t *re, const char *pattern, char *why, size_t why_size);
int policy_regex_match(const regex_t *re, const char *s);

/* ---------------------------------------------------------------- state */

struct pol_set {
	uint64_t w[POLICY_MAX_CONTAINERS / 64];
};

static inline void pol_set_add(struct pol_set *s, size_t i)
{
	s->w[i / 64] |= 1ull << (i % 64);
}
static inline int pol_set_has(const struct pol_set *s, size_t i)
{
	return (int)(s->w[i / 64] >> (i % 64) & 1);
}
static inline int pol_set_empty(const struct pol_set *s)
{
	for (size_t i = 0; i < sizeof s->w / sizeof s->w[0]; i++)
		if (s->w[i])
			return 0;
	return 1;
}

struct st_device {
	char *target;
	uint8_t hash[UVM_SHA256_LEN];
	int alive;
};

struct st_overlay {
	char *target, *container_id;
	char **layers; /* device targets, base first */
	size_t nlayers;
	struct pol_set candidates;
	int alive;
};

struct st_container {
	char *id;
	struct pol_set candidates;
	int running, alive;
};

struct st_process {
	char *container_id, *process_id;
	struct pol_strs argv; /* malloc'ed copies */
	int alive;
};

struct st_scratch {
	char *target;
	int alive;
};

/* A table of entries of one kind; removal clears `alive`, dead entries are
 * freed at commit (so an abort can revive them). */
#define ST_TABLE(type)         \
	struct {               \
		type *v;       \
		size_t n, cap; \
	}

enum st_undo_kind { UNDO_INT, UNDO_SET, UNDO_APPEND };

struct st_undo {
	enum st_undo_kind kind;
	int *ip;
	int old_int;
	struct pol_set *sp;
	struct pol_set old_set;
	size_t *count; /* UNDO_APPEND: the table's n to decrement */
	void (*free_last)(struct policy_state *st);
};

struct policy_state {
	const struct policy *pol;
	ST_TABLE(struct st_device) devices;
	ST_TABLE(struct st_overlay) overlays;
	ST_TABLE(struct st_container) containers;
	ST_TABLE(struct st_process) processes;
	ST_TABLE(struct st_scratch) scratch;
	struct st_undo undo[8];
	size_t nundo;
	int pending;
	int overflow; /* a change did not fit the journal: the decision fails closed */
};

/* State primitives (policy_state.c); all record their undo. */
struct st_device *policy_st_find_device(struct policy_state *st, const char *target);
struct st_overlay *policy_st_find_overlay(struct policy_state *st, const char *target);
struct st_overlay *policy_st_find_overlay_of(struct policy_state *st, const char *container_id);
struct st_container *policy_st_find_container(struct policy_state *st, const char *id);
struct st_process *policy_st_find_process(struct policy_state *st, const char *cid, const char *pid);
struct st_scratch *policy_st_find_scratch(struct policy_state *st, const char *target);
int policy_st_add_device(struct policy_state *st, const char *target, const uint8_t hash[UVM_SHA256_LEN]);
int policy_st_add_overlay(struct policy_state *st, const char *target, const char *cid, const char *const *layers,
			  size_t nlayers, const struct pol_set *cands);
int policy_st_add_container(struct policy_state *st, const char *id, const struct pol_set *cands);
int policy_st_add_process(struct policy_state *st, const char *cid, const char *pid, const char *const *argv,
			  size_t argc);
int policy_st_add_scratch(struct policy_state *st, const char *target);
void policy_st_set_int(struct policy_state *st, int *field, int value);
void policy_st_set_set(struct policy_state *st, struct pol_set *field, const struct pol_set *value);

/* ---------------------------------------------------------------- reasons */

#define REASON_MAX_BYTES (256u * 1024)
#define REASON_VALUE_MAX 256 /* bytes of a value shown */
#define REASON_MAX_FAILS 8   /* listed per candidate; the rest are counted */

struct reason {
	struct json_writer w;
	unsigned fails;  /* failed checks of the current candidate / request */
	unsigned listed; /* of which written */
	int quiet;       /* count failures without writing them */
};

void policy_reason_fail(struct reason *r, const char *rule, const char *field, const char *value, const char *detail);
/* The same, with the value redacted to the environment variable's name. */
void policy_reason_fail_env(struct reason *r, const char *rule, const char *field, const char *var, const char *detail);
void policy_reason_fail_int(struct reason *r, const char *rule, const char *field, int64_t value, const char *detail);
void policy_reason_begin_failed(struct reason *r);
void policy_reason_end_failed(struct reason *r);

/* ---------------------------------------------------------------- rules */

/* Each rule function compares the decoded request (lib/request.h: shapes
 * and bounds already checked by its decode) with one policy container or
 * external process, records every failed check in the reason and returns
 * the number of failures. drop arrays have one byte per request item. */
int policy_rules_argv(struct reason *r, const struct pol_strs *want, const struct req_strs *argv);
int policy_rules_env(struct reason *r, const struct pol_env *rules, int allow_drop, const struct req_strs *env,
		     unsigned char *drop);
/* Reads the policy's "seccomp" object (NULL: absent, the default profile)
 * into sc, whose allow.v and deny.v have room for the lists' lengths (a
 * list longer than SECCOMP_MAX_NAMES fails before anything is written; the
 * names point into the JSON). Strict: unknown keys, unknown or repeated
 * names, a name in both lists, lists with "unconfined" fail with the path.
 * (The request's value is read by lib/request.c with the same checks.) */
int policy_seccomp_read(const struct json_value *obj, struct pol_seccomp *sc, struct uvm_err *err);
/* The request's value against the policy container's: same profile, same
 * sets (absent in the request: the default profile, empty lists). */
int policy_rules_seccomp(struct reason *r, const struct pol_seccomp *want, const struct req_seccomp *got);
/* The request's values against the policy container's bounds: each value
 * that will run (the request's, else the default) at most the bound. */
int policy_rules_resources(struct reason *r, const struct req_resources *bound, const struct req_resources *got);
int policy_rules_container(struct reason *r, const struct policy *pol, const struct pol_container *c,
			   const struct request *req, unsigned char *env_drop, unsigned char *cap_drop[POL_CAP_SETS]);

#endif
