/* Certificates as people have them: every certificate from --vcek, --chain
 * and --certs goes into one pool, in any order and any mix of files; each is
 * then chosen by its role (what it is, then who issued whom), never by its
 * position. Only true ambiguity is refused: two different certificates that
 * both fit one role. */
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <stdlib.h>
#include <string.h>

#include "verify_cert.h"

static const char *const role_names[] = {"(none)", "ARK", "ASK/ASVK", "VCEK/VLEK"};

int verify_pool_add(struct cert_pool *p, X509 *x, int tier, const char *source, struct uvm_err *err)
{
	for (size_t i = 0; i < p->n; i++)
		if (X509_cmp(p->e[i].x, x) == 0) { /* the same certificate twice is no ambiguity */
			X509_free(x);
			return 0;
		}
	if (p->n == VERIFY_POOL_MAX) {
		X509_free(x);
		return uvm_fail(err, 0,
				"%s: more than %d certificates given in all; give only the VCEK/VLEK, ASK/ASVK and ARK",
				source, VERIFY_POOL_MAX);
	}
	p->e[p->n].x = x;
	p->e[p->n].tier = tier;
	snprintf(p->e[p->n].source, sizeof p->e[p->n].source, "%s", source);
	p->n++;
	return 0;
}

int verify_pool_add_file(struct cert_pool *p, const char *path, const char *option, int tier, struct uvm_err *err)
{
	X509 *x[VERIFY_FILE_CERTS_MAX];
	size_t n;
	if (verify_cert_load(path, x, VERIFY_FILE_CERTS_MAX, &n, err) != 0)
		return uvm_wrap(err, "reading %s", option);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char source[160];
		if (n == 1)
			snprintf(source, sizeof source, "%s %s", option, path);
		else
			snprintf(source, sizeof source, "%s %s (certificate %zu of %zu)", option, path, i + 1, n);
		if (rc == 0)
			rc = verify_pool_add(p, x[i], tier, source, err);
		else
			X509_free(x[i]);
	}
	return rc;
}

void verify_pool_free(struct cert_pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		X509_free(p->e[i].x);
	p->n = 0;
}

static bool cn_of(X509 *x, char *cn, size_t size)
{
	X509_NAME *name = X509_get_subject_name(x);
	int at = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	/* Exactly one CN: a second one could be read two ways. */
	if (at < 0 || X509_NAME_get_index_by_NID(name, NID_commonName, at) >= 0)
		return false;
	const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at));
	int len = ASN1_STRING_length(s);
	if (len <= 0 || (size_t)len >= size)
		return false;
	memcpy(cn, ASN1_STRING_get0_data(s), (size_t)len);
	cn[len] = '\0';
	return strlen(cn) == (size_t)len;
}

static bool is_p384(X509 *x)
{
	EVP_PKEY *key = X509_get0_pubkey(x);
	char group[32];
	size_t len;
	bool ok = key && EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
		  EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof group, &len) == 1 &&
		  strcmp(group, "secp384r1") == 0;
	ERR_clear_error();
	return ok;
}

enum cert_role verify_cert_role(X509 *x)
{
	char cn[65];
	if (!cn_of(x, cn, sizeof cn))
		return ROLE_NONE;
	bool self = X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0;
	if (strcmp(cn, "SEV-VCEK") == 0 || strcmp(cn, "SEV-VLEK") == 0)
		return !self && is_p384(x) && verify_has_amd_ext(x) ? ROLE_LEAF : ROLE_NONE;
	if (strncmp(cn, "ARK-", 4) == 0)
		return self ? ROLE_ARK : ROLE_NONE;
	if (strncmp(cn, "SEV-", 4) == 0)
		return self ? ROLE_NONE : ROLE_ASK;
	return ROLE_NONE;
}

/* The common name for messages, with anything unprintable replaced. */
static void describe(X509 *x, char *out, size_t size)
{
	char cn[65];
	if (!cn_of(x, cn, sizeof cn))
		snprintf(cn, sizeof cn, "(no single CN)");
	for (char *c = cn; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
	snprintf(out, size, "CN=%s", cn);
}

static int ambiguous(const struct cert_pool *p, enum cert_role role, size_t a, size_t b, struct uvm_err *err)
{
	char da[80], db[80];
	describe(p->e[a].x, da, sizeof da);
	describe(p->e[b].x, db, sizeof db);
	return uvm_fail(err, 0,
			"two different certificates fit the %s role: %s (%s) and %s (%s); give only the one "
			"that belongs to this report",
			role_names[role], p->e[a].source, da, p->e[b].source, db);
}

/* The certificate of a role, from the lowest tier that has one. With several
 * candidates, the one whose subject is want (the name its child names as
 * issuer) is taken; more than one such, or none, is ambiguous. Returns the
 * index, -1 if the role has no candidate, -2 on ambiguity (err set). */
static int pick(const struct cert_pool *p, enum cert_role role, const X509_NAME *want, struct uvm_err *err)
{
	for (int tier = 0; tier < 2; tier++) {
		size_t cand[VERIFY_POOL_MAX], n = 0, match[VERIFY_POOL_MAX], m = 0;
		for (size_t i = 0; i < p->n; i++) {
			if (p->e[i].tier != tier || verify_cert_role(p->e[i].x) != role)
				continue;
			cand[n++] = i;
			if (want && X509_NAME_cmp(X509_get_subject_name(p->e[i].x), want) == 0)
				match[m++] = i;
		}
		if (n == 1)
			return (int)cand[0];
		if (m == 1)
			return (int)match[0];
		if (m > 1)
			return ambiguous(p, role, match[0], match[1], err), -2;
		if (n > 1)
			return ambiguous(p, role, cand[0], cand[1], err), -2;
	}
	return -1;
}

static void list_sources(const struct cert_pool *p, char *out, size_t size)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < p->n && used < size; i++) {
		char d[80];
		describe(p->e[i].x, d, sizeof d);
		int w = snprintf(out + used, size - used, "%s%s (%s)", i ? ", " : "", p->e[i].source, d);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

static int missing(const struct cert_pool *p, const char *what, const char *hint, struct uvm_err *err)
{
	char have[400];
	list_sources(p, have, sizeof have);
	return uvm_fail(err, 0, "no %s among the certificates given [%s]; %s", what, p->n ? have : "none", hint);
}

int verify_pick_roles(const struct cert_pool *p, X509 *trust_root, const char *trust_root_source, struct cert_roles *r,
		      struct uvm_err *err)
{
	memset(r, 0, sizeof *r);
	for (size_t i = 0; i < p->n; i++)
		if (verify_cert_role(p->e[i].x) == ROLE_NONE) {
			char d[80];
			describe(p->e[i].x, d, sizeof d);
			return uvm_fail(err, 0,
					"%s (%s) is neither an AMD ARK (self-signed, CN ARK-*), an ASK/ASVK "
					"(CN SEV-*) nor a VCEK/VLEK (CN SEV-VCEK/SEV-VLEK, EC P-384 key, AMD "
					"extensions); remove it",
					p->e[i].source, d);
		}
	int leaf = pick(p, ROLE_LEAF, NULL, err);
	if (leaf == -1)
		return missing(p, "VCEK or VLEK (CN SEV-VCEK/SEV-VLEK)", "give it with --vcek FILE (or --certs)", err);
	if (leaf < 0)
		return -1;
	int ask = pick(p, ROLE_ASK, X509_get_issuer_name(p->e[leaf].x), err);
	if (ask == -1)
		return missing(p, "ASK or ASVK (CN SEV-*, not self-signed)",
			       "give AMD's cert_chain (ASK and ARK) with --chain FILE", err);
	if (ask < 0)
		return -1;
	int ark = pick(p, ROLE_ARK, X509_get_issuer_name(p->e[ask].x), err);
	if (ark == -2)
		return -1;
	r->leaf = p->e[leaf].x;
	r->leaf_source = p->e[leaf].source;
	r->ask = p->e[ask].x;
	r->ask_source = p->e[ask].source;
	if (ark >= 0) {
		r->ark = p->e[ark].x;
		r->ark_source = p->e[ark].source;
	} else if (trust_root) {
		r->ark = trust_root;
		r->ark_source = trust_root_source;
	} else {
		return missing(p, "ARK (self-signed, CN ARK-*)",
			       "give AMD's cert_chain (ASK and ARK) with --chain FILE", err);
	}
	return 0;
}

static void record(struct verify_results *res, const char *role, X509 *x, const char *source)
{
	struct verify_cert_use *u = &res->certs[res->n_certs++];
	u->role = role;
	snprintf(u->source, sizeof u->source, "%s", source);
	describe(x, u->subject, sizeof u->subject);
	verify_cert_sha256(x, u->sha256);
}

void verify_record_roles(const struct cert_roles *r, struct verify_results *res)
{
	char cn[65];
	res->n_certs = 0;
	record(res, "ARK", r->ark, r->ark_source);
	bool asvk = cn_of(r->ask, cn, sizeof cn) && strncmp(cn, "SEV-VLEK", 8) == 0;
	record(res, asvk ? "ASVK" : "ASK", r->ask, r->ask_source);
	bool vlek = cn_of(r->leaf, cn, sizeof cn) && strcmp(cn, "SEV-VLEK") == 0;
	record(res, vlek ? "VLEK" : "VCEK", r->leaf, r->leaf_source);
}
