"""The widgets a student changes (issue 15), driven from Python: every change re-runs the
checks the package makes, and the HTML says the new verdict (the browser test drives the
same widgets in Chromium).

covers: A-1, B-2, E-9, R-1, R-7
"""

from __future__ import annotations

import io
from datetime import timedelta

from rmslab.clock import watch_chain, watch_revocation_list
from rmslab.deployment import Deployment
from rmslab.flows import certify_account
from rmslab.flows.licensing import acquire_use_license
from rmslab.flows.publishing import publish_online
from rmslab.flows.revocation import issue_cluster_list
from rmslab.lab import Lab
from rmslab.revocation import Revoke
from rmslab.rights import Grant, RightsPolicy
from rmslab.samples import TeachingChain
from rmslab.widgets import edit_body, explore_binding, lab_clock
from rmslab.xrml import parse

UNTIL, LATER = "<UNTIL>2027-01-05T09:00</UNTIL>", "<UNTIL>2029-01-05T09:00</UNTIL>"


def test_the_body_editor_reruns_every_check_and_marks_the_changed_characters(
        teaching: TeachingChain) -> None:
    editor = edit_body(teaching.chain, 1, anchor=teaching.anchor, at=Lab().now())
    html = editor._result.value
    assert 'data-verdict="valid"' in html and "no character changed" in html
    editor.text.value = editor.text.value.replace(UNTIL, LATER)
    html = editor._result.value
    assert 'data-verdict="invalid"' in html
    assert 'data-check="digest"' in html and 'rmslab-check-fail" data-check="digest"' in html
    assert 'rmslab-check-pass" data-check="signature"' in html
    assert '<mark class="rmslab-changed" style="background: #ffcdd2">9</mark>' in html
    assert "changed: 1 character" in html
    editor.text.value = editor.text.value.replace(LATER, UNTIL)
    assert 'data-verdict="valid"' in editor._result.value
    editor.text.value = "<BODY>"
    assert 'data-verdict="unreadable"' in editor._result.value


def test_the_lab_clock_reads_validity_a_temporary_rac_and_a_list_again(
        deployment: Deployment) -> None:
    root, bob_pc = deployment.root_cluster, deployment.clients["BOB-PC"]
    anchor = deployment.enrollment_service.anchor
    certify_account(root, bob_pc, deployment.user("alice"), deployment.directory, temporary=True)
    licensing = deployment.clusters["contoso-licensing"]
    watches = [watch_chain("the temporary RAC", parse(bob_pc.account("alice").rac_text), anchor),
               watch_chain("the SLC", root.slc_chain, anchor),
               watch_revocation_list("the list of A", issue_cluster_list(
                   licensing, licensing.revocation_url, []), timedelta(days=7))]
    clock = lab_clock(watches, start=deployment.lab.now())

    def states() -> list[str]:
        html = clock._view.value
        return [html.split(f'data-label="{w.label}"')[1].split('data-state="')[1].split('"')[0]
                for w in watches]

    assert states() == ["valid", "valid", "fresh"]
    clock.slider.value = 1
    assert states() == ["expired", "valid", "fresh"]
    assert (deployment.lab.now() + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M") in clock._view.value
    clock.slider.value = 24 * 7 + 1
    assert states() == ["expired", "valid", "stale"]
    clock.slider.value = 24 * 366
    assert states() == ["expired", "expired", "stale"]


def test_the_binding_explorer_decides_again_for_each_choice(deployment: Deployment) -> None:
    licensing = deployment.clusters["contoso-licensing"]
    anchor = deployment.enrollment_service.anchor
    bob = deployment.user("bob")
    pl = publish_online(licensing, deployment.clients["CAROL-PC"], deployment.user("carol"),
                        RightsPolicy((Grant(bob.email, ("VIEW",)),)), b"x",
                        io.BytesIO()).publishing_license
    acquire_use_license(licensing, deployment.clients["BOB-PC"], bob, pl, anchor=anchor)
    deployment.web.publish(licensing.revocation_url, issue_cluster_list(
        licensing, licensing.revocation_url, [Revoke("application", "principal-id", "Word")]))
    explorer = explore_binding(deployment, pl, anchor=anchor)
    # no list is required and none registered: Word is not checked against A's list
    assert 'data-allowed="true"' in explorer._view.value
    explorer.right.value = "PRINT"
    assert 'data-allowed="false" data-rule="B-2"' in explorer._view.value
    explorer.right.value = "VIEW"
    explorer.user.value = "alice"  # carol, the author, holds an owner license
    assert 'data-allowed="false" data-rule="B-2"' in explorer._view.value
    assert "none: acquire a use license first" in explorer._view.value
