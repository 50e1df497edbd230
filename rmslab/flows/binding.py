"""Binding: the step that lets a user use content (SPEC B-1, B-2, P-7; MS-RMPR 3.8,
2.2.9.7, 2.2.9.9).

An application session asks the client for one right (opening asks for VIEW, editing
for EDIT, …, B-1). The client checks, in order (B-2):

1. the publishing license in the file verifies up to the pinned root — digests,
   signatures, links, and time as :mod:`rmslab.trust` reads MS-RMPR (each document issued
   while the certificate above it could issue: a license signed while its CLC was in range
   stays good after the CLC ends); a changed BODY, a broken signature, a missing SLC
   chain, a replaced rights blob or a changed URL stop binding here, whether or not a use
   license is cached;
2. a use license for this content is in the user's store;
3. its chain verifies up to the pinned root, valid now;
4. **who issued it may issue it** (P-7, MS-RMPR 3.4.4.1 and 3.8.4.4). A use license binds
   only when it was issued by

   * a licensing server: its signing key is certified by a server licensor certificate
     (SLC) on its chain to the root. That is the server the publishing license names in
     its ISSUEDPRINCIPALS, or a server holding that server's key as a trusted publishing
     domain, which "uses the SLC and keyPair of the ServerState for issuing a UL"
     (MS-RMPR 3.4.4.1) — its own SLC, so the client cannot tell it from the named
     server by key, only by its certification; or
   * the author, offline: an owner license signed with the key of the CLC that signed
     *this* publishing license, issued to that CLC's own principal (MS-RMPR 3.8.4.4: "a UL
     for the owner … signed with the CLC private key").

   A CLC certifies a key for signing publishing licenses; it is not a licensing server. A
   use license signed by any other CLC — alice's, granting herself PRINT on bob's content,
   or granting carol anything — is refused, and so is an owner license made for anyone
   but the author;
5. it is for this user on this machine: its issued principal is the principal of the RAC
   on this machine, OBJECT and key (MS-RMPR 2.2.9.9.3: "copied verbatim from the … RAC");
6. it is for this publishing license: the same content ID, and the same OWNER, which a use
   license copies from the publishing license it was made from (MS-RMPR 2.2.9.9.5; a use
   license names no publishing license ID, 2.2.9.9);
7. it grants the right, and its conditions hold now (each right's own time: a use license
   has no VALIDITYTIME, 2.2.9.9.6);
8. revocation (R-3, in :mod:`rmslab.flows.revocation`).

Only then is the content key opened: the ENABLINGBITS of the right granted, with the
account key, their hash checked against the use license's ISSUER (MS-RMPR 2.2.9.1.13) —
bits moved from another license are refused (EnablingBitsHashDoesNotMatch) —, and the
content decrypted with the cipher the content key's KeyHeader names (ECB or CBC4K,
2.2.9.1.13.1), never one inferred from the cryptographic mode. Content and license IDs read from the file are
GUIDs or refused before anything is looked up with them (:func:`rmslab.xrml.ids.license_ids`).
:func:`explain_binding` runs every check and reports each; :func:`bind` raises
:class:`~rmslab.errors.BindingRefusedError` naming the first failed check and its rule.

The content itself carries no MAC, in RMS as here (MS-RMPR leaves the content format to
the application; the AES-ECB and CBC4K formats of protected files have none): a changed
ciphertext byte decrypts to changed plaintext without a word, unless it breaks the
padding of the last block (:class:`~rmslab.crypto.content.ContentDecryptionError`).
What binding vouches for is the key and the rights, not the bytes of the content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Mapping

from rmslab.actors.client import Client
from rmslab.actors.people import User
from rmslab.actors.web import Web
from rmslab.flows.revocation import involved_revocation, read_list, revocation_checks
from rmslab.revocation import RevocationIndex
from rmslab.crypto.content import ContentCipher
from rmslab.crypto.enabling_bits import (ContentKey, EnablingBitsError, EnablingBitsType,
                                         open_content_key)
from rmslab.crypto.rsa import PublicKey
from rmslab.errors import (BindingRefusedError, InputError, NotEnrolledError,
                           VerificationError)
from rmslab.rights import Grant, RightsPolicy, normalise_right
from rmslab.trace import Check, DocumentRef, Trace
from rmslab.trust import validate_chain
from rmslab.xrml.document import XrmlDocument
from rmslab.xrml.ids import license_ids
from rmslab.xrml.model import Principal
from rmslab.xrml.pfile import read_container_header
from rmslab.xrml.reader import Chain, parse

__all__ = ["AppSession", "Binding", "explain_binding", "bind", "open_protected",
           "verify_publishing_license", "revocations_not_applied"]

_SLC = "Server-Licensor-Certificate"
_CLC = "Client-Licensor-Certificate"


@dataclass
class AppSession:
    """An RMS-enabled application running on a client for one user."""

    client: Client
    user: User
    application: str = "rmslab viewer"
    closed: bool = False
    #: Where lists are downloaded from when a license requires one (R-4).
    web: Web | None = None
    #: Revocation lists registered in this session (R-5), by URL.
    registered_lists: dict[str, RevocationIndex] = field(default_factory=dict)
    _opened: dict[str, Chain] = field(default_factory=dict, repr=False)

    def read(self, license_chain: str) -> Chain:
        """The publishing license chain of a document the application opened, parsed once."""
        chain = self._opened.get(license_chain)
        if chain is None:
            chain = self._opened[license_chain] = parse(license_chain,
                                                        source="publishing license")
        return chain

    def close(self) -> None:
        """Closing the application clears what the session registered (R-5)."""
        self.registered_lists.clear()
        self._opened.clear()
        self.closed = True

    def reopen(self) -> "AppSession":
        """The same application started again: a new session, nothing registered."""
        return AppSession(self.client, self.user, self.application, web=self.web)


@dataclass(frozen=True)
class Binding:
    """The outcome of binding: every check made, and the content key when all passed.
    ``use_license`` is the license chain that was checked (None when the store held
    none); ``issued_by`` says who issued it, as the issuer check found."""

    right: str
    trace: Trace
    content: ContentKey | None
    use_license: Chain | None = None
    issued_by: str = ""

    @property
    def content_key(self) -> bytes | None:
        """The content key's bytes, when binding allowed."""
        return self.content.key if self.content is not None else None

    @property
    def cipher(self) -> ContentCipher:
        """The content cipher the key's KeyHeader names (MS-RMPR 2.2.9.1.13.1)."""
        assert self.content is not None
        return ContentCipher(self.content.key, self.content.content_mode)

    @property
    def allowed(self) -> bool:
        return self.content_key is not None

    @property
    def checks(self) -> list[Check]:
        return self.trace.checks

    @property
    def failed(self) -> Check | None:
        failed = self.trace.failed_checks
        return failed[0] if failed else None

    def __repr__(self) -> str:
        if self.allowed:
            return f"<Binding {self.right}: allowed after {len(self.checks)} checks>"
        failed = self.failed
        assert failed is not None
        return f"<Binding {self.right}: refused — {failed}>"


def _same_object(a: Principal, b: Principal) -> bool:
    """Whether two principals name the same OBJECT (type, ID and its type, name)."""
    return ((a.object_type, a.id_type, a.id, (a.name or "").lower())
            == (b.object_type, b.id_type, b.id, (b.name or "").lower()))


def _issuer_check(use_license: XrmlDocument, certifier: XrmlDocument | None,
                  pl: XrmlDocument) -> tuple[bool, str]:
    """Whether the use license was issued by whom may issue it (P-7; the module
    docstring), and a reason that names the issuer."""
    issuer = use_license.issuer
    who = issuer.label if issuer is not None else "an unnamed issuer"
    key = use_license.issuer_key
    if certifier is None:
        return False, (f"it is signed by {who} with the pinned root's own key, and the root "
                       "issues no use licenses")
    if certifier.kind == _SLC:
        named = pl.principals[0] if pl.principals else None
        if named is not None and named.public_key == key:
            return True, (f"issued by {who}, the licensing server the publishing license "
                          "names")
        slc = f"SLC {certifier.id}" if certifier.id else "SLC"
        return True, (f"issued by {who}, a licensing server certified by its own {slc} — "
                      "not the server the publishing license names, so one that holds that "
                      "server's key as a trusted publishing domain (MS-RMPR 3.4.4.1)")
    if certifier.kind == _CLC:
        author = certifier.principals[0] if certifier.principals else None
        holder = use_license.principals[0] if use_license.principals else None
        if pl.issuer_key != key:
            return False, (f"signed by {who} with a client licensor certificate's key, but "
                           "not the one that signed this publishing license: a CLC issues no "
                           "use licenses, except its author's owner license")
        if author is None or holder is None or not _same_object(holder, author):
            return False, (f"an owner license signed by the author {who}'s CLC, but issued to "
                           f"{holder.label if holder else 'nobody'}: the author's CLC makes an "
                           "owner license for the author alone")
        return True, (f"issued offline by the author {who} with the CLC that signed this "
                      "publishing license: the author's owner license (MS-RMPR 3.8.4.4)")
    return False, (f"signed by {who}, whose key a {certifier.kind_name} certifies: only a "
                   "licensing server (SLC) or the author's own CLC issues use licenses")


def _policy(use_license: XrmlDocument, holder: str) -> RightsPolicy:
    """The rights of a use license, all for its one issued principal (``holder``,
    MS-RMPR 2.2.9.9.3), and its revocation point (WORK/CONDITIONLIST, 2.2.9.9.10)."""
    work = use_license.element.find("BODY/WORK")
    if work is None or work.find("RIGHTSGROUP/RIGHTSLIST") is None:
        return RightsPolicy(())
    policy = RightsPolicy.from_work(work, use_license.position)
    return RightsPolicy(tuple(Grant(holder, g.rights, g.not_before, g.not_after)
                              for g in policy.grants), policy.not_after, policy.caching_days,
                        policy.revocation)


def _bits_for(use_license: XrmlDocument, right: str) -> tuple[bytes, EnablingBitsType] | None:
    """The ENABLINGBITS of the use license's right that allows ``right`` (OWNER allows
    every right), as written in its ACCESS/PRINCIPAL (MS-RMPR 2.2.9.9.6)."""
    import base64
    for entry in use_license.element.iterfind("BODY/WORK/RIGHTSGROUP/RIGHTSLIST/*"):
        if not isinstance(entry.tag, str):
            continue
        name = entry.get("name") if entry.tag == "RIGHT" else entry.tag
        if name not in (right, "OWNER"):
            continue
        bits = entry.find(".//ACCESS/PRINCIPAL/ENABLINGBITS")
        if bits is None:
            continue
        try:
            return (base64.b64decode(bits.findtext("VALUE") or "", validate=True),
                    EnablingBitsType.from_attribute(bits.get("type", "")))
        except (ValueError, EnablingBitsError):
            return b"", EnablingBitsType.SEALED_KEY
    return None


def verify_publishing_license(chain: Chain, anchor: PublicKey, *,
                              now: datetime) -> tuple[bool, str]:
    """Whether the publishing license chain of a file verifies up to ``anchor`` at ``now``
    (MS-RMPR 3.8, 2.2.9.7; time as :func:`rmslab.trust.validate_chain` reads it), and
    why."""
    try:
        validated = validate_chain(chain, anchor, at=now)
    except VerificationError as exc:
        return False, str(exc)
    return True, (f"{len(validated.path)} documents to the pinned root, each issued while "
                  f"its issuer could issue (checked at {now:%Y-%m-%d %H:%M} UTC)")


def explain_binding(session: AppSession, license_chain: str, right: str, *,
                    anchor: PublicKey) -> Binding:
    """Run every binding check for ``right`` on the content whose publishing license
    chain is ``license_chain``; never raises for a failed check (an ID that is not a
    GUID is not a failed check but unreadable input: :class:`StructureError`)."""
    right = normalise_right(right)
    client, user = session.client, session.user
    lab = client.lab
    now = lab.now()
    pl_chain = session.read(license_chain)
    pl = pl_chain[0]
    content_id, license_id = license_ids(pl)
    trace = Trace(f"{session.application} asks to {right} as {user.email} on {client.name}")
    trace.step(session.application, f"asks for the right {right}", client.name,
               documents=[DocumentRef("publishing license", pl.text, pl.kind)])
    trace.check("B-1", f"the application asks for one right: {right}", True)
    chain: Chain | None = None
    issued_by = ""

    def refused() -> Binding:
        return Binding(right, trace, None, chain, issued_by)

    verified, reason = verify_publishing_license(pl_chain, anchor, now=now)
    trace.check("B-2", "the publishing license in the file verifies up to the root", verified,
                reason)
    if not verified:
        return refused()
    try:
        account = client.account(user.name)
    except NotEnrolledError as exc:
        trace.check("B-2", f"{user.email} has a rights account certificate on {client.name}",
                    False, exc.reason)
        return refused()
    stored = account.licenses.get(content_id)
    chain = account.read(stored, "use license") if stored else None
    trace.step(client.name, "looks for a use license for this content in the license store",
               documents=[DocumentRef("use license", chain[0].text, "Content-License")]
               if chain else [])
    trace.check("B-2", "a use license for this content is in the store", stored is not None,
                "found" if stored else "none: acquire a use license first (L-1)")
    if chain is None:
        return refused()
    use_license = chain[0]
    try:
        validated = validate_chain(chain, anchor, at=now)
        trace.check("B-2", "the use license's chain verifies up to the root", True,
                    f"{len(validated.path)} documents to the pinned root")
    except VerificationError as exc:
        trace.check("B-2", "the use license's chain verifies up to the root", False, str(exc))
        return refused()
    certifier = validated.path[1].document if len(validated.path) > 1 else None
    may_issue, issued_by = _issuer_check(use_license, certifier, pl)
    trace.check("P-7", "the use license was issued by a licensing server or, offline, by the "
                       "author's own CLC for the author", may_issue, issued_by)
    if not may_issue:
        return refused()
    rac_principal = account.rac.principals[0] if account.rac.principals else None
    account_key = rac_principal.public_key if rac_principal is not None else None
    holder = use_license.principals[0] if use_license.principals else None
    for_user = (holder is not None and rac_principal is not None
                and holder.public_key == account_key and _same_object(holder, rac_principal))
    trace.check("B-2", f"the use license is for {user.email} on this machine", for_user,
                "its principal is the principal of this machine's RAC, object and key"
                if for_user else
                f"it was issued to {holder.label if holder else 'nobody'}"
                + (", with another key" if holder is not None and account_key is not None
                   and holder.public_key != account_key else
                   ", a principal other than the RAC's" if holder is not None else ""))
    same_content = use_license.content_id == content_id
    same_owner = (use_license.owner or "").lower() == (pl.owner or "").lower()
    for_license = same_content and same_owner
    trace.check("B-2", "the use license is for this publishing license", for_license,
                (f"content {content_id}, owner {pl.owner or '-'} (a use license copies both "
                 "from its publishing license)" if for_license else
                 f"it is for content {use_license.content_id}, not {content_id}"
                 if not same_content else
                 f"it names the owner {use_license.owner or '-'}, the publishing license "
                 f"{pl.owner or '-'}"))
    policy = _policy(use_license, user.email)
    grants = [g for g in policy.for_user(user.email) if g.allows(right)]
    trace.check("B-2", f"the use license grants {right}", bool(grants),
                f"it grants {', '.join(policy.rights_of(user.email)) or 'nothing'}")
    in_time = any((g.not_before is None or g.not_before <= now)
                  and (g.not_after is None or now <= g.not_after) for g in grants)
    if grants:
        why = f"checked at {now:%Y-%m-%d %H:%M} UTC"
        if not in_time:
            ends = [g.not_after for g in grants if g.not_after and g.not_after < now]
            starts = [g.not_before for g in grants if g.not_before and g.not_before > now]
            why += (f": the right expired on {max(ends):%Y-%m-%d %H:%M} UTC" if ends else
                    f": the right is not valid before {min(starts):%Y-%m-%d %H:%M} UTC")
        trace.check("B-2", f"the conditions of {right} hold now", in_time, why)
    if trace.failed_checks:
        return refused()
    machine_key = client.machine_key.public
    if not revocation_checks(session, use_license_chain=chain, license_chain=pl_chain,
                             requirement=policy.revocation,
                             user_keys=[k for k in (account_key, machine_key) if k],
                             trace=trace):
        return refused()
    found = _bits_for(use_license, right)
    try:
        if found is None:
            raise EnablingBitsError(f"the use license holds no enabling bits for {right}")
        content = open_content_key(found[0], client.account_key(user.name),
                                   bound_to=use_license.element_text("BODY/ISSUER"),
                                   bits_type=found[1])
        content.content_mode  # a cipher rmslab can run, or refused here
    except EnablingBitsError as exc:
        trace.check("B-2", "the content key is released", False, str(exc))
        return refused()
    trace.step(client.name, "releases the content key to the application", session.application,
               keys=[f"content key unsealed with {user.email}'s account key"])
    trace.check("B-2", "the content key is released", True,
                f"all checks passed; the content cipher is {content.cipher.label}, as the "
                "key's KeyHeader says")
    return Binding(right, trace, content, chain, issued_by)


def bind(session: AppSession, license_chain: str, right: str, *,
         anchor: PublicKey) -> Binding:
    """Bind, or raise :class:`BindingRefusedError` naming the failed check and rule."""
    binding = explain_binding(session, license_chain, right, anchor=anchor)
    failed = binding.failed
    if failed is not None:
        reason = f"binding refused: {failed.spec_id} — {failed.description}"
        if failed.reason:
            reason += f": {failed.reason}"
        raise BindingRefusedError(reason, spec_id=failed.spec_id, trace=binding.trace,
                                  check=failed)
    return binding


def open_protected(session: AppSession, source: BinaryIO, sink: BinaryIO, right: str, *,
                   anchor: PublicKey) -> Binding:
    """Read a protected file from ``source``, bind for ``right``, and stream the decrypted
    content into ``sink``. Nothing is written to ``sink`` unless binding allowed it. The
    content has no MAC (module docstring): a changed ciphertext byte yields changed
    plaintext; only a broken padding of the last block is noticed
    (:class:`~rmslab.crypto.content.ContentDecryptionError`), after the rest was written."""
    header = read_container_header(source)
    from rmslab.xrml.source import decode_text
    license_chain = decode_text(header.license_bytes)
    binding = bind(session, license_chain, right, anchor=anchor)
    size = binding.cipher.decrypt_stream(source, sink)
    binding.trace.step(session.application, f"decrypts the content ({size} bytes)")
    return binding


def revocations_not_applied(session: AppSession, binding: Binding, license_chain: str,
                            lists: Mapping[str, str]) -> list[str]:
    """For a binding that was allowed: each list of ``lists`` (URL → signed text, e.g. the
    lists a deployment's clusters signed) that revokes an entity of this request although
    binding went ahead, with why it did not apply. That is correct RMS: a use license that
    requires no revocation list is not checked against one (R-3 step 1, R-6), and any other
    list applies only when registered in the session and signed by an issuer in the
    binding's chain of trust (R-8). A list that does not verify is skipped."""
    if not binding.allowed or binding.use_license is None:
        return []
    ul_chain, pl_chain = binding.use_license, session.read(license_chain)
    requirement = _policy(ul_chain[0], session.user.email).revocation
    client, user = session.client, session.user
    keys = [k for k in (ul_chain[0].principals[0].public_key if ul_chain[0].principals
                        else None, client.machine_key.public) if k is not None]
    notes = []
    for url, text in sorted(lists.items()):
        try:
            index = read_list(text, source=url)
        except (InputError, VerificationError):
            continue
        found = involved_revocation(index, chains=[ul_chain, pl_chain],
                                    content_id=pl_chain[0].content_id,
                                    user_names=[user.email, user.name], user_keys=keys,
                                    application=session.application, machine=client.name)
        if found is None:
            continue
        if requirement is None:
            why = ("the use license requires no revocation list (R-3 step 1), and a list "
                   "applies to such a license only when it is registered in the session and "
                   "its signer issued part of the chain (R-8)")
        else:
            why = (f"the use license requires only the list at {requirement.url}, and this "
                   "one is not registered in the session with a signer in the chain (R-8)")
        notes.append(f"{found} is revoked by the list at {url}, yet {user.email} may "
                     f"{binding.right}: {why}. Revocation is optional in RMS and applies only "
                     "where a license requires it (R-6): this is correct behaviour.")
    return notes
