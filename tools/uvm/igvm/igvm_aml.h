/* A tiny AML encoder (ACPI 6.5, chapter 20 "ACPI Machine Language
 * Specification"): just the terms the IGVM's DSDT needs. Our own code,
 * from the grammar:
 *
 *   PkgLength   1 byte: bits 7-6 = 0, bits 5-0 the length (< 64); or
 *               2..4 bytes: bits 7-6 = the count of bytes that follow,
 *               bits 3-0 the low nibble, then the rest 8 bits a byte;
 *               the length counts the PkgLength bytes themselves
 *   NameString  ['\'] NameSeg | DualNamePrefix (0x2e) 2 segs |
 *               MultiNamePrefix (0x2f) count segs; a NameSeg is 4 bytes,
 *               [A-Z_] then [A-Z0-9_], padded with '_'
 *   Integer     ZeroOp 0x00, OneOp 0x01, BytePrefix 0x0a, WordPrefix
 *               0x0b, DWordPrefix 0x0c, QWordPrefix 0x0e
 *   String      0x0d, ASCII (0x01-0x7f), 0x00
 *   NameOp      0x08 NameString DataRefObject
 *   ScopeOp     0x10 PkgLength NameString TermList
 *   BufferOp    0x11 PkgLength BufferSize(Integer) ByteList
 *   DeviceOp    0x5b 0x82 PkgLength NameString TermList
 *
 * A resource template (ACPI 6.5, 6.4 "Resource Data Types") is a Buffer of
 * descriptors ended by an End Tag (0x79) whose checksum byte makes the
 * whole template sum to zero.
 *
 * All writes go to a caller's fixed buffer; an overflow or a bad name is
 * remembered (a->bad) and every later write is a no-op, so a builder
 * checks once at the end. Packages nest: aml_open returns a mark,
 * aml_close(mark) inserts the PkgLength in front of what was written
 * since. */
#ifndef UVM_IGVM_AML_H
#define UVM_IGVM_AML_H

#include <stddef.h>
#include <stdint.h>

#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_OP_PREFIX 0x5b
#define AML_DEVICE_OP 0x82 /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR 0x5c /* '\' */

#define AML_PKGLENGTH_MAX 0x0fffffffu /* 28 bits */

/* Resource descriptors. */
#define AML_RES_END_TAG 0x79       /* small item, 1 byte of data */
#define AML_RES_QWORD_ADDRESS 0x8a /* large item */
#define AML_RES_QWORD_LEN 43u      /* bytes after the 3-byte large item header */

struct aml {
	uint8_t *p;
	size_t cap, len;
	int bad; /* set by an overflow, a bad name or a package too long */
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *b, size_t n);

/* The PkgLength encoding of a package whose contents (after the PkgLength)
 * are len bytes: written to out (up to 4 bytes), its size returned, or 0 if
 * the package would exceed AML_PKGLENGTH_MAX. */
size_t aml_pkglength(size_t len, uint8_t out[4]);

/* A package: aml_open() before its contents, aml_close() after them. */
size_t aml_open(const struct aml *a);
void aml_close(struct aml *a, size_t mark);

void aml_name(struct aml *a, const char *name); /* a NameString, e.g. "\\_SB", "VMBS", "_SB.VMOD" */
void aml_integer(struct aml *a, uint64_t v);    /* the shortest encoding */
void aml_string(struct aml *a, const char *s);

void aml_name_op(struct aml *a, const char *name); /* NameOp NameString; the object follows */
void aml_name_integer(struct aml *a, const char *name, uint64_t v);
void aml_name_string(struct aml *a, const char *name, const char *s);

/* ScopeOp / DeviceOp: opened here, the caller adds the TermList, then
 * aml_close(mark). */
size_t aml_scope(struct aml *a, const char *name);
size_t aml_device(struct aml *a, const char *name);

/* A resource template: aml_resources() opens the Buffer, the descriptors
 * follow, aml_resources_end() writes the End Tag with its checksum and
 * closes the Buffer (its BufferSize is filled in then). */
struct aml_res {
	size_t mark, size_at, start;
};
void aml_resources(struct aml *a, struct aml_res *r);
void aml_resources_end(struct aml *a, const struct aml_res *r);

/* A QWord address space descriptor of type memory range (ACPI 6.5,
 * 6.4.3.5.1): ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable,
 * ReadWrite, granularity 0, [min, max], translation 0, length max-min+1. */
void aml_qword_memory(struct aml *a, uint64_t min, uint64_t max);

#endif
