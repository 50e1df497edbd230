"""Exercises of notebook 11, retiring a cluster (SPEC P-7, A-1, A-2): read the migration
view and the audit of a share that two labs' clusters protected. Each checker works the
answer out from the lesson's share, made again in a temporary folder — the same labs,
the same files, inventoried as the notebook does it."""

from __future__ import annotations

import functools
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rmslab.exercises._core import Judgement, Kind, correct, hint, register

__all__: list[str] = []

NOTEBOOK = "11_retiring_a_cluster"


@dataclass(frozen=True)
class _Share:
    """What the checkers need of the lesson's inventory."""

    #: SLC key fingerprint → (files, trusted publishing domain or None, cryptographic modes)
    keys: dict[str, tuple[int, str | None, frozenset[int]]]
    #: the first lab's licensing-only cluster's key (the domain exercise 11.2 imports)
    licensing_key: str
    #: (container kind, mode, cipher) of every protected file
    kinds: frozenset[tuple[str, int, str]]


@functools.lru_cache(maxsize=1)
def _share() -> _Share:
    from rmslab.deployment import standard_deployment
    from rmslab.inventory import generate_share, migration_view, run_inventory
    from rmslab.lab import Lab
    labs = [standard_deployment(Lab()), standard_deployment(Lab(seed=1, mode=1))]
    anchors = tuple(lab.enrollment_service.anchor.to_pem() for lab in labs)
    domains = (("Contoso-2026", labs[0].root_cluster.key.public.to_pem()),)
    with tempfile.TemporaryDirectory(prefix="rmslab-lesson-11-") as folder:
        root = Path(folder) / "share"
        generate_share(root, labs, 400)
        inventory = run_inventory([root], workers=1, settings=(anchors, domains),
                                  at=labs[0].lab.now())
        try:
            keys = {v.slc_fingerprint: (v.files, v.tpd, frozenset(v.modes))
                    for v in migration_view(inventory)}
            kinds = frozenset((r["kind"], int(r["mode"]), r["cipher"])
                              for r in inventory.iter_records("protected"))
        finally:
            inventory.close()
    licensing = labs[0].clusters["contoso-licensing"].key.public.fingerprint
    return _Share(keys, licensing, kinds)


_HEX = re.compile(r"[0-9a-f]{16,64}")


@register("11.1", NOTEBOOK, Kind.FIND,
          "Find the SLC key whose retirement leaves the most files on the share unreadable "
          "— a key the new cluster will not hold in a trusted publishing domain. Give its "
          "fingerprint (the first 16 hex digits are enough).",
          "a str: a key fingerprint in hex, at least 16 digits")
def _worst_key(answer: Any) -> Judgement:
    share = _share()
    if not isinstance(answer, str) or not _HEX.fullmatch(answer.strip().lower()):
        return hint("answer with a fingerprint as the migration view prints it: hex digits, "
                    "at least the first 16")
    given = answer.strip().lower()
    found = [key for key in share.keys if key.startswith(given)]
    if not found:
        return hint("no key of the share has that fingerprint: copy it from a line "
                    "'SLC key …' of the migration view")
    files, tpd, modes = share.keys[found[0]]
    homeless = {k: v[0] for k, v in share.keys.items() if v[1] is None}
    worst = max(homeless.values())
    if tpd is not None:
        return hint(f"that key is in the trusted publishing domain {tpd}: the cluster that "
                    "stays licenses its files — look at the keys with no domain")
    if files == worst:
        return correct(f"{files} files, in mode {min(modes)}: no cluster that stays holds the "
                       "key, so nobody can issue use licenses for them once its cluster is "
                       "gone (P-7) — export its trusted publishing domain before retiring it")
    return hint(f"that key leaves {files} files unreadable; another key without a domain "
                "protects more")


@register("11.2", NOTEBOOK, Kind.PREDICT,
          "Predict: the new cluster also imports the trusted publishing domain of the first "
          "lab's licensing-only cluster (contoso-licensing). How many files does RMS-011 "
          "then still report, all keys together?",
          "an int: a number of files")
def _still_homeless(answer: Any) -> Judgement:
    share = _share()
    if isinstance(answer, bool) or not isinstance(answer, int):
        return hint("answer with a number of files, an int")
    truth = sum(files for key, (files, tpd, _) in share.keys.items()
                if tpd is None and key != share.licensing_key)
    if answer == truth:
        return correct(f"{truth}: every file of a key that no cluster that stays holds — "
                       "here both keys of the second lab, which nobody planned to keep "
                       "(RMS-011 counts per key, P-7)")
    before = sum(files for files, tpd, _ in share.keys.values() if tpd is None)
    if answer == before:
        return hint("that is what RMS-011 reports now: which key's files does importing "
                    "contoso-licensing's domain take off the list?")
    return hint("add up the files of the keys that would still be in no trusted publishing "
                "domain; the migration view gives each key's count")


_KINDS = ("protected-file", "office-ooxml", "office-binary", "rpmsg", "outlook-msg",
          "pdf-irm-v1", "pdf-irm-v2", "pdf-irm-v2-wrapper")


@register("11.3", NOTEBOOK, Kind.READ,
          "Read it from the records: which container kinds seal their content with AES in "
          "ECB mode even when the cluster is in cryptographic mode 2 — so that RMS-010 "
          "reports them whatever the mode?",
          f"a set of str: container kinds, among {', '.join(_KINDS)}")
def _ecb_kinds(answer: Any) -> Judgement:
    share = _share()
    if not isinstance(answer, (set, frozenset, list, tuple)) or \
            not all(isinstance(k, str) for k in answer):
        return hint("answer with a set of container kinds, e.g. {'rpmsg', …}")
    given = set(answer)
    unknown = given - set(_KINDS)
    if unknown:
        return hint(f"{', '.join(sorted(unknown))}: not a container kind of the inventory; "
                    f"the kinds are {', '.join(_KINDS)}")
    truth = {kind for kind, mode, cipher in share.kinds if mode == 2 and "ECB" in cipher}
    if given == truth:
        return correct("the Office data spaces and the protected mail built on them: "
                       "MS-OFFCRYPTO 2.2.10 prescribes AES-128 in ECB mode for the protected "
                       "content stream, whatever the cluster's mode; a protected file in mode "
                       "2 uses CBC with 4096-byte blocks, a PDF its own crypt filter")
    if given - truth:
        return hint("one of those kinds is sealed otherwise in mode 2: look at the cipher "
                    "of its mode-2 records")
    return hint("a kind is missing: look at every record in mode 2 whose cipher names ECB")
