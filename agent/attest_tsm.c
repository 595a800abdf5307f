/* configfs-tsm back-end (Linux 6.7+, Documentation/ABI/testing/configfs-tsm):
 * mkdir a report entry, read its generation, write privlevel (where the
 * provider has one) and the 64-byte REPORT_DATA to inblob, read outblob (the
 * raw report) and auxblob (certificates the host supplied, optional), then
 * read generation again: it must have advanced by exactly our writes, or
 * another writer used the entry in between and what we read may be its
 * report, or a report from one request and certificates from another. Then
 * we try again, a few times. Finally the entry is removed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attest.h"
#include "attest_seam.h"
#include "file_util.h"

struct attest_tsm_seam attest_tsm_seam = {"/sys/kernel/config/tsm/report", NULL, NULL};

#define TSM_ATTEMPTS 3
#define TSM_PRIVLEVEL_MAX 3u /* include/linux/tsm.h */
#define TSM_PATH_MAX 512

/* What configfs does at this step, when the kernel is played by a test. */
static void kernel_step(enum attest_tsm_step step, const char *path)
{
	if (attest_tsm_seam.kernel)
		attest_tsm_seam.kernel(attest_tsm_seam.ctx, step, path);
}

static int tsm_mkdir(const char *dir)
{
	if (mkdir(dir, 0700) != 0)
		return -1;
	kernel_step(ATTEST_TSM_MKDIR, dir);
	return 0;
}

static void tsm_rmdir(const char *dir)
{
	kernel_step(ATTEST_TSM_RMDIR, dir);
	rmdir(dir);
}

/* dir/name into path; fails rather than truncate. */
static int attr_path(char path[TSM_PATH_MAX], const char *dir, const char *name, struct uvm_err *err)
{
	int n = snprintf(path, TSM_PATH_MAX, "%s/%s", dir, name);
	if (n < 0 || n >= TSM_PATH_MAX)
		return uvm_fail(err, ENAMETOOLONG, "configfs-tsm path %s/%s is too long", dir, name);
	return 0;
}

static int read_attr(const char *path, size_t max, struct file_buf *b, struct uvm_err *err)
{
	kernel_step(ATTEST_TSM_READ, path);
	return file_read_all(path, max, b, err);
}

static int write_attr(const char *path, const void *data, size_t len, struct uvm_err *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return uvm_fail(err, errno, "cannot open %s: %s", path, strerror(errno));
	ssize_t n = write(fd, data, len);
	int e = errno;
	close(fd);
	if (n != (ssize_t)len)
		return uvm_fail(err, n < 0 ? e : EIO, "writing %s failed: %s", path,
				n < 0 ? strerror(e) : "short write");
	kernel_step(ATTEST_TSM_WRITE, path);
	return 0;
}

/* A decimal number and an optional newline (sysfs_emit "%lu\n"/"%u\n"). */
static int read_number(const char *dir, const char *name, unsigned long max, unsigned long *out, struct uvm_err *err)
{
	char path[TSM_PATH_MAX];
	struct file_buf b;
	if (attr_path(path, dir, name, err) || read_attr(path, 64, &b, err))
		return -1;
	size_t len = b.len;
	if (len > 0 && b.data[len - 1] == '\n')
		len--;
	unsigned long v = 0;
	int ok = len > 0 && len <= 20;
	for (size_t i = 0; ok && i < len; i++) {
		unsigned d = (unsigned char)b.data[i] - '0';
		if (d > 9 || v > (max - d) / 10)
			ok = 0;
		else
			v = v * 10 + d;
	}
	file_buf_free(&b);
	if (!ok)
		return uvm_fail(err, EPROTO, "%s does not hold a decimal number up to %lu", path, max);
	*out = v;
	return 0;
}

/* Where the provider shows privlevel (sev_guest: the VMPL to report),
 * writes privlevel_floor to it: the guest's own VMPL, the only level it can
 * ask the firmware for (left at its default of 0, a guest that runs at a
 * higher VMPL, under an SVSM, gets no report at all). Returns the number
 * of writes (0 or 1), or -1. */
static int set_privlevel(const char *dir, struct uvm_err *err)
{
	char path[TSM_PATH_MAX];
	unsigned long floor = 0;
	if (attr_path(path, dir, "privlevel", err))
		return -1;
	if (access(path, F_OK) != 0)
		return 0;
	if (read_number(dir, "privlevel_floor", ~0ul, &floor, err))
		return -1;
	if (floor > TSM_PRIVLEVEL_MAX)
		return uvm_fail(err, EPROTO, "%s/privlevel_floor is %lu, above the highest privilege level (%u)", dir,
				floor, TSM_PRIVLEVEL_MAX);
	char text[8];
	int n = snprintf(text, sizeof text, "%lu\n", floor);
	if (write_attr(path, text, (size_t)n, err))
		return -1;
	return 1;
}

/* outblob must be exactly one report; auxblob is optional (absent if the
 * provider shows none, empty if the host gave none). On failure nothing is
 * left allocated in out. */
static int read_blobs(const char *dir, struct attest_result *out, struct uvm_err *err)
{
	char path[TSM_PATH_MAX];
	struct file_buf b;
	if (attr_path(path, dir, "outblob", err) || read_attr(path, 2 * SNP_REPORT_SIZE, &b, err))
		return -1;
	if (b.len != SNP_REPORT_SIZE) {
		size_t got = b.len;
		file_buf_free(&b);
		return uvm_fail(err, EPROTO, "%s holds %zu bytes, an SNP report has %u", path, got, SNP_REPORT_SIZE);
	}
	memcpy(out->raw, b.data, SNP_REPORT_SIZE);
	file_buf_free(&b);
	if (attr_path(path, dir, "auxblob", err))
		return -1;
	if (access(path, F_OK) != 0)
		return 0;
	if (read_attr(path, ATTEST_AUXBLOB_MAX, &b, err))
		return -1;
	if (b.len == 0) {
		file_buf_free(&b);
		return 0;
	}
	out->auxblob = (uint8_t *)b.data;
	out->auxblob_len = b.len;
	return 0;
}

/* One request on the entry dir. 1: another writer changed the entry
 * meanwhile (nothing kept; gen_from and gen_to say how); 0: done; -1: failed. */
static int tsm_request(const char *dir, const uint8_t report_data[SNP_REPORT_DATA_LEN], struct attest_result *out,
		       unsigned long *gen_from, unsigned long *gen_to, struct uvm_err *err)
{
	char path[TSM_PATH_MAX];
	unsigned long before, after;
	if (read_number(dir, "generation", ~0ul, &before, err))
		return -1;
	int writes = set_privlevel(dir, err);
	if (writes < 0 || attr_path(path, dir, "inblob", err) ||
	    write_attr(path, report_data, SNP_REPORT_DATA_LEN, err))
		return -1;
	writes++;
	if (read_blobs(dir, out, err))
		return -1;
	if (read_number(dir, "generation", ~0ul, &after, err)) {
		attest_result_free(out);
		return -1;
	}
	if (after - before == (unsigned long)writes)
		return 0;
	attest_result_free(out);
	*gen_from = before;
	*gen_to = after;
	return 1;
}

static int tsm_get_report(const uint8_t report_data[SNP_REPORT_DATA_LEN], struct attest_result *out,
			  struct uvm_err *err)
{
	char dir[TSM_PATH_MAX];
	int n = snprintf(dir, sizeof dir, "%s/uvm-%d", attest_tsm_seam.root, (int)getpid());
	if (n < 0 || n >= (int)sizeof dir)
		return uvm_fail(err, ENAMETOOLONG, "configfs-tsm root %s is too long", attest_tsm_seam.root);
	if (tsm_mkdir(dir) != 0 && errno != EEXIST)
		return uvm_fail(err, errno, "mkdir %s: %s", dir, strerror(errno));
	unsigned long from = 0, to = 0;
	int rc = 1;
	for (int attempt = 0; attempt < TSM_ATTEMPTS && rc == 1; attempt++)
		rc = tsm_request(dir, report_data, out, &from, &to, err);
	if (rc == 1)
		rc = uvm_fail(err, EBUSY,
			      "%s: another writer used this report entry while we read it (generation went from %lu to "
			      "%lu over our own writes), %d times; nothing read was kept",
			      dir, from, to, TSM_ATTEMPTS);
	tsm_rmdir(dir);
	return rc;
}

/* The directory exists whenever the kernel has TSM_REPORTS; only a
 * registered provider (sev_guest under SNP) lets a report entry be created. */
static int tsm_available(void)
{
	char dir[TSM_PATH_MAX];
	int n = snprintf(dir, sizeof dir, "%s/uvm-probe-%d", attest_tsm_seam.root, (int)getpid());
	if (n < 0 || n >= (int)sizeof dir || tsm_mkdir(dir) != 0)
		return 0;
	tsm_rmdir(dir);
	return 1;
}

const struct attest_backend attest_backend_tsm = {"configfs-tsm", tsm_available, tsm_get_report};
