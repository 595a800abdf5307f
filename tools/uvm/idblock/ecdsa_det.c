/* RFC 6979 deterministic ECDSA, P-384 / SHA-384: see ecdsa_det.h. */
#include "ecdsa_det.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>

#include "hash.h"

/* More rejections than this cannot happen by chance (each has probability
 * about 2^-190); it means a broken primitive. */
#define MAX_CANDIDATES 64

/* out = HMAC-SHA-384_K(a || sep || b || c); sep < 0 means none. */
static void hmac(const uint8_t key[P384_BYTES], const uint8_t *a, int sep, const uint8_t *b, const uint8_t *c,
		 uint8_t out[P384_BYTES])
{
	uint8_t buf[3 * P384_BYTES + 1];
	size_t n = 0;
	memcpy(buf, a, P384_BYTES);
	n += P384_BYTES;
	if (sep >= 0)
		buf[n++] = (uint8_t)sep;
	if (b) {
		memcpy(buf + n, b, P384_BYTES);
		n += P384_BYTES;
	}
	if (c) {
		memcpy(buf + n, c, P384_BYTES);
		n += P384_BYTES;
	}
	unsigned int len = 0;
	HMAC(EVP_sha384(), key, P384_BYTES, buf, n, out, &len);
	OPENSSL_cleanse(buf, sizeof buf);
}

static const BIGNUM *p384_order(EC_GROUP **group)
{
	*group = EC_GROUP_new_by_curve_name(NID_secp384r1);
	return *group ? EC_GROUP_get0_order(*group) : NULL;
}

int rfc6979_p384_init(struct rfc6979_p384 *g, const uint8_t x[P384_BYTES], const uint8_t h1[P384_BYTES],
		      struct uvm_err *err)
{
	EC_GROUP *group = NULL;
	const BIGNUM *q = p384_order(&group);
	BIGNUM *bx = BN_bin2bn(x, P384_BYTES, NULL), *h = BN_bin2bn(h1, P384_BYTES, NULL);
	BN_CTX *ctx = BN_CTX_new();
	uint8_t hq[P384_BYTES];
	int rc = -1;
	if (!q || !bx || !h || !ctx) {
		uvm_fail(err, 0, "RFC 6979 set-up failed: OpenSSL could not allocate P-384 parameters");
		goto out;
	}
	if (BN_is_zero(bx) || BN_cmp(bx, q) >= 0) {
		uvm_fail(err, 0, "the P-384 private key is out of range (must be 1..q-1)");
		goto out;
	}
	/* bits2octets(h1): qlen == hlen, so the integer h1 reduced mod q. */
	if (!BN_nnmod(h, h, q, ctx) || BN_bn2binpad(h, hq, P384_BYTES) != P384_BYTES) {
		uvm_fail(err, 0, "RFC 6979: reducing the message hash mod q failed");
		goto out;
	}
	memset(g->v, 0x01, P384_BYTES);         /* b */
	memset(g->k, 0x00, P384_BYTES);         /* c */
	hmac(g->k, g->v, 0x00, x, hq, g->k);    /* d */
	hmac(g->k, g->v, -1, NULL, NULL, g->v); /* e */
	hmac(g->k, g->v, 0x01, x, hq, g->k);    /* f */
	hmac(g->k, g->v, -1, NULL, NULL, g->v); /* g */
	rc = 0;
out:
	BN_clear_free(bx);
	BN_free(h);
	BN_CTX_free(ctx);
	EC_GROUP_free(group);
	return rc;
}

void rfc6979_p384_candidate(struct rfc6979_p384 *g, uint8_t k[P384_BYTES])
{
	hmac(g->k, g->v, -1, NULL, NULL, g->v);
	memcpy(k, g->v, P384_BYTES);
}

void rfc6979_p384_reject(struct rfc6979_p384 *g)
{
	hmac(g->k, g->v, 0x00, NULL, NULL, g->k);
	hmac(g->k, g->v, -1, NULL, NULL, g->v);
}

/* One attempt with nonce k: r = (kG).x mod q, s = k^-1 (e + r x) mod q.
 * 1 done, 0 reject k (out of range, r or s zero), -1 OpenSSL failed. */
static int try_nonce(const EC_GROUP *group, const BIGNUM *q, const BIGNUM *x, const BIGNUM *e, const uint8_t kb[],
		     BIGNUM *r, BIGNUM *s, BN_CTX *ctx)
{
	BIGNUM *k = BN_secure_new(), *kinv = BN_secure_new(), *t = BN_new();
	EC_POINT *p = EC_POINT_new(group);
	int rc = -1;
	if (!k || !kinv || !t || !p || !BN_bin2bn(kb, P384_BYTES, k))
		goto out;
	BN_set_flags(k, BN_FLG_CONSTTIME);
	if (BN_is_zero(k) || BN_cmp(k, q) >= 0) {
		rc = 0;
		goto out;
	}
	if (!EC_POINT_mul(group, p, k, NULL, NULL, ctx) || !EC_POINT_get_affine_coordinates(group, p, t, NULL, ctx) ||
	    !BN_nnmod(r, t, q, ctx))
		goto out;
	if (BN_is_zero(r)) {
		rc = 0;
		goto out;
	}
	if (!BN_mod_inverse(kinv, k, q, ctx) || !BN_mod_mul(t, r, x, q, ctx) || !BN_mod_add(t, t, e, q, ctx) ||
	    !BN_mod_mul(s, kinv, t, q, ctx))
		goto out;
	rc = BN_is_zero(s) ? 0 : 1;
out:
	BN_clear_free(k);
	BN_clear_free(kinv);
	BN_clear_free(t);
	EC_POINT_clear_free(p);
	return rc;
}

int ecdsa_p384_sign_det(const uint8_t x[P384_BYTES], const void *msg, size_t len, uint8_t r[P384_BYTES],
			uint8_t s[P384_BYTES], struct uvm_err *err)
{
	uint8_t h1[P384_BYTES], k[P384_BYTES];
	struct rfc6979_p384 g;
	uvm_sha384(msg, len, h1);
	if (rfc6979_p384_init(&g, x, h1, err))
		return -1;
	EC_GROUP *group = NULL;
	const BIGNUM *q = p384_order(&group);
	BN_CTX *ctx = BN_CTX_secure_new();
	BIGNUM *bx = BN_secure_new(), *e = BN_bin2bn(h1, P384_BYTES, NULL), *br = BN_new(), *bs = BN_new();
	int rc = -1, got = 0;
	if (!q || !ctx || !bx || !e || !br || !bs || !BN_bin2bn(x, P384_BYTES, bx) || !BN_nnmod(e, e, q, ctx)) {
		uvm_fail(err, 0, "ECDSA P-384 signing: OpenSSL could not set up the numbers");
		goto out;
	}
	BN_set_flags(bx, BN_FLG_CONSTTIME);
	for (int i = 0; i < MAX_CANDIDATES && got == 0; i++) {
		rfc6979_p384_candidate(&g, k);
		got = try_nonce(group, q, bx, e, k, br, bs, ctx);
		if (got == 0)
			rfc6979_p384_reject(&g);
	}
	if (got != 1 || BN_bn2binpad(br, r, P384_BYTES) != P384_BYTES ||
	    BN_bn2binpad(bs, s, P384_BYTES) != P384_BYTES) {
		uvm_fail(err, 0, "ECDSA P-384 signing failed in OpenSSL's EC arithmetic (%s)",
			 got == 0 ? "no usable nonce" : "EC_POINT_mul or BN arithmetic");
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(&g, sizeof g);
	OPENSSL_cleanse(k, sizeof k);
	BN_CTX_free(ctx);
	BN_clear_free(bx);
	BN_free(e);
	BN_free(br);
	BN_free(bs);
	EC_GROUP_free(group);
	return rc;
}
