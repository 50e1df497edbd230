"""Exercises of notebooks 07 and 07b, revocation (SPEC R-1…R-9): bindings in one
session, whose list can revoke what, when a list goes stale, and an entry that stops a
document in every application."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rmslab.crypto.rsa import PublicKey
from rmslab.errors import RmslabError
from rmslab.exercises._core import Judgement, Kind, correct, hint, read_time, register
from rmslab.exercises._scenes import revocation_world
from rmslab.flows.binding import AppSession, explain_binding
from rmslab.flows.revocation import issue_cluster_list, revoke
from rmslab.revocation import RevocationIndex, Revoke
from rmslab.xrml import parse
from rmslab.xrml.model import format_time

__all__: list[str] = []

NOTEBOOK = "07_revocation"
NOTEBOOK_B = "07b_revocation_beyond_the_example"
CONTENTS = ("content 1", "content 2", "content 3")


@register("07.1", NOTEBOOK, Kind.PREDICT,
          "Predict: A has revoked content 2, as in section 3. Bob starts Word and opens, in "
          "this order and in the same session, content 3, content 2, content 1, then content "
          "2 again. Which of the four openings are refused? Give their positions (1 to 4).",
          "a set of ints, e.g. {1, 4}")
def _session_order(answer: Any) -> Judgement:
    world = revocation_world()
    d = world.deployment
    revoke(world.a, [Revoke("content", "content-id",
                            parse(world.contents["content 2"])[0].content_id)], web=d.web)
    word = AppSession(world.bob_pc, world.bob, "Word", web=d.web)
    order = ("content 3", "content 2", "content 1", "content 2")
    refused = {position for position, name in enumerate(order, 1)
               if not explain_binding(word, world.contents[name], "VIEW",
                                      anchor=world.anchor).allowed}
    if not isinstance(answer, (set, list, tuple)) or not all(
            isinstance(p, int) and not isinstance(p, bool) for p in answer):
        return hint("give the positions of the refused openings as a set of ints")
    given = set(answer)
    if given == refused:
        return correct("content 2 opens the first time — nothing is registered yet and its "
                       "license requires no list — and is refused after content 1 made Word "
                       "download and register A's list, which applies to A's content while "
                       "Word runs (R-5, R-8)")
    if 2 in given:
        return hint("when content 2 is first opened, which lists are registered in this "
                    "session? Content 2's license requires none (R-3 step 1)")
    if 4 not in given:
        return hint("after content 1, A's list is registered in this Word session: does it "
                    "apply to content 2, whose chain A signed? (R-8)")
    return hint("content 3 is C's, and content 1 is not revoked: go through the session one "
                "opening at a time, with what is registered at that moment")


@register("07.2", NOTEBOOK, Kind.FIND,
          "Find the key: content 1's use license requires a revocation list. Which public key "
          "must have signed that list for step 3 of R-3 to pass?",
          "a PublicKey, e.g. cluster.key.public")
def _revoker_key(answer: Any) -> Judgement:
    world = revocation_world()
    if not isinstance(answer, PublicKey):
        return hint("give a public key object, e.g. some_cluster.key.public")
    if answer == world.a.key.public:
        return correct("A's cluster key: the license's REFRESH condition names it as the "
                       "principal that may revoke (R-3 step 3)")
    if answer == world.c.key.public:
        return hint("C signed A's SLC, but the requirement in content 1's use license names "
                    "another key: read its REFRESH/DISTRIBUTIONPOINT/PUBLICKEY")
    return hint("read the REFRESH condition of content 1's use license (section 2): its "
                "DISTRIBUTIONPOINT names the key")


@register("07.3", NOTEBOOK, Kind.PREDICT,
          "Predict: whose revocation list could ever stop Bob opening content 3 — 'A', 'C', "
          "'both' or 'neither'?",
          "a str: 'A', 'C', 'both' or 'neither'")
def _who_can_revoke_3(answer: Any) -> Judgement:
    world = revocation_world()
    chain = parse(world.bob_pc.account("bob").licenses[
        parse(world.contents["content 3"])[0].content_id or ""])
    issuers = {doc.issuer_key for doc in chain}
    able = {name for name, key in (("A", world.a.key.public), ("C", world.c.key.public))
            if key in issuers}
    truth = "both" if len(able) == 2 else next(iter(able), "neither")
    if answer not in ("A", "C", "both", "neither"):
        return hint("answer 'A', 'C', 'both' or 'neither'")
    if answer == truth:
        return correct("C's only: a list applies to a binding when its signer issued a "
                       "certificate of the chain (R-8), and A signed nothing in content 3's")
    return hint("list the keys that signed the documents of content 3's use-license chain: "
                "a list applies only when its signer is among them (R-8)")


@register("07b.1", NOTEBOOK_B, Kind.CLOCK,
          "Find the moment: A's list signed at the start of the lesson (2026-01-05 09:00). "
          "From which minute on is it too old for content 1's use license?",
          "a str 'YYYY-MM-DDTHH:MM' (UTC)")
def _stale_from(answer: Any) -> Judgement:
    world = revocation_world()
    index = RevocationIndex(parse(issue_cluster_list(world.a, world.a.revocation_url, []))[0])
    moment = read_time(answer)
    if moment is None:
        return hint("give the time as text, 'YYYY-MM-DDTHH:MM' (UTC)")
    interval = timedelta(days=7)
    if index.fresh(moment, interval):
        return hint(f"at {format_time(moment)} the list is still fresh: the interval in the "
                    "use license is counted from the list's issue time")
    if not index.fresh(moment - timedelta(minutes=1), interval):
        return hint("it is already stale a minute before that: look for the first minute")
    return correct(f"{format_time(moment)}: a list is fresh up to its issue time plus the "
                   "license's refresh interval, that minute included (R-7)")


@register("07b.2", NOTEBOOK_B, Kind.PREDICT,
          "Predict: A's list revokes the application Word. Bob opens content 3 in Word. "
          "'allowed' or 'refused'?",
          "a str: 'allowed' or 'refused'")
def _word_on_c(answer: Any) -> Judgement:
    world = revocation_world()
    d = world.deployment
    d.web.publish(world.a.revocation_url, issue_cluster_list(
        world.a, world.a.revocation_url, [Revoke("application", "principal-id", "Word")]))
    word = AppSession(world.bob_pc, world.bob, "Word", web=d.web)
    explain_binding(word, world.contents["content 1"], "VIEW", anchor=world.anchor)
    outcome = explain_binding(word, world.contents["content 3"], "VIEW", anchor=world.anchor)
    truth = "allowed" if outcome.allowed else "refused"
    if answer not in ("allowed", "refused"):
        return hint("answer 'allowed' or 'refused'")
    if answer == truth:
        return correct("allowed: A's list is registered in Word, but it applies only to "
                       "chains A has a part in, and content 3's is C's (R-8)")
    return hint("the list revokes Word — but does it apply to this binding at all? Who "
                "signed content 3's chain? (R-8)")


def _entries(answer: Any) -> list[Revoke] | None:
    if isinstance(answer, Revoke):
        return [answer]
    if isinstance(answer, (list, tuple)) and answer and all(isinstance(e, Revoke) for e in answer):
        return list(answer)
    return None


@register("07b.3", NOTEBOOK_B, Kind.REPAIR,
          "Write the entry: the list that revokes Word stops content 1 in Word, but Bob still "
          "opens it in Viewer. Give revocation entries for A's list that stop content 1 for "
          "Bob in every application — and still let him open content 3.",
          "a Revoke or a list of Revoke entries")
def _every_application(answer: Any) -> Judgement:
    entries = _entries(answer)
    if entries is None:
        return hint("give Revoke(category, type, value) entries, as the sections above do")
    world = revocation_world()
    d = world.deployment
    try:
        d.web.publish(world.a.revocation_url,
                      issue_cluster_list(world.a, world.a.revocation_url, entries))
    except RmslabError as error:
        return hint(f"A cannot sign a list with these entries: {error}")
    opened = {}
    for application in ("Word", "Viewer", "Notepad"):
        session = AppSession(world.bob_pc, world.bob, application, web=d.web)
        opened[application] = explain_binding(session, world.contents["content 1"], "VIEW",
                                              anchor=world.anchor).allowed
    still = [a for a, allowed in opened.items() if allowed]
    if still:
        return hint(f"content 1 still opens in {', '.join(still)}: name something that every "
                    "binding of content 1 involves, whichever the application")
    session = AppSession(world.bob_pc, world.bob, "Word", web=d.web)
    explain_binding(session, world.contents["content 1"], "VIEW", anchor=world.anchor)
    if not explain_binding(session, world.contents["content 3"], "VIEW",
                           anchor=world.anchor).allowed:
        return hint("content 3 is refused too: revoke something of content 1's, not "
                    "something every chain shares")
    return correct("an entry that names what every binding of content 1 involves — the "
                   "content, its use license or Bob himself — applies whatever the "
                   "application (R-1)")

