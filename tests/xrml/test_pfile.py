"""The protected-file container: rmslab's files use the layout real clients read.

covers: P-6
"""

from __future__ import annotations

from pathlib import Path

from rmslab.samples import TeachingChain
from rmslab.xrml import read_chain, read_protected_file, write_protected_file
from rmslab.xrml.verify import verify_document


def test_round_trip(teaching: TeachingChain) -> None:
    content = bytes(range(256)) * 4
    data = write_protected_file(teaching.text, content, extension=".docx", original_size=1000,
                                metadata=b"meta")
    container = read_protected_file(data)
    assert container.version == "3.0"
    assert container.extension == ".docx"
    assert container.content == content
    assert container.original_size == 1000
    assert container.metadata == b"meta"
    chain = read_chain(data)
    assert [d.text for d in chain] == [d.text for d in teaching.chain]
    for doc in chain:
        verify_document(doc)


def test_same_layout_as_real_files(teaching: TeachingChain, corpus: Path) -> None:
    real = read_protected_file((corpus / "pfiles/CleanAlice.txt.pfile").read_bytes())
    ours = read_protected_file(write_protected_file(teaching.text, b"x" * 32))
    assert (ours.major_version, ours.minor_version) == (real.major_version, real.minor_version)
    assert real.license_bytes.startswith(b"\xef\xbb\xbf")
    assert read_chain(write_protected_file(teaching.text, bytes(16))).container is not None
    assert real.original_size is None and ours.original_size is None
