/* /dev/sev-guest back-end (Linux 5.19+, Documentation/virt/coco/sev-guest.rst):
 * the SNP_GET_EXT_REPORT ioctl, which returns the report and the
 * certificate table the host supplies (what configfs-tsm calls auxblob).
 * The response holds status, size and the report at offset 0x20.
 *
 * Errors come back as -1/errno with exitinfo2 = VMM error (bits 63:32) and
 * firmware error (bits 31:0). One of them is part of the protocol: when the
 * host's certificates do not fit, the kernel answers EIO with the VMM error
 * SNP_GUEST_VMM_ERR_INVALID_LEN and writes the length needed (in bytes, a
 * whole number of pages) back into certs_len; we ask once more with that
 * much room. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/sev-guest.h>

#include "attest.h"
#include "attest_seam.h"
#include "le.h"

#define RESP_REPORT_OFFSET 0x20u
#define CERTS_PAGE 4096u
/* The first certificate buffer: SEV_FW_BLOB_MAX_SIZE, the most the kernel
 * takes and what it uses for configfs-tsm. */
#define CERTS_FIRST_LEN (16u << 10)
#define CERT_ENTRY_SIZE 24u /* GUID, u32 offset, u32 length (GHCB spec, MSG_REPORT_REQ) */
/* exitinfo2 when the request never reached the firmware (sev-guest.c). */
#define FW_ERR_NO_CALL 0xffu

static int sev_guest_ioctl(void *ctx, int fd, unsigned long cmd, struct snp_guest_request_ioctl *io)
{
	(void)ctx;
	return ioctl(fd, cmd, io);
}

struct attest_sev_guest_seam attest_sev_guest_seam = {"/dev/sev-guest", sev_guest_ioctl, NULL};

static int sev_guest_available(void)
{
	return access(attest_sev_guest_seam.dev, R_OK | W_OK) == 0;
}

/* SEV firmware status codes a report request can meet (include/uapi/linux/psp-sev.h). */
static const char *fw_error_name(uint32_t code)
{
	switch (code) {
	case 0x00: return "SUCCESS";
	case 0x01: return "INVALID_PLATFORM_STATE";
	case 0x02: return "INVALID_GUEST_STATE";
	case 0x04: return "INVALID_LEN";
	case 0x09: return "INVALID_ADDRESS";
	case 0x10: return "INVALID_GUEST";
	case 0x11: return "INVALID_COMMAND";
	case 0x15: return "UNSUPPORTED";
	case 0x16: return "INVALID_PARAM";
	case 0x17: return "RESOURCE_LIMIT";
	case 0x1d: return "AEAD_OFLOW";
	case 0x27: return "INVALID_KEY";
	case FW_ERR_NO_CALL: return "the request did not reach the firmware";
	default: return "unknown";
	}
}

static const char *vmm_error_name(uint32_t code)
{
	switch (code) {
	case 0: return "none";
	case SNP_GUEST_VMM_ERR_INVALID_LEN: return "INVALID_LEN: certificate buffer too small";
	case SNP_GUEST_VMM_ERR_BUSY: return "BUSY: the host throttled the request";
	default: return "unknown";
	}
}

/* The length of the certificate table in certs (len bytes), as the kernel
 * measures it for configfs-tsm's auxblob: the furthest end of any entry
 * before the all-zero one, at most len. 0: the host gave none. */
static size_t cert_table_len(const uint8_t *certs, size_t len)
{
	static const uint8_t zero[CERT_ENTRY_SIZE];
	uint64_t end = 0;
	for (size_t pos = 0; pos + CERT_ENTRY_SIZE <= len; pos += CERT_ENTRY_SIZE) {
		const uint8_t *e = certs + pos;
		if (memcmp(e, zero, CERT_ENTRY_SIZE) == 0)
			break;
		uint64_t e_end = (uint64_t)le32_get(e + 16) + le32_get(e + 20);
		if (e_end > end)
			end = e_end;
	}
	return end > len ? len : (size_t)end;
}

static int request_failed(const struct snp_guest_request_ioctl *io, int e, size_t certs_len, struct uvm_err *err)
{
	const char *dev = attest_sev_guest_seam.dev;
	if (io->exitinfo2 == 0)
		return uvm_fail(err, e,
				"SNP_GET_EXT_REPORT on %s with a %zu-byte certificate buffer failed: %s (no firmware "
				"or VMM error code%s)",
				dev, certs_len, strerror(e),
				e == ENOTTY ? "; the kernel refuses guest requests once it has disabled the VM's "
					      "communication key (VMPCK) after a failure"
					    : "");
	return uvm_fail(err, e,
			"SNP_GET_EXT_REPORT on %s with a %zu-byte certificate buffer failed: %s (firmware error 0x%x: "
			"%s; VMM error %u: %s)",
			dev, certs_len, strerror(e), (unsigned)io->fw_error, fw_error_name(io->fw_error),
			(unsigned)io->vmm_error, vmm_error_name(io->vmm_error));
}

/* One SNP_GET_EXT_REPORT with certs_len bytes of room. 1: the host's
 * certificates need *needed bytes; 0: done; -1: failed. */
static int ext_report(int fd, const uint8_t report_data[SNP_REPORT_DATA_LEN], uint8_t *certs, size_t certs_len,
		      struct snp_report_resp *resp, size_t *needed, struct uvm_err *err)
{
	struct snp_ext_report_req req;
	struct snp_guest_request_ioctl io;
	memset(&req, 0, sizeof req);
	memset(resp, 0, sizeof *resp);
	memset(&io, 0, sizeof io);
	memset(certs, 0, certs_len);
	memcpy(req.data.user_data, report_data, SNP_REPORT_DATA_LEN);
	req.data.vmpl = 0;
	req.certs_address = (uint64_t)(uintptr_t)certs;
	req.certs_len = (uint32_t)certs_len;
	io.msg_version = 1;
	io.req_data = (uint64_t)(uintptr_t)&req;
	io.resp_data = (uint64_t)(uintptr_t)resp;
	if (attest_sev_guest_seam.ioctl(attest_sev_guest_seam.ctx, fd, SNP_GET_EXT_REPORT, &io) == 0)
		return 0;
	int e = errno;
	if (e == EIO && io.vmm_error == SNP_GUEST_VMM_ERR_INVALID_LEN) {
		*needed = req.certs_len;
		return 1;
	}
	return request_failed(&io, e, certs_len, err);
}

static int sev_guest_get_report(const uint8_t report_data[SNP_REPORT_DATA_LEN], struct attest_result *out,
				struct uvm_err *err)
{
	const char *dev = attest_sev_guest_seam.dev;
	struct snp_report_resp *resp = malloc(sizeof *resp);
	size_t certs_len = CERTS_FIRST_LEN, needed = 0;
	uint8_t *certs = malloc(certs_len);
	int rc = -1, fd = -1;
	if (!resp || !certs) {
		rc = uvm_fail(err, ENOMEM, "out of memory for an SNP report");
		goto out;
	}
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rc = uvm_fail(err, errno, "cannot open %s: %s", dev, strerror(errno));
		goto out;
	}
	rc = ext_report(fd, report_data, certs, certs_len, resp, &needed, err);
	if (rc == 1) {
		/* The host has more certificates: once more with the room it asked for. */
		if (needed <= certs_len || needed > ATTEST_AUXBLOB_MAX || needed % CERTS_PAGE) {
			rc = uvm_fail(err, EPROTO,
				      "SNP_GET_EXT_REPORT on %s: the host's certificates do not fit in %zu bytes and "
				      "it asks for %zu (expected more, a whole number of %u-byte pages, at most %u)",
				      dev, certs_len, needed, CERTS_PAGE, ATTEST_AUXBLOB_MAX);
			goto out;
		}
		uint8_t *bigger = realloc(certs, needed);
		if (!bigger) {
			rc = uvm_fail(err, ENOMEM, "out of memory for %zu bytes of certificates", needed);
			goto out;
		}
		certs = bigger;
		certs_len = needed;
		rc = ext_report(fd, report_data, certs, certs_len, resp, &needed, err);
		if (rc == 1)
			rc = uvm_fail(err, EAGAIN,
				      "SNP_GET_EXT_REPORT on %s: the host's certificates still do not fit in the %zu "
				      "bytes it asked for (now %zu)",
				      dev, certs_len, needed);
	}
	if (rc)
		goto out;
	uint32_t status = le32_get(resp->data), size = le32_get(resp->data + 4);
	if (status != 0) {
		rc = uvm_fail(err, EPROTO, "SNP_GET_EXT_REPORT: the PSP returned status 0x%x (%s)", status,
			      fw_error_name(status));
		goto out;
	}
	if (size != SNP_REPORT_SIZE) {
		rc = uvm_fail(err, EPROTO, "SNP_GET_EXT_REPORT: report size %u, expected %u", size, SNP_REPORT_SIZE);
		goto out;
	}
	memcpy(out->raw, resp->data + RESP_REPORT_OFFSET, SNP_REPORT_SIZE);
	size_t table = cert_table_len(certs, certs_len);
	if (table > 0) {
		uint8_t *aux = realloc(certs, table);
		if (aux) {
			out->auxblob = aux;
			out->auxblob_len = table;
			certs = NULL;
		} else {
			rc = uvm_fail(err, ENOMEM, "out of memory for the certificate table");
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(certs);
	free(resp);
	return rc;
}

const struct attest_backend attest_backend_sev_guest = {"sev-guest", sev_guest_available, sev_guest_get_report};
