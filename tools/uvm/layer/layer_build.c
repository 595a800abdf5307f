/* Builds one layer image; see layer_build.h. External programs: gzip -dc
 * (decompression) and mkfs.erofs (erofs-utils 1.5), both run without a
 * shell and with fixed arguments. */
#include "layer_build.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "erofs.h"
#include "file_util.h"
#include "hex.h"
#include "verity.h"

/* Bytes of trailing data accepted after the tar's end marker. */
#define TRAILER_MAX (1ull << 30)

int layer_file_digest(const char *path, char out[LAYER_DIGEST_LEN + 1], struct uvm_err *err)
{
	static uint8_t buf[1 << 16];
	struct uvm_sha256_ctx c;
	uint8_t d[UVM_SHA256_LEN];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return uvm_fail(err, errno, "open %s: %s", path, strerror(errno));
	uvm_sha256_init(&c);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return uvm_fail(err, e, "read %s: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		uvm_sha256_update(&c, buf, (size_t)n);
	}
	close(fd);
	uvm_sha256_final(&c, d);
	memcpy(out, "sha256:", 7);
	uvm_hex_encode(d, sizeof d, out + 7);
	return 0;
}

/* Runs argv with stdin/stdout redirected (-1: inherit); returns the pid. */
static pid_t spawn(char *const argv[], int in, int out, const char *epoch, struct uvm_err *err)
{
	pid_t pid = fork();
	if (pid < 0)
		return uvm_fail(err, errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		if ((in >= 0 && dup2(in, 0) < 0) || (out >= 0 && dup2(out, 1) < 0))
			_exit(127);
		if (epoch && setenv("SOURCE_DATE_EPOCH", epoch, 1) < 0)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int wait_ok(pid_t pid, const char *what, struct uvm_err *err)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return uvm_fail(err, errno, "wait for %s: %s", what, strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return uvm_fail(err, ENOENT, "%s could not be run (installed? 'make deps')", what);
	return uvm_fail(err, EIO, "%s failed (status 0x%x)", what, status);
}

static int rm_entry(const char *path, const struct stat *s, int flag, struct FTW *f)
{
	(void)s;
	(void)flag;
	(void)f;
	return remove(path);
}

static void remove_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static enum layer_compression sniff(int fd)
{
	uint8_t m[2] = {0, 0};
	ssize_t n = pread(fd, m, 2, 0);
	return n == 2 && m[0] == 0x1f && m[1] == 0x8b ? LAYER_GZIP : LAYER_PLAIN;
}

/* Reads what follows the end marker so gzip can finish and check its CRC. */
static int drain(int fd, struct uvm_err *err)
{
	static uint8_t buf[1 << 16];
	uint64_t total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? uvm_fail(err, errno, "read: %s", strerror(errno)) : 0;
		total += (uint64_t)n;
		if (total > TRAILER_MAX)
			return uvm_fail(err, E2BIG, "more than 1 GiB of data after the tar's end");
	}
}

/* Extracts the blob into stage (a fresh directory). */
static int unpack(const char *blob, enum layer_compression comp, const char *stage, struct tar_stats *st,
		  struct tar_dirs *implicit, struct uvm_err *err)
{
	int fd = open(blob, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return uvm_fail(err, errno, "open %s: %s", blob, strerror(errno));
	if (comp == LAYER_DETECT)
		comp = sniff(fd);
	int in = fd, pipefd[2] = {-1, -1};
	pid_t pid = -1;
	if (comp == LAYER_GZIP) {
		char *argv[] = {"gzip", "-dc", NULL};
		if (pipe2(pipefd, O_CLOEXEC) < 0) {
			close(fd);
			return uvm_fail(err, errno, "pipe: %s", strerror(errno));
		}
		pid = spawn(argv, fd, pipefd[1], NULL, err);
		close(pipefd[1]);
		in = pipefd[0];
	}
	int dfd = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = pid == -1 && comp == LAYER_GZIP ? -1 : 0;
	if (r == 0 && dfd < 0)
		r = uvm_fail(err, errno, "open %s: %s", stage, strerror(errno));
	if (r == 0)
		r = tar_extract(in, dfd, st, implicit, err);
	if (r == 0)
		r = drain(in, err);
	if (dfd >= 0)
		close(dfd);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	close(fd);
	if (pid > 0) {
		struct uvm_err gz = {0};
		if (wait_ok(pid, "gzip -dc", &gz) < 0 && r == 0)
			r = uvm_fail(err, EINVAL, "%s: corrupt gzip data (%s)", blob, gz.msg);
	}
	return r < 0 ? uvm_wrap(err, "unpack %s", blob) : 0;
}

static void format_uuid(const uint8_t u[16], char out[37])
{
	char hex[33];
	uvm_hex_encode(u, 16, hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static int run_mkfs(const char *stage, const char *img, const uint8_t uuid[16], int64_t epoch, struct uvm_err *err)
{
	char uuid_s[37], epoch_s[32];
	format_uuid(uuid, uuid_s);
	/* mkfs.erofs clamps inode times to SOURCE_DATE_EPOCH and uses it as the
	 * build time: one past the newest entry keeps every tar time. */
	snprintf(epoch_s, sizeof epoch_s, "%lld", (long long)epoch + 1);
	char *argv[] = {"mkfs.erofs", "--quiet", "-U", uuid_s, "--preserve-mtime", (char *)img, (char *)stage, NULL};
	pid_t pid = spawn(argv, -1, -1, epoch_s, err);
	if (pid < 0)
		return -1;
	return wait_ok(pid, "mkfs.erofs", err);
}

/* Appends the verity tree to the erofs image; fills res. */
static int seal(const char *img, struct layer_result *res, struct uvm_err *err)
{
	struct uvm_erofs_info info;
	struct stat s;
	int fd = open(img, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return uvm_fail(err, errno, "open %s: %s", img, strerror(errno));
	int r = uvm_erofs_read(fd, &info, err);
	if (r == 0 && fstat(fd, &s) < 0)
		r = uvm_fail(err, errno, "stat %s: %s", img, strerror(errno));
	if (r == 0 && (uint64_t)s.st_size != (uint64_t)info.blocks * UVM_EROFS_BLOCK)
		r = uvm_fail(err, EINVAL, "%s: %lld bytes but the erofs superblock says %u blocks", img,
			     (long long)s.st_size, info.blocks);
	struct uvm_verity_sb sb = {.data_blocks = info.blocks, .salt_len = UVM_SHA256_LEN};
	memcpy(sb.uuid, res->salt, 16);
	memcpy(sb.salt, res->salt, UVM_SHA256_LEN);
	if (r == 0)
		r = uvm_verity_format(fd, &sb, res->root, err);
	if (r == 0 && fsync(fd) < 0)
		r = uvm_fail(err, errno, "fsync %s: %s", img, strerror(errno));
	close(fd);
	res->data_blocks = info.blocks;
	res->hash_offset = (uint64_t)info.blocks * UVM_VERITY_BLOCK;
	struct uvm_verity_geom g;
	if (r == 0 && uvm_verity_geometry(info.blocks, &g, err) == 0)
		res->size = res->hash_offset + UVM_VERITY_BLOCK + g.tree_blocks * UVM_VERITY_BLOCK;
	return r;
}

/* Extracts the blob into stage and, on top of a chain, gives its implicit
 * directories the lower layers' metadata. */
static int stage_layer(const char *blob, enum layer_compression comp, const char *stage, struct layer_chain *chain,
		       struct tar_stats *st, struct uvm_err *err)
{
	struct tar_dirs implicit = {NULL, 0};
	int r = unpack(blob, comp, stage, st, &implicit, err);
	if (r == 0 && chain)
		r = layer_chain_apply(chain, stage, &implicit, &st->max_mtime, err);
	tar_dirs_free(&implicit);
	return r;
}

int layer_build(const char *blob, const char *digest, enum layer_compression comp, const char *out_dir,
		struct layer_chain *chain, struct layer_result *res, struct uvm_err *err)
{
	char stage[4096], tmp[4096], final[4096];
	memset(res, 0, sizeof *res);
	if (strlen(digest) != LAYER_DIGEST_LEN || strncmp(digest, "sha256:", 7) != 0)
		return uvm_fail(err, EINVAL, "layer digest '%.80s' is not sha256:<64 hex>", digest);
	memcpy(res->digest, digest, LAYER_DIGEST_LEN + 1);
	layer_chain_id(chain ? chain->id : "", digest, res->chain_id);
	/* Named by the chain: the same blob on other layers may give other bytes. */
	snprintf(res->path, sizeof res->path, "%s.img", res->chain_id + 7);
	/* Salt (and UUIDs): SHA-256 of the digest string; docs/layers.md. */
	uvm_sha256(digest, LAYER_DIGEST_LEN, res->salt);
	if (snprintf(stage, sizeof stage, "%s/.stage-XXXXXX", out_dir) >= (int)sizeof stage ||
	    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", out_dir, res->path) >= (int)sizeof tmp ||
	    snprintf(final, sizeof final, "%s/%s", out_dir, res->path) >= (int)sizeof final)
		return uvm_fail(err, ENAMETOOLONG, "output directory path too long");
	if (!mkdtemp(stage))
		return uvm_fail(err, errno, "create staging directory in %s: %s", out_dir, strerror(errno));
	unlink(tmp);
	int r = stage_layer(blob, comp, stage, chain, &res->stats, err);
	if (r == 0)
		r = run_mkfs(stage, tmp, res->salt, res->stats.max_mtime, err);
	remove_tree(stage);
	if (r == 0)
		r = seal(tmp, res, err);
	if (r == 0 && rename(tmp, final) < 0)
		r = uvm_fail(err, errno, "rename to %s: %s", final, strerror(errno));
	if (r < 0)
		unlink(tmp);
	if (r == 0 && chain)
		memcpy(chain->id, res->chain_id, sizeof chain->id);
	return r < 0 ? uvm_wrap(err, "layer %s", digest) : 0;
}

int layer_advance(const char *blob, const char *digest, enum layer_compression comp, const char *tmp_dir,
		  struct layer_chain *chain, struct uvm_err *err)
{
	char stage[4096], id[LAYER_DIGEST_LEN + 1];
	struct tar_stats st;
	memset(&st, 0, sizeof st);
	if (strlen(digest) != LAYER_DIGEST_LEN || strncmp(digest, "sha256:", 7) != 0)
		return uvm_fail(err, EINVAL, "layer digest '%.80s' is not sha256:<64 hex>", digest);
	if (snprintf(stage, sizeof stage, "%s/.stage-XXXXXX", tmp_dir) >= (int)sizeof stage)
		return uvm_fail(err, ENAMETOOLONG, "directory path too long");
	if (!mkdtemp(stage))
		return uvm_fail(err, errno, "create staging directory in %s: %s", tmp_dir, strerror(errno));
	layer_chain_id(chain->id, digest, id);
	int r = stage_layer(blob, comp, stage, chain, &st, err);
	remove_tree(stage);
	if (r == 0)
		memcpy(chain->id, id, sizeof chain->id);
	return r < 0 ? uvm_wrap(err, "layer %s", digest) : 0;
}

struct index_ctx {
	const struct layer_result *layers;
	size_t n;
};

/* Every value is hex, a digest, a generated file name or a number, so
 * plain formatting is valid JSON; keys in a fixed order. */
static int write_index(FILE *f, void *ctx, struct uvm_err *err)
{
	const struct index_ctx *x = ctx;
	(void)err; /* file_write_atomic checks the stream's errors */
	fprintf(f, "[\n");
	for (size_t i = 0; i < x->n; i++) {
		const struct layer_result *l = &x->layers[i];
		char root[65], salt[65];
		uvm_hex_encode(l->root, 32, root);
		uvm_hex_encode(l->salt, 32, salt);
		fprintf(f,
			"  {\"digest\": \"%s\", \"chain_id\": \"%s\", \"path\": \"%s\", "
			"\"root_hash\": \"%s\", \"salt\": \"%s\", \"data_blocks\": %llu, "
			"\"hash_offset\": %llu, \"size\": %llu}%s\n",
			l->digest, l->chain_id, l->path, root, salt, (unsigned long long)l->data_blocks,
			(unsigned long long)l->hash_offset, (unsigned long long)l->size, i + 1 < x->n ? "," : "");
	}
	fprintf(f, "]\n");
	return 0;
}

int layer_write_index(const char *out_dir, const struct layer_result *layers, size_t n, struct uvm_err *err)
{
	char path[4096];
	struct index_ctx x = {layers, n};
	if (snprintf(path, sizeof path, "%s/layers.json", out_dir) >= (int)sizeof path)
		return uvm_fail(err, ENAMETOOLONG, "output directory path too long");
	return file_write_atomic(path, write_index, &x, err);
}
