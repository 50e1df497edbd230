"""`rmslab serve` in a process of its own, as an administrator runs it: started on a free
port (read from its first line), stopped with a signal, its output kept."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

__all__ = ["ServeProcess"]


class ServeProcess:
    """``rmslab serve --lab LAB --port 0 [options]``; ``port`` once it listens."""

    def __init__(self, lab: Path, *options: str, timeout: float = 60) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rmslab.cli", "serve", "--lab", str(lab), "--port", "0",
             *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.errors: list[str] = []
        threading.Thread(target=self._read, args=(self.process.stdout, self.output, True),
                         daemon=True).start()
        threading.Thread(target=self._read, args=(self.process.stderr, self.errors, False),
                         daemon=True).start()
        deadline = time.monotonic() + timeout
        first = ""
        while not first:
            try:
                first = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                raise AssertionError(f"rmslab serve did not start: {''.join(self.errors)}")
        found = re.search(r"http://127\.0\.0\.1:(\d+)", first)
        assert found, (first, "".join(self.errors))
        self.port = int(found.group(1))
        self.origin = f"http://127.0.0.1:{self.port}"
        # the listing ends with the line that says how to stop it
        while "stop with Ctrl-C" not in "".join(self.output):
            time.sleep(0.05)

    def _read(self, stream: object, into: list[str], lines: bool) -> None:
        for line in stream:  # type: ignore[attr-defined]
            into.append(line)
            if lines:
                self.lines.put(line)

    def stop(self, how: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Send ``how``; the exit status once it has stopped."""
        if self.process.poll() is None:
            self.process.send_signal(how)
        status = self.process.wait(timeout=timeout)
        time.sleep(0.2)  # the reader threads catch the last lines
        return status

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)

    @property
    def stdout(self) -> str:
        return "".join(self.output)

    @property
    def stderr(self) -> str:
        return "".join(self.errors)

    def __enter__(self) -> "ServeProcess":
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self.process.poll() is None:
            self.stop()
