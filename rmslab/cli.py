"""The ``rmslab`` command (SPEC A-1).

Exit status: 0 when everything checked is valid, 1 when a check failed, 2 when the
input cannot be read (hostile, malformed, truncated, missing) — never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence, TextIO

from rmslab import __version__
from rmslab.crypto.rsa import PublicKey
from rmslab.errors import InputError, KeyFormatError, RmslabError
from rmslab.report import ChainReport, examine, inspect_json
from rmslab.xrml.reader import read_file

__all__ = ["main"]

EXIT_OK, EXIT_INVALID, EXIT_INPUT = 0, 1, 2


def load_anchor(path: str) -> PublicKey:
    """An anchor key from a PEM or DER public key, or from an XML file holding a
    ``PUBLICKEY`` element (the first one is taken)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if b"PUBLICKEY" in data or b"P\x00U\x00B\x00" in data:
        from rmslab.xrml.model import read_public_key
        from rmslab.xrml.source import _PARSER, decode_text
        from lxml import etree
        text = decode_text(data)
        if "<!DOCTYPE" in text or "<!ENTITY" in text:
            raise KeyFormatError(f"{path}: DTDs are refused")
        try:
            root = etree.fromstring(f"<k>{text.replace('<?xml', '<?ignored')}</k>", _PARSER)
        except etree.XMLSyntaxError as exc:
            raise KeyFormatError(f"{path}: not well-formed XML ({exc})") from None
        element = root.find(".//PUBLICKEY")
        key = read_public_key(element, path)
        if key is None:
            raise KeyFormatError(f"{path}: no PUBLICKEY found")
        return key
    return PublicKey.from_pem(data)


def _parse_at(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a time like 2026-01-05T09:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _print_verify(report: ChainReport, out: TextIO) -> None:
    out.write(f"{report.file}\n")
    for d in report.documents:
        mark = "ok " if d.valid else "BAD"
        out.write(f"  [{mark}] #{d.index} {d.kind_name} {d.id or ''}\n")
        out.write(f"        issuer {d.issuer}; {d.digest_algorithm or '-'} / "
                  f"RSA-{d.key_bits or '?'}\n")
        digest = ("matches" if d.digest_matches else
                  "matches after whitespace recovery" if d.digest_matches_after_whitespace_recovery
                  else "does not match")
        out.write(f"        digest {digest}; signature "
                  f"{'valid' if d.signature_valid else 'INVALID' if d.signature_valid is False else '-'}"
                  f"; issuer certified by "
                  f"{'#' + str(d.issuer_index) if d.issuer_index is not None else 'the anchor' if d.anchored else '(not in file)'}\n")
        for e in d.errors:
            out.write(f"        ✗ {e.code}: {e.message}\n")
        for n in d.notes:
            out.write(f"        · {n}\n")
    out.write(f"chain {'VALID' if report.chain_valid else 'NOT VALID'}\n")


def _print_inspect(data: dict[str, Any], out: TextIO) -> None:
    out.write(f"{data['file']}\n")
    if "container" in data:
        c = data["container"]
        out.write(f"  protected file v{c['version']} ({c['extension']}), "
                  f"{c['content_bytes']} bytes of sealed content\n")
    for d in data["documents"]:
        out.write(f"#{d['index']} {d['kind_name']} ({d['kind']})\n")
        out.write(f"  id        {d['id']}\n  issued    {d['issued']}\n")
        issuer = d["issuer"]
        if issuer:
            key = issuer["key"]
            out.write(f"  issuer    {issuer['type']} '{issuer['name']}' "
                      f"[{key['bits']}-bit {key['fingerprint'][:16]}]\n" if key else
                      f"  issuer    {issuer['type']} '{issuer['name']}'\n")
        for p in d["principals"]:
            key = p["key"]
            out.write(f"  subject   {p['type']} '{p['name']}'"
                      + (f" [{key['bits']}-bit {key['fingerprint'][:16]}]" if key else "") + "\n")
        v = d["validity"]
        if v["from"] or v["until"]:
            out.write(f"  valid     {v['from']} … {v['until']}\n")
        if d["content_id"]:
            out.write(f"  content   {d['content_id']}" + (f" (owner {d['owner']})" if d["owner"] else "") + "\n")
        for r in d["rights"]:
            out.write(f"  right     {r['name']}\n")
        for p in d["distribution_points"]:
            out.write(f"  point     {p['type']}: {p['address']}\n")
        out.write(f"  signature {d['digest_algorithm'] or 'none'} (mode {d['mode']})\n")


def _command_inspect(args: argparse.Namespace, out: TextIO) -> int:
    chain = read_file(args.file)
    data = inspect_json(chain)
    if args.json:
        json.dump(data, out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        _print_inspect(data, out)
    return EXIT_OK


def _command_verify(args: argparse.Namespace, out: TextIO) -> int:
    anchor = load_anchor(args.anchor) if args.anchor else None
    chain = read_file(args.file)
    report = examine(chain, anchor=anchor, recover_whitespace=args.recover_whitespace,
                     at=args.at, required_mode=args.require_mode)
    if args.json:
        json.dump(report.to_json(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        _print_verify(report, out)
    return EXIT_OK if report.chain_valid else EXIT_INVALID


def _command_chain(args: argparse.Namespace, out: TextIO) -> int:
    from rmslab.viz import Picture, chain_graph
    anchor = load_anchor(args.anchor) if args.anchor else None
    chain = read_file(args.file)
    report = examine(chain, anchor=anchor, recover_whitespace=args.recover_whitespace)
    target = Path(args.output)
    if target.suffix.lower() not in (".svg", ".png", ".dot"):
        raise InputError(f"{target}: the picture must end in .svg, .png or .dot")
    Picture(chain_graph(chain, report, anchor)).save(target)
    out.write(f"wrote {target}\n")
    return EXIT_OK


def _command_lab_create(args: argparse.Namespace, out: TextIO) -> int:
    from rmslab.deployment import standard_deployment
    from rmslab.lab import Lab
    from rmslab.store.disk import save_deployment
    target = Path(args.directory)
    if target.exists() and any(target.iterdir()):
        raise InputError(f"{target}: exists and is not empty; choose a new directory")
    deployment = standard_deployment(Lab(seed=args.seed, mode=args.mode),
                                     offline_enrollment=args.offline_enrollment)
    saved = save_deployment(deployment, target)
    out.write(f"created a deployment in {args.directory} (seed {args.seed}, mode {args.mode}, "
              f"{'offline' if args.offline_enrollment else 'online'} enrollment)\n")
    service = deployment.enrollment_service
    out.write(f"  enrollment service  {service.url}  root key "
              f"{service.anchor.short_fingerprint} -> anchor.pem\n")
    for cluster in deployment.clusters.values():
        resources = cluster.resources()
        out.write(f"  cluster {cluster.name:<18} {cluster.role:<20} {cluster.url}\n"
                  f"      servers {', '.join(resources.servers)}; SLC until "
                  f"{resources.slc_expires:%Y-%m-%d}\n")
    for client in deployment.clients.values():
        users = ", ".join(f"{name}{' (RAC, CLC)' if a.clc_text else ' (RAC)'}"
                          for name, a in client.accounts.items())
        out.write(f"  client  {client.name:<10} activated; {users}\n")
    for user in deployment.directory.users.values():
        if "Domain Admins" in user.groups:
            out.write(f"  administrator {user}\n")
    failed = sum(len(t.failed_checks) for t in deployment.history)
    out.write(f"  {sum(len(t.steps) for t in deployment.history)} steps, "
              f"{sum(len(t.checks) for t in deployment.history)} checks, "
              f"{'all passed' if not failed else f'{failed} failed'}\n")
    out.write(f"  saved to {saved}\n" if args.verbose else "")
    return EXIT_OK


def _command_log(args: argparse.Namespace, out: TextIO) -> int:
    from rmslab.store.disk import load_deployment
    deployment = load_deployment(args.directory)
    logs = [(c.name, c.log) for c in deployment.clusters.values()]
    logs.append(("enrollment-service", deployment.enrollment_service.log))
    if args.cluster:
        logs = [(name, log) for name, log in logs if name == args.cluster]
        if not logs:
            raise InputError(f"no cluster {args.cluster!r} in {args.directory}")
    rows = [(name, entry) for name, log in logs
            for entry in log.entries(kind=args.kind, outcome=args.outcome)]
    if args.json:
        json.dump([{"log": name, **entry.__dict__} for name, entry in rows], out, indent=2)
        out.write("\n")
        return EXIT_OK
    for name, log in logs:
        entries = [e for n, e in rows if n == name]
        out.write(f"{name}: {len(entries)} request(s)\n")
        for entry in entries:
            out.write(f"  {entry}\n")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rmslab", description="Inspect and verify RMS (XrML 1.2) documents and "
                                   "protected files.")
    parser.add_argument("--version", action="version", version=f"rmslab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("inspect", help="every document in a file: kind, IDs, issuer, "
                                       "subjects, keys, validity, rights, distribution points")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="machine-readable output (see README)")
    p.set_defaults(run=_command_inspect)

    p = sub.add_parser("verify", help="digest, signature and chain link of every document")
    p.add_argument("file")
    p.add_argument("--anchor", metavar="KEYFILE",
                   help="pin the root: PEM/DER public key, or XML holding a PUBLICKEY")
    p.add_argument("--recover-whitespace", action="store_true",
                   help="accept a digest that matches once whitespace between tags is "
                        "removed (copies pretty-printed after signing); reported per document")
    p.add_argument("--at", type=_parse_at, metavar="TIME",
                   help="also check validity periods at this UTC time (e.g. 2017-01-01T00:00)")
    p.add_argument("--require-mode", type=int, choices=(1, 2), default=1,
                   help="2 flags every mode-1 (RSA-1024/SHA-1) signature as an error")
    p.add_argument("--json", action="store_true", help="machine-readable output (see README)")
    p.set_defaults(run=_command_verify)

    p = sub.add_parser("chain", help="draw the trust chain (svg, png or dot)")
    p.add_argument("file")
    p.add_argument("-o", "--output", required=True, metavar="OUT.svg|png|dot")
    p.add_argument("--anchor", metavar="KEYFILE")
    p.add_argument("--recover-whitespace", action="store_true")
    p.set_defaults(run=_command_chain)

    lab = sub.add_parser("lab", help="a deployment on disk")
    lab_sub = lab.add_subparsers(dest="lab_command", required=True)
    p = lab_sub.add_parser("create", help="build a ready deployment: enrollment service, root "
                                          "and licensing-only clusters, users alice, bob, carol "
                                          "on activated machines with RACs")
    p.add_argument("directory")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mode", type=int, choices=(1, 2), default=2,
                   help="cryptographic mode: 1 = RSA-1024/SHA-1, 2 = RSA-2048/SHA-256")
    p.add_argument("--offline-enrollment", action="store_true",
                   help="enroll the root cluster offline (request and response as files)")
    p.add_argument("--verbose", action="store_true", help="also print the absolute path")
    p.set_defaults(run=_command_lab_create)

    p = sub.add_parser("log", help="the enrollment logs of a lab on disk (E-8)")
    p.add_argument("directory")
    p.add_argument("--cluster", help="only this cluster's log (or enrollment-service)")
    p.add_argument("--kind", help="only this kind of request (e.g. slc-renewal)")
    p.add_argument("--outcome", choices=("accepted", "refused"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_command_log)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args, out))
    except InputError as exc:
        sys.stderr.write(f"rmslab: {exc}\n")
        return EXIT_INPUT
    except RmslabError as exc:
        sys.stderr.write(f"rmslab: {exc}\n")
        return EXIT_INVALID
    except RecursionError:
        sys.stderr.write("rmslab: the input is nested too deeply to be an XrML document\n")
        return EXIT_INPUT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
