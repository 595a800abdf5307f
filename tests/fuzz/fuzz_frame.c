/* libFuzzer: the agent's incremental message framing (lib/frame.c), the
 * first code that touches every byte the host sends.
 *
 * Input: 2 bytes seeding how the stream is cut into reads, then the byte
 * stream itself. The stream is fed in those pieces and every event is
 * compared with a one-pass reference reading of the whole stream, so the
 * fuzzer checks that: every byte is consumed exactly once and never beyond
 * what was given; a complete frame's length equals its header and its body
 * is exactly the bytes that followed; a length of 0 or above FRAME_MAX is
 * reported with the declared length and exactly that many bytes are skipped
 * (the stream stays in step); how the host splits its writes never matters;
 * and after a reset (a reconnect) a fresh frame is read from scratch. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

/* One expected event of the reference reading. */
struct event {
	enum frame_status status;
	size_t off; /* where the body starts (COMPLETE) or the skip starts (OVERSIZE) */
	uint32_t len;
};

#define MAX_EVENTS 70000 /* a 64 KiB input has at most 16384 headers */

static struct event expect[MAX_EVENTS];

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The specification in docs/protocol.md read in one pass over the whole
 * stream; returns the number of events. */
static size_t reference(const uint8_t *s, size_t n)
{
	size_t pos = 0, k = 0;
	while (n - pos >= 4 && k < MAX_EVENTS) {
		uint32_t len = be32(s + pos);
		pos += 4;
		if (len == 0 || len > FRAME_MAX) {
			expect[k++] = (struct event){FRAME_OVERSIZE, pos, len};
			if (n - pos < len)
				break; /* the rest of the stream is being skipped */
			pos += len;
			continue;
		}
		if (n - pos < len)
			break; /* an incomplete last frame: no event */
		expect[k++] = (struct event){FRAME_COMPLETE, pos, len};
		pos += len;
	}
	return k;
}

/* xorshift: the read sizes, from the input's seed. */
static uint32_t next_cut(uint32_t *st, size_t left)
{
	*st ^= *st << 13;
	*st ^= *st >> 17;
	*st ^= *st << 5;
	/* mostly small reads (split headers), sometimes big ones */
	size_t cut = (*st & 1) ? 1 + (*st >> 1) % 7 : 1 + (*st >> 1) % 4096;
	return (uint32_t)(cut < left ? cut : left);
}

static struct frame_reader rd;

static void check_reconnect(void)
{
	/* A reset drops a half-read frame; the next frame is read whole. */
	static const uint8_t ping[] = "{\"id\":1,\"op\":\"ping\"}";
	uint8_t hdr[4];
	const uint8_t *body = NULL;
	size_t used, len = 0;
	frame_reader_reset(&rd);
	frame_header(hdr, sizeof ping - 1);
	if (frame_feed(&rd, hdr, 4, &used, &body, &len) != FRAME_NEED_MORE || used != 4)
		abort();
	if (frame_feed(&rd, ping, sizeof ping - 1, &used, &body, &len) != FRAME_COMPLETE || used != sizeof ping - 1 ||
	    len != sizeof ping - 1 || memcmp(body, ping, len) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!rd.body && frame_reader_init(&rd) < 0)
		abort();
	if (size < 2)
		return 0;
	uint32_t st = (uint32_t)data[0] << 8 | data[1] | 0x10000u;
	const uint8_t *s = data + 2;
	size_t n = size - 2, k = reference(s, n), seen = 0, pos = 0;
	frame_reader_reset(&rd);
	while (pos < n) {
		size_t piece = next_cut(&st, n - pos), off = 0;
		while (off < piece) {
			const uint8_t *body = NULL;
			size_t used = SIZE_MAX, len = SIZE_MAX;
			enum frame_status fs = frame_feed(&rd, s + pos + off, piece - off, &used, &body, &len);
			if (used == 0 || used > piece - off)
				abort(); /* no progress, or consumed bytes it was not given */
			off += used;
			if (fs == FRAME_NEED_MORE) {
				if (off != piece)
					abort(); /* NEED_MORE means everything given was taken */
				continue;
			}
			if (seen >= k || expect[seen].status != fs || expect[seen].len != len)
				abort(); /* an event the reference does not have */
			if (fs == FRAME_COMPLETE && (body != rd.body || pos + off != expect[seen].off + len ||
						     memcmp(body, s + expect[seen].off, len) != 0))
				abort(); /* the body is not exactly the bytes after its header */
			if (fs == FRAME_OVERSIZE && pos + off != expect[seen].off)
				abort(); /* reported somewhere other than right after its header */
			seen++;
		}
		pos += piece;
	}
	if (seen != k)
		abort(); /* the reference saw a frame the reader missed */
	check_reconnect();
	return 0;
}
