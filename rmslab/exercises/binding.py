"""Exercises of notebook 06, licensing and binding (SPEC L-1, B-1, B-2, P-7): which
check refuses a right, which key opens a use license, and a policy that lets Carol
print."""

from __future__ import annotations

import io
from typing import Any

from rmslab.crypto.rsa import PrivateKey
from rmslab.crypto.enabling_bits import EnablingBitsError
from rmslab.errors import RmslabError
from rmslab.exercises._core import Judgement, Kind, correct, hint, register
from rmslab.exercises._scenes import standard
from rmslab.flows.binding import AppSession, explain_binding
from rmslab.flows.licensing import acquire_use_license
from rmslab.flows.publishing import publish_online
from rmslab.rights import Grant, RightsPolicy
from rmslab.xrml import read_chain
from rmslab.xrml.licenses import license_content_key

__all__: list[str] = []

NOTEBOOK = "06_licensing_and_binding"
MINUTES = (b"Board meeting, 5 January\n"
           b"1. The Fabrikam offer is declined.\n"
           b"2. The new office opens in March.\n")


class _Minutes:
    """Notebook 06, section 2: the minutes published online for Bob (VIEW), and his use
    license."""

    def __init__(self, policy: RightsPolicy | None = None) -> None:
        self.deployment = d = standard()
        self.root, self.anchor = d.root_cluster, d.enrollment_service.anchor
        policy = policy or RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),),
                                        caching_days=7)
        sink = io.BytesIO()
        publish_online(self.root, d.clients["ALICE-PC"], d.user("alice"), policy, MINUTES, sink,
                       extension=".txt")
        self.chain = read_chain(sink.getvalue()).text

    def licensed(self, user: str) -> bool:
        d = self.deployment
        try:
            acquire_use_license(self.root, d.clients[f"{user.upper()}-PC"], d.user(user),
                                self.chain, anchor=self.anchor)
        except RmslabError:
            return False
        return True

    def bind(self, user: str, right: str) -> Any:
        d = self.deployment
        session = AppSession(d.clients[f"{user.upper()}-PC"], d.user(user), "Word")
        return explain_binding(session, self.chain, right, anchor=self.anchor)


@register("06.1", NOTEBOOK, Kind.PREDICT,
          "Predict: Bob's word processor asks for EDIT. Which rule does the refusal name?",
          "a str: a rule ID such as 'B-1'")
def _edit(answer: Any) -> Judgement:
    scene = _Minutes()
    scene.licensed("bob")
    binding = scene.bind("bob", "EDIT")
    truth = binding.failed.spec_id if binding.failed else None
    if not isinstance(answer, str):
        return hint("give a rule ID as text, e.g. 'L-1'")
    if answer.strip().upper() == truth:
        return correct(f"{truth}: the use license grants VIEW only, and binding releases the "
                       "key for one right that the license grants")
    if answer.strip().upper() == "B-1":
        return hint("B-1 is about the application asking for one right, which it did; which "
                    "rule lists what binding checks before releasing the key?")
    return hint("run through the binding checks of section 2 in order: which one fails for "
                "a right Bob was not given?")


@register("06.2", NOTEBOOK, Kind.FIND,
          "Find the key: which private key unseals the content key in Bob's use license?",
          "a PrivateKey, e.g. client.account_key(user)")
def _use_license_key(answer: Any) -> Judgement:
    scene = _Minutes()
    scene.licensed("bob")
    bob_pc = scene.deployment.clients["BOB-PC"]
    content_id = read_chain(scene.chain.encode("utf-8"))[0].content_id or ""
    use_license = read_chain(bob_pc.account("bob").licenses[content_id].encode("utf-8"))[0]
    if not isinstance(answer, PrivateKey):
        return hint("give a private key object")
    try:
        license_content_key(use_license, answer)
    except (EnablingBitsError, RmslabError):
        if answer.public == bob_pc.machine_key.public:
            return hint("the machine key opens Bob's RAC; the use license is sealed to the key "
                        "that RAC certifies")
        if answer.public == scene.root.key.public:
            return hint("the server's key opens the publishing license's copy; the use license "
                        "holds a copy for Bob alone (L-1)")
        return hint("that key does not unseal it: look at the use license's issued "
                    "principal — which key does it hold?")
    return correct("Bob's account key — the one his RAC certifies on BOB-PC: the server sealed "
                   "the content key again, for him alone (L-1, B-2)")


@register("06.3", NOTEBOOK, Kind.REPAIR,
          "Write the rights: a RightsPolicy under which Carol may view and print the minutes, "
          "and Bob may still only view them.",
          "a RightsPolicy, e.g. RightsPolicy((Grant(email, (RIGHT, …)), …))")
def _carol_prints(answer: Any) -> Judgement:
    if not isinstance(answer, RightsPolicy):
        return hint("give a RightsPolicy built from Grants, as section 1 does")
    scene = _Minutes(answer)
    outcome = {}
    for user in ("bob", "carol"):
        licensed = scene.licensed(user)
        outcome[user] = {right: licensed and scene.bind(user, right).allowed
                         for right in ("VIEW", "PRINT", "EDIT")}
    if not outcome["carol"]["VIEW"] or not outcome["carol"]["PRINT"]:
        return hint("Carol cannot yet view and print: is there a Grant for "
                    "carol@contoso.example with both rights?")
    if not outcome["bob"]["VIEW"]:
        return hint("Bob can no longer view: keep his Grant")
    if outcome["bob"]["PRINT"] or outcome["bob"]["EDIT"]:
        return hint("Bob may now do more than view: give him VIEW only")
    if outcome["carol"]["EDIT"]:
        return hint("Carol may also edit: view and print is what was asked")
    return correct("the server grants each user only the rights the policy gives them, and "
                   "binding checks each right (L-1, B-2)")
