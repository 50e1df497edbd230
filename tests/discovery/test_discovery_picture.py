"""The picture of the path a discovery request takes.

covers: D-7, D-9
"""

from __future__ import annotations

from pathlib import Path

from rmslab.discovery.discover import discover
from rmslab.discovery.machine import Machine
from rmslab.discovery.samples import content_license
from rmslab.lab import Lab
from rmslab.viz import Picture
from rmslab.viz.discovery import discovery_graph

REPO = Path(__file__).resolve().parents[2]
REG, LDIF = REPO / "data" / "registry", REPO / "data" / "directory"


# covers: D-7, D-9
def test_each_attempt_is_a_box_in_order_ending_at_the_server() -> None:
    machine = Machine.from_files("FAB-LT-7", REG / "fabrikam-merger-licensing-redirection.reg",
                                 ldif=LDIF / "fabrikam-forest-scp.ldf")
    result = discover(machine, purpose="consume", license=content_license(Lab()),
                      unreachable=["corprights", "corprights.contoso.com"])
    graph = discovery_graph(result)
    source = graph.source.replace("\\n", " ")
    assert "client -> a1" in source and "a1 -> server" in source
    assert "redirected to https://adrms.fabrikam.com/_wmcs/licensing" in source
    svg = Picture(graph).svg()
    assert svg.startswith("<?xml") and "adrms.fabrikam.com" in svg
    assert Picture(discovery_graph(result)).svg() == svg  # the same picture every time


# covers: D-7
def test_a_failure_ends_in_a_red_octagon() -> None:
    result = discover(Machine("WS"), cloud=None)
    source = discovery_graph(result, name="failed").source.replace("\\n", " ")
    assert "a3 -> failed" in source and "octagon" in source
    assert "NOT FOUND: the computer is not joined to a domain" in source
