"""How long a new lab and its first keys take, cold (no user cache), with and without
the keys shipped for the default seed. Floor: one raw `cryptography` RSA key generation
of the same size, measured in the same run."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

CODE = """
import time
t = time.perf_counter()
from rmslab.lab import Lab
from rmslab.samples import teaching_chain
teaching_chain(Lab(seed={seed}))
print(time.perf_counter() - t)
"""

FLOOR = """
import time
from cryptography.hazmat.primitives.asymmetric import rsa
t = time.perf_counter()
for _ in range(4):
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
print(time.perf_counter() - t)
"""


def run(code: str, cache: str) -> float:
    env = dict(os.environ, RMSLAB_CACHE=cache)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip())


def main() -> None:
    with tempfile.TemporaryDirectory() as empty:
        shipped = min(run(CODE.format(seed=0), empty) for _ in range(3))
        derived = [run(CODE.format(seed=1000 + i), tempfile.mkdtemp(dir=empty)) for i in range(3)]
        floor = min(run(FLOOR, empty) for _ in range(3))
    print("lab + first keys + teaching chain (4 keys, 2048-bit, mode 2), cold process")
    print(f"  default seed, shipped keys : {shipped:8.3f} s")
    print(f"  other seeds, derived (avg) : {sum(derived) / len(derived):8.3f} s "
          f"(max {max(derived):.3f} s)")
    print(f"  floor: 4 x OpenSSL keygen  : {floor:8.3f} s   ratio derived/floor "
          f"{sum(derived) / len(derived) / floor:.1f}x")


if __name__ == "__main__":
    main()
