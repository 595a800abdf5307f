# The firmware pin: Debian's ovmf-amdsev package (AmdSevX64 build with
# SNP_KERNEL_HASHES; Debian 12 has no such build). Its bytes are measured at
# launch, so both the .deb and the extracted file are pinned.
OVMF_PKG=ovmf-amdsev
OVMF_PKG_VERSION=2026.08+ds-2
OVMF_SUITE=sid
OVMF_DEB_SHA256=92c9b6d15e4eeb371938c3f99080c1a8fc057dfd6bc0509d37f8b615e9edebfb
OVMF_FD_PATH=usr/share/ovmf/OVMF.amdsev.fd
OVMF_FD_SHA256=3e4fd0b3fe3b2dbe481c3d9e99418a034174f26cbe1f55aa212b0f18c12d2d6f
