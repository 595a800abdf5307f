/* The SEV-SNP ID block and ID authentication information structure, the
 * two blobs SNP_LAUNCH_FINISH takes (AMD SEV-SNP firmware ABI, tables
 * "ID_BLOCK", "ID_AUTH_INFO", "ECDSA Public Key" and "ECDSA Signature").
 * Every integer is little-endian; every structure is written byte by byte
 * at the offsets below (no packed C structs).
 *
 * ID block (0x60 bytes), signed by the ID key:
 *   0x00 LD[48]  0x30 FAMILY_ID[16]  0x40 IMAGE_ID[16]
 *   0x50 VERSION u32 (1)  0x54 GUEST_SVN u32  0x58 POLICY u64
 * ID auth info (0x1000 bytes):
 *   0x000 ID_KEY_ALGO u32 (1: ECDSA P-384 with SHA-384)
 *   0x004 AUTHOR_KEY_ALGO u32 (1, or 0 without an author key)
 *   0x008..0x03F reserved
 *   0x040 ID_BLOCK_SIG (0x200): the ID key's signature over the ID block
 *   0x240 ID_KEY (0x404): the ID public key
 *   0x644..0x67F reserved
 *   0x680 ID_KEY_SIG (0x200): the author key's signature over ID_KEY
 *   0x880 AUTHOR_KEY (0x404): the author public key
 *   0xC84..0xFFF reserved
 * ECDSA signature (0x200): 0x00 R[72], 0x48 S[72], 0x90..0x1FF reserved.
 * ECDSA public key (0x404): 0x00 CURVE u32 (2: P-384), 0x04 QX[72],
 *   0x4C QY[72], 0x94..0x403 reserved. R, S, QX, QY are little-endian
 *   integers zero-padded to 72 bytes.
 * The attestation report's ID_KEY_DIGEST and AUTHOR_KEY_DIGEST are SHA-384
 * of the whole 0x404-byte public key structures. */
#ifndef UVM_IDBLOCK_H
#define UVM_IDBLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "err.h"

#define IDBLOCK_SIZE 0x60u
#define IDBLOCK_OFF_LD 0x00u
#define IDBLOCK_OFF_FAMILY_ID 0x30u
#define IDBLOCK_OFF_IMAGE_ID 0x40u
#define IDBLOCK_OFF_VERSION 0x50u
#define IDBLOCK_OFF_GUEST_SVN 0x54u
#define IDBLOCK_OFF_POLICY 0x58u
#define IDBLOCK_VERSION 1u
#define IDBLOCK_LD_LEN 48u
#define IDBLOCK_ID_LEN 16u

#define IDAUTH_SIZE 0x1000u
#define IDAUTH_OFF_ID_KEY_ALGO 0x000u
#define IDAUTH_OFF_AUTHOR_KEY_ALGO 0x004u
#define IDAUTH_OFF_ID_BLOCK_SIG 0x040u
#define IDAUTH_OFF_ID_KEY 0x240u
#define IDAUTH_OFF_ID_KEY_SIG 0x680u
#define IDAUTH_OFF_AUTHOR_KEY 0x880u

#define SNP_ECDSA_SIG_SIZE 0x200u
#define SNP_ECDSA_SIG_OFF_R 0x00u
#define SNP_ECDSA_SIG_OFF_S 0x48u
#define SNP_ECDSA_PUBKEY_SIZE 0x404u
#define SNP_ECDSA_PUBKEY_OFF_CURVE 0x00u
#define SNP_ECDSA_PUBKEY_OFF_QX 0x04u
#define SNP_ECDSA_PUBKEY_OFF_QY 0x4Cu
#define SNP_ECDSA_COMPONENT_LEN 72u /* 576 bits */

#define SNP_ALGO_ECDSA_P384_SHA384 1u
#define SNP_CURVE_P384 2u

#define IDBLOCK_DIGEST_LEN 48u

struct idblock_params {
	uint8_t ld[IDBLOCK_LD_LEN]; /* the expected launch measurement */
	uint8_t family_id[IDBLOCK_ID_LEN];
	uint8_t image_id[IDBLOCK_ID_LEN];
	uint32_t guest_svn;
	uint64_t policy;
};

/* What a checked pair of blobs says. */
struct idblock_info {
	struct idblock_params params;
	bool author_key_en; /* AUTHOR_KEY_ALGO is 1 and the author key signed ID_KEY */
	uint8_t id_key_digest[IDBLOCK_DIGEST_LEN];
	uint8_t author_key_digest[IDBLOCK_DIGEST_LEN]; /* zero without an author key */
};

/* Reads an unencrypted P-384 private key (PEM: "EC PRIVATE KEY" or PKCS#8)
 * of at most 64 KiB. Anything else (another curve, RSA, a passphrase, a
 * public key only) is refused with a message naming the file. */
EVP_PKEY *idblock_load_key(const char *path, struct uvm_err *err);

void idblock_encode(const struct idblock_params *p, uint8_t out[IDBLOCK_SIZE]);

/* The key's public point in AMD's format (0x404 bytes). */
int idblock_encode_pubkey(EVP_PKEY *key, uint8_t out[SNP_ECDSA_PUBKEY_SIZE], struct uvm_err *err);

/* Signs msg (RFC 6979 deterministic ECDSA P-384/SHA-384) into AMD's
 * 0x200-byte signature format. */
int idblock_sign(EVP_PKEY *key, const void *msg, size_t len, uint8_t out[SNP_ECDSA_SIG_SIZE], struct uvm_err *err);

/* Builds the ID auth info for an encoded ID block; author_key may be NULL.
 * The same keys and block always give the same bytes. */
int idblock_build_auth(const uint8_t block[IDBLOCK_SIZE], EVP_PKEY *id_key, EVP_PKEY *author_key,
		       uint8_t auth[IDAUTH_SIZE], struct uvm_err *err);

/* Parses and checks a pair as the firmware would before accepting it:
 * exact sizes, VERSION 1, the algorithms and curve, every reserved byte
 * zero, the public keys on the curve, and both signatures (verified with
 * OpenSSL's ECDSA). 0 with info filled, or -1 (err names the problem). */
int idblock_check(const uint8_t *block, size_t block_len, const uint8_t *auth, size_t auth_len,
		  struct idblock_info *info, struct uvm_err *err);

#endif
