#include "frame.h"

#include <stdlib.h>
#include <string.h>

int frame_reader_init(struct frame_reader *r)
{
	memset(r, 0, sizeof *r);
	r->body = malloc(FRAME_MAX);
	return r->body ? 0 : -1;
}

void frame_reader_reset(struct frame_reader *r)
{
	r->hdr_got = 0;
	r->want = 0;
	r->got = 0;
	r->skip = 0;
}

int frame_reader_partial(const struct frame_reader *r)
{
	return r->hdr_got > 0 || r->skip > 0; /* hdr_got stays 4 while the body arrives */
}

void frame_header(uint8_t out[4], uint32_t len)
{
	out[0] = (uint8_t)(len >> 24);
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
}

enum frame_status frame_feed(struct frame_reader *r, const uint8_t *data, size_t n, size_t *used, const uint8_t **body,
			     size_t *len)
{
	size_t pos = 0;
	while (pos < n) {
		if (r->skip > 0) {
			size_t take = n - pos < r->skip ? n - pos : (size_t)r->skip;
			r->skip -= take;
			pos += take;
			continue;
		}
		if (r->hdr_got < 4) {
			r->hdr[r->hdr_got++] = data[pos++];
			if (r->hdr_got < 4)
				continue;
			r->want = (uint32_t)r->hdr[0] << 24 | (uint32_t)r->hdr[1] << 16 | (uint32_t)r->hdr[2] << 8 |
				  r->hdr[3];
			r->got = 0;
			if (r->want == 0 || r->want > FRAME_MAX) {
				*len = r->want;
				r->skip = r->want;
				r->hdr_got = 0;
				*used = pos;
				return FRAME_OVERSIZE;
			}
			continue;
		}
		size_t take = n - pos < r->want - r->got ? n - pos : r->want - r->got;
		memcpy(r->body + r->got, data + pos, take);
		r->got += take;
		pos += take;
		if (r->got == r->want) {
			r->hdr_got = 0;
			*body = r->body;
			*len = r->want;
			*used = pos;
			return FRAME_COMPLETE;
		}
	}
	*used = pos;
	return FRAME_NEED_MORE;
}
