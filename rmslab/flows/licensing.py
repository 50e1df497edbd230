"""Licensing (SPEC L-1, P-7) and trusted publishing domains.

A user with a RAC sends the publishing license to a licensing server. The server grants
a use license only if it can open the content key: it must be the server the license
names (the one that issued the CLC, or that signed it online) or hold that server's key
through a trusted publishing domain (P-7). It grants only the rights the license gives
that user (L-1), seals the content key to the user's account key, and signs.

Trusted publishing domains are exported with a password (PBKDF2-HMAC-SHA256 and
AES-256-GCM) and imported by another cluster; a wrong password imports nothing.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from rmslab.actors.client import Client
from rmslab.actors.cluster import Cluster
from rmslab.actors.people import User
from rmslab.crypto.content import ContentCipher
from rmslab.crypto.rsa import PrivateKey, PublicKey
from rmslab.crypto.seal import SealError, seal, unseal
from rmslab.errors import InputError, NotConnectedError, RefusedError, VerificationError
from rmslab.flows._common import InProcessService
from rmslab.rights import RightsPolicy
from rmslab.trace import DocumentRef, Trace
from rmslab.trust import validate_chain
from rmslab.xrml.document import XrmlDocument
from rmslab.xrml.licenses import content_license_body
from rmslab.xrml.reader import parse
from rmslab.xrml.writer import sign

__all__ = ["acquire_use_license", "issue_use_license", "LicensingEndpoint", "LocalLicensing",
           "read_rights", "export_trusted_publishing_domain",
           "import_trusted_publishing_domain", "WrongPasswordError", "USE_LICENSE_LIFETIME"]

USE_LICENSE_LIFETIME = timedelta(days=30)
_PBKDF2_ROUNDS = 200_000


class WrongPasswordError(InputError):
    """The password does not open the trusted publishing domain file."""


def _server_keys(cluster: Cluster) -> list[tuple[PrivateKey, str]]:
    keys = [(cluster.key, cluster.name)]
    keys.extend((key, f"trusted publishing domain {name}")
                for name, key in cluster.trusted_domains.items())
    return keys


def read_rights(cluster: Cluster, publishing_license: XrmlDocument) -> tuple[bytes, RightsPolicy, str]:
    """Open a publishing license with the cluster's key (or a trusted domain's): the
    content key, the rights, and which key opened it. :class:`RefusedError` (P-7) when
    none of them can."""
    for key, source in _server_keys(cluster):
        sealed = publishing_license.sealed_key_for(key.public)
        if sealed is None:
            continue
        try:
            content_key = unseal(sealed, key)
        except SealError:
            continue
        encrypted = publishing_license.element.findtext(
            "BODY/AUTHENTICATEDDATA[@id='Encrypted-Rights-Data']") or ""
        mode = 2 if publishing_license.mode == 2 else 1
        rights_text = ContentCipher(content_key, mode).decrypt(base64.b64decode(encrypted))
        rights_doc = parse(rights_text.decode("utf-8"), source="rights data")[0]
        rights_list = rights_doc.element.find("BODY/WORK/RIGHTSGROUP/RIGHTSLIST")
        if rights_list is None:
            raise RefusedError("the rights data lists no rights", spec_id="L-1")
        return content_key, RightsPolicy.from_rights_list(rights_list, "rights data"), source
    raise RefusedError(f"{cluster.name} did not issue this publishing license's CLC and does "
                       "not trust its publishing domain: it cannot open the content key",
                       spec_id="P-7")


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


def issue_use_license(cluster: Cluster, protected_chain: str, rac_text: str, *,
                      anchor: PublicKey, trace: Trace, to: str) -> str:
    """The server's side of licensing (L-1, P-7): check the RAC and the publishing license,
    open the content key (this cluster's key or a trusted domain's), grant the rights the
    license gives the RAC's user, seal the content key to the RAC's key, sign. Returns the
    use license followed by the cluster's SLC chain; ``to`` names the requester in the
    Trace."""
    lab = cluster.lab
    chain = parse(protected_chain, source="publishing license")
    pl = chain[0]
    rac_chain = parse(rac_text, source="rights account certificate")
    rac = rac_chain[0]
    try:
        try:
            validate_chain(rac_chain, anchor, at=lab.now())
            validate_chain(chain, anchor, at=lab.now())
        except VerificationError as exc:
            trace.check("L-1", "the RAC and the publishing license verify", False, str(exc))
            raise RefusedError(f"a certificate does not verify: {exc}", spec_id="L-1") from None
        trace.check("L-1", "the RAC and the publishing license verify up to the root", True)
        subject = rac.principals[0] if rac.principals else None
        if rac.kind != "Group-Identity-Credential" or subject is None or not subject.name \
                or subject.public_key is None:
            trace.check("L-1", "the requester presents a rights account certificate", False,
                        f"got a {rac.kind_name}")
            raise RefusedError("the request carries no rights account certificate",
                               spec_id="L-1")
        email = subject.name
        try:
            content_key, policy, source = read_rights(cluster, pl)
        except RefusedError:
            trace.check("P-7", f"{cluster.name} may license this content", False,
                        "it did not issue the CLC and does not trust the publishing domain")
            raise
        trace.check("P-7", f"{cluster.name} may license this content", True,
                    f"the content key opens with the key of {source}")
        rights = policy.rights_of(email)
        trace.check("L-1", f"the publishing license gives {email} rights", bool(rights),
                    ", ".join(rights) if rights else "it names no right for this user")
        if not rights:
            raise RefusedError(f"the publishing license gives {email} no rights",
                               spec_id="L-1")
    except RefusedError as exc:
        exc.trace = trace
        raise
    user_principal = subject.identity(with_levels=False)
    granted = RightsPolicy(policy.for_user(email), policy.not_after, policy.caching_days,
                           policy.revocation)
    now = lab.now()
    until = now + USE_LICENSE_LIFETIME
    if policy.caching_days is not None:
        until = now + timedelta(days=policy.caching_days)
    body = content_license_body(
        id=lab.guid("license"), issued=now, issuer=cluster.principal, user=user_principal,
        sealed_key=seal(content_key, subject.public_key, lab.random_bytes),
        content_id=pl.content_id or "", owner=pl.owner, policy=granted,
        validity=(now, until), publishing_license_id=pl.id or "")
    use_license = sign(body, cluster.key, lab.digest_algorithm)
    assert cluster.slc_text is not None
    trace.step(cluster.first_server.name, f"issues a use license granting {', '.join(rights)}",
               to, documents=[DocumentRef("use license", use_license, "Content-License")],
               keys=[f"content key sealed to {email}'s account key "
                     f"{subject.public_key.short_fingerprint}",
                     f"signed with the cluster key {cluster.key.public.short_fingerprint}"])
    return use_license + cluster.slc_text


def acquire_use_license(licensing: Cluster | LicensingEndpoint, client: Client, user: User,
                        protected_chain: str, *, anchor: PublicKey) -> tuple[str, Trace]:
    """The client asks a licensing service — a cluster, or one reached over HTTP — for a use
    license for the content whose license chain is ``protected_chain`` (L-1, P-7). The
    license goes into the user's store."""
    endpoint = LocalLicensing(licensing) if isinstance(licensing, Cluster) else licensing
    trace = Trace(f"{user.email} asks {endpoint.name} for a use license")
    account = client.account(user.name)
    pl = parse(protected_chain, source="publishing license")[0]
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
    account.licenses[pl.content_id or ""] = use_license
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

