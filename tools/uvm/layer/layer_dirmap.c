/* The merged-view directory map; see layer_dirmap.h. */
#include "layer_dirmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void dirmap_init(struct dirmap *m)
{
	memset(m, 0, sizeof *m);
	m->max_dirs = DIRMAP_MAX_DIRS;
	m->max_bytes = DIRMAP_MAX_BYTES;
}

static void entry_free(struct dirmap_entry *e)
{
	free(e->path);
	free(e->m.xattrs);
}

void dirmap_free(struct dirmap *m)
{
	for (size_t i = 0; i < m->n; i++)
		entry_free(&m->v[i]);
	free(m->v);
	size_t max_dirs = m->max_dirs;
	uint64_t max_bytes = m->max_bytes;
	memset(m, 0, sizeof *m);
	m->max_dirs = max_dirs;
	m->max_bytes = max_bytes;
}

/* What an entry costs against max_bytes. */
static uint64_t entry_bytes(const struct dirmap_entry *e)
{
	return sizeof *e + strlen(e->path) + 1 + e->m.xattrs_len;
}

/* First index whose path is >= key (strcmp order, dead entries included:
 * they keep their paths until dirmap_compact). */
static size_t lower_bound(const struct dirmap *m, const char *key)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(m->v[mid].path, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct dirmeta *dirmap_find(const struct dirmap *m, const char *path)
{
	size_t i = lower_bound(m, path);
	if (i < m->n && !m->v[i].dead && strcmp(m->v[i].path, path) == 0)
		return &m->v[i].m;
	return NULL;
}

/* Entries strictly below a directory share the prefix "DIR/" (any prefix
 * is one contiguous range in strcmp order); below the root is every
 * non-empty path. */
static int is_below(const char *path, const char *dir, size_t dlen)
{
	if (dlen == 0)
		return path[0] != 0;
	return strncmp(path, dir, dlen) == 0 && path[dlen] == '/';
}

/* First index whose path is >= "DIR/" (dlen > 0): what sorts between "DIR"
 * and "DIR/" ("DIR-x", "DIR.d") is skipped by the search, not walked. */
static size_t first_below(const struct dirmap *m, const char *dir, size_t dlen)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *s = m->v[mid].path;
		int c = strncmp(s, dir, dlen);
		if (c < 0 || (c == 0 && (unsigned char)s[dlen] < '/'))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void dirmap_remove(struct dirmap *m, const char *path, int keep_self)
{
	size_t len = strlen(path), i = lower_bound(m, path);
	if (!keep_self && i < m->n && strcmp(m->v[i].path, path) == 0)
		m->v[i].dead = 1;
	if (len)
		i = first_below(m, path, len);
	else /* below the root: all but "" (sorted first) */
		i = m->n && !m->v[0].path[0] ? 1 : 0;
	for (; i < m->n && is_below(m->v[i].path, path, len); i++)
		m->v[i].dead = 1;
}

void dirmap_compact(struct dirmap *m)
{
	size_t k = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (m->v[i].dead) {
			m->bytes -= entry_bytes(&m->v[i]);
			entry_free(&m->v[i]);
		} else {
			m->v[k++] = m->v[i];
		}
	}
	m->n = k;
}

static int reserve(struct dirmap *m, size_t n, struct uvm_err *err)
{
	if (n <= m->cap)
		return 0;
	size_t cap = m->cap ? m->cap : 256;
	while (cap < n)
		cap *= 2;
	struct dirmap_entry *v = realloc(m->v, cap * sizeof *v);
	if (!v)
		return uvm_fail(err, ENOMEM, "out of memory");
	m->v = v;
	m->cap = cap;
	return 0;
}

static int over_limits(const struct dirmap *m, size_t n, uint64_t bytes, struct uvm_err *err)
{
	if (n > m->max_dirs || bytes > m->max_bytes)
		return uvm_fail(err, E2BIG,
				"the layers hold more than %zu directories or %llu MiB of "
				"directory names and xattrs; uvm layer does not carry more",
				m->max_dirs, (unsigned long long)(m->max_bytes >> 20));
	return 0;
}

int dirmap_append(struct dirmap *batch, const char *path, const struct dirmeta *meta, struct uvm_err *err)
{
	struct dirmap_entry e = {.path = strdup(path), .m = *meta};
	e.m.xattrs = NULL;
	if (!e.path || (meta->xattrs_len && !(e.m.xattrs = malloc(meta->xattrs_len)))) {
		entry_free(&e);
		return uvm_fail(err, ENOMEM, "out of memory");
	}
	if (meta->xattrs_len)
		memcpy(e.m.xattrs, meta->xattrs, meta->xattrs_len);
	uint64_t bytes = batch->bytes + entry_bytes(&e);
	if (over_limits(batch, batch->n + 1, bytes, err) < 0 || reserve(batch, batch->n + 1, err) < 0) {
		entry_free(&e);
		return -1;
	}
	batch->v[batch->n++] = e;
	batch->bytes = bytes;
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct dirmap_entry *)a)->path, ((const struct dirmap_entry *)b)->path);
}

/* Sorts the batch and keeps one entry per path. */
static void sort_unique(struct dirmap *b)
{
	qsort(b->v, b->n, sizeof *b->v, by_path);
	size_t k = 0;
	for (size_t i = 0; i < b->n; i++) {
		if (k && strcmp(b->v[k - 1].path, b->v[i].path) == 0) {
			b->bytes -= entry_bytes(&b->v[k - 1]);
			entry_free(&b->v[k - 1]);
			b->v[k - 1] = b->v[i];
		} else {
			b->v[k++] = b->v[i];
		}
	}
	b->n = k;
}

/* Merges the sorted arrays a (m's) and b (the batch) into out; b wins on
 * equal paths. Returns the count; frees what is replaced. */
static size_t merge_into(struct dirmap *m, struct dirmap *b, struct dirmap_entry *out)
{
	size_t i = 0, j = 0, k = 0;
	while (i < m->n || j < b->n) {
		int c = i == m->n ? 1 : j == b->n ? -1 : strcmp(m->v[i].path, b->v[j].path);
		if (c < 0) {
			out[k++] = m->v[i++];
			continue;
		}
		if (c == 0) {
			m->bytes -= entry_bytes(&m->v[i]);
			entry_free(&m->v[i++]);
		}
		out[k++] = b->v[j++];
	}
	return k;
}

int dirmap_merge(struct dirmap *m, struct dirmap *batch, struct uvm_err *err)
{
	dirmap_compact(m);
	sort_unique(batch);
	if (over_limits(m, m->n + batch->n, m->bytes + batch->bytes, err) < 0)
		return -1;
	struct dirmap_entry *out = malloc((m->n + batch->n + 1) * sizeof *out);
	if (!out)
		return uvm_fail(err, ENOMEM, "out of memory");
	size_t n = merge_into(m, batch, out);
	free(m->v);
	m->v = out;
	m->n = m->cap = n;
	m->bytes += batch->bytes;
	free(batch->v);
	batch->v = NULL;
	batch->n = batch->cap = 0;
	batch->bytes = 0;
	return 0;
}

int dirmeta_add_xattr(struct dirmeta *meta, const char *name, const uint8_t *value, size_t len, struct uvm_err *err)
{
	size_t nlen = strlen(name) + 1;
	if (len > UINT32_MAX)
		return uvm_fail(err, E2BIG, "xattr %.64s: value too large", name);
	uint8_t *x = realloc(meta->xattrs, meta->xattrs_len + nlen + 4 + len);
	if (!x)
		return uvm_fail(err, ENOMEM, "out of memory");
	uint8_t *p = x + meta->xattrs_len;
	memcpy(p, name, nlen);
	for (int i = 0; i < 4; i++)
		p[nlen + (size_t)i] = (uint8_t)(len >> (8 * i));
	if (len)
		memcpy(p + nlen + 4, value, len);
	meta->xattrs = x;
	meta->xattrs_len += nlen + 4 + len;
	return 0;
}

int dirmeta_next_xattr(const struct dirmeta *meta, size_t *pos, const char **name, const uint8_t **value, size_t *len)
{
	size_t at = *pos, left = meta->xattrs_len - at;
	if (at >= meta->xattrs_len)
		return 0;
	const uint8_t *p = meta->xattrs + at;
	const uint8_t *nul = memchr(p, 0, left);
	if (!nul || (size_t)(nul - p) + 1 + 4 > left)
		return -1;
	size_t nlen = (size_t)(nul - p) + 1, v = 0;
	for (int i = 0; i < 4; i++)
		v |= (size_t)p[nlen + (size_t)i] << (8 * i);
	if (v > left - nlen - 4)
		return -1;
	*name = (const char *)p;
	*value = p + nlen + 4;
	*len = v;
	*pos = at + nlen + 4 + v;
	return 1;
}
