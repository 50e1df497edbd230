"""Exercises of notebook 02, enrollment (SPEC E-1…E-9): the key a request is signed
with, the certificate that vouches for a sub-enrolled cluster, and what joining logs."""

from __future__ import annotations

from typing import Any

from rmslab.exercises._core import Judgement, Kind, correct, hint, register
from rmslab.exercises._scenes import standard
from rmslab.flows import join_server
from rmslab.trust import find_issuer

__all__: list[str] = []

NOTEBOOK = "02_enrollment"


@register("02.1", NOTEBOOK, Kind.READ,
          "The enrollment request carries a proof signed with a key it carries itself. Whose "
          "key is it? Give its short fingerprint (16 hexadecimal digits, as PublicKey prints "
          "it).",
          "a str of 16 hexadecimal digits")
def _request_key(answer: Any) -> Judgement:
    d = standard()
    root = d.root_cluster
    if not isinstance(answer, str):
        return hint("give the fingerprint as text, e.g. key.short_fingerprint")
    given = answer.strip().lower()
    if given == root.key.public.short_fingerprint:
        return correct("the cluster key itself: the request's proof is made with the private "
                       "half of the key it asks to have certified, so a changed request file "
                       "is caught (S-5; E-4)")
    if given == d.enrollment_service.anchor.short_fingerprint:
        return hint("that is the enrollment service's root key: it signs the answer, not "
                    "the request — whose key must the request prove possession of?")
    if len(given) != 16:
        return hint("a short fingerprint has 16 hexadecimal digits")
    return hint("not that key: read the request's CertificatePublicKey — the key it asks "
                "to have certified — e.g. EnrollParameters.from_xml(text).public_key")


@register("02.2", NOTEBOOK, Kind.FIND,
          "Find the certificate: in licensing.slc_chain, which document (its index) "
          "certifies the key that signed the licensing cluster's SLC (#0)?",
          "an int: an index in licensing.slc_chain")
def _sub_enrolled(answer: Any) -> Judgement:
    d = standard()
    chain = d.clusters["contoso-licensing"].slc_chain
    found = find_issuer(chain.documents, chain[0])
    assert found is not None
    if isinstance(answer, bool) or not isinstance(answer, int):
        return hint(f"give an index from 0 to {len(chain) - 1}")
    if answer == found.index:
        return correct("the root cluster's own SLC: a licensing-only cluster sub-enrolls "
                       "with the root cluster, whose key signs its SLC (E-2)")
    if answer == 0:
        return hint("#0 is the licensing cluster's SLC itself: who signed it? (E-2)")
    return hint(f"#{answer} certifies a key further up: look for the certificate whose "
                "issued principal holds #0's ISSUER key")


@register("02.3", NOTEBOOK, Kind.PREDICT,
          "Predict: a third server, RMS03, joins contoso-root. How many rows does that add "
          "to contoso-root's enrollment log?",
          "an int: a number of rows")
def _join_logs(answer: Any) -> Judgement:
    d = standard()
    root = d.root_cluster
    before = len(root.log.entries())
    join_server(root, "RMS03", administrators={"rmsadmin"})
    added = len(root.log.entries()) - before
    if isinstance(answer, bool) or not isinstance(answer, int):
        return hint("give a number of rows, an int")
    if answer == added:
        return correct("none: a later server joins and shares the cluster's key and SLC; it "
                       "makes no enrollment request, so nothing is logged (E-2, E-8)")
    return hint("the log records enrollment requests (E-8); does a joining server make "
                "one? Section 8 says what it receives instead")
