"""Attack: decrypted content left on disk after a failed open (issue 10 item 7).

``open -o OUT`` left ``OUT.part`` holding plaintext when decryption failed. Decrypted
bytes now go into a file with no name (``O_TMPFILE``) that is named OUT only once the
open succeeded; every failure — refusal, bad padding, a full disk — leaves nothing.

Changed ciphertext is not detected: the format has no MAC, in RMS as in rmslab. A test
below flips a byte and shows the open "succeed" with changed plaintext.

covers: B-2, P-6
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rmslab.crypto.content import ContentCipher
from rmslab.xrml.pfile import read_protected_file, write_protected_file
from tests.clirun import run

SECRET = b"the secret plan, line %06d\n"
PLAIN = b"".join(SECRET % i for i in range(80000))  # 2.2 MB: many CBC4K blocks


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("plaintext")
    lab = root / "lab"
    assert run("lab", "create", str(lab))[0] == 0
    plain = root / "plan.txt"
    plain.write_bytes(PLAIN)
    protected = root / "plan.ptxt"
    assert run("protect", str(plain), str(protected), "--lab", str(lab), "--as", "alice",
               "--offline", "--grant", "bob:VIEW")[0] == 0
    plain.unlink()
    return lab, protected


def _with_content(protected: Path, target: Path, change: Any) -> Path:
    container = read_protected_file(protected.read_bytes())
    content = bytearray(container.content)
    change(content)
    target.write_bytes(write_protected_file(container.license_bytes.decode("utf-8-sig"),
                                            bytes(content), extension=container.extension))
    return target


def _plaintext_on_disk(directory: Path) -> list[Path]:
    """Every file under ``directory`` holding a line of the secret."""
    return [p for p in directory.rglob("*") if p.is_file() and b"the secret plan, line"
            in p.read_bytes()]


def test_a_refused_open_leaves_nothing(lab: tuple[Path, Path], tmp_path: Path) -> None:
    lab_dir, protected = lab
    out = tmp_path / "out.txt"
    status, _, error = run("open", str(protected), "--lab", str(lab_dir), "--as", "bob",
                           "--right", "PRINT", "-o", str(out))
    assert status == 3 and "grants PRINT" in error
    assert list(tmp_path.iterdir()) == []


def test_a_broken_last_block_leaves_nothing_and_says_why(lab: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    lab_dir, protected = lab
    work = tmp_path / "work"
    work.mkdir()

    def break_padding(content: bytearray) -> None:
        content[-1] ^= 0xFF
    broken = _with_content(protected, tmp_path / "broken.ptxt", break_padding)
    out = work / "out.txt"
    status, _, error = run("open", str(broken), "--lab", str(lab_dir), "--as", "bob",
                           "-o", str(out))
    assert status == 2, error
    assert error.startswith(f"rmslab: {broken}: the content does not decrypt")
    assert "nothing was written" in error
    assert list(work.iterdir()) == [] and _plaintext_on_disk(tmp_path) == []


def test_a_changed_byte_decrypts_to_changed_plaintext_without_a_word(
        lab: tuple[Path, Path], tmp_path: Path) -> None:
    # the limit, documented: there is no MAC; a byte flipped in the first block changes
    # that block's plaintext (and, in CBC, one byte of the next), and the open succeeds
    lab_dir, protected = lab

    def flip(content: bytearray) -> None:
        content[5] ^= 0x01
    changed = _with_content(protected, tmp_path / "changed.ptxt", flip)
    out = tmp_path / "out.txt"
    status, report, _ = run("open", str(changed), "--lab", str(lab_dir), "--as", "bob",
                            "-o", str(out))
    assert status == 0 and "checks passed" in report
    opened = out.read_bytes()
    assert len(opened) == len(PLAIN) and opened != PLAIN
    assert opened[32:] == PLAIN[32:]  # only the first two AES blocks differ


def test_no_decrypted_byte_has_a_name_before_the_open_succeeded(
        lab: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lab_dir, protected = lab
    seen: list[list[Path]] = []
    decrypt = ContentCipher.decrypt_stream

    def watching(self: ContentCipher, source: Any, sink: Any) -> int:
        size = decrypt(self, source, sink)
        sink.flush()
        seen.append(_plaintext_on_disk(tmp_path))  # everything decrypted, not yet named
        return size
    monkeypatch.setattr(ContentCipher, "decrypt_stream", watching)
    out = tmp_path / "out.txt"
    status, _, error = run("open", str(protected), "--lab", str(lab_dir), "--as", "bob",
                           "-o", str(out))
    assert status == 0, error
    assert seen == [[]]
    assert out.read_bytes() == PLAIN and oct(out.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_where_files_cannot_be_anonymous_the_temporary_file_goes_too(
        lab: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lab_dir, protected = lab
    if hasattr(os, "O_TMPFILE"):
        monkeypatch.delattr(os, "O_TMPFILE")

    def break_padding(content: bytearray) -> None:
        content[-1] ^= 0xFF
    broken = _with_content(protected, tmp_path / "broken.ptxt", break_padding)
    work = tmp_path / "work"
    work.mkdir()
    assert run("open", str(broken), "--lab", str(lab_dir), "--as", "bob",
               "-o", str(work / "out.txt"))[0] == 2
    assert list(work.iterdir()) == []
    status, _, _ = run("open", str(protected), "--lab", str(lab_dir), "--as", "bob",
                       "-o", str(work / "out.txt"))
    assert status == 0 and sorted(p.name for p in work.iterdir()) == ["out.txt"]
    assert (work / "out.txt").read_bytes() == PLAIN


def test_an_anonymous_file_that_cannot_be_linked_is_copied_once_the_open_succeeded(
        lab: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rmslab.cli import plaintext
    lab_dir, protected = lab
    monkeypatch.setattr(plaintext, "_linkat_empty_path", lambda fd, name: False)

    def no_link(*args: Any, **kwargs: Any) -> None:
        raise OSError(18, "Invalid cross-device link")
    monkeypatch.setattr(plaintext.os, "link", no_link)
    out = tmp_path / "out.txt"
    out.write_bytes(b"an older file, replaced in one step")
    status, _, error = run("open", str(protected), "--lab", str(lab_dir), "--as", "bob",
                           "-o", str(out))
    assert status == 0, error
    assert out.read_bytes() == PLAIN
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_a_full_disk_leaves_nothing(lab: tuple[Path, Path], tmp_path: Path) -> None:
    # a real write failure: the file size limit (RLIMIT_FSIZE) stops the write with EFBIG
    # partway through the content, as a full disk would with ENOSPC
    lab_dir, protected = lab
    out = tmp_path / "out.txt"

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    done = subprocess.run([sys.executable, "-m", "rmslab.cli", "open", str(protected),
                           "--lab", str(lab_dir), "--as", "bob", "-o", str(out)],
                          capture_output=True, text=True, preexec_fn=limit, timeout=300,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"rmslab: {protected}: ") and "too large" in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == [] and _plaintext_on_disk(tmp_path) == []
