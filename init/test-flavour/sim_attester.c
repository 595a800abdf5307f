/* TEST FLAVOUR ONLY: the simulated PSP as an attestation back-end. What real
 * hardware would take from the launch - HOST_DATA and the launch measurement -
 * the launcher passes through QEMU fw_cfg (`uvm launch` writes what
 * `uvm policy hash` and `uvm measure` compute). The report has the real
 * layout (version 3) and is signed by the test VCEK (sim_psp_sign.c), which
 * chains to a test root no verifier trusts unless told to. This file is
 * compiled only into the test flavour (Makefile: init/test-flavour/). */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "attest.h"
#include "file_util.h"
#include "hex.h"
#include "sim_psp.h"

#define FW_CFG_DIR "/sys/firmware/qemu_fw_cfg/by_name/opt/uvm"
#define SIM_GUEST_POLICY (SNP_POLICY_RESERVED1 | SNP_POLICY_SMT) /* 0x30000, debug off */

static int sim_available(void)
{
	return access(FW_CFG_DIR "/host_data/raw", R_OK) == 0;
}

/* Reads fw_cfg file NAME holding exactly 2*len hex digits (a trailing
 * newline allowed) into out. */
static int read_hex_item(const char *name, uint8_t *out, size_t len, struct uvm_err *err)
{
	char path[128];
	struct file_buf b;
	snprintf(path, sizeof path, FW_CFG_DIR "/%s/raw", name);
	if (file_read_all(path, 4 * len, &b, err))
		return uvm_wrap(err, "simulated PSP: fw_cfg opt/uvm/%s (launch with `uvm launch`)", name);
	if (b.len > 0 && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	int rc = uvm_hex_decode(b.data, out, len);
	file_buf_free(&b);
	if (rc)
		return uvm_fail(err, EINVAL, "simulated PSP: fw_cfg opt/uvm/%s is not %zu hex digits", name, 2 * len);
	return 0;
}

static int sim_get_report(const uint8_t report_data[SNP_REPORT_DATA_LEN], struct attest_result *out,
			  struct uvm_err *err)
{
	struct snp_report r;
	memset(&r, 0, sizeof r);
	r.version = 3;
	r.policy = SIM_GUEST_POLICY;
	r.vmpl = 0;
	memcpy(r.report_data, report_data, SNP_REPORT_DATA_LEN);
	if (read_hex_item("host_data", r.host_data, SNP_HOST_DATA_LEN, err) ||
	    read_hex_item("measurement", r.measurement, SNP_MEASUREMENT_LEN, err))
		return -1;
	if (getrandom(r.report_id, sizeof r.report_id, 0) != (ssize_t)sizeof r.report_id)
		return uvm_fail(err, errno, "simulated PSP: getrandom for report_id failed");
	sim_psp_fill_platform(&r);
	snp_report_serialize(&r, out->raw);
	return sim_psp_sign_report(out->raw, err);
}

const struct attest_backend attest_backend_simulated = {"simulated-psp", sim_available, sim_get_report};
