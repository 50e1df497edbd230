"""How a deployment maps onto the tables of the lab database, and onto the files people
look at (SPEC D-3, E-8; issue 10 item 5).

Each :class:`Table` says, for one kind of state, its columns (the first ``keys`` of them
form the primary key), how a deployment gives its rows (``dump``), which files a row is
shown in (``files``) and which of its columns hold names that must be safe
(``names``). :func:`build` makes a deployment from the rows. A command changes the
deployment; the store dumps it before and after and writes only the rows that differ,
and only the files of those rows.

Extending the mapping when an actor gains a field: add the column to its table here
(with a type; a lab made before reads it as NULL), give it a value in the table's
``dump`` and read it back in :func:`build`. A new kind of state is a new :class:`Table`
in :data:`TABLES`. The store creates missing tables and adds missing columns the next
time a command writes to an older lab; reads never change the database.

The lab's secrets — the cluster keys, machine keys and the keys of trusted publishing
domains — are rows of one table, ``secrets``, and no longer PEM files: they commit in
the same transaction as the state that uses them (a cluster and its key can never
disagree, a crash never leaves a key without its cluster), one file (``lab.sqlite``,
created readable by its owner only) holds everything secret, and no name from the lab's
data ever becomes the path of a key file. Each key is kept with the SHA-256 of its DER
encoding, checked when it is read; the enrollment service's own keys are never stored
(they are re-derived from the lab's seed, like the vendor's that never leave it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from rmslab.actors.client import Account, Client
from rmslab.actors.cluster import ApplicationExclusion, Cluster
from rmslab.actors.enrollment_service import EnrollmentService
from rmslab.actors.people import Computer
from rmslab.crypto.rsa import PrivateKey, PublicKey
from rmslab.deployment import Deployment
from rmslab.discovery.paths import ClientMode, client_paths
from rmslab.discovery.regfile import parse_reg, write_reg
from rmslab.discovery.registry import Registry
from rmslab.errors import LabStoreError
from rmslab.lab import Lab
from rmslab.revocation import Revoke
from rmslab.store.names import check_name, chosen_file_name, document_file_name
from rmslab.xrml.certificates import Revocation

__all__ = ["Table", "TABLES", "State", "Row", "PathParts", "dump", "build", "files_of",
           "check_names", "client_store_parts", "template_archive_parts", "log_parts",
           "SCHEMA_VERSION"]

#: The version of the mapping; ``PRAGMA user_version`` of a lab database. 2: the
#: directory's SIDs and groups, and each cluster's licensing policies (MS-RMPR 3.1.1.1.1).
#: 3: the enrollment service's SPC issuer and self-enrollment chains (MS-RMPR 2.2.9.2).
#: 4: each cluster's serverDecommissioned and onlinePublishingEnabled (3.1.1.1.1).
SCHEMA_VERSION = 4

Row = tuple[Any, ...]
#: The rows of each table, by primary key.
State = dict[str, dict[Row, Row]]
#: A lab-relative path: parts of the layout, and (kind, name) pairs checked on use.
PathParts = tuple["str | tuple[str, str]", ...]
FileRows = Iterable[tuple[PathParts, bytes]]


def _no_files(row: Row) -> FileRows:
    return ()


@dataclass(frozen=True)
class Table:
    name: str
    #: ``"name TYPE …"``; the first ``keys`` columns are the primary key.
    columns: tuple[str, ...]
    keys: int
    dump: Callable[[Deployment], Iterable[Row]]
    files: Callable[[Row], FileRows] = _no_files
    #: (column index, kind of name) of the columns whose values must be safe names.
    names: tuple[tuple[int, str], ...] = ()
    column_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_names", tuple(c.split()[0] for c in self.columns))

    def ddl(self) -> str:
        keys = ", ".join(self.column_names[:self.keys])
        return (f"CREATE TABLE IF NOT EXISTS {self.name} ({', '.join(self.columns)}, "
                f"PRIMARY KEY ({keys}))")

    def key(self, row: Row) -> Row:
        return row[:self.keys]


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _email(deployment: Deployment, user: str) -> str:
    found = deployment.directory.users.get(user)
    return found.email if found is not None else f"{user}@{deployment.directory.domain}"


def _secret(holder: str, key: PrivateKey) -> Row:
    der = key.to_der()
    return (holder, der, hashlib.sha256(der).hexdigest())


# --- the layout of files (D-3) -------------------------------------------------------------

_PROFILE = client_paths(ClientMode.CLIENT, user_profile="C:\\Users\\USER")
_STORE_TAIL = _PROFILE.license_store.parts[3:]       # AppData, Local, Microsoft, MSIPC
_ARCHIVE_TAIL = _PROFILE.template_archive.parts[3:]  # … MSIPC, Templates


def client_store_parts(client: str, user: str) -> PathParts:
    """The client-mode license store of ``user`` on ``client`` (D-3:
    ``%localappdata%\\Microsoft\\MSIPC`` → ``C/Users/USER/AppData/Local/Microsoft/MSIPC``)."""
    return ("clients", ("machine", client), "C", "Users", ("user", user), *_STORE_TAIL)


def template_archive_parts(client: str, user: str) -> PathParts:
    """The client-mode template archive of ``user`` on ``client`` (D-3)."""
    return ("clients", ("machine", client), "C", "Users", ("user", user), *_ARCHIVE_TAIL)


def log_parts(cluster: str | None) -> PathParts:
    """The logging database of a cluster, or of the enrollment service (``None``)."""
    if cluster is None:
        return ("enrollment-service", "log.sqlite")
    return ("clusters", ("cluster", cluster), "logging.sqlite")


def _text(value: str) -> bytes:
    return value.encode("utf-8")


# --- the tables ---------------------------------------------------------------------------


def _lab_rows(d: Deployment) -> Iterable[Row]:
    state = d.lab.state()
    yield (1, d.lab.seed, d.lab.mode, state["start"], state["now"], d.directory.domain,
           d.directory.sid)


def _stream_rows(d: Deployment) -> Iterable[Row]:
    streams = d.lab.state()["streams"]
    assert isinstance(streams, dict)
    for purpose, (counter, buffer_hex) in streams.items():
        yield (purpose, counter, buffer_hex)


def _user_rows(d: Deployment) -> Iterable[Row]:
    for position, user in enumerate(d.directory.users.values()):
        yield (user.name, position, _json(sorted(user.groups)), user.sid or None)


def _group_rows(d: Deployment) -> Iterable[Row]:
    for position, (key, group) in enumerate(d.directory.groups.items()):
        yield (key, position, group.name, group.email, _json(sorted(group.members)))


def _service_rows(d: Deployment) -> Iterable[Row]:
    service = d.enrollment_service
    yield (1, service.url, service.tls_root, service.chain_text,
           service.anchor.to_pem().decode("ascii"), service.spc_chain_text,
           service.self_enrollment_text)


def _service_files(row: Row) -> FileRows:
    yield ("anchor.pem",), _text(row[4])
    yield ("enrollment-service", "chain.xml"), _text(row[3])
    if len(row) > 5 and row[5]:
        yield ("enrollment-service", "spc-issuer-chain.xml"), _text(row[5])
    if len(row) > 6 and row[6]:
        yield ("enrollment-service", "self-enrollment-chain.xml"), _text(row[6])


def _enrolled_rows(d: Deployment) -> Iterable[Row]:
    for key, url in d.enrollment_service.enrolled_servers.items():
        yield (key.modulus_base64, str(key.exponent), url)


def _secret_rows(d: Deployment) -> Iterable[Row]:
    for cluster in d.clusters.values():
        yield _secret(f"cluster:{cluster.name}", cluster.key)
        for name, key in cluster.trusted_domains.items():
            yield _secret(f"trusted-domain:{cluster.name}:{name}", key)
    for client in d.clients.values():
        yield _secret(f"machine:{client.name}", client.machine_key)


def _cluster_rows(d: Deployment) -> Iterable[Row]:
    for position, c in enumerate(d.clusters.values()):
        authority = c.revocation.authority_key
        yield (c.name, position, c.url, c.role,
               c.revocation.authority_name if authority else None,
               authority.to_pem().decode("ascii") if authority else None,
               c.slc_text, c.revocation_list, int(c.super_user_enabled), c.super_user_group,
               int(c.decommissioned), int(c.online_publishing_enabled))


def _cluster_files(row: Row) -> FileRows:
    base: PathParts = ("clusters", ("cluster", row[0]))
    if row[6]:
        yield (*base, "slc.xml"), _text(row[6])
    if row[7]:
        yield (*base, "revocation-list.xml"), _text(row[7])


def _previous_slc_rows(d: Deployment) -> Iterable[Row]:
    for c in d.clusters.values():
        for number, text in enumerate(c.previous_slcs, 1):
            yield (c.name, number, text)


def _previous_slc_files(row: Row) -> FileRows:
    yield ("clusters", ("cluster", row[0]), f"previous-slc-{int(row[1])}.xml"), _text(row[2])


def _server_rows(d: Deployment) -> Iterable[Row]:
    for c in d.clusters.values():
        for position, s in enumerate(c.servers):
            yield (c.name, s.name, position, _json(sorted(s.administrators)), int(s.connected))


def _cluster_template_rows(d: Deployment) -> Iterable[Row]:
    for c in d.clusters.values():
        for name, text in c.templates.items():
            yield (c.name, name, text)


def _cluster_template_files(row: Row) -> FileRows:
    yield ("clusters", ("cluster", row[0]), "templates", ("template", row[1])), _text(row[2])


def _archived_template_rows(d: Deployment) -> Iterable[Row]:
    for c in d.clusters.values():
        for name, text in c.archived_templates.items():
            yield (c.name, name, text)


def _archived_template_files(row: Row) -> FileRows:
    yield (("clusters", ("cluster", row[0]), "archived-templates", ("template", row[1])),
           _text(row[2]))


def _trusted_user_domain_rows(d: Deployment) -> Iterable[Row]:
    for c in d.clusters.values():
        for name, text in c.trusted_user_domains.items():
            yield (c.name, name, text)


def _trusted_user_domain_files(row: Row) -> FileRows:
    # the domain's name is an administrator's label, not a path: the store names the file
    yield (("clusters", ("cluster", row[0]), "trusted-user-domains", chosen_file_name(row[1])),
           _text(row[2]))


def _rac_exclusion_rows(d: Deployment) -> Iterable[Row]:
    for c in d.clusters.values():
        for position, key in enumerate(c.rac_exclusions):
            yield (c.name, key.modulus_base64, str(key.exponent), position)


def _application_exclusion_rows(d: Deployment) -> Iterable[Row]:
    for c in d.clusters.values():
        for position, e in enumerate(c.application_exclusions):
            yield (c.name, e.filename, e.minimum_version, e.maximum_version, position)


def _rac_machine_rows(d: Deployment) -> Iterable[Row]:
    for c in d.clusters.values():
        for rac_id, machine in c.rac_machines.items():
            yield (c.name, rac_id, machine)


def _revocation_rows(d: Deployment) -> Iterable[Row]:
    for c in d.clusters.values():
        for position, r in enumerate(c.revocations):
            yield (c.name, position, r.category, r.type, r.value,
                   r.key.modulus_base64 if r.key else None,
                   str(r.key.exponent) if r.key else None)


def _trusted_domain_rows(d: Deployment) -> Iterable[Row]:
    for c in d.clusters.values():
        for name in c.trusted_domains:
            yield (c.name, name)


def _client_rows(d: Deployment) -> Iterable[Row]:
    for position, c in enumerate(d.clients.values()):
        yield (c.name, position, int(c.connected), c.machine_certificate_text,
               write_reg(c.registry.export()))


def _client_files(row: Row) -> FileRows:
    base: PathParts = ("clients", ("machine", row[0]))
    yield (*base, "registry.reg"), bytes(row[4])
    if row[3]:
        yield (*base, "machine", "machine-certificate.xml"), _text(row[3])


def _account_rows(d: Deployment) -> Iterable[Row]:
    for c in d.clients.values():
        for position, (user, account) in enumerate(c.accounts.items()):
            yield (c.name, user, position, _email(d, user), account.rac_text, account.clc_text)


def _account_files(row: Row) -> FileRows:
    store = client_store_parts(row[0], row[1])
    yield (*store, ("gic", row[3])), _text(row[4])
    if row[5]:
        yield (*store, ("clc", row[3])), _text(row[5])


def _license_rows(d: Deployment) -> Iterable[Row]:
    for c in d.clients.values():
        for user, account in c.accounts.items():
            for content_id, text in account.licenses.items():
                yield (c.name, user, content_id, text)


def _license_files(row: Row) -> FileRows:
    yield (*client_store_parts(row[0], row[1]), ("eul", row[2])), _text(row[3])


def _account_template_rows(d: Deployment) -> Iterable[Row]:
    for c in d.clients.values():
        for user, account in c.accounts.items():
            for name, text in account.templates.items():
                yield (c.name, user, name, text)


def _account_template_files(row: Row) -> FileRows:
    yield (*template_archive_parts(row[0], row[1]), ("template", row[2])), _text(row[3])


def _session_rows(d: Deployment) -> Iterable[Row]:
    for c in d.clients.values():
        for name, (user, application, lists) in c.open_sessions.items():
            yield (c.name, name, user, application,
                   _json([{"url": u, "text": t} for u, t in sorted(lists.items())]))


def _session_files(row: Row) -> FileRows:
    shown = {"user": row[2], "application": row[3], "registered": json.loads(row[4])}
    yield (("clients", ("machine", row[0]), "sessions", ("session", row[1])),
           _text(json.dumps(shown, indent=1) + "\n"))


def _placed_rows(d: Deployment) -> Iterable[Row]:
    for c in d.clients.values():
        for url, text in c.placed_revocation_lists.items():
            yield (c.name, url, text)


def _placed_files(row: Row) -> FileRows:
    yield (("clients", ("machine", row[0]), "revocation-lists", document_file_name(row[1])),
           _text(row[2]))


def _web_rows(d: Deployment) -> Iterable[Row]:
    for url, text in d.web.published().items():
        yield (url, text)


def _web_files(row: Row) -> FileRows:
    yield ("web", document_file_name(row[0])), _text(row[1])


def _computer_rows(d: Deployment) -> Iterable[Row]:
    for position, c in enumerate(d.computers.values()):
        yield (c.name, position, int(c.connected), _json(sorted(c.trusted_roots)),
               _json(sorted(c.trusted_sites)))


#: Every table of the lab database, in the order a deployment is built from them.
TABLES: tuple[Table, ...] = (
    Table("lab", ("id INTEGER CHECK (id = 1)", "seed INTEGER NOT NULL",
                  "mode INTEGER NOT NULL", "start TEXT NOT NULL", "now TEXT NOT NULL",
                  "domain TEXT NOT NULL", "domain_sid TEXT"), 1, _lab_rows),
    Table("streams", ("purpose TEXT", "counter INTEGER NOT NULL", "buffer TEXT NOT NULL"), 1,
          _stream_rows),
    Table("users", ("name TEXT", "position INTEGER NOT NULL", "groups TEXT NOT NULL",
                    "sid TEXT"), 1, _user_rows, names=((0, "user"),)),
    # groups with e-mail addresses (MS-RMPRS 3.5.4.1), by lower-case address
    Table("groups", ("address TEXT", "position INTEGER NOT NULL", "name TEXT NOT NULL",
                     "email TEXT NOT NULL", "members TEXT NOT NULL"), 1, _group_rows),
    Table("enrollment_service", ("id INTEGER CHECK (id = 1)", "url TEXT NOT NULL",
                                 "tls_root TEXT NOT NULL", "chain_text TEXT NOT NULL",
                                 "anchor_pem TEXT NOT NULL", "spc_chain_text TEXT",
                                 "self_enrollment_text TEXT"), 1, _service_rows,
          _service_files),
    Table("enrolled_servers", ("modulus TEXT", "exponent TEXT", "url TEXT NOT NULL"), 2,
          _enrolled_rows),
    Table("secrets", ("holder TEXT", "der BLOB NOT NULL", "sha256 TEXT NOT NULL"), 1,
          _secret_rows),
    Table("clusters", ("name TEXT", "position INTEGER NOT NULL", "url TEXT NOT NULL",
                       "role TEXT NOT NULL", "revocation_authority TEXT",
                       "revocation_key_pem TEXT", "slc_text TEXT", "revocation_list TEXT",
                       "super_user_enabled INTEGER", "super_user_group TEXT",
                       "decommissioned INTEGER", "online_publishing_enabled INTEGER"), 1,
          _cluster_rows, _cluster_files, names=((0, "cluster"),)),
    Table("previous_slcs", ("cluster TEXT", "number INTEGER", "text TEXT NOT NULL"), 2,
          _previous_slc_rows, _previous_slc_files, names=((0, "cluster"), (1, "number"))),
    Table("servers", ("cluster TEXT", "name TEXT", "position INTEGER NOT NULL",
                      "administrators TEXT NOT NULL", "connected INTEGER NOT NULL"), 2,
          _server_rows, names=((0, "cluster"), (1, "server"))),
    Table("cluster_templates", ("cluster TEXT", "name TEXT", "text TEXT NOT NULL"), 2,
          _cluster_template_rows, _cluster_template_files,
          names=((0, "cluster"), (1, "template"))),
    Table("revocations", ("cluster TEXT", "position INTEGER", "category TEXT NOT NULL",
                          "type TEXT NOT NULL", "value TEXT", "key_modulus TEXT",
                          "key_exponent TEXT"), 2, _revocation_rows, names=((0, "cluster"),)),
    Table("trusted_domains", ("cluster TEXT", "name TEXT"), 2, _trusted_domain_rows,
          names=((0, "cluster"),)),
    # the licensing policies of MS-RMPR 3.1.1.1.1 besides superUser* (columns of clusters)
    Table("archived_templates", ("cluster TEXT", "name TEXT", "text TEXT NOT NULL"), 2,
          _archived_template_rows, _archived_template_files,
          names=((0, "cluster"), (1, "template"))),
    Table("trusted_user_domains", ("cluster TEXT", "name TEXT", "text TEXT NOT NULL"), 2,
          _trusted_user_domain_rows, _trusted_user_domain_files, names=((0, "cluster"),)),
    Table("rac_exclusions", ("cluster TEXT", "modulus TEXT", "exponent TEXT",
                             "position INTEGER NOT NULL"), 3, _rac_exclusion_rows,
          names=((0, "cluster"),)),
    Table("application_exclusions", ("cluster TEXT", "filename TEXT", "minimum_version TEXT",
                                     "maximum_version TEXT", "position INTEGER NOT NULL"), 4,
          _application_exclusion_rows, names=((0, "cluster"),)),
    # the machine each RAC a cluster issued was sealed to (MS-RMPR 3.3.4.1, persistRac)
    Table("rac_machines", ("cluster TEXT", "rac_id TEXT", "machine TEXT NOT NULL"), 2,
          _rac_machine_rows, names=((0, "cluster"),)),
    Table("clients", ("name TEXT", "position INTEGER NOT NULL", "connected INTEGER NOT NULL",
                      "machine_certificate TEXT", "registry BLOB NOT NULL"), 1,
          _client_rows, _client_files, names=((0, "machine"),)),
    Table("accounts", ("client TEXT", "user TEXT", "position INTEGER NOT NULL",
                       "email TEXT NOT NULL", "rac_text TEXT NOT NULL", "clc_text TEXT"), 2,
          _account_rows, _account_files,
          names=((0, "machine"), (1, "user"), (3, "email"))),
    Table("licenses", ("client TEXT", "user TEXT", "content_id TEXT", "text TEXT NOT NULL"),
          3, _license_rows, _license_files,
          names=((0, "machine"), (1, "user"), (2, "content-id"))),
    Table("account_templates", ("client TEXT", "user TEXT", "name TEXT",
                                "text TEXT NOT NULL"), 3, _account_template_rows,
          _account_template_files, names=((0, "machine"), (1, "user"), (2, "template"))),
    Table("sessions", ("client TEXT", "name TEXT", "user TEXT NOT NULL",
                       "application TEXT NOT NULL", "registered TEXT NOT NULL"), 2,
          _session_rows, _session_files, names=((0, "machine"), (1, "session"), (2, "user"))),
    Table("placed_lists", ("client TEXT", "url TEXT", "text TEXT NOT NULL"), 2, _placed_rows,
          _placed_files, names=((0, "machine"),)),
    Table("web", ("url TEXT", "text TEXT NOT NULL"), 1, _web_rows, _web_files),
    Table("computers", ("name TEXT", "position INTEGER NOT NULL", "connected INTEGER NOT NULL",
                        "trusted_roots TEXT NOT NULL", "trusted_sites TEXT NOT NULL"), 1,
          _computer_rows, names=((0, "machine"),)),
)

_BY_NAME = {table.name: table for table in TABLES}


def dump(deployment: Deployment) -> State:
    """The rows of every table for ``deployment``."""
    state: State = {}
    for table in TABLES:
        rows: dict[Row, Row] = {}
        for row in table.dump(deployment):
            rows[table.key(row)] = row
        state[table.name] = rows
    return state


def files_of(table: str, row: Row) -> list[tuple[PathParts, bytes]]:
    """The files a row of ``table`` is shown in."""
    return list(_BY_NAME[table].files(row))


def check_names(state: State) -> None:
    """Every name of the state that names a thing or becomes a path is safe (raises
    :class:`~rmslab.errors.UnsafeNameError` naming the table and the value)."""
    for table in TABLES:
        for row in state[table.name].values():
            for column, kind in table.names:
                try:
                    check_name(kind, str(row[column]) if kind == "number" else row[column])
                except LabStoreError as exc:
                    raise type(exc)(f"the lab's {table.name} table names {row[column]!r} "
                                    f"({table.column_names[column]}): {exc}") from None


# --- building a deployment from its rows ----------------------------------------------------


def _key(secrets: dict[Row, Row], holder: str) -> PrivateKey:
    row = secrets.get((holder,))
    if row is None:
        raise LabStoreError(f"the lab holds no key for {holder}")
    der = bytes(row[1])
    if hashlib.sha256(der).hexdigest() != row[2]:
        raise LabStoreError(f"the key of {holder} in the lab is damaged (its SHA-256 does "
                            "not match)")
    # integrity established by the digest above: skip OpenSSL's slow consistency check
    return PrivateKey.from_der(der, validate=False)


def _ordered(rows: dict[Row, Row], position: int) -> list[Row]:
    return sorted(rows.values(), key=lambda r: r[position])


def build(state: State) -> Deployment:
    """The deployment the rows describe (logs stay in memory: the store attaches them)."""
    lab_row, service_row = state["lab"].get((1,)), state["enrollment_service"].get((1,))
    if lab_row is None or service_row is None:
        raise LabStoreError("the lab database holds no lab")
    lab = Lab.from_state({"seed": lab_row[1], "mode": lab_row[2], "start": lab_row[3],
                          "now": lab_row[4],
                          "streams": {r[0]: (r[1], r[2]) for r in state["streams"].values()}})
    service = EnrollmentService(lab, url=service_row[1], tls_root=service_row[2],
                                chain_text=service_row[3], spc_chain_text=service_row[5],
                                self_enrollment_text=service_row[6])
    for modulus, exponent, url in state["enrolled_servers"].values():
        service.remember(PublicKey.from_xrml(modulus, exponent), url)
    deployment = Deployment(lab, domain=lab_row[5], enrollment_service=service)
    directory = deployment.directory
    if lab_row[6]:  # a lab made before SIDs were kept: the domain SID its seed gives
        directory.sid = lab_row[6]
    for name, _, groups, sid in _ordered(state["users"], 1):
        directory.add_user(name, groups=tuple(json.loads(groups)), sid=sid or None)
    for _, _, name, email, members in _ordered(state["groups"], 1):
        directory.add_group(name, email=email, members=json.loads(members))
    secrets = state["secrets"]
    for row in _ordered(state["clusters"], 1):
        (name, _, url, role, authority, authority_pem, slc_text, revocation_list,
         super_user_enabled, super_user_group, decommissioned, online_publishing) = row
        revocation = (Revocation(authority, PublicKey.from_pem(authority_pem.encode("ascii")))
                      if authority_pem else None)
        cluster = Cluster(lab, name, url, role=role, revocation=revocation,
                          directory=directory)
        cluster._key = _key(secrets, f"cluster:{name}")
        cluster._slc_history = [r[2] for r in sorted(
            (r for r in state["previous_slcs"].values() if r[0] == name), key=lambda r: r[1])]
        cluster.slc_text = slc_text
        cluster.revocation_list = revocation_list
        cluster.super_user_enabled = bool(super_user_enabled)
        cluster.super_user_group = super_user_group
        # serverDecommissioned and onlinePublishingEnabled (schema 4; NULL in an older
        # lab: MS-RMPR 3.1.3.3's defaults, false and true)
        cluster.decommissioned = bool(decommissioned)
        cluster.online_publishing_enabled = online_publishing is None or bool(online_publishing)
        if cluster.self_enrolled:
            cluster.self_enrollment = service.self_enrollment_kit
        deployment.clusters[name] = cluster
    for cluster_name, name, _, administrators, connected in _ordered(state["servers"], 2):
        server = deployment.clusters[cluster_name].add_server(
            name, administrators=set(json.loads(administrators)))
        server.connected = bool(connected)
    for cluster_name, name, text in sorted(state["cluster_templates"].values()):
        deployment.clusters[cluster_name].templates[name] = text
    for row in _ordered(state["revocations"], 1):
        key = PublicKey.from_xrml(row[5], row[6]) if row[5] else None
        deployment.clusters[row[0]].revocations.append(Revoke(row[2], row[3], row[4], key))
    for cluster_name, name in sorted(state["trusted_domains"].values()):
        deployment.clusters[cluster_name].trusted_domains[name] = _key(
            secrets, f"trusted-domain:{cluster_name}:{name}")
    for cluster_name, name, text in sorted(state["archived_templates"].values()):
        deployment.clusters[cluster_name].archived_templates[name] = text
    for cluster_name, name, text in sorted(state["trusted_user_domains"].values()):
        deployment.clusters[cluster_name].trusted_user_domains[name] = text
    for cluster_name, modulus, exponent, _ in _ordered(state["rac_exclusions"], 3):
        deployment.clusters[cluster_name].rac_exclusions.append(
            PublicKey.from_xrml(modulus, exponent))
    for cluster_name, filename, minimum, maximum, _ in _ordered(
            state["application_exclusions"], 4):
        deployment.clusters[cluster_name].application_exclusions.append(
            ApplicationExclusion(filename, minimum, maximum))
    for cluster_name, rac_id, machine in sorted(state["rac_machines"].values()):
        deployment.clusters[cluster_name].rac_machines[rac_id] = machine
    for name, _, connected, certificate, registry in _ordered(state["clients"], 1):
        client = Client(lab, name, connected=bool(connected),
                        machine_key=_key(secrets, f"machine:{name}"),
                        spc_issuer=service.spc_issuer_kit)
        client.machine_certificate_text = certificate
        client.registry = Registry.from_reg(parse_reg(bytes(registry),
                                                      source=f"registry of {name}"))
        deployment.clients[name] = client
    for client_name, user, _, _, rac, clc in _ordered(state["accounts"], 2):
        deployment.clients[client_name].accounts[user] = Account(user, rac, clc)
    for client_name, user, content_id, text in sorted(state["licenses"].values()):
        deployment.clients[client_name].accounts[user].licenses[content_id] = text
    for client_name, user, name, text in sorted(state["account_templates"].values()):
        deployment.clients[client_name].accounts[user].templates[name] = text
    for client_name, name, user, application, registered in sorted(state["sessions"].values()):
        deployment.clients[client_name].open_sessions[name] = (
            user, application, {item["url"]: item["text"] for item in json.loads(registered)})
    for client_name, url, text in sorted(state["placed_lists"].values()):
        deployment.clients[client_name].placed_revocation_lists[url] = text
    for url, text in sorted(state["web"].values()):
        deployment.web.publish(url, text)
    for name, _, connected, roots, sites in _ordered(state["computers"], 1):
        deployment.computers[name] = Computer(name, bool(connected), set(json.loads(roots)),
                                              set(json.loads(sites)))
    return deployment
