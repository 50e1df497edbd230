"""Documents broken on purpose (docs/architecture.md rule 4): what a student may try against a
chain, each with the check that catches it (SPEC A-1; docs/wire-format.md "Signature", "Building
blocks").

Every sample starts from the teaching chain of the default lab (publishing license →
client licensor certificate → server licensor certificate → CA certificate, pinned to
the lab's root key) and changes one thing. :func:`broken_samples` builds them;
``python -m rmslab.broken DIR`` writes them with a ``MANIFEST.json`` that says, for each
run of ``rmslab verify``, the options, the exit status, the verdict and the error codes
per document (the repository's ``data/broken`` is that directory, made by rmslab).

Every run names its time with ``--at`` (the lab's time unless the run is about time):
without it ``verify`` checks at the wall clock's now, and the answers would change the
day the teaching certificates expire.
"""

from __future__ import annotations

import base64
import json
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple, Sequence

from rmslab.crypto.rsa import PublicKey
from rmslab.lab import Lab
from rmslab.report import ChainReport, Verdict, examine
from rmslab.samples import CLUSTER_URL, TeachingChain, teaching_chain
from rmslab.teaching import tamper
from rmslab.xrml.model import Principal, format_time, parse_time
from rmslab.xrml.pfile import write_protected_file
from rmslab.xrml.reader import Chain, read_chain
from rmslab.xrml.writer import RightSpec, license_body, sign

__all__ = ["Run", "BrokenSample", "broken_samples", "sample", "check", "check_run",
           "write_samples"]

ANCHOR_FILE = "teaching-root.pem"
MODE1_ANCHOR_FILE = "teaching-root-mode1.pem"


@dataclass(frozen=True)
class Run:
    """One ``rmslab verify`` of a sample: its options and what it must answer. ``errors``
    maps a document's index to the error codes reported for it (documents not named have
    none); ``exit`` is the command's exit status (2: the input is refused before any
    document is verified) and ``verdict`` the chain's (None when refused)."""

    options: tuple[str, ...]
    exit: int
    verdict: Verdict | None
    errors: dict[int, tuple[str, ...]] = field(default_factory=dict)
    refusal: str | None = None  # words of the message when the input is refused (exit 2)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "options": list(self.options), "exit": self.exit,
            "verdict": self.verdict.value if self.verdict else None,
            "errors": {str(i): list(codes) for i, codes in sorted(self.errors.items())}}
        if self.refusal is not None:
            out["refusal"] = self.refusal
        return out


@dataclass(frozen=True)
class BrokenSample:
    """A file, what was done to it, and what catches it."""

    name: str
    data: bytes
    what: str
    caught_by: str
    runs: tuple[Run, ...]

    @property
    def control(self) -> bool:
        """A control: nothing in it is broken — checked as its first run checks it (the
        lab's time, its root pinned), it is valid and anchored."""
        return self.runs[0].verdict is Verdict.VALID

    def to_json(self) -> dict[str, Any]:
        return {"file": self.name, "what": self.what, "caught_by": self.caught_by,
                "runs": [run.to_json() for run in self.runs]}


def _utf8(text: str) -> bytes:
    return text.encode("utf-8")


_VALID, _INVALID, _UNANCHORED = Verdict.VALID, Verdict.INVALID, Verdict.UNANCHORED


def _at(moment: datetime) -> tuple[str, ...]:
    return ("--at", format_time(moment))


def _replace_once(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise ValueError(f"{old!r} must occur exactly once")
    return text.replace(old, new, 1)


def _restated_digest(teaching: TeachingChain) -> str:
    """The publishing license's owner changed, and DIGEST/VALUE recomputed for the new
    BODY — what a forger who knows the digest rule does. Only the signature is left."""
    changed = tamper(teaching.chain, 0, "<OWNER><OBJECT><ID type=\"Windows\" /><NAME>alice@", "<OWNER><OBJECT><ID type=\"Windows\" /><NAME>mallo@")
    leaf = changed[0]
    stated = leaf.signature.digest_value if leaf.signature else None
    assert stated is not None
    old = base64.b64encode(stated).decode("ascii")
    new = base64.b64encode(leaf.compute_digest()).decode("ascii")
    return _replace_once(changed.text, old, new)


def _reformatted(teaching: TeachingChain) -> str:
    """The publishing license pretty-printed after signing: a line break and two spaces
    between the tags of its BODY (what an XML editor's "format" does)."""
    span = teaching.chain[0].span
    text = teaching.text
    body = text[span.body_start:span.body_end].replace("><", ">\n  <")
    return text[:span.body_start] + body + text[span.body_end:]


def _leaf_signature_span(teaching: TeachingChain) -> tuple[int, int]:
    """Where the publishing license's SIGNATURE lies in the chain's text."""
    leaf = teaching.chain[0]
    start, end = leaf.element_span("SIGNATURE")
    return leaf.span.start + start, leaf.span.start + end


def _without_signature(teaching: TeachingChain) -> str:
    start, end = _leaf_signature_span(teaching)
    return teaching.text[:start] + teaching.text[end:]


def _signature_inside_body(teaching: TeachingChain) -> str:
    text = teaching.text
    start, end = _leaf_signature_span(teaching)
    closing = teaching.chain[0].span.body_end - len("</BODY>")
    return text[:closing] + text[start:end] + text[closing:start] + text[end:]


def _second_body(teaching: TeachingChain) -> str:
    leaf = teaching.chain[0]
    text = teaching.text
    body = text[leaf.span.body_start:leaf.span.body_end]
    return text[:leaf.span.body_end] + body + text[leaf.span.body_end:]


def _signed_by_a_stranger(lab: Lab, teaching: TeachingChain) -> str:
    """A publishing license whose ISSUER is a key no certificate in the chain names
    (Bob's account key), signed with that key: digest and signature are sound, the link
    to the chain is not."""
    stranger = lab.key("account:bob@contoso.example")
    issuer = Principal("Group-Identity", "{00000000-0000-4000-8000-00000000b0b0}", "MS-GUID",
                       "alice@contoso.example", (("email_alias", "alice@contoso.example"),),
                       stranger.public)
    body = _publishing_license_body(lab, issuer)
    leaf = teaching.chain[0]
    return sign(body, stranger, lab.digest_algorithm) + teaching.text[leaf.span.end:]


def _publishing_license_body(lab: Lab, issuer: Principal, issued: datetime | None = None,
                             *, server: Principal | None = None) -> str:
    """A publishing license in the shape of MS-RMPR 2.2.9.7 (the teaching cluster's server
    as its issued principal, the content key sealed to it), issued by ``issuer``."""
    from rmslab.flows.publishing import publishing_license_text
    from rmslab.rights import Grant, RightsPolicy
    if server is None:
        server = Principal("MS-DRM-Server", "{00000000-0000-4000-8000-0000000000c1}", "MS-GUID",
                           "CONTOSO-RMS", (("URL", CLUSTER_URL),),
                           lab.key("cluster:contoso").public,
                           (("Server-Version", "6.3.9600.0"), ("Server-SKU", "rmslab-lab")))
    return publishing_license_text(
        lab, issuer=issuer, server=server, license_id="{00000000-0000-4000-8000-0000000000a1}",
        content_id="{00000000-0000-4000-8000-0000000000a3}", owner=issuer.name or "",
        policy=RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),)),
        intranet=f"{CLUSTER_URL}/licensing", issued=issued)


def _published_after_expiry(lab: Lab, teaching: TeachingChain, issued: datetime) -> str:
    """A publishing license Alice signs with her client licensor key on ``issued``, after
    her client licensor certificate's ISSUE right has ended: every signature is sound."""
    leaf = teaching.chain[0]
    assert leaf.issuer is not None
    body = _publishing_license_body(lab, leaf.issuer.identity(with_levels=False), issued)
    return sign(body, teaching.keys["clc"], lab.digest_algorithm) \
        + teaching.text[teaching.chain[1].span.start:]


def _certified_by_a_client_licensor(lab: Lab, teaching: TeachingChain) -> str:
    """Alice's client licensor certificate used as if it could certify: it issues a
    client licensor certificate to Bob, who publishes with it. Every signature is sound;
    a client licensor certificate may only be issued by a server (SLC)."""
    alice_clc = teaching.chain[1]
    alice = alice_clc.principals[0].identity(with_levels=False)
    bob_key = lab.key("clc:bob@contoso.example@BOB-PC")
    bob = Principal("Group-Identity", "{00000000-0000-4000-8000-000000000b0b}", "MS-GUID",
                    "bob@contoso.example", (("email_alias", "bob@contoso.example"),),
                    bob_key.public)
    now = lab.now()
    bob_clc_body = license_body(
        kind="Client-Licensor-Certificate", id="{00000000-0000-4000-8000-0000000000b1}",
        issued=now, issuer=alice, principals=[bob],
        rights=[RightSpec("ISSUE", "1", now - timedelta(days=1), now + timedelta(days=365))])
    alice_key = teaching.keys["clc"]
    bob_clc = sign(bob_clc_body, alice_key, lab.digest_algorithm)
    bob_pl = sign(_publishing_license_body(lab, bob), bob_key, lab.digest_algorithm)
    return bob_pl + bob_clc + teaching.text[teaching.chain[1].span.start:]


def _protected(chain: Chain) -> bytes:
    return write_protected_file(chain.text, b"\x00" * 64, extension=".txt")


class _Built(NamedTuple):
    samples: list[BrokenSample]
    anchors: dict[str, PublicKey]  # by the file name the runs' --anchor options use


def broken_samples(lab: Lab | None = None) -> list[BrokenSample]:
    """The samples, built in ``lab`` (the default lab when None; mode 2)."""
    return _build(lab or Lab()).samples


def _build(lab: Lab) -> _Built:
    teaching = teaching_chain(lab)
    mode1 = teaching_chain(Lab(seed=lab.seed, at=lab.now(), mode=1))
    clc = teaching.chain[1]
    assert clc.validity is not None and clc.validity.not_after is not None
    assert clc.validity.not_before is not None
    after_clc = clc.validity.not_after + timedelta(days=1)
    before_clc = clc.validity.not_before - timedelta(days=1)
    signature_value = clc.text[clc.text.rindex("<VALUE"):]
    flipped_at = signature_value.index(">") + 10
    original_char = signature_value[flipped_at]
    flipped = signature_value[:flipped_at] + ("B" if original_char != "B" else "C") \
        + signature_value[flipped_at + 1:]
    signature_changed = _replace_once(teaching.text, signature_value, flipped)
    pfile = _protected(teaching.chain)
    now = _at(lab.now())

    def anchor(file: str = ANCHOR_FILE) -> tuple[str, ...]:
        return ("--anchor", file) + now

    samples = [
        BrokenSample(
            "intact.xml", _utf8(teaching.text),
            "Nothing: the teaching chain as the lab wrote it (the control).",
            "Every check passes: valid and anchored — also a day after the client licensor "
            "certificate has ended, since it signed the publishing license while it could "
            "issue. Checked before the documents were issued, none is valid yet; without "
            "--anchor nothing vouches for the root, so the chain is consistent but not "
            "anchored.",
            (Run(anchor(), 0, _VALID),
             Run(("--anchor", ANCHOR_FILE) + _at(after_clc), 0, _VALID),
             Run(now, 5, _UNANCHORED),
             Run(("--anchor", ANCHOR_FILE) + _at(before_clc), 6, Verdict.NOT_YET_VALID,
                 {i: ("not-yet-valid",) for i in range(4)}))),
        BrokenSample(
            "client-licensor-certificate.xml", _utf8(teaching.text[clc.span.start:]),
            "Nothing: Alice's client licensor certificate with the certificates above it, "
            "as her computer keeps it (no publishing license).",
            "Valid while it may issue; once its ISSUE right has ended it is expired — it can "
            "sign no new publishing license.",
            (Run(anchor(), 0, _VALID),
             Run(("--anchor", ANCHOR_FILE) + _at(after_clc), 6, Verdict.EXPIRED,
                 {0: ("expired",)}))),
        BrokenSample(
            "published-after-expiry.xml",
            _utf8(_published_after_expiry(lab, teaching, after_clc)),
            "A publishing license signed with Alice's client licensor key a day after her "
            "client licensor certificate ended.",
            "Every signature is sound, but the license was issued after the certificate of "
            "its issuer's key stopped being able to issue (its ISSUEDTIME is past the "
            "certificate's RANGETIME).",
            (Run(("--anchor", ANCHOR_FILE) + _at(after_clc), 1, _INVALID,
                 {0: ("issued-outside-range",)}),)),
        BrokenSample(
            "body-changed.xml",
            _utf8(tamper(teaching.chain, 0, "<OWNER><OBJECT><ID type=\"Windows\" /><NAME>alice@", "<OWNER><OBJECT><ID type=\"Windows\" /><NAME>mallo@").text),
            "One name in the publishing license's BODY changed (alice → mallo).",
            "The surface-coding digest of the BODY no longer matches DIGEST/VALUE.",
            (Run(anchor(), 1, _INVALID, {0: ("digest-mismatch",)}),)),
        BrokenSample(
            "digest-restated.xml", _utf8(_restated_digest(teaching)),
            "The same change, and DIGEST/VALUE recomputed for the new BODY.",
            "The digest matches, but the RSA signature was made over the old digest: "
            "only the issuer's private key could restate it.",
            (Run(anchor(), 1, _INVALID, {0: ("bad-signature",)}),)),
        BrokenSample(
            "signature-changed.xml", _utf8(signature_changed),
            "One base64 character of the client licensor certificate's SIGNATURE/VALUE "
            "changed.",
            "The RSA signature does not verify under the server licensor key.",
            (Run(anchor(), 1, _INVALID, {1: ("bad-signature",)}),)),
        BrokenSample(
            "reformatted.xml", _utf8(_reformatted(teaching)),
            "The publishing license pretty-printed after signing (line breaks and "
            "indentation between the tags of its BODY).",
            "The digest covers the exact characters, so it fails; removing whitespace "
            "between tags (--recover-whitespace, reported per document) recovers it.",
            (Run(anchor(), 1, _INVALID, {0: ("digest-mismatch",)}),
             Run(anchor() + ("--recover-whitespace",), 0, _VALID))),
        BrokenSample(
            "unsigned.xml", _utf8(_without_signature(teaching)),
            "The publishing license's SIGNATURE removed.",
            "Nothing vouches for an unsigned document.",
            (Run(anchor(), 1, _INVALID, {0: ("unsigned",)}),)),
        BrokenSample(
            "signed-by-a-stranger.xml", _utf8(_signed_by_a_stranger(lab, teaching)),
            "A publishing license issued and signed with a key that no certificate in the "
            "chain names (the owner's name kept).",
            "Digest and signature are sound, but no certificate holds the issuer's key "
            "and it is not the pinned root.",
            (Run(anchor(), 1, _INVALID, {0: ("issuer-key-not-found",)}),)),
        BrokenSample(
            "certified-by-a-client-licensor.xml",
            _utf8(_certified_by_a_client_licensor(lab, teaching)),
            "A client licensor certificate used to issue another one (to Bob), who "
            "publishes with it.",
            "Every signature is sound, but a client licensor certificate may only be "
            "issued by a server licensor certificate.",
            (Run(anchor(), 1, _INVALID, {1: ("wrong-kind",)}),)),
        BrokenSample(
            "mode-1.xml", _utf8(mode1.text),
            "Nothing is broken: the chain is signed in cryptographic mode 1 (RSA-1024, "
            "SHA-1).",
            "Valid as it is; where mode 2 (RSA-2048, SHA-256) is required, every "
            "signature is flagged.",
            (Run(anchor(MODE1_ANCHOR_FILE), 0, _VALID),
             Run(anchor(MODE1_ANCHOR_FILE) + ("--require-mode", "2"), 1, _INVALID,
                 {i: ("mode-1-algorithm",) for i in range(4)}))),
        BrokenSample(
            "signature-inside-body.xml", _utf8(_signature_inside_body(teaching)),
            "The publishing license's SIGNATURE moved inside its BODY.",
            "The envelope is refused before anything is verified: the SIGNATURE must "
            "stand beside the BODY.",
            (Run(anchor(), 2, None, refusal="<SIGNATURE> found inside <BODY>"),)),
        BrokenSample(
            "second-body.xml", _utf8(_second_body(teaching)),
            "A second BODY added to the publishing license.",
            "Refused: an XrML document has exactly one BODY (which one would be signed?).",
            (Run(anchor(), 2, None, refusal="a second <BODY>"),)),
        BrokenSample(
            "entity-declared.xml",
            _utf8('<?xml version="1.0"?>\n<!DOCTYPE XrML [<!ENTITY owner "mallory">]>\n'
                  + teaching.chain[0].text.replace("alice@contoso.example", "&owner;", 1)),
            "A DTD declaring an entity, used in the BODY.",
            "Refused: XrML never declares a DTD or entities, and rmslab parses without "
            "them (entity expansion and external entities are classic attacks).",
            (Run(anchor(), 2, None, refusal="declares a DTD or entities"),)),
        BrokenSample(
            "truncated.ptxt", pfile[:len(pfile) // 2],
            "A protected file cut in half.",
            "Refused: the container says how long its parts are, and they are not all "
            "there.",
            (Run(anchor(), 2, None, refusal="truncated or damaged"),)),
    ]
    return _Built(samples, {ANCHOR_FILE: teaching.anchor, MODE1_ANCHOR_FILE: mode1.anchor})


def sample(name: str, lab: Lab | None = None) -> BrokenSample:
    """The sample written as ``name`` (e.g. ``"digest-restated.xml"``)."""
    return _find(broken_samples(lab), name)


def _find(samples: Sequence[BrokenSample], name: str) -> BrokenSample:
    for candidate in samples:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no sample {name!r}; the samples are "
                   f"{', '.join(s.name for s in samples)}")


def check(name: str, *, at: datetime | str | None = None, anchored: bool = True,
          recover_whitespace: bool = False, required_mode: int = 1,
          lab: Lab | None = None) -> ChainReport:
    """What ``rmslab verify NAME`` answers for a sample, in memory, with its options
    named: ``at`` (``--at``; the lab's time when None), ``anchored`` (``--anchor`` with
    the sample's root, as its MANIFEST runs pin it; False: no root pinned),
    ``recover_whitespace`` (``--recover-whitespace``) and ``required_mode``
    (``--require-mode``). A sample the reader refuses (exit status 2) raises that
    :class:`~rmslab.errors.InputError`."""
    lab = lab or Lab()
    built = _build(lab)
    chosen = _find(built.samples, name)
    moment = parse_time(at, "at") if isinstance(at, str) else at
    anchor_file = next((run.options[run.options.index("--anchor") + 1] for run in chosen.runs
                        if "--anchor" in run.options), ANCHOR_FILE)
    return examine(read_chain(chosen.data, source=name),
                   at=moment or lab.now(),
                   anchor=built.anchors[anchor_file] if anchored else None,
                   recover_whitespace=recover_whitespace, required_mode=required_mode)


def check_run(name: str, run: int, lab: Lab | None = None) -> ChainReport:
    """What ``rmslab verify`` answers for run ``run`` of a sample's MANIFEST entry (the
    options written there), in memory."""
    built = _build(lab or Lab())
    chosen = _find(built.samples, name)
    return examine(read_chain(chosen.data, source=name),
                   **_examine_options(chosen.runs[run].options, built.anchors))


def _examine_options(options: Sequence[str], anchors: dict[str, PublicKey]) -> dict[str, Any]:
    """The keyword arguments of :func:`~rmslab.report.examine` that ``rmslab verify``'s
    options stand for."""
    found: dict[str, Any] = {}
    words = iter(options)
    for word in words:
        if word == "--anchor":
            found["anchor"] = anchors[next(words)]
        elif word == "--at":
            found["at"] = parse_time(next(words), "--at")
        elif word == "--require-mode":
            found["required_mode"] = int(next(words))
        elif word == "--recover-whitespace":
            found["recover_whitespace"] = True
        else:
            raise ValueError(f"{word!r} is not an option of rmslab verify that samples use")
    if "at" not in found:
        raise ValueError("every run of a sample names its time with --at")
    return found


def write_samples(directory: str | Path, lab: Lab | None = None) -> list[Path]:
    """Write the samples, both anchors (PEM) and ``MANIFEST.json`` into ``directory``."""
    lab = lab or Lab()
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    samples, anchors = _build(lab)
    written = []
    for name, key in anchors.items():
        (target / name).write_bytes(key.to_pem())
        written.append(target / name)
    for sample in samples:
        (target / sample.name).write_bytes(sample.data)
        written.append(target / sample.name)
    manifest = {
        "about": "Documents broken on purpose by rmslab (python -m rmslab.broken DIR). "
                 "Each run is `rmslab verify FILE OPTIONS` from this directory; each names "
                 "its time with --at, since verify checks validity periods at the wall "
                 "clock's now otherwise.",
        "lab": {"seed": lab.seed, "at": format_time(lab.now())},
        "samples": [sample.to_json() for sample in samples],
    }
    (target / "MANIFEST.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False)
                                          + "\n", encoding="utf-8")
    written.append(target / "MANIFEST.json")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m rmslab.broken DIRECTORY", file=sys.stderr)
        return 2
    for path in write_samples(args[0]):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
