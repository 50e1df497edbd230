"""The deployment picture: who trusts whom and which certificate signed which (SPEC E-1…E-9).

Boxes are the actors — the enrollment service with its pinned root, clusters with their
servers, client machines with their users, the computers that carry request files.
Solid arrows point from a certificate's holder to the one who signed it. For a step of a
Trace, the acting and receiving actors are highlighted and the message is drawn as a
bold arrow between them.

Like every picture of rmslab, the root of trust is at the top: arrows to a signer point
upwards (the chain pictures of :mod:`rmslab.viz.chain` are drawn the same way). A client's
users stand below its machine key, so that the picture fits a notebook's width
(:data:`MAX_WIDTH_INCHES`; graphviz scales a wider drawing down to it).
"""

from __future__ import annotations

from typing import Callable

import graphviz

from rmslab.deployment import Deployment
from rmslab.trace import Step

__all__ = ["deployment_graph", "step_picture", "MAX_WIDTH_INCHES"]

#: The widest a deployment picture is drawn: a notebook's output column (about 900
#: pixels) at 96 pixels per inch.
MAX_WIDTH_INCHES = 9.5

_HIGHLIGHT = "#ef6c00"
_CERT = "#546e7a"


def _ids(deployment: Deployment) -> dict[str, str]:
    """Actor names as Traces write them → node ids."""
    ids: dict[str, str] = {deployment.enrollment_service.name: "enrollment"}
    for cluster in deployment.clusters.values():
        ids[cluster.name] = f"cluster_{cluster.name}"
        for server in cluster.servers:
            ids[server.name] = f"server_{server.name}"
    for client in deployment.clients.values():
        ids[client.name] = f"client_{client.name}"
    for computer in deployment.computers.values():
        ids[computer.name] = f"computer_{computer.name}"
    for user in deployment.directory.users.values():
        ids[str(user)] = f"user_{user.name}"
    return ids


def deployment_graph(deployment: Deployment, step: Step | None = None) -> graphviz.Digraph:
    """The deployment, with ``step``'s actors and message highlighted when given."""
    ids = _ids(deployment)
    active = {ids.get(step.actor), ids.get(step.target or "")} if step else set()
    graph = graphviz.Digraph("deployment", graph_attr={
        "rankdir": "BT", "fontname": "Helvetica", "fontsize": "10", "bgcolor": "white",
        "nodesep": "0.3", "ranksep": "0.5", "size": f"{MAX_WIDTH_INCHES},40"},
        node_attr={"shape": "box", "style": "rounded,filled", "fillcolor": "#fafafa",
                   "fontname": "Helvetica", "fontsize": "10", "color": "#90a4ae"},
        edge_attr={"fontname": "Helvetica", "fontsize": "8", "color": _CERT})

    def node(node_id: str, label: str, **attrs: str) -> None:
        if node_id in active:
            attrs = {**attrs, "color": _HIGHLIGHT, "penwidth": "3", "fillcolor": "#fff3e0"}
        graph.node(node_id, label, **attrs)

    service = deployment.enrollment_service
    node("enrollment", f"{service.name}\nroot key {service.anchor.short_fingerprint[:8]} "
                       "(pinned)", shape="doubleoctagon", fillcolor="#fff8e1")
    for cluster in deployment.clusters.values():
        cid = f"cluster_{cluster.name}"
        with graph.subgraph(name=f"cluster_box_{cluster.name}") as box:
            box.attr(label=f"{cluster.name} — {cluster.role}\n{cluster.url}", style="rounded",
                     color="#78909c", fontname="Helvetica", fontsize="10", labelloc="t")
            for server in cluster.servers:
                sid = f"server_{server.name}"
                label = f"{server.name}{' (first)' if server.first else ''}"
                if sid in active:
                    box.node(sid, label, color=_HIGHLIGHT, penwidth="3", fillcolor="#fff3e0")
                else:
                    box.node(sid, label)
            slc = cluster.resources()
            state = (f"SLC until {slc.slc_expires:%Y-%m-%d}" if slc.slc_expires else "no SLC")
            box.node(cid, f"cluster key {cluster.key.public.short_fingerprint[:8]}\n{state}",
                     shape="note", fillcolor="#e3f2fd")
        if cluster.enrolled:
            issuer_key = cluster.slc.issuer_key
            signer = next((f"cluster_{c.name}" for c in deployment.clusters.values()
                           if c is not cluster and c.enrolled and c.key.public == issuer_key),
                          "enrollment")
            graph.edge(cid, signer, label="SLC self-enrolled under" if cluster.self_enrolled
                       else "SLC signed by")
    for client in deployment.clients.values():
        cid = f"client_{client.name}"
        with graph.subgraph(name=f"cluster_client_{client.name}") as box:
            box.attr(label=client.name, style="rounded,dashed", color="#b0bec5",
                     fontname="Helvetica", fontsize="10", labelloc="t")
            state = "activated" if client.activated else "not activated"
            if cid in active:
                box.node(cid, f"machine key {client.machine_key.public.short_fingerprint[:8]}\n"
                              f"{state}", color=_HIGHLIGHT, penwidth="3", fillcolor="#fff3e0")
            else:
                box.node(cid, f"machine key {client.machine_key.public.short_fingerprint[:8]}\n"
                              f"{state}")
            for name, account in client.accounts.items():
                uid = f"user_{name}"
                user = deployment.directory.users.get(name)
                label = f"{user.email if user else name}\nRAC" + (" + CLC" if account.clc_text else "")
                if uid in active:
                    box.node(uid, label, shape="ellipse", color=_HIGHLIGHT, penwidth="3",
                             fillcolor="#fff3e0")
                else:
                    box.node(uid, label, shape="ellipse")
                # the user below the machine: one column per client keeps the picture narrow
                box.edge(uid, cid, style="invis")
        if client.activated:  # the client signed it, under the vendor's SPC issuer chain
            graph.edge(cid, "enrollment", label="machine cert (SPC issuer)", style="dashed",
                       constraint="false")
        issuers = {account.rac.issuer_key for account in client.accounts.values()}
        for cluster in deployment.clusters.values():
            if cluster.key.public in issuers:
                graph.edge(cid, f"cluster_{cluster.name}", label="RACs issued by",
                           style="dashed")
    for computer in deployment.computers.values():
        node(f"computer_{computer.name}", f"{computer.name}\n(submits request files)",
             shape="component")
    for user in deployment.directory.users.values():
        uid = f"user_{user.name}"
        if uid in active and not any(user.name in c.accounts for c in deployment.clients.values()):
            node(uid, str(user), shape="ellipse")
    if step is not None and step.target:
        source, target = ids.get(step.actor), ids.get(step.target)
        if source and target and source != target:
            graph.edge(source, target, label=_short(step.action), color=_HIGHLIGHT,
                       fontcolor=_HIGHLIGHT, penwidth="2.5", constraint="false")
    return graph


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def step_picture(deployment: Deployment) -> Callable[[Step], graphviz.Digraph]:
    """A ``picture`` callable for the stepper: the deployment with the step highlighted."""
    def picture(step: Step) -> graphviz.Digraph:
        return deployment_graph(deployment, step)
    return picture
