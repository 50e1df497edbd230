"""The one exception tree of rmslab (docs/architecture.md rule 3).

Every failure rmslab reports is an :class:`RmslabError`. Two families matter to callers:

* :class:`InputError` — the input cannot be read as what it claims to be (hostile or
  malformed XML, an unknown encoding, a truncated protected file, a document whose
  envelope is broken). The CLI exits with status 2 for these.
* :class:`VerificationError` — the input was read, but a check failed (digest, signature,
  chain link, time, kind, cryptographic mode). Each carries the position of the document
  in its chain and a plain-English reason. The CLI exits with status 1 for these.
"""

from __future__ import annotations

from datetime import datetime

__all__ = [
    "RmslabError",
    "InputError",
    "EncodingError",
    "HostileInputError",
    "MalformedXmlError",
    "StructureError",
    "ContainerError",
    "CompoundFileError",
    "CompressionBombError",
    "NotProtectedError",
    "KeyFormatError",
    "SealError",
    "VerificationError",
    "UnsignedDocumentError",
    "DigestMismatchError",
    "BadSignatureError",
    "TrustError",
    "IssuerKeyNotFoundError",
    "ExpiredError",
    "NotYetValidError",
    "IssuedOutsideRangeError",
    "WrongKindError",
    "WeakAlgorithmError",
    "RefusedError",
    "ClusterDecommissionedError",
    "ClusterNotDecommissionedError",
    "OnlinePublishingDisabledError",
    "CredentialCreationTimeError",
    "NotConnectedError",
    "TamperedRequestError",
    "NotAdministratorError",
    "UntrustedSiteError",
    "NotEnrolledError",
    "SlcExpiredError",
    "LicenseRefusedError",
    "InvalidPersonaCertSignatureError",
    "InvalidPersonaCertTimeError",
    "UntrustedPersonaCertError",
    "DrmacExcludedError",
    "UnexpectedPersonaCertError",
    "InvalidRightsLabelSignatureError",
    "IssuanceLicenseTimeError",
    "NoMatchingIssuedPrincipalError",
    "NoRightsForPrincipalError",
    "BindingRefusedError",
    "RegistryFormatError",
    "LdifFormatError",
    "DiscoveryError",
    "AccessDisabledByPolicyError",
    "InstallationRefusedError",
    "ScpRegistrationRefusedError",
    "LabStoreError",
    "UnsafeNameError",
    "LabBusyError",
    "LabTamperedError",
    "LogDamagedError",
]


class RmslabError(Exception):
    """Base of every error rmslab raises on purpose."""


# --- input ------------------------------------------------------------------------------


class InputError(RmslabError):
    """The input cannot be read as XrML (CLI exit status 2)."""


class EncodingError(InputError):
    """The bytes are not text in an encoding XrML files use (UTF-8, UTF-16LE/BE)."""


class HostileInputError(InputError):
    """The input tries something rmslab refuses: a DTD, entity declarations, or a size
    beyond the configured limit."""


class MalformedXmlError(InputError):
    """The text is not well-formed XML; the message names the line."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class StructureError(InputError):
    """Well-formed XML that breaks the XrML envelope: no document, a second BODY, a
    SIGNATURE in the wrong place, a missing part (docs/wire-format.md "Envelope")."""


class ContainerError(InputError):
    """A protected-file container whose header is broken or truncated
    (docs/wire-format.md "Protected files")."""


class CompoundFileError(ContainerError):
    """An OLE compound file (MS-CFB) that cannot be read: a sector chain that loops or
    leaves the file, a directory that does not hold together, a stream or storage a
    protected container must have and does not (MS-OFFCRYPTO 2.1, MS-OXORMMS 2.2.4)."""


class CompressionBombError(HostileInputError):
    """Compressed data that inflates beyond what it declares or beyond the limit
    rmslab reads (the zlib chunks of ``message.rpmsg``, a PDF stream)."""


class NotProtectedError(InputError):
    """A readable file that holds no rights-management protection rmslab knows: an
    ordinary document, a password-encrypted Office file, a mail without ``message.rpmsg``
    (the inventory counts these; the document commands exit with status 2)."""


class KeyFormatError(InputError):
    """A PUBLICKEY or key file that cannot be read as an RSA key."""


# --- verification -----------------------------------------------------------------------


class SealError(RmslabError):
    """A sealed key (the ENABLINGBITS of MS-RMPR 2.2.9.1.13) cannot be opened with this
    private key: it was sealed for another principal, bound to another document, or
    changed. :class:`rmslab.crypto.enabling_bits.EnablingBitsError` is the one raised."""


class VerificationError(RmslabError):
    """A check failed on a document that could be read (CLI exit status 1).

    ``position`` is a phrase naming the document ("the client licensor certificate, 2nd
    in the chain"); ``reason`` says what is wrong; ``spec_id`` names the rule, if any.
    """

    code = "verification-failed"

    def __init__(self, reason: str, *, position: str | None = None,
                 index: int | None = None, spec_id: str | None = None) -> None:
        self.reason = reason
        self.position = position
        self.index = index
        self.spec_id = spec_id
        super().__init__(self._compose())

    def _compose(self) -> str:
        text = f"{self.position}: {self.reason}" if self.position else self.reason
        return f"{text} [{self.spec_id}]" if self.spec_id else text

    def at(self, position: str, index: int | None = None) -> "VerificationError":
        """The same error, placed at a position in a chain."""
        self.position = position
        if index is not None:
            self.index = index
        self.args = (self._compose(),)
        return self


class UnsignedDocumentError(VerificationError):
    """The document has no SIGNATURE, so nothing vouches for it."""

    code = "unsigned"


class DigestMismatchError(VerificationError):
    """The surface-coding digest of the BODY differs from DIGEST/VALUE (docs/wire-format.md
    "Signature")."""

    code = "digest-mismatch"


class BadSignatureError(VerificationError):
    """SIGNATURE/VALUE is not a valid RSA PKCS#1 v1.5 signature of the stated digest
    with the issuer's key."""

    code = "bad-signature"


class TrustError(VerificationError):
    """A chain-level failure: the document is intact but cannot be trusted."""

    code = "untrusted"


class IssuerKeyNotFoundError(TrustError):
    """No certificate in the chain holds the ISSUER key, and it is not the pinned anchor."""

    code = "issuer-key-not-found"


class ExpiredError(TrustError):
    """The document's validity ended before the time of the check."""

    code = "expired"


class NotYetValidError(TrustError):
    """The document's validity starts after the time of the check."""

    code = "not-yet-valid"


class IssuedOutsideRangeError(TrustError):
    """The document was issued (ISSUEDTIME) when its issuer's certificate could not issue:
    outside the RANGETIME of that certificate's ISSUE right (MS-RMPR 2.2.9.2)."""

    code = "issued-outside-range"


class WrongKindError(TrustError):
    """A document of a kind that may not stand where it stands (a publishing license
    used as an issuer, a use license certifying a key, …)."""

    code = "wrong-kind"


class WeakAlgorithmError(TrustError):
    """Cryptographic mode 1 (RSA-1024 / SHA-1) where mode 2 (RSA-2048 / SHA-256) is
    required (docs/wire-format.md "Signature")."""

    code = "mode-1-algorithm"


# --- refusals by the actors of a deployment ------------------------------------------


class RefusedError(RmslabError):
    """An actor refused a request, by a rule of docs/rules.md. ``spec_id`` names the rule,
    ``reason`` says why, and ``trace`` (a :class:`rmslab.trace.Trace`) holds the flow up
    to the refusal.

    ``exception_name`` is the name MS-RMPR gives the fault a real server returns for this
    refusal (the ``ExceptionName`` of a SOAP ``faultstring``, MS-RMPR 3.1.4.5), or None
    where MS-RMPR names none. Subclasses set it; an instance may be given its own.
    """

    code = "refused"
    #: MS-RMPR's exception name for this refusal (3.1.4.5), if it names one.
    exception_name: str | None = None

    def __init__(self, reason: str, *, spec_id: str | None = None,
                 trace: object | None = None, exception_name: str | None = None) -> None:
        self.reason = reason
        self.spec_id = spec_id
        self.trace = trace
        if exception_name is not None:
            self.exception_name = exception_name
        super().__init__(f"{reason} [{spec_id}]" if spec_id else reason)


class NotConnectedError(RefusedError):
    """The actor that must be reached is not reachable from here (offline)."""

    code = "not-connected"


class TamperedRequestError(RefusedError):
    """A request file was changed after it was exported: its signature no longer holds
    (S-5; proof of possession, E-4)."""

    code = "tampered-request"


class NotAdministratorError(RefusedError):
    """The user is neither a local administrator of the server nor a domain
    administrator (S-1)."""

    code = "not-administrator"


class UntrustedSiteError(RefusedError):
    """The submitting computer does not trust the enrollment site (S-4)."""

    code = "untrusted-site"


class NotEnrolledError(RefusedError):
    """The actor lacks a certificate it needs (no SLC, no machine certificate, no RAC)."""

    code = "not-enrolled"


class SlcExpiredError(RefusedError):
    """A cluster was asked to issue a certificate or a license outside the time range of
    its SLC's ISSUE right (MS-RMPR 3.1.6.2: outside it a server does not issue; it has
    its SLC reissued first). ``not_before`` and ``not_after`` are that range."""

    code = "slc-expired"

    def __init__(self, reason: str, *, spec_id: str | None = None,
                 trace: object | None = None, not_before: datetime | None = None,
                 not_after: datetime | None = None) -> None:
        super().__init__(reason, spec_id=spec_id, trace=trace)
        self.not_before = not_before
        self.not_after = not_after


# --- the licensing server's refusals (MS-RMPR 3.4.4.1 AcquireLicense) --------------------

_LICENSING = "Microsoft.DigitalRightsManagement.Licensing."


class ClusterDecommissionedError(RefusedError):
    """The cluster is decommissioned (MS-RMPR 3.1.1.1.1 serverDecommissioned): it answers
    no Certify, AcquireLicense, AcquireIssuanceLicense, GetClientLicensorCert,
    AcquireTemplateInformation, AcquireTemplates or GetLicensorCertificate (3.3.4.1,
    3.4.4.1–3.4.4.3, 3.5.4.1, 3.5.4.2, 3.7.4.1); only MS-RMSI's AcquireContentKey."""

    code = "cluster-decommissioned"
    exception_name = "Microsoft.RightsManagementServices.ClusterDecommissionedException"


class ClusterNotDecommissionedError(RefusedError):
    """AcquireContentKey was asked of a cluster in normal operation (MS-RMSI 3.2.4.1): the
    decommissioning interface answers only a decommissioned cluster."""

    code = "cluster-not-decommissioned"
    exception_name = ("Microsoft.DigitalRightsManagement.Utilities."
                      "ClusterNotDecommissionedException")


class OnlinePublishingDisabledError(RefusedError):
    """AcquireIssuanceLicense on a cluster whose onlinePublishingEnabled is false (MS-RMPR
    3.5.4.1); offline publishing with a CLC still works."""

    code = "online-publishing-disabled"
    exception_name = _LICENSING + "OnlinePublishingDisabledException"


class LicenseRefusedError(RefusedError):
    """The licensing server refused a use license (SPEC L-1; MS-RMPR 3.4.4.1). Each
    subclass is one of the faults MS-RMPR lists for AcquireLicense and carries its name in
    ``exception_name``."""

    code = "license-refused"


class InvalidPersonaCertSignatureError(LicenseRefusedError):
    """The rights account certificate (or its chain) has been tampered with."""

    code = "invalid-persona-cert-signature"
    exception_name = _LICENSING + "InvalidPersonaCertSignatureException"


class InvalidPersonaCertTimeError(LicenseRefusedError):
    """The rights account certificate is expired or not yet valid."""

    code = "invalid-persona-cert-time"
    exception_name = _LICENSING + "InvalidPersonaCertTimeException"


class UntrustedPersonaCertError(LicenseRefusedError):
    """The rights account certificate was not issued by a trusted user domain: its
    issuer's key is not among the cluster's trustedRacIssuers."""

    code = "untrusted-persona-cert"
    exception_name = _LICENSING + "UntrustedPersonaCertException"


class DrmacExcludedError(LicenseRefusedError):
    """The rights account certificate's key is in the cluster's RAC exclusion policy."""

    code = "drmac-excluded"
    exception_name = _LICENSING + "DrmacIsExcludedException"


class UnexpectedPersonaCertError(LicenseRefusedError):
    """Anything else wrong with the rights account certificate (not a RAC, a broken
    chain)."""

    code = "unexpected-persona-cert"
    exception_name = _LICENSING + "UnexpectedPersonaCertException"


class InvalidRightsLabelSignatureError(LicenseRefusedError):
    """The publishing license (or its chain) does not verify."""

    code = "invalid-rights-label-signature"
    exception_name = _LICENSING + "InvalidRightsLabelSignatureException"


class IssuanceLicenseTimeError(LicenseRefusedError):
    """The publishing license is outside its VALIDITYTIME now, or was issued at a time its
    issuers could not issue it."""

    code = "issuance-license-time"
    exception_name = _LICENSING + "IssuanceLicenseIsNotWithinValidTimeRangeException"


class NoMatchingIssuedPrincipalError(LicenseRefusedError):
    """The publishing license is issued to a server whose key this cluster does not hold
    (neither its own nor a trusted publishing domain's)."""

    code = "no-matching-issued-principal"
    exception_name = _LICENSING + "RightsLabelNoMatchingIssuedPrincipalException"


class CredentialCreationTimeError(LicenseRefusedError):
    """The RAC's Credential-Creation-Time SECURITYLEVEL is later than the publishing
    license's ISSUEDTIME by more than the cluster's creationTimeTolerance (MS-RMPR
    3.4.4.1): the account may be a reused one, created after the content was published."""

    code = "credential-creation-time"
    exception_name = _LICENSING + "CredentialCreationTimeException"


class NoRightsForPrincipalError(LicenseRefusedError):
    """The publishing license grants the requesting user nothing."""

    code = "no-rights"
    exception_name = _LICENSING + "NoRightsForRequestedPrincipalException"


# --- client deployment and service discovery (D-1…D-9) -------------------------------


class RegistryFormatError(InputError):
    """A ``.reg`` file that the registry editor format does not allow (a missing header, a
    value outside a key, bad hex, an unknown escape…), or a value that cannot be written
    in the chosen format. ``line`` names the line of the file (1-based), when there is
    one (D-4)."""

    def __init__(self, message: str, line: int | None = None, *,
                 source: str | None = None) -> None:
        self.message, self.line, self.source = message, line, source
        where = ", ".join(w for w in (source, f"line {line}" if line is not None else None)
                          if w)
        super().__init__(f"{where}: {message}" if where else message)

    def placed(self, source: str) -> "RegistryFormatError":
        """The same error, naming the file it came from."""
        return type(self)(self.message, self.line, source=source)


class LdifFormatError(InputError):
    """LDIF text that RFC 2849 does not allow, or a change record that cannot be applied
    to the directory it is read into. ``line`` names the line (1-based) (D-7)."""

    def __init__(self, message: str, line: int | None = None, *,
                 source: str | None = None) -> None:
        self.message, self.line, self.source = message, line, source
        where = ", ".join(w for w in (source, f"line {line}" if line is not None else None)
                          if w)
        super().__init__(f"{where}: {message}" if where else message)

    def placed(self, source: str) -> "LdifFormatError":
        """The same error, naming the file it came from."""
        return type(self)(self.message, self.line, source=source)


class DiscoveryError(RmslabError):
    """Service discovery found no server the client may use (D-7). ``reason`` says why,
    ``spec_id`` names the rule, ``trace`` (a :class:`rmslab.trace.Trace`) holds every
    attempt in order. The CLI exits with status 4 for these."""

    code = "discovery-failed"

    def __init__(self, reason: str, *, spec_id: str | None = "D-7",
                 trace: object | None = None) -> None:
        self.reason = reason
        self.spec_id = spec_id
        self.trace = trace
        super().__init__(f"{reason} [{spec_id}]" if spec_id else reason)


class AccessDisabledByPolicyError(DiscoveryError):
    """Content protected by the ILS service, on a client whose registry blocks it
    (``DisablePassportCertification`` = 1): the client returns
    HRESULT_FROM_WIN32(ERROR_ACCESS_DISABLED_BY_POLICY) (D-4)."""

    code = "access-disabled-by-policy"
    #: ERROR_ACCESS_DISABLED_BY_POLICY is Win32 error 1260 (0x4EC); HRESULT_FROM_WIN32
    #: puts it in facility 7 with the failure bit set.
    win32_error = 1260
    hresult = 0x800704EC


class InstallationRefusedError(RefusedError):
    """The RMS client package cannot be installed here: wrong architecture, an operating
    system outside the support table, or no elevated rights (D-2)."""

    code = "installation-refused"


class ScpRegistrationRefusedError(RefusedError):
    """Registering or removing the service connection point was refused: the account is
    not in Enterprise Admins and a local administrator of the AD RMS server, or an SCP
    already exists in the forest (D-8)."""

    code = "scp-registration-refused"


class BindingRefusedError(RefusedError):
    """Binding refused: a check of B-2 (or of revocation, R-3) failed. ``check`` is the
    failed :class:`rmslab.trace.Check`."""

    code = "binding-refused"

    def __init__(self, reason: str, *, spec_id: str | None = None,
                 trace: object | None = None, check: object | None = None) -> None:
        super().__init__(reason, spec_id=spec_id, trace=trace)
        self.check = check


# --- the lab store (issue 10) -----------------------------------------------------------


class LabStoreError(InputError):
    """A lab directory that cannot be used as it is (CLI exit status 2)."""


class UnsafeNameError(LabStoreError):
    """A name that would become a path is not a safe single component of its kind (a
    content ID that is not a GUID, a session name with a separator, a path leading out of
    the lab)."""


class LabBusyError(LabStoreError):
    """Another command holds the lab's write lock longer than this one would wait."""


class LabTamperedError(LabStoreError):
    """The lab's clock is behind the time the lab last recorded: it was set back."""


class LogDamagedError(LabStoreError):
    """A logging database of the lab is missing, emptied, unreadable, or holds fewer
    requests than the lab last recorded (E-8): an audit log that disappears is noticed,
    never silently recreated."""
