"""Determinism: the same seed and time give byte-identical documents on every run and
in every process."""

from __future__ import annotations

import os
import subprocess
import sys

from rmslab.lab import Lab
from rmslab.samples import teaching_chain

SCRIPT = ("from rmslab.lab import Lab; from rmslab.samples import teaching_chain; "
          "import hashlib; print(hashlib.sha256(teaching_chain(Lab(seed=3)).text.encode()).hexdigest())")


def test_same_seed_same_bytes() -> None:
    assert teaching_chain(Lab(seed=1)).text == teaching_chain(Lab(seed=1)).text


def test_other_seed_other_keys_and_ids() -> None:
    a, b = teaching_chain(Lab(seed=1)), teaching_chain(Lab(seed=2))
    assert a.anchor != b.anchor
    assert a.chain[0].id != b.chain[0].id


def test_other_time_other_documents() -> None:
    a = teaching_chain(Lab(seed=1, at="2026-01-05T09:00"))
    b = teaching_chain(Lab(seed=1, at="2026-02-05T09:00"))
    assert a.anchor == b.anchor and a.text != b.text


def test_identical_across_processes_and_hash_seeds(tmp_path: object) -> None:
    digests = set()
    for hash_seed in ("0", "1", "random"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed, RMSLAB_CACHE=str(tmp_path))
        result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                                text=True, check=True)
        digests.add(result.stdout.strip())
    assert len(digests) == 1
    import hashlib
    assert digests == {hashlib.sha256(teaching_chain(Lab(seed=3)).text.encode()).hexdigest()}


def test_clock_moves_only_when_told() -> None:
    lab = Lab(at="2026-03-01T12:00")
    assert lab.now() == lab.now()
    lab.advance(days=1, minutes=30)
    assert lab.now().isoformat() == "2026-03-02T12:30:00+00:00"


def test_guids_and_random_bytes_are_reproducible() -> None:
    a, b = Lab(seed=5), Lab(seed=5)
    assert [a.guid() for _ in range(3)] == [b.guid() for _ in range(3)]
    assert a.random_bytes(32, "pad") == b.random_bytes(32, "pad")
    assert a.random_bytes(32, "pad") != a.random_bytes(32, "other")
    assert a.guid().startswith("{") and len(a.guid()) == 38


def test_a_corrupt_cache_entry_is_ignored(tmp_path: object, monkeypatch: object) -> None:
    import pathlib
    from rmslab import lab as lab_module
    from rmslab.crypto.keygen import derive_key
    directory = pathlib.Path(str(tmp_path))
    monkeypatch.setenv("RMSLAB_CACHE", str(directory))  # type: ignore[attr-defined]
    name = lab_module._cache_name("77", "x", 1024)
    (directory / name).write_text("77\nx\n1024\nzz\n11\n")
    assert lab_module._load_cached("77", "x", 1024) is None
    key = derive_key(77, "x", 1024)
    lab_module._store_cached("77", "x", 1024, key, directory)
    cached = lab_module._load_cached("77", "x", 1024)
    assert cached is not None and cached.public == key.public
