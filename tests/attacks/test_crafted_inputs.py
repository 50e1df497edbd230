"""Crafted inputs end in a specific error and the documented exit status, the message
naming the file — never a traceback (README "Exit status"; issue 10, low items).

covers: A-1, P-6, B-2, R-6
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from rmslab.lab import Lab
from rmslab.samples import teaching_chain
from rmslab.xrml.pfile import container_header, write_protected_file
from tests.attacks.conftest import run, run_limited

_NOTICE_AT = 14


def _container(content: bytes = bytes(32), **header: int) -> bytearray:
    """The teaching chain in a version 3.0 container, with header fields overwritten:
    ``header_length``, ``content_offset``, ``license_offset`` … as keyword arguments."""
    data = bytearray(write_protected_file(teaching_chain(Lab()).text, content))
    notice = struct.unpack_from("<I", data, _NOTICE_AT)[0]
    at = 18 + notice
    fields = ["header_length", "extension_offset", "extension_length", "license_offset",
              "license_length", "content_offset", "size_low", "size_high",
              "metadata_offset", "metadata_length"]
    for name, value in header.items():
        struct.pack_into("<I", data, at + 4 * fields.index(name), value)
    return data


def _header_end(data: bytes) -> int:
    return 18 + struct.unpack_from("<I", data, _NOTICE_AT)[0] + 40


def _no_traceback(*outputs: str) -> None:
    assert all("Traceback" not in text for text in outputs)


@pytest.mark.parametrize("command", ["inspect", "verify", "chain", "open"])
@pytest.mark.parametrize("craft, words", [
    (lambda d: _container(content_offset=_header_end(d) - 8), "inside the container's header"),
    (lambda d: _container(header_length=0), "header length 0 at byte"),
    (lambda d: _container(header_length=1 << 31), "is impossible"),
    (lambda d: _container(license_length=1 << 31), "rmslab reads at most"),
    (lambda d: _container(content=bytes(31)), "not a whole number of 16-byte AES blocks"),
    (lambda d: _container(content=bytes(32), size_low=4096), "the file is truncated"),
    (lambda d: _container(license_offset=_header_end(d) - 4), "not between the header"),
    (lambda d: d[:len(d) - 40], "truncated"),
])
def test_crafted_containers_are_unreadable_input(craft: object, words: str, command: str,
                                                  tmp_path: Path, lab: Path) -> None:
    data = bytes(craft(_container()))  # type: ignore[operator]
    path = tmp_path / "crafted.ptxt"
    path.write_bytes(data)
    extra = {"inspect": [], "verify": [], "chain": ["-o", str(tmp_path / "c.dot")],
             "open": ["--lab", str(lab), "--as", "bob"]}[command]
    status, output, error = run(command, str(path), *extra)
    assert status == 2, (status, output, error)
    assert words in error and "crafted.ptxt" in error, error
    _no_traceback(output, error)


def test_a_truncated_content_section_is_unreadable_input_for_open(lab: Path,
                                                                  tmp_path: Path) -> None:
    plain, protected = tmp_path / "plain.txt", tmp_path / "p.ptxt"
    plain.write_bytes(b"x" * 10_000)
    assert run("protect", str(plain), str(protected), "--lab", str(lab), "--as", "alice",
               "--grant", "bob:VIEW", "--cluster", "contoso-root")[0] == 0
    protected.write_bytes(protected.read_bytes()[:-4096])
    for command in (["open", str(protected), "--lab", str(lab), "--as", "bob"],
                    ["inspect", str(protected)]):
        status, output, error = run(*command)
        assert status == 2 and "p.ptxt: " in error and "truncated" in error, error
        _no_traceback(output, error)


@pytest.mark.timeout(300)
def test_a_gigabyte_protected_file_is_inspected_without_reading_its_content(
        tmp_path: Path) -> None:
    size = 1 << 30
    head = container_header(teaching_chain(Lab()).text, original_size=size)
    path = tmp_path / "sparse.ptxt"
    with path.open("wb") as handle:  # sparse: a gigabyte of content that takes no disk
        handle.write(head)
        handle.truncate(len(head) + (size // 16 + 1) * 16)
    for command in (["inspect", str(path), "--json"], ["verify", str(path)]):
        done = run_limited(*command, memory_mb=400)
        _no_traceback(done.stdout, done.stderr)
        assert done.returncode in (0, 1, 5, 6), done.stderr
    report = json.loads(run_limited("inspect", str(path), "--json", memory_mb=400).stdout)
    assert report["container"]["content_bytes"] == (size // 16 + 1) * 16


@pytest.mark.parametrize("source", ["/dev/zero", "/dev/urandom"])
def test_an_endless_input_is_refused_within_a_memory_limit(source: str) -> None:
    for command in ("verify", "inspect"):
        done = run_limited(command, source, memory_mb=400, timeout=120)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(f"rmslab: {Path(source).name}: ")
        _no_traceback(done.stdout, done.stderr)


def test_an_empty_or_garbled_license_in_a_store_changes_nothing(lab: Path,
                                                                tmp_path: Path) -> None:
    # the lab's database is the truth; EUL-*.drm is a view of it, never read back: an
    # emptied or garbled view neither breaks a command nor changes what binds
    plain, protected = tmp_path / "plain.txt", tmp_path / "p.ptxt"
    plain.write_text("hello\n")
    status, output, _ = run("protect", str(plain), str(protected), "--lab", str(lab),
                            "--as", "alice", "--grant", "bob:VIEW", "--cluster", "contoso-root")
    content_id = output.split("content {")[1].split("}")[0]
    assert run("open", str(protected), "--lab", str(lab), "--as", "bob")[:2] == (0, "hello\n")
    store = lab / "clients" / "BOB-PC" / "C" / "Users" / "bob" / "AppData" / "Local" / \
        "Microsoft" / "MSIPC"
    license_file = store / f"EUL-{content_id}.drm"
    kept = license_file.read_bytes()
    try:
        for garbled in (b"", b"\xef\xbb\xbf", b"not xml", kept[:len(kept) // 2], b"\xff\xfe\x00"):
            license_file.write_bytes(garbled)
            status, output, error = run("open", str(protected), "--lab", str(lab), "--as", "bob")
            assert (status, output) == (0, "hello\n"), error
            status, output, error = run("audit", str(lab))
            assert status in (0, 1) and "audit of" in output, error
            _no_traceback(output, error)
    finally:
        license_file.write_bytes(kept)


@pytest.mark.parametrize("arguments, words", [
    (["--until", "0001-01-01T00:00+14:00"], "lies outside the times"),
    (["--until", "0001-01-01"], "lies outside the times"),
    (["--until", "10000-01-01"], "is not a time like"),
    (["--until", "2026-02-30T00:00"], "day is out of range"),
    (["--until", "2026-01-05T09:00+24:00"], "is not a time"),
    (["--require-revocation", "--revocation-interval", "99999999999"], "1 to 3650 days"),
    (["--require-revocation", "--revocation-interval", "-3"], "1 to 3650 days"),
    (["--require-revocation", "--revocation-interval", "0"], "1 to 3650 days"),
])
def test_times_and_intervals_out_of_range_are_refused_before_writing(
        arguments: list[str], words: str, lab: Path, tmp_path: Path) -> None:
    plain, protected = tmp_path / "plain.txt", tmp_path / "p.ptxt"
    plain.write_text("hello\n")
    status, output, error = run("protect", str(plain), str(protected), "--lab", str(lab),
                                "--as", "alice", "--grant", "bob:VIEW", *arguments)
    assert status == 2 and words in error and f"argument {arguments[-2]}" in error, error
    assert not protected.exists() and not list(tmp_path.glob("*.part"))
    _no_traceback(output, error)


@pytest.mark.parametrize("command", [["audit", "LAB"], ["verify", "FILE"]])
@pytest.mark.parametrize("moment", ["9999-12-31T23:59-01:00", "0001-01-01T00:00+14:00",
                                    "1600-12-31T23:59"])
def test_audit_and_verify_times_out_of_range_are_refused(command: list[str], moment: str,
                                                         lab: Path) -> None:
    target = {"LAB": str(lab), "FILE": str(lab / "anchor.pem")}[command[1]]
    status, output, error = run(command[0], target, "--at", moment)
    assert status == 2 and "lies outside the times rmslab and RMS can write" in error
    _no_traceback(output, error)


@pytest.mark.parametrize("moment", ["9999-12-31T23:59", "9999-12-31T23:59+01:00",
                                    "1601-01-01T00:00"])
def test_the_extreme_times_in_range_are_answered(moment: str, lab: Path, tmp_path: Path) -> None:
    plain, protected = tmp_path / "plain.txt", tmp_path / "p.ptxt"
    plain.write_text("hello\n")
    status, _, error = run("protect", str(plain), str(protected), "--lab", str(lab),
                           "--as", "alice", "--grant", "bob:VIEW", "--until", moment)
    assert status == 0, error
    status, output, error = run("audit", str(lab), "--at", moment)
    assert status in (0, 1) and "audit of" in output, error
    status, output, error = run("verify", str(protected), "--at", moment)
    assert status in (0, 1, 5, 6) and "chain" in output, error
    status, output, error = run("inspect", str(protected))
    assert status == 0
    _no_traceback(output, error)


def test_a_past_until_is_written_with_a_warning_and_binding_refuses(lab: Path,
                                                                    tmp_path: Path) -> None:
    plain, protected = tmp_path / "plain.txt", tmp_path / "p.ptxt"
    plain.write_text("hello\n")
    status, _, error = run("protect", str(plain), str(protected), "--lab", str(lab),
                           "--as", "alice", "--grant", "bob:VIEW", "--until", "2001-01-01")
    assert status == 0
    assert "warning: --until 2001-01-01T00:00 is before the lab's time" in error
    status, _, error = run("open", str(protected), "--lab", str(lab), "--as", "bob")
    assert status == 3 and "B-2" in error
