/* What `uvm launch --igvm` reads from an IGVM file, and the Hyper-V steps
 * it prints (see igvm_launch.h). The Hyper-V facts come from hcsshim's
 * public code (internal/uvm/create_lcow.go: GuestStateFile, makeLCOWVMGSDoc,
 * makeLCOWSecurityDoc), go-winio's VsockServiceID and OpenVMM's vmgstool
 * and vmgs_format; docs/hyperv.md says which of them could not be checked. */
#include "igvm_launch.h"
#include "file_util.h"
#include "hex.h"
#include "igvm_measure.h"
#include "igvm_parse.h"
#include "le.h"

#include <string.h>

#define MIB (1ull << 20)
#define FOUR_GIB (4ull << 30)

/* The highest end of an SNP page below 4 GiB, and the VP contexts. */
static int scan(const struct igvm_file *f, uint64_t *ram_end, unsigned *vps)
{
	struct igvm_entry e;
	*ram_end = 0;
	*vps = 0;
	for (size_t pos = f->vh_off; igvm_next(f, &pos, &e);) {
		if (e.type == IGVM_VP_CONTEXT && e.len >= IGVM_VP_CONTEXT_LEN && (le32_get(e.value + 8) & f->snp_mask))
			++*vps;
		if (e.type != IGVM_PAGE_DATA || e.len < IGVM_PAGE_DATA_LEN || !(le32_get(e.value + 8) & f->snp_mask))
			continue;
		uint64_t gpa = le64_get(e.value);
		uint64_t size = (le32_get(e.value + 16) & IGVM_PAGE_FLAG_2MB) ? IGVM_HUGE_PAGE : IGVM_PAGE;
		if (gpa < FOUR_GIB && gpa + size <= FOUR_GIB && gpa + size > *ram_end)
			*ram_end = gpa + size;
	}
	return 0;
}

int igvm_launch_info(const char *path, struct igvm_launch_info *info, struct uvm_err *err)
{
	struct file_buf b;
	struct igvm_file f;
	struct igvm_result res;
	uint64_t ram_end;
	int rc = -1;
	memset(info, 0, sizeof *info);
	if (file_read_all(path, IGVM_MAX_FILE, &b, err))
		return -1;
	if (igvm_parse((const uint8_t *)b.data, b.len, &f, err))
		goto out;
	scan(&f, &ram_end, &info->vcpus);
	if (ram_end == 0) {
		uvm_fail(err, 0, "no SEV-SNP page below 4 GiB: nothing to size the guest's memory by");
		goto out;
	}
	if (info->vcpus == 0) {
		uvm_fail(err, 0, "no SEV-SNP VP context: the file starts no vCPU");
		goto out;
	}
	info->memory_mb = (unsigned)((ram_end + MIB - 1) / MIB);
	info->policy = f.policy;
	struct igvm_request q = {IGVM_VMM_QEMU, info->vcpus, 0};
	if (igvm_measure(&f, &q, &res, NULL, err))
		goto out;
	memcpy(info->ld_qemu, res.ld, SNP_LD_LEN);
	q.vmm = IGVM_VMM_HYPERV;
	if (igvm_measure(&f, &q, &res, NULL, err))
		goto out;
	memcpy(info->ld_hyperv, res.ld, SNP_LD_LEN);
	rc = 0;
out:
	file_buf_free(&b);
	return rc;
}

void igvm_launch_print_hyperv(FILE *out, const char *path, const struct igvm_launch_info *info,
			      const char *host_data_b64)
{
	char hex[2 * SNP_LD_LEN + 1];
	uvm_hex_encode(info->ld_hyperv, SNP_LD_LEN, hex);
	fprintf(out,
		"#\n"
		"# Hyper-V, the way hcsshim starts a confidential (SEV-SNP) Linux utility VM:\n"
		"# 1. Package the IGVM file into a VM guest state (VMGS) file, as the guest firmware\n"
		"#    file (VMGS file id 8, GUEST_FIRMWARE), with OpenVMM's vmgstool:\n"
		"#      vmgstool create --filepath kernelinitrd.vmgs\n"
		"#      vmgstool write --filepath kernelinitrd.vmgs --datapath %s --fileid 8\n"
		"#    hcsshim's SNP path boots from such a file (option GuestStateFilePath; its\n"
		"#    GuestStateFile constant is \"kernelinitrd.vmgs\", holding \"both the kernel\n"
		"#    (bzImage) and initrd\"); that Hyper-V reads the IGVM file from file id 8 is\n"
		"#    not confirmed by public sources.\n"
		"# 2. Put it in hcsshim's LCOW boot files directory (BootFilesPath). hcsshim copies\n"
		"#    it per VM and asks HCS (schema 2.5) for:\n"
		"#      VirtualMachine.GuestState: GuestStateFilePath <the copy>, GuestStateFileType\n"
		"#        \"FileMode\", ForceTransientState true\n"
		"#      VirtualMachine.SecuritySettings: EnableTpm false, Isolation: IsolationType\n"
		"#        \"SecureNestedPaging\", LaunchData \"%s\" (HOST_DATA, base64)\n"
		"#      VirtualMachine.Chipset.Uefi: ApplySecureBootTemplate \"Apply\",\n"
		"#        SecureBootTemplateId \"1734c6e8-3154-4dda-ba5f-a874cc483422\"\n"
		"#      ComputeTopology: Memory.SizeInMB %u or more, Processor.Count %u\n"
		"#    hcsshim also refuses to start without a dm-verity root file system VHD\n"
		"#    (DmVerityRootFsVhd) in the same directory; this image does not use one.\n"
		"# 3. The agent's vsock port 1024 is the hv_sock service\n"
		"#    00000400-facb-11e6-bd58-64006a7986d3 (go-winio's VsockServiceID(1024)); add it to\n"
		"#    HvSocket.HvSocketConfig.ServiceTable (hcsshim: ExtraVSockPorts).\n"
		"# 4. Expected MEASUREMENT (uvm measure --igvm %s --vmm-type hyperv):\n"
		"#      %s\n"
		"#    guest policy 0x%llx (from the file).\n",
		path, host_data_b64, info->memory_mb, info->vcpus, path, hex, (unsigned long long)info->policy);
}
