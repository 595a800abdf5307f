/* SNP ID block and ID auth info: build, sign (RFC 6979) and check. See
 * idblock.h for the layout. */
#include "idblock.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "ecdsa_det.h"
#include "file_util.h"
#include "hash.h"
#include "le.h"

#define KEY_FILE_MAX (64u << 10)

static bool is_p384(EVP_PKEY *key)
{
	char group[32];
	size_t len;
	return key && EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
	       EVP_PKEY_get_group_name(key, group, sizeof group, &len) == 1 && strcmp(group, "secp384r1") == 0;
}

/* A passphrase-protected key is refused, never prompted for. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

EVP_PKEY *idblock_load_key(const char *path, struct uvm_err *err)
{
	struct file_buf b;
	if (file_read_all(path, KEY_FILE_MAX, &b, err)) {
		uvm_wrap(err, "reading the key");
		return NULL;
	}
	BIO *bio = BIO_new_mem_buf(b.data, (int)b.len);
	EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
	BIO_free(bio);
	OPENSSL_cleanse(b.data, b.len);
	file_buf_free(&b);
	ERR_clear_error();
	if (!key) {
		uvm_fail(err, 0,
			 "%s: not an unencrypted PEM private key (want an EC P-384 key, e.g. from `openssl genpkey "
			 "-algorithm EC -pkeyopt ec_paramgen_curve:P-384`)",
			 path);
		return NULL;
	}
	if (!is_p384(key)) {
		uvm_fail(err, 0, "%s: the key is not ECDSA P-384 (secp384r1), the only algorithm the SNP ABI defines",
			 path);
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

void idblock_encode(const struct idblock_params *p, uint8_t out[IDBLOCK_SIZE])
{
	memset(out, 0, IDBLOCK_SIZE);
	memcpy(out + IDBLOCK_OFF_LD, p->ld, IDBLOCK_LD_LEN);
	memcpy(out + IDBLOCK_OFF_FAMILY_ID, p->family_id, IDBLOCK_ID_LEN);
	memcpy(out + IDBLOCK_OFF_IMAGE_ID, p->image_id, IDBLOCK_ID_LEN);
	le32_put(out + IDBLOCK_OFF_VERSION, IDBLOCK_VERSION);
	le32_put(out + IDBLOCK_OFF_GUEST_SVN, p->guest_svn);
	le64_put(out + IDBLOCK_OFF_POLICY, p->policy);
}

int idblock_encode_pubkey(EVP_PKEY *key, uint8_t out[SNP_ECDSA_PUBKEY_SIZE], struct uvm_err *err)
{
	BIGNUM *x = NULL, *y = NULL;
	memset(out, 0, SNP_ECDSA_PUBKEY_SIZE);
	int ok = is_p384(key) && EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
		 EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
		 BN_bn2lebinpad(x, out + SNP_ECDSA_PUBKEY_OFF_QX, SNP_ECDSA_COMPONENT_LEN) > 0 &&
		 BN_bn2lebinpad(y, out + SNP_ECDSA_PUBKEY_OFF_QY, SNP_ECDSA_COMPONENT_LEN) > 0;
	BN_free(x);
	BN_free(y);
	ERR_clear_error();
	if (!ok)
		return uvm_fail(err, 0, "cannot read the public point of the P-384 key (OpenSSL refused)");
	le32_put(out + SNP_ECDSA_PUBKEY_OFF_CURVE, SNP_CURVE_P384);
	return 0;
}

int idblock_sign(EVP_PKEY *key, const void *msg, size_t len, uint8_t out[SNP_ECDSA_SIG_SIZE], struct uvm_err *err)
{
	BIGNUM *priv = NULL;
	uint8_t x[P384_BYTES], r[P384_BYTES], s[P384_BYTES];
	memset(out, 0, SNP_ECDSA_SIG_SIZE);
	if (!is_p384(key) || EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &priv) != 1 ||
	    BN_bn2binpad(priv, x, P384_BYTES) != P384_BYTES) {
		BN_clear_free(priv);
		ERR_clear_error();
		return uvm_fail(err, 0, "cannot read the private scalar of the P-384 key (OpenSSL refused)");
	}
	BN_clear_free(priv);
	int rc = ecdsa_p384_sign_det(x, msg, len, r, s, err);
	OPENSSL_cleanse(x, sizeof x);
	if (rc)
		return -1;
	/* r and s big-endian -> 72-byte little-endian */
	for (size_t i = 0; i < P384_BYTES; i++) {
		out[SNP_ECDSA_SIG_OFF_R + i] = r[P384_BYTES - 1 - i];
		out[SNP_ECDSA_SIG_OFF_S + i] = s[P384_BYTES - 1 - i];
	}
	return 0;
}

int idblock_build_auth(const uint8_t block[IDBLOCK_SIZE], EVP_PKEY *id_key, EVP_PKEY *author_key,
		       uint8_t auth[IDAUTH_SIZE], struct uvm_err *err)
{
	memset(auth, 0, IDAUTH_SIZE);
	le32_put(auth + IDAUTH_OFF_ID_KEY_ALGO, SNP_ALGO_ECDSA_P384_SHA384);
	if (idblock_encode_pubkey(id_key, auth + IDAUTH_OFF_ID_KEY, err) ||
	    idblock_sign(id_key, block, IDBLOCK_SIZE, auth + IDAUTH_OFF_ID_BLOCK_SIG, err))
		return uvm_wrap(err, "ID key");
	if (!author_key)
		return 0; /* AUTHOR_KEY_ALGO 0, ID_KEY_SIG and AUTHOR_KEY zero */
	le32_put(auth + IDAUTH_OFF_AUTHOR_KEY_ALGO, SNP_ALGO_ECDSA_P384_SHA384);
	if (idblock_encode_pubkey(author_key, auth + IDAUTH_OFF_AUTHOR_KEY, err) ||
	    idblock_sign(author_key, auth + IDAUTH_OFF_ID_KEY, SNP_ECDSA_PUBKEY_SIZE, auth + IDAUTH_OFF_ID_KEY_SIG,
			 err))
		return uvm_wrap(err, "author key");
	return 0;
}

/* ---------------------------------------------------------------- checking */

/* Offset of the first non-zero byte in [from, to), or -1. */
static long nonzero_at(const uint8_t *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (p[i])
			return (long)i;
	return -1;
}

/* A public key structure -> an OpenSSL key (the point checked on the curve). */
static EVP_PKEY *pubkey_decode(const uint8_t *pk, const char *what, struct uvm_err *err)
{
	uint32_t curve = le32_get(pk + SNP_ECDSA_PUBKEY_OFF_CURVE);
	if (curve != SNP_CURVE_P384) {
		uvm_fail(err, 0, "%s: CURVE is %u, want 2 (P-384)", what, curve);
		return NULL;
	}
	long nz = nonzero_at(pk, SNP_ECDSA_PUBKEY_OFF_QX + P384_BYTES, SNP_ECDSA_PUBKEY_OFF_QY);
	if (nz < 0)
		nz = nonzero_at(pk, SNP_ECDSA_PUBKEY_OFF_QY + P384_BYTES, SNP_ECDSA_PUBKEY_SIZE);
	if (nz >= 0) {
		uvm_fail(err, 0, "%s: byte 0x%lx must be zero (beyond the 48-byte coordinates, or reserved)", what, nz);
		return NULL;
	}
	uint8_t oct[1 + 2 * P384_BYTES];
	oct[0] = 0x04; /* uncompressed point, big-endian coordinates */
	for (size_t i = 0; i < P384_BYTES; i++) {
		oct[1 + i] = pk[SNP_ECDSA_PUBKEY_OFF_QX + P384_BYTES - 1 - i];
		oct[1 + P384_BYTES + i] = pk[SNP_ECDSA_PUBKEY_OFF_QY + P384_BYTES - 1 - i];
	}
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *key = NULL;
	if (bld && ctx && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "secp384r1", 0) == 1 &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, oct, sizeof oct) == 1 &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) && EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
		key = NULL;
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	if (!key)
		uvm_fail(err, 0, "%s: (QX, QY) is not a point on P-384", what);
	return key;
}

/* 0 when sig (AMD format) is key's ECDSA P-384/SHA-384 signature of msg. */
static int sig_verify(EVP_PKEY *key, const uint8_t *sig, const uint8_t *msg, size_t len, const char *what,
		      struct uvm_err *err)
{
	long nz = nonzero_at(sig, SNP_ECDSA_SIG_OFF_R + P384_BYTES, SNP_ECDSA_SIG_OFF_S);
	if (nz < 0)
		nz = nonzero_at(sig, SNP_ECDSA_SIG_OFF_S + P384_BYTES, SNP_ECDSA_SIG_SIZE);
	if (nz >= 0)
		return uvm_fail(err, 0, "%s: byte 0x%lx must be zero (beyond the 48-byte r/s, or reserved)", what, nz);
	BIGNUM *r = BN_lebin2bn(sig + SNP_ECDSA_SIG_OFF_R, P384_BYTES, NULL);
	BIGNUM *s = BN_lebin2bn(sig + SNP_ECDSA_SIG_OFF_S, P384_BYTES, NULL);
	ECDSA_SIG *es = ECDSA_SIG_new();
	unsigned char *der = NULL;
	int der_len = 0, ok = 0;
	if (r && s && es && ECDSA_SIG_set0(es, r, s) == 1) {
		r = s = NULL;
		der_len = i2d_ECDSA_SIG(es, &der);
	}
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ok = der && der_len > 0 && md && EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, key) == 1 &&
	     EVP_DigestVerify(md, der, (size_t)der_len, msg, len) == 1;
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	ERR_clear_error();
	return ok ? 0 : uvm_fail(err, 0, "%s does not verify (ECDSA P-384 with SHA-384)", what);
}

static int check_block(const uint8_t *block, size_t block_len, struct idblock_params *p, struct uvm_err *err)
{
	if (block_len != IDBLOCK_SIZE)
		return uvm_fail(err, 0, "the ID block is %zu bytes, want exactly %u", block_len, IDBLOCK_SIZE);
	uint32_t version = le32_get(block + IDBLOCK_OFF_VERSION);
	if (version != IDBLOCK_VERSION)
		return uvm_fail(err, 0, "the ID block's VERSION is %u; only 1 is defined", version);
	memcpy(p->ld, block + IDBLOCK_OFF_LD, IDBLOCK_LD_LEN);
	memcpy(p->family_id, block + IDBLOCK_OFF_FAMILY_ID, IDBLOCK_ID_LEN);
	memcpy(p->image_id, block + IDBLOCK_OFF_IMAGE_ID, IDBLOCK_ID_LEN);
	p->guest_svn = le32_get(block + IDBLOCK_OFF_GUEST_SVN);
	p->policy = le64_get(block + IDBLOCK_OFF_POLICY);
	return 0;
}

static int check_auth_header(const uint8_t *auth, size_t auth_len, bool *author, struct uvm_err *err)
{
	if (auth_len != IDAUTH_SIZE)
		return uvm_fail(err, 0, "the ID auth info is %zu bytes, want exactly %u", auth_len, IDAUTH_SIZE);
	uint32_t id_algo = le32_get(auth + IDAUTH_OFF_ID_KEY_ALGO);
	uint32_t author_algo = le32_get(auth + IDAUTH_OFF_AUTHOR_KEY_ALGO);
	if (id_algo != SNP_ALGO_ECDSA_P384_SHA384)
		return uvm_fail(err, 0, "the ID auth info's ID_KEY_ALGO is %u, want 1 (ECDSA P-384 with SHA-384)",
				id_algo);
	if (author_algo > SNP_ALGO_ECDSA_P384_SHA384)
		return uvm_fail(
			err, 0,
			"the ID auth info's AUTHOR_KEY_ALGO is %u, want 1 (ECDSA P-384 with SHA-384) or 0 (none)",
			author_algo);
	*author = author_algo == SNP_ALGO_ECDSA_P384_SHA384;
	static const struct {
		size_t from, to;
	} reserved[] = {{0x008, IDAUTH_OFF_ID_BLOCK_SIG},
			{IDAUTH_OFF_ID_KEY + SNP_ECDSA_PUBKEY_SIZE, IDAUTH_OFF_ID_KEY_SIG},
			{IDAUTH_OFF_AUTHOR_KEY + SNP_ECDSA_PUBKEY_SIZE, IDAUTH_SIZE},
			{IDAUTH_OFF_ID_KEY_SIG, IDAUTH_OFF_AUTHOR_KEY + SNP_ECDSA_PUBKEY_SIZE}};
	size_t n = *author ? 3 : 4; /* without an author key its fields must be zero too */
	for (size_t i = 0; i < n; i++) {
		long nz = nonzero_at(auth, reserved[i].from, reserved[i].to);
		if (nz >= 0)
			return uvm_fail(err, 0, "the ID auth info's byte 0x%lx must be zero (%s)", nz,
					i < 3 ? "reserved" : "no author key: AUTHOR_KEY_ALGO is 0");
	}
	return 0;
}

int idblock_check(const uint8_t *block, size_t block_len, const uint8_t *auth, size_t auth_len,
		  struct idblock_info *info, struct uvm_err *err)
{
	memset(info, 0, sizeof *info);
	if (check_block(block, block_len, &info->params, err) ||
	    check_auth_header(auth, auth_len, &info->author_key_en, err))
		return -1;
	EVP_PKEY *id = pubkey_decode(auth + IDAUTH_OFF_ID_KEY, "the ID auth info's ID_KEY", err);
	if (!id)
		return -1;
	int rc = sig_verify(id, auth + IDAUTH_OFF_ID_BLOCK_SIG, block, IDBLOCK_SIZE,
			    "the ID auth info's ID_BLOCK_SIG over the ID block", err);
	EVP_PKEY_free(id);
	if (rc)
		return -1;
	uvm_sha384(auth + IDAUTH_OFF_ID_KEY, SNP_ECDSA_PUBKEY_SIZE, info->id_key_digest);
	if (!info->author_key_en)
		return 0;
	EVP_PKEY *author = pubkey_decode(auth + IDAUTH_OFF_AUTHOR_KEY, "the ID auth info's AUTHOR_KEY", err);
	if (!author)
		return -1;
	rc = sig_verify(author, auth + IDAUTH_OFF_ID_KEY_SIG, auth + IDAUTH_OFF_ID_KEY, SNP_ECDSA_PUBKEY_SIZE,
			"the ID auth info's ID_KEY_SIG (the author key's signature over ID_KEY)", err);
	EVP_PKEY_free(author);
	if (rc)
		return -1;
	uvm_sha384(auth + IDAUTH_OFF_AUTHOR_KEY, SNP_ECDSA_PUBKEY_SIZE, info->author_key_digest);
	return 0;
}
