"""``rmslab serve`` and ``rmslab probe``: a lab's servers on the wire, and what an
auditor learns from a server by asking it (MS-RMPR 3.1.4.2–3.1.4.6, 3.3–3.7; SPEC A-2,
E-8)."""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
from typing import TextIO

from rmslab.cli.common import EXIT_OK, examples, parse_at, wall_clock
from rmslab.errors import InputError

__all__ = ["add_serve_parsers"]


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _command_serve(args: argparse.Namespace, out: TextIO) -> int:
    from rmslab.service.serve import LabServer
    from rmslab.store.labdb import LabStore
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port {args.port}: give a TCP port, 0 to 65535 (0: a free one)")
    if not 1 <= args.threads <= 256:
        raise InputError(f"--threads {args.threads}: give 1 to 256 worker threads")
    if not 1 <= args.channel_timeout <= 3600:
        raise InputError(f"--channel-timeout {args.channel_timeout:g}: give 1 to 3600 seconds")
    store = LabStore(args.lab)
    try:
        server = LabServer(store, host=args.host, port=args.port, threads=args.threads,
                           channel_timeout=args.channel_timeout)
    except OSError as exc:
        raise InputError(f"cannot listen on {args.host}:{args.port} "
                         f"({exc.strerror or exc})") from None
    snapshot = server.snapshot
    out.write(f"serving the lab in {args.lab} at {server.origin} (plain HTTP; every request "
              f"is logged in its cluster's logging database)\n")
    if not _loopback(server.host):
        out.write(f"  WARNING: {server.host} is not a loopback address: the lab's passwords "
                  "travel in clear (HTTP Basic without TLS)\n")
    out.write("  a request names the lab host it is for in the Host header, or as the first "
              f"segment of the path ({server.origin}/HOST/...)\n")
    current = None
    for endpoint in server.endpoints():
        base = endpoint.local_url[:-len(endpoint.path)]
        if endpoint.owner != current:
            current = endpoint.owner
            cluster = snapshot.clusters.get(endpoint.owner)
            if cluster is not None:
                out.write(f"cluster {cluster.name} ({cluster.role}): {cluster.url}\n")
            else:
                out.write(f"{endpoint.owner}: https://{snapshot.enrollment_service.host}\n")
            out.write(f"  here {base}\n")
        out.write(f"    {endpoint.path:<38} {', '.join(endpoint.operations)}\n")
    published = sorted(snapshot.web.published())
    if published:
        out.write("published documents (GET)\n")
        for url in published:
            out.write(f"  {url}\n")
    out.write(f"sign in as the lab's users (HTTP Basic): rmslab lab users {args.lab}\n"
              f"every request: rmslab log {args.lab} --requests; stop with Ctrl-C\n")
    out.flush()
    server.run()
    out.write(f"stopped after answering {server.answered} service request(s)\n")
    return EXIT_OK


def _command_probe(args: argparse.Namespace, out: TextIO) -> int:
    from rmslab.cli.documents import load_anchor
    from rmslab.service.probe import probe
    if (args.user is None) != (args.password is None):
        raise InputError("--user and --password go together")
    if not 0 < args.timeout <= 600:
        raise InputError(f"--timeout {args.timeout:g}: give 0 to 600 seconds")
    anchor = load_anchor(args.anchor) if args.anchor else None
    report = probe(args.url, at=args.at or wall_clock(), anchor=anchor, user=args.user,
                   password=args.password, timeout=args.timeout)
    if args.json:
        json.dump(report.to_json(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(report.to_text() + "\n")
    if report.error is not None:
        sys.stderr.write(f"rmslab: {report.error}\n")
    return report.exit_status()


def add_serve_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "serve", help="run a lab's clusters and enrollment service (SOAP over HTTP) until "
                      "interrupted, logging every request",
        description="Serve the lab in DIR: every cluster's SOAP services at the URLs of "
                    "MS-RMPR 3.1.4.2 under its base URL, and the enrollment service, on "
                    "waitress, until Ctrl-C or SIGTERM. The lab's host names are made up: a "
                    "client names the host in the Host header or as the first segment of "
                    "the path. Users sign in with HTTP Basic and the passwords of "
                    "`rmslab lab users DIR`. Requests that may change the lab are "
                    "transactions on it, so other rmslab commands keep working on the same "
                    "lab meanwhile. Every request to a service is logged in its cluster's "
                    "logging database before it is answered (rmslab log DIR --requests).",
        **examples(("rmslab serve --lab lab --port 8080",
                    "serve the lab on http://127.0.0.1:8080 and list every service URL"),
                   ("rmslab serve --lab lab --port 0",
                    "on a free port (printed on the first line)"),
                   ("rmslab serve --lab lab --threads 16 --channel-timeout 10",
                    "more workers; drop connections idle or stalled for 10 s")))
    p.add_argument("--lab", required=True, metavar="DIR",
                   help="the lab's folder (made by rmslab lab create)")
    p.add_argument("--port", type=int, default=8080, metavar="N",
                   help="the TCP port to listen on (default 8080; 0: a free port)")
    p.add_argument("--host", default="127.0.0.1", metavar="ADDRESS",
                   help="the address to listen on (default 127.0.0.1; the lab speaks plain "
                        "HTTP, so keep it on loopback)")
    p.add_argument("--threads", type=int, default=8, metavar="N",
                   help="worker threads answering requests (default 8)")
    p.add_argument("--channel-timeout", type=float, default=30.0, metavar="SECONDS",
                   help="close a connection idle, or stalled in the middle of a request, "
                        "this long (default 30)")
    p.set_defaults(run=_command_serve)

    p = sub.add_parser(
        "probe", help="what an auditor learns from an RMS server by asking it: server info, "
                      "the SLC chain verified, service locations, templates, with findings",
        description="Ask the RMS cluster at URL (its base URL, e.g. "
                    "https://rms.contoso.example/_wmcs, or the same through a lab server: "
                    "http://127.0.0.1:8080/rms.contoso.example/_wmcs) what any client may "
                    "ask: GetServerInfo, GetLicensorCertificate (the SLC chain, verified and "
                    "shown as rmslab verify shows it, with its verdict), "
                    "FindServiceLocationsForUser (with --user and --password) and "
                    "AcquireTemplateInformation. Findings carry the audit IDs (RMS-…, "
                    "docs/rules.md). Exit status: 0 nothing high, 1 a high finding, 2 the "
                    "URL or an answer cannot be read, 3 the server refused a request, 4 no "
                    "server answers at the URL.",
        **examples(("rmslab probe http://127.0.0.1:8080/rms.contoso.example/_wmcs "
                    "--anchor lab/anchor.pem",
                    "probe the lab's root cluster served by rmslab serve"),
                   ("rmslab probe http://127.0.0.1:8080/rms.contoso.example/_wmcs "
                    "--user alice --password PASSWORD --json",
                    "also the service locations alice is given, as JSON")))
    p.add_argument("url", metavar="URL", help="the cluster's base URL (…/_wmcs)")
    p.add_argument("--anchor", metavar="KEYFILE",
                   help="pin the root: PEM/DER public key, or XML holding a PUBLICKEY; the "
                        "SLC chain must end at it (without it the chain is at best "
                        "unanchored)")
    p.add_argument("--at", type=parse_at, metavar="TIME",
                   help="check the SLC chain at this UTC time (e.g. 2026-01-05T09:00) "
                        "instead of now — a lab's servers live at the lab's clock")
    p.add_argument("--user", metavar="USER",
                   help="sign in as this user (alice, CONTOSO\\alice or alice@…) to ask "
                        "FindServiceLocationsForUser")
    p.add_argument("--password", metavar="PASSWORD",
                   help="the user's password (rmslab lab users DIR)")
    p.add_argument("--timeout", type=float, default=15.0, metavar="SECONDS",
                   help="how long to wait for each answer (default 15)")
    p.add_argument("--json", action="store_true",
                   help="machine-readable output (schema in docs/json.md)")
    p.set_defaults(run=_command_probe)
