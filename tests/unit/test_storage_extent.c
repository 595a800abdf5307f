/* Unit tests of the scratch pool's extent allocator on the host
 * (agent/storage_extent.c): first fit over unsorted, overlapping and
 * unaligned extents, the largest free run, the pool's unaligned tail, the
 * size that will run (request, default, cap, minimum), and no wrap-around
 * on absurd extents. */
#include <stdint.h>

#include "check.h"
#include "storage_extent.h"

#define MiB (1ull << 20)

static void test_empty_pool(void)
{
	uint64_t start = 99;
	CHECK_EQ_INT(storage_extent_largest_free(NULL, 0, 64 * MiB), 64 * MiB, "empty pool: all of it is free");
	CHECK(storage_extent_first_fit(NULL, 0, 64 * MiB, 64 * MiB, &start) == 0 && start == 0,
	      "empty pool: the whole pool fits at 0");
	CHECK(storage_extent_first_fit(NULL, 0, 64 * MiB, 64 * MiB + 1, &start) == -1, "one byte more does not fit");
	CHECK(storage_extent_first_fit(NULL, 0, 64 * MiB, 0, &start) == -1, "zero bytes are refused");
	CHECK_EQ_INT(storage_extent_largest_free(NULL, 0, 64 * MiB + 4096), 64 * MiB,
		     "the pool's unaligned tail is not used");
	CHECK_EQ_INT(storage_extent_largest_free(NULL, 0, MiB - 1), 0, "a pool below 1 MiB has nothing");
}

static void test_first_fit(void)
{
	/* Unsorted: [8, 12) and [0, 4) MiB used in a 32 MiB pool. */
	struct storage_extent used[] = {{8 * MiB, 4 * MiB}, {0, 4 * MiB}};
	uint64_t start = 0;
	CHECK(storage_extent_first_fit(used, 2, 32 * MiB, 4 * MiB, &start) == 0 && start == 4 * MiB,
	      "4 MiB goes into the first gap [4, 8)");
	CHECK(storage_extent_first_fit(used, 2, 32 * MiB, 5 * MiB, &start) == 0 && start == 12 * MiB,
	      "5 MiB skips the 4 MiB gap");
	CHECK(storage_extent_first_fit(used, 2, 32 * MiB, 20 * MiB, &start) == 0 && start == 12 * MiB,
	      "20 MiB fills the tail exactly");
	CHECK(storage_extent_first_fit(used, 2, 32 * MiB, 21 * MiB, &start) == -1, "21 MiB fits nowhere");
	CHECK_EQ_INT(storage_extent_largest_free(used, 2, 32 * MiB), 20 * MiB, "largest free run: the tail");
}

static void test_overlap_and_alignment(void)
{
	/* Overlapping extents and an unaligned one: [0, 10), [5, 6), [10 MiB + 1, +1). */
	struct storage_extent used[] = {{0, 10 * MiB}, {5 * MiB, MiB}, {10 * MiB + 1, 1}};
	uint64_t start = 0;
	CHECK(storage_extent_first_fit(used, 3, 16 * MiB, MiB, &start) == 0 && start == 11 * MiB,
	      "a run never starts inside or on the MiB of an unaligned extent");
	CHECK_EQ_INT(storage_extent_largest_free(used, 3, 16 * MiB), 5 * MiB, "largest: [11, 16)");
	CHECK(start % STORAGE_EXTENT_ALIGN == 0, "starts are aligned");
}

static void test_full_and_absurd(void)
{
	struct storage_extent whole[] = {{0, 32 * MiB}};
	uint64_t start = 0;
	CHECK_EQ_INT(storage_extent_largest_free(whole, 1, 32 * MiB), 0, "a full pool has nothing free");
	CHECK(storage_extent_first_fit(whole, 1, 32 * MiB, MiB, &start) == -1, "and fits nothing");
	/* An end beyond 2^64 must not wrap round to a small number. */
	struct storage_extent wrap[] = {{4 * MiB, UINT64_MAX}};
	CHECK_EQ_INT(storage_extent_largest_free(wrap, 1, 32 * MiB), 4 * MiB, "a huge extent covers the rest");
	struct storage_extent beyond[] = {{64 * MiB, MiB}};
	CHECK_EQ_INT(storage_extent_largest_free(beyond, 1, 32 * MiB), 32 * MiB, "an extent beyond the pool frees it");
	static struct storage_extent many[STORAGE_EXTENT_MAX + 1];
	CHECK_EQ_INT(storage_extent_largest_free(many, STORAGE_EXTENT_MAX + 1, 32 * MiB), 0,
		     "more extents than can exist: the pool counts as full");
}

static void test_size(void)
{
	uint64_t out = 0;
	CHECK(storage_extent_size(8 * MiB, 256 * MiB, 32 * MiB, 4 * MiB, &out) == STORAGE_EXTENT_SIZE_OK &&
		      out == 8 * MiB,
	      "the request's value runs");
	CHECK(storage_extent_size(8 * MiB + 5, 256 * MiB, 32 * MiB, 4 * MiB, &out) == STORAGE_EXTENT_SIZE_OK &&
		      out == 8 * MiB,
	      "rounded down to 1 MiB, never above the request");
	CHECK(storage_extent_size(33 * MiB, 256 * MiB, 32 * MiB, 4 * MiB, &out) == STORAGE_EXTENT_TOO_BIG,
	      "more than the largest free run: too big");
	CHECK(storage_extent_size(0, 256 * MiB, 32 * MiB, 4 * MiB, &out) == STORAGE_EXTENT_SIZE_OK && out == 32 * MiB,
	      "the default is capped by the largest free run");
	CHECK(storage_extent_size(0, 16 * MiB, 32 * MiB, 4 * MiB, &out) == STORAGE_EXTENT_SIZE_OK && out == 16 * MiB,
	      "a default below the free run is used as it is");
	CHECK(storage_extent_size(0, 256 * MiB, 3 * MiB, 4 * MiB, &out) == STORAGE_EXTENT_FULL,
	      "a free run below the minimum: full");
	CHECK(storage_extent_size(0, 256 * MiB, 0, 4 * MiB, &out) == STORAGE_EXTENT_FULL, "nothing free: full");
}

/* The records verify walks: an overlapping newer file system replaces the
 * older ones; too many drop the oldest and count it. */
static void test_note(void)
{
	struct storage_extent notes[3];
	uint32_t lost = 0;
	size_t n = 0;
	n = storage_extent_note(notes, n, 3, (struct storage_extent){0, 8 * MiB}, &lost);
	n = storage_extent_note(notes, n, 3, (struct storage_extent){8 * MiB, 8 * MiB}, &lost);
	CHECK(n == 2 && lost == 0, "two disjoint layers: two records");
	n = storage_extent_note(notes, n, 3, (struct storage_extent){4 * MiB, 2 * MiB}, &lost);
	CHECK(n == 2 && notes[0].start == 8 * MiB && notes[1].start == 4 * MiB && notes[1].bytes == 2 * MiB,
	      "a layer over the first one's extent replaces it (it is gone)");
	n = storage_extent_note(notes, n, 3, (struct storage_extent){15 * MiB, 2 * MiB}, &lost);
	CHECK(n == 2 && notes[0].start == 4 * MiB && notes[1].start == 15 * MiB,
	      "overlapping the end of a record drops it too");
	n = storage_extent_note(notes, n, 3, (struct storage_extent){20 * MiB, MiB}, &lost);
	n = storage_extent_note(notes, n, 3, (struct storage_extent){30 * MiB, MiB}, &lost);
	CHECK(n == 3 && lost == 1 && notes[0].start == 15 * MiB && notes[2].start == 30 * MiB,
	      "the fourth of three records drops the oldest and counts it");
	n = storage_extent_note(notes, n, 3, (struct storage_extent){16 * MiB, MiB}, &lost);
	CHECK(n == 3 && lost == 1 && notes[2].start == 16 * MiB, "replacing frees a slot: nothing lost");
}

int main(void)
{
	test_note();
	test_empty_pool();
	test_first_fit();
	test_overlap_and_alignment();
	test_full_and_absurd();
	test_size();
	return check_done();
}
