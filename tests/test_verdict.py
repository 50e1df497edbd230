"""`rmslab verify` cannot be misread: valid and anchored, consistent but not anchored,
expired, not yet valid and invalid are each told apart in the text, the JSON and the
exit status; the time checked is now unless --at says otherwise; a chain that no pinned
root vouches for is never called valid, whatever it carries (attack tests).

covers: A-1
"""

from __future__ import annotations

import io
import json
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from rmslab.cli import main
from rmslab.cli.common import EXIT_UNANCHORED, EXIT_OUT_OF_TIME
from rmslab.crypto.rsa import PrivateKey
from rmslab.lab import Lab
from rmslab.report import Verdict, examine
from rmslab.samples import TeachingChain, teaching_chain
from rmslab.xrml import read_chain
from rmslab.xrml.model import Principal
from rmslab.xrml.pfile import write_protected_file
from rmslab.xrml.writer import RightSpec, license_body, sign

LAB_TIME = "2026-01-05T09:00"
AFTER_CLC = "2027-01-06T09:00"   # the client licensor certificate ended the day before
BEFORE_ALL = "2026-01-03T09:00"  # before the certificates begin


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


def verdict_line(text: str) -> str:
    return text.rstrip().splitlines()[-1]


@pytest.fixture()
def files(teaching: TeachingChain, tmp_path: Path) -> dict[str, str]:
    """The teaching chain; Alice's client licensor certificate with the certificates
    above it (a leaf certificate: its ISSUE range is checked at the time checked); the
    root key to pin."""
    chain = tmp_path / "chain.xml"
    chain.write_text(teaching.text, encoding="utf-8")
    clc = tmp_path / "clc.xml"
    clc.write_text(teaching.text[teaching.chain[1].span.start:], encoding="utf-8")
    anchor = tmp_path / "root.pem"
    anchor.write_bytes(teaching.anchor.to_pem())
    return {"chain": str(chain), "clc": str(clc), "anchor": str(anchor)}


# -- each state: text, JSON, exit status ---------------------------------------------

CASES = {
    "valid": (("--at", LAB_TIME), True, 0,
              "chain VALID AND ANCHORED: every check holds and the chain ends at the pinned "
              "root 2e113985521deb03; checked at 2026-01-05 09:00 UTC"),
    "unanchored": (("--at", LAB_TIME), False, EXIT_UNANCHORED,
                   "chain NOT ANCHORED: every digest, signature and link holds, but no "
                   "trusted root is pinned (--anchor KEYFILE): nothing says who stands behind "
                   "the chain; checked at 2026-01-05 09:00 UTC"),
    "expired": (("--at", AFTER_CLC), True, EXIT_OUT_OF_TIME,
                "chain EXPIRED: every signature and link holds, but the client licensor "
                "certificate (#0): expired on 2027-01-05 09:00 UTC (checked at 2027-01-06 "
                "09:00 UTC)"),
    "not-yet-valid": (("--at", BEFORE_ALL), True, EXIT_OUT_OF_TIME,
                      "chain NOT YET VALID: every signature and link holds, but the "
                      "publishing license (#0): not valid before it was issued, 2026-01-05 "
                      "09:00 UTC (checked at 2026-01-03 09:00 UTC); the client licensor"),
}


@pytest.mark.parametrize("verdict", list(CASES))
def test_each_verdict_in_text_json_and_exit_status(verdict: str,
                                                   files: dict[str, str]) -> None:
    options, pinned, status_expected, line = CASES[verdict]
    file = files["clc" if verdict == "expired" else "chain"]
    args = [file, *options] + (["--anchor", files["anchor"]] if pinned else [])
    status, text = run("verify", *args)
    assert status == status_expected
    assert verdict_line(text).startswith(line)
    status_json, output = run("verify", *args, "--json")
    data = json.loads(output)
    assert status_json == status_expected
    assert data["schema"] == 2 and data["verdict"] == verdict
    assert data["chain_valid"] is (verdict == "valid")
    assert data["anchored"] is pinned
    assert data["summary"] in verdict_line(text)
    assert data["checked_at"] == options[1]


def test_the_unanchored_chain_is_never_called_valid(files: dict[str, str]) -> None:
    status, text = run("verify", files["chain"], "--at", LAB_TIME)
    assert status not in (0, 1) and "valid" not in verdict_line(text).lower()
    assert "[ok]" not in text and text.count("[NOT ANCHORED]") == 4
    _, output = run("verify", files["chain"], "--at", LAB_TIME, "--json")
    data = json.loads(output)
    assert data["chain_valid"] is False and data["anchor"] is None
    assert not any(d["valid"] for d in data["documents"])
    assert {d["verdict"] for d in data["documents"]} == {"unanchored"}


def test_an_invalid_chain_in_text_json_and_exit_status(files: dict[str, str],
                                                       teaching: TeachingChain,
                                                       tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    at = teaching.chain[1].span.start  # the CLC's ISSUER names the server first after it
    broken.write_text(teaching.text[:at] + teaching.text[at:].replace("CONTOSO-RMS",
                                                                      "CONTOSO-RMX", 1))
    for pinned in ([], ["--anchor", files["anchor"]]):
        status, text = run("verify", str(broken), "--at", AFTER_CLC, *pinned)
        assert status == 1  # a failed check outweighs expiry and the missing anchor
        assert verdict_line(text).startswith("chain NOT VALID: 1 check failed "
                                             "(#1 digest-mismatch)")
        _, output = run("verify", str(broken), "--at", AFTER_CLC, *pinned, "--json")
        data = json.loads(output)
        assert data["verdict"] == "invalid" and data["chain_valid"] is False
        assert [d["verdict"] for d in data["documents"]][:2] == ["valid" if pinned else
                                                                 "unanchored", "invalid"]


def test_what_a_certificate_signed_in_range_stays_valid_after_it_ends(
        files: dict[str, str]) -> None:
    """MS-RMPR 2.2.9.2: a certificate's RANGETIME is when it may issue. The publishing
    license Alice signed while her client licensor certificate could issue is valid after
    that certificate ends; the certificate on its own is expired then."""
    status, output = run("verify", files["chain"], "--anchor", files["anchor"], "--at",
                         AFTER_CLC, "--json")
    assert status == 0 and json.loads(output)["verdict"] == "valid"
    status, output = run("verify", files["clc"], "--anchor", files["anchor"], "--at",
                         AFTER_CLC, "--json")
    assert status == EXIT_OUT_OF_TIME
    assert [[e["code"] for e in d["errors"]] for d in json.loads(output)["documents"]] == [
        ["expired"], [], []]


def test_a_license_signed_after_its_certificate_ended_is_invalid(
        files: dict[str, str], teaching: TeachingChain, tmp_path: Path) -> None:
    """Backdating is the issuer's word; a later ISSUEDTIME is caught whenever checked."""
    from rmslab.broken import sample
    path = tmp_path / "late.xml"
    path.write_bytes(sample("published-after-expiry.xml").data)
    for at in (AFTER_CLC, "2030-01-01T00:00"):
        status, output = run("verify", str(path), "--anchor", files["anchor"], "--at", at,
                             "--json")
        data = json.loads(output)
        assert status == 1 and data["verdict"] == "invalid"
        [finding] = data["documents"][0]["errors"]
        assert finding["code"] == "issued-outside-range"
        assert finding["message"] == (
            "issued on 2027-01-06 09:00 UTC, after the client licensor certificate (#1) "
            "that certifies its issuer's key could issue (until 2027-01-05 09:00 UTC)")


# -- the time checked is now by default ------------------------------------------------


def _write(tmp_path: Path, name: str, teaching: TeachingChain) -> tuple[str, str]:
    path = tmp_path / f"{name}.xml"
    path.write_text(teaching.text, encoding="utf-8")
    anchor = tmp_path / f"{name}.pem"
    anchor.write_bytes(teaching.anchor.to_pem())
    return str(path), str(anchor)


def test_without_at_the_time_checked_is_now(tmp_path: Path) -> None:
    before = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    old_chain = teaching_chain(Lab(at="2020-01-01T00:00"))
    old, anchor = _write(tmp_path, "old", old_chain)
    Path(old).write_text(old_chain.text[old_chain.chain[1].span.start:], encoding="utf-8")
    status, output = run("verify", old, "--anchor", anchor, "--json")
    data = json.loads(output)
    checked = datetime.fromisoformat(data["checked_at"]).replace(tzinfo=timezone.utc)
    assert before <= checked <= datetime.now(timezone.utc)
    assert status == EXIT_OUT_OF_TIME and data["verdict"] == "expired"
    future, anchor = _write(tmp_path, "future", teaching_chain(Lab(at="2100-01-01T00:00")))
    status, output = run("verify", future, "--anchor", anchor, "--json")
    assert status == EXIT_OUT_OF_TIME and json.loads(output)["verdict"] == "not-yet-valid"
    status, _ = run("verify", future, "--anchor", anchor, "--at", "2100-01-02T00:00")
    assert status == 0


def test_the_help_lists_every_exit_status() -> None:
    out = io.StringIO()
    import contextlib
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main(["verify", "--help"])
    text = " ".join(out.getvalue().split())
    for status, words in ((0, "done; for verify: valid and anchored"), (1, "a check failed"),
                          (5, "verify: consistent but NOT anchored"),
                          (6, "verify: expired or not yet valid at the time checked")):
        assert f"{status} {words}" in text


# -- attacks: nothing but a pinned root makes a chain valid ------------------------------


def test_a_file_protected_in_a_strangers_lab(teaching: TeachingChain, files: dict[str, str],
                                             tmp_path: Path) -> None:
    stranger = teaching_chain(Lab(seed=7))
    path = tmp_path / "stranger.ptxt"
    path.write_bytes(write_protected_file(stranger.text, b"\x00" * 64, extension=".txt"))
    status, output = run("verify", str(path), "--at", LAB_TIME, "--json")
    data = json.loads(output)
    assert status == EXIT_UNANCHORED and data["verdict"] == "unanchored"
    status, output = run("verify", str(path), "--at", LAB_TIME, "--anchor", files["anchor"],
                         "--json")
    data = json.loads(output)
    assert status == 1 and data["verdict"] == "invalid"
    assert [e["code"] for e in data["documents"][3]["errors"]] == ["issuer-key-not-found"]


def _guid(label: str) -> str:
    return f"{{00000000-0000-4000-8000-{zlib.crc32(label.encode()):012x}}}"


def _certificate(lab: Lab, name: str, issuer: tuple[str, PrivateKey], subject: PrivateKey,
                 kind: str = "DRM-CA-Certificate") -> str:
    """A certificate for ``subject``'s key, named ``name``, signed by ``issuer``."""
    now = lab.now()

    def principal(label: str, key: PrivateKey) -> Principal:
        return Principal("DRM-Certificate-Authority", _guid(label), "MS-GUID", label, (),
                         key.public)

    body = license_body(
        kind=kind, id=_guid(f"certificate of {name}"), issued=now,
        issuer=principal(issuer[0], issuer[1]), principals=[principal(name, subject)],
        rights=[RightSpec("ISSUE", "1", now - timedelta(days=1), now + timedelta(days=30))])
    return sign(body, issuer[1], lab.digest_algorithm)


def test_certificates_that_vouch_for_each_other_are_not_an_anchor(
        files: dict[str, str], teaching: TeachingChain, tmp_path: Path) -> None:
    """A and B certify each other's key: every signature and link in the file holds, and
    the walk up from the leaf never ends — at a root nobody pinned, or at the pinned one."""
    lab = Lab()
    key_a, key_b = lab.key("loop:a"), lab.key("loop:b")
    leaf = _certificate(lab, "leaf", ("B", key_b), lab.key("loop:leaf"),
                        kind="Server-Licensor-Certificate")
    a = _certificate(lab, "B", ("A", key_a), key_b)
    b = _certificate(lab, "A", ("B", key_b), key_a)
    path = tmp_path / "loop.xml"
    path.write_text(leaf + a + b, encoding="utf-8")
    chain = read_chain(path.read_bytes())
    assert [d.issuer_index for d in examine(chain, at=lab.now()).documents] == [1, 2, 1]

    status, output = run("verify", str(path), "--at", LAB_TIME, "--json")
    data = json.loads(output)
    assert status == EXIT_UNANCHORED and data["verdict"] == "unanchored"
    assert "loop back on themselves (#1 → #2 → #1)" in data["documents"][1]["notes"][0]
    status, output = run("verify", str(path), "--at", LAB_TIME, "--anchor", files["anchor"],
                         "--json")
    data = json.loads(output)
    assert status == 1 and data["verdict"] == "invalid"
    assert [[e["code"] for e in d["errors"]] for d in data["documents"]] == [
        [], ["issuer-key-not-found"], ["issuer-key-not-found"]]


def test_a_self_signed_root_carried_in_the_file_is_not_an_anchor(
        files: dict[str, str], teaching: TeachingChain, tmp_path: Path) -> None:
    lab = Lab()
    root = lab.key("fake:root")
    leaf = _certificate(lab, "leaf", ("Fake Root", root), lab.key("fake:leaf"))
    self_signed = _certificate(lab, "Fake Root", ("Fake Root", root), root)
    path = tmp_path / "self-signed.xml"
    path.write_text(leaf + self_signed, encoding="utf-8")
    status, output = run("verify", str(path), "--at", LAB_TIME, "--json")
    data: dict[str, Any] = json.loads(output)
    assert status == EXIT_UNANCHORED and data["verdict"] == "unanchored"
    assert data["documents"][1]["issuer_index"] is None  # never its own issuer
    status, _ = run("verify", str(path), "--at", LAB_TIME, "--anchor", files["anchor"])
    assert status == 1


def test_verdicts_rank_a_failed_check_over_time_over_the_anchor() -> None:
    assert list(Verdict) == [Verdict.INVALID, Verdict.EXPIRED, Verdict.NOT_YET_VALID,
                             Verdict.UNANCHORED, Verdict.VALID]
