"""Interop: the team's shape tool itself, run on a lab made as a new user makes one (issue
12, "done means").

``rmslab lab create``, one file protected online and one offline, the first opened by its
reader (so a use license is in his store): then the tool that compares the element
skeleton of every XrML document under the lab's folder with the real documents of the same
kind — the documents of MS-RMPR 4.5 and of Microsoft's RMS SDK — is run unchanged, and
every kind must match.

Two certificates cannot, and the test names them and says why instead of hiding them:
the **SPC issuer certificate** and the **security processor CA certificate** that a
machine certificate file carries behind the SPC (Microsoft's description of a machine
certificate file: the SPC, then the certificate of its issuer, then CA certificates). They
belong to Microsoft's activation hierarchy, which the real corpus holds none of, and
MS-RMPR 2.2.9.3.1 gives them the DESCRIPTOR types of a server licensor certificate and of a
CA certificate; so the tool sets them beside the corpus's server SLCs and CA certificates,
and reports their principals (2.2.9.3.3: MS-DRM-Desktop-Security-Processor,
DRM-Desktop-Security-Processor-Certificate-Authority) as foreign. A real machine
certificate file would be reported the same way. tests/interop/test_certificate_shapes.py
checks those two against MS-RMPR's tables instead.

The corpus's RACs and use licenses are all of cryptographic mode 1 (RSA-1024, SHA-1), the
mode an AD RMS installation started in before Windows Server 2008 R2 SP1 brought mode 2.
In mode 2 — ``rmslab lab create``'s default — MS-RMPR 3.1.4.7 types their enabling bits
``sealed-key-v2``, which no real document in the corpus can show: a mode-2 lab differs in
that type, and in nothing else (the test retypes the bits and runs the tool again); a
``--mode 1`` lab matches with no allowance but the activation hierarchy.

The tool is found at ``$RMSLAB_SHAPES_TOOL``, else at ``tools/xrml_shapes.py`` beside the
corpus folder. Without it the test is skipped, saying so; under CI=true it fails.

covers: P-3, P-4, P-5, P-8, L-1
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.clirun import run

pytestmark = pytest.mark.interop

#: The principals of the activation hierarchy's certificates (MS-RMPR 2.2.9.3.2/.3).
ACTIVATION_PRINCIPALS = ("MS-DRM-Desktop-Security-Processor",
                         "DRM-Desktop-Security-Processor-Certificate-Authority")
#: What the tool reports of them: the principal of a server SLC or of a CA certificate is
#: missing, theirs is foreign.
EXPECTED_ACTIVATION_HIERARCHY = {
    "Server-Licensor-Certificate": {
        "missing": ["BODY/ISSUEDPRINCIPALS/PRINCIPAL/OBJECT[type=MS-DRM-Server]",
                    "BODY/ISSUEDPRINCIPALS/PRINCIPAL/OBJECT[type=MS-DRM-Server]/ID[type=MS-GUID]",
                    "BODY/ISSUEDPRINCIPALS/PRINCIPAL/OBJECT[type=MS-DRM-Server]/NAME"],
        "foreign": [f"BODY/{where}/OBJECT[type={principal}]{tail}"
                    for where, principal in (
                        ("ISSUEDPRINCIPALS/PRINCIPAL", "MS-DRM-Desktop-Security-Processor"),
                        ("ISSUER", "DRM-Desktop-Security-Processor-Certificate-Authority"))
                    for tail in ("", "/ID[type=MS-GUID]", "/NAME")]},
    "DRM-CA-Certificate": {
        "missing": ["BODY/ISSUEDPRINCIPALS/PRINCIPAL/OBJECT[type=DRM-Certificate-Authority]",
                    "BODY/ISSUEDPRINCIPALS/PRINCIPAL/OBJECT[type=DRM-Certificate-Authority]"
                    "/ID[type=ascii-tag]",
                    "BODY/ISSUEDPRINCIPALS/PRINCIPAL/OBJECT[type=DRM-Certificate-Authority]"
                    "/NAME"],
        "foreign": [f"BODY/ISSUEDPRINCIPALS/PRINCIPAL/OBJECT"
                    f"[type=DRM-Desktop-Security-Processor-Certificate-Authority]{tail}"
                    for tail in ("", "/ID[type=MS-GUID]", "/NAME")]},
}
#: In mode 2, the RAC's and the use license's enabling bits (MS-RMPR 3.1.4.7).
MODE_2_KINDS = {"Content-License", "Group-Identity-Credential"}


def shapes_tool(corpus: Path) -> Path:
    configured = os.environ.get("RMSLAB_SHAPES_TOOL")
    tool = Path(configured) if configured else corpus.parent / "tools" / "xrml_shapes.py"
    if not tool.is_file():
        message = (f"the team's shape tool was not found at {tool}: set RMSLAB_SHAPES_TOOL "
                   "to xrml_shapes.py (default: tools/xrml_shapes.py beside the corpus)")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return tool


def fresh_lab(where: Path, *create_options: str) -> list[str]:
    """A lab as a new user makes one, with content protected online and offline and a use
    license; what to give the tool."""
    lab, plain = where / "lab", where / "minutes.txt"
    plain.write_text("minutes of the board\n")
    assert run("lab", "create", str(lab), *create_options)[0] == 0
    online, offline = where / "online.ptxt", where / "offline.ptxt"
    for target, how in ((online, ()), (offline, ("--offline",))):
        status, _, error = run("protect", str(plain), str(target), "--lab", str(lab),
                               "--as", "alice", "--grant", "bob:VIEW", *how)
        assert status == 0, error
    status, _, error = run("open", str(online), "--lab", str(lab), "--as", "bob",
                           "-o", str(where / "opened.txt"))
    assert status == 0, error
    return [str(lab), str(online), str(offline)]


def tool_report(tool: Path, corpus: Path, targets: list[str]) -> list[dict[str, Any]]:
    done = subprocess.run([sys.executable, str(tool), str(corpus), *targets, "--json"],
                          capture_output=True, text=True, timeout=300)
    report: list[dict[str, Any]] = json.loads(done.stdout[:done.stdout.rindex("]") + 1])
    return report


def unexplained(report: list[dict[str, Any]]) -> list[str]:
    """Every difference the tool reports but the activation hierarchy's two certificates,
    exactly as the module's docstring explains them."""
    problems = []
    for entry in report:
        expected = EXPECTED_ACTIVATION_HIERARCHY.get(entry["kind"])
        if (Path(entry["file"]).name == "machine-certificate.xml" and expected
                and entry["missing"] == expected["missing"]
                and entry["foreign"] == expected["foreign"]):
            continue
        where = f"{entry['kind']} ({Path(entry['file']).name})"
        problems += [f"{where}: missing {p}" for p in entry["missing"]]
        problems += [f"{where}: foreign {p}" for p in entry["foreign"]]
    return problems


def as_mode_1_bits(lab: Path) -> None:
    """Retype the RACs' and use licenses' enabling bits ``sealed-key`` in place (UTF-8 or
    UTF-16 files) — the one thing the corpus cannot show of mode 2."""
    for store_file in lab.rglob("*.drm"):
        data = store_file.read_bytes()
        for encoding in ("utf-8", "utf-16-le"):
            data = data.replace('"sealed-key-v2"'.encode(encoding),
                                '"sealed-key"'.encode(encoding))
        store_file.write_bytes(data)


def test_every_kind_a_fresh_mode_1_lab_writes_matches_the_real_ones(
        corpus: Path, tmp_path: Path) -> None:
    report = tool_report(shapes_tool(corpus), corpus, fresh_lab(tmp_path, "--mode", "1"))
    kinds = {entry["kind"] for entry in report}
    assert kinds >= {"Client-Licensor-Certificate", "Server-Licensor-Certificate",
                     "DRM-CA-Certificate", "Content-License", "Group-Identity-Credential",
                     "Microsoft Official Rights Template", "Machine-Certificate",
                     "Microsoft Rights Label"}, kinds
    assert unexplained(report) == []
    matching = [e for e in report if not e["missing"] and not e["foreign"]]
    # everything but the two certificates of the activation hierarchy
    assert len(report) - len(matching) == 2, [e["kind"] for e in report]


def test_a_default_lab_differs_only_in_the_type_of_its_mode_2_enabling_bits(
        corpus: Path, tmp_path: Path) -> None:
    tool = shapes_tool(corpus)
    targets = fresh_lab(tmp_path)  # mode 2
    differences = unexplained(tool_report(tool, corpus, targets))
    assert differences and all("ENABLINGBITS[type=sealed-key" in d and
                               d.split(" (")[0] in MODE_2_KINDS for d in differences)
    as_mode_1_bits(Path(targets[0]))
    assert unexplained(tool_report(tool, corpus, targets)) == []


def test_the_allowances_catch_anything_else(corpus: Path, tmp_path: Path) -> None:
    """The explanation is exact: a lab document with one element the real ones lack is
    reported, even in a certificate of the activation hierarchy."""
    targets = fresh_lab(tmp_path, "--mode", "1")
    machine = next(Path(targets[0]).rglob("machine-certificate.xml"))
    text = machine.read_text()
    assert text.count("</ISSUEDPRINCIPALS>") >= 2
    second = text.index("</ISSUEDPRINCIPALS>", text.index("</ISSUEDPRINCIPALS>") + 1)
    machine.write_text(text[:second] + "<EXTRA/>" + text[second:])
    problems = unexplained(tool_report(shapes_tool(corpus), corpus, targets))
    assert any(p.endswith("/EXTRA") for p in problems)
    assert all(p.startswith("Server-Licensor-Certificate (machine-certificate.xml)")
               for p in problems)
