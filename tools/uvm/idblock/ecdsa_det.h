/* Deterministic ECDSA over NIST P-384 with SHA-384 (RFC 6979, section 3.2).
 * Debian 12's OpenSSL 3.0 has no deterministic ECDSA (the "nonce-type"
 * signature parameter arrived in 3.2), so the nonce is derived here with
 * HMAC-SHA-384 and the signature computed with OpenSSL's BN/EC primitives.
 * Same key and message: same signature, bit for bit. Verifiable by any
 * ECDSA verifier (the unit test uses OpenSSL's EVP_DigestVerify).
 * All integers here are 48-byte big-endian. */
#ifndef UVM_ECDSA_DET_H
#define UVM_ECDSA_DET_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define P384_BYTES 48

/* The HMAC_DRBG state of RFC 6979 3.2 (K and V), for P-384 / SHA-384 where
 * qlen == hlen == 384 (bits2int is the identity, one HMAC block per
 * candidate). Exposed so the unit test can check the published nonces. */
struct rfc6979_p384 {
	uint8_t k[P384_BYTES];
	uint8_t v[P384_BYTES];
};

/* Steps a..f: x is the private key (1 <= x < q), h1 = SHA-384(message).
 * 0, or -1 (err set) when x is out of range or OpenSSL fails. */
int rfc6979_p384_init(struct rfc6979_p384 *g, const uint8_t x[P384_BYTES], const uint8_t h1[P384_BYTES],
		      struct uvm_err *err);
/* Step h.2: the next candidate nonce (the caller checks 1 <= k < q). */
void rfc6979_p384_candidate(struct rfc6979_p384 *g, uint8_t k[P384_BYTES]);
/* Step h.3: after a rejected candidate (k out of range, r or s zero). */
void rfc6979_p384_reject(struct rfc6979_p384 *g);

/* Signs msg with private key x: r and s (each < q). The private key is
 * wiped from every temporary. 0, or -1 (err set). */
int ecdsa_p384_sign_det(const uint8_t x[P384_BYTES], const void *msg, size_t len, uint8_t r[P384_BYTES],
			uint8_t s[P384_BYTES], struct uvm_err *err);

#endif
