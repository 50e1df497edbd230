"""``rmslab protect``, ``open`` and ``session``: a user of a lab protects and opens files
(SPEC P-1…P-8, L-1, B-1, B-2, R-5)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from rmslab.cli.common import EXIT_OK, EXIT_REFUSED, examples, in_lab, parse_at
from rmslab.errors import InputError

__all__ = ["add_content_parsers"]


def _parse_grant(value: str) -> tuple[str, tuple[str, ...]]:
    user, _, rights = value.partition(":")
    if not user or not rights:
        raise argparse.ArgumentTypeError(f"{value!r}: write USER:RIGHT[,RIGHT…]")
    return user, tuple(r for r in rights.split(",") if r)


def _session_name(value: str) -> str:
    """A session name kept across commands: it names a file of the lab (item 4)."""
    from rmslab.errors import UnsafeNameError
    from rmslab.store.names import check_name
    try:
        return check_name("session", value)
    except UnsafeNameError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cluster(deployment: Any, name: str | None) -> Any:
    """The named cluster of the lab (the root cluster when no name is given)."""
    if not name:
        return deployment.root_cluster
    if name not in deployment.clusters:
        raise InputError(f"no cluster {name!r}; the lab has {', '.join(deployment.clusters)}")
    return deployment.clusters[name]


def _discovered_cluster(deployment: Any, client: Any, out: TextIO) -> Any:
    """Before protecting, the client finds its server by service discovery (D-7): the
    registry, then the SCP, then the cloud. The lab's clusters are on-premises."""
    from rmslab.discovery.discover import discover
    from rmslab.discovery.machine import Machine
    found = discover(Machine(client.name, client.registry), purpose="publish", cloud=None)
    if found.error is not None or not found.licensing_url:
        raise InputError(f"{client.name} finds no server to publish with: {found.error}")
    for cluster in deployment.clusters.values():
        if found.licensing_url.startswith(cluster.url):
            out.write(f"{client.name} found {cluster.name} by service discovery "
                      f"({found.source}: {found.licensing_url})\n")
            return cluster
    raise InputError(f"{client.name} discovered {found.licensing_url} ({found.source}), which "
                     "is not a cluster of this lab")


def _session_user(deployment: Any, name: str) -> tuple[Any, Any]:
    try:
        user = deployment.user(name.split("@")[0])
    except KeyError:
        raise InputError(f"no user {name!r} in the lab; it has "
                         f"{', '.join(sorted(deployment.directory.users))}") from None
    clients = [c for c in deployment.clients.values() if user.name in c.accounts]
    if not clients:
        raise InputError(f"{user} has no rights account certificate on any machine of the lab")
    return user, clients[0]


@in_lab(write=True)
def _command_protect(args: argparse.Namespace, out: TextIO, deployment: Any) -> int:
    from rmslab.flows.publishing import policy_from_template, publish_offline, publish_online
    from rmslab.rights import Grant, RightsPolicy
    user, client = _session_user(deployment, args.user)
    if args.template:
        templates = client.account(user.name).templates
        if args.template not in templates:
            raise InputError(f"no template {args.template!r} in {user.email}'s template archive "
                             f"on {client.name}; it has {', '.join(sorted(templates)) or 'none'}")
        policy = policy_from_template(templates[args.template])
    else:
        domain = deployment.directory.domain
        grants = tuple(Grant(u if "@" in u or u == "ANYONE" else f"{u}@{domain}", rights,
                             not_after=args.until) for u, rights in args.grant)
        if not grants:
            raise InputError("state the rights: --grant USER:RIGHT[,RIGHT…] or --template NAME")
        revocation = None
        if args.require_revocation:
            from rmslab.flows.revocation import requirement_for
            issuer = (deployment.root_cluster if args.offline
                      else _cluster(deployment, args.cluster))
            revocation = requirement_for(issuer.revocation_url, issuer.key.public,
                                         interval_days=args.revocation_interval)
        policy = RightsPolicy(grants, args.until, revocation=revocation)
    source = Path(args.input)
    target = Path(args.output)
    partial = target.with_name(target.name + ".part")
    try:
        with source.open("rb") as reader, partial.open("wb") as writer:
            size = source.stat().st_size
            if args.offline:
                result = publish_offline(client, user, policy, reader, writer,
                                         extension=source.suffix or ".bin", original_size=size)
            else:
                cluster = (_cluster(deployment, args.cluster) if args.cluster
                           else _discovered_cluster(deployment, client, out))
                result = publish_online(cluster, client, user, policy, reader,
                                        writer, extension=source.suffix or ".bin",
                                        original_size=size)
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InputError(f"{exc.filename}: {exc.strerror}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    out.write(f"protected {source.name} -> {target.name} "
              f"({'offline, signed with the CLC' if args.offline else 'online, signed by the server'}); "
              f"content {result.content_id}\n")
    for line in policy.describe():
        out.write(f"  {line}\n")
    return EXIT_OK


@in_lab(write=True)
def _command_open(args: argparse.Namespace, out: TextIO, deployment: Any) -> int:
    from rmslab.errors import RefusedError
    from rmslab.flows.binding import open_protected
    from rmslab.flows.licensing import acquire_use_license
    from rmslab.xrml.pfile import read_container_header
    from rmslab.xrml.source import decode_text
    user, client = _session_user(deployment, args.user)
    anchor = deployment.enrollment_service.anchor
    source = Path(args.input)
    try:
        with source.open("rb") as reader:
            header = read_container_header(reader)
    except OSError as exc:
        raise InputError(f"{source}: cannot be read ({exc.strerror})") from None
    chain_text = decode_text(header.license_bytes)
    from rmslab.xrml.reader import parse
    pl = parse(chain_text)[0]
    from rmslab.store.names import check_name
    check_name("content-id", pl.content_id)  # it names the use license's file
    account = client.account(user.name)
    try:
        if (pl.content_id or "") not in account.licenses:
            url = pl.license_acquisition_urls[0] if pl.license_acquisition_urls else ""
            cluster = next((c for c in deployment.clusters.values()
                            if url.startswith(c.url)), deployment.root_cluster)
            acquire_use_license(cluster, client, user, chain_text, anchor=anchor)
        session = _load_session(args, deployment, client, user)
        sink_path = Path(args.output) if args.output else None
        partial = sink_path.with_name(sink_path.name + ".part") if sink_path else None
        import io
        buffer = io.BytesIO()
        with source.open("rb") as reader:
            if partial is not None:
                with partial.open("wb") as writer:
                    binding = open_protected(session, reader, writer, args.right,
                                             anchor=anchor)
                assert sink_path is not None
                partial.replace(sink_path)
            else:
                binding = open_protected(session, reader, buffer, args.right,
                                         anchor=anchor)
    except RefusedError as exc:
        if args.output:
            Path(args.output + ".part").unlink(missing_ok=True)
        if "session" in locals():
            _keep_session(args, session)
        sys.stderr.write(f"rmslab: refused: {exc}\n")
        return EXIT_REFUSED
    _keep_session(args, session)
    if args.output:
        out.write(f"opened for {binding.right} as {user.email}: {len(binding.checks)} checks "
                  f"passed; wrote {args.output}\n")
    else:
        sys.stdout.flush()
        out.write(buffer.getvalue().decode("utf-8", errors="replace"))
    return EXIT_OK


def _load_session(args: argparse.Namespace, deployment: Any, client: Any, user: Any) -> Any:
    """The application session: a new one, or the named one kept across commands (R-5)."""
    from rmslab.flows.binding import AppSession
    from rmslab.flows.revocation import register_list
    session = AppSession(client, user, args.application, web=deployment.web)
    kept = client.open_sessions.get(args.session) if args.session else None
    if kept is not None:
        session.application = kept[1]
        for url, text in kept[2].items():
            register_list(session, text, source=url)
    return session


def _keep_session(args: argparse.Namespace, session: Any) -> None:
    if args.session:
        session.client.open_sessions[args.session] = (
            session.user.name, session.application,
            {url: index.document.text for url, index in session.registered_lists.items()})


@in_lab(write=True)
def _command_session_close(args: argparse.Namespace, out: TextIO, deployment: Any) -> int:
    _, client = _session_user(deployment, args.user)
    kept = client.open_sessions.pop(args.session, None)
    if kept is None:
        raise InputError(f"no open session {args.session!r} on {client.name}")
    out.write(f"closed {args.session} on {client.name}: {len(kept[2])} registered revocation "
              f"list(s) cleared (R-5)\n")
    return EXIT_OK


def add_content_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "protect", help="protect a file as a user of a lab (P-1…P-8)",
        description="Protect a file as a user of a lab: encrypt it with a new content key and "
                    "attach a publishing license, signed by a server (online, the default) or "
                    "with the user's client licensor certificate (--offline). The rights come "
                    "from --grant or from a rights policy template (P-1…P-8).",
        **examples(("rmslab protect minutes.txt minutes.ptxt --lab lab --as alice "
                    "--grant bob:VIEW",
                    "online: the server the client discovers signs; bob may view"),
                   ("rmslab protect minutes.txt minutes-offline.ptxt --lab lab --as alice "
                    "--offline --grant bob:VIEW,PRINT --until 2026-03-01T00:00",
                    "offline, with alice's CLC; bob may view and print until March"),
                   ("rmslab protect notice.txt notice.ptxt --lab lab --as alice "
                    "--template Contoso-ViewOnly",
                    "the rights of a template the server issued"),
                   ("rmslab protect plan.txt plan.ptxt --lab lab --as alice --grant bob:VIEW "
                    "--require-revocation --revocation-interval 1",
                    "use licenses require the cluster's revocation list, at most a day "
                    "old")))
    p.add_argument("input", help="the file to protect")
    p.add_argument("output", help="the protected file to write (e.g. minutes.ptxt)")
    p.add_argument("--lab", required=True, metavar="DIR",
                   help="the lab's folder (made by rmslab lab create)")
    p.add_argument("--as", dest="user", required=True, metavar="USER",
                   help="the author: a user of the lab (alice, or alice@contoso.example)")
    p.add_argument("--offline", action="store_true",
                   help="publish offline with the user's CLC (default: online, by the server)")
    p.add_argument("--grant", action="append", type=_parse_grant, default=[],
                   metavar="USER:RIGHT[,RIGHT…]",
                   help="give a user rights (VIEW, EDIT, PRINT, EXTRACT, EXPORT, OWNER, …); "
                        "repeat for more users; ANYONE is every user")
    p.add_argument("--until", type=parse_at, metavar="TIME", help="the content expires then")
    p.add_argument("--template", metavar="NAME",
                   help="use a rights policy template's rights (by name, from the user's "
                        "template archive) instead of --grant")
    p.add_argument("--cluster", metavar="NAME",
                   help="publish online through this cluster (default: the one service "
                        "discovery finds from the client's registry, D-7)")
    p.add_argument("--require-revocation", action="store_true",
                   help="licenses require the issuing cluster's revocation list (R-6)")
    p.add_argument("--revocation-interval", type=int, default=7, metavar="DAYS",
                   help="how old the required list may be (default 7 days)")
    p.set_defaults(run=_command_protect)

    p = sub.add_parser(
        "open", help="open a protected file as a user of a lab (L-1, B-1, B-2)",
        description="Open a protected file as a user of a lab: acquire a use license from the "
                    "server when the user's store has none (L-1), bind for one right (B-1, "
                    "B-2) and print or write the content. A refusal names its rule; exit "
                    "status 3.",
        **examples(("rmslab open minutes.ptxt --lab lab --as bob", "bob views the content"),
                   ("rmslab open minutes.ptxt --lab lab --as bob --right PRINT",
                    "bob asks to print: refused, the license grants VIEW only"),
                   ("rmslab open minutes.ptxt --lab lab --as bob -o minutes.txt",
                    "write the content to a file"),
                   ("rmslab open plan.ptxt --lab lab --as bob --session word",
                    "keep the application session word (its revocation lists) across "
                    "commands")))
    p.add_argument("input", help="the protected file to open")
    p.add_argument("--lab", required=True, metavar="DIR",
                   help="the lab's folder (made by rmslab lab create)")
    p.add_argument("--as", dest="user", required=True, metavar="USER",
                   help="the reader: a user of the lab with a rights account certificate")
    p.add_argument("--right", default="VIEW",
                   help="the one right to bind for (default VIEW; e.g. EDIT, PRINT)")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="write the content to this file (default: print it)")
    p.add_argument("--session", metavar="NAME", type=_session_name,
                   help="an application session kept across commands: revocation lists "
                        "registered in it stay registered until `rmslab session close` (R-5)")
    p.add_argument("--application", default="rmslab open", metavar="NAME",
                   help="the application's name (an entity revocation lists may name)")
    p.set_defaults(run=_command_open)

    session = sub.add_parser(
        "session", help="application sessions kept across commands",
        description="Application sessions that rmslab open --session keeps across commands: "
                    "revocation lists registered in one stay registered until it closes (R-5).",
        **examples(("rmslab session close word --lab lab --as bob",
                    "close bob's session word")))
    session_sub = session.add_subparsers(dest="session_command", required=True,
                                         metavar="COMMAND")
    p = session_sub.add_parser(
        "close", help="close an application: its registrations are cleared (R-5)",
        description="Close an application session: the revocation lists registered in it "
                    "are cleared (R-5).",
        **examples(("rmslab session close word --lab lab --as bob",
                    "close bob's session word on his computer")))
    p.add_argument("session", metavar="NAME", type=_session_name,
                   help="the session named by open --session")
    p.add_argument("--lab", required=True, metavar="DIR",
                   help="the lab's folder (made by rmslab lab create)")
    p.add_argument("--as", dest="user", required=True, metavar="USER",
                   help="the user whose computer runs the session")
    p.set_defaults(run=_command_session_close)
