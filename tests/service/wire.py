"""Talking to the lab's servers by hand, as an attacker or a test would: raw HTTP, and
SOAP requests written with rmslab's own envelope writer."""

from __future__ import annotations

import http.client
from dataclasses import dataclass

from rmslab.actors.people import User
from rmslab.lab import Lab
from rmslab.service.auth import basic_authorization, password_for
from rmslab.service.soap import Node, read_envelope, read_fault, write_envelope

__all__ = ["Answer", "post", "soap", "login", "DRM"]

DRM = "http://microsoft.com/DRM/"


@dataclass
class Answer:
    status: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def fault(self) -> str:
        """The faultstring (empty when the answer is no fault)."""
        try:
            fault = read_fault(read_envelope(self.body))
        except Exception:  # noqa: BLE001 - not an envelope at all
            return ""
        return fault.string if fault else ""


def post(port: int, path: str, body: bytes, *, headers: dict[str, str] | None = None,
         timeout: float = 15) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", path, body=body,
                           headers={"Content-Type": "text/xml; charset=utf-8",
                                    **(headers or {})})
        response = connection.getresponse()
        return Answer(response.status, response.read())
    finally:
        connection.close()


def login(lab: Lab, user: User) -> dict[str, str]:
    return {"Authorization": basic_authorization(user.account, password_for(lab, user))}


def soap(port: int, path: str, service: str, element: Node, *,
         headers: dict[str, str] | None = None,
         versions: tuple[str, str] | None = ("1.0.0.0", "1.0.0.0")) -> Answer:
    """POST one SOAP request to ``path`` (``/HOST/…``) of the service ``service``
    (``CertificationService``, ``LicensingService``, …)."""
    return post(port, path, write_envelope(DRM + service, element, versions=versions),
                headers=headers)
