/* "seccomp": the syscall filter of a container, in the policy and in the
 * create_container request (docs/policy.md). The policy's value is read
 * here, the request's by lib/request.c, with the same checks; a create is
 * allowed only by a candidate whose value equals the request's, so the value
 * the runtime applies (the request's) is the one the attested policy names.
 * Names are checked with lib/seccomp_profile.h, the library that builds the
 * filter from them. */
#include <stdio.h>
#include <string.h>

#include "policy_internal.h"
#include "seccomp_profile.h"

static const char *const list_names[2] = {"allow", "deny"};

/* One list: at most SECCOMP_MAX_NAMES known syscall names, none twice. */
static int read_list(const struct json_value *arr, const char **out, size_t *n, struct uvm_err *err)
{
	*n = json_len(arr);
	if (!arr)
		return 0;
	if (*n > SECCOMP_MAX_NAMES)
		return json_fail_at(arr, err, "at most %d syscall names, has %zu", SECCOMP_MAX_NAMES, *n);
	for (size_t i = 0; i < *n; i++) {
		const struct json_value *v = json_at(arr, i);
		const char *s = json_str(v, NULL);
		if (!s)
			return json_fail_at(v, err, "expected a syscall name, got %s", json_type_name(json_type(v)));
		if (seccomp_syscall_number(s) < 0)
			return json_fail_at(v, err, "unknown syscall name \"%.64s\" (x86-64 names such as \"keyctl\")",
					    s);
		for (size_t j = 0; j < i; j++)
			if (strcmp(out[j], s) == 0)
				return json_fail_at(v, err, "\"%.64s\" is already at index %zu (the list is a set)", s,
						    j);
		out[i] = s;
	}
	return 0;
}

int policy_seccomp_read(const struct json_value *obj, struct pol_seccomp *sc, struct uvm_err *err)
{
	static const struct json_field f[] = {
		{"profile", JSON_T_STRING, 1}, {"allow", JSON_T_ARRAY, 0}, {"deny", JSON_T_ARRAY, 0}};
	const char **lists[2] = {sc->allow.v, sc->deny.v};
	size_t *counts[2] = {&sc->allow.n, &sc->deny.n};
	sc->unconfined = 0;
	sc->allow.n = sc->deny.n = 0;
	if (!obj)
		return 0; /* absent: the default profile */
	if (json_check_object(obj, f, sizeof f / sizeof f[0], err) < 0)
		return -1;
	if (request_seccomp_profile(obj, &sc->unconfined, err) < 0)
		return -1;
	for (size_t l = 0; l < 2; l++)
		if (read_list(json_get(obj, list_names[l]), lists[l], counts[l], err) < 0)
			return -1;
	return request_seccomp_rules(obj, sc->unconfined, sc->allow.v, sc->allow.n, sc->deny.v, sc->deny.n, err);
}

static int in_list(const char *const *v, size_t n, const char *x)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], x) == 0)
			return 1;
	return 0;
}

/* Compares the request's value (absent: the default profile, empty lists)
 * with the policy container's. */
int policy_rules_seccomp(struct reason *r, const struct pol_seccomp *want, const struct req_seccomp *got)
{
	unsigned before = r->fails;
	const char *profile = got->present && got->unconfined ? "unconfined" : "default";
	const struct pol_strs *wl[2] = {&want->allow, &want->deny};
	const struct req_strs *gl[2] = {&got->allow, &got->deny};
	char field[32], detail[96];
	if (strcmp(profile, want->unconfined ? "unconfined" : "default") != 0) {
		snprintf(detail, sizeof detail, "the policy requires the \"%s\" profile",
			 want->unconfined ? "unconfined" : "default");
		policy_reason_fail(r, "seccomp", "seccomp.profile", profile, detail);
	}
	for (size_t l = 0; l < 2; l++) {
		snprintf(field, sizeof field, "seccomp.%s", list_names[l]);
		for (size_t i = 0; i < gl[l]->n; i++)
			if (!in_list(wl[l]->v, wl[l]->n, gl[l]->v[i])) {
				snprintf(detail, sizeof detail, "not in the policy's \"%s\" list", list_names[l]);
				policy_reason_fail(r, "seccomp", field, gl[l]->v[i], detail);
			}
		for (size_t k = 0; k < wl[l]->n; k++)
			if (!in_list(gl[l]->v, gl[l]->n, wl[l]->v[k])) {
				snprintf(detail, sizeof detail,
					 "in the policy's \"%s\" list but not requested (the lists must be equal)",
					 list_names[l]);
				policy_reason_fail(r, "seccomp", field, wl[l]->v[k], detail);
			}
	}
	return (int)(r->fails - before);
}
