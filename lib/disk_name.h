/* The names a host gives the UVM's disks, as requests carry them (the
 * `serial` of mount_device and scratch_mount) and `uvm launch --disk` takes
 * them. Two forms, never confused:
 *
 *   scsi<C>-lun<L>  a disk on SCSI controller C (0..3) at LUN L (0..63):
 *                   the guest finds it by the bus's own address (on Hyper-V
 *                   the controller's VMBus instance GUID, on QEMU the
 *                   virtio-scsi controller's PCI position), not by any name
 *                   the disk itself carries (agent/blockdev_scsi.c);
 *   anything else   a virtio-blk disk whose serial is that name (1..20 of
 *                   [A-Za-z0-9_-]; agent/blockdev.c).
 *
 * A virtio serial that happens to look like the SCSI form is never matched:
 * the form alone decides which bus is searched. */
#ifndef UVM_DISK_NAME_H
#define UVM_DISK_NAME_H

#define DISK_SCSI_CONTROLLERS 4 /* as hcsshim attaches them on Hyper-V */
#define DISK_SCSI_LUNS 64

/* 1 and *controller, *lun set if name is exactly "scsi<C>-lun<L>" (decimal,
 * no leading zeros, C < DISK_SCSI_CONTROLLERS, L < DISK_SCSI_LUNS);
 * 0 otherwise, including for a near miss such as "scsi4-lun0" or
 * "scsi0-lun07" (which callers then refuse: see disk_name_scsi_like). */
int disk_name_scsi(const char *name, unsigned *controller, unsigned *lun);

/* 1 if name starts with "scsi" followed by a digit: a name meant as the
 * SCSI form. A caller refuses such a name that disk_name_scsi rejects,
 * rather than searching the virtio serials for it. */
int disk_name_scsi_like(const char *name);

#endif
