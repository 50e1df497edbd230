"""``rmslab revoke``: a cluster signs a new revocation list (SPEC R-1, R-2, R-4)."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from rmslab.cli.common import EXIT_OK, in_lab
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
    p = sub.add_parser("revoke", help="a cluster revokes a user, content, license, issuer key "
                                      "or application (R-1, R-2)")
    p.add_argument("--lab", required=True, metavar="DIR")
    p.add_argument("--by", required=True, metavar="CLUSTER")
    p.add_argument("--user")
    p.add_argument("--content", metavar="ID")
    p.add_argument("--license", metavar="ID")
    p.add_argument("--issuer-key", metavar="FILE")
    p.add_argument("--app", metavar="NAME")
    p.add_argument("--publish", action="store_true",
                   help="publish the list at the cluster's revocation URL (R-4)")
    p.set_defaults(run=_command_revoke)
