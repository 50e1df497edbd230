"""The rule catalogue (docs/rules.md) is complete and agrees with the package.

* every rule ID and audit finding ID cited anywhere in the repository — code, messages,
  tests' ``covers:`` lines, notebooks, docs — has an entry;
* each entry's one-sentence summary is, word for word, the line the package keeps in
  ``rmslab.rules.RULES`` (for findings, ``rmslab.audit.findings.CHECKS``), and the package
  has no rule the catalogue lacks;
* each entry says where the rule comes from and which modules implement it, and each of
  those modules cites the rule.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from rmslab.audit.findings import CHECKS
from rmslab.rules import RULE_ID, RULES, rule_anchor
from tests.docs.repo import REPO, RuleEntry, anchors, repo_files, rule_entries, text_of

CATALOGUE = REPO / "docs" / "rules.md"
ENTRIES = rule_entries(CATALOGUE.read_text(encoding="utf-8"))
BY_ID = {entry.id: entry for entry in ENTRIES}
FINDING_ID = re.compile(r"(?<![\w-])RMS-\d{3}(?![\w-])")


def test_each_id_has_one_entry() -> None:
    ids = [entry.id for entry in ENTRIES]
    assert len(ids) == len(set(ids)), "an ID has two entries in docs/rules.md"
    for rule_id in ids:
        assert RULE_ID.fullmatch(rule_id) or FINDING_ID.fullmatch(rule_id), rule_id


def test_the_package_table_is_the_catalogue() -> None:
    rules = {entry.id: entry.summary for entry in ENTRIES if RULE_ID.fullmatch(entry.id)}
    assert set(RULES) == set(rules), (
        f"in docs/rules.md only: {sorted(set(rules) - set(RULES))}; "
        f"in rmslab/rules.py only: {sorted(set(RULES) - set(rules))}")
    for rule_id, summary in rules.items():
        literal = "\n".join(f"        {line!r}" for line in
                            textwrap.wrap(summary, 80, drop_whitespace=False))
        assert RULES[rule_id] == summary, (
            f"{rule_id}: rmslab/rules.py and docs/rules.md disagree; the catalogue's bold line "
            f"is the source — in rmslab/rules.py write:\n    {rule_id!r}: (\n{literal}),")


def test_the_audit_findings_are_the_catalogue() -> None:
    findings = {entry.id: entry.summary for entry in ENTRIES if FINDING_ID.fullmatch(entry.id)}
    assert findings == CHECKS


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry.id for entry in ENTRIES])
def test_each_entry_says_what_where_from_and_where_implemented(entry: RuleEntry) -> None:
    assert entry.summary, f"{entry.id}: the entry must start with its sentence in bold"
    if RULE_ID.fullmatch(entry.id):
        assert entry.sources, f"{entry.id}: no '- *Source:*' line"
        assert not re.search(r"seed|SPEC\.md|\.\./", entry.sources), entry.sources
    assert entry.modules, f"{entry.id}: no '- *In rmslab:*' line with links to modules"
    for link in entry.modules:
        target = (CATALOGUE.parent / link).resolve()
        assert target.is_file() and target.is_relative_to(REPO / "rmslab"), (
            f"{entry.id}: {link} is not a module of rmslab")
        cited = target.read_text(encoding="utf-8")
        pattern = RULE_ID if RULE_ID.fullmatch(entry.id) else FINDING_ID
        assert entry.id in pattern.findall(cited), (
            f"{entry.id}: {link} is named as implementing it but never cites it")


def test_anchors_are_the_ids_in_lower_case() -> None:
    found = anchors(CATALOGUE.read_text(encoding="utf-8"))
    for entry in ENTRIES:
        assert rule_anchor(entry.id) in found, entry.id


def cited_ids() -> dict[str, set[str]]:
    """Every rule or finding ID cited in the repository → the files that cite it."""
    cited: dict[str, set[str]] = {}
    for path in repo_files():
        text = text_of(path)
        if text is None:
            continue
        name = str(path.relative_to(REPO))
        for rule_id in set(RULE_ID.findall(text)) | set(FINDING_ID.findall(text)):
            cited.setdefault(rule_id, set()).add(name)
    return cited


def test_every_cited_id_has_an_entry() -> None:
    cited = cited_ids()
    assert {"P-4", "B-2", "RMS-001"} <= set(cited)  # the scan sees the repository
    missing = {rule_id: sorted(files) for rule_id, files in cited.items()
               if rule_id not in BY_ID}
    assert not missing, (
        "rule IDs cited without an entry in docs/rules.md (add one, with its line in "
        f"rmslab/rules.py): {missing}")


def test_the_scan_finds_ids_where_they_are_cited(tmp_path: Path) -> None:
    sample = "covers: P-4, R-3 step 3; [B-2]; RMS-004; not S-1-5-20, SHA-1, AES-128, LT-7"
    assert RULE_ID.findall(sample) == ["P-4", "R-3", "B-2"]
    assert FINDING_ID.findall(sample) == ["RMS-004"]
