/* Unit tests of agent/runtime_spec.c on the host: from an approved
 * create_container / exec request (JSON parsed with lib/json) and the
 * decision's drops to the exact rt_spec the runtime would start: argv, env
 * minus drop_env (an inconsistent index fails closed), user ids and umask,
 * capability bit sets minus drop_capabilities, mounts and their options,
 * the cgroup limits, the seccomp program (compared instruction by
 * instruction with lib/seccomp_profile.c's build) and the flags. JSON in
 * this file uses ' for " (converted at run time) to stay readable. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"
#include "policy_resources.h"
#include "runtime_spec.h"
#include "seccomp_profile.h"

/* ------------------------------------------------------------ helpers */

#define MAX_DOCS 16
static struct json_doc *docs[MAX_DOCS];
static size_t ndocs;

/* Parses text (with ' for ") into a document freed by free_docs(). */
static const struct json_value *js(const char *text)
{
	char *t = strdup(text);
	struct uvm_err err;
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	if (ndocs == MAX_DOCS) {
		fprintf(stderr, "test: too many documents\n");
		exit(2);
	}
	const struct json_value *v = json_parse(t, strlen(t), 1 << 20, &docs[ndocs], &err);
	free(t);
	if (!v) {
		fprintf(stderr, "test JSON: %s: %s\n", err.msg, text);
		exit(2);
	}
	ndocs++;
	return v;
}

static void free_docs(void)
{
	while (ndocs)
		json_free(docs[--ndocs]);
}

/* Whether the NULL-terminated v is exactly want[0..n). */
static int strv_is(char *const *v, const char *const *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!v || !v[i] || strcmp(v[i], want[i]) != 0)
			return 0;
	return v && v[n] == NULL;
}

static void show_strv(const char *what, char *const *v)
{
	printf("#   %s:", what);
	for (size_t i = 0; v && v[i]; i++)
		printf(" \"%s\"", v[i]);
	printf("%s\n", v ? "" : " (null)");
}

#define CHECK_STRV(v, ...)                                                      \
	do {                                                                    \
		static const char *const want_[] = {__VA_ARGS__};               \
		int same_ = strv_is((v), want_, sizeof want_ / sizeof want_[0]); \
		CHECK(same_, "%s is %s", #v, #__VA_ARGS__);                     \
		if (!same_)                                                     \
			show_strv("got", (v));                                  \
	} while (0)

#define CAP(n) (1ull << (n))
enum { B, E, I, P, A }; /* the RT_CAP_SETS order: bounding, effective, inheritable, permitted, ambient */

/* The program lib/seccomp_profile.c builds for a default profile with
 * these extra deny names; *n instructions. */
static struct sock_filter *expected_filter(const char *const *deny, size_t ndeny, size_t *n)
{
	struct seccomp_profile_spec spec = {0, NULL, 0, deny, ndeny};
	struct sock_filter *f = calloc(SECCOMP_MAX_INSNS, sizeof *f);
	struct uvm_err err;
	if (!f || seccomp_build(&spec, f, SECCOMP_MAX_INSNS, n, &err)) {
		fprintf(stderr, "seccomp_build: %s\n", f ? err.msg : "out of memory");
		exit(2);
	}
	return f;
}

static int same_program(const struct sock_fprog *got, const struct sock_filter *want, size_t n)
{
	return got && got->len == n && memcmp(got->filter, want, n * sizeof *want) == 0;
}

/* A create_container request as the engine approved it; the members given
 * in extra (",'key': value..." text) are added. */
static const struct json_value *create_req(const char *extra)
{
	char text[4096];
	snprintf(text, sizeof text,
		 "{'container_id': 'c1', 'argv': ['/bin/web', '--port', '80'],"
		 " 'env': ['PATH=/usr/bin:/bin', 'PORT=80', 'TERM=xterm'], 'working_dir': '/srv',"
		 " 'user': {'uid': 1000, 'gid': 1001, 'umask': '0027', 'name': 'web'},"
		 " 'capabilities': {'bounding': ['CAP_NET_BIND_SERVICE', 'CAP_CHOWN', 'CAP_KILL'],"
		 "   'effective': ['CAP_NET_BIND_SERVICE'], 'inheritable': [],"
		 "   'permitted': ['CAP_NET_BIND_SERVICE', 'CAP_CHOWN'], 'ambient': ['CAP_NET_BIND_SERVICE']}%s}",
		 extra);
	return js(text);
}

/* ------------------------------------------------------------ process (exec) */

static void test_process(void)
{
	struct rt_spec s;
	struct rt_spec_mem m;
	struct uvm_err err = {0, ""};
	const struct json_value *req = js("{'container_id': 'c1', 'process_id': 'p1', 'argv': ['/bin/sh', '-c', 'echo hi'],"
					  " 'env': ['A=1', 'SECRET=x', 'B=2', 'TOKEN=y'], 'working_dir': '/srv', 'stdio': true}");
	const struct json_value *drop = js("[{'index': 1, 'name': 'SECRET'}, {'index': 3, 'name': 'TOKEN'}]");
	CHECK_EQ_INT(rt_spec_process(req, drop, &s, &m, &err), 0, "exec: a spec: %s", err.msg);
	CHECK_STRV(s.argv, "/bin/sh", "-c", "echo hi");
	CHECK_STRV(s.envp, "A=1", "B=2");
	CHECK_EQ_STR(s.cwd, "/srv", "exec: cwd is working_dir");
	CHECK_EQ_INT(s.stdio, 1, "exec: stdio asked for");
	CHECK_EQ_INT(s.umask, 022, "exec: umask 0022 (the container's credentials are the table's)");
	CHECK(!s.has_creds && s.uid == 0 && s.gid == 0, "exec: no credentials of its own");
	int no_caps = 1;
	for (int k = 0; k < RT_CAP_SETS; k++)
		no_caps &= s.caps[k] == 0;
	CHECK(no_caps, "exec: no capability sets of its own");
	CHECK(s.seccomp == NULL && !s.no_new_privileges && !s.privileged && !s.memory_max && !s.pids_max,
	      "exec: no filter, flags or limits of its own");
	CHECK(s.argv == m.argv && s.envp == m.envp, "exec: the vectors are the spec memory's");
	rt_spec_free(&m);
	CHECK(m.argv == NULL && m.envp == NULL && m.skip == NULL, "rt_spec_free clears the memory");

	/* No drops: every variable; no env: an empty environment. */
	CHECK_EQ_INT(rt_spec_process(req, NULL, &s, &m, &err), 0, "exec without drops: a spec: %s", err.msg);
	CHECK_STRV(s.envp, "A=1", "SECRET=x", "B=2", "TOKEN=y");
	rt_spec_free(&m);
	CHECK_EQ_INT(rt_spec_process(req, js("[]"), &s, &m, &err), 0, "exec, empty drop_env: a spec: %s", err.msg);
	CHECK_STRV(s.envp, "A=1", "SECRET=x", "B=2", "TOKEN=y");
	rt_spec_free(&m);
	req = js("{'argv': ['/bin/ls'], 'working_dir': '/'}");
	CHECK_EQ_INT(rt_spec_process(req, NULL, &s, &m, &err), 0, "exec without env: a spec: %s", err.msg);
	CHECK(s.envp && s.envp[0] == NULL, "exec without env: an empty environment");
	CHECK_STRV(s.argv, "/bin/ls");
	CHECK_EQ_INT(s.stdio, 0, "exec without stdio: none");
	rt_spec_free(&m);

	/* Missing argv or working_dir. */
	req = js("{'argv': [], 'working_dir': '/'}");
	CHECK_EQ_INT(rt_spec_process(req, NULL, &s, &m, &err), -1, "exec with an empty argv is refused");
	CHECK_MSG(err.msg, "argv (at least one string) and working_dir are required", "... the message says what is needed");
	rt_spec_free(&m);
	req = js("{'argv': ['/bin/ls']}");
	CHECK_EQ_INT(rt_spec_process(req, NULL, &s, &m, &err), -1, "exec without working_dir is refused");
	rt_spec_free(&m);
	free_docs();
}

/* The decision's drop_env indexes the request's env; anything else means
 * the decision and the request disagree: nothing may start. */
static void test_drop_env_inconsistent(void)
{
	static const char *const bad[] = {
		"[{'index': 2, 'name': 'X'}]",       /* one past the end */
		"[{'index': -1, 'name': 'X'}]",      /* negative */
		"[{'index': 0}, {'index': 99}]",     /* a later one out of range */
		"[{'index': '0', 'name': 'A'}]",     /* not a number */
		"[{'index': 0.5}]",                  /* not an integer */
		"[{'name': 'A'}]",                   /* no index */
		"['A']",                             /* not an object */
	};
	const struct json_value *req = js("{'argv': ['/bin/true'], 'env': ['A=1', 'B=2'], 'working_dir': '/'}");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct rt_spec s;
		struct rt_spec_mem m;
		struct uvm_err err = {0, ""};
		CHECK_EQ_INT(rt_spec_process(req, js(bad[i]), &s, &m, &err), -1, "drop_env %s fails closed", bad[i]);
		CHECK_MSG(err.msg, "drop_env is inconsistent (failing closed)", "... the message says the decision is inconsistent");
		rt_spec_free(&m);
		json_free(docs[--ndocs]);
	}
	/* A request without env but a decision dropping index 0. */
	struct rt_spec s;
	struct rt_spec_mem m;
	struct uvm_err err = {0, ""};
	req = js("{'argv': ['/bin/true'], 'working_dir': '/'}");
	CHECK_EQ_INT(rt_spec_process(req, js("[{'index': 0, 'name': 'A'}]"), &s, &m, &err), -1,
		     "drop_env for a request without env fails closed");
	rt_spec_free(&m);
	/* The same for a create. */
	CHECK_EQ_INT(rt_spec_container(create_req(""), js("[{'index': 3, 'name': 'X'}]"), NULL, &s, &m, &err), -1,
		     "create: drop_env index 3 of 3 variables fails closed");
	CHECK_MSG(err.msg, "failing closed", "create: ... the message says so");
	rt_spec_free(&m);
	free_docs();
}

/* ------------------------------------------------------------ container (create) */

static void test_container(void)
{
	struct rt_spec s;
	struct rt_spec_mem m;
	struct uvm_err err = {0, ""};
	size_t n;
	struct sock_filter *want = expected_filter(NULL, 0, &n);
	const struct json_value *req = create_req(
		", 'mounts': [{'source': 'sandbox:///tmp/data/x', 'destination': '/data', 'type': 'bind',"
		"   'options': ['rbind', 'ro']},"
		"  {'source': 'tmpfs', 'destination': '/scratch', 'type': 'tmpfs', 'options': []}],"
		" 'no_new_privileges': true, 'stdio': true");
	const struct json_value *drop_env = js("[{'index': 2, 'name': 'TERM'}]");
	const struct json_value *drop_caps = js("{'bounding': ['CAP_CHOWN'], 'effective': [], 'inheritable': [],"
						" 'permitted': ['CAP_CHOWN'], 'ambient': []}");
	CHECK_EQ_INT(rt_spec_container(req, drop_env, drop_caps, &s, &m, &err), 0, "create: a spec: %s", err.msg);
	CHECK_STRV(s.argv, "/bin/web", "--port", "80");
	CHECK_STRV(s.envp, "PATH=/usr/bin:/bin", "PORT=80");
	CHECK_EQ_STR(s.cwd, "/srv", "create: cwd");
	CHECK_EQ_INT(s.stdio, 1, "create: stdio");
	CHECK_EQ_INT(s.has_creds, 1, "create: credentials");
	CHECK_EQ_INT(s.uid, 1000, "create: uid is the request's number");
	CHECK_EQ_INT(s.gid, 1001, "create: gid is the request's number");
	CHECK_EQ_INT(s.umask, 027, "create: umask \"0027\" is octal 027");
	CHECK_EQ_INT(s.caps[B], CAP(10) | CAP(5), "create: bounding NET_BIND_SERVICE(10) and KILL(5), CHOWN dropped");
	CHECK_EQ_INT(s.caps[E], CAP(10), "create: effective NET_BIND_SERVICE");
	CHECK_EQ_INT(s.caps[I], 0, "create: inheritable empty");
	CHECK_EQ_INT(s.caps[P], CAP(10), "create: permitted NET_BIND_SERVICE, CHOWN dropped");
	CHECK_EQ_INT(s.caps[A], CAP(10), "create: ambient NET_BIND_SERVICE");
	CHECK_EQ_INT(s.no_new_privileges, 1, "create: no_new_privileges");
	CHECK_EQ_INT(s.privileged, 0, "create: not privileged");
	CHECK(same_program(s.seccomp, want, n), "create without seccomp: the default profile's program (%zu instructions)", n);
	CHECK(n > 0, "create: the default program is not empty");
	CHECK(s.memory_max == 0 && s.pids_max == 0, "create without resources: 0 = the defaults");
	CHECK_EQ_INT(m.nmounts, 2, "create: two mounts");
	if (m.nmounts == 2) {
		const struct rt_mount *a = &m.mounts[0], *b = &m.mounts[1];
		CHECK_EQ_STR(a->source, "sandbox:///tmp/data/x", "mounts[0].source");
		CHECK_EQ_STR(a->destination, "/data", "mounts[0].destination");
		CHECK_EQ_STR(a->type, "bind", "mounts[0].type");
		CHECK(a->noptions == 2 && !strcmp(a->options[0], "rbind") && !strcmp(a->options[1], "ro") &&
		      a->options[2] == NULL, "mounts[0].options are rbind, ro (NULL-terminated)");
		CHECK_EQ_STR(b->source, "tmpfs", "mounts[1].source");
		CHECK_EQ_STR(b->destination, "/scratch", "mounts[1].destination");
		CHECK_EQ_STR(b->type, "tmpfs", "mounts[1].type");
		CHECK(b->noptions == 0 && b->options && b->options[0] == NULL, "mounts[1] has no options");
	}
	rt_spec_free(&m);

	/* No drops at all, no mounts, privileged. */
	req = create_req(", 'privileged': true, 'no_new_privileges': false");
	CHECK_EQ_INT(rt_spec_container(req, NULL, NULL, &s, &m, &err), 0, "create, no drops: a spec: %s", err.msg);
	CHECK_STRV(s.envp, "PATH=/usr/bin:/bin", "PORT=80", "TERM=xterm");
	CHECK_EQ_INT(s.caps[B], CAP(10) | CAP(0) | CAP(5), "create, no drops: bounding as asked");
	CHECK_EQ_INT(s.caps[P], CAP(10) | CAP(0), "create, no drops: permitted as asked");
	CHECK_EQ_INT(s.privileged, 1, "create: privileged");
	CHECK_EQ_INT(s.no_new_privileges, 0, "create: no_new_privileges false");
	CHECK(m.nmounts == 0 && s.stdio == 0, "create without mounts: none; without stdio: none");
	rt_spec_free(&m);

	/* A mount without "options" has none (the engine matched the list). */
	req = create_req(", 'mounts': [{'source': '/a', 'destination': '/b', 'type': 'bind'}]");
	CHECK_EQ_INT(rt_spec_container(req, NULL, NULL, &s, &m, &err), 0, "create, a mount without options: %s", err.msg);
	CHECK(m.nmounts == 1 && m.mounts[0].noptions == 0 && m.mounts[0].options[0] == NULL,
	      "create: absent options are no options");
	rt_spec_free(&m);

	/* Every capability by its number; dropping from every set. */
	req = create_req("");
	drop_caps = js("{'bounding': ['CAP_NET_BIND_SERVICE', 'CAP_CHOWN', 'CAP_KILL'], 'effective': ['CAP_NET_BIND_SERVICE'],"
		       " 'inheritable': [], 'permitted': ['CAP_NET_BIND_SERVICE', 'CAP_CHOWN'], 'ambient': ['CAP_NET_BIND_SERVICE']}");
	CHECK_EQ_INT(rt_spec_container(req, NULL, drop_caps, &s, &m, &err), 0, "create, all dropped: a spec: %s", err.msg);
	CHECK(s.caps[B] == 0 && s.caps[E] == 0 && s.caps[I] == 0 && s.caps[P] == 0 && s.caps[A] == 0,
	      "create: every requested capability dropped leaves empty sets");
	rt_spec_free(&m);
	req = js("{'argv': ['/a'], 'working_dir': '/', 'user': {'uid': 0, 'gid': 0, 'umask': '0000'},"
		 " 'capabilities': {'bounding': ['CAP_CHECKPOINT_RESTORE', 'CAP_SYS_ADMIN'],"
		 " 'effective': [], 'inheritable': [], 'permitted': [], 'ambient': []}}");
	CHECK_EQ_INT(rt_spec_container(req, NULL, NULL, &s, &m, &err), 0, "create, high capabilities: %s", err.msg);
	CHECK_EQ_INT(s.caps[B], CAP(40) | CAP(21), "create: CAP_CHECKPOINT_RESTORE is bit 40, CAP_SYS_ADMIN bit 21");
	CHECK_EQ_INT(s.umask, 0, "create: umask \"0000\"");
	rt_spec_free(&m);
	free(want);
	free_docs();
}

static void test_container_refused(void)
{
	static const struct {
		const char *extra_or_req, *needle, *what;
	} cases[] = {
		{"{'argv': ['/a'], 'working_dir': '/', 'user': {'uid': 0, 'gid': 0, 'umask': '0022'},"
		 " 'capabilities': {'bounding': [], 'effective': ['CAP_FLY'], 'inheritable': [], 'permitted': [], 'ambient': []}}",
		 "capabilities.effective: unknown capability 'CAP_FLY'", "an unknown capability name"},
		{"{'argv': ['/a'], 'working_dir': '/', 'user': {'uid': 0, 'gid': 0, 'umask': '0022'},"
		 " 'capabilities': {'bounding': ['cap_chown'], 'effective': [], 'inheritable': [], 'permitted': [], 'ambient': []}}",
		 "capabilities.bounding: unknown capability 'cap_chown'", "a lower-case capability name"},
		{"{'argv': ['/a'], 'working_dir': '/', 'user': {'uid': 0, 'gid': 0, 'umask': '22'}, 'capabilities': {}}",
		 "user.umask must be 4 octal digits", "a 2-digit umask"},
		{"{'argv': ['/a'], 'working_dir': '/', 'user': {'uid': 0, 'gid': 0, 'umask': '0082'}, 'capabilities': {}}",
		 "user.umask must be 4 octal digits", "a non-octal umask"},
		{"{'argv': ['/a'], 'working_dir': '/', 'user': {'uid': 4294967295, 'gid': 0, 'umask': '0022'}, 'capabilities': {}}",
		 "uid", "uid 2^32-1 (the kernel's \"no id\")"},
		{"{'argv': ['/a'], 'working_dir': '/', 'user': {'uid': 0, 'umask': '0022'}, 'capabilities': {}}",
		 "gid", "no gid"},
		{"{'argv': ['/a'], 'working_dir': '/', 'user': {'uid': 0, 'gid': 0, 'umask': '0022'}, 'capabilities': {},"
		 " 'mounts': [{'source': 's', 'destination': '/d', 'options': []}]}",
		 "mounts[0]: source, destination, type and options are required", "a mount without type"},
		{"{'argv': ['/a'], 'working_dir': '/', 'user': {'uid': 0, 'gid': 0, 'umask': '0022'}, 'capabilities': {},"
		 " 'mounts': [{'source': 's', 'destination': '/d', 'type': 'bind', 'options': []},"
		 "            {'source': 's', 'type': 'bind', 'options': ['ro']}]}",
		 "mounts[1]: source, destination, type and options are required", "a second mount without destination"},
		{"{'argv': ['/a'], 'working_dir': '/', 'user': {'uid': 0, 'gid': 0, 'umask': '0022'}, 'capabilities': {},"
		 " 'seccomp': {'profile': 'strict'}}",
		 "seccomp.profile 'strict' is unknown", "an unknown seccomp profile"},
		{"{'argv': ['/a'], 'working_dir': '/', 'user': {'uid': 0, 'gid': 0, 'umask': '0022'}, 'capabilities': {},"
		 " 'seccomp': {'profile': 'default', 'deny': ['no_such_call']}}",
		 "the container's seccomp filter", "an unknown syscall name in deny"},
		{"{'argv': ['/a'], 'working_dir': '/', 'user': {'uid': 0, 'gid': 0, 'umask': '0022'}, 'capabilities': {},"
		 " 'seccomp': {'profile': 'unconfined', 'deny': ['chmod']}}",
		 "the container's seccomp filter", "deny names with an unconfined profile"},
		{"{'argv': ['/a'], 'working_dir': '/', 'user': {'uid': 0, 'gid': 0, 'umask': '0022'}, 'capabilities': {},"
		 " 'resources': {'memory_max': 1024}}",
		 "resources.memory_max", "memory_max below the minimum"},
		{"{'argv': ['/a'], 'working_dir': '/', 'user': {'uid': 0, 'gid': 0, 'umask': '0022'}, 'capabilities': {},"
		 " 'resources': {'pids_max': 0}}",
		 "resources.pids_max", "pids_max 0"},
		{"{'argv': ['/a'], 'working_dir': '/', 'user': {'uid': 0, 'gid': 0, 'umask': '0022'}, 'capabilities': {},"
		 " 'resources': {'pids_max': 4194305}}",
		 "resources.pids_max", "pids_max above the kernel's limit"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct rt_spec s;
		struct rt_spec_mem m;
		struct uvm_err err = {0, ""};
		CHECK_EQ_INT(rt_spec_container(js(cases[i].extra_or_req), NULL, NULL, &s, &m, &err), -1,
			     "create with %s is refused", cases[i].what);
		CHECK_MSG(err.msg, cases[i].needle, "... the message names it");
		rt_spec_free(&m);
		free_docs();
	}
}

static void test_resources(void)
{
	struct rt_spec s;
	struct rt_spec_mem m;
	struct uvm_err err = {0, ""};
	CHECK_EQ_INT(rt_spec_container(create_req(", 'resources': {'memory_max': 268435456, 'pids_max': 64}"), NULL, NULL,
				       &s, &m, &err), 0, "resources: a spec: %s", err.msg);
	CHECK_EQ_INT(s.memory_max, 268435456, "resources: memory_max as approved");
	CHECK_EQ_INT(s.pids_max, 64, "resources: pids_max as approved");
	rt_spec_free(&m);
	CHECK_EQ_INT(rt_spec_container(create_req(", 'resources': {'pids_max': 1}"), NULL, NULL, &s, &m, &err), 0,
		     "resources, pids only: %s", err.msg);
	CHECK(s.memory_max == 0 && s.pids_max == 1, "resources: memory_max absent = 0 (the default), pids_max 1");
	rt_spec_free(&m);
	CHECK_EQ_INT(rt_spec_container(create_req(", 'resources': {}"), NULL, NULL, &s, &m, &err), 0,
		     "resources {}: %s", err.msg);
	CHECK(s.memory_max == 0 && s.pids_max == 0, "resources {}: both defaults");
	rt_spec_free(&m);
	char extra[128];
	snprintf(extra, sizeof extra, ", 'resources': {'memory_max': %llu, 'pids_max': %llu}",
		 (unsigned long long)POLICY_MEMORY_LIMIT, (unsigned long long)POLICY_PIDS_LIMIT);
	CHECK_EQ_INT(rt_spec_container(create_req(extra), NULL, NULL, &s, &m, &err), 0, "resources at the limits: %s",
		     err.msg);
	CHECK(s.memory_max == POLICY_MEMORY_LIMIT && s.pids_max == POLICY_PIDS_LIMIT, "resources: the limits themselves pass");
	rt_spec_free(&m);
	snprintf(extra, sizeof extra, ", 'resources': {'memory_max': %llu}", (unsigned long long)POLICY_MEMORY_MIN);
	CHECK_EQ_INT(rt_spec_container(create_req(extra), NULL, NULL, &s, &m, &err), 0, "resources at the minimum: %s",
		     err.msg);
	CHECK_EQ_INT(s.memory_max, POLICY_MEMORY_MIN, "resources: memory_max at the minimum (4 MiB)");
	rt_spec_free(&m);
	free_docs();
}

static void test_seccomp(void)
{
	struct rt_spec s;
	struct rt_spec_mem m;
	struct uvm_err err = {0, ""};
	size_t n_default, n_deny;
	struct sock_filter *def = expected_filter(NULL, 0, &n_default);
	static const char *const deny[] = {"chmod", "fchmod"};
	struct sock_filter *denied = expected_filter(deny, 2, &n_deny);

	CHECK_EQ_INT(rt_spec_container(create_req(", 'seccomp': {'profile': 'default'}"), NULL, NULL, &s, &m, &err), 0,
		     "seccomp default: %s", err.msg);
	CHECK(same_program(s.seccomp, def, n_default), "seccomp default: the default program");
	CHECK(s.seccomp == &m.prog && m.prog.filter == m.filter, "seccomp: the program lives in the spec memory");
	rt_spec_free(&m);

	CHECK_EQ_INT(rt_spec_container(create_req(", 'seccomp': {'profile': 'unconfined'}"), NULL, NULL, &s, &m, &err), 0,
		     "seccomp unconfined: %s", err.msg);
	CHECK(s.seccomp == NULL, "seccomp unconfined: no program (NULL)");
	rt_spec_free(&m);

	CHECK_EQ_INT(rt_spec_container(create_req(", 'seccomp': {'profile': 'default', 'deny': ['chmod', 'fchmod']}"), NULL,
				       NULL, &s, &m, &err), 0, "seccomp with a deny list: %s", err.msg);
	CHECK(same_program(s.seccomp, denied, n_deny), "seccomp deny chmod, fchmod: the program built with them");
	CHECK(!same_program(s.seccomp, def, n_default), "seccomp deny chmod, fchmod: not the default program");
	rt_spec_free(&m);

	CHECK_EQ_INT(rt_spec_container(create_req(", 'seccomp': {'profile': 'default', 'allow': ['keyctl']}"), NULL, NULL,
				       &s, &m, &err), 0, "seccomp with an allow list: %s", err.msg);
	CHECK(s.seccomp && !same_program(s.seccomp, def, n_default), "seccomp allow keyctl: another program, not empty");
	rt_spec_free(&m);
	free(def);
	free(denied);
	free_docs();
}

/* rt_spec_free is safe on memory a failed call left half-filled, and twice. */
static void test_free(void)
{
	struct rt_spec s;
	struct rt_spec_mem m;
	struct uvm_err err = {0, ""};
	CHECK_EQ_INT(rt_spec_container(create_req(", 'mounts': [{'source': 's'}]"), NULL, NULL, &s, &m, &err), -1,
		     "a mount failure after the seccomp program was built");
	CHECK(m.filter != NULL, "... the program memory is there to free");
	rt_spec_free(&m);
	rt_spec_free(&m);
	CHECK(m.filter == NULL && m.mounts == NULL, "rt_spec_free twice: nothing left, no double free");
	free_docs();
}

int main(void)
{
	test_process();
	test_drop_env_inconsistent();
	test_container();
	test_container_refused();
	test_resources();
	test_seccomp();
	test_free();
	return check_done();
}
