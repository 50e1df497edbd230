"""The loopback HTTP service for the online paths (DESIGN.md ``service/``).

:class:`LoopbackService` serves what a deployment publishes at URLs — revocation lists
(R-4) — the enrollment service's enrollment and renewal (E-3, S-2), clusters' licensing
(L-1, P-7) and the root cluster's certification of clients (E-7, E-9), over real HTTP on
127.0.0.1; :class:`HttpTransport`, :class:`RemoteEnrollmentService`,
:class:`RemoteLicensingService` and :class:`RemoteCertificationService` are how clients
and servers reach it.
The lab's made-up host names are carried in the request path (``/HOST/PATH``), so
nothing needs name resolution.
"""

from rmslab.service.http import (HttpTransport, LoopbackService, RemoteCertificationService,
                                 RemoteEnrollmentService, RemoteLicensingService)

__all__ = ["HttpTransport", "LoopbackService", "RemoteCertificationService",
           "RemoteEnrollmentService", "RemoteLicensingService"]
