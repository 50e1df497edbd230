"""``rmslab inventory`` and ``rmslab audit`` over real things: every protected artefact
under some folders, per cluster and key; findings over a share, client license stores
and their registry, with or without the lab they came from (SPEC A-1, A-2, P-7)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from rmslab.cli.common import EXIT_INVALID, EXIT_OK, examples, parse_at, wall_clock
from rmslab.errors import InputError

__all__ = ["add_inventory_parser", "read_settings", "add_audit_arguments",
           "command_audit_artefacts", "wants_artefacts"]


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


def _write_atomically(target: Path, write: Any) -> None:
    partial = target.with_name(target.name + ".part")
    try:
        write(partial)
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InputError(f"{target}: cannot be written ({exc.strerror or exc})") from None


def _command_inventory(args: argparse.Namespace, out: TextIO) -> int:
    from rmslab.inventory import run_inventory, to_text, write_json
    from rmslab.inventory.run import csv_rows
    settings = read_settings(args.anchor, args.tpd)
    inventory = run_inventory(args.paths, settings=settings, at=args.at, workers=args.workers,
                              state=args.state, dask=args.dask, progress=sys.stderr)
    try:
        if args.csv:
            def write_csv(partial: Path) -> None:
                with partial.open("w", newline="", encoding="utf-8") as handle:
                    csv.writer(handle).writerows(csv_rows(inventory.iter_records()))
            _write_atomically(Path(args.csv), write_csv)
        if args.json:
            write_json(inventory, out)
        else:
            out.write(to_text(inventory))
            if args.csv:
                out.write(f"wrote {inventory.totals()['files']} records to {args.csv}\n")
    finally:
        inventory.close()
    return EXIT_OK


def _workers(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of workers") from None
    if not 1 <= count <= 1024:
        raise argparse.ArgumentTypeError(f"{value}: give 1 to 1024 workers")
    return count


def add_inventory_parser(sub: Any) -> None:
    p = sub.add_parser(
        "inventory", help="every protected file and mail under some folders: which cluster "
                          "and key protected it, and the migration view per SLC key",
        description="Walk the folders and recognise every protected artefact by its "
                    "content, never by its name: protected files (.pfile), Office documents "
                    "protected with IRM (OOXML and binary, MS-OFFCRYPTO 2.2), protected mail "
                    "(message.rpmsg, MS-OXORMMS) alone or in an Outlook .msg, PDF protected "
                    "with Microsoft IRM (versions 1 and 2, in or out of the wrapper), and "
                    "XrML licenses and certificates. One record per file: kind, size, "
                    "content ID, owner, issuance time, template, cryptographic mode and "
                    "cipher, the issuing cluster (server, licensing URLs, SLC key) or the "
                    "offline author's CLC, and the chain's verdict. Then the migration view: "
                    "per SLC key, how many files, which templates, the oldest and newest, "
                    "and what retiring the key leaves unreadable (P-7). Files that cannot be "
                    "read are listed with the reason, never fatal. Symbolic links are not "
                    "followed. A progress bar shows on a terminal.",
        **examples(("rmslab inventory share --anchor lab/anchor.pem",
                    "every file under share, chains verified up to the lab's root"),
                   ("rmslab inventory /mnt/finance /mnt/legal --csv inventory.csv --state "
                    "run.sqlite", "two shares, one CSV row per file; interrupted and started "
                    "again, it skips what it finished"),
                   ("rmslab inventory share --tpd Contoso=contoso-slc.pem --json",
                    "name a trusted publishing domain's key in the migration view; as JSON"),
                   ("rmslab inventory share --dask tcp://scheduler:8786",
                    "the per-file work on a Dask cluster")))
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a folder to walk, or a file (repeatable)")
    p.add_argument("--json", action="store_true",
                   help="records and the migration view as JSON (docs/json.md)")
    p.add_argument("--csv", metavar="OUT", help="also write one CSV row per file")
    p.add_argument("--workers", type=_workers, default=None, metavar="N",
                   help="processes to use (default: the CPU count)")
    p.add_argument("--state", metavar="DB", help="SQLite database that makes the run "
                                                 "resumable: started again, it skips what it "
                                                 "finished and gives the same totals")
    p.add_argument("--dask", metavar="ADDRESS", help="run the per-file work on the Dask "
                                                    "scheduler at ADDRESS (tcp://host:8786) "
                                                    "instead of local processes")
    p.add_argument("--anchor", action="append", default=[], metavar="KEYFILE",
                   help="a root to verify chains against (repeatable); without one, "
                        "chains are at best \"unanchored\"")
    p.add_argument("--tpd", action="append", default=[], metavar="NAME=KEYFILE",
                   help="a trusted publishing domain's SLC key, to name it in the "
                        "migration view (repeatable)")
    p.add_argument("--at", type=parse_at, metavar="TIME",
                   help="verify chains as of this UTC time (default: now; a resumed run: "
                        "the first run's time)")
    p.set_defaults(run=_command_inventory)


def add_audit_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``rmslab audit`` over real things."""
    p.add_argument("--share", action="append", default=[], metavar="PATH",
                   help="inventory this folder and audit what it holds (repeatable)")
    p.add_argument("--store", action="append", default=[], metavar="DIR",
                   help="a client's license store folder, MSIPC or DRM (repeatable)")
    p.add_argument("--registry", metavar="FILE.reg",
                   help="the registry export of the client whose stores are given, to "
                        "check which clusters it trusts (D-6)")
    p.add_argument("--anchor", dest="audit_anchor", action="append", default=[],
                   metavar="KEYFILE", help="a root to verify the share's chains against "
                                           "(repeatable; a lab's own root is always used)")
    p.add_argument("--tpd", dest="audit_tpd", action="append", default=[],
                   metavar="NAME=KEYFILE",
                   help="a trusted publishing domain's SLC key (repeatable): keys in none "
                        "are reported (RMS-011); a lab's clusters and imported domains "
                        "always count")
    p.add_argument("--workers", type=_workers, default=None, metavar="N",
                   help="processes for the share's inventory (default: the CPU count)")


def wants_artefacts(args: argparse.Namespace) -> bool:
    """Whether ``rmslab audit`` was asked about real things (a share or stores)."""
    return bool(args.share or args.store)


def _lab_settings(deployment: Any) -> tuple[tuple[bytes, ...], tuple[tuple[str, bytes], ...]]:
    """A lab's root, and its clusters' keys and imported trusted publishing domains."""
    domains: list[tuple[str, bytes]] = []
    for cluster in deployment.clusters.values():
        if cluster.enrolled:
            domains.append((cluster.name, cluster.key.public.to_pem()))
        for name, key in sorted(cluster.trusted_domains.items()):
            domains.append((name, key.public.to_pem()))
    return (deployment.enrollment_service.anchor.to_pem(),), tuple(domains)


def command_audit_artefacts(args: argparse.Namespace, out: TextIO,
                            deployment: Any = None) -> int:
    """``rmslab audit`` over a share and client stores; with ``deployment`` (a lab read
    through its store), also the lab's own findings, its root, its clusters' keys as
    the known trusted publishing domains, and its clients' license stores."""
    from rmslab.audit.artefacts import audit_artefacts, lab_stores
    from rmslab.containers.stores import read_store
    if not wants_artefacts(args) and deployment is None:
        raise InputError("audit what? give a lab folder, or --share PATH / --store DIR")
    anchors, domains = read_settings(args.audit_anchor, args.audit_tpd)
    report = None
    moment: datetime
    if deployment is not None:
        from rmslab.audit import audit_deployment
        lab_anchors, lab_domains = _lab_settings(deployment)
        anchors, domains = lab_anchors + anchors, lab_domains + domains
        report = audit_deployment(deployment, at=args.at, picture=bool(args.html))
        moment = report.at
    else:
        moment = args.at or wall_clock()
    inventory = None
    if args.share:
        from rmslab.inventory import run_inventory
        inventory = run_inventory(args.share, settings=(anchors, domains), at=moment,
                                  workers=args.workers, progress=sys.stderr)
    registry = None
    if args.registry:
        from rmslab.discovery.registry import Registry
        registry = Registry.from_reg_files(args.registry)
    stores = [(read_store(directory), registry) for directory in args.store]
    if deployment is not None:
        stores = lab_stores(deployment) + stores
    try:
        report = audit_artefacts(records=inventory.iter_records() if inventory else None,
                                 stores=stores, domains_known=bool(domains), at=moment,
                                 subject=", ".join(args.share + args.store),
                                 picture=bool(args.html), into=report)
    finally:
        if inventory is not None:
            inventory.close()
    if args.html:
        html = report.to_html()
        _write_atomically(Path(args.html), lambda p: p.write_text(html, encoding="utf-8"))
    if args.json:
        json.dump(report.to_json(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(report.to_text() + "\n")
    return EXIT_INVALID if report.counts()["high"] else EXIT_OK
