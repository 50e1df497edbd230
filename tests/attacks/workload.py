"""One of the processes of the concurrency test: for a while, `rmslab protect`, `open` and
`revoke` on one lab, each a real command (``rmslab.cli.main``, a fresh store each time),
and every outcome written to a JSON-lines file.

Usage: python -m tests.attacks.workload LAB SHARED WORKER SECONDS [START]
(``START``: a time.time() to wait for, so all workers begin at once.)
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import sys
import time
from pathlib import Path

USERS = ("alice", "bob", "carol")


def command(*args: str) -> tuple[int, str, str]:
    from rmslab.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            status = main(list(args), out=out)
        except SystemExit as exc:  # argparse
            status = int(exc.code or 0)
    return status, out.getvalue(), err.getvalue()


def main() -> None:
    lab, shared, worker, seconds = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    import rmslab.cli  # noqa: F401 - imported before the start, as a running command would be
    if len(sys.argv) > 5:
        time.sleep(max(0.0, float(sys.argv[5]) - time.time()))
    chance = random.Random(worker)
    results = (shared / f"worker-{worker}.jsonl").open("a", encoding="utf-8")
    deadline = time.monotonic() + seconds
    number = 0
    while time.monotonic() < deadline:
        number += 1
        choice = chance.random()
        files = sorted(shared.glob("*.ptxt"))
        if choice < 0.45 or not files:
            author, grantee = chance.sample(USERS, 2)
            plain = shared / f"w{worker}-{number}.txt"
            plain.write_text(f"secret {worker} {number} for {grantee}\n")
            target = shared / f"w{worker}-{number}-{author}-{grantee}.ptxt"
            args = ["protect", str(plain), str(target), "--lab", lab, "--as", author,
                    "--grant", f"{grantee}:VIEW"] + (["--offline"] if chance.random() < 0.5 and
                                                     author == "alice" else [])
            record = {"op": "protect", "file": target.name, "author": author,
                      "grantee": grantee, "plain": plain.read_text(),
                      "offline": "--offline" in args}
        elif choice < 0.8:
            target = chance.choice(files)
            grantee = target.stem.split("-")[-1]
            args = ["open", str(target), "--lab", lab, "--as", grantee]
            record = {"op": "open", "file": target.name, "grantee": grantee}
        else:
            app = f"app-{worker}-{number}"
            args = ["revoke", "--lab", lab, "--by", "contoso-licensing", "--app", app]
            record = {"op": "revoke", "app": app}
        started = time.time()
        status, output, error = command(*args)
        record.update(status=status, output=output, error=error, started=started,
                      ended=time.time())
        results.write(json.dumps(record) + "\n")
        results.flush()
    results.close()


if __name__ == "__main__":
    main()
