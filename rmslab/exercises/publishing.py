"""Exercises of notebook 05, offline publishing (SPEC P-1…P-7): who can open the copies
of the content key (the publishing license's and the owner license's), where the content starts in the container, and which
server may license the file."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from rmslab.crypto.enabling_bits import EnablingBitsError
from rmslab.crypto.rsa import PrivateKey
from rmslab.errors import RmslabError
from rmslab.exercises._core import Judgement, Kind, correct, hint, register
from rmslab.exercises._scenes import standard
from rmslab.flows.licensing import acquire_use_license
from rmslab.flows.publishing import publish_offline
from rmslab.rights import Grant, RightsPolicy
from rmslab.xrml import read_chain, read_protected_file
from rmslab.xrml.licenses import license_content_key

__all__: list[str] = []

NOTEBOOK = "05_offline_publishing"
CONTENT = (b"Contoso quarterly results - draft 3\n"
           b"Revenue: up 4 % on the previous quarter\n"
           b"Not for distribution outside the finance team.\n")


class _Published:
    """Notebook 05's file: Alice protects the quarterly results offline for Bob."""

    def __init__(self) -> None:
        self.deployment = d = standard()
        lab = d.lab
        self.alice_pc = d.clients["ALICE-PC"]
        policy = RightsPolicy((Grant("bob@contoso.example", ("VIEW", "PRINT")),),
                              not_after=lab.now() + timedelta(days=90), caching_days=7)
        sink = io.BytesIO()
        self.protected = publish_offline(self.alice_pc, d.user("alice"), policy, CONTENT, sink,
                                         extension=".txt")
        self.data = sink.getvalue()


@register("05.1", NOTEBOOK, Kind.FIND,
          "Find the keys: which private keys open a copy of the content key Alice's computer "
          "sealed when she protected the file — in the publishing license and in her owner "
          "license? Give a list of every key that opens one.",
          "a list of PrivateKey objects (a cluster's key, client.account_key(user), …)")
def _both_copies(answer: Any) -> Judgement:
    scene = _Published()
    if not isinstance(answer, (list, tuple, set)) or not all(
            isinstance(k, PrivateKey) for k in answer):
        return hint("give a list of private key objects, e.g. [cluster.key, …]")
    pl = read_chain(scene.data)[0]
    owner = read_chain(scene.protected.owner_license.encode())[0]
    licenses = [pl, owner]

    def opens(key: PrivateKey) -> bool:
        for document in licenses:
            try:
                license_content_key(document, key)
                return True
            except (EnablingBitsError, RmslabError):
                continue
        return False

    wrong = [k for k in answer if not opens(k)]
    if wrong:
        return hint(f"{len(wrong)} of these keys open(s) no copy: each copy is sealed to one "
                    "public key — the publishing license's to its one issued principal, the "
                    "owner license's to the principal it is issued to (P-4, P-5)")
    if len({k.public for k in answer}) < len(licenses):
        return hint("there are two copies, one in each license; these keys open fewer — read "
                    "the publishing license's ISSUEDPRINCIPALS and the owner license's")
    return correct("the key of the server that issued the CLC, for everyone who asks it for a "
                   "use license (P-4), and Alice's account key, in her owner license (P-5): "
                   "MS-RMPR allows the publishing license one principal, so the author's copy "
                   "is the owner license's")


@register("05.2", NOTEBOOK, Kind.READ,
          "Read the bytes: at which byte offset of the protected file does the encrypted "
          "content start?",
          "an int: a byte offset from the start of the file")
def _content_offset(answer: Any) -> Judgement:
    scene = _Published()
    container = read_protected_file(scene.data)
    if isinstance(answer, bool) or not isinstance(answer, int):
        return hint("give an offset, an int")
    if answer == container.content_offset:
        return correct(f"byte {answer}: the header's content offset; everything before it is "
                       "the header, the extension and the license chain (P-6)")
    if answer == len(scene.data) - len(container.content) + 16:
        return hint("one AES block too far: the content starts with its first block")
    return hint("the header names it: read its offsets field by field (section 8's byte "
                "view, or rmslab inspect --bytes) and look for the content offset")


@register("05.3", NOTEBOOK, Kind.PREDICT,
          "Predict: Bob's computer asks for a use license for this file. Which cluster may "
          "issue it: 'contoso-root', 'contoso-licensing' or 'both'?",
          "a str: 'contoso-root', 'contoso-licensing' or 'both'")
def _who_licenses(answer: Any) -> Judgement:
    scene = _Published()
    d = scene.deployment
    granted = set()
    for name, cluster in d.clusters.items():
        try:
            acquire_use_license(cluster, d.clients["BOB-PC"], d.user("bob"),
                                scene.protected.publishing_license,
                                anchor=d.enrollment_service.anchor)
            granted.add(name)
        except RmslabError:
            pass
    truth = "both" if len(granted) == 2 else next(iter(granted))
    if answer not in ("contoso-root", "contoso-licensing", "both"):
        return hint("answer 'contoso-root', 'contoso-licensing' or 'both'")
    if answer == truth:
        return correct("only the server that issued the CLC can open its sealed copy of the "
                       "content key; any other refuses unless it trusts that publishing "
                       "domain (P-7)")
    return hint("whose public key is the server's sealed copy of the content key sealed to? "
                "Read P-7")
