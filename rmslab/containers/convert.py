"""One protected content, every container: rewrap what publishing produced.

Publishing (SPEC P-6, P-8) writes a ``.pfile`` container: the license chain, then the
content sealed with the content key. :func:`rewrap` moves the same license chain and
the same sealed bytes into another container, so every format carries real licenses
and really encrypted content. The Office, mail and PDF formats prescribe AES-128-ECB
(MS-OFFCRYPTO 2.2.10): content published in cryptographic mode 1 is exactly that; in
mode 2 the sealed bytes stay AES-128-CBC4K, which the container carries unchanged.
"""

from __future__ import annotations

import hashlib

from rmslab.containers.msg import write_msg
from rmslab.containers.office import write_office
from rmslab.containers.pdf import wrap_pdf_irm_v2, write_pdf_irm
from rmslab.containers.rpmsg import write_rpmsg
from rmslab.errors import ContainerError
from rmslab.xrml.pfile import read_protected_file
from rmslab.xrml.source import decode_text

__all__ = ["rewrap", "WRITABLE", "kind_for_extension"]

#: Container kinds :func:`rewrap` writes.
WRITABLE = ("protected-file", "office-ooxml", "office-binary", "rpmsg", "outlook-msg",
            "pdf-irm-v1", "pdf-irm-v2", "pdf-irm-v2-wrapper")

_EXTENSIONS = {".docx": "office-ooxml", ".xlsx": "office-ooxml", ".pptx": "office-ooxml",
               ".docm": "office-ooxml", ".xlsm": "office-ooxml", ".pptm": "office-ooxml",
               ".doc": "office-binary", ".xls": "office-binary", ".ppt": "office-binary",
               ".rpmsg": "rpmsg", ".msg": "outlook-msg", ".pdf": "pdf-irm-v2-wrapper"}


def kind_for_extension(name: str) -> str:
    """The container a protected copy named ``name`` is written in (what a user expects
    of the name); everything else is a ``.pfile`` container."""
    for extension, kind in _EXTENSIONS.items():
        if name.lower().endswith(extension):
            return kind
    return "protected-file"


def rewrap(pfile: bytes, kind: str, *, use_licenses: tuple[tuple[str, bytes, str], ...] = (),
           subject: str = "Protected message") -> bytes:
    """The content of a ``.pfile`` container, in the container ``kind``."""
    if kind not in WRITABLE:
        raise ContainerError(f"rmslab does not write {kind!r} containers")
    if kind == "protected-file":
        return pfile
    parsed = read_protected_file(pfile)
    text = decode_text(parsed.license_bytes)
    sealed = parsed.content
    size = parsed.original_size if parsed.original_size is not None else len(sealed)
    file_id = hashlib.sha256(text.encode("utf-8")).digest()[:16]
    if kind in ("office-ooxml", "office-binary"):
        return write_office(text, sealed, size, binary=kind == "office-binary",
                            use_licenses=use_licenses)
    if kind == "rpmsg":
        return write_rpmsg(text, sealed, size, use_licenses=use_licenses)
    if kind == "outlook-msg":
        return write_msg(write_rpmsg(text, sealed, size, use_licenses=use_licenses),
                         subject=subject)
    if kind == "pdf-irm-v1":
        return write_pdf_irm(text, sealed, version=1, file_id=file_id)
    payload = write_pdf_irm(text, sealed, version=2, file_id=file_id)
    return payload if kind == "pdf-irm-v2" else wrap_pdf_irm_v2(payload, file_id=file_id)
