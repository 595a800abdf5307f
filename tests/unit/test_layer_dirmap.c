/* The merged-view directory map and chain ids of `uvm layer`
 * (tools/uvm/layer/layer_dirmap.c, layer_chain.c). */
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "layer_chain.h"
#include "layer_dirmap.h"

static struct dirmeta meta(uint32_t mode, uint32_t uid)
{
	return (struct dirmeta){.mode = mode, .uid = uid, .gid = uid, .mtime = 1600000000};
}

/* Builds a map of the paths (mode 0700 + index, uid = index). */
static void fill(struct dirmap *m, const char *const *paths, size_t n)
{
	struct dirmap batch;
	struct uvm_err err = {0};
	dirmap_init(m);
	dirmap_init(&batch);
	for (size_t i = 0; i < n; i++) {
		struct dirmeta d = meta(0700 + (uint32_t)i, (uint32_t)i);
		dirmap_append(&batch, paths[i], &d, &err);
	}
	CHECK(dirmap_merge(m, &batch, &err) == 0 && m->n == n && batch.n == 0, "merge %zu: %s", n, err.msg);
	dirmap_free(&batch);
}

static const char *const tree[] = {"", "a", "a/b", "a/b/c", "a-b", "a.d", "a.d/x", "ab", "ab/c", "b"};
#define NTREE (sizeof tree / sizeof tree[0])

static size_t live(const struct dirmap *m)
{
	size_t k = 0;
	for (size_t i = 0; i < NTREE; i++)
		k += dirmap_find(m, tree[i]) != NULL;
	return k;
}

static void test_find_and_remove(void)
{
	struct dirmap m;
	fill(&m, tree, NTREE);
	const struct dirmeta *d = dirmap_find(&m, "a/b");
	CHECK(d && d->mode == 0702 && d->uid == 2, "find a/b");
	CHECK(dirmap_find(&m, "a/") == NULL && dirmap_find(&m, "c") == NULL, "absent paths");

	/* Below "a": a/b, a/b/c; not a-b, a.d, ab (they sort around "a/"). */
	dirmap_remove(&m, "a", 1);
	CHECK(dirmap_find(&m, "a") && !dirmap_find(&m, "a/b") && !dirmap_find(&m, "a/b/c"),
	      "opaque a: a kept, below removed");
	CHECK(dirmap_find(&m, "a-b") && dirmap_find(&m, "a.d/x") && dirmap_find(&m, "ab/c"),
	      "siblings sharing the prefix stay");
	dirmap_remove(&m, "a.d", 0);
	CHECK(!dirmap_find(&m, "a.d") && !dirmap_find(&m, "a.d/x") && dirmap_find(&m, "ab"),
	      "whiteout a.d: it and below removed");
	dirmap_compact(&m);
	CHECK_EQ_INT(m.n, 6, "compacted");
	CHECK_EQ_INT(live(&m), 6, "still found after compaction");
	dirmap_free(&m);

	fill(&m, tree, NTREE);
	dirmap_remove(&m, "", 1);
	dirmap_compact(&m);
	CHECK(m.n == 1 && dirmap_find(&m, ""), "opaque root: only the root stays");
	dirmap_remove(&m, "nonexistent", 0);
	dirmap_remove(&m, "", 0);
	dirmap_compact(&m);
	CHECK(m.n == 0, "removing the root empties the map");
	dirmap_free(&m);
}

static void test_merge_replaces(void)
{
	struct dirmap m, batch;
	struct uvm_err err = {0};
	fill(&m, tree, NTREE);
	dirmap_init(&batch);
	struct dirmeta a = meta(0755, 42), c = meta(0711, 7);
	dirmeta_add_xattr(&a, "user.k", (const uint8_t *)"v", 1, &err);
	dirmap_append(&batch, "a/b", &a, &err);
	dirmap_append(&batch, "c", &c, &err);
	dirmap_append(&batch, "a/b", &a, &err); /* a duplicate keeps one */
	free(a.xattrs);
	CHECK(dirmap_merge(&m, &batch, &err) == 0 && m.n == NTREE + 1, "merge: %s", err.msg);
	const struct dirmeta *d = dirmap_find(&m, "a/b");
	const char *name;
	const uint8_t *value;
	size_t len, pos = 0;
	CHECK(d && d->mode == 0755 && d->uid == 42, "the batch wins");
	CHECK(d && dirmeta_next_xattr(d, &pos, &name, &value, &len) == 1 && strcmp(name, "user.k") == 0 && len == 1 &&
		      value[0] == 'v' && dirmeta_next_xattr(d, &pos, &name, &value, &len) == 0,
	      "xattrs copied and packed");
	CHECK(dirmap_find(&m, "c") && dirmap_find(&m, "b"), "new and old entries");
	for (size_t i = 1; i < m.n; i++)
		CHECK(strcmp(m.v[i - 1].path, m.v[i].path) < 0, "sorted at %zu", i);
	dirmap_free(&m);
	dirmap_free(&batch);
}

static void test_limits(void)
{
	struct dirmap m, batch;
	struct uvm_err err = {0};
	struct dirmeta d = meta(0755, 0);
	fill(&m, tree, NTREE);
	dirmap_init(&batch);
	m.max_dirs = NTREE;
	dirmap_append(&batch, "new", &d, &err);
	CHECK(dirmap_merge(&m, &batch, &err) < 0 && m.n == NTREE, "over max_dirs refused, map kept: %s", err.msg);
	dirmap_free(&batch);
	dirmap_init(&batch);
	batch.max_bytes = 200;
	dirmeta_add_xattr(&d, "user.big", (const uint8_t *)"0123456789", 10, &err);
	int r = 0;
	for (int i = 0; i < 4 && r == 0; i++)
		r = dirmap_append(&batch, "a-long-directory-name", &d, &err);
	CHECK(r < 0 && strstr(err.msg, "does not carry more"), "over max_bytes refused: %s", err.msg);
	free(d.xattrs);
	dirmap_free(&batch);
	dirmap_free(&m);

	/* Broken packing is reported, not read past. */
	uint8_t bad[] = {'u', '.', 'k', 0, 200, 0, 0, 0, 'v'};
	struct dirmeta b = {.xattrs = bad, .xattrs_len = sizeof bad};
	const char *name;
	const uint8_t *value;
	size_t len, pos = 0;
	CHECK(dirmeta_next_xattr(&b, &pos, &name, &value, &len) < 0, "length past the end rejected");
	b.xattrs_len = 3; /* no NUL */
	pos = 0;
	CHECK(dirmeta_next_xattr(&b, &pos, &name, &value, &len) < 0, "unterminated name rejected");
}

static void test_chain_id(void)
{
	char a[LAYER_DIGEST_LEN + 1];
	const char *d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
	const char *d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
	layer_chain_id("", d1, a);
	CHECK_EQ_STR(a, d1, "a base layer's chain id is its digest");
	/* sha256(d1 + " " + d2), computed with Python's hashlib */
	layer_chain_id(a, d2, a);
	CHECK_EQ_STR(a, "sha256:9932074217c35353d2e03a3f5a86549f7c67bfeb0ba53e23d69f4d4c8f7958f5",
		     "chain id of the second layer");
}

int main(void)
{
	test_find_and_remove();
	test_merge_replaces();
	test_limits();
	test_chain_id();
	return check_done();
}
