"""One file of a share, inventoried: what protects it, who issued it, whether it verifies
(SPEC A-1, P-7).

:func:`inventory_file` is the per-file work of ``rmslab inventory`` — the same function
runs in this process, in a process pool and on a Dask cluster. It takes only plain
values (a path, anchors and trusted publishing domains as PEM bytes) and returns a plain
dictionary, so it travels between processes and machines unchanged.

The issuing cluster of content published online is the publishing license's issuer,
whose certificate (the SLC) follows it in the chain; content published offline is signed
with the author's client licensor certificate (P-3), and the cluster that issued that
CLC — the one that licenses the content (P-7) — is the CLC's issuer.
"""

from __future__ import annotations

import functools
import os
from datetime import datetime, timezone
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from rmslab.crypto.rsa import PublicKey
from rmslab.errors import InputError, KeyFormatError, NotProtectedError, RmslabError
from rmslab.xrml.document import XrmlDocument
from rmslab.xrml.model import Principal, format_time

__all__ = ["inventory_file", "inventory_batch", "FIELDS", "Settings"]

#: The columns of a record, in the order of the CSV file.
FIELDS = ("path", "status", "kind", "size", "content_id", "owner", "issued",
          "template_id", "template_name", "mode", "cipher", "published", "server",
          "licensing_urls", "slc_fingerprint", "tpd", "author_clc", "author_clc_until",
          "verification", "reason")

#: (anchors, domains): anchors as PEM bytes; trusted publishing domains as (name, PEM).
Settings = tuple[tuple[bytes, ...], tuple[tuple[str, bytes], ...]]


@functools.lru_cache(maxsize=8)
def _keys(settings: Settings) -> tuple[tuple[PublicKey, ...], dict[str, str]]:
    anchors, domains = settings
    try:
        keys = tuple(PublicKey.from_pem(p) for p in anchors)
        named = {PublicKey.from_pem(pem).fingerprint: name for name, pem in domains}
    except (ValueError, KeyFormatError) as exc:
        raise KeyFormatError(f"an anchor or domain key cannot be read: {exc}") from None
    return keys, named


def _template(leaf: XrmlDocument) -> tuple[str | None, str | None]:
    """The template a publishing license was made from, where the license names it in
    its application-specific data (MS-RMPR 2.2.9.7.6); rmslab's own licenses name none."""
    template_id = template_name = None
    for data in leaf.element.iterfind("BODY/AUTHENTICATEDDATA[@id='APPSPECIFIC']"):
        name = (data.get("name") or "").lower()
        value = (data.text or "").strip() or None
        if name in ("templateid", "template-id", "msip_templateid"):
            template_id = value
        elif name in ("templatename", "template-name"):
            template_name = value
    return template_id, template_name


def _verification(chain: Any, anchors: tuple[PublicKey, ...], at: datetime) -> str:
    """The chain's verdict (:class:`rmslab.report.Verdict`) at ``at``: against each anchor
    given, the first that makes it valid; without anchors at best "unanchored"."""
    from rmslab.report import Verdict, examine
    if not anchors:
        report = examine(chain, at=at)
        verdict = report.verdict
        return verdict.value if verdict in (Verdict.UNANCHORED, Verdict.VALID) else \
            f"{verdict.value}: {_first_error(report)}"
    # against several roots, the verdict closest to valid: a chain out of its time
    # against its own root is "expired", not "invalid" because another root is foreign
    rank = {Verdict.VALID: 0, Verdict.EXPIRED: 1, Verdict.NOT_YET_VALID: 1,
            Verdict.UNANCHORED: 2, Verdict.INVALID: 3}
    best: tuple[int, str] | None = None
    for anchor in anchors:
        report = examine(chain, at=at, anchor=anchor)
        if report.verdict is Verdict.VALID:
            return f"valid (anchor {anchor.short_fingerprint})"
        found = (rank[report.verdict], f"{report.verdict.value}: {_first_error(report)}")
        if best is None or found[0] < best[0]:
            best = found
    assert best is not None
    return best[1]


def _first_error(report: Any) -> str:
    for document in report.documents:
        for error in document.errors:
            return f"#{document.index} {error.code}: {error.message}"
    return "no document"


def describe(artefact: Any, chain: Any, settings: Settings, at: datetime) -> dict[str, Any]:
    """The record of a protected artefact whose license chain is ``chain``, its chain
    verified at ``at``."""
    anchors, domains = _keys(settings)
    leaf = chain.leaf
    record: dict[str, Any] = {"kind": artefact.kind, "status": "protected"}
    if leaf.kind != "Microsoft Rights Label":
        record["status"] = "license"
        record["reason"] = f"holds a {leaf.kind_name}, not protected content"
    record["content_id"] = leaf.content_id
    record["owner"] = leaf.owner
    record["issued"] = format_time(leaf.issued) if leaf.issued else None
    record["template_id"], record["template_name"] = _template(leaf)
    record["mode"] = leaf.mode
    payload = artefact.payload
    cipher = payload.cipher if payload is not None and payload.cipher else None
    if cipher is None and payload is not None:
        cipher = "AES-128-ECB" if leaf.mode == 1 else "AES-128-CBC4K"
    record["cipher"] = cipher
    issuer_doc = next((d for d in chain.documents[1:]
                       if leaf.issuer_key is not None and d.certifies(leaf.issuer_key)), None)
    if issuer_doc is not None and issuer_doc.kind == "Client-Licensor-Certificate":
        record["published"] = "offline"
        record["author_clc"] = issuer_doc.id
        validity = issuer_doc.validity
        record["author_clc_until"] = (format_time(validity.not_after)
                                      if validity and validity.not_after else None)
        server_key = issuer_doc.issuer_key
        server = issuer_doc.issuer
    else:
        record["published"] = "online" if issuer_doc is not None else "unknown"
        server_key = leaf.issuer_key
        server = leaf.issuer
    record["server"] = _server_name(server, leaf.license_acquisition_urls)
    record["licensing_urls"] = " ".join(leaf.license_acquisition_urls)
    record["slc_fingerprint"] = server_key.fingerprint if server_key is not None else None
    record["tpd"] = domains.get(record["slc_fingerprint"] or "")
    record["verification"] = _verification(chain, anchors, at)
    return record


def inventory_file(path: str, settings: Settings = ((), ()),
                   at: datetime | None = None) -> dict[str, Any]:
    """The record of one file, its chain verified at ``at`` (default: now): never raises
    for what the file holds — a file rmslab cannot read is a record with status
    ``unreadable`` and the reason."""
    from rmslab.containers import open_artefact
    from rmslab.xrml.reader import parse
    record: dict[str, Any] = {name: None for name in FIELDS}
    record["path"] = path
    try:
        record["size"] = os.stat(path).st_size
        artefact = open_artefact(path)
        record["kind"] = artefact.kind
        chain = parse(artefact.license_text, source=path)
        record.update(describe(artefact, chain, settings, at or datetime.now(timezone.utc)))
    except NotProtectedError as exc:
        record["status"] = "not-protected"
        record["reason"] = _reason(exc, path)
    except (InputError, RmslabError, RecursionError) as exc:
        record["status"] = "unreadable"
        record["reason"] = _reason(exc, path) if str(exc) else type(exc).__name__
    except OSError as exc:
        record["status"] = "unreadable"
        record["reason"] = exc.strerror or str(exc)
    return record


def _reason(exc: BaseException, path: str) -> str:
    text = str(exc)
    return text[len(path) + 2:] if text.startswith(path + ": ") else text


def inventory_batch(paths: list[str], settings: Settings = ((), ()),
                    at: datetime | None = None) -> list[dict[str, Any]]:
    """:func:`inventory_file` over several paths (one task of a pool or a cluster), every
    chain verified at the same moment ``at`` (default: now)."""
    moment = at or datetime.now(timezone.utc)
    return [inventory_file(p, settings, moment) for p in paths]


def _server_name(server: Principal | None, licensing_urls: Iterable[str]) -> str | None:
    """The issuing cluster as an administrator names it: the principal's NAME; an SLC
    the enrollment service issued has none (MS-RMPR 2.2.9.3.3), so the host of its URL,
    else the host of the license's first License-Acquisition point (the cluster that
    licenses the content)."""
    if server is not None and server.name:
        return server.name
    own = [server.url] if server is not None and server.url else []
    for url in (*own, *licensing_urls):
        host = urlsplit(url).hostname
        if host:
            return host
    return None
