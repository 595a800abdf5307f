/* Unit tests of lib/request.h, the one decode of every request: each row
 * is an op, a JSON args text (' for ") and either what the decoded struct
 * must hold or the message a refusal must contain. The hostile rows are
 * what a host would try: facts it may not state, ids that walk out of
 * their directory, lists past their bounds, NUL bytes, members nobody
 * asked for. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"
#include "request.h"

#define CAPS "'capabilities':{'bounding':['CAP_CHOWN'],'effective':[],'inheritable':[],'permitted':[],'ambient':[]}"
#define USER "'user':{'uid':1000,'gid':1001,'umask':'0022'}"
#define CREATE(extra) "{'container_id':'c1','argv':['/bin/app','-x'],'working_dir':'/'," USER "," CAPS extra "}"
#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char *quotes(const char *s)
{
	char *t = strdup(s);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	return t;
}

/* Decodes text (NULL: no args) for op from src; returns decode's result,
 * with the message in err and the request in r (freed by the caller). */
static int decode(enum req_op op, const char *text, enum req_source src, struct request *r, struct uvm_err *err,
		  struct json_doc **doc)
{
	*doc = NULL;
	const struct json_value *v = NULL;
	if (text) {
		char *t = quotes(text);
		v = json_parse(t, strlen(t), 1u << 24, doc, err);
		free(t);
		if (!v) { /* the parser refused it: as the agent does */
			memset(r, 0, sizeof *r);
			return -1;
		}
	}
	return request_decode(op, v, src, r, err);
}

struct refusal {
	const char *what;
	enum req_op op;
	enum req_source src;
	const char *args;
	const char *why;
};

static const struct refusal refusals[] = {
	{"host states the device hash", REQ_MOUNT_DEVICE, REQ_FROM_HOST,
	 "{'serial':'l1','root_hash':'" H64 "','device_hash':'" H64 "'}", "device_hash"},
	{"host states the layer target", REQ_MOUNT_DEVICE, REQ_FROM_HOST,
	 "{'serial':'l1','root_hash':'" H64 "','target':'/run/layers/x'}", "target"},
	{"host states the overlay target", REQ_MOUNT_OVERLAY, REQ_FROM_HOST,
	 "{'container_id':'c','layers':['/run/layers/a'],'target':'/run/containers/d/rootfs'}", "target"},
	{"a log without the device hash", REQ_MOUNT_DEVICE, REQ_FROM_LOG, "{'target':'/run/layers/a'}",
	 "missing required key \"device_hash\""},
	{"a device hash in capitals (log)", REQ_MOUNT_DEVICE, REQ_FROM_LOG,
	 "{'target':'/run/layers/a','device_hash':'0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef'}",
	 "lowercase"},
	{"root hash of 63 digits", REQ_MOUNT_DEVICE, REQ_FROM_HOST,
	 "{'serial':'l1','root_hash':'0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde'}", "64"},
	{"serial with a slash", REQ_SCRATCH_MOUNT, REQ_FROM_HOST, "{'serial':'../vda'}", "serial"},
	{"serial of 21 characters", REQ_SCRATCH_MOUNT, REQ_FROM_HOST, "{'serial':'abcdefghijklmnopqrstu'}", "serial"},
	{"container id ..", REQ_START_CONTAINER, REQ_FROM_HOST, "{'container_id':'..'}", "$.container_id"},
	{"container id with a slash", REQ_START_CONTAINER, REQ_FROM_HOST, "{'container_id':'a/b'}", "$.container_id"},
	{"container id of 129 characters", REQ_START_CONTAINER, REQ_FROM_HOST,
	 "{'container_id':'"
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaaaaaa'}",
	 "1 to 128"},
	{"container id as a number", REQ_START_CONTAINER, REQ_FROM_HOST, "{'container_id':7}", "container_id"},
	{"no args at all", REQ_START_CONTAINER, REQ_FROM_HOST, NULL, "needs \"args\""},
	{"a member nobody asked for", REQ_START_CONTAINER, REQ_FROM_HOST, "{'container_id':'c','as_root':true}",
	 "as_root"},
	{"ping with arguments", REQ_PING, REQ_FROM_HOST, "{'x':1}", "x"},
	{"empty argv", REQ_CREATE_CONTAINER, REQ_FROM_HOST,
	 "{'container_id':'c1','argv':[],'working_dir':'/'," USER "," CAPS "}", "$.argv"},
	{"env without =", REQ_CREATE_CONTAINER, REQ_FROM_HOST, CREATE(",'env':['PATH']"), "NAME=VALUE"},
	{"env starting with =", REQ_CREATE_CONTAINER, REQ_FROM_HOST, CREATE(",'env':['=x']"), "NAME=VALUE"},
	{"a NUL inside an argument", REQ_CREATE_CONTAINER, REQ_FROM_HOST,
	 "{'container_id':'c1','argv':['/bin/app\\u0000/bin/sh'],'working_dir':'/'," USER "," CAPS "}", "NUL"},
	{"relative working dir", REQ_CREATE_CONTAINER, REQ_FROM_HOST,
	 "{'container_id':'c1','argv':['/a'],'working_dir':'srv'," USER "," CAPS "}", "$.working_dir"},
	{"uid 2^32-1", REQ_CREATE_CONTAINER, REQ_FROM_HOST,
	 "{'container_id':'c1','argv':['/a'],'working_dir':'/','user':{'uid':4294967295,'gid':0,'umask':'0022'}," CAPS
	 "}",
	 "uid"},
	{"negative gid", REQ_CREATE_CONTAINER, REQ_FROM_HOST,
	 "{'container_id':'c1','argv':['/a'],'working_dir':'/','user':{'uid':0,'gid':-1,'umask':'0022'}," CAPS "}",
	 "gid"},
	{"umask of 3 digits", REQ_CREATE_CONTAINER, REQ_FROM_HOST,
	 "{'container_id':'c1','argv':['/a'],'working_dir':'/','user':{'uid':0,'gid':0,'umask':'022'}," CAPS "}",
	 "$.user.umask"},
	{"a capability set missing", REQ_CREATE_CONTAINER, REQ_FROM_HOST,
	 "{'container_id':'c1','argv':['/a'],'working_dir':'/'," USER
	 ",'capabilities':{'bounding':[],'effective':[],'inheritable':[],'permitted':[]}}",
	 "ambient"},
	{"mount with a relative destination", REQ_CREATE_CONTAINER, REQ_FROM_HOST,
	 CREATE(",'mounts':[{'source':'tmpfs','destination':'etc','type':'tmpfs','options':[]}]"), "destination"},
	{"mount without options", REQ_CREATE_CONTAINER, REQ_FROM_HOST,
	 CREATE(",'mounts':[{'source':'tmpfs','destination':'/etc','type':'tmpfs'}]"), "options"},
	{"seccomp: unknown syscall", REQ_CREATE_CONTAINER, REQ_FROM_HOST,
	 CREATE(",'seccomp':{'profile':'default','allow':['frobnicate']}"), "unknown syscall"},
	{"seccomp: a name twice", REQ_CREATE_CONTAINER, REQ_FROM_HOST,
	 CREATE(",'seccomp':{'profile':'default','deny':['chmod','chmod']}"), "already at index 0"},
	{"seccomp: allowed and denied", REQ_CREATE_CONTAINER, REQ_FROM_HOST,
	 CREATE(",'seccomp':{'profile':'default','allow':['ptrace'],'deny':['ptrace']}"), "also in \"allow\""},
	{"seccomp: unconfined with a list", REQ_CREATE_CONTAINER, REQ_FROM_HOST,
	 CREATE(",'seccomp':{'profile':'unconfined','deny':['chmod']}"), "unconfined"},
	{"seccomp: unknown profile", REQ_CREATE_CONTAINER, REQ_FROM_HOST, CREATE(",'seccomp':{'profile':'lax'}"),
	 "\"default\" or \"unconfined\""},
	{"resources: 1 MiB of memory", REQ_CREATE_CONTAINER, REQ_FROM_HOST,
	 CREATE(",'resources':{'memory_max':1048576}"), "memory_max"},
	{"resources: zero pids", REQ_CREATE_CONTAINER, REQ_FROM_HOST, CREATE(",'resources':{'pids_max':0}"),
	 "pids_max"},
	{"resources: an unknown limit", REQ_CREATE_CONTAINER, REQ_FROM_HOST, CREATE(",'resources':{'cpu_max':1}"),
	 "cpu_max"},
	{"signal 0", REQ_SIGNAL_PROCESS, REQ_FROM_HOST, "{'container_id':'c','signal':0}", "signal"},
	{"signal 65", REQ_SIGNAL_PROCESS, REQ_FROM_HOST, "{'container_id':'c','signal':65}", "signal"},
	{"signal 9.5", REQ_SIGNAL_PROCESS, REQ_FROM_HOST, "{'container_id':'c','signal':9.5}", "signal"},
	{"stream stdin", REQ_READ_OUTPUT, REQ_FROM_HOST, "{'container_id':'c','stream':'stdin'}", "stream"},
	{"max_bytes 0", REQ_READ_OUTPUT, REQ_FROM_HOST, "{'container_id':'c','stream':'stdout','max_bytes':0}",
	 "max_bytes"},
	{"max_bytes past 256 KiB", REQ_READ_OUTPUT, REQ_FROM_HOST,
	 "{'container_id':'c','stream':'stdout','max_bytes':262145}", "max_bytes"},
	{"wait for nobody", REQ_WAIT_PROCESS, REQ_FROM_HOST, "{}", "container_id and/or process_id"},
	{"write_stdin without data", REQ_WRITE_STDIN, REQ_FROM_HOST, "{'container_id':'c'}", "data_base64"},
	{"exec without process id", REQ_EXEC_IN_CONTAINER, REQ_FROM_HOST,
	 "{'container_id':'c','argv':['/a'],'working_dir':'/'}", "process_id"},
	{"layers empty", REQ_MOUNT_OVERLAY, REQ_FROM_HOST, "{'container_id':'c','layers':[]}", "$.layers"},
	{"host states the writable layer's size", REQ_MOUNT_OVERLAY, REQ_FROM_HOST,
	 "{'container_id':'c','layers':['/run/layers/a'],'scratch':'/run/scratch/s','upper_bytes':8388608}",
	 "upper_bytes"},
	{"scratch_bytes below 4 MiB", REQ_MOUNT_OVERLAY, REQ_FROM_HOST,
	 "{'container_id':'c','layers':['/run/layers/a'],'scratch':'/run/scratch/s','scratch_bytes':4194303}",
	 "$.scratch_bytes: integer 4194303 out of range"},
	{"scratch_bytes past 1 PiB", REQ_MOUNT_OVERLAY, REQ_FROM_HOST,
	 "{'container_id':'c','layers':['/run/layers/a'],'scratch':'/run/scratch/s','scratch_bytes':1125899906842625}",
	 "scratch_bytes"},
	{"scratch_bytes past 2^63", REQ_MOUNT_OVERLAY, REQ_FROM_HOST,
	 "{'container_id':'c','layers':['/run/layers/a'],'scratch':'/run/scratch/"
	 "s','scratch_bytes':18446744073709551616}",
	 "scratch_bytes"},
	{"scratch_bytes negative", REQ_MOUNT_OVERLAY, REQ_FROM_HOST,
	 "{'container_id':'c','layers':['/run/layers/a'],'scratch':'/run/scratch/s','scratch_bytes':-8388608}",
	 "scratch_bytes"},
	{"scratch_bytes as a string", REQ_MOUNT_OVERLAY, REQ_FROM_HOST,
	 "{'container_id':'c','layers':['/run/layers/a'],'scratch':'/run/scratch/s','scratch_bytes':'8M'}",
	 "scratch_bytes"},
	{"scratch_bytes without a scratch", REQ_MOUNT_OVERLAY, REQ_FROM_HOST,
	 "{'container_id':'c','layers':['/run/layers/a'],'scratch_bytes':8388608}", "give \"scratch\" too"},
	{"a log of a scratch overlay without upper_bytes", REQ_MOUNT_OVERLAY, REQ_FROM_LOG,
	 "{'container_id':'c','layers':['/run/layers/a'],'target':'/run/containers/c/rootfs','scratch':'/run/scratch/"
	 "s'}",
	 "needs the guest's \"upper_bytes\""},
	{"a log of upper_bytes without a scratch", REQ_MOUNT_OVERLAY, REQ_FROM_LOG,
	 "{'container_id':'c','layers':['/run/layers/a'],'target':'/run/containers/c/rootfs','upper_bytes':8388608}",
	 "$.upper_bytes"},
	{"resources: scratch_max in a create", REQ_CREATE_CONTAINER, REQ_FROM_HOST,
	 CREATE(",'resources':{'scratch_max':8388608}"), "scratch_max"},
	{"encrypted as a string", REQ_SCRATCH_MOUNT, REQ_FROM_HOST, "{'serial':'s1','encrypted':'no'}", "encrypted"},
	{"args as an array", REQ_START_CONTAINER, REQ_FROM_HOST, "['c']", "object"},
	{"an op this build does not have", REQ_TEST_INJECT_FAULT, REQ_FROM_HOST, "{'point':'remount','count':1}",
	 "does not exist in this build"},
};

static void test_refusals(void)
{
	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
		const struct refusal *t = &refusals[i];
		struct request r;
		struct uvm_err err = {0, ""};
		struct json_doc *doc;
		int rc = decode(t->op, t->args, t->src, &r, &err, &doc);
		CHECK_EQ_INT(rc, -1, "refused: %s", t->what);
		CHECK_MSG(err.msg, t->why, "the refusal of '%s' names %s", t->what, t->why);
		request_free(&r);
		json_free(doc);
	}
}

static void test_long_lists(void)
{
	/* 1025 arguments: one past POLICY_MAX_LIST. */
	size_t cap = 1025 * 6 + 512;
	char *t = malloc(cap);
	size_t n = (size_t)snprintf(t, cap, "{'container_id':'c','process_id':'p','working_dir':'/','argv':[");
	for (int i = 0; i < 1025; i++)
		n += (size_t)snprintf(t + n, cap - n, "%s'a'", i ? "," : "");
	snprintf(t + n, cap - n, "]}");
	struct request r;
	struct uvm_err err = {0, ""};
	struct json_doc *doc;
	CHECK_EQ_INT(decode(REQ_EXEC_IN_CONTAINER, t, REQ_FROM_HOST, &r, &err, &doc), -1, "1025 arguments refused");
	CHECK_MSG(err.msg, "1024", "the refusal names the bound");
	request_free(&r);
	json_free(doc);
	free(t);

	/* A 4097-byte working directory. */
	char *text = malloc(4400);
	n = (size_t)snprintf(text, 4400, "{'container_id':'c','process_id':'p','argv':['/a'],'working_dir':'/");
	memset(text + n, 'a', 4096);
	snprintf(text + n + 4096, 4400 - n - 4096, "'}");
	CHECK_EQ_INT(decode(REQ_EXEC_IN_CONTAINER, text, REQ_FROM_HOST, &r, &err, &doc), -1,
		     "a 4097-byte path refused");
	CHECK_MSG(err.msg, "4096", "the refusal names the bound");
	request_free(&r);
	json_free(doc);
	free(text);
}

static void test_create_decoded(void)
{
	struct request r;
	struct uvm_err err = {0, ""};
	struct json_doc *doc;
	int rc = decode(REQ_CREATE_CONTAINER,
			"{'container_id':'c1','argv':['/bin/app','-x'],'working_dir':'/'," CAPS
			",'user':{'uid':1000,'gid':1001,'umask':'0027','name':'app','group':'app'},"
			"'env':['A=1','B=2=3'],'no_new_privileges':true,'stdio':true,"
			"'mounts':[{'source':'tmpfs','destination':'/etc','type':'tmpfs','options':['ro','nosuid']}],"
			"'seccomp':{'profile':'default','deny':['chmod']},'resources':{'pids_max':64}}",
			REQ_FROM_HOST, &r, &err, &doc);
	CHECK_EQ_INT(rc, 0, "a full create decodes: %s", err.msg);
	CHECK_EQ_STR(r.name, "create_container", "op name");
	CHECK_EQ_STR(r.container_id, "c1", "container_id");
	CHECK_EQ_INT(r.argv.n, 2, "argv count");
	CHECK(r.argv.n == 2 && strcmp(r.argv.v[1], "-x") == 0, "argv[1]");
	CHECK(r.env.n == 2 && strcmp(r.env.v[1], "B=2=3") == 0, "env[1]");
	CHECK(r.no_new_privileges && r.stdio && !r.privileged, "flags");
	CHECK(r.nmounts == 1 && strcmp(r.mounts[0].destination, "/etc") == 0 && r.mounts[0].options.n == 2,
	      "the mount");
	CHECK(r.seccomp.present && !r.seccomp.unconfined && r.seccomp.deny.n == 1, "seccomp");
	CHECK_EQ_INT(r.resources.pids_max, 64, "pids_max");
	CHECK_EQ_INT(r.resources.memory_max, 0, "memory_max absent is 0");
	CHECK(r.has_user && r.has_caps, "user and caps present");
	CHECK(r.user.name && strcmp(r.user.name, "app") == 0 && r.user.uid == 1000 && r.user.gid == 1001,
	      "user by name and ids");
	CHECK(r.caps[0].n == 1 && strcmp(r.caps[0].v[0], "CAP_CHOWN") == 0, "bounding set");
	CHECK(r.target == NULL && r.device_hash == NULL, "no facts from the host");
	request_free(&r);
	json_free(doc);

	rc = decode(REQ_CREATE_CONTAINER, CREATE(""), REQ_FROM_HOST, &r, &err, &doc);
	CHECK_EQ_INT(rc, 0, "a minimal create decodes: %s", err.msg);
	CHECK(!r.seccomp.present && !r.has_mounts && r.env.n == 0 && r.user.name == NULL, "absent members are empty");
	CHECK_EQ_INT(r.user.uid, 1000, "uid");
	CHECK_EQ_STR(r.user.umask, "0022", "umask");
	request_free(&r);
	json_free(doc);
}

static void test_facts(void)
{
	struct request r;
	struct uvm_err err = {0, ""};
	struct json_doc *doc;
	CHECK_EQ_INT(decode(REQ_SCRATCH_MOUNT, "{'serial':'s1'}", REQ_FROM_HOST, &r, &err, &doc), 0, "scratch_mount");
	CHECK_EQ_INT(r.encrypted, 1, "a scratch is encrypted unless the request says otherwise");
	CHECK_EQ_INT(request_set_target(&r, "/run/scratch/s1", &err), 0, "the guest sets the target");
	CHECK_EQ_STR(r.target, "/run/scratch/s1", "target fact");
	char longer[300];
	memset(longer, 'a', sizeof longer - 1);
	longer[0] = '/';
	longer[sizeof longer - 1] = 0;
	CHECK_EQ_INT(request_set_target(&r, longer, &err), -1, "an over-long target fact fails");
	CHECK_EQ_INT(request_set_device_hash(&r, "ABC", &err), -1, "a malformed hash fact fails");
	CHECK_EQ_INT(request_set_device_hash(&r, H64, &err), 0, "a hash fact");
	CHECK_EQ_STR(r.device_hash, H64, "hash fact copied");
	request_free(&r);
	json_free(doc);

	CHECK_EQ_INT(decode(REQ_MOUNT_DEVICE, "{'target':'/run/layers/" H64 "','device_hash':'" H64 "'}", REQ_FROM_LOG,
			    &r, &err, &doc),
		     0, "a log states the facts: %s", err.msg);
	CHECK_EQ_STR(r.device_hash, H64, "device_hash from the log");
	request_free(&r);
	json_free(doc);
}

static void test_scratch_bytes(void)
{
	struct request r;
	struct uvm_err err = {0, ""};
	struct json_doc *doc;
	CHECK_EQ_INT(decode(REQ_MOUNT_OVERLAY,
			    "{'container_id':'c','layers':['/run/layers/a'],'scratch':'/run/scratch/"
			    "s','scratch_bytes':8388608}",
			    REQ_FROM_HOST, &r, &err, &doc),
		     0, "scratch_bytes decodes: %s", err.msg);
	CHECK_EQ_INT(r.scratch_bytes, 8388608, "scratch_bytes");
	CHECK_EQ_INT(r.upper_bytes, 0, "no size fact from the host");
	CHECK_EQ_INT(request_set_upper_bytes(&r, 4194303, &err), -1, "a fact below 4 MiB fails");
	CHECK_EQ_INT(request_set_upper_bytes(&r, 8388608, &err), 0, "the guest sets the size fact");
	CHECK_EQ_INT(r.upper_bytes, 8388608, "upper_bytes fact");
	request_free(&r);
	json_free(doc);
	CHECK_EQ_INT(decode(REQ_MOUNT_OVERLAY,
			    "{'container_id':'c','layers':['/run/layers/a'],'scratch':'/run/scratch/"
			    "s','scratch_bytes':1125899906842624}",
			    REQ_FROM_HOST, &r, &err, &doc),
		     0, "scratch_bytes of 1 PiB decodes: %s", err.msg);
	request_free(&r);
	json_free(doc);
	CHECK_EQ_INT(decode(REQ_MOUNT_OVERLAY, "{'container_id':'c','layers':['/run/layers/a']}", REQ_FROM_HOST, &r,
			    &err, &doc),
		     0, "a tmpfs overlay decodes");
	CHECK(r.scratch_bytes == 0 && r.upper_bytes == 0, "without a scratch: no size");
	request_free(&r);
	json_free(doc);
	CHECK_EQ_INT(decode(REQ_MOUNT_OVERLAY,
			    "{'container_id':'c','layers':['/run/layers/a'],'target':'/run/containers/c/rootfs',"
			    "'scratch':'/run/scratch/s','upper_bytes':268435456}",
			    REQ_FROM_LOG, &r, &err, &doc),
		     0, "a log states upper_bytes: %s", err.msg);
	CHECK_EQ_INT(r.upper_bytes, 268435456, "upper_bytes from the log");
	request_free(&r);
	json_free(doc);

	/* The policy's reader takes scratch_max, the create's does not. */
	const char *text = "{\"memory_max\":8388608,\"scratch_max\":16777216}";
	struct req_resources res;
	const struct json_value *v = json_parse(text, strlen(text), 4096, &doc, &err);
	CHECK_EQ_INT(request_resources_read(v, REQ_RES_SCRATCH, &res, &err), 0, "policy bounds with scratch_max");
	CHECK(res.scratch_max == 16777216 && res.memory_max == 8388608 && res.pids_max == 0, "scratch_max read");
	CHECK_EQ_INT(request_resources_read(v, 0, &res, &err), -1, "a request's resources refuse scratch_max");
	CHECK_MSG(err.msg, "scratch_max", "naming it");
	json_free(doc);
	text = "{\"scratch_max\":4194303}";
	v = json_parse(text, strlen(text), 4096, &doc, &err);
	CHECK_EQ_INT(request_resources_read(v, REQ_RES_SCRATCH, &res, &err), -1, "scratch_max below 4 MiB refused");
	json_free(doc);
}

static void test_ops_table(void)
{
	for (int op = 0; op < REQ_N; op++) {
		const char *name = request_op_name((enum req_op)op);
		if (op == REQ_TEST_INJECT_FAULT) {
			CHECK_EQ_STR(name, "?", "test_inject_fault has no name outside the test flavour");
			continue;
		}
		CHECK(name && *name && strcmp(name, "?") != 0, "op %d has a name", op);
		CHECK_EQ_INT(request_op_find(name, strlen(name)), op, "%s finds itself", name);
	}
	CHECK_EQ_INT(request_op_find("signal_container_process", 24), -1, "the engine's old name is gone");
	CHECK_EQ_INT(request_op_find("test_inject_fault", 17), -1, "test_inject_fault is unknown in production");
	CHECK_EQ_INT(request_op_find("ping\0", 5), -1, "a name with a NUL is not ping");
	CHECK_EQ_INT(request_op_find("pin", 3), -1, "a prefix is not ping");

	struct uvm_err err = {0, ""};
	struct json_doc *doc;
	struct request r;
	const char *text = "{\"op\":\"signal_process\",\"container_id\":\"c\",\"signal\":9}";
	const struct json_value *v = json_parse(text, strlen(text), 4096, &doc, &err);
	CHECK_EQ_INT(request_decode_object(v, &r, &err), 0, "decode_object: %s", err.msg);
	CHECK_EQ_INT(r.op, REQ_SIGNAL_PROCESS, "decode_object finds the op");
	CHECK_EQ_INT(r.signal, 9, "signal");
	request_free(&r);
	json_free(doc);
	text = "{\"op\":\"reboot\"}";
	v = json_parse(text, strlen(text), 4096, &doc, &err);
	CHECK_EQ_INT(request_decode_object(v, &r, &err), -1, "decode_object: unknown op");
	CHECK_MSG(err.msg, "unknown \"op\"", "names the problem");
	request_free(&r);
	json_free(doc);
}

int main(void)
{
	test_ops_table();
	test_refusals();
	test_long_lists();
	test_create_decoded();
	test_facts();
	test_scratch_bytes();
	return check_done();
}
