/* What `uvm launch --igvm FILE` needs to know about an IGVM file to print
 * how to start it: the memory it lays out, its vCPUs, its guest policy and
 * its launch digests for both loaders; and the Hyper-V steps as text
 * (docs/hyperv.md, "Launch"). */
#ifndef UVM_IGVM_LAUNCH_H
#define UVM_IGVM_LAUNCH_H

#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "snp_measure.h"

struct igvm_launch_info {
	unsigned memory_mb; /* the end of the highest page below 4 GiB, rounded up to MiB */
	unsigned vcpus;     /* SEV-SNP VP contexts (vp_index 0..n-1) */
	uint64_t policy;    /* the SEV-SNP guest policy */
	uint8_t ld_qemu[SNP_LD_LEN], ld_hyperv[SNP_LD_LEN];
};

/* Reads, checks (igvm_parse) and replays (igvm_measure, both conventions)
 * the file. Returns 0, or -1 with err set. */
int igvm_launch_info(const char *path, struct igvm_launch_info *info, struct uvm_err *err);

/* The Hyper-V steps, as shell comments: packaging the file into a VMGS as
 * hcsshim's SNP path expects it, the HCS settings that path uses, the
 * digest to expect. host_data_b64: HOST_DATA (HCS LaunchData), base64. */
void igvm_launch_print_hyperv(FILE *out, const char *path, const struct igvm_launch_info *info,
			      const char *host_data_b64);

#endif
