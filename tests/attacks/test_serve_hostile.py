"""The hostile requests of test_server.py — bad lengths, 50 MB bodies, deep nesting,
malformed envelopes, wrong namespaces, entity bombs, rights data that does not decode,
stalled connections — sent to `rmslab serve` in a process of its own: each gets a SOAP
fault or a 4xx, the server keeps serving and writes no traceback, and what reached a
service is logged (an unreadable request as ``rejected``).

covers: L-1, E-8 (MS-RMPR 2.1, 3.1.4.5, 3.1.4.6)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from tests.attacks.serving import ServeProcess
from tests.attacks.test_server import (still_serving, test_a_50_mb_body_is_refused_unread,
                                       test_bad_content_lengths,
                                       test_certificates_that_are_not_documents,
                                       test_deeply_nested_xml, test_get_and_other_methods,
                                       test_malformed_envelopes,
                                       test_many_stalled_connections,
                                       test_rights_data_that_does_not_decode,
                                       test_wrong_namespaces_and_operations)
from tests.clirun import run

__all__ = ["test_a_50_mb_body_is_refused_unread", "test_bad_content_lengths",
           "test_certificates_that_are_not_documents", "test_deeply_nested_xml",
           "test_get_and_other_methods", "test_malformed_envelopes",
           "test_many_stalled_connections", "test_rights_data_that_does_not_decode",
           "test_wrong_namespaces_and_operations"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default lab: the same seed as the ``deployment`` fixture, so the documents
    the tests build from it are the served lab's."""
    target = tmp_path_factory.mktemp("hostile") / "lab"
    assert run("lab", "create", str(target))[0] == 0
    return target


@pytest.fixture(scope="module")
def process(lab: Path) -> Iterator[ServeProcess]:
    with ServeProcess(lab, "--channel-timeout", "2") as served:
        yield served
        assert served.process.poll() is None, "rmslab serve died"
        assert served.stop() == 0
    assert "Traceback" not in served.stderr and "Traceback" not in served.stdout
    status, output, _ = run("log", str(lab), "--requests", "--json")
    rows = json.loads(output)
    assert status == 0 and rows
    assert {r["outcome"] for r in rows} <= {"answered", "fault", "rejected"}
    assert any(r["outcome"] == "rejected" and r["exception"] == "soap:Client" for r in rows)
    assert all(r["status"] != 500 or r["outcome"] == "fault" or
               r["exception"] == "soap:VersionMismatch" for r in rows)


@pytest.fixture()
def served(process: ServeProcess) -> Iterator[ServeProcess]:
    yield process
    assert process.process.poll() is None, "rmslab serve died"
    still_serving(process)  # type: ignore[arg-type]
