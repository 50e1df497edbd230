"""The command line as the documentation shows it is the command line as it is.

* The worked session of docs/cli.md and the tour of the README run, command by command,
  and print what the pages say (``…`` stands for lines left out) with the exit status they
  say. When a command's output changes on purpose, rewrite the pages with
  ``python -m tests.docs.session --write docs/cli.md README.md`` and read the diff.
* docs/cli.md's reference has a section for every command of ``rmslab``, naming each of its
  options.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from rmslab.cli import build_parser
from tests.docs.repo import REPO
from tests.docs.session import Command, commands, matches, run_session
from tests.docs.test_cli_help import COMMANDS

PAGES = [REPO / "docs" / "cli.md", REPO / "README.md"]


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_the_session_prints_what_the_page_shows(page: Path) -> None:
    session = commands(page.read_text(encoding="utf-8"))
    assert len(session) >= 5, f"{page.name}: no session found"
    differ = []
    for command, (lines, status) in zip(session, run_session(session)):
        if not matches(command.expected, lines) or status != command.status:
            differ.append(f"$ {command.line}\n  page (status {command.status}):\n    "
                          + "\n    ".join(command.expected)
                          + f"\n  real (status {status}):\n    " + "\n    ".join(lines))
    assert not differ, (f"{page.name}: run `python -m tests.docs.session --write "
                        f"{page.relative_to(REPO)}` if the change is meant\n" + "\n".join(differ))


def test_the_session_covers_the_commands_the_brief_names() -> None:
    lines = [c.line for c in commands((REPO / "docs" / "cli.md").read_text(encoding="utf-8"))]
    for needed in ("rmslab lab create", "rmslab protect", "--offline", "rmslab open",
                   "--as bob", "rmslab revoke", "rmslab audit", "rmslab verify",
                   "rmslab chain", "rmslab discover"):
        assert any(needed in line for line in lines), needed


def test_matching_allows_an_ellipsis_and_nothing_else() -> None:
    assert matches(["a", "…", "d"], ["a", "b", "c", "d"])
    assert matches(["a", "…", "d"], ["a", "d"])
    assert not matches(["a", "d"], ["a", "b", "d"])
    assert not matches(["a"], ["a", "b"])
    assert commands("```console\n$ rmslab x\nout\n[exit status 3]\n$ ls\n```\n") == [
        Command("rmslab x", ["out"], 3), Command("ls", [], 0)]


def reference_sections() -> dict[str, str]:
    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    reference = text[text.index("\n## Reference"):]
    return {m.group(1): m.group(2) for m in re.finditer(
        r"^### (rmslab[^\n]*)\n(.*?)(?=^### |\Z)", reference, re.M | re.S)}


@pytest.mark.parametrize("name,parser", [(n, p) for n, p, _ in COMMANDS if n != "rmslab"],
                         ids=[n for n, _, _ in COMMANDS if n != "rmslab"])
def test_the_reference_documents_every_command_and_option(
        name: str, parser: argparse.ArgumentParser) -> None:
    sections = reference_sections()
    assert name in sections, f"docs/cli.md has no '### {name}' in its reference"
    section = sections[name]
    for action in parser._actions:
        if not action.option_strings or "--help" in action.option_strings:
            continue
        longest = max(action.option_strings, key=len)
        assert f"`{longest}" in section, (
            f"docs/cli.md: the section '{name}' does not explain {longest}")


def test_every_reference_section_is_a_command() -> None:
    names = {n for n, _, _ in COMMANDS}
    assert set(reference_sections()) <= names
    assert build_parser().prog == "rmslab"
