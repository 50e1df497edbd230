"""A deployment: every actor of one RMS installation in one lab, and the standard one
``rmslab lab create`` builds (SPEC E-1…E-9).

:func:`standard_deployment` makes the enrollment service, a root certification cluster
(two servers), a licensing-only cluster, an administrator, users alice, bob and carol on
activated machines with rights account certificates, and an internet-connected
workstation that trusts the enrollment site (for offline enrollment and renewal), the
root cluster's service locations in each client's registry (D-4), and two
rights policy templates issued by the root cluster and downloaded by the three clients.
"""

from __future__ import annotations

from rmslab.actors.client import Client
from rmslab.actors.cluster import LICENSING_ONLY, ROOT, Cluster
from rmslab.actors.enrollment_service import EnrollmentService
from rmslab.actors.people import DOMAIN_ADMINS, Computer, Directory, User, domain_sid
from rmslab.actors.web import Web
from rmslab.flows.certification import activate_machine, certify_account, enroll_client
from rmslab.flows.enrollment import enroll_root_cluster, join_server, self_enroll, sub_enroll
from rmslab.flows.publishing import download_templates, issue_template
from rmslab.lab import Lab
from rmslab.rights import ANYONE, Grant, RightsPolicy
from rmslab.trace import Trace
from rmslab.xrml.certificates import Revocation

__all__ = ["Deployment", "standard_deployment", "point_to_cluster", "partner_organisation"]


class Deployment:
    """The actors of one installation, and the traces of what happened to them."""

    def __init__(self, lab: Lab, *, domain: str = "contoso.example",
                 enrollment_service: EnrollmentService | None = None) -> None:
        self.lab = lab
        self.directory = Directory(domain, sid=domain_sid(lab.seed, domain))
        self.enrollment_service = enrollment_service or EnrollmentService(lab)
        self.clusters: dict[str, Cluster] = {}
        self.clients: dict[str, Client] = {}
        self.computers: dict[str, Computer] = {}
        self.history: list[Trace] = []
        #: Documents published at URLs (revocation lists), reached by connected clients.
        self.web = Web()

    def __repr__(self) -> str:
        return (f"<Deployment {self.directory.domain}: {len(self.clusters)} clusters, "
                f"{len(self.clients)} clients, {len(self.directory.users)} users>")

    # --- lookups ---------------------------------------------------------------------
    @property
    def root_cluster(self) -> Cluster:
        for cluster in self.clusters.values():
            if cluster.role == ROOT:
                return cluster
        raise LookupError("this deployment has no root certification cluster")

    def user(self, name: str) -> User:
        return self.directory.user(name)

    def record(self, trace: Trace) -> Trace:
        self.history.append(trace)
        return trace

    # --- building ----------------------------------------------------------------------
    def add_cluster(self, name: str, url: str, *, role: str, first_server: str,
                    administrators: set[str] | None = None,
                    revocation: Revocation | None = None) -> Cluster:
        cluster = Cluster(self.lab, name, url, role=role, revocation=revocation,
                          directory=self.directory)
        cluster.add_server(first_server, administrators=administrators)
        self.clusters[name] = cluster
        return cluster

    def add_client(self, name: str, *, connected: bool = True) -> Client:
        """A computer with the RMS client, which ships with the Trusted SPC Issuer key and
        chain of the lab's hierarchy (MS-RMPR 3.8.3.1)."""
        client = Client(self.lab, name, connected=connected,
                        spc_issuer=self.enrollment_service.spc_issuer_kit)
        self.clients[name] = client
        return client

    def add_computer(self, name: str, *, trusts_enrollment_site: bool = True,
                     connected: bool = True) -> Computer:
        computer = Computer(name, connected)
        if trusts_enrollment_site:
            computer.trusted_roots.add(self.enrollment_service.tls_root)
            computer.trusted_sites.add(self.enrollment_service.host)
        self.computers[name] = computer
        return computer


def point_to_cluster(client: Client, cluster: Cluster) -> None:
    """What an administrator deploys on a client (D-4): the enterprise certification and
    publishing service locations of ``cluster`` in the machine's registry."""
    from rmslab.discovery.regfile import RegValue
    from rmslab.discovery.settings import (ENTERPRISE_CERTIFICATION_KEY,
                                           ENTERPRISE_PUBLISHING_KEY)
    client.registry.set_value(ENTERPRISE_CERTIFICATION_KEY,
                              RegValue.sz("", f"{cluster.url}/certification"))
    client.registry.set_value(ENTERPRISE_PUBLISHING_KEY,
                              RegValue.sz("", f"{cluster.url}/licensing"))


#: The one rights policy template of the ready deployment: the rights of the template
#: MS-RMPR 4.5.7 shows (every authenticated user of the organisation may view, edit, print,
#: copy, use the application's object model and see the rights), with no time condition. A
#: new AD RMS installation has no template; administrators add theirs
#: (:func:`rmslab.flows.publishing.issue_template`).
DEFAULT_TEMPLATE_RIGHTS = ("VIEW", "EXTRACT", "OBJMODEL", "VIEWRIGHTSDATA", "PRINT", "EDIT")
DEFAULT_TEMPLATE_DESCRIPTION = "Employees of Contoso may view, edit, print and copy"


def standard_deployment(lab: Lab | None = None, *, offline_enrollment: bool = False,
                        revocation: Revocation | None = None,
                        self_enrollment: bool = False) -> Deployment:
    """The ready deployment of ``rmslab lab create``: the root cluster enrolled with the
    enrollment service (online, or offline), as the product documentation and the
    notebooks tell it, or — ``self_enrollment``, what ``rmslab lab create`` does unless
    told otherwise — enrolled by itself, as every version 2.0 (AD RMS) server does
    (MS-RMPR 1.3.1)."""
    if offline_enrollment and self_enrollment:
        raise ValueError("a self-enrolled server sends no request: it cannot also enroll "
                         "offline")
    lab = lab or Lab()
    deployment = Deployment(lab)
    directory = deployment.directory
    admin = directory.add_user("rmsadmin", groups=("Domain Users", DOMAIN_ADMINS))
    for name in ("alice", "bob", "carol"):
        directory.add_user(name)
    root = deployment.add_cluster("contoso-root", "https://rms.contoso.example/_wmcs",
                                  role=ROOT, first_server="RMS01",
                                  administrators={"rmsadmin"}, revocation=revocation)
    workstation = deployment.add_computer("ADMIN-WS")
    if self_enrollment:
        service = deployment.enrollment_service
        deployment.record(self_enroll(service.self_enrollment_kit, root, by=admin,
                                      anchor=service.anchor))
    else:
        if offline_enrollment:
            root.first_server.connected = False
        deployment.record(enroll_root_cluster(deployment.enrollment_service, root, by=admin,
                                              online=not offline_enrollment,
                                              computer=workstation))
        if offline_enrollment:
            root.first_server.connected = True
    deployment.record(join_server(root, "RMS02", administrators={"rmsadmin"})[1])
    licensing = deployment.add_cluster("contoso-licensing",
                                       "https://licensing.contoso.example/_wmcs",
                                       role=LICENSING_ONLY, first_server="LIC01",
                                       administrators={"rmsadmin"})
    deployment.record(sub_enroll(root, licensing, by=admin))
    for name in ("alice", "bob", "carol"):
        client = deployment.add_client(f"{name.upper()}-PC")
        point_to_cluster(client, root)
        deployment.record(activate_machine(client))
        deployment.record(certify_account(root, client, directory.user(name), directory))
    deployment.record(enroll_client(root, deployment.clients["ALICE-PC"], directory.user("alice")))
    issue_template(root, "Contoso-Confidential", DEFAULT_TEMPLATE_DESCRIPTION,
                   RightsPolicy((Grant(ANYONE, DEFAULT_TEMPLATE_RIGHTS),)))
    for name in ("alice", "bob", "carol"):
        deployment.record(download_templates(root, deployment.clients[f"{name.upper()}-PC"],
                                             directory.user(name),
                                             anchor=deployment.enrollment_service.anchor))
    return deployment


def partner_organisation(deployment: Deployment, domain: str = "fabrikam.example", *,
                         user: str = "dave") -> Deployment:
    """Another organisation enrolled with the same enrollment service as ``deployment``
    (so its chains end at the same root key): a root certification cluster of its own and
    one user on an activated computer with a rights account certificate. What a licensing
    server must not take for one of its own users (MS-RMPR 3.4.4.1, trusted user
    domains)."""
    other = Deployment(deployment.lab, domain=domain,
                       enrollment_service=deployment.enrollment_service)
    label = domain.split(".")[0]
    admin = other.directory.add_user(f"{label}admin", groups=("Domain Users", DOMAIN_ADMINS))
    person = other.directory.add_user(user)
    root = other.add_cluster(f"{label}-root", f"https://rms.{domain}/_wmcs", role=ROOT,
                             first_server=f"{label.upper()[:3]}01",
                             administrators={admin.name})
    other.record(enroll_root_cluster(other.enrollment_service, root, by=admin))
    client = other.add_client(f"{user.upper()}-PC")
    other.record(activate_machine(client))
    other.record(certify_account(root, client, person, other.directory))
    return other
