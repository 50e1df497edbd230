"""Licensing (SPEC L-1, P-7; MS-RMPR 3.4.4.1), trusted publishing domains and trusted user
domains.

A user with a RAC sends the publishing license to a licensing server, which decides as
MS-RMPR 3.4.4.1 AcquireLicense says, in its order:

1. the server is not decommissioned (3.1.1.1.1 serverDecommissioned:
   ClusterDecommissionedException — checked first, so a decommissioned server never
   answers IssuanceLicenseIsNotWithinValidTimeRangeException, as 3.4.4.1 has it) and its
   SLC lets it issue now (3.1.6.2);
2. the RAC verifies up to the root (else InvalidPersonaCertSignatureException), is valid
   now — its issuers are checked at the time they issued (InvalidPersonaCertTimeException)
   —, was issued by a trusted user domain: its issuer's key is among the cluster's
   trustedRacIssuers (UntrustedPersonaCertException), and its key is not in the
   racExclusionPolicy (DrmacIsExcludedException);
3. the publishing license verifies (InvalidRightsLabelSignatureException), with validity
   read at issuance: each certificate of its chain was valid when it issued the document
   below it — content stays licensable after the SLC that published it is renewed and
   expires, and offline content after the author's CLC expires — while the publishing
   license's own VALIDITYTIME, if any, must hold now
   (IssuanceLicenseIsNotWithinValidTimeRangeException);
4. the server opens the content key: it must be the server the license names or hold that
   server's key through a trusted publishing domain (P-7;
   RightsLabelNoMatchingIssuedPrincipalException);
   A Credential-Creation-Time of the RAC, when present, is at most creationTimeTolerance
   after the license's ISSUEDTIME (CredentialCreationTimeException);
5. rights — from the server's published or archived template when the rights data's
   DESCRIPTOR GUID is one of them, the license's own policy ignored; else from the
   license: a member of the super-user group (when enabled) and the owner the license names
   get OWNER whatever the rights list; everyone else gets the rights granted to them, to
   ANYONE, or to a group they belong to — the directory answers as MS-RMPRS 3.5.4.1
   IsPrincipalMemberOf does (L-1; NoRightsForRequestedPrincipalException).

The owner counts only when the rights data — encrypted with the content key, so written by
someone who held it — names the same owner as the signed license: a license re-signed by
someone else around copied encrypted parts cannot make its signer the owner.

The use license seals the content key to the RAC's key, grants what was decided, carries the
cluster's application exclusions as a POLICYLIST (3.4.4.1, 2.2.9.9.7), and is signed with
the cluster key. Every refusal is a :class:`~rmslab.errors.LicenseRefusedError` whose
``exception_name`` is the fault MS-RMPR names.

Trusted publishing domains are exported with a password (PBKDF2-HMAC-SHA256 and
AES-256-GCM) and imported by another cluster; a wrong password imports nothing. Trusted
user domains are another cluster's SLC chain, imported by an administrator.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from rmslab.actors.client import Client
from rmslab.actors.cluster import ApplicationExclusion, Cluster
from rmslab.actors.people import User
from rmslab.crypto.content import rights_data_cipher
from rmslab.crypto.enabling_bits import (ContentKey, EnablingBitsError, EnablingBitsType,
                                         open_content_key, publishing_license_binding,
                                         seal_content_key)
from rmslab.crypto.rsa import PrivateKey, PublicKey
from rmslab.errors import (BadSignatureError, CredentialCreationTimeError,
                           DigestMismatchError, DrmacExcludedError,
                           ExpiredError, InputError, InvalidPersonaCertSignatureError,
                           InvalidPersonaCertTimeError, InvalidRightsLabelSignatureError,
                           IssuanceLicenseTimeError, IssuedOutsideRangeError, LicenseRefusedError,
                           NoMatchingIssuedPrincipalError, NoRightsForPrincipalError,
                           NotConnectedError, NotYetValidError, RefusedError,
                           UnexpectedPersonaCertError, UnsignedDocumentError,
                           UntrustedPersonaCertError, VerificationError, RmslabError,
                           StructureError)
from rmslab.flows._common import (InProcessService, require_not_decommissioned,
                                  require_slc_in_force)
from rmslab.rights import Grant, RevocationRequirement, RightsPolicy
from rmslab.trace import DocumentRef, Trace
from rmslab.trust import VerifiedChains, validate_chain
from rmslab.xrml.document import XrmlDocument
from rmslab.xrml.ids import license_ids
from rmslab.xrml.licenses import (CONTENT_LICENSE_ROOT, UseLicenseRight, use_license_body,
                                  use_license_right)
from rmslab.xrml.model import Principal
from rmslab.xrml.reader import Chain, parse
from rmslab.xrml.writer import Markup, principal_xml, sign

__all__ = ["acquire_use_license", "issue_use_license", "decide_use_license",
           "draw_use_license", "sign_use_license", "LicenseDecision", "LicensingEndpoint",
           "LocalLicensing",
           "read_rights", "read_rights_data", "OpenedRights",
           "export_trusted_publishing_domain", "import_trusted_publishing_domain",
           "trust_user_domain", "distrust_user_domain", "set_super_user_group",
           "exclude_account", "exclude_application", "WrongPasswordError",
           "USE_LICENSE_LIFETIME", "LICENSING_RULE"]

USE_LICENSE_LIFETIME = timedelta(days=30)
#: The rules of AcquireLicense that docs/rules.md does not give an ID (it has L-1 and P-7).
LICENSING_RULE = "MS-RMPR 3.4.4.1"
_PBKDF2_ROUNDS = 200_000
_SIGNATURE_ERRORS = (DigestMismatchError, BadSignatureError, UnsignedDocumentError)
_TIME_ERRORS = (ExpiredError, NotYetValidError, IssuedOutsideRangeError)


class WrongPasswordError(InputError):
    """The password does not open the trusted publishing domain file."""


@dataclass(frozen=True)
class OpenedRights:
    """What a server reads out of a publishing license it can open: the content key (with
    the KeyHeader that names the content cipher), the rights, which key opened it, the
    owner the rights data names (MS-RMPR 2.2.9.8.5.1), and whether the rights data is an
    official rights template (2.2.9.8)."""

    content: ContentKey
    policy: RightsPolicy
    source: str
    owner: str | None
    official_template: bool = False
    #: The GUID in the DESCRIPTOR of the rights data (a template's GUID when the license
    #: was published from one, MS-RMPR 3.4.4.1).
    rights_id: str | None = None

    @property
    def content_key(self) -> bytes:
        return self.content.key


def _server_keys(cluster: Cluster) -> list[tuple[PrivateKey, str]]:
    keys = [(cluster.key, cluster.name)]
    keys.extend((key, f"trusted publishing domain {name}")
                for name, key in cluster.trusted_domains.items())
    return keys


def pl_enabling_bits(publishing_license: XrmlDocument) -> tuple[bytes, EnablingBitsType, str]:
    """The raw ENABLINGBITS of a publishing license's one issued principal, their type,
    and the text their hash is bound to: the ISSUEDPRINCIPALS element less the bits
    (MS-RMPR 2.2.9.7.4, 2.2.9.1.13). :class:`~rmslab.errors.StructureError` when the
    license holds none."""
    value = publishing_license.element.find("BODY/ISSUEDPRINCIPALS/PRINCIPAL/ENABLINGBITS")
    where = publishing_license.position
    if value is None:
        raise StructureError(f"{where}: its issued principal holds no ENABLINGBITS")
    try:
        bits_type = EnablingBitsType.from_attribute(value.get("type", ""))
        raw = base64.b64decode(value.findtext("VALUE") or "", validate=True)
    except (EnablingBitsError, ValueError) as exc:
        raise StructureError(f"{where}: its ENABLINGBITS cannot be read: {exc}") from None
    bound = publishing_license_binding(publishing_license.element_text("BODY/ISSUEDPRINCIPALS"))
    return raw, bits_type, bound


def read_rights_data(cluster: Cluster, publishing_license: XrmlDocument) -> OpenedRights:
    """Open a publishing license with the cluster's key (or a trusted publishing
    domain's): the enabling bits of its issued principal (MS-RMPR 2.2.9.1.13, their hash
    checked), then the rights data under the content key (2.2.9.8).
    :class:`~rmslab.errors.NoMatchingIssuedPrincipalError` (P-7) when none of the keys is
    the principal's; a :class:`LicenseRefusedError` with EnablingBitsHashDoesNotMatch when
    the bits do not hold."""
    principal = publishing_license.principals[0] if publishing_license.principals else None
    for key, source in _server_keys(cluster):
        if principal is None or principal.public_key != key.public:
            continue
        raw, bits_type, bound = pl_enabling_bits(publishing_license)
        try:
            content = open_content_key(raw, key, bound_to=bound, bits_type=bits_type)
        except EnablingBitsError as exc:
            raise LicenseRefusedError(f"the publishing license's enabling bits do not hold: "
                                      f"{exc}", spec_id="P-7",
                                      exception_name=exc.exception_name) from None
        encrypted = publishing_license.element.findtext(
            "BODY/AUTHENTICATEDDATA[@id='Encrypted-Rights-Data']") or ""
        try:
            rights_text = rights_data_cipher(content.key).decrypt(
                base64.b64decode(encrypted, validate=True)).decode("utf-8")
        except (RmslabError, ValueError):
            raise StructureError(f"{publishing_license.position}: its rights data does not "
                                 "decrypt with the content key") from None
        rights_doc = parse(rights_text, source="rights data")[0]
        work = rights_doc.element.find("BODY/WORK")
        if work is None or work.find("RIGHTSGROUP/RIGHTSLIST") is None:
            raise LicenseRefusedError("the rights data lists no rights", spec_id="L-1")
        policy = RightsPolicy.from_work(work, "rights data")
        refresh = publishing_license.element.find("BODY/WORK/CONDITIONLIST/REFRESH")
        revocation = (RevocationRequirement.from_element(refresh, publishing_license.position)
                      if refresh is not None else policy.revocation)
        policy = RightsPolicy(policy.grants, policy.not_after, policy.caching_days, revocation)
        return OpenedRights(content, policy, source, rights_doc.owner,
                            rights_doc.body_type == "Microsoft Official Rights Template",
                            rights_doc.id)
    raise NoMatchingIssuedPrincipalError(
        f"{cluster.name} did not issue this publishing license's CLC and does not trust its "
        "publishing domain: it cannot open the content key", spec_id="P-7")


def read_rights(cluster: Cluster, publishing_license: XrmlDocument) -> tuple[bytes, RightsPolicy, str]:
    """Open a publishing license with the cluster's key (or a trusted domain's): the
    content key, the rights, and which key opened it. :class:`RefusedError` (P-7) when
    none of them can."""
    opened = read_rights_data(cluster, publishing_license)
    return opened.content_key, opened.policy, opened.source


class LicensingEndpoint(Protocol):
    """A licensing service: a cluster in process, or one reached over HTTP
    (:class:`rmslab.service.RemoteLicensingService`)."""

    name: str

    @property
    def server_name(self) -> str: ...

    @property
    def reachable(self) -> bool: ...

    def license(self, protected_chain: str, rac_text: str, *, anchor: PublicKey,
                trace: Trace, to: str) -> str: ...


class LocalLicensing(InProcessService):
    """A cluster's licensing service, called in process."""

    def license(self, protected_chain: str, rac_text: str, *, anchor: PublicKey,
                trace: Trace, to: str) -> str:
        return issue_use_license(self.cluster, protected_chain, rac_text, anchor=anchor,
                                 trace=trace, to=to)


# --- the server's side: AcquireLicense (MS-RMPR 3.4.4.1) ------------------------------------


def _validate(chains: VerifiedChains | None, chain: Chain, anchor: PublicKey,
              now: datetime) -> None:
    """:func:`~rmslab.trust.validate_chain` at ``now``, through the server's cache of
    verified chains when it keeps one (MS-RMPR 3.1.1.1.3): the same checks, the same
    errors."""
    if chains is None:
        validate_chain(chain, anchor, at=now)
    else:
        chains.validate(chain, anchor, at=now)


def _check_account(cluster: Cluster, rac_chain: Chain, anchor: PublicKey, now: datetime,
                   trace: Trace, chains: VerifiedChains | None = None) -> Principal:
    """Step 2: the RAC verifies, is valid now, was issued by a trusted user domain and is
    not excluded. Returns its principal."""
    rac = rac_chain[0]
    what = "the rights account certificate"
    try:
        _validate(chains, rac_chain, anchor, now)
    except _SIGNATURE_ERRORS as exc:
        trace.check("L-1", f"{what} verifies up to the root", False, str(exc))
        raise InvalidPersonaCertSignatureError(f"{what} does not verify: {exc}",
                                               spec_id="L-1") from None
    except _TIME_ERRORS as exc:
        trace.check("L-1", f"{what} is valid now", False, str(exc))
        raise InvalidPersonaCertTimeError(f"{what} is not valid now: {exc}",
                                          spec_id="L-1") from None
    except VerificationError as exc:
        trace.check("L-1", f"{what} verifies up to the root", False, str(exc))
        raise UnexpectedPersonaCertError(f"{what} does not verify: {exc}",
                                         spec_id="L-1") from None
    subject = rac.principals[0] if rac.principals else None
    if rac.kind != "Group-Identity-Credential" or subject is None or not subject.name \
            or subject.public_key is None:
        trace.check("L-1", "the requester presents a rights account certificate", False,
                    f"got a {rac.kind_name}")
        raise UnexpectedPersonaCertError("the request carries no rights account certificate",
                                         spec_id="L-1")
    until = rac.validity.not_after if rac.validity else None
    trace.check("L-1", f"{what} of {subject.name} verifies up to the root and is valid now",
                True, (f"valid until {until:%Y-%m-%d %H:%M} UTC; " if until else "")
                + "each issuer could issue when it did")
    trusted = {t.key: t.source for t in cluster.trusted_rac_issuers}
    issuer_key = rac.issuer_key
    source = trusted.get(issuer_key) if issuer_key is not None else None
    issuer_name = rac.issuer.label if rac.issuer else "?"
    trace.check(LICENSING_RULE, f"the RAC's issuer is a trusted user domain of {cluster.name}",
                source is not None,
                f"issued by {source}" if source else
                f"issued by {issuer_name} (key "
                f"{issuer_key.short_fingerprint if issuer_key else '?'}), which is not among "
                f"its trustedRacIssuers")
    if source is None:
        raise UntrustedPersonaCertError(
            f"{cluster.name} does not trust the user domain that issued the rights account "
            f"certificate of {subject.name} ({issuer_name}): import it as a trusted user "
            "domain first", spec_id=LICENSING_RULE)
    if cluster.rac_exclusions:
        excluded = subject.public_key in cluster.rac_exclusions
        trace.check(LICENSING_RULE, "the RAC's key is not excluded", not excluded,
                    f"key {subject.public_key.short_fingerprint} is "
                    f"{'in' if excluded else 'not in'} the racExclusionPolicy")
        if excluded:
            raise DrmacExcludedError(f"{cluster.name} excludes the rights account certificate "
                                     f"of {subject.name} (key "
                                     f"{subject.public_key.short_fingerprint})",
                                     spec_id=LICENSING_RULE)
    return subject


def _check_publishing_license(chain: Chain, anchor: PublicKey, now: datetime,
                              trace: Trace, chains: VerifiedChains | None = None
                              ) -> XrmlDocument:
    """Step 3: the publishing license verifies, its issuers could issue it when they did,
    and its own VALIDITYTIME holds now."""
    pl = chain[0]
    if pl.kind != "Microsoft Rights Label":
        trace.check("L-1", "the request carries a publishing license", False,
                    f"got a {pl.kind_name}")
        raise LicenseRefusedError(f"the request carries no publishing license but a "
                                  f"{pl.kind_name}", spec_id="L-1")
    validity = pl.validity
    try:
        _validate(chains, chain, anchor, now)
    except _TIME_ERRORS as exc:
        own = exc.index == pl.index and validity is not None and not validity.contains(now)
        trace.check(LICENSING_RULE, "the publishing license is within its VALIDITYTIME now"
                    if own else "each issuer of the publishing license could issue when it "
                                "did", False, str(exc))
        raise IssuanceLicenseTimeError(
            f"the publishing license is not within its valid time range: {exc}",
            spec_id=LICENSING_RULE) from None
    except VerificationError as exc:
        trace.check("L-1", "the publishing license verifies up to the root", False, str(exc))
        raise InvalidRightsLabelSignatureError(f"the publishing license does not verify: {exc}",
                                               spec_id="L-1") from None
    issued = f"{pl.issued:%Y-%m-%d %H:%M} UTC" if pl.issued else "?"
    trace.check("L-1", "the publishing license verifies up to the root", True,
                f"issued {issued}; each issuer's ISSUE right covered the time it issued "
                "(MS-RMPR 3.1.6.2)")
    if validity is not None:
        trace.check(LICENSING_RULE, "the publishing license is within its VALIDITYTIME now",
                    True, f"until {validity.not_after:%Y-%m-%d %H:%M} UTC"
                    if validity.not_after else "no end")
    return pl


def _check_creation_time(cluster: Cluster, rac: XrmlDocument, pl: XrmlDocument,
                         trace: Trace) -> None:
    """MS-RMPR 3.4.4.1: a RAC whose Credential-Creation-Time SECURITYLEVEL is later than
    the publishing license's ISSUEDTIME by more than creationTimeTolerance is refused
    (CredentialCreationTimeException) — an account created after the content was
    published may be a reused name. The RACs a real server writes carry no such level
    (MS-RMPR 2.2.9.5.4), nor do the lab's: it is read only when present."""
    level = rac.element.find("BODY/ISSUEDPRINCIPALS/PRINCIPAL/"
                             "SECURITYLEVEL[@name='Credential-Creation-Time']")
    if level is None:
        return
    from rmslab.xrml.model import parse_time
    value = level.get("value", "")
    try:
        created = parse_time(value, rac.position)
    except RmslabError:
        created = None
    if created is None:
        trace.check(LICENSING_RULE, "the RAC's Credential-Creation-Time can be read", False,
                    f"{value[:40]!r} is not a time")
        raise UnexpectedPersonaCertError(f"the RAC's Credential-Creation-Time {value[:40]!r} "
                                         "is not a time", spec_id=LICENSING_RULE)
    issued = pl.issued
    late = issued is not None and created - issued > cluster.creation_time_tolerance
    trace.check(LICENSING_RULE, "the account was created before the publishing license was "
                                "issued, or within creationTimeTolerance of it", not late,
                f"created {created:%Y-%m-%d %H:%M} UTC, the license issued "
                f"{issued:%Y-%m-%d %H:%M} UTC" if issued else "the license states no time")
    if late:
        raise CredentialCreationTimeError(
            f"the account was created {created:%Y-%m-%d %H:%M} UTC, more than "
            f"{cluster.creation_time_tolerance.days} days after the publishing license was "
            "issued (creationTimeTolerance)", spec_id=LICENSING_RULE)


def _template_policy(cluster: Cluster, opened: OpenedRights, trace: Trace) -> OpenedRights:
    """MS-RMPR 3.4.4.1: when the GUID in the DESCRIPTOR of the rights data is the GUID of a
    template in publishedTemplates or archivedTemplates, the server ignores the policy in
    the publishing license and licenses from the template — how an administrator changes
    the rights of everything published from it. A template removed altogether no longer
    overrides."""
    wanted = (opened.rights_id or "").strip("{}").lower()
    if not wanted:
        return opened
    from rmslab.flows.publishing import policy_from_template
    for where, templates in (("published", cluster.templates),
                             ("archived", cluster.archived_templates)):
        for name, text in sorted(templates.items()):
            if (parse(text)[0].id or "").strip("{}").lower() != wanted:
                continue
            policy = policy_from_template(text)
            trace.check(LICENSING_RULE, f"the rights come from {cluster.name}'s {where} "
                                        f"template {name}", True,
                        f"the license was published from template {opened.rights_id}: its "
                        "policy in the license is ignored; "
                        + "; ".join(policy.describe()))
            return OpenedRights(opened.content, policy, opened.source, opened.owner,
                                opened.official_template, opened.rights_id)
    return opened


def _confirmed_owner(pl: XrmlDocument, opened: OpenedRights) -> str | None:
    """The owner the publishing license names, if its rights data names the same one —
    or, when the rights data is an official template (which names no owner), if the
    license was signed offline by the owner's own CLC: otherwise a license re-signed
    around another's template rights could make anyone its owner."""
    if not pl.owner:
        return None
    claimed = pl.owner.strip().lower()
    if opened.owner:
        return pl.owner.strip() if opened.owner.strip().lower() == claimed else None
    signer = pl.issuer
    if (opened.official_template and signer is not None
            and signer.object_type == "Group-Identity"
            and (signer.name or "").strip().lower() == claimed):
        return pl.owner.strip()
    return None


def _member_of(cluster: Cluster, email: str) -> Callable[[str], bool] | None:
    """How the cluster asks whether ``email`` belongs to a group (MS-RMPRS 3.5.4.1)."""
    directory = cluster.directory
    if directory is None:
        return None
    return lambda group: directory.is_principal_member_of(email, [group])


def _decide_rights(cluster: Cluster, pl: XrmlDocument, opened: OpenedRights, email: str,
                   trace: Trace) -> tuple[Grant, ...]:
    """Step 5: OWNER for a super-user or the owner; else the grants for the user, ANYONE
    or the user's groups — rewritten for the user, whom every right of a use license is
    for (MS-RMPR 2.2.9.9.3)."""
    member_of = _member_of(cluster, email)
    group = cluster.super_user_group
    if cluster.super_user_enabled and group and member_of is not None and member_of(group):
        # recorded only when it grants: not being a super-user is no failure
        trace.check(LICENSING_RULE, f"{email} is a super-user of {cluster.name}", True,
                    f"a member of the super-user group {group}: OWNER, whatever the rights list")
        return (Grant(email, ("OWNER",)),)
    owner = _confirmed_owner(pl, opened)
    if pl.owner and pl.owner.strip().lower() == email.lower():
        trace.check(LICENSING_RULE, f"{email} is the owner the publishing license names",
                    owner is not None,
                    "OWNER, whatever the rights list" if owner else
                    f"the rights data names {opened.owner or 'no owner'}: the claim is not "
                    "honoured")
        if owner is not None:
            return (Grant(email, ("OWNER",)),)
    granted: list[Grant] = []
    for grant in opened.policy.grants:
        if grant.applies_to(email):
            granted.append(grant)
        elif member_of is not None and grant.applies_to(email, member_of):
            trace.check(LICENSING_RULE, f"{email} is a member of the group {grant.user}", True,
                        "the directory says so (IsPrincipalMemberOf, MS-RMPRS 3.5.4.1)")
            granted.append(Grant(email, grant.rights, grant.not_before, grant.not_after))
    return tuple(granted)


def _as_written(grants: tuple[Grant, ...]) -> tuple[str, ...]:
    """The rights the grants write, each once, in order (OWNER stays OWNER)."""
    written: list[str] = []
    for grant in grants:
        written.extend(r for r in grant.rights if r not in written)
    return tuple(written)


@dataclass(frozen=True)
class LicenseDecision:
    """What AcquireLicense decided (MS-RMPR 3.4.4.1, steps 1–5) before anything is drawn
    from the lab: the publishing license, the RAC, what the server opened of the license,
    the grants, the rights as the use license writes them, and the account they are for.
    A value: decided on one copy of the servers' state, it can be written with another
    copy of the same state."""

    publishing_license: XrmlDocument
    rac: XrmlDocument
    opened: OpenedRights
    granted: tuple[Grant, ...]
    rights: tuple[str, ...]
    email: str
    account_key: PublicKey


def issue_use_license(cluster: Cluster, protected_chain: str, rac_text: str, *,
                      anchor: PublicKey, trace: Trace, to: str,
                      chains: VerifiedChains | None = None) -> str:
    """The server's side of licensing, AcquireLicense (L-1, P-7; MS-RMPR 3.4.4.1): every
    check of the module docstring in its order, then a use license granting what was
    decided, the content key sealed to the RAC's key, signed with the cluster key. Returns
    the use license followed by the cluster's SLC chain; ``to`` names the requester in the
    Trace. A refusal raises a :class:`~rmslab.errors.LicenseRefusedError` (or
    :class:`~rmslab.errors.SlcExpiredError`) carrying the Trace. ``chains``: the server's
    cache of verified chains (MS-RMPR 3.1.1.1.3), if it keeps one.

    The three steps are :func:`decide_use_license` (no draw from the lab),
    :func:`draw_use_license` (the license's GUID and the padding of its sealed keys: the
    only step that changes the lab) and :func:`sign_use_license`; a server runs the first
    and the last outside its lab's write lock."""
    decision = decide_use_license(cluster, protected_chain, rac_text, anchor=anchor,
                                  trace=trace, chains=chains)
    body = draw_use_license(cluster, decision)
    return sign_use_license(cluster, decision, body, trace=trace, to=to)


def decide_use_license(cluster: Cluster, protected_chain: str, rac_text: str, *,
                       anchor: PublicKey, trace: Trace,
                       chains: VerifiedChains | None = None) -> LicenseDecision:
    """Steps 1–5 of AcquireLicense (module docstring), each check recorded in ``trace``:
    what the use license will grant, or a refusal (a
    :class:`~rmslab.errors.LicenseRefusedError` or
    :class:`~rmslab.errors.SlcExpiredError` carrying the Trace). Reads the lab's clock and
    draws nothing from it."""
    lab = cluster.lab
    now = lab.now()
    parse_chain = chains.parse if chains is not None else parse
    chain = parse_chain(protected_chain, source="publishing license")
    license_ids(chain[0])  # GUIDs, or refused before any use
    rac_chain = parse_chain(rac_text, source="rights account certificate")
    try:
        require_not_decommissioned(cluster, trace, "AcquireLicense")
        require_slc_in_force(cluster, trace, "a use license")
        subject = _check_account(cluster, rac_chain, anchor, now, trace, chains)
        email = subject.name
        assert email is not None and subject.public_key is not None
        pl = _check_publishing_license(chain, anchor, now, trace, chains)
        try:
            opened = read_rights_data(cluster, pl)
        except RefusedError as exc:
            trace.check("P-7", f"{cluster.name} may license this content", False,
                        "it did not issue the CLC and does not trust the publishing domain"
                        if isinstance(exc, NoMatchingIssuedPrincipalError) else exc.reason)
            raise
        trace.check("P-7", f"{cluster.name} may license this content", True,
                    f"the content key opens with the key of {opened.source}")
        _check_creation_time(cluster, rac_chain[0], pl, trace)
        opened = _template_policy(cluster, opened, trace)
        granted = _decide_rights(cluster, pl, opened, email, trace)
        rights = _as_written(granted)
        trace.check("L-1", f"the publishing license gives {email} rights", bool(rights),
                    ", ".join(rights) if rights else "it names no right for this user")
        if not rights:
            raise NoRightsForPrincipalError(f"the publishing license gives {email} no rights",
                                            spec_id="L-1")
    except RefusedError as exc:
        exc.trace = trace
        raise
    return LicenseDecision(pl, rac_chain[0], opened, granted, rights, email,
                           subject.public_key)


def draw_use_license(cluster: Cluster, decision: LicenseDecision) -> str:
    """The BODY of the use license ``decision`` grants (:func:`_use_license_body`), not
    yet signed: the step that draws from the lab — the license's GUID and the random
    padding of each sealed content key — and nothing else."""
    return _use_license_body(cluster, decision.publishing_license, decision.rac,
                             decision.opened, decision.granted)


def sign_use_license(cluster: Cluster, decision: LicenseDecision, body: str, *,
                     trace: Trace, to: str) -> str:
    """The use license: ``body`` signed with the cluster key (MS-RMPR 2.2.9.9), the step
    recorded in ``trace``; followed by the cluster's SLC chain."""
    exclusions = cluster.application_exclusions
    if exclusions:
        trace.check(LICENSING_RULE, "the use license carries the application exclusions", True,
                    "; ".join(str(e) for e in exclusions))
    use_license = sign(body, cluster.key, cluster.lab.digest_algorithm,
                       root_attributes=CONTENT_LICENSE_ROOT)
    assert cluster.slc_text is not None
    described = ", ".join(decision.rights)
    trace.step(cluster.first_server.name, f"issues a use license granting {described}",
               to, documents=[DocumentRef("use license", use_license, "Content-License")],
               keys=[f"content key sealed to {decision.email}'s account key "
                     f"{decision.account_key.short_fingerprint}, once per right",
                     f"signed with the cluster key {cluster.key.public.short_fingerprint}"])
    return use_license + cluster.slc_text


def _use_license_body(cluster: Cluster, pl: XrmlDocument, rac: XrmlDocument,
                      opened: OpenedRights, granted: tuple[Grant, ...]) -> str:
    """The use license (MS-RMPR 2.2.9.9, 3.4.4.1): ISSUER the cluster's SLC principal;
    ISSUEDPRINCIPALS the RAC's principal copied verbatim; Referral-Info and OWNER copied
    from the publishing license, and its revocation point; one RIGHT per right granted —
    only OWNER for the owner or a super-user — each with the content key sealed to the
    RAC's key and bound to this ISSUER, and its time: from now (or the grant's start)
    until the grant's end or the end of the license's lifetime, whichever comes first, and
    the caching interval in days; the application exclusions as a POLICYLIST. Not yet
    signed."""
    lab = cluster.lab
    now = lab.now()
    bits_type = EnablingBitsType.for_mode(lab.mode)
    issuer = principal_xml(cluster.principal, tag="ISSUER")
    account = rac.principals[0].public_key
    assert account is not None
    policy = opened.policy
    lifetime = (timedelta(days=policy.caching_days) if policy.caching_days is not None
                else USE_LICENSE_LIFETIME)
    rights: list[Markup] = []
    for right, grant in _rights_written(granted):
        start = max(grant.not_before, now) if grant.not_before else now
        ends = [t for t in (grant.not_after, policy.not_after, now + lifetime) if t is not None]
        spec = UseLicenseRight(right, start, min(ends), policy.caching_days)
        bits = seal_content_key(opened.content.key, opened.content.cipher, to=account,
                                bound_to=issuer, bits_type=bits_type, random=lab.random_bytes)
        rights.append(use_license_right(spec, bits, bits_type))
    refresh = pl.element.find("BODY/WORK/CONDITIONLIST")
    revocation: Markup | None = None
    if refresh is not None and refresh.find("REFRESH") is not None:
        revocation = Markup(pl.element_text(refresh))
    elif policy.revocation is not None:
        revocation = policy.revocation_xml()
    referral = next((Markup(pl.element_text(p)) for p in pl.element.iterfind(
        "BODY/DISTRIBUTIONPOINT") if p.find("OBJECT[@type='Referral-Info']") is not None), None)
    metadata = pl.element.find("BODY/WORK/METADATA")
    body = use_license_body(
        id=lab.guid("license"), issued=now, issuer=issuer,
        holder=Markup(rac.element_text("BODY/ISSUEDPRINCIPALS/PRINCIPAL")),
        referral=referral, content_id=pl.content_id or "",
        owner=Markup(pl.element_text(metadata)) if metadata is not None else None,
        revocation=revocation, rights=rights,
        exclusions=tuple((e.filename, e.minimum_version, e.maximum_version)
                         for e in cluster.application_exclusions))
    return body


def _rights_written(grants: tuple[Grant, ...]) -> list[tuple[str, Grant]]:
    """Each right the grants give, once, with the grant that gives it (OWNER stays
    OWNER: a use license for the owner holds that one right, MS-RMPR 2.2.9.9.6)."""
    written: dict[str, Grant] = {}
    for grant in grants:
        for right in grant.rights:
            written.setdefault(right, grant)
    if "OWNER" in written:
        return [("OWNER", written["OWNER"])]
    return list(written.items())


def acquire_use_license(licensing: Cluster | LicensingEndpoint, client: Client, user: User,
                        protected_chain: str, *, anchor: PublicKey) -> tuple[str, Trace]:
    """The client asks a licensing service — a cluster, or one reached over HTTP — for a use
    license for the content whose license chain is ``protected_chain`` (L-1, P-7). The
    license goes into the user's store."""
    endpoint = LocalLicensing(licensing) if isinstance(licensing, Cluster) else licensing
    trace = Trace(f"{user.email} asks {endpoint.name} for a use license")
    account = client.account(user.name)
    pl = parse(protected_chain, source="publishing license")[0]
    content_id, _ = license_ids(pl)  # a GUID, or refused before it names anything
    trace.step(client.name, "sends the publishing license and the rights account certificate",
               endpoint.server_name,
               documents=[DocumentRef("publishing license", pl.text, pl.kind),
                          DocumentRef("rights account certificate", account.rac.text,
                                      account.rac.kind)])
    if not (client.connected and endpoint.reachable):
        trace.check("L-1", f"{endpoint.name} is reachable", False)
        raise NotConnectedError(f"{client.name} cannot reach {endpoint.name}", spec_id="L-1",
                                trace=trace)
    use_license = endpoint.license(protected_chain, account.rac_text, anchor=anchor,
                                   trace=trace, to=client.name)
    account.licenses[content_id] = use_license
    return use_license, trace


# --- trusted publishing domains ----------------------------------------------------------------


def export_trusted_publishing_domain(cluster: Cluster, password: str) -> bytes:
    """The cluster's key and SLC, protected with ``password``."""
    if len(password) < 8:
        raise InputError("a trusted publishing domain password needs at least 8 characters")
    salt, nonce = cluster.lab.random_bytes(16, "tpd"), cluster.lab.random_bytes(12, "tpd")
    payload = json.dumps({"name": cluster.name, "key": cluster.key.to_pem().decode(),
                          "slc": cluster.slc_text}).encode()
    data = AESGCM(_derive(password, salt)).encrypt(nonce, payload, b"rmslab-tpd-1")
    return json.dumps({"format": "rmslab-tpd-1", "kdf": "PBKDF2-HMAC-SHA256",
                       "rounds": _PBKDF2_ROUNDS, "salt": base64.b64encode(salt).decode(),
                       "nonce": base64.b64encode(nonce).decode(),
                       "data": base64.b64encode(data).decode()}, indent=1).encode()


def _derive(password: str, salt: bytes, rounds: int = _PBKDF2_ROUNDS) -> bytes:
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=rounds)
    return kdf.derive(password.encode("utf-8"))


def import_trusted_publishing_domain(cluster: Cluster, exported: bytes, password: str) -> str:
    """Import a trusted publishing domain; returns its name. A wrong password raises
    :class:`WrongPasswordError` and imports nothing."""
    try:
        outer = json.loads(exported)
        salt = base64.b64decode(outer["salt"])
        nonce = base64.b64decode(outer["nonce"])
        data = base64.b64decode(outer["data"])
        rounds = int(outer["rounds"])
    except (ValueError, KeyError, TypeError):
        raise InputError("not a trusted publishing domain export") from None
    try:
        payload = AESGCM(_derive(password, salt, rounds)).decrypt(nonce, data, b"rmslab-tpd-1")
    except InvalidTag:
        raise WrongPasswordError("the password does not open this trusted publishing domain; "
                                 "nothing was imported") from None
    inner = json.loads(payload)
    key = PrivateKey.from_pem(inner["key"].encode())
    cluster.trusted_domains[inner["name"]] = key
    return str(inner["name"])



# --- trusted user domains and the other licensing policies (MS-RMPR 3.1.1.1.1) -------------


def _own_anchor(cluster: Cluster) -> PublicKey:
    """The root key the cluster's own SLC chain ends at."""
    chain = cluster.slc_chain
    key = chain[len(chain) - 1].issuer_key
    assert key is not None
    return key


def trust_user_domain(cluster: Cluster, slc_chain: str, *, name: str | None = None,
                      anchor: PublicKey | None = None) -> Trace:
    """An administrator imports another cluster's SLC chain as a trusted user domain: the
    RACs that cluster issues are then licensed here (trustedRacIssuers, MS-RMPR 3.1.1.1.1
    and 3.4.4.1). The chain must verify up to ``anchor`` (by default the root the
    cluster's own SLC chain ends at) with validity at issuance. ``name`` defaults to the
    SLC's server name. Returns the Trace; a chain that is not an SLC, does not verify or
    is the cluster's own is refused and nothing changes."""
    trace = Trace(f"{cluster.name} imports a trusted user domain")
    chain = parse(slc_chain, source="trusted user domain")
    slc = chain[0]
    subject = slc.principals[0] if slc.principals else None
    domain = (name or (subject.name if subject else None)
              or (urlsplit(subject.url).hostname if subject and subject.url else None)
              or "").strip()
    trace.step(cluster.first_server.name, "imports an SLC chain as a trusted user domain",
               documents=[DocumentRef("server licensor certificate", slc.text, slc.kind)])
    try:
        if slc.kind != "Server-Licensor-Certificate" or subject is None \
                or subject.public_key is None:
            raise RefusedError(f"a trusted user domain is imported from a server licensor "
                               f"certificate, not a {slc.kind_name}", spec_id=LICENSING_RULE)
        if not domain:
            raise RefusedError("the SLC names no server: give the trusted user domain a name",
                               spec_id=LICENSING_RULE)
        if subject.public_key == cluster.key.public:
            raise RefusedError(f"this is {cluster.name}'s own SLC: its RACs are trusted "
                               "already", spec_id=LICENSING_RULE)
        try:
            validate_chain(chain, anchor or _own_anchor(cluster), at=cluster.lab.now())
        except VerificationError as exc:
            raise RefusedError(f"the SLC chain of {domain} does not verify: {exc}",
                               spec_id=LICENSING_RULE) from None
    except RefusedError as exc:
        trace.check(LICENSING_RULE, "the SLC chain can be trusted as a user domain", False,
                    exc.reason)
        exc.trace = trace
        raise
    cluster.trusted_user_domains[domain] = slc_chain
    trace.check(LICENSING_RULE, f"{domain} is a trusted user domain of {cluster.name}", True,
                f"RACs issued with key {subject.public_key.short_fingerprint} are licensed "
                "(trustedRacIssuers)")
    return trace


def distrust_user_domain(cluster: Cluster, name: str) -> Trace:
    """An administrator removes a trusted user domain: its RACs are refused from now on
    (UntrustedPersonaCertException)."""
    trace = Trace(f"{cluster.name} removes the trusted user domain {name}")
    removed = cluster.trusted_user_domains.pop(name, None)
    trace.step(cluster.first_server.name, f"removes the trusted user domain {name}")
    trace.check(LICENSING_RULE, f"{name} was a trusted user domain of {cluster.name}",
                removed is not None,
                "its RACs are no longer licensed" if removed is not None else
                f"its trusted user domains are {', '.join(sorted(cluster.trusted_user_domains)) or 'none'}")
    if removed is None:
        raise RefusedError(f"{cluster.name} has no trusted user domain {name!r}",
                           spec_id=LICENSING_RULE, trace=trace)
    return trace


def set_super_user_group(cluster: Cluster, group: str | None) -> Trace:
    """Enable the super-user group (the e-mail address of a directory group whose members
    get OWNER on every use license the cluster issues, MS-RMPR 3.4.4.1), or disable it with
    None."""
    trace = Trace(f"{cluster.name} {'sets its super-user group' if group else 'disables super-users'}")
    if group is not None and "@" not in group:
        raise InputError(f"the super-user group is named by its e-mail address, not {group!r}")
    cluster.super_user_enabled = group is not None
    cluster.super_user_group = group
    trace.step(cluster.first_server.name,
               f"superUserEnabled={cluster.super_user_enabled}, superUserGroup={group or '-'}")
    return trace


def exclude_account(cluster: Cluster, account_key: PublicKey) -> Trace:
    """Add a RAC key to the racExclusionPolicy: the cluster licenses it no more
    (DrmacIsExcludedException, MS-RMPR 3.4.4.1)."""
    trace = Trace(f"{cluster.name} excludes a rights account certificate")
    if account_key not in cluster.rac_exclusions:
        cluster.rac_exclusions.append(account_key)
    trace.step(cluster.first_server.name, "adds a key to the racExclusionPolicy",
               keys=[f"excluded RAC key {account_key.short_fingerprint}"])
    return trace


def exclude_application(cluster: Cluster, exclusion: ApplicationExclusion) -> Trace:
    """Add an entry to the applicationExclusionPolicy: every use license the cluster issues
    from now on carries it as a POLICY of a POLICYLIST of type "exclusion" (MS-RMPR
    3.4.4.1, 2.2.9.9.8)."""
    trace = Trace(f"{cluster.name} excludes {exclusion}")
    if exclusion not in cluster.application_exclusions:
        cluster.application_exclusions.append(exclusion)
    trace.step(cluster.first_server.name, f"adds {exclusion} to the applicationExclusionPolicy")
    return trace
