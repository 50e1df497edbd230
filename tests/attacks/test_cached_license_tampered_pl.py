"""Attack: a cached use license hides a tampered publishing license (issue 10 item 6,
issue 11 "open tells what it used").

Once bob has opened a file, a copy whose publishing license was changed — its BODY, its
signature, its SLC chain gone, its rights blob replaced, its URL changed — opened with
"10 checks passed": the cached use license bound and the license in the file was never
looked at. Binding checks the file's publishing license up to the root first (MS-RMPR
3.8, 2.2.9.7), and ``open`` warns and says why.

covers: B-2
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from rmslab.deployment import standard_deployment
from rmslab.flows.binding import AppSession, explain_binding
from rmslab.lab import Lab
from rmslab.teaching import tamper
from rmslab.xrml.pfile import read_protected_file, write_protected_file
from rmslab.xrml.reader import Chain, parse
from tests.clirun import run

URL = "https://rms.contoso.example/_wmcs/licensing"


def _changed_body(chain: Chain, other: Chain) -> str:
    pl = chain[0]
    issued = f"<ISSUEDTIME>{pl.issued:%Y-%m-%dT%H:%M}</ISSUEDTIME>"
    return tamper(chain, 0, issued, issued.replace(":00<", ":01<")).text


def _broken_signature(chain: Chain, other: Chain) -> str:
    pl = chain[0]
    start, end = pl.element_span("SIGNATURE/VALUE")
    value = pl.text[start:end]
    at = value.index(">") + 5
    flipped = value[:at] + ("A" if value[at] != "A" else "B") + value[at + 1:]
    return chain.text[:pl.span.start + start] + flipped + chain.text[pl.span.start + end:]


def _no_slc_chain(chain: Chain, other: Chain) -> str:
    return "".join(d.text for d in chain if d.kind != "Server-Licensor-Certificate"
                   and d.kind != "DRM-CA-Certificate")


def _replaced_rights(chain: Chain, other: Chain) -> str:
    mine = chain[0].element.findtext("BODY/AUTHENTICATEDDATA") or ""
    theirs = other[0].element.findtext("BODY/AUTHENTICATEDDATA") or ""
    assert mine and theirs and mine != theirs
    return tamper(chain, 0, mine, theirs).text


def _changed_url(chain: Chain, other: Chain) -> str:
    point = next(p for p in chain[0].element.iterfind("BODY/DISTRIBUTIONPOINT")
                 if p.find("OBJECT[@type='License-Acquisition-URL']") is not None)
    text = chain[0].element_text(point)
    assert URL in text
    return tamper(chain, 0, text, text.replace(URL, "https://rms.evil.example/_wmcs/licensing")
                  ).text


TAMPERINGS: dict[str, Callable[[Chain, Chain], str]] = {
    "changed BODY": _changed_body, "broken signature": _broken_signature,
    "no SLC chain": _no_slc_chain, "replaced rights": _replaced_rights,
    "changed URL": _changed_url,
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A lab, two of alice's files for bob (one offline, one online), and bob has opened
    the first: its use license is cached."""
    root = tmp_path_factory.mktemp("tampered")
    lab = root / "lab"
    assert run("lab", "create", str(lab))[0] == 0
    plain = root / "plan.txt"
    plain.write_text("the plan\n")
    files = []
    for name, how in (("offline", "--offline"), ("online", "--cluster")):
        target = root / f"{name}.ptxt"
        extra = [how] if how == "--offline" else [how, "contoso-root"]
        assert run("protect", str(plain), str(target), "--lab", str(lab), "--as", "alice",
                   "--grant", "bob:VIEW", *extra)[0] == 0
        files.append(target)
    assert run("open", str(files[0]), "--lab", str(lab), "--as", "bob")[0] == 0
    return lab, files[0], files[1]


@pytest.mark.parametrize("how", sorted(TAMPERINGS))
def test_a_tampered_copy_does_not_open_with_the_cached_license(
        lab: tuple[Path, Path, Path], tmp_path: Path, how: str) -> None:
    lab_dir, opened, other = lab
    container = read_protected_file(opened.read_bytes())
    chain = parse(container.license_bytes.decode("utf-8-sig"))
    other_chain = parse(read_protected_file(other.read_bytes()).license_bytes
                        .decode("utf-8-sig"))
    copy = tmp_path / "copy.ptxt"
    copy.write_bytes(write_protected_file(TAMPERINGS[how](chain, other_chain),
                                          container.content, extension=container.extension))
    out = tmp_path / "copy.txt"
    status, report, error = run("open", str(copy), "--lab", str(lab_dir), "--as", "bob",
                                "-o", str(out))
    assert status == 3, (report, error)
    assert f"warning: the publishing license in {copy.name} does not verify" in report
    assert error.startswith(f"rmslab: refused: {copy}: binding refused: B-2 — the publishing "
                            "license in the file verifies up to the root")
    assert not out.exists()
    status, report, _ = run("open", str(copy), "--lab", str(lab_dir), "--as", "bob",
                            "-o", str(out), "--explain")
    assert status == 3
    assert "✗ the publishing license in the file verifies up to the root [B-2]" in report
    # the untouched file still opens, with the cached license
    status, report, _ = run("open", str(opened), "--lab", str(lab_dir), "--as", "bob",
                            "-o", str(out))
    assert status == 0 and f"use license: cached in bob@contoso.example's license store " \
                           "on BOB-PC" in report


def test_binding_records_the_check() -> None:
    import io

    from rmslab.flows.licensing import acquire_use_license
    from rmslab.flows.publishing import publish_offline
    from rmslab.rights import Grant, RightsPolicy

    deployment = standard_deployment(Lab())
    protected = publish_offline(deployment.clients["ALICE-PC"], deployment.user("alice"),
                                RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),)),
                                b"x", io.BytesIO())
    bob_pc, anchor = deployment.clients["BOB-PC"], deployment.enrollment_service.anchor
    acquire_use_license(deployment.root_cluster, bob_pc, deployment.user("bob"),
                        protected.publishing_license, anchor=anchor)
    chain = parse(protected.publishing_license)
    session = AppSession(bob_pc, deployment.user("bob"))
    assert explain_binding(session, chain.text, "VIEW", anchor=anchor).allowed
    binding = explain_binding(session, _changed_url(chain, chain), "VIEW", anchor=anchor)
    assert binding.failed is not None
    assert binding.failed.description == "the publishing license in the file verifies up to the root"
    assert "digest" in binding.failed.reason
