"""Certifying clients: machine activation, account certification (RAC) and client
enrollment (CLC) (SPEC E-7, E-8, E-9; MS-RMPR 3.3.4.1, 3.5.4.2, 3.8.4.1).

Machine activation is the client's alone (MS-RMPR 2.2.9.2, 3.8.3.1, 3.8.4.1: version 1
SP1 and later clients "activate themselves without contacting a server"): the RMS client
generates its security processor key, writes its SPC (2.2.9.4), signs it with the Trusted
SPC Issuer private key it ships with, and appends the Trusted SPC Issuer chain
(:func:`activate_machine`). No cluster signs machine certificates.

Account certification (Certify, 3.3.4.1) is served by the root certification cluster:
the user is authenticated by the domain, the SPC chain must verify up to a key in the
cluster's ``trustedSpcCAKeys`` (else ``VerifyMachineCertificateChainFailedException``),
and the RAC (2.2.9.5) names the user by SID, is valid for ``racValidityTime`` (or
``tempRacValidityTime``) from its ISSUEDTIME less ``certificateValidityTimeTolerance``,
and carries the RAC private key in FEDERATIONPRINCIPALS, sealed to the SPC key.

Client enrollment (GetClientLicensorCert, 3.5.4.2) is served by every cluster: the RAC
presented must pass the checks AcquireLicense makes (its chain, its time, a trusted user
domain, no exclusion), and the CLC (2.2.9.6) is issued to the principal of that RAC — its
OBJECT copied, its RANGETIME the RAC's VALIDITYTIME — with the CLC private key sealed to
the RAC key, and both License-Acquisition points.

Sealed keys are ENABLINGBITS exactly as MS-RMPR 2.2.9.1.13 gives them
(:mod:`rmslab.crypto.enabling_bits`), of the type the cryptographic mode gives
(``sealed-key`` in mode 1, ``sealed-key-v2`` in mode 2, 3.1.4.7), bound to the
certificate's own ISSUER.

User keys (MS-RMPR 3.1.1.3.4 GetUserKeyPair, 3.1.1.3.5 SetUserKeyPair): the server
retrieves or generates a user's key pair and keeps it, by the user's SID (3.3.4.1). A
lab's keys are derived from its seed and a label (:meth:`rmslab.lab.Lab.key`), and the
seed is no secret, so a user key's label is an HMAC, under the issuing cluster's private
key, of what the key is for and the user's identity (:func:`user_key`): the same key every
time the cluster is asked — as if kept — and no one without the cluster's key can derive
it.

What the lab cannot fill truthfully it fills the way a real deployment would, and says
so: the SPC's hardware-ID digest is the hash of a stated machine identity (the lab's seed
and the computer's name — :func:`machine_identity`), not of any hardware; its Platform,
Manufacturer and Repository name rmslab's stand-in security processor.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Protocol

from rmslab.actors.client import Account, Client
from rmslab.actors.cluster import ROOT, Cluster
from rmslab.actors.people import Directory, User
from rmslab.crypto.enabling_bits import EnablingBitsType, seal_private_key
from rmslab.crypto.rsa import PrivateKey
from rmslab.errors import (InputError, NotConnectedError, NotEnrolledError, RefusedError,
                           VerificationError)
from rmslab.flows._common import (InProcessService, log_request, refuse_and_log,
                                  require_not_decommissioned, require_slc_in_force)
from rmslab.trace import DocumentRef, Trace
from rmslab.trust import validate_chain
from rmslab.xrml.certificates import (clc_body, issuer_from_principal_text, rac_body,
                                      spc_body)
from rmslab.xrml.document import XrmlDocument
from rmslab.xrml.model import Principal
from rmslab.xrml.reader import Chain, parse
from rmslab.xrml.writer import sign

__all__ = ["activate_machine", "certify_account", "enroll_client", "CertificationEndpoint",
           "LocalCertification", "issue_account_certificate",
           "issue_client_licensor_certificate", "verify_spc_chain", "RAC_STANDARD",
           "RAC_TEMPORARY", "user_key", "machine_identity", "SECURITY_PROCESSOR",
           "VERIFY_MACHINE_CHAIN"]

RAC_STANDARD = timedelta(days=365)
RAC_TEMPORARY = timedelta(minutes=15)

#: What the lab's security processor writes in an SPC's Platform, Manufacturer and
#: Repository SECURITYLEVELs (MS-RMPR 2.2.9.4.4): rmslab's, said so — a real client names
#: Microsoft's DLL and versions there.
SECURITY_PROCESSOR = {
    "Platform": "2.6.1.0",
    "Manufacturer": "rmslab lab security processor 1.0 (not a Microsoft RMS client)",
    "Repository": "rmslab lab secure repository 1.0",
}

#: Certify's fault for an SPC chain that does not verify (MS-RMPR 3.3.4.1).
VERIFY_MACHINE_CHAIN = ("Microsoft.DigitalRightsManagement.Core."
                        "VerifyMachineCertificateChainFailedException")


class CertificationEndpoint(Protocol):
    """A cluster's certification services: in process (:class:`LocalCertification`), or
    reached over HTTP (:class:`rmslab.service.RemoteCertificationService`). Each method is
    one request and returns the certificate followed by the cluster's SLC chain."""

    name: str

    @property
    def server_name(self) -> str: ...

    @property
    def reachable(self) -> bool: ...

    def certify_account(self, user: User, machine_certificate: str | None, *,
                        temporary: bool, trace: Trace) -> str: ...

    def enroll_client(self, user: User, machine: str, rac: str | None, *,
                      trace: Trace) -> str: ...


class LocalCertification(InProcessService):
    """A cluster's certification services, called in process; ``directory``
    authenticates the users who ask for account certificates."""

    def __init__(self, cluster: Cluster, directory: Directory | None = None) -> None:
        super().__init__(cluster)
        self.directory = directory

    def certify_account(self, user: User, machine_certificate: str | None, *,
                        temporary: bool, trace: Trace) -> str:
        if self.directory is None:
            raise ValueError("account certification needs the directory that "
                             "authenticates users")
        return issue_account_certificate(self.cluster, self.directory, user,
                                         machine_certificate, temporary=temporary, trace=trace)

    def enroll_client(self, user: User, machine: str, rac: str | None, *,
                      trace: Trace) -> str:
        return issue_client_licensor_certificate(self.cluster, user, machine, rac, trace=trace)


def _endpoint(certification: Cluster | CertificationEndpoint,
              directory: Directory | None = None) -> CertificationEndpoint:
    if isinstance(certification, Cluster):
        return LocalCertification(certification, directory)
    return certification


# --- the server's side -------------------------------------------------------------------


def user_key(cluster: Cluster, purpose: str, identity: str) -> PrivateKey:
    """The key pair ``cluster`` keeps for ``identity`` (a user's SID, or an e-mail address
    for a user the directory gives none) for ``purpose`` ("account" for RACs, "clc" for
    CLCs) — MS-RMPR 3.1.1.3.4 GetUserKeyPair. Derived from the lab's seed under a label
    that is an HMAC-SHA256, keyed with the cluster's private key, of the purpose and the
    identity: the cluster gets the same key each time, and nobody who lacks the cluster's
    key can derive it from the user's name."""
    secret = cluster.key.to_der()
    tag = hmac.new(secret, f"{purpose}\x00{identity.lower()}".encode("utf-8"),
                   hashlib.sha256).hexdigest()
    return cluster.lab.key(f"{purpose}:{tag}")


def _require_in_force(cluster: Cluster, trace: Trace, kind: str, requester: str,
                      subject: str, *, root: bool) -> None:
    """Only a cluster in normal operation answers (MS-RMPR 3.3.4.1, 3.5.4.2:
    ClusterDecommissionedException), only an enrolled cluster issues — for account
    certification, only the root certification cluster (E-9) — and only while its SLC
    lets it issue (MS-RMPR 3.1.6.2); a refusal is logged (E-8)."""
    operation = "Certify" if kind == "account-certification" else "GetClientLicensorCert"
    try:
        require_not_decommissioned(cluster, trace, operation)
    except RefusedError as exc:
        raise refuse_and_log(cluster, trace, exc, kind=kind, requester=requester,
                             subject=subject, channel="online") from None
    if root and (cluster.role != ROOT or not cluster.enrolled):
        raise refuse_and_log(cluster, trace, RefusedError(
            f"{cluster.name} is not an enrolled root certification cluster", spec_id="E-9"),
            kind=kind, requester=requester, subject=subject, channel="online")
    try:
        require_slc_in_force(cluster, trace, _WHAT[kind])
    except RefusedError as exc:
        raise refuse_and_log(cluster, trace, exc, kind=kind, requester=requester,
                             subject=subject, channel="online") from None


_WHAT = {"account-certification": "a rights account certificate",
         "client-enrollment": "a client licensor certificate"}


def verify_spc_chain(cluster: Cluster, spc_chain_text: str, trace: Trace) -> XrmlDocument:
    """Certify's check of the SPC chain (MS-RMPR 3.3.4.1): the first document is an SPC,
    and the signatures verify from it up to a key in the cluster's ``trustedSpcCAKeys``
    that is the key of the first or second certificate after the SPC. Returns the SPC;
    raises :class:`~rmslab.errors.RefusedError` named
    ``VerifyMachineCertificateChainFailedException`` otherwise."""
    now = cluster.lab.now()
    problem = ""
    spc: XrmlDocument | None = None
    try:
        chain: Chain = parse(spc_chain_text, source="SPC chain")
        spc = chain[0]
        if spc.kind != "Machine-Certificate":
            raise InputError(f"it starts with a {spc.kind_name}, not a machine certificate")
        followers = list(chain)[1:3]
        trusted = [key for key in cluster.trusted_spc_ca_keys
                   if any(d.certifies(key) for d in followers)]
        if not trusted:
            problem = ("neither of the two certificates after the SPC certifies a key in "
                       f"{cluster.name}'s trustedSpcCAKeys")
        else:
            validate_chain(chain, trusted[0], at=now)
    except (InputError, VerificationError) as exc:
        problem = str(exc)
    trace.check("E-9", "the machine certificate chain verifies up to a trusted security "
                       "processor CA key (MS-RMPR 3.3.4.1 trustedSpcCAKeys)",
                not problem, problem or "the SPC issuer chain is one this cluster trusts")
    if problem or spc is None:
        raise RefusedError(f"the machine certificate chain does not verify: {problem}",
                           spec_id="E-9", exception_name=VERIFY_MACHINE_CHAIN)
    return spc


def _spc_levels(spc: XrmlDocument) -> list[str]:
    """The exact texts of the SPC principal's Manufacturer, Platform and Repository
    SECURITYLEVELs, in the order the real RAC copies them (corpus: Manufacturer,
    Platform, Repository)."""
    principal = spc.element.find("BODY/ISSUEDPRINCIPALS/PRINCIPAL")
    assert principal is not None
    texts = []
    for name in ("Manufacturer", "Platform", "Repository"):
        level = principal.find(f"SECURITYLEVEL[@name='{name}']")
        if level is None:
            raise RefusedError(f"the SPC has no {name} SECURITYLEVEL (MS-RMPR 2.2.9.4.4)",
                               spec_id="E-9", exception_name=VERIFY_MACHINE_CHAIN)
        texts.append(spc.element_text(level))
    return texts


def issue_account_certificate(cluster: Cluster, directory: Directory, user: User,
                              machine_certificate: str | None, *, temporary: bool,
                              trace: Trace) -> str:
    """The server's side of Certify (E-9; MS-RMPR 3.3.4.1): authenticate the user, check
    the SPC chain against trustedSpcCAKeys, and issue a RAC whose private key is sealed
    to the SPC key. Returns the RAC chain (the RAC and the cluster's SLC chain)."""
    kind = "account-certification"
    _require_in_force(cluster, trace, kind, str(user), user.email, root=True)
    known = directory.users.get(user.name)
    trace.check("E-9", f"{user} is authenticated by the domain", known is not None)
    if known is None:
        raise refuse_and_log(cluster, trace, RefusedError(
            f"{user} is not a user of {directory.domain}", spec_id="E-9"),
            kind=kind, requester=str(user), subject=user.email, channel="online")
    if machine_certificate is None:
        raise refuse_and_log(cluster, trace, NotEnrolledError(
            "the computer is not activated: it has no machine certificate to seal the "
            "account key to", spec_id="E-9"),
            kind=kind, requester=str(user), subject=user.email, channel="online")
    try:
        spc = verify_spc_chain(cluster, machine_certificate, trace)
        levels = _spc_levels(spc)
    except RefusedError as exc:
        raise refuse_and_log(cluster, trace, exc, kind=kind, requester=str(user),
                             subject=user.email, channel="online") from None
    spc_principal = spc.principals[0]
    spc_key = spc_principal.public_key
    assert spc_key is not None
    lab = cluster.lab
    now = lab.now()
    identity = known.sid or known.email
    account_key = user_key(cluster, "account", identity)
    lifetime = cluster.temporary_rac_validity if temporary else cluster.rac_validity
    not_before = now - cluster.certificate_validity_tolerance
    bits_type = EnablingBitsType.for_mode(lab.mode)
    subject = Principal("Group-Identity", known.sid or None, "Windows", known.email, (),
                        account_key.public)
    external = cluster.external_certification_url
    body = rac_body(
        id=lab.guid("certificate"), issued=now, not_before=not_before, not_after=now + lifetime,
        issuer=issuer_from_principal_text(cluster.slc_principal_text),
        activation=(lab.guid("point"), cluster.certification_url),
        extranet_activation=(lab.guid("point"), external) if external else None,
        user=subject, credential_type="Temporary" if temporary else "Persistent",
        machine_object=spc.element_text("BODY/ISSUEDPRINCIPALS/PRINCIPAL/OBJECT"),
        machine_levels=levels,
        seal=lambda issuer: seal_private_key(account_key, to=spc_key, bound_to=issuer,
                                             bits_type=bits_type, random=lab.random_bytes),
        bits_type=bits_type)
    rac = sign(body, cluster.key, lab.digest_algorithm)
    assert cluster.slc_text is not None
    trace.step(cluster.first_server.name,
               f"issues a {'temporary' if temporary else 'standard'} rights account "
               f"certificate for {known.sid or known.email}, valid until "
               f"{now + lifetime:%Y-%m-%d %H:%M}", str(user),
               documents=[DocumentRef("rights account certificate", rac,
                                      "Group-Identity-Credential")],
               keys=[f"account key {account_key.public.short_fingerprint}, sealed to the "
                     f"machine key {spc_key.short_fingerprint} ({bits_type.value})"])
    rac_id = parse(rac)[0].id or ""
    cluster.rac_machines[rac_id] = spc_principal.id or ""
    log_request(cluster, trace, kind=kind, requester=str(user), subject=user.email,
                channel="online", accepted=True, request_id=rac_id)
    return rac + cluster.slc_text


def issue_client_licensor_certificate(cluster: Cluster, user: User, machine: str,
                                      rac_text: str | None, *, trace: Trace) -> str:
    """The server's side of client enrollment (E-7; MS-RMPR 3.5.4.2 GetClientLicensorCert),
    served by every cluster: a CLC for the principal of the RAC chain presented — which
    must pass AcquireLicense's RAC checks (its chain, its time, a trusted user domain, no
    exclusion) — whose key is sealed to that RAC's key. ``user`` is who the request says
    it is for: a RAC of anyone else is refused (E-9). The CLC's ISSUEDPRINCIPALS OBJECT and
    its validity are copied from the RAC."""
    from rmslab.flows.licensing import _check_account
    kind = "client-enrollment"
    _require_in_force(cluster, trace, kind, str(user), user.email, root=False)
    if rac_text is None:
        raise refuse_and_log(cluster, trace, NotEnrolledError(
            f"{user} has no rights account certificate on {machine}", spec_id="E-9"),
            kind=kind, requester=str(user), subject=user.email, channel="online")
    lab = cluster.lab
    now = lab.now()
    try:
        rac_chain = parse(rac_text, source="rights account certificate")
        chain = rac_chain
        anchor = cluster.slc_chain[len(cluster.slc_chain) - 1].issuer_key
        assert anchor is not None
        _check_account(cluster, chain, anchor, now, trace)
    except InputError as exc:
        raise refuse_and_log(cluster, trace, RefusedError(
            f"the rights account certificate cannot be read: {exc}", spec_id="E-9"),
            kind=kind, requester=str(user), subject=user.email, channel="online") from None
    except RefusedError as exc:
        exc.spec_id = "E-9"  # AcquireLicense's checks, refusing a client enrollment
        raise refuse_and_log(cluster, trace, exc, kind=kind, requester=str(user),
                             subject=user.email, channel="online") from None
    rac = rac_chain[0]
    holder = rac.principals[0] if rac.principals else None
    account_key = holder.public_key if holder is not None else None
    validity = rac.validity
    named = (holder.name or "") if holder is not None else ""
    problem = (
        "it names no principal with a key" if holder is None or account_key is None else
        f"it is the RAC of {named or 'an unnamed principal'}, not of {user.email}: a CLC is "
        "issued only to the principal of the RAC presented"
        if named.lower() != user.email.lower() else
        "it states no validity" if validity is None or validity.not_before is None
        or validity.not_after is None else "")
    reason = problem or f"issued to {named}, valid now"
    trace.check("E-9", f"the rights account certificate is {user.email}'s and valid now",
                not problem, reason)
    if problem:
        raise refuse_and_log(cluster, trace, RefusedError(
            f"the rights account certificate sent with the request cannot be enrolled: "
            f"{problem}", spec_id="E-9"), kind=kind, requester=str(user),
            subject=user.email, channel="online")
    assert holder is not None and account_key is not None and validity is not None
    assert validity.not_before is not None and validity.not_after is not None
    clc_key = user_key(cluster, "clc", holder.id or named)
    bits_type = EnablingBitsType.for_mode(lab.mode)
    rac_key = account_key
    body = clc_body(
        id=lab.guid("certificate"), issued=now, not_before=validity.not_before,
        not_after=validity.not_after,
        issuer=issuer_from_principal_text(cluster.slc_principal_text),
        licensing=(lab.guid("point"), cluster.licensing_url),
        extranet_licensing=(lab.guid("point"), cluster.external_licensing_url),
        user_object=rac.element_text("BODY/ISSUEDPRINCIPALS/PRINCIPAL/OBJECT"),
        clc_key=clc_key.public,
        seal=lambda issuer: seal_private_key(clc_key, to=rac_key, bound_to=issuer,
                                             bits_type=bits_type, random=lab.random_bytes),
        bits_type=bits_type)
    clc = sign(body, cluster.key, lab.digest_algorithm)
    assert cluster.slc_text is not None
    trace.step(cluster.first_server.name, "issues the client licensor certificate to the "
                                          "principal of the RAC, valid as long as the RAC",
               machine or str(user),
               documents=[DocumentRef("client licensor certificate", clc,
                                      "Client-Licensor-Certificate")],
               keys=[f"CLC key {clc_key.public.short_fingerprint}, sealed to the account key "
                     f"{account_key.short_fingerprint} ({bits_type.value})"])
    trace.check("E-7", f"{user} may now publish while disconnected", True,
                "the CLC names the server key and URLs that publishing licenses will carry")
    log_request(cluster, trace, kind=kind, requester=str(user), subject=user.email,
                channel="online", accepted=True, request_id=parse(clc)[0].id)
    return clc + cluster.slc_text


# --- the client's side (the flows) --------------------------------------------------------


def machine_identity(client: Client) -> bytes:
    """What the lab's SPC hashes where a real client hashes its hardware ID (MS-RMPR
    2.2.9.4.4): a stated machine identity — the lab's seed and the computer's name — not
    a hardware identifier."""
    return f"rmslab machine identity\x00seed {client.lab.seed}\x00{client.name}".encode()


def activate_machine(client: Client) -> Trace:
    """Machine activation as a version 2 client does it (E-9; MS-RMPR 3.8.4.1): the client
    generates its security processor key, writes its SPC (2.2.9.4) and signs it with the
    Trusted SPC Issuer private key it ships with (3.8.3.1), and appends the Trusted SPC
    Issuer chain. No server is contacted."""
    trace = Trace(f"Activation of {client.name}")
    issuer = client.spc_issuer
    if issuer is None:
        raise NotEnrolledError(f"the RMS client on {client.name} has no Trusted SPC Issuer "
                               "key and chain installed (MS-RMPR 3.8.3.1)", spec_id="E-9",
                               trace=trace)
    lab = client.lab
    algorithm = lab.digest_algorithm
    digest = hashlib.new(algorithm.value.lower(), machine_identity(client)).digest()
    body = spc_body(id=lab.guid("certificate"), issued=lab.now(), issuer=issuer.principal,
                    machine_id=lab.guid("machine"), machine_key=client.machine_key.public,
                    hid_digest=digest, digest_algorithm=algorithm,
                    platform=SECURITY_PROCESSOR["Platform"],
                    manufacturer=SECURITY_PROCESSOR["Manufacturer"],
                    repository=SECURITY_PROCESSOR["Repository"])
    spc = sign(body, issuer.key, algorithm)
    client.machine_certificate_text = spc + issuer.chain_text
    trace.step(client.name, "generates its machine (security processor) key and signs its own "
                            "machine certificate with the SPC issuer key its RMS client ships "
                            "with; no server is contacted (MS-RMPR 3.8.4.1)",
               documents=[DocumentRef("machine certificate chain",
                                      client.machine_certificate_text, "Machine-Certificate")],
               keys=[f"machine key {client.machine_key.public.short_fingerprint} (stays on "
                     f"{client.name})",
                     f"signed with the SPC issuer key {issuer.key.public.short_fingerprint}"])
    trace.check("E-9", f"{client.name} is activated", True,
                f"the SPC's hardware ID is the {algorithm.value} of a stated machine identity "
                "(the lab's seed and the computer's name), not of any hardware")
    return trace


def _require_reachable(endpoint: CertificationEndpoint, client: Client, trace: Trace, *,
                       spec_id: str) -> None:
    reachable = client.connected and endpoint.reachable
    trace.check(spec_id, f"{endpoint.name} is reachable from {client.name}", reachable,
                "" if reachable else f"{client.name} is not connected to the organisation's "
                                     "network")
    if not reachable:
        raise NotConnectedError(
            f"{client.name} cannot reach the cluster {endpoint.name}",
            spec_id=spec_id, trace=trace)


def certify_account(certification: Cluster | CertificationEndpoint, client: Client, user: User,
                    directory: Directory | None = None, *, temporary: bool = False) -> Trace:
    """Account certification (E-9; MS-RMPR 3.3.4.1): a RAC for ``user`` on ``client``, the
    account key sealed to the machine key. Temporary RACs (for computers the user does not
    own) last 15 minutes; standard ones a year (3.1.3.3). ``directory`` authenticates the
    user when the cluster is called in process."""
    endpoint = _endpoint(certification, directory)
    trace = Trace(f"Account certification of {user.email} on {client.name}")
    trace.step(client.name, f"asks for a rights account certificate for {user}, sending its "
                            "machine certificate chain", endpoint.server_name)
    _require_reachable(endpoint, client, trace, spec_id="E-9")
    rac = endpoint.certify_account(user, client.machine_certificate_text, temporary=temporary,
                                   trace=trace)
    client.accounts[user.name] = Account(user.name, rac)
    return trace


def enroll_client(certification: Cluster | CertificationEndpoint, client: Client,
                  user: User) -> Trace:
    """Client enrollment (E-7; MS-RMPR 3.5.4.2): a CLC that lets the user publish while
    disconnected, from any cluster that trusts the RAC's issuer. It can be obtained only
    while that cluster is reachable; its key is sealed to the user's account key."""
    endpoint = _endpoint(certification)
    trace = Trace(f"Client enrollment of {user.email} on {client.name}")
    trace.step(client.name, f"asks for a client licensor certificate for {user}",
               endpoint.server_name)
    _require_reachable(endpoint, client, trace, spec_id="E-7")
    account = client.accounts.get(user.name)
    clc = endpoint.enroll_client(user, client.name, account.rac_text if account else None,
                                 trace=trace)
    assert account is not None  # the server refuses a request without a RAC
    account.clc_text = clc
    return trace
