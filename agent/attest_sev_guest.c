/* /dev/sev-guest back-end (Linux 5.19+): the SNP_GET_REPORT ioctl. The
 * response holds status, size and the report at offset 0x20. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/sev-guest.h>

#include "attest.h"
#include "attest_seam.h"
#include "le.h"

#define RESP_REPORT_OFFSET 0x20u

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

static int sev_guest_get_report(const uint8_t report_data[SNP_REPORT_DATA_LEN],
				struct attest_result *out, struct uvm_err *err)
{
	struct snp_report_req req;
	struct snp_report_resp resp;
	struct snp_guest_request_ioctl io;
	memset(&req, 0, sizeof req);
	memset(&resp, 0, sizeof resp);
	memset(&io, 0, sizeof io);
	memcpy(req.user_data, report_data, SNP_REPORT_DATA_LEN);
	req.vmpl = 0;
	io.msg_version = 1;
	io.req_data = (uint64_t)(uintptr_t)&req;
	io.resp_data = (uint64_t)(uintptr_t)&resp;

	const char *dev = attest_sev_guest_seam.dev;
	int fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return uvm_fail(err, errno, "cannot open %s: %s", dev, strerror(errno));
	int rc = attest_sev_guest_seam.ioctl(attest_sev_guest_seam.ctx, fd, SNP_GET_REPORT, &io);
	int e = errno;
	close(fd);
	if (rc != 0)
		return uvm_fail(err, e, "SNP_GET_REPORT failed: %s (firmware error 0x%llx)", strerror(e),
				(unsigned long long)io.exitinfo2);
	uint32_t status = le32_get(resp.data), size = le32_get(resp.data + 4);
	if (status != 0)
		return uvm_fail(err, EPROTO, "SNP_GET_REPORT: the PSP returned status 0x%x", status);
	if (size != SNP_REPORT_SIZE)
		return uvm_fail(err, EPROTO, "SNP_GET_REPORT: report size %u, expected %u", size,
				SNP_REPORT_SIZE);
	memcpy(out->raw, resp.data + RESP_REPORT_OFFSET, SNP_REPORT_SIZE);
	return 0;
}

const struct attest_backend attest_backend_sev_guest = {"sev-guest", sev_guest_available,
							 sev_guest_get_report};
