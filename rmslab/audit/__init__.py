"""Audit: findings with stable IDs, severity and remediation, over a deployment
(SPEC A-2) — and the same checks rmslab makes everywhere else, reported instead of
raised.

Each finding names its subject (a cluster, a client, a user, a document) and says what
to do. :class:`AuditReport` renders as JSON (stable keys) and as a self-contained HTML
page with the deployment picture.
"""

from rmslab.audit.findings import AuditReport, Finding, audit_deployment

__all__ = ["AuditReport", "Finding", "audit_deployment"]
