"""``rmslab protect``, ``open``, ``unprotect`` and ``session``: a user of a lab protects
and opens files, an administrator takes protection off through a decommissioned cluster
(SPEC P-1…P-8, L-1, B-1, B-2, R-5; MS-RMSI 3.2.4.1). Which server each talks to, and how:
:mod:`rmslab.cli.reach`."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import Any, BinaryIO, Callable, TextIO

from rmslab.cli.common import (EXIT_INVALID, EXIT_OK, EXIT_REFUSED, examples, in_lab,
                               parse_at, parse_days, parse_grant, warn_if_past)
from rmslab.cli.reach import (AnsweredAlready, discovered_cluster, licensing_cluster,
                              named_cluster, on_the_wire, served_address, served_cluster,
                              server_cluster)
from rmslab.errors import InputError

__all__ = ["add_content_parsers"]


def _session_name(value: str) -> str:
    """A session name kept across commands: it names a file of the lab (item 4)."""
    from rmslab.errors import UnsafeNameError
    from rmslab.store.names import check_name
    try:
        return check_name("session", value)
    except UnsafeNameError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _fetch_templates(deployment: Any, client: Any, user: Any, cluster: Any,
                     out: TextIO) -> None:
    """A template the user's archive lacks: the client brings the archive in step with its
    cluster first (MS-RMPR 1.3.3), as an application does when it asks for the server's
    template list — the cluster it publishes with, else the one it discovers."""
    from rmslab.flows.publishing import download_templates
    cluster = cluster or discovered_cluster(deployment, client, out)
    trace = download_templates(cluster, client, user,
                               anchor=deployment.enrollment_service.anchor)
    held = sorted(client.account(user.name).templates)
    out.write(f"{client.name} downloaded the templates of {cluster.name} for {user.email} "
              f"(MS-RMPR 1.3.3): {', '.join(held) or 'none'}"
              f"{'' if trace.passed else ' (a template that did not verify was not taken, D-5)'}\n")


def _prefetch_use_license(args: argparse.Namespace) -> None:
    """``open --server`` naming a running ``rmslab serve``: the use license is asked for
    before the command takes the lab for writing — the server writes to the same lab (its
    log, its random streams) while it answers, and would wait for a command that held the
    lab — and kept in ``args.prefetched`` (None when the user's store has one already)."""
    from rmslab.service import RemoteLicensingService
    from rmslab.store.labdb import LabStore
    from rmslab.trace import Trace
    from rmslab.xrml.ids import license_ids
    from rmslab.xrml.pfile import read_container_header
    from rmslab.xrml.reader import parse
    from rmslab.xrml.source import decode_text
    served = served_address(args.server)
    assert served is not None
    base_url, port = served
    source = Path(args.input)
    try:
        with source.open("rb") as reader:
            _refuse_other_containers(reader, source)
            chain_text = decode_text(read_container_header(reader).license_bytes)
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})") from None
    content_id, _ = license_ids(parse(chain_text, source="publishing license")[0])
    with LabStore(args.lab).read() as deployment:  # what the request needs, then let go
        user, client = _session_user(deployment, args.user)
        cluster = served_cluster(deployment, args.server, base_url)
        anchor = deployment.enrollment_service.anchor
        account = client.account(user.name)
        if content_id in account.licenses:
            return
        rac_text, client_name = account.rac_text, client.name
    from rmslab.errors import NotConnectedError
    try:
        answer = RemoteLicensingService.of(cluster, port).license(
            chain_text, rac_text, anchor=anchor, to=client_name,
            trace=Trace(f"{user.email} asks {cluster.name} for a use license"))
    except NotConnectedError as exc:
        raise NotConnectedError(f"nothing answers at {args.server} — is rmslab serve running "
                                f"there? ({exc.reason})", spec_id="L-1") from None
    args.prefetched = (cluster, answer)


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


def _rewrap_for(target: Path, partial: Path) -> None:
    """A target named like an Office document, a mail or a PDF gets that container
    (MS-OFFCRYPTO 2.2, MS-OXORMMS, PDF IRM v2); anything else stays a ``.pfile``."""
    from rmslab.containers.convert import kind_for_extension, rewrap
    kind = kind_for_extension(target.name)
    if kind == "protected-file":
        return
    size = partial.stat().st_size
    if size > MAX_CONTAINER_BYTES:
        raise InputError(f"{target.name}: rmslab writes Office, mail and PDF containers in "
                         f"memory, up to {MAX_CONTAINER_BYTES // 1_048_576} MB; this content "
                         f"is {size // 1_048_576} MB — protect it into a protected file "
                         "(.pfile) instead")
    partial.write_bytes(rewrap(partial.read_bytes(), kind))


#: The largest protected content ``protect`` moves into an Office, mail or PDF container.
MAX_CONTAINER_BYTES = 256 * 1024 * 1024


def _container_prescribes_ecb(target: Path) -> bool:
    """Whether the container ``target``'s name asks for seals its content with AES-ECB:
    Office documents and mail (MS-OFFCRYPTO 2.2.10; MS-OXORMMS builds on it)."""
    from rmslab.containers.convert import kind_for_extension
    return kind_for_extension(target.name) in ("office-ooxml", "office-binary", "rpmsg",
                                               "outlook-msg")


def _refuse_other_containers(reader: Any, source: Path, command: str = "open") -> None:
    """``open`` and ``unprotect`` read protected files; an Office, mail or PDF container
    is named as what it is (inspect, verify and chain read it), not called damaged."""
    from rmslab.xrml.pfile import MAGIC
    if not reader.seekable():
        return                       # a pipe: read_container_header reads it as it comes
    head = reader.read(len(MAGIC))
    reader.seek(0)
    if head == MAGIC:
        return
    from rmslab.containers import open_artefact
    from rmslab.errors import NotProtectedError
    try:
        artefact = open_artefact(reader, name=str(source))
    except (NotProtectedError, InputError):
        return                       # not protected, or damaged: read_container_header says
    finally:
        reader.seek(0)
    raise InputError(f"{artefact.kind_name}: rmslab {command} reads protected files (.pfile) "
                     "only; inspect, verify and chain read this container")


def _command_protect(args: argparse.Namespace, out: TextIO) -> int:
    """Protect a file (P-1…P-8); with ``--server`` naming a running ``rmslab serve``, in
    three steps so that the server can write to the lab while it answers
    (:func:`_protect_with_running_server`)."""
    if args.offline and args.server:
        raise InputError("--server publishes online; --offline publishes without a server")
    if args.server and served_address(args.server) is not None:
        return _protect_with_running_server(args, out)
    return _command_protect_in_lab(args, out)


@in_lab(write=True)
def _command_protect_in_lab(args: argparse.Namespace, out: TextIO, deployment: Any) -> int:
    from rmslab.flows.publishing import publish_offline, publish_online
    user, client = _session_user(deployment, args.user)
    warn_if_past(args.until, deployment.lab.now(), "--until")
    online_cluster = None
    if not args.offline:
        online_cluster = (server_cluster(deployment, args.server) if args.server
                          else named_cluster(deployment, args.cluster) if args.cluster
                          else discovered_cluster(deployment, client, out))
    policy, template, cipher = _protect_policy(args, deployment, client, user, online_cluster,
                                               out)

    def publish(reader: BinaryIO, writer: BinaryIO, size: int) -> Any:
        extension = Path(args.input).suffix or ".bin"
        if args.offline:
            return publish_offline(client, user, policy, reader, writer, extension=extension,
                                   original_size=size, template=template, cipher=cipher)
        assert online_cluster is not None  # found above for online publishing
        with on_the_wire(deployment, args.server) as port:
            from rmslab.service import RemotePublishingService
            endpoint = (RemotePublishingService.of(online_cluster, port) if port is not None
                        else online_cluster)
            return publish_online(endpoint, client, user, policy, reader, writer,
                                  extension=extension, original_size=size, template=template,
                                  cipher=cipher)

    result = _protected_into(args, publish)
    how = ("offline, signed with the CLC" if args.offline else
           f"online, signed by the server over SOAP ({args.server})" if args.server else
           "online, signed by the server")
    _report_protected(args, out, how, result.content_id, policy)
    return EXIT_OK


def _protect_with_running_server(args: argparse.Namespace, out: TextIO) -> int:
    """``protect --server`` naming a running ``rmslab serve``: the server writes to the
    same lab as it answers, so the command holds the lab only while the client drafts the
    license — (1) the SLC chain over SOAP (GetLicensorCertificate), the lab read and let
    go; (2) the unsigned license, its content key and IDs drawn from the lab and committed
    (:func:`rmslab.flows.publishing.draft_online`); (3) the signature over SOAP
    (AcquireIssuanceLicense) and the protected file, the lab let go
    (:func:`rmslab.flows.publishing.complete_online`)."""
    from rmslab.errors import NotConnectedError
    from rmslab.flows.publishing import complete_online, draft_online
    from rmslab.service import RemotePublishingService
    from rmslab.store.labdb import LabStore
    from rmslab.trace import Trace
    served = served_address(args.server)
    assert served is not None
    base_url, port = served
    store = LabStore(args.lab)
    with store.read() as deployment:
        user, client = _session_user(deployment, args.user)
        cluster = served_cluster(deployment, args.server, base_url)
        endpoint = RemotePublishingService.of(cluster, port)
        trace = Trace(f"Online publishing by {user.email} through {endpoint.name}")
        client_name = client.name
    try:
        slc_chain = endpoint.licensor_certificate(trace=trace, to=client_name)
        with store.write() as deployment:
            user, client = _session_user(deployment, args.user)
            warn_if_past(args.until, deployment.lab.now(), "--until")
            policy, template, cipher = _protect_policy(
                args, deployment, client, user, served_cluster(deployment, args.server,
                                                                base_url), out)
            draft = draft_online(endpoint, client, user, policy, slc_chain=slc_chain,
                                 trace=trace, template=template, cipher=cipher)
        result = _protected_into(args, lambda reader, writer, size: complete_online(
            endpoint, client, draft, reader, writer,
            extension=Path(args.input).suffix or ".bin", original_size=size))
    except NotConnectedError as exc:
        sys.stderr.write(f"rmslab: refused: nothing answers at {args.server} — is rmslab "
                         f"serve running there? ({exc.reason})\n")
        return EXIT_REFUSED
    _report_protected(args, out, f"online, signed by a running rmslab serve over SOAP "
                                 f"({_shown(args.server)})", result.content_id, policy)
    return EXIT_OK


def _protect_policy(args: argparse.Namespace, deployment: Any, client: Any, user: Any,
                    online_cluster: Any, out: TextIO) -> tuple[Any, str | None, Any]:
    """The rights ``protect`` writes — a template's (downloaded first when the author's
    archive lacks it, MS-RMPR 1.3.3) or the ``--grant``s, with the revocation requirement
    —, the template's text, and the content cipher."""
    from rmslab.crypto.enabling_bits import CipherMode
    from rmslab.flows.publishing import policy_from_template
    from rmslab.rights import Grant, RightsPolicy
    template = None
    if args.template:
        templates = client.account(user.name).templates
        if args.template not in templates:
            _fetch_templates(deployment, client, user, online_cluster, out)
            templates = client.account(user.name).templates
        if args.template not in templates:
            raise InputError(f"no template {args.template!r} in {user.email}'s template archive "
                             f"on {client.name}; it has {', '.join(sorted(templates)) or 'none'}")
        template = templates[args.template]
        policy = policy_from_template(template)
    else:
        domain = deployment.directory.domain
        grants = tuple(Grant(u if "@" in u or u == "ANYONE" else f"{u}@{domain}", rights,
                             not_after=args.until) for u, rights in args.grant)
        if not grants:
            raise InputError("state the rights: --grant USER:RIGHT[,RIGHT…] or --template NAME")
        revocation = None
        if args.require_revocation:
            from rmslab.flows.revocation import requirement_for
            issuer = deployment.root_cluster if args.offline else online_cluster
            revocation = requirement_for(issuer.revocation_url, issuer.key.public,
                                         interval_days=args.revocation_interval,
                                         list_id=issuer.principal.id or "")
        policy = RightsPolicy(grants, args.until, revocation=revocation)
    cipher = CipherMode.ECB if args.cipher == "ECB" else (
        CipherMode.CBC4K if args.cipher == "CBC4K" else None)
    if cipher is None and _container_prescribes_ecb(Path(args.output)):
        cipher = CipherMode.ECB
    return policy, template, cipher


def _protected_into(args: argparse.Namespace,
                    produce: Callable[[BinaryIO, BinaryIO, int], Any]) -> Any:
    """Run ``produce(reader, writer, size)`` from ``args.input`` into a part file beside
    ``args.output``, move it into the container the target's name asks for, and give it
    its name only then; nothing is left behind when anything fails."""
    source, target = Path(args.input), Path(args.output)
    partial = target.with_name(target.name + ".part")
    try:
        with source.open("rb") as reader, partial.open("wb") as writer:
            result = produce(reader, writer, source.stat().st_size)
        _rewrap_for(target, partial)
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InputError(f"{exc.filename}: {exc.strerror}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return result


def _report_protected(args: argparse.Namespace, out: TextIO, how: str, content_id: str,
                      policy: Any) -> None:
    out.write(f"protected {Path(args.input).name} -> {Path(args.output).name} ({how}); "
              f"content {content_id}\n")
    for line in policy.describe():
        out.write(f"  {line}\n")


def _command_open(args: argparse.Namespace, out: TextIO) -> int:
    """Open a protected file (L-1, B-1, B-2); with ``--server`` naming a running ``rmslab
    serve``, the use license is acquired from it first (:func:`_prefetch_use_license`)."""
    args.prefetched = None
    if args.server and served_address(args.server) is not None:
        status = _reported(args, lambda: _prefetch_use_license(args))
        if status is not None:
            return status
    return _command_open_in_lab(args, out)


@in_lab(write=True)
def _command_open_in_lab(args: argparse.Namespace, out: TextIO, deployment: Any) -> int:
    """Open a protected file (L-1, B-1, B-2): every error names the file."""
    source = Path(args.input)
    # the report goes where the content does not: beside a file, or to stderr when the
    # content itself goes to stdout
    report = out if args.output else sys.stderr
    status = _reported(args, lambda: _open(args, out, report, deployment, source))
    assert status is not None
    return status


def _reported(args: argparse.Namespace, step: Any) -> int | None:
    """Run one step of ``open``; a refusal, a damaged file or a file that cannot be
    written is said naming the file, with its exit status."""
    from rmslab.crypto.content import ContentDecryptionError
    from rmslab.errors import RefusedError, RmslabError
    source = Path(args.input)
    try:
        result: int | None = step()
        return result
    except RefusedError as exc:
        sys.stderr.write(f"rmslab: refused: {source}: {exc}\n")
        return EXIT_REFUSED
    except ContentDecryptionError as exc:
        raise InputError(f"{source}: {exc}; nothing was written (the content has no MAC: "
                         "a change elsewhere than in the last block would not be noticed)"
                         ) from None
    except RmslabError as exc:
        if isinstance(exc, InputError):
            raise InputError(f"{source}: {exc}") from None
        sys.stderr.write(f"rmslab: {source}: {exc}\n")
        return EXIT_INVALID
    except OSError as exc:
        # a file that cannot be read or written: a missing folder, a full disk
        where = f"{exc.filename}: " if exc.filename else (
            f"{args.output}: " if args.output else "")
        raise InputError(f"{source}: {where}{exc.strerror or exc}; nothing was written"
                         ) from None


def _open(args: argparse.Namespace, out: TextIO, report: TextIO, deployment: Any,
          source: Path) -> int:
    from rmslab.errors import RefusedError
    from rmslab.flows.binding import (open_protected, revocations_not_applied,
                                      verify_publishing_license)
    from rmslab.flows.licensing import acquire_use_license
    from rmslab.xrml.ids import license_ids
    from rmslab.xrml.pfile import read_container_header
    from rmslab.xrml.reader import parse
    from rmslab.xrml.source import decode_text
    user, client = _session_user(deployment, args.user)
    anchor = deployment.enrollment_service.anchor
    try:
        with source.open("rb") as reader:
            _refuse_other_containers(reader, source)
            header = read_container_header(reader)
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})") from None
    chain_text = decode_text(header.license_bytes)
    pl_chain = parse(chain_text, source="publishing license")
    pl = pl_chain[0]
    content_id, _ = license_ids(pl)  # GUIDs, or refused before anything is named with them
    verified, why = verify_publishing_license(pl_chain, anchor, now=deployment.lab.now())
    if not verified:
        report.write(f"warning: the publishing license in {source.name} does not verify: "
                     f"{why}\n")
    account = client.account(user.name)
    session = _load_session(args, deployment, client, user)
    try:
        if content_id in account.licenses:
            origin = f"cached in {user.email}'s license store on {client.name}"
        elif args.prefetched is not None:
            cluster, answer = args.prefetched
            acquire_use_license(AnsweredAlready(cluster, answer, args.server), client, user,
                                chain_text, anchor=anchor)
            origin = (f"newly acquired from {cluster.name} (a running rmslab serve at "
                      f"{_shown(args.server)}, over SOAP)")
        else:
            cluster = (server_cluster(deployment, args.server) if args.server
                       else licensing_cluster(deployment, pl))
            url = (f"{cluster.url}/licensing/license.asmx, over SOAP" if args.server else
                   pl.license_acquisition_urls[0] if pl.license_acquisition_urls else "-")
            with on_the_wire(deployment, args.server) as port:
                from rmslab.service import RemoteLicensingService
                acquire_use_license(RemoteLicensingService.of(cluster, port)
                                    if port is not None else cluster,
                                    client, user, chain_text, anchor=anchor)
            origin = f"newly acquired from {cluster.name} ({_shown(url)})"
        if args.output:
            from rmslab.cli.plaintext import plaintext_output
            with source.open("rb") as reader, plaintext_output(Path(args.output)) as sink:
                binding = open_protected(session, reader, sink, args.right, anchor=anchor)
            content = b""
        else:
            buffer = io.BytesIO()
            with source.open("rb") as reader:
                binding = open_protected(session, reader, buffer, args.right, anchor=anchor)
            content = buffer.getvalue()
    except RefusedError as exc:
        if args.explain and exc.trace is not None:
            _explain(report, exc.trace)
        _keep_session(args, session)
        raise
    _keep_session(args, session)
    report.write(f"opened {source.name} for {binding.right} as {user.email}: "
                 f"{len(binding.checks)} checks passed"
                 + (f"; wrote {args.output}\n" if args.output else "\n"))
    report.write(f"use license: {origin}; {binding.issued_by}\n")
    if args.explain:
        _explain(report, binding.trace)
    for note in revocations_not_applied(session, binding, chain_text,
                                        _revocation_lists(deployment)):
        report.write(f"note: {note}\n")
    if not args.output:
        report.flush()
        out.write(content.decode("utf-8", errors="replace"))
    return EXIT_OK


def _shown(text: str) -> str:
    """A value from a file, with anything that is not printable ASCII escaped."""
    from rmslab.xrml.ids import escaped
    return escaped(text)[1:-1]


@in_lab(write=False)
def _command_unprotect(args: argparse.Namespace, out: TextIO, deployment: Any) -> int:
    """Remove the protection of a file through its decommissioned cluster (MS-RMSI
    3.2.4.1): every error names the file, and no decrypted byte is left behind."""
    from rmslab.cli.plaintext import plaintext_output
    from rmslab.crypto.content import ContentDecryptionError
    from rmslab.errors import RefusedError
    from rmslab.flows.server_state import remove_protection
    from rmslab.xrml.pfile import read_container_header
    from rmslab.xrml.reader import parse
    from rmslab.xrml.source import decode_text
    source, target = Path(args.input), Path(args.output)
    try:
        with source.open("rb") as reader:
            _refuse_other_containers(reader, source, "unprotect")
            pl = parse(decode_text(read_container_header(reader).license_bytes),
                       source="publishing license")[0]
        cluster = (named_cluster(deployment, args.cluster) if args.cluster
                   else licensing_cluster(deployment, pl))
        with source.open("rb") as reader, plaintext_output(target) as sink:
            size, trace = remove_protection(cluster, reader, sink)
    except RefusedError as exc:
        sys.stderr.write(f"rmslab: refused: {source}: {exc.exception_name or ''}"
                         f"{': ' if exc.exception_name else ''}{exc}\n")
        return EXIT_REFUSED
    except ContentDecryptionError as exc:
        raise InputError(f"{source}: {exc}; nothing was written") from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise InputError(f"{source}: {where}{exc.strerror or exc}; nothing was written"
                         ) from None
    except InputError as exc:
        raise InputError(f"{source}: {exc}") from None
    out.write(f"unprotected {source} -> {target} ({size} bytes): the content key came from "
              f"the decommissioning interface of {cluster.name} (AcquireContentKey, MS-RMSI "
              "3.2.4.1); the file it wrote is not protected\n")
    if args.explain:
        _explain(out, trace)
    return EXIT_OK


def _revocation_lists(deployment: Any) -> dict[str, str]:
    """Every revocation list the lab's clusters signed, by URL (to say when one that
    revokes a user did not apply to an open)."""
    return {cluster.revocation_url: cluster.revocation_list
            for cluster in deployment.clusters.values() if cluster.revocation_list}


def _explain(report: TextIO, trace: Any) -> None:
    """Every check of a binding (or of the licensing request that was refused), as the
    notebooks print them: outcome, what was checked, the rule, why."""
    report.write(f"{trace.title}:\n")
    for check in trace.checks:
        report.write(f"  {check}\n")


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
                    "--template Contoso-Confidential",
                    "the rights of a template the server issued"),
                   ("rmslab protect plan.txt plan.ptxt --lab lab --as alice --grant bob:VIEW "
                    "--require-revocation --revocation-interval 1",
                    "use licenses require the cluster's revocation list, at most a day "
                    "old"),
                   ("rmslab protect memo.txt memo.ptxt --lab lab --as alice --grant bob:VIEW "
                    "--server https://rms.contoso.example/_wmcs --cipher ECB",
                    "online over SOAP; the content in ECB, as the KeyHeader says")))
    p.add_argument("input", help="the file to protect")
    p.add_argument("output", help="the protected file to write (e.g. minutes.ptxt)")
    p.add_argument("--lab", required=True, metavar="DIR",
                   help="the lab's folder (made by rmslab lab create)")
    p.add_argument("--as", dest="user", required=True, metavar="USER",
                   help="the author: a user of the lab (alice, or alice@contoso.example)")
    p.add_argument("--offline", action="store_true",
                   help="publish offline with the user's CLC (default: online, by the server)")
    p.add_argument("--grant", action="append", type=parse_grant, default=[],
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
    p.add_argument("--server", metavar="URL",
                   help="publish online with the cluster at this base URL, every step over "
                        "SOAP (GetLicensorCertificate, AcquireIssuanceLicense): the lab's "
                        "servers answer on loopback for the command, as rmslab serve runs "
                        "them — or a running rmslab serve, at the address it prints "
                        "(http://127.0.0.1:PORT/rms.contoso.example/_wmcs), which logs the "
                        "requests")
    p.add_argument("--cipher", choices=("ECB", "CBC4K"),
                   help="the content cipher the content key's KeyHeader names (default: "
                        "ECB in mode 1, CBC4K in mode 2, ECB for an Office document or a "
                        "mail, whose containers prescribe it; either works in either mode)")
    p.add_argument("--require-revocation", action="store_true",
                   help="licenses require the issuing cluster's revocation list (R-6)")
    p.add_argument("--revocation-interval", type=parse_days, default=7, metavar="DAYS",
                   help="how old the required list may be (default 7 days)")
    p.set_defaults(run=_command_protect)

    p = sub.add_parser(
        "open", help="open a protected file as a user of a lab (L-1, B-1, B-2)",
        description="Open a protected file as a user of a lab: use the use license cached in "
                    "the user's store, or acquire one from the server the publishing license "
                    "names (L-1); bind for one right (B-1, B-2); print or write the content. "
                    "Says which use license bound and who issued it, warns when the file's "
                    "publishing license does not verify, and notes a revoked user who opens "
                    "because the license requires no revocation list. A refusal names its "
                    "rule; exit status 3.",
        **examples(("rmslab open minutes.ptxt --lab lab --as bob", "bob views the content"),
                   ("rmslab open minutes.ptxt --lab lab --as bob --right PRINT",
                    "bob asks to print: refused, the license grants VIEW only"),
                   ("rmslab open minutes.ptxt --lab lab --as bob -o minutes.txt --explain",
                    "write the content to a file and show every binding check"),
                   ("rmslab open plan.ptxt --lab lab --as bob --session word",
                    "keep the application session word (its revocation lists) across "
                    "commands"),
                   ("rmslab open memo.ptxt --lab lab --as bob "
                    "--server https://rms.contoso.example/_wmcs",
                    "acquire the use license over SOAP (AcquireLicense)"),
                   ("rmslab open memo.ptxt --lab lab --as bob "
                    "--server http://127.0.0.1:8080/rms.contoso.example/_wmcs",
                    "from the rmslab serve running on port 8080 (see rmslab log lab "
                    "--requests)")))
    p.add_argument("input", help="the protected file to open")
    p.add_argument("--lab", required=True, metavar="DIR",
                   help="the lab's folder (made by rmslab lab create)")
    p.add_argument("--as", dest="user", required=True, metavar="USER",
                   help="the reader: a user of the lab with a rights account certificate")
    p.add_argument("--right", default="VIEW",
                   help="the one right to bind for (default VIEW; e.g. EDIT, PRINT)")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="write the content to this file (default: print it, with the report "
                        "on stderr); OUT gets its name only once the open succeeded, so a "
                        "failed open leaves no decrypted byte on disk")
    p.add_argument("--explain", action="store_true",
                   help="print every binding check: outcome, what was checked, the rule and "
                        "why (also when binding is refused)")
    p.add_argument("--session", metavar="NAME", type=_session_name,
                   help="an application session kept across commands: revocation lists "
                        "registered in it stay registered until `rmslab session close` (R-5)")
    p.add_argument("--server", metavar="URL",
                   help="acquire the use license over SOAP (AcquireLicense): from the "
                        "cluster at this base URL, the lab's servers answering on loopback "
                        "for the command — or from a running rmslab serve, at the address it "
                        "prints (http://127.0.0.1:PORT/rms.contoso.example/_wmcs), which logs "
                        "the request")
    p.add_argument("--application", default="rmslab open", metavar="NAME",
                   help="the application's name (an entity revocation lists may name)")
    p.set_defaults(run=_command_open)

    p = sub.add_parser(
        "unprotect", help="remove the protection of a file through its decommissioned "
                          "cluster (MS-RMSI 3.2.4.1)",
        description="Remove the protection of a protected file, as an administrator does "
                    "before a decommissioned cluster is switched off: the cluster the "
                    "publishing license names (or --cluster) returns the content key "
                    "through its decommissioning interface — AcquireContentKey, which "
                    "answers anyone, evaluates no rights and works only once the cluster is "
                    "decommissioned (rmslab lab decommission) — and the content is written "
                    "to OUT unprotected. OUT gets its name only when everything succeeded. "
                    "Exit status 3 when the cluster refuses (not decommissioned: "
                    "ClusterNotDecommissionedException; a license issued to another server: "
                    "UnsignedIssuanceLicenseNoMatchingIssuedPrincipalException).",
        **examples(("rmslab unprotect minutes.ptxt -o minutes.txt --lab lab",
                    "the cluster that licensed minutes.ptxt, decommissioned, returns its key"),
                   ("rmslab unprotect plan.ptxt -o plan.txt --lab lab --cluster "
                    "contoso-licensing --explain",
                    "ask a given cluster and show every check")))
    p.add_argument("input", help="the protected file (.pfile) to unprotect")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="write the unprotected content to this file")
    p.add_argument("--lab", required=True, metavar="DIR",
                   help="the lab's folder (made by rmslab lab create)")
    p.add_argument("--cluster", metavar="NAME",
                   help="the decommissioned cluster to ask (default: the one the publishing "
                        "license names)")
    p.add_argument("--explain", action="store_true",
                   help="print every check of the request")
    p.set_defaults(run=_command_unprotect)

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
