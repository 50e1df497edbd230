"""The audit's HTML page stands alone, and every rule ID and finding ID on it links to an
appendix on the same page that restates it in one line (rmslab.rules, docs/rules.md).

covers: A-2
"""

from __future__ import annotations

import re

import lxml.html
import pytest

from rmslab.audit import audit_deployment
from rmslab.audit.findings import CHECKS
from rmslab.deployment import standard_deployment
from rmslab.errors import NotAdministratorError
from rmslab.flows import renew_slc_online
from rmslab.flows.licensing import export_trusted_publishing_domain, import_trusted_publishing_domain
from rmslab.lab import Lab
from rmslab.rules import RULE_ID, RULES


@pytest.fixture(scope="module")
def page() -> lxml.html.HtmlElement:
    """A deployment with findings citing several rules: a refused renewal (S-1), a trusted
    publishing domain (P-7), an SLC about to expire (S-6), no template requiring
    revocation (R-6)."""
    deployment = standard_deployment(Lab())
    root = deployment.root_cluster
    with pytest.raises(NotAdministratorError):
        renew_slc_online(deployment.enrollment_service, root, root.first_server,
                         by=deployment.user("bob"), directory=deployment.directory)
    import_trusted_publishing_domain(
        deployment.clusters["contoso-licensing"],
        export_trusted_publishing_domain(root, "long password"), "long password")
    deployment.lab.advance(days=330)
    return lxml.html.fromstring(audit_deployment(deployment).to_html())


def findings_table(page: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    return page.xpath("//table")[0]


def ids_in(table: lxml.html.HtmlElement) -> list[str]:
    """The rule IDs written in the table's cells."""
    return [rule_id for cell in table.xpath(".//td")
            for rule_id in RULE_ID.findall(cell.text_content())]


def test_the_findings_cite_several_rules(page: lxml.html.HtmlElement) -> None:
    rules = {row.xpath("td")[5].text_content() for row in findings_table(page).xpath("tr")[1:]}
    assert {"S-1", "P-7", "S-6", "R-6"} <= rules


def test_every_rule_id_in_the_findings_is_a_link_to_its_line(
        page: lxml.html.HtmlElement) -> None:
    table = findings_table(page)
    text_ids = ids_in(table)
    linked = [a.text_content() for a in table.xpath(".//a[starts-with(@href, '#rule-')]")]
    assert text_ids and sorted(text_ids) == sorted(linked)
    for anchor in table.xpath(".//a[starts-with(@href, '#rule-')]"):
        rule_id = anchor.text_content()
        assert anchor.get("href") == f"#rule-{rule_id.lower()}"
        target = page.get_element_by_id(f"rule-{rule_id.lower()}")
        cells = target.xpath("td")
        assert [c.text_content() for c in cells] == [rule_id, RULES[rule_id]]


def test_every_finding_id_links_to_what_its_check_looks_for(
        page: lxml.html.HtmlElement) -> None:
    for anchor in findings_table(page).xpath(".//a[starts-with(@href, '#check-')]"):
        check = anchor.text_content()
        target = page.get_element_by_id(f"check-{check.lower()}")
        assert [c.text_content() for c in target.xpath("td")] == [check, CHECKS[check]]


def test_the_appendix_holds_only_what_the_page_cites(page: lxml.html.HtmlElement) -> None:
    cited = set(ids_in(findings_table(page)))
    restated = {row.get("id")[len("rule-"):].upper() for row in page.xpath("//tr[@id]")
                if row.get("id", "").startswith("rule-")}
    assert restated == cited


def test_the_page_stands_alone(page: lxml.html.HtmlElement) -> None:
    assert not page.xpath("//script[@src] | //link | //img[@src] | //iframe | //object")
    for element in page.iter():
        for name in ("href", "src", "{http://www.w3.org/1999/xlink}href"):
            value = element.get(name)
            assert value is None or value.startswith("#"), (element.tag, name, value)
    assert page.xpath("//svg | //*[local-name()='svg']")


def test_no_rule_means_no_rule_appendix() -> None:
    report = audit_deployment(standard_deployment(Lab()), picture=False)
    report.findings.clear()
    page = lxml.html.fromstring(report.to_html())
    assert "No finding." in page.text_content()
    assert not page.xpath("//tr[starts-with(@id, 'rule-')]")
    assert not re.search(r"#rule-", report.to_html())
