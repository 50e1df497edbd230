"""Binding: the step that lets a user use content (SPEC B-1, B-2).

An application session asks the client for one right (opening asks for VIEW, editing
for EDIT, …, B-1). The client checks, in order: a use license for this content is in
the user's store; its chain verifies up to the pinned root; it is for this user (its
principal holds the account key of this machine's RAC); it is for this content; it
grants the right; its conditions hold now (validity and the right's time window). Only
then is the content key unsealed (B-2). :func:`explain_binding` runs every check and
reports each; :func:`bind` raises :class:`~rmslab.errors.BindingRefusedError` naming the
first failed check and its rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from rmslab.actors.client import Client
from rmslab.actors.people import User
from rmslab.actors.web import Web
from rmslab.flows.revocation import revocation_checks
from rmslab.revocation import RevocationIndex
from rmslab.crypto.content import ContentCipher
from rmslab.crypto.rsa import PublicKey
from rmslab.crypto.seal import SealError, unseal
from rmslab.errors import BindingRefusedError, NotEnrolledError, VerificationError
from rmslab.rights import RightsPolicy, normalise_right
from rmslab.trace import Check, DocumentRef, Trace
from rmslab.trust import validate_chain
from rmslab.xrml.pfile import read_container_header
from rmslab.xrml.reader import Chain, parse

__all__ = ["AppSession", "Binding", "explain_binding", "bind", "open_protected"]


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
    """The outcome of binding: every check made, and the content key when all passed."""

    right: str
    trace: Trace
    content_key: bytes | None
    mode: int

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


def explain_binding(session: AppSession, license_chain: str, right: str, *,
                    anchor: PublicKey) -> Binding:
    """Run every binding check for ``right`` on the content whose publishing license
    chain is ``license_chain``; never raises for a failed check."""
    right = normalise_right(right)
    client, user = session.client, session.user
    lab = client.lab
    now = lab.now()
    trace = Trace(f"{session.application} asks to {right} as {user.email} on {client.name}")
    pl = session.read(license_chain)[0]
    content_id = pl.content_id or ""
    trace.step(session.application, f"asks for the right {right}", client.name,
               documents=[DocumentRef("publishing license", pl.text, pl.kind)])
    trace.check("B-1", f"the application asks for one right: {right}", True)

    def refused() -> Binding:
        return Binding(right, trace, None, lab.mode)

    try:
        account = client.account(user.name)
    except NotEnrolledError as exc:
        trace.check("B-2", f"{user.email} has a rights account certificate on {client.name}",
                    False, exc.reason)
        return refused()
    stored = account.licenses.get(content_id)
    chain: Chain | None = account.read(stored, "use license") if stored else None
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
    account_key = account.rac.principals[0].public_key
    holder = use_license.principals[0] if use_license.principals else None
    for_user = holder is not None and holder.public_key == account_key
    trace.check("B-2", f"the use license is for {user.email} on this machine", for_user,
                "its principal holds the account key of this machine's RAC" if for_user else
                f"it was issued to {holder.name if holder else 'nobody'} with another key")
    for_content = use_license.content_id == content_id
    trace.check("B-2", "the use license is for this content", for_content,
                f"content {use_license.content_id}" + ("" if for_content else
                                                       f", not {content_id}"))
    rights_list = use_license.element.find("BODY/WORK/RIGHTSGROUP/RIGHTSLIST")
    policy = (RightsPolicy.from_rights_list(rights_list, use_license.position)
              if rights_list is not None else RightsPolicy(()))
    grants = [g for g in policy.for_user(user.email) if g.allows(right)]
    trace.check("B-2", f"the use license grants {right}", bool(grants),
                f"it grants {', '.join(policy.rights_of(user.email)) or 'nothing'}")
    in_time = any((g.not_before is None or g.not_before <= now)
                  and (g.not_after is None or now <= g.not_after) for g in grants)
    if grants:
        trace.check("B-2", f"the conditions of {right} hold now", in_time,
                    f"checked at {now:%Y-%m-%d %H:%M} UTC")
    if trace.failed_checks:
        return refused()
    machine_key = client.machine_key.public
    if not revocation_checks(session, use_license_chain=chain,
                             license_chain=session.read(license_chain),
                             requirement=policy.revocation,
                             user_keys=[k for k in (account_key, machine_key) if k],
                             trace=trace):
        return refused()
    sealed = use_license.sealed_key_for(account_key) if account_key else None
    try:
        content_key = unseal(sealed or b"", client.account_key(user.name))
    except SealError as exc:
        trace.check("B-2", "the content key is released", False, str(exc))
        return refused()
    trace.step(client.name, "releases the content key to the application", session.application,
               keys=[f"content key unsealed with {user.email}'s account key"])
    trace.check("B-2", "the content key is released", True, "all checks passed")
    return Binding(right, trace, content_key, 2 if pl.mode == 2 else 1)


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
    content into ``sink``."""
    header = read_container_header(source)
    from rmslab.xrml.source import decode_text
    license_chain = decode_text(header.license_bytes)
    binding = bind(session, license_chain, right, anchor=anchor)
    assert binding.content_key is not None
    cipher = ContentCipher(binding.content_key, binding.mode)
    size = cipher.decrypt_stream(source, sink)
    binding.trace.step(session.application, f"decrypts the content ({size} bytes)")
    return binding


