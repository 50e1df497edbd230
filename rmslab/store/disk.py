"""The lab on disk, the short way: :func:`save_deployment` makes a new lab of a deployment,
:func:`load_deployment` reads one back (SPEC E-8, D-3). The store itself — a SQLite
database with transactions, the files people look at, the lab's lock, clock and logs —
is :class:`rmslab.store.labdb.LabStore`; its docstring describes the layout.

Client stores follow the client-mode layout (``%localappdata%\\Microsoft\\MSIPC``, D-3):
``clients/MACHINE/C/Users/USER/AppData/Local/Microsoft/MSIPC``.
"""

from __future__ import annotations

import os
from pathlib import Path

from rmslab.deployment import Deployment
from rmslab.store.labdb import LabStore
from rmslab.store.names import lab_path
from rmslab.store.tables import client_store_parts, template_archive_parts

__all__ = ["save_deployment", "load_deployment", "client_store", "template_archive"]


def client_store(lab: Path, client: str, user: str) -> Path:
    """The client-mode license store of ``user`` on ``client`` in the lab at ``lab`` (D-3:
    ``%localappdata%\\Microsoft\\MSIPC`` → ``C/Users/USER/AppData/Local/Microsoft/MSIPC``)."""
    return lab_path(lab, *client_store_parts(client, user))


def template_archive(lab: Path, client: str, user: str) -> Path:
    """The client-mode template archive of ``user`` on ``client`` (D-3:
    ``%localappdata%\\Microsoft\\MSIPC\\Templates``)."""
    return lab_path(lab, *template_archive_parts(client, user))


def save_deployment(deployment: Deployment, directory: str | os.PathLike[str]) -> Path:
    """Make a new lab of ``deployment`` in ``directory`` (absent or empty); its logs
    continue in the lab's files. Changing a lab afterwards is :meth:`LabStore.write`."""
    return LabStore.create(deployment, directory).root


def load_deployment(directory: str | os.PathLike[str]) -> Deployment:
    """The deployment of the lab in ``directory``, read from a consistent snapshot — a
    read-only convenience: what is changed in it is not kept (its logs, opened in place,
    do record). A directory that is not a usable lab raises
    :class:`~rmslab.errors.InputError` naming what is wrong."""
    return LabStore(directory).load()
