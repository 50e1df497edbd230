"""Exercises of notebook 08, the client and service discovery (SPEC D-4, D-6, D-7,
D-9): registry values that send a client to the right server, and where discovery
ends."""

from __future__ import annotations

from typing import Any

from rmslab.discovery import Machine, discover
from rmslab.discovery.directory import Directory
from rmslab.discovery.registry import Registry
from rmslab.discovery.regfile import parse_reg, read_reg_file
from rmslab.discovery.samples import content_license
from rmslab.errors import RmslabError
from rmslab.exercises._core import Judgement, Kind, correct, hint, register
from rmslab.lab import Lab
from rmslab.samples import data_path

__all__: list[str] = []

NOTEBOOK = "08_client_and_discovery"
DECOMMISSIONED = ["corprights", "corprights.contoso.com"]


def _machine(name: str, answer: str, ldif: str, base: str = "ws-fresh-client.reg") -> Machine:
    registry = Registry.from_reg(read_reg_file(data_path("registry", base)),
                                 parse_reg(answer, source="your answer"))
    directory = Directory.from_ldif_file(data_path("directory", ldif))
    return Machine(name, registry, directory)


@register("08.1", NOTEBOOK, Kind.REGISTRY,
          "Choose the registry values: WS-NEW (a fresh client in the forest without an SCP) "
          "must publish through https://rms.contoso.com/_wmcs, not the cloud. Write the "
          ".reg file that sends it there.",
          "a str: the text of a .reg file ('Windows Registry Editor Version 5.00' …)")
def _service_location(answer: Any) -> Judgement:
    if not isinstance(answer, str):
        return hint("give the .reg file's text, starting 'Windows Registry Editor Version 5.00'")
    try:
        machine = _machine("WS-NEW", answer, "contoso-forest-no-scp.ldf")
    except RmslabError as error:
        return hint(f"the .reg text cannot be imported: {error}")
    found = discover(machine)
    if found.source == "registry" and "rms.contoso.com" in (found.certification_url or ""):
        return correct("the ServiceLocation keys (EnterpriseCertification and "
                       "EnterprisePublishing) are read first, before the SCP and the cloud "
                       "(D-4, D-7)")
    if found.source == "registry":
        return hint("the client now reads a service location from the registry, but not "
                    "rms.contoso.com's: check the URLs")
    return hint(f"discovery still ends at the {found.source}: the client looks under "
                "HKLM\\SOFTWARE\\Microsoft\\MSIPC\\ServiceLocation, one key per service, "
                "each with its default value (@) — section 5.2's file is an example")


@register("08.2", NOTEBOOK, Kind.REGISTRY,
          "Choose the registry values: without the file of section 5.4, FAB-LT-7 finds "
          "Fabrikam's server only through the SCP. Write the .reg file that redirects the old "
          "document's licensing requests to https://adrms.fabrikam.com/_wmcs/licensing "
          "straight away.",
          "a str: the text of a .reg file")
def _redirection(answer: Any) -> Judgement:
    if not isinstance(answer, str):
        return hint("give the .reg file's text")
    try:
        machine = _machine("FAB-LT-7", answer, "fabrikam-forest-scp.ldf")
    except RmslabError as error:
        return hint(f"the .reg text cannot be imported: {error}")
    lab = Lab()
    both = content_license(lab)
    names = [p.address or "" for p in both.leaf.distribution_points]
    # the document names both URLs; a copy reached over the extranet names only its own
    for document in (both, content_license(lab, intranet=names[-1], extranet=None)):
        found = discover(machine, purpose="consume", license=document,
                         unreachable=DECOMMISSIONED)
        if found.source != "license" or "adrms.fabrikam.com" not in (found.licensing_url or ""):
            named = ", ".join(p.address or "?" for p in document.leaf.distribution_points)
            return hint(f"a document naming {named} "
                        f"still ends at the {found.source}: LicensingRedirection maps each old "
                        "licensing URL (value name) to the new one (data)")
    return correct("one LicensingRedirection value per old URL — intranet and extranet "
                   "each need their own (D-9)")


@register("08.3", NOTEBOOK, Kind.PREDICT,
          "Predict: KIOSK-03 (trusted servers only, section 5.5) is asked to publish, not to "
          "open. Where does discovery find its server: 'registry', 'scp', 'license' or "
          "'cloud'?",
          "a str: 'registry', 'scp', 'license' or 'cloud'")
def _kiosk_publishes(answer: Any) -> Judgement:
    kiosk = Machine.from_files("KIOSK-03", data_path("registry", "contoso-kiosk-trusted-servers.reg"),
                               ldif=data_path("directory", "contoso-forest-scp.ldf"))
    truth = discover(kiosk).source
    if answer not in ("registry", "scp", "license", "cloud"):
        return hint("answer 'registry', 'scp', 'license' or 'cloud'")
    if answer == truth:
        return correct("publishing has no license to start from: the registry comes first, "
                       "and its service location is a trusted server (D-6, D-7)")
    if answer == "license":
        return hint("publishing makes new content: there is no license yet to name a server")
    return hint("follow D-7's order for publishing, and check the kiosk's registry file for "
                "a ServiceLocation")
