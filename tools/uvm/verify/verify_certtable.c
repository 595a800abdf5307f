/* The certificate table a guest gets with an extended report (configfs-tsm
 * auxblob, SNP_GET_EXT_REPORT), per AMD's GHCB specification: entries of
 * {GUID (16 bytes, RFC 4122 byte order), u32 offset, u32 length}
 * (little-endian, offsets from the start of the table), ended by an
 * all-zero entry; each certificate is DER. Hostile: every entry is bounds
 * checked, duplicates are refused. */
#include <stdlib.h>
#include <string.h>

#include "verify_cert.h"
#include "le.h"

#define ENTRY_SIZE 24u
#define TABLE_MAX (64u * 1024u)

static const struct {
	const char *what;
	uint8_t guid[16];
	int slot; /* 0 leaf, 1 ASK, 2 ARK */
} known[] = {
	/* 63da758d-e664-4564-adc5-f4b93be8accd */
	{"VCEK", {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd}, 0},
	/* a8074bc2-a25a-483e-aae6-39c045a0b8a1 */
	{"VLEK", {0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e, 0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1}, 0},
	/* 4ab7b379-bbac-4fe4-a02f-05aef327c782 */
	{"ASK", {0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82}, 1},
	/* c0b406a4-a803-4952-9743-3fb6014cd0ae */
	{"ARK", {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae}, 2},
};

static int take_entry(const char *path, const uint8_t *buf, size_t len, const uint8_t *e, X509 *out[3],
		      struct uvm_err *err)
{
	uint32_t off = le32_get(e + 16), size = le32_get(e + 20);
	for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
		if (memcmp(e, known[k].guid, 16) != 0)
			continue;
		if (out[known[k].slot])
			return uvm_fail(err, 0, "%s: a second %s certificate", path, known[k].what);
		if (off > len || size > len - off)
			return uvm_fail(err, 0,
					"%s: the %s entry (offset %u, length %u) lies outside "
					"the %zu-byte table",
					path, known[k].what, off, size, len);
		size_t n;
		if (verify_cert_parse(path, buf + off, size, &out[known[k].slot], 1, &n, err) != 0)
			return uvm_wrap(err, "certificate table entry %s", known[k].what);
		return 0;
	}
	return 0; /* other GUIDs (e.g. a CRL) are not needed */
}

int verify_cert_table_parse(const char *path, const uint8_t *buf, size_t len, X509 *out[3], struct uvm_err *err)
{
	static const uint8_t zero[ENTRY_SIZE];
	int rc = -1;
	size_t pos = 0;
	if (len > TABLE_MAX)
		return uvm_fail(err, 0, "%s: the certificate table has %zu bytes, more than %u", path, len, TABLE_MAX);
	for (; pos + ENTRY_SIZE <= len; pos += ENTRY_SIZE) {
		if (memcmp(buf + pos, zero, ENTRY_SIZE) == 0)
			break;
		if (take_entry(path, buf, len, buf + pos, out, err) != 0)
			goto done;
	}
	if (pos + ENTRY_SIZE > len)
		uvm_fail(err, 0, "%s: the certificate table has no all-zero end entry", path);
	else if (!out[0] && !out[1] && !out[2])
		uvm_fail(err, 0, "%s: the certificate table holds no VCEK, VLEK, ASK or ARK certificate", path);
	else
		rc = 0;
done:
	if (rc != 0)
		for (int i = 0; i < 3; i++) {
			X509_free(out[i]);
			out[i] = NULL;
		}
	return rc;
}

int verify_cert_table(const char *path, X509 *out[3], struct uvm_err *err)
{
	uint8_t *buf;
	size_t len;
	if (verify_read_file(path, TABLE_MAX, &buf, &len, err) != 0)
		return uvm_wrap(err, "reading the certificate table (--certs)");
	int rc = verify_cert_table_parse(path, buf, len, out, err);
	free(buf);
	return rc;
}
