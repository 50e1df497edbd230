"""`rmslab open` tells what it used (issue 11): which use license bound — cached or newly
acquired, and from which server — every binding check with ``--explain``, a revoked user
who opens because the license requires no list, and errors that name the file.

covers: L-1, B-1, B-2, R-3, R-6
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rmslab.cli import build_parser
from tests.clirun import lab_with_protected_file, run


@pytest.fixture()
def lab(tmp_path: Path) -> tuple[Path, Path]:
    return lab_with_protected_file(tmp_path, "plan", "the plan\n", "--cluster", "contoso-root")


def test_open_says_which_use_license_bound(lab: tuple[Path, Path], tmp_path: Path) -> None:
    lab_dir, protected = lab
    status, content, report = run("open", str(protected), "--lab", str(lab_dir), "--as", "bob")
    assert status == 0 and content == "the plan\n"  # the report goes to stderr
    assert report.splitlines()[:2] == [
        "opened plan.ptxt for VIEW as bob@contoso.example: 12 checks passed",
        "use license: newly acquired from contoso-root "
        "(https://rms.contoso.example/_wmcs/licensing); issued by "
        "MS-DRM-Server:'contoso-root', the licensing server the publishing license "
        "names"]
    out = tmp_path / "plan.out"
    status, report, _ = run("open", str(protected), "--lab", str(lab_dir), "--as", "bob",
                            "-o", str(out))
    assert status == 0 and out.read_text() == "the plan\n"
    assert report.splitlines()[:2] == [
        f"opened plan.ptxt for VIEW as bob@contoso.example: 12 checks passed; wrote {out}",
        "use license: cached in bob@contoso.example's license store on BOB-PC; issued by "
        "MS-DRM-Server:'contoso-root', the licensing server the publishing license "
        "names"]
    # the author of online content holds no owner license (MS-RMPR 3.5.4.1 returns none):
    # she is licensed like anyone, and the server gives the owner OWNER (3.4.4.1)
    status, _, report = run("open", str(protected), "--lab", str(lab_dir), "--as", "alice",
                            "--right", "EDIT")
    assert status == 0 and "use license: newly acquired from contoso-root" in report


def test_explain_prints_every_binding_check(lab: tuple[Path, Path], tmp_path: Path) -> None:
    lab_dir, protected = lab
    out = tmp_path / "plan.out"
    status, report, _ = run("open", str(protected), "--lab", str(lab_dir), "--as", "bob",
                            "-o", str(out), "--explain")
    lines = report.splitlines()
    assert status == 0
    assert lines[2] == "rmslab open asks to VIEW as bob@contoso.example on BOB-PC:"
    checks = [line for line in lines[3:] if line.startswith("  ")]
    assert len(checks) == 12 and all(line.startswith("  ✓ ") for line in checks)
    assert "  ✓ the application asks for one right: VIEW [B-1]" in checks
    assert any(line.startswith("  ✓ the use license was issued by a licensing server") and
               "[P-7] — issued by MS-DRM-Server:'contoso-root'" in line
               for line in checks)
    # a refusal shows the checks up to the one that failed
    status, report, error = run("open", str(protected), "--lab", str(lab_dir), "--as", "bob",
                                "--right", "PRINT", "-o", str(out), "--explain")
    assert status == 3
    assert report.splitlines()[-1] == "  ✗ the use license grants PRINT [B-2] — it grants VIEW"
    assert error == (f"rmslab: refused: {protected}: binding refused: B-2 — the use license "
                     "grants PRINT: it grants VIEW [B-2]\n")


def test_a_revoked_user_who_opens_is_told_why(lab: tuple[Path, Path], tmp_path: Path) -> None:
    # R-3 step 1, R-6: the license requires no revocation list, so bob opens although
    # contoso-root revoked him — correct RMS, said plainly
    lab_dir, protected = lab
    assert run("revoke", "--lab", str(lab_dir), "--by", "contoso-root", "--user", "bob",
               "--publish")[0] == 0
    out = tmp_path / "plan.out"
    status, report, _ = run("open", str(protected), "--lab", str(lab_dir), "--as", "bob",
                            "-o", str(out))
    assert status == 0
    notes = [line for line in report.splitlines() if line.startswith("note: ")]
    assert notes == [
        "note: the principal bob@contoso.example (principal-id) is revoked by the list at "
        "https://rms.contoso.example/_wmcs/revocation/list.xml, yet bob@contoso.example may "
        "VIEW: the use license requires no revocation list (R-3 step 1), and a list applies "
        "to such a license only when it is registered in the session and its signer issued "
        "part of the chain (R-8). Revocation is optional in RMS and applies only where a "
        "license requires it (R-6): this is correct behaviour."]
    # alice is not revoked: no note for her
    status, report, _ = run("open", str(protected), "--lab", str(lab_dir), "--as", "alice",
                            "-o", str(out))
    assert status == 0 and "note:" not in report


def test_open_errors_name_the_file(lab: tuple[Path, Path], tmp_path: Path) -> None:
    lab_dir, protected = lab
    plain = tmp_path / "not-protected.txt"
    plain.write_text("hello")
    status, _, error = run("open", str(plain), "--lab", str(lab_dir), "--as", "bob")
    assert status == 2 and error.startswith(f"rmslab: {plain}: not a protected file")
    missing = tmp_path / "missing.ptxt"
    status, _, error = run("open", str(missing), "--lab", str(lab_dir), "--as", "bob")
    assert status == 2 and error.startswith(f"rmslab: {missing}: cannot be read")
    status, _, error = run("open", str(protected), "--lab", str(lab_dir), "--as", "carol")
    assert status == 3 and error.startswith(f"rmslab: refused: {protected}: ")
    status, _, error = run("open", str(protected), "--lab", str(lab_dir), "--as", "bob",
                           "-o", str(tmp_path / "no-such-folder" / "out.txt"))
    assert status == 2 and error.startswith(f"rmslab: {protected}: ")
    assert "No such file or directory" in error


def test_every_option_of_open_has_help() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    open_parser = sub.choices["open"]  # type: ignore[attr-defined]
    added = {"input", "right", "output", "explain", "session", "application"}
    helped = {a.dest for a in open_parser._actions if a.help}
    assert added <= helped
    assert "--explain" in (open_parser.epilog or "")
