"""The documents broken on purpose in data/broken: rmslab makes them (the same bytes
every time), and `rmslab verify` answers each run of the manifest as it says — the exit
status, the verdict, the error codes of each document, the words of a refusal.

covers: A-1
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from rmslab.broken import broken_samples, check, check_run, sample, write_samples
from rmslab.errors import InputError
from tests.clirun import run

DATA = Path(__file__).resolve().parents[1] / "data" / "broken"
MANIFEST: dict[str, Any] = json.loads((DATA / "MANIFEST.json").read_text(encoding="utf-8"))
RUNS = [(sample["file"], r) for sample in MANIFEST["samples"] for r in sample["runs"]]


def test_the_committed_samples_are_what_rmslab_makes(tmp_path: Path) -> None:
    written = write_samples(tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in DATA.iterdir())
    for path in written:
        assert path.read_bytes() == (DATA / path.name).read_bytes(), path.name


def test_every_sample_changes_one_thing_and_says_what() -> None:
    samples = broken_samples()
    assert len({s.name for s in samples}) == len(samples)
    for sample in samples:
        assert sample.what and sample.caught_by and sample.runs


@pytest.mark.parametrize("file,expected", RUNS,
                         ids=[f"{f} {' '.join(r['options'][2:])}".strip() for f, r in RUNS])
def test_verify_answers_as_the_manifest_says(file: str, expected: dict[str, Any],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA)  # the manifest's options name the anchors by file name
    status, out, err = run("verify", file, *expected["options"], "--json")
    assert status == expected["exit"], err
    if status == 2:
        assert expected["refusal"] in err and "Traceback" not in err
        return
    report = json.loads(out)
    errors = {str(d["index"]): [e["code"] for e in d["errors"]]
              for d in report["documents"] if d["errors"]}
    assert errors == expected["errors"]
    assert report["verdict"] == expected["verdict"]
    assert report["chain_valid"] is (status == 0) is (expected["verdict"] == "valid")
    assert os.path.basename(report["file"]) == file


@pytest.mark.parametrize("file,expected", RUNS,
                         ids=[f"{f} {' '.join(r['options'][2:])}".strip() for f, r in RUNS])
def test_check_answers_in_memory_what_the_command_answers(file: str,
                                                          expected: dict[str, Any]) -> None:
    index = next(i for s in MANIFEST["samples"] if s["file"] == file
                 for i, r in enumerate(s["runs"]) if r == expected)
    if expected["exit"] == 2:
        with pytest.raises(InputError, match=re.escape(expected["refusal"])):
            check_run(file, index)
        return
    report = check_run(file, index)
    assert {str(d.index): [e.code for e in d.errors]
            for d in report.documents if d.errors} == expected["errors"]
    assert report.verdict.value == expected["verdict"]
    assert report.to_text().startswith(f"{file}\n")


def test_the_manifest_covers_every_verdict_and_names_the_time_of_every_run() -> None:
    verdicts = {r["verdict"] for _, r in RUNS}
    assert verdicts == {"valid", "unanchored", "expired", "not-yet-valid", "invalid", None}
    assert all("--at" in r["options"] for _, r in RUNS)


def test_an_unknown_sample_names_the_samples() -> None:
    with pytest.raises(KeyError, match="intact.xml"):
        sample("nothing.xml")


@pytest.mark.parametrize("file,expected", RUNS,
                         ids=[f"{f} {' '.join(r['options'][2:])}".strip() for f, r in RUNS])
def test_check_with_named_options_answers_what_the_run_answers(file: str,
                                                               expected: dict[str, Any]) -> None:
    """check() names its options (issue 15: no opaque run numbers); each run of the
    MANIFEST, said with names, gives the same report."""
    options = expected["options"]
    named: dict[str, Any] = {"anchored": "--anchor" in options,
                             "recover_whitespace": "--recover-whitespace" in options}
    if "--at" in options:
        named["at"] = options[options.index("--at") + 1]
    if "--require-mode" in options:
        named["required_mode"] = int(options[options.index("--require-mode") + 1])
    if expected["exit"] == 2:
        with pytest.raises(InputError):
            check(file, **named)
        return
    index = next(i for s in MANIFEST["samples"] if s["file"] == file
                 for i, r in enumerate(s["runs"]) if r == expected)
    assert check(file, **named).to_text() == check_run(file, index).to_text()


def test_controls_are_the_samples_with_nothing_broken() -> None:
    controls = {s.name for s in broken_samples() if s.control}
    assert controls == {"intact.xml", "client-licensor-certificate.xml", "mode-1.xml"}
    assert all(s.what.startswith("Nothing") == s.control for s in broken_samples())
