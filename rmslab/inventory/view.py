"""The migration view of an inventory: per issuing cluster and SLC key, and per trusted
publishing domain, what was protected and what retiring the key would leave unreadable
(SPEC P-7: only the issuing server, or a server holding that key in a trusted publishing
domain, can license the content).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TextIO

from rmslab.inventory.run import Inventory
from rmslab.xrml.model import format_time

__all__ = ["KeyView", "migration_view", "to_text", "to_json", "write_json"]


@dataclass
class KeyView:
    """Everything protected under one SLC key."""

    slc_fingerprint: str
    servers: set[str] = field(default_factory=set)
    tpd: str | None = None
    licensing_urls: set[str] = field(default_factory=set)
    files: int = 0
    offline: int = 0
    templates: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    modes: Counter[int] = field(default_factory=Counter)
    authors: set[str] = field(default_factory=set)
    verification: Counter[str] = field(default_factory=Counter)
    oldest: str | None = None
    newest: str | None = None

    def add(self, record: dict[str, Any]) -> None:
        self.files += 1
        if record.get("server"):
            self.servers.add(record["server"])
        self.licensing_urls.update((record.get("licensing_urls") or "").split())
        self.tpd = self.tpd or record.get("tpd")
        if record.get("published") == "offline":
            self.offline += 1
            self.authors.add(record.get("author_clc") or "?")
        self.templates[record.get("template_name") or record.get("template_id")
                       or "(no template)"] += 1
        self.kinds[record.get("kind") or "?"] += 1
        self.modes[int(record["mode"]) if record.get("mode") else 0] += 1
        verdict = str(record.get("verification") or "")
        self.verification[verdict.split(" ", 1)[0].rstrip(",:")] += 1
        issued = record.get("issued")
        if issued:
            self.oldest = min(self.oldest or issued, issued)
            self.newest = max(self.newest or issued, issued)

    def to_json(self) -> dict[str, Any]:
        return {"slc_fingerprint": self.slc_fingerprint, "servers": sorted(self.servers),
                "trusted_publishing_domain": self.tpd,
                "licensing_urls": sorted(self.licensing_urls), "files": self.files,
                "published_offline": self.offline, "offline_authors": len(self.authors),
                "templates": dict(sorted(self.templates.items())),
                "kinds": dict(sorted(self.kinds.items())),
                "modes": {str(k): v for k, v in sorted(self.modes.items())},
                "verification": dict(sorted(self.verification.items())),
                "oldest": self.oldest, "newest": self.newest,
                "unreadable_if_retired": self.files}


def migration_view(inventory: Inventory) -> list[KeyView]:
    """One :class:`KeyView` per SLC key, largest first (one pass over the records)."""
    views: dict[str, KeyView] = {}
    for record in inventory.iter_records("protected"):
        key = record.get("slc_fingerprint") or "(unknown key)"
        views.setdefault(key, KeyView(key)).add(record)
    return sorted(views.values(), key=lambda v: (-v.files, v.slc_fingerprint))


def _summary(inventory: Inventory) -> dict[str, Any]:
    """Everything of :func:`to_json` but the records."""
    views = migration_view(inventory)
    domains: dict[str, int] = {}
    for view in views:
        domains[view.tpd or "(no known trusted publishing domain)"] = (
            domains.get(view.tpd or "(no known trusted publishing domain)", 0) + view.files)
    return {"schema": 1, "totals": inventory.totals(), "scanned": inventory.scanned,
            "resumed_skipping": inventory.skipped, "anchored": inventory.anchored,
            "at": format_time(inventory.at),
            "clusters": [v.to_json() for v in views],
            "trusted_publishing_domains": domains,
            "unreadable": [{"path": r["path"], "reason": r["reason"]}
                           for r in inventory.iter_records("unreadable")]}


def to_json(inventory: Inventory) -> dict[str, Any]:
    """The inventory as JSON (docs/json.md), its records loaded: for small shares."""
    return {**_summary(inventory), "records": inventory.records}


def write_json(inventory: Inventory, out: TextIO) -> None:
    """:func:`to_json`, written with the records streamed one at a time from the run's
    state database (memory stays flat whatever the share's size)."""
    head = json.dumps(_summary(inventory), indent=2, ensure_ascii=False)
    out.write(head[:-2] + ',\n  "records": [')
    written = 0
    for record in inventory.iter_records():
        text = json.dumps(record, indent=2, ensure_ascii=False).replace("\n", "\n    ")
        out.write(("," if written else "") + "\n    " + text)
        written += 1
    out.write("\n  ]\n}\n" if written else "]\n}\n")


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{n} {k}" for k, n in sorted(counter.items()))


def to_text(inventory: Inventory) -> str:
    totals = inventory.totals()
    lines = [f"{inventory.scanned} files: {totals.get('protected', 0)} protected, "
             f"{totals.get('not-protected', 0)} not protected, "
             f"{totals.get('license', 0)} licenses or certificates, "
             f"{totals.get('unreadable', 0)} unreadable"
             + (f" ({inventory.skipped} taken from the state database)"
                if inventory.skipped else "")]
    lines.append(f"chains verified at {inventory.at:%Y-%m-%d %H:%M} UTC"
                 + ("" if inventory.anchored else
                    " for integrity only: give --anchor to verify them up to a root "
                    "(\"unanchored\")"))
    lines.append("")
    lines.append("migration view — per issuing cluster and SLC key:")
    for view in migration_view(inventory):
        name = ", ".join(sorted(view.servers)) or "?"
        lines.append(f"  {name}  SLC key {view.slc_fingerprint[:16]}"
                     + (f"  trusted publishing domain {view.tpd}" if view.tpd else ""))
        authors = len(view.authors)
        lines.append(f"    {view.files} files, {view.offline} published offline by {authors} "
                     f"author{'' if authors == 1 else 's'}; issued {view.oldest} … "
                     f"{view.newest}")
        lines.append("    kinds: " + _counts(view.kinds))
        lines.append("    templates: " + _counts(view.templates))
        lines.append("    modes: " + ", ".join(f"{n} in mode {k}" if k else f"{n} of no mode"
                                              for k, n in sorted(view.modes.items()))
                     + "; verdicts: " + _counts(view.verification))
        lines.append(f"    licensing URLs: {', '.join(sorted(view.licensing_urls)) or '-'}")
        lines.append(f"    retiring this key without keeping it in a trusted publishing "
                     f"domain leaves {view.files} files unreadable")
    unreadable = totals.get("unreadable", 0)
    if unreadable:
        lines.append("")
        lines.append(f"unreadable ({unreadable}):")
        lines += [f"  {r['path']}: {r['reason']}" for r in inventory.iter_records("unreadable")]
    return "\n".join(lines) + "\n"
