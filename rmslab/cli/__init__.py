"""The ``rmslab`` command (SPEC A-1).

Exit status: 0 when everything checked is valid (for ``verify``: valid and anchored), 1
when a check failed, 2 when the input cannot be read (hostile, malformed, truncated,
missing), 3 when an actor refused (binding, licensing: the rule is named), 4 when
discovery fails, 5 when ``verify`` finds a chain consistent but not anchored (no pinned
root vouches for it), 6 when it finds a document expired or not yet valid at the time
checked — never a traceback (:data:`rmslab.cli.common.EXIT_STATUS_HELP`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence, TextIO

from rmslab import __version__
from rmslab.cli.common import (EXIT_INPUT, EXIT_INVALID, EXIT_REFUSED, EXIT_STATUS_HELP,
                               examples)
from rmslab.cli.documents import add_document_parsers
from rmslab.cli.content import add_content_parsers
from rmslab.cli.inventory import add_inventory_parser
from rmslab.cli.lab import add_lab_parsers
from rmslab.cli.output import safe_stderr, safe_stream
from rmslab.cli.revoke import add_revoke_parser
from rmslab.cli.serve import add_serve_parsers
from rmslab.discovery.command import add_discover_parser
from rmslab.errors import InputError, RefusedError, RmslabError

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rmslab", description="Inspect and verify RMS (XrML 1.2) documents and "
                                   "protected files; run a lab deployment.",
        **examples(("rmslab lab create lab", "build a ready deployment in the folder lab"),
                   ("rmslab verify minutes.ptxt --anchor lab/anchor.pem",
                    "check a protected file's license chain up to the lab's root key"),
                   ("rmslab verify --help", "the options of one command, with its examples")))
    parser.epilog = (f"{parser.epilog}\n\n{EXIT_STATUS_HELP}\n\n"
                     "The command line, with a worked session: docs/cli.md")
    parser.add_argument("--version", action="version", version=f"rmslab {__version__}",
                        help="print rmslab's version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_document_parsers(sub)
    add_lab_parsers(sub)
    add_content_parsers(sub)
    add_revoke_parser(sub)
    add_serve_parsers(sub)
    add_discover_parser(sub)
    add_inventory_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    with safe_stderr():  # every message names something from the input: made safe
        return _main(argv, out or sys.stdout)


def _main(argv: Sequence[str] | None, out: TextIO) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # what the command prints is made safe for a terminal; JSON stays exact (escaped)
    out = safe_stream(out, json=bool(getattr(args, "json", False)))
    try:
        return int(args.run(args, out))
    except InputError as exc:
        sys.stderr.write(f"rmslab: {exc}\n")
        return EXIT_INPUT
    except RefusedError as exc:  # an actor refused (the message names the rule)
        sys.stderr.write(f"rmslab: refused: {exc}\n")
        return EXIT_REFUSED
    except RmslabError as exc:
        sys.stderr.write(f"rmslab: {exc}\n")
        return EXIT_INVALID
    except RecursionError:
        sys.stderr.write("rmslab: the input is nested too deeply to be an XrML document\n")
        return EXIT_INPUT
    except BrokenPipeError:
        # the reader of our output went away (`rmslab inspect … | head`): not an error
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        # an output that cannot be written (a missing folder, no permission, a full disk)
        where = f"{exc.filename}: " if exc.filename else ""
        sys.stderr.write(f"rmslab: {where}{exc.strerror or exc}\n")
        return EXIT_INPUT
