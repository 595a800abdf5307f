/* get_report: an attestation report on the host's behalf. The host never
 * chooses REPORT_DATA: it sends a nonce (1..64 bytes) and the guest binds
 * REPORT_DATA = SHA-512("uvm-host-nonce-v1" || NUL || nonce). A report
 * obtained this way can never look like one a workload asked for with its
 * own key material (those use other labels). */
#include <stdlib.h>
#include <string.h>

#include "attest.h"
#include "hex.h"
#include "ops.h"

#define NONCE_MAX 64
static const char host_nonce_label[] = "uvm-host-nonce-v1";

static int decode_nonce(const char *hex, uint8_t *nonce, size_t *len, struct op_error *e)
{
	size_t tlen = strlen(hex);
	if (tlen == 0 || tlen % 2 || tlen > 2 * NONCE_MAX || uvm_hex_decode(hex, nonce, tlen / 2))
		return op_fail(e, OP_ERR_MALFORMED, "get_report: nonce must be 1..%d bytes as hex", NONCE_MAX);
	*len = tlen / 2;
	return 0;
}

static void write_b64(struct json_writer *w, const char *key, const uint8_t *data, size_t len)
{
	char *b64 = malloc(4 * ((len + 2) / 3) + 1);
	if (!b64) {
		w->failed = 1;
		return;
	}
	uvm_base64_encode(data, len, b64);
	json_w_key(w, key);
	json_w_cstr(w, b64);
	free(b64);
}

int op_get_report(struct op_call *c)
{
	struct json_writer *w = c->w;
	struct op_error *e = c->e;
	uint8_t nonce[NONCE_MAX], rd[SNP_REPORT_DATA_LEN];
	size_t nlen = 0;
	struct attest_result ar;
	if (decode_nonce(c->r->nonce, nonce, &nlen, e))
		return -1;
	binding_report_data(host_nonce_label, nonce, nlen, rd);
	if (attest_get_report(rd, &ar, &e->err))
		return op_fail(e, OP_ERR_FAILED, "get_report: %s", e->err.msg);
	char rd_hex[2 * SNP_REPORT_DATA_LEN + 1];
	uvm_hex_encode(rd, sizeof rd, rd_hex);
	json_w_obj(w);
	json_w_key(w, "backend");
	json_w_cstr(w, ar.backend);
	json_w_key(w, "report_data");
	json_w_cstr(w, rd_hex);
	write_b64(w, "report_base64", ar.raw, SNP_REPORT_SIZE);
	if (ar.auxblob)
		write_b64(w, "auxblob_base64", ar.auxblob, ar.auxblob_len);
	json_w_end(w);
	attest_result_free(&ar);
	return 0;
}
