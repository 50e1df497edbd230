"""Pictures for lessons: a Trace's deployment pictures fixed when taken, and a binding's
use-license chain with the revocation lists registered in its session (SPEC E-1…E-9,
R-5, R-8; A-1)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Callable

import graphviz

from rmslab.trust import find_issuer
from rmslab.xrml.reader import Chain, parse

if TYPE_CHECKING:
    from rmslab.crypto.rsa import PublicKey
    from rmslab.deployment import Deployment
    from rmslab.flows.binding import AppSession, Binding
    from rmslab.trace import Step, Trace

__all__ = ["frozen_pictures", "binding_picture", "binding_pictures", "binding_marks"]


def frozen_pictures(deployment: Deployment,
                    trace: Trace) -> Callable[[Step], graphviz.Digraph | None]:
    """A ``picture`` function for :class:`~rmslab.widgets.Stepper` that shows each step of
    ``trace`` on the picture of ``deployment`` as it is *now*, when this is called.

    :func:`rmslab.viz.deployment.step_picture` draws a step when the stepper shows it,
    from the deployment as it is then; in a lesson that goes on changing the deployment
    (a second server joins, another cluster enrolls), an earlier stepper would show the
    later deployment. Every step's graph is built here, once; a step that is not one of
    ``trace``'s gets no picture (``None``).

    Flows name a person either by account (``CONTOSO\\alice``) or by e-mail address
    (``alice@contoso.example``, as publishing does); both are drawn as that user, so
    the author who states the rights is highlighted too.
    """
    from rmslab.viz.deployment import deployment_graph
    accounts = {user.email: str(user) for user in deployment.directory.users.values()}

    def as_drawn(step: Step) -> Step:
        actor = accounts.get(step.actor, step.actor)
        target = accounts.get(step.target, step.target) if step.target else step.target
        if actor == step.actor and target == step.target:
            return step
        return replace(step, actor=actor, target=target)

    drawn = [(step, deployment_graph(deployment, as_drawn(step))) for step in trace.steps]

    def picture(step: Step) -> graphviz.Digraph | None:
        return next((graph for known, graph in drawn if known is step), None)

    return picture


def binding_picture(session: AppSession, license_chain: str, *, anchor: PublicKey,
                    binding: Binding | None = None, entries: int = 3) -> graphviz.Digraph:
    """The chain of trust of the use license that ``session``'s user holds for the
    content of ``license_chain`` (a publishing license chain), with the revocation lists
    registered in ``session`` beside it — as they are when this is called (SPEC R-5,
    R-8; A-1).

    The chain is drawn by :func:`rmslab.viz.chain_graph` (each document checked now by
    :func:`rmslab.report.examine`). Each registered list is a box with its URL, signer,
    issue time and first ``entries`` entries; a dashed arrow goes from a list to every
    document of the chain that the list's signer issued (signed with the signer's key).
    The caption says what the use license requires (its revocation list, or none) and,
    when ``binding`` is given, the binding's outcome — its first failed check, or that
    the content key was released.

    A refused binding is drawn as refused, not as a chain that checks out: the caption is
    red, and the documents the refusal concerns are marked on the picture
    (:func:`binding_marks`) — for a revocation (R-1), the document the list names and the
    certificate of a revoked issuer; for any other failed check, the use license.

    Raises :class:`~rmslab.errors.InputError` when the user's license store holds no use
    license for that content.
    """
    from textwrap import wrap

    from rmslab.errors import InputError
    from rmslab.report import examine
    from rmslab.viz.chain import chain_graph
    client, user = session.client, session.user
    content_id = parse(license_chain, source="publishing license")[0].content_id or ""
    stored = client.account(user.name).licenses.get(content_id)
    if stored is None:
        raise InputError(f"{client.name} holds no use license of {user.email} for the "
                         f"content {content_id}: acquire one first (L-1)")
    chain = parse(stored, source=f"use license of {user.email} on {client.name}")
    now = client.lab.now()
    marks = binding_marks(session, chain, content_id, binding) if binding is not None else {}
    graph = chain_graph(chain, examine(chain, anchor=anchor, at=now,
                                       required_mode=client.lab.mode), anchor, marks=marks)
    graph.name = "binding"

    title = f"revocation lists registered in {session.application} on {client.name}"
    with graph.subgraph(name="cluster_registered") as registered:
        registered.attr(label=title, style="dashed", color="#8e24aa", fontcolor="#8e24aa",
                        fontname="Helvetica",
                        fontsize="10", labelloc="b")
        if not session.registered_lists:
            registered.node("list_none", "none", shape="plaintext", style="")
        for number, (url, index) in enumerate(session.registered_lists.items(), 1):
            issued_here = [doc for doc in chain if index.signer_key is not None
                           and doc.issuer_key == index.signer_key]
            lines = [f"revocation list {url}", *index.describe(entries=entries)]
            if not issued_here:
                lines.append("its signer issued no document of this chain")
            registered.node(f"list{number}", "\n".join(lines), shape="note",
                            fillcolor="#f3e5f5", color="#8e24aa")
            for doc in issued_here:
                graph.edge(f"list{number}", f"d{doc.index}",
                           label="issued by the list's signer", style="dashed",
                           color="#8e24aa", fontcolor="#8e24aa")

    use_license = chain[0]
    required = next((right.revocation_list for right in use_license.rights
                     if right.revocation_list is not None), None)
    interval = next((right.refresh_interval for right in use_license.rights
                     if right.revocation_list is not None), None)
    caption = [f"use license of {user.email} for the content {content_id}, "
               f"checked at {now:%Y-%m-%d %H:%M} UTC"]
    if required is not None:
        key = required.public_key.short_fingerprint if required.public_key else "?"
        caption.append(f"it requires the revocation list at {required.address}, signed by key "
                       f"{key}, at most {interval or '?'} old")
    else:
        caption.append("it requires no revocation list")
    if binding is not None:
        failed = binding.failed
        if failed is None:
            caption.append(f"binding for {binding.right}: allowed, the content key is released")
        else:
            rule = f" [{failed.spec_id}]" if failed.spec_id else ""
            reason = f": {failed.reason}" if failed.reason else ""
            caption.append(f"binding for {binding.right}: refused at {failed.description}"
                           f"{rule}{reason}")
    refused = binding is not None and binding.failed is not None
    graph.attr(label="\n".join(line for text in caption for line in wrap(
                   text, 90, break_long_words=False, break_on_hyphens=False)),
               labelloc="t", fontsize="11", fontcolor=_REFUSED if refused else "black")
    return graph


_REFUSED = "#c62828"


def binding_marks(session: AppSession, chain: Chain, content_id: str,
                  binding: Binding) -> dict[int, list[str]]:
    """What a refused ``binding`` holds against the documents of ``chain`` (the use
    license's chain), by index — nothing when it was allowed (SPEC R-1, R-3, B-2).

    For a refusal by revocation (R-1, R-3 step 4), every registered list that applies
    (its signer issued a document of the chain, R-8) is asked, as the binding asked it,
    which entity it revokes: a document named by ID or hash is marked; a document signed
    by a revoked issuer is marked, and so is the certificate in the chain that holds the
    revoked issuer's key; revoked content, user or application mark the use license,
    which they concern. Any other failed check marks the use license with the check."""
    failed = binding.failed
    if failed is None:
        return {}
    marks: dict[int, list[str]] = {}

    def mark(index: int, reason: str) -> None:
        if reason not in marks.setdefault(index, []):
            marks[index].append(reason)

    if failed.spec_id != "R-1":
        mark(0, f"binding refused [{failed.spec_id}]: {failed.description}")
        return marks
    issuers = {doc.issuer_key for doc in chain if doc.issuer_key is not None}
    user, client = session.user, session.client
    for index in session.registered_lists.values():
        if index.signer_key not in issuers:
            continue
        for doc in chain:
            if index.revokes_id("license-id", doc.id) or (
                    doc.signature is not None and index.revokes_hash(doc.signature.digest_value)):
                mark(doc.index, "revoked (named by the list)")
            issuer_id = doc.issuer.id if doc.issuer else None
            if (index.revokes_key("issuer-key", doc.issuer_key)
                    or index.revokes_id("issuer-id", issuer_id)):
                mark(doc.index, "signed by a revoked issuer")
                certificate = find_issuer(chain.documents, doc)
                if certificate is not None:
                    mark(certificate.index, "revoked issuer: its key is revoked")
        if index.revokes_id("content-id", content_id):
            mark(0, f"its content {content_id[:9]}…}} is revoked")
        account_key = client.account(user.name).rac.principals[0].public_key
        if (index.revokes_key("principal-key", account_key)
                or any(index.revokes_id("principal-id", name) for name in (user.email, user.name))):
            mark(0, f"issued to a revoked user ({user.email})")
        for name, what in ((session.application, "application"), (client.name, "machine")):
            if index.revokes_id("principal-id", name):
                mark(0, f"the {what} {name} is revoked")
    if not marks:  # the list named something this picture does not show
        mark(0, f"binding refused [R-1]: {failed.reason}")
    return marks


def binding_pictures(session: AppSession, license_chain: str, *, anchor: PublicKey,
                     binding: Binding | None = None,
                     entries: int = 3) -> Callable[[Step], graphviz.Digraph]:
    """A ``picture`` function for :class:`~rmslab.widgets.Stepper`: every step of a
    binding's Trace shows :func:`binding_picture` — the use license's chain with the
    lists registered in ``session`` — drawn once, when this is called, so that the
    stepper keeps showing the session as it was after that binding (SPEC R-5)."""
    drawn = binding_picture(session, license_chain, anchor=anchor, binding=binding,
                            entries=entries)

    def picture(step: Step) -> graphviz.Digraph:
        return drawn

    return picture
