/* Where the production attestation back-ends meet the kernel, as plain
 * data with production defaults, so that a host unit test can play the
 * kernel (tests/unit/test_attest_backends.c). Nothing here is test code:
 * the guest runs with the defaults and never changes them. */
#ifndef UVM_AGENT_ATTEST_SEAM_H
#define UVM_AGENT_ATTEST_SEAM_H

struct snp_guest_request_ioctl; /* <linux/sev-guest.h> */

/* configfs-tsm (agent/attest_tsm.c). */
enum attest_tsm_step {
	ATTEST_TSM_MKDIR, /* after an entry was made (path: the entry) */
	ATTEST_TSM_WRITE, /* after an attribute was written (path: the attribute) */
	ATTEST_TSM_READ,  /* before an attribute is read (path: the attribute) */
	ATTEST_TSM_RMDIR, /* before an entry is removed (path: the entry) */
};

struct attest_tsm_seam {
	const char *root; /* "/sys/kernel/config/tsm/report" */
	/* NULL in the guest, where configfs is the kernel. On a plain
	 * directory a test sets it to do what configfs would do at each step. */
	void (*kernel)(void *ctx, enum attest_tsm_step step, const char *path);
	void *ctx;
};
extern struct attest_tsm_seam attest_tsm_seam;

/* /dev/sev-guest (agent/attest_sev_guest.c). */
struct attest_sev_guest_seam {
	const char *dev; /* "/dev/sev-guest" */
	/* ioctl(2) on the open device: 0, or -1 with errno set (and, as the
	 * kernel does, io->exitinfo2 filled when a request got that far). */
	int (*ioctl)(void *ctx, int fd, unsigned long cmd, struct snp_guest_request_ioctl *io);
	void *ctx;
};
extern struct attest_sev_guest_seam attest_sev_guest_seam;

#endif
