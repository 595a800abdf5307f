/* Hex and base64 text forms of binary values (hashes, report fields). */
#ifndef UVM_HEX_H
#define UVM_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*len lowercase hex digits and a NUL into out (size >= 2*len+1). */
void uvm_hex_encode(const uint8_t *in, size_t len, char *out);

/* Decodes exactly 2*len hex digits (either case) from a NUL-terminated
 * string into out. Returns 0, or -1 if the text is not exactly that. */
int uvm_hex_decode(const char *text, uint8_t *out, size_t len);

/* Standard base64 with padding; out needs 4*((len+2)/3)+1 bytes. */
void uvm_base64_encode(const uint8_t *in, size_t len, char *out);

/* Strict standard base64 (padding required, no whitespace). Writes at most
 * max bytes; returns the decoded length, or -1 if the text is not base64 or
 * decodes to more than max bytes. */
long uvm_base64_decode(const char *text, size_t len, uint8_t *out, size_t max);

#endif
