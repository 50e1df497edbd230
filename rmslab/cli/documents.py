"""``rmslab inspect``, ``verify`` and ``chain``: documents and protected files (SPEC A-1)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from rmslab.cli.common import (EXIT_OK, EXIT_STATUS_HELP, examples, parse_at,
                               verdict_status, wall_clock)
from rmslab.crypto.rsa import PublicKey
from rmslab.errors import InputError, KeyFormatError
from rmslab.report import examine, inspect_json
from rmslab.xrml.reader import read_file

__all__ = ["add_document_parsers", "load_anchor", "REVOCATION_LIST_NOTE"]


def _named(principal: dict[str, Any]) -> str:
    """A principal as the text report names it: its NAME, or — an SLC's server, which has
    none unless it enrolled itself (MS-RMPR 2.2.9.3.3) — its ID, said so."""
    if principal.get("name"):
        return f"'{principal['name']}'"
    return f"{principal.get('id') or '?'} (no NAME)"


def load_anchor(path: str) -> PublicKey:
    """An anchor key from a PEM or DER public key, or from an XML file holding a
    ``PUBLICKEY`` element (the first one is taken)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if b"PUBLICKEY" in data or b"P\x00U\x00B\x00" in data:
        from rmslab.xrml.model import read_public_key
        from rmslab.xrml.source import decode_text, parse_fragment
        try:
            root = parse_fragment(decode_text(data))
        except InputError as exc:
            raise KeyFormatError(f"{path}: {exc}") from None
        element = root.find(".//PUBLICKEY")
        key = read_public_key(element, path)
        if key is None:
            raise KeyFormatError(f"{path}: no PUBLICKEY found")
        return key
    return PublicKey.from_pem(data)


#: What ``inspect`` says of a revocation list: its body is rmslab's own reading.
REVOCATION_LIST_NOTE = ("the body of this list is rmslab's reading of XrML 1.2 section 3.17, "
                        "not checked against a real list: MS-RMPR gives only the pointer to "
                        "it (REFRESH, 2.2.9.7.9 and 2.2.9.9.10)")


def _print_inspect(data: dict[str, Any], out: TextIO) -> None:
    out.write(f"{data['file']}\n")
    if "container" in data:
        c = data["container"]
        out.write(f"  protected file v{c['version']} ({c['extension']}), "
                  f"{c['content_bytes']} bytes of sealed content\n")
    if "artefact" in data:
        a, p = data["artefact"], data["artefact"]["payload"]
        name = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in p["name"])
        out.write(f"  {a['kind_name']}: {p['sealed_size']} sealed bytes in '{name}' "
                  f"({p['cipher']})\n")
    for d in data["documents"]:
        out.write(f"#{d['index']} {d['kind_name']} ({d['kind']})\n")
        out.write(f"  id        {d['id']}\n  issued    {d['issued']}\n")
        issuer = d["issuer"]
        if issuer:
            key = issuer["key"]
            out.write(f"  issuer    {issuer['type']} {_named(issuer)} "
                      f"[{key['bits']}-bit {key['fingerprint'][:16]}]\n" if key else
                      f"  issuer    {issuer['type']} {_named(issuer)}\n")
        for p in d["principals"]:
            key = p["key"]
            out.write(f"  subject   {p['type']} {_named(p)}"
                      + (f" [{key['bits']}-bit {key['fingerprint'][:16]}]" if key else "") + "\n")
        v = d["validity"]
        if v["from"] or v["until"]:
            out.write(f"  valid     {v['from']} … {v['until']}\n")
        if d["content_id"]:
            out.write(f"  content   {d['content_id']}" + (f" (owner {d['owner']})" if d["owner"] else "") + "\n")
        for r in d["rights"]:
            out.write(f"  right     {r['name']}\n")
        decrypted = d.get("decrypted_rights")
        if decrypted:
            out.write(f"  rights    (encrypted; opened with the key of {decrypted['opened_by']})\n")
            for grant in decrypted["grants"]:
                out.write(f"            {grant['user']}: {', '.join(grant['rights'])}"
                          + (f" until {grant['until']}" if grant["until"] else "") + "\n")
        for p in d["distribution_points"]:
            out.write(f"  point     {p['type']}: {p['address']}\n")
        out.write(f"  signature {d['digest_algorithm'] or 'none'} (mode {d['mode']})\n")
        if d["kind"] == "Revocation-List":
            out.write(f"  note      {REVOCATION_LIST_NOTE}\n")


def _decrypted_rights(chain: Any, lab_dir: str, data: dict[str, Any]) -> None:
    """With the lab's server keys, read the rights a publishing license carries encrypted."""
    from rmslab.errors import RefusedError
    from rmslab.flows.licensing import read_rights
    from rmslab.store.disk import load_deployment
    deployment = load_deployment(lab_dir)
    for document, entry in zip(chain, data["documents"]):
        if document.kind != "Microsoft Rights Label":
            continue
        for cluster in deployment.clusters.values():
            try:
                _, policy, source = read_rights(cluster, document)
            except RefusedError:
                continue
            entry["decrypted_rights"] = {
                "opened_by": source,
                "grants": [{"user": g.user, "rights": list(g.rights),
                            "until": g.not_after.strftime("%Y-%m-%dT%H:%M") if g.not_after else None}
                           for g in policy.grants],
                "caching_days": policy.caching_days}
            break


def _command_inspect_bytes(args: argparse.Namespace, out: TextIO) -> int:
    """The protected file byte by byte (rmslab.byteview); with --lab, the lab's cluster
    keys open what was sealed to them and the content is shown decrypted."""
    from rmslab.byteview import protected_file_views
    from rmslab.xrml.pfile import is_protected_file
    path = Path(args.file)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if size > _BYTES_LIMIT:
        raise InputError(f"{path.name}: {size} bytes; --bytes reads protected files of at most "
                         f"{_BYTES_LIMIT // (1024 * 1024)} MB")
    data = path.read_bytes()
    if not is_protected_file(data):
        raise InputError(f"{path.name}: not a protected file (it does not start with "
                         "'.pfile'); --bytes explains protected files — rmslab inspect "
                         "explains XrML")
    keys = []
    if args.lab:
        from rmslab.store.disk import load_deployment
        keys = [c.key for c in load_deployment(args.lab).clusters.values()]
    views = protected_file_views(data, keys=keys)
    out.write(f"{args.file}\n")
    out.write("\n\n".join(view.to_text() for view in views) + "\n")
    return EXIT_OK


_BYTES_LIMIT = 64 * 1024 * 1024


def _command_inspect(args: argparse.Namespace, out: TextIO) -> int:
    if args.bytes:
        if args.json:
            raise InputError("--bytes is a table for people; it has no JSON form (use "
                             "rmslab.byteview from Python)")
        return _command_inspect_bytes(args, out)
    chain = read_file(args.file)
    data = inspect_json(chain)
    if chain.artefact is not None:
        data["artefact"] = chain.artefact.to_json()
    if args.lab:
        _decrypted_rights(chain, args.lab, data)
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
                     at=args.at or wall_clock(), required_mode=args.require_mode)
    if args.json:
        json.dump(report.to_json(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(report.to_text())
    return verdict_status(report.verdict)


def _command_chain(args: argparse.Namespace, out: TextIO) -> int:
    from rmslab.viz import Picture, chain_graph
    target = Path(args.output)
    if target.suffix.lower() not in (".svg", ".png", ".dot"):
        raise InputError(f"{target}: the picture must end in .svg, .png or .dot")
    anchor = load_anchor(args.anchor) if args.anchor else None
    chain = read_file(args.file)
    report = examine(chain, anchor=anchor, recover_whitespace=args.recover_whitespace,
                     at=args.at or wall_clock(), required_mode=args.require_mode)
    Picture(chain_graph(chain, report, anchor)).save(target)
    out.write(f"wrote {target}: chain {report.verdict.headline}\n")
    return EXIT_OK


def _with_exit_statuses(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A command's examples followed by the exit statuses of ``verify``."""
    return {**kwargs, "epilog": f"{kwargs['epilog']}\n\n{EXIT_STATUS_HELP}"}


def _add_check_options(p: argparse.ArgumentParser) -> None:
    """The options ``verify`` and ``chain`` share: what is checked, and when."""
    p.add_argument("--anchor", metavar="KEYFILE",
                   help="pin the root: PEM/DER public key, or XML holding a PUBLICKEY; "
                        "without it no chain is valid, only consistent but not anchored")
    p.add_argument("--recover-whitespace", action="store_true",
                   help="accept a digest that matches once whitespace between tags is "
                        "removed (copies pretty-printed after signing); reported per document")
    p.add_argument("--at", type=parse_at, metavar="TIME",
                   help="check validity periods at this UTC time (e.g. 2017-01-01T00:00) "
                        "instead of now")
    p.add_argument("--require-mode", type=int, choices=(1, 2), default=1,
                   help="2 flags every mode-1 (RSA-1024/SHA-1) signature as an error")


def add_document_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "inspect", help="every document in a file: kind, IDs, issuer, subjects, keys, "
                        "validity, rights, distribution points",
        description="Show every document an XrML file or a protected file holds: its kind, "
                    "IDs, issuer, subjects and their keys, validity, rights and distribution "
                    "points (A-1). Nothing is verified: see rmslab verify.",
        **examples(("rmslab inspect minutes.ptxt", "the license chain a protected file carries"),
                   ("rmslab inspect minutes.ptxt --lab lab",
                    "also the rights its publishing license carries encrypted, opened with "
                    "the lab's server key"),
                   ("rmslab inspect slc.xml --json", "the same facts as JSON (docs/json.md)")))
    p.add_argument("file", help="XrML text (UTF-8 or UTF-16; one document or a chain, leaf "
                                "first) or a protected file (.pfile, .ptxt, …)")
    p.add_argument("--json", action="store_true",
                   help="machine-readable output (schema in docs/json.md)")
    p.add_argument("--lab", metavar="DIR",
                   help="a lab whose server keys may open the encrypted rights (with "
                        "--bytes: the sealed content key, and the content)")
    p.add_argument("--bytes", action="store_true",
                   help="a protected file byte by byte: the container's fields, the enabling "
                        "bits, the encrypted content — offset, bytes, meaning, section")
    p.set_defaults(run=_command_inspect)

    p = sub.add_parser(
        "verify", help="digest, signature, chain link and validity period of every "
                       "document, and the chain's verdict",
        description="Check every document of FILE: its digest, its signature, the link "
                    "from its issuer's key to the certificate (or pinned root) that "
                    "vouches for it, its validity period at the time checked (now unless "
                    "--at) and its cryptographic mode. The verdict is one of: valid and "
                    "anchored, consistent but not anchored (no --anchor, or the chain "
                    "does not end there), expired, not yet valid, or not valid.",
        **_with_exit_statuses(examples(
            ("rmslab verify minutes.ptxt --anchor lab/anchor.pem",
             "check a protected file's license chain up to the lab's root key, now"),
            ("rmslab verify copy.xml --anchor root.pem --recover-whitespace",
             "accept (and report) a copy pretty-printed after signing"),
            ("rmslab verify chain.xml --anchor root.pem --at 2017-01-01T00:00 "
             "--require-mode 2 --json",
             "check validity at another time and the cryptographic mode; JSON "
             "(docs/json.md)"))))
    p.add_argument("file", help="XrML text (one document or a chain, leaf first) or a "
                                "protected file")
    _add_check_options(p)
    p.add_argument("--json", action="store_true",
                   help="machine-readable output (schema 2, in docs/json.md)")
    p.set_defaults(run=_command_verify)

    p = sub.add_parser(
        "chain", help="draw the trust chain (svg, png or dot), coloured by the verdict",
        description="Draw one box per document and an arrow to the certificate that "
                    "certifies its issuer's key. Green: valid and anchored; amber, dashed: "
                    "consistent but not anchored; purple: expired or not yet valid at the "
                    "time checked; red: a check failed.",
        **examples(("rmslab chain minutes.ptxt -o chain.svg --anchor lab/anchor.pem",
                    "the license chain of a protected file, pinned to the lab's root key"),
                   ("rmslab chain chain.xml -o chain.dot",
                    "the graph as graphviz source, to lay out yourself")))
    p.add_argument("file", help="XrML text or a protected file")
    p.add_argument("-o", "--output", required=True, metavar="OUT.svg|png|dot",
                   help="the picture to write; its suffix chooses the format")
    _add_check_options(p)
    p.set_defaults(run=_command_chain)
