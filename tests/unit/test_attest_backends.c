/* The production attestation back-ends (agent/attest_tsm.c,
 * agent/attest_sev_guest.c) on the host, through their seams
 * (agent/attest_seam.h), against the kernel's documented interfaces played
 * here:
 *  - configfs-tsm (Documentation/ABI/testing/configfs-tsm, drivers/virt/coco/
 *    tsm.c): a plain directory whose files this test keeps as configfs would:
 *    mkdir makes the attributes, a write to inblob or privlevel advances
 *    generation, reading outblob/auxblob makes the report for the current
 *    generation; "another writer" can write the same entry at any step.
 *  - /dev/sev-guest (include/uapi/linux/sev-guest.h, drivers/virt/coco/
 *    sev-guest/sev-guest.c): an ioctl that answers SNP_GET_EXT_REPORT as the
 *    kernel does, including EIO + SNP_GUEST_VMM_ERR_INVALID_LEN with the
 *    needed length (bytes) in certs_len, firmware errors in exitinfo2 and
 *    exitinfo2 = 0xff for a request that never reached the firmware.
 * Checks the bytes returned and that every error names what failed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/sev-guest.h>

#include "attest.h"
#include "attest_seam.h"
#include "check.h"
#include "file_util.h"
#include "le.h"
#include "snp_report.h"

#define PAGE 4096u
#define VMM_ERR(x) ((uint64_t)(x) << 32)
#define FW_INVALID_PARAM 0x16u /* SEV_RET_INVALID_PARAM */
#define FW_INVALID_KEY 0x27u   /* SEV_RET_INVALID_KEY */

static char tmpdir[] = "/tmp/uvm-attest-XXXXXX";
static char tsm_root[256], nowhere[256], sev_dev[256];

/* ------------------------------------------------------------ helpers */

static void put_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len)) {
		perror(path);
		exit(2);
	}
	close(fd);
}

static void put_text(const char *dir, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put_text(const char *dir, const char *name, const char *fmt, ...)
{
	char text[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	put_file(dir, name, text, strlen(text));
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* Removes dir's entries (files and empty directories), then dir if asked. */
static void empty_dir(const char *dir, int remove_dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *de;
		char path[600];
		while ((de = readdir(d)) != NULL) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
			if (unlink(path) != 0)
				empty_dir(path, 1);
		}
		closedir(d);
	}
	if (remove_dir)
		rmdir(dir);
}

/* A version-3 report as the firmware would make it; tag goes to report_id[0]
 * so a test can tell which request a report answered. */
static void make_report(uint8_t out[SNP_REPORT_SIZE], const uint8_t rd[SNP_REPORT_DATA_LEN], uint32_t vmpl, uint8_t tag)
{
	struct snp_report r;
	memset(&r, 0, sizeof r);
	r.version = 3;
	r.vmpl = vmpl;
	r.sig_algo = SNP_SIG_ALGO_ECDSA_P384_SHA384;
	memcpy(r.report_data, rd, SNP_REPORT_DATA_LEN);
	r.report_id[0] = tag;
	snp_report_serialize(&r, out);
}

/* A certificate table (GHCB spec: {GUID, u32 offset, u32 length}..., an
 * all-zero entry) with n entries and their bodies, total bytes long. */
static uint8_t *make_cert_table(size_t total, unsigned n)
{
	uint8_t *t = calloc(1, total);
	size_t table = (n + 1) * 24, body = (total - table) / n;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = t + 24 * i;
		memset(e, 0x60 + i, 16);
		size_t off = table + i * body, len = i + 1 == n ? total - off : body;
		le32_put(e + 16, (uint32_t)off);
		le32_put(e + 20, (uint32_t)len);
		memset(t + off, 0xc0 + i, len);
	}
	return t;
}

static void request_data(uint8_t rd[SNP_REPORT_DATA_LEN], uint8_t seed)
{
	for (unsigned i = 0; i < SNP_REPORT_DATA_LEN; i++)
		rd[i] = (uint8_t)(seed + 7 * i);
}

/* ------------------------------------------------ configfs-tsm, played */

struct fake_tsm {
	/* the provider and the host */
	int show_privlevel, show_auxblob;
	unsigned floor;
	const uint8_t *aux;
	size_t aux_len;
	size_t outblob_len;          /* what outblob holds: SNP_REPORT_SIZE, or wrong */
	int outblob_unreadable;      /* reading outblob fails (the firmware refused) */
	int wrong_report_data;       /* the report carries other REPORT_DATA */
	const char *generation_text; /* shown instead of the number */
	int generation_lost;         /* generation cannot be read once a report was made */
	const char *floor_text;      /* shown instead of the floor */
	/* another writer on the same entry */
	int intrude_after_inblob;   /* after our inblob write, this many times */
	int intrude_before_auxblob; /* between outblob and auxblob, this many times */
	/* the entry's state, as tsm.c keeps it */
	char entry[512];
	unsigned long write_gen, read_gen;
	int have_report;
	uint8_t inblob[SNP_REPORT_DATA_LEN];
	size_t inblob_len;
	unsigned privlevel;
	/* what was seen */
	int mkdirs, rmdirs, reports, inblob_writes, privlevel_writes, privlevel_refused;
	unsigned privlevel_last;
};

static void tsm_show_generation(struct fake_tsm *f)
{
	if (f->generation_text)
		put_text(f->entry, "generation", "%s", f->generation_text);
	else
		put_text(f->entry, "generation", "%lu\n", f->write_gen);
}

static void another_writer(struct fake_tsm *f)
{
	memset(f->inblob, 0xee, sizeof f->inblob);
	f->inblob_len = sizeof f->inblob;
	f->write_gen++;
	tsm_show_generation(f);
}

static void tsm_make_report(struct fake_tsm *f)
{
	uint8_t rep[SNP_REPORT_SIZE];
	uint8_t rd[SNP_REPORT_DATA_LEN];
	memcpy(rd, f->inblob, sizeof rd);
	if (f->wrong_report_data)
		rd[0] ^= 0xff;
	make_report(rep, rd, f->privlevel, (uint8_t)f->write_gen);
	size_t n = f->outblob_len;
	uint8_t *blob = calloc(1, n + 1);
	memcpy(blob, rep, n < sizeof rep ? n : sizeof rep);
	put_file(f->entry, "outblob", blob, n);
	free(blob);
	if (f->show_auxblob)
		put_file(f->entry, "auxblob", f->aux, f->aux_len);
	f->reports++;
	f->read_gen = f->write_gen;
	f->have_report = 1;
}

static void tsm_kernel(void *ctx, enum attest_tsm_step step, const char *path)
{
	struct fake_tsm *f = ctx;
	const char *base = strrchr(path, '/') + 1;
	struct file_buf b;
	switch (step) {
	case ATTEST_TSM_MKDIR:
		f->mkdirs++;
		snprintf(f->entry, sizeof f->entry, "%s", path);
		f->write_gen = f->read_gen = 0;
		f->have_report = 0;
		f->inblob_len = 0;
		f->privlevel = 0;
		put_file(path, "inblob", NULL, 0);
		put_file(path, "outblob", NULL, 0);
		put_text(path, "provider", "sev_guest\n");
		tsm_show_generation(f);
		if (f->show_privlevel) {
			put_file(path, "privlevel", NULL, 0);
			if (f->floor_text)
				put_text(path, "privlevel_floor", "%s", f->floor_text);
			else
				put_text(path, "privlevel_floor", "%u\n", f->floor);
		}
		if (f->show_auxblob)
			put_file(path, "auxblob", NULL, 0);
		break;
	case ATTEST_TSM_WRITE:
		if (file_read_all(path, 4096, &b, NULL) != 0)
			break;
		if (!strcmp(base, "inblob")) {
			f->inblob_writes++;
			f->inblob_len = b.len < sizeof f->inblob ? b.len : sizeof f->inblob;
			memcpy(f->inblob, b.data, f->inblob_len);
			f->write_gen++;
			tsm_show_generation(f);
			if (f->intrude_after_inblob > 0) {
				f->intrude_after_inblob--;
				another_writer(f);
			}
		} else if (!strcmp(base, "privlevel")) {
			f->privlevel_writes++;
			char *end;
			unsigned long v = strtoul(b.data, &end, 0);
			f->privlevel_last = (unsigned)v;
			if (end == b.data || v < f->floor || v > 3) {
				f->privlevel_refused++; /* the kernel: EINVAL, generation unchanged */
			} else {
				f->privlevel = (unsigned)v;
				f->write_gen++;
				tsm_show_generation(f);
			}
		}
		put_file(f->entry, base, NULL, 0); /* write-only: nothing to read back */
		file_buf_free(&b);
		break;
	case ATTEST_TSM_READ:
		if (!strcmp(base, "auxblob") && f->intrude_before_auxblob > 0) {
			f->intrude_before_auxblob--;
			another_writer(f);
		}
		if ((!strcmp(base, "outblob") || !strcmp(base, "auxblob")) &&
		    (!f->have_report || f->read_gen != f->write_gen))
			tsm_make_report(f);
		if (!strcmp(base, "generation") && f->generation_lost && f->have_report) {
			unlink(path);
			mkdir(path, 0700);
		}
		if (!strcmp(base, "outblob") && f->outblob_unreadable) {
			/* open succeeds, read fails: a directory stands in */
			unlink(path);
			mkdir(path, 0700);
		}
		break;
	case ATTEST_TSM_RMDIR:
		f->rmdirs++;
		empty_dir(path, 0); /* configfs drops the attributes with the item */
		break;
	}
}

static char entry_path[600];

static void tsm_setup(struct fake_tsm *f)
{
	memset(f, 0, sizeof *f);
	f->show_privlevel = 1;
	f->show_auxblob = 1;
	f->outblob_len = SNP_REPORT_SIZE;
	attest_tsm_seam.root = tsm_root;
	attest_tsm_seam.kernel = tsm_kernel;
	attest_tsm_seam.ctx = f;
	attest_sev_guest_seam.dev = nowhere; /* only configfs-tsm here */
	snprintf(entry_path, sizeof entry_path, "%s/uvm-%d", tsm_root, (int)getpid());
}

static int tsm_get(struct fake_tsm *f, const uint8_t rd[SNP_REPORT_DATA_LEN], struct attest_result *out,
		   struct uvm_err *err)
{
	(void)f;
	memset(out, 0, sizeof *out);
	memset(err, 0, sizeof *err);
	return attest_backend_tsm.get_report(rd, out, err);
}

static void test_tsm_report_without_certificates(void)
{
	struct fake_tsm f;
	struct attest_result out;
	struct uvm_err err;
	uint8_t rd[SNP_REPORT_DATA_LEN], want[SNP_REPORT_SIZE];
	tsm_setup(&f);
	request_data(rd, 1);
	CHECK_EQ_INT(tsm_get(&f, rd, &out, &err), 0, "tsm: a report: %s", err.msg);
	CHECK_EQ_INT(f.write_gen, 2, "tsm: generation advanced by our two writes (privlevel, inblob)");
	make_report(want, rd, 0, 2);
	CHECK(memcmp(out.raw, want, SNP_REPORT_SIZE) == 0, "tsm: the bytes are outblob's, for our inblob");
	CHECK(f.inblob_len == SNP_REPORT_DATA_LEN && memcmp(f.inblob, rd, sizeof rd) == 0,
	      "tsm: inblob got the 64 bytes of REPORT_DATA");
	CHECK(out.auxblob == NULL && out.auxblob_len == 0, "tsm: an empty auxblob is no certificates");
	CHECK_EQ_INT(f.privlevel_writes, 1, "tsm: privlevel written once");
	CHECK_EQ_INT(f.privlevel_last, 0, "tsm: privlevel = privlevel_floor (0)");
	CHECK_EQ_INT(f.reports, 1, "tsm: one report made");
	CHECK_EQ_INT(f.rmdirs, 1, "tsm: the entry is removed");
	CHECK(!exists(entry_path), "tsm: no entry left behind");
	attest_result_free(&out);
}

static void test_tsm_certificates(void)
{
	struct fake_tsm f;
	struct attest_result out;
	struct uvm_err err;
	uint8_t rd[SNP_REPORT_DATA_LEN];
	uint8_t *table = make_cert_table(2572, 3);
	tsm_setup(&f);
	f.aux = table;
	f.aux_len = 2572;
	request_data(rd, 2);
	CHECK_EQ_INT(tsm_get(&f, rd, &out, &err), 0, "tsm+certs: a report: %s", err.msg);
	CHECK(out.auxblob && out.auxblob_len == 2572 && memcmp(out.auxblob, table, 2572) == 0,
	      "tsm+certs: auxblob is the host's certificate table, byte for byte");
	attest_result_free(&out);
	CHECK(out.auxblob == NULL, "attest_result_free clears the auxblob");

	/* A provider without auxblob (the attribute is not shown). */
	tsm_setup(&f);
	f.show_auxblob = 0;
	CHECK_EQ_INT(tsm_get(&f, rd, &out, &err), 0, "tsm, no auxblob attribute: a report: %s", err.msg);
	CHECK(out.auxblob == NULL, "tsm, no auxblob attribute: no certificates");
	attest_result_free(&out);

	/* More than the bound: refused, nothing kept. */
	uint8_t *big = make_cert_table(ATTEST_AUXBLOB_MAX + 1, 2);
	tsm_setup(&f);
	f.aux = big;
	f.aux_len = ATTEST_AUXBLOB_MAX + 1;
	CHECK_EQ_INT(tsm_get(&f, rd, &out, &err), -1, "tsm: an auxblob over %u bytes is refused", ATTEST_AUXBLOB_MAX);
	CHECK_EQ_INT(err.code, EFBIG, "tsm: ... with EFBIG");
	CHECK_MSG(err.msg, "auxblob is larger than the limit of 65536",
		  "tsm: ... the message names auxblob and the limit");
	CHECK(out.auxblob == NULL, "tsm: ... and nothing is kept");
	CHECK(!exists(entry_path), "tsm: ... the entry is removed");
	free(big);
	free(table);
}

static void test_tsm_privlevel(void)
{
	struct fake_tsm f;
	struct attest_result out;
	struct uvm_err err;
	struct snp_report r;
	uint8_t rd[SNP_REPORT_DATA_LEN];
	request_data(rd, 3);

	/* A guest at VMPL 2 (under an SVSM): privlevel_floor 2. */
	tsm_setup(&f);
	f.floor = 2;
	CHECK_EQ_INT(tsm_get(&f, rd, &out, &err), 0, "tsm at VMPL 2: a report: %s", err.msg);
	CHECK_EQ_INT(f.privlevel_refused, 0, "tsm at VMPL 2: no privlevel below the floor written");
	CHECK_EQ_INT(f.privlevel_last, 2, "tsm at VMPL 2: privlevel = 2");
	CHECK(snp_report_parse(out.raw, SNP_REPORT_SIZE, &r, &err) == 0 && r.vmpl == 2,
	      "tsm at VMPL 2: the report is for VMPL 2 (two writes counted in generation)");
	attest_result_free(&out);

	/* A provider without privlevel: nothing written, generation +1. */
	tsm_setup(&f);
	f.show_privlevel = 0;
	CHECK_EQ_INT(tsm_get(&f, rd, &out, &err), 0, "tsm without privlevel: a report: %s", err.msg);
	CHECK_EQ_INT(f.privlevel_writes, 0, "tsm without privlevel: privlevel not written");
	CHECK_EQ_INT(f.inblob_writes, 1, "tsm without privlevel: one inblob write");
	attest_result_free(&out);

	/* A floor above TSM_PRIVLEVEL_MAX (3) or not a number. */
	tsm_setup(&f);
	f.floor_text = "7\n";
	CHECK_EQ_INT(tsm_get(&f, rd, &out, &err), -1, "tsm: privlevel_floor 7 is refused");
	CHECK_MSG(err.msg, "privlevel_floor is 7, above the highest privilege level (3)",
		  "tsm: ... the message says why");
	CHECK_EQ_INT(f.inblob_writes, 0, "tsm: ... before anything is requested");
	tsm_setup(&f);
	f.floor_text = "two\n";
	CHECK_EQ_INT(tsm_get(&f, rd, &out, &err), -1, "tsm: privlevel_floor \"two\" is refused");
	CHECK_MSG(err.msg, "privlevel_floor does not hold a decimal number", "tsm: ... the message names the file");
}

static void test_tsm_generation(void)
{
	struct fake_tsm f;
	struct attest_result out;
	struct uvm_err err;
	struct snp_report r;
	uint8_t rd[SNP_REPORT_DATA_LEN], want[SNP_REPORT_SIZE];
	request_data(rd, 4);

	/* Another writer right after our inblob: the report made would be its. */
	tsm_setup(&f);
	f.intrude_after_inblob = 1;
	CHECK_EQ_INT(tsm_get(&f, rd, &out, &err), 0, "tsm, a writer after our inblob: a report after a retry: %s",
		     err.msg);
	CHECK(snp_report_parse(out.raw, SNP_REPORT_SIZE, &r, &err) == 0 && memcmp(r.report_data, rd, sizeof rd) == 0,
	      "tsm, a writer after our inblob: the report is ours, never the other writer's");
	CHECK_EQ_INT(f.inblob_writes, 2, "tsm, a writer after our inblob: inblob written again");
	attest_result_free(&out);

	/* Another writer between outblob and auxblob: never a mixed pair. */
	uint8_t *table = make_cert_table(1000, 1);
	tsm_setup(&f);
	f.aux = table;
	f.aux_len = 1000;
	f.intrude_before_auxblob = 1;
	CHECK_EQ_INT(tsm_get(&f, rd, &out, &err), 0,
		     "tsm, a writer between outblob and auxblob: a report after a retry: %s", err.msg);
	make_report(want, rd, 0, (uint8_t)f.write_gen);
	CHECK(memcmp(out.raw, want, SNP_REPORT_SIZE) == 0,
	      "tsm, a writer between outblob and auxblob: the report is the last request's, with our REPORT_DATA");
	CHECK(out.auxblob_len == 1000 && memcmp(out.auxblob, table, 1000) == 0,
	      "tsm, a writer between outblob and auxblob: the certificates come with it");
	CHECK_EQ_INT(f.reports, 3, "tsm: reports made: ours, the writer's, ours again");
	attest_result_free(&out);

	/* A writer that never stops: give up, keep nothing. */
	tsm_setup(&f);
	f.aux = table;
	f.aux_len = 1000;
	f.intrude_after_inblob = 100;
	CHECK_EQ_INT(tsm_get(&f, rd, &out, &err), -1, "tsm, a writer on every attempt: fails");
	CHECK_EQ_INT(err.code, EBUSY, "tsm, a writer on every attempt: EBUSY");
	CHECK_MSG(err.msg, entry_path, "tsm, a writer on every attempt: the message names the entry");
	CHECK_MSG(err.msg, "another writer used this report entry",
		  "tsm, a writer on every attempt: ... and what happened");
	CHECK_EQ_INT(f.inblob_writes, 3, "tsm, a writer on every attempt: three attempts");
	CHECK(out.auxblob == NULL, "tsm, a writer on every attempt: nothing kept");
	CHECK(!exists(entry_path), "tsm, a writer on every attempt: the entry is removed");
	free(table);

	/* generation that cannot be read after the blobs were: nothing kept
	 * (LeakSanitizer checks the certificates read were freed). */
	table = make_cert_table(1000, 1);
	tsm_setup(&f);
	f.aux = table;
	f.aux_len = 1000;
	f.generation_lost = 1;
	CHECK_EQ_INT(tsm_get(&f, rd, &out, &err), -1, "tsm: generation unreadable after the report: fails");
	CHECK_MSG(err.msg, "/generation failed", "tsm: ... the message names generation");
	CHECK(out.auxblob == NULL, "tsm: ... the certificates read are not kept");
	CHECK(!exists(entry_path), "tsm: ... the entry is removed");
	free(table);

	/* generation that is not a number. */
	tsm_setup(&f);
	f.generation_text = "12abc\n";
	CHECK_EQ_INT(tsm_get(&f, rd, &out, &err), -1, "tsm: generation \"12abc\" is refused");
	CHECK_MSG(err.msg, "generation does not hold a decimal number", "tsm: ... the message names generation");
}

static void test_tsm_outblob(void)
{
	struct fake_tsm f;
	struct attest_result out;
	struct uvm_err err;
	uint8_t rd[SNP_REPORT_DATA_LEN];
	uint8_t *table = make_cert_table(500, 1);
	request_data(rd, 5);

	tsm_setup(&f);
	f.outblob_len = 1000;
	f.aux = table;
	f.aux_len = 500;
	CHECK_EQ_INT(tsm_get(&f, rd, &out, &err), -1, "tsm: a 1000-byte outblob is refused");
	CHECK_EQ_INT(err.code, EPROTO, "tsm: ... EPROTO");
	CHECK_MSG(err.msg, "outblob holds 1000 bytes, an SNP report has 1184", "tsm: ... the message names the sizes");
	CHECK(out.auxblob == NULL, "tsm: ... nothing kept");

	tsm_setup(&f);
	f.outblob_len = SNP_REPORT_SIZE + 16;
	CHECK_EQ_INT(tsm_get(&f, rd, &out, &err), -1, "tsm: a 1200-byte outblob is refused");
	CHECK_MSG(err.msg, "outblob holds 1200 bytes", "tsm: ... the message names the size");

	tsm_setup(&f);
	f.outblob_len = 3 * SNP_REPORT_SIZE;
	CHECK_EQ_INT(tsm_get(&f, rd, &out, &err), -1, "tsm: an outblob over the bound is refused");
	CHECK_EQ_INT(err.code, EFBIG, "tsm: ... EFBIG");
	CHECK_MSG(err.msg, "outblob is larger than the limit of 2368 bytes", "tsm: ... the message names the bound");

	tsm_setup(&f);
	f.outblob_unreadable = 1;
	CHECK_EQ_INT(tsm_get(&f, rd, &out, &err), -1, "tsm: outblob that cannot be read fails");
	CHECK_MSG(err.msg, "reading ", "tsm: ... the message says reading");
	CHECK_MSG(err.msg, "/outblob failed", "tsm: ... names outblob");
	CHECK(!exists(entry_path), "tsm: ... the entry is removed");
	free(table);
}

static void test_tsm_availability(void)
{
	struct fake_tsm f;
	struct attest_result out;
	struct uvm_err err;
	uint8_t rd[SNP_REPORT_DATA_LEN];
	request_data(rd, 6);
	tsm_setup(&f);
	CHECK_EQ_INT(attest_backend_tsm.available(), 1, "tsm: available where an entry can be made");
	CHECK(f.mkdirs == 1 && f.rmdirs == 1, "tsm: the probe entry is made and removed");
	attest_tsm_seam.root = nowhere;
	CHECK_EQ_INT(attest_backend_tsm.available(), 0, "tsm: not available without the report directory");
	CHECK_EQ_INT(tsm_get(&f, rd, &out, &err), -1, "tsm: no report without it");
	CHECK_EQ_INT(err.code, ENOENT, "tsm: ... ENOENT");
	CHECK_MSG(err.msg, "mkdir ", "tsm: ... the message says mkdir");
	CHECK_MSG(err.msg, nowhere, "tsm: ... and names the directory");
	CHECK(attest_probe() == NULL, "attest_probe: nothing here");
}

/* attest_get_report on top: parsing, REPORT_DATA, the back-end's name. */
static void test_tsm_through_attest(void)
{
	struct fake_tsm f;
	struct attest_result out;
	struct uvm_err err = {0};
	uint8_t rd[SNP_REPORT_DATA_LEN];
	uint8_t *table = make_cert_table(800, 2);
	request_data(rd, 7);
	tsm_setup(&f);
	f.aux = table;
	f.aux_len = 800;
	CHECK_EQ_STR(attest_probe(), "configfs-tsm", "attest_probe: configfs-tsm first");
	CHECK_EQ_INT(attest_get_report(rd, &out, &err), 0, "attest_get_report via configfs-tsm: %s", err.msg);
	CHECK_EQ_STR(out.backend, "configfs-tsm", "attest_get_report: the back-end is named");
	CHECK(memcmp(out.report.report_data, rd, sizeof rd) == 0 && out.report.version == 3,
	      "attest_get_report: the report parsed, with our REPORT_DATA");
	CHECK(out.auxblob_len == 800, "attest_get_report: with the certificates");
	attest_result_free(&out);

	tsm_setup(&f);
	f.aux = table;
	f.aux_len = 800;
	f.wrong_report_data = 1;
	CHECK_EQ_INT(attest_get_report(rd, &out, &err), -1,
		     "attest_get_report: a report for other REPORT_DATA is refused");
	CHECK_MSG(err.msg, "report from configfs-tsm does not carry the requested REPORT_DATA",
		  "attest_get_report: ... says so");
	CHECK(out.auxblob == NULL, "attest_get_report: ... nothing kept");

	tsm_setup(&f);
	f.aux = table;
	f.aux_len = 800;
	f.outblob_len = 100;
	CHECK_EQ_INT(attest_get_report(rd, &out, &err), -1, "attest_get_report: a back-end failure fails");
	CHECK_MSG(err.msg, "attestation report from configfs-tsm: ", "attest_get_report: ... names the back-end");
	CHECK_MSG(err.msg, "outblob holds 100 bytes", "attest_get_report: ... and the cause");
	free(table);
}

/* ---------------------------------------------- /dev/sev-guest, played */

struct fake_sev {
	/* the host's certificates (GHCB certificate table) */
	const uint8_t *certs;
	size_t certs_bytes;
	size_t grow;       /* the host's certificates grow by this much per request */
	size_t kernel_max; /* the most certs_len the kernel takes (SEV_FW_BLOB_MAX_SIZE) */
	uint32_t asks;     /* INVALID_LEN with this certs_len instead of the true need */
	/* failures */
	int fail_errno;
	uint64_t fail_exitinfo2; /* what the kernel copies back (0: nothing) */
	uint32_t status, report_size;
	/* what was seen */
	int calls, bad_fd;
	unsigned long cmd[4];
	uint32_t certs_len[4];
	uint8_t msg_version;
	uint32_t vmpl;
};

static int sev_ioctl(void *ctx, int fd, unsigned long cmd, struct snp_guest_request_ioctl *io)
{
	struct fake_sev *f = ctx;
	int n = f->calls++;
	if (fcntl(fd, F_GETFD) < 0)
		f->bad_fd++;
	if (n < 4)
		f->cmd[n] = cmd;
	f->msg_version = io->msg_version;
	if (!io->msg_version) {
		errno = EINVAL;
		return -1;
	}
	if (cmd != SNP_GET_EXT_REPORT) {
		io->exitinfo2 = 0xff;
		errno = ENOTTY;
		return -1;
	}
	struct snp_ext_report_req *req = (void *)(uintptr_t)io->req_data;
	struct snp_report_resp *resp = (void *)(uintptr_t)io->resp_data;
	uint8_t *certs = (void *)(uintptr_t)req->certs_address;
	if (n < 4)
		f->certs_len[n] = req->certs_len;
	f->vmpl = req->data.vmpl;
	if (f->fail_errno) {
		if (f->fail_exitinfo2)
			io->exitinfo2 = f->fail_exitinfo2;
		errno = f->fail_errno;
		return -1;
	}
	int want_certs = req->certs_len && req->certs_address;
	if (want_certs && (req->certs_len > f->kernel_max || req->certs_len % PAGE)) {
		io->exitinfo2 = 0xff; /* refused before the firmware */
		errno = EINVAL;
		return -1;
	}
	size_t have = f->certs_bytes ? f->certs_bytes + f->grow * (size_t)n : 0;
	if (have > (want_certs ? req->certs_len : 0)) {
		req->certs_len = f->asks ? f->asks : (uint32_t)((have + PAGE - 1) / PAGE * PAGE);
		io->exitinfo2 = VMM_ERR(SNP_GUEST_VMM_ERR_INVALID_LEN);
		errno = EIO;
		return -1;
	}
	memset(resp, 0, sizeof *resp);
	le32_put(resp->data, f->status);
	le32_put(resp->data + 4, f->report_size);
	make_report(resp->data + 0x20, req->data.user_data, req->data.vmpl, (uint8_t)n);
	if (want_certs) {
		memset(certs, 0, req->certs_len);
		if (have)
			memcpy(certs, f->certs, f->certs_bytes < have ? f->certs_bytes : have);
	}
	return 0; /* exitinfo2 0: the kernel copies nothing back */
}

static void sev_setup(struct fake_sev *f)
{
	memset(f, 0, sizeof *f);
	f->kernel_max = 16u << 10;
	f->report_size = SNP_REPORT_SIZE;
	attest_sev_guest_seam.dev = sev_dev;
	attest_sev_guest_seam.ioctl = sev_ioctl;
	attest_sev_guest_seam.ctx = f;
	attest_tsm_seam.root = nowhere; /* only /dev/sev-guest here */
	attest_tsm_seam.kernel = NULL;
}

static int sev_get(const uint8_t rd[SNP_REPORT_DATA_LEN], struct attest_result *out, struct uvm_err *err)
{
	memset(out, 0, sizeof *out);
	memset(err, 0, sizeof *err);
	return attest_backend_sev_guest.get_report(rd, out, err);
}

static void test_sev_report(void)
{
	struct fake_sev f;
	struct attest_result out;
	struct uvm_err err;
	uint8_t rd[SNP_REPORT_DATA_LEN], want[SNP_REPORT_SIZE];
	request_data(rd, 10);
	sev_setup(&f);
	CHECK_EQ_INT(attest_backend_sev_guest.available(), 1, "sev-guest: available where the device opens");
	CHECK_EQ_INT(sev_get(rd, &out, &err), 0, "sev-guest: a report: %s", err.msg);
	make_report(want, rd, 0, 0);
	CHECK(memcmp(out.raw, want, SNP_REPORT_SIZE) == 0,
	      "sev-guest: the report is the bytes at 0x20 of the response");
	CHECK(out.auxblob == NULL, "sev-guest: no certificates from the host, no auxblob");
	CHECK_EQ_INT(f.calls, 1, "sev-guest: one request");
	CHECK(f.cmd[0] == SNP_GET_EXT_REPORT, "sev-guest: SNP_GET_EXT_REPORT");
	CHECK_EQ_INT(f.certs_len[0], 16384, "sev-guest: with 16 KiB for certificates (SEV_FW_BLOB_MAX_SIZE)");
	CHECK_EQ_INT(f.msg_version, 1, "sev-guest: message version 1");
	CHECK_EQ_INT(f.vmpl, 0, "sev-guest: VMPL 0");
	CHECK_EQ_INT(f.bad_fd, 0, "sev-guest: on the open device");
	attest_result_free(&out);

	uint8_t *table = make_cert_table(2572, 3);
	sev_setup(&f);
	f.certs = table;
	f.certs_bytes = 2572;
	CHECK_EQ_INT(sev_get(rd, &out, &err), 0, "sev-guest+certs: a report: %s", err.msg);
	CHECK(out.auxblob && out.auxblob_len == 2572 && memcmp(out.auxblob, table, 2572) == 0,
	      "sev-guest+certs: auxblob is the certificate table, measured as configfs-tsm does (2572 bytes)");
	CHECK_EQ_INT(f.calls, 1, "sev-guest+certs: one request");
	attest_result_free(&out);
	free(table);

	/* A table whose entry claims more than the buffer: cut at the buffer, as the kernel does. */
	uint8_t odd[48] = {0};
	memset(odd, 0x11, 16);
	le32_put(odd + 16, 0xffffffffu);
	le32_put(odd + 20, 0xffffffffu);
	sev_setup(&f);
	f.certs = odd;
	f.certs_bytes = sizeof odd;
	CHECK_EQ_INT(sev_get(rd, &out, &err), 0, "sev-guest, an entry past the buffer: a report: %s", err.msg);
	CHECK_EQ_INT(out.auxblob_len, 16384, "sev-guest, an entry past the buffer: auxblob stops at the buffer");
	attest_result_free(&out);
}

static void test_sev_too_small(void)
{
	struct fake_sev f;
	struct attest_result out;
	struct uvm_err err;
	uint8_t rd[SNP_REPORT_DATA_LEN];
	uint8_t *table = make_cert_table(20000, 3);
	request_data(rd, 11);

	/* A kernel that takes more than 16 KiB: the retry with the size it asked for works. */
	sev_setup(&f);
	f.kernel_max = 64u << 10;
	f.certs = table;
	f.certs_bytes = 20000;
	CHECK_EQ_INT(sev_get(rd, &out, &err), 0, "sev-guest, certificates over 16 KiB: a report after a retry: %s",
		     err.msg);
	CHECK_EQ_INT(f.calls, 2, "sev-guest, too small: two requests");
	CHECK(f.certs_len[0] == 16384 && f.certs_len[1] == 20480,
	      "sev-guest, too small: the second with the 20480 bytes (5 pages) the kernel reported");
	CHECK(out.auxblob_len == 20000 && memcmp(out.auxblob, table, 20000) == 0,
	      "sev-guest, too small: then the whole certificate table");
	CHECK(memcmp(out.raw + 0x50, rd, sizeof rd) == 0, "sev-guest, too small: the report carries our REPORT_DATA");
	attest_result_free(&out);

	/* The pinned kernel: no more than SEV_FW_BLOB_MAX_SIZE; EINVAL before the firmware. */
	sev_setup(&f);
	f.certs = table;
	f.certs_bytes = 20000;
	CHECK_EQ_INT(sev_get(rd, &out, &err), -1, "sev-guest, certificates over what the kernel takes: fails");
	CHECK_EQ_INT(err.code, EINVAL, "sev-guest, ...: EINVAL");
	CHECK_MSG(err.msg, "with a 20480-byte certificate buffer failed: Invalid argument",
		  "sev-guest, ...: names the size");
	CHECK_MSG(err.msg, "did not reach the firmware", "sev-guest, ...: and that the firmware was not asked");

	/* Certificates that grow between the two requests. */
	sev_setup(&f);
	f.kernel_max = 64u << 10;
	f.certs = table;
	f.certs_bytes = 20000;
	f.grow = PAGE;
	CHECK_EQ_INT(sev_get(rd, &out, &err), -1, "sev-guest, still too small: fails");
	CHECK_EQ_INT(f.calls, 2, "sev-guest, still too small: after one retry");
	CHECK_MSG(err.msg, "still do not fit in the 20480 bytes it asked for (now 24576)",
		  "sev-guest, still too small: says so");
	CHECK(out.auxblob == NULL, "sev-guest, still too small: nothing kept");

	/* A host that asks for what cannot be: more than ATTEST_AUXBLOB_MAX, not whole pages, or no more. */
	static const uint32_t asks[] = {1u << 20, 20001, 16384};
	for (unsigned i = 0; i < 3; i++) {
		sev_setup(&f);
		f.kernel_max = 1u << 20;
		f.certs = table;
		f.certs_bytes = 20000;
		f.asks = asks[i];
		CHECK_EQ_INT(sev_get(rd, &out, &err), -1, "sev-guest, the host asks for %u bytes: refused", asks[i]);
		CHECK_EQ_INT(f.calls, 1, "sev-guest, the host asks for %u bytes: no second request", asks[i]);
		char want[64];
		snprintf(want, sizeof want, "it asks for %u", asks[i]);
		CHECK_MSG(err.msg, want, "sev-guest, the host asks for %u bytes: the message names it", asks[i]);
	}
	free(table);
}

static void test_sev_errors(void)
{
	struct fake_sev f;
	struct attest_result out;
	struct uvm_err err;
	uint8_t rd[SNP_REPORT_DATA_LEN];
	request_data(rd, 12);

	sev_setup(&f);
	f.fail_errno = EIO;
	f.fail_exitinfo2 = FW_INVALID_PARAM;
	CHECK_EQ_INT(sev_get(rd, &out, &err), -1, "sev-guest, firmware error: fails");
	CHECK_EQ_INT(err.code, EIO, "sev-guest, firmware error: EIO");
	CHECK_MSG(err.msg, "SNP_GET_EXT_REPORT on ", "sev-guest, firmware error: names the request");
	CHECK_MSG(err.msg, sev_dev, "sev-guest, firmware error: names the device");
	CHECK_MSG(err.msg, "firmware error 0x16: INVALID_PARAM; VMM error 0",
		  "sev-guest, firmware error: names the code");
	CHECK_EQ_INT(f.calls, 1, "sev-guest, firmware error: no retry");

	sev_setup(&f);
	f.fail_errno = EIO;
	CHECK_EQ_INT(sev_get(rd, &out, &err), -1, "sev-guest, EIO without a code: fails");
	CHECK_MSG(err.msg, "Input/output error (no firmware or VMM error code)",
		  "sev-guest, EIO without a code: says so");

	sev_setup(&f);
	f.fail_errno = ENOTTY;
	CHECK_EQ_INT(sev_get(rd, &out, &err), -1, "sev-guest, ENOTTY (VMPCK disabled): fails");
	CHECK_MSG(err.msg, "communication key (VMPCK)", "sev-guest, ENOTTY: the message says what it means");

	sev_setup(&f);
	f.fail_errno = ETIMEDOUT;
	f.fail_exitinfo2 = VMM_ERR(SNP_GUEST_VMM_ERR_BUSY);
	CHECK_EQ_INT(sev_get(rd, &out, &err), -1, "sev-guest, host busy: fails");
	CHECK_MSG(err.msg, "VMM error 2: BUSY", "sev-guest, host busy: names the VMM error");

	sev_setup(&f);
	f.status = FW_INVALID_KEY;
	CHECK_EQ_INT(sev_get(rd, &out, &err), -1, "sev-guest, response status INVALID_KEY: fails");
	CHECK_MSG(err.msg, "the PSP returned status 0x27 (INVALID_KEY)", "sev-guest, response status: names it");

	sev_setup(&f);
	f.report_size = 1000;
	CHECK_EQ_INT(sev_get(rd, &out, &err), -1, "sev-guest, a response shorter than a report: fails");
	CHECK_MSG(err.msg, "report size 1000, expected 1184", "sev-guest, short response: names the sizes");

	sev_setup(&f);
	f.report_size = 4000;
	CHECK_EQ_INT(sev_get(rd, &out, &err), -1, "sev-guest, a report size beyond the response: fails");
	CHECK_MSG(err.msg, "report size 4000", "sev-guest, oversize: names the size");

	sev_setup(&f);
	attest_sev_guest_seam.dev = nowhere;
	CHECK_EQ_INT(attest_backend_sev_guest.available(), 0, "sev-guest: not available without the device");
	CHECK_EQ_INT(sev_get(rd, &out, &err), -1, "sev-guest: no report without the device");
	CHECK_MSG(err.msg, "cannot open ", "sev-guest: ... the message says open");
	CHECK_EQ_INT(f.calls, 0, "sev-guest: ... no request");
}

static void test_sev_through_attest(void)
{
	struct fake_sev f;
	struct attest_result out;
	struct uvm_err err = {0};
	uint8_t rd[SNP_REPORT_DATA_LEN];
	uint8_t *table = make_cert_table(3000, 3);
	request_data(rd, 13);
	sev_setup(&f);
	f.certs = table;
	f.certs_bytes = 3000;
	CHECK_EQ_STR(attest_probe(), "sev-guest", "attest_probe: sev-guest when configfs-tsm is absent");
	CHECK_EQ_INT(attest_get_report(rd, &out, &err), 0, "attest_get_report via sev-guest: %s", err.msg);
	CHECK_EQ_STR(out.backend, "sev-guest", "attest_get_report: sev-guest named");
	CHECK(memcmp(out.report.report_data, rd, sizeof rd) == 0, "attest_get_report: our REPORT_DATA");
	CHECK(out.auxblob_len == 3000, "attest_get_report: with the certificates");
	attest_result_free(&out);

	sev_setup(&f);
	f.certs = table;
	f.certs_bytes = 3000;
	f.fail_errno = EIO;
	f.fail_exitinfo2 = FW_INVALID_PARAM;
	CHECK_EQ_INT(attest_get_report(rd, &out, &err), -1, "attest_get_report: a firmware error fails");
	CHECK_MSG(err.msg, "attestation report from sev-guest: SNP_GET_EXT_REPORT",
		  "attest_get_report: ... names back-end and request");
	free(table);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(tsm_root, sizeof tsm_root, "%s/tsm/report", tmpdir);
	snprintf(nowhere, sizeof nowhere, "%s/absent/report", tmpdir);
	snprintf(sev_dev, sizeof sev_dev, "%s/sev-guest", tmpdir);
	char tsm_parent[300];
	snprintf(tsm_parent, sizeof tsm_parent, "%s/tsm", tmpdir);
	if (mkdir(tsm_parent, 0700) || mkdir(tsm_root, 0700)) {
		perror(tsm_root);
		return 2;
	}
	put_file(tmpdir, "sev-guest", NULL, 0);
	/* Never the real kernel's interfaces from here on. */
	attest_tsm_seam.root = nowhere;
	attest_sev_guest_seam.dev = nowhere;

	test_tsm_report_without_certificates();
	test_tsm_certificates();
	test_tsm_privlevel();
	test_tsm_generation();
	test_tsm_outblob();
	test_tsm_availability();
	test_tsm_through_attest();
	test_sev_report();
	test_sev_too_small();
	test_sev_errors();
	test_sev_through_attest();

	empty_dir(tmpdir, 1);
	return check_done();
}
