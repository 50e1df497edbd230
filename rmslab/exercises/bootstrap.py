"""Exercises of notebook 03, client bootstrap (SPEC E-7, E-9): the key each sealed key
opens with, and the minute a temporary RAC stops validating."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rmslab.actors import ROOT
from rmslab.actors.client import open_sealed_key
from rmslab.crypto.rsa import PrivateKey
from rmslab.errors import SealError
from rmslab.deployment import Deployment
from rmslab.errors import RmslabError
from rmslab.exercises._core import Judgement, Kind, correct, hint, read_time, register
from rmslab.flows import activate_machine, certify_account, enroll_client, enroll_root_cluster
from rmslab.lab import Lab
from rmslab.trust import validate_chain
from rmslab.xrml import parse
from rmslab.xrml.model import format_time

__all__: list[str] = []

NOTEBOOK = "03_client_bootstrap"


class _Bootstrap:
    """Notebook 03 up to section 5: ALICE-PC with Alice's RAC and CLC, BOB-PC with
    Carol's temporary RAC."""

    def __init__(self) -> None:
        self.lab = lab = Lab()
        d = Deployment(lab)
        directory = d.directory
        admin = directory.add_user("rmsadmin", groups=("Domain Users", "Domain Admins"))
        alice, _bob, carol = (directory.add_user(n) for n in ("alice", "bob", "carol"))
        root = d.add_cluster("contoso-root", "https://rms.contoso.example/_wmcs", role=ROOT,
                             first_server="RMS01", administrators={"rmsadmin"})
        enroll_root_cluster(d.enrollment_service, root, by=admin)
        self.anchor = d.enrollment_service.anchor
        self.alice_pc, self.bob_pc = d.add_client("ALICE-PC"), d.add_client("BOB-PC")
        activate_machine(self.alice_pc)
        certify_account(root, self.alice_pc, alice, directory)
        activate_machine(self.bob_pc)
        certify_account(root, self.bob_pc, carol, directory, temporary=True)
        enroll_client(root, self.alice_pc, alice)


def _keys(scene: _Bootstrap) -> dict[str, PrivateKey]:
    return {"ALICE-PC's machine key": scene.alice_pc.machine_key,
            "BOB-PC's machine key": scene.bob_pc.machine_key,
            "Alice's account key": scene.alice_pc.account_key("alice"),
            "Carol's account key": scene.bob_pc.account_key("carol")}


def _which(answer: PrivateKey, scene: _Bootstrap) -> str | None:
    return next((name for name, key in _keys(scene).items() if key.public == answer.public),
                None)


@register("03.1", NOTEBOOK, Kind.FIND,
          "Find the key: which private key opens the account key sealed in Carol's "
          "temporary RAC on BOB-PC? Give the key object itself (from the notebook's actors).",
          "a PrivateKey, e.g. some_client.machine_key")
def _carol_rac(answer: Any) -> Judgement:
    scene = _Bootstrap()
    rac = scene.bob_pc.account("carol").rac
    if not isinstance(answer, PrivateKey):
        return hint("give a private key object: a client's machine_key, or "
                    "client.account_key(user)")
    try:
        open_sealed_key(rac, answer)
    except SealError:
        name = _which(answer, scene)
        if name == "Carol's account key":
            return hint("that is the key the RAC certifies — the one sealed inside it; what "
                        "must a computer already hold to open it?")
        if name == "ALICE-PC's machine key":
            return hint("a RAC is sealed to the machine it was issued on: where did Carol "
                        "sign in?")
        return hint("that key does not open it: a RAC's account key is sealed to a key "
                    "that never leaves one computer")
    return correct("BOB-PC's machine key: a RAC, temporary or not, is sealed to the machine "
                   "it was issued for (E-9)")


@register("03.2", NOTEBOOK, Kind.FIND,
          "Find the key: which private key opens the CLC key sealed in Alice's client "
          "licensor certificate? Give the key object itself.",
          "a PrivateKey, e.g. client.account_key(user)")
def _alice_clc(answer: Any) -> Judgement:
    scene = _Bootstrap()
    clc = scene.alice_pc.account("alice").clc
    if not isinstance(answer, PrivateKey):
        return hint("give a private key object: a client's machine_key, or "
                    "client.account_key(user)")
    assert clc is not None
    try:
        open_sealed_key(clc, answer)
    except SealError:
        if _which(answer, scene) == "ALICE-PC's machine key":
            return hint("the machine key opens the RAC; the CLC is one step further along "
                        "the chain of keys (section 5)")
        return hint("that key does not open it: which key does Alice hold once her RAC is "
                    "opened?")
    return correct("Alice's account key: the CLC key is sealed to the account key, which the "
                   "machine key opens from the RAC (E-7, E-9)")


@register("03.3", NOTEBOOK, Kind.CLOCK,
          "Find the moment: the first minute (UTC) at which validate_chain refuses Carol's "
          "temporary RAC chain.",
          "a str 'YYYY-MM-DDTHH:MM' (UTC)")
def _temporary_ends(answer: Any) -> Judgement:
    scene = _Bootstrap()
    chain = parse(scene.bob_pc.account("carol").rac_text)
    moment = read_time(answer)
    if moment is None:
        return hint("give the time as text, 'YYYY-MM-DDTHH:MM' (UTC)")

    def refused(at: datetime) -> bool:
        try:
            validate_chain(chain, scene.anchor, at=at)
        except RmslabError:
            return True
        return False

    if not refused(moment):
        return hint(f"at {format_time(moment)} the chain still validates: read the RAC's "
                    "validity, and mind whether its last minute is inside or outside")
    if refused(moment - timedelta(minutes=1)):
        return hint(f"it is already refused a minute before {format_time(moment)}: look for "
                    "the first minute, no earlier one")
    return correct(f"{format_time(moment)}: a temporary RAC lasts fifteen minutes, valid up "
                   "to and including its UNTIL (E-9)")
