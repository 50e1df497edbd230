"""Every relative link in the README, docs/*.md and the notebooks' Markdown resolves to a
file of the repository, and every ``#anchor`` to a heading of that file."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.docs.repo import REPO, anchors, markdown_links, notebook_markdown

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def broken_links(markdown: str, page: Path) -> list[str]:
    broken = []
    for link in markdown_links(markdown):
        if link.startswith(("http://", "https://", "mailto:")):
            continue
        target_part, _, anchor = link.partition("#")
        target = (page.parent / unquote(target_part)).resolve() if target_part else page
        if not target.is_relative_to(REPO):
            broken.append(f"{link}: outside the repository")
        elif not target.exists():
            broken.append(f"{link}: no such file")
        elif anchor and target.suffix == ".md" and anchor not in anchors(
                target.read_text(encoding="utf-8")):
            broken.append(f"{link}: no heading #{anchor} in {target.relative_to(REPO)}")
    return broken


def test_the_documentation_exists() -> None:
    names = {page.name for page in PAGES}
    assert {"README.md", "rules.md", "glossary.md", "wire-format.md", "architecture.md",
            "cli.md", "json.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_links_of_a_page_resolve(page: Path) -> None:
    markdown = page.read_text(encoding="utf-8")
    assert markdown_links(markdown) or page.name == "LICENSE"
    assert not broken_links(markdown, page)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_links_of_a_notebook_resolve(notebook: Path) -> None:
    broken = [b for cell in notebook_markdown(notebook) for b in broken_links(cell, notebook)]
    assert not broken


def test_a_broken_link_is_caught(tmp_path: Path) -> None:
    page = REPO / "docs" / "rules.md"
    assert broken_links("[x](glossary.md#no-such-heading) [y](nowhere.md) "
                        "[z](../../outside.md) [ok](#p-4) `[code](nowhere.md)`", page) == [
        "glossary.md#no-such-heading: no heading #no-such-heading in docs/glossary.md",
        "nowhere.md: no such file", "../../outside.md: outside the repository"]
