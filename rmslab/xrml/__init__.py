"""The XrML 1.2 wire format of RMS, exactly as docs/wire-format.md describes it."""

from rmslab.xrml.document import (CACertificate, ClientLicensorCertificate, KIND_NAMES,
                                  MachineCertificate, PublishingLicense, RevocationList,
                                  RightsAccountCertificate, RightsData, RightsTemplate,
                                  ServerLicensorCertificate, UseLicense, XrmlDocument,
                                  strip_intertag_whitespace)
from rmslab.xrml.pfile import ProtectedFile, read_protected_file, write_protected_file
from rmslab.xrml.reader import Chain, parse, read_chain, read_file

__all__ = [
    "Chain", "parse", "read_chain", "read_file",
    "XrmlDocument", "CACertificate", "ServerLicensorCertificate", "MachineCertificate",
    "RightsAccountCertificate", "ClientLicensorCertificate", "UseLicense",
    "PublishingLicense", "RightsTemplate", "RightsData", "RevocationList", "KIND_NAMES",
    "strip_intertag_whitespace",
    "ProtectedFile", "read_protected_file", "write_protected_file",
]
