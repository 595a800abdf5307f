/* Device-mapper ioctls; see dm.h. The buffer layout follows linux/dm-ioctl.h:
 * struct dm_ioctl, then at data_start the target specs, each followed by its
 * parameter string. */
#include "dm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#include "hex.h"

const char *uvm_dm_control_path = "/dev/mapper/control";

static int real_ioctl(int fd, unsigned long request, struct dm_ioctl *io)
{
	return ioctl(fd, request, io);
}

static uvm_dm_ioctl_fn dm_ioctl_fn = real_ioctl;

void uvm_dm_set_ioctl(uvm_dm_ioctl_fn fn)
{
	dm_ioctl_fn = fn ? fn : real_ioctl;
}

static int name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n >= DM_NAME_LEN || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Device paths and target type names go into a space-separated table. */
static int word_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n >= max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return 0;
	return 1;
}

int uvm_dm_init(struct dm_ioctl *io, size_t size, const char *name, uint32_t flags, struct uvm_err *err)
{
	if (size < sizeof *io || size > UINT32_MAX || ((uintptr_t)io & 7u) != 0)
		return uvm_fail(err, EINVAL, "dm: ioctl buffer of %zu bytes is unusable", size);
	if (!name_ok(name))
		return uvm_fail(err, EINVAL,
				"dm: device name '%s' is not 1..%d characters of "
				"[A-Za-z0-9._-]",
				name ? name : "(null)", DM_NAME_LEN - 1);
	memset(io, 0, size);
	io->version[0] = DM_VERSION_MAJOR; /* 4.0.0: what we need, any 4.x kernel has it */
	io->data_size = (uint32_t)size;
	io->data_start = sizeof *io;
	io->flags = flags;
	strcpy(io->name, name);
	return 0;
}

static size_t align8(size_t n)
{
	return (n + 7u) & ~(size_t)7u;
}

int uvm_dm_add_targets(struct dm_ioctl *io, size_t size, const struct uvm_dm_target *t, size_t n, struct uvm_err *err)
{
	size_t pos = io->data_start;
	uint64_t next_sector = 0;
	if (n == 0 || n > 64)
		return uvm_fail(err, EINVAL, "dm %s: %zu targets, need 1..64", io->name, n);
	for (size_t i = 0; i < n; i++) {
		if (!word_ok(t[i].type, DM_MAX_TYPE_NAME) || !t[i].params)
			return uvm_fail(err, EINVAL, "dm %s: target %zu: bad type name", io->name, i);
		size_t plen = strnlen(t[i].params, UVM_DM_PARAMS_MAX);
		if (plen >= UVM_DM_PARAMS_MAX)
			return uvm_fail(err, E2BIG, "dm %s: target %zu: parameters longer than %u", io->name, i,
					UVM_DM_PARAMS_MAX - 1);
		if (t[i].start != next_sector || t[i].length == 0 || t[i].length > UINT64_MAX - t[i].start)
			return uvm_fail(err, EINVAL,
					"dm %s: target %zu: sectors %llu+%llu leave a "
					"gap or overlap",
					io->name, i, (unsigned long long)t[i].start, (unsigned long long)t[i].length);
		size_t step = align8(sizeof(struct dm_target_spec) + plen + 1);
		if (pos > size || step > size - pos)
			return uvm_fail(err, E2BIG, "dm %s: table does not fit %zu bytes", io->name, size);
		struct dm_target_spec *spec = (struct dm_target_spec *)((char *)io + pos);
		memset(spec, 0, step);
		spec->sector_start = t[i].start;
		spec->length = t[i].length;
		spec->next = (uint32_t)step;
		strcpy(spec->target_type, t[i].type);
		memcpy(spec + 1, t[i].params, plen + 1);
		pos += step;
		next_sector = t[i].start + t[i].length;
	}
	io->target_count = (uint32_t)n;
	io->data_size = (uint32_t)pos;
	return 0;
}

int uvm_dm_parse_status(const struct dm_ioctl *io, size_t size, char *type, size_t type_len, char *status,
			size_t status_len, struct uvm_err *err)
{
	const size_t spec_len = sizeof(struct dm_target_spec);
	if (size < sizeof *io || io->data_size > size || io->data_start < sizeof *io ||
	    io->data_start > io->data_size || io->data_size - io->data_start < spec_len)
		return uvm_fail(err, EPROTO,
				"dm %.*s: status answer has bad sizes (data_start %u, "
				"data_size %u)",
				DM_NAME_LEN, io->name, io->data_start, io->data_size);
	if (io->flags & DM_BUFFER_FULL_FLAG)
		return uvm_fail(err, ENOSPC, "dm %.*s: status does not fit the buffer", DM_NAME_LEN, io->name);
	if (io->target_count != 1)
		return uvm_fail(err, EPROTO, "dm %.*s: %u targets in the live table, expected 1", DM_NAME_LEN, io->name,
				io->target_count);
	const struct dm_target_spec *spec = (const struct dm_target_spec *)((const char *)io + io->data_start);
	const char *params = (const char *)(spec + 1);
	size_t avail = io->data_size - io->data_start - spec_len;
	size_t plen = strnlen(params, avail);
	size_t tlen = strnlen(spec->target_type, DM_MAX_TYPE_NAME);
	if (plen == avail || tlen == DM_MAX_TYPE_NAME)
		return uvm_fail(err, EPROTO, "dm %.*s: unterminated string in status answer", DM_NAME_LEN, io->name);
	if (tlen >= type_len || plen >= status_len)
		return uvm_fail(err, ENOSPC, "dm %.*s: status longer than the caller's buffer", DM_NAME_LEN, io->name);
	memcpy(type, spec->target_type, tlen + 1);
	memcpy(status, params, plen + 1);
	return 0;
}

/* Opens the control node and issues one ioctl. */
static int dm_call(unsigned long request, const char *what, struct dm_ioctl *io, struct uvm_err *err)
{
	int fd = open(uvm_dm_control_path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return uvm_fail(err, errno,
				"dm %s %s: open %s: %s (is device-mapper in the "
				"kernel?)",
				what, io->name, uvm_dm_control_path, strerror(errno));
	int r = dm_ioctl_fn(fd, request, io);
	int e = errno;
	close(fd);
	if (r < 0)
		return uvm_fail(err, e, "dm %s %s: %s%s", what, io->name, strerror(e),
				e == EBUSY ? " (device still open or mounted)" : "");
	return 0;
}

static int simple_call(unsigned long request, const char *what, const char *name, uint32_t flags, struct dm_ioctl *out,
		       struct uvm_err *err)
{
	struct dm_ioctl io;
	if (uvm_dm_init(&io, sizeof io, name, flags, err) < 0)
		return -1;
	if (dm_call(request, what, &io, err) < 0)
		return -1;
	if (out)
		*out = io;
	return 0;
}

int uvm_dm_create(const char *name, struct uvm_err *err)
{
	return simple_call(DM_DEV_CREATE, "create", name, 0, NULL, err);
}

int uvm_dm_load_buf(struct dm_ioctl *buf, size_t size, const char *name, const struct uvm_dm_target *t, size_t n,
		    unsigned flags, struct uvm_err *err)
{
	uint32_t f = 0;
	if (flags & UVM_DM_READONLY)
		f |= DM_READONLY_FLAG;
	if (flags & UVM_DM_SECRET)
		f |= DM_SECURE_DATA_FLAG;
	int r = uvm_dm_init(buf, size, name, f, err);
	if (r == 0)
		r = uvm_dm_add_targets(buf, size, t, n, err);
	if (r == 0)
		r = dm_call(DM_TABLE_LOAD, "load table", buf, err);
	if (flags & UVM_DM_SECRET)
		explicit_bzero(buf, size);
	return r;
}

int uvm_dm_load(const char *name, const struct uvm_dm_target *t, size_t n, unsigned flags, struct uvm_err *err)
{
	struct dm_ioctl *buf = aligned_alloc(8, UVM_DM_BUF_SIZE);
	if (!buf)
		return uvm_fail(err, ENOMEM, "dm load table %s: out of memory", name);
	int r = uvm_dm_load_buf(buf, UVM_DM_BUF_SIZE, name, t, n, flags, err);
	free(buf);
	return r;
}

int uvm_dm_resume(const char *name, uint64_t *dev, struct uvm_err *err)
{
	struct dm_ioctl io;
	if (simple_call(DM_DEV_SUSPEND, "resume", name, 0, &io, err) < 0)
		return -1;
	if (dev)
		*dev = io.dev;
	return 0;
}

int uvm_dm_remove(const char *name, struct uvm_err *err)
{
	return simple_call(DM_DEV_REMOVE, "remove", name, 0, NULL, err);
}

int uvm_dm_devno(const char *name, uint64_t *dev, struct uvm_err *err)
{
	struct dm_ioctl io;
	if (simple_call(DM_DEV_STATUS, "status", name, 0, &io, err) < 0)
		return -1;
	*dev = io.dev;
	return 0;
}

int uvm_dm_status(const char *name, char *status, size_t status_len, struct uvm_err *err)
{
	char type[DM_MAX_TYPE_NAME];
	struct dm_ioctl *buf = aligned_alloc(8, UVM_DM_BUF_SIZE);
	if (!buf)
		return uvm_fail(err, ENOMEM, "dm status %s: out of memory", name);
	int r = uvm_dm_init(buf, UVM_DM_BUF_SIZE, name, 0, err);
	if (r == 0)
		r = dm_call(DM_TABLE_STATUS, "status", buf, err);
	if (r == 0)
		r = uvm_dm_parse_status(buf, UVM_DM_BUF_SIZE, type, sizeof type, status, status_len, err);
	free(buf);
	return r;
}

int uvm_dm_activate(const char *name, const struct uvm_dm_target *t, size_t n, unsigned flags, uint64_t *dev,
		    struct uvm_err *err)
{
	if (uvm_dm_create(name, err) < 0)
		return -1;
	if (uvm_dm_load(name, t, n, flags, err) == 0 && uvm_dm_resume(name, dev, err) == 0)
		return 0;
	struct uvm_err ignored;
	uvm_dm_remove(name, &ignored); /* the first error is the one to report */
	return -1;
}

int uvm_dm_node(uint64_t dev, char *path, size_t len)
{
	int n = snprintf(path, len, "/dev/dm-%u", (unsigned)minor((dev_t)dev));
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int uvm_dm_integrity_params(char *out, size_t len, const char *dev, struct uvm_err *err)
{
	if (!word_ok(dev, 256))
		return uvm_fail(err, EINVAL, "dm-integrity table: bad device name");
	int n = snprintf(out, len, "%s 0 %u D 2 block_size:%u journal_sectors:1", dev, UVM_DM_SCRATCH_TAG,
			 UVM_DM_SCRATCH_SECTOR);
	if (n < 0 || (size_t)n >= len)
		return uvm_fail(err, ENOSPC, "dm-integrity table: %zu-byte buffer too small", len);
	return 0;
}

int uvm_dm_crypt_params(char *out, size_t len, const uint8_t *key, size_t key_len, const char *dev, struct uvm_err *err)
{
	char hex[2 * UVM_DM_SCRATCH_KEY + 1];
	if (key_len != UVM_DM_SCRATCH_KEY)
		return uvm_fail(err, EINVAL, "dm-crypt table: key of %zu bytes, need %u", key_len, UVM_DM_SCRATCH_KEY);
	if (!word_ok(dev, 256))
		return uvm_fail(err, EINVAL, "dm-crypt table: bad device name");
	uvm_hex_encode(key, key_len, hex);
	int n = snprintf(out, len,
			 "capi:gcm(aes)-random %s 0 %s 0 2 integrity:%u:aead "
			 "sector_size:%u",
			 hex, dev, UVM_DM_SCRATCH_TAG, UVM_DM_SCRATCH_SECTOR);
	explicit_bzero(hex, sizeof hex);
	if (n < 0 || (size_t)n >= len) {
		explicit_bzero(out, len);
		return uvm_fail(err, ENOSPC, "dm-crypt table: %zu-byte buffer too small", len);
	}
	return 0;
}

int uvm_dm_integrity_provided_sectors(const char *status, uint64_t *sectors, struct uvm_err *err)
{
	/* Two unsigned decimal numbers, then the recalculation field. */
	const char *p = status;
	uint64_t v[2] = {0, 0};
	for (int i = 0; i < 2; i++) {
		if (*p < '0' || *p > '9')
			goto bad;
		while (*p >= '0' && *p <= '9') {
			if (v[i] > (UINT64_MAX - 9) / 10)
				goto bad;
			v[i] = v[i] * 10 + (uint64_t)(*p++ - '0');
		}
		if (*p != ' ')
			goto bad;
		p++;
	}
	if (v[1] == 0)
		goto bad;
	*sectors = v[1];
	return 0;
bad:
	return uvm_fail(err, EPROTO, "dm-integrity status '%.64s' is not 'MISMATCHES SECTORS ...'", status);
}
