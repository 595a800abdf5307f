"""The SNP launch digest's building blocks, written from the SNP firmware ABI for the tests
that derive expected measurements independently of the C code (test_measure_image.py,
test_measure_igvm.py)."""
import hashlib
import uuid


def guid_le(text):
    """A GUID in the mixed-endian byte order OVMF tables and IGVM files use."""
    return uuid.UUID(text).bytes_le


def page_info(ld, contents, page_type, gpa):
    """SNP PAGE_INFO (SNP_LAUNCH_UPDATE): the launch digest after one page; contents is the
    page's SHA-384, or 48 zero bytes for the types measured without contents."""
    return hashlib.sha384(ld + contents + (0x70).to_bytes(2, "little") + bytes([page_type])
                          + bytes(5) + gpa.to_bytes(8, "little")).digest()
