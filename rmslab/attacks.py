"""Attacks and what stops them (issue 15; notebook 12): each attack is one call that
performs it in the default lab and returns an :class:`AttackResult` — what was done, what
answered each attempt (the check, with its rule ID in docs/rules.md, or the section of
docs/wire-format.md it rests on), and what stops the attack, or the plain statement that
nothing in the system can.

* :func:`tamper_with_body` — bob edits his use license (VIEW → PRINT): the digest, then
  the signature (B-2);
* :func:`wrap_signature` — a second BODY, a moved SIGNATURE: the reader;
* :func:`substitute_key` — another key in a document: issuer-key-not-found, then
  bad-signature;
* :func:`replay_use_license` — bob's use license in carol's store: binding (B-2);
* :func:`roll_back_the_clock` — the lab's store refuses; a client in the field: nothing;
* :func:`move_enabling_bits` — the binding hash (MS-RMPR 2.2.9.1.13, 3.5.4.1), or the
  digest;
* :func:`strip_protection` — VIEW releases the key, a modified application writes the
  plaintext: nothing;
* :func:`ecb_picture` — mode-1 content in ECB shows the picture: nothing in mode 1;
  mode 2's CBC4K, and the audit (RMS-003);
* :func:`key_sealing_paddings` — PKCS#1 v1.5 (mode 1) against OAEP (mode 2);
* :func:`forge_use_license` — a use license signed with a CLC: P-7;
* :func:`hide_tampered_publishing_license` — a changed publishing license behind a cached
  use license: B-2.

The same outcomes are asserted outside the notebook by tests/attacks/test_attacks_notebook.py,
beside the attack tests that came first (tests/attacks/test_forged_use_license.py,
tests/attacks/test_cached_license_tampered_pl.py, tests/attacks/test_clock.py).

Enabling bits: every key the flows seal is in the format of MS-RMPR 2.2.9.1.13
(:mod:`rmslab.crypto.enabling_bits`), so :func:`move_enabling_bits` moves the real bits of
real use licenses.
"""

from __future__ import annotations

import base64
import html
import io
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from lxml import etree

from rmslab.actors.client import Client
from rmslab.crypto import enabling_bits as eb
from rmslab.crypto.content import ContentCipher
from rmslab.crypto.rsa import PrivateKey, PublicKey
from rmslab.crypto.rsa_padding import PaddedBlock, padded_block
from rmslab.errors import SealError
from rmslab.deployment import Deployment, standard_deployment
from rmslab.errors import LabTamperedError, RmslabError
from rmslab.flows.binding import AppSession, Binding, explain_binding
from rmslab.flows.licensing import acquire_use_license
from rmslab.flows.publishing import publish_online
from rmslab.lab import Lab
from rmslab.report import examine
from rmslab.rights import Grant, RightsPolicy
from rmslab.rules import rule_anchor
from rmslab.samples import teaching_chain
from rmslab.teaching import tamper, with_body
from rmslab.viz.bitmap import Bitmap, padlock, side_by_side
from rmslab.xrml.document import XrmlDocument
from rmslab.xrml.model import Principal, parse_time
from rmslab.xrml.pfile import read_protected_file, write_protected_file
from rmslab.xrml.reader import Chain, parse, read_chain
from rmslab.xrml.writer import principal_xml, sign

__all__ = ["Outcome", "AttackResult", "StrippedContent", "EcbPicture", "KeySealing",
           "Scene", "scene", "publish_for_bob", "WRAPPINGS", "wrapped_use_license",
           "write_plaintext",
           "tamper_with_body", "wrap_signature", "substitute_key", "replay_use_license",
           "roll_back_the_clock", "move_enabling_bits", "strip_protection", "ecb_picture",
           "key_sealing_paddings", "forge_use_license", "hide_tampered_publishing_license",
           "ATTACKS", "MINUTES"]

#: What alice protects for bob in every attack.
MINUTES = b"Board minutes: the merger closes on Friday.\n"
BOB, CAROL = "bob@contoso.example", "carol@contoso.example"

#: Where a reference that is not a rule points (in the repository's docs/).
DIGEST_DOC = "docs/wire-format.md#signature"
ENVELOPE_DOC = "docs/wire-format.md#envelope"
CHAIN_DOC = "docs/wire-format.md#chains-and-the-anchor"
MODES_DOC = "docs/wire-format.md#cryptographic-modes"
SEALED_KEY_DOC = "docs/wire-format.md#what-is-rmslabs-own"
CLOCK_DOC = "docs/cli.md#rmslab-lab-advance"


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One attempt: what was tried, whether something stopped it, what did (a check's
    words, or "nothing"), the rule it enforces, the refusal's own words, and where to
    read about the check when it has no rule ID."""

    tried: str
    stopped: bool
    by: str
    rule: str | None = None
    reason: str = ""
    reference: str | None = None

    @property
    def link(self) -> str | None:
        """Where the check is explained, relative to the repository: the rule's entry in
        docs/rules.md, or :attr:`reference`."""
        if self.rule is not None:
            return f"docs/rules.md#{rule_anchor(self.rule)}"
        return self.reference

    def to_text(self) -> str:
        mark = "✗ stopped" if self.stopped else "✓ went through"
        rule = f" [{self.rule}]" if self.rule else ""
        where = f" ({self.link})" if self.link else ""
        lines = [f"{self.tried}", f"    {mark} — by {self.by}{rule}{where}"]
        if self.reason:
            lines.append(f"    {self.reason}")
        return "\n".join(lines)


@dataclass(frozen=True, kw_only=True)
class AttackResult:
    """An attack performed: what the attacker did, each attempt's outcome, and what stops
    the attack — or that nothing in the system can (``stoppable`` False)."""

    number: str
    title: str
    attack: str
    outcomes: tuple[Outcome, ...]
    stoppable: bool
    conclusion: str
    details: tuple[str, ...] = ()

    @property
    def stopped(self) -> bool:
        """Whether every attempt was stopped."""
        return all(o.stopped for o in self.outcomes)

    @property
    def rules(self) -> tuple[str, ...]:
        """The rule IDs of the checks that stopped an attempt, in order, once each."""
        seen: list[str] = []
        for outcome in self.outcomes:
            if outcome.stopped and outcome.rule and outcome.rule not in seen:
                seen.append(outcome.rule)
        return tuple(seen)

    def to_text(self) -> str:
        lines = [f"Attack {self.number}: {self.title}", f"  {self.attack}"]
        for outcome in self.outcomes:
            lines.append("  " + outcome.to_text().replace("\n", "\n  "))
        lines += [f"  {line}" for line in self.details]
        head = "what stops it" if self.stoppable else "NOTHING in the system can stop it"
        lines.append(f"  → {head}: {self.conclusion}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        """The same as a small table, each rule linked to its entry in docs/rules.md
        (links relative to notebooks/)."""
        e = html.escape
        rows = []
        for o in self.outcomes:
            link = o.link
            check = e(o.by) + (f" [{e(o.rule)}]" if o.rule else "")
            if link:
                check = f'<a href="../{e(link)}">{check}</a>'
            # from the defender's side: an attempt stopped is good news
            mark = ("<b style='color:#070'>✗ stopped</b>" if o.stopped
                    else "<b style='color:#a00'>✓ went through</b>")
            rows.append(f"<tr><td style='text-align:left'>{e(o.tried)}</td><td>{mark}</td>"
                        f"<td style='text-align:left'>{check}<br><small>{e(o.reason)}"
                        "</small></td></tr>")
        details = "".join(f"<li><code>{e(d)}</code></li>" for d in self.details)
        head = "What stops it" if self.stoppable else "Nothing in the system can stop it"
        return (f"<div><p><b>Attack {self.number}: {e(self.title)}</b><br>{e(self.attack)}</p>"
                "<table><tr><th>attempt</th><th>outcome</th><th>what answered</th></tr>"
                + "".join(rows) + "</table>"
                + (f"<ul>{details}</ul>" if details else "")
                + f"<p><b>{head}:</b> {e(self.conclusion)}</p></div>")


@dataclass(frozen=True, kw_only=True, repr=False)
class StrippedContent(AttackResult):
    """:func:`strip_protection`: the key released for VIEW, and what the modified
    application wrote with it."""

    content_key: bytes
    written: bytes


@dataclass(frozen=True, kw_only=True, repr=False)
class EcbPicture(AttackResult):
    """:func:`ecb_picture`: the picture, and what each mode made of it."""

    picture: Bitmap
    ecb: Bitmap
    cbc4k: Bitmap
    #: distinct 16-byte blocks in the picture's bytes, under ECB and under CBC4K
    distinct_blocks: dict[str, int]

    @property
    def pictures(self) -> Bitmap:
        """The picture, its ECB ciphertext and its CBC4K ciphertext, side by side."""
        return side_by_side(self.picture, self.ecb, self.cbc4k)


@dataclass(frozen=True, kw_only=True, repr=False)
class KeySealing(AttackResult):
    """:func:`key_sealing_paddings`: the two encoded blocks."""

    mode1: PaddedBlock
    mode2: PaddedBlock


# --- the scene -------------------------------------------------------------------------------


@dataclass
class Scene:
    """alice has protected :data:`MINUTES` for bob (VIEW) online with contoso-root; bob
    holds his use license. ``protected_file`` is the file's bytes."""

    deployment: Deployment
    license_chain: str
    content_id: str
    protected_file: bytes

    @property
    def anchor(self) -> PublicKey:
        return self.deployment.enrollment_service.anchor

    def client(self, user: str) -> Client:
        return self.deployment.clients[f"{user.upper()}-PC"]

    def session(self, user: str) -> AppSession:
        return AppSession(self.client(user), self.deployment.user(user))

    def use_license(self, user: str = "bob") -> str:
        return self.client(user).account(user).licenses[self.content_id]

    def store(self, user: str, text: str) -> None:
        self.client(user).account(user).licenses[self.content_id] = text

    def bind(self, user: str, right: str, license_chain: str | None = None) -> Binding:
        """Every binding check for ``right`` as ``user`` on the user's computer, now."""
        return explain_binding(self.session(user), license_chain or self.license_chain, right,
                               anchor=self.anchor)

    def bind_at(self, user: str, right: str, at: datetime | str) -> Binding:
        """:meth:`bind` with the clock of the user's computer set to ``at`` (UTC; a
        ``'YYYY-MM-DDTHH:MM'`` text or a datetime), forward or back — as its user can set
        it. The lab's clock is the computers' clock."""
        moment = parse_time(at, "at") if isinstance(at, str) else at
        if moment is None:
            raise ValueError("bind_at needs a moment: 'YYYY-MM-DDTHH:MM' (UTC)")
        lab = self.deployment.lab
        lab.advance(minutes=(moment - lab.now()).total_seconds() / 60)
        return self.bind(user, right)


def scene(lab: Lab | None = None, *, rights: tuple[str, ...] = ("VIEW",),
          until: datetime | str | None = None, cluster: str | None = None,
          content: bytes = MINUTES) -> Scene:
    """The standard deployment in ``lab`` (the default lab when None), and alice's
    ``content`` protected online for bob with ``rights`` (until ``until``, when given), by
    ``cluster`` (contoso-root when None); bob holds his use license."""
    if isinstance(until, str):
        until = parse_time(until, "until")
    deployment = standard_deployment(lab or Lab())
    return publish_for_bob(deployment, rights=rights, until=until, cluster=cluster,
                            content=content)


def publish_for_bob(deployment: Deployment, *, rights: tuple[str, ...] = ("VIEW",),
                    until: datetime | None = None, cluster: str | None = None,
                    content: bytes = MINUTES) -> Scene:
    """:func:`scene` in an existing deployment."""
    licensing = deployment.clusters[cluster] if cluster else deployment.root_cluster
    sink = io.BytesIO()
    policy = RightsPolicy((Grant(BOB, rights, not_after=until),), until)
    protected = publish_online(licensing, deployment.clients["ALICE-PC"],
                               deployment.user("alice"), policy, content, sink)
    acquire_use_license(licensing, deployment.clients["BOB-PC"], deployment.user("bob"),
                        protected.publishing_license,
                        anchor=deployment.enrollment_service.anchor)
    return Scene(deployment, protected.publishing_license, protected.content_id,
                  sink.getvalue())


def _from_binding(tried: str, binding: Binding) -> Outcome:
    failed = binding.failed
    if failed is None:
        return Outcome(tried, False, "nothing: binding allowed it",
                       reason=f"{len(binding.checks)} checks passed; the content key was "
                              "released")
    return Outcome(tried, True, f"binding's check “{failed.description}”", failed.spec_id,
                   failed.reason)


def _from_error(tried: str, error: RmslabError, by: str, reference: str | None) -> Outcome:
    return Outcome(tried, True, by, getattr(error, "spec_id", None),
                   f"{type(error).__name__}: {error}", reference)


def _from_report(tried: str, chain: Chain, *, at: datetime, anchor: PublicKey, by: str,
                 reference: str) -> Outcome:
    report = examine(chain, at=at, anchor=anchor)
    errors = [(d, e) for d in report.documents for e in d.errors]
    if not errors:
        return Outcome(tried, False, "nothing: every check passed", reason=report.summary())
    document, error = errors[0]
    return Outcome(tried, True, f"{by} ({error.code}, document #{document.index})",
                   reason=error.message, reference=reference)


def _restate_digest(chain: Chain, index: int) -> str:
    """The chain's text with document ``index``'s DIGEST/VALUE recomputed for its BODY as
    it now stands — what a forger who knows the digest rule does."""
    document = chain[index]
    stated = document.signature.digest_value if document.signature else None
    if stated is None:
        raise ValueError(f"{document.position} has no digest to restate")
    old = base64.b64encode(stated).decode("ascii")
    new = base64.b64encode(document.compute_digest()).decode("ascii")
    start = document.span.start + document.text.index(old)
    return chain.text[:start] + new + chain.text[start + len(old):]


# --- 1. tamper with a BODY -------------------------------------------------------------------


def _view_to_print(chain: Chain) -> Chain:
    """The use license's right VIEW renamed PRINT (rights are elements: ``<VIEW>…</VIEW>``,
    MS-RMPR 2.2.9.9.6), nothing else touched, nothing re-signed."""
    return with_body(chain, 0, _print_body(chain), source=chain.source)


def _print_body(chain: Chain) -> str:
    leaf = chain[0]
    body = chain.text[leaf.span.body_start:leaf.span.body_end]
    for old, new in (("<VIEW>", "<PRINT>"), ("</VIEW>", "</PRINT>")):
        if body.count(old) != 1:
            raise ValueError(f"the use license must grant VIEW once ({old!r})")
        body = body.replace(old, new, 1)
    return body


def tamper_with_body(lab: Lab | None = None) -> AttackResult:
    """Bob changes VIEW to PRINT in his own use license and asks to print; then he also
    recomputes its DIGEST/VALUE. The surface-coding digest catches the first, the
    signature the second; binding refuses both (B-2)."""
    world = scene(lab)
    original = world.use_license()
    chain = parse(original, source="bob's use license")
    edited = _view_to_print(chain)
    world.store("bob", edited.text)
    first = _from_binding("bob's use license with VIEW changed to PRINT, asked for PRINT",
                          world.bind("bob", "PRINT"))
    report = _from_report("the same license as rmslab verify sees it", edited,
                          at=world.deployment.lab.now(), anchor=world.anchor,
                          by="the surface-coding digest of the BODY", reference=DIGEST_DOC)
    world.store("bob", _restate_digest(edited, 0))
    second = _from_binding("… and DIGEST/VALUE recomputed for the changed BODY",
                           world.bind("bob", "PRINT"))
    return AttackResult(
        number="1", title="tamper with a BODY",
        attack="Bob holds a use license that grants him VIEW. He edits it in his license "
               "store: the right's name VIEW becomes PRINT, one word in the signed BODY.",
        outcomes=(first, report, second), stoppable=True,
        conclusion="the digest covers every character of the BODY as written, so any change "
                   "shows; a forger who recomputes the digest is caught by the RSA "
                   "signature, which only the issuing server's private key can make. "
                   "Binding checks the use license's chain before anything else (B-2).")


# --- 2. signature wrapping -------------------------------------------------------------------


#: The shapes :func:`wrapped_use_license` makes, each with what it does.
WRAPPINGS: dict[str, str] = {
    "second body": "a forged BODY (PRINT) before the signed one, one SIGNATURE for both",
    "second body after": "a forged BODY (PRINT) after the signed one, before the SIGNATURE",
    "signature inside": "the server's SIGNATURE moved inside the forged BODY",
    "body inside signature": "the forged BODY in place, the signed one tucked inside the "
                             "SIGNATURE",
    "unsigned in front": "the forged BODY as a document of its own, unsigned, in front of the "
                         "real license",
}


def _wrapped(chain: Chain, forged_body: str, how: str) -> str:
    leaf = chain[0]
    text = chain.text
    body_start, body_end = leaf.span.body_start, leaf.span.body_end
    body = text[body_start:body_end]
    start, end = leaf.element_span("SIGNATURE")
    start, end = leaf.span.start + start, leaf.span.start + end
    signature = text[start:end]
    if how == "second body":
        return text[:body_start] + forged_body + body + text[body_end:]
    if how == "second body after":
        return text[:body_end] + forged_body + text[body_end:]
    if how == "signature inside":
        return (text[:body_start] + forged_body[:-len("</BODY>")] + signature + "</BODY>"
                + text[body_end:start] + text[end:])
    if how == "body inside signature":
        return (text[:body_start] + forged_body + text[body_end:start]
                + signature[:-len("</SIGNATURE>")] + "<Object>" + body + "</Object></SIGNATURE>"
                + text[end:])
    if how == "unsigned in front":
        return f'<XrML xmlns="" version="1.2">{forged_body}</XrML>' + text
    raise ValueError(f"no wrapping {how!r}; the wrappings are {', '.join(WRAPPINGS)}")


def wrapped_use_license(how: str, lab: Lab | None = None) -> str:
    """Bob's use license (of :func:`scene`) with a forged BODY granting PRINT placed as
    ``how`` says (a key of :data:`WRAPPINGS`), the server's signature kept: the text an
    attacker would put in the license store."""
    if how not in WRAPPINGS:
        raise ValueError(f"no wrapping {how!r}; the wrappings are {', '.join(WRAPPINGS)}")
    chain = parse(scene(lab).use_license(), source="bob's use license")
    return _wrapped(chain, _print_body(chain), how)


def wrap_signature(lab: Lab | None = None) -> AttackResult:
    """Signature wrapping against bob's use license: a BODY granting PRINT placed where a
    reader might take it while the server's signature still checks the original — a
    second BODY, the SIGNATURE moved inside the forged BODY, the original BODY hidden in
    the SIGNATURE, the forged document unsigned in front of the real one."""
    world = scene(lab)
    chain = parse(world.use_license(), source="bob's use license")
    forged = _print_body(chain)
    outcomes = []
    for how in ("second body", "signature inside", "body inside signature",
                "unsigned in front"):
        tried = WRAPPINGS[how]
        text = _wrapped(chain, forged, how)
        try:
            read_chain(text, source="bob's use license")
        except RmslabError as exc:
            outcomes.append(_from_error(f"{tried}, asked for PRINT", exc,
                                        "the reader, before anything is verified",
                                        ENVELOPE_DOC))
            continue
        world.store("bob", text)
        outcomes.append(_from_binding(f"{tried}, asked for PRINT", world.bind("bob", "PRINT")))
    return AttackResult(
        number="2", title="signature wrapping",
        attack="Bob wants PRINT without breaking the server's signature: he keeps the signed "
               "BODY and its SIGNATURE, and adds a BODY of his own where a careless reader "
               "would take the rights from.",
        outcomes=tuple(outcomes), stoppable=True,
        conclusion="an XrML document is exactly one BODY beside one SIGNATURE; the reader "
                   "refuses every other shape before verifying anything, so there is never a "
                   "second BODY to be confused with the signed one. A forged document that "
                   "stands on its own is unsigned, and binding refuses it (B-2).")


# --- 3. substitute a key ---------------------------------------------------------------------


def substitute_key(lab: Lab | None = None) -> AttackResult:
    """Mallory signs a publishing license with a key of her own and names that key as its
    issuer's; then she also writes her key into the client licensor certificate that
    should vouch for it. The chain catches the first (issuer-key-not-found), the
    certificate's signature the second (bad-signature)."""
    lab = lab or Lab()
    teaching = teaching_chain(lab)
    mallory = lab.key("account:bob@contoso.example")  # any key whose private half she holds
    chain, clc = teaching.chain, teaching.chain[1]
    alice_key = teaching.keys["clc"].public
    pl = chain[0]
    # 1. the publishing license re-signed with mallory's key, her key named as the issuer's
    body = chain.text[pl.span.body_start:pl.span.body_end]
    body = body.replace("alice@contoso.example</NAME></OBJECT></OWNER>",
                        "mallory@contoso.example</NAME></OBJECT></OWNER>", 1)
    body = body.replace(alice_key.modulus_base64, mallory.public.modulus_base64, 1)
    resigned = sign(body, mallory, lab.digest_algorithm)
    first_text = resigned + chain.text[clc.span.start:]
    first = _from_report("the publishing license signed with mallory's key, her key in its "
                         "ISSUER", read_chain(first_text), at=lab.now(), anchor=teaching.anchor,
                         by="the chain: no certificate holds the issuer's key",
                         reference=CHAIN_DOC)
    # 2. … and her key written into the CLC in place of alice's, its digest restated
    both = parse(first_text)
    clc_body = both.text[both[1].span.body_start:both[1].span.body_end]
    if clc_body.count(alice_key.modulus_base64) != 1:
        raise ValueError("the client licensor certificate must name alice's key once")
    changed = tamper(both, 1, alice_key.modulus_base64, mallory.public.modulus_base64)
    second_text = _restate_digest(changed, 1)
    second = _from_report("… and her key written into the client licensor certificate in "
                          "place of alice's, its digest recomputed", read_chain(second_text),
                          at=lab.now(), anchor=teaching.anchor,
                          by="the signature of the certificate that should vouch for her key",
                          reference=DIGEST_DOC)
    return AttackResult(
        number="3", title="substitute a key",
        attack="Mallory wants a publishing license that verifies but says what she likes. She "
               "cannot sign with alice's key, so she signs with her own and puts her key "
               "where the chain will look for the signer's.",
        outcomes=(first, second), stoppable=True,
        conclusion="every signer's key must be held by the certificate above it, and every "
                   "certificate is itself signed by the one above — up to the pinned root, "
                   "whose key mallory does not have. Substituting a key moves the failure one "
                   "level up, never past the root. Binding (B-2) and the licensing server "
                   "(L-1) run these checks on every chain.")


# --- 4. replay a use license -----------------------------------------------------------------


def replay_use_license(lab: Lab | None = None) -> AttackResult:
    """Carol copies bob's use license into her own license store and opens the file."""
    world = scene(lab)
    without = _from_binding("carol opens the file with no use license of her own",
                            world.bind("carol", "VIEW"))
    world.store("carol", world.use_license("bob"))
    replayed = _from_binding("carol opens it with bob's use license copied into her store",
                             world.bind("carol", "VIEW"))
    return AttackResult(
        number="4", title="replay bob's use license as carol",
        attack="Bob's use license is a signed, valid document. Carol copies it from bob's "
               "license store into hers and asks to VIEW.",
        outcomes=(without, replayed), stoppable=True,
        conclusion="a use license is issued to one principal — bob's rights account "
                   "certificate, object and key — and binding checks that it is the principal "
                   "of the RAC on this machine (B-2). The content key inside is sealed to "
                   "bob's account key, which carol does not hold, so even a client that "
                   "skipped the check could not open it.")


# --- 5. roll the clock back ------------------------------------------------------------------


def roll_back_the_clock(lab: Lab | None = None) -> AttackResult:
    """Alice protects the minutes for bob until the next day. Two days later binding
    refuses. Then the clock is set back: in a lab on disk (by a command, and by editing
    lab.sqlite) the store refuses; on a client in the field nothing does."""
    lab = lab or Lab()
    until = lab.now() + timedelta(days=1)
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="rmslab-clock-") as folder:
        from rmslab.store.labdb import LAB_DATABASE, LabStore
        root = Path(folder) / "lab"
        store = LabStore.create(standard_deployment(Lab(seed=lab.seed, at=lab.now())), root)

        def shown(error: RmslabError) -> LabTamperedError:
            """The error with the temporary folder's path replaced by ``lab``."""
            text = str(error)
            for path in (str(root.resolve()), str(root)):
                text = text.replace(path, "lab")
            return LabTamperedError(text)

        with store.write() as deployment:
            world = publish_for_bob(deployment, until=until)
            license_chain = world.license_chain
            deployment.lab.advance(days=2)
        with store.read() as deployment:
            world = Scene(deployment, license_chain, world.content_id, b"")
            outcomes.append(_from_binding("the lab, two days later: bob opens the minutes",
                                          world.bind("bob", "VIEW")))
        try:
            with store.write() as deployment:
                deployment.lab.advance(days=-2)
            outcomes.append(Outcome("a command of the lab sets its clock back two days", False,
                                    "nothing: the command committed"))
        except LabTamperedError as exc:
            outcomes.append(_from_error("a command of the lab sets its clock back two days",
                                        shown(exc), "the lab's store: its clock only moves "
                                        "forward", CLOCK_DOC))
        with sqlite3.connect(root / LAB_DATABASE) as db:
            db.execute("UPDATE lab SET now = ?", (f"{lab.now():%Y-%m-%dT%H:%M}",))
        db.close()
        edited = "the clock edited back two days in lab.sqlite, then bob opens the minutes"
        try:
            with LabStore(root).read() as deployment:  # the next command opens the lab
                world = Scene(deployment, license_chain, world.content_id, b"")
                outcomes.append(_from_binding(edited, world.bind("bob", "VIEW")))
        except LabTamperedError as exc:
            outcomes.append(_from_error(edited, shown(exc), "the lab's store: the clock is "
                                        "behind the latest time it recorded", CLOCK_DOC))
    # a client in the field: its clock is its computer's
    field_scene = scene(Lab(seed=lab.seed, at=lab.now()), until=until)
    field_lab = field_scene.deployment.lab
    field_lab.advance(days=2)
    expired = _from_binding("bob's computer, two days later: bob opens the minutes",
                            field_scene.bind("bob", "VIEW"))
    field_lab.advance(days=-2)
    moved = _from_binding("bob sets his computer's clock back two days and opens them",
                          field_scene.bind("bob", "VIEW"))
    return AttackResult(
        number="5", title="roll the clock back past expiry",
        attack=f"Alice protects the minutes for bob until {until:%Y-%m-%d %H:%M} UTC. Two "
               "days later they have expired — unless the clock says otherwise.",
        outcomes=(*outcomes, expired, moved), stoppable=False,
        conclusion="a client judges a license's time against its own clock. rmslab's lab "
                   "refuses a clock behind the latest time it recorded — that protects the "
                   "lab's own record, as an audit log would — but a real client reads the "
                   "clock of the computer it runs on, and MS-RMPR gives it no trusted time: "
                   "a user who moves that clock back past expiry keeps opening the content "
                   "offline. Short validity does not help, since the same clock judges it; "
                   "what does is a license the client must acquire every time it opens the "
                   "content (a caching interval of 0), judged by the server's clock — at the "
                   "price of never opening offline.")


# --- 6. move enabling bits -------------------------------------------------------------------


def _enabling_bits_element(use_license: XrmlDocument) -> etree._Element:
    """The (first) ENABLINGBITS element of a use license: in its right's ACCESS/PRINCIPAL
    (MS-RMPR 2.2.9.9.6)."""
    found = use_license.element.find("BODY//ENABLINGBITS")
    if found is None or not found.findtext("VALUE"):
        raise ValueError(f"{use_license.position} holds no ENABLINGBITS")
    return found


def _bits_of(use_license: XrmlDocument) -> tuple[bytes, eb.EnablingBitsType]:
    """The ENABLINGBITS of a use license (MS-RMPR 2.2.9.1.13) and their type."""
    element = _enabling_bits_element(use_license)
    bits = base64.b64decode(element.findtext("VALUE") or "")
    return bits, eb.EnablingBitsType.from_attribute(element.get("type", ""))


def _issuer_name(document: XrmlDocument) -> str:
    return document.issuer.label if document.issuer is not None else "?"


def move_enabling_bits(lab: Lab | None = None) -> AttackResult:
    """Bob holds use licenses for three contents: two issued by contoso-root, one by
    contoso-licensing. The enabling bits of one are moved to another: the binding hash
    refuses them where the bound ISSUER differs; where it is the same server, the hash
    cannot tell them apart and the digest of the license's BODY does."""
    world = scene(lab)
    deployment = world.deployment
    second = publish_for_bob(deployment, content=b"Second content\n")
    other = publish_for_bob(deployment, cluster="contoso-licensing",
                             content=b"From the licensing cluster\n")
    bob_pc = world.client("bob")
    account_key = bob_pc.account_key("bob")
    licenses = {name: parse(bob_pc.account("bob").licenses[s.content_id], source=name)
                for name, s in (("minutes", world), ("second", second), ("other", other))}
    bits = {name: _bits_of(chain[0]) for name, chain in licenses.items()}
    issuer = {name: chain[0].element_text("BODY/ISSUER") for name, chain in licenses.items()}
    outcomes = []
    for source, target in (("minutes", "other"), ("minutes", "second")):
        raw, bits_type = bits[source]
        tried = (f"the bits of the {source} license (issued by "
                 f"{_issuer_name(licenses[source][0])}) opened as the {target} license's "
                 f"(issued by {_issuer_name(licenses[target][0])})")
        try:
            key = eb.open_content_key(raw, account_key, bound_to=issuer[target],
                                      bits_type=bits_type)
        except eb.EnablingBitsHashMismatchError as exc:
            outcomes.append(_from_error(tried, exc, "the binding hash inside the enabling "
                                        "bits (MS-RMPR 2.2.9.1.13, 3.5.4.1)", SEALED_KEY_DOC))
            continue
        outcomes.append(Outcome(tried, False, "nothing in the bits: the hash matches",
                                reason=f"both licenses' ISSUER is the same server, so the hash "
                                       f"of either is the same; the bits open to the {source} "
                                       f"content key ({len(key.key)} bytes)",
                                reference=SEALED_KEY_DOC))
    # the same move inside the signed document
    second_license = licenses["second"]
    value = _enabling_bits_element(second_license[0]).findtext("VALUE") or ""
    moved_value = _enabling_bits_element(licenses["minutes"][0]).findtext("VALUE") or ""
    moved = tamper(second_license, 0, value, moved_value)
    outcomes.append(_from_report("the minutes' bits written into the second license's XML "
                                 "(same issuer)", moved, at=deployment.lab.now(),
                                 anchor=world.anchor,
                                 by="the surface-coding digest of the license's BODY",
                                 reference=DIGEST_DOC))
    raw, bits_type = bits["minutes"]
    control = eb.open_content_key(raw, account_key, bound_to=issuer["minutes"],
                                  bits_type=bits_type)
    return AttackResult(
        number="6", title="move enabling bits between licenses",
        attack="Enabling bits carry a content key sealed to bob's account key. All of bob's "
               "use licenses are sealed to that same key, so his key opens any of their bits: "
               "what ties a pair of bits to its license?",
        outcomes=tuple(outcomes), stoppable=True,
        details=(f"control: the minutes' bits ({bits_type.value}, {len(raw)} bytes) opened as "
                 f"their own license's: content key of {len(control.key)} bytes, "
                 f"{control.cipher.label}",
                 "the hash binds the bits to an element of their document (a use license's "
                 "ISSUER), not to the content: two licenses from one server share it"),
        conclusion="inside the bits, a hash of the element they are bound to (a use license's "
                   "ISSUER, a publishing license's ISSUEDPRINCIPALS) is sealed with the key; "
                   "opened under another element, they are refused "
                   f"({eb.EnablingBitsHashMismatchError.exception_name}). Between two "
                   "licenses of one server the bound element is the same, and what stops the "
                   "move is the signature over the BODY the bits are written in.")


# --- 7. strip protection with VIEW -----------------------------------------------------------


def _content_cipher(binding: Binding) -> ContentCipher:
    """The content cipher of the key binding released (the one place that reads how)."""
    if binding.content is None:
        raise ValueError(f"binding released no key: {binding.failed}")
    return binding.cipher  # the cipher the content key's KeyHeader names


def write_plaintext(binding: Binding, protected_file: bytes) -> bytes:
    """What a modified application does with the key binding released to it for any
    right: decrypt the protected file's content and write it out — here, return it."""
    written = io.BytesIO()
    written.write(_content_cipher(binding).decrypt(read_protected_file(protected_file).content))
    return written.getvalue()


def strip_protection(lab: Lab | None = None) -> StrippedContent:
    """Bob may only VIEW. He asks for EXPORT (refused), then for VIEW — the client releases
    the content key to the application — and a modified application writes the
    plaintext with that key."""
    world = scene(lab)
    export = _from_binding("bob asks to EXPORT (save without protection)",
                           world.bind("bob", "EXPORT"))
    view = world.bind("bob", "VIEW")
    assert view.content_key is not None
    opened = _from_binding("bob asks to VIEW", view)
    plaintext = write_plaintext(view, world.protected_file)
    stripped = Outcome("the application, modified, writes what it decrypted for VIEW to a "
                       "file", False, "nothing: the rights are enforced by the application",
                       reason=f"{len(plaintext)} bytes written in clear: {plaintext[:40]!r}…")
    return StrippedContent(
        number="7", title="strip protection with only VIEW",
        attack="Bob may only VIEW. Viewing needs the plaintext, so the client releases the "
               "content key to the application; the application promises to show the content "
               "and nothing more. Bob's application keeps no such promise.",
        outcomes=(export, opened, stripped), stoppable=False,
        conclusion="binding decides whether the key is released, and it was, rightly, for "
                   "VIEW; what the application then does with the key and the plaintext is "
                   "beyond any check of the system. Client-enforced rights hold only as far as "
                   "the applications that hold the key are trustworthy. Published research "
                   "showed this against RMS in 2016 (“How to Break Microsoft Rights "
                   "Management Services”, Grothe et al., USENIX WOOT 2016): a user granted "
                   "only VIEW removed the protection from a document — and since the content "
                   "carries no MAC, could change it too.",
        content_key=view.content_key, written=plaintext)


# --- 8. ECB ----------------------------------------------------------------------------------


def _distinct_blocks(data: bytes) -> int:
    return len({data[i:i + 16] for i in range(0, len(data), 16)})


def ecb_picture(lab: Lab | None = None) -> EcbPicture:
    """A padlock's bytes encrypted as content in mode 1 (AES-128-ECB) and mode 2 (CBC4K)
    with the same content key, each shown as a picture of the same size."""
    lab = lab or Lab()
    picture = padlock()
    key = lab.random_bytes(16, "content-key")
    size = len(picture.pixels)
    ecb = ContentCipher(key, 1).encrypt(picture.pixels)[:size]
    cbc = ContentCipher(key, 2).encrypt(picture.pixels)[:size]
    counts = {"picture": _distinct_blocks(picture.pixels), "ECB": _distinct_blocks(ecb),
              "CBC4K": _distinct_blocks(cbc)}
    blocks = size // 16
    return EcbPicture(
        number="8", title="mode 1 content under ECB",
        attack="Mode 1 encrypts content with AES-128 in ECB mode: each 16-byte block on its "
               "own, under the same key. A picture with large flat areas is made of few "
               "distinct blocks.",
        outcomes=(Outcome("the picture encrypted in mode 1 (ECB), looked at", False,
                          "nothing: ECB is what mode 1 is",
                          reason=f"{counts['ECB']} distinct ciphertext blocks of {blocks}, as "
                                 f"many as the picture has ({counts['picture']}): equal "
                                 "blocks in, equal blocks out — the shape shows",
                          reference=MODES_DOC),
                  Outcome("the same picture in mode 2 (CBC4K), looked at", True,
                          "CBC4K: every block chained to the one before, a new IV every "
                          "4096 bytes",
                          reason=f"{counts['CBC4K']} distinct blocks of {blocks}",
                          reference=MODES_DOC),
                  Outcome("a mode-1 deployment, audited", True,
                          "the audit's finding on cryptographic mode 1", "RMS-003",
                          "rmslab audit reports every cluster that writes mode 1 (and "
                          "rmslab verify --require-mode 2 flags each mode-1 signature)")),
        stoppable=False,
        details=(f"{picture.width}×{picture.height} pixels, one byte each: {blocks} AES blocks",),
        conclusion="nothing in a mode-1 file stops anyone from seeing its structure: equal "
                   "plaintext blocks stay equal. The remedy is mode 2, whose CBC4K leaves no "
                   "such trace; the audit (RMS-003) finds where mode 1 is still written.",
        picture=picture, ecb=Bitmap(picture.width, picture.height, ecb, "ECB (mode 1)"),
        cbc4k=Bitmap(picture.width, picture.height, cbc, "CBC4K (mode 2)"),
        distinct_blocks=counts)


# --- 9. PKCS#1 v1.5 against OAEP -------------------------------------------------------------


def key_sealing_paddings(lab: Lab | None = None) -> KeySealing:
    """The RSA block of a pair of enabling bits in mode 1 (PKCS#1 v1.5, RSA-1024) and in
    mode 2 (OAEP, RSA-2048), sealed with rmslab.crypto.enabling_bits and opened raw."""
    lab = lab or Lab()
    mode1_key = Lab(seed=lab.seed, at=lab.now(), mode=1).key("cluster:contoso")
    mode2_key = Lab(seed=lab.seed, at=lab.now(), mode=2).key("cluster:contoso")
    mode1 = padded_block(eb.EnablingBitsType.SEALED_KEY, mode1_key, lab.random_bytes)
    mode2 = padded_block(eb.EnablingBitsType.SEALED_KEY_V2, mode2_key, lab.random_bytes)
    return KeySealing(
        number="9", title="PKCS#1 v1.5 key sealing in mode 1, OAEP in mode 2",
        attack="The server's key opens every publishing license's enabling bits, and clients "
               "send it bits of their choosing (AcquireLicense, AcquireIssuanceLicense). "
               "Whoever learns, for chosen bits, whether the RSA block opened to a well-formed "
               "block holds a padding oracle.",
        outcomes=(Outcome("mode 1 (sealed-key, PKCS#1 v1.5): a padding oracle on the "
                          "server's key, in principle", False,
                          "nothing in the format: only an opener that never tells",
                          reason=f"{mode1.predictable_bytes} predictable bytes, the block "
                                 "starting 00 02: whether a chosen ciphertext opens to "
                                 "“00 02 …” narrows the secret down (Bleichenbacher, 1998) — "
                                 "only an opener that answers every failure alike, in words "
                                 "and in time, denies the oracle",
                          reference=SEALED_KEY_DOC),
                  Outcome("mode 2 (sealed-key-v2, OAEP): a padding oracle on the server's "
                          "key, in principle", True,
                          "OAEP: everything after the first byte masked, checked all at once",
                          reason=f"{mode2.predictable_bytes} predictable byte before "
                                 "unmasking; an attack of this kind (Manger, 2001) needs the "
                                 "opener to tell a wrong first byte from the other failures",
                          reference=SEALED_KEY_DOC)),
        stoppable=True,
        details=(*mode1.describe(), *mode2.describe()),
        conclusion="OAEP (mode 2) leaves an oracle nothing to narrow; PKCS#1 v1.5 (mode 1) is "
                   "safe only if every opener hides why a block failed. What the real system "
                   "exposes: MS-RMPR 3.5.4.1 has the server answer a DES session key "
                   "(CryptoUnsupportedSymKeyException) and a wrong hash "
                   "(EnablingBitsHashDoesNotMatchException) with faults of their own — "
                   "answers that exist only after the RSA block opened well; whether a "
                   "server's faults or timing also tell a badly padded block apart is not in "
                   "the specification, and is what to test. rmslab's opener gives one error "
                   "for every block that does not open (NotSealedForThisKeyError). No oracle "
                   "attack is run here.",
        mode1=mode1, mode2=mode2)


# --- 10. forged use license; tampered publishing license behind a cached one ------------------


def _opened_content_key(use_license: XrmlDocument, account_key: PrivateKey) -> eb.ContentKey:
    """What the holder of a use license can always learn: the content key in it."""
    raw, bits_type = _bits_of(use_license)
    return eb.open_content_key(raw, account_key,
                               bound_to=use_license.element_text("BODY/ISSUER"),
                               bits_type=bits_type)


def _resealed(key: eb.ContentKey, to: PublicKey, bound_to: str,
              bits_type: eb.EnablingBitsType, lab: Lab) -> bytes:
    """The content key sealed to ``to`` (MS-RMPR 2.2.9.1.13), bound to ``bound_to`` (the
    new ISSUER)."""
    return eb.seal_content_key(key.key, key.cipher, to=to, bound_to=bound_to,
                               bits_type=bits_type, random=lab.random_bytes)


def _forged_use_license(real_text: str, *, signer: Client, signer_user: str,
                        holder: Principal, holder_email: str, rename: tuple[str, str] | None,
                        lab: Lab) -> str:
    """``real_text`` (a use license the server issued to ``signer_user``) rewritten by its
    holder: the ISSUER becomes the holder's CLC principal, the issued principal
    ``holder``, the grant ``holder_email``'s (a right renamed when ``rename`` says so),
    the content key sealed again to ``holder``'s key — then signed with the CLC key, the
    CLC chain after it. Every signature sound, every hash bound to the new ISSUER."""
    account = signer.account(signer_user)
    assert account.clc is not None and account.clc_text is not None
    assert holder.public_key is not None
    real = parse(real_text)[0]
    content_key = _opened_content_key(real, signer.account_key(signer_user))
    bits_element = _enabling_bits_element(real)
    old_value = bits_element.findtext("VALUE") or ""
    bits_type = eb.EnablingBitsType.from_attribute(bits_element.get("type", "sealed-key"))
    issuer = str(principal_xml(account.clc.principals[0].identity(), tag="ISSUER"))
    bits = _resealed(content_key, holder.public_key, issuer, bits_type, lab)
    body = real.body_text
    new_value = base64.b64encode(bits).decode("ascii")
    old_holder = real.element_text("BODY/ISSUEDPRINCIPALS/PRINCIPAL")
    rights = real.element_text("BODY/WORK/RIGHTSGROUP")
    replaced = [(real.element_text("BODY/ISSUER"), issuer)]
    # MS-RMPR 2.2.9.9.6: the bits live in the right's ACCESS/PRINCIPAL
    replaced.append((old_holder, str(principal_xml(holder, internal_id="1"))))
    new_rights = rights.replace(f">{old_value}<", f">{new_value}<")
    new_rights = new_rights.replace(
        f">{signer.account(signer_user).rac.principals[0].name}<", f">{holder_email}<")
    if rename is not None:
        old, new = rename
        new_rights = new_rights.replace(f"<{old}>", f"<{new}>", 1).replace(
            f"</{old}>", f"</{new}>", 1)
    replaced.append((rights, new_rights))
    for old, new in replaced:
        if body.count(old) != 1:
            raise ValueError(f"the use license must hold {old[:40]!r}… once")
        body = body.replace(old, new, 1)
    signed = sign(body, signer.clc_key(signer_user), lab.digest_algorithm)
    start_tag = real.text[:real.text.index("<BODY")]  # the root's own attributes, kept
    return start_tag + signed[signed.index("<BODY"):] + account.clc_text


def forge_use_license(lab: Lab | None = None) -> AttackResult:
    """Alice may VIEW bob's content; her use license gives her its content key. She
    rewrites it — PRINT for herself, VIEW for carol — and signs it with her CLC key, with
    her CLC chain: every signature sound, the chain up to the root. Binding asks who
    issued it (P-7). The same attack as tests/attacks/test_forged_use_license.py, done by
    editing the license she holds."""
    deployment = standard_deployment(lab or Lab())
    bob_pc, alice_pc = deployment.clients["BOB-PC"], deployment.clients["ALICE-PC"]
    carol_pc = deployment.clients["CAROL-PC"]
    anchor = deployment.enrollment_service.anchor
    protected = publish_online(deployment.root_cluster, bob_pc, deployment.user("bob"),
                               RightsPolicy((Grant("alice@contoso.example", ("VIEW",)),)),
                               b"bob's plans", io.BytesIO())
    pl_text, content_id = protected.publishing_license, protected.content_id
    acquire_use_license(deployment.root_cluster, alice_pc, deployment.user("alice"), pl_text,
                        anchor=anchor)
    real = alice_pc.account("alice").licenses[content_id]

    def rac(client: Client, user: str) -> Principal:
        return client.account(user).rac.principals[0].identity(with_levels=False)

    alice_session = AppSession(alice_pc, deployment.user("alice"))
    carol_session = AppSession(carol_pc, deployment.user("carol"))
    honest = _from_binding("alice asks to PRINT with the use license the server gave her",
                           explain_binding(alice_session, pl_text, "PRINT", anchor=anchor))
    alice_pc.account("alice").licenses[content_id] = _forged_use_license(
        real, signer=alice_pc, signer_user="alice", holder=rac(alice_pc, "alice"),
        holder_email="alice@contoso.example", rename=("VIEW", "PRINT"), lab=deployment.lab)
    herself = _from_binding("alice rewrites her use license to grant PRINT and signs it with "
                            "her CLC key",
                            explain_binding(alice_session, pl_text, "PRINT", anchor=anchor))
    carol_pc.account("carol").licenses[content_id] = _forged_use_license(
        real, signer=alice_pc, signer_user="alice", holder=rac(carol_pc, "carol"),
        holder_email=CAROL, rename=None, lab=deployment.lab)
    for_carol = _from_binding("alice rewrites it for carol (VIEW) and signs it with her CLC key",
                              explain_binding(carol_session, pl_text, "VIEW", anchor=anchor))
    return AttackResult(
        number="10a", title="a use license forged with a client licensor certificate",
        attack="Alice may VIEW bob's content, so her use license gives her its content key. "
               "Her CLC key can sign, and her CLC chains up to the root: she rewrites the "
               "license she holds and signs it herself.",
        outcomes=(honest, herself, for_carol), stoppable=True,
        details=("each forged license is signed with alice's CLC key and carries her CLC "
                 "chain: every signature in it verifies up to the root, and its content key "
                 "is sealed to its holder",),
        conclusion="binding asks who issued the use license: a licensing server (its key "
                   "certified by an SLC), or — offline — the author's own CLC making an owner "
                   "license for the author alone. A CLC certifies a key for signing "
                   "publishing licenses; it is not a licensing server (P-7).")


def hide_tampered_publishing_license(lab: Lab | None = None) -> AttackResult:
    """Bob has opened the minutes: his use license is cached. A copy of the file whose
    publishing license was changed (its URL, its BODY, its signature) is opened with
    that cached license. Binding checks the file's publishing license first (B-2). The
    same attack as tests/attacks/test_cached_license_tampered_pl.py."""
    world = scene(lab)
    opened = _from_binding("bob opens the file; his use license is now cached",
                           world.bind("bob", "VIEW"))
    chain = parse(world.license_chain, source="publishing license")
    url = "https://rms.contoso.example/_wmcs/licensing"
    body = chain[0].body_text
    if url not in body:
        raise ValueError("the publishing license must name its licensing URL")
    changed_url = with_body(chain, 0, body.replace(url, "https://rms.evil.example/_wmcs/"
                                                        "licensing", 1)).text
    container = read_protected_file(world.protected_file)
    copy = write_protected_file(changed_url, container.content, extension=container.extension)
    copied_chain = read_chain(copy, source="the tampered copy").text
    tampered = _from_binding("a copy whose publishing license names another licensing URL, "
                             "opened with the cached license",
                             world.bind("bob", "VIEW", copied_chain))
    without = "".join(d.text for d in chain if d.kind not in
                      ("Server-Licensor-Certificate", "DRM-CA-Certificate"))
    no_chain = _from_binding("a copy whose publishing license lost its SLC chain",
                             world.bind("bob", "VIEW", without))
    return AttackResult(
        number="10b", title="a tampered publishing license behind a cached use license",
        attack="Once bob holds a use license for the content, the license in the file "
               "seems not to matter: the cached license grants VIEW. Someone changes the "
               "publishing license of a copy — where to license it, its certificates.",
        outcomes=(opened, tampered, no_chain), stoppable=True,
        conclusion="binding verifies the publishing license in the file up to the pinned "
                   "root before it looks for a use license (B-2): a changed copy opens with "
                   "no license, cached or not.")


#: Every attack of the notebook, in its order (10a and 10b are the two of item 10).
ATTACKS = (tamper_with_body, wrap_signature, substitute_key, replay_use_license,
           roll_back_the_clock, move_enabling_bits, strip_protection, ecb_picture,
           key_sealing_paddings, forge_use_license, hide_tampered_publishing_license)
