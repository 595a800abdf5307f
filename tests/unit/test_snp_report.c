/* lib/snp_report: the real AMD-signed reports parse to the values their
 * README states, serialise back byte for byte, and malformed sizes,
 * versions and reserved bytes are refused with a message.
 * Run from the repository root (reads tests/data/snp/). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hex.h"
#include "snp_report.h"

#define DATA_DIR "tests/data/snp/"

static int read_report(const char *name, uint8_t out[SNP_REPORT_SIZE])
{
	char path[256];
	snprintf(path, sizeof path, DATA_DIR "%s", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	char text[2 * SNP_REPORT_SIZE + 16];
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	if (n == SNP_REPORT_SIZE) {
		memcpy(out, text, n);
		return 0;
	}
	/* The virtee report is hex text, possibly with a trailing newline. */
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	text[n] = '\0';
	return uvm_hex_decode(text, out, SNP_REPORT_SIZE);
}

static void test_gsg_fields(void)
{
	uint8_t raw[SNP_REPORT_SIZE];
	struct snp_report r;
	struct uvm_err err = {0};
	char hex[2 * SNP_MEASUREMENT_LEN + 1];
	if (read_report("gsg_milan_v2_report.bin", raw) != 0) {
		CHECK(0, "read gsg_milan_v2_report.bin (run from the repository root)");
		return;
	}
	CHECK_EQ_INT(snp_report_parse(raw, sizeof raw, &r, &err), 0, "gsg report parses: %s", err.msg);
	CHECK_EQ_INT(r.version, 2, "gsg version");
	CHECK_EQ_INT(r.policy, 0xb0000, "gsg policy");
	CHECK(r.policy & SNP_POLICY_DEBUG, "gsg policy allows debug");
	CHECK_EQ_INT(r.sig_algo, 1, "gsg signature algorithm");
	CHECK_EQ_INT(r.reported_tcb, 0x4405000000000002ull, "gsg reported_tcb");
	CHECK_EQ_INT(snp_report_signing_key(&r), SNP_KEY_VCEK, "gsg signed by a VCEK");
	uvm_hex_encode(r.measurement, sizeof r.measurement, hex);
	CHECK_EQ_STR(hex,
		     "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01",
		     "gsg measurement");
	static const uint8_t rd[5] = {1, 2, 3, 4, 5};
	uint8_t zero[SNP_REPORT_DATA_LEN] = {0};
	CHECK(memcmp(r.report_data, rd, 5) == 0 && memcmp(r.report_data + 5, zero, 59) == 0,
	      "gsg report_data 0102030405 then zeros");
	CHECK(memcmp(r.host_data, zero, SNP_HOST_DATA_LEN) == 0, "gsg host_data zero");
	CHECK(r.current_major == 1 && r.current_minor == 49 && r.current_build == 3,
	      "gsg firmware 1.49.3 (got %u.%u.%u)", r.current_major, r.current_minor, r.current_build);
	struct snp_tcb t;
	snp_tcb_decode(r.reported_tcb, SNP_TCB_MILAN_GENOA, &t);
	CHECK(t.bootloader == 2 && t.tee == 0 && t.snp == 5 && t.microcode == 68, "gsg TCB bl 2 tee 0 snp 5 ucode 68");
}

static void test_round_trip(const char *name)
{
	uint8_t raw[SNP_REPORT_SIZE], again[SNP_REPORT_SIZE];
	struct snp_report r;
	struct uvm_err err = {0};
	if (read_report(name, raw) != 0) {
		CHECK(0, "read %s", name);
		return;
	}
	CHECK_EQ_INT(snp_report_parse(raw, sizeof raw, &r, &err), 0, "%s parses", name);
	CHECK_EQ_INT(snp_report_check_reserved(raw, r.version, &err), 0, "%s: reserved bytes zero: %s", name, err.msg);
	snp_report_serialize(&r, again);
	CHECK(memcmp(raw, again, sizeof raw) == 0, "%s serialises back byte for byte", name);
}

static void test_sizes_and_versions(void)
{
	static uint8_t buf[SNP_REPORT_SIZE + 1];
	struct snp_report r;
	struct uvm_err err = {0};
	memset(buf, 0, sizeof buf);
	buf[0] = 2;
	CHECK_EQ_INT(snp_report_parse(buf, SNP_REPORT_SIZE, &r, &err), 0, "1184 bytes, version 2");
	CHECK(snp_report_parse(buf, SNP_REPORT_SIZE - 1, &r, &err) < 0 && strstr(err.msg, "1183"),
	      "1183 bytes refused: %s", err.msg);
	CHECK(snp_report_parse(buf, SNP_REPORT_SIZE + 1, &r, &err) < 0, "1185 bytes refused");
	CHECK(snp_report_parse(NULL, 0, &r, &err) < 0, "no buffer refused");
	static const uint32_t good[] = {2, 3, 5}, bad[] = {0, 1, 4, 6, 0x02000000, 0xffffffff};
	for (size_t i = 0; i < 3; i++) {
		buf[0] = (uint8_t)good[i];
		CHECK_EQ_INT(snp_report_parse(buf, SNP_REPORT_SIZE, &r, &err), 0, "version %u accepted", good[i]);
		CHECK_EQ_INT(r.version, good[i], "version %u parsed", good[i]);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		for (int b = 0; b < 4; b++)
			buf[b] = (uint8_t)(bad[i] >> (8 * b));
		CHECK(snp_report_parse(buf, SNP_REPORT_SIZE, &r, &err) < 0 && strstr(err.msg, "version"),
		      "version %u refused: %s", bad[i], err.msg);
	}
}

static void test_reserved(void)
{
	static uint8_t buf[SNP_REPORT_SIZE];
	struct uvm_err err = {0};
	memset(buf, 0, sizeof buf);
	buf[0] = 2;
	CHECK_EQ_INT(snp_report_check_reserved(buf, 2, &err), 0, "all-zero v2 report is clean");
	buf[0x4C] = 1;
	CHECK(snp_report_check_reserved(buf, 2, &err) < 0 && strstr(err.msg, "0x04c"), "byte 0x4C is reserved: %s",
	      err.msg);
	buf[0x4C] = 0;
	buf[SNP_OFF_CPUID_FMS] = 0x19;
	CHECK(snp_report_check_reserved(buf, 2, &err) < 0, "CPUID family is reserved in version 2");
	CHECK_EQ_INT(snp_report_check_reserved(buf, 3, &err), 0, "CPUID family is a field in version 3");
	buf[SNP_OFF_CPUID_FMS] = 0;
	buf[SNP_OFF_LAUNCH_MIT] = 1;
	CHECK(snp_report_check_reserved(buf, 3, &err) < 0, "mitigation vector reserved in version 3");
	CHECK_EQ_INT(snp_report_check_reserved(buf, 5, &err), 0, "mitigation vector a field in version 5");
	buf[SNP_OFF_LAUNCH_MIT] = 0;
	buf[SNP_REPORT_SIZE - 1] = 1;
	CHECK(snp_report_check_reserved(buf, 5, &err) < 0, "tail of the signature area is reserved");
}

static void test_serialize_fields(void)
{
	struct snp_report r, back;
	static uint8_t buf[SNP_REPORT_SIZE];
	struct uvm_err err = {0};
	memset(&r, 0, sizeof r);
	r.version = 5;
	r.guest_svn = 0x01020304;
	r.policy = 0x30000;
	r.vmpl = 3;
	r.measurement[0] = 0xaa;
	r.measurement[47] = 0xbb;
	r.host_data[31] = 0xcc;
	r.current_mit = 0x1122334455667788ull;
	r.cpuid_fam = 0x19;
	snp_report_serialize(&r, buf);
	CHECK(buf[SNP_OFF_GUEST_SVN] == 4 && buf[SNP_OFF_GUEST_SVN + 3] == 1, "guest_svn little-endian");
	CHECK(buf[SNP_OFF_POLICY + 2] == 3, "policy little-endian at 0x08");
	CHECK(buf[SNP_OFF_MEASUREMENT] == 0xaa && buf[SNP_OFF_MEASUREMENT + 47] == 0xbb, "measurement at 0x90");
	CHECK(buf[SNP_OFF_HOST_DATA + 31] == 0xcc, "host_data at 0xC0");
	CHECK(buf[SNP_OFF_CURRENT_MIT] == 0x88, "current mitigation vector at 0x200 (v5)");
	CHECK_EQ_INT(snp_report_parse(buf, sizeof buf, &back, &err), 0, "serialised report parses");
	CHECK(memcmp(&r, &back, sizeof r) == 0, "parse(serialise(r)) == r");
	CHECK_EQ_INT(snp_report_check_reserved(buf, 5, &err), 0, "serialised report has clean reserved bytes");
}

static void test_tcb_layouts(void)
{
	struct snp_tcb t = {.fmc = 1, .bootloader = 2, .tee = 3, .snp = 4, .microcode = 5}, back;
	CHECK_EQ_INT(snp_tcb_encode(&t, SNP_TCB_TURIN), 0x0500000004030201ull, "Turin TCB layout");
	snp_tcb_decode(0x0500000004030201ull, SNP_TCB_TURIN, &back);
	CHECK(memcmp(&t, &back, sizeof t) == 0, "Turin TCB round trip");
	t.fmc = 0;
	CHECK_EQ_INT(snp_tcb_encode(&t, SNP_TCB_MILAN_GENOA), 0x0504000000000302ull, "Milan TCB layout");
	snp_tcb_decode(0x7308000000000003ull, SNP_TCB_MILAN_GENOA, &back);
	CHECK(back.bootloader == 3 && back.snp == 8 && back.microcode == 115, "virtee TCB decodes");
}

int main(void)
{
	test_gsg_fields();
	test_round_trip("gsg_milan_v2_report.bin");
	test_round_trip("virtee_milan_v2_report.hex");
	test_sizes_and_versions();
	test_reserved();
	test_serialize_fields();
	test_tcb_layouts();
	return check_done();
}
