"""A generated file share: protected files of every container kind, published by the
clusters of one or more labs, with unprotected and corrupt files among them — what the
inventory's tests, benchmark and notebook walk.

Each cluster publishes a few originals for real (online through each cluster, offline
with an author's CLC when one is enrolled, P-3/P-8); the share's files carry those
licenses and sealed contents in containers of every kind (:func:`rewrap`). The spec of
the share says exactly how many files each SLC key protects.
"""

from __future__ import annotations

import io
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from rmslab.containers.convert import WRITABLE, rewrap
from rmslab.crypto.rsa import PublicKey
from rmslab.deployment import Deployment
from rmslab.rights import Grant, RightsPolicy

__all__ = ["ShareSpec", "generate_share", "EXTENSIONS"]

EXTENSIONS = {"protected-file": ".ptxt", "office-ooxml": ".docx", "office-binary": ".xls",
              "rpmsg": ".rpmsg", "outlook-msg": ".msg", "pdf-irm-v1": ".pdf",
              "pdf-irm-v2": ".pdf", "pdf-irm-v2-wrapper": ".pdf"}


@dataclass
class ShareSpec:
    """What a generated share holds."""

    root: Path
    files: int = 0
    protected: int = 0
    not_protected: int = 0
    corrupt: int = 0
    per_key: Counter[str] = field(default_factory=Counter)
    per_kind: Counter[str] = field(default_factory=Counter)
    offline: int = 0
    servers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Original:
    pfile: bytes
    key: str
    server: str
    offline: bool


def _originals(deployment: Deployment, per_cluster: int) -> list[_Original]:
    from rmslab.flows.publishing import publish_offline, publish_online
    domain = deployment.directory.domain
    clients = [c for c in deployment.clients.values() if c.accounts]
    found: list[_Original] = []
    for cluster in deployment.clusters.values():
        if not cluster.enrolled:
            continue
        for i in range(per_cluster):
            client = clients[i % len(clients)]
            name = sorted(client.accounts)[0]
            user = deployment.user(name)
            policy = RightsPolicy((Grant(f"{user.name}@{domain}", ("OWNER",)),
                                   Grant(f"finance@{domain}", ("VIEW",))))
            sink = io.BytesIO()
            content = f"document {i} of {cluster.name}\n".encode() * 40
            publish_online(cluster, client, user, policy, content, sink,
                           extension=".docx", original_size=len(content))
            found.append(_Original(sink.getvalue(), cluster.key.public.fingerprint,
                                   cluster.principal.name or cluster.host, False))
    for client in clients:
        for name, account in sorted(client.accounts.items()):
            if account.clc_text is None:
                continue
            from rmslab.xrml.reader import parse
            clc = parse(account.clc_text)[0]
            user = deployment.user(name)
            policy = RightsPolicy((Grant(f"{user.name}@{domain}", ("OWNER",)),))
            sink = io.BytesIO()
            publish_offline(client, user, policy, b"written on a train\n" * 30, sink,
                            extension=".docx", original_size=570)
            server_key = clc.issuer_key
            assert server_key is not None and clc.issuer is not None
            found.append(_Original(sink.getvalue(), server_key.fingerprint,
                                   clc.issuer.name or _host_of(deployment, server_key),
                                   True))
            break
    return found


def generate_share(directory: str | os.PathLike[str], deployments: Sequence[Deployment],
                   files: int, *, not_protected: float = 0.05, corrupt: float = 0.01,
                   per_cluster: int = 2, kinds: Sequence[str] = WRITABLE,
                   folder_size: int = 500) -> ShareSpec:
    """Write ``files`` files under ``directory``: every 1/``not_protected``-th file is an
    ordinary one, every 1/``corrupt``-th a protected file cut short; the rest are
    protected, round-robin over the originals of every lab and over ``kinds``."""
    root = Path(directory)
    spec = ShareSpec(root)
    originals = [o for d in deployments for o in _originals(d, per_cluster)]
    if not originals:
        raise ValueError("no cluster could publish: enroll a cluster first")
    wrapped: dict[tuple[int, str], bytes] = {}
    plain_every = round(1 / not_protected) if not_protected else 0
    corrupt_every = round(1 / corrupt) if corrupt else 0
    protected_index = 0
    for index in range(files):
        folder = root / f"dept-{index // folder_size:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        if plain_every and index % plain_every == plain_every - 1:
            (folder / f"notes-{index:06d}.txt").write_bytes(
                f"minutes of meeting {index}\n".encode() * 20)
            spec.not_protected += 1
            continue
        choice = protected_index % len(originals)
        kind = kinds[(protected_index // len(originals)) % len(kinds)]
        protected_index += 1
        original = originals[choice]
        data = wrapped.get((choice, kind))
        if data is None:
            data = wrapped[(choice, kind)] = rewrap(original.pfile, kind)
        name = f"file-{index:06d}{EXTENSIONS[kind]}"
        if corrupt_every and index % corrupt_every == corrupt_every // 2:
            (folder / name).write_bytes(data[:len(data) // 3])
            spec.corrupt += 1
            continue
        (folder / name).write_bytes(data)
        spec.protected += 1
        spec.per_key[original.key] += 1
        spec.per_kind[kind] += 1
        spec.offline += original.offline
        spec.servers[original.key] = original.server
    spec.files = files
    return spec


def _host_of(deployment: Deployment, key: PublicKey) -> str:
    """The host of the cluster whose SLC key is ``key`` (an SLC from the enrollment
    service names no server, MS-RMPR 2.2.9.3.3)."""
    return next((c.host for c in deployment.clusters.values()
                 if c.key.public.fingerprint == key.fingerprint), "?")
