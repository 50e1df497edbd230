"""The lab's servers on the wire (docs/architecture.md ``service/``): MS-RMPR's SOAP 1.1 services.

:class:`LoopbackService` runs the lab's clusters, enrollment service and published
documents as one WSGI application (:mod:`rmslab.service.app`) under waitress on
127.0.0.1; :class:`RemoteLicensingService`, :class:`RemotePublishingService`,
:class:`RemoteCertificationService`,
:class:`RemoteEnrollmentService` and :class:`HttpTransport` are the clients the flows use
to reach it. Envelopes are written and read in :mod:`rmslab.service.soap`, users
authenticated in :mod:`rmslab.service.auth`, refusals named in
:mod:`rmslab.service.faults`. The lab's made-up host names travel in the ``Host``
header (or a ``/HOST/`` path prefix), so nothing needs name resolution.
"""

from rmslab.service.auth import password_for
from rmslab.service.http import (HttpTransport, LoopbackService, RemoteCertificationService,
                                 RemoteEnrollmentService, RemoteLicensingService,
                                 RemotePublishingService)

__all__ = ["HttpTransport", "LoopbackService", "RemoteCertificationService",
           "RemoteEnrollmentService", "RemoteLicensingService", "RemotePublishingService",
           "password_for"]
