"""``rmslab revoke``: a cluster signs a new revocation list (SPEC R-1, R-2, R-4)."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from rmslab.cli.common import EXIT_OK, examples, in_lab
from rmslab.errors import InputError

__all__ = ["add_revoke_parser"]


@in_lab(write=True)
def _command_revoke(args: argparse.Namespace, out: TextIO, deployment: Any) -> int:
    from rmslab.crypto.rsa import PublicKey
    from rmslab.flows.revocation import revoke
    from rmslab.revocation import Revoke
    if args.by not in deployment.clusters:
        raise InputError(f"no cluster {args.by!r}; the lab has {', '.join(deployment.clusters)}")
    cluster = deployment.clusters[args.by]
    domain = deployment.directory.domain
    entries: list[Revoke] = []
    if args.user:
        name = args.user if "@" in args.user else f"{args.user}@{domain}"
        entries.append(Revoke("user", "principal-id", name))
    if args.content:
        entries.append(Revoke("content", "content-id", args.content))
    if args.license:
        entries.append(Revoke("license", "license-id", args.license))
    if args.app:
        entries.append(Revoke("application", "principal-id", args.app))
    if args.issuer_key:
        from rmslab.cli.documents import load_anchor
        key: PublicKey = load_anchor(args.issuer_key)
        entries.append(Revoke("issuer", "issuer-key", key=key))
    if not entries:
        raise InputError("say what to revoke: --user, --content, --license, --issuer-key or --app")
    trace = revoke(cluster, entries, web=deployment.web if args.publish else None)
    out.write(f"{cluster.name} now revokes {len(cluster.revocations)} entr"
              f"{'y' if len(cluster.revocations) == 1 else 'ies'}; list signed "
              f"{deployment.lab.now():%Y-%m-%d %H:%M}"
              + (f", published at {cluster.revocation_url}" if args.publish else
                 " (not published: use --publish)") + "\n")
    del trace
    return EXIT_OK


def add_revoke_parser(sub: Any) -> None:
    p = sub.add_parser(
        "revoke", help="a cluster revokes a user, content, license, issuer key or "
                       "application (R-1, R-2)",
        description="A cluster of the lab signs a new revocation list: its earlier entries "
                    "and the new ones (R-2). A list applies when a use license requires it, "
                    "or once it is registered in an application session (R-3, R-8); content "
                    "whose licenses require no list still opens for a revoked user.",
        **examples(("rmslab revoke --lab lab --by contoso-root --user bob --publish",
                    "revoke bob and publish the list at the cluster's revocation URL"),
                   ("rmslab revoke --lab lab --by contoso-root --content "
                    "{7cf2a8e6-1321-40f8-b98f-1e033c93a4fb}",
                    "revoke one content ID (rmslab inspect shows it)"),
                   ("rmslab revoke --lab lab --by contoso-root --issuer-key stolen.pem --publish",
                    "revoke everything signed with a key")))
    p.add_argument("--lab", required=True, metavar="DIR",
                   help="the lab's folder (made by rmslab lab create)")
    p.add_argument("--by", required=True, metavar="CLUSTER",
                   help="the cluster that signs the list (e.g. contoso-root)")
    p.add_argument("--user", help="revoke a user (bob, or bob@contoso.example)")
    p.add_argument("--content", metavar="ID",
                   help="revoke content by its content ID (a GUID in braces)")
    p.add_argument("--license", metavar="ID",
                   help="revoke one license or certificate by its document ID")
    p.add_argument("--issuer-key", metavar="FILE",
                   help="revoke everything signed with this key: PEM/DER public key, or "
                        "XML holding a PUBLICKEY")
    p.add_argument("--app", metavar="NAME",
                   help="revoke an application by name (see open --application)")
    p.add_argument("--publish", action="store_true",
                   help="publish the list at the cluster's revocation URL (R-4)")
    p.set_defaults(run=_command_revoke)
