"""Exercises of notebook 05, offline publishing (SPEC P-1…P-7): who can open the two
sealed copies of the content key, where the content starts in the container, and which
server may license the file."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from rmslab.crypto.rsa import PrivateKey
from rmslab.crypto.seal import SealError, unseal
from rmslab.errors import RmslabError
from rmslab.exercises._core import Judgement, Kind, correct, hint, register
from rmslab.exercises._scenes import standard
from rmslab.flows.licensing import acquire_use_license
from rmslab.flows.publishing import publish_offline
from rmslab.rights import Grant, RightsPolicy
from rmslab.xrml import read_chain, read_protected_file

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
          "Find the keys: which private keys open the content key sealed in the publishing "
          "license? Give a list of every key that opens one of its sealed copies.",
          "a list of PrivateKey objects (a cluster's key, client.clc_key(user), …)")
def _both_copies(answer: Any) -> Judgement:
    scene = _Published()
    if not isinstance(answer, (list, tuple, set)) or not all(
            isinstance(k, PrivateKey) for k in answer):
        return hint("give a list of private key objects, e.g. [cluster.key, …]")
    pl = read_chain(scene.data)[0]
    copies = [pl.sealed_key_for(p.public_key) for p in pl.principals if p.public_key]

    def opens(key: PrivateKey) -> bool:
        for sealed in copies:
            try:
                unseal(sealed or b"", key)
                return True
            except SealError:
                continue
        return False

    wrong = [k for k in answer if not opens(k)]
    if wrong:
        return hint(f"{len(wrong)} of these keys open(s) no sealed copy: each copy is sealed to "
                    "the public key of one issued principal of the publishing license (P-4)")
    if len({k.public for k in answer}) < len(copies):
        return hint(f"the publishing license holds {len(copies)} sealed copies; these keys open "
                    "fewer — read its ISSUEDPRINCIPALS")
    return correct("the CLC key, for Alice offline, and the key of the server that issued "
                   "the CLC, for everyone who asks it for a use license (P-4)")


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
