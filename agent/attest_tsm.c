/* configfs-tsm back-end (Linux 6.7+): mkdir a report directory, write the
 * 64-byte REPORT_DATA to inblob, read outblob (the raw report) and auxblob
 * (certificates the host supplied, optional), check that nobody else wrote
 * to the directory in between (generation), remove the directory. */
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

static int read_attr(const char *path, size_t max, struct file_buf *b, struct uvm_err *err)
{
	kernel_step(ATTEST_TSM_READ, path);
	return file_read_all(path, max, b, err);
}

/* The directory exists whenever the kernel has TSM_REPORTS; only a
 * registered provider (sev_guest under SNP) lets a report entry be created. */
static int tsm_available(void)
{
	char dir[256];
	snprintf(dir, sizeof dir, "%s/uvm-probe-%d", attest_tsm_seam.root, (int)getpid());
	if (tsm_mkdir(dir) != 0)
		return 0;
	tsm_rmdir(dir);
	return 1;
}

static int write_file(const char *path, const void *data, size_t len, struct uvm_err *err)
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

static int read_generation(const char *dir, long *out, struct uvm_err *err)
{
	char path[512];
	struct file_buf b;
	snprintf(path, sizeof path, "%s/generation", dir);
	if (read_attr(path, 64, &b, err))
		return -1;
	*out = strtol(b.data, NULL, 10);
	file_buf_free(&b);
	return 0;
}

static int read_blobs(const char *dir, struct attest_result *out, struct uvm_err *err)
{
	char path[512];
	struct file_buf b;
	snprintf(path, sizeof path, "%s/outblob", dir);
	if (read_attr(path, 2 * SNP_REPORT_SIZE, &b, err))
		return -1;
	if (b.len != SNP_REPORT_SIZE) {
		size_t got = b.len;
		file_buf_free(&b);
		return uvm_fail(err, EPROTO, "%s holds %zu bytes, an SNP report has %u", path, got,
				SNP_REPORT_SIZE);
	}
	memcpy(out->raw, b.data, SNP_REPORT_SIZE);
	file_buf_free(&b);
	snprintf(path, sizeof path, "%s/auxblob", dir);
	if (read_attr(path, ATTEST_AUXBLOB_MAX, &b, NULL) == 0 && b.len > 0) {
		out->auxblob = (uint8_t *)b.data;
		out->auxblob_len = b.len;
	} else if (b.data) {
		file_buf_free(&b);
	}
	return 0;
}

static int tsm_get_report(const uint8_t report_data[SNP_REPORT_DATA_LEN], struct attest_result *out,
			  struct uvm_err *err)
{
	char dir[256], path[512];
	snprintf(dir, sizeof dir, "%s/uvm-%d", attest_tsm_seam.root, (int)getpid());
	if (tsm_mkdir(dir) != 0 && errno != EEXIST)
		return uvm_fail(err, errno, "mkdir %s: %s", dir, strerror(errno));
	long gen_before = 0, gen_after = -1;
	int rc = -1;
	snprintf(path, sizeof path, "%s/inblob", dir);
	if (write_file(path, report_data, SNP_REPORT_DATA_LEN, err) == 0 &&
	    read_generation(dir, &gen_before, err) == 0 && read_blobs(dir, out, err) == 0 &&
	    read_generation(dir, &gen_after, err) == 0) {
		rc = 0;
		if (gen_after != gen_before) {
			attest_result_free(out);
			rc = uvm_fail(err, EBUSY, "%s was changed by another writer while reading", dir);
		}
	}
	tsm_rmdir(dir);
	return rc;
}

const struct attest_backend attest_backend_tsm = {"configfs-tsm", tsm_available, tsm_get_report};
