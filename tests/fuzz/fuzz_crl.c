/* libFuzzer target for `uvm verify --crl`: any bytes are parsed as a CRL
 * (DER or PEM) and, when they parse, every crl.* check is run against the
 * test PKI's ARK, ASK and VCEK (tests/pki, read from the repository root):
 * no crash, leak or undefined behaviour, exactly the four named checks, each
 * a pass or a fail, and a parse failure always says why. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify_cert.h"

static X509 *ark, *ask, *vcek;

static X509 *load(const char *path)
{
	X509 *x;
	size_t n;
	struct uvm_err err = {0};
	if (verify_cert_load(path, &x, 1, &n, &err) != 0) {
		fprintf(stderr, "fuzz_crl: %s (run from the repository root)\n", err.msg);
		exit(2);
	}
	return x;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	ark = load("tests/pki/test-ark.pem");
	ask = load("tests/pki/test-ask.pem");
	vcek = load("tests/pki/test-vcek.pem");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct verify_results res;
	struct uvm_err err = {0};
	X509_CRL *crl;
	if (verify_crl_parse("fuzz", data, size, &crl, &err) != 0) {
		if (err.msg[0] == '\0' || crl)
			abort();
		return 0;
	}
	res.n = 0;
	/* The CRL's times against three instants: before, inside, after. */
	static const time_t nows[] = {0, 1780000000, 4102444800};
	for (size_t t = 0; t < 3; t++) {
		res.n = 0;
		verify_crl_checks(crl, ark, ask, vcek, nows[t], &res);
		if (res.n != 4)
			abort();
		for (size_t i = 0; i < res.n; i++)
			if (res.c[i].result != VR_PASS && res.c[i].result != VR_FAIL)
				abort();
	}
	X509_CRL_free(crl);
	return 0;
}
