/* See hash.h for why the deprecated low-level API is used on purpose. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "hash.h"

#include <assert.h>
#include <openssl/sha.h>

_Static_assert(sizeof(struct uvm_sha256_ctx) >= sizeof(SHA256_CTX), "uvm_sha256_ctx too small for SHA256_CTX");

void uvm_sha256(const void *data, size_t len, uint8_t out[UVM_SHA256_LEN])
{
	SHA256_CTX c;
	SHA256_Init(&c);
	SHA256_Update(&c, data, len);
	SHA256_Final(out, &c);
}

void uvm_sha384(const void *data, size_t len, uint8_t out[UVM_SHA384_LEN])
{
	SHA512_CTX c;
	SHA384_Init(&c);
	SHA384_Update(&c, data, len);
	SHA384_Final(out, &c);
}

void uvm_sha512(const void *data, size_t len, uint8_t out[UVM_SHA512_LEN])
{
	SHA512_CTX c;
	SHA512_Init(&c);
	SHA512_Update(&c, data, len);
	SHA512_Final(out, &c);
}

void uvm_sha256_init(struct uvm_sha256_ctx *ctx)
{
	SHA256_Init((SHA256_CTX *)ctx);
}

void uvm_sha256_update(struct uvm_sha256_ctx *ctx, const void *data, size_t len)
{
	SHA256_Update((SHA256_CTX *)ctx, data, len);
}

void uvm_sha256_final(struct uvm_sha256_ctx *ctx, uint8_t out[UVM_SHA256_LEN])
{
	SHA256_Final(out, (SHA256_CTX *)ctx);
}
