"""Installing the RMS client: packages, operating systems, elevation, silent or
interactive.

covers: D-2, D-1
"""

from __future__ import annotations

import pytest

from rmslab.discovery.installation import SUPPORTED_SYSTEMS, check_installation
from rmslab.errors import InputError, InstallationRefusedError


# covers: D-2
def test_the_support_table_of_the_seed() -> None:
    assert [(s.name, s.min_service_pack, s.ad_rms_only) for s in SUPPORTED_SYSTEMS] == [
        ("Windows Server 2012 R2", 0, False), ("Windows Server 2012", 0, False),
        ("Windows Server 2008 R2", 0, False), ("Windows Server 2008", 0, True),
        ("Windows 8.1", 0, False), ("Windows 8", 0, False), ("Windows 7", 1, False),
        ("Windows Vista", 2, True)]


# covers: D-2
def test_silent_install_of_the_x64_package_serves_32_and_64_bit_applications() -> None:
    decision = check_installation("x64", "Windows 8.1").require()
    assert decision.allowed and decision.command == "setup_msipc_x64.exe /quiet"
    assert decision.runtimes == ("32-bit", "64-bit")
    assert decision.microsoft_update == "keeps the computer's Microsoft Update settings"
    assert decision.trace.passed and all(c.spec_id == "D-2" for c in decision.trace.checks)
    assert decision.trace[-1].target is not None and \
        "Active Directory Rights Management Services Client 2." in decision.trace[-1].target
    interactive = check_installation("x86", "Windows 7", service_pack=1, os_bits=32, silent=False)
    assert interactive.allowed and interactive.runtimes == ("32-bit",)
    assert interactive.microsoft_update == "the wizard asks whether to turn on Microsoft Update"


# covers: D-2
@pytest.mark.parametrize("package, system, options, reason", [
    ("x86", "Windows 8.1", {}, "the x86 package cannot be installed on 64-bit Windows"),
    ("x64", "Windows 8", {"os_bits": 32}, "the x64 package is for 64-bit Windows"),
    ("x64", "Windows 8.1", {"elevated": False}, "installing needs elevated rights"),
    ("x64", "Windows 7", {}, "Windows 7 needs at least SP1 (this one has no service pack)"),
    ("x64", "Windows Vista", {"service_pack": 1}, "Windows Vista needs at least SP2"),
    ("x64", "Windows 10", {}, "Windows 10 is not in the support table"),
    ("x64", "Windows XP", {}, "not in the support table"),
])
def test_refusals_say_why(package: str, system: str, options: dict[str, object],
                          reason: str) -> None:
    decision = check_installation(package, system, **options)  # type: ignore[arg-type]
    assert not decision.allowed
    assert any(reason in r for r in decision.reasons)
    with pytest.raises(InstallationRefusedError) as caught:
        decision.require()
    assert caught.value.spec_id == "D-2" and reason in str(caught.value)


# covers: D-2, D-1
def test_some_systems_are_supported_only_for_ad_rms() -> None:
    for system, sp in (("Windows Server 2008", 0), ("Windows Vista", 2)):
        assert check_installation("x64", system, service_pack=sp, service="ad-rms").allowed
        cloud = check_installation("x64", system, service_pack=sp, service="azure-rms")
        assert not cloud.allowed
        assert cloud.reasons == (f"{system} is supported only for AD RMS, not for the cloud "
                                 "service",)
    assert check_installation("x64", "windows server  2012 r2", service="azure-rms").allowed


def test_every_reason_is_given_at_once() -> None:
    decision = check_installation("x86", "Windows Vista", elevated=False)
    assert len(decision.reasons) == 3 and decision.describe().startswith("refused: ")


def test_unknown_arguments_are_input_errors() -> None:
    with pytest.raises(InputError):
        check_installation("arm64", "Windows 8.1")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        check_installation("x64", "Windows 8.1", os_bits=16)
