"""The lessons' starting points, rebuilt for the checkers: the same seed and time as the
notebooks, so that keys, IDs and documents are the ones the student sees."""

from __future__ import annotations

import io

from rmslab.deployment import Deployment, standard_deployment
from rmslab.flows.licensing import acquire_use_license
from rmslab.flows.publishing import issue_template, policy_from_template, publish_online
from rmslab.flows.revocation import requirement_for
from rmslab.lab import Lab
from rmslab.rights import Grant, RightsPolicy

__all__ = ["standard", "revocation_world", "RevocationWorld"]


def standard() -> Deployment:
    """``standard_deployment`` in the default lab (seed 0, 2026-01-05 09:00 UTC)."""
    return standard_deployment(Lab())


class RevocationWorld:
    """Notebook 07's three documents for Bob: content 1 and 2 licensed by A (the
    licensing-only cluster; 1 requires A's list), content 3 by C (the root cluster)."""

    def __init__(self) -> None:
        self.deployment = d = standard()
        self.a, self.c = d.clusters["contoso-licensing"], d.root_cluster
        self.anchor = d.enrollment_service.anchor
        bob, carol = d.user("bob"), d.user("carol")
        self.bob, self.bob_pc = bob, d.clients["BOB-PC"]
        requirement = requirement_for(self.a.revocation_url, self.a.key.public, interval_days=7,
                                      list_id=self.a.principal.id or "")
        template = issue_template(self.a, "Contoso-Revocable",
                                  "Bob may view, and A's revocation list is required",
                                  RightsPolicy((Grant(bob.email, ("VIEW",)),),
                                               revocation=requirement))
        plain = RightsPolicy((Grant(bob.email, ("VIEW",)),))
        carol_pc = d.clients["CAROL-PC"]
        self.contents = {}
        for name, cluster, policy, text in (
                ("content 1", self.a, policy_from_template(template), b"Content 1\n"),
                ("content 2", self.a, plain, b"Content 2\n"),
                ("content 3", self.c, plain, b"Content 3\n")):
            protected = publish_online(cluster, carol_pc, carol, policy, text, io.BytesIO())
            acquire_use_license(cluster, self.bob_pc, bob, protected.publishing_license,
                                anchor=self.anchor)
            self.contents[name] = protected.publishing_license


def revocation_world() -> RevocationWorld:
    return RevocationWorld()
