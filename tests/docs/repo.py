"""What the documentation tests read: the repository's files, Markdown links and anchors,
and the entries of docs/rules.md."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["REPO", "repo_files", "text_of", "markdown_links", "anchors", "RuleEntry",
           "rule_entries", "notebook_markdown"]

REPO = Path(__file__).resolve().parents[2]

_SKIPPED_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache",
                 ".hypothesis", "build", ".ipynb_checkpoints", "test-artifacts"}


def repo_files() -> list[Path]:
    """The repository's files: tracked or new (not ignored) per git, or every file outside
    the build and cache folders when there is no git checkout."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=REPO, capture_output=True, check=True).stdout.decode("utf-8")
        files = [REPO / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        files = [path for path in REPO.rglob("*") if path.is_file()
                 and not any(part in _SKIPPED_DIRS or part.endswith(".egg-info")
                             for part in path.relative_to(REPO).parts)]
    return sorted(path for path in files if path.is_file())


def text_of(path: Path) -> str | None:
    """A file's text, or None for a binary file (keys, protected files, pictures)."""
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


#: ``[text](target)`` — inline Markdown links (images included), not inside code.
_LINK = re.compile(r"!?\[[^\]]*\]\(([^()\s]+)(?:\s+\"[^\"]*\")?\)")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
_CODE_SPAN = re.compile(r"`[^`\n]*`")


def markdown_links(text: str) -> list[str]:
    """The targets of the inline links in Markdown text, code blocks and spans left out."""
    prose = _CODE_SPAN.sub("", _FENCE.sub("", text))
    return _LINK.findall(prose)


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives a Markdown file's headings (lower case, punctuation
    dropped, spaces to hyphens, repeats numbered), plus explicit ``<a id=…>``."""
    found: set[str] = set(re.findall(r"<a\s+(?:id|name)=\"([^\"]+)\"", markdown))
    seen: dict[str, int] = {}
    for line in _FENCE.sub("", markdown).splitlines():
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


@dataclass(frozen=True)
class RuleEntry:
    """One ``### ID`` entry of docs/rules.md."""

    id: str
    summary: str
    sources: str | None
    modules: list[str]


def rule_entries(markdown: str) -> list[RuleEntry]:
    """The entries of the rule catalogue, in order."""
    entries = []
    for block in re.split(r"^(?=### )", markdown, flags=re.M)[1:]:
        lines = block.splitlines()
        rule_id = lines[0][4:].strip()
        rest = [line for line in lines[1:] if line.strip()]
        summary = rest[0] if rest else ""
        summary = summary[2:-2] if summary.startswith("**") and summary.endswith("**") else ""
        body = "\n".join(lines[1:])
        source = re.search(r"^- \*Source:\*(.*(?:\n  .*)*)", body, re.M)
        implemented = re.search(r"^- \*In rmslab:\*(.*(?:\n  .*)*)", body, re.M)
        modules = markdown_links(implemented.group(1)) if implemented else []
        entries.append(RuleEntry(rule_id, summary,
                                 " ".join(source.group(1).split()) if source else None,
                                 modules))
    return entries


def notebook_markdown(path: Path) -> list[str]:
    """The source of each Markdown cell of a notebook."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in cells if c["cell_type"] == "markdown"]
