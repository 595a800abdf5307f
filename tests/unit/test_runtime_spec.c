/* Unit tests of agent/runtime_spec.c on the host: from an approved
 * create_container / exec request (JSON parsed with lib/json, decoded with
 * lib/request.c as the agent does) and the decision's drops (one byte per
 * env variable / capability, as lib/policy/policy.h hands them) to the exact
 * rt_spec the runtime would start: argv, env minus the dropped variables,
 * user ids and umask, capability bit sets minus the dropped ones, mounts
 * and their options, the cgroup limits, the seccomp program (compared
 * instruction by instruction with lib/seccomp_profile.c's build) and the
 * flags. Requests the decode refuses never reach the runtime; the checks
 * the runtime still makes itself are tried on decoded requests altered by
 * hand. JSON in this file uses ' for " (converted at run time) to stay
 * readable. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"
#include "policy.h"
#include "policy_resources.h"
#include "request.h"
#include "runtime_spec.h"
#include "seccomp_profile.h"

/* ------------------------------------------------------------ helpers */

#define MAX_DOCS 16
static struct json_doc *docs[MAX_DOCS];
static struct request reqs[MAX_DOCS];
static size_t ndocs;

/* Parses text (with ' for ") into the next slot and decodes it as op's
 * host args into reqs[slot]; 0, or -1 with err (the decode's message).
 * Both are freed by free_docs(). */
static int decode(enum req_op op, const char *text, struct request **out, struct uvm_err *err)
{
	char *t = strdup(text);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	if (ndocs == MAX_DOCS) {
		fprintf(stderr, "test: too many documents\n");
		exit(2);
	}
	const struct json_value *v = json_parse(t, strlen(t), 1 << 20, &docs[ndocs], err);
	free(t);
	if (!v) {
		fprintf(stderr, "test JSON: %s: %s\n", err->msg, text);
		exit(2);
	}
	*out = &reqs[ndocs++];
	return request_decode(op, v, REQ_FROM_HOST, *out, err);
}

/* A request the decode must accept (the test's own input). */
static struct request *req(enum req_op op, const char *text)
{
	struct request *r;
	struct uvm_err err = {0, ""};
	if (decode(op, text, &r, &err)) {
		fprintf(stderr, "test request refused by the decode: %s: %s\n", err.msg, text);
		exit(2);
	}
	return r;
}

static void free_docs(void)
{
	while (ndocs) {
		ndocs--;
		request_free(&reqs[ndocs]);
		json_free(docs[ndocs]);
	}
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

#define CHECK_STRV(v, ...)                                                       \
	do {                                                                     \
		static const char *const want_[] = {__VA_ARGS__};                \
		int same_ = strv_is((v), want_, sizeof want_ / sizeof want_[0]); \
		CHECK(same_, "%s is %s", #v, #__VA_ARGS__);                      \
		if (!same_)                                                      \
			show_strv("got", (v));                                   \
	} while (0)

#define CAP(n) (1ull << (n))
enum { B, E, I, P, A }; /* request_cap_set_names' order: bounding, effective, inheritable, permitted, ambient */

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

/* The text of a create_container request; the members given in extra
 * (",'key': value..." text) are added. */
static const char *create_text(const char *extra)
{
	static char text[4096];
	snprintf(text, sizeof text,
		 "{'container_id': 'c1', 'argv': ['/bin/web', '--port', '80'],"
		 " 'env': ['PATH=/usr/bin:/bin', 'PORT=80', 'TERM=xterm'], 'working_dir': '/srv',"
		 " 'user': {'uid': 1000, 'gid': 1001, 'umask': '0027', 'name': 'web'},"
		 " 'capabilities': {'bounding': ['CAP_NET_BIND_SERVICE', 'CAP_CHOWN', 'CAP_KILL'],"
		 "   'effective': ['CAP_NET_BIND_SERVICE'], 'inheritable': [],"
		 "   'permitted': ['CAP_NET_BIND_SERVICE', 'CAP_CHOWN'], 'ambient': ['CAP_NET_BIND_SERVICE']}%s}",
		 extra);
	return text;
}

/* A create_container request as the engine approved it. */
static struct request *create_req(const char *extra)
{
	return req(REQ_CREATE_CONTAINER, create_text(extra));
}

/* A minimal create request: root, umask 0022, the given capability sets
 * text ("'bounding': [...], ..."; every set must be named) and extra. */
#define NO_CAPS "'bounding': [], 'effective': [], 'inheritable': [], 'permitted': [], 'ambient': []"
static const char *small_text(const char *caps, const char *extra)
{
	static char text[2048];
	snprintf(text, sizeof text,
		 "{'container_id': 'c2', 'argv': ['/a'], 'working_dir': '/', 'user': {'uid': 0, 'gid': 0, 'umask': "
		 "'0022'},"
		 " 'capabilities': {%s}%s}",
		 caps, extra);
	return text;
}

/* ------------------------------------------------------------ process (exec) */

static void test_process(void)
{
	struct rt_spec s;
	struct rt_spec_mem m;
	struct uvm_err err = {0, ""};
	const struct request *r =
		req(REQ_EXEC_IN_CONTAINER,
		    "{'container_id': 'c1', 'process_id': 'p1', 'argv': ['/bin/sh', '-c', 'echo hi'],"
		    " 'env': ['A=1', 'SECRET=x', 'B=2', 'TOKEN=y'], 'working_dir': '/srv', 'stdio': true}");
	static const unsigned char drop[] = {0, 1, 0, 1}; /* SECRET and TOKEN */
	CHECK_EQ_INT(rt_spec_process(r, drop, &s, &m, &err), 0, "exec: a spec: %s", err.msg);
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
	CHECK(m.argv == NULL && m.envp == NULL, "rt_spec_free clears the memory");

	/* No drops (NULL, or an array dropping nothing): every variable. */
	CHECK_EQ_INT(rt_spec_process(r, NULL, &s, &m, &err), 0, "exec without drops: a spec: %s", err.msg);
	CHECK_STRV(s.envp, "A=1", "SECRET=x", "B=2", "TOKEN=y");
	rt_spec_free(&m);
	static const unsigned char none[] = {0, 0, 0, 0};
	CHECK_EQ_INT(rt_spec_process(r, none, &s, &m, &err), 0, "exec, nothing marked: a spec: %s", err.msg);
	CHECK_STRV(s.envp, "A=1", "SECRET=x", "B=2", "TOKEN=y");
	rt_spec_free(&m);

	/* No env: an empty environment. */
	r = req(REQ_EXEC_EXTERNAL, "{'process_id': 'x1', 'argv': ['/bin/ls'], 'working_dir': '/'}");
	CHECK_EQ_INT(rt_spec_process(r, NULL, &s, &m, &err), 0, "exec without env: a spec: %s", err.msg);
	CHECK(s.envp && s.envp[0] == NULL, "exec without env: an empty environment");
	CHECK_STRV(s.argv, "/bin/ls");
	CHECK_EQ_INT(s.stdio, 0, "exec without stdio: none");
	rt_spec_free(&m);
	free_docs();
}

/* An empty argv or no working_dir never reaches the runtime (the decode
 * refuses it), and the runtime refuses it too if it ever did. */
static void test_process_refused(void)
{
	struct rt_spec s;
	struct rt_spec_mem m;
	struct uvm_err err = {0, ""};
	struct request *r;
	CHECK_EQ_INT(decode(REQ_EXEC_EXTERNAL, "{'process_id': 'x1', 'argv': [], 'working_dir': '/'}", &r, &err), -1,
		     "exec with an empty argv is refused by the decode");
	CHECK_MSG(err.msg, "$.argv: expected 1 to", "... the message names argv");
	CHECK_EQ_INT(decode(REQ_EXEC_EXTERNAL, "{'process_id': 'x1', 'argv': ['/bin/ls']}", &r, &err), -1,
		     "exec without working_dir is refused by the decode");
	CHECK_MSG(err.msg, "missing required key \"working_dir\"", "... the message names working_dir");

	r = req(REQ_EXEC_EXTERNAL, "{'process_id': 'x1', 'argv': ['/bin/ls'], 'working_dir': '/'}");
	r->argv.n = 0;
	CHECK_EQ_INT(rt_spec_process(r, NULL, &s, &m, &err), -1, "a request with an empty argv is refused");
	CHECK_MSG(err.msg, "argv (at least one string) and working_dir are required",
		  "... the message says what is needed");
	rt_spec_free(&m);
	r = req(REQ_EXEC_EXTERNAL, "{'process_id': 'x1', 'argv': ['/bin/ls'], 'working_dir': '/'}");
	r->working_dir = NULL;
	CHECK_EQ_INT(rt_spec_process(r, NULL, &s, &m, &err), -1, "a request without working_dir is refused");
	CHECK_MSG(err.msg, "working_dir are required", "... the message says what is needed");
	rt_spec_free(&m);
	free_docs();
}

/* The decision's drop_env marks variables by their index in the request:
 * exactly those are absent, whatever their names. */
static void test_drop_env(void)
{
	struct rt_spec s;
	struct rt_spec_mem m;
	struct uvm_err err = {0, ""};
	const struct request *r =
		req(REQ_EXEC_IN_CONTAINER, "{'container_id': 'c1', 'process_id': 'p1', 'argv': ['/bin/true'],"
					   " 'env': ['A=1', 'B=2', 'A=3'], 'working_dir': '/'}");
	static const unsigned char first[] = {1, 0, 0}, last[] = {0, 0, 1}, all[] = {1, 1, 1};
	CHECK_EQ_INT(rt_spec_process(r, first, &s, &m, &err), 0, "drop env[0]: %s", err.msg);
	CHECK_STRV(s.envp, "B=2", "A=3");
	rt_spec_free(&m);
	CHECK_EQ_INT(rt_spec_process(r, last, &s, &m, &err), 0, "drop env[2]: %s", err.msg);
	CHECK_STRV(s.envp, "A=1", "B=2");
	rt_spec_free(&m);
	CHECK_EQ_INT(rt_spec_process(r, all, &s, &m, &err), 0, "drop every variable: %s", err.msg);
	CHECK(s.envp && s.envp[0] == NULL, "drop every variable: an empty environment");
	rt_spec_free(&m);

	/* The same for a create: the decision's drop_env. */
	static const unsigned char term[] = {0, 0, 1};
	struct policy_decision d = {.allowed = 1, .drop_env = (unsigned char *)term};
	CHECK_EQ_INT(rt_spec_container(create_req(""), &d, &s, &m, &err), 0, "create, TERM dropped: %s", err.msg);
	CHECK_STRV(s.envp, "PATH=/usr/bin:/bin", "PORT=80");
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
	const struct request *r =
		create_req(", 'mounts': [{'source': 'sandbox:///tmp/data/x', 'destination': '/data', 'type': 'bind',"
			   "   'options': ['rbind', 'ro']},"
			   "  {'source': 'tmpfs', 'destination': '/scratch', 'type': 'tmpfs', 'options': []}],"
			   " 'no_new_privileges': true, 'stdio': true");
	static const unsigned char drop_env[] = {0, 0, 1};      /* TERM */
	static const unsigned char drop_bounding[] = {0, 1, 0}; /* CAP_CHOWN */
	static const unsigned char drop_permitted[] = {0, 1};   /* CAP_CHOWN */
	struct policy_decision d = {.allowed = 1, .drop_env = (unsigned char *)drop_env};
	d.drop_caps[B] = (unsigned char *)drop_bounding;
	d.drop_caps[P] = (unsigned char *)drop_permitted;
	CHECK_EQ_INT(rt_spec_container(r, &d, &s, &m, &err), 0, "create: a spec: %s", err.msg);
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
	CHECK(same_program(s.seccomp, want, n),
	      "create without seccomp: the default profile's program (%zu instructions)", n);
	CHECK(n > 0, "create: the default program is not empty");
	CHECK(s.memory_max == 0 && s.pids_max == 0, "create without resources: 0 = the defaults");
	CHECK_EQ_INT(m.nmounts, 2, "create: two mounts");
	if (m.nmounts == 2) {
		const struct rt_mount *a = &m.mounts[0], *b = &m.mounts[1];
		CHECK_EQ_STR(a->source, "sandbox:///tmp/data/x", "mounts[0].source");
		CHECK_EQ_STR(a->destination, "/data", "mounts[0].destination");
		CHECK_EQ_STR(a->type, "bind", "mounts[0].type");
		CHECK(a->noptions == 2 && !strcmp(a->options[0], "rbind") && !strcmp(a->options[1], "ro") &&
			      a->options[2] == NULL,
		      "mounts[0].options are rbind, ro (NULL-terminated)");
		CHECK_EQ_STR(b->source, "tmpfs", "mounts[1].source");
		CHECK_EQ_STR(b->destination, "/scratch", "mounts[1].destination");
		CHECK_EQ_STR(b->type, "tmpfs", "mounts[1].type");
		CHECK(b->noptions == 0 && b->options && b->options[0] == NULL, "mounts[1] has no options");
	}
	rt_spec_free(&m);

	/* No drops at all (no decision, or one dropping nothing), no mounts, privileged. */
	r = create_req(", 'privileged': true, 'no_new_privileges': false");
	CHECK_EQ_INT(rt_spec_container(r, NULL, &s, &m, &err), 0, "create, no drops: a spec: %s", err.msg);
	CHECK_STRV(s.envp, "PATH=/usr/bin:/bin", "PORT=80", "TERM=xterm");
	CHECK_EQ_INT(s.caps[B], CAP(10) | CAP(0) | CAP(5), "create, no drops: bounding as asked");
	CHECK_EQ_INT(s.caps[P], CAP(10) | CAP(0), "create, no drops: permitted as asked");
	CHECK_EQ_INT(s.privileged, 1, "create: privileged");
	CHECK_EQ_INT(s.no_new_privileges, 0, "create: no_new_privileges false");
	CHECK(m.nmounts == 0 && s.stdio == 0, "create without mounts: none; without stdio: none");
	rt_spec_free(&m);
	struct policy_decision nothing = {.allowed = 1};
	CHECK_EQ_INT(rt_spec_container(r, &nothing, &s, &m, &err), 0, "create, a decision without drops: %s", err.msg);
	CHECK(s.envp && s.envp[2] && s.caps[B] == (CAP(10) | CAP(0) | CAP(5)),
	      "create, a decision without drops: every variable and capability");
	rt_spec_free(&m);

	/* Every capability dropped from every set. */
	static const unsigned char all3[] = {1, 1, 1}, all2[] = {1, 1}, all1[] = {1};
	struct policy_decision every = {.allowed = 1};
	every.drop_caps[B] = (unsigned char *)all3;
	every.drop_caps[E] = (unsigned char *)all1;
	every.drop_caps[P] = (unsigned char *)all2;
	every.drop_caps[A] = (unsigned char *)all1;
	CHECK_EQ_INT(rt_spec_container(create_req(""), &every, &s, &m, &err), 0, "create, all dropped: a spec: %s",
		     err.msg);
	CHECK(s.caps[B] == 0 && s.caps[E] == 0 && s.caps[I] == 0 && s.caps[P] == 0 && s.caps[A] == 0,
	      "create: every requested capability dropped leaves empty sets");
	rt_spec_free(&m);

	/* Every capability by its number. */
	r = req(REQ_CREATE_CONTAINER,
		small_text(
			"'bounding': ['CAP_CHECKPOINT_RESTORE', 'CAP_SYS_ADMIN'], 'effective': [], 'inheritable': [],"
			" 'permitted': [], 'ambient': []",
			""));
	CHECK_EQ_INT(rt_spec_container(r, NULL, &s, &m, &err), 0, "create, high capabilities: %s", err.msg);
	CHECK_EQ_INT(s.caps[B], CAP(40) | CAP(21), "create: CAP_CHECKPOINT_RESTORE is bit 40, CAP_SYS_ADMIN bit 21");
	CHECK_EQ_INT(s.umask, 022, "create: umask \"0022\"");
	rt_spec_free(&m);
	r = req(REQ_CREATE_CONTAINER, "{'container_id': 'c3', 'argv': ['/a'], 'working_dir': '/', 'user': {'uid': 0, "
				      "'gid': 0, 'umask': '0000'},"
				      " 'capabilities': {" NO_CAPS "}}");
	CHECK_EQ_INT(rt_spec_container(r, NULL, &s, &m, &err), 0, "create, umask 0000: %s", err.msg);
	CHECK_EQ_INT(s.umask, 0, "create: umask \"0000\"");
	rt_spec_free(&m);
	free(want);
	free_docs();
}

/* The decision's drop_caps[set] marks capabilities by their index in that
 * set of the request: exactly those are absent, and only from that set. */
static void test_drop_caps(void)
{
	struct rt_spec s;
	struct rt_spec_mem m;
	struct uvm_err err = {0, ""};
	static const unsigned char kill[] = {0, 0, 1}, net[] = {1};
	struct policy_decision d = {.allowed = 1};
	d.drop_caps[B] = (unsigned char *)kill;
	d.drop_caps[E] = (unsigned char *)net;
	CHECK_EQ_INT(rt_spec_container(create_req(""), &d, &s, &m, &err), 0, "drop bounding KILL, effective NET: %s",
		     err.msg);
	CHECK_EQ_INT(s.caps[B], CAP(10) | CAP(0), "bounding without KILL(5)");
	CHECK_EQ_INT(s.caps[E], 0, "effective without NET_BIND_SERVICE");
	CHECK_EQ_INT(s.caps[P], CAP(10) | CAP(0), "permitted untouched");
	CHECK_EQ_INT(s.caps[A], CAP(10), "ambient untouched: a drop is per set");
	rt_spec_free(&m);

	/* A name listed twice in one set with one copy dropped: dropped (the
	 * narrower set; the engine marks every copy of a refused name). */
	const struct request *r = req(REQ_CREATE_CONTAINER,
				      small_text("'bounding': ['CAP_CHOWN', 'CAP_KILL', 'CAP_CHOWN'], 'effective': [],"
						 " 'inheritable': [], 'permitted': [], 'ambient': []",
						 ""));
	static const unsigned char second_chown[] = {0, 0, 1};
	struct policy_decision twice = {.allowed = 1};
	twice.drop_caps[B] = (unsigned char *)second_chown;
	CHECK_EQ_INT(rt_spec_container(r, &twice, &s, &m, &err), 0, "a capability listed twice: %s", err.msg);
	CHECK_EQ_INT(s.caps[B], CAP(5), "a capability dropped at one of its indexes is absent");
	rt_spec_free(&m);
	free_docs();
}

/* Requests the decode refuses: they never reach rt_spec_container. */
static void test_container_refused_by_decode(void)
{
	static const struct {
		const char *caps, *user, *extra, *needle, *what;
	} cases[] = {
		{NO_CAPS, "{'uid': 0, 'gid': 0, 'umask': '22'}", "", "user.umask", "a 2-digit umask"},
		{NO_CAPS, "{'uid': 0, 'gid': 0, 'umask': '0082'}", "", "user.umask", "a non-octal umask"},
		{NO_CAPS, "{'uid': 4294967295, 'gid': 0, 'umask': '0022'}", "", "user.uid",
		 "uid 2^32-1 (the kernel's \"no id\")"},
		{NO_CAPS, "{'uid': 0, 'umask': '0022'}", "", "user: missing required key \"gid\"", "no gid"},
		{"'bounding': [], 'effective': []", "{'uid': 0, 'gid': 0, 'umask': '0022'}", "",
		 "missing required key \"inheritable\"", "capabilities without every set"},
		{NO_CAPS, "{'uid': 0, 'gid': 0, 'umask': '0022'}",
		 ", 'mounts': [{'source': 's', 'destination': '/d', 'options': []}]",
		 "mounts[0]: missing required key \"type\"", "a mount without type"},
		{NO_CAPS, "{'uid': 0, 'gid': 0, 'umask': '0022'}",
		 ", 'mounts': [{'source': 's', 'destination': '/d', 'type': 'bind', 'options': []},"
		 "            {'source': 's', 'type': 'bind', 'options': ['ro']}]",
		 "mounts[1]: missing required key \"destination\"", "a second mount without destination"},
		{NO_CAPS, "{'uid': 0, 'gid': 0, 'umask': '0022'}",
		 ", 'mounts': [{'source': 's', 'destination': '/d', 'type': 'bind'}]",
		 "missing required key \"options\"", "a mount without options"},
		{NO_CAPS, "{'uid': 0, 'gid': 0, 'umask': '0022'}", ", 'seccomp': {'profile': 'strict'}",
		 "seccomp.profile", "an unknown seccomp profile"},
		{NO_CAPS, "{'uid': 0, 'gid': 0, 'umask': '0022'}",
		 ", 'seccomp': {'profile': 'default', 'deny': ['no_such_call']}",
		 "unknown syscall name \"no_such_call\"", "an unknown syscall name in deny"},
		{NO_CAPS, "{'uid': 0, 'gid': 0, 'umask': '0022'}",
		 ", 'seccomp': {'profile': 'unconfined', 'deny': ['chmod']}",
		 "must be empty with the \"unconfined\" profile", "deny names with an unconfined profile"},
		{NO_CAPS, "{'uid': 0, 'gid': 0, 'umask': '0022'}", ", 'resources': {'memory_max': 1024}",
		 "resources.memory_max", "memory_max below the minimum"},
		{NO_CAPS, "{'uid': 0, 'gid': 0, 'umask': '0022'}", ", 'resources': {'pids_max': 0}",
		 "resources.pids_max", "pids_max 0"},
		{NO_CAPS, "{'uid': 0, 'gid': 0, 'umask': '0022'}", ", 'resources': {'pids_max': 4194305}",
		 "resources.pids_max", "pids_max above the kernel's limit"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[2048];
		struct request *r;
		struct uvm_err err = {0, ""};
		snprintf(text, sizeof text,
			 "{'container_id': 'c2', 'argv': ['/a'], 'working_dir': '/', 'user': %s, 'capabilities': "
			 "{%s}%s}",
			 cases[i].user, cases[i].caps, cases[i].extra);
		CHECK_EQ_INT(decode(REQ_CREATE_CONTAINER, text, &r, &err), -1,
			     "create with %s is refused by the decode", cases[i].what);
		CHECK_MSG(err.msg, cases[i].needle, "... the message names it");
		free_docs();
	}
}

/* What the runtime itself refuses: names only it knows (capabilities),
 * and a request missing what a decoded one always has. */
static void test_container_refused(void)
{
	struct rt_spec s;
	struct rt_spec_mem m;
	struct uvm_err err = {0, ""};
	struct request *r =
		req(REQ_CREATE_CONTAINER,
		    small_text("'bounding': [], 'effective': ['CAP_FLY'], 'inheritable': [], 'permitted': [],"
			       " 'ambient': []",
			       ""));
	CHECK_EQ_INT(rt_spec_container(r, NULL, &s, &m, &err), -1, "create with an unknown capability name is refused");
	CHECK_MSG(err.msg, "capabilities.effective: unknown capability 'CAP_FLY'", "... the message names it");
	rt_spec_free(&m);
	r = req(REQ_CREATE_CONTAINER, small_text("'bounding': ['cap_chown'], 'effective': [], 'inheritable': [],"
						 " 'permitted': [], 'ambient': []",
						 ""));
	CHECK_EQ_INT(rt_spec_container(r, NULL, &s, &m, &err), -1,
		     "create with a lower-case capability name is refused");
	CHECK_MSG(err.msg, "capabilities.bounding: unknown capability 'cap_chown'", "... the message names it");
	rt_spec_free(&m);
	/* Even a dropped unknown name: the request is not what the runtime knows. */
	static const unsigned char drop[] = {1};
	struct policy_decision d = {.allowed = 1};
	d.drop_caps[B] = (unsigned char *)drop;
	CHECK_EQ_INT(rt_spec_container(r, &d, &s, &m, &err), -1, "create with a dropped unknown capability is refused");
	rt_spec_free(&m);

	r = create_req("");
	r->has_user = 0;
	CHECK_EQ_INT(rt_spec_container(r, NULL, &s, &m, &err), -1, "create without a user is refused");
	CHECK_MSG(err.msg, "user (uid, gid and a umask of 4 octal digits) is required", "... the message says so");
	rt_spec_free(&m);
	r = create_req("");
	r->user.umask = "22";
	CHECK_EQ_INT(rt_spec_container(r, NULL, &s, &m, &err), -1, "create with a 2-digit umask is refused");
	rt_spec_free(&m);
	r = create_req(", 'mounts': [{'source': 's', 'destination': '/d', 'type': 'bind', 'options': []},"
		       " {'source': 's', 'destination': '/e', 'type': 'bind', 'options': ['ro']}]");
	r->mounts[1].destination = NULL;
	CHECK_EQ_INT(rt_spec_container(r, NULL, &s, &m, &err), -1,
		     "create with a mount without destination is refused");
	CHECK_MSG(err.msg, "mounts[1]: source, destination, type and options are required", "... the message names it");
	rt_spec_free(&m);
	static const char *bogus[] = {"no_such_call"};
	r = create_req(", 'seccomp': {'profile': 'default', 'deny': ['chmod']}");
	r->seccomp.deny.v = bogus;
	CHECK_EQ_INT(rt_spec_container(r, NULL, &s, &m, &err), -1, "create with an unknown syscall name is refused");
	CHECK_MSG(err.msg, "the container's seccomp filter", "... the message names the filter");
	rt_spec_free(&m);
	free_docs();
}

static void test_resources(void)
{
	struct rt_spec s;
	struct rt_spec_mem m;
	struct uvm_err err = {0, ""};
	CHECK_EQ_INT(rt_spec_container(create_req(", 'resources': {'memory_max': 268435456, 'pids_max': 64}"), NULL, &s,
				       &m, &err),
		     0, "resources: a spec: %s", err.msg);
	CHECK_EQ_INT(s.memory_max, 268435456, "resources: memory_max as approved");
	CHECK_EQ_INT(s.pids_max, 64, "resources: pids_max as approved");
	rt_spec_free(&m);
	CHECK_EQ_INT(rt_spec_container(create_req(", 'resources': {'pids_max': 1}"), NULL, &s, &m, &err), 0,
		     "resources, pids only: %s", err.msg);
	CHECK(s.memory_max == 0 && s.pids_max == 1, "resources: memory_max absent = 0 (the default), pids_max 1");
	rt_spec_free(&m);
	CHECK_EQ_INT(rt_spec_container(create_req(", 'resources': {}"), NULL, &s, &m, &err), 0, "resources {}: %s",
		     err.msg);
	CHECK(s.memory_max == 0 && s.pids_max == 0, "resources {}: both defaults");
	rt_spec_free(&m);
	char extra[128];
	snprintf(extra, sizeof extra, ", 'resources': {'memory_max': %llu, 'pids_max': %llu}",
		 (unsigned long long)POLICY_MEMORY_LIMIT, (unsigned long long)POLICY_PIDS_LIMIT);
	CHECK_EQ_INT(rt_spec_container(create_req(extra), NULL, &s, &m, &err), 0, "resources at the limits: %s",
		     err.msg);
	CHECK(s.memory_max == POLICY_MEMORY_LIMIT && s.pids_max == POLICY_PIDS_LIMIT,
	      "resources: the limits themselves pass");
	rt_spec_free(&m);
	snprintf(extra, sizeof extra, ", 'resources': {'memory_max': %llu}", (unsigned long long)POLICY_MEMORY_MIN);
	CHECK_EQ_INT(rt_spec_container(create_req(extra), NULL, &s, &m, &err), 0, "resources at the minimum: %s",
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

	const struct request *r = create_req("");
	CHECK(!r->seccomp.present, "seccomp absent: the request says so");
	CHECK_EQ_INT(rt_spec_container(r, NULL, &s, &m, &err), 0, "seccomp absent: %s", err.msg);
	CHECK(same_program(s.seccomp, def, n_default), "seccomp absent: the default profile's program");
	CHECK(s.seccomp == &m.prog && m.prog.filter == m.filter,
	      "seccomp absent: the program lives in the spec memory");
	rt_spec_free(&m);

	CHECK_EQ_INT(rt_spec_container(create_req(", 'seccomp': {'profile': 'default'}"), NULL, &s, &m, &err), 0,
		     "seccomp default: %s", err.msg);
	CHECK(same_program(s.seccomp, def, n_default), "seccomp default: the default program");
	CHECK(s.seccomp == &m.prog && m.prog.filter == m.filter, "seccomp: the program lives in the spec memory");
	rt_spec_free(&m);

	CHECK_EQ_INT(rt_spec_container(create_req(", 'seccomp': {'profile': 'unconfined'}"), NULL, &s, &m, &err), 0,
		     "seccomp unconfined: %s", err.msg);
	CHECK(s.seccomp == NULL, "seccomp unconfined: no program (NULL)");
	rt_spec_free(&m);

	CHECK_EQ_INT(rt_spec_container(create_req(", 'seccomp': {'profile': 'default', 'deny': ['chmod', 'fchmod']}"),
				       NULL, &s, &m, &err),
		     0, "seccomp with a deny list: %s", err.msg);
	CHECK(same_program(s.seccomp, denied, n_deny), "seccomp deny chmod, fchmod: the program built with them");
	CHECK(!same_program(s.seccomp, def, n_default), "seccomp deny chmod, fchmod: not the default program");
	rt_spec_free(&m);

	CHECK_EQ_INT(rt_spec_container(create_req(", 'seccomp': {'profile': 'default', 'allow': ['keyctl']}"), NULL, &s,
				       &m, &err),
		     0, "seccomp with an allow list: %s", err.msg);
	CHECK(s.seccomp && !same_program(s.seccomp, def, n_default),
	      "seccomp allow keyctl: another program, not empty");
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
	struct request *r =
		create_req(", 'mounts': [{'source': 's', 'destination': '/d', 'type': 'bind', 'options': ['ro']}]");
	r->mounts[0].type = NULL;
	CHECK_EQ_INT(rt_spec_container(r, NULL, &s, &m, &err), -1,
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
	test_process_refused();
	test_drop_env();
	test_container();
	test_drop_caps();
	test_container_refused_by_decode();
	test_container_refused();
	test_resources();
	test_seccomp();
	test_free();
	return check_done();
}
