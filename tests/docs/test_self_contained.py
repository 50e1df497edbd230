"""The repository stands alone: no file points outside it.

Someone who clones the project has none of the team's notes, reference files or corpus,
so nothing may send them there: no path to a sibling folder (``../shared``), no absolute
path of a machine (``/work/…``, a home folder), no reference file that is not in the
repository (``XRML.md`` — the wire format is docs/wire-format.md), and no source document
by a name no reader can open ("seed 000", "the Hungarian seed": name the rule or the
topic, see docs/rules.md).

Two places may name the default location of the external corpus, because that is their
job: tests/conftest.py (the fixture that finds it) and .ci/run (the CI machine's setup).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.docs.repo import REPO, repo_files, text_of

#: What points outside the repository, and why it is wrong.
OUTSIDE = {
    "a sibling folder of the repository": re.compile(r"\.\./shared|\bshared/(?:xrml-corpus|"
                                                     r"seeds|ms-specs|tools)"),
    "an absolute path of one machine": re.compile(r"(?<![\w.])/(?:work|home/\w+|root|Users/\w+)"
                                                  r"/"),
    "a reference file the repository does not hold": re.compile(
        r"\b(?:XRML|DESIGN|SPEC|TOOLING)\.md\b|\bMS-RM\w+\.md\b|\bxrml_shapes\.py\b"),
    "a source document no reader can open": re.compile(
        r"\bseeds?\s+`?0\d\d\b"
        r"|\b(?:Hungarian|Dutch|Swedish)\s+seed\b"
        r"|\bthe\s+seed's\s+(?!(?:keys?|value|GUIDs?)\b)"
        r"|\bthe\s+seed\s+(?:puts|names|requires|speaks|ends|implies|warns|translates|says"
        r"|describes|tells|gives)\b"
        r"|\b(?:in|as in|follows?|following)\s+the\s+seed\b"
        r"|\bof\s+the\s+seed\b(?!\s+and\b)",
        re.IGNORECASE),
}

#: (file, text) pairs allowed on purpose, each with its reason.
ALLOWED = {
    ("tests/conftest.py", "shared/xrml-corpus"): "the fixture's default corpus location",
    ("tests/conftest.py", "../shared"): "the fixture's default corpus location",
    ("tests/service/conftest.py", "../shared"): "the WSDL fixture's default location (MS-RMPR "
                                                "section 6, beside the corpus; never copied)",
    (".ci/run", "../shared"): "the CI machine's corpus location",
    ("tests/service/test_decommission_service.py", "MS-RMSI.md"): "the specification the "
                                                                   "decommissioning WSDL is "
                                                                   "cut from at test time "
                                                                   "(never copied)",
    ("tests/interop/test_shapes_tool.py", "xrml_shapes.py"): "the shape tool's default "
                                                             "location beside the corpus "
                                                             "(run unchanged, never copied)",
    (".ci/run", "shared/xrml-corpus"): "the CI machine's corpus location",
    ("tests/notebooks/test_hygiene.py", "/home/u/"): "a path the notebook hygiene test "
                                                     "must reject",
}

THIS_FILE = "tests/docs/test_self_contained.py"


def texts(path: Path) -> list[tuple[str, str]]:
    """What to search in a file, each with where it is: a text file whole; a notebook
    cell by cell (its source, then its outputs), since the JSON splits sentences."""
    text = text_of(path)
    if text is None:
        return []
    if path.suffix != ".ipynb":
        return [("", text)]
    parts = []
    for number, cell in enumerate(json.loads(text)["cells"], start=1):
        source = cell["source"]
        parts.append((f" cell {number}", "".join(source) if isinstance(source, list)
                      else source))
        for output in cell.get("outputs", []):
            parts.append((f" cell {number} (output)", json.dumps(output, ensure_ascii=False)))
    return parts


def findings() -> list[str]:
    found = []
    for path in repo_files():
        name = str(path.relative_to(REPO))
        if name == THIS_FILE:
            continue
        for where, text in texts(path):
            for why, pattern in OUTSIDE.items():
                for match in pattern.finditer(text):
                    if (name, match.group()) in ALLOWED:
                        continue
                    line = text.count("\n", 0, match.start()) + 1
                    found.append(f"{name}{where}:{line}: {match.group()!r} is {why}")
    return found


def test_no_file_points_outside_the_repository() -> None:
    found = findings()
    assert not found, "\n".join(found)


@pytest.mark.parametrize("text", [
    "see ../shared/XRML.md", "the corpus in /work/shared/xrml-corpus", "(XRML.md "
    "\"Signature\")", "DESIGN.md rule 2", "following seed 000", "the Hungarian seed",
    "the seed's worked example", "/home/alice/notes", "a SPEC.md rule",
    "The seed puts the server-mode location", "as in the seed", "in the seed's order",
    "steps 2, 3 and 4 of the seed"])
def test_each_kind_of_pointer_is_caught(text: str) -> None:
    assert any(pattern.search(text) for pattern in OUTSIDE.values()), text


@pytest.mark.parametrize("text", [
    "Lab(seed=0)", "keys come from the lab's seed", "the same seed and time",
    "Keys are derived from the seed and a label", "--seed 7",
    "docs/wire-format.md", "MS-RMPR 3.4.4.1", "S-1-5-20", "$RMSLAB_CORPUS",
    "C:\\Users\\alice\\AppData", "clients/MACHINE/C/Users/USER/AppData"])
def test_what_is_not_a_pointer_outside(text: str) -> None:
    assert not any(pattern.search(text) for pattern in OUTSIDE.values()), text
