"""Pictures for lessons: a Trace's deployment pictures fixed when taken, and a binding's
use-license chain with the revocation lists registered in its session (SPEC E-1…E-9,
R-5, R-8; A-1)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Callable

import graphviz

from rmslab.xrml.reader import parse

if TYPE_CHECKING:
    from rmslab.crypto.rsa import PublicKey
    from rmslab.deployment import Deployment
    from rmslab.flows.binding import AppSession, Binding
    from rmslab.trace import Step, Trace

__all__ = ["frozen_pictures", "binding_picture", "binding_pictures"]


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
    graph = chain_graph(chain, examine(chain, anchor=anchor, at=now,
                                       required_mode=client.lab.mode), anchor)
    graph.name = "binding"

    title = f"revocation lists registered in {session.application} on {client.name}"
    with graph.subgraph(name="cluster_registered") as registered:
        registered.attr(label=title, style="dashed", color="#8e24aa", fontname="Helvetica",
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
    graph.attr(label="\n".join(line for text in caption for line in wrap(
                   text, 90, break_long_words=False, break_on_hyphens=False)),
               labelloc="t", fontsize="11")
    return graph


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
