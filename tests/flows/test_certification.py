"""Machine activation, account certification and client enrollment, the shapes of the SPC,
RAC and CLC (MS-RMPR 2.2.9.4–2.2.9.6), and what each key is sealed to.

covers: E-7, E-8, E-9
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace
from datetime import timedelta

import pytest

from rmslab.actors.client import Account, open_sealed_key
from rmslab.actors.enrollment_service import IssuingKey
from rmslab.crypto.enabling_bits import EnablingBitsHashMismatchError, MalformedEnablingBitsError
from rmslab.errors import SealError
from rmslab.deployment import Deployment, partner_organisation, standard_deployment
from rmslab.errors import NotConnectedError, NotEnrolledError, RefusedError
from rmslab.flows import activate_machine, certify_account, enroll_client
from rmslab.flows.certification import VERIFY_MACHINE_CHAIN, machine_identity
from rmslab.lab import Lab
from rmslab.trust import validate_chain
from rmslab.xrml import parse
from rmslab.xrml.certificates import issuing_certificate_body
from rmslab.xrml.writer import sign


def _children(document: object, path: str) -> list[str]:
    element = document.element.find(path)  # type: ignore[attr-defined]
    assert element is not None, path
    return [c.tag if c.get("type") is None else f"{c.tag}[{c.get('type')}]"
            for c in element if isinstance(c.tag, str)]


# --- machine activation (MS-RMPR 2.2.9.4, 3.8.4.1) -------------------------------------------


def test_the_client_activates_itself_with_its_spc_issuer(deployment: Deployment) -> None:
    # E-9 — issue 12 item 2: no cluster signs the machine certificate
    client = deployment.clients["BOB-PC"]
    assert client.machine_certificate_text is not None
    chain = parse(client.machine_certificate_text)
    spc = chain[0]
    assert [d.kind for d in chain] == ["Machine-Certificate", "Server-Licensor-Certificate",
                                       "DRM-CA-Certificate", "DRM-CA-Certificate",
                                       "DRM-CA-Certificate"]
    issuer = deployment.enrollment_service.spc_issuer_kit
    assert spc.issuer_key == issuer.key.public
    assert all(spc.issuer_key != c.key.public for c in deployment.clusters.values())
    validate_chain(chain, deployment.enrollment_service.anchor, at=deployment.lab.now())
    assert all(e.kind != "machine-activation" for c in deployment.clusters.values()
               for e in c.log.entries())


def test_the_spc_has_the_shape_of_2_2_9_4(deployment: Deployment) -> None:
    client = deployment.clients["ALICE-PC"]
    spc = parse(client.machine_certificate_text or "")[0]
    assert _children(spc, "BODY") == ["ISSUEDTIME", "DESCRIPTOR", "ISSUER", "DISTRIBUTIONPOINT",
                                      "ISSUEDPRINCIPALS"]
    assert spc.element.findtext("BODY/DESCRIPTOR/OBJECT/NAME") == "Microsoft Machine-Certificate"
    assert spc.issuer is not None and spc.issuer.object_type == "MS-DRM-Desktop-Security-Processor"
    point = spc.distribution_points[0]
    assert (point.type, point.id, point.name, point.address) == (
        "Activation", "{99F48562-703E-4E7D-9175-DD69C66921B7}", "Microsoft Activation",
        "file:///rmactivate.exe")
    principal = spc.element.find("BODY/ISSUEDPRINCIPALS/PRINCIPAL")
    assert principal is not None and principal.get("internal-id") is None
    assert _children(spc, "BODY/ISSUEDPRINCIPALS/PRINCIPAL") == [
        "OBJECT[Machine-Unique-Identifier]", "PUBLICKEY", "DIGEST", "SECURITYLEVEL",
        "SECURITYLEVEL", "SECURITYLEVEL"]
    assert [level.get("name") for level in principal.findall("SECURITYLEVEL")] == [
        "Platform", "Manufacturer", "Repository"]
    assert principal.findtext("OBJECT/NAME") == "Machine"
    digest = base64.b64decode(principal.findtext("DIGEST/VALUE") or "")
    assert digest == hashlib.sha256(machine_identity(client)).digest()  # not a hardware ID
    assert spc.principals[0].public_key == client.machine_key.public


def test_activation_needs_no_network(deployment: Deployment) -> None:
    # MS-RMPR 3.8.4.1: "activate themselves without contacting a server"
    client = deployment.add_client("LAPTOP-9", connected=False)
    trace = activate_machine(client)
    assert trace.passed and client.activated


def test_certify_refuses_an_spc_from_an_untrusted_issuer(deployment: Deployment) -> None:
    # E-9 — MS-RMPR 3.3.4.1: trustedSpcCAKeys, VerifyMachineCertificateChainFailedException
    lab = deployment.lab
    service = deployment.enrollment_service
    rogue_key, rogue_ca = lab.key("rogue-spc-issuer"), lab.key("rogue-spc-ca")
    kit = service.spc_issuer_kit
    rogue_ca_principal = replace(service.spc_ca, public_key=rogue_ca.public)
    now = lab.now()
    rogue_cert = sign(issuing_certificate_body(
        kind="Server-Licensor-Certificate", id=lab.guid(), issued=now, issuer=rogue_ca_principal,
        subject=replace(kit.principal, public_key=rogue_key.public), not_before=now,
        not_after=now + timedelta(days=30)), rogue_ca, lab.digest_algorithm)
    client = deployment.add_client("ROGUE-PC")
    client.spc_issuer = IssuingKey(rogue_key, replace(kit.principal, public_key=rogue_key.public),
                                   rogue_cert)
    activate_machine(client)
    root = deployment.root_cluster
    with pytest.raises(RefusedError, match="trustedSpcCAKeys") as caught:
        certify_account(root, client, deployment.user("bob"), deployment.directory)
    assert caught.value.exception_name == VERIFY_MACHINE_CHAIN
    assert root.log.entries()[-1].outcome == "refused"


def test_certify_refuses_a_changed_spc(deployment: Deployment) -> None:
    # E-9: the SPC chain's signatures are checked
    from rmslab.teaching import tamper
    client = deployment.clients["CAROL-PC"]
    chain = parse(client.machine_certificate_text or "")
    client.machine_certificate_text = tamper(chain, 0, "2.6.1.0", "2.6.9.9").text
    with pytest.raises(RefusedError, match="does not verify") as caught:
        certify_account(deployment.root_cluster, client, deployment.user("carol"),
                        deployment.directory)
    assert caught.value.exception_name == VERIFY_MACHINE_CHAIN


# --- the RAC (MS-RMPR 2.2.9.5, 3.3.4.1) ------------------------------------------------------


def test_the_rac_has_the_shape_of_2_2_9_5(deployment: Deployment) -> None:
    client = deployment.clients["ALICE-PC"]
    rac = client.account("alice").rac
    alice = deployment.user("alice")
    assert _children(rac, "BODY") == ["ISSUEDTIME", "VALIDITYTIME", "DESCRIPTOR", "ISSUER",
                                      "DISTRIBUTIONPOINT", "ISSUEDPRINCIPALS",
                                      "FEDERATIONPRINCIPALS"]
    principal = rac.principals[0]
    assert (principal.object_type, principal.id_type, principal.id, principal.name) == (
        "Group-Identity", "Windows", alice.sid, alice.email)
    assert principal.addresses == ()  # no email_alias for a Windows user (2.2.9.5.4)
    assert principal.security_levels == (
        ("Group-Identity-Credential-Type", "Persistent"), ("Group-Identity-Type", "Group"),
        ("Group-Identity-Policy", "Group-Identity-Credential"))
    point = rac.distribution_points[0]
    assert (point.type, point.name, point.address) == (
        "Activation", "Microsoft Identity Certification Server",
        "https://rms.contoso.example/_wmcs/certification")
    root = deployment.root_cluster
    assert rac.element_text("BODY/ISSUER")[8:-9] == root.slc_principal_text[
        len('<PRINCIPAL internal-id="1">'):-len("</PRINCIPAL>")]  # verbatim copy
    spc = parse(client.machine_certificate_text or "")[0]
    assert (rac.element_text("BODY/FEDERATIONPRINCIPALS/PRINCIPAL/OBJECT")
            == spc.element_text("BODY/ISSUEDPRINCIPALS/PRINCIPAL/OBJECT"))
    assert _children(rac, "BODY/FEDERATIONPRINCIPALS/PRINCIPAL") == [
        "OBJECT[Machine-Unique-Identifier]", "ENABLINGBITS[sealed-key-v2]", "SECURITYLEVEL",
        "SECURITYLEVEL", "SECURITYLEVEL"]
    levels = rac.element.findall("BODY/FEDERATIONPRINCIPALS/PRINCIPAL/SECURITYLEVEL")
    assert [lv.get("name") for lv in levels] == ["Manufacturer", "Platform", "Repository"]
    assert rac.element.find("BODY/WORK") is None
    validity = rac.validity
    assert validity is not None and validity.not_before and validity.not_after
    assert rac.issued is not None
    assert rac.issued - validity.not_before == timedelta(minutes=15)  # the tolerance
    assert validity.not_after - rac.issued == timedelta(days=365)


def test_the_rac_key_is_sealed_to_the_spc_key(deployment: Deployment) -> None:
    alice_pc, bob_pc = deployment.clients["ALICE-PC"], deployment.clients["BOB-PC"]
    rac = alice_pc.account("alice").rac
    account_key = alice_pc.account_key("alice")
    assert rac.principals[0].public_key == account_key.public
    # another machine's key cannot open it
    with pytest.raises(SealError):
        open_sealed_key(rac, bob_pc.machine_key)


def test_enabling_bits_moved_between_certificates_are_refused(deployment: Deployment) -> None:
    # MS-RMPR 2.2.9.1.13: the bits are bound to the ISSUER, and hold the key of *this* RAC
    alice_pc = deployment.clients["ALICE-PC"]
    rac = alice_pc.account("alice").rac
    bits_path = "BODY/FEDERATIONPRINCIPALS/PRINCIPAL/ENABLINGBITS/VALUE"
    alice_bits = rac.element.findtext(bits_path) or ""
    # a second RAC for carol on ALICE-PC: same server ISSUER, same machine key
    certify_account(deployment.root_cluster, alice_pc, deployment.user("carol"),
                    deployment.directory)
    carol_rac = alice_pc.account("carol").rac
    carol_bits = carol_rac.element.findtext(bits_path) or ""
    swapped = parse(carol_rac.text.replace(carol_bits, alice_bits))[0]
    with pytest.raises(MalformedEnablingBitsError, match="not the private half"):
        open_sealed_key(swapped, alice_pc.machine_key)
    # bits moved to a RAC of another issuer: the ISSUER hash no longer matches
    other = partner_organisation(deployment)
    foreign = other.clients["DAVE-PC"].account("dave").rac
    foreign_bits = foreign.element.findtext(bits_path) or ""
    moved = parse(foreign.text.replace(foreign_bits, alice_bits))[0]
    with pytest.raises(EnablingBitsHashMismatchError):
        open_sealed_key(moved, alice_pc.machine_key)


def test_mode_1_seals_with_sealed_key() -> None:
    # MS-RMPR 3.1.4.7: mode 1 — sealed-key, mode 2 — sealed-key-v2
    deployment = standard_deployment(Lab(mode=1))
    client = deployment.clients["ALICE-PC"]
    rac, clc = client.account("alice").rac, client.account("alice").clc
    assert clc is not None
    assert rac.element.find("BODY/FEDERATIONPRINCIPALS/PRINCIPAL/ENABLINGBITS").get(  # type: ignore[union-attr]
        "type") == "sealed-key"
    assert client.clc_key("alice").public == clc.principals[0].public_key


def test_temporary_rac_lasts_fifteen_minutes(deployment: Deployment) -> None:
    client = deployment.add_client("KIOSK-1")
    activate_machine(client)
    trace = certify_account(deployment.root_cluster, client, deployment.user("bob"),
                            deployment.directory, temporary=True)
    rac = client.account("bob").rac
    assert rac.validity is not None and rac.validity.not_after is not None
    assert rac.validity.not_after - deployment.lab.now() == timedelta(minutes=15)
    assert dict(rac.principals[0].security_levels)["Group-Identity-Credential-Type"] == \
        "Temporary"
    assert "temporary" in trace[1].action


def test_the_same_sid_keeps_its_account_key(deployment: Deployment) -> None:
    # MS-RMPR 3.3.4.1 GetUserKeyPair: by SID
    client = deployment.add_client("KIOSK-2")
    activate_machine(client)
    certify_account(deployment.root_cluster, client, deployment.user("alice"),
                    deployment.directory)
    assert (client.account("alice").rac.principals[0].public_key
            == deployment.clients["ALICE-PC"].account("alice").rac.principals[0].public_key)


# --- the CLC (MS-RMPR 2.2.9.6, 3.5.4.2) ------------------------------------------------------


def test_the_clc_has_the_shape_of_2_2_9_6(deployment: Deployment) -> None:
    # E-7
    client = deployment.clients["ALICE-PC"]
    account = client.account("alice")
    clc, rac = account.clc, account.rac
    assert clc is not None and clc.kind == "Client-Licensor-Certificate"
    assert _children(clc, "BODY") == ["ISSUEDTIME", "DESCRIPTOR", "ISSUER", "DISTRIBUTIONPOINT",
                                      "DISTRIBUTIONPOINT", "ISSUEDPRINCIPALS", "WORK"]
    assert [(p.type, p.name, p.address) for p in clc.distribution_points] == [
        ("License-Acquisition-URL", "DRM Server Cluster",
         "https://rms.contoso.example/_wmcs/licensing"),
        ("Extranet-License-Acquisition-URL", "DRM Server Cluster",
         "https://rms.contoso.example/_wmcs/licensing")]
    assert (clc.element_text("BODY/ISSUEDPRINCIPALS/PRINCIPAL/OBJECT")
            == rac.element_text("BODY/ISSUEDPRINCIPALS/PRINCIPAL/OBJECT"))
    assert _children(clc, "BODY/ISSUEDPRINCIPALS/PRINCIPAL") == ["OBJECT[Group-Identity]",
                                                                 "PUBLICKEY"]
    assert clc.validity == rac.validity  # RANGETIME = the RAC's VALIDITYTIME
    assert clc.element.find("BODY/VALIDITYTIME") is None
    assert client.clc_key("alice").public == clc.principals[0].public_key
    assert clc.issuer is not None and clc.issuer.public_key == deployment.root_cluster.key.public
    validate_chain(parse(account.clc_text or ""), deployment.enrollment_service.anchor,
                   at=deployment.lab.now())


def test_the_clc_key_opens_only_with_the_rac_key(deployment: Deployment) -> None:
    client = deployment.clients["ALICE-PC"]
    clc = client.account("alice").clc
    assert clc is not None
    with pytest.raises(SealError):
        open_sealed_key(clc, client.machine_key)
    assert (open_sealed_key(clc, client.account_key("alice")).public
            == client.clc_key("alice").public)


def test_every_cluster_issues_clcs_to_racs_it_trusts(deployment: Deployment) -> None:
    # E-7 — MS-RMPR 3.1.4.2, 3.5.4.2: GetClientLicensorCert on a licensing-only cluster, for a
    # RAC of the root cluster (a trusted user domain); a partner's RAC is refused
    licensing = deployment.clusters["contoso-licensing"]
    client = deployment.clients["BOB-PC"]
    trace = enroll_client(licensing, client, deployment.user("bob"))
    assert trace.passed
    clc = client.account("bob").clc
    assert clc is not None and clc.issuer_key == licensing.key.public
    assert clc.license_acquisition_urls[0] == "https://licensing.contoso.example/_wmcs/licensing"
    other = partner_organisation(deployment)
    dave_pc = other.clients["DAVE-PC"]
    with pytest.raises(RefusedError, match="does not trust the user domain") as caught:
        enroll_client(licensing, dave_pc, other.user("dave"))
    assert caught.value.exception_name is not None
    assert caught.value.exception_name.endswith("UntrustedPersonaCertException")
    assert licensing.log.entries()[-1].outcome == "refused"


def test_a_user_may_request_a_clc_at_any_time_but_only_while_connected(
        deployment: Deployment) -> None:
    # E-7
    client = deployment.clients["BOB-PC"]
    logged_before = len(deployment.root_cluster.log.entries())
    client.connected = False
    with pytest.raises(NotConnectedError) as caught:
        enroll_client(deployment.root_cluster, client, deployment.user("bob"))
    assert caught.value.spec_id == "E-7"
    assert caught.value.trace is not None and not caught.value.trace.passed
    # the request never reached the cluster: nothing for it to log
    assert len(deployment.root_cluster.log.entries()) == logged_before
    client.connected = True
    deployment.lab.advance(days=40)
    trace = enroll_client(deployment.root_cluster, client, deployment.user("bob"))
    assert trace.passed
    entries = deployment.root_cluster.log.entries()
    assert [(e.kind, e.outcome) for e in entries[logged_before:]] == [
        ("client-enrollment", "accepted")]


def test_clients_are_not_required_to_enroll(deployment: Deployment) -> None:
    # E-7: carol has a RAC and no CLC, and nothing requires one
    account = deployment.clients["CAROL-PC"].account("carol")
    assert account.clc_text is None


def test_refusals_are_typed_and_logged(deployment: Deployment) -> None:
    # E-8, E-9
    root = deployment.root_cluster
    stranger = deployment.add_client("NEW-PC")
    with pytest.raises(NotEnrolledError, match="not activated"):
        certify_account(root, stranger, deployment.user("bob"), deployment.directory)
    with pytest.raises(NotEnrolledError, match="no rights account certificate"):
        enroll_client(root, stranger, deployment.user("bob"))
    licensing = deployment.clusters["contoso-licensing"]
    activate_machine(stranger)
    with pytest.raises(RefusedError, match="not an enrolled root certification cluster"):
        certify_account(licensing, stranger, deployment.user("bob"), deployment.directory)
    refused = [e for e in root.log.entries() if e.outcome == "refused"]
    assert [e.kind for e in refused] == ["account-certification", "client-enrollment"]
    assert licensing.log.entries()[-1].outcome == "refused"
    bare = deployment.add_client("BARE-PC")
    bare.spc_issuer = None
    with pytest.raises(NotEnrolledError, match="no Trusted SPC Issuer"):
        activate_machine(bare)


def test_a_clc_request_must_carry_a_rac(deployment: Deployment) -> None:
    # E-9: a machine certificate where the RAC should be is refused and logged
    root = deployment.root_cluster
    bob_pc = deployment.clients["BOB-PC"]
    assert bob_pc.machine_certificate_text is not None
    bob_pc.accounts["bob"] = Account("bob", bob_pc.machine_certificate_text)
    with pytest.raises(RefusedError):
        enroll_client(root, bob_pc, deployment.user("bob"))
    assert (root.log.entries()[-1].kind, root.log.entries()[-1].outcome) == (
        "client-enrollment", "refused")
