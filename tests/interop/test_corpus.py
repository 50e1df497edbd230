"""Interop: `rmslab verify --json` reproduces every expectation of the real corpus.

The corpus is not in the repository: it is a folder of real RMS documents — the examples
of MS-RMPR section 4.5 and the test data of Microsoft's public RMS SDK
(github.com/AzureAD/rms-sdk-for-cpp), as found there or cut out of protected files — with a
MANIFEST.json giving, per document, its kind, issuer, digest algorithm, key size and the
expected outcome of each check. Point ``$RMSLAB_CORPUS`` at it; without it these tests
skip, saying so (under ``CI=true`` they fail).

covers: A-1
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rmslab.cli import main
from rmslab.errors import DigestMismatchError
from rmslab.trust import validate_chain
from rmslab.xrml import read_file
from tests.conftest import corpus_dir

pytestmark = pytest.mark.interop


def _files() -> list[str]:
    found = corpus_dir()
    if found is None:
        return ["<corpus missing>"]
    return [entry["file"] for entry in json.loads((found / "MANIFEST.json").read_text())]


def run_cli(*args: str) -> tuple[int, Any]:
    out = io.StringIO()
    status = main(list(args), out=out)
    return status, out.getvalue()


def identical_copies(chain_docs: list[Any], index: int) -> set[int]:
    """Indices of documents byte-identical to document ``index`` (a chain may carry two
    copies of one certificate; either is a correct issuer_index)."""
    text = chain_docs[index].text
    return {d.index for d in chain_docs if d.text == text}


@pytest.mark.parametrize("name", _files())
def test_verify_json_matches_manifest(name: str, corpus: Path,
                                      manifest: list[dict[str, Any]]) -> None:
    entry = next(e for e in manifest if e["file"] == name)
    path = corpus / name
    status, output = run_cli("verify", str(path), "--json")
    report = json.loads(output)
    assert report["file"] == str(path)
    by_index = {d["index"]: d for d in report["documents"]}
    chain = list(read_file(path))
    signed = [d for d in report["documents"] if d["digest_algorithm"] is not None]
    assert len(signed) == len(entry["documents"])
    for expected in entry["documents"]:
        got = by_index[expected["index"]]
        assert got["kind"] == (expected["descriptor"] or expected["body_type"])
        assert got["issuer"] == expected["issuer"]
        assert got["digest_algorithm"] == expected["digest_alg"]
        assert got["key_bits"] == expected["key_bits"]
        assert got["digest_matches"] is expected["digest_matches_exact_body"]
        assert (got["digest_matches_after_whitespace_recovery"]
                is expected["digest_matches_after_stripping_intertag_whitespace"])
        assert got["signature_valid"] is expected["signature_over_digest_valid"]
        if expected["issuer_index"] is None:
            assert got["issuer_index"] is None
        else:
            assert got["issuer_index"] in identical_copies(chain, expected["issuer_index"])
    all_ok = all(d["digest_matches_exact_body"] and d["signature_over_digest_valid"]
                 for d in entry["documents"]) and bool(entry["documents"])
    assert_verdict(report, status, all_ok)
    # With explicit whitespace recovery, every pretty-printed copy verifies too.
    recovered_ok = all(d["digest_matches_after_stripping_intertag_whitespace"]
                       and d["signature_over_digest_valid"]
                       for d in entry["documents"]) and bool(entry["documents"])
    status, output = run_cli("verify", str(path), "--json", "--recover-whitespace")
    assert_verdict(json.loads(output), status, recovered_ok)


def assert_verdict(report: dict[str, Any], status: int, all_ok: bool) -> None:
    """No anchor is pinned, so nothing is valid: a sound file is unanchored, or expired
    when a document's time is over by now (a lone CLC that can no longer issue, a
    license past its VALIDITYTIME) — never invalid for its time alone."""
    assert report["chain_valid"] is False and report["anchored"] is False
    codes = {e["code"] for d in report["documents"] for e in d["errors"]}
    if not all_ok:
        assert report["verdict"] == "invalid" and status == 1
        return
    assert codes <= {"expired"}, codes
    assert report["verdict"] == ("expired" if codes else "unanchored")
    assert status == (6 if codes else 5)


def test_the_two_documents_meant_to_fail_fail_for_the_right_reason(corpus: Path) -> None:
    _, output = run_cli("verify", str(corpus / "docs/08_msrmpr-4.5.7_0_Template.xml"),
                        "--json", "--recover-whitespace")
    [template] = json.loads(output)["documents"]
    assert {e["code"] for e in template["errors"]} == {"digest-mismatch", "bad-signature"}
    status, output = run_cli(
        "verify", str(corpus / "docs/06_msrmpr-4.5.5_0_EncryptedRightsData.xml"), "--json")
    [rights] = json.loads(output)["documents"]
    assert status == 1
    assert [e["code"] for e in rights["errors"]] == ["unsigned"]
    assert rights["kind"] == "Microsoft Rights Template"


def _root_anchor(corpus: Path, tmp_path: Path) -> Path:
    """The Microsoft production root key, pinned: the ISSUER key of the last certificate
    of a full chain (no certificate of the root itself is in the corpus)."""
    chain = read_file(corpus / "chains/rmssdk-rmsSharingAdminTest.ptxt.xml")
    top = chain[len(chain) - 1]
    assert top.issuer is not None and top.issuer.name == "Microsoft DRM Production Root"
    assert top.issuer_key is not None
    path = tmp_path / "production-root.pem"
    path.write_bytes(top.issuer_key.to_pem())
    return path


@pytest.mark.parametrize("name", ["rmsSharingAdminTest.ptxt", "rmsSharingAliceTest.ptxt"])
def test_real_protected_files_open_and_their_chains_verify_to_the_root(
        name: str, corpus: Path, tmp_path: Path) -> None:
    anchor = _root_anchor(corpus, tmp_path)
    path = corpus / "pfiles" / name
    chain = read_file(path)
    assert chain.container is not None and chain.container.extension == ".txt"
    status, output = run_cli("verify", str(path), "--anchor", str(anchor), "--json")
    report = json.loads(output)
    # valid today: the client licensor certificate ended in 2017 and the CA certificates
    # could issue until 2014, but each signed what it signed while it could (MS-RMPR
    # 2.2.9.2)
    assert status == 0 and report["chain_valid"] and report["verdict"] == "valid"
    assert report["documents"][-1]["anchored"] is True
    # the publishing license and the use license each have a full path to the root
    from rmslab.crypto.rsa import PublicKey
    key = PublicKey.from_pem(anchor.read_bytes())
    assert len(validate_chain(chain, key).path) == 6
    assert len(validate_chain(chain, key, leaf=2).path) == 6


def test_single_document_protected_files_are_read(corpus: Path) -> None:
    for name in ["AliceBvt.txt.pfile", "CleanAdminWin7.txt.pfile", "CleanAlice.txt.pfile",
                 "android_template_01.ptxt", "linuxTest.txt.pfile"]:
        chain = read_file(corpus / "pfiles" / name)
        assert chain.container is not None
        assert chain.container.major_version in (2, 3)
        assert chain[0].kind == "Microsoft Rights Label"
        assert chain.container.content_length and not chain.container.content  # never read


def test_a_pinned_anchor_that_is_not_the_root_is_reported(corpus: Path, tmp_path: Path) -> None:
    path = corpus / "chains/rmssdk-rmsSharingAdminTest.ptxt.xml"
    chain = read_file(path)
    wrong = tmp_path / "wrong.pem"
    assert chain[0].issuer_key is not None
    wrong.write_bytes(chain[0].issuer_key.to_pem())  # the user's CLC key, not a root
    status, output = run_cli("verify", str(path), "--anchor", str(wrong), "--json")
    report = json.loads(output)
    assert status == 1
    assert [e["code"] for e in report["documents"][7]["errors"]] == ["issuer-key-not-found"]


def test_pretty_printed_chain_needs_explicit_recovery(corpus: Path) -> None:
    chain = read_file(corpus / "chains/rmssdk-platform_ut-pl.xml.xml")
    anchor = chain[len(chain) - 1].issuer_key
    assert anchor is not None
    with pytest.raises(DigestMismatchError, match="1st in the chain.*pretty-printed"):
        validate_chain(chain, anchor)
    assert validate_chain(chain, anchor, recover_whitespace=True).leaf.whitespace_recovered


def test_cli_runs_as_a_real_process(corpus: Path, tmp_path: Path) -> None:
    path = str(corpus / "pfiles/rmsSharingAliceTest.ptxt")
    result = subprocess.run([sys.executable, "-m", "rmslab.cli", "verify", "--json", path],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 5, result.stderr  # sound, but no root pinned
    assert json.loads(result.stdout)["verdict"] == "unanchored"
    result = subprocess.run([sys.executable, "-m", "rmslab.cli", "verify", "--json", path,
                             "--anchor", str(_root_anchor(corpus, tmp_path))],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["chain_valid"] is True
