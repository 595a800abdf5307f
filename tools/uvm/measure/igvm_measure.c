/* SEV-SNP launch digest of an IGVM file (see igvm_measure.h and
 * docs/measure.md, "IGVM"). Our own code, from the public IGVM format
 * definition and the SNP firmware ABI's PAGE_INFO. */
#include "igvm_measure.h"
#include "le.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PAGE IGVM_PAGE
#define HUGE_PAGE IGVM_HUGE_PAGE

struct area {
	uint32_t index;
	uint64_t bytes;
	int inserted;
};

struct vp {
	uint16_t index;
	uint8_t hash[SNP_LD_LEN];
};

/* The replay's state: parameter areas, measured GPAs (to refuse a page
 * measured twice, as the PSP would) and, for qemu, the VP contexts. */
struct walk {
	const struct igvm_file *f;
	const struct igvm_request *req;
	const struct snp_trace *trace;
	struct igvm_result *res;
	struct uvm_err *err;
	uint8_t zero_hash[SNP_LD_LEN];
	struct area areas[IGVM_MAX_AREAS];
	size_t n_areas;
	uint64_t *gpas;
	size_t n_gpas, cap_gpas;
	struct vp *vps;
	size_t n_vps;
};

int igvm_vmm_parse(const char *name, enum igvm_vmm *out)
{
	if (strcasecmp(name, "hyperv") == 0)
		*out = IGVM_VMM_HYPERV;
	else if (strcasecmp(name, "qemu") == 0)
		*out = IGVM_VMM_QEMU;
	else
		return -1;
	return 0;
}

static void trace(const struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void trace(const struct walk *w, const char *fmt, ...)
{
	char label[160];
	va_list ap;
	if (!w->trace || !w->trace->step)
		return;
	va_start(ap, fmt);
	vsnprintf(label, sizeof label, fmt, ap);
	va_end(ap);
	w->trace->step(w->trace->arg, label, w->res->ld, SNP_LD_LEN);
}

static const char *page_type_name(enum snp_page_type t)
{
	static const char *const names[] = {"?", "NORMAL", "VMSA", "ZERO", "UNMEASURED", "SECRETS", "CPUID"};
	return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

static size_t max_pages(const struct walk *w)
{
	return w->req->max_pages && w->req->max_pages < IGVM_MAX_PAGES ? w->req->max_pages : IGVM_MAX_PAGES;
}

/* One PAGE_INFO update at a GPA that no other update may use. */
static int measure_page(struct walk *w, const uint8_t *contents, enum snp_page_type t, uint64_t gpa)
{
	if (w->n_gpas == max_pages(w))
		return uvm_fail(w->err, 0, "more than %zu measured pages (%zu KiB); refusing an image this large",
				max_pages(w), max_pages(w) * 4);
	if (w->n_gpas == w->cap_gpas) {
		size_t cap = w->cap_gpas ? 2 * w->cap_gpas : 256;
		uint64_t *g = realloc(w->gpas, cap * sizeof *g);
		if (!g)
			return uvm_fail(w->err, 0, "out of memory");
		w->gpas = g;
		w->cap_gpas = cap;
	}
	w->gpas[w->n_gpas++] = gpa;
	snp_ld_update(w->res->ld, contents, t, gpa);
	w->res->pages++;
	return 0;
}

static int bad(struct walk *w, const struct igvm_entry *e, const char *what, ...) __attribute__((format(printf, 3, 4)));

/* "TYPE at offset 0x..: what": every directive refusal names its entry. */
static int bad(struct walk *w, const struct igvm_entry *e, const char *what, ...)
{
	char nb[24], text[400];
	va_list ap;
	va_start(ap, what);
	vsnprintf(text, sizeof text, what, ap);
	va_end(ap);
	return uvm_fail(w->err, 0, "%s at offset 0x%zx: %s", igvm_type_name(e->type, nb), e->offset, text);
}

/* size bytes at gpa: page aligned and not wrapping past 2^64. */
static int check_gpa(struct walk *w, const struct igvm_entry *e, uint64_t gpa, uint64_t size)
{
	if (gpa % PAGE)
		return bad(w, e, "GPA 0x%llx is not page aligned", (unsigned long long)gpa);
	if (size - 1 > UINT64_MAX - gpa)
		return bad(w, e, "GPA 0x%llx + 0x%llx bytes wraps past 2^64", (unsigned long long)gpa,
			   (unsigned long long)size);
	return 0;
}

/* len bytes of data at file offset off, after the headers, inside the file. */
static int data_at(struct walk *w, const struct igvm_entry *e, uint32_t off, uint64_t len, const uint8_t **out)
{
	if (off < w->f->vh_end || off > w->f->len || len > w->f->len - off)
		return bad(w, e, "its %llu bytes of data at file offset 0x%x are not inside the file after the headers",
			   (unsigned long long)len, off);
	*out = w->f->data + off;
	return 0;
}

static enum snp_page_type data_page_type(const struct walk *w, uint32_t flags, uint16_t dtype, int has_data)
{
	if (dtype == 1)
		return SNP_PAGE_SECRETS;
	if (dtype >= 2)
		return SNP_PAGE_CPUID;
	if (flags & 2)
		return SNP_PAGE_UNMEASURED;
	/* QEMU launch-updates a page without data as a ZERO page; the igvm
	 * crate hashes 4 KiB of zeros as a NORMAL page. */
	return !has_data && w->req->vmm == IGVM_VMM_QEMU ? SNP_PAGE_ZERO : SNP_PAGE_NORMAL;
}

static int page_data(struct walk *w, const struct igvm_entry *e)
{
	const uint8_t *v = e->value, *data = NULL;
	if (e->len != 24)
		return bad(w, e, "%u bytes, not 24", e->len);
	uint64_t gpa = le64_get(v);
	uint32_t mask = le32_get(v + 8), off = le32_get(v + 12), flags = le32_get(v + 16);
	uint16_t dtype = le16_get(v + 20);
	if (!(mask & w->f->snp_mask))
		return 0;
	uint64_t size = (flags & 1) ? HUGE_PAGE : PAGE;
	if (flags & ~7u)
		return bad(w, e, "reserved flag bits 0x%x are set", flags & ~7u);
	if (dtype > 3)
		return bad(w, e, "unknown data type %u (0 normal, 1 secrets, 2 CPUID, 3 CPUID XF)", dtype);
	if (check_gpa(w, e, gpa, size) || (off && data_at(w, e, off, size, &data)))
		return -1;
	if (flags & 4) {
		trace(w, "PAGE_DATA 0x%llx shared: not measured", (unsigned long long)gpa);
		return 0;
	}
	enum snp_page_type t = data_page_type(w, flags, dtype, data != NULL);
	for (uint64_t i = 0; i < size; i += PAGE) {
		uint8_t h[SNP_LD_LEN];
		const uint8_t *c = NULL;
		if (t == SNP_PAGE_NORMAL && data) {
			uvm_sha384(data + i, PAGE, h);
			c = h;
		} else if (t == SNP_PAGE_NORMAL)
			c = w->zero_hash;
		if (measure_page(w, c, t, gpa + i))
			return -1;
	}
	trace(w, "PAGE_DATA 0x%llx %s%s%s", (unsigned long long)gpa, page_type_name(t), data ? "" : " (no data)",
	      size == HUGE_PAGE ? " x512 (2 MiB)" : "");
	return 0;
}

static struct area *find_area(struct walk *w, uint32_t index)
{
	for (size_t i = 0; i < w->n_areas; i++)
		if (w->areas[i].index == index)
			return &w->areas[i];
	return NULL;
}

static int parameter_area(struct walk *w, const struct igvm_entry *e)
{
	if (e->len != 16)
		return bad(w, e, "%u bytes, not 16", e->len);
	uint64_t bytes = le64_get(e->value);
	uint32_t index = le32_get(e->value + 8);
	if (bytes == 0 || bytes % PAGE || bytes / PAGE > max_pages(w))
		return bad(w, e, "size 0x%llx is not a whole number of pages, at most %zu of them (%zu KiB)",
			   (unsigned long long)bytes, max_pages(w), max_pages(w) * 4);
	if (find_area(w, index))
		return bad(w, e, "parameter area index %u is declared twice", index);
	if (w->n_areas == IGVM_MAX_AREAS)
		return bad(w, e, "more than %u parameter areas", IGVM_MAX_AREAS);
	w->areas[w->n_areas++] = (struct area){index, bytes, 0};
	return 0;
}

/* The loader fills the area when it inserts it: its pages are UNMEASURED. */
static int parameter_insert(struct walk *w, const struct igvm_entry *e)
{
	if (e->len != 16)
		return bad(w, e, "%u bytes, not 16", e->len);
	uint64_t gpa = le64_get(e->value);
	uint32_t mask = le32_get(e->value + 8), index = le32_get(e->value + 12);
	struct area *a = find_area(w, index);
	if (!a)
		return bad(w, e, "parameter area index %u is not declared before", index);
	if (!(mask & w->f->snp_mask))
		return 0;
	if (a->inserted)
		return bad(w, e, "parameter area index %u is inserted twice", index);
	a->inserted = 1;
	if (check_gpa(w, e, gpa, a->bytes))
		return -1;
	for (uint64_t i = 0; i < a->bytes; i += PAGE)
		if (measure_page(w, NULL, SNP_PAGE_UNMEASURED, gpa + i))
			return -1;
	trace(w, "PARAMETER_INSERT %u at 0x%llx UNMEASURED x%llu", index, (unsigned long long)gpa,
	      (unsigned long long)(a->bytes / PAGE));
	return 0;
}

static int keep_vp(struct walk *w, const struct igvm_entry *e, uint16_t index, const uint8_t hash[SNP_LD_LEN])
{
	for (size_t i = 0; i < w->n_vps; i++)
		if (w->vps[i].index == index)
			return bad(w, e, "a second VP context for vp_index %u", index);
	struct vp *v = realloc(w->vps, (w->n_vps + 1) * sizeof *v);
	if (!v)
		return uvm_fail(w->err, 0, "out of memory");
	w->vps = v;
	v[w->n_vps].index = index;
	memcpy(v[w->n_vps++].hash, hash, SNP_LD_LEN);
	return 0;
}

static int vp_context(struct walk *w, const struct igvm_entry *e)
{
	const uint8_t *vmsa = NULL;
	uint8_t h[SNP_LD_LEN];
	if (e->len != 20 && e->len != 24)
		return bad(w, e, "%u bytes, not 20 or 24", e->len);
	uint64_t gpa = le64_get(e->value);
	uint32_t mask = le32_get(e->value + 8), off = le32_get(e->value + 12);
	uint16_t index = le16_get(e->value + 16);
	if (!(mask & w->f->snp_mask))
		return 0;
	if (check_gpa(w, e, gpa, PAGE) || data_at(w, e, off, PAGE, &vmsa))
		return -1;
	uvm_sha384(vmsa, PAGE, h);
	w->res->vp_contexts++;
	if (w->req->vmm == IGVM_VMM_QEMU) {
		if (gpa != SNP_VMSA_GPA) {
			w->res->vmsa_gpa_other = 1;
			w->res->vmsa_gpa = gpa;
		}
		return keep_vp(w, e, index, h); /* KVM measures it at LAUNCH_FINISH */
	}
	if (measure_page(w, h, SNP_PAGE_VMSA, gpa))
		return -1;
	trace(w, "VP_CONTEXT vp_index %u at 0x%llx VMSA", index, (unsigned long long)gpa);
	return 0;
}

/* Directives that measure nothing: check what can be checked. */
static int unmeasured(struct walk *w, const struct igvm_entry *e)
{
	if (e->type == IGVM_REQUIRED_MEMORY) {
		if (e->len != 24)
			return bad(w, e, "%u bytes, not 24", e->len);
		return le32_get(e->value + 8) & w->f->snp_mask
			       ? check_gpa(w, e, le64_get(e->value), (uint64_t)le32_get(e->value + 12) + 1)
			       : 0;
	}
	if (e->type == IGVM_SNP_ID_BLOCK || e->type == IGVM_ERROR_RANGE || e->type == IGVM_VBS_MEASUREMENT)
		return 0;
	/* the parameter types: {parameter_area_index, byte_offset} */
	if (e->len != 8)
		return bad(w, e, "%u bytes, not 8", e->len);
	uint32_t index = le32_get(e->value);
	struct area *a = find_area(w, index);
	if (!a)
		return bad(w, e, "parameter area index %u is not declared before", index);
	if (le32_get(e->value + 4) >= a->bytes)
		return bad(w, e, "byte offset 0x%x is outside parameter area %u", le32_get(e->value + 4), index);
	return 0;
}

static int directive(struct walk *w, const struct igvm_entry *e)
{
	switch (e->type) {
	case IGVM_PARAMETER_AREA: return parameter_area(w, e);
	case IGVM_PAGE_DATA: return page_data(w, e);
	case IGVM_PARAMETER_INSERT: return parameter_insert(w, e);
	case IGVM_VP_CONTEXT: return vp_context(w, e);
	default: return e->type > IGVM_PARAMETER_AREA && !(e->type & IGVM_IGNORABLE) ? unmeasured(w, e) : 0;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int check_twice(struct walk *w)
{
	if (w->n_gpas < 2)
		return 0; /* nothing measured (gpas NULL) or one page: nothing to compare */
	qsort(w->gpas, w->n_gpas, sizeof *w->gpas, cmp_u64);
	for (size_t i = 1; i < w->n_gpas; i++)
		if (w->gpas[i] == w->gpas[i - 1])
			return uvm_fail(w->err, 0,
					"the page at GPA 0x%llx is measured twice; the PSP refuses a "
					"second LAUNCH_UPDATE of a page",
					(unsigned long long)w->gpas[i]);
	return 0;
}

/* KVM measures each vCPU's VMSA after all pages: vCPU n uses vp_index n. */
static int qemu_vmsas(struct walk *w)
{
	for (unsigned n = 0; n < w->req->vcpus; n++) {
		const struct vp *v = NULL;
		for (size_t i = 0; i < w->n_vps && !v; i++)
			if (w->vps[i].index == n)
				v = &w->vps[i];
		if (!v)
			return uvm_fail(w->err, 0,
					"no SEV-SNP VP context for vCPU %u (vp_index %u); the file "
					"starts %zu vCPU(s): lower --vcpus",
					n, n, w->n_vps);
		snp_ld_update(w->res->ld, v->hash, SNP_PAGE_VMSA, SNP_VMSA_GPA);
		w->res->pages++;
		trace(w, "VMSA of vCPU %u (LAUNCH_FINISH) at 0x%llx", n, (unsigned long long)SNP_VMSA_GPA);
	}
	return 0;
}

static int replay(struct walk *w)
{
	struct igvm_entry e;
	for (size_t pos = w->f->vh_off; igvm_next(w->f, &pos, &e);)
		if (e.type >= IGVM_PARAMETER_AREA && directive(w, &e))
			return -1;
	if (check_twice(w))
		return -1;
	return w->req->vmm == IGVM_VMM_QEMU ? qemu_vmsas(w) : 0;
}

int igvm_measure(const struct igvm_file *f, const struct igvm_request *req, struct igvm_result *res,
		 const struct snp_trace *trace_to, struct uvm_err *err)
{
	static const uint8_t zero_page[PAGE];
	struct walk *w = calloc(1, sizeof *w);
	if (!w)
		return uvm_fail(err, 0, "out of memory");
	memset(res, 0, sizeof *res);
	*w = (struct walk){.f = f, .req = req, .trace = trace_to, .res = res, .err = err};
	uvm_sha384(zero_page, PAGE, w->zero_hash);
	int rc = replay(w);
	free(w->gpas);
	free(w->vps);
	free(w);
	return rc;
}
