"""The one table between rmslab's refusals and MS-RMPR's exception names.

The server answers every refusal as a SOAP fault whose faultstring starts with the name
MS-RMPR gives for that operation (3.1.4.5, 3.1.4.6, and the "Exceptions Thrown" table of
each operation in 3.3–3.7); :func:`exception_for` picks it — the name an error class
carries itself (``exception_name``), else this module's table. The client reads the name
back and raises the typed rmslab error :func:`error_for` gives, with rmslab's rule ID
(carried in brackets at the end of the faultstring) and reason.
"""

from __future__ import annotations

from rmslab.errors import (ClusterDecommissionedError, CredentialCreationTimeError,
                           InputError, NotEnrolledError, OnlinePublishingDisabledError,
                           RefusedError, RmslabError, TamperedRequestError,
                           UntrustedSiteError, VerificationError)
from rmslab.service.soap import Fault, exception_short_name

__all__ = ["UNAUTHORIZED", "ARGUMENT_NULL", "MALFORMED_VERSION", "UNSUPPORTED_VERSION",
           "INVALID_OPERATION", "UNSPECIFIED", "VERIFY_EMAIL", "AD_ENTRY_SEARCH_FAILED",
           "VERIFY_MACHINE_CHAIN", "INVALID_PERSONA_SIGNATURE", "INVALID_PERSONA_TIME",
           "UNEXPECTED_PERSONA", "UNTRUSTED_PERSONA", "NO_RIGHTS", "INVALID_LABEL_SIGNATURE",
           "LABEL_NOT_IN_TIME", "LABEL_NO_MATCHING_PRINCIPAL", "UNSIGNED_NO_MATCHING_PRINCIPAL",
           "ENABLING_BITS_HASH", "UNSUPPORTED_CRYPTO", "CLUSTER_DECOMMISSIONED",
           "ONLINE_PUBLISHING_DISABLED", "CREDENTIAL_CREATION_TIME", "exception_for", "error_for",
           "persona_exception", "label_exception"]

_CORE = "Microsoft.DigitalRightsManagement.Core."
_LICENSING = "Microsoft.DigitalRightsManagement.Licensing."

# MS-RMPR 3.1.4.6
MALFORMED_VERSION = _CORE + "MalformedDataVersionException"
UNSUPPORTED_VERSION = _CORE + "UnsupportedDataVersionException"
ARGUMENT_NULL = "System.ArgumentNullException"
# 3.3.4.1 (Certify)
UNAUTHORIZED = "System.UnauthorizedAccessException"
VERIFY_EMAIL = _CORE + "VerifyEmailAddressFailedException"
AD_ENTRY_SEARCH_FAILED = "Microsoft.DigitalRightsManagement.Utilities.ADEntrySearchFailedException"
VERIFY_MACHINE_CHAIN = _CORE + "VerifyMachineCertificateChainFailedException"
UNSUPPORTED_CRYPTO = ("Microsoft.DigitalRightsManagement.Cryptography."
                      "UnsupportedCryptographicSetException")
# 3.4.4.1 (AcquireLicense) and 3.5.4.2 (GetClientLicensorCert)
INVALID_PERSONA_SIGNATURE = _LICENSING + "InvalidPersonaCertSignatureException"
INVALID_PERSONA_TIME = _LICENSING + "InvalidPersonaCertTimeException"
UNEXPECTED_PERSONA = _LICENSING + "UnexpectedPersonaCertException"
UNTRUSTED_PERSONA = _LICENSING + "UntrustedPersonaCertException"
NO_RIGHTS = _LICENSING + "NoRightsForRequestedPrincipalException"
INVALID_LABEL_SIGNATURE = _LICENSING + "InvalidRightsLabelSignatureException"
LABEL_NOT_IN_TIME = _LICENSING + "IssuanceLicenseIsNotWithinValidTimeRangeException"
LABEL_NO_MATCHING_PRINCIPAL = _LICENSING + "RightsLabelNoMatchingIssuedPrincipalException"
# 3.5.4.1 (AcquireIssuanceLicense)
UNSIGNED_NO_MATCHING_PRINCIPAL = (_LICENSING +
                                  "UnsignedIssuanceLicenseNoMatchingIssuedPrincipalException")
# 3.5.4.1 spells it two ways; rmslab.crypto.enabling_bits took the text's (one name)
ENABLING_BITS_HASH = "Microsoft.DigitalRightsManagement.EnablingBitsHashDoesNotMatchException"
# 3.1.1.1.1 ServerState: serverDecommissioned (3.3.4.1, 3.4.4.1-3.4.4.3, 3.5.4.1, 3.5.4.2,
# 3.7.4.1), onlinePublishingEnabled (3.5.4.1), creationTimeTolerance (3.4.4.1)
CLUSTER_DECOMMISSIONED = "Microsoft.RightsManagementServices.ClusterDecommissionedException"
ONLINE_PUBLISHING_DISABLED = _LICENSING + "OnlinePublishingDisabledException"
CREDENTIAL_CREATION_TIME = _LICENSING + "CredentialCreationTimeException"
# 3.7.4.2 (FindServiceLocationsForUser), and the generic failure of 3.5.4.1
INVALID_OPERATION = "System.InvalidOperationException"
UNSPECIFIED = "Microsoft.DigitalRightsManagement.Utilities.UnspecifiedErrorException"


def persona_exception(exc: VerificationError) -> str:
    """A RAC chain that fails to verify (3.4.4.1, 3.5.4.2): tampered, out of its time,
    not issued by a trusted server, or otherwise wrong."""
    from rmslab.errors import (BadSignatureError, DigestMismatchError, ExpiredError,
                               NotYetValidError, TrustError, WeakAlgorithmError)
    if isinstance(exc, (BadSignatureError, DigestMismatchError)):
        return INVALID_PERSONA_SIGNATURE
    if isinstance(exc, (ExpiredError, NotYetValidError)):
        return INVALID_PERSONA_TIME
    if isinstance(exc, WeakAlgorithmError):
        return UNSUPPORTED_CRYPTO
    if isinstance(exc, TrustError):
        return UNTRUSTED_PERSONA
    return UNEXPECTED_PERSONA


def label_exception(exc: VerificationError) -> str:
    """A publishing license chain that fails to verify (3.4.4.1)."""
    from rmslab.errors import ExpiredError, NotYetValidError
    if isinstance(exc, (ExpiredError, NotYetValidError)):
        return LABEL_NOT_IN_TIME
    return INVALID_LABEL_SIGNATURE


#: Refusals raised by the lab's issuing functions, per operation: (operation, error
#: class, rule ID or None for any, words the reason holds or "" for any) → exception.
#: The first row that matches wins.
_REFUSALS: tuple[tuple[str, type[RmslabError], str | None, str, str], ...] = (
    ("*", RefusedError, "E-9", "not an enrolled root certification cluster", UNSPECIFIED),
    ("Certify", RefusedError, "E-9", "is not a user of", AD_ENTRY_SEARCH_FAILED),
    ("Certify", NotEnrolledError, "E-9", "", ARGUMENT_NULL),
    ("Certify", RefusedError, "E-9", "", VERIFY_MACHINE_CHAIN),
    ("GetClientLicensorCert", NotEnrolledError, None, "", ARGUMENT_NULL),
    ("GetClientLicensorCert", RefusedError, "E-9", "", UNTRUSTED_PERSONA),
    ("AcquireLicense", RefusedError, "P-7", "", LABEL_NO_MATCHING_PRINCIPAL),
    ("AcquireLicense", RefusedError, "L-1", "no rights account certificate", UNEXPECTED_PERSONA),
    ("AcquireLicense", RefusedError, "L-1", "no rights", NO_RIGHTS),
)


def exception_for(operation: str, exc: RmslabError) -> str:
    """The exception name MS-RMPR gives ``operation`` for the refusal ``exc``: the one
    the error's class names (``exception_name``, as the enabling-bits errors do), else
    the table's."""
    own = getattr(exc, "exception_name", None)
    if isinstance(own, str) and own:
        return own
    spec_id = getattr(exc, "spec_id", None)
    reason = str(getattr(exc, "reason", exc))
    for name, kind, rule, words, exception in _REFUSALS:
        if (name in ("*", operation) and isinstance(exc, kind)
                and rule in (None, spec_id) and words in reason):
            return exception
    return UNSPECIFIED


#: Faults read back as typed rmslab errors: by exception name, then by rule ID for the
#: operations MS-RMPR gives no exception table (the enrollment service's Enroll).
_BY_NAME: dict[str, type[RmslabError]] = {
    exception_short_name(ARGUMENT_NULL): NotEnrolledError,
    exception_short_name(MALFORMED_VERSION): InputError,
    exception_short_name(UNSUPPORTED_VERSION): InputError,
    exception_short_name(INVALID_OPERATION): InputError,
    exception_short_name(CLUSTER_DECOMMISSIONED): ClusterDecommissionedError,
    exception_short_name(ONLINE_PUBLISHING_DISABLED): OnlinePublishingDisabledError,
    exception_short_name(CREDENTIAL_CREATION_TIME): CredentialCreationTimeError,
}
_BY_RULE: dict[str, type[RefusedError]] = {
    "S-5": TamperedRequestError, "E-4": TamperedRequestError, "S-4": UntrustedSiteError}


def error_for(fault: Fault, *, trace: object | None = None) -> RmslabError:
    """The typed rmslab error for a fault read by a client: every refusal is a
    :class:`RefusedError` (or a subclass) carrying the fault's exception name, reason
    and rule; a fault about the request itself is an :class:`InputError`."""
    name = exception_short_name(fault.exception)
    reason = f"{fault.reason} ({name})" if fault.reason else name
    if fault.code != "Server":
        return InputError(f"the server could not read the request: {fault.string}")
    kind = _BY_NAME.get(name)
    if kind is not None and kind is InputError:
        return InputError(reason)
    refused: type[RefusedError] = RefusedError
    if kind is not None and issubclass(kind, RefusedError):
        refused = kind
    elif fault.spec_id in _BY_RULE:
        refused = _BY_RULE[fault.spec_id]
    error = refused(reason, spec_id=fault.spec_id, trace=trace)
    error.exception = fault.exception  # type: ignore[attr-defined]
    if fault.exception and fault.exception != UNSPECIFIED:
        error.exception_name = fault.exception
    return error
