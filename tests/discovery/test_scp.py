"""The AD RMS service connection point: finding it in a directory export, and the rules
for registering and removing it.

covers: D-7, D-8
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rmslab.discovery.directory import Directory
from rmslab.discovery.ldif import parse_ldif, read_ldif_file
from rmslab.discovery.scp import AdminAccount, find_scp, register_scp, remove_scp
from rmslab.errors import ScpRegistrationRefusedError

DATA = Path(__file__).resolve().parents[2] / "data" / "directory"
CONTAINER = "CN=RightsManagementServices,CN=Services,CN=Configuration,DC=contoso,DC=com"
ADMIN = AdminAccount(r"CONTOSO\rms-admin", enterprise_admin=True, local_administrator=True)


def contoso() -> Directory:
    return Directory.from_ldif_file(DATA / "contoso-forest-scp.ldf")


# covers: D-7
def test_the_scp_is_found_in_the_configuration_naming_context() -> None:
    lookup = find_scp(contoso())
    assert lookup.scp is not None
    assert lookup.scp.dn == f"CN=SCP,{CONTAINER}"
    assert lookup.scp.keywords == ("MSRMRootCluster", "1.0")
    assert lookup.scp.certification_url == "https://corprights.contoso.com/_wmcs/certification"
    assert lookup.scp.base_url == "https://corprights.contoso.com/_wmcs"
    assert lookup.scp.licensing_url == "https://corprights.contoso.com/_wmcs/licensing"
    assert lookup.searched == (CONTAINER,)


# covers: D-7
def test_no_scp_in_the_forest() -> None:
    lookup = find_scp(Directory.from_ldif_file(DATA / "contoso-forest-no-scp.ldf"))
    assert lookup.scp is None
    assert lookup.reason == f"no SCP is registered in {CONTAINER}"
    empty = find_scp(Directory())
    assert empty.scp is None and "no configuration naming context" in empty.reason


SCP_LIKE = """
dn: CN=SCP,CN=RightsManagementServices,CN=Services,CN=Configuration,DC=contoso,DC=com
changetype: add
objectClass: serviceConnectionPoint
keywords: MSRMRootCluster
serviceBindingInformation: https://rms.contoso.com/_wmcs/certification

dn: CN=Stray,OU=Servers,DC=contoso,DC=com
changetype: add
objectClass: serviceConnectionPoint
keywords: MSRMRootCluster
keywords: 1.0
serviceBindingInformation: https://rogue.contoso.com/_wmcs/certification

dn: CN=Wrong,CN=RightsManagementServices,CN=Services,CN=Configuration,DC=contoso,DC=com
changetype: add
objectClass: serviceConnectionPoint
keywords: MSRMRootCluster
keywords: 1.0
serviceBindingInformation: https://rms.contoso.com/_wmcs/licensing
"""


# covers: D-7
def test_objects_that_are_not_a_usable_scp_are_named_with_the_reason() -> None:
    lookup = find_scp(Directory.from_ldif(parse_ldif(SCP_LIKE)))
    assert lookup.scp is None
    assert dict(lookup.rejected) == {
        f"CN=SCP,{CONTAINER}": "the keywords 1.0 are missing",
        "CN=Stray,OU=Servers,DC=contoso,DC=com":
            "not in a RightsManagementServices container of the forest's configuration "
            "naming context",
        f"CN=Wrong,{CONTAINER}": "serviceBindingInformation "
                                 "'https://rms.contoso.com/_wmcs/licensing' is not an "
                                 "http(s) URL of the form [baseURL]/certification"}
    assert "3 object(s) look like one but are not usable" in lookup.reason


# covers: D-7, D-8
def test_two_scps_in_one_forest_are_ambiguous() -> None:
    second = contoso().apply(parse_ldif(
        f"dn: CN=SCP2,{CONTAINER}\nchangetype: add\nobjectClass: serviceConnectionPoint\n"
        "keywords: MSRMRootCluster\nkeywords: 1.0\n"
        "serviceBindingInformation: https://rms.contoso.com/_wmcs/certification\n"))
    lookup = find_scp(second)
    assert lookup.scp is None and lookup.reason.startswith("2 SCPs are registered")


# covers: D-8
def test_registering_needs_enterprise_admins_and_local_administrator() -> None:
    base = Directory.from_ldif_file(DATA / "contoso-forest-no-scp.ldf")
    for account, missing in (
            (AdminAccount("CONTOSO\\helpdesk", local_administrator=True), "Enterprise Admins"),
            (AdminAccount("CONTOSO\\ea", enterprise_admin=True), "local administrator")):
        with pytest.raises(ScpRegistrationRefusedError) as caught:
            register_scp(base, "https://rms.contoso.com/_wmcs", account)
        error = caught.value
        assert error.spec_id == "D-8" and missing in error.reason
        assert error.trace is not None and not error.trace.passed
    change = register_scp(base, "https://rms.contoso.com/_wmcs/certification", ADMIN)
    assert [r.changetype for r in change.records] == ["add", "add"]  # container, then SCP
    assert [c.spec_id for c in change.trace.checks][:2] == ["D-8", "D-8"]
    assert change.trace.passed
    found = find_scp(change.directory).scp
    assert found is not None and found.certification_url == \
        "https://rms.contoso.com/_wmcs/certification"
    assert "changetype: add\r\nobjectClass: serviceConnectionPoint" in change.ldif


# covers: D-8
def test_an_existing_scp_must_be_removed_first() -> None:
    with pytest.raises(ScpRegistrationRefusedError, match="remove the existing SCP") as caught:
        register_scp(contoso(), "https://rms.contoso.com/_wmcs", ADMIN)
    assert caught.value.trace.failed_checks[0].description == \
        "no SCP exists in the forest yet"  # type: ignore[union-attr]
    removed = remove_scp(contoso(), ADMIN)
    assert find_scp(removed.directory).scp is None
    moved = register_scp(removed.directory, "https://rms.contoso.com/_wmcs", ADMIN)
    assert [r.changetype for r in moved.records] == ["add"]  # the container is still there
    # the migration file in data/ is exactly this change
    expected = read_ldif_file(DATA / "contoso-scp-move-to-new-cluster.ldf")
    assert [(r.dn, r.changetype, r.attributes) for r in removed.records + moved.records] == \
        [(r.dn, r.changetype, r.attributes) for r in expected]


# covers: D-8
def test_removing_needs_the_same_rights_and_an_scp() -> None:
    with pytest.raises(ScpRegistrationRefusedError, match="Enterprise Admins"):
        remove_scp(contoso(), AdminAccount("CONTOSO\\helpdesk"))
    with pytest.raises(ScpRegistrationRefusedError, match="there is no SCP"):
        remove_scp(Directory.from_ldif_file(DATA / "contoso-forest-no-scp.ldf"), ADMIN)
    with pytest.raises(ScpRegistrationRefusedError, match="holds none"):
        register_scp(Directory(), "https://rms.contoso.com/_wmcs", ADMIN)
    with pytest.raises(ScpRegistrationRefusedError, match="not an http"):
        register_scp(Directory.from_ldif_file(DATA / "contoso-forest-no-scp.ldf"), "rms", ADMIN)
