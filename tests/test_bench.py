"""The benchmarks keep running: each round is cut to almost nothing, and only that they
finish and print their columns is checked (speed is measured in bench/, never asserted).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_verify_and_sign_bench_runs_with_its_bare_verifier(corpus: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "verify_and_sign.py"), "--rounds", "1",
         "--round-time", "0.001"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "RMSLAB_CORPUS": str(corpus)})
    assert result.returncode == 0, result.stderr
    assert "bare ratio" in result.stdout
    rows = [line for line in result.stdout.splitlines() if "validate_chain" in line]
    assert len(rows) == 4  # two teaching chains, the corpus chain, the protected file
    assert "corpus protected file" in result.stdout


def test_lab_commands_bench_runs() -> None:
    result = subprocess.run([sys.executable, str(REPO / "bench" / "lab_commands.py"), "--rounds",
                             "1"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = [line.split()[0] for line in result.stdout.splitlines()
            if line.startswith(("protect ", "open "))]
    assert rows == ["protect", "open", "open"] and "LabStore.read" in result.stdout


def test_served_lab_bench_runs() -> None:
    result = subprocess.run([sys.executable, str(REPO / "bench" / "served_lab.py"), "--rounds",
                             "1"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = [line.split()[0] for line in result.stdout.splitlines()
            if line.startswith(("AcquireLicense ", "GetClientLicensorCert ",
                                "GetLicensorCertificate "))]
    assert rows == ["AcquireLicense", "GetClientLicensorCert", "GetLicensorCertificate"]


def test_hostile_inputs_bench_runs() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "hostile_inputs.py"), "--sizes", "1",
         "--rounds", "1", "--sparse-gb", "0.01"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines()
            if line.startswith(("XrML tiny documents", ".reg continued hex", "LDIF folded"))]
    assert len(rows) == 3  # XrML, .reg, LDIF at 1 MB
    assert "GB of content (sparse)" in result.stdout and "status 0" in result.stdout


def test_serve_bench_runs() -> None:
    result = subprocess.run([sys.executable, str(REPO / "bench" / "serve.py"), "--seconds",
                             "0.3", "--concurrency", "1,2"], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()
            if line.strip().split(" ")[0] in ("1", "2")]
    assert [row[0] for row in rows] == ["1", "2"] and all(len(row) == 7 for row in rows)
    assert "signature(s)" in result.stdout and "ratio" in result.stdout


def test_served_lab_bench_compares_an_older_tree(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(REPO / "bench" / "served_lab.py"), "--rounds",
                             "1", "--before", str(REPO)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("AcquireLicense ") == 2 and "after: this tree" in result.stdout


def test_inventory_bench_runs() -> None:
    result = subprocess.run([sys.executable, str(REPO / "bench" / "inventory.py"), "--files",
                             "60", "--small", "30", "--rounds", "1", "--no-dask"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ratio to floor") == 4 and "peak memory:" in result.stdout
