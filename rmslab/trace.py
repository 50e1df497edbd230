"""The Trace: what a flow did, step by step, and every check it made (docs/architecture.md "The
Trace").

A flow appends :class:`Step`s as it goes — who acted, towards whom, what went in or
out, which keys were used — and records :class:`Check`s on the current step, each with
its outcome, a plain-English reason and the SPEC ID it enforces. The stepper widget
plays a Trace, the pictures highlight it, audits read it; an error raised by a flow
carries the Trace up to the point of failure (``error.trace``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

__all__ = ["Check", "DocumentRef", "Step", "Trace"]


@dataclass(frozen=True)
class Check:
    """One rule applied: did it hold, why, and which SPEC rule it is."""

    spec_id: str | None
    description: str
    passed: bool
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"spec_id": self.spec_id, "description": self.description,
                "passed": self.passed, "reason": self.reason}

    def __str__(self) -> str:
        mark = "✓" if self.passed else "✗"
        rule = f" [{self.spec_id}]" if self.spec_id else ""
        reason = f" — {self.reason}" if self.reason else ""
        return f"{mark} {self.description}{rule}{reason}"


@dataclass(frozen=True)
class DocumentRef:
    """A document that travelled in a step: a label and its exact text."""

    label: str
    text: str
    kind: str | None = None


@dataclass
class Step:
    """One thing that happened: ``actor`` did ``action`` (towards ``target``)."""

    actor: str
    action: str
    target: str | None = None
    documents: list[DocumentRef] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    note: str = ""

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"actor": self.actor, "action": self.action, "target": self.target,
                "documents": [{"label": d.label, "kind": d.kind} for d in self.documents],
                "keys": list(self.keys), "checks": [c.to_json() for c in self.checks],
                "note": self.note}

    def __str__(self) -> str:
        arrow = f" → {self.target}" if self.target else ""
        lines = [f"{self.actor}{arrow}: {self.action}"]
        lines += [f"    document: {d.label}" for d in self.documents]
        lines += [f"    key: {k}" for k in self.keys]
        lines += [f"    {c}" for c in self.checks]
        if self.note:
            lines.append(f"    note: {self.note}")
        return "\n".join(lines)


class Trace:
    """An append-only record of a flow."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.steps: list[Step] = []

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, index: int) -> Step:
        return self.steps[index]

    def step(self, actor: str, action: str, target: str | None = None, *,
             documents: list[DocumentRef] | None = None, keys: list[str] | None = None,
             note: str = "") -> Step:
        """Begin a new step; later checks attach to it."""
        new = Step(actor, action, target, list(documents or []), list(keys or []), [], note)
        self.steps.append(new)
        return new

    def check(self, spec_id: str | None, description: str, passed: bool,
              reason: str = "") -> Check:
        """Record a check on the current step (a step is opened if there is none)."""
        if not self.steps:
            self.step("rmslab", self.title)
        made = Check(spec_id, description, passed, reason)
        self.steps[-1].checks.append(made)
        return made

    def extend(self, other: "Trace") -> None:
        self.steps.extend(other.steps)

    @property
    def checks(self) -> list[Check]:
        return [c for s in self.steps for c in s.checks]

    @property
    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    @property
    def passed(self) -> bool:
        return not self.failed_checks

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "passed": self.passed,
                "steps": [s.to_json() for s in self.steps]}

    def to_wire(self) -> dict[str, Any]:
        """Everything of the Trace, document texts included (to carry it over HTTP)."""
        return {"title": self.title, "steps": [
            {**step.to_json(), "documents": [{"label": d.label, "kind": d.kind, "text": d.text}
                                             for d in step.documents]}
            for step in self.steps]}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> "Trace":
        trace = cls(str(data["title"]))
        for step in data["steps"]:
            trace.steps.append(Step(
                step["actor"], step["action"], step["target"],
                [DocumentRef(d["label"], d["text"], d["kind"]) for d in step["documents"]],
                list(step["keys"]),
                [Check(c["spec_id"], c["description"], c["passed"], c["reason"])
                 for c in step["checks"]],
                step["note"]))
        return trace

    def to_text(self) -> str:
        lines = [self.title]
        for number, s in enumerate(self.steps, 1):
            body = str(s).splitlines()
            lines.append(f"{number:>2}. {body[0]}")
            lines.extend(f"    {line}" for line in body[1:])
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Trace {self.title!r}: {len(self.steps)} steps, {len(self.checks)} checks, " \
               f"{len(self.failed_checks)} failed>"
