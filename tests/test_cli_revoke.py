"""`rmslab revoke`, `rmslab open --session` and `rmslab session close`: the documentation's worked
example across commands.

covers: R-4, R-5, R-8, R-9
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.clirun import run


def test_revocation_across_commands(tmp_path: Path) -> None:
    lab = str(tmp_path / "lab")
    assert run("lab", "create", lab)[0] == 0
    files = {}
    for name, extra in (("c1", ["--cluster", "contoso-licensing", "--require-revocation"]),
                        ("c2", ["--cluster", "contoso-licensing"]), ("c3", [])):
        plain = tmp_path / f"{name}.txt"
        plain.write_text(name)
        files[name] = str(tmp_path / f"{name}.ptxt")
        assert run("protect", str(plain), files[name], "--lab", lab, "--as", "carol",
                   "--grant", "bob:VIEW", *extra)[0] == 0
    content_2 = json.loads(run("inspect", files["c2"], "--json")[1])["documents"][0]["content_id"]
    status, output, _ = run("revoke", "--lab", lab, "--by", "contoso-licensing", "--content",
                            content_2, "--publish")
    assert status == 0 and "published at https://licensing.contoso.example" in output
    opened = [run("open", files[c], "--lab", lab, "--as", "bob", "--session", "word")
              for c in ("c1", "c2", "c3")]
    assert [o[0] for o in opened] == [0, 3, 0]
    assert "R-1" in opened[1][2] and "content-id" in opened[1][2]
    status, output, _ = run("session", "close", "word", "--lab", lab, "--as", "bob")
    assert status == 0 and "1 registered revocation list(s) cleared" in output
    assert run("open", files["c2"], "--lab", lab, "--as", "bob", "--session", "word")[0] == 0
    # without a session nothing stays registered between commands
    assert run("open", files["c2"], "--lab", lab, "--as", "bob")[0] == 0
    assert run("session", "close", "nope", "--lab", lab, "--as", "bob")[0] == 2


def test_revoke_needs_something(tmp_path: Path) -> None:
    lab = str(tmp_path / "lab")
    assert run("lab", "create", lab)[0] == 0
    assert run("revoke", "--lab", lab, "--by", "contoso-root")[0] == 2
    assert run("revoke", "--lab", lab, "--by", "nobody", "--user", "bob")[0] == 2
    status, output, _ = run("revoke", "--lab", lab, "--by", "contoso-root", "--user", "bob",
                            "--app", "Word")
    assert status == 0 and "revokes 2 entries" in output and "not published" in output
