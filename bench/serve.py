"""How many use licenses ``rmslab serve`` answers per second, beside a floor measured in
the same run: the raw RSA signatures the server must make per license.

The server is ``rmslab serve`` on a lab of its own, in a process of its own. At 1, 8 and
32 concurrent clients (threads of this process, each on a kept-alive connection), every
client asks for a use license (AcquireLicense, MS-RMPR 3.4.4.1: decided on the lab's
shared snapshot — the chains verified once and kept by their text, the content key
opened —, its GUID and padding drawn and committed under the lab's lock, the content key
sealed again, the license signed, the request logged) again and again for
``--seconds``; answers per second and the p50 and p99 latency as the client sees it are
printed.

The floor: the same number of threads making raw RSA PKCS#1 v1.5 signatures with a key
of the cluster's size (``cryptography``, no rmslab code), for as long, measured in this
run before each load — how fast the machine signs. Per license the server makes
``signatures`` private-key signatures (counted in this run by profiling one license
issued in process) and also opens the content key with its private key (``decrypts``);
the floor is signatures per second divided by the signatures per license, and the
ratio is answers per second over that floor (1.0: the server does nothing but sign).

Usage: python bench/serve.py [--seconds S] [--concurrency 1,8,32] [--threads N]
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import os
import pstats
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

DRM = "http://microsoft.com/DRM/"
LICENSE = "/rms.contoso.example/_wmcs/licensing/license.asmx"


def _lab(directory: Path) -> tuple[Path, bytes, int, tuple[int, int]]:
    """A new lab; the AcquireLicense request bob's client sends for a license alice
    published; the cluster's key size; and the private-key operations per license
    (signatures, decryptions), counted by profiling one license issued in process."""
    from rmslab.cli import main as cli
    from rmslab.flows.licensing import issue_use_license
    from rmslab.flows.publishing import publish_offline
    from rmslab.rights import Grant, RightsPolicy
    from rmslab.service.soap import certificates_xml, el, write_envelope
    from rmslab.store.disk import load_deployment
    from rmslab.trace import Trace
    lab = directory / "lab"
    cli(["lab", "create", str(lab)], out=io.StringIO())
    clients = load_deployment(lab)
    bob = clients.user("bob")
    chain = publish_offline(clients.clients["ALICE-PC"], clients.user("alice"),
                            RightsPolicy((Grant(bob.email, ("VIEW",)),)), b"bench",
                            io.BytesIO()).publishing_license
    rac = clients.clients["BOB-PC"].account("bob").rac_text
    body = write_envelope(DRM + "LicensingService", el("AcquireLicense", el("RequestParams", el(
        "AcquireLicenseParams", certificates_xml("LicenseeCerts", rac),
        certificates_xml("IssuanceLicense", chain)))))
    cluster = clients.root_cluster
    profile = cProfile.Profile()
    profile.enable()
    issue_use_license(cluster, chain, rac, anchor=clients.enrollment_service.anchor,
                      trace=Trace("bench"), to="bench")
    profile.disable()
    counts = {"sign": 0, "decrypt": 0}
    for (_, _, name), row in pstats.Stats(profile).stats.items():  # type: ignore[attr-defined]
        if "RSAPrivateKey" in name:
            for operation in counts:
                if f"'{operation}'" in name:
                    counts[operation] += row[1]
    return lab, body, cluster.key.bits, (counts["sign"], counts["decrypt"])


def _serve(lab: Path, threads: int) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "rmslab.cli", "serve", "--lab", str(lab), "--port", "0",
         "--threads", str(threads)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert process.stdout is not None
    first = process.stdout.readline()
    found = re.search(r"127\.0\.0\.1:(\d+)", first)
    if not found:
        process.kill()
        raise SystemExit(f"rmslab serve did not start: {first}{process.stderr.read() if process.stderr else ''}")
    threading.Thread(target=process.stdout.read, daemon=True).start()  # keep the pipe drained
    return process, int(found.group(1))


def _load(port: int, body: bytes, clients: int, seconds: float) -> tuple[int, list[float], int]:
    """``clients`` threads asking for licenses for ``seconds``: answers (200), the
    latency of each, and anything else (faults, broken connections)."""
    latencies: list[float] = []
    other = [0]
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    until = [0.0]

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Content-Type": "text/xml; charset=utf-8",
                   "SOAPAction": f'"{DRM}LicensingService/AcquireLicense"'}
        mine: list[float] = []
        start.wait()
        while time.perf_counter() < until[0]:
            began = time.perf_counter()
            try:
                connection.request("POST", LICENSE, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                with lock:
                    other[0] += 1
                continue
            if response.status == 200:
                mine.append(time.perf_counter() - began)
            else:
                with lock:
                    other[0] += 1
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    until[0] = time.perf_counter() + seconds
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return len(latencies), [elapsed] + latencies, other[0]


def _signatures(bits: int, concurrency: int, seconds: float) -> int:
    """Raw RSA PKCS#1 v1.5 / SHA-256 signatures made by ``concurrency`` threads in
    ``seconds`` (the floor), with a fresh key of ``bits``."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    message = b"x" * 64
    done = [0]
    lock = threading.Lock()
    until = time.perf_counter() + seconds

    def signer() -> None:
        count = 0
        while time.perf_counter() < until:
            key.sign(message, padding.PKCS1v15(), hashes.SHA256())
            count += 1
        with lock:
            done[0] += count

    threads = [threading.Thread(target=signer) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0]


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="how long each load and each floor runs (default 10)")
    parser.add_argument("--concurrency", default="1,8,32",
                        help="the numbers of concurrent clients (default 1,8,32)")
    parser.add_argument("--threads", type=int, default=8,
                        help="rmslab serve's worker threads (default 8)")
    args = parser.parse_args()
    levels = [int(n) for n in args.concurrency.split(",")]
    with tempfile.TemporaryDirectory() as directory:
        lab, body, bits, (signs, decrypts) = _lab(Path(directory))
        process, port = _serve(lab, args.threads)
        try:
            _load(port, body, 1, min(1.0, args.seconds))  # warm up: imports, caches
            rows = []
            for clients in levels:
                floor = _signatures(bits, clients, args.seconds) / args.seconds
                answered, timings, other = _load(port, body, clients, args.seconds)
                elapsed, latencies = timings[0], timings[1:]
                rows.append((clients, answered / elapsed, floor / max(signs, 1),
                             statistics.median(latencies) if latencies else float("nan"),
                             _percentile(latencies, 0.99), other))
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    print(f"AcquireLicense on rmslab serve ({args.threads} worker threads, one process), "
          f"{args.seconds:g} s per level, {os.cpu_count()} CPUs; per license the server makes "
          f"{signs} RSA-{bits} signature(s) and {decrypts} private-key decryption(s); floor = "
          "raw signatures per second by as many threads, divided by the signatures per "
          "license, measured in this run")
    print(f"{'clients':>7} {'answers/s':>10} {'floor/s':>9} {'ratio':>6} {'p50':>9} "
          f"{'p99':>9} {'other':>6}")
    for clients, rate, floor, p50, p99, other in rows:
        print(f"{clients:>7} {rate:>10.1f} {floor:>9.1f} {rate / floor:>6.3f} "
              f"{p50 * 1e3:>7.1f}ms {p99 * 1e3:>7.1f}ms {other:>6}")


if __name__ == "__main__":
    main()
