/* The setup header of a Linux x86 bzImage (Documentation/arch/x86/boot.rst,
 * "The Real-Mode Kernel Header"), read from an untrusted file for a direct
 * 64-bit boot: the protected-mode part after the setup sectors is loaded
 * as is and entered at its start + 0x200 (startup_64).
 *
 * Refused, with a message naming the field: a file too short for its
 * header, no 0xAA55 boot flag, no "HdrS" magic, boot protocol older than
 * 2.12, a header length outside 0x268..0x290, setup sectors reaching the
 * end of the file, no 64-bit entry point (XLF_KERNEL_64), a kernel that is
 * not relocatable or not loaded high, a kernel_alignment that is not a
 * power of two from 4 KiB to 1 GiB, an init_size of 0 or over 1 GiB, a
 * pref_address that is not 4 KiB aligned or above 4 GiB. */
#ifndef UVM_BZIMAGE_H
#define UVM_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define BZ_HDR 0x1f1u          /* the setup header's offset in the file and in boot_params */
#define BZ_HDR_END_MIN 0x268u  /* through handover_offset (protocol 2.11) */
#define BZ_HDR_END_MAX 0x290u  /* where boot_params' edd_mbr_sig_buffer starts */
#define BZ_PROTOCOL_MIN 0x20cu /* 2.12: xloadflags */
#define BZ_ENTRY_64 0x200u     /* startup_64, from the start of the protected-mode part */

/* Offsets of setup header fields (in the file and in boot_params). */
#define BZ_SETUP_SECTS 0x1f1u
#define BZ_BOOT_FLAG 0x1feu
#define BZ_JUMP 0x200u
#define BZ_MAGIC 0x202u
#define BZ_VERSION 0x206u
#define BZ_TYPE_OF_LOADER 0x210u
#define BZ_LOADFLAGS 0x211u
#define BZ_RAMDISK_IMAGE 0x218u
#define BZ_RAMDISK_SIZE 0x21cu
#define BZ_HEAP_END_PTR 0x224u
#define BZ_CMD_LINE_PTR 0x228u
#define BZ_INITRD_ADDR_MAX 0x22cu
#define BZ_KERNEL_ALIGNMENT 0x230u
#define BZ_RELOCATABLE 0x234u
#define BZ_XLOADFLAGS 0x236u
#define BZ_CMDLINE_SIZE 0x238u
#define BZ_SETUP_DATA 0x250u
#define BZ_PREF_ADDRESS 0x258u
#define BZ_INIT_SIZE 0x260u

#define BZ_LOADED_HIGH 0x01u
#define BZ_CAN_USE_HEAP 0x80u
#define BZ_XLF_KERNEL_64 0x01u

struct bzimage {
	uint8_t setup_sects; /* as the file says; 0 means 4 */
	size_t pm_offset;    /* (setup sectors + 1) * 512: the protected-mode part */
	size_t pm_len;       /* to the end of the file */
	size_t hdr_end;      /* 0x202 + the byte at 0x201 */
	uint16_t version;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint32_t initrd_addr_max, kernel_alignment, cmdline_size, init_size;
	uint64_t pref_address;
};

/* Reads the header of len bytes at data (the whole bzImage). Returns 0, or
 * -1 with err set. */
int bzimage_parse(const uint8_t *data, size_t len, struct bzimage *bz, struct uvm_err *err);

#endif
