/* The extent allocator of the scratch pool (storage_extent.h). First fit
 * over the gaps between the extents in use: the pool holds at most
 * STORAGE_EXTENT_MAX extents, so sorting a copy on every call costs
 * nothing next to formatting the file system that follows. */
#include "storage_extent.h"

#include <stdlib.h>
#include <string.h>

#define ALIGN STORAGE_EXTENT_ALIGN

static uint64_t align_up(uint64_t v)
{
	return v > UINT64_MAX - (ALIGN - 1) ? UINT64_MAX - (UINT64_MAX % ALIGN) : (v + ALIGN - 1) / ALIGN * ALIGN;
}

static uint64_t align_down(uint64_t v)
{
	return v / ALIGN * ALIGN;
}

/* start + bytes without wrapping: a wrapped end would free the whole pool. */
static uint64_t end_of(const struct storage_extent *e)
{
	return e->bytes > UINT64_MAX - e->start ? UINT64_MAX : e->start + e->bytes;
}

static int by_start(const void *a, const void *b)
{
	const struct storage_extent *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Calls fn on each aligned free gap [start, end) in ascending order until
 * it returns non-zero; returns that value (0 if none did). */
typedef int (*gap_fn)(uint64_t start, uint64_t end, void *arg);

static int each_gap(const struct storage_extent *used, size_t n, uint64_t pool, gap_fn fn, void *arg)
{
	struct storage_extent sorted[STORAGE_EXTENT_MAX];
	/* More than the maximum cannot happen (one per overlay slot); if it
	 * did, the pool is treated as full rather than guessing. */
	if (n > STORAGE_EXTENT_MAX)
		return 0;
	if (n)
		memcpy(sorted, used, n * sizeof *used);
	qsort(sorted, n, sizeof *sorted, by_start);
	uint64_t cursor = 0, limit = align_down(pool);
	for (size_t i = 0; i <= n; i++) {
		uint64_t gap_end = i < n && sorted[i].start < limit ? align_down(sorted[i].start) : limit;
		uint64_t gap_start = align_up(cursor);
		int rc = gap_start < gap_end ? fn(gap_start, gap_end, arg) : 0;
		if (rc)
			return rc;
		if (i < n && end_of(&sorted[i]) > cursor)
			cursor = end_of(&sorted[i]);
	}
	return 0;
}

static int widest(uint64_t start, uint64_t end, void *arg)
{
	uint64_t *best = arg;
	if (end - start > *best)
		*best = end - start;
	return 0;
}

uint64_t storage_extent_largest_free(const struct storage_extent *used, size_t n, uint64_t pool)
{
	uint64_t best = 0;
	each_gap(used, n, pool, widest, &best);
	return best;
}

struct fit {
	uint64_t bytes, start;
};

static int fits(uint64_t start, uint64_t end, void *arg)
{
	struct fit *f = arg;
	if (end - start < f->bytes)
		return 0;
	f->start = start;
	return 1;
}

int storage_extent_first_fit(const struct storage_extent *used, size_t n, uint64_t pool, uint64_t bytes,
			     uint64_t *start)
{
	struct fit f = {bytes, 0};
	if (bytes == 0 || each_gap(used, n, pool, fits, &f) == 0)
		return -1;
	*start = f.start;
	return 0;
}

enum storage_extent_size storage_extent_size(uint64_t want, uint64_t dflt, uint64_t largest, uint64_t min,
					     uint64_t *out)
{
	if (want > largest)
		return STORAGE_EXTENT_TOO_BIG;
	uint64_t size = align_down(want ? want : (dflt < largest ? dflt : largest));
	if (size < align_up(min))
		return STORAGE_EXTENT_FULL;
	*out = size;
	return STORAGE_EXTENT_SIZE_OK;
}

size_t storage_extent_note(struct storage_extent *notes, size_t n, size_t max, struct storage_extent e, uint32_t *lost)
{
	size_t kept = 0;
	for (size_t i = 0; i < n; i++)
		if (notes[i].start >= e.start + e.bytes || e.start >= notes[i].start + notes[i].bytes)
			notes[kept++] = notes[i];
	if (max == 0)
		return 0;
	if (kept == max) {
		memmove(notes, notes + 1, (max - 1) * sizeof *notes);
		kept--;
		(*lost)++;
	}
	notes[kept++] = e;
	return kept;
}
