"""Where documents are published for download: the URLs of revocation lists (SPEC R-4).

A client reaches a URL only while it is connected. By default the transport is
in-process; :meth:`Web.use` switches it to another (real HTTP on loopback:
:class:`rmslab.service.HttpTransport`).
"""

from __future__ import annotations

from typing import Protocol

from rmslab.errors import InputError, NotConnectedError

__all__ = ["Web", "Transport"]


class Transport(Protocol):
    def get(self, url: str) -> str: ...


class Web:
    """Documents published at URLs."""

    def __init__(self) -> None:
        self._documents: dict[str, str] = {}
        self._transport: Transport | None = None

    def use(self, transport: Transport | None) -> None:
        """Fetch through ``transport`` from now on (None: in-process again)."""
        self._transport = transport

    def publish(self, url: str, text: str) -> None:
        self._documents[url] = text

    def published(self) -> dict[str, str]:
        return dict(self._documents)

    def fetch(self, url: str, *, connected: bool, who: str) -> str:
        """Download ``url`` for ``who``."""
        if not connected:
            raise NotConnectedError(f"{who} is not connected and cannot download {url}",
                                    spec_id="R-4")
        if self._transport is not None:
            return self._transport.get(url)
        try:
            return self._documents[url]
        except KeyError:
            raise InputError(f"nothing is published at {url}") from None
