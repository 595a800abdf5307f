/* Device-mapper buffers, tables and the ioctl sequence, with a fake ioctl:
 * this host has no device-mapper; the QEMU tests drive the real one. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/sysmacros.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "check.h"
#include "dm.h"

/* What the fake saw: the request, and a copy of the buffer as passed. */
#define MAX_CALLS 8
static struct {
	unsigned long request;
	uint8_t buf[UVM_DM_BUF_SIZE];
	uint32_t size;
} calls[MAX_CALLS];
static int ncalls;
static int fail_request_nr = -1; /* the _IOC_NR to fail, -1: none */
static int fail_errno;
static struct dm_ioctl *last_buf; /* the caller's buffer of the last call */

static int fake_ioctl(int fd, unsigned long request, struct dm_ioctl *io)
{
	(void)fd;
	if (ncalls < MAX_CALLS) {
		size_t n = io->data_size < UVM_DM_BUF_SIZE ? io->data_size : UVM_DM_BUF_SIZE;
		calls[ncalls].request = request;
		calls[ncalls].size = io->data_size;
		memcpy(calls[ncalls].buf, io, n);
		ncalls++;
	}
	last_buf = io;
	if ((int)_IOC_NR(request) == fail_request_nr) {
		errno = fail_errno;
		return -1;
	}
	if (request == DM_DEV_SUSPEND)
		io->dev = makedev(253, 300); /* a minor above 255 tests the encoding */
	if (request == DM_TABLE_STATUS) {
		struct dm_target_spec *s = (struct dm_target_spec *)((char *)io + io->data_start);
		memset(s, 0, sizeof *s);
		s->length = 8;
		strcpy(s->target_type, "integrity");
		strcpy((char *)(s + 1), "0 2088960 -");
		io->target_count = 1;
		io->data_size = io->data_start + sizeof *s + 16;
	}
	return 0;
}

static void reset(void)
{
	ncalls = 0;
	fail_request_nr = -1;
	last_buf = NULL;
}

static void test_init(void)
{
	uint64_t storage[64];
	struct dm_ioctl *io = (struct dm_ioctl *)storage;
	struct uvm_err err = {0};
	CHECK(uvm_dm_init(io, sizeof storage, "layer-0", DM_READONLY_FLAG, &err) == 0 && io->version[0] == 4 &&
		      io->data_size == sizeof storage && io->data_start == sizeof *io &&
		      io->flags == DM_READONLY_FLAG && strcmp(io->name, "layer-0") == 0,
	      "header filled");
	const char *bad[] = {"", "a b", "../x", "x/y", "..", "\xc3\xa9"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(uvm_dm_init(io, sizeof storage, bad[i], 0, &err) < 0, "name '%s' rejected", bad[i]);
	char longname[DM_NAME_LEN + 1];
	memset(longname, 'a', DM_NAME_LEN);
	longname[DM_NAME_LEN] = 0;
	CHECK(uvm_dm_init(io, sizeof storage, longname, 0, &err) < 0, "128-byte name rejected");
	longname[DM_NAME_LEN - 1] = 0;
	CHECK(uvm_dm_init(io, sizeof storage, longname, 0, &err) == 0, "127-byte name accepted");
	CHECK(uvm_dm_init(io, sizeof *io - 1, "x", 0, &err) < 0, "buffer smaller than header");
}

static void test_targets(void)
{
	uint64_t storage[UVM_DM_BUF_SIZE / 8];
	struct dm_ioctl *io = (struct dm_ioctl *)storage;
	struct uvm_err err = {0};
	struct uvm_dm_target t[2] = {
		{0, 100, "linear", "/dev/vda 0"},
		{100, 50, "zero", ""},
	};
	CHECK(uvm_dm_init(io, sizeof storage, "two", 0, &err) == 0 &&
		      uvm_dm_add_targets(io, sizeof storage, t, 2, &err) == 0,
	      "two targets: %s", err.msg);
	struct dm_target_spec *s0 = (struct dm_target_spec *)((char *)io + io->data_start);
	/* spec (40 bytes) + "/dev/vda 0\0" (11) = 51, padded to 56. */
	CHECK_EQ_INT(s0->next, 56, "first spec: next is its padded size");
	CHECK(s0->sector_start == 0 && s0->length == 100 && strcmp(s0->target_type, "linear") == 0 &&
		      strcmp((char *)(s0 + 1), "/dev/vda 0") == 0,
	      "first spec contents");
	struct dm_target_spec *s1 = (struct dm_target_spec *)((char *)s0 + s0->next);
	CHECK(s1->sector_start == 100 && s1->length == 50 && strcmp(s1->target_type, "zero") == 0 &&
		      ((char *)(s1 + 1))[0] == 0,
	      "second spec contents");
	CHECK_EQ_INT(io->target_count, 2, "target_count");
	CHECK_EQ_INT(io->data_size, sizeof *io + 56 + 48, "data_size covers exactly the table");
	CHECK(((uintptr_t)s1 & 7) == 0, "specs 8-byte aligned");

	struct uvm_dm_target gap[2] = {{0, 100, "zero", ""}, {101, 5, "zero", ""}};
	uvm_dm_init(io, sizeof storage, "gap", 0, &err);
	CHECK(uvm_dm_add_targets(io, sizeof storage, gap, 2, &err) < 0, "gap rejected: %s", err.msg);
	struct uvm_dm_target zero_len = {0, 0, "zero", ""};
	uvm_dm_init(io, sizeof storage, "z", 0, &err);
	CHECK(uvm_dm_add_targets(io, sizeof storage, &zero_len, 1, &err) < 0, "0 length rejected");
	struct uvm_dm_target bad_type = {0, 1, "ver ity", ""};
	CHECK(uvm_dm_add_targets(io, sizeof storage, &bad_type, 1, &err) < 0, "bad type rejected");
	char *huge = malloc(UVM_DM_PARAMS_MAX + 1);
	memset(huge, 'x', UVM_DM_PARAMS_MAX);
	huge[UVM_DM_PARAMS_MAX] = 0;
	struct uvm_dm_target big = {0, 1, "zero", huge};
	CHECK(uvm_dm_add_targets(io, sizeof storage, &big, 1, &err) < 0, "params too long rejected");
	huge[1000] = 0;
	uvm_dm_init(io, 512, "small", 0, &err);
	CHECK(uvm_dm_add_targets(io, 512, &big, 1, &err) < 0, "table larger than buffer rejected");
	free(huge);
}

static void test_status_parse(void)
{
	uint64_t storage[128];
	struct dm_ioctl *io = (struct dm_ioctl *)storage;
	struct uvm_err err = {0};
	char type[16], status[64];
	struct uvm_dm_target t = {0, 8, "verity", "V"};
	uvm_dm_init(io, sizeof storage, "s", 0, &err);
	uvm_dm_add_targets(io, sizeof storage, &t, 1, &err);
	CHECK(uvm_dm_parse_status(io, sizeof storage, type, sizeof type, status, sizeof status, &err) == 0 &&
		      strcmp(type, "verity") == 0 && strcmp(status, "V") == 0,
	      "well-formed answer parsed");
	io->data_start = 8;
	CHECK(uvm_dm_parse_status(io, sizeof storage, type, sizeof type, status, sizeof status, &err) < 0,
	      "data_start inside the header rejected");
	io->data_start = sizeof *io;
	io->data_size = sizeof storage + 8;
	CHECK(uvm_dm_parse_status(io, sizeof storage, type, sizeof type, status, sizeof status, &err) < 0,
	      "data_size beyond buffer rejected");
	io->data_size = (uint32_t)(sizeof *io + sizeof(struct dm_target_spec) + 1);
	struct dm_target_spec *s = (struct dm_target_spec *)(io + 1);
	((char *)(s + 1))[0] = 'V'; /* no room for its NUL */
	CHECK(uvm_dm_parse_status(io, sizeof storage, type, sizeof type, status, sizeof status, &err) < 0,
	      "unterminated status rejected: %s", err.msg);
	io->data_size = sizeof storage;
	io->target_count = 2;
	CHECK(uvm_dm_parse_status(io, sizeof storage, type, sizeof type, status, sizeof status, &err) < 0,
	      "two targets rejected");
	io->target_count = 1;
	io->flags |= DM_BUFFER_FULL_FLAG;
	CHECK(uvm_dm_parse_status(io, sizeof storage, type, sizeof type, status, sizeof status, &err) < 0,
	      "buffer-full flag reported");
	io->flags = 0;
	CHECK(uvm_dm_parse_status(io, sizeof storage, type, 3, status, sizeof status, &err) < 0,
	      "type longer than caller buffer rejected");
}

static const struct dm_ioctl *call_io(int i)
{
	return (const struct dm_ioctl *)calls[i].buf;
}

static void test_activate_sequence(void)
{
	struct uvm_err err = {0};
	uint64_t dev = 0;
	char node[32];
	reset();
	uvm_dm_control_path = "/dev/null"; /* opened, never really ioctl'ed */
	uvm_dm_set_ioctl(fake_ioctl);
	struct uvm_dm_target t = {0, 16, "verity", "1 /dev/vdb /dev/vdb 4096 4096 2 3 sha256 aa -"};
	CHECK(uvm_dm_activate("layer-1", &t, 1, UVM_DM_READONLY, &dev, &err) == 0, "activate: %s", err.msg);
	CHECK(ncalls == 3 && calls[0].request == DM_DEV_CREATE && calls[1].request == DM_TABLE_LOAD &&
		      calls[2].request == DM_DEV_SUSPEND,
	      "create, load, resume in that order");
	CHECK((call_io(1)->flags & DM_READONLY_FLAG) && !(call_io(1)->flags & DM_SECURE_DATA_FLAG),
	      "verity table loaded read-only, not secret");
	CHECK(!(call_io(2)->flags & DM_SUSPEND_FLAG), "resume: DM_SUSPEND_FLAG clear");
	CHECK(strcmp(call_io(0)->name, "layer-1") == 0 && strcmp(call_io(2)->name, "layer-1") == 0,
	      "every call names the device");
	CHECK(dev == makedev(253, 300) && uvm_dm_node(dev, node, sizeof node) == 0 && strcmp(node, "/dev/dm-300") == 0,
	      "device number and node path (%s)", node);

	/* A failing load removes the half-made device and reports the load. */
	reset();
	fail_request_nr = DM_TABLE_LOAD_CMD;
	fail_errno = EINVAL;
	CHECK(uvm_dm_activate("layer-2", &t, 1, UVM_DM_READONLY, &dev, &err) < 0 &&
		      strstr(err.msg, "load table layer-2") != NULL,
	      "load failure reported: %s", err.msg);
	CHECK(ncalls == 3 && calls[2].request == DM_DEV_REMOVE, "half-made device removed");

	reset();
	fail_request_nr = DM_DEV_REMOVE_CMD;
	fail_errno = EBUSY;
	CHECK(uvm_dm_remove("layer-1", &err) < 0 && err.code == EBUSY && strstr(err.msg, "still open") != NULL,
	      "busy device: %s", err.msg);
	uvm_dm_set_ioctl(NULL);
}

static void test_secret_load(void)
{
	struct uvm_err err = {0};
	uint8_t key[UVM_DM_SCRATCH_KEY];
	char params[256];
	for (size_t i = 0; i < sizeof key; i++)
		key[i] = (uint8_t)(0xa0 + i);
	CHECK(uvm_dm_crypt_params(params, sizeof params, key, sizeof key, "/dev/dm-0", &err) == 0, "crypt params: %s",
	      err.msg);
	CHECK_EQ_STR(params,
		     "capi:gcm(aes)-random "
		     "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf 0 "
		     "/dev/dm-0 0 2 integrity:28:aead sector_size:4096",
		     "crypt table: AES-256-GCM, random IV, 28-byte tags, 4 KiB sectors");
	CHECK(uvm_dm_crypt_params(params, sizeof params, key, 16, "/dev/dm-0", &err) < 0, "16-byte key rejected");
	CHECK(uvm_dm_crypt_params(params, 40, key, sizeof key, "/dev/dm-0", &err) < 0 && params[0] == 0,
	      "too small buffer rejected and wiped");
	uvm_dm_crypt_params(params, sizeof params, key, sizeof key, "/dev/dm-0", &err);

	uint64_t *buf = aligned_alloc(8, UVM_DM_BUF_SIZE);
	struct uvm_dm_target t = {0, 2088960, "crypt", params};
	reset();
	uvm_dm_control_path = "/dev/null";
	uvm_dm_set_ioctl(fake_ioctl);
	CHECK(uvm_dm_load_buf((struct dm_ioctl *)buf, UVM_DM_BUF_SIZE, "scratch", &t, 1, UVM_DM_SECRET, &err) == 0,
	      "secret load: %s", err.msg);
	CHECK(ncalls == 1 && (call_io(0)->flags & DM_SECURE_DATA_FLAG), "DM_SECURE_DATA_FLAG set");
	CHECK(memmem(calls[0].buf, calls[0].size, "a0a1a2a3", 8) != NULL, "the kernel got the key");
	int wiped = 1;
	for (size_t i = 0; i < UVM_DM_BUF_SIZE / 8; i++)
		wiped &= buf[i] == 0;
	CHECK(wiped && last_buf == (struct dm_ioctl *)buf, "ioctl buffer wiped after the load");

	reset();
	fail_request_nr = DM_TABLE_LOAD_CMD;
	fail_errno = EINVAL;
	memset(buf, 0x55, UVM_DM_BUF_SIZE);
	CHECK(uvm_dm_load_buf((struct dm_ioctl *)buf, UVM_DM_BUF_SIZE, "scratch", &t, 1, UVM_DM_SECRET, &err) < 0,
	      "failed secret load reported");
	wiped = 1;
	for (size_t i = 0; i < UVM_DM_BUF_SIZE / 8; i++)
		wiped &= buf[i] == 0;
	CHECK(wiped, "buffer wiped after a failed load too");
	uvm_dm_set_ioctl(NULL);
	free(buf);
}

static void test_integrity(void)
{
	struct uvm_err err = {0};
	char params[128], status[64];
	uint64_t sectors = 0;
	CHECK(uvm_dm_integrity_params(params, sizeof params, "/dev/vdc", &err) == 0, "params");
	CHECK_EQ_STR(params, "/dev/vdc 0 28 D 2 block_size:4096 journal_sectors:1",
		     "integrity table: direct, one journal section, 28-byte tags, 4 KiB blocks");
	CHECK(uvm_dm_integrity_params(params, sizeof params, "/dev/x y", &err) < 0, "space in device rejected");

	reset();
	uvm_dm_control_path = "/dev/null";
	uvm_dm_set_ioctl(fake_ioctl);
	CHECK(uvm_dm_status("scratch-int", status, sizeof status, &err) == 0 && strcmp(status, "0 2088960 -") == 0,
	      "status through the hook: %s", err.msg);
	CHECK(ncalls == 1 && !(call_io(0)->flags & DM_STATUS_TABLE_FLAG),
	      "status asks for INFO, never the table (it may hold a key)");
	uvm_dm_set_ioctl(NULL);
	CHECK(uvm_dm_integrity_provided_sectors(status, &sectors, &err) == 0 && sectors == 2088960,
	      "provided sectors parsed");
	const char *bad[] = {"", "0", "0 0 -", "x 5 -", "0 5", "0 99999999999999999999999 -", "-1 5 -"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(uvm_dm_integrity_provided_sectors(bad[i], &sectors, &err) < 0, "status '%s' rejected", bad[i]);
}

static void test_no_control_node(void)
{
	struct uvm_err err = {0};
	uvm_dm_control_path = "/nonexistent/control";
	CHECK(uvm_dm_create("x", &err) < 0 && err.code == ENOENT && strstr(err.msg, "device-mapper") != NULL,
	      "missing control node explained: %s", err.msg);
}

int main(void)
{
	test_init();
	test_targets();
	test_status_parse();
	test_activate_sequence();
	test_secret_load();
	test_integrity();
	test_no_control_node();
	return check_done();
}
