/* Table-driven tests of the policy engine (lib/policy/policy.h): every
 * enforcement point, every rule kind, candidate narrowing, rollback, regex
 * anchoring, environment/capability dropping, mount lists (exact, ordered,
 * optional mounts), seccomp values and resource bounds. Each step is one decision
 * whose allowed/denied outcome AND reason fields are asserted. JSON in this
 * file uses ' for " and ` for ' (converted at run time) to stay readable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"
#include "policy.h"
#include "request.h"

/* The step tables leave trailing fields (absent, after) to their zero
 * defaults on purpose. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* tests/data/policy/sample.json */
static const char sample_policy[] =
	"{\n"
	"  'version': '1',\n"
	"  'framework': {\n"
	"    'allow_properties_access': true,\n"
	"    'allow_dump_stacks': false,\n"
	"    'allow_runtime_logging': false,\n"
	"    'allow_environment_variable_dropping': false,\n"
	"    'allow_unencrypted_scratch': false,\n"
	"    'allow_capability_dropping': false\n"
	"  },\n"
	"  'containers': [\n"
	"    {\n"
	"      'name': 'web',\n"
	"      'layers': ['1111111111111111111111111111111111111111111111111111111111111111',\n"
	"                 '2222222222222222222222222222222222222222222222222222222222222222'],\n"
	"      'argv': ['/bin/web', '--port', '80'],\n"
	"      'env': [\n"
	"        {'rule': 'PATH=/usr/bin:/bin'},\n"
	"        {'rule': 'PORT=[0-9]+', 'strategy': 'regex', 'required': true},\n"
	"        {'rule': 'TERM=xterm'}\n"
	"      ],\n"
	"      'working_dir': '/srv',\n"
	"      'mounts': [\n"
	"        {'source': 'sandbox:///tmp/data/.+', 'source_strategy': 'regex', 'destination': '/data',\n"
	"         'type': 'bind', 'options': ['rbind', 'ro']}\n"
	"      ],\n"
	"      'user': {'uid': 1000, 'gid': 1000, 'umask': '0022'},\n"
	"      'capabilities': {\n"
	"        'bounding': ['CAP_NET_BIND_SERVICE', 'CAP_CHOWN'],\n"
	"        'effective': ['CAP_NET_BIND_SERVICE'],\n"
	"        'inheritable': [],\n"
	"        'permitted': ['CAP_NET_BIND_SERVICE'],\n"
	"        'ambient': []\n"
	"      },\n"
	"      'no_new_privileges': true,\n"
	"      'signals': [15],\n"
	"      'exec_processes': [{'argv': ['/bin/sh'], 'signals': [9]}]\n"
	"    },\n"
	"    {\n"
	"      'name': 'web-debug',\n"
	"      'layers': ['1111111111111111111111111111111111111111111111111111111111111111',\n"
	"                 '2222222222222222222222222222222222222222222222222222222222222222'],\n"
	"      'argv': ['/bin/web', '--port', '80'],\n"
	"      'env': [\n"
	"        {'rule': 'PATH=/usr/bin:/bin'},\n"
	"        {'rule': 'PORT=[0-9]+', 'strategy': 'regex', 'required': true},\n"
	"        {'rule': 'DEBUG=1'}\n"
	"      ],\n"
	"      'working_dir': '/srv',\n"
	"      'mounts': [\n"
	"        {'source': 'sandbox:///tmp/data/.+', 'source_strategy': 'regex', 'destination': '/data',\n"
	"         'type': 'bind', 'options': ['rbind', 'ro']}\n"
	"      ],\n"
	"      'user': {'uid': 1000, 'gid': 1000, 'umask': '0022'},\n"
	"      'capabilities': {\n"
	"        'bounding': ['CAP_NET_BIND_SERVICE', 'CAP_CHOWN'],\n"
	"        'effective': ['CAP_NET_BIND_SERVICE'],\n"
	"        'inheritable': [],\n"
	"        'permitted': ['CAP_NET_BIND_SERVICE'],\n"
	"        'ambient': []\n"
	"      },\n"
	"      'no_new_privileges': true,\n"
	"      'allow_stdio_access': true,\n"
	"      'signals': [15, 2],\n"
	"      'exec_processes': [{'argv': ['/bin/bash'], 'signals': [9, 15]}]\n"
	"    },\n"
	"    {\n"
	"      'name': 'db',\n"
	"      'layers': ['3333333333333333333333333333333333333333333333333333333333333333'],\n"
	"      'argv': ['/usr/bin/db'],\n"
	"      'env': [\n"
	"        {'rule': 'DB_(HOST|PORT)=.*', 'strategy': 'regex'},\n"
	"        {'rule': 'A=1|B=2', 'strategy': 'regex'}\n"
	"      ],\n"
	"      'working_dir': '/',\n"
	"      'user': {'name': 'postgres', 'group': 'postgres', 'umask': '0077'},\n"
	"      'capabilities': {'bounding': [], 'effective': [], 'inheritable': [], 'permitted': [], 'ambient': []},\n"
	"      'allow_elevated': true\n"
	"    }\n"
	"  ],\n"
	"  'external_processes': [\n"
	"    {'argv': ['/bin/ls', '-l'], 'env': [{'rule': 'PATH=/bin'}], 'working_dir': '/'}\n"
	"  ]\n"
	"}\n";

/* Mount lists and seccomp. Each container has its own layers, so an
 * overlay's candidates are exactly one container (the last two share theirs
 * and differ only in "seccomp"). */
#define MP_REST                                                                                        \
	"      'argv': ['/bin/app'],\n"                                                                \
	"      'working_dir': '/',\n"                                                                  \
	"      'user': {'uid': 0, 'gid': 0, 'umask': '0022'},\n"                                       \
	"      'capabilities': {'bounding': [], 'effective': [], 'inheritable': [], 'permitted': [], " \
	"'ambient': []}\n"
static const char mounts_policy[] =
	"{\n"
	"  'version': '1',\n"
	"  'containers': [\n"
	"    {\n"
	"      'name': 'etc-guard',\n"
	"      'layers': ['4444444444444444444444444444444444444444444444444444444444444444'],\n"
	"      'mounts': [\n"
	"        {'source': 'tmpfs', 'destination': '/etc', 'type': 'tmpfs', 'options': ['nosuid', 'ro']},\n"
	"        {'source': 'sandbox:///data/.+', 'source_strategy': 'regex', 'destination': '/data',\n"
	"         'type': 'bind', 'options': ['rbind', 'ro'], 'optional': true},\n"
	"        {'source': 'tmpfs', 'destination': '/run', 'type': 'tmpfs', 'options': ['nosuid'], 'optional': "
	"false},\n"
	"        {'source': 'tmpfs', 'destination': '/tmp', 'type': 'tmpfs', 'options': [], 'optional': true}\n"
	"      ],\n" MP_REST "    },\n"
	"    {\n"
	"      'name': 'stacked',\n"
	"      'layers': ['5555555555555555555555555555555555555555555555555555555555555555'],\n"
	"      'mounts': [\n"
	"        {'source': 'tmpfs', 'destination': '/x', 'type': 'tmpfs', 'options': ['size=1m']},\n"
	"        {'source': 'tmpfs', 'destination': '/x', 'type': 'tmpfs', 'options': ['size=1m']}\n"
	"      ],\n" MP_REST "    },\n"
	"    {\n"
	"      'name': 'either',\n"
	"      'layers': ['6666666666666666666666666666666666666666666666666666666666666666'],\n"
	"      'mounts': [\n"
	"        {'source': 'sandbox:///.+', 'source_strategy': 'regex', 'destination': '/y', 'type': 'bind',\n"
	"         'options': ['ro'], 'optional': true},\n"
	"        {'source': 'sandbox:///y', 'destination': '/y', 'type': 'bind', 'options': ['ro']}\n"
	"      ],\n" MP_REST "    },\n"
	"    {\n"
	"      'name': 'filtered',\n"
	"      'layers': ['7777777777777777777777777777777777777777777777777777777777777777'],\n"
	"      'seccomp': {'profile': 'default', 'allow': ['ptrace', 'userfaultfd'], 'deny': ['chmod', "
	"'fchmod']},\n" MP_REST "    },\n"
	"    {\n"
	"      'name': 'unfiltered',\n"
	"      'layers': ['7777777777777777777777777777777777777777777777777777777777777777'],\n"
	"      'seccomp': {'profile': 'unconfined'},\n" MP_REST "    }\n"
	"  ]\n"
	"}\n";

/* Resource bounds ("resources"): one bounded container, two candidates of
 * the same layers with different bounds, one without bounds (the defaults
 * bound) and one that bounds only pids_max, above the default. The first
 * three also bound their writable layer (scratch_max). */
static const char resources_policy[] =
	"{\n"
	"  'version': '1',\n"
	"  'containers': [\n"
	"    {\n"
	"      'name': 'bounded',\n"
	"      'layers': ['4444444444444444444444444444444444444444444444444444444444444444'],\n"
	"      'resources': {'memory_max': 33554432, 'pids_max': 64, 'scratch_max': 16777216},\n" MP_REST "    },\n"
	"    {\n"
	"      'name': 'small',\n"
	"      'layers': ['5555555555555555555555555555555555555555555555555555555555555555'],\n"
	"      'signals': [15],\n"
	"      'resources': {'memory_max': 67108864, 'pids_max': 128, 'scratch_max': 67108864},\n" MP_REST "    },\n"
	"    {\n"
	"      'name': 'large',\n"
	"      'layers': ['5555555555555555555555555555555555555555555555555555555555555555'],\n"
	"      'signals': [9],\n"
	"      'resources': {'memory_max': 1073741824, 'pids_max': 4096, 'scratch_max': 1073741824},\n" MP_REST
	"    },\n"
	"    {\n"
	"      'name': 'defaults',\n"
	"      'layers': ['6666666666666666666666666666666666666666666666666666666666666666'],\n" MP_REST "    },\n"
	"    {\n"
	"      'name': 'pids-only',\n"
	"      'layers': ['7777777777777777777777777777777777777777777777777777777777777777'],\n"
	"      'resources': {'pids_max': 2048},\n" MP_REST "    }\n"
	"  ]\n"
	"}\n";

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"
#define H3 "3333333333333333333333333333333333333333333333333333333333333333"
#define H9 "9999999999999999999999999999999999999999999999999999999999999999"

#define H4 "4444444444444444444444444444444444444444444444444444444444444444"
#define H5 "5555555555555555555555555555555555555555555555555555555555555555"
#define H6 "6666666666666666666666666666666666666666666666666666666666666666"
#define H7 "7777777777777777777777777777777777777777777777777777777777777777"
/* create_container for mounts_policy's containers. */
#define MP_CREATE_NO_MOUNTS(cid, extra)                                                                     \
	"{'op':'create_container','container_id':'" cid "','argv':['/bin/app'],'env':[],'working_dir':'/'," \
	"'user':{'uid':0,'gid':0,'umask':'0022'},"                                                          \
	"'capabilities':{'bounding':[],'effective':[],'inheritable':[],'permitted':[],'ambient':[]}" extra "}"
/* mount_overlay on a scratch, with the guest's size fact. */
#define SOVERLAY(cid, layers, bytes)                                                                \
	"{'op':'mount_overlay','container_id':'" cid "','target':'/run/containers/" cid "/rootfs'," \
	"'layers':[" layers "],'scratch':'/run/scratch/s','upper_bytes':" #bytes "}"
#define MP_CREATE(cid, mounts, extra) MP_CREATE_NO_MOUNTS(cid, ",'mounts':[" mounts "]" extra)
#define M_ETC "{'source':'tmpfs','destination':'/etc','type':'tmpfs','options':['ro','nosuid']}"
#define M_ETC_RW "{'source':'tmpfs','destination':'/etc','type':'tmpfs','options':['nosuid','rw']}"
#define M_DATA "{'source':'sandbox:///data/v1','destination':'/data','type':'bind','options':['rbind','ro']}"
#define M_DATA_HOST "{'source':'/etc','destination':'/data','type':'bind','options':['rbind','ro']}"
#define M_RUN "{'source':'tmpfs','destination':'/run','type':'tmpfs','options':['nosuid']}"
#define M_TMP "{'source':'tmpfs','destination':'/tmp','type':'tmpfs','options':[]}"
#define M_PROC "{'source':'/proc','destination':'/host-proc','type':'bind','options':['rbind']}"
#define M_X "{'source':'tmpfs','destination':'/x','type':'tmpfs','options':['size=1m']}"
#define M_Y "{'source':'sandbox:///y','destination':'/y','type':'bind','options':['ro']}"
#define M_Z "{'source':'sandbox:///z','destination':'/y','type':'bind','options':['ro']}"
#define SC(body) ",'seccomp':{" body "}"
#define RES(body) ",'resources':{" body "}"
#define SC_FILTERED "'profile':'default','allow':['ptrace','userfaultfd'],'deny':['chmod','fchmod']"
/* Requests used by many scenarios. */
#define MOUNT(name, hash) "{'op':'mount_device','target':'/run/layers/" name "','device_hash':'" hash "'}"
#define UNMOUNT(name) "{'op':'unmount_device','target':'/run/layers/" name "'}"
#define OVERLAY(cid, layers)                                                                        \
	"{'op':'mount_overlay','container_id':'" cid "','target':'/run/containers/" cid "/rootfs'," \
	"'layers':[" layers "]}"
#define CAPS_OK                                                                                  \
	"{'bounding':['CAP_NET_BIND_SERVICE','CAP_CHOWN'],'effective':['CAP_NET_BIND_SERVICE']," \
	"'inheritable':[],'permitted':['CAP_NET_BIND_SERVICE'],'ambient':[]}"
#define MOUNTS_OK "[{'source':'sandbox:///tmp/data/x','destination':'/data','type':'bind','options':['rbind','ro']}]"
#define USER_OK "{'uid':1000,'gid':1000,'umask':'0022'}"
#define ENV_OK "'PATH=/usr/bin:/bin','PORT=8080'"
/* create_container for c1 with each part replaceable. */
#define CREATE(cid, argv, env, wd, mounts, user, caps, extra)                                  \
	"{'op':'create_container','container_id':'" cid "','argv':[" argv "],'env':[" env "]," \
	"'working_dir':'" wd "','mounts':" mounts ",'user':" user ",'capabilities':" caps      \
	",'no_new_privileges':true" extra "}"
#define ARGV_OK "'/bin/web','--port','80'"
#define CREATE_OK(cid) CREATE(cid, ARGV_OK, ENV_OK, "/srv", MOUNTS_OK, USER_OK, CAPS_OK, "")
#define EXEC(cid, pid, argv, env)                                                                                 \
	"{'op':'exec_in_container','container_id':'" cid "','process_id':'" pid "','argv':[" argv "],'env':[" env \
	"],'working_dir':'/srv'}"
#define SIGNAL(cid, extra, sig) "{'op':'signal_process','container_id':'" cid "'" extra ",'signal':" #sig "}"

enum after { COMMIT, ABORT, LEAVE };

struct step {
	const char *req;
	int allowed;
	const char *want[4]; /* substrings of the reason */
	const char *absent;  /* must not appear in the reason */
	enum after after;    /* for allowed steps; default: commit */
};

enum variant {
	SAMPLE,           /* tests/data/policy/sample.json */
	SAMPLE_DROPPING,  /* the same with every allow_* flag on */
	MOUNTS_POLICY,    /* mounts_policy below: mount lists and seccomp */
	RESOURCES_POLICY, /* resources_policy: resource bounds */
};

struct scenario {
	const char *name;
	enum variant policy;
	struct step steps[32];
};

static const struct scenario scenarios[] = {
	{"device mounts",
	 SAMPLE,
	 {
		 {MOUNT("l1", H1), 1, {"'op':'mount_device','allowed':true", "'failed':[]"}},
		 {MOUNT("l1", H2), 0, {"'rule':'state','field':'target'", "a device is already mounted there"}},
		 {MOUNT("x", H9),
		  0,
		  {"'rule':'layers','field':'device_hash','value':'" H9 "'", "not a layer of any container"}},
		 {"{'op':'mount_device','target':'/tmp/evil','device_hash':'" H2 "'}",
		  0,
		  {"'rule':'target'", "must be /run/layers/NAME"}},
		 {"{'op':'mount_device','target':'/run/layers/../etc','device_hash':'" H2 "'}",
		  0,
		  {"'rule':'target'", "'value':'/run/layers/../etc'"}},
		 {"{'op':'mount_device','target':'/run/layers/..','device_hash':'" H2 "'}", 0, {"'rule':'target'"}},
		 {MOUNT("l2", H2), 1, {"'allowed':true"}},
		 {UNMOUNT("l2"), 1, {"'op':'unmount_device','allowed':true"}},
		 {UNMOUNT("l2"), 0, {"no device is mounted there"}},
		 {"{'op':'mount_device','target':'/run/layers/u','device_hash':'"
		  "AB" H1 "'}",
		  0,
		  {"'error':'$.device_hash: expected 64 lowercase hex digits (a SHA-256)'"}},
		 {"{'op':'mount_device','target':'/run/layers/u','device_hash':'" H1 "','extra':1}",
		  0,
		  {"$.extra: unknown key"}},
		 {"{'op':'mount_device','target':'/run/layers/u'}", 0, {"$: missing required key \\\"device_hash\\\""}},
		 {"{'op':'mount_devices'}", 0, {"'op':null", "unknown \\\"op\\\""}},
		 {"[1]", 0, {"'error':'a request must be a JSON object'"}},
		 {NULL, 0, {NULL}},
	 }},
	{"overlays, create, narrowing, signals, shutdown",
	 SAMPLE,
	 {
		 {MOUNT("l1", H1), 1, {NULL}},
		 {MOUNT("l2", H2), 1, {NULL}},
		 {MOUNT("l3", H3), 1, {NULL}},
		 {OVERLAY("c1", "'/run/layers/l1','/run/layers/l2'"), 1, {"'candidates':[0,1]"}},
		 /* Wrong order: the reason says which layer differs for each container. */
		 {OVERLAY("c2", "'/run/layers/l2','/run/layers/l1'"),
		  0,
		  {"'container':0,'name':'web','failed':[{'rule':'layers','field':'layers[0]','value':'" H2
		   "','detail':'the policy expects " H1 "'}]",
		   "'container':2,'name':'db'", "match no container"}},
		 {OVERLAY("c2", "'/run/layers/l1','/run/layers/nope'"),
		  0,
		  {"'field':'layers[1]','value':'/run/layers/nope','detail':'no device is mounted there'"}},
		 {OVERLAY("c2", "'/run/layers/l1'"),
		  0,
		  {"'field':'layers','value':1,'detail':'fewer layers than the policy"}},
		 {"{'op':'mount_overlay','container_id':'c2','target':'/run/containers/c3/rootfs','layers':['/run/"
		  "layers/l3']}",
		  0,
		  {"'rule':'target'", "must be /run/containers/CONTAINER_ID/rootfs"}},
		 {OVERLAY("c1", "'/run/layers/l1','/run/layers/l2'"),
		  0,
		  {"an overlay is already mounted there", "this container already has a root file system"}},
		 {UNMOUNT("l1"),
		  0,
		  {"'value':'/run/containers/c1/rootfs','detail':'the device is a layer of this mounted overlay'"}},
		 {CREATE_OK("c1"), 1, {"'matched':[0,1]", "'drop_env':[]", "'drop_capabilities':{'bounding':[],"}},
		 {CREATE_OK("c1"), 0, {"a container with this id already exists"}},
		 {CREATE_OK("c9"), 0, {"no root file system (overlay) is mounted for it"}},
		 /* exec of /bin/sh: only "web" allows it, so c1 narrows to [0]. */
		 {EXEC("c1", "p1", "'/bin/sh'", "'PORT=1'"),
		  1,
		  {"'matched':[0]", "'container':1,'name':'web-debug','failed':[{'rule':'exec_processes'"}},
		 {EXEC("c1", "p1", "'/bin/sh'", "'PORT=1'"), 0, {"a process with this id already exists"}},
		 /* /bin/bash would have been fine for web-debug, which is no longer a candidate. */
		 {EXEC("c1", "p2", "'/bin/bash'", "'PORT=1'"),
		  0,
		  {"'candidates':[{'container':0,'name':'web','failed':[{'rule':'exec_processes','field':'argv','value'"
		   ":'/bin/bash'"},
		  "web-debug"},
		 {SIGNAL("c1", ",'process_id':'p1'", 9), 1, {"'process_id':'p1'", "'matched':[0]"}},
		 {SIGNAL("c1", ",'process_id':'p1'", 15),
		  0,
		  {"'rule':'signals','field':'signal','value':15,'detail':'not an allowed signal of this exec "
		   "process'"}},
		 {SIGNAL("c1", "", 2),
		  0,
		  {"'value':2,'detail':'not an allowed signal of the container`s init process'"},
		  "web-debug"},
		 {SIGNAL("c1", "", 15), 1, {"'allowed':true"}},
		 {SIGNAL("c1", ",'process_id':'nope'", 15), 0, {"no such process in this container"}},
		 {SIGNAL("c1", "", 65), 0, {"$.signal: integer 65 out of range [1, 64]"}},
		 {"{'op':'unmount_overlay','target':'/run/containers/c1/rootfs'}",
		  0,
		  {"the container is still running"}},
		 {"{'op':'shutdown_container','container_id':'c1'}", 1, {"'op':'shutdown_container','allowed':true"}},
		 {EXEC("c1", "p3", "'/bin/sh'", "'PORT=1'"), 0, {"no such running container"}},
		 {NULL, 0, {NULL}},
	 }},
	{"overlay teardown",
	 SAMPLE,
	 {
		 {MOUNT("l1", H1), 1, {NULL}},
		 {MOUNT("l2", H2), 1, {NULL}},
		 {OVERLAY("c1", "'/run/layers/l1','/run/layers/l2'"), 1, {NULL}},
		 {CREATE_OK("c1"), 1, {NULL}},
		 {"{'op':'shutdown_container','container_id':'c1'}", 1, {NULL}},
		 {"{'op':'shutdown_container','container_id':'c1'}", 0, {"no such running container"}},
		 {"{'op':'unmount_overlay','target':'/run/containers/c1/rootfs'}", 1, {"'allowed':true"}},
		 {"{'op':'unmount_overlay','target':'/run/containers/c1/rootfs'}", 0, {"no overlay is mounted there"}},
		 {UNMOUNT("l1"), 1, {NULL}},
		 /* The id can be used again once its root file system is gone. */
		 {OVERLAY("c1", "'/run/layers/l2'"),
		  0,
		  {"'field':'layers[0]','value':'" H2 "'"},
		  "already has a root file system"},
		 {NULL, 0, {NULL}},
	 }},
	{"create_container rules",
	 SAMPLE,
	 {
		 {MOUNT("l1", H1), 1, {NULL}},
		 {MOUNT("l2", H2), 1, {NULL}},
		 {OVERLAY("c1", "'/run/layers/l1','/run/layers/l2'"), 1, {NULL}},
		 {CREATE("c1", "'/bin/web','--port','81'", ENV_OK, "/srv", MOUNTS_OK, USER_OK, CAPS_OK, ""),
		  0,
		  {"'rule':'argv','field':'argv[2]','value':'81','detail':'80'"}},
		 {CREATE("c1", "'/bin/web'", ENV_OK, "/srv", MOUNTS_OK, USER_OK, CAPS_OK, ""),
		  0,
		  {"'field':'argv','detail':'the policy has 3 arguments, the request 1'"}},
		 {CREATE("c1", ARGV_OK, ENV_OK ",'SECRET=hunter2'", "/srv", MOUNTS_OK, USER_OK, CAPS_OK, ""),
		  0,
		  {"'rule':'env','field':'env[2]','value':'SECRET=<redacted>','detail':'no environment rule allows "
		   "this variable'"},
		  "hunter2"},
		 {CREATE("c1", ARGV_OK, "'PATH=/usr/bin:/bin'", "/srv", MOUNTS_OK, USER_OK, CAPS_OK, ""),
		  0,
		  {"'rule':'env_required','field':'env','value':'PORT=[0-9]+'"}},
		 /* Anchoring: a regex rule must match the whole variable. */
		 {CREATE("c1", ARGV_OK, "'PORT=80x'", "/srv", MOUNTS_OK, USER_OK, CAPS_OK, ""),
		  0,
		  {"'field':'env[0]','value':'PORT=<redacted>'", "'rule':'env_required'"}},
		 {CREATE("c1", ARGV_OK, "'XPORT=80','PORT=1'", "/srv", MOUNTS_OK, USER_OK, CAPS_OK, ""),
		  0,
		  {"'field':'env[0]','value':'XPORT=<redacted>'"}},
		 {CREATE("c1", ARGV_OK, "'PATH=/usr/bin:/bin:/x','PORT=1'", "/srv", MOUNTS_OK, USER_OK, CAPS_OK, ""),
		  0,
		  {"'field':'env[0]','value':'PATH=<redacted>'"},
		  "/x"},
		 {CREATE("c1", ARGV_OK, ENV_OK, "/tmp", MOUNTS_OK, USER_OK, CAPS_OK, ""),
		  0,
		  {"'rule':'working_dir','field':'working_dir','value':'/tmp','detail':'/srv'"}},
		 {CREATE("c1", ARGV_OK, ENV_OK, "/srv",
			 "[{'source':'/etc','destination':'/etc','type':'bind','options':[]}]", USER_OK, CAPS_OK, ""),
		  0,
		  {"'rule':'mounts','field':'mounts[0].destination','value':'/etc','detail':'the policy has no mount "
		   "at this destination'"}},
		 {CREATE("c1", ARGV_OK, ENV_OK, "/srv",
			 "[{'source':'sandbox:///tmp/data/x','destination':'/"
			 "data','type':'bind','options':['rbind','rw']}]",
			 USER_OK, CAPS_OK, ""),
		  0,
		  {"'field':'mounts[0].options','value':'/data'"}},
		 {CREATE("c1", ARGV_OK, ENV_OK, "/srv",
			 "[{'source':'sandbox:///tmp/data/x','destination':'/"
			 "data','type':'bind','options':['rbind','ro','ro']}]",
			 USER_OK, CAPS_OK, ""),
		  0,
		  {"'field':'mounts[0].options'"}},
		 /* The source regex is anchored too: a prefix match is not enough. */
		 {CREATE("c1", ARGV_OK, ENV_OK, "/srv",
			 "[{'source':'/evil/sandbox:///tmp/data/x','destination':'/"
			 "data','type':'bind','options':['rbind','ro']}]",
			 USER_OK, CAPS_OK, ""),
		  0,
		  {"'field':'mounts[0].source','value':'/evil/sandbox:///tmp/data/x'"}},
		 {CREATE("c1", ARGV_OK, ENV_OK, "/srv",
			 "[{'source':'sandbox:///tmp/data/x','destination':'/"
			 "data','type':'tmpfs','options':['rbind','ro']}]",
			 USER_OK, CAPS_OK, ""),
		  0,
		  {"'field':'mounts[0].type','value':'tmpfs'"}},
		 {CREATE("c1", ARGV_OK, ENV_OK, "/srv", MOUNTS_OK, "{'uid':0,'gid':1000,'umask':'0022'}", CAPS_OK, ""),
		  0,
		  {"'rule':'user','field':'user.uid','value':0,'detail':'the policy requires uid 1000'"}},
		 {CREATE("c1", ARGV_OK, ENV_OK, "/srv", MOUNTS_OK, "{'uid':1000,'gid':0,'umask':'0000'}", CAPS_OK, ""),
		  0,
		  {"'field':'user.gid','value':0", "'field':'user.umask','value':'0000','detail':'0022'"}},
		 {CREATE("c1", ARGV_OK, ENV_OK, "/srv", MOUNTS_OK, "{'uid':-1,'gid':0,'umask':'0000'}", CAPS_OK, ""),
		  0,
		  {"'error':'$.user.uid: integer -1 out of range"}},
		 {CREATE("c1", ARGV_OK, "'NOEQUALS'", "/srv", MOUNTS_OK, USER_OK, CAPS_OK, ""),
		  0,
		  {"'error':'$.env[0]: expected NAME=VALUE'"}},
		 {CREATE("c1", ARGV_OK, ENV_OK, "/srv", MOUNTS_OK, USER_OK,
			 "{'bounding':['CAP_NET_BIND_SERVICE','CAP_CHOWN','CAP_SYS_ADMIN'],'effective':['CAP_NET_BIND_"
			 "SERVICE'],'inheritable':[],'permitted':['CAP_NET_BIND_SERVICE'],'ambient':[]}",
			 ""),
		  0,
		  {"'rule':'capabilities','field':'capabilities.bounding','value':'CAP_SYS_ADMIN','detail':'not in the "
		   "policy`s set'"}},
		 {CREATE("c1", ARGV_OK, ENV_OK, "/srv", MOUNTS_OK, USER_OK,
			 "{'bounding':['CAP_NET_BIND_SERVICE'],'effective':['CAP_NET_BIND_SERVICE'],'inheritable':[],'"
			 "permitted':['CAP_NET_BIND_SERVICE'],'ambient':[]}",
			 ""),
		  0,
		  {"'field':'capabilities.bounding','value':'CAP_CHOWN','detail':'in the policy`s set but not "
		   "requested"}},
		 {"{'op':'create_container','container_id':'c1','argv':[" ARGV_OK "],'env':[" ENV_OK
		  "],'working_dir':'/srv','mounts':" MOUNTS_OK ",'user':" USER_OK ",'capabilities':" CAPS_OK "}",
		  0,
		  {"'rule':'no_new_privileges','field':'no_new_privileges'"}},
		 {CREATE("c1", ARGV_OK, ENV_OK, "/srv", MOUNTS_OK, USER_OK, CAPS_OK, ",'privileged':true"),
		  0,
		  {"'rule':'allow_elevated','field':'privileged','value':'true'"}},
		 /* Several failures of one candidate are all listed. */
		 {CREATE("c1", "'/bin/x'", "'PORT=1'", "/", "[]", USER_OK, CAPS_OK, ""),
		  0,
		  {"'field':'argv'", "'field':'working_dir','value':'/'"}},
		 /* stdio: only web-debug allows it, so c1 is created as web-debug. */
		 {CREATE("c1", ARGV_OK, ENV_OK, "/srv",
			 "[{'source':'sandbox:///tmp/data/y','destination':'/"
			 "data','type':'bind','options':['ro','rbind']}]",
			 USER_OK, CAPS_OK, ",'stdio':true"),
		  1,
		  {"'matched':[1]", "'container':0,'name':'web','failed':[{'rule':'allow_stdio_access'"}},
		 {NULL, 0, {NULL}},
	 }},
	{"rollback",
	 SAMPLE,
	 {
		 {MOUNT("l1", H1), 1, {NULL}, NULL, ABORT},
		 {UNMOUNT("l1"), 0, {"no device is mounted there"}},
		 {MOUNT("l1", H1), 1, {NULL}},
		 {UNMOUNT("l1"), 1, {NULL}, NULL, ABORT},
		 {MOUNT("l1", H1), 0, {"a device is already mounted there"}},
		 {MOUNT("l2", H2), 1, {NULL}, NULL, LEAVE},
		 {MOUNT("l3", H3), 0, {"'error':'a previous allowed decision is pending"}},
		 {MOUNT("l3", H3), 0, {"pending"}, NULL, ABORT}, /* the harness aborts l2 here */
		 {MOUNT("l2", H2), 1, {NULL}},
		 {OVERLAY("c1", "'/run/layers/l1','/run/layers/l2'"), 1, {NULL}, NULL, ABORT},
		 {UNMOUNT("l1"), 1, {NULL}, NULL, ABORT}, /* no overlay holds it after the abort */
		 {OVERLAY("c1", "'/run/layers/l1','/run/layers/l2'"), 1, {NULL}},
		 /* Created as web-debug (stdio), aborted: the overlay must be back to [0,1]. */
		 {CREATE("c1", ARGV_OK, ENV_OK, "/srv", MOUNTS_OK, USER_OK, CAPS_OK, ",'stdio':true"),
		  1,
		  {"'matched':[1]"},
		  NULL,
		  ABORT},
		 {CREATE_OK("c1"), 1, {"'matched':[0,1]"}},
		 {EXEC("c1", "p1", "'/bin/sh'", "'PORT=1'"), 1, {"'matched':[0]"}, NULL, ABORT},
		 /* After the abort web-debug is a candidate again and p1 is free. */
		 {EXEC("c1", "p1", "'/bin/bash'", "'PORT=1'"), 1, {"'matched':[1]"}},
		 {SIGNAL("c1", ",'process_id':'p1'", 15), 1, {NULL}, NULL, ABORT},
		 {"{'op':'shutdown_container','container_id':'c1'}", 1, {NULL}, NULL, ABORT},
		 {SIGNAL("c1", "", 2), 1, {"'matched':[1]"}},
		 {"{'op':'shutdown_container','container_id':'c1'}", 1, {NULL}},
		 {"{'op':'unmount_overlay','target':'/run/containers/c1/rootfs'}", 1, {NULL}, NULL, ABORT},
		 {UNMOUNT("l1"), 0, {"the device is a layer of this mounted overlay"}},
		 {NULL, 0, {NULL}},
	 }},
	{"framework flags and scratch",
	 SAMPLE,
	 {
		 {"{'op':'get_properties'}", 1, {"{'op':'get_properties','allowed':true,'failed':[]}"}},
		 {"{'op':'dump_stacks'}",
		  0,
		  {"'rule':'allow_dump_stacks','field':'allow_dump_stacks','value':'false'"}},
		 {"{'op':'runtime_logging'}", 0, {"'rule':'allow_runtime_logging'"}},
		 {"{'op':'get_properties','x':1}", 0, {"$.x: unknown key"}},
		 {"{'op':'scratch_mount','target':'/run/scratch/s1','encrypted':true}", 1, {"'allowed':true"}},
		 {"{'op':'scratch_mount','target':'/run/scratch/s1','encrypted':true}",
		  0,
		  {"scratch space is already mounted there"}},
		 {"{'op':'scratch_mount','target':'/run/scratch/s2','encrypted':false}",
		  0,
		  {"'rule':'allow_unencrypted_scratch','field':'encrypted'"}},
		 {"{'op':'scratch_mount','target':'/run/other','encrypted':true}", 0, {"must be /run/scratch/NAME"}},
		 {"{'op':'scratch_unmount','target':'/run/scratch/s1'}", 1, {NULL}},
		 {"{'op':'scratch_unmount','target':'/run/scratch/s1'}", 0, {"no scratch space is mounted there"}},
		 {NULL, 0, {NULL}},
	 }},
	{"external processes",
	 SAMPLE,
	 {
		 {"{'op':'exec_external','argv':['/bin/ls','-l'],'env':['PATH=/bin'],'working_dir':'/'}",
		  1,
		  {"'matched':[0]", "'drop_env':[]"}},
		 {"{'op':'exec_external','argv':['/bin/ls','-la'],'env':['PATH=/bin'],'working_dir':'/'}",
		  0,
		  {"'external_process':0", "'field':'argv[1]','value':'-la','detail':'-l'"}},
		 {"{'op':'exec_external','argv':['/bin/ls','-l'],'env':['PATH=/bin','LD_PRELOAD=/"
		  "x.so'],'working_dir':'/'}",
		  0,
		  {"'value':'LD_PRELOAD=<redacted>'"},
		  "x.so"},
		 {"{'op':'exec_external','argv':['/bin/ls','-l'],'env':[],'working_dir':'/tmp'}",
		  0,
		  {"'field':'working_dir'"}},
		 {"{'op':'exec_external','argv':['/bin/ls','-l'],'working_dir':'/','stdio':true}",
		  0,
		  {"'rule':'allow_stdio_access'"}},
		 {"{'op':'exec_external','argv':[],'working_dir':'/'}", 0, {"$.argv: expected 1 to 1024 strings"}},
		 {NULL, 0, {NULL}},
	 }},
	{"elevated container with anchored alternation",
	 SAMPLE,
	 {
		 {MOUNT("l3", H3), 1, {NULL}},
		 {OVERLAY("db", "'/run/layers/l3'"), 1, {"'candidates':[2]"}},
		 {"{'op':'create_container','container_id':'db','argv':['/usr/bin/db'],'env':['A=1x'],'working_dir':'/"
		  "','user':{'uid':70,'gid':70,'name':'postgres','group':'postgres','umask':'0077'},'capabilities':{'"
		  "bounding':[],'effective':[],'inheritable':[],'permitted':[],'ambient':[]},'privileged':true}",
		  0,
		  {"'field':'env[0]','value':'A=<redacted>'"}},
		 {"{'op':'create_container','container_id':'db','argv':['/usr/bin/db'],'env':['xB=2'],'working_dir':'/"
		  "','user':{'uid':70,'gid':70,'name':'postgres','group':'postgres','umask':'0077'},'capabilities':{'"
		  "bounding':[],'effective':[],'inheritable':[],'permitted':[],'ambient':[]},'privileged':true}",
		  0,
		  {"'field':'env[0]','value':'xB=<redacted>'"}},
		 {"{'op':'create_container','container_id':'db','argv':['/usr/bin/db'],'env':['A=1'],'working_dir':'/"
		  "','user':{'uid':70,'gid':70,'name':'root','group':'postgres','umask':'0077'},'capabilities':{'"
		  "bounding':[],'effective':[],'inheritable':[],'permitted':[],'ambient':[]}}",
		  0,
		  {"'field':'user.name','value':'root','detail':'postgres'"}},
		 {"{'op':'create_container','container_id':'db','argv':['/usr/bin/"
		  "db'],'env':['A=1','B=2','DB_HOST=h','DB_PORT=5'],'working_dir':'/"
		  "','user':{'uid':70,'gid':70,'name':'postgres','group':'postgres','umask':'0077'},'capabilities':{'"
		  "bounding':[],'effective':[],'inheritable':[],'permitted':[],'ambient':[]},'privileged':true}",
		  1,
		  {"'matched':[2]"}},
		 {SIGNAL("db", "", 15), 0, {"not an allowed signal of the container`s init process"}},
		 {NULL, 0, {NULL}},
	 }},
	{"dropping (environment, capabilities) and permissive flags",
	 SAMPLE_DROPPING,
	 {
		 {"{'op':'dump_stacks'}", 1, {NULL}},
		 {"{'op':'runtime_logging'}", 1, {NULL}},
		 {"{'op':'scratch_mount','target':'/run/scratch/s2','encrypted':false}", 1, {NULL}},
		 {MOUNT("l1", H1), 1, {NULL}},
		 {MOUNT("l2", H2), 1, {NULL}},
		 {OVERLAY("c1", "'/run/layers/l1','/run/layers/l2'"), 1, {NULL}},
		 {CREATE("c1", ARGV_OK, ENV_OK ",'EXTRA=secret'", "/srv", MOUNTS_OK, USER_OK, CAPS_OK, ""),
		  1,
		  {"'drop_env':[{'index':2,'name':'EXTRA'}]", "'matched':[0,1]"},
		  "secret",
		  ABORT},
		 /* Required rules still apply; dropped variables do not satisfy them. */
		 {CREATE("c1", ARGV_OK, "'PATH=/usr/bin:/bin','PORTX=1'", "/srv", MOUNTS_OK, USER_OK, CAPS_OK, ""),
		  0,
		  {"'rule':'env_required'"}},
		 {CREATE("c1", ARGV_OK, ENV_OK, "/srv", MOUNTS_OK, USER_OK,
			 "{'bounding':['CAP_SYS_ADMIN','CAP_NET_BIND_SERVICE'],'effective':[],'inheritable':[],'"
			 "permitted':['CAP_NET_BIND_SERVICE'],'ambient':[]}",
			 ""),
		  1,
		  {"'drop_capabilities':{'bounding':['CAP_SYS_ADMIN'],'effective':[],"},
		  NULL,
		  ABORT},
		 /* web drops DEBUG, web-debug drops nothing: the zero-drop plan wins
		 * and only web-debug survives. */
		 {CREATE("c1", ARGV_OK, ENV_OK ",'DEBUG=1'", "/srv", MOUNTS_OK, USER_OK, CAPS_OK, ""),
		  1,
		  {"'matched':[1],'drop_env':[]"}},
		 {NULL, 0, {NULL}},
	 }},
	/* Mount lists: the request's mounts are the policy container's, in its
	 * order; only "optional" ones may be left out. Each denied step names
	 * the host's attack it stands for. */
	{"mounts: exactly the policy's, in its order",
	 MOUNTS_POLICY,
	 {
		 {MOUNT("l4", H4), 1, {NULL}},
		 {OVERLAY("m1", "'/run/layers/l4'"), 1, {"'candidates':[0]"}},
		 /* Every policy mount, in order (options compare as a set). */
		 {MP_CREATE("m1", M_ETC "," M_DATA "," M_RUN "," M_TMP, ""), 1, {"'matched':[0]"}, NULL, ABORT},
		 /* Only optional mounts left out; the others keep their order. */
		 {MP_CREATE("m1", M_ETC "," M_RUN, ""), 1, {"'matched':[0]"}, NULL, ABORT},
		 {MP_CREATE("m1", M_ETC "," M_DATA "," M_RUN, ""), 1, {"'matched':[0]"}, NULL, ABORT},
		 /* Attack: drop the policy's tmpfs over /etc, so the image's (or a
		 * planted) /etc shows through. */
		 {MP_CREATE("m1", M_DATA "," M_RUN "," M_TMP, ""),
		  0,
		  {"'rule':'mounts','field':'mounts','value':'/etc','detail':'the policy requires a mount at this "
		   "destination (not optional) and the request leaves it out'"},
		  "mounts["},
		 /* Attack: drop the last required mount. */
		 {MP_CREATE("m1", M_ETC "," M_DATA, ""), 0, {"'field':'mounts','value':'/run'"}, "'/etc'"},
		 /* Attack: leave out the "mounts" key altogether. */
		 {MP_CREATE_NO_MOUNTS("m1", ""),
		  0,
		  {"'field':'mounts','value':'/etc'", "'field':'mounts','value':'/run'"}},
		 /* Attack: reorder, so that a mount the policy puts later is shadowed
		 * by (or shadows) another. */
		 {MP_CREATE("m1", M_RUN "," M_ETC, ""),
		  0,
		  {"'field':'mounts[1].destination','value':'/etc','detail':'out of order: the policy has this mount "
		   "before mounts[0]"},
		  "'field':'mounts',"},
		 /* Attack: reorder an optional mount after a required one. */
		 {MP_CREATE("m1", M_ETC "," M_TMP "," M_RUN, ""),
		  0,
		  {"'field':'mounts[2].destination','value':'/run','detail':'out of order: the policy has this mount "
		   "before mounts[1]"}},
		 {MP_CREATE("m1", M_ETC "," M_RUN "," M_DATA, ""),
		  0,
		  {"'field':'mounts[2].destination','value':'/data','detail':'out of order: the policy has this mount "
		   "before the request`s previous mounts"}},
		 /* Attack: an extra mount of a host path. */
		 {MP_CREATE("m1", M_ETC "," M_PROC "," M_RUN, ""),
		  0,
		  {"'field':'mounts[1].destination','value':'/host-proc','detail':'the policy has no mount at this "
		   "destination'"},
		  "'field':'mounts',"},
		 /* Attack: a policy mount twice (one request mount per policy mount). */
		 {MP_CREATE("m1", M_ETC "," M_RUN "," M_RUN, ""),
		  0,
		  {"'field':'mounts[2].destination','value':'/run','detail':'an extra mount: the policy has this "
		   "mount, but an earlier request mount already stands for it'"}},
		 /* Attack: /etc writable (a differing option). */
		 {MP_CREATE("m1", M_ETC_RW "," M_RUN, ""),
		  0,
		  {"'field':'mounts[0].options','value':'/etc','detail':'differs from the policy`s mount at this "
		   "destination'"}},
		 /* Attack: a host directory where the policy's optional mount has a
		 * sandbox one (optional does not mean anything goes). */
		 {MP_CREATE("m1", M_ETC "," M_DATA_HOST "," M_RUN, ""),
		  0,
		  {"'field':'mounts[1].source','value':'/etc','detail':'differs from the policy`s mount at this "
		   "destination'"}},
		 /* Malformed: the request cannot mark a mount optional. */
		 {MP_CREATE("m1", "{'source':'tmpfs','destination':'/etc','type':'tmpfs','options':[],'optional':true}",
			    ""),
		  0,
		  {"'error':'$.mounts[0].optional: unknown key"}},
		 {MP_CREATE("m1", M_ETC "," M_RUN, ""), 1, {"'matched':[0]"}},
		 {NULL, 0, {NULL}},
	 }},
	{"mounts: two policy mounts at one destination",
	 MOUNTS_POLICY,
	 {
		 {MOUNT("l5", H5), 1, {NULL}},
		 {OVERLAY("m2", "'/run/layers/l5'"), 1, {"'candidates':[1]"}},
		 /* Attack: one request mount for both of the policy's mounts at /x
		 * (the old membership check allowed it). */
		 {MP_CREATE("m2", M_X, ""),
		  0,
		  {"'field':'mounts','value':'/x','detail':'the policy requires a mount at this destination"}},
		 {MP_CREATE("m2", M_X "," M_X, ""), 1, {"'matched':[1]"}, NULL, ABORT},
		 /* Attack: a third one on top. */
		 {MP_CREATE("m2", M_X "," M_X "," M_X, ""),
		  0,
		  {"'field':'mounts[2].destination','value':'/x','detail':'an extra mount"}},
		 {NULL, 0, {NULL}},
	 }},
	{"mounts: an optional and a required mount at one destination",
	 MOUNTS_POLICY,
	 {
		 {MOUNT("l6", H6), 1, {NULL}},
		 {OVERLAY("m3", "'/run/layers/l6'"), 1, {"'candidates':[2]"}},
		 /* The required mount alone: the optional one (whose regex accepts it
		 * too) is left out. A greedy walk that gives it to the optional
		 * mount would deny it. */
		 {MP_CREATE("m3", M_Y, ""), 1, {"'matched':[2]"}, NULL, ABORT},
		 {MP_CREATE("m3", M_Z "," M_Y, ""), 1, {"'matched':[2]"}, NULL, ABORT},
		 {MP_CREATE("m3", M_Y "," M_Y, ""), 1, {"'matched':[2]"}, NULL, ABORT},
		 /* Attack: only a mount the optional one accepts; the required
		 * sandbox:///y is dropped. */
		 {MP_CREATE("m3", M_Z, ""),
		  0,
		  {"'field':'mounts','value':'/y','detail':'the policy requires a mount at this destination"}},
		 /* Attack: the required one first, then another over it. */
		 {MP_CREATE("m3", M_Y "," M_Z, ""), 0, {"'field':'mounts[1].source','value':'sandbox:///z'"}},
		 {NULL, 0, {NULL}},
	 }},
	/* Seccomp: a create is allowed only by a candidate whose "seccomp"
	 * equals the request's (absent = {"profile":"default"}). */
	{"seccomp: absent is the default profile",
	 MOUNTS_POLICY,
	 {
		 {MOUNT("l4", H4), 1, {NULL}},
		 {OVERLAY("m1", "'/run/layers/l4'"), 1, {NULL}},
		 /* Absent in the policy and the request: the default profile. */
		 {MP_CREATE("m1", M_ETC "," M_RUN, ""), 1, {"'matched':[0]"}, NULL, ABORT},
		 {MP_CREATE("m1", M_ETC "," M_RUN, SC("'profile':'default','allow':[],'deny':[]")),
		  1,
		  {"'matched':[0]"},
		  NULL,
		  ABORT},
		 /* Attack: run the container without a syscall filter. */
		 {MP_CREATE("m1", M_ETC "," M_RUN, SC("'profile':'unconfined'")),
		  0,
		  {"'rule':'seccomp','field':'seccomp.profile','value':'unconfined','detail':'the policy requires the "
		   "\\\"default\\\" profile'"}},
		 /* Attack: loosen the default filter (ptrace allowed). */
		 {MP_CREATE("m1", M_ETC "," M_RUN, SC("'profile':'default','allow':['ptrace']")),
		  0,
		  {"'field':'seccomp.allow','value':'ptrace','detail':'not in the policy`s \\\"allow\\\" list'"}},
		 {MP_CREATE("m1", M_ETC "," M_RUN, SC("'profile':'default','deny':['chmod']")),
		  0,
		  {"'field':'seccomp.deny','value':'chmod','detail':'not in the policy`s \\\"deny\\\" list'"}},
		 {NULL, 0, {NULL}},
	 }},
	{"seccomp: a filtered and an unconfined candidate",
	 MOUNTS_POLICY,
	 {
		 {MOUNT("l7", H7), 1, {NULL}},
		 {OVERLAY("f1", "'/run/layers/l7'"), 1, {"'candidates':[3,4]"}},
		 /* The policy's lists, as given and in another order: sets. Only the
		 * candidate with this value survives. */
		 {MP_CREATE("f1", "", SC(SC_FILTERED)), 1, {"'matched':[3]"}, NULL, ABORT},
		 {MP_CREATE("f1", "",
			    SC("'deny':['fchmod','chmod'],'allow':['userfaultfd','ptrace'],'profile':'default'")),
		  1,
		  {"'matched':[3]", "'container':4,'name':'unfiltered','failed':[{'rule':'seccomp','field':'seccomp."
				    "profile','value':'default'"},
		  NULL,
		  ABORT},
		 /* Attack: drop the tenant's value (absent = default, lists empty). */
		 {MP_CREATE("f1", "", ""),
		  0,
		  {"'field':'seccomp.allow','value':'ptrace','detail':'in the policy`s \\\"allow\\\" list but not "
		   "requested (the lists must be equal)'",
		   "'field':'seccomp.deny','value':'chmod'", "'field':'seccomp.deny','value':'fchmod'"}},
		 /* Attack: drop one of the tenant's denials. */
		 {MP_CREATE("f1", "", SC("'profile':'default','allow':['ptrace','userfaultfd'],'deny':['chmod']")),
		  0,
		  {"'field':'seccomp.deny','value':'fchmod'"},
		  "'value':'chmod'"},
		 /* Attack: add an allowance. */
		 {MP_CREATE("f1", "",
			    SC("'profile':'default','allow':['ptrace','userfaultfd','bpf'],'deny':['chmod','fchmod']")),
		  0,
		  {"'field':'seccomp.allow','value':'bpf','detail':'not in the policy`s"}},
		 /* Attack: a repeated name, so that a list has the policy's length
		 * without its members: malformed. */
		 {MP_CREATE("f1", "", SC("'profile':'default','allow':['ptrace','ptrace'],'deny':['chmod','fchmod']")),
		  0,
		  {"'error':'$.seccomp.allow[1]: \\\"ptrace\\\" is already at index 0 (the list is a set)'"}},
		 /* Malformed: a name the filter's builder does not know. */
		 {MP_CREATE("f1", "", SC("'profile':'default','allow':['ptrace','userfaultfd','no_such_call']")),
		  0,
		  {"'error':'$.seccomp.allow[2]: unknown syscall name \\\"no_such_call\\\""}},
		 {MP_CREATE("f1", "", SC("'profile':'default','allow':['chmod'],'deny':['chmod']")),
		  0,
		  {"'error':'$.seccomp.deny[0]: \\\"chmod\\\" is also in \\\"allow\\\" at index 0'"}},
		 {MP_CREATE("f1", "", SC("'profile':'unconfined','deny':['chmod']")),
		  0,
		  {"'error':'$.seccomp.deny: must be empty with the \\\"unconfined\\\" profile"}},
		 {MP_CREATE("f1", "", SC("'profile':'none'")),
		  0,
		  {"'error':'$.seccomp.profile: must be \\\"default\\\" or \\\"unconfined\\\"'"}},
		 {MP_CREATE("f1", "", SC("'allow':[]")),
		  0,
		  {"'error':'$.seccomp: missing required key \\\"profile\\\"'"}},
		 {MP_CREATE("f1", "", SC("'profile':'default','allowlist':[]")),
		  0,
		  {"'error':'$.seccomp.allowlist: unknown key"}},
		 {MP_CREATE("f1", "", ",'seccomp':'default'"), 0, {"'error':'$.seccomp: expected"}},
		 {"{'op':'exec_external','argv':['/bin/ls'],'working_dir':'/','seccomp':{'profile':'default'}}",
		  0,
		  {"'error':'$.seccomp: unknown key"}},
		 /* The policy's unconfined container: the request must say so. */
		 {MP_CREATE("f1", "", SC("'profile':'default'")),
		  0,
		  {"'container':4,'name':'unfiltered','failed':[{'rule':'seccomp','field':'seccomp.profile','value':'"
		   "default','detail':'the policy requires the \\\"unconfined\\\" profile'"}},
		 {MP_CREATE("f1", "", SC("'profile':'unconfined','allow':[],'deny':[]")), 1, {"'matched':[4]"}},
		 {NULL, 0, {NULL}},
	 }},
	/* Resources: the policy names upper bounds, the request the values the
	 * guest applies; absent request values are the defaults (memory: all
	 * of the workloads memory; pids: 1024), absent bounds are the defaults
	 * too (memory: none; pids: 1024). */
	{"resources: a bounded container",
	 RESOURCES_POLICY,
	 {
		 {MOUNT("l4", H4), 1, {NULL}},
		 {OVERLAY("r1", "'/run/layers/l4'"), 1, {NULL}},
		 {MP_CREATE_NO_MOUNTS("r1", RES("'memory_max':33554432,'pids_max':64")),
		  1,
		  {"'matched':[0]"},
		  NULL,
		  ABORT},
		 {MP_CREATE_NO_MOUNTS("r1", RES("'pids_max':1,'memory_max':4194304")),
		  1,
		  {"'matched':[0]"},
		  NULL,
		  ABORT},
		 /* Attack: a memory hog's host asks for more memory than the tenant
		 * allowed this container (to starve its neighbours). */
		 {MP_CREATE_NO_MOUNTS("r1", RES("'memory_max':33554433,'pids_max':64")),
		  0,
		  {"'rule':'resources','field':'resources.memory_max','value':33554433,'detail':'more than the "
		   "policy`s bound of 33554432 bytes'"},
		  "resources.pids_max"},
		 /* Attack: leave memory_max out, so the default (all of the
		 * workloads memory) would run. */
		 {MP_CREATE_NO_MOUNTS("r1", RES("'pids_max':64")),
		  0,
		  {"'rule':'resources','field':'resources.memory_max','detail':'the policy bounds memory_max at "
		   "33554432 bytes; the default"},
		  "resources.pids_max"},
		 /* Attack: no resources at all; neither default is within the bounds. */
		 {MP_CREATE_NO_MOUNTS("r1", ""),
		  0,
		  {"'field':'resources.memory_max'",
		   "'field':'resources.pids_max','value':1024,'detail':'the default 1024 exceeds the policy`s bound of "
		   "64, so the request must name a value'"}},
		 {MP_CREATE_NO_MOUNTS("r1", RES("")),
		  0,
		  {"'field':'resources.memory_max'", "'field':'resources.pids_max'"}},
		 /* Attack: a fork bomb's host raises pids_max past the bound. */
		 {MP_CREATE_NO_MOUNTS("r1", RES("'memory_max':33554432,'pids_max':65")),
		  0,
		  {"'field':'resources.pids_max','value':65,'detail':'more than the policy`s bound of 64'"},
		  "resources.memory_max"},
		 /* Malformed: below the minimums, above the maxima, not integers,
		 * unknown keys (a limit the engine does not know is not ignored). */
		 {MP_CREATE_NO_MOUNTS("r1", RES("'memory_max':4194303,'pids_max':64")),
		  0,
		  {"'error':'$.resources.memory_max: integer 4194303 out of range [4194304, 1125899906842624]'"}},
		 {MP_CREATE_NO_MOUNTS("r1", RES("'memory_max':1125899906842625")),
		  0,
		  {"'error':'$.resources.memory_max: integer"}},
		 {MP_CREATE_NO_MOUNTS("r1", RES("'memory_max':0")),
		  0,
		  {"'error':'$.resources.memory_max: integer 0 out of range"}},
		 {MP_CREATE_NO_MOUNTS("r1", RES("'memory_max':-1")),
		  0,
		  {"'error':'$.resources.memory_max: integer -1 out of range"}},
		 {MP_CREATE_NO_MOUNTS("r1", RES("'memory_max':18446744073709551616")),
		  0,
		  {"'error':'$.resources.memory_max: "}},
		 {MP_CREATE_NO_MOUNTS("r1", RES("'memory_max':33554432.5")), 0, {"'error':'$.resources.memory_max: "}},
		 {MP_CREATE_NO_MOUNTS("r1", RES("'memory_max':'32M'")), 0, {"'error':'$.resources.memory_max: "}},
		 {MP_CREATE_NO_MOUNTS("r1", RES("'memory_max':33554432,'pids_max':0")),
		  0,
		  {"'error':'$.resources.pids_max: integer 0 out of range [1, 4194304]'"}},
		 {MP_CREATE_NO_MOUNTS("r1", RES("'memory_max':33554432,'pids_max':4194305")),
		  0,
		  {"'error':'$.resources.pids_max: integer"}},
		 {MP_CREATE_NO_MOUNTS("r1", RES("'memory_max':33554432,'pids_max':64,'swap_max':0")),
		  0,
		  {"'error':'$.resources.swap_max: unknown key"}},
		 {MP_CREATE_NO_MOUNTS("r1", RES("'memory_max':33554432,'memory_max':33554432")), 0, {"duplicate key"}},
		 {MP_CREATE_NO_MOUNTS("r1", ",'resources':[]"), 0, {"'error':'$.resources: expected"}},
		 {"{'op':'exec_external','argv':['/bin/ls'],'working_dir':'/','resources':{'pids_max':1}}",
		  0,
		  {"'error':'$.resources: unknown key"}},
		 {MP_CREATE_NO_MOUNTS("r1", RES("'memory_max':16777216,'pids_max':32")), 1, {"'matched':[0]"}},
		 {NULL, 0, {NULL}},
	 }},
	{"resources: candidates narrow to those whose bounds allow the values",
	 RESOURCES_POLICY,
	 {
		 {MOUNT("l5", H5), 1, {NULL}},
		 {OVERLAY("r2", "'/run/layers/l5'"), 1, {"'candidates':[1,2]"}},
		 {MP_CREATE_NO_MOUNTS("r2", RES("'memory_max':67108864,'pids_max':128")),
		  1,
		  {"'matched':[1,2]"},
		  NULL,
		  ABORT},
		 {MP_CREATE_NO_MOUNTS("r2", RES("'memory_max':67108864,'pids_max':129")),
		  1,
		  {"'matched':[2]", "'container':1,'name':'small','failed':[{'rule':'resources','field':'resources."
				    "pids_max','value':129"},
		  NULL,
		  ABORT},
		 /* Attack: more than the largest candidate allows. */
		 {MP_CREATE_NO_MOUNTS("r2", RES("'memory_max':2147483648,'pids_max':100")),
		  0,
		  {"'container':1,'name':'small','failed':[{'rule':'resources','field':'resources.memory_max','value':"
		   "2147483648",
		   "'container':2,'name':'large','failed':[{'rule':'resources','field':'resources.memory_max','value':"
		   "2147483648,'detail':'more than the policy`s bound of 1073741824 bytes'"}},
		 /* Both candidates bound memory: the default is not allowed. */
		 {MP_CREATE_NO_MOUNTS("r2", RES("'pids_max':100")),
		  0,
		  {"'container':2,'name':'large','failed':[{'rule':'resources','field':'resources.memory_max'"}},
		 /* The values run as asked; only the large candidate survives, and
		 * later decisions are the large one's (its signals, not small's). */
		 {MP_CREATE_NO_MOUNTS("r2", RES("'memory_max':536870912,'pids_max':2000")), 1, {"'matched':[2]"}},
		 {SIGNAL("r2", "", 15),
		  0,
		  {"'container':2,'name':'large','failed':[{'rule':'signals'"},
		  "'container':1"},
		 {SIGNAL("r2", "", 9), 1, {"'matched':[2]"}},
		 {NULL, 0, {NULL}},
	 }},
	/* The writable layer: the guest states the size that will run
	 * (upper_bytes); a candidate's scratch_max bounds it, a candidate
	 * without one allows any size, a tmpfs upper dir has no size here. */
	{"resources: scratch_max bounds the writable layer",
	 RESOURCES_POLICY,
	 {
		 {MOUNT("l4", H4), 1, {NULL}},
		 {MOUNT("l5", H5), 1, {NULL}},
		 {MOUNT("l6", H6), 1, {NULL}},
		 {SOVERLAY("s1", "'/run/layers/l4'", 16777216),
		  1,
		  {"'upper_bytes':16777216", "'candidates':[0]"},
		  NULL,
		  ABORT},
		 {SOVERLAY("s1", "'/run/layers/l4'", 4194304), 1, {"'candidates':[0]"}, NULL, ABORT},
		 /* Attack: a host that wants one container to take the scratch. */
		 {SOVERLAY("s1", "'/run/layers/l4'", 16777217),
		  0,
		  {"'failed':[{'rule':'resources','field':'scratch_bytes','value':16777217,'detail':'the writable "
		   "layer is larger than every matching container`s scratch_max (see candidates)'}]",
		   "'candidates':[{'container':0,'name':'bounded','failed':[{'rule':'resources','field':'scratch_bytes'"
		   ",'value':16777217,'detail':'more than the policy`s scratch_max of 16777216 bytes'}]}"},
		  "'rule':'layers'"},
		 /* The layers rule comes first: a layer mismatch is not reported as a size. */
		 {SOVERLAY("s1", "'/run/layers/l4','/run/layers/l5'", 1125899906842624),
		  0,
		  {"'rule':'layers'"},
		  "scratch_bytes"},
		 /* On a tmpfs (no scratch) the guest states no size: memory_max bounds it. */
		 {OVERLAY("s1", "'/run/layers/l4'"), 1, {"'candidates':[0]"}, "upper_bytes", ABORT},
		 /* Candidates narrow: 100 MiB is more than small's 64 MiB, within large's. */
		 {SOVERLAY("s2", "'/run/layers/l5'", 104857600), 1, {"'candidates':[2]"}},
		 {MP_CREATE_NO_MOUNTS("s2", RES("'memory_max':67108864,'pids_max':128")),
		  1,
		  {"'matched':[2]"},
		  "'container':1"},
		 {SOVERLAY("s3", "'/run/layers/l5'", 67108864), 1, {"'candidates':[1,2]"}, NULL, ABORT},
		 {SOVERLAY("s3", "'/run/layers/l5'", 2147483648),
		  0,
		  {"'container':1,'name':'small','failed':[{'rule':'resources','field':'scratch_bytes','value':"
		   "2147483648",
		   "'container':2,'name':'large','failed':[{'rule':'resources','field':'scratch_bytes','value':"
		   "2147483648,'detail':'more than the policy`s scratch_max of 1073741824 bytes'"}},
		 /* No bound: any size the guest chose. */
		 {SOVERLAY("s4", "'/run/layers/l6'", 1125899906842624), 1, {"'candidates':[3]"}},
		 /* Malformed logs: the size and the scratch go together, in range. */
		 {"{'op':'mount_overlay','container_id':'s5','target':'/run/containers/s5/rootfs','layers':['/run/"
		  "layers/l6'],'scratch':'/run/scratch/s'}",
		  0,
		  {"needs the guest`s \\\"upper_bytes\\\""}},
		 {"{'op':'mount_overlay','container_id':'s5','target':'/run/containers/s5/rootfs','layers':['/run/"
		  "layers/l6'],'upper_bytes':8388608}",
		  0,
		  {"'error':'$.upper_bytes: names a writable layer on a scratch"}},
		 {SOVERLAY("s5", "'/run/layers/l6'", 4194303),
		  0,
		  {"'error':'$.upper_bytes: integer 4194303 out of range [4194304, 1125899906842624]'"}},
		 {"{'op':'mount_overlay','container_id':'s5','target':'/run/containers/s5/rootfs','layers':['/run/"
		  "layers/l6'],'scratch':'/run/scratch/s','scratch_bytes':8388608,'upper_bytes':8388608}",
		  1,
		  {NULL}},
		 {NULL, 0, {NULL}},
	 }},
	{"resources: without bounds the defaults bound",
	 RESOURCES_POLICY,
	 {
		 {MOUNT("l6", H6), 1, {NULL}},
		 {MOUNT("l7", H7), 1, {NULL}},
		 {OVERLAY("r3", "'/run/layers/l6'"), 1, {NULL}},
		 {OVERLAY("r4", "'/run/layers/l7'"), 1, {NULL}},
		 {MP_CREATE_NO_MOUNTS("r3", ""), 1, {"'matched':[3]"}, NULL, ABORT},
		 {MP_CREATE_NO_MOUNTS("r3", RES("")), 1, {"'matched':[3]"}, NULL, ABORT},
		 /* No memory bound: any valid value (the guest clamps it to the
		 * workloads limit, which is also the default). */
		 {MP_CREATE_NO_MOUNTS("r3", RES("'memory_max':1125899906842624,'pids_max':1024")),
		  1,
		  {"'matched':[3]"},
		  NULL,
		  ABORT},
		 /* Attack: more processes than the default, which the policy did not raise. */
		 {MP_CREATE_NO_MOUNTS("r3", RES("'pids_max':1025")),
		  0,
		  {"'field':'resources.pids_max','value':1025,'detail':'more than the policy`s bound of 1024 (the "
		   "policy names none: the default is the bound)'"}},
		 /* A bound above the default: the default and the bound are allowed. */
		 {MP_CREATE_NO_MOUNTS("r4", ""), 1, {"'matched':[4]"}, NULL, ABORT},
		 {MP_CREATE_NO_MOUNTS("r4", RES("'pids_max':2048,'memory_max':1073741824")),
		  1,
		  {"'matched':[4]"},
		  NULL,
		  ABORT},
		 {MP_CREATE_NO_MOUNTS("r4", RES("'pids_max':2049")), 0, {"'field':'resources.pids_max','value':2049"}},
		 {NULL, 0, {NULL}},
	 }},
};

/* ' -> " so the tables above stay readable; ` stands for a literal '. */
static char *dq(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(n + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '`')
			*o++ = '\'';
		else
			*o++ = s[i] == '\'' ? '"' : s[i];
	}
	*o = '\0';
	return out;
}

/* Replaces every occurrence of from (scanning past each replacement). */
static char *replace_all(char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), count = 0;
	for (char *at = strstr(s, from); at; at = strstr(at + fl, from))
		count++;
	char *out = malloc(strlen(s) + count * tl + 1), *o = out, *p = s;
	for (char *at = strstr(p, from); at; p = at + fl, at = strstr(p, from)) {
		memcpy(o, p, (size_t)(at - p));
		o += at - p;
		memcpy(o, to, tl);
		o += tl;
	}
	strcpy(o, p);
	free(s);
	return out;
}

static struct policy *load(enum variant variant)
{
	struct uvm_err err = {0, ""};
	struct policy *pol = NULL;
	char *text = dq(variant == MOUNTS_POLICY      ? mounts_policy
			: variant == RESOURCES_POLICY ? resources_policy
						      : sample_policy);
	if (variant == SAMPLE_DROPPING)
		text = replace_all(text, "\": false", "\": true");
	if (policy_load(text, strlen(text), &pol, &err) < 0)
		printf("# policy_load: %s\n", err.msg);
	free(text);
	return pol;
}

static void run_step(struct policy_state *st, const char *scenario, size_t k, const struct step *s)
{
	struct policy_decision d;
	char *req = dq(s->req);
	int rc = policy_decide_json(st, req, strlen(req), &d);
	char *reason = d.reason ? d.reason : "";
	CHECK(rc == 0 && d.allowed == s->allowed, "%s #%zu: %s", scenario, k, s->allowed ? "allowed" : "denied");
	if (rc != 0 || d.allowed != s->allowed)
		printf("#   request: %s\n#   reason: %s\n", req, reason);
	/* The reason is always one valid JSON object. */
	struct json_doc *doc;
	struct uvm_err err = {0, ""};
	const struct json_value *v = json_parse(reason, strlen(reason), 1 << 20, &doc, &err);
	int fields_ok = v && json_type(v) == JSON_OBJECT && json_get(v, "allowed");
	for (size_t i = 0; i < 4 && s->want[i]; i++) {
		char *w = dq(s->want[i]);
		if (!strstr(reason, w)) {
			printf("#   missing %s\n", w);
			fields_ok = 0;
		}
		free(w);
	}
	if (s->absent && strstr(reason, s->absent)) {
		printf("#   must not contain %s\n", s->absent);
		fields_ok = 0;
	}
	CHECK(fields_ok, "%s #%zu: reason fields", scenario, k);
	if (!fields_ok)
		printf("#   reason: %s\n", reason);
	json_free(doc);
	if (s->after == ABORT)
		policy_abort(st);
	else if (s->after == COMMIT && d.allowed)
		policy_commit(st);
	policy_decision_free(&d);
	free(req);
}

static int run_scenarios(void)
{
	int decisions = 0;
	for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
		const struct scenario *sc = &scenarios[i];
		struct policy *pol = load(sc->policy);
		struct policy_state *st = pol ? policy_state_new(pol) : NULL;
		CHECK(st != NULL, "%s: policy loads", sc->name);
		for (size_t k = 0; st && sc->steps[k].req; k++, decisions++)
			run_step(st, sc->name, k, &sc->steps[k]);
		policy_state_free(st);
		policy_free(pol);
	}
	return decisions;
}

/* ------------------------------------------------------------ load errors */

struct load_case {
	const char *from, *to; /* edit of the sample policy */
	const char *msg;
};

static const struct load_case load_cases[] = {
	{"'PORT=[0-9]+'", "'PORT=(['", "$.containers[0].env[1].rule: bad regular expression"},
	{"'PORT=[0-9]+'", "'a)|(b'", "$.containers[0].env[1].rule: bad regular expression: unmatched ')'"},
	{"'PORT=[0-9]+'", "'PORT=\\\\\\\\'", NULL}, /* an escaped backslash is fine */
	{"'PORT=[0-9]+'", "'a\\\\\\\\'", NULL},
	{"'PORT=[0-9]+'", "'x[)]('", "unmatched '('"},
	/* stacked repetitions: undefined in POSIX, gigabytes in glibc's matcher (fuzz_policy) */
	{"'PORT=[0-9]+'", "'sandbox+++++:///d/.+'", "a repetition '+' at offset 8 follows another repetition"},
	{"'PORT=[0-9]+'", "'a*{2}'", "a repetition '{' at offset 2 follows another repetition"},
	{"'PORT=[0-9]+'", "'a{2}?'", "a repetition '?' at offset 4 follows another repetition"},
	{"'PORT=[0-9]+'", "'a\\\\+[+]+x?'", NULL}, /* an escaped or bracketed '+' is no repetition */
	{"'name': 'db',", "'name': 'db', 'bogus': 1,", "$.containers[2].bogus: unknown key"},
	{"'version': '1'", "'version': '2'", "$.version: unsupported policy version \"2\""},
	{"'3333333333333333333333333333333333333333333333333333333333333333'", "'33'",
	 "$.containers[2].layers[0]: expected a dm-verity root hash"},
	{"'signals': [15],", "'signals': [65],", "$.containers[0].signals[0]: integer 65 out of range [1, 64]"},
	{"'uid': 1000, 'gid': 1000, 'umask': '0022'}", "'uid': -5, 'gid': 1000, 'umask': '0022'}",
	 "$.containers[0].user.uid: integer -5 out of range"},
	{"'name': 'postgres',", "'name': 'postgres', 'uid': 5,",
	 "$.containers[2].user: exactly one of \"uid\" and \"name\""},
	{"'umask': '0077'", "'umask': '77'", "$.containers[2].user.umask: expected 4 octal digits"},
	{"'required': true", "'required': 'yes'", "$.containers[0].env[1].required: expected boolean, got string"},
	{"'strategy': 'regex', 'required'", "'strategy': 're2', 'required'",
	 "$.containers[0].env[1].strategy: must be \"string\" or \"regex\""},
	{"{'rule': 'TERM=xterm'}", "{'rule': 'TERM'}", "$.containers[0].env[2].rule: a string rule must be NAME=VALUE"},
	{"'working_dir': '/srv'", "'working_dir': 'srv'", "$.containers[0].working_dir: must be an absolute path"},
	{"'CAP_CHOWN'", "'chown'", "$.containers[0].capabilities.bounding[1]: expected a capability name"},
	{"'ambient': []\n      },\n      'no_new_privileges'",
	 "'ambient': [], 'ambient': []\n      },\n      'no_new_privileges'", "duplicate key"},
	{"'allow_elevated': true", "'allow_elevated': true, 'allow_elevated': true",
	 "($.containers[2].allow_elevated): duplicate key"},
	{"'allow_dump_stacks': false", "'allow_dump_stacks': 0",
	 "$.framework.allow_dump_stacks: expected boolean, got the number 0"},
	{"'argv': ['/usr/bin/db']", "'argv': []", "$.containers[2].argv: must have 1 to 1024 entries"},
	{"'destination': '/data'", "'destination': '/data', 'readonly': true",
	 "$.containers[0].mounts[0].readonly: unknown key"},
	{"'exec_processes': [{'argv': ['/bin/sh'], 'signals': [9]}]",
	 "'exec_processes': [{'argv': ['/bin/sh'], 'signal': [9]}]",
	 "$.containers[0].exec_processes[0].signal: unknown key"},
	/* "optional" on a policy mount: a boolean, nothing else. */
	{"'options': ['rbind', 'ro']}", "'options': ['rbind', 'ro'], 'optional': false}", NULL},
	{"'options': ['rbind', 'ro']}", "'options': ['rbind', 'ro'], 'optional': 'yes'}",
	 "$.containers[0].mounts[0].optional: expected boolean, got string"},
	{"'options': ['rbind', 'ro']}", "'options': ['rbind', 'ro'], 'optional': 1}",
	 "$.containers[0].mounts[0].optional: expected boolean, got the number 1"},
	/* "seccomp" of a container: every name known, the lists sets. */
	{"'signals': [15],",
	 "'signals': [15], 'seccomp': {'profile': 'default', 'allow': ['ptrace'], 'deny': ['chmod']},", NULL},
	{"'signals': [15],", "'signals': [15], 'seccomp': {'profile': 'unconfined', 'allow': [], 'deny': []},", NULL},
	{"'signals': [15],", "'signals': [15], 'seccomp': {'profile': 'default', 'allow': ['ptrace', 'no_such_call']},",
	 "$.containers[0].seccomp.allow[1]: unknown syscall name \"no_such_call\""},
	{"'signals': [15],", "'signals': [15], 'seccomp': {'profile': 'default', 'deny': ['chmod', 'chmod']},",
	 "$.containers[0].seccomp.deny[1]: \"chmod\" is already at index 0 (the list is a set)"},
	{"'signals': [15],",
	 "'signals': [15], 'seccomp': {'profile': 'default', 'allow': ['chmod'], 'deny': ['chmod']},",
	 "$.containers[0].seccomp.deny[0]: \"chmod\" is also in \"allow\" at index 0"},
	{"'signals': [15],", "'signals': [15], 'seccomp': {'profile': 'unconfined', 'allow': ['ptrace']},",
	 "$.containers[0].seccomp.allow: must be empty with the \"unconfined\" profile"},
	{"'signals': [15],", "'signals': [15], 'seccomp': {'profile': 'strict'},",
	 "$.containers[0].seccomp.profile: must be \"default\" or \"unconfined\""},
	{"'signals': [15],", "'signals': [15], 'seccomp': {'allow': []},",
	 "$.containers[0].seccomp: missing required key \"profile\""},
	{"'signals': [15],", "'signals': [15], 'seccomp': {'profile': 'default', 'allowed': []},",
	 "$.containers[0].seccomp.allowed: unknown key"},
	{"'signals': [15],", "'signals': [15], 'seccomp': {'profile': 'default', 'allow': ['ptrace', 5]},",
	 "$.containers[0].seccomp.allow[1]: expected a syscall name, got"},
	{"'signals': [15],", "'signals': [15], 'seccomp': 'default',", "$.containers[0].seccomp: expected"},
	/* "resources": optional bounds, integers within the documented
	 * ranges; a bound below the minimum would deny every create. */
	{"'signals': [15],", "'signals': [15], 'resources': {'memory_max': 33554432, 'pids_max': 64},", NULL},
	{"'signals': [15],", "'signals': [15], 'resources': {},", NULL},
	{"'signals': [15],", "'signals': [15], 'resources': {'pids_max': 4194304, 'memory_max': 1125899906842624},",
	 NULL},
	{"'signals': [15],", "'signals': [15], 'resources': {'memory_max': 4194303},",
	 "$.containers[0].resources.memory_max: integer 4194303 out of range [4194304, 1125899906842624]"},
	{"'signals': [15],", "'signals': [15], 'resources': {'memory_max': 1125899906842625},",
	 "$.containers[0].resources.memory_max: integer 1125899906842625 out of range"},
	{"'signals': [15],", "'signals': [15], 'resources': {'pids_max': 0},",
	 "$.containers[0].resources.pids_max: integer 0 out of range [1, 4194304]"},
	{"'signals': [15],", "'signals': [15], 'resources': {'pids_max': 4194305},",
	 "$.containers[0].resources.pids_max: integer 4194305 out of range"},
	{"'signals': [15],", "'signals': [15], 'resources': {'memory_max': '32M'},",
	 "$.containers[0].resources.memory_max: expected"},
	{"'signals': [15],", "'signals': [15], 'resources': {'memory_max': 3.5e7},",
	 "$.containers[0].resources.memory_max: expected"},
	{"'signals': [15],", "'signals': [15], 'resources': {'memory': 33554432},",
	 "$.containers[0].resources.memory: unknown key"},
	{"'signals': [15],", "'signals': [15], 'resources': [64],", "$.containers[0].resources: expected"},
	{"'signals': [15],", "'signals': [15], 'resources': {'scratch_max': 4194304},", NULL},
	{"'signals': [15],", "'signals': [15], 'resources': {'scratch_max': 4194303},",
	 "$.containers[0].resources.scratch_max: integer 4194303 out of range [4194304, 1125899906842624]"},
	{"'signals': [15],", "'signals': [15], 'resources': {'scratch_max': 1125899906842625},",
	 "$.containers[0].resources.scratch_max: integer 1125899906842625 out of range"},
};

static void test_load_errors(void)
{
	for (size_t i = 0; i < sizeof load_cases / sizeof load_cases[0]; i++) {
		const struct load_case *c = &load_cases[i];
		char *text = dq(sample_policy), *from = dq(c->from), *to = dq(c->to);
		struct uvm_err err = {0, ""};
		struct policy *pol = NULL;
		int found = strstr(text, from) != NULL;
		text = replace_all(text, from, to);
		int rc = policy_load(text, strlen(text), &pol, &err);
		if (c->msg)
			CHECK(found && rc < 0 && strstr(err.msg, c->msg), "load rejects edit %zu: %s", i, err.msg);
		else
			CHECK(found && rc == 0, "load accepts edit %zu: %s", i, err.msg);
		policy_free(pol);
		free(text);
		free(from);
		free(to);
	}
	struct uvm_err err = {0, ""};
	struct policy *pol = NULL;
	CHECK(policy_load("{}", 2, &pol, &err) < 0 &&
		      strstr(err.msg, "invalid policy: $: missing required key \"version\""),
	      "empty object rejected: %s", err.msg);
	CHECK(policy_load("{\"version\":\"1\",\"containers\":[]} x", 33, &pol, &err) < 0 &&
		      strstr(err.msg, "trailing data"),
	      "trailing data rejected: %s", err.msg);
}

/* A list of 513 names (SECCOMP_MAX_NAMES + 1) in the policy: refused
 * before anything is stored. In a request (lib/request.c) the lists are
 * sets of known names, fewer than 512: 513 names repeat one, and more than
 * POLICY_MAX_LIST fail the list's bound. */
static void test_seccomp_limits(void)
{
	char *names = malloc(513 * 10 + 1), *p = names;
	for (int i = 0; i < 513; i++)
		p += sprintf(p, "%s\"ptrace\"", i ? "," : "");
	char *pol_text = malloc(strlen(names) + 1024), *req = malloc(strlen(names) + 1024);
	sprintf(pol_text,
		"{\"version\":\"1\",\"containers\":[{\"layers\":[\"%s\"],\"argv\":[\"/a\"],\"working_dir\":\"/\","
		"\"user\":{\"uid\":0,\"gid\":0,\"umask\":\"0022\"},\"capabilities\":{\"bounding\":[],"
		"\"effective\":[],\"inheritable\":[],\"permitted\":[],\"ambient\":[]},"
		"\"seccomp\":{\"profile\":\"default\",\"deny\":[%s]}}]}",
		H1, names);
	struct uvm_err err = {0, ""};
	struct policy *pol = NULL;
	CHECK(policy_load(pol_text, strlen(pol_text), &pol, &err) < 0 &&
		      strstr(err.msg, "$.containers[0].seccomp.deny: at most 512 syscall names, has 513"),
	      "seccomp: 513 names in the policy refused: %s", err.msg);
	pol = load(MOUNTS_POLICY);
	struct policy_state *st = pol ? policy_state_new(pol) : NULL;
	struct policy_decision d = {0, NULL, 0};
	sprintf(req,
		"{\"op\":\"create_container\",\"container_id\":\"c\",\"argv\":[\"/a\"],\"working_dir\":\"/\","
		"\"user\":{\"uid\":0,\"gid\":0,\"umask\":\"0022\"},\"capabilities\":{\"bounding\":[],"
		"\"effective\":[],\"inheritable\":[],\"permitted\":[],\"ambient\":[]},"
		"\"seccomp\":{\"profile\":\"default\",\"allow\":[%s]}}",
		names);
	CHECK(st && policy_decide_json(st, req, strlen(req), &d) == 0 && !d.allowed &&
		      strstr(d.reason, "$.seccomp.allow[1]: \\\"ptrace\\\" is already at index 0"),
	      "seccomp: 513 names in a request are malformed: %s", d.reason ? d.reason : "");
	policy_decision_free(&d);
	policy_state_free(st);
	policy_free(pol);
	free(names);
	free(pol_text);
	free(req);
}

/* An exec'd process that exited leaves the state: its id can be used again
 * and the state does not grow with every exec. */
static void test_process_exited(void)
{
	static const struct step setup[] = {
		{MOUNT("l1", H1), 1, {NULL}},
		{MOUNT("l2", H2), 1, {NULL}},
		{OVERLAY("c1", "'/run/layers/l1','/run/layers/l2'"), 1, {NULL}},
		{CREATE_OK("c1"), 1, {NULL}},
		{EXEC("c1", "p1", "'/bin/sh'", "'PORT=1'"), 1, {NULL}},
		{EXEC("c1", "p1", "'/bin/sh'", "'PORT=1'"), 0, {"a process with this id already exists"}},
	};
	static const struct step again = {EXEC("c1", "p1", "'/bin/sh'", "'PORT=1'"), 1, {NULL}};
	struct policy *pol = load(SAMPLE);
	struct policy_state *st = pol ? policy_state_new(pol) : NULL;
	CHECK(st != NULL, "process exit: policy loads");
	if (!st)
		return;
	for (size_t k = 0; k < sizeof setup / sizeof setup[0]; k++)
		run_step(st, "process exit", k, &setup[k]);
	char *before = policy_state_json(st);
	CHECK(policy_process_exited(st, "c1", "p1") == 0, "process exit: a live process is dropped");
	CHECK(policy_process_exited(st, "c1", "p1") == -1, "process exit: the same process twice is refused");
	CHECK(policy_process_exited(st, "c1", "nope") == -1, "process exit: an unknown process is refused");
	char *after = policy_state_json(st);
	CHECK(before && after && strstr(before, "\"p1\"") && !strstr(after, "\"p1\""),
	      "process exit: the record is gone from the state");
	run_step(st, "process exit", 99, &again);
	free(before);
	free(after);
	policy_state_free(st);
	policy_free(pol);
}

/* The guest's default writable layer: the smallest scratch_max among the
 * containers whose layers are the mounted ones (so every candidate accepts
 * it), 0 when none of them names one. */
static void test_scratch_bound(void)
{
	static const struct step setup[] = {
		{MOUNT("l4", H4), 1, {NULL}}, {MOUNT("l5", H5), 1, {NULL}}, {MOUNT("l6", H6), 1, {NULL}}};
	struct policy *pol = load(RESOURCES_POLICY);
	struct policy_state *st = pol ? policy_state_new(pol) : NULL;
	CHECK(st != NULL, "scratch bound: policy loads");
	if (!st)
		return;
	for (size_t k = 0; k < sizeof setup / sizeof setup[0]; k++)
		run_step(st, "scratch bound", k, &setup[k]);
	const char *l4[] = {"/run/layers/l4"}, *l5[] = {"/run/layers/l5"}, *l6[] = {"/run/layers/l6"};
	const char *none[] = {"/run/layers/nope"}, *both[] = {"/run/layers/l4", "/run/layers/l5"};
	CHECK_EQ_INT(policy_scratch_bound(st, &(struct req_strs){l4, 1}), 16777216, "scratch bound: one candidate's");
	CHECK_EQ_INT(policy_scratch_bound(st, &(struct req_strs){l5, 1}), 67108864,
		     "scratch bound: the smallest of two candidates'");
	CHECK_EQ_INT(policy_scratch_bound(st, &(struct req_strs){l6, 1}), 0, "scratch bound: a candidate without one");
	CHECK_EQ_INT(policy_scratch_bound(st, &(struct req_strs){none, 1}), 0, "scratch bound: a layer not mounted");
	CHECK_EQ_INT(policy_scratch_bound(st, &(struct req_strs){both, 2}), 0, "scratch bound: no container has both");
	policy_state_free(st);
	policy_free(pol);
}

/* ------------------------------------------------------------ typed requests */

/* One request both ways: the agent's (op, the host's args, the facts it
 * established) through request_decode + policy_decide_request, and the
 * decision log's {"op": ..., members} through policy_decide_json. */
struct typed_step {
	enum req_op op;
	const char *args; /* NULL: the log's members without "op" */
	const char *target, *hash;
	const char *log;
	int allowed;
};

/* "{'op':'NAME',rest" -> "{rest" (the host's args have no "op"). */
static char *args_of_log(const char *log)
{
	const char *end = strchr(log + strlen("{'op':'"), '\'') + 1;
	char *out = malloc(strlen(log) + 1);
	sprintf(out, "{%s", *end == ',' ? end + 1 : end);
	return out;
}

/* Decodes a host request for op (dq'd args) with its facts. */
static int decode_host(enum req_op op, const char *args_q, const char *target, const char *hash, struct json_doc **doc,
		       struct request *r, struct uvm_err *err)
{
	char *text = dq(args_q);
	const struct json_value *v = json_parse(text, strlen(text), 1 << 20, doc, err);
	free(text);
	memset(r, 0, sizeof *r);
	if (!v)
		return -1;
	if (request_decode(op, v, REQ_FROM_HOST, r, err) < 0 || (target && request_set_target(r, target, err) < 0) ||
	    (hash && request_set_device_hash(r, hash, err) < 0))
		return -1;
	return 0;
}

static void test_typed_equals_json(void)
{
	static const struct typed_step steps[] = {
		{REQ_MOUNT_DEVICE, "{'serial':'d1','root_hash':'" H1 "'}", "/run/layers/l1", H1, MOUNT("l1", H1), 1},
		{REQ_MOUNT_DEVICE, "{'serial':'d2','root_hash':'" H2 "'}", "/run/layers/l2", H2, MOUNT("l2", H2), 1},
		{REQ_MOUNT_DEVICE, "{'serial':'d9','root_hash':'" H9 "'}", "/run/layers/l9", H9, MOUNT("l9", H9), 0},
		{REQ_MOUNT_OVERLAY, "{'container_id':'c1','layers':['/run/layers/l1','/run/layers/l2']}",
		 "/run/containers/c1/rootfs", NULL, OVERLAY("c1", "'/run/layers/l1','/run/layers/l2'"), 1},
		{REQ_CREATE_CONTAINER, NULL, NULL, NULL, CREATE_OK("c1"), 1},
		{REQ_CREATE_CONTAINER, NULL, NULL, NULL, CREATE_OK("c1"), 0},
		{REQ_EXEC_IN_CONTAINER, NULL, NULL, NULL, EXEC("c1", "p1", "'/bin/sh'", "'PORT=1'"), 1},
		{REQ_EXEC_IN_CONTAINER, NULL, NULL, NULL, EXEC("c1", "p2", "'/bin/bash'", "'PORT=1'"), 0},
		{REQ_SIGNAL_PROCESS, NULL, NULL, NULL, SIGNAL("c1", ",'process_id':'p1'", 9), 1},
		{REQ_SIGNAL_PROCESS, NULL, NULL, NULL, SIGNAL("c1", "", 2), 0},
		{REQ_GET_PROPERTIES, NULL, NULL, NULL, "{'op':'get_properties'}", 1},
		{REQ_DUMP_STACKS, NULL, NULL, NULL, "{'op':'dump_stacks'}", 0},
		{REQ_SCRATCH_MOUNT, "{'serial':'s1','encrypted':false}", "/run/scratch/s1", NULL,
		 "{'op':'scratch_mount','target':'/run/scratch/s1','encrypted':false}", 0},
		{REQ_SCRATCH_MOUNT, "{'serial':'s1'}", "/run/scratch/s1", NULL,
		 "{'op':'scratch_mount','target':'/run/scratch/s1'}", 1},
		{REQ_EXEC_EXTERNAL, "{'process_id':'x1','argv':['/bin/ls','-l'],'env':['PATH=/bin'],'working_dir':'/'}",
		 NULL, NULL, "{'op':'exec_external','argv':['/bin/ls','-l'],'env':['PATH=/bin'],'working_dir':'/'}", 1},
		{REQ_SHUTDOWN_CONTAINER, NULL, NULL, NULL, "{'op':'shutdown_container','container_id':'c1'}", 1},
		{REQ_UNMOUNT_OVERLAY, "{'target':'/run/containers/c1/rootfs'}", NULL, NULL,
		 "{'op':'unmount_overlay','target':'/run/containers/c1/rootfs'}", 1},
	};
	struct policy *pol = load(SAMPLE);
	struct policy_state *typed = pol ? policy_state_new(pol) : NULL, *logged = pol ? policy_state_new(pol) : NULL;
	CHECK(typed && logged, "typed: policy loads");
	for (size_t k = 0; typed && logged && k < sizeof steps / sizeof steps[0]; k++) {
		const struct typed_step *t = &steps[k];
		char *args = t->args ? strcpy(malloc(strlen(t->args) + 1), t->args) : args_of_log(t->log);
		char *log = dq(t->log);
		struct json_doc *doc = NULL;
		struct request r;
		struct uvm_err err = {0, ""};
		struct policy_decision a = {0}, b = {0};
		int decoded = decode_host(t->op, args, t->target, t->hash, &doc, &r, &err) == 0;
		CHECK(decoded, "typed #%zu: %s decodes: %s", k, request_op_name(t->op), err.msg);
		int ra = decoded ? policy_decide_request(typed, &r, &a) : -1;
		int rb = policy_decide_json(logged, log, strlen(log), &b);
		CHECK(ra == 0 && rb == 0 && a.allowed == t->allowed && b.allowed == t->allowed,
		      "typed #%zu: %s %s both ways", k, request_op_name(t->op), t->allowed ? "allowed" : "denied");
		CHECK(a.reason && b.reason && strcmp(a.reason, b.reason) == 0, "typed #%zu: the same reason", k);
		if (!a.reason || !b.reason || strcmp(a.reason, b.reason) != 0)
			printf("#   typed:  %s\n#   logged: %s\n", a.reason ? a.reason : "", b.reason ? b.reason : "");
		if (a.allowed)
			policy_commit(typed);
		if (b.allowed)
			policy_commit(logged);
		policy_decision_free(&a);
		policy_decision_free(&b);
		request_free(&r);
		json_free(doc);
		free(args);
		free(log);
	}
	policy_state_free(typed);
	policy_state_free(logged);
	policy_free(pol);
}

/* The decision's drop arrays against the reason's "drop_env" (indices) and
 * "drop_capabilities" (names per set): the same drops, both ways. */
static int drops_match_reason(const struct request *r, const struct policy_decision *d)
{
	struct json_doc *doc;
	struct uvm_err err = {0, ""};
	const struct json_value *v = json_parse(d->reason, d->reason_len, 1 << 20, &doc, &err);
	const struct json_value *env = json_get(v, "drop_env"), *caps = json_get(v, "drop_capabilities");
	int ok = v != NULL;
	size_t listed = 0;
	for (size_t i = 0; ok && i < r->env.n; i++) {
		int64_t at = -1;
		if (listed < json_len(env))
			json_int(json_get(json_at(env, listed), "index"), 0, INT64_MAX, &at, NULL);
		int in_reason = at == (int64_t)i, in_array = d->drop_env && d->drop_env[i];
		ok = in_reason == in_array;
		listed += in_reason;
	}
	ok &= listed == json_len(env) && (listed > 0) == (d->drop_env != NULL);
	for (size_t s = 0; ok && s < REQ_CAP_SETS; s++) {
		const struct json_value *set = json_get(caps, request_cap_set_names[s]);
		listed = 0;
		for (size_t i = 0; ok && i < r->caps[s].n; i++) {
			const char *name = json_str(json_at(set, listed), NULL);
			int in_reason = name && strcmp(name, r->caps[s].v[i]) == 0;
			ok = in_reason == (d->drop_caps[s] && d->drop_caps[s][i]);
			listed += in_reason;
		}
		ok &= listed == json_len(set) && (listed > 0) == (d->drop_caps[s] != NULL);
	}
	json_free(doc);
	return ok;
}

/* Decides a decision-log request through request_decode_object and
 * policy_decide_request, keeping the request for the caller to inspect. */
static int decide_typed(struct policy_state *st, const char *log_q, struct json_doc **doc, struct request *r,
			struct policy_decision *d)
{
	struct uvm_err err = {0, ""};
	char *text = dq(log_q);
	const struct json_value *v = json_parse(text, strlen(text), 1 << 20, doc, &err);
	int rc = v && request_decode_object(v, r, &err) == 0 ? policy_decide_request(st, r, d) : -1;
	if (rc < 0)
		printf("# decide_typed: %s\n", err.msg);
	free(text);
	return rc;
}

static void test_drop_arrays(void)
{
	static const struct {
		const char *req;
		int env[4]; /* expected drop_env (all 0: NULL) */
		int bounding[3];
	} cases[] = {
		/* web and web-debug both drop EXTRA and CAP_SYS_ADMIN. */
		{CREATE("c1", ARGV_OK, ENV_OK ",'EXTRA=secret'", "/srv", MOUNTS_OK, USER_OK,
			"{'bounding':['CAP_SYS_ADMIN','CAP_NET_BIND_SERVICE'],'effective':[],'inheritable':[],'"
			"permitted':['CAP_NET_BIND_SERVICE'],'ambient':[]}",
			""),
		 {0, 0, 1},
		 {1, 0}},
		/* Only the environment. */
		{CREATE("c1", ARGV_OK, "'EXTRA=1'," ENV_OK, "/srv", MOUNTS_OK, USER_OK, CAPS_OK, ""), {1, 0, 0}, {0}},
		/* Nothing to drop: every array NULL. */
		{CREATE_OK("c1"), {0}, {0}},
	};
	static const char *const setup[] = {MOUNT("l1", H1), MOUNT("l2", H2),
					    OVERLAY("c1", "'/run/layers/l1','/run/layers/l2'")};
	struct policy *pol = load(SAMPLE_DROPPING);
	struct policy_state *st = pol ? policy_state_new(pol) : NULL;
	CHECK(st != NULL, "drops: policy loads");
	for (size_t k = 0; st && k < sizeof setup / sizeof setup[0]; k++) {
		struct step s = {setup[k], 1, {NULL}, NULL, COMMIT};
		run_step(st, "drops", k, &s);
	}
	for (size_t k = 0; st && k < sizeof cases / sizeof cases[0]; k++) {
		struct json_doc *doc = NULL;
		struct request r;
		struct policy_decision d = {0};
		int rc = decide_typed(st, cases[k].req, &doc, &r, &d);
		int want_env = 0, arrays_ok = rc == 0 && d.allowed;
		for (size_t i = 0; arrays_ok && i < r.env.n; i++) {
			want_env |= cases[k].env[i];
			arrays_ok = (d.drop_env ? d.drop_env[i] : 0) == cases[k].env[i];
		}
		arrays_ok &= (d.drop_env != NULL) == want_env;
		int want_caps = 0;
		for (size_t i = 0; arrays_ok && i < r.caps[0].n; i++) {
			want_caps |= cases[k].bounding[i];
			arrays_ok = (d.drop_caps[0] ? d.drop_caps[0][i] : 0) == cases[k].bounding[i];
		}
		arrays_ok &= (d.drop_caps[0] != NULL) == want_caps;
		for (size_t s = 1; s < REQ_CAP_SETS; s++)
			arrays_ok &= d.drop_caps[s] == NULL;
		CHECK(arrays_ok, "drops #%zu: the arrays are the expected ones", k);
		CHECK(rc == 0 && drops_match_reason(&r, &d), "drops #%zu: the arrays are the reason's lists: %s", k,
		      d.reason ? d.reason : "");
		policy_abort(st);
		policy_decision_free(&d);
		CHECK(!d.drop_env && !d.drop_caps[0], "drops #%zu: policy_decision_free clears them", k);
		request_free(&r);
		json_free(doc);
	}
	/* exec_in_container: the env drops only; a denial carries none. */
	struct json_doc *doc = NULL;
	struct request r;
	struct policy_decision d = {0};
	int rc = st ? decide_typed(st, CREATE_OK("c1"), &doc, &r, &d) : -1;
	if (rc == 0 && d.allowed)
		policy_commit(st);
	policy_decision_free(&d);
	request_free(&r);
	json_free(doc);
	rc = st ? decide_typed(st, EXEC("c1", "p1", "'/bin/sh'", "'PORT=1','EXTRA=x'"), &doc, &r, &d) : -1;
	CHECK(rc == 0 && d.allowed && d.drop_env && !d.drop_env[0] && d.drop_env[1] && drops_match_reason(&r, &d),
	      "drops: exec drops EXTRA: %s", d.reason ? d.reason : "");
	policy_abort(st);
	policy_decision_free(&d);
	request_free(&r);
	json_free(doc);
	rc = st ? decide_typed(st, EXEC("c1", "p1", "'/bin/sh'", "'EXTRA=x'"), &doc, &r, &d) : -1;
	CHECK(rc == 0 && !d.allowed && !d.drop_env, "drops: a denied exec carries no drops: %s",
	      d.reason ? d.reason : "");
	policy_decision_free(&d);
	request_free(&r);
	json_free(doc);
	policy_state_free(st);
	policy_free(pol);
}

/* Ops that are no enforcement point are denied, naming the op; an op the
 * engine decides is denied when the agent did not set its facts. */
static void test_undecided_ops(void)
{
	static const enum req_op decided[] = {REQ_MOUNT_DEVICE,     REQ_UNMOUNT_DEVICE,     REQ_SCRATCH_MOUNT,
					      REQ_SCRATCH_UNMOUNT,  REQ_MOUNT_OVERLAY,      REQ_UNMOUNT_OVERLAY,
					      REQ_CREATE_CONTAINER, REQ_EXEC_IN_CONTAINER,  REQ_EXEC_EXTERNAL,
					      REQ_SIGNAL_PROCESS,   REQ_SHUTDOWN_CONTAINER, REQ_GET_PROPERTIES,
					      REQ_DUMP_STACKS,      REQ_RUNTIME_LOGGING};
	int table_ok = 1;
	for (int op = 0; op < REQ_N; op++) {
		int want = 0;
		for (size_t i = 0; i < sizeof decided / sizeof decided[0]; i++)
			want |= decided[i] == (enum req_op)op;
		if (policy_op_decided((enum req_op)op) != want) {
			printf("#   %s: policy_op_decided is %d\n", request_op_name((enum req_op)op), !want);
			table_ok = 0;
		}
	}
	CHECK(table_ok && !policy_op_decided(REQ_N), "undecided: exactly the enforcement points are decided");

	struct policy *pol = load(SAMPLE);
	struct policy_state *st = pol ? policy_state_new(pol) : NULL;
	struct json_doc *doc = NULL;
	struct request r;
	struct policy_decision d = {0};
	struct uvm_err err = {0, ""};
	int rc =
		st ? decode_host(REQ_READ_OUTPUT, "{'container_id':'c1','stream':'stdout'}", NULL, NULL, &doc, &r, &err)
		   : -1;
	rc = rc == 0 ? policy_decide_request(st, &r, &d) : -1;
	CHECK(rc == 0 && !d.allowed && strstr(d.reason, "{\"op\":\"read_output\",\"allowed\":false,\"error\":\"") &&
		      strstr(d.reason, "\\\"read_output\\\" is not an enforcement point"),
	      "undecided: read_output is denied: %s", d.reason ? d.reason : err.msg);
	policy_decision_free(&d);
	request_free(&r);
	json_free(doc);

	/* The decision log's way. */
	static const struct step ping = {
		"{'op':'ping'}", 0, {"'op':'ping','allowed':false", "not an enforcement point"}};
	if (st)
		run_step(st, "undecided", 0, &ping);

	/* mount_device from the host without the facts the agent must add. */
	rc = st ? decode_host(REQ_MOUNT_DEVICE, "{'serial':'d1','root_hash':'" H1 "'}", NULL, NULL, &doc, &r, &err)
		: -1;
	rc = rc == 0 ? policy_decide_request(st, &r, &d) : -1;
	CHECK(rc == 0 && !d.allowed && strstr(d.reason, "no \\\"target\\\""),
	      "undecided: a missing target is denied: %s", d.reason ? d.reason : err.msg);
	policy_decision_free(&d);
	request_free(&r);
	json_free(doc);
	rc = st ? decode_host(REQ_MOUNT_DEVICE, "{'serial':'d1','root_hash':'" H1 "'}", "/run/layers/l1", NULL, &doc,
			      &r, &err)
		: -1;
	rc = rc == 0 ? policy_decide_request(st, &r, &d) : -1;
	CHECK(rc == 0 && !d.allowed && strstr(d.reason, "no \\\"device_hash\\\""),
	      "undecided: a missing device hash is denied: %s", d.reason ? d.reason : err.msg);
	policy_decision_free(&d);
	request_free(&r);
	json_free(doc);
	policy_state_free(st);
	policy_free(pol);
}

int main(void)
{
	test_process_exited();
	test_scratch_bound();
	int decisions = run_scenarios();
	CHECK(decisions >= 180, "%d table-driven decision cases (>= 180)", decisions);
	test_load_errors();
	test_seccomp_limits();
	test_typed_equals_json();
	test_drop_arrays();
	test_undecided_ops();
	return check_done();
}
