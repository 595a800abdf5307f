/* Message framing on the host channel: a 4-byte big-endian length, then that
 * many bytes of JSON. A length of 0 or above FRAME_MAX is answered with an
 * error and the declared bytes are skipped, so the stream stays in step and
 * the connection survives. The reader is incremental: a half-written
 * message never blocks PID 1. */
#ifndef UVM_AGENT_FRAME_H
#define UVM_AGENT_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_MAX (1u << 20)

enum frame_status {
	FRAME_NEED_MORE, /* consumed everything given, no complete frame yet */
	FRAME_COMPLETE,  /* *body / *len describe one message (valid until the next call) */
	FRAME_OVERSIZE,  /* the header declared *len bytes: rejected, being skipped */
};

struct frame_reader {
	uint8_t hdr[4];
	size_t hdr_got;
	uint32_t want; /* body length from the header */
	size_t got;
	uint64_t skip; /* bytes left to discard of an oversize message */
	uint8_t *body; /* FRAME_MAX bytes, allocated once */
};

int frame_reader_init(struct frame_reader *r);
void frame_reader_reset(struct frame_reader *r);

/* Feeds bytes; *used tells how many were consumed (call again with the rest). */
enum frame_status frame_feed(struct frame_reader *r, const uint8_t *data, size_t n, size_t *used, const uint8_t **body,
			     size_t *len);

/* 1 while a message has been started but not completed (or is being skipped). */
int frame_reader_partial(const struct frame_reader *r);

/* Writes the 4-byte header for a body of len bytes. */
void frame_header(uint8_t out[4], uint32_t len);

#endif
