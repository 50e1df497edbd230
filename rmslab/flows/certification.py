"""Certifying clients: machine activation, account certification (RAC) and client
enrollment (CLC) by the root certification cluster (SPEC E-7, E-8, E-9).

Each flow is the client's side: it asks the root cluster — in process, or over HTTP
through a :class:`CertificationEndpoint` — and keeps what comes back. The ``issue_*``
functions are the server's side: each request that reaches it is logged (E-8), and the
machine certificate or RAC a request carries must be one the cluster issued. Keys are
generated where they belong and travel only sealed: the account private key sealed to the
machine key inside the RAC, the CLC private key sealed to the account key inside the CLC.

User keys (MS-RMPR 3.1.1.3.4 GetUserKeyPair, 3.1.1.3.5 SetUserKeyPair): the server
retrieves or generates a user's key pair and keeps it. A lab's keys are derived from its
seed and a label (:meth:`rmslab.lab.Lab.key`), and the seed is no secret, so a user key's
label is an HMAC, under the issuing cluster's private key, of what the key is for and
the user's identity (:func:`user_key`): the same key every time the cluster is asked —
as if kept — and no one without the cluster's key can derive it from a user's name.

Client enrollment (E-7, MS-RMPR 3.5.4.2 GetClientLicensorCert): the request carries a
RAC, and the CLC is issued to the principal of that RAC and to no one else — its
ISSUEDPRINCIPALS OBJECT copied from the RAC's, its validity copied from the RAC's (a
15-minute temporary RAC yields a 15-minute CLC), its private key sealed to the RAC's key.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import timedelta
from typing import Protocol

from rmslab.actors.client import Account, Client
from rmslab.actors.cluster import ROOT, Cluster
from rmslab.actors.people import Directory, User
from rmslab.crypto.rsa import PrivateKey, PublicKey
from rmslab.crypto.seal import seal
from rmslab.errors import (InputError, NotConnectedError, NotEnrolledError, RefusedError,
                           StructureError, VerificationError)
from rmslab.flows._common import (InProcessService, log_request, refuse_and_log,
                                  require_slc_in_force)
from rmslab.trace import DocumentRef, Trace
from rmslab.xrml.certificates import certificate_body, sealed_key_certificate_body
from rmslab.xrml.document import XrmlDocument
from rmslab.xrml.model import Principal
from rmslab.xrml.reader import parse
from rmslab.xrml.verify import verify_document
from rmslab.xrml.writer import distribution_point_xml, sign

__all__ = ["activate_machine", "certify_account", "enroll_client", "CertificationEndpoint",
           "LocalCertification", "issue_machine_certificate", "issue_account_certificate",
           "issue_client_licensor_certificate", "RAC_STANDARD", "RAC_TEMPORARY",
           "MACHINE_LIFETIME", "user_key"]

RAC_STANDARD = timedelta(days=365)
RAC_TEMPORARY = timedelta(minutes=15)
MACHINE_LIFETIME = timedelta(days=365 * 5)


class CertificationEndpoint(Protocol):
    """The certification service of the root cluster: in process
    (:class:`LocalCertification`), or reached over HTTP
    (:class:`rmslab.service.RemoteCertificationService`). Each method is one request and
    returns the certificate followed by the cluster's SLC."""

    name: str

    @property
    def server_name(self) -> str: ...

    @property
    def reachable(self) -> bool: ...

    def activate(self, machine: str, machine_key: PublicKey, *, trace: Trace) -> str: ...

    def certify_account(self, user: User, machine_certificate: str | None, *,
                        temporary: bool, trace: Trace) -> str: ...

    def enroll_client(self, user: User, machine: str, rac: str | None, *,
                      trace: Trace) -> str: ...


class LocalCertification(InProcessService):
    """A root cluster's certification service, called in process; ``directory``
    authenticates the users who ask for account certificates."""

    def __init__(self, cluster: Cluster, directory: Directory | None = None) -> None:
        super().__init__(cluster)
        self.directory = directory

    def activate(self, machine: str, machine_key: PublicKey, *, trace: Trace) -> str:
        return issue_machine_certificate(self.cluster, machine, machine_key, trace=trace)

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
    """The key pair ``cluster`` keeps for ``identity`` (an e-mail address) for ``purpose``
    ("account" for RACs, "clc" for CLCs) — MS-RMPR 3.1.1.3.4 GetUserKeyPair. Derived from
    the lab's seed under a label that is an HMAC-SHA256, keyed with the cluster's private
    key, of the purpose and the identity: the cluster gets the same key each time, and
    nobody who lacks the cluster's key can derive it from the user's name."""
    secret = cluster.key.to_der()
    tag = hmac.new(secret, f"{purpose}\x00{identity.lower()}".encode("utf-8"),
                   hashlib.sha256).hexdigest()
    return cluster.lab.key(f"{purpose}:{tag}")



def _require_root(cluster: Cluster, trace: Trace, kind: str, requester: str,
                  subject: str) -> None:
    """Only an enrolled root certification cluster certifies (E-9), and only while its SLC
    lets it issue (MS-RMPR 3.1.6.2); a refusal is logged (E-8)."""
    if cluster.role != ROOT or not cluster.enrolled:
        raise refuse_and_log(cluster, trace, RefusedError(
            f"{cluster.name} is not an enrolled root certification cluster", spec_id="E-9"),
            kind=kind, requester=requester, subject=subject, channel="online")
    try:
        require_slc_in_force(cluster, trace, _WHAT[kind])
    except RefusedError as exc:
        raise refuse_and_log(cluster, trace, exc, kind=kind, requester=requester,
                             subject=subject, channel="online") from None


_WHAT = {"machine-activation": "a machine certificate",
         "account-certification": "a rights account certificate",
         "client-enrollment": "a client licensor certificate"}


def _issued_here(cluster: Cluster, text: str, kind: str, what: str, trace: Trace, *,
                 log_kind: str, requester: str, subject: str) -> XrmlDocument:
    """The first document of ``text``, checked to be a ``kind`` this cluster signed (E-9);
    refused and logged otherwise."""
    try:
        document = parse(text)[0]
        if document.kind != kind:
            raise StructureError(f"it is a {document.kind_name}, not a {what}")
        verify_document(document, cluster.key.public)
        passed, reason = True, f"signed with {cluster.name}'s key"
    except (InputError, VerificationError) as exc:
        passed, reason = False, str(exc)
    trace.check("E-9", f"the {what} is one {cluster.name} issued", passed, reason)
    if not passed:
        raise refuse_and_log(cluster, trace, RefusedError(
            f"the {what} sent with the request was not issued by {cluster.name} ({reason})",
            spec_id="E-9"), kind=log_kind, requester=requester, subject=subject,
            channel="online")
    return document


def issue_machine_certificate(cluster: Cluster, machine: str, machine_key: PublicKey, *,
                              trace: Trace) -> str:
    """The server's side of machine activation (E-9): certify the machine's key."""
    _require_root(cluster, trace, "machine-activation", machine, machine)
    lab = cluster.lab
    now = lab.now()
    principal = Principal("Machine", lab.guid("machine"), "MS-GUID", machine, (), machine_key)
    certificate = sign(certificate_body(kind="Machine-Certificate", id=lab.guid("certificate"),
                                        issued=now, issuer=cluster.principal, subject=principal,
                                        not_before=now, not_after=now + MACHINE_LIFETIME),
                       cluster.key, lab.digest_algorithm)
    assert cluster.slc_text is not None
    trace.step(cluster.first_server.name, "issues the machine certificate", machine,
               documents=[DocumentRef("machine certificate", certificate, "Machine-Certificate")],
               keys=[f"signed with the cluster key {cluster.key.public.short_fingerprint}"])
    log_request(cluster, trace, kind="machine-activation", requester=machine,
                subject=machine, channel="online", accepted=True,
                request_id=parse(certificate)[0].id)
    return certificate + cluster.slc_text


def issue_account_certificate(cluster: Cluster, directory: Directory, user: User,
                              machine_certificate: str | None, *, temporary: bool,
                              trace: Trace) -> str:
    """The server's side of account certification (E-9): authenticate the user, check the
    machine certificate, and seal a new account key to the machine's key."""
    kind = "account-certification"
    _require_root(cluster, trace, kind, str(user), user.email)
    known = user.name in directory.users
    trace.check("E-9", f"{user} is authenticated by the domain", known)
    if not known:
        raise refuse_and_log(cluster, trace, RefusedError(
            f"{user} is not a user of {directory.domain}", spec_id="E-9"),
            kind=kind, requester=str(user), subject=user.email, channel="online")
    if machine_certificate is None:
        raise refuse_and_log(cluster, trace, NotEnrolledError(
            "the computer is not activated: it has no machine certificate to seal the "
            "account key to", spec_id="E-9"),
            kind=kind, requester=str(user), subject=user.email, channel="online")
    machine = _issued_here(cluster, machine_certificate, "Machine-Certificate",
                           "machine certificate", trace, log_kind=kind,
                           requester=str(user), subject=user.email)
    machine_key = machine.principals[0].public_key if machine.principals else None
    assert machine_key is not None
    lab = cluster.lab
    now = lab.now()
    account_key = user_key(cluster, "account", user.email)
    sealed = seal(account_key.to_der(), machine_key, lab.random_bytes)
    lifetime = RAC_TEMPORARY if temporary else RAC_STANDARD
    subject = Principal("Group-Identity", lab.guid("account"), "MS-GUID", user.email,
                        (("email_alias", user.email),), account_key.public,
                        (("Group-Identity-Type", "Group"),))
    rac = sign(sealed_key_certificate_body(
        kind="Group-Identity-Credential", id=lab.guid("certificate"), issued=now,
        issuer=cluster.principal, subject=subject, sealed_key=sealed, not_before=now,
        not_after=now + lifetime, credential_type="Temporary" if temporary else "Persistent"),
        cluster.key, lab.digest_algorithm)
    assert cluster.slc_text is not None
    trace.step(cluster.first_server.name,
               f"issues a {'temporary' if temporary else 'standard'} rights account "
               f"certificate, valid until {now + lifetime:%Y-%m-%d %H:%M}", machine.principals[0].name,
               documents=[DocumentRef("rights account certificate", rac,
                                      "Group-Identity-Credential")],
               keys=[f"account key {account_key.public.short_fingerprint}, sealed to the "
                     f"machine key {machine_key.short_fingerprint}"])
    rac_id = parse(rac)[0].id or ""
    cluster.rac_machines[rac_id] = machine.principals[0].name or ""
    log_request(cluster, trace, kind=kind, requester=str(user), subject=user.email,
                channel="online", accepted=True, request_id=rac_id)
    return rac + cluster.slc_text


def issue_client_licensor_certificate(cluster: Cluster, user: User, machine: str,
                                      rac_text: str | None, *, trace: Trace) -> str:
    """The server's side of client enrollment (E-7; MS-RMPR 3.5.4.2 GetClientLicensorCert):
    a CLC for the principal of the RAC presented — which this cluster must have issued and
    which must be valid now — whose key is sealed to that RAC's account key. ``user`` is
    who the request says it is for: a RAC of anyone else is refused (E-9). The CLC's
    ISSUEDPRINCIPALS OBJECT and its validity are copied from the RAC."""
    kind = "client-enrollment"
    _require_root(cluster, trace, kind, str(user), user.email)
    if rac_text is None:
        raise refuse_and_log(cluster, trace, NotEnrolledError(
            f"{user} has no rights account certificate on {machine}", spec_id="E-9"),
            kind=kind, requester=str(user), subject=user.email, channel="online")
    rac = _issued_here(cluster, rac_text, "Group-Identity-Credential",
                       "rights account certificate", trace, log_kind=kind,
                       requester=str(user), subject=user.email)
    lab = cluster.lab
    now = lab.now()
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
        or validity.not_after is None else
        f"it is valid {validity.not_before:%Y-%m-%d %H:%M} to "
        f"{validity.not_after:%Y-%m-%d %H:%M} UTC, not now ({now:%Y-%m-%d %H:%M} UTC)"
        if not validity.contains(now) else "")
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
    clc_key = user_key(cluster, "clc", named)
    sealed = seal(clc_key.to_der(), account_key, lab.random_bytes)
    subject = replace(holder.identity(with_levels=False), public_key=clc_key.public)
    points = (distribution_point_xml("License-Acquisition-URL", lab.guid("point"),
                                     name="DRM Server Cluster",
                                     address=f"{cluster.url}/licensing"),)
    clc = sign(sealed_key_certificate_body(
        kind="Client-Licensor-Certificate", id=lab.guid("certificate"), issued=now,
        issuer=cluster.principal, subject=subject, sealed_key=sealed,
        not_before=validity.not_before, not_after=validity.not_after,
        distribution_points=points),
        cluster.key, lab.digest_algorithm)
    assert cluster.slc_text is not None
    trace.step(cluster.first_server.name, "issues the client licensor certificate to the "
                                          "principal of the RAC, valid as long as the RAC",
               machine,
               documents=[DocumentRef("client licensor certificate", clc,
                                      "Client-Licensor-Certificate")],
               keys=[f"CLC key {clc_key.public.short_fingerprint}, sealed to the account key "
                     f"{account_key.short_fingerprint}"])
    trace.check("E-7", f"{user} may now publish while disconnected", True,
                "the CLC names the server key and URL that publishing licenses will carry")
    log_request(cluster, trace, kind=kind, requester=str(user), subject=user.email,
                channel="online", accepted=True, request_id=parse(clc)[0].id)
    return clc + cluster.slc_text


# --- the client's side (the flows) --------------------------------------------------------


def _require_reachable(endpoint: CertificationEndpoint, client: Client, trace: Trace, *,
                       spec_id: str) -> None:
    reachable = client.connected and endpoint.reachable
    trace.check(spec_id, f"{endpoint.name} is reachable from {client.name}", reachable,
                "" if reachable else f"{client.name} is not connected to the organisation's "
                                     "network")
    if not reachable:
        raise NotConnectedError(
            f"{client.name} cannot reach the root certification cluster {endpoint.name}",
            spec_id=spec_id, trace=trace)


def activate_machine(certification: Cluster | CertificationEndpoint, client: Client) -> Trace:
    """Machine activation (E-9): the root cluster certifies the client's machine key."""
    endpoint = _endpoint(certification)
    trace = Trace(f"Activation of {client.name}")
    trace.step(client.name, "generates its machine key and asks for activation",
               endpoint.server_name,
               keys=[f"machine key {client.machine_key.public.short_fingerprint} (stays on "
                     f"{client.name})"])
    _require_reachable(endpoint, client, trace, spec_id="E-9")
    client.machine_certificate_text = endpoint.activate(client.name, client.machine_key.public,
                                                        trace=trace)
    return trace


def certify_account(certification: Cluster | CertificationEndpoint, client: Client, user: User,
                    directory: Directory | None = None, *, temporary: bool = False) -> Trace:
    """Account certification (E-9): a RAC for ``user`` on ``client``; the account key is
    sealed to the machine key. Temporary RACs (for computers the user does not own) last
    15 minutes; standard ones a year. ``directory`` authenticates the user when the
    cluster is called in process."""
    endpoint = _endpoint(certification, directory)
    trace = Trace(f"Account certification of {user.email} on {client.name}")
    trace.step(client.name, f"asks for a rights account certificate for {user}",
               endpoint.server_name)
    _require_reachable(endpoint, client, trace, spec_id="E-9")
    rac = endpoint.certify_account(user, client.machine_certificate_text, temporary=temporary,
                                   trace=trace)
    client.accounts[user.name] = Account(user.name, rac)
    return trace


def enroll_client(certification: Cluster | CertificationEndpoint, client: Client,
                  user: User) -> Trace:
    """Client enrollment (E-7): a CLC that lets the user publish while disconnected. It can
    be obtained only while the root cluster is reachable; its key is sealed to the user's
    account key."""
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
