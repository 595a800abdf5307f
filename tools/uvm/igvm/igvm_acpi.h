/* The ACPI tables of the IGVM's Linux direct boot (docs/hyperv.md, "ACPI"):
 * one 4 KiB page, e820 type 3, laid out as
 *
 *   +0x000  RSDP (revision 2) -> the XSDT
 *   +0x040  XSDT: the FADT, the MADT
 *   +0x080  MADT (revision 3): local APIC 0xfee00000, one enabled
 *           processor local APIC (UID 0, APIC ID 0), no 8259
 *   +0x100  FADT (revision 6, minor 5: ACPI 6.5), hardware-reduced ACPI,
 *           no FACS, DSDT and X_DSDT -> the DSDT, IA-PC boot flags "VGA not
 *           present" (no legacy devices, no 8042; MSI and a CMOS RTC not
 *           ruled out)
 *   +0x240  DSDT (revision 2): \_SB.VMOD, a module device (_HID "ACPI0004")
 *           whose _CRS gives the MMIO ranges for VMBus, and in it
 *           \_SB.VMOD.VMBS (_HID "VMBus", _STA 0x0f, an empty _CRS): what
 *           Linux's vmbus_acpi_add (drivers/hv/vmbus_drv.c) looks for
 *
 * OEM ID "UVM   ", table ID "UVMIGVM ", OEM revision 1, creator "UVM "
 * revision 1. Our own code, from ACPI 6.5 chapter 5 and Linux's
 * include/acpi/actbl*.h. */
#ifndef UVM_IGVM_ACPI_H
#define UVM_IGVM_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define IGVM_ACPI_PAGE 4096u
#define IGVM_ACPI_RSDP_OFF 0x000u
#define IGVM_ACPI_XSDT_OFF 0x040u
#define IGVM_ACPI_MADT_OFF 0x080u
#define IGVM_ACPI_FADT_OFF 0x100u
#define IGVM_ACPI_DSDT_OFF 0x240u

#define IGVM_ACPI_RSDP_LEN 36u
#define IGVM_ACPI_XSDT_LEN (36u + 2 * 8u)
#define IGVM_ACPI_MADT_LEN (44u + 8u)
#define IGVM_ACPI_FADT_LEN 276u /* ACPI 6.0+: up to the hypervisor vendor identity */
#define IGVM_ACPI_DSDT_MAX (IGVM_ACPI_PAGE - IGVM_ACPI_DSDT_OFF)

#define IGVM_ACPI_LAPIC 0xfee00000u

/* FADT fields (ACPI 6.5, table 5.9). */
#define FADT_DSDT 40u
#define FADT_IAPC_BOOT_ARCH 109u
#define FADT_FLAGS 112u
#define FADT_MINOR_VERSION 131u
#define FADT_X_DSDT 140u
#define FADT_FLAG_HW_REDUCED_ACPI (1u << 20)
#define FADT_BOOT_VGA_NOT_PRESENT (1u << 2)

/* The ranges VMBus may place MMIO in (VMOD's _CRS): OpenVMM's default x86
 * MMIO gaps (openvmm_defs DEFAULT_MMIO_GAPS_X86): 128 MiB below 4 GiB and
 * 512 MiB below 64 GiB. The guest's RAM (at most 2816 MiB) ends below
 * both. Whether Hyper-V's own host places VMBus MMIO there is not known
 * here (docs/hyperv.md). */
#define IGVM_ACPI_MMIO_LOW_MIN 0xf8000000ull
#define IGVM_ACPI_MMIO_LOW_MAX 0xffffffffull
#define IGVM_ACPI_MMIO_HIGH_MIN 0xfe0000000ull
#define IGVM_ACPI_MMIO_HIGH_MAX 0xfffffffffull

/* The DSDT (header and AML) into buf; its length, or 0 if cap is too small. */
size_t igvm_acpi_dsdt(uint8_t *buf, size_t cap);

/* The whole page for the tables at guest physical address gpa (page
 * aligned, below 4 GiB): every table with its checksum. Deterministic. */
void igvm_acpi_tables(uint8_t page[IGVM_ACPI_PAGE], uint64_t gpa);

#endif
