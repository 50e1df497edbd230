"""Where documents are published for download: the URLs of revocation lists (SPEC R-4).

rmslab's transport is in-process: a client reaches a URL only while it is connected.
"""

from __future__ import annotations

from rmslab.errors import InputError, NotConnectedError

__all__ = ["Web"]


class Web:
    """Documents published at URLs."""

    def __init__(self) -> None:
        self._documents: dict[str, str] = {}

    def publish(self, url: str, text: str) -> None:
        self._documents[url] = text

    def published(self) -> dict[str, str]:
        return dict(self._documents)

    def fetch(self, url: str, *, connected: bool, who: str) -> str:
        """Download ``url`` for ``who``."""
        if not connected:
            raise NotConnectedError(f"{who} is not connected and cannot download {url}",
                                    spec_id="R-4")
        try:
            return self._documents[url]
        except KeyError:
            raise InputError(f"nothing is published at {url}") from None
