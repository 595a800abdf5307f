/* libFuzzer: the typed decode of the host's requests (lib/request.h), as
 * the agent runs it on every frame. Input: one JSON request
 * {"op": NAME, "args": {...}}.
 *
 * Checked, beyond ASan/UBSan: a decode that succeeds yields a struct whose
 * every bounded member is within its bound (ids in their charset, lists at
 * most POLICY_MAX_LIST, absolute paths, facts never set from the host); a
 * refusal explains itself without control characters. The same object is also
 * decoded as a decision log (REQ_FROM_LOG), which must never crash either. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "policy.h"
#include "request.h"

static void printable(const char *msg)
{
	if (!msg[0])
		abort(); /* a refusal must say why */
	for (const char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort(); /* no control character reaches a log line */
}

static void strs_ok(const struct req_strs *s)
{
	if (s->n > POLICY_MAX_LIST)
		abort();
	for (size_t i = 0; i < s->n; i++)
		if (!s->v[i])
			abort();
}

static void path_ok(const char *p)
{
	if (p && (p[0] != '/' || strlen(p) > POLICY_MAX_PATH))
		abort();
}

static void check(const struct request *r)
{
	if ((r->container_id && !request_id_ok(r->container_id)) || (r->process_id && !request_id_ok(r->process_id)) ||
	    (r->serial && !request_serial_ok(r->serial)))
		abort();
	if (r->target || r->device_hash)
		abort(); /* facts never come from the host */
	path_ok(r->working_dir);
	path_ok(r->scratch);
	strs_ok(&r->argv);
	strs_ok(&r->env);
	strs_ok(&r->layers);
	for (size_t i = 0; i < r->env.n; i++)
		if (!strchr(r->env.v[i], '=') || r->env.v[i][0] == '=')
			abort();
	for (size_t s = 0; s < REQ_CAP_SETS; s++)
		strs_ok(&r->caps[s]);
	if (r->nmounts > POLICY_MAX_LIST)
		abort();
	for (size_t i = 0; i < r->nmounts; i++) {
		path_ok(r->mounts[i].destination);
		strs_ok(&r->mounts[i].options);
	}
	if (r->signal < 0 || r->signal > 64 || r->max_bytes > REQ_READ_MAX)
		abort();
	if (r->has_user && (strlen(r->user.umask) != 4 || r->user.uid == UINT32_MAX))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uvm_err err = {0, ""};
	struct json_doc *doc = NULL;
	const struct json_value *v = json_parse((const char *)data, size, 1u << 20, &doc, &err);
	if (!v)
		return 0;
	size_t len = 0;
	const char *name = json_str(json_get(v, "op"), &len);
	int op = request_op_find(name, len);
	struct request r;
	if (op >= 0) {
		if (request_decode((enum req_op)op, json_get(v, "args"), REQ_FROM_HOST, &r, &err) == 0)
			check(&r);
		else
			printable(err.msg);
		request_free(&r);
	}
	if (request_decode_object(v, &r, &err) != 0)
		printable(err.msg);
	request_free(&r);
	json_free(doc);
	return 0;
}
