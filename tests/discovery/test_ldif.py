"""LDIF (RFC 2849) as ldifde exports and imports it, and the directory it builds.

covers: D-7, D-8
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmslab.discovery.directory import Directory, dn_within, normalize_dn, parse_dn
from rmslab.discovery.ldif import LdifRecord, Modification, parse_ldif, read_ldif_file, write_ldif
from rmslab.errors import InputError, LdifFormatError

DATA = Path(__file__).resolve().parents[2] / "data" / "directory"
SCP_DN = "CN=SCP,CN=RightsManagementServices,CN=Services,CN=Configuration,DC=contoso,DC=com"


# covers: D-7
def test_an_ldifde_export_reads_as_change_records() -> None:
    records = read_ldif_file(DATA / "contoso-forest-scp.ldf")
    assert [r.changetype for r in records] == ["add"] * 4
    scp = records[-1]
    assert scp.dn == SCP_DN and scp.line == 55
    assert scp.values("objectClass") == ("top", "leaf", "connectionPoint", "serviceConnectionPoint")
    assert scp.values("KEYWORDS") == ("MSRMRootCluster", "1.0")
    assert scp.values("serviceBindingInformation") == (
        "https://corprights.contoso.com/_wmcs/certification",)
    (guid,) = scp.values("objectGUID")  # base64 in the file: 16 bytes, not text
    assert isinstance(guid, bytes) and len(guid) == 16


# covers: D-7
def test_a_unicode_export_with_base64_values() -> None:
    directory = Directory.from_ldif_file(DATA / "fabrikam-forest-scp.ldf")
    assert (DATA / "fabrikam-forest-scp.ldf").read_bytes()[:2] == b"\xff\xfe"  # ldifde -u
    entry = directory.get(SCP_DN.replace("contoso", "FABRIKAM"))
    assert entry is not None
    assert entry.text("description") == "AD RMS-cluster Fabrikam – Tilburg"
    assert entry.text("serviceBindingInformation") == \
        "https://adrms.fabrikam.com/_wmcs/certification"


def test_rfc_2849_features() -> None:
    text = ("version: 1\n"
            "# a comment that is\n"
            " folded\n"
            "dn: cn=Barbara Jensen,ou=Product Development,\n"
            " dc=airius,dc=com\n"
            "objectclass: top\n"
            "cn;lang-nl: Barbara\n"
            "description:: " + base64.b64encode("Één lijn".encode()).decode() + "\n"
            "jpegPhoto:: /9j/4AAQ\n"
            "title:\n"
            "\n\n"
            "dn:: " + base64.b64encode("cn=Ça,dc=x".encode()).decode() + "\n"
            "cn: Ça\n")
    first, second = parse_ldif(text)
    assert first.dn == "cn=Barbara Jensen,ou=Product Development,dc=airius,dc=com"
    assert first.changetype is None and first.line == 4
    assert first.values("cn") == ("Barbara",)
    assert first.values("description") == ("Één lijn",)
    assert first.values("jpegPhoto") == (base64.b64decode("/9j/4AAQ"),)
    assert first.values("title") == ("",)
    assert second.dn == "cn=Ça,dc=x" and second.line == 13


def test_change_records_modify_delete_and_rename() -> None:
    text = """
dn: cn=a,dc=x
changetype: add
objectClass: container
cn: a
description: one
description: two

dn: cn=b,cn=a,dc=x
changetype: add
cn: b

dn: cn=a,dc=x
changetype: modify
add: keywords
keywords: k1
keywords: k2
-
delete: description
description: ONE
-
replace: cn
cn: a
-

dn: cn=a,dc=x
changetype: modrdn
newrdn: cn=c
deleteoldrdn: 1

dn: cn=b,cn=c,dc=x
changetype: delete
"""
    records = parse_ldif(text)
    assert [r.changetype for r in records] == ["add", "add", "modify", "modrdn", "delete"]
    assert records[2].modifications[0] == Modification("add", "keywords", ("k1", "k2"), 15)
    directory = Directory.from_ldif(records)
    assert directory.get("cn=a,dc=x") is None
    renamed = directory.get("CN=C, DC=X")
    assert renamed is not None
    assert renamed.texts("keywords") == ("k1", "k2")
    assert renamed.texts("description") == ("two",)
    assert renamed.texts("cn") == ("c",)
    assert len(directory) == 1


def test_moddn_moves_a_subtree() -> None:
    directory = Directory.from_ldif(parse_ldif(
        "dn: ou=a,dc=x\nou: a\n\ndn: cn=k\\,1,ou=a,dc=x\ncn: k,1\n\ndn: dc=y\ndc: y\n"))
    moved = directory.apply(parse_ldif(
        "dn: ou=a,dc=x\nchangetype: moddn\nnewrdn: ou=b\ndeleteoldrdn: 0\nnewsuperior: dc=y\n"))
    assert moved.get("ou=b,dc=y") is not None and moved.get("ou=a,dc=x") is None
    child = moved.get("cn=k\\2C1,ou=b,dc=y")
    assert child is not None and child.dn == "cn=k\\,1,ou=b,dc=y"
    assert moved.get("ou=b,dc=y").texts("ou") == ("a", "b")  # type: ignore[union-attr]


def test_distinguished_names_compare_as_active_directory_does() -> None:
    assert normalize_dn("CN=SCP , cn=RightsManagementServices,DC=Contoso,DC=com") == \
        normalize_dn("cn=scp,CN=RIGHTSMANAGEMENTSERVICES,dc=contoso,dc=COM")
    assert parse_dn(r"CN=Smith\, J,OU=x\2Cy") == (("CN", "Smith, J"), ("OU", "x,y"))
    assert dn_within(SCP_DN, "cn=configuration,dc=contoso,dc=com")
    assert not dn_within("dc=com", SCP_DN)
    with pytest.raises(LdifFormatError, match="not a distinguished name"):
        parse_dn("CN=a,nonsense")


BROKEN = [
    ("cn: x\n", 1, "must begin with dn:"),
    ("dn: cn=a\nobjectClass top\n", 2, "expected 'attribute: value'"),
    ("dn: cn=a\n bad continuation\n", 1, "has no attributes"),
    ("  \ndn: cn=a\ncn: a\n", 1, "continuation line"),
    ("dn: cn=a\nphoto:: ***\n", 2, "not valid base64"),
    ("dn: cn=a\nphoto:< file:///etc/passwd\n", 2, "does not open files"),
    ("dn: cn=a\ncn: :colon\n", 2, "may not begin with ':'"),
    ("dn: cn=a\nchangetype: rename\n", 2, "unknown changetype"),
    ("dn: cn=a\nchangetype: delete\ncn: a\n", 3, "takes no further lines"),
    ("dn: cn=a\nchangetype: modify\nadd: cn\ncn: b\n", 3, "not ended by a line holding '-'"),
    ("dn: cn=a\nchangetype: modify\nadd: cn\nsn: b\n-\n", 4, "inside the add: cn part"),
    ("dn: cn=a\nchangetype: modify\nremove: cn\n-\n", 3, "expected add:, delete: or replace:"),
    ("dn: cn=a\nchangetype: modrdn\nnewrdn: cn=b\ndeleteoldrdn: 2\n", 4, "must be 0 or 1"),
    ("dn: cn=a\ncn: a\n\ndn: cn=b\nchangetype: add\ncn: b\n", 4, "either entries or change"),
    ("version: 2\n\ndn: cn=a\ncn: a\n", 1, "version '2'"),
    ("dn: cn=a\n1cn: a\n", 2, "not an attribute description"),
    ("dn: cn=a\ncn: a\n\ndn: cn=a\ncn: again\n", 4, "already exists"),
    ("dn: cn=a\nchangetype: delete\n", 1, "no such entry"),
    ("dn: cn=a\nchangetype: modify\ndelete: cn\ncn: zz\n-\n", 1, "no such entry"),
    ("dn: cn=a\nchangetype: add\ncn: a\n\ndn: cn=a\nchangetype: modify\ndelete: cn\ncn: zz\n"
     "-\n", 7, "no such value"),
]


# covers: D-7
@pytest.mark.parametrize("text, line, fragment", BROKEN)
def test_malformed_ldif_is_refused_naming_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(LdifFormatError) as caught:
        Directory.from_ldif(parse_ldif(text.encode(), source="export.ldf"))
    assert caught.value.line == line, str(caught.value)
    assert fragment in str(caught.value)
    assert isinstance(caught.value, InputError)


def test_bad_utf8_names_the_line() -> None:
    with pytest.raises(LdifFormatError, match="not valid UTF-8") as caught:
        parse_ldif(b"dn: cn=a\ncn: ok\ndescription: \xff\n", source="x.ldf")
    assert caught.value.line == 3 and str(caught.value).startswith("x.ldf, line 3: ")


def test_ldifde_layout_and_folding() -> None:
    record = LdifRecord("cn=x,dc=y", "add", (("cn", "x"), ("description", " leading space"),
                                             ("photo", b"\x00\xff"), ("note", "é")))
    text = write_ldif([record])
    assert text == ("\r\ndn: cn=x,dc=y\r\nchangetype: add\r\ncn: x\r\n"
                    "description:: IGxlYWRpbmcgc3BhY2U=\r\nphoto:: AP8=\r\nnote:: w6k=\r\n")
    folded = write_ldif([LdifRecord("cn=" + "a" * 100 + ",dc=y", "delete")], fold=76)
    assert all(len(line) <= 76 for line in folded.split("\r\n"))
    assert parse_ldif(folded)[0].dn == "cn=" + "a" * 100 + ",dc=y"


def test_the_directory_exports_as_ldifde_writes() -> None:
    directory = Directory.from_ldif_file(DATA / "contoso-forest-scp.ldf")
    again = Directory.from_ldif(parse_ldif(directory.to_ldif()))
    assert [e.dn for e in again] == [e.dn for e in directory]
    assert [e.attributes for e in again] == [e.attributes for e in directory]
    assert len(directory.search("CN=RightsManagementServices,CN=Services,CN=Configuration,"
                                "DC=contoso,DC=com")) == 2
    assert len(directory.search(object_class="serviceConnectionPoint")) == 1


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
_attr = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,10}", fullmatch=True)
_record = st.builds(
    LdifRecord,
    st.from_regex(r"cn=[a-z]{1,8},dc=[a-z]{1,8}", fullmatch=True),
    st.just("add"),
    st.lists(st.tuples(_attr, st.one_of(_text, st.binary(max_size=20).filter(
        lambda b: _not_utf8(b)))), min_size=1, max_size=6).map(tuple))


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


@settings(max_examples=100, deadline=None)
@given(st.lists(_record, max_size=4), st.sampled_from([0, 20, 76]))
def test_any_records_round_trip(records: list[LdifRecord], fold: int) -> None:
    assert parse_ldif(write_ldif(records, fold=fold)) == tuple(
        LdifRecord(r.dn, r.changetype, r.attributes, line=_line(records, i, fold))
        for i, r in enumerate(records))


def _line(records: list[LdifRecord], index: int, fold: int) -> int:
    """The line ``dn:`` of record ``index`` lands on in ``write_ldif`` output."""
    return write_ldif(records, fold=fold).split("\r\n").index(
        write_ldif([records[index]], fold=fold).split("\r\n")[1], _start(records, index, fold)) + 1


def _start(records: list[LdifRecord], index: int, fold: int) -> int:
    return len(write_ldif(records[:index], fold=fold).split("\r\n")) - 1 if index else 0
