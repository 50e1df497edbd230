"""Whatever the bytes, reading and examining them ends in a result or an rmslab error —
never another exception (docs/architecture.md rule 5).

covers: A-1
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmslab.errors import RmslabError
from rmslab.lab import Lab
from rmslab.report import examine, inspect_json
from rmslab.samples import TeachingChain
from rmslab.xrml import read_chain, write_protected_file


def read_everything(data: bytes) -> None:
    try:
        chain = read_chain(data)
        examine(chain, at=Lab().now())
        inspect_json(chain)
    except RmslabError:
        return


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_chains(teaching: TeachingChain, data: st.DataObject) -> None:
    original = teaching.text.encode("utf-8")
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        where = data.draw(st.integers(0, len(mutated) - 1), label="where")
        how = data.draw(st.sampled_from(["replace", "delete", "insert"]), label="how")
        byte = data.draw(st.integers(0, 255), label="byte")
        if how == "replace":
            mutated[where] = byte
        elif how == "delete":
            del mutated[where]
        else:
            mutated.insert(where, byte)
    read_everything(bytes(mutated))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_containers(teaching: TeachingChain, data: st.DataObject) -> None:
    container = bytearray(write_protected_file(teaching.text, b"\x01" * 64))
    header_end = 18 + 200
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        where = data.draw(st.integers(6, header_end + 60), label="where")
        container[where] = data.draw(st.integers(0, 255), label="byte")
    read_everything(bytes(container))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes(data: bytes) -> None:
    read_everything(data)
    read_everything(b".pfile" + data)
    read_everything(b"<XrML version=\"1.2\">" + data)
