"""Exercises of notebook 12, attacks and what stops them (B-2, A-1): one more signature
wrapping, the key a modified application needs, the window a clock set back opens, and
what ECB shows whatever the key."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rmslab.attacks import MINUTES, ecb_picture, scene, wrapped_use_license
from rmslab.crypto.rsa import PrivateKey
from rmslab.errors import InputError
from rmslab.exercises._core import Judgement, Kind, correct, hint, read_time, register
from rmslab.lab import Lab
from rmslab.xrml.model import format_time
from rmslab.xrml.pfile import read_protected_file
from rmslab.xrml.reader import read_chain

__all__: list[str] = []

NOTEBOOK = "12_attacks_and_what_stops_them"
#: When alice's minutes for bob expire in exercise 12.3.
UNTIL = "2026-01-06T09:00"


@register("12.1", NOTEBOOK, Kind.PREDICT,
          "Predict: bob puts the forged BODY (PRINT) after the signed one instead of before it "
          "— signed BODY, forged BODY, then the server's SIGNATURE "
          "(wrapped_use_license('second body after')). What refuses it: 'reader' (before "
          "anything is verified) or 'binding' (a check of B-2)?",
          "a str: 'reader' or 'binding'")
def _second_body_after(answer: Any) -> Judgement:
    if answer not in ("reader", "binding"):
        return hint("answer 'reader' or 'binding'")
    try:
        read_chain(wrapped_use_license("second body after"), source="bob's use license")
        truth = "binding"
    except InputError:
        truth = "reader"
    if answer == truth:
        return correct("the reader: a document holds exactly one BODY, wherever the second "
                       "one stands — there is never a choice of which BODY the signature "
                       "covers (docs/wire-format.md, Envelope)")
    return hint("the order of the two BODYs changes which one a careless reader would take; "
                "does it change how many BODYs the document has?")


@register("12.2", NOTEBOOK, Kind.FIND,
          "Find the key a modified application needs to write the minutes in clear: the "
          "content key bob's client releases when he asks to VIEW (scene().bind('bob', "
          "'VIEW')). Give it as bytes; write_plaintext(binding, file) shows what it opens.",
          "bytes: the 16-byte content key")
def _released_key(answer: Any) -> Judgement:
    world = scene()
    binding = world.bind("bob", "VIEW")
    assert binding.content_key is not None
    if isinstance(answer, PrivateKey):
        return hint("that is an RSA key; the client opens the content key with bob's account "
                    "key and releases the content key itself — a binding's content_key")
    if not isinstance(answer, (bytes, bytearray)):
        return hint("give bytes: a binding's content_key")
    if bytes(answer) == binding.content_key:
        return correct("with it the file's content decrypts to the plaintext "
                       "(write_plaintext(binding, file) does that): binding released it for "
                       "VIEW, rightly, and nothing checks what the application does next")
    if bytes(answer) == MINUTES:
        return hint("that is what the key decrypts; give the key")
    if bytes(answer) == read_protected_file(world.protected_file).content:
        return hint("that is the encrypted content; give the key that decrypts it")
    return hint("not the key bob's client releases: bind for VIEW as bob and read the "
                "binding's content_key")


def _window_ends(answer: Any) -> tuple[datetime, datetime] | None:
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return None
    first, last = read_time(answer[0]), read_time(answer[1])
    if first is None or last is None:
        return None
    return first, last


@register("12.3", NOTEBOOK, Kind.CLOCK,
          f"Find the moments: alice's minutes for bob expire at {UNTIL} UTC "
          f"(scene(until='{UNTIL}')). Days later, bob sets his computer's clock back "
          "(s.bind_at('bob', 'VIEW', moment)). Between which two moments, to the minute, "
          "does the content open again? Give the earliest and the latest.",
          "a tuple of two str: ('YYYY-MM-DDTHH:MM', 'YYYY-MM-DDTHH:MM'), UTC")
def _clock_window(answer: Any) -> Judgement:
    ends = _window_ends(answer)
    if ends is None:
        return hint("give two moments, earliest first, each 'YYYY-MM-DDTHH:MM' (UTC)")
    first, last = ends
    minute = timedelta(minutes=1)

    def opens(at: datetime) -> bool:
        return scene(until=UNTIL).bind_at("bob", "VIEW", at).allowed

    if not (opens(first) and opens(last)):
        shut = first if not opens(first) else last
        return hint(f"at {format_time(shut)} it does not open: look at which check refuses "
                    "it then (binding's failed check says why)")
    if opens(first - minute):
        return hint("it opens a minute before your earliest moment too: what is the earliest "
                    "moment at which the publishing license is valid at all?")
    if opens(last + minute):
        return hint("it opens a minute after your latest moment too: when exactly does the "
                    "grant end?")
    return correct("from the moment the licenses were issued to the moment the grant ends: "
                   "before it, nothing is valid yet; after it, the grant has ended. A clock "
                   "set anywhere inside reopens expired content — the client has no other "
                   "time to judge by")


@register("12.4", NOTEBOOK, Kind.PREDICT,
          "Predict: the padlock encrypted in ECB under another content key "
          "(ecb_picture(Lab(seed=1))). How many distinct 16-byte blocks has its ECB "
          "ciphertext?",
          "an int")
def _ecb_any_key(answer: Any) -> Judgement:
    if isinstance(answer, bool) or not isinstance(answer, int):
        return hint("give a whole number of blocks")
    other = ecb_picture(Lab(seed=1))
    truth = other.distinct_blocks["ECB"]
    if answer == truth:
        return correct("as many as the picture has, whatever the key: ECB maps equal blocks to "
                       "equal blocks, so the key changes the shades, never the pattern")
    if answer == other.distinct_blocks["CBC4K"]:
        return hint("that is what CBC4K gives; in ECB, does a block's ciphertext depend on "
                    "anything but the block and the key?")
    return hint("count the distinct blocks of the picture itself (distinct_blocks['picture']) "
                "and ask what ECB does to two equal blocks")
