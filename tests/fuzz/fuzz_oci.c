/* libFuzzer: the OCI image layout reader of `uvm layer --image` and
 * `uvm policy gen --image` (tools/uvm/layer/layer_oci.c): index.json, nested
 * indexes, the image manifest and its descriptors, all from the party that
 * hands us the image.
 *
 * The reader takes a directory, so each input becomes a layout in a private
 * temporary directory under $TMPDIR (default /tmp; /dev/shm is several times
 * faster than a disk). Input: up to 4 sections separated by NUL bytes
 * (JSON has no raw NUL): index.json, then blobs 1..3. So that the fuzzer can
 * get past digest checks, "$D1".."$D3" in a section are replaced with
 * "sha256:<hex>" of blob N and "$S1".."$S3" with its size; a section may only
 * name later blobs (they are finished first). Each blob is stored under its
 * own digest.
 *
 * Invariants on success: 1..OCI_MAX_LAYERS layers, each digest is
 * sha256:<64 lowercase hex> of a blob that exists, its path is that blob's
 * path, and the compression is one the reader knows. On failure: a message. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash.h"
#include "hex.h"
#include "layer_oci.h"

#define SECTIONS 4
#define MAX_SECTION (64u << 10)
#define MAX_EXPANDED (24 * MAX_SECTION) /* every 3 bytes may become 71 */

static char dir[192], blobs[256];
static char digests[SECTIONS][LAYER_DIGEST_LEN + 1]; /* blob N's digest ("" for index.json) */
static struct oci_layer layers[OCI_MAX_LAYERS];

static void clear_blobs(void);

/* The layout directory goes when the fuzzer exits. */
static void cleanup(void)
{
	char path[256];
	clear_blobs();
	rmdir(blobs);
	snprintf(path, sizeof path, "%s/blobs", dir);
	rmdir(path);
	snprintf(path, sizeof path, "%s/index.json", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/oci-layout", dir);
	unlink(path);
	rmdir(dir);
}

static void setup(void)
{
	char path[320];
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp || strlen(tmp) > 100)
		tmp = "/tmp";
	snprintf(dir, sizeof dir, "%s/fuzz_oci.XXXXXX", tmp);
	if (!mkdtemp(dir))
		abort();
	snprintf(blobs, sizeof blobs, "%s/blobs/sha256", dir);
	snprintf(path, sizeof path, "%s/blobs", dir);
	if (mkdir(path, 0700) || mkdir(blobs, 0700))
		abort();
	snprintf(path, sizeof path, "%s/oci-layout", dir);
	FILE *f = fopen(path, "w");
	if (!f || fputs("{\"imageLayoutVersion\":\"1.0.0\"}", f) < 0 || fclose(f))
		abort();
	atexit(cleanup);
}

/* Empties blobs/sha256 (the previous input's blobs). */
static void clear_blobs(void)
{
	DIR *d = opendir(blobs);
	struct dirent *e;
	char path[256];
	if (!d)
		abort();
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && snprintf(path, sizeof path, "%s/%s", blobs, e->d_name) < (int)sizeof path)
			unlink(path);
	closedir(d);
}

/* Copies src to out replacing $DN / $SN (N > self) with blob N's digest / size. */
static size_t expand(const uint8_t *src, size_t n, int self, const size_t sizes[], char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int k = i + 2 < n && src[i] == '$' ? src[i + 2] - '0' : -1;
		if (k > self && k < SECTIONS && (src[i + 1] == 'D' || src[i + 1] == 'S')) {
			if (src[i + 1] == 'D')
				o += (size_t)sprintf(out + o, "%s", digests[k]);
			else
				o += (size_t)sprintf(out + o, "%zu", sizes[k]);
			i += 2;
			continue;
		}
		out[o++] = (char)src[i];
	}
	return o;
}

static void write_file(const char *path, const char *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, n) != (ssize_t)n || close(fd))
		abort();
}

static void check_success(size_t n)
{
	if (n == 0 || n > OCI_MAX_LAYERS)
		abort();
	for (size_t i = 0; i < n; i++) {
		char want[256];
		int known = 0;
		for (int k = 1; k < SECTIONS; k++)
			known |= digests[k][0] && strcmp(layers[i].digest, digests[k]) == 0;
		if (!known)
			abort(); /* a layer that is none of the blobs we wrote */
		snprintf(want, sizeof want, "%s/%s", blobs, layers[i].digest + 7);
		if (strcmp(layers[i].blob, want) != 0)
			abort(); /* the path is not the digest's blob */
		if (layers[i].comp != LAYER_PLAIN && layers[i].comp != LAYER_GZIP)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *text;
	const uint8_t *start[SECTIONS];
	size_t len[SECTIONS] = {0}, sizes[SECTIONS] = {0}, count = 0;
	int nsec = 0;
	if (!dir[0])
		setup();
	if (!text && !(text = malloc(MAX_EXPANDED)))
		abort();
	for (size_t i = 0; nsec < SECTIONS; nsec++) { /* split at NUL */
		const uint8_t *z = i < size ? memchr(data + i, 0, size - i) : NULL;
		start[nsec] = data + i;
		len[nsec] = (z ? (size_t)(z - data) : size) - i;
		if (len[nsec] > MAX_SECTION)
			return 0;
		i += len[nsec] + 1;
		if (!z) {
			nsec++;
			break;
		}
	}
	clear_blobs();
	memset(digests, 0, sizeof digests);
	for (int k = nsec - 1; k >= 0; k--) { /* later blobs first: earlier ones may name them */
		char path[256];
		uint8_t h[UVM_SHA256_LEN];
		size_t n = expand(start[k], len[k], k, sizes, text);
		if (k == 0) {
			snprintf(path, sizeof path, "%s/index.json", dir);
			write_file(path, text, n);
			break;
		}
		uvm_sha256(text, n, h);
		memcpy(digests[k], "sha256:", 7);
		uvm_hex_encode(h, sizeof h, digests[k] + 7);
		sizes[k] = n;
		snprintf(path, sizeof path, "%s/%s", blobs, digests[k] + 7);
		write_file(path, text, n);
	}
	struct uvm_err err = {0};
	if (oci_read_layers(dir, layers, &count, &err) == 0)
		check_success(count);
	else if (!err.msg[0])
		abort(); /* every failure says why */
	return 0;
}
