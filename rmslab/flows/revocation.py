"""Revocation at binding time, in the documented order (SPEC R-1…R-9).

(1) Does the use license require a revocation list? (2) If so, is the named list present
— registered in this application session, placed on the client by an administrator, or
downloaded from the license's URL — and fresh by the license's refresh interval? (3) Is
its signer named in the license as a principal that may revoke? (4) If all hold, is any
entity involved in the request revoked? A list registered in the session stays
registered until the application closes (R-5), and applies to every later binding whose
chain of trust holds a certificate issued by the list's signer — even when that license
does not require revocation (R-8) — or whose chain holds a certificate that names the
list's signer as a revoker: the third-party revocation authority an SLC names in its
CONDITIONLIST/REFRESH (MS-RMPR 2.2.9.3.4; E-4), whose lists apply to whatever that
SLC's cluster issued.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from rmslab.crypto.rsa import PublicKey
from rmslab.errors import InputError, NotConnectedError, VerificationError
from rmslab.revocation import RevocationIndex, revocation_authorities
from rmslab.rights import RevocationRequirement
from rmslab.trace import DocumentRef, Trace
from rmslab.xrml.reader import Chain, parse
from rmslab.xrml.verify import verify_document

if TYPE_CHECKING:
    from rmslab.actors.cluster import Cluster
    from rmslab.actors.web import Web
    from rmslab.crypto.rsa import PrivateKey
    from rmslab.flows.binding import AppSession
    from rmslab.lab import Lab
    from rmslab.revocation import Revoke

__all__ = ["revocation_checks", "register_list", "read_list", "involved_revocation", "issue_cluster_list",
           "issue_authority_list", "requirement_for", "revoke"]


def read_list(text: str, *, source: str) -> RevocationIndex:
    """Read a revocation list and verify its signature (R-2)."""
    document = parse(text, source=source)[0]
    verify_document(document)
    return RevocationIndex(document)


def register_list(session: "AppSession", text: str, *, source: str) -> RevocationIndex:
    """Verify a revocation list's signature and register it in the session (R-2, R-5)."""
    index = read_list(text, source=source)
    session.registered_lists[index.url or source] = index
    return index


def _obtain(session: "AppSession", requirement: RevocationRequirement,
            trace: Trace) -> RevocationIndex | None:
    """Find the required list: registered, placed on the client, or downloaded (R-4)."""
    url = requirement.url
    registered = session.registered_lists.get(url)
    if registered is not None:
        trace.check("R-5", "the required list is already registered in this session", True, url)
        return registered
    client = session.client
    text = client.placed_revocation_lists.get(url)
    how = "placed on the client by an administrator"
    if text is None and session.web is not None:
        try:
            text = session.web.fetch(url, connected=client.connected, who=client.name)
            how = "downloaded from the URL in the use license"
        except (NotConnectedError, InputError) as exc:
            trace.check("R-7", "the required revocation list is present", False,
                        f"not registered, not placed on {client.name}, and {exc}")
            return None
    if text is None:
        trace.check("R-7", "the required revocation list is present", False,
                    f"not registered, not placed on {client.name}, and nothing to download "
                    "it with")
        return None
    trace.step(session.application, f"obtains the revocation list: {how}", client.name,
               documents=[DocumentRef("revocation list", text, "Revocation-List")])
    trace.check("R-4", "the required revocation list is present", True, how)
    try:
        index = read_list(text, source=url)
    except (VerificationError, InputError) as exc:
        trace.check("R-2", "the revocation list's signature verifies", False, str(exc))
        return None
    trace.check("R-2", "the revocation list's signature verifies", True,
                f"{_entries(len(index))}, signed by "
                f"{index.signer_key.short_fingerprint if index.signer_key else '?'}")
    return index


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def involved_revocation(index: RevocationIndex, *, chains: list[Chain], content_id: str | None,
                        user_names: list[str], user_keys: list[PublicKey],
                        application: str, machine: str) -> str | None:
    """Which entity of the request the list revokes, if any (R-1, R-3 step 4)."""
    for chain in chains:
        for document in chain:
            if index.revokes_id("license-id", document.id):
                return f"the {document.kind_name} {document.id} (license-id)"
            if document.signature and index.revokes_hash(document.signature.digest_value):
                return f"the {document.kind_name} {document.id} (license-hash)"
            if index.revokes_key("issuer-key", document.issuer_key):
                issuer = document.issuer.label if document.issuer else "?"
                return f"the issuer {issuer} of the {document.kind_name} (issuer-key)"
            issuer_id = document.issuer.id if document.issuer else None
            if index.revokes_id("issuer-id", issuer_id):
                return f"the issuer {issuer_id} of the {document.kind_name} (issuer-id)"
    if index.revokes_id("content-id", content_id):
        return f"the content {content_id} (content-id)"
    for name in user_names + [application, machine]:
        if index.revokes_id("principal-id", name):
            return f"the principal {name} (principal-id)"
    for key in user_keys:
        if index.revokes_key("principal-key", key):
            return f"the principal key {key.short_fingerprint} (principal-key)"
    return None


def revocation_checks(session: "AppSession", *, use_license_chain: Chain,
                      license_chain: Chain, requirement: RevocationRequirement | None,
                      user_keys: list[PublicKey], trace: Trace) -> bool:
    """Run R-3's four steps (and R-7, R-8); record every check; True when binding may go on."""
    client = session.client
    now = client.lab.now()
    trace.step(client.name, "checks revocation before releasing the content key (R-3)")
    trace.check("R-3", "step 1: does the use license require a revocation list?", True,
                f"yes: {requirement.url}, refreshed every {requirement.interval_text}"
                if requirement else "no")
    applicable: list[tuple[str, RevocationIndex]] = []
    if requirement is not None:
        index = _obtain(session, requirement, trace)
        if index is None:
            return False
        fresh = index.fresh(now, requirement.interval)
        issued = f"{index.issued:%Y-%m-%d %H:%M}" if index.issued else "?"
        trace.check("R-7", "step 2: the list is registered and fresh", fresh,
                    f"issued {issued}, may be {requirement.interval_text} old at most "
                    f"(now {now:%Y-%m-%d %H:%M})")
        if not fresh:
            return False
        if session.registered_lists.get(requirement.url) is not index:
            session.registered_lists[requirement.url] = index
            trace.check("R-5", "the list is registered for the rest of this application "
                               "session", True, requirement.url)
        named = index.signer_key == requirement.revoker_key
        trace.check("R-3", "step 3: the list's signer is named in the use license as a "
                           "principal that may revoke", named,
                    "" if named else
                    f"the list is signed by {index.signer_key.short_fingerprint if index.signer_key else '?'}, "
                    f"but the use license names {requirement.revoker_key.short_fingerprint}")
        if not named:
            return False
        applicable.append((requirement.url, index))
    chains = (use_license_chain, license_chain)
    issuers = {d.issuer_key for chain in chains for d in chain if d.issuer_key is not None}
    authorities = {key: document for chain in chains for document in chain
                   for key in revocation_authorities(document)}
    for url, index in session.registered_lists.items():
        if any(index is chosen for _, chosen in applicable):
            continue
        if index.signer_key in issuers:
            trace.check("R-8", f"the list registered from {url} applies: its signer issued a "
                               "certificate in this binding's chain of trust", True)
            applicable.append((url, index))
        elif index.signer_key is not None and index.signer_key in authorities:
            named_by = authorities[index.signer_key]
            trace.check("R-8", f"the list registered from {url} applies: its signer is the "
                               f"revocation authority the {named_by.kind_name} {named_by.id} "
                               "in this binding's chain of trust names (its "
                               "CONDITIONLIST/REFRESH, MS-RMPR 2.2.9.3.4)",
                        True)
            applicable.append((url, index))
    user = session.user
    for url, index in applicable:
        found = involved_revocation(
            index, chains=[use_license_chain, license_chain],
            content_id=license_chain[0].content_id,
            user_names=[user.email, user.name],
            user_keys=user_keys, application=session.application, machine=client.name)
        if found is not None:
            trace.check("R-1", "step 4: no entity involved in the request is revoked", False,
                        f"{found} is revoked by the list at {url}")
            return False
    trace.check("R-3", "step 4: no entity involved in the request is revoked", True,
                f"{len(applicable)} list(s) consulted" if applicable else "no list applies")
    return True


def issue_cluster_list(cluster: "Cluster", url: str, entries: "list[Revoke]") -> str:
    """A revocation list signed by a cluster's key, for publication at ``url`` (R-2)."""
    from rmslab.revocation import issue_revocation_list
    lab = cluster.lab
    server = cluster.principal
    signer = replace(server.identity(with_levels=False), addresses=(("URL", url),))
    return issue_revocation_list(signer=signer, key=cluster.key, list_id=lab.guid("revocation"),
                                 issued=lab.now(), entries=entries,
                                 algorithm=lab.digest_algorithm)


def issue_authority_list(lab: "Lab", *, name: str, key: "PrivateKey", url: str,
                         entries: "list[Revoke]") -> str:
    """A revocation list signed by a third-party revocation authority (E-4, R-2)."""
    from rmslab.revocation import issue_revocation_list
    from rmslab.xrml.model import Principal
    signer = Principal("Revocation-Authority", lab.guid("revocation"), "MS-GUID", name,
                       (("URL", url),), key.public)
    return issue_revocation_list(signer=signer, key=key, list_id=lab.guid("revocation"),
                                 issued=lab.now(), entries=entries,
                                 algorithm=lab.digest_algorithm)


def requirement_for(url: str, revoker: PublicKey, *, interval_days: int = 7,
                    interval: timedelta | None = None, list_id: str = "",
                    name: str | None = None) -> RevocationRequirement:
    """What a license (or a template, R-6) writes to require the list at ``url``, no
    older than ``interval`` (any days, hours, minutes and seconds, MS-RMPR 2.2.9.9.10) or,
    without it, ``interval_days``."""
    return RevocationRequirement(url, list_id, revoker,
                                 interval if interval is not None
                                 else timedelta(days=interval_days), name)


def revoke(cluster: "Cluster", entries: "list[Revoke]", *, web: "Web | None" = None) -> Trace:
    """The cluster revokes more entities: its list is issued again with every entry so
    far, signed now, and published at its URL when ``web`` is given (R-2, R-4)."""
    trace = Trace(f"{cluster.name} revokes {_entries(len(entries))}" if entries
                  else f"{cluster.name} signs its revocation list again")
    cluster.revocations.extend(entries)
    text = issue_cluster_list(cluster, cluster.revocation_url, list(cluster.revocations))
    cluster.revocation_list = text
    trace.step(cluster.first_server.name, "signs a new revocation list",
               documents=[DocumentRef("revocation list", text, "Revocation-List")],
               keys=[f"signed with the cluster key {cluster.key.public.short_fingerprint}"])
    trace.check("R-2", "the list is a signed XrML document naming what is revoked", True,
                _entries(len(cluster.revocations)))
    if web is not None:
        web.publish(cluster.revocation_url, text)
        trace.step(cluster.first_server.name, f"publishes it at {cluster.revocation_url}")
        trace.check("R-4", "applications can download the list from its URL", True,
                    cluster.revocation_url)
    return trace
