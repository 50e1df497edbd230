"""Benchmark: what rmslab costs to verify and to sign XrML, against the floor.

Run from the repository root::

    .venv/bin/python bench/verify_and_sign.py [--rounds N] [--round-time SECONDS] [--profile N]

(a) Verification of whole chains. "rmslab" starts from the file's bytes (or the text of
    the rmslab-written teaching chain) and does everything: read_chain, then either
    ``examine`` (every document: digest, whitespace-recovery digest, signature, issuer
    lookup, kind and mode checks) or ``validate_chain`` (the path from the leaf up to the
    pinned anchor). The "floor", measured in the same run on the same input, is what no
    verifier can avoid: one lxml parse of the decoded text (wrapped in one synthetic root,
    since a chain has several roots), one hashlib digest of each verified BODY's UTF-16LE
    bytes, and the raw ``cryptography`` RSA PKCS#1 v1.5 Prehashed verifications with
    public key objects built beforehand. The floor starts from the decoded text, rmslab
    from bytes (decoding and the protected-file container are part of rmslab's cost).

    Beside validate_chain, a "bare" verifier of the same input is timed in the same
    rounds (:func:`bare_verifier`): every check left out, only decoding, finding the
    BODYs, one parse, one XPath per value and the digest + RSA work along the path. Its
    ratio is what reading alone costs over the floor in pure Python on lxml — the part of
    rmslab's distance to the floor that no verifier avoids.

(b) Signing the teaching chain's bodies: ``rmslab.xrml.writer.sign`` (digest, RSA
    signature, envelope text) against raw ``cryptography`` RSA signing of the same,
    precomputed digests with the same keys.

Times are medians over several rounds; rmslab and floor rounds alternate so that a noisy
machine disturbs both alike. Absolute times vary from machine to machine; ratios hold.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import platform
import re
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(REPO))

import cryptography  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils  # noqa: E402
from lxml import etree  # noqa: E402

from rmslab.crypto.rsa import DigestAlgorithm, PrivateKey, PublicKey  # noqa: E402
from rmslab.lab import Lab  # noqa: E402
from rmslab.report import examine  # noqa: E402

#: The time every verification checks at, as ``rmslab verify`` does without --at.
CHECKED_AT = datetime.now(timezone.utc)
from rmslab.samples import TeachingChain, teaching_chain  # noqa: E402
from rmslab.trust import validate_chain  # noqa: E402
from rmslab.xrml import Chain, XrmlDocument, read_chain  # noqa: E402
from rmslab.xrml.pfile import is_protected_file, read_protected_file  # noqa: E402
from rmslab.xrml.source import decode_text  # noqa: E402
from rmslab.xrml.writer import sign  # noqa: E402

TARGET_RATIO = 1.3
CORPUS_CHAIN = "chains/rmssdk-rmsSharingAdminTest.ptxt.xml"
CORPUS_PFILE = "pfiles/rmsSharingAliceTest.ptxt"

_PKCS1 = padding.PKCS1v15()
_PREHASHED = {DigestAlgorithm.SHA1: utils.Prehashed(hashes.SHA1()),
              DigestAlgorithm.SHA256: utils.Prehashed(hashes.SHA256())}
_XML_DECLARATION = re.compile(r"<\?xml[^>]*\?>")
_HASHLIB = {DigestAlgorithm.SHA1: hashlib.sha1, DigestAlgorithm.SHA256: hashlib.sha256}


# --- timing ---------------------------------------------------------------------------------


def _per_call(fn: Callable[[], object], reps: int) -> float:
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps


def _reps_for(fns: Sequence[Callable[[], object]], round_time: float) -> int:
    """Repetitions per round so that the slowest function's round lasts ``round_time``."""
    for fn in fns:  # warm up: caches, lazy imports, branch predictors
        _per_call(fn, 3)
    slowest = max(_per_call(fn, 5) for fn in fns)
    return max(3, int(round_time / slowest))


def time_alternating(fns: Sequence[Callable[[], object]], *, rounds: int,
                     round_time: float) -> list[float]:
    """Median seconds per call of each function; rounds alternate between them."""
    reps = _reps_for(fns, round_time)
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for fn, record in zip(fns, times):
            record.append(_per_call(fn, reps))
    return [statistics.median(record) for record in times]


def time_pair(rmslab_fn: Callable[[], object], floor_fn: Callable[[], object], *,
              rounds: int, round_time: float) -> tuple[float, float]:
    ours, floor = time_alternating([rmslab_fn, floor_fn], rounds=rounds,
                                   round_time=round_time)
    return ours, floor


# --- floors -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signed:
    """What the floor needs of one signed document, prepared before timing."""

    body: str
    algorithm: DigestAlgorithm
    stated_digest: bytes
    signature: bytes
    key: rsa.RSAPublicKey


def prepare(doc: XrmlDocument, issuer_key: PublicKey | None = None) -> Signed:
    key = issuer_key or doc.issuer_key
    sig = doc.signature
    assert key is not None and sig is not None and doc.digest_algorithm is not None
    assert sig.digest_value is not None and sig.value is not None
    return Signed(doc.body_text, doc.digest_algorithm, sig.digest_value, sig.value,
                  rsa.RSAPublicNumbers(key.exponent, key.modulus).public_key())


def verification_floor(text: str, signed: Sequence[Signed]) -> Callable[[], None]:
    """One lxml parse of the whole text, one digest per BODY, one raw RSA verification
    per signature. XML declarations cannot stand inside the synthetic root: they are
    removed beforehand."""
    wrapped = f"<floor>{_XML_DECLARATION.sub('', text)}</floor>"

    def floor() -> None:
        etree.fromstring(wrapped)
        for s in signed:
            digest = _HASHLIB[s.algorithm](s.body.encode("utf-16-le")).digest()
            if digest != s.stated_digest:
                raise AssertionError("floor: digest mismatch")
            s.key.verify(s.signature, digest, _PKCS1, _PREHASHED[s.algorithm])
    return floor


# --- the bare verifier ------------------------------------------------------------------------

_BARE = {name: etree.XPath(f"XrML | XrML/{path}", smart_strings=False) for name, path in {
    "signature": "SIGNATURE/VALUE/text()",
    "digest": "SIGNATURE/DIGEST/VALUE/text()",
    "algorithm": "SIGNATURE/DIGEST/ALGORITHM/text()",
    "modulus": "BODY/ISSUER/PUBLICKEY/PARAMETER[@name='modulus']/VALUE/text()",
    "exponent": "BODY/ISSUER/PUBLICKEY/PARAMETER[@name='public-exponent']/VALUE/text()",
    "certified": "BODY/ISSUEDPRINCIPALS/PRINCIPAL/PUBLICKEY/PARAMETER[@name='modulus']"
                 "/VALUE/text()",
}.items()}


def bare_verifier(data: bytes | str, anchor: PublicKey) -> Callable[[], int]:
    """The least a verifier of the same input can do beyond the floor, with every check
    left out: decode the bytes, find each BODY with plain searches, parse once, read the
    values each verification needs with one XPath evaluation per value for the whole
    chain, then digest, decode and verify along the path from the leaf to the anchor.
    No error names a position, no kind, time or mode is checked, nothing malformed is
    caught. It is not a verifier to use: it measures what reading costs, so the bench
    can show how much of rmslab's distance to the floor any verifier would pay."""
    def values(root: etree._Element, name: str) -> list[str | None]:
        per_document: list[str | None] = []
        for item in _BARE[name](root):
            if isinstance(item, str):
                if per_document[-1] is None:
                    per_document[-1] = item
            else:
                per_document.append(None)
        return per_document

    def bare() -> int:
        if isinstance(data, bytes):
            payload = read_protected_file(data).license_bytes if is_protected_file(data) else data
            text = decode_text(payload)
        else:
            text = data
        bodies = []
        at = text.find("<BODY")
        while at >= 0:
            end = text.find("</BODY>", at) + len("</BODY>")
            bodies.append(text[at:end])
            at = text.find("<BODY", end)
        root = etree.fromstring(f"<bare>{_XML_DECLARATION.sub('', text)}</bare>")
        signature, digest, algorithm, modulus, exponent, certified = (
            values(root, name) for name in _BARE)
        issuer_of = {m: i for i, m in enumerate(certified) if m is not None and i}
        index, verified = 0, 0
        while True:
            alg = DigestAlgorithm(algorithm[index])
            digest_value = _HASHLIB[alg](bodies[index].encode("utf-16-le")).digest()
            if digest_value != base64.b64decode(digest[index] or ""):
                raise AssertionError("bare: digest mismatch")
            key = PublicKey.from_xrml(modulus[index] or "", exponent[index] or "65537")
            key.verify_digest(base64.b64decode(signature[index] or ""), digest_value, alg)
            verified += 1
            if key == anchor:
                return verified
            index = issuer_of[modulus[index]]
    return bare


# --- cases ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One input to verify: its bytes or text, the anchor to pin, how it is named."""

    name: str
    data: bytes | str
    anchor: PublicKey


@dataclass(frozen=True)
class Row:
    section: str
    case: str
    path: str
    docs: int
    ours: float
    floor: float
    bare: float | None = None

    @property
    def ratio(self) -> float:
        return self.ours / self.floor

    @property
    def bare_ratio(self) -> float | None:
        return None if self.bare is None else self.bare / self.floor


def corpus_dir() -> Path:
    env = os.environ.get("RMSLAB_CORPUS")
    return Path(env) if env else (REPO / ".." / "shared" / "xrml-corpus").resolve()


def cases(teaching: dict[int, TeachingChain], notes: list[str]) -> list[Case]:
    out = [Case(f"teaching chain, mode {mode}", t.text, t.anchor)
           for mode, t in sorted(teaching.items(), key=lambda kv: -kv[0])]
    root = corpus_dir()
    for relative, label in ((CORPUS_CHAIN, "corpus chain (byte-exact)"),
                            (CORPUS_PFILE, "corpus protected file")):
        path = root / relative
        if not path.is_file():
            notes.append(f"skipped {label}: {path} not found (set RMSLAB_CORPUS)")
            continue
        data = path.read_bytes()
        chain = read_chain(data, source=str(path))
        # The real chains end below "Microsoft DRM Production Root": pin its key, the
        # ISSUER key of the last certificate (docs/wire-format.md "Chains and the anchor").
        anchor = chain[len(chain) - 1].issuer_key
        assert anchor is not None
        out.append(Case(f"{label}: {path.name}", data, anchor))
    return out


def verification_rows(case: Case, *, rounds: int, round_time: float) -> list[Row]:
    chain: Chain = read_chain(case.data)
    text = chain.text
    anchor = case.anchor

    # Check once, outside timing, that both paths succeed on this input: a benchmark of
    # a verification that fails early would measure the wrong thing.
    report = examine(chain, anchor=anchor, at=CHECKED_AT)
    if not report.chain_valid:
        raise SystemExit(f"{case.name}: examine found errors: "
                         f"{[e.to_json() for d in report.documents for e in d.errors]}")
    validated = validate_chain(chain, anchor)

    def ours_examine() -> None:
        examine(read_chain(case.data), anchor=anchor, at=CHECKED_AT)

    def ours_validate() -> None:
        validate_chain(read_chain(case.data), anchor)

    all_docs = [prepare(d) for d in chain]
    path_docs = [prepare(v.document, v.issuer_key) for v in validated.path]
    bare = bare_verifier(case.data, anchor)
    if bare() != len(path_docs):
        raise SystemExit(f"{case.name}: the bare verifier walked another path")
    ours, floor = time_pair(ours_examine, verification_floor(text, all_docs),
                            rounds=rounds, round_time=round_time)
    rows = [Row("verify", case.name, "read_chain + examine", len(all_docs), ours, floor)]
    ours, bare_time, floor = time_alternating(
        [ours_validate, bare, verification_floor(text, path_docs)],
        rounds=rounds, round_time=round_time)
    rows.append(Row("verify", case.name, "read_chain + validate_chain", len(path_docs),
                    ours, floor, bare_time))
    return rows


def signing_row(mode: int, teaching: TeachingChain, *, rounds: int,
                round_time: float) -> Row:
    lab_alg = DigestAlgorithm.SHA256 if mode == 2 else DigestAlgorithm.SHA1
    signer_of = {0: "clc", 1: "slc", 2: "ca", 3: "root"}  # PL, CLC, SLC, CA
    jobs: list[tuple[str, PrivateKey]] = [
        (doc.body_text, teaching.keys[signer_of[doc.index]]) for doc in teaching.chain]
    # Check that signing reproduces the chain's documents exactly (RSA PKCS#1 v1.5 is
    # deterministic), so both sides sign what the chain holds.
    for doc, (body, key) in zip(teaching.chain, jobs):
        assert sign(body, key, lab_alg) == doc.text, "sign() does not reproduce the chain"

    raw_keys = [serialization.load_pem_private_key(key.to_pem(), password=None)
                for _, key in jobs]
    digests = [_HASHLIB[lab_alg](body.encode("utf-16-le")).digest() for body, _ in jobs]
    prehashed = _PREHASHED[lab_alg]
    raw = [(k, d) for k, d in zip(raw_keys, digests) if isinstance(k, rsa.RSAPrivateKey)]
    assert len(raw) == len(jobs)

    def ours() -> None:
        for body, key in jobs:
            sign(body, key, lab_alg)

    def floor() -> None:
        for key, digest in raw:
            key.sign(digest, _PKCS1, prehashed)

    t_ours, t_floor = time_pair(ours, floor, rounds=rounds, round_time=round_time)
    return Row("sign", f"teaching chain, mode {mode}", "writer.sign x4", len(jobs),
               t_ours, t_floor)


# --- output -----------------------------------------------------------------------------------


def print_table(rows: Sequence[Row]) -> None:
    headers = ("", "input", "rmslab path", "docs", "rmslab", "floor", "over/doc", "ratio",
               f"≤ {TARGET_RATIO}?", "bare", "bare ratio")
    cells = [(r.section, r.case, r.path, str(r.docs), f"{r.ours * 1e6:,.0f} µs",
              f"{r.floor * 1e6:,.0f} µs", f"{(r.ours - r.floor) * 1e6 / r.docs:,.0f} µs",
              f"{r.ratio:.2f}", "yes" if r.ratio <= TARGET_RATIO else "no",
              f"{r.bare * 1e6:,.0f} µs" if r.bare is not None else "",
              f"{r.bare_ratio:.2f}" if r.bare_ratio is not None else "")
             for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    right = {3, 4, 5, 6, 7, 9, 10}

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if i in right else v.ljust(w)
                         for i, (v, w) in enumerate(zip(values, widths))).rstrip()

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    section = rows[0].section if rows else ""
    for row, cell in zip(rows, cells):
        if row.section != section:
            print()
            section = row.section
        print(line(cell))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7, help="rounds per measurement (median)")
    parser.add_argument("--round-time", type=float, default=0.15,
                        help="seconds per round of the slower side")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also print the N costliest functions (cProfile, own time) of "
                             "read_chain + examine / validate_chain on the first corpus case "
                             "(the teaching chain when the corpus is missing)")
    args = parser.parse_args(argv)

    print(f"rmslab verify/sign benchmark — Python {platform.python_version()}, "
          f"lxml {etree.__version__}, cryptography {cryptography.__version__}")
    print(f"median of {args.rounds} rounds of ~{args.round_time}s each; "
          f"target ratio ≤ {TARGET_RATIO}\n")

    teaching = {mode: teaching_chain(Lab(mode=mode)) for mode in (2, 1)}
    notes: list[str] = []
    rows: list[Row] = []
    for case in cases(teaching, notes):
        rows.extend(verification_rows(case, rounds=args.rounds, round_time=args.round_time))
    for mode in (2, 1):
        rows.append(signing_row(mode, teaching[mode], rounds=args.rounds,
                                round_time=args.round_time))
    print_table(rows)
    for note in notes:
        print(f"note: {note}")
    print("\nfloor (verify) = lxml.etree.fromstring of the wrapped text + hashlib digest of "
          "each verified BODY (UTF-16LE) + raw RSA PKCS1v15/Prehashed verify, keys prebuilt;")
    print("floor (sign)   = raw RSA PKCS1v15/Prehashed sign of the precomputed digests.")
    print("bare           = bench.verify_and_sign.bare_verifier: decode, plain BODY search, one "
          "parse, one XPath per value for the whole chain, digest + RSA along the path — no "
          "check, no error position; what reading alone costs over the floor.")
    if args.profile:
        all_cases = cases(teaching, [])
        profile(all_cases[-1] if len(all_cases) > 2 else all_cases[0], args.profile)
    return 0


def profile(case: Case, top: int, reps: int = 300) -> None:
    """Where rmslab's time goes: cProfile of both verification paths, own time first.
    (cProfile inflates Python-level calls against C ones; read it for shares, not totals.)"""
    import cProfile
    import pstats

    for label, fn in (("read_chain + examine",
                       lambda: examine(read_chain(case.data), anchor=case.anchor,
                                       at=CHECKED_AT)),
                      ("read_chain + validate_chain",
                       lambda: validate_chain(read_chain(case.data), case.anchor))):
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(reps):
            fn()
        profiler.disable()
        print(f"\nprofile: {label} on {case.name}, {reps} runs")
        pstats.Stats(profiler, stream=sys.stdout).strip_dirs().sort_stats(
            "tottime").print_stats(top)


if __name__ == "__main__":
    raise SystemExit(main())
