/* `uvm measure --igvm FILE --vmm-type hyperv|qemu`: the options it takes,
 * and the replay of the file (igvm_parse.h, igvm_measure.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "igvm_measure.h"
#include "igvm_parse.h"
#include "measure_cli.h"
#include "snp_measure.h"

/* The IGVM file replaces every input of the other modes: refuse them by name. */
static int check_igvm_conflicts(const struct measure_opts *o)
{
	const struct {
		const char *name, *value;
	} other[] = {{"--ovmf", o->ovmf},
		     {"--kernel", o->kernel},
		     {"--initrd", o->initrd},
		     {"--append", o->append},
		     {"--svsm", o->svsm},
		     {"--vars-size", o->vars_size_s},
		     {"--vars-file", o->vars_file},
		     {"--snp-ovmf-hash", o->ovmf_hash},
		     {"--guest-features", o->features_s},
		     {"--vcpu-type", o->vcpu_type},
		     {"--vcpu-sig", o->sig_s},
		     {"--vcpu-family", o->family_s},
		     {"--vcpu-model", o->model_s},
		     {"--vcpu-stepping", o->stepping_s}};
	for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
		if (other[i].value)
			return usage_error("--igvm and %s conflict: the IGVM file holds the whole guest image; drop %s",
					   other[i].name, other[i].name);
	if (o->matrix || o->dump_vmsa)
		return usage_error("%s", "--igvm cannot be combined with --matrix or --dump-vmsa");
	if (o->mode && strcmp(o->mode, "snp") != 0)
		return usage_error("--igvm measures SEV-SNP only; drop --mode '%s'", o->mode);
	return -1;
}

static int check_igvm(const struct measure_opts *o, struct igvm_request *q)
{
	uint64_t v = 1;
	int rc;
	if ((rc = check_igvm_conflicts(o)) >= 0)
		return rc;
	if (!o->vmm_s)
		return usage_error("%s", "--igvm needs --vmm-type hyperv or --vmm-type qemu: the digest depends on "
					 "the loader");
	if (igvm_vmm_parse(o->vmm_s, &q->vmm))
		return usage_error("--vmm-type '%s' does not apply to --igvm: use hyperv or qemu", o->vmm_s);
	if (o->vcpus_s && q->vmm == IGVM_VMM_HYPERV)
		return usage_error("%s", "--vcpus does not apply to --vmm-type hyperv (the file's VP contexts are "
					 "measured); drop it");
	if (o->vcpus_s && (measure_parse_uint(o->vcpus_s, 10, SNP_MAX_VCPUS, &v) || v == 0))
		return usage_error("--vcpus '%s': give a number from 1 to 4096", o->vcpus_s);
	if (o->output && strcmp(o->output, "hex") != 0 && strcmp(o->output, "base64") != 0)
		return usage_error("--output-format '%s': use hex or base64", o->output);
	q->vcpus = (unsigned)v;
	return -1;
}

static void explain_igvm(const struct measure_opts *o, const struct igvm_file *f, const struct igvm_request *q)
{
	fprintf(stderr,
		"IGVM %s: %zu bytes, %zu variable header entries, SEV-SNP compatibility mask 0x%x, "
		"guest policy 0x%" PRIx64 "\n",
		o->igvm, f->len, f->n_entries, f->snp_mask, f->policy);
	if (q->vmm == IGVM_VMM_QEMU)
		fprintf(stderr, "loader: QEMU on KVM, %u vCPU(s): VMSAs measured last at 0x%llx\n", q->vcpus,
			(unsigned long long)SNP_VMSA_GPA);
	else
		fprintf(stderr, "loader: hyperv (microsoft/igvm): VP contexts measured in file order\n");
	fprintf(stderr, "directives replayed (value after each):\n");
}

static int run_igvm(const struct measure_opts *o, const struct igvm_request *q)
{
	struct uvm_err err = {0};
	struct snp_trace trace = {measure_explain_step, NULL};
	struct igvm_file f;
	struct igvm_result res;
	struct measure_blob b;
	if (measure_blob_map(o->igvm, &b, 1, &err) != 0)
		return measure_input_error(o->igvm, &err);
	int rc = igvm_parse(b.data, b.len, &f, &err);
	if (rc == 0 && o->explain)
		explain_igvm(o, &f, q);
	if (rc == 0)
		rc = igvm_measure(&f, q, &res, o->explain ? &trace : NULL, &err);
	measure_blob_unmap(&b);
	if (rc != 0)
		return measure_input_error(o->igvm, &err);
	/* Not an error: QEMU may still load it, but KVM builds the VMSA itself. */
	if (q->vmm == IGVM_VMM_QEMU && res.vmsa_gpa_other)
		fprintf(stderr,
			"uvm measure: %s: note: a VP context is at GPA 0x%" PRIx64 ", not 0x%llx; KVM measures "
			"the VMSA at 0x%llx, so this prediction holds only if KVM reproduces that VMSA\n",
			o->igvm, res.vmsa_gpa, (unsigned long long)SNP_VMSA_GPA, (unsigned long long)SNP_VMSA_GPA);
	if (o->explain)
		measure_explain_step(NULL, "launch digest", res.ld, SNP_LD_LEN);
	measure_print_digest(res.ld, SNP_LD_LEN, "SEV_SNP", o);
	return fflush(stdout) == 0 ? 0 : MEASURE_EXIT_INPUT;
}

int measure_igvm(const struct measure_opts *o)
{
	struct igvm_request q = {IGVM_VMM_HYPERV, 1, 0};
	int rc = check_igvm(o, &q);
	return rc >= 0 ? rc : run_igvm(o, &q);
}
