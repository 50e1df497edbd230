"""The lab on disk: a deployment saved to, and loaded from, a directory whose layout
mirrors the deployment (SPEC E-8, D-3).

::

    DIR/deployment.json                 lab state (seed, clock, random streams), people,
                                        servers, computers — everything that is not a file
    DIR/anchor.pem                      the enrollment root's public key, to pin
    DIR/enrollment-service/chain.xml    the enrollment CA chain
    DIR/enrollment-service/log.sqlite   requests the service received
    DIR/clusters/NAME/slc.xml           the cluster's SLC and its chain
    DIR/clusters/NAME/previous-slc-N.xml   SLCs replaced by renewals
    DIR/clusters/NAME/cluster-key.pem   the cluster's private key (a lab: on one disk)
    DIR/clusters/NAME/logging.sqlite    the enrollment log (E-8)
    DIR/clients/MACHINE/machine/machine-key.pem, machine-certificate.xml
    DIR/clients/MACHINE/registry.reg    the machine's registry (D-4), as regedit exports it
    DIR/clients/MACHINE/C/Users/USER/AppData/Local/Microsoft/MSIPC/GIC-EMAIL.drm (RAC)
                                                              …/CLC-EMAIL.drm (CLC)
                                                              …/EUL-CONTENT.drm (licenses)
                                                              …/Templates/NAME.xml
    DIR/clusters/NAME/templates/TEMPLATE.xml, trusted-publishing-domains/NAME.pem
    DIR/clusters/NAME/revocation-list.xml  the cluster's current revocation list
    DIR/clusters/NAME/archived-templates/N.xml   templates no longer distributed
    DIR/clusters/NAME/trusted-user-domains/N.xml SLC chains of trusted user domains
                                        (deployment.json names them and holds the other
                                        licensing policies: super-user group, exclusions)
    DIR/clients/MACHINE/revocation-lists/N.xml   lists an administrator placed (R-4)
    DIR/clients/MACHINE/sessions/NAME.json  application sessions kept open (R-5)
    DIR/web/N.xml                       documents published at URLs (deployment.json maps them)

Client stores follow the client-mode layout (``%localappdata%\\Microsoft\\MSIPC``, D-3).
The enrollment service's private keys are never written: like the vendor's, they stay
with the service (the lab re-derives them from its seed). Saving writes a complete new
directory beside the old one and swaps it in, so a failure never leaves half a lab.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from rmslab.actors.client import Account, Client
from rmslab.actors.cluster import ApplicationExclusion, Cluster
from rmslab.actors.enrollment_service import EnrollmentService
from rmslab.actors.people import Computer
from rmslab.crypto.rsa import PrivateKey, PublicKey
from rmslab.deployment import Deployment
from rmslab.discovery.paths import ClientMode, client_paths, host_path
from rmslab.discovery.regfile import write_reg
from rmslab.discovery.registry import Registry
from rmslab.errors import InputError
from rmslab.lab import Lab
from rmslab.revocation import Revoke
from rmslab.store.logdb import LoggingDatabase
from rmslab.xrml.certificates import Revocation

__all__ = ["save_deployment", "load_deployment", "client_store", "template_archive", "FORMAT"]

FORMAT = 1
MANIFEST = "deployment.json"


def client_store(client_dir: Path, user: str) -> Path:
    """The client-mode license store of ``user`` on a machine, laid out under the
    machine's directory as the Windows path of the deployment notes' table (D-3:
    ``%localappdata%\\Microsoft\\MSIPC`` → ``C/Users/USER/AppData/Local/Microsoft/MSIPC``)."""
    paths = client_paths(ClientMode.CLIENT, user_profile=f"C:\\Users\\{user}")
    return host_path(paths.license_store, client_dir)


def template_archive(client_dir: Path, user: str) -> Path:
    """The client-mode template archive of ``user`` (D-3:
    ``%localappdata%\\Microsoft\\MSIPC\\Templates``)."""
    paths = client_paths(ClientMode.CLIENT, user_profile=f"C:\\Users\\{user}")
    return host_path(paths.template_archive, client_dir)


def _write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)


def save_deployment(deployment: Deployment, directory: str | os.PathLike[str]) -> Path:
    """Write the deployment to ``directory`` (created or replaced as a whole)."""
    target = Path(directory).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        manifest = _save_into(deployment, staging)
        _write(staging / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            if old.exists():
                shutil.rmtree(old)
            target.rename(old)
            staging.rename(target)
            shutil.rmtree(old)
        else:
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    # From now on the deployment lives in its directory: its logs continue there.
    deployment.enrollment_service.log.attach(target / "enrollment-service" / "log.sqlite")
    for cluster in deployment.clusters.values():
        cluster.log.attach(target / "clusters" / cluster.name / "logging.sqlite")
    return target


def _save_into(deployment: Deployment, root: Path) -> dict[str, Any]:
    service = deployment.enrollment_service
    _write(root / "anchor.pem", service.anchor.to_pem())
    _write(root / "enrollment-service" / "chain.xml", service.chain_text)
    service.log.copy_to(root / "enrollment-service" / "log.sqlite")
    clusters = []
    for cluster in deployment.clusters.values():
        base = root / "clusters" / cluster.name
        base.mkdir(parents=True)
        _write(base / "cluster-key.pem", cluster.key.to_pem())
        if cluster.slc_text:
            _write(base / "slc.xml", cluster.slc_text)
        for number, text in enumerate(cluster.previous_slcs, 1):
            _write(base / f"previous-slc-{number}.xml", text)
        cluster.log.copy_to(base / "logging.sqlite")
        for domain, key in sorted(cluster.trusted_domains.items()):
            _write(base / "trusted-publishing-domains" / f"{domain}.pem", key.to_pem())
        for template_name, text in sorted(cluster.templates.items()):
            _write(base / "templates" / f"{template_name}.xml", text)
        if cluster.revocation_list:
            _write(base / "revocation-list.xml", cluster.revocation_list)
        archived = []
        for number, (template_name, text) in enumerate(sorted(cluster.archived_templates.items()), 1):
            _write(base / "archived-templates" / f"{number}.xml", text)
            archived.append({"name": template_name, "file": f"{number}.xml"})
        user_domains = []
        for number, (domain, text) in enumerate(sorted(cluster.trusted_user_domains.items()), 1):
            _write(base / "trusted-user-domains" / f"{number}.xml", text)
            user_domains.append({"name": domain, "file": f"{number}.xml"})
        clusters.append({
            "name": cluster.name, "url": cluster.url, "role": cluster.role,
            "revocation": ({"authority": cluster.revocation.authority_name,
                            "key": cluster.revocation.authority_key.to_pem().decode()}
                           if cluster.revocation.authority_key else None),
            "previous_slcs": len(cluster.previous_slcs),
            "trusted_domains": sorted(cluster.trusted_domains),
            "revocations": [{"category": r.category, "type": r.type, "value": r.value,
                             "key": ({"modulus": r.key.modulus_base64, "exponent": r.key.exponent}
                                     if r.key else None)} for r in cluster.revocations],
            "templates": sorted(cluster.templates),
            "archived_templates": archived,
            "trusted_user_domains": user_domains,
            "super_user_group": cluster.super_user_group if cluster.super_user_enabled else None,
            "rac_exclusions": [{"modulus": k.modulus_base64, "exponent": k.exponent}
                               for k in cluster.rac_exclusions],
            "application_exclusions": [[e.filename, e.minimum_version, e.maximum_version]
                                       for e in cluster.application_exclusions],
            "rac_machines": dict(sorted(cluster.rac_machines.items())),
            "servers": [{"name": s.name, "administrators": sorted(s.administrators),
                         "connected": s.connected} for s in cluster.servers],
        })
    clients = []
    for client in deployment.clients.values():
        base = root / "clients" / client.name
        _write(base / "machine" / "machine-key.pem", client.machine_key.to_pem())
        _write(base / "registry.reg", write_reg(client.registry.export()))
        if client.machine_certificate_text:
            _write(base / "machine" / "machine-certificate.xml", client.machine_certificate_text)
        placed = []
        for number, (url, text) in enumerate(sorted(client.placed_revocation_lists.items()), 1):
            _write(base / "revocation-lists" / f"{number}.xml", text)
            placed.append({"url": url, "file": f"{number}.xml"})
        accounts = []
        for name, account in client.accounts.items():
            email = deployment.directory.users[name].email if name in deployment.directory.users else name
            store = client_store(base, name)
            _write(store / f"GIC-{email}.drm", account.rac_text)
            if account.clc_text:
                _write(store / f"CLC-{email}.drm", account.clc_text)
            for content_id, text in sorted(account.licenses.items()):
                _write(store / f"EUL-{content_id.strip('{}')}.drm", text)
            archive = template_archive(base, name)
            for template_name, text in sorted(account.templates.items()):
                _write(archive / f"{template_name}.xml", text)
            accounts.append({"user": name, "email": email, "clc": account.clc_text is not None,
                             "licenses": sorted(account.licenses),
                             "templates": sorted(account.templates)})
        sessions = []
        for session_name, (user, application, lists) in sorted(client.open_sessions.items()):
            _write(base / "sessions" / f"{session_name}.json", json.dumps(
                {"user": user, "application": application,
                 "registered": [{"url": u, "text": t} for u, t in sorted(lists.items())]},
                indent=1) + "\n")
            sessions.append(session_name)
        clients.append({"name": client.name, "connected": client.connected,
                        "accounts": accounts, "placed_revocation_lists": placed,
                        "sessions": sessions})
    return {
        "format": FORMAT,
        "lab": deployment.lab.state(),
        "domain": deployment.directory.domain,
        "domain_sid": deployment.directory.sid,
        "users": [{"name": u.name, "groups": sorted(u.groups), "sid": u.sid}
                  for u in deployment.directory.users.values()],
        "groups": [{"name": g.name, "email": g.email, "members": sorted(g.members)}
                   for g in deployment.directory.groups.values()],
        "enrollment_service": {
            "url": service.url, "tls_root": service.tls_root,
            "enrolled": [{"modulus": k.modulus_base64, "exponent": k.exponent, "url": url}
                         for k, url in service.enrolled_servers.items()]},
        "clusters": clusters,
        "clients": clients,
        "web": _save_web(deployment, root),
        "computers": [{"name": c.name, "connected": c.connected,
                       "trusted_roots": sorted(c.trusted_roots),
                       "trusted_sites": sorted(c.trusted_sites)}
                      for c in deployment.computers.values()],
    }


def _save_web(deployment: Deployment, root: Path) -> list[dict[str, str]]:
    published = []
    for number, (url, text) in enumerate(sorted(deployment.web.published().items()), 1):
        _write(root / "web" / f"{number}.xml", text)
        published.append({"url": url, "file": f"{number}.xml"})
    return published


def _numbered(name: str) -> str:
    """A file name the manifest gives for a numbered file (``N.xml``), checked: a name from
    a file never becomes a path unchecked."""
    stem, _, suffix = name.partition(".")
    if not stem.isdigit() or suffix != "xml" or not stem.isascii():
        raise InputError(f"not a numbered file name: {name!r}")
    return name


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def load_deployment(directory: str | os.PathLike[str]) -> Deployment:
    """Read a deployment saved by :func:`save_deployment`. A directory that is not a
    complete lab raises :class:`~rmslab.errors.InputError` naming what is wrong."""
    root = Path(directory)
    try:
        return _load(root)
    except KeyError as exc:
        raise InputError(f"{root / MANIFEST}: not a complete rmslab lab (no {exc})") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{root}: the lab cannot be read ({exc})") from None
    except OSError as exc:
        raise InputError(f"{root}: a file of the lab cannot be read "
                         f"({exc.strerror or exc})") from None


def _load(root: Path) -> Deployment:
    try:
        manifest = json.loads(_read(root / MANIFEST))
    except json.JSONDecodeError as exc:
        raise InputError(f"{root / MANIFEST}: not valid JSON (line {exc.lineno})") from None
    if manifest.get("format") != FORMAT:
        raise InputError(f"{root}: not an rmslab lab directory of format {FORMAT}")
    lab = Lab.from_state(manifest["lab"])
    info = manifest["enrollment_service"]
    service = EnrollmentService(lab, url=info["url"], tls_root=info["tls_root"],
                                chain_text=_read(root / "enrollment-service" / "chain.xml"))
    for entry in info["enrolled"]:
        service.remember(PublicKey.from_xrml(entry["modulus"], entry["exponent"]), entry["url"])
    service.log = LoggingDatabase(root / "enrollment-service" / "log.sqlite")
    deployment = Deployment(lab, domain=manifest["domain"], enrollment_service=service)
    if manifest.get("domain_sid"):
        deployment.directory.sid = str(manifest["domain_sid"])
    for user in manifest["users"]:
        deployment.directory.add_user(user["name"], groups=tuple(user["groups"]),
                                      sid=user.get("sid") or None)
    for group in manifest.get("groups", []):
        deployment.directory.add_group(group["name"], email=group["email"],
                                       members=group["members"])
    for entry in manifest["clusters"]:
        base = root / "clusters" / entry["name"]
        revocation = None
        if entry["revocation"]:
            revocation = Revocation(entry["revocation"]["authority"],
                                    PublicKey.from_pem(entry["revocation"]["key"].encode()))
        cluster = Cluster(lab, entry["name"], entry["url"], role=entry["role"],
                          revocation=revocation, directory=deployment.directory)
        cluster._key = PrivateKey.from_pem((base / "cluster-key.pem").read_bytes())
        for number in range(1, entry["previous_slcs"] + 1):
            cluster.install_slc(_read(base / f"previous-slc-{number}.xml"))
        if (base / "slc.xml").exists():
            cluster.install_slc(_read(base / "slc.xml"))
        cluster.log = LoggingDatabase(base / "logging.sqlite")
        for domain in entry.get("trusted_domains", []):
            cluster.trusted_domains[domain] = PrivateKey.from_pem(
                (base / "trusted-publishing-domains" / f"{domain}.pem").read_bytes())
        for template_name in entry.get("templates", []):
            cluster.templates[template_name] = _read(base / "templates" / f"{template_name}.xml")
        cluster.revocations = [
            Revoke(r["category"], r["type"], r["value"],
                   PublicKey.from_xrml(r["key"]["modulus"], r["key"]["exponent"]) if r["key"] else None)
            for r in entry.get("revocations", [])]
        cluster.rac_machines = {str(k): str(v)
                                for k, v in entry.get("rac_machines", {}).items()}
        if (base / "revocation-list.xml").exists():
            cluster.revocation_list = _read(base / "revocation-list.xml")
        for archived in entry.get("archived_templates", []):
            cluster.archived_templates[archived["name"]] = _read(
                base / "archived-templates" / _numbered(archived["file"]))
        for domain in entry.get("trusted_user_domains", []):
            cluster.trusted_user_domains[domain["name"]] = _read(
                base / "trusted-user-domains" / _numbered(domain["file"]))
        if entry.get("super_user_group"):
            cluster.super_user_enabled = True
            cluster.super_user_group = str(entry["super_user_group"])
        cluster.rac_exclusions = [PublicKey.from_xrml(k["modulus"], k["exponent"])
                                  for k in entry.get("rac_exclusions", [])]
        cluster.application_exclusions = [ApplicationExclusion(*e)
                                          for e in entry.get("application_exclusions", [])]
        for server in entry["servers"]:
            added = cluster.add_server(server["name"], administrators=set(server["administrators"]))
            added.connected = server["connected"]
        deployment.clusters[cluster.name] = cluster
    for entry in manifest["clients"]:
        base = root / "clients" / entry["name"]
        client = Client(lab, entry["name"], connected=entry["connected"])
        client.machine_key = PrivateKey.from_pem((base / "machine" / "machine-key.pem").read_bytes())
        if (base / "registry.reg").exists():
            client.registry = Registry.from_reg_files(base / "registry.reg")
        certificate = base / "machine" / "machine-certificate.xml"
        client.machine_certificate_text = _read(certificate) if certificate.exists() else None
        for account in entry["accounts"]:
            store = client_store(base, account["user"])
            clc = _read(store / f"CLC-{account['email']}.drm") if account["clc"] else None
            licenses = {content_id: _read(store / f"EUL-{content_id.strip('{}')}.drm")
                        for content_id in account.get("licenses", [])}
            archive = template_archive(base, account["user"])
            templates = {name: _read(archive / f"{name}.xml")
                         for name in account.get("templates", [])}
            client.accounts[account["user"]] = Account(
                account["user"], _read(store / f"GIC-{account['email']}.drm"), clc, licenses,
                templates)
        for session_name in entry.get("sessions", []):
            state = json.loads(_read(base / "sessions" / f"{session_name}.json"))
            client.open_sessions[session_name] = (
                state["user"], state["application"],
                {item["url"]: item["text"] for item in state["registered"]})
        for placed in entry.get("placed_revocation_lists", []):
            client.placed_revocation_lists[placed["url"]] = _read(
                base / "revocation-lists" / placed["file"])
        deployment.clients[client.name] = client
    for number, published in enumerate(manifest.get("web", []), 1):
        deployment.web.publish(published["url"], _read(root / "web" / published["file"]))
    for entry in manifest["computers"]:
        deployment.computers[entry["name"]] = Computer(
            entry["name"], entry["connected"], set(entry["trusted_roots"]),
            set(entry["trusted_sites"]))
    return deployment
