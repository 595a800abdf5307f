#include "snp_report.h"

#include <stddef.h>
#include <string.h>

/* One table drives both directions, so parse and serialise cannot disagree
 * about where a field lives. `size` 4 and 8 are little-endian integers;
 * anything else is a byte array copied as is. */
enum field_kind { F_U32, F_U64, F_BYTES, F_U8 };
struct field {
	uint16_t off;  /* in the report */
	uint16_t size; /* bytes in the report */
	uint16_t mem;  /* offsetof in struct snp_report */
	uint8_t kind;
	uint8_t min_version; /* 0: every version; else only from that version */
};

#define FU32(o, m)                                             \
	{                                                      \
		o, 4, offsetof(struct snp_report, m), F_U32, 0 \
	}
#define FU64(o, m)                                             \
	{                                                      \
		o, 8, offsetof(struct snp_report, m), F_U64, 0 \
	}
#define FB(o, m)                                                                                   \
	{                                                                                          \
		o, sizeof(((struct snp_report *)0)->m), offsetof(struct snp_report, m), F_BYTES, 0 \
	}
#define FU8V(o, m, v)                                         \
	{                                                     \
		o, 1, offsetof(struct snp_report, m), F_U8, v \
	}
#define FU64V(o, m, v)                                         \
	{                                                      \
		o, 8, offsetof(struct snp_report, m), F_U64, v \
	}

static const struct field fields[] = {
	FU32(SNP_OFF_VERSION, version),
	FU32(SNP_OFF_GUEST_SVN, guest_svn),
	FU64(SNP_OFF_POLICY, policy),
	FB(SNP_OFF_FAMILY_ID, family_id),
	FB(SNP_OFF_IMAGE_ID, image_id),
	FU32(SNP_OFF_VMPL, vmpl),
	FU32(SNP_OFF_SIG_ALGO, sig_algo),
	FU64(SNP_OFF_CURRENT_TCB, current_tcb),
	FU64(SNP_OFF_PLATFORM_INFO, platform_info),
	FU32(SNP_OFF_SIGNER_INFO, signer_info),
	FB(SNP_OFF_REPORT_DATA, report_data),
	FB(SNP_OFF_MEASUREMENT, measurement),
	FB(SNP_OFF_HOST_DATA, host_data),
	FB(SNP_OFF_ID_KEY_DIGEST, id_key_digest),
	FB(SNP_OFF_AUTHOR_KEY_DIGEST, author_key_digest),
	FB(SNP_OFF_REPORT_ID, report_id),
	FB(SNP_OFF_REPORT_ID_MA, report_id_ma),
	FU64(SNP_OFF_REPORTED_TCB, reported_tcb),
	FU8V(SNP_OFF_CPUID_FMS, cpuid_fam, 3),
	FU8V(SNP_OFF_CPUID_FMS + 1, cpuid_mod, 3),
	FU8V(SNP_OFF_CPUID_FMS + 2, cpuid_step, 3),
	FB(SNP_OFF_CHIP_ID, chip_id),
	FU64(SNP_OFF_COMMITTED_TCB, committed_tcb),
	FU8V(SNP_OFF_CURRENT_VERSION, current_build, 0),
	FU8V(SNP_OFF_CURRENT_VERSION + 1, current_minor, 0),
	FU8V(SNP_OFF_CURRENT_VERSION + 2, current_major, 0),
	FU8V(SNP_OFF_COMMITTED_VERSION, committed_build, 0),
	FU8V(SNP_OFF_COMMITTED_VERSION + 1, committed_minor, 0),
	FU8V(SNP_OFF_COMMITTED_VERSION + 2, committed_major, 0),
	FU64(SNP_OFF_LAUNCH_TCB, launch_tcb),
	FU64V(SNP_OFF_LAUNCH_MIT, launch_mit, 5),
	FU64V(SNP_OFF_CURRENT_MIT, current_mit, 5),
	FB(SNP_OFF_SIG_R, sig_r),
	FB(SNP_OFF_SIG_S, sig_s),
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static uint64_t get_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static void put_le(uint8_t *p, size_t n, uint64_t v)
{
	for (size_t i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static bool version_supported(uint32_t v)
{
	return v == 2 || v == 3 || v == 5;
}

static bool field_present(const struct field *f, uint32_t version)
{
	return f->min_version == 0 || version >= f->min_version;
}

int snp_report_parse(const uint8_t *buf, size_t len, struct snp_report *out, struct uvm_err *err)
{
	if (!buf || len != SNP_REPORT_SIZE)
		return uvm_fail(err, 0,
				"SNP report: size is %zu bytes, want exactly %u "
				"(give --offset if the report is wrapped in another format)",
				buf ? len : 0, SNP_REPORT_SIZE);
	uint32_t version = (uint32_t)get_le(buf + SNP_OFF_VERSION, 4);
	if (!version_supported(version))
		return uvm_fail(err, 0,
				"SNP report: version %u is not supported (versions 2, 3 and 5 "
				"are); is this really an SNP attestation report?",
				version);
	memset(out, 0, sizeof *out);
	uint8_t *base = (uint8_t *)out;
	for (size_t i = 0; i < NFIELDS; i++) {
		const struct field *f = &fields[i];
		if (!field_present(f, version))
			continue;
		const uint8_t *src = buf + f->off;
		switch (f->kind) {
		case F_U8: base[f->mem] = *src; break;
		case F_U32: {
			uint32_t v = (uint32_t)get_le(src, 4);
			memcpy(base + f->mem, &v, sizeof v);
			break;
		}
		case F_U64: {
			uint64_t v = get_le(src, 8);
			memcpy(base + f->mem, &v, sizeof v);
			break;
		}
		default: memcpy(base + f->mem, src, f->size); break;
		}
	}
	return 0;
}

void snp_report_serialize(const struct snp_report *r, uint8_t out[SNP_REPORT_SIZE])
{
	const uint8_t *base = (const uint8_t *)r;
	memset(out, 0, SNP_REPORT_SIZE);
	for (size_t i = 0; i < NFIELDS; i++) {
		const struct field *f = &fields[i];
		if (!field_present(f, r->version))
			continue;
		uint8_t *dst = out + f->off;
		switch (f->kind) {
		case F_U8: *dst = base[f->mem]; break;
		case F_U32: {
			uint32_t v;
			memcpy(&v, base + f->mem, sizeof v);
			put_le(dst, 4, v);
			break;
		}
		case F_U64: {
			uint64_t v;
			memcpy(&v, base + f->mem, sizeof v);
			put_le(dst, 8, v);
			break;
		}
		default: memcpy(dst, base + f->mem, f->size); break;
		}
	}
}

/* A byte is reserved when no field present in this version covers it. */
static bool byte_is_field(size_t off, uint32_t version)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (field_present(&fields[i], version) && off >= fields[i].off &&
		    off < (size_t)fields[i].off + fields[i].size)
			return true;
	return false;
}

int snp_report_check_reserved(const uint8_t buf[SNP_REPORT_SIZE], uint32_t version, struct uvm_err *err)
{
	for (size_t off = 0; off < SNP_REPORT_SIZE; off++)
		if (buf[off] != 0 && !byte_is_field(off, version))
			return uvm_fail(err, 0,
					"SNP report: reserved byte at offset 0x%03zx is 0x%02x, "
					"want 0 (version %u); the report is not as a PSP writes it",
					off, buf[off], version);
	return 0;
}

void snp_tcb_decode(uint64_t raw, enum snp_tcb_layout layout, struct snp_tcb *out)
{
	memset(out, 0, sizeof *out);
	out->microcode = (uint8_t)(raw >> 56);
	if (layout == SNP_TCB_TURIN) {
		out->fmc = (uint8_t)raw;
		out->bootloader = (uint8_t)(raw >> 8);
		out->tee = (uint8_t)(raw >> 16);
		out->snp = (uint8_t)(raw >> 24);
	} else {
		out->bootloader = (uint8_t)raw;
		out->tee = (uint8_t)(raw >> 8);
		out->snp = (uint8_t)(raw >> 48);
	}
}

uint64_t snp_tcb_encode(const struct snp_tcb *t, enum snp_tcb_layout layout)
{
	uint64_t v = (uint64_t)t->microcode << 56;
	if (layout == SNP_TCB_TURIN)
		return v | t->fmc | (uint64_t)t->bootloader << 8 | (uint64_t)t->tee << 16 | (uint64_t)t->snp << 24;
	return v | t->bootloader | (uint64_t)t->tee << 8 | (uint64_t)t->snp << 48;
}
