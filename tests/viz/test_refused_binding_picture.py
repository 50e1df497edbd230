"""A refused binding is drawn as refused: the documents the refusal concerns are marked
on the picture, and a revoked issuer's certificate is named — never every box green
(issue 15, "fix what a reviewer found").

covers: R-1, R-3, B-2
"""

from __future__ import annotations

import io
import re

from rmslab.deployment import Deployment, standard_deployment
from rmslab.flows.binding import AppSession, explain_binding
from rmslab.flows.licensing import acquire_use_license
from rmslab.flows.publishing import publish_online
from rmslab.flows.revocation import issue_cluster_list, requirement_for
from rmslab.lab import Lab
from rmslab.report import Verdict
from rmslab.revocation import Revoke
from rmslab.rights import Grant, RightsPolicy
from rmslab.teaching import binding_picture
from rmslab.viz.chain import VERDICT_STYLES

RED, GREEN = VERDICT_STYLES[Verdict.INVALID].colour, VERDICT_STYLES[Verdict.VALID].colour


def _colours(source: str) -> dict[int, str]:
    return {int(m.group(1)): m.group(2)
            for m in re.finditer(r'^\s*d(\d+) \[label="[^"]*" color="(#[0-9a-f]{6})"', source,
                                       re.MULTILINE)}


def _world() -> tuple[Deployment, str]:
    """Bob holds a use license from the licensing-only cluster A that requires A's list."""
    d = standard_deployment(Lab())
    a = d.clusters["contoso-licensing"]
    bob = d.user("bob")
    policy = RightsPolicy((Grant(bob.email, ("VIEW",)),),
                          revocation=requirement_for(a.revocation_url, a.key.public))
    pl = publish_online(a, d.clients["CAROL-PC"], d.user("carol"), policy, b"x",
                        io.BytesIO()).publishing_license
    acquire_use_license(a, d.clients["BOB-PC"], bob, pl, anchor=d.enrollment_service.anchor)
    return d, pl


def _draw(d: Deployment, pl: str, right: str = "VIEW") -> str:
    word = AppSession(d.clients["BOB-PC"], d.user("bob"), "Word", web=d.web)
    anchor = d.enrollment_service.anchor
    binding = explain_binding(word, pl, right, anchor=anchor)
    return binding_picture(word, pl, anchor=anchor, binding=binding).source


def test_a_revoked_issuer_marks_the_document_it_signed_and_its_own_certificate() -> None:
    d, pl = _world()
    a, c = d.clusters["contoso-licensing"], d.root_cluster
    d.web.publish(a.revocation_url, issue_cluster_list(a, a.revocation_url, [
        Revoke("issuer", "issuer-key", key=c.key.public)]))
    source = _draw(d, pl)
    colours = _colours(source)
    # #0 the use license (A signed it), #1 A's SLC (C signed it), #2 C's SLC (holds C's key)
    assert colours[1] == RED and colours[2] == RED
    assert colours[0] == GREEN and colours[3] == GREEN
    assert "✗ signed by a revoked issuer" in source
    assert "✗ revoked issuer: its key is revoked" in source
    assert "refused at step 4" in source
    assert f'fontcolor="{RED}"' in source  # the caption says the refusal in red


def test_revoked_content_marks_the_use_license() -> None:
    d, pl = _world()
    a = d.clusters["contoso-licensing"]
    content_id = next(iter(d.clients["BOB-PC"].account("bob").licenses))
    d.web.publish(a.revocation_url, issue_cluster_list(a, a.revocation_url, [
        Revoke("content", "content-id", content_id)]))
    colours = _colours(source := _draw(d, pl))
    assert colours[0] == RED and set(colours.values()) - {RED} == {GREEN}
    assert "is revoked" in source


def test_a_right_not_granted_marks_the_use_license_and_an_allowed_binding_marks_nothing() -> None:
    d, pl = _world()
    a = d.clusters["contoso-licensing"]
    d.web.publish(a.revocation_url, issue_cluster_list(a, a.revocation_url, []))
    refused = _draw(d, pl, "PRINT")
    assert _colours(refused)[0] == RED
    assert "binding refused [B-2]: the use license grants PRINT" in refused
    allowed = _draw(d, pl, "VIEW")
    assert set(_colours(allowed).values()) == {GREEN}
    assert "✗" not in allowed and f'fontcolor="{RED}"' not in allowed
