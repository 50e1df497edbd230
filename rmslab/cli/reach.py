"""Which server a content command (``protect``, ``open``, ``unprotect``) talks to, and how:
a cluster by name, the one service discovery finds (D-7), the one a publishing license
names, the cluster at a base URL given with ``--server`` (its servers answering on
loopback for the command), or a running ``rmslab serve`` at the address it prints."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, TextIO

from rmslab.errors import InputError

__all__ = ["named_cluster", "discovered_cluster", "served_address", "AnsweredAlready",
           "served_cluster", "server_cluster", "on_the_wire", "licensing_cluster"]


def named_cluster(deployment: Any, name: str | None) -> Any:
    """The named cluster of the lab (the root cluster when no name is given)."""
    if not name:
        return deployment.root_cluster
    if name not in deployment.clusters:
        raise InputError(f"no cluster {name!r}; the lab has {', '.join(deployment.clusters)}")
    return deployment.clusters[name]


def discovered_cluster(deployment: Any, client: Any, out: TextIO) -> Any:
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


def served_address(url: str) -> tuple[str, int] | None:
    """A URL of a running ``rmslab serve`` on this machine —
    ``http://127.0.0.1:PORT/HOST/BASE`` (or ``localhost``), the lab host as the path's first
    segment, as ``rmslab serve`` prints it — as the lab base URL it stands for
    (``https://HOST/BASE``) and the port; None for any other URL."""
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    if parts.scheme != "http" or (parts.hostname or "") not in ("127.0.0.1", "localhost"):
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    host, _, rest = parts.path.lstrip("/").partition("/")
    if port is None or not host:
        return None
    return f"https://{host}/{rest}".rstrip("/"), port


class AnsweredAlready:
    """The licensing endpoint of a use license a running ``rmslab serve`` answered before
    the command took the lab (``open --server``, :mod:`rmslab.cli.content`): the client
    takes it into its store as any answer, and binding checks it as any use license."""

    def __init__(self, cluster: Any, answer: str, url: str) -> None:
        self.name = cluster.name
        self._server_name = cluster.first_server.name
        self.answer = answer
        self.url = url

    @property
    def server_name(self) -> str:
        return str(self._server_name)

    @property
    def reachable(self) -> bool:
        return True

    def license(self, protected_chain: str, rac_text: str, *, anchor: Any, trace: Any,
                to: str) -> str:
        trace.step(self.server_name, f"answered AcquireLicense over SOAP at {self.url} (a "
                                     "running rmslab serve)", to)
        return self.answer


def served_cluster(deployment: Any, address: str, base_url: str) -> Any:
    """The cluster a running ``rmslab serve`` answers for at ``address`` (whose lab base
    URL is ``base_url``)."""
    try:
        return server_cluster(deployment, base_url)
    except InputError:
        raise InputError(f"--server {address!r} names the lab host of no cluster of this "
                         "lab; rmslab serve prints each cluster's address (its clusters: "
                         + ", ".join(c.url for c in deployment.clusters.values()) + ")"
                         ) from None


def server_cluster(deployment: Any, url: str) -> Any:
    """The cluster of the lab whose base URL ``--server`` names."""
    wanted = url.rstrip("/").lower()
    for cluster in deployment.clusters.values():
        if cluster.url.lower() == wanted or wanted.startswith(cluster.url.lower() + "/"):
            return cluster
    raise InputError(f"--server {url!r} is not the base URL of a cluster of this lab; its "
                     f"clusters are at {', '.join(c.url for c in deployment.clusters.values())}")


@contextlib.contextmanager
def on_the_wire(deployment: Any, url: str | None) -> Iterator[int | None]:
    """With ``--server``: the lab's servers answer SOAP on loopback for this command (as
    ``rmslab serve`` runs them), and the port they listen on; without, None (every step
    in process)."""
    if not url:
        yield None
        return
    from rmslab.service import LoopbackService
    with LoopbackService.of(deployment) as served:
        yield served.port


def licensing_cluster(deployment: Any, pl: Any) -> Any:
    """The cluster at the license URL the publishing license names (the root cluster when
    none of the lab's is there)."""
    urls = pl.license_acquisition_urls
    url = urls[0] if urls else ""
    return next((c for c in deployment.clusters.values() if url.startswith(c.url)),
                deployment.root_cluster)
