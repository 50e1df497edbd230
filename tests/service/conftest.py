"""MS-RMPR's WSDL files (section 6), read where the specifications are kept — never
copied into the repository — and the XML Schema embedded in each, compiled with lxml
to validate the messages rmslab writes and answers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest
from lxml import etree

from rmslab.service.soap import SOAP_ENV, read_envelope

REPO = Path(__file__).resolve().parents[2]
WSDL = "{http://schemas.xmlsoap.org/wsdl/}"
XS = "{http://www.w3.org/2001/XMLSchema}"


def wsdl_dir() -> Path | None:
    """``$RMSLAB_WSDL``; else beside the corpus (``$RMSLAB_CORPUS/../ms-specs/wsdl``);
    else ``../shared/ms-specs/wsdl``."""
    if os.environ.get("RMSLAB_WSDL"):
        candidates = [Path(os.environ["RMSLAB_WSDL"])]
    else:
        candidates = [REPO.parent / "shared" / "ms-specs" / "wsdl"]
        if os.environ.get("RMSLAB_CORPUS"):
            candidates.insert(0, Path(os.environ["RMSLAB_CORPUS"]).parent / "ms-specs" / "wsdl")
    return next((c for c in candidates if (c / "licensing.wsdl").is_file()), None)


@pytest.fixture(scope="session")
def wsdl() -> Path:
    """The directory of the seven WSDL files. Under CI=true a missing one is a failure."""
    found = wsdl_dir()
    if found is None:
        message = ("MS-RMPR's WSDL files were not found. They are the seven WSDL documents of "
                   "section 6 of Microsoft's MS-RMPR specification (activation, certification, "
                   "licensing, publishing, server, template distribution, enrollment), each "
                   "saved as NAME.wsdl (licensing.wsdl, …) in one folder; set RMSLAB_WSDL to "
                   "it (default: ms-specs/wsdl beside the corpus, or ../shared/ms-specs/wsdl)")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


class _Resolver(etree.Resolver):
    def __init__(self, documents: dict[str, bytes]) -> None:
        super().__init__()
        self.documents = documents

    def resolve(self, url: str | None, pubid: str | None, context: object) -> object:
        if url in self.documents:
            return self.resolve_string(self.documents[url], context)
        return None


def _compile(wsdl_file: Path) -> dict[str, etree.XMLSchema]:
    """The schemas embedded in one WSDL file, by target namespace, exactly as published
    but for three things the embedding needs or the publication broke:

    * the namespace declarations of ``wsdl:definitions`` are copied onto each schema (a
      schema cut out of its WSDL loses the ``tns:`` prefix its type references use);
    * wildcards (``s:any``) are checked ``lax``: they carry XrML, for which no schema is
      published (rmslab's own reader checks the documents);
    * the enrollment schema's ``guid`` pattern is published wrapped over two lines, so
      that as printed it demands a space inside a GUID: the wrap is removed.
    """
    root = etree.parse(str(wsdl_file)).getroot()
    schemas = root.findall(f"{WSDL}types/{XS}schema")
    documents: dict[str, bytes] = {}
    names = {}
    for number, schema in enumerate(schemas):
        namespace = schema.get("targetNamespace", "")
        names[namespace] = f"rmslab-schema-{number}.xsd"
    for schema in schemas:
        nsmap = {**root.nsmap, **schema.nsmap}
        copy = etree.Element(f"{XS}schema", nsmap={k: v for k, v in nsmap.items()},
                             attrib=dict(schema.attrib))
        for child in schema:
            copy.append(etree.fromstring(etree.tostring(child)))
        for wildcard in copy.iter(f"{XS}any"):
            wildcard.set("processContents", "lax")
        for pattern in copy.iter(f"{XS}pattern"):
            pattern.set("value", "".join(pattern.get("value", "").split()))
        for imported in copy.findall(f"{XS}import"):
            if imported.get("namespace") in names:
                imported.set("schemaLocation", names[imported.get("namespace", "")])
        documents[names[schema.get("targetNamespace", "")]] = etree.tostring(copy)
    compiled = {}
    for namespace, name in names.items():
        parser = etree.XMLParser()
        parser.resolvers.add(_Resolver(documents))
        document = etree.fromstring(documents[name], parser, base_url=name)
        compiled[namespace] = etree.XMLSchema(document)
    return compiled


@pytest.fixture(scope="session")
def wsdl_schemas(wsdl: Path) -> dict[str, etree.XMLSchema]:
    """Every service namespace's schema."""
    schemas: dict[str, etree.XMLSchema] = {}
    for path in sorted(wsdl.glob("*.wsdl")):
        schemas.update(_compile(path))
    return schemas


@pytest.fixture(scope="session")
def validate_message(wsdl_schemas: dict[str, etree.XMLSchema]) -> Callable[[bytes], str]:
    """Validate one SOAP message against the WSDL schema of its namespace: the
    VersionData header and the body's element (a fault's body is SOAP's own). Returns
    the body element's name; raises AssertionError naming what fails."""
    def validate(message: bytes) -> str:
        envelope = read_envelope(message)
        parts = [envelope.body] if envelope.body.tag != f"{{{SOAP_ENV}}}Fault" else []
        if envelope.version_data is not None:
            parts.append(envelope.version_data)
        unversioned = etree.QName(envelope.body).localname in ("GetServerInfo",
                                                               "GetServerInfoResponse")
        assert (envelope.version_data is not None) != unversioned or not parts, (
            "a VersionData header where the WSDL binds one, and only there")
        for part in parts:
            namespace = etree.QName(part).namespace or ""
            schema = wsdl_schemas[namespace]
            standalone = etree.fromstring(etree.tostring(part))
            assert schema.validate(standalone), (
                f"{etree.QName(part).localname}: {schema.error_log.last_error}")
        return etree.QName(envelope.body).localname
    return validate
