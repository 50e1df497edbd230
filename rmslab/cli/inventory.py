"""``rmslab inventory``: every protected artefact under some folders, per cluster and key
(SPEC A-1, P-7)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from rmslab.cli.common import EXIT_OK
from rmslab.errors import InputError

__all__ = ["add_inventory_parser", "read_settings", "add_audit_arguments",
           "command_audit_artefacts"]


def _pem(path: str) -> bytes:
    from rmslab.cli.documents import load_anchor
    return load_anchor(path).to_pem()


def read_settings(anchors: list[str], domains: list[str]) -> tuple[tuple[bytes, ...],
                                                                   tuple[tuple[str, bytes], ...]]:
    """Anchors and trusted publishing domains (NAME=KEYFILE) as PEM bytes."""
    named = []
    for value in domains:
        name, _, path = value.partition("=")
        if not name or not path:
            raise InputError(f"{value!r}: write --tpd NAME=KEYFILE")
        named.append((name, _pem(path)))
    return tuple(_pem(a) for a in anchors), tuple(named)


def _command_inventory(args: argparse.Namespace, out: TextIO) -> int:
    from rmslab.inventory import run_inventory, to_json, to_text
    from rmslab.inventory.run import csv_rows
    settings = read_settings(args.anchor, args.tpd)
    inventory = run_inventory(args.paths, settings=settings, workers=args.workers,
                              state=args.state, dask=args.dask, progress=sys.stderr)
    if args.csv:
        target = Path(args.csv)
        partial = target.with_name(target.name + ".part")
        with partial.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(csv_rows(inventory.records))
        partial.replace(target)
    if args.json:
        json.dump(to_json(inventory), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(to_text(inventory))
        if args.csv:
            out.write(f"wrote {len(inventory.records)} records to {args.csv}\n")
    return EXIT_OK


def add_inventory_parser(sub: Any) -> None:
    p = sub.add_parser("inventory", help="every protected file and mail under some folders: "
                                         "which cluster and key protected it, and the "
                                         "migration view per SLC key")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--json", action="store_true", help="records and the migration view as JSON")
    p.add_argument("--csv", metavar="OUT", help="also write one CSV row per file")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="processes to use (default: the CPU count)")
    p.add_argument("--state", metavar="DB", help="SQLite database that makes the run "
                                                 "resumable: started again, it skips what it "
                                                 "finished")
    p.add_argument("--dask", metavar="ADDRESS", help="run the per-file work on this Dask "
                                                    "scheduler (tcp://host:8786)")
    p.add_argument("--anchor", action="append", default=[], metavar="KEYFILE",
                   help="a root to verify chains against (repeatable); without one, "
                        "chains are \"unanchored\"")
    p.add_argument("--tpd", action="append", default=[], metavar="NAME=KEYFILE",
                   help="a trusted publishing domain's SLC key, to name it in the "
                        "migration view (repeatable)")
    p.set_defaults(run=_command_inventory)


def add_audit_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``rmslab audit`` over real things."""
    p.add_argument("--share", action="append", default=[], metavar="PATH",
                   help="inventory this folder and audit what it holds (repeatable)")
    p.add_argument("--store", action="append", default=[], metavar="DIR",
                   help="a client license store folder (MSIPC or DRM; repeatable)")
    p.add_argument("--registry", metavar="FILE.reg",
                   help="the client's registry export, to check which clusters it trusts")
    p.add_argument("--anchor-key", dest="audit_anchor", action="append", default=[],
                   metavar="KEYFILE", help="a root to verify the share's chains against")
    p.add_argument("--tpd", dest="audit_tpd", action="append", default=[],
                   metavar="NAME=KEYFILE", help="a trusted publishing domain's SLC key")
    p.add_argument("--workers", type=int, default=None, metavar="N")


def command_audit_artefacts(args: argparse.Namespace, out: TextIO) -> int:
    """``rmslab audit`` without a lab: a share and client stores."""
    from datetime import datetime, timezone
    from rmslab.audit.artefacts import audit_artefacts
    from rmslab.cli.common import EXIT_INVALID
    from rmslab.containers.stores import read_store
    if not args.share and not args.store:
        raise InputError("audit what? give a lab folder, or --share PATH / --store DIR")
    records: list[dict[str, Any]] = []
    if args.share:
        from rmslab.inventory import run_inventory
        settings = read_settings(args.audit_anchor, args.audit_tpd)
        records = run_inventory(args.share, settings=settings, workers=args.workers,
                                progress=sys.stderr).records
    registry = None
    if args.registry:
        from rmslab.discovery.registry import Registry
        registry = Registry.from_reg_files(args.registry)
    stores = [(read_store(directory), registry) for directory in args.store]
    moment = args.at or datetime.now(timezone.utc)
    report = audit_artefacts(records=records, stores=stores, domains_known=bool(args.audit_tpd),
                             at=moment, subject=", ".join(args.share + args.store),
                             picture=bool(args.html))
    if args.html:
        target = Path(args.html)
        partial = target.with_name(target.name + ".part")
        partial.write_text(report.to_html(), encoding="utf-8")
        partial.replace(target)
    if args.json:
        json.dump(report.to_json(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(report.to_text() + "\n")
    return EXIT_INVALID if report.counts()["high"] else EXIT_OK
