"""The content cipher is the content key's KeyHeader's, not the cryptographic mode's
(issue 12 item 10; MS-RMPR 2.2.9.1.13.1): ECB and CBC4K both work in either mode, and
binding decrypts with the cipher the KeyHeader names. The real corpus holds a mode-2
publishing license whose content is ECB (the RMS SDK's ``PL_0101right_ECB``): rmslab reads
its mode from its keys and hashes, and says its cipher is hidden under the session key —
it does not guess CBC4K from mode 2.

covers: P-6, B-2
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from rmslab.crypto.content import ContentCipher
from rmslab.crypto.enabling_bits import CipherMode, EnablingBitsType, read_public_parts
from rmslab.deployment import standard_deployment
from rmslab.flows.binding import AppSession, open_protected
from rmslab.flows.licensing import acquire_use_license
from rmslab.flows.publishing import publish_offline, publish_online
from rmslab.lab import Lab
from rmslab.rights import Grant, RightsPolicy
from rmslab.xrml import read_chain, read_file, read_protected_file
from rmslab.xrml.licenses import license_bits, license_content_key

CONTENT = b"0123456789abcdef" * 300  # repeated blocks: ECB shows them, CBC4K does not


@pytest.mark.parametrize("mode,cipher", [(2, CipherMode.ECB), (1, CipherMode.CBC4K),
                                         (2, CipherMode.CBC4K), (1, CipherMode.ECB)])
@pytest.mark.parametrize("online", [False, True], ids=["offline", "online"])
def test_either_cipher_in_either_mode(mode: int, cipher: CipherMode, online: bool) -> None:
    deployment = standard_deployment(Lab(mode=mode))
    alice_pc, alice = deployment.clients["ALICE-PC"], deployment.user("alice")
    bob_pc, bob = deployment.clients["BOB-PC"], deployment.user("bob")
    anchor = deployment.enrollment_service.anchor
    policy = RightsPolicy((Grant(bob.email, ("VIEW",)),))
    sink = io.BytesIO()
    protected = (publish_online(deployment.root_cluster, alice_pc, alice, policy, CONTENT, sink,
                                cipher=cipher) if online else
                 publish_offline(alice_pc, alice, policy, CONTENT, sink, cipher=cipher))
    container = read_protected_file(sink.getvalue())
    pl = read_chain(sink.getvalue())[0]
    key = license_content_key(pl, deployment.root_cluster.key)
    assert key.cipher is cipher and pl.mode == mode
    ciphertext = container.content
    assert (ciphertext[:16] == ciphertext[16:32]) is (cipher is CipherMode.ECB)
    assert ContentCipher(key.key, 1 if cipher is CipherMode.ECB else 2).decrypt(
        ciphertext) == CONTENT
    acquire_use_license(deployment.root_cluster, bob_pc, bob, protected.publishing_license,
                        anchor=anchor)
    out = io.BytesIO()
    sink.seek(0)
    binding = open_protected(AppSession(bob_pc, bob), sink, out, "VIEW", anchor=anchor)
    assert out.getvalue() == CONTENT
    assert binding.content is not None and binding.content.cipher is cipher


def test_the_corpus_mode_2_ecb_license_is_not_read_as_cbc4k(corpus: Path) -> None:
    document = read_file(corpus / "docs" / "53_rmssdk-PL_0101right_ECB_xml_0_PL.xml")[0]
    bits, bits_type, _ = license_bits(document)
    assert bits_type is EnablingBitsType.SEALED_KEY_V2  # mode 2 …
    parts = read_public_parts(bits, bits_type, document.principals[0].public_key)
    described = parts.describe()
    # … and what says ECB is under the session key: hidden, not inferred from the mode
    assert "hidden without the private key: the content KeyHeader's Reserved and Flags " \
           "(ECB or CBC4K)" in described
    assert "CBC4K content" not in described
