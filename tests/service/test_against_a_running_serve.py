"""`rmslab open --server` and `rmslab protect --server` against a running `rmslab serve`
(the address it prints). The server writes to the same lab while it answers, so a
command that held the lab would wait for itself: open asks for the use license before it
takes the lab, and binding checks the answer as any use license (an answer changed on
the way opens nothing; a server of another lab licenses nothing); protect holds the lab
only while it drafts the license (content key and IDs drawn and committed), and asks the
server for the SLC chain before and for the signature after.

covers: L-1, B-1, B-2, E-8, P-8
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from rmslab.store.labdb import LabStore
from tests.attacks.serving import ServeProcess
from tests.clirun import lab_with_protected_file, run

ROOT = "rms.contoso.example/_wmcs"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def lab_and_file(tmp_path: Path) -> tuple[Path, Path]:
    return lab_with_protected_file(tmp_path, "minutes", "minutes of the board\n")


@pytest.fixture()
def served(lab_and_file: tuple[Path, Path]) -> Iterator[ServeProcess]:
    server = ServeProcess(lab_and_file[0])
    try:
        yield server
    finally:
        server.stop()


def test_open_acquires_from_the_running_server_and_it_logs_the_request(
        lab_and_file: tuple[Path, Path], served: ServeProcess, tmp_path: Path) -> None:
    lab, protected = lab_and_file
    address = f"{served.origin}/{ROOT}"
    started = time.monotonic()
    status, out, err = run("open", str(protected), "--lab", str(lab), "--as", "bob",
                           "--server", address)
    assert status == 0, err
    assert time.monotonic() - started < 30  # no wait on a lab the command itself holds
    assert out == "minutes of the board\n"
    assert f"a running rmslab serve at {address}, over SOAP" in err
    # the license is in bob's store: the next open uses it and asks nobody
    status, _, err = run("open", str(protected), "--lab", str(lab), "--as", "bob",
                         "--server", address)
    assert status == 0 and "cached in bob@contoso.example's license store" in err
    # carol has no rights: the running server refuses, with MS-RMPR's exception name
    status, _, err = run("open", str(protected), "--lab", str(lab), "--as", "carol",
                         "--server", address)
    assert status == 3 and "NoRightsForRequestedPrincipalException" in err
    # both requests are in the served cluster's request log (E-8)
    with LabStore(lab).read() as deployment:
        outcomes = [(r.operation, r.outcome)
                    for r in deployment.root_cluster.log.requests(service="License")]
    assert outcomes == [("AcquireLicense", "answered"), ("AcquireLicense", "fault")]


def test_a_server_of_another_lab_cannot_license_the_content(
        lab_and_file: tuple[Path, Path], tmp_path: Path) -> None:
    # the same host names, the keys of another seed: that server does not trust bob's RAC
    # (nor could it open the content key, sealed to the real cluster's key), and says so
    lab, protected = lab_and_file
    other = tmp_path / "other-lab"
    assert run("lab", "create", str(other), "--seed", "7")[0] == 0
    rogue = ServeProcess(other)
    try:
        status, out, err = run("open", str(protected), "--lab", str(lab), "--as", "bob",
                               "--server", f"{rogue.origin}/{ROOT}")
    finally:
        rogue.stop()
    assert status == 3 and out == ""
    assert "UntrustedPersonaCertException" in err


def test_an_answer_is_bound_like_any_use_license(
        lab_and_file: tuple[Path, Path], served: ServeProcess,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # what the running server answered goes through binding's checks: a use license
    # changed on the way (one byte of its signed BODY) opens nothing
    from rmslab.service.http import RemoteLicensingService
    lab, protected = lab_and_file
    original = RemoteLicensingService.license

    def changed_on_the_way(self: RemoteLicensingService, *args: object,
                           **kwargs: object) -> str:
        answer: str = original(self, *args, **kwargs)  # type: ignore[arg-type]
        assert "<ISSUEDTIME>2026-" in answer
        return answer.replace("<ISSUEDTIME>2026-", "<ISSUEDTIME>2025-", 1)

    monkeypatch.setattr(RemoteLicensingService, "license", changed_on_the_way)
    status, out, err = run("open", str(protected), "--lab", str(lab), "--as", "bob",
                           "--server", f"{served.origin}/{ROOT}")
    assert status == 3 and out == ""
    assert "binding refused: B-2" in err and "digest of the BODY does not match" in err


def test_what_open_and_protect_say_of_a_server_address(lab_and_file: tuple[Path, Path],
                                                       tmp_path: Path) -> None:
    lab, protected = lab_and_file
    # nothing listens there
    status, _, err = run("open", str(protected), "--lab", str(lab), "--as", "bob",
                         "--server", f"http://127.0.0.1:9/{ROOT}")
    assert status == 3 and "is rmslab serve running there?" in err
    # a lab host the lab does not have
    status, _, err = run("open", str(protected), "--lab", str(lab), "--as", "bob",
                         "--server", "http://127.0.0.1:8080/nowhere.example/_wmcs")
    assert status == 2 and "names the lab host of no cluster of this lab" in err
    # protect, with nothing listening: refused, and no file — not even a part file
    status, _, err = run("protect", str(tmp_path / "minutes.txt"), str(tmp_path / "x.ptxt"),
                         "--lab", str(lab), "--as", "alice", "--grant", "bob:VIEW",
                         "--server", f"http://127.0.0.1:9/{ROOT}")
    assert status == 3 and "is rmslab serve running there?" in err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("x.ptxt")]


def test_protect_through_the_running_server(lab_and_file: tuple[Path, Path],
                                            served: ServeProcess, tmp_path: Path) -> None:
    # P-8, MS-RMPR 3.8.4.3: the SLC chain and the signature from the running server; the
    # content key and IDs drawn from the lab and committed before the server is asked
    lab, _ = lab_and_file
    address = f"{served.origin}/{ROOT}"
    plain = tmp_path / "plan.txt"
    plain.write_text("the plan\n")
    found = []
    for name in ("plan-1.ptxt", "plan-2.ptxt"):
        started = time.monotonic()
        status, out, err = run("protect", str(plain), str(tmp_path / name), "--lab", str(lab),
                               "--as", "alice", "--grant", "bob:VIEW", "--server", address)
        assert status == 0, err
        assert time.monotonic() - started < 30  # no wait on a lab the command holds
        assert "signed by a running rmslab serve over SOAP" in out
        found.append(out.split("content ")[1].split()[0])
    assert found[0] != found[1]  # nothing drawn twice
    for name in ("plan-1.ptxt", "plan-2.ptxt"):
        status, out, _ = run("open", str(tmp_path / name), "--lab", str(lab), "--as", "bob")
        assert status == 0 and out == "the plan\n"
    with LabStore(lab).read() as deployment:
        root = deployment.root_cluster
        served_operations = [(r.operation, r.outcome) for r in root.log.requests()]
    assert served_operations == [("GetLicensorCertificate", "answered"),
                                 ("AcquireIssuanceLicense", "answered")] * 2


def _race(lab: Path, address: str, worker: int, folder: Path) -> subprocess.Popen[str]:
    """One process protecting through the running server and opening what it protected,
    three times, printing each content ID."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from tests.clirun import run\n"
        f"lab, address, folder = {str(lab)!r}, {address!r}, Path({str(folder)!r})\n"
        "plain = folder / 'plain.txt'\n"
        "for round in range(3):\n"
        f"    target = folder / f'w{worker}-{{round}}.ptxt'\n"
        "    status, out, err = run('protect', str(plain), str(target), '--lab', lab, '--as',\n"
        "                           'alice', '--grant', 'bob:VIEW', '--server', address)\n"
        "    assert status == 0, err\n"
        "    print(out.split('content ')[1].split()[0], flush=True)\n"
        "    status, out, err = run('open', str(target), '--lab', lab, '--as', 'bob',\n"
        "                           '--server', address)\n"
        "    assert status == 0 and out == 'race\\n', err\n")
    return subprocess.Popen([sys.executable, "-c", script], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "RMSLAB_LOCK_TIMEOUT": "60"})


def test_clients_racing_through_the_running_server_lose_nothing(
        lab_and_file: tuple[Path, Path], served: ServeProcess, tmp_path: Path) -> None:
    # three processes protect and open through one running server at once: every command
    # succeeds, no content ID is drawn twice, every request is in the server's log
    lab, _ = lab_and_file
    (tmp_path / "plain.txt").write_text("race\n")
    workers = [_race(lab, f"{served.origin}/{ROOT}", n, tmp_path) for n in range(3)]
    ids = []
    for worker in workers:
        out, err = worker.communicate(timeout=240)
        assert worker.returncode == 0, err
        ids += out.split()
    assert len(ids) == 9 and len(set(ids)) == 9
    with LabStore(lab).read() as deployment:
        answered = [r.operation for r in deployment.root_cluster.log.requests()
                    if r.outcome == "answered"]
    assert sorted(answered) == sorted(["GetLicensorCertificate", "AcquireIssuanceLicense",
                                       "AcquireLicense"] * 9)
