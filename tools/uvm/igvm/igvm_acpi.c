/* The IGVM's ACPI tables (see igvm_acpi.h). Our own code, from ACPI 6.5
 * (5.2 "ACPI System Description Tables") and what Linux 6.12 reads of them:
 * arch/x86/kernel/acpi/boot.c (the MADT, the FADT's boot flags),
 * drivers/acpi/acpica/tbfadt.c (X_DSDT, the hardware-reduced flag that
 * skips the PM blocks, the SCI and the FACS) and drivers/hv/vmbus_drv.c
 * (the VMBus device, its _CRS and its parent's). */
#include "igvm_acpi.h"
#include "igvm_aml.h"
#include "le.h"

#include <string.h>

/* The byte that makes the len bytes at p sum to zero, stored at p[at]. */
static void checksum(uint8_t *p, size_t len, size_t at)
{
	uint8_t sum = 0;
	p[at] = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	p[at] = (uint8_t)(0x100 - sum);
}

/* An ACPI table header (36 bytes); the checksum once the body is in place. */
static void header(uint8_t *t, const char sig[4], uint32_t len, uint8_t revision)
{
	memcpy(t, sig, 4);
	le32_put(t + 4, len);
	t[8] = revision;
	memcpy(t + 10, "UVM   ", 6);
	memcpy(t + 16, "UVMIGVM ", 8);
	le32_put(t + 24, 1);
	memcpy(t + 28, "UVM ", 4);
	le32_put(t + 32, 1);
}

/*   Scope (\_SB) {
 *     Device (VMOD) {
 *       Name (_HID, "ACPI0004")
 *       Name (_UID, Zero)
 *       Name (_CRS, ResourceTemplate () { QWordMemory low, QWordMemory high })
 *       Device (VMBS) {
 *         Name (_STA, 0x0F)
 *         Name (_HID, "VMBus")
 *         Name (_UID, Zero)
 *         Name (_CRS, ResourceTemplate () {})
 *       }
 *     }
 *   }
 * vmbus_acpi_add fails without the VMBS's own _CRS (acpi_walk_resources
 * finds no _CRS), so it has an empty one; the MMIO ranges are the
 * parent's, as in Hyper-V's and OpenVMM's DSDTs. */
size_t igvm_acpi_dsdt(uint8_t *buf, size_t cap)
{
	struct aml a;
	struct aml_res r;
	if (cap < 36)
		return 0;
	memset(buf, 0, cap);
	aml_init(&a, buf + 36, cap - 36);
	size_t sb = aml_scope(&a, "\\_SB");
	size_t vmod = aml_device(&a, "VMOD");
	aml_name_string(&a, "_HID", "ACPI0004");
	aml_name_integer(&a, "_UID", 0);
	aml_name_op(&a, "_CRS");
	aml_resources(&a, &r);
	aml_qword_memory(&a, IGVM_ACPI_MMIO_LOW_MIN, IGVM_ACPI_MMIO_LOW_MAX);
	aml_qword_memory(&a, IGVM_ACPI_MMIO_HIGH_MIN, IGVM_ACPI_MMIO_HIGH_MAX);
	aml_resources_end(&a, &r);
	size_t vmbs = aml_device(&a, "VMBS");
	aml_name_integer(&a, "_STA", 0x0f);
	aml_name_string(&a, "_HID", "VMBus");
	aml_name_integer(&a, "_UID", 0);
	aml_name_op(&a, "_CRS");
	aml_resources(&a, &r);
	aml_resources_end(&a, &r);
	aml_close(&a, vmbs);
	aml_close(&a, vmod);
	aml_close(&a, sb);
	if (a.bad)
		return 0;
	size_t len = 36 + a.len;
	header(buf, "DSDT", (uint32_t)len, 2); /* revision 2: 64-bit integers */
	checksum(buf, len, 9);
	return len;
}

static void fadt(uint8_t *f, uint64_t dsdt)
{
	header(f, "FACP", IGVM_ACPI_FADT_LEN, 6);
	/* FIRMWARE_CTRL, X_FIRMWARE_CTRL 0: no FACS (hardware-reduced). SCI_INT,
	 * SMI_CMD, every PM and GPE block, their lengths and their X_ forms 0:
	 * a hardware-reduced platform has none. Preferred PM profile 0
	 * (unspecified), no reset register, no sleep registers, no hypervisor
	 * vendor identity. */
	le32_put(f + FADT_DSDT, (uint32_t)dsdt);
	le16_put(f + FADT_IAPC_BOOT_ARCH, FADT_BOOT_VGA_NOT_PRESENT);
	le32_put(f + FADT_FLAGS, FADT_FLAG_HW_REDUCED_ACPI);
	f[FADT_MINOR_VERSION] = 5;
	le64_put(f + FADT_X_DSDT, dsdt);
	checksum(f, IGVM_ACPI_FADT_LEN, 9);
}

void igvm_acpi_tables(uint8_t page[IGVM_ACPI_PAGE], uint64_t gpa)
{
	uint8_t *rsdp = page + IGVM_ACPI_RSDP_OFF, *xsdt = page + IGVM_ACPI_XSDT_OFF, *madt = page + IGVM_ACPI_MADT_OFF;
	memset(page, 0, IGVM_ACPI_PAGE);
	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, "UVM   ", 6);
	rsdp[15] = 2;
	le32_put(rsdp + 20, IGVM_ACPI_RSDP_LEN);
	le64_put(rsdp + 24, gpa + IGVM_ACPI_XSDT_OFF);
	checksum(rsdp, 20, 8);
	checksum(rsdp, IGVM_ACPI_RSDP_LEN, 32);

	header(xsdt, "XSDT", IGVM_ACPI_XSDT_LEN, 1);
	le64_put(xsdt + 36, gpa + IGVM_ACPI_FADT_OFF);
	le64_put(xsdt + 44, gpa + IGVM_ACPI_MADT_OFF);
	checksum(xsdt, IGVM_ACPI_XSDT_LEN, 9);

	header(madt, "APIC", IGVM_ACPI_MADT_LEN, 3);
	le32_put(madt + 36, IGVM_ACPI_LAPIC);
	le32_put(madt + 40, 0); /* flags: no 8259 */
	madt[44] = 0;           /* processor local APIC */
	madt[45] = 8;           /* its length */
	madt[46] = 0;           /* ACPI processor UID */
	madt[47] = 0;           /* APIC ID */
	le32_put(madt + 48, 1); /* enabled */
	checksum(madt, IGVM_ACPI_MADT_LEN, 9);

	fadt(page + IGVM_ACPI_FADT_OFF, gpa + IGVM_ACPI_DSDT_OFF);
	/* The DSDT is ~200 bytes of fixed AML: it always fits (the unit test
	 * checks it and its length). */
	igvm_acpi_dsdt(page + IGVM_ACPI_DSDT_OFF, IGVM_ACPI_DSDT_MAX);
}
