"""``rmslab lab``, ``log`` and ``audit``: a deployment on disk and what it recorded (SPEC
E-8, A-2)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from rmslab.cli.common import (EXIT_INPUT, EXIT_OK, EXIT_REFUSED, examples, in_lab, parse_at,
                               parse_grant, warn_if_past)
from rmslab.errors import InputError, RefusedError

__all__ = ["add_lab_parsers"]


def _command_lab_create(args: argparse.Namespace, out: TextIO) -> int:
    from rmslab.deployment import standard_deployment
    from rmslab.lab import Lab
    from rmslab.store.labdb import LabStore
    target = Path(args.directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(f"{target}: exists and is not empty; choose a new directory")
    if args.offline_enrollment and args.enrollment_service:
        raise InputError("--enrollment-service and --offline-enrollment exclude each other: "
                         "choose online or offline enrollment with the enrollment service")
    self_enrollment = not (args.enrollment_service or args.offline_enrollment)
    deployment = standard_deployment(Lab(seed=args.seed, mode=args.mode),
                                     offline_enrollment=args.offline_enrollment,
                                     self_enrollment=self_enrollment)
    saved = LabStore.create(deployment, target).root.resolve()
    how = ("self-enrollment" if self_enrollment else
           "offline enrollment with the enrollment service" if args.offline_enrollment
           else "online enrollment with the enrollment service")
    out.write(f"created a deployment in {args.directory} (seed {args.seed}, mode {args.mode}, "
              f"{how})\n")
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


@in_lab(write=False, attr="directory")
def _command_lab_users(args: argparse.Namespace, out: TextIO, deployment: Any) -> int:
    """Each user of the lab's domain: the account (``DOMAIN\\user``), SID, e-mail, groups,
    and the password the lab gives them to sign in to its servers (MS-RMPR 3.1.4.3)."""
    from rmslab.service.auth import password_for
    users = [{"user": u.name, "account": u.account, "sid": u.sid, "email": u.email,
              "groups": sorted(u.groups), "password": password_for(deployment.lab, u)}
             for u in deployment.directory.users.values()]
    if args.json:
        json.dump({"domain": deployment.directory.domain, "domain_sid": deployment.directory.sid,
                   "users": users}, out, indent=2)
        out.write("\n")
        return EXIT_OK
    out.write(f"domain {deployment.directory.domain} ({deployment.directory.sid})\n")
    for user in users:
        out.write(f"  {user['account']:<18} {user['password']}  {user['sid']}  "
                  f"{', '.join(user['groups'])}\n")
    return EXIT_OK


@in_lab(write=True, attr="directory")
def _command_lab_advance(args: argparse.Namespace, out: TextIO, deployment: Any) -> int:
    amount = {"days": args.days, "hours": args.hours, "minutes": args.minutes}
    unit, value = next((u, v) for u, v in amount.items() if v is not None)
    if value <= 0:
        raise InputError(f"--{unit} {value}: the lab clock only moves forward; give a "
                         "positive number")
    before = deployment.lab.now()
    try:
        now = deployment.lab.advance(**{unit: value})
    except (OverflowError, ValueError):
        raise InputError(f"--{unit} {value}: the clock would pass the year 9999") from None
    out.write(f"the lab clock moved from {before:%Y-%m-%dT%H:%M}Z to {now:%Y-%m-%dT%H:%M}Z\n")
    return EXIT_OK


def _administration_parties(args: argparse.Namespace, deployment: Any) -> tuple[Any, Any, Any]:
    """The cluster, its first server and the administrator that ``--cluster`` and ``--by``
    name (:func:`_administration_arguments`)."""
    cluster = deployment.clusters.get(args.cluster)
    if cluster is None:
        raise InputError(f"no cluster {args.cluster!r} in {args.directory} (clusters: "
                         f"{', '.join(deployment.clusters)})")
    if args.by not in deployment.directory.users:
        raise InputError(f"no user {args.by!r} in the lab's domain")
    return cluster, cluster.first_server, deployment.directory.user(args.by)


@in_lab(write=True, attr="directory")
def _command_lab_renew(args: argparse.Namespace, out: TextIO, deployment: Any) -> int:
    """Renew a cluster's SLC (S-1…S-6): online, or offline through files in the lab's
    ``requests`` folder, imported only after a confirmation."""
    from rmslab.flows import (RequestFile, export_renewal_request, import_renewal_response,
                              renew_slc_online, submit_renewal_request)
    cluster, server, admin = _administration_parties(args, deployment)
    service = deployment.enrollment_service
    directory = deployment.directory
    before = cluster.resources().slc_expires
    folder = Path(args.directory) / "requests"
    try:
        if not args.offline:
            if args.request or args.response:
                raise InputError("--request and --response belong to --offline renewal")
            trace = renew_slc_online(service, cluster, server, by=admin, directory=directory)
            how = ("signed with its self-enrollment key" if cluster.self_enrollment is not None
                   else "online, from the enrollment service")
        else:
            if cluster.self_enrollment is not None:
                raise InputError(f"{cluster.name} enrolled itself: it renews with its own "
                                 "self-enrollment key, online; it has no request to carry")
            if args.response:
                response = RequestFile.load(args.response)
            else:
                if args.request:
                    request = RequestFile.load(args.request)
                    out.write(f"carried {args.request} (the exported request, as given)\n")
                else:
                    request, _ = export_renewal_request(cluster, server, by=admin,
                                                        directory=directory)
                    folder.mkdir(exist_ok=True)
                    written = request.save(folder)
                    out.write(f"exported {written} (do not change it: a changed request is "
                              "refused, S-5)\n")
                computer = deployment.computers.get(args.computer)
                if computer is None:
                    raise InputError(f"no computer {args.computer!r} in the lab")
                response, _ = submit_renewal_request(service, request, computer=computer)
                folder.mkdir(exist_ok=True)
                saved = response.save(folder)
                out.write(f"submitted it from {computer.name}; the enrollment service "
                          f"answered {saved}\n")
            confirm = args.yes or _ask(f"import the new SLC of {cluster.name} from "
                                       f"{response.name}? [y/N] ")
            trace = import_renewal_response(cluster, server, response, service.anchor,
                                            by=admin, directory=directory, confirm=confirm)
            if not confirm:
                out.write(f"not imported: the import was not confirmed (S-3). Import it later "
                          f"with --offline --response {Path(args.directory) / 'requests' / response.name} "
                          "--yes\n")
                return EXIT_OK
            how = "offline, through request and response files"
    except RefusedError as exc:
        sys.stderr.write(f"rmslab: refused: {exc}\n")
        return EXIT_REFUSED
    after = cluster.resources()
    was = f" (was {before:%Y-%m-%d %H:%M} UTC)" if before else ""
    out.write(f"renewed the SLC of {cluster.name} ({how}): SLC {after.slc_id}, valid until "
              f"{after.slc_expires:%Y-%m-%d %H:%M} UTC{was}\n")
    failed = len(trace.failed_checks)
    out.write(f"  {len(trace.checks)} checks, {'all passed' if not failed else f'{failed} failed'}\n")
    return EXIT_OK


_DECOMMISSIONED_OPERATIONS = ("Certify, AcquireLicense, AcquireIssuanceLicense, "
                              "GetClientLicensorCert, AcquireTemplateInformation, "
                              "AcquireTemplates, GetLicensorCertificate")


@in_lab(write=True, attr="directory")
def _command_lab_decommission(args: argparse.Namespace, out: TextIO, deployment: Any) -> int:
    """Decommission a cluster (MS-RMPR 3.1.1.1.1 serverDecommissioned; MS-RMSI 1.3.1)."""
    from rmslab.flows import decommission_cluster
    cluster, server, admin = _administration_parties(args, deployment)
    if not (args.yes or _ask(f"decommission {cluster.name}? It will answer no license, "
                             "certificate or template request again [y/N] ")):
        out.write(f"not decommissioned: {cluster.name} was not confirmed (add --yes)\n")
        return EXIT_OK
    try:
        trace = decommission_cluster(cluster, server, by=admin, directory=deployment.directory)
    except RefusedError as exc:
        sys.stderr.write(f"rmslab: refused: {exc}\n")
        return EXIT_REFUSED
    entry = cluster.log.entries(kind="decommissioning")[-1]
    out.write(f"decommissioned {cluster.name} (serverDecommissioned = true), logged as entry "
              f"{entry.id} of its logging database\n"
              f"  it answers ClusterDecommissionedException to {_DECOMMISSIONED_OPERATIONS}\n"
              "  its content is decrypted through the decommissioning interface, "
              "AcquireContentKey (MS-RMSI 3.2.4.1)\n")
    out.write(f"  {len(trace.checks)} checks, all passed\n")
    return EXIT_OK


@in_lab(write=True, attr="directory")
def _command_lab_online_publishing(args: argparse.Namespace, out: TextIO,
                                   deployment: Any) -> int:
    """Enable or disable online publishing (MS-RMPR 3.1.1.1.1 onlinePublishingEnabled)."""
    from rmslab.flows import set_online_publishing
    cluster, server, admin = _administration_parties(args, deployment)
    try:
        set_online_publishing(cluster, server, args.enable, by=admin,
                              directory=deployment.directory)
    except RefusedError as exc:
        sys.stderr.write(f"rmslab: refused: {exc}\n")
        return EXIT_REFUSED
    if args.enable:
        out.write(f"online publishing enabled on {cluster.name} "
                  "(onlinePublishingEnabled = true): AcquireIssuanceLicense is answered\n")
    else:
        out.write(f"online publishing disabled on {cluster.name} "
                  "(onlinePublishingEnabled = false): AcquireIssuanceLicense answers "
                  "OnlinePublishingDisabledException; offline publishing with a client "
                  "licensor certificate still works\n")
    return EXIT_OK


@in_lab(write=True, attr="directory")
def _command_lab_template(args: argparse.Namespace, out: TextIO, deployment: Any) -> int:
    """Publish, archive or delete a rights policy template (MS-RMPR 3.1.1.1.1)."""
    from rmslab.flows import administer_template
    from rmslab.rights import Grant, RightsPolicy
    cluster, server, admin = _administration_parties(args, deployment)
    warn_if_past(args.until, deployment.lab.now(), "--until")
    policy = None
    if args.grant:
        domain = deployment.directory.domain
        policy = RightsPolicy(tuple(Grant(u if "@" in u or u.upper() == "ANYONE"
                                          else f"{u}@{domain}", rights)
                                    for u, rights in args.grant),
                              args.until, caching_days=args.caching_days)
    elif not (args.archive or args.remove):
        raise InputError("say what to do: --grant USER:RIGHT[,RIGHT…] to publish the "
                         "template, --archive or --remove")
    elif args.caching_days is not None or args.until or args.description:
        raise InputError("--caching-days, --until and --description belong to publishing "
                         "(--grant)")
    try:
        administer_template(cluster, server, args.name, by=admin,
                            directory=deployment.directory, policy=policy,
                            description=args.description or args.name,
                            archive=args.archive, remove=args.remove)
    except RefusedError as exc:
        sys.stderr.write(f"rmslab: refused: {exc}\n")
        return EXIT_REFUSED
    if policy is not None:
        out.write(f"published the template {args.name} on {cluster.name}, signed with its "
                  "key:\n")
        for line in policy.describe():
            out.write(f"  {line}\n")
    elif args.archive:
        out.write(f"archived the template {args.name} of {cluster.name}: no longer "
                  "distributed, still the rights of the content published with it\n")
    else:
        out.write(f"deleted the template {args.name} of {cluster.name}: its content is "
                  "licensed by its own publishing license again\n")
    out.write("  clients follow at their next template download (MS-RMPR 1.3.3); rmslab "
              "protect --template downloads first when the template is new to them\n")
    return EXIT_OK


def _administration_arguments(p: argparse.ArgumentParser, cluster_help: str,
                              action: str) -> None:
    """DIR, ``--cluster`` and ``--by`` of a command an administrator of a cluster runs
    (resolved by :func:`_administration_parties`; others are refused, S-1)."""
    p.add_argument("directory", metavar="DIR", help="the lab's folder (made by rmslab lab create)")
    p.add_argument("--cluster", required=True, metavar="NAME", help=cluster_help)
    p.add_argument("--by", default="rmsadmin", metavar="USER",
                   help=f"the administrator who {action} (default rmsadmin; others are "
                        "refused, S-1)")


def _ask(question: str) -> bool:
    """The confirmation step of an offline import (S-3), when a person is there to answer."""
    if not sys.stdin.isatty():
        return False
    sys.stderr.write(question)
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


@in_lab(write=False, attr="directory", damaged_logs="report")
def _command_log(args: argparse.Namespace, out: TextIO, deployment: Any) -> int:
    logs = [(c.name, c.log) for c in deployment.clusters.values()]
    logs.append(("enrollment-service", deployment.enrollment_service.log))
    if args.cluster:
        logs = [(name, log) for name, log in logs if name == args.cluster]
        if not logs:
            raise InputError(f"no cluster {args.cluster!r} in {args.directory}")
    damaged = [log for _, log in logs if log.damage is not None]
    if args.requests:
        return _requests(args, out, logs, damaged)
    if args.outcome not in (None, "accepted", "refused"):
        raise InputError(f"--outcome {args.outcome}: the enrollment log's outcomes are "
                         "accepted and refused (answered, fault and rejected are the "
                         "request log's: add --requests)")
    if args.operation or args.account:
        raise InputError("--operation and --account select rows of the request log: add "
                         "--requests")
    rows = [(name, entry) for name, log in logs
            for entry in log.entries(kind=args.kind, outcome=args.outcome)]
    if args.json:
        json.dump([{"log": name, **entry.__dict__} for name, entry in rows], out, indent=2)
        out.write("\n")
    else:
        for name, log in logs:
            entries = [e for n, e in rows if n == name]
            if log.damage is not None:
                out.write(f"{name}: DAMAGED — {log.damage}\n")
                continue
            out.write(f"{name}: {len(entries)} request(s)\n")
            for entry in entries:
                out.write(f"  {entry}\n")
    for log in damaged:
        sys.stderr.write(f"rmslab: {log.damage}\n")
    return EXIT_INPUT if damaged else EXIT_OK


def _requests(args: argparse.Namespace, out: TextIO, logs: list[tuple[str, Any]],
              damaged: list[Any]) -> int:
    """``rmslab log DIR --requests``: the request logs — every request the lab's
    services answered (rmslab serve, LoopbackService), one row each."""
    if args.kind:
        raise InputError("--kind selects rows of the enrollment log; the request log has "
                         "--operation")
    if args.outcome not in (None, "answered", "fault", "rejected"):
        raise InputError(f"--outcome {args.outcome}: the request log's outcomes are "
                         "answered, fault and rejected")
    rows = [(name, entry) for name, log in logs if log.damage is None
            for entry in log.requests(operation=args.operation, outcome=args.outcome,
                                      account=args.account)]
    if args.json:
        json.dump([{"log": name, **entry.__dict__} for name, entry in rows], out, indent=2)
        out.write("\n")
    else:
        for name, log in logs:
            if log.damage is not None:
                out.write(f"{name}: DAMAGED — {log.damage}\n")
                continue
            entries = [e for n, e in rows if n == name]
            out.write(f"{name}: {len(entries)} service request(s)\n")
            for entry in entries:
                out.write(f"  {entry}\n")
    for log in damaged:
        sys.stderr.write(f"rmslab: {log.damage}\n")
    return EXIT_INPUT if damaged else EXIT_OK


def _command_audit(args: argparse.Namespace, out: TextIO) -> int:
    from rmslab.cli.inventory import command_audit_artefacts, wants_artefacts
    if not args.lab:
        return command_audit_artefacts(args, out)
    if wants_artefacts(args):
        return _command_audit_lab_and_artefacts(args, out)
    return _command_audit_lab(args, out)


@in_lab(write=False, damaged_logs="report")
def _command_audit_lab_and_artefacts(args: argparse.Namespace, out: TextIO,
                                     deployment: Any) -> int:
    """A lab (read through its store, as every lab command reads it) and the share and
    stores given: one report."""
    from rmslab.cli.inventory import command_audit_artefacts
    return command_audit_artefacts(args, out, deployment)


@in_lab(write=False, damaged_logs="report")
def _command_audit_lab(args: argparse.Namespace, out: TextIO, deployment: Any) -> int:
    from rmslab.audit import audit_deployment
    report = audit_deployment(deployment, at=args.at, picture=bool(args.html))
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
    from rmslab.cli.common import EXIT_INVALID
    return EXIT_INVALID if report.counts()["high"] else EXIT_OK


def add_lab_parsers(sub: Any) -> None:
    lab = sub.add_parser(
        "lab", help="a deployment on disk",
        description="A lab is a whole deployment in one folder: the enrollment service, the "
                    "clusters with their keys, SLCs and logs, the clients with their license "
                    "stores and registries.",
        **examples(("rmslab lab create lab", "build the ready deployment in the folder lab")))
    lab_sub = lab.add_subparsers(dest="lab_command", required=True, metavar="COMMAND")
    p = lab_sub.add_parser(
        "create", help="build a ready deployment: enrollment service, root and licensing-only "
                       "clusters, users alice, bob, carol on activated machines with RACs",
        description="Build a ready deployment in a new folder and say what it made: the "
                    "enrollment service, the root certification cluster contoso-root "
                    "(servers RMS01, RMS02), the licensing-only cluster contoso-licensing, "
                    "the administrator rmsadmin, and alice, bob and carol on activated "
                    "machines with rights account certificates (alice also with a client "
                    "licensor certificate). The root cluster enrolls itself, as an AD RMS "
                    "(version 2.0) server does; --enrollment-service or --offline-enrollment "
                    "enroll it with the lab's enrollment service instead, as the product "
                    "documentation describes. The same seed gives the same lab, byte for byte.",
        **examples(("rmslab lab create lab", "the default lab: seed 0, cryptographic mode 2"),
                   ("rmslab lab create lab1 --mode 1 --offline-enrollment",
                    "a mode-1 lab (RSA-1024/SHA-1) whose root cluster enrolled by file"),
                   ("rmslab lab create lab7 --seed 7",
                    "other keys and IDs, the same deployment"),
                   ("rmslab lab create lab2 --enrollment-service",
                    "the root cluster enrolls with the enrollment service, as RMS 1.0 "
                    "servers did")))
    p.add_argument("directory", help="the folder to create (new, or empty)")
    p.add_argument("--seed", type=int, default=0,
                   help="the lab's seed: every key, GUID and random byte derives from it "
                        "(default 0)")
    p.add_argument("--mode", type=int, choices=(1, 2), default=2,
                   help="cryptographic mode: 1 = RSA-1024/SHA-1, 2 = RSA-2048/SHA-256")
    p.add_argument("--enrollment-service", action="store_true",
                   help="enroll the root cluster online with the lab's enrollment service, "
                        "as RMS 1.0 servers did and the product documentation describes "
                        "(MS-RMPR 3.6). Default: the root cluster enrolls itself, as every "
                        "version 2.0 server (AD RMS) does (MS-RMPR 1.3.1): it signs its own "
                        "SLC with the self-enrollment key installed with it")
    p.add_argument("--offline-enrollment", action="store_true",
                   help="enroll the root cluster with the enrollment service offline "
                        "(request and response as files, S-3)")
    p.add_argument("--verbose", action="store_true", help="also print the absolute path")
    p.set_defaults(run=_command_lab_create)
    p = lab_sub.add_parser(
        "users", help="the lab's users: account, SID, and the password the lab gives each to "
                      "sign in to its servers",
        description="List the lab's users as its servers know them: the domain account "
                    "(DOMAIN\\user), its SID in the lab's domain, and the password each signs in "
                    "with (HTTP Basic stands in for Windows authentication, MS-RMPR 3.1.4.3). "
                    "The passwords are derived from the lab's seed; no file of the lab holds "
                    "them.",
        **examples(("rmslab lab users lab", "who may sign in to the lab's servers, and how"),
                   ("rmslab lab users lab --json", "the same as JSON")))
    p.add_argument("directory", help="the lab's folder (made by rmslab lab create)")
    p.add_argument("--json", action="store_true",
                   help="machine-readable output: the domain, its SID, and each user's account, SID, e-mail, groups and password")
    p.set_defaults(run=_command_lab_users)

    p = lab_sub.add_parser(
        "advance", help="move the lab's clock forward (it never moves back)",
        description="Move the clock of the lab forward and print the new time. Every later "
                    "command of the lab runs at the new time: licenses, certificates and "
                    "revocation lists expire by it. The clock never moves back: a clock found "
                    "behind the latest time the lab recorded is refused as tampering.",
        **examples(("rmslab lab advance lab --days 31",
                    "past the 30 days of a use license the servers issue"),
                   ("rmslab lab advance lab --hours 2", "two hours on"),
                   ("rmslab lab advance lab --minutes 30", "half an hour on")))
    p.add_argument("directory", metavar="DIR",
                   help="the lab's folder (made by rmslab lab create)")
    step = p.add_mutually_exclusive_group(required=True)
    step.add_argument("--days", type=int, metavar="N",
                      help="move N days forward (N > 0), e.g. --days 8")
    step.add_argument("--hours", type=int, metavar="N",
                      help="move N hours forward (N > 0), e.g. --hours 2")
    step.add_argument("--minutes", type=int, metavar="N",
                      help="move N minutes forward (N > 0), e.g. --minutes 30")
    p.set_defaults(run=_command_lab_advance)

    p = lab_sub.add_parser(
        "renew", help="renew a cluster's SLC, online or offline through request files (S-1…S-6)",
        description="Renew the server licensor certificate of a cluster, as its administrator "
                    "does on the administration pages (S-1). Online (S-2), the first server "
                    "sends the Enroll request of MS-RMPR 3.6.4 with its SLC's GUID and installs "
                    "the new SLC; a self-enrolled cluster signs a new SLC with its "
                    "self-enrollment key. Offline (S-3), the request is exported into the "
                    "lab's requests folder as <Server>RenewRequest.xml, submitted from a "
                    "connected computer that trusts the enrollment site (S-4), the response "
                    "saved beside it, and imported only after a confirmation: a question when "
                    "a person is at the terminal, --yes otherwise. A changed request is "
                    "refused (S-5). The cluster key does not change: everything issued before "
                    "still verifies. Exit status 3 when an actor refuses.",
        **examples(("rmslab lab renew lab --cluster contoso-root",
                    "online renewal by rmsadmin"),
                   ("rmslab lab renew lab --cluster contoso-root --offline --yes",
                    "export, submit from ADMIN-WS, import (confirmed)"),
                   ("rmslab lab renew lab --cluster contoso-root --offline "
                    "--request lab/requests/RMS01RenewRequest.xml --yes",
                    "submit a request file exported before (refused if it was changed)"),
                   ("rmslab lab renew lab --cluster contoso-root --offline "
                    "--response lab/requests/RMS01RenewResponse.xml --yes",
                    "import a response saved before")))
    _administration_arguments(p, "the cluster whose SLC is renewed, e.g. contoso-root",
                              "renews")
    p.add_argument("--offline", action="store_true",
                   help="renew through files: export the request, submit it from a connected "
                        "computer, import the response after a confirmation")
    p.add_argument("--computer", default="ADMIN-WS", metavar="NAME",
                   help="with --offline: the connected computer the request is submitted from "
                        "(default ADMIN-WS)")
    p.add_argument("--request", metavar="FILE",
                   help="with --offline: submit this request file instead of exporting a new "
                        "one")
    p.add_argument("--response", metavar="FILE",
                   help="with --offline: import this response file (saved by an earlier run)")
    p.add_argument("--yes", action="store_true",
                   help="confirm the import of an offline renewal without asking (S-3)")
    p.set_defaults(run=_command_lab_renew)

    p = lab_sub.add_parser(
        "decommission", help="decommission a cluster before removing it: it answers no "
                             "request but the decommissioning interface (MS-RMPR 3.1.1.1.1)",
        description="Decommission a cluster, as its administrator does before the servers "
                    "are removed (MS-RMPR 3.1.1.1.1 serverDecommissioned). From then on it "
                    f"answers ClusterDecommissionedException to {_DECOMMISSIONED_OPERATIONS} "
                    "— every operation whose MS-RMPR section names that fault; "
                    "FindServiceLocationsForUser and GetServerInfo name none and are still "
                    "answered. MS-RMPR's AcquireLicense also judges a publishing license's "
                    "time 'only when not decommissioned', as if a decommissioned server "
                    "went on licensing; rmslab follows MS-RMSI instead, where the way to "
                    "'still decrypt documents before removing the server' is the "
                    "decommissioning interface (AcquireContentKey, MS-RMSI 3.2.4.1), and "
                    "'all other requests are rejected': so AcquireLicense is refused, before "
                    "any time is judged; rmslab unprotect then takes the protection off "
                    "what must be kept. Decommissioning cannot be undone. It is logged in "
                    "the cluster's logging database. Exit status 3 when refused (not an "
                    "administrator, or decommissioned already).",
        **examples(("rmslab lab decommission lab --cluster contoso-licensing --yes",
                    "decommission the licensing-only cluster, as rmsadmin"),
                   ("rmslab lab decommission lab --cluster contoso-root",
                    "asks for a confirmation first (then see rmslab log lab --kind "
                    "decommissioning)")))
    _administration_arguments(p, "the cluster to decommission, e.g. contoso-licensing",
                              "decommissions it")
    p.add_argument("--yes", action="store_true",
                   help="confirm without asking (decommissioning cannot be undone)")
    p.set_defaults(run=_command_lab_decommission)

    p = lab_sub.add_parser(
        "online-publishing", help="enable or disable online publishing on a cluster "
                                  "(MS-RMPR 3.1.1.1.1 onlinePublishingEnabled)",
        description="Enable or disable online publishing on a cluster (MS-RMPR 3.1.1.1.1 "
                    "onlinePublishingEnabled, true by default). Disabled, the cluster answers "
                    "AcquireIssuanceLicense with OnlinePublishingDisabledException (3.5.4.1); "
                    "offline publishing — a client licensor certificate from "
                    "GetClientLicensorCert and a publishing license the client signs — and "
                    "licensing go on. Logged in the cluster's logging database. Exit status 3 "
                    "when refused (not an administrator).",
        **examples(("rmslab lab online-publishing lab --cluster contoso-root --disable",
                    "only offline publishing from now on"),
                   ("rmslab lab online-publishing lab --cluster contoso-root --enable",
                    "online publishing again")))
    _administration_arguments(p, "the cluster, e.g. contoso-root", "changes it")
    switch = p.add_mutually_exclusive_group(required=True)
    switch.add_argument("--enable", dest="enable", action="store_true",
                        help="answer AcquireIssuanceLicense (the default of MS-RMPR 3.1.3.3)")
    switch.add_argument("--disable", dest="enable", action="store_false",
                        help="answer AcquireIssuanceLicense with "
                             "OnlinePublishingDisabledException")
    p.set_defaults(run=_command_lab_online_publishing)

    p = lab_sub.add_parser(
        "template", help="publish, archive or delete a cluster's rights policy template "
                         "(MS-RMPR 3.1.1.1.1 publishedTemplates, archivedTemplates)",
        description="Publish, archive or delete a rights policy template of a cluster, as "
                    "its administrator does on the administration pages. --grant publishes "
                    "it (a new template, or an edit of one of that name: it keeps its GUID, "
                    "so content already published with it is licensed with the new rights, "
                    "MS-RMPR 3.4.4.1); --archive stops distributing it, while the server "
                    "still licenses its content with it; --remove deletes it, and its "
                    "content is licensed by its own publishing license again. Clients follow "
                    "at their next template download (MS-RMPR 1.3.3); rmslab protect "
                    "--template downloads first when the template is new to the author. "
                    "Logged in the cluster's logging database. Exit status 3 when refused "
                    "(not an administrator, no such template, or the SLC no longer lets the "
                    "cluster issue).",
        **examples(("rmslab lab template lab --cluster contoso-root --name Contoso-ViewOnly "
                    "--grant ANYONE:VIEW --caching-days 7",
                    "every user may view only; use licenses cached for a week"),
                   ("rmslab lab template lab --cluster contoso-root --name Board "
                    "--grant bob:VIEW,PRINT --grant carol:VIEW --description 'Board papers'",
                    "a template for two users"),
                   ("rmslab lab template lab --cluster contoso-root --name Contoso-ViewOnly "
                    "--archive", "stop distributing it; its content keeps its rights")))
    _administration_arguments(p, "the cluster whose template it is, e.g. contoso-root",
                              "changes it")
    p.add_argument("--name", required=True, metavar="TEMPLATE",
                   help="the template's name (also its file name in template archives)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--grant", action="append", type=parse_grant, default=[],
                      metavar="USER:RIGHT[,RIGHT…]",
                      help="publish the template with these rights (VIEW, EDIT, PRINT, EXTRACT, "
                           "EXPORT, OWNER, …); repeat for more users; ANYONE is every user")
    what.add_argument("--archive", action="store_true",
                      help="stop distributing the template; the server still licenses its "
                           "content with it")
    what.add_argument("--remove", action="store_true",
                      help="delete the template altogether")
    p.add_argument("--description", metavar="TEXT",
                   help="with --grant: the template's description (default: its name)")
    p.add_argument("--caching-days", type=int, metavar="N",
                   help="with --grant: days a use license may be used before it is acquired "
                        "again (an INTERVALTIME condition on each right, MS-RMPR 2.2.9.10.4.2)")
    p.add_argument("--until", type=parse_at, metavar="TIME",
                   help="with --grant: content published with the template expires then "
                        "(PRECONDITIONLIST, MS-RMPR 2.2.9.10.4.1)")
    p.set_defaults(run=_command_lab_template)

    p = sub.add_parser(
        "audit", help="findings with IDs, severity and remediation over a lab deployment, "
                      "or over real things: a share, client license stores and their "
                      "registry (A-2)",
        description="Audit a lab: every certificate chain, SLC expiry, cryptographic mode, "
                    "refused requests in the logs, temporary RACs, trusted publishing "
                    "domains and revocation. Audit real things — with or without a lab: "
                    "a share (--share, inventoried as rmslab inventory does), client "
                    "license stores (--store) and the client's registry export "
                    "(--registry): content in mode 1 or AES-ECB, keys in no known trusted "
                    "publishing domain, licenses from clusters the client does not trust, "
                    "expired CLCs used for offline publishing, templates granting ANYONE or "
                    "EXPORT, use licenses for content no longer on the share, unreadable "
                    "files. With a lab, its root, its clusters' keys and its clients' stores "
                    "are used too. Each finding has a stable ID (RMS-001…), a severity, a "
                    "subject, a remediation and the rule it rests on. Exit status 1 when a "
                    "finding is high.",
        **examples(("rmslab audit lab", "the findings as text"),
                   ("rmslab audit lab --html audit.html",
                    "also a self-contained HTML page with the deployment picture"),
                   ("rmslab audit lab --at 2026-12-01T00:00 --json",
                    "as of a later time (SLC expiry), as JSON (docs/json.md)"),
                   ("rmslab audit lab --share share",
                    "the lab and the files it protected on a share"),
                   ("rmslab audit --share /mnt/finance --tpd Contoso=contoso-slc.pem "
                    "--html share.html", "a share without a lab: which keys protected what, "
                    "and which are in no trusted publishing domain"),
                   ("rmslab audit --store MSIPC --registry client.reg",
                    "a client's license store and the servers its registry trusts")))
    p.add_argument("lab", metavar="DIR", nargs="?",
                   help="the lab's folder (made by rmslab lab create); optional with "
                        "--share or --store")
    from rmslab.cli.inventory import add_audit_arguments
    add_audit_arguments(p)
    p.add_argument("--at", type=parse_at, metavar="TIME",
                   help="audit as of this UTC time (default: the lab's clock; without a "
                        "lab, now)")
    p.add_argument("--json", action="store_true",
                   help="machine-readable output (schema in docs/json.md)")
    p.add_argument("--html", metavar="OUT.html", help="also write an HTML report with the "
                                                     "deployment picture and, for a share, "
                                                     "which SLC key protected what")
    p.set_defaults(run=_command_audit)

    p = sub.add_parser(
        "log", help="the logging databases of a lab on disk: enrollment requests (E-8), or "
                    "every request its services answered (--requests)",
        description="Every enrollment, certification and renewal request the lab's clusters "
                    "and its enrollment service received, accepted or refused (E-8). With "
                    "--requests, the request log instead: every request the lab's SOAP "
                    "services answered (rmslab serve), one row each — the lab's time, "
                    "service, operation, the account that signed in or anonymous, the "
                    "client's address, the outcome (answered, fault with MS-RMPR's exception "
                    "name, rejected: unreadable), the HTTP status and how long it took.",
        **examples(("rmslab log lab", "every log of the lab"),
                   ("rmslab log lab --cluster contoso-root --outcome refused",
                    "only the refusals of the root cluster"),
                   ("rmslab log lab --kind account-certification --json",
                    "one kind of request, as JSON"),
                   ("rmslab log lab --requests --outcome fault",
                    "every request the servers answered with a SOAP fault"),
                   ("rmslab log lab --requests --operation AcquireLicense --json",
                    "every use license asked for, as JSON")))
    p.add_argument("directory", help="the lab's folder (made by rmslab lab create)")
    p.add_argument("--cluster", help="only this cluster's log (or enrollment-service)")
    p.add_argument("--requests", action="store_true",
                   help="the request log (every request the services answered) instead of "
                        "the enrollment log")
    p.add_argument("--kind", help="only this kind of request (e.g. account-certification, "
                                  "slc-renewal)")
    p.add_argument("--operation", metavar="NAME",
                   help="with --requests: only this operation (e.g. AcquireLicense, Certify)")
    p.add_argument("--account", metavar="ACCOUNT",
                   help="with --requests: only this account (CONTOSO\\alice, or anonymous)")
    p.add_argument("--outcome", choices=("accepted", "refused", "answered", "fault",
                                         "rejected"),
                   help="only one outcome: accepted or refused (enrollment log); answered, "
                        "fault or rejected (--requests)")
    p.add_argument("--json", action="store_true", help="machine-readable output: one object "
                                                      "per request")
    p.set_defaults(run=_command_log)
