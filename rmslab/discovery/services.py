"""The RMS services a client can reach, and the shape of their URLs (SPEC D-1, D-4, D-7).

An AD RMS cluster serves ``<base>/certification`` and ``<base>/licensing`` under a base
URL such as ``https://rms.contoso.com/_wmcs``. The cloud service (Azure Rights
Management) serves each organisation (tenant) under its own host below ``aadrm.com`` —
the real publishing licenses in the corpus name ``https://<tenant id>.rms.na.aadrm.com
/_wmcs/licensing``. The ILS service (content protected for individual accounts; blocked
by ``DisablePassportCertification``) is represented in the lab by a host of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "CloudService", "AZURE_RMS", "CLOUD_DOMAIN", "ILS_HOST", "cluster_base", "certification_url",
    "licensing_url", "host_of", "is_http_url", "same_url", "is_cloud_url", "is_ils_url",
]

#: Hosts of the cloud service end with this domain.
CLOUD_DOMAIN = "aadrm.com"
#: The lab's stand-in host for the ILS service (the deployment notes name no URL for it).
ILS_HOST = "ils.rmslab.example"


@dataclass(frozen=True)
class CloudService:
    """The cloud service as one user's organisation reaches it."""

    name: str = "Azure Rights Management"
    tenant: str = "<tenant>"
    region: str = "na"

    @property
    def base_url(self) -> str:
        return f"https://{self.tenant}.rms.{self.region}.{CLOUD_DOMAIN}/_wmcs"

    @property
    def certification_url(self) -> str:
        return f"{self.base_url}/certification"

    @property
    def licensing_url(self) -> str:
        return f"{self.base_url}/licensing"


#: The cloud service with the tenant left open: service discovery falls back to it when
#: no on-premises server is found (D-7); which tenant answers depends on the user.
AZURE_RMS = CloudService()


def is_http_url(url: str) -> bool:
    parts = urlsplit(url.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def host_of(url: str) -> str:
    """The host name of ``url`` in lower case (``""`` when there is none)."""
    return (urlsplit(url.strip()).hostname or "").lower()


def cluster_base(url: str) -> str:
    """``https://rms.contoso.com/_wmcs/Licensing`` → ``https://rms.contoso.com/_wmcs``:
    the URL without its last path segment (``certification`` or ``licensing``)."""
    trimmed = url.strip().rstrip("/")
    last = trimmed.rsplit("/", 1)
    if len(last) == 2 and last[1].lower() in ("certification", "licensing"):
        return last[0]
    return trimmed


def certification_url(base: str) -> str:
    return f"{base.rstrip('/')}/certification"


def licensing_url(base: str) -> str:
    return f"{base.rstrip('/')}/licensing"


def same_url(a: str, b: str) -> bool:
    """Whether two service URLs name the same service: compared without regard to case
    (host names and IIS paths are case-insensitive) or a trailing slash."""
    return a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


def is_cloud_url(url: str) -> bool:
    host = host_of(url)
    return host == CLOUD_DOMAIN or host.endswith("." + CLOUD_DOMAIN)


def is_ils_url(url: str) -> bool:
    return host_of(url) == ILS_HOST
