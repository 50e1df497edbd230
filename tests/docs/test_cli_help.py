"""Every command of ``rmslab`` has a help text and examples, every option a help text,
and every example parses: walk ``rmslab.cli.build_parser()`` (``discover`` included).

A command or option added without them fails here, naming it.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Iterator

import pytest

from rmslab.cli import build_parser


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ("rmslab",),
             listed_help: str | None = "") -> Iterator[tuple[str, argparse.ArgumentParser,
                                                             str | None]]:
    """Every parser under ``parser``, with its command path and the help its parent lists
    for it (the top level has none to list)."""
    yield " ".join(path), parser, listed_help
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            listed = {choice.dest: choice.help for choice in action._choices_actions}
            for name, child in action.choices.items():
                yield from commands(child, path + (name,), listed.get(name))


COMMANDS = list(commands(build_parser()))


def example_lines(parser: argparse.ArgumentParser) -> list[str]:
    lines = (parser.epilog or "").splitlines()
    if not lines or lines[0] != "examples:":
        return []
    return [line.strip() for line in lines[1:]
            if line.startswith("  rmslab ") and not line.startswith("      ")]


def test_the_walk_finds_every_command() -> None:
    names = {name for name, _, _ in COMMANDS}
    assert {"rmslab verify", "rmslab lab create", "rmslab session close",
            "rmslab discover", "rmslab revoke"} <= names


@pytest.mark.parametrize("name,parser,listed", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_every_command_has_help_and_an_example(name: str, parser: argparse.ArgumentParser,
                                               listed: str | None) -> None:
    assert listed is None or listed == "" or listed.strip(), name
    if name != "rmslab":
        assert listed, f"{name}: no help in the list of commands (add_parser(help=…))"
        assert parser.description, f"{name}: no description for its --help page"
    assert example_lines(parser), (
        f"{name}: no examples (add_parser(…, **examples((command, what it does), …)))")
    assert isinstance(parser.formatter_class, type) and issubclass(
        parser.formatter_class, argparse.RawDescriptionHelpFormatter), name


@pytest.mark.parametrize("name,parser,listed", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_every_option_has_help(name: str, parser: argparse.ArgumentParser,
                               listed: str | None) -> None:
    missing = [action.option_strings[0] if action.option_strings else action.dest
               for action in parser._actions
               if not isinstance(action, argparse._SubParsersAction)
               and (not action.help or action.help == argparse.SUPPRESS
                    or not action.help.strip())]
    assert not missing, f"{name}: options without help: {', '.join(missing)}"


@pytest.mark.parametrize("name,parser,listed", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_every_example_parses(name: str, parser: argparse.ArgumentParser,
                              listed: str | None) -> None:
    for example in example_lines(parser):
        words = shlex.split(example)
        assert words[0] == "rmslab"
        if name != "rmslab":
            assert example == name or example.startswith(name + " "), \
                f"{name}: example of another command: {example}"
        try:
            build_parser().parse_args(words[1:])
        except SystemExit as exc:  # --help exits 0; a wrong example exits 2
            assert exc.code == 0, f"{name}: the example does not parse: {example}"


def test_help_pages_print(capsys: pytest.CaptureFixture[str]) -> None:
    for name, _, _ in COMMANDS:
        with pytest.raises(SystemExit) as exited:
            build_parser().parse_args(name.split()[1:] + ["--help"])
        assert exited.value.code == 0
        page = capsys.readouterr().out
        assert "examples:\n  rmslab" in page, name
