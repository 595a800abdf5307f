/* What the parts of `uvm measure` share (tools/uvm/cmd_measure.c, the
 * command; measure_igvm_cli.c, its --igvm mode): the parsed options, reading
 * input files, one-line errors and the digest's output. Internal to the
 * command; the measurements themselves are in snp_measure.h, sev_measure.h,
 * svsm_measure.h and igvm_measure.h. */
#ifndef UVM_MEASURE_CLI_H
#define UVM_MEASURE_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "err.h"

/* Exit status of invalid input (a file cannot be read or is unusable). */
#define MEASURE_EXIT_INPUT 1

struct measure_opts {
	const char *mode, *ovmf, *kernel, *initrd, *append, *vcpu_type, *output, *ovmf_hash;
	const char *vcpus_s, *sig_s, *family_s, *model_s, *stepping_s, *features_s, *vmm_s;
	const char *vars_size_s, *vars_file, *svsm, *igvm;
	const char *dump_dir; /* with dump_vmsa: NULL = the current directory */
	int verbose, explain, matrix, dump_vmsa;
};

/* A file's bytes: mmap'ed (regular files) so nothing is copied. */
struct measure_blob {
	const uint8_t *data;
	size_t len;
	void *map;
};

/* A usage error: one line naming the problem, exit status 2. */
#define usage_error(...) cli_usage_error("uvm measure", __VA_ARGS__)

/* "uvm measure: PATH: MESSAGE" on stderr; returns MEASURE_EXIT_INPUT. */
int measure_input_error(const char *path, const struct uvm_err *err);

/* Unsigned integer, decimal or (base 0) with 0x/0 prefixes; no sign, no
 * junk, at most max. Returns 0 or -1. */
int measure_parse_uint(const char *s, int base, uint64_t max, uint64_t *out);

/* Maps a file (regular_only: refuse anything else, and images over 1 GiB).
 * Returns 0 (an empty regular file leaves data NULL), 1 for a stream the
 * caller reads instead, or -1 with err set. */
int measure_blob_map(const char *path, struct measure_blob *b, int regular_only, struct uvm_err *err);
void measure_blob_unmap(struct measure_blob *b);

/* --explain: one step on stderr, its value in hex. */
void measure_explain_step(void *arg, const char *label, const uint8_t *value, size_t len);

/* The digest on stdout, hex or base64, or with -v as sev-snp-measure prints
 * it ("Calculated NAME guest measurement: ..."). */
void measure_print_digest(const uint8_t *ld, size_t len, const char *name, const struct measure_opts *o);

/* `uvm measure --igvm FILE ...` (measure_igvm_cli.c): returns the exit status. */
int measure_igvm(const struct measure_opts *o);

#endif
