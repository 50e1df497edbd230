"""Revocation beyond the documentation's worked example (R-9): the third-party revocation
authority an SLC names (its REVOKE right) and refresh intervals in days, hours, minutes and seconds.

covers: R-3, R-7, R-8, E-4, MS-RMPR 2.2.9.7.9, MS-RMPR 2.2.9.9.10
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from rmslab.deployment import Deployment, standard_deployment
from rmslab.errors import InputError
from rmslab.flows.binding import AppSession, explain_binding
from rmslab.flows.licensing import acquire_use_license
from rmslab.flows.publishing import publish_online
from rmslab.flows.revocation import (issue_authority_list, issue_cluster_list, register_list,
                                     requirement_for)
from rmslab.lab import Lab
from rmslab.revocation import Revoke, revocation_authorities
from rmslab.rights import Grant, RevocationRequirement, RightsPolicy
from rmslab.xrml import parse
from rmslab.xrml.certificates import Revocation
from rmslab.xrml.model import describe_interval, interval_attributes, parse_interval

AUDIT_URL = "https://audit.contoso.example/revocation.xml"


@pytest.fixture(scope="module")
def audited() -> tuple[Deployment, object]:
    """A deployment whose root cluster named the revocation authority "Contoso Audit" when
    it enrolled (E-4); the authority's key pair."""
    lab = Lab()
    audit_key = lab.key("revoker:audit")
    return standard_deployment(lab, revocation=Revocation("Contoso Audit",
                                                          audit_key.public)), audit_key


def publish_for_bob(deployment: Deployment, cluster_name: str | None = None,
                    requirement: RevocationRequirement | None = None) -> str:
    cluster = (deployment.clusters[cluster_name] if cluster_name
               else deployment.root_cluster)
    bob = deployment.user("bob")
    result = publish_online(cluster, deployment.clients["CAROL-PC"], deployment.user("carol"),
                            RightsPolicy((Grant(bob.email, ("VIEW",)),), revocation=requirement),
                            b"minutes\n", io.BytesIO())
    acquire_use_license(cluster, deployment.clients["BOB-PC"], bob, result.publishing_license,
                        anchor=deployment.enrollment_service.anchor)
    return result.publishing_license


def test_the_slc_names_its_revocation_authority(audited: tuple[Deployment, object]) -> None:
    # E-4: the authority holds the SLC's REVOKE right
    deployment, audit_key = audited
    assert revocation_authorities(deployment.root_cluster.slc) == (audit_key.public,)  # type: ignore[attr-defined]
    licensing = deployment.clusters["contoso-licensing"]
    assert revocation_authorities(licensing.slc) == ()


def test_a_list_of_the_slcs_revocation_authority_applies(
        audited: tuple[Deployment, object]) -> None:
    # R-8 extended to the SLC's named revoker; R-3's order kept
    deployment, audit_key = audited
    anchor = deployment.enrollment_service.anchor
    from_root = publish_for_bob(deployment)
    from_licensing = publish_for_bob(deployment, "contoso-licensing")  # root's SLC in its chain
    revoked = [Revoke("content", "content-id", parse(c)[0].content_id)
               for c in (from_root, from_licensing)]
    text = issue_authority_list(deployment.lab, name="Contoso Audit", key=audit_key,  # type: ignore[arg-type]
                                url=AUDIT_URL, entries=revoked)
    for chain in (from_root, from_licensing):
        word = AppSession(deployment.clients["BOB-PC"], deployment.user("bob"), "Word")
        assert explain_binding(word, chain, "VIEW", anchor=anchor).allowed
        register_list(word, text, source=AUDIT_URL)
        binding = explain_binding(word, chain, "VIEW", anchor=anchor)
        assert not binding.allowed
        assert binding.failed is not None and binding.failed.spec_id == "R-1"
        applies = [c for c in binding.checks if c.spec_id == "R-8"]
        assert len(applies) == 1 and "CONDITIONLIST/REFRESH" in applies[0].description
        order = [c.spec_id for c in binding.checks if c.spec_id in ("R-1", "R-3", "R-8")]
        assert order == ["R-3", "R-8", "R-1"]  # step 1, the list applies, step 4


def test_a_list_of_anyone_else_does_not_apply(audited: tuple[Deployment, object]) -> None:
    # neither an issuer in the chain nor its SLC's named revoker
    deployment, _ = audited
    chain = publish_for_bob(deployment)
    stranger = deployment.lab.key("revoker:stranger")
    text = issue_authority_list(deployment.lab, name="Stranger", key=stranger,
                                url="https://stranger.example/list.xml",
                                entries=[Revoke("content", "content-id",
                                                parse(chain)[0].content_id)])
    word = AppSession(deployment.clients["BOB-PC"], deployment.user("bob"), "Word")
    register_list(word, text, source="https://stranger.example/list.xml")
    binding = explain_binding(word, chain, "VIEW", anchor=deployment.enrollment_service.anchor)
    assert binding.allowed
    assert not [c for c in binding.checks if c.spec_id == "R-8"]


# --- refresh intervals (MS-RMPR 2.2.9.7.9, 2.2.9.9.10) ----------------------------------------


def _interval(markup: str) -> timedelta:
    return parse_interval(etree.fromstring(markup), "test")


def test_refresh_intervals_in_every_unit_are_read() -> None:
    # MS-RMPR 2.2.9.9.10: days, hours, minutes and seconds, each omitted when zero
    assert _interval('<INTERVALTIME days="7" />') == timedelta(days=7)
    assert _interval('<INTERVALTIME hours="36" />') == timedelta(hours=36)
    assert _interval('<INTERVALTIME days="1" hours="2" minutes="3" seconds="4" />') == \
        timedelta(days=1, hours=2, minutes=3, seconds=4)
    assert _interval("<INTERVALTIME />") == timedelta(0)
    for bad in ('days="-1"', 'hours="1.5"', 'minutes="x"', 'days="²"', 'seconds="1234567890"'):
        with pytest.raises(InputError):
            _interval(f"<INTERVALTIME {bad} />")


def test_refresh_intervals_are_written_in_their_units() -> None:
    # MS-RMPR 2.2.9.7.9: zero units are omitted
    assert interval_attributes(timedelta(days=7)) == {"days": "7"}
    assert interval_attributes(timedelta(hours=36, seconds=5)) == \
        {"days": "1", "hours": "12", "seconds": "5"}
    assert interval_attributes(timedelta(0)) == {}
    assert describe_interval(timedelta(days=1, hours=12)) == "1 day 12 hours"
    assert describe_interval(timedelta(minutes=90)) == "1 hour 30 minutes"
    with pytest.raises(ValueError):
        interval_attributes(timedelta(seconds=-1))


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**9).map(lambda s: timedelta(seconds=s)))
def test_refresh_intervals_round_trip(interval: timedelta) -> None:
    # MS-RMPR 2.2.9.9.10: what is written reads back as the same interval
    attributes = "".join(f' {k}="{v}"' for k, v in interval_attributes(interval).items())
    assert _interval(f"<INTERVALTIME{attributes} />") == interval


def test_a_use_license_with_an_interval_in_hours_binds_and_goes_stale(
        deployment: Deployment) -> None:
    # R-7 with MS-RMPR 2.2.9.9.10: refused today as "not a number of days"
    a = deployment.clusters["contoso-licensing"]
    url = a.revocation_url
    requirement = requirement_for(url, a.key.public, interval=timedelta(hours=36))
    chain = publish_for_bob(deployment, "contoso-licensing", requirement)
    use_license = parse(deployment.clients["BOB-PC"].account("bob").licenses[
        parse(chain)[0].content_id or ""])[0]
    interval = use_license.element.find(".//REFRESH/INTERVALTIME")
    assert interval is not None and dict(interval.attrib) == {"days": "1", "hours": "12"}
    assert use_license.rights[0].refresh_interval == "1 day 12 hours"
    deployment.web.publish(url, issue_cluster_list(a, url, []))
    anchor = deployment.enrollment_service.anchor

    def word() -> AppSession:
        return AppSession(deployment.clients["BOB-PC"], deployment.user("bob"), "Word",
                          web=deployment.web)
    first = explain_binding(word(), chain, "VIEW", anchor=anchor)
    assert first.allowed
    assert "refreshed every 1 day 12 hours" in [c.reason for c in first.checks
                                                if c.spec_id == "R-3"][0]
    deployment.lab.advance(hours=35)
    assert explain_binding(word(), chain, "VIEW", anchor=anchor).allowed
    deployment.lab.advance(hours=2)
    stale = explain_binding(word(), chain, "VIEW", anchor=anchor)
    assert stale.failed is not None and stale.failed.spec_id == "R-7"
    assert "may be 1 day 12 hours old at most" in stale.failed.reason


def test_a_list_issued_in_the_future_is_not_fresh(deployment: Deployment) -> None:
    # fresh means issued within the interval before now, not after it
    a = deployment.clusters["contoso-licensing"]
    text = issue_cluster_list(a, a.revocation_url, [])
    index = parse(text)[0]
    from rmslab.revocation import RevocationIndex
    listed = RevocationIndex(index)
    assert listed.issued is not None
    assert listed.fresh(listed.issued, timedelta(seconds=0))
    assert not listed.fresh(listed.issued - timedelta(minutes=1), timedelta(days=7))


def _skeleton(element: etree._Element) -> list[str]:
    return [e.tag + "".join(f"[{a}={e.get(a)}]" for a in ("type",) if e.get(a) is not None)
            for e in element.iter() if isinstance(e.tag, str)]


def test_revocation_points_are_exactly_ms_rmpr_2_2_9_7_9(deployment: Deployment) -> None:
    # MS-RMPR 2.2.9.7.9 (publishing license) and 2.2.9.9.10 (use license): WORK/CONDITIONLIST
    # /REFRESH — DISTRIBUTIONPOINT (OBJECT type=Revocation: the list issuer's ID and its
    # type, NAME, ADDRESS type=URL; PUBLICKEY) and INTERVALTIME with the non-zero units
    a = deployment.clusters["contoso-licensing"]
    requirement = requirement_for(a.revocation_url, a.key.public, list_id=a.principal.id or "",
                                  name="contoso-licensing revocation list",
                                  interval=timedelta(hours=2, minutes=30, seconds=15))
    chain = publish_for_bob(deployment, "contoso-licensing", requirement)
    pl = parse(chain)[0]
    use_license = parse(deployment.clients["BOB-PC"].account("bob").licenses[
        pl.content_id or ""])[0]
    for document in (pl, use_license):
        point = document.element.find("BODY/WORK/CONDITIONLIST")
        assert point is not None
        assert _skeleton(point)[:8] == [
            "CONDITIONLIST", "REFRESH", "DISTRIBUTIONPOINT", "OBJECT[type=Revocation]",
            f"ID[type={a.principal.id_type}]", "NAME", "ADDRESS[type=URL]", "PUBLICKEY"]
        assert point.findtext("REFRESH/DISTRIBUTIONPOINT/OBJECT/ID") == a.principal.id
        interval = point.find("REFRESH/INTERVALTIME")
        assert interval is not None and dict(interval.attrib) == {
            "hours": "2", "minutes": "30", "seconds": "15"}
        assert document.element.find("BODY/WORK/RIGHTSGROUP//REFRESH") is None
    assert use_license.rights[0].refresh_interval == "2 hours 30 minutes 15 seconds"


def test_inspect_says_the_list_body_is_rmslabs_reading(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from rmslab.cli.documents import REVOCATION_LIST_NOTE
    from tests.clirun import run
    lab = tmp_path / "lab"
    assert run("lab", "create", str(lab))[0] == 0
    assert run("revoke", "--lab", str(lab), "--by", "contoso-root", "--user", "carol",
               "--publish")[0] == 0
    lists = sorted(lab.rglob("*.xml"))
    listed = [p for p in lists if "Revocation-List" in p.read_text(errors="replace")]
    assert listed
    status, output, _ = run("inspect", str(listed[0]))
    assert status == 0 and f"note      {REVOCATION_LIST_NOTE}" in output
    assert "XrML 1.2 section 3.17" in REVOCATION_LIST_NOTE
