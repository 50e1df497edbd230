"""A machine's registry: importing .reg files as the registry editor does, exporting,
and the WOW64 view of a 32-bit application.

covers: D-4
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rmslab.discovery.regfile import KeyBlock, RegFile, RegType, RegValue, parse_reg, write_reg
from rmslab.discovery.registry import Registry, RegistryView
from rmslab.errors import InputError

DATA = Path(__file__).resolve().parents[2] / "data" / "registry"
MSIPC = r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\MSIPC"


def test_import_creates_parents_and_names_match_without_case() -> None:
    registry = Registry.from_reg_files(DATA / "contoso-new-cluster-service-location.reg")
    assert registry.key(r"HKLM\software\microsoft\msipc") is not None
    value = registry.value(r"HKLM\SOFTWARE\Microsoft\MSIPC\Servicelocation\EnterprisePublishing")
    assert value == RegValue.sz("", "https://rms.contoso.com/_wmcs/Licensing")
    assert registry.value(MSIPC + r"\ServiceLocation\EnterprisePublishing", "x") is None
    assert registry.key(MSIPC + r"\Nothing") is None


# covers: D-4
def test_key_and_value_deletions_apply_in_order() -> None:
    registry = Registry.from_reg_files(DATA / "contoso-new-cluster-service-location.reg")
    registry.set_value(MSIPC + r"\ServiceLocation\LicensingRedirection",
                       RegValue.sz("http://corprights/_wmcs/licensing", "http://old"))
    registry.apply(parse_reg((DATA / "contoso-migration-cleanup.reg").read_bytes()))
    location = registry.key(MSIPC + r"\ServiceLocation")
    assert location is not None
    assert sorted(k.name for k in location.sorted_subkeys()) == ["LicensingRedirection"]
    redirection = registry.key(MSIPC + r"\ServiceLocation\LicensingRedirection")
    assert redirection is not None
    assert [(v.name, v.data) for v in redirection.values.values()] == [
        ("https://corprights/_wmcs/licensing", "https://rms.contoso.com/_wmcs/licensing"),
        ("https://corprights.contoso.com/_wmcs/licensing",
         "https://rms.contoso.com/_wmcs/licensing")]


def test_a_value_keeps_the_case_it_was_created_with() -> None:
    registry = Registry()
    registry.set_value(r"HKCU\Software\X", RegValue.dword("Trace", 0))
    registry.set_value(r"HKCU\software\x", RegValue.dword("TRACE", 1))
    assert registry.value(r"HKCU\Software\X", "trace") == RegValue.dword("Trace", 1)
    assert registry.delete_value(r"HKCU\SOFTWARE\X", "tRaCe")
    assert not registry.delete_value(r"HKCU\SOFTWARE\X", "tRaCe")


# covers: D-4
def test_export_is_alphabetical_and_reimports_to_the_same_registry() -> None:
    registry = Registry.from_reg_files(*sorted(DATA.glob("*.reg")))
    exported = registry.export()
    paths = [b.path for b in exported.blocks]
    assert paths.index(r"HKEY_CURRENT_USER\Software\Classes\Local Settings\Software\Microsoft\MSIPC") \
        < paths.index(MSIPC)  # HKEY_CURRENT_USER sorts before HKEY_LOCAL_MACHINE
    for root in ("HKEY_CURRENT_USER", "HKEY_LOCAL_MACHINE"):
        under = [p for p in paths if p.startswith(root + "\\")]
        assert under == sorted(under, key=lambda p: [n.lower() for n in p.split("\\")])
    assert Registry.from_reg(parse_reg(write_reg(exported))) == registry
    branch = registry.export(MSIPC + r"\Server", version="4")
    assert branch.version == "4" and branch.blocks[0].path == MSIPC + r"\Server"
    assert isinstance(branch.blocks[1], KeyBlock)
    assert branch.blocks[1].entries == (
        RegValue("TemplateUpdateFrequencyInSeconds", RegType.REG_DWORD, 7200),)


# covers: D-4
def test_a_32_bit_application_on_64_bit_windows_reads_under_wow6432node() -> None:
    registry = Registry.from_reg_files(DATA / "contoso-new-cluster-service-location-32bit.reg")
    key = MSIPC + r"\ServiceLocation\EnterpriseCertification"
    office32 = RegistryView(registry, app_bits=32, os_bits=64)
    native = RegistryView(registry, app_bits=64, os_bits=64)
    assert office32.redirected and not native.redirected
    assert office32.resolve(key) == \
        r"HKEY_LOCAL_MACHINE\SOFTWARE\Wow6432Node\Microsoft\MSIPC\ServiceLocation\EnterpriseCertification"
    assert office32.value(key) is not None and native.value(key) is None
    # HKEY_CURRENT_USER is not redirected, nor a path already under Wow6432Node
    assert office32.resolve(r"HKCU\Software\X") == r"HKEY_CURRENT_USER\Software\X"
    assert office32.resolve(r"HKLM\SOFTWARE\Wow6432Node\X") == r"HKEY_LOCAL_MACHINE\SOFTWARE\Wow6432Node\X"
    on32 = RegistryView(registry, app_bits=32, os_bits=32)
    assert not on32.redirected and on32.value(key) is None


def test_impossible_bitness_is_refused() -> None:
    with pytest.raises(InputError, match="64-bit application does not run on 32-bit"):
        RegistryView(Registry(), app_bits=64, os_bits=32)
    with pytest.raises(InputError):
        RegistryView(Registry(), app_bits=16, os_bits=64)


def test_deleting_a_branch_and_a_root() -> None:
    registry = Registry.from_reg(RegFile("5.00", (KeyBlock(r"HKEY_USERS\S-1-5-20\A\B"),)))
    assert registry.delete_key(r"HKU\S-1-5-20\a")
    assert registry.key(r"HKU\S-1-5-20") is not None and registry.key(r"HKU\S-1-5-20\A") is None
    assert registry.delete_key("HKEY_USERS") and registry.key("HKU") is None
    assert repr(registry) == "<Registry: 0 keys, 0 values>"
