"""Run the command-line sessions written in the documentation, and check (or rewrite)
their outputs.

A session is every ```` ```console ```` block of one Markdown file, in order: lines that
start with ``$ `` are commands, run by ``bash`` in one scratch folder with ``rmslab`` on
the PATH; the lines after a command are what it prints (standard output and error, as a
terminal shows them). A last line ``[exit status N]`` says the command ends with status N
(none: 0). A line ``…`` alone stands for any number of lines, so a page may shorten a long
output.

    python -m tests.docs.session docs/cli.md README.md            # check
    python -m tests.docs.session --write docs/cli.md README.md    # rewrite what differs
"""

from __future__ import annotations

import io
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Command", "commands", "run_session", "matches", "rewrite"]

_BLOCK = re.compile(r"^```console\n(.*?)^```$", re.M | re.S)
_STATUS = re.compile(r"^\[exit status (\d+)\]$")
ELLIPSIS = "…"


@dataclass
class Command:
    """One ``$`` line of a session and what the page says it prints."""

    line: str
    expected: list[str]
    status: int


def commands(markdown: str) -> list[Command]:
    found = []
    for block in _BLOCK.finditer(markdown):
        for chunk in re.split(r"^(?=\$ )", block.group(1), flags=re.M):
            if not chunk.startswith("$ "):
                continue
            first, *rest = chunk.rstrip("\n").split("\n")
            status = 0
            if rest and (m := _STATUS.match(rest[-1])):
                status, rest = int(m.group(1)), rest[:-1]
            found.append(Command(first[2:], rest, status))
    return found


def _environment(folder: Path) -> dict[str, str]:
    """``rmslab`` (this Python's) and this environment's ``dot`` first on the PATH."""
    bin_dir = folder / ".bin"
    bin_dir.mkdir()
    shim = bin_dir / "rmslab"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m rmslab.cli "$@"\n')
    shim.chmod(0o755)
    path = os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent),
                            os.environ.get("PATH", "")])
    return dict(os.environ, PATH=path, COLUMNS="100", PYTHONHASHSEED="0")


_SHELL = re.compile(r"[|&;<>()$`\\*?~]")


def _in_process(line: str, folder: Path) -> tuple[str, int]:
    """An ``rmslab`` command line run by :func:`rmslab.cli.main` in this process (no new
    interpreter per command), its standard output and error in one stream, in order."""
    from rmslab.cli import main
    stream = io.StringIO()
    saved = os.getcwd(), sys.stdout, sys.stderr
    os.chdir(folder)
    sys.stdout = sys.stderr = stream
    try:
        try:
            status = main(shlex.split(line)[1:], out=stream)
        except SystemExit as exc:  # argparse: a usage error, or --help
            status = exc.code if isinstance(exc.code, int) else 2
    finally:
        os.chdir(saved[0])
        sys.stdout, sys.stderr = saved[1], saved[2]
    return stream.getvalue(), status


def run_session(session: list[Command]) -> list[tuple[list[str], int]]:
    """Run every command in one scratch folder: each one's output lines and status.
    Plain ``rmslab …`` lines run in this process; anything else (pipes, redirections,
    other programs) by ``bash``."""
    results = []
    with tempfile.TemporaryDirectory(prefix="rmslab-session-") as scratch:
        folder = Path(scratch)
        environment = _environment(folder)
        for command in session:
            if command.line.startswith("rmslab ") and not _SHELL.search(command.line):
                output, status = _in_process(command.line, folder)
            else:
                done = subprocess.run(["bash", "-c", command.line], cwd=folder,
                                      env=environment, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, timeout=600,
                                      check=False)
                output, status = done.stdout, done.returncode
            output = output.replace(scratch, "SCRATCH")
            lines = [line.rstrip() for line in output.rstrip("\n").split("\n")] if output else []
            results.append((lines, status))
    return results


def matches(expected: list[str], actual: list[str]) -> bool:
    """The page's lines against the real ones; ``…`` matches any number of lines."""
    pattern = "".join(r"(?:[^\n]*\n)*?" if line.strip() == ELLIPSIS
                      else re.escape(line.rstrip()) + r"\n" for line in expected)
    return re.fullmatch(pattern, "".join(line + "\n" for line in actual)) is not None


def _shortened_as(expected: list[str], lines: list[str]) -> list[str]:
    """The real lines, shortened where the page shortened its output: a page with one
    ``…`` keeps as many lines before and after it as it had."""
    marks = [i for i, line in enumerate(expected) if line.strip() == ELLIPSIS]
    if len(marks) != 1:
        return lines
    head, tail = marks[0], len(expected) - marks[0] - 1
    if len(lines) <= head + tail:
        return lines
    return [*lines[:head], ELLIPSIS, *lines[len(lines) - tail:]]


def rewrite(markdown: str, results: list[tuple[list[str], int]]) -> str:
    """The page with each command's output replaced by the real one where they differ."""
    outputs = iter(results)

    def block(match: re.Match[str]) -> str:
        text = []
        for chunk in re.split(r"^(?=\$ )", match.group(1), flags=re.M):
            if not chunk.startswith("$ "):
                text.append(chunk)
                continue
            command = commands(f"```console\n{chunk}```\n")[0]
            lines, status = next(outputs)
            if not matches(command.expected, lines) or command.status != status:
                lines = _shortened_as(command.expected, lines)
                chunk = "\n".join([f"$ {command.line}", *lines]
                                  + ([f"[exit status {status}]"] if status else [])) + "\n"
            text.append(chunk)
        return "```console\n" + "".join(text) + "```"

    return _BLOCK.sub(block, markdown)


def main(argv: list[str]) -> int:
    write = "--write" in argv
    failed = 0
    for name in [a for a in argv if a != "--write"]:
        page = Path(name)
        markdown = page.read_text(encoding="utf-8")
        session = commands(markdown)
        results = run_session(session)
        for command, (lines, status) in zip(session, results):
            if not matches(command.expected, lines) or command.status != status:
                failed += 1
                print(f"{name}: $ {command.line}  (status {status})", file=sys.stderr)
        if write:
            page.write_text(rewrite(markdown, results), encoding="utf-8")
    if failed and not write:
        print(f"{failed} command(s) print something else than the page says", file=sys.stderr)
    return 1 if failed and not write else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
