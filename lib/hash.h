/* SHA-2 digests through OpenSSL's low-level functions. Why low-level: in a
 * static guest binary the EVP one-shots pull in the whole provider machinery
 * (~3.5 MB); SHA256_Init & co. link only the hash code. Host and guest share
 * this file so both compute identical digests. */
#ifndef UVM_HASH_H
#define UVM_HASH_H

#include <stddef.h>
#include <stdint.h>

#define UVM_SHA256_LEN 32
#define UVM_SHA384_LEN 48
#define UVM_SHA512_LEN 64

void uvm_sha256(const void *data, size_t len, uint8_t out[UVM_SHA256_LEN]);
void uvm_sha384(const void *data, size_t len, uint8_t out[UVM_SHA384_LEN]);
void uvm_sha512(const void *data, size_t len, uint8_t out[UVM_SHA512_LEN]);

/* Streaming SHA-256 (files, devices). The state is opaque but sized here so
 * callers can keep it on the stack. */
struct uvm_sha256_ctx {
	uint64_t opaque[16];
};
void uvm_sha256_init(struct uvm_sha256_ctx *ctx);
void uvm_sha256_update(struct uvm_sha256_ctx *ctx, const void *data, size_t len);
void uvm_sha256_final(struct uvm_sha256_ctx *ctx, uint8_t out[UVM_SHA256_LEN]);

#endif
