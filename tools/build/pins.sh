# Pinned inputs of the image. Changing any of these changes the launch
# measurement: update deliberately, with the new checksums from a reviewed build.

SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}   # 2026-01-01T00:00:00Z

LINUX_PKG=linux-source-6.12
LINUX_PKG_VERSION=6.12.117-1~deb12u1
LINUX_TARBALL=/usr/src/linux-source-6.12.tar.xz
LINUX_TARBALL_SHA256=585a4a074597aefa2b1a68ada83a3184ba351c127544dea80618bbcceaa3961f

BUSYBOX_PKG=busybox-static
BUSYBOX_PKG_VERSION=1:1.35.0-4+deb12u1+b1
BUSYBOX_BIN=/bin/busybox
BUSYBOX_SHA256=3d9f2889d6782537624a4e1a10e68a2ddd53e0ee8bac02676f27308f42ec6bf6

MUSL_PKG_VERSION=1.2.3-1

# Debian's openssl source package (the bookworm point-release version: it stays
# in the archive until the next point release, unlike security uploads).
OPENSSL_SRC_VERSION=3.0.20-1~deb12u2
OPENSSL_ORIG_SHA256=c80a01dfc70ece4dc21168932c37739042d404d46ccc81a5986dd75314ecda6f
OPENSSL_DEBIAN_SHA256=7279efe85c359500c95aa88347e3395dd303d7566e2bb818d80d96e0c3bb9629
