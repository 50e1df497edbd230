"""Certifying clients: machine activation, account certification (RAC) and client
enrollment (CLC) by the root certification cluster (SPEC E-7, E-8, E-9).

Each request is logged by the root cluster (E-8). Keys are generated where they belong
and travel only sealed: the account private key sealed to the machine key inside the
RAC, the CLC private key sealed to the account key inside the CLC.
"""

from __future__ import annotations

from datetime import timedelta

from rmslab.actors.client import Account, Client
from rmslab.actors.cluster import ROOT, Cluster
from rmslab.actors.people import Directory, User
from rmslab.crypto.seal import seal
from rmslab.errors import NotConnectedError, NotEnrolledError, RefusedError
from rmslab.flows._common import log_request, refuse_and_log
from rmslab.trace import DocumentRef, Trace
from rmslab.xrml.certificates import certificate_body, sealed_key_certificate_body
from rmslab.xrml.model import Principal
from rmslab.xrml.reader import parse
from rmslab.xrml.writer import distribution_point_xml, sign

__all__ = ["activate_machine", "certify_account", "enroll_client", "RAC_STANDARD",
           "RAC_TEMPORARY", "CLC_LIFETIME", "MACHINE_LIFETIME"]

RAC_STANDARD = timedelta(days=365)
RAC_TEMPORARY = timedelta(minutes=15)
CLC_LIFETIME = timedelta(days=365)
MACHINE_LIFETIME = timedelta(days=365 * 5)


def _require_root(cluster: Cluster, trace: Trace, kind: str, requester: str,
                  subject: str) -> None:
    if cluster.role != ROOT or not cluster.enrolled:
        raise refuse_and_log(cluster, trace, RefusedError(
            f"{cluster.name} is not an enrolled root certification cluster", spec_id="E-9"),
            kind=kind, requester=requester, subject=subject, channel="online")


def _require_reachable(cluster: Cluster, client: Client, trace: Trace, *, kind: str,
                       requester: str, subject: str, spec_id: str) -> None:
    reachable = client.connected and any(s.connected for s in cluster.servers)
    trace.check(spec_id, f"{cluster.name} is reachable from {client.name}", reachable,
                "" if reachable else f"{client.name} is not connected to the organisation's "
                                     "network")
    if not reachable:
        raise refuse_and_log(cluster, trace, NotConnectedError(
            f"{client.name} cannot reach the root certification cluster {cluster.name}",
            spec_id=spec_id), kind=kind, requester=requester, subject=subject,
            channel="online")


def activate_machine(cluster: Cluster, client: Client) -> Trace:
    """Machine activation (E-9): the cluster certifies the client's machine key."""
    trace = Trace(f"Activation of {client.name}")
    trace.step(client.name, "generates its machine key and asks for activation",
               cluster.first_server.name,
               keys=[f"machine key {client.machine_key.public.short_fingerprint} (stays on "
                     f"{client.name})"])
    _require_root(cluster, trace, "machine-activation", client.name, client.name)
    _require_reachable(cluster, client, trace, kind="machine-activation",
                       requester=client.name, subject=client.name, spec_id="E-9")
    lab = cluster.lab
    now = lab.now()
    machine = Principal("Machine", lab.guid("machine"), "MS-GUID", client.name, (),
                        client.machine_key.public)
    certificate = sign(certificate_body(kind="Machine-Certificate", id=lab.guid("certificate"),
                                        issued=now, issuer=cluster.principal, subject=machine,
                                        not_before=now, not_after=now + MACHINE_LIFETIME),
                       cluster.key, lab.digest_algorithm)
    assert cluster.slc_text is not None
    client.machine_certificate_text = certificate + cluster.slc_text
    trace.step(cluster.first_server.name, "issues the machine certificate", client.name,
               documents=[DocumentRef("machine certificate", certificate, "Machine-Certificate")],
               keys=[f"signed with the cluster key {cluster.key.public.short_fingerprint}"])
    log_request(cluster, trace, kind="machine-activation", requester=client.name,
                subject=client.name, channel="online", accepted=True,
                request_id=parse(certificate)[0].id)
    return trace


def certify_account(cluster: Cluster, client: Client, user: User, directory: Directory, *,
                    temporary: bool = False) -> Trace:
    """Account certification (E-9): a RAC for ``user`` on ``client``; the account key is
    sealed to the machine key. Temporary RACs (for computers the user does not own) last
    15 minutes; standard ones a year."""
    trace = Trace(f"Account certification of {user.email} on {client.name}")
    trace.step(client.name, f"asks for a rights account certificate for {user}",
               cluster.first_server.name)
    kind = "account-certification"
    _require_root(cluster, trace, kind, str(user), user.email)
    _require_reachable(cluster, client, trace, kind=kind, requester=str(user),
                       subject=user.email, spec_id="E-9")
    known = user.name in directory.users
    trace.check("E-9", f"{user} is authenticated by the domain", known)
    if not known:
        raise refuse_and_log(cluster, trace, RefusedError(
            f"{user} is not a user of {directory.domain}", spec_id="E-9"),
            kind=kind, requester=str(user), subject=user.email, channel="online")
    if not client.activated:
        raise refuse_and_log(cluster, trace, NotEnrolledError(
            f"{client.name} is not activated: it has no machine certificate to seal the "
            "account key to", spec_id="E-9"),
            kind=kind, requester=str(user), subject=user.email, channel="online")
    lab = cluster.lab
    now = lab.now()
    account_key = lab.key(f"account:{user.email}")
    sealed = seal(account_key.to_der(), client.machine_key.public, lab.random_bytes)
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
    client.accounts[user.name] = Account(user.name, rac + cluster.slc_text)
    trace.step(cluster.first_server.name,
               f"issues a {'temporary' if temporary else 'standard'} rights account "
               f"certificate, valid until {now + lifetime:%Y-%m-%d %H:%M}", client.name,
               documents=[DocumentRef("rights account certificate", rac,
                                      "Group-Identity-Credential")],
               keys=[f"account key {account_key.public.short_fingerprint}, sealed to the "
                     f"machine key {client.machine_key.public.short_fingerprint}"])
    log_request(cluster, trace, kind=kind, requester=str(user), subject=user.email,
                channel="online", accepted=True, request_id=parse(rac)[0].id)
    return trace


def enroll_client(cluster: Cluster, client: Client, user: User) -> Trace:
    """Client enrollment (E-7): a CLC that lets the user publish while disconnected. It can
    be obtained only while the root cluster is reachable; its key is sealed to the user's
    account key."""
    trace = Trace(f"Client enrollment of {user.email} on {client.name}")
    trace.step(client.name, f"asks for a client licensor certificate for {user}",
               cluster.first_server.name)
    kind = "client-enrollment"
    _require_root(cluster, trace, kind, str(user), user.email)
    _require_reachable(cluster, client, trace, kind=kind, requester=str(user),
                       subject=user.email, spec_id="E-7")
    try:
        account = client.account(user.name)
    except NotEnrolledError as exc:
        raise refuse_and_log(cluster, trace, exc, kind=kind, requester=str(user),
                             subject=user.email, channel="online")
    lab = cluster.lab
    now = lab.now()
    account_key = account.rac.principals[0].public_key
    assert account_key is not None
    clc_key = lab.key(f"clc:{user.email}@{client.name}")
    sealed = seal(clc_key.to_der(), account_key, lab.random_bytes)
    subject = Principal("Group-Identity", lab.guid("account"), "MS-GUID", user.email,
                        (("email_alias", user.email),), clc_key.public)
    points = (distribution_point_xml("License-Acquisition-URL", lab.guid("point"),
                                     name="DRM Server Cluster",
                                     address=f"{cluster.url}/licensing"),)
    clc = sign(sealed_key_certificate_body(
        kind="Client-Licensor-Certificate", id=lab.guid("certificate"), issued=now,
        issuer=cluster.principal, subject=subject, sealed_key=sealed, not_before=now,
        not_after=now + CLC_LIFETIME, distribution_points=points),
        cluster.key, lab.digest_algorithm)
    assert cluster.slc_text is not None
    account.clc_text = clc + cluster.slc_text
    trace.step(cluster.first_server.name, "issues the client licensor certificate", client.name,
               documents=[DocumentRef("client licensor certificate", clc,
                                      "Client-Licensor-Certificate")],
               keys=[f"CLC key {clc_key.public.short_fingerprint}, sealed to the account key "
                     f"{account_key.short_fingerprint}"])
    trace.check("E-7", f"{user} may now publish while disconnected", True,
                "the CLC names the server key and URL that publishing licenses will carry")
    log_request(cluster, trace, kind=kind, requester=str(user), subject=user.email,
                channel="online", accepted=True, request_id=parse(clc)[0].id)
    return trace
