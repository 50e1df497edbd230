"""Protected files at scale, and binding latency (issue 4).

Prints, in one run:

* protect (offline publishing + CBC4K encryption, streamed to a file) and open (binding +
  streamed decryption) of a large content, as throughput next to the raw cipher speed
  measured in the same run — one AES-128-CBC stream over the same bytes, encrypting for
  protect and decrypting for open (the strict floor), and the CBC4K layout done directly
  with ``cryptography`` (the algorithm's own floor: one CBC context per 4 KiB block);
* the peak memory of each operation, in a fresh process, for two sizes, to show it does
  not grow with the file;
* the latency of one binding next to its raw RSA operations (the PKCS#1 v1.5
  verifications of the use license chain and of the file's publishing license chain, and
  one RSA decryption of the sealed key).

Usage: python bench/protect_open.py [SIZE_MB]   (default 1024)
"""

from __future__ import annotations

import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHUNK = 1 << 20


_BLOCK = bytes((i * 131 + 7) % 256 for i in range(CHUNK))


class Pattern(io.RawIOBase):
    """A readable stream of ``size`` deterministic bytes, without holding them."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.block = _BLOCK

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = min(self.left, CHUNK if n < 0 else min(n, CHUNK))
        self.left -= n
        return self.block[:n]


class Discard(io.RawIOBase):
    def __init__(self) -> None:
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        n = len(data)  # type: ignore[arg-type]
        self.count += n
        return n


CHILD = r'''
import io, json, resource, sys, time
sys.path.insert(0, {repo!r})
from bench.protect_open import Pattern, Discard
from rmslab.deployment import standard_deployment
from rmslab.flows.binding import AppSession, open_protected
from rmslab.flows.publishing import publish_offline
from rmslab.lab import Lab
from rmslab.rights import Grant, RightsPolicy
from rmslab.store.labdb import LabStore
op, size, lab_dir, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with LabStore(lab_dir).write() as deployment:
    alice = deployment.user("alice")
    client = deployment.clients["ALICE-PC"]
    source = Pattern(size)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    if op == "protect":
        with open(path, "wb") as sink:
            publish_offline(client, alice, RightsPolicy((Grant(alice.email, ("OWNER",)),)),
                            source, sink, original_size=size)
    else:
        sink = Discard()
        with open(path, "rb") as source:
            open_protected(AppSession(client, alice), source, sink, "VIEW",
                           anchor=deployment.enrollment_service.anchor)
        assert sink.count == size, sink.count
elapsed = time.perf_counter() - t  # protect: with the commit of the owner license
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": elapsed, "base_kb": base, "peak_kb": peak}}))
'''


def child(op: str, size: int, lab_dir: str, path: str) -> dict[str, float]:
    repo = str(Path(__file__).resolve().parent.parent)
    result = subprocess.run([sys.executable, "-c", CHILD.format(repo=repo), op, str(size),
                             lab_dir, path], capture_output=True, text=True, check=True)
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def raw_cipher_floors(size: int) -> tuple[float, float, float, float]:
    """Seconds for one AES-128-CBC stream over ``size`` bytes (encrypt, decrypt), and for
    CBC4K done directly with ``cryptography`` (encrypt, decrypt)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    key = bytes(range(16))
    aes = algorithms.AES(key)
    streams = []
    for decrypt in (False, True):
        stream = Pattern(size)
        t = time.perf_counter()
        cipher = Cipher(aes, modes.CBC(bytes(16)))
        engine = cipher.decryptor() if decrypt else cipher.encryptor()
        while chunk := stream.read(CHUNK):
            engine.update(chunk)
        streams.append(time.perf_counter() - t)
    timings = []
    for decrypt in (False, True):
        stream = Pattern(size)
        t = time.perf_counter()
        ecb = Cipher(aes, modes.ECB()).encryptor()
        number = 0
        while chunk := stream.read(CHUNK):
            ivs = ecb.update(b"".join((number + i).to_bytes(4, "little") + bytes(12)
                                      for i in range(len(chunk) // 4096)))
            for i in range(len(chunk) // 4096):
                c = Cipher(aes, modes.CBC(ivs[i * 16:i * 16 + 16]))
                e = c.decryptor() if decrypt else c.encryptor()
                e.update(chunk[i * 4096:(i + 1) * 4096])
            number += len(chunk) // 4096
        timings.append(time.perf_counter() - t)
    return streams[0], streams[1], timings[0], timings[1]


def binding_latency(rounds: int = 200) -> tuple[float, float, int]:
    from cryptography.hazmat.primitives.asymmetric import padding
    from rmslab.deployment import standard_deployment
    from rmslab.flows.binding import AppSession, explain_binding
    from rmslab.flows.licensing import acquire_use_license
    from rmslab.flows.publishing import publish_offline
    from rmslab.lab import Lab
    from rmslab.rights import Grant, RightsPolicy
    from rmslab.xrml import parse

    deployment = standard_deployment(Lab())
    anchor = deployment.enrollment_service.anchor
    bob = deployment.user("bob")
    sink = io.BytesIO()
    protected = publish_offline(deployment.clients["ALICE-PC"], deployment.user("alice"),
                                RightsPolicy((Grant(bob.email, ("VIEW",)),)), b"x", sink)
    acquire_use_license(deployment.root_cluster, deployment.clients["BOB-PC"], bob,
                        protected.publishing_license, anchor=anchor)
    session = AppSession(deployment.clients["BOB-PC"], bob)
    samples = []
    for _ in range(rounds):
        t = time.perf_counter()
        assert explain_binding(session, protected.publishing_license, "VIEW",
                               anchor=anchor).allowed
        samples.append(time.perf_counter() - t)
    # floor: the raw RSA operations of that binding — the use license chain and the
    # file's publishing license chain verified, the sealed key decrypted
    chain = parse(deployment.clients["BOB-PC"].account("bob").licenses[protected.content_id])
    path = [d for d in chain][:4] + list(parse(protected.publishing_license))
    keys = [d.issuer_key._key() for d in path]  # type: ignore[union-attr]
    sigs = [(d.signature.value, d.signature.digest_value, d.digest_algorithm) for d in path]  # type: ignore[union-attr]
    account = deployment.clients["BOB-PC"].account_key("bob")
    from rmslab.xrml.licenses import license_bits
    bits, bits_type, _ = license_bits(chain[0], "VIEW")
    block = bits[:account.public.size // 8]
    unwrap = bits_type._padding()  # PKCS#1 v1.5 (sealed-key) or OAEP (sealed-key-v2)
    floors = []
    for _ in range(rounds):
        t = time.perf_counter()
        for key, (value, digest, algorithm) in zip(keys, sigs):
            key.verify(value, digest, padding.PKCS1v15(), algorithm._prehashed())  # type: ignore[union-attr, arg-type]
        account._key.decrypt(block, unwrap)
        floors.append(time.perf_counter() - t)
    return statistics.median(samples), statistics.median(floors), len(path)


def main() -> None:
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    sizes = sorted({64, size_mb})
    with tempfile.TemporaryDirectory() as scratch:
        from rmslab.deployment import standard_deployment
        from rmslab.lab import Lab
        from rmslab.store.labdb import LabStore
        lab_dir = str(Path(scratch) / "lab")
        LabStore.create(standard_deployment(Lab()), lab_dir)
        print(f"protect / open, CBC4K (mode 2), streamed; floors measured in this run")
        print(f"{'size':>8} {'op':>8} {'seconds':>8} {'MiB/s':>8} {'floor CBC':>10} "
              f"{'ratio':>6} {'floor CBC4K':>12} {'ratio':>6} {'peak RSS':>9} {'growth':>7}")
        for size_mb_now in sizes:
            size = size_mb_now * CHUNK
            cbc_enc, cbc_dec, cbc4k_enc, cbc4k_dec = raw_cipher_floors(size)
            path = str(Path(scratch) / "content.pfile")
            for op, cbc, floor4k in (("protect", cbc_enc, cbc4k_enc), ("open", cbc_dec, cbc4k_dec)):
                r = child(op, size, lab_dir, path)
                mib = size / CHUNK
                print(f"{size_mb_now:>6}MB {op:>8} {r['seconds']:>8.2f} "
                      f"{mib / r['seconds']:>8.0f} {mib / cbc:>8.0f}/s {cbc / r['seconds']:>6.2f} "
                      f"{mib / floor4k:>10.0f}/s {floor4k / r['seconds']:>6.2f} "
                      f"{r['peak_kb'] / 1024:>7.0f}MB {(r['peak_kb'] - r['base_kb']) / 1024:>5.0f}MB")
            os.unlink(path)
    bound, floor, verifications = binding_latency()
    print()
    print(f"binding (explain_binding, VIEW): {bound * 1e3:.2f} ms; raw RSA floor "
          f"({verifications} verifications + 1 decryption): {floor * 1e3:.2f} ms; ratio "
          f"{bound / floor:.2f}")


if __name__ == "__main__":
    main()
