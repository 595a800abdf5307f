/* The scratch as a pool of sectors (docs/storage.md, "The scratch pool"):
 * each overlay's writable layer is one contiguous extent of the scratch's
 * crypt device, with its own file system, so a container that fills its
 * layer fills nothing of its neighbours'. This is the allocator: pure
 * arithmetic over the extents in use, no I/O, unit-tested on the host
 * (tests/unit/test_storage_extent.c). Sizes and offsets are in bytes. */
#ifndef UVM_AGENT_STORAGE_EXTENT_H
#define UVM_AGENT_STORAGE_EXTENT_H

#include <stddef.h>
#include <stdint.h>

/* Every extent starts and ends on a 1 MiB boundary: a multiple of the
 * 4 KiB crypt sector and of ext2's block, and few enough boundaries that
 * the pool does not fragment into unusable slivers. */
#define STORAGE_EXTENT_ALIGN (1ull << 20)
/* At most this many extents in use on one scratch (one per overlay). */
#define STORAGE_EXTENT_MAX 256

struct storage_extent {
	uint64_t start, bytes;
};

/* The largest aligned free run of [0, pool) that no used extent covers.
 * used need not be sorted and may overlap. More than STORAGE_EXTENT_MAX
 * extents cannot be in use; if n were larger the pool counts as full. */
uint64_t storage_extent_largest_free(const struct storage_extent *used, size_t n, uint64_t pool);

/* First fit: the lowest aligned start where bytes fit in [0, pool) between
 * the used extents. 0, or -1 if no free run is that long. */
int storage_extent_first_fit(const struct storage_extent *used, size_t n, uint64_t pool, uint64_t bytes,
			     uint64_t *start);

enum storage_extent_size {
	STORAGE_EXTENT_SIZE_OK,
	STORAGE_EXTENT_TOO_BIG, /* the request names more than the largest free run */
	STORAGE_EXTENT_FULL,    /* the largest free run is below the minimum */
};

/* The writable layer's size that will run: the request's value (want; 0 if
 * it names none) or else dflt capped by the largest free run, rounded down
 * to STORAGE_EXTENT_ALIGN; at least min (aligned). */
enum storage_extent_size storage_extent_size(uint64_t want, uint64_t dflt, uint64_t largest, uint64_t min,
					     uint64_t *out);

/* The file systems a scratch_unmount verify walks (docs/storage.md): a
 * record of each extent formatted since the scratch was mounted. A new one
 * drops every older record it overlaps (that file system is gone, and its
 * bitmaps would now name blocks of the new one); with max records kept the
 * oldest goes and *lost counts it. Returns the new count. */
#define STORAGE_FORMATTED_MAX 64
size_t storage_extent_note(struct storage_extent *notes, size_t n, size_t max, struct storage_extent e, uint32_t *lost);

#endif
