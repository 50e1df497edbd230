"""A small, complete chain built in a lab, for the first lessons and the benchmarks.

Root key (the pinned anchor; like the real "Production Root", it has no certificate of
its own) → CA certificate → server licensor certificate → client licensor certificate
→ publishing license. Every name is fictional (``contoso.example``). The enrollment and
publishing flows of later chapters build the same documents through the real steps;
this is the shortcut that lets a first lesson look at a chain at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from rmslab.crypto.rsa import PrivateKey, PublicKey
from rmslab.lab import Lab
from rmslab.xrml.model import Principal
from rmslab.xrml.reader import Chain, parse
from rmslab.xrml.writer import RightSpec, license_body, sign

__all__ = ["TeachingChain", "teaching_chain", "data_path", "DATA_ENVIRONMENT"]

#: The environment variable that names the data folder when rmslab is not run from a
#: checkout of its repository.
DATA_ENVIRONMENT = "RMSLAB_DATA"

CLUSTER_URL = "https://rms.contoso.example/_wmcs"


@dataclass(frozen=True)
class TeachingChain:
    """The chain (leaf first), the anchor to pin, and the private keys of each signer."""

    chain: Chain
    anchor: PublicKey
    keys: dict[str, PrivateKey] = field(repr=False)

    @property
    def text(self) -> str:
        return self.chain.text


def teaching_chain(lab: Lab, *, user: str = "alice@contoso.example") -> TeachingChain:
    """Build root → CA → SLC → CLC → publishing license in ``lab``."""
    now = lab.now()
    alg = lab.digest_algorithm
    root_key, ca_key = lab.key("enrollment-root"), lab.key("enrollment-ca")
    slc_key, clc_key = lab.key("cluster:contoso"), lab.key(f"clc:{user}")

    root = Principal("DRM-Certificate-Authority", lab.guid(), "MS-GUID", "rmslab Root", (),
                     root_key.public)
    ca = Principal("DRM-Certificate-Authority", lab.guid(), "MS-GUID",
                   "rmslab Server Enrollment CA", (), ca_key.public)
    server = Principal("MS-DRM-Server", lab.guid(), "MS-GUID", "CONTOSO-RMS",
                       (("URL", CLUSTER_URL),), slc_key.public,
                       (("Server-Version", "6.3.9600.0"), ("Server-SKU", "rmslab-lab")))
    author = Principal("Group-Identity", lab.guid(), "MS-GUID", user,
                       (("email_alias", user),), clc_key.public)

    def certificate(kind: str, issuer: Principal, subject: Principal, years: int) -> str:
        doc_id = lab.guid()
        return license_body(kind=kind, id=doc_id, issued=now, issuer=issuer,
                            principals=[subject],
                            rights=[RightSpec("ISSUE", "1", now - timedelta(days=1),
                                              now + timedelta(days=365 * years))])

    ca_doc = sign(certificate("DRM-CA-Certificate", root, ca, 20), root_key, alg)
    slc_doc = sign(certificate("Server-Licensor-Certificate", ca, server, 10), ca_key, alg)
    clc_doc = sign(certificate("Client-Licensor-Certificate", server, author, 1), slc_key, alg)
    from rmslab.flows.publishing import publishing_license_text
    from rmslab.rights import Grant, RightsPolicy
    pl_body = publishing_license_text(
        lab, issuer=author, server=server, license_id=lab.guid(), content_id=lab.guid(),
        owner=user, policy=RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),)),
        intranet=f"{CLUSTER_URL}/licensing")
    pl_doc = sign(pl_body, clc_key, alg)
    text = pl_doc + clc_doc + slc_doc + ca_doc
    keys = {"root": root_key, "ca": ca_key, "slc": slc_key, "clc": clc_key}
    return TeachingChain(parse(text, source="teaching chain"), root_key.public, keys)


def data_path(*parts: str) -> Path:
    """A file or folder of the repository's ``data/`` (``.reg`` files, LDIF exports,
    licenses, documents broken on purpose), found from the package — so a notebook runs
    from any working directory. ``$RMSLAB_DATA`` names another data folder. Each part is
    one name: no separators, no ``..``."""
    from rmslab.errors import InputError
    for part in parts:
        if not part or part in (".", "..") or "/" in part or "\\" in part:
            raise InputError(f"{part!r} is not a name in the data folder")
    configured = os.environ.get(DATA_ENVIRONMENT)
    base = Path(configured) if configured else Path(__file__).resolve().parent.parent / "data"
    if not base.is_dir():
        raise InputError(f"the data folder {base} does not exist: run from a checkout of the "
                         f"rmslab repository, or set {DATA_ENVIRONMENT}")
    return base.joinpath(*parts)
