"""Benchmark: hostile inputs in linear time (issue 10, item 8), and the memory a huge
protected file takes to inspect.

Run from the repository root::

    .venv/bin/python bench/hostile_inputs.py [--sizes 1,2,4,8] [--rounds N] [--sparse-gb G]

For each of three inputs, built at 1, 2, 4 and 8 MB, it prints the time per MB of what
rmslab does with it, beside a floor measured in the same run on the same bytes, and the
ratio. Linear means a flat column: the time per MB (and the ratio) stays the same as the
size doubles; a quadratic reader doubles its time per MB with each row.

* XrML, tiny documents: ``<XrML><BODY type="x"/></XrML>`` back to back (35,000 of them
  per MB). rmslab: ``read_chain`` (decode, find the spans, parse, locate each document's
  parts) and ``inspect_json`` (every field ``rmslab inspect`` shows). Floor: decoding the
  bytes and one lxml parse of the text inside one synthetic root.
* ``.reg``, one hex value continued over the whole file, 25 bytes a line, as the
  registry editor folds it. rmslab: ``parse_reg``. Floor: decoding the bytes, splitting
  the lines, and joining the hex digits into bytes with ``bytes.fromhex``.
* LDIF, one value folded over the whole file, 77 characters a line. rmslab:
  ``parse_ldif``. Floor: decoding the bytes, splitting the lines and joining the folded
  pieces.

Then the peak memory (maximum resident set) of ``rmslab inspect --json`` on a sparse
protected file whose content is ``--sparse-gb`` gigabytes (default 1), next to the same
command on a protected file of the same license with 32 bytes of content, each in a
fresh process: inspecting reads the header and the license, never the content.

Times are medians over ``--rounds`` rounds (default 3). Absolute times vary from machine
to machine; the flatness of the columns holds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(REPO))

from lxml import etree  # noqa: E402

from rmslab.discovery.ldif import parse_ldif  # noqa: E402
from rmslab.discovery.regfile import parse_reg  # noqa: E402
from rmslab.lab import Lab  # noqa: E402
from rmslab.report import inspect_json  # noqa: E402
from rmslab.samples import teaching_chain  # noqa: E402
from rmslab.xrml import read_chain  # noqa: E402
from rmslab.xrml.pfile import container_header  # noqa: E402

MB = 1_000_000


def tiny_documents(megabytes: int) -> bytes:
    document = b'<XrML><BODY type="x"/></XrML>\n'
    return document * (megabytes * MB // len(document))


def continued_reg(megabytes: int) -> bytes:
    line = "  " + ",".join(["ab"] * 25) + ",\\\r\n"
    return ('Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\Software\\X]\r\n'
            '"big"=hex:01,\\\r\n' + line * (megabytes * MB // len(line)) + "  ff\r\n"
            ).encode("cp1252")


def folded_ldif(megabytes: int) -> bytes:
    line = " " + "x" * 77 + "\r\n"
    return ("dn: cn=a,dc=x\r\ndescription: start\r\n" + line * (megabytes * MB // len(line))
            + "cn: a\r\n").encode()


def xrml_rmslab(data: bytes) -> object:
    return inspect_json(read_chain(data))


def xrml_floor(data: bytes) -> object:
    return etree.fromstring(f"<w>{data.decode('utf-8')}</w>")


def reg_floor(data: bytes) -> object:
    lines = data.decode("cp1252").split("\r\n")
    hex_text = "".join(line.strip().rstrip("\\") for line in lines[4:])
    return bytes.fromhex(hex_text.replace(",", ""))


def ldif_floor(data: bytes) -> object:
    lines = data.decode("utf-8").split("\r\n")
    return "".join(line[1:] if line.startswith(" ") else line for line in lines)


INPUTS: list[tuple[str, Callable[[int], bytes], Callable[[bytes], object],
                   Callable[[bytes], object], str]] = [
    ("XrML tiny documents", tiny_documents, xrml_rmslab, xrml_floor,
     "read_chain + inspect_json"),
    (".reg continued hex", continued_reg, lambda data: parse_reg(data), reg_floor,
     "parse_reg"),
    ("LDIF folded value", folded_ldif, lambda data: parse_ldif(data), ldif_floor,
     "parse_ldif"),
]


def median_seconds(work: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


CHILD = r'''
import io, json, resource, sys
sys.path.insert(0, {repo!r})
from rmslab.cli import main
out = io.StringIO()
status = main(["inspect", sys.argv[1], "--json"], out=out)
report = json.loads(out.getvalue())
print(json.dumps({{"status": status, "content_bytes": report["container"]["content_bytes"],
                  "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
'''


def inspect_peak(path: Path) -> dict[str, int]:
    result = subprocess.run([sys.executable, "-c", CHILD.format(repo=str(REPO)), str(path)],
                            capture_output=True, text=True, check=True)
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def memory_rows(gigabytes: float) -> list[str]:
    head = container_header(teaching_chain(Lab()).text, original_size=int(gigabytes * 2**30))
    content = (int(gigabytes * 2**30) // 16 + 1) * 16
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        small, large = Path(folder) / "small.ptxt", Path(folder) / "sparse.ptxt"
        small.write_bytes(container_header(teaching_chain(Lab()).text, original_size=20)
                          + bytes(32))
        with large.open("wb") as handle:  # sparse: no disk for the content
            handle.write(head)
            handle.truncate(len(head) + content)
        for label, path in (("32 bytes of content", small),
                            (f"{gigabytes:g} GB of content (sparse)", large)):
            peak = inspect_peak(path)
            rows.append(f"{label:<28} {path.stat().st_size:>14,} B  status {peak['status']}  "
                        f"peak RSS {peak['peak_kb'] / 1024:>6.1f} MB")
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1,2,4,8", help="sizes in MB (default 1,2,4,8)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sparse-gb", type=float, default=1.0,
                        help="content size of the sparse protected file (0: skip)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"rmslab hostile-input benchmark — Python {sys.version.split()[0]}, "
          f"lxml {etree.__version__}; median of {args.rounds} rounds")
    print()
    if args.sparse_gb > 0:  # first, while this process is small (a child starts as big)
        print("peak memory of `rmslab inspect --json` on a protected file (fresh process each)")
        for row in memory_rows(args.sparse_gb):
            print("  " + row)
        print()
    print(f"{'input':<22} {'rmslab path':<27} {'MB':>4} {'rmslab s/MB':>12} "
          f"{'floor s/MB':>11} {'ratio':>7}")
    print("-" * 88)
    for name, build, rmslab, floor, path in INPUTS:
        for size in sizes:
            data = build(size)
            megabytes = len(data) / MB
            ours = median_seconds(lambda: rmslab(data), args.rounds)
            base = median_seconds(lambda: floor(data), args.rounds)
            print(f"{name:<22} {path:<27} {size:>4} {ours / megabytes:>12.4f} "
                  f"{base / megabytes:>11.4f} {ours / base:>7.1f}", flush=True)
        print()
    print("floor = decoding and splitting the same bytes (XrML: one lxml parse of the wrapped "
          "text; .reg: the hex joined by bytes.fromhex; LDIF: the folded pieces joined)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
