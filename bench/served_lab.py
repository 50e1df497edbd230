"""What serving a lab from its store costs a request, beside a floor measured in the same
run: the same SOAP requests answered from a deployment held in memory
(``LoopbackService.of``) and from a lab on disk (``LoopbackService.of_lab``, a
transaction per request that may change the lab, a shared snapshot for the others).

Requests: AcquireLicense (issues a use license: a write transaction),
GetClientLicensorCert (issues a CLC and logs it: a write transaction) and
GetLicensorCertificate (reads the SLC: the snapshot). Each is timed as the client sees it (wall clock, loopback HTTP
included).

With ``--before SRC`` (an older rmslab source tree, e.g. ``git archive main | tar -x -C
/tmp/before``) the same measurement runs again with that tree first on ``PYTHONPATH``
and both tables are printed: what a change to the store or the server did.

Usage: python bench/served_lab.py [--rounds N] [--before SRC]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

REQUESTS = ("AcquireLicense", "GetClientLicensorCert", "GetLicensorCertificate")


def _requests(http_port: int, deployment: object) -> dict[str, Callable[[], object]]:
    from rmslab.deployment import Deployment
    from rmslab.flows.licensing import acquire_use_license
    from rmslab.flows.publishing import publish_offline
    from rmslab.rights import Grant, RightsPolicy
    from rmslab.service import RemoteCertificationService, RemoteLicensingService
    from rmslab.service.http import SoapClient
    from rmslab.service.soap import VERSION_1_0, el, write_envelope
    from rmslab.trace import Trace
    assert isinstance(deployment, Deployment)
    bob, bob_pc = deployment.user("bob"), deployment.clients["BOB-PC"]
    anchor = deployment.enrollment_service.anchor
    chain = publish_offline(deployment.clients["ALICE-PC"], deployment.user("alice"),
                            RightsPolicy((Grant(bob.email, ("VIEW",)),)), b"served",
                            io.BytesIO()).publishing_license
    licensing = RemoteLicensingService.of(deployment.root_cluster, http_port)
    certification = RemoteCertificationService.of(deployment.root_cluster, http_port)
    client = SoapClient(http_port)
    slc_request = write_envelope("http://microsoft.com/DRM/ServerService",
                                 el("GetLicensorCertificate"), versions=(VERSION_1_0, VERSION_1_0))
    url = f"{deployment.root_cluster.url}/licensing/server.asmx"
    action = "http://microsoft.com/DRM/ServerService/GetLicensorCertificate"
    return {
        "AcquireLicense": lambda: acquire_use_license(licensing, bob_pc, bob, chain,
                                                      anchor=anchor),
        "GetClientLicensorCert": lambda: certification.enroll_client(
            bob, bob_pc.name, bob_pc.account("bob").rac_text, trace=Trace("client enrollment")),
        "GetLicensorCertificate": lambda: client.post(url, slc_request, action=action),
    }


def _time(calls: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in REQUESTS}
    for _ in range(rounds):
        for name in REQUESTS:
            started = time.perf_counter()
            calls[name]()
            times[name].append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--before", metavar="SRC",
                        help="an older rmslab source tree to measure the same way")
    args = parser.parse_args()
    if args.before:
        source = str(Path(args.before).resolve())
        print(f"before: {source}", flush=True)
        result = subprocess.run([sys.executable, __file__, "--rounds", str(args.rounds)],
                                env={**os.environ, "PYTHONPATH": source}, text=True,
                                capture_output=True)
        if result.returncode or f"rmslab from {source}" not in result.stdout:
            raise SystemExit(f"--before {source}: {result.stderr[-2000:]}")
        print(result.stdout, end="")
        print("after: this tree", flush=True)
    from rmslab.cli import main as cli
    from rmslab.service import LoopbackService
    from rmslab.store.disk import load_deployment
    from rmslab.store.labdb import LabStore
    with tempfile.TemporaryDirectory() as directory:
        lab = Path(directory) / "lab"
        cli(["lab", "create", str(lab)], out=io.StringIO())
        in_memory, clients = load_deployment(lab), load_deployment(lab)
        with LoopbackService.of(in_memory) as floor, \
                LoopbackService.of_lab(LabStore(lab)) as served:
            calls = {"floor": _requests(floor.port, clients),
                     "store": _requests(served.port, clients)}
            for code in calls:  # warm both up (imports, caches, the first snapshot)
                _time(calls[code], 1)
            results: dict[str, dict[str, list[float]]] = {
                code: {name: [] for name in REQUESTS} for code in calls}
            for _ in range(args.rounds):  # interleaved: a busy machine weighs on both
                for code in calls:
                    for name, seconds in _time(calls[code], 1).items():
                        results[code][name] += seconds
    import rmslab
    print(f"rmslab from {Path(rmslab.__file__).resolve().parent.parent}")
    print(f"one SOAP request over loopback, wall clock, {args.rounds} rounds: floor = the same "
          "server holding the deployment in memory, measured in this run")
    print(f"{'request':<24} {'floor':>8} {'store':>8} {'ratio':>6} {'median':>8}")
    for name in REQUESTS:
        floor_best, store_best = min(results["floor"][name]), min(results["store"][name])
        print(f"{name:<24} {floor_best * 1e3:>6.1f}ms {store_best * 1e3:>6.1f}ms "
              f"{store_best / floor_best:>6.2f} {statistics.median(results['store'][name]) * 1e3:>6.1f}ms")


if __name__ == "__main__":
    main()
