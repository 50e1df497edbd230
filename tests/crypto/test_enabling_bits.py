"""ENABLINGBITS exactly as MS-RMPR 2.2.9.1.13: layout, both versions, KeyHeader, binding.

covers: P-4, L-1, B-2 (the content key is sealed to the server, then to the user, and
released only to the holder of the private key, for the document it is bound to)
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from rmslab.crypto.enabling_bits import (
    BOUND_ELEMENT, CipherMode, EnablingBitsError, EnablingBitsHashMismatchError,
    EnablingBitsType, KeyAlgorithm, KeyHeader, MalformedEnablingBitsError,
    NotSealedForThisKeyError, UnsupportedCipherError, UnsupportedSessionKeyError,
    binding_hash, open_content_key, open_enabling_bits, open_private_key,
    private_key_blob, publishing_license_binding, read_private_key_blob, rebind,
    seal_content_key, seal_private_key)
from rmslab.crypto.rsa import PrivateKey
from rmslab.errors import SealError
from rmslab.lab import Lab

V1, V2 = EnablingBitsType.SEALED_KEY, EnablingBitsType.SEALED_KEY_V2
BITS = {V1: 1024, V2: 2048}
LAB = Lab()
ISSUER = '<ISSUER><OBJECT type="MS-DRM-Server"><ID type="MS-GUID">{1}</ID></OBJECT></ISSUER>'


def key(label: str, bits_type: EnablingBitsType) -> PrivateKey:
    return LAB.key(label, BITS[bits_type])


def stream(seed: int = 0) -> Lab:
    return Lab(seed=seed)


# --- the layout, read back independently of the module ----------------------------------


@pytest.mark.parametrize("bits_type", [V1, V2])
def test_layout_is_that_of_2_2_9_1_13(bits_type: EnablingBitsType) -> None:
    """KPublic(KeyHeader ‖ KSession) ‖ KSession(UDEBHeader ‖ KeyHeader ‖ K ‖ Hash), opened
    here with cryptography alone."""
    server = key("cluster:contoso", bits_type)
    content_key = bytes(range(16))
    bits = seal_content_key(content_key, CipherMode.ECB, to=server.public, bound_to=ISSUER,
                            bits_type=bits_type, random=stream().random_bytes)
    size = BITS[bits_type] // 8
    rsa_padding = (padding.PKCS1v15() if bits_type is V1 else
                   padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None))
    session = server._key.decrypt(bits[:size], rsa_padding)
    assert len(session) == 12 + 16
    assert struct.unpack("<HHHHI", session[:12]) == (28, 0xFFFF, 128, 16, 0x00001001)
    decryptor = Cipher(algorithms.AES(session[12:]), modes.ECB()).decryptor()
    plain = decryptor.update(bits[size:]) + decryptor.finalize()
    hash_size = 20 if bits_type is V1 else 32
    version, cb_size, reserved1, reserved2 = struct.unpack("<IIII", plain[:16])
    assert (version, cb_size, reserved1, reserved2) == (bits_type.version, 28 + hash_size, 0, 0)
    assert struct.unpack("<HHHHI", plain[16:28]) == (28, 0xFFFF, 128, 16, 0x00001001)
    assert plain[28:44] == content_key
    digest = hashlib.sha1 if bits_type is V1 else hashlib.sha256
    assert plain[44:44 + hash_size] == digest(ISSUER.encode("utf-16-le")).digest()
    assert plain[44 + hash_size:] == bytes(len(plain) - 44 - hash_size)  # zero fill only
    assert len(plain) == -(-(44 + hash_size) // 16) * 16  # no block added when whole


@pytest.mark.parametrize("bits_type", [V1, V2])
def test_rsa_block_from_cryptography_opens(bits_type: EnablingBitsType) -> None:
    """Both directions against cryptography: its own PKCS#1 v1.5 / OAEP encryption of the
    session key stands in for rmslab's encoder and the bits still open."""
    server = key("cluster:contoso", bits_type)
    bits = seal_content_key(b"k" * 16, CipherMode.CBC4K, to=server.public, bound_to=ISSUER,
                            bits_type=bits_type, random=stream().random_bytes)
    size = BITS[bits_type] // 8
    rsa_padding = (padding.PKCS1v15() if bits_type is V1 else
                   padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None))
    session = server._key.decrypt(bits[:size], rsa_padding)
    theirs = server.public._key().encrypt(session, rsa_padding)
    assert theirs != bits[:size]
    opened = open_content_key(theirs + bits[size:], server, bound_to=ISSUER,
                              bits_type=bits_type)
    assert opened.key == b"k" * 16


def test_oaep_with_sha1_does_not_open_v2() -> None:
    """The OAEP hash is SHA-256 (choice 4): a block padded with SHA-1 OAEP is refused."""
    server = key("cluster:contoso", V2)
    bits = seal_content_key(b"k" * 16, CipherMode.ECB, to=server.public, bound_to=ISSUER,
                            bits_type=V2, random=stream().random_bytes)
    oaep256 = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
    oaep1 = padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None)
    session = server._key.decrypt(bits[:256], oaep256)
    with pytest.raises(NotSealedForThisKeyError):
        open_content_key(server.public._key().encrypt(session, oaep1) + bits[256:], server,
                         bound_to=ISSUER, bits_type=V2)


# --- round trips, determinism, refusals ---------------------------------------------------


@pytest.mark.parametrize("bits_type", [V1, V2])
def test_private_key_round_trip_and_length(bits_type: EnablingBitsType) -> None:
    """A CLC private key sealed to the RAC key: a PRIVATEKEYBLOB, as long as real ones."""
    user, clc = key("account:alice@contoso.example", bits_type), key("clc:alice@contoso.example",
                                                                     bits_type)
    bits = seal_private_key(clc, to=user.public, bound_to=ISSUER, bits_type=bits_type,
                            random=stream().random_bytes)
    assert len(bits) == {V1: 768, V2: 1488}[bits_type]  # the corpus CLCs' lengths
    opened = open_private_key(bits, user, bound_to=ISSUER, bits_type=bits_type,
                              expected=clc.public)
    assert opened.public == clc.public and opened.to_der() == clc.to_der()
    with pytest.raises(MalformedEnablingBitsError, match="not the private half"):
        open_private_key(bits, user, bound_to=ISSUER, bits_type=bits_type,
                         expected=user.public)
    with pytest.raises(MalformedEnablingBitsError, match="RSA private key, not a content key"):
        open_content_key(bits, user, bound_to=ISSUER, bits_type=bits_type)


def test_sealing_is_byte_stable_for_a_seed() -> None:
    server = key("cluster:contoso", V2)

    def sealed(seed: int) -> bytes:
        return seal_content_key(b"c" * 16, CipherMode.CBC4K, to=server.public, bound_to=ISSUER,
                                bits_type=V2, random=stream(seed).random_bytes)
    assert sealed(4) == sealed(4)
    assert sealed(4) != sealed(5)


@pytest.mark.parametrize("bits_type", [V1, V2])
def test_only_the_recipient_opens(bits_type: EnablingBitsType) -> None:
    server, other = key("cluster:contoso", bits_type), key("cluster:contoso-root", bits_type)
    bits = seal_content_key(b"c" * 16, CipherMode.ECB, to=server.public, bound_to=ISSUER,
                            bits_type=bits_type, random=stream().random_bytes)
    with pytest.raises(NotSealedForThisKeyError, match="not sealed to this"):
        open_content_key(bits, other, bound_to=ISSUER, bits_type=bits_type)
    with pytest.raises(SealError):  # what today's callers catch
        open_content_key(bits, other, bound_to=ISSUER, bits_type=bits_type)


def test_type_attribute_and_header_version_must_agree() -> None:
    server = key("cluster:contoso", V1)
    bits = seal_content_key(b"c" * 16, CipherMode.ECB, to=server.public, bound_to=ISSUER,
                            bits_type=V1, random=stream().random_bytes)
    # v1 bits read as v2: OAEP does not open a PKCS#1 v1.5 block
    with pytest.raises(NotSealedForThisKeyError):
        open_content_key(bits, server, bound_to=ISSUER, bits_type=V2)
    with pytest.raises(MalformedEnablingBitsError, match="neither"):
        EnablingBitsType.from_attribute("sealed-key-v3")
    assert EnablingBitsType.for_mode(1) is V1 and EnablingBitsType.for_mode(2) is V2


def test_des_session_key_is_refused_with_the_rmpr_exception() -> None:
    """MS-RMPR 3.5.4.1: a DES session key → CryptoUnsupportedSymKeyException."""
    server = key("cluster:contoso", V1)
    des_header = KeyHeader(20, 0xFFFF, 56, 8, 0x00001000)
    block = server.public._key().encrypt(des_header.to_bytes() + b"d" * 8, padding.PKCS1v15())
    with pytest.raises(UnsupportedSessionKeyError) as caught:
        open_enabling_bits(block + bytes(64), server, V1)
    assert caught.value.exception_name == ("Microsoft.DigitalRightsManagement.Cryptography."
                                           "CryptoUnsupportedSymKeyException")


def test_truncated_or_extended_bits_are_refused() -> None:
    server = key("cluster:contoso", V2)
    bits = seal_content_key(b"c" * 16, CipherMode.ECB, to=server.public, bound_to=ISSUER,
                            bits_type=V2, random=stream().random_bytes)
    for changed in (bits[:-16], bits[:-1], bits + bytes(16), bits[:256], b""):
        with pytest.raises(EnablingBitsError):
            open_content_key(changed, server, bound_to=ISSUER, bits_type=V2)


# --- the KeyHeader: the cipher comes from it, not from the cryptographic mode -------------


@pytest.mark.parametrize("cipher", list(CipherMode))
@pytest.mark.parametrize("bits_type", [V1, V2])
def test_key_header_carries_the_cipher(cipher: CipherMode, bits_type: EnablingBitsType) -> None:
    """A mode-2 (sealed-key-v2) license may carry an ECB content key, as the corpus's
    mode-2 ECB publishing license does: the reader says ECB (issue 12, item 10)."""
    server = key("cluster:contoso", bits_type)
    bits = seal_content_key(b"c" * 16, cipher, to=server.public, bound_to=ISSUER,
                            bits_type=bits_type, random=stream().random_bytes)
    opened = open_content_key(bits, server, bound_to=ISSUER, bits_type=bits_type)
    assert opened.cipher is cipher and opened.header.reserved == cipher.value
    if cipher is CipherMode.ECB:
        assert opened.content_mode == 1
    elif cipher is CipherMode.CBC4K:
        assert opened.content_mode == 2
    else:
        with pytest.raises(UnsupportedCipherError):
            opened.content_mode


def test_key_header_fields_and_windows_reserved() -> None:
    assert KeyHeader.for_key(b"k" * 16, CipherMode.ECB).to_bytes() == bytes.fromhex(
        "1c00" "ffff" "8000" "1000" "01100000")  # 28, ECB, 128 bits, 16, E|A
    header = KeyHeader.for_key(b"k" * 32, CipherMode.CBC4K)
    assert (header.blob_size, header.reserved, header.key_bits, header.block_size,
            header.flags) == (44, 0xFFFD, 256, 16, 0x00002001)
    assert KeyHeader.from_bytes(header.to_bytes()) == header
    # Windows writes Reserved 0xFFFF whatever the cipher (note 5): C set → CBC4K
    windows = KeyHeader(28, 0xFFFF, 128, 16, 0x00002001)
    assert KeyHeader.from_bytes(windows.to_bytes()).cipher is CipherMode.CBC4K
    des = KeyHeader.for_key(b"d" * 8, CipherMode.ECB, KeyAlgorithm.DES)
    assert (des.key_bits, des.block_size, des.flags, des.blob_size) == (56, 8, 0x1000, 20)
    for bad in (KeyHeader(28, 0x1234, 128, 16, 0x1001),   # Reserved not a cipher value
                KeyHeader(28, 0xFFFF, 128, 16, 0x3001),   # both E and C
                KeyHeader(28, 0xFFFF, 128, 16, 0x0001),   # neither
                KeyHeader(28, 0xFFFD, 128, 16, 0x1001),   # E with a CBC Reserved
                KeyHeader(28, 0xFFFF, 100, 16, 0x1001),   # no AES-100
                KeyHeader(29, 0xFFFF, 128, 16, 0x1001),   # BlobSize ≠ 12 + 16
                KeyHeader(28, 0xFFFF, 128, 16, 0x80001001)):  # undefined flag bit
        with pytest.raises(MalformedEnablingBitsError, match="2.2.9.1.13.1"):
            KeyHeader.from_bytes(bad.to_bytes())


def test_private_key_blob_is_checked_throughout() -> None:
    clc = key("clc:alice@contoso.example", V1)
    blob = private_key_blob(clc)
    assert len(blob) == 596 and blob[:8] == bytes.fromhex("0702000000a40000")
    assert blob[8:12] == b"RSA2" and read_private_key_blob(blob).to_der() == clc.to_der()
    for at in range(0, len(blob), 7):
        changed = blob[:at] + bytes([blob[at] ^ 0x01]) + blob[at + 1:]
        with pytest.raises(MalformedEnablingBitsError):
            read_private_key_blob(changed)


# --- binding: the key is bound to the document it travels in ---------------------------


def _principal(kind: str, guid: str, name: str, url: str, public_key: str) -> str:
    return (f'<OBJECT type="{kind}"><ID type="MS-GUID">{guid}</ID><NAME>{name}</NAME>'
            f'<ADDRESS type="URL">{url}</ADDRESS></OBJECT>{public_key}')


def _public_key_xml(private: PrivateKey) -> str:
    from rmslab.xrml.writer import public_key_xml
    return str(public_key_xml(private.public))


def _use_license(cluster: PrivateKey, cluster_name: str, user: PrivateKey, bits: bytes | None,
                 *, issuer_text: str | None = None) -> tuple[str, str]:
    """A use license of MS-RMPR 2.2.9.9's shape, signed by ``cluster``; returns the text
    and its ISSUER element. The enabling bits sit in RIGHT/CONDITIONLIST/ACCESS/PRINCIPAL;
    ``bits=None`` seals a fresh content key bound to this license's ISSUER."""
    import base64

    from rmslab.crypto.rsa import DigestAlgorithm
    from rmslab.xrml.writer import sign
    issuer = issuer_text or ("<ISSUER>" + _principal(
        "MS-DRM-Server", "{8c1e0b4e-5a4c-4f57-9d0e-1a3a6a1b2c3d}", cluster_name,
        f"https://{cluster_name}.example/_wmcs", _public_key_xml(cluster)) + "</ISSUER>")
    if bits is None:
        bits = seal_content_key(b"u" * 16, CipherMode.CBC4K, to=user.public, bound_to=issuer,
                                bits_type=V2, random=stream().random_bytes)
    value = base64.b64encode(bits).decode()
    body = ('<BODY type="LICENSE" version="3.0"><ISSUEDTIME>2024-01-01T00:00</ISSUEDTIME>'
            '<DESCRIPTOR><OBJECT type="Content-License"><ID type="MS-GUID">{2}</ID></OBJECT>'
            f'</DESCRIPTOR>{issuer}<ISSUEDPRINCIPALS><PRINCIPAL internal-id="1">'
            '<OBJECT type="Group-Identity"><ID type="Windows">S-1-5-21-1-2-3-1104</ID>'
            f'<NAME>user@contoso.example</NAME></OBJECT>{_public_key_xml(user)}</PRINCIPAL>'
            '</ISSUEDPRINCIPALS><WORK><OBJECT><ID type="MS-GUID">{3}</ID></OBJECT>'
            '<RIGHTSGROUP name="Main-Rights"><RIGHTSLIST><VIEW><CONDITIONLIST><ACCESS>'
            '<PRINCIPAL internal-id="1"><ENABLINGBITS type="sealed-key-v2">'
            f'<VALUE encoding="base64" size="{len(bits) * 8}">{value}</VALUE></ENABLINGBITS>'
            '</PRINCIPAL></ACCESS></CONDITIONLIST></VIEW></RIGHTSLIST></RIGHTSGROUP></WORK>'
            '</BODY>')
    return sign(body, cluster, DigestAlgorithm.SHA256), issuer


def _read_bits(text: str) -> tuple[bytes, str]:
    """The first enabling bits of a document and its ISSUER, as a reader finds them."""
    import base64

    from rmslab.xrml import parse
    document = parse(text).documents[0]
    value = document.element.find(".//ENABLINGBITS/VALUE")
    assert value is not None and value.text
    return base64.b64decode(value.text), document.element_text(BOUND_ELEMENT["use license"])


def test_moving_bits_to_another_license_is_refused() -> None:
    """Bits of a use license issued by one cluster, moved into a use license issued by
    another (which the same user holds): binding refuses with the MS-RMPR exception."""
    user = key("account:alice@contoso.example", V2)
    a, b = key("cluster:contoso", V2), key("cluster:contoso-licensing", V2)
    license_a, _ = _use_license(a, "contoso", user, None)
    bits_a, issuer_a = _read_bits(license_a)
    assert open_content_key(bits_a, user, bound_to=issuer_a, bits_type=V2).key == b"u" * 16
    moved, _ = _use_license(b, "fabrikam", user, bits_a)
    bits, issuer_b = _read_bits(moved)
    assert bits == bits_a and issuer_b != issuer_a
    with pytest.raises(EnablingBitsHashMismatchError, match="moved from another document") as e:
        open_content_key(bits, user, bound_to=issuer_b, bits_type=V2)
    assert e.value.exception_name == ("Microsoft.DigitalRightsManagement."
                                      "EnablingBitsHashDoesNotMatchException")


def test_the_hash_covers_the_element_exactly_as_written() -> None:
    """One changed character of the ISSUER, or whitespace between its tags, breaks it."""
    user, cluster = key("account:alice@contoso.example", V2), key("cluster:contoso", V2)
    text, issuer = _use_license(cluster, "contoso", user, None)
    bits, read = _read_bits(text)
    assert read == issuer
    for changed in (issuer.replace("contoso", "contosa", 1),
                    issuer.replace("><", ">\n<", 1),
                    issuer.replace("<ISSUER>", "<ISSUER >")):
        with pytest.raises(EnablingBitsHashMismatchError):
            open_content_key(bits, user, bound_to=changed, bits_type=V2)
    assert binding_hash(issuer, V2) == hashlib.sha256(issuer.encode("utf-16-le")).digest()
    assert binding_hash(issuer, V1) == hashlib.sha1(issuer.encode("utf-16-le")).digest()


def _issued_principals(server: PrivateKey, url: str, bits: bytes | None,
                       levels: str = "") -> str:
    import base64
    enabling = "" if bits is None else (
        '<ENABLINGBITS type="sealed-key"><VALUE encoding="base64" '
        f'size="{len(bits) * 8}">{base64.b64encode(bits).decode()}</VALUE></ENABLINGBITS>')
    return ('<ISSUEDPRINCIPALS><PRINCIPAL internal-id="1">'
            + _principal("MS-DRM-Server", "{5}", "contoso", url, _public_key_xml(server))
            + levels + enabling + "</PRINCIPAL></ISSUEDPRINCIPALS>")


def test_publishing_license_binding_leaves_the_bits_out() -> None:
    """The PL's hash covers its ISSUEDPRINCIPALS, which holds the bits: they are cut out,
    so the hash computed before they were written still holds after (choice 5)."""
    server = key("cluster:contoso", V1)
    before = _issued_principals(server, "https://rms.contoso.example/_wmcs", None)
    bits = seal_content_key(b"p" * 16, CipherMode.ECB, to=server.public,
                            bound_to=publishing_license_binding(before), bits_type=V1,
                            random=stream().random_bytes)
    written = _issued_principals(server, "https://rms.contoso.example/_wmcs", bits)
    assert publishing_license_binding(written) == before
    opened = open_content_key(bits, server, bound_to=publishing_license_binding(written),
                              bits_type=V1)
    assert opened.key == b"p" * 16
    elsewhere = _issued_principals(server, "https://rms.fabrikam.example/_wmcs", bits)
    with pytest.raises(EnablingBitsHashMismatchError):
        open_content_key(bits, server, bound_to=publishing_license_binding(elsewhere),
                         bits_type=V1)
    with pytest.raises(MalformedEnablingBitsError, match="one ENABLINGBITS"):
        publishing_license_binding(written.replace("</PRINCIPAL>", written[
            written.index("<ENABLINGBITS"):written.index("</PRINCIPAL>")] + "</PRINCIPAL>"))


def test_server_regenerates_the_hash_when_it_signs_a_pl() -> None:
    """MS-RMPR 3.5.4.1: validate against the client's ISSUEDPRINCIPALS, regenerate for the
    server's; the regenerated bits open against the new element only."""
    server = key("cluster:contoso", V1)
    client = _issued_principals(server, "https://rms.contoso.example/_wmcs", None)
    final = _issued_principals(server, "https://rms.contoso.example/_wmcs", None,
                               '<SECURITYLEVEL name="Server-Version" value="6.3" />')
    bits = seal_content_key(b"p" * 16, CipherMode.CBC4K, to=server.public, bound_to=client,
                            bits_type=V1, random=stream().random_bytes)
    again = rebind(bits, server, bound_to=client, now_bound_to=final, bits_type=V1)
    assert again[:128] == bits[:128] and again != bits
    assert open_content_key(again, server, bound_to=final, bits_type=V1).key == b"p" * 16
    with pytest.raises(EnablingBitsHashMismatchError):
        open_content_key(again, server, bound_to=client, bits_type=V1)
    with pytest.raises(EnablingBitsHashMismatchError):  # a client hash that does not hold
        rebind(bits, server, bound_to=final, now_bound_to=final, bits_type=V1)


def test_rac_private_key_moved_between_racs_is_refused() -> None:
    """RAC: the account private key sealed to the machine key, bound to the RAC's ISSUER."""
    machine, account = key("machine:ALICE-PC", V1), key("account:alice@contoso.example", V1)
    issuer_a = "<ISSUER>" + _principal("MS-DRM-Server", "{a}", "contoso", "https://a/_wmcs",
                                       _public_key_xml(key("cluster:contoso", V1))) + "</ISSUER>"
    issuer_b = issuer_a.replace("{a}", "{b}")
    bits = seal_private_key(account, to=machine.public, bound_to=issuer_a, bits_type=V1,
                            random=stream().random_bytes)
    assert open_private_key(bits, machine, bound_to=issuer_a, bits_type=V1,
                            expected=account.public).public == account.public
    with pytest.raises(EnablingBitsHashMismatchError):
        open_private_key(bits, machine, bound_to=issuer_b, bits_type=V1)


# --- properties ------------------------------------------------------------------------------

RECIPIENTS = ["cluster:contoso", "account:bob@contoso.example", "machine:CAROL-PC"]
PRIVATE_KEYS = ["clc:alice@contoso.example", "account:carol@contoso.example"]
bound_texts = st.text(min_size=0, max_size=200)


@settings(max_examples=60, deadline=None)
@given(bits_type=st.sampled_from([V1, V2]), recipient=st.sampled_from(RECIPIENTS),
       content_key=st.sampled_from([16, 24, 32]).flatmap(
           lambda n: st.binary(min_size=n, max_size=n)),
       cipher=st.sampled_from(list(CipherMode)), bound=bound_texts,
       seed=st.integers(0, 2**32))
def test_content_key_round_trip(bits_type: EnablingBitsType, recipient: str,
                                content_key: bytes, cipher: CipherMode, bound: str,
                                seed: int) -> None:
    owner = key(recipient, bits_type)
    bits = seal_content_key(content_key, cipher, to=owner.public, bound_to=bound,
                            bits_type=bits_type, random=stream(seed).random_bytes)
    opened = open_content_key(bits, owner, bound_to=bound, bits_type=bits_type)
    assert (opened.key, opened.cipher) == (content_key, cipher)


@settings(max_examples=20, deadline=None)
@given(bits_type=st.sampled_from([V1, V2]), recipient=st.sampled_from(RECIPIENTS),
       sealed=st.sampled_from(PRIVATE_KEYS), bound=bound_texts, seed=st.integers(0, 2**32))
def test_private_key_round_trip(bits_type: EnablingBitsType, recipient: str, sealed: str,
                                bound: str, seed: int) -> None:
    owner, inside = key(recipient, bits_type), key(sealed, bits_type)
    bits = seal_private_key(inside, to=owner.public, bound_to=bound, bits_type=bits_type,
                            random=stream(seed).random_bytes)
    assert open_private_key(bits, owner, bound_to=bound, bits_type=bits_type,
                            expected=inside.public).to_der() == inside.to_der()


def _key_only_blocks(rsa_bytes: int, key_length: int) -> set[int]:
    """Offsets of the bits whose ECB block holds nothing but content key bytes: the
    session-encrypted data is UDEBHeader [0,16), KeyHeader [16,28), key [28, 28+n), hash."""
    offsets: set[int] = set()
    for start in range(0, 28 + key_length, 16):
        if start >= 28 and start + 16 <= 28 + key_length:
            offsets.update(range(rsa_bytes + start, rsa_bytes + start + 16))
    return offsets


@settings(max_examples=150, deadline=None)
@given(bits_type=st.sampled_from([V1, V2]), key_length=st.sampled_from([16, 24, 32]),
       position=st.floats(0, 1, exclude_max=True), flip=st.integers(1, 255),
       seed=st.integers(0, 2**16))
def test_single_byte_tamper_of_content_key_bits(bits_type: EnablingBitsType, key_length: int,
                                                position: float, flip: int, seed: int) -> None:
    """Any single changed byte is detected, except in a block holding only key bytes
    (AES-192/256: bytes 32–47 of the session part), where the opened key differs."""
    owner = key("cluster:contoso", bits_type)
    content_key = stream(seed).random_bytes(key_length)
    bits = seal_content_key(content_key, CipherMode.CBC4K, to=owner.public, bound_to=ISSUER,
                            bits_type=bits_type, random=stream(seed).random_bytes)
    at = int(position * len(bits))
    tampered = bits[:at] + bytes([bits[at] ^ flip]) + bits[at + 1:]
    try:
        opened = open_content_key(tampered, owner, bound_to=ISSUER, bits_type=bits_type)
    except EnablingBitsError:
        return
    assert at in _key_only_blocks(BITS[bits_type] // 8, key_length)
    assert opened.key != content_key and opened.cipher is CipherMode.CBC4K


@settings(max_examples=60, deadline=None)
@given(bits_type=st.sampled_from([V1, V2]), position=st.floats(0, 1, exclude_max=True),
       flip=st.integers(1, 255))
def test_single_byte_tamper_of_private_key_bits_is_always_detected(
        bits_type: EnablingBitsType, position: float, flip: int) -> None:
    owner, inside = key("account:bob@contoso.example", bits_type), key(
        "clc:alice@contoso.example", bits_type)
    bits = seal_private_key(inside, to=owner.public, bound_to=ISSUER, bits_type=bits_type,
                            random=stream().random_bytes)
    at = int(position * len(bits))
    tampered = bits[:at] + bytes([bits[at] ^ flip]) + bits[at + 1:]
    with pytest.raises(EnablingBitsError):
        open_private_key(tampered, owner, bound_to=ISSUER, bits_type=bits_type)


def test_key_only_blocks_exist_only_for_long_keys() -> None:
    assert _key_only_blocks(128, 16) == set()
    assert _key_only_blocks(128, 24) == set(range(160, 176))
    assert _key_only_blocks(256, 32) == set(range(288, 304))


def test_no_docstring_in_the_package_says_the_format_is_not_public() -> None:
    package = Path(__file__).resolve().parents[2] / "rmslab"
    saying = [p for p in package.rglob("*.py") if "not public" in p.read_text()]
    assert saying == []


@pytest.mark.parametrize("bits_type", list(EnablingBitsType))
def test_one_message_for_a_key_that_cannot_open_whatever_gives_it_away(
        bits_type: EnablingBitsType) -> None:
    """A wrong key may fail in the RSA padding or only later in the layout, depending on
    the bytes (PKCS#1 v1.5 implicit rejection yields random bytes): the reader is told the
    same thing every way, so no answer tells a wrong key from a changed block (issue 15)."""
    owner = key("cluster:contoso", bits_type)
    refusals = set()
    for name in ("enrollment-root", "revoker:audit", "account:bob@contoso.example", "a", "b"):
        other = key(name, bits_type)
        sealed = seal_content_key(b"c" * 16, CipherMode.ECB, to=owner.public,
                                  bound_to=ISSUER, bits_type=bits_type,
                                  random=stream().random_bytes)
        with pytest.raises(SealError) as refused:
            open_content_key(sealed, other, bound_to=ISSUER, bits_type=bits_type)
        refusals.add((type(refused.value), str(refused.value)))
        sealed = seal_private_key(other, to=owner.public, bound_to=ISSUER,
                                  bits_type=bits_type, random=stream().random_bytes)
        with pytest.raises(SealError) as refused:
            open_private_key(sealed, other, bound_to=ISSUER, bits_type=bits_type)
        refusals.add((type(refused.value), str(refused.value)))
    assert len(refusals) == 1 and next(iter(refusals))[0] is NotSealedForThisKeyError
