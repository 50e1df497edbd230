"""Templates on the client: forcing a download by deleting the per-server Template key,
and templates placed in the UnmanagedTemplates folder.

covers: D-4, D-5
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rmslab.discovery.machine import Machine
from rmslab.discovery.paths import ClientMode
from rmslab.discovery.regfile import write_reg
from rmslab.discovery.registry import Registry
from rmslab.discovery.samples import content_license, rights_template
from rmslab.discovery.templates import (force_template_download, read_template_folder,
                                        template_download, unmanaged_templates)
from rmslab.errors import InputError
from rmslab.lab import Lab

DATA = Path(__file__).resolve().parents[2] / "data" / "registry"
USER = r"HKEY_CURRENT_USER\Software\Classes\Local Settings\Software\Microsoft\MSIPC"


# covers: D-4
def test_deleting_the_template_key_forces_a_download_for_both_names() -> None:
    registry = Registry()
    for name in ("corprights.contoso.com", "corprights"):
        registry.create_key(f"{USER}\\{name}\\Template")
    machine = Machine("WS", registry)
    waiting = template_download(machine, "corprights.contoso.com")
    assert not waiting.immediate and "the client waits — templates are refreshed every day" \
        in waiting.reason
    regfile = force_template_download(machine, "corprights.contoso.com", "corprights")
    assert write_reg(regfile) == (DATA / "contoso-force-template-download.reg").read_bytes()
    registry.apply(regfile)
    for name in ("corprights.contoso.com", "corprights"):
        now = template_download(machine, name)
        assert now.immediate and "right after the next publishing request" in now.reason
    assert registry.key(f"{USER}\\corprights") is not None  # only Template went
    with pytest.raises(InputError):
        force_template_download(machine)


# covers: D-3, D-4
def test_in_server_mode_the_template_key_is_under_the_service_accounts_key() -> None:
    machine = Machine("SP01", mode=ClientMode.SERVER)
    assert template_download(machine, "rms").key == \
        r"HKEY_CURRENT_USER\Software\Microsoft\MSIPC\Server\S-1-5-20\rms\Template"


# covers: D-5
def test_only_server_issued_xml_templates_are_used() -> None:
    lab = Lab()
    server = rights_template(lab).encode("utf-8")
    files = {
        "Contoso-Confidential.xml": server,
        "Contoso-ReadOnly.XML": rights_template(lab).encode("utf-16"),
        "Contoso-Confidential.txt": server,
        "by-alice.xml": rights_template(lab, issued_by_server=False).encode(),
        "a-license.xml": content_license(lab).text.encode(),
        "garbage.xml": b"<not xrml",
        "tampered.xml": server.replace(b"VIEW", b"EDIT"),
    }
    result = unmanaged_templates(Machine("WS"), files)
    verdicts = {f.name: (f.accepted, f.reason) for f in result.files}
    assert [f.name for f in result.accepted] == ["Contoso-Confidential.xml", "Contoso-ReadOnly.XML"]
    assert verdicts["Contoso-Confidential.txt"] == (False, "the name does not end in .xml")
    assert verdicts["by-alice.xml"][1].startswith("issued by Group-Identity:'alice@contoso.example'")
    assert verdicts["a-license.xml"][1] == "a publishing license, not a rights policy template"
    assert verdicts["garbage.xml"][1].startswith("not an XrML document")
    assert "digest of the BODY does not match" in verdicts["tampered.xml"][1]
    assert result.replaces_default_download
    assert str(result.folder) == r"C:\Users\alice\AppData\Local\Microsoft\MSIPC\UnmanagedTemplates"
    checks = result.trace.checks
    assert [c.spec_id for c in checks] == ["D-5"] * len(files)
    assert sum(c.passed for c in checks) == 2
    none = unmanaged_templates(Machine("SP01", mode=ClientMode.SERVER), {})
    assert not none.replaces_default_download
    assert str(none.folder) == r"C:\ProgramData\Microsoft\MSIPC\Server\UnmanagedTemplates\S-1-5-20"


def test_a_folder_on_disk(tmp_path: Path) -> None:
    (tmp_path / "b.xml").write_bytes(b"2")
    (tmp_path / "a.xml").write_bytes(b"1")
    (tmp_path / "sub").mkdir()
    assert read_template_folder(tmp_path) == {"a.xml": b"1", "b.xml": b"2"}
    with pytest.raises(InputError, match="cannot be read"):
        read_template_folder(tmp_path / "absent")
