"""Publishing: offline with a CLC (P-1…P-6) and online by the server (P-8), and rights
policy templates.

Offline, on the author's computer: the CLC must exist (obtained while connected, P-1);
the author states rights (P-2); the computer issues and signs a publishing license with
the CLC key (P-3) holding the content key twice — sealed to the CLC key and to the key
of the server that issued the CLC — and that server's URL, all taken from the CLC (P-4);
it makes an owner license by unsealing the content key with the CLC private key and
sealing it again for the author's account key (P-5); and the content is encrypted with
the content key and the license attached to the file (P-6). Online, the server signs the
publishing license and returns the owner license; the file format is the same (P-8).

The rights data names the owner as well (MS-RMPR 2.2.9.8.5.1): written under the content
key, it is what lets a licensing server trust the owner the publishing license names.
A server issues publishing licenses and templates only while its SLC lets it (MS-RMPR
3.1.6.2). Clients keep their template archive in step with the server: templates the
server no longer publishes are deleted at the next download (MS-RMPR 1.3.3).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from typing import BinaryIO

from rmslab.actors.client import Client
from rmslab.actors.cluster import Cluster
from rmslab.actors.people import User
from rmslab.lab import Lab
from rmslab.crypto.content import ContentCipher
from rmslab.crypto.seal import seal, unseal
from rmslab.crypto.rsa import PrivateKey, PublicKey
from rmslab.errors import NotConnectedError, NotEnrolledError, RefusedError, VerificationError
from rmslab.flows._common import require_slc_in_force
from rmslab.rights import Grant, RightsPolicy
from rmslab.trace import DocumentRef, Trace
from rmslab.xrml.licenses import (content_license_body, publishing_license_body,
                                  rights_data_text, template_body)
from rmslab.xrml.model import Principal
from rmslab.xrml.pfile import container_header
from rmslab.xrml.document import XrmlDocument
from rmslab.xrml.reader import parse
from rmslab.trust import validate_chain
from rmslab.xrml.writer import sign

__all__ = ["Protected", "publish_offline", "publish_online", "issue_template",
           "archive_template", "policy_from_template", "download_templates",
           "OWNER_LICENSE_LIFETIME", "TEMPLATE_REMOVAL_RULE"]

#: Templates removed on the server are removed from clients (no SPEC ID covers it).
TEMPLATE_REMOVAL_RULE = "MS-RMPR 1.3.3"

OWNER_LICENSE_LIFETIME = timedelta(days=365)


@dataclass(frozen=True)
class Protected:
    """The outcome of protecting content: the license chain attached to the file, the
    owner license kept in the author's store, and the content ID."""

    publishing_license: str
    owner_license: str
    content_id: str
    trace: Trace


def _account_principal(client: Client, user: User) -> Principal:
    """The user's account principal of the RAC on ``client`` — who owner and use licenses
    are for."""
    return client.account(user.name).rac.principals[0].identity(with_levels=False)


def _encrypted_rights(cipher: ContentCipher, content_id: str, policy: RightsPolicy,
                      owner: str) -> bytes:
    """The rights data, encrypted with the content key: only who can open the content key
    reads them (docs/wire-format.md "Encrypted-Rights-Data"); they name the owner too (MS-RMPR
    2.2.9.8.5.1)."""
    return cipher.encrypt(rights_data_text(content_id=content_id, policy=policy,
                                           owner=owner).encode("utf-8"))


def _owner_license(lab: Lab, *, issuer: Principal, signer: PrivateKey, owner: Principal,
                   content_key: bytes, content_id: str, email: str,
                   publishing_license_id: str) -> str:
    """An owner license (P-5): OWNER for the author, the content key sealed to the author's
    account key, signed by whoever issued the publishing license."""
    assert owner.public_key is not None
    now = lab.now()
    body = content_license_body(
        id=lab.guid("license"), issued=now, issuer=issuer, user=owner,
        sealed_key=seal(content_key, owner.public_key, lab.random_bytes),
        content_id=content_id, owner=email, policy=RightsPolicy((Grant(email, ("OWNER",)),)),
        validity=(now, now + OWNER_LICENSE_LIFETIME), publishing_license_id=publishing_license_id)
    return sign(body, signer, lab.digest_algorithm)


def _write_protected(sink: BinaryIO, chain: str, cipher: ContentCipher,
                     content: bytes | BinaryIO, *, extension: str,
                     original_size: int | None) -> int:
    """The container (P-6): header with the license chain, then the content, encrypted as
    it streams. Returns the content's size."""
    sink.write(container_header(chain, extension=extension, original_size=original_size))
    source = io.BytesIO(content) if isinstance(content, bytes) else content
    return cipher.encrypt_stream(source, sink)


def publish_offline(client: Client, user: User, policy: RightsPolicy,
                    content: bytes | BinaryIO, sink: BinaryIO, *, extension: str = ".txt",
                    original_size: int | None = None) -> Protected:
    """Protect content on ``client`` without the server (P-1…P-6); the protected file is
    written to ``sink``."""
    lab = client.lab
    trace = Trace(f"Offline publishing by {user.email} on {client.name}")
    trace.step(user.email, "makes a document and states its rights and conditions", client.name,
               note="; ".join(policy.describe()))
    trace.check("P-2", "the author stated rights and conditions", bool(policy.grants),
                f"{len(policy.grants)} grant(s)")
    account = client.account(user.name)
    clc_chain = account.clc_text
    trace.check("P-1", f"{user.email} holds a CLC obtained while connected",
                clc_chain is not None,
                "" if clc_chain else "request a CLC while connected to the root cluster")
    if clc_chain is None:
        raise NotEnrolledError(f"{user.email} has no client licensor certificate on "
                               f"{client.name}: obtain one while connected", spec_id="P-1",
                               trace=trace)
    clc = parse(clc_chain)[0]
    clc_key = client.clc_key(user.name)
    server = clc.issuer
    assert server is not None and server.public_key is not None
    urls = clc.license_acquisition_urls or ((server.url or "") + "/licensing",)
    content_key = lab.random_bytes(16, "content-key")
    content_id = lab.guid("content")
    trace.step(client.name, "draws a fresh content key and takes the server's key and URL "
                            "from the CLC",
               keys=[f"content key (AES-128) for content {content_id}",
                     f"server key {server.public_key.short_fingerprint} (CLC issuer)",
                     f"CLC key {clc_key.public.short_fingerprint}"])
    cipher = ContentCipher(content_key, lab.mode)
    encrypted_rights = _encrypted_rights(cipher, content_id, policy, user.email)
    author = clc.principals[0].identity()
    body = publishing_license_body(
        id=lab.guid("license"), issued=lab.now(), issuer=author,
        license_point_id=lab.guid("point"), license_url=urls[0], server=server.identity(),
        server_sealed_key=seal(content_key, server.public_key, lab.random_bytes),
        author=author, author_sealed_key=seal(content_key, clc_key.public, lab.random_bytes),
        content_id=content_id, owner=user.email, encrypted_rights=encrypted_rights)
    pl = sign(body, clc_key, lab.digest_algorithm)
    trace.step(client.name, "issues and signs the publishing license with the CLC key",
               documents=[DocumentRef("publishing license", pl, "Microsoft Rights Label")],
               keys=[f"signed with the CLC key {clc_key.public.short_fingerprint}"])
    trace.check("P-3", "the publishing license is signed with the CLC key", True,
                "its ISSUER is the CLC's principal")
    trace.check("P-4", "the license holds the content key sealed to the CLC key and to the "
                       "server key, and the server's URL — all from the CLC", True,
                f"server {server.name} at {urls[0]}")
    # P-5: the owner license — unseal with the CLC private key, seal again for the account
    pl_doc = parse(pl)[0]
    author_copy = pl_doc.sealed_key_for(clc_key.public)
    assert author_copy is not None
    reopened = unseal(author_copy, clc_key)
    account_principal = _account_principal(client, user)
    assert account_principal.public_key is not None
    owner_license = _owner_license(lab, issuer=author, signer=clc_key, owner=account_principal,
                                   content_key=reopened, content_id=content_id,
                                   email=user.email, publishing_license_id=pl_doc.id or "")
    account.licenses[content_id] = owner_license + clc_chain
    trace.step(client.name, "makes the owner license: the CLC private key unseals the content "
                            "key, which is sealed again for the author's account key",
               documents=[DocumentRef("owner license", owner_license, "Content-License")],
               keys=[f"account key {account_principal.public_key.short_fingerprint}"])
    trace.check("P-5", "the owner license lets the author use the content offline",
                reopened == content_key, "the content key unsealed with the CLC key")
    chain = pl + clc_chain
    size = _write_protected(sink, chain, cipher, content, extension=extension,
                            original_size=original_size)
    trace.step("application", f"encrypts the content ({size} bytes) with the content key and "
                              "attaches the publishing license", client.name)
    trace.check("P-6", "the file is encrypted with the content key and carries the "
                       "publishing license", True,
                f"{'AES-128-CBC4K' if lab.mode == 2 else 'AES-128-ECB'} content, license chain "
                f"of {len(parse(chain))} documents")
    return Protected(chain, account.licenses[content_id], content_id, trace)


def publish_online(cluster: Cluster, client: Client, user: User, policy: RightsPolicy,
                   content: bytes | BinaryIO, sink: BinaryIO, *, extension: str = ".txt",
                   original_size: int | None = None) -> Protected:
    """The server signs the publishing license for a connected author and returns an owner
    license; the protected file has the same format as offline (P-8)."""
    lab = cluster.lab
    trace = Trace(f"Online publishing by {user.email} through {cluster.name}")
    reachable = client.connected and any(s.connected for s in cluster.servers)
    trace.step(client.name, "asks the server to publish", cluster.first_server.name,
               note="; ".join(policy.describe()))
    trace.check("P-8", f"{cluster.name} is reachable", reachable)
    if not reachable:
        raise NotConnectedError(f"{client.name} cannot reach {cluster.name}: publish offline "
                                "with a CLC", spec_id="P-8", trace=trace)
    require_slc_in_force(cluster, trace, "a publishing license")
    content_key = lab.random_bytes(16, "content-key")
    content_id = lab.guid("content")
    server = cluster.principal
    assert server.public_key is not None and cluster.slc_text is not None
    cipher = ContentCipher(content_key, lab.mode)
    encrypted_rights = _encrypted_rights(cipher, content_id, policy, user.email)
    body = publishing_license_body(
        id=lab.guid("license"), issued=lab.now(), issuer=server,
        license_point_id=lab.guid("point"), license_url=f"{cluster.url}/licensing",
        server=server, server_sealed_key=seal(content_key, server.public_key, lab.random_bytes),
        author=None, author_sealed_key=None, content_id=content_id, owner=user.email,
        encrypted_rights=encrypted_rights)
    pl = sign(body, cluster.key, lab.digest_algorithm)
    owner_license = _owner_license(lab, issuer=server, signer=cluster.key,
                                   owner=_account_principal(client, user),
                                   content_key=content_key, content_id=content_id,
                                   email=user.email, publishing_license_id=parse(pl)[0].id or "")
    client.account(user.name).licenses[content_id] = owner_license + cluster.slc_text
    trace.step(cluster.first_server.name, "signs the publishing license and an owner license "
                                          "for the author", client.name,
               documents=[DocumentRef("publishing license", pl, "Microsoft Rights Label"),
                          DocumentRef("owner license", owner_license, "Content-License")],
               keys=[f"signed with the cluster key {cluster.key.public.short_fingerprint}"])
    chain = pl + cluster.slc_text
    size = _write_protected(sink, chain, cipher, content, extension=extension,
                            original_size=original_size)
    trace.step("application", f"encrypts the content ({size} bytes) and attaches the license",
               client.name)
    trace.check("P-8", "online publishing yields the same protected-file format", True,
                "a .pfile container with the license chain and the encrypted content")
    return Protected(chain, client.account(user.name).licenses[content_id], content_id, trace)


def issue_template(cluster: Cluster, name: str, description: str,
                   policy: RightsPolicy) -> str:
    """A rights policy template signed by the cluster, with its SLC chain, published for
    distribution (publishedTemplates). Refused with
    :class:`~rmslab.errors.SlcExpiredError` when the SLC no longer lets the cluster issue
    (MS-RMPR 3.1.6.2)."""
    lab = cluster.lab
    require_slc_in_force(cluster, Trace(f"{cluster.name} issues the template {name}"),
                         "a rights policy template")
    body = template_body(id=lab.guid("template"), issued=lab.now(), issuer=cluster.principal,
                         name=name, description=description, policy=policy)
    assert cluster.slc_text is not None
    text = sign(body, cluster.key, lab.digest_algorithm) + cluster.slc_text
    cluster.templates[name] = text
    cluster.archived_templates.pop(name, None)
    return text


def archive_template(cluster: Cluster, name: str) -> Trace:
    """The administrator removes a template from distribution: it moves from the published
    templates to the archived ones, which the server still uses to evaluate publishing
    licenses but no longer sends to clients (MS-RMPR 3.1.1.1.1 publishedTemplates and
    archivedTemplates). Clients delete it at their next download (MS-RMPR 1.3.3)."""
    trace = Trace(f"{cluster.name} stops distributing the template {name}")
    text = cluster.templates.pop(name, None)
    if text is None:
        trace.check(TEMPLATE_REMOVAL_RULE, f"{cluster.name} publishes a template {name}", False,
                    f"it publishes {', '.join(sorted(cluster.templates)) or 'none'}")
        raise RefusedError(f"{cluster.name} publishes no template {name!r}",
                           spec_id=TEMPLATE_REMOVAL_RULE, trace=trace)
    cluster.archived_templates[name] = text
    trace.step(cluster.first_server.name, f"archives the template {name}: no longer "
                                          "distributed, still used for licensing",
               documents=[DocumentRef(f"template {name}", parse(text)[0].text,
                                      "Microsoft Official Rights Template")])
    return trace


def policy_from_template(template_text: str) -> RightsPolicy:
    """The rights a template grants (the template's chain is checked by the caller)."""
    document = parse(template_text)[0]
    rights_list = document.element.find("BODY/WORK/RIGHTSGROUP/RIGHTSLIST")
    if rights_list is None:
        from rmslab.errors import StructureError
        raise StructureError(f"{document.position}: the template grants no rights")
    return RightsPolicy.from_rights_list(rights_list, document.position)


def download_templates(cluster: Cluster, client: Client, user: User, *,
                       anchor: PublicKey) -> Trace:
    """The client brings the user's template archive in step with the cluster (MS-RMPR
    1.3.3): it asks which templates the cluster publishes — their GUIDs and hashes,
    AcquireTemplateInformation (3.4.4.2) — deletes the ones of this cluster it holds that
    are no longer published, and fetches the missing and changed ones, AcquireTemplates
    (3.4.4.3). Each fetched template must verify up to the root — templates are issued by
    an RMS server (D-5) — with validity at issuance, so a template stays good after the SLC
    it was issued under is renewed and expires."""
    trace = Trace(f"{client.name} downloads templates from {cluster.name} for {user.email}")
    trace.step(client.name, "asks for the rights policy templates", cluster.first_server.name)
    reachable = client.connected and any(s.connected for s in cluster.servers)
    trace.check("D-4", f"{cluster.name} is reachable for the template download", reachable)
    if not reachable:
        raise NotConnectedError(f"{client.name} cannot reach {cluster.name}", spec_id="D-4",
                                trace=trace)
    account = client.account(user.name)
    now = client.lab.now()
    published = {name: parse(text, source=f"template {name}")
                 for name, text in sorted(cluster.templates.items())}
    offered = {(chain[0].id, _template_hash(chain[0])) for chain in published.values()}
    server_key = cluster.key.public
    for name, text in sorted(account.templates.items()):
        held = parse(text, source=f"template {name}")[0]
        if (held.issuer_key != server_key or name in published
                or held.id in {guid for guid, _ in offered}):
            continue  # another server's, replaced below, or still published
        del account.templates[name]
        trace.check(TEMPLATE_REMOVAL_RULE, f"the template {name} is no longer published by "
                                           f"{cluster.name}: deleted from the archive", True,
                    f"its GUID {held.id} is not among the {len(offered)} the server lists")
    for name, chain in published.items():
        held_text = account.templates.get(name)
        if held_text is not None:
            held = parse(held_text, source=f"template {name}")[0]
            if (held.id, _template_hash(held)) == (chain[0].id, _template_hash(chain[0])):
                continue  # the same template, unchanged
        try:
            validate_chain(chain, anchor, at=now)
        except VerificationError as exc:
            trace.check("D-5", f"the template {name} is issued by an RMS server", False, str(exc))
            continue
        account.templates[name] = cluster.templates[name]
        trace.check("D-5", f"the template {name} is issued by an RMS server", True,
                    "it verifies up to the root")
    trace.step(cluster.first_server.name, f"sends {len(account.templates)} template(s)",
               client.name, documents=[DocumentRef(f"template {n}", parse(t)[0].text,
                                                   "Microsoft Official Rights Template")
                                       for n, t in sorted(account.templates.items())])
    return trace


def _template_hash(template: XrmlDocument) -> str:
    """What AcquireTemplateInformation lists beside a template's GUID: the VALUE of the
    DIGEST of its SIGNATURE (MS-RMPR 3.4.4.2.3.2)."""
    digest = template.signature.digest_value if template.signature else None
    return digest.hex() if digest else ""
